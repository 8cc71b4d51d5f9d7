import type { Consumer, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Alert } from '../alerts/alert.js';
import { AuditwatchError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { retryWhileTransient } from '../util/retry.js';
import { decodeAlert } from './kafka.js';
import type { AlertOutput } from './outputs/index.js';

/** Where an output's alerts go when its endpoint never accepted them: beside the alerts topic, with the reason. */
export const undeliveredTopic = (alertsTopic: string): string => `${alertsTopic}.undelivered`;

/**
 * Delivers the alerts topic to the outputs (webhook, Alertmanager …), each as a consumer group of its own
 * (`<groupId>-deliver-<name>`): an endpoint that is slow or down holds back only its own group, never detection nor the
 * other outputs. A record's offset is committed only once its endpoint accepted it, or once it was written to
 * `<alerts topic>.undelivered` with the reason after the output's attempts; a restart in between delivers it again,
 * with the same webhook-id. A new output starts from the alerts written after it was started.
 */
export class AlertDelivery {
  private readonly consumers: Consumer[] = [];
  private stopped = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly alertsTopic: string,
    private readonly groupId: string,
    private readonly outputs: readonly AlertOutput[],
    private readonly producer: Producer,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  /** Resolves once every output's consumer has joined its group, so alerts written from then on reach them all. */
  async start(): Promise<void> {
    await Promise.all(this.outputs.map((o) => this.startOne(o)));
  }

  private async startOne(output: AlertOutput): Promise<void> {
    const log = this.log.child({ output: output.name });
    const groupId = `${this.groupId}-deliver-${output.name}`;
    // A new group's coordinator may not be elected yet (NOT_COORDINATOR): transient, retried.
    await retryWhileTransient(() => this.startAtEndIfNew(groupId), { what: 'positioning a new output group', log, stopping: () => this.stopped });
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
    this.consumers.push(consumer);
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.connect();
    await consumer.subscribe({ topics: [this.alertsTopic], fromBeginning: true });
    await consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: false,
      // A slow endpoint may keep a batch a while: the other partitions' batches go on meanwhile.
      partitionsConsumedConcurrently: 3,
      eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        // One lane per alert (the topic is keyed by alert id): its revisions go one after another, in order; up to
        // `concurrency` lanes at once, so one slow request does not hold every other alert behind it.
        const lanes = new Map<string, KafkaMessage[]>();
        for (const m of batch.messages) {
          const key = m.key?.toString() ?? '';
          const lane = lanes.get(key);
          if (lane) lane.push(m);
          else lanes.set(key, [m]);
        }
        const queue = [...lanes.values()];
        const keepAlive = () => void heartbeat().catch(() => undefined);
        // A slow endpoint can hold a batch for minutes: the membership is kept alive meanwhile, or the group would
        // hand the partition over and the batch would be delivered twice.
        const beat = setInterval(keepAlive, 3000);
        // Offsets are resolved in order, each once it and every record before it was accepted or parked.
        const offsets = batch.messages.map((m) => m.offset);
        const done = new Set<string>();
        let next = 0;
        const settled = (offset: string) => {
          done.add(offset);
          while (next < offsets.length && done.has(offsets[next]!)) resolveOffset(offsets[next++]!);
        };
        try {
          await Promise.all(Array.from({ length: Math.min(output.concurrency, queue.length) }, async () => {
            for (let lane = queue.shift(); lane; lane = queue.shift()) {
              for (const m of lane) {
                await this.deliverOne(output, log, m, batch.partition, keepAlive);
                settled(m.offset);
                await commitOffsetsIfNecessary().catch(() => undefined);
              }
            }
          }));
        } finally {
          clearInterval(beat);
        }
        await commitOffsetsIfNecessary();
        await heartbeat();
      },
    });
    await joined;
    log.info({ topic: this.alertsTopic }, 'delivering alerts');
  }

  /** One record: decoded, filtered, delivered (retries keep the membership alive), or parked with the reason. */
  private async deliverOne(output: AlertOutput, log: Logger, m: KafkaMessage, partition: number, keepAlive: () => void): Promise<void> {
    const started = performance.now();
    let alert: Alert | undefined;
    try {
      if (!m.value) throw new AuditwatchError('DECODE_EMPTY', 'an empty record on the alerts topic');
      alert = decodeAlert(m.value);
      if (!output.accepts(alert)) {
        this.metrics.outputDeliveries.inc({ output: output.name, outcome: 'skipped' });
        return;
      }
      const { id, revision } = alert;
      await output.deliver(alert, (reason) => {
        this.metrics.outputRetries.inc({ output: output.name });
        log.warn({ alertId: id, revision, reason }, 'delivery failed; retrying');
        keepAlive();
      });
      this.metrics.outputDeliveries.inc({ output: output.name, outcome: 'delivered' });
      this.metrics.outputSeconds.observe({ output: output.name }, (performance.now() - started) / 1000);
    } catch (err) {
      await this.undeliverable(output, m.value ?? null, alert, errorMessage(err), { partition, offset: m.offset });
    }
  }

  /**
   * A group that never committed starts where the topic ends now, by committing that position before it first
   * joins: every alert written after `start` reaches the output, and a new output does not replay the topic's history.
   * (Left to kafkajs's `fromBeginning: false`, the end would be read only after the join, and an alert written in
   * between would be skipped.)
   */
  private async startAtEndIfNew(groupId: string): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const committed = await admin.fetchOffsets({ groupId, topics: [this.alertsTopic] });
      if (committed.some((t) => t.partitions.some((p) => Number(p.offset) >= 0))) return;
      const ends = await admin.fetchTopicOffsets(this.alertsTopic);
      await admin.setOffsets({ groupId, topic: this.alertsTopic, partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })) });
    } finally {
      await admin.disconnect();
    }
  }

  /** The alert, as it was on the topic, with why it was not delivered; retried until written, never dropped. */
  private async undeliverable(output: AlertOutput, value: Buffer | null, alert: Alert | undefined, reason: string, at: { partition: number; offset: string }): Promise<void> {
    this.metrics.outputDeliveries.inc({ output: output.name, outcome: 'failed' });
    this.log.error({ output: output.name, alertId: alert?.id, revision: alert?.revision, reason, ...at }, 'alert not delivered; written to the undelivered topic');
    for (let attempt = 0; ; attempt++) {
      try {
        await this.producer.send({
          topic: undeliveredTopic(this.alertsTopic), acks: -1,
          messages: [{ key: alert?.id ?? null, value, headers: { 'auditwatch-output': output.name, 'auditwatch-reason': reason, 'auditwatch-source-partition': String(at.partition), 'auditwatch-source-offset': at.offset } }],
        });
        return;
      } catch (err) {
        this.log.warn({ err: errorMessage(err), attempt }, 'writing the undelivered alert failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(10_000, 200 * 2 ** attempt)));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.consumers.map((c) => c.disconnect().catch(() => undefined)));
  }
}
