// The hot book (docs/incremental.md): the scopes of accounts near a status boundary, kept dense so
// that a tick of an instrument updates them all at a few nanoseconds a position instead of
// re-evaluating each account over the book's columns.
//
// A **hot scope** (HOT_SCOPE_BYTES) holds its equity and maintenance at the marks its records were
// last brought to, its account and slot (SLOT_CROSS for the pool), its status and whether it is
// isolated and still live. A **hot record** (HOT_RECORD_BYTES), one per position of a hot scope,
// in its instrument's array, holds the position's size, its maintenance at that instrument's
// current hot mark, its scope and a bracket hint. A tick of the instrument moves every record from
// the old mark to the new: the scope's equity by the exact change of value, size·q·(new − old), and
// its maintenance by the change of the position's maintenance, recomputed exactly. Integers only:
// a hot scope's figures stay those a full evaluation would give (the funding owed, the debits and
// the balances do not move with a mark; anything else that changes an account takes it out of the
// hot book first, src/engine/incremental.ts).

import { MODE_CROSS, STATUS_HEALTHY, STATUS_LIQUIDATABLE, STATUS_BANKRUPT } from './constants';
import { H_ACC_STATUS, H_POS_STATUS, CACHE_UNIT, CACHE_Q, CACHE_STRIDE } from './layout';
import { column } from './header';
import { maintenanceHinted } from './math';

/**
 * A hot scope: i64 equity, i64 maintenance, u32 account, u32 slot, u8 status, u8 isolated, u8 live,
 * and on an account's first scope u8 its number of scopes (the control plane's; they are contiguous).
 */
export const HOT_SCOPE_BYTES: u32 = 32;
export const HS_EQUITY: u32 = 0;
export const HS_MAINT: u32 = 8;
export const HS_ACCOUNT: u32 = 16;
export const HS_SLOT: u32 = 20;
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

/** A scope's status from its equity and maintenance (domain.md §2), as the sweeps decide it. */
// @ts-ignore: decorator
@inline
export function scopeStatus(equity: i64, maint: i64, isolated: bool): u32 {
  if (isolated) return select<u32>(STATUS_BANKRUPT, select<u32>(STATUS_LIQUIDATABLE, STATUS_HEALTHY, equity < maint), equity < 0);
  const liquidatable = maint > 0 && equity < maint;
  return select<u32>(STATUS_BANKRUPT, select<u32>(STATUS_LIQUIDATABLE, STATUS_HEALTHY, liquidatable), liquidatable && equity < 0);
}

/** Change in failing scopes (the liquidatable count) of the last hotTick (a wasm global: per instance). */
let failingDelta: i32 = 0;

/**
 * Moves the `count` hot records of an instrument at `records` from `markOld` to the instrument's
 * mark now (its cache entry `c`, filled by the caller): each live scope's equity and maintenance.
 * Statuses wait for settleHotRecords, once every instrument of the step has moved, so that a scope
 * is judged at the marks of the step, not halfway through it.
 */
export function moveHotRecords(c: usize, records: usize, count: u32, scopes: usize, markOld: i64): void {
  const unitNew = load<i64>(c + CACHE_UNIT);
  const unitOld = load<i64>(c + CACHE_Q) * markOld;
  for (let r: u32 = 0; r < count; r++) {
    const record = records + <usize>r * HOT_RECORD_BYTES;
    const scope = scopes + <usize>load<u32>(record + HR_SCOPE) * HOT_SCOPE_BYTES;
    if (load<u8>(scope + HS_LIVE) == 0) continue;
    moveRecord(c, record, scope, unitNew, unitOld);
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
 * A live scope's status from its figures: when it changed, it is written where the sweeps write it
 * (stores only) and failingDelta follows; returns whether it changed. The account's failing-scope
 * byte in the bounds region is not kept here: a read of it for each change was a cache miss the
 * loop waited on (about half a tick's time on the 10M-account book); the control plane writes it
 * from the scopes' statuses when the account leaves the hot book (src/engine/hot-book.ts remove),
 * before anything reads it.
 */
// @ts-ignore: decorator
@inline
function settleScope(scope: usize, accStatus: usize, posStatus: usize): bool {
  const isolated = load<u8>(scope + HS_ISOLATED) != 0;
  const status = scopeStatus(load<i64>(scope + HS_EQUITY), load<i64>(scope + HS_MAINT), isolated);
  const before = <u32>load<u8>(scope + HS_STATUS);
  if (status == before) return false;
  store<u8>(scope + HS_STATUS, <u8>status);
  if (isolated) store<u8>(posStatus + <usize>load<u32>(scope + HS_SLOT), <u8>status);
  else store<u8>(accStatus + <usize>load<u32>(scope + HS_ACCOUNT), <u8>status);
  failingDelta += <i32>(status != STATUS_HEALTHY) - <i32>(before != STATUS_HEALTHY);
  return true;
}

/**
 * moveHotRecords and settleHotRecords in one pass, for a step in which this instrument's mark is
 * the only one that moved: a scope holds at most one position per instrument (one per instrument
 * and mode per account, and a scope is one mode), so once its record has moved, it is at the
 * step's marks and is settled at once. Returns how many accounts it listed at `changed`.
 */
export function moveSettleHotRecords(header: usize, c: usize, records: usize, count: u32, scopes: usize, markOld: i64, changed: usize): u32 {
  const accStatus = column(header, H_ACC_STATUS);
  const posStatus = column(header, H_POS_STATUS);
  const unitNew = load<i64>(c + CACHE_UNIT);
  const unitOld = load<i64>(c + CACHE_Q) * markOld;
  failingDelta = 0;
  let listed: u32 = 0;
  for (let r: u32 = 0; r < count; r++) {
    const record = records + <usize>r * HOT_RECORD_BYTES;
    const scope = scopes + <usize>load<u32>(record + HR_SCOPE) * HOT_SCOPE_BYTES;
    if (load<u8>(scope + HS_LIVE) == 0) continue;
    moveRecord(c, record, scope, unitNew, unitOld);
    if (!settleScope(scope, accStatus, posStatus)) continue;
    store<u32>(changed + (<usize>listed << 2), load<u32>(scope + HS_ACCOUNT));
    listed++;
  }
  return listed;
}

/**
 * The statuses of the live scopes of the `count` records at `records`: a status that changed is
 * written where the sweeps write it, and the account is listed at `changed` (once per scope that
 * changed: a scope met again is settled). Returns how many it listed; hotFailingDelta() gives the
 * change in failing scopes.
 */
export function settleHotRecords(header: usize, records: usize, count: u32, scopes: usize, changed: usize): u32 {
  const accStatus = column(header, H_ACC_STATUS);
  const posStatus = column(header, H_POS_STATUS);
  failingDelta = 0;
  let listed: u32 = 0;
  for (let r: u32 = 0; r < count; r++) {
    const scope = scopes + <usize>load<u32>(records + <usize>r * HOT_RECORD_BYTES + HR_SCOPE) * HOT_SCOPE_BYTES;
    if (load<u8>(scope + HS_LIVE) == 0) continue;
    if (!settleScope(scope, accStatus, posStatus)) continue;
    store<u32>(changed + (<usize>listed << 2), load<u32>(scope + HS_ACCOUNT));
    listed++;
  }
  return listed;
}

/** The change in failing scopes of the last settleHotRecords or moveSettleHotRecords. */
export function hotFailingDelta(): i32 {
  return failingDelta;
}

