// The simulator's exogenous prices: for each step t = 0..steps−1 and each instrument i, the mark the
// market would reach at the END of step t without the simulator's own impact (the start price,
// before step 0, is the book's mark). Three sources (docs/scenario.md, prices):
// - scripted shocks: multipliers along a linear or exponential shape, composed by multiplication;
// - random paths: correlated, heavy-tailed log-returns (a one-factor model per group);
// - recorded ticks: a `step,symbol,price` CSV, each price holding until its symbol's next row.
// Shocks and random paths combine multiplicatively; recorded ticks are the only source when set.
//
// Determinism: every draw comes from the seeded xoshiro128** of src/gen/random.ts and every real
// function from its portable ln and exp (+, −, ×, ÷ and Math.sqrt only), so one seed gives the same
// factors bit for bit on every machine and Node version. Math.log / Math.exp / Math.pow are not used.
import { readFileSync } from 'node:fs';
import { PRICE_PLUS_SIZE_DECIMALS_MAX, PRICE_UNITS_MAX } from '../fixed/constants.js';
import { splitDecimal, type DecimalParts } from '../fixed/decimal.js';
import { exp, ln, Rng } from '../gen/random.js';
import { systemMessage } from '../io/errors.js';
import { SCENARIO_STEPS_MAX, type InstrumentSelector, type Move, type PriceSpec, type Shock } from './scenario-types.js';

/**
 * Stream ids of the scenario's seed (the book generator uses 1 to 3 of the same kind of seed, so
 * these start at 101): the common factor M, the idiosyncratic draws ε_i, and the moves drawn from
 * a shock's range. Each is its own xoshiro128** stream, so adding shocks never changes the random
 * path and the other way round.
 */
export const STREAM_PATH_COMMON = 101;
export const STREAM_PATH_IDIOSYNCRATIC = 102;
export const STREAM_SHOCK_MOVES = 103;

/** Seconds in the year that volatilities and drifts are annualised over (365 days). */
export const SECONDS_PER_YEAR = 31_536_000;

/**
 * The most cells (steps × instruments) a path holds: its factors are one Float64Array of that many
 * entries (160 MB at the limit). Beyond it exogenousPaths throws a RangeError.
 */
export const PATH_CELLS_MAX = 20_000_000;

/**
 * Factors are clamped to [PATH_FACTOR_MIN, PATH_FACTOR_MAX] so that they stay positive and finite
 * whatever the shocks and volatilities (a price so far out is clamped to a whole price unit anyway).
 */
export const PATH_FACTOR_MIN = 1e-300;
export const PATH_FACTOR_MAX = 1e300;

/** The cumulative log-return is clamped to ±this before exp (the portable exp's domain is ±700). */
const LOG_FACTOR_ABS_MAX = 690;

/** What a path needs of an instrument (a book's Instrument has these fields). */
export interface PathInstrument {
  symbol: string;
  markUnits: bigint;
  priceDecimals: number;
  tickUnits: bigint;
}

/** The exogenous prices of every instrument at the end of every step. */
export interface ExogenousPaths {
  /** factor[t * n + i]: the exogenous price at the end of step t over the start mark (a float64 > 0). */
  readonly factors: Float64Array;
  /**
   * The price at the end of step t in price units. Scripted and random paths: the nearest whole
   * number of price units to markUnits·factor (the float64 product, Math.round: halves up), clamped
   * to [1, PRICE_UNITS_MAX]; not rounded to the tick (marks need not be on the tick). Recorded
   * paths: the recorded price exactly (the book's mark before the symbol's first row).
   */
  priceUnits(t: number, i: number): bigint;
  readonly steps: number;
  readonly instruments: number;
}

/** One row of a recorded-ticks file. */
export interface RecordedTick {
  readonly step: number;
  readonly symbol: string;
  /** The price as written (a decimal string > 0). */
  readonly price: string;
  readonly parts: DecimalParts;
  /** 1-based line of the file (the header is line 1). */
  readonly line: number;
}

/** A parsed recorded-ticks file: its rows in file order (each symbol's steps strictly ascending). */
export interface RecordedTicks {
  /** The file's name as given, for messages (`source:line: reason`). */
  readonly source: string;
  readonly ticks: readonly RecordedTick[];
}

/** A recorded-ticks file that cannot be read or used; the message is the one line `source:line: reason` (`source: reason` without a line). */
export class RecordedTicksError extends Error {
  override readonly name = 'RecordedTicksError';

  constructor(
    readonly source: string,
    readonly line: number | null,
    readonly reason: string,
  ) {
    super(line === null ? `${source}: ${reason}` : `${source}:${line}: ${reason}`);
  }
}

const RECORDED_HEADER = 'step,symbol,price';
const STEP_PATTERN = /^\d+$/;

/**
 * Parses a recorded-ticks CSV: the header exactly `step,symbol,price`, then one row a line: a step
 * (an integer ≥ 0), a symbol and a price (a decimal string > 0, parsed exactly). A symbol's steps
 * must be strictly ascending. Line breaks may be LF or CRLF; the last line break is optional; a
 * leading byte-order mark is skipped. Whether the prices are whole price units, the symbols in the
 * book and the steps within the scenario is checked by exogenousPaths. Errors: RecordedTicksError.
 */
export function parseRecordedTicks(text: string, source: string): RecordedTicks {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = body.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  const fail = (line: number, reason: string): never => {
    throw new RecordedTicksError(source, line, reason);
  };
  const stripped = (k: number): string => (lines[k].endsWith('\r') ? lines[k].slice(0, -1) : lines[k]);
  if (stripped(0) !== RECORDED_HEADER) fail(1, `the header must be exactly "${RECORDED_HEADER}", got ${JSON.stringify(stripped(0))}`);
  const ticks: RecordedTick[] = [];
  const lastStep = new Map<string, { step: number; line: number }>();
  for (let k = 1; k < lines.length; k++) {
    const line = k + 1;
    const content = stripped(k);
    if (content === '') fail(line, 'empty line');
    const fields = content.split(',');
    if (fields.length !== 3) fail(line, `expected 3 fields (step,symbol,price), got ${fields.length}`);
    const [stepText, symbol, price] = fields;
    if (!STEP_PATTERN.test(stepText)) fail(line, `step ${JSON.stringify(stepText)} is not an integer ≥ 0`);
    const step = Number(stepText);
    if (!Number.isSafeInteger(step)) fail(line, `step ${stepText} is too large`);
    if (symbol === '') fail(line, 'empty symbol');
    const parts = splitDecimal(price);
    if (parts === null) fail(line, `price ${JSON.stringify(price)} is not a decimal number`);
    if (parts!.negative || parts!.digits === 0n) fail(line, `price ${price} is not > 0`);
    const previous = lastStep.get(symbol);
    if (previous !== undefined && step <= previous.step) {
      const reason = `step ${step} of ${symbol} is not after its step ${previous.step} (line ${previous.line})`;
      fail(line, `${reason}: a symbol's steps must be strictly ascending`);
    }
    lastStep.set(symbol, { step, line });
    ticks.push({ step, symbol, price, parts: parts!, line });
  }
  return { source, ticks };
}

/** Reads and parses a recorded-ticks file (parseRecordedTicks); an unreadable file is a RecordedTicksError naming the path. */
export function readRecordedTicks(path: string): RecordedTicks {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new RecordedTicksError(path, null, systemMessage(error));
  }
  return parseRecordedTicks(text, path);
}

/**
 * 1 for each major, 0 for each alt: `prices.majors` names them, or is a count N meaning the first
 * N instruments (N above the instrument count means all of them). A named symbol not among the
 * instruments throws an Error naming it.
 */
export function majorsOf(prices: PriceSpec, instruments: readonly { symbol: string }[]): Uint8Array {
  const mask = new Uint8Array(instruments.length);
  const majors = prices.majors;
  if (typeof majors === 'number') {
    if (!Number.isInteger(majors) || majors < 0) throw new RangeError(`prices.majors must be an integer ≥ 0, got ${majors}`);
    mask.fill(1, 0, Math.min(majors, instruments.length));
    return mask;
  }
  const index = symbolIndex(instruments);
  for (const symbol of majors) {
    const i = index.get(symbol);
    if (i === undefined) throw new Error(`prices.majors: no instrument ${JSON.stringify(symbol)} in the book`);
    mask[i] = 1;
  }
  return mask;
}

/** 1 for each instrument the selector picks ('majors', 'alts': every non-major, 'all', or named symbols). */
function selectInstruments(selector: InstrumentSelector, majors: Uint8Array, index: ReadonlyMap<string, number>, where: string): Uint8Array {
  const mask = new Uint8Array(majors.length);
  if (selector === 'all') mask.fill(1);
  else if (selector === 'majors') mask.set(majors);
  else if (selector === 'alts') for (let i = 0; i < mask.length; i++) mask[i] = 1 - majors[i];
  else {
    for (const symbol of selector) {
      const i = index.get(symbol);
      if (i === undefined) throw new Error(`${where}.instruments: no instrument ${JSON.stringify(symbol)} in the book`);
      mask[i] = 1;
    }
  }
  return mask;
}

function symbolIndex(instruments: readonly { symbol: string }[]): Map<string, number> {
  const index = new Map<string, number>();
  instruments.forEach((instrument, i) => index.set(instrument.symbol, i));
  return index;
}

/**
 * A gamma(shape, 1) draw: Marsaglia and Tsang's method (a normal draw, then a uniform, repeated
 * until accepted) for shape ≥ 1; for shape < 1, a gamma(shape + 1) draw times u^(1/shape) =
 * exp(ln(u)/shape) with u one more uniform. Portable (ln, exp, Math.sqrt).
 */
export function gammaDraw(rng: Rng, shape: number): number {
  if (!(shape > 0 && shape < Infinity)) throw new RangeError(`gammaDraw: shape must be positive and finite, got ${shape}`);
  if (shape < 1) {
    const g = gammaDraw(rng, shape + 1);
    const e = ln(rng.uniform()) / shape;
    return e < -700 ? 0 : g * exp(e);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.uniform();
    const x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2) return d * v;
    if (ln(u) < 0.5 * x2 + d * (1 - v + ln(v))) return d * v;
  }
}

/**
 * A Student-t draw with df > 2 degrees of freedom scaled to unit variance:
 * Z / sqrt(V/df) · sqrt((df − 2)/df), Z a normal draw and then V = 2·gamma(df/2) a chi-square(df)
 * draw, both from `rng`. df null: one normal draw.
 */
export function unitStudentT(rng: Rng, df: number | null): number {
  if (df === null) return rng.normal();
  const z = rng.normal();
  const v = 2 * gammaDraw(rng, df / 2);
  return (z / Math.sqrt(v / df)) * Math.sqrt((df - 2) / df);
}

/**
 * The exogenous prices of `instruments` over `steps` steps of `stepSeconds` each, from `prices`
 * and the scenario's `seed`; `recorded` is the parsed file of prices.recorded (required exactly
 * when that is set).
 *
 * Shocks: shock s (startStep a, steps k, move m) multiplies instrument i's price at the end of
 * step t by 1 before a, by 1 + m·p (linear) or exp(ln(1 + m)·p) (exponential) with p = (t − a + 1)/k
 * for a ≤ t < a + k, and by exactly 1 + m from the end of step a + k − 1 on. A range move draws one
 * m = min + (max − min)·u per selected instrument from the stream STREAM_SHOCK_MOVES, in the order
 * instrument index, then shock index (only range shocks that select the instrument draw).
 *
 * Random: every step draws M from STREAM_PATH_COMMON, then ε_0..ε_{n−1} from
 * STREAM_PATH_IDIOSYNCRATIC (whatever σ and ρ are), each unitStudentT(tailDf). With Δ =
 * stepSeconds/SECONDS_PER_YEAR and g the instrument's group, the log-return is
 * σ_g·sqrt(Δ)·(ρ_g·M + sqrt(1 − ρ_g²)·ε_i) + drift_g·Δ − ½σ_g²·Δ: with normal draws the price
 * (not its log) grows at exactly drift_g, and is a martingale with drift 0; with Student-t draws
 * the −½σ²Δ correction is the same to second order (a t draw has no exponential moment, so no
 * finite correction is exact). The random factor at the end of step t is exp(Σ_{u≤t} r_u) (the sum
 * clamped to ±690), times the shocks' multipliers in shock order; every factor is then clamped to
 * [PATH_FACTOR_MIN, PATH_FACTOR_MAX].
 *
 * Recorded: factors are price/mark; priceUnits is the recorded price exactly. A row whose price is
 * not a whole number of price units, above PRICE_UNITS_MAX, for a symbol not in `instruments` or
 * at a step ≥ steps is refused with a RecordedTicksError `source:line: reason`.
 *
 * Throws a RangeError when steps × instruments > PATH_CELLS_MAX, and on invalid arguments.
 */
export function exogenousPaths(
  prices: PriceSpec,
  instruments: readonly PathInstrument[],
  steps: number,
  stepSeconds: number,
  seed: number,
  recorded?: RecordedTicks,
): ExogenousPaths {
  checkArguments(instruments, steps, stepSeconds, seed);
  const n = instruments.length;
  if (steps * n > PATH_CELLS_MAX) {
    throw new RangeError(
      `exogenousPaths: ${steps} steps × ${n} instruments = ${steps * n} cells, above the limit of ${PATH_CELLS_MAX} (steps × instruments)`,
    );
  }
  if (prices.recorded !== null) {
    if (prices.shocks.length > 0 || prices.random !== null) throw new Error('prices: recorded ticks exclude shocks and random paths');
    if (recorded === undefined) throw new Error(`prices.recorded (${prices.recorded.file}) is set: pass the ticks read from it`);
    return recordedPaths(recorded, instruments, steps);
  }
  if (recorded !== undefined) throw new Error('recorded ticks were given but prices.recorded is not set');

  const majors = majorsOf(prices, instruments);
  const factors = new Float64Array(steps * n);
  if (prices.random === null) factors.fill(1);
  else randomFactors(factors, prices.random, majors, steps, stepSeconds, seed);
  applyShocks(factors, prices.shocks, majors, symbolIndex(instruments), steps, seed);
  for (let k = 0; k < factors.length; k++) {
    const f = factors[k];
    if (!(f >= PATH_FACTOR_MIN)) factors[k] = PATH_FACTOR_MIN;
    else if (f > PATH_FACTOR_MAX) factors[k] = PATH_FACTOR_MAX;
  }
  const marks = instruments.map((instrument) => Number(instrument.markUnits)); // ≤ 10^15 < 2^53: exact
  const max = Number(PRICE_UNITS_MAX);
  return {
    factors,
    steps,
    instruments: n,
    priceUnits(t: number, i: number): bigint {
      checkCell(t, i, steps, n);
      const units = Math.round(marks[i] * factors[t * n + i]);
      if (!(units >= 1)) return 1n;
      if (units >= max) return PRICE_UNITS_MAX;
      return BigInt(units);
    },
  };
}

function checkArguments(instruments: readonly PathInstrument[], steps: number, stepSeconds: number, seed: number): void {
  if (!Number.isInteger(steps) || steps < 1 || steps > SCENARIO_STEPS_MAX) {
    throw new RangeError(`exogenousPaths: steps must be an integer from 1 to ${SCENARIO_STEPS_MAX}, got ${steps}`);
  }
  if (!(stepSeconds > 0 && stepSeconds < Infinity)) {
    throw new RangeError(`exogenousPaths: stepSeconds must be positive and finite, got ${stepSeconds}`);
  }
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`exogenousPaths: seed must be a safe integer ≥ 0, got ${seed}`);
  if (instruments.length === 0) throw new RangeError('exogenousPaths: no instruments');
  const seen = new Set<string>();
  for (const instrument of instruments) {
    const { symbol, markUnits, priceDecimals, tickUnits } = instrument;
    if (seen.has(symbol)) throw new RangeError(`exogenousPaths: instrument ${JSON.stringify(symbol)} appears twice`);
    seen.add(symbol);
    if (!(markUnits >= 1n && markUnits <= PRICE_UNITS_MAX)) {
      throw new RangeError(`exogenousPaths: ${symbol}: markUnits must be from 1 to ${PRICE_UNITS_MAX}, got ${markUnits}`);
    }
    if (!Number.isInteger(priceDecimals) || priceDecimals < 0 || priceDecimals > PRICE_PLUS_SIZE_DECIMALS_MAX) {
      const range = `an integer from 0 to ${PRICE_PLUS_SIZE_DECIMALS_MAX}`;
      throw new RangeError(`exogenousPaths: ${symbol}: priceDecimals must be ${range}, got ${priceDecimals}`);
    }
    if (!(tickUnits >= 1n)) throw new RangeError(`exogenousPaths: ${symbol}: tickUnits must be ≥ 1, got ${tickUnits}`);
  }
}

function checkCell(t: number, i: number, steps: number, n: number): void {
  if (!Number.isInteger(t) || t < 0 || t >= steps) throw new RangeError(`priceUnits: step ${t} is not in [0, ${steps})`);
  if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`priceUnits: instrument ${i} is not in [0, ${n})`);
}

function randomFactors(
  factors: Float64Array,
  random: NonNullable<PriceSpec['random']>,
  majors: Uint8Array,
  steps: number,
  stepSeconds: number,
  seed: number,
): void {
  const { volatility, correlation, drift, tailDf } = random;
  for (const group of ['majors', 'alts'] as const) {
    const sigma = volatility[group];
    const rho = correlation[group];
    if (!(sigma >= 0 && sigma < Infinity)) throw new RangeError(`prices.random.volatility.${group} must be ≥ 0 and finite, got ${sigma}`);
    if (!(rho >= 0 && rho <= 1)) throw new RangeError(`prices.random.correlation.${group} must be in [0, 1], got ${rho}`);
    if (!Number.isFinite(drift[group])) throw new RangeError(`prices.random.drift.${group} must be finite, got ${drift[group]}`);
  }
  if (tailDf !== null && !(tailDf > 2 && tailDf < Infinity)) {
    throw new RangeError(`prices.random.tailDf must be > 2 and finite, or null; got ${tailDf}`);
  }
  const n = majors.length;
  const dt = stepSeconds / SECONDS_PER_YEAR;
  const sqrtDt = Math.sqrt(dt);
  // Per instrument: the scale of the draws, the loadings on M and ε, and the per-step drift.
  const scale = new Float64Array(n);
  const loading = new Float64Array(n);
  const residual = new Float64Array(n);
  const mu = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const group = majors[i] === 1 ? 'majors' : 'alts';
    const sigma = volatility[group];
    const rho = correlation[group];
    scale[i] = sigma * sqrtDt;
    loading[i] = rho;
    residual[i] = Math.sqrt(1 - rho * rho);
    mu[i] = drift[group] * dt - 0.5 * sigma * sigma * dt;
  }
  const common = new Rng(seed, STREAM_PATH_COMMON);
  const idiosyncratic = new Rng(seed, STREAM_PATH_IDIOSYNCRATIC);
  const logFactor = new Float64Array(n);
  for (let t = 0; t < steps; t++) {
    const m = unitStudentT(common, tailDf);
    const row = t * n;
    for (let i = 0; i < n; i++) {
      const e = unitStudentT(idiosyncratic, tailDf);
      const l = (logFactor[i] += scale[i] * (loading[i] * m + residual[i] * e) + mu[i]);
      factors[row + i] = exp(l > LOG_FACTOR_ABS_MAX ? LOG_FACTOR_ABS_MAX : l < -LOG_FACTOR_ABS_MAX ? -LOG_FACTOR_ABS_MAX : l);
    }
  }
}

function checkMove(value: number, where: string): void {
  if (!(value > -1 && value <= 10)) throw new RangeError(`${where} must be in (−1, 10], got ${value}`);
}

function isRange(move: Move): move is { readonly min: number; readonly max: number } {
  return typeof move !== 'number';
}

function applyShocks(
  factors: Float64Array,
  shocks: readonly Shock[],
  majors: Uint8Array,
  index: ReadonlyMap<string, number>,
  steps: number,
  seed: number,
): void {
  const n = majors.length;
  const selected: Uint8Array[] = [];
  shocks.forEach((shock, s) => {
    const where = `prices.shocks[${s}]`;
    if (!Number.isInteger(shock.startStep) || shock.startStep < 0) {
      throw new RangeError(`${where}.startStep must be an integer ≥ 0, got ${shock.startStep}`);
    }
    if (!Number.isInteger(shock.steps) || shock.steps < 1) throw new RangeError(`${where}.steps must be an integer ≥ 1, got ${shock.steps}`);
    if (shock.shape !== 'linear' && shock.shape !== 'exponential') throw new RangeError(`${where}.shape must be linear or exponential`);
    if (isRange(shock.move)) {
      checkMove(shock.move.min, `${where}.move.min`);
      checkMove(shock.move.max, `${where}.move.max`);
      if (!(shock.move.min <= shock.move.max)) throw new RangeError(`${where}.move: min ${shock.move.min} is above max ${shock.move.max}`);
    } else checkMove(shock.move, `${where}.move`);
    selected.push(selectInstruments(shock.instruments, majors, index, where));
  });
  // The moves, per shock and instrument: ranges drawn instrument by instrument, then shock by shock.
  const moves = shocks.map((shock) => new Float64Array(n).fill(isRange(shock.move) ? 0 : shock.move));
  if (shocks.some((shock) => isRange(shock.move))) {
    const rng = new Rng(seed, STREAM_SHOCK_MOVES);
    for (let i = 0; i < n; i++) {
      shocks.forEach((shock, s) => {
        if (isRange(shock.move) && selected[s][i] === 1) moves[s][i] = shock.move.min + (shock.move.max - shock.move.min) * rng.uniform();
      });
    }
  }
  shocks.forEach((shock, s) => {
    const start = shock.startStep;
    const k = shock.steps;
    for (let i = 0; i < n; i++) {
      if (selected[s][i] === 0) continue;
      const m = moves[s][i];
      const logTarget = shock.shape === 'exponential' ? ln(1 + m) : 0;
      for (let t = start; t < steps; t++) {
        const progress = t - start + 1;
        let multiplier: number;
        if (progress >= k) multiplier = 1 + m;
        else if (shock.shape === 'linear') multiplier = 1 + m * (progress / k);
        else multiplier = exp(logTarget * (progress / k));
        factors[t * n + i] *= multiplier;
      }
    }
  });
}

function recordedPaths(recorded: RecordedTicks, instruments: readonly PathInstrument[], steps: number): ExogenousPaths {
  const n = instruments.length;
  const index = symbolIndex(instruments);
  const fail = (line: number, reason: string): never => {
    throw new RecordedTicksError(recorded.source, line, reason);
  };
  // Per instrument, its rows' steps and prices in units (ascending: the parser checked).
  const rowSteps: number[][] = instruments.map(() => []);
  const rowUnits: bigint[][] = instruments.map(() => []);
  for (const tick of recorded.ticks) {
    const i = index.get(tick.symbol);
    if (i === undefined) fail(tick.line, `symbol ${JSON.stringify(tick.symbol)} is not an instrument of the book`);
    if (tick.step >= steps) fail(tick.line, `step ${tick.step} is past the scenario's steps (0 to ${steps - 1})`);
    const decimals = instruments[i!].priceDecimals;
    let units = tick.parts.digits;
    if (tick.parts.fractionDigits <= decimals) units *= 10n ** BigInt(decimals - tick.parts.fractionDigits);
    else {
      const divisor = 10n ** BigInt(tick.parts.fractionDigits - decimals);
      if (units % divisor !== 0n) {
        fail(tick.line, `price ${tick.price} is not a whole number of ${tick.symbol}'s price units (${decimals} decimals)`);
      }
      units /= divisor;
    }
    if (units > PRICE_UNITS_MAX) fail(tick.line, `price ${tick.price} is above ${PRICE_UNITS_MAX} price units`);
    rowSteps[i!].push(tick.step);
    rowUnits[i!].push(units);
  }
  const marks = instruments.map((instrument) => instrument.markUnits);
  const factors = new Float64Array(steps * n);
  for (let i = 0; i < n; i++) {
    const mark = Number(marks[i]);
    let factor = 1;
    let row = 0;
    for (let t = 0; t < steps; t++) {
      if (row < rowSteps[i].length && rowSteps[i][row] === t) factor = Number(rowUnits[i][row++]) / mark;
      factors[t * n + i] = factor;
    }
  }
  return {
    factors,
    steps,
    instruments: n,
    priceUnits(t: number, i: number): bigint {
      checkCell(t, i, steps, n);
      // The last row at or before step t (bisection), or the mark.
      const s = rowSteps[i];
      let lo = 0;
      let hi = s.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (s[mid] <= t) lo = mid + 1;
        else hi = mid;
      }
      return lo === 0 ? marks[i] : rowUnits[i][lo - 1];
    },
  };
}
