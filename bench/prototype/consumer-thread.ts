/**
 * PROTOTYPE, measured and not shipped: one `run` process with kafkajs on a thread of its own (consumer-thread-worker.ts).
 * That thread consumes and decodes a share of each batch; the main thread decodes the rest and runs detection,
 * then acknowledges the batch, whose offset is committed only then. It answers one question for issue #7: can one
 * process reach 0.9× of the bare-kafkajs baseline if the consumer leaves the main thread?
 *
 * Three consumers, alternately, on one topic of the bench's CloudTrail events (produced once):
 * - the baseline (bench/consumers.ts);
 * - auditwatch in one process as `run` consumes (KafkaGroupSource), without partition state, as the prototype has none;
 * - the prototype.
 * Each prints events/s, its ratio to the baseline of the same repeat, and the cores each busy thread of the process
 * kept busy.
 *
 *   npm run build && npx tsx bench/prototype/consumer-thread.ts
 * BENCH_EVENTS (1M), BENCH_REPEATS (3), PROTOTYPE_SHARE (0.5: the consumer thread's share of the decoding),
 * PROTOTYPE_IN_FLIGHT (12 batches), KAFKA_BROKERS (else a local broker is started). PROTOTYPE_REBALANCE=1 runs only
 * the prototype, with a member joining and leaving the group under way, and prints what its fence saw.
 */
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import { Partitioners } from 'kafkajs';
import { decodeSettingsOf } from '../../src/decode/index.js';
import { DecodedReader } from '../../src/decode/transfer.js';
import { ensureTopics } from '../../src/kafka/client.js';
import type { SourceRecord } from '../../src/sources/source.js';
import { startThread } from '../../src/util/threads.js';
import { auditwatchRun, baseline, benchBroker, detectionPipeline, eventsPerSecond, keyedCloudTrailValues, PARTITIONS, produce, SpanClock, type Span } from '../consumers.js';
import { median } from '../stats.js';
import type { BatchMessage, ThreadEvent, ThreadOptions } from './consumer-thread-worker.js';

const N = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const SHARE = Number(process.env.PROTOTYPE_SHARE ?? 0.5);
const IN_FLIGHT = Number(process.env.PROTOTYPE_IN_FLIGHT ?? 12);
const REBALANCE = Boolean(process.env.PROTOTYPE_REBALANCE);

const { kafka, admin, brokers, broker, run } = await benchBroker('prototype');
const topic = `${run}-audit`;
const alerts = `${run}-alerts`;
await ensureTopics(admin, [{ topic, partitions: PARTITIONS }, { topic: alerts, partitions: 1 }]);
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();
await produce(producer, topic, keyedCloudTrailValues(N));

/** A rebalance as the prototype saw it: the batches in hand when kafkajs announced it, and when they had settled. */
interface Fenced {
  batches: number;
  settledAt: number;
  /** When this member had rejoined (its GROUP_JOIN), and how long its consumer thread was blocked. */
  joinedAt?: number;
  blockedMs?: number;
}

/**
 * A member that joins the group once the prototype is under way, holds its share of the partitions for a second
 * without handling or committing anything, and leaves: two rebalances for the prototype's fence.
 */
async function intrude(groupId: string): Promise<void> {
  const intruder = kafka.consumer({ groupId });
  await intruder.connect();
  await intruder.subscribe({ topics: [topic], fromBeginning: true });
  const joined = new Promise<void>((resolve) => intruder.on(intruder.events.GROUP_JOIN, () => resolve()));
  await intruder.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => undefined });
  await joined;
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await intruder.disconnect();
}

async function onThread(rebalance: boolean): Promise<Span> {
  const { config, pipeline: p } = await detectionPipeline(producer, alerts);
  const clock = new SpanClock(N);
  const groupId = `${run}-thread-${Math.random()}`;
  const fence = new SharedArrayBuffer(4);
  const fenceFlag = new Int32Array(fence);
  const thread = startThread(new URL('./consumer-thread-worker.ts', import.meta.url), { brokers, topic, groupId, settings: decodeSettingsOf(config), tuning: config.kafka.consumer, share: SHARE, inFlight: IN_FLIGHT, fence, fenceTimeoutMs: 30_000 } satisfies ThreadOptions);
  const reader = new DecodedReader();
  const handling = new Set<Promise<void>>();
  const fenced: Fenced[] = [];
  let intruder: Promise<void> | undefined;
  thread.on('message', (m: BatchMessage | ThreadEvent) => {
    if ('rebalancing' in m) {
      // Every batch handed over before this message is already in `handling`: a port delivers in order.
      const batches = handling.size;
      void Promise.all(handling).then(() => {
        fenced.push({ batches, settledAt: Date.now() });
        Atomics.store(fenceFlag, 0, 1);
        Atomics.notify(fenceFlag, 0);
      });
      return;
    }
    if ('joined' in m) {
      const last = fenced.at(-1);
      if (last && last.joinedAt === undefined && m.fencedMs !== undefined) Object.assign(last, { joinedAt: m.joined, blockedMs: m.fencedMs });
      return;
    }
    clock.start();
    if (rebalance && !intruder && p.totals.records > N / 10) intruder = intrude(groupId);
    const records: SourceRecord[] = [];
    const firstOffset = BigInt(m.firstOffset);
    // Offsets are counted from the batch's first: the bench's topic has no gaps (no compaction, no transactions).
    for (const line of reader.read(Buffer.from(m.decoded.buffer, m.decoded.byteOffset, m.decoded.byteLength)).records) {
      records.push({ topic: m.topic, partition: m.partition, offset: String(firstOffset + BigInt(records.length)), key: null, value: null, format: 'cloudtrail', decoded: line.decoded });
    }
    const raw = Buffer.from(m.raw.buffer, m.raw.byteOffset, m.raw.byteLength);
    for (let i = 0, start = 0; i < m.rawEnds.length; start = m.rawEnds[i++]!) {
      records.push({ topic: m.topic, partition: m.partition, offset: String(firstOffset + BigInt(records.length)), key: null, value: raw.subarray(start, m.rawEnds[i]), format: 'cloudtrail' });
    }
    // Each batch waits for the event loop to poll first. A port that never runs dry otherwise keeps sockets and
    // timers waiting: without this, a member joining the group waited 11 s for its first request to go out.
    const handled: Promise<void> = yieldToEvents().then(() => p.handle(records)).then(() => {
      handling.delete(handled);
      thread.postMessage({ ack: m.seq });
      if (p.totals.records >= N) clock.stop();
    });
    handling.add(handled);
  });
  const span = await clock.span;
  await intruder;
  await thread.terminate();
  for (const f of fenced) {
    const order = f.joinedAt === undefined ? 'no rejoin seen' : f.settledAt <= f.joinedAt ? `settled ${f.joinedAt - f.settledAt} ms before the rejoin` : `SETTLED ${f.settledAt - f.joinedAt} ms AFTER THE REJOIN`;
    process.stdout.write(`  rebalance: ${f.batches} batches in hand, consumer thread blocked ${f.blockedMs?.toFixed(0) ?? '?'} ms, ${order}\n`);
  }
  return span;
}

// The baseline first: each repeat's ratios are to it. PROTOTYPE_REBALANCE=1 runs the prototype alone, with a member
// joining and leaving under way (its fence at work).
const phases: Array<[string, () => Promise<Span>]> = REBALANCE ? [['prototype with two rebalances', () => onThread(true)]] : [
  ['bare kafkajs + JSON.parse', () => baseline(kafka, topic, N)],
  // The prototype keeps no partition state; neither does this.
  ['auditwatch, one process (no partition state)', () => auditwatchRun(kafka, producer, topic, 'cloudtrail', N, alerts, { partitionState: false })],
  [`prototype: consumer thread (share ${SHARE}, ${IN_FLIGHT} in flight)`, () => onThread(false)],
];
const rates = new Map<string, number[]>(phases.map(([name]) => [name, []]));
for (let r = 0; r < REPEATS; r++) {
  for (const [name, phase] of phases) {
    const span = await phase();
    rates.get(name)!.push(eventsPerSecond(span));
    const ratio = REBALANCE ? '' : ` (${(eventsPerSecond(span) / rates.get(phases[0]![0])![r]!).toFixed(2)})`;
    process.stdout.write(`run ${r + 1}/${REPEATS}: ${name}: ${Math.round(eventsPerSecond(span))} events/s${ratio}; threads busy ${span.threadCores.map((c) => c.toFixed(2)).join(', ')} cores\n`);
  }
}
const base = median(rates.get(phases[0]![0])!);
if (!REBALANCE) for (const [name, runs] of rates) process.stdout.write(`${name}: median ${Math.round(median(runs))} events/s (${(median(runs) / base).toFixed(2)} of the baseline)\n`);
await producer.disconnect();
await admin.disconnect();
await broker?.stop();
process.exit(0);
