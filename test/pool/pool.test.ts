// The parallel sweep: the same bytes as the single-thread sweep and the reference for any number
// of workers, through a worker's death, a cancel, and a list too small for the crash.
import { afterAll, describe, expect, test, vi } from 'vitest';
import fc from 'fast-check';
import { kernelU32 } from '../../src/engine/kernel-constants.js';
import { Engine } from '../../src/engine/engine.js';
import { SweepPool, type SweepResult } from '../../src/pool/pool.js';
import { IncrementalEvaluator } from '../../src/engine/incremental.js';
import { CHUNK_ACCOUNTS, HEADER_SLOTS, HeaderSlot, SLOT_CROSS, ShardSlot } from '../../src/memory/layout.js';
import { evaluateBook } from '../../src/reference/evaluate.js';
import type { Book } from '../../src/book/model.js';
import { bookArbitrary } from '../support/arbitraries.js';
import { statusScopes } from '../support/scopes.js';
import { syntheticBook } from '../../bench/synthetic-book.js';

const pools: SweepPool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.close()));
});

async function open(engine: Engine, threads: number, listCapacity?: number, shards?: number): Promise<SweepPool> {
  const pool = await SweepPool.open(engine, { threads, listCapacity, shards });
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

  test("a worker that dies in the incremental build's bounds is replaced, its part re-run, and the bounds unchanged", async () => {
    const engine = Engine.fromBook(syntheticBook(20_000, 5));
    const pool = await open(engine, 2);
    const incremental = new IncrementalEvaluator(engine, { pool });
    const built = await incremental.step(); // the build: the bound table and the bounds column in place
    expect(built.path).toBe('build');
    const table = engine.region('incremental.table', 0);
    const bounds = engine.region('incremental.bounds', 0);
    const steps = engine.region('incremental.steps', 0);
    const regionBytes = engine.accountCount * kernelU32('BOUNDS_REGION_BYTES_PER_ACCOUNT');
    // The bounds region, and the positions' steps.
    const boundBytes = () => Buffer.concat([Buffer.from(new Uint8Array(engine.memory.buffer, bounds, regionBytes)), Buffer.from(new Uint8Array(engine.memory.buffer, steps, engine.positionsUsed))]);
    const clean = await pool.boundRange(table, bounds, steps);
    expect(clean).toBe(built.liquidatable);
    const cleanBounds = boundBytes();
    const cleanOutputs = outputs(engine, false);
    new Uint8Array(engine.memory.buffer, bounds, regionBytes).fill(0xee);
    new Uint8Array(engine.memory.buffer, steps, engine.positionsUsed).fill(0xee);
    engine.views.accStatus.fill(9);
    // Part 0's worker exits after 300 accounts, part 1's before any: both run again.
    expect(await pool.boundRange(table, bounds, steps, { faults: new Map([[0, 300], [1, 0]]) })).toBe(clean);
    expect(boundBytes().equals(cleanBounds)).toBe(true);
    expect(outputs(engine, false)).toEqual(cleanOutputs);
    expect(pool.threads).toBe(2);
    // With no retries left the build fails, naming the accounts, and the pool still sweeps.
    const strict = await SweepPool.open(engine, { threads: 2, retries: 0 });
    pools.push(strict);
    await expect(strict.boundRange(table, bounds, steps, { faults: new Map([[1, 0]]) })).rejects.toThrow(/the bounds of accounts 10000 to 20000 failed 1 times/);
    expect((await strict.sweep()).complete).toBe(true);
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

  test('a sweep asked for no list counts the same scopes, gathers none and scans nothing; its lists grow for the next sweep that gathers', async () => {
    const engine = Engine.fromBook(crashBook());
    const pool = await open(engine, 2, 3);
    const scan = vi.spyOn(pool as unknown as { scan: (...args: unknown[]) => Uint32Array }, 'scan');
    const counted = await pool.sweep({ list: false });
    expect(scan).not.toHaveBeenCalled();
    expect(counted.scopes.length).toBe(0);
    expect(counted.complete).toBe(true);
    expect((pool as unknown as { listCapacity: number }).listCapacity).toBeGreaterThan(3);
    const listed = await pool.sweep();
    expect(scan).not.toHaveBeenCalled();
    expect([...listed.scopes]).toEqual(statusScopes(engine));
    expect(counted.liquidatable).toBe(listed.liquidatable);
    expect(counted.bankrupt).toBe(listed.bankrupt);
    expect(counted.liquidatable).toBeGreaterThan(3 * 8);
    expect(listed.scopes.length).toBe(2 * listed.liquidatable);
  });

  test('after a sweep whose lists overflowed, the lists grow: the next crash step is listed by the workers', async () => {
    const engine = Engine.fromBook(crashBook());
    const pool = await open(engine, 2, 3);
    const scan = vi.spyOn(pool as unknown as { scan: (...args: unknown[]) => Uint32Array }, 'scan');
    const first = await pool.sweep();
    expect(scan).toHaveBeenCalled();
    scan.mockClear();
    const second = await pool.sweep();
    expect(scan).not.toHaveBeenCalled();
    expect(strip(second)).toEqual(strip(first));
    expect([...second.scopes]).toEqual(statusScopes(engine));
  });

  test('a second sweep while one runs is refused', async () => {
    const engine = Engine.fromBook(syntheticBook(5_000, 1));
    const pool = await open(engine, 1);
    const first = pool.sweep();
    await expect(pool.sweep()).rejects.toThrow(/already running/);
    await first;
  });
});

describe("the hot book's helper", () => {
  /** A book, its pool, and an empty hot book table (no records of any instrument): a shared tick moves nothing, and each thread takes the counter once. */
  async function emptyHotBook() {
    const engine = Engine.fromBook(syntheticBook(10_000, 4));
    const pool = await open(engine, 2);
    const stride = kernelU32('HOT_TABLE_STRIDE');
    const table = engine.region('test.hot.table', stride * engine.instruments.length);
    new Uint32Array(engine.memory.buffer, table, (stride * engine.instruments.length) / 4).fill(0);
    const counter = engine.region('test.hot.counter', 4);
    const changed = engine.region('test.hot.changed', 64);
    const share = (instrument: number) => ({ instrument, table, scopes: engine.region('test.hot.scopes', 64), markOld: engine.views.instMark[0], weight: 1.5, counter, chunk: 8, changed });
    const takes = () => new Uint32Array(engine.memory.buffer, counter, 1)[0];
    const reset = () => (new Uint32Array(engine.memory.buffer, counter, 1)[0] = 0);
    return { engine, pool, share, takes, reset };
  }

  test('runs its part of each shared tick, leaves its worker for a sweep and comes back at the next tick; one whose worker fails is replaced', async () => {
    const { engine, pool, share, takes, reset } = await emptyHotBook();
    const reference = await pool.sweep();
    for (let tick = 0; tick < 5; tick++) {
      reset();
      let own = 0;
      const done = await pool.hotShare(share(0), () => {
        own++;
      });
      expect(done).toEqual({ listed: 0, failing: 0 });
      expect(own).toBe(1);
      expect(takes(), `tick ${tick}: the helper took the counter once`).toBe(1);
    }
    expect(pool.helperParked).toBe(true);
    // A sweep needs both workers: the helper leaves first (left parked, it would hold one and the
    // sweep's tasks would run one after the other on the other), and the sweep is whole.
    const swept = await pool.sweep();
    expect(pool.helperParked).toBe(false);
    expect(swept.complete).toBe(true);
    expect(swept.liquidatable).toBe(reference.liquidatable);
    reset();
    await pool.hotShare(share(0), () => undefined);
    expect(takes(), 'a new helper after the sweep').toBe(1);
    expect(pool.helperParked).toBe(true);
    // Its kernel refuses the tick (no such instrument): the tick fails with the kernel's message,
    // the engine is writable after it, and the next tick has a new helper.
    await expect(pool.hotShare(share(engine.instruments.length), () => undefined)).rejects.toThrow(/core assertion failed: hotTickShared: no such instrument/);
    expect(pool.helperParked).toBe(false);
    expect(() => engine.assertWritable()).not.toThrow();
    reset();
    await pool.hotShare(share(1), () => undefined);
    expect(takes(), 'a new helper after the failure').toBe(1);
    // This thread's part fails: the helper's part is waited for, then the error is the tick's.
    reset();
    await expect(pool.hotShare(share(0), () => {
      throw new Error('own part failed');
    })).rejects.toThrow('own part failed');
    expect(takes(), "the helper's part ran").toBe(1);
    expect(() => engine.assertWritable()).not.toThrow();
    // Reading the memory's bandwidth needs every worker too.
    await pool.streamRead(engine.layout.header, 4_096);
    expect(pool.helperParked).toBe(false);
    // A cancel made right after a sweep is asked for stops it, though the sweep's workers start
    // only once the helper has left.
    await pool.hotShare(share(0), () => undefined);
    expect(pool.helperParked).toBe(true);
    const running = pool.sweep({ holdShard: 0 });
    pool.cancel();
    const cancelled = await running;
    expect(cancelled.complete).toBe(false);
    expect((await pool.sweep()).complete).toBe(true);
  });
});

describe('the gatherer', () => {
  test('a shard whose list overflows by exactly one scope is scanned, with the scopes of the single-thread sweep', async () => {
    const engine = Engine.fromBook(crashBook());
    // The pool's two shards (edges on chunk edges, as SweepPool.shards places them), counted on one thread.
    const chunks = Math.ceil(engine.accountCount / CHUNK_ACCOUNTS);
    const edges = [0, Math.floor(chunks / 2) * CHUNK_ACCOUNTS, engine.accountCount];
    const counts = [0, 1].map((k) => engine.sweep({ full: false, start: edges[k], end: edges[k + 1] }));
    const expectedScopes = statusScopes(engine);
    const capacity = Math.max(...counts) - 1; // the fuller shard's liquidatable = capacity + 1
    expect(capacity).toBeGreaterThan(0);
    const pool = await open(engine, 2, capacity, 2);
    const scan = vi.spyOn(pool as unknown as { scan: (...args: number[]) => Uint32Array }, 'scan');
    engine.views.accStatus.fill(9);
    engine.views.posStatus.fill(9);
    const result = await pool.sweep();
    expect(scan).toHaveBeenCalledTimes(counts.filter((count) => count > capacity).length);
    expect(scan.mock.calls.some(([, , expected]) => expected === capacity + 1)).toBe(true);
    expect(result.liquidatable).toBe(counts[0] + counts[1]);
    expect(Array.from(result.scopes)).toEqual(expectedScopes);
  });

  test('a list that did not fill up must hold exactly the scopes its shard counted', async () => {
    const engine = Engine.fromBook(crashBook());
    const pool = await open(engine, 1, 1_000_000, 1);
    const gather = (pool as unknown as { gather: (shards: unknown[], retried: number) => SweepResult }).gather.bind(pool);
    await pool.sweep();
    // Rewrite the one shard's counters as a broken kernel might, and gather again.
    const record = engine.region('pool.shard.0', 64);
    const slots = new Uint32Array(engine.memory.buffer, record, 16);
    const shard = { start: 0, end: engine.accountCount, record };
    expect(gather([shard], 0).liquidatable).toBe(slots[ShardSlot.listed]);
    slots[ShardSlot.liquidatable] += 1; // one scope counted that the list does not hold
    expect(() => gather([shard], 0)).toThrow(/internal error: shard 0 .* listed \d+ scopes in a list of 1000000 but counted \d+ liquidatable/);
    slots[ShardSlot.liquidatable] -= 2; // one listed that was not counted
    expect(() => gather([shard], 0)).toThrow(/internal error: shard 0/);
  });
});

describe('one writer', () => {
  test('the engine refuses writes and evaluations while a pool sweep runs, and takes them after', async () => {
    const engine = Engine.fromBook(syntheticBook(20_000, 7));
    const expected = engine.evaluate({ full: false });
    const pool = await open(engine, 2);
    const other = await open(engine, 1);
    const a = 17;
    const j = engine.views.accPosStart[a];
    const count = engine.views.accPosCount[a];
    const running = pool.sweep();
    expect(engine.sweeping).toBe(true);
    const refused = /^engine is being swept by a pool: /;
    expect(() => engine.evaluate()).toThrow(/engine is being swept by a pool: evaluate is refused/);
    expect(() => engine.sweep({ full: false })).toThrow(refused);
    expect(() => engine.refreshDebits()).toThrow(refused);
    expect(() => engine.writePosition(j, engine.readPosition(j))).toThrow(refused);
    expect(() => engine.appendPositionSlot(a)).toThrow(refused);
    expect(() => engine.removePositionSlot(a, j)).toThrow(refused);
    expect(() => engine.clearPositionSlot(engine.positionsUsed)).toThrow(refused);
    await expect(other.sweep()).rejects.toThrow(/engine is being swept by a pool: another pool sweep/);
    expect(engine.views.accPosCount[a]).toBe(count);
    const result = await running;
    expect(result.liquidatable).toBe(expected);
    expect(engine.sweeping).toBe(false);
    expect(engine.evaluate({ full: false })).toBe(expected);
    expect((await other.sweep()).liquidatable).toBe(expected);
  });

  test("a kernel assertion in a worker fails the sweep with the kernel's message, and the engine is writable after", async () => {
    const engine = Engine.fromBook(syntheticBook(3_000, 8));
    const expected = engine.evaluate({ full: false });
    const pool = await open(engine, 2);
    const header = new Uint32Array(engine.memory.buffer, engine.layout.header, HEADER_SLOTS);
    header[HeaderSlot.accountCount] = 1_000; // the shards past it now run past the book
    await expect(pool.sweep()).rejects.toThrow(/failed 4 times: core assertion failed: sweep: accountEnd is past the book's account count at assembly\/index\.ts/);
    expect(engine.sweeping).toBe(false);
    header[HeaderSlot.accountCount] = engine.accountCount;
    expect(engine.evaluate({ full: false })).toBe(expected);
    expect((await pool.sweep()).liquidatable).toBe(expected);
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
