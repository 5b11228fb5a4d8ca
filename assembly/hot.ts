// The hot book (docs/incremental.md): the scopes of accounts near a status boundary, kept dense so
// that a tick of an instrument updates them all at a few nanoseconds a position instead of
// re-evaluating each account over the book's columns.
//
// A **hot scope** (HOT_SCOPE_BYTES) holds its equity and maintenance at the marks its records were
// last brought to, its account and, for an isolated scope, its position's rank in the account's
// block (SLOT_CROSS for the pool), its status and whether it is isolated and still live. A rank, not
// a slot: a compaction of the position arena slides blocks to new slots and leaves every rank (and
// every figure) as it was, so the hot book, and the incremental index with it, stay as they are.
// A **hot record** (HOT_RECORD_BYTES), one per position of a hot scope, in its instrument's array,
// holds the position's size, its maintenance at that instrument's current hot mark, its scope and a
// bracket hint. A tick of the instrument moves every record from
// the old mark to the new: the scope's equity by the exact change of value, size·q·(new − old), and
// its maintenance by the change of the position's maintenance, recomputed exactly. Integers only:
// a hot scope's figures stay those a full evaluation would give (the funding owed, the debits and
// the balances do not move with a mark; anything else that changes an account takes it out of the
// hot book first, src/engine/incremental.ts).

import { MODE_CROSS, STATUS_HEALTHY, STATUS_LIQUIDATABLE, STATUS_BANKRUPT } from './constants';
import {
  H_ACC_STATUS,
  H_ACC_POS_START,
  H_ACC_POS_COUNT,
  H_ACC_CROSS_EQUITY,
  H_ACC_CROSS_MAINT,
  H_INSTRUMENT_COUNT,
  H_ACCOUNT_COUNT,
  H_POS_SIZE,
  H_POS_INST,
  H_POS_MODE,
  H_POS_STATUS,
  H_POS_BRACKET,
  SLOT_CROSS,
  CACHE_UNIT,
  CACHE_Q,
  CACHE_STRIDE,
} from './layout';
import { column, headerValue } from './header';
import { maintenanceHinted } from './math';

/**
 * A hot scope: i64 equity, i64 maintenance, u32 account, u32 rank (its position's slot less the
 * account's first; SLOT_CROSS for the pool), u8 status, u8 isolated, u8 live,
 * and on an account's first scope u8 its number of scopes (the control plane's; they are contiguous).
 */
export const HOT_SCOPE_BYTES: u32 = 32;
export const HS_EQUITY: u32 = 0;
export const HS_MAINT: u32 = 8;
export const HS_ACCOUNT: u32 = 16;
export const HS_RANK: u32 = 20;
export const HS_STATUS: u32 = 24;
export const HS_ISOLATED: u32 = 25;
export const HS_LIVE: u32 = 26;
export const HS_SCOPES: u32 = 27;
/** A hot record: i64 size, i64 maintenance, u32 scope (index), u8 bracket hint. */
export const HOT_RECORD_BYTES: u32 = 24;
export const HR_SIZE: u32 = 0;
export const HR_MAINT: u32 = 8;
export const HR_SCOPE: u32 = 16;
export const HR_BRACKET: u32 = 20;

if (MODE_CROSS != 0) ERROR('hot.ts: HS_ISOLATED is 0 for the pool');

/**
 * A scope's status from its equity and maintenance (domain.md §2), as the sweeps decide it: a pool
 * is liquidatable when its maintenance is positive and its equity below it, an isolated scope when
 * its equity is below its maintenance; either is bankrupt when also below zero (an isolated scope
 * whenever its equity is). With no branch: a tick of the hot book meets pools and isolated scopes in
 * no order, and a branch on `isolated`, mispredicted for many of them, waited each time for the
 * scope's load (settleScope; bench/README.md, 2026-12-02, afternoon).
 */
// @ts-ignore: decorator
@inline
export function scopeStatus(equity: i64, maint: i64, isolated: bool): u32 {
  const liquidatable = <u32>(equity < maint) & (<u32>isolated | <u32>(maint > 0));
  const bankrupt = <u32>(equity < 0) & (<u32>isolated | liquidatable);
  return select<u32>(STATUS_BANKRUPT, select<u32>(STATUS_LIQUIDATABLE, STATUS_HEALTHY, liquidatable != 0), bankrupt != 0);
}

/** Change in failing scopes (the liquidatable count) of the last hotTick (a wasm global: per instance). */
let failingDelta: i32 = 0;

/**
 * Records whose scopes are touched at a time before they are moved or settled (touchScopes). A
 * scope is a cache miss (an instrument's records name scopes all over the hot book), and the move
 * of a record waited for its scope's load: 70% of moveSettleHotRecords' samples were on the one
 * instruction after it. Loads with nothing else in their loop are in flight together, so the
 * group's misses overlap (the hot book's time in normal ticks of the 10M-account book 1.5–1.65
 * times lower; bench/README.md, 2026-12-03).
 */
const HOT_TOUCH_GROUP: u32 = 64;

/** The sum of the touches (a wasm global: per instance), kept so that they are not optimised away. */
let touchSink: i64 = 0;

/** Loads the equity of the scope of each record [from, to) at `records`, for the records' passes after it. */
// @ts-ignore: decorator
@inline
function touchScopes(records: usize, from: u32, to: u32, scopes: usize): void {
  let sum: i64 = 0;
  for (let r = from; r < to; r++) sum += load<i64>(scopes + <usize>load<u32>(records + <usize>r * HOT_RECORD_BYTES + HR_SCOPE) * HOT_SCOPE_BYTES);
  touchSink += sum;
}

/**
 * Moves the `count` hot records of an instrument at `records` from `markOld` to the instrument's
 * mark now (its cache entry `c`, filled by the caller): each scope's equity and maintenance (a dead
 * scope's too, as settleScope says).
 * Statuses wait for settleHotRecords, once every instrument of the step has moved, so that a scope
 * is judged at the marks of the step, not halfway through it.
 */
export function moveHotRecords(c: usize, records: usize, count: u32, scopes: usize, markOld: i64): void {
  const unitNew = load<i64>(c + CACHE_UNIT);
  const unitOld = load<i64>(c + CACHE_Q) * markOld;
  for (let r: u32 = 0; r < count; r++) {
    if (r % HOT_TOUCH_GROUP == 0) touchScopes(records, r, min<u32>(count, r + HOT_TOUCH_GROUP), scopes);
    const record = records + <usize>r * HOT_RECORD_BYTES;
    moveRecord(c, record, scopes + <usize>load<u32>(record + HR_SCOPE) * HOT_SCOPE_BYTES, unitNew, unitOld);
  }
}

/** Moves one record's scope from the unit value `unitOld` (q·old mark) to `unitNew` (q·new mark). */
// @ts-ignore: decorator
@inline
function moveRecord(c: usize, record: usize, scope: usize, unitNew: i64, unitOld: i64): void {
  const size = load<i64>(record + HR_SIZE);
  const value = size * unitNew;
  const maint = maintenanceHinted(<u64>abs<i64>(value), c, record + HR_BRACKET);
  store<i64>(scope + HS_EQUITY, load<i64>(scope + HS_EQUITY) + value - size * unitOld);
  store<i64>(scope + HS_MAINT, load<i64>(scope + HS_MAINT) + maint - load<i64>(record + HR_MAINT));
  store<i64>(record + HR_MAINT, maint);
}

/**
 * Settles scope `s` (its byte offset `scope`): its status from its figures, stored in the scope, and
 * `s` written at `list` + 4·`listed`; returns `listed` + 1 when the status changed and the scope is
 * live, else `listed` (the entry is then written over by the next). failingDelta follows the live
 * scopes' changes. The statuses go where the sweeps write them afterwards (writeChanged, for the few
 * listed). No branch on what the scope holds: a mispredicted branch on a scope's figures waits for
 * the scope's load. A tick of the largest instrument of the 10M-account book (142,825 records, about
 * 11,800 changes) took a median of 13.2 ns a record with branches on the kind of scope, on a change
 * and on a live scope; 10.7 with the kind's alone made branchless; 9.5 with none (four runs each, in
 * turn; bench/README.md, 2026-12-02, afternoon). A dead scope is moved and settled too, and never
 * read: the next compaction drops it.
 */
// @ts-ignore: decorator
@inline
function settleScope(scope: usize, s: u32, list: usize, listed: u32): u32 {
  const live = <u32>load<u8>(scope + HS_LIVE) != 0;
  const status = scopeStatus(load<i64>(scope + HS_EQUITY), load<i64>(scope + HS_MAINT), load<u8>(scope + HS_ISOLATED) != 0);
  const before = <u32>load<u8>(scope + HS_STATUS);
  store<u8>(scope + HS_STATUS, <u8>status);
  store<u32>(list + (<usize>listed << 2), s);
  const changed = live & (status != before);
  failingDelta += select<i32>(<i32>(status != STATUS_HEALTHY) - <i32>(before != STATUS_HEALTHY), 0, changed);
  return listed + <u32>changed;
}

/**
 * For the `listed` scopes at `list` (indices, as settleScope listed them): writes each one's status
 * where the sweeps write it (stores only) and its account over its entry. The account's
 * failing-scope byte in the bounds region is not kept here: a read of it for each change was a cache
 * miss the loop waited on (about half a tick's time on the 10M-account book); the control plane
 * writes it from the scopes' statuses when the account leaves the hot book (src/engine/hot-book.ts
 * remove), before anything reads it.
 */
function writeChanged(header: usize, scopes: usize, list: usize, listed: u32): void {
  const accStatus = column(header, H_ACC_STATUS);
  const accPosStart = column(header, H_ACC_POS_START);
  const posStatus = column(header, H_POS_STATUS);
  for (let k: u32 = 0; k < listed; k++) {
    const entry = list + (<usize>k << 2);
    const scope = scopes + <usize>load<u32>(entry) * HOT_SCOPE_BYTES;
    const status = load<u8>(scope + HS_STATUS);
    const account = load<u32>(scope + HS_ACCOUNT);
    if (load<u8>(scope + HS_ISOLATED) != 0) store<u8>(posStatus + <usize>(load<u32>(accPosStart + (<usize>account << 2)) + load<u32>(scope + HS_RANK)), status);
    else store<u8>(accStatus + <usize>account, status);
    store<u32>(entry, account);
  }
}

/**
 * moveHotRecords and settleHotRecords in one pass, for a step in which this instrument's mark is
 * the only one that moved: a scope holds at most one position per instrument (one per instrument
 * and mode per account, and a scope is one mode), so once its record has moved, it is at the
 * step's marks and is settled at once. Returns how many accounts it listed at `changed`.
 */
export function moveSettleHotRecords(header: usize, c: usize, records: usize, count: u32, scopes: usize, markOld: i64, changed: usize): u32 {
  const unitNew = load<i64>(c + CACHE_UNIT);
  const unitOld = load<i64>(c + CACHE_Q) * markOld;
  failingDelta = 0;
  let listed: u32 = 0;
  for (let r: u32 = 0; r < count; r++) {
    if (r % HOT_TOUCH_GROUP == 0) touchScopes(records, r, min<u32>(count, r + HOT_TOUCH_GROUP), scopes);
    const record = records + <usize>r * HOT_RECORD_BYTES;
    const s = load<u32>(record + HR_SCOPE);
    const scope = scopes + <usize>s * HOT_SCOPE_BYTES;
    moveRecord(c, record, scope, unitNew, unitOld);
    listed = settleScope(scope, s, changed, listed);
  }
  writeChanged(header, scopes, changed, listed);
  return listed;
}

/**
 * The statuses of the scopes of the `count` records at `records`: a live scope's status that
 * changed is written where the sweeps write it, and the account is listed at `changed` (once per
 * scope that changed: a scope met again is settled). Returns how many it listed; hotFailingDelta()
 * gives the change in failing scopes.
 */
export function settleHotRecords(header: usize, records: usize, count: u32, scopes: usize, changed: usize): u32 {
  failingDelta = 0;
  let listed: u32 = 0;
  for (let r: u32 = 0; r < count; r++) {
    if (r % HOT_TOUCH_GROUP == 0) touchScopes(records, r, min<u32>(count, r + HOT_TOUCH_GROUP), scopes);
    const s = load<u32>(records + <usize>r * HOT_RECORD_BYTES + HR_SCOPE);
    listed = settleScope(scopes + <usize>s * HOT_SCOPE_BYTES, s, changed, listed);
  }
  writeChanged(header, scopes, changed, listed);
  return listed;
}

/** The change in failing scopes of the last settleHotRecords or moveSettleHotRecords. */
export function hotFailingDelta(): i32 {
  return failingDelta;
}

/**
 * The hot book's table of record arrays, per instrument, in the shared memory (src/engine/hot-book.ts
 * keeps it, and grows an array; hotAdmit appends through it): u32 the byte offset of its records,
 * u32 how many it has room for, u32 how many it has.
 */
export const HOT_TABLE_STRIDE: u32 = 12;
export const HT_OFFSET: u32 = 0;
export const HT_CAPACITY: u32 = 4;
export const HT_COUNT: u32 = 8;
/** What hotAdmit leaves at `out`: u32 the scopes in use after it, u32 the instrument whose records had no room (HOT_ROOM_NONE if none). */
export const HOT_ADMIT_SCOPES: u32 = 0;
export const HOT_ADMIT_ROOM: u32 = 4;
export const HOT_ROOM_NONE: u32 = 0xffff_ffff;

/**
 * Admits the `count` accounts listed at `accounts` (u32), from the `from`-th, to the hot book: each
 * one just evaluated at the marks its instruments' records are at, its detail (two i64 a position of
 * its block in slot order: the position's maintenance, then its equity as an isolated scope) from
 * the position index listed beside it at `at` (u32) in `detail`. Its scopes go at the hot book's
 * next ones (`scopes`, `used` of them in use; the caller has made room for every listed account's
 * positions + 1 after them), the pool first (its equity and maintenance from the account's columns)
 * and then each isolated position in slot order; each position's record goes at the end of its
 * instrument's array in `table` (HOT_TABLE_STRIDE). The first scope of the k-th account listed is
 * written at `firsts` + 4k. Stops before an account one of whose instruments' arrays has no room
 * for two more records (an account holds at most one position an instrument and mode), its
 * instrument at `out` + HOT_ADMIT_ROOM, and returns the index of that account (`count` when it
 * admitted them all); the scopes in use at `out` + HOT_ADMIT_SCOPES. An account with no position is
 * skipped (its first scope written as HOT_ROOM_NONE).
 */
export function hotAdmit(header: usize, accounts: usize, at: usize, from: u32, count: u32, detail: usize, scopes: usize, used: u32, table: usize, firsts: usize, out: usize): u32 {
  assert(from <= count, 'hotAdmit: from > count');
  assert(out != 0 && (from == count || (accounts != 0 && at != 0 && detail != 0 && scopes != 0 && table != 0 && firsts != 0)), 'hotAdmit: no list, detail, scopes, table or out');
  const instruments = headerValue(header, H_INSTRUMENT_COUNT);
  const accountCount = headerValue(header, H_ACCOUNT_COUNT);
  for (let k = from; k < count; k++) assert(load<u32>(accounts + (<usize>k << 2)) < accountCount, "hotAdmit: a listed account is past the book's account count");
  const accPosStart = column(header, H_ACC_POS_START);
  const accPosCount = column(header, H_ACC_POS_COUNT);
  const accStatus = column(header, H_ACC_STATUS);
  const accCrossEquity = column(header, H_ACC_CROSS_EQUITY);
  const accCrossMaint = column(header, H_ACC_CROSS_MAINT);
  const posSize = column(header, H_POS_SIZE);
  const posInst = column(header, H_POS_INST);
  const posMode = column(header, H_POS_MODE);
  const posStatus = column(header, H_POS_STATUS);
  const posBracket = column(header, H_POS_BRACKET);
  store<u32>(out + HOT_ADMIT_ROOM, HOT_ROOM_NONE);
  let k = from;
  for (; k < count; k++) {
    const a = <usize>load<u32>(accounts + (<usize>k << 2));
    const first = load<u32>(accPosStart + (a << 2));
    const end = first + load<u32>(accPosCount + (a << 2));
    // Room first, for every instrument of the block, so that an account is admitted whole or not at all.
    let cross = false;
    let room = HOT_ROOM_NONE;
    for (let j = first; j < end; j++) {
      const i = <u32>load<u16>(posInst + (<usize>j << 1));
      assert(i < instruments, "hotAdmit: a position's instrument is past the book's instruments");
      const entry = table + <usize>i * HOT_TABLE_STRIDE;
      if (load<u32>(entry + HT_COUNT) + 2 > load<u32>(entry + HT_CAPACITY)) room = i;
      cross = cross || load<u8>(posMode + <usize>j) == MODE_CROSS;
    }
    if (room != HOT_ROOM_NONE) {
      store<u32>(out + HOT_ADMIT_ROOM, room);
      break;
    }
    if (first == end) {
      store<u32>(firsts + (<usize>k << 2), HOT_ROOM_NONE);
      continue;
    }
    const base = used;
    store<u32>(firsts + (<usize>k << 2), base);
    let crossScope: u32 = SLOT_CROSS;
    if (cross) {
      crossScope = used++;
      writeScope(scopes + <usize>crossScope * HOT_SCOPE_BYTES, load<i64>(accCrossEquity + (a << 3)), load<i64>(accCrossMaint + (a << 3)), <u32>a, SLOT_CROSS, load<u8>(accStatus + a), false);
    }
    const d = detail + (<usize>load<u32>(at + (<usize>k << 2)) << 4);
    for (let j = first; j < end; j++) {
      const entry = d + (<usize>(j - first) << 4); // maintenance, then the isolated equity
      let scope = crossScope;
      if (load<u8>(posMode + <usize>j) != MODE_CROSS) {
        scope = used++;
        writeScope(scopes + <usize>scope * HOT_SCOPE_BYTES, load<i64>(entry + 8), load<i64>(entry), <u32>a, j - first, load<u8>(posStatus + <usize>j), true);
      }
      const arrays = table + <usize>load<u16>(posInst + (<usize>j << 1)) * HOT_TABLE_STRIDE;
      const n = load<u32>(arrays + HT_COUNT);
      const record = <usize>load<u32>(arrays + HT_OFFSET) + <usize>n * HOT_RECORD_BYTES;
      store<i64>(record + HR_SIZE, load<i64>(posSize + (<usize>j << 3)));
      store<i64>(record + HR_MAINT, load<i64>(entry));
      store<u32>(record + HR_SCOPE, scope);
      store<u8>(record + HR_BRACKET, load<u8>(posBracket + <usize>j));
      store<u32>(arrays + HT_COUNT, n + 1);
    }
    store<u8>(scopes + <usize>base * HOT_SCOPE_BYTES + HS_SCOPES, <u8>(used - base));
  }
  store<u32>(out + HOT_ADMIT_SCOPES, used);
  return k;
}

/** Writes a live hot scope at `scope`. */
// @ts-ignore: decorator
@inline
function writeScope(scope: usize, equity: i64, maint: i64, account: u32, rank: u32, status: u8, isolated: bool): void {
  store<i64>(scope + HS_EQUITY, equity);
  store<i64>(scope + HS_MAINT, maint);
  store<u32>(scope + HS_ACCOUNT, account);
  store<u32>(scope + HS_RANK, rank);
  store<u8>(scope + HS_STATUS, status);
  store<u8>(scope + HS_ISOLATED, <u8>isolated);
  store<u8>(scope + HS_LIVE, 1);
}
