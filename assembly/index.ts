// The data plane: evaluates accounts [accountStart, accountEnd) of the book described by the header
// at `header`. It reads inputs and writes outputs in place, allocates nothing and keeps no state of
// its own in linear memory (what it derives, such as the chunk sweep's records, lives in regions of
// the book's layout), so any number of instances may run disjoint ranges over one shared memory.
// The rules are docs/numbers.md; src/reference/ is the BigInt twin the tests hold this to.
//
// The sweeps are written without data-dependent branches where they can be (selects instead of
// ifs, a branchless bracket search over a padded tier table, records grouped by kind): on a real
// book, modes, signs and brackets are random from one position to the next, and each mispredicted
// branch costs more than the arithmetic it skips. The branches left are loop-invariant or almost
// never taken (a moved bracket, a product that needs 128 bits, a failing scope, a status that
// changed).

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
  H_SWEEP_RECORDS,
  H_CHUNKS,
  H_ACCOUNT_COUNT,
  SHARD_CANCEL,
  SHARD_LIST,
  SHARD_LIST_CAPACITY,
  SHARD_ACCOUNTS_DONE,
  SHARD_LIQUIDATABLE,
  SHARD_BANKRUPT,
  SHARD_LISTED,
  SHARD_COMPLETE,
  SHARD_CACHE,
  SHARD_SCRATCH,
  SLOT_CROSS,
  CANCEL_CHECK_ACCOUNTS,
  CACHE_FLOORS,
  CACHE_UNIT,
  CACHE_Q,
  CACHE_FUNDING,
  CACHE_TIERS,
  CACHE_TIER_BYTES,
  CACHE_STRIDE,
  CACHE_ENTRIES,
  CACHE_ENTRY_BYTES,
  CACHE_MARK_LONG,
  CACHE_MARK_SHORT,
  CHUNK_ACCOUNTS,
  SWEEP_BASE_BYTES,
  CROSS_RECORD_BYTES,
  ISOLATED_RECORD_BYTES,
  CHUNK_MAINT_OFFSET,
  CHUNK_SCRATCH_BYTES,
  CHUNK_META_BYTES,
  CHUNK_OFFSET,
  CHUNK_CROSS,
  CHUNK_ISOLATED,
  CHUNK_STATE,
  CHUNK_FRESH,
  CHUNK_REBUILD,
  CHUNK_UNLAID,
} from './layout';
import { mulWide, divWideSmall, divWide, wideHi, wideRem, wideLessOrEqual } from './wide';

// The benchmark's memory-bandwidth baseline runs in the same module, over the same memory.
export { streamRead, streamReadScalar } from './bandwidth';


/** Sweep flag: also write each position's unrealized PnL and maintenance (reports, operations). */
export const SWEEP_FULL: u32 = 1;
/**
 * Flag of sweep and refreshDebits, set by the control plane when the layout is compact: every
 * account's block starts where the previous one ends (posStart is the running sum of the counts).
 * refreshDebits then marks the chunks it touched stale, and a status sweep (no SWEEP_FULL) reads
 * each chunk's sweep records instead of the columns, building them first when stale: cross
 * positions as a stream of (size, account, bracket entry) with no mode branch and no account loop,
 * isolated positions as two compares of the mark with precomputed thresholds.
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
 * columns: per instrument its floors, q·mark, q, funding index and tier parameters side by side,
 * the chunk sweep's bracket entries, and the mark and −mark.
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
    fillEntries(c);
    const mark = load<i64>(instMark + (i << 3));
    store<i64>(c + CACHE_MARK_LONG, mark);
    store<i64>(c + CACHE_MARK_SHORT, -mark);
  }
}

/**
 * The bracket entries of one cached instrument: entry k accepts a notional n, in one unsigned
 * compare (n − low < width), when n is in bracket k (floor_k < n ≤ floor_k+1, or n = 0 in bracket 0)
 * and the narrow formula ceil((n·r − cumX)/10^6) is exact for it (n < 2^44 and cumX < 2^64). Any
 * other notional gets width 0 in effect and goes the exact slow way (bracketEntry, maintenanceWide).
 */
function fillEntries(c: usize): void {
  for (let k: usize = 0; k < <usize>TIERS_MAX; k++) {
    const floor = load<u64>(c + CACHE_FLOORS + (k << 3));
    const next = load<u64>(c + CACHE_FLOORS + (k << 3), 8); // floor_16 is the i64.MAX sentinel
    const tier = c + CACHE_TIERS + k * <usize>CACHE_TIER_BYTES;
    const cumLo = load<u64>(tier, 8);
    const cumHi = load<u64>(tier, 16);
    const used = floor < <u64>i64.MAX_VALUE;
    // Bracket 0 holds a notional of 0 (MM(0) = 0 needs cumX_0 = 0, which the tier rows guarantee).
    const low: u64 = k == 0 && cumLo == 0 && cumHi == 0 ? 0 : floor + 1;
    const high = min<u64>(next, NOTIONAL_NARROW - 1);
    const entry = c + CACHE_ENTRIES + k * <usize>CACHE_ENTRY_BYTES;
    store<i64>(entry, load<i64>(c + CACHE_UNIT));
    store<u64>(entry, low, 8);
    store<u64>(entry, used && cumHi == 0 && high >= low ? high - low + 1 : 0, 16);
    store<u64>(entry, load<u64>(tier), 24);
    store<u64>(entry, SCALE_6 - 1 - cumLo, 32); // wraps: n·r − cumX ≥ 0 in the bracket
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
 * With SWEEP_COMPACT (the layout is compact) it also marks every chunk holding one of those
 * accounts stale, for the next sweep to rebuild its records (in whichever worker sweeps it). The
 * control plane calls it after anything that changes a balance, a margin, a cost, a size, a mode,
 * a funding snapshot or a funding index, so that sweeps between two such changes do no funding
 * arithmetic and compare each isolated position's mark with its thresholds. Marks may move freely
 * in between: records depend on them only through bracket hints, which the sweep checks.
 */
export function refreshDebits(header: usize, shard: usize, accountStart: u32, accountEnd: u32, flags: u32): void {
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
  if ((flags & SWEEP_COMPACT) == 0 || accountStart >= accountEnd) return;
  // Count each touched chunk's records; when a count changed, lay every chunk out again.
  const accounts = load<u32>(header + (<usize>H_ACCOUNT_COUNT << 2));
  const chunks = column(header, H_CHUNKS);
  const posMode = column(header, H_POS_MODE);
  let moved = false;
  for (let chunk = accountStart / CHUNK_ACCOUNTS; chunk <= (accountEnd - 1) / CHUNK_ACCOUNTS; chunk++) {
    const c0 = chunk * CHUNK_ACCOUNTS;
    const c1 = min<u32>(accounts, c0 + CHUNK_ACCOUNTS);
    const s0 = load<u32>(accPosStart + (<usize>c0 << 2));
    const s1 = load<u32>(accPosStart + (<usize>(c1 - 1) << 2)) + load<u32>(accPosCount + (<usize>(c1 - 1) << 2));
    let cross: u32 = 0;
    for (let j = s0; j < s1; j++) cross += <u32>(load<u8>(posMode + j) == MODE_CROSS);
    const meta = chunks + <usize>chunk * <usize>CHUNK_META_BYTES;
    if (load<u32>(meta, CHUNK_CROSS) != cross || load<u32>(meta, CHUNK_ISOLATED) != s1 - s0 - cross || load<u32>(meta, CHUNK_STATE) == CHUNK_UNLAID) moved = true;
    store<u32>(meta, cross, CHUNK_CROSS);
    store<u32>(meta, s1 - s0 - cross, CHUNK_ISOLATED);
    store<u32>(meta, CHUNK_REBUILD, CHUNK_STATE);
  }
  if (!moved) return;
  // Records packed in chunk order; a chunk that moves is rebuilt, one still unlaid keeps its state.
  let offset: u32 = 0;
  const count = (accounts + CHUNK_ACCOUNTS - 1) / CHUNK_ACCOUNTS;
  for (let chunk: u32 = 0; chunk < count; chunk++) {
    const meta = chunks + <usize>chunk * <usize>CHUNK_META_BYTES;
    if (load<u32>(meta, CHUNK_STATE) == CHUNK_UNLAID) continue;
    if (load<u32>(meta, CHUNK_OFFSET) != offset) {
      store<u32>(meta, offset, CHUNK_OFFSET);
      store<u32>(meta, CHUNK_REBUILD, CHUNK_STATE);
    }
    const chunkAccounts = min<u32>(accounts - chunk * CHUNK_ACCOUNTS, CHUNK_ACCOUNTS);
    offset += load<u32>(meta, CHUNK_CROSS) * CROSS_RECORD_BYTES + load<u32>(meta, CHUNK_ISOLATED) * ISOLATED_RECORD_BYTES + chunkAccounts * SWEEP_BASE_BYTES;
  }
}

/**
 * Writes the sweep records of chunk [c0, c1) where refreshDebits placed them (a compact layout
 * gives the chunk's positions the slots [posStart[c0], posStart[c1 − 1] + count)): a cross record
 * per cross position, in account order, then an isolated record per isolated position, then each
 * account's cross base. Also, since the chunk sweep writes statuses for isolated slots only, a 0
 * status for each cross slot. The chunk is marked fresh last, so a chunk whose build was cut
 * short (a worker died) is rebuilt by the next sweep.
 */
function buildChunk(header: usize, cache: usize, c0: u32, c1: u32): void {
  const accBalance = column(header, H_ACC_BALANCE);
  const accPosStart = column(header, H_ACC_POS_START);
  const accPosCount = column(header, H_ACC_POS_COUNT);
  const instTierCount = column(header, H_INST_TIER_COUNT);
  const posSize = column(header, H_POS_SIZE);
  const posMargin = column(header, H_POS_MARGIN);
  const posInst = column(header, H_POS_INST);
  const posMode = column(header, H_POS_MODE);
  const posDebit = column(header, H_POS_DEBIT);
  const posStatus = column(header, H_POS_STATUS);
  const meta = column(header, H_CHUNKS) + <usize>(c0 / CHUNK_ACCOUNTS) * <usize>CHUNK_META_BYTES;
  let r = column(header, H_SWEEP_RECORDS) + <usize>load<u32>(meta, CHUNK_OFFSET);
  // The cross bases follow the records, whose counts refreshDebits left in the meta.
  const bases = r + <usize>load<u32>(meta, CHUNK_CROSS) * <usize>CROSS_RECORD_BYTES + <usize>load<u32>(meta, CHUNK_ISOLATED) * <usize>ISOLATED_RECORD_BYTES;
  let crossRecords: u32 = 0;
  for (let a = c0; a < c1; a++) {
    const first = load<u32>(accPosStart + (<usize>a << 2));
    const end = first + load<u32>(accPosCount + (<usize>a << 2));
    let base = load<i64>(accBalance + (<usize>a << 3));
    for (let j = first; j < end; j++) {
      if (load<u8>(posMode + j) != MODE_CROSS) continue;
      const inst = <usize>load<u16>(posInst + (<usize>j << 1));
      const c = cache + inst * <usize>CACHE_STRIDE;
      const size = load<i64>(posSize + (<usize>j << 3));
      const k = bracketOf(<u64>abs<i64>(size * load<i64>(c + CACHE_UNIT)), c + CACHE_FLOORS);
      base -= load<i64>(posDebit + (<usize>j << 3)); // |balance| + 128 debits ≤ 2.6·10^18
      store<i64>(r, size);
      store<u32>(r, (a - c0) << 3, 8);
      store<u32>(r, <u32>(inst * <usize>CACHE_STRIDE + <usize>CACHE_ENTRIES + k * <usize>CACHE_ENTRY_BYTES), 12);
      store<u8>(posStatus + j, STATUS_HEALTHY);
      r += CROSS_RECORD_BYTES;
      crossRecords++;
    }
    store<i64>(bases + (<usize>(a - c0) << 3), base);
  }
  const s0 = load<u32>(accPosStart + (<usize>c0 << 2));
  let isolatedRecords: u32 = 0;
  for (let a = c0; a < c1; a++) {
    const first = load<u32>(accPosStart + (<usize>a << 2));
    const end = first + load<u32>(accPosCount + (<usize>a << 2));
    for (let j = first; j < end; j++) {
      if (load<u8>(posMode + j) == MODE_CROSS) continue;
      const inst = <usize>load<u16>(posInst + (<usize>j << 1));
      const c = cache + inst * <usize>CACHE_STRIDE;
      const size = load<i64>(posSize + (<usize>j << 3));
      const sizeQuote = size * load<i64>(c + CACHE_Q);
      // Equity at a price of zero: margin + PnL = margin + sizeQuote·p − debit.
      const equityAtZero = load<i64>(posMargin + (<usize>j << 3)) - load<i64>(posDebit + (<usize>j << 3));
      let liquidatable: i64;
      if (sizeQuote == 0) {
        // No price moves it: MM is 0, so it is liquidatable (and bankrupt) iff its equity is below 0.
        liquidatable = equityAtZero < 0 ? THRESHOLD_ALWAYS : THRESHOLD_NEVER;
      } else {
        const start = <i32>bracketOf(<u64>abs<i64>(size * load<i64>(c + CACHE_UNIT)), c + CACHE_FLOORS);
        liquidatable = liquidationThreshold(sizeQuote, equityAtZero, c, load<i32>(instTierCount + (inst << 2)), start);
      }
      store<i64>(r, liquidatable);
      store<u32>(r, <u32>(inst * <usize>CACHE_STRIDE) + (sizeQuote >= 0 ? CACHE_MARK_LONG : CACHE_MARK_SHORT), 8);
      assert(j - s0 <= 0xffff); // < CHUNK_ACCOUNTS × POSITIONS_PER_ACCOUNT_MAX = 2^15
      store<u16>(r, <u16>(j - s0), 12);
      store<u8>(r, <u8>(a - c0), 14);
      r += ISOLATED_RECORD_BYTES;
      isolatedRecords++;
    }
  }
  // The counts refreshDebits laid the chunk out with: the columns have not changed since.
  assert(crossRecords == load<u32>(meta, CHUNK_CROSS) && isolatedRecords == load<u32>(meta, CHUNK_ISOLATED));
  store<u32>(meta, CHUNK_FRESH, CHUNK_STATE);
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
  // Rare: an isolated scope of this account failed. Count and list them in a second look.
  if (isolatedFlags != 0) countIsolated(a, first, end, posStatus, list, capacity);
  const crossLiquidatable = crossMaint > 0 && crossEquity < crossMaint;
  const crossBankrupt = crossLiquidatable && crossEquity < 0;
  store<u8>(accStatus + a, <u8>select<u32>(STATUS_BANKRUPT, select<u32>(STATUS_LIQUIDATABLE, STATUS_HEALTHY, crossLiquidatable), crossBankrupt));
  shardLiquidatable += <u32>crossLiquidatable;
  shardBankrupt += <u32>crossBankrupt;
  if (list != 0 && crossLiquidatable) appendScope(list, capacity, a, SLOT_CROSS);
}

/** Counts and lists account a's failing isolated scopes, in slot order. */
// @ts-ignore: decorator
@inline
function countIsolated(a: u32, first: u32, end: u32, posStatus: usize, list: usize, capacity: u32): void {
  for (let j = first; j < end; j++) {
    const status = <u32>load<u8>(posStatus + j);
    shardLiquidatable += <u32>(status != STATUS_HEALTHY);
    shardBankrupt += <u32>(status == STATUS_BANKRUPT);
    if (list != 0 && status != STATUS_HEALTHY) appendScope(list, capacity, a, j);
  }
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
 * `shard` is a shard record (assembly/layout.ts SHARD_*): its instrument cache and chunk sums are
 * scratch for this call; with a cancel flag the kernel stops at a chunk (or CANCEL_CHECK_ACCOUNTS)
 * boundary once the flag is set; with a list it appends each liquidatable scope while there is
 * room; it always gets the counters.
 */
export function sweep(header: usize, accountStart: u32, accountEnd: u32, flags: u32, shard: usize): u32 {
  const cache = <usize>load<u32>(shard + SHARD_CACHE);
  fillCache(header, cache);
  const list = <usize>load<u32>(shard + SHARD_LIST);
  const capacity: u32 = list == 0 ? 0 : load<u32>(shard + SHARD_LIST_CAPACITY);
  shardListed = 0;
  shardLiquidatable = 0;
  shardBankrupt = 0;
  // The same rules two ways: by chunk records for a status sweep of a compact book (its records
  // are kept by refreshDebits), account by account over the columns otherwise.
  let done: u32;
  if ((flags & (SWEEP_COMPACT | SWEEP_FULL)) == SWEEP_COMPACT && load<u32>(shard + SHARD_SCRATCH) != 0) {
    done = sweepChunks(header, accountStart, accountEnd, shard, cache);
  } else {
    done = sweepRange(header, accountStart, accountEnd, shard, cache, (flags & SWEEP_FULL) != 0);
  }
  writeShardCounters(shard, done, accountEnd, capacity);
  return shardLiquidatable;
}

/** Sweeps accounts [accountStart, accountEnd) account by account; returns where it stopped. */
// @ts-ignore: decorator
@inline
function sweepRange(header: usize, accountStart: u32, accountEnd: u32, shard: usize, cache: usize, full: bool): u32 {
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
  return a;
}

/**
 * A status sweep of a compact book: the whole chunks in [accountStart, accountEnd) from their
 * sweep records, the accounts of a chunk the range only cuts through by sweepRange. Returns where
 * it stopped.
 */
function sweepChunks(header: usize, accountStart: u32, accountEnd: u32, shard: usize, cache: usize): u32 {
  const accounts = load<u32>(header + (<usize>H_ACCOUNT_COUNT << 2));
  const chunks = column(header, H_CHUNKS);
  const scratch = <usize>load<u32>(shard + SHARD_SCRATCH);
  memory.fill(scratch, 0, CHUNK_SCRATCH_BYTES);
  const cancel = <usize>load<u32>(shard + SHARD_CANCEL);
  let a = accountStart;
  // A chunk is whole in the range when it starts and ends there (the book's last chunk may be short).
  let chunk = a - a % CHUNK_ACCOUNTS;
  if (chunk < a) {
    a = sweepRange(header, a, min<u32>(accountEnd, chunk + CHUNK_ACCOUNTS), shard, cache, false);
    chunk += CHUNK_ACCOUNTS;
  }
  while (a == chunk && a < accountEnd) {
    const chunkEnd = min<u32>(accounts, chunk + CHUNK_ACCOUNTS);
    if (chunkEnd > accountEnd) break;
    if (cancel != 0 && atomic.load<i32>(cancel) != 0) return a;
    const state = load<u32>(chunks + <usize>(chunk / CHUNK_ACCOUNTS) * <usize>CHUNK_META_BYTES, CHUNK_STATE);
    if (state == CHUNK_UNLAID) {
      const stopped = sweepRange(header, a, chunkEnd, shard, cache, false);
      if (stopped < chunkEnd) return stopped; // cancelled
    } else {
      if (state == CHUNK_REBUILD) buildChunk(header, cache, chunk, chunkEnd);
      sweepChunk(header, shard, cache, scratch, a, chunkEnd);
    }
    a = chunkEnd;
    chunk = chunkEnd;
  }
  if (a == chunk && a < accountEnd) a = sweepRange(header, a, accountEnd, shard, cache, false);
  return a;
}

/**
 * One chunk [c0, c1) from its sweep records, in three passes:
 *  1. each cross record adds its value and maintenance to its account's sums in the shard's
 *     scratch (the account's cross equity is its base plus the value sum);
 *  2. each isolated record compares its mark with its threshold and writes its status; a
 *     liquidatable one (rare) also flags its account (0x80 in accStatus, a byte pass 3 overwrites);
 *  3. two accounts at a time: cross equity, maintenance and status, the counts, and for a flagged
 *     or failing account the list entries (its isolated scopes in slot order, then its pool).
 * Records carry offsets into the shard's instrument cache, so no instrument is looked up.
 */
// @ts-ignore: decorator
@inline
function sweepChunk(header: usize, shard: usize, cache: usize, scratch: usize, c0: u32, c1: u32): void {
  const accPosStart = column(header, H_ACC_POS_START);
  const accPosCount = column(header, H_ACC_POS_COUNT);
  const accCrossEquity = column(header, H_ACC_CROSS_EQUITY);
  const accCrossMaint = column(header, H_ACC_CROSS_MAINT);
  const accStatus = column(header, H_ACC_STATUS);
  const posStatus = column(header, H_POS_STATUS);
  const list = <usize>load<u32>(shard + SHARD_LIST);
  const capacity: u32 = list == 0 ? 0 : load<u32>(shard + SHARD_LIST_CAPACITY);
  const s0 = load<u32>(accPosStart + (<usize>c0 << 2));
  const meta = column(header, H_CHUNKS) + <usize>(c0 / CHUNK_ACCOUNTS) * <usize>CHUNK_META_BYTES;
  let r = column(header, H_SWEEP_RECORDS) + <usize>load<u32>(meta, CHUNK_OFFSET);
  const crossEnd = r + <usize>load<u32>(meta, CHUNK_CROSS) * <usize>CROSS_RECORD_BYTES;

  // Pass 1. The loop breaks out for a record whose entry does not accept its notional (its bracket
  // moved, or the product needs 128 bits), which is handled outside it: a call inside the loop
  // would make V8 keep the loop's values on the stack.
  while (r < crossEnd) {
    for (; r < crossEnd; r += CROSS_RECORD_BYTES) {
      const entry = cache + <usize>load<u32>(r, 12);
      const value = load<i64>(r) * load<i64>(entry); // |size|·q·mark ≤ 10^16
      const notional = <u64>abs<i64>(value);
      if (notional - load<u64>(entry, 8) >= load<u64>(entry, 16)) break;
      // notional < 2^44 and rate < 10^6 leave the numerator below 1.76·10^19, room under 2^64.
      const maint = <i64>((notional * load<u64>(entry, 24) + load<u64>(entry, 32)) / SCALE_6);
      const sums = scratch + <usize>load<u32>(r, 8);
      store<i64>(sums, load<i64>(sums) + value);
      store<i64>(sums, load<i64>(sums, CHUNK_MAINT_OFFSET) + maint, CHUNK_MAINT_OFFSET);
    }
    if (r < crossEnd) {
      const value = load<i64>(r) * load<i64>(cache + <usize>load<u32>(r, 12));
      const maint = maintenanceMoved(<u64>abs<i64>(value), cache, r);
      const sums = scratch + <usize>load<u32>(r, 8);
      store<i64>(sums, load<i64>(sums) + value);
      store<i64>(sums, load<i64>(sums, CHUNK_MAINT_OFFSET) + maint, CHUNK_MAINT_OFFSET);
      r += CROSS_RECORD_BYTES;
    }
  }

  // Pass 2. Liquidatable iff the mark is at or beyond the threshold (m ≤ T, with −mark for a short).
  // A liquidatable position is rare: the loop breaks out for it, and its equity at the mark, from
  // the columns, says whether it is bankrupt too.
  const isolatedEnd = crossEnd + <usize>load<u32>(meta, CHUNK_ISOLATED) * <usize>ISOLATED_RECORD_BYTES;
  const chunkStatus = posStatus + <usize>s0;
  while (r < isolatedEnd) {
    for (; r < isolatedEnd; r += ISOLATED_RECORD_BYTES) {
      if (load<i64>(cache + <usize>load<u32>(r, 8)) <= load<i64>(r)) break;
      // Healthy. Stored only when it changed: a line not written is not written back.
      const at = chunkStatus + <usize>load<u16>(r, 12);
      if (load<u8>(at) != STATUS_HEALTHY) store<u8>(at, STATUS_HEALTHY);
    }
    if (r < isolatedEnd) {
      isolatedFailing(header, cache, r, s0, c0);
      r += ISOLATED_RECORD_BYTES;
    }
  }

  // Pass 3, leaving the scratch zeroed for the next chunk. The cross bases follow the records.
  const bases = r - (<usize>c0 << 3); // indexed by account
  const zero = i64x2.splat(0);
  let a = c0;
  let sums = scratch;
  while (a < c1) {
    let liquidatable = zero;
    let bankrupt = zero;
    let flags: u32 = 0;
    for (; a + 1 < c1; a += 2, sums += 16) {
      const a8 = <usize>a << 3;
      const equity = i64x2.add(v128.load(bases + a8), v128.load(sums));
      const maint = v128.load(sums, CHUNK_MAINT_OFFSET);
      v128.store(sums, zero);
      v128.store(sums, zero, CHUNK_MAINT_OFFSET);
      v128.store(accCrossEquity + a8, equity);
      v128.store(accCrossMaint + a8, maint);
      // Liquidatable: maint > 0 and equity < maint (maintenance is never negative); bankrupt: also equity < 0.
      const failing = v128.andnot(i64x2.lt_s(equity, maint), i64x2.eq(maint, zero));
      const broke = v128.and(failing, i64x2.lt_s(equity, zero));
      liquidatable = i64x2.sub(liquidatable, failing);
      bankrupt = i64x2.sub(bankrupt, broke);
      const status = i64x2.neg(i64x2.add(failing, broke)); // 0, 1 or 2 per account
      const pair = <u32>i64x2.extract_lane(status, 0) | (<u32>i64x2.extract_lane(status, 1) << 8);
      // The isolated flags pass 2 left (not the last sweep's statuses), and the new statuses.
      const before = <u32>load<u16>(accStatus + a);
      flags = (before & ISOLATED_FAILED_PAIR) | pair;
      if (before != pair) store<u16>(accStatus + a, <u16>pair);
      if (flags != 0) break;
    }
    shardLiquidatable += <u32>(i64x2.extract_lane(liquidatable, 0) + i64x2.extract_lane(liquidatable, 1));
    shardBankrupt += <u32>(i64x2.extract_lane(bankrupt, 0) + i64x2.extract_lane(bankrupt, 1));
    if (flags != 0) {
      // Rare: a scope of account a or a + 1 failed. Their statuses and cross counts are in.
      finishFailing(a, flags & 0xff, accPosStart, accPosCount, posStatus, list, capacity);
      finishFailing(a + 1, flags >> 8, accPosStart, accPosCount, posStatus, list, capacity);
      a += 2;
      sums += 16;
    } else if (a < c1) {
      // The last account of a chunk with an odd number of them.
      const a8 = <usize>a << 3;
      const equity = load<i64>(bases + a8) + load<i64>(sums);
      const maint = load<i64>(sums, CHUNK_MAINT_OFFSET);
      store<i64>(sums, 0);
      store<i64>(sums, 0, CHUNK_MAINT_OFFSET);
      store<i64>(accCrossEquity + a8, equity);
      store<i64>(accCrossMaint + a8, maint);
      const failing = <u32>(maint > 0 && equity < maint);
      const broke = failing & <u32>(equity < 0);
      shardLiquidatable += failing;
      shardBankrupt += broke;
      const single = (<u32>load<u8>(accStatus + a) & ISOLATED_FAILED) | (failing + broke);
      store<u8>(accStatus + a, <u8>(failing + broke));
      if (single != 0) finishFailing(a, single, accPosStart, accPosCount, posStatus, list, capacity);
      a++;
      sums += 8;
    }
  }
}

/**
 * The status of an isolated position the chunk sweep found liquidatable (record r of the chunk whose
 * first slot is s0 and first account c0): bankrupt when its equity at the mark is below zero. Flags
 * its account for pass 3.
 */
// @ts-ignore: decorator
@noinline
function isolatedFailing(header: usize, cache: usize, r: usize, s0: u32, c0: u32): void {
  const j = <usize>s0 + <usize>load<u16>(r, 12);
  const c = cache + <usize>load<u32>(r, 8) / <usize>CACHE_STRIDE * <usize>CACHE_STRIDE;
  const j8 = j << 3;
  // margin + size·q·mark − debit: |size·q·mark| ≤ 10^16, |margin| ≤ 10^16, |debit| ≤ 2·10^16.
  const equity = load<i64>(column(header, H_POS_MARGIN) + j8) + load<i64>(column(header, H_POS_SIZE) + j8) * load<i64>(c + CACHE_UNIT) - load<i64>(column(header, H_POS_DEBIT) + j8);
  store<u8>(column(header, H_POS_STATUS) + j, <u8>select<u32>(STATUS_BANKRUPT, STATUS_LIQUIDATABLE, equity < 0));
  store<u8>(column(header, H_ACC_STATUS) + <usize>c0 + <usize>load<u8>(r, 14), <u8>ISOLATED_FAILED);
}

/** Pass 2's mark on an account with a failing isolated position (above every status). */
const ISOLATED_FAILED: u32 = 0x80;
const ISOLATED_FAILED_PAIR: u32 = 0x8080;

/**
 * The list entries of account a, one of whose scopes failed: `flags` has ISOLATED_FAILED when an
 * isolated one did (they are counted here, in a second look at the statuses), and its cross
 * status (already counted) in the low bits.
 */
// @ts-ignore: decorator
@noinline
function finishFailing(a: u32, flags: u32, accPosStart: usize, accPosCount: usize, posStatus: usize, list: usize, capacity: u32): void {
  if (flags == 0) return;
  if ((flags & ISOLATED_FAILED) != 0) {
    const first = load<u32>(accPosStart + (<usize>a << 2));
    countIsolated(a, first, first + load<u32>(accPosCount + (<usize>a << 2)), posStatus, list, capacity);
  }
  if (list != 0 && (flags & 3) != 0) appendScope(list, capacity, a, SLOT_CROSS);
}

/**
 * Maintenance of a cross record whose bracket entry did not accept its notional: the exact way,
 * in the notional's bracket, which the record's entry then names for the next sweep.
 */
// @ts-ignore: decorator
@noinline
function maintenanceMoved(notional: u64, cache: usize, r: usize): i64 {
  const entryOffset = <usize>load<u32>(r, 12);
  const c = cache + (entryOffset - entryOffset % <usize>CACHE_STRIDE);
  const k = bracketOf(notional, c + CACHE_FLOORS);
  store<u32>(r, <u32>(c - cache + <usize>CACHE_ENTRIES + k * <usize>CACHE_ENTRY_BYTES), 12);
  return maintenanceInBracket(notional, c, k);
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

/** The last liquidationRoot: its numerator (two's-complement 128 bits) and denominator. */
let rootHi: u64 = 0;
let rootLo: u64 = 0;
let rootDenominator: u64 = 0;

/**
 * The root of the scope's liquidation condition, as a fraction left in rootHi/rootLo/rootDenominator:
 * the notional at which 10^6·(slack + sizeQuote·p) = |sizeQuote|·p·r_k − cumX_k in the bracket k that
 * holds it, so the root price is num / (|sizeQuote|·denominator). `slack` is E0 − MMo, where E0 is
 * the scope's equity at a price of zero and MMo the maintenance of its other positions.
 */
function liquidationRoot(sizeQuote: i64, slack: i64, c: usize, tierCount: i32, start: i32): void {
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
  rootHi = numHi;
  rootLo = numLo;
  rootDenominator = denominator;
}

/**
 * The tick nearest the mark at which the scope is liquidatable (docs/numbers.md). `slack` is
 * E0 − MMo. The scope is liquidatable at p ⇔ 10^6·(slack + sizeQuote·p) < max_k(|sizeQuote|·p·r_k − cumX_k).
 */
function liquidationPrice(sizeQuote: i64, slack: i64, tick: i64, c: usize, tierCount: i32, start: i32): i64 {
  liquidationRoot(sizeQuote, slack, c, tierCount, start);
  const numHi = rootHi;
  const numLo = rootLo;
  const denominator = rootDenominator;
  const negative = <i64>numHi < 0;
  const magnitude = <u64>abs<i64>(sizeQuote);
  if (sizeQuote > 0) {
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

/** A threshold no mark reaches (the scope never has the status) and one every mark does. */
const THRESHOLD_NEVER: i64 = i64.MIN_VALUE;
const THRESHOLD_ALWAYS: i64 = i64.MAX_VALUE;

/**
 * An isolated position's liquidation threshold in price units, as the chunk sweep compares it:
 * a long is liquidatable iff mark ≤ T, a short iff −mark ≤ T. Exact, with no tick: the long's T
 * is the highest price strictly below the root, the short's −T the lowest price strictly above it.
 */
function liquidationThreshold(sizeQuote: i64, equityAtZero: i64, c: usize, tierCount: i32, start: i32): i64 {
  liquidationRoot(sizeQuote, equityAtZero, c, tierCount, start);
  const negative = <i64>rootHi < 0;
  const magnitude = <u64>abs<i64>(sizeQuote);
  if (sizeQuote > 0) {
    if (negative || (rootHi == 0 && rootLo == 0)) return THRESHOLD_NEVER; // root ≤ 0
    let lo = divWideSmall(rootHi, rootLo, rootDenominator);
    let hi = wideHi;
    if (wideRem != 0) {
      lo += 1;
      hi += <u64>(lo == 0);
    }
    if (hi >= magnitude) return THRESHOLD_ALWAYS; // root ≥ 2^64: below it at every price
    const root = divWide(hi, lo, magnitude) + <u64>(wideRem != 0); // ceil(root) ≥ 1
    return <i64>min<u64>(root - 1, <u64>THRESHOLD_ALWAYS);
  }
  if (negative) return THRESHOLD_ALWAYS; // the root is below zero: liquidatable at every price
  const lo = divWideSmall(rootHi, rootLo, rootDenominator);
  if (wideHi >= magnitude) return THRESHOLD_NEVER; // root ≥ 2^64
  const above = divWide(wideHi, lo, magnitude) + 1; // floor(root) + 1 ≤ 2^64 − 1
  return above > <u64>THRESHOLD_ALWAYS ? THRESHOLD_NEVER : -<i64>above;
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
