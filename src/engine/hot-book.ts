// The hot book: the scopes of accounts near a status boundary, dense in the shared memory, so that
// a tick of an instrument moves all of them in two kernel calls (assembly/hot.ts) at a few
// nanoseconds a position, instead of evaluating each account again over the book's columns: one
// for the records of the scopes of several positions, one for the solo records of the scopes of
// one, most of which the tick only reads the range of marks of.
// src/engine/incremental.ts admits the accounts whose bound is below its hotBound and takes an
// account out (its scopes marked dead) before anything but a mark changes it. docs/incremental.md.
import { Engine, regionBytes } from './engine.js';
import { kernelU32 } from './kernel-constants.js';
import type { HotShare } from '../pool/pool.js';

const SCOPE_BYTES = kernelU32('HOT_SCOPE_BYTES');
const HS_ACCOUNT = kernelU32('HS_ACCOUNT');
const HS_STATUS = kernelU32('HS_STATUS');
const HS_LIVE = kernelU32('HS_LIVE');
/** A solo scope (one position) has its status in its solo record, which it locates (assembly/hot.ts). */
const HS_SOLO = kernelU32('HS_SOLO');
const HS_SOLO_INDEX = kernelU32('HS_SOLO_INDEX');
const HS_SOLO_INSTRUMENT = kernelU32('HS_SOLO_INSTRUMENT');
const HO_STATUS = kernelU32('HO_STATUS');
const HO_ACCOUNT = kernelU32('HO_ACCOUNT');
const SOLO_DEAD = kernelU32('SOLO_DEAD');
const HS_SCOPES = kernelU32('HS_SCOPES');
const TABLE_STRIDE = kernelU32('HOT_TABLE_STRIDE');
const HT_SOLO_MARK = kernelU32('HT_SOLO_MARK');
if (TABLE_STRIDE % 8 !== 0 || HT_SOLO_MARK % 8 !== 0) throw new Error('hot-book.ts: the hot table\'s solo mark is an aligned i64 (the kernel\'s HOT_TABLE_STRIDE, HT_SOLO_MARK)');
/** The table's u32 words per instrument. */
const TABLE_WORDS = TABLE_STRIDE / 4;
/**
 * The two kinds of arrays an instrument has (assembly/hot.ts): records of the scopes of two
 * positions or more, and solo records (a scope of one position: its status, and the range of marks
 * that keeps it, in the record). Per kind: the bytes of an entry, where in a record its scope is,
 * and its table words (offset, room, count).
 */
const RECORDS = 0;
const SOLOS = 1;
const KINDS = [
  { name: 'records', bytes: kernelU32('HOT_RECORD_BYTES'), scope: kernelU32('HR_SCOPE'), offset: kernelU32('HT_OFFSET') / 4, capacity: kernelU32('HT_CAPACITY') / 4, count: kernelU32('HT_COUNT') / 4 },
  { name: 'solos', bytes: kernelU32('HOT_SOLO_BYTES'), offset: kernelU32('HT_SOLO_OFFSET') / 4, capacity: kernelU32('HT_SOLO_CAPACITY') / 4, count: kernelU32('HT_SOLO_COUNT') / 4 },
] as const;
/** HotBook's map values: an epoch's unit (above every 1 + scope index), and the old entries it keeps past twice the live ones. */
const EPOCH_UNIT = 2 ** 32;
const EPOCH_MAP_SLACK = 65_536;
const EPOCH_LAST = 2 ** 52;
const ADMIT_SCOPES = kernelU32('HOT_ADMIT_SCOPES');
const ADMIT_ROOM = kernelU32('HOT_ADMIT_ROOM');
const ROOM_NONE = kernelU32('HOT_ROOM_NONE');


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
  /** The same table as i64 words (each instrument's HT_SOLO_MARK). */
  private readonly tableMarks: BigInt64Array;
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
  /**
   * The map's values are 1 + the first scope plus EPOCH_UNIT times the epoch they were set in; clear()
   * starts a new epoch and leaves the map as it is, so that a build does not drop its table and grow a
   * new one (about 20 MB of the JavaScript heap on the 10M-account book, which ten builds in a row left
   * for a collection: bench/README.md, 2026-12-05, later). An entry of an older epoch is not there.
   * The map is emptied only once its old entries outnumber the live ones by far (clear()).
   */
  private epochBase = 0;
  /** Accounts in the book (the map's live entries). */
  private live = 0;

  /**
   * Per instrument, q·(1 + r_max) rounded up: the incremental index's weights (src/engine/incremental.ts
   * takeTable, which a new tier table updates), and a solo record's weight per size unit.
   */
  private readonly weights: Float64Array;

  constructor(engine: Engine, weights: Float64Array) {
    this.engine = engine;
    this.weights = weights;
    const instruments = engine.instruments.length;
    // A region of a fixed size keeps its offset; the memory is shared, so the view outlives its growth.
    this.tableOffset = engine.region('hot.table', instruments * TABLE_STRIDE);
    this.table = new Uint32Array(engine.memory.buffer, this.tableOffset, (instruments * TABLE_STRIDE) / 4).fill(0);
    this.marks = new BigInt64Array(instruments);
    this.tableMarks = new BigInt64Array(engine.memory.buffer, this.tableOffset, (instruments * TABLE_STRIDE) / 8);
    this.setSoloMarks();
  }

  /**
   * Sets each instrument's solo reference mark (HT_SOLO_MARK), the mark its solo records' equities
   * are at, to its mark now: only while it has no solo records (a build's clear).
   */
  private setSoloMarks(): void {
    const marks = this.engine.views.instMark;
    for (let i = 0; i < this.marks.length; i++) {
      if (this.arrayCount(i, SOLOS) !== 0) throw new Error(`HotBook: instrument ${i}'s solo reference mark set while it has solo records`);
      this.tableMarks[(i * TABLE_STRIDE + HT_SOLO_MARK) / 8] = marks[i];
    }
  }

  /** Instrument i's array of a kind (RECORDS, SOLOS): its byte offset, its entries, the room for them. */
  private arrayAt(i: number, kind: number): number {
    return this.table[i * TABLE_WORDS + KINDS[kind].offset];
  }

  private arrayCount(i: number, kind: number): number {
    return this.table[i * TABLE_WORDS + KINDS[kind].count];
  }

  private arrayCapacity(i: number, kind: number): number {
    return this.table[i * TABLE_WORDS + KINDS[kind].capacity];
  }

  /** Accounts in the hot book. */
  get size(): number {
    return this.live;
  }

  /** Account a's map entry (1 + its first scope), 0 when it is not in the book. */
  private entry(a: number): number {
    const value = this.firstScope.get(a);
    return value === undefined || value < this.epochBase ? 0 : value - this.epochBase;
  }

  /** Sets account a's map entry (1 + its first scope). */
  private setEntry(a: number, entry: number): void {
    if (this.entry(a) === 0) this.live++;
    this.firstScope.set(a, this.epochBase + entry);
  }

  get memoryBytes(): number {
    let bytes = this.scopeCapacity * SCOPE_BYTES + this.firstScope.size * 16;
    for (let i = 0; i < this.marks.length; i++) for (let kind = RECORDS; kind <= SOLOS; kind++) bytes += this.arrayCapacity(i, kind) * KINDS[kind].bytes;
    return bytes;
  }

  /** Accounts admitted in part (their least scope alone) since the book was made. */
  admittedInPart = 0;

  has(a: number): boolean {
    return this.entry(a) !== 0;
  }

  /** Empties the book; its records will be at the marks as they stand. */
  clear(): void {
    // A new epoch (the map's entries all old), or an empty map once old entries would outnumber the live ones by far.
    // (And at the last epoch a double counts exactly: 2^20 builds.)
    if (this.firstScope.size > 2 * this.live + EPOCH_MAP_SLACK || this.epochBase >= EPOCH_LAST) {
      this.firstScope.clear();
      this.epochBase = 0;
    }
    this.epochBase += EPOCH_UNIT;
    this.live = 0;
    this.scopeCount = 0;
    this.dead = 0;
    for (let i = 0; i < this.marks.length; i++) for (const kind of KINDS) this.table[i * TABLE_WORDS + kind.count] = 0;
    this.marks.set(this.engine.views.instMark.subarray(0, this.marks.length));
    this.setSoloMarks();
  }

  /**
   * Takes account a out: its scopes are dead, and the next tick skips them. Its failing scopes (of
   * its scopes' statuses, which the ticks kept) are written to its byte at `failing + a` (the
   * bounds region's failing-scope bytes, which the ticks leave alone): its next evaluation starts
   * from them.
   */
  remove(a: number, failing: number): void {
    const entry = this.entry(a);
    if (entry === 0) return;
    const bytes = this.engine.memoryBytes;
    const first = this.scopesOffset + (entry - 1) * SCOPE_BYTES;
    const end = first + bytes[first + HS_SCOPES] * SCOPE_BYTES;
    let count = 0;
    for (let at = first; at < end; at += SCOPE_BYTES) if (bytes[bytes[at + HS_SOLO] !== 0 ? this.soloAt(at) + HO_STATUS : at + HS_STATUS] !== 0) count++;
    bytes[failing + a] = count;
    this.drop(a, entry);
  }

  /** The byte offset of the solo record of the solo scope at byte offset `scope`. */
  private soloAt(scope: number): number {
    const words = this.engine.memoryWords;
    return this.arrayAt(words[(scope + HS_SOLO_INSTRUMENT) >>> 2], SOLOS) + words[(scope + HS_SOLO_INDEX) >>> 2] * KINDS[SOLOS].bytes;
  }

  /** Marks the scopes of account a (in the book, its map entry `entry`) dead, and their solo records, and forgets it. */
  private drop(a: number, entry: number): void {
    const bytes = this.engine.memoryBytes;
    const first = this.scopesOffset + (entry - 1) * SCOPE_BYTES;
    const scopes = bytes[first + HS_SCOPES];
    for (let k = 0; k < scopes; k++) {
      const at = first + k * SCOPE_BYTES;
      bytes[at + HS_LIVE] = 0;
      if (bytes[at + HS_SOLO] !== 0) bytes[this.soloAt(at) + HO_STATUS] = SOLO_DEAD;
    }
    this.dead += scopes;
    this.firstScope.delete(a);
    this.live--;
  }

  /**
   * Admits the `count` accounts of `accounts`, each just evaluated at the marks as they stand (which
   * the records of every instrument are at): `detail` holds, per position of their blocks in slot
   * order, its maintenance and its equity as an isolated scope (the kernel's boundAccounts detail),
   * account k's from position index `at[k]`. The kernel writes their scopes and records (hotAdmit);
   * an instrument's array that has no room is grown and the kernel goes on from that account.
   * In JavaScript, an account at a time, this was about 2 µs an account (the 10M-account book's
   * slow ticks admit thousands: bench/README.md, 2026-12-04, later still). With `leasts`, account
   * k whose byte is not 0 is admitted in part: only its least scope, as the byte names it (the
   * bounds region's least byte); the caller keeps its other scopes healthy by triggers, and takes
   * it out before it evaluates it (src/engine/incremental.ts, Hot in part).
   */
  admit(accounts: ArrayLike<number>, at: ArrayLike<number>, count: number, detail: BigInt64Array, leasts?: Uint8Array): void {
    if (count === 0) return;
    if (leasts !== undefined) for (let k = 0; k < count; k++) if (leasts[k] !== 0) this.admittedInPart++;
    const engine = this.engine;
    const v = engine.views;
    // Evaluated, so taken out before (remove): still here only if a caller skipped that, and then
    // its evaluation wrote its failing scopes already.
    let scopes = 0;
    for (let k = 0; k < count; k++) {
      const a = accounts[k];
      const entry = this.entry(a);
      if (entry !== 0) this.drop(a, entry);
      scopes += v.accPosCount[a] + 1;
    }
    this.reserveScopes(scopes);
    const list = engine.region('hot.admit.list', regionBytes(count * 4));
    const atList = engine.region('hot.admit.at', regionBytes(count * 4));
    const firsts = engine.region('hot.admit.firsts', regionBytes(count * 4));
    const out = engine.region('hot.admit.out', 8);
    const leastList = leasts === undefined ? 0 : engine.region('hot.admit.leasts', regionBytes(count));
    // The engine's view, read again after each call: it is made again when the memory grows for the records.
    let w = engine.memoryWords;
    for (let k = 0; k < count; k++) {
      w[(list >>> 2) + k] = accounts[k];
      w[(atList >>> 2) + k] = at[k];
    }
    if (leasts !== undefined) engine.memoryBytes.set(leasts.subarray(0, count), leastList);
    let from = 0;
    for (;;) {
      const done = engine.core.hotAdmit(engine.layout.header, list, atList, from, count, detail.byteOffset, this.scopesOffset, this.scopeCount, this.tableOffset, firsts, out, leastList);
      w = engine.memoryWords;
      this.scopeCount = w[(out + ADMIT_SCOPES) >>> 2];
      for (let k = from; k < done; k++) {
        const first = w[(firsts >>> 2) + k];
        if (first !== ROOM_NONE) this.setEntry(accounts[k], first + 1);
      }
      if (done === count) return;
      const i = w[(out + ADMIT_ROOM) >>> 2];
      for (let kind = RECORDS; kind <= SOLOS; kind++) this.growArray(i, kind, this.arrayCount(i, kind) + 2);
      from = done;
    }
  }

  /** Calls fn for each account with a live scope holding instrument i (an account once per record). */
  forEachAccountOn(i: number, fn: (a: number) => void): void {
    const words = this.engine.memoryWords;
    const bytes = this.engine.memoryBytes;
    const { bytes: size, scope: at } = KINDS[RECORDS];
    const records = this.arrayAt(i, RECORDS);
    for (let r = 0; r < this.arrayCount(i, RECORDS); r++) {
      const scope = this.scopesOffset + words[(records + r * size + at) >>> 2] * SCOPE_BYTES;
      if (bytes[scope + HS_LIVE] !== 0) fn(words[(scope + HS_ACCOUNT) >>> 2]);
    }
    const solos = this.arrayAt(i, SOLOS);
    const soloBytes = KINDS[SOLOS].bytes;
    for (let r = 0; r < this.arrayCount(i, SOLOS); r++) {
      const record = solos + r * soloBytes;
      if (bytes[record + HO_STATUS] !== SOLO_DEAD) fn(words[(record + HO_ACCOUNT) >>> 2]);
    }
  }

  /**
   * Moves instrument i's records to its mark now (the kernel's hotMove); their statuses wait for
   * settle(). Its solo records are moved and settled at once (hotSolo: a scope of one position is at
   * the step's marks once its one record has moved), what they changed added to `tick`.
   */
  move(i: number, tick: HotTick): void {
    const engine = this.engine;
    const mark = engine.views.instMark[i];
    if (mark !== this.marks[i]) {
      const count = this.arrayCount(i, RECORDS);
      if (count > 0) engine.core.hotMove(engine.layout.header, engine.shardRecord(), i, this.arrayAt(i, RECORDS), count, this.scopesOffset, this.marks[i]);
      this.solos(tick, i);
    }
    this.marks[i] = mark;
  }

  /**
   * Moves instrument i's records to its mark now and settles their scopes in one pass (the kernel's
   * hotTick, and hotSolo for its solo records), for a step in which its mark is the only one that
   * moved: the same as move(i) then settle([i]).
   */
  tick(i: number): HotTick {
    const engine = this.engine;
    const mark = engine.views.instMark[i];
    const count = this.arrayCount(i, RECORDS);
    const tick: HotTick = { changed: [], failing: 0 };
    if (mark !== this.marks[i]) {
      const records = this.arrayAt(i, RECORDS);
      if (count > 0) this.statuses(tick, count, (changed) => engine.core.hotTick(engine.layout.header, engine.shardRecord(), i, records, count, this.scopesOffset, this.marks[i], changed));
      this.solos(tick, i);
    }
    this.marks[i] = mark;
    return tick;
  }

  /**
   * Whether a tick of instrument i is split between this thread and a worker (tickSplit): when it
   * has at least `split` records of both kinds.
   */
  splits(i: number, split: number): boolean {
    return this.arrayCount(i, RECORDS) + this.arrayCount(i, SOLOS) >= split;
  }

  /**
   * tick(i), shared between this thread and a worker (`share`, the pool's hotShare, which runs this
   * thread's part, `own`, while the pool's helper runs the worker's): both take
   * chunks of `chunk` of the instrument's records of one kind by one counter (the kernel's hotTickShared)
   * until none is left, so that a thread slowed by its chunks' status changes, or woken late, takes
   * fewer and the two finish together. A tick moves each scope once (a scope holds one position an
   * instrument), so the two touch different scopes and write different status bytes, and each lists
   * its own changes. Every region the tick needs is placed before the worker starts, so that none
   * moves while it runs. Throws if the worker failed: the records may then be half moved, and the
   * caller sweeps (and builds the hot book again).
   */
  async tickSplit(i: number, chunk: number, share: (share: HotShare, own: () => void) => Promise<{ listed: number; failing: number }>): Promise<HotTick> {
    const engine = this.engine;
    const mark = engine.views.instMark[i];
    const tick: HotTick = { changed: [], failing: 0 };
    if (mark === this.marks[i]) return tick;
    const room = regionBytes((this.arrayCount(i, RECORDS) + this.arrayCount(i, SOLOS)) * 4);
    const ownChanged = engine.region('hot.changed', room);
    const workerChanged = engine.region('hot.changed.shared', room);
    const counter = engine.region('hot.counter', 4);
    new Uint32Array(engine.memory.buffer, counter, 1)[0] = 0;
    const markOld = this.marks[i];
    const shard = engine.shardRecord();
    this.marks[i] = mark;
    let listed = 0;
    let failing = 0;
    const done = await share({ instrument: i, table: this.tableOffset, scopes: this.scopesOffset, markOld, weight: this.weights[i], counter, chunk, changed: workerChanged }, () => {
      listed = engine.core.hotTickShared(engine.layout.header, shard, i, this.tableOffset, this.scopesOffset, markOld, this.weights[i], counter, chunk, ownChanged);
      failing = engine.core.hotFailingDelta();
    });
    this.listed(tick, ownChanged, listed, failing);
    this.listed(tick, workerChanged, done.listed, done.failing);
    return tick;
  }

  /** Settles the statuses of the scopes of the records of the instruments moved (the kernel's hotSettle), what they changed added to `tick`. */
  settle(instruments: readonly number[], tick: HotTick): void {
    const engine = this.engine;
    for (const i of instruments) {
      const count = this.arrayCount(i, RECORDS);
      const records = this.arrayAt(i, RECORDS);
      if (count > 0) this.statuses(tick, count, (changed) => engine.core.hotSettle(engine.layout.header, records, count, this.scopesOffset, changed));
    }
  }

  /** Settles instrument i's solo records at its mark now (hotSolo). */
  private solos(tick: HotTick, i: number): void {
    const engine = this.engine;
    const count = this.arrayCount(i, SOLOS);
    if (count > 0) this.statuses(tick, count, (changed) => engine.core.hotSolo(engine.layout.header, engine.shardRecord(), i, this.tableOffset, this.weights[i], changed));
  }

  /**
   * Runs a kernel call that settles the statuses of `count` records (`settle`, given the offset of
   * a list for the accounts it changes, returns how many it listed) and adds what it changed to `tick`.
   */
  private statuses(tick: HotTick, count: number, settle: (changed: number) => number): void {
    const changed = this.engine.region('hot.changed', regionBytes(count * 4));
    this.listed(tick, changed, settle(changed), this.engine.core.hotFailingDelta());
  }

  /** Adds to `tick` what a settling call changed: `listed` accounts at `changed`, `failing` the change in failing scopes. */
  private listed(tick: HotTick, changed: number, listed: number, failing: number): void {
    tick.failing += failing;
    if (listed > 0) tick.changed.push(new Uint32Array(this.engine.memory.buffer, changed, listed).slice());
  }

  /** Drops dead scopes and their records once they are as many as the live ones (and at least 1,024). */
  compactIfSparse(): void {
    if (this.dead < 1_024 || this.dead < this.scopeCount - this.dead) return;
    const buffer = this.engine.memory.buffer;
    const bytes = new Uint8Array(buffer);
    const words = new Uint32Array(buffer);
    // The solo records of dead scopes are dropped first, each live one's new index noted for its
    // scope (which locates it).
    const soloIndex: Int32Array[] = [];
    const soloBytes = KINDS[SOLOS].bytes;
    for (let i = 0; i < this.marks.length; i++) {
      const count = this.arrayCount(i, SOLOS);
      const solos = this.arrayAt(i, SOLOS);
      const index = new Int32Array(count).fill(-1);
      let keptSolos = 0;
      for (let r = 0; r < count; r++) {
        const from = solos + r * soloBytes;
        if (bytes[from + HO_STATUS] === SOLO_DEAD) continue;
        const to = solos + keptSolos * soloBytes;
        if (to !== from) bytes.copyWithin(to, from, from + soloBytes);
        index[r] = keptSolos++;
      }
      this.table[i * TABLE_WORDS + KINDS[SOLOS].count] = keptSolos;
      soloIndex.push(index);
    }
    // Live scopes move down in order; each record is renumbered or dropped.
    const renumber = new Int32Array(this.scopeCount).fill(-1);
    let kept = 0;
    for (let s = 0; s < this.scopeCount; s++) {
      const from = this.scopesOffset + s * SCOPE_BYTES;
      if (bytes[from + HS_LIVE] === 0) continue;
      renumber[s] = kept;
      const a = words[(from + HS_ACCOUNT) >>> 2];
      if (this.entry(a) === s + 1) this.setEntry(a, kept + 1);
      if (bytes[from + HS_SOLO] !== 0) words[(from + HS_SOLO_INDEX) >>> 2] = soloIndex[words[(from + HS_SOLO_INSTRUMENT) >>> 2]][words[(from + HS_SOLO_INDEX) >>> 2]];
      if (kept !== s) bytes.copyWithin(this.scopesOffset + kept * SCOPE_BYTES, from, from + SCOPE_BYTES);
      kept++;
    }
    const { bytes: size, scope: at } = KINDS[RECORDS];
    for (let i = 0; i < this.marks.length; i++) {
      let keptRecords = 0;
      const records = this.arrayAt(i, RECORDS);
      for (let r = 0; r < this.arrayCount(i, RECORDS); r++) {
        const from = records + r * size;
        const scope = renumber[words[(from + at) >>> 2]];
        if (scope < 0) continue;
        const to = records + keptRecords * size;
        if (to !== from) bytes.copyWithin(to, from, from + size);
        words[(to + at) >>> 2] = scope;
        keptRecords++;
      }
      this.table[i * TABLE_WORDS + KINDS[RECORDS].count] = keptRecords;
    }
    this.scopeCount = kept;
    this.dead = 0;
  }

  /** Grows instrument i's array of a kind (doubling) to room for at least `entries`. */
  private growArray(i: number, kind: number, entries: number): void {
    if (entries <= this.arrayCapacity(i, kind)) return;
    const { name, bytes, offset, capacity: room } = KINDS[kind];
    const capacity = Math.max(64, this.arrayCapacity(i, kind) * 2, entries);
    this.table[i * TABLE_WORDS + offset] = this.grow(`hot.${name}.${i}`, this.arrayAt(i, kind), this.arrayCount(i, kind) * bytes, capacity * bytes);
    this.table[i * TABLE_WORDS + room] = capacity;
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
