import { writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Alert } from '../../alerts/alert.js';
import { readModel } from '../../baseline/model.js';
import { loadAutoencoder } from '../../model/autoencoder.js';
import { approvedChangesFor } from '../../actions/change-feed.js';
import { controlKeys } from '../../actions/control-publisher.js';
import { createKafka } from '../../kafka/client.js';
import { createLogger } from '../../log.js';
import { Metrics } from '../../metrics/metrics.js';
import { buildDetectionPipeline } from '../../pipeline/assemble.js';
import { requireEvents, shadowFreezes, windowSource, warnRejected } from '../../pipeline/window.js';
import { renderReportHtml, type ReportExports } from '../../report/html.js';
import { ReportRecorder } from '../../report/recorder.js';
import { buildReport, netChangesCsv } from '../../report/report.js';
import type { AlertSink } from '../../sinks/sink.js';
import { configFrom, inputChoice, UsageError, type WindowArgs } from '../common.js';

export interface ReportArgs extends WindowArgs {
  alert?: string;
  config?: string;
  out?: string;
  html?: string;
}

/**
 * `auditwatch report`: replays a window with the live detection code (freezes shadowed) and says, for its incident,
 * where it started, where to restore to, what it deleted, and what must be re-applied afterwards.
 */
/** R.html → R.reapply.csv and R.reapply.json, beside it. */
function reapplyExports(html: string): ReportExports {
  const stem = basename(html).replace(/\.html?$/i, '');
  return { csv: `${stem}.reapply.csv`, json: `${stem}.reapply.json` };
}

export async function reportCommand(args: ReportArgs): Promise<number> {
  if (!args.out && !args.html) throw new UsageError('give --out FILE.json, --html FILE.html, or both');
  const choice = inputChoice(args);
  const config = shadowFreezes(configFrom(args));
  const log = createLogger(config.log.level);
  const model = readModel(config.modelDir);
  const alerts: Alert[] = [];
  const collector: AlertSink = { name: 'collect', publish: async (a) => void alerts.push(...a), close: async () => {} };
  let recorder: ReportRecorder | undefined;
  const kafka = choice.kind === 'topic' ? createKafka(config.kafka, log) : undefined;
  const changes = kafka ? await approvedChangesFor(kafka, config.changes.topic, controlKeys(config).keys) : undefined;
  const { pipeline } = buildDetectionPipeline({
    config, model, autoencoder: await loadAutoencoder(config.modelDir), metrics: new Metrics(), log, sinks: [collector], changes,
    wrap: (detection) => (recorder = new ReportRecorder(detection)),
  });
  const source = windowSource(choice, args.format, kafka, config);
  await source.run(pipeline.handle);
  warnRejected(log, args.format, pipeline);
  requireEvents(choice, args.format, source, pipeline);
  const where = choice.kind === 'file' ? choice.path : `topic ${choice.topic}`;
  let report;
  try {
    report = buildReport(recorder!, alerts, where, args.alert);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (args.out) writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
  if (args.html) {
    // The re-apply list next to the page, as CSV and JSON, linked from it.
    const exports = report.incident ? reapplyExports(args.html) : undefined;
    if (exports && report.incident) {
      writeFileSync(join(dirname(args.html), exports.csv), netChangesCsv(report.incident.netChanges));
      writeFileSync(join(dirname(args.html), exports.json), `${JSON.stringify(report.incident.netChanges, null, 2)}\n`);
    }
    writeFileSync(args.html, renderReportHtml(report, exports));
  }
  const inc = report.incident;
  process.stdout.write(inc
    ? `incident ${inc.alert.id}: ${inc.alert.principal} in ${inc.alert.environment}; first destructive event ${new Date(inc.firstDestructiveEvent.time).toISOString()} ` +
      `(${inc.firstDestructiveEvent.position.topic}/${inc.firstDestructiveEvent.position.partition}@${inc.firstDestructiveEvent.position.offset}); ` +
      `restore point ${inc.restorePoint.time}; ${inc.deleted.length} deletes; ${inc.netChanges.filter((c) => c.net !== 'undone').length} resources to re-apply (${inc.reapply.length} calls)\n`
    : `no incident in ${report.window.events} events\n`);
  return 0;
}
