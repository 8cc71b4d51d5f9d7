import { describe, expect, it } from 'vitest';
import { BaselineLearner } from '../../src/baseline/learner.js';
import { populationKey } from '../../src/baseline/model.js';
import { validateConfig } from '../../src/config/load.js';
import { buildDetectors } from '../../src/detectors/index.js';
import type { AuditEvent } from '../../src/events/audit-event.js';

const WINDOWS = [10_000, 60_000, 600_000, 3_600_000];
const T = Date.parse('2026-04-01T12:00:00Z');
let n = 0;
const del = (principal: string, kind: AuditEvent['principal']['kind'], time: number): AuditEvent => ({
  id: `p${n++}`, time, principal: { id: principal, kind }, action: 'DeleteObject', verb: 'delete', resource: { type: 's3:object', id: 'k' },
  environment: 'production', source: 'test', outcome: 'success', changeTicket: null, objectCount: 1,
});

describe('peer groups for principals with no history', () => {
  // History: three services each delete 40 objects in a minute; four people delete 2 now and then.
  const learner = new BaselineLearner(WINDOWS, 0.95);
  for (const svc of ['svc-a', 'svc-b', 'svc-c']) for (let i = 0; i < 40; i++) learner.observe(del(svc, 'service', T - 86_400_000 + i * 1000));
  for (const who of ['ann', 'ben', 'cat', 'dan']) for (let i = 0; i < 2; i++) learner.observe(del(who, 'human', T - 86_400_000 + i * 1000));
  learner.observe(del('lone-bot', 'unknown', T - 86_400_000));
  const model = learner.model();

  it('learns a population per kind, but only for groups of at least three', () => {
    expect(model.population[populationKey('production', 's3:object', 'service')]?.entities).toBe(3);
    expect(model.population[populationKey('production', 's3:object', 'human')]?.entities).toBe(4);
    expect(model.population[populationKey('production', 's3:object', 'unknown')]).toBeUndefined();
    expect(model.population[populationKey('production', 's3:object')]?.entities).toBe(8);
  });

  it('a new service is held to services, a new person to people', () => {
    const config = validateConfig({ detectors: [{ type: 'bulk-delete', minObjects: 5 }] }, {});
    const [detector] = buildDetectors(config, model);
    // 30 deletes in a minute: ordinary for a service here, not for a person.
    const run = (principal: string, kind: AuditEvent['principal']['kind']) => {
      const findings = Array.from({ length: 30 }, (_, i) => detector!.observe(del(principal, kind, T + i * 1500))).filter(Boolean);
      return findings;
    };
    expect(run('svc-new', 'service')).toEqual([]);
    const person = run('eve', 'human');
    expect(person.length).toBeGreaterThan(0);
    expect(person[0]!.reason).toMatch(/other human principals' peak there is 2 per/);
  });
});
