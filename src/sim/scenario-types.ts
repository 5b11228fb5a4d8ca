// The cascade simulator's scenario, as the validator (scenario.ts) returns it: every field checked,
// every default filled in. The file format is docs/scenario.md; what each part drives is
// docs/simulator.md. Money is exact (micro-quote bigints, parsed from decimal strings); the market
// model's parameters (moves, volatilities, rates) are plain numbers: they shape prices, which are
// then rounded to whole price units before the engine sees them.
import type { GenerationProfileName } from '../gen/generate.js';

/** The only scenario version this build reads. */
export const SCENARIO_VERSION = 1;

/** Steps a scenario may run, 1 to this. */
export const SCENARIO_STEPS_MAX = 100_000;

/** Which instruments a shock moves: all, the majors, the alts (every instrument not a major), or named ones. */
export type InstrumentSelector = 'all' | 'majors' | 'alts' | readonly string[];

/** A relative move: one number for every instrument selected, or a range each instrument draws from (seeded). */
export type Move = number | { readonly min: number; readonly max: number };

/**
 * A scripted move of the exogenous price: from step `startStep` (0-based; the move is complete at
 * the end of step startStep + steps − 1), the price goes to (1 + move) times what it would be
 * without this shock, along `shape` (linear in price, or exponential: linear in log-price).
 * Shocks on one instrument compose by multiplication.
 */
export interface Shock {
  readonly instruments: InstrumentSelector;
  readonly startStep: number;
  readonly steps: number;
  /** Relative, in (−1, 10]: −0.12 is a 12% fall. */
  readonly move: Move;
  readonly shape: 'linear' | 'exponential';
}

/**
 * Correlated random returns with heavy tails, seeded: each step, instrument i's log-return is
 * σ_i·sqrt(stepSeconds / year)·(ρ_g·M + sqrt(1 − ρ_g²)·ε_i) + drift, where M (one per step, shared
 * by every instrument) and ε_i are Student-t draws with `tailDf` degrees of freedom scaled to unit
 * variance, g the instrument's group (major or alt).
 */
export interface RandomPaths {
  /** Annualised volatility σ per group, ≥ 0 (0.6 is 60%). */
  readonly volatility: { readonly majors: number; readonly alts: number };
  /** Loading ρ on the common factor per group, in [0, 1]. */
  readonly correlation: { readonly majors: number; readonly alts: number };
  /** Degrees of freedom of the Student-t draws, > 2 (null: normal draws). */
  readonly tailDf: number | null;
  /** Annualised growth rate of the price (E[price] grows as e^(drift·t); 0: no drift), per group (default 0). */
  readonly drift: { readonly majors: number; readonly alts: number };
}

/** Recorded ticks: a CSV file of `step,symbol,price` rows (docs/scenario.md); a price holds until the next row of its symbol. */
export interface RecordedPaths {
  /** As written in the scenario; resolved against the scenario file's directory. */
  readonly file: string;
}

export interface PriceSpec {
  /** The majors: named, or the book's first N instruments (the generator lists its majors first). */
  readonly majors: readonly string[] | number;
  readonly shocks: readonly Shock[];
  readonly random: RandomPaths | null;
  /** When set, the only source of exogenous prices (shocks and random must then be absent). */
  readonly recorded: RecordedPaths | null;
}

/** A quantity in quote given absolutely (micro) or relative to the instrument's open interest in the book at the start. */
export type QuoteAmount = { readonly micro: bigint } | { readonly overOpenInterest: number };

/**
 * How liquidation orders move an instrument's price (docs/simulator.md, Impact).
 * - `sqrt`: a step's net liquidation flow Q (quote) moves the price by Y·σ_day·sqrt(|Q|/V_day),
 *   against the flow; the impact decays with a half-life.
 * - `depth`: D quote of depth per 1% of price on each side; flow consumes it (a linear move of
 *   Q/D percent) and the consumed depth refills at `refillPerSecond` (a share of what is consumed).
 * - `none`: orders fill at the mark.
 */
export type LiquidityModel =
  | {
      readonly model: 'sqrt';
      readonly y: number;
      readonly dailyVolatility: number;
      readonly dailyVolume: QuoteAmount;
      readonly halfLifeSeconds: number;
    }
  | { readonly model: 'depth'; readonly depthPerPercent: QuoteAmount; readonly refillPerSecond: number }
  | { readonly model: 'none' };

export interface LiquiditySpec {
  readonly majors: LiquidityModel;
  readonly alts: LiquidityModel;
  /** Per symbol, over the group's. */
  readonly instruments: Readonly<Record<string, LiquidityModel>>;
}

export interface LiquidationPolicy {
  /** full: every position of a failing scope closes; partial: the largest maintenance first, until the scope is back above (1 + buffer)·maintenance. */
  readonly mode: 'full' | 'partial';
  /** partial's buffer, a share of maintenance in [0, 10]. */
  readonly buffer: number;
  /** The liquidation fee, a share of the closed notional in [0, 0.1], taken from what equity the scope has left, to the insurance fund. */
  readonly feeRate: number;
}

export type AdlPolicy = 'queue' | 'proRata' | 'random';

export interface BookGenerate {
  readonly accounts: number;
  readonly seed: number;
  readonly instruments: number;
  /** The generator's profile (GEN_PROFILES): how fragile the book is. */
  readonly profile: GenerationProfileName;
  readonly isolatedShare: number;
  /** Default: the profile's. */
  readonly nearMaintenanceShare: number;
}

/** Where the book comes from when the command line names none. */
export type BookSpec = { readonly file: string } | { readonly generate: BookGenerate };

export interface Scenario {
  readonly version: 1;
  readonly name: string;
  readonly description: string;
  readonly steps: number;
  /** Seconds a step stands for, > 0 (scales volatility, impact decay and refill). */
  readonly stepSeconds: number;
  /** The seed of every random draw (paths, moves drawn from ranges, random ADL); the command line's --seed overrides it. */
  readonly seed: number;
  readonly book: BookSpec | null;
  readonly prices: PriceSpec;
  readonly liquidity: LiquiditySpec;
  readonly liquidation: LiquidationPolicy;
  readonly insuranceFund: QuoteAmount;
  readonly adl: { readonly policy: AdlPolicy };
}
