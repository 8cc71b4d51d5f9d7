import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import type { Alert } from '../../src/alerts/alert.js';
import { validateConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { AlertDelivery, undeliveredTopic } from '../../src/sinks/delivery.js';
import { verifyWebhook } from '../../src/sinks/http/standard-webhooks.js';
import { KafkaAlertSink } from '../../src/sinks/kafka.js';
import { buildOutputs } from '../../src/sinks/outputs/index.js';
import { startLocalAlertmanager, type LocalAlertmanager } from '../helpers/alertmanager.js';
import { startLocalRsyslog } from '../helpers/rsyslog.js';
import { collect, fresh, inputProducer, testKafka, waitFor } from '../helpers/kafka.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { simulateElbIncident } from '../../src/sim/cloudtrail-sim.js';
import { JANITOR_ARN, produceCloudTrail, runNames, writeRunConfig } from '../helpers/elb-run.js';
import { brokers } from '../helpers/kafka.js';
import { ocsfProblems } from '../helpers/ocsf.js';
import { freePort, startAuditwatch } from '../helpers/run-process.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** A webhook receiver that verifies every request as a Standard Webhooks library would, and answers `status()`. */
async function receiver(port: number, status: () => number = () => 200) {
  const got: Array<{ id: string; verified: boolean; body: { data: Alert } }> = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const code = status();
      if (code === 200) got.push({ id: String(req.headers['webhook-id']), verified: verifyWebhook(SECRET, req.headers, body), body: JSON.parse(body) });
      res.writeHead(code).end();
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return { got, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

function alert(id: string, revision: number, severity: Alert['severity'], detectedAt = Date.now()): Alert {
  return {
    id, revision, principal: 'arn:aws:iam::111111111111:role/elb-janitor', principalKind: 'service', environment: 'production',
    resourceType: 'elasticloadbalancing:loadbalancer', severity, score: 3, detector: 'bulk-delete', reason: `revision ${revision}`,
    firstEventTime: detectedAt - 1000, detectedAt, triggerEventId: `e-${revision}`, eventCount: revision + 1, objectCount: revision + 1,
    action: 'freeze', context: ['production is a critical environment'], contextScore: 4, windows: [{ windowMs: 60_000, observed: 40, baseline: 2, threshold: 10, unit: 'objects' }], closed: false,
  };
}

describe('alert outputs delivered from the alerts topic, to a real Alertmanager and a signed webhook', () => {
  const kafka = testKafka();
  const log = createLogger('silent');
  let am: LocalAlertmanager;
  let producer: Producer;
  beforeAll(async () => {
    am = await startLocalAlertmanager();
    producer = inputProducer(kafka);
    await producer.connect();
  }, 60_000);
  afterAll(async () => {
    await producer?.disconnect();
    await am?.stop();
  });

  async function setup(webhookPort: number, extra: Record<string, unknown> = {}, outputs?: object[], env: Record<string, string> = {}) {
    const topic = fresh('alerts');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic }, { topic: undeliveredTopic(topic) }], waitForLeaders: true });
    await admin.disconnect();
    const config = validateConfig({ alerts: { sinks: [
      { type: 'kafka', topic },
      ...(outputs ?? [
        { type: 'webhook', url: `http://127.0.0.1:${webhookPort}/hook`, secretEnv: 'HOOK', minSeverity: 'warning', backoff: '100ms', ...extra },
        { type: 'alertmanager', url: am.url },
      ]),
    ] } }, {});
    const metrics = new Metrics();
    const group = fresh('aw');
    const built = buildOutputs(config, { HOOK: SECRET, ...env });
    const delivery = new AlertDelivery(kafka, topic, group, built, producer, metrics, log);
    await delivery.start();
    return { topic, group, outputs: built, delivery, metrics, sink: new KafkaAlertSink(producer, topic) };
  }

  it('each revision reaches Alertmanager and the webhook once, signed, with the same alert id; info stays below minSeverity', async () => {
    const port = await freePort();
    const hook = await receiver(port);
    const { delivery, sink, metrics } = await setup(port);
    try {
      await sink.publish([alert('alert-a', 0, 'warning'), alert('alert-a', 1, 'critical'), alert('alert-b', 0, 'info')]);
      await waitFor('two webhook deliveries', () => hook.got.length >= 2);
      await waitFor('the alert in Alertmanager', async () => (await am.alerts()).some((a) => a.labels.alert_id === 'alert-a' && a.labels.severity === 'critical'));
      expect(hook.got.map((g) => g.id)).toEqual(['alert-a.0', 'alert-a.1']);
      expect(hook.got.every((g) => g.verified)).toBe(true);
      expect(hook.got[1]!.body.data).toMatchObject({ id: 'alert-a', revision: 1, severity: 'critical' });
      // Severity is a label (Alertmanager routes by it): the revision that turned critical is its own alert there.
      const inAm = (await am.alerts()).find((a) => a.labels.alert_id === 'alert-a' && a.labels.severity === 'critical')!;
      expect(inAm.labels).toMatchObject({ alertname: 'AuditwatchIncident', detector: 'bulk-delete', environment: 'production', resource_type: 'elasticloadbalancing:loadbalancer' });
      expect(inAm.annotations.description).toBe('revision 1');
      expect(inAm.status.state).toBe('active');
      // Below the webhook's minSeverity: counted as skipped, never sent; Alertmanager (minSeverity warning too) likewise.
      await waitFor('the info alert counted as skipped', async () => (await metrics.registry.getSingleMetricAsString('auditwatch_output_deliveries_total')).includes('outcome="skipped"} 1'));
      expect((await am.alerts()).some((a) => a.labels.alert_id === 'alert-b')).toBe(false);
      // The incident closes: its last revision resolves it in Alertmanager at once, not incidentGap later.
      await sink.publish([{ ...alert('alert-a', 2, 'critical', Date.now()), closed: true }]);
      await waitFor('the incident resolved in Alertmanager', async () => !(await am.alerts()).some((a) => a.labels.alert_id === 'alert-a' && a.labels.severity === 'critical' && a.status.state === 'active'), 30_000);
      await waitFor('the closing revision at the webhook', () => hook.got.some((g) => g.id === 'alert-a.2' && g.body.data.closed === true));
    } finally {
      await delivery.stop();
      await hook.close();
    }
  }, 60_000);

  it('an endpoint killed mid-incident and brought back gets every revision exactly once, by webhook-id', async () => {
    const port = await freePort();
    let hook = await receiver(port);
    const { delivery, sink } = await setup(port, { retries: 20 });
    try {
      await sink.publish([alert('alert-c', 0, 'critical')]);
      await waitFor('the first revision', () => hook.got.length === 1);
      const before = hook.got;
      await hook.close();
      await sink.publish([1, 2, 3].map((r) => alert('alert-c', r, 'critical')));
      await new Promise((r) => setTimeout(r, 1500));
      hook = await receiver(port);
      await waitFor('the three revisions written while it was down', () => hook.got.length >= 3, 30_000);
      await new Promise((r) => setTimeout(r, 500));
      const ids = [...before, ...hook.got].map((g) => g.id);
      expect(ids).toEqual(['alert-c.0', 'alert-c.1', 'alert-c.2', 'alert-c.3']);
    } finally {
      await delivery.stop();
      await hook.close();
    }
  }, 60_000);

  it('through `auditwatch run`: an ELB-style incident reaches Alertmanager, rsyslog, the signed webhook and OCSF (webhook and file, every record valid) with the same alert id; its freeze and lift arrive as Remediation Activities', async () => {
    const rsyslog = await startLocalRsyslog();
    const port = await freePort();
    const hook = await receiver(port);
    const ocsfPort = await freePort();
    const ocsfHook = await receiver(ocsfPort);
    const names = runNames('deliver');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: names.input, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const metricsPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'aw-deliver-'));
    const ocsfFile = join(dir, 'ocsf.ndjson');
    const configPath = writeRunConfig(dir, names, {
      brokers: brokers(), port: metricsPort,
      outputs: [
        { type: 'alertmanager', url: am.url },
        { type: 'syslog', host: '127.0.0.1', port: rsyslog.port, minSeverity: 'critical' },
        { type: 'webhook', url: `http://127.0.0.1:${port}/hook`, secretEnv: 'HOOK', minSeverity: 'critical' },
        { type: 'webhook', name: 'siem', format: 'ocsf', url: `http://127.0.0.1:${ocsfPort}/ocsf`, secretEnv: 'HOOK', minSeverity: 'critical' },
        { type: 'ndjson', path: ocsfFile, format: 'ocsf' },
      ],
    });
    const aw = startAuditwatch(['--config', configPath, '--model-dir', join(PROJECT_ROOT, 'models')], metricsPort, { HOOK: SECRET });
    let exited = false;
    try {
      await aw.waitForLog(/delivering alerts/, 0, 60_000);
      await aw.waitForLog(/delivering remediations/, 0, 60_000);
      await aw.waitForLog(/consuming/, 0, 60_000);
      await produceCloudTrail(producer, names.input, simulateElbIncident({ seed: 5, at: Date.now(), loadBalancers: 40, callsPerSecond: 20 }));
      const critical = await waitFor('a critical alert at the webhook', () => hook.got.find((g) => g.body.data.principal === JANITOR_ARN && g.body.data.severity === 'critical'), 60_000);
      expect(critical.verified).toBe(true);
      const id = critical.body.data.id;
      await waitFor('the same alert in Alertmanager', async () => (await am.alerts()).some((a) => a.labels.alert_id === id && a.labels.severity === 'critical'), 30_000);
      // Every revision the webhook took, once each; and the same revisions, once each, as RFC 5424 lines in rsyslog's file.
      const ids = hook.got.map((g) => g.id);
      expect(new Set(ids).size).toBe(ids.length);
      const syslogIds = () => rsyslog.lines().map((l) => /alertId="([^"]+)" revision="(\d+)"/.exec(l)).filter((m) => m !== null).map((m) => `${m![1]}.${m![2]}`);
      await waitFor('the webhook\'s revisions in rsyslog\'s file', () => ids.every((i) => syslogIds().includes(i)), 30_000);
      expect(new Set(syslogIds()).size).toBe(syslogIds().length);
      expect(await aw.metric(/^auditwatch_output_deliveries_total\{output="webhook",outcome="delivered"\}/)).toBeGreaterThanOrEqual(1);

      // OCSF: the same revisions as Detection Findings, signed the same way, and the freeze as a Remediation Activity.
      const ocsf = () => ocsfHook.got.map((g) => ({ id: g.id, verified: g.verified, record: g.body as unknown as Record<string, any> }));
      await waitFor('the freeze at the OCSF webhook', () => ocsf().some((g) => g.record.class_uid === 7001 && g.record.metadata.correlation_uid === id), 30_000);
      await waitFor('every critical revision at the OCSF webhook', () => hook.got.every((g) => ocsf().some((o) => o.id === g.id)), 30_000);
      const findings = ocsf().filter((g) => g.record.class_uid === 2004);
      expect(findings.find((g) => g.id === critical.id)!.record.finding_info.uid).toBe(id);
      expect(new Set(ocsf().map((g) => g.id)).size).toBe(ocsf().length);
      expect(ocsf().every((g) => g.verified)).toBe(true);
      expect(ocsf().flatMap((g) => ocsfProblems(g.record))).toEqual([]);

      // An operator lifts the freeze with the CLI: the lift reaches the OCSF webhook (from the audit topic) as Restore.
      const lifted = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'auditwatch.js'), 'unfreeze', '--environment', 'production', '--principal', JANITOR_ARN, '--operator', 'jane', '--config', configPath], { encoding: 'utf8', env: { ...process.env, KAFKA_BROKERS: '' } });
      expect(lifted.stderr).toBe('');
      expect(lifted.status).toBe(0);
      const restore = await waitFor('the lift at the OCSF webhook', () => ocsf().find((g) => g.record.class_uid === 7001 && g.record.activity_id === 3 && g.record.unmapped.auditwatch_action === 'Unfreeze'), 30_000);
      expect(restore.record).toMatchObject({ metadata: { correlation_uid: id }, actor: { user: { uid: 'jane' } } });
      expect(ocsfProblems(restore.record)).toEqual([]);

      aw.child.kill('SIGTERM');
      expect(await aw.exited).toBe(0);
      exited = true;
      // The file sink: every alert of the run as a valid Detection Finding, and this process's own freeze records.
      const lines = readFileSync(ocsfFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
      expect(lines.flatMap((r) => ocsfProblems(r))).toEqual([]);
      expect(lines.some((r) => r.class_uid === 2004 && r.finding_info.uid === id && r.severity_id === 5)).toBe(true);
      expect(lines.some((r) => r.class_uid === 7001 && r.activity_id === 1 && r.metadata.correlation_uid === id)).toBe(true);
    } finally {
      if (!exited) aw.child.kill('SIGTERM');
      await hook.close();
      await ocsfHook.close();
      await rsyslog.stop();
    }
  }, 150_000);

  it('Slack gets a blocks message with the freeze and a link; PagerDuty a trigger on the first revision and on the severity rise only', async () => {
    const got: Array<{ path: string; body: Record<string, any> }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        got.push({ path: req.url!, body: JSON.parse(body) });
        res.writeHead(req.url === '/pd' ? 202 : 200).end(req.url === '/pd' ? '{"status":"success"}' : 'ok');
      });
    });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    const { delivery, sink } = await setup(0, {}, [
      { type: 'slack', urlEnv: 'SLACK_URL', linkTemplate: 'https://console.example/alerts/{id}?env={environment}' },
      { type: 'pagerduty', routingKeyEnv: 'PD_KEY', url: `http://127.0.0.1:${port}/pd` },
    ], { SLACK_URL: `http://127.0.0.1:${port}/slack`, PD_KEY: 'R0UT1NGKEY' });
    try {
      await sink.publish([alert('alert-p', 0, 'warning'), alert('alert-p', 1, 'warning'), alert('alert-p', 2, 'critical')]);
      await waitFor('three Slack messages and two PagerDuty events', () => got.filter((g) => g.path === '/slack').length === 3 && got.filter((g) => g.path === '/pd').length === 2);
      // The incident closes: PagerDuty gets a resolve for the same dedup key, Slack a RESOLVED message.
      await sink.publish([{ ...alert('alert-p', 3, 'critical'), closed: true }]);
      await waitFor('the resolve', () => got.filter((g) => g.path === '/pd').length === 3);
      expect(got.filter((g) => g.path === '/pd').at(-1)!.body).toEqual({ routing_key: 'R0UT1NGKEY', event_action: 'resolve', dedup_key: 'alert-p' });
      await waitFor('the RESOLVED Slack message', () => got.filter((g) => g.path === '/slack').length === 4);
      expect(got.filter((g) => g.path === '/slack').at(-1)!.body.text).toMatch(/^RESOLVED CRITICAL bulk-delete/);
      const slack = got.filter((g) => g.path === '/slack')[2]!.body;
      expect(slack.text).toMatch(/CRITICAL bulk-delete: arn:aws:iam::111111111111:role\/elb-janitor in production/);
      expect(slack.blocks.map((b: { type: string }) => b.type)).toEqual(['header', 'section', 'section', 'context', 'context', 'actions']);
      expect(JSON.stringify(slack.blocks[1])).toContain('*frozen*');
      expect(slack.blocks[5].elements[0].url).toBe('https://console.example/alerts/alert-p?env=production');
      const pd = got.filter((g) => g.path === '/pd').slice(0, 2).map((g) => g.body);
      expect(pd.map((e) => [e.event_action, e.dedup_key, e.payload.severity])).toEqual([['trigger', 'alert-p', 'warning'], ['trigger', 'alert-p', 'critical']]);
      expect(pd[1]).toMatchObject({ routing_key: 'R0UT1NGKEY', payload: { source: 'auditwatch', component: 'elasticloadbalancing:loadbalancer', group: 'production', class: 'bulk-delete' } });
    } finally {
      await delivery.stop();
      server.close();
    }
  }, 60_000);

  it('syslog: each revision is one RFC 5424 line in rsyslog\'s file, the alert in structured data; CEF when asked', async () => {
    const rsyslog = await startLocalRsyslog();
    const { delivery, sink } = await setup(0, {}, [
      { type: 'syslog', host: '127.0.0.1', port: rsyslog.port },
      { type: 'syslog', name: 'siem', host: '127.0.0.1', port: rsyslog.port, format: 'cef', facility: 'local4' },
    ]);
    try {
      await sink.publish([alert('alert-s', 0, 'warning'), alert('alert-s', 1, 'critical')]);
      await waitFor('four lines in rsyslog\'s file', () => rsyslog.lines().length >= 4);
      const lines = rsyslog.lines();
      const plain = lines.filter((l) => !l.includes('CEF:0'));
      // authpriv (10) × 8 + warning (4) = 84; + critical (2) = 82.
      expect(plain.map((l) => l.slice(0, 5))).toEqual(['<84>1', '<82>1']);
      expect(plain[1]).toMatch(/^<82>1 \S+ \S+ auditwatch \d+ bulk-delete \[auditwatch@32473 alertId="alert-s" revision="1" severity="critical" detector="bulk-delete" environment="production" principal="arn:aws:iam::111111111111:role\/elb-janitor" resourceType="elasticloadbalancing:loadbalancer" action="freeze"\] revision 1$/);
      const cef = lines.filter((l) => l.includes('CEF:0'));
      expect(cef).toHaveLength(2);
      // local4 (20) × 8 + critical (2) = 162; CEF severity 10 for critical.
      expect(cef[1]).toMatch(/^<162>1 .* CEF:0\|auditwatch\|auditwatch\|[\d.]+\|bulk-delete\|critical bulk-delete on elasticloadbalancing:loadbalancer in production\|10\|rt=\d+ suser=arn:aws:iam::111111111111:role\/elb-janitor /);
      expect(cef[1]).toContain('cs3Label=alertId cs3=alert-s');
    } finally {
      await delivery.stop();
      await rsyslog.stop();
    }
  }, 60_000);

  it('syslog over TLS: verified against the CA it names, delivered to rsyslog\'s TLS input; a server it cannot verify gets nothing and the alert is parked with the reason', async () => {
    const rsyslog = await startLocalRsyslog({ tls: true });
    const { topic, delivery, sink } = await setup(0, {}, [
      { type: 'syslog', host: '127.0.0.1', port: rsyslog.port, tls: { caFile: rsyslog.caFile } },
      // The same server, trusted only through Node's public CAs: its test CA is not among them.
      { type: 'syslog', name: 'untrusted', host: '127.0.0.1', port: rsyslog.port, tls: {}, retries: 1, backoff: '50ms' },
    ]);
    const undelivered = await collect(kafka, undeliveredTopic(topic));
    try {
      await sink.publish([alert('alert-t', 0, 'critical')]);
      await waitFor('the line in rsyslog\'s file', () => rsyslog.lines().length >= 1);
      expect(rsyslog.lines()[0]).toMatch(/^<82>1 .* \[auditwatch@32473 alertId="alert-t" revision="0"/);
      const parked = await waitFor('the untrusted output\'s alert parked', () => undelivered.messages[0], 30_000);
      expect(parked.headers!['auditwatch-output']!.toString()).toBe('untrusted');
      expect(parked.headers!['auditwatch-reason']!.toString()).toMatch(/certificate/);
      expect(rsyslog.lines()).toHaveLength(1);
    } finally {
      await undelivered.stop();
      await delivery.stop();
      await rsyslog.stop();
    }
  }, 60_000);

  it('an endpoint that refuses every attempt: the alert goes to <topic>.undelivered with the reason, and delivery goes on', async () => {
    const port = await freePort();
    let refuse = true;
    const hook = await receiver(port, () => (refuse ? 503 : 200));
    const { topic, delivery, sink } = await setup(port, { retries: 2 });
    const undelivered = await collect(kafka, undeliveredTopic(topic));
    try {
      await sink.publish([alert('alert-d', 0, 'critical')]);
      const m = await waitFor('the undelivered alert', () => undelivered.messages[0], 30_000);
      expect(m.key!.toString()).toBe('alert-d');
      expect(m.headers!['auditwatch-output']!.toString()).toBe('webhook');
      expect(m.headers!['auditwatch-reason']!.toString()).toMatch(/HTTP 503 after 3 attempts/);
      refuse = false;
      await sink.publish([alert('alert-e', 0, 'critical')]);
      await waitFor('the next alert, delivered', () => hook.got.some((g) => g.id === 'alert-e.0'));
    } finally {
      await undelivered.stop();
      await delivery.stop();
      await hook.close();
    }
  }, 60_000);

  it('stopping while an endpoint refuses does not wait out the retries; the alert is neither parked nor committed, and the next start delivers it', async () => {
    const port = await freePort();
    let refuse = true;
    const hook = await receiver(port, () => (refuse ? 503 : 200));
    // 100 retries up to 30 s apart: waiting them out would take far longer than this test may run.
    const { topic, group, outputs, delivery, sink, metrics } = await setup(port, { retries: 100, backoff: '30s' });
    const undelivered = await collect(kafka, undeliveredTopic(topic));
    let next: AlertDelivery | undefined;
    try {
      await sink.publish([alert('alert-f', 0, 'critical')]);
      await waitFor('a refused attempt', async () => (await metrics.registry.getSingleMetricAsString('auditwatch_output_retries_total')).includes('output="webhook"} 1'));
      await delivery.stop();
      refuse = false;
      next = new AlertDelivery(kafka, topic, group, outputs, producer, new Metrics(), log);
      await next.start();
      await waitFor('the alert, delivered after the restart', () => hook.got.some((g) => g.id === 'alert-f.0'), 30_000);
      expect(undelivered.messages).toHaveLength(0);
    } finally {
      await next?.stop();
      await undelivered.stop();
      await delivery.stop();
      await hook.close();
    }
  }, 60_000);
});
