// The generated book's instruments (docs/generator.md, "Instruments"): five majors with tick, lot,
// mark and leverage brackets shaped like a large venue's, then a seeded long tail of alts.
// Everything is in the integer units of docs/numbers.md.
import { valueDivisor, type Instrument, type Tier } from '../book/model.js';
import { exp, ln, Rng } from './random.js';

const MICRO_PER_QUOTE = 1_000_000;

/** One bracket of a major's table, in quote and percent (as a venue publishes it). */
interface BracketSpec {
  upTo: number | null; // quote
  ratePercent: number; // maintenance rate, %
  leverage: number;
}

interface MajorSpec {
  symbol: string;
  tick: [units: number, priceDecimals: number];
  lot: [units: number, sizeDecimals: number];
  markUnits: number;
  /** Funding index, as a fraction of the mark (cumulative funding since listing). */
  fundingFraction: number;
  /** Funding of one interval, as a fraction of the mark. */
  fundingRate: number;
  brackets: BracketSpec[];
}

/** The majors, in rank order (index 0 is the most traded). */
export const MAJORS: readonly MajorSpec[] = [
  {
    symbol: 'BTC-PERP',
    tick: [1, 1], // 0.1
    lot: [1, 3], // 0.001
    markUnits: 650_000, // 65,000.0
    fundingFraction: 0.06,
    fundingRate: 0.0001,
    // docs/domain.md section 3's table (Binance BTCUSDT's shape).
    brackets: [
      { upTo: 50_000, ratePercent: 0.4, leverage: 125 },
      { upTo: 250_000, ratePercent: 0.5, leverage: 100 },
      { upTo: 1_000_000, ratePercent: 1, leverage: 50 },
      { upTo: 10_000_000, ratePercent: 2.5, leverage: 20 },
      { upTo: 20_000_000, ratePercent: 5, leverage: 10 },
      { upTo: 50_000_000, ratePercent: 10, leverage: 5 },
      { upTo: 100_000_000, ratePercent: 12.5, leverage: 4 },
      { upTo: 200_000_000, ratePercent: 15, leverage: 3 },
      { upTo: 300_000_000, ratePercent: 25, leverage: 2 },
      { upTo: null, ratePercent: 50, leverage: 1 },
    ],
  },
  {
    symbol: 'ETH-PERP',
    tick: [1, 2], // 0.01
    lot: [1, 3], // 0.001
    markUnits: 350_000, // 3,500.00
    fundingFraction: 0.05,
    fundingRate: 0.0001,
    brackets: [
      { upTo: 50_000, ratePercent: 0.4, leverage: 125 },
      { upTo: 250_000, ratePercent: 0.5, leverage: 100 },
      { upTo: 1_000_000, ratePercent: 1, leverage: 50 },
      { upTo: 5_000_000, ratePercent: 2, leverage: 25 },
      { upTo: 10_000_000, ratePercent: 5, leverage: 10 },
      { upTo: 20_000_000, ratePercent: 10, leverage: 5 },
      { upTo: 50_000_000, ratePercent: 12.5, leverage: 4 },
      { upTo: 100_000_000, ratePercent: 15, leverage: 3 },
      { upTo: 200_000_000, ratePercent: 25, leverage: 2 },
      { upTo: null, ratePercent: 50, leverage: 1 },
    ],
  },
  {
    symbol: 'SOL-PERP',
    tick: [1, 2], // 0.01
    lot: [1, 2], // 0.01
    markUnits: 15_000, // 150.00
    fundingFraction: 0.08,
    fundingRate: 0.00015,
    brackets: [
      { upTo: 10_000, ratePercent: 0.5, leverage: 100 },
      { upTo: 100_000, ratePercent: 0.65, leverage: 75 },
      { upTo: 500_000, ratePercent: 1, leverage: 50 },
      { upTo: 1_000_000, ratePercent: 2, leverage: 25 },
      { upTo: 5_000_000, ratePercent: 5, leverage: 10 },
      { upTo: 10_000_000, ratePercent: 10, leverage: 5 },
      { upTo: 20_000_000, ratePercent: 25, leverage: 2 },
      { upTo: null, ratePercent: 50, leverage: 1 },
    ],
  },
  {
    symbol: 'BNB-PERP',
    tick: [1, 2], // 0.01
    lot: [1, 2], // 0.01
    markUnits: 60_000, // 600.00
    fundingFraction: 0.04,
    fundingRate: 0.0001,
    brackets: [
      { upTo: 10_000, ratePercent: 0.65, leverage: 75 },
      { upTo: 50_000, ratePercent: 1, leverage: 50 },
      { upTo: 250_000, ratePercent: 2, leverage: 25 },
      { upTo: 1_000_000, ratePercent: 5, leverage: 10 },
      { upTo: 5_000_000, ratePercent: 10, leverage: 5 },
      { upTo: 10_000_000, ratePercent: 25, leverage: 2 },
      { upTo: null, ratePercent: 50, leverage: 1 },
    ],
  },
  {
    symbol: 'XRP-PERP',
    tick: [1, 4], // 0.0001
    lot: [1, 1], // 0.1
    markUnits: 5_200, // 0.5200
    fundingFraction: 0.03,
    fundingRate: 0.0001,
    brackets: [
      { upTo: 10_000, ratePercent: 0.65, leverage: 75 },
      { upTo: 100_000, ratePercent: 1, leverage: 50 },
      { upTo: 250_000, ratePercent: 2, leverage: 25 },
      { upTo: 1_000_000, ratePercent: 2.5, leverage: 20 },
      { upTo: 5_000_000, ratePercent: 5, leverage: 10 },
      { upTo: 10_000_000, ratePercent: 10, leverage: 5 },
      { upTo: 20_000_000, ratePercent: 25, leverage: 2 },
      { upTo: null, ratePercent: 50, leverage: 1 },
    ],
  },
];

/** Alts' leverage ladder: a bracket's maintenance rate is 1 / (2 × its max leverage), rounded down to a ppm. */
export const ALT_LEVERAGE_LADDER = [75, 50, 25, 20, 10, 5, 4, 3, 2, 1] as const;
/** First-bracket max leverage of an alt, and its probability. */
export const ALT_FIRST_LEVERAGE: readonly [leverage: number, weight: number][] = [
  [75, 0.1],
  [50, 0.4],
  [25, 0.3],
  [20, 0.2],
];
/** First bracket bound of an alt (quote), uniformly one of these. */
export const ALT_FIRST_BOUND = [5_000, 10_000, 25_000, 50_000] as const;
/** Each next bracket bound is the previous one times one of these, uniformly. */
export const ALT_BOUND_FACTORS = [3, 4, 5] as const;
/** Alt mark prices are log-uniform between these (quote). */
export const ALT_PRICE_MIN = 0.01;
export const ALT_PRICE_MAX = 1_000;

/**
 * The alts' tick and lot decimals (`liq gen --precision`): `micro`, every instrument with
 * pd + sd ≤ 6 (one lot at one tick a whole number of micro), the generator's instruments as they
 * have always been; `venue`, as venues list them, with many cheap alts finer than a micro
 * (pd + sd from 7 to 12, docs/numbers.md "Instruments finer than a micro").
 */
export const GEN_PRECISIONS = ['micro', 'venue'] as const;
export type GenerationPrecision = (typeof GEN_PRECISIONS)[number];

/**
 * `venue` precision: an alt whose mark is below this (quote) is quoted with a 7-decimal tick, as
 * Binance quotes 1000PEPEUSDT (tick 0.0000001) and the like: 40% of the alts (the price is
 * log-uniform over five decades, and this is two of them).
 */
export const VENUE_FINE_PRICE_MAX = 1;
/** Such an alt's price decimals. */
export const VENUE_FINE_PRICE_DECIMALS = 7;
/** The share of those alts whose lot is finer than 0.1 too: size decimals 2 to 5, so pd + sd from 9 to 12. */
export const VENUE_FINEST_SHARE = 1 / 6;

/** Extra, generator-only facts about an instrument (not part of the book). */
export interface InstrumentProfile {
  /** Funding of one interval in funding-index units (a position lagging k intervals has F_i = F − k·step). */
  fundingStep: number;
  /** Median notional of a position, quote. */
  medianNotional: number;
}

export interface GeneratedInstruments {
  instruments: Instrument[];
  profiles: InstrumentProfile[];
}

export const MAJOR_MEDIAN_NOTIONAL = [2_000, 2_000, 1_000, 1_000, 1_000] as const;
export const ALT_MEDIAN_NOTIONAL = 500;

function ppmOfPercent(percent: number): bigint {
  return BigInt(Math.round(percent * 10_000));
}

function major(spec: MajorSpec): Instrument {
  const [tickUnits, pd] = spec.tick;
  const [lotUnits, sd] = spec.lot;
  const tiers: Tier[] = spec.brackets.map((b) => ({
    upToNotional: b.upTo === null ? null : BigInt(b.upTo) * BigInt(MICRO_PER_QUOTE),
    ratePpm: ppmOfPercent(b.ratePercent),
    leverageMax: b.leverage,
  }));
  return {
    symbol: spec.symbol,
    priceDecimals: pd,
    sizeDecimals: sd,
    tickUnits: BigInt(tickUnits),
    lotUnits: BigInt(lotUnits),
    markUnits: BigInt(spec.markUnits),
    fundingIndex: BigInt(Math.round(spec.markUnits * MICRO_PER_QUOTE * spec.fundingFraction)),
    tiers,
  };
}

/** The n-th alt's symbol (n from 1): ALT0001-PERP, ALT0002-PERP, … */
export function altSymbol(n: number): string {
  return `ALT${String(n).padStart(4, '0')}-PERP`;
}

/**
 * `venue` precision's decimals for an alt of this mark (quote), from two draws of its own stream
 * (always two, so every alt's draws are the same whatever its price): below VENUE_FINE_PRICE_MAX a
 * 7-decimal tick with a lot of 1 or 0.1 (even odds: pd + sd = 7 or 8), or, for VENUE_FINEST_SHARE
 * of them, a lot of 0.01 to 0.00001 (pd + sd from 9 to 12); null (the micro rule) otherwise.
 */
function venueDecimals(precisionRng: Rng, price: number): { pd: number; sd: number } | null {
  const finest = precisionRng.uniform() < VENUE_FINEST_SHARE;
  const pick = precisionRng.uniform();
  if (!(price < VENUE_FINE_PRICE_MAX)) return null;
  const pd = VENUE_FINE_PRICE_DECIMALS;
  if (finest) return { pd, sd: 2 + Math.min(3, Math.floor(pick * 4)) };
  return { pd, sd: pick < 0.5 ? 0 : 1 };
}

function alt(rng: Rng, n: number, precisionRng: Rng | null): { instrument: Instrument; profile: InstrumentProfile } {
  // Mark: log-uniform in [ALT_PRICE_MIN, ALT_PRICE_MAX]; the tick gives 4 to 5 significant digits
  // and the lot is worth about 1 quote: with m = floor(log10 price), pd = clamp(4 − m, 0, 6) and
  // sd = clamp(m, 0, 6 − pd). With `venue` precision a cheap alt's decimals are venueDecimals'.
  const lnMin = ln(ALT_PRICE_MIN);
  const price = exp(lnMin + rng.uniform() * (ln(ALT_PRICE_MAX) - lnMin));
  let m = 0;
  let power = 1;
  while (price >= power * 10) {
    power *= 10;
    m++;
  }
  while (price < power) {
    power /= 10;
    m--;
  }
  let pd = Math.min(6, Math.max(0, 4 - m));
  let sd = Math.min(6 - pd, Math.max(0, m));
  const venue = precisionRng === null ? null : venueDecimals(precisionRng, price);
  if (venue !== null) ({ pd, sd } = venue);
  let scale = 1;
  for (let i = 0; i < pd; i++) scale *= 10;
  const markUnits = Math.max(1, Math.round(price * scale));

  // Brackets: 3 to 6, leverage falling along the ladder from the first bracket's to 2 or 1,
  // rates 1 / (2 × leverage), bounds rising by a factor of 3 to 5.
  const count = 3 + rng.below(4);
  const firstPick = rng.uniform();
  let first = ALT_FIRST_LEVERAGE[ALT_FIRST_LEVERAGE.length - 1][0];
  let running = 0;
  for (const [leverage, weight] of ALT_FIRST_LEVERAGE) {
    running += weight;
    if (firstPick < running) {
      first = leverage;
      break;
    }
  }
  const last = rng.chance(0.5) ? 1 : 2;
  const i0 = ALT_LEVERAGE_LADDER.indexOf(first as (typeof ALT_LEVERAGE_LADDER)[number]);
  const iLast = ALT_LEVERAGE_LADDER.indexOf(last);
  const ladder: number[] = [];
  for (let k = 0; k < count; k++) ladder.push(ALT_LEVERAGE_LADDER[i0 + Math.round((k * (iLast - i0)) / (count - 1))]);
  let bound = ALT_FIRST_BOUND[rng.below(ALT_FIRST_BOUND.length)];
  const tiers: Tier[] = [];
  for (let k = 0; k < count; k++) {
    const leverage = ladder[k];
    tiers.push({
      upToNotional: k === count - 1 ? null : BigInt(bound) * BigInt(MICRO_PER_QUOTE),
      ratePpm: BigInt(Math.floor(500_000 / leverage)),
      leverageMax: leverage,
    });
    bound *= ALT_BOUND_FACTORS[rng.below(ALT_BOUND_FACTORS.length)];
  }

  // Funding: the index is −2% to +10% of the mark (cumulative since listing), one interval's funding
  // −0.01% to +0.03% of the mark. In units of 10^-fundingDecimals: the mark's units times 10^6 / d
  // (d = 1, the mark's units times 10^6, when pd + sd ≤ 6; dividing by 1 changes no bit).
  const d = Number(valueDivisor({ priceDecimals: pd, sizeDecimals: sd }));
  const fundingIndex = Math.round(((markUnits * MICRO_PER_QUOTE) / d) * (-0.02 + 0.12 * rng.uniform()));
  const fundingRate = -0.0001 + 0.0004 * rng.uniform();
  return {
    instrument: {
      symbol: altSymbol(n),
      priceDecimals: pd,
      sizeDecimals: sd,
      tickUnits: 1n,
      lotUnits: 1n,
      markUnits: BigInt(markUnits),
      fundingIndex: BigInt(fundingIndex),
      tiers,
    },
    profile: { fundingStep: Math.round(((markUnits * MICRO_PER_QUOTE) / d) * fundingRate), medianNotional: ALT_MEDIAN_NOTIONAL },
  };
}

/**
 * A funding interval's move of an instrument given to the generator (an instruments file's), as a
 * share of its mark: a venue's usual 0.01% (the majors' here).
 */
export const GIVEN_FUNDING_RATE = 0.0001;

/**
 * Instruments given to the generator (`liq gen --instruments-file`), copied, with the profiles the
 * generated ones would have at their ranks: the first five a major's median notional, the rest an
 * alt's; funding moving GIVEN_FUNDING_RATE of the mark an interval (in the instrument's funding
 * units: the mark's units times 10^6 / d).
 */
export function givenInstruments(list: readonly Instrument[]): GeneratedInstruments {
  const instruments = list.map((instrument) => ({ ...instrument, tiers: instrument.tiers.map((tier) => ({ ...tier })) }));
  const profiles = instruments.map((instrument, i) => ({
    fundingStep: Math.round(((Number(instrument.markUnits) * MICRO_PER_QUOTE) / Number(valueDivisor(instrument))) * GIVEN_FUNDING_RATE),
    medianNotional: i < MAJOR_MEDIAN_NOTIONAL.length ? MAJOR_MEDIAN_NOTIONAL[i] : ALT_MEDIAN_NOTIONAL,
  }));
  return { instruments, profiles };
}

/**
 * The first `count` instruments: the majors in rank order, then alts drawn from the seed. The
 * precision changes only the alts' decimals (and so their marks' and funding indexes' units), from
 * a stream of its own: with `venue` every alt has the price, brackets and funding of its `micro` self.
 */
export function generateInstruments(count: number, seed: number, precision: GenerationPrecision = 'micro'): GeneratedInstruments {
  const instruments: Instrument[] = [];
  const profiles: InstrumentProfile[] = [];
  for (let i = 0; i < Math.min(count, MAJORS.length); i++) {
    const spec = MAJORS[i];
    instruments.push(major(spec));
    profiles.push({
      fundingStep: Math.round(spec.markUnits * MICRO_PER_QUOTE * spec.fundingRate),
      medianNotional: MAJOR_MEDIAN_NOTIONAL[i],
    });
  }
  const rng = new Rng(seed, STREAM_INSTRUMENTS);
  const precisionRng = precision === 'venue' ? new Rng(seed, STREAM_PRECISION) : null;
  for (let n = 1; instruments.length < count; n++) {
    const { instrument, profile } = alt(rng, n, precisionRng);
    instruments.push(instrument);
    profiles.push(profile);
  }
  return { instruments, profiles };
}

/** Stream ids: each part of the book draws from its own stream of the seed. */
export const STREAM_INSTRUMENTS = 1;
export const STREAM_COUNTS = 2;
export const STREAM_POSITIONS = 3;
/** The alts' decimals with `venue` precision (not drawn at all with `micro`). */
export const STREAM_PRECISION = 4;
