// The position arena's compaction (Engine.compactPositions, the kernel's compactArena): the slots
// that moved blocks left behind are taken back. Held to a model written here from the rule alone
// (every block slides down over the slots no account holds, in slot order; the slots above are
// zeroed), the chunk records it moves to those a build writes, and the BigInt reference after it,
// to the chunk sweep on one thread and in a pool.
import { afterAll, describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../../src/engine/engine.js';
import { SweepPool } from '../../src/pool/pool.js';
import { IncrementalEvaluator } from '../../src/engine/incremental.js';
import { applyBatch } from '../../src/account/batch.js';
import { applyOperation } from '../../src/account/operations.js';
import { generateBook, generatedBookToBook } from '../../src/gen/generate.js';
import { mixedUpdates, prng } from '../../bench/workload.js';
import { evaluateAccount } from '../../src/reference/evaluate.js';
import { POSITIONS_PER_ACCOUNT_MAX, STATUS_NAMES } from '../../src/fixed/constants.js';
import { CHUNK_META_BYTES, POSITION_COLUMNS, type Views } from '../../src/memory/layout.js';
import type { Book } from '../../src/book/model.js';
import { bookArbitrary } from '../support/arbitraries.js';
import { statusScopes, sweptStatuses } from '../support/scopes.js';
import { chunkMeta, placement, records } from '../support/records.js';
import { kernelU32 } from '../../src/engine/kernel-constants.js';

const CHUNK_FRESH = kernelU32('CHUNK_FRESH');

/** Chunks a deferred funding refresh has not reached yet. */
function pendingChunks(engine: Engine): number {
  const meta = chunkMeta(engine);
  const W = CHUNK_META_BYTES / 4;
  const word = kernelU32('CHUNK_FUNDING') / 4;
  let pending = 0;
  for (let chunk = 0; chunk < meta.length / W; chunk++) if (meta[chunk * W + word] !== 0) pending++;
  return pending;
}

type Column = ArrayLike<number | bigint> & { subarray(a: number, b: number): ArrayLike<number | bigint> };

/** Moves random blocks to the arena's tail (as a fill that opens a position does) and shrinks some (as one that closes a position does): slots left behind. */
function scatter(engine: Engine, random: () => number, moves: number): void {
  for (let m = 0; m < moves; m++) {
    const v = engine.views; // a new layout's once the arena grew
    const a = Math.floor(random() * engine.accountCount);
    if (v.accPosCount[a] === 0 || v.accPosCount[a] === POSITIONS_PER_ACCOUNT_MAX) continue;
    // A slot appended (the block moves to the tail unless it ends the arena) and taken out again:
    // the block, moved or not, holds what it held.
    const slot = engine.appendPositionSlot(a);
    engine.removePositionSlot(a, slot);
    // Some lose their last position (as a fill that closes it): one slot left past the block.
    const w = engine.views;
    if (random() < 0.2 && w.accPosCount[a] > 1) engine.removePositionSlot(a, w.accPosStart[a] + w.accPosCount[a] - 1);
  }
  engine.refreshDebits();
  engine.sweep({ full: false }); // every chunk's records built, naming the slots as they are before the compaction
}

/**
 * `runs` property books of accounts[0] to accounts[1] accounts, each loaded and scattered (up to
 * movesPerAccount moves an account), with the random source that scattered it.
 */
function scatteredBooks(options: { accounts: [number, number]; runs: number; seed: number; movesPerAccount: number }): { engine: Engine; random: () => number }[] {
  const samples = fc.sample(
    fc.tuple(fc.integer({ min: options.accounts[0], max: options.accounts[1] }).chain((accounts) => bookArbitrary(accounts)), fc.integer({ min: 0, max: 2 ** 31 - 1 })),
    { numRuns: options.runs, seed: options.seed },
  );
  return samples.map(([book, seed]) => {
    const engine = Engine.fromBook(book as Book);
    const random = prng(seed);
    scatter(engine, random, 1 + Math.floor(random() * options.movesPerAccount * engine.accountCount));
    return { engine, random };
  });
}

/** What compaction must leave: each column's held values packed in the order of their slots, zero above, and the starts slid. */
function model(engine: Engine): { starts: number[]; columns: Record<string, (number | bigint)[]>; held: number } {
  const v = engine.views;
  const used = engine.positionsUsed;
  const owner = new Int32Array(used).fill(-1);
  for (let a = 0; a < engine.accountCount; a++) {
    for (let k = 0; k < v.accPosCount[a]; k++) owner[v.accPosStart[a] + k] = a;
  }
  const heldBelow = new Int32Array(used + 1);
  for (let j = 0; j < used; j++) heldBelow[j + 1] = heldBelow[j] + (owner[j] >= 0 ? 1 : 0);
  const held = heldBelow[used];
  const starts = Array.from({ length: engine.accountCount }, (_, a) => heldBelow[Math.min(v.accPosStart[a], used)]);
  const columns: Record<string, (number | bigint)[]> = {};
  for (const name of POSITION_COLUMNS) {
    const column = v[name as keyof Views] as unknown as Column;
    const packed: (number | bigint)[] = [];
    for (let j = 0; j < used; j++) if (owner[j] >= 0) packed.push(column[j]);
    const zero = typeof column[0] === 'bigint' ? 0n : 0;
    while (packed.length < used) packed.push(zero);
    columns[name] = packed;
  }
  return { starts, columns, held };
}

function columnsOf(engine: Engine, used: number): Record<string, (number | bigint)[]> {
  const out: Record<string, (number | bigint)[]> = {};
  for (const name of POSITION_COLUMNS) out[name] = Array.from((engine.views[name as keyof Views] as unknown as Column).subarray(0, used));
  return out;
}

/** Every account's positions, as the book says them: what compaction must not change. */
function positionsOf(engine: Engine): string {
  return JSON.stringify(engine.toBook().accounts, (_, value) => (typeof value === 'bigint' ? value.toString() : value));
}

function expectReference(engine: Engine): void {
  const book = engine.toBook();
  const expected = book.accounts.map((_, a) => evaluateAccount(book, a));
  engine.sweep({ full: false }); // the chunk sweep over records rebuilt after the slots moved
  const { accountStatus } = sweptStatuses(engine);
  expect(accountStatus).toEqual(expected.map((result) => result.crossStatus));
  const v = engine.views;
  for (let a = 0; a < engine.accountCount; a++) {
    for (let k = 0; k < v.accPosCount[a]; k++) {
      const j = v.accPosStart[a] + k;
      if (expected[a].positions[k].status !== null) expect(STATUS_NAMES[v.posStatus[j]], `account ${a} position ${k}`).toBe(expected[a].positions[k].status);
    }
  }
  engine.evaluate();
  for (let a = 0; a < engine.accountCount; a++) expect(engine.accountResult(a), `account ${a}`).toEqual(expected[a]);
}

const pools: SweepPool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.close()));
});

describe('compacting the position arena', () => {
  test('every block slides down over the slots left behind, in slot order; the positions, the figures and every status stay the reference', async () => {
    const books = scatteredBooks({ accounts: [1, 400], runs: 24, seed: 20261203, movesPerAccount: 3 });
    let taken = 0;
    for (const { engine } of books) {
      const used = engine.positionsUsed;
      const expected = model(engine);
      const positions = positionsOf(engine);
      const states = placement(engine).map((chunk) => chunk.state);
      const takenBefore = engine.positionSlotsTakenBack;
      const slid = engine.compactPositions();
      // No chunk waits to be built again: the records' slots moved with their positions.
      expect(placement(engine).map((chunk) => chunk.state)).toEqual(states);
      expect(states.every((state) => state === CHUNK_FRESH)).toBe(true);
      const moved = records(engine).chunks;
      taken += slid;
      expect(engine.positionSlotsTakenBack - takenBefore).toBe(slid);
      expect(slid).toBe(used - expected.held);
      expect(engine.positionsUsed).toBe(expected.held);
      expect(engine.positionsHeld()).toBe(expected.held);
      expect(Array.from(engine.views.accPosStart.subarray(0, engine.accountCount))).toEqual(expected.starts);
      expect(columnsOf(engine, used)).toEqual(expected.columns);
      expect(positionsOf(engine)).toBe(positions);
      expectReference(engine); // sweeps the moved records first, then evaluates (which lays the book out again)
      // The records as moved are those a build from the columns writes.
      engine.sweep({ full: false });
      const built = records(engine).chunks;
      expect(built.length).toBe(moved.length);
      for (let c = 0; c < built.length; c++) expect(moved[c].equals(built[c]), `chunk ${c}'s records`).toBe(true);
      // The pool sweeps the same records to the same statuses.
      const statuses = statusScopes(engine);
      const pool = await SweepPool.open(engine, { threads: 2 });
      pools.push(pool);
      engine.sweep({ full: false });
      const result = await pool.sweep();
      expect([...result.scopes]).toEqual(statuses);
      await pool.close();
      pools.pop();
      // A second compaction finds nothing to take back, and moves nothing.
      const packed = columnsOf(engine, engine.positionsUsed);
      expect(engine.compactPositions()).toBe(0);
      expect(columnsOf(engine, engine.positionsUsed)).toEqual(packed);
    }
    expect(taken).toBeGreaterThan(1000); // slots were left behind to take back
  });

  test('with a funding refresh pending on the chunks and an incremental index built: the refresh stays pending and settles on the moved records, the index stays built, and its hot book writes where the blocks are now, as the reference says', async () => {
    const books = scatteredBooks({ accounts: [40, 600], runs: 12, seed: 20261204, movesPerAccount: 2 });
    let pendingSeen = 0;
    let fundingMoved = 0;
    let hotTicks = 0;
    for (const { engine, random } of books) {
      // Most of the book hot (a bound below 20%): the ticks after the compaction settle isolated
      // scopes in the hot book, which names each by its position's rank in the account's block.
      const incremental = new IncrementalEvaluator(engine, { hotBound: 0.2 });
      await incremental.step(); // the index built over the slots as they are
      // A funding index moved (its refresh deferred to each chunk's next read); on the property
      // books' edge ranges a move may be refused (its unsettled funding out of range): the
      // instruments are tried in turn, both ways.
      const moved = engine.instruments.some((instrument, i) =>
        [1n, -1n].some((sign) => applyBatch(engine, [{ kind: 'setFundingIndex', instrument: instrument.symbol, fundingIndex: engine.views.instFunding[i] + sign * BigInt(1 + Math.floor(random() * 1000)) }]).results[0].ok),
      );
      const pending = pendingChunks(engine);
      if (moved) fundingMoved++;
      pendingSeen += pending;
      engine.compactPositions();
      expect(pendingChunks(engine)).toBe(pending); // a compaction settles nothing and builds nothing
      const after = engine.toBook();
      const expected = after.accounts.map((_, a) => evaluateAccount(after, a));
      const statuses = (): string[] => sweptStatuses(engine).accountStatus;
      const isolated = (): (string | null)[] => {
        const v = engine.views;
        const out: (string | null)[] = [];
        for (let a = 0; a < engine.accountCount; a++) {
          for (let k = 0; k < v.accPosCount[a]; k++) out.push(expected[a].positions[k].status === null ? null : STATUS_NAMES[v.posStatus[v.accPosStart[a] + k]]);
        }
        return out;
      };
      const isolatedExpected = expected.flatMap((result) => result.positions.map((position) => position.status));
      // The chunk sweep reads the pending chunks lazily, over the moved records; the statuses are
      // exact either way. Then the refresh is settled on them (Engine.settleFunding) and swept again.
      engine.sweep({ full: false });
      expect(statuses()).toEqual(expected.map((result) => result.crossStatus));
      expect(isolated()).toEqual(isolatedExpected);
      engine.settleFunding();
      expect(pendingChunks(engine)).toBe(0);
      engine.sweep({ full: false });
      expect(statuses()).toEqual(expected.map((result) => result.crossStatus));
      expect(isolated()).toEqual(isolatedExpected);
      // The incremental path was told nothing: no figure changed, and its index stays built.
      const step = await incremental.step();
      expect(step.path).not.toBe('build');
      expect(incremental.stale).toBe('');
      expect(statuses()).toEqual(expected.map((result) => result.crossStatus));
      expect(isolated()).toEqual(isolatedExpected);
      // Ticks after it (a mark moved up to 3% either way), each step's statuses the reference's:
      // the hot book's changes land on the positions' slots as they are now.
      for (let k = 0; k < 6; k++) {
        const i = Math.floor(random() * engine.instruments.length);
        const priceUnits = (engine.views.instMark[i] * BigInt(970 + Math.floor(random() * 61))) / 1000n;
        if (priceUnits < 1n || !applyBatch(engine, [{ kind: 'setMark', instrument: engine.instruments[i].symbol, priceUnits }]).results[0].ok) continue;
        const hot = incremental.hotAccounts;
        const tick = await incremental.step();
        if (tick.path === 'incremental' && hot > 0) hotTicks++;
        const now = engine.toBook();
        const reference = now.accounts.map((_, a) => evaluateAccount(now, a));
        expect(statuses(), `tick ${k}`).toEqual(reference.map((result) => result.crossStatus));
        expect(isolated(), `tick ${k}`).toEqual(reference.flatMap((result) => result.positions.map((position) => position.status)));
      }
      incremental.close();
      expectReference(engine);
    }
    expect(fundingMoved).toBeGreaterThan(books.length / 2);
    expect(pendingSeen).toBeGreaterThan(0);
    expect(hotTicks).toBeGreaterThan(books.length);
  });

  test('two blocks on one slot are an error found before anything moved', () => {
    const books = fc.sample(bookArbitrary(40), { numRuns: 1, seed: 7 });
    const engine = Engine.fromBook(books[0] as Book);
    const v = engine.views;
    const a = Array.from({ length: engine.accountCount }, (_, k) => k).filter((k) => v.accPosCount[k] > 0);
    expect(a.length).toBeGreaterThan(1);
    scatter(engine, () => 0.5, 10);
    v.accPosStart[a[1]] = v.accPosStart[a[0]]; // a broken block, as no operation leaves one
    const before = new Uint8Array(engine.memory.buffer, engine.layout.header, engine.layout.end - engine.layout.header).slice();
    const used = engine.positionsUsed;
    expect(() => engine.compactPositions()).toThrow(/compactArena: two blocks share a slot/);
    const after = new Uint8Array(engine.memory.buffer, engine.layout.header, engine.layout.end - engine.layout.header);
    expect(Buffer.from(after).equals(Buffer.from(before))).toBe(true);
    expect(engine.positionsUsed).toBe(used);
    expect(engine.positionCompactions).toBe(0);
  });
});

describe('the output columns (PnL, maintenance) as slots move', () => {
  /** A generated book with its chunk records built, no full sweep run: outputs not written. */
  function statusSweptBook(seed: number): Engine {
    const engine = Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 3_000, seed, instruments: 24, isolatedShare: 0.3 })));
    engine.sweep({ full: false });
    return engine;
  }

  /** Single operations (the control plane's moves), batches (the kernel's), a compaction: blocks moved to the tail, slots removed, blocks slid down. */
  function moveSlots(engine: Engine, seed: number): void {
    const next = mixedUpdates(engine, prng(seed));
    for (let k = 0; k < 600; k++) applyOperation(engine, next());
    for (let b = 0; b < 12; b++) applyBatch(engine, Array.from({ length: 250 }, next));
    expect(engine.compactPositions()).toBeGreaterThan(0);
    // The block that ends the used slots grows in place as a batch opens positions on its account
    // (the kernel's other path: a slot cleared at the tail, nothing moved).
    for (let t = 0; t < 3; t++) {
      const v = engine.views;
      const used = engine.positionsUsed;
      let a = 0;
      while (!(v.accPosCount[a] > 0 && v.accPosStart[a] + v.accPosCount[a] === used)) a++;
      const held = new Set(Array.from({ length: v.accPosCount[a] }, (_, k) => v.posInst[v.accPosStart[a] + k]));
      const i = engine.instruments.findIndex((_, k) => !held.has(k));
      const start = v.accPosStart[a];
      const { results } = applyBatch(engine, [
        { kind: 'deposit', accountIndex: a, amountMicro: 10n ** 12n },
        { kind: 'fill', accountIndex: a, instrument: engine.instruments[i].symbol, mode: 'cross', sizeUnits: engine.instruments[i].lotUnits, priceUnits: v.instMark[i] },
      ]);
      expect(results.map((r) => r.ok)).toEqual([true, true]);
      expect([engine.views.accPosStart[a], engine.positionsUsed]).toEqual([start, used + 1]);
    }
  }

  test('until a full sweep writes them, no move reads or writes them: each slot keeps what it held, and a grown arena holds none', () => {
    for (const seed of [5, 6]) {
      const engine = statusSweptBook(seed);
      expect(engine.layout.outputsWritten).toBe(false);
      engine.reserveFreeSlots(engine.positionsUsed); // room for every move below: the arena does not grow until asked to
      const layout = engine.layout;
      // Each slot's outputs, used or not, marked with its own number (no sweep writes them here): a
      // move that carried them would leave one slot holding another's, and a clear would leave 0.
      const v = engine.views;
      for (let j = 0; j < engine.layout.capacity.positions; j++) {
        v.posPnl[j] = BigInt(j + 1);
        v.posMaint[j] = -BigInt(j + 1);
      }
      const moved = engine.positionCompactions;
      moveSlots(engine, seed);
      expect(engine.positionCompactions).toBe(moved + 1);
      expect(engine.layout).toBe(layout);
      for (let j = 0; j < engine.layout.capacity.positions; j++) {
        const mark = BigInt(j + 1);
        if (v.posPnl[j] !== mark || v.posMaint[j] !== -mark) expect({ pnl: v.posPnl[j], maint: v.posMaint[j] }, `slot ${j}`).toEqual({ pnl: mark, maint: -mark });
      }
      // A grown arena copies no outputs: 0 in every slot, as in every book whose outputs are unwritten.
      engine.reserveFreeSlots(engine.layout.capacity.positions - engine.positionsUsed + 1);
      expect(engine.layout.outputsWritten).toBe(false);
      const w = engine.views;
      expect(w.posPnl.every((x) => x === 0n) && w.posMaint.every((x) => x === 0n)).toBe(true);
      // The statuses are the reference's all the same (the sweeps never read the outputs).
      expectReference(engine);
      expect(engine.layout.outputsWritten).toBe(true); // expectReference's full evaluation
    }
  });

  test('once a full sweep has written them, every move carries them with their positions: single operations, batches, a compaction, a growth', () => {
    for (const seed of [7, 8]) {
      const engine = statusSweptBook(seed);
      engine.evaluate();
      expect(engine.layout.outputsWritten).toBe(true);
      /** Each position by account, instrument and mode: its inputs, its outputs, its slot. */
      const positions = (): Map<string, { inputs: string; pnl: bigint; maint: bigint; slot: number }> => {
        const v = engine.views;
        const out = new Map<string, { inputs: string; pnl: bigint; maint: bigint; slot: number }>();
        for (let a = 0; a < engine.accountCount; a++) {
          for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
            out.set(`${a}:${v.posInst[j]}:${v.posMode[j]}`, { inputs: `${v.posSize[j]}:${v.posCost[j]}:${v.posMargin[j]}:${v.posFunding[j]}`, pnl: v.posPnl[j], maint: v.posMaint[j], slot: j });
          }
        }
        return out;
      };
      const before = positions();
      moveSlots(engine, seed);
      engine.reserveFreeSlots(engine.layout.capacity.positions - engine.positionsUsed + 1);
      expect(engine.layout.outputsWritten).toBe(true);
      let carried = 0;
      for (const [key, now] of positions()) {
        const then = before.get(key);
        // A position no operation changed holds the outputs the full sweep wrote for it, wherever it moved.
        if (then === undefined || then.inputs !== now.inputs) continue;
        expect({ pnl: now.pnl, maint: now.maint }, `position ${key}`).toEqual({ pnl: then.pnl, maint: then.maint });
        if (now.slot !== then.slot && now.maint !== 0n) carried++;
      }
      expect(carried).toBeGreaterThan(engine.positionsUsed / 2);
    }
  });
});
