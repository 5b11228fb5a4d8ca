// The hot book's solo records (assembly/hot.ts): a scope of one position keeps, with its record, the
// range of marks [lo, hi] (offsets from its instrument's solo reference mark) within which its
// status cannot change, and a tick whose mark stays within it reads nothing else of the record. The
// range is a bound on a move (docs/incremental.md, The hot book): held here to the BigInt reference
// at both of its ends, where a range one micro too wide (its slack for the maintenance's ceiling)
// would first be wrong, on books dense near their boundaries, after normal ticks have given the
// records their ranges.
import { describe, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { IncrementalEvaluator } from '../../src/engine/incremental.js';
import { applyOperation } from '../../src/account/operations.js';
import { generateBook, generatedBookToBook } from '../../src/gen/generate.js';
import { prng } from '../../bench/workload.js';
import { evaluateAccount } from '../../src/reference/evaluate.js';
import { STATUS_NAMES } from '../../src/fixed/constants.js';
import { kernelU32 } from '../../src/engine/kernel-constants.js';
import type { Account, Book } from '../../src/book/model.js';

const TABLE_STRIDE = kernelU32('HOT_TABLE_STRIDE');
const HT_SOLO_OFFSET = kernelU32('HT_SOLO_OFFSET');
const HT_SOLO_COUNT = kernelU32('HT_SOLO_COUNT');
const HT_SOLO_MARK = kernelU32('HT_SOLO_MARK');
const SOLO_BYTES = kernelU32('HOT_SOLO_BYTES');
const HO_LO = kernelU32('HO_LO');
const HO_HI = kernelU32('HO_HI');
const HO_ACCOUNT = kernelU32('HO_ACCOUNT');
const HO_RANK = kernelU32('HO_RANK');
const HO_STATUS = kernelU32('HO_STATUS');
const SOLO_POOL = kernelU32('SOLO_POOL');
const SOLO_DEAD = kernelU32('SOLO_DEAD');

interface Solo {
  instrument: number;
  account: number;
  /** The position's index in the account's block, or null for the pool. */
  rank: number | null;
  lo: bigint;
  hi: bigint;
  status: string;
}

/** The live solo records with a range, read from the hot book's table and arrays as they are. */
function solos(engine: Engine, incremental: IncrementalEvaluator): Solo[] {
  const table = (incremental as unknown as { hot: { tableOffset: number } }).hot.tableOffset;
  const buffer = engine.memory.buffer;
  const view = new DataView(buffer);
  const out: Solo[] = [];
  for (let i = 0; i < engine.instruments.length; i++) {
    const entry = table + i * TABLE_STRIDE;
    const at = view.getUint32(entry + HT_SOLO_OFFSET, true);
    const count = view.getUint32(entry + HT_SOLO_COUNT, true);
    const reference = view.getBigInt64(entry + HT_SOLO_MARK, true);
    for (let r = 0; r < count; r++) {
      const record = at + r * SOLO_BYTES;
      const status = view.getUint8(record + HO_STATUS);
      const lo = view.getInt32(record + HO_LO, true);
      const hi = view.getInt32(record + HO_HI, true);
      if (status === SOLO_DEAD || lo > hi) continue;
      const rank = view.getUint16(record + HO_RANK, true);
      out.push({ instrument: i, account: view.getUint32(record + HO_ACCOUNT, true), rank: rank === SOLO_POOL ? null : rank, lo: reference + BigInt(lo), hi: reference + BigInt(hi), status: STATUS_NAMES[status] });
    }
  }
  return out;
}

/** The reference's status of a solo record's scope with its instrument's mark at `mark`. */
function referenceStatus(book: Book, solo: Solo, mark: bigint): string {
  const instrument = book.instruments[solo.instrument];
  const saved = instrument.markUnits;
  instrument.markUnits = mark;
  try {
    const result = evaluateAccount(book, solo.account);
    return solo.rank === null ? result.crossStatus : (result.positions[solo.rank].status as string);
  } finally {
    instrument.markUnits = saved;
  }
}

/**
 * Every solo record of a one-instrument book (more than 1,000 with a range) holds the reference's
 * status at the mark now and at both ends of its range; returns the ends checked and how many of
 * them have another status `past` price units beyond (how tight the ends are).
 */
function checkEnds(engine: Engine, incremental: IncrementalEvaluator, past: bigint): { checked: number; changedPast: number } {
  const book = engine.toBook();
  const mark = engine.views.instMark[0];
  const all = solos(engine, incremental);
  expect(all.length).toBeGreaterThan(1_000);
  let checked = 0;
  let changedPast = 0;
  for (const solo of all) {
    expect(referenceStatus(book, solo, mark)).toBe(solo.status);
    for (const end of [solo.lo, solo.hi]) {
      expect(referenceStatus(book, solo, end), `account ${solo.account}: mark ${end} in [${solo.lo}, ${solo.hi}]`).toBe(solo.status);
      checked++;
      if (referenceStatus(book, solo, end === solo.hi ? end + past : end - past) !== solo.status) changedPast++;
    }
  }
  return { checked, changedPast };
}

/**
 * A book where a range's ends are tight: one instrument of one tier (its highest rate is every
 * notional's), q of 1 micro a size unit and a price unit, and small shorts (a rise costs them
 * exactly size·q·(1 + r) a price unit, the bound's weight) whose distances H are a few hundred
 * micro, in isolated scopes and in pools of one position, healthy, liquidatable and bankrupt.
 */
function tightBook(seed: number): Book {
  const random = prng(seed);
  const mark = 1_000_000n;
  const rate = 100_000n; // 10%
  const accounts: Account[] = [];
  for (let a = 0; a < 1_500; a++) {
    const size = BigInt(1 + Math.floor(random() * 3));
    const maint = (size * mark * rate + 999_999n) / 1_000_000n;
    // An equity from bankrupt to a little above the maintenance: H a few hundred micro at most.
    const r = random();
    const equity = r < 0.7 ? maint + BigInt(Math.floor(random() * 400)) : r < 0.9 ? BigInt(Math.floor(random() * Number(maint))) : -BigInt(1 + Math.floor(random() * 300));
    const isolated = random() < 0.5;
    // The entry at the mark: the unrealized PnL is 0, so the scope's equity is its margin (or the pool's balance).
    accounts.push({
      id: `a${a}`,
      balanceMicro: isolated ? 1_000_000_000n : equity,
      positions: [{ instrument: 0, sizeUnits: -size, costMicro: -size * mark, mode: isolated ? 'isolated' : 'cross', marginMicro: isolated ? equity : 0n, leverage: 1, fundingIndex: 0n }],
    });
  }
  return {
    instruments: [{ symbol: 'TIGHT-PERP', priceDecimals: 2, sizeDecimals: 4, tickUnits: 1n, lotUnits: 1n, markUnits: mark, fundingIndex: 0n, tiers: [{ upToNotional: null, ratePpm: rate, leverageMax: 10 }] }],
    accounts,
  };
}

/**
 * The same for an instrument finer than a micro (pd + sd = 10: d = 10^4, a value floor(z·p / 10^4)
 * micro, docs/numbers.md): a size unit at a price unit is 10^-4 micro, so each price unit moves a
 * short's value by a fraction of a micro and the floors of its value and notional decide the ends.
 */
function tightFineBook(seed: number): Book {
  const random = prng(seed);
  const mark = 1_234_567n;
  const d = 10_000n;
  const rate = 100_000n; // 10%
  const accounts: Account[] = [];
  for (let a = 0; a < 1_500; a++) {
    const size = BigInt(1_000 + Math.floor(random() * 2_000));
    const value = (size * mark) / d; // a short's |value| is the floor of the negative value's magnitude, or one more
    const maint = ((value + 1n) * rate + 999_999n) / 1_000_000n;
    const r = random();
    const equity = r < 0.7 ? maint + BigInt(Math.floor(random() * 400)) : r < 0.9 ? BigInt(Math.floor(random() * Number(maint))) : -BigInt(1 + Math.floor(random() * 300));
    const isolated = random() < 0.5;
    // A short's cost basis is rounded up, ceil(z·q·p / d) toward +∞ (here −floor(|z|·p / d)): its PnL at the entry is 0 or −1 micro.
    accounts.push({
      id: `a${a}`,
      balanceMicro: isolated ? 1_000_000_000n : equity,
      positions: [{ instrument: 0, sizeUnits: -size, costMicro: -((size * mark) / d), mode: isolated ? 'isolated' : 'cross', marginMicro: isolated ? (equity > 0n ? equity : 0n) : 0n, leverage: 1, fundingIndex: 0n }],
    });
  }
  return {
    instruments: [{ symbol: 'FINE-PERP', priceDecimals: 8, sizeDecimals: 2, tickUnits: 1n, lotUnits: 1n, markUnits: mark, fundingIndex: 0n, tiers: [{ upToNotional: null, ratePpm: rate, leverageMax: 10 }] }],
    accounts,
  };
}

/**
 * The one-instrument book in an evaluator whose hot book holds it all, after `ticks` ticks of up to
 * width/2 price units each way, every step incremental; with the statuses the steps changed.
 */
async function tickedHotBook(book: Book, seed: number, ticks: number, width: number): Promise<{ engine: Engine; incremental: IncrementalEvaluator; changes: number }> {
  const engine = Engine.fromBook(book);
  const incremental = new IncrementalEvaluator(engine, { hotBound: 1 });
  await incremental.step();
  const random = prng(seed + 100);
  let changes = 0;
  for (let k = 0; k < ticks; k++) {
    const next = engine.views.instMark[0] + BigInt(Math.round((random() - 0.5) * width));
    expect(applyOperation(engine, { kind: 'setMark', instrument: engine.instruments[0].symbol, priceUnits: next }).ok).toBe(true);
    const step = await incremental.step();
    expect(step.path).toBe('incremental');
    changes += step.changed?.length ?? 0;
  }
  return { engine, incremental, changes };
}

describe('hot book solo records', () => {
  test('on a book where the ends are tight (the weight of the bound is the real slope), every range holds its status at both ends', async () => {
    let checked = 0;
    let atEdge = 0;
    for (const seed of [1, 2]) {
      // Ticks of a few price units each way: each solo record is evaluated and given its range.
      const { engine, incremental } = await tickedHotBook(tightBook(seed), seed, 20, 40);
      // One price unit past the end, the bound no longer holds: how often the status changes there says how tight the ends are.
      const ends = checkEnds(engine, incremental, 1n);
      checked += ends.checked;
      atEdge += ends.changedPast;
      incremental.close();
    }
    expect(checked).toBeGreaterThan(4_000);
    expect(atEdge).toBeGreaterThan(100);
  });

  test('on a book of an instrument finer than a micro, every range holds its status at both ends, and the records follow the floored values', async () => {
    let checked = 0;
    let near = 0;
    let changes = 0;
    for (const seed of [5, 6]) {
      // Ticks of up to 2,000 price units each way (a few micro of value for these sizes).
      const ticked = await tickedHotBook(tightFineBook(seed), seed, 40, 4_000);
      const { engine, incremental } = ticked;
      changes += ticked.changes;
      const now = engine.toBook();
      // Every status the hot book wrote is the reference's at the marks now.
      for (let a = 0; a < now.accounts.length; a++) {
        const reference = evaluateAccount(now, a);
        expect(STATUS_NAMES[engine.views.accStatus[a]], `account ${a}`).toBe(now.accounts[a].positions[0].mode === 'cross' ? reference.crossStatus : 'healthy');
        if (now.accounts[a].positions[0].mode === 'isolated') expect(STATUS_NAMES[engine.views.posStatus[engine.views.accPosStart[a]]], `account ${a}`).toBe(reference.positions[0].status);
      }
      // Within 200 price units past the end (about 7 micro of value for these sizes: the fine slack and a little), the status changes for some.
      const ends = checkEnds(engine, incremental, 200n);
      checked += ends.checked;
      near += ends.changedPast;
      incremental.close();
    }
    expect(checked).toBeGreaterThan(4_000);
    expect(near).toBeGreaterThan(100);
    expect(changes).toBeGreaterThan(100);
  });

  test("pools of two positions, one of an instrument finer than a micro, in the hot book: every status equals the reference's after every tick", async () => {
    let hotTicks = 0;
    let changes = 0;
    for (const seed of [7, 8]) {
      const random = prng(seed);
      const fine = tightFineBook(seed);
      const btcMark = 5_000_000n; // 50,000.00 at pd 2, sd 4: q = 1, d = 1
      // Each pool adds a long of the ordinary instrument to its fine short, its balance moved so that
      // its equity stays where tightFineBook put it against the maintenance of both positions.
      const accounts: Account[] = fine.accounts.map((account, a) => {
        const size = BigInt(1 + Math.floor(random() * 20));
        const btcMaint = (size * btcMark * 50_000n + 999_999n) / 1_000_000n;
        const short = account.positions[0];
        return { id: `p${a}`, balanceMicro: (short.mode === 'cross' ? account.balanceMicro : (short.marginMicro ?? 0n)) + btcMaint, positions: [{ ...short, mode: 'cross', marginMicro: 0n }, { instrument: 1, sizeUnits: size, costMicro: size * btcMark, mode: 'cross', marginMicro: 0n, leverage: 1, fundingIndex: 0n }] };
      });
      const book: Book = { instruments: [...fine.instruments, { symbol: 'BTC-PERP', priceDecimals: 2, sizeDecimals: 4, tickUnits: 1n, lotUnits: 1n, markUnits: btcMark, fundingIndex: 0n, tiers: [{ upToNotional: null, ratePpm: 50_000n, leverageMax: 20 }] }], accounts };
      const engine = Engine.fromBook(book);
      const incremental = new IncrementalEvaluator(engine, { hotBound: 1 });
      await incremental.step();
      for (let k = 0; k < 40; k++) {
        // Mostly the fine instrument, by up to 2,000 price units (a few micro of each short's value); now and then the other.
        const i = k % 5 === 4 ? 1 : 0;
        const step = i === 0 ? Math.round((random() - 0.5) * 4_000) : Math.round((random() - 0.5) * 40);
        const next = engine.views.instMark[i] + BigInt(step);
        expect(applyOperation(engine, { kind: 'setMark', instrument: engine.instruments[i].symbol, priceUnits: next }).ok).toBe(true);
        const result = await incremental.step();
        expect(result.path).toBe('incremental');
        if (i === 0) hotTicks++;
        changes += result.changed?.length ?? 0;
        const now = engine.toBook();
        for (let a = 0; a < now.accounts.length; a++) expect(STATUS_NAMES[engine.views.accStatus[a]], `seed ${seed}, tick ${k}, account ${a}`).toBe(evaluateAccount(now, a).crossStatus);
      }
      incremental.close();
    }
    expect(hotTicks).toBeGreaterThan(50);
    expect(changes).toBeGreaterThan(100);
  });

  test('a solo record keeps its status at both ends of its range, as the reference says', async () => {
    let checked = 0;
    let narrow = 0;
    for (const seed of [3, 11, 29]) {
      const random = prng(seed);
      const engine = Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 2_000, seed, instruments: 12, isolatedShare: 0.4, nearMaintenanceShare: 0.3 })));
      // Most of the book hot, so that most scopes of one position have solo records.
      const incremental = new IncrementalEvaluator(engine, { hotBound: 0.2 });
      await incremental.step();
      for (let k = 0; k < 60; k++) {
        const i = Math.floor(random() * engine.instruments.length);
        const mark = engine.views.instMark[i];
        const next = (mark * BigInt(1_000_000 + Math.round((random() < 0.5 ? -1 : 1) * (100 + random() * 1_900)))) / 1_000_000n;
        expect(applyOperation(engine, { kind: 'setMark', instrument: engine.instruments[i].symbol, priceUnits: next > 0n ? next : 1n }).ok).toBe(true);
        await incremental.step();
      }
      const book = engine.toBook();
      const all = solos(engine, incremental);
      expect(all.length).toBeGreaterThan(500);
      // The narrowest ranges first (where a slack of a micro decides), then a sample of the rest.
      all.sort((x, y) => Number(x.hi - x.lo - (y.hi - y.lo)));
      const sample = [...all.slice(0, 300), ...all.slice(300).filter(() => random() < 0.1)];
      for (const solo of sample) {
        // The status the record holds is the reference's at the mark now, and at both ends.
        expect(referenceStatus(book, solo, engine.views.instMark[solo.instrument])).toBe(solo.status);
        for (const end of [solo.lo, solo.hi]) {
          if (end < 1n) continue;
          expect(referenceStatus(book, solo, end), `account ${solo.account}, instrument ${solo.instrument}, mark ${end} in [${solo.lo}, ${solo.hi}]`).toBe(solo.status);
          checked++;
        }
        if (solo.hi - solo.lo < 100n) narrow++;
      }
      incremental.close();
    }
    expect(checked).toBeGreaterThan(1_000);
    expect(narrow).toBeGreaterThan(50);
  });
});
