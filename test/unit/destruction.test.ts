import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dataReadObjects, destructiveObjects } from '../../src/baseline/entity.js';
import { BaselineLearner } from '../../src/baseline/learner.js';
import { emptyModel } from '../../src/baseline/model.js';
import { validateConfig } from '../../src/config/load.js';
import { DECODERS, decodeContextFrom } from '../../src/decode/index.js';
import { buildDetectors, type Finding } from '../../src/detectors/index.js';
import type { AuditEvent } from '../../src/events/audit-event.js';
import { DATASETS, filesUnder, haveDatasets } from '../helpers/datasets.js';

const PROD = '111111111111';
const config = validateConfig({ environments: { awsAccounts: { [PROD]: 'production' } }, alerts: { sinks: [] } }, {});
const ctx = decodeContextFrom(config);
const WINDOWS = [10_000, 60_000, 600_000, 3_600_000];

function cloudtrail(eventName: string, requestParameters: Record<string, unknown>, extra: Record<string, unknown> = {}): AuditEvent {
  const record = {
    eventVersion: '1.08', eventID: `${eventName}-${Math.random()}`, eventTime: '2026-03-02T10:00:00Z', eventSource: 's3.amazonaws.com', eventName,
    awsRegion: 'us-east-1', userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${PROD}:user/mallory`, accountId: PROD, userName: 'mallory' },
    requestParameters, recipientAccountId: PROD, ...extra,
  };
  return DECODERS.cloudtrail(Buffer.from(JSON.stringify(record)), ctx).events[0]!;
}

describe('destruction without a Delete call', () => {
  it('an object rewritten under SSE-C, or under another account\'s KMS key, or copied onto itself, counts as destroyed', () => {
    const ssec = cloudtrail('CopyObject', { bucketName: 'data', key: 'a', 'x-amz-copy-source': 'data/a', 'x-amz-server-side-encryption-customer-algorithm': 'AES256' });
    expect(ssec.action).toBe('CopyObject:SSE-C');
    expect(cloudtrail('PutObject', { bucketName: 'data', key: 'a' }, { additionalEventData: { SSEApplied: 'SSE_C' } }).action).toBe('PutObject:SSE-C');
    const foreign = cloudtrail('PutObject', { bucketName: 'data', key: 'a', 'x-amz-server-side-encryption-aws-kms-key-id': 'arn:aws:kms:us-east-1:999999999999:key/k' });
    expect(foreign.action).toBe('PutObject:ForeignKMS');
    const ownKey = cloudtrail('PutObject', { bucketName: 'data', key: 'a', 'x-amz-server-side-encryption-aws-kms-key-id': `arn:aws:kms:us-east-1:${PROD}:key/k` });
    expect(ownKey.action).toBe('PutObject');
    const inPlace = cloudtrail('CopyObject', { bucketName: 'data', key: 'dir/a b', 'x-amz-copy-source': '/data/dir/a%20b?versionId=3' });
    expect(inPlace.action).toBe('CopyObject:InPlace');
    expect(cloudtrail('CopyObject', { bucketName: 'data', key: 'b', 'x-amz-copy-source': 'data/a' }).action).toBe('CopyObject');
    for (const e of [ssec, foreign, inPlace]) expect(destructiveObjects(e), e.action).toBe(1);
    expect(destructiveObjects(ownKey)).toBe(0);
  });

  it('retention removed is a protection disabled: expiring lifecycle rules, backup retention 0, PITR off, governance bypassed', () => {
    expect(cloudtrail('PutBucketLifecycle', { bucketName: 'b', LifecycleConfiguration: { Rule: [{ Status: 'Enabled', Transition: { Days: 30 } }, { Status: 'Enabled', Expiration: { Days: 1 } }] } }).action)
      .toBe('PutBucketLifecycle:Expiration');
    expect(cloudtrail('PutBucketLifecycle', { bucketName: 'b', LifecycleConfiguration: { Rule: { Status: 'Disabled', Expiration: { Days: 1 } } } }).action).toBe('PutBucketLifecycle');
    expect(cloudtrail('ModifyDBInstance', { dBInstanceIdentifier: 'db', backupRetentionPeriod: 0 }).action).toBe('ModifyDBInstance:BackupRetentionZero');
    expect(cloudtrail('UpdateContinuousBackups', { tableName: 't', pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: false } }).action).toBe('UpdateContinuousBackups:PITROff');
    expect(cloudtrail('PutObjectRetention', { bucketName: 'b', key: 'k', 'x-amz-bypass-governance-retention': 'true' }).action).toBe('PutObjectRetention:BypassGovernance');

    const [, , context] = buildDetectors(config, emptyModel(WINDOWS, 0.95));
    const f = context!.observe(cloudtrail('ModifyDBInstance', { dBInstanceIdentifier: 'db', backupRetentionPeriod: 0 }));
    expect(f).toMatchObject({ detector: 'context', severity: 'critical' });
    expect(f!.reason).toContain('protection disabled: ModifyDBInstance:BackupRetentionZero');
  });

  it.skipIf(!haveDatasets)('Stratus Red Team\'s "nuke CloudTrail logs after one day" lifecycle rule, as CloudTrail recorded it, is a protection disabled', () => {
    const dir = `${DATASETS}/cloudtrail/invictus-stratus-run/CloudTrail`;
    const events = filesUnder('cloudtrail/invictus-stratus-run/CloudTrail', '.json')
      .flatMap((f) => DECODERS.cloudtrail(readFileSync(f), ctx).events)
      .filter((e) => e.action.startsWith('PutBucketLifecycle'));
    expect(dir).toBeTruthy();
    expect(events.map((e) => e.action)).toContain('PutBucketLifecycle:Expiration');
  });

  it('the first write under a foreign key by a principal is a protection gone, once; at volume it is a bulk destruction', () => {
    const [volume, , context] = buildDetectors(config, emptyModel(WINDOWS, 0.95));
    const findings: Finding[] = [];
    for (let i = 0; i < 12; i++) {
      const e = { ...cloudtrail('CopyObject', { bucketName: 'data', key: `k${i}`, 'x-amz-copy-source': `data/k${i}`, 'x-amz-server-side-encryption-customer-algorithm': 'AES256' }), time: Date.parse('2026-03-02T10:00:00Z') + i * 100 };
      for (const d of [volume!, context!]) {
        const f = d.observe(e);
        if (f) findings.push(f);
      }
    }
    expect(findings.filter((f) => f.detector === 'context')).toHaveLength(1);
    expect(findings.find((f) => f.detector === 'context')!.reason).toContain('a key its owner does not hold');
    // s3:object weighs 1, CopyObject:SSE-C 5 (the criticality table's action entries): two rewrites cross minObjects 10.
    const volumeFindings = findings.filter((f) => f.detector === 'bulk-delete');
    expect(volumeFindings[0]!.objectCount).toBe(2);
    expect(volumeFindings.at(-1)!.severity).toBe('critical');
  });
});

describe('spread-out destruction', () => {
  const t0 = Date.parse('2026-03-02T10:00:00Z');
  const del = (principal: string, type: string, i: number, objects = 1): AuditEvent => ({
    id: `${principal}-${type}-${i}`, time: t0 + i * 1000, principal: { id: principal, kind: 'service' }, action: 'Delete', verb: 'delete',
    resource: { type, id: String(i) }, environment: 'production', source: 'test', outcome: 'success', changeTicket: null, objectCount: objects,
  });
  /** History: each principal deletes up to 6 of each of its types in a window, so no per-type threshold sees 7. */
  const trained = () => {
    const learner = new BaselineLearner(WINDOWS, 0.95);
    for (let day = 1; day <= 4; day++) {
      for (const p of ['svc-a', 'svc-b', 'svc-c', 'svc-d']) for (let i = 0; i < 6; i++) learner.observe({ ...del(p, 'app:queue', i), time: t0 - day * 86_400_000 + i * 1000, id: `h-${day}-${p}-${i}` });
    }
    return learner.model();
  };

  it('a tear-down under every per-type threshold is found as the principal across types', () => {
    const [volume] = buildDetectors(config, trained());
    const types = ['app:queue', 'app:topic', 'app:cache', 'app:index', 'app:stream', 'app:function'];
    const findings = types.flatMap((type, k) => Array.from({ length: 6 }, (_, i) => volume!.observe(del('svc-a', type, k * 6 + i)))).filter((f): f is Finding => !!f);
    expect(findings.length).toBeGreaterThan(0);
    expect(findings[0]!.entityKey).toBe('svc-a\u0001production\u0001*');
    expect(findings[0]!.reason).toContain('of every resource type');
    // Types svc-a never destroyed in production: from the third of them, more than its job, and critical.
    expect(findings[0]!.severity).toBe('warning');
    const critical = findings.find((f) => f.severity === 'critical')!;
    expect(critical.event.resource.type).toBe('app:index');
    expect(critical.reason).toContain('3 of the resource types in this run were never destroyed by this principal here before');
  });

  it('a tear-down of the types a principal destroys in its history, as wide as usual but larger, stays a warning', () => {
    const types = ['app:queue', 'app:topic', 'app:cache', 'app:index'];
    const learner = new BaselineLearner(WINDOWS, 0.95);
    for (let day = 1; day <= 4; day++) {
      types.forEach((type, k) => { for (let i = 0; i < 2; i++) learner.observe({ ...del('svc-wide', type, k * 2 + i), time: t0 - day * 86_400_000 + (k * 2 + i) * 1000, id: `h-${day}-${type}-${i}` }); });
    }
    const [volume] = buildDetectors(config, learner.model());
    const findings = types.flatMap((type, k) => Array.from({ length: 5 }, (_, i) => volume!.observe(del('svc-wide', type, k * 5 + i)))).filter((f): f is Finding => !!f);
    const across = findings.filter((f) => f.entityKey === 'svc-wide\u0001production\u0001*');
    expect(across.length).toBeGreaterThan(0);
    expect(across[0]!.severity).toBe('warning');
  });

  it('an entity that led an aggregate and went quiet does not lead it hours later with what slid out of its windows', () => {
    const [volume] = buildDetectors(config, trained());
    // svc-a's own incident: 40 queues at once (its own entity's story, not the aggregate's).
    for (let i = 0; i < 40; i++) volume!.observe(del('svc-a', 'app:queue', i));
    // A second type starts svc-a's across-types aggregate, led by the queues.
    volume!.observe({ ...del('svc-a', 'app:topic', 40), id: 'topic-0' });
    // Twenty hours later, no queue: three of each of six other types. The morning's queues are in no window any more.
    const later = (type: string, i: number) => ({ ...del('svc-a', type, i), id: `later-${type}-${i}`, time: t0 + 20 * 3_600_000 + i * 1000 });
    const types = ['app:topic', 'app:cache', 'app:index', 'app:stream', 'app:function', 'app:bucket'];
    const findings = types.flatMap((type, k) => Array.from({ length: 3 }, (_, i) => volume!.observe(later(type, k * 3 + i)))).filter((f): f is Finding => !!f);
    expect(findings.some((f) => f.entityKey === 'svc-a\u0001production\u0001*')).toBe(true);
  });

  // Together the four learned services peak at 24 (threshold 36): 24 intruders deleting 2 each make 48.
  it('many identities each deleting a little are found as the type across principals; one principal alone is not an aggregate\'s story', () => {
    const [volume] = buildDetectors(config, trained());
    const many = Array.from({ length: 24 }, (_, i) => volume!.observe(del(`intruder-${i}`, 'app:queue', i, 2))).filter((f): f is Finding => !!f);
    expect(many.some((f) => f.entityKey === '*\u0001production\u0001app:queue')).toBe(true);
    const [fresh] = buildDetectors(config, trained());
    const one = Array.from({ length: 30 }, (_, i) => fresh!.observe(del('svc-a', 'app:queue', i))).filter((f): f is Finding => !!f);
    expect(one.length).toBeGreaterThan(0);
    expect(one.every((f) => f.entityKey === 'svc-a\u0001production\u0001app:queue')).toBe(true);
  });
});

describe('data access', () => {
  it('object reads are data reads; metadata reads are not', () => {
    expect(dataReadObjects(cloudtrail('GetObject', { bucketName: 'b', key: 'k' }))).toBe(1);
    expect(dataReadObjects(cloudtrail('GetBucketAcl', { bucketName: 'b' }))).toBe(0);
    expect(dataReadObjects(cloudtrail('ListObjects', { bucketName: 'b' }))).toBe(0);
  });

  it('a bulk download is a warning from a principal that reads here, critical from one that never read this environment\'s data', () => {
    const t0 = Date.parse('2026-03-02T10:00:00Z');
    const get = (principal: string, i: number): AuditEvent => ({
      id: `${principal}-${i}`, time: t0 + i * 50, principal: { id: principal, kind: 'service' }, action: 'GetObject', verb: 'read',
      resource: { type: 's3:object', id: String(i) }, environment: 'production', source: 'test', outcome: 'success', changeTicket: null, objectCount: 1,
    });
    const learner = new BaselineLearner(WINDOWS, 0.95);
    for (let i = 0; i < 50; i++) learner.observe({ ...get('exporter', i), time: t0 - 86_400_000 + i * 50, id: `h${i}` });
    const model = learner.model();
    expect(Object.keys(model.reads!.entities)).toEqual(['exporter\u0001production\u0001s3:object']);
    const read = () => buildDetectors(config, model).find((d) => d.name === 'bulk-read')!;
    const known = read();
    const knownFindings = Array.from({ length: 600 }, (_, i) => known.observe(get('exporter', i))).filter(Boolean) as Finding[];
    expect(knownFindings.at(-1)).toMatchObject({ detector: 'bulk-read', severity: 'warning' });
    const stranger = read();
    const strangerFindings = Array.from({ length: 600 }, (_, i) => stranger.observe(get('stranger', i))).filter(Boolean) as Finding[];
    expect(strangerFindings[0]!.objectCount).toBe(200);
    expect(strangerFindings.at(-1)).toMatchObject({ detector: 'bulk-read', severity: 'critical' });
  });
});

describe('change tickets in CloudTrail', () => {
  const withRules = decodeContextFrom(validateConfig({
    environments: { awsAccounts: { [PROD]: 'production' } },
    changes: { tickets: [{ from: 'sourceIdentity', pattern: '^(CHG-\\d+)' }, { from: 'tag', key: 'change', pattern: '.+' }, { from: 'roleSessionName', pattern: 'chg-(\\d+)' }] },
  }, {}));
  const record = (identity: Record<string, unknown>, requestParameters: Record<string, unknown> = {}) => DECODERS.cloudtrail(Buffer.from(JSON.stringify({
    eventID: 'e', eventTime: '2026-03-02T10:00:00Z', eventSource: 'ec2.amazonaws.com', eventName: 'DeleteSnapshot', recipientAccountId: PROD,
    userIdentity: { type: 'AssumedRole', arn: `arn:aws:sts::${PROD}:assumed-role/deployer/${identity.session ?? 'plain'}`, accountId: PROD, sessionContext: { sourceIdentity: identity.sourceIdentity, sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${PROD}:role/deployer`, userName: 'deployer' } } },
    requestParameters,
  })), withRules).events[0]!;

  it('reads the ticket by the first rule that yields one: source identity, a request tag, the role session name', () => {
    expect(record({ sourceIdentity: 'CHG-1042:alice' }).changeTicket).toBe('CHG-1042');
    expect(record({}, { snapshotId: 's', tagSpecificationSet: { items: [{ resourceType: 'snapshot', tags: [{ key: 'change', value: 'RFC-9' }] }] } }).changeTicket).toBe('RFC-9');
    expect(record({ session: 'deploy-chg-77' }).changeTicket).toBe('77');
    expect(record({ session: 'deploy' }).changeTicket).toBeNull();
    // Without rules nothing is gathered: the ticket stays null whatever the record says.
    expect(DECODERS.cloudtrail(Buffer.from(JSON.stringify({ eventID: 'e', eventTime: '2026-03-02T10:00:00Z', eventSource: 'ec2.amazonaws.com', eventName: 'DeleteSnapshot', userIdentity: { type: 'AssumedRole', arn: 'x', sessionContext: { sourceIdentity: 'CHG-1' } } })), ctx).events[0]!.changeTicket).toBeNull();
  });
});

describe('retention removed as routine', () => {
  it('a role that sets expiring lifecycle rules in its history is not flagged for it; one that never did is', () => {
    const rule = (who: string) => ({ ...cloudtrail('PutBucketLifecycle', { bucketName: 'production-scratch', LifecycleConfiguration: { Rule: { Status: 'Enabled', Expiration: { Days: 7 } } } }), principal: { id: who, kind: 'service' as const } });
    const learner = new BaselineLearner(WINDOWS, 0.95);
    learner.observe(rule('platform-janitor'));
    const context = buildDetectors(config, learner.model()).find((d) => d.name === 'context')!;
    expect(context.observe(rule('platform-janitor'))).toBeNull();
    expect(context.observe(rule('intruder'))).toMatchObject({ severity: 'critical' });
  });
});
