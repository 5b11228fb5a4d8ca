// The BigInt reference on instruments finer than a micro (docs/numbers.md, "Instruments finer than
// a micro": pd + sd from 7 to 12). Every expected figure below was worked out by hand from the
// rules of that section (the arithmetic is in the comments; the liquidation roots by the bracket
// walk the doc describes, not by the reference's comparison of all roots), never by calling the
// reference. The instruments are Binance alt perps as listed; the tier table is Binance-like.
//
// With s = pd + sd > 6: q = 1, d = 10^(s − 6); value = floor(z·p / d) (toward −∞ for a long and a
// short), notional = |value|, cost = ceil(z·e / d) (toward +∞), funding owed = ceil(z·ΔF / 10^6)
// with an index of 12 − sd decimals. Amounts are micro, prices price units, sizes size units.
//
// Every book a hand-worked test evaluates is evaluated three ways, each held to the same hand-worked
// figures (expectEverywhere): the BigInt reference; the WASM engine's full evaluation
// (Engine.evaluate, accountResult); and a status sweep of the engine reading the chunk sweep's
// records (sweep({ full: false })), whose statuses and cross figures must be the same.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AccountResult, Book, Instrument, Position, Tier } from '../../src/book/model.js';
import { MODE_ISOLATED, STATUS_NAMES, type StatusName } from '../../src/fixed/constants.js';
import { Engine } from '../../src/engine/engine.js';
import {
  evaluateAccount,
  positionFigures,
  scopeEquityAt,
  scopeLiquidatableAt,
} from '../../src/reference/evaluate.js';

// Binance-like: 0.5% up to 50,000 quote, then 1% (cumX_1 = 5·10^10 micro · 5,000 ppm = 2.5·10^14,
// i.e. a maintenance amount of 250 quote taken off the 1% line).
const TIERS: Tier[] = [
  { upToNotional: 50_000_000_000n, ratePpm: 5_000n, leverageMax: 50 },
  { upToNotional: null, ratePpm: 10_000n, leverageMax: 25 },
];

function instrument(symbol: string, priceDecimals: number, sizeDecimals: number, markUnits: bigint, fundingIndex: bigint): Instrument {
  return { symbol, priceDecimals, sizeDecimals, tickUnits: 1n, lotUnits: 1n, markUnits, fundingIndex, tiers: TIERS };
}

interface Expected {
  value: bigint;
  notional: bigint;
  fundingOwed: bigint;
  pnl: bigint;
  maintenance: bigint;
  /** The scope's: the isolated position's equity, or the cross equity. */
  equity: bigint;
  status: StatusName;
  liquidation: bigint | null;
  bankruptcy: bigint | null;
}

interface Fixture {
  instrument: Instrument;
  /** Isolated long, funding snapshot equal to the instrument's index (nothing owed). */
  long: { sizeUnits: bigint; entryUnits: bigint; costMicro: bigint; marginMicro: bigint };
  /** The only position of a cross account, with unsettled funding. */
  short: { sizeUnits: bigint; entryUnits: bigint; costMicro: bigint; fundingIndex: bigint; balanceMicro: bigint };
  atMark: { long: Expected; short: Expected };
  stressed: { mark: bigint; long: Expected; short: Expected };
}

/** Account 0 holds the isolated long alone, account 1 the cross short alone. */
function fixtureBook(fixture: Fixture, markUnits: bigint): Book {
  const inst = { ...fixture.instrument, markUnits };
  const long: Position = {
    instrument: 0,
    sizeUnits: fixture.long.sizeUnits,
    costMicro: fixture.long.costMicro,
    mode: 'isolated',
    marginMicro: fixture.long.marginMicro,
    leverage: 20,
    fundingIndex: inst.fundingIndex,
  };
  const short: Position = {
    instrument: 0,
    sizeUnits: fixture.short.sizeUnits,
    costMicro: fixture.short.costMicro,
    mode: 'cross',
    marginMicro: 0n,
    leverage: 20,
    fundingIndex: fixture.short.fundingIndex,
  };
  return {
    instruments: [inst],
    accounts: [
      { id: 'isolated-long', balanceMicro: 0n, positions: [long] },
      { id: 'cross-short', balanceMicro: fixture.short.balanceMicro, positions: [short] },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// The engine's two ways to the same figures.

/** What a status sweep writes of an account: its cross figures and status, and each isolated position's status (null for a cross one). */
interface Statuses {
  crossEquityMicro: bigint;
  crossMaintenanceMicro: bigint;
  crossStatus: StatusName;
  positionStatuses: (StatusName | null)[];
}

function statusesOf(result: AccountResult): Statuses {
  return {
    crossEquityMicro: result.crossEquityMicro,
    crossMaintenanceMicro: result.crossMaintenanceMicro,
    crossStatus: result.crossStatus,
    positionStatuses: result.positions.map((p) => p.status),
  };
}

/** The engine's results for a book: the full evaluation's and the chunk sweep's, made once a book. */
interface EngineResults {
  full: AccountResult[];
  swept: Statuses[];
}

const engineResultsCache = new WeakMap<Book, EngineResults>();

/**
 * Loads the book twice: one engine evaluated in full (every figure and price, Engine.accountResult),
 * one only status-swept from the chunk sweep's records, which Engine.fromBook built (no column
 * sweep ran on it first: the records alone decide).
 */
function engineResults(book: Book): EngineResults {
  const cached = engineResultsCache.get(book);
  if (cached !== undefined) return cached;
  const evaluated = Engine.fromBook(book);
  evaluated.evaluate();
  const full = book.accounts.map((_, a) => evaluated.accountResult(a));
  const swept = Engine.fromBook(book);
  expect(swept.chunkSweep).toBe(true);
  swept.sweep({ full: false });
  const results = { full, swept: book.accounts.map((_, a) => sweptStatuses(swept, a)) };
  engineResultsCache.set(book, results);
  return results;
}

/** Account a's statuses as the last sweep wrote them. */
function sweptStatuses(engine: Engine, a: number): Statuses {
  const v = engine.views;
  const positionStatuses: (StatusName | null)[] = [];
  for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
    positionStatuses.push(v.posMode[j] === MODE_ISOLATED ? STATUS_NAMES[v.posStatus[j]] : null);
  }
  return { crossEquityMicro: v.accCrossEquity[a], crossMaintenanceMicro: v.accCrossMaint[a], crossStatus: STATUS_NAMES[v.accStatus[a]], positionStatuses };
}

/**
 * Account a of the book evaluated by the BigInt reference, by the engine in full and by the chunk
 * sweep: each equal to the hand-worked `expected` (the sweep: its statuses and cross figures).
 */
function expectEverywhere(book: Book, accountIndex: number, expected: AccountResult): void {
  expect(evaluateAccount(book, accountIndex), 'reference').toEqual(expected);
  const engine = engineResults(book);
  expect(engine.full[accountIndex], 'engine').toEqual(expected);
  expect(engine.swept[accountIndex], 'chunk sweep').toEqual(statusesOf(expected));
}

/** The book with one instrument's mark replaced. */
function bookAt(book: Book, instrument: number, markUnits: bigint): Book {
  return { ...book, instruments: book.instruments.map((inst, i) => (i === instrument ? { ...inst, markUnits } : inst)) };
}

/**
 * The scope of position j of account a at a price, from the reference, the engine's full
 * evaluation and the chunk sweep: whether it is liquidatable, and its equity (the sweep writes an
 * isolated position's status, not its equity: null there).
 */
function scopeEverywhere(book: Book, accountIndex: number, positionIndex: number, priceUnits: bigint) {
  const position = book.accounts[accountIndex].positions[positionIndex];
  const probe = bookAt(book, position.instrument, priceUnits);
  const scope = (result: AccountResult) => {
    const p = result.positions[positionIndex];
    return position.mode === 'cross'
      ? { liquidatable: result.crossStatus !== 'healthy', equity: result.crossEquityMicro }
      : { liquidatable: p.status !== 'healthy', equity: p.equityMicro };
  };
  const engine = engineResults(probe);
  const swept = engine.swept[accountIndex];
  return {
    reference: { liquidatable: scopeLiquidatableAt(book, accountIndex, positionIndex, priceUnits), equity: scopeEquityAt(book, accountIndex, positionIndex, priceUnits) },
    engine: scope(engine.full[accountIndex]),
    swept:
      position.mode === 'cross'
        ? { liquidatable: swept.crossStatus !== 'healthy', equity: swept.crossEquityMicro }
        : { liquidatable: swept.positionStatuses[positionIndex] !== 'healthy', equity: null },
  };
}

/** The scope is liquidatable at the price (or not), in the reference, the engine and the chunk sweep alike. */
function expectLiquidatableAt(book: Book, accountIndex: number, positionIndex: number, priceUnits: bigint, liquidatable: boolean): void {
  const at = scopeEverywhere(book, accountIndex, positionIndex, priceUnits);
  expect([at.reference.liquidatable, at.engine.liquidatable, at.swept.liquidatable], `liquidatable at ${priceUnits}`).toEqual([liquidatable, liquidatable, liquidatable]);
}

/** The scope's equity at the price, the same in the reference, the engine and (cross) the chunk sweep. */
function equityEverywhere(book: Book, accountIndex: number, positionIndex: number, priceUnits: bigint): bigint {
  const at = scopeEverywhere(book, accountIndex, positionIndex, priceUnits);
  expect(at.engine.equity, `engine equity at ${priceUnits}`).toBe(at.reference.equity);
  if (at.swept.equity !== null) expect(at.swept.equity, `chunk sweep equity at ${priceUnits}`).toBe(at.reference.equity);
  return at.reference.equity;
}

/** The hand-worked figures of a fixture position as its account's result (the isolated long's account has balance 0 and no cross position). */
function accountExpected(book: Book, accountIndex: number, expected: Expected): AccountResult {
  const position = book.accounts[accountIndex].positions[0];
  const prices = { liquidationPriceUnits: expected.liquidation, bankruptcyPriceUnits: expected.bankruptcy };
  if (position.mode === 'isolated') {
    return {
      crossEquityMicro: book.accounts[accountIndex].balanceMicro,
      crossMaintenanceMicro: 0n,
      crossStatus: 'healthy',
      positions: [{ unrealizedPnlMicro: expected.pnl, maintenanceMicro: expected.maintenance, equityMicro: expected.equity, status: expected.status, ...prices }],
    };
  }
  return {
    crossEquityMicro: expected.equity,
    crossMaintenanceMicro: expected.maintenance,
    crossStatus: expected.status,
    positions: [{ unrealizedPnlMicro: expected.pnl, maintenanceMicro: expected.maintenance, equityMicro: null, status: null, ...prices }],
  };
}

/** Every figure of the position (the fixtures' accounts hold one), and of its scope, exactly, three ways. */
function expectFigures(book: Book, accountIndex: number, positionIndex: number, expected: Expected): void {
  const position = book.accounts[accountIndex].positions[positionIndex];
  const figures = positionFigures(book.instruments[position.instrument], position);
  expect({
    value: figures.markValueMicro,
    notional: figures.notionalMicro,
    fundingOwed: figures.fundingOwedMicro,
    pnl: figures.unrealizedPnlMicro,
    maintenance: figures.maintenanceMicro,
  }).toEqual({
    value: expected.value,
    notional: expected.notional,
    fundingOwed: expected.fundingOwed,
    pnl: expected.pnl,
    maintenance: expected.maintenance,
  });
  expect(book.accounts[accountIndex].positions).toHaveLength(1);
  expectEverywhere(book, accountIndex, accountExpected(book, accountIndex, expected));
}

/**
 * The defining properties of the two prices, checked by re-evaluating the scope there (the
 * reference, the engine and the chunk sweep): liquidatable at the liquidation price and not one
 * tick toward the mark (a long's next tick up, a short's next tick down); equity ≥ 0 at the
 * bankruptcy price and < 0 one tick worse.
 */
function expectBoundaries(book: Book, accountIndex: number, positionIndex: number): void {
  const position = book.accounts[accountIndex].positions[positionIndex];
  const tick = book.instruments[position.instrument].tickUnits;
  const safeward = position.sizeUnits > 0n ? tick : -tick;
  const result = evaluateAccount(book, accountIndex).positions[positionIndex];
  const liq = result.liquidationPriceUnits;
  const bk = result.bankruptcyPriceUnits;
  if (liq === null || bk === null) throw new Error('these fixtures all have both prices');
  expectLiquidatableAt(book, accountIndex, positionIndex, liq, true);
  expectLiquidatableAt(book, accountIndex, positionIndex, liq + safeward, false);
  expect(equityEverywhere(book, accountIndex, positionIndex, bk)).toBeGreaterThanOrEqual(0n);
  expect(equityEverywhere(book, accountIndex, positionIndex, bk - safeward)).toBeLessThan(0n);
  // Liquidation comes before bankruptcy: a long's price above its bankruptcy price, a short's below.
  expect(position.sizeUnits > 0n ? liq > bk : liq < bk).toBe(true);
}

const FIXTURES: Fixture[] = [
  // ---- TNSRUSDT
  {
    // mark 0.3808000; tick 10^-7 (pd 7), lot 10^-1 (sd 1): s = 8, q = 1, d = 100;
    // funding index with 12 − sd = 11 decimals: F = 1,234,567,891
    instrument: instrument('TNSRUSDT', 7, 1, 3_808_000n, 1_234_567_891n),
    // isolated long 4,321.7 at 0.3761234, margin 150.123456 quote
    //   cost = ceil(43,217·3,761,234 / 100) = ceil(1,625,492,497.78) = 1,625,492,498
    long: { sizeUnits: 43_217n, entryUnits: 3_761_234n, costMicro: 1_625_492_498n, marginMicro: 150_123_456n },
    // cross short −2,789.3 at 0.3902117, balance 180.654321 quote
    //   cost = ceil(−27,893·3,902,117 / 100) = ceil(−1,088,417,494.81) = −1,088,417,494   (toward +∞: a smaller credit)
    // funding: index F − F_i = 345,678,901 units of 10^-11 = 0.00345678901 quote per base;
    //   owed = ceil(−27,893·345,678,901 / 10^6) = ceil(−9,642,021.58…) = −9,642,021
    //   (2,789.3 base × that = 9.64202158… quote, received; rounded toward +∞)
    short: { sizeUnits: -27_893n, entryUnits: 3_902_117n, costMicro: -1_088_417_494n, fundingIndex: 888_888_990n, balanceMicro: 180_654_321n },
    atMark: {
      // isolated long 43,217 at mark 3,808,000, margin 150,123,456:
      //   value    = floor(43,217·3,808,000 / 100) = 1,645,703,360   (exact)
      //   pnl      = 1,645,703,360 − 1,625,492,498 − 0 = 20,210,862
      //   mm       = ceil(1,645,703,360·5,000 / 10^6) = ceil(8,228,516.80) = 8,228,517
      //   equity   = 150,123,456 + 20,210,862 = 170,334,318: healthy
      //   E0       = 170,334,318 − 1,645,703,360 = −1,475,369,042
      //   root = (1,475,369,042·10^6) / 995,000 = 1,482,782,956.78…   (bracket 0); V = ceil(root) − 1 = 1,482,782,956
      //   liq  = highest tick below 100·1,482,782,957 / 43,217 = 3,431,017.78…: 3,431,017
      //   bk   = ceil(1,475,369,042·100 / 43,217) = ceil(3,413,862.69…) = 3,413,863
      // cross short −27,893 at mark 3,808,000, balance 180,654,321:
      //   value    = floor(−27,893·3,808,000 / 100) = −1,062,165,440   (exact)
      //   pnl      = −1,062,165,440 − (−1,088,417,494) − (−9,642,021) = 35,894,075
      //   mm       = ceil(1,062,165,440·5,000 / 10^6) = ceil(5,310,827.20) = 5,310,828
      //   equity   = 180,654,321 + 35,894,075 = 216,548,396: healthy
      //   E0       = 216,548,396 − (−1,062,165,440) = 1,278,713,836
      //   root = (1,278,713,836·10^6) / 1,005,000 = 1,272,352,075.62…   (bracket 0); N = floor(root) + 1 = 1,272,352,076
      //   liq  = lowest tick above 100·1,272,352,075 / 27,893 = 4,561,546.17…: 4,561,547
      //   bk   = floor(1,278,713,836·100 / 27,893) = floor(4,584,353.90…) = 4,584,353
      long: { value: 1_645_703_360n, notional: 1_645_703_360n, fundingOwed: 0n, pnl: 20_210_862n, maintenance: 8_228_517n, equity: 170_334_318n, status: 'healthy', liquidation: 3_431_017n, bankruptcy: 3_413_863n },
      short: { value: -1_062_165_440n, notional: 1_062_165_440n, fundingOwed: -9_642_021n, pnl: 35_894_075n, maintenance: 5_310_828n, equity: 216_548_396n, status: 'healthy', liquidation: 4_561_547n, bankruptcy: 4_584_353n },
    },
    stressed: {
      // the mark moves to 0.3420123, off the round digits: the values have sub-micro digits
      mark: 3_420_123n,
      // isolated long 43,217 at mark 3,420,123, margin 150,123,456:
      //   value    = floor(43,217·3,420,123 / 100) = floor(1,478,074,556.91) = 1,478,074,556
      //   pnl      = 1,478,074,556 − 1,625,492,498 − 0 = −147,417,942
      //   mm       = ceil(1,478,074,556·5,000 / 10^6) = ceil(7,390,372.78) = 7,390,373
      //   equity   = 150,123,456 − 147,417,942 = 2,705,514: liquidatable
      //   E0       = 2,705,514 − 1,478,074,556 = −1,475,369,042
      //   root = (1,475,369,042·10^6) / 995,000 = 1,482,782,956.78…   (bracket 0); V = ceil(root) − 1 = 1,482,782,956
      //   liq  = highest tick below 100·1,482,782,957 / 43,217 = 3,431,017.78…: 3,431,017
      //   bk   = ceil(1,475,369,042·100 / 43,217) = ceil(3,413,862.69…) = 3,413,863
      // cross short −27,893 at mark 3,420,123, balance 180,654,321:
      //   value    = floor(−27,893·3,420,123 / 100) = floor(−953,974,908.39) = −953,974,909
      //   pnl      = −953,974,909 − (−1,088,417,494) − (−9,642,021) = 144,084,606
      //   mm       = ceil(953,974,909·5,000 / 10^6) = ceil(4,769,874.54…) = 4,769,875
      //   equity   = 180,654,321 + 144,084,606 = 324,738,927: healthy
      //   E0       = 324,738,927 − (−953,974,909) = 1,278,713,836
      //   root = (1,278,713,836·10^6) / 1,005,000 = 1,272,352,075.62…   (bracket 0); N = floor(root) + 1 = 1,272,352,076
      //   liq  = lowest tick above 100·1,272,352,075 / 27,893 = 4,561,546.17…: 4,561,547
      //   bk   = floor(1,278,713,836·100 / 27,893) = floor(4,584,353.90…) = 4,584,353
      long: { value: 1_478_074_556n, notional: 1_478_074_556n, fundingOwed: 0n, pnl: -147_417_942n, maintenance: 7_390_373n, equity: 2_705_514n, status: 'liquidatable', liquidation: 3_431_017n, bankruptcy: 3_413_863n },
      short: { value: -953_974_909n, notional: 953_974_909n, fundingOwed: -9_642_021n, pnl: 144_084_606n, maintenance: 4_769_875n, equity: 324_738_927n, status: 'healthy', liquidation: 4_561_547n, bankruptcy: 4_584_353n },
    },
  },
  // ---- 1000LUNCUSDT
  {
    // mark 0.0771100; tick 10^-7 (pd 7), lot 1 (sd 0): s = 7, q = 1, d = 10;
    // funding index with 12 − sd = 12 decimals: F = −4,567,890,123
    instrument: instrument('1000LUNCUSDT', 7, 0, 771_100n, -4_567_890_123n),
    // isolated long 1,234,567 at 0.0765432, margin 4,876.543210 quote
    //   cost = ceil(1,234,567·765,432 / 10) = ceil(94,497,708,794.40) = 94,497,708,795
    long: { sizeUnits: 1_234_567n, entryUnits: 765_432n, costMicro: 94_497_708_795n, marginMicro: 4_876_543_210n },
    // cross short −876,543 at 0.0779876, balance 6,543.210987 quote
    //   cost = ceil(−876,543·779,876 / 10) = ceil(−68,359,484,866.80) = −68,359,484,866   (toward +∞: a smaller credit)
    // funding: index F − F_i = −12,345,678 units of 10^-12 = −0.000012345678 quote per base;
    //   owed = ceil(−876,543·(−12,345,678) / 10^6) = ceil(10,821,517.63…) = 10,821,518
    //   (876,543 base × that = 10.82151763… quote, paid; rounded toward +∞)
    short: { sizeUnits: -876_543n, entryUnits: 779_876n, costMicro: -68_359_484_866n, fundingIndex: -4_555_544_445n, balanceMicro: 6_543_210_987n },
    atMark: {
      // isolated long 1,234,567 at mark 771,100, margin 4,876,543,210:
      //   value    = floor(1,234,567·771,100 / 10) = 95,197,461,370   (exact)
      //   pnl      = 95,197,461,370 − 94,497,708,795 − 0 = 699,752,575
      //   mm       = ceil((95,197,461,370·10,000 − 2.5·10^14) / 10^6) = ceil(701,974,613.70) = 701,974,614   (bracket 1: > 5·10^10)
      //   equity   = 4,876,543,210 + 699,752,575 = 5,576,295,785: healthy
      //   E0       = 5,576,295,785 − 95,197,461,370 = −89,621,165,585
      //   root = (89,621,165,585·10^6 − 2.5·10^14) / 990,000 = 90,273,904,631.31…   (bracket 1); V = ceil(root) − 1 = 90,273,904,631
      //   liq  = highest tick below 10·90,273,904,632 / 1,234,567 = 731,219.16…: 731,219
      //   bk   = ceil(89,621,165,585·10 / 1,234,567) = ceil(725,931.97…) = 725,932
      // cross short −876,543 at mark 771,100, balance 6,543,210,987:
      //   value    = floor(−876,543·771,100 / 10) = −67,590,230,730   (exact)
      //   pnl      = −67,590,230,730 − (−68,359,484,866) − (10,821,518) = 758,432,618
      //   mm       = ceil((67,590,230,730·10,000 − 2.5·10^14) / 10^6) = ceil(425,902,307.30) = 425,902,308   (bracket 1: > 5·10^10)
      //   equity   = 6,543,210,987 + 758,432,618 = 7,301,643,605: healthy
      //   E0       = 7,301,643,605 − (−67,590,230,730) = 74,891,874,335
      //   root = (74,891,874,335·10^6 + 2.5·10^14) / 1,010,000 = 74,397,895,381.18…   (bracket 1); N = floor(root) + 1 = 74,397,895,382
      //   liq  = lowest tick above 10·74,397,895,381 / 876,543 = 848,764.92…: 848,765
      //   bk   = floor(74,891,874,335·10 / 876,543) = floor(854,400.46…) = 854,400
      long: { value: 95_197_461_370n, notional: 95_197_461_370n, fundingOwed: 0n, pnl: 699_752_575n, maintenance: 701_974_614n, equity: 5_576_295_785n, status: 'healthy', liquidation: 731_219n, bankruptcy: 725_932n },
      short: { value: -67_590_230_730n, notional: 67_590_230_730n, fundingOwed: 10_821_518n, pnl: 758_432_618n, maintenance: 425_902_308n, equity: 7_301_643_605n, status: 'healthy', liquidation: 848_765n, bankruptcy: 854_400n },
    },
    stressed: {
      // the mark moves to 0.0851237, off the round digits: the values have sub-micro digits
      mark: 851_237n,
      // isolated long 1,234,567 at mark 851,237, margin 4,876,543,210:
      //   value    = floor(1,234,567·851,237 / 10) = floor(105,090,910,937.90) = 105,090,910,937
      //   pnl      = 105,090,910,937 − 94,497,708,795 − 0 = 10,593,202,142
      //   mm       = ceil((105,090,910,937·10,000 − 2.5·10^14) / 10^6) = ceil(800,909,109.37) = 800,909,110   (bracket 1: > 5·10^10)
      //   equity   = 4,876,543,210 + 10,593,202,142 = 15,469,745,352: healthy
      //   E0       = 15,469,745,352 − 105,090,910,937 = −89,621,165,585
      //   root = (89,621,165,585·10^6 − 2.5·10^14) / 990,000 = 90,273,904,631.31…   (bracket 1); V = ceil(root) − 1 = 90,273,904,631
      //   liq  = highest tick below 10·90,273,904,632 / 1,234,567 = 731,219.16…: 731,219
      //   bk   = ceil(89,621,165,585·10 / 1,234,567) = ceil(725,931.97…) = 725,932
      // cross short −876,543 at mark 851,237, balance 6,543,210,987:
      //   value    = floor(−876,543·851,237 / 10) = floor(−74,614,583,369.10) = −74,614,583,370
      //   pnl      = −74,614,583,370 − (−68,359,484,866) − (10,821,518) = −6,265,920,022
      //   mm       = ceil((74,614,583,370·10,000 − 2.5·10^14) / 10^6) = ceil(496,145,833.70) = 496,145,834   (bracket 1: > 5·10^10)
      //   equity   = 6,543,210,987 − 6,265,920,022 = 277,290,965: liquidatable
      //   E0       = 277,290,965 − (−74,614,583,370) = 74,891,874,335
      //   root = (74,891,874,335·10^6 + 2.5·10^14) / 1,010,000 = 74,397,895,381.18…   (bracket 1); N = floor(root) + 1 = 74,397,895,382
      //   liq  = lowest tick above 10·74,397,895,381 / 876,543 = 848,764.92…: 848,765
      //   bk   = floor(74,891,874,335·10 / 876,543) = floor(854,400.46…) = 854,400
      long: { value: 105_090_910_937n, notional: 105_090_910_937n, fundingOwed: 0n, pnl: 10_593_202_142n, maintenance: 800_909_110n, equity: 15_469_745_352n, status: 'healthy', liquidation: 731_219n, bankruptcy: 725_932n },
      short: { value: -74_614_583_370n, notional: 74_614_583_370n, fundingOwed: 10_821_518n, pnl: -6_265_920_022n, maintenance: 496_145_834n, equity: 277_290_965n, status: 'liquidatable', liquidation: 848_765n, bankruptcy: 854_400n },
    },
  },
  // ---- LEVERUSDT
  {
    // mark 0.0013561; tick 10^-7 (pd 7), lot 1 (sd 0): s = 7, q = 1, d = 10;
    // funding index with 12 − sd = 12 decimals: F = 987,654,321
    instrument: instrument('LEVERUSDT', 7, 0, 13_561n, 987_654_321n),
    // isolated long 98,765,432 at 0.0013497, margin 7,012.345678 quote
    //   cost = ceil(98,765,432·13,497 / 10) = ceil(133,303,703,570.40) = 133,303,703,571
    long: { sizeUnits: 98_765_432n, entryUnits: 13_497n, costMicro: 133_303_703_571n, marginMicro: 7_012_345_678n },
    // cross short −12,345,679 at 0.0013602, balance 2,345.678901 quote
    //   cost = ceil(−12,345,679·13,602 / 10) = ceil(−16,792,592,575.80) = −16,792,592,575   (toward +∞: a smaller credit)
    // funding: index F − F_i = 987,654 units of 10^-12 = 0.000000987654 quote per base;
    //   owed = ceil(−12,345,679·987,654 / 10^6) = ceil(−12,193,259.24…) = −12,193,259
    //   (12,345,679 base × that = 12.19325924… quote, received; rounded toward +∞)
    short: { sizeUnits: -12_345_679n, entryUnits: 13_602n, costMicro: -16_792_592_575n, fundingIndex: 986_666_667n, balanceMicro: 2_345_678_901n },
    atMark: {
      // isolated long 98,765,432 at mark 13,561, margin 7,012,345,678:
      //   value    = floor(98,765,432·13,561 / 10) = floor(133,935,802,335.20) = 133,935,802,335
      //   pnl      = 133,935,802,335 − 133,303,703,571 − 0 = 632,098,764
      //   mm       = ceil((133,935,802,335·10,000 − 2.5·10^14) / 10^6) = ceil(1,089,358,023.35) = 1,089,358,024   (bracket 1: > 5·10^10)
      //   equity   = 7,012,345,678 + 632,098,764 = 7,644,444,442: healthy
      //   E0       = 7,644,444,442 − 133,935,802,335 = −126,291,357,893
      //   root = (126,291,357,893·10^6 − 2.5·10^14) / 990,000 = 127,314,502,922.22…   (bracket 1); V = ceil(root) − 1 = 127,314,502,922
      //   liq  = highest tick below 10·127,314,502,923 / 98,765,432 = 12,890.59…: 12,890
      //   bk   = ceil(126,291,357,893·10 / 98,765,432) = ceil(12,786.99…) = 12,787
      // cross short −12,345,679 at mark 13,561, balance 2,345,678,901:
      //   value    = floor(−12,345,679·13,561 / 10) = floor(−16,741,975,291.90) = −16,741,975,292
      //   pnl      = −16,741,975,292 − (−16,792,592,575) − (−12,193,259) = 62,810,542
      //   mm       = ceil(16,741,975,292·5,000 / 10^6) = ceil(83,709,876.46) = 83,709,877
      //   equity   = 2,345,678,901 + 62,810,542 = 2,408,489,443: healthy
      //   E0       = 2,408,489,443 − (−16,741,975,292) = 19,150,464,735
      //   root = (19,150,464,735·10^6) / 1,005,000 = 19,055,188,791.04…   (bracket 0); N = floor(root) + 1 = 19,055,188,792
      //   liq  = lowest tick above 10·19,055,188,791 / 12,345,679 = 15,434.70…: 15,435
      //   bk   = floor(19,150,464,735·10 / 12,345,679) = floor(15,511.87…) = 15,511
      long: { value: 133_935_802_335n, notional: 133_935_802_335n, fundingOwed: 0n, pnl: 632_098_764n, maintenance: 1_089_358_024n, equity: 7_644_444_442n, status: 'healthy', liquidation: 12_890n, bankruptcy: 12_787n },
      short: { value: -16_741_975_292n, notional: 16_741_975_292n, fundingOwed: -12_193_259n, pnl: 62_810_542n, maintenance: 83_709_877n, equity: 2_408_489_443n, status: 'healthy', liquidation: 15_435n, bankruptcy: 15_511n },
    },
    stressed: {
      // the mark moves to 0.0012701, off the round digits: the values have sub-micro digits
      mark: 12_701n,
      // isolated long 98,765,432 at mark 12,701, margin 7,012,345,678:
      //   value    = floor(98,765,432·12,701 / 10) = floor(125,441,975,183.20) = 125,441,975,183
      //   pnl      = 125,441,975,183 − 133,303,703,571 − 0 = −7,861,728,388
      //   mm       = ceil((125,441,975,183·10,000 − 2.5·10^14) / 10^6) = ceil(1,004,419,751.83) = 1,004,419,752   (bracket 1: > 5·10^10)
      //   equity   = 7,012,345,678 − 7,861,728,388 = −849,382,710: bankrupt
      //   E0       = −849,382,710 − 125,441,975,183 = −126,291,357,893
      //   root = (126,291,357,893·10^6 − 2.5·10^14) / 990,000 = 127,314,502,922.22…   (bracket 1); V = ceil(root) − 1 = 127,314,502,922
      //   liq  = highest tick below 10·127,314,502,923 / 98,765,432 = 12,890.59…: 12,890
      //   bk   = ceil(126,291,357,893·10 / 98,765,432) = ceil(12,786.99…) = 12,787
      // cross short −12,345,679 at mark 12,701, balance 2,345,678,901:
      //   value    = floor(−12,345,679·12,701 / 10) = floor(−15,680,246,897.90) = −15,680,246,898
      //   pnl      = −15,680,246,898 − (−16,792,592,575) − (−12,193,259) = 1,124,538,936
      //   mm       = ceil(15,680,246,898·5,000 / 10^6) = ceil(78,401,234.49) = 78,401,235
      //   equity   = 2,345,678,901 + 1,124,538,936 = 3,470,217,837: healthy
      //   E0       = 3,470,217,837 − (−15,680,246,898) = 19,150,464,735
      //   root = (19,150,464,735·10^6) / 1,005,000 = 19,055,188,791.04…   (bracket 0); N = floor(root) + 1 = 19,055,188,792
      //   liq  = lowest tick above 10·19,055,188,791 / 12,345,679 = 15,434.70…: 15,435
      //   bk   = floor(19,150,464,735·10 / 12,345,679) = floor(15,511.87…) = 15,511
      long: { value: 125_441_975_183n, notional: 125_441_975_183n, fundingOwed: 0n, pnl: -7_861_728_388n, maintenance: 1_004_419_752n, equity: -849_382_710n, status: 'bankrupt', liquidation: 12_890n, bankruptcy: 12_787n },
      short: { value: -15_680_246_898n, notional: 15_680_246_898n, fundingOwed: -12_193_259n, pnl: 1_124_538_936n, maintenance: 78_401_235n, equity: 3_470_217_837n, status: 'healthy', liquidation: 15_435n, bankruptcy: 15_511n },
    },
  },
  // ---- WIFUSDT
  {
    // mark 0.6852000; tick 10^-7 (pd 7), lot 10^-1 (sd 1): s = 8, q = 1, d = 100;
    // funding index with 12 − sd = 11 decimals: F = −23,456,789,012
    instrument: instrument('WIFUSDT', 7, 1, 6_852_000n, -23_456_789_012n),
    // isolated long 7,890.1 at 0.6798765, margin 432.109876 quote
    //   cost = ceil(78,901·6,798,765 / 100) = ceil(5,364,293,572.65) = 5,364,293,573
    long: { sizeUnits: 78_901n, entryUnits: 6_798_765n, costMicro: 5_364_293_573n, marginMicro: 432_109_876n },
    // cross short −5,432.1 at 0.6912345, balance 400.000001 quote
    //   cost = ceil(−54,321·6,912,345 / 100) = ceil(−3,754,854,927.45) = −3,754,854,927   (toward +∞: a smaller credit)
    // funding: index F − F_i = −56,789,012 units of 10^-11 = −0.00056789012 quote per base;
    //   owed = ceil(−54,321·(−56,789,012) / 10^6) = ceil(3,084,835.92…) = 3,084,836
    //   (5,432.1 base × that = 3.08483592… quote, paid; rounded toward +∞)
    short: { sizeUnits: -54_321n, entryUnits: 6_912_345n, costMicro: -3_754_854_927n, fundingIndex: -23_400_000_000n, balanceMicro: 400_000_001n },
    atMark: {
      // isolated long 78,901 at mark 6,852,000, margin 432,109,876:
      //   value    = floor(78,901·6,852,000 / 100) = 5,406,296,520   (exact)
      //   pnl      = 5,406,296,520 − 5,364,293,573 − 0 = 42,002,947
      //   mm       = ceil(5,406,296,520·5,000 / 10^6) = ceil(27,031,482.60) = 27,031,483
      //   equity   = 432,109,876 + 42,002,947 = 474,112,823: healthy
      //   E0       = 474,112,823 − 5,406,296,520 = −4,932,183,697
      //   root = (4,932,183,697·10^6) / 995,000 = 4,956,968,539.69…   (bracket 0); V = ceil(root) − 1 = 4,956,968,539
      //   liq  = highest tick below 100·4,956,968,540 / 78,901 = 6,282,516.74…: 6,282,516
      //   bk   = ceil(4,932,183,697·100 / 78,901) = ceil(6,251,104.16…) = 6,251,105
      // cross short −54,321 at mark 6,852,000, balance 400,000,001:
      //   value    = floor(−54,321·6,852,000 / 100) = −3,722,074,920   (exact)
      //   pnl      = −3,722,074,920 − (−3,754,854,927) − (3,084,836) = 29,695,171
      //   mm       = ceil(3,722,074,920·5,000 / 10^6) = ceil(18,610,374.60) = 18,610,375
      //   equity   = 400,000,001 + 29,695,171 = 429,695,172: healthy
      //   E0       = 429,695,172 − (−3,722,074,920) = 4,151,770,092
      //   root = (4,151,770,092·10^6) / 1,005,000 = 4,131,114,519.40…   (bracket 0); N = floor(root) + 1 = 4,131,114,520
      //   liq  = lowest tick above 100·4,131,114,519 / 54,321 = 7,605,004.54…: 7,605,005
      //   bk   = floor(4,151,770,092·100 / 54,321) = floor(7,643,029.56…) = 7,643,029
      long: { value: 5_406_296_520n, notional: 5_406_296_520n, fundingOwed: 0n, pnl: 42_002_947n, maintenance: 27_031_483n, equity: 474_112_823n, status: 'healthy', liquidation: 6_282_516n, bankruptcy: 6_251_105n },
      short: { value: -3_722_074_920n, notional: 3_722_074_920n, fundingOwed: 3_084_836n, pnl: 29_695_171n, maintenance: 18_610_375n, equity: 429_695_172n, status: 'healthy', liquidation: 7_605_005n, bankruptcy: 7_643_029n },
    },
    stressed: {
      // the mark moves to 0.7650001, off the round digits: the values have sub-micro digits
      mark: 7_650_001n,
      // isolated long 78,901 at mark 7,650,001, margin 432,109,876:
      //   value    = floor(78,901·7,650,001 / 100) = floor(6,035,927,289.01) = 6,035,927,289
      //   pnl      = 6,035,927,289 − 5,364,293,573 − 0 = 671,633,716
      //   mm       = ceil(6,035,927,289·5,000 / 10^6) = ceil(30,179,636.44…) = 30,179,637
      //   equity   = 432,109,876 + 671,633,716 = 1,103,743,592: healthy
      //   E0       = 1,103,743,592 − 6,035,927,289 = −4,932,183,697
      //   root = (4,932,183,697·10^6) / 995,000 = 4,956,968,539.69…   (bracket 0); V = ceil(root) − 1 = 4,956,968,539
      //   liq  = highest tick below 100·4,956,968,540 / 78,901 = 6,282,516.74…: 6,282,516
      //   bk   = ceil(4,932,183,697·100 / 78,901) = ceil(6,251,104.16…) = 6,251,105
      // cross short −54,321 at mark 7,650,001, balance 400,000,001:
      //   value    = floor(−54,321·7,650,001 / 100) = floor(−4,155,557,043.21) = −4,155,557,044
      //   pnl      = −4,155,557,044 − (−3,754,854,927) − (3,084,836) = −403,786,953
      //   mm       = ceil(4,155,557,044·5,000 / 10^6) = ceil(20,777,785.22) = 20,777,786
      //   equity   = 400,000,001 − 403,786,953 = −3,786,952: bankrupt
      //   E0       = −3,786,952 − (−4,155,557,044) = 4,151,770,092
      //   root = (4,151,770,092·10^6) / 1,005,000 = 4,131,114,519.40…   (bracket 0); N = floor(root) + 1 = 4,131,114,520
      //   liq  = lowest tick above 100·4,131,114,519 / 54,321 = 7,605,004.54…: 7,605,005
      //   bk   = floor(4,151,770,092·100 / 54,321) = floor(7,643,029.56…) = 7,643,029
      long: { value: 6_035_927_289n, notional: 6_035_927_289n, fundingOwed: 0n, pnl: 671_633_716n, maintenance: 30_179_637n, equity: 1_103_743_592n, status: 'healthy', liquidation: 6_282_516n, bankruptcy: 6_251_105n },
      short: { value: -4_155_557_044n, notional: 4_155_557_044n, fundingOwed: 3_084_836n, pnl: -403_786_953n, maintenance: 20_777_786n, equity: -3_786_952n, status: 'bankrupt', liquidation: 7_605_005n, bankruptcy: 7_643_029n },
    },
  },
  // ---- INJUSDT: the venue prints the mark 15.0310000 with 7 decimals, the 7th a zero; the tick
  // is 0.000001, so pd = 6 and the mark is 15,031,000 units.
  {
    // mark 15.031000; tick 10^-6 (pd 6), lot 10^-1 (sd 1): s = 7, q = 1, d = 10;
    // funding index with 12 − sd = 11 decimals: F = 3,456,789,012
    instrument: instrument('INJUSDT', 6, 1, 15_031_000n, 3_456_789_012n),
    // isolated long 345.7 at 14.987653, margin 345.678912 quote
    //   cost = ceil(3,457·14,987,653 / 10) = ceil(5,181,231,642.10) = 5,181,231,643
    long: { sizeUnits: 3_457n, entryUnits: 14_987_653n, costMicro: 5_181_231_643n, marginMicro: 345_678_912n },
    // cross short −210.9 at 15.123457, balance 250.123456 quote
    //   cost = ceil(−2,109·15,123,457 / 10) = ceil(−3,189,537,081.30) = −3,189,537,081   (toward +∞: a smaller credit)
    // funding: index F − F_i = 1,234,567,890 units of 10^-11 = 0.01234567890 quote per base;
    //   owed = ceil(−2,109·1,234,567,890 / 10^6) = ceil(−2,603,703.68…) = −2,603,703
    //   (210.9 base × that = 2.60370368… quote, received; rounded toward +∞)
    short: { sizeUnits: -2_109n, entryUnits: 15_123_457n, costMicro: -3_189_537_081n, fundingIndex: 2_222_221_122n, balanceMicro: 250_123_456n },
    atMark: {
      // isolated long 3,457 at mark 15,031,000, margin 345,678,912:
      //   value    = floor(3,457·15,031,000 / 10) = 5,196,216,700   (exact)
      //   pnl      = 5,196,216,700 − 5,181,231,643 − 0 = 14,985,057
      //   mm       = ceil(5,196,216,700·5,000 / 10^6) = ceil(25,981,083.50) = 25,981,084
      //   equity   = 345,678,912 + 14,985,057 = 360,663,969: healthy
      //   E0       = 360,663,969 − 5,196,216,700 = −4,835,552,731
      //   root = (4,835,552,731·10^6) / 995,000 = 4,859,851,990.95…   (bracket 0); V = ceil(root) − 1 = 4,859,851,990
      //   liq  = highest tick below 10·4,859,851,991 / 3,457 = 14,058,004.02…: 14,058,004
      //   bk   = ceil(4,835,552,731·10 / 3,457) = ceil(13,987,714.00…) = 13,987,715
      // cross short −2,109 at mark 15,031,000, balance 250,123,456:
      //   value    = floor(−2,109·15,031,000 / 10) = −3,170,037,900   (exact)
      //   pnl      = −3,170,037,900 − (−3,189,537,081) − (−2,603,703) = 22,102,884
      //   mm       = ceil(3,170,037,900·5,000 / 10^6) = ceil(15,850,189.50) = 15,850,190
      //   equity   = 250,123,456 + 22,102,884 = 272,226,340: healthy
      //   E0       = 272,226,340 − (−3,170,037,900) = 3,442,264,240
      //   root = (3,442,264,240·10^6) / 1,005,000 = 3,425,138,547.26…   (bracket 0); N = floor(root) + 1 = 3,425,138,548
      //   liq  = lowest tick above 10·3,425,138,547 / 2,109 = 16,240,581.06…: 16,240,582
      //   bk   = floor(3,442,264,240·10 / 2,109) = floor(16,321,783.97…) = 16,321,783
      long: { value: 5_196_216_700n, notional: 5_196_216_700n, fundingOwed: 0n, pnl: 14_985_057n, maintenance: 25_981_084n, equity: 360_663_969n, status: 'healthy', liquidation: 14_058_004n, bankruptcy: 13_987_715n },
      short: { value: -3_170_037_900n, notional: 3_170_037_900n, fundingOwed: -2_603_703n, pnl: 22_102_884n, maintenance: 15_850_190n, equity: 272_226_340n, status: 'healthy', liquidation: 16_240_582n, bankruptcy: 16_321_783n },
    },
    stressed: {
      // the mark moves to 14.058004, off the round digits: the values have sub-micro digits
      mark: 14_058_004n,
      // isolated long 3,457 at mark 14,058,004, margin 345,678,912:
      //   value    = floor(3,457·14,058,004 / 10) = floor(4,859,851,982.80) = 4,859,851,982
      //   pnl      = 4,859,851,982 − 5,181,231,643 − 0 = −321,379,661
      //   mm       = ceil(4,859,851,982·5,000 / 10^6) = ceil(24,299,259.91) = 24,299,260
      //   equity   = 345,678,912 − 321,379,661 = 24,299,251: liquidatable
      //   E0       = 24,299,251 − 4,859,851,982 = −4,835,552,731
      //   root = (4,835,552,731·10^6) / 995,000 = 4,859,851,990.95…   (bracket 0); V = ceil(root) − 1 = 4,859,851,990
      //   liq  = highest tick below 10·4,859,851,991 / 3,457 = 14,058,004.02…: 14,058,004
      //   bk   = ceil(4,835,552,731·10 / 3,457) = ceil(13,987,714.00…) = 13,987,715
      // cross short −2,109 at mark 14,058,004, balance 250,123,456:
      //   value    = floor(−2,109·14,058,004 / 10) = floor(−2,964,833,043.60) = −2,964,833,044
      //   pnl      = −2,964,833,044 − (−3,189,537,081) − (−2,603,703) = 227,307,740
      //   mm       = ceil(2,964,833,044·5,000 / 10^6) = ceil(14,824,165.22) = 14,824,166
      //   equity   = 250,123,456 + 227,307,740 = 477,431,196: healthy
      //   E0       = 477,431,196 − (−2,964,833,044) = 3,442,264,240
      //   root = (3,442,264,240·10^6) / 1,005,000 = 3,425,138,547.26…   (bracket 0); N = floor(root) + 1 = 3,425,138,548
      //   liq  = lowest tick above 10·3,425,138,547 / 2,109 = 16,240,581.06…: 16,240,582
      //   bk   = floor(3,442,264,240·10 / 2,109) = floor(16,321,783.97…) = 16,321,783
      long: { value: 4_859_851_982n, notional: 4_859_851_982n, fundingOwed: 0n, pnl: -321_379_661n, maintenance: 24_299_260n, equity: 24_299_251n, status: 'liquidatable', liquidation: 14_058_004n, bankruptcy: 13_987_715n },
      short: { value: -2_964_833_044n, notional: 2_964_833_044n, fundingOwed: -2_603_703n, pnl: 227_307_740n, maintenance: 14_824_166n, equity: 477_431_196n, status: 'healthy', liquidation: 16_240_582n, bankruptcy: 16_321_783n },
    },
  },
  // ---- 1000PEPEUSDT: the long is the worked example of docs/numbers.md (value, cost, PnL 74,073,
  // and with this margin the liquidation price 117,840 and bankruptcy price 117,252 worked there).
  {
    // mark 0.0123457; tick 10^-7 (pd 7), lot 1 (sd 0): s = 7, q = 1, d = 10;
    // funding index with 12 − sd = 12 decimals: F = 55,555,555
    instrument: instrument('1000PEPEUSDT', 7, 0, 123_457n, 55_555_555n),
    // isolated long 123,457 at 0.0123451, margin 76.543210 quote
    //   cost = ceil(123,457·123,451 / 10) = ceil(1,524,089,010.70) = 1,524,089,011
    long: { sizeUnits: 123_457n, entryUnits: 123_451n, costMicro: 1_524_089_011n, marginMicro: 76_543_210n },
    // cross short −6,480,123 at 0.0123999, balance 4,321.987654 quote
    //   cost = ceil(−6,480,123·123,999 / 10) = ceil(−80,352,877,187.70) = −80,352,877,187   (toward +∞: a smaller credit)
    // funding: index F − F_i = −123,456 units of 10^-12 = −0.000000123456 quote per base;
    //   owed = ceil(−6,480,123·(−123,456) / 10^6) = ceil(800,010.06…) = 800,011
    //   (6,480,123 base × that = 0.80001006… quote, paid; rounded toward +∞)
    short: { sizeUnits: -6_480_123n, entryUnits: 123_999n, costMicro: -80_352_877_187n, fundingIndex: 55_679_011n, balanceMicro: 4_321_987_654n },
    atMark: {
      // isolated long 123,457 at mark 123,457, margin 76,543,210:
      //   value    = floor(123,457·123,457 / 10) = floor(1,524,163,084.90) = 1,524,163,084
      //   pnl      = 1,524,163,084 − 1,524,089,011 − 0 = 74,073
      //   mm       = ceil(1,524,163,084·5,000 / 10^6) = ceil(7,620,815.42) = 7,620,816
      //   equity   = 76,543,210 + 74,073 = 76,617,283: healthy
      //   E0       = 76,617,283 − 1,524,163,084 = −1,447,545,801
      //   root = (1,447,545,801·10^6) / 995,000 = 1,454,819,900.50…   (bracket 0); V = ceil(root) − 1 = 1,454,819,900
      //   liq  = highest tick below 10·1,454,819,901 / 123,457 = 117,840.21…: 117,840
      //   bk   = ceil(1,447,545,801·10 / 123,457) = ceil(117,251.01…) = 117,252
      // cross short −6,480,123 at mark 123,457, balance 4,321,987,654:
      //   value    = floor(−6,480,123·123,457 / 10) = floor(−80,001,654,521.10) = −80,001,654,522
      //   pnl      = −80,001,654,522 − (−80,352,877,187) − (800,011) = 350,422,654
      //   mm       = ceil((80,001,654,522·10,000 − 2.5·10^14) / 10^6) = ceil(550,016,545.22) = 550,016,546   (bracket 1: > 5·10^10)
      //   equity   = 4,321,987,654 + 350,422,654 = 4,672,410,308: healthy
      //   E0       = 4,672,410,308 − (−80,001,654,522) = 84,674,064,830
      //   root = (84,674,064,830·10^6 + 2.5·10^14) / 1,010,000 = 84,083,232,504.95…   (bracket 1); N = floor(root) + 1 = 84,083,232,505
      //   liq  = lowest tick above 10·84,083,232,504 / 6,480,123 = 129,755.61…: 129,756
      //   bk   = floor(84,674,064,830·10 / 6,480,123) = floor(130,667.37…) = 130,667
      long: { value: 1_524_163_084n, notional: 1_524_163_084n, fundingOwed: 0n, pnl: 74_073n, maintenance: 7_620_816n, equity: 76_617_283n, status: 'healthy', liquidation: 117_840n, bankruptcy: 117_252n },
      short: { value: -80_001_654_522n, notional: 80_001_654_522n, fundingOwed: 800_011n, pnl: 350_422_654n, maintenance: 550_016_546n, equity: 4_672_410_308n, status: 'healthy', liquidation: 129_756n, bankruptcy: 130_667n },
    },
    stressed: {
      // the mark moves to 0.0129761, off the round digits: the values have sub-micro digits
      mark: 129_761n,
      // isolated long 123,457 at mark 129,761, margin 76,543,210:
      //   value    = floor(123,457·129,761 / 10) = floor(1,601,990,377.70) = 1,601,990,377
      //   pnl      = 1,601,990,377 − 1,524,089,011 − 0 = 77,901,366
      //   mm       = ceil(1,601,990,377·5,000 / 10^6) = ceil(8,009,951.88…) = 8,009,952
      //   equity   = 76,543,210 + 77,901,366 = 154,444,576: healthy
      //   E0       = 154,444,576 − 1,601,990,377 = −1,447,545,801
      //   root = (1,447,545,801·10^6) / 995,000 = 1,454,819,900.50…   (bracket 0); V = ceil(root) − 1 = 1,454,819,900
      //   liq  = highest tick below 10·1,454,819,901 / 123,457 = 117,840.21…: 117,840
      //   bk   = ceil(1,447,545,801·10 / 123,457) = ceil(117,251.01…) = 117,252
      // cross short −6,480,123 at mark 129,761, balance 4,321,987,654:
      //   value    = floor(−6,480,123·129,761 / 10) = floor(−84,086,724,060.30) = −84,086,724,061
      //   pnl      = −84,086,724,061 − (−80,352,877,187) − (800,011) = −3,734,646,885
      //   mm       = ceil((84,086,724,061·10,000 − 2.5·10^14) / 10^6) = ceil(590,867,240.61) = 590,867,241   (bracket 1: > 5·10^10)
      //   equity   = 4,321,987,654 − 3,734,646,885 = 587,340,769: liquidatable
      //   E0       = 587,340,769 − (−84,086,724,061) = 84,674,064,830
      //   root = (84,674,064,830·10^6 + 2.5·10^14) / 1,010,000 = 84,083,232,504.95…   (bracket 1); N = floor(root) + 1 = 84,083,232,505
      //   liq  = lowest tick above 10·84,083,232,504 / 6,480,123 = 129,755.61…: 129,756
      //   bk   = floor(84,674,064,830·10 / 6,480,123) = floor(130,667.37…) = 130,667
      long: { value: 1_601_990_377n, notional: 1_601_990_377n, fundingOwed: 0n, pnl: 77_901_366n, maintenance: 8_009_952n, equity: 154_444_576n, status: 'healthy', liquidation: 117_840n, bankruptcy: 117_252n },
      short: { value: -84_086_724_061n, notional: 84_086_724_061n, fundingOwed: 800_011n, pnl: -3_734_646_885n, maintenance: 590_867_241n, equity: 587_340_769n, status: 'liquidatable', liquidation: 129_756n, bankruptcy: 130_667n },
    },
  },
];

describe('reference: instruments finer than a micro, hand-worked', () => {
  for (const fixture of FIXTURES) {
    const symbol = fixture.instrument.symbol;
    it(`${symbol}: every figure at the mark, the long isolated and the short cross with funding`, () => {
      const book = fixtureBook(fixture, fixture.instrument.markUnits);
      expectFigures(book, 0, 0, fixture.atMark.long);
      expectFigures(book, 1, 0, fixture.atMark.short);
    });

    it(`${symbol}: every figure at a mark whose values have sub-micro digits`, () => {
      const book = fixtureBook(fixture, fixture.stressed.mark);
      expectFigures(book, 0, 0, fixture.stressed.long);
      expectFigures(book, 1, 0, fixture.stressed.short);
    });

    it(`${symbol}: the reported prices are the boundaries they claim to be`, () => {
      for (const mark of [fixture.instrument.markUnits, fixture.stressed.mark]) {
        const book = fixtureBook(fixture, mark);
        expectBoundaries(book, 0, 0);
        expectBoundaries(book, 1, 0);
      }
    });
  }

  it('a cross account holding two fine positions: each price holds the other position and its maintenance', () => {
    const tnsr = FIXTURES.find((f) => f.instrument.symbol === 'TNSRUSDT')!;
    const wif = FIXTURES.find((f) => f.instrument.symbol === 'WIFUSDT')!;
    // The TNSR short of its fixture (mark 0.3808000) and the WIF long of its fixture, cross here,
    // at the WIF mark 0.6852049; balance 95.432109 quote.
    //   TNSR short: value −1,062,165,440, pnl 35,894,075, mm 5,310,828 (as in its fixture)
    //   WIF long:   value = floor(78,901·6,852,049 / 100) = floor(5,406,335,181.49) = 5,406,335,181
    //               pnl   = 5,406,335,181 − 5,364,293,573 − 0 = 42,041,608
    //               mm    = ceil(5,406,335,181·5,000 / 10^6) = ceil(27,031,675.90…) = 27,031,676
    //   C  = 95,432,109 + 35,894,075 + 42,041,608 = 173,367,792
    //   MM = 5,310,828 + 27,031,676 = 32,342,504: healthy
    // TNSR short: E0 = 173,367,792 + 1,062,165,440 = 1,235,533,232, MMo = 27,031,676
    //   root = (1,235,533,232 − 27,031,676)·10^6 / 1,005,000 = 1,202,489,110.44… (bracket 0); N = 1,202,489,111
    //   liq  = lowest tick above 100·1,202,489,110 / 27,893 = 4,311,078.44…: 4,311,079
    //   bk   = floor(1,235,533,232·100 / 27,893) = floor(4,429,545.87…) = 4,429,545
    // WIF long: E0 = 173,367,792 − 5,406,335,181 = −5,232,967,389, MMo = 5,310,828
    //   root = (5,232,967,389 + 5,310,828)·10^6 / 995,000 = 5,264,601,223.11… (bracket 0); V = 5,264,601,223
    //   liq  = highest tick below 100·5,264,601,224 / 78,901 = 6,672,413.81…: 6,672,413
    //   bk   = ceil(5,232,967,389·100 / 78,901) = ceil(6,632,320.74…) = 6,632,321
    const book: Book = {
      instruments: [tnsr.instrument, { ...wif.instrument, markUnits: 6_852_049n }],
      accounts: [
        {
          id: 'two-cross',
          balanceMicro: 95_432_109n,
          positions: [
            { instrument: 0, sizeUnits: -27_893n, costMicro: -1_088_417_494n, mode: 'cross', marginMicro: 0n, leverage: 20, fundingIndex: tnsr.short.fundingIndex },
            { instrument: 1, sizeUnits: 78_901n, costMicro: 5_364_293_573n, mode: 'cross', marginMicro: 0n, leverage: 20, fundingIndex: wif.instrument.fundingIndex },
          ],
        },
      ],
    };
    const cross = (unrealizedPnlMicro: bigint, maintenanceMicro: bigint, liquidationPriceUnits: bigint, bankruptcyPriceUnits: bigint) => ({
      unrealizedPnlMicro,
      maintenanceMicro,
      equityMicro: null,
      status: null,
      liquidationPriceUnits,
      bankruptcyPriceUnits,
    });
    expectEverywhere(book, 0, {
      crossEquityMicro: 173_367_792n,
      crossMaintenanceMicro: 32_342_504n,
      crossStatus: 'healthy',
      positions: [cross(35_894_075n, 5_310_828n, 4_311_079n, 4_429_545n), cross(42_041_608n, 27_031_676n, 6_672_413n, 6_632_321n)],
    });
    expectBoundaries(book, 0, 0);
    expectBoundaries(book, 0, 1);
  });

  it('a tick of many price units: the prices round to it, on the liquidating side and the solvent side', () => {
    const tnsr = FIXTURES.find((f) => f.instrument.symbol === 'TNSRUSDT')!;
    // TNSR with a 0.0001 tick (T = 1,000 units), the same positions at the same mark 0.3808000:
    //   long:  liq = highest multiple of 1,000 strictly below 3,431,017.78… = 3,431,000
    //          bk  = ceil(3,413,862.69… / 1,000)·1,000 (the price bound is ceil(…) = 3,413,863) = 3,414,000
    //   short: liq = lowest multiple of 1,000 strictly above 4,561,546.17… = 4,562,000
    //          bk  = floor(4,584,353 / 1,000)·1,000 = 4,584,000
    const book = fixtureBook({ ...tnsr, instrument: { ...tnsr.instrument, tickUnits: 1_000n } }, tnsr.instrument.markUnits);
    // Every other figure is the fixture's at its mark: the tick moves only the prices.
    expectEverywhere(book, 0, accountExpected(book, 0, { ...tnsr.atMark.long, liquidation: 3_431_000n, bankruptcy: 3_414_000n }));
    expectEverywhere(book, 1, accountExpected(book, 1, { ...tnsr.atMark.short, liquidation: 4_562_000n, bankruptcy: 4_584_000n }));
    expectBoundaries(book, 0, 0);
    expectBoundaries(book, 1, 0);
  });

  it('a root that is a whole value: equity equal to maintenance there is not liquidatable', () => {
    const pepe = FIXTURES.find((f) => f.instrument.symbol === '1000PEPEUSDT')!;
    // Long 123,457 at 0.0123451 (cost 1,524,089,011), isolated, margin 84,579,527:
    //   E0 = 84,579,527 − 1,524,089,011 = −1,439,509,484
    //   root = 1,439,509,484·10^6 / 995,000 = 1,446,743,200 exactly, so V = 1,446,743,199
    //   liq = highest tick below 10·1,446,743,200 / 123,457 = 117,185.99…: 117,185
    //   bk  = ceil(1,439,509,484·10 / 123,457) = ceil(116,600.6…) = 116,601
    //   At 117,186: v = floor(123,457·117,186 / 10) = floor(1,446,743,200.2) = 1,446,743,200,
    //   equity = 7,233,716 = ceil(1,446,743,200·5,000 / 10^6) = 7,233,716 = maintenance: healthy.
    //   At the mark 0.0123457: pnl 74,073 (the doc's example), equity 84,653,600, mm 7,620,816.
    // Short −123,457 at 0.0123451 (cost ceil(−1,524,089,010.7) = −1,524,089,010), cross, balance
    // 88,876,695: E0 = 88,876,695 + 1,524,089,010 = 1,612,965,705
    //   root = 1,612,965,705·10^6 / 1,005,000 = 1,604,941,000 exactly, so N = 1,604,941,001
    //   liq = lowest tick above 10·1,604,941,000 / 123,457 = 130,000 (exactly): 130,001
    //   bk  = floor(1,612,965,705·10 / 123,457) = floor(130,650.6…) = 130,650
    //   At 130,000: |v| = ceil(123,457·130,000 / 10) = 1,604,941,000, equity = 8,024,705 =
    //   ceil(1,604,941,000·5,000 / 10^6) = maintenance: healthy.
    //   At the mark: v = floor(−1,524,163,084.9) = −1,524,163,085, pnl = −1,524,163,085 +
    //   1,524,089,010 = −74,075, equity 88,876,695 − 74,075 = 88,802,620, mm 7,620,816.
    const fixture: Fixture = {
      ...pepe,
      instrument: { ...pepe.instrument, fundingIndex: 0n },
      long: { ...pepe.long, marginMicro: 84_579_527n },
      short: { sizeUnits: -123_457n, entryUnits: 123_451n, costMicro: -1_524_089_010n, fundingIndex: 0n, balanceMicro: 88_876_695n },
    };
    const book = fixtureBook(fixture, 123_457n);
    expectEverywhere(book, 0, {
      crossEquityMicro: 0n,
      crossMaintenanceMicro: 0n,
      crossStatus: 'healthy',
      positions: [{ unrealizedPnlMicro: 74_073n, maintenanceMicro: 7_620_816n, equityMicro: 84_653_600n, status: 'healthy', liquidationPriceUnits: 117_185n, bankruptcyPriceUnits: 116_601n }],
    });
    expectEverywhere(book, 1, {
      crossEquityMicro: 88_802_620n,
      crossMaintenanceMicro: 7_620_816n,
      crossStatus: 'healthy',
      positions: [{ unrealizedPnlMicro: -74_075n, maintenanceMicro: 7_620_816n, equityMicro: null, status: null, liquidationPriceUnits: 130_001n, bankruptcyPriceUnits: 130_650n }],
    });
    // At the ties, equity = maintenance: healthy (the prices do not move with the mark: the same as above).
    //   long at 117,186: pnl = 1,446,743,200 − 1,524,089,011 = −77,345,811, equity 84,579,527 − 77,345,811 = 7,233,716
    //   short at 130,000: pnl = −1,604,941,000 + 1,524,089,010 = −80,851,990, equity 88,876,695 − 80,851,990 = 8,024,705
    const tieLong = fixtureBook(fixture, 117_186n);
    expectEverywhere(tieLong, 0, {
      crossEquityMicro: 0n,
      crossMaintenanceMicro: 0n,
      crossStatus: 'healthy',
      positions: [{ unrealizedPnlMicro: -77_345_811n, maintenanceMicro: 7_233_716n, equityMicro: 7_233_716n, status: 'healthy', liquidationPriceUnits: 117_185n, bankruptcyPriceUnits: 116_601n }],
    });
    const tieShort = fixtureBook(fixture, 130_000n);
    expectEverywhere(tieShort, 1, {
      crossEquityMicro: 8_024_705n,
      crossMaintenanceMicro: 8_024_705n,
      crossStatus: 'healthy',
      positions: [{ unrealizedPnlMicro: -80_851_990n, maintenanceMicro: 8_024_705n, equityMicro: null, status: null, liquidationPriceUnits: 130_001n, bankruptcyPriceUnits: 130_650n }],
    });
    expectBoundaries(book, 0, 0);
    expectBoundaries(book, 1, 0);
  });

  it('no price: a 1x long that never fails, a short bankrupt at every price', () => {
    const pepe = FIXTURES.find((f) => f.instrument.symbol === '1000PEPEUSDT')!;
    // Long 123,457 at 0.0123451 with margin = cost = 1,524,089,011: E0 = 0, root = 0, V = −1, the
    // price bound is 10·0 / 123,457 = 0 and the highest tick below it is −1: none. Bankruptcy:
    // ceil(0·10 / 123,457) = 0, outside (0, 10^15]: none.
    // Short −6,480,123 at 0.0123999 (cost −80,352,877,187, owed 800,011 as in the fixture) with a
    // balance of −80,400 quote: E0 = −80,400,000,000 + 80,352,877,187 − 800,011 = −47,922,824;
    //   root = −47,922,824·10^6 / 1,005,000 = −47,684,401.99…, N = −47,684,401, the price bound
    //   10·(−47,684,402) / 6,480,123 = −73.58… and the lowest tick above it −73: none;
    //   bk = floor(−47,922,824·10 / 6,480,123) = floor(−73.95…) = −74: none.
    //   At the mark 0.0123457: value −80,001,654,522, equity −80,400,000,000 + 350,422,654 =
    //   −80,049,577,346 < 0, maintenance 550,016,546: bankrupt.
    const book = fixtureBook(
      {
        ...pepe,
        long: { ...pepe.long, marginMicro: pepe.long.costMicro },
        short: { ...pepe.short, balanceMicro: -80_400_000_000n },
      },
      pepe.instrument.markUnits,
    );
    // The long at the mark: pnl 74,073 (as in the fixture), equity 1,524,089,011 + 74,073 =
    // 1,524,163,084, maintenance 7,620,816: healthy.
    expectEverywhere(book, 0, {
      crossEquityMicro: 0n,
      crossMaintenanceMicro: 0n,
      crossStatus: 'healthy',
      positions: [{ unrealizedPnlMicro: 74_073n, maintenanceMicro: 7_620_816n, equityMicro: 1_524_163_084n, status: 'healthy', liquidationPriceUnits: null, bankruptcyPriceUnits: null }],
    });
    expectLiquidatableAt(book, 0, 0, 1n, false);
    expect(equityEverywhere(book, 0, 0, 1n)).toBe(12_345n); // E0 + floor(123,457·1 / 10) = 0 + 12,345
    // The short at the mark: pnl 350,422,654 and maintenance 550,016,546 as in the fixture.
    expectEverywhere(book, 1, {
      crossEquityMicro: -80_049_577_346n,
      crossMaintenanceMicro: 550_016_546n,
      crossStatus: 'bankrupt',
      positions: [{ unrealizedPnlMicro: 350_422_654n, maintenanceMicro: 550_016_546n, equityMicro: null, status: null, liquidationPriceUnits: null, bankruptcyPriceUnits: null }],
    });
    expectLiquidatableAt(book, 1, 0, 1n, true);
    // At 1: value floor(−6,480,123 / 10) = −648,013, equity −47,922,824 − 648,013 = −48,570,837.
    expect(equityEverywhere(book, 1, 0, 1n)).toBe(-48_570_837n);
  });

  it('the dust rule: a long worth less than a micro has notional 1 and maintenance 1, and its pool can fail at V = 0', () => {
    // Tick 10^-8 (pd 8), lot 10^-4 (sd 4): s = 12, q = 1, d = 10^6. A long of 7 units (0.0007 base)
    // entered at 123,450 (0.00123450), mark 123,456 (0.00123456), no funding owed:
    //   cost      = ceil(7·123,450 / 10^6) = ceil(0.86415) = 1
    //   value     = floor(7·123,456 / 10^6) = floor(0.864192) = 0         (z·q·p = 864,192 < d)
    //   notional  = 1 (an open long whose value floors to 0), not |value| = 0
    //   mm        = ceil(MMX(1) / 10^6) = ceil(1·5,000 / 10^6) = 1
    //   pnl       = 0 − 1 − 0 = −1
    // The maintenance stays 1 for every value up to 200 micro (ceil(v·5,000 / 10^6) = 1 for 1 ≤ v ≤ 200).
    const inst = instrument('DUST12', 8, 4, 123_456n, 0n);
    const long = (mode: 'cross' | 'isolated', marginMicro: bigint): Position => ({
      instrument: 0,
      sizeUnits: 7n,
      costMicro: 1n,
      mode,
      marginMicro,
      leverage: 20,
      fundingIndex: 0n,
    });
    const book: Book = {
      instruments: [inst],
      accounts: [
        // 0: alone in a cross pool, balance −5: equity −5 − 1 = −6 < mm 1 and < 0: bankrupt.
        //   E0 = −6 − 0 = −6, MMo = 0: root = 6·10^6 / 995,000 = 6.03…, V = ceil(root) − 1 = 6
        //   liq: p < d·(V + 1) / z = 7·10^6 / 7 = 1,000,000 exactly: the highest tick below, 999,999
        //   bk:  ceil(6·10^6 / 7) = ceil(857,142.85…) = 857,143
        { id: 'dust-cross-negative', balanceMicro: -5n, positions: [long('cross', 0n)] },
        // 1: alone in a cross pool, balance 1: equity 1 − 1 = 0 < mm 1: liquidatable, not bankrupt.
        //   E0 − MMo = 0 − 0 = 0 exactly: the formula's root is 0 (V would be −1), but below
        //   d / z the value floors to 0 with notional 1 and mm 1 > equity 0: V = 0.
        //   liq: p < d·(0 + 1) / 7 = 142,857.14…: 142,857
        //   bk:  ceil(0·10^6 / 7) = 0, outside (0, 10^15]: none (equity ≥ 0 at every price)
        { id: 'dust-cross-zero', balanceMicro: 1n, positions: [long('cross', 0n)] },
        // 2: the same isolated, margin 1 = cost: equity 0, E0 = 0: liquidatable, V = 0, liq 142,857, no bk.
        { id: 'dust-isolated-zero', balanceMicro: 0n, positions: [long('isolated', 1n)] },
        // 3: isolated with margin 0: equity −1 < 0: bankrupt.
        //   E0 = −1: root = 10^6 / 995,000 = 1.005…, V = 1; liq: p < 2·10^6 / 7 = 285,714.28…: 285,714
        //   bk: ceil(1·10^6 / 7) = ceil(142,857.14…) = 142,858
        { id: 'dust-isolated-empty', balanceMicro: 0n, positions: [long('isolated', 0n)] },
      ],
    };
    const figures = positionFigures(inst, book.accounts[0].positions[0]);
    expect([figures.markValueMicro, figures.notionalMicro, figures.maintenanceMicro, figures.unrealizedPnlMicro]).toEqual([0n, 1n, 1n, -1n]);
    const crossPosition = (liquidationPriceUnits: bigint, bankruptcyPriceUnits: bigint | null) => ({
      unrealizedPnlMicro: -1n,
      maintenanceMicro: 1n,
      equityMicro: null,
      status: null,
      liquidationPriceUnits,
      bankruptcyPriceUnits,
    });
    const noCross = { crossEquityMicro: 0n, crossMaintenanceMicro: 0n, crossStatus: 'healthy' as const };
    expectEverywhere(book, 0, { crossEquityMicro: -6n, crossMaintenanceMicro: 1n, crossStatus: 'bankrupt', positions: [crossPosition(999_999n, 857_143n)] });
    expectEverywhere(book, 1, { crossEquityMicro: 0n, crossMaintenanceMicro: 1n, crossStatus: 'liquidatable', positions: [crossPosition(142_857n, null)] });
    expectEverywhere(book, 2, {
      ...noCross,
      positions: [{ unrealizedPnlMicro: -1n, maintenanceMicro: 1n, equityMicro: 0n, status: 'liquidatable', liquidationPriceUnits: 142_857n, bankruptcyPriceUnits: null }],
    });
    expectEverywhere(book, 3, {
      ...noCross,
      positions: [{ unrealizedPnlMicro: -1n, maintenanceMicro: 1n, equityMicro: -1n, status: 'bankrupt', liquidationPriceUnits: 285_714n, bankruptcyPriceUnits: 142_858n }],
    });

    // Account 0 around its prices:
    //   999,999:   v = floor(6,999,993 / 10^6) = 6, equity −6 + 6 = 0 < mm ceil(6·5,000 / 10^6) = 1: liquidatable
    //   1,000,000: v = 7, equity 1 ≥ mm ceil(7·5,000 / 10^6) = 1: healthy
    //   857,143:   v = floor(6,000,001 / 10^6) = 6, equity 0;  857,142: v = floor(5,999,994 / 10^6) = 5, equity −1
    expectLiquidatableAt(book, 0, 0, 999_999n, true);
    expectLiquidatableAt(book, 0, 0, 1_000_000n, false);
    expect(equityEverywhere(book, 0, 0, 857_143n)).toBe(0n);
    expect(equityEverywhere(book, 0, 0, 857_142n)).toBe(-1n);
    // Accounts 1 and 2 (E0 = 0) around V = 0:
    //   142,857: v = floor(999,999 / 10^6) = 0, notional 1, mm 1, equity 0: liquidatable
    //   142,858: v = floor(1,000,006 / 10^6) = 1, notional 1, mm 1, equity 1: healthy
    //   1 (the smallest price): v = 0, notional 1, mm 1, equity 0: still liquidatable. Without the
    //   dust rule the notional would be 0, the maintenance 0, and the pool healthy as its price fell.
    for (const a of [1, 2]) {
      expectLiquidatableAt(book, a, 0, 142_857n, true);
      expectLiquidatableAt(book, a, 0, 142_858n, false);
      expectLiquidatableAt(book, a, 0, 1n, true);
      expect(equityEverywhere(book, a, 0, 1n)).toBe(0n);
    }
    // Account 3 around its prices:
    //   285,714: v = floor(1,999,998 / 10^6) = 1, equity 0 < mm 1: liquidatable
    //   285,715: v = floor(2,000,005 / 10^6) = 2, equity 1 ≥ mm 1: healthy
    //   142,858: v = 1, equity 0;  142,857: v = 0, equity −1
    expectLiquidatableAt(book, 3, 0, 285_714n, true);
    expectLiquidatableAt(book, 3, 0, 285_715n, false);
    expect(equityEverywhere(book, 3, 0, 142_858n)).toBe(0n);
    expect(equityEverywhere(book, 3, 0, 142_857n)).toBe(-1n);
  });
});

// ---------------------------------------------------------------------------------------------
// The same defining properties on random instruments with s from 7 to 12, within the ranges of
// docs/numbers.md (|z|·q·p ≤ 10^18 and the notional ≤ 10^16 at the mark).

const MAX_TICK_PRICE = 1_000_000_000_000_000n; // 10^15 price units

function logBig(max: bigint): fc.Arbitrary<bigint> {
  return fc
    .tuple(fc.integer({ min: 0, max: max.toString().length }), fc.bigInt({ min: 1n, max }))
    .map(([digits, raw]) => {
      const cap = 10n ** BigInt(digits);
      const value = raw % cap === 0n ? cap : raw % cap;
      return value > max ? max : value;
    });
}

const fineTiers: fc.Arbitrary<Tier[]> = fc
  .tuple(
    fc.uniqueArray(fc.bigInt({ min: 1_000_000n, max: 10n ** 15n }), { minLength: 0, maxLength: 3 }),
    fc.array(fc.bigInt({ min: 1n, max: 200_000n }), { minLength: 4, maxLength: 4 }),
  )
  .map(([bounds, rates]) => {
    const b = [...bounds].sort((x, y) => (x < y ? -1 : 1));
    const r = rates.slice(0, b.length + 1).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    return r.map((ratePpm, k) => ({ upToNotional: k < b.length ? b[k] : null, ratePpm, leverageMax: 20 }));
  });

const fineBook: fc.Arbitrary<Book> = fc
  .record({
    s: fc.integer({ min: 7, max: 12 }),
    pdShare: fc.double({ min: 0, max: 1, noNaN: true }),
    tickUnits: fc.oneof(fc.constant(1n), fc.constant(5n), fc.bigInt({ min: 1n, max: 1_000n })),
    markUnits: logBig(10n ** 13n),
    tiers: fineTiers,
    sizeShare: fc.double({ min: 0, max: 1, noNaN: true }),
    short: fc.boolean(),
    entryPpm: fc.bigInt({ min: 500_000n, max: 1_500_000n }),
    isolated: fc.boolean(),
    collateralPpm: fc.bigInt({ min: -50_000n, max: 600_000n }),
    fundingDelta: fc.bigInt({ min: -(10n ** 9n), max: 10n ** 9n }),
  })
  .map((g) => {
    const priceDecimals = Math.min(g.s, Math.floor(g.pdShare * (g.s + 1)));
    const sizeDecimals = g.s - priceDecimals;
    const d = 10n ** BigInt(g.s - 6);
    // |z|·p ≤ 10^18 and |floor(z·p / d)| ≤ 10^16.
    const limit = 10n ** 16n * d < 10n ** 18n ? 10n ** 16n * d : 10n ** 18n;
    const sizeMax = limit / g.markUnits;
    const size = sizeMax < 1n ? 1n : 1n + BigInt(Math.floor(g.sizeShare * g.sizeShare * Number(sizeMax - 1n)));
    const sizeUnits = g.short ? -size : size;
    const entry = (g.markUnits * g.entryPpm) / 1_000_000n + 1n;
    const cost = sizeUnits * entry;
    const costMicro = cost >= 0n ? (cost + d - 1n) / d : -(-cost / d); // ceil(z·e / d)
    const notional = (size * g.markUnits) / d;
    const collateral = (notional * g.collateralPpm) / 1_000_000n;
    const inst: Instrument = {
      symbol: `FINE${g.s}`,
      priceDecimals,
      sizeDecimals,
      tickUnits: g.tickUnits,
      lotUnits: 1n,
      markUnits: g.markUnits,
      fundingIndex: 0n,
      tiers: g.tiers,
    };
    const position: Position = {
      instrument: 0,
      sizeUnits,
      costMicro,
      mode: g.isolated ? 'isolated' : 'cross',
      marginMicro: g.isolated ? (collateral > 0n ? collateral : 0n) : 0n,
      leverage: 1,
      fundingIndex: -g.fundingDelta,
    };
    return {
      instruments: [inst],
      accounts: [{ id: 'a', balanceMicro: g.isolated ? 0n : collateral, positions: [position] }],
    };
  });

describe('reference: instruments finer than a micro, properties', () => {
  it('value is floor(z·p / d); the reported prices are boundaries, and none is reported only when none exists', () => {
    fc.assert(
      fc.property(fineBook, fc.bigInt({ min: 1n, max: 1_000n }), (book, farTicks) => {
        const inst = book.instruments[0];
        const position = book.accounts[0].positions[0];
        const d = 10n ** BigInt(inst.priceDecimals + inst.sizeDecimals - 6);
        const product = position.sizeUnits * inst.markUnits;
        const floored = product >= 0n ? product / d : -((-product + d - 1n) / d);
        expect(positionFigures(inst, position).markValueMicro).toBe(floored);

        const tick = inst.tickUnits;
        const long = position.sizeUnits > 0n;
        const safeward = long ? tick : -tick;
        const result = evaluateAccount(book, 0).positions[0];
        const liquidatableAt = (p: bigint) => scopeLiquidatableAt(book, 0, 0, p);
        const equityAt = (p: bigint) => scopeEquityAt(book, 0, 0, p);
        const lowest = tick;
        const highest = (MAX_TICK_PRICE / tick) * tick;

        const liq = result.liquidationPriceUnits;
        if (liq !== null) {
          expect(liq % tick).toBe(0n);
          expect(liquidatableAt(liq)).toBe(true);
          // A short reported at the lowest tick has no price one tick toward its mark.
          if (liq + safeward > 0n) expect(liquidatableAt(liq + safeward)).toBe(false);
          // Monotone: further on either side stays on that side. Also where a long's value rounds
          // to zero (z·p < d): its notional is 1 micro there, so a cross pool holding it keeps a
          // maintenance and does not turn healthy as the price falls (the dust rule).
          const beyond = liq - safeward * farTicks;
          if (beyond > 0n) expect(liquidatableAt(beyond)).toBe(true);
          const safe = liq + safeward * (farTicks + 1n);
          if (safe > 0n) expect(liquidatableAt(safe)).toBe(false);
        } else if (long) {
          // None: safe at the smallest tick, or liquidatable even at the largest price.
          expect(!liquidatableAt(lowest) || liquidatableAt(highest)).toBe(true);
        } else {
          expect(liquidatableAt(lowest) || !liquidatableAt(highest)).toBe(true);
        }

        const bk = result.bankruptcyPriceUnits;
        if (bk !== null) {
          expect(bk % tick).toBe(0n);
          expect(equityAt(bk)).toBeGreaterThanOrEqual(0n);
          if (bk - safeward > 0n) expect(equityAt(bk - safeward)).toBeLessThan(0n);
        } else if (long) {
          expect(equityAt(lowest) >= 0n || equityAt(highest) < 0n).toBe(true);
        } else {
          expect(equityAt(lowest) < 0n || equityAt(highest) >= 0n).toBe(true);
        }
      }),
      { numRuns: 3_000 },
    );
  });
});
