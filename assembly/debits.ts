// Each position's debit: cost basis + unsettled funding, the part of its unrealized PnL that does not
// move with the price (PnL = value − debit), derived once per change instead of once per sweep.

import {
  H_ACC_POS_START,
  H_ACC_POS_COUNT,
  H_POS_SIZE,
  H_POS_COST,
  H_POS_FUNDING,
  H_POS_INST,
  H_POS_DEBIT,
  CACHE_Q,
  CACHE_FUNDING,
  CACHE_STRIDE,
} from './layout';
import { column } from './header';
import { fundingOwed } from './math';

/** Writes the debit of every position of accounts [accountStart, accountEnd), with a filled cache. */
// @ts-ignore: decorator
@inline
export function writeDebits(header: usize, cache: usize, accountStart: u32, accountEnd: u32): void {
  const accPosStart = column(header, H_ACC_POS_START);
  const accPosCount = column(header, H_ACC_POS_COUNT);
  const posSize = column(header, H_POS_SIZE);
  const posCost = column(header, H_POS_COST);
  const posFunding = column(header, H_POS_FUNDING);
  const posInst = column(header, H_POS_INST);
  const posDebit = column(header, H_POS_DEBIT);
  for (let a = accountStart; a < accountEnd; a++) {
    const first = load<u32>(accPosStart + (<usize>a << 2));
    const end = first + load<u32>(accPosCount + (<usize>a << 2));
    for (let j = first; j < end; j++) {
      const j8 = <usize>j << 3;
      const c = cache + <usize>load<u16>(posInst + (<usize>j << 1)) * <usize>CACHE_STRIDE;
      const owed = fundingOwed(load<i64>(posSize + j8) * load<i64>(c + CACHE_Q), load<i64>(c + CACHE_FUNDING) - load<i64>(posFunding + j8));
      store<i64>(posDebit + j8, load<i64>(posCost + j8) + owed); // |cost| + |owed| ≤ 2·10^16
    }
  }
}
