// The data plane: evaluates accounts [accountStart, accountEnd) of the book described by the header
// at `header`. It reads inputs and writes outputs in place, allocates nothing and keeps no state in
// linear memory, so any number of instances may run disjoint ranges over one shared memory.
// The rules are docs/numbers.md; src/reference/ is the BigInt twin the tests hold this to.

import {
  SCALE_6,
  PRICE_UNITS_MAX,
  TIERS_MAX,
  STATUS_HEALTHY,
  STATUS_LIQUIDATABLE,
  STATUS_BANKRUPT,
  MODE_CROSS,
  PRICE_NONE,
} from './constants';
import {
  column,
  H_INST_MARK,
  H_INST_FUNDING,
  H_INST_Q,
  H_INST_TICK,
  H_INST_TIER_COUNT,
  H_TIER_FLOOR,
  H_TIER_RATE,
  H_TIER_CUM_LO,
  H_TIER_CUM_HI,
  H_ACC_BALANCE,
  H_ACC_POS_START,
  H_ACC_POS_COUNT,
  H_ACC_CROSS_EQUITY,
  H_ACC_CROSS_MAINT,
  H_ACC_STATUS,
  H_POS_SIZE,
  H_POS_COST,
  H_POS_MARGIN,
  H_POS_FUNDING,
  H_POS_INST,
  H_POS_MODE,
  H_POS_PNL,
  H_POS_MAINT,
  H_POS_STATUS,
  H_POS_LIQ,
  H_POS_BK,
} from './layout';
import { mulWide, divWideSmall, divWide, wideHi, wideRem, wideLessOrEqual } from './wide';

/** The first byte JavaScript may use for the book: everything below belongs to the module. */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * Evaluates equity, maintenance and status of every scope of accounts [accountStart, accountEnd),
 * and with `withPrices` != 0 also every position's liquidation and bankruptcy prices.
 * Returns the number of liquidatable scopes (cross pools plus isolated positions) in the range.
 */
export function sweep(header: usize, accountStart: u32, accountEnd: u32, withPrices: u32): u32 {
  const instMark = column(header, H_INST_MARK);
  const instFunding = column(header, H_INST_FUNDING);
  const instQ = column(header, H_INST_Q);
  const instTierCount = column(header, H_INST_TIER_COUNT);
  const tierFloor = column(header, H_TIER_FLOOR);
  const tierRate = column(header, H_TIER_RATE);
  const tierCumLo = column(header, H_TIER_CUM_LO);
  const tierCumHi = column(header, H_TIER_CUM_HI);
  const accBalance = column(header, H_ACC_BALANCE);
  const accPosStart = column(header, H_ACC_POS_START);
  const accPosCount = column(header, H_ACC_POS_COUNT);
  const accCrossEquity = column(header, H_ACC_CROSS_EQUITY);
  const accCrossMaint = column(header, H_ACC_CROSS_MAINT);
  const accStatus = column(header, H_ACC_STATUS);
  const posSize = column(header, H_POS_SIZE);
  const posCost = column(header, H_POS_COST);
  const posMargin = column(header, H_POS_MARGIN);
  const posFunding = column(header, H_POS_FUNDING);
  const posInst = column(header, H_POS_INST);
  const posMode = column(header, H_POS_MODE);
  const posPnl = column(header, H_POS_PNL);
  const posMaint = column(header, H_POS_MAINT);
  const posStatus = column(header, H_POS_STATUS);

  let liquidatable: u32 = 0;
  for (let a = accountStart; a < accountEnd; a++) {
    const a8 = <usize>a << 3;
    const a4 = <usize>a << 2;
    const first = load<u32>(accPosStart + a4);
    const end = first + load<u32>(accPosCount + a4);
    let crossEquity = load<i64>(accBalance + a8);
    let crossMaint: i64 = 0;
    for (let j = first; j < end; j++) {
      const j8 = <usize>j << 3;
      const inst = <usize>load<u16>(posInst + (<usize>j << 1));
      const size = load<i64>(posSize + j8);
      const q = load<i64>(instQ + (inst << 3));
      const mark = load<i64>(instMark + (inst << 3));
      const sizeQuote = size * q; // |size|·q ≤ 10^16: validated notional bound at a price ≥ 1 unit

      // Funding owed = ceil(size·q·ΔF / 10^6): toward +∞, against the account.
      const fundingDelta = load<i64>(instFunding + (inst << 3)) - load<i64>(posFunding + j8);
      let fundingOwed: i64 = 0;
      if (fundingDelta != 0 && size != 0) {
        const negative = (sizeQuote ^ fundingDelta) < 0;
        const lo = mulWide(<u64>abs<i64>(sizeQuote), <u64>abs<i64>(fundingDelta));
        let quotient: i64;
        let remainder: u64;
        if (wideHi == 0) {
          // Common case: the product fits 64 bits, one division by a constant.
          quotient = <i64>(lo / SCALE_6);
          remainder = lo % SCALE_6;
        } else {
          quotient = <i64>divWideSmall(wideHi, lo, SCALE_6);
          remainder = wideRem;
        }
        fundingOwed = negative ? -quotient : quotient + <i64>(remainder != 0);
      }
      const pnl = sizeQuote * mark - load<i64>(posCost + j8) - fundingOwed;
      const notional = <u64>abs<i64>(sizeQuote * mark);
      const maint = maintenance(notional, inst, instTierCount, tierFloor, tierRate, tierCumLo, tierCumHi);
      store<i64>(posPnl + j8, pnl);
      store<i64>(posMaint + j8, maint);

      if (load<u8>(posMode + j) == MODE_CROSS) {
        crossEquity += pnl;
        crossMaint += maint;
        store<u8>(posStatus + j, STATUS_HEALTHY);
      } else {
        const equity = load<i64>(posMargin + j8) + pnl;
        const status = equity < 0 ? STATUS_BANKRUPT : equity < maint ? STATUS_LIQUIDATABLE : STATUS_HEALTHY;
        liquidatable += <u32>(status != STATUS_HEALTHY);
        store<u8>(posStatus + j, status);
      }
    }
    const crossLiquidatable = crossMaint > 0 && crossEquity < crossMaint;
    const crossStatus = !crossLiquidatable ? STATUS_HEALTHY : crossEquity < 0 ? STATUS_BANKRUPT : STATUS_LIQUIDATABLE;
    liquidatable += <u32>crossLiquidatable;
    store<i64>(accCrossEquity + a8, crossEquity);
    store<i64>(accCrossMaint + a8, crossMaint);
    store<u8>(accStatus + a, crossStatus);
  }
  if (withPrices != 0) prices(header, accountStart, accountEnd);
  return liquidatable;
}

/** Bracket k of a notional: the k with floor_k < notional ≤ floor_{k+1} (notional 0 → bracket 0). */
// @ts-ignore: decorator
@inline
function bracketOf(notional: u64, tiers: usize, count: i32, tierFloor: usize): i32 {
  let k = 0;
  while (k + 1 < count && notional > <u64>load<i64>(tierFloor + ((tiers + <usize>k + 1) << 3))) k++;
  return k;
}

/** ceil((notional·r_k − cumX_k) / 10^6) for the bracket of the notional. */
// @ts-ignore: decorator
@inline
function maintenance(
  notional: u64,
  inst: usize,
  instTierCount: usize,
  tierFloor: usize,
  tierRate: usize,
  tierCumLo: usize,
  tierCumHi: usize,
): i64 {
  if (notional == 0) return 0;
  const tiers = inst * <usize>TIERS_MAX;
  const k = bracketOf(notional, tiers, load<i32>(instTierCount + (inst << 2)), tierFloor);
  const t8 = (tiers + <usize>k) << 3;
  const productLo = mulWide(notional, <u64>load<i64>(tierRate + t8));
  const cumLo = load<u64>(tierCumLo + t8);
  // notional·r_k ≥ cumX_k inside bracket k (MM is non-negative), so the subtraction cannot borrow past 0.
  const lo = productLo - cumLo;
  const hi = wideHi - load<u64>(tierCumHi + t8) - <u64>(productLo < cumLo);
  if (hi == 0) return <i64>(lo / SCALE_6) + <i64>(lo % SCALE_6 != 0); // fits 64 bits: one constant division
  const quotient = divWideSmall(hi, lo, SCALE_6);
  assert(wideHi == 0); // MM ≤ notional ≤ 10^16 micro
  return <i64>quotient + <i64>(wideRem != 0);
}

/**
 * Liquidation and bankruptcy prices of every position of accounts [accountStart, accountEnd).
 * Needs the equities and maintenances a sweep just wrote for the same range.
 */
export function prices(header: usize, accountStart: u32, accountEnd: u32): void {
  const instMark = column(header, H_INST_MARK);
  const instQ = column(header, H_INST_Q);
  const instTick = column(header, H_INST_TICK);
  const instTierCount = column(header, H_INST_TIER_COUNT);
  const tierFloor = column(header, H_TIER_FLOOR);
  const tierRate = column(header, H_TIER_RATE);
  const tierCumLo = column(header, H_TIER_CUM_LO);
  const tierCumHi = column(header, H_TIER_CUM_HI);
  const accPosStart = column(header, H_ACC_POS_START);
  const accPosCount = column(header, H_ACC_POS_COUNT);
  const accCrossEquity = column(header, H_ACC_CROSS_EQUITY);
  const accCrossMaint = column(header, H_ACC_CROSS_MAINT);
  const posSize = column(header, H_POS_SIZE);
  const posMargin = column(header, H_POS_MARGIN);
  const posInst = column(header, H_POS_INST);
  const posMode = column(header, H_POS_MODE);
  const posPnl = column(header, H_POS_PNL);
  const posMaint = column(header, H_POS_MAINT);
  const posLiq = column(header, H_POS_LIQ);
  const posBk = column(header, H_POS_BK);

  for (let a = accountStart; a < accountEnd; a++) {
    const a8 = <usize>a << 3;
    const a4 = <usize>a << 2;
    const first = load<u32>(accPosStart + a4);
    const end = first + load<u32>(accPosCount + a4);
    const crossEquity = load<i64>(accCrossEquity + a8);
    const crossMaint = load<i64>(accCrossMaint + a8);
    for (let j = first; j < end; j++) {
      const j8 = <usize>j << 3;
      const size = load<i64>(posSize + j8);
      if (size == 0) {
        store<i64>(posLiq + j8, PRICE_NONE);
        store<i64>(posBk + j8, PRICE_NONE);
        continue;
      }
      const inst = <usize>load<u16>(posInst + (<usize>j << 1));
      const sizeQuote = size * load<i64>(instQ + (inst << 3));
      const mark = load<i64>(instMark + (inst << 3));
      const tick = load<i64>(instTick + (inst << 3));
      const maint = load<i64>(posMaint + j8);
      let scopeEquity: i64;
      let othersMaint: i64;
      if (load<u8>(posMode + j) == MODE_CROSS) {
        scopeEquity = crossEquity;
        othersMaint = crossMaint - maint;
      } else {
        scopeEquity = load<i64>(posMargin + j8) + load<i64>(posPnl + j8);
        othersMaint = 0;
      }
      // The scope's equity if this price were zero: equity(p) = equityAtZero + size·q·p.
      const equityAtZero = scopeEquity - sizeQuote * mark;
      const notional = <u64>abs<i64>(sizeQuote * mark);
      const tiers = inst * <usize>TIERS_MAX;
      const tierCount = load<i32>(instTierCount + (inst << 2));
      const start = bracketOf(notional, tiers, tierCount, tierFloor);
      store<i64>(
        posLiq + j8,
        liquidationPrice(sizeQuote, equityAtZero - othersMaint, tick, tiers, tierCount, start, tierFloor, tierRate, tierCumLo, tierCumHi),
      );
      store<i64>(posBk + j8, bankruptcyPrice(sizeQuote, equityAtZero, tick));
    }
  }
}

/**
 * The tick nearest the mark at which the scope is liquidatable (docs/numbers.md). `slack` is
 * E0 − MMo. The scope is liquidatable at p ⇔ 10^6·(slack + sizeQuote·p) < max_k(|sizeQuote|·p·r_k − cumX_k).
 */
function liquidationPrice(
  sizeQuote: i64,
  slack: i64,
  tick: i64,
  tiers: usize,
  tierCount: i32,
  start: i32,
  tierFloor: usize,
  tierRate: usize,
  tierCumLo: usize,
  tierCumHi: usize,
): i64 {
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
    const t8 = (tiers + <usize>k) << 3;
    const cumLo = load<u64>(tierCumLo + t8);
    const cumHi = load<u64>(tierCumHi + t8);
    const rate = <u64>load<i64>(tierRate + t8);
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
      const floorLo = mulWide(<u64>load<i64>(tierFloor + t8), denominator);
      if (negative || wideLessOrEqual(numHi, numLo, wideHi, floorLo)) {
        k--;
        continue;
      }
    }
    if (k + 1 < tierCount && !negative) {
      const upperLo = mulWide(<u64>load<i64>(tierFloor + t8 + 8), denominator);
      if (!wideLessOrEqual(numHi, numLo, wideHi, upperLo)) {
        k++;
        continue;
      }
    }
    break;
  }
  const negative = <i64>numHi < 0;
  const magnitude = <u64>abs<i64>(sizeQuote);
  if (long) {
    // root = num / (|sq|·(10^6 − r)); report the highest tick strictly below it.
    if (negative || (numHi == 0 && numLo == 0)) return PRICE_NONE;
    let lo = divWideSmall(numHi, numLo, denominator);
    let hi = wideHi;
    if (wideRem != 0) {
      lo += 1;
      hi += <u64>(lo == 0);
    }
    if (hi >= magnitude) return PRICE_NONE; // root ≥ 2^64 price units: beyond every price
    let root = divWide(hi, lo, magnitude);
    root += <u64>(wideRem != 0); // ceil(root)
    const ticks = <i64>(root / <u64>tick) + <i64>(root % <u64>tick != 0) - 1;
    if (ticks <= 0 || ticks > PRICE_UNITS_MAX / tick) return PRICE_NONE;
    return ticks * tick;
  }
  // Short: root = num / (|sq|·(10^6 + r)); report the lowest tick strictly above it.
  if (negative) return PRICE_NONE; // liquidatable at every price
  const lo = divWideSmall(numHi, numLo, denominator);
  const hi = wideHi;
  if (hi >= magnitude) return PRICE_NONE; // root ≥ 2^64: survives every price in range
  const root = divWide(hi, lo, magnitude); // floor
  const ticks = <i64>(root / <u64>tick) + 1;
  if (ticks <= 0 || ticks > PRICE_UNITS_MAX / tick) return PRICE_NONE;
  return ticks * tick;
}

/** The worst tick at which closing leaves the scope's equity ≥ 0: equityAtZero + sizeQuote·p ≥ 0. */
function bankruptcyPrice(sizeQuote: i64, equityAtZero: i64, tick: i64): i64 {
  if (sizeQuote > 0) {
    if (equityAtZero >= 0) return PRICE_NONE; // equity stays ≥ 0 down to a price of zero
    const need = <u64>-equityAtZero;
    const q = <u64>sizeQuote;
    const root = need / q + <u64>(need % q != 0); // ceil
    const ticks = <i64>(root / <u64>tick + <u64>(root % <u64>tick != 0)); // ceil
    return ticks > PRICE_UNITS_MAX / tick ? PRICE_NONE : ticks * tick;
  }
  if (equityAtZero < 0) return PRICE_NONE; // bankrupt at every price
  const root = <u64>equityAtZero / <u64>-sizeQuote; // floor
  const ticks = <i64>(root / <u64>tick); // floor
  return ticks <= 0 || ticks > PRICE_UNITS_MAX / tick ? PRICE_NONE : ticks * tick;
}
