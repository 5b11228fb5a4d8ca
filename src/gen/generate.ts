// `liq gen`: a deterministic, seeded generator of realistic books, produced directly as the binary
// book's columns (docs/book-binary.md) so that 10,000,000 accounts take seconds and no JavaScript
// object per account or position. docs/generator.md states every distribution and parameter; the
// constants below are those parameters.
//
// Every value lands inside the ranges of docs/numbers.md by construction (the writer validates
// again and would refuse otherwise). Integers are computed as doubles below 2^53, hence exactly,
// and the i64 columns are filled through 32-bit word views, never through BigInts.
import { AccountIds } from '../book/account-ids.js';
import type { BookColumns } from '../book/binary.js';
import { quotePerUnit, valueDivisor, type Book, type Instrument, type Position } from '../book/model.js';
import { MODE_CROSS, MODE_ISOLATED, POSITIONS_PER_ACCOUNT_MAX, TIERS_MAX } from '../fixed/constants.js';
import { leverageCap } from '../book/ranges.js';
import {
  GEN_PRECISIONS,
  generateInstruments,
  givenInstruments,
  STREAM_COUNTS,
  STREAM_POSITIONS,
  type GenerationPrecision,
} from './instruments.js';
import { Discrete, exp, ln, Rng } from './random.js';
import { readPositionColumns } from '../memory/layout.js';

// ---------------------------------------------------------------------------------------------
// Options

/** The most accounts one generated book may have (8-digit ids; a wasm32 engine holds ~14 M). */
export const GEN_ACCOUNTS_MAX = 10_000_000;
/** The most instruments (5 majors and up to 995 alts). */
export const GEN_INSTRUMENTS_MAX = 1_000;

export const GEN_DEFAULTS = {
  seed: 1,
  isolatedShare: 0.3,
  instruments: 100,
  profile: 'calibrated',
  precision: 'micro',
} as const;

export { GEN_PRECISIONS, type GenerationPrecision };

/**
 * The parameters that set how fragile a generated book is: the leverage traders ask for, the
 * equity of healthy cross pools as a multiple of their initial margin, the isolated cushions and
 * the share of accounts placed near maintenance. docs/generator.md ("Profiles") gives the sources
 * the calibrated profile is set against and what each profile measures.
 */
export interface GenerationProfile {
  /** Weights (percent) of LEVERAGE_CHOICES. */
  readonly leverageWeights: readonly number[];
  /** Healthy cross pools: equity = IM × m, m = crossMultipleMin + lognormal(crossMultipleMedian, CROSS_MULTIPLE_SIGMA). */
  readonly crossMultipleMin: number;
  readonly crossMultipleMedian: number;
  /** Isolated margin = initial + cushionMax × U² × initial. */
  readonly cushionMax: number;
  /** Default probability that an account is placed near maintenance. */
  readonly nearMaintenanceShare: number;
}

/**
 * `calibrated` (the default): as fragile as published aggregates say real books are (the October
 * 2025 scenario liquidates about 12% of one side's notional; on 10 October 2025 about 9% of the
 * open interest was reported liquidated, 14-18% estimated). `stress`: the earlier, far more fragile
 * default, kept as the book the engine's benchmarks and their gate thresholds are measured on.
 */
export const GEN_PROFILES = {
  calibrated: {
    leverageWeights: [25, 15, 15, 20, 15, 4, 4, 1, 0.5, 0.25, 0.1, 0.1],
    crossMultipleMin: 0.8,
    crossMultipleMedian: 1.2,
    cushionMax: 5,
    nearMaintenanceShare: 0.001,
  },
  stress: {
    leverageWeights: [3, 3, 4, 8, 15, 5, 17, 8, 15, 7, 8, 7],
    crossMultipleMin: 0.7,
    crossMultipleMedian: 0.8,
    cushionMax: 0.5,
    nearMaintenanceShare: 0.02,
  },
} as const satisfies Record<string, GenerationProfile>;

export type GenerationProfileName = keyof typeof GEN_PROFILES;
export const GEN_PROFILE_NAMES = Object.keys(GEN_PROFILES) as GenerationProfileName[];

export interface GenerateOptions {
  /** Number of accounts, 0 to GEN_ACCOUNTS_MAX. */
  accounts: number;
  /** A safe integer ≥ 0. Default 1. */
  seed?: number;
  /** Probability that a position is isolated, in [0, 1]. Default 0.3. */
  isolatedShare?: number;
  /** How fragile the book is (GEN_PROFILES). Default 'calibrated'. */
  profile?: GenerationProfileName;
  /** Probability that an account is placed near maintenance, in [0, 1]. Default: the profile's. */
  nearMaintenanceShare?: number;
  /** Number of instruments, 1 to GEN_INSTRUMENTS_MAX (the first five are the majors). Default 100. */
  instruments?: number;
  /**
   * The generated alts' tick and lot decimals (GEN_PRECISIONS): 'micro', pd + sd ≤ 6 for all (the
   * default, the same books as ever); 'venue', as venues list them, many finer than a micro.
   * Not with instrumentList, which gives its own.
   */
  precision?: GenerationPrecision;
  /**
   * The instruments themselves (an instruments file's: `liq gen --instruments-file`), 1 to
   * GEN_INSTRUMENTS_MAX, in rank order (instrument choice is Zipf over the rank), instead of the
   * generated ones; `instruments` is then their number. Default: generated.
   */
  instrumentList?: readonly Instrument[];
}

// ---------------------------------------------------------------------------------------------
// Parameters (docs/generator.md)

/** Positions per account: 1 + a geometric number of extras; each extra follows with this probability. */
export const EXTRA_POSITION_PROBABILITY = 2 / 3; // mean 1 + 2 = 3
/** Instrument choice: Zipf over the instrument's rank (index + 1) with this exponent. */
export const INSTRUMENT_ZIPF_EXPONENT = 1.3;
/** Draws of a (instrument, mode) pair the account already holds before falling back to a scan. */
const PAIR_TRIES = 64;
/** Probability that a position is long. */
export const LONG_SHARE = 0.55;
/** Leverage a trader asks for, before the instrument's and the bracket's max cap it. */
export const LEVERAGE_CHOICES = [1, 2, 3, 5, 10, 15, 20, 25, 50, 75, 100, 125] as const;
/** Notional: lognormal around the instrument's median notional with this σ (of ln), capped. */
export const NOTIONAL_SIGMA = 1.5;
export const NOTIONAL_MAX_QUOTE = 20_000_000;
/** Entry = mark × e^ε, ε ~ N(0, σ) with σ = min(ENTRY_SIGMA_MAX, ENTRY_SIGMA_LEVERAGE / leverage). */
export const ENTRY_SIGMA_MAX = 0.05;
export const ENTRY_SIGMA_LEVERAGE = 0.15;
/** ε is redrawn while it is adverse (a long's entry above the mark) by more than this / leverage. */
export const ENTRY_ADVERSE_LIMIT = 0.3;
const ENTRY_TRIES = 8;
/** Share of positions whose funding snapshot equals the instrument's index; the rest lag 1 to 3 intervals. */
export const FUNDING_CURRENT_SHARE = 0.85;
export const FUNDING_LAG_MAX = 3;
/** Healthy cross accounts: equity = IM × m, m = the profile's minimum + lognormal(the profile's median, σ), at most max. */
export const CROSS_MULTIPLE_SIGMA = 1;
export const CROSS_MULTIPLE_MAX = 50;
/** Accounts without cross positions: wallet 0 with this probability, else lognormal (quote). */
export const FREE_BALANCE_ZERO_SHARE = 0.2;
export const FREE_BALANCE_MEDIAN = 300;
export const FREE_BALANCE_SIGMA = 1.5;
/** Near-maintenance scopes: equity = maintenance × (1 + δ), δ uniform in [min, max). */
export const NEAR_DELTA_MIN = -0.03;
export const NEAR_DELTA_MAX = 0.05;
/** Balances are clamped to ±this (micro); below 2^53 and 10^16. */
export const BALANCE_ABS_MAX = 9e15;

const MICRO = 1_000_000;
const TWO_POW_32 = 4_294_967_296;
/** |z|·q·p of a generated position of an instrument finer than a micro stays below this: 1% under UNIT_PRODUCT_MAX (10^18). */
const UNIT_PRODUCT_SAFE = 0.99e18;

/**
 * floor(a·b / d) for whole a, b in [0, 2^53) and d a power of ten up to 10^6, exactly in doubles
 * although a·b may be far above 2^53: with a = ah·d + al and b = bh·d + bl (each part found with an
 * exact remainder), a·b / d = ah·b + al·bh + al·bl / d, and al·bl < d² ≤ 10^12. Exact while the
 * result is below 2^53, which the notional and cost ranges keep it.
 */
function mulDivFloor(a: number, b: number, d: number): number {
  const al = a % d;
  const bl = b % d;
  const low = al * bl;
  const lowRest = low % d;
  return ((a - al) / d) * b + al * ((b - bl) / d) + (low - lowRest) / d;
}

/** ceil(a·b / d), as mulDivFloor: one more when the division leaves a remainder (only al·bl can). */
function mulDivCeil(a: number, b: number, d: number): number {
  return mulDivFloor(a, b, d) + ((a % d) * (b % d) % d === 0 ? 0 : 1);
}

// ---------------------------------------------------------------------------------------------
// The result

/**
 * The book as the binary format's columns (BookColumns, ready for writeBookColumnsFile), plus which
 * accounts were placed near maintenance.
 */
export interface GeneratedBook extends BookColumns {
  instruments: Instrument[];
  /** 1 for an account whose cross pool (or, without cross positions, first isolated position) was placed near maintenance. */
  nearMaintenance: Uint8Array;
}

/** Checks options and fills in defaults. Throws RangeError naming the option. */
export function resolveOptions(options: GenerateOptions): Required<GenerateOptions> {
  const given = stripUndefined(options);
  const profile = given.profile ?? GEN_DEFAULTS.profile;
  if (!Object.hasOwn(GEN_PROFILES, profile)) throw new RangeError(`profile must be one of ${GEN_PROFILE_NAMES.join(', ')}, got ${String(profile)}`);
  if (given.precision !== undefined && !GEN_PRECISIONS.includes(given.precision)) {
    throw new RangeError(`precision must be one of ${GEN_PRECISIONS.join(', ')}, got ${String(given.precision)}`);
  }
  if (given.precision === 'venue' && given.instrumentList !== undefined) {
    throw new RangeError("precision 'venue' sets the generated instruments' decimals; instrumentList gives its own instruments");
  }
  const resolved = { ...GEN_DEFAULTS, nearMaintenanceShare: GEN_PROFILES[profile].nearMaintenanceShare, ...given } as Required<GenerateOptions>;
  const list = given.instrumentList;
  if (list !== undefined) {
    if (list.length < 1 || list.length > GEN_INSTRUMENTS_MAX) throw new RangeError(`instrumentList must hold 1 to ${GEN_INSTRUMENTS_MAX} instruments, got ${list.length}`);
    if (given.instruments !== undefined && given.instruments !== list.length) {
      throw new RangeError(`instruments is the number of instrumentList's instruments (${list.length}) when it is given, got ${given.instruments}`);
    }
    resolved.instruments = list.length;
  }
  const { accounts, seed, isolatedShare, nearMaintenanceShare, instruments } = resolved;
  if (!Number.isInteger(accounts) || accounts < 0 || accounts > GEN_ACCOUNTS_MAX) {
    throw new RangeError(`accounts must be a whole number from 0 to ${GEN_ACCOUNTS_MAX}, got ${accounts}`);
  }
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a whole number from 0 to 2^53 − 1, got ${seed}`);
  if (!(isolatedShare >= 0 && isolatedShare <= 1)) throw new RangeError(`isolatedShare must be from 0 to 1, got ${isolatedShare}`);
  if (!(nearMaintenanceShare >= 0 && nearMaintenanceShare <= 1)) {
    throw new RangeError(`nearMaintenanceShare must be from 0 to 1, got ${nearMaintenanceShare}`);
  }
  if (!Number.isInteger(instruments) || instruments < 1 || instruments > GEN_INSTRUMENTS_MAX) {
    throw new RangeError(`instruments must be a whole number from 1 to ${GEN_INSTRUMENTS_MAX}, got ${instruments}`);
  }
  return resolved;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The most positions an account may get: 128, or one per (instrument, mode) if fewer; with an
 * isolated share of exactly 0 or 1 only one mode is drawn, so one per instrument.
 */
export function positionsPerAccountCap(instrumentCount: number, isolatedShare: number): number {
  const modes = isolatedShare === 0 || isolatedShare === 1 ? 1 : 2;
  return Math.min(POSITIONS_PER_ACCOUNT_MAX, modes * instrumentCount);
}

/** Fixed-width account ids: "acct-" and the 1-based account number in 8 digits. */
export const ACCOUNT_ID_PREFIX = 'acct-';
export const ACCOUNT_ID_DIGITS = 8;
const ACCOUNT_ID_BYTES = ACCOUNT_ID_PREFIX.length + ACCOUNT_ID_DIGITS;

export function generatedAccountId(a: number): string {
  return `${ACCOUNT_ID_PREFIX}${String(a + 1).padStart(ACCOUNT_ID_DIGITS, '0')}`;
}

function accountIdBlob(count: number): AccountIds {
  const offsets = new Uint32Array(count + 1);
  const bytes = new Uint8Array(count * ACCOUNT_ID_BYTES);
  const digits = new Uint8Array(ACCOUNT_ID_DIGITS).fill(0x30);
  const prefix = ACCOUNT_ID_PREFIX.length;
  for (let a = 0; a < count; a++) {
    // digits holds a + 1: increment the decimal counter in place.
    let d = ACCOUNT_ID_DIGITS - 1;
    while (digits[d] === 0x39) digits[d--] = 0x30;
    digits[d]++;
    const at = a * ACCOUNT_ID_BYTES;
    offsets[a] = at;
    for (let i = 0; i < prefix; i++) bytes[at + i] = ACCOUNT_ID_PREFIX.charCodeAt(i);
    bytes.set(digits, at + prefix);
  }
  offsets[count] = count * ACCOUNT_ID_BYTES;
  return AccountIds.fromBlob(offsets, bytes);
}

/** Writes an integer-valued double |v| < 2^53 into element i of an i64 column seen as 32-bit words. */
function putI64(words: Int32Array, i: number, v: number): void {
  const high = Math.floor(v / TWO_POW_32);
  words[2 * i] = v - high * TWO_POW_32;
  words[2 * i + 1] = high;
}

function wordsOf(column: BigInt64Array): Int32Array {
  return new Int32Array(column.buffer, column.byteOffset, column.length * 2);
}

// ---------------------------------------------------------------------------------------------
// Generation

/**
 * Generates a book. Same options and seed → the same columns, bit for bit, on any machine.
 * `onProgress` hears the accounts generated so far every 65,536 accounts (the CLI's progress bar).
 */
export function generateBook(options: GenerateOptions, onProgress?: (done: number, total: number) => void): GeneratedBook {
  const { accounts: A, seed, isolatedShare, nearMaintenanceShare, instruments: instrumentCount, profile: profileName, instrumentList, precision } =
    resolveOptions(options);
  const profile: GenerationProfile = GEN_PROFILES[profileName];
  const { instruments, profiles } =
    instrumentList !== undefined ? givenInstruments(instrumentList) : generateInstruments(instrumentCount, seed, precision);
  const I = instruments.length;

  // Per-instrument numbers as doubles (all exact integers below 2^53, except the tier amounts,
  // which only steer the balances and need not be exact).
  const mark = new Float64Array(I);
  const q = new Float64Array(I);
  const divisor = new Float64Array(I); // d: 1, or 10^(pd + sd − 6) for an instrument finer than a micro
  const lotsMax = new Float64Array(I); // d > 1: the most lots whose |z|·q·p stays within UNIT_PRODUCT_MAX
  const lot = new Float64Array(I);
  const funding = new Float64Array(I);
  const fundingStep = new Float64Array(I);
  const lnMedianMicro = new Float64Array(I);
  const cap = new Int32Array(I);
  const tierCount = new Int32Array(I);
  const tierUp = new Float64Array(I * TIERS_MAX);
  const tierRate = new Float64Array(I * TIERS_MAX);
  const tierCumX = new Float64Array(I * TIERS_MAX);
  const tierLeverage = new Int32Array(I * TIERS_MAX);
  for (let i = 0; i < I; i++) {
    const instrument = instruments[i];
    mark[i] = Number(instrument.markUnits);
    q[i] = Number(quotePerUnit(instrument)); // 10^max(0, 6 − pd − sd): a power of ten, exact
    divisor[i] = Number(valueDivisor(instrument));
    lot[i] = Number(instrument.lotUnits);
    // A 1% margin below 10^18 covers the rounding of this estimate (the product is never formed).
    lotsMax[i] = Math.max(1, Math.floor(UNIT_PRODUCT_SAFE / (lot[i] * q[i] * mark[i])));
    funding[i] = Number(instrument.fundingIndex);
    fundingStep[i] = profiles[i].fundingStep;
    lnMedianMicro[i] = ln(profiles[i].medianNotional * MICRO);
    cap[i] = leverageCap(instrument.tiers);
    tierCount[i] = instrument.tiers.length;
    let cum = 0;
    let previousRate = 0;
    for (let k = 0; k < instrument.tiers.length; k++) {
      const tier = instrument.tiers[k];
      const floor = k === 0 ? 0 : Number(instrument.tiers[k - 1].upToNotional);
      const rate = Number(tier.ratePpm);
      cum += floor * (rate - previousRate);
      previousRate = rate;
      const cell = i * TIERS_MAX + k;
      tierUp[cell] = tier.upToNotional === null ? Infinity : Number(tier.upToNotional);
      tierRate[cell] = rate;
      tierCumX[cell] = cum;
      tierLeverage[cell] = tier.leverageMax;
    }
  }

  // Pass 1: positions per account (their own stream, so the columns can be sized exactly).
  const perAccountCap = positionsPerAccountCap(I, isolatedShare);
  const accPosCount = new Uint32Array(A);
  const countRng = new Rng(seed, STREAM_COUNTS);
  let P = 0;
  for (let a = 0; a < A; a++) {
    let count = 1;
    while (count < perAccountCap && countRng.uniform() < EXTRA_POSITION_PROBABILITY) count++;
    accPosCount[a] = count;
    P += count;
  }

  const accBalance = new BigInt64Array(A);
  const posSize = new BigInt64Array(P);
  const posCost = new BigInt64Array(P);
  const posMargin = new BigInt64Array(P);
  const posFunding = new BigInt64Array(P);
  const posInst = new Uint16Array(P);
  const posMode = new Uint8Array(P);
  const posLeverage = new Uint16Array(P);
  const nearMaintenance = new Uint8Array(A);
  const balanceWords = wordsOf(accBalance);
  const sizeWords = wordsOf(posSize);
  const costWords = wordsOf(posCost);
  const marginWords = wordsOf(posMargin);
  const fundingWords = wordsOf(posFunding);

  const zipfWeights: number[] = [];
  for (let i = 0; i < I; i++) zipfWeights.push(exp(-INSTRUMENT_ZIPF_EXPONENT * ln(i + 1)));
  const zipf = new Discrete(zipfWeights);
  const leverageDraw = new Discrete(profile.leverageWeights);
  const lnCrossMedian = ln(profile.crossMultipleMedian);
  const cushionMax = profile.cushionMax;
  const lnFreeMedianMicro = ln(FREE_BALANCE_MEDIAN * MICRO);
  const maxNotionalMicro = NOTIONAL_MAX_QUOTE * MICRO;

  // Per account scratch: each position's unrealized PnL and maintenance (micro, approximate).
  const scratchPnl = new Float64Array(POSITIONS_PER_ACCOUNT_MAX);
  const scratchMaint = new Float64Array(POSITIONS_PER_ACCOUNT_MAX);
  // (instrument, mode) → the account (plus 1) that last took it.
  const taken = new Uint32Array(2 * I);

  const rng = new Rng(seed, STREAM_POSITIONS);
  let j = 0;
  for (let a = 0; a < A; a++) {
    if ((a & 0xffff) === 0) onProgress?.(a, A);
    const stamp = a + 1;
    const count = accPosCount[a];
    const first = j;
    let crossPnl = 0;
    let crossMaint = 0;
    let crossInitial = 0;
    let crossCount = 0;
    let firstIsolated = -1;
    for (let k = 0; k < count; k++, j++) {
      // Mode, then an instrument this account does not yet hold in that mode.
      let mode = rng.uniform() < isolatedShare ? MODE_ISOLATED : MODE_CROSS;
      let i = -1;
      for (let t = 0; t < PAIR_TRIES; t++) {
        const pick = zipf.sample(rng);
        if (taken[2 * pick + mode] !== stamp) {
          i = pick;
          break;
        }
      }
      if (i < 0) i = scanFree(taken, stamp, I, mode, rng.below(I));
      if (i < 0) {
        mode ^= 1;
        i = scanFree(taken, stamp, I, mode, rng.below(I));
      }
      taken[2 * i + mode] = stamp;

      const long = rng.uniform() < LONG_SHARE;
      const asked = LEVERAGE_CHOICES[leverageDraw.sample(rng)];

      // Size: a lognormal notional rounded to whole lots (at least one).
      const markI = mark[i];
      const d = divisor[i];
      const lotNotional = d === 1 ? lot[i] * q[i] * markI : (lot[i] * q[i] * markI) / d; // micro (approximate when d > 1)
      let wanted = exp(lnMedianMicro[i] + NOTIONAL_SIGMA * rng.normal());
      if (wanted > maxNotionalMicro) wanted = maxNotionalMicro;
      let lots = Math.max(1, Math.round(wanted / lotNotional));
      if (d !== 1 && lots > lotsMax[i]) lots = lotsMax[i];
      const sizeAbs = lots * lot[i];
      // The notional at the mark: exact for d = 1; for d > 1 the magnitude of the value
      // floor(z·q·p / d), rounded toward −∞ (a long's notional rounds down, a short's up).
      const notional = d === 1 ? sizeAbs * q[i] * markI : long ? mulDivFloor(sizeAbs, markI, d) : mulDivCeil(sizeAbs, markI, d);

      // Bracket of the notional at the mark; leverage capped by the bracket's max.
      const base = i * TIERS_MAX;
      let bracket = 0;
      while (notional > tierUp[base + bracket]) bracket++;
      const bracketCap = tierLeverage[base + bracket];
      const leverage = Math.min(asked, bracketCap, cap[i]);

      // Entry around the mark: ε ~ N(0, σ), redrawn while too adverse.
      const sigma = Math.min(ENTRY_SIGMA_MAX, ENTRY_SIGMA_LEVERAGE / leverage);
      const limit = ENTRY_ADVERSE_LIMIT / leverage;
      let epsilon = 0;
      for (let t = 0; t < ENTRY_TRIES; t++) {
        const e = sigma * rng.normal();
        if ((long ? e : -e) <= limit) {
          epsilon = e;
          break;
        }
      }
      const entry = Math.max(1, Math.round(markI * exp(epsilon)));
      // Cost basis = size × entry: exact for d = 1; for d > 1 rounded up to a micro, toward +∞ for a
      // long and a short (a short's magnitude rounds down): ceil(z·q·entry / d).
      const costAbs = d === 1 ? sizeAbs * q[i] * entry : long ? mulDivCeil(sizeAbs, entry, d) : mulDivFloor(sizeAbs, entry, d);

      // Funding snapshot: current, or lagging 1 to FUNDING_LAG_MAX intervals.
      let snapshot = funding[i];
      if (!(rng.uniform() < FUNDING_CURRENT_SHARE)) snapshot -= (1 + rng.below(FUNDING_LAG_MAX)) * fundingStep[i];

      const size = long ? sizeAbs : -sizeAbs;
      const cost = long ? costAbs : -costAbs;
      const owed = Math.ceil((size * q[i] * (funding[i] - snapshot)) / MICRO);
      // The value at the mark, floor(z·q·p / d): the notional with the size's sign when d > 1.
      const value = d === 1 ? size * q[i] * markI : long ? notional : -notional;
      const pnl = value - cost - owed;
      const maintenance = Math.ceil((notional * tierRate[base + bracket] - tierCumX[base + bracket]) / MICRO);

      putI64(sizeWords, j, size);
      putI64(costWords, j, cost);
      putI64(fundingWords, j, snapshot);
      posInst[j] = i;
      posMode[j] = mode;
      posLeverage[j] = leverage;
      if (mode === MODE_ISOLATED) {
        const initial = Math.ceil(costAbs / leverage);
        const u = rng.uniform();
        putI64(marginWords, j, initial + Math.round(initial * cushionMax * u * u));
        if (firstIsolated < 0) firstIsolated = k;
      } else {
        crossPnl += pnl;
        crossMaint += maintenance;
        crossInitial += notional / leverage;
        crossCount++;
      }
      scratchPnl[k] = pnl;
      scratchMaint[k] = maintenance;
    }

    // Balance: healthy cross pools hold equity = IM × m; near-maintenance scopes sit at
    // maintenance × (1 + δ).
    const near = rng.uniform() < nearMaintenanceShare;
    let balance: number;
    if (crossCount > 0) {
      if (near) {
        const delta = NEAR_DELTA_MIN + (NEAR_DELTA_MAX - NEAR_DELTA_MIN) * rng.uniform();
        balance = Math.round(crossMaint * (1 + delta) - crossPnl);
      } else {
        let multiple = profile.crossMultipleMin + exp(lnCrossMedian + CROSS_MULTIPLE_SIGMA * rng.normal());
        if (multiple > CROSS_MULTIPLE_MAX) multiple = CROSS_MULTIPLE_MAX;
        balance = Math.max(0, Math.round(crossInitial * multiple - crossPnl));
      }
    } else {
      balance = rng.uniform() < FREE_BALANCE_ZERO_SHARE ? 0 : Math.round(exp(lnFreeMedianMicro + FREE_BALANCE_SIGMA * rng.normal()));
      if (near) {
        const delta = NEAR_DELTA_MIN + (NEAR_DELTA_MAX - NEAR_DELTA_MIN) * rng.uniform();
        const k = firstIsolated;
        const margin = Math.max(0, Math.round(scratchMaint[k] * (1 + delta) - scratchPnl[k]));
        putI64(marginWords, first + k, margin);
      }
    }
    if (near) nearMaintenance[a] = 1;
    if (balance > BALANCE_ABS_MAX) balance = BALANCE_ABS_MAX;
    else if (balance < -BALANCE_ABS_MAX) balance = -BALANCE_ABS_MAX;
    putI64(balanceWords, a, balance);
  }

  return {
    instruments,
    accountIds: accountIdBlob(A),
    accBalance,
    accPosCount,
    positionCount: P,
    posSize,
    posCost,
    posMargin,
    posFunding,
    posInst,
    posMode,
    posLeverage,
    nearMaintenance,
  };
}

/** The first instrument from `start` (wrapping) that the account does not hold in `mode`, or −1. */
function scanFree(taken: Uint32Array, stamp: number, I: number, mode: number, start: number): number {
  for (let n = 0; n < I; n++) {
    const i = (start + n) % I;
    if (taken[2 * i + mode] !== stamp) return i;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// As a Book (for book JSON and tests; one object per account, so for small books only)

/** The generated columns as a Book in integer units (src/book/model.ts). */
export function generatedBookToBook(book: GeneratedBook): Book {
  const accounts: Book['accounts'] = [];
  let j = 0;
  for (let a = 0; a < book.accountIds.count; a++) {
    const positions: Position[] = [];
    for (let k = 0; k < book.accPosCount[a]; k++, j++) positions.push(readPositionColumns(book, j));
    accounts.push({ id: book.accountIds.get(a), balanceMicro: book.accBalance[a], positions });
  }
  return {
    instruments: book.instruments.map((instrument) => ({ ...instrument, tiers: instrument.tiers.map((tier) => ({ ...tier })) })),
    accounts,
  };
}
