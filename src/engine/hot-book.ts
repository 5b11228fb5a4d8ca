// The hot book: the scopes of accounts near a status boundary, dense in the shared memory, so that
// a tick of an instrument moves all of them in two kernel calls (assembly/hot.ts) at a few
// nanoseconds a position, instead of evaluating each account again over the book's columns.
// src/engine/incremental.ts admits the accounts whose bound is below its hotBound and takes an
// account out (its scopes marked dead) before anything but a mark changes it. docs/incremental.md.
import { Engine } from './engine.js';
import { kernelU32 } from './kernel-constants.js';

const SCOPE_BYTES = kernelU32('HOT_SCOPE_BYTES');
const HS_ACCOUNT = kernelU32('HS_ACCOUNT');
const HS_STATUS = kernelU32('HS_STATUS');
const HS_LIVE = kernelU32('HS_LIVE');
const HS_SCOPES = kernelU32('HS_SCOPES');
const RECORD_BYTES = kernelU32('HOT_RECORD_BYTES');
const HR_SCOPE = kernelU32('HR_SCOPE');
const TABLE_STRIDE = kernelU32('HOT_TABLE_STRIDE');
/** The table's u32 words per instrument, and each field's word. */
const TABLE_WORDS = TABLE_STRIDE / 4;
const HT_OFFSET_WORD = kernelU32('HT_OFFSET') / 4;
const HT_CAPACITY_WORD = kernelU32('HT_CAPACITY') / 4;
const HT_COUNT_WORD = kernelU32('HT_COUNT') / 4;
const ADMIT_SCOPES = kernelU32('HOT_ADMIT_SCOPES');
const ADMIT_ROOM = kernelU32('HOT_ADMIT_ROOM');
const ROOM_NONE = kernelU32('HOT_ROOM_NONE');

/**
 * Bytes to ask Engine.region for a list of `n` bytes: the least power of two at or above it (at
 * least 1 KiB), so that a list that grows moves few times (each region it leaves is free for a
 * later request of another name).
 */
export function regionBytes(n: number): number {
  return Math.max(1_024, 2 ** Math.ceil(Math.log2(Math.max(1, n))));
}

/** What a tick of the hot book changed. */
export interface HotTick {
  /** Lists of the accounts (with repeats) whose scopes changed status. */
  changed: Uint32Array[];
  /** The change in failing scopes. */
  failing: number;
}

export class HotBook {
  private readonly engine: Engine;
  /**
   * Per instrument, in the shared memory (the kernel's HOT_TABLE_STRIDE, which hotAdmit appends
   * through): where its records are, how many it has room for and how many it has, as u32 words.
   */
  private readonly tableOffset: number;
  private readonly table: Uint32Array;
  /** Per instrument: the mark its records are at. */
  readonly marks: BigInt64Array;
  private scopesOffset = 0;
  private scopeCapacity = 0;
  private scopeCount = 0;
  private dead = 0;
  /**
   * Per account in the hot book: 1 + its first scope. Its scopes are contiguous, and the first holds
   * their number (HS_SCOPES). A Map: with accounts leaving and joining at every tick it rehashes now
   * and then (30–70 ms in one tick on the 10M-account book, the p99.9's order), but an open-addressing
   * table in typed arrays, which did not, left the process's peak RSS 1.3–1.5 B a position higher
   * there (fewer allocations on the JavaScript heap, so fewer collections, and other dead buffers
   * lived longer), and an array over every account cost 40 MB (bench/README.md, 2026-12-02, afternoon).
   */
  private readonly firstScope = new Map<number, number>();

  constructor(engine: Engine) {
    this.engine = engine;
    const instruments = engine.instruments.length;
    // A region of a fixed size keeps its offset; the memory is shared, so the view outlives its growth.
    this.tableOffset = engine.region('hot.table', instruments * TABLE_STRIDE);
    this.table = new Uint32Array(engine.memory.buffer, this.tableOffset, (instruments * TABLE_STRIDE) / 4).fill(0);
    this.marks = new BigInt64Array(instruments);
  }

  /** Instrument i's records: their byte offset, their number, the room for them. */
  private recordsAt(i: number): number {
    return this.table[i * TABLE_WORDS + HT_OFFSET_WORD];
  }

  private recordCount(i: number): number {
    return this.table[i * TABLE_WORDS + HT_COUNT_WORD];
  }

  private recordCapacity(i: number): number {
    return this.table[i * TABLE_WORDS + HT_CAPACITY_WORD];
  }

  /** Accounts in the hot book. */
  get size(): number {
    return this.firstScope.size;
  }

  get memoryBytes(): number {
    let bytes = this.scopeCapacity * SCOPE_BYTES + this.firstScope.size * 16;
    for (let i = 0; i < this.marks.length; i++) bytes += this.recordCapacity(i) * RECORD_BYTES;
    return bytes;
  }

  has(a: number): boolean {
    return this.firstScope.has(a);
  }

  /** Empties the book; its records will be at the marks as they stand. */
  clear(): void {
    this.firstScope.clear();
    this.scopeCount = 0;
    this.dead = 0;
    for (let i = 0; i < this.marks.length; i++) this.table[i * TABLE_WORDS + HT_COUNT_WORD] = 0;
    this.marks.set(this.engine.views.instMark.subarray(0, this.marks.length));
  }

  /**
   * Takes account a out: its scopes are dead, and the next tick skips them. Its failing scopes (of
   * its scopes' statuses, which the ticks kept) are written to its byte at `failing + a` (the
   * bounds region's failing-scope bytes, which the ticks leave alone): its next evaluation starts
   * from them.
   */
  remove(a: number, failing: number): void {
    const entry = this.firstScope.get(a) ?? 0;
    if (entry === 0) return;
    const bytes = this.engine.memoryBytes;
    const first = this.scopesOffset + (entry - 1) * SCOPE_BYTES;
    const end = first + bytes[first + HS_SCOPES] * SCOPE_BYTES;
    let count = 0;
    for (let at = first; at < end; at += SCOPE_BYTES) if (bytes[at + HS_STATUS] !== 0) count++;
    bytes[failing + a] = count;
    this.drop(a, entry);
  }

  /** Marks the scopes of account a (in the book, its map entry `entry`) dead and forgets it. */
  private drop(a: number, entry: number): void {
    const bytes = this.engine.memoryBytes;
    const first = this.scopesOffset + (entry - 1) * SCOPE_BYTES;
    const scopes = bytes[first + HS_SCOPES];
    for (let k = 0; k < scopes; k++) bytes[first + k * SCOPE_BYTES + HS_LIVE] = 0;
    this.dead += scopes;
    this.firstScope.delete(a);
  }

  /**
   * Admits the `count` accounts of `accounts`, each just evaluated at the marks as they stand (which
   * the records of every instrument are at): `detail` holds, per position of their blocks in slot
   * order, its maintenance and its equity as an isolated scope (the kernel's boundAccounts detail),
   * account k's from position index `at[k]`. The kernel writes their scopes and records (hotAdmit);
   * an instrument's array that has no room is grown and the kernel goes on from that account.
   * In JavaScript, an account at a time, this was about 2 µs an account (the 10M-account book's
   * slow ticks admit thousands: bench/README.md, 2026-12-04, later still).
   */
  admit(accounts: ArrayLike<number>, at: ArrayLike<number>, count: number, detail: BigInt64Array): void {
    if (count === 0) return;
    const engine = this.engine;
    const v = engine.views;
    // Evaluated, so taken out before (remove): still here only if a caller skipped that, and then
    // its evaluation wrote its failing scopes already.
    let scopes = 0;
    for (let k = 0; k < count; k++) {
      const a = accounts[k];
      const entry = this.firstScope.get(a) ?? 0;
      if (entry !== 0) this.drop(a, entry);
      scopes += v.accPosCount[a] + 1;
    }
    this.reserveScopes(scopes);
    const list = engine.region('hot.admit.list', regionBytes(count * 4));
    const atList = engine.region('hot.admit.at', regionBytes(count * 4));
    const firsts = engine.region('hot.admit.firsts', regionBytes(count * 4));
    const out = engine.region('hot.admit.out', 8);
    // The engine's view, read again after each call: it is made again when the memory grows for the records.
    let w = engine.memoryWords;
    for (let k = 0; k < count; k++) {
      w[(list >>> 2) + k] = accounts[k];
      w[(atList >>> 2) + k] = at[k];
    }
    let from = 0;
    for (;;) {
      const done = engine.core.hotAdmit(engine.layout.header, list, atList, from, count, detail.byteOffset, this.scopesOffset, this.scopeCount, this.tableOffset, firsts, out);
      w = engine.memoryWords;
      this.scopeCount = w[(out + ADMIT_SCOPES) >>> 2];
      for (let k = from; k < done; k++) {
        const first = w[(firsts >>> 2) + k];
        if (first !== ROOM_NONE) this.firstScope.set(accounts[k], first + 1);
      }
      if (done === count) return;
      const i = w[(out + ADMIT_ROOM) >>> 2];
      this.growRecords(i, this.recordCount(i) + 2);
      from = done;
    }
  }

  /** Calls fn for each account with a live scope holding instrument i (an account once per record). */
  forEachAccountOn(i: number, fn: (a: number) => void): void {
    const words = this.engine.memoryWords;
    const bytes = this.engine.memoryBytes;
    const records = this.recordsAt(i);
    for (let r = 0; r < this.recordCount(i); r++) {
      const scope = this.scopesOffset + words[(records + r * RECORD_BYTES + HR_SCOPE) >>> 2] * SCOPE_BYTES;
      if (bytes[scope + HS_LIVE] !== 0) fn(words[(scope + HS_ACCOUNT) >>> 2]);
    }
  }

  /** Moves instrument i's records to its mark now (the kernel's hotMove); statuses wait for settle(). */
  move(i: number): void {
    const engine = this.engine;
    const mark = engine.views.instMark[i];
    const count = this.recordCount(i);
    if (count > 0 && mark !== this.marks[i]) {
      engine.core.hotMove(engine.layout.header, engine.shardRecord(), i, this.recordsAt(i), count, this.scopesOffset, this.marks[i]);
    }
    this.marks[i] = mark;
  }

  /**
   * Moves instrument i's records to its mark now and settles their scopes in one pass (the kernel's
   * hotTick), for a step in which its mark is the only one that moved: the same as move(i) then
   * settle([i]).
   */
  tick(i: number): HotTick {
    const engine = this.engine;
    const mark = engine.views.instMark[i];
    const count = this.recordCount(i);
    const tick: HotTick = { changed: [], failing: 0 };
    if (count > 0 && mark !== this.marks[i]) {
      const records = this.recordsAt(i);
      this.statuses(tick, count, (changed) => engine.core.hotTick(engine.layout.header, engine.shardRecord(), i, records, count, this.scopesOffset, this.marks[i], changed));
    }
    this.marks[i] = mark;
    return tick;
  }

  /** Settles the statuses of the scopes holding the instruments moved (the kernel's hotSettle). */
  settle(instruments: readonly number[]): HotTick {
    const engine = this.engine;
    const tick: HotTick = { changed: [], failing: 0 };
    for (const i of instruments) {
      const count = this.recordCount(i);
      const records = this.recordsAt(i);
      if (count > 0) this.statuses(tick, count, (changed) => engine.core.hotSettle(engine.layout.header, records, count, this.scopesOffset, changed));
    }
    return tick;
  }

  /**
   * Runs a kernel call that settles the statuses of `count` records (`settle`, given the offset of
   * a list for the accounts it changes, returns how many it listed) and adds what it changed to `tick`.
   */
  private statuses(tick: HotTick, count: number, settle: (changed: number) => number): void {
    const changed = this.engine.region('hot.changed', regionBytes(count * 4));
    const listed = settle(changed);
    tick.failing += this.engine.core.hotFailingDelta();
    if (listed > 0) tick.changed.push(new Uint32Array(this.engine.memory.buffer, changed, listed).slice());
  }

  /** Drops dead scopes and their records once they are as many as the live ones (and at least 1,024). */
  compactIfSparse(): void {
    if (this.dead < 1_024 || this.dead < this.scopeCount - this.dead) return;
    const buffer = this.engine.memory.buffer;
    const bytes = new Uint8Array(buffer);
    const words = new Uint32Array(buffer);
    // Live scopes move down in order; each record is renumbered or dropped.
    const renumber = new Int32Array(this.scopeCount).fill(-1);
    let kept = 0;
    for (let s = 0; s < this.scopeCount; s++) {
      const from = this.scopesOffset + s * SCOPE_BYTES;
      if (bytes[from + HS_LIVE] === 0) continue;
      renumber[s] = kept;
      const a = words[(from + HS_ACCOUNT) >>> 2];
      if (this.firstScope.get(a) === s + 1) this.firstScope.set(a, kept + 1);
      if (kept !== s) bytes.copyWithin(this.scopesOffset + kept * SCOPE_BYTES, from, from + SCOPE_BYTES);
      kept++;
    }
    for (let i = 0; i < this.marks.length; i++) {
      let keptRecords = 0;
      const records = this.recordsAt(i);
      for (let r = 0; r < this.recordCount(i); r++) {
        const from = records + r * RECORD_BYTES;
        const scope = renumber[words[(from + HR_SCOPE) >>> 2]];
        if (scope < 0) continue;
        const to = records + keptRecords * RECORD_BYTES;
        if (to !== from) bytes.copyWithin(to, from, from + RECORD_BYTES);
        words[(to + HR_SCOPE) >>> 2] = scope;
        keptRecords++;
      }
      this.table[i * TABLE_WORDS + HT_COUNT_WORD] = keptRecords;
    }
    this.scopeCount = kept;
    this.dead = 0;
  }

  /** Grows instrument i's array (doubling) to room for at least `records`. */
  private growRecords(i: number, records: number): void {
    if (records <= this.recordCapacity(i)) return;
    const capacity = Math.max(64, this.recordCapacity(i) * 2, records);
    this.table[i * TABLE_WORDS + HT_OFFSET_WORD] = this.grow(`hot.records.${i}`, this.recordsAt(i), this.recordCount(i) * RECORD_BYTES, capacity * RECORD_BYTES);
    this.table[i * TABLE_WORDS + HT_CAPACITY_WORD] = capacity;
  }

  private reserveScopes(extra: number): void {
    if (this.scopeCount + extra <= this.scopeCapacity) return;
    const capacity = Math.max(1_024, 2 * this.scopeCapacity, this.scopeCount + extra);
    this.scopesOffset = this.grow('hot.scopes', this.scopesOffset, this.scopeCount * SCOPE_BYTES, capacity * SCOPE_BYTES);
    this.scopeCapacity = capacity;
  }

  /** A region of `bytes` under `name` holding the `used` bytes that were at `from`. */
  private grow(name: string, from: number, used: number, bytes: number): number {
    const to = this.engine.region(name, bytes);
    if (used > 0 && to !== from) new Uint8Array(this.engine.memory.buffer).copyWithin(to, from, from + used);
    return to;
  }
}
