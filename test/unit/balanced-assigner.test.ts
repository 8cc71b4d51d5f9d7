import { describe, expect, it } from 'vitest';
import { balance, type WeightedPartition } from '../../src/sources/kafka/balanced-assigner.js';

const parts = (topic: string, weights: number[]): WeightedPartition[] => weights.map((weight, partition) => ({ topic, partition, weight }));
const loadOf = (assignment: Record<string, number[]>, all: WeightedPartition[]) =>
  Object.entries(assignment).flatMap(([topic, ps]) => ps.map((p) => all.find((x) => x.topic === topic && x.partition === p)!.weight)).reduce((a, b) => a + b, 0);

describe('balanced partition assignment', () => {
  it('a hot partition is paired with the lightest, as close to half of the load as it goes', () => {
    // The bench's topic: one principal's partition carries 43% of the records.
    const all = parts('audit', [102, 429, 136, 101, 103, 130]);
    const plan = balance(['b', 'a'], all);
    expect(plan.get('a')).toEqual({ audit: [1, 3] });
    expect(plan.get('b')).toEqual({ audit: [0, 2, 4, 5] });
    // The best split there is (1001 in all); three partitions each, as by count, would leave 667 on one member.
    expect(Math.max(...[...plan.values()].map((a) => loadOf(a, all)))).toBe(530);
  });

  it('every partition once, deterministic, and by count when the weights are equal', () => {
    const all = [...parts('x', [1, 1, 1, 1, 1]), ...parts('y', [1, 1, 1])];
    const plan = balance(['m1', 'm2', 'm3'], all);
    expect(balance(['m3', 'm1', 'm2'], [...all].reverse())).toEqual(plan);
    const assigned = [...plan.values()].flatMap((a) => Object.entries(a).flatMap(([t, ps]) => ps.map((p) => `${t}/${p}`))).sort();
    expect(assigned).toEqual(all.map((p) => `${p.topic}/${p.partition}`).sort());
    expect([...plan.values()].map((a) => Object.values(a).flat().length).sort()).toEqual([2, 3, 3]);
  });

  it('more members than partitions: the extra members get nothing', () => {
    const plan = balance(['a', 'b', 'c'], parts('t', [5, 7]));
    expect([...plan.values()].filter((a) => Object.keys(a).length === 0)).toHaveLength(1);
  });
});
