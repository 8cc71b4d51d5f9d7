import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { InputFormat } from '../../config/schema.js';
import { offsetLookup } from '../../kafka/client.js';
import { GiveUpWatch } from './member.js';
import type { Source, SourceRecord } from '../source.js';

export interface TopicRange {
  topic: string;
  /** Event-time bounds, epoch ms: [from, to). Messages are seeked by their Kafka timestamp. */
  from?: number;
  to?: number;
  format: InputFormat;
  /** Only these partitions (all when absent). */
  partitions?: readonly number[];
  /** Start here instead of at `from` (per partition; the changelog restore resumes after a local snapshot). */
  startOffsets?: ReadonlyMap<number, bigint>;
}

/**
 * A bounded read of one topic between two times, for training and replay. It joins no live group and commits
 * nothing (its group id is throwaway), and it ends when every partition reaches the offset of `to`.
 */
export class KafkaRangeSource implements Source {
  private stopFn: (() => Promise<void>) | undefined;

  constructor(private readonly kafka: Kafka, private readonly range: TopicRange) {}

  private async bounds(): Promise<Map<number, { start: bigint; end: bigint }>> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const { topic, from, to } = this.range;
      const high = await offsetLookup(admin, topic, () => admin.fetchTopicOffsets(topic));
      const starts = from === undefined ? null : await offsetLookup(admin, topic, () => admin.fetchTopicOffsetsByTimestamp(topic, from));
      const ends = to === undefined ? null : await offsetLookup(admin, topic, () => admin.fetchTopicOffsetsByTimestamp(topic, to));
      const out = new Map<number, { start: bigint; end: bigint }>();
      for (const p of high) {
        if (this.range.partitions && !this.range.partitions.includes(p.partition)) continue;
        const hi = BigInt(p.high);
        const pick = (list: typeof starts, fallback: bigint) => {
          const o = list?.find((x) => x.partition === p.partition)?.offset;
          return o === undefined || BigInt(o) < 0n ? fallback : BigInt(o);
        };
        const low = BigInt(p.low);
        const given = this.range.startOffsets?.get(p.partition);
        out.set(p.partition, { start: given === undefined ? pick(starts, low) : given > low ? given : low, end: pick(ends, hi) });
      }
      return out;
    } finally {
      await admin.disconnect();
    }
  }

  async run(handle: (records: SourceRecord[]) => Promise<void>): Promise<void> {
    const { topic, format } = this.range;
    const bounds = await this.bounds();
    const pending = new Set([...bounds].filter(([, b]) => b.start < b.end).map(([p]) => p));
    if (pending.size === 0) return;
    const groupId = `auditwatch-range-${randomUUID()}`;
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
    // A consumer given up would otherwise leave the replay waiting for partitions that are never read.
    const watch = new GiveUpWatch(consumer, groupId);
    await consumer.connect();
    let failure: unknown;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    this.stopFn = async () => finish();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async ({ batch }) => {
          const b = bounds.get(batch.partition);
          if (!b || !pending.has(batch.partition)) return;
          const records: SourceRecord[] = [];
          for (const m of batch.messages) {
            const off = BigInt(m.offset);
            if (off < b.start || off >= b.end) continue;
            records.push({ topic, partition: batch.partition, offset: m.offset, key: m.key ?? null, value: m.value ?? null, format });
          }
          try {
            if (records.length) await handle(records);
          } catch (err) {
            failure = err;
            finish();
            return;
          }
          if (BigInt(batch.lastOffset()) + 1n >= b.end || (batch.messages.length && BigInt(batch.messages.at(-1)!.offset) + 1n >= b.end)) {
            pending.delete(batch.partition);
            consumer.pause([{ topic, partitions: [batch.partition] }]);
            if (pending.size === 0) finish();
          }
        },
      });
      for (const [partition, b] of bounds) if (pending.has(partition)) consumer.seek({ topic, partition, offset: b.start.toString() });
      // Partitions with nothing to read are not fetched at all.
      const idle = (await this.partitionsOf(topic)).filter((p) => !pending.has(p));
      if (idle.length) consumer.pause([{ topic, partitions: idle }]);
      await Promise.race([done, watch.gaveUp]);
    } finally {
      await consumer.disconnect();
    }
    if (failure) throw failure;
  }

  private async partitionsOf(topic: string): Promise<number[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      return topics[0]?.partitions.map((p) => p.partitionId) ?? [];
    } finally {
      await admin.disconnect();
    }
  }

  async stop(): Promise<void> {
    await this.stopFn?.();
  }
}
