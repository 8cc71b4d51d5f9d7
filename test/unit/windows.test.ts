import { describe, expect, it } from 'vitest';
import { BUCKETS, WindowSet } from '../../src/baseline/windows.js';

describe('event-time sliding windows', () => {
  it('sums what fell inside each window, and forgets what slid out', () => {
    const w = new WindowSet(WindowSet.bucketSizes([10_000, 60_000]));
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    for (let i = 0; i < 10; i++) w.add(t0 + i * 1000, 1);
    expect(Array.from(w.sums)).toEqual([10, 10]);
    w.add(t0 + 30_000, 5);
    expect(Array.from(w.sums)).toEqual([5, 15]);
    w.add(t0 + 200_000, 1);
    expect(Array.from(w.sums)).toEqual([1, 1]);
  });

  it('counts a late event in the windows that still reach it', () => {
    const w = new WindowSet(WindowSet.bucketSizes([10_000, 3_600_000]));
    const t0 = 1_000_000_000_000;
    w.add(t0, 1);
    w.add(t0 - 60_000, 4); // a minute late: outside 10 s, inside 1 h
    expect(Array.from(w.sums)).toEqual([1, 5]);
  });

  it('a window covers its length to within one bucket', () => {
    const w = new WindowSet(WindowSet.bucketSizes([30_000]));
    const t0 = 1_700_000_000_000;
    w.add(t0, 1);
    w.add(t0 + 30_000 - 30_000 / BUCKETS - 1, 1);
    expect(w.sums[0]).toBe(2);
    w.add(t0 + 30_000 + 30_000 / BUCKETS, 1);
    expect(w.sums[0]).toBe(2);
  });
});
