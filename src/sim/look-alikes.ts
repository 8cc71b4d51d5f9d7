import { between, rng, seedOf } from './random.js';
import { transferred } from './objects.js';
import { SIM_ACCOUNTS, type CloudTrailRecord } from './cloudtrail-sim.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/**
 * Benign work that looks like an incident kind, in history and in the test window alike, so that the evaluation
 * counts what it would cost in false alerts and freezes:
 * - a nightly export that reads a whole production bucket (a bulk read, every night);
 * - an admin's occasional sync, reading a few hundred objects twice a week by hand;
 * - a Terraform destroy of a staging stack, several resource types at once, three days a week;
 * - expiring lifecycle rules on scratch buckets, set every morning by a platform role (retention removed, routinely);
 * - a restore test that downloads the night's database dumps, gigabytes each (a bulk read by bytes, every night);
 * - a config sync that reads and writes back a few dozen objects every hour (overwrites in place, routinely).
 */
export function simulateLookAlikes(opts: { seed: number; from: number; to: number }): CloudTrailRecord[] {
  const records: CloudTrailRecord[] = [];
  let n = 0;
  const add = (t: number, env: keyof typeof SIM_ACCOUNTS, who: { kind: 'user' | 'role'; name: string }, source: string, name: string, params: Record<string, unknown>) => {
    if (t < opts.from || t >= opts.to) return;
    const account = SIM_ACCOUNTS[env];
    const id = `look-${opts.seed}-${(n++).toString(16).padStart(10, '0')}`;
    const userIdentity = who.kind === 'user'
      ? { type: 'IAMUser', arn: `arn:aws:iam::${account}:user/${who.name}`, accountId: account, userName: who.name }
      : { type: 'AssumedRole', arn: `arn:aws:sts::${account}:assumed-role/${who.name}/s`, accountId: account, sessionContext: { sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${account}:role/${who.name}`, accountId: account, userName: who.name } } };
    records.push({
      eventVersion: '1.08', eventID: id, eventTime: new Date(Math.floor(t / 1000) * 1000).toISOString().replace('.000Z', 'Z'), eventSource: `${source}.amazonaws.com`,
      eventName: name, awsRegion: 'us-east-1', sourceIPAddress: '10.0.0.9', userAgent: 'aws-sdk-go/1.50', userIdentity, requestParameters: params,
      responseElements: null, ...transferred(name, params), requestID: `req-${id}`, readOnly: /^(Get|List|Describe)/.test(name), eventType: 'AwsApiCall', managementEvent: !name.endsWith('Object'), recipientAccountId: account,
    });
  };
  for (let day = Math.floor(opts.from / DAY) * DAY; day < opts.to; day += DAY) {
    const r = rng(seedOf(opts.seed, 'look-alikes', day));
    const weekday = new Date(day).getUTCDay();
    // The nightly export: every object of the customer bucket, at about 40 a second.
    let t = day + 2 * HOUR + between(r, 0, 600) * 1000;
    for (let i = between(r, 1500, 2500); i > 0; i--) add((t += between(r, 15, 35)), 'production', { kind: 'role', name: 'nightly-export' }, 's3', 'GetObject', { bucketName: 'production-customer-data', key: `c/${i}` });
    // The admin's sync, Mondays and Thursdays after lunch.
    if (weekday === 1 || weekday === 4) {
      t = day + 15 * HOUR + between(r, 0, 1800) * 1000;
      for (let i = between(r, 300, 600); i > 0; i--) add((t += between(r, 80, 150)), 'production', { kind: 'user', name: 'ops-admin' }, 's3', 'GetObject', { bucketName: 'production-app-images', key: `img/${i}` });
    }
    // Terraform destroying a review stack in staging, Tuesdays, Wednesdays and Fridays.
    if (weekday === 2 || weekday === 3 || weekday === 5) {
      t = day + 10 * HOUR + between(r, 0, 3600) * 1000;
      const stack: Array<[string, string, string]> = [
        ['sqs', 'DeleteQueue', 'queueUrl'], ['sns', 'DeleteTopic', 'topicArn'], ['lambda', 'DeleteFunction', 'functionName'],
        ['logs', 'DeleteLogGroup', 'logGroupName'], ['ec2', 'DeleteSecurityGroup', 'groupId'], ['ec2', 'TerminateInstances', 'instancesSet'],
      ];
      for (const [service, action, key] of stack) {
        for (let i = between(r, 4, 10); i > 0; i--) add((t += between(r, 500, 2500)), 'staging', { kind: 'role', name: 'terraform' }, service, action, { [key]: `review-${service}-${i}` });
      }
    }
    // Scratch buckets expire what is left in them: a platform role sets the rule every morning.
    for (const env of ['production', 'staging'] as const) {
      add(day + 6 * HOUR + between(r, 0, 600) * 1000, env, { kind: 'role', name: 'platform-janitor' }, 's3', 'PutBucketLifecycle',
        { bucketName: `${env}-scratch`, LifecycleConfiguration: { Rule: { ID: 'expire-scratch', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 7 } } } });
    }
    // The restore test: the night's dumps downloaded and checked, after the backup job.
    t = day + 3 * HOUR + between(r, 0, 600) * 1000;
    for (let i = between(r, 10, 20); i > 0; i--) add((t += between(r, 15_000, 45_000)), 'production', { kind: 'role', name: 'restore-tester' }, 's3', 'GetObject', { bucketName: 'production-backups', key: `db/${day / DAY}-${i}.dump` });
    // The config sync: five past every hour, each object read and written back with the new settings.
    for (let h = 0; h < 24; h++) {
      t = day + h * HOUR + 300_000;
      for (let i = between(r, 20, 40); i > 0; i--) {
        const key = { bucketName: 'production-app-orders', key: `config/${i}.json` };
        add((t += between(r, 200, 600)), 'production', { kind: 'role', name: 'config-sync' }, 's3', 'GetObject', key);
        add((t += between(r, 50, 200)), 'production', { kind: 'role', name: 'config-sync' }, 's3', 'PutObject', key);
      }
    }
  }
  return records;
}
