import { writeFileSync } from 'node:fs';
import type { Alert } from '../../alerts/alert.js';
import type { Config } from '../../config/schema.js';
import { createLogger } from '../../log.js';
import { trainAutoencoder } from '../../model/autoencoder.js';
import { Metrics } from '../../metrics/metrics.js';
import { buildTrainingPipeline } from '../../pipeline/assemble.js';
import { detectOverWindow } from '../../pipeline/window.js';
import type { TaskRoute } from '../../pipeline/tasks.js';
import { simulateNormalTraffic } from '../../sim/cloudtrail-sim.js';
import { simulateKubernetesTraffic } from '../../sim/kubernetes-sim.js';
import { simulateLookAlikes } from '../../sim/look-alikes.js';
import { INCIDENT_KINDS, simTime, simulateApprovedMigration, simulateIncident, type IncidentLabel, type SimRecord } from '../../sim/incidents.js';
import { ChangeBook, signApproval } from '../../actions/change-approval.js';
import { controlKeys } from '../../actions/control-publisher.js';
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
  partitions?: string;
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
  /** Every destructive kind is to be frozen; a bulk read is not (reads never freeze by default). */
  freezeExpected: boolean;
  withinTarget: boolean;
}

/** Which alert first covered a labelled incident, judged only after detection has run. */
function score(seed: number, label: IncidentLabel, alerts: readonly Alert[]): IncidentResult {
  const mine = alerts.filter((a) => a.detector !== 'freeze-cap' && a.principal === label.principal && a.environment === label.environment && a.detectedAt >= label.start && a.detectedAt <= label.end + 600_000);
  const first = mine.reduce<Alert | undefined>((f, a) => (!f || a.detectedAt < f.detectedAt ? a : f), undefined);
  const delaySeconds = first ? (first.detectedAt - label.start) / 1000 : null;
  const idx = first ? label.destructiveEventIds.indexOf(first.triggerEventId) : -1;
  const delayEvents = first ? (idx >= 0 ? idx + 1 : null) : null;
  const withinTarget = !!first && (label.targetSeconds !== undefined ? delaySeconds! <= label.targetSeconds
    : label.bulk ? delaySeconds! <= 5 && (delayEvents ?? Infinity) < 50 : delaySeconds! <= 1800);
  return {
    seed, kind: label.kind, principal: label.principal, detected: !!first,
    severity: mine.reduce<Alert['severity'] | null>((s, a) => (a.severity === 'critical' || s === 'critical' ? 'critical' : a.severity === 'warning' || s === 'warning' ? 'warning' : 'info'), null),
    delaySeconds, delayDestructiveEvents: delayEvents,
    frozen: mine.some((a) => a.action === 'freeze' || a.action === 'freeze-dry-run'),
    freezeExpected: label.destructive,
    withinTarget,
  };
}

async function evaluateSeed(seed: number, historyDays: number, testDays: number, config: Config, tasks: TaskRoute | undefined) {
  const log = createLogger('silent');
  // Two streams, as an organisation has them: CloudTrail from its AWS accounts, audit events from its cluster.
  // And benign look-alikes of the incident kinds (a nightly export, an admin's sync, a Terraform destroy in staging,
  // lifecycle rules on scratch buckets), in history and test window alike.
  const streams = (s: number, from: number, to: number, newHireFrom?: number): SimRecord[] =>
    [...simulateNormalTraffic({ seed: s, from, to, newHireFrom }), ...simulateKubernetesTraffic({ seed: s, from, to }), ...simulateLookAlikes({ seed: s, from, to })]
      .sort((a, b) => simTime(a) - simTime(b));
  const history = streams(seed, TEST_START - historyDays * DAY, TEST_START);
  const { pipeline: trainer, learner, learning } = buildTrainingPipeline(config, new Metrics(), log);
  await new MemorySource(history.map((r) => JSON.stringify(r)), 'auto').run(trainer.handle);
  const model = learner.model();
  const autoencoder = await trainAutoencoder(learning.vectors, { from: model.timeRange?.from ?? null, to: model.timeRange?.to ?? null, events: model.eventCount });

  // One incident of each kind, spread over the test window at seeded times.
  const r = rng(seedOf('evaluate', seed));
  const slot = (testDays * DAY) / INCIDENT_KINDS.length;
  const incidents = INCIDENT_KINDS.map((kind, i) => simulateIncident(kind, TEST_START + i * slot + between(r, 1, Math.floor(slot / 1000) - 4 * 3600) * 1000, seed));
  // A benign look-alike: a change-managed production migration by a principal new there, under an approved change.
  const migration = simulateApprovedMigration(TEST_START + between(r, 2, 6) * 3_600_000, seed);
  const changes = approvedChanges(config, migration.label);
  // A new hire joins on the test window's first day: a principal with no history doing ordinary work.
  const normal = streams(seed + 1000, TEST_START, TEST_START + testDays * DAY, TEST_START);
  const all = [...normal, ...incidents.flatMap((x) => x.records), ...migration.records].sort((a, b) => simTime(a) - simTime(b));
  const detect = (c: Config) => detectOverWindow(c, model, new MemorySource(all.map((x) => JSON.stringify(x)), 'auto'), log, { autoencoder, changes, tasks });
  const { alerts } = await detect(config);

  const results = incidents.map((x) => score(seed, x.label, alerts));
  // Anything else is a false alert: one per incident id, judged by when it was first raised (later revisions of a
  // true incident are updates of it, not new alerts). An info alert inside an approved change is the report asked for.
  const byId = new Map<string, Alert>();
  for (const a of alerts) if (!byId.has(a.id)) byId.set(a.id, a);
  const firstRevisions = [...byId.values()].filter((a) => a.action !== 'change-approved');
  const matched = (a: Alert) => incidents.some((x) => a.principal === x.label.principal && a.environment === x.label.environment && a.detectedAt >= x.label.start && a.detectedAt <= x.label.end + 600_000);
  const falseAlerts = firstRevisions.filter((a) => !matched(a));
  const froze = (a: Alert) => alerts.some((x) => x.id === a.id && (x.action === 'freeze' || x.action === 'freeze-dry-run'));
  const migrationAlerts = alerts.filter((a) => a.principal === migration.label.principal);
  const migrationResult = {
    frozen: migrationAlerts.some((a) => a.action === 'freeze' || a.action === 'freeze-dry-run'),
    infoAlerts: new Set(migrationAlerts.filter((a) => a.action === 'change-approved').map((a) => a.id)).size,
  };
  // Ablation: the same window without the learned model, so that what it adds is measured, not assumed.
  let withoutModel: IncidentResult[] | undefined;
  if (config.detectors.some((d) => d.type === 'model')) {
    const { alerts: plain } = await detect({ ...config, detectors: config.detectors.filter((d) => d.type !== 'model') });
    withoutModel = incidents.map((x) => score(seed, x.label, plain));
  }
  // Distinct principals as detection names them (an assumed role in two accounts is two).
  const ctx = decodeContextFrom(config);
  const principals = new Set(all.flatMap((x) => DECODERS.auto(Buffer.from(JSON.stringify(x)), ctx).events.map((e) => e.principal.id)));
  return { results, falseAlerts, falseFreezes: falseAlerts.filter(froze), events: all.length, principals: principals.size, migration: migrationResult, withoutModel };
}

/** The approval the evaluation publishes with its migration, signed with the config's key (or a key of its own). */
function approvedChanges(config: Config, m: { principal: string; ticket: string; from: number; until: number; start: number }): ChangeBook {
  const { signer, keys } = config.freeze.signing ? controlKeys(config) : controlKeys(simulationConfig(['127.0.0.1:9092'], 'evaluate'));
  const book = new ChangeBook(keys, () => m.from);
  book.add(signApproval({ ticket: m.ticket, scope: { environment: 'production', principal: m.principal }, from: m.from, until: m.until, approvedBy: 'change-board', approvedAt: m.from }, signer!));
  return book;
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
  const partitions = Number(args.partitions ?? 1);
  if (!Number.isInteger(partitions) || partitions < 1) throw new UsageError(`--partitions: expected a whole number ≥ 1, got "${args.partitions}"`);
  // Split as `run` splits a topic of that many partitions: per-principal state is the same, aggregates see one task.
  const tasks: TaskRoute | undefined = partitions > 1 ? { by: 'principal', partitions } : undefined;
  // Freezes enforced in the config, so "frozen" means a freeze would have been issued (replays shadow them).
  const config = args.config ? configFrom({ config: args.config }) : simulationConfig(['127.0.0.1:9092'], 'evaluate');
  const rows: IncidentResult[] = [];
  const ablationRows: IncidentResult[] = [];
  let migrationsFrozen = 0;
  let migrationInfo = 0;
  let falseAlerts = 0;
  let falseFreezes = 0;
  const falseExamples: string[] = [];
  for (const seed of seeds) {
    const r = await evaluateSeed(seed, historyDays, testDays, config, tasks);
    rows.push(...r.results);
    ablationRows.push(...(r.withoutModel ?? []));
    if (r.migration.frozen) migrationsFrozen++;
    migrationInfo += r.migration.infoAlerts;
    falseAlerts += r.falseAlerts.length;
    falseFreezes += r.falseFreezes.length;
    falseExamples.push(...r.falseAlerts.slice(0, 3).map((a) => `seed ${seed}: ${a.severity} ${a.principal} ${a.environment} ${a.resourceType} at ${new Date(a.detectedAt).toISOString()} (run from ${new Date(a.firstEventTime).toISOString()}): ${a.reason}`));
    process.stderr.write(`seed ${seed}: ${r.events} events, ${r.principals} principals, ${r.results.filter((x) => x.detected).length}/${r.results.length} incidents detected, ${r.falseAlerts.length} false alerts\n`);
  }
  const days = seeds.length * testDays;
  const fmt = (v: number | null) => (v === null ? '-' : String(v));
  process.stdout.write('| seed | incident | detected | severity | delay s | delay (counted events) | frozen | within target |\n|---|---|---|---|---|---|---|---|\n');
  for (const x of rows) process.stdout.write(`| ${x.seed} | ${x.kind} | ${x.detected ? 'yes' : 'NO'} | ${x.severity ?? '-'} | ${fmt(x.delaySeconds)} | ${fmt(x.delayDestructiveEvents)} | ${x.frozen ? 'yes' : x.freezeExpected ? 'NO' : 'no (reads)'} | ${x.withinTarget ? 'yes' : 'no'} |\n`);
  const detected = rows.filter((x) => x.detected).length;
  process.stdout.write(`\n${detected}/${rows.length} incidents detected, ${rows.filter((x) => x.withinTarget).length} within target; ` +
    `${falseAlerts} false alerts over ${days} simulated days (${(falseAlerts / days).toFixed(2)} per day), ${falseFreezes} false freezes\n`);
  for (const e of falseExamples) process.stdout.write(`  false alert: ${e}\n`);
  process.stdout.write(`change-managed migration (new principal, approved change): frozen in ${migrationsFrozen} of ${seeds.length} seeds; ${migrationInfo} info alert(s) naming the ticket\n`);
  const unfrozen = rows.filter((x) => x.freezeExpected && !x.frozen);
  if (unfrozen.length) process.stdout.write(`NOT frozen: ${unfrozen.map((x) => `seed ${x.seed} ${x.kind}`).join(', ')}\n`);
  const ablation = ablationSummary(rows, ablationRows);
  if (ablation) process.stdout.write(`${ablation.text}\n`);
  if (args.out) {
    writeFileSync(args.out, `${JSON.stringify({
      seeds, historyDays, testDays, rows, falseAlerts, falseAlertsPerDay: falseAlerts / days, falseFreezes,
      migration: { frozen: migrationsFrozen, infoAlerts: migrationInfo }, ablation: ablation?.json,
    }, null, 2)}\n`);
  }
  return 0;
}

/** What the learned model adds: incidents found, or found earlier, only with it. */
function ablationSummary(withModel: readonly IncidentResult[], without: readonly IncidentResult[]) {
  if (without.length === 0) return undefined;
  const key = (x: IncidentResult) => `${x.seed}:${x.kind}`;
  const plain = new Map(without.map((x) => [key(x), x]));
  const onlyWithModel = withModel.filter((x) => x.detected && !plain.get(key(x))?.detected);
  const earlier = withModel.filter((x) => {
    const p = plain.get(key(x));
    return x.detected && p?.detected && x.delaySeconds! < p.delaySeconds!;
  });
  const json = { onlyWithModel: onlyWithModel.map(key), earlierWithModel: earlier.map((x) => ({ incident: key(x), seconds: x.delaySeconds, withoutModel: plain.get(key(x))!.delaySeconds })) };
  const text = onlyWithModel.length || earlier.length
    ? `ablation: the learned model found ${onlyWithModel.length} incident(s) the other detectors missed and ${earlier.length} earlier`
    : `ablation: without the learned model every incident is found as early (${without.filter((x) => x.detected).length}/${without.length}); the model adds nothing here and serves as a context signal`;
  return { json, text };
}
