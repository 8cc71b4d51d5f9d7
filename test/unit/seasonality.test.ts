import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModel } from '../../src/baseline/model.js';
import { loadConfig } from '../../src/config/load.js';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { createLogger } from '../../src/log.js';
import { detectOverWindow } from '../../src/pipeline/window.js';
import { SIM_ACCOUNTS, SNAPSHOT_CLEANUP } from '../../src/sim/cloudtrail-sim.js';
import { MemorySource } from '../../src/sources/memory.js';

/** `n` DeleteSnapshot calls by the nightly cleanup role in staging, 40 a second, from `start`. */
function cleanupRun(start: number, n: number): string[] {
  const acct = SIM_ACCOUNTS.staging;
  return Array.from({ length: n }, (_, i) => JSON.stringify({
    eventVersion: '1.08', eventID: `season-${start}-${i}`, eventTime: new Date(start + i * 25).toISOString(), eventSource: 'ec2.amazonaws.com',
    eventName: 'DeleteSnapshot', recipientAccountId: acct, requestParameters: { snapshotId: `snap-${i}` },
    userIdentity: { type: 'AssumedRole', arn: `arn:aws:sts::${acct}:assumed-role/${SNAPSHOT_CLEANUP}/s`, sessionContext: { sessionIssuer: { arn: `arn:aws:iam::${acct}:role/${SNAPSHOT_CLEANUP}`, userName: SNAPSHOT_CLEANUP } } },
  }));
}

describe('seasonal baselines', () => {
  const config = loadConfig(join(PROJECT_ROOT, 'config', 'simulation.yaml'), {});
  const model = readModel(join(PROJECT_ROOT, 'models'));
  const day = Date.parse('2026-01-07T00:00:00Z');

  it('the nightly cleanup is normal at 01:00 and not at noon', async () => {
    const log = createLogger('silent');
    const atOne = await detectOverWindow(config, model, new MemorySource(cleanupRun(day + 1 * 3_600_000 + 30_000, 2500), 'cloudtrail'), log);
    const atNoon = await detectOverWindow(config, model, new MemorySource(cleanupRun(day + 13 * 3_600_000, 2500), 'cloudtrail'), log);
    expect(atOne.alerts).toEqual([]);
    const noon = atNoon.alerts.filter((a) => a.detector === 'bulk-delete');
    expect(noon.length).toBeGreaterThan(0);
    expect(noon[0]!.reason).toMatch(/around 1[123]:00 UTC is 0 per/);
    expect(noon[0]!.severity).toBe('warning'); // staging is not a critical environment
  });
});
