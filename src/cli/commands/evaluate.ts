import { writeFileSync } from 'node:fs';
import type { Alert } from '../../alerts/alert.js';
import type { Config } from '../../config/schema.js';
import { createLogger } from '../../log.js';
import { trainAutoencoder } from '../../model/autoencoder.js';
import { Metrics } from '../../metrics/metrics.js';
import { buildTrainingPipeline } from '../../pipeline/assemble.js';
import { detectOverWindow } from '../../pipeline/window.js';
import { simulateNormalTraffic } from '../../sim/cloudtrail-sim.js';
import { simulateKubernetesTraffic } from '../../sim/kubernetes-sim.js';
import { INCIDENT_KINDS, simTime, simulateIncident, type IncidentLabel, type SimRecord } from '../../sim/incidents.js';
import { between, rng, seedOf } from '../../sim/random.js';
import { MemorySource } from '../../sources/memory.js';
import { DECODERS, decodeContextFrom } from '../../decode/index.js';
import { configFrom, UsageError } from '../common.js';
import { simulationConfig } from '../../sim/config.js';

const DAY = 86_400_000;
/** A Monday, so the test window holds working days. */
const TEST_START = Date.parse('2026-03-02T00:00:00Z');

export interface EvaluateArgs {
  seeds: string;
  historyDays: string;
  testDays: string;
  config?: string;
  out?: string;
}

export interface IncidentResult {
  seed: number;
  kind: IncidentLabel['kind'];
  principal: string;
  detected: boolean;
  severity: Alert['severity'] | null;
  delaySeconds: number | null;
  delayDestructiveEvents: number | null;
  frozen: boolean;
  withinTarget: boolean;
}

/** Which alert first covered a labelled incident, judged only after detection has run. */
function score(seed: number, label: IncidentLabel, alerts: readonly Alert[]): IncidentResult {
  const mine = alerts.filter((a) => a.detector !== 'freeze-cap' && a.principal === label.principal && a.environment === label.environment && a.detectedAt >= label.start && a.detectedAt <= label.end + 600_000);
  const first = mine.reduce<Alert | undefined>((f, a) => (!f || a.detectedAt < f.detectedAt ? a : f), undefined);
  const delaySeconds = first ? (first.detectedAt - label.start) / 1000 : null;
  const idx = first ? label.destructiveEventIds.indexOf(first.triggerEventId) : -1;
  const delayEvents = first ? (idx >= 0 ? idx + 1 : null) : null;
  const withinTarget = !!first && (label.bulk ? delaySeconds! <= 5 && (delayEvents ?? Infinity) < 50 : delaySeconds! <= 1800);
  return {
    seed, kind: label.kind, principal: label.principal, detected: !!first,
    severity: mine.reduce<Alert['severity'] | null>((s, a) => (a.severity === 'critical' || s === 'critical' ? 'critical' : a.severity === 'warning' || s === 'warning' ? 'warning' : 'info'), null),
    delaySeconds, delayDestructiveEvents: delayEvents,
    frozen: mine.some((a) => a.action === 'freeze' || a.action === 'freeze-dry-run'),
    withinTarget,
  };
}

async function evaluateSeed(seed: number, historyDays: number, testDays: number, config: Config) {
  const log = createLogger('silent');
  // Two streams, as an organisation has them: CloudTrail from its AWS accounts, audit events from its cluster.
  const streams = (s: number, from: number, to: number, newHireFrom?: number): SimRecord[] =>
    [...simulateNormalTraffic({ seed: s, from, to, newHireFrom }), ...simulateKubernetesTraffic({ seed: s, from, to })].sort((a, b) => simTime(a) - simTime(b));
  const history = streams(seed, TEST_START - historyDays * DAY, TEST_START);
  const { pipeline: trainer, learner, learning } = buildTrainingPipeline(config, new Metrics(), log);
  await new MemorySource(history.map((r) => JSON.stringify(r)), 'auto').run(trainer.handle);
  const model = learner.model();
  const autoencoder = await trainAutoencoder(learning.vectors, { from: model.timeRange?.from ?? null, to: model.timeRange?.to ?? null, events: model.eventCount });

  // One incident of each kind, spread over the test window at seeded times.
  const r = rng(seedOf('evaluate', seed));
  const slot = (testDays * DAY) / INCIDENT_KINDS.length;
  const incidents = INCIDENT_KINDS.map((kind, i) => simulateIncident(kind, TEST_START + i * slot + between(r, 1, Math.floor(slot / 1000) - 4 * 3600) * 1000, seed));
  // A new hire joins on the test window's first day: a principal with no history doing ordinary work.
  const normal = streams(seed + 1000, TEST_START, TEST_START + testDays * DAY, TEST_START);
  const all = [...normal, ...incidents.flatMap((x) => x.records)].sort((a, b) => simTime(a) - simTime(b));
  const { alerts } = await detectOverWindow(config, model, new MemorySource(all.map((x) => JSON.stringify(x)), 'auto'), log, autoencoder);

  const results = incidents.map((x) => score(seed, x.label, alerts));
  // Anything else is a false alert: one per incident id, judged by when it was first raised (later revisions of a
  // true incident are updates of it, not new alerts).
  const byId = new Map<string, Alert>();
  for (const a of alerts) if (!byId.has(a.id)) byId.set(a.id, a);
  const firstRevisions = [...byId.values()];
  const matched = (a: Alert) => incidents.some((x) => a.principal === x.label.principal && a.environment === x.label.environment && a.detectedAt >= x.label.start && a.detectedAt <= x.label.end + 600_000);
  const falseAlerts = firstRevisions.filter((a) => !matched(a));
  const froze = (a: Alert) => alerts.some((x) => x.id === a.id && (x.action === 'freeze' || x.action === 'freeze-dry-run'));
  // Distinct principals as detection names them (an assumed role in two accounts is two).
  const ctx = decodeContextFrom(config);
  const principals = new Set(all.flatMap((x) => DECODERS.auto(Buffer.from(JSON.stringify(x)), ctx).events.map((e) => e.principal.id)));
  return { results, falseAlerts, falseFreezes: falseAlerts.filter(froze), events: all.length, principals: principals.size };
}

/**
 * `auditwatch evaluate`: train on simulated history, replay a test window with labelled incidents in it (labels
 * unseen while detecting), and score: detected, delay in seconds and in destructive events, frozen, false alerts.
 */
export async function evaluateCommand(args: EvaluateArgs): Promise<number> {
  const seeds = args.seeds.split(',').map((s) => Number(s.trim()));
  if (seeds.some((s) => !Number.isInteger(s) || s <= 0)) throw new UsageError(`--seeds: expected positive whole numbers separated by commas, got "${args.seeds}"`);
  const historyDays = Number(args.historyDays);
  const testDays = Number(args.testDays);
  if (!Number.isInteger(historyDays) || historyDays < 1 || !Number.isInteger(testDays) || testDays < 1) throw new UsageError('--history-days and --test-days take whole numbers of days ≥ 1');
  // Freezes enforced in the config, so "frozen" means a freeze would have been issued (replays shadow them).
  const config = args.config ? configFrom({ config: args.config }) : simulationConfig(['127.0.0.1:9092'], 'evaluate');
  const rows: IncidentResult[] = [];
  let falseAlerts = 0;
  let falseFreezes = 0;
  const falseExamples: string[] = [];
  for (const seed of seeds) {
    const r = await evaluateSeed(seed, historyDays, testDays, config);
    rows.push(...r.results);
    falseAlerts += r.falseAlerts.length;
    falseFreezes += r.falseFreezes.length;
    falseExamples.push(...r.falseAlerts.slice(0, 3).map((a) => `seed ${seed}: ${a.severity} ${a.principal} ${a.environment} ${a.resourceType} at ${new Date(a.detectedAt).toISOString()} (run from ${new Date(a.firstEventTime).toISOString()}): ${a.reason}`));
    process.stderr.write(`seed ${seed}: ${r.events} events, ${r.principals} principals, ${r.results.filter((x) => x.detected).length}/${r.results.length} incidents detected, ${r.falseAlerts.length} false alerts\n`);
  }
  const days = seeds.length * testDays;
  const fmt = (v: number | null) => (v === null ? '-' : String(v));
  process.stdout.write('| seed | incident | detected | severity | delay s | delay (destructive events) | frozen | within target |\n|---|---|---|---|---|---|---|---|\n');
  for (const x of rows) process.stdout.write(`| ${x.seed} | ${x.kind} | ${x.detected ? 'yes' : 'NO'} | ${x.severity ?? '-'} | ${fmt(x.delaySeconds)} | ${fmt(x.delayDestructiveEvents)} | ${x.frozen ? 'yes' : 'no'} | ${x.withinTarget ? 'yes' : 'no'} |\n`);
  const detected = rows.filter((x) => x.detected).length;
  process.stdout.write(`\n${detected}/${rows.length} incidents detected, ${rows.filter((x) => x.withinTarget).length} within target; ` +
    `${falseAlerts} false alerts over ${days} simulated days (${(falseAlerts / days).toFixed(2)} per day), ${falseFreezes} false freezes\n`);
  for (const e of falseExamples) process.stdout.write(`  false alert: ${e}\n`);
  if (args.out) writeFileSync(args.out, `${JSON.stringify({ seeds, historyDays, testDays, rows, falseAlerts, falseAlertsPerDay: falseAlerts / days, falseFreezes }, null, 2)}\n`);
  return 0;
}
