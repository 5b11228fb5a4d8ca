// The chunk sweep (sweep records built by refreshDebits, read by status sweeps of a compact book)
// against the account-by-account sweep over the columns, which kernel-vs-reference.test.ts holds
// to the BigInt reference. The records are built once and the marks then move, as between ticks:
// cross bracket entries go stale and must be caught, isolated thresholds must not care.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../../src/engine/engine.js';
import { MODE_CROSS, MODE_ISOLATED, STATUS_BANKRUPT, STATUS_LIQUIDATABLE } from '../../src/fixed/constants.js';
import type { Book } from '../../src/book/model.js';
import { CHUNK_ACCOUNTS, CHUNK_META_BYTES, HEADER_SLOTS, HeaderSlot, SWEEP_BASE_BYTES, SWEEP_RECORD_SLOT_BYTES } from '../../src/memory/layout.js';
import { kernelU32 } from '../../src/engine/kernel-constants.js';
import { bookArbitrary } from '../support/arbitraries.js';
import { markMax } from '../support/marks.js';
import { applyOperation } from '../../src/account/operations.js';

/** Each position of accounts [start, end), block by block (a block that moved is elsewhere in the table). */
function positionsOf(engine: Engine, start: number, end: number): number[] {
  const v = engine.views;
  const positions: number[] = [];
  for (let a = start; a < end; a++) for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) positions.push(j);
  return positions;
}

/** The status-sweep outputs of accounts [start, end) and their positions, as bytes. */
function outputs(engine: Engine, start: number, end: number): Buffer[] {
  const v = engine.views;
  const positionStatus = Uint8Array.from(positionsOf(engine, start, end), (j) => v.posStatus[j]);
  return [v.accCrossEquity.subarray(start, end), v.accCrossMaint.subarray(start, end), v.accStatus.subarray(start, end), positionStatus].map(
    (column) => Buffer.from(new Uint8Array(column.buffer, column.byteOffset, column.byteLength)),
  );
}

/**
 * Sweeps [start, end) from the records, then again over the columns with the outputs scribbled
 * over in between, and expects the same bytes and count. Returns the count.
 */
function expectSameSweep(engine: Engine, start: number, end: number): number {
  expect(engine.chunkSweep).toBe(true);
  const fromRecords = engine.sweep({ full: false, start, end });
  const expected = outputs(engine, start, end);
  const v = engine.views;
  v.accCrossEquity.fill(-7n, start, end);
  v.accCrossMaint.fill(-7n, start, end);
  v.accStatus.fill(9, start, end);
  for (const j of positionsOf(engine, start, end)) v.posStatus[j] = 9;
  engine.chunkSweep = false;
  try {
    expect(engine.sweep({ full: false, start, end })).toBe(fromRecords);
  } finally {
    engine.chunkSweep = true;
  }
  // Buffer.equals first: toEqual walks a buffer byte by byte, seconds on these books; it runs only to show a difference.
  outputs(engine, start, end).forEach((bytes, k) => {
    if (!bytes.equals(expected[k])) expect(bytes).toEqual(expected[k]);
  });
  return fromRecords;
}

/** Opens a position (1 lot, cross, at the mark, after a deposit) on account `a`, in an instrument it does not hold; whether one opened. */
function openPosition(engine: Engine, a: number): boolean {
  const v = engine.views;
  const held = new Set(Array.from({ length: v.accPosCount[a] }, (_, n) => v.posInst[v.accPosStart[a] + n]));
  const i = engine.instruments.findIndex((_, index) => !held.has(index));
  if (i < 0) return false;
  const instrument = engine.instruments[i];
  applyOperation(engine, { kind: 'deposit', accountIndex: a, amountMicro: 10n ** 15n }); // refused past the balance's limit: the fill may be too
  return applyOperation(engine, { kind: 'fill', accountIndex: a, instrument: instrument.symbol, mode: 'cross', sizeUnits: instrument.lotUnits, priceUnits: v.instMark[i] }).ok;
}

/** Opens a position on an account of `chunk` (openPosition), trying them from the `pick`-th on; whether one opened. */
function growChunk(engine: Engine, chunk: number, pick: number): boolean {
  for (let k = 0; k < CHUNK_ACCOUNTS; k++) if (openPosition(engine, chunk * CHUNK_ACCOUNTS + ((pick + k) % CHUNK_ACCOUNTS))) return true;
  return false;
}

/**
 * A book of at least 8 chunks with a free tail of about two books (so a compaction slides at the least
 * pace), swept (its chunks packed in chunk order, no room), whose compactions start as soon as the
 * holes are worth one; with its header, a chunk's offset, and a position opened on a chunk
 * (growChunk from `pick`). Undefined for a smaller book.
 */
function earlyCompactionBook(book: Book, pick: number) {
  const engine = Engine.fromBook(book, { spareFraction: 2, layoutRoom: 0 });
  if (engine.accountCount < 8 * CHUNK_ACCOUNTS) return undefined;
  const header = new Uint32Array(engine.memory.buffer, engine.layout.header, HEADER_SLOTS);
  const W = CHUNK_META_BYTES / 4;
  const meta = new Uint32Array(engine.memory.buffer, header[HeaderSlot.chunks], 8 * W);
  const offsetOf = (chunk: number) => meta[chunk * W + kernelU32('CHUNK_OFFSET') / 4];
  const grow = (chunk: number) => growChunk(engine, chunk, pick);
  engine.sweep({ full: false });
  header[HeaderSlot.compactStartFree] = header[HeaderSlot.recordsBytes];
  return { engine, header, offsetOf, grow };
}

/**
 * Runs `scenario` on 20 random books made by earlyCompactionBook (with the `pick` that chose their
 * accounts); a scenario returns false when its book cannot set up its case. Expects more than 5 cases.
 */
function expectEarlyCompactionCases(scenario: (book: NonNullable<ReturnType<typeof earlyCompactionBook>>, pick: number) => boolean): void {
  let cases = 0;
  fc.assert(
    fc.property(bookArbitrary(8 * CHUNK_ACCOUNTS), fc.nat(), (book, pick) => {
      const compacting = earlyCompactionBook(book, pick);
      if (compacting !== undefined && scenario(compacting, pick)) cases++;
    }),
    { numRuns: 20 },
  );
  expect(cases).toBeGreaterThan(5);
}

/** The placed chunks' areas lie below the region's tail, none over another. */
function expectAreasApart(engine: Engine): void {
  const header = new Uint32Array(engine.memory.buffer, engine.layout.header, HEADER_SLOTS);
  const A = engine.accountCount;
  const chunks = Math.ceil(A / CHUNK_ACCOUNTS);
  const W = CHUNK_META_BYTES / 4;
  const meta = new Uint32Array(engine.memory.buffer, header[HeaderSlot.chunks], chunks * W);
  const at = (chunk: number, name: string) => meta[chunk * W + kernelU32(name) / 4];
  const areas = Array.from({ length: chunks }, (_, chunk) => chunk)
    .filter((chunk) => at(chunk, 'CHUNK_STATE') !== kernelU32('CHUNK_UNLAID'))
    .map((chunk) => [at(chunk, 'CHUNK_OFFSET'), at(chunk, 'CHUNK_CAPACITY') * SWEEP_RECORD_SLOT_BYTES + Math.min(CHUNK_ACCOUNTS, A - chunk * CHUNK_ACCOUNTS) * SWEEP_BASE_BYTES])
    .sort((x, y) => x[0] - y[0]);
  for (let k = 1; k < areas.length; k++) expect(areas[k][0], 'an area over the one below it').toBeGreaterThanOrEqual(areas[k - 1][0] + areas[k - 1][1]);
  const last = areas[areas.length - 1];
  expect(last[0] + last[1]).toBeLessThanOrEqual(header[HeaderSlot.recordsTail]);
  expect(header[HeaderSlot.recordsTail]).toBeLessThanOrEqual(header[HeaderSlot.recordsBytes]);
}

const moveArbitrary = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 950_000, max: 1_050_000 }) }, // ±5%
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 4_000_000 }) }, // crashes and spikes
  ),
  { minLength: 4, maxLength: 4 },
);

describe('the chunk sweep and the account-by-account sweep', () => {
  // decimals 'any': instruments finer than a micro too (docs/numbers.md), whose cross records take the slow path and whose values are floored.
  test.each(['micro', 'any'] as const)('write the same bytes as marks move after the records were built, on whole books and on cut ranges (decimals %s)', (decimals) => {
    let chunks = 0;
    let failing = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 * CHUNK_ACCOUNTS + 17 }).chain((accounts) => bookArbitrary(accounts, decimals)),
        fc.array(moveArbitrary, { minLength: 1, maxLength: 4 }),
        fc.nat(),
        fc.nat(),
        (book: Book, rounds, cutA, cutB) => {
          const engine = Engine.fromBook(book);
          const A = engine.accountCount;
          chunks += Math.ceil(A / CHUNK_ACCOUNTS);
          const base = book.instruments.map((instrument) => instrument.markUnits);
          for (const moves of rounds) {
            base.forEach((mark, i) => {
              const moved = (mark * BigInt(moves[i])) / 1_000_000n;
              const limit = markMax(engine, i);
              engine.views.instMark[i] = moved < 1n ? 1n : moved > limit ? limit : moved;
            });
            failing += expectSameSweep(engine, 0, A);
            const start = cutA % (A + 1);
            const end = start + (cutB % (A - start + 1));
            expectSameSweep(engine, start, end);
          }
        },
      ),
      { numRuns: 60 },
    );
    // Books of several chunks, with a short last one, and scopes that fail.
    expect(chunks).toBeGreaterThan(100);
    expect(failing).toBeGreaterThan(1000);
  });

  test.each(['micro', 'any'] as const)("an isolated position's thresholds are exact: the same status at its boundary marks and one price unit either side (decimals %s)", (decimals) => {
    let boundaries = 0;
    fc.assert(
      fc.property(bookArbitrary(10, decimals), fc.nat(), (book, pick) => {
        const engine = Engine.fromBook(book);
        const v = engine.views;
        const isolated: Array<{ a: number; j: number }> = [];
        for (let a = 0; a < engine.accountCount; a++) {
          for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
            if (v.posMode[j] === MODE_ISOLATED && v.posSize[j] !== 0n) isolated.push({ a, j });
          }
        }
        for (let k = 0; k < Math.min(3, isolated.length); k++) {
          const { a, j } = isolated[(pick + k * 7) % isolated.length];
          const i = v.posInst[j];
          const mark = v.instMark[i];
          const top = markMax(engine, i);
          // The account sweep's status of position j at a mark (exact: held to the reference).
          const statusAt = (price: bigint): number => {
            v.instMark[i] = price;
            engine.chunkSweep = false;
            engine.sweep({ full: false, start: a, end: a + 1 });
            engine.chunkSweep = true;
            return v.posStatus[j];
          };
          const long = v.posSize[j] > 0n;
          for (const status of [STATUS_LIQUIDATABLE, STATUS_BANKRUPT]) {
            // Statuses fall as a long's mark rises and climb as a short's does: bisect for the edge.
            const fails = (price: bigint): boolean => statusAt(price) >= status;
            let lo = 1n;
            let hi = top;
            if (fails(long ? hi : lo) || !fails(long ? lo : hi)) continue; // no edge in range
            while (hi - lo > 1n) {
              const mid = (lo + hi) / 2n;
              if (fails(mid) === long) lo = mid;
              else hi = mid;
            }
            for (const edge of [lo, hi]) {
              for (const price of [edge - 1n, edge, edge + 1n]) {
                if (price < 1n || price > top) continue;
                v.instMark[i] = price;
                expectSameSweep(engine, 0, engine.accountCount);
              }
            }
            boundaries++;
          }
          v.instMark[i] = mark;
        }
      }),
      { numRuns: 300 },
    );
    expect(boundaries).toBeGreaterThan(300);
  });

  test('chunks no refresh has laid out are swept over the columns, the others from their records', () => {
    fc.assert(
      fc.property(bookArbitrary(4 * CHUNK_ACCOUNTS + 9), (book) => {
        const engine = Engine.fromBook(book);
        // Back to the state of a fresh layout (every chunk unlaid, no area handed out), then
        // refresh chunks 1 and 2 only.
        const header = new Uint32Array(engine.memory.buffer, engine.layout.header, HEADER_SLOTS);
        const W = CHUNK_META_BYTES / 4;
        const word = (name: string) => kernelU32(name) / 4;
        const meta = new Uint32Array(engine.memory.buffer, header[HeaderSlot.chunks], 5 * W);
        for (let chunk = 0; chunk < 5; chunk++) {
          meta.fill(0, chunk * W, (chunk + 1) * W);
          meta[chunk * W + word('CHUNK_STATE')] = kernelU32('CHUNK_UNLAID');
        }
        header[HeaderSlot.recordsTail] = 0;
        engine.refreshDebits(CHUNK_ACCOUNTS, 3 * CHUNK_ACCOUNTS);
        const states = [0, 1, 2, 3, 4].map((chunk) => meta[chunk * W + word('CHUNK_STATE')]);
        expect(states).toEqual(['CHUNK_UNLAID', 'CHUNK_REBUILD', 'CHUNK_REBUILD', 'CHUNK_UNLAID', 'CHUNK_UNLAID'].map(kernelU32));
        // Chunk 2's area follows chunk 1's (its records with room to grow, then its cross bases).
        const at = (chunk: number, name: string) => meta[chunk * W + word(name)];
        expect(at(1, 'CHUNK_OFFSET')).toBe(0);
        expect(at(1, 'CHUNK_CAPACITY')).toBeGreaterThanOrEqual(at(1, 'CHUNK_CROSS') + at(1, 'CHUNK_ISOLATED'));
        expect(at(2, 'CHUNK_OFFSET')).toBe(at(1, 'CHUNK_CAPACITY') * SWEEP_RECORD_SLOT_BYTES + CHUNK_ACCOUNTS * SWEEP_BASE_BYTES);
        expectSameSweep(engine, 0, engine.accountCount);
      }),
      { numRuns: 10 },
    );
  });

  test('records follow the book: after a refresh of one account, a change of mode, and a new funding index', () => {
    let switched = 0;
    fc.assert(
      fc.property(bookArbitrary(2 * CHUNK_ACCOUNTS + 40), fc.nat(), fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), (book, pick, delta) => {
        const engine = Engine.fromBook(book);
        const v = engine.views;
        const a = pick % engine.accountCount;
        expectSameSweep(engine, 0, engine.accountCount);
        // A new balance and margin for account a, refreshed alone: its chunk's records follow.
        v.accBalance[a] += delta;
        for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
          if (v.posMode[j] === MODE_ISOLATED && v.posMargin[j] + delta >= 0n) v.posMargin[j] += delta;
        }
        engine.refreshDebits(a, a + 1);
        expectSameSweep(engine, 0, engine.accountCount);
        // One position of the first account with any changes mode: its chunk holds one record more
        // of one kind and one fewer of the other, so every later chunk's records move.
        const b = (pick >> 8) % CHUNK_ACCOUNTS;
        for (let k = 0; k < engine.accountCount; k++) {
          const owner = (b + k) % engine.accountCount;
          if (v.accPosCount[owner] === 0) continue;
          const j = v.accPosStart[owner];
          const toIsolated = v.posMode[j] !== MODE_ISOLATED;
          v.posMode[j] = toIsolated ? MODE_ISOLATED : MODE_CROSS;
          v.posMargin[j] = toIsolated ? 10n ** 9n : 0n;
          engine.refreshDebits(owner, owner + 1);
          expectSameSweep(engine, 0, engine.accountCount);
          switched++;
          break;
        }
        // A funding index moves every position's debit: the full refresh the operation makes.
        v.instFunding[0] += BigInt(pick % 2001) - 1000n;
        engine.refreshDebits();
        expectSameSweep(engine, 0, engine.accountCount);
      }),
      { numRuns: 40 },
    );
    expect(switched).toBeGreaterThan(30);
  });

  test('a layout of the whole book gives each area CHUNK_ROOM_MIN records of room: the positions a chunk gains fill it in place, then the chunk moves to the tail', () => {
    let cases = 0;
    fc.assert(
      fc.property(bookArbitrary(2 * CHUNK_ACCOUNTS), fc.nat(), (book, pick) => {
        const engine = Engine.fromBook(book, { spareFraction: 2 }); // a free tail of about two books
        if (engine.accountCount < 2 * CHUNK_ACCOUNTS) return;
        const header = new Uint32Array(engine.memory.buffer, engine.layout.header, HEADER_SLOTS);
        header[HeaderSlot.compactStartFree] = 0; // no compaction before the region is full (a small book's one move would start one)
        const W = CHUNK_META_BYTES / 4;
        const meta = new Uint32Array(engine.memory.buffer, header[HeaderSlot.chunks], 2 * W);
        const at = (chunk: number, name: string) => meta[chunk * W + kernelU32(name) / 4];
        const records = (chunk: number) => at(chunk, 'CHUNK_CROSS') + at(chunk, 'CHUNK_ISOLATED');
        engine.sweep({ full: false });
        // Laid out in chunk order, each area its records and CHUNK_ROOM_MIN more, then its bases.
        const room = kernelU32('CHUNK_ROOM_MIN');
        expect(header[HeaderSlot.layoutRoom]).toBe(room);
        expect(at(0, 'CHUNK_CAPACITY')).toBe(records(0) + room);
        expect(at(1, 'CHUNK_OFFSET')).toBe(at(0, 'CHUNK_OFFSET') + at(0, 'CHUNK_CAPACITY') * SWEEP_RECORD_SLOT_BYTES + CHUNK_ACCOUNTS * SWEEP_BASE_BYTES);
        const offset = at(0, 'CHUNK_OFFSET');
        const tail = header[HeaderSlot.recordsTail];
        // Positions opened in chunk 0 (one record each) until its records fill its area: it stays.
        while (records(0) < at(0, 'CHUNK_CAPACITY')) {
          if (!growChunk(engine, 0, pick)) return;
          expect(at(0, 'CHUNK_OFFSET')).toBe(offset);
          expect(at(0, 'CHUNK_STATE')).toBe(kernelU32('CHUNK_FRESH'));
        }
        expect(header[HeaderSlot.recordsTail]).toBe(tail);
        expectSameSweep(engine, 0, engine.accountCount);
        // One more: the chunk moves to the tail, keeping its records, with the room of a move.
        if (!growChunk(engine, 0, pick)) return;
        expect(at(0, 'CHUNK_OFFSET')).toBe(tail);
        expect(at(0, 'CHUNK_STATE')).toBe(kernelU32('CHUNK_FRESH'));
        expect(at(0, 'CHUNK_CAPACITY')).toBe(records(0) + Math.max(room, Math.floor(records(0) / kernelU32('CHUNK_ROOM_SHARE'))));
        expectSameSweep(engine, 0, engine.accountCount);
        cases++;
      }),
      { numRuns: 10 },
    );
    expect(cases).toBeGreaterThan(5);
  });

  test('a full region is compacted, its chunks keeping their records; when that frees too little, repacked', () => {
    let compacted = 0;
    let repacked = 0;
    fc.assert(
      fc.property(bookArbitrary(5 * CHUNK_ACCOUNTS), fc.nat(), (book, pick) => {
        const engine = Engine.fromBook(book, { spareFraction: 2, layoutRoom: 0 }); // a region with room for two moves, chunks packed
        if (engine.accountCount < 5 * CHUNK_ACCOUNTS) return;
        const header = new Uint32Array(engine.memory.buffer, engine.layout.header, HEADER_SLOTS);
        header[HeaderSlot.compactStartFree] = 0; // no compaction before the region is full (the next test starts them early)
        const W = CHUNK_META_BYTES / 4;
        const meta = new Uint32Array(engine.memory.buffer, header[HeaderSlot.chunks], 5 * W);
        const at = (chunk: number, name: string) => meta[chunk * W + kernelU32(name) / 4];
        const states = () => [0, 1, 2, 3, 4].map((chunk) => at(chunk, 'CHUNK_STATE'));
        const fresh = kernelU32('CHUNK_FRESH');
        const rebuild = kernelU32('CHUNK_REBUILD');
        const grow = (chunk: number) => growChunk(engine, chunk, pick);
        engine.sweep({ full: false }); // builds every chunk's records, packed with no room
        expect(states()).toEqual([fresh, fresh, fresh, fresh, fresh]);
        // Chunks 1 and 2 outgrow their areas and move to the tail, leaving holes behind.
        const areaOf = (chunk: number) => at(chunk, 'CHUNK_CAPACITY') * SWEEP_RECORD_SLOT_BYTES + CHUNK_ACCOUNTS * SWEEP_BASE_BYTES;
        /** What chunk `chunk`'s move needs: its records and one more, with room (chunks.ts roomFor). */
        const neededBy = (chunk: number) => {
          const records = at(chunk, 'CHUNK_CROSS') + at(chunk, 'CHUNK_ISOLATED') + 1;
          return (records + Math.max(kernelU32('CHUNK_ROOM_MIN'), Math.floor(records / kernelU32('CHUNK_ROOM_SHARE')))) * SWEEP_RECORD_SLOT_BYTES + CHUNK_ACCOUNTS * SWEEP_BASE_BYTES;
        };
        const hole = areaOf(1) + areaOf(2);
        if (header[HeaderSlot.recordsTail] + neededBy(1) + neededBy(2) > header[HeaderSlot.recordsBytes]) return; // a book too small for two moves
        if (!grow(1) || !grow(2)) return;
        expect(at(1, 'CHUNK_OFFSET')).toBeGreaterThan(at(4, 'CHUNK_OFFSET'));
        expect(at(2, 'CHUNK_OFFSET')).toBeGreaterThan(at(1, 'CHUNK_OFFSET'));
        // The region ends at the tail: chunk 3's move fits only once the holes are gone.
        const tail = header[HeaderSlot.recordsTail];
        const offsets = [0, 1, 2, 3, 4].map((chunk) => at(chunk, 'CHUNK_OFFSET'));
        header[HeaderSlot.recordsBytes] = tail;
        const needed = neededBy(3);
        if (!grow(3)) return;
        if (hole >= tail / kernelU32('COMPACT_FREE_SHARE') && needed <= hole) {
          // Compacted: every chunk kept its records (none is marked for rebuilding); the areas after
          // the holes slid down over them, in the order they were in, and chunk 3 moved to the new tail.
          expect(states()).toEqual([fresh, fresh, fresh, fresh, fresh]);
          expect([0, 1, 2, 4].map((chunk) => at(chunk, 'CHUNK_OFFSET'))).toEqual([offsets[0], offsets[1] - hole, offsets[2] - hole, offsets[4] - hole]);
          expect(at(3, 'CHUNK_OFFSET')).toBe(tail - hole);
          expect(header[HeaderSlot.recordsTail]).toBe(tail - hole + needed);
          compacted++;
        } else {
          expect(states()).toEqual([rebuild, rebuild, rebuild, rebuild, rebuild]);
          repacked++;
        }
        expectSameSweep(engine, 0, engine.accountCount);
        // Almost no room: the region is the chunks' areas and one record, so a compaction would free
        // too little. Chunk 0 (packed with no room) moves: every chunk is repacked, each marked for rebuilding.
        engine.sweep({ full: false });
        const areas = [0, 1, 2, 3, 4].reduce((sum, chunk) => sum + at(chunk, 'CHUNK_CAPACITY') * SWEEP_RECORD_SLOT_BYTES + CHUNK_ACCOUNTS * SWEEP_BASE_BYTES, 0);
        header[HeaderSlot.recordsBytes] = areas + SWEEP_RECORD_SLOT_BYTES;
        if (!grow(0)) return;
        expect(states()).toEqual([rebuild, rebuild, rebuild, rebuild, rebuild]);
        expect(at(0, 'CHUNK_OFFSET')).toBe(0);
        expectSameSweep(engine, 0, engine.accountCount);
        repacked++;
      }),
      { numRuns: 30 },
    );
    expect(compacted).toBeGreaterThan(15);
    expect(repacked).toBeGreaterThan(15);
  });

  test('a compaction started before the region is full slides the areas a few at a time, in the refreshes that move chunks, each chunk keeping its records', () => {
    const sliding = kernelU32('COMPACT_SLIDING');
    const idle = kernelU32('COMPACT_IDLE');
    const fresh = kernelU32('CHUNK_FRESH');
    let started = 0;
    let partial = 0; // refreshes that slid some of a compaction and left it under way
    let ended = 0;
    let moves = 0;
    let inHoles = 0; // moves given an area in the holes the slide had passed
    fc.assert(
      fc.property(bookArbitrary(8 * CHUNK_ACCOUNTS), fc.array(fc.nat(), { minLength: 60, maxLength: 60 }), (book, picks) => {
        const engine = Engine.fromBook(book, { spareFraction: 2, layoutRoom: 0 }); // a free tail of about two books: a slow pace; chunks packed
        const A = engine.accountCount;
        if (A < 8 * CHUNK_ACCOUNTS) return;
        const chunks = Math.ceil(A / CHUNK_ACCOUNTS);
        const header = new Uint32Array(engine.memory.buffer, engine.layout.header, HEADER_SLOTS);
        const W = CHUNK_META_BYTES / 4;
        const meta = new Uint32Array(engine.memory.buffer, header[HeaderSlot.chunks], chunks * W);
        const at = (chunk: number, name: string) => meta[chunk * W + kernelU32(name) / 4];
        const areaOf = (chunk: number) => at(chunk, 'CHUNK_CAPACITY') * SWEEP_RECORD_SLOT_BYTES + Math.min(CHUNK_ACCOUNTS, A - chunk * CHUNK_ACCOUNTS) * SWEEP_BASE_BYTES;
        engine.sweep({ full: false }); // every chunk's records, packed with no room
        // A compaction starts as soon as the holes are worth it (a sixteenth of the region). Half the
        // books slide at the least pace, so that chunks the slide has not reached yet move meanwhile.
        header[HeaderSlot.compactStartFree] = header[HeaderSlot.recordsBytes];
        const slow = picks[0] % 2 === 0;
        for (const pick of picks) {
          if (slow && header[HeaderSlot.compactState] === sliding) header[HeaderSlot.compactPace] = kernelU32('COMPACT_PACE_MIN');
          // A position opened on an account of a chunk: a chunk with no room left moves to the tail.
          const a = pick % A;
          const chunk = Math.floor(a / CHUNK_ACCOUNTS);
          const before = header[HeaderSlot.compactState];
          const tailBefore = header[HeaderSlot.recordsTail];
          const writeBefore = header[HeaderSlot.compactWrite];
          const offsetBefore = at(chunk, 'CHUNK_OFFSET');
          if (!openPosition(engine, a)) continue;
          if (at(chunk, 'CHUNK_OFFSET') >= tailBefore) moves++;
          else if (at(chunk, 'CHUNK_OFFSET') !== offsetBefore && before === sliding) inHoles++; // placed where the slide writes
          const after = header[HeaderSlot.compactState];
          if (before !== sliding && after === sliding) started++;
          if (before === sliding && after === sliding && header[HeaderSlot.compactWrite] > writeBefore) partial++;
          if (before === sliding && after === idle) {
            ended++;
            expect(header[HeaderSlot.recordsTail]).toBeLessThan(tailBefore + areaOf(chunk)); // the holes are gone
          }
          expectAreasApart(engine);
          // No chunk was marked for rebuilding: a slide copies an area with its records.
          for (let c = 0; c < chunks; c++) expect(at(c, 'CHUNK_STATE')).toBe(fresh);
          // The records against the columns while a compaction is under way or just ended (and now and then besides).
          if (before === sliding || after === sliding || pick % 4 === 0) expectSameSweep(engine, 0, A);
        }
      }),
      { numRuns: 8 },
    );
    console.log(`${moves} chunk moves to the tail, ${inHoles} into the holes a slide had passed, ${started} compactions started, ${ended} ended, ${partial} refreshes left one under way`);
    expect(started).toBeGreaterThan(5);
    expect(ended).toBeGreaterThan(3);
    expect(partial).toBeGreaterThan(10);
    expect(inHoles).toBeGreaterThan(3);
  });

  test('a chunk the slide has not reached yet that moves to the tail is left to the next round, not slid in its old place', () => {
    expectEarlyCompactionCases(({ engine, header, offsetOf, grow }, pick) => {
      const sliding = kernelU32('COMPACT_SLIDING');
      const A = engine.accountCount;
      // Chunks 7 and 6 move to the tail: their holes start a compaction, whose first slide passes the
      // areas below them (in place) until what the move owes runs out.
      if (!grow(7) || !grow(6) || header[HeaderSlot.compactState] !== sliding) return false;
      // Chunk 4 is below the holes, and the slide has not reached it: it moves to the tail now. Slid
      // in its old place it would be written over chunk 5 (its new area has room to grow).
      if (header[HeaderSlot.compactNext] > 4) return false;
      const tail = header[HeaderSlot.recordsTail];
      if (!grow(4)) return false;
      // Moved to the tail, the next round's (unless this refresh's slide ended the round and slid it
      // in the next), or into the holes the slide had passed, below where it writes.
      if (header[HeaderSlot.compactRoundEnd] === tail && offsetOf(4) >= header[HeaderSlot.compactWrite]) expect(offsetOf(4)).toBeGreaterThanOrEqual(tail);
      expectAreasApart(engine);
      while (header[HeaderSlot.compactState] === sliding && grow(pick % 4)) {
        // more moves, until the compaction ends
      }
      expectAreasApart(engine);
      expectSameSweep(engine, 0, A);
      return true;
    });
  });

  test('a chunk not reached yet that moves into the holes the slide has passed keeps its records there while the slide goes on', () => {
    expectEarlyCompactionCases(({ engine, header, offsetOf, grow }, pick) => {
      const sliding = kernelU32('COMPACT_SLIDING');
      const A = engine.accountCount;
      // Chunks 1 and 2 move to the tail: their holes start a compaction, whose first slide takes
      // chunk 3 (and maybe more) down over them, leaving the rest of the holes below where it writes.
      if (!grow(1) || !grow(2) || header[HeaderSlot.compactState] !== sliding) return false;
      // Chunk 5, not reached yet, moves into those holes, just below the next area still to slide.
      const tail = header[HeaderSlot.recordsTail];
      if (header[HeaderSlot.compactNext] > 5 || !grow(5) || offsetOf(5) >= tail) return false;
      expect(offsetOf(5)).toBeLessThan(header[HeaderSlot.compactWrite]);
      expectAreasApart(engine);
      // More moves until the compaction ends: the slide passes chunk 5's old place (a hole now).
      while (header[HeaderSlot.compactState] === sliding && grow(pick % 2 === 0 ? 0 : 3)) {
        expectAreasApart(engine);
      }
      expectAreasApart(engine);
      expectSameSweep(engine, 0, A);
      return true;
    });
  });
});
