import { CreateRoleCommand, CreateUserCommand, GetRolePolicyCommand, IAMClient, ListRolePoliciesCommand, ListUserPoliciesCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import type { Producer } from 'kafkajs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { AwsIamActuator, iamDenyPolicy, iamPolicyName, iamTargetOf } from '../../src/actions/aws-iam.js';
import { ControlPublisher } from '../../src/actions/control-publisher.js';
import { FreezeExecutor } from '../../src/actions/executor.js';
import { LogFreezeAuditLog, type FreezeAuditEntry } from '../../src/actions/freeze-audit.js';
import type { Alert } from '../../src/alerts/alert.js';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { scopeKey, type FreezeCommand, type FreezeScope } from '../../src/actions/freeze-command.js';
import { loadKeyRing, loadSigner } from '../../src/actions/signing.js';
import { WriteGate } from '../../src/actions/write-gate.js';
import { validateConfig } from '../../src/config/load.js';
import type { AwsIamActuatorSpec } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { ephemeralSigning } from '../../src/sim/config.js';
import { LOCAL_AWS_ENV, startLocalIam, type LocalIam } from '../../src/sim/local-iam.js';
import { brokers, createControlTopic, testKafka, waitFor } from '../helpers/kafka.js';

const ACCOUNT = '123456789012'; // the local IAM API's account
const roleArn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const TRUST = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] });

function command(scope: FreezeScope, alertId = 'alert-1', createdAt = Date.UTC(2026, 11, 6, 12)): FreezeCommand {
  return { scopeKey: scopeKey(scope), scope, alertId, reason: 'test', createdAt, expiresAt: createdAt + 3_600_000, issuedBy: 'auditwatch' };
}

describe('the AWS IAM actuator against a real IAM API on loopback', () => {
  let server: LocalIam;
  let iam: IAMClient;
  const spec = (extra: Record<string, unknown> = {}) =>
    validateConfig({ freeze: { actuators: [{ type: 'aws-iam', endpoint: server.endpoint, breakGlass: ['arn:aws:iam::*:role/break-glass*'], ...extra }] } }, {}).freeze.actuators[0] as AwsIamActuatorSpec;
  const actuator = (extra: Record<string, unknown> = {}) => new AwsIamActuator(spec(extra), LOCAL_AWS_ENV);
  const inlinePolicies = async (role: string) => (await iam.send(new ListRolePoliciesCommand({ RoleName: role }))).PolicyNames ?? [];
  const documentOf = async (role: string, name: string) => JSON.parse(decodeURIComponent((await iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: name }))).PolicyDocument!));

  beforeAll(async () => {
    server = await startLocalIam();
    iam = new IAMClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    for (const RoleName of ['elb-janitor', 'break-glass-admin', 'etl', 'restart']) await iam.send(new CreateRoleCommand({ RoleName, AssumeRolePolicyDocument: TRUST }));
    await iam.send(new CreateUserCommand({ UserName: 'deploy-bot' }));
    // A policy of the role's own, which no freeze or revert may touch.
    await iam.send(new PutRolePolicyCommand({ RoleName: 'elb-janitor', PolicyName: 'own-policy', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'elasticloadbalancing:*', Resource: '*' }] }) }));
  }, 120_000);
  afterAll(async () => {
    iam?.destroy();
    await server?.stop();
  });

  it('reads the IAM principal from the ids audit events carry', () => {
    expect(iamTargetOf(`arn:aws:iam::${ACCOUNT}:role/service-role/elb-janitor`)).toEqual({ kind: 'role', name: 'elb-janitor', account: ACCOUNT, arn: roleArn('elb-janitor') });
    expect(iamTargetOf(`arn:aws:sts::${ACCOUNT}:assumed-role/Admin/jane@example.com`)).toMatchObject({ kind: 'role', name: 'Admin' });
    expect(iamTargetOf(`arn:aws:iam::${ACCOUNT}:user/deploy-bot`)).toMatchObject({ kind: 'user', name: 'deploy-bot' });
    expect(iamTargetOf('system:serviceaccount:prod:janitor')).toBeUndefined();
  });

  it('attaches exactly the deny policy, is idempotent, and its revert removes that policy and nothing else', async () => {
    const a = actuator();
    expect(await a.check()).toEqual([expect.stringMatching(/permissions of .* not verified/)]); // the local API cannot simulate policies
    const c = command({ environment: 'production', principal: roleArn('elb-janitor') });
    const name = iamPolicyName('auditwatch-freeze-', c.scopeKey);
    expect(await a.apply(c)).toBe('applied');
    expect((await inlinePolicies('elb-janitor')).sort()).toEqual([name, 'own-policy'].sort());
    expect(await documentOf('elb-janitor', name)).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'AuditwatchFreeze', Effect: 'Deny', Action: '*', Resource: '*' },
        { Sid: 'AuditwatchRevokeOlderSessions', Effect: 'Deny', Action: '*', Resource: '*', Condition: { DateLessThan: { 'aws:TokenIssueTime': '2026-12-06T12:00:00.000Z' } } },
      ],
    });
    expect(await a.apply(c)).toBe('already');
    expect(await a.revert(c)).toBe('reverted');
    expect(await inlinePolicies('elb-janitor')).toEqual(['own-policy']);
    expect(await a.revert(c)).toBe('already');
    await a.close();
  });

  it('a freeze narrowed to a resource type denies that service\'s writes; users are frozen like roles', async () => {
    const a = actuator({ denyOldSessions: false });
    const c = command({ environment: 'production', principal: roleArn('etl'), resourceType: 'elasticloadbalancing:loadbalancer' });
    expect(await a.apply(c)).toBe('applied');
    const doc = await documentOf('etl', iamPolicyName('auditwatch-freeze-', c.scopeKey));
    expect(doc).toEqual(iamDenyPolicy(c, false));
    const actions = doc.Statement[0].Action as string[];
    expect(actions).toEqual(expect.arrayContaining(['elasticloadbalancing:Delete*', 'elasticloadbalancing:Modify*', 'elasticloadbalancing:Put*', 'elasticloadbalancing:Create*']));
    expect(actions.some((x) => /:(Get|Describe|List)\*$/.test(x))).toBe(false);
    expect(await a.revert(c)).toBe('reverted');
    const user = command({ environment: 'production', principal: `arn:aws:iam::${ACCOUNT}:user/deploy-bot` });
    expect(await a.apply(user)).toBe('applied');
    expect((await iam.send(new ListUserPoliciesCommand({ UserName: 'deploy-bot' }))).PolicyNames).toEqual([iamPolicyName('auditwatch-freeze-', user.scopeKey)]);
    expect(await a.revert(user)).toBe('reverted');
    expect((await iam.send(new ListUserPoliciesCommand({ UserName: 'deploy-bot' }))).PolicyNames).toEqual([]);
  });

  it('survives a restart in between: a new instance finds the policy applied and reverts it', async () => {
    const c = command({ environment: 'production', principal: roleArn('restart') });
    const first = actuator();
    expect(await first.apply(c)).toBe('applied');
    await first.close();
    const second = actuator();
    expect(await second.apply(c)).toBe('already');
    expect(await second.revert(c)).toBe('reverted');
    expect(await inlinePolicies('restart')).toEqual([]);
  });

  it('refuses its own principal, break-glass principals and principals that do not exist; leaves other environments alone', async () => {
    const a = actuator();
    await expect(a.apply(command({ environment: 'production', principal: roleArn('break-glass-admin') }))).rejects.toThrow(/refused to freeze: .*break-glass-admin is a break-glass principal/);
    // The local API's caller is the user "moto".
    await expect(a.apply(command({ environment: 'production', principal: `arn:aws:iam::${ACCOUNT}:user/moto` }))).rejects.toThrow(/refused to freeze: .*user\/moto is auditwatch's own principal/);
    await expect(a.apply(command({ environment: 'production', principal: roleArn('no-such-role') }))).rejects.toThrow(/no-such-role does not exist/);
    expect(await inlinePolicies('break-glass-admin')).toEqual([]);
    expect(await a.apply(command({ environment: 'staging', principal: roleArn('elb-janitor') }))).toBe('not-applicable');
    expect(await a.apply(command({ environment: 'production', resourceType: 'rds:db' }))).toBe('not-applicable');
    expect(await actuator({ accounts: ['999999999999'] }).apply(command({ environment: 'production', principal: roleArn('elb-janitor') }))).toBe('not-applicable');
  });

  it('an IAM endpoint that refuses connections fails check with a clear, retriable error', async () => {
    const a = new AwsIamActuator(spec({ endpoint: 'http://127.0.0.1:9', timeout: '1s' }), LOCAL_AWS_ENV);
    await expect(a.check()).rejects.toMatchObject({ code: 'ACTION_FAILED', retriable: true, message: expect.stringMatching(/cannot tell who auditwatch is/) });
  });

  describe('driven by the FreezeExecutor from signed records on a real broker', () => {
    const kafka = testKafka();
    let producer: Producer;
    beforeAll(async () => {
      producer = kafka.producer();
      await producer.connect();
    });
    afterAll(() => producer?.disconnect());

    it('a freeze the actuator cannot apply is a FreezeFailed audit entry and a critical freeze-failed alert', async () => {
      const topic = await createControlTopic(kafka);
      const keys = ephemeralSigning();
      const publisher = new ControlPublisher(producer, topic, loadSigner(keys.signing));
      const log = createLogger('silent');
      const raised: Alert[] = [];
      const audit: FreezeAuditEntry[] = [];
      const executor = new FreezeExecutor(new WriteGate(kafka, topic, { keys: loadKeyRing(keys.trustedKeys) }), publisher, [actuator()],
        { write: async (e) => void audit.push(...e) }, new Metrics(), log, Date.now, (a) => raised.push(a));
      await executor.start();
      const now = Date.now();
      const c = command({ environment: 'production', principal: roleArn('deleted-meanwhile') }, 'alert-gone', now);
      await publisher.publish([{ op: 'freeze', scopeKey: c.scopeKey, seq: 1, freeze: c, at: now, by: 'auditwatch' }]);
      await waitFor('the failure raised', () => raised.length > 0, 15_000);
      expect(raised[0]).toMatchObject({ detector: 'freeze-failed', severity: 'critical', environment: 'production', principal: roleArn('deleted-meanwhile') });
      expect(raised[0]!.reason).toMatch(/aws-iam could not apply the freeze of .*deleted-meanwhile \(alert alert-gone\): .*does not exist/);
      expect(audit.map((e) => e.action)).toEqual(['FreezeFailed']);
      await executor.stop();
    }, 60_000);

    it('`auditwatch run` whose IAM endpoint refuses exits 2 at start with one line naming the actuator', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'aw-iam-run-'));
      const file = join(dir, 'config.yaml');
      writeFileSync(file, stringify({
        kafka: { brokers: brokers() }, sources: [{ type: 'kafka', topics: [await createControlTopic(kafka)] }],
        freeze: { actuators: [{ type: 'aws-iam', endpoint: 'http://127.0.0.1:9', timeout: '1s' }] }, metrics: { enabled: false },
      }));
      const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'auditwatch.js'), 'run', '--config', file, '--model-dir', join(PROJECT_ROOT, 'models')],
        { encoding: 'utf8', env: { ...process.env, ...LOCAL_AWS_ENV, KAFKA_BROKERS: '' }, timeout: 60_000 });
      expect(r.status).toBe(2);
      const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('{')); // not the JSON log lines before it
      expect(lines).toEqual([expect.stringMatching(/^config: freeze\.actuators\.0 \(aws-iam\): actuator aws-iam: cannot tell who auditwatch is \(sts:GetCallerIdentity\): ECONNREFUSED/)]);
    }, 90_000);

    it('a signed freeze attaches the policy; its expiry removes it', async () => {
      const topic = await createControlTopic(kafka);
      const keys = ephemeralSigning();
      const publisher = new ControlPublisher(producer, topic, loadSigner(keys.signing));
      const log = createLogger('silent');
      const executor = new FreezeExecutor(new WriteGate(kafka, topic, { keys: loadKeyRing(keys.trustedKeys) }), publisher, [actuator()], new LogFreezeAuditLog(log), new Metrics(), log);
      await executor.start();
      const now = Date.now();
      const c = { ...command({ environment: 'production', principal: roleArn('elb-janitor') }, 'alert-exec', now), expiresAt: now + 3000 };
      const name = iamPolicyName('auditwatch-freeze-', c.scopeKey);
      await publisher.publish([{ op: 'freeze', scopeKey: c.scopeKey, seq: 1, freeze: c, at: now, by: 'auditwatch' }]);
      await waitFor('the deny policy', async () => (await inlinePolicies('elb-janitor')).includes(name), 10_000);
      await waitFor('the policy removed at expiry', async () => !(await inlinePolicies('elb-janitor')).includes(name), 15_000);
      expect(Date.now()).toBeGreaterThanOrEqual(c.expiresAt);
      expect(await inlinePolicies('elb-janitor')).toEqual(['own-policy']);
      await executor.stop();
    }, 60_000);
  });
});
