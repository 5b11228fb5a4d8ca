// A new tier table (the setTiers operation; Engine.tiersChanged, the kernel's refreshTiers) writes
// the isolated record of each isolated position of its instrument again, exactly, in place: no chunk
// is marked for rebuilding or moved, the cross records are left to their bracket entries (checked
// on every read), and afterwards every record is the bytes a rebuild of every chunk writes, at the
// drifts of the moment (funding moved first, so that they are not 0). The chunk sweep, the column
// sweep and the BigInt reference must agree after every table, and a pool's workers too. Also: a
// record that no longer names its position sends its chunk to be rebuilt, the chunk sweep off
// writes nothing, and the entry points check their arguments.
import { afterAll, describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../../src/engine/engine.js';
import { applyBatch } from '../../src/account/batch.js';
import type { Operation } from '../../src/account/operations.js';
import { evaluateAccount } from '../../src/reference/evaluate.js';
import { generateBook, generatedBookToBook } from '../../src/gen/generate.js';
import { MODE_CROSS, MODE_ISOLATED } from '../../src/fixed/constants.js';
import { CHUNK_ACCOUNTS, HeaderSlot, chunksOf } from '../../src/memory/layout.js';
import { kernelU32 } from '../../src/engine/kernel-constants.js';
import type { Book, Tier } from '../../src/book/model.js';
import { bookArbitrary } from '../support/arbitraries.js';
import { sweptStatuses } from '../support/scopes.js';
import { header, placement, records, expectSameList } from '../support/records.js';
import { revisedTiers } from '../support/tiers.js';
import { prng } from '../../bench/workload.js';
import { SweepPool } from '../../src/pool/pool.js';

const FRESH = kernelU32('CHUNK_FRESH');

const pools: SweepPool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.close()));
});

/** The reference's statuses (cross by account, isolated by slot) and failing-scope count. */
function reference(engine: Engine): { accountStatus: string[]; positionStatus: Map<number, string>; liquidatable: number } {
  const book = engine.toBook();
  const v = engine.views;
  const positionStatus = new Map<number, string>();
  let liquidatable = 0;
  const accountStatus = book.accounts.map((_, a) => {
    const result = evaluateAccount(book, a);
    result.positions.forEach((position, k) => {
      if (position.status === null) return;
      positionStatus.set(v.accPosStart[a] + k, position.status);
      if (position.status !== 'healthy') liquidatable++;
    });
    if (result.crossStatus !== 'healthy') liquidatable++;
    return result.crossStatus;
  });
  return { accountStatus, positionStatus, liquidatable };
}

/** The chunk sweep and the column sweep give the reference's statuses and count. Returns the count. */
function expectSweepsAgree(engine: Engine, where: string): number {
  const expected = reference(engine);
  for (const chunks of [true, false]) {
    engine.chunkSweep = chunks;
    try {
      const what = `${where}: ${chunks ? 'chunk' : 'column'} sweep`;
      expect(engine.sweep({ full: false }), what).toBe(expected.liquidatable);
      const swept = sweptStatuses(engine);
      expectSameList(swept.accountStatus, expected.accountStatus, `${what}, cross statuses`);
      const slots = [...expected.positionStatus.keys()];
      expectSameList(slots.map((j) => swept.positionStatus.get(j)), slots.map((j) => expected.positionStatus.get(j)), `${what}, isolated statuses`);
    } finally {
      engine.chunkSweep = true;
    }
  }
  return expected.liquidatable;
}

/**
 * After a sweep at the same marks, every record is what a rebuild of every chunk writes, byte for
 * byte (a funding refresh still pending settled first: a rebuild writes at the columns' indices).
 */
function expectRecordsAsRebuilt(engine: Engine, where: string): void {
  engine.settleFunding();
  engine.sweep({ full: false });
  const kept = records(engine);
  engine.refreshDebits(); // every chunk marked for rebuilding
  engine.sweep({ full: false }); // rebuilds them
  const rebuilt = records(engine);
  kept.chunks.forEach((bytes, chunk) => expectSameList(bytes, rebuilt.chunks[chunk], `${where}: chunk ${chunk}'s records and bases (bytes)`));
}

/** Isolated positions on instrument i. */
function isolatedOn(engine: Engine, i: number): number {
  const v = engine.views;
  let count = 0;
  for (let a = 0; a < engine.accountCount; a++) {
    for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) if (v.posInst[j] === i && v.posMode[j] === MODE_ISOLATED) count++;
  }
  return count;
}

/**
 * The map of chunks by instrument (assembly/layout.ts H_INST_CHUNKS) names every fresh chunk that
 * holds an isolated position of each instrument; for `exact` (an instrument whose table was just
 * refreshed), only those. Returns how many bits it found set in all.
 */
function expectMapCovers(engine: Engine, exact: number, where: string): number {
  const h = header(engine);
  const words = h[HeaderSlot.instChunkWords];
  const map = new Uint32Array(engine.memory.buffer, h[HeaderSlot.instChunks], engine.instruments.length * words);
  const v = engine.views;
  const states = placement(engine);
  let set = 0;
  for (let chunk = 0; chunk < chunksOf(engine.accountCount); chunk++) {
    const holds = new Set<number>();
    for (let a = chunk * CHUNK_ACCOUNTS; a < Math.min(engine.accountCount, (chunk + 1) * CHUNK_ACCOUNTS); a++) {
      for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) if (v.posMode[j] === MODE_ISOLATED) holds.add(v.posInst[j]);
    }
    for (let i = 0; i < engine.instruments.length; i++) {
      const bit = (map[i * words + (chunk >>> 5)] >>> (chunk & 31)) & 1;
      set += bit;
      if (states[chunk].state !== FRESH) continue;
      if (holds.has(i)) expect(bit, `${where}: chunk ${chunk} holds an isolated position of instrument ${i}`).toBe(1);
      else if (i === exact) expect(bit, `${where}: chunk ${chunk} holds no isolated position of instrument ${i}`).toBe(0);
    }
  }
  return set;
}

interface Tally {
  set: number;
  refused: number;
  failingChanged: number;
  written: number;
}

/**
 * Rounds of: a funding move of a random instrument (its drifts grow), then a revised table for it
 * through applyBatch; after each, no chunk moved or was marked, the records written are its
 * isolated positions', the records are a rebuild's, and the sweeps agree with the reference.
 */
function tierRounds(engine: Engine, rounds: number, random: () => number, tally: Tally, label: string): void {
  let failing = expectSweepsAgree(engine, `${label}, before`);
  for (let round = 0; round < rounds; round++) {
    const i = Math.floor(random() * engine.instruments.length);
    const symbol = engine.instruments[i].symbol;
    const mark = engine.views.instMark[i];
    const funding: Operation = { kind: 'setFundingIndex', instrument: symbol, fundingIndex: engine.views.instFunding[i] + (mark * BigInt(Math.round((random() - 0.5) * 4_000))) / 1_000n };
    applyBatch(engine, [funding]);
    engine.sweep({ full: false });
    const where = `${label}, round ${round} (instrument ${i})`;
    const fresh = placement(engine);
    let written = -1;
    const tiersChanged = engine.tiersChanged.bind(engine);
    engine.tiersChanged = (instruments) => (written = tiersChanged(instruments));
    const tiers: Tier[] = revisedTiers(engine.instruments[i].tiers, random);
    const result = applyBatch(engine, [{ kind: 'setTiers', instrument: symbol, tiers }]).results[0];
    engine.tiersChanged = tiersChanged;
    if (!result.ok) {
      tally.refused++;
      expect(written, `${where}: refused, nothing refreshed`).toBe(-1);
      // The funding move left the instrument's thresholds loose (its drift grew): the next rounds
      // compare records with a rebuild's byte for byte, so they start from one.
      engine.refreshDebits();
      engine.sweep({ full: false });
      continue;
    }
    tally.set++;
    expectMapCovers(engine, i, where);
    expect(engine.instruments[i].tiers, `${where}: the table`).toEqual(tiers);
    expect(placement(engine), `${where}: chunk states and areas`).toEqual(fresh);
    expect(written, `${where}: records written`).toBe(isolatedOn(engine, i));
    tally.written += written;
    const now = expectSweepsAgree(engine, where);
    if (now !== failing) tally.failingChanged++;
    failing = now;
    expectRecordsAsRebuilt(engine, where);
  }
}

describe('a new tier table writes its isolated positions\' records again, in place', () => {
  test('generated books: the chunk sweep, the column sweep and the reference agree, no chunk is moved or marked, the records are a rebuild\'s', () => {
    const tally: Tally = { set: 0, refused: 0, failingChanged: 0, written: 0 };
    for (const seed of [1, 2]) {
      const engine = Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 1_500 + 77 * seed, seed, instruments: 5, isolatedShare: 0.4, nearMaintenanceShare: 0.3 })));
      engine.sweep({ full: false }); // every chunk built: fresh
      tierRounds(engine, 12, prng(200 + seed), tally, `generated book ${seed}`);
    }
    console.log(`generated books: ${JSON.stringify(tally)}`);
    expect(tally.set).toBeGreaterThan(12);
    expect(tally.written).toBeGreaterThan(1_000);
    // Tables that moved scopes across their maintenance, and some refused (a cap below a held leverage, a rate of 100%).
    expect(tally.failingChanged).toBeGreaterThan(6);
    expect(tally.refused).toBeGreaterThan(0);
  });

  test('property books (edge ranges, many tiers, zero sizes, several chunks): the same', () => {
    const tally: Tally = { set: 0, refused: 0, failingChanged: 0, written: 0 };
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 * CHUNK_ACCOUNTS + 40 }).chain((accounts) => bookArbitrary(accounts)), fc.nat(), (book: Book, seed) => {
        const engine = Engine.fromBook(book);
        engine.sweep({ full: false });
        tierRounds(engine, 4, prng(seed), tally, `property book of ${engine.accountCount} accounts (seed ${seed})`);
      }),
      { numRuns: 25 },
    );
    console.log(`property books: ${JSON.stringify(tally)}`);
    expect(tally.set).toBeGreaterThan(25);
    expect(tally.failingChanged).toBeGreaterThan(5);
  });

  test('the map of chunks by instrument: set by every isolated record written, cleared by a refresh that finds none in a chunk', () => {
    const engine = Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 2_000, seed: 6, instruments: 12, isolatedShare: 0.3 })));
    const h = header(engine);
    const words = h[HeaderSlot.instChunkWords];
    const map = new Uint32Array(engine.memory.buffer, h[HeaderSlot.instChunks], engine.instruments.length * words);
    expect(map.every((word) => word === 0), 'a fresh layout: no chunk built').toBe(true);
    engine.sweep({ full: false }); // builds every chunk
    const built = expectMapCovers(engine, -1, 'built');
    for (let i = 0; i < engine.instruments.length; i++) expectMapCovers(engine, i, 'built'); // exactly the chunks holding each
    expect(built).toBeGreaterThan(chunksOf(engine.accountCount));
    // Every isolated position of the last instrument closed: its bits stay until a refresh finds none.
    const last = engine.instruments.length - 1;
    const v = engine.views;
    const closes: Operation[] = [];
    for (let a = 0; a < engine.accountCount; a++) {
      for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
        if (v.posInst[j] === last && v.posMode[j] === MODE_ISOLATED) {
          closes.push({ kind: 'fill', account: engine.accountIds.get(a), instrument: engine.instruments[last].symbol, mode: 'isolated', sizeUnits: -v.posSize[j], priceUnits: v.instMark[last] });
        }
      }
    }
    expect(closes.length).toBeGreaterThan(0);
    expect(applyBatch(engine, closes).applied).toBe(closes.length);
    const lastBits = () => Array.from(map.subarray(last * words, (last + 1) * words)).reduce((n, word) => n + popcount(word), 0);
    expect(lastBits(), 'bits left by the closes').toBeGreaterThan(0);
    expect(engine.tiersChanged(last), 'nothing to write').toBe(0);
    expect(lastBits(), 'cleared by the refresh').toBe(0);
    // An isolated position opened again sets its chunk's bit.
    const reopen = closes[0] as Extract<Operation, { kind: 'fill' }>;
    expect(applyBatch(engine, [{ ...reopen, sizeUnits: -reopen.sizeUnits }]).applied).toBe(1);
    expect(lastBits()).toBe(1);
    expect(engine.tiersChanged(last)).toBe(1);
    expectSweepsAgree(engine, 'reopened');
  });

  test('a pool\'s workers sweep the records it wrote as the reference says', async () => {
    const engine = Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 3_000, seed: 9, instruments: 4, isolatedShare: 0.5, nearMaintenanceShare: 0.4 })));
    const pool = await SweepPool.open(engine, { threads: 2 });
    pools.push(pool);
    await pool.sweep();
    const original = engine.instruments[0].tiers; // rates up to 50%
    for (const rate of [1_800n, 500n, 1_500n]) {
      const tiers = original.map((t) => ({ ...t, ratePpm: (t.ratePpm * rate) / 1_000n }));
      expect(applyBatch(engine, [{ kind: 'setTiers', instrument: engine.instruments[0].symbol, tiers }]).applied).toBe(1);
      const expected = reference(engine);
      engine.views.accStatus.fill(7, 0, engine.accountCount);
      const result = await pool.sweep();
      expect(result.liquidatable, `rates × ${rate}‰`).toBe(expected.liquidatable);
      expect(sweptStatuses(engine).accountStatus, `rates × ${rate}‰`).toEqual(expected.accountStatus);
      expect(sweptStatuses(engine).positionStatus, `rates × ${rate}‰`).toEqual(expected.positionStatus);
    }
  });

  test('a record that no longer names an isolated position of the instrument sends its chunk to be rebuilt', () => {
    const engine = Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 600, seed: 4, instruments: 2, isolatedShare: 0.5 })));
    engine.sweep({ full: false });
    const v = engine.views;
    // The first isolated position on instrument 0, switched to cross in its columns with no refresh
    // of its account (a caller that skipped accountsChanged).
    let slot = -1;
    let account = -1;
    for (let a = 0; a < engine.accountCount && slot < 0; a++) {
      for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
        if (v.posInst[j] === 0 && v.posMode[j] === MODE_ISOLATED && !hasCross(engine, a, 0)) {
          slot = j;
          account = a;
          break;
        }
      }
    }
    expect(slot).toBeGreaterThanOrEqual(0);
    v.posMode[slot] = MODE_CROSS;
    v.accBalance[account] += v.posMargin[slot];
    v.posMargin[slot] = 0n;
    const chunk = Math.floor(account / CHUNK_ACCOUNTS);
    const tiers = engine.instruments[0].tiers.map((t) => ({ ...t, ratePpm: (t.ratePpm * 3n) / 2n }));
    engine.writeTiers(0, tiers);
    engine.tiersChanged(0);
    expect(placement(engine)[chunk].state, 'its chunk').not.toBe(FRESH);
    expect(placement(engine).filter((c) => c.state !== FRESH).length, 'no other chunk').toBe(1);
    expectSweepsAgree(engine, 'after the rebuild');
  });

  test('with the chunk sweep off nothing is written; the entry points check their arguments', () => {
    const engine = Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 300, seed: 5, instruments: 3 })));
    engine.sweep({ full: false });
    const bytes = () => Buffer.from(new Uint8Array(engine.memory.buffer, engine.layout.header, engine.layout.end - engine.layout.header));
    const h = engine.layout.header;
    const flags = kernelU32('SWEEP_CHUNKS');
    const before = bytes();
    expect(() => engine.core.refreshTiers(h, engine.shardRecord(), 3, flags)).toThrow(/core assertion failed: refreshTiers: no such instrument/);
    expect(() => engine.core.refreshTiers(h, 0, 0, flags)).toThrow(/core assertion failed: refreshTiers: no shard record/);
    expect(() => engine.core.holders(h, 3, engine.region('test.holders', 4 * engine.accountCount))).toThrow(/core assertion failed: holders: no such instrument/);
    expect(() => engine.core.holders(h, 0, 0)).toThrow(/core assertion failed: holders: no output/);
    // The holders of instruments: every account with a position on any of them, ascending, once.
    const v = engine.views;
    const holding = (instruments: number[]) =>
      Array.from({ length: engine.accountCount }, (_, a) => a).filter((a) => {
        for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) if (instruments.includes(v.posInst[j])) return true;
        return false;
      });
    for (const instruments of [[0], [2], [0, 2], [1, 0]]) expect([...engine.holders(instruments)], `holders of ${instruments}`).toEqual(holding(instruments));
    expect(holding([2]).length).toBeLessThan(holding([0, 2]).length);
    expect(() => engine.core.leverageAbove(h, 0, 1, engine.positionsUsed, 0)).toThrow(/core assertion failed: leverageAbove: no output/);
    // Its walk writes one account and stops there: the word after `out` is left alone.
    const first = engine.region('test.first', 8);
    const words = new Uint32Array(engine.memory.buffer, first, 2);
    words[1] = 0xdeadbeef;
    const holdersOf0 = engine.holders([0]);
    expect(holdersOf0.length).toBeGreaterThan(1);
    expect(engine.core.leverageAbove(h, 0, 0, engine.positionsUsed, first)).toBe(holdersOf0[0] + 1);
    expect(words[1]).toBe(0xdeadbeef);
    expect(() => engine.core.leverageAbove(h, 3, 1, engine.positionsUsed, engine.region('test.first', 4))).toThrow(/core assertion failed: leverageAbove: no such instrument/);
    for (const bad of [-1, 3, 1.5, Number.NaN]) {
      expect(() => engine.tiersChanged(bad)).toThrow(RangeError);
      expect(() => engine.writeTiers(bad, engine.instruments[0].tiers)).toThrow(RangeError);
    }
    expect(() => engine.writeTiers(0, [])).toThrow(/writeTiers: tiers has 0 tiers/);
    expect(() => engine.writeTiers(0, [{ upToNotional: null, ratePpm: 1_000_000n, leverageMax: 10 }])).toThrow(/writeTiers: tiers\[0\] ratePpm must be above 0 and below/);
    expect(bytes().equals(before)).toBe(true);
    // The same table again rewrites the same bytes.
    engine.writeTiers(1, engine.instruments[1].tiers);
    expect(engine.tiersChanged([0, 1, 2])).toBeGreaterThan(0);
    expect(bytes().equals(before)).toBe(true);
    // Off: nothing is written; the column sweep reads the new table.
    engine.chunkSweep = false;
    expect(engine.core.refreshTiers(h, engine.shardRecord(), 0, 0)).toBe(0);
    engine.chunkSweep = true;
    expect(bytes().equals(before)).toBe(true);
  });
});

/** Whether account a holds a cross position on instrument i. */
function hasCross(engine: Engine, a: number, i: number): boolean {
  const v = engine.views;
  for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) if (v.posInst[j] === i && v.posMode[j] === MODE_CROSS) return true;
  return false;
}

function popcount(word: number): number {
  let n = 0;
  for (let w = word >>> 0; w !== 0; w &= w - 1) n++;
  return n;
}
