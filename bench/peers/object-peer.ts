// Benchmark peer 1: the sweep as application code usually writes it. One object per account
// holding an array of position objects that point at shared instrument objects, float64 `number`
// math in human units (quote, base, quote per base), a tier lookup that scans the tier array, and
// statuses as strings. Results are written into the same objects, as an app would keep them.
//
// Kept honest in both directions: the timed loop allocates nothing (status strings are constants,
// number fields are initialised as doubles so writing them never changes an object's shape), and
// it writes what the kernel's status sweep (engine.evaluate({ full: false })) writes: each
// account's cross equity, maintenance and status and each isolated position's status; per
// position PnL and maintenance are computed but, as in the kernel's status sweep, not stored.
// It does not round to micro the way the kernel does, so it is inexact by nature (see statuses.ts
// for how many scopes that misclassifies).
import type { Engine } from '../../src/engine/engine.js';
import { STATUS_BANKRUPT, STATUS_HEALTHY, STATUS_LIQUIDATABLE } from '../../src/fixed/constants.js';
import { balanceFloat, instrumentFloats, positionCount, positionFloats } from './inputs.js';
import type { PeerStatuses } from './statuses.js';

export type StatusString = 'healthy' | 'liquidatable' | 'bankrupt';

export interface TierObject {
  /** Upper bound of the bracket's notional, quote; Infinity for the last bracket. */
  upToNotional: number;
  /** A fraction: 0.005 is 0.5%. */
  maintenanceRate: number;
  /** cum_k, quote: maintenance = notional·rate − amount in this bracket. */
  maintenanceAmount: number;
}

export interface InstrumentObject {
  symbol: string;
  markPrice: number;
  fundingIndex: number;
  tiers: TierObject[];
}

export interface PositionObject {
  instrument: InstrumentObject;
  /** Signed, base units (0.04 BTC is 0.04). */
  size: number;
  entryPrice: number;
  mode: 'cross' | 'isolated';
  /** Isolated margin, quote; 0 for cross. */
  margin: number;
  /** Funding index at the last settlement, quote per base. */
  fundingIndex: number;
  // Written by evaluateObjects:
  /** Isolated positions only; null for cross (their scope is the account's). */
  status: StatusString | null;
}

export interface AccountObject {
  id: string;
  balance: number;
  positions: PositionObject[];
  // Written by evaluateObjects:
  crossEquity: number;
  crossMaintenance: number;
  crossStatus: StatusString;
}

export interface ObjectBook {
  instruments: InstrumentObject[];
  accounts: AccountObject[];
  /** Positions held by all accounts, for per-position rates. */
  positionCount: number;
}

export interface ObjectResult {
  /** Liquidatable scopes (cross pools plus isolated positions), as engine.evaluate returns. */
  liquidatable: number;
}

/** Converts the engine's book into objects (not timed). */
export function buildObjectBook(engine: Engine): ObjectBook {
  const v = engine.views;
  const instruments = instrumentFloats(engine).map(
    (instrument): InstrumentObject => ({
      symbol: instrument.symbol,
      markPrice: instrument.markPrice,
      fundingIndex: instrument.fundingIndex,
      tiers: instrument.tierUpTo.map((upToNotional, k) => ({
        upToNotional,
        maintenanceRate: instrument.tierRate[k],
        maintenanceAmount: instrument.tierCum[k],
      })),
    }),
  );
  const ids = engine.accountIds.toArray();
  const accounts: AccountObject[] = [];
  for (let a = 0; a < engine.accountCount; a++) {
    const positions: PositionObject[] = [];
    const first = v.accPosStart[a];
    for (let j = first; j < first + v.accPosCount[a]; j++) {
      const p = positionFloats(engine, j);
      positions.push({
        instrument: instruments[p.instrument],
        size: p.size,
        // An app keeps the average entry price; the cost basis is size × entry again when needed.
        entryPrice: p.size === 0 ? 0 : p.cost / p.size,
        mode: p.isolated ? 'isolated' : 'cross',
        margin: p.margin,
        fundingIndex: p.fundingIndex,
        status: null,
      });
    }
    accounts.push({
      id: ids[a],
      balance: balanceFloat(engine, a),
      positions,
      crossEquity: NaN, // a double from the start: the first evaluation must not reshape the object
      crossMaintenance: NaN,
      crossStatus: 'healthy',
    });
  }
  return { instruments, accounts, positionCount: positionCount(engine) };
}

/** Tiered maintenance: find the bracket of the notional by scanning the tiers. */
function maintenanceFor(tiers: TierObject[], notional: number): number {
  for (const tier of tiers) {
    if (notional <= tier.upToNotional) return notional * tier.maintenanceRate - tier.maintenanceAmount;
  }
  return NaN; // unreachable: the last bracket is unbounded
}

/** The timed part: every scope of every account, results written into the objects. */
export function evaluateObjects(book: ObjectBook): ObjectResult {
  let liquidatable = 0;
  for (const account of book.accounts) {
    let crossEquity = account.balance;
    let crossMaintenance = 0;
    for (const position of account.positions) {
      const instrument = position.instrument;
      const fundingOwed = position.size * (instrument.fundingIndex - position.fundingIndex);
      const unrealizedPnl = position.size * (instrument.markPrice - position.entryPrice) - fundingOwed;
      const maintenance = maintenanceFor(instrument.tiers, Math.abs(position.size) * instrument.markPrice);
      if (position.mode === 'cross') {
        crossEquity += unrealizedPnl;
        crossMaintenance += maintenance;
      } else {
        const equity = position.margin + unrealizedPnl;
        const status: StatusString = equity < 0 ? 'bankrupt' : equity < maintenance ? 'liquidatable' : 'healthy';
        position.status = status;
        if (status !== 'healthy') liquidatable++;
      }
    }
    account.crossEquity = crossEquity;
    account.crossMaintenance = crossMaintenance;
    if (crossMaintenance > 0 && crossEquity < crossMaintenance) {
      account.crossStatus = crossEquity < 0 ? 'bankrupt' : 'liquidatable';
      liquidatable++;
    } else {
      account.crossStatus = 'healthy';
    }
  }
  return { liquidatable };
}

const STATUS_CODE: Record<StatusString, number> = {
  healthy: STATUS_HEALTHY,
  liquidatable: STATUS_LIQUIDATABLE,
  bankrupt: STATUS_BANKRUPT,
};

/** The statuses the last evaluateObjects wrote, as codes for countMismatches (not timed). */
export function objectStatuses(book: ObjectBook): PeerStatuses {
  const cross = new Uint8Array(book.accounts.length);
  const position = new Uint8Array(book.positionCount);
  let k = 0;
  book.accounts.forEach((account, a) => {
    cross[a] = STATUS_CODE[account.crossStatus];
    for (const p of account.positions) position[k++] = p.status === null ? STATUS_HEALTHY : STATUS_CODE[p.status];
  });
  return { cross, position };
}
