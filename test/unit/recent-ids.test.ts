import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecentIds } from '../../src/util/recent-ids.js';

/** What RecentIds must answer, written plainly: an id is a repeat if it is among the last `capacity` ids added. */
function oracle(ids: string[], capacity: number): boolean[] {
  const kept: string[] = [];
  return ids.map((id) => {
    if (kept.includes(id)) return false;
    kept.push(id);
    if (kept.length > capacity) kept.shift();
    return true;
  });
}

describe('recent ids', () => {
  it('says an id is new exactly when it is not among the last `capacity` added', () => {
    // Few distinct ids and small tables: repeats, evictions, wrap-around and long probe runs are all common.
    const id = fc.oneof(fc.integer({ min: 0, max: 40 }).map((n) => `id-${n}`), fc.string({ maxLength: 3 }), fc.constantFrom('ü', '𝄞', ''));
    fc.assert(fc.property(fc.array(id, { maxLength: 300 }), fc.integer({ min: 1, max: 20 }), (ids, capacity) => {
      const recent = new RecentIds(capacity);
      expect(ids.map((x) => recent.add(x))).toEqual(oracle(ids, capacity));
    }), { numRuns: 2000 });
  });

  it('keeps every one of 100,000 distinct ids apart, and catches each redelivery within its window', () => {
    const recent = new RecentIds(50_000);
    let fresh = 0;
    let caught = 0;
    for (let i = 0; i < 100_000; i++) {
      if (recent.add(`462e02c3-0000-4000-8000-${i.toString(16).padStart(12, '0')}`)) fresh++;
      if (i >= 49_999 && !recent.add(`462e02c3-0000-4000-8000-${(i - 49_999).toString(16).padStart(12, '0')}`)) caught++;
    }
    expect(fresh).toBe(100_000);
    expect(caught).toBe(100_000 - 49_999);
  });
});
