// Prices: where a scope's liquidation condition flips (its liquidation price, and the chunk sweep's
// isolated thresholds) and where its equity reaches zero (its bankruptcy price), exact in 128 bits.
// The rules are docs/numbers.md.

import { debitOf } from './debits';
import { SCALE_6, PRICE_UNITS_MAX, MODE_CROSS, PRICE_NONE } from './constants';
import {
  H_INST_TICK,
  H_INST_TIER_COUNT,
  H_ACC_BALANCE,
  H_ACC_POS_START,
  H_ACC_POS_COUNT,
  H_POS_SIZE,
  H_POS_MARGIN,
  H_POS_INST,
  H_POS_MODE,
  CACHE_FLOORS,
  CACHE_DIV,
  CACHE_Q,
  CACHE_TIERS,
  CACHE_TIER_BYTES,
  CACHE_STRIDE,
} from './layout';
import { column } from './header';
import { bracketOf, maintenance, notionalOf, valueOf } from './math';
import { mulWide, divWideSmall, divWide, wideHi, wideRem, wideLessOrEqual } from './wide';

/**
 * The prices of index.ts prices, with the instrument cache filled and the listed accounts checked: for each listed account, its
 * cross pool's equity and maintenance, then each position's pair, every other price held.
 */
// @ts-ignore: decorator
@inline
export function writePrices(header: usize, cache: usize, accounts: usize, count: u32, out: usize): u32 {
  const instTick = column(header, H_INST_TICK);
  const instTierCount = column(header, H_INST_TIER_COUNT);
  const accBalance = column(header, H_ACC_BALANCE);
  const accPosStart = column(header, H_ACC_POS_START);
  const accPosCount = column(header, H_ACC_POS_COUNT);
  const posSize = column(header, H_POS_SIZE);
  const posMargin = column(header, H_POS_MARGIN);
  const posInst = column(header, H_POS_INST);
  const posMode = column(header, H_POS_MODE);

  let written: u32 = 0;
  for (let k: u32 = 0; k < count; k++) {
    const a = load<u32>(accounts + (<usize>k << 2)); // within the book: index.ts prices checks each at its entry
    const first = load<u32>(accPosStart + (<usize>a << 2));
    const end = first + load<u32>(accPosCount + (<usize>a << 2));
    // First pass: the cross pool's equity and maintenance.
    let crossEquity = load<i64>(accBalance + (<usize>a << 3));
    let crossMaint: i64 = 0;
    for (let j = first; j < end; j++) {
      if (load<u8>(posMode + j) != MODE_CROSS) continue;
      const j8 = <usize>j << 3;
      const c = cache + <usize>load<u16>(posInst + (<usize>j << 1)) * <usize>CACHE_STRIDE;
      const size = load<i64>(posSize + j8);
      const value = valueOf(size, c);
      crossEquity += value - debitOf(header, c, j);
      crossMaint += maintenance(notionalOf(value, size), c);
    }
    // Second pass: each position's prices, every other price of its scope held.
    for (let j = first; j < end; j++) {
      const pair = out + (<usize>written << 4);
      written++;
      const j8 = <usize>j << 3;
      const size = load<i64>(posSize + j8);
      if (size == 0) {
        store<i64>(pair, PRICE_NONE);
        store<i64>(pair, PRICE_NONE, 8);
        continue;
      }
      const inst = <usize>load<u16>(posInst + (<usize>j << 1));
      const c = cache + inst * <usize>CACHE_STRIDE;
      const value = valueOf(size, c);
      const pnl = value - debitOf(header, c, j);
      const notional = notionalOf(value, size);
      const maint = maintenance(notional, c);
      let scopeEquity: i64;
      let othersMaint: i64;
      if (load<u8>(posMode + j) == MODE_CROSS) {
        scopeEquity = crossEquity;
        othersMaint = crossMaint - maint;
      } else {
        scopeEquity = load<i64>(posMargin + j8) + pnl;
        othersMaint = 0;
      }
      // The scope's equity if this price were zero: equity(p) = equityAtZero + floor(sizeQuote·p / d).
      const sizeQuote = size * load<i64>(c + CACHE_Q);
      const equityAtZero = scopeEquity - value;
      const tick = load<i64>(instTick + (inst << 3));
      const tierCount = load<i32>(instTierCount + (inst << 2));
      const start = <i32>bracketOf(notional, c + CACHE_FLOORS);
      store<i64>(pair, liquidationPrice(sizeQuote, equityAtZero - othersMaint, tick, c, tierCount, start));
      store<i64>(pair, bankruptcyPrice(sizeQuote, equityAtZero, tick, load<i64>(c + CACHE_DIV)), 8);
    }
  }
  return written;
}

/** The last liquidationRoot: its numerator (two's-complement 128 bits) and denominator. */
let rootHi: u64 = 0;
let rootLo: u64 = 0;
let rootDenominator: u64 = 0;

/**
 * The root of the scope's liquidation condition, as a fraction left in rootHi/rootLo/rootDenominator:
 * the notional at which 10^6·(slack + sizeQuote·p) = |sizeQuote|·p·r_k − cumX_k in the bracket k that
 * holds it, so the root price is num / (|sizeQuote|·denominator). `slack` is E0 − MMo, where E0 is
 * the scope's equity at a price of zero and MMo the maintenance of its other positions.
 */
function liquidationRoot(sizeQuote: i64, slack: i64, c: usize, tierCount: i32, start: i32): void {
  const long = sizeQuote > 0;
  // 10^6·slack as a two's-complement 128-bit value; the long's numerator uses −slack.
  const slackSigned = long ? -slack : slack; // |slack| < 2^63 by the validated ranges
  const slackLo = mulWide(<u64>abs<i64>(slackSigned), SCALE_6);
  let baseHi = wideHi;
  let baseLo = slackLo;
  if (slackSigned < 0) {
    baseLo = ~baseLo + 1;
    baseHi = ~baseHi + <u64>(baseLo == 0);
  }
  // numerator_k = base ∓ cumX_k (long: −10^6·slack − cumX_k; short: 10^6·slack + cumX_k);
  // the root's notional is numerator_k / (10^6 ∓ r_k). Walk to the bracket that contains it.
  let k = start;
  let numHi: u64 = 0;
  let numLo: u64 = 0;
  let denominator: u64 = 0;
  for (let steps = 0; steps <= tierCount; steps++) {
    const tier = c + CACHE_TIERS + <usize>k * <usize>CACHE_TIER_BYTES;
    const floor = c + CACHE_FLOORS + (<usize>k << 3);
    const rate = load<u64>(tier);
    const cumLo = load<u64>(tier, 8);
    const cumHi = load<u64>(tier, 16);
    if (long) {
      numLo = baseLo - cumLo;
      numHi = baseHi - cumHi - <u64>(baseLo < cumLo);
      denominator = SCALE_6 - rate;
    } else {
      numLo = baseLo + cumLo;
      numHi = baseHi + cumHi + <u64>(numLo < baseLo);
      denominator = SCALE_6 + rate;
    }
    const negative = <i64>numHi < 0;
    if (k > 0) {
      // Down while the root's notional ≤ floor_k (a negative numerator is below every floor).
      const floorLo = mulWide(load<u64>(floor), denominator);
      if (negative || wideLessOrEqual(numHi, numLo, wideHi, floorLo)) {
        k--;
        continue;
      }
    }
    if (k + 1 < tierCount && !negative) {
      const upperLo = mulWide(load<u64>(floor, 8), denominator);
      if (!wideLessOrEqual(numHi, numLo, wideHi, upperLo)) {
        k++;
        continue;
      }
    }
    break;
  }
  rootHi = numHi;
  rootLo = numLo;
  rootDenominator = denominator;
}

/**
 * The tick nearest the mark at which the scope is liquidatable (docs/numbers.md). `slack` is
 * E0 − MMo. The scope is liquidatable at p ⇔ 10^6·(slack + sizeQuote·p) < max_k(|sizeQuote|·p·r_k − cumX_k).
 */
function liquidationPrice(sizeQuote: i64, slack: i64, tick: i64, c: usize, tierCount: i32, start: i32): i64 {
  liquidationRoot(sizeQuote, slack, c, tierCount, start);
  const numHi = rootHi;
  const numLo = rootLo;
  const denominator = rootDenominator;
  const negative = <i64>numHi < 0;
  const magnitude = <u64>abs<i64>(sizeQuote);
  if (sizeQuote > 0) {
    // root = num / (|sq|·(10^6 − r)); report the highest tick strictly below it.
    if (negative || (numHi == 0 && numLo == 0 && !valueRootAtZero(c))) return PRICE_NONE;
    let lo = divWideSmall(numHi, numLo, denominator);
    let hi = wideHi;
    if (wideRem != 0 || (numHi == 0 && numLo == 0)) {
      lo += 1;
      hi += <u64>(lo == 0);
    }
    // (hi, lo) is V + 1 = ceil(the value root); the price root is d·(V + 1) / |sq| (docs/numbers.md).
    lo = scaledByDivisor(hi, lo, c);
    hi = wideHi;
    if (hi >= magnitude) return PRICE_NONE; // root ≥ 2^64 price units: beyond every price
    let root = divWide(hi, lo, magnitude);
    root += <u64>(wideRem != 0); // ceil(root)
    const ticks = <i64>(root / <u64>tick) + <i64>(root % <u64>tick != 0) - 1;
    if (ticks <= 0 || ticks > PRICE_UNITS_MAX / tick) return PRICE_NONE;
    return ticks * tick;
  }
  // Short: root = num / (|sq|·(10^6 + r)); report the lowest tick strictly above it.
  if (negative) return PRICE_NONE; // liquidatable at every price
  // floor(the value root) = N − 1; the price root is d·(N − 1) / |sq|.
  const floorRoot = divWideSmall(numHi, numLo, denominator);
  const lo = scaledByDivisor(wideHi, floorRoot, c);
  const hi = wideHi;
  if (hi >= magnitude) return PRICE_NONE; // root ≥ 2^64: survives every price in range
  const root = divWide(hi, lo, magnitude); // floor
  const ticks = <i64>(root / <u64>tick) + 1;
  if (ticks <= 0 || ticks > PRICE_UNITS_MAX / tick) return PRICE_NONE;
  return ticks * tick;
}

/**
 * Whether a long's value root of 0 (its slack E0 − MMo exactly 0) still leaves a liquidatable
 * value: with d > 1 a value that floors to 0 has a notional of 1 micro (math.ts notionalOf), whose
 * maintenance, 1 micro, is above the equity 0, so V = 0 (docs/numbers.md); with d = 1 no price
 * has a value of 0.
 */
// @ts-ignore: decorator
@inline
function valueRootAtZero(c: usize): bool {
  return load<i64>(c + CACHE_DIV) != 1;
}

/**
 * (hi, lo)·d for the divisor d of the instrument cached at `c`: the price root's numerator from
 * the value root's (docs/numbers.md, "Instruments finer than a micro"). Returns the low half and
 * leaves the high half in wideHi; a product beyond 128 bits leaves u64.MAX there, above every
 * divisor the callers compare it with (a root beyond every price).
 */
// @ts-ignore: decorator
@inline
function scaledByDivisor(hi: u64, lo: u64, c: usize): u64 {
  const d = <u64>load<i64>(c + CACHE_DIV);
  if (d == 1) {
    wideHi = hi;
    return lo;
  }
  const low = mulWide(lo, d);
  const carry = wideHi;
  const high = mulWide(hi, d);
  if (wideHi != 0 || high + carry < high) {
    wideHi = u64.MAX_VALUE;
    return 0;
  }
  wideHi = high + carry;
  return low;
}

/** A threshold no mark reaches (the scope never has the status) and one every mark does. */
export const THRESHOLD_NEVER: i64 = i64.MIN_VALUE;
export const THRESHOLD_ALWAYS: i64 = i64.MAX_VALUE;

/**
 * An isolated position's liquidation threshold in price units, as the chunk sweep compares it:
 * a long is liquidatable iff mark ≤ T, a short iff −mark ≤ T. Exact, with no tick: the long's T
 * is the highest price strictly below the root, the short's −T the lowest price strictly above it.
 */
export function liquidationThreshold(sizeQuote: i64, equityAtZero: i64, c: usize, tierCount: i32, start: i32): i64 {
  liquidationRoot(sizeQuote, equityAtZero, c, tierCount, start);
  const negative = <i64>rootHi < 0;
  const magnitude = <u64>abs<i64>(sizeQuote);
  if (sizeQuote > 0) {
    if (negative || (rootHi == 0 && rootLo == 0 && !valueRootAtZero(c))) return THRESHOLD_NEVER; // root ≤ 0
    let lo = divWideSmall(rootHi, rootLo, rootDenominator);
    let hi = wideHi;
    if (wideRem != 0 || (rootHi == 0 && rootLo == 0)) {
      lo += 1;
      hi += <u64>(lo == 0);
    }
    lo = scaledByDivisor(hi, lo, c);
    hi = wideHi;
    if (hi >= magnitude) return THRESHOLD_ALWAYS; // root ≥ 2^64: below it at every price
    const root = divWide(hi, lo, magnitude) + <u64>(wideRem != 0); // ceil(root) ≥ 1
    return <i64>min<u64>(root - 1, <u64>THRESHOLD_ALWAYS);
  }
  if (negative) return THRESHOLD_ALWAYS; // the root is below zero: liquidatable at every price
  const floorRoot = divWideSmall(rootHi, rootLo, rootDenominator);
  const lo = scaledByDivisor(wideHi, floorRoot, c);
  if (wideHi >= magnitude) return THRESHOLD_NEVER; // root ≥ 2^64
  const above = divWide(wideHi, lo, magnitude) + 1; // floor(root) + 1 ≤ 2^64 − 1
  return above > <u64>THRESHOLD_ALWAYS ? THRESHOLD_NEVER : -<i64>above;
}



/**
 * The worst tick at which closing leaves the scope's equity ≥ 0: equityAtZero + floor(sizeQuote·p / d)
 * ≥ 0, which is sizeQuote·p ≥ −equityAtZero·d for a long and |sizeQuote|·p ≤ equityAtZero·d for a
 * short (d the instrument's value divisor, 1 for most).
 */
function bankruptcyPrice(sizeQuote: i64, equityAtZero: i64, tick: i64, d: i64): i64 {
  if (sizeQuote > 0) {
    if (equityAtZero >= 0) return PRICE_NONE; // equity stays ≥ 0 down to a price of zero
    const needLo = mulWide(<u64>-equityAtZero, <u64>d);
    const needHi = wideHi;
    const q = <u64>sizeQuote;
    if (needHi >= q) return PRICE_NONE; // the root is beyond 2^64 price units
    let root = divWide(needHi, needLo, q);
    root += <u64>(wideRem != 0); // ceil
    const ticks = <i64>(root / <u64>tick + <u64>(root % <u64>tick != 0)); // ceil
    return ticks < 0 || ticks > PRICE_UNITS_MAX / tick ? PRICE_NONE : ticks * tick;
  }
  if (equityAtZero < 0) return PRICE_NONE; // bankrupt at every price
  const haveLo = mulWide(<u64>equityAtZero, <u64>d);
  const haveHi = wideHi;
  const q = <u64>-sizeQuote;
  if (haveHi >= q) return PRICE_NONE; // solvent up to beyond 2^64 price units
  const root = divWide(haveHi, haveLo, q); // floor
  const ticks = <i64>(root / <u64>tick); // floor
  return ticks <= 0 || ticks > PRICE_UNITS_MAX / tick ? PRICE_NONE : ticks * tick;
}
