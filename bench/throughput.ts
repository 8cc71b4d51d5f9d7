/**
 * npm run bench — auditwatch against bare kafkajs on the same broker, topic and partitions.
 *   baseline: a kafkajs consumer that JSON.parses every value (the unavoidable work)
 *   auditwatch end to end (decode, windows, detectors, alert policy, sinks), on CloudTrail JSON and canonical Avro
 *   replay from a file; produce→alert latency under background load (the freeze suite at 20,000 events/s);
 *   memory per tracked entity and RSS at one million entities.
 * Medians over BENCH_REPEATS runs; ratios against the baseline of this run. Writes bench/results/throughput/.
 */
// First, so that its handler for an uncaught exception comes before any other module's.
import { teardown } from './teardown.js';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Partitioners } from 'kafkajs';
import { loadConfig } from '../src/config/load.js';
import { DECODERS, decodeContextFrom } from '../src/decode/index.js';
import { auditEventType, toConfluentWire } from '../src/events/avro.js';
import { PROJECT_ROOT } from '../src/kafka/local-broker.js';
import { auditwatchProcess, auditwatchRun, baseline, benchBroker, cloudTrailValues, eventsPerSecond, keyedCloudTrailValues, PARTITIONS, produce } from './consumers.js';
import { machine, median, saveResults } from './stats.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 2_000_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const FILE_EVENTS = Number(process.env.BENCH_FILE_EVENTS ?? 1_000_000);
/** auditwatch's worker processes (and the baseline's consumer processes) in the parallel rows. */
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const say = (s: string) => process.stdout.write(`${s}\n`);

/** The baseline in `processes` processes of one consumer each, in one group: events/s from the first batch to the last. */
async function baselineProcesses(brokers: string, topic: string, n: number, processes: number): Promise<number> {
  const groupId = `baseline-${processes}p-${Date.now()}-${Math.random()}`;
  const progress = new Map<number, { count: number; first: number; at: number }>();
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const children = Array.from({ length: processes }, (_, i) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'bench', 'baseline-consumer.ts'), brokers, topic, groupId, String(PARTITIONS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.once('exit', teardown.killOnExit(child.pid));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      progress.set(i, JSON.parse(line));
      if ([...progress.values()].reduce((s, p) => s + p.count, 0) >= n) done();
    });
    return child;
  });
  await finished;
  const all = [...progress.values()];
  const ms = Math.max(...all.map((p) => p.at)) - Math.min(...all.map((p) => p.first));
  await Promise.all(children.map((c) => new Promise((r) => { c.once('exit', r); c.kill('SIGTERM'); })));
  return n / (ms / 1000);
}

async function main(): Promise<void> {
  process.on('unhandledRejection', (err) => {
    console.error(err);
    process.exit(1);
  });
  const { brokers, run, kafka, admin } = await benchBroker('bench');
  const jsonTopic = `bench.json.${run}`;
  const avroTopic = `bench.avro.${run}`;
  const alertsTopic = `bench.alerts.${run}`;
  await admin.createTopics({ topics: [{ topic: jsonTopic, numPartitions: PARTITIONS }, { topic: avroTopic, numPartitions: PARTITIONS }, { topic: alertsTopic }], waitForLeaders: true });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();

  let t = performance.now();
  const avgBytes = Math.round([...cloudTrailValues(10_000)].reduce((s, v) => s + v.length, 0) / 10_000);
  await produce(producer, jsonTopic, keyedCloudTrailValues(EVENTS));
  say(`produced ${EVENTS} CloudTrail JSON events (${avgBytes} bytes each on average) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const ctx = decodeContextFrom(loadConfig(join(PROJECT_ROOT, 'config', 'simulation.yaml'), {}));
  t = performance.now();
  await produce(producer, avroTopic, (function* () {
    for (const [k, v] of keyedCloudTrailValues(EVENTS)) yield [k, toConfluentWire(auditEventType, DECODERS.cloudtrail(Buffer.from(v), ctx).events[0], 1)] as [string, Buffer];
  })());
  say(`produced the same ${EVENTS} events as canonical Avro (Confluent wire format) in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const runs: Record<string, number[]> = { baseline: [], json: [], avro: [], file: [], baselineProcesses: [], jsonWorkers: [], avroWorkers: [] };
  // Each phase's raw figures are saved as soon as it ends, so a failure later does not lose them.
  const progressPath = join(PROJECT_ROOT, 'bench', 'results.partial.json');
  const saveProgress = (extra: Record<string, unknown> = {}) => writeFileSync(progressPath, `${JSON.stringify({ when: new Date().toISOString(), machine: machine(), events: EVENTS, runs, ...extra }, null, 2)}\n`);
  for (let r = 0; r < REPEATS; r++) {
    runs.baseline!.push(eventsPerSecond(await baseline(kafka, jsonTopic, EVENTS)));
    runs.json!.push(eventsPerSecond(await auditwatchRun({ kafka, brokers }, jsonTopic, 'cloudtrail', EVENTS, alertsTopic)));
    runs.avro!.push(eventsPerSecond(await auditwatchRun({ kafka, brokers }, avroTopic, 'canonical-avro', EVENTS, alertsTopic)));
    say(`run ${r + 1}/${REPEATS}: baseline ${Math.round(runs.baseline!.at(-1)!)} /s, auditwatch JSON ${Math.round(runs.json!.at(-1)!)} /s, Avro ${Math.round(runs.avro!.at(-1)!)} /s`);
    runs.jsonWorkers!.push(await auditwatchProcess(kafka, brokers, jsonTopic, 'cloudtrail', EVENTS, alertsTopic, WORKERS));
    runs.avroWorkers!.push(await auditwatchProcess(kafka, brokers, avroTopic, 'canonical-avro', EVENTS, alertsTopic, WORKERS));
    runs.baselineProcesses!.push(await baselineProcesses(brokers, jsonTopic, EVENTS, WORKERS));
    say(`run ${r + 1}/${REPEATS}: auditwatch run --workers ${WORKERS}: JSON ${Math.round(runs.jsonWorkers!.at(-1)!)} /s, Avro ${Math.round(runs.avroWorkers!.at(-1)!)} /s; baseline in ${WORKERS} processes ${Math.round(runs.baselineProcesses!.at(-1)!)} /s`);
  }

  saveProgress();
  if (process.env.BENCH_ONLY === 'kafka') {
    await Promise.all([producer.disconnect(), admin.disconnect()]);
    await teardown.run();
    return;
  }
  // Replay from a file with `auditwatch replay --input`.
  const dir = mkdtempSync(join(tmpdir(), 'aw-bench-file-'));
  const file = join(dir, 'events.ndjson');
  const fd = openSync(file, 'w');
  let chunk: string[] = [];
  for (const v of cloudTrailValues(FILE_EVENTS)) {
    chunk.push(v);
    if (chunk.length === 10_000) {
      writeSync(fd, `${chunk.join('\n')}\n`);
      chunk = [];
    }
  }
  if (chunk.length) writeSync(fd, `${chunk.join('\n')}\n`);
  closeSync(fd);
  // As users run it: the built CLI in a process of its own, timed by replay itself from its first read to its end.
  for (let r = 0; r < REPEATS; r++) {
    const replay = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'auditwatch.js'), 'replay', '--input', file, '--format', 'cloudtrail',
      '--config', join(PROJECT_ROOT, 'config', 'simulation.yaml'), '--model-dir', join(PROJECT_ROOT, 'models'), '--alerts', '/dev/null'], { encoding: 'utf8' });
    const summary = /replayed (\d+) events .* in ([\d.]+) s/.exec(replay.stderr);
    if (replay.status !== 0 || !summary || Number(summary[1]) !== FILE_EVENTS) throw new Error(`replay failed (exit ${replay.status}): ${replay.stderr.slice(-2000)}`);
    runs.file!.push(FILE_EVENTS / Number(summary[2]));
  }
  rmSync(dir, { recursive: true, force: true });
  say(`replay from a file of ${FILE_EVENTS} events: ${runs.file!.map(Math.round).join(', ')} /s`);
  saveProgress();
  await Promise.all([producer.disconnect(), admin.disconnect()]);

  const memory = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(PROJECT_ROOT, 'bench', 'memory.ts'), '1000000'], { encoding: 'utf8' })) as { bytesPerEntity: number; rssMiB: number };
  say(`memory: ${memory.bytesPerEntity} bytes per tracked entity; RSS ${memory.rssMiB} MiB at one million entities`);
  saveProgress({ memory });

  // Produce→alert latency under 20,000 background events/s of unkeyed input (so through the repartition stage): the
  // freeze benchmark's (a), 100 incidents, with `run` as one process and with WORKERS.
  type Latency = { backgroundEventsPerSecond: number; ms: Record<string, { p50: number; p99: number }> };
  const latencyWith = (workers: number): Latency => {
    const file = join(mkdtempSync(join(tmpdir(), 'aw-latency-')), 'freeze.json');
    execFileSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'bench', 'freeze-latency.ts')], {
      env: { ...process.env, KAFKA_BROKERS: brokers, BENCH_LOAD_RATE: '20000', BENCH_INCIDENTS: '100', BENCH_WORKERS: String(workers), BENCH_RESULTS_FILE: file }, stdio: ['ignore', 'ignore', 'inherit'],
    });
    return JSON.parse(readFileSync(file, 'utf8')) as Latency;
  };
  const latency = latencyWith(1);
  const latencyWorkers = latencyWith(WORKERS);

  const m = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, Math.round(median(v))])) as Record<string, number>;
  const results = {
    events: EVENTS, repeats: REPEATS, partitions: PARTITIONS, avgEventBytes: avgBytes,
    eventsPerSecond: m,
    workers: WORKERS,
    ratioToBaseline: {
      json: +(m.json! / m.baseline!).toFixed(2), avro: +(m.avro! / m.baseline!).toFixed(2),
      jsonWorkers: +(m.jsonWorkers! / m.baseline!).toFixed(2), avroWorkers: +(m.avroWorkers! / m.baseline!).toFixed(2),
    },
    // The same measures against the baseline in as many processes as auditwatch has workers: parallelism alike.
    ratioToBaselineProcesses: { jsonWorkers: +(m.jsonWorkers! / m.baselineProcesses!).toFixed(2), avroWorkers: +(m.avroWorkers! / m.baselineProcesses!).toFixed(2) },
    allRuns: runs,
    latencyUnderLoad: { backgroundEventsPerSecond: latency.backgroundEventsPerSecond, baselineMs: latency.ms.baseline, alertMs: latency.ms.alert },
    latencyUnderLoadWorkers: { workers: WORKERS, backgroundEventsPerSecond: latencyWorkers.backgroundEventsPerSecond, baselineMs: latencyWorkers.ms.baseline, alertMs: latencyWorkers.ms.alert },
    memory,
  };
  const saved = saveResults('throughput', results);
  rmSync(progressPath, { force: true });
  say('');
  const m0 = machine();
  say(`auditwatch bench: ${EVENTS} events, medians of ${REPEATS} runs, ${m0.cores} cores (${m0.cpu}), Node ${m0.node}`);
  say('| measure | result | vs baseline | target |');
  say('|---|---|---|---|');
  say(`| bare kafkajs + JSON.parse (baseline) | ${m.baseline} events/s | 1.00 | |`);
  say(`| auditwatch end to end, CloudTrail JSON, one process | ${m.json} events/s | ${results.ratioToBaseline.json} | ≥ 0.90 and ≥ 100,000/s |`);
  say(`| auditwatch end to end, canonical Avro, one process | ${m.avro} events/s | ${results.ratioToBaseline.avro} | |`);
  say(`| auditwatch run --workers ${WORKERS}, CloudTrail JSON | ${m.jsonWorkers} events/s | ${results.ratioToBaseline.jsonWorkers} (${results.ratioToBaselineProcesses.jsonWorkers} of the baseline in ${WORKERS} processes) | ≥ 0.90 and ≥ 100,000/s |`);
  say(`| auditwatch run --workers ${WORKERS}, canonical Avro | ${m.avroWorkers} events/s | ${results.ratioToBaseline.avroWorkers} (${results.ratioToBaselineProcesses.avroWorkers}) | |`);
  say(`| bare kafkajs + JSON.parse in ${WORKERS} processes | ${m.baselineProcesses} events/s | ${(m.baselineProcesses! / m.baseline!).toFixed(2)} | |`);
  say(`| replay from a file | ${m.file} events/s | | ≥ 200,000/s |`);
  for (const [label, l] of [['one process', latency], [`--workers ${WORKERS}`, latencyWorkers]] as const) {
    say(`| produce → alert at ${l.backgroundEventsPerSecond}/s background, unkeyed, ${label} | p50 ${l.ms.alert!.p50} ms, p99 ${l.ms.alert!.p99} ms | (kafkajs p50 ${l.ms.baseline!.p50}, p99 ${l.ms.baseline!.p99} ms) | p99 < 250 ms |`);
  }
  say(`| memory per tracked entity | ${memory.bytesPerEntity} bytes (RSS ${memory.rssMiB} MiB at 1M entities) | | ≤ 1 KB |`);
  say(`written to ${saved}`);
  await teardown.run();
}

await main();
