// The BigInt reference: docs/numbers.md written out as plainly as possible, to serve as the oracle
// the AssemblyScript kernel is held to. It favours being obviously right over being fast: every
// figure is recomputed from the book, every division names its rounding, and the liquidation root
// is found by comparing the roots of all brackets rather than by the kernel's bracket walk, so the
// two implementations do not share a shortcut (or a mistake). For the same reason it forms q and the
// value divisor d from the decimals itself rather than through src/book/model.ts.
import {
  FUNDING_EXTRA_SCALE,
  PRICE_PLUS_SIZE_DECIMALS_MAX,
  PRICE_UNITS_MAX,
  QUOTE_DECIMALS,
  RATE_SCALE,
  TIERS_MAX,
} from '../fixed/constants.js';
import type { StatusName } from '../fixed/constants.js';
import { abs, divCeil, divFloor } from '../fixed/rounding.js';
import type { AccountResult, Book, Instrument, Position, PositionResult } from '../book/model.js';

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`reference invariant: ${message}`);
}

function assertIndex(index: number, length: number, what: string): void {
  assert(Number.isInteger(index) && index >= 0 && index < length, `${what} index ${index} out of range`);
}

// ---------------------------------------------------------------------------------------------
// Instruments and tiers

/** The invariants of an instrument that the arithmetic below relies on (the loaders refuse the rest). */
function assertInstrument(instrument: Instrument): void {
  const name = instrument.symbol;
  assert(Number.isInteger(instrument.priceDecimals) && instrument.priceDecimals >= 0, `${name}: priceDecimals`);
  assert(Number.isInteger(instrument.sizeDecimals) && instrument.sizeDecimals >= 0, `${name}: sizeDecimals`);
  // Keeps d = 10^(pd + sd − 6) at most 10^6, the finest value the ranges of docs/numbers.md cover.
  assert(
    instrument.priceDecimals + instrument.sizeDecimals <= PRICE_PLUS_SIZE_DECIMALS_MAX,
    `${name}: pd + sd > ${PRICE_PLUS_SIZE_DECIMALS_MAX}`,
  );
  // The tick is the divisor of every reported price.
  assert(instrument.tickUnits > 0n, `${name}: tick must be positive`);
  assert(instrument.markUnits > 0n, `${name}: mark must be positive`);
  const tiers = instrument.tiers;
  assert(tiers.length >= 1 && tiers.length <= TIERS_MAX, `${name}: 1 to ${TIERS_MAX} tiers`);
  for (let k = 0; k < tiers.length; k++) {
    const tier = tiers[k];
    // r < 100% keeps every root's denominator 10^6 ∓ r positive; r > 0 makes MM(N) > 0 for N > 0.
    assert(tier.ratePpm > 0n && tier.ratePpm < RATE_SCALE, `${name}: tier ${k} rate outside (0, 10^6) ppm`);
    const last = k === tiers.length - 1;
    assert((tier.upToNotional === null) === last, `${name}: only the last tier is unbounded`);
    if (k > 0) {
      // Rising rates make MM convex, so the bracket line equals the max over all lines.
      assert(tier.ratePpm >= tiers[k - 1].ratePpm, `${name}: tier ${k} rate decreases`);
    }
    if (!last) {
      const floor = k === 0 ? 0n : (tiers[k - 1].upToNotional as bigint);
      const upTo = tier.upToNotional as bigint;
      assert(k === 0 ? upTo >= floor : upTo > floor, `${name}: tier ${k} upToNotional not increasing`);
    }
  }
}

/** floor_k: bracket k covers notionals in (floor_k, floor_{k+1}]; floor_0 = 0. */
function tierFloorMicro(instrument: Instrument, k: number): bigint {
  return k === 0 ? 0n : (instrument.tiers[k - 1].upToNotional as bigint);
}

/** cumX_k (micro·ppm): cumX_0 = 0, cumX_k = cumX_{k−1} + floor_k·(r_k − r_{k−1}). */
export function tierCumX(instrument: Instrument): bigint[] {
  assertInstrument(instrument);
  const cumX: bigint[] = [0n];
  for (let k = 1; k < instrument.tiers.length; k++) {
    const rateStep = instrument.tiers[k].ratePpm - instrument.tiers[k - 1].ratePpm;
    cumX.push(cumX[k - 1] + tierFloorMicro(instrument, k) * rateStep);
  }
  return cumX;
}

/** The bracket whose range (floor_k, floor_{k+1}] holds the notional; a zero notional is in bracket 0. */
function bracketOf(instrument: Instrument, notionalMicro: bigint): number {
  let k = 0;
  while (k + 1 < instrument.tiers.length && notionalMicro > (instrument.tiers[k].upToNotional as bigint)) k++;
  return k;
}

/** MMX(N) in micro·ppm, by the bracket of N; checked against max_k(N·r_k − cumX_k), which must agree. */
function maintenanceX(instrument: Instrument, notionalMicro: bigint): bigint {
  assert(notionalMicro >= 0n, 'notional is non-negative');
  const cumX = tierCumX(instrument);
  const k = bracketOf(instrument, notionalMicro);
  const byBracket = notionalMicro * instrument.tiers[k].ratePpm - cumX[k];
  let byMax = byBracket;
  for (let i = 0; i < cumX.length; i++) {
    const line = notionalMicro * instrument.tiers[i].ratePpm - cumX[i];
    if (line > byMax) byMax = line;
  }
  assert(byMax === byBracket, `${instrument.symbol}: MM not continuous and convex at ${notionalMicro}`);
  return byBracket;
}

// ---------------------------------------------------------------------------------------------
// Units of value

/**
 * With s = pd + sd: q = 10^max(0, 6 − s) micro per (size unit × price unit) and the value divisor
 * d = 10^max(0, s − 6), so one size unit at one price unit is q/d micro (docs/numbers.md,
 * "Instruments finer than a micro"). Exactly one of q and d exceeds 1 unless s = 6.
 */
function valueUnits(instrument: Instrument): { q: bigint; d: bigint } {
  const s = instrument.priceDecimals + instrument.sizeDecimals;
  if (s <= QUOTE_DECIMALS) return { q: 10n ** BigInt(QUOTE_DECIMALS - s), d: 1n };
  return { q: 1n, d: 10n ** BigInt(s - QUOTE_DECIMALS) };
}

/**
 * A position's value at a price, micro: floor(z·q·p / d), toward −∞ for a long and a short alike
 * (a long's worth less, a short's liability more): the one rounding of the value, against the
 * account. Exact when d = 1.
 */
function valueMicro(units: { q: bigint; d: bigint }, sizeUnits: bigint, priceUnits: bigint): bigint {
  return divFloor(sizeUnits * units.q * priceUnits, units.d);
}

// ---------------------------------------------------------------------------------------------
// Positions

/** The per-position figures of docs/numbers.md, before any scope is formed. */
export interface PositionFigures {
  q: bigint; // micro per (size unit × price unit), before the divisor
  d: bigint; // value divisor
  markValueMicro: bigint; // floor(z·q·p / d), signed
  notionalMicro: bigint;
  fundingOwedMicro: bigint;
  unrealizedPnlMicro: bigint;
  maintenanceMicro: bigint;
}

/** One position's figures at its instrument's mark (exported so tests can hold value and notional to hand-worked numbers). */
export function positionFigures(instrument: Instrument, position: Position): PositionFigures {
  assertInstrument(instrument);
  const { q, d } = valueUnits(instrument);
  const z = position.sizeUnits;
  const markValueMicro = valueMicro({ q, d }, z, instrument.markUnits);
  // The notional is the rounded value's magnitude, not rounded apart from it: equity − maintenance
  // then never exceeds its exact figure and stays monotone in the price (docs/numbers.md). An open
  // position whose value floors to 0 (a long with z·q·p < d) is 1 micro of notional, so that every
  // open position has maintenance, as with d = 1.
  const magnitude = abs(markValueMicro);
  const notionalMicro = z !== 0n && magnitude === 0n ? 1n : magnitude;
  // Funding owed rounds toward +∞ (against the account, whichever side pays). The index of an
  // instrument with d > 1 has 12 − sd decimals, so this is the same rule for every instrument.
  const fundingOwedMicro = divCeil(z * q * (instrument.fundingIndex - position.fundingIndex), FUNDING_EXTRA_SCALE);
  // A value rounded down minus an owed amount rounded up: the PnL is rounded toward −∞.
  const unrealizedPnlMicro = markValueMicro - position.costMicro - fundingOwedMicro;
  const maintenanceMicro = z === 0n ? 0n : divCeil(maintenanceX(instrument, notionalMicro), RATE_SCALE);
  return { q, d, markValueMicro, notionalMicro, fundingOwedMicro, unrealizedPnlMicro, maintenanceMicro };
}

function inPriceRange(priceUnits: bigint): boolean {
  return priceUnits > 0n && priceUnits <= PRICE_UNITS_MAX;
}

/**
 * Liquidation price of a position of size z whose scope has equity E0 + v at a price where the
 * position's value is v = floor(z·q·p / d), and maintenance MMo from its other positions.
 *
 * The boundary is found in the value first, then in the price (docs/numbers.md, "Instruments
 * finer than a micro"). In v the scope is liquidatable exactly when 10^6·(E0 − MMo + v) <
 * max_k(|v|·r_k − cumX_k), i.e. when v lies on the liquidating side of at least one bracket's
 * root root_k = numerator_k / denominator_k (micro of value; denominator_k = 10^6 ∓ r_k > 0). So
 * the boundary is the largest root (long) or the smallest (short), found by comparing every
 * bracket's root: deliberately not the bracket walk of docs/numbers.md.
 *
 *   long:  liquidatable ⇔ v ≤ V = ceil(root) − 1 ⇔ z·q·p < d·(V + 1)
 *   short: liquidatable ⇔ |v| ≥ N = floor(root) + 1 ⇔ |z|·q·p > d·(N − 1)
 *
 * and the reported price is the tick nearest that price bound on the liquidating side. With d = 1
 * this is the price-space root of the section "Liquidation price", to the bit: for a positive
 * integer m, ceil(ceil(x)/m) = ceil(x/m) and floor(floor(x)/m) = floor(x/m).
 */
function liquidationPriceUnits(
  instrument: Instrument,
  args: { sizeUnits: bigint; q: bigint; d: bigint; equityAtZeroMicro: bigint; othersMaintenanceMicro: bigint },
): bigint | null {
  const z = args.sizeUnits;
  if (z === 0n) return null;
  const cumX = tierCumX(instrument);
  const scaledSlack = RATE_SCALE * (args.equityAtZeroMicro - args.othersMaintenanceMicro);
  let best: { numerator: bigint; denominator: bigint } | null = null;
  for (let k = 0; k < cumX.length; k++) {
    const rate = instrument.tiers[k].ratePpm;
    // Long: root_k bounds v from above; short: root_k bounds |v| from below.
    const root =
      z > 0n
        ? { numerator: -scaledSlack - cumX[k], denominator: RATE_SCALE - rate }
        : { numerator: scaledSlack + cumX[k], denominator: RATE_SCALE + rate };
    assert(root.denominator > 0n, 'root denominator is positive');
    if (best === null) {
      best = root;
      continue;
    }
    // a/b > c/d ⇔ a·d > c·b for positive b, d: compare without dividing.
    const lhs = root.numerator * best.denominator;
    const rhs = best.numerator * root.denominator;
    if (z > 0n ? lhs > rhs : lhs < rhs) best = root;
  }
  assert(best !== null, 'at least one tier');
  const tick = instrument.tickUnits;
  const unitProduct = abs(z) * args.q; // micro·d per price unit
  let priceUnits: bigint;
  if (z > 0n) {
    // V + 1 = ceil(root): the smallest value at which the long is not liquidatable by the brackets'
    // formula, which takes the notional to be |v|. At v = 0 (only with d > 1) the notional is 1
    // micro instead: liquidatable there when 10^6·(E0 − MMo) < MMX(1), which the formula misses when
    // E0 − MMo is exactly 0.
    let safeValue = divCeil(best.numerator, best.denominator);
    if (args.d > 1n && safeValue < 1n && scaledSlack < maintenanceX(instrument, 1n)) safeValue = 1n;
    // p < d·(V + 1)/(z·q): the highest tick strictly below it is (ceil(bound / T) − 1)·T.
    priceUnits = (divCeil(args.d * safeValue, unitProduct * tick) - 1n) * tick;
  } else {
    // N − 1 = floor(root): the largest |value| at which the short is not liquidatable.
    const safeMagnitude = divFloor(best.numerator, best.denominator);
    // p > d·(N − 1)/(|z|·q): the lowest tick strictly above it is (floor(bound / T) + 1)·T.
    priceUnits = (divFloor(args.d * safeMagnitude, unitProduct * tick) + 1n) * tick;
  }
  return inPriceRange(priceUnits) ? priceUnits : null;
}

/**
 * Bankruptcy price: the worst tick at which E0 + floor(z·q·p / d) ≥ 0 still holds. E0 is an
 * integer, so for a long that is z·q·p ≥ −E0·d, for a short |z|·q·p ≤ E0·d.
 */
function bankruptcyPriceUnits(
  instrument: Instrument,
  args: { sizeUnits: bigint; q: bigint; d: bigint; equityAtZeroMicro: bigint },
): bigint | null {
  const z = args.sizeUnits;
  if (z === 0n) return null;
  const tick = instrument.tickUnits;
  const priceUnits =
    z > 0n
      ? divCeil(divCeil(-args.equityAtZeroMicro * args.d, z * args.q), tick) * tick // lowest tick with equity ≥ 0
      : divFloor(divFloor(args.equityAtZeroMicro * args.d, -z * args.q), tick) * tick; // highest tick with equity ≥ 0
  return inPriceRange(priceUnits) ? priceUnits : null;
}

function statusName(flags: { liquidatable: boolean; bankrupt: boolean }): StatusName {
  if (flags.bankrupt) return 'bankrupt';
  return flags.liquidatable ? 'liquidatable' : 'healthy';
}

// ---------------------------------------------------------------------------------------------
// Accounts

export function evaluateAccount(book: Book, accountIndex: number): AccountResult {
  assertIndex(accountIndex, book.accounts.length, 'account');
  const account = book.accounts[accountIndex];
  const seen = new Set<string>();
  for (const position of account.positions) {
    assertIndex(position.instrument, book.instruments.length, `${account.id}: instrument`);
    assert(position.mode === 'cross' || position.mode === 'isolated', `${account.id}: mode ${String(position.mode)}`);
    // Liquidation prices move one instrument's mark with the rest held; that moves one position
    // of a scope only if the account holds at most one per (instrument, mode).
    const key = `${position.instrument}/${position.mode}`;
    assert(!seen.has(key), `${account.id}: two ${position.mode} positions on instrument ${position.instrument}`);
    seen.add(key);
  }

  const figures = account.positions.map((position) =>
    positionFigures(book.instruments[position.instrument], position),
  );

  let crossEquityMicro = account.balanceMicro;
  let crossMaintenanceMicro = 0n;
  account.positions.forEach((position, i) => {
    if (position.mode !== 'cross') return;
    crossEquityMicro += figures[i].unrealizedPnlMicro;
    crossMaintenanceMicro += figures[i].maintenanceMicro;
  });
  // No open cross position means zero cross maintenance: nothing to liquidate, whatever the balance.
  const crossLiquidatable = crossMaintenanceMicro > 0n && crossEquityMicro < crossMaintenanceMicro;
  const crossBankrupt = crossLiquidatable && crossEquityMicro < 0n;
  const crossStatus = statusName({ liquidatable: crossLiquidatable, bankrupt: crossBankrupt });

  const positions = account.positions.map((position, i): PositionResult => {
    const instrument = book.instruments[position.instrument];
    const f = figures[i];
    const isolated = position.mode === 'isolated';
    const equityMicro = isolated ? position.marginMicro + f.unrealizedPnlMicro : null;
    let status: StatusName | null = null;
    if (equityMicro !== null) {
      // A flat isolated position has zero maintenance; it is still bankrupt if its equity is negative.
      status = statusName({ liquidatable: equityMicro < f.maintenanceMicro, bankrupt: equityMicro < 0n });
    }
    // The scope's equity C at the current mark, and the maintenance of its other positions.
    const scopeEquityMicro = equityMicro ?? crossEquityMicro;
    const othersMaintenanceMicro = isolated ? 0n : crossMaintenanceMicro - f.maintenanceMicro;
    // E0: equity(p) = E0 + floor(z·q·p / d), the scope's equity with this position's value removed.
    const equityAtZeroMicro = scopeEquityMicro - f.markValueMicro;
    const priceArgs = { sizeUnits: position.sizeUnits, q: f.q, d: f.d, equityAtZeroMicro };
    return {
      unrealizedPnlMicro: f.unrealizedPnlMicro,
      maintenanceMicro: f.maintenanceMicro,
      equityMicro,
      status,
      liquidationPriceUnits: liquidationPriceUnits(instrument, { ...priceArgs, othersMaintenanceMicro }),
      bankruptcyPriceUnits: bankruptcyPriceUnits(instrument, priceArgs),
    };
  });

  return { crossEquityMicro, crossMaintenanceMicro, crossStatus, positions };
}

export function evaluateBook(book: Book): AccountResult[] {
  return book.accounts.map((_, accountIndex) => evaluateAccount(book, accountIndex));
}

// ---------------------------------------------------------------------------------------------
// Probes: the scope re-evaluated from scratch at another price, to test the reported prices.

/** The account evaluated with the mark of the position's instrument replaced, everything else held. */
function evaluateScopeAt(book: Book, accountIndex: number, positionIndex: number, priceUnits: bigint) {
  assert(priceUnits > 0n, 'probe price must be positive');
  assertIndex(accountIndex, book.accounts.length, 'account');
  const positions = book.accounts[accountIndex].positions;
  assertIndex(positionIndex, positions.length, 'position');
  const position = positions[positionIndex];
  const instruments = book.instruments.map((instrument, i) =>
    i === position.instrument ? { ...instrument, markUnits: priceUnits } : instrument,
  );
  const result = evaluateAccount({ ...book, instruments }, accountIndex);
  return { position, result, positionResult: result.positions[positionIndex] };
}

/** Whether the scope holding the position (its cross pool, or itself if isolated) is liquidatable at that price. */
export function scopeLiquidatableAt(
  book: Book,
  accountIndex: number,
  positionIndex: number,
  priceUnits: bigint,
): boolean {
  const { position, result, positionResult } = evaluateScopeAt(book, accountIndex, positionIndex, priceUnits);
  const status = position.mode === 'cross' ? result.crossStatus : positionResult.status;
  assert(status !== null, 'isolated positions have a status');
  return status !== 'healthy';
}

/** The equity (micro) of the scope holding the position, at that price. */
export function scopeEquityAt(
  book: Book,
  accountIndex: number,
  positionIndex: number,
  priceUnits: bigint,
): bigint {
  const { position, result, positionResult } = evaluateScopeAt(book, accountIndex, positionIndex, priceUnits);
  if (position.mode === 'cross') return result.crossEquityMicro;
  assert(positionResult.equityMicro !== null, 'isolated positions have an equity');
  return positionResult.equityMicro;
}
