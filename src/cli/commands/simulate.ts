import { createWriteStream } from 'node:fs';
import { history, withElbIncident } from '../../sim/scenario.js';
import { parseTimeArg, UsageError } from '../common.js';

export interface SimulateArgs {
  days: string;
  seed: string;
  end?: string;
  out: string;
  elbIncidentAt?: string;
}

function positiveInt(flag: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) <= 0) throw new UsageError(`${flag}: expected a positive whole number, got "${text}"`);
  return Number(text);
}

/** Writes simulated CloudTrail, one record per line, sorted by event time. */
export async function simulateCommand(args: SimulateArgs): Promise<number> {
  const days = positiveInt('--days', args.days);
  const seed = positiveInt('--seed', args.seed);
  const end = parseTimeArg('--end', args.end) ?? Math.floor(Date.now() / 86_400_000) * 86_400_000;
  let records = history({ seed, days, end });
  const at = parseTimeArg('--elb-incident-at', args.elbIncidentAt);
  if (at !== undefined) records = withElbIncident(records, { seed, incidentAt: at });
  const out: NodeJS.WritableStream = args.out === '-' ? process.stdout : createWriteStream(args.out);
  for (const r of records) if (!out.write(`${JSON.stringify(r)}\n`)) await new Promise<void>((res) => out.once('drain', () => res()));
  if (args.out !== '-') await new Promise<void>((res) => out.end(() => res()));
  process.stderr.write(`simulated ${records.length} CloudTrail records over ${days} days (seed ${seed})\n`);
  return 0;
}
