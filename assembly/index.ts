// The data plane's entry points: each evaluates (or derives) accounts [accountStart, accountEnd) of
// the book described by the header at `header`. It reads inputs and writes outputs in place,
// allocates nothing and keeps no state of its own in linear memory (what it derives, such as the
// chunk sweep's records, lives in regions of the book's layout), so any number of instances may run
// disjoint ranges over one shared memory. The rules are docs/numbers.md; src/reference/ is the
// BigInt twin the tests hold this to.
//
// The modules, by concept: math.ts (brackets, maintenance, funding owed), cache.ts (the shard's
// instrument cache), debits.ts, sweep.ts (the column sweep, the counts and lists every sweep
// shares), chunks.ts (the chunk sweep and its records), prices.ts (liquidation and bankruptcy
// prices, the isolated thresholds), bounds.ts (incremental evaluation: bounds and the index's
// build), hot.ts (the hot book), operations.ts (a batch's deposits and fills), arena.ts (the position arena's compaction), touch.ts (loads
// taken ahead), wide.ts (128-bit arithmetic), header.ts (reading the header);
// layout.ts and constants.ts name every offset and precision, and are exported from the module as
// globals for the control plane.
//
// The sweeps are written without data-dependent branches where they can be (selects instead of
// ifs, a branchless bracket search over a padded tier table, records grouped by kind): on a real
// book, modes, signs and brackets are random from one position to the next, and each mispredicted
// branch costs more than the arithmetic it skips. The branches left are loop-invariant or almost
// never taken (a moved bracket, a product that needs 128 bits, a failing scope, a status that
// changed).

import { H_ACCOUNT_COUNT, H_ACC_POS_COUNT, H_INSTRUMENT_COUNT, H_INST_MARK, H_FUNDING_SLOTS, SHARD_LIST, SHARD_LIST_CAPACITY, SHARD_CACHE, SHARD_SCRATCH, CACHE_STRIDE } from './layout';
import { column, headerValue } from './header';
import { fillCache, fillAccountInstruments, fillInstrument } from './cache';
import { firstFundingOutOfRange, writeFundingSnapshotBounds } from './debits';
import { layOutChunks, compactStep, sweepChunks, deferFunding, settleFunding as settleDeferredFunding, fillFundingInstruments, fundingPending, refreshBalanceRecords, refreshTierRecords, touchListed, BALANCE_CHANGE_BYTES, BC_ACCOUNT } from './chunks';
export { FUNDING_CHANGE_BYTES, FC_OLD, FC_CHANGED, FC_NEW, FUNDING_SLOTS, FUNDING_SLOT_META_BYTES, FUNDING_SLOTS_BYTES_PER_INSTRUMENT, FUNDING_SLOT_METAS_BYTES, BALANCE_CHANGE_BYTES, BC_ACCOUNT, BC_DELTA, LAZY_MAINT_MAX } from './chunks';
import { sweepRange, resetShardCounters, writeShardCounters } from './sweep';
import { writePrices } from './prices';
import { boundListed, boundRange, indexBuckets, OCTAVE_PER_MAX, INDEX_ACCOUNTS_MAX } from './bounds';
import { moveHotRecords, settleHotRecords, moveSettleHotRecords, soloPass, sharedTick, HOT_TABLE_STRIDE, HT_OFFSET, HT_COUNT, HT_SOLO_COUNT, HT_SOLO_OFFSET, HT_SOLO_MARK } from './hot';
import { applyRecords, firstLeverageAbove, writeHolders } from './operations';
import { slideBlocks } from './arena';
import { sortUniqueList } from './sort';
export { SORT_COUNTS_BYTES } from './sort';
export { arenaScratchBytes } from './arena';
export { OP_ACCOUNT, OP_INSTRUMENT, OP_KIND, OP_MODE, OP_AMOUNT, OP_PRICE, OP_REALIZED, OP_SIZE_AFTER, OP_SHORTFALL, OP_FIGURE_1, OP_FIGURE_2, OP_OUTCOME, OP_BYTES, OP_PROGRESS_BYTES, ARENA_BYTES, OP_HOST, OP_DEPOSIT, OP_FILL, OP_SIZE_ABS_MAX } from './operations';
export { OUTCOME_HOST, OUTCOME_APPLIED, OUTCOME_OPENED, OUTCOME_CLOSED, OUTCOME_REFRESHED, REFUSED_FUNDING_EXCEEDS_MARGIN, REFUSED_LEVERAGE_ABOVE_BRACKET, REFUSED_MARGIN_EXCEEDS_WALLET, REFUSED_LOSS_EXCEEDS_MARGIN, REFUSED_ISOLATED_INITIAL, REFUSED_CROSS_INITIAL } from './operations';

export { BOUND_TABLE_STRIDE, BOUND_C, BOUND_P, BUCKET_MIN_EXPONENT, OCTAVE_PER_MAX, OCTAVE_SLICE_SHIFT, INDEX_SIDES, INDEX_SIDE_DOWN, INDEX_SIDE_UP, INDEX_SIDE_SHIFT, INDEX_ACCOUNTS_MAX, BOUNDS_REGION_BYTES_PER_ACCOUNT, BOUNDS_FAILING_AT, BOUNDS_SHORTS_AT, BOUNDS_LEAST_AT, STEPS_SHIFT, STEPS_MAX, LEAST_BITS, LEAST_CROSS, SHORTS_BITS, SHORTS_REPEAT } from './bounds';
export { HOT_SCOPE_BYTES, HS_EQUITY, HS_MAINT, HS_ACCOUNT, HS_RANK, HS_STATUS, HS_ISOLATED, HS_LIVE, HS_SCOPES, HOT_RECORD_BYTES, HR_SIZE, HR_MAINT, HR_SCOPE, HR_BRACKET, hotFailingDelta } from './hot';
export { HOT_SOLO_BYTES, HO_LO, HO_HI, HO_SIZE, HO_EQUITY, HO_ACCOUNT, HO_RANK, HO_BRACKET, HO_STATUS, SOLO_POOL, SOLO_DEAD, HS_SOLO, HS_SOLO_INDEX, HS_SOLO_INSTRUMENT } from './hot';
export { hotAdmit, HOT_TABLE_STRIDE, HT_OFFSET, HT_CAPACITY, HT_COUNT, HT_SOLO_OFFSET, HT_SOLO_CAPACITY, HT_SOLO_COUNT, HT_SOLO_MARK, HOT_ADMIT_SCOPES, HOT_ADMIT_ROOM, HOT_ROOM_NONE } from './hot';

// Every constant of the kernel's memory formats and numbers, as immutable wasm globals: the control
// plane takes them from here (src/engine/kernel-constants.ts) instead of repeating them.
export * from './constants';
export * from './layout';

// The benchmark's memory-bandwidth baseline runs in the same module, over the same memory.
export { streamRead, streamReadScalar } from './bandwidth';

/** Sweep flag: also write each position's unrealized PnL and maintenance (reports, operations). */
export const SWEEP_FULL: u32 = 1;
/**
 * Flag of sweep, refreshDebits, refreshAccounts and refreshFunding: keep the chunk sweep's records (refreshes lay
 * out and refresh them) and read them (a status sweep, no SWEEP_FULL, of whole chunks). Status
 * sweeps then read each chunk's records instead of the columns, building them first when stale:
 * cross positions as a stream of (size, account, bracket entry) with no mode branch and no account
 * loop, isolated positions as one compare of the mark with a precomputed threshold.
 */
export const SWEEP_CHUNKS: u32 = 2;
/**
 * Flag of applyUpdates, with SWEEP_CHUNKS: a fill that keeps a cross position open rewrites its
 * record in place (OUTCOME_REFRESHED), and so does one that keeps an isolated position open when
 * the call names a shard record. Only while no funding index was set in the batch so far:
 * the end-of-batch funding refresh moves every record on a changed instrument from the old index,
 * and such a record would be at the new one already.
 */
export const APPLY_FILL_RECORDS: u32 = 4;

// Each entry point asserts its arguments at its entry, before it touches the book: an account range
// within the book (start ≤ end ≤ the header's account count), a shard record (≠ 0) that names an
// instrument cache (≠ 0); prices checks each listed account (< the account count) before it reads
// it. A failed assertion calls the host's abort, which throws (src/engine/core.ts): the caller gets
// a "core assertion failed: <entry>: <what>" error and the book is left as it was. The control
// plane validates what it passes (Engine.prices its list); these are the backstop.

/** The first byte JavaScript may use for the book: everything below belongs to the module. */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * With SWEEP_CHUNKS, refreshes the chunk sweep's records of accounts [accountStart, accountEnd)
 * (chunks.ts layOutChunks: a chunk the range covers whole is counted and marked for the next sweep
 * to rebuild, in whichever worker sweeps it; an account of a chunk the range cuts through is
 * refreshed in place), each position's debit (cost basis + unsettled funding, the part of its
 * unrealized PnL that does not move with the price) going into its account's cross base or its
 * isolated thresholds. The control plane calls it after anything that changes a balance, a margin,
 * a cost, a size, a mode or a funding snapshot (after a funding index, refreshFunding, which
 * rebuilds no chunk), so that sweeps between two such changes do no funding arithmetic and compare
 * each isolated position's mark with its thresholds. Marks may move freely in between: records
 * depend on them only through bracket hints, which the sweep checks. Without SWEEP_CHUNKS there is
 * nothing to refresh: the column paths compute each debit as they go (debits.ts debitOf).
 */
export function refreshDebits(header: usize, shard: usize, accountStart: u32, accountEnd: u32, flags: u32): void {
  assert(accountStart <= accountEnd, 'refreshDebits: accountStart > accountEnd');
  assert(accountEnd <= headerValue(header, H_ACCOUNT_COUNT), "refreshDebits: accountEnd is past the book's account count");
  assert(shard != 0, 'refreshDebits: no shard record');
  const cache = <usize>load<u32>(shard + SHARD_CACHE);
  assert(cache != 0, 'refreshDebits: the shard record names no instrument cache');
  if ((flags & SWEEP_CHUNKS) == 0 || accountStart >= accountEnd) return;
  fillCache(header, cache);
  layOutChunks(header, cache, accountStart, accountEnd);
  compactStep(header, false); // what the moves owe a compaction under way (chunks.ts compactStep)
}

/**
 * refreshDebits for the `count` accounts listed (u32 account indices, any order, repeats allowed)
 * at `accounts`: with SWEEP_CHUNKS, each one's records in place. The work is in proportion to the
 * accounts listed (and their chunks' records, which a change of counts shifts), not to the book:
 * the cache is filled only for the instruments the accounts hold (or whole, when that is less).
 * Each listed account is checked to be an account of the book, with or without SWEEP_CHUNKS.
 */
export function refreshAccounts(header: usize, shard: usize, accounts: usize, count: u32, flags: u32): void {
  assert(shard != 0, 'refreshAccounts: no shard record');
  const cache = <usize>load<u32>(shard + SHARD_CACHE);
  assert(cache != 0, 'refreshAccounts: the shard record names no instrument cache');
  const accountCount = headerValue(header, H_ACCOUNT_COUNT);
  const instruments = headerValue(header, H_INSTRUMENT_COUNT);
  for (let k: u32 = 0; k < count; k++) assert(load<u32>(accounts + (<usize>k << 2)) < accountCount, "refreshAccounts: a listed account is past the book's account count");
  // The list's misses are taken together first (chunks.ts touchListed; the sum is stored where
  // nothing reads it). Every list, even of one account: its columns, its chunk's meta and its area
  // are independent loads too (single deposits by id on the 10M-account book went from 205,416 to
  // 247,091 a second when lists of fewer than 16 took it too).
  const scratch = <usize>load<u32>(shard + SHARD_SCRATCH);
  if (scratch != 0) store<i64>(scratch, touchListed(header, accounts, count));
  // The cache is filled whole once when the listed accounts hold at least as many positions as the
  // book has instruments, and otherwise per account for the instruments of its positions: whichever
  // fills fewer (a batch of 1,000 mixed updates lists about 70 accounts of 3 positions each, on a
  // book of 100 instruments).
  let positions: u32 = 0;
  const accPosCount = column(header, H_ACC_POS_COUNT);
  for (let k: u32 = 0; k < count && positions < instruments; k++) positions += load<u32>(accPosCount + (<usize>load<u32>(accounts + (<usize>k << 2)) << 2));
  const whole = positions >= instruments;
  if (whole) fillCache(header, cache);
  // A chunk with a deferred funding refresh is settled before its accounts are refreshed, with the
  // changed instruments in the cache: filled once, for the first such chunk the list reaches.
  let fundingFilled = whole;
  for (let k: u32 = 0; k < count; k++) {
    const a = load<u32>(accounts + (<usize>k << 2));
    if ((flags & SWEEP_CHUNKS) == 0) continue;
    if (!whole) fillAccountInstruments(header, cache, a);
    if (!fundingFilled && fundingPending(header, a)) {
      fillFundingInstruments(header, cache);
      fundingFilled = true;
    }
    layOutChunks(header, cache, a, a + 1);
  }
  if ((flags & SWEEP_CHUNKS) != 0) compactStep(header, false); // what the moves owe a compaction under way
}

/**
 * The balances of the `count` accounts listed at `changes` (chunks.ts BALANCE_CHANGE_BYTES each: u32
 * account, i64 the change of its balance; repeats allowed) changed by those amounts and nothing
 * else of theirs changed (deposits, withdrawals): with SWEEP_CHUNKS, moves each one's cross base in
 * its fresh chunk's records by the change (chunks.ts refreshBalanceRecords), O(1) an account, the
 * same records refreshAccounts would write. Each listed account is checked to be an account of the
 * book, with or without SWEEP_CHUNKS.
 */
export function refreshBalances(header: usize, shard: usize, changes: usize, count: u32, flags: u32): void {
  assert(shard != 0, 'refreshBalances: no shard record');
  assert(count == 0 || changes != 0, 'refreshBalances: no list of changes');
  const accountCount = headerValue(header, H_ACCOUNT_COUNT);
  for (let k: u32 = 0; k < count; k++) {
    assert(load<u32>(changes + <usize>k * BALANCE_CHANGE_BYTES, BC_ACCOUNT) < accountCount, "refreshBalances: a listed account is past the book's account count");
  }
  if ((flags & SWEEP_CHUNKS) == 0) return;
  const sum = refreshBalanceRecords(header, changes, count);
  const scratch = <usize>load<u32>(shard + SHARD_SCRATCH);
  if (scratch != 0) store<u32>(scratch, sum);
}

/**
 * New funding indices (already in their column) of the instruments marked in `changes`
 * (chunks.ts FUNDING_CHANGE_BYTES per instrument of the book: whether its index changed, the index
 * the fresh chunks at the columns' indices were made at, and the new one): with SWEEP_CHUNKS, defers
 * what they change in the chunk sweep's records in the funding slots at `slots` (the same region
 * every call, chunks.ts FUNDING_SLOTS_BYTES_PER_INSTRUMENT per instrument + FUNDING_SLOT_METAS_BYTES,
 * kept in place for the engine's life): O(chunks), no position read, unless every slot holds
 * pending chunks (then the oldest slot's are settled here first). A sweep reads a chunk with a
 * refresh pending lazily (the status exact, the account's move bounded and found exactly only where
 * the bound leaves its status open) and settles it on its turn, in the worker that sweeps it; a
 * refresh of one of its accounts settles it first: the cross base of each account with a cross
 * position on a changed instrument moves by the change of that position's funding owed; no chunk
 * is marked for rebuilding, and no isolated record moves (their instruments' drifts did). The
 * changes table is copied: it may be reused after the call.
 */
export function refreshFunding(header: usize, shard: usize, changes: usize, flags: u32, slots: usize): void {
  assert(shard != 0, 'refreshFunding: no shard record');
  const cache = <usize>load<u32>(shard + SHARD_CACHE);
  assert(cache != 0, 'refreshFunding: the shard record names no instrument cache');
  assert(changes != 0, 'refreshFunding: no table of changes');
  assert(slots != 0, 'refreshFunding: no funding slots');
  if ((flags & SWEEP_CHUNKS) == 0) return;
  deferFunding(header, cache, slots, changes); // fills the cache itself when it settles a slot
  compactStep(header, false); // what a settle's moves owe a compaction under way (none when nothing settled)
}

/**
 * Settles every deferred funding refresh (refreshFunding) on every chunk it has not reached yet, on
 * this thread (O(positions of those chunks)), and frees its slot. Nothing to do when none is
 * deferred.
 */
export function settleFunding(header: usize, shard: usize): void {
  assert(shard != 0, 'settleFunding: no shard record');
  const cache = <usize>load<u32>(shard + SHARD_CACHE);
  assert(cache != 0, 'settleFunding: the shard record names no instrument cache');
  if (headerValue(header, H_FUNDING_SLOTS) == 0) return;
  fillCache(header, cache); // the columns' indices, and each instrument's q
  settleDeferredFunding(header, cache);
  compactStep(header, false); // what the moves owe a compaction under way (chunks laid out again move)
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
  assert(accountStart <= accountEnd, 'sweep: accountStart > accountEnd');
  assert(accountEnd <= headerValue(header, H_ACCOUNT_COUNT), "sweep: accountEnd is past the book's account count");
  assert(shard != 0, 'sweep: no shard record');
  const cache = <usize>load<u32>(shard + SHARD_CACHE);
  assert(cache != 0, 'sweep: the shard record names no instrument cache');
  fillCache(header, cache);
  const list = <usize>load<u32>(shard + SHARD_LIST);
  const capacity: u32 = list == 0 ? 0 : load<u32>(shard + SHARD_LIST_CAPACITY);
  resetShardCounters();
  // The same rules two ways: by chunk records for a status sweep (its records are kept by the
  // refreshes), account by account over the columns otherwise.
  let done: u32;
  if ((flags & (SWEEP_CHUNKS | SWEEP_FULL)) == SWEEP_CHUNKS && load<u32>(shard + SHARD_SCRATCH) != 0) {
    done = sweepChunks(header, accountStart, accountEnd, shard, cache);
  } else {
    done = sweepRange(header, accountStart, accountEnd, shard, cache, (flags & SWEEP_FULL) != 0);
  }
  return writeShardCounters(shard, done, accountEnd, capacity);
}

/**
 * Incremental evaluation (bounds.ts, docs/incremental.md): evaluates the `count` accounts listed
 * (u32 account indices, each once) at `accounts` exactly over the columns, as the column sweep
 * does (statuses, cross equity and maintenance), and writes each
 * one's bound (f32 at `bounds + 4a`, and its failing scopes as a u8 at `bounds + 4·accounts + a`)
 * from the bound table at `table` (BOUND_TABLE_STRIDE per instrument). Lists at `changed` the
 * accounts whose statuses changed and returns how many; `out` gets the listed accounts' failing
 * scopes as of their last evaluation (u32), the shard record their counts now. With `detail` ≠ 0
 * it writes what the hot book needs of each of their positions (bounds.ts boundListed).
 */
export function boundAccounts(header: usize, shard: usize, accounts: usize, count: u32, table: usize, bounds: usize, changed: usize, out: usize, detail: usize, steps: usize): u32 {
  const cache = boundEntry(header, shard, table, bounds, steps);
  resetShardCounters();
  const listed = boundListed(header, shard, cache, <usize>load<u32>(shard + SHARD_SCRATCH), accounts, count, table, bounds, changed, out, headerValue(header, H_ACCOUNT_COUNT), detail, steps);
  writeShardCounters(shard, count, count, 0);
  return listed;
}

/** boundAccounts for accounts [accountStart, accountEnd), none listed: the index's build. Returns the liquidatable scopes. */
export function boundAccountRange(header: usize, shard: usize, accountStart: u32, accountEnd: u32, table: usize, bounds: usize, steps: usize): u32 {
  assert(accountStart <= accountEnd, 'boundAccountRange: accountStart > accountEnd');
  assert(accountEnd <= headerValue(header, H_ACCOUNT_COUNT), "boundAccountRange: accountEnd is past the book's account count");
  const cache = boundEntry(header, shard, table, bounds, steps);
  resetShardCounters();
  boundRange(header, shard, cache, <usize>load<u32>(shard + SHARD_SCRATCH), accountStart, accountEnd, table, bounds, steps);
  return writeShardCounters(shard, accountEnd, accountEnd, 0);
}

/**
 * The incremental index's build (bounds.ts), over accounts [start, end): pass 1 counts each
 * (instrument, bucket)'s accounts into `counts` (zeroed, instruments × buckets + 1 u32), and those
 * on each side into `down` and `up` (the same), and lists at `hot` the accounts whose bound is
 * below `hotBound` (returns how many); pass 2 (`fill` the counts' prefix sums, and for a part of
 * the accounts the entries of the parts before it) places them at `entries`. The bounds are those
 * boundAccountRange wrote at `bounds`.
 */
export function indexCount(header: usize, bounds: usize, steps: usize, hotBound: f64, perOctave: u32, buckets: u32, octave: usize, counts: usize, down: usize, up: usize, hot: usize, start: u32, end: u32): u32 {
  assert(bounds != 0 && steps != 0 && counts != 0 && down != 0 && up != 0 && hot != 0 && octave != 0, 'indexCount: no bounds, steps, octave table, counts or list');
  checkIndexArguments(header, perOctave, buckets, start, end);
  return indexBuckets(header, bounds, steps, hotBound, perOctave, buckets, octave, counts, down, up, 0, hot, start, end);
}

export function indexPlace(header: usize, bounds: usize, steps: usize, hotBound: f64, perOctave: u32, buckets: u32, octave: usize, fill: usize, entries: usize, start: u32, end: u32): void {
  assert(bounds != 0 && steps != 0 && fill != 0 && entries != 0 && octave != 0, 'indexPlace: no bounds, steps, octave table, fill or entries');
  checkIndexArguments(header, perOctave, buckets, start, end);
  indexBuckets(header, bounds, steps, hotBound, perOctave, buckets, octave, fill, 0, 0, entries, 0, start, end);
}

function checkIndexArguments(header: usize, perOctave: u32, buckets: u32, start: u32, end: u32): void {
  const accounts = headerValue(header, H_ACCOUNT_COUNT);
  assert(accounts <= INDEX_ACCOUNTS_MAX, 'indexCount, indexPlace: more accounts than an index entry holds');
  assert(perOctave > 0 && perOctave <= OCTAVE_PER_MAX && buckets > 0, 'indexCount, indexPlace: no buckets, or more than OCTAVE_PER_MAX an octave');
  assert(start <= end && end <= accounts, 'indexCount, indexPlace: the accounts are not a range of the book');
}

/**
 * The hot book (hot.ts, docs/incremental.md), first half of a step: moves the `count` hot records
 * of `instrument` at `records` (scopes at `scopes`) from `markOld` to the instrument's mark now.
 */
export function hotMove(header: usize, shard: usize, instrument: u32, records: usize, count: u32, scopes: usize, markOld: i64): void {
  assert(instrument < headerValue(header, H_INSTRUMENT_COUNT), 'hotMove: no such instrument');
  assert(shard != 0, 'hotMove: no shard record');
  const cache = <usize>load<u32>(shard + SHARD_CACHE);
  assert(cache != 0, 'hotMove: the shard record names no instrument cache');
  assert(count == 0 || (records != 0 && scopes != 0), 'hotMove: no records or scopes');
  fillInstrument(header, cache, instrument);
  moveHotRecords(cache + <usize>instrument * <usize>CACHE_STRIDE, records, count, scopes, markOld);
}

/**
 * The hot book, second half of a step, per instrument moved: the statuses of the scopes of its
 * `count` records at `records`. Writes those that changed, lists at `changed` the account of each
 * scope that changed and returns how many it listed; hotFailingDelta() gives the change in failing
 * scopes. (A hot account's failing-scope byte is written when it leaves the hot book.)
 */
export function hotSettle(header: usize, records: usize, count: u32, scopes: usize, changed: usize): u32 {
  assert(count == 0 || (records != 0 && scopes != 0 && changed != 0), 'hotSettle: no records, scopes or list');
  return settleHotRecords(header, records, count, scopes, changed);
}

/**
 * hotMove and hotSettle in one pass over the instrument's records, for a step in which its mark is
 * the only one that moved (hot.ts moveSettleHotRecords). Returns how many accounts it listed at
 * `changed`; hotFailingDelta() gives the change in failing scopes.
 */
export function hotTick(header: usize, shard: usize, instrument: u32, records: usize, count: u32, scopes: usize, markOld: i64, changed: usize): u32 {
  assert(instrument < headerValue(header, H_INSTRUMENT_COUNT), 'hotTick: no such instrument');
  assert(shard != 0, 'hotTick: no shard record');
  const cache = <usize>load<u32>(shard + SHARD_CACHE);
  assert(cache != 0, 'hotTick: the shard record names no instrument cache');
  assert(count == 0 || (records != 0 && scopes != 0 && changed != 0), 'hotTick: no records, scopes or list');
  fillInstrument(header, cache, instrument);
  return moveSettleHotRecords(header, cache + <usize>instrument * <usize>CACHE_STRIDE, records, count, scopes, markOld, changed);
}

/**
 * The hot book's solo records of `instrument` (hot.ts soloPass), in its entry of the hot book's
 * table at `table` (HOT_TABLE_STRIDE), `weight` the instrument's q·(1 + r_max) rounded up (the
 * incremental index's): their scopes' statuses at the instrument's mark now; writes those that
 * changed where the sweeps write them, lists at `changed` the account of each live scope whose
 * status changed and returns how many it listed; hotFailingDelta() gives the change in failing
 * scopes. A scope of one position is at the step's marks once its instrument's mark is, so a step
 * that moved several instruments settles each one's solo records as it moves it.
 */
export function hotSolo(header: usize, shard: usize, instrument: u32, table: usize, weight: f64, changed: usize): u32 {
  assert(instrument < headerValue(header, H_INSTRUMENT_COUNT), 'hotSolo: no such instrument');
  assert(shard != 0, 'hotSolo: no shard record');
  const cache = <usize>load<u32>(shard + SHARD_CACHE);
  assert(cache != 0, 'hotSolo: the shard record names no instrument cache');
  assert(table != 0, 'hotSolo: no table');
  assert(weight >= 0 && weight < f64.POSITIVE_INFINITY, 'hotSolo: a weight that is not a finite non-negative number');
  const entry = table + <usize>instrument * HOT_TABLE_STRIDE;
  const count = load<u32>(entry + HT_SOLO_COUNT);
  const solos = <usize>load<u32>(entry + HT_SOLO_OFFSET);
  assert(count == 0 || (solos != 0 && changed != 0), 'hotSolo: no records or list');
  fillInstrument(header, cache, instrument);
  const mark = load<i64>(column(header, H_INST_MARK) + (<usize>instrument << 3));
  return soloPass(header, cache + <usize>instrument * <usize>CACHE_STRIDE, solos, count, mark, load<i64>(entry + HT_SOLO_MARK), weight, changed);
}

/**
 * A tick of `instrument`'s hot book shared by threads (hot.ts sharedTick): its records (moved from
 * `markOld`, their scopes at `scopes`) and its solo records (`weight` as hotSolo's), as its entry in
 * the table at `table` says, in chunks of `chunk` records each thread takes by raising the u32 at
 * `counter` (zero before the first thread starts; every thread of the tick is given the same one and
 * a list of its own at `changed`, room for all the records of both kinds). Returns how many accounts this thread listed;
 * hotFailingDelta() gives its change in failing scopes.
 */
export function hotTickShared(header: usize, shard: usize, instrument: u32, table: usize, scopes: usize, markOld: i64, weight: f64, counter: usize, chunk: u32, changed: usize): u32 {
  assert(instrument < headerValue(header, H_INSTRUMENT_COUNT), 'hotTickShared: no such instrument');
  assert(shard != 0, 'hotTickShared: no shard record');
  const cache = <usize>load<u32>(shard + SHARD_CACHE);
  assert(cache != 0, 'hotTickShared: the shard record names no instrument cache');
  assert(table != 0 && counter != 0 && (counter & 3) == 0, 'hotTickShared: no table, or no aligned counter');
  assert(weight >= 0 && weight < f64.POSITIVE_INFINITY, 'hotTickShared: a weight that is not a finite non-negative number');
  assert(chunk >= 1, 'hotTickShared: chunks of no records');
  const entry = table + <usize>instrument * HOT_TABLE_STRIDE;
  const count = load<u32>(entry + HT_COUNT);
  const soloCount = load<u32>(entry + HT_SOLO_COUNT);
  assert((count == 0 || scopes != 0) && (count + soloCount == 0 || changed != 0), 'hotTickShared: no scopes or list');
  fillInstrument(header, cache, instrument);
  const mark = load<i64>(column(header, H_INST_MARK) + (<usize>instrument << 3));
  const c = cache + <usize>instrument * <usize>CACHE_STRIDE;
  return sharedTick(header, c, <usize>load<u32>(entry + HT_OFFSET), count, scopes, markOld, <usize>load<u32>(entry + HT_SOLO_OFFSET), soloCount, mark, load<i64>(entry + HT_SOLO_MARK), weight, counter, chunk, changed);
}

/** The checks both bound entries make first; fills and returns the shard's instrument cache. */
function boundEntry(header: usize, shard: usize, table: usize, bounds: usize, steps: usize): usize {
  assert(shard != 0, 'bounds: no shard record');
  const cache = <usize>load<u32>(shard + SHARD_CACHE);
  assert(cache != 0, 'bounds: the shard record names no instrument cache');
  assert(load<u32>(shard + SHARD_SCRATCH) != 0, 'bounds: the shard record names no scratch');
  assert(load<u32>(shard + SHARD_LIST) == 0, 'bounds: the shard record names a list (bound entries list nothing)');
  assert(table != 0 && bounds != 0, 'bounds: no bound table or no bounds column');
  assert(steps != 0, 'bounds: no steps column');
  fillCache(header, cache);
  return cache;
}

/**
 * The first account (its index + 1) holding a position of `instrument` whose unsettled funding at
 * `fundingIndex`, |z·q·(F − F_i)| / 10^6, would be above QUOTE_ABS_MAX micro; 0 when every one stays
 * in range. What a funding-index update checks before it is applied, when the engine's O(1) bound
 * (src/engine/engine.ts fundingOutOfRange) cannot vouch for it: O(positions) in 128-bit integers,
 * with no allocation.
 */
export function fundingOutOfRange(header: usize, instrument: u32, fundingIndex: i64): u32 {
  assert(instrument < headerValue(header, H_INSTRUMENT_COUNT), 'fundingOutOfRange: no such instrument');
  return firstFundingOutOfRange(header, instrument, fundingIndex);
}

/**
 * The tier table of `instrument` changed (its tier columns hold the new one): with SWEEP_CHUNKS,
 * writes the isolated record of each of its isolated positions in the fresh chunks again, exactly,
 * from the columns (chunks.ts refreshTierRecords): the isolated records of the chunks the
 * instrument's map names (H_INST_CHUNKS), a threshold computed for each of the instrument's. Cross
 * records need nothing. Returns the records written.
 */
export function refreshTiers(header: usize, shard: usize, instrument: u32, flags: u32): u32 {
  assert(instrument < headerValue(header, H_INSTRUMENT_COUNT), 'refreshTiers: no such instrument');
  assert(shard != 0, 'refreshTiers: no shard record');
  const cache = <usize>load<u32>(shard + SHARD_CACHE);
  assert(cache != 0, 'refreshTiers: the shard record names no instrument cache');
  if ((flags & SWEEP_CHUNKS) == 0) return 0;
  fillCache(header, cache); // every instrument: a chunk may be laid out again
  const written = refreshTierRecords(header, cache, instrument);
  compactStep(header, false); // what the moves of chunks laid out again owe a compaction under way
  return written;
}

/**
 * The first account (its index + 1) holding a position of `instrument` whose leverage is above
 * `cap`; 0 when none is, `slots` the position slots handed out (every held position is below it),
 * `out` a u32 the walk may write. What a tier table that lowers the instrument's largest max
 * leverage is checked against before it is applied (src/account/operations.ts setTiers):
 * O(positions), writes only `out`.
 */
export function leverageAbove(header: usize, instrument: u32, cap: u32, slots: u32, out: usize): u32 {
  assert(instrument < headerValue(header, H_INSTRUMENT_COUNT), 'leverageAbove: no such instrument');
  assert(out != 0, 'leverageAbove: no output');
  return firstLeverageAbove(header, instrument, cap, slots, out);
}

/**
 * Compacts the position arena: every account's block slides down over the slots among the first
 * `used` that no account holds (left by blocks that moved), in slot order, and the slots left
 * above are zeroed; returns the slots held, the arena's used slots from now on. `scratch` has
 * arenaScratchBytes(used) bytes. With SWEEP_CHUNKS in `flags`, the slots the fresh chunks'
 * isolated records name move with their positions, so the records stay those of the book (the
 * cross records name none). O(accounts + used + records).
 */
export function compactArena(header: usize, used: u32, scratch: usize, flags: u32): u32 {
  assert(scratch != 0, 'compactArena: no scratch');
  return slideBlocks(header, used, scratch, (flags & SWEEP_CHUNKS) != 0);
}

/**
 * The accounts holding a position of `instrument`, ascending, as u32 at `out`, which has room for
 * every account of the book; returns how many. What a new tier table tells the listeners of the
 * engine's changes (src/engine/engine.ts tiersChanged): O(positions), writes only `out`.
 */
export function holders(header: usize, instrument: u32, out: usize): u32 {
  assert(instrument < headerValue(header, H_INSTRUMENT_COUNT), 'holders: no such instrument');
  assert(out != 0, 'holders: no output');
  return writeHolders(header, instrument, 0, out, headerValue(header, H_ACCOUNT_COUNT));
}

/**
 * Per instrument, the least and the greatest funding snapshot of its positions and its funding
 * index, as two i64 at `out + 16·i` (instruments × 16 bytes): what lets a funding-index update
 * check its range in O(1) (src/engine/engine.ts fundingOutOfRange). One pass over the book.
 */
export function fundingSnapshotBounds(header: usize, out: usize): void {
  assert(out != 0, 'fundingSnapshotBounds: no output');
  writeFundingSnapshotBounds(header, out);
}

/**
 * Liquidation and bankruptcy prices of every position of the `count` accounts listed (u32 account
 * indices) at `accounts`, written in order as i64 pairs (liquidation, bankruptcy; 0 = none) at
 * `out`: the listed accounts' positions, account after account. Self-contained: it evaluates each
 * listed account itself and needs no sweep before it; `shard` lends its instrument cache.
 * Returns the number of pairs written. Each listed account is checked to be within the book
 * before it is read.
 */
export function prices(header: usize, shard: usize, accounts: usize, count: u32, out: usize): u32 {
  assert(shard != 0, 'prices: no shard record');
  const cache = <usize>load<u32>(shard + SHARD_CACHE);
  assert(cache != 0, 'prices: the shard record names no instrument cache');
  // The instruments the listed accounts hold, or every instrument when that is fewer to fill: the
  // orders of a live engine ask for one account at a time (9 µs a call with every instrument of a
  // 100-instrument book filled, most of it the fill).
  const accountCount = headerValue(header, H_ACCOUNT_COUNT);
  const accPosCount = column(header, H_ACC_POS_COUNT);
  let held: u64 = 0;
  for (let k: u32 = 0; k < count; k++) {
    const a = load<u32>(accounts + (<usize>k << 2));
    assert(a < accountCount, "prices: a listed account is past the book's account count");
    held += <u64>load<u32>(accPosCount + (<usize>a << 2));
  }
  if (held < <u64>headerValue(header, H_INSTRUMENT_COUNT)) {
    for (let k: u32 = 0; k < count; k++) fillAccountInstruments(header, cache, load<u32>(accounts + (<usize>k << 2)));
  } else fillCache(header, cache);
  return writePrices(header, cache, accounts, count, out);
}

/**
 * Applies the account operations recorded at `ops` (operations.ts OP_*: deposits and fills),
 * records [from, count), in order, or refuses them (each record's
 * OP_OUTCOME says which), up to the first it leaves to the control plane, and returns that one's
 * index (count when it took them all): the control plane applies or refuses that one and calls
 * again from the next (src/account/batch.ts). Each record is checked as it is reached; the u32
 * after the last record holds the index of the one reached, so that a failed check (an abort)
 * still tells the control plane which were taken. `arena` holds the position
 * arena's used slots (u32, which a fill that opens a position moves on) and capacity (u32). With
 * SWEEP_CHUNKS in `flags`, an applied deposit's derived state is refreshed here (its cross base
 * moved), and with APPLY_FILL_RECORDS too that of a fill keeping a cross position open where its
 * record can be rewritten in place (OUTCOME_REFRESHED), and, given a `shard` record whose instrument
 * cache it fills as it needs, that of a fill keeping an isolated position open; every other applied
 * record's is not: the control plane lists those accounts.
 */
export function applyUpdates(header: usize, ops: usize, from: u32, count: u32, arena: usize, flags: u32, shard: usize): u32 {
  const chunks = (flags & SWEEP_CHUNKS) != 0;
  const cache: usize = shard == 0 ? 0 : <usize>load<u32>(shard + SHARD_CACHE);
  return applyRecords(header, ops, from, count, arena, chunks, chunks && (flags & APPLY_FILL_RECORDS) != 0, cache);
}

/**
 * Sorts the `count` u32 values at `list` ascending, each value once at the front (sort.ts
 * sortUniqueList), with `scratch` (room for `count` values) and `counts` (SORT_COUNTS_BYTES);
 * returns how many distinct values there are.
 */
export function sortUnique(list: usize, count: u32, scratch: usize, counts: usize): u32 {
  assert(count == 0 || (list != 0 && scratch != 0), 'sortUnique: no list or scratch');
  assert(counts != 0, 'sortUnique: no counts');
  assert(list + (<usize>count << 2) <= scratch || scratch + (<usize>count << 2) <= list, 'sortUnique: the list and the scratch overlap');
  return sortUniqueList(list, count, scratch, counts);
}
