import { writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createKafka } from '../../kafka/client.js';
import { createLogger } from '../../log.js';
import { renderReportHtml, type ReportExports } from '../../report/html.js';
import { generateReport } from '../../report/generate.js';
import { netChangesCsv } from '../../report/report.js';
import { configFrom, inputChoice, UsageError, type WindowArgs } from '../common.js';

export interface ReportArgs extends WindowArgs {
  alert?: string;
  config?: string;
  out?: string;
  html?: string;
}

/** R.html → R.reapply.csv and R.reapply.json, beside it. */
function reapplyExports(html: string): ReportExports {
  const stem = basename(html).replace(/\.html?$/i, '');
  return { csv: `${stem}.reapply.csv`, json: `${stem}.reapply.json` };
}

/**
 * `auditwatch report`: replays a window with the live detection code (freezes shadowed) and says, for its incident,
 * where it started, where to restore to, what it deleted, and what must be re-applied afterwards.
 */
export async function reportCommand(args: ReportArgs): Promise<number> {
  if (!args.out && !args.html) throw new UsageError('give --out FILE.json, --html FILE.html, or both');
  const choice = inputChoice(args);
  const config = configFrom(args);
  const log = createLogger(config.log.level);
  const kafka = choice.kind === 'topic' ? createKafka(config.kafka, log) : undefined;
  const report = await generateReport(config, choice, args.format, kafka, log, args.alert);
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
