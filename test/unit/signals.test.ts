import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { ActivityTracker, MinuteCounts } from '../../src/baseline/activity.js';
import { BaselineLearner } from '../../src/baseline/learner.js';
import { validateConfig } from '../../src/config/load.js';
import { DECODERS, decodeContextFrom } from '../../src/decode/index.js';
import { buildDetectors } from '../../src/detectors/index.js';
import type { AuditEvent } from '../../src/events/audit-event.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { buildDetectionPipeline } from '../../src/pipeline/assemble.js';
import type { SourceRecord } from '../../src/sources/source.js';

const WINDOWS = [10_000, 60_000, 600_000, 3_600_000];
const NOON = Date.parse('2026-04-01T12:00:00Z');
let n = 0;
function ev(principal: string, action: string, verb: AuditEvent['verb'], time: number, extra: Partial<AuditEvent> = {}): AuditEvent {
  return { id: `s${n++}`, time, principal: { id: principal, kind: 'service' }, action, verb, resource: { type: 'rds:dbinstance', id: `db-${n}` }, environment: 'production', source: 'test', outcome: 'success', changeTicket: null, objectCount: 1, ...extra };
}

describe('minute counts', () => {
  it('count what lies within the last N minutes of event time, and forget what slid out', () => {
    const c = new MinuteCounts(5);
    for (let i = 0; i < 10; i++) c.add(NOON + i * 60_000);
    expect(c.at(NOON + 9 * 60_000)).toBe(5);
    c.add(NOON + 2 * 60_000); // late, and older than the window: not counted
    expect(c.at(NOON + 9 * 60_000)).toBe(5);
    expect(c.at(NOON + 60 * 60_000)).toBe(0);
  });
});

describe('alert context', () => {
  // History, two weeks: db-janitor deletes a few databases a day between 09:00 and 10:59 UTC, and reads a little.
  const learner = new BaselineLearner(WINDOWS, 0.95);
  for (let d = 0; d < 14; d++) {
    const day = NOON - (15 - d) * 86_400_000;
    for (let i = 0; i < 3; i++) learner.observe(ev('db-janitor', 'DescribeDBInstances', 'read', day - 3 * 3_600_000 + i * 1000));
    for (let i = 0; i < 3; i++) learner.observe(ev('db-janitor', 'DeleteDBInstance', 'delete', day - 2 * 3_600_000 + i * 60_000));
  }
  const model = learner.model();
  const config = validateConfig({ alerts: { sinks: [] }, detectors: [{ type: 'bulk-delete', minObjects: 10 }] }, {});

  async function run(events: AuditEvent[]): Promise<Alert[]> {
    const alerts: Alert[] = [];
    const { pipeline } = buildDetectionPipeline({ config, model, metrics: new Metrics(), log: createLogger('silent'), sinks: [{ name: 'c', publish: async (a) => void alerts.push(...a), close: async () => {} }] });
    const records = events.map((e, i): SourceRecord => ({ topic: 't', partition: 0, offset: String(i), key: null, value: Buffer.from(JSON.stringify(e)), format: 'canonical-json' }));
    await pipeline.handle(records);
    return alerts;
  }

  it('names an enumeration burst, unusual hours and the missing ticket, against the principal\'s own history', async () => {
    const at = NOON + 3 * 3_600_000; // 15:00 UTC: never active then
    const enumerate = Array.from({ length: 40 }, (_, i) => ev('db-janitor', 'DescribeDBInstances', 'read', at - 120_000 + i * 1000));
    const wipe = Array.from({ length: 12 }, (_, i) => ev('db-janitor', 'DeleteDBInstance', 'delete', at + i * 500));
    const alerts = await run([...enumerate, ...wipe]);
    const [first] = alerts;
    expect(first?.detector).toBe('bulk-delete');
    expect(first!.context).toEqual([
      'outside its usual hours: 15:00 UTC, where training saw it active 09:00-10:59',
      'enumeration just before: 40 List/Describe/Get calls in the last 5 min (its most in training: 3)',
      'production is a critical environment',
      'no change ticket',
    ]);
    expect(first!.contextScore).toBeCloseTo(first!.score * (1 + 0.5 + 0.5 + 0.25 + 0.1), 2);
  });

  it('the same wipe in its usual hour, with a change ticket, carries less context and a lower context score', async () => {
    const at = NOON - 2 * 3_600_000 + 86_400_000; // 10:00 UTC
    const alerts = await run(Array.from({ length: 12 }, (_, i) => ev('db-janitor', 'DeleteDBInstance', 'delete', at + i * 500, { changeTicket: 'CHG-42' })));
    expect(alerts[0]!.context).toEqual(['production is a critical environment', 'change ticket CHG-42']);
    expect(alerts[0]!.contextScore).toBeLessThan(alerts[0]!.score);
  });

  it('counts denied calls per principal and environment, in event time', () => {
    const t = new ActivityTracker();
    for (let i = 0; i < 4; i++) t.observe(ev('probe', 'DeleteDBInstance', 'delete', NOON + i * 1000, { outcome: 'failure' }));
    t.observe(ev('probe', 'DescribeDBInstances', 'read', NOON + 5000));
    expect(t.recent(ev('probe', 'DeleteDBInstance', 'delete', NOON + 6000))).toEqual({ reads: 1, failures: 4 });
    expect(t.recent(ev('probe', 'DeleteDBInstance', 'delete', NOON + 20 * 60_000))).toEqual({ reads: 0, failures: 0 });
    expect(t.recent(ev('probe', 'DeleteDBInstance', 'delete', NOON + 6000, { environment: 'staging' }))).toEqual({ reads: 0, failures: 0 });
  });
});

describe('protections that only request parameters reveal', () => {
  const ctx = decodeContextFrom(validateConfig({ environments: { awsAccounts: { '111111111111': 'production' } } }, {}));
  const ct = (eventName: string, requestParameters: object, extra: object = {}) => DECODERS.cloudtrail(Buffer.from(JSON.stringify({
    eventVersion: '1.08', eventID: `p${n++}`, eventTime: '2026-04-01T12:00:00Z', eventSource: 's3.amazonaws.com', eventName, requestParameters,
    recipientAccountId: '111111111111', userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::111111111111:assumed-role/intruder/x', sessionContext: { sessionIssuer: { userName: 'intruder', arn: 'arn:aws:iam::111111111111:role/intruder' } } }, ...extra,
  })), ctx).events[0]!;
  const detector = buildDetectors(validateConfig({}, {}), new BaselineLearner(WINDOWS, 0.95).model()).find((d) => d.name === 'context')!;

  it('bucket versioning suspended is a disabled protection; enabled is not', () => {
    const suspended = ct('PutBucketVersioning', { bucketName: 'prod-data', VersioningConfiguration: { Status: 'Suspended' } });
    expect(suspended.action).toBe('PutBucketVersioning:Suspended');
    expect(detector.observe(suspended)).toMatchObject({ severity: 'critical', reason: expect.stringMatching(/^protection disabled: PutBucketVersioning:Suspended/) });
    const enabled = ct('PutBucketVersioning', { bucketName: 'prod-data', VersioningConfiguration: { Status: 'Enabled' } });
    expect(enabled.action).toBe('PutBucketVersioning');
    expect(detector.observe(enabled)).toBeNull();
  });

  it('deletion protection turned off on a database; a denied attempt to stop logging is a warning', () => {
    expect(ct('ModifyDBInstance', { dBInstanceIdentifier: 'orders', deletionProtection: false }).action).toBe('ModifyDBInstance:DeletionProtectionOff');
    expect(ct('ModifyDBInstance', { dBInstanceIdentifier: 'orders', deletionProtection: true }).action).toBe('ModifyDBInstance');
    const denied = ct('StopLogging', { name: 'org-trail' }, { errorCode: 'AccessDenied' });
    expect(detector.observe(denied)).toMatchObject({ severity: 'warning', reason: expect.stringMatching(/^attempt to disable a protection, denied: StopLogging/) });
  });
});
