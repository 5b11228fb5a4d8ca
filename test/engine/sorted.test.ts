// sortUnique orders a batch's changed accounts for the refresh and for the batch's result: held to
// a sort and a set over lists on both sides of the radix sort's threshold and with values of one,
// two and three 12-bit digits (the top digit's pass reads v >>> 24: values up to 2^32 − 1).
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { sortUnique } from '../../src/engine/sorted.js';

function reference(values: number[]): number[] {
  return [...new Set(values)].sort((x, y) => x - y);
}

describe('sortUnique', () => {
  test('equals a sort and a set, short and long lists, every digit width', () => {
    const max = fc.constantFrom(5, 4_095, 4_096, 70_000, 16_777_215, 16_777_216, 33_554_431, 0xffff_ffff);
    fc.assert(
      fc.property(
        max.chain((m) => fc.tuple(fc.array(fc.integer({ min: 0, max: m }), { minLength: 0, maxLength: 2_000, size: 'max' }), fc.constant(m))),
        ([values]) => {
          const list = Uint32Array.from(values);
          expect(Array.from(sortUnique(list))).toEqual(reference(values));
        },
      ),
      { numRuns: 150, endOnFailure: true },
    );
  });

  test('a long list whose values need all three passes, with repeats, in place', () => {
    const values: number[] = [];
    for (let k = 0; k < 2_000; k++) values.push((k * 2_654_435_761) >>> 0, k % 7, 0xffff_ffff - (k % 3));
    const list = Uint32Array.from(values);
    const unique = sortUnique(list);
    expect(unique.buffer).toBe(list.buffer);
    expect(Array.from(unique)).toEqual(reference(values));
  });
});
