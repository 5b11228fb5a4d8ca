// The generator's randomness: a seeded xoshiro128** on 32-bit integer arithmetic, and the few
// real functions the distributions need (ln, exp, normal draws), written with +, −, ×, ÷ and
// Math.sqrt only. Those operations are correctly rounded in IEEE 754 and JavaScript never fuses
// them, so the same seed gives the same numbers bit for bit on every machine and Node version.
// Math.log / Math.exp / Math.pow are deliberately not used: ECMAScript leaves their last bit to
// the implementation.

/** splitmix32: a 32-bit mixing step, used only to seed the generators. */
function mix32(value: number): number {
  let z = (value + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

const TWO_POW_32 = 4_294_967_296;

/**
 * xoshiro128** (Blackman and Vigna): four 32-bit words of state, period 2^128 − 1. One instance
 * per independent stream; `stream` separates streams drawn from the same seed.
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare = 0;
  private hasSpare = false;

  /** seed: a safe integer ≥ 0 (both of its 32-bit halves are used); stream: a small integer. */
  constructor(seed: number, stream: number) {
    const low = seed >>> 0;
    const high = Math.floor(seed / TWO_POW_32) >>> 0;
    let h = mix32(low ^ mix32(high ^ mix32(stream)));
    this.s0 = h = mix32(h);
    this.s1 = h = mix32(h);
    this.s2 = h = mix32(h);
    this.s3 = mix32(h);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the one forbidden state
  }

  /** A generator in the given state (for known-answer tests). */
  static fromState(s0: number, s1: number, s2: number, s3: number): Rng {
    const rng = new Rng(0, 0);
    rng.s0 = s0 | 0;
    rng.s1 = s1 | 0;
    rng.s2 = s2 | 0;
    rng.s3 = s3 | 0;
    return rng;
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    const s1 = this.s1;
    const product = Math.imul(s1, 5);
    const result = Math.imul((product << 7) | (product >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }

  /** Uniform in the open interval (0, 1), on a grid of 2^-32. */
  uniform(): number {
    return (this.nextU32() + 0.5) / TWO_POW_32;
  }

  /** Uniform integer in [0, n) for 1 ≤ n ≤ 2^32 (multiply-shift; the bias is below n / 2^32). */
  below(n: number): number {
    return Math.floor((this.nextU32() / TWO_POW_32) * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.uniform() < p;
  }

  /** A standard normal draw (Marsaglia's polar method; the second value of each pair is kept). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const factor = Math.sqrt((-2 * ln(s)) / s);
    this.spare = v * factor;
    this.hasSpare = true;
    return u * factor;
  }
}

const LN2 = 0.6931471805599453;
const SQRT2 = 1.4142135623730951;

/** 1/n for odd n ≤ 23 (the atanh series of ln). */
const ODD_RECIPROCAL = new Float64Array(24);
for (let n = 1; n < 24; n += 2) ODD_RECIPROCAL[n] = 1 / n;

const LN_BITS = new Float64Array(1);
const LN_WORDS = new Uint32Array(LN_BITS.buffer); // little-endian host: [low, high]

/** Natural logarithm of x > 0 (finite, normal), to about 1e-16 relative, with basic operations only. */
export function ln(x: number): number {
  if (!(x >= 2.2250738585072014e-308) || x === Infinity) throw new RangeError(`ln: argument must be positive and finite, got ${x}`);
  // x = m·2^k with m in [1, 2), read from the IEEE 754 bits (exact), then m in [√½, √2).
  LN_BITS[0] = x;
  const high = LN_WORDS[1];
  let k = ((high >>> 20) & 0x7ff) - 1023;
  LN_WORDS[1] = (high & 0x000fffff) | 0x3ff00000;
  let m = LN_BITS[0];
  if (m >= SQRT2) {
    m *= 0.5;
    k++;
  }
  // ln m = 2·atanh(t), t = (m − 1)/(m + 1), |t| ≤ 0.172: the series to t^23 is below 1e-17.
  const t = (m - 1) / (m + 1);
  const t2 = t * t;
  const s =
    1 +
    t2 *
      (ODD_RECIPROCAL[3] +
        t2 *
          (ODD_RECIPROCAL[5] +
            t2 *
              (ODD_RECIPROCAL[7] +
                t2 *
                  (ODD_RECIPROCAL[9] +
                    t2 *
                      (ODD_RECIPROCAL[11] +
                        t2 *
                          (ODD_RECIPROCAL[13] +
                            t2 * (ODD_RECIPROCAL[15] + t2 * (ODD_RECIPROCAL[17] + t2 * (ODD_RECIPROCAL[19] + t2 * (ODD_RECIPROCAL[21] + t2 * ODD_RECIPROCAL[23]))))))))));
  return k * LN2 + 2 * t * s;
}

/** 2^k for k from −EXP_K_MAX to EXP_K_MAX, built by exact doubling and halving. */
const EXP_K_MAX = 1_022;
const POW2 = new Float64Array(2 * EXP_K_MAX + 1);
POW2[EXP_K_MAX] = 1;
for (let k = 1; k <= EXP_K_MAX; k++) {
  POW2[EXP_K_MAX + k] = POW2[EXP_K_MAX + k - 1] * 2;
  POW2[EXP_K_MAX - k] = POW2[EXP_K_MAX - k + 1] * 0.5;
}

/** ln 2 / 64 split so that k·EXP_STEP_HIGH is exact for |k| < 2^16 (Cody and Waite). */
const EXP_STEP_HIGH = 0.01083042469326756; // 0x3f862e42fee00000: 32 significant bits
const EXP_STEP_LOW = 2.9815858269852933e-12;
const EXP_STEPS_PER_LN2 = 92.33248261689366; // 64 / ln 2
/** 2^(j/64) for j = 0..63, from the series below on (j/64)·ln 2 ≤ 0.69 (built once, exactly the same everywhere). */
const EXP_TABLE = new Float64Array(64);
for (let j = 0; j < 64; j++) {
  const r = (j * LN2) / 64;
  let term = 1;
  let sum = 1;
  for (let n = 1; n <= 30; n++) {
    term = (term * r) / n;
    sum += term;
  }
  EXP_TABLE[j] = sum;
}
const C2 = 1 / 2;
const C3 = 1 / 6;
const C4 = 1 / 24;
const C5 = 1 / 120;
const C6 = 1 / 720;

/** e^x for |x| ≤ 700, to about 1e-15 relative, with basic operations only. */
export function exp(x: number): number {
  if (!(x >= -700 && x <= 700)) throw new RangeError(`exp: argument out of range, got ${x}`);
  // x = (64·k2 + j)·ln2/64 + r, |r| ≤ ln2/128: e^x = 2^k2 · 2^(j/64) · e^r, e^r by its series to r^6.
  const k = Math.round(x * EXP_STEPS_PER_LN2);
  const r = x - k * EXP_STEP_HIGH - k * EXP_STEP_LOW;
  const er = 1 + r * (1 + r * (C2 + r * (C3 + r * (C4 + r * (C5 + r * C6)))));
  const j = k & 63;
  return er * EXP_TABLE[j] * POW2[EXP_K_MAX + ((k - j) >> 6)];
}

/**
 * Samples index i with probability weights[i] / Σ weights: a cumulative table searched by
 * bisection. Built once per distribution.
 */
export class Discrete {
  private readonly cumulative: Float64Array;

  constructor(weights: readonly number[]) {
    if (weights.length === 0) throw new RangeError('Discrete: no weights');
    let total = 0;
    for (const w of weights) {
      if (!(w >= 0)) throw new RangeError(`Discrete: weight ${w} is not ≥ 0`);
      total += w;
    }
    if (!(total > 0)) throw new RangeError('Discrete: weights sum to 0');
    this.cumulative = new Float64Array(weights.length);
    let running = 0;
    for (let i = 0; i < weights.length; i++) {
      running += weights[i];
      this.cumulative[i] = running / total;
    }
    this.cumulative[weights.length - 1] = 1;
  }

  get size(): number {
    return this.cumulative.length;
  }

  /** Probability of index i (for documentation and tests). */
  probability(i: number): number {
    return this.cumulative[i] - (i === 0 ? 0 : this.cumulative[i - 1]);
  }

  /** The index whose cumulative slot holds the uniform draw u in (0, 1). */
  pick(u: number): number {
    const c = this.cumulative;
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (u < c[mid]) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  sample(rng: Rng): number {
    return this.pick(rng.uniform());
  }
}
