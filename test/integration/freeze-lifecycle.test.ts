import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka, Producer } from 'kafkajs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { FreezeExecutor } from '../../src/actions/executor.js';
import { KafkaFreezeAuditLog, type FreezeAuditEntry } from '../../src/actions/freeze-audit.js';
import { scopeKey, type FreezeCommand } from '../../src/actions/freeze-command.js';
import { PostgresActuator } from '../../src/actions/postgres.js';
import { WriteGate } from '../../src/actions/write-gate.js';
import type { Alert } from '../../src/alerts/alert.js';
import { emptyModel } from '../../src/baseline/model.js';
import { validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { ControlPublisher } from '../../src/actions/control-publisher.js';
import type { ControlRecord } from '../../src/actions/control-record.js';
import { startGateServer } from '../../src/actions/gate-server.js';
import { generateKeyFiles, loadKeyRing, loadSigner } from '../../src/actions/signing.js';
import { ephemeralSigning } from '../../src/sim/config.js';
import { createKafka, ensureTopics, outputTopics } from '../../src/kafka/client.js';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { buildDetectionPipeline, connectProducer } from '../../src/pipeline/assemble.js';
import { NdjsonSink } from '../../src/sinks/ndjson.js';
import { MemorySource } from '../../src/sources/memory.js';
import { brokers, collect, fresh, waitFor } from '../helpers/kafka.js';
import { aclSnapshot, FIXTURE_SQL, JANITOR, postgresSpec } from '../helpers/pg-fixture.js';
import { startLocalPostgres, type LocalPostgres } from '../helpers/postgres.js';

const log = createLogger('silent');
/** An operator's own key, trusted beside auditwatch's: approvals and lifts are signed with it. */
const operatorKey = { keyId: 'operator-jane', ...generateKeyFiles(mkdtempSync(join(tmpdir(), 'aw-operator-')), 'operator-jane') };
const trustedKeys = () => [...ephemeralSigning().trustedKeys, { keyId: operatorKey.keyId, publicKeyFile: operatorKey.publicKeyFile }];

function freezeConfig(freeze: Record<string, unknown>): Config {
  const run = fresh('fz').replace('.', '-');
  return validateConfig({
    kafka: { brokers: brokers(), clientId: run },
    deadLetter: { topic: `dead.${run}` },
    alerts: { sinks: [] },
    freeze: { controlTopic: `control.${run}`, auditTopic: `freeze-audit.${run}`, signing: ephemeralSigning().signing, trustedKeys: trustedKeys(), ...freeze },
  }, {});
}

/** `count` canonical deletes by `principal` in production, 10 a second, starting at `start`. */
function burst(principal: string, start: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => JSON.stringify({
    id: `${principal}-${start}-${i}`, time: start + i * 100, principal: { id: principal, kind: 'service' }, action: 'DropTable', verb: 'delete',
    resource: { type: 'db:table', id: `t${i}` }, environment: 'production', outcome: 'success', objectCount: 1,
  }));
}

async function detect(config: Config, producer: Producer, lines: string[]): Promise<{ alerts: Alert[]; metrics: Metrics }> {
  const alerts: Alert[] = [];
  const sink = new NdjsonSink('/dev/null');
  sink.publish = async (a) => void alerts.push(...a);
  const metrics = new Metrics();
  const signer = loadSigner(config.freeze.signing!);
  const { pipeline } = buildDetectionPipeline({ config, model: emptyModel([10_000, 60_000, 600_000, 3_600_000], 0.95), metrics, log, producer, signer, sinks: [sink] });
  await new MemorySource(lines, 'canonical-json', 5).run(pipeline.handle);
  return { alerts, metrics };
}

async function topicValues<T>(kafka: Kafka, topic: string, atLeast: number): Promise<Array<T | null>> {
  const c = await collect(kafka, topic);
  try {
    await waitFor(`${atLeast} messages on ${topic}`, () => c.messages.length >= atLeast, 15_000);
    await new Promise((r) => setTimeout(r, 300)); // and nothing more arriving
    return c.messages.map((m) => (m.value ? (JSON.parse(m.value.toString()) as T) : null));
  } finally {
    await c.stop();
  }
}

describe('the freeze lifecycle on a real broker and a real PostgreSQL', () => {
  let server: LocalPostgres;
  let admin: pg.Client;
  let producer: Producer;
  const kafka = createKafka({ brokers: brokers(), clientId: fresh('freeze-test') }, log);

  beforeAll(async () => {
    server = await startLocalPostgres();
    admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(FIXTURE_SQL);
    producer = await connectProducer(kafka);
  }, 60_000);

  afterAll(async () => {
    await producer?.disconnect();
    await admin?.end();
    await server?.stop();
  });

  async function prepare(config: Config): Promise<void> {
    const a = kafka.admin();
    await a.connect();
    await ensureTopics(a, outputTopics(config));
    await a.disconnect();
  }

  /** Waits until the fixture's privileges differ from `before` (frozen) or equal it again (restored). */
  async function waitForPrivileges(what: string, before: string[], state: 'changed' | 'restored', timeoutMs: number): Promise<void> {
    const same = async () => JSON.stringify(await aclSnapshot(admin)) === JSON.stringify(before);
    await waitFor(what, async () => (state === 'restored' ? same() : !(await same())), timeoutMs);
  }

  const keys = () => loadKeyRing(trustedKeys());
  const publisher = (config: Config) => new ControlPublisher(producer, config.freeze.controlTopic, loadSigner(config.freeze.signing!));

  function executor(config: Config, metrics = new Metrics()): FreezeExecutor {
    return new FreezeExecutor(new WriteGate(kafka, config.freeze.controlTopic, { keys: keys() }), publisher(config),
      [new PostgresActuator(postgresSpec(), server.url)], new KafkaFreezeAuditLog(producer, config.freeze.auditTopic), metrics, log);
  }

  async function publish(config: Config, ttlMs: number, alertId: string): Promise<FreezeCommand> {
    const scope = { environment: 'production', principal: JANITOR };
    const now = Date.now();
    const c: FreezeCommand = { scopeKey: scopeKey(scope), scope, alertId, reason: 'test', createdAt: now, expiresAt: now + ttlMs, issuedBy: 'test' };
    await publisher(config).publish([{ op: 'freeze', scopeKey: c.scopeKey, seq: 1, freeze: c, at: now, by: 'test' }]);
    return c;
  }

  it('applies, survives a restart without applying twice, expires on time, and restores privileges exactly', async () => {
    const config = freezeConfig({ mode: 'enforce' });
    await prepare(config);
    const before = await aclSnapshot(admin);
    const first = executor(config);
    await first.start();
    const c = await publish(config, 6000, 'alert-restart');
    await waitForPrivileges('the role to be frozen', before, 'changed', 10_000);
    await first.idle();
    await first.stop(); // auditwatch goes down mid-freeze

    const second = executor(config);
    const found = await second.start(); // comes back up: reconciles what the control topic holds
    expect(found.map((f) => f.alertId)).toEqual(['alert-restart']);
    await second.idle();
    expect(await aclSnapshot(admin)).not.toEqual(before);
    await waitForPrivileges('the freeze to expire and be reverted', before, 'restored', 15_000);
    const expiredAt = Date.now();
    expect(expiredAt).toBeGreaterThanOrEqual(c.expiresAt);
    expect(expiredAt - c.expiresAt).toBeLessThan(3000);
    await second.stop();

    const audit = (await topicValues<FreezeAuditEntry>(kafka, config.freeze.auditTopic, 3)).filter((e) => e && e.freeze.alertId === 'alert-restart') as FreezeAuditEntry[];
    expect(audit.map((e) => e.action)).toEqual(['FreezeApplied', 'FreezeExpired', 'FreezeReverted']);
    const control = await topicValues<ControlRecord>(kafka, config.freeze.controlTopic, 2);
    // The expiry is a signed record above the freeze's sequence, so every gate lifts it too; no bare tombstone.
    expect(control.map((r) => `${r?.op}:${r?.seq}:${r?.keyId}`)).toEqual(['freeze:1:auditwatch-simulation', 'expire:2:auditwatch-simulation']);
  }, 60_000);

  it('an expiry that passed while auditwatch was down is carried out when it comes back', async () => {
    const config = freezeConfig({ mode: 'enforce' });
    await prepare(config);
    const before = await aclSnapshot(admin);
    const first = executor(config);
    await first.start();
    const c = await publish(config, 1500, 'alert-down');
    await waitForPrivileges('the role to be frozen', before, 'changed', 10_000);
    await first.idle();
    await first.stop();
    await new Promise((r) => setTimeout(r, Math.max(0, c.expiresAt - Date.now()) + 500));
    const second = executor(config);
    await second.start();
    await waitForPrivileges('the overdue freeze to be reverted', before, 'restored', 10_000);
    await second.stop();
  }, 60_000);

  it('dry run changes nothing but counts what it would have frozen', async () => {
    const config = freezeConfig({ mode: 'dry-run' });
    await prepare(config);
    const before = await aclSnapshot(admin);
    const { alerts, metrics } = await detect(config, producer, burst(JANITOR, Date.now(), 30));
    expect(alerts.filter((a) => a.severity === 'critical').every((a) => a.action === 'freeze-dry-run')).toBe(true);
    expect((await metrics.registry.getSingleMetricAsString('auditwatch_freezes_total'))).toMatch(/mode="dry-run"} 1/);
    const audit = (await topicValues<FreezeAuditEntry>(kafka, config.freeze.auditTopic, 1)) as FreezeAuditEntry[];
    expect(audit.map((e) => e.action)).toEqual(['FreezeDryRun']);
    const control = await collect(kafka, config.freeze.controlTopic);
    await new Promise((r) => setTimeout(r, 1000));
    expect(control.messages).toHaveLength(0);
    await control.stop();
    expect(await aclSnapshot(admin)).toEqual(before);
  }, 60_000);

  it('approval mode freezes only after an operator confirms with `auditwatch freeze --approve`', async () => {
    const config = freezeConfig({ mode: 'approval' });
    await prepare(config);
    const before = await aclSnapshot(admin);
    const ex = executor(config);
    await ex.start();
    const { alerts } = await detect(config, producer, burst(JANITOR, Date.now(), 30));
    const critical = alerts.find((a) => a.severity === 'critical')!;
    expect(critical.action).toBe('freeze-proposed');
    await new Promise((r) => setTimeout(r, 1000));
    expect(await aclSnapshot(admin)).toEqual(before); // proposed, not frozen

    const dir = mkdtempSync(join(tmpdir(), 'aw-approve-'));
    const file = join(dir, 'config.yaml');
    writeFileSync(file, stringify({ kafka: { brokers: brokers() }, freeze: {
      controlTopic: config.freeze.controlTopic, auditTopic: config.freeze.auditTopic,
      signing: { keyId: operatorKey.keyId, privateKeyFile: operatorKey.privateKeyFile }, trustedKeys: trustedKeys(),
    } }));
    const cli = (args: string[]) => spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'auditwatch.js'), ...args, '--config', file], { encoding: 'utf8', env: { ...process.env, KAFKA_BROKERS: '' } });
    const listed = cli(['freezes']);
    expect(listed.stdout).toContain(`PROPOSED environment=production;principal=${JANITOR}`);
    const approved = cli(['freeze', '--approve', critical.id, '--operator', 'jane']);
    expect(approved.stderr).toBe('');
    expect(approved.status).toBe(0);
    await waitForPrivileges('the approved freeze to be applied', before, 'changed', 10_000);
    // The executor runs in this process, and spawnSync below blocks its event loop: let it write FreezeApplied
    // first, as an executor in its own process would, before the operator's CLI calls that follow.
    await topicValues(kafka, config.freeze.auditTopic, 3);
    expect(cli(['freeze', '--approve', critical.id]).status).toBe(2); // once only
    const active = cli(['freezes']);
    expect(active.stdout).toMatch(/owner jane/);
    const lifted = cli(['unfreeze', '--environment', 'production', '--principal', JANITOR, '--operator', 'jane', '--reason', 'false alarm']);
    expect(lifted.status).toBe(0);
    await waitForPrivileges('the freeze to be lifted', before, 'restored', 10_000);
    await ex.stop();
    const audit = (await topicValues<FreezeAuditEntry>(kafka, config.freeze.auditTopic, 5)).filter(Boolean) as FreezeAuditEntry[];
    expect(audit.map((e) => `${e.action}:${e.principal.id}`)).toEqual(['FreezeProposed:auditwatch', 'FreezeApproved:jane', 'FreezeApplied:auditwatch', 'Unfreeze:jane', 'FreezeReverted:auditwatch']);
  }, 60_000);

  it('the cap stops the freeze that would exceed it and raises a critical alert that says so', async () => {
    const config = freezeConfig({ mode: 'enforce', cap: { maxFreezes: 1, window: '1h' } });
    await prepare(config);
    const t = Date.now();
    const { alerts } = await detect(config, producer, [...burst('svc-one', t, 30), ...burst('svc-two', t + 60_000, 30)]);
    const one = alerts.filter((a) => a.principal === 'svc-one' && a.severity === 'critical');
    const two = alerts.filter((a) => a.principal === 'svc-two' && a.detector === 'bulk-delete' && a.severity === 'critical');
    const cap = alerts.filter((a) => a.detector === 'freeze-cap');
    expect(one[0]!.action).toBe('freeze');
    expect(two[0]!.action).toBe('freeze-refused');
    expect(cap).toHaveLength(1);
    expect(cap[0]).toMatchObject({ severity: 'critical', principal: 'svc-two', action: 'freeze-refused' });
    expect(cap[0]!.reason).toMatch(/freeze cap reached: 1 freezes in the last 1h \(cap 1\); NOT freezing environment=production;principal=svc-two/);
    const control = (await topicValues<ControlRecord>(kafka, config.freeze.controlTopic, 1)) as ControlRecord[];
    expect(control.map((c) => c.freeze.scope.principal)).toEqual(['svc-one']);
    const audit = (await topicValues<FreezeAuditEntry>(kafka, config.freeze.auditTopic, 2)) as FreezeAuditEntry[];
    expect(audit.map((e) => e.action)).toEqual(['FreezeRequested', 'FreezeRefused']);
  }, 60_000);

  it('the HTTP write gate answers 423 for a frozen scope only, 400 for a check that names no scope', async () => {
    const config = freezeConfig({ mode: 'enforce' });
    await prepare(config);
    const gate = new WriteGate(kafka, config.freeze.controlTopic, { keys: keys() });
    const svc = await startGateServer(gate, { host: '127.0.0.1', port: 0 });
    const check = (principal: string) => fetch(`http://127.0.0.1:${svc.port}/v1/check?environment=production&principal=${encodeURIComponent(principal)}&resourceType=db:table`);
    expect((await check(JANITOR)).status).toBe(503); // not ready: it has not read the control topic yet
    await gate.start();
    expect((await fetch(`http://127.0.0.1:${svc.port}/readyz`)).status).toBe(200);
    expect((await check(JANITOR)).status).toBe(200);
    await publish(config, 60_000, 'alert-gate');
    await waitFor('the gate to see the freeze', () => gate.check('production', JANITOR, 'db:table'), 10_000);
    const refused = await check(JANITOR);
    expect(refused.status).toBe(423);
    expect(await refused.json()).toMatchObject({ allowed: false, error: 'frozen', alertId: 'alert-gate' });
    expect((await check('someone-else')).status).toBe(200);
    const incomplete = await fetch(`http://127.0.0.1:${svc.port}/v1/check?environment=production`);
    expect(incomplete.status).toBe(400);
    expect(await incomplete.json()).toEqual({ error: 'missing query parameter(s): principal, resourceType' });
    await svc.stop();
    await gate.stop();
  }, 60_000);
});
