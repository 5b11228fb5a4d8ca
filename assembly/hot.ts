// The hot book (docs/incremental.md): the scopes of accounts near a status boundary, kept dense so
// that a tick of an instrument updates them all at a few nanoseconds a position instead of
// re-evaluating each account over the book's columns.
//
// A **hot scope** (HOT_SCOPE_BYTES) holds its equity and maintenance at the marks its records were
// last brought to, its account and, for an isolated scope, its position's rank in the account's
// block (SLOT_CROSS for the pool), its status and whether it is isolated and still live. A rank, not
// a slot: a compaction of the position arena slides blocks to new slots and leaves every rank (and
// every figure) as it was, so the hot book, and the incremental index with it, stay as they are.
// A **hot record** (HOT_RECORD_BYTES), one per position of a hot scope of two positions or more, in
// its instrument's array, holds the position's size, its maintenance at that instrument's current
// hot mark, its scope and a bracket hint. A scope of one position (an isolated one, or a pool with
// one position) has a **solo record** instead (HOT_SOLO_BYTES), in its instrument's solo array: its
// status depends on that one mark, so the record holds the range of marks within which the status
// cannot change, and a tick that stays within it costs the read of two i32s (soloPass).
// A tick of the instrument moves every record from
// the old mark to the new: the scope's equity by the exact change of value, size·q·(new − old), and
// its maintenance by the change of the position's maintenance, recomputed exactly. For an instrument
// finer than a micro (d > 1: a value is floor(size·q·mark / d), docs/numbers.md) the change of value
// is the difference of the two floored values, and a solo record keeps its scope's equity less its
// position's value (which no mark moves) rather than its equity at a reference mark. Integers only:
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
  H_INST_Q,
  H_INST_DIV,
  H_INST_MARK,
  SLOT_CROSS,
  CACHE_UNIT,
  CACHE_Q,
  CACHE_DIV,
  CACHE_STRIDE,
} from './layout';
import { column, headerValue } from './header';
import { LEAST_CROSS } from './bounds';
import { maintenanceHinted, notionalOf, valueOf } from './math';

/**
 * A hot scope: i64 equity, i64 maintenance, u32 account, u32 rank (its position's slot less the
 * account's first; SLOT_CROSS for the pool), u8 status, u8 isolated, u8 live,
 * and on an account's first scope u8 its number of scopes (the control plane's; they are contiguous),
 * u8 solo. A solo scope (one position: its figures and status are its solo record's) holds where
 * its solo record is instead of its equity and maintenance: HS_SOLO_INDEX, HS_SOLO_INSTRUMENT.
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
export const HS_SOLO: u32 = 28;
export const HS_SOLO_INDEX: u32 = 0;
export const HS_SOLO_INSTRUMENT: u32 = 4;
/** A hot record: i64 size, i64 maintenance, u32 scope (index), u8 bracket hint. */
export const HOT_RECORD_BYTES: u32 = 24;
export const HR_SIZE: u32 = 0;
export const HR_MAINT: u32 = 8;
export const HR_SCOPE: u32 = 16;
export const HR_BRACKET: u32 = 20;

/**
 * A solo record: i32 lo, i32 hi (the marks, less the instrument's solo reference mark HT_SOLO_MARK,
 * between which its status cannot change: soloPass), i64 size, i64 the scope's equity at the solo
 * reference mark (for an instrument finer than a micro, its equity less its position's value:
 * soloRecords), u32 account, u16 rank (as the scope's; SOLO_POOL for the pool), u8 bracket hint,
 * u8 the scope's status (SOLO_DEAD once the scope is). A tick reads a record's lo and hi, and
 * nothing else unless its mark is outside them: a scope of one position holds its status between
 * two marks, and most of a large instrument's hot scopes are far from both (docs/incremental.md).
 */
export const HOT_SOLO_BYTES: u32 = 32;
export const HO_LO: u32 = 0;
export const HO_HI: u32 = 4;
export const HO_SIZE: u32 = 8;
export const HO_EQUITY: u32 = 16;
export const HO_ACCOUNT: u32 = 24;
export const HO_RANK: u32 = 28;
export const HO_BRACKET: u32 = 30;
export const HO_STATUS: u32 = 31;
/** What soloReach keeps back of a solo record's distance H for the maintenance's ceiling and the f64 reach (d = 1). */
const SOLO_SLACK: i64 = 3;
/** The same for an instrument finer than a micro: 4 micro more for the floored value and notional (soloReach). */
const SOLO_SLACK_FINE: i64 = SOLO_SLACK + 4;
/** A solo record's rank for the pool. */
export const SOLO_POOL: u16 = 0xffff;
/** A solo record's status once its scope is dead (the control plane's HotBook.drop): skipped, and dropped by the next compaction. */
export const SOLO_DEAD: u8 = 0xff;
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
 * times lower; bench/README.md, 2026-12-03). 1,024 (64 KB of scopes, in a core's L2) rather than
 * 64: instrument 0's records' tick 2.31 ms against 2.58–2.68, instrument 1's 1.43 against 1.65
 * (256 and 512 in between; 2,048 no better; bench/README.md, 2026-12-04, last thing).
 */
const HOT_TOUCH_GROUP: u32 = 1_024;

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
  if (load<i64>(c + CACHE_DIV) != 1) moveRecords<Floored>(c, records, count, scopes, unitNew, unitOld);
  else moveRecords<Exact>(c, records, count, scopes, unitNew, unitOld);
}

/**
 * Whether the records' instrument is finer than a micro (Floored: its values floored, d > 1) or not
 * (Exact): a type argument of the loops below (isSigned), as sweepChunk's Lazily and Settled in
 * chunks.ts, so that each loop is compiled once for each, with the other's branches folded away (a
 * bool argument let the optimizer merge two inlined bodies into one testing a local in every loop).
 */
type Floored = i8;
type Exact = u8;

/** moveHotRecords' loop, for Floored or Exact values (moveRecordOf). */
// @ts-ignore: decorator
@inline
function moveRecords<Values>(c: usize, records: usize, count: u32, scopes: usize, unitNew: i64, unitOld: i64): void {
  for (let r: u32 = 0; r < count; r++) {
    if (r % HOT_TOUCH_GROUP == 0) touchScopes(records, r, min<u32>(count, r + HOT_TOUCH_GROUP), scopes);
    const record = records + <usize>r * HOT_RECORD_BYTES;
    moveRecordOf<Values>(c, record, scopes + <usize>load<u32>(record + HR_SCOPE) * HOT_SCOPE_BYTES, unitNew, unitOld);
  }
}

/** moveRecordFine for Floored values, else moveRecord. */
// @ts-ignore: decorator
@inline
function moveRecordOf<Values>(c: usize, record: usize, scope: usize, unitNew: i64, unitOld: i64): void {
  if (isSigned<Values>()) moveRecordFine(c, record, scope, unitOld);
  else moveRecord(c, record, scope, unitNew, unitOld);
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
 * moveRecord for an instrument finer than a micro (d > 1): the scope's equity moves by
 * floor(size·q·new / d) − floor(size·q·old / d), the value's own change (both products within
 * UNIT_PRODUCT_MAX: the record's size is its position's since it was admitted, and every mark since
 * was taken with that position open), and the maintenance is that of the new value's notional, as
 * an evaluation computes them (valueOf, notionalOf).
 */
// @ts-ignore: decorator
@inline
function moveRecordFine(c: usize, record: usize, scope: usize, unitOld: i64): void {
  const size = load<i64>(record + HR_SIZE);
  const value = valueOf(size, c);
  const maint = maintenanceHinted(notionalOf(value, size), c, record + HR_BRACKET);
  store<i64>(scope + HS_EQUITY, load<i64>(scope + HS_EQUITY) + value - floorDivide(size * unitOld, load<i64>(c + CACHE_DIV)));
  store<i64>(scope + HS_MAINT, load<i64>(scope + HS_MAINT) + maint - load<i64>(record + HR_MAINT));
  store<i64>(record + HR_MAINT, maint);
}

/** floor(product / d), d > 0: a value rounded against the account, as valueOf does. */
// @ts-ignore: decorator
@inline
function floorDivide(product: i64, d: i64): i64 {
  const quotient = product / d; // toward zero
  return quotient - <i64>(product < 0 && quotient * d != product);
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
    const account = load<u32>(scope + HS_ACCOUNT);
    writeStatus(accStatus, accPosStart, posStatus, account, load<u32>(scope + HS_RANK), load<u8>(scope + HS_ISOLATED) != 0, load<u8>(scope + HS_STATUS));
    store<u32>(entry, account);
  }
}

/**
 * Writes a hot scope's status where the sweeps write it: an isolated scope's at its position's slot
 * (the account's first slot now, plus the rank), the pool's in the account's byte.
 */
// @ts-ignore: decorator
@inline
function writeStatus(accStatus: usize, accPosStart: usize, posStatus: usize, account: u32, rank: u32, isolated: bool, status: u8): void {
  if (isolated) store<u8>(posStatus + <usize>(load<u32>(accPosStart + (<usize>account << 2)) + rank), status);
  else store<u8>(accStatus + <usize>account, status);
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
  const listed =
    load<i64>(c + CACHE_DIV) != 1
      ? moveSettleRecords<Floored>(c, records, count, scopes, unitNew, unitOld, changed)
      : moveSettleRecords<Exact>(c, records, count, scopes, unitNew, unitOld, changed);
  writeChanged(header, scopes, changed, listed);
  return listed;
}

/** moveSettleHotRecords' loop, for Floored or Exact values (moveRecordOf); returns how many it listed. */
// @ts-ignore: decorator
@inline
function moveSettleRecords<Values>(c: usize, records: usize, count: u32, scopes: usize, unitNew: i64, unitOld: i64, changed: usize): u32 {
  let listed: u32 = 0;
  for (let r: u32 = 0; r < count; r++) {
    if (r % HOT_TOUCH_GROUP == 0) touchScopes(records, r, min<u32>(count, r + HOT_TOUCH_GROUP), scopes);
    const record = records + <usize>r * HOT_RECORD_BYTES;
    const s = load<u32>(record + HR_SCOPE);
    const scope = scopes + <usize>s * HOT_SCOPE_BYTES;
    moveRecordOf<Values>(c, record, scope, unitNew, unitOld);
    listed = settleScope(scope, s, changed, listed);
  }
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

/** The change in failing scopes of the last settleHotRecords, moveSettleHotRecords or soloPass. */
export function hotFailingDelta(): i32 {
  return failingDelta;
}

/**
 * One pass over the `count` solo records of an instrument at `solos`, their equities at `markRef`,
 * its mark now `mark` (its cache entry `c`'s unit, q·mark, filled by the caller), `weight` its
 * q·(1 + r_max) rounded up (the incremental index's, src/engine/incremental.ts takeTable).
 * A record whose mark now (less markRef) is within its [lo, hi] keeps its status, and is only read
 * there. Any other is evaluated: its scope's equity at the mark now is its equity at markRef plus the exact change of value,
 * size·q·(now − markRef), its maintenance its position's at the mark now, and its status theirs (a
 * scope of one position is at the step's marks once its instrument's mark is); it gets a new
 * [lo, hi] around the mark now (soloReach). A live record whose status changed is listed at
 * `changed` (its index), and writeSolos writes the statuses where the sweeps write them. Returns how
 * many accounts it listed; failingDelta follows their changes.
 */
export function soloPass(header: usize, c: usize, solos: usize, count: u32, mark: i64, markRef: i64, weight: f64, changed: usize): u32 {
  const offset = mark - markRef;
  failingDelta = 0;
  const listed =
    load<i64>(c + CACHE_DIV) != 1
      ? soloRecords<Floored>(c, solos, count, offset, weight, changed)
      : soloRecords<Exact>(c, solos, count, offset, weight, changed);
  writeSolos(header, solos, changed, listed);
  return listed;
}

/**
 * soloPass' loop, for Floored or Exact values. An instrument finer than a
 * micro (d > 1) has records that hold their scope's equity less their position's value (HO_EQUITY;
 * hotAdmit): one evaluated has that plus its value at the mark now, floor(size·q·mark / d), and the
 * maintenance of that value's notional, as an evaluation computes them, and its range keeps
 * SOLO_SLACK_FINE back (soloReach). Returns how many it listed.
 */
// @ts-ignore: decorator
@inline
function soloRecords<Values>(c: usize, solos: usize, count: u32, offset: i64, weight: f64, changed: usize): u32 {
  const fine = isSigned<Values>();
  const unit = load<i64>(c + CACHE_UNIT);
  const moved = load<i64>(c + CACHE_Q) * offset;
  let listed: u32 = 0;
  for (let r: u32 = 0; r < count; r++) {
    const record = solos + <usize>r * HOT_SOLO_BYTES;
    if (offset >= <i64>load<i32>(record + HO_LO) && offset <= <i64>load<i32>(record + HO_HI)) continue;
    const before = <u32>load<u8>(record + HO_STATUS);
    if (before == SOLO_DEAD) continue;
    const size = load<i64>(record + HO_SIZE);
    let maint: i64;
    let equity: i64;
    if (fine) {
      const value = valueOf(size, c);
      maint = maintenanceHinted(notionalOf(value, size), c, record + HO_BRACKET);
      equity = load<i64>(record + HO_EQUITY) + value;
    } else {
      maint = maintenanceHinted(<u64>abs<i64>(size * unit), c, record + HO_BRACKET);
      equity = load<i64>(record + HO_EQUITY) + size * moved;
    }
    const isolated = load<u16>(record + HO_RANK) != SOLO_POOL;
    const status = scopeStatus(equity, maint, isolated);
    soloReach(record, offset, status, equity, maint, isolated, <f64>abs<i64>(size) * weight, fine ? SOLO_SLACK_FINE : SOLO_SLACK);
    if (status == before) continue;
    store<u8>(record + HO_STATUS, <u8>status);
    store<u32>(changed + (<usize>listed << 2), r);
    listed++;
    failingDelta += <i32>(status != STATUS_HEALTHY) - <i32>(before != STATUS_HEALTHY);
  }
  return listed;
}

/**
 * One thread's part of a tick shared by several (src/engine/hot-book.ts tickSplit): the `count`
 * records at `records` (moveSettleHotRecords) and the `soloCount` solo records at `solos` (soloPass),
 * cut into chunks of `chunk` records of one kind, the records' first, each taken by the thread that raises the
 * u32 at `counter` to it, until none is left. So a thread that is slower, or starts late, takes
 * fewer: the two finish together whatever the chunks cost (a chunk with thousands of status changes
 * costs several times one with none). A tick moves each scope once (a scope holds one position an
 * instrument), so the threads touch different scopes and write different status bytes. Lists at
 * `changed` the accounts this thread's chunks changed and returns how many; failingDelta is the
 * change in failing scopes of its chunks.
 */
export function sharedTick(header: usize, c: usize, records: usize, count: u32, scopes: usize, markOld: i64, solos: usize, soloCount: u32, mark: i64, markRef: i64, weight: f64, counter: usize, chunk: u32, changed: usize): u32 {
  const recordChunks = (count + chunk - 1) / chunk;
  const chunks = recordChunks + (soloCount + chunk - 1) / chunk;
  let listed: u32 = 0;
  let failing: i32 = 0;
  for (let k = atomic.add<u32>(counter, 1); k < chunks; k = atomic.add<u32>(counter, 1)) {
    const list = changed + (<usize>listed << 2);
    if (k < recordChunks) {
      const from = k * chunk;
      listed += moveSettleHotRecords(header, c, records + <usize>from * HOT_RECORD_BYTES, min<u32>(chunk, count - from), scopes, markOld, list);
    } else {
      const from = (k - recordChunks) * chunk;
      listed += soloPass(header, c, solos + <usize>from * HOT_SOLO_BYTES, min<u32>(chunk, soloCount - from), mark, markRef, weight, list);
    }
    failing += failingDelta;
  }
  failingDelta = failing;
  return listed;
}

/**
 * Sets a solo record's [lo, hi] to the marks (less the solo reference mark) within `reach` price
 * units of `offset`, the mark it was just evaluated at with `equity`, `maint` and `status`: the
 * marks at which the status cannot differ. A move of Δ price units changes the equity by exactly
 * size·q·Δ and the maintenance by at most r_max·|size|·q·|Δ| + 1 (a ceiling of a function with
 * slopes at most the highest rate), so with w = |size|·q·(1 + r_max) (|size|·`weight`) and H the
 * distance of the docs' table (docs/incremental.md, The bound: healthy E − M + 1; liquidatable
 * min(M − E, E + 1); bankrupt −E, a pool's min(−E, M)), the status holds while w·|Δ| ≤ H − 3. In
 * f64, w rounded up (as the weight is); cut to the i32 offsets (a narrower range, still safe: an
 * instrument whose marks move more than 2^31 price units from its reference has its records
 * evaluated at every tick). An H below `slack` (SOLO_SLACK, 3) gives an empty range: the next pass
 * evaluates the record again. For an instrument finer than a micro (SOLO_SLACK_FINE) the value is
 * floored, so over Δ it moves by size·q·Δ/d and less than 1 micro more either way, its notional by
 * less than 1 micro more again (notionalOf's 1 micro for a long floored to 0), and the maintenance
 * by less than r_max·(|size|·q·|Δ|/d + 2) + 1: E − M moves by less than w·|Δ| + 4, w =
 * |size|·q·(1 + r_max)/d (the weight divides by d), so 4 micro more: the status holds while w·|Δ| ≤
 * H − 7.
 */
// @ts-ignore: decorator
@inline
function soloReach(record: usize, offset: i64, status: u32, equity: i64, maint: i64, isolated: bool, weight: f64, slack: i64): void {
  let h: i64;
  if (status == STATUS_HEALTHY) h = equity - maint + 1;
  else if (status == STATUS_LIQUIDATABLE) h = min<i64>(maint - equity, equity + 1);
  else h = isolated ? -equity : min<i64>(-equity, maint);
  let lo: i64 = offset + 1;
  let hi: i64 = offset - 1;
  if (h >= slack) {
    const reach = weight > 0 ? Math.floor(<f64>(h - slack) / weight) : Infinity;
    const r: i64 = reach >= 4e18 ? <i64>4e18 : <i64>reach;
    lo = offset - r;
    hi = offset + r;
  }
  // Within the i32 offsets: a range cut to them is narrower, so still safe; one outside them is empty.
  lo = max<i64>(lo, <i64>i32.MIN_VALUE);
  hi = min<i64>(hi, <i64>i32.MAX_VALUE);
  if (lo > hi) {
    lo = <i64>i32.MAX_VALUE;
    hi = <i64>i32.MIN_VALUE;
  }
  store<i32>(record + HO_LO, <i32>lo);
  store<i32>(record + HO_HI, <i32>hi);
}

/**
 * For the `listed` solo records soloPass listed at `list` (their indices): writes each one's status
 * where the sweeps write it and its account over its entry. The starts of a group's accounts are
 * loaded first, with nothing else in their loop (touchScopes), then the statuses stored.
 */
function writeSolos(header: usize, solos: usize, list: usize, listed: u32): void {
  const accStatus = column(header, H_ACC_STATUS);
  const accPosStart = column(header, H_ACC_POS_START);
  const posStatus = column(header, H_POS_STATUS);
  for (let from: u32 = 0; from < listed; from += HOT_TOUCH_GROUP) {
    const to = min<u32>(listed, from + HOT_TOUCH_GROUP);
    let sum: i64 = 0;
    for (let k = from; k < to; k++) sum += <i64>load<u32>(accPosStart + (<usize>load<u32>(solos + <usize>load<u32>(list + (<usize>k << 2)) * HOT_SOLO_BYTES + HO_ACCOUNT) << 2));
    touchSink += sum;
    for (let k = from; k < to; k++) {
      const entry = list + (<usize>k << 2);
      const record = solos + <usize>load<u32>(entry) * HOT_SOLO_BYTES;
      const account = load<u32>(record + HO_ACCOUNT);
      const rank = load<u16>(record + HO_RANK);
      writeStatus(accStatus, accPosStart, posStatus, account, rank, rank != SOLO_POOL, load<u8>(record + HO_STATUS));
      store<u32>(entry, account);
    }
  }
}

/**
 * The hot book's table of record arrays, per instrument, in the shared memory (src/engine/hot-book.ts
 * keeps it, and grows an array; hotAdmit appends through it): u32 the byte offset of its records,
 * u32 how many it has room for, u32 how many it has; the same three for its solo records, and the
 * mark their equities are at.
 */
export const HOT_TABLE_STRIDE: u32 = 32;
export const HT_OFFSET: u32 = 0;
export const HT_CAPACITY: u32 = 4;
export const HT_COUNT: u32 = 8;
/** The instrument's solo records, as the records: byte offset, room, how many. */
export const HT_SOLO_OFFSET: u32 = 12;
export const HT_SOLO_CAPACITY: u32 = 16;
export const HT_SOLO_COUNT: u32 = 20;
/** i64: the mark the instrument's solo records' equities are at (the control plane sets it while they are none). */
export const HT_SOLO_MARK: u32 = 24;
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
 * instrument's array in `table` (HOT_TABLE_STRIDE), a solo record to its solo array when its scope
 * has no other position (an isolated one; the pool when it has one position). The first scope of
 * the k-th account listed is written at `firsts` + 4k. Stops before an account one of whose
 * instruments' arrays (records or solo records) has no room for two more (an account holds at most
 * one position an instrument and mode), its
 * instrument at `out` + HOT_ADMIT_ROOM, and returns the index of that account (`count` when it
 * admitted them all); the scopes in use at `out` + HOT_ADMIT_SCOPES. An account with no position is
 * skipped (its first scope written as HOT_ROOM_NONE). With `leasts` (a u8 per listed account, or
 * 0 for none), an account whose byte is not 0 is admitted **in part**: only its least scope, which
 * the byte names as the bounds region's least byte does (assembly/bounds.ts: the cross pool with
 * LEAST_CROSS, else the isolated position of its one bit); the caller keeps its other scopes by
 * triggers (src/engine/incremental.ts).
 */
export function hotAdmit(header: usize, accounts: usize, at: usize, from: u32, count: u32, detail: usize, scopes: usize, used: u32, table: usize, firsts: usize, out: usize, leasts: usize): u32 {
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
  const instQ = column(header, H_INST_Q);
  const instDiv = column(header, H_INST_DIV);
  const instMark = column(header, H_INST_MARK);
  store<u32>(out + HOT_ADMIT_ROOM, HOT_ROOM_NONE);
  let k = from;
  for (; k < count; k++) {
    const a = <usize>load<u32>(accounts + (<usize>k << 2));
    const first = load<u32>(accPosStart + (a << 2));
    const end = first + load<u32>(accPosCount + (a << 2));
    // In part: the cross pool alone (poolOnly), or the one isolated position at `only` alone.
    const least = leasts != 0 ? <u32>load<u8>(leasts + <usize>k) : 0;
    const poolOnly = (least & LEAST_CROSS) != 0;
    const only = least != 0 && !poolOnly ? first + <u32>ctz<u32>(least) : <u32>-1;
    assert(least == 0 || poolOnly || (popcnt<u32>(least) == 1 && only < end && load<u8>(posMode + <usize>only) != MODE_CROSS), 'hotAdmit: a least byte that names no scope of its account');
    // Room first, for every instrument of the block, so that an account is admitted whole or not at all.
    let crossPositions: u32 = 0;
    let room = HOT_ROOM_NONE;
    for (let j = first; j < end; j++) {
      const i = <u32>load<u16>(posInst + (<usize>j << 1));
      assert(i < instruments, "hotAdmit: a position's instrument is past the book's instruments");
      const entry = table + <usize>i * HOT_TABLE_STRIDE;
      if (load<u32>(entry + HT_COUNT) + 2 > load<u32>(entry + HT_CAPACITY) || load<u32>(entry + HT_SOLO_COUNT) + 2 > load<u32>(entry + HT_SOLO_CAPACITY)) room = i;
      crossPositions += <u32>(load<u8>(posMode + <usize>j) == MODE_CROSS);
    }
    const cross = crossPositions > 0 && (least == 0 || poolOnly);
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
      const isolated = load<u8>(posMode + <usize>j) != MODE_CROSS;
      if (least != 0 && (poolOnly ? isolated : j != only)) continue; // a scope admitted in part leaves the others out
      if (isolated) {
        scope = used++;
        writeScope(scopes + <usize>scope * HOT_SCOPE_BYTES, load<i64>(entry + 8), load<i64>(entry), <u32>a, j - first, load<u8>(posStatus + <usize>j), true);
      }
      const arrays = table + <usize>load<u16>(posInst + (<usize>j << 1)) * HOT_TABLE_STRIDE;
      if (isolated || crossPositions == 1) {
        // The scope's one position: a solo record, with the scope's figures as writeScope wrote them.
        const written = scopes + <usize>scope * HOT_SCOPE_BYTES;
        const n = load<u32>(arrays + HT_SOLO_COUNT);
        const record = <usize>load<u32>(arrays + HT_SOLO_OFFSET) + <usize>n * HOT_SOLO_BYTES;
        // The scope's maintenance is its one position's (the pool's is the sum of its positions'),
        // which a tick computes; its equity goes back to the solo reference mark by the exact change
        // of value, size·q·(mark − reference), as a tick brings it forward (wrapping products
        // included: the sum is exact modulo 2^64 and its result in range), or for an instrument
        // finer than a micro loses its position's value at the mark, floor(size·q·mark / d), which
        // a tick adds back at its own mark. The scope keeps where its record is instead.
        assert(load<i64>(written + HS_MAINT) == load<i64>(entry), "hotAdmit: a scope of one position whose maintenance is not its position's");
        const size = load<i64>(posSize + (<usize>j << 3));
        const i = <u32>load<u16>(posInst + (<usize>j << 1));
        const q = load<i64>(instQ + (<usize>i << 3));
        const mark = load<i64>(instMark + (<usize>i << 3));
        const d = load<i64>(instDiv + (<usize>i << 3));
        // Finer than a micro: the equity less the position's value at the mark (soloRecords).
        const taken = d == 1 ? size * (q * (mark - load<i64>(arrays + HT_SOLO_MARK))) : floorDivide(size * (q * mark), d);
        assert(!isolated || j - first < <u32>SOLO_POOL, 'hotAdmit: an isolated position ranked past a solo record\'s rank');
        // An empty [lo, hi]: the instrument's next tick evaluates it and gives it its range.
        store<i32>(record + HO_LO, 1);
        store<i32>(record + HO_HI, 0);
        store<i64>(record + HO_SIZE, size);
        store<i64>(record + HO_EQUITY, load<i64>(written + HS_EQUITY) - taken);
        store<u32>(record + HO_ACCOUNT, <u32>a);
        store<u16>(record + HO_RANK, isolated ? <u16>(j - first) : SOLO_POOL);
        store<u8>(record + HO_BRACKET, load<u8>(posBracket + <usize>j));
        store<u8>(record + HO_STATUS, load<u8>(written + HS_STATUS));
        store<u32>(written + HS_SOLO_INDEX, n);
        store<u32>(written + HS_SOLO_INSTRUMENT, i);
        store<u8>(written + HS_SOLO, 1);
        store<u32>(arrays + HT_SOLO_COUNT, n + 1);
        continue;
      }
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
  store<u8>(scope + HS_SOLO, 0);
}
