// Incremental evaluation: after the book has been evaluated once, a step (ticks, a batch of
// updates, a funding change) re-evaluates, exactly and with the kernel, only the accounts whose
// statuses it could have changed, and falls back to a full sweep when that would be more work than
// a sweep. docs/incremental.md is the design; in short:
//
// - Every evaluation gives the account a **bound** y (assembly/bounds.ts): its statuses cannot
//   change while each instrument it holds stays within a relative move y of the marks of that
//   evaluation (a funding-index move counting as a mark move of ΔF / 10^6). The bound uses the
//   instrument's highest maintenance rate, so that no tier can break it.
// - The **build** evaluates every account and indexes it by its bound: per instrument, the accounts
//   holding it in buckets on a log scale (128 per octave), 4 bytes an entry, each tagged with the
//   sides a move of that instrument's mark could fail it on (a healthy account: down where it is
//   long, up where it is short; a failing one: both). An instrument's **excursion** on a side e is
//   the farthest its mark has been from the build's mark that way, plus its funding moves,
//   relative to that mark: it only grows, so the buckets it reaches are taken once each for that
//   side; an account on the side whose bound it reached is re-evaluated, the rest wait in a heap
//   keyed by bound.
// - A re-evaluated account gets **triggers** instead: per instrument it holds, the marks (shifted by
//   the funding moves since the build) at which its bound would be spent, in two heaps per
//   instrument, one for each direction. A tick takes the triggers it crossed. Heap entries carry the
//   account's version, so entries a later evaluation replaced are skipped (and dropped when the
//   heaps are compacted).
// - An account whose bound is below `hotBound` (any normal tick could reach it) goes to the **hot
//   book** (src/engine/hot-book.ts) instead: its scopes and positions dense in the shared memory,
//   moved exactly by every tick of their instruments at a few nanoseconds a position. It leaves the
//   hot book before an update or a funding move changes it, and is evaluated in full.
// - Accounts changed by updates (Engine.onChange) are re-evaluated at the next step, except those
//   a deposit alone changed whose cross pool is healthy and which are not in the hot book: their
//   statuses cannot fall, and the bound they have still holds (creditKeeps).
// - A step that would re-evaluate more than `fallbackAccounts` accounts (a calm one: more than
//   `calmAccounts`) runs a full sweep instead and owes them, or past `drainLimit` leaves the index
//   stale; so do a refresh of the whole book, too many hot accounts and heaps
//   that stay too large. A stale index is rebuilt at the first calm step (every mark within
//   `calmMove` of the last step's); until then each step is a full sweep, as without the index.
import { HotBook, type HotTick } from './hot-book.js';
import { Engine, regionBytes } from './engine.js';
import type { SweepPool } from '../pool/pool.js';
import { kernelU32 } from './kernel-constants.js';
import { ShardSlot } from '../memory/layout.js';
import { FUNDING_EXTRA_SCALE, MODE_CROSS, RATE_SCALE, STATUS_HEALTHY } from '../fixed/constants.js';
import { BoundHeap, HeapPages } from './bound-heap.js';

/**
 * IncrementalOptions.hotSplit's default: on the 10M-account book, instruments 0 and 1 late in 5,000
 * normal ticks (131,072 before the pool's helper made a hand-over cheap: bench/README.md,
 * 2026-12-05, fourth session).
 */
const HOT_SPLIT_DEFAULT = 65_536;
/** IncrementalOptions.hotShareChunk's default: 98 KB of records or 128 KB of solo records a chunk. */
const HOT_SHARE_CHUNK_DEFAULT = 4_096;
/** IncrementalOptions.hotPartBound's default, in hotBounds. */
const HOT_PART_DEFAULT = 3;

const BOUND_TABLE_STRIDE = kernelU32('BOUND_TABLE_STRIDE');
const BOUND_C = kernelU32('BOUND_C') / 8;
const BOUND_P = kernelU32('BOUND_P') / 8;
/** The build index's sides per instrument (assembly/bounds.ts): the accounts a falling mark can fail, and those a rising one can. */
const SIDES = kernelU32('INDEX_SIDES');
const SIDE_DOWN = kernelU32('INDEX_SIDE_DOWN');
const SIDE_UP = kernelU32('INDEX_SIDE_UP');
if (SIDES !== 2 || SIDE_DOWN + SIDE_UP !== 1) throw new Error('incremental.ts counts an index entry\'s two sides, down and up (the kernel\'s INDEX_SIDES, INDEX_SIDE_DOWN, INDEX_SIDE_UP)');
/** An index entry: the account in its low SIDE_SHIFT bits, then a bit per side it is on. */
const SIDE_SHIFT = kernelU32('INDEX_SIDE_SHIFT');
const ACCOUNT_MASK = kernelU32('INDEX_ACCOUNTS_MAX') - 1;
/** Bytes per account of the kernel's bounds region: its bound, failing scopes and short positions. */
const BOUNDS_REGION_BYTES = kernelU32('BOUNDS_REGION_BYTES_PER_ACCOUNT');
/** Where the region's failing-scope bytes start, in bytes per account of the book (a u8 each). */
const BOUNDS_FAILING_AT = kernelU32('BOUNDS_FAILING_AT');
/** Where its least bytes start (assembly/bounds.ts: which positions its least scope holds). */
const BOUNDS_LEAST_AT = kernelU32('BOUNDS_LEAST_AT');
const STEPS_SHIFT = kernelU32('STEPS_SHIFT');
const LEAST_BITS = kernelU32('LEAST_BITS');
const LEAST_CROSS = kernelU32('LEAST_CROSS');
/** The default drainLimit, in fallbackAccounts. */
const DRAIN_FALLBACKS = 8;
/** A step re-evaluates up to fallbackAccounts / DRAIN_STEPS owed accounts besides its own. */
const DRAIN_STEPS = 8;
/**
 * A calm step (no mark moved more than calmMove) evaluates up to CALM_FALLBACKS · fallbackAccounts
 * itself before it sweeps: at most two sweeps' time in one step, and less work in all than a sweep
 * and the owed accounts' evaluations after it (IncrementalOptions.calmAccounts).
 */
const CALM_FALLBACKS = 2;
/** `queued`: an account queued in this step, or owed. */
const QUEUED = 1;
const OWED = 2;

/**
 * Buckets per doubling of the bound: 128 (a bucket spans 0.54% of its bound, so an excursion that
 * reaches a bucket leaves few of its accounts waiting) while the index's bucket table stays small
 * (13 KB an instrument), fewer for books of thousands of instruments.
 */
function bucketsPerOctave(instruments: number): number {
  return instruments <= 1_024 ? 128 : instruments <= 8_192 ? 32 : 8;
}
/** The first bucket holds the least bounds, up to about 2^-24; the last, bounds from 2^2 (a 400% excursion) up. */
const BUCKET_MIN_EXPONENT = kernelU32('BUCKET_MIN_EXPONENT') | 0; // an i32 in the kernel
const BUCKET_MAX_EXPONENT = 2;
/** A mantissa's slice in the kernel's octave table (writeOctaveTable): its top 23 − OCTAVE_SLICE_SHIFT bits. */
const OCTAVE_SLICE_SHIFT = kernelU32('OCTAVE_SLICE_SHIFT');
/** A build's arrays per part of the accounts (src/engine/incremental.ts placeAll): the counts of each cell, and of its entries on each side. */
const ARRAYS_PER_PART = 1 + SIDES;
/** indexCount's and indexPlace's arguments between the book's header and the accounts. */
type CountArgs = [number, number, number, number, number, number, number, number, number, number];
type PlaceArgs = [number, number, number, number, number, number, number, number];
/** Relative margin, against the account, on every float the index compares (far above f64 rounding). */
const MARGIN = 1e-9;
/** Accounts the build admits to the hot book per kernel call. */
const HOT_ADMIT_BATCH = 65_536;
/** An account's version is a u16; the index is rebuilt before one wraps. */
const VERSION_LIMIT = 0xffff;
/**
 * Accounts a step evaluates per kernel call, each slice put back in the index before the next is
 * evaluated: small enough that the slice's columns stay in a core's cache between the two.
 */
const EVALUATE_SLICE = 128;

const f32Scratch = new Float32Array(1);
const f32Bits = new Uint32Array(f32Scratch.buffer);

/**
 * The bound of a position's scope: the f32 with the bits of its account's bound plus the position's
 * steps (assembly/bounds.ts stepsBits), at most that scope's bound.
 */
function stepsBound(bound: number, steps: number): number {
  f32Scratch[0] = bound;
  f32Bits[0] += steps << STEPS_SHIFT;
  return f32Scratch[0];
}

/** Whether position k of an account's block (of `mode`) belongs to its least scope, from its least byte (as assembly/bounds.ts writes it and assembly/hot.ts hotAdmit reads it); false for a least byte of 0. */
function inLeast(least: number, k: number, mode: number): boolean {
  return k < LEAST_BITS ? ((least >> k) & 1) !== 0 : (least & LEAST_CROSS) !== 0 && mode === MODE_CROSS;
}

/** The largest f32 at or below x: a key rounded so that its trigger fires early, never late. */
function f32Down(x: number): number {
  const f = Math.fround(x);
  if (f <= x) return f;
  if (f === 0) return -1.401298464324817e-45; // the f32 just below 0 (x is a tiny negative)
  f32Scratch[0] = f;
  f32Bits[0] += f > 0 ? -1 : 1;
  return f32Scratch[0];
}


export interface IncrementalOptions {
  /**
   * The pool of the engine: a step that falls back sweeps on it, and a build evaluates the accounts
   * on its workers. Without it, both run on this thread.
   */
  pool?: SweepPool;
  /**
   * The full sweep a step falls back on (instead of the pool's or this thread's); returns the
   * liquidatable scopes.
   */
  sweep?: () => number | Promise<number>;
  /**
   * With a pool: a fallback sweep lists the failing scopes, and the step that swept gives them
   * (StepResult.scopes), for a caller that needs the failing accounts after a sweep (the live
   * engine): listed by the workers as they sweep, where finding them afterwards is a pass over the
   * book (20 ms on the 1M-account book). Default false: a crash step of the 10M-account book fails
   * millions of scopes, and a caller that needs only the count should not pay for their list.
   */
  listSweeps?: boolean;
  /**
   * A step that would re-evaluate more accounts than this sweeps instead. Default: measured, the
   * accounts a step re-evaluates in the time of one sweep (the sweep timed once after each build and
   * at every fallback, the cost of an account re-evaluated from the steps, each the median of the
   * recent ones).
   */
  fallbackAccounts?: number;
  /**
   * An account evaluated with a bound below this (relative) goes to the hot book (src/engine/hot-book.ts)
   * rather than getting triggers: any normal tick of its instruments would reach it, and the hot
   * book moves it with every tick at a few nanoseconds a position. Default: 10^-3 (0.1%, the largest
   * normal tick).
   */
  hotBound?: number;
  /**
   * An account admitted to the hot book whose other scopes than its least are healthy, with a bound
   * (the least of their positions' bounds) of at least this, is admitted **in part**: its least scope alone, its
   * other scopes kept by triggers, which take it out of the hot book when they fire, so that the
   * ticks of their instruments do not move them. Default: 3·hotBound. Infinity admits every account whole.
   */
  hotPartBound?: number;
  /**
   * With a pool: a normal tick of an instrument with at least this many records in the hot book (of
   * both kinds) is shared between this thread and a worker, each taking chunks of hotShareChunk
   * records until none is left. Handing a tick to the pool's helper and seeing it done costs about
   * 0.15 ms (SweepPool.hotShare), so only the largest instruments gain. Default: 65,536.
   */
  hotSplit?: number;
  /** The records of one kind a thread takes at a time in a shared tick (hotSplit). Default: 4,096. */
  hotShareChunk?: number;
  /** The index is rebuilt (at the next calm step) once this many accounts are in the hot book. Default: max(4,096, accounts / 8). */
  hotLimit?: number;
  /** Past this many heap entries (12 bytes each), the largest heap is compacted; the index is rebuilt if the heaps are past it still (which also empties the hot book). Default: max(2^16, accounts / 4): about a byte a position at most (and each heap at most a page of 16,384 cells it does not use), so that an index that goes a long time between builds, as with owed accounts, keeps the process within its memory. */
  heapLimit?: number;
  /** A stale index is rebuilt at a step where no mark moved more than this (relative) since the last. Default: 0.005. */
  calmMove?: number;
  /**
   * A step that reaches more than fallbackAccounts accounts sweeps instead; if they are at most this
   * many (with those owed already), it keeps the index: they are **owed**, and the next steps
   * re-evaluate them a few at a time (an eighth of fallbackAccounts a step), each owed account
   * first whenever a step moves one of its instruments or an update changes it. Past it the index
   * goes stale and is rebuilt (a pause of many sweeps on a large book). Default: 8 times
   * fallbackAccounts; fallbackAccounts or less owes none.
   */
  drainLimit?: number;
  /**
   * A calm step (no mark moved more than calmMove since the last step: a normal tick, a funding
   * update, a batch of updates) that reaches more than fallbackAccounts but at most this many
   * evaluates them itself instead of sweeping and owing them. It then costs up to this many
   * accounts' evaluations (two sweeps' time by default) in one step, but leaves none owed: a sweep
   * and then the owed accounts' evaluations over the next steps are the same evaluations and a sweep
   * more, and the steps that drain them are the slow ticks of a live feed (bench/README.md,
   * 2026-12-04, later still). A step that is not calm (a broad move, a crash) sweeps past fallbackAccounts,
   * so that it costs no more than a sweep. Default: 2 times fallbackAccounts; at most fallbackAccounts
   * makes every step sweep past fallbackAccounts.
   */
  calmAccounts?: number;
}

export type StepPath = 'incremental' | 'sweep' | 'build';

export interface StepResult {
  /** How the step was evaluated: re-evaluating the accounts it could reach, a full sweep, or a build of the index. */
  path: StepPath;
  /** Accounts evaluated: those re-evaluated, or every account for a sweep or a build. */
  evaluated: number;
  /** Failing scopes (liquidatable, bankrupt included) in the book after the step. */
  liquidatable: number;
  /** The accounts (ascending) whose statuses the step changed; null after a sweep or a build, when any may have. */
  changed: Uint32Array | null;
  /** Accounts owed after the step: reached by a sweep that did not re-evaluate them, their bounds to re-evaluate at the next steps. */
  owed: number;
  /** After a sweep, with listSweeps: the failing scopes, pairs (account, position slot or SLOT_CROSS) in account order. */
  scopes?: Uint32Array;
}

export class IncrementalEvaluator {
  readonly engine: Engine;
  private readonly sweepFallback: () => number | Promise<number>;
  /** The failing scopes the last fallback sweep listed (listSweeps), or null. */
  private sweptScopes: Uint32Array | null = null;
  private readonly pool: SweepPool | undefined;
  private readonly fixedFallback: number | undefined;
  /** Medians of the recent: a full sweep's time, and a step's time per account it evaluated in full (ms). */
  private readonly sweepTimes = new RecentMedian(7);
  private readonly accountTimes = new RecentMedian(31);
  readonly hotBound: number;
  private readonly hotPartBound: number;
  private readonly hotSplit: number;
  private readonly hotShareChunk: number;
  readonly hotLimit: number;
  readonly heapLimit: number;
  readonly calmMove: number;
  private readonly fixedDrainLimit: number | undefined;
  private readonly fixedCalmAccounts: number | undefined;
  /** Whether the step advance() took last was calm: every mark that moved within calmMove of the last step's (the others are). */
  private stepCalm = true;

  private state: 'unbuilt' | 'built' | 'stale' = 'unbuilt';
  /** Why the index went stale (for the step's result and the docs' measurements). */
  private staleReason = '';
  private liquidatableCount = 0;
  /** Per instrument: the build's mark, the farthest the mark has been from it, the funding moves since (price units), q·(1 + r_max). */
  private readonly reference: Float64Array;
  /** Per instrument and side: the farthest the mark has been from the build's, below it (SIDE_DOWN) and above it (SIDE_UP). */
  private readonly priceExcursion: Float64Array;
  private readonly fundingMoves: Float64Array;
  private readonly weight: Float64Array;
  /** Per instrument: the mark and funding index at the last step, and the mark as a float. */
  private readonly lastMark: BigInt64Array;
  private readonly markFloat: Float64Array;
  private readonly lastFunding: BigInt64Array;
  /** Buckets per octave, buckets, and the least bound each bucket may hold (a little less: the index's margin). */
  private readonly perOctave: number;
  /** The kernel's table for a bound's bucket within its octave (writeOctaveTable), written once. */
  private readonly octave: number;
  private readonly buckets: number;
  private readonly bucketLow: Float64Array;
  /** The build's index: per instrument and bucket, the range of `entries` holding its accounts (each tagged with its sides); per instrument and side the next bucket to take. */
  private bucketStart = new Uint32Array(0);
  /** Each part's fill in the build's second pass (placeAll), kept for the next build. */
  private fills: Uint32Array[] = [];
  private entries = new Uint32Array(0);
  /**
   * Per side, like bucketStart: the build's entries on that side in the cells before each (a cell
   * is an instrument's bucket), so that a step counts the entries its excursions reach in
   * O(buckets) instead of reading them (collect's estimate).
   */
  private sideStart: Uint32Array[] = [];
  private readonly cursor: Int32Array;
  /** Per instrument: accounts of buckets taken whose build bound the excursion has not reached yet, by bound. */
  private readonly waiting: BoundHeap[];
  /** Per instrument: re-evaluated accounts' triggers, below the mark (keys negated: a max-heap) and above it. */
  private readonly below: BoundHeap[];
  private readonly above: BoundHeap[];
  private readonly hot: HotBook;
  /** Per account: the version of its bound (0 = the build's), and whether it is queued in this step (QUEUED) or owed (OWED). */
  private readonly versions: Uint16Array;
  private readonly queued: Uint8Array;
  private queue = new Uint32Array(1024);
  /** A slice's accounts for the hot book, and where each one's detail starts (reindex). */
  private admitList = new Uint32Array(EVALUATE_SLICE);
  private admitAt = new Uint32Array(EVALUATE_SLICE);
  private admitLeasts = new Uint8Array(EVALUATE_SLICE);
  private sizeWords: Int32Array<ArrayBufferLike> = new Int32Array(0);
  /** The pages the heaps give back at a build or a compaction, and take as they grow (HeapPages). */
  private readonly heapPages = new HeapPages();
  /** Accounts in the hot book in part that a trigger of their other scopes took out (hotInPart). */
  private hotTakenOut = 0;
  /** A bit per account admitted to the hot book in part since it was last taken out by leaveHot (or taken out otherwise). */
  private inPart: Uint32Array;
  private queueSize = 0;
  /**
   * Accounts owed (`queued` OWED): reached by a step that swept instead of evaluating them, their
   * bounds to re-evaluate. `owedList` holds them, and entries of accounts since evaluated (skipped).
   */
  private owedList: Uint32Array = new Uint32Array(1024);
  private owedSize = 0;
  private owed = 0;
  /** Per instrument, the owed accounts holding it (with entries of accounts no longer owed, skipped), so that a move finds its own. */
  private owedBy: Uint32Array[] = [];
  private readonly owedByCount: Int32Array;
  private owedByEntries = 0;
  /** The entries the lists kept when they were last cleared of accounts no longer owed. */
  private owedByKept = 0;
  private readonly unsubscribe: () => void;
  private compactions = 0;

  constructor(engine: Engine, options: IncrementalOptions = {}) {
    checkOption(options.fallbackAccounts, 'fallbackAccounts', 'an integer of at least 1', (x) => Number.isInteger(x) && x >= 1);
    checkOption(options.hotBound, 'hotBound', 'a number from 0 to 1', (x) => x >= 0 && x <= 1);
    checkOption(options.hotPartBound, 'hotPartBound', 'a number of at least 0, or Infinity', (x) => x >= 0);
    checkOption(options.hotSplit, 'hotSplit', 'an integer of at least 1', (x) => Number.isInteger(x) && x >= 1);
    checkOption(options.hotShareChunk, 'hotShareChunk', 'an integer from 1 to 2^31', (x) => Number.isInteger(x) && x >= 1 && x <= 2 ** 31);
    checkOption(options.hotLimit, 'hotLimit', 'an integer of at least 0', (x) => Number.isInteger(x) && x >= 0);
    checkOption(options.heapLimit, 'heapLimit', 'an integer of at least 1', (x) => Number.isInteger(x) && x >= 1);
    checkOption(options.calmMove, 'calmMove', 'a number from 0 to 1', (x) => x >= 0 && x <= 1);
    checkOption(options.drainLimit, 'drainLimit', 'an integer of at least 1', (x) => Number.isInteger(x) && x >= 1);
    checkOption(options.calmAccounts, 'calmAccounts', 'an integer of at least 1', (x) => Number.isInteger(x) && x >= 1);
    if (options.pool !== undefined && options.sweep !== undefined) throw new RangeError('IncrementalEvaluator: give a pool or a sweep, not both');
    this.engine = engine;
    const pool = options.pool;
    this.pool = pool;
    const list = options.listSweeps === true;
    this.sweepFallback =
      options.sweep ??
      (pool !== undefined
        ? async () => {
            const result = await pool.sweep({ list });
            if (list && result.complete) this.sweptScopes = result.scopes;
            return result.liquidatable;
          }
        : () => engine.sweep({ full: false }));
    this.fixedFallback = options.fallbackAccounts;
    this.hotBound = options.hotBound ?? 1e-3;
    this.hotPartBound = options.hotPartBound ?? HOT_PART_DEFAULT * this.hotBound;
    this.hotSplit = options.hotSplit ?? HOT_SPLIT_DEFAULT;
    this.hotShareChunk = options.hotShareChunk ?? HOT_SHARE_CHUNK_DEFAULT;
    this.hotLimit = options.hotLimit ?? Math.max(4_096, Math.floor(engine.accountCount / 8));
    this.heapLimit = options.heapLimit ?? Math.max(1 << 16, Math.floor(engine.accountCount / 4));
    this.calmMove = options.calmMove ?? 0.005;
    this.fixedDrainLimit = options.drainLimit;
    this.fixedCalmAccounts = options.calmAccounts;
    const instruments = engine.instruments.length;
    this.reference = new Float64Array(instruments);
    this.priceExcursion = new Float64Array(instruments * SIDES);
    this.fundingMoves = new Float64Array(instruments);
    this.weight = new Float64Array(instruments);
    this.lastMark = new BigInt64Array(instruments);
    this.markFloat = new Float64Array(instruments);
    this.lastFunding = new BigInt64Array(instruments);
    this.cursor = new Int32Array(instruments * SIDES);
    this.perOctave = bucketsPerOctave(instruments);
    this.buckets = (BUCKET_MAX_EXPONENT - BUCKET_MIN_EXPONENT) * this.perOctave + 1;
    this.bucketLow = new Float64Array(this.buckets);
    for (let b = 1; b < this.buckets; b++) this.bucketLow[b] = 2 ** (BUCKET_MIN_EXPONENT + b / this.perOctave) * (1 - MARGIN);
    this.octave = this.writeOctaveTable();
    this.waiting = Array.from({ length: instruments * SIDES }, () => new BoundHeap(this.heapPages));
    this.below = Array.from({ length: instruments }, () => new BoundHeap(this.heapPages));
    this.above = Array.from({ length: instruments }, () => new BoundHeap(this.heapPages));
    this.hot = new HotBook(engine, this.weight);
    this.versions = new Uint16Array(engine.accountCount);
    this.queued = new Uint8Array(engine.accountCount);
    this.inPart = new Uint32Array(Math.ceil(engine.accountCount / 32));
    this.owedBy = Array.from({ length: instruments }, () => new Uint32Array(16));
    this.owedByCount = new Int32Array(instruments);
    this.unsubscribe = engine.onChange((accounts, count, tiers, credited) => this.changed(accounts, count, tiers, credited === true));
  }

  /** Stops listening to the engine's changes. */
  close(): void {
    this.unsubscribe();
  }

  /** Accounts above which a step sweeps instead: the option, or the measured break-even (at least 256). */
  get fallbackAccounts(): number {
    if (this.fixedFallback !== undefined) return this.fixedFallback;
    const sweepMs = this.sweepTimes.value;
    const accountMs = this.accountTimes.value;
    if (!(sweepMs > 0 && accountMs > 0)) return Math.max(256, Math.floor(this.engine.accountCount / 24));
    return Math.max(256, Math.floor(sweepMs / accountMs));
  }

  /** Accounts above which a step that reached them lets the index go stale instead of owing them (drainLimit). */
  get drainLimit(): number {
    return this.fixedDrainLimit ?? DRAIN_FALLBACKS * this.fallbackAccounts;
  }

  /** Accounts a calm step evaluates itself before it sweeps (calmAccounts): at least fallbackAccounts. */
  get calmAccounts(): number {
    return Math.max(this.fallbackAccounts, this.fixedCalmAccounts ?? CALM_FALLBACKS * this.fallbackAccounts);
  }

  /** Accounts owed: reached by a step that swept, not re-evaluated yet. */
  get owedAccounts(): number {
    return this.owed;
  }

  /** Compactions of the heaps since the evaluator was made (past heapLimit entries): for reports and tests. */
  get heapCompactions(): number {
    return this.compactions;
  }

  /** Accounts in the hot book. */
  get hotAccounts(): number {
    return this.hot.size;
  }

  /**
   * Accounts admitted to the hot book in part (their least scope alone, the others kept by
   * triggers) since the evaluator was made, and those a trigger of their other scopes took out.
   */
  get hotInPart(): { admitted: number; takenOut: number } {
    return { admitted: this.hot.admittedInPart, takenOut: this.hotTakenOut };
  }

  /** Failing scopes in the book as of the last step. */
  get liquidatable(): number {
    return this.liquidatableCount;
  }

  /** Whether the next step can be incremental (the index is built and not stale). */
  get ready(): boolean {
    return this.state === 'built';
  }

  /** Why the index is stale ('' when it is not): a fallback sweep, hot accounts, heap entries, versions, a refresh of the book. */
  get stale(): string {
    return this.state === 'stale' ? this.staleReason : '';
  }

  /**
   * Bytes the index holds: per account its bound, failing scopes, short positions, least scope,
   * version, flag and in-part bit; per position in use its steps; the build's entries; heaps; the hot book.
   */
  get memoryBytes(): number {
    let bytes = this.engine.accountCount * BOUNDS_REGION_BYTES + this.versions.byteLength + this.queued.byteLength + this.inPart.byteLength + this.queue.byteLength + this.owedList.byteLength;
    bytes += this.engine.positionsUsed; // the steps of the slots in use (their region is the arena's size, touched only there)
    for (const list of this.owedBy) bytes += list.byteLength;
    bytes += this.entries.byteLength + this.bucketStart.byteLength;
    for (const counts of this.sideStart) bytes += counts.byteLength;
    for (const heap of [...this.waiting, ...this.below, ...this.above]) bytes += heap.bytes;
    bytes += this.heapPages.bytes;
    bytes += this.hot.memoryBytes;
    return bytes;
  }

  /**
   * Evaluates what changed since the last step (marks, funding indices and the accounts updates
   * changed), leaving every scope's status in memory exact, and says how.
   */
  async step(): Promise<StepResult> {
    this.engine.assertWritable('an incremental step');
    if (this.state !== 'built') {
      if (this.state !== 'unbuilt' && !this.calm()) return this.sweep();
      const start = performance.now();
      const result = await this.build();
      // The break-even needs a sweep's time: once, one sweep of the book just built (its statuses
      // stand; later builds follow a fallback sweep, which is timed); until steps measure it, an
      // account re-evaluated is taken at 4 times its share of the build.
      if (this.fixedFallback === undefined) {
        if (this.accountTimes.empty) this.accountTimes.add((4 * (performance.now() - start)) / Math.max(1, this.engine.accountCount));
        if (this.sweepTimes.empty) await this.timedSweep();
      }
      return result;
    }
    const fundingMoved: number[] = [];
    const changedInstruments = this.advance(fundingMoved);
    const calm = this.stepCalm;
    // Accounts that updates changed leave the hot book (its records no longer describe them), and
    // so do those holding an instrument whose funding index moved (their equity moved with it):
    // they are evaluated again in full.
    const failing = this.failingOffset();
    for (let k = 0; k < this.queueSize; k++) this.hot.remove(this.queue[k], failing);
    for (const i of fundingMoved) {
      this.hot.forEachAccountOn(i, (a) => {
        this.hot.remove(a, failing);
        this.enqueue(a);
      });
    }
    // Owed accounts holding an instrument that moved are evaluated now (their statuses may change).
    const owedBefore = this.owed > 0;
    this.promoteOwed(changedInstruments);
    const fallback = this.fallbackAccounts;
    if (this.collect(changedInstruments, Math.max(fallback, this.drainLimit) - this.owed) === null) {
      this.clearQueue();
      return this.sweep();
    }
    // The hot book moves with every tick: every instrument first, then the statuses (in one pass
    // when one instrument moved, as a normal tick does).
    let hot: HotTick;
    if (changedInstruments.length === 1) {
      const i = changedInstruments[0];
      const pool = this.pool;
      if (pool !== undefined && this.hot.splits(i, this.hotSplit)) {
        try {
          hot = await this.hot.tickSplit(i, this.hotShareChunk, (share, own) => pool.hotShare(share, own));
        } catch (error) {
          // The worker died with its chunks half moved: a sweep makes every status exact, and the
          // index is built again (and the hot book with it) at the next calm step.
          this.clearQueue();
          const swept = await this.sweep();
          this.staleReason = `a worker of the hot book's tick failed: ${(error as Error).message}`;
          return swept;
        }
      } else hot = this.hot.tick(i);
    }
    else {
      hot = { changed: [], failing: 0 };
      for (const i of changedInstruments) this.hot.move(i, hot);
      this.hot.settle(changedInstruments, hot);
    }
    if (this.queueSize > (calm ? this.calmAccounts : fallback)) return this.sweepOwing(owedBefore ? fallback : 0);
    // A few owed accounts too, the step's own first: at most an eighth of the fallback's worth.
    if (this.owed > 0) this.takeOwed(Math.min(Math.max(1, Math.ceil(fallback / DRAIN_STEPS)), Math.max(0, fallback - this.queueSize)));
    return this.evaluateQueued(hot.changed, hot.failing);
  }

  /**
   * A step that reached more accounts than fallbackAccounts, and at most drainLimit with those owed
   * already: a full sweep makes every status exact, and the accounts it reached join the owed
   * (their failing-scope bytes made the sweep's). The index stays built: the next steps re-evaluate
   * them a few at a time, and any of them first that a step's move or an update reaches. Statuses
   * are exact after each step: an owed account's stands until one of its instruments moves or an
   * update changes it, and then it is evaluated (or the step sweeps). A step that found accounts
   * owed already also re-evaluates `evaluate` of those it reached after its sweep (the fallback's
   * worth: about a sweep's time), so that moves reaching many owed accounts step after step still
   * clear them; the first such step costs a sweep, as a fallback does.
   */
  private async sweepOwing(evaluate: number): Promise<StepResult> {
    this.liquidatableCount = await this.timedSweep();
    this.leaveHot();
    const count = this.queueSize;
    this.sortQueue();
    const evaluated = Math.min(count, evaluate);
    for (let k = evaluated; k < count; k++) this.owe(this.queue[k]);
    this.queueSize = evaluated;
    this.syncFailing(); // before the evaluations, whose failing counts start from the sweep's
    for (let from = 0; from < evaluated; from += EVALUATE_SLICE) {
      const to = Math.min(evaluated, from + EVALUATE_SLICE);
      this.reindex(this.evaluateList(from, to).detail, from, to);
    }
    this.clearQueue();
    this.tidy();
    return this.swept({ path: 'sweep', evaluated: this.engine.accountCount, liquidatable: this.liquidatableCount, changed: null, owed: this.owed });
  }

  /**
   * Takes the queued accounts that are in the hot book out of it (their failing-scope bytes from
   * its records), before they are evaluated or owed: accounts admitted in part, queued by a trigger
   * of their other scopes after the step's tick moved their least scope. (An update or a funding
   * move takes an account out before anything else in the step.)
   */
  private leaveHot(): void {
    if (this.hot.admittedInPart === 0) return;
    const failing = this.failingOffset();
    for (let k = 0; k < this.queueSize; k++) {
      const a = this.queue[k];
      const bit = 1 << (a & 31);
      if ((this.inPart[a >>> 5] & bit) === 0) continue; // only an account in part can have a trigger and be hot
      this.inPart[a >>> 5] &= ~bit;
      if (!this.hot.has(a)) continue;
      this.hot.remove(a, failing);
      this.hotTakenOut++;
    }
  }

  /** Account a (queued) is owed instead: listed, and listed under each instrument it holds. */
  private owe(a: number): void {
    this.queued[a] = OWED;
    this.owedList = pushed(this.owedList, this.owedSize++, a);
    this.owed++;
    this.listOwedBy(a);
  }

  private listOwedBy(a: number): void {
    const v = this.engine.views;
    const first = v.accPosStart[a];
    const end = first + v.accPosCount[a];
    for (let j = first; j < end; j++) {
      if (!firstOfInstrument(v.posInst, first, j)) continue;
      const i = v.posInst[j];
      this.owedBy[i] = pushed(this.owedBy[i], this.owedByCount[i]++, a);
      this.owedByEntries++;
    }
  }

  /**
   * Queues the owed accounts holding any of `instruments` (their lists are emptied). Once the lists
   * hold mostly accounts no longer owed, and twice the entries they kept the last time, each keeps
   * only its owed accounts' entries, in place: a byte read an entry. (Listing the owed again from
   * the columns read each one's positions, several misses an account: 0.6 s in 1,000 normal ticks
   * of the 10M-account book, up to 58 ms in one, as the owed drained and the lists were listed
   * again at each quarter.) An owed account's positions do not change while it is owed (an update
   * queues it), so its entries stand; one owed again later may be listed twice, which queues it once.
   */
  private promoteOwed(instruments: number[]): void {
    if (this.owed === 0) return;
    for (const i of instruments) {
      const list = this.owedBy[i];
      for (let k = 0; k < this.owedByCount[i]; k++) if (this.queued[list[k]] === OWED) this.enqueue(list[k]);
      this.owedByEntries -= this.owedByCount[i];
      this.owedByCount[i] = 0;
    }
    if (this.owedByEntries <= Math.max(4 * (this.owed + 1_024), 2 * this.owedByKept)) return;
    let kept = 0;
    for (let k = 0; k < this.owedSize; k++) if (this.queued[this.owedList[k]] === OWED) this.owedList[kept++] = this.owedList[k];
    this.owedSize = kept;
    this.owedByEntries = 0;
    for (let i = 0; i < this.owedBy.length; i++) {
      const list = this.owedBy[i];
      let count = 0;
      for (let k = 0; k < this.owedByCount[i]; k++) if (this.queued[list[k]] === OWED) list[count++] = list[k];
      this.owedByCount[i] = count;
      this.owedByEntries += count;
    }
    this.owedByKept = this.owedByEntries;
  }

  /** Queues up to `count` owed accounts (the last listed first). */
  private takeOwed(count: number): void {
    let taken = 0;
    while (taken < count && this.owedSize > 0) {
      const a = this.owedList[--this.owedSize];
      if (this.queued[a] !== OWED) continue;
      this.enqueue(a);
      taken++;
    }
  }

  /** Forgets every owed account: the index is going to be rebuilt. */
  private clearOwed(): void {
    for (let k = 0; k < this.owedSize; k++) if (this.queued[this.owedList[k]] === OWED) this.queued[this.owedList[k]] = 0;
    this.owedSize = 0;
    this.owed = 0;
    this.owedByCount.fill(0);
    this.owedByEntries = 0;
    this.owedByKept = 0;
  }

  /**
   * Writes each owed and queued account's failing scopes (the kernel's byte in the bounds region,
   * which its evaluation compares with) from the statuses a sweep just wrote: the cross status and
   * those of its isolated positions, as the kernel counts them. Its evaluation then finds the count
   * the sweep's total holds.
   */
  private syncFailing(): void {
    const v = this.engine.views;
    const failing = new Uint8Array(this.engine.memory.buffer, this.failingOffset(), this.engine.accountCount);
    const sync = (a: number) => {
      let count = v.accStatus[a] !== 0 ? 1 : 0;
      const first = v.accPosStart[a];
      for (let j = first; j < first + v.accPosCount[a]; j++) if (v.posMode[j] !== MODE_CROSS && v.posStatus[j] !== 0) count++;
      failing[a] = count;
    };
    for (let k = 0; k < this.owedSize; k++) if (this.queued[this.owedList[k]] === OWED) sync(this.owedList[k]);
    for (let k = 0; k < this.queueSize; k++) sync(this.queue[k]);
  }

  private changed(accounts: ArrayLike<number> | null, count: number, tiers: readonly number[] | undefined, credited: boolean): void {
    if (this.state !== 'built') return;
    if (credited && accounts !== null) {
      for (let k = 0; k < count; k++) if (!this.creditKeeps(accounts[k])) this.enqueue(accounts[k]);
      return;
    }
    if (accounts === null && tiers !== undefined) {
      this.tiersChanged(tiers);
      return;
    }
    if (accounts === null) {
      // A refresh of a range (a load, a re-layout, Engine.evaluate): the next step starts over.
      this.markStale('a refresh of the book');
      this.clearQueue();
      return;
    }
    for (let k = 0; k < count; k++) this.enqueue(accounts[k]);
  }

  /**
   * Whether a deposit into account a leaves what the index keeps of it true, so that a is not
   * evaluated again for it. A deposit raises the cross equity at every mark and changes nothing
   * else (ChangeListener's `credited`): a cross pool healthy at the last evaluation stays healthy
   * (its maintenance is the same; the isolated scopes are untouched), and the bound of that
   * evaluation, made from less equity, still holds (a bound only grows with equity): its build entry
   * or triggers fire no later than a bound made now would, and then a is evaluated (an owed
   * account, when a step moves one of its instruments, as before). Not kept: an account whose
   * cross pool is failing (the deposit may make it healthy) and one in the hot book (its records
   * hold the equity before).
   */
  private creditKeeps(a: number): boolean {
    return this.engine.views.accStatus[a] === STATUS_HEALTHY && !this.hot.has(a);
  }

  /**
   * New tier tables of `instruments` (Engine.tiersChanged): their weights are taken from the new
   * tables at once (nothing is evaluated before the next step), and the accounts holding them are
   * queued, to be re-evaluated by that step with bounds from those weights. The index finds them
   * itself, in what it keeps per instrument (queueHolders), with no walk over the book.
   * When they are more than a step re-evaluates (the drain limit, past which a step that swept
   * leaves the index stale anyway), the index goes stale instead: judged first from the build's
   * entries for the instruments, so that a large instrument costs nothing, then from the accounts
   * queued.
   */
  private tiersChanged(instruments: readonly number[]): void {
    const limit = this.drainLimit;
    let built = 0;
    for (const i of instruments) built += this.bucketStart[(i + 1) * this.buckets] - this.bucketStart[i * this.buckets];
    const before = this.queueSize;
    if (built > limit || this.queueHolders(instruments) - before > limit) {
      this.markStale('a new tier table');
      this.clearQueue();
      return;
    }
    for (const i of instruments) this.takeTable(i);
  }

  /**
   * Queues every account holding any of `instruments` whose next evaluation is not queued already;
   * returns the queue's size. Each such account is in one of the places the index keeps per
   * instrument, and each place is read for the instruments alone (about as many entries as the
   * instruments' holders: an alt's tier table took 212–304 ms with a walk over every account's
   * block of the 10M-account book, bench/README.md):
   * - not evaluated since the build (version 0): its build entry (the build placed every account
   *   outside the hot book once per instrument it holds, and its positions are those of the build,
   *   or an update would have queued it);
   * - evaluated since, with a bound: its triggers of the evaluation (version) it is at, on one side
   *   or both, for every instrument it holds (a trigger taken queues the account);
   * - in the hot book: a live record or solo record on the instrument;
   * - owed: listed under every instrument it holds (promoteOwed).
   * An account evaluated since with no bound has no positions.
   */
  private queueHolders(instruments: readonly number[]): number {
    const queueCurrent = (a: number, version: number) => {
      if (this.versions[a] === version) this.enqueue(a);
    };
    for (const i of instruments) {
      const end = this.bucketStart[(i + 1) * this.buckets];
      for (let k = this.bucketStart[i * this.buckets]; k < end; k++) queueCurrent(this.entries[k] & ACCOUNT_MASK, 0);
      this.below[i].forEach(queueCurrent);
      this.above[i].forEach(queueCurrent);
      this.hot.forEachAccountOn(i, (a) => this.enqueue(a));
      const owedBy = this.owedBy[i];
      for (let k = 0; k < this.owedByCount[i]; k++) if (this.queued[owedBy[k]] === OWED) this.enqueue(owedBy[k]);
    }
    return this.queueSize;
  }

  private enqueue(a: number): void {
    const was = this.queued[a];
    if (was === QUEUED) return;
    if (was === OWED) this.owed--; // evaluated in this step (its entry in owedList is skipped)
    this.queued[a] = QUEUED;
    if (this.queueSize === this.queue.length) {
      const grown = new Uint32Array(this.queue.length * 2);
      grown.set(this.queue);
      this.queue = grown;
    }
    this.queue[this.queueSize++] = a;
  }

  private clearQueue(): void {
    for (let k = 0; k < this.queueSize; k++) this.queued[this.queue[k]] = 0;
    this.queueSize = 0;
  }

  /** Whether every mark is within calmMove of the last step's. */
  private calm(): boolean {
    const marks = this.engine.views.instMark;
    for (let i = 0; i < this.lastMark.length; i++) if (!this.calmMark(i, marks[i])) return false;
    return true;
  }

  /** Whether instrument i's mark `mark` is within calmMove of the last step's. */
  private calmMark(i: number, mark: bigint): boolean {
    const last = Number(this.lastMark[i]);
    return Math.abs(Number(mark) - last) <= this.calmMove * last;
  }

  private remember(): void {
    const v = this.engine.views;
    this.lastMark.set(v.instMark.subarray(0, this.lastMark.length));
    this.lastFunding.set(v.instFunding.subarray(0, this.lastFunding.length));
    for (let i = 0; i < this.markFloat.length; i++) this.markFloat[i] = Number(this.lastMark[i]);
  }

  /** A full sweep, timed into the running average; returns the liquidatable scopes. */
  private async timedSweep(): Promise<number> {
    this.sweptScopes = null;
    const start = performance.now();
    const liquidatable = await this.sweepFallback();
    this.sweepTimes.add(performance.now() - start);
    return liquidatable;
  }

  /** A full sweep: every status exact, the index stale. */
  private async sweep(): Promise<StepResult> {
    this.liquidatableCount = await this.timedSweep();
    this.markStale('a fallback sweep');
    this.remember();
    return this.swept({ path: 'sweep', evaluated: this.engine.accountCount, liquidatable: this.liquidatableCount, changed: null, owed: 0 });
  }

  /** A sweep step's result, with the scopes the sweep listed (listSweeps). */
  private swept(result: StepResult): StepResult {
    if (this.sweptScopes !== null) result.scopes = this.sweptScopes;
    return result;
  }

  /** Evaluates every account and builds the index against the marks as they stand. */
  private async build(): Promise<StepResult> {
    const engine = this.engine;
    const v = engine.views;
    this.remember();
    const instruments = this.reference.length;
    for (let i = 0; i < instruments; i++) {
      this.reference[i] = Number(v.instMark[i]);
      this.takeTable(i);
    }
    this.priceExcursion.fill(0);
    this.fundingMoves.fill(0);
    this.cursor.fill(0);
    for (const heap of [...this.waiting, ...this.below, ...this.above]) heap.clear(); // their pages back to heapPages, for the heaps of this build
    this.hot.clear();
    this.inPart.fill(0);
    this.versions.fill(0);
    this.clearQueue();
    this.clearOwed();
    const accounts = engine.accountCount;
    this.liquidatableCount =
      this.pool !== undefined
        ? await this.pool.boundRange(this.writeTable(), this.boundsOffset(), this.stepsOffset())
        : engine.core.boundAccountRange(engine.layout.header, engine.shardRecord(), 0, accounts, this.writeTable(), this.boundsOffset(), this.stepsOffset());

    const placed = await this.placeAll();
    // The hot book takes its accounts from an evaluation that gives each position's maintenance.
    for (let k = 0; k < placed.length; k += HOT_ADMIT_BATCH) {
      const batch = placed.subarray(k, k + HOT_ADMIT_BATCH);
      for (const a of batch) this.enqueue(a); // ascending: indexCount lists them in account order
      const { detail } = this.evaluateList(0, this.queueSize);
      const at = new Uint32Array(batch.length);
      for (let j = 1; j < batch.length; j++) at[j] = at[j - 1] + v.accPosCount[batch[j - 1]];
      this.hot.admit(batch, at, batch.length, detail);
      this.clearQueue();
    }
    this.state = 'built';
    return { path: 'build', evaluated: accounts, liquidatable: this.liquidatableCount, changed: null, owed: 0 };
  }

  /**
   * The index, in the kernel (indexCount, indexPlace): each (instrument, bucket)'s accounts counted,
   * with those on each side, then each account placed once per instrument it holds, tagged with the
   * sides a move of it could fail it on. With the pool, each worker takes a part of the accounts in
   * both passes (each part its own counts, then its own fill: where its entries of each cell start,
   * after the parts before it), so that the entries are those one pass over every account places.
   * Returns the accounts below hotBound, ascending, for the hot book.
   */
  private async placeAll(): Promise<Uint32Array> {
    const engine = this.engine;
    const accounts = engine.accountCount;
    const pool = this.pool;
    const parts = pool?.parts ?? 1;
    const partStart = (t: number) => (pool === undefined ? (t === 0 ? 0 : accounts) : pool.partStart(t));
    const cells = this.reference.length * this.buckets + 1;
    // Per part: its counts of each cell, then of each cell's entries on each side (at the cell's index + 1).
    const countsOffset = engine.region('incremental.buckets', parts * ARRAYS_PER_PART * cells * 4);
    const part = (t: number, array: number) => countsOffset + (t * ARRAYS_PER_PART + array) * cells * 4;
    const hotOffset = engine.region('incremental.hot', accounts * 4); // part t lists its hot accounts from its first account's word
    const bounds = this.boundsOffset();
    const steps = this.stepsOffset();
    const head = (t: number) => [bounds, steps, this.hotBound, this.perOctave, this.buckets, this.octave, part(t, 0)];
    const countArgs = (t: number) => [...head(t), part(t, 1 + SIDE_DOWN), part(t, 1 + SIDE_UP), hotOffset + partStart(t) * 4];
    const zero = (t: number) => new Uint32Array(engine.memory.buffer, part(t, 0), ARRAYS_PER_PART * cells).fill(0);
    const hotCounts =
      pool !== undefined
        ? await pool.indexPass('count', countArgs, zero)
        : [(zero(0), engine.core.indexCount(engine.layout.header, ...(countArgs(0) as CountArgs), 0, accounts))];

    // Each cell's start (the parts' counts summed, then their prefix sums), each part's fill, and
    // the entries on each side before each cell.
    const buffer = engine.memory.buffer;
    const counts = Array.from({ length: parts }, (_, t) => new Uint32Array(buffer, part(t, 0), cells));
    // The arrays of the build before, reused (a build of the 10M-account book's index made 4 MB of
    // them, which a run of rebuilds left for the collector: bench/README.md, 2026-12-05, later).
    const start = this.bucketStart.length === cells ? this.bucketStart.fill(0) : new Uint32Array(cells);
    if (this.sideStart.length !== SIDES || this.sideStart[0].length < cells) this.sideStart = Array.from({ length: SIDES }, () => new Uint32Array(cells));
    const down = this.sideStart[SIDE_DOWN];
    const up = this.sideStart[SIDE_UP];
    down.fill(0, 0, cells);
    up.fill(0, 0, cells);
    for (let t = 0; t < parts; t++) {
      const own = counts[t];
      const ownDown = new Uint32Array(buffer, part(t, 1 + SIDE_DOWN), cells);
      const ownUp = new Uint32Array(buffer, part(t, 1 + SIDE_UP), cells);
      for (let c = 1; c < cells; c++) {
        start[c] += own[c];
        down[c] += ownDown[c];
        up[c] += ownUp[c];
      }
    }
    for (let c = 1; c < cells; c++) {
      start[c] += start[c - 1];
      down[c] += down[c - 1];
      up[c] += up[c - 1];
    }
    if (this.fills.length !== parts || this.fills[0].length !== cells) this.fills = Array.from({ length: parts }, () => new Uint32Array(cells));
    const fills = this.fills;
    for (const own of fills) own[cells - 1] = 0;
    for (let c = 0; c < cells - 1; c++) {
      let at = start[c];
      for (let t = 0; t < parts; t++) {
        fills[t][c] = at;
        at += counts[t][c + 1];
      }
    }
    // Room for an entry per position slot the arena has: every build fits in the same region.
    const entriesOffset = engine.region('incremental.entries', Math.max(start[cells - 1], engine.layout.capacity.positions) * 4);
    const placeArgs = (t: number) => [...head(t), entriesOffset];
    const fill = (t: number) => new Uint32Array(engine.memory.buffer, part(t, 0), cells).set(fills[t]);
    if (pool !== undefined) await pool.indexPass('place', placeArgs, fill);
    else {
      fill(0);
      engine.core.indexPlace(engine.layout.header, ...(placeArgs(0) as PlaceArgs), 0, accounts);
    }
    this.bucketStart = start;
    this.entries = new Uint32Array(engine.memory.buffer, entriesOffset, start[cells - 1]);

    // The parts' hot accounts, one list in account order.
    const hot = new Uint32Array(hotCounts.reduce((sum, n) => sum + n, 0));
    let at = 0;
    for (let t = 0; t < parts; t++) {
      hot.set(new Uint32Array(engine.memory.buffer, hotOffset + partStart(t) * 4, hotCounts[t]), at);
      at += hotCounts[t];
    }
    return hot;
  }

  /**
   * Moves the excursions and funding moves to the marks and funding indices as they stand; returns
   * the instruments that changed, and lists in `fundingMoved` those whose funding index did;
   * `stepCalm` says whether every mark that moved stayed within calmMove of the last step's.
   */
  private advance(fundingMoved: number[]): number[] {
    const v = this.engine.views;
    const changed: number[] = [];
    this.stepCalm = true;
    for (let i = 0; i < this.reference.length; i++) {
      const mark = v.instMark[i];
      const funding = v.instFunding[i];
      if (mark === this.lastMark[i] && funding === this.lastFunding[i]) continue;
      changed.push(i);
      if (!this.calmMark(i, mark)) this.stepCalm = false;
      const distance = Number(mark) - this.reference[i];
      const side = i * SIDES + (distance < 0 ? SIDE_DOWN : SIDE_UP);
      if (Math.abs(distance) > this.priceExcursion[side]) this.priceExcursion[side] = Math.abs(distance);
      if (funding !== this.lastFunding[i]) {
        fundingMoved.push(i);
        const move = funding > this.lastFunding[i] ? funding - this.lastFunding[i] : this.lastFunding[i] - funding;
        // In price units: a move ΔF moves the owed amount as a price move of ΔF·d / 10^6 moves the
        // value (the index of an instrument finer than a micro has log10 d fewer decimals, docs/numbers.md).
        this.fundingMoves[i] += ((Number(move) * Number(this.engine.views.instDiv[i])) / Number(FUNDING_EXTRA_SCALE)) * (1 + MARGIN);
      }
    }
    this.remember();
    return changed;
  }

  /**
   * Instrument i's excursion on a side (SIDE_DOWN, SIDE_UP) relative to the build's mark, plus its
   * funding moves (either way: one side's positions owe more as the index moves), rounded up.
   */
  private excursion(i: number, side: number): number {
    return ((this.priceExcursion[i * SIDES + side] + this.fundingMoves[i]) / this.reference[i]) * (1 + MARGIN);
  }

  /**
   * Queues every account the changed instruments reach (the hot book's aside): the accounts whose
   * build bounds their excursions reached, and the triggers their marks crossed (with those owed
   * already). Returns null, with the queue abandoned, when that is more than `limit` (the buckets'
   * entries are counted before any is taken, reachedEntries, so a crash falls back at once).
   */
  private collect(changedInstruments: number[], limit: number): number | null {
    if (this.queueSize + this.reachedEntries(changedInstruments) > limit) return null;
    const bounds = this.bounds();
    for (const i of changedInstruments) {
      for (let side = 0; side < SIDES; side++) {
        const e = this.excursion(i, side);
        const at = i * SIDES + side;
        const base = i * this.buckets;
        const bit = 1 << (SIDE_SHIFT + side);
        const waiting = this.waiting[at];
        while (this.cursor[at] < this.buckets && this.bucketLow[this.cursor[at]] <= e) {
          const b = this.cursor[at]++;
          const end = this.bucketStart[base + b + 1];
          for (let k = this.bucketStart[base + b]; k < end; k++) {
            const entry = this.entries[k];
            if ((entry & bit) === 0) continue; // on the other side only
            const a = entry & ACCOUNT_MASK;
            if (this.versions[a] !== 0) continue; // a later evaluation replaced the build's bound
            // The entry's bound: the account's, or (when that is below the bucket) its positions'
            // there, which placed it here and are at least the bucket's low edge.
            let y = bounds[a];
            if (y < this.bucketLow[b]) y = this.bucketLow[b];
            if (y <= e) this.enqueue(a);
            else waiting.insert(y, a, 0);
          }
        }
        this.take(waiting, e);
      }
      const mark = this.markFloat[i];
      this.take(this.below[i], -(mark - this.fundingMoves[i]));
      this.take(this.above[i], mark + this.fundingMoves[i]);
      if (this.queueSize > limit) return null;
    }
    return this.queueSize;
  }

  /**
   * The build's entries that the excursions of `instruments` reach beyond their cursors, on the
   * sides they reach them (what collect takes from the buckets, before it reads versions and
   * bounds): a difference of the build's counts (sideStart) per instrument and side, O(buckets).
   * A scan of the entries instead, 4 bytes each, took 2–10 ms of a broad move's step on the
   * 10M-account book.
   */
  private reachedEntries(instruments: readonly number[]): number {
    let reached = 0;
    for (const i of instruments) {
      for (let side = 0; side < SIDES; side++) {
        const e = this.excursion(i, side);
        const from = this.cursor[i * SIDES + side];
        let to = from;
        while (to < this.buckets && this.bucketLow[to] <= e) to++;
        const counts = this.sideStart[side];
        reached += counts[i * this.buckets + to] - counts[i * this.buckets + from];
      }
    }
    return reached;
  }

  /** Queues the accounts of the heap's entries with keys at or below `limit` that are still current. */
  private take(heap: BoundHeap, limit: number): void {
    while (heap.top <= limit) {
      const a = heap.topAccount;
      if (this.versions[a] === heap.topVersion) this.enqueue(a);
      heap.pop();
    }
  }

  /**
   * Evaluates the queued accounts with the kernel, puts each back in the index with its new bound,
   * and says what the step changed, with what the hot book's ticks changed (`hotChanged`, `hotFailing`).
   */
  private evaluateQueued(hotChanged: Uint32Array[], hotFailing: number): StepResult {
    const count = this.queueSize;
    this.liquidatableCount += hotFailing;
    if (count > 0) {
      const start = performance.now();
      this.sortQueue();
      this.leaveHot();
      // A slice at a time, each put back in the index right after its evaluation, while the
      // columns the kernel just read are still in the cache (a whole step's accounts at once
      // read them from memory twice: on the 10M-account book the index's part cost more than the
      // kernel's).
      for (let from = 0; from < count; from += EVALUATE_SLICE) {
        const to = Math.min(count, from + EVALUATE_SLICE);
        const { detail, changed } = this.evaluateList(from, to);
        if (changed.length > 0) hotChanged.push(changed);
        this.reindex(detail, from, to);
      }
      // The cost of an account evaluated in full, for the break-even (the hot book's cost is per tick, not per account).
      if (count >= 64) this.accountTimes.add((performance.now() - start) / count);
    }
    this.clearQueue();
    this.tidy();
    return { path: 'incremental', evaluated: count, liquidatable: this.liquidatableCount, changed: this.engine.ascendingUnique(hotChanged), owed: this.owed };
  }

  /**
   * Puts the queue in account order: the columns are then read front to back, about 1.5 times
   * faster on a large book than in the order the accounts were queued.
   */
  private sortQueue(): void {
    this.queue.subarray(0, this.queueSize).sort();
  }

  /**
   * Evaluates the queued accounts [from, to) with the kernel (statuses, bounds, the failing count);
   * returns the detail of their positions (two i64 each, for the hot book) and the accounts whose
   * statuses changed.
   */
  private evaluateList(from: number, to: number): { detail: BigInt64Array; changed: Uint32Array } {
    const engine = this.engine;
    const count = to - from;
    const v = engine.views;
    let positions = 0;
    for (let k = from; k < to; k++) positions += v.accPosCount[this.queue[k]];
    // Regions sized by powers of two, so that a growing list leaves few behind.
    const list = engine.region('incremental.list', regionBytes(count * 4));
    const changedList = engine.region('incremental.changed', regionBytes(count * 4));
    const out = engine.region('incremental.out', 8);
    const detail = engine.region('incremental.detail', regionBytes(positions * 16));
    const table = this.writeTable();
    const shard = engine.shardRecord();
    new Uint32Array(engine.memory.buffer, list, count).set(this.queue.subarray(from, to));
    const listed = engine.core.boundAccounts(engine.layout.header, shard, list, count, table, this.boundsOffset(), changedList, out, detail, this.stepsOffset());
    const before = new Uint32Array(engine.memory.buffer, out, 1)[0]; // as of their last evaluation
    const after = new Uint32Array(engine.memory.buffer, shard, ShardSlot.liquidatable + 1)[ShardSlot.liquidatable];
    this.liquidatableCount += after - before;
    return {
      detail: new BigInt64Array(engine.memory.buffer, detail, positions * 2),
      changed: new Uint32Array(engine.memory.buffer, changedList, listed).slice(),
    };
  }

  /**
   * Gives each queued (just evaluated) account its triggers, or admits it to the hot book
   * (`detail`: evaluateList's): whole, or in part (its least scope) with triggers for the rest.
   */
  private reindex(detail: BigInt64Array, from: number, to: number): void {
    const v = this.engine.views;
    const bounds = this.bounds();
    const leasts = this.leastBytes();
    const steps = this.steps();
    if (this.admitList.length < to - from) {
      this.admitList = new Uint32Array(to - from);
      this.admitAt = new Uint32Array(to - from);
      this.admitLeasts = new Uint8Array(to - from);
    }
    let at = 0;
    let admitted = 0;
    for (let k = from; k < to; k++) {
      const a = this.queue[k];
      const version = this.versions[a] + 1;
      if (version >= VERSION_LIMIT) this.markStale('versions');
      this.versions[a] = version;
      const y = bounds[a];
      const first = v.accPosStart[a];
      const end = first + v.accPosCount[a];
      const detailAt = at;
      at += end - first;
      if (y === Infinity) continue;
      const least = leasts[a];
      if (!(y >= this.hotBound)) {
        // Admitted to the hot book after the loop, all in one kernel call: in part when its other
        // scopes are healthy and their bound is at least hotPartBound (Hot in part).
        const part = least !== 0 && this.othersBound(a, y, least, steps) >= this.hotPartBound ? least : 0;
        if (part !== 0) {
          this.triggers(a, version, first, end, false, y, steps, least);
          this.inPart[a >>> 5] |= 1 << (a & 31);
        }
        this.admitList[admitted] = a;
        this.admitAt[admitted] = detailAt;
        this.admitLeasts[admitted++] = part;
        continue;
      }
      // A healthy scope cannot fail by a move in its positions' favour (the bound keeps the
      // 2 micro a position the ceilings could take back): an account whose scopes are all healthy
      // gets, per instrument, the trigger on the side its positions there lose on. A failing scope
      // can recover one way and go bankrupt the other: both.
      let failing = v.accStatus[a] !== 0;
      for (let j = first; j < end && !failing; j++) if (v.posMode[j] !== MODE_CROSS && v.posStatus[j] !== 0) failing = true;
      this.triggers(a, version, first, end, failing, y, steps, 0);
    }
    this.hot.admit(this.admitList, this.admitAt, admitted, detail, this.admitLeasts);
  }

  /**
   * Puts account a's triggers (its block [first, end), at `version`, its bound `y`) in the heaps:
   * per instrument, spent at the bound of its positions there (y plus their least steps, assembly/bounds.ts,
   * just written by their evaluation in `steps`), on the side its positions there lose on, or both
   * when `failing`. With `inPart` (an account admitted to the hot book in part: its least byte, 0
   * for none), only the positions outside its least scope, which the hot book moves.
   */
  private triggers(a: number, version: number, first: number, end: number, failing: boolean, y: number, steps: Uint8Array, inPart: number): void {
    const v = this.engine.views;
    // A size's sign is its high word's (no BigInt per position; a size of 0, which moves nothing, counts as long).
    const sizeHigh = this.sizeHigh();
    for (let j = first; j < end; j++) {
      if (!firstOfInstrument(v.posInst, first, j)) continue;
      const i = v.posInst[j];
      let long = failing;
      let short = failing;
      let fewest = 256;
      for (let k = j; k < end; k++) {
        if (v.posInst[k] !== i || inLeast(inPart, k - first, v.posMode[k])) continue; // (inLeast is false for a least byte of 0)
        if (sizeHigh[2 * k + 1] >= 0) long = true;
        else short = true;
        if (steps[k] < fewest) fewest = steps[k];
      }
      if (fewest === 256) continue; // in part, the hot book's alone
      // Spent when the mark (less, or plus, the funding moves since the build) has moved y·mark.
      const mark = this.markFloat[i];
      const funding = this.fundingMoves[i];
      const room = stepsBound(y, fewest) * mark;
      const slack = (mark + funding) * MARGIN;
      if (long) this.below[i].insert(f32Down(-(mark - funding - room + slack)), a, version);
      if (short) this.above[i].insert(f32Down(mark + funding + room - slack), a, version);
    }
  }

  /**
   * The least bound of account a's scopes but its least (its bound `y`, its least byte `least`): the
   * least of its positions' outside the least scope; −1 when one of those scopes is not healthy.
   */
  private othersBound(a: number, y: number, least: number, steps: Uint8Array): number {
    const v = this.engine.views;
    if ((least & LEAST_CROSS) === 0 && v.accStatus[a] !== 0) return -1; // the pool, not the least scope, failing
    const first = v.accPosStart[a];
    let fewest = 256;
    for (let j = first; j < first + v.accPosCount[a]; j++) {
      const mode = v.posMode[j];
      if (inLeast(least, j - first, mode)) continue;
      if (mode !== MODE_CROSS && v.posStatus[j] !== 0) return -1;
      if (steps[j] < fewest) fewest = steps[j];
    }
    return fewest === 256 ? Infinity : stepsBound(y, fewest);
  }

  /** The size column's 32-bit words (a size's sign is its high word's). */
  private sizeHigh(): Int32Array<ArrayBufferLike> {
    const sizes = this.engine.views.posSize;
    if (this.sizeWords.buffer !== sizes.buffer || this.sizeWords.byteOffset !== sizes.byteOffset || this.sizeWords.length !== sizes.length * 2) {
      this.sizeWords = new Int32Array(sizes.buffer, sizes.byteOffset, sizes.length * 2);
    }
    return this.sizeWords;
  }

  /**
   * Past heapLimit entries, compacts the largest heap (drops the entries later evaluations
   * replaced); marks the index stale when the heaps are past the limit still, or too many accounts
   * are hot. The rebuild that follows empties the hot book too, which nothing else does over normal
   * ticks: compacting every heap instead, and rebuilding only past 7/8 of the limit in live entries,
   * rebuilt less often, and the hot book grew on: on the 10M-account book the peak RSS reached
   * 99.6–100.0 B a position (bench/README.md, 2026-12-04, late night).
   */
  private tidy(): void {
    if (this.hot.size > this.hotLimit) this.markStale('hot accounts');
    this.hot.compactIfSparse();
    let entries = 0;
    let largest = this.waiting[0];
    for (const heaps of [this.waiting, this.below, this.above]) {
      for (const heap of heaps) {
        entries += heap.size;
        if (heap.size > largest.size) largest = heap;
      }
    }
    if (entries <= this.heapLimit) return;
    const before = largest.size;
    largest.compact((a, version) => this.versions[a] === version);
    this.compactions++;
    if (entries - before + largest.size > this.heapLimit) this.markStale('heap entries');
  }

  private markStale(reason: string): void {
    this.state = 'stale';
    this.staleReason = reason;
    this.clearOwed();
  }

  /** Takes instrument i's weight, q·(1 + r_max), from its tier table now. */
  private takeTable(i: number): void {
    let rateMax = 0n;
    for (const tier of this.engine.instruments[i].tiers) if (tier.ratePpm > rateMax) rateMax = tier.ratePpm;
    // q/d micro per size unit and price unit (d > 1 for an instrument finer than a micro, docs/numbers.md).
    const v = this.engine.views;
    this.weight[i] = (Number(v.instQ[i]) / Number(v.instDiv[i])) * (1 + Number(rateMax) / Number(RATE_SCALE)) * (1 + MARGIN);
  }

  /** Writes the bound table (per instrument: q·(1 + r_max), the mark) into the memory; returns its offset. */
  private writeTable(): number {
    const instruments = this.reference.length;
    const offset = this.engine.region('incremental.table', instruments * BOUND_TABLE_STRIDE);
    const table = new Float64Array(this.engine.memory.buffer, offset, (instruments * BOUND_TABLE_STRIDE) / 8);
    const stride = BOUND_TABLE_STRIDE / 8;
    for (let i = 0; i < instruments; i++) {
      table[i * stride + BOUND_C] = this.weight[i];
      table[i * stride + BOUND_P] = this.markFloat[i];
    }
    return offset;
  }

  /**
   * The kernel's table for a bound's sub-bucket within its octave (assembly/bounds.ts bucketOf):
   * perOctave + 1 u32 thresholds on the 23-bit mantissa, T_k = ceil((2^(k/perOctave) − 1)·2^23),
   * then, per slice of the mantissa (its top 23 − OCTAVE_SLICE_SHIFT bits), the u16 sub-bucket
   * where the slice starts. A bound the kernel puts in bucket b is at least 2^(BUCKET_MIN_EXPONENT
   * + b/perOctave), so at least bucketLow[b].
   */
  private writeOctaveTable(): number {
    const p = this.perOctave;
    const slices = 1 << (23 - OCTAVE_SLICE_SHIFT);
    const offset = this.engine.region('incremental.octave', (p + 1) * 4 + slices * 2);
    const thresholds = new Uint32Array(this.engine.memory.buffer, offset, p + 1);
    for (let k = 0; k <= p; k++) thresholds[k] = Math.ceil((2 ** (k / p) - 1) * 2 ** 23);
    const starts = new Uint16Array(this.engine.memory.buffer, offset + (p + 1) * 4, slices);
    let sub = 0;
    for (let slice = 0; slice < slices; slice++) {
      while (sub + 1 < p && thresholds[sub + 1] <= slice << OCTAVE_SLICE_SHIFT) sub++;
      starts[slice] = sub;
    }
    return offset;
  }

  /**
   * The kernel's per-account region (assembly/bounds.ts): the bounds (f32 each), then each account's
   * failing scopes at its last evaluation (u8), which of its positions are short (u8) and which its
   * least scope holds (u8).
   */
  private boundsOffset(): number {
    return this.engine.region('incremental.bounds', this.engine.accountCount * BOUNDS_REGION_BYTES);
  }

  /**
   * The positions' steps (assembly/bounds.ts: a byte per position slot, how far its scope's bound is
   * above its account's), written by each evaluation and read right after it (the build's placement,
   * the triggers): the region is as large as the position arena, and its bytes need not outlive a step.
   */
  private stepsOffset(): number {
    return this.engine.region('incremental.steps', regionBytes(this.engine.layout.capacity.positions));
  }

  private steps(): Uint8Array {
    return new Uint8Array(this.engine.memory.buffer, this.stepsOffset(), this.engine.layout.capacity.positions);
  }

  /** Where the bounds region's failing-scope bytes start (one per account). */
  private failingOffset(): number {
    return this.boundsOffset() + BOUNDS_FAILING_AT * this.engine.accountCount;
  }

  private bounds(): Float32Array {
    return new Float32Array(this.engine.memory.buffer, this.boundsOffset(), this.engine.accountCount);
  }

  /** The bounds region's least bytes (one per account: which positions its least scope holds). */
  private leastBytes(): Uint8Array {
    return new Uint8Array(this.engine.memory.buffer, this.boundsOffset() + BOUNDS_LEAST_AT * this.engine.accountCount, this.engine.accountCount);
  }
}

/** `list` with `value` at `at` (its length), grown (doubled) first if full. */
function pushed(list: Uint32Array, at: number, value: number): Uint32Array {
  let out = list;
  if (at === list.length) {
    out = new Uint32Array(list.length * 2);
    out.set(list);
  }
  out[at] = value;
  return out;
}


function checkOption(value: number | undefined, name: string, what: string, valid: (x: number) => boolean): void {
  if (value !== undefined && !(typeof value === 'number' && valid(value))) {
    throw new RangeError(`IncrementalEvaluator: ${name} must be ${what}, got ${String(value)}`);
  }
}

/** The median of the last `size` samples: a cost estimate that a preempted step or two cannot move. */
class RecentMedian {
  private readonly samples: number[] = [];
  private next = 0;
  private median = NaN;
  constructor(private readonly size: number) {}

  get empty(): boolean {
    return this.samples.length === 0;
  }

  add(sample: number): void {
    if (this.samples.length < this.size) this.samples.push(sample);
    else this.samples[this.next] = sample;
    this.next = (this.next + 1) % this.size;
    this.median = NaN;
  }

  /** NaN when empty. Found again only after a sample is added: every step asks (sorting the samples at each was 9% of a median normal tick on the 10M-account book). */
  get value(): number {
    if (this.samples.length === 0) return NaN;
    if (Number.isNaN(this.median)) {
      const sorted = [...this.samples].sort((x, y) => x - y);
      this.median = sorted[sorted.length >> 1];
    }
    return this.median;
  }
}

/** Whether position j is the first of its account's block [first, j] on its instrument. */
function firstOfInstrument(posInst: Uint16Array, first: number, j: number): boolean {
  const i = posInst[j];
  for (let k = first; k < j; k++) if (posInst[k] === i) return false;
  return true;
}
