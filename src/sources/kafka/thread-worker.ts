/**
 * The consumer thread of KafkaThreadSource (thread.ts): kafkajs, and a share of the decoding, off the thread
 * that runs detection. Each batch leaves as its first `decodeShare` of records decoded (DecodedWriter bytes) and
 * the rest as raw keys and values, for the detection thread to decode; a record that fails to decode here goes raw
 * too, so that its dead letter carries its bytes.
 *
 * A batch's offset is committed when the detection thread acknowledges it, not when kafkajs's eachBatch returns:
 * kafkajs fetches again only once every batch of a fetch has returned, so waiting there for detection would leave
 * the two threads idle in turn. Returning early gives up kafkajs's guarantee that a rebalance waits for the
 * batches in hand; the fence below puts it back (see REBALANCING).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Batch } from 'kafkajs';
import type { Config } from '../../config/schema.js';
import { decodeContextFrom, decodeValue, type DecodeSettings } from '../../decode/index.js';
import { DecodedWriter } from '../../decode/transfer.js';
import { createKafka } from '../../kafka/client.js';
import { createLogger } from '../../log.js';
import { GiveUpWatch, groupConsumer } from './member.js';
import { batchOffsets, offsetAfter, type BatchOffsets } from './batch-offsets.js';
import type { SourceRecord } from '../source.js';

export interface ConsumerThreadOptions {
  kafka: Pick<Config['kafka'], 'brokers' | 'clientId' | 'ssl' | 'sasl'>;
  logLevel: string;
  groupId: string;
  subscriptions: Array<{ topics: string[]; fromBeginning: boolean; format: SourceRecord['format'] }>;
  tuning: Config['kafka']['consumer'];
  /** The decode settings at start, and their version (each `settings` message brings the next). */
  settings: DecodeSettings;
  settingsVersion: number;
  /** One Int32: the detection thread sets it to 1, and notifies, once it has settled every batch handed over. */
  fence: SharedArrayBuffer;
  /**
   * Records handed over and not yet acknowledged, at most (past one batch). What is unacknowledged at a rebalance
   * may be read again by this member, whose redelivery check then drops it: this keeps that within the check's reach.
   */
  maxRecordsInFlight: number;
}

/** A batch as it crosses to the detection thread; every array is transferred, not copied. */
export interface BatchMessage {
  type: 'batch';
  seq: number;
  topic: string;
  partition: number;
  format: SourceRecord['format'];
  /** The version of the decode settings this batch was decoded with here. */
  settingsVersion: number;
  /** Every record's offset, in order (a compacted or transactional topic has gaps). */
  offsets: BatchOffsets;
  /** The records decoded here; each DecodedLine's `line` is its index in the batch, from 1. */
  decoded: Uint8Array;
  /** Indices in the batch of the records sent raw. */
  rawIndex: Uint32Array;
  /** Per raw record: key start (-1: no key), value start (-1: no value), value end, all into `raw`. */
  rawBounds: Int32Array;
  raw: Uint8Array;
  /** The partition's lag behind its high watermark after this batch. */
  lag: number;
}

/** What the consumer thread tells the detection thread. */
export type ThreadMessage =
  | BatchMessage
  | { type: 'consuming' }
  | { type: 'rebalancing' }
  | { type: 'joined'; held: Array<{ topic: string; partition: number }>; fencedMs: number | undefined }
  /** kafkajs gave the consumer up (see GiveUpWatch); the message says why. */
  | { type: 'gave-up'; message: string }
  | { type: 'stopped' };

/** What the detection thread tells the consumer thread. */
export type ControlMessage =
  | { type: 'ack'; seq: number; commit: boolean }
  | { type: 'settings'; version: number; settings: DecodeSettings }
  | { type: 'stop' };

/** How long a rebalance waits for the detection thread before rejoining regardless (a member must rejoin in time). */
const FENCE_TIMEOUT_MS = 30_000;

const opts = workerData as ConsumerThreadOptions;
const port = parentPort!;
const log = createLogger(opts.logLevel).child({ component: 'consumer-thread', groupId: opts.groupId });
const post = (m: ThreadMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
let ctx = decodeContextFrom(opts.settings);
let settingsVersion = opts.settingsVersion;
const writer = new DecodedWriter();
const formatOf = new Map<string, SourceRecord['format']>();
for (const s of opts.subscriptions) for (const t of s.topics) formatOf.set(t, s.format);

const consumer = groupConsumer(createKafka(opts.kafka, log), opts.groupId, opts.tuning);

/** Partitions this member holds in the current generation: an acknowledged batch of any other is not committed. */
let held = new Set<string>();
const partitionKey = (topic: string, partition: number) => `${topic}:${partition}`;
/** Handed over, not yet acknowledged: seq → where its batch ends. */
const unacknowledged = new Map<number, { topic: string; partition: number; next: string; records: number }>();
let unacknowledgedRecords = 0;
const waitingForRoom: Array<() => void> = [];
const full = () => unacknowledged.size >= opts.tuning.maxBatchesInFlight || (unacknowledged.size > 0 && unacknowledgedRecords >= opts.maxRecordsInFlight);
/** Acknowledged offsets waiting for the commit in flight; one commit at a time keeps them in order. */
const toCommit = new Map<string, { topic: string; partition: number; offset: string }>();
let committing: Promise<void> = Promise.resolve();
let stopping = false;
/** Set once kafkajs is running: a stop that comes before is carried out when start-up is done. */
let started = false;

function commitAcknowledged(): Promise<void> {
  committing = committing.then(async () => {
    if (!toCommit.size) return;
    const offsets = [...toCommit.values()];
    toCommit.clear();
    // A commit refused (the group rebalancing, or a partition moved) leaves the batch to be read again: the
    // pipeline drops the events it has already seen, and a partition's new owner restores from the changelog.
    await consumer.commitOffsets(offsets).catch((err: Error) => log.warn({ err: err.message, offsets }, 'commit refused; the batches will be read again'));
  });
  return committing;
}

port.on('message', (m: ControlMessage) => {
  if (m.type === 'ack') {
    const batch = unacknowledged.get(m.seq);
    unacknowledged.delete(m.seq);
    unacknowledgedRecords -= batch?.records ?? 0;
    if (batch && m.commit && held.has(partitionKey(batch.topic, batch.partition))) {
      toCommit.set(partitionKey(batch.topic, batch.partition), { topic: batch.topic, partition: batch.partition, offset: batch.next });
      void commitAcknowledged();
    }
    while (waitingForRoom.length && !full()) waitingForRoom.shift()!();
  } else if (m.type === 'settings') {
    ctx = decodeContextFrom(m.settings);
    settingsVersion = m.version;
  } else {
    stopping = true;
    for (const wake of waitingForRoom.splice(0)) wake();
    if (started) leave();
  }
});

/** Acknowledgements sent before `stop` came first on the port: their commits are queued; they finish first. */
function leave(): void {
  void commitAcknowledged().then(() => consumer.disconnect()).finally(() => post({ type: 'stopped' }));
}

const fence = new Int32Array(opts.fence);
let fencedMs: number | undefined;
// kafkajs emits this synchronously just before it rejoins the group. Blocking here holds the rejoin, and so the
// handing of this member's partitions to another, until the detection thread has settled (written the state of)
// every batch it was given. The acknowledgements queue meanwhile; their commits, made after, may be refused.
consumer.on(consumer.events.REBALANCING, () => {
  const since = performance.now();
  Atomics.store(fence, 0, 0);
  post({ type: 'rebalancing' });
  if (Atomics.wait(fence, 0, 0, FENCE_TIMEOUT_MS) === 'timed-out') log.warn({ ms: FENCE_TIMEOUT_MS }, 'rebalance: batches still unsettled; rejoining regardless');
  fencedMs = performance.now() - since;
});
consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
  const list = Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition })));
  held = new Set(list.map((p) => partitionKey(p.topic, p.partition)));
  post({ type: 'joined', held: list, fencedMs });
  fencedMs = undefined;
});

/** Waits until there is room for another batch, heartbeating meanwhile (a restore can be long). */
async function roomForAnother(heartbeat: () => Promise<void>): Promise<void> {
  while (!stopping && full()) {
    let wake!: () => void;
    const room = new Promise<void>((resolve) => waitingForRoom.push((wake = resolve)));
    const timer = setTimeout(wake, opts.tuning.heartbeatInterval);
    await room;
    clearTimeout(timer);
    const at = waitingForRoom.indexOf(wake);
    if (at >= 0) waitingForRoom.splice(at, 1);
    await heartbeat().catch(() => undefined);
  }
}

let seq = 0;

function handOver(batch: Batch): void {
  const messages = batch.messages;
  const format = formatOf.get(batch.topic) ?? 'auto';
  const mine = Math.round(messages.length * opts.tuning.decodeShare);
  const offsets = batchOffsets(messages);
  const rawAt = new Uint32Array(messages.length);
  let raws = 0;
  writer.begin(mine);
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const decoded = i < mine ? decodeValue(m.value, format, ctx) : undefined;
    if (decoded && !('error' in decoded)) writer.record({ line: i + 1, start: 0, end: 0, decoded });
    else rawAt[raws++] = i;
  }
  const rawIndex = rawAt.subarray(0, raws);
  const decoded = writer.finish();
  let bytes = 0;
  for (const i of rawIndex) bytes += (messages[i]!.key?.length ?? 0) + (messages[i]!.value?.length ?? 0);
  const raw = Buffer.allocUnsafeSlow(bytes);
  const rawBounds = new Int32Array(rawIndex.length * 3);
  let at = 0;
  rawIndex.forEach((i, n) => {
    const { key, value } = messages[i]!;
    rawBounds[3 * n] = key ? at : -1;
    if (key) at += key.copy(raw, at);
    rawBounds[3 * n + 1] = value ? at : -1;
    if (value) at += value.copy(raw, at);
    rawBounds[3 * n + 2] = at;
  });
  unacknowledged.set(seq, { topic: batch.topic, partition: batch.partition, next: offsetAfter(offsets), records: messages.length });
  unacknowledgedRecords += messages.length;
  const message: BatchMessage = {
    type: 'batch', seq: seq++, topic: batch.topic, partition: batch.partition, format, settingsVersion, offsets, decoded,
    rawIndex, rawBounds, raw, lag: Number(batch.offsetLag()),
  };
  post(message, [offsets.buffer as ArrayBuffer, decoded.buffer as ArrayBuffer, rawAt.buffer as ArrayBuffer, rawBounds.buffer as ArrayBuffer, raw.buffer as ArrayBuffer]);
}

const watch = new GiveUpWatch(consumer, opts.groupId, opts.tuning);
watch.gaveUp.catch((err: Error) => post({ type: 'gave-up', message: err.message }));
await consumer.connect();
for (const s of opts.subscriptions) await consumer.subscribe({ topics: s.topics, fromBeginning: s.fromBeginning });
if (!stopping) await consumer.run({
  autoCommit: false,
  eachBatchAutoResolve: false,
  partitionsConsumedConcurrently: opts.tuning.partitionsConsumedConcurrently,
  eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
    if (stopping || !isRunning() || isStale() || batch.messages.length === 0) return;
    handOver(batch);
    // Resolved now so that the next fetch goes on from here; what is committed waits for the acknowledgement.
    resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
    await roomForAnother(heartbeat);
    await heartbeat();
  },
});
started = true;
if (stopping) leave();
// Given up already: 'gave-up' is on its way instead.
else if (!watch.error) post({ type: 'consuming' });
