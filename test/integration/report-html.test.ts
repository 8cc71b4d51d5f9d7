import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import type { IncidentReport } from '../../src/report/report.js';
import { simulateElbIncident, simulateNormalTraffic } from '../../src/sim/cloudtrail-sim.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT_DIR = join(PROJECT_ROOT, 'test-results');

describe('the incident report for a simulated ELB-style incident', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-report-'));
  const incidentAt = Date.parse('2026-01-07T14:00:00Z');
  const from = incidentAt - 2 * 3_600_000;
  const normal = simulateNormalTraffic({ seed: 21, from, to: incidentAt + 3_600_000 });
  const incident = simulateElbIncident({ seed: 21, at: incidentAt, loadBalancers: 120 });
  const lines = [...normal, ...incident].sort((a, b) => Date.parse(a.eventTime) - Date.parse(b.eventTime)).map((r) => JSON.stringify(r));
  const input = join(dir, 'window.ndjson');
  writeFileSync(input, `${lines.join('\n')}\n`);
  const json = join(dir, 'report.json');
  const html = join(dir, 'report.html');

  it('names the first destructive event, the restore point, what was deleted and what to re-apply', () => {
    const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'auditwatch.js'), 'report', '--input', input, '--format', 'cloudtrail', '--config', join(PROJECT_ROOT, 'config', 'simulation.yaml'), '--out', json, '--html', html], { encoding: 'utf8', env: { ...process.env, KAFKA_BROKERS: '' } });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as IncidentReport;
    const inc = report.incident!;
    const firstDelete = incident.find((x) => String(x.eventName).startsWith('Delete'))!;
    expect(inc.alert.principal).toBe('arn:aws:iam::111111111111:role/elb-janitor');
    expect(inc.firstDestructiveEvent.id).toBe(firstDelete.eventID);
    expect(inc.firstDestructiveEvent.position.offset).toBe(String(lines.findIndex((l) => l.includes(firstDelete.eventID)) + 1)); // line number
    expect(inc.restorePoint.epochMs).toBe(Date.parse(firstDelete.eventTime) - 1);
    expect(inc.restorePoint.offsets).toEqual([{ topic: input, partition: 0, lastOffsetBefore: String(Number(inc.firstDestructiveEvent.position.offset) - 1), firstOffsetFrom: inc.firstDestructiveEvent.position.offset }]);
    expect(inc.deleted).toHaveLength(240);
    // Everything others changed in production after the restore point, and nothing of the janitor's or of staging.
    const expected = normal.filter((x) => Date.parse(x.eventTime) >= Date.parse(firstDelete.eventTime) && x.recipientAccountId === '111111111111' && !x.readOnly && !x.errorCode);
    expect(inc.reapply.map((c) => c.id).sort()).toEqual(expected.map((x) => x.eventID).sort());
    expect(report.timeline.counts.flat().some((n) => n > 0)).toBe(true);
    expect(report.timeline.score.some((s) => s >= 2)).toBe(true);
  });

  it.skipIf(!existsSync(CHROMIUM))('opens in headless Chromium from a file, with data in the charts and the restore point shown', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
      const requests: string[] = [];
      page.on('request', (req) => requests.push(req.url()));
      await page.goto(`file://${html}`);
      expect(requests.every((u) => u.startsWith('file://'))).toBe(true); // self-contained
      const eventsPoints = Number(await page.getAttribute('svg[data-chart="events"]', 'data-points'));
      const scorePoints = Number(await page.getAttribute('svg[data-chart="score"]', 'data-points'));
      expect(eventsPoints).toBeGreaterThan(50);
      expect(scorePoints).toBeGreaterThan(0);
      expect(await page.locator('svg[data-chart="events"] polyline[data-series="delete"]').count()).toBe(1);
      expect(await page.locator('#events-restore-marker').count()).toBe(1);
      expect(await page.locator('#score-restore-marker').count()).toBe(1);
      const report = JSON.parse(readFileSync(json, 'utf8')) as IncidentReport;
      await expect.poll(() => page.textContent('#restore-point h2')).toContain(report.incident!.restorePoint.time);
      expect(await page.locator('#restore-point').isVisible()).toBe(true);
      expect(Number(await page.getAttribute('#deleted', 'data-rows'))).toBe(240);
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      const shot = join(SCREENSHOT_DIR, 'incident-report.png');
      await page.screenshot({ path: shot, fullPage: false });
      expect(existsSync(shot)).toBe(true);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
