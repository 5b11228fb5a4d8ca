// The parallel sweep: the same bytes as the single-thread sweep and the reference for any number
// of workers, through a worker's death, a cancel, and a list too small for the crash.
import { afterAll, describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../../src/engine/engine.js';
import { SweepPool, type SweepResult } from '../../src/pool/pool.js';
import { SLOT_CROSS } from '../../src/memory/layout.js';
import { evaluateBook } from '../../src/reference/evaluate.js';
import type { Book } from '../../src/book/model.js';
import { bookArbitrary } from '../support/arbitraries.js';
import { syntheticBook } from '../../bench/synthetic-book.js';

const pools: SweepPool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.close()));
});

async function open(engine: Engine, threads: number, listCapacity?: number): Promise<SweepPool> {
  const pool = await SweepPool.open(engine, { threads, listCapacity });
  pools.push(pool);
  return pool;
}

/** A valid book with many liquidatable scopes: one random book of the property tests, 2,000 accounts. */
function crashBook(): Book {
  return fc.sample(bookArbitrary(2_000), { numRuns: 1, seed: 20261121 })[0];
}

/** Every output the sweep writes, as bytes, for the accounts and positions in use. */
function outputs(engine: Engine, full: boolean): Buffer[] {
  const v = engine.views;
  const A = engine.accountCount;
  const P = engine.positionsUsed;
  const bytes = (view: ArrayBufferView) => Buffer.from(view.buffer, view.byteOffset, view.byteLength);
  const columns = [bytes(v.accCrossEquity.subarray(0, A)), bytes(v.accCrossMaint.subarray(0, A)), bytes(v.accStatus.subarray(0, A)), bytes(v.posStatus.subarray(0, P))];
  if (full) columns.push(bytes(v.posPnl.subarray(0, P)), bytes(v.posMaint.subarray(0, P)));
  return columns.map((b) => Buffer.from(b)); // copies: the next sweep overwrites the memory
}

/** The liquidatable scopes the BigInt reference finds, in the pool's list order. */
function referenceScopes(engine: Engine, book: Book): number[] {
  const results = evaluateBook(book);
  const scopes: number[] = [];
  results.forEach((result, a) => {
    result.positions.forEach((p, k) => {
      if (p.status !== null && p.status !== 'healthy') scopes.push(a, engine.views.accPosStart[a] + k);
    });
    if (result.crossStatus !== 'healthy') scopes.push(a, SLOT_CROSS);
  });
  return scopes;
}

describe('pool sweep equals the single-thread sweep and the reference', () => {
  const books: Array<[string, () => Book]> = [
    ['random books with many liquidatable scopes', crashBook],
    ['a synthetic book of 10,000 accounts', () => syntheticBook(10_000, 3)],
  ];
  for (const [name, make] of books) {
    test(`${name}, on 1, 2 and 4 workers`, async () => {
      const book = make();
      const engine = Engine.fromBook(book);
      const expectedScopes = referenceScopes(engine, book);
      engine.evaluate({ full: true });
      const single = outputs(engine, true);
      expect(expectedScopes.length).toBeGreaterThan(0);
      for (const threads of [1, 2, 4]) {
        // Scribble over the outputs so a sweep that skipped anything would show.
        for (const column of [engine.views.accCrossEquity, engine.views.accCrossMaint, engine.views.posPnl, engine.views.posMaint]) column.fill(-1n);
        engine.views.accStatus.fill(9);
        engine.views.posStatus.fill(9);
        const pool = await open(engine, threads);
        const result = await pool.sweep({ full: true });
        expect(result.complete).toBe(true);
        expect(result.accountsDone).toBe(engine.accountCount);
        expect(outputs(engine, true)).toEqual(single);
        expect(Array.from(result.scopes)).toEqual(expectedScopes);
        expect(result.liquidatable).toBe(expectedScopes.length / 2);
        await pool.close();
      }
    });
  }
});

describe('faults', () => {
  test('a worker that dies mid-shard is replaced, the shard re-run, and the result unchanged', async () => {
    const book = syntheticBook(20_000, 5);
    const engine = Engine.fromBook(book);
    const pool = await open(engine, 2);
    const clean = await pool.sweep();
    const cleanOutputs = outputs(engine, false);
    engine.views.accStatus.fill(9);
    const faulty = await pool.sweep({ faults: new Map([[1, 300], [5, 0]]) });
    expect(faulty.retried).toBe(2);
    expect(outputs(engine, false)).toEqual(cleanOutputs);
    expect(strip(faulty)).toEqual(strip(clean));
    expect(pool.threads).toBe(2);
  });

  test('cancel stops the sweep early; the next sweep completes', async () => {
    const engine = Engine.fromBook(syntheticBook(100_000, 6));
    const pool = await open(engine, 2);
    const reference = await pool.sweep();
    // The worker that takes shard 0 holds it until the cancel: whichever comes first, the worker
    // taking it or the cancel, shard 0 is not swept, and other workers stop taking shards.
    engine.views.accCrossEquity[0] = -7n; // account 0 is shard 0's: a sweep of it would overwrite this
    const running = pool.sweep({ holdShard: 0 });
    pool.cancel();
    const cancelled = await running;
    expect(cancelled.complete).toBe(false);
    expect(cancelled.accountsDone).toBeLessThan(engine.accountCount);
    expect(engine.views.accCrossEquity[0]).toBe(-7n);
    expect(cancelled.retried).toBe(0);
    const again = await pool.sweep();
    expect(again.complete).toBe(true);
    expect(strip(again)).toEqual(strip(reference));
  });

  test('the kernel stops at the cancel flag (single thread, flag set before the call)', () => {
    const engine = Engine.fromBook(syntheticBook(10_000, 2));
    const flag = engine.region('test.cancel', 4);
    const record = engine.shardRecord('test');
    const slots = new Uint32Array(engine.memory.buffer, record, 16);
    slots[0] = flag;
    new Int32Array(engine.memory.buffer, flag, 1)[0] = 1;
    engine.core.sweep(engine.layout.header, 100, 9_000, 0, record);
    expect(slots[3]).toBe(100); // accounts done: none past the start
    expect(slots[7]).toBe(0); // not complete
  });

  test('a list too small for the crash falls back to scanning, with the same scopes', async () => {
    const book = crashBook();
    const engine = Engine.fromBook(book);
    const roomy = await open(engine, 2);
    const full = await roomy.sweep();
    const tight = await open(engine, 2, 3);
    const scanned = await tight.sweep();
    expect(full.liquidatable).toBeGreaterThan(3 * 8);
    expect(strip(scanned)).toEqual(strip(full));
  });

  test('a second sweep while one runs is refused', async () => {
    const engine = Engine.fromBook(syntheticBook(5_000, 1));
    const pool = await open(engine, 1);
    const first = pool.sweep();
    await expect(pool.sweep()).rejects.toThrow(/already running/);
    await first;
  });
});

function strip(result: SweepResult) {
  return { ...result, scopes: Array.from(result.scopes), retried: 0 };
}

describe('books loaded from a binary file', () => {
  test('a pool sweep straight after a load (no evaluate first) equals the reference', async () => {
    const { encodeBookModel, decodeBookBinary } = await import('../../src/book/binary.js');
    const book = crashBook();
    const engine = decodeBookBinary(encodeBookModel(book));
    const pool = await open(engine, 2);
    const result = await pool.sweep({ full: true });
    expect(Array.from(result.scopes)).toEqual(referenceScopes(engine, book));
    for (let a = 0; a < engine.accountCount; a++) {
      expect(engine.views.accCrossEquity[a]).toBe(evaluateBook({ instruments: book.instruments, accounts: [book.accounts[a]] })[0].crossEquityMicro);
    }
  });
});
