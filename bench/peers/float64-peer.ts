// Benchmark peer 2: what a performance-minded JavaScript developer writes. The kernel's
// struct-of-arrays layout, but in float64 and human units: Float64Array columns for sizes (base),
// cost bases, margins and funding snapshots (quote), Uint16Array instrument indices, Uint8Array
// modes, per-instrument tier rows in flat Float64Arrays, and one tight loop writing Float64Array
// and Uint8Array outputs.
//
// It does the same work as the kernel's status sweep (engine.evaluate({ full: false })) over the
// same shape of data: per position PnL and maintenance (computed, not stored), a status per
// position (0 for cross ones, as the kernel writes), per account cross equity, maintenance and
// status. The tier bracket is found by a linear scan over the instrument's tiers. What it
// does not do is the kernel's exact arithmetic: no 128-bit products, no rounding to micro against
// the account, so it is faster per operation and inexact (see statuses.ts).
import type { Engine } from '../../src/engine/engine.js';
import { MODE_CROSS, MODE_ISOLATED } from '../../src/fixed/constants.js';
import { TIERS_MAX, balanceFloat, instrumentFloats, positionCount, positionFloats } from './inputs.js';
import type { PeerStatuses } from './statuses.js';

export interface Float64Book {
  accounts: number;
  positions: number;
  // Instruments, indexed by instrument; tiers by instrument·TIERS_MAX + bracket.
  instMark: Float64Array; // quote per base
  instFunding: Float64Array; // quote per base
  instTierCount: Int32Array;
  tierUpTo: Float64Array; // quote, +∞ for the last bracket
  tierRate: Float64Array; // fraction
  tierCum: Float64Array; // quote
  // Accounts: positions [accPosStart[a], accPosStart[a] + accPosCount[a]), compact and in order.
  accBalance: Float64Array; // quote
  accPosStart: Uint32Array;
  accPosCount: Uint32Array;
  // Positions (inputs)
  posSize: Float64Array; // base, signed
  posCost: Float64Array; // quote, s·e
  posMargin: Float64Array; // quote
  posFunding: Float64Array; // quote per base
  posInst: Uint16Array;
  posMode: Uint8Array; // MODE_CROSS / MODE_ISOLATED
  // Outputs (the same figures the kernel's status sweep writes)
  posStatus: Uint8Array; // 0 healthy, 1 liquidatable, 2 bankrupt; cross positions 0
  accEquity: Float64Array;
  accMaint: Float64Array;
  accStatus: Uint8Array;
}

/** Converts the engine's book into float64 columns (not timed). */
export function buildFloat64Book(engine: Engine): Float64Book {
  const v = engine.views;
  const instruments = instrumentFloats(engine);
  const n = Math.max(1, instruments.length);
  const accounts = engine.accountCount;
  const positions = positionCount(engine);
  const book: Float64Book = {
    accounts,
    positions,
    instMark: new Float64Array(n),
    instFunding: new Float64Array(n),
    instTierCount: new Int32Array(n),
    tierUpTo: new Float64Array(n * TIERS_MAX),
    tierRate: new Float64Array(n * TIERS_MAX),
    tierCum: new Float64Array(n * TIERS_MAX),
    accBalance: new Float64Array(accounts),
    accPosStart: new Uint32Array(accounts),
    accPosCount: new Uint32Array(accounts),
    posSize: new Float64Array(positions),
    posCost: new Float64Array(positions),
    posMargin: new Float64Array(positions),
    posFunding: new Float64Array(positions),
    posInst: new Uint16Array(positions),
    posMode: new Uint8Array(positions),
    posStatus: new Uint8Array(positions),
    accEquity: new Float64Array(accounts),
    accMaint: new Float64Array(accounts),
    accStatus: new Uint8Array(accounts),
  };
  instruments.forEach((instrument, i) => {
    book.instMark[i] = instrument.markPrice;
    book.instFunding[i] = instrument.fundingIndex;
    book.instTierCount[i] = instrument.tierUpTo.length;
    instrument.tierUpTo.forEach((upTo, k) => {
      book.tierUpTo[i * TIERS_MAX + k] = upTo;
      book.tierRate[i * TIERS_MAX + k] = instrument.tierRate[k];
      book.tierCum[i * TIERS_MAX + k] = instrument.tierCum[k];
    });
  });
  let k = 0;
  for (let a = 0; a < accounts; a++) {
    book.accBalance[a] = balanceFloat(engine, a);
    book.accPosStart[a] = k;
    book.accPosCount[a] = v.accPosCount[a];
    const first = v.accPosStart[a];
    for (let j = first; j < first + v.accPosCount[a]; j++, k++) {
      const p = positionFloats(engine, j);
      book.posSize[k] = p.size;
      book.posCost[k] = p.cost;
      book.posMargin[k] = p.margin;
      book.posFunding[k] = p.fundingIndex;
      book.posInst[k] = p.instrument;
      book.posMode[k] = p.isolated ? MODE_ISOLATED : MODE_CROSS;
    }
  }
  return book;
}

const CROSS = MODE_CROSS;
const HEALTHY = 0;
const LIQUIDATABLE = 1;
const BANKRUPT = 2;

/** The timed part. Returns the number of liquidatable scopes, as engine.evaluate does. */
export function evaluateFloat64(book: Float64Book): number {
  const { instMark, instFunding, instTierCount, tierUpTo, tierRate, tierCum } = book;
  const { accBalance, accPosStart, accPosCount, accEquity, accMaint, accStatus } = book;
  const { posSize, posCost, posMargin, posFunding, posInst, posMode, posStatus } = book;
  const accounts = book.accounts;
  let liquidatable = 0;
  for (let a = 0; a < accounts; a++) {
    const first = accPosStart[a];
    const end = first + accPosCount[a];
    let equity = accBalance[a];
    let maint = 0;
    for (let j = first; j < end; j++) {
      const inst = posInst[j];
      const size = posSize[j];
      const mark = instMark[inst];
      const pnl = size * mark - posCost[j] - size * (instFunding[inst] - posFunding[j]);
      const notional = Math.abs(size * mark);
      let t = inst * TIERS_MAX;
      const last = t + instTierCount[inst] - 1;
      while (t < last && notional > tierUpTo[t]) t++;
      const mm = notional * tierRate[t] - tierCum[t];
      if (posMode[j] === CROSS) {
        equity += pnl;
        maint += mm;
        posStatus[j] = HEALTHY;
      } else {
        const isolatedEquity = posMargin[j] + pnl;
        const status = isolatedEquity < 0 ? BANKRUPT : isolatedEquity < mm ? LIQUIDATABLE : HEALTHY;
        posStatus[j] = status;
        if (status !== HEALTHY) liquidatable++;
      }
    }
    accEquity[a] = equity;
    accMaint[a] = maint;
    if (maint > 0 && equity < maint) {
      accStatus[a] = equity < 0 ? BANKRUPT : LIQUIDATABLE;
      liquidatable++;
    } else {
      accStatus[a] = HEALTHY;
    }
  }
  return liquidatable;
}

/** The statuses the last evaluateFloat64 wrote, for countMismatches (views, no copy). */
export function float64Statuses(book: Float64Book): PeerStatuses {
  return { cross: book.accStatus, position: book.posStatus };
}
