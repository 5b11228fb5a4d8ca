// A funding-index update is refused when it would put any position's unsettled funding,
// |z·q·(F − F_i)| / 10^6 micro, above QUOTE_ABS_MAX. The kernel checks it in 128-bit integers
// (fundingOutOfRange); this holds it to the same rule in BigInt, at the boundary and either side.
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
});
