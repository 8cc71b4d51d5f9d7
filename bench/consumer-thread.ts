/**
 * One `run` process with and without its consumer thread (`kafka.consumer.thread`), alternately with the bare-kafkajs
 * baseline on one topic of the bench's CloudTrail events (produced once), each with partition state as `run` has it.
 * Each prints events/s, its ratio to the baseline of the same repeat, and (in this process) the cores each busy
 * thread kept busy. BENCH_WORKERS=2 also runs `auditwatch run --workers 2` (the built CLI) with and without it.
 *
 *   npm run bench thread
 * BENCH_EVENTS (1M), BENCH_REPEATS (3), BENCH_WORKERS (1), KAFKA_BROKERS (else a local broker is started);
 * BENCH_DECODE_SHARES=0.5,0.7 runs the consumer-thread phase once per `kafka.consumer.decodeShare` given.
 */
// First, so that its handler for an uncaught exception comes before any other module's.
import { teardown } from './teardown.js';
import { Partitioners } from 'kafkajs';
import { ensureTopics } from '../src/kafka/client.js';
import { auditwatchProcess, auditwatchRun, baseline, benchBroker, eventsPerSecond, keyedCloudTrailValues, PARTITIONS, produce, type Span } from './consumers.js';
import { median } from './stats.js';

const N = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);
const DECODE_SHARES = process.env.BENCH_DECODE_SHARES?.split(',').map(Number);
if (DECODE_SHARES?.some((x) => !(x >= 0 && x <= 1))) {
  process.stderr.write(`BENCH_DECODE_SHARES: expected shares from 0 to 1 (kafka.consumer.decodeShare), separated by commas (got ${process.env.BENCH_DECODE_SHARES})\n`);
  process.exit(2);
}

const bench = await benchBroker('thread');
const topic = `${bench.run}-audit`;
const alerts = `${bench.run}-alerts`;
await ensureTopics(bench.admin, [{ topic, partitions: PARTITIONS }, { topic: alerts, partitions: 1 }]);
const producer = bench.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();
await produce(producer, topic, keyedCloudTrailValues(N));

/** A phase's events/s, and the cores of this process's busy threads when it ran here. */
type Phase = () => Promise<{ rate: number; threadCores?: number[] }>;
const inProcess = (span: Promise<Span>) => span.then((s) => ({ rate: eventsPerSecond(s), threadCores: s.threadCores }));
const workers = (thread: boolean) => auditwatchProcess(bench.kafka, bench.brokers, topic, 'cloudtrail', N, alerts, WORKERS, { consumer: { thread } }).then((rate) => ({ rate }));
// The baseline first: each repeat's ratios are to it.
const phases: Array<[string, Phase]> = [
  ['bare kafkajs + JSON.parse', () => inProcess(baseline(bench.kafka, topic, N))],
  ['auditwatch, one process, thread: false', () => inProcess(auditwatchRun(bench, topic, 'cloudtrail', N, alerts, { consumerThread: false }))],
  ...(DECODE_SHARES ?? [undefined]).map((decodeShare): [string, Phase] => [
    `auditwatch, one process, consumer thread${decodeShare === undefined ? '' : `, decodeShare ${decodeShare}`}`,
    () => inProcess(auditwatchRun(bench, topic, 'cloudtrail', N, alerts, { consumerThread: true, decodeShare })),
  ]),
  ...(WORKERS > 1 ? [
    [`auditwatch run --workers ${WORKERS}, thread: false`, () => workers(false)],
    [`auditwatch run --workers ${WORKERS}, consumer thread`, () => workers(true)],
  ] as Array<[string, Phase]> : []),
];
const rates = new Map<string, number[]>(phases.map(([name]) => [name, []]));
for (let r = 0; r < REPEATS; r++) {
  for (const [name, phase] of phases) {
    const { rate, threadCores } = await phase();
    rates.get(name)!.push(rate);
    const ratio = rate / rates.get(phases[0]![0])![r]!;
    const cores = threadCores ? `; threads busy ${threadCores.map((c) => c.toFixed(2)).join(', ')} cores` : '';
    process.stdout.write(`run ${r + 1}/${REPEATS}: ${name}: ${Math.round(rate)} events/s (${ratio.toFixed(2)})${cores}\n`);
  }
}
const base = median(rates.get(phases[0]![0])!);
for (const [name, runs] of rates) process.stdout.write(`${name}: median ${Math.round(median(runs))} events/s (${(median(runs) / base).toFixed(2)} of the baseline)\n`);
await producer.disconnect();
await bench.admin.disconnect();
await teardown.run();
process.exit(0);
