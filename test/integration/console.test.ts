import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { FreezeAuditEntry } from '../../src/actions/freeze-audit.js';
import { controlKeys } from '../../src/actions/control-publisher.js';
import { WriteGate } from '../../src/actions/write-gate.js';
import { loadConfig } from '../../src/config/load.js';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { simulateElbIncident } from '../../src/sim/cloudtrail-sim.js';
import { JANITOR_ARN, produceCloudTrail, runNames, writeRunConfig } from '../helpers/elb-run.js';
import { brokers, collect, inputProducer, testKafka, waitFor } from '../helpers/kafka.js';
import { freePort, startAuditwatch, startCommand, type RunningAuditwatch } from '../helpers/run-process.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT_DIR = join(PROJECT_ROOT, 'test-results');
const ELB = 'elasticloadbalancing:loadbalancer';

describe.skipIf(!existsSync(CHROMIUM))('auditwatch console in a real browser, on a real broker', () => {
  const kafka = testKafka();
  const names = runNames('console');
  const dir = mkdtempSync(join(tmpdir(), 'aw-console-'));
  let producer: Producer;
  let run: RunningAuditwatch;
  let console_: RunningAuditwatch;
  let configPath: string;
  let consolePort: number;
  const children: RunningAuditwatch[] = [];

  beforeAll(async () => {
    producer = inputProducer(kafka);
    await producer.connect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: names.input, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const metricsPort = await freePort();
    // Approval mode: auditwatch proposes the freeze, an operator approves it in the console.
    const written = writeRunConfig(dir, names, { brokers: brokers(), port: metricsPort });
    const raw = parse(readFileSync(written, 'utf8')) as { freeze: { mode: string } };
    raw.freeze.mode = 'approval';
    configPath = join(dir, 'console.yaml');
    writeFileSync(configPath, stringify(raw));
    run = startAuditwatch(['--config', configPath, '--model-dir', join(PROJECT_ROOT, 'models')], metricsPort);
    children.push(run);
    await run.waitForLog(/consuming/, 0, 60_000);
    consolePort = await freePort();
    console_ = startCommand(['console', '--config', configPath, '--port', String(consolePort), '--operator', 'jane']);
    children.push(console_);
    await console_.waitForLog(/console caught up/, 0, 60_000);
  }, 120_000);

  afterAll(async () => {
    for (const c of children) c.child.kill('SIGTERM');
    await Promise.all(children.map((c) => c.exited));
    await producer?.disconnect();
  });

  it('an ELB-style incident appears live; approving its proposal publishes a signed freeze a write gate enforces, and lifting it publishes the lift, both audited as the operator', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    const gate = new WriteGate(kafka, names.controlTopic, { keys: controlKeys(loadConfig(configPath, {})).keys });
    await gate.start();
    const audit = await collect(kafka, `audit-log.${names.run}`);
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`http://127.0.0.1:${consolePort}/`);
      expect(await page.textContent('#operator')).toBe('jane');
      expect(await page.locator(`tr[data-alert-id]`).count()).toBe(0);

      // The incident, produced to the real broker, appears without a reload.
      await produceCloudTrail(producer, names.input, simulateElbIncident({ seed: 5, at: Date.now(), loadBalancers: 40, callsPerSecond: 20 }));
      // One incident gives two critical bulk-delete alerts (load balancers, target groups) with one principal scope:
      // the first decided proposes the freeze, the other finds the scope held. Approve the alert the proposal names.
      const proposal = page.locator('#proposals tr[data-proposal]', { hasText: JANITOR_ARN }).first();
      await proposal.waitFor({ timeout: 60_000 });
      const alertId = (await proposal.getAttribute('data-proposal'))!;
      await page.locator(`#alerts tr[data-alert-id="${alertId}"]`, { hasText: JANITOR_ARN }).filter({ hasText: 'critical' }).waitFor({ timeout: 5000 });
      await page.locator(`button[data-approve="${alertId}"]`).waitFor({ timeout: 5000 });
      const bulkDeletes = page.locator('#alerts tr[data-alert-id]', { hasText: JANITOR_ARN }).filter({ hasText: 'bulk-delete' });
      await expect.poll(() => bulkDeletes.count(), { timeout: 30_000 }).toBe(2);
      expect(await page.locator('#proposals tr[data-proposal]').count()).toBe(1);
      // The other alert's row says freeze-proposed too; approving it names the proposal that holds its scope.
      const otherId = (await bulkDeletes.evaluateAll((rows, id) => rows.map((r) => r.getAttribute('data-alert-id')).find((x) => x !== id), alertId))!;
      const other = await page.evaluate(async (id) => {
        const csrf = document.querySelector<HTMLMetaElement>('meta[name="auditwatch-csrf"]')!.content;
        const res = await fetch('/api/approve', { method: 'POST', headers: { 'content-type': 'application/json', 'x-auditwatch-csrf': csrf }, body: JSON.stringify({ alertId: id }) });
        return { status: res.status, body: (await res.json()) as { error?: string } };
      }, otherId);
      expect(other.status).toBe(400);
      expect(other.body.error).toContain(`no freeze proposal for alert ${otherId}`);
      expect(other.body.error).toContain(`waiting for approval: ${alertId} (environment=production;principal=${JANITOR_ARN})`);
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOT_DIR, 'console-proposal.png') });
      // Filters: the alert is there at critical and gone for another environment.
      await page.goto(`http://127.0.0.1:${consolePort}/?severity=critical&environment=staging`);
      expect(await page.locator(`#alerts tr[data-alert-id="${alertId}"]`).count()).toBe(0);
      await page.goto(`http://127.0.0.1:${consolePort}/?severity=critical&principal=elb-janitor`);
      await page.locator(`#alerts tr[data-alert-id="${alertId}"]`).waitFor({ timeout: 5000 });

      expect(gate.check('production', JANITOR_ARN, ELB)).toBeNull();
      await page.locator(`button[data-approve="${alertId}"]`).click();
      await expect.poll(() => page.textContent('#status'), { timeout: 15_000 }).toMatch(/^frozen: environment=production;principal=.*approved by jane/);
      const frozen = await waitFor('the write gate to enforce the approved freeze', () => gate.check('production', JANITOR_ARN, ELB), 15_000);
      expect(frozen).toMatchObject({ alertId, issuedBy: 'jane' });
      await page.locator(`#freezes tr[data-freeze="${frozen.scopeKey}"]`).waitFor({ timeout: 5000 });
      expect(await page.locator(`#proposals tr[data-proposal="${alertId}"]`).count()).toBe(0);
      await page.screenshot({ path: join(SCREENSHOT_DIR, 'console-frozen.png') });

      await page.locator(`button[data-lift="${frozen.scopeKey}"]`).click();
      await expect.poll(() => page.textContent('#status'), { timeout: 15_000 }).toMatch(/^unfrozen: .*lifted by jane/);
      await waitFor('the write gate to let the janitor write again', () => gate.check('production', JANITOR_ARN, ELB) === null, 15_000);
      await page.locator(`#freezes tr[data-freeze]`).first().waitFor({ state: 'detached', timeout: 5000 });
      await page.screenshot({ path: join(SCREENSHOT_DIR, 'console-lifted.png') });

      // The same audit trail as the CLI: the approval and the lift, each by the operator.
      const entries = () => audit.messages.map((m) => JSON.parse(m.value!.toString()) as FreezeAuditEntry);
      await waitFor('the approval and the lift on the audit topic', () => entries().some((e) => e.action === 'Unfreeze'), 15_000);
      expect(entries().filter((e) => e.action === 'FreezeApproved' || e.action === 'Unfreeze').map((e) => [e.action, e.principal.id, e.freeze.alertId])).toEqual([['FreezeApproved', 'jane', alertId], ['Unfreeze', 'jane', alertId]]);

      // The incident's page: its revisions, and a report of its window replayed on demand.
      await page.goto(`http://127.0.0.1:${consolePort}/incident/${alertId}`);
      expect(await page.locator('#revisions tbody tr').count()).toBeGreaterThanOrEqual(1);
      await page.click('#report-link');
      await page.locator('#restore-point').waitFor({ timeout: 60_000 });
      expect(await page.textContent('#summary h2')).toContain(JANITOR_ARN);
      await page.screenshot({ path: join(SCREENSHOT_DIR, 'console-report.png') });
      // Nothing came from anywhere but the console itself.
      expect(requests.every((u) => u.startsWith(`http://127.0.0.1:${consolePort}/`))).toBe(true);

      // A write without the page's token (another site in the operator's browser) is refused.
      const forged = await fetch(`http://127.0.0.1:${consolePort}/api/lift`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://evil.example' }, body: JSON.stringify({ scopeKey: frozen.scopeKey }) });
      expect(forged.status).toBe(403);
      // A page that rebinds its own name to 127.0.0.1 is refused before anything: the Host names it, not loopback.
      const rebound = await new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port: consolePort, path: '/', headers: { host: `attacker.example:${consolePort}` } }, (res) => resolve(res.statusCode ?? 0)).on('error', reject).end();
      });
      expect(rebound).toBe(403);
    } finally {
      await audit.stop();
      await gate.stop();
      await browser.close();
    }
  }, 180_000);

  it('bad input: a missing topic and a non-loopback address without auth are one line and exit 2; an approval by an operator without a key is one clear message', async () => {
    const cli = (args: string[]) => spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'auditwatch.js'), 'console', '--config', configPath, ...args], { encoding: 'utf8', env: { ...process.env, KAFKA_BROKERS: '' }, timeout: 60_000 });
    const missing = cli(['--alerts-topic', 'no-such-topic', '--port', '0']);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim().split('\n').filter((l) => !l.startsWith('{'))).toEqual([expect.stringMatching(/^error: the alerts topic no-such-topic does not exist on /)]);
    const open = cli(['--host', '0.0.0.0', '--port', '0']);
    expect(open.status).toBe(2);
    expect(open.stderr.trim()).toBe('error: console.host 0.0.0.0 is not loopback: set console.auth (usernameEnv, passwordEnv) before serving the console beyond this machine');

    // A second console for an operator whose config has no signing key: it shows, and refuses to act, saying why.
    const raw = parse(readFileSync(configPath, 'utf8')) as { freeze: Record<string, unknown> };
    delete raw.freeze.signing;
    raw.freeze.mode = 'approval';
    const keyless = join(dir, 'keyless.yaml');
    writeFileSync(keyless, stringify(raw));
    const port = await freePort();
    const viewer = startCommand(['console', '--config', keyless, '--port', String(port), '--operator', 'sam']);
    children.push(viewer);
    await viewer.waitForLog(/console caught up/, 0, 60_000);
    const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    expect(page).toContain('no freeze.signing key: approving and lifting are refused');
    const csrf = /name="auditwatch-csrf" content="([0-9a-f]+)"/.exec(page)![1]!;
    const state = await (await fetch(`http://127.0.0.1:${port}/api/state`)).json() as { incidents: Array<{ id: string }> };
    const res = await fetch(`http://127.0.0.1:${port}/api/approve`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-auditwatch-csrf': csrf }, body: JSON.stringify({ alertId: state.incidents[0]?.id ?? 'none' }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'freeze.signing is not set: a freeze or a lift is signed with the operator\'s key (set freeze.signing in the config)' });
  }, 120_000);
});
