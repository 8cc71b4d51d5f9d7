import type { Consumer, Kafka } from 'kafkajs';
import type { Config, SourceSpec } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { Source, SourceRecord } from '../source.js';
import { fromPosition, GiveUpWatch, groupConsumer, settlePartition, type PartitionHooks } from './member.js';

/**
 * The live source: a consumer group over the configured topics. A batch's offsets are resolved and committed only
 * after the pipeline has settled every output of that batch (and, with partition hooks, after the state it changed
 * is in the changelog), so a crash re-delivers rather than loses.
 */
export class KafkaGroupSource implements Source {
  private consumer: Consumer | undefined;
  private finished: (() => void) | undefined;
  /** Set by stop(), which may come while run() is still joining the group. */
  private stopped = false;
  running = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly groupId: string,
    private readonly specs: ReadonlyArray<Pick<Extract<SourceSpec, { type: 'kafka' }>, 'topics' | 'format' | 'fromBeginning'>>,
    private readonly tuning: Config['kafka']['consumer'],
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly hooks?: PartitionHooks,
  ) {}

  async run(handle: (records: SourceRecord[]) => Promise<void>): Promise<void> {
    if (this.stopped) return;
    const formatOf = new Map<string, SourceRecord['format']>();
    for (const spec of this.specs) for (const t of spec.topics) formatOf.set(t, spec.format);
    const consumer = groupConsumer(this.kafka, this.groupId, this.tuning);
    this.consumer = consumer;
    const hooks = this.hooks;
    if (hooks) {
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        hooks.rebalanced(Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition }))));
      });
    }
    await consumer.connect();
    for (const spec of this.specs) await consumer.subscribe({ topics: spec.topics, fromBeginning: spec.fromBeginning });
    const done = new Promise<void>((resolve) => (this.finished = resolve));
    const watch = new GiveUpWatch(consumer, this.groupId, this.tuning);
    await consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.tuning.partitionsConsumedConcurrently,
      eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        const format = formatOf.get(batch.topic) ?? 'auto';
        let messages = batch.messages;
        if (hooks) {
          // A restore can outlast the session timeout: keep the membership alive while waiting for it.
          const beat = setInterval(() => void heartbeat().catch(() => {}), this.tuning.heartbeatInterval);
          try {
            messages = fromPosition(messages, await hooks.ready(batch.topic, batch.partition));
          } finally {
            clearInterval(beat);
          }
        }
        const records: SourceRecord[] = messages.map((m) => ({
          topic: batch.topic, partition: batch.partition, offset: m.offset, key: m.key ?? null, value: m.value ?? null, format,
        }));
        if (records.length) {
          // A batch can wait a while (outputs retried through a broker restart, a schema registry that is down): the
          // membership is kept alive meanwhile, or the group would hand its partitions over and the batch would be
          // handled twice.
          const beat = setInterval(() => void heartbeat().catch(() => {}), this.tuning.heartbeatInterval);
          try {
            await handle(records);
          } finally {
            clearInterval(beat);
          }
        }
        const last = batch.messages[batch.messages.length - 1]!.offset;
        if (hooks) await settlePartition(hooks, batch.topic, batch.partition, String(BigInt(last) + 1n), { log: this.log, stopping: () => !this.running, between: heartbeat });
        resolveOffset(last);
        await commitOffsetsIfNecessary();
        this.metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Number(batch.offsetLag()));
        await heartbeat();
      },
    });
    if (watch.error) throw watch.error;
    // Stopped while joining (the other stage failed, say): kafkajs's run returns then too, and this never consumed.
    if (this.stopped) return;
    this.running = true;
    this.log.info({ groupId: this.groupId, topics: [...formatOf.keys()] }, 'consuming');
    try {
      await Promise.race([done, watch.gaveUp]);
    } finally {
      this.running = false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.running = false;
    await this.consumer?.disconnect();
    this.finished?.();
  }
}
