import { between, pick, rng, seedOf } from './random.js';
import { transferred } from './objects.js';
import { SIM_ACCOUNTS, type CloudTrailRecord } from './cloudtrail-sim.js';
import { HELM_DEPLOYER, K8S_NAMESPACES, K8sRecorder, type K8sAuditRecord } from './kubernetes-sim.js';

/** What an incident was: used only to score detection afterwards, never while detecting. */
export interface IncidentLabel {
  kind: IncidentKind;
  principal: string;
  environment: 'production';
  /** Event time of the first destructive call. */
  start: number;
  end: number;
  destructiveEventIds: string[];
  /** A bulk delete must alert within 5 s of its first destructive event; others (slow drip) within 30 min. */
  bulk: boolean;
  /** Whether a freeze is expected: a bulk read takes nothing away, and reads never freeze by default. */
  destructive: boolean;
  /** Seconds from the start within which detection is on target, where it is not the bulk or slow default. */
  targetSeconds?: number;
}

/**
 * A benign look-alike that must never be frozen: a change-managed production migration by a principal with no
 * history there, under an approved change the evaluation publishes with it.
 */
export interface ApprovedChangeLabel {
  principal: string;
  environment: 'production';
  ticket: string;
  from: number;
  until: number;
  start: number;
  end: number;
}

export type IncidentKind = 'maintenance-to-prod' | 'stolen-credentials-bucket-wipe' | 'slow-drip' | 'human-destroys-databases' | 'leaked-ci-credential' | 'helm-uninstall-prod'
  | 'exfiltration' | 'ssec-ransomware' | 'retention-removal' | 'spread-teardown' | 'many-identities' | 'exfiltration-large-objects'
  | 'overwrite-ransomware';
export const INCIDENT_KINDS: readonly IncidentKind[] = [
  'maintenance-to-prod', 'stolen-credentials-bucket-wipe', 'slow-drip', 'human-destroys-databases', 'leaked-ci-credential', 'helm-uninstall-prod',
  'exfiltration', 'ssec-ransomware', 'retention-removal', 'spread-teardown', 'many-identities', 'exfiltration-large-objects',
  'overwrite-ransomware',
];

/** A simulated record of either stream: CloudTrail, or a Kubernetes audit event. */
export type SimRecord = CloudTrailRecord | K8sAuditRecord;

/** Event time of a simulated record of either stream. */
export function simTime(r: SimRecord): number {
  return Date.parse(typeof r.eventTime === 'string' ? r.eventTime : (r as K8sAuditRecord).stageTimestamp);
}

const PROD = SIM_ACCOUNTS.production;

function identity(kind: 'user' | 'role', name: string): Record<string, unknown> {
  return kind === 'user'
    ? { type: 'IAMUser', principalId: `AIDA${name.toUpperCase()}`, arn: `arn:aws:iam::${PROD}:user/${name}`, accountId: PROD, userName: name }
    : { type: 'AssumedRole', arn: `arn:aws:sts::${PROD}:assumed-role/${name}/s`, accountId: PROD, sessionContext: { sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${PROD}:role/${name}`, accountId: PROD, userName: name } } };
}

class Writer {
  readonly records: CloudTrailRecord[] = [];
  readonly destructive: string[] = [];
  private n = 0;
  constructor(private readonly tag: string, private readonly who: Record<string, unknown>, private readonly ip = '10.0.0.1') {}

  /** `counts`: the call is part of what the incident is scored on (a delete or terminate is by default). */
  call(t: number, source: string, name: string, params: Record<string, unknown> | null, counts = /^(Delete|Terminate)/.test(name)): void {
    const id = `${this.tag}-${(this.n++).toString(16).padStart(8, '0')}`;
    this.records.push({
      eventVersion: '1.08', eventID: id, eventTime: new Date(Math.floor(t / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
      eventSource: `${source}.amazonaws.com`, eventName: name, awsRegion: 'us-east-1', sourceIPAddress: this.ip,
      userAgent: 'aws-cli/2.15.0', userIdentity: this.who, requestParameters: params, responseElements: null, ...transferred(name, params),
      requestID: `req-${id}`, readOnly: /^(Get|List|Describe)/.test(name), eventType: 'AwsApiCall', managementEvent: true, recipientAccountId: PROD,
    });
    if (counts) this.destructive.push(id);
  }
}

function label(kind: IncidentKind, principal: string, w: Writer | Writer[], bulk: boolean, extra: Partial<IncidentLabel> = {}): { records: CloudTrailRecord[]; label: IncidentLabel } {
  const writers = Array.isArray(w) ? w : [w];
  const records = writers.flatMap((x) => x.records).sort((a, b) => Date.parse(a.eventTime) - Date.parse(b.eventTime));
  const counted = new Set(writers.flatMap((x) => x.destructive));
  const ids = records.filter((r) => counted.has(r.eventID)).map((r) => r.eventID);
  const times = records.filter((r) => counted.has(r.eventID)).map((r) => Date.parse(r.eventTime));
  return { records, label: { kind, principal, environment: 'production', start: Math.min(...times), end: Math.max(...times), destructiveEventIds: ids, bulk, destructive: true, ...extra } };
}

/** One labelled incident of `kind` at `at`, its size and pace varied by `seed`. */
export function simulateIncident(kind: IncidentKind, at: number, seed: number): { records: SimRecord[]; label: IncidentLabel } {
  const r = rng(seedOf(seed, kind, at));
  const tag = `inc-${kind}-${seed}-${at}`;
  switch (kind) {
    case 'maintenance-to-prod': {
      // The 2012 case: the staging ELB janitor, pointed at production.
      const w = new Writer(tag, identity('role', 'elb-janitor'));
      const gap = 1000 / between(r, 5, 25);
      let t = at;
      w.call(t, 'elasticloadbalancing', 'DescribeLoadBalancers', null);
      for (let i = between(r, 60, 300); i > 0; i--) {
        t += gap;
        w.call(t, 'elasticloadbalancing', 'DeleteLoadBalancer', { loadBalancerArn: `arn:aws:elasticloadbalancing:us-east-1:${PROD}:loadbalancer/app/p-${i}` });
        t += gap;
        w.call(t, 'elasticloadbalancing', 'DeleteTargetGroup', { targetGroupArn: `arn:aws:elasticloadbalancing:us-east-1:${PROD}:targetgroup/p-${i}` });
      }
      return label(kind, `arn:aws:iam::${PROD}:role/elb-janitor`, w, true);
    }
    case 'stolen-credentials-bucket-wipe': {
      // A human's keys used from elsewhere: list the bucket, then DeleteObjects in pages of up to 1000 keys.
      const name = pick(r, ['alice', 'bob', 'carol', 'dave']);
      const w = new Writer(tag, identity('user', name), '203.0.113.7');
      let t = at;
      w.call(t, 's3', 'ListObjects', { bucketName: 'production-customer-data' });
      for (let i = between(r, 5, 30); i > 0; i--) {
        t += between(r, 1500, 4000);
        w.call(t, 's3', 'DeleteObjects', { bucketName: 'production-customer-data', delete: { object: Array.from({ length: between(r, 200, 1000) }, (_, k) => ({ key: `c/${i}/${k}` })) } });
      }
      return label(kind, `arn:aws:iam::${PROD}:user/${name}`, w, true);
    }
    case 'slow-drip': {
      // An app that never deletes, deleting one object every ~30 s for hours.
      const name = pick(r, ['app-orders', 'app-billing', 'app-search']);
      const w = new Writer(tag, identity('role', name));
      let t = at;
      for (let i = between(r, 200, 400); i > 0; i--) {
        w.call(t, 's3', 'DeleteObject', { bucketName: `production-${name}`, key: `k/${i}` });
        t += between(r, 20_000, 40_000);
      }
      return label(kind, `arn:aws:iam::${PROD}:role/${name}`, w, false);
    }
    case 'human-destroys-databases': {
      // Someone deleting databases and their snapshots, one by one, that they never touched.
      const name = pick(r, ['erin', 'frank', 'grace', 'heidi']);
      const w = new Writer(tag, identity('user', name));
      let t = at;
      w.call(t, 'rds', 'DescribeDBInstances', null);
      for (let i = between(r, 4, 8); i > 0; i--) {
        t += between(r, 5000, 30_000);
        w.call(t, 'rds', 'DeleteDBSnapshot', { dBSnapshotIdentifier: `prod-db-${i}-snap` });
        t += between(r, 2000, 10_000);
        w.call(t, 'rds', 'DeleteDBInstance', { dBInstanceIdentifier: `prod-db-${i}`, skipFinalSnapshot: true });
      }
      return label(kind, `arn:aws:iam::${PROD}:user/${name}`, w, true);
    }
    case 'leaked-ci-credential': {
      // The CI deployer's credential, leaked: dozens of instances terminated per call.
      const w = new Writer(tag, identity('role', 'ci-deployer'), '198.51.100.23');
      let t = at;
      for (let i = between(r, 4, 12); i > 0; i--) {
        w.call(t, 'ec2', 'TerminateInstances', { instancesSet: { items: Array.from({ length: between(r, 20, 60) }, (_, k) => ({ instanceId: `i-${i}${k}` })) } });
        t += between(r, 2000, 6000);
      }
      return label(kind, `arn:aws:iam::${PROD}:role/ci-deployer`, w, true);
    }
    case 'helm-uninstall-prod': {
      // The Kubernetes ELB case: the CI helm deployer's credential, which prunes staging every night, runs a
      // `helm uninstall` against a production namespace: everything the release owns, in half a minute.
      const k8s = new K8sRecorder(tag);
      const ns = pick(r, K8S_NAMESPACES.production);
      let t = at;
      k8s.add(t, HELM_DEPLOYER, 'list', 'secrets', ns, null);
      const owned: Array<[string, number]> = [['deployments', between(r, 5, 10)], ['services', between(r, 5, 10)], ['configmaps', between(r, 15, 30)], ['secrets', between(r, 10, 20)], ['persistentvolumeclaims', between(r, 2, 5)]];
      for (const [resource, count] of owned) {
        for (let i = 0; i < count; i++) {
          t += between(r, 100, 600);
          k8s.add(t, HELM_DEPLOYER, 'delete', resource, ns, `${resource}-${i}`);
        }
      }
      const records = k8s.finish();
      const times = records.filter((x) => k8s.destructive.includes(x.auditID)).map(simTime);
      return { records, label: { kind, principal: HELM_DEPLOYER, environment: 'production', start: Math.min(...times), end: Math.max(...times), destructiveEventIds: k8s.destructive, bulk: true, destructive: true } };
    }
    case 'exfiltration': {
      // GuardDuty's Exfiltration:S3/AnomalousBehavior: a human's keys used to download a production bucket.
      const name = pick(r, ['alice', 'bob', 'carol', 'dave']);
      const w = new Writer(tag, identity('user', name), '203.0.113.9');
      let t = at;
      w.call(t, 's3', 'ListObjects', { bucketName: 'production-customer-data' });
      for (let i = between(r, 1200, 3000); i > 0; i--) {
        t += between(r, 20, 80);
        w.call(t, 's3', 'GetObject', { bucketName: 'production-customer-data', key: `c/${i}` }, true);
      }
      return label(kind, `arn:aws:iam::${PROD}:user/${name}`, w, false, { destructive: false, targetSeconds: 60 });
    }
    case 'exfiltration-large-objects': {
      // A service's credentials used to download database dumps: a few dozen objects of gigabytes each, far under
      // any object-count threshold; only the bytes tell.
      const name = pick(r, ['app-orders', 'app-billing', 'app-search']);
      const w = new Writer(tag, identity('role', name), '203.0.113.41');
      let t = at;
      w.call(t, 's3', 'ListObjects', { bucketName: 'production-backups' });
      for (let i = between(r, 20, 40); i > 0; i--) {
        t += between(r, 10_000, 30_000);
        w.call(t, 's3', 'GetObject', { bucketName: 'production-backups', key: `db/orders-${i}.dump` }, true);
      }
      return label(kind, `arn:aws:iam::${PROD}:role/${name}`, w, false, { destructive: false, targetSeconds: 60 });
    }
    case 'overwrite-ransomware': {
      // Ransomware that encrypts on the client: each object read, encrypted, written back over itself. No Delete, no
      // SSE-C header: only the read before the write says the object was there.
      const name = pick(r, ['erin', 'frank', 'grace', 'heidi']);
      const w = new Writer(tag, identity('user', name), '198.51.100.91');
      let t = at;
      w.call(t, 's3', 'ListObjects', { bucketName: 'production-app-images' });
      for (let i = between(r, 150, 400); i > 0; i--) {
        t += between(r, 300, 1200);
        w.call(t, 's3', 'GetObject', { bucketName: 'production-app-images', key: `img/${i}` });
        t += between(r, 200, 800);
        w.call(t, 's3', 'PutObject', { bucketName: 'production-app-images', key: `img/${i}` }, true);
      }
      return label(kind, `arn:aws:iam::${PROD}:user/${name}`, w, true, { targetSeconds: 60 });
    }
    case 'ssec-ransomware': {
      // The 2025 campaign: objects rewritten in place under the attacker's own key (SSE-C), then a one-day expiry.
      const name = pick(r, ['erin', 'frank', 'grace', 'heidi']);
      const w = new Writer(tag, identity('user', name), '198.51.100.77');
      let t = at;
      w.call(t, 's3', 'ListObjects', { bucketName: 'production-app-images' });
      for (let i = between(r, 100, 400); i > 0; i--) {
        t += between(r, 50, 250);
        w.call(t, 's3', 'CopyObject', { bucketName: 'production-app-images', key: `img/${i}`, 'x-amz-copy-source': `production-app-images/img/${i}`, 'x-amz-server-side-encryption-customer-algorithm': 'AES256' }, true);
      }
      w.call(t + 2000, 's3', 'PutBucketLifecycle', { bucketName: 'production-app-images', LifecycleConfiguration: { Rule: { ID: 'x', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 1 } } } }, true);
      return label(kind, `arn:aws:iam::${PROD}:user/${name}`, w, true);
    }
    case 'retention-removal': {
      // No Delete at all: backups off, point-in-time recovery off, an expiring lifecycle rule; the provider deletes later.
      const name = pick(r, ['alice', 'bob', 'carol', 'dave']);
      const w = new Writer(tag, identity('user', name));
      let t = at;
      w.call(t, 'rds', 'ModifyDBInstance', { dBInstanceIdentifier: 'prod-orders', backupRetentionPeriod: 0, applyImmediately: true }, true);
      t += between(r, 5000, 20_000);
      w.call(t, 'dynamodb', 'UpdateContinuousBackups', { tableName: 'prod-sessions', pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: false } }, true);
      t += between(r, 5000, 20_000);
      w.call(t, 's3', 'PutBucketLifecycle', { bucketName: 'production-backups', LifecycleConfiguration: { Rule: { ID: 'y', Status: 'Enabled', Expiration: { Days: 1 } } } }, true);
      return label(kind, `arn:aws:iam::${PROD}:user/${name}`, w, true);
    }
    case 'spread-teardown': {
      // A tear-down kept under every per-type threshold: a few of each of many resource types.
      const w = new Writer(tag, identity('role', 'ci-deployer'), '198.51.100.23');
      let t = at;
      const types: Array<[string, string, string]> = [
        ['sqs', 'DeleteQueue', 'queueUrl'], ['sns', 'DeleteTopic', 'topicArn'], ['lambda', 'DeleteFunction', 'functionName'],
        ['logs', 'DeleteLogGroup', 'logGroupName'], ['ecs', 'DeleteService', 'service'], ['ecr', 'DeleteRepository', 'repositoryName'],
        ['events', 'DeleteRule', 'name'], ['apigateway', 'DeleteRestApi', 'restApiId'],
      ];
      for (const [service, action, key] of types) {
        for (let i = between(r, 3, 5); i > 0; i--) {
          t += between(r, 1000, 4000);
          w.call(t, service, action, { [key]: `prod-${service}-${i}` });
        }
      }
      // Spread destruction shows only as it adds up: on target within a minute, not at the first event.
      return label(kind, `arn:aws:iam::${PROD}:role/ci-deployer`, w, true, { targetSeconds: 60 });
    }
    case 'many-identities': {
      // Several compromised service identities, each deleting a few queues: none is unusual alone.
      const writers = Array.from({ length: between(r, 8, 12) }, (_, k) => new Writer(`${tag}-${k}`, identity('role', `svc-${['auth', 'cart', 'feed', 'mail', 'pay', 'rank'][k % 6]}-${Math.floor(k / 6) + 1}`)));
      let t = at;
      writers.forEach((w, k) => {
        for (let i = between(r, 2, 3); i > 0; i--) {
          t += between(r, 500, 3000);
          w.call(t, 'sqs', 'DeleteQueue', { queueUrl: `https://sqs.us-east-1.amazonaws.com/${PROD}/prod-q-${k}-${i}` });
        }
      });
      return label(kind, '*', writers, true, { targetSeconds: 60 });
    }
  }
}

/** The change-managed migration: a new principal deleting old snapshots in production, under an approved change. */
export function simulateApprovedMigration(at: number, seed: number): { records: SimRecord[]; label: ApprovedChangeLabel } {
  const r = rng(seedOf(seed, 'migration', at));
  const w = new Writer(`migration-${seed}-${at}`, identity('role', 'migration-runner'));
  let t = at;
  for (let i = between(r, 150, 300); i > 0; i--) {
    t += between(r, 300, 1500);
    w.call(t, 'ec2', 'DeleteSnapshot', { snapshotId: `snap-${i}` });
  }
  return {
    records: w.records,
    label: { principal: `arn:aws:iam::${PROD}:role/migration-runner`, environment: 'production', ticket: `CHG-${seed}`, from: at - 600_000, until: t + 600_000, start: at, end: t },
  };
}
