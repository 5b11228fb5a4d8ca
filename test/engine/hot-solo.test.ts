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

describe('hot book solo records', () => {
  test('on a book where the ends are tight (the weight of the bound is the real slope), every range holds its status at both ends', async () => {
    let checked = 0;
    let atEdge = 0;
    for (const seed of [1, 2]) {
      const book = tightBook(seed);
      const engine = Engine.fromBook(book);
      const incremental = new IncrementalEvaluator(engine, { hotBound: 1 });
      await incremental.step();
      const random = prng(seed + 100);
      // Ticks of a few price units each way: each solo record is evaluated and given its range.
      for (let k = 0; k < 20; k++) {
        const next = engine.views.instMark[0] + BigInt(Math.round((random() - 0.5) * 40));
        expect(applyOperation(engine, { kind: 'setMark', instrument: 'TIGHT-PERP', priceUnits: next }).ok).toBe(true);
        await incremental.step();
      }
      const now = engine.toBook();
      const all = solos(engine, incremental);
      expect(all.length).toBeGreaterThan(1_000);
      for (const solo of all) {
        expect(referenceStatus(now, solo, engine.views.instMark[0])).toBe(solo.status);
        for (const end of [solo.lo, solo.hi]) {
          expect(referenceStatus(now, solo, end), `account ${solo.account}: mark ${end} in [${solo.lo}, ${solo.hi}]`).toBe(solo.status);
          checked++;
          // One price unit past the end, the bound no longer holds: how often the status changes there says how tight the ends are.
          if (referenceStatus(now, solo, end === solo.hi ? end + 1n : end - 1n) !== solo.status) atEdge++;
        }
      }
      incremental.close();
    }
    expect(checked).toBeGreaterThan(4_000);
    expect(atEdge).toBeGreaterThan(100);
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
