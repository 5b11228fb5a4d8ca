// Loading the WebAssembly core: compile once, instantiate per thread over a shared memory.
import { setFlagsFromString } from 'node:v8';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export interface CoreExports {
  heapBase(): number;
  /** Reads `bytes` bytes from `ptr` with v128 loads: the memory-bandwidth baseline (bench/). */
  streamRead(ptr: number, bytes: number): bigint;
  streamReadScalar(ptr: number, bytes: number): bigint;
  /** Evaluates accounts [start, end); `flags` SWEEP_FULL, SWEEP_CHUNKS; `shard` a shard record. */
  sweep(header: number, accountStart: number, accountEnd: number, flags: number, shard: number): number;
  /**
   * With SWEEP_CHUNKS, recomputes the chunk sweep's records of the chunks holding accounts
   * [start, end) (cross bases and isolated thresholds, from each position's debit: cost + unsettled
   * funding); without, nothing (the column paths compute debits as they go).
   */
  refreshDebits(header: number, shard: number, accountStart: number, accountEnd: number, flags: number): void;
  /** refreshDebits for `count` accounts listed (u32) at `accounts`, each in place: work in proportion to the list. */
  refreshAccounts(header: number, shard: number, accounts: number, count: number, flags: number): void;
  /**
   * The balances of the `count` accounts listed at `changes` (BALANCE_CHANGE_BYTES each: u32
   * account, i64 change) changed and nothing else of theirs: with SWEEP_CHUNKS, each one's cross
   * base in its fresh chunk's records moves by the change, O(1) an account.
   */
  refreshBalances(header: number, shard: number, changes: number, count: number, flags: number): void;
  /**
   * After new funding indices (the table `changes`): with SWEEP_CHUNKS, defers what they change in
   * the fresh chunks' records (cross bases) in the funding slots at `slots` (the same region every
   * call, kept in place): each chunk's next sweep reads it lazily or settles it, and the next refresh
   * of one of its accounts settles it. The table may be reused after the call.
   */
  refreshFunding(header: number, shard: number, changes: number, flags: number, slots: number): void;
  /** Settles every deferred funding refresh on every chunk it has not reached, on this thread; nothing when none is deferred. */
  settleFunding(header: number, shard: number): void;
  /**
   * After a new tier table of `instrument` (in its tier columns): with SWEEP_CHUNKS, writes the
   * isolated record of each of its isolated positions in the fresh chunks again, exactly, visiting
   * only the chunks that hold one (the kernel's map of chunks by instrument); returns how many it wrote.
   */
  refreshTiers(header: number, shard: number, instrument: number, flags: number): number;
  /** The accounts holding a position of `instrument`, ascending, as u32 at `out` (room for every account); returns how many. O(positions). */
  holders(header: number, instrument: number, out: number): number;
  /**
   * Slides every block down over the unheld slots among the first `used` (scratch: arenaScratchBytes(used) bytes), and with
   * SWEEP_CHUNKS the slots the fresh chunks' isolated records name; returns the slots held. O(accounts + used + records).
   */
  compactArena(header: number, used: number, scratch: number, flags: number): number;
  arenaScratchBytes(used: number): number;
  /** The first account (+1) holding a position of `instrument` with a leverage above `cap`; 0 when none. O(positions). */
  leverageAbove(header: number, instrument: number, cap: number, slots: number, out: number): number;
  /** The first account (+1) whose unsettled funding on `instrument` at `fundingIndex` would be out of range; 0 when none. */
  fundingOutOfRange(header: number, instrument: number, fundingIndex: bigint): number;
  fundingSnapshotBounds(header: number, out: number): void;
  /**
   * Incremental evaluation (assembly/bounds.ts): evaluates the `count` listed accounts exactly, writes
   * each one's bound (f32 per account at `bounds`) from the bound table, lists at `changed` those
   * whose statuses changed (returns how many); `out` gets their failing scopes before, the shard
   * record (SHARD_LIQUIDATABLE) after; with `detail` ≠ 0, two i64 per position of theirs (its
   * maintenance, its equity as an isolated scope), for the hot book.
   */
  boundAccounts(header: number, shard: number, accounts: number, count: number, table: number, bounds: number, changed: number, out: number, detail: number, steps: number): number;
  /**
   * The incremental index's build, pass 1, over accounts [start, end): counts per (instrument,
   * bucket), and per side, lists the accounts below hotBound at `hot`; returns how many.
   */
  indexCount(header: number, bounds: number, steps: number, hotBound: number, perOctave: number, buckets: number, octave: number, counts: number, down: number, up: number, hot: number, start: number, end: number): number;
  /** Pass 2: places accounts [start, end) at `entries` through `fill` (the counts' prefix sums, and the entries of the accounts before `start`). */
  indexPlace(header: number, bounds: number, steps: number, hotBound: number, perOctave: number, buckets: number, octave: number, fill: number, entries: number, start: number, end: number): void;
  /** The hot book (assembly/hot.ts): moves an instrument's records from markOld to its mark now. */
  hotMove(header: number, shard: number, instrument: number, records: number, count: number, scopes: number, markOld: bigint): void;
  /** The hot book: settles the statuses of an instrument's records' scopes; lists the accounts whose scopes changed status. */
  hotSettle(header: number, records: number, count: number, scopes: number, changed: number): number;
  hotTick(header: number, shard: number, instrument: number, records: number, count: number, scopes: number, markOld: bigint, changed: number): number;
  /**
   * The hot book's solo records (a scope of one position) of an instrument, as its entry in the hot
   * book's table says, `weight` its q·(1 + r_max) rounded up: settles their scopes' statuses at its
   * mark now and lists the accounts whose scopes changed status (returns how many).
   */
  hotSolo(header: number, shard: number, instrument: number, table: number, weight: number, changed: number): number;
  /**
   * The hot book: admits the listed accounts [from, count) (detail from the position index listed
   * beside each at `at`), their scopes from `used` at `scopes` and their records in the arrays of
   * `table`; writes each one's first scope at `firsts`. Returns the index of the first account it
   * did not admit for want of room in an instrument's array (count when it admitted them all).
   */
  hotAdmit(header: number, accounts: number, at: number, from: number, count: number, detail: number, scopes: number, used: number, table: number, firsts: number, out: number, leasts: number): number;
  /**
   * One thread's part of a tick of an instrument's hot book shared by threads (both kinds of
   * records, in chunks of `chunk` each thread takes by raising the u32 at `counter`, zero at the
   * start): lists at `changed` the accounts its chunks changed and returns how many.
   */
  hotTickShared(header: number, shard: number, instrument: number, table: number, scopes: number, markOld: bigint, weight: number, counter: number, chunk: number, changed: number): number;
  /** The change in failing scopes of the last hotSettle, hotTick, hotSolo or hotTickShared. */
  hotFailingDelta(): number;
  /**
   * Sorts the `count` u32 values at `list` ascending, each value once at the front, with `scratch`
   * (room for `count` values) and `counts` (SORT_COUNTS_BYTES); returns how many distinct values.
   */
  sortUnique(list: number, count: number, scratch: number, counts: number): number;
  /** boundAccounts for accounts [start, end), none listed: returns their liquidatable scopes. */
  boundAccountRange(header: number, shard: number, accountStart: number, accountEnd: number, table: number, bounds: number, steps: number): number;
  /**
   * Applies the account operation records [from, count) at `ops` (assembly/operations.ts) in order,
   * up to the first it does not apply: returns its index (count when it applied them all).
   * `arena`: the position arena's used slots (u32, updated) and capacity (u32). With SWEEP_CHUNKS in
   * `flags`, an applied deposit's cross base is moved in the chunk records as it is applied, and with
   * APPLY_FILL_RECORDS too a fill that keeps a position open rewrites its record in place where it
   * can (OUTCOME_REFRESHED): a cross one always, an isolated one with `shard` (a shard record, whose
   * instrument cache the kernel fills for it; 0 for none).
   */
  applyUpdates(header: number, ops: number, from: number, count: number, arena: number, flags: number, shard: number): number;
  /** Prices of the positions of `count` accounts listed at `accounts`, as i64 pairs at `out`. */
  prices(header: number, shard: number, accounts: number, count: number, out: number): number;
}

/** Finds build/core.wasm from either src/engine (tests) or dist/src/engine (the installed CLI). */
export function coreWasmPath(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth++) {
    const candidate = join(directory, 'build', 'core.wasm');
    if (existsSync(candidate)) return candidate;
    directory = dirname(directory);
  }
  throw new Error('build/core.wasm not found: run `npm install` (or `npm run build:wasm`) to build the core');
}

let compiled: WebAssembly.Module | undefined;

/**
 * V8's flags for the core, set before it is compiled: every function compiled by the optimising
 * compiler (TurboFan) when the module is, not by the baseline compiler (Liftoff) at its first call
 * and replaced later. A kernel's call is long (a sweep, a build of the incremental index) and V8
 * replaces code only between calls, so the first call of each ran baseline code to its end: the
 * first build of the index on the 10M-account book took 1.9 s in the pool's boundRange where the
 * builds after it took 0.6 s (bench/README.md). The whole module takes about 30 ms to compile so.
 * The flags are the process's: other WebAssembly modules in it are compiled the same way.
 */
const CORE_V8_FLAGS = ['--no-liftoff', '--no-wasm-lazy-compilation'];

/** The compiled core module, compiled on first use and shared by every instance in this thread (and handed to the pool's workers). */
export function compileCore(): WebAssembly.Module {
  if (compiled === undefined) {
    for (const flag of CORE_V8_FLAGS) setFlagsFromString(flag);
    compiled = new WebAssembly.Module(readFileSync(coreWasmPath()));
  }
  return compiled;
}

/** An instance of the core over `memory`. Instantiating re-copies the module's (empty) static data. */
export function instantiateCore(memory: WebAssembly.Memory, module: WebAssembly.Module = compileCore()): CoreExports {
  const instance = new WebAssembly.Instance(module, {
    env: {
      memory,
      abort(message: number, file: number, line: number, column: number): never {
        throw new Error(
          `core assertion failed: ${readString(memory, message)} at ${readString(memory, file)}:${line}:${column}`,
        );
      },
    },
  });
  return instance.exports as unknown as CoreExports;
}

/** Reads an AssemblyScript string (UTF-16, length in the 4 bytes before it) from memory. */
function readString(memory: WebAssembly.Memory, pointer: number): string {
  if (pointer === 0) return '';
  const bytes = new Uint32Array(memory.buffer, pointer - 4, 1)[0];
  const units = new Uint16Array(memory.buffer.slice(pointer, pointer + bytes));
  return String.fromCharCode(...units);
}
