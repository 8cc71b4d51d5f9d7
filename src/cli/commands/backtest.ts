import { writeFileSync } from 'node:fs';
import type { Alert } from '../../alerts/alert.js';
import { readModel } from '../../baseline/model.js';
import { loadAutoencoder } from '../../model/autoencoder.js';
import { SEVERITY_RANK } from '../../detectors/detector.js';
import { approvedChangesFor } from '../../actions/change-feed.js';
import { controlKeys } from '../../actions/control-publisher.js';
import { createKafka } from '../../kafka/client.js';
import { createLogger } from '../../log.js';
import { detectOverWindow, windowSource } from '../../pipeline/window.js';
import { taskRouteFor } from '../../runtime/topology.js';
import { configFrom, inputChoice, UsageError, type WindowArgs } from '../common.js';

export interface BacktestArgs extends WindowArgs {
  config: string[];
  out?: string;
}

/** One incident as a config saw it: its highest severity and when it first alerted. */
export interface IncidentView {
  key: string;
  id: string;
  detector: string;
  principal: string;
  environment: string;
  resourceType: string;
  severity: Alert['severity'];
  firstAlertAt: number;
  action: Alert['action'];
  reason: string;
}

/**
 * The same incident under two configs: the same detector, entity and run. Alert ids are not compared, since a
 * lower threshold fires on an earlier event and so names the same incident differently.
 */
function incidents(alerts: readonly Alert[]): Map<string, IncidentView> {
  const out = new Map<string, IncidentView>();
  for (const a of alerts) {
    const key = [a.detector, a.principal, a.environment, a.resourceType, a.firstEventTime].join('|');
    const seen = out.get(key);
    if (!seen) out.set(key, { key, id: a.id, detector: a.detector, principal: a.principal, environment: a.environment, resourceType: a.resourceType, severity: a.severity, firstAlertAt: a.detectedAt, action: a.action, reason: a.reason });
    else if (SEVERITY_RANK[a.severity] > SEVERITY_RANK[seen.severity]) Object.assign(seen, { severity: a.severity, action: a.action, reason: a.reason });
  }
  return out;
}

export function diffIncidents(a: readonly Alert[], b: readonly Alert[]) {
  const before = incidents(a);
  const after = incidents(b);
  const added = [...after.values()].filter((i) => !before.has(i.key));
  const gone = [...before.values()].filter((i) => !after.has(i.key));
  const changed = [...after.values()].filter((i) => before.has(i.key) && before.get(i.key)!.severity !== i.severity)
    .map((i) => ({ ...i, severityBefore: before.get(i.key)!.severity }));
  const unchanged = [...after.values()].filter((i) => before.has(i.key) && before.get(i.key)!.severity === i.severity).length;
  return { incidentsA: before.size, incidentsB: after.size, added, gone, changed, unchanged };
}

/** `auditwatch backtest --config A --config B`: what a config change would have done over the same window. */
export async function backtestCommand(args: BacktestArgs): Promise<number> {
  if (args.config.length !== 2) throw new UsageError(`give --config exactly twice (the running config, then the candidate); got ${args.config.length}`);
  const choice = inputChoice(args);
  const [configA, configB] = args.config.map((file) => configFrom({ config: file, modelDir: args.modelDir })) as [ReturnType<typeof configFrom>, ReturnType<typeof configFrom>];
  const log = createLogger(configA.log.level);
  const model = readModel(configA.modelDir);
  const kafka = choice.kind === 'topic' ? createKafka(configA.kafka, log) : undefined;
  // Both runs read exactly the same events: an open-ended topic range is pinned to now.
  const window = choice.kind === 'topic' ? { ...choice, to: choice.to ?? Date.now() } : choice;
  const autoencoder = await loadAutoencoder(configA.modelDir);
  const changes = kafka ? await approvedChangesFor(kafka, configA.changes.topic, controlKeys(configA).keys) : undefined;
  // Both split into tasks as the running config's `run` splits them.
  const tasks = await taskRouteFor(window, configA, kafka);
  const a = await detectOverWindow(configA, model, windowSource(window, args.format, kafka, configA), log, { autoencoder, window: { input: window, format: args.format }, changes, tasks });
  const b = await detectOverWindow(configB, model, windowSource(window, args.format, kafka, configB), log, { autoencoder, window: { input: window, format: args.format }, changes, tasks });
  const diff = diffIncidents(a.alerts, b.alerts);
  const line = (tag: string, i: IncidentView, extra = '') => `${tag} ${i.severity.padEnd(8)} ${i.detector} ${i.principal} ${i.environment} ${i.resourceType} at ${new Date(i.firstAlertAt).toISOString()}${extra}\n`;
  process.stdout.write(`backtest over ${a.events} events: A (${args.config[0]}) ${diff.incidentsA} incidents, B (${args.config[1]}) ${diff.incidentsB} incidents\n`);
  process.stdout.write(`  ${diff.added.length} new in B, ${diff.gone.length} gone in B, ${diff.changed.length} changed severity, ${diff.unchanged} unchanged\n`);
  for (const i of diff.added) process.stdout.write(line('+ new    ', i));
  for (const i of diff.gone) process.stdout.write(line('- gone   ', i));
  for (const i of diff.changed) process.stdout.write(line('~ changed', i, ` (was ${i.severityBefore})`));
  if (args.out) writeFileSync(args.out, `${JSON.stringify({ events: a.events, configs: args.config, ...diff }, null, 2)}\n`);
  return 0;
}
