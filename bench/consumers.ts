/**
 * What the benches run against the broker, shared by `npm run bench` (throughput.ts) and `npm run bench cpu`
 * (cpu-split.ts): the workload (CloudTrail-sized records keyed by principal), the bare-kafkajs baseline, and
 * auditwatch's live source and pipeline in this process, each timed as a Span.
 */
// First, so that its handler for an uncaught exception comes before any other module's.
import { teardown } from './teardown.js';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { readModel } from '../src/baseline/model.js';
import { loadConfig } from '../src/config/load.js';
import { PROJECT_ROOT, startLocalBroker, type LocalBroker } from '../src/kafka/local-broker.js';
import { createLogger } from '../src/log.js';
import { Metrics } from '../src/metrics/metrics.js';
import { loadAutoencoder } from '../src/model/autoencoder.js';
import { buildRuntime } from '../src/runtime/runtime.js';
import { simulateNormalTraffic } from '../src/sim/cloudtrail-sim.js';
import { freePort, startAuditwatch } from '../test/helpers/run-process.js';
import { groupHasMembers } from '../test/helpers/offsets.js';
import { runBareConsumer } from './bare-consumer.js';

export const PARTITIONS = 6;
const DAY = 86_400_000;

export interface BenchBroker {
  /** Started here unless KAFKA_BROKERS names one; stop it at the end. */
  broker: LocalBroker | undefined;
  brokers: string;
  /** A fresh name for this run's topics and groups. */
  run: string;
  kafka: Kafka;
  admin: Admin;
}

/** The broker a bench runs against (KAFKA_BROKERS, or a local one it starts), a client and a connected admin. */
export async function benchBroker(prefix: string, kafkaLogLevel: logLevel = logLevel.ERROR): Promise<BenchBroker> {
  const broker = process.env.KAFKA_BROKERS ? undefined : await startLocalBroker({ heap: '1g' });
  if (broker) teardown.addServer('the broker', broker);
  const brokers = process.env.KAFKA_BROKERS ?? broker!.brokers;
  const run = `${prefix}-${Date.now().toString(36)}`;
  const kafka = new Kafka({ clientId: run, brokers: brokers.split(','), logLevel: kafkaLogLevel });
  const admin = kafka.admin();
  await admin.connect();
  return { broker, brokers, run, kafka, admin };
}

/** CloudTrail-sized records from the simulator, as templates: every copy gets its own id and a later event time. */
function templates(): { tpl: string[]; span: number; start: number } {
  const start = Date.parse('2026-02-02T00:00:00Z');
  const recs = simulateNormalTraffic({ seed: 9, from: start, to: start + 2 * DAY });
  return { tpl: recs.map((r) => JSON.stringify({ ...r, eventID: '__ID__', eventTime: '__T__', _off: Date.parse(r.eventTime) - start })), span: 2 * DAY, start };
}

export function* cloudTrailValues(n: number): Generator<string> {
  for (const [, v] of keyedCloudTrailValues(n)) yield v;
}

/** As the simulator's producers would key them: by the principal's ARN. */
export function* keyedCloudTrailValues(n: number): Generator<[string, string]> {
  const { tpl, span, start } = templates();
  const keys = tpl.map((t) => /"arn":"([^"]+)"/.exec(t)?.[1] ?? 'unknown');
  for (let i = 0; i < n; i++) {
    const cycle = Math.floor(i / tpl.length);
    const t = tpl[i % tpl.length]!;
    const off = Number(/"_off":(\d+)/.exec(t)![1]);
    yield [keys[i % tpl.length]!, t.replace('"__ID__"', `"bench-${i}"`).replace('"__T__"', `"${new Date(start + cycle * span + off).toISOString().replace('.000Z', 'Z')}"`)];
  }
}

/** Sends in batches under the broker's default 1 MB request limit, eight in flight; keyed by principal. */
export async function produce(producer: Producer, topic: string, values: Iterable<[key: string, value: string | Buffer]>): Promise<number> {
  let batch: Array<{ key: string; value: string | Buffer }> = [];
  let bytes = 0;
  let n = 0;
  const pending: Promise<unknown>[] = [];
  for (const [key, value] of values) {
    batch.push({ key, value });
    bytes += value.length + 40;
    if (bytes > 700_000) {
      bytes = 0;
      pending.push(producer.send({ topic, acks: 1, messages: batch }));
      n += batch.length;
      batch = [];
      if (pending.length >= 8) await Promise.all(pending.splice(0));
    }
  }
  if (batch.length) pending.push(producer.send({ topic, acks: 1, messages: batch }));
  await Promise.all(pending);
  return n + batch.length;
}

/** One timed run: from its first batch to its last event, with this process's CPU (every thread) over that time. */
export interface Span {
  events: number;
  ms: number;
  /** User + system CPU of the whole process, µs. */
  cpuMicros: number;
  systemMicros: number;
  /** Page faults served without I/O: first touches of freshly mapped memory. */
  minorFaults: number;
  /** The cores each thread of this process kept busy (those with 0.02 or more), largest first. */
  threadCores: number[];
}

export const eventsPerSecond = (s: Span): number => s.events / (s.ms / 1000);

function minorFaults(): number {
  try {
    // Field 10 of /proc/self/stat, counted after the parenthesised command name.
    return Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[7]);
  } catch {
    return NaN;
  }
}

/** utime + stime of each thread of this process, in clock ticks (10 ms: USER_HZ 100), by thread id. */
function threadTicks(): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks.set(tid, Number(fields[11]) + Number(fields[12]));
    } catch {
      // The thread ended.
    }
  }
  return ticks;
}

/** Started by the first batch, stopped by the batch that reaches the count: later batches change nothing. */
export class SpanClock {
  private started: { t: number; cpu: NodeJS.CpuUsage; faults: number; threads: Map<string, number> } | undefined;
  private stopped = false;
  private done!: (s: Span) => void;
  readonly span = new Promise<Span>((resolve) => (this.done = resolve));

  constructor(private readonly events: number) {}

  start(): void {
    this.started ??= { t: performance.now(), cpu: process.cpuUsage(), faults: minorFaults(), threads: threadTicks() };
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    const s = this.started!;
    const cpu = process.cpuUsage(s.cpu);
    const ms = performance.now() - s.t;
    const threadCores = [...threadTicks()].map(([tid, t]) => ((t - (s.threads.get(tid) ?? 0)) * 10) / ms).filter((c) => c >= 0.02).sort((a, b) => b - a);
    this.done({ events: this.events, ms, cpuMicros: cpu.user + cpu.system, systemMicros: cpu.system, minorFaults: minorFaults() - s.faults, threadCores });
  }
}

/** Bare kafkajs: JSON.parse every value. */
export async function baseline(kafka: Kafka, topic: string, n: number): Promise<Span> {
  let seen = 0;
  const clock = new SpanClock(n);
  const consumer = await runBareConsumer(kafka, `baseline-${Date.now()}-${Math.random()}`, topic, PARTITIONS, (messages) => {
    clock.start();
    seen += messages;
    if (seen >= n) clock.stop();
  });
  const span = await clock.span;
  await consumer.disconnect();
  return span;
}

/** How a bench phase varies auditwatchRun: partition state on unless false; the thread and share as configured unless given. */
export interface AuditwatchRunOptions {
  partitionState?: boolean;
  consumerThread?: boolean;
  decodeShare?: number;
}

/**
 * auditwatch as `run` builds it (buildRuntime), in this process: the live source, detection with each task's state
 * written to its changelog after each batch (unless `partitionState` is false: one state, nothing written), the
 * freeze stage, the executor and the Kafka alert sink. The topic is keyed by principal, so no repartition hop.
 */
export async function auditwatchRun({ brokers }: Pick<BenchBroker, 'kafka' | 'brokers'>, topic: string, format: 'cloudtrail' | 'canonical-avro', n: number, alertsTopic: string,
  { partitionState = true, consumerThread, decodeShare }: AuditwatchRunOptions = {}): Promise<Span> {
  const config = loadConfig(join(PROJECT_ROOT, 'config', 'simulation.yaml'), {});
  config.alerts.sinks = [{ type: 'kafka', topic: alertsTopic, format: 'avro' }];
  config.kafka.brokers = brokers.split(',');
  config.kafka.groupId = `aw-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  config.sources = [{ type: 'kafka', topics: [topic], format, fromBeginning: true, keyedByPrincipal: true }];
  config.state.changelog = partitionState;
  if (consumerThread !== undefined) config.kafka.consumer.thread = consumerThread;
  if (decodeShare !== undefined) config.kafka.consumer.decodeShare = decodeShare;
  const autoencoder = await loadAutoencoder(join(PROJECT_ROOT, 'models'));
  if (!autoencoder) throw new Error('models/ has no learned model: run npm run models');
  const clock = new SpanClock(n);
  let records = 0;
  const runtime = await buildRuntime(config, {
    log: createLogger('error'), metrics: new Metrics(), checkControlAcls: false, model: readModel(join(PROJECT_ROOT, 'models')), autoencoder,
    wrapHandle: (handle) => async (batch) => {
      clock.start();
      await handle(batch);
      records += batch.length;
      if (records >= n) clock.stop();
    },
  });
  const running = runtime.run();
  const span = await clock.span;
  runtime.stop('measured');
  await running;
  await runtime.close();
  return span;
}

/**
 * `auditwatch run` as users start it (the built CLI, a config file, `--workers`), on the keyed topic. The rate is
 * counted from the first poll that finds the group stable with every worker in it and events read, to the last
 * event, on the supervisor's /metrics polled every 100 ms: what a worker read alone while the others were joining
 * is left out.
 */
export interface AuditwatchProcessOptions {
  /** `kafka.consumer` keys. */
  consumer?: Record<string, unknown>;
  /** Alert outputs beside the alerts topic (`alerts.sinks` entries), and the environment their secrets come from. */
  outputs?: Array<Record<string, unknown>>;
  env?: NodeJS.ProcessEnv;
}

export async function auditwatchProcess(kafka: Kafka, brokers: string, topic: string, format: 'cloudtrail' | 'canonical-avro', n: number, alertsTopic: string, workers: number,
  { consumer = {}, outputs = [], env = {} }: AuditwatchProcessOptions = {}): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'aw-bench-run-'));
  const groupId = `aw-${workers}w-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const port = await freePort();
  const config = parseYaml(readFileSync(join(PROJECT_ROOT, 'config', 'simulation.yaml'), 'utf8')) as Record<string, unknown>;
  const configPath = join(dir, 'config.yaml');
  writeFileSync(configPath, stringifyYaml({
    ...config,
    // Frequent heartbeats: the member that joined first learns sooner that the others are in, and hands over.
    kafka: { brokers: brokers.split(','), clientId: groupId, groupId, consumer: { heartbeatInterval: '500ms', ...consumer } },
    sources: [{ type: 'kafka', topics: [topic], format, keyedByPrincipal: true, fromBeginning: true }],
    alerts: { sinks: [{ type: 'kafka', topic: alertsTopic }, ...outputs] },
    metrics: { port },
    log: { level: 'error' },
  }));
  const aw = startAuditwatch(['--config', configPath, '--model-dir', join(PROJECT_ROOT, 'models'), '--workers', String(workers)], port, env);
  aw.child.once('exit', teardown.killOnExit(aw.child.pid));
  const decoded = () => aw.metric(/^auditwatch_events_decoded_total/).catch(() => 0); // 0 until it listens
  const admin = kafka.admin();
  await admin.connect();
  let from: { t: number; count: number } | undefined;
  for (;;) {
    const stable = !from && (await groupHasMembers(admin, groupId, workers));
    const count = await decoded();
    const t = performance.now();
    // From the first events on, as the baseline is timed from its first batch: a group that is whole before any
    // event is read would otherwise count the first fetch and the partitions' state restore against the rate.
    if (stable && count > 0) from = { t, count };
    if (count >= n) {
      aw.child.kill('SIGTERM');
      await aw.exited;
      await admin.disconnect();
      rmSync(dir, { recursive: true, force: true });
      process.stdout.write(`  (${workers} worker(s): every one in the group after ${from?.count ?? n} events)\n`);
      if (!from || n - from.count < n / 2) throw new Error(`the group was stable with ${workers} workers only after ${from?.count ?? n} of ${n} events: too few left to measure`);
      return (n - from.count) / ((t - from.t) / 1000);
    }
    if (aw.child.exitCode !== null) throw new Error(`auditwatch run exited with ${aw.child.exitCode}: ${aw.stderr.slice(-5).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The baseline of the latency benches: bare kafkajs on the input topic, noting when the first record of each bench
 * incident (header `bench-incident`) arrives. Disconnected by the teardown.
 */
export async function incidentArrivals(kafka: Kafka, topic: string, groupId: string): Promise<Map<string, number>> {
  const firstSeen = new Map<string, number>();
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  teardown.add(`the baseline consumer ${groupId}`, () => consumer.disconnect());
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: false });
  await consumer.run({ eachMessage: async ({ message }) => {
    const id = message.headers?.['bench-incident']?.toString();
    if (id && !firstSeen.has(id)) firstSeen.set(id, Date.now());
  } });
  return firstSeen;
}
