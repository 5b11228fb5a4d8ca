// The WASM core against the BigInt reference on random books: every field, every position.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../../src/engine/engine.js';
import { applyOperation } from '../../src/account/operations.js';
import { evaluateAccount } from '../../src/reference/evaluate.js';
import { MODE_ISOLATED, PRICE_UNITS_MAX, STATUS_HEALTHY } from '../../src/fixed/constants.js';
import { valueDivisor, type Book } from '../../src/book/model.js';
import { bookArbitrary, positionCount } from '../support/arbitraries.js';

const ACCOUNTS_PER_BOOK = 40;
/** Books per run: ~40 accounts × ~2 positions × 1,500 books ≈ 120,000 positions. */
const BOOKS = 1_500;

describe('kernel agrees with the BigInt reference', () => {
  // 'micro': pd + sd ≤ 6, every figure exact; 'any': pd + sd from 0 to 12, half the instruments
  // finer than a micro, their values floored (docs/numbers.md, "Instruments finer than a micro").
  test.each(['micro', 'any'] as const)(`on every field of ${BOOKS} random books (>= 100,000 positions), decimals %s`, (decimals) => {
    let positions = 0;
    let liquidationPrices = 0;
    let liquidatable = 0;
    // Of instruments finer than a micro: positions, those of pd + sd = 12, and those whose value at the mark is rounded.
    let fine = 0;
    let twelve = 0;
    let rounded = 0;
    fc.assert(
      fc.property(bookArbitrary(ACCOUNTS_PER_BOOK, decimals), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (book, hintSeed) => {
        positions += positionCount(book);
        for (const account of book.accounts) {
          for (const position of account.positions) {
            const instrument = book.instruments[position.instrument];
            const d = valueDivisor(instrument);
            if (d === 1n) continue;
            fine++;
            if (instrument.priceDecimals + instrument.sizeDecimals === 12) twelve++;
            if ((position.sizeUnits * instrument.markUnits) % d !== 0n) rounded++;
          }
        }
        const engine = Engine.fromBook(book);
        // Bracket hints are only hints: scribble arbitrary ones (0..15) and the figures must not move.
        let state = hintSeed;
        const hints = engine.views.posBracket;
        for (let j = 0; j < hints.length; j++) {
          state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
          hints[j] = state >>> 28;
        }
        engine.evaluate();
        for (let a = 0; a < book.accounts.length; a++) {
          const kernel = engine.accountResult(a);
          const reference = evaluateAccount(book, a);
          expect(kernel).toEqual(reference);
          if (kernel.crossStatus !== 'healthy') liquidatable++;
          for (const p of kernel.positions) {
            if (p.liquidationPriceUnits !== null) liquidationPrices++;
            if (p.status !== null && p.status !== 'healthy') liquidatable++;
          }
        }
      }),
      { numRuns: BOOKS },
    );
    // The generator must reach the cases that matter, or the agreement proves little.
    console.log(`kernel vs reference (${decimals}): ${positions} positions, ${liquidationPrices} liquidation prices, ${liquidatable} liquidatable scopes`);
    expect(positions).toBeGreaterThanOrEqual(100_000);
    expect(liquidationPrices).toBeGreaterThan(positions / 10);
    expect(liquidatable).toBeGreaterThan(positions / 50);
    if (decimals === 'any') {
      console.log(`  finer than a micro: ${fine} positions, ${twelve} of pd + sd = 12, ${rounded} with a rounded value`);
      expect(fine).toBeGreaterThan(positions / 4);
      expect(twelve).toBeGreaterThan(positions / 50);
      expect(rounded).toBeGreaterThan(fine / 2);
    }
  });
});

describe("one account's prices at marks moved since the last evaluation", () => {
  // The prices kernel fills the instrument cache for the instruments the listed accounts hold (or
  // for every instrument, when that is fewer): the cache the last evaluation filled holds the old
  // marks, and an account's prices must not read them.
  test.each(['micro', 'any'] as const)('equal the reference, account by account in a shuffled order (decimals %s)', (decimals) => {
    let accounts = 0;
    let partFilled = 0;
    fc.assert(
      fc.property(bookArbitrary(12, decimals), fc.array(fc.integer({ min: -300, max: 300 }), { minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (book, moves, seed) => {
        const engine = Engine.fromBook(book);
        engine.evaluate();
        const marks = book.instruments.map((instrument, i) => {
          const moved = (instrument.markUnits * BigInt(10_000 + moves[i])) / 10_000n;
          const taken = moved > 0n && applyOperation(engine, { kind: 'setMark', instrument: instrument.symbol, priceUnits: moved }).ok;
          return taken ? moved : instrument.markUnits;
        });
        const moved: Book = { ...book, instruments: book.instruments.map((instrument, i) => ({ ...instrument, markUnits: marks[i] })) };
        const order = book.accounts.map((_, a) => a);
        let state = seed;
        for (let k = order.length - 1; k > 0; k--) {
          state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
          const m = state % (k + 1);
          [order[k], order[m]] = [order[m], order[k]];
        }
        for (const a of order) {
          const held = engine.views.accPosCount[a];
          if (held === 0) continue;
          accounts++;
          if (held < book.instruments.length) partFilled++;
          const prices = engine.prices([a]).slice();
          const expected = evaluateAccount(moved, a).positions.flatMap((p) => [p.liquidationPriceUnits ?? 0n, p.bankruptcyPriceUnits ?? 0n]);
          expect([...prices], `account ${a}`).toEqual(expected);
        }
      }),
      { numRuns: 300 },
    );
    // Both fills are reached: the listed account's instruments, and every instrument.
    expect(partFilled).toBeGreaterThan(accounts / 10);
    expect(accounts - partFilled).toBeGreaterThan(accounts / 10);
  });
});

/** Evaluates one account with one instrument's mark replaced, in the kernel. */
/**
 * Sets the instrument's mark as a user would (setMark, which refuses a mark that takes a position's
 * notional out of the book's range) and evaluates account a; returns whether the mark was taken. A
 * reported price can lie outside that range (a random book's position of 10^14 units, say): the
 * kernel's figures there are not defined, and such a probe is skipped.
 */
function kernelAt(engine: Engine, a: number, instrument: number, priceUnits: bigint): boolean {
  if (!applyOperation(engine, { kind: 'setMark', instrument: engine.instruments[instrument].symbol, priceUnits }).ok) return false;
  engine.evaluate({ start: a, end: a + 1 });
  return true;
}

function scopeStatus(engine: Engine, a: number, j: number): number {
  const v = engine.views;
  return v.posMode[j] === MODE_ISOLATED ? v.posStatus[j] : v.accStatus[a];
}

function scopeEquity(engine: Engine, a: number, j: number): bigint {
  const v = engine.views;
  return v.posMode[j] === MODE_ISOLATED ? v.posMargin[j] + v.posPnl[j] : v.accCrossEquity[a];
}

/** Prices whose notionals stay far inside 64 bits for the test probes. */
function probeable(book: Book, instrument: number, price: bigint): boolean {
  return price > 0n && price <= PRICE_UNITS_MAX && price <= book.instruments[instrument].markUnits * 1000n;
}

describe('liquidation and bankruptcy prices are boundaries (kernel)', () => {
  test.each(['micro', 'any'] as const)('liquidatable at the reported price, not one tick further from the root; equity ≥ 0 at bankruptcy (decimals %s)', (decimals) => {
    let checked = 0;
    fc.assert(
      fc.property(bookArbitrary(8, decimals), (book) => {
        const engine = Engine.fromBook(book);
        engine.evaluate();
        const v = engine.views;
        for (let a = 0; a < book.accounts.length; a++) {
          const prices = engine.prices([a]).slice();
          for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
            const i = v.posInst[j];
            const mark = book.instruments[i].markUnits;
            const tick = book.instruments[i].tickUnits;
            const long = v.posSize[j] > 0n;
            const liquidation = prices[2 * (j - v.accPosStart[a])];
            const bankruptcy = prices[2 * (j - v.accPosStart[a]) + 1];
            if (liquidation !== 0n && kernelAt(engine, a, i, liquidation)) {
              expect(scopeStatus(engine, a, j)).not.toBe(STATUS_HEALTHY);
              const safer = long ? liquidation + tick : liquidation - tick;
              if (probeable(book, i, safer) && kernelAt(engine, a, i, safer)) {
                expect(scopeStatus(engine, a, j)).toBe(STATUS_HEALTHY);
              }
              checked++;
            }
            if (bankruptcy !== 0n && kernelAt(engine, a, i, bankruptcy)) {
              // Closing at the bankruptcy price leaves equity ≥ 0: scope equity less this position's
              // notional value change is what closing realizes, and equity(p) is what the scope has.
              expect(scopeEquity(engine, a, j)).toBeGreaterThanOrEqual(0n);
              const worse = long ? bankruptcy - tick : bankruptcy + tick;
              if (probeable(book, i, worse) && kernelAt(engine, a, i, worse)) {
                expect(scopeEquity(engine, a, j)).toBeLessThan(0n);
              }
            }
            kernelAt(engine, a, i, mark);
          }
        }
      }),
      { numRuns: 300 },
    );
    expect(checked).toBeGreaterThan(1000);
  });
});

describe('scope independence and linearity (kernel)', () => {
  test.each(['micro', 'any'] as const)("an isolated position's status ignores the wallet and every other position (decimals %s)", (decimals) => {
    fc.assert(
      fc.property(bookArbitrary(6, decimals), fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), (book, balance) => {
        const engine = Engine.fromBook(book);
        engine.evaluate();
        const v = engine.views;
        const before = Array.from(v.posStatus.subarray(0, engine.positionsUsed));
        const pnlBefore = Array.from(v.posPnl.subarray(0, engine.positionsUsed));
        for (let a = 0; a < book.accounts.length; a++) {
          v.accBalance[a] = balance;
          // Wipe every cross position: the isolated ones must not notice.
          for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
            if (v.posMode[j] !== MODE_ISOLATED) v.posSize[j] = 0n;
          }
        }
        engine.evaluate();
        for (let j = 0; j < engine.positionsUsed; j++) {
          if (v.posMode[j] === MODE_ISOLATED) {
            expect(v.posStatus[j]).toBe(before[j]);
            expect(v.posPnl[j]).toBe(pnlBefore[j]);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  // Linear only where a lot at a tick is whole micro: a value floored from z·q·p/d is not.
  test('cross equity is linear in each price', () => {
    fc.assert(
      fc.property(bookArbitrary(6), fc.nat({ max: 3 }), fc.bigInt({ min: 1n, max: 10n ** 6n }), (book, pick, step) => {
        const i = pick % book.instruments.length;
        const mark = book.instruments[i].markUnits;
        if (mark <= step) return;
        const engine = Engine.fromBook(book);
        const equities = [mark - step, mark, mark + step].map((price) => {
          engine.views.instMark[i] = price;
          engine.evaluate({ full: false });
          return Array.from(engine.views.accCrossEquity.subarray(0, book.accounts.length));
        });
        for (let a = 0; a < book.accounts.length; a++) {
          expect(equities[0][a] + equities[2][a]).toBe(2n * equities[1][a]);
        }
      }),
      { numRuns: 300 },
    );
  });
});
