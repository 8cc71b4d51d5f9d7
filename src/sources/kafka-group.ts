import type { Consumer, Kafka } from 'kafkajs';
import type { Config, SourceSpec } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Source, SourceRecord } from './source.js';

/**
 * The live source: a consumer group over the configured topics. A batch's offsets are resolved and committed only
 * after the pipeline has settled every output of that batch, so a crash re-delivers rather than loses.
 */
export class KafkaGroupSource implements Source {
  private consumer: Consumer | undefined;
  private finished: (() => void) | undefined;
  running = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly groupId: string,
    private readonly specs: ReadonlyArray<Extract<SourceSpec, { type: 'kafka' }>>,
    private readonly tuning: Config['kafka']['consumer'],
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  async run(handle: (records: SourceRecord[]) => Promise<void>): Promise<void> {
    const formatOf = new Map<string, SourceRecord['format']>();
    for (const spec of this.specs) for (const t of spec.topics) formatOf.set(t, spec.format);
    const consumer = this.kafka.consumer({
      groupId: this.groupId, sessionTimeout: 30_000, heartbeatInterval: 3000,
      maxWaitTimeInMs: this.tuning.maxWaitTime, maxBytesPerPartition: this.tuning.maxBytesPerPartition, maxBytes: this.tuning.maxBytes,
    });
    this.consumer = consumer;
    await consumer.connect();
    for (const spec of this.specs) await consumer.subscribe({ topics: spec.topics, fromBeginning: spec.fromBeginning });
    const done = new Promise<void>((resolve) => (this.finished = resolve));
    await consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.tuning.partitionsConsumedConcurrently,
      eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        const format = formatOf.get(batch.topic) ?? 'auto';
        const records: SourceRecord[] = batch.messages.map((m) => ({
          topic: batch.topic, partition: batch.partition, offset: m.offset, key: m.key ?? null, value: m.value ?? null, format,
        }));
        await handle(records);
        resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
        await commitOffsetsIfNecessary();
        this.metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Number(batch.offsetLag()));
        await heartbeat();
      },
    });
    this.running = true;
    this.log.info({ groupId: this.groupId, topics: [...formatOf.keys()] }, 'consuming');
    await done;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.consumer?.disconnect();
    this.finished?.();
  }
}
