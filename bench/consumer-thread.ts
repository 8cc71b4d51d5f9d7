/**
 * One `run` process with and without its consumer thread (`kafka.consumer.thread`), alternately with the bare-kafkajs
 * baseline on one topic of the bench's CloudTrail events (produced once), each with partition state as `run` has it.
 * Each prints events/s, its ratio to the baseline of the same repeat, and the cores each busy thread kept busy.
 *
 *   npm run bench:thread
 * BENCH_EVENTS (1M), BENCH_REPEATS (3), KAFKA_BROKERS (else a local broker is started).
 */
import { Partitioners } from 'kafkajs';
import { ensureTopics } from '../src/kafka/client.js';
import { auditwatchRun, baseline, benchBroker, eventsPerSecond, keyedCloudTrailValues, PARTITIONS, produce, type Span } from './consumers.js';
import { median } from './stats.js';

const N = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);

const bench = await benchBroker('thread');
const topic = `${bench.run}-audit`;
const alerts = `${bench.run}-alerts`;
await ensureTopics(bench.admin, [{ topic, partitions: PARTITIONS }, { topic: alerts, partitions: 1 }]);
const producer = bench.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();
await produce(producer, topic, keyedCloudTrailValues(N));

// The baseline first: each repeat's ratios are to it.
const phases: Array<[string, () => Promise<Span>]> = [
  ['bare kafkajs + JSON.parse', () => baseline(bench.kafka, topic, N)],
  ['auditwatch, one process, thread: false', () => auditwatchRun(bench, producer, topic, 'cloudtrail', N, alerts, { consumerThread: false })],
  ['auditwatch, one process, consumer thread', () => auditwatchRun(bench, producer, topic, 'cloudtrail', N, alerts, { consumerThread: true })],
];
const rates = new Map<string, number[]>(phases.map(([name]) => [name, []]));
for (let r = 0; r < REPEATS; r++) {
  for (const [name, phase] of phases) {
    const span = await phase();
    rates.get(name)!.push(eventsPerSecond(span));
    const ratio = eventsPerSecond(span) / rates.get(phases[0]![0])![r]!;
    process.stdout.write(`run ${r + 1}/${REPEATS}: ${name}: ${Math.round(eventsPerSecond(span))} events/s (${ratio.toFixed(2)}); threads busy ${span.threadCores.map((c) => c.toFixed(2)).join(', ')} cores\n`);
  }
}
const base = median(rates.get(phases[0]![0])!);
for (const [name, runs] of rates) process.stdout.write(`${name}: median ${Math.round(median(runs))} events/s (${(median(runs) / base).toFixed(2)} of the baseline)\n`);
await producer.disconnect();
await bench.admin.disconnect();
await bench.broker?.stop();
process.exit(0);
