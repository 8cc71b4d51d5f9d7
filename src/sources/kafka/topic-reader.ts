import { randomUUID } from 'node:crypto';
import type { IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import type { InputFormat } from '../../config/schema.js';
import { offsetLookup } from '../../kafka/client.js';
import { GiveUpWatch } from './member.js';
import type { Source, SourceRecord } from '../source.js';

/** What to read of one topic. */
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
 * How a reader ends. `range`: at `to`, or where each partition ended when the read began (replay, train, the
 * changelog restore, the operator commands' one look at the control topic). `follow`: never; it reports when it has
 * caught up with where the topic stood at start and keeps reading (the write gate, the executor, the demo's alert
 * watch).
 */
export type ReadMode = 'range' | 'follow';

/** A record as a reader hands it over: a source record with its Kafka timestamp and headers. */
export interface ReadRecord extends SourceRecord {
  /** The message timestamp, in ms. */
  timestamp: number;
  headers: Record<string, string>;
}

interface PartitionSpan {
  start: bigint;
  /** The offset this read catches up to: `to`'s, or the high watermark when the read began. */
  end: bigint;
}

function headersOf(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (Buffer.isBuffer(v) || typeof v === 'string') out[k] = v.toString();
  }
  return out;
}

/**
 * The one way auditwatch reads a topic outside the detection group: a throwaway group id, nothing committed, each
 * partition seeked to where the read starts. Both modes share the bounds, the catching up and the give-up watch; they
 * differ only in what happens at the end of the span and to a handler that throws:
 * - in `range` mode a partition is paused at its end, the read ends when all have, and a handler's error ends it too
 *   (the caller's error: a replay cannot go on past an event it failed to process);
 * - in `follow` mode reading goes on, and whatever a handler throws is its own: no record can stop a follower from
 *   reading the ones after it.
 */
export class KafkaTopicReader {
  private finish: (() => void) | undefined;
  private disconnect: (() => Promise<void>) | undefined;
  private caughtUpFlag = false;

  constructor(private readonly kafka: Kafka, private readonly range: TopicRange, private readonly mode: ReadMode,
    private readonly groupPrefix = mode === 'range' ? 'auditwatch-range' : 'auditwatch-follow') {}

  /** True once every partition has been read up to where it stood when the read began. */
  get caughtUp(): boolean {
    return this.caughtUpFlag;
  }

  /**
   * Range mode: resolves when the range has been read (rejects with a handler's error). Follow mode: resolves once
   * caught up; reading goes on until `stop`.
   */
  async read(handle: (records: ReadRecord[]) => Promise<void> | void): Promise<void> {
    const { topic, format } = this.range;
    const spans = await this.spans();
    const pending = new Set([...spans].filter(([, s]) => s.start < s.end).map(([p]) => p));
    let markCaughtUp!: () => void;
    const caughtUp = new Promise<void>((resolve) => (markCaughtUp = () => {
      this.caughtUpFlag = true;
      resolve();
    }));
    if (pending.size === 0) {
      markCaughtUp();
      if (this.mode === 'range') return;
    }
    const groupId = `${this.groupPrefix}-${randomUUID()}`;
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: this.mode === 'follow' ? 50 : 200 });
    // A consumer given up would otherwise leave the read waiting for partitions that are never fetched.
    const watch = new GiveUpWatch(consumer, groupId);
    let failure: unknown;
    const ended = new Promise<void>((resolve) => (this.finish = resolve));
    this.disconnect = () => consumer.disconnect();
    const follow = this.mode === 'follow';
    /** Per partition, the next offset to hand over: where a restarted consumer (after a crash kafkajs recovers from) goes on. */
    const next = new Map([...spans].map(([p, s]) => [p, s.start]));
    // Applied on every join, not once after run(): kafkajs builds its group anew when it restarts a consumer (a first
    // join that fails on a group coordinator not yet elected, a broker restart), which forgets seeks and pauses.
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      for (const partition of payload.memberAssignment[topic] ?? []) {
        const offset = next.get(partition);
        // A partition added since the read began: a follower reads it from its start (fromBeginning).
        if (offset === undefined && follow && !this.range.partitions) continue;
        // Partitions outside the read, and in range mode those already read to their end, are not fetched at all.
        if (offset === undefined || (!follow && !pending.has(partition))) consumer.pause([{ topic, partitions: [partition] }]);
        else consumer.seek({ topic, partition, offset: offset.toString() });
      }
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async ({ batch }) => {
          const span = spans.get(batch.partition);
          if (!span || (!follow && !pending.has(batch.partition))) return;
          const records: ReadRecord[] = [];
          for (const m of batch.messages) {
            const offset = BigInt(m.offset);
            if (offset < span.start || (!follow && offset >= span.end)) continue;
            records.push(recordOf(topic, batch.partition, m, format, follow));
          }
          try {
            if (records.length) await handle(records);
          } catch (err) {
            if (!follow) {
              failure = err;
              this.finish?.();
              return;
            }
            // Follow mode: the handler reports its own failures; the next record is read all the same.
          }
          const last = batch.messages.length ? BigInt(batch.messages.at(-1)!.offset) : -1n;
          if (last >= 0n) next.set(batch.partition, last + 1n);
          if (!pending.has(batch.partition)) return;
          if (BigInt(batch.lastOffset()) + 1n >= span.end || last + 1n >= span.end) {
            pending.delete(batch.partition);
            if (!follow) consumer.pause([{ topic, partitions: [batch.partition] }]);
            if (pending.size === 0) {
              markCaughtUp();
              if (!follow) this.finish?.();
            }
          }
        },
      });
      await Promise.race([follow ? caughtUp : ended, watch.gaveUp]);
    } finally {
      if (!follow) await consumer.disconnect();
    }
    if (failure) throw failure;
  }

  /** Per partition, where the read starts and the offset it catches up to. */
  private async spans(): Promise<Map<number, PartitionSpan>> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const { topic, from, to } = this.range;
      const high = await offsetLookup(admin, topic, () => admin.fetchTopicOffsets(topic));
      const starts = from === undefined ? null : await offsetLookup(admin, topic, () => admin.fetchTopicOffsetsByTimestamp(topic, from));
      const ends = to === undefined ? null : await offsetLookup(admin, topic, () => admin.fetchTopicOffsetsByTimestamp(topic, to));
      const out = new Map<number, PartitionSpan>();
      for (const p of high) {
        if (this.range.partitions && !this.range.partitions.includes(p.partition)) continue;
        const pick = (list: typeof starts, fallback: bigint) => {
          const o = list?.find((x) => x.partition === p.partition)?.offset;
          return o === undefined || BigInt(o) < 0n ? fallback : BigInt(o);
        };
        const low = BigInt(p.low);
        const given = this.range.startOffsets?.get(p.partition);
        out.set(p.partition, { start: given === undefined ? pick(starts, low) : given > low ? given : low, end: pick(ends, BigInt(p.high)) });
      }
      return out;
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Ends the read. Bounded: a reader commits nothing (its group is throwaway), so a disconnect that hangs (a consumer
   * still rejoining after a broker outage) is not worth waiting for.
   */
  async stop(): Promise<void> {
    this.finish?.();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.disconnect?.(), new Promise<void>((r) => (timer = setTimeout(r, 3000)))]);
    clearTimeout(timer);
  }
}

function recordOf(topic: string, partition: number, m: KafkaMessage, format: InputFormat, withHeaders: boolean): ReadRecord {
  return {
    topic, partition, offset: m.offset, key: m.key ?? null, value: m.value ?? null, format,
    timestamp: Number(m.timestamp),
    // Only followers read headers (the control topic's producer identity); a replay's millions of records skip them.
    headers: withHeaders ? headersOf(m.headers) : {},
  };
}

/** A bounded read as a pipeline source (replay and train; see src/pipeline/window.ts). */
export class KafkaRangeSource implements Source {
  private readonly reader: KafkaTopicReader;

  constructor(kafka: Kafka, range: TopicRange) {
    this.reader = new KafkaTopicReader(kafka, range, 'range');
  }

  run(handle: (records: SourceRecord[]) => Promise<void>): Promise<void> {
    return this.reader.read(handle);
  }

  stop(): Promise<void> {
    return this.reader.stop();
  }
}

/**
 * Follows a topic from its beginning, one record at a time. `start` resolves once every record that was on the topic
 * when it began has been handed over, whatever those records are.
 */
export class KafkaFollower {
  private readonly reader: KafkaTopicReader;

  constructor(kafka: Kafka, readonly topic: string, groupPrefix = 'auditwatch-follow') {
    this.reader = new KafkaTopicReader(kafka, { topic, format: 'auto' }, 'follow', groupPrefix);
  }

  get caughtUp(): boolean {
    return this.reader.caughtUp;
  }

  start(handle: (record: ReadRecord) => void): Promise<void> {
    return this.reader.read((records) => {
      for (const r of records) {
        try {
          handle(r);
        } catch {
          // The handler reports its own failures; nothing here may stop the records after it.
        }
      }
    });
  }

  stop(): Promise<void> {
    return this.reader.stop();
  }
}
