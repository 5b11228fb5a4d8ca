// Exact 128-bit arithmetic without allocation. A 128-bit value is a pair of u64 halves; functions
// that produce one return the low half and leave the high half (and remainders) in wasm globals.
// Wasm globals live in each instance, not in the shared linear memory, so every worker has its own.

const MASK_32: u64 = 0xffff_ffff;

/** High half of the last wide result. */
export let wideHi: u64 = 0;
/** Remainder of the last division. */
export let wideRem: u64 = 0;

/** a·b as 128 bits: returns the low half, wideHi gets the high half. */
// @ts-ignore: decorator
@inline
export function mulWide(a: u64, b: u64): u64 {
  const a0 = a & MASK_32;
  const a1 = a >> 32;
  const b0 = b & MASK_32;
  const b1 = b >> 32;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const p11 = a1 * b1;
  const mid = (p00 >> 32) + (p01 & MASK_32) + (p10 & MASK_32);
  wideHi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
  return (mid << 32) | (p00 & MASK_32);
}

/**
 * (hi, lo) / d for a divisor below 2^32, by four 64/32 steps (schoolbook, base 2^32).
 * Returns the low half of the quotient; wideHi gets its high half and wideRem the remainder.
 */
export function divWideSmall(hi: u64, lo: u64, d: u64): u64 {
  assert(d != 0 && d <= MASK_32);
  if (hi == 0) {
    // The usual case (a numerator below 2^64): one native division instead of four.
    const q = lo / d;
    wideHi = 0;
    wideRem = lo - q * d;
    return q;
  }
  let r: u64 = 0;
  let t = (r << 32) | (hi >> 32);
  const q3 = t / d;
  r = t - q3 * d;
  t = (r << 32) | (hi & MASK_32);
  const q2 = t / d;
  r = t - q2 * d;
  t = (r << 32) | (lo >> 32);
  const q1 = t / d;
  r = t - q1 * d;
  t = (r << 32) | (lo & MASK_32);
  const q0 = t / d;
  r = t - q0 * d;
  wideHi = (q3 << 32) | q2;
  wideRem = r;
  return (q1 << 32) | q0;
}

/**
 * (hi, lo) / v for any non-zero 64-bit v, when the quotient fits 64 bits (hi < v).
 * Knuth's algorithm D on two 32-bit digits (Hacker's Delight, divlu). wideRem gets the remainder.
 */
export function divWide(hi: u64, lo: u64, v: u64): u64 {
  assert(v != 0 && hi < v);
  if (hi == 0) {
    // The usual case (a dividend below 2^64): one native division.
    const q = lo / v;
    wideRem = lo - q * v;
    return q;
  }
  const b: u64 = 1 << 32;
  const s = <u64>clz<u64>(v);
  v = v << s;
  const vn1 = v >> 32;
  const vn0 = v & MASK_32;
  // When s = 0, lo >> 64 is lo >> 0 in wasm; mask that term away.
  const un32 = (hi << s) | (s == 0 ? 0 : lo >> (64 - s));
  const un10 = lo << s;
  const un1 = un10 >> 32;
  const un0 = un10 & MASK_32;

  let q1 = un32 / vn1;
  let rhat = un32 - q1 * vn1;
  while (q1 >= b || q1 * vn0 > ((rhat << 32) | un1)) {
    q1 -= 1;
    rhat += vn1;
    if (rhat >= b) break;
  }
  const un21 = ((un32 << 32) | un1) - q1 * v;

  let q0 = un21 / vn1;
  rhat = un21 - q0 * vn1;
  while (q0 >= b || q0 * vn0 > ((rhat << 32) | un0)) {
    q0 -= 1;
    rhat += vn1;
    if (rhat >= b) break;
  }
  wideRem = (((un21 << 32) | un0) - q0 * v) >> s;
  return (q1 << 32) | q0;
}

/** Unsigned (aHi, aLo) <= (bHi, bLo). */
// @ts-ignore: decorator
@inline
export function wideLessOrEqual(aHi: u64, aLo: u64, bHi: u64, bLo: u64): bool {
  return aHi < bHi || (aHi == bHi && aLo <= bLo);
}
