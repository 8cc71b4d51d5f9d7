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
  const traffic = simulateNormalTraffic({ seed: 21, from, to: incidentAt + 3_600_000 });
  // An object written twice after the restore point: one row of the re-apply list, with its last write.
  const written = traffic.find((x) => x.eventName === 'PutObject' && x.recipientAccountId === '111111111111' && Date.parse(x.eventTime) > incidentAt)!;
  const rewritten: typeof written = { ...written, eventID: `${written.eventID}-again`, eventTime: new Date(Date.parse(written.eventTime) + 60_000).toISOString().replace('.000Z', 'Z') };
  const normal = [...traffic, rewritten];
  const incident = simulateElbIncident({ seed: 21, at: incidentAt, loadBalancers: 120 });
  const lines = [...normal, ...incident].sort((a, b) => Date.parse(a.eventTime) - Date.parse(b.eventTime)).map((r) => JSON.stringify(r));
  const input = join(dir, 'window.ndjson');
  writeFileSync(input, `${lines.join('\n')}\n`);
  const json = join(dir, 'report.json');
  const html = join(dir, 'report.html');
  const report0 = () => JSON.parse(readFileSync(json, 'utf8')) as IncidentReport;

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
    // Collapsed to one row per resource, whose last change is the last call on it.
    const resources = new Set(inc.reapply.map((c) => `${c.resourceType} ${c.resourceId}`));
    expect(inc.netChanges).toHaveLength(resources.size);
    expect(inc.netChanges.length).toBeLessThan(inc.reapply.length);
    // An S3 object is its bucket and key: the twice-written one is one row, and no other object is folded into it.
    const object = (written.requestParameters as { bucketName: string; key: string });
    expect(inc.netChanges.find((row) => row.resourceId === `${object.bucketName}/${object.key}`)).toMatchObject({ changes: 2, lastEventId: rewritten.eventID });
    for (const row of inc.netChanges) {
      const calls = inc.reapply.filter((c) => c.resourceType === row.resourceType && c.resourceId === row.resourceId);
      expect(row.changes).toBe(calls.length);
      expect(row.lastEventId).toBe(calls[calls.length - 1]!.id);
    }
    expect(inc.deletedByType).toEqual([
      expect.objectContaining({ resourceType: 'elasticloadbalancing:loadbalancer', calls: 120, objects: 120 }),
      expect.objectContaining({ resourceType: 'elasticloadbalancing:targetgroup', calls: 120, objects: 120 }),
    ]);
    // The incident's own chart spans a little before the restore point to a little after its last delete.
    expect(inc.timeline.start).toBeLessThan(inc.restorePoint.epochMs);
    expect(inc.timeline.start + inc.timeline.counts[0]!.length * inc.timeline.bucketMs).toBeGreaterThan(inc.lastDestructiveEvent.time);
    expect(inc.timeline.bucketMs).toBeLessThan(report.timeline.bucketMs);
    // The exports beside the page: the CSV holds exactly the JSON's rows.
    const exported = JSON.parse(readFileSync(join(dir, 'report.reapply.json'), 'utf8')) as Array<Record<string, unknown>>;
    expect(exported).toEqual(inc.netChanges);
    const csv = readFileSync(join(dir, 'report.reapply.csv'), 'utf8').trimEnd().split('\r\n');
    const header = csv[0]!.split(',');
    const parsed = csv.slice(1).map((line) => Object.fromEntries([...line.matchAll(/"((?:[^"]|"")*)"/g)].map((m, k) => [header[k]!, m[1]!.replace(/""/g, '"')])));
    expect(parsed).toEqual(exported.map((row) => Object.fromEntries(header.map((h) => [h, String(row[h])]))));
    expect(report.timeline.counts.flat().some((n) => n > 0)).toBe(true);
    expect(report.timeline.score.some((s) => s >= 2)).toBe(true);
  });

  it('a report for an alert id that is not in the window: one line naming it, exit 2', () => {
    const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'auditwatch.js'), 'report', '--input', input, '--format', 'cloudtrail', '--config', join(PROJECT_ROOT, 'config', 'simulation.yaml'), '--alert', 'alert-nope', '--out', join(dir, 'x.json')], { encoding: 'utf8', env: { ...process.env, KAFKA_BROKERS: '' } });
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('{'));
    expect(lines).toEqual([expect.stringMatching(/^error: no alert alert-nope in this window \(\d+ alerts raised: alert-/)]);
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
      // At a glance, without scrolling: when it started, what was deleted by type, and where to restore from.
      const viewport = page.viewportSize()!;
      for (const selector of ['#started', 'svg[data-chart="deleted-by-type"]', '#restore-point', 'svg[data-chart="incident"]']) {
        const box = (await page.locator(selector).boundingBox())!;
        expect({ selector, bottom: box.y + box.height <= viewport.height }).toEqual({ selector, bottom: true });
      }
      expect(await page.locator('svg[data-chart="deleted-by-type"] g.bar').count()).toBe(2);
      // Every chart has a title; its numbered marker badges and guide labels never overlap, and each badge is explained
      // in its legend.
      for (const name of ['incident', 'incident-score', 'events', 'score']) {
        expect(await page.locator(`svg[data-chart="${name}"] > title`).count()).toBe(1);
        const boxes = await page.locator(`svg[data-chart="${name}"] g.marker-label, svg[data-chart="${name}"] text.guide-label`).evaluateAll((els) => els.map((e) => {
          const r = e.getBoundingClientRect();
          return { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
        }));
        expect(boxes.length).toBeGreaterThanOrEqual(4);
        const overlaps = boxes.flatMap((a, i) => boxes.slice(i + 1).filter((b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom).map(() => i));
        expect({ name, overlaps }).toEqual({ name, overlaps: [] });
        expect(await page.locator(`ol.markers[data-chart="${name}"] li`).count()).toBe(await page.locator(`svg[data-chart="${name}"] g.marker-label`).count());
      }
      // Readable axes: more than two value ticks and more than three time ticks on the incident chart.
      expect(await page.locator('svg[data-chart="incident"] text').evaluateAll((els) => els.filter((e) => /^\d\d:\d\d(:\d\d)?$|^\d\d-\d\d /.test(e.textContent ?? '')).length)).toBeGreaterThan(3);
      // Grouped tables: a row per resource type, expandable to its calls; the re-apply list one row per resource.
      expect(await page.locator('#deleted details').count()).toBe(2);
      expect(await page.locator('#deleted details[data-type="elasticloadbalancing:loadbalancer"] tbody tr').count()).toBe(120);
      expect(await page.locator('#reapply tbody tr').count()).toBe(report0().incident!.netChanges.length);
      expect(await page.getAttribute('p.exports a:first-child', 'href')).toBe('report.reapply.csv');
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
      await page.screenshot({ path: join(SCREENSHOT_DIR, 'incident-report-full.png'), fullPage: true });
      const shot = join(SCREENSHOT_DIR, 'incident-report.png');
      await page.screenshot({ path: shot, fullPage: false });
      expect(existsSync(shot)).toBe(true);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
