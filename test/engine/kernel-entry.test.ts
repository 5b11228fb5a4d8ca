// The kernel's entry points assert their arguments before they read or write anything: a range
// that runs past the book (which used to hang a sweep), a missing shard record or instrument cache,
// an account index past the book (which used to read garbage). Each is refused with a clear error
// and leaves the book as it was; Engine.prices refuses a bad index itself, before the kernel.
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { kernelU32 } from '../../src/engine/kernel-constants.js';
import { Engine } from '../../src/engine/engine.js';
import { parseBookJson } from '../../src/book/json.js';
import { ShardSlot, SHARD_RECORD_BYTES, SWEEP_CHUNKS } from '../../src/memory/layout.js';
import { MODE_CROSS, QUOTE_ABS_MAX } from '../../src/fixed/constants.js';
import { syntheticBook } from '../../bench/synthetic-book.js';

/** The crash book of the examples: 6 accounts. */
function crashEngine(): Engine {
  const engine = Engine.fromBook(parseBookJson(readFileSync('examples/crash.json', 'utf8')));
  engine.evaluate();
  return engine;
}

/** A copy of every byte of the book: header, columns, sweep records and chunk meta. */
function bookBytes(engine: Engine): Uint8Array {
  return new Uint8Array(engine.memory.buffer, engine.layout.header, engine.layout.end - engine.layout.header).slice();
}

/** Runs `call`, expects it to throw `error`, and expects the book unchanged and the engine working after. */
function expectRefused(engine: Engine, call: () => unknown, error: RegExp | typeof RangeError): void {
  const before = bookBytes(engine);
  expect(call).toThrow(error as RegExp);
  expect(Buffer.from(bookBytes(engine)).equals(Buffer.from(before))).toBe(true);
  const count = engine.evaluate();
  expect(engine.evaluate()).toBe(count);
}

/** A shard record of this engine's with one u32 word changed. */
let shardsMade = 0;
function shardWith(engine: Engine, word: number, value: number): number {
  const record = engine.shardRecord(`test.${shardsMade++}`); // a record of its own: shardRecord keeps one per name
  new Uint32Array(engine.memory.buffer, record, SHARD_RECORD_BYTES / 4)[word] = value;
  return record;
}

describe('sweep and refreshDebits: the account range', () => {
  test('an end past the book is refused (it used to hang), full or status-only, compact or not', () => {
    const engine = crashEngine();
    expect(engine.accountCount).toBe(6);
    const past = /core assertion failed: sweep: accountEnd is past the book's account count at assembly\/index\.ts/;
    expectRefused(engine, () => engine.sweep({ end: engine.accountCount + 1000 }), past);
    expectRefused(engine, () => engine.sweep({ full: false, end: engine.accountCount + 1000 }), past);
    expectRefused(engine, () => engine.sweep({ full: false, start: 3, end: engine.accountCount + 1 }), past);
    engine.chunkSweep = false;
    expectRefused(engine, () => engine.sweep({ full: false, end: engine.accountCount + 1 }), past);
    engine.chunkSweep = true;
  });

  test('a start after the end is refused', () => {
    const engine = crashEngine();
    expectRefused(engine, () => engine.sweep({ start: 5, end: 2 }), /core assertion failed: sweep: accountStart > accountEnd/);
    expectRefused(engine, () => engine.refreshDebits(5, 2), /core assertion failed: refreshDebits: accountStart > accountEnd/);
  });

  test('refreshDebits (and so evaluate) past the book is refused before any debit is written', () => {
    const engine = crashEngine();
    const past = /core assertion failed: refreshDebits: accountEnd is past the book's account count/;
    expectRefused(engine, () => engine.refreshDebits(0, engine.accountCount + 1), past);
    expectRefused(engine, () => engine.evaluate({ end: engine.accountCount + 1000 }), past);
    engine.chunkSweep = false;
    expectRefused(engine, () => engine.refreshDebits(2, engine.accountCount + 7), past);
  });

  test('on a large book too, and every range within the book still sweeps', () => {
    const engine = Engine.fromBook(syntheticBook(3_000, 4));
    const count = engine.evaluate({ full: false });
    expectRefused(engine, () => engine.sweep({ full: false, start: 2_560, end: 3_001 }), /accountEnd is past/);
    let parts = 0;
    for (const [start, end] of [[0, 256], [256, 1_000], [1_000, 3_000], [3_000, 3_000]]) parts += engine.sweep({ full: false, start, end });
    expect(parts).toBe(count);
  });
});

describe('sweep, refreshDebits and prices: the shard record', () => {
  test('no shard record, or one that names no instrument cache, is refused', () => {
    const engine = crashEngine();
    const header = engine.layout.header;
    const core = engine.core;
    const list = engine.region('test.list', 4);
    const out = engine.region('test.out', 1024);
    new Uint32Array(engine.memory.buffer, list, 1)[0] = 0;
    const noCache = () => shardWith(engine, ShardSlot.cache, 0);
    expectRefused(engine, () => core.sweep(header, 0, 6, 0, 0), /core assertion failed: sweep: no shard record/);
    expectRefused(engine, () => core.sweep(header, 0, 6, 0, noCache()), /core assertion failed: sweep: the shard record names no instrument cache/);
    expectRefused(engine, () => core.refreshDebits(header, 0, 0, 6, 0), /core assertion failed: refreshDebits: no shard record/);
    expectRefused(engine, () => core.refreshDebits(header, noCache(), 0, 6, 0), /refreshDebits: the shard record names no instrument cache/);
    expectRefused(engine, () => core.prices(header, 0, list, 1, out), /core assertion failed: prices: no shard record/);
    expectRefused(engine, () => core.prices(header, noCache(), list, 1, out), /prices: the shard record names no instrument cache/);
  });
});

describe('prices: the listed accounts', () => {
  test('Engine.prices refuses an index outside the book with a RangeError naming it (it used to read garbage)', () => {
    const engine = crashEngine();
    expectRefused(engine, () => engine.prices([99]), RangeError);
    expect(() => engine.prices([99])).toThrow(/account index 99 \(listed at 0\) is not an account of this book \(0 to 5\)/);
    expect(() => engine.prices([0, 1, 6])).toThrow(/account index 6 \(listed at 2\)/);
    expect(() => engine.prices([-1])).toThrow(/account index -1/);
    expect(() => engine.prices([1.5])).toThrow(/account index 1.5/);
    expect(engine.prices([5, 0]).length).toBe(2 * (engine.views.accPosCount[5] + engine.views.accPosCount[0]));
  });

  test('the kernel checks each listed account too, before it reads it', () => {
    const engine = crashEngine();
    const list = engine.region('test.list', 8);
    const out = engine.region('test.out', 4096);
    new Uint32Array(engine.memory.buffer, list, 2).set([0, 99]);
    const record = engine.shardRecord('test');
    expectRefused(engine, () => engine.core.prices(engine.layout.header, record, list, 2, out), /core assertion failed: prices: a listed account is past the book's account count/);
    new Uint32Array(engine.memory.buffer, list, 2).set([5, 6]);
    expectRefused(engine, () => engine.core.prices(engine.layout.header, record, list, 2, out), /prices: a listed account is past/);
    new Uint32Array(engine.memory.buffer, list, 2).set([5, 0]);
    expect(engine.core.prices(engine.layout.header, record, list, 2, out)).toBe(engine.views.accPosCount[5] + engine.views.accPosCount[0]);
  });
});

describe('refreshBalances: the listed accounts', () => {
  test('Engine.balancesChanged refuses an account outside the book or a change no two balances make; the kernel a listed account past the book or no shard record', () => {
    const engine = crashEngine();
    expectRefused(engine, () => engine.balancesChanged([6], [1n]), /balancesChanged: 6 is not an account of this book \(0 to 5\)/);
    expectRefused(engine, () => engine.balancesChanged([0, 1.5], [1n, 1n]), /balancesChanged: 1.5 is not an account/);
    expectRefused(engine, () => engine.balancesChanged([0, 1], [1n, 3n * QUOTE_ABS_MAX]), /the change 30000000000000000 of account 1 \(listed at 1\) is not a balance change/);
    expectRefused(engine, () => engine.balancesChanged([0, 1], [1n]), /2 accounts but 1 changes/);
    const bytes = kernelU32('BALANCE_CHANGE_BYTES');
    const list = engine.region('test.balances', 2 * bytes);
    const words = new Uint32Array(engine.memory.buffer, list, (2 * bytes) / 4);
    words[kernelU32('BC_ACCOUNT') / 4] = 5;
    words[(bytes + kernelU32('BC_ACCOUNT')) / 4] = 6;
    const record = engine.shardRecord('test');
    expectRefused(engine, () => engine.core.refreshBalances(engine.layout.header, record, list, 2, SWEEP_CHUNKS), /core assertion failed: refreshBalances: a listed account is past the book's account count/);
    expectRefused(engine, () => engine.core.refreshBalances(engine.layout.header, 0, list, 1, SWEEP_CHUNKS), /core assertion failed: refreshBalances: no shard record/);
  });
});

describe('the incremental entry points (bounds, the hot book)', () => {
  const regions = (engine: Engine) => ({
    table: engine.region('test.table', 64 * 16),
    bounds: engine.region('test.bounds', engine.accountCount * kernelU32('BOUNDS_REGION_BYTES_PER_ACCOUNT')),
    list: engine.region('test.list', 64),
    changed: engine.region('test.changed', 64),
    out: engine.region('test.out', 8),
    steps: engine.region('test.steps', engine.layout.capacity.positions),
  });

  /** The crash book with the kernel's regions and an empty hot book table (no records of any instrument), as hotSolo and hotTickShared read it. */
  function emptyHotTable() {
    const engine = crashEngine();
    const r = regions(engine);
    const stride = kernelU32('HOT_TABLE_STRIDE');
    const table = engine.region('test.hot.table', stride * engine.instruments.length);
    const words = new Uint32Array(engine.memory.buffer, table, (stride * engine.instruments.length) / 4).fill(0);
    return { engine, r, header: engine.layout.header, table, words };
  }

  test('boundAccountRange refuses a range past the book or backwards; boundAccounts a listed account past it', () => {
    const engine = crashEngine();
    const r = regions(engine);
    const header = engine.layout.header;
    expectRefused(engine, () => engine.core.boundAccountRange(header, engine.shardRecord(), 0, engine.accountCount + 1, r.table, r.bounds, r.steps), /core assertion failed: boundAccountRange: accountEnd is past the book's account count/);
    expectRefused(engine, () => engine.core.boundAccountRange(header, engine.shardRecord(), 4, 2, r.table, r.bounds, r.steps), /core assertion failed: boundAccountRange: accountStart > accountEnd/);
    // The second listed account is past the book: the first is not evaluated either.
    new Uint32Array(engine.memory.buffer, r.list, 2).set([0, engine.accountCount]);
    const bounds = new Uint8Array(engine.memory.buffer, r.bounds, engine.accountCount * kernelU32('BOUNDS_REGION_BYTES_PER_ACCOUNT')).slice();
    expectRefused(engine, () => engine.core.boundAccounts(header, engine.shardRecord(), r.list, 2, r.table, r.bounds, r.changed, r.out, 0, r.steps), /core assertion failed: boundAccounts: a listed account is past the book's account count/);
    expect(new Uint8Array(engine.memory.buffer, r.bounds, engine.accountCount * kernelU32('BOUNDS_REGION_BYTES_PER_ACCOUNT'))).toEqual(bounds);
  });

  test('the bound entries refuse a shard record with no cache or with a list, and a missing table or steps column', () => {
    const engine = crashEngine();
    const r = regions(engine);
    const header = engine.layout.header;
    expectRefused(engine, () => engine.core.boundAccountRange(header, 0, 0, 1, r.table, r.bounds, r.steps), /core assertion failed: bounds: no shard record/);
    expectRefused(engine, () => engine.core.boundAccountRange(header, shardWith(engine, ShardSlot.cache, 0), 0, 1, r.table, r.bounds, r.steps), /bounds: the shard record names no instrument cache/);
    expectRefused(engine, () => engine.core.boundAccountRange(header, shardWith(engine, ShardSlot.list, r.list), 0, 1, r.table, r.bounds, r.steps), /bounds: the shard record names a list/);
    expectRefused(engine, () => engine.core.boundAccountRange(header, engine.shardRecord(), 0, 1, 0, r.bounds, r.steps), /bounds: no bound table or no bounds column/);
    expectRefused(engine, () => engine.core.boundAccountRange(header, engine.shardRecord(), 0, 1, r.table, r.bounds, 0), /bounds: no steps column/);
  });

  test("indexCount and indexPlace refuse accounts that are not a range of the book, and no counts or fill", () => {
    const engine = crashEngine();
    const r = regions(engine);
    const header = engine.layout.header;
    const cells = engine.region('test.cells', 3 * 64 * 4);
    const octave = engine.region('test.octave', 4096);
    const n = engine.accountCount;
    expectRefused(engine, () => engine.core.indexCount(header, r.bounds, r.steps, 1e-3, 8, 4, octave, cells, cells, cells, r.list, 0, n + 1), /core assertion failed: indexCount, indexPlace: the accounts are not a range of the book/);
    expectRefused(engine, () => engine.core.indexCount(header, r.bounds, r.steps, 1e-3, 8, 4, octave, cells, cells, cells, r.list, 3, 2), /core assertion failed: indexCount, indexPlace: the accounts are not a range of the book/);
    expectRefused(engine, () => engine.core.indexCount(header, r.bounds, r.steps, 1e-3, 8, 4, octave, cells, 0, cells, r.list, 0, n), /core assertion failed: indexCount: no bounds, steps, octave table, counts or list/);
    expectRefused(engine, () => engine.core.indexPlace(header, r.bounds, r.steps, 1e-3, 8, 4, octave, cells, r.list, 2, n + 1), /core assertion failed: indexCount, indexPlace: the accounts are not a range of the book/);
    expectRefused(engine, () => engine.core.indexPlace(header, r.bounds, r.steps, 1e-3, 8, 4, octave, 0, r.list, 0, n), /core assertion failed: indexPlace: no bounds, steps, octave table, fill or entries/);
  });

  test('hotMove and hotTick refuse an instrument past the book and records with no scopes; hotSettle and hotTick records with no list', () => {
    const engine = crashEngine();
    const r = regions(engine);
    const header = engine.layout.header;
    expectRefused(engine, () => engine.core.hotMove(header, engine.shardRecord(), engine.instruments.length, r.list, 0, r.bounds, 1n), /core assertion failed: hotMove: no such instrument/);
    expectRefused(engine, () => engine.core.hotMove(header, engine.shardRecord(), 0, r.list, 1, 0, 1n), /core assertion failed: hotMove: no records or scopes/);
    expectRefused(engine, () => engine.core.hotSettle(header, r.list, 1, r.bounds, 0), /core assertion failed: hotSettle: no records, scopes or list/);
    expectRefused(engine, () => engine.core.hotTick(header, engine.shardRecord(), engine.instruments.length, r.list, 0, r.bounds, 1n, r.list), /core assertion failed: hotTick: no such instrument/);
    expectRefused(engine, () => engine.core.hotTick(header, 0, 0, r.list, 0, r.bounds, 1n, r.list), /core assertion failed: hotTick: no shard record/);
    expectRefused(engine, () => engine.core.hotTick(header, engine.shardRecord(), 0, r.list, 1, r.bounds, 1n, 0), /core assertion failed: hotTick: no records, scopes or list/);
  });

  test('sortUnique refuses no counts, no list or scratch for values, and a scratch that overlaps the list', () => {
    const engine = crashEngine();
    const list = engine.region('test.sort.list', 64);
    const scratch = engine.region('test.sort.scratch', 64);
    const counts = engine.region('test.sort.counts', kernelU32('SORT_COUNTS_BYTES'));
    new Uint32Array(engine.memory.buffer, list, 4).set([9, 3, 9, 1]);
    expect(engine.core.sortUnique(list, 4, scratch, counts)).toBe(3);
    expect(Array.from(new Uint32Array(engine.memory.buffer, list, 3))).toEqual([1, 3, 9]);
    expect(engine.core.sortUnique(0, 0, 0, counts)).toBe(0); // nothing to sort
    expectRefused(engine, () => engine.core.sortUnique(list, 4, scratch, 0), /core assertion failed: sortUnique: no counts/);
    expectRefused(engine, () => engine.core.sortUnique(0, 4, scratch, counts), /core assertion failed: sortUnique: no list or scratch/);
    expectRefused(engine, () => engine.core.sortUnique(list, 4, 0, counts), /core assertion failed: sortUnique: no list or scratch/);
    expectRefused(engine, () => engine.core.sortUnique(list, 4, list + 8, counts), /core assertion failed: sortUnique: the list and the scratch overlap/);
  });

  test("hotAdmit refuses a least byte that names no scope of its account: a cross position's bit alone, two bits, a bit past the block", () => {
    const engine = crashEngine();
    const r = regions(engine);
    const header = engine.layout.header;
    const v = engine.views;
    // E1 holds one isolated position (position 0 of its block); E3 two cross positions.
    const isolated = engine.accountIds.indexOf('E1-isolated-btc') ?? -1;
    const cross = engine.accountIds.indexOf('E3-cross-btc-eth') ?? -1;
    expect(v.posMode[v.accPosStart[isolated]]).not.toBe(MODE_CROSS);
    expect(v.posMode[v.accPosStart[cross]]).toBe(MODE_CROSS);
    const room = engine.region('test.hot.room', 4096);
    const leasts = engine.region('test.hot.leasts', 8);
    for (const [account, least] of [[cross, 0b1], [isolated, 0b11], [isolated, 0b100]]) {
      new Uint32Array(engine.memory.buffer, r.list, 1)[0] = account;
      new Uint32Array(engine.memory.buffer, room, 1)[0] = 0; // its detail from the first
      new Uint8Array(engine.memory.buffer, leasts, 1)[0] = least;
      expectRefused(engine, () => engine.core.hotAdmit(header, r.list, room, 0, 1, room, room, 0, room, room, r.out, leasts), /core assertion failed: hotAdmit: a least byte that names no scope of its account/);
    }
  });

  test('hotSolo refuses an instrument past the book, no shard record, no table, a weight that is no finite non-negative number, and solo records with no array or no list', () => {
    const { engine, r, header, table, words } = emptyHotTable();
    expect(engine.core.hotSolo(header, engine.shardRecord(), 0, table, 1.5, r.list)).toBe(0); // no solo records: nothing listed
    expectRefused(engine, () => engine.core.hotSolo(header, engine.shardRecord(), engine.instruments.length, table, 1.5, r.list), /core assertion failed: hotSolo: no such instrument/);
    expectRefused(engine, () => engine.core.hotSolo(header, 0, 0, table, 1.5, r.list), /core assertion failed: hotSolo: no shard record/);
    expectRefused(engine, () => engine.core.hotSolo(header, engine.shardRecord(), 0, 0, 1.5, r.list), /core assertion failed: hotSolo: no table/);
    for (const weight of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectRefused(engine, () => engine.core.hotSolo(header, engine.shardRecord(), 0, table, weight, r.list), /core assertion failed: hotSolo: a weight that is not a finite non-negative number/);
    }
    words[kernelU32('HT_SOLO_COUNT') / 4] = 1; // one solo record, at offset 0
    expectRefused(engine, () => engine.core.hotSolo(header, engine.shardRecord(), 0, table, 1.5, r.list), /core assertion failed: hotSolo: no records or list/);
    words[kernelU32('HT_SOLO_OFFSET') / 4] = r.bounds;
    expectRefused(engine, () => engine.core.hotSolo(header, engine.shardRecord(), 0, table, 1.5, 0), /core assertion failed: hotSolo: no records or list/);
  });

  test('hotTickShared refuses an instrument past the book, no shard record, no table, a counter that is absent or not aligned, a weight that is no finite non-negative number, chunks of no records, and records with no scopes or no list', () => {
    const { engine, r, header, table, words } = emptyHotTable();
    const counter = engine.region('test.hot.counter', 8);
    const shared = (over: Partial<{ instrument: number; shard: number; table: number; scopes: number; weight: number; counter: number; chunk: number; changed: number }> = {}) => {
      const a = { instrument: 0, shard: engine.shardRecord(), table, scopes: r.bounds, weight: 1.5, counter, chunk: 16, changed: r.list, ...over };
      return () => engine.core.hotTickShared(header, a.shard, a.instrument, a.table, a.scopes, 100n, a.weight, a.counter, a.chunk, a.changed);
    };
    expect(shared()()).toBe(0); // no records of either kind: nothing listed
    expectRefused(engine, shared({ instrument: engine.instruments.length }), /core assertion failed: hotTickShared: no such instrument/);
    expectRefused(engine, shared({ shard: 0 }), /core assertion failed: hotTickShared: no shard record/);
    expectRefused(engine, shared({ table: 0 }), /core assertion failed: hotTickShared: no table, or no aligned counter/);
    expectRefused(engine, shared({ counter: 0 }), /core assertion failed: hotTickShared: no table, or no aligned counter/);
    expectRefused(engine, shared({ counter: counter + 2 }), /core assertion failed: hotTickShared: no table, or no aligned counter/);
    for (const weight of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectRefused(engine, shared({ weight }), /core assertion failed: hotTickShared: a weight that is not a finite non-negative number/);
    }
    expectRefused(engine, shared({ chunk: 0 }), /core assertion failed: hotTickShared: chunks of no records/);
    words[kernelU32('HT_COUNT') / 4] = 1; // one record
    expectRefused(engine, shared({ scopes: 0 }), /core assertion failed: hotTickShared: no scopes or list/);
    expectRefused(engine, shared({ changed: 0 }), /core assertion failed: hotTickShared: no scopes or list/);
    words[kernelU32('HT_COUNT') / 4] = 0;
    words[kernelU32('HT_SOLO_COUNT') / 4] = 1; // one solo record
    expectRefused(engine, shared({ changed: 0 }), /core assertion failed: hotTickShared: no scopes or list/);
  });
});
