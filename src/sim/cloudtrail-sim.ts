import { between, pick, rng, seedOf } from './random.js';
import { transferred } from './objects.js';

/** The simulated organisation's accounts; the default and demo configs map them to environments. */
export const SIM_ACCOUNTS = { production: '111111111111', staging: '222222222222' } as const;
export type SimEnvironment = keyof typeof SIM_ACCOUNTS;

const DAY = 86_400_000;
const HOUR = 3_600_000;

export type CloudTrailRecord = Record<string, unknown> & { eventTime: string; eventID: string };

interface Identity {
  kind: 'user' | 'role' | 'aws-service';
  name: string;
}

const HUMANS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];
const APP_SERVICES = ['app-orders', 'app-billing', 'app-search', 'app-images', 'app-notify'];
/** The wider organisation: engineers who mostly look, and small services with light object traffic. */
const ENGINEERS = Array.from({ length: 52 }, (_, i) => `eng-${String(i + 1).padStart(2, '0')}`);
const MICROSERVICES = Array.from({ length: 30 }, (_, i) => `svc-${['auth', 'cart', 'feed', 'mail', 'pay', 'rank'][i % 6]}-${Math.floor(i / 6) + 1}`);
/** Joins on the day given to simulateNormalTraffic: no history, a learning curve, and nothing malicious. */
export const NEW_HIRE = 'new-hire';
export const ELB_JANITOR = 'elb-janitor';
export const SNAPSHOT_CLEANUP = 'snapshot-cleanup';
const DEPLOYER = 'ci-deployer';

function roleArn(account: string, role: string): string {
  return `arn:aws:iam::${account}:role/${role}`;
}

function userIdentity(id: Identity, account: string): Record<string, unknown> {
  switch (id.kind) {
    case 'user':
      return { type: 'IAMUser', principalId: `AIDA${id.name.toUpperCase()}`, arn: `arn:aws:iam::${account}:user/${id.name}`, accountId: account, userName: id.name };
    case 'role':
      return {
        type: 'AssumedRole',
        principalId: `AROA${id.name.toUpperCase()}:session`,
        arn: `arn:aws:sts::${account}:assumed-role/${id.name}/session`,
        accountId: account,
        sessionContext: { sessionIssuer: { type: 'Role', principalId: `AROA${id.name.toUpperCase()}`, arn: roleArn(account, id.name), accountId: account, userName: id.name } },
      };
    case 'aws-service':
      return { type: 'AWSService', invokedBy: id.name };
  }
}

/** Builds CloudTrail records; ids are deterministic per (stream, sequence) so a seed always gives the same log. */
class Recorder {
  readonly records: CloudTrailRecord[] = [];
  private seq = 0;
  constructor(private readonly stream: string, private readonly from: number, private readonly to: number) {}

  add(t: number, who: Identity, env: SimEnvironment, source: string, name: string, params: Record<string, unknown> | null, failed = false): void {
    if (t < this.from || t >= this.to) return;
    const account = SIM_ACCOUNTS[env];
    const n = (this.seq++).toString(16).padStart(12, '0');
    const h = seedOf(this.stream).toString(16).padStart(8, '0');
    this.records.push({
      eventVersion: '1.08',
      userIdentity: userIdentity(who, account),
      eventTime: new Date(Math.floor(t / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
      eventSource: `${source}.amazonaws.com`,
      eventName: name,
      awsRegion: 'us-east-1',
      sourceIPAddress: who.kind === 'aws-service' ? who.name : '10.0.0.1',
      userAgent: who.kind === 'user' ? 'aws-cli/2.15.0' : 'aws-sdk-go-v2/1.24.0',
      requestParameters: params,
      responseElements: null,
      ...(failed ? {} : transferred(name, params)),
      ...(failed ? { errorCode: 'AccessDenied', errorMessage: 'simulated denial' } : {}),
      requestID: `${h}-req-${n}`,
      eventID: `${h}-0000-4000-8000-${n}`,
      readOnly: /^(Get|List|Describe)/.test(name),
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: account,
      _t: t,
    });
  }
}

function dayStart(t: number): number {
  return Math.floor(t / DAY) * DAY;
}

/** A human's working day: reads, some changes (a few denied), a rare scratch delete in staging. */
function humanCalls(rec: Recorder, r: () => number, who: Identity, day: number, calls: number, stagingShare: number): void {
  for (let i = 0; i < calls; i++) {
    const t = day + 8 * HOUR + Math.floor(r() * 10 * HOUR);
    const env: SimEnvironment = r() < stagingShare ? 'staging' : 'production';
    const x = r();
    if (x < 0.85) rec.add(t, who, env, 'ec2', pick(r, ['DescribeInstances', 'DescribeSecurityGroups', 'DescribeVolumes']), null);
    else if (x < 0.98) rec.add(t, who, env, 'ec2', pick(r, ['ModifyInstanceAttribute', 'CreateTags', 'AuthorizeSecurityGroupIngress']), { instanceId: `i-${between(r, 1, 9999)}` }, r() < 0.05);
    else rec.add(t, who, 'staging', 's3', 'DeleteObject', { bucketName: 'staging-scratch', key: `tmp/${between(r, 1, 1e6)}` });
  }
}

function simulateDay(day: number, seed: number, rec: Recorder, newHireFrom?: number): void {
  const weekday = new Date(day).getUTCDay();
  const workday = weekday >= 1 && weekday <= 5;

  // Humans: reads all working day, some writes, a rare single delete; most work in staging.
  for (const name of HUMANS) {
    const r = rng(seedOf(seed, 'human', name, day));
    if (!workday && r() < 0.8) continue;
    const calls = between(r, 60, 160);
    for (let i = 0; i < calls; i++) {
      const t = day + 8 * HOUR + Math.floor(r() * 10 * HOUR);
      const env: SimEnvironment = r() < 0.7 ? 'staging' : 'production';
      const x = r();
      const who: Identity = { kind: 'user', name };
      if (x < 0.8) rec.add(t, who, env, 'ec2', pick(r, ['DescribeInstances', 'DescribeSecurityGroups', 'DescribeVolumes']), null);
      else if (x < 0.95) rec.add(t, who, env, 'ec2', pick(r, ['ModifyInstanceAttribute', 'CreateTags', 'AuthorizeSecurityGroupIngress']), { instanceId: `i-${between(r, 1, 9999)}` }, r() < 0.05);
      else rec.add(t, who, env, 's3', 'DeleteObject', { bucketName: `${env}-scratch`, key: `tmp/${between(r, 1, 1e6)}` });
    }
  }

  // Engineers: a few dozen calls on working days, mostly reads, now and then a scratch object deleted in staging.
  for (const name of ENGINEERS) {
    const r = rng(seedOf(seed, 'engineer', name, day));
    if (!workday) continue;
    humanCalls(rec, r, { kind: 'user', name }, day, between(r, 15, 50), 0.9);
  }

  // The new hire: from their first day, the same kind of work as everyone, in both environments.
  if (newHireFrom !== undefined && day >= dayStart(newHireFrom) && workday) {
    const r = rng(seedOf(seed, 'new-hire', day));
    humanCalls(rec, r, { kind: 'user', name: NEW_HIRE }, day, between(r, 40, 120), 0.7);
  }

  // Small services: a little object traffic around the clock.
  for (const name of MICROSERVICES) {
    for (const env of ['production', 'staging'] as const) {
      const r = rng(seedOf(seed, 'micro', name, env, day));
      const perDay = env === 'production' ? between(r, 24, 72) : between(r, 6, 24);
      for (let i = 0; i < perDay; i++) {
        rec.add(day + Math.floor(r() * DAY), { kind: 'role', name }, env, 's3', r() < 0.8 ? 'GetObject' : 'PutObject', { bucketName: `${env}-${name}`, key: `k/${between(r, 1, 1e6)}` });
      }
    }
  }

  // Application services: steady object traffic around the clock.
  for (const name of APP_SERVICES) {
    for (const env of ['production', 'staging'] as const) {
      const r = rng(seedOf(seed, 'app', name, env, day));
      const perHour = env === 'production' ? 30 : 10;
      for (let h = 0; h < 24; h++) {
        for (let i = 0; i < perHour; i++) {
          const t = day + h * HOUR + Math.floor(r() * HOUR);
          rec.add(t, { kind: 'role', name }, env, 's3', r() < 0.7 ? 'GetObject' : 'PutObject', { bucketName: `${env}-${name}`, key: `k/${between(r, 1, 1e6)}` });
        }
      }
    }
  }

  // Deploys replace a few instances behind the load balancers.
  for (const [env, count] of [['staging', 4], ['production', 2]] as const) {
    const r = rng(seedOf(seed, 'deploy', env, day));
    if (!workday) continue;
    for (let d = 0; d < count; d++) {
      let t = day + 9 * HOUR + Math.floor(r() * 8 * HOUR);
      const n = between(r, 2, 4);
      const ids = Array.from({ length: n }, () => `i-${between(r, 1e5, 1e6)}`);
      const who: Identity = { kind: 'role', name: DEPLOYER };
      rec.add(t, who, env, 'ec2', 'RunInstances', { instancesSet: { items: ids.map(() => ({ imageId: 'ami-1' })) } });
      t += 60_000;
      rec.add(t, who, env, 'elasticloadbalancing', 'RegisterTargets', { targetGroupArn: `tg-${env}-web`, targets: ids.map((id) => ({ id })) });
      t += 120_000;
      rec.add(t, who, env, 'elasticloadbalancing', 'DeregisterTargets', { targetGroupArn: `tg-${env}-web`, targets: ids.map((id) => ({ id })) });
      rec.add(t + 5000, who, env, 'ec2', 'TerminateInstances', { instancesSet: { items: ids.map((instanceId) => ({ instanceId })) } });
    }
  }

  // Autoscaling trims production a few times a day.
  {
    const r = rng(seedOf(seed, 'asg', day));
    for (let i = between(r, 2, 6); i > 0; i--) {
      const t = day + Math.floor(r() * DAY);
      const n = between(r, 1, 3);
      rec.add(t, { kind: 'aws-service', name: 'autoscaling.amazonaws.com' }, 'production', 'ec2', 'TerminateInstances',
        { instancesSet: { items: Array.from({ length: n }, () => ({ instanceId: `i-${between(r, 1e5, 1e6)}` })) } });
    }
  }

  // The ELB janitor removes stale load balancers and their target groups in staging, at 03:00.
  {
    const r = rng(seedOf(seed, 'janitor', day));
    let t = day + 3 * HOUR + between(r, 0, 300) * 1000;
    const who: Identity = { kind: 'role', name: ELB_JANITOR };
    rec.add(t, who, 'staging', 'elasticloadbalancing', 'DescribeLoadBalancers', null);
    for (let i = between(r, 3, 12); i > 0; i--) {
      t += between(r, 300, 900);
      rec.add(t, who, 'staging', 'elasticloadbalancing', 'DeleteLoadBalancer', { loadBalancerArn: `arn:aws:elasticloadbalancing:us-east-1:${SIM_ACCOUNTS.staging}:loadbalancer/app/stale-${between(r, 1, 1e6)}` });
      t += between(r, 300, 900);
      rec.add(t, who, 'staging', 'elasticloadbalancing', 'DeleteTargetGroup', { targetGroupArn: `arn:aws:elasticloadbalancing:us-east-1:${SIM_ACCOUNTS.staging}:targetgroup/stale-${between(r, 1, 1e6)}` });
    }
  }

  // The nightly cleanup deletes thousands of expired snapshots in staging at 01:00: big, but normal.
  {
    const r = rng(seedOf(seed, 'cleanup', day));
    let t = day + 1 * HOUR + between(r, 0, 120) * 1000;
    const who: Identity = { kind: 'role', name: SNAPSHOT_CLEANUP };
    for (let i = between(r, 2500, 3500); i > 0; i--) {
      t += between(r, 10, 30);
      rec.add(t, who, 'staging', 'ec2', 'DeleteSnapshot', { snapshotId: `snap-${between(r, 1e8, 1e9)}` });
    }
  }
}

function finish(records: CloudTrailRecord[]): CloudTrailRecord[] {
  // Stable order: by time, then by id, so the same seed always yields the same sequence.
  records.sort((a, b) => (a._t as number) - (b._t as number) || (a.eventID < b.eventID ? -1 : 1));
  for (const r of records) delete r._t;
  return records;
}

/** Normal traffic of the simulated organisation in [from, to), sorted by event time. */
export function simulateNormalTraffic(opts: { seed: number; from: number; to: number; newHireFrom?: number }): CloudTrailRecord[] {
  const rec = new Recorder(`normal-${opts.seed}`, opts.from, opts.to);
  for (let day = dayStart(opts.from); day < opts.to; day += DAY) simulateDay(day, opts.seed, rec, opts.newHireFrom);
  return finish(rec.records);
}

/**
 * The 2012 ELB incident, re-enacted: the janitor that cleans stale load balancers in staging is run against
 * production and deletes load balancers and their target groups as fast as it can.
 */
export function simulateElbIncident(opts: { seed: number; at: number; loadBalancers?: number; callsPerSecond?: number }): CloudTrailRecord[] {
  const count = opts.loadBalancers ?? 300;
  const gap = 1000 / (opts.callsPerSecond ?? 20);
  const rec = new Recorder(`elb-incident-${opts.seed}-${opts.at}`, opts.at, Infinity);
  const r = rng(seedOf(opts.seed, 'incident', opts.at));
  const who: Identity = { kind: 'role', name: ELB_JANITOR };
  const acct = SIM_ACCOUNTS.production;
  rec.add(opts.at, who, 'production', 'elasticloadbalancing', 'DescribeLoadBalancers', null);
  let t = opts.at + 500;
  for (let i = 0; i < count; i++) {
    const name = `prod-${between(r, 1, 1e6)}`;
    rec.add(t, who, 'production', 'elasticloadbalancing', 'DeleteLoadBalancer', { loadBalancerArn: `arn:aws:elasticloadbalancing:us-east-1:${acct}:loadbalancer/app/${name}` });
    t += gap;
    rec.add(t, who, 'production', 'elasticloadbalancing', 'DeleteTargetGroup', { targetGroupArn: `arn:aws:elasticloadbalancing:us-east-1:${acct}:targetgroup/${name}` });
    t += gap;
  }
  return finish(rec.records);
}

/** Sub-second event times: Recorder stores whole seconds, as CloudTrail does; `timeOf` reads them back. */
export function timeOf(r: CloudTrailRecord): number {
  return Date.parse(r.eventTime);
}
