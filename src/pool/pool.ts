// The parallel sweep: the account range split into shards, each evaluated by a piscina worker
// running the core over the one shared memory. Nothing of the book is copied: workers write the
// per-scope figures in place and the liquidatable scopes into per-shard lists, which are gathered
// in shard order, so the result is the same for any number of workers.
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { MODE_ISOLATED, STATUS_HEALTHY } from '../fixed/constants.js';
import {
  BookLayout,
  cacheBytes,
  CHUNK_ACCOUNTS,
  CHUNK_SCRATCH_BYTES,
  INSTRUMENT_COLUMNS,
  LIST_ENTRY_BYTES,
  POSITION_INPUT_COLUMNS,
  SHARD_RECORD_BYTES,
  SLOT_CROSS,
  ShardSlot,
  SWEEP_CHUNKS,
  SWEEP_FULL,
  chunksOf,
  copyColumn,
  layoutBytes,
} from '../memory/layout.js';
import { compileCore } from '../engine/core.js';
import type { Engine } from '../engine/engine.js';

/** A worker's part of a tick of the hot book shared with the caller's thread (SweepPool.hotShare). */
export interface HotShare {
  instrument: number;
  /** The hot book's table and scopes, the mark its records move from, the instrument's weight (the kernel's hotTickShared). */
  table: number;
  scopes: number;
  markOld: bigint;
  weight: number;
  /** The u32 the threads take chunks of `chunk` records by (zero before either starts), and the worker's own list. */
  counter: number;
  chunk: number;
  changed: number;
}

export interface SweepPoolOptions {
  /** Worker threads. Default: one per core (os.availableParallelism()). */
  threads?: number;
  /**
   * Shards per sweep. Default: 8 per thread. Each worker takes the next shard as it finishes one
   * (an atomic counter in the shared memory, no message per shard), so a slow core or a busy
   * neighbour holds back at most one shard's worth of work.
   */
  shards?: number;
  /** Liquidatable scopes each shard's list holds before the gatherer scans that shard instead. */
  listCapacity?: number;
  /**
   * After a sweep in which a shard's list overflowed (and the gatherer scanned it on this thread),
   * grow every shard's list to twice the largest count seen, so that the next steps of a crash
   * are listed by the workers. Default true; tests set false to keep a small list small.
   */
  growLists?: boolean;
  /** Times a shard is re-run after its worker died before the sweep fails. */
  retries?: number;
}

export interface SweepOptions {
  /** Also write each position's unrealized PnL and maintenance. Default: status only. */
  full?: boolean;
  /** Fault injection for tests: shard index → accounts its worker evaluates before it dies. */
  faults?: Map<number, number>;
  /** For tests: the worker that takes this shard waits for a cancel (up to 10 s) before it sweeps it. */
  holdShard?: number;
  /**
   * False: count the liquidatable scopes without gathering them (`scopes` comes back empty), for a
   * caller that needs only the count, as the incremental evaluator's fallback sweeps do. A crash step
   * of the 10M-account book fails millions of scopes, and each sweep's list was tens of megabytes
   * made and dropped. The workers' lists still grow after one overflowed, for the next sweep that
   * gathers. Default: true.
   */
  list?: boolean;
}

export interface SweepResult {
  /** False when the sweep was cancelled: the figures of accounts past `accountsDone` are stale. */
  complete: boolean;
  /** Accounts evaluated (all of them when complete), summed over shards. */
  accountsDone: number;
  /** Liquidatable scopes (cross pools and isolated positions), bankrupt ones included. */
  liquidatable: number;
  bankrupt: number;
  /** The liquidatable scopes in account order: pairs (account, position slot or SLOT_CROSS). */
  scopes: Uint32Array;
  /** Shards re-run because their worker died. */
  retried: number;
}

/** Default list room per shard: 64 Ki scopes (512 KiB); a crash of more than that is scanned. */
const LIST_CAPACITY_DEFAULT = 65_536;
/** A shard in the table the workers read: u32 start, end, shard record, taken (set by the worker). */
const SHARD_TABLE_BYTES = 16;
const RETRIES_DEFAULT = 3;
/**
 * The warm-up book: a copy of this many real accounts, swept this many times per worker (each of
 * the two ways a sweep runs, twice). The core's code is optimised from its first call
 * (src/engine/core.ts), so the rounds no longer wait for V8 to replace baseline code, as the 200
 * they were did: they take each thread's first calls and first touches.
 */
const WARMUP_ACCOUNTS = 1_024;
const WARMUP_ROUNDS = 4;
/**
 * The hot book's helper (hotShare): a task that stays on one worker, parked on a word of the shared
 * memory between ticks, so that a shared tick is handed over by a store and a wake, and its end seen
 * in the memory, rather than by a task given and answered through piscina's messages: those cost a
 * median 0.14 ms to hand over (piscina.run) and 0.17 ms for the answer to reach this thread's event
 * loop, against 0.05–0.08 ms for a wake and answer through the memory, on the machine of
 * bench/README.md (2026-12-05, fourth session). Its block in the shared memory, as i32 words: the
 * tick's sequence number (this thread raises it to hand a tick over), the last one done (the helper
 * sets it), a stop flag, what the helper listed and its change in failing scopes, then the tick's
 * arguments (u32 offsets; the i64 mark its records move from and the f64 weight at byte offsets).
 */
const HELPER_WORDS = { go: 0, done: 1, stop: 2, listed: 3, failing: 4, header: 5, shard: 6, instrument: 7, table: 8, scopes: 9, counter: 10, chunk: 11, changed: 12, count: 14, markOld: 56, weight: 64 } as const;
const HELPER_BYTES = 72;
/**
 * How long this thread waits, spinning, for the helper to mark a shared tick done once its own part
 * is done (the two take chunks by one counter, so they end within a chunk of each other) before it
 * waits without spinning, for the mark or the helper's failure (a dead worker).
 */
const HOT_SHARE_SPIN_MS = 2;
/** How long one wait of this thread for the helper's mark lasts before it looks again (ms). */
const HOT_SHARE_WAIT_MS = 50;

interface Shard {
  start: number;
  end: number;
  record: number;
}

export class SweepPool {
  private readonly cancelFlag: Int32Array;
  private growLists = true;
  private sweeping = false;
  /** The hot book's helper while it is parked on a worker (hotShare): its block and its task; `failed` rejects once the task ends. */
  private helper: { block: number; task: Promise<unknown>; failed: Promise<never> } | undefined;

  private constructor(
    private readonly engine: Engine,
    private readonly piscina: Piscina,
    private readonly threadCount: number,
    private readonly shardCount: number,
    private listCapacity: number,
    private readonly retries: number,
    cancelOffset: number,
  ) {
    this.cancelFlag = new Int32Array(engine.memory.buffer, cancelOffset, 1);
  }

  /** Starts the workers over the engine's memory and waits until each has warmed up. */
  static async open(engine: Engine, options: SweepPoolOptions = {}): Promise<SweepPool> {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a whole number ≥ 1, got ${threads}`);
    const shards = options.shards ?? threads * 8;
    const listCapacity = options.listCapacity ?? LIST_CAPACITY_DEFAULT;
    const warmup = warmupBook(engine);
    const piscina = new Piscina({
      filename: workerUrl(),
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 2 ** 31 - 1,
      workerData: {
        module: compileCore(),
        memory: engine.memory,
        warmup,
        words: { tableEntry: SHARD_TABLE_BYTES / 4, complete: ShardSlot.complete, cache: ShardSlot.cache, scratch: ShardSlot.scratch },
      },
    });
    const pool = new SweepPool(engine, piscina, threads, shards, listCapacity, options.retries ?? RETRIES_DEFAULT, engine.region('pool.cancel', 4));
    pool.growLists = options.growLists ?? true;
    // Workers start as the pool is created and warm up while loading the worker module, before
    // piscina hands them a task; an empty task per thread waits for them to come up.
    await Promise.all(Array.from({ length: threads }, () => piscina.run({ kind: 'range', header: warmup.header, start: 0, end: 0, flags: 0, shard: warmup.shard })));
    return pool;
  }

  get threads(): number {
    return this.piscina.threads.length;
  }

  /**
   * Whether the hot book's helper holds a worker now (hotShare): from a shared tick until the pool's
   * next other task, which needs every worker.
   */
  get helperParked(): boolean {
    return this.helper !== undefined;
  }

  /** Asks the running sweep to stop: each worker stops at its next check of the flag. */
  cancel(): void {
    Atomics.store(this.cancelFlag, 0, 1);
    Atomics.notify(this.cancelFlag, 0); // wakes a worker the cancel test holds
  }

  /**
   * Runs `work` with the book the workers': one task at a time on this pool, and by the
   * single-writer rule, until the workers are done, the engine refuses every write and evaluation
   * (Engine.assertWritable), another pool's sweep included.
   */
  private async exclusive<T>(work: () => Promise<T>, keepHelper = false): Promise<T> {
    if (this.sweeping) throw new Error('a sweep is already running on this pool');
    this.engine.beginSweep();
    this.sweeping = true;
    try {
      // Every other task needs every worker: the hot book's helper leaves its worker first.
      if (!keepHelper && this.helper !== undefined) await this.stopHelper();
      return await work();
    } finally {
      this.sweeping = false;
      this.engine.endSweep();
    }
  }

  async sweep(options: SweepOptions = {}): Promise<SweepResult> {
    // Cleared now, not when the workers start (after the hot book's helper has left, if one is
    // parked): a cancel made after this call stops this sweep.
    if (!this.sweeping) Atomics.store(this.cancelFlag, 0, 0);
    return this.exclusive(async () => {
      const engine = this.engine;
      const shards = this.shards();
      const header = engine.layout.header;
      const flags = engine.sweepFlags(options.full === true);
      // The shard table the workers read: per shard (start, end, record, taken), and the work: a
      // list of shard indices and the counter the workers take them by.
      const table = engine.region('pool.table', shards.length * SHARD_TABLE_BYTES);
      const tableView = new Uint32Array(engine.memory.buffer, table, shards.length * (SHARD_TABLE_BYTES / 4));
      shards.forEach((shard, i) => tableView.set([shard.start, shard.end, shard.record, 0], i * (SHARD_TABLE_BYTES / 4)));
      const work = engine.region('pool.work', shards.length * 4);
      const counter = engine.region('pool.counter', 4);
      let pending = shards.map((_, i) => i);
      let retried = 0;
      for (let attempt = 0; ; attempt++) {
        new Uint32Array(engine.memory.buffer, work, pending.length).set(pending);
        Atomics.store(new Int32Array(engine.memory.buffer, counter, 1), 0, 0);
        const faults = attempt === 0 && options.faults !== undefined ? [...options.faults] : [];
        const errors: unknown[] = [];
        await Promise.all(
          this.taskScratch().map((scratch) =>
            this.piscina
              .run({ kind: 'shards', header, flags, table, work, count: pending.length, counter, cancel: this.cancelFlag.byteOffset, ...scratch, faults, hold: options.holdShard ?? -1 })
              .catch((error: unknown) => errors.push(error)), // a worker died: piscina has replaced it
          ),
        );
        // Shards a worker took and did not finish are run again: their outputs are a pure function
        // of the unchanged inputs, so the re-run writes the same bytes. A cancel leaves the rest.
        if (Atomics.load(this.cancelFlag, 0) !== 0) break;
        const unfinished = pending.filter((i) => new Uint32Array(engine.memory.buffer, shards[i].record, SHARD_RECORD_BYTES / 4)[ShardSlot.complete] !== 1);
        if (unfinished.length === 0) break;
        if (attempt >= this.retries) {
          const reason = errors.length > 0 ? (errors[0] as Error).message : 'no worker finished them';
          throw new Error(`shards ${unfinished.join(', ')} failed ${attempt + 1} times: ${reason}`);
        }
        retried += unfinished.filter((i) => tableView[i * (SHARD_TABLE_BYTES / 4) + 3] !== 0).length;
        pending = unfinished;
      }
      engine.sweepDone();
      return this.gather(shards, retried, options.list !== false);
    });
  }

  /** Per task of a sweep (one per thread): its own instrument cache and chunk sums. */
  private taskScratch(): Array<{ cache: number; scratch: number }> {
    const engine = this.engine;
    return Array.from({ length: this.threadCount }, (_, t) => ({
      cache: engine.region(`pool.cache.${t}`, cacheBytes(engine.instruments.length)),
      scratch: engine.region(`pool.scratch.${t}`, CHUNK_SCRATCH_BYTES),
    }));
  }

  /**
   * Incremental evaluation's build (src/engine/incremental.ts): every account evaluated with its
   * bound (the kernel's boundAccountRange, bound table at `table`, bounds column at `bounds`, each
   * position's steps at `steps`), the
   * accounts split evenly over the workers, a part whose worker died run again (up to `retries`
   * times, as a sweep's shards). Returns the liquidatable scopes. The single-writer rule holds as
   * for a sweep. `faults` is the worker-death test's seam: part → accounts its worker evaluates
   * before it exits, on the first attempt.
   */
  async boundRange(table: number, bounds: number, steps: number, options: { faults?: Map<number, number> } = {}): Promise<number> {
    return this.exclusive(async () => {
      const engine = this.engine;
      // A part whose worker died (piscina replaces it) is run again: its outputs (statuses, bounds)
      // are a pure function of the unchanged inputs, so the re-run writes the same bytes.
      const counts = await this.eachPart('the bounds', options.faults, (t, start, end, dieAfter) => ({
        kind: 'bounds',
        header: engine.layout.header,
        shard: engine.shardRecord(`pool.bounds.${t}`),
        start,
        end,
        table,
        bounds,
        steps,
        dieAfter,
      }));
      return counts.reduce((sum, count) => sum + count, 0);
    });
  }

  /** Parts the pool splits a build's accounts into (one per worker): part t is accounts [partStart(t), partStart(t + 1)). */
  get parts(): number {
    return this.threadCount;
  }

  partStart(t: number): number {
    return Math.floor((this.engine.accountCount * t) / this.threadCount);
  }

  /**
   * A pass of the incremental index's build (the kernel's indexCount or indexPlace,
   * src/engine/incremental.ts) on the workers, each part of the accounts at once: `args(t)` gives
   * part t's arguments between the book's header and its accounts (its own counts, or its own fill).
   * `prepare(t)` runs before each attempt of part t: a part whose worker died runs again (up to
   * `retries` times) from what `prepare` restores, and writes the same bytes. Returns each part's
   * result (indexCount's hot accounts). `faults`: as for boundRange.
   */
  async indexPass(pass: 'count' | 'place', args: (t: number) => number[], prepare: (t: number) => void, options: { faults?: Map<number, number> } = {}): Promise<number[]> {
    return this.exclusive(() =>
      this.eachPart(`the index's ${pass} pass`, options.faults, (t, start, end, dieAfter) => {
        prepare(t);
        return { kind: 'index', pass, header: this.engine.layout.header, args: args(t), start, end, dieAfter };
      }),
    );
  }

  /**
   * Runs `task(t, start, end, dieAfter)` on the workers for each part t of the accounts at once,
   * again for a part whose worker died (piscina replaces it), up to `retries` times; `task` is asked
   * again for each attempt. `faults` (the worker-death test's seam): part → accounts its worker
   * takes before it exits, on the first attempt.
   */
  private eachPart(what: string, faults: Map<number, number> | undefined, task: (t: number, start: number, end: number, dieAfter: number) => object): Promise<number[]> {
    const run = async (t: number): Promise<number> => {
      const start = this.partStart(t);
      const end = this.partStart(t + 1);
      for (let attempt = 0; ; attempt++) {
        const dieAfter = attempt === 0 ? (faults?.get(t) ?? -1) : -1;
        try {
          return (await this.piscina.run(task(t, start, end, dieAfter))) as number;
        } catch (error) {
          if (attempt >= this.retries) throw new Error(`${what} of accounts ${start} to ${end} failed ${attempt + 1} times: ${(error as Error).message}`);
        }
      }
    };
    return Promise.all(Array.from({ length: this.threadCount }, (_, t) => run(t)));
  }

  /**
   * A tick of the hot book shared between a worker and the caller's thread (src/engine/hot-book.ts
   * tickSplit): the pool's helper, parked on a worker (started at the first shared tick, and again
   * after any other task of the pool, which stops it), runs the kernel's hotTickShared with a shard
   * record of its own while this thread runs `own` (its part: the same kernel, taking chunks of the
   * instrument's records by the same counter). The single-writer rule holds as for a sweep: until
   * it returns, the engine refuses every write and evaluation. Returns what the helper listed and
   * its change in failing scopes; throws if `own` threw (once the helper is done) or the helper's
   * worker died (the records may then be half moved: the caller sweeps, and a new helper is started
   * at the next shared tick).
   */
  async hotShare(share: HotShare, own: () => void): Promise<{ listed: number; failing: number }> {
    const engine = this.engine;
    const shard = engine.shardRecord('pool.hot'); // its regions before the helper runs
    return this.exclusive(async () => {
      const helper = this.helper ?? this.startHelper();
      const block = helper.block;
      const buffer = engine.memory.buffer;
      const words = new Int32Array(buffer, block, HELPER_WORDS.count);
      words[HELPER_WORDS.header] = engine.layout.header;
      words[HELPER_WORDS.shard] = shard;
      words[HELPER_WORDS.instrument] = share.instrument;
      words[HELPER_WORDS.table] = share.table;
      words[HELPER_WORDS.scopes] = share.scopes;
      words[HELPER_WORDS.counter] = share.counter;
      words[HELPER_WORDS.chunk] = share.chunk;
      words[HELPER_WORDS.changed] = share.changed;
      new BigInt64Array(buffer, block + HELPER_WORDS.markOld, 1)[0] = share.markOld;
      new Float64Array(buffer, block + HELPER_WORDS.weight, 1)[0] = share.weight;
      const tick = (words[HELPER_WORDS.go] + 1) | 0;
      Atomics.store(words, HELPER_WORDS.go, tick);
      Atomics.notify(words, HELPER_WORDS.go);
      try {
        own();
      } finally {
        if (!markedWithin(words, HELPER_WORDS.done, tick, HOT_SHARE_SPIN_MS)) await this.helperDone(words, tick, helper.failed);
      }
      return { listed: words[HELPER_WORDS.listed], failing: words[HELPER_WORDS.failing] };
    }, true);
  }

  /** Starts the hot book's helper: a task that parks on its block's sequence word (sweep-worker.mjs, kind 'hotHelper'). */
  private startHelper(): NonNullable<SweepPool['helper']> {
    const block = this.engine.region('pool.hot.helper', HELPER_BYTES);
    new Int32Array(this.engine.memory.buffer, block, HELPER_WORDS.count).fill(0);
    const task = this.piscina.run({ kind: 'hotHelper', block, words: HELPER_WORDS });
    const failed = task.then(
      () => Promise.reject(new Error('the hot book\'s helper stopped')),
      (error: unknown) => Promise.reject(error),
    );
    failed.catch(() => undefined); // read only while a tick waits for the helper
    const helper = { block, task, failed };
    this.helper = helper;
    return helper;
  }

  /** Waits (without spinning) until the helper marks tick `tick` done; throws if its task ends first (its worker died). */
  private async helperDone(words: Int32Array, tick: number, failed: Promise<never>): Promise<void> {
    try {
      for (;;) {
        const seen = Atomics.load(words, HELPER_WORDS.done);
        if (seen === tick) return;
        const wait = waitAsync(words, HELPER_WORDS.done, seen, HOT_SHARE_WAIT_MS);
        if (wait.async) await Promise.race([wait.value, failed]);
      }
    } catch (error) {
      this.helper = undefined;
      throw error;
    }
  }

  /** Stops the hot book's helper, if one is parked, and waits for its task to end (its worker free). */
  private async stopHelper(): Promise<void> {
    const helper = this.helper;
    if (helper === undefined) return;
    this.helper = undefined;
    const words = new Int32Array(this.engine.memory.buffer, helper.block, HELPER_WORDS.count);
    Atomics.store(words, HELPER_WORDS.stop, 1);
    Atomics.store(words, HELPER_WORDS.go, (words[HELPER_WORDS.go] + 1) | 0);
    Atomics.notify(words, HELPER_WORDS.go);
    await helper.task.catch(() => undefined); // a helper that died is replaced at the next shared tick
  }

  /**
   * The memory-bandwidth baseline: reads [pointer, pointer + bytes) split evenly over the
   * workers, all at once (the hot book's helper, if parked, leaves its worker first). Returns the
   * sum of the parts (only so the reads cannot be skipped).
   */
  async streamRead(pointer: number, bytes: number): Promise<bigint> {
    await this.stopHelper();
    const parts = this.threads;
    const chunk = Math.floor(bytes / parts / 64) * 64;
    const sums = await Promise.all(
      Array.from({ length: parts }, (_, k) =>
        this.piscina.run({ kind: 'read', pointer: pointer + k * chunk, bytes: k === parts - 1 ? bytes - k * chunk : chunk }) as Promise<bigint>,
      ),
    );
    return sums.reduce((sum, part) => BigInt.asIntN(64, sum + part), 0n);
  }

  async close(): Promise<void> {
    await this.stopHelper();
    await this.piscina.destroy();
  }

  /** Shard ranges and their records (cancel flag, list, cache) in the shared memory. */
  private shards(): Shard[] {
    const engine = this.engine;
    const accounts = engine.accountCount;
    // Shard edges fall on chunk edges, so that every shard sweeps whole chunks from their records.
    const chunks = chunksOf(accounts);
    const count = Math.max(1, Math.min(this.shardCount, chunks));
    const shards: Shard[] = [];
    for (let k = 0; k < count; k++) {
      const start = Math.min(accounts, Math.floor((chunks * k) / count) * CHUNK_ACCOUNTS);
      const end = Math.min(accounts, Math.floor((chunks * (k + 1)) / count) * CHUNK_ACCOUNTS);
      const record = engine.region(`pool.shard.${k}`, SHARD_RECORD_BYTES);
      const slots = new Uint32Array(engine.memory.buffer, record, SHARD_RECORD_BYTES / 4);
      slots.fill(0);
      slots[ShardSlot.cancel] = this.cancelFlag.byteOffset;
      slots[ShardSlot.list] = engine.region(`pool.list.${k}`, (this.listCapacity + 1) * LIST_ENTRY_BYTES);
      slots[ShardSlot.listCapacity] = this.listCapacity;
      slots[ShardSlot.accountsDone] = start; // none yet (a cancel may leave the shard untaken)
      // The cache and the chunk sums are the worker's: it names its own when it takes the shard.
      shards.push({ start, end, record });
    }
    return shards;
  }

  private gather(shards: Shard[], retried: number, list: boolean): SweepResult {
    const buffer = this.engine.memory.buffer;
    let complete = true;
    let accountsDone = 0;
    let liquidatable = 0;
    let bankrupt = 0;
    const lists: Uint32Array[] = [];
    let overflow = 0;
    for (const [k, shard] of shards.entries()) {
      const slots = new Uint32Array(buffer, shard.record, SHARD_RECORD_BYTES / 4);
      complete &&= slots[ShardSlot.complete] === 1;
      accountsDone += slots[ShardSlot.accountsDone] - shard.start;
      liquidatable += slots[ShardSlot.liquidatable];
      bankrupt += slots[ShardSlot.bankrupt];
      // Paired check: a list that did not fill up holds every scope the shard counted, no more and
      // no fewer; a full one (listed = capacity) holds the first of them, and more means a scan.
      const listed = slots[ShardSlot.listed];
      if (listed > slots[ShardSlot.liquidatable] || (listed < slots[ShardSlot.listCapacity] && listed !== slots[ShardSlot.liquidatable])) {
        throw new Error(
          `internal error: shard ${k} (accounts ${shard.start} to ${slots[ShardSlot.accountsDone]}) listed ${listed} scopes ` +
            `in a list of ${slots[ShardSlot.listCapacity]} but counted ${slots[ShardSlot.liquidatable]} liquidatable`,
        );
      }
      if (slots[ShardSlot.liquidatable] > slots[ShardSlot.listed]) overflow = Math.max(overflow, slots[ShardSlot.liquidatable]);
      if (!list) continue;
      if (slots[ShardSlot.liquidatable] <= slots[ShardSlot.listed]) lists.push(new Uint32Array(buffer, slots[ShardSlot.list], 2 * slots[ShardSlot.listed]));
      else lists.push(this.scan(shard.start, slots[ShardSlot.accountsDone], slots[ShardSlot.liquidatable]));
    }
    // The next sweep's lists (Engine.region reallocates a region asked for more than it holds).
    if (overflow > 0 && this.growLists) this.listCapacity = Math.max(this.listCapacity, 2 * overflow);
    const scopes = new Uint32Array(lists.reduce((sum, list) => sum + list.length, 0));
    let offset = 0;
    for (const list of lists) {
      scopes.set(list, offset);
      offset += list.length;
    }
    return { complete, accountsDone, liquidatable, bankrupt, scopes, retried };
  }

  /** The liquidatable scopes of accounts [start, end) from the status columns, in list order. */
  private scan(start: number, end: number, expected: number): Uint32Array {
    const v = this.engine.views;
    const scopes = new Uint32Array(2 * expected);
    let n = 0;
    for (let a = start; a < end; a++) {
      for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
        if (v.posMode[j] === MODE_ISOLATED && v.posStatus[j] !== STATUS_HEALTHY) {
          scopes[n++] = a;
          scopes[n++] = j;
        }
      }
      if (v.accStatus[a] !== STATUS_HEALTHY) {
        scopes[n++] = a;
        scopes[n++] = SLOT_CROSS;
      }
    }
    if (n !== scopes.length) throw new Error(`shard scan found ${n / 2} liquidatable scopes, the kernel counted ${expected}`);
    return scopes;
  }
}

/** The worker module, found from either src/pool (tests) or dist/src/pool (installed). */
function workerUrl(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth++) {
    const candidate = join(directory, 'src', 'pool', 'sweep-worker.mjs');
    if (existsSync(candidate)) return pathToFileURL(candidate).href;
    const sibling = join(directory, 'sweep-worker.mjs');
    if (existsSync(sibling)) return pathToFileURL(sibling).href;
    directory = dirname(directory);
  }
  throw new Error('src/pool/sweep-worker.mjs not found');
}

/**
 * A small book of its own in the shared memory for workers to warm up on: the instruments and the
 * first WARMUP_ACCOUNTS accounts of the real book, positions compacted, with its own shard record.
 */
function warmupBook(engine: Engine): { header: number; shard: number; accounts: number; rounds: number; flags: number[] } {
  const source = engine.views;
  const accounts = Math.min(WARMUP_ACCOUNTS, engine.accountCount);
  let positions = 0;
  for (let a = 0; a < accounts; a++) positions += source.accPosCount[a];
  const capacity = { instruments: engine.layout.capacity.instruments, accounts: Math.max(1, accounts), positions: Math.max(1, positions) };
  const layout = new BookLayout(engine.memory, engine.region('pool.warmup', layoutBytes(capacity) + 64), capacity);
  layout.setAccountCount(accounts);
  const target = layout.views;
  for (const name of INSTRUMENT_COLUMNS) copyColumn(target, source, name);
  layout.setInstrumentCount(engine.instruments.length);
  let slot = 0;
  for (let a = 0; a < accounts; a++) {
    target.accBalance[a] = source.accBalance[a];
    target.accPosStart[a] = slot;
    target.accPosCount[a] = source.accPosCount[a];
    for (let j = source.accPosStart[a]; j < source.accPosStart[a] + source.accPosCount[a]; j++, slot++) {
      for (const name of POSITION_INPUT_COLUMNS) (target[name] as Uint8Array)[slot] = (source[name] as Uint8Array)[j];
    }
  }
  const shard = engine.shardRecord('pool.warmup');
  // Its chunk records, so that the warm-up runs the chunk sweep as real sweeps will.
  engine.core.refreshDebits(layout.header, shard, 0, accounts, SWEEP_CHUNKS);
  return { header: layout.header, shard, accounts, rounds: WARMUP_ROUNDS, flags: [SWEEP_CHUNKS, SWEEP_FULL] };
}

/** Atomics.waitAsync (Node 20 has it; TypeScript's ES2022 library does not declare it). */
const waitAsync = (Atomics as unknown as { waitAsync(array: Int32Array, index: number, value: number, ms: number): { async: boolean; value: Promise<string> | string } }).waitAsync;

/** Whether the i32 at `index` of `words` is (or becomes, within `ms` of spinning) `value`. */
function markedWithin(words: Int32Array, index: number, value: number, ms: number): boolean {
  const deadline = performance.now() + ms;
  for (let k = 0; ; k++) {
    if (Atomics.load(words, index) === value) return true;
    if ((k & 1_023) === 1_023 && performance.now() > deadline) return false;
  }
}
