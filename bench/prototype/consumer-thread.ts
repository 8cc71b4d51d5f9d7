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
 * Each prints events/s and its ratio to the baseline of the same repeat; the last two also the cores each busy thread
 * of the process kept busy.
 *
 *   npm run build && npx tsx bench/prototype/consumer-thread.ts
 * BENCH_EVENTS (1M), BENCH_REPEATS (3), PROTOTYPE_SHARE (0.5: the consumer thread's share of the decoding),
 * PROTOTYPE_IN_FLIGHT (12 batches), KAFKA_BROKERS (else a local broker is started). PROTOTYPE_REBALANCE=1 runs only
 * the prototype, with a member joining and leaving the group under way, and prints what its fence saw.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import { join } from 'node:path';
import { Partitioners } from 'kafkajs';
import { readModel } from '../../src/baseline/model.js';
import { loadConfig } from '../../src/config/load.js';
import { decodeSettingsOf } from '../../src/decode/index.js';
import { DecodedReader } from '../../src/decode/transfer.js';
import { ensureTopics } from '../../src/kafka/client.js';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { loadAutoencoder } from '../../src/model/autoencoder.js';
import { buildDetectionPipeline } from '../../src/pipeline/assemble.js';
import { KafkaGroupSource } from '../../src/sources/kafka-group.js';
import type { SourceRecord } from '../../src/sources/source.js';
import { startThread } from '../../src/util/threads.js';
import { baseline, benchBroker, keyedCloudTrailValues, PARTITIONS, produce, type Span } from '../consumers.js';
import { median } from '../stats.js';
import type { BatchMessage, ThreadEvent, ThreadOptions } from './consumer-thread-worker.js';

const N = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const SHARE = Number(process.env.PROTOTYPE_SHARE ?? 0.5);
const IN_FLIGHT = Number(process.env.PROTOTYPE_IN_FLIGHT ?? 12);

/** utime + stime of each thread of this process, in clock ticks, by thread id and name. */
function threadTicks(): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.split(') ')[1]!.split(' ');
      ticks.set(`${tid} ${/\(([^)]*)\)/.exec(stat)![1]}`, Number(fields[11]) + Number(fields[12]));
    } catch {
      // The thread ended.
    }
  }
  return ticks;
}

interface Timed {
  span: Pick<Span, 'events' | 'ms'>;
  /** Cores each busy thread kept busy, largest first. */
  threads: number[];
}

/** Runs a consumer until `n` events, timed from its first batch; `start` returns its stop function. */
async function timed(start: (first: () => void, done: () => void) => Promise<() => Promise<void>>): Promise<Timed> {
  let t0 = 0;
  let ticks0 = new Map<string, number>();
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const stop = await start(() => {
    if (t0) return;
    t0 = performance.now();
    ticks0 = threadTicks();
  }, finish);
  await finished;
  const ms = performance.now() - t0;
  const ticks1 = threadTicks();
  await stop();
  // Clock ticks are 10 ms here (USER_HZ 100).
  const threads = [...ticks1].map(([id, t]) => ((t - (ticks0.get(id) ?? 0)) * 10) / ms).filter((c) => c >= 0.02).sort((a, b) => b - a);
  return { span: { events: N, ms }, threads };
}

const config = loadConfig(join(PROJECT_ROOT, 'config', 'simulation.yaml'), {});
const log = createLogger('error');
const model = readModel(join(PROJECT_ROOT, 'models'));
const autoencoder = await loadAutoencoder(join(PROJECT_ROOT, 'models'));
const { kafka, admin, brokers, broker, run } = await benchBroker('prototype');
const topic = `${run}-audit`;
const alerts = `${run}-alerts`;
await ensureTopics(admin, [{ topic, partitions: PARTITIONS }, { topic: alerts, partitions: 1 }]);
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();
await produce(producer, topic, keyedCloudTrailValues(N));

function pipeline() {
  const c = structuredClone(config);
  c.alerts.sinks = [{ type: 'kafka', topic: alerts }];
  return buildDetectionPipeline({ config: c, model, autoencoder, metrics: new Metrics(), log, producer, partitioned: true }).pipeline;
}

const inProcess = (): Promise<Timed> => timed(async (first, done) => {
  const p = pipeline();
  const source = new KafkaGroupSource(kafka, `${run}-aw-${Math.random()}`, [{ topics: [topic], format: 'cloudtrail', fromBeginning: true }], config.kafka.consumer, new Metrics(), log);
  const running = source.run(async (records) => {
    first();
    await p.handle(records);
    if (p.totals.records >= N) done();
  });
  return async () => {
    await source.stop();
    await running;
  };
});

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

const onThread = (rebalance: boolean) => (): Promise<Timed> => timed(async (first, done) => {
  const p = pipeline();
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
    first();
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
      if (p.totals.records >= N) done();
    });
    handling.add(handled);
  });
  return async () => {
    await intruder;
    await thread.terminate();
    for (const f of fenced) {
      const order = f.joinedAt === undefined ? 'no rejoin seen' : f.settledAt <= f.joinedAt ? `settled ${f.joinedAt - f.settledAt} ms before the rejoin` : `SETTLED ${f.settledAt - f.joinedAt} ms AFTER THE REJOIN`;
      process.stdout.write(`  rebalance: ${f.batches} batches in hand, consumer thread blocked ${f.blockedMs?.toFixed(0) ?? '?'} ms, ${order}\n`);
    }
  };
});

const phases: Array<[string, () => Promise<Timed>]> = [
  ['bare kafkajs + JSON.parse', () => baseline(kafka, topic, N).then((span) => ({ span, threads: [] }))],
  ['auditwatch, one process (no partition state)', inProcess],
  [`prototype: consumer thread (share ${SHARE}, ${IN_FLIGHT} in flight)`, onThread(false)],
];
// PROTOTYPE_REBALANCE=1: the prototype once more, with a member joining and leaving under way (its fence at work).
if (process.env.PROTOTYPE_REBALANCE) phases.splice(0, phases.length, ['prototype with two rebalances', onThread(true)]);
const rates = new Map<string, number[]>(phases.map(([name]) => [name, []]));
for (let r = 0; r < REPEATS; r++) {
  let baseRate = NaN;
  for (const [name, phase] of phases) {
    const { span, threads } = await phase();
    const rate = span.events / (span.ms / 1000);
    if (Number.isNaN(baseRate)) baseRate = rate;
    rates.get(name)!.push(rate);
    process.stdout.write(`run ${r + 1}/${REPEATS}: ${name}: ${Math.round(rate)} events/s (${(rate / baseRate).toFixed(2)})${threads.length ? `; threads busy ${threads.map((c) => c.toFixed(2)).join(', ')} cores` : ''}\n`);
  }
}
const base = median(rates.get(phases[0]![0])!);
if (!process.env.PROTOTYPE_REBALANCE) for (const [name] of phases) process.stdout.write(`${name}: median ${Math.round(median(rates.get(name)!))} events/s (${(median(rates.get(name)!) / base).toFixed(2)} of the baseline)\n`);
await producer.disconnect();
await admin.disconnect();
await broker?.stop();
process.exit(0);
