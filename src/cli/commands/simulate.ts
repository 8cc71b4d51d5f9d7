import { createWriteStream } from 'node:fs';
import { history, withElbIncident, withKubernetes } from '../../sim/scenario.js';
import type { CloudTrailRecord } from '../../sim/cloudtrail-sim.js';
import type { SimRecord } from '../../sim/incidents.js';
import { parseTimeArg, UsageError } from '../common.js';

export interface SimulateArgs {
  days: string;
  seed: string;
  end?: string;
  out: string;
  elbIncidentAt?: string;
  kubernetes?: boolean;
}

function positiveInt(flag: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) <= 0) throw new UsageError(`${flag}: expected a positive whole number, got "${text}"`);
  return Number(text);
}

/** Writes simulated CloudTrail (and with --kubernetes the cluster's audit events), one record per line, by event time. */
export async function simulateCommand(args: SimulateArgs): Promise<number> {
  const days = positiveInt('--days', args.days);
  const seed = positiveInt('--seed', args.seed);
  const end = parseTimeArg('--end', args.end) ?? Math.floor(Date.now() / 86_400_000) * 86_400_000;
  let records: SimRecord[] = history({ seed, days, end });
  const at = parseTimeArg('--elb-incident-at', args.elbIncidentAt);
  if (at !== undefined) records = withElbIncident(records as CloudTrailRecord[], { seed, incidentAt: at });
  // The cluster's audit stream, interleaved by time: read it back with --format auto.
  if (args.kubernetes) records = withKubernetes(records, { seed, days, end });
  const out: NodeJS.WritableStream = args.out === '-' ? process.stdout : createWriteStream(args.out);
  for (const r of records) if (!out.write(`${JSON.stringify(r)}\n`)) await new Promise<void>((res) => out.once('drain', () => res()));
  if (args.out !== '-') await new Promise<void>((res) => out.end(() => res()));
  process.stderr.write(`simulated ${records.length} ${args.kubernetes ? 'CloudTrail and Kubernetes audit' : 'CloudTrail'} records over ${days} days (seed ${seed})\n`);
  return 0;
}
