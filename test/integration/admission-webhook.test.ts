import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startAdmissionServer, type AdmissionRequest, type AdmissionServer } from '../../src/actions/admission.js';
import { ControlPublisher } from '../../src/actions/control-publisher.js';
import { scopeKey, type FreezeScope } from '../../src/actions/freeze-command.js';
import { loadKeyRing, loadSigner } from '../../src/actions/signing.js';
import { WriteGate } from '../../src/actions/write-gate.js';
import { validateConfig } from '../../src/config/load.js';
import { decodeContextFrom } from '../../src/decode/context.js';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { ephemeralSigning, SIM_NAMESPACES } from '../../src/sim/config.js';
import { brokers, createControlTopic, testKafka, waitFor } from '../helpers/kafka.js';

const dir = mkdtempSync(join(tmpdir(), 'aw-admission-'));
const certFile = join(dir, 'tls.crt');
const keyFile = join(dir, 'tls.key');
const JANITOR = 'system:serviceaccount:prod-web:janitor';

/** A self-signed certificate for 127.0.0.1, as a cluster's CA would issue the webhook's. */
function makeCertificate(): void {
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile,
    '-days', '1', '-subj', '/CN=auditwatch-admission', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
}

let uid = 0;
function review(req: Partial<AdmissionRequest> & { username: string; groups?: string[] }): unknown {
  const { username, groups, ...rest } = req;
  return {
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid: `uid-${++uid}`, kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      name: 'web', namespace: 'prod-web', operation: 'DELETE', userInfo: { username, groups: groups ?? ['system:authenticated'] }, dryRun: false, ...rest,
    },
  };
}

/** POST over HTTPS, trusting only the webhook's own certificate, as the API server does with its caBundle. */
function post(port: number, body: unknown): Promise<{ status: number; json: { response?: { uid: string; allowed: boolean; status?: { code: number; message: string } } } }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/validate', method: 'POST', ca: readFileSync(certFile), headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(typeof body === 'string' ? body : JSON.stringify(body));
  });
}

describe('the Kubernetes admission webhook, over TLS, following a real control topic', () => {
  const kafka = testKafka();
  let topic: string;
  let producer: Producer;
  let gate: WriteGate;
  let server: AdmissionServer;
  const config = validateConfig({ environments: { kubernetesNamespaces: SIM_NAMESPACES } }, {});

  beforeAll(async () => {
    makeCertificate();
    topic = await createControlTopic(kafka);
    producer = kafka.producer();
    await producer.connect();
    gate = new WriteGate(kafka, topic, { keys: loadKeyRing(ephemeralSigning().trustedKeys) });
    server = await startAdmissionServer({ host: '127.0.0.1', port: 0, certFile, keyFile, check: (e, p, t) => gate.check(e, p, t), ready: () => gate.ready, ctx: decodeContextFrom(config) });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await gate?.stop();
    await producer?.disconnect();
  });

  it('before it has read the control topic it refuses writes and admits the rest', async () => {
    const write = await post(server.port, review({ username: 'anyone' }));
    expect(write.json.response).toMatchObject({ allowed: false, status: { code: 503 } });
    expect((await post(server.port, review({ username: 'anyone', operation: 'CONNECT' }))).json.response?.allowed).toBe(true);
  });

  it('denies the frozen principal\'s writes in the frozen environment with the freeze, the alert and the expiry, and admits everyone else\'s', async () => {
    await gate.start();
    const publisher = new ControlPublisher(producer, topic, loadSigner(ephemeralSigning().signing));
    const now = Date.now();
    const freeze = (scope: FreezeScope, alertId: string) => {
      const key = scopeKey(scope);
      const c = { scopeKey: key, scope, alertId, reason: 'bulk delete', createdAt: now, expiresAt: now + 600_000, issuedBy: 'auditwatch' };
      return { op: 'freeze' as const, scopeKey: key, seq: 1, freeze: c, at: now, by: 'auditwatch' };
    };
    await publisher.publish([
      freeze({ environment: 'production', principal: JANITOR }, 'alert-janitor'),
      freeze({ environment: 'production', principal: 'team:ops' }, 'alert-group'),
      freeze({ environment: 'production', principal: 'jane', resourceType: 'k8s:deployments' }, 'alert-jane'),
    ]);
    await waitFor('three freezes in the gate', () => gate.active().length === 3, 10_000);

    const denied = await post(server.port, review({ username: JANITOR }));
    expect(denied.status).toBe(200);
    expect(denied.json).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { allowed: false, status: { code: 403 } } });
    expect(denied.json.response!.uid).toBe(`uid-${uid}`);
    expect(denied.json.response!.status!.message).toBe(`auditwatch: delete deployments web in prod-web refused: ${JANITOR} is frozen in production until ${new Date(now + 600_000).toISOString()} `
      + `(freeze environment=production;principal=${JANITOR}, alert alert-janitor): bulk delete`);

    const verdict = async (req: Parameters<typeof review>[0]) => (await post(server.port, review(req))).json.response!;
    // Every write by the frozen service account in production: create, update (patch), delete, dry run, subresources.
    for (const operation of ['CREATE', 'UPDATE', 'DELETE']) expect((await verdict({ username: JANITOR, operation })).allowed).toBe(false);
    expect((await verdict({ username: JANITOR, dryRun: true })).status?.message).toMatch(/\(dry run\) refused/);
    expect((await verdict({ username: JANITOR, operation: 'UPDATE', subResource: 'scale' })).allowed).toBe(false);
    expect((await verdict({ username: JANITOR, operation: 'CREATE', resource: { version: 'v1', resource: 'pods' }, subResource: 'eviction', name: 'web-1' })).allowed).toBe(false);
    expect((await verdict({ username: JANITOR, resource: { version: 'v1', resource: 'namespaces' }, name: 'prod-web', namespace: '' })).status?.message).toMatch(/delete namespaces prod-web in prod-web refused/);
    // Not a write, another environment, another principal: admitted.
    expect((await verdict({ username: JANITOR, operation: 'CONNECT', resource: { version: 'v1', resource: 'pods' }, subResource: 'exec' })).allowed).toBe(true);
    expect((await verdict({ username: JANITOR, namespace: 'staging-web' })).allowed).toBe(true);
    expect((await verdict({ username: 'system:serviceaccount:prod-web:deployer' })).allowed).toBe(true);
    // A frozen group binds each of its members.
    const bob = await verdict({ username: 'bob', groups: ['system:authenticated', 'team:ops'], operation: 'CREATE' });
    expect(bob.allowed).toBe(false);
    expect(bob.status?.message).toMatch(/refused: group team:ops is frozen in production .*alert alert-group/);
    // A freeze narrowed to a resource type binds that type and its subresources only.
    expect((await verdict({ username: 'jane', operation: 'UPDATE', subResource: 'scale' })).allowed).toBe(false);
    expect((await verdict({ username: 'jane', resource: { version: 'v1', resource: 'configmaps' }, name: 'settings' })).allowed).toBe(true);
  }, 60_000);

  it('a body that is not an AdmissionReview is a 400, not a crash', async () => {
    expect((await post(server.port, 'not json')).status).toBe(400);
    expect((await post(server.port, { kind: 'Something' })).status).toBe(400);
    expect((await post(server.port, review({ username: 'anyone', operation: 'CONNECT' }))).status).toBe(200);
  });

  it('`auditwatch admission` with a certificate that does not load exits 2 with one line naming the key', () => {
    const badCert = join(dir, 'bad.crt');
    writeFileSync(badCert, 'not a certificate');
    const cli = (webhook: Record<string, unknown>) => {
      const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(file, stringify({ kafka: { brokers: brokers() }, freeze: { controlTopic: topic }, admissionWebhook: { port: 0, ...webhook }, metrics: { enabled: false } }));
      return spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'auditwatch.js'), 'admission', '--config', file], { encoding: 'utf8', env: { ...process.env, KAFKA_BROKERS: '' }, timeout: 20_000 });
    };
    const missing = cli({});
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim().split('\n')).toEqual(['config: admissionWebhook.certFile: required (the PEM certificate the API server trusts)', 'config: admissionWebhook.keyFile: required (its private key)']);
    const bad = cli({ certFile: badCert, keyFile });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^config: admissionWebhook\.certFile: the certificate and key do not load/);
    const absent = cli({ certFile: join(dir, 'nope.crt'), keyFile });
    expect(absent.stderr.trim()).toMatch(/^config: admissionWebhook\.certFile: cannot read .*nope\.crt \(ENOENT\)$/);
  });
});
