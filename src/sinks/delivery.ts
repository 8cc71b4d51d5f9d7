import { setMaxListeners } from 'node:events';
import type { Consumer, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { AuditwatchError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { retryWhileTransient, sleepUnlessAborted } from '../util/retry.js';
import { decodeAlert } from './kafka.js';
import type { OcsfRecord } from './ocsf.js';
import type { AlertOutput, RetryHooks } from './outputs/output.js';

/** The freeze audit topic as OCSF Remediation Activities: null for an entry that is not a remediation (a dry run). */
export interface RemediationFeed {
  topic: string;
  decode(value: Buffer): OcsfRecord | null;
}

type Deliver = (output: AlertOutput, hooks: RetryHooks) => Promise<{ attempts: number }> | null;

/** A topic the outputs follow: how a record becomes something to deliver (null from `deliver`: not for this output). */
interface Feed {
  topic: string;
  /** Appended to the output's group id. */
  group: string;
  what: 'alert' | 'remediation';
  item(value: Buffer): { key: string; revision?: number; deliver: Deliver };
}

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
  /**
   * Aborted by `stop`: deliveries in flight give up at once, unsettled, so a dead endpoint never holds a shutdown
   * (a consumer's disconnect waits for its batch). Their offsets are not committed; after a restart they are
   * delivered again, with the same webhook-id.
   */
  private readonly stopping = new AbortController();
  /** Resolves when `stopping` aborts: one promise every delivery in flight races against. */
  private readonly stopped = new Promise<void>((resolve) => this.stopping.signal.addEventListener('abort', () => resolve(), { once: true }));

  constructor(
    private readonly kafka: Kafka,
    private readonly alertsTopic: string,
    private readonly groupId: string,
    private readonly outputs: readonly AlertOutput[],
    private readonly producer: Producer,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    /** The freeze audit topic, as OCSF Remediation Activities, for the outputs that deliver them (format: ocsf). */
    private readonly remediations?: RemediationFeed,
  ) {
    // Every retry wait in flight listens to the one signal (up to each output's concurrency): not a leak.
    setMaxListeners(0, this.stopping.signal);
  }

  /** Resolves once every output's consumer has joined its group, so alerts written from then on reach them all. */
  async start(): Promise<void> {
    const alerts: Feed = {
      topic: this.alertsTopic, group: '', what: 'alert',
      item: (value) => {
        const alert = decodeAlert(value);
        return { key: alert.id, revision: alert.revision, deliver: (output, hooks) => (output.accepts(alert) ? output.deliver(alert, hooks) : null) };
      },
    };
    const feeds = this.outputs.map((o) => this.startFeed(o, alerts));
    const remediations = this.remediations;
    if (remediations) {
      const feed: Feed = {
        topic: remediations.topic, group: '-remediation', what: 'remediation',
        item: (value) => {
          const record = remediations.decode(value);
          const key = record?.metadata.uid ?? '';
          return { key, deliver: (output, hooks) => (record && output.deliverRemediation ? output.deliverRemediation(record, hooks) : null) };
        },
      };
      for (const o of this.outputs) if (o.deliverRemediation) feeds.push(this.startFeed(o, feed));
    }
    await Promise.all(feeds);
  }

  private async startFeed(output: AlertOutput, feed: Feed): Promise<void> {
    const log = this.log.child({ output: output.name, topic: feed.topic });
    const groupId = `${this.groupId}-deliver-${output.name}${feed.group}`;
    // A new group's coordinator may not be elected yet (NOT_COORDINATOR): transient, retried.
    await retryWhileTransient(() => this.startAtEndIfNew(groupId, feed.topic), { what: 'positioning a new output group', log, stopping: () => this.stopping.signal.aborted });
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
    this.consumers.push(consumer);
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.connect();
    await consumer.subscribe({ topics: [feed.topic], fromBeginning: true });
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
                // Stopping: this record and the rest of the batch stay unsettled, for after the restart.
                if (!(await this.deliverOne(output, feed, log, m, batch.partition, keepAlive))) return;
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
    log.info(`delivering ${feed.what}s`);
  }

  /**
   * One record: decoded, filtered, delivered (retries keep the membership alive), or parked with the reason. False
   * when the process stopped first: the record is neither delivered nor parked, and must not be committed.
   */
  private async deliverOne(output: AlertOutput, feed: Feed, log: Logger, m: KafkaMessage, partition: number, keepAlive: () => void): Promise<boolean> {
    const started = performance.now();
    const { signal } = this.stopping;
    if (signal.aborted) return false;
    let key: string | undefined;
    try {
      if (!m.value) throw new AuditwatchError('DECODE_EMPTY', `an empty record on ${feed.topic}`);
      const item = feed.item(m.value);
      key = item.key;
      const delivering = item.deliver(output, {
        signal,
        onRetry: (reason) => {
          this.metrics.outputRetries.inc({ output: output.name });
          log.warn({ [feed.what === 'alert' ? 'alertId' : 'uid']: item.key, revision: item.revision, reason }, 'delivery failed; retrying');
          keepAlive();
        },
      });
      if (!delivering) {
        this.metrics.outputDeliveries.inc({ output: output.name, outcome: 'skipped' });
        return true;
      }
      // An attempt in flight ends by its own timeout; the stop does not wait for it.
      delivering.catch(() => undefined);
      await Promise.race([delivering, this.stopped]);
      if (signal.aborted) return false;
      this.metrics.outputDeliveries.inc({ output: output.name, outcome: 'delivered' });
      this.metrics.outputSeconds.observe({ output: output.name }, (performance.now() - started) / 1000);
      return true;
    } catch (err) {
      if (signal.aborted) return false;
      return this.undeliverable(output, feed, m.value ?? null, key, errorMessage(err), { partition, offset: m.offset });
    }
  }

  /**
   * A group that never committed starts where the topic ends now, by committing that position before it first
   * joins: every alert written after `start` reaches the output, and a new output does not replay the topic's history.
   * (Left to kafkajs's `fromBeginning: false`, the end would be read only after the join, and an alert written in
   * between would be skipped.)
   */
  private async startAtEndIfNew(groupId: string, topic: string): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
      if (committed.some((t) => t.partitions.some((p) => Number(p.offset) >= 0))) return;
      const ends = await admin.fetchTopicOffsets(topic);
      await admin.setOffsets({ groupId, topic, partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })) });
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * The record, as it was on its topic, with why it was not delivered; retried until written, never dropped. False
   * when the process stopped before it was written.
   */
  private async undeliverable(output: AlertOutput, feed: Feed, value: Buffer | null, key: string | undefined, reason: string, at: { partition: number; offset: string }): Promise<boolean> {
    this.metrics.outputDeliveries.inc({ output: output.name, outcome: 'failed' });
    this.log.error({ output: output.name, topic: feed.topic, key, reason, ...at }, `${feed.what} not delivered; written to the undelivered topic`);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.producer.send({
          topic: undeliveredTopic(this.alertsTopic), acks: -1,
          messages: [{
            key: key ?? null, value,
            headers: { 'auditwatch-output': output.name, 'auditwatch-reason': reason, 'auditwatch-source-topic': feed.topic, 'auditwatch-source-partition': String(at.partition), 'auditwatch-source-offset': at.offset },
          }],
        });
        return true;
      } catch (err) {
        this.log.warn({ err: errorMessage(err), attempt }, 'writing the undelivered alert failed; retrying');
        // Stopping (now or during the wait): left unsettled, for after the restart.
        await sleepUnlessAborted(Math.min(10_000, 200 * 2 ** attempt), this.stopping.signal);
        if (this.stopping.signal.aborted) return false;
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all(this.consumers.map((c) => c.disconnect().catch(() => undefined)));
  }
}
