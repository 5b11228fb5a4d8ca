// A funding-index update is refused when it would put any position's unsettled funding,
// |z·q·(F − F_i)| / 10^6 micro, above QUOTE_ABS_MAX. The engine vouches for an index in O(1) when
// the instrument's size high-water mark and the envelope of its funding snapshots allow it, and
// otherwise the kernel checks every position in 128-bit integers (Engine.fundingOutOfRange); this
// holds both to the same rule in BigInt, at the boundary and either side, on fresh engines and
// along sequences of updates, fills and settlements that move the snapshots and the sizes.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../../src/engine/engine.js';
import { applyOperation } from '../../src/account/operations.js';
import { FUNDING_EXTRA_SCALE, FUNDING_INDEX_ABS_MAX, QUOTE_ABS_MAX } from '../../src/fixed/constants.js';
import { quotePerUnit } from '../../src/book/model.js';
import { bookArbitrary } from '../support/arbitraries.js';

const abs = (x: bigint) => (x < 0n ? -x : x);

/** The first account (its index) a new funding index of instrument i puts out of range, in BigInt; -1 for none. */
function firstOutOfRange(engine: Engine, i: number, index: bigint): number {
  const v = engine.views;
  const q = quotePerUnit(engine.instruments[i]);
  for (let a = 0; a < engine.accountCount; a++) {
    for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
      if (v.posInst[j] === i && abs(v.posSize[j] * q * (index - v.posFunding[j])) > QUOTE_ABS_MAX * FUNDING_EXTRA_SCALE) return a;
    }
  }
  return -1;
}

describe('the funding-index range check', () => {
  test('refuses exactly the indices the BigInt rule refuses, naming the first account, at and around the boundary', () => {
    let refused = 0;
    let applied = 0;
    fc.assert(
      fc.property(bookArbitrary(24), fc.nat(), fc.nat(), fc.integer({ min: -2, max: 2 }), (book, pickI, pickJ, nudge) => {
        const engine = Engine.fromBook(book);
        const v = engine.views;
        const i = pickI % book.instruments.length;
        // The index at which one position of the instrument reaches the limit exactly, nudged.
        const held = [];
        for (let j = 0; j < engine.positionsUsed; j++) if (v.posInst[j] === i && v.posSize[j] !== 0n) held.push(j);
        let index = v.instFunding[i] + BigInt(nudge);
        if (held.length > 0) {
          const j = held[pickJ % held.length];
          const sizeQuote = abs(v.posSize[j] * quotePerUnit(book.instruments[i]));
          const reach = (QUOTE_ABS_MAX * FUNDING_EXTRA_SCALE) / sizeQuote; // |ΔF| at the limit, rounded down
          index = v.posFunding[j] + (pickJ % 2 === 0 ? reach : -reach) + BigInt(nudge);
        }
        if (abs(index) > FUNDING_INDEX_ABS_MAX) index = index < 0n ? -FUNDING_INDEX_ABS_MAX : FUNDING_INDEX_ABS_MAX;
        const expected = firstOutOfRange(engine, i, index);
        const result = applyOperation(engine, { kind: 'setFundingIndex', instrument: book.instruments[i].symbol, fundingIndex: index });
        if (expected < 0) {
          expect(result).toEqual({ ok: true });
          applied++;
        } else {
          expect(result.ok).toBe(false);
          if (!result.ok) {
            expect(result.code).toBe('out_of_range');
            expect(result.reason).toContain(`"${book.accounts[expected].id}"`);
          }
          refused++;
        }
      }),
      { numRuns: 400 },
    );
    // Both sides of the boundary were reached.
    expect(refused).toBeGreaterThan(20);
    expect(applied).toBeGreaterThan(20);
  });

  test('along a sequence of funding updates, fills and settlements (the O(1) bound taken most of the time), refuses exactly what the BigInt rule refuses', () => {
    let refused = 0;
    let applied = 0;
    let steps = 0;
    const step = fc.record({ kind: fc.constantFrom('funding', 'funding', 'fill', 'settle', 'settle'), pick: fc.nat(), far: fc.boolean(), nudge: fc.integer({ min: -2, max: 2 }), size: fc.integer({ min: 1, max: 6 }) });
    fc.assert(
      fc.property(bookArbitrary(12), fc.array(step, { minLength: 10, maxLength: 40 }), (book, sequence) => {
        const engine = Engine.fromBook(book);
        const v = engine.views;
        /** The account and slot of instrument i's largest position (the one its size high-water mark is likeliest to be), or null. */
        const largest = (i: number): { a: number; j: number } | null => {
          let best: { a: number; j: number } | null = null;
          for (let a = 0; a < engine.accountCount; a++) {
            for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
              if (v.posInst[j] === i && v.posSize[j] !== 0n && (best === null || abs(v.posSize[j]) > abs(v.posSize[best.j]))) best = { a, j };
            }
          }
          return best;
        };
        for (const s of sequence) {
          const i = s.pick % book.instruments.length;
          const symbol = book.instruments[i].symbol;
          const target = largest(i);
          if (s.kind === 'fill') {
            // Sizes up to 10^6 lots: the size high-water mark rises, and the O(1) bound with it.
            const a = s.pick % book.accounts.length;
            applyOperation(engine, { kind: 'fill', accountIndex: a, instrument: symbol, mode: s.pick % 2 === 0 ? 'cross' : 'isolated', sizeUnits: 10n ** BigInt(s.size) * (s.far ? -1n : 1n), priceUnits: v.instMark[i] });
            continue;
          }
          if (s.kind === 'settle') {
            // Its snapshots take the index now: the largest position's account, or any.
            const a = s.far && target !== null ? target.a : s.pick % book.accounts.length;
            applyOperation(engine, { kind: 'settleFunding', accountIndex: a });
            continue;
          }
          // A small move, or one to the limit of the largest position (either side), nudged.
          let index = v.instFunding[i] + BigInt(s.nudge) * 1_000n;
          if (s.far && target !== null) {
            const reach = (QUOTE_ABS_MAX * FUNDING_EXTRA_SCALE) / abs(v.posSize[target.j] * quotePerUnit(book.instruments[i]));
            index = v.posFunding[target.j] + ((s.pick >> 1) % 2 === 0 ? reach : -reach) + BigInt(s.nudge);
          }
          if (abs(index) > FUNDING_INDEX_ABS_MAX) index = index < 0n ? -FUNDING_INDEX_ABS_MAX : FUNDING_INDEX_ABS_MAX;
          const expected = firstOutOfRange(engine, i, index);
          const result = applyOperation(engine, { kind: 'setFundingIndex', instrument: symbol, fundingIndex: index });
          if (expected < 0) {
            expect(result).toEqual({ ok: true });
            applied++;
          } else {
            expect(result.ok).toBe(false);
            if (!result.ok) expect(result.reason).toContain(`"${book.accounts[expected].id}"`);
            refused++;
          }
          steps++;
        }
      }),
      { numRuns: 200 },
    );
    expect(refused).toBeGreaterThan(20);
    expect(applied).toBeGreaterThan(200);
    expect(steps).toBeGreaterThan(1_000);
  });
});
