import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ControlPublisher } from '../../src/actions/control-publisher.js';
import { controlMessage, signControlRecord, type ControlRecord } from '../../src/actions/control-record.js';
import { reportRejections } from '../../src/actions/control-watch.js';
import { scopeKey, type FreezeCommand, type FreezeScope } from '../../src/actions/freeze-command.js';
import { generateKeyFiles, loadKeyRing, loadSigner } from '../../src/actions/signing.js';
import { WriteGate } from '../../src/actions/write-gate.js';
import type { Alert } from '../../src/alerts/alert.js';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { decodeAlert } from '../../src/sinks/kafka.js';
import { brokers, collect, createControlTopic, fresh, testKafka, waitFor } from '../helpers/kafka.js';
import { freePort, startAuditwatch, type RunningAuditwatch } from '../helpers/run-process.js';

const dir = mkdtempSync(join(tmpdir(), 'aw-tamper-'));
const keyFiles = generateKeyFiles(dir, 'auditwatch-test');
const strangerFiles = generateKeyFiles(join(dir, 'stranger'), 'stranger');
const signer = loadSigner({ keyId: 'auditwatch-test', privateKeyFile: keyFiles.privateKeyFile });
const trusted = [{ keyId: 'auditwatch-test', publicKeyFile: keyFiles.publicKeyFile }];

const JANITOR = 'arn:aws:iam::111111111111:role/elb-janitor';
const scopeOf = (principal: string): FreezeScope => ({ environment: 'production', principal });
function command(principal: string, alertId: string): FreezeCommand {
  const now = Date.now();
  const scope = scopeOf(principal);
  return { scopeKey: scopeKey(scope), scope, alertId, reason: 'test', createdAt: now, expiresAt: now + 3_600_000, issuedBy: 'auditwatch' };
}

describe('the control topic under attack, on a real broker', () => {
  const kafka = testKafka();
  let topic: string;
  let producer: Producer;
  let publisher: ControlPublisher;
  let aw: RunningAuditwatch | undefined;

  beforeAll(async () => {
    topic = await createControlTopic(kafka);
    producer = kafka.producer();
    await producer.connect();
    publisher = new ControlPublisher(producer, topic, signer);
  });
  afterAll(async () => {
    aw?.child.kill('SIGKILL');
    await producer?.disconnect();
  });

  it('forged, unsigned, unknown-key, replayed and non-JSON records change no gate, each raises one control-tamper alert, and gates follow the next genuine freeze', async () => {
    const alerts: Alert[] = [];
    const sink = { name: 'collect', publish: async (a: readonly Alert[]) => void alerts.push(...a), close: async () => {} };
    const metrics = new Metrics();
    const gate = new WriteGate(kafka, topic, { keys: loadKeyRing(trusted), onReject: reportRejections(metrics, createLogger('silent'), [sink]) });
    await gate.start();

    // The history a replay attack draws on: a freeze, its lift, and the freeze now in force.
    const first = command(JANITOR, 'alert-first');
    const [, oldLift] = await publisher.publish([
      { op: 'freeze', scopeKey: first.scopeKey, seq: 1, freeze: first, at: first.createdAt, by: 'auditwatch' },
      { op: 'lift', scopeKey: first.scopeKey, seq: 2, freeze: first, at: first.createdAt + 1, by: 'jane' },
    ]);
    const current = command(JANITOR, 'alert-current');
    await publisher.publish([{ op: 'freeze', scopeKey: current.scopeKey, seq: 3, freeze: current, at: current.createdAt, by: 'auditwatch' }]);
    await waitFor('the gate to hold the current freeze', () => gate.check('production', JANITOR, 'elasticloadbalancing:loadbalancer')?.alertId === 'alert-current', 10_000);

    const victim = command('arn:aws:iam::111111111111:role/ci-deployer', 'forged-freeze');
    const stranger = loadSigner({ keyId: 'stranger', privateKeyFile: strangerFiles.privateKeyFile });
    const { privateKey: forgedKey } = generateKeyPairSync('ed25519');
    const impostor = { keyId: 'auditwatch-test', sign: (d: Buffer) => sign(null, d, forgedKey) };
    await producer.send({
      topic,
      messages: [
        // a tombstone for the live freeze, from a client with write access and no key
        { key: current.scopeKey, value: null, headers: { 'auditwatch-operator': 'mallory' } },
        // an unsigned freeze of somebody else (the old wire format)
        { key: victim.scopeKey, value: JSON.stringify(victim) },
        // a lift signed with a key nobody trusts
        controlMessage(signControlRecord({ op: 'lift', scopeKey: current.scopeKey, seq: 99, freeze: current, at: Date.now(), by: 'mallory' }, stranger)),
        // a lift under the trusted key id, signed with another key
        controlMessage(signControlRecord({ op: 'lift', scopeKey: current.scopeKey, seq: 99, freeze: current, at: Date.now(), by: 'mallory' }, impostor)),
        // the old signed lift, replayed
        controlMessage(oldLift as ControlRecord),
        // not JSON at all
        { key: current.scopeKey, value: 'this is not json' },
      ],
    });
    await waitFor('six records refused', () => gate.rejected >= 6, 10_000);
    expect(alerts.map((a) => a.reason.match(/\(([a-z-]+)\)/)?.[1])).toEqual(['forged-tombstone', 'unsigned', 'unknown-key', 'bad-signature', 'stale-sequence', 'not-json']);
    expect(alerts.every((a) => a.detector === 'control-tamper' && a.severity === 'critical')).toBe(true);
    expect(new Set(alerts.map((a) => a.id)).size).toBe(6);
    expect(alerts[0]!.reason).toMatch(/producer not named|produced by mallory/);
    expect(alerts[2]!.reason).toMatch(/key id stranger/);
    expect(await metrics.registry.getSingleMetricAsString('auditwatch_control_records_rejected_total')).toMatch(/reason="not-json"} 1/);
    // No answer changed.
    expect(gate.check('production', JANITOR, 'elasticloadbalancing:loadbalancer')?.alertId).toBe('alert-current');
    expect(gate.check('production', victim.scope.principal!, 'ec2:instance')).toBeNull();

    // The next genuine freeze is followed within a second of being written.
    const next = command('arn:aws:iam::111111111111:role/batch', 'alert-next');
    const sentAt = Date.now();
    await publisher.publish([{ op: 'freeze', scopeKey: next.scopeKey, seq: 1, freeze: next, at: next.createdAt, by: 'auditwatch' }]);
    await waitFor('the gate to follow the genuine freeze', () => gate.check('production', next.scope.principal!, 'ec2:instance'), 5000);
    const followedIn = Date.now() - sentAt;
    expect(followedIn).toBeLessThan(1000);

    // A gate started after all of it starts, with the same answers.
    const late = new WriteGate(kafka, topic, { keys: loadKeyRing(trusted) });
    await late.start();
    expect(late.rejected).toBe(6);
    expect(late.tampered).toBe(6);
    expect(late.check('production', JANITOR, 'x')?.alertId).toBe('alert-current');
    expect(late.check('production', next.scope.principal!, 'x')?.alertId).toBe('alert-next');
    expect(late.check('production', victim.scope.principal!, 'x')).toBeNull();
    await late.stop();
    await gate.stop();

    // An operator listing the freezes is told, and sees only the genuine ones.
    const file = join(dir, 'operator.yaml');
    writeFileSync(file, stringify({ kafka: { brokers: brokers() }, freeze: { controlTopic: topic, trustedKeys: trusted } }));
    const listed = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'auditwatch.js'), 'freezes', '--config', file], { encoding: 'utf8', env: { ...process.env, KAFKA_BROKERS: '' } });
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain(`WARNING: 6 record(s) on ${topic} refused as tampering`);
    expect(listed.stdout).toContain('alert alert-current');
    expect(listed.stdout).not.toContain('forged-freeze');
  }, 60_000);

  it('`auditwatch run` over that control topic becomes ready and raises the tamper alerts on its alerts topic', async () => {
    const port = await freePort();
    const alertsTopic = fresh('alerts');
    const input = fresh('audit.in');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: input }, { topic: alertsTopic }], waitForLeaders: true });
    await admin.disconnect();
    const configPath = join(dir, 'run.yaml');
    writeFileSync(configPath, stringify({
      kafka: { brokers: brokers(), groupId: fresh('group') },
      sources: [{ type: 'kafka', topics: [input], format: 'auto' }],
      deadLetter: { topic: fresh('dead') },
      alerts: { sinks: [{ type: 'kafka', topic: alertsTopic }] },
      freeze: { mode: 'enforce', controlTopic: topic, auditTopic: fresh('audit'), signing: { keyId: 'auditwatch-test', privateKeyFile: keyFiles.privateKeyFile }, trustedKeys: trusted },
      metrics: { port },
    }));
    const seen = await collect(kafka, alertsTopic);
    aw = startAuditwatch(['--config', configPath, '--model-dir', join(PROJECT_ROOT, 'models')], port);
    await waitFor('/readyz 200', async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200, 30_000);
    const tamper = await waitFor('six control-tamper alerts', () => {
      const a = seen.messages.map((m) => decodeAlert(m.value!)).filter((x) => x.detector === 'control-tamper');
      return a.length >= 6 && a;
    }, 20_000);
    expect(tamper.map((a) => a.severity)).toEqual(Array(6).fill('critical'));
    expect(await aw.metric(/^auditwatch_control_records_rejected_total/)).toBe(6);
    aw.child.kill('SIGTERM');
    expect(await aw.exited).toBe(0);
    await seen.stop();
  }, 90_000);
});
