// The data plane: evaluates accounts [accountStart, accountEnd) of the book described by the header
// at `header`. It reads inputs and writes outputs in place, allocates nothing and keeps no state in
// linear memory, so any number of instances may run disjoint ranges over one shared memory.
// The rules are docs/numbers.md; src/reference/ is the BigInt twin the tests hold this to.
//
// The sweep is written without data-dependent branches where it can be (selects instead of ifs, a
// branchless bracket search over a padded tier table): on a real book, modes, signs and brackets
// are random from one position to the next, and each mispredicted branch costs more than the
// arithmetic it skips. The branches left are loop-invariant or almost never taken (a product that
// needs 128 bits).

import {
  SCALE_6,
  PRICE_UNITS_MAX,
  TIERS_MAX,
  STATUS_HEALTHY,
  STATUS_LIQUIDATABLE,
  STATUS_BANKRUPT,
  MODE_CROSS,
  PRICE_NONE,
} from './constants';
import {
  column,
  H_INST_MARK,
  H_INST_FUNDING,
  H_INST_Q,
  H_INST_TICK,
  H_INST_TIER_COUNT,
  H_TIER_FLOOR,
  H_TIER_RATE,
  H_TIER_CUM_LO,
  H_TIER_CUM_HI,
  H_ACC_BALANCE,
  H_ACC_POS_START,
  H_ACC_POS_COUNT,
  H_ACC_CROSS_EQUITY,
  H_ACC_CROSS_MAINT,
  H_ACC_STATUS,
  H_POS_SIZE,
  H_POS_COST,
  H_POS_MARGIN,
  H_POS_FUNDING,
  H_POS_INST,
  H_POS_MODE,
  H_POS_PNL,
  H_POS_MAINT,
  H_POS_STATUS,
  H_POS_DEBIT,
  H_POS_BRACKET,
  H_POS_ACCOUNT,
  SHARD_CANCEL,
  SHARD_LIST,
  SHARD_LIST_CAPACITY,
  SHARD_ACCOUNTS_DONE,
  SHARD_LIQUIDATABLE,
  SHARD_BANKRUPT,
  SHARD_LISTED,
  SHARD_COMPLETE,
  SHARD_CACHE,
  SLOT_CROSS,
  CANCEL_CHECK_ACCOUNTS,
  CACHE_FLOORS,
  CACHE_UNIT,
  CACHE_Q,
  CACHE_FUNDING,
  CACHE_TIERS,
  CACHE_TIER_BYTES,
  CACHE_STRIDE,
} from './layout';
import { mulWide, divWideSmall, divWide, wideHi, wideRem, wideLessOrEqual } from './wide';

// The benchmark's memory-bandwidth baseline runs in the same module, over the same memory.
export { streamRead, streamReadScalar } from './bandwidth';


/** Sweep flag: also write each position's unrealized PnL and maintenance (reports, operations). */
export const SWEEP_FULL: u32 = 1;
/**
 * Sweep flag, set by the control plane when the layout is compact: every account's block starts
 * where the previous one ends (posStart is the running sum of the counts), and every slot in use
 * names its account in posAccount. The sweep then walks positions rather than accounts, with no
 * branch on where an account ends: with a few positions per account, that branch is mispredicted
 * about once per account and costs more than the position's arithmetic.
 */
export const SWEEP_COMPACT: u32 = 2;

/** The first byte JavaScript may use for the book: everything below belongs to the module. */
export function heapBase(): usize {
  return __heap_base;
}

/** 2^44: below it, notional·rate (rate < 2^20) fits 64 bits. */
const NOTIONAL_NARROW: u64 = 1 << 44;

/**
 * Writes the shard's instrument cache (assembly/layout.ts CACHE_*) from the instrument and tier
 * columns: per instrument its floors, q·mark, q, funding index and tier parameters side by side.
 */
function fillCache(header: usize, cache: usize): void {
  const count = load<u32>(header); // slot H_INSTRUMENT_COUNT holds the count itself
  const instMark = column(header, H_INST_MARK);
  const instFunding = column(header, H_INST_FUNDING);
  const instQ = column(header, H_INST_Q);
  const tierFloor = column(header, H_TIER_FLOOR);
  const tierRate = column(header, H_TIER_RATE);
  const tierCumLo = column(header, H_TIER_CUM_LO);
  const tierCumHi = column(header, H_TIER_CUM_HI);
  for (let i: usize = 0; i < <usize>count; i++) {
    const c = cache + i * <usize>CACHE_STRIDE;
    const q = load<i64>(instQ + (i << 3));
    store<i64>(c + CACHE_UNIT, q * load<i64>(instMark + (i << 3)));
    store<i64>(c + CACHE_Q, q);
    store<i64>(c + CACHE_FUNDING, load<i64>(instFunding + (i << 3)));
    store<i64>(c + CACHE_FLOORS + (<usize>TIERS_MAX << 3), i64.MAX_VALUE); // floor_16: above everything
    for (let k: usize = 0; k < <usize>TIERS_MAX; k++) {
      const cell = (i * <usize>TIERS_MAX + k) << 3;
      const tier = c + CACHE_TIERS + k * <usize>CACHE_TIER_BYTES;
      store<i64>(c + CACHE_FLOORS + (k << 3), load<i64>(tierFloor + cell));
      store<u64>(tier, load<u64>(tierRate + cell));
      store<u64>(tier, load<u64>(tierCumLo + cell), 8);
      store<u64>(tier, load<u64>(tierCumHi + cell), 16);
    }
  }
}

/**
 * Bracket of a notional: the largest k with floor_k < notional, i.e. the number of floors 1..15
 * below it. Unused tiers are padded with floors of i64.MAX by the control plane, so eight 2-lane
 * comparisons over all 16 floors count it with no branch and no dependency between the loads.
 */
// @ts-ignore: decorator
@inline
function bracketOf(notional: u64, floors: usize): usize {
  const n = i64x2.splat(<i64>notional);
  // floor_0 = 0 is below every notional but 0: count it with the rest and take it off after.
  let count = i64x2.gt_s(n, v128.load(floors));
  count = i64x2.add(count, i64x2.gt_s(n, v128.load(floors, 16)));
  count = i64x2.add(count, i64x2.gt_s(n, v128.load(floors, 32)));
  count = i64x2.add(count, i64x2.gt_s(n, v128.load(floors, 48)));
  count = i64x2.add(count, i64x2.gt_s(n, v128.load(floors, 64)));
  count = i64x2.add(count, i64x2.gt_s(n, v128.load(floors, 80)));
  count = i64x2.add(count, i64x2.gt_s(n, v128.load(floors, 96)));
  count = i64x2.add(count, i64x2.gt_s(n, v128.load(floors, 112)));
  // Each lane holds minus the number of floors below the notional in its half.
  const below = -(i64x2.extract_lane(count, 0) + i64x2.extract_lane(count, 1));
  return <usize>max<i64>(below - 1, 0);
}

/** ceil((notional·r_k − cumX_k) / 10^6), the 128-bit way. */
// @ts-ignore: decorator
@noinline
function maintenanceWide(notional: u64, rate: u64, cumLo: u64, cumHi: u64): i64 {
  const productLo = mulWide(notional, rate);
  // notional·r_k ≥ cumX_k inside bracket k (MM is non-negative), so the subtraction cannot borrow past 0.
  const lo = productLo - cumLo;
  const hi = wideHi - cumHi - <u64>(productLo < cumLo);
  const quotient = divWideSmall(hi, lo, SCALE_6);
  assert(wideHi == 0); // MM ≤ notional ≤ 10^16 micro
  return <i64>quotient + <i64>(wideRem != 0);
}

/** MM(notional) = ceil((notional·r_k − cumX_k) / 10^6) in the notional's bracket; 0 for 0. */
// @ts-ignore: decorator
@inline
function maintenance(notional: u64, c: usize): i64 {
  return maintenanceInBracket(notional, c, bracketOf(notional, c + CACHE_FLOORS));
}

/**
 * MM with the bracket the last sweep found for this position at `hint`: between two sweeps most
 * prices barely move, so two compares usually confirm it and the bracket count is skipped. A hint
 * that no longer fits is replaced. Results never depend on the hint, only the time taken.
 */
// @ts-ignore: decorator
@inline
function maintenanceHinted(notional: u64, c: usize, hint: usize): i64 {
  let k = <usize>load<u8>(hint);
  const floor = c + CACHE_FLOORS + (k << 3);
  if (!(notional > load<u64>(floor) && notional <= load<u64>(floor, 8))) {
    k = bracketOf(notional, c + CACHE_FLOORS);
    store<u8>(hint, <u8>k);
  }
  return maintenanceInBracket(notional, c, k);
}

// @ts-ignore: decorator
@inline
function maintenanceInBracket(notional: u64, c: usize, k: usize): i64 {
  const tier = c + CACHE_TIERS + k * <usize>CACHE_TIER_BYTES;
  const rate = load<u64>(tier);
  const cumLo = load<u64>(tier, 8);
  const cumHi = load<u64>(tier, 16);
  if (notional >= NOTIONAL_NARROW || cumHi != 0) return maintenanceWide(notional, rate, cumLo, cumHi);
  // notional < 2^44 and rate < 10^6 leave x below 1.76·10^19, room under 2^64 for the rounding term.
  return <i64>((notional * rate - cumLo + (SCALE_6 - 1)) / SCALE_6);
}

/** ceil(sizeQuote·ΔF / 10^6) when the product needs 128 bits. */
// @ts-ignore: decorator
@noinline
function fundingOwedWide(magnitudeQuote: u64, magnitudeDelta: u64, negative: bool): i64 {
  const lo = mulWide(magnitudeQuote, magnitudeDelta);
  const quotient = <i64>divWideSmall(wideHi, lo, SCALE_6);
  return negative ? -quotient : quotient + <i64>(wideRem != 0);
}

/** Funding owed = ceil(sizeQuote·ΔF / 10^6): toward +∞, against the account. */
// @ts-ignore: decorator
@inline
function fundingOwed(sizeQuote: i64, fundingDelta: i64): i64 {
  const magnitudeQuote = <u64>abs<i64>(sizeQuote);
  const magnitudeDelta = <u64>abs<i64>(fundingDelta);
  const negative = (sizeQuote ^ fundingDelta) < 0;
  if ((magnitudeQuote | magnitudeDelta) >> 32 != 0) return fundingOwedWide(magnitudeQuote, magnitudeDelta, negative);
  const product = magnitudeQuote * magnitudeDelta;
  const quotient = <i64>(product / SCALE_6);
  const inexact = <i64>(product - <u64>quotient * SCALE_6 != 0);
  return select<i64>(-quotient, quotient + inexact, negative);
}

/**
 * Writes each position's debit, cost basis + unsettled funding, for accounts [accountStart,
 * accountEnd): the part of unrealized PnL that does not move with the price (PnL = value − debit).
 * The control plane calls it after anything that changes a cost, a size, a funding snapshot or a
 * funding index, so that sweeps between two such changes do no funding arithmetic at all.
 */
export function refreshDebits(header: usize, shard: usize, accountStart: u32, accountEnd: u32): void {
  const cache = <usize>load<u32>(shard + SHARD_CACHE);
  fillCache(header, cache);
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

/** The counters of the shard being swept; wasm globals, so each instance (worker) has its own. */
let shardListed: u32 = 0;
let shardLiquidatable: u32 = 0;
let shardBankrupt: u32 = 0;

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
  list: usize,
  capacity: u32,
): void {
  if (isolatedFlags != 0) {
    // Rare: an isolated scope of this account failed. Count and list them in a second look.
    for (let j = first; j < end; j++) {
      const status = <u32>load<u8>(posStatus + j);
      shardLiquidatable += <u32>(status != STATUS_HEALTHY);
      shardBankrupt += <u32>(status == STATUS_BANKRUPT);
      if (list != 0 && status != STATUS_HEALTHY) appendScope(list, capacity, a, j);
    }
  }
  const crossLiquidatable = crossMaint > 0 && crossEquity < crossMaint;
  const crossBankrupt = crossLiquidatable && crossEquity < 0;
  store<u8>(accStatus + a, <u8>select<u32>(STATUS_BANKRUPT, select<u32>(STATUS_LIQUIDATABLE, STATUS_HEALTHY, crossLiquidatable), crossBankrupt));
  shardLiquidatable += <u32>crossLiquidatable;
  shardBankrupt += <u32>crossBankrupt;
  if (list != 0 && crossLiquidatable) appendScope(list, capacity, a, SLOT_CROSS);
}

/** Lists a failing scope while the list has room; counts it either way (the gatherer scans on overflow). */
// @ts-ignore: decorator
@inline
function appendScope(list: usize, capacity: u32, a: u32, slot: u32): void {
  if (shardListed < capacity) {
    const entry = list + (<usize>shardListed << 3);
    store<u32>(entry, a);
    store<u32>(entry, slot, 4);
  }
  shardListed++;
}

// @ts-ignore: decorator
@inline
function writeShardCounters(shard: usize, done: u32, accountEnd: u32, capacity: u32): void {
  store<u32>(shard + SHARD_ACCOUNTS_DONE, done);
  store<u32>(shard + SHARD_LIQUIDATABLE, shardLiquidatable);
  store<u32>(shard + SHARD_BANKRUPT, shardBankrupt);
  store<u32>(shard + SHARD_LISTED, min<u32>(shardListed, capacity));
  store<u32>(shard + SHARD_COMPLETE, <u32>(done == accountEnd));
}

/**
 * Evaluates the scopes of accounts [accountStart, accountEnd): each account's cross equity,
 * maintenance and status, each isolated position's status, and with SWEEP_FULL each position's
 * unrealized PnL and maintenance. Returns the number of liquidatable scopes.
 *
 * `shard` is a shard record (assembly/layout.ts SHARD_*): its instrument cache is scratch for this
 * call; with a cancel flag the kernel stops at the next multiple of CANCEL_CHECK_ACCOUNTS once the
 * flag is set; with a list it appends each liquidatable scope while there is room; it always gets
 * the counters.
 */
export function sweep(header: usize, accountStart: u32, accountEnd: u32, flags: u32, shard: usize): u32 {
  const cache = <usize>load<u32>(shard + SHARD_CACHE);
  fillCache(header, cache);
  // The same rules walked two ways: positions-major for a compact book, account by account otherwise.
  if ((flags & SWEEP_COMPACT) != 0) sweepCompact(header, accountStart, accountEnd, shard, cache, (flags & SWEEP_FULL) != 0);
  else sweepRange(header, accountStart, accountEnd, shard, cache, (flags & SWEEP_FULL) != 0);
  return load<u32>(shard + SHARD_LIQUIDATABLE);
}

// @ts-ignore: decorator
@inline
function sweepRange(header: usize, accountStart: u32, accountEnd: u32, shard: usize, cache: usize, full: bool): void {
  const accBalance = column(header, H_ACC_BALANCE);
  const accPosStart = column(header, H_ACC_POS_START);
  const accPosCount = column(header, H_ACC_POS_COUNT);
  const accCrossEquity = column(header, H_ACC_CROSS_EQUITY);
  const accCrossMaint = column(header, H_ACC_CROSS_MAINT);
  const accStatus = column(header, H_ACC_STATUS);
  const posSize = column(header, H_POS_SIZE);
  const posDebit = column(header, H_POS_DEBIT);
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
  shardListed = 0;
  shardLiquidatable = 0;
  shardBankrupt = 0;
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
        const value = load<i64>(posSize + j8) * load<i64>(c + CACHE_UNIT); // |size|·q·mark ≤ 10^16
        const pnl = value - load<i64>(posDebit + j8);
        const maint = maintenanceHinted(<u64>abs<i64>(value), c, posBracket + j);
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
      finishAccount(a, first, end, crossEquity, crossMaint, isolatedFlags, accStatus, posStatus, list, capacity);
    }
  }
  writeShardCounters(shard, a, accountEnd, capacity);
}

/**
 * The sweep over a compact layout, CANCEL_CHECK_ACCOUNTS accounts at a time, in two passes per
 * block. Pass 1 walks the block's positions in slot order: each adds to running sums that restart
 * (by a select) at the first position of its account, and stores them to that account every time,
 * so the last position leaves the account's totals; the OR of its isolated statuses goes to
 * accStatus for now. Pass 2 walks the block's accounts: an account without positions gets its
 * balance, then each account's cross status, counts and list entries, as sweepRange makes them.
 */
// @ts-ignore: decorator
@inline
function sweepCompact(header: usize, accountStart: u32, accountEnd: u32, shard: usize, cache: usize, full: bool): void {
  const accBalance = column(header, H_ACC_BALANCE);
  const accPosStart = column(header, H_ACC_POS_START);
  const accPosCount = column(header, H_ACC_POS_COUNT);
  const accCrossEquity = column(header, H_ACC_CROSS_EQUITY);
  const accCrossMaint = column(header, H_ACC_CROSS_MAINT);
  const accStatus = column(header, H_ACC_STATUS);
  const posSize = column(header, H_POS_SIZE);
  const posDebit = column(header, H_POS_DEBIT);
  const posMargin = column(header, H_POS_MARGIN);
  const posInst = column(header, H_POS_INST);
  const posMode = column(header, H_POS_MODE);
  const posPnl = column(header, H_POS_PNL);
  const posMaint = column(header, H_POS_MAINT);
  const posStatus = column(header, H_POS_STATUS);
  const posBracket = column(header, H_POS_BRACKET);
  const posAccount = column(header, H_POS_ACCOUNT);

  const cancel = <usize>load<u32>(shard + SHARD_CANCEL);
  const list = <usize>load<u32>(shard + SHARD_LIST);
  const capacity: u32 = list == 0 ? 0 : load<u32>(shard + SHARD_LIST_CAPACITY);
  shardListed = 0;
  shardLiquidatable = 0;
  shardBankrupt = 0;
  let a = accountStart;
  while (a < accountEnd) {
    if (cancel != 0 && atomic.load<i32>(cancel) != 0) break;
    const blockEnd = min<u32>(accountEnd, a + CANCEL_CHECK_ACCOUNTS);
    // Pass 1: the positions of accounts [a, blockEnd), contiguous in a compact layout.
    const slotStart = load<u32>(accPosStart + (<usize>a << 2));
    const slotEnd = load<u32>(accPosStart + (<usize>(blockEnd - 1) << 2)) + load<u32>(accPosCount + (<usize>(blockEnd - 1) << 2));
    let owner: u32 = 0xffff_ffff;
    let crossEquity: i64 = 0;
    let crossMaint: i64 = 0;
    let isolatedFlags: u32 = 0;
    for (let j = slotStart; j < slotEnd; j++) {
      const j8 = <usize>j << 3;
      const account = load<u32>(posAccount + (<usize>j << 2));
      const first = account != owner;
      owner = account;
      const c = cache + <usize>load<u16>(posInst + (<usize>j << 1)) * <usize>CACHE_STRIDE;
      const value = load<i64>(posSize + j8) * load<i64>(c + CACHE_UNIT); // |size|·q·mark ≤ 10^16
      const pnl = value - load<i64>(posDebit + j8);
      const maint = maintenanceHinted(<u64>abs<i64>(value), c, posBracket + j);
      if (full) {
        store<i64>(posPnl + j8, pnl);
        store<i64>(posMaint + j8, maint);
      }
      const cross = load<u8>(posMode + j) == MODE_CROSS;
      const equity = load<i64>(posMargin + j8) + pnl;
      const status = select<u32>(
        0,
        select<u32>(STATUS_BANKRUPT, select<u32>(STATUS_LIQUIDATABLE, STATUS_HEALTHY, equity < maint), equity < 0),
        cross,
      );
      store<u8>(posStatus + j, <u8>status);
      const a8 = <usize>account << 3;
      crossEquity = select<i64>(load<i64>(accBalance + a8), crossEquity, first) + select<i64>(pnl, 0, cross);
      crossMaint = select<i64>(0, crossMaint, first) + select<i64>(maint, 0, cross);
      // Only a filter for pass 2's second look, which recounts from posStatus: a flag left set
      // would cost time, never a figure.
      isolatedFlags = select<u32>(0, isolatedFlags, first) | status;
      store<i64>(accCrossEquity + a8, crossEquity);
      store<i64>(accCrossMaint + a8, crossMaint);
      store<u8>(accStatus + <usize>account, <u8>isolatedFlags);
    }
    // Pass 2: each account's cross status, counts and list entries.
    for (; a < blockEnd; a++) {
      const a8 = <usize>a << 3;
      const count = load<u32>(accPosCount + (<usize>a << 2));
      let crossEquity = load<i64>(accCrossEquity + a8);
      let crossMaint = load<i64>(accCrossMaint + a8);
      let isolatedFlags = <u32>load<u8>(accStatus + a);
      if (count == 0) {
        crossEquity = load<i64>(accBalance + a8);
        crossMaint = 0;
        isolatedFlags = 0;
        store<i64>(accCrossEquity + a8, crossEquity);
        store<i64>(accCrossMaint + a8, crossMaint);
      }
      const firstSlot = load<u32>(accPosStart + (<usize>a << 2));
      finishAccount(a, firstSlot, firstSlot + count, crossEquity, crossMaint, isolatedFlags, accStatus, posStatus, list, capacity);
    }
  }
  writeShardCounters(shard, a, accountEnd, capacity);
}

/**
 * Liquidation and bankruptcy prices of every position of the `count` accounts listed (u32 account
 * indices) at `accounts`, written in order as i64 pairs (liquidation, bankruptcy; 0 = none) at
 * `out`: the listed accounts' positions, account after account. Self-contained: it evaluates each
 * listed account itself and needs no sweep before it; `shard` lends its instrument cache.
 * Returns the number of pairs written.
 */
export function prices(header: usize, shard: usize, accounts: usize, count: u32, out: usize): u32 {
  const cache = <usize>load<u32>(shard + SHARD_CACHE);
  fillCache(header, cache);
  const instTick = column(header, H_INST_TICK);
  const instTierCount = column(header, H_INST_TIER_COUNT);
  const accBalance = column(header, H_ACC_BALANCE);
  const accPosStart = column(header, H_ACC_POS_START);
  const accPosCount = column(header, H_ACC_POS_COUNT);
  const posSize = column(header, H_POS_SIZE);
  const posDebit = column(header, H_POS_DEBIT);
  const posMargin = column(header, H_POS_MARGIN);
  const posInst = column(header, H_POS_INST);
  const posMode = column(header, H_POS_MODE);

  let written: u32 = 0;
  for (let k: u32 = 0; k < count; k++) {
    const a = load<u32>(accounts + (<usize>k << 2));
    const first = load<u32>(accPosStart + (<usize>a << 2));
    const end = first + load<u32>(accPosCount + (<usize>a << 2));
    // First pass: the cross pool's equity and maintenance.
    let crossEquity = load<i64>(accBalance + (<usize>a << 3));
    let crossMaint: i64 = 0;
    for (let j = first; j < end; j++) {
      if (load<u8>(posMode + j) != MODE_CROSS) continue;
      const j8 = <usize>j << 3;
      const c = cache + <usize>load<u16>(posInst + (<usize>j << 1)) * <usize>CACHE_STRIDE;
      const value = load<i64>(posSize + j8) * load<i64>(c + CACHE_UNIT);
      crossEquity += value - load<i64>(posDebit + j8);
      crossMaint += maintenance(<u64>abs<i64>(value), c);
    }
    // Second pass: each position's prices, every other price of its scope held.
    for (let j = first; j < end; j++) {
      const pair = out + (<usize>written << 4);
      written++;
      const j8 = <usize>j << 3;
      const size = load<i64>(posSize + j8);
      if (size == 0) {
        store<i64>(pair, PRICE_NONE);
        store<i64>(pair, PRICE_NONE, 8);
        continue;
      }
      const inst = <usize>load<u16>(posInst + (<usize>j << 1));
      const c = cache + inst * <usize>CACHE_STRIDE;
      const value = size * load<i64>(c + CACHE_UNIT);
      const pnl = value - load<i64>(posDebit + j8);
      const notional = <u64>abs<i64>(value);
      const maint = maintenance(notional, c);
      let scopeEquity: i64;
      let othersMaint: i64;
      if (load<u8>(posMode + j) == MODE_CROSS) {
        scopeEquity = crossEquity;
        othersMaint = crossMaint - maint;
      } else {
        scopeEquity = load<i64>(posMargin + j8) + pnl;
        othersMaint = 0;
      }
      // The scope's equity if this price were zero: equity(p) = equityAtZero + sizeQuote·p.
      const sizeQuote = size * load<i64>(c + CACHE_Q);
      const equityAtZero = scopeEquity - value;
      const tick = load<i64>(instTick + (inst << 3));
      const tierCount = load<i32>(instTierCount + (inst << 2));
      const start = <i32>bracketOf(notional, c + CACHE_FLOORS);
      store<i64>(pair, liquidationPrice(sizeQuote, equityAtZero - othersMaint, tick, c, tierCount, start));
      store<i64>(pair, bankruptcyPrice(sizeQuote, equityAtZero, tick), 8);
    }
  }
  return written;
}

/**
 * The tick nearest the mark at which the scope is liquidatable (docs/numbers.md). `slack` is
 * E0 − MMo. The scope is liquidatable at p ⇔ 10^6·(slack + sizeQuote·p) < max_k(|sizeQuote|·p·r_k − cumX_k).
 */
function liquidationPrice(sizeQuote: i64, slack: i64, tick: i64, c: usize, tierCount: i32, start: i32): i64 {
  const long = sizeQuote > 0;
  // 10^6·slack as a two's-complement 128-bit value; the long's numerator uses −slack.
  const slackSigned = long ? -slack : slack; // |slack| < 2^63 by the validated ranges
  const slackLo = mulWide(<u64>abs<i64>(slackSigned), SCALE_6);
  let baseHi = wideHi;
  let baseLo = slackLo;
  if (slackSigned < 0) {
    baseLo = ~baseLo + 1;
    baseHi = ~baseHi + <u64>(baseLo == 0);
  }
  // numerator_k = base ∓ cumX_k (long: −10^6·slack − cumX_k; short: 10^6·slack + cumX_k);
  // the root's notional is numerator_k / (10^6 ∓ r_k). Walk to the bracket that contains it.
  let k = start;
  let numHi: u64 = 0;
  let numLo: u64 = 0;
  let denominator: u64 = 0;
  for (let steps = 0; steps <= tierCount; steps++) {
    const tier = c + CACHE_TIERS + <usize>k * <usize>CACHE_TIER_BYTES;
    const floor = c + CACHE_FLOORS + (<usize>k << 3);
    const rate = load<u64>(tier);
    const cumLo = load<u64>(tier, 8);
    const cumHi = load<u64>(tier, 16);
    if (long) {
      numLo = baseLo - cumLo;
      numHi = baseHi - cumHi - <u64>(baseLo < cumLo);
      denominator = SCALE_6 - rate;
    } else {
      numLo = baseLo + cumLo;
      numHi = baseHi + cumHi + <u64>(numLo < baseLo);
      denominator = SCALE_6 + rate;
    }
    const negative = <i64>numHi < 0;
    if (k > 0) {
      // Down while the root's notional ≤ floor_k (a negative numerator is below every floor).
      const floorLo = mulWide(load<u64>(floor), denominator);
      if (negative || wideLessOrEqual(numHi, numLo, wideHi, floorLo)) {
        k--;
        continue;
      }
    }
    if (k + 1 < tierCount && !negative) {
      const upperLo = mulWide(load<u64>(floor, 8), denominator);
      if (!wideLessOrEqual(numHi, numLo, wideHi, upperLo)) {
        k++;
        continue;
      }
    }
    break;
  }
  const negative = <i64>numHi < 0;
  const magnitude = <u64>abs<i64>(sizeQuote);
  if (long) {
    // root = num / (|sq|·(10^6 − r)); report the highest tick strictly below it.
    if (negative || (numHi == 0 && numLo == 0)) return PRICE_NONE;
    let lo = divWideSmall(numHi, numLo, denominator);
    let hi = wideHi;
    if (wideRem != 0) {
      lo += 1;
      hi += <u64>(lo == 0);
    }
    if (hi >= magnitude) return PRICE_NONE; // root ≥ 2^64 price units: beyond every price
    let root = divWide(hi, lo, magnitude);
    root += <u64>(wideRem != 0); // ceil(root)
    const ticks = <i64>(root / <u64>tick) + <i64>(root % <u64>tick != 0) - 1;
    if (ticks <= 0 || ticks > PRICE_UNITS_MAX / tick) return PRICE_NONE;
    return ticks * tick;
  }
  // Short: root = num / (|sq|·(10^6 + r)); report the lowest tick strictly above it.
  if (negative) return PRICE_NONE; // liquidatable at every price
  const lo = divWideSmall(numHi, numLo, denominator);
  const hi = wideHi;
  if (hi >= magnitude) return PRICE_NONE; // root ≥ 2^64: survives every price in range
  const root = divWide(hi, lo, magnitude); // floor
  const ticks = <i64>(root / <u64>tick) + 1;
  if (ticks <= 0 || ticks > PRICE_UNITS_MAX / tick) return PRICE_NONE;
  return ticks * tick;
}

/** The worst tick at which closing leaves the scope's equity ≥ 0: equityAtZero + sizeQuote·p ≥ 0. */
function bankruptcyPrice(sizeQuote: i64, equityAtZero: i64, tick: i64): i64 {
  if (sizeQuote > 0) {
    if (equityAtZero >= 0) return PRICE_NONE; // equity stays ≥ 0 down to a price of zero
    const need = <u64>-equityAtZero;
    const q = <u64>sizeQuote;
    const root = need / q + <u64>(need % q != 0); // ceil
    const ticks = <i64>(root / <u64>tick + <u64>(root % <u64>tick != 0)); // ceil
    return ticks > PRICE_UNITS_MAX / tick ? PRICE_NONE : ticks * tick;
  }
  if (equityAtZero < 0) return PRICE_NONE; // bankrupt at every price
  const root = <u64>equityAtZero / <u64>-sizeQuote; // floor
  const ticks = <i64>(root / <u64>tick); // floor
  return ticks <= 0 || ticks > PRICE_UNITS_MAX / tick ? PRICE_NONE : ticks * tick;
}
