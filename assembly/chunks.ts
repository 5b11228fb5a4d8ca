// The chunk sweep: a status sweep from sweep records instead of the columns. Accounts are taken in
// chunks of CHUNK_ACCOUNTS, each with an area of records (layout.ts). A refresh of a whole chunk
// (a load) counts its records and marks it for rebuilding (layOutChunks), and the next sweep that
// reaches it rebuilds it (buildChunk); a refresh of one account rewrites that account's records in
// place (refreshAccount); a new funding index moves, in place and from the records alone, only the
// cross bases and residues its cross positions' debits feed, deferred in a funding slot
// (deferFunding): a sweep reads a chunk with it pending lazily, bounding each account's move and
// finding it exactly only where the bound leaves its status open, and settles the chunk on its turn
// (settleChunkFunding, fundingRecords), as does a refresh of one of its accounts; the isolated
// thresholds are not moved at all (their instrument's drift grows: writeIsolatedRecord).
// sweepChunk reads a chunk in three passes.
// docs/architecture.md describes the records; test/engine/chunk-sweep.test.ts holds this path to
// the column sweep (sweep.ts), and test/engine/production-path.test.ts to the reference.

import { SCALE_6, STATUS_HEALTHY, STATUS_LIQUIDATABLE, STATUS_BANKRUPT, MODE_CROSS, TIERS_MAX, POSITIONS_PER_ACCOUNT_MAX, QUOTE_ABS_MAX } from './constants';
import {
  H_INSTRUMENT_COUNT,
  H_INST_TIER_COUNT,
  H_INST_MARK,
  H_INST_DIV,
  H_TIER_RATE,
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
  H_POS_STATUS,
  H_SWEEP_RECORDS,
  H_CHUNKS,
  H_ACCOUNT_COUNT,
  SHARD_CANCEL,
  SHARD_LIST,
  SHARD_LIST_CAPACITY,
  SHARD_SCRATCH,
  SLOT_CROSS,
  CACHE_FLOORS,
  CACHE_Q,
  CACHE_FUNDING,
  CACHE_STRIDE,
  CACHE_ENTRIES,
  CACHE_ENTRY_BYTES,
  CACHE_ENTRY_DIVIDED_WIDTH,
  CACHE_DIV,
  CHUNK_ACCOUNTS,
  SWEEP_BASE_BYTES,
  CROSS_RECORD_BYTES,
  CROSS_ACCOUNT,
  CROSS_RESIDUE_SHIFT,
  CROSS_ENTRY,
  ISOLATED_RECORD_BYTES,
  CHUNK_MAINT_OFFSET,
  CHUNK_LAST_OFFSET,
  CHUNK_SCRATCH_BYTES,
  CHUNK_META_BYTES,
  CHUNK_OFFSET,
  CHUNK_CROSS,
  CHUNK_ISOLATED,
  CHUNK_STATE,
  CHUNK_FRESH,
  CHUNK_REBUILD,
  CHUNK_UNLAID,
  CHUNK_CAPACITY,
  CHUNK_ORDER,
  COMPACT_FREE_SHARE,
  COMPACT_RETRY_SHARE,
  COMPACT_PACE_MIN,
  COMPACT_PACE_MAX,
  COMPACT_IDLE,
  COMPACT_SLIDING,
  COMPACT_DECLINED,
  H_COMPACT_STATE,
  H_COMPACT_NEXT,
  H_COMPACT_COUNT,
  H_COMPACT_WRITE,
  H_COMPACT_ROUND_END,
  H_COMPACT_CREDIT,
  H_COMPACT_PACE,
  H_COMPACT_RETRY,
  H_COMPACT_START_FREE,
  H_COMPACTIONS,
  H_LAYOUT_ROOM,
  CHUNK_ROOM_MIN,
  CHUNK_ROOM_SHARE,
  SWEEP_RECORD_SLOT_BYTES,
  ISOLATED_MARK,
  ISOLATED_SLOT,
  ISOLATED_ACCOUNT_BITS,
  THRESHOLD_CLAMP,
  CACHE_MARK_LONG,
  CACHE_MARK_SHORT,
  CACHE_DRIFT_LONG,
  CACHE_DRIFT_SHORT,
  H_ACC_RECORDS,
  H_RECORDS_BYTES,
  H_RECORDS_TAIL,
  H_FUNDING_SLOTS,
  H_FUNDING_AGE,
  H_SWEEP_SERIAL,
  H_FUNDING_DIRTY,
  CHUNK_FUNDING,
  CHUNK_FUNDING_NONE,
  CHUNK_FUNDING_PENDING,
  CHUNK_FUNDING_SETTLING,
  CHUNK_FUNDING_STATE_MASK,
  CHUNK_FUNDING_SLOT_SHIFT,
  H_POS_COST,
  CACHE_TIERS,
  CACHE_TIER_BYTES,
  FUNDING_SEVERAL,
  H_INST_CHUNKS,
  H_INST_CHUNK_WORDS,
} from './layout';
import { column, headerValue, setHeaderValue } from './header';
import { bracketOf, maintenanceInBracket, fundingOwed, fundingResidue, notionalOf, valueOf } from './math';
import { liquidationThreshold, THRESHOLD_NEVER, THRESHOLD_ALWAYS } from './prices';
import { sweepRange, countIsolated, appendScope, countScopes } from './sweep';
import { debitOf } from './debits';
import { touchPosition } from './touch';
import { fillInstrument, fillThresholdInputs } from './cache';

/**
 * Records an area gets room for when a chunk that outgrew its area moves: CHUNK_ROOM_SHARE more,
 * at least CHUNK_ROOM_MIN. Areas handed out in a layout of the whole book get H_LAYOUT_ROOM records
 * of room (capacityFor): without it, the first position a chunk gained moved its area to the tail,
 * and the compactions those moves called for were most of a batch's refresh on a fresh book (mixed
 * batches on the 10M-account book 1.36 times as fast in their first 250,000 updates with 16 records
 * of room; the static sweep the same within 1%: bench/README.md, 2026-12-02, night).
 */
// @ts-ignore: decorator
@inline
function roomFor(records: u32): u32 {
  return records + max<u32>(CHUNK_ROOM_MIN, records / CHUNK_ROOM_SHARE);
}

/** Accounts in chunk `chunk` (the book's last chunk may be short). */
// @ts-ignore: decorator
@inline
function chunkAccounts(header: usize, chunk: u32): u32 {
  return min<u32>(headerValue(header, H_ACCOUNT_COUNT) - chunk * CHUNK_ACCOUNTS, CHUNK_ACCOUNTS);
}

/** The meta of chunk `chunk`. */
// @ts-ignore: decorator
@inline
function metaOf(header: usize, chunk: u32): usize {
  return column(header, H_CHUNKS) + <usize>chunk * <usize>CHUNK_META_BYTES;
}

/** Account a's records by kind, from the columns: cross in the low byte, isolated in the high byte. */
// @ts-ignore: decorator
@inline
function countsOf(header: usize, a: u32): u32 {
  const first = load<u32>(column(header, H_ACC_POS_START) + (<usize>a << 2));
  const count = load<u32>(column(header, H_ACC_POS_COUNT) + (<usize>a << 2));
  const posMode = column(header, H_POS_MODE);
  let cross: u32 = 0;
  for (let j = first; j < first + count; j++) cross += <u32>(load<u8>(posMode + j) == MODE_CROSS);
  return cross | ((count - cross) << 8);
}

/**
 * Records the area of the chunk whose meta is at `meta` (with its counts set) gets: with room to
 * grow when `room` (it outgrew its area), else with the room of a layout of the whole book.
 */
// @ts-ignore: decorator
@inline
function capacityFor(header: usize, meta: usize, room: bool): u32 {
  const records = load<u32>(meta, CHUNK_CROSS) + load<u32>(meta, CHUNK_ISOLATED);
  return room ? roomFor(records) : records + headerValue(header, H_LAYOUT_ROOM);
}

/** Bytes of an area of `capacity` records for `accounts` accounts: its record slots, then its accounts' bases. */
// @ts-ignore: decorator
@inline
function bytesFor(capacity: u32, accounts: u32): u64 {
  return <u64>capacity * SWEEP_RECORD_SLOT_BYTES + <u64>accounts * SWEEP_BASE_BYTES;
}

/**
 * Hands the chunk whose meta is at `meta` (with its counts set) a new area at the region's tail,
 * with room to grow when `room`, and marks it for rebuilding. While a compaction slides, the area
 * goes where the slide writes next instead when it fits below the next area still to slide (in
 * the holes the slide has passed: compactGap), and counts as slid. False when the region has no
 * room left.
 */
function placeAtTail(header: usize, meta: usize, accounts: u32, room: bool): bool {
  const capacity = capacityFor(header, meta, room);
  const bytes = bytesFor(capacity, accounts);
  let at = compactGap(header, bytes);
  if (at >= 0) {
    setHeaderValue(header, H_COMPACT_WRITE, <u32>at + <u32>bytes);
  } else {
    at = <i64>headerValue(header, H_RECORDS_TAIL);
    if (<u64>at + bytes > <u64>headerValue(header, H_RECORDS_BYTES)) return false;
    setHeaderValue(header, H_RECORDS_TAIL, <u32>at + <u32>bytes);
  }
  store<u32>(meta, <u32>at, CHUNK_OFFSET);
  store<u32>(meta, capacity, CHUNK_CAPACITY);
  markRebuild(meta);
  return true;
}

/**
 * While a compaction slides: where it writes next, when an area of `bytes` fits between there and
 * the next area of its round still to slide (or the round's end); else -1. An area placed there
 * is below where the slide writes, so the slide skips its chunk (compactStep).
 */
function compactGap(header: usize, bytes: u64): i64 {
  if (headerValue(header, H_COMPACT_STATE) != COMPACT_SLIDING) return -1;
  const write = headerValue(header, H_COMPACT_WRITE);
  const roundEnd = headerValue(header, H_COMPACT_ROUND_END);
  const count = headerValue(header, H_COMPACT_COUNT);
  let end = roundEnd;
  for (let i = headerValue(header, H_COMPACT_NEXT); i < count; i++) {
    const offset = orderedOffset(header, i);
    if (offset >= roundEnd || offset < write) continue; // moved since the round's order was taken
    end = offset;
    break;
  }
  return <u64>write + bytes <= <u64>end ? <i64>write : -1;
}

/**
 * placeAtTail, and when the region is full, again after a compaction (compactRoom) that leaves
 * room for it. False when even that would not: the caller repacks. For a chunk that is rebuilt
 * after it (its old area's content is not kept). A placement counts for the compaction
 * (placedAtTail).
 */
function placeOrCompact(header: usize, meta: usize, accounts: u32, room: bool): bool {
  const placed = placeAtTail(header, meta, accounts, room) || (compactRoom(header, bytesFor(capacityFor(header, meta, room), accounts)) && placeAtTail(header, meta, accounts, room));
  if (placed) placedAtTail(header, meta, accounts);
  return placed;
}

/**
 * Lays every placed chunk out again from the region's start, in chunk order with the room of a
 * layout of the whole book (H_LAYOUT_ROOM), each marked for rebuilding: when the tail has reached
 * the region's end and a compaction would not leave enough free (compactRoom). The region holds
 * every chunk with CHUNK_ROOM_MIN records of room (layout.ts), so this fits.
 */
function repack(header: usize): void {
  setHeaderValue(header, H_RECORDS_TAIL, 0);
  setHeaderValue(header, H_COMPACT_STATE, COMPACT_IDLE); // every area is placed again: a compaction's order is void
  const count = chunkCount(header);
  for (let chunk: u32 = 0; chunk < count; chunk++) {
    const meta = metaOf(header, chunk);
    if (load<u32>(meta, CHUNK_STATE) == CHUNK_UNLAID) continue;
    const placed = placeAtTail(header, meta, chunkAccounts(header, chunk), false);
    assert(placed, 'the sweep records region holds every chunk with the room of a layout');
  }
}

/**
 * Marks the chunk whose meta is at `meta` for rebuilding: its next build reads every debit from the
 * columns, at their funding indices, so no deferred funding refresh is left for it.
 */
// @ts-ignore: decorator
@inline
function markRebuild(meta: usize): void {
  store<u32>(meta, CHUNK_REBUILD, CHUNK_STATE);
  store<u32>(meta, CHUNK_FUNDING_NONE, CHUNK_FUNDING);
}

/** The chunks of the book. */
// @ts-ignore: decorator
@inline
function chunkCount(header: usize): u32 {
  return (headerValue(header, H_ACCOUNT_COUNT) + CHUNK_ACCOUNTS - 1) / CHUNK_ACCOUNTS;
}

/** Bytes of the area of chunk `chunk`, whose meta is at `meta`: its capacity's record slots and its accounts' bases. */
// @ts-ignore: decorator
@inline
function areaBytes(header: usize, meta: usize, chunk: u32): u32 {
  return <u32>bytesFor(load<u32>(meta, CHUNK_CAPACITY), chunkAccounts(header, chunk));
}

/** The offset of the area of the i-th chunk of the compaction's order (CHUNK_ORDER of chunk i's meta). */
// @ts-ignore: decorator
@inline
function orderedOffset(header: usize, i: u32): u32 {
  return load<u32>(metaOf(header, load<u32>(metaOf(header, i), CHUNK_ORDER)), CHUNK_OFFSET);
}

/** Heap sort's sift: the order's entries [root, end) by their areas' offsets. */
function siftOrder(header: usize, root: u32, end: u32): void {
  while (true) {
    let child: u32 = 2 * root + 1;
    if (child >= end) return;
    if (child + 1 < end && orderedOffset(header, child + 1) > orderedOffset(header, child)) child++;
    if (orderedOffset(header, root) >= orderedOffset(header, child)) return;
    const rootMeta = metaOf(header, root);
    const childMeta = metaOf(header, child);
    const swap = load<u32>(rootMeta, CHUNK_ORDER);
    store<u32>(rootMeta, load<u32>(childMeta, CHUNK_ORDER), CHUNK_ORDER);
    store<u32>(childMeta, swap, CHUNK_ORDER);
    root = child;
  }
}

/**
 * A compaction round's order: the placed chunks whose areas start at or past `from`, in the order of
 * their areas (a heap sort by offset, the i-th in chunk i's CHUNK_ORDER word). Returns how many.
 */
function orderAreas(header: usize, from: u32): u32 {
  const count = chunkCount(header);
  let placed: u32 = 0;
  for (let chunk: u32 = 0; chunk < count; chunk++) {
    const meta = metaOf(header, chunk);
    if (load<u32>(meta, CHUNK_STATE) == CHUNK_UNLAID || load<u32>(meta, CHUNK_OFFSET) < from) continue;
    store<u32>(metaOf(header, placed++), chunk, CHUNK_ORDER);
  }
  for (let i = placed / 2; i-- > 0; ) siftOrder(header, i, placed);
  for (let end = placed; end-- > 1; ) {
    const first = metaOf(header, 0);
    const last = metaOf(header, end);
    const swap = load<u32>(first, CHUNK_ORDER);
    store<u32>(first, load<u32>(last, CHUNK_ORDER), CHUNK_ORDER);
    store<u32>(last, swap, CHUNK_ORDER);
    siftOrder(header, 0, end);
  }
  return placed;
}

/** Bytes of the region the placed chunks' areas take (the tail less the holes). */
function usedBytes(header: usize): u64 {
  const count = chunkCount(header);
  let used: u64 = 0;
  for (let chunk: u32 = 0; chunk < count; chunk++) {
    const meta = metaOf(header, chunk);
    if (load<u32>(meta, CHUNK_STATE) != CHUNK_UNLAID) used += areaBytes(header, meta, chunk);
  }
  return used;
}

/**
 * Starts a compaction: its first round's order (every placed chunk), the slide's start at the
 * region's start, and its pace, the bytes it slides for each byte a move places at the tail (from
 * the `placed` bytes of the move that starts it on): 1.5 times what sliding `used` bytes over the
 * free tail needs, so that it ends with about a third of that tail still free (COMPACT_PACE_MIN to
 * COMPACT_PACE_MAX).
 */
function startCompaction(header: usize, used: u64, placed: u64): void {
  const tail = headerValue(header, H_RECORDS_TAIL);
  const free = <u64>headerValue(header, H_RECORDS_BYTES) - <u64>tail;
  const pace = min<u64>(max<u64>((3 * used + 2 * free - 1) / max<u64>(2 * free, 1), COMPACT_PACE_MIN), COMPACT_PACE_MAX); // ceil(1.5·used / free), within the bounds
  setHeaderValue(header, H_COMPACT_PACE, <u32>pace);
  setHeaderValue(header, H_COMPACT_COUNT, orderAreas(header, 0));
  setHeaderValue(header, H_COMPACT_NEXT, 0);
  setHeaderValue(header, H_COMPACT_WRITE, 0);
  setHeaderValue(header, H_COMPACT_ROUND_END, tail);
  setHeaderValue(header, H_COMPACT_CREDIT, <u32>min<u64>(placed * pace, <u64>U32.MAX_VALUE));
  setHeaderValue(header, H_COMPACT_STATE, COMPACT_SLIDING);
}

/**
 * The chunk whose meta is at `meta` (of `accounts` accounts) was just given an area by placeAtTail
 * (not by a repack). While a compaction slides, the area's bytes times its pace add to what it owes
 * (compactStep slides that much at the end of the refresh). Else,
 * once the tail leaves fewer than H_COMPACT_START_FREE bytes free, a compaction starts, if the holes
 * are at least 1/COMPACT_FREE_SHARE of the region; if not, it is tried again once the tail has grown
 * by 1/COMPACT_RETRY_SHARE of the region. Moves no area.
 */
function placedAtTail(header: usize, meta: usize, accounts: u32): void {
  const bytes = bytesFor(load<u32>(meta, CHUNK_CAPACITY), accounts);
  const state = headerValue(header, H_COMPACT_STATE);
  if (state == COMPACT_SLIDING) {
    const credit = <u64>headerValue(header, H_COMPACT_CREDIT) + bytes * <u64>headerValue(header, H_COMPACT_PACE);
    setHeaderValue(header, H_COMPACT_CREDIT, <u32>min<u64>(credit, <u64>U32.MAX_VALUE));
    return;
  }
  const regionBytes = headerValue(header, H_RECORDS_BYTES);
  const tail = headerValue(header, H_RECORDS_TAIL);
  if (<u64>regionBytes - <u64>tail >= <u64>headerValue(header, H_COMPACT_START_FREE)) return;
  if (state == COMPACT_DECLINED && tail < headerValue(header, H_COMPACT_RETRY)) return;
  const used = usedBytes(header);
  if (<u64>tail - used < <u64>(regionBytes / COMPACT_FREE_SHARE)) {
    setHeaderValue(header, H_COMPACT_STATE, COMPACT_DECLINED);
    setHeaderValue(header, H_COMPACT_RETRY, <u32>min<u64>(<u64>tail + regionBytes / COMPACT_RETRY_SHARE, <u64>U32.MAX_VALUE));
    return;
  }
  startCompaction(header, used, bytes);
}

/**
 * Slides the areas of the compaction under way down, in the order of their areas, each over the
 * holes below it, so that no area is written over before it has moved: as many bytes as it owes
 * (H_COMPACT_CREDIT), or, with `finish`, to its end. Each chunk keeps its state, records and room: a
 * fresh chunk stays fresh, and the next sweep rebuilds nothing. A chunk that moved after its
 * round's order was taken is skipped (its area is at or past the round's end, or, placed in the
 * holes the slide had passed, below where the slide writes). A round
 * ends when its order is done; the areas placed at the tail meanwhile are the next round's, and
 * the compaction ends with a round that has none: the tail goes back to where the slide ended.
 * Called where no caller holds an area's address (the end of a refresh), or by compactRoom.
 */
export function compactStep(header: usize, finish: bool): void {
  if (headerValue(header, H_COMPACT_STATE) != COMPACT_SLIDING) return;
  let credit = headerValue(header, H_COMPACT_CREDIT);
  if (credit == 0 && !finish) return;
  const records = column(header, H_SWEEP_RECORDS);
  let next = headerValue(header, H_COMPACT_NEXT);
  let count = headerValue(header, H_COMPACT_COUNT);
  let write = headerValue(header, H_COMPACT_WRITE);
  let roundEnd = headerValue(header, H_COMPACT_ROUND_END);
  while (finish || credit > 0) {
    if (next == count) {
      const tail = headerValue(header, H_RECORDS_TAIL);
      count = orderAreas(header, roundEnd);
      next = 0;
      if (count == 0) {
        // Nothing was placed at or past the round's end, or it all moved again: everything from
        // where the slide ended is free.
        setHeaderValue(header, H_RECORDS_TAIL, write);
        setHeaderValue(header, H_COMPACT_STATE, COMPACT_IDLE);
        setHeaderValue(header, H_COMPACTIONS, headerValue(header, H_COMPACTIONS) + 1);
        return;
      }
      roundEnd = tail;
      continue;
    }
    const chunk = load<u32>(metaOf(header, next++), CHUNK_ORDER);
    const meta = metaOf(header, chunk);
    const offset = load<u32>(meta, CHUNK_OFFSET);
    // Moved since the round's order was taken: to the tail (the next round's), or below where the
    // slide writes (placed in the holes it passed: placeAtTail). Every other area is at or past it.
    if (offset >= roundEnd || offset < write) continue;
    const bytes = areaBytes(header, meta, chunk);
    if (offset != write) {
      memory.copy(records + <usize>write, records + <usize>offset, bytes);
      store<u32>(meta, write, CHUNK_OFFSET);
    }
    write += bytes;
    credit = credit > bytes ? credit - bytes : 0;
  }
  setHeaderValue(header, H_COMPACT_NEXT, next);
  setHeaderValue(header, H_COMPACT_COUNT, count);
  setHeaderValue(header, H_COMPACT_WRITE, write);
  setHeaderValue(header, H_COMPACT_ROUND_END, roundEnd);
  setHeaderValue(header, H_COMPACT_CREDIT, credit);
}

/**
 * Makes room at the region's tail, which has reached its end, by a compaction run to its end
 * (compactStep): the one under way, or else a new one. Returns whether the tail then leaves
 * `needed` bytes free (the area waiting for a place). A new one is not started, and nothing changes,
 * when it would leave less free than `needed` or 1/COMPACT_FREE_SHARE of the region: the caller then
 * lays everything out again (repack), which gives the room of the moved chunks back too. A chunk
 * whose area moves after this must read its offset again.
 */
function compactRoom(header: usize, needed: u64): bool {
  const regionBytes = <u64>headerValue(header, H_RECORDS_BYTES);
  if (headerValue(header, H_COMPACT_STATE) != COMPACT_SLIDING) {
    const used = usedBytes(header);
    const free = regionBytes - used;
    if (free < needed || free < regionBytes / COMPACT_FREE_SHARE) return false;
    startCompaction(header, used, 0); // run to its end below
  }
  compactStep(header, true);
  return regionBytes - <u64>headerValue(header, H_RECORDS_TAIL) >= needed;
}

/**
 * The chunk layout part of a refresh of accounts [accountStart, accountEnd) (accountStart <
 * accountEnd). In a fresh chunk the range only cuts through, each account in the range is
 * refreshed in place (refreshAccount). In a chunk already marked for rebuilding that the range cuts
 * through, only the range's accounts are counted again (their counts and the chunk's totals, by
 * difference), in proportion to the accounts and not to the chunk. A chunk the range covers whole,
 * or not laid out yet, is counted again from the columns. Either of the last two is kept in its
 * area when its records fit the area's capacity, or else given a new one at the tail (after a
 * compaction when the tail has reached the region's end, or a repack when that would not leave
 * enough free), and marked for rebuilding. The cache must hold the instruments of those
 * accounts' positions.
 */
export function layOutChunks(header: usize, cache: usize, accountStart: u32, accountEnd: u32): void {
  const accRecords = column(header, H_ACC_RECORDS);
  let repacked = false;
  for (let chunk = accountStart / CHUNK_ACCOUNTS; chunk <= (accountEnd - 1) / CHUNK_ACCOUNTS; chunk++) {
    const c0 = chunk * CHUNK_ACCOUNTS;
    const accounts = chunkAccounts(header, chunk);
    const c1 = c0 + accounts;
    const meta = metaOf(header, chunk);
    const state = load<u32>(meta, CHUNK_STATE);
    const cuts = c0 < accountStart || c1 > accountEnd;
    // A deferred funding refresh reaches the chunk's records before any account of it is refreshed
    // (whose records are then made at the columns' indices, like the rest of the chunk's).
    if (state == CHUNK_FRESH && cuts && settleChunkFunding(header, cache, chunk, true)) {
      for (let a = max<u32>(c0, accountStart); a < min<u32>(c1, accountEnd); a++) refreshAccount(header, cache, a);
      continue;
    }
    if (state == CHUNK_FRESH && cuts) continue; // laid out again whole by the settle: its next sweep rebuilds it
    let cross: u32 = 0;
    let isolated: u32 = 0;
    let from = c0;
    let to = c1;
    if (state == CHUNK_REBUILD && cuts) {
      // Its counts are current but for the range's accounts: those are taken out and counted again.
      cross = load<u32>(meta, CHUNK_CROSS);
      isolated = load<u32>(meta, CHUNK_ISOLATED);
      from = max<u32>(c0, accountStart);
      to = min<u32>(c1, accountEnd);
      for (let a = from; a < to; a++) {
        const old = <u32>load<u16>(accRecords + (<usize>a << 1));
        cross -= old & 0xff;
        isolated -= old >> 8;
      }
    }
    for (let a = from; a < to; a++) {
      const counts = countsOf(header, a);
      store<u16>(accRecords + (<usize>a << 1), <u16>counts);
      cross += counts & 0xff;
      isolated += counts >> 8;
    }
    store<u32>(meta, cross, CHUNK_CROSS);
    store<u32>(meta, isolated, CHUNK_ISOLATED);
    const room = state != CHUNK_UNLAID;
    if (room && cross + isolated <= load<u32>(meta, CHUNK_CAPACITY)) {
      markRebuild(meta);
    } else if (repacked || !placeOrCompact(header, meta, accounts, room)) {
      // Placed by the repack at the end. Once one is waiting for it, no compaction runs: a chunk
      // marked here has no area yet for a compaction to slide.
      markRebuild(meta);
      repacked = true;
    }
  }
  if (repacked) repack(header);
}

/**
 * Loads what refreshing the `count` accounts listed at `accounts` reads first, in two passes of
 * loads that do not wait on each other: each account's columns and its chunk's meta, then its
 * first position's columns and its chunk's area. On a book far larger than the caches every one of
 * those is a miss; taken one account after another they come one at a time, here many are in
 * flight at once, and the refresh then finds them in cache. Returns a sum of what it loaded, for
 * the caller to store, so that the loads are kept.
 */
export function touchListed(header: usize, accounts: usize, count: u32): i64 {
  const accPosStart = column(header, H_ACC_POS_START);
  const accPosCount = column(header, H_ACC_POS_COUNT);
  const accBalance = column(header, H_ACC_BALANCE);
  const accRecords = column(header, H_ACC_RECORDS);
  let sum: i64 = 0;
  for (let k: u32 = 0; k < count; k++) {
    const a = load<u32>(accounts + (<usize>k << 2));
    sum += <i64>load<u32>(accPosStart + (<usize>a << 2)) + <i64>load<u32>(accPosCount + (<usize>a << 2)) + load<i64>(accBalance + (<usize>a << 3));
    sum += <i64>load<u16>(accRecords + (<usize>a << 1)) + <i64>load<u32>(metaOf(header, a / CHUNK_ACCOUNTS), CHUNK_OFFSET);
  }
  const records = column(header, H_SWEEP_RECORDS);
  for (let k: u32 = 0; k < count; k++) {
    const a = load<u32>(accounts + (<usize>k << 2));
    sum += touchPosition(header, <usize>load<u32>(accPosStart + (<usize>a << 2)));
    const chunk = a / CHUNK_ACCOUNTS;
    const meta = metaOf(header, chunk);
    if (load<u32>(meta, CHUNK_STATE) == CHUNK_UNLAID) continue;
    // The area's lines the refresh reads: its account's base (found from the chunk's totals), and
    // about where its cross records are (the same share of the chunk's records as of its accounts),
    // and the chunk's record counts the refresh sums up to it.
    const at = a - chunk * CHUNK_ACCOUNTS;
    const cross = load<u32>(meta, CHUNK_CROSS);
    const area = records + <usize>load<u32>(meta, CHUNK_OFFSET);
    const bases = area + <usize>(cross + load<u32>(meta, CHUNK_ISOLATED)) * SWEEP_RECORD_SLOT_BYTES;
    sum += load<i64>(bases + (<usize>at << 3)) + load<i64>(area + <usize>((cross * at) / chunkAccounts(header, chunk)) * SWEEP_RECORD_SLOT_BYTES);
    sum += <i64>load<u16>(accRecords + (<usize>(chunk * CHUNK_ACCOUNTS) << 1));
  }
  return sum;
}

/**
 * The records of accounts [c0, a) of a chunk (c0 its first account, so accRecords + 2·c0 is 16-byte
 * aligned), by their counts in the column accRecords (cross in each u16's low byte, isolated in its
 * high byte): the cross records in the low 16 bits of the result, the isolated in the high 16. Eight
 * accounts a v128 (their loads independent, so that the lines a long prefix misses come together),
 * the rest one by one. At most CHUNK_ACCOUNTS − 1 accounts of at most POSITIONS_PER_ACCOUNT_MAX
 * records each (255 · 128 < 2^16): no u16 lane and neither half of the result overflows.
 */
// @ts-ignore: decorator
@inline
function recordsBefore(accRecords: usize, c0: u32, a: u32): u32 {
  let low = i16x8.splat(0);
  let high = i16x8.splat(0);
  const byte = i16x8.splat(0xff);
  let b = c0;
  for (; b + 8 <= a; b += 8) {
    const w = v128.load(accRecords + (<usize>b << 1));
    low = i16x8.add(low, v128.and(w, byte));
    high = i16x8.add(high, i16x8.shr_u(w, 8));
  }
  // The lanes summed: pairs, then the four u32 sums.
  const sums = i32x4.add(i32x4.extadd_pairwise_i16x8_u(low), i32x4.shl(i32x4.extadd_pairwise_i16x8_u(high), 16));
  let total = <u32>i32x4.extract_lane(sums, 0) + <u32>i32x4.extract_lane(sums, 1) + <u32>i32x4.extract_lane(sums, 2) + <u32>i32x4.extract_lane(sums, 3);
  for (; b < a; b++) {
    const w = <u32>load<u16>(accRecords + (<usize>b << 1));
    total += (w & 0xff) | ((w >> 8) << 16);
  }
  return total;
}

/**
 * Refreshes account a's records in its fresh chunk, in place: when its counts of cross or isolated
 * records changed, the chunk's later records shift to make room (two moves within the area), or,
 * past the area's capacity, the chunk moves to a new area and is marked for rebuilding; then its
 * records and cross base are written from the columns. The cache must hold its instruments.
 */
function refreshAccount(header: usize, cache: usize, a: u32): void {
  const accRecords = column(header, H_ACC_RECORDS);
  const chunk = a / CHUNK_ACCOUNTS;
  const c0 = chunk * CHUNK_ACCOUNTS;
  const meta = metaOf(header, chunk);
  const counts = countsOf(header, a);
  const old = <u32>load<u16>(accRecords + (<usize>a << 1));
  // Where its records start: after the records of the chunk's accounts before it, of each kind.
  const before = recordsBefore(accRecords, c0, a);
  const crossBefore = before & 0xffff;
  const isolatedBefore = before >> 16;
  let area = column(header, H_SWEEP_RECORDS) + <usize>load<u32>(meta, CHUNK_OFFSET);
  let crossTotal = load<u32>(meta, CHUNK_CROSS);
  const isolatedTotal = load<u32>(meta, CHUNK_ISOLATED);
  if (counts != old) {
    const crossDelta = <i32>(counts & 0xff) - <i32>(old & 0xff);
    const isolatedDelta = <i32>(counts >> 8) - <i32>(old >> 8);
    const nextCross = <u32>(<i32>crossTotal + crossDelta);
    const nextIsolated = <u32>(<i32>isolatedTotal + isolatedDelta);
    const accounts = <usize>chunkAccounts(header, chunk) * SWEEP_BASE_BYTES;
    if (nextCross + nextIsolated > load<u32>(meta, CHUNK_CAPACITY)) {
      // Outgrown: its records and bases are copied to a new area, with room, at the region's tail.
      const used = <usize>crossTotal * CROSS_RECORD_BYTES + <usize>isolatedTotal * ISOLATED_RECORD_BYTES + accounts;
      store<u32>(meta, nextCross, CHUNK_CROSS);
      store<u32>(meta, nextIsolated, CHUNK_ISOLATED);
      const count = chunkAccounts(header, chunk);
      let placed = placeAtTail(header, meta, count, true);
      if (!placed && compactRoom(header, bytesFor(capacityFor(header, meta, true), count))) {
        area = column(header, H_SWEEP_RECORDS) + <usize>load<u32>(meta, CHUNK_OFFSET); // the compaction moved it
        placed = placeAtTail(header, meta, count, true);
      }
      if (!placed) {
        store<u16>(accRecords + (<usize>a << 1), <u16>counts);
        repack(header);
        return; // every chunk is rebuilt whole by the next sweep
      }
      store<u32>(meta, CHUNK_FRESH, CHUNK_STATE); // placeAtTail marked it for rebuilding: it is copied instead
      markFundingDirty(header);
      const moved = column(header, H_SWEEP_RECORDS) + <usize>load<u32>(meta, CHUNK_OFFSET);
      memory.copy(moved, area, used);
      area = moved;
      placedAtTail(header, meta, count);
    }
    store<u16>(accRecords + (<usize>a << 1), <u16>counts);
    store<u32>(meta, nextCross, CHUNK_CROSS);
    store<u32>(meta, nextIsolated, CHUNK_ISOLATED);
    // Two moves within the area: everything after its cross records (the later cross records,
    // every isolated record, the bases) by its change in cross records, and everything after its
    // isolated records (the later ones, the bases) by its change in isolated records. The one
    // that shrinks goes first, so that the area never holds more than before or after.
    const crossAfter = area + <usize>(crossBefore + (old & 0xff)) * CROSS_RECORD_BYTES;
    const laterCross = crossTotal - crossBefore - (old & 0xff);
    if (crossDelta > 0 && isolatedDelta < 0) {
      shiftTail(area + <usize>crossTotal * CROSS_RECORD_BYTES, isolatedBefore + (old >> 8), isolatedTotal, accounts, isolatedDelta);
      shiftTail(crossAfter, 0, laterCross + nextIsolated, accounts, crossDelta);
    } else {
      shiftTail(crossAfter, 0, laterCross + isolatedTotal, accounts, crossDelta);
      shiftTail(area + <usize>nextCross * CROSS_RECORD_BYTES, isolatedBefore + (old >> 8), isolatedTotal, accounts, isolatedDelta);
    }
    crossTotal = nextCross;
  }
  const bases = area + <usize>crossTotal * CROSS_RECORD_BYTES + <usize>load<u32>(meta, CHUNK_ISOLATED) * ISOLATED_RECORD_BYTES;
  writeAccount(
    header,
    cache,
    a,
    c0,
    area + <usize>crossBefore * CROSS_RECORD_BYTES,
    area + <usize>crossTotal * CROSS_RECORD_BYTES + <usize>isolatedBefore * ISOLATED_RECORD_BYTES,
    bases + (<usize>(a - c0) << 3),
  );
}

/**
 * Moves records [from, to) of the 16-byte records starting at `section`, and the `bases` bytes of
 * cross bases after record `to`, by `delta` records (memory.copy: the ranges may overlap).
 */
function shiftTail(section: usize, from: u32, to: u32, bases: usize, delta: i32): void {
  if (delta == 0) return;
  const start = section + <usize>from * SWEEP_RECORD_SLOT_BYTES;
  const end = section + <usize>to * SWEEP_RECORD_SLOT_BYTES + bases;
  memory.copy(<usize>(<isize>start + <isize>delta * SWEEP_RECORD_SLOT_BYTES), start, end - start);
}

/**
 * Writes account a's sweep records (of chunk c0) from the columns: its cross records at `crossAt`,
 * its isolated records at `isolatedAt`, its cross base at `baseAt`, and a 0 status for each of its
 * cross slots (the chunk sweep writes statuses for isolated slots only). Returns its counts (cross
 * in the low byte, isolated in the high byte).
 */
function writeAccount(header: usize, cache: usize, a: u32, c0: u32, crossAt: usize, isolatedAt: usize, baseAt: usize): u32 {
  const first = load<u32>(column(header, H_ACC_POS_START) + (<usize>a << 2));
  const end = first + load<u32>(column(header, H_ACC_POS_COUNT) + (<usize>a << 2));
  const instTierCount = column(header, H_INST_TIER_COUNT);
  const posSize = column(header, H_POS_SIZE);
  const posMargin = column(header, H_POS_MARGIN);
  const posInst = column(header, H_POS_INST);
  const posMode = column(header, H_POS_MODE);
  const posStatus = column(header, H_POS_STATUS);
  const posCost = column(header, H_POS_COST);
  const posFunding = column(header, H_POS_FUNDING);
  let base = load<i64>(column(header, H_ACC_BALANCE) + (<usize>a << 3));
  let cross: u32 = 0;
  let isolated: u32 = 0;
  for (let j = first; j < end; j++) {
    const inst = <usize>load<u16>(posInst + (<usize>j << 1));
    const c = cache + inst * <usize>CACHE_STRIDE;
    const size = load<i64>(posSize + (<usize>j << 3));
    if (load<u8>(posMode + j) == MODE_CROSS) {
      const k = bracketOf(notionalOf(valueOf(size, c), size), c + CACHE_FLOORS);
      // The debit (debits.ts positionDebit), with the funding owed's rounding residue kept.
      const j8 = <usize>j << 3;
      const sizeQuote = size * load<i64>(c + CACHE_Q);
      const fundingDelta = load<i64>(c + CACHE_FUNDING) - load<i64>(posFunding + j8);
      const owed = fundingOwed(sizeQuote, fundingDelta);
      base -= load<i64>(posCost + j8) + owed; // |balance| + 128 debits ≤ 2.6·10^18
      const r = crossAt + <usize>cross * CROSS_RECORD_BYTES;
      store<i64>(r, size);
      store<u32>(r, (a - c0) | (fundingResidue(owed, sizeQuote, fundingDelta) << CROSS_RESIDUE_SHIFT), CROSS_ACCOUNT);
      store<u32>(r, <u32>(inst * <usize>CACHE_STRIDE + <usize>CACHE_ENTRIES + k * <usize>CACHE_ENTRY_BYTES), CROSS_ENTRY);
      store<u8>(posStatus + j, STATUS_HEALTHY);
      cross++;
      continue;
    }
    writeIsolatedRecord(
      isolatedAt + <usize>isolated * ISOLATED_RECORD_BYTES,
      c,
      inst,
      instTierCount,
      size,
      load<i64>(posMargin + (<usize>j << 3)) - debitOf(header, c, j),
      a - c0,
      j,
    );
    noteIsolated(header, <u32>inst, c0 / CHUNK_ACCOUNTS);
    isolated++;
  }
  store<i64>(baseAt, base);
  return cross | (isolated << 8);
}

/**
 * Writes the isolated record of position j (size `size` on instrument `inst`, cached at `c`; its
 * margin less its debit `equityAtZero`; account `accountInChunk` of its chunk) at r: its
 * liquidation threshold shifted up with the account below it, the mark it is compared with, its
 * slot. What a chunk's build writes (writeAccount), and what a position found at or past its
 * threshold and healthy gets back (isolatedFailing). The threshold does not depend on the mark: the
 * bracket of the notional at the mark is only where the search for the root's bracket starts. It is
 * stored less its side's drift now (cache CACHE_DRIFT_*), and compared with the mark less the
 * drift then: funding moves after this write count against it, and nothing rewrites it for them.
 */
// @ts-ignore: decorator
@inline
function writeIsolatedRecord(r: usize, c: usize, inst: usize, instTierCount: usize, size: i64, equityAtZero: i64, accountInChunk: u32, j: u32): void {
  const sizeQuote = size * load<i64>(c + CACHE_Q);
  // equityAtZero is the equity at a price of zero: margin + PnL = margin + sizeQuote·p − debit.
  let liquidatable: i64;
  if (sizeQuote == 0) {
    // No price moves it: MM is 0, so it is liquidatable (and bankrupt) iff its equity is below 0.
    liquidatable = equityAtZero < 0 ? THRESHOLD_ALWAYS : THRESHOLD_NEVER;
  } else {
    const start = <i32>bracketOf(notionalOf(valueOf(size, c), size), c + CACHE_FLOORS);
    liquidatable = liquidationThreshold(sizeQuote, equityAtZero, c, load<i32>(instTierCount + (inst << 2)), start);
  }
  let clamped = max<i64>(-THRESHOLD_CLAMP, min<i64>(THRESHOLD_CLAMP, liquidatable));
  const long = sizeQuote >= 0;
  // A long's threshold at or below 0 only says that no mark fails (marks are positive): from 0,
  // a later drift moves it as it moves the others.
  if (long) clamped = max<i64>(clamped, 0);
  const stored = clamped - load<i64>(c + (long ? CACHE_DRIFT_LONG : CACHE_DRIFT_SHORT));
  store<i64>(r, (stored << ISOLATED_ACCOUNT_BITS) | <i64>accountInChunk);
  store<u32>(r, <u32>(inst * <usize>CACHE_STRIDE) + (long ? CACHE_MARK_LONG : CACHE_MARK_SHORT), ISOLATED_MARK);
  store<u32>(r, j, ISOLATED_SLOT);
}

/**
 * Chunk `chunk` holds an isolated record of instrument `inst` (one was written there): sets its bit
 * in the instrument's map (assembly/layout.ts H_INST_CHUNKS), which a new tier table reads to visit
 * only those chunks. Workers building chunks side by side share the map's words (32 chunks a word),
 * so a bit not set yet is set by an atomic or; one set already is only read.
 */
// @ts-ignore: decorator
@inline
function noteIsolated(header: usize, inst: u32, chunk: u32): void {
  const at = column(header, H_INST_CHUNKS) + ((<usize>inst * <usize>headerValue(header, H_INST_CHUNK_WORDS) + <usize>(chunk >> 5)) << 2);
  const bit: u32 = 1 << (chunk & 31);
  if ((load<u32>(at) & bit) == 0) atomic.or<u32>(at, bit);
}

/** Bytes per entry of a balance refresh's list: u32 the account, i64 the change of its balance. */
export const BALANCE_CHANGE_BYTES: u32 = 16;
export const BC_ACCOUNT: u32 = 0;
export const BC_DELTA: u32 = 8;

/**
 * The balances of the `count` accounts listed at `changes` (BALANCE_CHANGE_BYTES each: account,
 * change; repeats allowed, any order) changed by those amounts, and nothing else of theirs: moves
 * each one's cross base in its fresh chunk's records by the change, exactly what laying it out
 * again would write (the base is its balance less its cross debits), without reading its positions
 * or shifting any record. A chunk marked for rebuilding, or unlaid, reads the balance column when it
 * is built. In two passes: the chunks' metas first, then the bases, so that the misses of a long
 * list are in flight together. Returns a sum of the first pass's loads, for the caller to store, so
 * that they are kept (touchListed's way).
 */
export function refreshBalanceRecords(header: usize, changes: usize, count: u32): u32 {
  let sum: u32 = 0;
  for (let k: u32 = 0; k < count; k++) sum += chunkStateOf(header, load<u32>(changes + <usize>k * BALANCE_CHANGE_BYTES, BC_ACCOUNT));
  for (let k: u32 = 0; k < count; k++) {
    const entry = changes + <usize>k * BALANCE_CHANGE_BYTES;
    moveCrossBase(header, load<u32>(entry, BC_ACCOUNT), load<i64>(entry, BC_DELTA));
  }
  return sum;
}

/**
 * Account a's balance changed by `delta`, and nothing else of it: its cross base in its fresh
 * chunk's records moves by the change (a chunk marked for rebuilding, or unlaid, reads the balance
 * column when it is built). What refreshBalanceRecords does for each account it lists, and what a
 * batch's deposit applied in the kernel does at once (operations.ts).
 */
export function moveCrossBase(header: usize, a: u32, delta: i64): void {
  const base = crossBaseAt(header, a);
  if (base != 0) store<i64>(base, load<i64>(base) + delta);
}

/** Where account a's cross base is in its chunk's records, or 0 when its chunk is not fresh (its base is made when it is built). */
export function crossBaseAt(header: usize, a: u32): usize {
  const meta = metaOf(header, a / CHUNK_ACCOUNTS);
  return load<u32>(meta, CHUNK_STATE) == CHUNK_FRESH ? baseIn(header, meta, a) : 0;
}

/** Where account a's cross base is in its chunk's area (meta at `meta`): after the chunk's records. */
// @ts-ignore: decorator
@inline
function baseIn(header: usize, meta: usize, a: u32): usize {
  const bases = column(header, H_SWEEP_RECORDS) + <usize>load<u32>(meta, CHUNK_OFFSET) + <usize>(load<u32>(meta, CHUNK_CROSS) + load<u32>(meta, CHUNK_ISOLATED)) * SWEEP_RECORD_SLOT_BYTES;
  return bases + (<usize>(a % CHUNK_ACCOUNTS) << 3);
}

/**
 * Where the record of account a's position j (its block starts at slot `first`; isolated or cross)
 * is in the area of its chunk (meta at `meta`): the record at the position's rank among the
 * account's records of its kind. 0 when the chunk is not fresh, has a funding refresh pending, or
 * the account's records hold no record of that rank (what the in-place rewrites of a fill share;
 * each then checks that the record is the position's).
 */
// @ts-ignore: decorator
@inline
function recordOfPosition(header: usize, meta: usize, a: u32, j: u32, first: u32, isolated: bool): usize {
  if (load<u32>(meta, CHUNK_STATE) != CHUNK_FRESH || load<u32>(meta, CHUNK_FUNDING) != CHUNK_FUNDING_NONE) return 0;
  const modes = column(header, H_POS_MODE);
  let rank: u32 = 0;
  for (let s = first; s < j; s++) rank += <u32>((load<u8>(modes + <usize>s) != MODE_CROSS) == isolated);
  const accRecords = column(header, H_ACC_RECORDS);
  const counts = <u32>load<u16>(accRecords + (<usize>a << 1));
  if (rank >= (isolated ? counts >> 8 : counts & 0xff)) return 0;
  const before = recordsBefore(accRecords, a / CHUNK_ACCOUNTS * CHUNK_ACCOUNTS, a);
  const area = column(header, H_SWEEP_RECORDS) + <usize>load<u32>(meta, CHUNK_OFFSET);
  if (!isolated) return area + <usize>((before & 0xffff) + rank) * CROSS_RECORD_BYTES;
  return area + <usize>load<u32>(meta, CHUNK_CROSS) * CROSS_RECORD_BYTES + <usize>((before >> 16) + rank) * ISOLATED_RECORD_BYTES;
}

/**
 * A fill changed account a's cross position j on instrument `inst` (its block starts at slot
 * `first`) and left it open, its funding settled: its size is now `size`, in bracket `bracket` at the
 * mark, and the account's balance less its cross debits moved by `baseDelta`. Rewrites
 * that position's record and the account's cross base in place, as a refresh of the account would
 * write them (the residue 0: the snapshot is the index), when its chunk is fresh with no funding
 * refresh pending and the record where the position's is found is one of a's on `inst`: a cross
 * record per (account, instrument), so it is that position's. Returns whether it did; if not, the
 * caller has the account refreshed (Engine.accountsChanged). An account whose records an earlier
 * change left behind is refreshed from its columns at the end of the batch anyway, which overwrites
 * whatever this wrote for it; one with no such change has records that match its positions.
 */
export function refreshCrossRecord(header: usize, a: u32, j: u32, first: u32, inst: u32, size: i64, bracket: u32, baseDelta: i64): bool {
  const c0 = a / CHUNK_ACCOUNTS * CHUNK_ACCOUNTS;
  const meta = metaOf(header, a / CHUNK_ACCOUNTS);
  const r = recordOfPosition(header, meta, a, j, first, false);
  if (r == 0 || <u32>load<u8>(r, CROSS_ACCOUNT) != a - c0 || load<u32>(r, CROSS_ENTRY) / CACHE_STRIDE != inst) return false;
  store<i64>(r, size);
  store<u32>(r, a - c0, CROSS_ACCOUNT); // residue 0
  store<u32>(r, inst * CACHE_STRIDE + CACHE_ENTRIES + bracket * CACHE_ENTRY_BYTES, CROSS_ENTRY);
  const base = baseIn(header, meta, a);
  store<i64>(base, load<i64>(base) + baseDelta);
  return true;
}

/**
 * A fill changed account a's isolated position j on instrument `inst` (its block starts at slot
 * `first`) and left it open, its funding settled: its size is now `size`, its margin less its cost
 * `equityAtZero` (its debit is its cost: the snapshot is the index), and the account's balance moved
 * by `baseDelta` (the margin a fill adds comes from the wallet). Rewrites that position's isolated
 * record, exactly as a refresh of the account writes it (writeIsolatedRecord, from instrument
 * `inst`'s part of the instrument cache at `cache`, whose threshold inputs it fills from the
 * columns first: cache.ts fillThresholdInputs), and moves the
 * account's cross base by `baseDelta`, when its chunk is fresh with no funding refresh pending and
 * the record where the position's is found is a's for slot j. Returns whether it did; if not, the
 * caller has the account refreshed (Engine.accountsChanged). As refreshCrossRecord: an account an
 * earlier change left behind is refreshed from its columns at the end of the batch anyway.
 */
export function refreshIsolatedRecord(header: usize, cache: usize, a: u32, j: u32, first: u32, inst: u32, size: i64, equityAtZero: i64, baseDelta: i64): bool {
  const c0 = a / CHUNK_ACCOUNTS * CHUNK_ACCOUNTS;
  const meta = metaOf(header, a / CHUNK_ACCOUNTS);
  const r = recordOfPosition(header, meta, a, j, first, true);
  if (r == 0 || load<u32>(r, ISOLATED_SLOT) != j || <u32>(load<i64>(r) & ((<i64>1 << ISOLATED_ACCOUNT_BITS) - 1)) != a - c0) return false;
  // (No bit of the map by instrument is set here. The record was written by a refresh that set
  // its instrument's bit; one an earlier change of the account left naming another instrument's
  // position in this slot is written again, with its bits, by the account's refresh at the end of
  // the batch.)
  fillThresholdInputs(header, cache, inst);
  writeIsolatedRecord(r, cache + <usize>inst * CACHE_STRIDE, <usize>inst, column(header, H_INST_TIER_COUNT), size, equityAtZero, a - c0, j);
  const base = baseIn(header, meta, a);
  store<i64>(base, load<i64>(base) + baseDelta);
  return true;
}

/**
 * Loads what a fill's in-place rewrite (recordOfPosition) reads of account a's chunk before the
 * record itself: its meta and the lines of the chunk's record counts up to a's (recordsBefore's
 * prefix), one load a line.
 */
export function touchChunkCounts(header: usize, a: u32): i64 {
  const c0 = a / CHUNK_ACCOUNTS * CHUNK_ACCOUNTS;
  const accRecords = column(header, H_ACC_RECORDS);
  let sum = <i64>load<u32>(metaOf(header, a / CHUNK_ACCOUNTS), CHUNK_STATE);
  for (let b = c0; b < a; b += 32) sum += <i64>load<u16>(accRecords + (<usize>b << 1));
  return sum + <i64>load<u16>(accRecords + (<usize>a << 1));
}

/** The state word of account a's chunk's meta, loaded (a touch pass's first load of what crossBaseAt reads). */
export function chunkStateOf(header: usize, a: u32): u32 {
  return load<u32>(metaOf(header, a / CHUNK_ACCOUNTS), CHUNK_STATE);
}

/**
 * Bytes per instrument of a funding refresh's table of changes: i64 the index the records were made
 * at, u32 whether it changed, i64 the index the refresh brings them to (the column's, kept so by
 * deferFunding at every new index).
 */
export const FUNDING_CHANGE_BYTES: u32 = 24;
export const FC_OLD: u32 = 0;
export const FC_CHANGED: u32 = 8;
export const FC_NEW: u32 = 16;

/**
 * Deferred funding refreshes that may be pending at once, each in a **slot**: a table of changes
 * (the indices its chunks' records were made at, and the columns') and a meta. A fresh chunk with a
 * refresh pending names its slot (CHUNK_FUNDING's bits from CHUNK_FUNDING_SLOT_SHIFT). A new index
 * joins every slot in use (their chunks move from their own old indices to it), and the chunks
 * already at the indices before it take a new slot: so a new index never settles a chunk, unless
 * every slot is in use by pending chunks (then the oldest slot's are settled first, on the control
 * plane). The slots region (FUNDING_SLOTS_BYTES_PER_INSTRUMENT·instruments + FUNDING_SLOT_METAS_BYTES
 * bytes, zeroed the first time) is the control plane's, named in the header (H_FUNDING_SLOTS).
 */
export const FUNDING_SLOTS: u32 = 4;
/**
 * A slot's meta: u32 whether it is in use, u32 the one instrument its table changes
 * (FUNDING_SEVERAL for more), u32 its age (a count of slots taken), u32 the sweep serial
 * (H_SWEEP_SERIAL) when it took its chunks.
 */
export const FUNDING_SLOT_META_BYTES: u32 = 16;
const FS_USED: u32 = 0;
const FS_SINGLE: u32 = 4;
const FS_AGE: u32 = 8;
const FS_SWEEP: u32 = 12;
export const FUNDING_SLOT_METAS_BYTES: u32 = FUNDING_SLOTS * FUNDING_SLOT_META_BYTES;
export const FUNDING_SLOTS_BYTES_PER_INSTRUMENT: u32 = FUNDING_SLOTS * FUNDING_CHANGE_BYTES;
if (FUNDING_SLOTS > (0xffff_ffff >> CHUNK_FUNDING_SLOT_SHIFT)) ERROR("a chunk's funding slot must fit CHUNK_FUNDING");

/** The meta of funding slot s. */
// @ts-ignore: decorator
@inline
function slotMeta(header: usize, s: u32): usize {
  return <usize>headerValue(header, H_FUNDING_SLOTS) + <usize>s * FUNDING_SLOT_META_BYTES;
}

/** The table of changes of funding slot s. */
// @ts-ignore: decorator
@inline
function slotTable(header: usize, s: u32): usize {
  const tableBytes = <usize>headerValue(header, H_INSTRUMENT_COUNT) * FUNDING_CHANGE_BYTES;
  return <usize>headerValue(header, H_FUNDING_SLOTS) + FUNDING_SLOT_METAS_BYTES + <usize>s * tableBytes;
}

/** The slot of a chunk whose CHUNK_FUNDING word is `funding` (pending). */
// @ts-ignore: decorator
@inline
function slotOf(funding: u32): u32 {
  return funding >> CHUNK_FUNDING_SLOT_SHIFT;
}

/** Whether a chunk whose CHUNK_FUNDING word is `funding` has a refresh pending (in some slot). */
// @ts-ignore: decorator
@inline
function isPending(funding: u32): bool {
  return (funding & CHUNK_FUNDING_STATE_MASK) == CHUNK_FUNDING_PENDING;
}

/**
 * Defers the refresh of new funding indices (the instruments marked in `changes`, FUNDING_CHANGE_BYTES
 * each, every instrument of the book: whether its index changed, the index the fresh chunks at the
 * columns' indices were made at, and the new one) to each fresh chunk's next read, in the funding
 * slots at `slots` (which the header names from the first call on). O(chunks + instruments·slots),
 * or O(instruments·slots) when no chunk settled or came fresh since the last call (H_FUNDING_DIRTY),
 * no position read (unless every slot is in use: then the oldest slot's pending chunks are settled
 * first, here, with its changed instruments filled in `cache`, the shard's own):
 *  1. the slots no pending chunk names are freed;
 *  2. when a fresh chunk is at the columns' indices (CHUNK_FUNDING_NONE) and no slot is free, the
 *     oldest slot's chunks are settled, and it is freed;
 *  3. the changes join every slot in use: an instrument a slot's table changes already keeps its
 *     old index and takes the new one; any other takes both;
 *  4. when a fresh chunk is at the columns' indices, a free slot takes the changes, and every such
 *     chunk is marked pending in it.
 * The chunk's next sweep (in whichever worker sweeps it) reads it lazily or settles it, and the next
 * refresh of one of its accounts settles it first (settleChunkFunding); settleFunding settles every
 * chunk left.
 */
export function deferFunding(header: usize, cache: usize, slots: usize, changes: usize): void {
  if (headerValue(header, H_FUNDING_SLOTS) == 0) {
    memory.fill(slots, 0, FUNDING_SLOT_METAS_BYTES);
    setHeaderValue(header, H_FUNDING_SLOTS, <u32>slots);
    setHeaderValue(header, H_FUNDING_DIRTY, 1); // the chunks not looked at yet
  }
  assert(headerValue(header, H_FUNDING_SLOTS) == <u32>slots, 'deferFunding: the funding slots moved');
  const single = changedInstrument(header, changes);
  if (single == NO_INSTRUMENT) return;
  const chunks = chunkCount(header);
  let used: u32 = 0;
  let atColumns = false;
  if (headerValue(header, H_FUNDING_DIRTY) != 0) {
    for (let chunk: u32 = 0; chunk < chunks; chunk++) {
      const meta = metaOf(header, chunk);
      if (load<u32>(meta, CHUNK_STATE) != CHUNK_FRESH) continue;
      const funding = load<u32>(meta, CHUNK_FUNDING);
      if (isPending(funding)) used |= 1 << slotOf(funding);
      else if (funding == CHUNK_FUNDING_NONE) atColumns = true;
    }
    for (let s: u32 = 0; s < FUNDING_SLOTS; s++) if ((used & (1 << s)) == 0) store<u32>(slotMeta(header, s), 0, FS_USED);
  } else {
    // No chunk settled or came fresh since the last look, which left none at the columns' indices:
    // the slots in use are those it left (O(slots), no chunk read).
    for (let s: u32 = 0; s < FUNDING_SLOTS; s++) if (load<u32>(slotMeta(header, s), FS_USED) != 0) used |= 1 << s;
  }
  let free = FUNDING_SLOTS;
  if (atColumns) {
    free = <u32>ctz<u32>(~used);
    if (free >= FUNDING_SLOTS) {
      // Every slot in use: the oldest one's chunks are settled (before the changes join it), with
      // the slots' changed instruments in the cache (filled only here: most updates settle nothing).
      free = 0;
      for (let s: u32 = 1; s < FUNDING_SLOTS; s++) if (load<u32>(slotMeta(header, s), FS_AGE) < load<u32>(slotMeta(header, free), FS_AGE)) free = s;
      fillFundingInstruments(header, cache);
      for (let chunk: u32 = 0; chunk < chunks; chunk++) {
        const funding = load<u32>(metaOf(header, chunk), CHUNK_FUNDING);
        if (isPending(funding) && slotOf(funding) == free) settleChunkFunding(header, cache, chunk, true);
      }
      store<u32>(slotMeta(header, free), 0, FS_USED);
    }
  }
  for (let s: u32 = 0; s < FUNDING_SLOTS; s++) {
    const meta = slotMeta(header, s);
    if (load<u32>(meta, FS_USED) == 0) continue;
    const table = slotTable(header, s);
    for (let i: u32 = 0; i < headerValue(header, H_INSTRUMENT_COUNT); i++) {
      const to = table + <usize>i * FUNDING_CHANGE_BYTES;
      const from = changes + <usize>i * FUNDING_CHANGE_BYTES;
      if (load<u32>(from, FC_CHANGED) == 0) continue;
      if (load<u32>(to, FC_CHANGED) == 0) {
        store<i64>(to, load<i64>(from, FC_OLD), FC_OLD);
        store<u32>(to, 1, FC_CHANGED);
      }
      store<i64>(to, load<i64>(from, FC_NEW), FC_NEW);
    }
    store<u32>(meta, changedInstrument(header, table), FS_SINGLE);
  }
  // Looked at: every fresh chunk is pending once the new slot takes those at the columns' indices
  // (the settles above set the flag; they are among those).
  setHeaderValue(header, H_FUNDING_DIRTY, 0);
  if (free >= FUNDING_SLOTS) return;
  memory.copy(slotTable(header, free), changes, <usize>headerValue(header, H_INSTRUMENT_COUNT) * FUNDING_CHANGE_BYTES);
  const age = headerValue(header, H_FUNDING_AGE) + 1;
  setHeaderValue(header, H_FUNDING_AGE, age);
  const meta = slotMeta(header, free);
  store<u32>(meta, 1, FS_USED);
  store<u32>(meta, single, FS_SINGLE);
  store<u32>(meta, age, FS_AGE);
  store<u32>(meta, headerValue(header, H_SWEEP_SERIAL), FS_SWEEP);
  const pending = CHUNK_FUNDING_PENDING | (free << CHUNK_FUNDING_SLOT_SHIFT);
  for (let chunk: u32 = 0; chunk < chunks; chunk++) {
    const meta = metaOf(header, chunk);
    if (load<u32>(meta, CHUNK_STATE) != CHUNK_FRESH || load<u32>(meta, CHUNK_FUNDING) != CHUNK_FUNDING_NONE) continue;
    store<u32>(meta, pending, CHUNK_FUNDING);
  }
}

/**
 * Marks that a fresh chunk may have come to the columns' funding indices (settled, built, or copied
 * fresh), for deferFunding's next look. Written only when not set already: a header line written
 * by every settle would cost the other worker's next read of it.
 */
// @ts-ignore: decorator
@inline
function markFundingDirty(header: usize): void {
  if (headerValue(header, H_FUNDING_DIRTY) == 0) setHeaderValue(header, H_FUNDING_DIRTY, 1);
}

/** changedInstrument's answer for a table that changes no instrument. */
const NO_INSTRUMENT: u32 = 0xffff_fffe;
if (NO_INSTRUMENT == FUNDING_SEVERAL) ERROR('NO_INSTRUMENT must differ from FUNDING_SEVERAL');

/** The one instrument a table of changes changes, FUNDING_SEVERAL for more than one, NO_INSTRUMENT for none. */
function changedInstrument(header: usize, changes: usize): u32 {
  let single = NO_INSTRUMENT;
  for (let i: u32 = 0; i < headerValue(header, H_INSTRUMENT_COUNT); i++) {
    if (load<u32>(changes + <usize>i * FUNDING_CHANGE_BYTES, FC_CHANGED) == 0) continue;
    if (single != NO_INSTRUMENT) return FUNDING_SEVERAL;
    single = i;
  }
  return single;
}

/**
 * Settles every chunk a deferred funding refresh has not reached (settleChunkFunding, on the
 * control plane) and frees every slot. The cache must hold the changed instruments at the columns'
 * indices.
 */
export function settleFunding(header: usize, cache: usize): void {
  if (headerValue(header, H_FUNDING_SLOTS) == 0) return;
  const chunks = chunkCount(header);
  for (let chunk: u32 = 0; chunk < chunks; chunk++) settleChunkFunding(header, cache, chunk, true);
  for (let s: u32 = 0; s < FUNDING_SLOTS; s++) store<u32>(slotMeta(header, s), 0, FS_USED);
}

/** Whether account a's chunk has a deferred funding refresh still to settle. */
export function fundingPending(header: usize, a: u32): bool {
  return load<u32>(metaOf(header, a / CHUNK_ACCOUNTS), CHUNK_FUNDING) != CHUNK_FUNDING_NONE;
}

/** Whether funding slot s is in use and changes instrument i. */
function slotChanges(header: usize, s: u32, i: u32): bool {
  return load<u32>(slotMeta(header, s), FS_USED) != 0 && load<u32>(slotTable(header, s) + <usize>i * FUNDING_CHANGE_BYTES, FC_CHANGED) != 0;
}

/** Fills the cache for the instruments the deferred funding refreshes change (none when nothing is deferred). */
export function fillFundingInstruments(header: usize, cache: usize): void {
  if (headerValue(header, H_FUNDING_SLOTS) == 0) return;
  for (let i: u32 = 0; i < headerValue(header, H_INSTRUMENT_COUNT); i++) {
    for (let s: u32 = 0; s < FUNDING_SLOTS; s++) {
      if (!slotChanges(header, s, i)) continue;
      fillInstrument(header, cache, i);
      break;
    }
  }
}

/**
 * Chunk `chunk`'s records with its deferred funding refresh in them, when it has one pending
 * (fundingRecords, with its slot's table). A chunk marked CHUNK_FUNDING_SETTLING was left by a
 * settle cut short (its worker died with some cross bases moved): a sweep (`mayLayOut` false: a
 * worker, which must not move areas) rebuilds it from the columns, the control plane lays it out
 * for its next sweep to rebuild. Returns whether the chunk's records can be read (false only when it
 * was laid out). The cache must hold the changed instruments (a sweep's holds every instrument).
 */
export function settleChunkFunding(header: usize, cache: usize, chunk: u32, mayLayOut: bool): bool {
  const meta = metaOf(header, chunk);
  const funding = load<u32>(meta, CHUNK_FUNDING);
  if (funding == CHUNK_FUNDING_NONE) return true;
  const c0 = chunk * CHUNK_ACCOUNTS;
  const c1 = c0 + chunkAccounts(header, chunk);
  if (funding == CHUNK_FUNDING_SETTLING) {
    if (!mayLayOut) {
      // Some cross bases moved, some not. Rebuilt from the columns here, as a build cut short is.
      markRebuild(meta);
      buildChunk(header, cache, c0, c1);
      return true;
    }
    store<u32>(meta, CHUNK_FUNDING_NONE, CHUNK_FUNDING);
    layOutChunks(header, cache, c0, c1);
    return false;
  }
  // Pending (only a fresh chunk is marked). Marked first, cleared last: a settle cut short is not
  // taken for a pending one.
  const s = slotOf(funding);
  markFundingDirty(header);
  store<u32>(meta, CHUNK_FUNDING_SETTLING, CHUNK_FUNDING);
  fundingRecords(header, cache, meta, slotTable(header, s), load<u32>(slotMeta(header, s), FS_SINGLE));
  store<u32>(meta, CHUNK_FUNDING_NONE, CHUNK_FUNDING);
  return true;
}

/**
 * The deferred funding refresh of the table `changes` (its one changed instrument `single`, or
 * FUNDING_SEVERAL) for the fresh chunk whose meta is at `meta`, from its records alone: each cross
 * record on an instrument the table changes (FC_NEW − FC_OLD = ΔF).
 *  - A cross record holds its size and its funding owed's rounding residue ρ (10^6·owed − z·q·(F −
 *    F_i), in [0, 10^6)). With u = ceil(z·q·ΔF / 10^6) and v its residue, the owed amount changes
 *    by exactly u − [v + ρ ≥ 10^6] and the new residue is v + ρ − 10^6·[v + ρ ≥ 10^6]; the
 *    account's cross base (its balance less its cross debits) moves by the change.
 * Isolated records are not touched: their thresholds are kept against the instrument's drift
 * (assembly/layout.ts H_INST_DRIFT_*), which the funding update itself moved.
 * Nothing else is read: no column, no record shifted.
 */
function fundingRecords(header: usize, cache: usize, meta: usize, changes: usize, single: u32): void {
  const area = column(header, H_SWEEP_RECORDS) + <usize>load<u32>(meta, CHUNK_OFFSET);
  const crossEnd = area + <usize>load<u32>(meta, CHUNK_CROSS) * CROSS_RECORD_BYTES;
  const bases = crossEnd + <usize>load<u32>(meta, CHUNK_ISOLATED) * ISOLATED_RECORD_BYTES;
  // Which records are on a changed instrument: eight at a time, a mask with no branch per record
  // (whether a record is on the changed instrument is data no predictor learns), and only the
  // masked ones visited.
  let r = area;
  while (r < crossEnd) {
    const group = min<u32>(FUNDING_GROUP, <u32>((crossEnd - r) / CROSS_RECORD_BYTES));
    let hits = fundingHits(changes, single, r, group);
    while (hits != 0) {
      fundingCross(cache, changes, r + <usize>ctz<u32>(hits) * CROSS_RECORD_BYTES, bases);
      hits &= hits - 1;
    }
    r += <usize>group * CROSS_RECORD_BYTES;
  }
}

/** Records fundingRecords masks at a time. */
const FUNDING_GROUP: u32 = 8;
if (CROSS_ENTRY != 12 || CROSS_RECORD_BYTES != 16) ERROR('gather4 takes the u32 at byte 12 of 16-byte records');

/**
 * A mask of the `group` cross records from r whose instrument changed, by the bracket entry each
 * names (in its instrument's stride of the cache): when `single` names the one instrument that
 * changed, one unsigned compare a record, four records at a time in SIMD for a whole group (the
 * entry offsets gathered by two shuffles); a lookup in `changes` otherwise.
 */
// @ts-ignore: decorator
@inline
function fundingHits(changes: usize, single: u32, r: usize, group: u32): u32 {
  let hits: u32 = 0;
  if (single != FUNDING_SEVERAL) {
    const low = single * CACHE_STRIDE;
    if (group == FUNDING_GROUP) {
      const lows = i32x4.splat(low);
      const strides = i32x4.splat(CACHE_STRIDE);
      for (let lane: u32 = 0; lane < FUNDING_GROUP; lane += 4) {
        const offsets = gatherEntries(r + <usize>lane * CROSS_RECORD_BYTES);
        hits |= <u32>i32x4.bitmask(i32x4.lt_u(i32x4.sub(offsets, lows), strides)) << lane;
      }
      return hits;
    }
    for (let lane: u32 = 0; lane < group; lane++) hits |= <u32>(load<u32>(r + <usize>CROSS_ENTRY + <usize>lane * CROSS_RECORD_BYTES) - low < CACHE_STRIDE) << lane;
  } else {
    for (let lane: u32 = 0; lane < group; lane++) {
      const inst = <usize>load<u32>(r + <usize>CROSS_ENTRY + <usize>lane * CROSS_RECORD_BYTES) / <usize>CACHE_STRIDE;
      hits |= <u32>(load<u32>(changes + inst * <usize>FUNDING_CHANGE_BYTES, FC_CHANGED) != 0) << lane;
    }
  }
  return hits;
}

/** The bracket entry offsets (the u32 at CROSS_ENTRY) of the four cross records from r, as the lanes of a v128. */
// @ts-ignore: decorator
@inline
function gatherEntries(r: usize): v128 {
  const ab = i8x16.shuffle(v128.load(r), v128.load(r, 16), 12, 13, 14, 15, 28, 29, 30, 31, 0, 0, 0, 0, 0, 0, 0, 0);
  const cd = i8x16.shuffle(v128.load(r, 32), v128.load(r, 48), 12, 13, 14, 15, 28, 29, 30, 31, 0, 0, 0, 0, 0, 0, 0, 0);
  return i8x16.shuffle(ab, cd, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
}

/** fundingRecords for the cross record at r, on a changed instrument (the chunk's bases at `bases`). */
// @ts-ignore: decorator
@inline
function fundingCross(cache: usize, changes: usize, r: usize, bases: usize): void {
  const word = load<u32>(r, CROSS_ACCOUNT);
  const k = word & ((1 << CROSS_RESIDUE_SHIFT) - 1);
  const owed = fundingMove(cache, changes, r, word);
  store<u32>(r, k | (movedResidue << CROSS_RESIDUE_SHIFT), CROSS_ACCOUNT);
  const base = bases + (<usize>k << 3);
  store<i64>(base, load<i64>(base) - owed);
}

/** The residue fundingMove found for the record it moved (a wasm global: per instance). */
let movedResidue: u32 = 0;

/**
 * By how much the funding owed of the cross record at r (its account word `word`) changes under the
 * table `changes`, exactly: u − [v + ρ ≥ 10^6] (fundingRecords); 0 on an instrument the table does
 * not change. Leaves the record's new residue in movedResidue and writes nothing.
 */
// @ts-ignore: decorator
@inline
function fundingMove(cache: usize, changes: usize, r: usize, word: u32): i64 {
  const inst = <usize>load<u32>(r, CROSS_ENTRY) / <usize>CACHE_STRIDE;
  const change = changes + inst * <usize>FUNDING_CHANGE_BYTES;
  movedResidue = word >> CROSS_RESIDUE_SHIFT;
  if (load<u32>(change, FC_CHANGED) == 0) return 0;
  const sizeQuote = load<i64>(r) * load<i64>(cache + inst * <usize>CACHE_STRIDE + CACHE_Q);
  const fundingDelta = load<i64>(change, FC_NEW) - load<i64>(change, FC_OLD);
  const owed = fundingOwed(sizeQuote, fundingDelta);
  const sum = fundingResidue(owed, sizeQuote, fundingDelta) + movedResidue; // < 2·10^6
  const carry = <u32>(sum >= <u32>SCALE_6);
  movedResidue = sum - carry * <u32>SCALE_6;
  return owed - <i64>carry;
}

/**
 * Writes the sweep records of chunk [c0, c1) in its area, from the columns: a cross record per
 * cross position, in account order, then an isolated record per isolated position, then each
 * account's cross base after the area's capacity. The chunk is marked fresh last, so a chunk whose
 * build was cut short (a worker died) is rebuilt by the next sweep.
 */
function buildChunk(header: usize, cache: usize, c0: u32, c1: u32): void {
  const meta = metaOf(header, c0 / CHUNK_ACCOUNTS);
  const area = column(header, H_SWEEP_RECORDS) + <usize>load<u32>(meta, CHUNK_OFFSET);
  const crossTotal = load<u32>(meta, CHUNK_CROSS);
  const bases = area + <usize>crossTotal * CROSS_RECORD_BYTES + <usize>load<u32>(meta, CHUNK_ISOLATED) * ISOLATED_RECORD_BYTES;
  let cross: u32 = 0;
  let isolated: u32 = 0;
  for (let a = c0; a < c1; a++) {
    const counts = writeAccount(
      header,
      cache,
      a,
      c0,
      area + <usize>cross * CROSS_RECORD_BYTES,
      area + <usize>crossTotal * CROSS_RECORD_BYTES + <usize>isolated * ISOLATED_RECORD_BYTES,
      bases + (<usize>(a - c0) << 3),
    );
    // The counts the chunk was laid out with: the columns have not changed since.
    assert(counts == <u32>load<u16>(column(header, H_ACC_RECORDS) + (<usize>a << 1)));
    cross += counts & 0xff;
    isolated += counts >> 8;
  }
  assert(cross == crossTotal && isolated == load<u32>(meta, CHUNK_ISOLATED));
  store<u32>(meta, CHUNK_FRESH, CHUNK_STATE);
  markFundingDirty(header);
}

/**
 * A status sweep: the whole chunks in [accountStart, accountEnd) from their
 * sweep records, the accounts of a chunk the range only cuts through by sweepRange. Returns where
 * it stopped.
 */
export function sweepChunks(header: usize, accountStart: u32, accountEnd: u32, shard: usize, cache: usize): u32 {
  const accounts = headerValue(header, H_ACCOUNT_COUNT);
  const chunks = column(header, H_CHUNKS);
  const scratch = <usize>load<u32>(shard + SHARD_SCRATCH);
  memory.fill(scratch, 0, CHUNK_SCRATCH_BYTES);
  const cancel = <usize>load<u32>(shard + SHARD_CANCEL);
  lazyFunding = headerValue(header, H_FUNDING_SLOTS) != 0 && lazyBound(header);
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
      // A pending chunk is read lazily (its refresh left pending) but on its turn to settle: one
      // of the FUNDING_SETTLE_SPREAD sweeps after the first since its slot took it, staggered by
      // chunk (settleTurn). On its turn, or when no sweep can be lazy, its refresh reaches its
      // records first, in this worker (settleChunkFunding).
      const meta = metaOf(header, chunk / CHUNK_ACCOUNTS);
      const funding = load<u32>(meta, CHUNK_FUNDING);
      if (state == CHUNK_FRESH && isPending(funding) && lazyFunding && !settleTurn(header, slotOf(funding), chunk / CHUNK_ACCOUNTS)) {
        lazyChanges = slotTable(header, slotOf(funding));
        sweepChunk<Lazily>(header, shard, cache, scratch, a, chunkEnd);
      } else {
        if (state == CHUNK_FRESH) settleChunkFunding(header, cache, chunk / CHUNK_ACCOUNTS, false);
        if (state == CHUNK_REBUILD) buildChunk(header, cache, chunk, chunkEnd);
        sweepChunk<Settled>(header, shard, cache, scratch, a, chunkEnd);
      }
    }
    a = chunkEnd;
    chunk = chunkEnd;
  }
  if (a == chunk && a < accountEnd) a = sweepRange(header, a, accountEnd, shard, cache, false);
  return a;
}

/**
 * A pending chunk read lazily (sweepChunk's `lazy`) settles on one sweep in this many (settleTurn),
 * so that each sweep settles about 1/FUNDING_SETTLE_SPREAD of the pending chunks, and the last of
 * them settles within FUNDING_SETTLE_SPREAD + 1 sweeps.
 */
const FUNDING_SETTLE_SPREAD: u32 = 16;

/**
 * Whether chunk `chunk`, pending in slot s, settles in this sweep: d sweeps counted since its slot
 * took it (H_SWEEP_SERIAL, which counts the sweeps that ran, less the slot's FS_SWEEP), never at
 * d = 0 (the first sweep after the update, whose time is the update's), and then when d plus its
 * index is 0 modulo FUNDING_SETTLE_SPREAD. No chunk meta is written for it: a meta line a
 * worker writes costs the other worker's next read of it (0.07–0.1 of a static sweep in the pool,
 * bench/README.md, 2026-12-04, afternoon).
 */
// @ts-ignore: decorator
@inline
function settleTurn(header: usize, s: u32, chunk: u32): bool {
  const d = headerValue(header, H_SWEEP_SERIAL) - load<u32>(slotMeta(header, s), FS_SWEEP);
  return d != 0 && (d + chunk) % FUNDING_SETTLE_SPREAD == 0;
}

/**
 * A lazy sweep's bound on an account's funding move, from its cross maintenance M alone (nothing
 * summed per record). A cross record of notional N = |z|·q·mark on an instrument whose pending
 * index move is ΔF has its funding owed move by at most N·|ΔF| / (10^6·mark) + 1 micro (the move
 * |z·q·ΔF| / 10^6, rounded up against its residue). Its maintenance is at least N·r_0 / 10^6 (r_0
 * the instrument's lowest rate: maintenance is max over the brackets of N·r_k − cumX_k, and
 * cumX_0 = 0, docs/numbers.md), so the move is at most maintenance·ρ + 1 with
 * ρ = |ΔF| / (mark·r_0). Summed over the account's records: at most M·ρ_max + POSITIONS_PER_ACCOUNT_MAX,
 * ρ_max the largest ρ over the instruments the slots in use change. In integers:
 * lazyRatio ≥ ρ_max·2^LAZY_RATIO_BITS (rounded up, at most LAZY_RATIO_MAX), and the bound is
 * B = ((M >> LAZY_RATIO_BITS) + 1)·lazyRatio + lazySlack ≥ M·ρ_max + lazySlack, for M below
 * LAZY_MAINT_MAX; an account with M at or past it has its move found exactly. Both factors are
 * then below 2^32, so that pass 3 multiplies them in one unsigned 32 × 32 → 64-bit multiply a
 * pair of accounts (i64x2.extmul_low_i32x4_u: a full i64x2.mul is several instructions on x64).
 * Before, each account's exposure Σ notional·w was summed in pass 1, a multiply and an add a
 * record: about 0.09 of a static sweep (bench/README.md, 2026-12-04, night). A move with ρ above
 * LAZY_RATIO_MAX / 2^LAZY_RATIO_BITS = 2^14 (more than r_0·2^14 marks) is settled instead.
 *
 * An instrument finer than a micro (value divisor d > 1) has N = |floor(z·q·mark / d)|, which is at
 * least |z|·q·mark/d − 1 (a long's value floors down; a dust long's N of 1 is above its value), so
 * |z|·q ≤ d·(N + 1)/mark and its record's move is at most N·ρ·d + e + 1, with e = d·|ΔF| / (10^6·mark):
 * its ρ is taken d times, and each record's slack is 1 + ceil(e_max) micro instead of 1, e_max the
 * largest e over such instruments the slots change (lazySlack; at most LAZY_EXTRA_MAX, else settled).
 * (wasm globals: per instance.)
 */
let lazyRatio: i64 = 0;
const LAZY_RATIO_BITS: u32 = 16;
const LAZY_RATIO_MAX: i64 = <i64>1 << 30;
export const LAZY_MAINT_MAX: i64 = <i64>1 << 48;
/** The largest ceil(e) a lazy sweep takes for an instrument finer than a micro (its records' extra slack each); past it the sweep settles. */
const LAZY_EXTRA_MAX: i64 = <i64>1 << 20;
/**
 * Micro added to the bound: the rounding of each record's move (at most 1 each) and, with an
 * instrument finer than a micro changed, ceil(e_max) more each (above), and 2 to spare. Set by lazyBound.
 */
let lazySlack: i64 = 0;
if ((LAZY_MAINT_MAX - 1) >> LAZY_RATIO_BITS >= <i64>1 << 32 || LAZY_RATIO_MAX >= <i64>1 << 32) ERROR("a lazy bound's factors must be u32s");
// Pass 3 forms M + B + 1 for every account, an M of LAZY_MAINT_MAX or more too (its product is then
// of the low bits, below 2^32·LAZY_RATIO_MAX, and its lane is taken apart anyway): with M at most
// POSITIONS_PER_ACCOUNT_MAX·QUOTE_ABS_MAX (a record's maintenance is at most its notional), no sum wraps.
if (
  <u64>POSITIONS_PER_ACCOUNT_MAX * QUOTE_ABS_MAX + (<u64>1 << 32) * <u64>LAZY_RATIO_MAX + <u64>LAZY_RATIO_MAX + <u64>POSITIONS_PER_ACCOUNT_MAX * <u64>(LAZY_EXTRA_MAX + 1) + 3 >=
  <u64>1 << 63
)
  ERROR('a lazy bound must stay below 2^63');

/** Whether this sweep reads pending chunks lazily (lazyBound), and the table of the chunk it reads (its slot's); wasm globals: per instance. */
let lazyFunding = false;
let lazyChanges: usize = 0;

/**
 * Readies a lazy sweep: lazyRatio from the largest ρ = |ΔF| / (mark·r_0) over the instruments the
 * slots in use change (their largest move each), floor(ρ·2^LAZY_RATIO_BITS·(1 + 10^-9)) + 1, the
 * margin far above f64's rounding. Returns false when that passes LAZY_RATIO_MAX (or a mark is 0):
 * the sweep then settles.
 */
function lazyBound(header: usize): bool {
  const count = headerValue(header, H_INSTRUMENT_COUNT);
  const tierRate = column(header, H_TIER_RATE);
  let largest: f64 = 0;
  let extra: f64 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const d = load<i64>(column(header, H_INST_DIV) + (<usize>i << 3));
    const move = lazyMove(header, i, d);
    if (move == 0) continue;
    // An instrument finer than a micro: e = d·|ΔF| / (10^6·mark) is its move (d times the share), and ρ is d times the share too.
    if (d != 1) extra = max<f64>(extra, move);
    // The lowest rate is bracket 0's (rates never fall, and every rate is above 0: the loaders refuse others).
    const lowest = <f64>load<u64>(tierRate + ((<usize>i * <usize>TIERS_MAX) << 3));
    largest = max<f64>(largest, (move * <f64>SCALE_6) / lowest);
  }
  const ratio = Math.floor(largest * <f64>(1 << LAZY_RATIO_BITS) * (1 + 1e-9)) + 1;
  if (!(ratio <= <f64>LAZY_RATIO_MAX)) return false;
  // ceil(e_max) with f64's rounding covered: e_max·(1 + 10^-9), rounded up, and 1 more.
  const extraMicro = extra == 0 ? 0 : Math.floor(extra * (1 + 1e-9)) + 1;
  if (!(extraMicro <= <f64>LAZY_EXTRA_MAX)) return false;
  lazyRatio = <i64>ratio;
  lazySlack = <i64>POSITIONS_PER_ACCOUNT_MAX * (1 + <i64>extraMicro) + 2;
  return true;
}

/**
 * Instrument i's largest funding move over the slots in use as a share of its mark, |ΔF| / (10^6·mark)
 * (f64), d times that for an instrument finer than a micro (d its value divisor, H_INST_DIV: lazyBound's
 * e and ρ above): 0 when none changes it; not finite for a mark of 0.
 */
function lazyMove(header: usize, i: u32, d: i64): f64 {
  let move: f64 = 0;
  const mark = <f64>load<i64>(column(header, H_INST_MARK) + (<usize>i << 3));
  for (let s: u32 = 0; s < FUNDING_SLOTS; s++) {
    if (!slotChanges(header, s, i)) continue;
    const change = slotTable(header, s) + <usize>i * FUNDING_CHANGE_BYTES;
    const delta = <f64>abs<i64>(load<i64>(change, FC_NEW) - load<i64>(change, FC_OLD));
    move = max<f64>(move, (<f64>d * delta) / (<f64>SCALE_6 * mark));
  }
  return move;
}

/**
 * sweepChunk's type argument, which says whether it reads a pending chunk lazily (isSigned): a type,
 * so that each of its two calls is compiled with the other's branches folded away. With a bool
 * argument, the optimizer merged the two inlined bodies into one that tested a local in every
 * loop, the settled sweep's too.
 */
type Lazily = i8;
type Settled = u8;

/**
 * The narrow formula of a bracket entry that accepts `notional` (n − low < width: cache.ts
 * fillEntries): ceil((n·r − cumX)/10^6), as (n·r + 10^6 − 1 − cumX)/10^6. n < 2^44 and r < 10^6
 * leave the numerator below 1.76·10^19, room under 2^64.
 */
// @ts-ignore: decorator
@inline
function entryMaintenance(notional: u64, entry: usize): i64 {
  return <i64>((notional * load<u64>(entry, 24) + load<u64>(entry, 32)) / SCALE_6);
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
function sweepChunk<Mode>(header: usize, shard: usize, cache: usize, scratch: usize, c0: u32, c1: u32): void {
  const lazy = isSigned<Mode>();
  const accCrossEquity = column(header, H_ACC_CROSS_EQUITY);
  const accCrossMaint = column(header, H_ACC_CROSS_MAINT);
  const accStatus = column(header, H_ACC_STATUS);
  const posStatus = column(header, H_POS_STATUS);
  const list = <usize>load<u32>(shard + SHARD_LIST);
  const capacity: u32 = list == 0 ? 0 : load<u32>(shard + SHARD_LIST_CAPACITY);
  const meta = metaOf(header, c0 / CHUNK_ACCOUNTS);
  const area = column(header, H_SWEEP_RECORDS) + <usize>load<u32>(meta, CHUNK_OFFSET);
  let r = area;
  const crossEnd = r + <usize>load<u32>(meta, CHUNK_CROSS) * <usize>CROSS_RECORD_BYTES;
  const isolatedEnd = crossEnd + <usize>load<u32>(meta, CHUNK_ISOLATED) * <usize>ISOLATED_RECORD_BYTES;
  // `lazy` (a constant in each of sweepChunks' calls): the chunk has a funding refresh pending
  // (in the table lazyChanges), which the sweep leaves pending: pass 3 bounds each account's move
  // by its maintenance (lazyRatio), and finds it exactly only where that bound does not settle its
  // status (sweepAccount). Pass 1 then also leaves each account's last cross record in the scratch.

  // Pass 1. The loop breaks out for a record whose entry does not accept its notional (its bracket
  // moved, or the product needs 128 bits), which is handled outside it: a call inside the loop
  // would make V8 keep the loop's values on the stack.
  while (r < crossEnd) {
    for (; r < crossEnd; r += CROSS_RECORD_BYTES) {
      const entryOffset = load<u32>(r, CROSS_ENTRY);
      const entry = cache + <usize>entryOffset;
      const size = load<i64>(r);
      const value = size * load<i64>(entry); // |size|·q·mark ≤ 10^16
      const notional = <u64>abs<i64>(value);
      if (notional - load<u64>(entry, 8) >= load<u64>(entry, 16)) break;
      const maint = entryMaintenance(notional, entry);
      const word = load<u32>(r, CROSS_ACCOUNT);
      const k8 = <usize>(word & 0xff) << 3;
      const sums = scratch + k8;
      store<i64>(sums, load<i64>(sums) + value);
      store<i64>(sums, load<i64>(sums, CHUNK_MAINT_OFFSET) + maint, CHUNK_MAINT_OFFSET);
      if (lazy) store<u32>(sums, <u32>r, CHUNK_LAST_OFFSET);
    }
    if (r < crossEnd) {
      // Its instrument's cache: the entry's offset less its offset within the instrument's stride.
      const entryOffset = <usize>load<u32>(r, CROSS_ENTRY);
      const size = load<i64>(r);
      const c = cache + (entryOffset - entryOffset % <usize>CACHE_STRIDE);
      const value = valueOf(size, c);
      const notional = notionalOf(value, size);
      // A record of an instrument finer than a micro comes here every sweep: its entry's divided
      // width accepts its notional as the loop's width accepts another's. For any other instrument
      // (whose record comes here only when its bracket moved) that field is q·mark: d tells them apart.
      const entry = cache + entryOffset;
      const fine = load<i64>(c + CACHE_DIV) != 1;
      const maint =
        fine && notional - load<u64>(entry, 8) < load<u64>(entry, CACHE_ENTRY_DIVIDED_WIDTH)
          ? entryMaintenance(notional, entry)
          : maintenanceMoved(notional, cache, r);
      const sums = scratch + (<usize>load<u8>(r, CROSS_ACCOUNT) << 3);
      store<i64>(sums, load<i64>(sums) + value);
      store<i64>(sums, load<i64>(sums, CHUNK_MAINT_OFFSET) + maint, CHUNK_MAINT_OFFSET);
      if (lazy) store<u32>(sums, <u32>r, CHUNK_LAST_OFFSET);
      r += CROSS_RECORD_BYTES;
    }
  }

  // Pass 2. Liquidatable iff the mark is at or beyond the threshold (m ≤ T, with −mark for a short).
  // A liquidatable position is rare: the loop breaks out for it, and its equity at the mark, from
  // the columns, says whether it is bankrupt too.
  while (r < isolatedEnd) {
    for (; r < isolatedEnd; r += ISOLATED_RECORD_BYTES) {
      if (atThreshold(cache, r)) break;
      storeHealthy(posStatus, r);
    }
    if (r < isolatedEnd) {
      isolatedFailing(header, cache, r, c0);
      r += ISOLATED_RECORD_BYTES;
    }
  }

  // Pass 3, leaving the scratch zeroed for the next chunk. The cross bases follow the records.
  // Lazy: an account's funding owed would move by at most its bound (from its maintenance:
  // lazyRatio), so its status at the records' old indices is its status unless a threshold (its
  // maintenance, or 0) is within that bound of its equity. Only then is its move found exactly
  // (sweepAccount, lazyOwed: outside the pair loop, which holds one compare of the bound; a finer
  // test inside it cost more in spilled registers than the accounts it spared); otherwise its cross
  // equity is stored as the records give it, before the pending refresh (docs/architecture.md,
  // "Funding left pending").
  const bases = r - (<usize>c0 << 3); // indexed by account
  const zero = i64x2.splat(0);
  // The bound's constant part, ratio + lazySlack (the `+ 1` of (M >> LAZY_RATIO_BITS) + 1 folded
  // in), and one more for the first test's strict compare.
  const slackAbove = i64x2.splat(lazyRatio + lazySlack + 1);
  const ratio = i32x4.splat(<i32>lazyRatio);
  const maintLast = i64x2.splat(LAZY_MAINT_MAX - 1);
  let a = c0;
  let sums = scratch;
  while (a < c1) {
    let liquidatable = zero;
    let bankrupt = zero;
    let flags: u32 = 0;
    let alone = false;
    for (; a + 1 < c1; a += 2, sums += 16) {
      const a8 = <usize>a << 3;
      const equity = i64x2.add(v128.load(bases + a8), v128.load(sums));
      const maint = v128.load(sums, CHUNK_MAINT_OFFSET);
      if (lazy) {
        // The product of the bound: M >> LAZY_RATIO_BITS is below 2^32 for M below LAZY_MAINT_MAX,
        // and so is lazyRatio: the low halves of the lanes, multiplied into 64 bits. Maintenance is
        // never negative; at LAZY_MAINT_MAX or past it the bound is not formed (`large`).
        const units = i64x2.shr_u(maint, LAZY_RATIO_BITS);
        const product = i64x2.extmul_low_i32x4_u(i32x4.shuffle(units, units, 0, 2, 0, 2), ratio);
        const large = i64x2.gt_s(maint, maintLast);
        // Most accounts are healthy by more than their bound, equity − M > B (so equity > B too,
        // M being ≥ 0): equity < M + B + 1 is false in both lanes, a few SIMD operations a pair. The
        // others (with maintenance) are taken one at a time, where the bound is looked at again.
        const near = v128.or(i64x2.gt_s(i64x2.add(maint, i64x2.add(product, slackAbove)), equity), large);
        if (v128.any_true(v128.andnot(near, i64x2.eq(maint, zero)))) {
          alone = true;
          break;
        }
      }
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
    countScopes(<u32>(i64x2.extract_lane(liquidatable, 0) + i64x2.extract_lane(liquidatable, 1)), <u32>(i64x2.extract_lane(bankrupt, 0) + i64x2.extract_lane(bankrupt, 1)));
    if (flags != 0) {
      // Rare: a scope of account a or a + 1 failed. Their statuses and cross counts are in.
      finishFailing(header, a, flags & 0xff, list, capacity);
      finishFailing(header, a + 1, flags >> 8, list, capacity);
      a += 2;
      sums += 16;
    } else if (alone) {
      // Lazy, rare: account a or a + 1 may need its exact move (or failed). Both are taken one at a
      // time, with the bound looked at again.
      sweepAccount(header, cache, area, a, c0, sums, bases, list, capacity, true);
      sweepAccount(header, cache, area, a + 1, c0, sums + 8, bases, list, capacity, true);
      a += 2;
      sums += 16;
    } else if (a < c1) {
      // The last account of a chunk with an odd number of them.
      sweepAccount(header, cache, area, a, c0, sums, bases, list, capacity, lazy);
      a++;
      sums += 8;
    }
  }
}

/**
 * Pass 3 of sweepChunk for account a alone (its sums at `sums`, the chunk's cross bases indexed by
 * account at `bases`): cross equity, maintenance and status, the counts and the list entries. A lazy
 * sweep moves its equity by its exact funding move when its bound does not settle its status.
 */
// @ts-ignore: decorator
@inline
function sweepAccount(header: usize, cache: usize, area: usize, a: u32, c0: u32, sums: usize, bases: usize, list: usize, capacity: u32, lazy: bool): void {
  const a8 = <usize>a << 3;
  let equity = load<i64>(bases + a8) + load<i64>(sums);
  const maint = load<i64>(sums, CHUNK_MAINT_OFFSET);
  if (lazy && maint != 0) {
    const slack = maint < LAZY_MAINT_MAX ? ((maint >> LAZY_RATIO_BITS) + 1) * lazyRatio + lazySlack : 0;
    if (maint >= LAZY_MAINT_MAX || abs<i64>(equity - maint) <= slack || abs<i64>(equity) <= slack) {
      equity -= lazyOwed(cache, area, sums, a - c0);
    }
  }
  store<i64>(sums, 0);
  store<i64>(sums, 0, CHUNK_MAINT_OFFSET);
  store<i64>(column(header, H_ACC_CROSS_EQUITY) + a8, equity);
  store<i64>(column(header, H_ACC_CROSS_MAINT) + a8, maint);
  const failing = <u32>(maint > 0 && equity < maint);
  const broke = failing & <u32>(equity < 0);
  countScopes(failing, broke);
  const accStatus = column(header, H_ACC_STATUS);
  const single = (<u32>load<u8>(accStatus + a) & ISOLATED_FAILED) | (failing + broke);
  store<u8>(accStatus + a, <u8>(failing + broke));
  if (single != 0) finishFailing(header, a, single, list, capacity);
}

/**
 * By how much the deferred funding refresh moves the funding owed of account k's cross records in
 * its pending chunk (records from `area`; its sums at `sums`), exactly (fundingMove), writing
 * nothing. Its records are together, in account order, each naming its account in the chunk (its
 * CROSS_ACCOUNT byte): they are read backward from its last, whose address pass 1 left in the
 * scratch (CHUNK_LAST_OFFSET); an account with maintenance has at least one.
 */
// @ts-ignore: decorator
@noinline
function lazyOwed(cache: usize, area: usize, sums: usize, k: u32): i64 {
  let r = <usize>load<u32>(sums, CHUNK_LAST_OFFSET);
  // Written by this chunk's pass 1: within the area, on a record of account k.
  assert(r >= area && (load<u32>(r, CROSS_ACCOUNT) & 0xff) == k);
  let owed: i64 = 0;
  for (; r >= area; r -= CROSS_RECORD_BYTES) {
    const word = load<u32>(r, CROSS_ACCOUNT);
    if ((word & 0xff) != k) break;
    owed += fundingMove(cache, lazyChanges, r, word);
  }
  return owed;
}

/** Whether the isolated record at r is at or past its threshold: m ≤ T, with −mark for a short (pass 2's compare). */
// @ts-ignore: decorator
@inline
function atThreshold(cache: usize, r: usize): bool {
  return load<i64>(cache + <usize>load<u32>(r, ISOLATED_MARK)) <= load<i64>(r) >> ISOLATED_ACCOUNT_BITS;
}

/** The isolated record at r's position is healthy: stored only when it changed (a line not written is not written back). */
// @ts-ignore: decorator
@inline
function storeHealthy(posStatus: usize, r: usize): void {
  const at = posStatus + <usize>load<u32>(r, ISOLATED_SLOT);
  if (load<u8>(at) != STATUS_HEALTHY) store<u8>(at, STATUS_HEALTHY);
}

/**
 * The status of an isolated position the chunk sweep found at or past its threshold (record r of
 * the chunk whose first account is c0): liquidatable, and bankrupt when its equity at the mark is
 * below zero; flags its account for pass 3. It is decided exactly first, since its threshold may be
 * above the exact one (funding moved since the record was written: its drift grew): its equity
 * against its maintenance at the mark, from the columns, as the column sweep decides it; a healthy
 * one gets its exact threshold back, so that the next sweeps pass it in one compare again.
 */
// @ts-ignore: decorator
@noinline
function isolatedFailing(header: usize, cache: usize, r: usize, c0: u32): void {
  const k = <u32>load<u8>(r); // the low byte of the threshold word
  const a = <usize>c0 + <usize>k;
  const j = <usize>load<u32>(r, ISOLATED_SLOT);
  const inst = <usize>load<u32>(r, ISOLATED_MARK) / <usize>CACHE_STRIDE;
  const c = cache + inst * <usize>CACHE_STRIDE;
  const j8 = j << 3;
  const size = load<i64>(column(header, H_POS_SIZE) + j8);
  const value = valueOf(size, c); // |value| ≤ 10^16
  // margin + value − debit: |margin| ≤ 10^16, |debit| ≤ 2·10^16.
  const equityAtZero = load<i64>(column(header, H_POS_MARGIN) + j8) - debitOf(header, c, <u32>j);
  const equity = equityAtZero + value;
  if (equity >= 0) {
    const notional = notionalOf(value, size);
    if (equity >= maintenanceInBracket(notional, c, bracketOf(notional, c + CACHE_FLOORS))) {
      storeHealthy(column(header, H_POS_STATUS), r);
      writeIsolatedRecord(r, c, inst, column(header, H_INST_TIER_COUNT), size, equityAtZero, k, <u32>j);
      return;
    }
  }
  store<u8>(column(header, H_POS_STATUS) + j, <u8>select<u32>(STATUS_BANKRUPT, STATUS_LIQUIDATABLE, equity < 0));
  store<u8>(column(header, H_ACC_STATUS) + a, <u8>ISOLATED_FAILED);
}

/**
 * Instrument `inst`'s tier table changed (its tier columns hold the new one, and the cache was
 * filled from them): writes the isolated record of each of its isolated positions in the fresh
 * chunks again from the columns, in place, as a chunk's build writes it (writeIsolatedRecord: its
 * exact threshold under the new table, less its side's drift now). Only the chunks the
 * instrument's map names are visited (assembly/layout.ts H_INST_CHUNKS: each chunk where one of its
 * isolated records was written since the layout), and a chunk found with none of them any more
 * leaves the map; in each, its isolated records are read, and the columns of the instrument's
 * positions only. Cross records need nothing: each names a bracket entry that every read checks
 * against the cache (maintenanceMoved). A chunk marked for rebuilding, or unlaid, is built from the
 * columns by its next sweep; one with a record that does not name an isolated position of the
 * instrument in its account's block (the account changed and was not refreshed) is laid out again
 * (layOutChunks: counted from the columns, for its next sweep to rebuild). The cache must hold
 * every instrument. Returns the records written.
 */
export function refreshTierRecords(header: usize, cache: usize, inst: u32): u32 {
  const words = headerValue(header, H_INST_CHUNK_WORDS);
  const map = column(header, H_INST_CHUNKS) + ((<usize>inst * <usize>words) << 2);
  const chunks = chunkCount(header);
  let written: u32 = 0;
  for (let w: u32 = 0; w < words; w++) {
    let bits = load<u32>(map + (<usize>w << 2));
    while (bits != 0) {
      const bit = bits & (~bits + 1); // the lowest set
      bits ^= bit;
      const chunk = (w << 5) + <u32>ctz<u32>(bit);
      if (chunk >= chunks) continue;
      const found = refreshChunkTiers(header, cache, inst, chunk);
      // None found in a fresh chunk: it holds no isolated record of the instrument any more.
      if (found == 0 && load<u32>(metaOf(header, chunk), CHUNK_STATE) == CHUNK_FRESH) store<u32>(map + (<usize>w << 2), load<u32>(map + (<usize>w << 2)) & ~bit);
      written += found == NOT_NAMED ? 0 : found;
    }
  }
  return written;
}

/** refreshChunkTiers's answer for a chunk it laid out again (a record did not name its position). */
const NOT_NAMED: u32 = 0xffff_ffff;

/**
 * refreshTierRecords for chunk `chunk`: rewrites its isolated records of instrument `inst` when it
 * is fresh. Returns how many it wrote, or NOT_NAMED when it laid the chunk out again.
 */
function refreshChunkTiers(header: usize, cache: usize, inst: u32, chunk: u32): u32 {
  const meta = metaOf(header, chunk);
  if (load<u32>(meta, CHUNK_STATE) != CHUNK_FRESH) return 0;
  const c = cache + <usize>inst * <usize>CACHE_STRIDE;
  const markLong = <u32>(<usize>inst * <usize>CACHE_STRIDE) + CACHE_MARK_LONG;
  const markShort = <u32>(<usize>inst * <usize>CACHE_STRIDE) + CACHE_MARK_SHORT;
  const accPosStart = column(header, H_ACC_POS_START);
  const accPosCount = column(header, H_ACC_POS_COUNT);
  const posInst = column(header, H_POS_INST);
  const posMode = column(header, H_POS_MODE);
  const posSize = column(header, H_POS_SIZE);
  const posMargin = column(header, H_POS_MARGIN);
  const instTierCount = column(header, H_INST_TIER_COUNT);
  const c0 = chunk * CHUNK_ACCOUNTS;
  const isolatedStart = column(header, H_SWEEP_RECORDS) + <usize>load<u32>(meta, CHUNK_OFFSET) + <usize>load<u32>(meta, CHUNK_CROSS) * CROSS_RECORD_BYTES;
  const isolatedEnd = isolatedStart + <usize>load<u32>(meta, CHUNK_ISOLATED) * ISOLATED_RECORD_BYTES;
  let written: u32 = 0;
  for (let r = isolatedStart; r < isolatedEnd; r += ISOLATED_RECORD_BYTES) {
    const mark = load<u32>(r, ISOLATED_MARK);
    if (mark != markLong && mark != markShort) continue;
    const k = <u32>load<u8>(r); // the low byte of the threshold word
    const a = <usize>(c0 + k);
    const j = load<u32>(r, ISOLATED_SLOT);
    const first = load<u32>(accPosStart + (a << 2));
    if (
      j < first ||
      j >= first + load<u32>(accPosCount + (a << 2)) ||
      <u32>load<u16>(posInst + (<usize>j << 1)) != inst ||
      load<u8>(posMode + <usize>j) == MODE_CROSS
    ) {
      layOutChunks(header, cache, c0, c0 + chunkAccounts(header, chunk)); // counted again: its next sweep rebuilds it
      return NOT_NAMED;
    }
    const j8 = <usize>j << 3;
    writeIsolatedRecord(r, c, <usize>inst, instTierCount, load<i64>(posSize + j8), load<i64>(posMargin + j8) - debitOf(header, c, j), k, j);
    written++;
  }
  return written;
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
function finishFailing(header: usize, a: u32, flags: u32, list: usize, capacity: u32): void {
  if (flags == 0) return;
  if ((flags & ISOLATED_FAILED) != 0) {
    const first = load<u32>(column(header, H_ACC_POS_START) + (<usize>a << 2));
    const end = first + load<u32>(column(header, H_ACC_POS_COUNT) + (<usize>a << 2));
    countIsolated(a, first, end, column(header, H_POS_STATUS), column(header, H_POS_MODE), list, capacity);
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
  const entryOffset = <usize>load<u32>(r, CROSS_ENTRY);
  const c = cache + (entryOffset - entryOffset % <usize>CACHE_STRIDE);
  const k = bracketOf(notional, c + CACHE_FLOORS);
  // Written only when it moved: a record of an instrument finer than a micro comes here every sweep
  // (its entries accept nothing), and a store each time would write its line back for nothing.
  const entry = <u32>(c - cache + <usize>CACHE_ENTRIES + k * <usize>CACHE_ENTRY_BYTES);
  if (<usize>entry != entryOffset) store<u32>(r, entry, CROSS_ENTRY);
  return maintenanceInBracket(notional, c, k);
}
