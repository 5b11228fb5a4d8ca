// The simulator's money outside the book, and the identity that keeps it honest
// (docs/simulator.md, Conservation). A book's counterparties are outside it (a generated book's
// accounts are drawn one by one, not in matched pairs), so the identity counts them as one party,
// the market: it took the other side of every position, and buys or sells what liquidation orders
// send it. With the market's side counted, money only moves:
//
//   Σ wallets + Σ isolated margins + Σ unrealized PnL + insurance fund − unrecovered losses
//     + the market's cash + the market's positions at the marks   is constant.
//
// The market holds −Σ size on each instrument, so its positions at the marks cancel Σ size·q·mark
// out of the book's unrealized PnL, whatever the marks do; what is left is what bookMoney sums.
import { fundingOwed } from '../account/operations.js';
import type { Engine } from '../engine/engine.js';

export interface Ledger {
  /** The insurance fund, micro. */
  fund: bigint;
  /** Losses no collateral, fund or ADL covered and no account is charged with (isolated shortfalls): owed to the market. */
  unrecovered: bigint;
  /** What the market has paid for what it bought (negative) and received for what it sold, micro. */
  marketCash: bigint;
  /**
   * Micro that rounding against the accounts took out of ADL fills between two accounts, on
   * instruments finer than a micro (docs/numbers.md): each side pays ceil(size·q·price/d). 0 for
   * every other instrument.
   */
  rounded: bigint;
}

/**
 * Σ wallets + Σ isolated margins − Σ cost bases − Σ unsettled funding, micro, from the engine's
 * columns: the book's unrealized PnL less its positions at the marks (which the market's cancel).
 * O(positions); for the conservation check, not for a run's hot path.
 */
export function bookMoney(engine: Engine): bigint {
  const v = engine.views;
  let total = 0n;
  for (let a = 0; a < engine.accountCount; a++) {
    total += v.accBalance[a];
    const end = v.accPosStart[a] + v.accPosCount[a];
    for (let j = v.accPosStart[a]; j < end; j++) total += v.posMargin[j] - v.posCost[j] - fundingOwed(engine, j);
  }
  return total;
}

/** The conserved total: bookMoney + fund − unrecovered + the market's cash + what rounding took. */
export function conservedTotal(engine: Engine, ledger: Ledger): bigint {
  return bookMoney(engine) + ledger.fund - ledger.unrecovered + ledger.marketCash + ledger.rounded;
}
