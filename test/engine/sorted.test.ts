// Engine.sortUnique orders a batch's changed accounts for the refresh, and Engine.ascendingUnique
// the batch's result and the accounts an incremental step changed, both through the kernel's
// sortUnique (assembly/sort.ts): held to a sort and a set over short and long lists, with values of
// one, two and three 12-bit digits (the top digit's pass reads v >>> 24: values up to 2^32 − 1).
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../../src/engine/engine.js';
import { kernelU32 } from '../../src/engine/kernel-constants.js';
import { generateBook, generatedBookToBook } from '../../src/gen/generate.js';

function reference(values: number[]): number[] {
  return [...new Set(values)].sort((x, y) => x - y);
}

const engine = Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 4, seed: 1, instruments: 1 })));

describe('Engine.sortUnique and Engine.ascendingUnique', () => {
  test('equals a sort and a set, short and long lists, every digit width; in place, or over several lists', () => {
    const max = fc.constantFrom(5, 4_095, 4_096, 70_000, 16_777_215, 16_777_216, 33_554_431, 0xffff_ffff);
    fc.assert(
      fc.property(
        max.chain((m) => fc.tuple(fc.array(fc.integer({ min: 0, max: m }), { minLength: 0, maxLength: 2_000, size: 'max' }), fc.constant(m))),
        ([values]) => {
          const list = Uint32Array.from(values);
          expect(Array.from(engine.sortUnique(list))).toEqual(reference(values));
          const half = values.length >> 1;
          expect(Array.from(engine.ascendingUnique([Uint32Array.from(values.slice(0, half)), new Uint32Array(0), Uint32Array.from(values.slice(half))]))).toEqual(reference(values));
        },
      ),
      { numRuns: 150, endOnFailure: true },
    );
  });

  test('a long list whose values need all three passes, with repeats, in place', () => {
    const values: number[] = [];
    for (let k = 0; k < 2_000; k++) values.push((k * 2_654_435_761) >>> 0, k % 7, 0xffff_ffff - (k % 3));
    const list = Uint32Array.from(values);
    const unique = engine.sortUnique(list);
    expect(unique.buffer).toBe(list.buffer);
    expect(Array.from(unique)).toEqual(reference(values));
  });
});

describe("the kernel's sortUnique", () => {
  /** The kernel's result for `values`, through regions of the engine's memory. */
  function kernelSorted(values: number[]): number[] {
    const bytes = Math.max(4, values.length * 4);
    const list = engine.region('test.sort.list', bytes);
    const scratch = engine.region('test.sort.scratch', bytes);
    const counts = engine.region('test.sort.counts', kernelU32('SORT_COUNTS_BYTES'));
    new Uint32Array(engine.memory.buffer, list, values.length).set(values);
    const unique = engine.core.sortUnique(list, values.length, scratch, counts);
    return Array.from(new Uint32Array(engine.memory.buffer, list, unique));
  }

  test('equals a sort and a set, every digit width, up to tens of thousands of values', () => {
    const max = fc.constantFrom(0, 5, 4_095, 4_096, 70_000, 16_777_215, 16_777_216, 33_554_431, 0xffff_ffff);
    fc.assert(
      fc.property(
        max.chain((m) => fc.array(fc.integer({ min: 0, max: m }), { minLength: 0, maxLength: 3_000, size: 'max' })),
        (values) => {
          expect(kernelSorted(values)).toEqual(reference(values));
        },
      ),
      { numRuns: 200, endOnFailure: true },
    );
    // As many as a tick of the 10M-account book's largest instrument lists, with repeats (an account
    // with two scopes that changed is listed twice), for each number of passes.
    for (const bound of [4_096, 10_000_000, 0x1_0000_0000]) {
      const values: number[] = [];
      for (let k = 0; k < 45_000; k++) values.push(((k * 2_654_435_761) >>> 0) % bound, k % 97);
      expect(kernelSorted(values), `values below ${bound}`).toEqual(reference(values));
    }
  });
});
