// The incremental index's bounds (assembly/bounds.ts, docs/incremental.md "The bound"): an account
// keeps every status while each instrument it holds moves (mark, plus funding index / 10^6) by less
// than its bound times the mark it was evaluated at. Held here to the BigInt reference on a
// generated book dense near its boundaries, with accounts placed just under a bracket's top where
// the next bracket's rate is ten times higher, so that a bound that forgot where the bracket ends
// (or took the bracket's rate where a move could leave it) would be caught; and the bound's value
// checked against the formula on single-position accounts.
import { describe, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { IncrementalEvaluator } from '../../src/engine/incremental.js';
import { generateBook, generatedBookToBook } from '../../src/gen/generate.js';
import { evaluateAccount, tierCumX } from '../../src/reference/evaluate.js';
import { quotePerUnit, type Account, type AccountResult, type Book, type Instrument } from '../../src/book/model.js';
import { prng } from '../../bench/workload.js';
import { kernelU32 } from '../../src/engine/kernel-constants.js';

const QUOTE = 1_000_000n;
/** The steep instrument's bracket top (50,000 quote) and its two rates: 0.4% below, 10% above. */
const FLOOR = 50_000n * QUOTE;
const RATE_LOW = 4_000n;
const RATE_HIGH = 100_000n;

/** A copy of instrument 0 (BTC-like) with two brackets: 0.4% up to 50,000 quote, 10% above. */
function steepInstrument(base: Instrument): Instrument {
  return {
    ...base,
    symbol: 'STEEP-PERP',
    tiers: [
      { upToNotional: FLOOR, ratePpm: RATE_LOW, leverageMax: 100 },
      { upToNotional: null, ratePpm: RATE_HIGH, leverageMax: 10 },
    ],
  };
}

/**
 * An account with one position of `units` size units on instrument i (short when negative), entered
 * at the mark with funding settled, and `headroomMicro` above its maintenance (its equity is its
 * balance, or its margin when isolated).
 */
function placedAccount(book: Book, id: string, i: number, units: bigint, mode: 'cross' | 'isolated', headroomMicro: bigint): Account {
  const instrument = book.instruments[i];
  const q = quotePerUnit(instrument);
  const notional = (units < 0n ? -units : units) * q * instrument.markUnits;
  const k = instrument.tiers.findIndex((tier) => tier.upToNotional === null || notional <= tier.upToNotional);
  const maintenance = (notional * instrument.tiers[k].ratePpm - tierCumX(instrument)[k] + QUOTE - 1n) / QUOTE;
  const equity = maintenance + headroomMicro;
  return {
    id,
    balanceMicro: mode === 'cross' ? equity : 1_000n * QUOTE,
    positions: [
      {
        instrument: i,
        sizeUnits: units,
        costMicro: units * q * instrument.markUnits,
        mode,
        marginMicro: mode === 'cross' ? 0n : equity,
        leverage: 10,
        fundingIndex: instrument.fundingIndex,
      },
    ],
  };
}

/** Every scope's status, as one string: the pool's, then each position's (null for cross). */
function statuses(result: AccountResult): string {
  return [result.crossStatus, ...result.positions.map((p) => p.status ?? '-')].join(',');
}

/** The engine's bounds after a build (f32 per account). */
async function builtBounds(engine: Engine): Promise<Float32Array> {
  const incremental = new IncrementalEvaluator(engine, { hotBound: 0 });
  expect((await incremental.step()).path).toBe('build');
  const bounds = new Float32Array(engine.memory.buffer, engine.region('incremental.bounds', 0), engine.accountCount).slice();
  incremental.close();
  return bounds;
}

/**
 * A generated book dense near its boundaries, and 600 accounts on a steep instrument: shorts just
 * under its bracket top (a move up takes them into the 10% bracket), with 0.1% to 3% of their
 * notional left above maintenance, cross and isolated, some holding a second position too; and
 * positions above the top, in the 10% bracket, long and short, near maintenance.
 */
function steepBook(): Book {
  const book = generatedBookToBook(generateBook({ profile: 'stress', accounts: 2_000, seed: 11, instruments: 8, isolatedShare: 0.4, nearMaintenanceShare: 0.5 }));
  const steep = book.instruments.length;
  book.instruments.push(steepInstrument(book.instruments[0]));
  // Shorts just under the bracket top (a move up takes them into the 10% bracket), with 0.1%
  // to 3% of their notional left above maintenance, cross and isolated, some holding a second
  // position too.
  const unitNotional = quotePerUnit(book.instruments[steep]) * book.instruments[steep].markUnits;
  const random = prng(5);
  for (let k = 0; k < 400; k++) {
    const gap = 0.0002 + random() * 0.01; // how far under the top, relative
    const units = -BigInt(Math.floor((Number(FLOOR) * (1 - gap)) / Number(unitNotional)));
    const headroom = BigInt(Math.round(Number(FLOOR) * (0.001 + random() * 0.03)));
    const account = placedAccount(book, `steep-${k}`, steep, units, k % 3 === 0 ? 'isolated' : 'cross', headroom);
    if (k % 4 === 1) account.positions.push(book.accounts[k].positions[0] ?? placedAccount(book, '', 1, 1n, 'isolated', QUOTE).positions[0]);
    book.accounts.push(account);
  }
  // And positions above the top, in the 10% bracket, long and short, near maintenance.
  for (let k = 0; k < 200; k++) {
    const units = BigInt(Math.floor((Number(FLOOR) * (1.01 + random() * 2)) / Number(unitNotional))) * (k % 2 === 0 ? 1n : -1n);
    const headroom = BigInt(Math.round(Number(FLOOR) * (0.0005 + random() * 0.02)));
    book.accounts.push(placedAccount(book, `above-${k}`, steep, units, k % 3 === 0 ? 'isolated' : 'cross', headroom));
  }
  return book;
}

/** The engine's bounds after a build (f32 per account), and its positions' steps (assembly/bounds.ts). */
async function builtRegion(engine: Engine): Promise<{ bounds: Float32Array; steps: Uint8Array }> {
  const incremental = new IncrementalEvaluator(engine, { hotBound: 0 });
  expect((await incremental.step()).path).toBe('build');
  const at = engine.region('incremental.bounds', 0);
  const n = engine.accountCount;
  const region = { bounds: new Float32Array(engine.memory.buffer, at, n).slice(), steps: new Uint8Array(engine.memory.buffer, engine.region('incremental.steps', 0), engine.positionsUsed).slice() };
  incremental.close();
  return region;
}

/**
 * The book's instruments moved for a trial: each mark and funding index by up to `cap(i)` of its
 * mark (less 10^-7), all of it when `full`, else a random part; either way at random; a third of
 * the trials spend part of it on the funding index.
 */
function movedInstruments(book: Book, cap: (i: number) => number, trial: number, full: boolean, rng: () => number): Instrument[] {
  return book.instruments.map((instrument, i) => {
    const reach = Number(instrument.markUnits) * cap(i) * (1 - 1e-7) * (full ? 1 : rng());
    const toFunding = trial % 3 === 0 ? rng() : 0;
    const markMove = BigInt(Math.floor(reach * (1 - toFunding))) * (rng() < 0.5 ? -1n : 1n);
    const fundingMove = BigInt(Math.floor(reach * toFunding * 1e6)) * (rng() < 0.5 ? -1n : 1n);
    return { ...instrument, markUnits: instrument.markUnits + markMove, fundingIndex: instrument.fundingIndex + fundingMove };
  });
}

describe('the bound of an account', () => {
  test('keeps every status under any joint move of marks and funding indices within it (BigInt reference, accounts near a steep bracket top)', async () => {
    const book = steepBook();
    const engine = Engine.fromBook(book);
    const bounds = await builtBounds(engine);
    const before = book.accounts.map((_, a) => statuses(evaluateAccount(book, a)));

    const rng = prng(23);
    const finite = [...bounds.keys()].filter((a) => bounds[a] > 1e-5 && bounds[a] < 0.3);
    expect(finite.length).toBeGreaterThan(1_700);
    let checked = 0;
    let tight = 0;
    let steepTight = 0;
    let aboveTight = 0;
    const mismatches: string[] = [];
    for (let trial = 0; trial < 48; trial++) {
      // The move: up to s of each mark, where s is the bound of an account drawn at random (so it
      // and the accounts with bounds just above it are checked at their edge). Half the trials move
      // every instrument by all of s, the others by a random part; a third of the trials spend part
      // of it on the funding index.
      const s = bounds[finite[Math.floor(rng() * finite.length)]];
      const full = trial % 2 === 0;
      const instruments = movedInstruments(book, () => s, trial, full, rng);
      const movedBook: Book = { instruments, accounts: book.accounts };
      for (let a = 0; a < book.accounts.length; a++) {
        if (!(bounds[a] >= s)) continue;
        checked++;
        if (s >= 0.9 * bounds[a]) {
          tight++;
          if (a >= 2_000) steepTight++;
          if (a >= 2_400) aboveTight++;
        }
        const after = statuses(evaluateAccount(movedBook, a));
        if (after !== before[a]) mismatches.push(`trial ${trial}: account ${a} (bound ${bounds[a]}, move ${s}) ${before[a]} → ${after}`);
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(checked).toBeGreaterThan(30_000);
    expect(tight).toBeGreaterThan(500);
    expect(steepTight).toBeGreaterThan(20);
    expect(aboveTight).toBeGreaterThan(10);
  }, 120_000);

  test("keeps every status while each instrument moves within the bound of the scopes holding it, the account's bound plus its positions' steps there (BigInt reference)", async () => {
    const book = steepBook();
    const engine = Engine.fromBook(book);
    const { bounds, steps } = await builtRegion(engine);
    const v = engine.views;
    // Each held instrument's bound, as the index reads it: the account's bound's f32 bits plus the
    // least steps of its positions there (kernel constants).
    const keys = book.accounts.map((_, a) => {
      const first = v.accPosStart[a];
      const fewest = new Map<number, number>();
      for (let j = first; j < first + v.accPosCount[a]; j++) fewest.set(v.posInst[j], Math.min(fewest.get(v.posInst[j]) ?? 255, steps[j]));
      return new Map(
        [...fewest].map(([i, n]) => {
          const bits = new DataView(new ArrayBuffer(4));
          bits.setFloat32(0, bounds[a]);
          bits.setUint32(0, bits.getUint32(0) + n * 2 ** kernelU32('STEPS_SHIFT'));
          return [i, bits.getFloat32(0)];
        }),
      );
    });
    const before = book.accounts.map((_, a) => statuses(evaluateAccount(book, a)));
    const split = [...bounds.keys()].filter((a) => bounds[a] > 1e-5 && bounds[a] < 0.3 && [...keys[a].values()].some((y) => y > bounds[a] * 1.05));
    expect(split.length).toBeGreaterThan(300);

    const rng = prng(29);
    let checked = 0;
    let beyond = 0; // checked with some instrument moved past the account's own bound
    const mismatches: string[] = [];
    for (let trial = 0; trial < 64; trial++) {
      // The move: each instrument up to its bound in an account drawn at random among those whose
      // bounds differ by instrument (so that it, and the accounts with bounds just above its, are
      // checked at their edges); an instrument it does not hold up to its bound or its second's.
      const r = split[Math.floor(rng() * split.length)];
      const full = trial % 2 === 0;
      const caps = book.instruments.map(() => 0);
      const instruments = movedInstruments(book, (i) => (caps[i] = keys[r].get(i) ?? (rng() < 0.5 ? bounds[r] : Math.max(...keys[r].values()))), trial, full, rng);
      const movedBook: Book = { instruments, accounts: book.accounts };
      for (let a = 0; a < book.accounts.length; a++) {
        if (keys[a].size === 0 || [...keys[a]].some(([i, y]) => !(y >= caps[i]))) continue;
        checked++;
        if ([...keys[a].keys()].some((i) => caps[i] > bounds[a])) beyond++;
        const after = statuses(evaluateAccount(movedBook, a));
        if (after !== before[a]) mismatches.push(`trial ${trial}: account ${a} (bounds ${JSON.stringify([...keys[a]])}, moves ${JSON.stringify(caps)}) ${before[a]} → ${after}`);
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(checked).toBeGreaterThan(20_000);
    expect(beyond).toBeGreaterThan(1_000);
  }, 120_000);

  test("is the larger of the highest rate's bound and, within the position's bracket, its own rate's (single positions, against the formula)", async () => {
    const book = generatedBookToBook(generateBook({ profile: 'stress', accounts: 10, seed: 3, instruments: 2 }));
    const steep = book.instruments.length;
    book.instruments.push(steepInstrument(book.instruments[0]));
    book.accounts = [];
    const instrument = book.instruments[steep];
    const unitNotional = quotePerUnit(instrument) * instrument.markUnits;
    // Far under the top, the own rate's bound holds. About 1% under it, with the headroom for an own
    // rate's bound 5% beyond the top (the highest rate's is then 0.913 of that, 4% short of it), the
    // bracket's end binds. Just under it, the highest rate's bound is the larger.
    const nearTop = (FLOOR * 100n) / 101n / unitNotional;
    const nearTopExit = Number(FLOOR) / Number(nearTop * unitNotional) - 1;
    const cases = [
      { units: -(FLOOR / 2n / unitNotional), headroom: 250n * QUOTE },
      { units: -nearTop, headroom: BigInt(Math.round(nearTopExit * 1.05 * Number(nearTop * unitNotional) * 1.004)) },
      { units: -((FLOOR - 1n) / unitNotional), headroom: 500n * QUOTE },
    ];
    for (const [k, c] of cases.entries()) {
      book.accounts.push(placedAccount(book, `cross-${k}`, steep, c.units, 'cross', c.headroom));
      book.accounts.push(placedAccount(book, `isolated-${k}`, steep, c.units, 'isolated', c.headroom));
    }
    const engine = Engine.fromBook(book);
    const bounds = await builtBounds(engine);
    const binding: string[] = [];
    book.accounts.forEach((account, a) => {
      const position = account.positions[0];
      const notional = Number(-position.sizeUnits * quotePerUnit(instrument) * instrument.markUnits);
      const result = evaluateAccount(book, a);
      const equity = Number(position.mode === 'cross' ? result.crossEquityMicro : result.positions[0].equityMicro!);
      const maintenance = Number(result.positions[0].maintenanceMicro);
      const h = equity - maintenance + 1 - 3; // healthy: E − M + 1, less 2 per position and 1
      const highest = h / (notional * (1 + Number(RATE_HIGH) / 1e6));
      const own = h / (notional * (1 + Number(RATE_LOW) / 1e6));
      const exit = Number(FLOOR) / notional - 1;
      const expected = Math.max(highest, Math.min(own, exit));
      binding.push(expected === own ? 'own' : expected === exit ? 'exit' : 'highest');
      expect(bounds[a], `${account.id}`).toBeLessThanOrEqual(expected);
      expect(bounds[a], `${account.id}`).toBeGreaterThan(expected * (1 - 1e-6));
    });
    expect(binding).toEqual(['own', 'own', 'exit', 'exit', 'highest', 'highest']);
  });
});
