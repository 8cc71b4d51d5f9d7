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

  it('sumAsOf a later time is what the sum would be once advanced there, without advancing; wide sets hold sums past 2^32', () => {
    const sizes = WindowSet.bucketSizes([10_000, 60_000, 600_000]);
    const t0 = 1_700_000_000_000;
    for (let trial = 0; trial < 50; trial++) {
      const w = new WindowSet(sizes);
      let t = t0;
      for (let i = 0; i < 40; i++) w.add((t += Math.floor(Math.abs(Math.sin(trial * 40 + i)) * 20_000)), 1 + (i % 7));
      const later = t + Math.floor(Math.abs(Math.cos(trial)) * 700_000);
      const before = Array.from(w.sums);
      const asOf = [0, 1, 2].map((win) => w.sumAsOf(win, later));
      expect(Array.from(w.sums)).toEqual(before);
      w.add(later, 0);
      expect(asOf).toEqual(Array.from(w.sums));
    }
    const wide = new WindowSet(sizes, true);
    for (let i = 0; i < 3; i++) wide.add(t0, 3e9);
    expect(wide.sums[0]).toBe(9e9);
    expect(WindowSet.fromJSON(sizes, wide.toJSON(), true).sumAsOf(0, t0 + 5000)).toBe(9e9);
  });

  it('agrees with counting every event by hand, late events, restores and times before 1970 included', () => {
    const windows = [10_000, 60_000, 600_000];
    const sizes = WindowSet.bucketSizes(windows);
    for (const start of [1_700_000_000_000, -5_000_000]) {
      let w = new WindowSet(sizes);
      const counted: Array<Array<{ epoch: number; n: number }>> = windows.map(() => []);
      const heads = windows.map(() => -Infinity);
      let t = start;
      for (let i = 0; i < 3000; i++) {
        const x = Math.abs(Math.sin(i * 12.9898 + start)) ;
        // Mostly forward in small or large steps, sometimes late by up to two minutes.
        const at = x < 0.15 ? t - Math.floor(x * 800_000) : (t += Math.floor(x * x * 90_000));
        const n = 1 + (i % 5);
        w.add(at, n);
        sizes.forEach((size, k) => {
          const epoch = Math.floor(at / size);
          if (epoch > heads[k]!) heads[k] = epoch;
          if (epoch > heads[k]! - BUCKETS) counted[k]!.push({ epoch, n });
        });
        if (i % 500 === 499) w = WindowSet.fromJSON(sizes, JSON.parse(JSON.stringify(w.toJSON())));
        const expected = sizes.map((_, k) => counted[k]!.filter((c) => c.epoch > heads[k]! - BUCKETS).reduce((s, c) => s + c.n, 0));
        expect(Array.from(w.sums), `event ${i}`).toEqual(expected);
      }
    }
  });
});
