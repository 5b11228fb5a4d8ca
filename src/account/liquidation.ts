// What a failing scope's liquidation closes (docs/simulator.md, "A step"): every position of a
// full liquidation (or of a bankrupt scope), or, for a partial one, the largest maintenance first,
// the least whole number of lots that puts the scope back at (1 + buffer) × maintenance at the
// marks, with the fee on what closes counted against it. Shared by the cascade simulator
// (src/sim/simulate.ts) and the live engine (src/serve/), so that both liquidate by one rule.
// Exact: BigInt figures from the engine's columns, the formulas of docs/numbers.md.
import { bracketOf } from '../book/ranges.js';
import type { Engine } from '../engine/engine.js';
import { MODE_CROSS, MODE_ISOLATED, RATE_SCALE, STATUS_BANKRUPT } from '../fixed/constants.js';
import { abs, divCeil } from '../fixed/rounding.js';
import { tierRows, type TierRow } from '../memory/tiers.js';
import { unrealizedPnl } from './operations.js';

/** Rates are in parts per million. */
export const PPM = 1_000_000n;

export interface LiquidationRule {
  mode: 'full' | 'partial';
  /** Partial liquidation's target: back to (1 + buffer) × maintenance, buffer in ppm. */
  bufferPpm: bigint;
  /** The liquidation fee, ppm of the closed notional, counted against the target. */
  feePpm: bigint;
}

/** A position a liquidation reduces: its slot at decision time and how much of it closes. */
export interface PlannedClose {
  slot: number;
  instrument: number;
  isolated: boolean;
  /** The position's signed size. */
  size: bigint;
  /** The size units that close (> 0, at most |size|, whole lots unless the whole position). */
  closing: bigint;
}

export interface LiquidationPlan {
  account: number;
  isolated: boolean;
  /** Isolated: the position's instrument; cross: −1. */
  instrument: number;
  /** The engine's status of the scope (liquidatable or bankrupt). */
  status: number;
  /** Equity and maintenance at the marks, micro. */
  equity: bigint;
  maintenance: bigint;
  /** Every open position closes whole. */
  full: boolean;
  closes: PlannedClose[];
}

/** Plans liquidations on one engine; the tier rows are kept per instrument (refresh them after setTiers). */
export class LiquidationPlanner {
  private readonly rows: TierRow[][];

  constructor(readonly engine: Engine) {
    this.rows = engine.instruments.map((instrument) => tierRows(instrument));
  }

  /** Rebuilds an instrument's rows after its tier table changed. */
  tiersChanged(i: number): void {
    this.rows[i] = tierRows(this.engine.instruments[i]);
  }

  /** MM(N), micro, rounded up: the bracket of N's rate less its amount (docs/domain.md §3). */
  maintenance(i: number, notional: bigint): bigint {
    const row = this.rows[i][bracketOf(this.engine.instruments[i].tiers, notional)];
    return notional === 0n ? 0n : divCeil(notional * row.ratePpm - row.cumX, RATE_SCALE);
  }

  /**
   * The plan of account a's cross pool (slot −1) or isolated position `slot`, at `marks` (price
   * units per instrument; the engine's marks when they are the book's). Returns null when the
   * figures at these marks do not make the scope failing with the status the engine holds for it
   * (a caller's bug, or marks other than those the statuses were evaluated at).
   */
  plan(a: number, slot: number, marks: ArrayLike<bigint>, rule: LiquidationRule): LiquidationPlan | null {
    const v = this.engine.views;
    const isolated = slot >= 0;
    const positions: number[] = [];
    if (isolated) positions.push(slot);
    else for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) if (v.posMode[j] === MODE_CROSS) positions.push(j);
    let equity = isolated ? v.posMargin[slot] : v.accBalance[a];
    let maintenance = 0n;
    const maint = new Map<number, bigint>();
    for (const j of positions) {
      const i = v.posInst[j];
      equity += unrealizedPnl(this.engine, j);
      const m = this.maintenance(i, this.engine.units.notional(i, v.posSize[j], marks[i]));
      maint.set(j, m);
      maintenance += m;
    }
    const status = isolated ? v.posStatus[slot] : v.accStatus[a];
    // The engine's status and these figures must agree (docs/domain.md §2).
    const failing = maintenance > 0n && equity < maintenance;
    const bankrupt = failing && equity < 0n;
    if (!failing || (status === STATUS_BANKRUPT) !== bankrupt) return null;
    const plan: LiquidationPlan = { account: a, isolated, instrument: isolated ? v.posInst[slot] : -1, status, equity, maintenance, full: true, closes: [] };
    const closeOf = (j: number, closing: bigint): PlannedClose => ({ slot: j, instrument: v.posInst[j], isolated: v.posMode[j] === MODE_ISOLATED, size: v.posSize[j], closing });
    // A position of size 0 (a book may hold one: its funding owed and cost still count above) has nothing to close.
    const open = positions.filter((j) => v.posSize[j] !== 0n);
    if (rule.mode === 'full' || bankrupt) {
      for (const j of open) plan.closes.push(closeOf(j, abs(v.posSize[j])));
      return plan;
    }
    // Partial: the largest maintenance first.
    const order = [...open].sort((x, y) => (maint.get(y)! > maint.get(x)! ? 1 : maint.get(y)! < maint.get(x)! ? -1 : x - y));
    let left = maintenance;
    let fee = 0n;
    for (const j of order) {
      const i = v.posInst[j];
      const size = abs(v.posSize[j]);
      const lot = this.engine.instruments[i].lotUnits;
      const sign = v.posSize[j] < 0n ? -1n : 1n;
      const units = this.engine.units;
      const mark = marks[i];
      // The notional of `closing` units of the position at the mark: the magnitude of its value (docs/numbers.md).
      const notionalOf = (closing: bigint): bigint => units.notional(i, sign * closing, mark);
      const others = left - maint.get(j)!;
      const enough = (closing: bigint): boolean => {
        const rest = this.maintenance(i, notionalOf(size - closing));
        const charged = fee + (notionalOf(closing) * rule.feePpm) / PPM;
        return (equity - charged) * PPM >= (PPM + rule.bufferPpm) * (others + rest);
      };
      if (!enough(size)) {
        plan.closes.push(closeOf(j, size));
        fee += (notionalOf(size) * rule.feePpm) / PPM;
        left = others;
        continue;
      }
      // The least whole number of lots that is enough (enough(size) holds; more closed is never worse here).
      let lo = 0n;
      let hi = size / lot;
      while (hi - lo > 1n) {
        const mid = (lo + hi) / 2n;
        if (enough(mid * lot)) hi = mid;
        else lo = mid;
      }
      plan.closes.push(closeOf(j, hi * lot));
      plan.full = plan.closes.length === open.length && hi * lot === size;
      return plan;
    }
    return plan;
  }
}
