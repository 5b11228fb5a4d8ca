// The margin arithmetic of one position, exact and allocation-free: its tier bracket, its
// maintenance margin (narrow when the product fits 64 bits, 128-bit otherwise) and the funding it
// owes. Each function reads one instrument's entry `c` in a shard's instrument cache (cache.ts).

import { SCALE_6, TIERS_MAX } from './constants';
import { CACHE_FLOORS, CACHE_TIERS, CACHE_TIER_BYTES, CACHE_UNIT, CACHE_DIV } from './layout';
import { mulWide, divWideSmall, wideHi, wideRem } from './wide';

// bracketOf counts a notional's bracket with eight 2-lane compares: exactly TIERS_MAX floors.
if (TIERS_MAX != 16) ERROR('bracketOf compares 16 floors: TIERS_MAX must be 16');

/**
 * A position's value at the cached mark, floor(size·q·mark / d) micro (docs/numbers.md,
 * "Instruments finer than a micro"): size·q·mark exactly when the instrument's divisor d is 1,
 * toward −∞ (against the account, long or short) when it is a power of ten above 1. The ranges keep
 * |size·q·mark| within 10^18 either way, so the product fits 64 bits.
 */
// @ts-ignore: decorator
@inline
export function valueOf(size: i64, c: usize): i64 {
  const product = size * load<i64>(c + CACHE_UNIT);
  const d = load<i64>(c + CACHE_DIV);
  if (d == 1) return product;
  const quotient = product / d; // toward zero
  return quotient - <i64>(product < 0 && quotient * d != product);
}

/**
 * A position's notional from its value: |value|, except an open long whose value floors to 0 (an
 * instrument finer than a micro, z·q·p < d), whose notional is 1 micro, so that every open position
 * has a positive notional and maintenance, as when d is 1 (docs/numbers.md). Exactly |value| for
 * d = 1, where a value is 0 only at size 0.
 */
// @ts-ignore: decorator
@inline
export function notionalOf(value: i64, size: i64): u64 {
  return <u64>abs<i64>(value) | <u64>(value == 0 && size != 0);
}

/** 2^44: below it, notional·rate (rate < 2^20) fits 64 bits. */
export const NOTIONAL_NARROW: u64 = 1 << 44;

/**
 * Bracket of a notional: the largest k with floor_k < notional, i.e. the number of floors 1..15
 * below it. Unused tiers are padded with floors of i64.MAX by the control plane, so eight 2-lane
 * comparisons over all 16 floors count it with no branch and no dependency between the loads.
 */
// @ts-ignore: decorator
@inline
export function bracketOf(notional: u64, floors: usize): usize {
  const n = i64x2.splat(<i64>notional);
  // floor_0 = 0 is below every notional but 0: count it with the rest and take it off after.
  let count = i64x2.gt_s(n, v128.load(floors));
  count = i64x2.add(count, i64x2.gt_s(n, v128.load(floors, 16)));
  count = i64x2.add(count, i64x2.gt_s(n, v128.load(floors, 32)));
  count = i64x2.add(count, i64x2.gt_s(n, v128.load(floors, 48)));
  count = i64x2.add(count, i64x2.gt_s(n, v128.load(floors, 64)));
  count = i64x2.add(count, i64x2.gt_s(n, v128.load(floors, 80)));
  count = i64x2.add(count, i64x2.gt_s(n, v128.load(floors, 96)));
  count = i64x2.add(count, i64x2.gt_s(n, v128.load(floors, 112)));
  // Each lane holds minus the number of floors below the notional in its half.
  const below = -(i64x2.extract_lane(count, 0) + i64x2.extract_lane(count, 1));
  return <usize>max<i64>(below - 1, 0);
}

/** ceil((notional·r_k − cumX_k) / 10^6), the 128-bit way. */
// @ts-ignore: decorator
@noinline
function maintenanceWide(notional: u64, rate: u64, cumLo: u64, cumHi: u64): i64 {
  const productLo = mulWide(notional, rate);
  // notional·r_k ≥ cumX_k inside bracket k (MM is non-negative), so the subtraction cannot borrow past 0.
  const lo = productLo - cumLo;
  const hi = wideHi - cumHi - <u64>(productLo < cumLo);
  const quotient = divWideSmall(hi, lo, SCALE_6);
  assert(wideHi == 0); // MM ≤ notional ≤ 10^16 micro
  return <i64>quotient + <i64>(wideRem != 0);
}

/** MM(notional) = ceil((notional·r_k − cumX_k) / 10^6) in the notional's bracket; 0 for 0. */
// @ts-ignore: decorator
@inline
export function maintenance(notional: u64, c: usize): i64 {
  return maintenanceInBracket(notional, c, bracketOf(notional, c + CACHE_FLOORS));
}

/**
 * MM with the bracket the last sweep found for this position at `hint`: between two sweeps most
 * prices barely move, so two compares usually confirm it and the bracket count is skipped. A hint
 * that no longer fits is replaced. Results never depend on the hint, only the time taken.
 */
// @ts-ignore: decorator
@inline
export function maintenanceHinted(notional: u64, c: usize, hint: usize): i64 {
  let k = <usize>load<u8>(hint);
  const floor = c + CACHE_FLOORS + (k << 3);
  if (!(notional > load<u64>(floor) && notional <= load<u64>(floor, 8))) {
    k = bracketOf(notional, c + CACHE_FLOORS);
    store<u8>(hint, <u8>k);
  }
  return maintenanceInBracket(notional, c, k);
}

// @ts-ignore: decorator
@inline
export function maintenanceInBracket(notional: u64, c: usize, k: usize): i64 {
  const tier = c + CACHE_TIERS + k * <usize>CACHE_TIER_BYTES;
  const rate = load<u64>(tier);
  const cumLo = load<u64>(tier, 8);
  const cumHi = load<u64>(tier, 16);
  if (notional >= NOTIONAL_NARROW || cumHi != 0) return maintenanceWide(notional, rate, cumLo, cumHi);
  // notional < 2^44 and rate < 10^6 leave x below 1.76·10^19, room under 2^64 for the rounding term.
  return <i64>((notional * rate - cumLo + (SCALE_6 - 1)) / SCALE_6);
}

/** ceil(sizeQuote·ΔF / 10^6) when the product needs 128 bits. */
// @ts-ignore: decorator
@noinline
function fundingOwedWide(magnitudeQuote: u64, magnitudeDelta: u64, negative: bool): i64 {
  const lo = mulWide(magnitudeQuote, magnitudeDelta);
  const quotient = <i64>divWideSmall(wideHi, lo, SCALE_6);
  return negative ? -quotient : quotient + <i64>(wideRem != 0);
}

/**
 * The rounding residue of funding owed: 10^6·fundingOwed(sizeQuote, ΔF) − sizeQuote·ΔF, in
 * [0, 10^6). Given the owed amount (exact), the product is needed only modulo 2^64: the wrapping
 * arithmetic of i64 gives the residue exactly, whatever the product's width.
 */
// @ts-ignore: decorator
@inline
export function fundingResidue(owed: i64, sizeQuote: i64, fundingDelta: i64): u32 {
  return <u32>(owed * <i64>SCALE_6 - sizeQuote * fundingDelta);
}

/** Funding owed = ceil(sizeQuote·ΔF / 10^6): toward +∞, against the account. */
// @ts-ignore: decorator
@inline
export function fundingOwed(sizeQuote: i64, fundingDelta: i64): i64 {
  const magnitudeQuote = <u64>abs<i64>(sizeQuote);
  const magnitudeDelta = <u64>abs<i64>(fundingDelta);
  const negative = (sizeQuote ^ fundingDelta) < 0;
  // The product fits 64 bits when the factors' significant bits do (a < 2^(64−clz a), likewise b).
  if (clz<u64>(magnitudeQuote) + clz<u64>(magnitudeDelta) < 64) return fundingOwedWide(magnitudeQuote, magnitudeDelta, negative);
  const product = magnitudeQuote * magnitudeDelta;
  const quotient = <i64>(product / SCALE_6);
  const inexact = <i64>(product - <u64>quotient * SCALE_6 != 0);
  return select<i64>(-quotient, quotient + inexact, negative);
}
