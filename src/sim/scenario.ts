import { simulateElbIncident, simulateNormalTraffic, timeOf, type CloudTrailRecord } from './cloudtrail-sim.js';
import { simTime, type SimRecord } from './incidents.js';
import { simulateKubernetesTraffic } from './kubernetes-sim.js';

const DAY = 86_400_000;

/** The history the shipped model is trained on: `npm run models` regenerates models/ from exactly this. */
export const SHIPPED_HISTORY = { seed: 1, days: 14, end: Date.parse('2026-01-05T00:00:00Z') } as const;

export function history(opts: { seed: number; days: number; end: number }): CloudTrailRecord[] {
  return simulateNormalTraffic({ seed: opts.seed, from: opts.end - opts.days * DAY, to: opts.end });
}

/** The cluster's Kubernetes audit stream over the same days, interleaved by event time (read with format auto). */
export function withKubernetes(records: readonly SimRecord[], opts: { seed: number; days: number; end: number }): SimRecord[] {
  return [...records, ...simulateKubernetesTraffic({ seed: opts.seed, from: opts.end - opts.days * DAY, to: opts.end })].sort((a, b) => simTime(a) - simTime(b));
}

/** Exactly what `npm run models` trains on: SHIPPED_HISTORY's CloudTrail and Kubernetes streams. */
export function shippedHistory(): SimRecord[] {
  return withKubernetes(history(SHIPPED_HISTORY), SHIPPED_HISTORY);
}

/** Normal traffic plus the ELB incident at `incidentAt`, merged in event-time order. */
export function withElbIncident(normal: CloudTrailRecord[], opts: { seed: number; incidentAt: number; loadBalancers?: number; callsPerSecond?: number }): CloudTrailRecord[] {
  const incident = simulateElbIncident({ seed: opts.seed, at: opts.incidentAt, loadBalancers: opts.loadBalancers, callsPerSecond: opts.callsPerSecond });
  return [...normal, ...incident].sort((a, b) => timeOf(a) - timeOf(b));
}
