/**
 * npm run bench gate — how long a protected service waits for the write gate's answer:
 *   (a) in process: WriteGate.check, with BENCH_FREEZES freezes in force;
 *   (b) over HTTP on loopback: `auditwatch gate`'s GET /v1/check, keep-alive;
 *   (c) over HTTPS on loopback: the Kubernetes admission webhook's POST /validate with an AdmissionReview.
 * Baselines in the same run: (b) against a bare node:http server answering 200, (c) against a bare node:https
 * server answering the same bytes, both with the same client; so the ratios are what auditwatch adds.
 */
import { teardown } from './teardown.js';
import { spawnSync } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest, Agent } from 'node:https';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logLevel } from 'kafkajs';
import { startAdmissionServer } from '../src/actions/admission.js';
import { ControlPublisher } from '../src/actions/control-publisher.js';
import { scopeKey } from '../src/actions/freeze-command.js';
import { startGateServer } from '../src/actions/gate-server.js';
import { loadKeyRing, loadSigner } from '../src/actions/signing.js';
import { WriteGate } from '../src/actions/write-gate.js';
import { validateConfig } from '../src/config/load.js';
import { decodeContextFrom } from '../src/decode/context.js';
import { ephemeralSigning, SIM_NAMESPACES } from '../src/sim/config.js';
import { listening } from '../src/util/net.js';
import { benchBroker } from './consumers.js';
import { machine, percentile, saveResults } from './stats.js';

const FREEZES = Number(process.env.BENCH_FREEZES ?? 1000);
const CALLS = Number(process.env.BENCH_CALLS ?? 20_000);
const say = (s: string) => process.stdout.write(`${s}\n`);

/** Latency of `calls` sequential calls, in microseconds, after a warm-up of a tenth as many. */
async function timed(calls: number, call: (i: number) => Promise<unknown> | unknown): Promise<number[]> {
  for (let i = 0; i < calls / 10; i++) await call(i);
  const out: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = process.hrtime.bigint();
    await call(i);
    out.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  return out;
}

function httpsPost(agent: Agent, port: number, ca: Buffer, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/validate', method: 'POST', agent, ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const { kafka, admin } = await benchBroker('gate', logLevel.NOTHING);
  teardown.add('the admin client', () => admin.disconnect());
  const topic = `control.gate-bench-${Date.now()}`;
  await admin.createTopics({ topics: [{ topic, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }], waitForLeaders: true });
  const keys = ephemeralSigning();
  const producer = kafka.producer();
  await producer.connect();
  teardown.add('the producer', () => producer.disconnect());
  const now = Date.now();
  const principal = (k: number) => `system:serviceaccount:prod-app:svc-${k}`;
  await new ControlPublisher(producer, topic, loadSigner(keys.signing)).publish(Array.from({ length: FREEZES }, (_, k) => {
    const scope = { environment: 'production', principal: principal(k) };
    const c = { scopeKey: scopeKey(scope), scope, alertId: `alert-${k}`, reason: 'bench', createdAt: now, expiresAt: now + 3_600_000, issuedBy: 'auditwatch' };
    return { op: 'freeze' as const, scopeKey: c.scopeKey, seq: 1, freeze: c, at: now, by: 'auditwatch' };
  }));
  const gate = new WriteGate(kafka, topic, { keys: loadKeyRing(keys.trustedKeys) });
  teardown.add('the write gate', () => gate.stop());
  await gate.start();
  if (gate.active().length !== FREEZES) throw new Error(`the gate holds ${gate.active().length} of ${FREEZES} freezes`);

  // Half the checks hit a frozen principal, half a free one: both answers are on the path.
  const who = (i: number) => (i % 2 ? principal(i % FREEZES) : `system:serviceaccount:prod-app:free-${i}`);
  const inProcess = await timed(CALLS * 10, (i) => gate.check('production', who(i), 'k8s:deployments'));

  const gateServer = await startGateServer(gate, { host: '127.0.0.1', port: 0 });
  teardown.add('the gate server', () => gateServer.stop());
  const bare = await listening(createHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"allowed":true}')), '127.0.0.1', 0);
  teardown.add('the bare HTTP server', () => bare.stop());
  const get = async (url: string) => (await (await fetch(url)).arrayBuffer()).byteLength;
  const httpBaseline = await timed(CALLS, () => get(`http://127.0.0.1:${bare.port}/v1/check?environment=production&principal=x&resourceType=k8s:deployments`));
  const http = await timed(CALLS, (i) => get(`http://127.0.0.1:${gateServer.port}/v1/check?environment=production&principal=${encodeURIComponent(who(i))}&resourceType=k8s:deployments`));

  const dir = mkdtempSync(join(tmpdir(), 'aw-gate-bench-'));
  teardown.removeOnExit(dir);
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=bench', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl: ${made.stderr}`);
  const ca = readFileSync(certFile);
  const config = validateConfig({ environments: { kubernetesNamespaces: SIM_NAMESPACES } }, {});
  const webhook = await startAdmissionServer({ host: '127.0.0.1', port: 0, certFile, keyFile, check: (e, p, t) => gate.check(e, p, t), ready: () => gate.ready, ctx: decodeContextFrom(config) });
  teardown.add('the admission webhook', () => webhook.stop());
  const bareTls = await listening(createHttpsServer({ cert: ca, key: readFileSync(keyFile) }, (req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u","allowed":true}}'));
  }), '127.0.0.1', 0);
  teardown.add('the bare HTTPS server', () => bareTls.stop());
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const review = (i: number) => JSON.stringify({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: { uid: `u-${i}`, operation: 'DELETE', resource: { group: 'apps', version: 'v1', resource: 'deployments' }, name: 'web', namespace: 'prod-app', userInfo: { username: who(i), groups: ['system:serviceaccounts'] } },
  });
  const httpsBaseline = await timed(CALLS, (i) => httpsPost(agent, bareTls.port, ca, review(i)));
  const admission = await timed(CALLS, (i) => httpsPost(agent, webhook.port, ca, review(i)));
  agent.destroy();

  const summary: Record<string, { p50: number; p99: number }> = {};
  const row = (label: string, v: number[], base?: number[]) => {
    const [p50, p99] = [percentile(v, 50), percentile(v, 99)];
    summary[label] = { p50: +p50.toFixed(1), p99: +p99.toFixed(1) };
    const ratio = base ? `${(p50 / percentile(base, 50)).toFixed(2)}x / ${(p99 / percentile(base, 99)).toFixed(2)}x` : '';
    say(`| ${label} | ${p50.toFixed(1)} | ${p99.toFixed(1)} | ${ratio} |`);
  };
  const m = machine();
  say(`write gate answers, ${FREEZES} freezes in force (${m.cores} cores, ${m.cpu}, ${m.node})`);
  say('| check | p50 µs | p99 µs | p50 / p99 vs baseline |');
  say('|---|---|---|---|');
  row('(a) WriteGate.check in process', inProcess);
  row('bare node:http server, same client (baseline for b)', httpBaseline);
  row('(b) auditwatch gate, GET /v1/check', http, httpBaseline);
  row('bare node:https server, same client (baseline for c)', httpsBaseline);
  row('(c) admission webhook, POST /validate', admission, httpsBaseline);
  say(`written to ${saveResults('gate', { freezes: FREEZES, calls: CALLS, microseconds: summary })}`);
}

try {
  await main();
} finally {
  await teardown.run();
}
