// Touch passes: loads taken ahead of work, as independent loads, so that the misses of many
// accounts are in flight at once instead of one after another (chunks.ts touchListed before a
// refresh, bounds.ts touchBounded before an incremental evaluation). Each returns a sum of what it
// loaded, for the caller to store where nothing reads it, so that the loads are kept.

import { H_POS_SIZE, H_POS_COST, H_POS_FUNDING, H_POS_MARGIN, H_POS_INST, H_POS_MODE, H_POS_STATUS, H_POS_BRACKET } from './layout';
import { column } from './header';

/**
 * The columns of position slot j that a refresh or an operation reads (a block of a few positions
 * shares their lines). Not the bracket hint, which neither reads: nothing but a sweep's hint writes
 * that column, so most of its pages are ones the process never touched, and a read of one is a page
 * fault (bench/README.md, 2026-12-04, night).
 */
// @ts-ignore: decorator
@inline
export function touchPosition(header: usize, j: usize): i64 {
  let sum = load<i64>(column(header, H_POS_SIZE) + (j << 3)) + load<i64>(column(header, H_POS_COST) + (j << 3));
  sum += load<i64>(column(header, H_POS_FUNDING) + (j << 3)) + load<i64>(column(header, H_POS_MARGIN) + (j << 3));
  sum += <i64>load<u16>(column(header, H_POS_INST) + (j << 1)) + <i64>load<u8>(column(header, H_POS_MODE) + j);
  return sum + <i64>load<u8>(column(header, H_POS_STATUS) + j);
}

/** touchPosition and the bracket hint, which an evaluation reads (maintenanceHinted). */
// @ts-ignore: decorator
@inline
export function touchEvaluated(header: usize, j: usize): i64 {
  return touchPosition(header, j) + <i64>load<u8>(column(header, H_POS_BRACKET) + j);
}
