/**
 * npm run bench cpu — where the CPU goes, one consumer at a time: the bare-kafkajs baseline and auditwatch's live
 * pipeline in this process (as `npm run bench` runs them), alternately on one topic of BENCH_EVENTS (1,000,000)
 * CloudTrail-sized events, BENCH_REPEATS (3) times each. For each: events/s, the process's CPU per event (every
 * thread, the collector's included), the cores it kept busy, garbage-collection pauses, system time and minor page
 * faults per event, as medians. `-- --profile` also writes a CPU profile of each phase's main thread to
 * bench/profiles/ (open it in Chrome DevTools). BENCH_PHASES (default `baseline,auditwatch`) picks the phases, in
 * the order they alternate, from those in PHASES below: e.g. `baseline,auditwatch,no-thread` for what the consumer
 * thread costs in CPU.
 */
// First, so that its handler for an uncaught exception comes before any other module's.
import { teardown } from './teardown.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { constants as perf, PerformanceObserver, type NodeGCPerformanceDetail, type PerformanceEntry } from 'node:perf_hooks';
import { Partitioners } from 'kafkajs';
import { PROJECT_ROOT } from '../src/kafka/local-broker.js';
import { auditwatchRun, baseline, type AuditwatchRunOptions, benchBroker, eventsPerSecond, keyedCloudTrailValues, PARTITIONS, produce, type Span } from './consumers.js';
import { machine, median } from './stats.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const PROFILE = process.argv.includes('--profile');
/** The phases BENCH_PHASES can name, with the row each gets in the table. */
const PHASES = {
  baseline: 'bare kafkajs + JSON.parse',
  auditwatch: 'auditwatch, one process',
  'no-thread': 'auditwatch, one process, kafka.consumer.thread false',
  'no-state': 'auditwatch, one process, no partition state',
} as const;
type PhaseName = keyof typeof PHASES;
const isPhase = (name: string): name is PhaseName => Object.hasOwn(PHASES, name);
const chosen: PhaseName[] = (process.env.BENCH_PHASES ?? 'baseline,auditwatch').split(',').map((name) => {
  const phase = name.trim();
  if (isPhase(phase)) return phase;
  process.stderr.write(`BENCH_PHASES: unknown phase "${phase}" (one of ${Object.keys(PHASES).join(', ')})\n`);
  return process.exit(2);
});
const say = (s: string) => process.stdout.write(`${s}\n`);

/** Garbage-collection pause time while a phase runs, ms: minor (scavenges) and the rest. */
class GcPauses {
  private minor = 0;
  private major = 0;
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      // A scavenge of the young generation is a minor collection; major, incremental and weak-callback work is the rest.
      // Node sets `detail` on gc entries; its types name the detail but not the field.
      if ((e as PerformanceEntry & { detail?: NodeGCPerformanceDetail }).detail?.kind === perf.NODE_PERFORMANCE_GC_MINOR) this.minor += e.duration;
      else this.major += e.duration;
    }
  });

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  stop(): { minor: number; major: number } {
    this.observer.disconnect();
    return { minor: this.minor, major: this.major };
  }
}

interface Phase {
  span: Span;
  gc: { minor: number; major: number };
}

async function measured(name: string, repeat: number, session: Session, run: () => Promise<Span>): Promise<Phase> {
  if (PROFILE) await session.post('Profiler.start');
  const gc = new GcPauses();
  const span = await run();
  const pauses = gc.stop();
  if (PROFILE) {
    const { profile } = await session.post('Profiler.stop');
    const dir = join(PROJECT_ROOT, 'bench', 'profiles');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}-${repeat + 1}.cpuprofile`), JSON.stringify(profile));
  }
  return { span, gc: pauses };
}

function row(name: string, phases: readonly Phase[]): string {
  const per = (f: (p: Phase) => number) => median(phases.map(f));
  const rate = per((p) => eventsPerSecond(p.span));
  const cpu = per((p) => p.span.cpuMicros / p.span.events);
  const cores = per((p) => p.span.cpuMicros / 1000 / p.span.ms);
  const gc = per((p) => ((p.gc.minor + p.gc.major) * 1000) / p.span.events);
  const minor = per((p) => (p.gc.minor * 1000) / p.span.events);
  const system = per((p) => p.span.systemMicros / p.span.events);
  const faults = per((p) => p.span.minorFaults / p.span.events);
  return `| ${name} | ${Math.round(rate)} | ${cpu.toFixed(2)} | ${cores.toFixed(2)} | ${gc.toFixed(2)} (${minor.toFixed(2)} minor) | ${system.toFixed(2)} | ${faults.toFixed(3)} |`;
}

async function main(): Promise<void> {
  const { brokers, run, kafka, admin } = await benchBroker('cpu');
  const topic = `bench.cpu.${run}`;
  const alertsTopic = `bench.cpu.alerts.${run}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }, { topic: alertsTopic }], waitForLeaders: true });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await produce(producer, topic, keyedCloudTrailValues(EVENTS));
  await producer.disconnect();
  const session = new Session();
  session.connect();
  if (PROFILE) await session.post('Profiler.enable');

  const auditwatch = (options: AuditwatchRunOptions = {}) => () => auditwatchRun({ kafka, brokers }, topic, 'cloudtrail', EVENTS, alertsTopic, options);
  const runs: Record<PhaseName, () => Promise<Span>> = {
    baseline: () => baseline(kafka, topic, EVENTS),
    auditwatch: auditwatch(),
    'no-thread': auditwatch({ consumerThread: false }),
    'no-state': auditwatch({ partitionState: false }),
  };
  const phases = new Map(chosen.map((name) => [name, [] as Phase[]]));
  for (let r = 0; r < REPEATS; r++) {
    for (const [name, done] of phases) done.push(await measured(name, r, session, runs[name]));
    say(`run ${r + 1}/${REPEATS}: ${[...phases].map(([name, done]) => `${name} ${Math.round(eventsPerSecond(done.at(-1)!.span))} /s`).join(', ')}`);
  }
  const m = machine();
  say('');
  say(`where the CPU goes: ${EVENTS} CloudTrail JSON events, one process each, medians of ${REPEATS}; ${m.cores} cores (${m.cpu}), Node ${m.node}`);
  say('| consumer | events/s | CPU µs/event | cores busy | GC pause µs/event | system µs/event | minor faults/event |');
  say('|---|---|---|---|---|---|---|');
  for (const [name, done] of phases) say(row(PHASES[name], done));
  if (PROFILE) say(`CPU profiles of each phase's main thread: ${join(PROJECT_ROOT, 'bench', 'profiles')}`);
  session.disconnect();
  await admin.disconnect();
  await teardown.run();
}

await main();
