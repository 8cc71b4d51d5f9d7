import { describe, expect, it } from 'vitest';
import { BaselineLearner } from '../../src/baseline/learner.js';
import { validateConfig } from '../../src/config/load.js';
import type { AuditEvent } from '../../src/events/audit-event.js';
import { buildDetectors } from '../../src/detectors/index.js';
import type { Detector, Reconfigurable } from '../../src/detectors/detector.js';
import type { BulkDeleteSpec } from '../../src/config/schema.js';

const WINDOWS = [10_000, 60_000, 600_000, 3_600_000];
let n = 0;
function ev(principal: string, action: string, verb: AuditEvent['verb'], type: string, environment = 'production', time = Date.parse('2026-04-01T12:00:00Z')): AuditEvent {
  return { id: `e${n++}`, time, principal: { id: principal, kind: 'human' }, action, verb, resource: { type, id: 'x' }, environment, source: 'test', outcome: 'success', changeTicket: null, objectCount: 1 };
}

describe('the context detector', () => {
  const learner = new BaselineLearner(WINDOWS, 0.95);
  // History: alice reads and deletes cache entries in production; ops-bot deletes DB snapshots there routinely.
  learner.observe(ev('alice', 'GetObject', 'read', 's3:object'));
  learner.observe(ev('alice', 'DeleteCacheCluster', 'delete', 'elasticache:cachecluster'));
  learner.observe(ev('ops-bot', 'DeleteDBSnapshot', 'delete', 'rds:dbsnapshot'));
  const config = validateConfig({}, {});
  const context = buildDetectors(config, learner.model()).find((d) => d.name === 'context')!;

  it('flags a disabled protection, critical in a critical environment', () => {
    const f = context.observe(ev('alice', 'StopLogging', 'update', 'cloudtrail:logging'));
    expect(f).toMatchObject({ severity: 'critical', detector: 'context' });
    expect(f!.reason).toMatch(/protection disabled: StopLogging/);
    expect(context.observe(ev('alice', 'DeleteTrail', 'delete', 'cloudtrail:trail', 'staging'))?.severity).toBe('warning');
  });

  it('flags the first delete of a critical type once, but not for a principal that does it routinely', () => {
    expect(context.observe(ev('alice', 'DeleteDBSnapshot', 'delete', 'rds:dbsnapshot'))?.reason).toMatch(/first DeleteDBSnapshot of rds:dbsnapshot \(criticality 5\)/);
    expect(context.observe(ev('alice', 'DeleteDBSnapshot', 'delete', 'rds:dbsnapshot'))).toBeNull();
    expect(context.observe(ev('ops-bot', 'DeleteDBSnapshot', 'delete', 'rds:dbsnapshot'))).toBeNull();
    expect(context.observe(ev('alice', 'DeleteCacheCluster', 'delete', 'elasticache:cachecluster'))).toBeNull();
  });

  it('flags a principal destroying in an environment it was never seen in, once per environment', () => {
    expect(context.observe(ev('newcomer', 'DeleteObject', 'delete', 's3:object'))?.reason).toMatch(/first destructive action by newcomer in production/);
    expect(context.observe(ev('newcomer', 'DeleteQueue', 'delete', 'sqs:queue'))).toBeNull();
    expect(context.observe(ev('newcomer', 'GetObject', 'read', 's3:object'))).toBeNull();
  });
});

describe('one criticality table for every detector', () => {
  it('a reload that changes the volume detector\'s criticality changes what the context detector calls critical', () => {
    const learner = new BaselineLearner(WINDOWS, 0.95);
    learner.observe(ev('carol', 'GetObject', 'read', 's3:object'));
    const config = validateConfig({}, {});
    const detectors = buildDetectors(config, learner.model());
    const volume = detectors.find((d) => d.name === 'bulk-delete') as Detector & Reconfigurable<BulkDeleteSpec>;
    const context = detectors.find((d) => d.name === 'context')!;
    expect(context.observe(ev('carol', 'DeleteDBSnapshot', 'delete', 'rds:dbsnapshot'))?.reason).toMatch(/criticality 5/);
    const spec = config.detectors[0] as BulkDeleteSpec;
    volume.reconfigure({ ...spec, criticality: { 'rds:*': 1 } }, config.environments.critical);
    // rds is no longer critical: carol's first delete of another rds type is not novelty-worthy any more.
    expect(context.observe(ev('carol', 'DeleteDBInstance', 'delete', 'rds:dbinstance'))).toBeNull();
  });
});
