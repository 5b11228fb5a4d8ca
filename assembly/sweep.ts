// The column sweep: accounts one by one over the book's columns (full evaluations, chunks a range
// cuts through or no refresh has laid out, Engine.chunkSweep = false), and what every sweep shares: an account's cross status,
// the counts and list entries of failing scopes, and the shard record's counters.

import { debitOf } from './debits';
import { STATUS_HEALTHY, STATUS_LIQUIDATABLE, STATUS_BANKRUPT, MODE_CROSS, MODE_ISOLATED } from './constants';
import {
  H_ACC_BALANCE,
  H_ACC_POS_START,
  H_ACC_POS_COUNT,
  H_ACC_CROSS_EQUITY,
  H_ACC_CROSS_MAINT,
  H_ACC_STATUS,
  H_POS_SIZE,
  H_POS_MARGIN,
  H_POS_INST,
  H_POS_MODE,
  H_POS_PNL,
  H_POS_MAINT,
  H_POS_STATUS,
  H_POS_BRACKET,
  SHARD_CANCEL,
  SHARD_LIST,
  SHARD_LIST_CAPACITY,
  SHARD_ACCOUNTS_DONE,
  SHARD_LIQUIDATABLE,
  SHARD_BANKRUPT,
  SHARD_LISTED,
  SHARD_COMPLETE,
  SLOT_CROSS,
  CANCEL_CHECK_ACCOUNTS,
  CACHE_STRIDE,
} from './layout';
import { column } from './header';
import { maintenanceHinted, notionalOf, valueOf } from './math';

/**
 * The counters of the shard being swept: wasm globals, so each instance (worker) has its own. Only
 * this module reads and writes them: the chunk sweep adds to them by countScopes.
 */
let shardListed: u32 = 0;
let shardLiquidatable: u32 = 0;
let shardBankrupt: u32 = 0;

/** Zeroes the shard's counters at the start of a sweep call. */
// @ts-ignore: decorator
@inline
export function resetShardCounters(): void {
  shardListed = 0;
  shardLiquidatable = 0;
  shardBankrupt = 0;
}

/** Adds failing scopes (already listed, or about to be, by appendScope) to the counts. */
// @ts-ignore: decorator
@inline
export function countScopes(liquidatable: u32, bankrupt: u32): void {
  shardLiquidatable += liquidatable;
  shardBankrupt += bankrupt;
}

/**
 * What both sweeps do once an account's positions are done: its cross status, and the counts and
 * list entries of its failing scopes (isolated ones first, in slot order, then the cross pool).
 * `isolatedFlags` is the OR of its isolated statuses: a filter, the second look recounts.
 */
// @ts-ignore: decorator
@inline
function finishAccount(
  a: u32,
  first: u32,
  end: u32,
  crossEquity: i64,
  crossMaint: i64,
  isolatedFlags: u32,
  accStatus: usize,
  posStatus: usize,
  posMode: usize,
  list: usize,
  capacity: u32,
): void {
  // Rare: an isolated scope of this account failed. Count and list them in a second look.
  if (isolatedFlags != 0) countIsolated(a, first, end, posStatus, posMode, list, capacity);
  const crossLiquidatable = crossMaint > 0 && crossEquity < crossMaint;
  const crossBankrupt = crossLiquidatable && crossEquity < 0;
  store<u8>(accStatus + a, <u8>select<u32>(STATUS_BANKRUPT, select<u32>(STATUS_LIQUIDATABLE, STATUS_HEALTHY, crossLiquidatable), crossBankrupt));
  shardLiquidatable += <u32>crossLiquidatable;
  shardBankrupt += <u32>crossBankrupt;
  if (list != 0 && crossLiquidatable) appendScope(list, capacity, a, SLOT_CROSS);
}

/**
 * Counts and lists account a's failing isolated scopes, in slot order. Only isolated slots have a
 * status of their own: a cross slot's byte (which the chunk sweep does not write) is never read as one.
 */
// @ts-ignore: decorator
@inline
export function countIsolated(a: u32, first: u32, end: u32, posStatus: usize, posMode: usize, list: usize, capacity: u32): void {
  for (let j = first; j < end; j++) {
    const status = select<u32>(<u32>load<u8>(posStatus + j), STATUS_HEALTHY, load<u8>(posMode + j) == MODE_ISOLATED);
    shardLiquidatable += <u32>(status != STATUS_HEALTHY);
    shardBankrupt += <u32>(status == STATUS_BANKRUPT);
    if (list != 0 && status != STATUS_HEALTHY) appendScope(list, capacity, a, j);
  }
}

/** Lists a failing scope while the list has room; counts it either way (the gatherer scans on overflow). */
// @ts-ignore: decorator
@inline
export function appendScope(list: usize, capacity: u32, a: u32, slot: u32): void {
  if (shardListed < capacity) {
    const entry = list + (<usize>shardListed << 3);
    store<u32>(entry, a);
    store<u32>(entry, slot, 4);
  }
  shardListed++;
}

/** Completes the shard record's outputs at the end of a sweep call; returns the liquidatable count. */
// @ts-ignore: decorator
@inline
export function writeShardCounters(shard: usize, done: u32, accountEnd: u32, capacity: u32): u32 {
  store<u32>(shard + SHARD_ACCOUNTS_DONE, done);
  store<u32>(shard + SHARD_LIQUIDATABLE, shardLiquidatable);
  store<u32>(shard + SHARD_BANKRUPT, shardBankrupt);
  store<u32>(shard + SHARD_LISTED, min<u32>(shardListed, capacity));
  store<u32>(shard + SHARD_COMPLETE, <u32>(done == accountEnd));
  return shardLiquidatable;
}

/** Sweeps accounts [accountStart, accountEnd) account by account; returns where it stopped. */
// @ts-ignore: decorator
@inline
export function sweepRange(header: usize, accountStart: u32, accountEnd: u32, shard: usize, cache: usize, full: bool): u32 {
  const accBalance = column(header, H_ACC_BALANCE);
  const accPosStart = column(header, H_ACC_POS_START);
  const accPosCount = column(header, H_ACC_POS_COUNT);
  const accCrossEquity = column(header, H_ACC_CROSS_EQUITY);
  const accCrossMaint = column(header, H_ACC_CROSS_MAINT);
  const accStatus = column(header, H_ACC_STATUS);
  const posSize = column(header, H_POS_SIZE);
  const posMargin = column(header, H_POS_MARGIN);
  const posInst = column(header, H_POS_INST);
  const posMode = column(header, H_POS_MODE);
  const posPnl = column(header, H_POS_PNL);
  const posMaint = column(header, H_POS_MAINT);
  const posStatus = column(header, H_POS_STATUS);
  const posBracket = column(header, H_POS_BRACKET);

  const cancel = <usize>load<u32>(shard + SHARD_CANCEL);
  const list = <usize>load<u32>(shard + SHARD_LIST);
  const capacity: u32 = list == 0 ? 0 : load<u32>(shard + SHARD_LIST_CAPACITY);
  let a = accountStart;
  while (a < accountEnd) {
    if (cancel != 0 && atomic.load<i32>(cancel) != 0) break;
    const blockEnd = min<u32>(accountEnd, a + CANCEL_CHECK_ACCOUNTS);
    for (; a < blockEnd; a++) {
      const a8 = <usize>a << 3;
      const a4 = <usize>a << 2;
      const first = load<u32>(accPosStart + a4);
      const end = first + load<u32>(accPosCount + a4);
      let crossEquity = load<i64>(accBalance + a8);
      let crossMaint: i64 = 0;
      let isolatedFlags: u32 = 0; // OR of the isolated statuses: non-zero when one failed
      for (let j = first; j < end; j++) {
        const j8 = <usize>j << 3;
        const c = cache + <usize>load<u16>(posInst + (<usize>j << 1)) * <usize>CACHE_STRIDE;
        const value = valueOf(load<i64>(posSize + j8), c); // |value| ≤ 10^16
        const pnl = value - debitOf(header, c, j);
        const maint = maintenanceHinted(notionalOf(value, load<i64>(posSize + j8)), c, posBracket + j);
        if (full) {
          store<i64>(posPnl + j8, pnl);
          store<i64>(posMaint + j8, maint);
        }
        const cross = load<u8>(posMode + j) == MODE_CROSS;
        crossEquity += select<i64>(pnl, 0, cross);
        crossMaint += select<i64>(maint, 0, cross);
        const equity = load<i64>(posMargin + j8) + pnl;
        const status = select<u32>(
          0,
          select<u32>(STATUS_BANKRUPT, select<u32>(STATUS_LIQUIDATABLE, STATUS_HEALTHY, equity < maint), equity < 0),
          cross,
        );
        store<u8>(posStatus + j, <u8>status);
        isolatedFlags |= status;
      }
      store<i64>(accCrossEquity + a8, crossEquity);
      store<i64>(accCrossMaint + a8, crossMaint);
      finishAccount(a, first, end, crossEquity, crossMaint, isolatedFlags, accStatus, posStatus, posMode, list, capacity);
    }
  }
  return a;
}
