// The engine: one book in shared memory, the control plane's view of it, and the core that
// evaluates it. Single writer: every mutation goes through this object (or src/account/).
import {
  FUNDING_EXTRA_SCALE,
  LEVERAGE_MAX,
  MODE_CROSS,
  MODE_ISOLATED,
  POSITIONS_PER_ACCOUNT_MAX,
  QUOTE_ABS_MAX,
  RATE_SCALE,
  STATUS_NAMES,
  TIERS_MAX,
} from '../fixed/constants.js';
import { quotePerUnit, valueDivisor, ValueUnits, type AccountResult, type Book, type Instrument, type Position, type PositionResult, type Tier } from '../book/model.js';
import {
  BookLayout,
  SWEEP_CHUNKS,
  APPLY_FILL_RECORDS,
  SWEEP_FULL,
  FUNDING_CHANGE_BYTES,
  FUNDING_SLOTS_BYTES_PER_INSTRUMENT,
  FUNDING_SLOT_METAS_BYTES,
  FC_OLD,
  FC_CHANGED,
  FC_NEW,
  BALANCE_CHANGE_BYTES,
  BC_ACCOUNT,
  BC_DELTA,
  OP_BYTES,
  OP_PROGRESS_BYTES,
  ARENA_BYTES,
  cacheBytes,
  CHUNK_SCRATCH_BYTES,
  SHARD_RECORD_BYTES,
  ShardSlot,
  ACCOUNT_COLUMNS,
  INSTRUMENT_COLUMNS,
  movedPositionColumns,
  HeaderSlot,
  copyColumn,
  createSharedMemory,
  readPositionColumns,
  WASM_PAGE_BYTES,
  WASM_PAGES_MAX,
  alignUp,
  type Capacity,
  type Views,
} from '../memory/layout.js';
import { splitU128, tierRows } from '../memory/tiers.js';
import { checkTiers } from '../book/ranges.js';
import { AccountIds } from '../book/account-ids.js';
import { compileCore, instantiateCore, type CoreExports } from './core.js';
import { kernelI64, kernelU32 } from './kernel-constants.js';
import { divCeil } from '../fixed/rounding.js';
import { growMemory } from '../memory/huge-pages.js';

export interface EngineOptions {
  /** Spare position slots beyond the book's, for positions opened later. Default: 1/16 + 64. */
  spareFraction?: number;
  /**
   * Records of room each chunk's area of the chunk sweep gets when the whole book is laid out (a
   * load, a repack), so that the first positions opened in a chunk do not move its area: 0 to
   * CHUNK_ROOM_MIN (16, the default). 0 packs the areas (the tests use it to move chunks often).
   */
  layoutRoom?: number;
  /**
   * Whether each range the memory grows by is advised to use transparent huge pages
   * (src/memory/huge-pages.ts; docs/architecture.md, Huge pages). Default true: an engine that
   * takes updates and ticks gains (on the 10M-account book 1.2–1.3 times the updates a second).
   * A one-shot load and evaluation pays for it instead on a VM whose host backs fresh memory
   * lazily (the `liq` commands pass false). LIQ_HUGE_PAGES=0 turns it off for every engine.
   */
  hugePages?: boolean;
}

/** Spare slots by default: enough for a day of new positions on most books, 4 bytes a position. */
const SPARE_FRACTION_DEFAULT = 1 / 16;
/** The most spare slots an engine takes, in books' positions (EngineOptions.spareFraction). */
const SPARE_FRACTION_MAX = 16;

/** Refuses EngineOptions a caller got wrong (layoutRoom is BookLayout's to check), naming the option, before anything is allocated. */
function checkEngineOptions(options: EngineOptions): void {
  const { spareFraction, hugePages } = options;
  if (spareFraction !== undefined && !(typeof spareFraction === 'number' && spareFraction >= 0 && spareFraction <= SPARE_FRACTION_MAX)) {
    throw new RangeError(`spareFraction must be a number from 0 to ${SPARE_FRACTION_MAX}, got ${String(spareFraction)}`);
  }
  if (hugePages !== undefined && typeof hugePages !== 'boolean') throw new TypeError(`hugePages must be true or false, got ${String(hugePages)}`);
}
/** Floors of unused tiers: above every notional, so the kernel's fixed-length bracket search skips them. */
const TIER_FLOOR_PADDING = (1n << 63n) - 1n;

/**
 * What Engine.onChange tells: the accounts changed (the first `count` of them), or null for any.
 * With `tiers`, accounts is null and what changed is the maintenance of every account holding a
 * position of those instruments, whose tier tables are new: Engine.holders lists them, for a
 * listener that keeps no list of its own (a walk over every account's block; the incremental
 * evaluator finds them in its index instead). With `credited` true, each listed account's wallet
 * balance rose and nothing else of it changed (deposits: Engine.accountsCredited): its cross equity
 * rose at every mark, its maintenance and isolated scopes are as they were, so no status of it can
 * fall, and a lower bound on its equity that a listener kept still holds.
 */
export type ChangeListener = (accounts: ArrayLike<number> | null, count: number, tiers?: readonly number[], credited?: boolean) => void;

/** The position columns of one layout, for slot copies and clears (Engine.positionSlotColumns). */
interface SlotColumns {
  layout: BookLayout;
  /** Whether the outputs were written when these were made: they are in `wide` only then. */
  outputs: boolean;
  wide: BigInt64Array[];
  narrow: (Uint8Array | Uint16Array)[];
}

interface Region {
  offset: number;
  bytes: number;
}

/** The most an instrument's drift reaches before the whole book is laid out again (assembly/layout.ts DRIFT_MAX). */
const DRIFT_MAX = kernelI64('DRIFT_MAX');

/** Regions start on a cache line. */
const REGION_ALIGN = 64;
/** The scratch region compactPositions takes (the kernel's bitmap of held slots) and gives back. */
const ARENA_SCRATCH = 'arena.compaction';
/**
 * makePositionRoom compacts the position arena instead of doubling it when compaction leaves at
 * least 1/ARENA_COMPACT_FREE_SHARE of it free.
 */
const ARENA_COMPACT_FREE_SHARE = 4;

/**
 * Bytes to ask Engine.region for a list of `n` bytes: the least power of two at or above it (at
 * least 1 KiB), so that a list that grows moves few times (each region it leaves is free for a
 * later request of another name).
 */
export function regionBytes(n: number): number {
  return Math.max(1_024, 2 ** Math.ceil(Math.log2(Math.max(1, n))));
}

/** Bytes of the counts the kernel's sortUnique takes (assembly/sort.ts). */
const SORT_COUNTS_BYTES = kernelU32('SORT_COUNTS_BYTES');

/** The region a table of funding changes is written in (Engine.fundingChanged; the kernel copies it), and the kernel's funding slots (kept in place). */
const FUNDING_CHANGES = 'refresh.funding.changes';
const FUNDING_SLOTS_REGION = 'refresh.funding.slots';

export class Engine {
  readonly memory: WebAssembly.Memory;
  readonly core: CoreExports;
  layout: BookLayout;
  /** Instrument metadata; marks and funding indices live in memory (views.instMark/instFunding). */
  readonly instruments: Instrument[];
  /** Each instrument's q and d, for valuing positions in a loop without reading the columns (src/book/model.ts ValueUnits). */
  readonly units: ValueUnits;
  readonly symbolIndex: Map<string, number>;
  readonly accountIds: AccountIds;
  /** Position slots handed out so far; slots at or above this are free. */
  positionsUsed: number;
  /** Compactions of the position arena so far (compactPositions), and the slots they took back: for reports and tests. */
  positionCompactions = 0;
  positionSlotsTakenBack = 0;
  /**
   * Whether status sweeps read the chunk sweep's records (and refreshes keep them): true, the fast
   * path, for every book whatever its position blocks look like. False makes refreshes and status
   * sweeps go over the columns, for tests and comparisons; set it back only with a refresh of the
   * whole book (refreshDebits()) before the next sweep.
   */
  chunkSweep = true;
  /** Per instrument: the largest |size| any position has held, for range checks on price updates. */
  readonly sizeHighWater: bigint[];
  /**
   * Per instrument, once the loader has seen them (seeFundingSnapshots): the least and the greatest
   * funding snapshot its positions may hold. Every snapshot written since is the instrument's
   * funding index at the time, and each index set widens the pair.
   */
  private readonly fundingEnvelope: ({ low: bigint; high: bigint } | undefined)[];
  /**
   * Per instrument: the funding index the fresh chunks' records were made at (set by a refresh of
   * the whole book and by fundingChanged), from which fundingChanged moves them to the new one.
   */
  private readonly recordsFunding: BigInt64Array;
  /** The first byte above everything placed in the memory: the layout and the scratch regions. */
  private memoryTop: number;
  private readonly regions = new Map<string, Region>();
  /** Regions left behind when their names took bigger ones, free for another name (see region). */
  private readonly freeRegions: Region[] = [];
  /** The memory as u32 words, bytes and i64 words (memoryWords, memoryBytes, memoryI64), until the engine grows it. */
  private wordsView: Uint32Array | undefined;
  private bytesView: Uint8Array | undefined;
  private i64View: BigInt64Array | undefined;
  /** Shard records made by shardRecord, by name. */
  private readonly shardRecords = new Map<string, number>();
  /** True while a pool sweep runs over the book (beginSweep … endSweep): no write is allowed. */
  private poolSweeping = false;
  /** Told after each refresh of derived state (onChange). */
  private readonly changeListeners = new Set<ChangeListener>();
  private slotColumns: SlotColumns | undefined;
  /** EngineOptions.hugePages: whether the ranges the memory grows by are advised. */
  private readonly hugePages: boolean;

  private constructor(memory: WebAssembly.Memory, core: CoreExports, layout: BookLayout, instruments: Instrument[], accountIds: AccountIds, hugePages: boolean) {
    this.memory = memory;
    this.hugePages = hugePages;
    this.core = core;
    this.layout = layout;
    this.instruments = instruments.map((instrument) => ({ ...instrument, tiers: instrument.tiers.map((t) => ({ ...t })) }));
    this.symbolIndex = new Map(instruments.map((instrument, index) => [instrument.symbol, index]));
    this.units = new ValueUnits(instruments);
    this.accountIds = accountIds;
    this.positionsUsed = 0;
    this.sizeHighWater = instruments.map(() => 0n);
    this.fundingEnvelope = instruments.map(() => undefined);
    this.recordsFunding = new BigInt64Array(instruments.length);
    this.memoryTop = layout.end;
  }

  /** Lays out a validated book in a fresh shared memory. */
  static fromBook(book: Book, options: EngineOptions = {}): Engine {
    const positions = book.accounts.reduce((sum, account) => sum + account.positions.length, 0);
    const ids = AccountIds.fromStrings(book.accounts.map((account) => account.id));
    const engine = Engine.allocate(book.instruments, ids, positions, options);
    const v = engine.views;
    book.accounts.forEach((account, a) => {
      v.accBalance[a] = account.balanceMicro;
      v.accPosStart[a] = engine.positionsUsed;
      v.accPosCount[a] = account.positions.length;
      for (const position of account.positions) engine.writePosition(engine.positionsUsed++, position);
    });
    engine.seeFundingSnapshots();
    engine.refreshDebits();
    return engine;
  }

  /**
   * An engine with the instruments written and room for `positionCount` positions (plus spare),
   * every account and position column zero. A loader fills the columns, sets accPosStart/Count and
   * positionsUsed, and calls refreshSizeHighWater() (or setSizeHighWater() with marks it found
   * while validating); the caller has validated what it writes.
   */
  static allocate(instruments: Instrument[], accountIds: AccountIds, positionCount: number, options: EngineOptions = {}): Engine {
    checkEngineOptions(options);
    const spare = Math.ceil(positionCount * (options.spareFraction ?? SPARE_FRACTION_DEFAULT)) + 64;
    const capacity: Capacity = {
      instruments: Math.max(1, instruments.length),
      accounts: Math.max(1, accountIds.count),
      positions: positionCount + spare,
    };
    const module = compileCore();
    const memory = createSharedMemory(0);
    const core = instantiateCore(memory, module);
    const base = core.heapBase();
    const hugePages = options.hugePages ?? true;
    const layout = new BookLayout(memory, base, capacity, options.layoutRoom, hugePages);
    layout.setAccountCount(accountIds.count);
    const engine = new Engine(memory, core, layout, instruments, accountIds, hugePages);
    engine.writeInstruments(instruments);
    return engine;
  }

  /**
   * Sets every instrument's size high-water mark (one value per instrument, in order): for a loader
   * that found the largest |size| per instrument while validating the columns it wrote.
   */
  setSizeHighWater(values: readonly bigint[]): void {
    if (values.length !== this.sizeHighWater.length) {
      throw new RangeError(`${values.length} size high-water marks for ${this.sizeHighWater.length} instruments`);
    }
    for (let i = 0; i < values.length; i++) this.sizeHighWater[i] = values[i];
    this.seeFundingSnapshots(); // the loader wrote the columns
  }

  /** Recomputes every instrument's size high-water mark from the position columns. */
  refreshSizeHighWater(): void {
    const v = this.views;
    this.sizeHighWater.fill(0n);
    this.seeFundingSnapshots();
    for (let a = 0; a < this.accountCount; a++) {
      for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
        const size = v.posSize[j] < 0n ? -v.posSize[j] : v.posSize[j];
        if (size > this.sizeHighWater[v.posInst[j]]) this.sizeHighWater[v.posInst[j]] = size;
      }
    }
  }

  get views(): Views {
    return this.layout.views;
  }

  get accountCount(): number {
    return this.accountIds.count;
  }

  private writeInstruments(instruments: Instrument[]): void {
    const v = this.layout.views;
    instruments.forEach((instrument, i) => {
      v.instMark[i] = instrument.markUnits;
      v.instFunding[i] = instrument.fundingIndex;
      v.instQ[i] = quotePerUnit(instrument);
      v.instDiv[i] = valueDivisor(instrument);
      v.instTick[i] = instrument.tickUnits;
      this.writeTierColumns(i, instrument);
    });
    this.layout.setInstrumentCount(instruments.length);
  }

  /** Writes instrument i's tier columns from `instrument`'s table (floors, rates, cumX, max leverages; unused tiers padded). */
  private writeTierColumns(i: number, instrument: Instrument): void {
    const v = this.layout.views;
    const rows = tierRows(instrument);
    v.instTierCount[i] = rows.length;
    v.tierFloor.fill(TIER_FLOOR_PADDING, i * TIERS_MAX, (i + 1) * TIERS_MAX);
    v.tierRate.fill(0n, i * TIERS_MAX, (i + 1) * TIERS_MAX);
    v.tierCumLo.fill(0n, i * TIERS_MAX, (i + 1) * TIERS_MAX);
    v.tierCumHi.fill(0n, i * TIERS_MAX, (i + 1) * TIERS_MAX);
    v.tierLeverage.fill(0, i * TIERS_MAX, (i + 1) * TIERS_MAX);
    rows.forEach((row, k) => {
      const cell = i * TIERS_MAX + k;
      const cum = splitU128(row.cumX);
      v.tierFloor[cell] = row.floorMicro;
      v.tierRate[cell] = row.ratePpm;
      v.tierCumLo[cell] = cum.lo;
      v.tierCumHi[cell] = cum.hi;
      v.tierLeverage[cell] = Math.min(LEVERAGE_MAX, instrument.tiers[k].leverageMax);
    });
  }

  /**
   * Gives instrument i the tier table `tiers` (a table checkTiers refuses is thrown back as a
   * RangeError; that no position of the instrument is above the table's largest max leverage is the
   * caller's to check: leverageAbove): its tier
   * columns and its metadata (Engine.instruments, what toBook writes). What the sweep derives from
   * the table is refreshed by tiersChanged. Account operations call it from setTiers
   * (src/account/operations.ts), and tiersChanged once per batch.
   */
  writeTiers(i: number, tiers: readonly Tier[]): void {
    this.assertWritable('writeTiers');
    if (!Number.isInteger(i) || i < 0 || i >= this.instruments.length) {
      throw new RangeError(`writeTiers: ${i} is not an instrument of this book (0 to ${this.instruments.length - 1})`);
    }
    const issue = checkTiers(tiers);
    if (issue !== null) throw new RangeError(`writeTiers: ${issue.field} ${issue.reason}`);
    const instrument = { ...this.instruments[i], tiers: tiers.map((tier) => ({ ...tier })) };
    this.writeTierColumns(i, instrument);
    this.instruments[i] = instrument;
  }

  /**
   * The first account (its index + 1) holding a position of instrument i whose leverage is above
   * `cap`; 0 when none is: the kernel's check over every position slot handed out, then, only
   * when a slot is above, over every account's block (leverageAbove, O(positions)).
   * Reads only.
   */
  leverageAbove(i: number, cap: number): number {
    return this.core.leverageAbove(this.layout.header, i, cap, this.positionsUsed, this.region('leverage.first', 4));
  }

  /**
   * The tier tables of `instruments` (one, or a list) changed (their columns hold the new ones,
   * written by writeTiers): writes the isolated record of each of their isolated positions again,
   * exactly, under the new table (the kernel's refreshTiers: the isolated records of the chunks
   * that hold one, a threshold computed for each of the instrument's; a change of the table moves each
   * boundary in proportion to its notional, which no size-independent drift covers). Cross records
   * need nothing: their bracket entries are checked against the cache on every read. Then it tells
   * the listeners that the accounts holding a position of those instruments changed (null, with the
   * instruments: a listener that wants the accounts asks holders), whose maintenance the new tables
   * move: the incremental evaluator re-evaluates them, with bounds from the new tables' highest
   * rates, or starts over when they are too many. Returns the records written. Account operations
   * call it once per batch that set tier tables, last.
   */
  tiersChanged(instruments: number | readonly number[]): number {
    this.assertWritable('tiersChanged');
    const list = typeof instruments === 'number' ? [instruments] : instruments;
    for (const i of list) {
      if (!Number.isInteger(i) || i < 0 || i >= this.instruments.length) {
        throw new RangeError(`tiersChanged: ${i} is not an instrument of this book (0 to ${this.instruments.length - 1})`);
      }
    }
    if (list.length === 0) return 0;
    let written = 0;
    for (const i of list) written += this.core.refreshTiers(this.layout.header, this.shardRecord(), i, this.chunkSweep ? SWEEP_CHUNKS : 0);
    for (const listener of this.changeListeners) listener(null, this.accountCount, list);
    return written;
  }

  /**
   * The accounts holding a position of any of `instruments`, ascending, each once: the kernel's
   * walk over every account's block (holders), one per instrument, written in the region `scratch`
   * (4 bytes an account; a caller with a region of that size free lends it, so that no memory is
   * kept for this) and copied out.
   */
  holders(instruments: readonly number[], scratch = 'holders'): Uint32Array {
    const out = this.region(scratch, Math.max(4, this.accountCount * 4));
    const lists = instruments.map((i) => {
      const count = this.core.holders(this.layout.header, i, out);
      return new Uint32Array(this.memory.buffer, out, count).slice();
    });
    if (lists.length === 1) return lists[0];
    const all = new Uint32Array(lists.reduce((n, list) => n + list.length, 0));
    let at = 0;
    for (const list of lists) {
      all.set(list, at);
      at += list.length;
    }
    return this.sortUnique(all);
  }

  /**
   * Sorts `values` ascending in place and moves each value's first copy to the front; returns that
   * prefix (a view). The kernel's radix sort (sortUnique, assembly/sort.ts) through scratch regions:
   * faster than the same sort in JavaScript at every length measured, 50 values to 40,000 (copies in
   * and out included; bench/README.md, 2026-12-05). A batch's changed accounts and an incremental
   * step's go through it.
   */
  sortUnique(values: Uint32Array): Uint32Array {
    if (values.length <= 1) return values;
    const sorted = this.sortedInRegion([values]);
    values.set(sorted);
    return values.subarray(0, sorted.length);
  }

  /** The values of `lists`, ascending, each once, in a new array (sortUnique's sort, with no copy of the lists joined first). */
  ascendingUnique(lists: readonly Uint32Array[]): Uint32Array {
    return this.sortedInRegion(lists).slice();
  }

  /** The values of `lists` sorted by the kernel, each once: a view of a scratch region, good until the next region is asked for. */
  private sortedInRegion(lists: readonly Uint32Array[]): Uint32Array {
    let n = 0;
    for (const values of lists) n += values.length;
    if (n === 0) return new Uint32Array(0);
    const list = this.region('sort.list', regionBytes(n * 4));
    const scratch = this.region('sort.scratch', regionBytes(n * 4));
    const counts = this.region('sort.counts', SORT_COUNTS_BYTES);
    const joined = new Uint32Array(this.memory.buffer, list, n);
    let at = 0;
    for (const values of lists) {
      joined.set(values, at);
      at += values.length;
    }
    return new Uint32Array(this.memory.buffer, list, this.core.sortUnique(list, n, scratch, counts));
  }

  /**
   * Called by SweepPool.sweep before its workers start (and endSweep when they are done, in a
   * finally): until then the book's outputs are the workers'. Refuses a second pool's sweep.
   */
  beginSweep(): void {
    this.assertWritable('another pool sweep');
    this.poolSweeping = true;
  }

  endSweep(): void {
    this.poolSweeping = false;
  }

  /** Whether a pool sweep is running over the book. */
  get sweeping(): boolean {
    return this.poolSweeping;
  }

  /**
   * The single-writer rule: throws unless the book may be written (or evaluated) now, i.e. no pool
   * sweep is running over it. Every method here that writes the book calls it first; `what` names
   * the refused call in the message.
   */
  assertWritable(what = 'a write'): void {
    if (this.poolSweeping) {
      throw new Error(`engine is being swept by a pool: ${what} is refused until the sweep is done (one writer at a time)`);
    }
  }

  /** Writes one position into slot j and raises its instrument's size high-water mark. */
  writePosition(j: number, position: Position): void {
    this.assertWritable('writePosition');
    const v = this.layout.views;
    v.posSize[j] = position.sizeUnits;
    v.posCost[j] = position.costMicro;
    v.posMargin[j] = position.marginMicro;
    v.posFunding[j] = position.fundingIndex;
    v.posInst[j] = position.instrument;
    v.posMode[j] = position.mode === 'cross' ? MODE_CROSS : MODE_ISOLATED;
    v.posLeverage[j] = position.leverage;
    const magnitude = position.sizeUnits < 0n ? -position.sizeUnits : position.sizeUnits;
    if (magnitude > this.sizeHighWater[position.instrument]) this.sizeHighWater[position.instrument] = magnitude;
    this.widenFundingEnvelope(position.instrument, position.fundingIndex);
  }

  /**
   * The first account (its index + 1) holding a position of instrument i whose unsettled funding
   * at `fundingIndex`, |z·q·(F − F_i)| / 10^6, would be above QUOTE_ABS_MAX micro; 0 when every one
   * stays in range. O(1) when the instrument's size high-water mark and the envelope of its
   * funding snapshots vouch for every position (|z| ≤ the mark, F_i within the envelope); else the
   * kernel's check over the instrument's positions (fundingOutOfRange, O(book)). Reads only.
   */
  fundingOutOfRange(i: number, fundingIndex: bigint): number {
    const envelope = this.fundingEnvelope[i];
    if (envelope !== undefined) {
      const low = envelope.low < fundingIndex ? envelope.low : fundingIndex;
      const high = envelope.high > fundingIndex ? envelope.high : fundingIndex;
      const delta = fundingIndex - low > high - fundingIndex ? fundingIndex - low : high - fundingIndex;
      if (this.sizeHighWater[i] * this.views.instQ[i] * delta <= QUOTE_ABS_MAX * FUNDING_EXTRA_SCALE) return 0;
    }
    return this.core.fundingOutOfRange(this.layout.header, i, fundingIndex);
  }

  /**
   * Takes every instrument's envelope of funding snapshots from the position columns (the kernel's
   * fundingSnapshotBounds, one pass over the book): after a loader wrote them.
   */
  seeFundingSnapshots(): void {
    const count = this.instruments.length;
    const out = this.region('funding.snapshots', Math.max(16, count * 16));
    this.core.fundingSnapshotBounds(this.layout.header, out);
    const bounds = new BigInt64Array(this.memory.buffer, out, count * 2);
    for (let i = 0; i < count; i++) this.fundingEnvelope[i] = { low: bounds[2 * i], high: bounds[2 * i + 1] };
  }

  /** Instrument i's positions may now hold the funding snapshot `snapshot` (an index set, a position written). */
  widenFundingEnvelope(i: number, snapshot: bigint): void {
    const envelope = this.fundingEnvelope[i];
    if (envelope === undefined) return;
    if (snapshot < envelope.low) envelope.low = snapshot;
    if (snapshot > envelope.high) envelope.high = snapshot;
  }

  readPosition(j: number): Position {
    return readPositionColumns(this.layout.views, j);
  }

  /**
   * Evaluates accounts [start, end) in this thread: refreshes their derived state, then sweeps them
   * (every scope's equity, maintenance and status, and with `full`, the default, every position's
   * unrealized PnL and maintenance). The control plane's entry point: after any change it is
   * exact. Returns the number of liquidatable scopes.
   */
  evaluate(options: { full?: boolean; start?: number; end?: number } = {}): number {
    this.assertWritable('evaluate');
    this.refreshDebits(options.start, options.end);
    return this.sweep(options);
  }

  /**
   * The sweep alone, for the hot path (benchmarks, the pool does the same from its workers): it
   * trusts the chunk records to be fresh, as every change made through the engine, the operations
   * and the loaders keeps them.
   */
  sweep(options: { full?: boolean; start?: number; end?: number } = {}): number {
    this.assertWritable('sweep');
    const start = options.start ?? 0;
    const end = options.end ?? this.accountCount;
    const count = this.core.sweep(this.layout.header, start, end, this.sweepFlags(options.full !== false), this.shardRecord());
    if (start === 0 && end === this.accountCount) this.sweepDone();
    return count;
  }

  /**
   * Counts a sweep of the whole book that ran (the header's sweep serial, wrapping): a chunk with a
   * funding refresh pending settles on its turn, which the serial gives (the kernel's settleTurn),
   * so a sweep of a range, which would not reach most chunks on their turn, is not counted. Engine.sweep
   * and the pool's sweep call it after the sweep; a sweep the kernel refused is not counted, and
   * changes nothing.
   */
  sweepDone(): void {
    const serial = (this.layout.header >>> 2) + HeaderSlot.sweepSerial;
    this.memoryWords[serial] = this.memoryWords[serial] + 1;
  }

  /**
   * The kernel's flags for a sweep of this book about to run. A full sweep writes the position
   * columns' outputs (PnL, maintenance), so the layout says so before it runs: from then on, the
   * moves of slots carry those columns too (before, every slot's are 0, and moves leave them alone).
   */
  sweepFlags(full: boolean): number {
    if (full && !this.layout.outputsWritten) this.layout.markOutputsWritten();
    return (full ? SWEEP_FULL : 0) | (this.chunkSweep ? SWEEP_CHUNKS : 0);
  }

  /**
   * Recomputes what the sweep derives from the inputs for accounts [start, end): the chunk sweep's
   * records (cross bases and isolated thresholds, from each position's debit: cost basis + unsettled
   * funding): a chunk the range covers whole is marked for the next sweep to rebuild, an account of a
   * chunk it cuts through is refreshed in place. (No column keeps the debits: the column paths
   * compute them as they go.) After a load, or a change to balances or
   * positions of a range of accounts; not after a new mark. A new funding index needs only
   * fundingChanged, which marks no chunk for rebuilding.
   */
  refreshDebits(start = 0, end = this.accountCount): void {
    this.assertWritable('refreshDebits');
    this.core.refreshDebits(this.layout.header, this.shardRecord(), start, end, this.chunkSweep ? SWEEP_CHUNKS : 0);
    if (start === 0 && end === this.accountCount) this.recordsFunding.set(this.views.instFunding.subarray(0, this.recordsFunding.length));
    for (const listener of this.changeListeners) listener(null, end - start);
  }

  /**
   * Calls `listener` after every refresh of derived state: with the accounts an accountsChanged
   * named, with null after a refresh of a range (a load, a re-layout, Engine.evaluate), when
   * anything may have changed, or with null and the instruments after new tier tables
   * (tiersChanged: the accounts holding them changed). Marks and funding indices are not reported: they are in memory for
   * whoever keeps track (src/engine/incremental.ts compares them). Nor is a compaction of the
   * position arena (compactPositions), which moves blocks to other slots and changes nothing else:
   * a listener that keeps positions keeps them by account and rank in the block, not by slot.
   * Returns the unsubscribe function.
   */
  onChange(listener: ChangeListener): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /**
   * The inputs (balance, positions) of the first `count` accounts listed changed: refreshes what the
   * sweep derives from them, account by account (the kernel's refreshAccounts: its chunk records,
   * in place), in proportion to the accounts listed, not to the book.
   * Account operations call it once per batch (src/account/batch.ts) for every account it changed.
   */
  accountsChanged(accounts: ArrayLike<number>, count = accounts.length): void {
    this.assertWritable('accountsChanged');
    if (count === 0) return;
    for (let k = 0; k < count; k++) {
      const a = accounts[k];
      if (!Number.isInteger(a) || a < 0 || a >= this.accountCount) throw new RangeError(`accountsChanged: ${a} is not an account of this book (0 to ${this.accountCount - 1})`);
    }
    const list = this.accountList('refresh.accounts', accounts, count);
    this.core.refreshAccounts(this.layout.header, this.shardRecord(), list, count, this.chunkSweep ? SWEEP_CHUNKS : 0);
    this.accountsRefreshed(accounts, count);
  }

  /**
   * The balances of the first `count` accounts listed changed, by `deltas[k]` for `accounts[k]`
   * (repeats allowed: the changes add up), and nothing else of theirs did (deposits, withdrawals):
   * refreshes what the sweep derives from them as accountsChanged would, in O(1) an account (the
   * kernel's refreshBalances: each one's cross base moves by its change; no record is laid out
   * again), and tells the listeners. An account whose positions changed too goes to accountsChanged
   * instead, which reads its balance from the column: giving it to both counts its change twice.
   */
  balancesChanged(accounts: ArrayLike<number>, deltas: ArrayLike<bigint>, count = accounts.length): void {
    this.assertWritable('balancesChanged');
    if (count === 0) return;
    if (deltas.length < count) throw new RangeError(`balancesChanged: ${count} accounts but ${deltas.length} changes`);
    for (let k = 0; k < count; k++) {
      const a = accounts[k];
      if (!Number.isInteger(a) || a < 0 || a >= this.accountCount) throw new RangeError(`balancesChanged: ${a} is not an account of this book (0 to ${this.accountCount - 1})`);
      // Two balances in range are at most 2·QUOTE_ABS_MAX apart.
      const delta = deltas[k];
      if (typeof delta !== 'bigint' || delta > 2n * QUOTE_ABS_MAX || delta < -2n * QUOTE_ABS_MAX) throw new RangeError(`balancesChanged: the change ${String(delta)} of account ${a} (listed at ${k}) is not a balance change`);
    }
    // Written through the memory's cached views, as accountList does.
    const list = this.region('refresh.balances', count * BALANCE_CHANGE_BYTES);
    const words = this.memoryWords;
    const values = this.memoryI64;
    for (let k = 0; k < count; k++) {
      words[(list + k * BALANCE_CHANGE_BYTES + BC_ACCOUNT) / 4] = accounts[k];
      values[(list + k * BALANCE_CHANGE_BYTES + BC_DELTA) / 8] = deltas[k];
    }
    this.core.refreshBalances(this.layout.header, this.shardRecord(), list, count, this.chunkSweep ? SWEEP_CHUNKS : 0);
    // The listeners hear the rises as credits and the rest as changes (an account listed with both
    // is heard in both: a change outweighs a credit).
    const credited: number[] = [];
    const other: number[] = [];
    for (let k = 0; k < count; k++) (deltas[k] > 0n ? credited : other).push(accounts[k]);
    this.accountsCredited(credited);
    this.accountsRefreshed(other);
  }

  /**
   * The wallet balances of the first `count` accounts listed rose, and nothing else of theirs
   * changed (deposits), and their derived state was refreshed already (by the kernel as it applied
   * them, or by balancesChanged): tells the listeners, as credits (ChangeListener).
   */
  accountsCredited(accounts: ArrayLike<number>, count = accounts.length): void {
    if (count === 0) return;
    for (const listener of this.changeListeners) listener(accounts, count, undefined, true);
  }

  /**
   * The inputs of the first `count` accounts listed changed, and their derived state was refreshed
   * already, by the kernel as it applied the operations (applyOperationRecords: a batch's deposits,
   * each cross base moved; fills of cross positions kept open, each record rewritten in place):
   * tells the listeners (accountsChanged and balancesChanged call it after their refreshes).
   */
  accountsRefreshed(accounts: ArrayLike<number>, count = accounts.length): void {
    if (count === 0) return;
    for (const listener of this.changeListeners) listener(accounts, count);
  }

  /** The first `count` accounts listed, as u32 in the region `name` of the memory: its offset, for a kernel call. */
  private accountList(name: string, accounts: ArrayLike<number>, count: number): number {
    const list = this.region(name, Math.max(4, count * 4));
    const words = this.memoryWords; // cached: a view made per call costs about what a short list's refresh does
    for (let k = 0; k < count; k++) words[list / 4 + k] = accounts[k];
    return list;
  }

  /**
   * Settles every funding refresh still pending on a chunk (fundingChanged), on this thread:
   * O(positions of those chunks). Sweeps settle them on their own, a sixteenth of the pending
   * chunks a sweep; after this call every chunk's records, and the next sweep's cross equities, are
   * at the funding indices of the columns.
   */
  settleFunding(): void {
    this.assertWritable('settleFunding');
    this.core.settleFunding(this.layout.header, this.shardRecord());
  }

  /**
   * The funding indices of `instruments` (one, or a list) changed (their column holds the new ones).
   * What their positions' debits feed in the chunk sweep's records (the cross base of each account
   * with a cross position on one, moved by the change of that position's funding owed from the
   * index its records were made at to the new one) is deferred in the kernel's funding slots,
   * marking no chunk for rebuilding (the kernel's refreshFunding): this call joins the change to
   * every slot in use and puts the fresh chunks at the indices before it in a new slot, O(chunks),
   * and reads no position, unless every slot holds pending chunks (then the oldest slot's chunks are
   * settled first, on this thread). The isolated records are not touched: each instrument's drifts
   * grow instead (advanceDrifts, O(1) an instrument).
   * A sweep reads a chunk with a refresh pending lazily (statuses exact; an account's cross equity
   * before the refresh where its bound settles its status: docs/architecture.md, "Funding left
   * pending") and settles it on its turn, one sweep in 16, in the pool's worker that sweeps it; a
   * refresh of an account (accountsChanged) settles its chunk first. `recomputed` lists, ascending
   * and each once, the accounts whose records were made at the new indices already (accountsChanged
   * since they were set): they are refreshed again after the change is deferred (their chunks
   * settled first, their records written again), so that no chunk holds records at two indices.
   * Account operations call it once per batch that set funding indices, with every instrument whose
   * index the batch set, after accountsChanged for the accounts the batch changed, with those
   * accounts.
   */
  fundingChanged(instruments: number | readonly number[], recomputed: ArrayLike<number> = []): void {
    this.assertWritable('fundingChanged');
    const list = typeof instruments === 'number' ? [instruments] : instruments;
    for (const i of list) {
      if (!Number.isInteger(i) || i < 0 || i >= this.instruments.length) {
        throw new RangeError(`fundingChanged: ${i} is not an instrument of this book (0 to ${this.instruments.length - 1})`);
      }
    }
    const count = recomputed.length;
    for (let k = 0; k < count; k++) {
      const a = recomputed[k];
      if (!Number.isInteger(a) || a < 0 || a >= this.accountCount || (k > 0 && a <= recomputed[k - 1])) {
        throw new RangeError(`fundingChanged: recomputed accounts must be accounts of this book (0 to ${this.accountCount - 1}), ascending, each once; ${a} at ${k} is not`);
      }
    }
    // Instruments whose records are at their index already have nothing to refresh.
    const moved = list.filter((i) => this.recordsFunding[i] !== this.views.instFunding[i]);
    if (moved.length === 0) return;
    // The isolated records are kept against their instruments' drifts: only those move. Past
    // DRIFT_MAX (funding moves of about 2^50 price units in all) every record is written again
    // instead, at drifts of 0, and nothing is left to defer.
    if (!this.advanceDrifts(moved)) {
      this.views.instDriftLong.fill(0n);
      this.views.instDriftShort.fill(0n);
      this.refreshDebits();
      return;
    }
    // One table of changes, which the kernel joins to the slots in use and copies into a new one.
    const header = this.layout.header;
    const changes = this.fundingTable(FUNDING_CHANGES, moved);
    for (const i of moved) this.recordsFunding[i] = this.views.instFunding[i];
    const slots = this.region(FUNDING_SLOTS_REGION, this.instruments.length * FUNDING_SLOTS_BYTES_PER_INSTRUMENT + FUNDING_SLOT_METAS_BYTES);
    this.core.refreshFunding(header, this.shardRecord(), changes, this.chunkSweep ? SWEEP_CHUNKS : 0, slots);
    if (count > 0) {
      const list = this.accountList('refresh.funding', recomputed, count);
      this.core.refreshAccounts(header, this.shardRecord(), list, count, this.chunkSweep ? SWEEP_CHUNKS : 0);
    }
  }

  /**
   * The funding indices of `moved` changed, from the index their records were made at
   * (recordsFunding) to the column's: advances the drift of each one's isolated positions'
   * boundaries (views.instDriftLong and instDriftShort; assembly/layout.ts H_INST_DRIFT_*) by a bound
   * on how far the move can take any of them, whatever its size, margin or tier, so that no isolated
   * record is written for it (docs/architecture.md, "Isolated thresholds and funding"). A rise moves
   * longs' boundaries up by at most ceil((ΔF/S + 1/q) / (1 − r_max)) price units, a fall shorts' (in
   * −mark) by at most ceil(|ΔF|/S), with S the funding index's scale, q the instrument's micro per
   * size unit and price unit and r_max its highest maintenance rate. For an instrument finer than a
   * micro (value divisor d > 1, q = 1: docs/numbers.md) the boundary is found in the floored value
   * first, which moves by one micro more, and a micro of value is up to d price units (|z|·q ≥ 1):
   * a long's by d·(ceil((ΔF/S + 1) / (1 − r_max)) + 1) + 1, a short's by d·(ceil(|ΔF|/S) + 2) + 1.
   * A record written at an index in between (a refresh before this call) only gets more room than
   * it needs. Returns false, and moves nothing, when a drift would pass DRIFT_MAX.
   */
  private advanceDrifts(moved: readonly number[]): boolean {
    const v = this.views;
    const long = moved.map((i) => v.instDriftLong[i]);
    const short = moved.map((i) => v.instDriftShort[i]);
    for (let k = 0; k < moved.length; k++) {
      const i = moved[k];
      const from = this.recordsFunding[i];
      const to = v.instFunding[i];
      const q = v.instQ[i];
      const d = v.instDiv[i];
      if (to > from) {
        const rateMax = v.tierRate[i * TIERS_MAX + v.instTierCount[i] - 1];
        const drift = divCeil(((to - from) * q + FUNDING_EXTRA_SCALE) * RATE_SCALE, FUNDING_EXTRA_SCALE * q * (RATE_SCALE - rateMax));
        long[k] += d === 1n ? drift : d * (drift + 1n) + 1n;
      } else {
        const drift = divCeil(from - to, FUNDING_EXTRA_SCALE);
        short[k] += d === 1n ? drift : d * (drift + 2n) + 1n;
      }
      if (long[k] > DRIFT_MAX || short[k] > DRIFT_MAX) return false;
    }
    moved.forEach((i, k) => {
      v.instDriftLong[i] = long[k];
      v.instDriftShort[i] = short[k];
    });
    return true;
  }

  /**
   * The table of changes of funding indices in region `name` (FUNDING_CHANGE_BYTES per instrument):
   * for each of `moved`, that it changed, the index its records were made at and the new one (the
   * column's). Returns its offset.
   */
  private fundingTable(name: string, moved: readonly number[]): number {
    const instrumentCount = this.instruments.length;
    const changes = this.region(name, instrumentCount * FUNDING_CHANGE_BYTES);
    const words = this.memoryWords;
    const values = this.memoryI64;
    words.fill(0, changes / 4, (changes + instrumentCount * FUNDING_CHANGE_BYTES) / 4);
    for (const i of moved) {
      values[(changes + i * FUNDING_CHANGE_BYTES + FC_OLD) / 8] = this.recordsFunding[i];
      values[(changes + i * FUNDING_CHANGE_BYTES + FC_NEW) / 8] = this.views.instFunding[i];
      words[(changes + i * FUNDING_CHANGE_BYTES + FC_CHANGED) / 4] = 1;
    }
    return changes;
  }

  /**
   * A shard record in this memory (no cancel flag, no list) with its own instrument cache and
   * chunk sums, for kernel calls made from this thread. Pool workers get their own (src/pool/).
   * Made on the first call for a name and returned as it is after that (the kernel only writes the
   * counters of each call in it): a caller that changes one of its words takes a name of its own.
   */
  shardRecord(name = 'engine'): number {
    const known = this.shardRecords.get(name);
    if (known !== undefined) return known;
    const record = this.region(`${name}.shard`, SHARD_RECORD_BYTES);
    const slots = new Uint32Array(this.memory.buffer, record, SHARD_RECORD_BYTES / 4);
    slots.fill(0);
    slots[ShardSlot.cache] = this.region(`${name}.cache`, cacheBytes(this.instruments.length));
    slots[ShardSlot.scratch] = this.region(`${name}.scratch`, CHUNK_SCRATCH_BYTES);
    this.shardRecords.set(name, record);
    return record;
  }

  /**
   * Liquidation and bankruptcy prices of every position of the listed accounts, in order: pairs
   * (liquidation, bankruptcy) in price units, 0 for none. The view is valid until the next call.
   */
  prices(accounts: ArrayLike<number>): BigInt64Array {
    const v = this.layout.views;
    const count = this.accountCount;
    let positions = 0;
    for (let k = 0; k < accounts.length; k++) {
      const a = accounts[k];
      if (!(Number.isInteger(a) && a >= 0 && a < count)) {
        throw new RangeError(`prices: account index ${a} (listed at ${k}) is not an account of this book (0 to ${count - 1})`);
      }
      positions += v.accPosCount[a];
    }
    const list = this.region('prices.accounts', accounts.length * 4);
    new Uint32Array(this.memory.buffer, list, accounts.length).set(accounts);
    const out = this.region('prices.out', positions * 16);
    const written = this.core.prices(this.layout.header, this.shardRecord(), list, accounts.length, out);
    assert(written === positions, 'prices wrote one pair per position');
    return new BigInt64Array(this.memory.buffer, out, positions * 2);
  }

  /** Account a as exact integers: the figures the last full evaluation wrote, and its prices. */
  accountResult(a: number): AccountResult {
    const v = this.layout.views;
    const first = v.accPosStart[a];
    const prices = this.prices([a]);
    const positions: PositionResult[] = [];
    for (let j = first; j < first + v.accPosCount[a]; j++) {
      const isolated = v.posMode[j] === MODE_ISOLATED;
      const liquidation = prices[2 * (j - first)];
      const bankruptcy = prices[2 * (j - first) + 1];
      positions.push({
        unrealizedPnlMicro: v.posPnl[j],
        maintenanceMicro: v.posMaint[j],
        equityMicro: isolated ? v.posMargin[j] + v.posPnl[j] : null,
        status: isolated ? STATUS_NAMES[v.posStatus[j]] : null,
        liquidationPriceUnits: liquidation === 0n ? null : liquidation,
        bankruptcyPriceUnits: bankruptcy === 0n ? null : bankruptcy,
      });
    }
    return {
      crossEquityMicro: v.accCrossEquity[a],
      crossMaintenanceMicro: v.accCrossMaint[a],
      crossStatus: STATUS_NAMES[v.accStatus[a]],
      positions,
    };
  }

  /** The book as it stands in memory now (after any updates); `end` limits it to accounts [0, end). */
  toBook(end = this.accountCount): Book {
    const v = this.layout.views;
    const accounts: Book['accounts'] = [];
    for (let a = 0; a < end; a++) {
      const first = v.accPosStart[a];
      const positions: Position[] = [];
      for (let j = first; j < first + v.accPosCount[a]; j++) positions.push(this.readPosition(j));
      accounts.push({ id: this.accountIds.get(a), balanceMicro: v.accBalance[a], positions });
    }
    return {
      instruments: this.instruments.map((instrument, i) => ({
        ...instrument,
        markUnits: v.instMark[i],
        fundingIndex: v.instFunding[i],
        tiers: instrument.tiers.map((tier) => ({ ...tier })),
      })),
      accounts,
    };
  }

  /**
   * The whole memory as u32 words, made once and again only after the engine grew the memory
   * (reading `memory.buffer` of a shared memory costs about 85 ns: a view per call adds up on hot
   * paths). Only the engine grows its memory (regions, re-layouts).
   */
  get memoryWords(): Uint32Array {
    return (this.wordsView ??= new Uint32Array(this.memory.buffer));
  }

  /** The whole memory as bytes, as memoryWords. */
  get memoryBytes(): Uint8Array {
    return (this.bytesView ??= new Uint8Array(this.memory.buffer));
  }

  /** The whole memory as i64 words, as memoryWords. */
  get memoryI64(): BigInt64Array {
    return (this.i64View ??= new BigInt64Array(this.memory.buffer));
  }

  /** Grows the memory by `pages` and drops the views made over its old size. */
  private grewMemory(pages: number): void {
    growMemory(this.memory, pages, this.hugePages);
    this.dropViews();
  }

  /** Drops memoryWords' and memoryBytes' views: the memory grew. */
  private dropViews(): void {
    this.wordsView = undefined;
    this.bytesView = undefined;
    this.i64View = undefined;
  }

  /**
   * The memory's bytes by use: the book's layout, the regions in use, and the free regions left
   * behind by names that moved to bigger ones, not yet taken by another (bench:incremental prints
   * them beside the RSS).
   */
  get memoryUse(): { layout: number; regions: number; left: number; total: number } {
    let regions = 0;
    for (const region of this.regions.values()) regions += region.bytes;
    let left = 0;
    for (const region of this.freeRegions) left += region.bytes;
    return { layout: this.layout.end, regions, left, total: this.memory.buffer.byteLength };
  }

  /**
   * A region of at least `bytes` bytes above the book, kept under `name` and reused while it is
   * big enough. A bigger request takes what it needs of the smallest free region that fits (what
   * names left behind when they grew; the rest stays free) or a new one at the top, growing the
   * memory as needed; the region it leaves is free from the next call on (so that a caller can
   * still copy from it, as HotBook.grow does), merged with its free neighbours (release).
   * Returns its byte offset. Whoever held the old offset must take the new one: nothing may be
   * read or written through an offset of a region its name has left.
   */
  region(name: string, bytes: number): number {
    const existing = this.regions.get(name);
    if (existing !== undefined && existing.bytes >= bytes) return existing.offset;
    // A region left behind earlier is reused, the smallest that fits; the one left behind now is
    // not (its caller may still copy from it: HotBook.grow), until the next call.
    let best = -1;
    for (let k = 0; k < this.freeRegions.length; k++) {
      const free = this.freeRegions[k];
      if (free.bytes >= bytes && (best < 0 || free.bytes < this.freeRegions[best].bytes)) best = k;
    }
    let region: Region;
    if (best >= 0) {
      // What the request needs of it, to the next cache line; the rest stays free.
      const free = this.freeRegions.splice(best, 1)[0];
      const cut = alignUp(free.offset + Math.max(bytes, 16), REGION_ALIGN);
      const rest = free.offset + free.bytes - cut;
      if (rest >= REGION_ALIGN) {
        this.freeRegions.push({ offset: cut, bytes: rest });
        region = { offset: free.offset, bytes: cut - free.offset };
      } else region = free;
    } else {
      const offset = alignUp(this.memoryTop, REGION_ALIGN); // cache-line aligned
      const end = offset + Math.max(bytes, 16);
      const pages = Math.ceil(end / WASM_PAGE_BYTES);
      if (pages > WASM_PAGES_MAX) {
        // Refused before anything moved: the name keeps its region, the free ones stay free.
        throw new RangeError(
          `no room for the scratch region ${name} (${bytes} bytes): the book and its regions would need ${end} bytes, ` +
            `above the 4 GiB a wasm32 memory holds (the book's layout takes ${this.layout.end})`,
        );
      }
      const grow = pages - this.memory.buffer.byteLength / WASM_PAGE_BYTES;
      if (grow > 0) this.grewMemory(grow);
      this.memoryTop = end;
      region = { offset, bytes: end - offset };
    }
    if (existing !== undefined) this.release(existing);
    this.regions.set(name, region);
    return region.offset;
  }

  /** Gives back the region kept under `name` (none: nothing), free for another name from now on. */
  private dropRegion(name: string): void {
    const region = this.regions.get(name);
    if (region === undefined) return;
    this.regions.delete(name);
    this.release(region);
  }

  /**
   * Frees a region its name left: merged with the free regions next to it (a region owns the
   * padding up to the next cache line, where the next one starts), so that a later, larger request
   * can take the pages they held; one that reaches the top lowers the top instead, where the next
   * new region starts.
   */
  private release(left: Region): void {
    let offset = left.offset;
    let end = alignUp(left.offset + left.bytes, REGION_ALIGN);
    for (let merged = true; merged; ) {
      merged = false;
      for (let k = 0; k < this.freeRegions.length; k++) {
        const free = this.freeRegions[k];
        const freeEnd = free.offset + free.bytes;
        if (freeEnd !== offset && free.offset !== end) continue;
        offset = Math.min(offset, free.offset);
        end = Math.max(end, freeEnd);
        this.freeRegions.splice(k, 1);
        merged = true;
        break;
      }
    }
    if (end >= this.memoryTop) this.memoryTop = offset;
    else this.freeRegions.push({ offset, bytes: end - offset });
  }

  /**
   * A free slot at the end of account a's position block, moving the block to the arena's tail
   * when the slot after it is taken (making room first as makePositionRoom does, which may compact
   * the arena: every block's start may move). Returns the slot index.
   */
  appendPositionSlot(a: number): number {
    this.assertWritable('appendPositionSlot');
    const count = this.layout.views.accPosCount[a];
    if (count >= POSITIONS_PER_ACCOUNT_MAX) {
      throw new RangeError(`account holds the maximum of ${POSITIONS_PER_ACCOUNT_MAX} positions`);
    }
    if (this.layout.views.accPosStart[a] + count === this.positionsUsed && this.positionsUsed < this.layout.capacity.positions) {
      // The tail block grows in place.
      this.positionsUsed++;
      this.layout.views.accPosCount[a] = count + 1;
      return this.positionsUsed - 1;
    }
    this.makePositionRoom(count + 1);
    // The block moves to the tail (its chunk records name slots through the block's start).
    const views = this.layout.views;
    const target = this.positionsUsed;
    const source = views.accPosStart[a];
    for (let k = 0; k < count; k++) this.copyPositionSlot(source + k, target + k);
    views.accPosStart[a] = target;
    views.accPosCount[a] = count + 1;
    this.positionsUsed = target + count + 1;
    return target + count;
  }

  /**
   * At least `slots` free position slots above positionsUsed, re-laying the book with more capacity
   * (growPositions) if there are fewer: every slot keeps its index. What an operation calls before
   * it is decided (a fill builds its new position in the first free slot), so that a refused one
   * leaves the slots as they were: only the capacity may have grown.
   */
  reserveFreeSlots(slots: number): void {
    this.assertWritable('reserveFreeSlots');
    if (this.positionsUsed + slots > this.layout.capacity.positions) this.growPositions(slots);
  }

  /**
   * At least `slots` free position slots above positionsUsed, for a block about to move to the
   * tail. When there are fewer, the slots that moved blocks left behind are taken back
   * (compactPositions) if that leaves at least a quarter of the arena free; otherwise the arena
   * doubles (growPositions), and when it cannot (wasm32's 4 GiB) it is compacted if that leaves
   * the room. A compaction moves the blocks, so this is called only where no operation is half
   * done: between operations, or once one can no longer be refused (its new slot, commitNewPosition).
   * Compacting when a quarter comes back, and doubling otherwise, keeps the arena within about
   * twice the positions held and makes a compaction's O(book) cost O(1) a slot taken.
   */
  makePositionRoom(slots: number): void {
    this.assertWritable('makePositionRoom');
    const capacity = this.layout.capacity.positions;
    if (this.positionsUsed + slots <= capacity) return;
    const held = this.positionsHeld();
    const free = capacity - held;
    if (free >= slots && free >= capacity / ARENA_COMPACT_FREE_SHARE) {
      this.compactPositions();
      return;
    }
    try {
      this.growPositions(slots, held);
    } catch (error) {
      if (!(error instanceof RangeError) || free < slots) throw error;
      this.compactPositions(); // cannot grow: the slots moved blocks left are what room there is
    }
  }

  /** The positions the accounts hold (every block's count): at most positionsUsed, the rest left by blocks that moved. O(accounts). */
  positionsHeld(): number {
    const counts = this.layout.views.accPosCount;
    let held = 0;
    for (let a = 0; a < this.accountCount; a++) held += counts[a];
    return held;
  }

  /**
   * Compacts the position arena: every account's block slides down over the slots no account
   * holds (those moved blocks left behind), in slot order, so that the blocks fill the first
   * positionsHeld() slots; the slots above are zeroed. The positions, balances and every figure
   * stay as they were. The slots the chunk records name move with their positions, in the kernel,
   * so no chunk is built again. The listeners (onChange) hear nothing: no account's inputs or
   * derived figures changed, and what they keep names a position by its rank in its account's
   * block, which a slide keeps (the incremental path's hot book: its index stays built).
   * O(accounts + slots used + records), in the kernel. Returns the slots taken back.
   */
  compactPositions(): number {
    this.assertWritable('compactPositions');
    const used = this.positionsUsed;
    const scratch = this.region(ARENA_SCRATCH, this.core.arenaScratchBytes(used));
    let held: number;
    try {
      held = this.core.compactArena(this.layout.header, used, scratch, this.chunkSweep ? SWEEP_CHUNKS : 0);
    } finally {
      this.dropRegion(ARENA_SCRATCH);
    }
    this.positionsUsed = held;
    this.positionCompactions++;
    this.positionSlotsTakenBack += used - held;
    return used - held;
  }

  /** Zeroes every column of slot j (a slot no account holds; the outputs, until written, are 0 already). */
  clearPositionSlot(j: number): void {
    this.assertWritable('clearPositionSlot');
    const { wide, narrow } = this.positionSlotColumns();
    for (let k = 0; k < wide.length; k++) wide[k][j] = 0n;
    for (let k = 0; k < narrow.length; k++) narrow[k][j] = 0;
  }

  /** Copies every column of slot `source` to slot `target` (the outputs once written: positionSlotColumns). */
  private copyPositionSlot(source: number, target: number): void {
    const { wide, narrow } = this.positionSlotColumns();
    for (let k = 0; k < wide.length; k++) wide[k][target] = wide[k][source];
    for (let k = 0; k < narrow.length; k++) narrow[k][target] = narrow[k][source];
  }

  /**
   * The layout's position columns as two arrays, the 64-bit ones and the rest, made again when the
   * layout changes. A slot copied or cleared through the views object, column by column by name,
   * was a lookup V8 could not cache: on the 10M-account book a block moved to the tail, its new slot
   * cleared and one slot removed took a median 4.9–8.2 µs that way, 2.3–2.6 µs this way.
   */
  private positionSlotColumns(): SlotColumns {
    const outputs = this.layout.outputsWritten;
    if (this.slotColumns?.layout !== this.layout || this.slotColumns.outputs !== outputs) {
      const views = this.layout.views;
      const wide: BigInt64Array[] = [];
      const narrow: (Uint8Array | Uint16Array)[] = [];
      for (const name of movedPositionColumns(outputs)) {
        const column = views[name];
        if (column instanceof BigInt64Array) wide.push(column);
        else narrow.push(column as Uint8Array | Uint16Array);
      }
      this.slotColumns = { layout: this.layout, outputs, wide, narrow };
    }
    return this.slotColumns;
  }

  /**
   * The region for `count` account operation records (src/memory/layout.ts OP_*), which applyBatch
   * writes and applyOperationRecords hands to the kernel, and after them the u32 where the kernel
   * keeps the index of the record it reached (operationProgress): its byte offset, the same until
   * a larger count is asked for.
   */
  operationRecords(count: number): number {
    return this.region('operations.records', Math.max(1, count) * OP_BYTES + OP_PROGRESS_BYTES);
  }

  /**
   * The index of the record the last applyOperationRecords call over `count` records at `records`
   * reached: the ones before it were applied or refused, even when the call threw (a failed check).
   */
  operationProgress(records: number, count: number): number {
    return this.memoryWords[(records + count * OP_BYTES) / 4];
  }

  /**
   * Applies or refuses the operation records [from, count) at `records` (operationRecords) in the
   * kernel, in order, each record's outcome saying which (OUTCOME_APPLIED, OUTCOME_OPENED,
   * OUTCOME_CLOSED, OUTCOME_REFRESHED or a REFUSED_* code), up to the first it leaves to the control plane
   * (OUTCOME_HOST), and returns that one's index (count when it took them all): deposits and fills,
   * each applied or refused exactly as the control plane's operation would
   * (assembly/operations.ts); a fill that opens a position takes its slot as
   * appendPositionSlot would give it (positionsUsed moves on), one that closes it leaves the block
   * as removePositionSlot takes it out. An applied deposit's derived state is refreshed as it is
   * applied (its cross base moved, as balancesChanged would move it), and so is that of a fill that
   * keeps a position open (cross or isolated) where its record can be rewritten in place
   * (OUTCOME_REFRESHED; an isolated one's from the engine's instrument cache, filled for it), with
   * `fillRecords`: only while no funding index was set since the last refresh (the funding refresh
   * would move such a record again); the caller tells the listeners (accountsRefreshed). Every
   * other applied record's is not, and no size high-water mark is raised: the caller (applyBatch)
   * does both for what was applied.
   */
  applyOperationRecords(records: number, from: number, count: number, fillRecords = false): number {
    this.assertWritable('applyOperationRecords');
    // The arena's used slots and capacity, for fills that open positions; positionsUsed comes back.
    const arena = this.region('operations.arena', ARENA_BYTES);
    const words = this.memoryWords;
    words[arena / 4] = this.positionsUsed;
    words[arena / 4 + 1] = this.layout.capacity.positions;
    try {
      const flags = this.chunkSweep ? SWEEP_CHUNKS | (fillRecords ? APPLY_FILL_RECORDS : 0) : 0;
      return this.core.applyUpdates(this.layout.header, records, from, count, arena, flags, this.shardRecord());
    } finally {
      this.positionsUsed = this.memoryWords[arena / 4];
    }
  }

  /** Removes slot j from account a's block (the last slot of the block moves into its place). */
  removePositionSlot(a: number, j: number): void {
    this.assertWritable('removePositionSlot');
    const v = this.layout.views;
    const last = v.accPosStart[a] + v.accPosCount[a] - 1;
    if (j !== last) this.copyPositionSlot(last, j);
    v.accPosCount[a] -= 1;
  }

  /**
   * Moves the book to a bigger layout in the same memory, with room for at least `extra` more
   * positions. Every slot keeps its index (accPosStart and positionsUsed are as they were), so an operation refused after its slot needed the room leaves the book exactly as it
   * found it: only the capacity grew. Capacity doubles, so this happens O(log n) times as
   * positions are opened; never per update.
   */
  private growPositions(extra: number, held?: number): void {
    this.assertWritable('growPositions');
    const old = this.layout;
    const capacity: Capacity = { ...old.capacity, positions: Math.max(old.capacity.positions * 2, this.positionsUsed + extra + 64) };
    let next: BookLayout;
    try {
      // On a cache line, as every region starts: a region just below that is let go gives back up to
      // its end rounded up to the line (release), which must not reach into the layout.
      next = new BookLayout(this.memory, alignUp(this.memoryTop, REGION_ALIGN), capacity, old.layoutRoom, this.hugePages); // its old views dropped below
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      // Past wasm32's 4 GiB: say how full the arena is with what (makePositionRoom compacts it
      // instead when that leaves the room).
      held ??= this.positionsHeld();
      throw new RangeError(
        `the position arena is full: ${this.positionsUsed} of its ${old.capacity.positions} slots are used, ${held} by the positions ` +
          `the accounts hold (the rest left by blocks that moved; compacted, the arena would have ${old.capacity.positions - held} free` +
          `${old.capacity.positions - held < extra ? `, fewer than the ${extra} needed` : ''}); ` +
          `a layout with room for ${capacity.positions} positions cannot be made: ${error.message}`,
      );
    }
    this.dropViews();
    next.setAccountCount(this.accountCount);
    this.memoryTop = next.end;
    const o = old.views;
    const n = next.views;
    for (const name of INSTRUMENT_COLUMNS) copyColumn(n, o, name);
    next.setInstrumentCount(this.instruments.length);
    for (const name of ACCOUNT_COLUMNS) copyColumn(n, o, name);
    // The outputs only once written (before, 0 in every slot of both layouts: their pages untouched).
    const outputs = old.outputsWritten;
    if (outputs) next.markOutputsWritten();
    for (const name of movedPositionColumns(outputs)) (n[name] as Uint8Array).set((o[name] as Uint8Array).subarray(0, this.positionsUsed));
    this.layout = next;
    // The new layout's derived data: cross bases and sweep records are rebuilt.
    this.refreshDebits();
  }
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`engine invariant broken: ${message}`);
}
