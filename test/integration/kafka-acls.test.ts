import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AclOperationTypes as Op, AclPermissionTypes as Perm, AclResourceTypes as Res, Kafka, logLevel, ResourcePatternTypes as Pattern, type AclEntry } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { controlTopicWriters } from '../../src/kafka/control-acls.js';
import { PROJECT_ROOT, startLocalBroker, type LocalBroker } from '../../src/kafka/local-broker.js';
import { ephemeralSigning } from '../../src/sim/config.js';
import { testKafka, waitFor } from '../helpers/kafka.js';
import { freePort, startAuditwatch } from '../helpers/run-process.js';

const USERS = { admin: 'admin-secret', auditwatch: 'auditwatch-secret', oncall: 'oncall-secret', mallory: 'mallory-secret', blocked: 'blocked-secret' };
const CONTROL = 'aw.control';

/** The ACLs the deployment guide gives auditwatch (topics and groups under its prefixes, and three cluster rights). */
function auditwatchAcls(principal: string): AclEntry[] {
  const allow = (resourceType: Res, resourceName: string, resourcePatternType: Pattern, operation: Op): AclEntry => ({ resourceType, resourceName, resourcePatternType, principal, host: '*', operation, permissionType: Perm.ALLOW });
  return [
    allow(Res.TOPIC, 'aw', Pattern.PREFIXED, Op.ALL),
    allow(Res.GROUP, 'aw', Pattern.PREFIXED, Op.ALL),
    allow(Res.GROUP, 'auditwatch-gate-', Pattern.PREFIXED, Op.READ),
    allow(Res.GROUP, 'auditwatch-changes-', Pattern.PREFIXED, Op.READ),
    allow(Res.CLUSTER, 'kafka-cluster', Pattern.LITERAL, Op.DESCRIBE),
    allow(Res.CLUSTER, 'kafka-cluster', Pattern.LITERAL, Op.IDEMPOTENT_WRITE),
  ];
}

describe('who may write the control topic, on a broker with SASL/SCRAM and the StandardAuthorizer', () => {
  let broker: LocalBroker;
  const client = (user: keyof typeof USERS) => new Kafka({ clientId: `acl-test-${user}`, brokers: [broker.brokers], logLevel: logLevel.NOTHING, sasl: { mechanism: 'scram-sha-256', username: user, password: USERS[user] } });

  beforeAll(async () => {
    broker = await startLocalBroker({ sasl: { users: USERS }, heap: '512m' });
    const admin = client('admin').admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: CONTROL, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }, { topic: 'aw.input' }], waitForLeaders: true });
    const entry = (principal: string, resourceName: string, resourcePatternType: Pattern, operation: Op, permissionType = Perm.ALLOW): AclEntry =>
      ({ resourceType: Res.TOPIC, resourceName, resourcePatternType, principal, host: '*', operation, permissionType });
    await admin.createAcls({
      acl: [
        ...auditwatchAcls('User:auditwatch'),
        entry('User:oncall', CONTROL, Pattern.LITERAL, Op.WRITE),
        entry('User:mallory', 'aw.cont', Pattern.PREFIXED, Op.WRITE),
        entry('User:*', CONTROL, Pattern.LITERAL, Op.READ),
        entry('User:blocked', '*', Pattern.LITERAL, Op.WRITE),
        entry('User:blocked', CONTROL, Pattern.LITERAL, Op.WRITE, Perm.DENY),
      ],
    });
    await admin.disconnect();
  }, 120_000);
  afterAll(async () => {
    await broker?.stop();
  });

  it('lists every principal an ALLOW lets write it, literal, prefixed or wildcard, less those a DENY stops', async () => {
    const admin = client('auditwatch').admin();
    await admin.connect();
    // ACLs take a moment to reach the authorizer's cache after they are created.
    let acls = await controlTopicWriters(admin, CONTROL);
    for (let i = 0; i < 50 && (acls.authorizer !== true || acls.writers.length < 3); i++) {
      await new Promise((r) => setTimeout(r, 200));
      acls = await controlTopicWriters(admin, CONTROL);
    }
    await admin.disconnect();
    expect(acls.authorizer).toBe(true);
    if (acls.authorizer !== true) return;
    expect(acls.writers.map((w) => `${w.principal} via ${w.via}`).sort()).toEqual([
      'User:auditwatch via topic aw (prefixed)',
      'User:mallory via topic aw.cont (prefixed)',
      'User:oncall via topic aw.control (literal)',
    ]);
    // The authorizer does hold these: mallory may write the control topic and nothing else of auditwatch's.
    const mallory = client('mallory').producer();
    await mallory.connect();
    await expect(mallory.send({ topic: CONTROL, messages: [{ key: 'x', value: 'not a control record' }] })).resolves.toBeDefined();
    await expect(mallory.send({ topic: 'aw.input', messages: [{ value: 'x' }] })).rejects.toThrow(/[Nn]ot authorized/);
    await mallory.disconnect();
  }, 60_000);

  it('`auditwatch run` with its own ACLs starts, and warns naming the principals other than freeze.controlWriters', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aw-acls-'));
    const port = await freePort();
    const configPath = join(dir, 'config.yaml');
    writeFileSync(configPath, stringify({
      kafka: { brokers: [broker.brokers], groupId: 'aw-group', clientId: 'aw-run', sasl: { mechanism: 'scram-sha-256', username: 'auditwatch', passwordEnv: 'AW_KAFKA_PASSWORD' } },
      sources: [{ type: 'kafka', topics: ['aw.input'], format: 'auto' }],
      deadLetter: { topic: 'aw.dead' },
      alerts: { sinks: [{ type: 'kafka', topic: 'aw.alerts' }] },
      changes: { topic: 'aw.changes' },
      freeze: { mode: 'enforce', controlTopic: CONTROL, auditTopic: 'aw.freeze-audit', controlWriters: ['User:auditwatch', 'User:oncall'], ...ephemeralSigning() },
      metrics: { port },
    }));
    const aw = startAuditwatch(['--config', configPath, '--model-dir', join(PROJECT_ROOT, 'models')], port, { AW_KAFKA_PASSWORD: USERS.auditwatch });
    try {
      const line = await aw.waitForLog(/principals other than freeze.controlWriters may write the control topic/, 0, 60_000);
      expect(line).toContain('may write the control topic: User:mallory"');
      expect(line).toContain('User:mallory from * via topic aw.cont (prefixed)');
      expect(line).not.toContain('User:oncall from');
      const ready = async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200;
      await waitFor('/readyz 200: both stages consuming under its ACLs', ready, 60_000);
      // What mallory can do with that right: write records the run refuses, counts and alerts; it goes on.
      const mallory = client('mallory').producer();
      await mallory.connect();
      await mallory.send({ topic: CONTROL, messages: [{ key: 'environment=production', value: '{"op":"lift"}' }] });
      await mallory.disconnect();
      await waitFor('the record refused', async () => (await aw.metric(/^auditwatch_control_records_rejected_total\{reason="unsigned"\}/)) === 1, 20_000);
      expect(await ready()).toBe(true);
    } catch (err) {
      throw new Error(`${(err as Error).message}; its last log lines:\n${aw.stderr.slice(-8).join('\n')}`);
    } finally {
      aw.child.kill('SIGTERM');
    }
    expect(await aw.exited).toBe(0);
  }, 120_000);
});

describe('on a broker without an authorizer', () => {
  it('says that any client may write the control topic', async () => {
    const admin = testKafka().admin();
    await admin.connect();
    expect(await controlTopicWriters(admin, 'anything')).toEqual({ authorizer: false });
    await admin.disconnect();
  });
});
