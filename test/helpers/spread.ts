import { SHIPPED_HISTORY, history, withElbIncident } from '../../src/sim/scenario.js';

const DAY = 86_400_000;

/** Four roles new to production delete 6 load balancers each, together: only an across-principals aggregate sees them. */
export function spreadCleaners(at: number) {
  return [0, 1, 2, 3].flatMap((k) => Array.from({ length: 6 }, (_, i) => {
    const role = `arn:aws:iam::111111111111:role/cleaner-${k}`;
    return {
      eventVersion: '1.08', eventID: `spread-${k}-${i}`, eventTime: new Date(at + (i * 4 + k) * 250).toISOString(), eventSource: 'elasticloadbalancing.amazonaws.com',
      eventName: 'DeleteLoadBalancer', recipientAccountId: '111111111111', awsRegion: 'us-east-1',
      userIdentity: { type: 'AssumedRole', arn: `arn:aws:sts::111111111111:assumed-role/cleaner-${k}/s`, accountId: '111111111111', sessionContext: { sessionIssuer: { arn: role, userName: `cleaner-${k}` } } },
      requestParameters: { loadBalancerArn: `arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/app/lb-${k}-${i}` },
    };
  }));
}

/**
 * A day of simulated traffic after the shipped history with the spread cleaners at 14:00 and the ELB janitor an hour
 * later, in event-time order: destruction per principal and destruction spread over principals, for the tests of
 * how detection is split into tasks.
 */
export function dayWithSpreadDestruction() {
  const day = SHIPPED_HISTORY.end + 3 * DAY;
  const at = day + 14 * 3_600_000;
  return withElbIncident([...history({ seed: 5, days: 1, end: day + DAY }), ...spreadCleaners(at)], { seed: 5, incidentAt: at + 3_600_000 })
    .sort((a, b) => Date.parse(a.eventTime) - Date.parse(b.eventTime));
}

type Identity = { arn?: string; userName?: string; sessionContext?: { sessionIssuer?: { arn?: string } } };

/** A CloudTrail record's principal as a producer keying by principal would take it: the role, not the session. */
export function principalKey(record: object): string {
  const u = (record as { userIdentity: Identity }).userIdentity;
  return u.sessionContext?.sessionIssuer?.arn ?? u.arn ?? u.userName ?? '';
}
