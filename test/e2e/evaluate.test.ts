import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { emptyModel } from '../../src/baseline/model.js';
import { validateConfig } from '../../src/config/load.js';
import type { IncidentResult } from '../../src/cli/commands/evaluate.js';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { createLogger } from '../../src/log.js';
import { detectOverWindow } from '../../src/pipeline/window.js';
import { MemorySource } from '../../src/sources/memory.js';

describe('auditwatch evaluate', () => {
  it('on an unseen seed: every labelled incident is caught, the bulk ones within 5 s, with no false freeze', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'aw-eval-')), 'evaluation.json');
    const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'auditwatch.js'), 'evaluate', '--seeds', '29', '--out', out], { encoding: 'utf8', env: { ...process.env, KAFKA_BROKERS: '' } });
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(readFileSync(out, 'utf8')) as { rows: IncidentResult[]; falseFreezes: number; falseAlertsPerDay: number };
    const row = (kind: string) => result.rows.find((x) => x.kind === kind)!;
    for (const kind of ['maintenance-to-prod', 'stolen-credentials-bucket-wipe', 'leaked-ci-credential']) {
      expect(row(kind), kind).toMatchObject({ detected: true, severity: 'critical', frozen: true, withinTarget: true });
      expect(row(kind).delaySeconds!, kind).toBeLessThanOrEqual(5);
      expect(row(kind).delayDestructiveEvents!, kind).toBeLessThan(50);
    }
    expect(row('slow-drip')).toMatchObject({ detected: true, withinTarget: true });
    // Databases deleted one by one: caught through their criticality weight, a few deletes in (not yet at the first).
    expect(row('human-destroys-databases')).toMatchObject({ detected: true, severity: 'critical', frozen: true });
    expect(row('human-destroys-databases').delayDestructiveEvents!).toBeLessThanOrEqual(4);
    expect(row('slow-drip').delaySeconds!).toBeLessThanOrEqual(1800);
    expect(result.falseFreezes).toBe(0);
    expect(result.falseAlertsPerDay).toBeLessThanOrEqual(1);
    // Detection v2: a bulk download is found within a minute and, being a read, not frozen; destruction without a
    // Delete call (SSE-C rewrites, retention removed) is frozen at its first call; spread tear-downs are found.
    expect(row('exfiltration')).toMatchObject({ detected: true, frozen: false, freezeExpected: false, withinTarget: true });
    expect(row('exfiltration').delaySeconds!).toBeLessThanOrEqual(60);
    // A few dozen dumps of gigabytes each: under every object threshold, found by the bytes they read.
    expect(row('exfiltration-large-objects')).toMatchObject({ detected: true, frozen: false, freezeExpected: false, withinTarget: true });
    expect(row('exfiltration-large-objects').delaySeconds!).toBeLessThanOrEqual(60);
    for (const kind of ['ssec-ransomware', 'retention-removal']) expect(row(kind), kind).toMatchObject({ detected: true, severity: 'critical', frozen: true, delayDestructiveEvents: 1 });
    // Client-side encryption, each object read and written back over itself: counted from the reads before the writes.
    expect(row('overwrite-ransomware')).toMatchObject({ detected: true, severity: 'critical', frozen: true, withinTarget: true });
    for (const kind of ['spread-teardown', 'many-identities']) expect(row(kind), kind).toMatchObject({ detected: true, withinTarget: true, frozen: true });
    // The change-managed migration by a principal new to production: reported under its ticket, never frozen.
    expect((result as unknown as { migration: { frozen: number; infoAlerts: number } }).migration).toMatchObject({ frozen: 0 });
    expect((result as unknown as { migration: { infoAlerts: number } }).migration.infoAlerts).toBeGreaterThan(0);
  });
});

describe('an incident and its aftermath', () => {
  it('a delete 40 minutes after a wipe, still inside the 1 h window that holds it, updates the incident instead of opening a new one', async () => {
    const config = validateConfig({ alerts: { sinks: [] } }, {});
    const t = Date.parse('2026-05-05T10:00:00Z');
    const del = (id: string, time: number, objects = 1) => JSON.stringify({ id, time, principal: { id: 'alice', kind: 'human' }, action: 'DeleteObjects', verb: 'delete', resource: { type: 's3:object', id }, environment: 'production', objectCount: objects });
    const events = [del('wipe', t, 500), del('later', t + 40 * 60_000)];
    const { alerts } = await detectOverWindow(config, emptyModel([10_000, 60_000, 600_000, 3_600_000], 0.95), new MemorySource(events, 'canonical-json'), createLogger('silent'));
    const volume = alerts.filter((a: Alert) => a.detector === 'bulk-delete');
    expect(new Set(volume.map((a) => a.id)).size).toBe(1);
    expect(volume.at(-1)!.triggerEventId).toBe('later');
  });
});
