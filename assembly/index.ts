// The data plane's entry points: each evaluates (or derives) accounts [accountStart, accountEnd) of
// the book described by the header at `header`. It reads inputs and writes outputs in place,
// allocates nothing and keeps no state of its own in linear memory (what it derives, such as the
// chunk sweep's records, lives in regions of the book's layout), so any number of instances may run
// disjoint ranges over one shared memory. The rules are docs/numbers.md; src/reference/ is the
// BigInt twin the tests hold this to.
//
// The modules, by concept: math.ts (brackets, maintenance, funding owed), cache.ts (the shard's
// instrument cache), debits.ts, sweep.ts (the column sweep, the counts and lists every sweep
// shares), chunks.ts (the chunk sweep and its records), prices.ts (liquidation and bankruptcy
// prices, the isolated thresholds), wide.ts (128-bit arithmetic), header.ts (reading the header);
// layout.ts and constants.ts name every offset and precision, and are exported from the module as
// globals for the control plane.
//
// The sweeps are written without data-dependent branches where they can be (selects instead of
// ifs, a branchless bracket search over a padded tier table, records grouped by kind): on a real
// book, modes, signs and brackets are random from one position to the next, and each mispredicted
// branch costs more than the arithmetic it skips. The branches left are loop-invariant or almost
// never taken (a moved bracket, a product that needs 128 bits, a failing scope, a status that
// changed).

import { H_ACCOUNT_COUNT, SHARD_LIST, SHARD_LIST_CAPACITY, SHARD_CACHE, SHARD_SCRATCH } from './layout';
import { headerValue } from './header';
import { fillCache } from './cache';
import { writeDebits } from './debits';
import { layOutChunks, sweepChunks } from './chunks';
import { sweepRange, resetShardCounters, writeShardCounters } from './sweep';
import { writePrices } from './prices';

// Every constant of the kernel's memory formats and numbers, as immutable wasm globals: the control
// plane takes them from here (src/engine/kernel-constants.ts) instead of repeating them.
export * from './constants';
export * from './layout';

// The benchmark's memory-bandwidth baseline runs in the same module, over the same memory.
export { streamRead, streamReadScalar } from './bandwidth';

/** Sweep flag: also write each position's unrealized PnL and maintenance (reports, operations). */
export const SWEEP_FULL: u32 = 1;
/**
 * Flag of sweep and refreshDebits, set by the control plane when the layout is compact: every
 * account's block starts where the previous one ends (posStart is the running sum of the counts).
 * refreshDebits then marks the chunks it touched stale, and a status sweep (no SWEEP_FULL) reads
 * each chunk's sweep records instead of the columns, building them first when stale: cross
 * positions as a stream of (size, account, bracket entry) with no mode branch and no account loop,
 * isolated positions as two compares of the mark with precomputed thresholds.
 */
export const SWEEP_COMPACT: u32 = 2;

// Each entry point asserts its arguments at its entry, before it touches the book: an account range
// within the book (start ≤ end ≤ the header's account count), a shard record (≠ 0) that names an
// instrument cache (≠ 0); prices checks each listed account (< the account count) before it reads
// it. A failed assertion calls the host's abort, which throws (src/engine/core.ts): the caller gets
// a "core assertion failed: <entry>: <what>" error and the book is left as it was. The control
// plane validates what it passes (Engine.prices its list); these are the backstop.

/** The first byte JavaScript may use for the book: everything below belongs to the module. */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * Writes each position's debit, cost basis + unsettled funding, for accounts [accountStart,
 * accountEnd): the part of unrealized PnL that does not move with the price (PnL = value − debit).
 * With SWEEP_COMPACT (the layout is compact) it also marks every chunk holding one of those
 * accounts stale, for the next sweep to rebuild its records (in whichever worker sweeps it). The
 * control plane calls it after anything that changes a balance, a margin, a cost, a size, a mode,
 * a funding snapshot or a funding index, so that sweeps between two such changes do no funding
 * arithmetic and compare each isolated position's mark with its thresholds. Marks may move freely
 * in between: records depend on them only through bracket hints, which the sweep checks.
 */
export function refreshDebits(header: usize, shard: usize, accountStart: u32, accountEnd: u32, flags: u32): void {
  assert(accountStart <= accountEnd, 'refreshDebits: accountStart > accountEnd');
  assert(accountEnd <= headerValue(header, H_ACCOUNT_COUNT), "refreshDebits: accountEnd is past the book's account count");
  assert(shard != 0, 'refreshDebits: no shard record');
  const cache = <usize>load<u32>(shard + SHARD_CACHE);
  assert(cache != 0, 'refreshDebits: the shard record names no instrument cache');
  fillCache(header, cache);
  writeDebits(header, cache, accountStart, accountEnd);
  if ((flags & SWEEP_COMPACT) == 0 || accountStart >= accountEnd) return;
  layOutChunks(header, accountStart, accountEnd);
}

/**
 * Evaluates the scopes of accounts [accountStart, accountEnd): each account's cross equity,
 * maintenance and status, each isolated position's status, and with SWEEP_FULL each position's
 * unrealized PnL and maintenance. Returns the number of liquidatable scopes.
 *
 * `shard` is a shard record (assembly/layout.ts SHARD_*): its instrument cache and chunk sums are
 * scratch for this call; with a cancel flag the kernel stops at a chunk (or CANCEL_CHECK_ACCOUNTS)
 * boundary once the flag is set; with a list it appends each liquidatable scope while there is
 * room; it always gets the counters.
 */
export function sweep(header: usize, accountStart: u32, accountEnd: u32, flags: u32, shard: usize): u32 {
  assert(accountStart <= accountEnd, 'sweep: accountStart > accountEnd');
  assert(accountEnd <= headerValue(header, H_ACCOUNT_COUNT), "sweep: accountEnd is past the book's account count");
  assert(shard != 0, 'sweep: no shard record');
  const cache = <usize>load<u32>(shard + SHARD_CACHE);
  assert(cache != 0, 'sweep: the shard record names no instrument cache');
  fillCache(header, cache);
  const list = <usize>load<u32>(shard + SHARD_LIST);
  const capacity: u32 = list == 0 ? 0 : load<u32>(shard + SHARD_LIST_CAPACITY);
  resetShardCounters();
  // The same rules two ways: by chunk records for a status sweep of a compact book (its records
  // are kept by refreshDebits), account by account over the columns otherwise.
  let done: u32;
  if ((flags & (SWEEP_COMPACT | SWEEP_FULL)) == SWEEP_COMPACT && load<u32>(shard + SHARD_SCRATCH) != 0) {
    done = sweepChunks(header, accountStart, accountEnd, shard, cache);
  } else {
    done = sweepRange(header, accountStart, accountEnd, shard, cache, (flags & SWEEP_FULL) != 0);
  }
  return writeShardCounters(shard, done, accountEnd, capacity);
}

/**
 * Liquidation and bankruptcy prices of every position of the `count` accounts listed (u32 account
 * indices) at `accounts`, written in order as i64 pairs (liquidation, bankruptcy; 0 = none) at
 * `out`: the listed accounts' positions, account after account. Self-contained: it evaluates each
 * listed account itself and needs no sweep before it; `shard` lends its instrument cache.
 * Returns the number of pairs written. Each listed account is checked to be within the book
 * before it is read.
 */
export function prices(header: usize, shard: usize, accounts: usize, count: u32, out: usize): u32 {
  assert(shard != 0, 'prices: no shard record');
  const cache = <usize>load<u32>(shard + SHARD_CACHE);
  assert(cache != 0, 'prices: the shard record names no instrument cache');
  fillCache(header, cache);
  return writePrices(header, cache, accounts, count, out);
}
