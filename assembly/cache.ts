// The shard's instrument cache (layout.ts CACHE_*): what the sweeps need of each instrument side by
// side, rebuilt at the start of every kernel call from the instrument and tier columns.

import { SCALE_6, TIERS_MAX } from './constants';
import {
  H_INSTRUMENT_COUNT,
  H_INST_MARK,
  H_INST_FUNDING,
  H_INST_Q,
  H_INST_DIV,
  H_TIER_FLOOR,
  H_TIER_RATE,
  H_TIER_CUM_LO,
  H_TIER_CUM_HI,
  H_ACC_POS_START,
  H_ACC_POS_COUNT,
  H_POS_INST,
  CACHE_FLOORS,
  CACHE_UNIT,
  CACHE_Q,
  CACHE_DIV,
  CACHE_FUNDING,
  CACHE_TIERS,
  CACHE_TIER_BYTES,
  CACHE_STRIDE,
  CACHE_ENTRIES,
  CACHE_ENTRY_BYTES,
  CACHE_ENTRY_DIVIDED_WIDTH,
  CACHE_MARK_LONG,
  CACHE_MARK_SHORT,
  CACHE_DRIFT_LONG,
  CACHE_DRIFT_SHORT,
  H_INST_DRIFT_LONG,
  H_INST_DRIFT_SHORT,
} from './layout';
import { column, headerValue } from './header';
import { NOTIONAL_NARROW } from './math';

/**
 * Writes the shard's instrument cache (assembly/layout.ts CACHE_*) from the instrument and tier
 * columns: per instrument its floors, q·mark, q, funding index and tier parameters side by side,
 * the chunk sweep's bracket entries, and the mark and −mark less the drifts of its isolated
 * thresholds (assembly/layout.ts H_INST_DRIFT_*), with the drifts.
 */
export function fillCache(header: usize, cache: usize): void {
  const count = headerValue(header, H_INSTRUMENT_COUNT);
  for (let i: u32 = 0; i < count; i++) fillInstrument(header, cache, i);
}

/** Fills the cache for the instruments of account a's positions. */
export function fillAccountInstruments(header: usize, cache: usize, a: u32): void {
  const first = load<u32>(column(header, H_ACC_POS_START) + (<usize>a << 2));
  const end = first + load<u32>(column(header, H_ACC_POS_COUNT) + (<usize>a << 2));
  const posInst = column(header, H_POS_INST);
  for (let j = first; j < end; j++) fillInstrument(header, cache, <u32>load<u16>(posInst + (<usize>j << 1)));
}

/** Writes instrument i's part of the cache (what fillCache writes for every instrument). */
export function fillInstrument(header: usize, cache: usize, instrument: u32): void {
  const i = <usize>instrument;
  const c = cache + i * <usize>CACHE_STRIDE;
  fillThresholdInputs(header, cache, instrument);
  store<i64>(c + CACHE_FUNDING, load<i64>(column(header, H_INST_FUNDING) + (i << 3)));
  fillEntries(c);
  const mark = load<i64>(column(header, H_INST_MARK) + (i << 3));
  store<i64>(c + CACHE_MARK_LONG, mark - load<i64>(c + CACHE_DRIFT_LONG));
  store<i64>(c + CACHE_MARK_SHORT, -mark - load<i64>(c + CACHE_DRIFT_SHORT));
}

/**
 * Writes the part of instrument i's cache that an isolated record's threshold is made from
 * (chunks.ts writeIsolatedRecord): q, q·mark, the tier floors and parameters, the drifts. What a
 * fill that rewrites an isolated record in place fills (chunks.ts refreshIsolatedRecord, once it
 * has found the record): about two fifths of the
 * bytes fillInstrument writes, whose bracket entries (16 of 48 bytes each) no threshold reads.
 */
export function fillThresholdInputs(header: usize, cache: usize, instrument: u32): void {
  const i = <usize>instrument;
  const tierFloor = column(header, H_TIER_FLOOR);
  const tierRate = column(header, H_TIER_RATE);
  const tierCumLo = column(header, H_TIER_CUM_LO);
  const tierCumHi = column(header, H_TIER_CUM_HI);
  const c = cache + i * <usize>CACHE_STRIDE;
  const q = load<i64>(column(header, H_INST_Q) + (i << 3));
  store<i64>(c + CACHE_UNIT, q * load<i64>(column(header, H_INST_MARK) + (i << 3)));
  store<i64>(c + CACHE_Q, q);
  store<i64>(c + CACHE_DIV, load<i64>(column(header, H_INST_DIV) + (i << 3)));
  store<i64>(c + CACHE_FLOORS + (<usize>TIERS_MAX << 3), i64.MAX_VALUE); // floor_16: above everything
  for (let k: usize = 0; k < <usize>TIERS_MAX; k++) {
    const cell = (i * <usize>TIERS_MAX + k) << 3;
    const tier = c + CACHE_TIERS + k * <usize>CACHE_TIER_BYTES;
    store<i64>(c + CACHE_FLOORS + (k << 3), load<i64>(tierFloor + cell));
    store<u64>(tier, load<u64>(tierRate + cell));
    store<u64>(tier, load<u64>(tierCumLo + cell), 8);
    store<u64>(tier, load<u64>(tierCumHi + cell), 16);
  }
  store<i64>(c + CACHE_DRIFT_LONG, load<i64>(column(header, H_INST_DRIFT_LONG) + (i << 3)));
  store<i64>(c + CACHE_DRIFT_SHORT, load<i64>(column(header, H_INST_DRIFT_SHORT) + (i << 3)));
}

/**
 * The bracket entries of one cached instrument: entry k accepts a notional n, in one unsigned
 * compare (n − low < width), when n is in bracket k (floor_k < n ≤ floor_k+1, or n = 0 in bracket 0)
 * and the narrow formula ceil((n·r − cumX)/10^6) is exact for it (n < 2^44 and cumX < 2^64). Any
 * other notional gets width 0 in effect and goes the exact slow way (bracketEntry, maintenanceWide).
 * So does every notional of an instrument whose value is divided (d > 1), whose value the loop does
 * not divide; the chunk sweep's slow path divides it and tests it against the entry's divided width
 * (the same width, kept in q·mark's place, which the loop's value never uses for such an entry), and
 * takes the narrow formula inline when it holds (the bracket search and the record's write otherwise).
 */
function fillEntries(c: usize): void {
  for (let k: usize = 0; k < <usize>TIERS_MAX; k++) {
    const floor = load<u64>(c + CACHE_FLOORS + (k << 3));
    const next = load<u64>(c + CACHE_FLOORS + (k << 3), 8); // floor_16 is the i64.MAX sentinel
    const tier = c + CACHE_TIERS + k * <usize>CACHE_TIER_BYTES;
    const cumLo = load<u64>(tier, 8);
    const cumHi = load<u64>(tier, 16);
    const used = floor < <u64>i64.MAX_VALUE;
    // Bracket 0 holds a notional of 0 (MM(0) = 0 needs cumX_0 = 0, which the tier rows guarantee).
    const low: u64 = k == 0 && cumLo == 0 && cumHi == 0 ? 0 : floor + 1;
    const high = min<u64>(next, NOTIONAL_NARROW - 1);
    const entry = c + CACHE_ENTRIES + k * <usize>CACHE_ENTRY_BYTES;
    // An instrument whose value is divided (d > 1) leaves the loop, always (width 0), and its slow
    // path, which divides, takes the bracket's width from the divided width, in q·mark's place.
    const width = used && cumHi == 0 && high >= low ? high - low + 1 : 0;
    const divided = load<i64>(c + CACHE_DIV) != 1;
    if (divided) store<u64>(entry + CACHE_ENTRY_DIVIDED_WIDTH, width);
    else store<i64>(entry, load<i64>(c + CACHE_UNIT));
    store<u64>(entry, low, 8);
    store<u64>(entry, divided ? 0 : width, 16);
    store<u64>(entry, load<u64>(tier), 24);
    store<u64>(entry, SCALE_6 - 1 - cumLo, 32); // wraps: n·r − cumX ≥ 0 in the bracket
  }
}
