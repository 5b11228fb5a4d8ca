// The position arena's compaction: the slots that moved blocks left behind, taken back.
//
// An account's positions are one block of slots (H_ACC_POS_START, H_ACC_POS_COUNT). A block that
// must grow and is not at the arena's tail moves there, and the slots it leaves are held by no
// account. compactArena slides every block down over those slots, in slot order, so that the blocks
// fill [0, held) with no gap and keep their order, and moves the slots the chunk records name
// with them; the control plane decides when (src/engine/engine.ts makePositionRoom).

import {
  H_ACCOUNT_COUNT,
  H_ACC_POS_START,
  H_ACC_POS_COUNT,
  H_POS_SIZE,
  H_POS_BRACKET,
  H_CHUNKS,
  H_SWEEP_RECORDS,
  CHUNK_ACCOUNTS,
  CHUNK_META_BYTES,
  CHUNK_OFFSET,
  CHUNK_CROSS,
  CHUNK_ISOLATED,
  CHUNK_STATE,
  CHUNK_FRESH,
  CROSS_RECORD_BYTES,
  ISOLATED_RECORD_BYTES,
  ISOLATED_SLOT,
} from './layout';
import { column, headerValue } from './header';
import { positionColumnBytes, outputsWritten, slotColumnMoves } from './operations';

/** Bytes of the scratch compactArena takes for `used` slots: a bit per slot and a u32 per 64 slots. */
export function arenaScratchBytes(used: u32): u32 {
  const words = (used + 63) >> 6;
  return words * 12;
}

/**
 * Slides every account's block down over the slots no account holds among the first `used`, in
 * slot order, and zeroes every position column of the slots [held, used) it leaves; returns held,
 * the slots the accounts hold (the arena's used slots from now on). Each account's start is moved
 * with its block (one with no positions gets the slot its start would slide to). `scratch` has
 * arenaScratchBytes(used) bytes: a bitmap of the held slots, then before each 64 slots how many
 * are held, so that a start's new slot is found in O(1). With `records`, the slot each isolated
 * record of a fresh chunk names moves as its position does (a record of an account changed and
 * not refreshed yet may name a slot no account holds: it gets the slot that one slides to, and is
 * written again from the columns by that account's refresh). O(accounts + used + records);
 * writes the position columns, the starts, the records' slots and the scratch. Every block must
 * lie within [0, used) and no two may share a slot (checked: a broken block is an error, found
 * before anything moved).
 */
export function slideBlocks(header: usize, used: u32, scratch: usize, records: bool): u32 {
  const accounts = headerValue(header, H_ACCOUNT_COUNT);
  const accPosStart = column(header, H_ACC_POS_START);
  const accPosCount = column(header, H_ACC_POS_COUNT);
  const words = <usize>((used + 63) >> 6);
  const bits = scratch;
  const before = scratch + (words << 3);
  memory.fill(bits, 0, words << 3);

  // The held slots, and how many the blocks claim: a block out of range or on another's slots is refused here.
  let claimed: u64 = 0;
  for (let a: u32 = 0; a < accounts; a++) {
    const count = load<u32>(accPosCount + (<usize>a << 2));
    if (count == 0) continue;
    const first = load<u32>(accPosStart + (<usize>a << 2));
    assert(<u64>first + <u64>count <= <u64>used, 'compactArena: a block lies beyond the used slots');
    claimed += count;
    for (let j = first; j < first + count; j++) {
      const at = bits + (<usize>(j >> 6) << 3);
      store<u64>(at, load<u64>(at) | (<u64>1 << <u64>(j & 63)));
    }
  }
  let held: u32 = 0;
  for (let w: usize = 0; w < words; w++) {
    store<u32>(before + (w << 2), held);
    held += <u32>popcnt<u64>(load<u64>(bits + (w << 3)));
  }
  assert(<u64>held == claimed, 'compactArena: two blocks share a slot');

  // Every start slides by the free slots below it.
  for (let a: u32 = 0; a < accounts; a++) {
    const at = accPosStart + (<usize>a << 2);
    store<u32>(at, slid(load<u32>(at), used, held, bits, before));
  }
  // And so does every slot an isolated record of a fresh chunk names (the others' records are
  // built again from the columns before they are read).
  if (records) {
    const metas = column(header, H_CHUNKS);
    const region = column(header, H_SWEEP_RECORDS);
    const chunks = (accounts + CHUNK_ACCOUNTS - 1) / CHUNK_ACCOUNTS;
    for (let c: u32 = 0; c < chunks; c++) {
      const meta = metas + <usize>c * <usize>CHUNK_META_BYTES;
      if (load<u32>(meta, CHUNK_STATE) != CHUNK_FRESH) continue;
      let r = region + <usize>load<u32>(meta, CHUNK_OFFSET) + <usize>load<u32>(meta, CHUNK_CROSS) * <usize>CROSS_RECORD_BYTES;
      const end = r + <usize>load<u32>(meta, CHUNK_ISOLATED) * <usize>ISOLATED_RECORD_BYTES;
      for (; r < end; r += ISOLATED_RECORD_BYTES) store<u32>(r, slid(load<u32>(r, ISOLATED_SLOT), used, held, bits, before), ISOLATED_SLOT);
    }
  }

  // Each run of held slots moves down to where the runs before it end, one column at a time (a
  // stream through each column rather than eleven at each run), every position column (the
  // outputs once written: operations.ts slotColumnMoves); the slots left above the blocks are then
  // as a fresh arena's: zero.
  const outputs = outputsWritten(header);
  for (let h = H_POS_SIZE; h <= H_POS_BRACKET; h++) {
    if (!slotColumnMoves(h, outputs)) continue;
    const width = <usize>positionColumnBytes(h);
    const base = column(header, h);
    slideColumn(base, width, used, bits, words);
    memory.fill(base + <usize>held * width, 0, <usize>(used - held) * width);
  }
  return held;
}

/** Slides the runs of held slots among the first `used` of the column at `base` (of `width` bytes a slot) down over the slots between them. */
function slideColumn(base: usize, width: usize, used: u32, bits: usize, words: usize): void {
  let to: u32 = 0;
  let j: u32 = 0;
  while (j < used) {
    let w = <usize>(j >> 6);
    let word = load<u64>(bits + (w << 3)) & (<u64>-1 << <u64>(j & 63));
    while (word == 0) {
      w++;
      if (w >= words) break;
      word = load<u64>(bits + (w << 3));
    }
    if (word == 0) break;
    const start = <u32>((w << 6) + <usize>ctz<u64>(word));
    let gap = ~load<u64>(bits + (w << 3)) & (<u64>-1 << <u64>(start & 63));
    while (gap == 0) {
      w++;
      if (w >= words) break;
      gap = ~load<u64>(bits + (w << 3));
    }
    const end = gap == 0 ? used : min<u32>(<u32>((w << 6) + <usize>ctz<u64>(gap)), used);
    if (to != start) memory.copy(base + <usize>to * width, base + <usize>start * width, <usize>(end - start) * width);
    to += end - start;
    j = end;
  }
}

/** Where slot j (< used, or used itself) slides to: the held slots below it. */
// @ts-ignore: decorator
@inline
function slid(j: u32, used: u32, held: u32, bits: usize, before: usize): u32 {
  if (j >= used) return held;
  const w = <usize>(j >> 6);
  return load<u32>(before + (w << 2)) + <u32>popcnt<u64>(load<u64>(bits + (w << 3)) & ((<u64>1 << <u64>(j & 63)) - 1));
}
