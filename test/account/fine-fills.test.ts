// Fills on instruments finer than a micro (docs/numbers.md, "Instruments finer than a micro":
// pd + sd from 7 to 12), hand-worked. With s = pd + sd > 6: q = 1 and d = 10^(s − 6);
//
//   the cost of a fill          ceil(z·price / d)                  toward +∞, long and short
//   a partial close takes off   ceil(c·|closed| / |z|)             toward +∞ (c signed)
//     and realizes              floor(closed·price / d) − that     toward −∞ (closed signed)
//   a full close realizes       floor(z·price / d) − c
//   an isolated increase moves  ceil(|opened|·price / (d·leverage)) from the wallet to the margin
//   a position's notional       |floor(z·mark / d)|                (1 for a long that floors to 0)
//   its initial margin          ceil(notional / leverage)
//
// Every expected figure below is worked out by hand in the comments (micro, price units, size
// units), never computed by the code under test. Each scenario runs three ways that must agree
// figure for figure: applyOperation one operation at a time; applyBatch one operation at a time;
// and applyBatch with every operation at once (the kernel hands every fill on such an instrument
// back to the control plane, OUTCOME_HOST, and applies the others itself).
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { applyBatch } from '../../src/account/batch.js';
import { applyOperation, type AccountOperation, type AnyOperation, type OperationResult } from '../../src/account/operations.js';
import { checkInstrument, checkPosition, instrumentRules } from '../../src/book/ranges.js';
import type { Book, Instrument, Tier } from '../../src/book/model.js';
import { MODE_CROSS, MODE_ISOLATED } from '../../src/fixed/constants.js';
import { evaluateAccount } from '../../src/reference/evaluate.js';
import { OP_BYTES, OP_OUTCOME, OUTCOME_HOST, OUTCOME_OPENED, REFUSED_CROSS_INITIAL } from '../../src/memory/layout.js';

// 0.5% to 50,000 quote at up to 7x, then 1% at up to 5x: a new position takes 7x, so every margin
// below is a division by 7 (which rarely comes out whole).
const TIERS: Tier[] = [
  { upToNotional: 50_000_000_000n, ratePpm: 5_000n, leverageMax: 7 },
  { upToNotional: null, ratePpm: 10_000n, leverageMax: 5 },
];

function instrument(symbol: string, priceDecimals: number, sizeDecimals: number, markUnits: bigint): Instrument {
  return { symbol, priceDecimals, sizeDecimals, tickUnits: 1n, lotUnits: 1n, markUnits, fundingIndex: 0n, tiers: TIERS };
}

/** Tick 10^-7 (pd 7), lot 1 (sd 0): s = 7, q = 1, d = 10. Mark 0.0123457. */
const PEPE = instrument('1000PEPEUSDT', 7, 0, 123_457n);
/** Tick 10^-8 (pd 8), lot 10^-4 (sd 4): s = 12, q = 1, d = 10^6. Mark 0.00123456. */
const DUST = instrument('DUST12', 8, 4, 123_456n);

/** Every account starts with 10,000 quote and no position. */
const START = 10_000_000_000n;

/** Checks the book against the load rules (instruments and positions), so that the engine holds a legal book. */
function expectValid(book: Book): void {
  for (const inst of book.instruments) expect(checkInstrument(inst)).toBeNull();
  for (const account of book.accounts) {
    for (const p of account.positions) {
      const ints = { ...p, mode: p.mode === 'cross' ? MODE_CROSS : MODE_ISOLATED };
      expect(checkPosition(instrumentRules(book.instruments[p.instrument]), ints), `${account.id}`).toBeNull();
    }
  }
}

interface PositionState {
  sizeUnits: bigint;
  costMicro: bigint;
  marginMicro: bigint;
  leverage: number;
}

/** An account's wallet and its one position on (instrument, mode), null when it holds none. */
interface State {
  balanceMicro: bigint;
  position: PositionState | null;
}

function stateOf(engine: Engine, account: string, symbol: string, mode: 'cross' | 'isolated'): State {
  const a = engine.accountIds.indexOf(account)!;
  const i = engine.symbolIndex.get(symbol)!;
  const v = engine.views;
  let position: PositionState | null = null;
  for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
    if (v.posInst[j] !== i || v.posMode[j] !== (mode === 'cross' ? MODE_CROSS : MODE_ISOLATED)) continue;
    expect(position, 'one position per (instrument, mode)').toBeNull();
    const p = engine.readPosition(j);
    position = { sizeUnits: p.sizeUnits, costMicro: p.costMicro, marginMicro: p.marginMicro, leverage: p.leverage };
  }
  return { balanceMicro: v.accBalance[a], position };
}

type Fill = Extract<AccountOperation, { kind: 'fill' }>;

interface Step {
  operation: Fill;
  result: OperationResult;
  /** The state of the operation's account and position after it. */
  after: State;
}

/**
 * Wraps the engine's kernel call in applyBatch (Engine.applyOperationRecords) to note each record's
 * outcome as the kernel left it, by the operation's index in its batch: applied (OUTCOME_*),
 * refused (REFUSED_*), or handed to the control plane (OUTCOME_HOST, where the kernel stopped).
 * `outcomes` is cleared by the caller before each batch.
 */
function watchKernel(engine: Engine, outcomes: Map<number, number>): void {
  const apply = engine.applyOperationRecords.bind(engine);
  engine.applyOperationRecords = (records, from, count, fillRecords) => {
    const stop = apply(records, from, count, fillRecords);
    const outcome = (k: number) => engine.memoryBytes[records + k * OP_BYTES + OP_OUTCOME];
    for (let k = from; k < Math.min(stop + 1, count); k++) outcomes.set(k, outcome(k));
    return stop;
  };
}

/**
 * Runs the steps three ways on fresh engines of the book, each held to the hand-worked results and
 * states: applyOperation one at a time; applyBatch of one operation at a time (the kernel hands a
 * fill on an instrument finer than a micro back: OUTCOME_HOST); applyBatch of them all. The three
 * books are the same at the end, and evaluate in the engine as in the BigInt reference.
 */
function expectSteps(book: Book, steps: Step[], fineSymbols: readonly string[]): void {
  expectValid(book);
  const stateAfter = (engine: Engine, step: Step) => stateOf(engine, step.operation.account, step.operation.instrument, step.operation.mode);

  const single = Engine.fromBook(book);
  steps.forEach((step, k) => {
    expect(applyOperation(single, step.operation), `applyOperation, step ${k}`).toEqual(step.result);
    expect(stateAfter(single, step), `applyOperation, state after step ${k}`).toEqual(step.after);
  });

  const batched = Engine.fromBook(book);
  batched.sweep({ full: false }); // the chunk records built, as a live book's are
  const outcomes = new Map<number, number>();
  watchKernel(batched, outcomes);
  steps.forEach((step, k) => {
    outcomes.clear();
    const batch = applyBatch(batched, [step.operation]);
    expect(batch.results, `applyBatch of one, step ${k}`).toEqual([step.result]);
    expect(stateAfter(batched, step), `applyBatch of one, state after step ${k}`).toEqual(step.after);
    if (fineSymbols.includes(step.operation.instrument)) expect(outcomes.get(0), `step ${k}: the kernel hands it back`).toBe(OUTCOME_HOST);
  });

  const whole = Engine.fromBook(book);
  whole.sweep({ full: false });
  const batch = applyBatch(whole, steps.map((step) => step.operation));
  expect(batch.results, 'applyBatch of all').toEqual(steps.map((step) => step.result));
  const last = new Map<string, Step>();
  for (const step of steps) last.set(`${step.operation.account}/${step.operation.instrument}/${step.operation.mode}`, step);
  for (const step of last.values()) expect(stateAfter(whole, step), 'applyBatch of all, final state').toEqual(step.after);

  const final = single.toBook();
  expect(batched.toBook()).toEqual(final);
  expect(whole.toBook()).toEqual(final);
  for (const engine of [single, batched, whole]) {
    engine.evaluate();
    for (let a = 0; a < final.accounts.length; a++) expect(engine.accountResult(a)).toEqual(evaluateAccount(final, a));
  }
}

function emptyBook(instruments: Instrument[], ids: string[]): Book {
  return { instruments, accounts: ids.map((id) => ({ id, balanceMicro: START, positions: [] })) };
}

function fill(account: string, instrument: Instrument, mode: 'cross' | 'isolated', sizeUnits: bigint, priceUnits: bigint, marginMicro?: bigint): Fill {
  const operation: Fill = { kind: 'fill', account, instrument: instrument.symbol, mode, sizeUnits, priceUnits };
  if (marginMicro !== undefined) operation.marginMicro = marginMicro;
  return operation;
}

const applied = (realizedPnlMicro: bigint): OperationResult => ({ ok: true, realizedPnlMicro });
const held = (balanceMicro: bigint, sizeUnits: bigint, costMicro: bigint, marginMicro = 0n, leverage = 7): State => ({
  balanceMicro,
  position: { sizeUnits, costMicro, marginMicro, leverage },
});
const flat = (balanceMicro: bigint): State => ({ balanceMicro, position: null });

describe('fills on an instrument finer than a micro, hand-worked', () => {
  it('a cross long: open, add, partial close, full close', () => {
    // 1000PEPEUSDT (d = 10), mark 123,457. Account "long", 10,000 quote.
    const steps: Step[] = [
      // Open +123,457 at 123,451: cost = ceil(123,457·123,451 / 10) = ceil(15,240,890,107 / 10)
      //   = ceil(1,524,089,010.7) = 1,524,089,011. A new position takes the bracket's 7x.
      //   (IM: value floor(123,457·123,457 / 10) = floor(1,524,163,084.9) = 1,524,163,084,
      //   ceil(1,524,163,084 / 7) = 217,737,584; equity 10^10 + 74,073 covers it.)
      { operation: fill('long', PEPE, 'cross', 123_457n, 123_451n), result: applied(0n), after: held(START, 123_457n, 1_524_089_011n) },
      // Add +10,001 at 123,463: ceil(10,001·123,463 / 10) = ceil(1,234,753,463 / 10) = ceil(123,475,346.3)
      //   = 123,475,347; cost 1,524,089,011 + 123,475,347 = 1,647,564,358; size 133,458.
      { operation: fill('long', PEPE, 'cross', 10_001n, 123_463n), result: applied(0n), after: held(START, 133_458n, 1_647_564_358n) },
      // Close 50,001 of 133,458 at 123,473:
      //   removed  = ceil(1,647,564,358·50,001 / 133,458) = ceil(82,379,865,464,358 / 133,458)
      //            = ceil(617,271,841.81…) = 617,271,842
      //   realized = floor(50,001·123,473 / 10) − 617,271,842 = floor(6,173,773,473 / 10) − 617,271,842
      //            = 617,377,347 − 617,271,842 = 105,505
      //   cost 1,647,564,358 − 617,271,842 = 1,030,292,516; size 83,457; balance 10,000,105,505.
      {
        operation: fill('long', PEPE, 'cross', -50_001n, 123_473n),
        result: applied(105_505n),
        after: held(10_000_105_505n, 83_457n, 1_030_292_516n),
      },
      // Close the rest, 83,457 at 123,401: realized = floor(83,457·123,401 / 10) − 1,030,292,516
      //   = floor(10,298,677,257 / 10) − 1,030,292,516 = 1,029,867,725 − 1,030,292,516 = −424,791;
      //   balance 10,000,105,505 − 424,791 = 9,999,680,714; the position is gone.
      { operation: fill('long', PEPE, 'cross', -83_457n, 123_401n), result: applied(-424_791n), after: flat(9_999_680_714n) },
    ];
    expectSteps(emptyBook([PEPE], ['long']), steps, [PEPE.symbol]);
  });

  it('a cross short: open, add, partial close, full close (costs toward +∞: smaller credits)', () => {
    const steps: Step[] = [
      // Open −98,765 at 123,449: cost = ceil(−98,765·123,449 / 10) = ceil(−12,192,440,485 / 10)
      //   = ceil(−1,219,244,048.5) = −1,219,244,048.
      { operation: fill('short', PEPE, 'cross', -98_765n, 123_449n), result: applied(0n), after: held(START, -98_765n, -1_219_244_048n) },
      // Add −1,235 at 123,461: ceil(−1,235·123,461 / 10) = ceil(−152,474,335 / 10) = ceil(−15,247,433.5)
      //   = −15,247,433; cost −1,219,244,048 − 15,247,433 = −1,234,491,481; size −100,000.
      { operation: fill('short', PEPE, 'cross', -1_235n, 123_461n), result: applied(0n), after: held(START, -100_000n, -1_234_491_481n) },
      // Buy back 33,333 of 100,000 at 123,443 (closed = −33,333):
      //   removed  = ceil(−1,234,491,481·33,333 / 100,000) = ceil(−41,149,304,536,173 / 100,000)
      //            = ceil(−411,493,045.36…) = −411,493,045
      //   realized = floor(−33,333·123,443 / 10) − (−411,493,045) = floor(−4,114,725,519 / 10) + 411,493,045
      //            = −411,472,552 + 411,493,045 = 20,493
      //   cost −1,234,491,481 + 411,493,045 = −822,998,436; size −66,667; balance 10,000,020,493.
      {
        operation: fill('short', PEPE, 'cross', 33_333n, 123_443n),
        result: applied(20_493n),
        after: held(10_000_020_493n, -66_667n, -822_998_436n),
      },
      // Buy back the rest, 66,667 at 123,507: realized = floor(−66,667·123,507 / 10) − (−822,998,436)
      //   = floor(−8,233,841,169 / 10) + 822,998,436 = −823,384,117 + 822,998,436 = −385,681;
      //   balance 10,000,020,493 − 385,681 = 9,999,634,812.
      { operation: fill('short', PEPE, 'cross', 66_667n, 123_507n), result: applied(-385_681n), after: flat(9_999_634_812n) },
    ];
    expectSteps(emptyBook([PEPE], ['short']), steps, [PEPE.symbol]);
  });

  it('a flip: the whole long closes, the rest opens a short at the fill price', () => {
    const steps: Step[] = [
      // Open +77,777 at the mark 123,457: cost = ceil(77,777·123,457 / 10) = ceil(9,602,115,089 / 10)
      //   = ceil(960,211,508.9) = 960,211,509.
      { operation: fill('flip', PEPE, 'cross', 77_777n, 123_457n), result: applied(0n), after: held(START, 77_777n, 960_211_509n) },
      // Sell 100,000 at 123,399: the long's 77,777 close, realizing floor(77,777·123,399 / 10) − 960,211,509
      //   = floor(9,597,604,023 / 10) − 960,211,509 = 959,760,402 − 960,211,509 = −451,107;
      //   the other 22,223 open a short of cost ceil(−22,223·123,399 / 10) = ceil(−2,742,295,977 / 10)
      //   = ceil(−274,229,597.7) = −274,229,597; balance 10^10 − 451,107 = 9,999,548,893; 7x kept.
      {
        operation: fill('flip', PEPE, 'cross', -100_000n, 123_399n),
        result: applied(-451_107n),
        after: held(9_999_548_893n, -22_223n, -274_229_597n),
      },
    ];
    expectSteps(emptyBook([PEPE], ['flip']), steps, [PEPE.symbol]);
  });

  it('isolated: an open and an add move ceil(|opened|·price / (d·leverage)) and the fill\'s rounding into the margin; closes realize into it', () => {
    // The default margin adds the micro a fill's rounding takes, ceil(x) − floor(x) of its exact
    // quote amount x (its cost rounded up, its value down), so that an open at the mark starts at its initial margin.
    const steps: Step[] = [
      // Long +123,457 at 123,451, isolated, 7x: x = 15,240,890,107 / 10 = 1,524,089,010.7 (rounding 1)
      //   margin = ceil(123,457·123,451 / (10·7)) + 1 = ceil(15,240,890,107 / 70) + 1 = ceil(217,727,001.53) + 1 = 217,727,003
      //   cost   = ceil(1,524,089,010.7) = 1,524,089,011
      //   IM check: equity 217,727,003 + (1,524,163,084 − 1,524,089,011) = 217,801,076
      //             ≥ ceil(1,524,163,084 / 7) = ceil(217,737,583.43) = 217,737,584
      //   balance 10^10 − 217,727,003 = 9,782,272,997
      {
        operation: fill('iso', PEPE, 'isolated', 123_457n, 123_451n),
        result: applied(0n),
        after: held(9_782_272_997n, 123_457n, 1_524_089_011n, 217_727_003n),
      },
      // Add +1,001 at 123,451: x = 123,574,451 / 10 = 12,357,445.1 (rounding 1)
      //   margin += ceil(1,001·123,451 / 70) + 1 = ceil(1,765,349.3) + 1 = 1,765,351 → 219,492,354
      //   cost   += ceil(123,574,451 / 10) = ceil(12,357,445.1) = 12,357,446 → 1,536,446,457; size 124,458
      //   IM check: value floor(124,458·123,457 / 10) = floor(1,536,521,130.6) = 1,536,521,130,
      //             equity 219,492,354 + 1,536,521,130 − 1,536,446,457 = 219,567,027
      //             ≥ ceil(1,536,521,130 / 7) = ceil(219,503,018.57) = 219,503,019
      //   balance 9,782,272,997 − 1,765,351 = 9,780,507,646
      {
        operation: fill('iso', PEPE, 'isolated', 1_001n, 123_451n),
        result: applied(0n),
        after: held(9_780_507_646n, 124_458n, 1_536_446_457n, 219_492_354n),
      },
      // Close 62,227 of 124,458 at 123,461:
      //   removed  = ceil(1,536,446,457·62,227 / 124,458) = ceil(95,608,453,679,739 / 124,458) = ceil(768,198,538.30) = 768,198,539
      //   realized = floor(62,227·123,461 / 10) − 768,198,539 = floor(768,260,764.7) − 768,198,539 = 62,225, into the margin:
      //   margin 219,492,354 + 62,225 = 219,554,579; cost 1,536,446,457 − 768,198,539 = 768,247,918; size 62,231.
      {
        operation: fill('iso', PEPE, 'isolated', -62_227n, 123_461n),
        result: applied(62_225n),
        after: held(9_780_507_646n, 62_231n, 768_247_918n, 219_554_579n),
      },
      // Close the rest, 62,231 at 123,443: realized = floor(62,231·123,443 / 10) − 768,247,918
      //   = floor(7,681,981,333 / 10) − 768,247,918 = 768,198,133 − 768,247,918 = −49,785;
      //   the margin left, 219,554,579 − 49,785 = 219,504,794, returns to the wallet:
      //   9,780,507,646 + 219,504,794 = 10,000,012,440 (= 10^10 + 62,225 − 49,785).
      { operation: fill('iso', PEPE, 'isolated', -62_231n, 123_443n), result: applied(-49_785n), after: flat(10_000_012_440n) },
      // A short −54,321 at 123,471, isolated, 7x: x = 6,707,068,191 / 10 = 670,706,819.1 (rounding 1)
      //   margin = ceil(54,321·123,471 / 70) + 1 = ceil(95,815,259.87) + 1 = 95,815,261
      //   cost   = ceil(−6,707,068,191 / 10) = ceil(−670,706,819.1) = −670,706,819
      //   IM check: value floor(−54,321·123,457 / 10) = floor(−670,630,769.7) = −670,630,770,
      //             equity 95,815,261 − 670,630,770 + 670,706,819 = 95,891,310
      //             ≥ ceil(670,630,770 / 7) = ceil(95,804,395.71) = 95,804,396
      //   balance 10^10 − 95,815,261 = 9,904,184,739
      {
        operation: fill('iso-short', PEPE, 'isolated', -54_321n, 123_471n),
        result: applied(0n),
        after: held(9_904_184_739n, -54_321n, -670_706_819n, 95_815_261n),
      },
      // An open at the mark with the default margin is at its initial margin, not 1 micro short:
      // +123,457 at 123,457, 7x: x = 1,524,163,084.9 (rounding 1); margin ceil(15,241,630,849 / 70) + 1
      //   = ceil(217,737,583.56) + 1 = 217,737,585; equity 217,737,585 + 1,524,163,084 − 1,524,163,085
      //   = 217,737,584 = ceil(1,524,163,084 / 7) = 217,737,584, its initial margin exactly.
      //   The account 'iso' again: balance 10,000,012,440 − 217,737,585 = 9,782,274,855.
      {
        operation: fill('iso', PEPE, 'isolated', 123_457n, 123_457n),
        result: applied(0n),
        after: held(9_782_274_855n, 123_457n, 1_524_163_085n, 217_737_585n),
      },
    ];
    expectSteps(emptyBook([PEPE], ['iso', 'iso-short']), steps, [PEPE.symbol]);
  });

  it('a dust short: worth less than a micro, opened at a cost basis of 0', () => {
    // DUST12 (d = 10^6), mark 123,456.
    const steps: Step[] = [
      // Sell 7 units (0.0007 base) at 123,450, cross: cost = ceil(−7·123,450 / 10^6) = ceil(−0.86415) = 0.
      //   At the mark: value floor(−864,192 / 10^6) = −1, notional 1, IM ceil(1 / 7) = 1, pnl −1 − 0 = −1.
      { operation: fill('dust', DUST, 'cross', -7n, 123_450n), result: applied(0n), after: held(START, -7n, 0n) },
      // Buy them back at 123,470: realized = floor(−7·123,470 / 10^6) − 0 = floor(−0.86429) = −1.
      { operation: fill('dust', DUST, 'cross', 7n, 123_470n), result: applied(-1n), after: flat(START - 1n) },
      // The same short isolated, with the default margin ceil(7·123,450 / (10^6·7)) = ceil(0.12345) = 1
      //   plus the fill's rounding ceil(−0.86415) − floor(−0.86415) = 0 − (−1) = 1: margin 2,
      //   equity 2 + (−1 − 0) = 1 ≥ IM ceil(1 / 7) = 1. Balance 10^10 − 2.
      { operation: fill('dust-iso', DUST, 'isolated', -7n, 123_450n), result: applied(0n), after: held(START - 2n, -7n, 0n, 2n) },
      // With a margin of 0 given instead (a second account): equity 0 − 1 < 1, refused, nothing changes.
      {
        operation: fill('dust-iso2', DUST, 'isolated', -7n, 123_450n, 0n),
        result: { ok: false, code: 'below_initial_margin', reason: 'isolated equity -0.000001 would be below the initial margin 0.000001' },
        after: flat(START),
      },
    ];
    expectSteps(emptyBook([DUST], ['dust', 'dust-iso', 'dust-iso2']), steps, [DUST.symbol]);
  });
});

// ---------------------------------------------------------------------------------------------
// Ranges and margins at the mark.

describe('the mark and the initial margin on an instrument finer than a micro', () => {
  it('setMark refuses a mark that puts |z|·q·p over 10^18 (d > 1), and changes nothing', () => {
    // WIDE12: pd 8, sd 4, s = 12, d = 10^6, mark 100,000 (0.001). A cross long of 10^13 units
    // (10^9 base) with cost 10^13·100,000 / 10^6 = 10^12 (exact), 5x (its bracket's: 10^12 micro is past
    // 5·10^10): |z|·q·p = 10^13·100,000 = 10^18 exactly, the most allowed; its notional 10^12 is far
    // inside 10^16, so only the product's limit binds.
    const wide = instrument('WIDE12', 8, 4, 100_000n);
    const book: Book = {
      instruments: [wide],
      accounts: [
        {
          id: 'whale',
          balanceMicro: 1_000_000_000_000n,
          positions: [{ instrument: 0, sizeUnits: 10n ** 13n, costMicro: 10n ** 12n, mode: 'cross', marginMicro: 0n, leverage: 5, fundingIndex: 0n }],
        },
      ],
    };
    expectValid(book);
    const reason = (what: string, product: string) =>
      `${what} would put |size| × q × price at ${product}, over 10^18, the most an instrument finer than a micro (pd + sd > 6) allows (docs/numbers.md)`;
    // 100,001: 10^13·100,001 = 1,000,010,000,000,000,000 > 10^18 (notional ceil(that / 10^6) = 10^12 + 10^7, in range).
    const markRefused: OperationResult = { ok: false, code: 'out_of_range', reason: reason('WIDE12 mark 100001', '1000010000000000000') };
    // A fill of one more unit at 100,000: (10^13 + 1)·100,000 = 1,000,000,000,000,100,000 > 10^18.
    const fillRefused: OperationResult = { ok: false, code: 'out_of_range', reason: reason('the position at the mark', '1000000000000100000') };
    const operations: AnyOperation[] = [
      { kind: 'setMark', instrument: 'WIDE12', priceUnits: 100_001n },
      fill('whale', wide, 'cross', 1n, 100_000n),
    ];
    for (const run of ['applyOperation', 'applyBatch'] as const) {
      const engine = Engine.fromBook(book);
      const before = engine.toBook();
      const highWater = [...engine.sizeHighWater];
      const results = run === 'applyOperation' ? operations.map((operation) => applyOperation(engine, operation)) : applyBatch(engine, operations).results;
      expect(results, run).toEqual([markRefused, fillRefused]);
      expect(engine.toBook(), run).toEqual(before);
      expect(engine.sizeHighWater, run).toEqual(highWater);
      // One unit lower, and back at 10^18 exactly: taken.
      expect(applyOperation(engine, { kind: 'setMark', instrument: 'WIDE12', priceUnits: 99_999n })).toEqual({ ok: true });
      expect(engine.views.instMark[0]).toBe(99_999n);
      expect(applyOperation(engine, { kind: 'setMark', instrument: 'WIDE12', priceUnits: 100_000n })).toEqual({ ok: true });
      expect(engine.toBook()).toEqual(before);
    }
  });

  // 1000PEPEUSDT at the mark 123,483; a cross long of 123,457 entered at 123,451 (cost 1,524,089,011), 7x:
  //   value    = floor(123,457·123,483 / 10) = floor(15,244,840,731 / 10) = floor(1,524,484,073.1) = 1,524,484,073
  //   notional = 1,524,484,073 = 7·217,783,439, so IM = ceil(1,524,484,073 / 7) = 217,783,439 exactly,
  //   where the unrounded value would ask ceil(1,524,484,073.1 / 7) = ceil(217,783,439.01) = 217,783,440
  //   pnl      = 1,524,484,073 − 1,524,089,011 = 395,062
  // BTCUSDT (d = 1: pd 1, sd 3, q = 100) at 500,000 (50,000.0): a cross long of 7 units (0.007 BTC) at
  // the mark has pnl 0, notional 7·100·500,000 = 350,000,000 and IM 350,000,000 / 7 = 50,000,000 (7x).
  const imPepe = { ...PEPE, markUnits: 123_483n };
  const btc = instrument('BTCUSDT', 1, 3, 500_000n);
  const imBook = (balances: bigint[]): Book => ({
    instruments: [imPepe, btc],
    accounts: balances.map((balanceMicro, a) => ({
      id: `im-${a}`,
      balanceMicro,
      positions: [{ instrument: 0, sizeUnits: 123_457n, costMicro: 1_524_089_011n, mode: 'cross' as const, marginMicro: 0n, leverage: 7, fundingIndex: 0n }],
    })),
  });

  it('a withdrawal the cross initial margin allows only because the value is floored', () => {
    // Balance 300 quote: equity 300,000,000 + 395,062 = 300,395,062. Withdrawing
    // 300,395,062 − 217,783,439 = 82,611,623 leaves equity 217,783,439 = IM: allowed (the unrounded
    // value's IM, 217,783,440, would refuse it); one micro more leaves 217,783,438: refused.
    const book = imBook([300_000_000n, 300_000_000n]);
    expectValid(book);
    const operations: AnyOperation[] = [
      { kind: 'withdraw', account: 'im-0', amountMicro: 82_611_623n },
      { kind: 'withdraw', account: 'im-1', amountMicro: 82_611_624n },
    ];
    const expected: OperationResult[] = [
      { ok: true },
      { ok: false, code: 'below_initial_margin', reason: 'withdrawal would leave cross equity 217.783438 below the cross initial margin 217.783439' },
    ];
    const single = Engine.fromBook(book);
    expect(operations.map((operation) => applyOperation(single, operation))).toEqual(expected);
    const batched = Engine.fromBook(book);
    batched.sweep({ full: false });
    expect(applyBatch(batched, operations).results).toEqual(expected);
    for (const engine of [single, batched]) {
      // 300,000,000 − 82,611,623 = 217,388,377; the refused one unchanged.
      expect([engine.views.accBalance[0], engine.views.accBalance[1]]).toEqual([217_388_377n, 300_000_000n]);
    }
    expect(batched.toBook()).toEqual(single.toBook());
  });

  it("a fill the kernel applies counts the fine position's IM from its floored value (the kernel and the control plane agree)", () => {
    // Opening the BTC long needs equity ≥ 217,783,439 + 50,000,000 = 267,783,439. With a balance of
    // 267,783,439 − 395,062 = 267,388,377 the equity is exactly that: applied, by the kernel
    // (OUTCOME_OPENED). One micro less: equity 267,783,438 < 267,783,439: refused, by the kernel
    // (REFUSED_CROSS_INITIAL) with those two figures. The unrounded value would refuse both.
    const book = imBook([267_388_377n, 267_388_376n]);
    expectValid(book);
    const operations: AnyOperation[] = [
      { kind: 'fill', account: 'im-0', instrument: 'BTCUSDT', mode: 'cross', sizeUnits: 7n, priceUnits: 500_000n },
      { kind: 'fill', account: 'im-1', instrument: 'BTCUSDT', mode: 'cross', sizeUnits: 7n, priceUnits: 500_000n },
    ];
    const expected: OperationResult[] = [
      { ok: true, realizedPnlMicro: 0n },
      { ok: false, code: 'below_initial_margin', reason: 'the fill would leave cross equity 267.783438 below the cross initial margin 267.783439' },
    ];
    const single = Engine.fromBook(book);
    expect(operations.map((operation) => applyOperation(single, operation))).toEqual(expected);
    const batched = Engine.fromBook(book);
    batched.sweep({ full: false });
    const outcomes = new Map<number, number>();
    watchKernel(batched, outcomes);
    expect(applyBatch(batched, operations).results).toEqual(expected);
    expect([outcomes.get(0), outcomes.get(1)]).toEqual([OUTCOME_OPENED, REFUSED_CROSS_INITIAL]);
    expect(batched.toBook()).toEqual(single.toBook());
    expect(stateOf(batched, 'im-0', 'BTCUSDT', 'cross')).toEqual(held(267_388_377n, 7n, 350_000_000n));
    expect(stateOf(batched, 'im-1', 'BTCUSDT', 'cross')).toEqual(flat(267_388_376n));
  });
});
