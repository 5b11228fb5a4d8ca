// The book in integers: what the JSON and binary loaders produce, what the reference evaluates and
// what the memory layout stores. Units are in the field names' comments only where a name cannot
// carry them; docs/numbers.md is the full statement.
import type { ModeName, StatusName } from '../fixed/constants.js';

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
  /** Cumulative funding index in units of 10^-(priceDecimals + 6) quote per base. */
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

/** q = 10^(6 − pd − sd): micro per (size unit × price unit). */
export function quotePerUnit(instrument: Pick<Instrument, 'priceDecimals' | 'sizeDecimals'>): bigint {
  return 10n ** BigInt(6 - instrument.priceDecimals - instrument.sizeDecimals);
}
