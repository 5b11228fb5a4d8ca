// Each position's debit: cost basis + unsettled funding, the part of its unrealized PnL that does not
// move with the price (PnL = value − debit). The chunk sweep's records hold what the debits feed
// (cross bases, isolated thresholds), derived once per change; the column paths compute them.

import {
  H_ACC_POS_START,
  H_ACC_POS_COUNT,
  H_POS_SIZE,
  H_POS_COST,
  H_POS_FUNDING,
  H_POS_INST,
  CACHE_Q,
  CACHE_FUNDING,
  CACHE_STRIDE,
} from './layout';
import { column } from './header';
import { fundingOwed } from './math';
import { mulWide, divWideSmall, wideHi, wideRem } from './wide';
import { SCALE_6, QUOTE_ABS_MAX } from './constants';
import { H_INST_Q, H_INST_FUNDING, H_ACCOUNT_COUNT, H_INSTRUMENT_COUNT } from './layout';
import { headerValue } from './header';

/**
 * The debit of a position of size `size`, cost basis `cost` and funding snapshot `snapshot` on the
 * instrument cached at `c`: cost + ceil(z·q·(F − F_i) / 10^6).
 */
// @ts-ignore: decorator
@inline
export function positionDebit(c: usize, size: i64, cost: i64, snapshot: i64): i64 {
  const owed = fundingOwed(size * load<i64>(c + CACHE_Q), load<i64>(c + CACHE_FUNDING) - snapshot);
  return cost + owed; // |cost| + |owed| ≤ 2·10^16
}

/**
 * Position j's debit, from its columns and the instrument cached at `c` (its instrument's entry):
 * computed where it is needed (no column keeps it, so nothing goes stale when a funding index moves).
 */
// @ts-ignore: decorator
@inline
export function debitOf(header: usize, c: usize, j: u32): i64 {
  const j8 = <usize>j << 3;
  return positionDebit(c, load<i64>(column(header, H_POS_SIZE) + j8), load<i64>(column(header, H_POS_COST) + j8), load<i64>(column(header, H_POS_FUNDING) + j8));
}

// The range check's shortcut: a product z·q·ΔF that fits 64 bits is within QUOTE_ABS_MAX·10^6.
if (QUOTE_ABS_MAX <= u64.MAX_VALUE / SCALE_6) ERROR('a 64-bit funding product must be within QUOTE_ABS_MAX·10^6');

/**
 * Per instrument, the least and the greatest funding snapshot (F_i) of its positions and its funding
 * index, as two i64 at `out + 16·i`: one pass over the positions of the book's accounts.
 */
export function writeFundingSnapshotBounds(header: usize, out: usize): void {
  const instruments = headerValue(header, H_INSTRUMENT_COUNT);
  const instFunding = column(header, H_INST_FUNDING);
  for (let i: u32 = 0; i < instruments; i++) {
    const index = load<i64>(instFunding + (<usize>i << 3));
    store<i64>(out + (<usize>i << 4), index);
    store<i64>(out + (<usize>i << 4), index, 8);
  }
  const accounts = headerValue(header, H_ACCOUNT_COUNT);
  const accPosStart = column(header, H_ACC_POS_START);
  const accPosCount = column(header, H_ACC_POS_COUNT);
  const posFunding = column(header, H_POS_FUNDING);
  const posInst = column(header, H_POS_INST);
  for (let a: u32 = 0; a < accounts; a++) {
    const first = load<u32>(accPosStart + (<usize>a << 2));
    const end = first + load<u32>(accPosCount + (<usize>a << 2));
    for (let j = first; j < end; j++) {
      const at = out + (<usize>load<u16>(posInst + (<usize>j << 1)) << 4);
      const snapshot = load<i64>(posFunding + (<usize>j << 3));
      store<i64>(at, min<i64>(load<i64>(at), snapshot));
      store<i64>(at, max<i64>(load<i64>(at, 8), snapshot), 8);
    }
  }
}

/** See index.ts fundingOutOfRange: the first account (+1) whose funding owed at `fundingIndex` is out of range. */
export function firstFundingOutOfRange(header: usize, instrument: u32, fundingIndex: i64): u32 {
  const accounts = headerValue(header, H_ACCOUNT_COUNT);
  const accPosStart = column(header, H_ACC_POS_START);
  const accPosCount = column(header, H_ACC_POS_COUNT);
  const posSize = column(header, H_POS_SIZE);
  const posFunding = column(header, H_POS_FUNDING);
  const posInst = column(header, H_POS_INST);
  const q = load<i64>(column(header, H_INST_Q) + (<usize>instrument << 3));
  for (let a: u32 = 0; a < accounts; a++) {
    const first = load<u32>(accPosStart + (<usize>a << 2));
    const end = first + load<u32>(accPosCount + (<usize>a << 2));
    for (let j = first; j < end; j++) {
      if (<u32>load<u16>(posInst + (<usize>j << 1)) != instrument) continue;
      // |z·q| ≤ 10^16 (its notional is in range at a mark ≥ 1) and |F − F_i| ≤ 2·10^18: 128 bits.
      const sizeQuote = <u64>abs<i64>(load<i64>(posSize + (<usize>j << 3)) * q);
      const delta = <u64>abs<i64>(fundingIndex - load<i64>(posFunding + (<usize>j << 3)));
      // A product that fits 64 bits is below 2^64 < 10^22: in range, with no 128-bit division.
      if (clz<u64>(sizeQuote) + clz<u64>(delta) >= 64) continue;
      const lo = mulWide(sizeQuote, delta);
      const quotient = divWideSmall(wideHi, lo, SCALE_6);
      // |z·q·ΔF| ≤ 10^16 · 10^6 exactly when the quotient is below 10^16, or equal with no remainder.
      if (wideHi != 0 || quotient > QUOTE_ABS_MAX || (quotient == QUOTE_ABS_MAX && wideRem != 0)) return a + 1;
    }
  }
  return 0;
}
