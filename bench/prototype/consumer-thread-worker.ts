/**
 * The consumer thread of the prototype in consumer-thread.ts: kafkajs and part of the decoding, off the main thread.
 * Each batch leaves as its first `share` of records decoded (DecodedWriter bytes) and the rest as raw values, for the
 * main thread to decode. A batch's offset is committed when the main thread acknowledges it, not when kafkajs's
 * eachBatch returns: kafkajs fetches again only once every batch of a fetch has returned, so waiting there for the
 * main thread leaves both threads idle in turn (78k–81k events/s, against 110k–134k without waiting).
 *
 * Returning from eachBatch early gives up kafkajs's guarantee that a rebalance waits for the batches in hand. The
 * fence below puts it back for the rebalances kafkajs announces: its `rebalancing` event comes synchronously just
 * before it rejoins, and this thread blocks there until the main thread has settled every batch handed over.
 * PROTOTYPE: not safe to ship as it is (see README, Performance, "The consumer on a thread of its own").
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Kafka, logLevel } from 'kafkajs';
import type { Config } from '../../src/config/schema.js';
import { decodeContextFrom, decodeRecord, type DecodeSettings } from '../../src/decode/index.js';
import { DecodedWriter } from '../../src/decode/transfer.js';

export interface ThreadOptions {
  brokers: string;
  topic: string;
  groupId: string;
  settings: DecodeSettings;
  tuning: Config['kafka']['consumer'];
  /** The fraction of each batch decoded on this thread. */
  share: number;
  /** Batches handed over and not yet acknowledged, at most. */
  inFlight: number;
  /** One Int32: the main thread sets it to 1 and notifies once it has settled every batch handed over. */
  fence: SharedArrayBuffer;
  /** How long a rebalance may wait for the main thread before this thread rejoins regardless. */
  fenceTimeoutMs: number;
}

/** What the thread tells the main thread besides batches. */
export type ThreadEvent = { rebalancing: true } | { joined: number; fencedMs: number | undefined };

export interface BatchMessage {
  seq: number;
  topic: string;
  partition: number;
  firstOffset: string;
  decoded: Uint8Array;
  raw: Uint8Array;
  /** Where each raw value ends in `raw`. */
  rawEnds: Uint32Array;
}

const opts = workerData as ThreadOptions;
const port = parentPort!;
const ctx = decodeContextFrom(opts.settings);
const writer = new DecodedWriter();
const kafka = new Kafka({ clientId: opts.groupId, brokers: opts.brokers.split(','), logLevel: logLevel.ERROR });
const consumer = kafka.consumer({ groupId: opts.groupId, maxBytesPerPartition: opts.tuning.maxBytesPerPartition, maxBytes: opts.tuning.maxBytes, maxWaitTimeInMs: opts.tuning.maxWaitTime });

const unacknowledged = new Map<number, { topic: string; partition: number; offset: string }>();
const waitingForRoom: Array<() => void> = [];
port.on('message', ({ ack }: { ack: number }) => {
  // The main thread acknowledges every batch it was handed, a rebalance or not; a commit for a partition this member
  // no longer holds fails, and the batch is read again by its new owner.
  const commit = unacknowledged.get(ack)!;
  unacknowledged.delete(ack);
  void consumer.commitOffsets([commit]).catch(() => undefined);
  while (waitingForRoom.length && unacknowledged.size < opts.inFlight) waitingForRoom.shift()!();
});

const fence = new Int32Array(opts.fence);
let fencedMs: number | undefined;
consumer.on(consumer.events.REBALANCING, () => {
  const t = performance.now();
  Atomics.store(fence, 0, 0);
  port.postMessage({ rebalancing: true } satisfies ThreadEvent);
  // Blocks this thread, and so kafkajs's rejoin, until the main thread has drained; its acknowledgements queue.
  Atomics.wait(fence, 0, 0, opts.fenceTimeoutMs);
  fencedMs = performance.now() - t;
});
consumer.on(consumer.events.GROUP_JOIN, () => {
  port.postMessage({ joined: Date.now(), fencedMs } satisfies ThreadEvent);
  fencedMs = undefined;
});

let seq = 0;
await consumer.connect();
await consumer.subscribe({ topics: [opts.topic], fromBeginning: true });
await consumer.run({
  partitionsConsumedConcurrently: opts.tuning.partitionsConsumedConcurrently,
  eachBatchAutoResolve: false,
  autoCommit: false,
  eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
    const messages = batch.messages;
    if (!messages.length) return;
    const mine = Math.round(messages.length * opts.share);
    writer.begin(mine);
    for (let i = 0; i < mine; i++) {
      const m = messages[i]!;
      writer.record({ line: i + 1, start: 0, end: 0, decoded: decodeRecord({ topic: batch.topic, partition: batch.partition, offset: m.offset, key: null, value: m.value, format: 'cloudtrail' }, ctx) });
    }
    const decoded = writer.finish();
    let rawBytes = 0;
    for (let i = mine; i < messages.length; i++) rawBytes += messages[i]!.value!.length;
    const raw = Buffer.allocUnsafeSlow(rawBytes);
    const rawEnds = new Uint32Array(messages.length - mine);
    for (let i = mine, at = 0; i < messages.length; i++) {
      at += messages[i]!.value!.copy(raw, at);
      rawEnds[i - mine] = at;
    }
    const last = messages[messages.length - 1]!.offset;
    unacknowledged.set(seq, { topic: batch.topic, partition: batch.partition, offset: String(BigInt(last) + 1n) });
    const message: BatchMessage = { seq: seq++, topic: batch.topic, partition: batch.partition, firstOffset: messages[0]!.offset, decoded, raw, rawEnds };
    port.postMessage(message, [decoded.buffer as ArrayBuffer, raw.buffer as ArrayBuffer, rawEnds.buffer as ArrayBuffer]);
    resolveOffset(last);
    while (unacknowledged.size >= opts.inFlight) await new Promise<void>((resolve) => waitingForRoom.push(resolve));
    await heartbeat();
  },
});
