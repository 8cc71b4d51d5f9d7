import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { AlertPolicy } from '../../src/alerts/policy.js';
import { validateConfig } from '../../src/config/load.js';
import type { Finding } from '../../src/detectors/detector.js';
import type { AuditEvent } from '../../src/events/audit-event.js';

const config = validateConfig({ alerts: { incidentGap: '15m' }, detectors: [{ type: 'bulk-delete', windows: ['10s', '1m', '10m', '1h'] }] }, {});
const T0 = Date.parse('2026-01-05T14:00:00Z');
const HOUR = 3_600_000;

function finding(at: number, principal = 'arn:aws:iam::1:role/janitor', windowMs = 60_000): Finding {
  const event: AuditEvent = {
    id: `e-${principal}-${at}`, time: at, principal: { id: principal, kind: 'service' }, action: 'DeleteLoadBalancer', verb: 'delete',
    resource: { type: 'elasticloadbalancing:loadbalancer', id: `lb-${at}` }, environment: 'production', source: 'test', outcome: 'success', changeTicket: null, objectCount: 1,
  };
  return {
    detector: 'bulk-delete', entityKey: `${principal}\u0001production\u0001elasticloadbalancing:loadbalancer`, event, score: 3, severity: 'critical',
    reason: 'r', windowMs, firstEventTime: T0, eventCount: 1, objectCount: 1,
  };
}

describe('incidents close', () => {
  it('once quiet past the longest window, with one last revision stamped with the event time it closed at; a later finding is a new incident', () => {
    const policy = new AlertPolicy(config);
    const out: Alert[] = [];
    const raised = policy.onFinding(finding(T0), out)!;
    const id = raised.id;
    policy.onFinding(finding(T0 + 5 * 60_000), out);
    // Quiet for 59 minutes after the last finding: still open (a 1 h window could still continue it).
    policy.advance(T0 + 5 * 60_000 + HOUR - 60_000, out);
    expect(out).toEqual([]);
    policy.advance(T0 + 5 * 60_000 + HOUR + 1, out);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ id, closed: true, revision: raised.revision + 1, detectedAt: T0 + 5 * 60_000 + HOUR });
    expect(out[0]!.reason).toMatch(/^closed: no finding for 1h after the last at 2026-01-05T14:05:00.000Z/);
    // Closed once, not again.
    policy.advance(T0 + 10 * HOUR, out);
    expect(out).toHaveLength(1);
    const next = policy.onFinding(finding(T0 + 11 * HOUR), out)!;
    expect(next.id).not.toBe(id);
    expect(next.closed).toBe(false);
  });

  it('an incident a new finding comes too late to continue is closed before the new one opens', () => {
    const policy = new AlertPolicy(config);
    const out: Alert[] = [];
    const first = { ...policy.onFinding(finding(T0, 'p', 10_000), out)! };
    // 20 minutes later, a finding whose window reaches back only 10 s: past the 15 min gap, a new incident.
    const second = policy.onFinding(finding(T0 + 20 * 60_000, 'p', 10_000), out)!;
    expect(second.id).not.toBe(first.id);
    expect(out).toEqual([expect.objectContaining({ id: first.id, closed: true, detectedAt: T0 + 15 * 60_000 })]);
  });

  it('a suppressed incident closes silently', () => {
    const policy = new AlertPolicy(validateConfig({ ...config, suppressions: [{ principal: '^p$', owner: 'sre', reason: 'migration', expires: '2027-01-01T00:00:00Z' }] }, {}));
    const out: Alert[] = [];
    expect(policy.onFinding(finding(T0, 'p'), out)).toBeUndefined();
    policy.advance(T0 + 2 * HOUR, out);
    expect(out).toEqual([]);
  });
});
