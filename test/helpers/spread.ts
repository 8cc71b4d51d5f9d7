import { simulateIncident, type SimRecord } from '../../src/sim/incidents.js';
import { SHIPPED_HISTORY, history, withElbIncident } from '../../src/sim/scenario.js';
import type { CloudTrailRecord } from '../../src/sim/cloudtrail-sim.js';

const DAY = 86_400_000;

/**
 * A day of simulated traffic after the shipped history with the evaluation's many-identities incident at 14:00 (8–12
 * services deleting 2–3 queues each: only an across-principals aggregate sees it) and the ELB janitor an hour later,
 * in event-time order: destruction per principal and spread over principals, for the tests of how detection is split
 * into tasks.
 */
export function dayWithSpreadDestruction(): CloudTrailRecord[] {
  const day = SHIPPED_HISTORY.end + 3 * DAY;
  const at = day + 14 * 3_600_000;
  const spread = simulateIncident('many-identities', at, 5).records as SimRecord[] as CloudTrailRecord[];
  return withElbIncident([...history({ seed: 5, days: 1, end: day + DAY }), ...spread], { seed: 5, incidentAt: at + 3_600_000 })
    .sort((a, b) => Date.parse(a.eventTime) - Date.parse(b.eventTime));
}

type Identity = { arn?: string; userName?: string; sessionContext?: { sessionIssuer?: { arn?: string } } };

/** A CloudTrail record's principal as a producer keying by principal would take it: the role, not the session. */
export function principalKey(record: object): string {
  const u = (record as { userIdentity: Identity }).userIdentity;
  return u.sessionContext?.sessionIssuer?.arn ?? u.arn ?? u.userName ?? '';
}
