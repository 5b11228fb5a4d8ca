// The simulator's exogenous prices (src/sim/paths.ts): scripted shocks reach their targets exactly
// and compose by multiplication, range moves are drawn in the documented order from their own
// stream, random paths are deterministic and have the documented correlations, tails and drift,
// recorded ticks forward-fill and are refused line by line, and priceUnits rounds and clamps.
// The statistical checks run on fixed seeds, so they are deterministic; their tolerances are still
// set at several standard errors so that a correct model passes for any seed.
import { describe, expect, test } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PRICE_UNITS_MAX } from '../../src/fixed/constants.js';
import { exp, ln, Rng } from '../../src/gen/random.js';
import {
  PATH_CELLS_MAX,
  RecordedTicksError,
  SECONDS_PER_YEAR,
  STREAM_PATH_COMMON,
  STREAM_PATH_IDIOSYNCRATIC,
  STREAM_SHOCK_MOVES,
  exogenousPaths,
  gammaDraw,
  majorsOf,
  parseRecordedTicks,
  readRecordedTicks,
  type PathInstrument,
} from '../../src/sim/paths.js';
import type { PriceSpec, RandomPaths, Shock } from '../../src/sim/scenario-types.js';

const BTC: PathInstrument = { symbol: 'BTC-PERP', markUnits: 6_000_000n, priceDecimals: 2, tickUnits: 10n };
const ETH: PathInstrument = { symbol: 'ETH-PERP', markUnits: 300_000n, priceDecimals: 2, tickUnits: 1n };
const ALT: PathInstrument = { symbol: 'ALT-PERP', markUnits: 12_345n, priceDecimals: 4, tickUnits: 1n };
const THREE = [BTC, ETH, ALT];

function spec(over: Partial<PriceSpec> = {}): PriceSpec {
  return { majors: 2, shocks: [], random: null, recorded: null, ...over };
}

function shock(over: Partial<Shock> = {}): Shock {
  return { instruments: 'all', startStep: 0, steps: 1, move: -0.1, shape: 'linear', ...over };
}

function random(over: Partial<RandomPaths> = {}): RandomPaths {
  return {
    volatility: { majors: 0.8, alts: 1.5 },
    correlation: { majors: 0.8, alts: 0.5 },
    tailDf: null,
    drift: { majors: 0, alts: 0 },
    ...over,
  };
}

/** Instrument i's factors over every step. */
function column(factors: Float64Array, n: number, i: number): number[] {
  const out: number[] = [];
  for (let k = i; k < factors.length; k += n) out.push(factors[k]);
  return out;
}

/** Instrument i's log-returns (the first against the start, factor 1). Math.log is fine here: tests only compare with tolerances. */
function logReturns(factors: Float64Array, n: number, i: number): number[] {
  const f = column(factors, n, i);
  return f.map((value, t) => Math.log(value) - (t === 0 ? 0 : Math.log(f[t - 1])));
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function variance(xs: readonly number[]): number {
  const m = mean(xs);
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / xs.length;
}

function correlation(xs: readonly number[], ys: readonly number[]): number {
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let k = 0; k < xs.length; k++) {
    sxy += (xs[k] - mx) * (ys[k] - my);
    sxx += (xs[k] - mx) ** 2;
    syy += (ys[k] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

function excessKurtosis(xs: readonly number[]): number {
  const m = mean(xs);
  let m2 = 0;
  let m4 = 0;
  for (const x of xs) {
    const d = (x - m) ** 2;
    m2 += d;
    m4 += d * d;
  }
  m2 /= xs.length;
  m4 /= xs.length;
  return m4 / (m2 * m2) - 3;
}

function bytes(factors: Float64Array): Buffer {
  return Buffer.from(factors.buffer, factors.byteOffset, factors.byteLength);
}

describe('majorsOf and selectors', () => {
  test('a count takes the first N instruments (all of them when N is larger); a list names them', () => {
    expect(Array.from(majorsOf(spec({ majors: 2 }), THREE))).toEqual([1, 1, 0]);
    expect(Array.from(majorsOf(spec({ majors: 0 }), THREE))).toEqual([0, 0, 0]);
    expect(Array.from(majorsOf(spec({ majors: 9 }), THREE))).toEqual([1, 1, 1]);
    expect(Array.from(majorsOf(spec({ majors: ['ALT-PERP', 'BTC-PERP'] }), THREE))).toEqual([1, 0, 1]);
  });

  test('an unknown symbol throws an Error naming it', () => {
    expect(() => majorsOf(spec({ majors: ['BTC-PERP', 'DOGE-PERP'] }), THREE)).toThrow(/DOGE-PERP/);
    const paths = () => exogenousPaths(spec({ shocks: [shock({ instruments: ['SOL-PERP'] })] }), THREE, 2, 60, 1);
    expect(paths).toThrow(/prices\.shocks\[0\]\.instruments: .*SOL-PERP/);
  });

  test("'majors', 'alts', 'all' and a list move exactly the instruments they pick", () => {
    const moved = (instruments: Shock['instruments']) =>
      Array.from(exogenousPaths(spec({ shocks: [shock({ instruments, move: -0.5 })] }), THREE, 1, 60, 1).factors, (f) => (f === 1 ? 0 : 1));
    expect(moved('majors')).toEqual([1, 1, 0]);
    expect(moved('alts')).toEqual([0, 0, 1]);
    expect(moved('all')).toEqual([1, 1, 1]);
    expect(moved(['ETH-PERP'])).toEqual([0, 1, 0]);
  });
});

describe('scripted shocks', () => {
  test('linear: 1 before the start, 1 + m·(t − s + 1)/k during, exactly 1 + m at the end and after', () => {
    const m = -0.2;
    const paths = exogenousPaths(spec({ shocks: [shock({ startStep: 3, steps: 4, move: m })] }), [BTC], 10, 60, 7);
    const f = Array.from(paths.factors);
    expect(f.slice(0, 3)).toEqual([1, 1, 1]);
    expect(f.slice(3, 6)).toEqual([1 + m * 0.25, 1 + m * 0.5, 1 + m * 0.75]);
    expect(f.slice(6)).toEqual([1 + m, 1 + m, 1 + m, 1 + m]);
    expect(f[6]).toBe(0.8);
  });

  test('exponential: linear in log-price (a constant ratio per step), exactly 1 + m at the end', () => {
    const m = 0.44;
    const paths = exogenousPaths(spec({ shocks: [shock({ startStep: 1, steps: 4, move: m, shape: 'exponential' })] }), [ETH], 8, 60, 7);
    const f = Array.from(paths.factors);
    expect(f[0]).toBe(1);
    for (let t = 1; t <= 3; t++) {
      const progress = t / 4;
      expect(f[t]).toBe(exp(ln(1 + m) * progress)); // the portable functions, exactly
      expect(f[t]).toBeCloseTo(Math.pow(1 + m, progress), 14);
    }
    // Equal log-steps: each step multiplies by (1 + m)^(1/4).
    for (let t = 2; t <= 4; t++) expect(f[t] / f[t - 1]).toBeCloseTo(Math.pow(1.44, 0.25), 13);
    expect(f.slice(4)).toEqual([1 + m, 1 + m, 1 + m, 1 + m]);
  });

  test('two shocks on one instrument multiply; a shock that does not select it leaves it alone', () => {
    const shocks = [
      shock({ instruments: 'majors', startStep: 0, steps: 4, move: -0.1 }),
      shock({ instruments: ['BTC-PERP'], startStep: 2, steps: 2, move: 0.2, shape: 'exponential' }),
      shock({ instruments: 'alts', startStep: 0, steps: 1, move: -0.5 }),
    ];
    const paths = exogenousPaths(spec({ shocks }), THREE, 6, 60, 3);
    const btc = column(paths.factors, 3, 0);
    const linear = (t: number) => (t >= 3 ? 1 - 0.1 : 1 + -0.1 * ((t + 1) / 4));
    const exponential = (t: number) => (t < 2 ? 1 : t >= 3 ? 1 + 0.2 : exp(ln(1.2) * ((t - 1) / 2)));
    for (let t = 0; t < 6; t++) expect(btc[t]).toBe(linear(t) * exponential(t));
    expect(btc[5]).toBe((1 - 0.1) * (1 + 0.2));
    expect(column(paths.factors, 3, 1)).toEqual([0, 1, 2, 3, 4, 5].map(linear)); // ETH: the first shock only
    expect(column(paths.factors, 3, 2)).toEqual([0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
  });

  test('a shock starting past the last step changes nothing', () => {
    const paths = exogenousPaths(spec({ shocks: [shock({ startStep: 5, steps: 3 })] }), [BTC], 5, 60, 3);
    expect(Array.from(paths.factors)).toEqual([1, 1, 1, 1, 1]);
  });

  test('a shock on a random path multiplies it: the random part is the same with or without the shock', () => {
    const plain = exogenousPaths(spec({ random: random() }), THREE, 20, 60, 11);
    const shocks = [shock({ instruments: 'majors', startStep: 5, steps: 5, move: -0.3 })];
    const shocked = exogenousPaths(spec({ random: random(), shocks }), THREE, 20, 60, 11);
    for (let t = 0; t < 20; t++) {
      const multiplier = t < 5 ? 1 : t >= 9 ? 1 - 0.3 : 1 + -0.3 * ((t - 4) / 5);
      expect(shocked.factors[t * 3]).toBe(plain.factors[t * 3] * multiplier);
      expect(shocked.factors[t * 3 + 2]).toBe(plain.factors[t * 3 + 2]); // the alt is not selected
    }
  });
});

describe('range moves', () => {
  const instruments = Array.from({ length: 200 }, (_, i) => ({ symbol: `S${i}`, markUnits: 1_000n, priceDecimals: 2, tickUnits: 1n }));
  const ranged = (seed: number) =>
    exogenousPaths(spec({ majors: 0, shocks: [shock({ move: { min: -0.3, max: -0.1 } })] }), instruments, 1, 60, seed).factors;

  test('each instrument draws its own move within [min, max]; the draws spread over the range', () => {
    const f = Array.from(ranged(5));
    for (const value of f) {
      expect(value).toBeGreaterThanOrEqual(1 - 0.3);
      expect(value).toBeLessThanOrEqual(1 - 0.1);
    }
    expect(new Set(f).size).toBe(200);
    // Uniform on [−0.3, −0.1]: mean −0.2, standard deviation 0.2/√12 ≈ 0.058, so the mean of 200 draws has an SE of 0.0041.
    expect(Math.abs(mean(f) - 1 - -0.2)).toBeLessThan(0.0125);
    expect(Math.min(...f)).toBeLessThan(0.72);
    expect(Math.max(...f)).toBeGreaterThan(0.88);
  });

  test('seeded: the same seed draws the same moves, another seed others', () => {
    expect(bytes(ranged(5)).equals(bytes(ranged(5)))).toBe(true);
    expect(bytes(ranged(5)).equals(bytes(ranged(6)))).toBe(false);
  });

  test('min = max is that move exactly', () => {
    const f = exogenousPaths(spec({ shocks: [shock({ move: { min: 0.25, max: 0.25 } })] }), THREE, 1, 60, 5).factors;
    expect(Array.from(f)).toEqual([1.25, 1.25, 1.25]);
  });

  test('the draws are min + (max − min)·u from STREAM_SHOCK_MOVES, by instrument index, then shock index, selected pairs only', () => {
    const shocks = [
      shock({ instruments: 'majors', move: { min: -0.5, max: -0.2 } }),
      shock({ instruments: 'all', move: -0.1 }), // not a range: draws nothing
      shock({ instruments: 'all', move: { min: 0.1, max: 0.3 }, shape: 'exponential' }),
    ];
    const f = exogenousPaths(spec({ shocks }), THREE, 1, 60, 99).factors;
    const rng = new Rng(99, STREAM_SHOCK_MOVES);
    const draw = (min: number, max: number) => min + (max - min) * rng.uniform();
    const btc = [draw(-0.5, -0.2), draw(0.1, 0.3)];
    const eth = [draw(-0.5, -0.2), draw(0.1, 0.3)];
    const alt = draw(0.1, 0.3);
    expect(f[0]).toBe(1 * (1 + btc[0]) * (1 - 0.1) * (1 + btc[1]));
    expect(f[1]).toBe(1 * (1 + eth[0]) * (1 - 0.1) * (1 + eth[1]));
    expect(f[2]).toBe(1 * (1 - 0.1) * (1 + alt));
  });
});

describe('random paths', () => {
  test('the same seed gives identical factor bytes; another seed differs; the streams are the documented ones', () => {
    const a = exogenousPaths(spec({ random: random({ tailDf: 4 }) }), THREE, 500, 60, 2024).factors;
    const b = exogenousPaths(spec({ random: random({ tailDf: 4 }) }), THREE, 500, 60, 2024).factors;
    const c = exogenousPaths(spec({ random: random({ tailDf: 4 }) }), THREE, 500, 60, 2025).factors;
    expect(bytes(a).equals(bytes(b))).toBe(true);
    expect(bytes(a).equals(bytes(c))).toBe(false);
    expect(new Set([STREAM_PATH_COMMON, STREAM_PATH_IDIOSYNCRATIC, STREAM_SHOCK_MOVES]).size).toBe(3);
  });

  test('golden: the first steps of one seeded heavy-tailed path (a change to any draw shows here)', () => {
    const f = exogenousPaths(spec({ random: random({ tailDf: 4 }) }), THREE, 3, 60, 42).factors;
    expect(Array.from(f)).toEqual(GOLDEN_T4);
    const g = exogenousPaths(spec({ random: random({ tailDf: null, drift: { majors: 0.1, alts: -0.2 } }) }), THREE, 2, 3600, 7).factors;
    expect(Array.from(g)).toEqual(GOLDEN_NORMAL);
  });

  test('the first step follows the documented formula from the two streams (normal and Student-t draws)', () => {
    for (const tailDf of [null, 4]) {
      const r = random({ tailDf, drift: { majors: 0.3, alts: -0.1 } });
      const f = exogenousPaths(spec({ random: r }), THREE, 1, 600, 8).factors;
      const dt = 600 / SECONDS_PER_YEAR;
      // A unit-variance t4 draw: Z, then V = 2·gamma(2) ~ χ²(4), Z/sqrt(V/4)·sqrt(2/4).
      const draw = (rng: Rng) => {
        if (tailDf === null) return rng.normal();
        const z = rng.normal();
        return (z / Math.sqrt((2 * gammaDraw(rng, 2)) / 4)) * Math.sqrt(2 / 4);
      };
      const m = draw(new Rng(8, STREAM_PATH_COMMON));
      const idio = new Rng(8, STREAM_PATH_IDIOSYNCRATIC);
      const groups = ['majors', 'majors', 'alts'] as const;
      for (let i = 0; i < 3; i++) {
        const g = groups[i];
        const sigma = r.volatility[g];
        const rho = r.correlation[g];
        const e = draw(idio);
        const logReturn = sigma * Math.sqrt(dt) * (rho * m + Math.sqrt(1 - rho * rho) * e) + (r.drift[g] * dt - 0.5 * sigma * sigma * dt);
        expect(f[i]).toBe(exp(logReturn));
      }
    }
  });

  // 20,000 steps of normal draws (ρ_majors 0.8, ρ_alts 0.5). A sample correlation's standard error
  // is about (1 − r²)/√N: 0.0025 for r = 0.64 and 0.006 for r = 0.4; 0.03 is 5 of the larger.
  // (Normal draws: with t4 tails the products' variance is infinite and the estimate converges slowly.)
  test('log-returns correlate as ρ_g·ρ_h: ρ_maj² between two majors, ρ_maj·ρ_alt between a major and an alt', () => {
    const n = 4;
    const instruments = [BTC, ETH, ALT, { ...ALT, symbol: 'ALT2-PERP' }];
    const f = exogenousPaths(spec({ random: random() }), instruments, 20_000, 60, 314).factors;
    const r = [0, 1, 2, 3].map((i) => logReturns(f, n, i));
    expect(Math.abs(correlation(r[0], r[1]) - 0.64)).toBeLessThan(0.03);
    expect(Math.abs(correlation(r[0], r[2]) - 0.8 * 0.5)).toBeLessThan(0.03);
    expect(Math.abs(correlation(r[1], r[3]) - 0.8 * 0.5)).toBeLessThan(0.03);
    expect(Math.abs(correlation(r[2], r[3]) - 0.5 * 0.5)).toBeLessThan(0.03);
  });

  // A sample variance of N = 20,000 unit-variance draws has a relative standard error of
  // sqrt((κ − 1)/N), κ the fourth moment: 0.01 for normal draws (κ = 3), 0.012 for t10 (κ = 4). 5% is 4 or more of those.
  test('the draws have unit variance: the log-return variance is σ²·Δ (normal and Student-t)', () => {
    for (const tailDf of [null, 10]) {
      const f = exogenousPaths(spec({ random: random({ tailDf }) }), THREE, 20_000, 300, 77).factors;
      const dt = 300 / SECONDS_PER_YEAR;
      expect(Math.abs(variance(logReturns(f, 3, 0)) / (0.8 * 0.8 * dt) - 1)).toBeLessThan(0.05);
      expect(Math.abs(variance(logReturns(f, 3, 2)) / (1.5 * 1.5 * dt) - 1)).toBeLessThan(0.05);
    }
  });

  // Normal draws: the sample excess kurtosis of N = 20,000 has a standard error of sqrt(24/N) ≈ 0.035,
  // so 0.15 is 4 of them. t4: the excess kurtosis is infinite; the sample's is several units.
  test('tails: excess kurtosis clearly positive with tailDf 4, near 0 with normal draws', () => {
    const heavy = exogenousPaths(spec({ random: random({ tailDf: 4 }) }), THREE, 20_000, 60, 5).factors;
    const normal = exogenousPaths(spec({ random: random({ tailDf: null }) }), THREE, 20_000, 60, 5).factors;
    for (let i = 0; i < 3; i++) {
      expect(excessKurtosis(logReturns(heavy, 3, i))).toBeGreaterThan(1.5);
      expect(Math.abs(excessKurtosis(logReturns(normal, 3, i)))).toBeLessThan(0.15);
    }
  });

  // 100 seeds × 50 independent alts (ρ 0), 50 daily steps at σ 0.8: the terminal log variance is
  // 0.64·50/365 ≈ 0.088, the factor's standard deviation ≈ 0.30, the mean of 5,000 within 0.0043
  // (1 SE); 0.02 is 4.6 SE, and the uncorrected model (mean e^0.044 ≈ 1.045) would fail.
  test('martingale: with zero drift the mean terminal factor is 1; with drift μ it is e^(μT)', () => {
    const instruments = Array.from({ length: 50 }, (_, i) => ({ symbol: `A${i}`, markUnits: 1_000_000n, priceDecimals: 4, tickUnits: 1n }));
    const terminalMean = (drift: number) => {
      const r = random({ volatility: { majors: 0, alts: 0.8 }, correlation: { majors: 0, alts: 0 }, drift: { majors: 0, alts: drift } });
      const ends: number[] = [];
      for (let seed = 0; seed < 100; seed++) {
        const f = exogenousPaths(spec({ majors: 0, random: r }), instruments, 50, 86_400, seed).factors;
        ends.push(...f.subarray(49 * 50));
      }
      return mean(ends);
    };
    expect(Math.abs(terminalMean(0) - 1)).toBeLessThan(0.02);
    expect(Math.abs(terminalMean(0.5) - Math.exp((0.5 * 50) / 365))).toBeLessThan(0.025);
  });

  test('zero volatility and drift: the factor stays exactly 1', () => {
    const r = random({ volatility: { majors: 0, alts: 0 } });
    expect(Array.from(exogenousPaths(spec({ random: r }), THREE, 10, 60, 1).factors).every((f) => f === 1)).toBe(true);
  });

  test('gamma draws (Marsaglia–Tsang, and the boost for shape < 1) have mean and variance = shape', () => {
    for (const shape of [0.5, 2, 3.7]) {
      const rng = new Rng(12, 900);
      const xs = Array.from({ length: 40_000 }, () => gammaDraw(rng, shape));
      // SE of the mean sqrt(shape/N) ≤ 0.01; of the variance about shape·sqrt((2 + 6/shape)/N) ≤ 0.05.
      expect(Math.abs(mean(xs) - shape)).toBeLessThan(0.04);
      expect(Math.abs(variance(xs) / shape - 1)).toBeLessThan(0.1);
      expect(xs.every((x) => x >= 0)).toBe(true);
    }
  });
});

describe('priceUnits', () => {
  test('the nearest whole number of price units to mark·factor, not rounded to the tick', () => {
    const paths = exogenousPaths(spec({ random: random({ tailDf: 4 }) }), THREE, 50, 60, 17);
    for (let t = 0; t < 50; t++) {
      for (let i = 0; i < 3; i++) expect(paths.priceUnits(t, i)).toBe(BigInt(Math.round(Number(THREE[i].markUnits) * paths.factors[t * 3 + i])));
    }
    // Mark 3 halved is 1.5: rounds half up to 2. BTC's tick is 10 units: 6,000,000 × 0.9999995 = 5,999,997.
    const mark3 = { ...ALT, markUnits: 3n };
    expect(exogenousPaths(spec({ shocks: [shock({ move: -0.5 })] }), [mark3], 1, 60, 1).priceUnits(0, 0)).toBe(2n);
    expect(exogenousPaths(spec({ shocks: [shock({ move: -0.0000005 })] }), [BTC], 1, 60, 1).priceUnits(0, 0)).toBe(5_999_997n);
  });

  test('clamps at 1 and at PRICE_UNITS_MAX', () => {
    const crash = exogenousPaths(spec({ shocks: [shock({ move: -0.9999999 })] }), [{ ...ALT, markUnits: 100n }], 1, 60, 1);
    expect(crash.factors[0]).toBeGreaterThan(0);
    expect(crash.priceUnits(0, 0)).toBe(1n);
    const spike = exogenousPaths(spec({ shocks: [shock({ move: 10 })] }), [{ ...ALT, markUnits: PRICE_UNITS_MAX / 2n }], 1, 60, 1);
    expect(spike.priceUnits(0, 0)).toBe(PRICE_UNITS_MAX);
  });

  test('refuses a step or instrument out of range', () => {
    const paths = exogenousPaths(spec(), THREE, 4, 60, 1);
    expect(() => paths.priceUnits(4, 0)).toThrow(RangeError);
    expect(() => paths.priceUnits(0, 3)).toThrow(RangeError);
    expect(paths.steps).toBe(4);
    expect(paths.instruments).toBe(3);
    expect(paths.factors.length).toBe(12);
  });
});

describe('argument checks', () => {
  test('steps, stepSeconds, seed, instruments', () => {
    expect(() => exogenousPaths(spec(), THREE, 0, 60, 1)).toThrow(/steps must be an integer from 1/);
    expect(() => exogenousPaths(spec(), THREE, 1.5, 60, 1)).toThrow(/steps must be an integer/);
    expect(() => exogenousPaths(spec(), THREE, 10, 0, 1)).toThrow(/stepSeconds must be positive/);
    expect(() => exogenousPaths(spec(), THREE, 10, Number.NaN, 1)).toThrow(/stepSeconds/);
    expect(() => exogenousPaths(spec(), THREE, 10, 60, -1)).toThrow(/seed/);
    expect(() => exogenousPaths(spec(), [], 10, 60, 1)).toThrow(/no instruments/);
    expect(() => exogenousPaths(spec(), [BTC, BTC], 10, 60, 1)).toThrow(/appears twice/);
    expect(() => exogenousPaths(spec(), [{ ...BTC, markUnits: 0n }], 10, 60, 1)).toThrow(/markUnits/);
  });

  test(`steps × instruments above ${PATH_CELLS_MAX} is a RangeError naming the limit`, () => {
    const many = Array.from({ length: 201 }, (_, i) => ({ ...ALT, symbol: `S${i}` }));
    expect(() => exogenousPaths(spec(), many, 100_000, 60, 1)).toThrow(RangeError);
    expect(() => exogenousPaths(spec(), many, 100_000, 60, 1)).toThrow(/20100000 cells, above the limit of 20000000/);
  });

  test('shocks and random parameters', () => {
    expect(() => exogenousPaths(spec({ shocks: [shock({ move: -1 })] }), THREE, 2, 60, 1)).toThrow(/shocks\[0\]\.move must be in/);
    expect(() => exogenousPaths(spec({ shocks: [shock({ move: { min: 0.2, max: 0.1 } })] }), THREE, 2, 60, 1)).toThrow(/min 0.2 is above max/);
    expect(() => exogenousPaths(spec({ shocks: [shock({ steps: 0 })] }), THREE, 2, 60, 1)).toThrow(/steps must be an integer ≥ 1/);
    expect(() => exogenousPaths(spec({ random: random({ tailDf: 2 }) }), THREE, 2, 60, 1)).toThrow(/tailDf/);
    const correlated = random({ correlation: { majors: 1.5, alts: 0 } });
    expect(() => exogenousPaths(spec({ random: correlated }), THREE, 2, 60, 1)).toThrow(/correlation\.majors/);
  });

  test('recorded ticks: required exactly when prices.recorded is set, and alone', () => {
    const ticks = parseRecordedTicks('step,symbol,price\n0,BTC-PERP,1\n', 't.csv');
    const recorded = { file: 't.csv' };
    expect(() => exogenousPaths(spec({ recorded }), THREE, 2, 60, 1)).toThrow(/pass the ticks/);
    expect(() => exogenousPaths(spec(), THREE, 2, 60, 1, ticks)).toThrow(/prices\.recorded is not set/);
    expect(() => exogenousPaths(spec({ recorded, random: random() }), THREE, 2, 60, 1, ticks)).toThrow(/exclude/);
  });
});

describe('recorded ticks', () => {
  const recorded = { file: 'ticks.csv' };
  const load = (text: string, steps = 8) => exogenousPaths(spec({ recorded }), THREE, steps, 60, 1, parseRecordedTicks(text, 'ticks.csv'));
  const failure = (action: () => unknown): string => {
    try {
      action();
    } catch (error) {
      expect(error).toBeInstanceOf(RecordedTicksError);
      return (error as Error).message;
    }
    throw new Error('expected a RecordedTicksError');
  };

  test('parses rows in file order, exactly', () => {
    const ticks = parseRecordedTicks('step,symbol,price\r\n2,BTC-PERP,59000.50\r\n0,ETH-PERP,2999.99', 'ticks.csv');
    expect(ticks.source).toBe('ticks.csv');
    expect(ticks.ticks.map(({ step, symbol, price, line }) => ({ step, symbol, price, line }))).toEqual([
      { step: 2, symbol: 'BTC-PERP', price: '59000.50', line: 2 },
      { step: 0, symbol: 'ETH-PERP', price: '2999.99', line: 3 },
    ]);
    expect(ticks.ticks[0].parts).toEqual({ negative: false, digits: 5900050n, fractionDigits: 2 });
  });

  test('a price holds until its next row; before its first row, and for an absent instrument, the mark', () => {
    const paths = load('step,symbol,price\n2,BTC-PERP,59000.5\n0,ETH-PERP,2999.99\n5,BTC-PERP,58000\n');
    const btc = Array.from({ length: 8 }, (_, t) => paths.priceUnits(t, 0));
    expect(btc).toEqual([6_000_000n, 6_000_000n, 5_900_050n, 5_900_050n, 5_900_050n, 5_800_000n, 5_800_000n, 5_800_000n]);
    expect(Array.from({ length: 8 }, (_, t) => paths.priceUnits(t, 1))).toEqual(Array(8).fill(299_999n));
    expect(Array.from({ length: 8 }, (_, t) => paths.priceUnits(t, 2))).toEqual(Array(8).fill(12_345n));
    const [a, b] = [5_900_050 / 6_000_000, 5_800_000 / 6_000_000];
    expect(column(paths.factors, 3, 0)).toEqual([1, 1, a, a, a, b, b, b]);
    expect(column(paths.factors, 3, 1)).toEqual(Array(8).fill(299_999 / 300_000));
    expect(column(paths.factors, 3, 2)).toEqual(Array(8).fill(1));
  });

  test('a header-only file leaves every instrument at its mark', () => {
    const paths = load('step,symbol,price\n', 3);
    expect(Array.from(paths.factors)).toEqual(Array(9).fill(1));
    expect(paths.priceUnits(2, 0)).toBe(6_000_000n);
  });

  test('a bad header is refused on line 1', () => {
    expect(failure(() => parseRecordedTicks('step,sym,price\n0,BTC-PERP,1\n', 'ticks.csv'))).toBe(
      'ticks.csv:1: the header must be exactly "step,symbol,price", got "step,sym,price"',
    );
    expect(failure(() => parseRecordedTicks('', 'ticks.csv'))).toMatch(/^ticks\.csv:1: the header/);
  });

  test('bad steps, fields and prices are refused with their line', () => {
    const at = (row: string) => failure(() => parseRecordedTicks(`step,symbol,price\n0,BTC-PERP,1\n${row}\n`, 'ticks.csv'));
    expect(at('x,BTC-PERP,1')).toBe('ticks.csv:3: step "x" is not an integer ≥ 0');
    expect(at('-1,BTC-PERP,1')).toBe('ticks.csv:3: step "-1" is not an integer ≥ 0');
    expect(at('1.5,BTC-PERP,1')).toBe('ticks.csv:3: step "1.5" is not an integer ≥ 0');
    expect(at('99999999999999999999,BTC-PERP,1')).toMatch(/^ticks\.csv:3: step 99999999999999999999 is too large/);
    expect(at('1,BTC-PERP')).toBe('ticks.csv:3: expected 3 fields (step,symbol,price), got 2');
    expect(at('1,BTC-PERP,1,2')).toBe('ticks.csv:3: expected 3 fields (step,symbol,price), got 4');
    expect(at('1,,1')).toBe('ticks.csv:3: empty symbol');
    expect(at('1,BTC-PERP,abc')).toBe('ticks.csv:3: price "abc" is not a decimal number');
    expect(at('1,BTC-PERP,1e5')).toBe('ticks.csv:3: price "1e5" is not a decimal number');
    expect(at('1,BTC-PERP,"1"')).toBe('ticks.csv:3: price "\\"1\\"" is not a decimal number');
    expect(at('1,BTC-PERP,0.00')).toBe('ticks.csv:3: price 0.00 is not > 0');
    expect(at('1,BTC-PERP,-5')).toBe('ticks.csv:3: price -5 is not > 0');
    expect(at('')).toBe('ticks.csv:3: empty line');
  });

  test("a symbol's steps must be strictly ascending (other symbols may interleave)", () => {
    const text = 'step,symbol,price\n3,BTC-PERP,1\n1,ETH-PERP,1\n3,BTC-PERP,2\n';
    expect(failure(() => parseRecordedTicks(text, 'ticks.csv'))).toBe(
      'ticks.csv:4: step 3 of BTC-PERP is not after its step 3 (line 2): a symbol\'s steps must be strictly ascending',
    );
    const descending = 'step,symbol,price\n3,BTC-PERP,1\n2,BTC-PERP,1\n';
    expect(failure(() => parseRecordedTicks(descending, 'ticks.csv'))).toMatch(/^ticks\.csv:3: step 2 of BTC-PERP/);
  });

  test('checked against the book: the step past the end, an unknown symbol, a price not in whole units or too large', () => {
    expect(failure(() => load('step,symbol,price\n0,BTC-PERP,1\n4,ETH-PERP,1\n', 4))).toBe(
      "ticks.csv:3: step 4 is past the scenario's steps (0 to 3)",
    );
    expect(failure(() => load('step,symbol,price\n0,DOGE-PERP,1\n'))).toBe('ticks.csv:2: symbol "DOGE-PERP" is not an instrument of the book');
    expect(failure(() => load('step,symbol,price\n0,BTC-PERP,1.234\n'))).toBe(
      "ticks.csv:2: price 1.234 is not a whole number of BTC-PERP's price units (2 decimals)",
    );
    expect(failure(() => load('step,symbol,price\n0,ALT-PERP,0.00001\n'))).toMatch(/^ticks\.csv:2: price 0\.00001 is not a whole number/);
    expect(failure(() => load('step,symbol,price\n0,BTC-PERP,10000000000000.01\n'))).toMatch(/^ticks\.csv:2: price 10000000000000\.01 is above/);
    // Trailing zeros past the decimals are whole units: 1.2300 at 2 decimals is 123 units.
    expect(load('step,symbol,price\n0,BTC-PERP,1.2300\n').priceUnits(0, 0)).toBe(123n);
  });

  test('readRecordedTicks reads a file; an unreadable one is an error naming the path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'liq-paths-'));
    const file = join(dir, 'ticks.csv');
    writeFileSync(file, 'step,symbol,price\n1,ALT-PERP,1.5\n');
    const ticks = readRecordedTicks(file);
    expect(ticks.source).toBe(file);
    expect(exogenousPaths(spec({ recorded: { file } }), THREE, 3, 60, 1, ticks).priceUnits(2, 2)).toBe(15_000n);
    const missing = join(dir, 'missing.csv');
    expect(() => readRecordedTicks(missing)).toThrow(RecordedTicksError);
    expect(() => readRecordedTicks(missing)).toThrow(new RegExp(`^${missing.replace(/[.]/g, '\\.')}: ENOENT`));
  });
});

/** Seed 42, t4 tails, 3 steps of 60 s: factors[t·3 + i] for BTC, ETH (majors) and ALT. */
const GOLDEN_T4 = [
  1.0000475270008695, 0.9990702063889829, 0.9991800328763198, 1.000192268837009, 0.9999980642445555, 1.0000512856553032, 1.0002276710594415,
  0.9997123292133641, 0.9987611767188251,
];
/** Seed 7, normal draws, drifts 0.1 and −0.2, 2 steps of an hour. */
const GOLDEN_NORMAL = [1.0160222448302727, 1.013357823979175, 1.0164219882760348, 1.0097318248128737, 1.0115381373479555, 1.0052488990167194];
