import { createWriteStream } from 'node:fs';
import { history, withElbIncident, withKubernetes } from '../../sim/scenario.js';
import type { CloudTrailRecord } from '../../sim/cloudtrail-sim.js';
import { simTime, type SimRecord } from '../../sim/incidents.js';
import { simulateAzureWipe, simulateGcpWipe } from '../../sim/cloud-wipes.js';
import { parseTimeArg, UsageError } from '../common.js';

export interface SimulateArgs {
  days: string;
  seed: string;
  end?: string;
  out: string;
  elbIncidentAt?: string;
  kubernetes?: boolean;
  gcpWipeAt?: string;
  azureWipeAt?: string;
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
  // Mass deletes in the simulated GCP project and Azure subscription, as Cloud Audit Logs and Activity Log exports
  // carry them, merged by event time (read the file back with --format auto).
  const gcpAt = parseTimeArg('--gcp-wipe-at', args.gcpWipeAt);
  const azureAt = parseTimeArg('--azure-wipe-at', args.azureWipeAt);
  const clouds: Array<{ t: number; line: unknown }> = [
    ...(gcpAt === undefined ? [] : simulateGcpWipe({ seed, at: gcpAt }).map((e) => ({ t: Date.parse(e.timestamp as string), line: e }))),
    ...(azureAt === undefined ? [] : simulateAzureWipe({ seed, at: azureAt }).map((e) => ({ t: Date.parse(e.time as string), line: { records: [e] } }))),
  ];
  const lines = [...records.map((r) => ({ t: simTime(r), line: r as unknown })), ...clouds].sort((a, b) => a.t - b.t);
  const out: NodeJS.WritableStream = args.out === '-' ? process.stdout : createWriteStream(args.out);
  for (const { line } of lines) if (!out.write(`${JSON.stringify(line)}\n`)) await new Promise<void>((res) => out.once('drain', () => res()));
  if (args.out !== '-') await new Promise<void>((res) => out.end(() => res()));
  const kinds = ['CloudTrail', ...(args.kubernetes ? ['Kubernetes audit'] : []), ...(gcpAt !== undefined ? ['GCP audit'] : []), ...(azureAt !== undefined ? ['Azure activity'] : [])];
  process.stderr.write(`simulated ${lines.length} ${kinds.join(', ')} records over ${days} days (seed ${seed})\n`);
  return 0;
}
