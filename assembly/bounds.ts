// Incremental evaluation's kernel side (docs/incremental.md): evaluate an account exactly over the
// columns, say whether any of its statuses changed, and write its **bound**: the relative price
// move y that each instrument it holds may take from the marks of this evaluation before any of
// its scopes could change status. The control plane (src/engine/incremental.ts) keeps the index
// that finds the accounts a tick can reach and calls these entries for them.
//
// The bound of a scope with status s, equity E and maintenance M at the marks of this evaluation:
//
//   H = E − M + 1                        healthy (E'' − M'' ≥ 0 keeps it healthy)
//   H = min(M − E, E + 1)                liquidatable (E'' < M'' and E'' ≥ 0 keep it so)
//   H = min(−E, M) cross, −E isolated    bankrupt (E'' < 0, and for the pool M'' > 0)
//
// Moving marks and funding indices changes E − M, E and M each by at most
// L = Σ c_j·|Δ_j| + 2·positions, where c_j = |z_j|·q_j·(1 + r_max_j) (r_max the instrument's highest
// maintenance rate, so that no tier can break the bound), Δ_j the position's mark move plus its
// instrument's funding-index moves / 10^6, and the 2 per position the ceilings of maintenance and
// funding owed. With P_j the marks of this evaluation, the scope keeps its status while
//
//   |Δ_j| < y·P_j for every instrument j it holds,   y = (H − 2·positions − 1) / Σ c_j·P_j
//
// since then L < y·Σ c_j·P_j + 2·positions ≤ H.
//
// r_max is what a move of any size may meet; a move within y meets only the brackets its notional
// passes through. While |Δ_j| < y·P_j, position j's notional N_j stays below N_j·(1 + y), so it
// stays at or below the top of its bracket k_j when y ≤ floor_{k_j+1}/N_j − 1, and meets only
// brackets 0..k_j, whose rates are at most r_k_j (rates do not decrease across brackets). So with
// c'_j = |z_j|·q_j·(1 + r_k_j),
//
//   y' = min((H − 2·positions − 1) / Σ c'_j·P_j,  min_j (floor_{k_j+1}/N_j − 1))
//
// keeps the status too, and the scope's bound is max(y, y'): on the generated book's majors
// (r_max 50%, most positions in the 0.4% bracket) y' is about 1.49·y. The account's bound is the
// least of its scopes' (+∞ with no positions), rounded down to f32. The arithmetic is f64 with a
// relative margin of 10^-9 against the account on every term: far above f64's rounding (10^-16),
// far below any move that matters.

import { debitOf } from './debits';
import { MODE_CROSS, MODE_ISOLATED, STATUS_HEALTHY, STATUS_LIQUIDATABLE, POSITIONS_PER_ACCOUNT_MAX, SCALE_6 } from './constants';
import {
  H_ACCOUNT_COUNT,
  H_ACC_BALANCE,
  H_ACC_POS_START,
  H_ACC_POS_COUNT,
  H_ACC_CROSS_EQUITY,
  H_ACC_CROSS_MAINT,
  H_ACC_STATUS,
  H_POS_SIZE,
  H_POS_MARGIN,
  H_POS_INST,
  H_POS_MODE,
  H_POS_STATUS,
  H_POS_BRACKET,
  CHUNK_SCRATCH_BYTES,
  CACHE_UNIT,
  CACHE_STRIDE,
  CACHE_Q,
  CACHE_DIV,
  CACHE_FLOORS,
  CACHE_TIERS,
  CACHE_TIER_BYTES,
} from './layout';
import { column, headerValue } from './header';
import { sweepRange } from './sweep';
import { maintenanceHinted, notionalOf, valueOf } from './math';
import { touchEvaluated } from './touch';

/** Bytes per instrument of the bound table the control plane writes: f64 c (q·(1 + r_max)), f64 P (the mark). */
export const BOUND_TABLE_STRIDE: u32 = 16;
/** Offsets within an instrument's entry of the bound table. */
export const BOUND_C: u32 = 0;
export const BOUND_P: u32 = 8;

// An account's old statuses are kept in the shard's chunk scratch while it is evaluated, and then
// its isolated scopes' bounds (f32 each, from SCRATCH_SCOPES) until its positions' steps are written.
const SCRATCH_SCOPES: u32 = 256;
if (POSITIONS_PER_ACCOUNT_MAX + 1 > SCRATCH_SCOPES || SCRATCH_SCOPES + POSITIONS_PER_ACCOUNT_MAX * 4 > CHUNK_SCRATCH_BYTES) ERROR("an account's statuses and scope bounds overrun CHUNK_SCRATCH_BYTES");

/**
 * The bounds region, per account: its bound (f32), its failing scopes at its last evaluation (u8,
 * failingColumn; for an account in the hot book, written when it leaves it, src/engine/hot-book.ts)
 * and its **shorts** (u8): bit k set when position k of its block is short,
 * for its first SHORTS_BITS positions (the index's build reads the sizes of later ones), and
 * SHORTS_REPEAT when two of its positions may be on the same instrument (their numbers agree
 * modulo 64: a repeat, cross and isolated, or a rare coincidence). The build tags each entry with
 * its sides from it, without reading the size column again, and takes the account's positions one
 * by one when it has no repeat.
 */
export const BOUNDS_REGION_BYTES_PER_ACCOUNT: u32 = 7;
/** Where the failing bytes, the shorts bytes and the least bytes start in the bounds region, in bytes per account. */
export const BOUNDS_FAILING_AT: u32 = 4;
export const BOUNDS_SHORTS_AT: u32 = 5;
export const BOUNDS_LEAST_AT: u32 = 6;
if (BOUNDS_FAILING_AT != 4 || BOUNDS_SHORTS_AT != BOUNDS_FAILING_AT + 1 || BOUNDS_LEAST_AT != BOUNDS_SHORTS_AT + 1 || BOUNDS_REGION_BYTES_PER_ACCOUNT != BOUNDS_LEAST_AT + 1) {
  ERROR('the bounds region is f32 bounds, then failing, shorts and least bytes');
}
export const SHORTS_BITS: u32 = 7;
export const SHORTS_REPEAT: u32 = 1 << SHORTS_BITS;

// An account's bound is its least scope's. Each instrument it holds is given the bound of the scopes
// holding it instead (docs/incremental.md, Bounds per instrument), from each position's **steps**: a
// u8 per position slot, in a region the caller passes, read right after the evaluation that writes
// them (by the build's placement and by the triggers of an evaluated account): how far the bound of
// the position's scope is above the account's, in steps of 2^STEPS_SHIFT of their f32 bits (a
// sixteenth of an octave), rounded down and at most 255, so that the f32 with the bits of the
// account's bound plus steps << STEPS_SHIFT is at most the scope's bound. An instrument's bound is
// the least of its positions'.
//
// The account's **least** byte names its least scope, for the hot book's admission in part
// (src/engine/incremental.ts, Hot in part): bit k (k < LEAST_BITS) set when position k of the block
// belongs to it, and LEAST_CROSS set when it is the cross pool (its positions past the first
// LEAST_BITS then belong to it too); 0 without positions, or when the least scope is an isolated
// position past the first LEAST_BITS (no admission in part).
export const STEPS_SHIFT: u32 = 19;
export const STEPS_MAX: u32 = 255;
export const LEAST_BITS: u32 = 7;
export const LEAST_CROSS: u32 = 1 << LEAST_BITS;
if (LEAST_BITS < SHORTS_BITS) ERROR("the index's build reads the least bits of every position of an account with at most SHORTS_BITS");
if ((<u64>STEPS_MAX << STEPS_SHIFT) >= (<u64>1 << 31) || LEAST_CROSS > 255) ERROR('a step must stay within an f32 bound\'s bits, the least bits within a byte');

/** Whether position j of the block starting at `first` is short (1) or not (0), from its account's shorts or, past them, its size. */
// @ts-ignore: decorator
@inline
function positionSide(posSize: usize, shorts: u32, first: u32, j: u32): u32 {
  return j - first < SHORTS_BITS ? (shorts >> (j - first)) & 1 : load<u32>(posSize + (<usize>j << 3) + 4) >> 31;
}

/** The failing-scope bytes after the bounds: one per account, at `bounds + BOUNDS_FAILING_AT·accounts`. */
// @ts-ignore: decorator
@inline
export function failingColumn(header: usize, bounds: usize): usize {
  return bounds + <usize>headerValue(header, H_ACCOUNT_COUNT) * BOUNDS_FAILING_AT;
}

/** The shorts bytes after the failing bytes: one per account, at `bounds + BOUNDS_SHORTS_AT·accounts`. */
// @ts-ignore: decorator
@inline
function shortsColumn(header: usize, bounds: usize): usize {
  return bounds + <usize>headerValue(header, H_ACCOUNT_COUNT) * BOUNDS_SHORTS_AT;
}

/** The least bytes (above): one per account, at `bounds + BOUNDS_LEAST_AT·accounts`. */
// @ts-ignore: decorator
@inline
function leastColumn(header: usize, bounds: usize): usize {
  return bounds + <usize>headerValue(header, H_ACCOUNT_COUNT) * BOUNDS_LEAST_AT;
}

/** The f32 bits of a position's scope's bound: the account's bound's bits plus the position's steps. */
// @ts-ignore: decorator
@inline
function stepsBits(boundBits: u32, steps: u32): u32 {
  return boundBits + (steps << STEPS_SHIFT);
}

/** The relative margin against the account on every f64 term of a bound. */
const MARGIN: f64 = 1e-9;
/** A rate's scale (ppm), as an f64. */
const RATE_SCALE_F: f64 = <f64>SCALE_6;

/** The status-keeping distance H of a scope (above), in micro; ≤ 0 means no bound. */
// @ts-ignore: decorator
@inline
function distance(status: u32, equity: i64, maint: i64, cross: bool): i64 {
  if (status == STATUS_HEALTHY) return equity - maint + 1;
  if (status == STATUS_LIQUIDATABLE) return min<i64>(maint - equity, equity + 1);
  return cross ? min<i64>(-equity, maint) : -equity;
}

/**
 * y of one scope (above) from its distance H, its positions (one of an instrument with d > 1 counts
 * twice) and Σ c·P (`reach`): +∞ with no
 * positions, 0 when nothing is left.
 */
// @ts-ignore: decorator
@inline
function scopeBound(h: i64, positions: u32, reach: f64): f64 {
  if (positions == 0) return f64.POSITIVE_INFINITY;
  const hf = <f64>h;
  const num = hf - 2.0 * <f64>positions - 1.0 - abs<f64>(hf) * MARGIN;
  if (!(num > 0.0)) return 0.0;
  return (num / (reach * (1.0 + MARGIN))) * (1.0 - MARGIN);
}

/**
 * A scope's bound from its distance H, its positions, Σ c·P at the highest rates (`reach`), Σ c'·P
 * at its brackets' rates (`reachHere`) and the least relative move that takes one of its positions'
 * notionals out of its bracket (`exit`): max(y, min(y', exit)) (above).
 */
// @ts-ignore: decorator
@inline
function scopeBoundHere(h: i64, positions: u32, reach: f64, reachHere: f64, exit: f64): f64 {
  return max<f64>(scopeBound(h, positions, reach), min<f64>(scopeBound(h, positions, reachHere), exit));
}

/**
 * The least relative move up that takes a notional in bracket k out of it (floor_{k+1}/notional − 1,
 * with the margin against the account), +∞ for a zero notional; and, in `rateHere`, bracket k's rate
 * (ppm): the highest of brackets 0..k, since the loaders refuse a tier table whose rates decrease
 * (src/book/ranges.ts checkTiers), as the maintenance formula's cumulative amounts require.
 */
// @ts-ignore: decorator
@inline
function bracketExit(notional: f64, c: usize, k: usize): f64 {
  rateHere = <f64>load<u64>(c + CACHE_TIERS + k * <usize>CACHE_TIER_BYTES);
  if (notional == 0.0) return f64.POSITIVE_INFINITY;
  const top = <f64>load<i64>(c + CACHE_FLOORS + ((k + 1) << 3));
  return (top / (notional * (1.0 + MARGIN))) * (1.0 - MARGIN) - 1.0;
}

/** The rate bracketExit found (a wasm global: per instance). */
let rateHere: f64 = 0;

/** The largest f32 at or below x (x ≥ 0). */
// @ts-ignore: decorator
@inline
function f32Down(x: f64): f32 {
  let f = <f32>x;
  if (<f64>f > x) f = reinterpret<f32>(reinterpret<u32>(f) - 1);
  return f;
}

/**
 * Evaluates account a exactly over the columns (as the column sweep does: its cross equity,
 * maintenance and status, each isolated status, and the shard's counters), writes its bound as an f32 at `bounds + 4a`, and returns whether any of
 * its statuses changed. Its failing scopes before the evaluation are added to `oldFailing`.
 */
// @ts-ignore: decorator
@inline
function evaluateBounded(header: usize, shard: usize, cache: usize, scratch: usize, a: u32, table: usize, bounds: usize, detail: usize, steps: usize): u32 {
  const accStatus = column(header, H_ACC_STATUS);
  const posStatus = column(header, H_POS_STATUS);
  const posMode = column(header, H_POS_MODE);
  const posSize = column(header, H_POS_SIZE);
  const posInst = column(header, H_POS_INST);
  const posMargin = column(header, H_POS_MARGIN);
  const posBracket = column(header, H_POS_BRACKET);
  const first = load<u32>(column(header, H_ACC_POS_START) + (<usize>a << 2));
  const end = first + load<u32>(column(header, H_ACC_POS_COUNT) + (<usize>a << 2));

  // The statuses before: the pool's, and each isolated position's (a cross slot has none); and the
  // failing scopes at its last evaluation (not recounted: an update may have closed one since).
  store<u8>(scratch, load<u8>(accStatus + a));
  for (let j = first; j < end; j++) {
    store<u8>(scratch + 1 + (j - first), <u8>select<u32>(<u32>load<u8>(posStatus + j), STATUS_HEALTHY, load<u8>(posMode + j) == MODE_ISOLATED));
  }
  const failing = failingColumn(header, bounds) + <usize>a;
  oldFailing += <u32>load<u8>(failing);

  // The statuses, as the column sweep writes them (no PnL and maintenance per position: a book that
  // is only evaluated for statuses never touches those columns).
  sweepRange(header, a, a + 1, shard, cache, false);

  const crossStatus = <u32>load<u8>(accStatus + a);
  let changed = crossStatus != <u32>load<u8>(scratch);
  let failingAfter: u32 = <u32>(crossStatus != STATUS_HEALTHY);
  let crossPositions: u32 = 0;
  let crossReach: f64 = 0;
  let crossReachHere: f64 = 0;
  let crossExit: f64 = f64.POSITIVE_INFINITY;
  // The least scope's bound, and which scope that is (above, the least byte).
  let least: f64 = f64.POSITIVE_INFINITY;
  let leastScope: u32 = SCOPE_NONE;
  let crossBits: u32 = 0; // bit k: position k of the block is cross (k < LEAST_BITS)
  let shorts: u32 = 0;
  let held: u64 = 0; // the account's instruments modulo 64, for SHORTS_REPEAT
  for (let j = first; j < end; j++) {
    const j8 = <usize>j << 3;
    if (j - first < SHORTS_BITS) shorts |= <u32>(load<i64>(posSize + j8) < 0) << (j - first);
    const heldBit = <u64>1 << <u64>(load<u16>(posInst + (<usize>j << 1)) & 63);
    shorts |= select<u32>(SHORTS_REPEAT, 0, (held & heldBit) != 0);
    held |= heldBit;
    const inst = <usize>load<u16>(posInst + (<usize>j << 1));
    const t = table + inst * <usize>BOUND_TABLE_STRIDE;
    const c = cache + inst * <usize>CACHE_STRIDE;
    const magnitude = <f64>abs<i64>(load<i64>(posSize + j8));
    const reach = magnitude * load<f64>(t + BOUND_C) * load<f64>(t + BOUND_P);
    // The bracket the sweep just found for the position's notional (its hint), and what a move
    // within it meets: its rate, and how far up the notional may go before it leaves it.
    // d > 1 (docs/numbers.md, "Instruments finer than a micro"): a unit of size at a unit of price is
    // q/d micro, and the floored value and the notional taken from it are each off by less than one
    // micro more, which the scope's slack counts as one position more (`weight`).
    // The divisions only where d > 1: a book without such instruments evaluates as it did before.
    let notional = magnitude * <f64>load<i64>(c + CACHE_UNIT);
    let sizeQuote = magnitude * <f64>load<i64>(c + CACHE_Q);
    let weight: u32 = 1;
    const d = load<i64>(c + CACHE_DIV);
    if (d != 1) {
      notional /= <f64>d;
      sizeQuote /= <f64>d;
      weight = 2;
    }
    const exit = bracketExit(notional, c, <usize>load<u8>(posBracket + j));
    const reachHere = sizeQuote * (1.0 + rateHere / RATE_SCALE_F) * (1.0 + MARGIN) * load<f64>(t + BOUND_P);
    const isolated = load<u8>(posMode + j) != MODE_CROSS;
    if (isolated || detail != 0) {
      // The position's equity as an isolated scope and its maintenance, as the sweep computed them:
      // the isolated bound needs them, and the hot book (`detail`) both for every position.
      const value = valueOf(load<i64>(posSize + j8), c);
      const equity = load<i64>(posMargin + j8) + value - debitOf(header, c, j);
      const maint = maintenanceHinted(notionalOf(value, load<i64>(posSize + j8)), c, posBracket + j);
      if (detail != 0) {
        const entry = detail + (<usize>detailPositions << 4);
        store<i64>(entry, maint);
        store<i64>(entry, equity, 8);
        detailPositions++;
      }
      if (isolated) {
        const status = <u32>load<u8>(posStatus + j);
        changed = changed || status != <u32>load<u8>(scratch + 1 + (j - first));
        failingAfter += <u32>(status != STATUS_HEALTHY);
        const scope = scopeBoundHere(distance(status, equity, maint, false), weight, reach, reachHere, exit);
        store<f32>(scratch + SCRATCH_SCOPES + ((j - first) << 2), f32Down(scope));
        if (scope < least) {
          least = scope;
          leastScope = j - first;
        }
      }
    }
    if (!isolated) {
      if (j - first < LEAST_BITS) crossBits |= 1 << (j - first);
      crossPositions += weight;
      crossReach += reach;
      crossReachHere += reachHere;
      crossExit = min<f64>(crossExit, exit);
    }
  }
  const a8 = <usize>a << 3;
  const crossH = distance(crossStatus, load<i64>(column(header, H_ACC_CROSS_EQUITY) + a8), load<i64>(column(header, H_ACC_CROSS_MAINT) + a8), true);
  const cross = scopeBoundHere(crossH, crossPositions, crossReach, crossReachHere, crossExit);
  if (cross < least) {
    least = cross;
    leastScope = SCOPE_CROSS;
  }
  const leastF = f32Down(least);
  store<f32>(bounds + (<usize>a << 2), leastF);
  store<u8>(failing, <u8>failingAfter);
  store<u8>(shortsColumn(header, bounds) + <usize>a, <u8>shorts);
  // Which positions the least scope holds: none without positions, or when the least scope is an
  // isolated position past the first LEAST_BITS.
  const leastBits = leastScope == SCOPE_CROSS ? crossBits | LEAST_CROSS : leastScope < LEAST_BITS ? <u32>1 << leastScope : 0;
  store<u8>(leastColumn(header, bounds) + <usize>a, <u8>leastBits);
  // Each position's steps: its scope's bound (the pool's, or its own isolated scope's) above the account's.
  const crossSteps = stepsAbove(f32Down(cross), leastF);
  for (let j = first; j < end; j++) {
    const own = load<u8>(posMode + j) != MODE_CROSS ? stepsAbove(load<f32>(scratch + SCRATCH_SCOPES + ((j - first) << 2)), leastF) : crossSteps;
    store<u8>(steps + <usize>j, <u8>own);
  }
  return <u32>changed;
}

/** The steps (above) of an f32 bound `bound` over the account's `least` (bound ≥ least): its bits' excess >> STEPS_SHIFT, at most STEPS_MAX. */
// @ts-ignore: decorator
@inline
function stepsAbove(bound: f32, least: f32): u32 {
  return least == f32.POSITIVE_INFINITY ? 0 : min<u32>(STEPS_MAX, (reinterpret<u32>(bound) - reinterpret<u32>(least)) >> STEPS_SHIFT);
}

/** evaluateBounded's least scope: the cross pool, or none (an account with no positions); else the isolated position's place in the block. */
const SCOPE_CROSS: u32 = 0xfffffffe;
const SCOPE_NONE: u32 = 0xffffffff;

/** Failing scopes of the accounts evaluated by this call, as of their last evaluation (a wasm global: per instance). */
let oldFailing: u32 = 0;
/** Positions whose detail this call has written. */
let detailPositions: u32 = 0;

/**
 * Evaluates the `count` accounts listed (u32, each once) at `accounts` exactly, writes each one's
 * bound into `bounds` (f32 per account of the book), and lists at `changed` those whose statuses
 * changed. Returns how many it listed. `out` gets the failing scopes of the listed accounts as
 * of their last evaluation (u32). With `detail` ≠ 0, it also writes two i64 per position of the
 * listed accounts, in order (account after account, each block in slot order): the position's
 * maintenance and its equity as an isolated scope (margin + value − debit).
 */
export function boundListed(header: usize, shard: usize, cache: usize, scratch: usize, accounts: usize, count: u32, table: usize, bounds: usize, changed: usize, out: usize, accountCount: u32, detail: usize, steps: usize): u32 {
  oldFailing = 0;
  detailPositions = 0;
  let listed: u32 = 0;
  // Every listed account is checked before any is evaluated, so a refused list changes nothing.
  for (let k: u32 = 0; k < count; k++) assert(load<u32>(accounts + (<usize>k << 2)) < accountCount, "boundAccounts: a listed account is past the book's account count");
  // The list's misses taken together first (the sum is stored where nothing reads it).
  store<i64>(scratch, touchBounded(header, accounts, count, bounds));
  for (let k: u32 = 0; k < count; k++) {
    const a = load<u32>(accounts + (<usize>k << 2));
    if (evaluateBounded(header, shard, cache, scratch, a, table, bounds, detail, steps) != 0) {
      store<u32>(changed + (<usize>listed << 2), a);
      listed++;
    }
  }
  store<u32>(out, oldFailing);
  return listed;
}

/**
 * Loads what evaluating the listed accounts reads first, as independent loads taken together (an
 * evaluation takes its misses one after another): each account's columns, its bound and its
 * failing, shorts and least bytes (which the evaluation writes: the step after a new tier
 * table of an alt took 57–58 ms with them touched against 59–63 without), then its first and last
 * positions' columns (the first alone: on the 10M-account book, whose re-evaluated accounts hold
 * 5.6 positions, the kernel took 0.98–1.09 µs an account against 0.90–0.97 with the last too; a
 * position every line of the 8-byte columns besides, no less). The
 * caller lists a few hundred accounts at a time, so the lines are still in the cache when they
 * are evaluated. Returns a sum of what it loaded, for the caller to store.
 */
function touchBounded(header: usize, accounts: usize, count: u32, bounds: usize): i64 {
  const accPosStart = column(header, H_ACC_POS_START);
  const accPosCount = column(header, H_ACC_POS_COUNT);
  const accBalance = column(header, H_ACC_BALANCE);
  const accStatus = column(header, H_ACC_STATUS);
  const accCrossEquity = column(header, H_ACC_CROSS_EQUITY);
  const accCrossMaint = column(header, H_ACC_CROSS_MAINT);
  const failing = failingColumn(header, bounds);
  const shortsAt = shortsColumn(header, bounds);
  const leastAt = leastColumn(header, bounds);
  let sum: i64 = 0;
  for (let k: u32 = 0; k < count; k++) {
    const a = <usize>load<u32>(accounts + (<usize>k << 2));
    sum += <i64>load<u32>(accPosStart + (a << 2)) + <i64>load<u32>(accPosCount + (a << 2)) + load<i64>(accBalance + (a << 3)) + <i64>load<u8>(accStatus + a);
    sum += load<i64>(accCrossEquity + (a << 3)) + load<i64>(accCrossMaint + (a << 3)) + <i64>load<u32>(bounds + (a << 2)) + <i64>load<u8>(failing + a);
    sum += <i64>load<u8>(shortsAt + a) + <i64>load<u8>(leastAt + a);
  }
  for (let k: u32 = 0; k < count; k++) {
    const a = <usize>load<u32>(accounts + (<usize>k << 2));
    const first = <usize>load<u32>(accPosStart + (a << 2));
    const positions = <usize>load<u32>(accPosCount + (a << 2));
    // Its first position's columns and its last's: a block of several often crosses a line of the 8-byte columns.
    sum += touchEvaluated(header, first);
    if (positions > 1) sum += touchEvaluated(header, first + positions - 1);
  }
  return sum;
}

/** Evaluates accounts [start, end) exactly and writes each one's bound (the index's build). */
export function boundRange(header: usize, shard: usize, cache: usize, scratch: usize, start: u32, end: u32, table: usize, bounds: usize, steps: usize): void {
  for (let a = start; a < end; a++) evaluateBounded(header, shard, cache, scratch, a, table, bounds, 0, steps);
}

// The index's build (src/engine/incremental.ts): per instrument, the accounts holding it in
// buckets by bound on a log scale, `perOctave` buckets per doubling from 2^BUCKET_MIN_EXPONENT,
// `buckets` in all (the last takes every bound above), the cell of (instrument i, bucket b) being
// i·buckets + b. Each entry is the account tagged with its **sides**: an account whose scopes are
// all healthy can only fail by a move against its positions (a healthy scope's equity gains at
// least what its maintenance does on a move in its favour, less the ceilings' 2 micro a position
// its bound keeps), so its side is where the instrument's mark falls if it is long there
// (INDEX_SIDE_DOWN), where it rises if short (INDEX_SIDE_UP), both if both; an account with a
// failing scope can recover one way and go bankrupt the other, so it has both. An excursion one
// way takes only the entries of its side. (Cells per side would double the table the build
// scatters into and made its two passes 1.7–1.8 times slower on the 10M-account book.) An account
// with a bound below `hotBound` is listed for the hot book instead, and one with no positions (an
// infinite bound) nowhere.

/** The sides of an instrument's index: its long positions lose as its mark falls, its short ones as it rises. */
export const INDEX_SIDES: u32 = 2;
export const INDEX_SIDE_DOWN: u32 = 0;
export const INDEX_SIDE_UP: u32 = 1;
/** An entry: the account in its low INDEX_SIDE_SHIFT bits, bit INDEX_SIDE_SHIFT + s set when it is on side s. */
export const INDEX_SIDE_SHIFT: u32 = 30;
export const INDEX_ACCOUNTS_MAX: u32 = 1 << INDEX_SIDE_SHIFT;
if (INDEX_SIDE_SHIFT + INDEX_SIDES > 32) ERROR('an index entry must hold its account and its sides in 32 bits');
if (INDEX_SIDE_DOWN != 0 || INDEX_SIDE_UP != 1) ERROR("indexBuckets takes a size's sign bit for its side");

/** The least exponent of the bucket scale: bounds below 2^(BUCKET_MIN_EXPONENT + 1/perOctave) share bucket 0. */
export const BUCKET_MIN_EXPONENT: i32 = -24;

/** The most buckets per octave: each slice of the mantissa then holds at most one sub-bucket threshold. */
export const OCTAVE_PER_MAX: u32 = 128;
/** A mantissa's slice in the octave table: its top 23 − OCTAVE_SLICE_SHIFT bits. */
export const OCTAVE_SLICE_SHIFT: u32 = 13;
// The thresholds are 2^23·(2^(1/128) − 1) ≈ 45,600 apart at least; a slice is 2^13 = 8,192 wide.
if (<u32>((1 << 23) * 0.0054) <= (1 << OCTAVE_SLICE_SHIFT) || OCTAVE_PER_MAX > 128) ERROR('a slice of the mantissa must hold at most one threshold');

/**
 * The bucket of a bound from its f32 bits, with no logarithm: (its exponent − BUCKET_MIN_EXPONENT)
 * · perOctave, plus its mantissa's sub-bucket from the `octave` table (src/engine/incremental.ts
 * writeOctaveTable): perOctave + 1 u32 thresholds T_k = ceil((2^(k/perOctave) − 1)·2^23), then a u16 per
 * slice of the mantissa (OCTAVE_SLICE_SHIFT), the sub-bucket where the slice starts. A slice holds
 * at most one threshold, so one compare finishes it. A bound in bucket b is at least
 * 2^(BUCKET_MIN_EXPONENT + b/perOctave). A negative bound (none is) would go to bucket 0.
 */
// @ts-ignore: decorator
@inline
function bucketOf(bits: u32, perOctave: u32, buckets: u32, octave: usize): u32 {
  if ((bits >> 31) != 0) return 0;
  const m = bits & 0x7fffff;
  let sub = <u32>load<u16>(octave + (<usize>(perOctave + 1) << 2) + (<usize>(m >> OCTAVE_SLICE_SHIFT) << 1));
  sub += <u32>(m >= load<u32>(octave + (<usize>(sub + 1) << 2)));
  const b = (<i32>(bits >> 23) - 127 - BUCKET_MIN_EXPONENT) * <i32>perOctave + <i32>sub;
  return b < 0 ? 0 : b >= <i32>buckets ? buckets - 1 : <u32>b;
}

/** Whether position j is the first of its account's block [first, j] on its instrument. */
// @ts-ignore: decorator
@inline
function firstOfInstrument(posInst: usize, first: u32, j: u32): bool {
  const i = load<u16>(posInst + (<usize>j << 1));
  for (let k = first; k < j; k++) if (load<u16>(posInst + (<usize>k << 1)) == i) return false;
  return true;
}

/**
 * The build's two passes over accounts [start, end) (their bounds and failing-scope bytes, and
 * their positions' steps at `steps`, just written by boundRange), each instrument an account holds in
 * the bucket of its bound there (the account's plus its positions' least steps there). Without
 * `entries` (0): adds each (instrument, bucket)'s accounts to
 * `cells` (u32, at the cell's index + 1, zeroed by the caller), and to `down` and `up` (the same
 * shape) those on each side, and lists at `hot` the accounts below hotBound, returning how many.
 * With `entries`: places each account, tagged with its sides, at `entries` (u32) through `cells`
 * (each cell's next entry: the counts' prefix sums). The pool runs both passes on parts of the
 * accounts at once, each part with its own counts, then its own fill (src/engine/incremental.ts).
 */
export function indexBuckets(header: usize, bounds: usize, steps: usize, hotBound: f64, perOctave: u32, buckets: u32, octave: usize, cells: usize, down: usize, up: usize, entries: usize, hot: usize, start: u32, end: u32): u32 {
  const accPosStart = column(header, H_ACC_POS_START);
  const accPosCount = column(header, H_ACC_POS_COUNT);
  const posInst = column(header, H_POS_INST);
  const posSize = column(header, H_POS_SIZE);
  const failing = failingColumn(header, bounds);
  const shortsAt = shortsColumn(header, bounds);
  const place = entries != 0;
  let listed: u32 = 0;
  for (let a: u32 = start; a < end; a++) {
    const x = <f64>load<f32>(bounds + (<usize>a << 2));
    if (x == f64.POSITIVE_INFINITY) continue;
    if (!(x >= hotBound)) {
      if (!place) {
        store<u32>(hot + (<usize>listed << 2), a);
        listed++;
      }
      continue;
    }
    // Counting goes in the cell after the bucket's, so that prefix sums give each bucket's start.
    // An instrument goes in the bucket of its bound: the account's bound's bits plus the least steps
    // of its positions there.
    const boundBits = load<u32>(bounds + (<usize>a << 2));
    const first = load<u32>(accPosStart + (<usize>a << 2));
    const last = first + load<u32>(accPosCount + (<usize>a << 2));
    const both: u32 = load<u8>(failing + a) != 0 ? 3 : 0;
    const shorts = <u32>load<u8>(shortsAt + a);
    // Bit s of an entry's sides set: the account is on side s. A position's side is its shorts bit
    // (INDEX_SIDE_DOWN 0 long, or a size of 0, which moves nothing; INDEX_SIDE_UP 1 short).
    if (last - first <= SHORTS_BITS && (shorts & SHORTS_REPEAT) == 0) {
      // The usual account: a few positions, each on its own instrument (no loop over the block
      // for each: its variable trip counts mispredicted, 1.5 times the pass's time). The count and
      // placement are written out here and below: one inline helper for both made the counting
      // pass 20–30% slower on the 10M-account book.
      for (let j = first; j < last; j++) {
        const b = <usize>bucketOf(stepsBits(boundBits, <u32>load<u8>(steps + <usize>j)), perOctave, buckets, octave) + <usize>(!place);
        const k = (<usize>load<u16>(posInst + (<usize>j << 1)) * <usize>buckets + b) << 2;
        const cell = cells + k;
        const at = load<u32>(cell);
        const sides = both | (1 << ((shorts >> (j - first)) & 1));
        if (place) store<u32>(entries + (<usize>at << 2), a | (sides << INDEX_SIDE_SHIFT));
        else countSides(down + k, up + k, sides);
        store<u32>(cell, at + 1);
      }
      continue;
    }
    for (let j = first; j < last; j++) {
      if (!firstOfInstrument(posInst, first, j)) continue;
      const i = load<u16>(posInst + (<usize>j << 1));
      let sides = both | (1 << positionSide(posSize, shorts, first, j));
      let least = <u32>load<u8>(steps + <usize>j);
      for (let n = j + 1; n < last; n++) {
        if (load<u16>(posInst + (<usize>n << 1)) != i) continue;
        sides |= 1 << positionSide(posSize, shorts, first, n);
        least = min<u32>(least, <u32>load<u8>(steps + <usize>n));
      }
      const b = <usize>bucketOf(stepsBits(boundBits, least), perOctave, buckets, octave) + <usize>(!place);
      const k = (<usize>i * <usize>buckets + b) << 2;
      const cell = cells + k;
      const at = load<u32>(cell);
      if (place) store<u32>(entries + (<usize>at << 2), a | (sides << INDEX_SIDE_SHIFT));
      else countSides(down + k, up + k, sides);
      store<u32>(cell, at + 1);
    }
  }
  return listed;
}

/** Adds an entry with `sides` to its cell's count of each side it is on (at `down`, `up`). */
// @ts-ignore: decorator
@inline
function countSides(down: usize, up: usize, sides: u32): void {
  store<u32>(down, load<u32>(down) + ((sides >> INDEX_SIDE_DOWN) & 1));
  store<u32>(up, load<u32>(up) + ((sides >> INDEX_SIDE_UP) & 1));
}
