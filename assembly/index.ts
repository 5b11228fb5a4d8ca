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

import { H_ACCOUNT_COUNT, H_INSTRUMENT_COUNT, SHARD_LIST, SHARD_LIST_CAPACITY, SHARD_CACHE, SHARD_SCRATCH } from './layout';
import { headerValue } from './header';
import { fillCache, fillAccountInstruments } from './cache';
import { writeDebits, firstFundingOutOfRange } from './debits';
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
 * Flag of sweep, refreshDebits and refreshAccounts: keep the chunk sweep's records (refreshes lay
 * out and refresh them) and read them (a status sweep, no SWEEP_FULL, of whole chunks). Status
 * sweeps then read each chunk's records instead of the columns, building them first when stale:
 * cross positions as a stream of (size, account, bracket entry) with no mode branch and no account
 * loop, isolated positions as one compare of the mark with a precomputed threshold.
 */
export const SWEEP_CHUNKS: u32 = 2;

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
 * With SWEEP_CHUNKS it also refreshes the chunk sweep's records of those accounts (chunks.ts
 * layOutChunks: a chunk the range covers whole is counted and marked for the next sweep to
 * rebuild, in whichever worker sweeps it; an account of a chunk the range cuts through is
 * refreshed in place). The control plane calls it after anything that changes a balance, a
 * margin, a cost, a size, a mode, a funding snapshot or a funding index, so that sweeps between two
 * such changes do no funding arithmetic and compare each isolated position's mark with its
 * thresholds. Marks may move freely in between: records depend on them only through bracket
 * hints, which the sweep checks.
 */
export function refreshDebits(header: usize, shard: usize, accountStart: u32, accountEnd: u32, flags: u32): void {
  assert(accountStart <= accountEnd, 'refreshDebits: accountStart > accountEnd');
  assert(accountEnd <= headerValue(header, H_ACCOUNT_COUNT), "refreshDebits: accountEnd is past the book's account count");
  assert(shard != 0, 'refreshDebits: no shard record');
  const cache = <usize>load<u32>(shard + SHARD_CACHE);
  assert(cache != 0, 'refreshDebits: the shard record names no instrument cache');
  fillCache(header, cache);
  writeDebits(header, cache, accountStart, accountEnd);
  if ((flags & SWEEP_CHUNKS) == 0 || accountStart >= accountEnd) return;
  layOutChunks(header, cache, accountStart, accountEnd);
}

/**
 * refreshDebits for the `count` accounts listed (u32 account indices, any order, repeats allowed)
 * at `accounts`: each one's debits and, with SWEEP_CHUNKS, its records in place. The work is in
 * proportion to the accounts listed (and their chunks' records, which a change of counts shifts),
 * not to the book: the cache is filled only for the instruments the accounts hold.
 */
export function refreshAccounts(header: usize, shard: usize, accounts: usize, count: u32, flags: u32): void {
  assert(shard != 0, 'refreshAccounts: no shard record');
  const cache = <usize>load<u32>(shard + SHARD_CACHE);
  assert(cache != 0, 'refreshAccounts: the shard record names no instrument cache');
  const accountCount = headerValue(header, H_ACCOUNT_COUNT);
  const instruments = headerValue(header, H_INSTRUMENT_COUNT);
  // A long list fills the whole cache once; a short one only its accounts' instruments.
  const whole = count >= instruments;
  if (whole) fillCache(header, cache);
  for (let k: u32 = 0; k < count; k++) {
    const a = load<u32>(accounts + (<usize>k << 2));
    assert(a < accountCount, "refreshAccounts: a listed account is past the book's account count");
    if (!whole) fillAccountInstruments(header, cache, a);
    writeDebits(header, cache, a, a + 1);
    if ((flags & SWEEP_CHUNKS) != 0) layOutChunks(header, cache, a, a + 1);
  }
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
  // The same rules two ways: by chunk records for a status sweep (its records are kept by the
  // refreshes), account by account over the columns otherwise.
  let done: u32;
  if ((flags & (SWEEP_CHUNKS | SWEEP_FULL)) == SWEEP_CHUNKS && load<u32>(shard + SHARD_SCRATCH) != 0) {
    done = sweepChunks(header, accountStart, accountEnd, shard, cache);
  } else {
    done = sweepRange(header, accountStart, accountEnd, shard, cache, (flags & SWEEP_FULL) != 0);
  }
  return writeShardCounters(shard, done, accountEnd, capacity);
}

/**
 * The first account (its index + 1) holding a position of `instrument` whose unsettled funding at
 * `fundingIndex`, |z·q·(F − F_i)| / 10^6, would be above QUOTE_ABS_MAX micro; 0 when every one stays
 * in range. What a funding-index update checks before it is applied: O(positions) in 128-bit
 * integers, with no allocation.
 */
export function fundingOutOfRange(header: usize, instrument: u32, fundingIndex: i64): u32 {
  assert(instrument < headerValue(header, H_INSTRUMENT_COUNT), 'fundingOutOfRange: no such instrument');
  return firstFundingOutOfRange(header, instrument, fundingIndex);
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
