// Account operations of a batch, applied in the kernel: deposits and fills (src/account/batch.ts).
// The control plane writes the batch as fixed records (OP_*), having checked what does not depend
// on the book (the account, the instrument, the mode, the size's lots, the price's range); this
// takes them in order, and each record says what became of it (OP_OUTCOME):
//   - applied (OUTCOME_APPLIED; OUTCOME_OPENED for a fill that opened a position, OUTCOME_CLOSED for
//     one that closed it);
//   - refused (REFUSED_*), when it finds the refusal the control plane would give first, in its
//     order of checks: a fill's funding over its isolated margin, a leverage above the bracket's,
//     a margin over the wallet, a loss over the margin, equity below the initial margin. The
//     figures the reason names go in the record; nothing is written to the book; it goes on with
//     the next record;
//   - the control plane's (OUTCOME_HOST), where it stops: a kind it leaves to it (every other
//     operation, a fill with its own margin), one that opens a position when the arena must grow,
//     and anything it is not certain of (an amount beyond its range, a product beyond 2^62). The
//     control plane applies or refuses that one itself, and calls it again from the next record.
// So what this applies or refuses is what src/account/operations.ts would, with the same effect on
// the columns and the same result: the same rules, in the same order, on the same integers
// (docs/numbers.md), a new position in the slot Engine.appendPositionSlot would give it; the
// property tests (test/account/batch.test.ts, test/engine/production-path.test.ts) hold the two
// paths to the same books and results.
//
// An operation it applies writes its account's balance and its position's columns (a fill that
// opens a position also its block's start and count, and the arena's used slots; one that closes
// a position moves its block's last slot into its place and shrinks the block). A deposit's derived
// state it refreshes at once (its account's cross base moved in the chunk records, when they are
// kept), and so does a fill that keeps a cross position open where its record can be rewritten in
// place (OUTCOME_REFRESHED, with APPLY_FILL_RECORDS); every other fill's it does not: the control
// plane lists those accounts for Engine.accountsChanged. It raises the instrument's size
// high-water mark to the size a fill reports. No allocation, no state
// of its own: results go in the records.

import {
  H_ACC_BALANCE,
  H_ACC_POS_START,
  H_ACC_POS_COUNT,
  H_POS_SIZE,
  H_POS_COST,
  H_POS_MARGIN,
  H_POS_FUNDING,
  H_POS_INST,
  H_POS_MODE,
  H_POS_LEVERAGE,
  H_POS_PNL,
  H_POS_MAINT,
  H_POS_STATUS,
  H_POS_BRACKET,
  H_POS_OUTPUTS,
  H_INST_MARK,
  H_INST_FUNDING,
  H_INST_Q,
  H_INST_DIV,
  H_TIER_FLOOR,
  H_TIER_LEVERAGE,
  H_ACCOUNT_COUNT,
  H_INSTRUMENT_COUNT,
} from './layout';
import { column, headerValue } from './header';
import { touchPosition } from './touch';
import { moveCrossBase, crossBaseAt, chunkStateOf, refreshCrossRecord, refreshIsolatedRecord, touchChunkCounts } from './chunks';
import { mulWide, divWide, wideHi, wideRem } from './wide';
import { bracketOf, fundingOwed, notionalOf } from './math';
import { QUOTE_ABS_MAX, PRICE_UNITS_MAX, TIERS_MAX, MODE_CROSS, MODE_ISOLATED, POSITIONS_PER_ACCOUNT_MAX } from './constants';

// An operation's record: written by the control plane, its results by the kernel.
export const OP_ACCOUNT: u32 = 0; // u32 account index
export const OP_INSTRUMENT: u32 = 4; // u16 instrument index (fills)
export const OP_KIND: u32 = 6; // u8 OP_HOST, OP_DEPOSIT or OP_FILL
export const OP_MODE: u32 = 7; // u8 MODE_CROSS or MODE_ISOLATED (fills)
export const OP_AMOUNT: u32 = 8; // i64: a deposit's micro, a fill's size units (signed)
export const OP_PRICE: u32 = 16; // i64 price units (fills)
export const OP_REALIZED: u32 = 24; // out, i64 micro: an applied fill's realized PnL
export const OP_SIZE_AFTER: u32 = 32; // out, i64 size units: |size| after an applied fill
export const OP_SHORTFALL: u32 = OP_SIZE_AFTER; // out, i64 micro: a close's loss beyond its isolated margin (OUTCOME_CLOSED: its size after is 0)
// What became of a record (OP_OUTCOME), and for a refusal the figures its reason names, in the two
// slots an applied fill's results take.
export const OP_FIGURE_1: u32 = OP_REALIZED; // out, i64
export const OP_FIGURE_2: u32 = OP_SIZE_AFTER; // out, i64
export const OP_OUTCOME: u32 = 40; // out, u8: OUTCOME_APPLIED, OUTCOME_OPENED, REFUSED_* or OUTCOME_HOST
export const OP_BYTES: u32 = 48;
/**
 * After the last record of a call, a u32: the index of the record being applied. The records
 * before it were applied, even if a check of that one failed (the control plane takes their results).
 */
export const OP_PROGRESS_BYTES: u32 = 4;
/** The control plane applies it: the kernel stops there. */
export const OP_HOST: u8 = 0;
export const OP_DEPOSIT: u8 = 1;
export const OP_FILL: u8 = 2;
// What became of a record (OP_OUTCOME): applied (OUTCOME_APPLIED, or OUTCOME_OPENED when its fill
// opened a position), refused exactly as src/account/operations.ts refuses it, with the figures its
// reason names (REFUSED_*), or the control plane's to apply or refuse (OUTCOME_HOST: the kernel
// stopped there).
export const OUTCOME_HOST: u8 = 0;
export const OUTCOME_APPLIED: u8 = 1;
export const OUTCOME_OPENED: u8 = 8;
export const OUTCOME_CLOSED: u8 = 9; // an applied fill that closed its position: its slot left the block
export const OUTCOME_REFRESHED: u8 = 10; // an applied fill of a cross position held and kept, its record and cross base rewritten here
export const REFUSED_FUNDING_EXCEEDS_MARGIN: u8 = 2; // funding owed, isolated margin
export const REFUSED_LEVERAGE_ABOVE_BRACKET: u8 = 3; // the position's leverage, the bracket's max
export const REFUSED_MARGIN_EXCEEDS_WALLET: u8 = 4; // the margin the fill adds, the wallet balance
export const REFUSED_LOSS_EXCEEDS_MARGIN: u8 = 5; // the isolated margin it would leave
export const REFUSED_ISOLATED_INITIAL: u8 = 6; // isolated equity, initial margin
export const REFUSED_CROSS_INITIAL: u8 = 7; // cross equity, cross initial margin

/**
 * The largest size a fill record may carry (the control plane keeps larger ones): with q ≤ 10^6
 * and prices ≤ 10^15, every product the kernel forms is checked in 128 bits anyway.
 */
export const OP_SIZE_ABS_MAX: i64 = 1 << 62;

/** A product beyond every amount in range: PRODUCT_MAX bounds the quote amounts the checks accept. */
const PRODUCT_MAX: u64 = 1 << 62;
const OVER: u64 = 0xffff_ffff_ffff_ffff;
/** An amount out of range (owed, pnlOf): the smallest i64. */
const NONE: i64 = -0x7fff_ffff_ffff_ffff - 1;

/** x·y when it is at most PRODUCT_MAX, else OVER. */
// @ts-ignore: decorator
@inline
function product(x: u64, y: u64): u64 {
  const lo = mulWide(x, y);
  return wideHi != 0 || lo > PRODUCT_MAX ? OVER : lo;
}

/** |z|·q·p, or OVER. */
// @ts-ignore: decorator
@inline
function quoteOf(z: i64, q: u64, p: u64): u64 {
  const zq = product(<u64>abs<i64>(z), q);
  return zq == OVER ? OVER : product(zq, p);
}

/** ceil(n / d) for n ≥ 0, d > 0. */
// @ts-ignore: decorator
@inline
function ceilDiv(n: u64, d: u64): u64 {
  const quotient = n / d;
  return quotient + <u64>(quotient * d != n);
}

/** Within ±QUOTE_ABS_MAX. */
// @ts-ignore: decorator
@inline
function inRange(x: i64): bool {
  return <u64>abs<i64>(x) <= QUOTE_ABS_MAX;
}

/**
 * Position s's unrealized PnL at the mark, z·q·p − cost − funding owed, or NONE when its value is
 * beyond QUOTE_ABS_MAX (the columns' ranges keep it within; funding owed is kept within its range
 * by every funding index set, firstFundingOutOfRange, and computed as the sweep computes it).
 */
function pnlOf(header: usize, s: u32): i64 {
  const i = <usize>load<u16>(column(header, H_POS_INST) + (<usize>s << 1));
  const z = load<i64>(column(header, H_POS_SIZE) + (<usize>s << 3));
  const q = load<u64>(column(header, H_INST_Q) + (i << 3));
  const value = valueAt(z, q, load<u64>(column(header, H_INST_MARK) + (i << 3)), <u64>load<i64>(column(header, H_INST_DIV) + (i << 3)));
  if (value == NONE) return NONE;
  const index = load<i64>(column(header, H_INST_FUNDING) + (i << 3));
  const snapshot = load<i64>(column(header, H_POS_FUNDING) + (<usize>s << 3));
  const debt = fundingOwed(z * <i64>q, index - snapshot); // |z|·q ≤ |z|·q·p, in range
  return value - load<i64>(column(header, H_POS_COST) + (<usize>s << 3)) - debt;
}

/**
 * A position's value floor(z·q·p / d) (docs/numbers.md, "Instruments finer than a micro"), or NONE
 * when |z|·q·p is past PRODUCT_MAX or the value's magnitude past QUOTE_ABS_MAX.
 */
function valueAt(z: i64, q: u64, p: u64, d: u64): i64 {
  const magnitude = quoteOf(z, q, p);
  if (magnitude == OVER) return NONE;
  // |z|·q·p ≤ 2^62: floor for a long, ceil of the magnitude for a short (toward −∞ either way).
  const whole = z < 0 ? -<i64>ceilDiv(magnitude, d) : <i64>(magnitude / d);
  return <u64>abs<i64>(whole) > QUOTE_ABS_MAX ? NONE : whole;
}

/** Position s's initial margin ceil(notional / leverage), its notional from its value floor(z·q·p / d) (math.ts notionalOf), or −1 when that is beyond QUOTE_ABS_MAX. */
function initialOf(header: usize, s: u32): i64 {
  const i = <usize>load<u16>(column(header, H_POS_INST) + (<usize>s << 1));
  const z = load<i64>(column(header, H_POS_SIZE) + (<usize>s << 3));
  const value = valueAt(z, load<u64>(column(header, H_INST_Q) + (i << 3)), load<u64>(column(header, H_INST_MARK) + (i << 3)), <u64>load<i64>(column(header, H_INST_DIV) + (i << 3)));
  const leverage = <u64>load<u16>(column(header, H_POS_LEVERAGE) + (<usize>s << 1));
  if (value == NONE || leverage == 0) return -1;
  return <i64>ceilDiv(notionalOf(value, z), leverage);
}

/**
 * Whether account a's cross equity at the mark, with wallet balance `balance` (and a position being
 * opened outside its block, of PnL `extraPnl` and initial margin `extraInitial`; 0 and 0 for none),
 * covers its cross initial margin (operations.ts requireCrossInitialMargin): OUTCOME_APPLIED, or
 * REFUSED_CROSS_INITIAL with the two figures written at `op`, or OUTCOME_HOST when a position's
 * figures are out of range.
 */
function crossCovered(header: usize, op: usize, a: usize, balance: i64, extraPnl: i64, extraInitial: i64): u8 {
  const first = load<u32>(column(header, H_ACC_POS_START) + (a << 2));
  const end = first + load<u32>(column(header, H_ACC_POS_COUNT) + (a << 2));
  const modes = column(header, H_POS_MODE);
  let equity = balance + extraPnl;
  let initial = extraInitial;
  for (let s = first; s < end; s++) {
    if (load<u8>(modes + <usize>s) != MODE_CROSS) continue;
    const pnl = pnlOf(header, s);
    const im = initialOf(header, s);
    if (pnl == NONE || im < 0) return OUTCOME_HOST;
    equity += pnl; // each within ±3·10^16 and at most 128 of them: the sums stay within i64
    initial += im;
  }
  if (equity >= initial) return OUTCOME_APPLIED;
  return refused(op, REFUSED_CROSS_INITIAL, equity, initial);
}

/** Writes a refusal's figures at `op`, and returns its code. */
function refused(op: usize, code: u8, first: i64, second: i64): u8 {
  store<i64>(op + OP_FIGURE_1, first);
  store<i64>(op + OP_FIGURE_2, second);
  return code;
}

/**
 * The highest leverage the bracket of `notional` allows on instrument i (operations.ts
 * bracketLeverageMax): the bracket counted over the instrument's tier floors (padded past its last
 * tier, math.ts bracketOf), its leverage from the tier leverage column.
 */
function bracketLeverage(header: usize, i: usize, notional: u64): u32 {
  const k = bracketOf(notional, column(header, H_TIER_FLOOR) + ((i * <usize>TIERS_MAX) << 3));
  return <u32>load<u16>(column(header, H_TIER_LEVERAGE) + ((i * <usize>TIERS_MAX + k) << 1));
}

/**
 * A deposit of the amount at `op`: OUTCOME_APPLIED, or OUTCOME_HOST (the balance would leave its
 * range). With `chunks` (the chunk sweep's records kept), its derived state is refreshed here too:
 * the account's cross base moves by the amount (chunks.ts moveCrossBase), as Engine.balancesChanged
 * would move it at the end of the batch.
 */
function deposit(header: usize, op: usize, a: usize, chunks: bool): u8 {
  const amount = load<i64>(op + OP_AMOUNT);
  const at = column(header, H_ACC_BALANCE) + (a << 3);
  const balance = load<i64>(at);
  if (amount <= 0 || <u64>amount > QUOTE_ABS_MAX) return OUTCOME_HOST;
  const next = balance + amount;
  if (!inRange(next)) return OUTCOME_HOST;
  store<i64>(at, next);
  if (chunks) moveCrossBase(header, <u32>a, amount);
  return OUTCOME_APPLIED;
}

/**
 * The fill at `op` when account a (holding `count` positions) holds none on its instrument in its
 * mode: it opens one (operations.ts openNewPosition and commitNewPosition), at the highest leverage
 * of the bracket it lands in, its funding snapshot the instrument's index, checked in the control
 * plane's order. Applied (OUTCOME_OPENED), it takes a slot as Engine.appendPositionSlot gives one:
 * the block's next slot when the block ends the arena's used slots, else the block moves to the
 * tail (every position column of its slots copied) and the new slot follows it; `arena` holds the
 * used slots (u32, updated) and the capacity (u32). A refusal is reported (REFUSED_*, nothing
 * written); an account holding 128 positions, a fill beyond the ranges, or an arena without the
 * room the control plane keeps (the block, the new slot, one free) are the control plane's.
 */
function opening(header: usize, op: usize, a: usize, arena: usize, count: u32): u8 {
  if (count >= POSITIONS_PER_ACCOUNT_MAX) return OUTCOME_HOST; // positions_full
  const i = <usize>load<u16>(op + OP_INSTRUMENT);
  const delta = load<i64>(op + OP_AMOUNT);
  const q = load<u64>(column(header, H_INST_Q) + (i << 3));
  const cost = quoteOf(delta, q, <u64>load<i64>(op + OP_PRICE));
  if (cost > QUOTE_ABS_MAX) return OUTCOME_HOST; // out_of_range (OVER included)
  const notional = quoteOf(delta, q, load<u64>(column(header, H_INST_MARK) + (i << 3)));
  if (notional > QUOTE_ABS_MAX) return OUTCOME_HOST;
  const leverage = <u64>bracketLeverage(header, i, notional);
  if (leverage == 0) return OUTCOME_HOST;
  const pnl = delta < 0 ? <i64>cost - <i64>notional : <i64>notional - <i64>cost; // value − cost basis
  const initial = <i64>ceilDiv(notional, leverage);
  const balanceAt = column(header, H_ACC_BALANCE) + (a << 3);
  const balance = load<i64>(balanceAt);
  const isolated = load<u8>(op + OP_MODE) == MODE_ISOLATED;
  let margin: i64 = 0;
  if (isolated) {
    margin = <i64>ceilDiv(cost, leverage);
    if (margin > balance) return refused(op, REFUSED_MARGIN_EXCEEDS_WALLET, margin, balance);
    if (!inRange(balance)) return OUTCOME_HOST;
    if (margin + pnl < initial) return refused(op, REFUSED_ISOLATED_INITIAL, margin + pnl, initial);
  } else {
    if (!inRange(balance)) return OUTCOME_HOST;
    const covered = crossCovered(header, op, a, balance, pnl, initial);
    if (covered != OUTCOME_APPLIED) return covered;
  }

  // Applied: a slot for it.
  const used = load<u32>(arena);
  if (<u64>used + <u64>count + 2 > <u64>load<u32>(arena, 4)) return OUTCOME_HOST; // the arena grows: the control plane's
  const startAt = column(header, H_ACC_POS_START) + (a << 2);
  const first = load<u32>(startAt);
  let slot = used;
  const outputs = outputsWritten(header);
  if (first + count == used) {
    // The block ends the used slots: it grows in place, into a slot cleared first.
    for (let h = H_POS_SIZE; h <= H_POS_BRACKET; h++) {
      if (!slotColumnMoves(h, outputs)) continue;
      const width = <usize>positionColumnBytes(h);
      memory.fill(column(header, h) + <usize>slot * width, 0, width);
    }
  } else {
    // The block moves to the tail, every column of its slots, and the new slot follows it. The
    // bracket hints start again at 0 rather than being read from the block's old slots: nothing
    // but a sweep's hint writes that column, so most of its pages are ones the process has never
    // touched, and a read of one is a page fault (7,398 of the 16,014 faults of a fresh process's
    // first 10^6 mixed updates on the 10M-account book). A hint is checked before it is trusted
    // (maintenanceHinted), and bounds.ts's use of it is safe for any hint.
    for (let h = H_POS_SIZE; h <= H_POS_BRACKET; h++) {
      if (!slotColumnMoves(h, outputs)) continue;
      const width = <usize>positionColumnBytes(h);
      const base = column(header, h);
      if (h == H_POS_BRACKET) memory.fill(base + <usize>used * width, 0, <usize>count * width);
      else memory.copy(base + <usize>used * width, base + <usize>first * width, <usize>count * width);
    }
    store<u32>(startAt, used);
    slot = used + count;
  }
  store<u32>(arena, slot + 1);
  store<u32>(column(header, H_ACC_POS_COUNT) + (a << 2), count + 1);
  store<i64>(column(header, H_POS_SIZE) + (<usize>slot << 3), delta);
  store<i64>(column(header, H_POS_COST) + (<usize>slot << 3), delta < 0 ? -<i64>cost : <i64>cost);
  store<i64>(column(header, H_POS_MARGIN) + (<usize>slot << 3), margin);
  store<i64>(column(header, H_POS_FUNDING) + (<usize>slot << 3), load<i64>(column(header, H_INST_FUNDING) + (i << 3)));
  store<u16>(column(header, H_POS_INST) + (<usize>slot << 1), <u16>i);
  store<u8>(column(header, H_POS_MODE) + <usize>slot, isolated ? MODE_ISOLATED : MODE_CROSS);
  store<u16>(column(header, H_POS_LEVERAGE) + (<usize>slot << 1), <u16>leverage);
  store<i64>(balanceAt, balance - margin);
  store<i64>(op + OP_REALIZED, 0);
  store<i64>(op + OP_SIZE_AFTER, abs<i64>(delta));
  return OUTCOME_OPENED;
}

// The position columns are the header slots H_POS_SIZE to H_POS_BRACKET, eleven of them.
if (H_POS_BRACKET != H_POS_SIZE + 10) ERROR('opening copies the position columns H_POS_SIZE to H_POS_BRACKET: eleven header slots in a row');

/** In the arena record, after its two u32: an i64 nothing reads, where the touch passes' sums go. */
export const ARENA_SINK: u32 = 8;
export const ARENA_BYTES: u32 = 16;

/**
 * Whether the position columns' outputs (PnL, maintenance) hold values: a full sweep has written
 * them (H_POS_OUTPUTS, which the control plane sets before it runs one). Until then they are 0 in
 * every slot.
 */
// @ts-ignore: decorator
@inline
export function outputsWritten(header: usize): bool {
  return headerValue(header, H_POS_OUTPUTS) != 0;
}

/**
 * Whether a move or a clear of position slots writes the column at header slot h: every column,
 * but the outputs only once they are written (outputsWritten). Before that, their pages stay
 * untouched: a move would read and write a page of each never touched, a page fault each (10–45 µs
 * on a VM) for a value that is 0 on both sides.
 */
// @ts-ignore: decorator
@inline
export function slotColumnMoves(h: u32, outputs: bool): bool {
  return outputs || (h != H_POS_PNL && h != H_POS_MAINT);
}

/** Bytes of an element of the position column at header slot h (src/memory/layout.ts COLUMNS). */
export function positionColumnBytes(h: u32): u32 {
  if (h == H_POS_INST || h == H_POS_LEVERAGE) return 2;
  if (h == H_POS_MODE || h == H_POS_STATUS || h == H_POS_BRACKET) return 1;
  return 8;
}

/**
 * The fill at `op` on a position account a holds (operations.ts fill, its checks in its order):
 * OUTCOME_APPLIED, OUTCOME_CLOSED when it closes the position (closePosition), OUTCOME_REFRESHED
 * when it keeps a cross position open and, with `records`, its record was rewritten in place
 * (chunks.ts refreshCrossRecord), a REFUSED_* with its figures at `op` (nothing written to the
 * book), or OUTCOME_HOST (nothing written).
 */
function fill(header: usize, op: usize, a: usize, arena: usize, records: bool, cache: usize): u8 {
  const i = <usize>load<u16>(op + OP_INSTRUMENT);
  // An instrument finer than a micro (d > 1) rounds its costs and realized PnL: the control plane's fill.
  if (load<i64>(column(header, H_INST_DIV) + (i << 3)) != 1) return OUTCOME_HOST;
  const mode = load<u8>(op + OP_MODE);
  const delta = load<i64>(op + OP_AMOUNT);
  const price = load<i64>(op + OP_PRICE);

  // The position: (instrument, mode) in the account's block.
  const first = load<u32>(column(header, H_ACC_POS_START) + (a << 2));
  const end = first + load<u32>(column(header, H_ACC_POS_COUNT) + (a << 2));
  const insts = column(header, H_POS_INST);
  const modes = column(header, H_POS_MODE);
  let j = first;
  while (j < end && !(<usize>load<u16>(insts + (<usize>j << 1)) == i && load<u8>(modes + <usize>j) == mode)) j++;
  if (j == end) return opening(header, op, a, arena, end - first);

  const isolated = mode == MODE_ISOLATED;
  const q = load<u64>(column(header, H_INST_Q) + (i << 3));
  const mark = load<u64>(column(header, H_INST_MARK) + (i << 3));
  const index = load<i64>(column(header, H_INST_FUNDING) + (i << 3));
  const balanceAt = column(header, H_ACC_BALANCE) + (a << 3);
  const sizeAt = column(header, H_POS_SIZE) + (<usize>j << 3);
  const costAt = column(header, H_POS_COST) + (<usize>j << 3);
  const marginAt = column(header, H_POS_MARGIN) + (<usize>j << 3);
  const fundingAt = column(header, H_POS_FUNDING) + (<usize>j << 3);
  const size = load<i64>(sizeAt);
  const cost = load<i64>(costAt);
  const balanceBefore = load<i64>(balanceAt);
  const marginBefore = load<i64>(marginAt);
  const snapshot = load<i64>(fundingAt);
  let balance = balanceBefore;
  let margin = marginBefore;

  // Funding settled first (settlePosition).
  if (snapshot != index) {
    // |size|·q is within the notional at the mark, in range: funding owed as the sweep computes it.
    if (product(<u64>abs<i64>(size), q) == OVER) return OUTCOME_HOST;
    const paid = fundingOwed(size * <i64>q, index - snapshot);
    if (isolated) {
      // A close is never refused: what it owes beyond the margin joins its shortfall (closePosition).
      if (paid > margin && size + delta != 0) return refused(op, REFUSED_FUNDING_EXCEEDS_MARGIN, paid, margin);
      margin -= paid;
      if (margin > <i64>QUOTE_ABS_MAX) return OUTCOME_HOST;
    } else {
      balance -= paid;
      if (!inRange(balance)) return OUTCOME_HOST;
    }
  }

  const next = size + delta;
  if (next == 0) return closePosition(header, op, a, j, first, end, isolated, size, cost, balance, margin, q, <u64>price, index);
  const magnitude = quoteOf(delta, q, <u64>price);
  if (magnitude == OVER) return OUTCOME_HOST;
  let realized: i64 = 0;
  let newCost: i64;
  let opened: i64;
  if (size == 0 || (size < 0) == (delta < 0)) {
    newCost = cost + (delta < 0 ? -<i64>magnitude : <i64>magnitude);
    opened = abs<i64>(delta);
  } else {
    // Opposite side: close up to the whole position; realized PnL toward −∞, so the cost basis
    // taken off toward +∞.
    const closing = abs<i64>(delta) >= abs<i64>(size) ? size : -delta;
    let removed = cost;
    if (closing != size) {
      const lo = mulWide(<u64>abs<i64>(cost), <u64>abs<i64>(closing));
      const quotient = <i64>divWide(wideHi, lo, <u64>abs<i64>(size)); // < |cost|: |closing| < |size|
      removed = cost >= 0 ? quotient + <i64>(wideRem != 0) : -quotient;
    }
    const closed = quoteOf(closing, q, <u64>price);
    if (closed == OVER) return OUTCOME_HOST;
    realized = (closing < 0 ? -<i64>closed : <i64>closed) - removed;
    newCost = cost - removed;
    opened = (next < 0) != (size < 0) ? abs<i64>(next) : 0; // a flip opens the rest
    const flipped = quoteOf(opened, q, <u64>price);
    if (flipped == OVER) return OUTCOME_HOST;
    newCost += next < 0 ? -<i64>flipped : <i64>flipped;
  }
  if (!inRange(newCost)) return OUTCOME_HOST;

  // The notional at the mark: in range, and the bracket that bounds the leverage.
  const notional = quoteOf(next, q, mark);
  if (notional == OVER || notional > QUOTE_ABS_MAX) return OUTCOME_HOST;
  const leverage = <u64>load<u16>(column(header, H_POS_LEVERAGE) + (<usize>j << 1));
  if (opened > 0) {
    const most = bracketLeverage(header, i, notional);
    if (leverage > <u64>most) return refused(op, REFUSED_LEVERAGE_ABOVE_BRACKET, <i64>leverage, <i64>most);
  }

  if (isolated) {
    margin += realized;
    if (opened > 0) {
      const openedQuote = quoteOf(opened, q, <u64>price);
      if (openedQuote == OVER || leverage == 0) return OUTCOME_HOST;
      const added = <i64>ceilDiv(openedQuote, leverage);
      if (added > balance) return refused(op, REFUSED_MARGIN_EXCEEDS_WALLET, added, balance);
      balance -= added;
      margin += added;
      if (!inRange(balance)) return OUTCOME_HOST;
    }
    if (margin < 0) return refused(op, REFUSED_LOSS_EXCEEDS_MARGIN, margin, 0);
    if (margin > <i64>QUOTE_ABS_MAX) return OUTCOME_HOST;
    if (opened > 0) {
      // Isolated equity at the mark (funding settled) against the initial margin.
      const value = next < 0 ? -<i64>notional : <i64>notional;
      const equity = value - newCost + margin;
      const initial = <i64>ceilDiv(notional, leverage);
      if (equity < initial) return refused(op, REFUSED_ISOLATED_INITIAL, equity, initial);
    }
  } else {
    balance += realized;
    if (!inRange(balance)) return OUTCOME_HOST;
  }

  store<i64>(sizeAt, next);
  store<i64>(costAt, newCost);
  store<i64>(marginAt, margin);
  store<i64>(fundingAt, index);
  store<i64>(balanceAt, balance);
  if (!isolated && opened > 0) {
    const covered = crossCovered(header, op, a, balance, 0, 0);
    if (covered != OUTCOME_APPLIED) {
      store<i64>(sizeAt, size);
      store<i64>(costAt, cost);
      store<i64>(marginAt, marginBefore);
      store<i64>(fundingAt, snapshot);
      store<i64>(balanceAt, balanceBefore);
      return covered;
    }
  }
  store<i64>(op + OP_REALIZED, realized);
  store<i64>(op + OP_SIZE_AFTER, abs<i64>(next));
  // A cross position's derived state here too, where its record can be rewritten in place: its
  // cross base moves by the change of the balance (−funding paid + realized) less that of its debit
  // (cost + funding owed: newCost + 0 against cost + paid), so by realized + cost − newCost.
  if (records && !isolated) {
    const bracket = <u32>bracketOf(notional, column(header, H_TIER_FLOOR) + ((i * <usize>TIERS_MAX) << 3));
    if (refreshCrossRecord(header, <u32>a, j, first, <u32>i, next, bracket, realized + cost - newCost)) return OUTCOME_REFRESHED;
  }
  // An isolated one's record from its margin less its debit (its cost: the snapshot is the index);
  // the cross base moves by the change of the balance (the margin the fill took from the wallet).
  if (records && isolated && cache != 0 && refreshIsolatedRecord(header, cache, <u32>a, j, first, <u32>i, next, margin - newCost, balance - balanceBefore)) return OUTCOME_REFRESHED;
  return OUTCOME_APPLIED;
}

/**
 * The fill at `op` when it closes position j of account a's block [first, end) exactly, its funding
 * settled (`balance` and `margin` after it): operations.ts fill, then Engine.removePositionSlot. The
 * whole cost basis comes off, so the realized PnL is z·q·price − cost (no rounding). Cross, it goes
 * to the wallet. Isolated, it goes to the margin, what is left of the margin returns to the wallet,
 * and a loss beyond the margin is the shortfall (OP_SHORTFALL), which no collateral of the account
 * covers and which is not charged to the wallet. The slot is written as the control plane leaves it
 * (size, cost, margin 0 when isolated, the funding snapshot at the index), then the block's last slot
 * takes its place (every position column, copyIfChanged) and the block shrinks by one. A close is never refused:
 * OUTCOME_CLOSED, or OUTCOME_HOST past the ranges (nothing written).
 */
function closePosition(header: usize, op: usize, a: usize, j: u32, first: u32, end: u32, isolated: bool, size: i64, cost: i64, balance: i64, margin: i64, q: u64, price: u64, index: i64): u8 {
  const closed = quoteOf(size, q, price);
  if (closed == OVER) return OUTCOME_HOST;
  // |closed| ≤ 2^62 and |cost|, |margin|, |balance| ≤ QUOTE_ABS_MAX: none of the sums leaves i64.
  const realized = (size < 0 ? -<i64>closed : <i64>closed) - cost;
  let shortfall: i64 = 0;
  let left = margin;
  if (isolated) {
    left = margin + realized;
    if (left < 0) shortfall = -left;
    else balance += left;
    left = 0;
  } else {
    balance += realized;
  }
  if (!inRange(balance)) return OUTCOME_HOST;
  const at = <usize>j << 3;
  store<i64>(column(header, H_POS_SIZE) + at, 0);
  store<i64>(column(header, H_POS_COST) + at, 0);
  store<i64>(column(header, H_POS_MARGIN) + at, left);
  store<i64>(column(header, H_POS_FUNDING) + at, index);
  const last = end - 1;
  if (j != last) {
    const outputs = outputsWritten(header);
    for (let h = H_POS_SIZE; h <= H_POS_BRACKET; h++) {
      if (slotColumnMoves(h, outputs)) copyIfChanged(column(header, h), positionColumnBytes(h), last, j);
    }
  }
  store<u32>(column(header, H_ACC_POS_COUNT) + (a << 2), last - first);
  store<i64>(column(header, H_ACC_BALANCE) + (a << 3), balance);
  store<i64>(op + OP_REALIZED, realized);
  store<i64>(op + OP_SHORTFALL, shortfall);
  return OUTCOME_CLOSED;
}

/**
 * Slot `from`'s element of the position column at `base` (of `width` bytes) copied to slot `to`,
 * written only when it differs: the isolated statuses (a sweep stores one only when it changes) are
 * mostly 0, on pages the process may never have written, and a write to one costs a page fault
 * (10–45 µs on a VM) and a page of memory, for a value that is 0 on both sides.
 */
function copyIfChanged(base: usize, width: u32, from: u32, to: u32): void {
  if (width == 8) {
    const value = load<i64>(base + (<usize>from << 3));
    if (load<i64>(base + (<usize>to << 3)) != value) store<i64>(base + (<usize>to << 3), value);
  } else if (width == 2) {
    const value = load<u16>(base + (<usize>from << 1));
    if (load<u16>(base + (<usize>to << 1)) != value) store<u16>(base + (<usize>to << 1), value);
  } else {
    const value = load<u8>(base + <usize>from);
    if (load<u8>(base + <usize>to) != value) store<u8>(base + <usize>to, value);
  }
}

/** Records applied after one touch pass over their accounts (touchRecords). */
const TOUCH_GROUP: u32 = 32;

/**
 * Loads what applying records [from, to) reads first, as independent loads (touch.ts): each
 * record's account columns (and for a deposit, with `chunks`, its chunk's meta), then a fill's
 * block's first slot (a block of a few positions shares its lines) and its leverage, or a
 * deposit's cross base. On a book far larger than the caches each of those is a miss; taken
 * together many are in flight at once. Records of an account past the book are skipped (the apply
 * loop refuses them). Returns a sum of what it loaded, for the caller to store.
 */
function touchRecords(header: usize, ops: usize, from: u32, to: u32, accounts: u32, chunks: bool): i64 {
  const accPosStart = column(header, H_ACC_POS_START);
  const accPosCount = column(header, H_ACC_POS_COUNT);
  const accBalance = column(header, H_ACC_BALANCE);
  let sum: i64 = 0;
  for (let k = from; k < to; k++) {
    const op = ops + <usize>k * OP_BYTES;
    const a = <usize>load<u32>(op + OP_ACCOUNT);
    if (a >= <usize>accounts) continue;
    sum += <i64>load<u32>(accPosStart + (a << 2)) + <i64>load<u32>(accPosCount + (a << 2)) + load<i64>(accBalance + (a << 3));
    if (chunks) sum += load<u8>(op + OP_KIND) == OP_DEPOSIT ? <i64>chunkStateOf(header, <u32>a) : touchChunkCounts(header, <u32>a);
  }
  const leverage = column(header, H_POS_LEVERAGE);
  for (let k = from; k < to; k++) {
    const op = ops + <usize>k * OP_BYTES;
    const a = <usize>load<u32>(op + OP_ACCOUNT);
    if (a >= <usize>accounts) continue;
    const kind = load<u8>(op + OP_KIND);
    if (kind == OP_FILL) {
      const first = <usize>load<u32>(accPosStart + (a << 2));
      sum += touchPosition(header, first) + <i64>load<u16>(leverage + (first << 1));
    }
    // The cross base, which a deposit moves and a fill's in-place rewrite moves too.
    if (chunks && (kind == OP_FILL || kind == OP_DEPOSIT)) {
      const base = crossBaseAt(header, <u32>a);
      if (base != 0) sum += load<i64>(base);
    }
  }
  return sum;
}

/**
 * Applies or refuses the operation records [from, count) at `ops` in order, each one's OP_OUTCOME
 * saying which (a refusal's figures at OP_FIGURE_1 and _2), up to the first it leaves to the
 * control plane (OUTCOME_HOST); returns that one's index (count when it took them all).
 * `arena`: the position arena's used slots (u32, which an opening moves on) and capacity (u32).
 * `chunks`: the chunk sweep's records are kept, and an applied deposit moves its account's cross
 * base in them (deposit); with `fillRecords` too, a fill that keeps a cross position open rewrites
 * its record and base in place where it can (fill: OUTCOME_REFRESHED), and so does one that keeps
 * an isolated position open when `cache` names an instrument cache (the control plane's shard's:
 * chunks.ts refreshIsolatedRecord fills the part it reads). The control plane refreshes every other
 * applied record's account.
 */
export function applyRecords(header: usize, ops: usize, from: u32, count: u32, arena: usize, chunks: bool, fillRecords: bool, cache: usize): u32 {
  assert(from <= count, 'applyUpdates: from > count');
  assert(ops != 0 && arena != 0, 'applyUpdates: no records or no arena record');
  const accounts = headerValue(header, H_ACCOUNT_COUNT);
  const instruments = headerValue(header, H_INSTRUMENT_COUNT);
  const progress = ops + <usize>count * OP_BYTES;
  for (let k = from; k < count; k++) {
    if ((k - from) % TOUCH_GROUP == 0) store<i64>(arena + ARENA_SINK, touchRecords(header, ops, k, min<u32>(count, k + TOUCH_GROUP), accounts, chunks));
    // Each record is checked before it is applied, and the index of the one being checked is kept
    // at OP_PROGRESS: if a check fails, the control plane knows which records before it were applied.
    store<u32>(progress, k);
    const op = ops + <usize>k * OP_BYTES;
    const kind = load<u8>(op + OP_KIND);
    if (kind == OP_HOST) {
      store<u8>(op + OP_OUTCOME, OUTCOME_HOST);
      return k;
    }
    assert(kind == OP_DEPOSIT || kind == OP_FILL, 'applyUpdates: a record of an unknown kind');
    const a = load<u32>(op + OP_ACCOUNT);
    assert(a < accounts, "applyUpdates: a record's account is past the book's account count");
    if (kind == OP_FILL) {
      const delta = load<i64>(op + OP_AMOUNT);
      const price = load<i64>(op + OP_PRICE);
      const mode = load<u8>(op + OP_MODE);
      assert(<u32>load<u16>(op + OP_INSTRUMENT) < instruments, "applyUpdates: a record's instrument is past the book's instruments");
      assert(mode == MODE_CROSS || mode == MODE_ISOLATED, 'applyUpdates: a fill record with no mode');
      assert(delta != 0 && delta <= OP_SIZE_ABS_MAX && delta >= -OP_SIZE_ABS_MAX, "applyUpdates: a fill record's size is out of range");
      assert(price > 0 && price <= PRICE_UNITS_MAX, "applyUpdates: a fill record's price is out of range");
    }
    // Applied or refused, the record says which and the kernel goes on: a refusal changed nothing.
    const outcome = kind == OP_DEPOSIT ? deposit(header, op, <usize>a, chunks) : fill(header, op, <usize>a, arena, fillRecords, cache);
    store<u8>(op + OP_OUTCOME, outcome);
    if (outcome == OUTCOME_HOST) return k;
  }
  store<u32>(progress, count);
  return count;
}

/**
 * The first account (its index + 1) holding a position of `instrument` whose leverage is above
 * `cap`; 0 when none is (index.ts leverageAbove). First a pass over the position slots [0, slots)
 * in memory order, two u16 columns streamed with no account read: held positions are among them,
 * so finding none there answers 0 (what a table that lowers the cap meets when it is applied).
 * Slots a block left may keep what they held, so a slot found there is only a candidate: then
 * the walk over the accounts' blocks (writeHolders, stopping at the first), with `out` for its
 * one account. O(positions) either way.
 */
export function firstLeverageAbove(header: usize, instrument: u32, cap: u32, slots: u32, out: usize): u32 {
  const posInst = column(header, H_POS_INST);
  const posLeverage = column(header, H_POS_LEVERAGE);
  let candidates: u32 = 0;
  for (let j: u32 = 0; j < slots; j++) {
    candidates |= <u32>(<u32>load<u16>(posInst + (<usize>j << 1)) == instrument) & <u32>(<u32>load<u16>(posLeverage + (<usize>j << 1)) > cap);
  }
  if (candidates == 0) return 0;
  return writeHolders(header, instrument, cap, out, 1) == 0 ? 0 : load<u32>(out) + 1;
}

/**
 * The accounts holding a position of `instrument` whose leverage is above `cap` (every one of
 * them for a cap of 0: a held position's leverage is at least 1), ascending, as u32 at `out`, at
 * most `most` of them (`out` has room for that many); returns how many. A walk over every
 * account's block, O(positions), stopping at the `most`-th (index.ts holders, leverageAbove).
 */
export function writeHolders(header: usize, instrument: u32, cap: u32, out: usize, most: u32): u32 {
  const accounts = headerValue(header, H_ACCOUNT_COUNT);
  const accPosStart = column(header, H_ACC_POS_START);
  const accPosCount = column(header, H_ACC_POS_COUNT);
  const posInst = column(header, H_POS_INST);
  const posLeverage = column(header, H_POS_LEVERAGE);
  let count: u32 = 0;
  for (let a: u32 = 0; a < accounts && count < most; a++) {
    const first = load<u32>(accPosStart + (<usize>a << 2));
    const end = first + load<u32>(accPosCount + (<usize>a << 2));
    let holds: u32 = 0;
    for (let j = first; j < end; j++) {
      holds |= <u32>(<u32>load<u16>(posInst + (<usize>j << 1)) == instrument) & <u32>(<u32>load<u16>(posLeverage + (<usize>j << 1)) > cap);
    }
    store<u32>(out + (<usize>count << 2), a); // written whatever it holds, counted only when it holds one
    count += holds;
  }
  return count;
}
