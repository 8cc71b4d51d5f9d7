import { describe, expect, it } from 'vitest';
import { batchOffsets, offsetAfter, offsetAt } from '../../src/sources/kafka/batch-offsets.js';

describe('a batch\'s offsets across the consumer thread', () => {
  it('small offsets go as doubles and come back as the same strings, gaps kept', () => {
    const given = ['0', '1', '7', '999999999999999'];
    const offsets = batchOffsets(given.map((offset) => ({ offset })));
    expect(offsets).toBeInstanceOf(Float64Array);
    expect(given.map((_, i) => offsetAt(offsets, i))).toEqual(given);
    expect(offsetAfter(offsets)).toBe('1000000000000000');
  });

  it('a batch reaching past 15 digits goes as BigInts, exact where a double would round', () => {
    // 2^53 + 1 is not a double: Number() would give 9007199254740992.
    const given = ['9007199254740990', '9007199254740993', '9223372036854775806'];
    const offsets = batchOffsets(given.map((offset) => ({ offset })));
    expect(offsets).toBeInstanceOf(BigInt64Array);
    expect(given.map((_, i) => offsetAt(offsets, i))).toEqual(given);
    expect(offsetAfter(offsets)).toBe('9223372036854775807');
  });

  it('an empty batch', () => {
    expect(batchOffsets([]).length).toBe(0);
  });
});
