// The book in integers: what the JSON and binary loaders produce, what the reference evaluates and
// what the memory layout stores. Units are in the field names' comments only where a name cannot
// carry them; docs/numbers.md is the full statement.
import type { ModeName, StatusName } from '../fixed/constants.js';
import { FUNDING_EXTRA_DECIMALS, QUOTE_DECIMALS } from '../fixed/constants.js';
import { divCeil, divFloor } from '../fixed/rounding.js';

export interface Tier {
  /** Upper bound of the bracket's notional, micro; null for the last bracket (unbounded). */
  upToNotional: bigint | null;
  /** Maintenance rate, ppm; strictly between 0 and 10^6, non-decreasing across brackets. */
  ratePpm: bigint;
  /** Largest leverage allowed while the position's notional is in this bracket. */
  leverageMax: number;
}

export interface Instrument {
  symbol: string;
  /** Decimals of a price unit: a price of p units is p·10^-priceDecimals quote per base. */
  priceDecimals: number;
  /** Decimals of a size unit: a size of z units is z·10^-sizeDecimals base. */
  sizeDecimals: number;
  tickUnits: bigint; // price units per tick
  lotUnits: bigint; // size units per lot
  markUnits: bigint; // price units
  /** Cumulative funding index in units of 10^-fundingDecimals quote per base: priceDecimals + 6, or 12 − sizeDecimals when pd + sd > 6. */
  fundingIndex: bigint;
  tiers: Tier[];
}

export interface Position {
  instrument: number; // index into Book.instruments
  sizeUnits: bigint; // signed: > 0 long, < 0 short
  /** Cost basis s·e, micro, signed like the size. */
  costMicro: bigint;
  mode: ModeName;
  /** Isolated margin, micro; always 0 for cross positions. */
  marginMicro: bigint;
  leverage: number;
  /** Funding index at the position's last settlement (same units as Instrument.fundingIndex). */
  fundingIndex: bigint;
}

export interface Account {
  id: string;
  balanceMicro: bigint;
  positions: Position[];
}

export interface Book {
  instruments: Instrument[];
  accounts: Account[];
}

/** What an evaluation yields for one position (kernel and reference alike). */
export interface PositionResult {
  /** s·(P − e) minus unsettled funding, micro, rounded toward −∞. */
  unrealizedPnlMicro: bigint;
  /** MM(|s|·P), micro, rounded toward +∞. */
  maintenanceMicro: bigint;
  /** Isolated positions only: M + unrealized PnL, and the scope's status. */
  equityMicro: bigint | null;
  status: StatusName | null;
  /** Price units on the instrument's tick; null where no price qualifies (docs/numbers.md). */
  liquidationPriceUnits: bigint | null;
  bankruptcyPriceUnits: bigint | null;
}

export interface AccountResult {
  crossEquityMicro: bigint;
  crossMaintenanceMicro: bigint;
  crossStatus: StatusName;
  positions: PositionResult[];
}

/**
 * q = 10^max(0, 6 − pd − sd): micro per (size unit × price unit) before the value divisor
 * (docs/numbers.md, "Instruments finer than a micro"). Also the funding multiplier: funding owed
 * is ceil(z·q·ΔF / 10^6) for every instrument.
 */
export function quotePerUnit(instrument: Pick<Instrument, 'priceDecimals' | 'sizeDecimals'>): bigint {
  const s = instrument.priceDecimals + instrument.sizeDecimals;
  return s <= QUOTE_DECIMALS ? 10n ** BigInt(QUOTE_DECIMALS - s) : 1n;
}

/**
 * d = 10^max(0, pd + sd − 6): the value divisor. A position's value is floor(z·q·p / d) micro;
 * 1 for every instrument whose lot at a tick is a whole number of micro.
 */
export function valueDivisor(instrument: Pick<Instrument, 'priceDecimals' | 'sizeDecimals'>): bigint {
  const s = instrument.priceDecimals + instrument.sizeDecimals;
  return s <= QUOTE_DECIMALS ? 1n : 10n ** BigInt(s - QUOTE_DECIMALS);
}

/**
 * A position's value at a price: floor(z·q·p / d) micro, toward −∞ (against the account, long or
 * short); exactly z·q·p when d is 1. Its notional is the magnitude of this value (docs/numbers.md).
 */
export function valueMicro(sizeUnits: bigint, q: bigint, d: bigint, priceUnits: bigint): bigint {
  const product = sizeUnits * q * priceUnits;
  return d === 1n ? product : divFloor(product, d);
}

/**
 * A position's notional at a price: the magnitude of its value, and 1 micro for an open long whose
 * value floors to 0 (z·q·p < d), so that every open position has a positive notional (docs/numbers.md).
 */
export function notionalMicro(sizeUnits: bigint, q: bigint, d: bigint, priceUnits: bigint): bigint {
  const value = valueMicro(sizeUnits, q, d, priceUnits);
  if (value === 0n) return sizeUnits === 0n ? 0n : 1n;
  return value < 0n ? -value : value;
}

/** A cost at a price (a fill's, a cost basis from an entry price): ceil(z·q·p / d) micro, toward +∞. */
export function costMicro(sizeUnits: bigint, q: bigint, d: bigint, priceUnits: bigint): bigint {
  const product = sizeUnits * q * priceUnits;
  return d === 1n ? product : divCeil(product, d);
}

/**
 * Per instrument, q and d read once (src/book/model.ts quotePerUnit, valueDivisor), and a position's
 * value, notional and cost from them: for a loop over many positions, where a read of a
 * BigInt64Array column allocates a BigInt each time.
 */
export class ValueUnits {
  readonly q: readonly bigint[];
  readonly d: readonly bigint[];

  constructor(instruments: readonly Pick<Instrument, 'priceDecimals' | 'sizeDecimals'>[]) {
    this.q = instruments.map(quotePerUnit);
    this.d = instruments.map(valueDivisor);
  }

  /** floor(z·q·p / d) of instrument i (valueMicro). */
  value(i: number, sizeUnits: bigint, priceUnits: bigint): bigint {
    return valueMicro(sizeUnits, this.q[i], this.d[i], priceUnits);
  }

  /** The notional of instrument i (notionalMicro). */
  notional(i: number, sizeUnits: bigint, priceUnits: bigint): bigint {
    return notionalMicro(sizeUnits, this.q[i], this.d[i], priceUnits);
  }

  /** ceil(z·q·p / d) of instrument i (costMicro). */
  cost(i: number, sizeUnits: bigint, priceUnits: bigint): bigint {
    return costMicro(sizeUnits, this.q[i], this.d[i], priceUnits);
  }
}

/** Decimals of the instrument's funding index: pd + 6, less log10 of the value divisor (12 − sd when pd + sd > 6). */
export function fundingDecimals(instrument: Pick<Instrument, 'priceDecimals' | 'sizeDecimals'>): number {
  const s = instrument.priceDecimals + instrument.sizeDecimals;
  return instrument.priceDecimals + FUNDING_EXTRA_DECIMALS - Math.max(0, s - QUOTE_DECIMALS);
}
