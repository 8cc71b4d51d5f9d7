import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { emptyModel } from '../../src/baseline/model.js';
import { validateConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { buildDetectionPipeline } from '../../src/pipeline/assemble.js';
import type { DeadLetter } from '../../src/sinks/dead-letter.js';
import type { SourceRecord } from '../../src/sources/source.js';

const WINDOWS = [10_000, 60_000, 600_000, 3_600_000];
const log = createLogger('silent');

function setup(extra: Record<string, unknown> = {}) {
  const config = validateConfig({ alerts: { sinks: [] }, ...extra }, {});
  const alerts: Alert[] = [];
  const metrics = new Metrics();
  const built = buildDetectionPipeline({ config, model: emptyModel(WINDOWS, 0.95), metrics, log, sinks: [{ name: 'c', publish: async (a) => void alerts.push(...a), close: async () => {} }] });
  const dead: DeadLetter[] = [];
  // Keep the pipeline's own dead-letter sink out of the way and look at what it was given.
  (built.pipeline as unknown as { parts: { deadLetter: { publish: (d: DeadLetter[]) => Promise<void> } } }).parts.deadLetter = { publish: async (d) => void dead.push(...d) };
  let offset = 0;
  const send = (events: object[]) => built.pipeline.handle(events.map((e): SourceRecord => ({ topic: 't', partition: 0, offset: String(offset++), key: null, value: Buffer.from(JSON.stringify(e)), format: 'canonical-json' })));
  return { ...built, alerts, dead, metrics, send };
}

const del = (id: string, time: number, principal = 'svc') => ({ id, time, principal: { id: principal, kind: 'service' }, action: 'Drop', verb: 'delete', resource: { type: 'db:table', id }, environment: 'production', objectCount: 1 });

describe('hostile input', () => {
  it('a redelivered event counts once: 15 deletes sent twice do not look like 30', async () => {
    const { send, alerts, metrics } = setup({ detectors: [{ type: 'bulk-delete', minObjects: 20 }] });
    const t = Date.now() - 60_000;
    const burst = Array.from({ length: 15 }, (_, i) => del(`d${i}`, t + i * 100));
    await send(burst);
    await send(burst);
    expect(alerts).toEqual([]);
    expect(await metrics.registry.getSingleMetricAsString('auditwatch_events_duplicate_total')).toMatch(/ 15$/m);
  });

  it('a far-future or pre-2000 event is dead-lettered with its reason and cannot blind its entity', async () => {
    const { send, alerts, dead } = setup();
    const now = Date.now();
    await send([del('future', now + 10 * 365 * 86_400_000), del('ancient', Date.parse('1970-01-02T00:00:00Z'))]);
    expect(dead.map((d) => d.error.message)).toEqual([
      expect.stringMatching(/event future: .* in the future/),
      expect.stringMatching(/event ancient: .* before 2000/),
    ]);
    // Had the future event reached the windows, these real deletes would look late and never alert.
    await send(Array.from({ length: 30 }, (_, i) => del(`real${i}`, now - 5000 + i * 100)));
    expect(alerts.some((a) => a.severity === 'critical')).toBe(true);
  });

  it('out-of-order events still add up in the windows', async () => {
    const { send, alerts } = setup();
    const t = Date.now() - 60_000;
    const burst = Array.from({ length: 25 }, (_, i) => del(`o${i}`, t + i * 200)).reverse();
    await send(burst);
    expect(alerts.some((a) => a.severity === 'critical')).toBe(true);
  });

  it('a flood of new principals does not grow the alert policy without bound', async () => {
    const p = setup();
    const policy = (p.pipeline as unknown as { parts: { processor: { policy: { incidents: Map<string, unknown> } } } }).parts.processor.policy;
    const t = Date.now() - 5 * 86_400_000;
    const bulk = (id: string, time: number, principal: string) => ({ ...del(id, time, principal), environment: 'staging', objectCount: 20 });
    // Novelty findings (each new principal destroying in production) are one-shot: alerted, never kept open.
    await p.send(Array.from({ length: 5000 }, (_, i) => del(`n${i}`, t + i, `new-${i}`)));
    expect(p.alerts.filter((a) => a.detector === 'context').length).toBe(5000);
    // Five thousand identities deleting one object each is itself spread destruction: one incident, the resource type
    // across every principal, however many principals there are.
    expect([...policy.incidents.keys()]).toEqual(['bulk-delete\u0002*\u0001production\u0001db:table']);
    // Volume incidents stay open for updates, and are dropped once they are days old: one per principal (each crosses
    // by itself, so the aggregate across them, no more severe, is not reported in its place), and the one above.
    await p.send(Array.from({ length: 12_000 }, (_, i) => bulk(`a${i}`, t + i, `flood-a-${i}`)));
    expect(policy.incidents.size).toBe(12_000 + 1);
    await p.send(Array.from({ length: 12_000 }, (_, i) => bulk(`b${i}`, t + 3 * 86_400_000 + i, `flood-b-${i}`)));
    expect(policy.incidents.size).toBeLessThan(14_000); // the first wave is gone
  });

  it('memory stays bounded: idle entities are dropped, and past maxEntities the oldest go', async () => {
    const stats = (p: ReturnType<typeof setup>) => (p.pipeline as unknown as { parts: { stats: () => { tracked: number; evicted: number } } }).parts.stats();
    const p = setup({ detectors: [{ type: 'bulk-delete', maxEntities: 1000 }] });
    const t = Date.now() - 3 * 3_600_000;
    await p.send(Array.from({ length: 1500 }, (_, i) => del(`m${i}`, t, `principal-${i}`)));
    expect(stats(p).tracked).toBeLessThanOrEqual(1000);
    expect(stats(p).evicted).toBeGreaterThanOrEqual(500);
    // Two hours later (past the 1 h window and the 10 min gap) every one of them is idle and goes at the next sweep:
    // what is left is the busy principal's entity and its type across principals (its across-types aggregate is not
    // kept while it destroys one type only).
    await p.send(Array.from({ length: 50_000 }, (_, i) => del(`n${i}`, t + 2 * 3_600_000 + i, 'one-busy-principal')));
    expect(stats(p).tracked).toBe(2);
  });
});
