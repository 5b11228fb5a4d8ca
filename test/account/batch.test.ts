// Batches of account operations (src/account/batch.ts): applied in order, each atomically; a
// refused one changes nothing at all (inputs, slot layout, high-water marks, derived state); the
// batch equals the same operations applied one at a time; and the book it leaves sweeps exactly as
// the BigInt reference evaluates it.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../../src/engine/engine.js';
import { applyBatch } from '../../src/account/batch.js';
import { applyOperation, REFUSAL_CODES, unrealizedPnl, type AnyOperation, type OperationResult, type RefusalCode } from '../../src/account/operations.js';
import { bookFromJsonValue } from '../../src/book/json.js';
import { evaluateAccount } from '../../src/reference/evaluate.js';
import { FUNDING_INDEX_ABS_MAX, MODE_ISOLATED, QUOTE_ABS_MAX, STATUS_NAMES } from '../../src/fixed/constants.js';
import { CHUNK_ACCOUNTS, CHUNK_META_BYTES, chunksOf, HEADER_SLOTS, HeaderSlot, POSITION_COLUMNS, POSITION_INPUT_COLUMNS, type Views } from '../../src/memory/layout.js';
import { quotePerUnit, type Book } from '../../src/book/model.js';
import { bookArbitrary } from '../support/arbitraries.js';
import { kernelU32 } from '../../src/engine/kernel-constants.js';

const M = 1_000_000n;
const ACCOUNT_COLUMNS = ['accBalance', 'accPosStart', 'accPosCount', 'accCrossEquity', 'accCrossMaint', 'accStatus'] as const;

/**
 * Everything about the engine: counts, flags, capacity, high-water marks, the instruments' marks and
 * funding indices, every account column, every column of every slot in use (inputs, debits,
 * outputs, bracket hints), and the kernel's derived regions (sweep records and chunk meta) as bytes.
 * With `sameBook` (two engines that should hold the same book, not one engine before and after),
 * slots below positionsUsed that no account holds (left by a close, or by a block that moved) are
 * compared on their inputs only: what was derived for them last depends on when refreshes ran.
 * Without `derived`, the derived regions are left out.
 */
function fullState(engine: Engine, { derived = true, sameBook = false } = {}) {
  const v = engine.views;
  const column = (name: keyof Views) => v[name] as unknown as ArrayLike<unknown> & { subarray(a: number, b: number): ArrayLike<unknown> };
  const columns = (names: readonly (keyof Views)[], rows: number) => Object.fromEntries(names.map((name) => [name, Array.from(column(name).subarray(0, rows))]));
  const held = new Uint8Array(engine.positionsUsed);
  for (let a = 0; a < engine.accountCount; a++) held.fill(1, v.accPosStart[a], v.accPosStart[a] + v.accPosCount[a]);
  const positions = Object.fromEntries(
    POSITION_COLUMNS.map((name) => {
      const values = Array.from(column(name).subarray(0, engine.positionsUsed));
      const input = (POSITION_INPUT_COLUMNS as readonly string[]).includes(name);
      return [name, sameBook && !input ? values.map((value, j) => (held[j] ? value : 'not held')) : values];
    }),
  );
  // The free slots too (inputs: a new position is built in the first one while its fill is checked).
  const free = columns(POSITION_INPUT_COLUMNS, engine.layout.capacity.positions);
  for (const name of POSITION_INPUT_COLUMNS) free[name] = (free[name] as unknown[]).slice(engine.positionsUsed);
  const header = new Uint32Array(engine.memory.buffer, engine.layout.header, HEADER_SLOTS);
  const regionStart = header[HeaderSlot.sweepRecords];
  const regionEnd = header[HeaderSlot.chunks] + chunksOf(engine.layout.capacity.accounts) * CHUNK_META_BYTES;
  return {
    positionsUsed: engine.positionsUsed,
    compact: engine.chunkSweep,
    capacity: engine.layout.capacity,
    header: engine.layout.header,
    // The records region's tail (its compaction state) among them: derived, like the region.
    headerSlots: derived ? Array.from(header) : null,
    sizeHighWater: [...engine.sizeHighWater],
    instruments: columns(['instMark', 'instFunding'], engine.instruments.length),
    accounts: columns(ACCOUNT_COLUMNS, engine.accountCount),
    positions,
    free,
    derived: derived ? new Uint8Array(engine.memory.buffer.slice(regionStart, regionEnd)) : null,
  };
}

/**
 * The derived state a sweep reads, as bytes: every chunk's meta, and the live part of each fresh
 * chunk's area (its records, then its accounts' cross bases). Unlike fullState's `derived`, it
 * leaves out what nothing reads: areas a chunk moved out of, and a chunk's room past its bases.
 */
function liveDerived(engine: Engine): Uint8Array[] {
  const word = (name: string) => kernelU32(name) / 4;
  const slot = kernelU32('SWEEP_RECORD_SLOT_BYTES');
  const header = new Uint32Array(engine.memory.buffer, engine.layout.header, HEADER_SLOTS);
  const chunks = chunksOf(engine.accountCount);
  const metas = new Uint32Array(engine.memory.buffer, header[HeaderSlot.chunks], (chunks * CHUNK_META_BYTES) / 4);
  const parts = [new Uint8Array(metas.slice().buffer)];
  for (let chunk = 0; chunk < chunks; chunk++) {
    const meta = metas.subarray((chunk * CHUNK_META_BYTES) / 4, ((chunk + 1) * CHUNK_META_BYTES) / 4);
    if (meta[word('CHUNK_STATE')] !== kernelU32('CHUNK_FRESH')) continue;
    const accounts = Math.min(CHUNK_ACCOUNTS, engine.accountCount - chunk * CHUNK_ACCOUNTS);
    const bytes = (meta[word('CHUNK_CROSS')] + meta[word('CHUNK_ISOLATED')]) * slot + accounts * kernelU32('SWEEP_BASE_BYTES');
    const area = header[HeaderSlot.sweepRecords] + meta[word('CHUNK_OFFSET')];
    parts.push(new Uint8Array(engine.memory.buffer.slice(area, area + bytes)));
  }
  return parts;
}

/**
 * Each account's cross base in its chunk's records (its balance less its cross debits), or null
 * where its chunk is not fresh: what deposits and withdrawals move in place (Engine.balancesChanged)
 * and a funding refresh moves by difference, each to be what laying the account out again writes.
 */
function crossBases(engine: Engine): (bigint | null)[] {
  const word = (name: string) => kernelU32(name) / 4;
  const header = new Uint32Array(engine.memory.buffer, engine.layout.header, HEADER_SLOTS);
  const metas = new Uint32Array(engine.memory.buffer, header[HeaderSlot.chunks], (chunksOf(engine.accountCount) * CHUNK_META_BYTES) / 4);
  return Array.from({ length: engine.accountCount }, (_, a) => {
    const chunk = Math.floor(a / CHUNK_ACCOUNTS);
    const meta = metas.subarray((chunk * CHUNK_META_BYTES) / 4, ((chunk + 1) * CHUNK_META_BYTES) / 4);
    if (meta[word('CHUNK_STATE')] !== kernelU32('CHUNK_FRESH')) return null;
    const bases = header[HeaderSlot.sweepRecords] + meta[word('CHUNK_OFFSET')] + (meta[word('CHUNK_CROSS')] + meta[word('CHUNK_ISOLATED')]) * kernelU32('SWEEP_RECORD_SLOT_BYTES');
    return new BigInt64Array(engine.memory.buffer, bases + (a - chunk * CHUNK_ACCOUNTS) * kernelU32('SWEEP_BASE_BYTES'), 1)[0];
  });
}

/** The engine as the batch tests start it: loaded, and swept once so that the chunk records are built. */
function freshEngine(book: Book): Engine {
  const engine = Engine.fromBook(book);
  engine.sweep({ full: false });
  return engine;
}

/**
 * After a status sweep (the chunk sweep on a compact book), every status is the reference's; after
 * a full evaluation, every figure is, and so are the ones the operations compute for their rules.
 */
function expectAgreesWithReference(engine: Engine): void {
  const book = engine.toBook();
  const expected = book.accounts.map((_, a) => evaluateAccount(book, a));
  engine.sweep({ full: false });
  const v = engine.views;
  for (let a = 0; a < engine.accountCount; a++) {
    expect(STATUS_NAMES[v.accStatus[a]], `account ${a} cross status`).toBe(expected[a].crossStatus);
    const first = v.accPosStart[a];
    for (let k = 0; k < v.accPosCount[a]; k++) {
      if (v.posMode[first + k] === MODE_ISOLATED) {
        expect(STATUS_NAMES[v.posStatus[first + k]], `account ${a} position ${k} status`).toBe(expected[a].positions[k].status);
      }
    }
  }
  engine.evaluate();
  for (let a = 0; a < engine.accountCount; a++) expect(engine.accountResult(a), `account ${a}`).toEqual(expected[a]);
  // The figures the operations decide on, computed in TypeScript from the columns, are the
  // kernel's and the reference's: each position's unrealized PnL, each scope's equity.
  for (let a = 0; a < engine.accountCount; a++) {
    let crossEquity = v.accBalance[a];
    for (let k = 0; k < v.accPosCount[a]; k++) {
      const j = v.accPosStart[a] + k;
      const pnl = unrealizedPnl(v, j);
      expect(pnl, `account ${a} position ${k} PnL`).toBe(expected[a].positions[k].unrealizedPnlMicro);
      expect(pnl).toBe(v.posPnl[j]);
      if (v.posMode[j] === MODE_ISOLATED) expect(v.posMargin[j] + pnl).toBe(expected[a].positions[k].equityMicro);
      else crossEquity += pnl;
    }
    expect(crossEquity, `account ${a} cross equity`).toBe(expected[a].crossEquityMicro);
  }
}

// ---------------------------------------------------------------------------------------------
// Random operations on a random book, valid and invalid mixed

/** A notional of m·10^e micro (1 quote to 10^9 quote, now and then past the range). */
const notionalArbitrary = fc.oneof(
  { weight: 12, arbitrary: fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 6, max: 14 })).map(([m, e]) => BigInt(m) * 10n ** BigInt(e)) },
  { weight: 1, arbitrary: fc.constant(QUOTE_ABS_MAX * 2n) },
);

const amountArbitrary = fc.oneof(
  { weight: 10, arbitrary: fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 13 })).map(([m, e]) => BigInt(m) * 10n ** BigInt(e)) },
  { weight: 1, arbitrary: fc.constantFrom(0n, -1n, QUOTE_ABS_MAX) },
);

function operationArbitrary(book: Book): fc.Arbitrary<AnyOperation> {
  const A = book.accounts.length;
  const I = book.instruments.length;
  const account = fc.oneof(
    { weight: 10, arbitrary: fc.integer({ min: 0, max: A - 1 }).map((a) => ({ account: book.accounts[a].id })) },
    { weight: 10, arbitrary: fc.integer({ min: 0, max: A - 1 }).map((a) => ({ accountIndex: a })) },
    { weight: 1, arbitrary: fc.constantFrom({ account: 'nobody' }, { accountIndex: A }, { accountIndex: -1 }) },
  );
  const instrument = fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 0, max: I - 1 }) }, { weight: 1, arbitrary: fc.constant(-1) });
  const symbol = (i: number) => (i < 0 ? 'NOPE' : book.instruments[i].symbol);
  const mode = fc.constantFrom('cross' as const, 'isolated' as const);
  const optionalAmount = fc.option(amountArbitrary, { nil: undefined, freq: 3 });
  const fill = fc
    .record({ account, i: instrument, mode, notional: notionalArbitrary, short: fc.boolean(), ppm: fc.integer({ min: -60_000, max: 60_000 }), margin: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: amountArbitrary }), offLot: fc.integer({ min: 0, max: 30 }) })
    .map(({ account, i, mode, notional, short, ppm, margin, offLot }) => {
      const inst = book.instruments[Math.max(i, 0)];
      const q = quotePerUnit(inst);
      let lots = notional / (q * inst.markUnits * inst.lotUnits);
      if (lots < 1n) lots = 1n;
      let sizeUnits = lots * inst.lotUnits * (short ? -1n : 1n);
      if (offLot === 0 && inst.lotUnits > 1n) sizeUnits += 1n; // not a whole number of lots
      if (offLot === 1) sizeUnits = 0n;
      let priceUnits = (inst.markUnits * BigInt(1_000_000 + ppm)) / 1_000_000n;
      if (priceUnits < 1n || offLot === 2) priceUnits = offLot === 2 ? 0n : 1n;
      return { kind: 'fill' as const, ...account, instrument: symbol(i), mode, sizeUnits, priceUnits, ...(margin === undefined ? {} : { marginMicro: margin }) };
    });
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ account, amount: amountArbitrary }).map(({ account, amount }) => ({ kind: 'deposit' as const, ...account, amountMicro: amount })) },
    { weight: 3, arbitrary: fc.record({ account, amount: amountArbitrary }).map(({ account, amount }) => ({ kind: 'withdraw' as const, ...account, amountMicro: amount })) },
    { weight: 8, arbitrary: fill },
    {
      weight: 2,
      arbitrary: fc
        .record({ account, i: instrument, amount: amountArbitrary, add: fc.boolean() })
        .map(({ account, i, amount, add }): AnyOperation => {
          const fields = { ...account, instrument: symbol(i), amountMicro: amount };
          return add ? { kind: 'addMargin', ...fields } : { kind: 'removeMargin', ...fields };
        }),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({ account, i: instrument, mode, leverage: fc.oneof(fc.integer({ min: 0, max: 130 }), fc.constant(2.5)) })
        .map(({ account, i, mode, leverage }) => ({ kind: 'setLeverage' as const, ...account, instrument: symbol(i), mode, leverage })),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({ account, i: instrument, to: mode, margin: optionalAmount })
        .map(({ account, i, to, margin }) => ({ kind: 'switchMode' as const, ...account, instrument: symbol(i), to, ...(margin === undefined ? {} : { marginMicro: margin }) })),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({ account, i: fc.option(instrument, { nil: undefined }), mode: fc.option(mode, { nil: undefined }) })
        .map(({ account, i, mode }) => ({ kind: 'settleFunding' as const, ...account, ...(i === undefined ? {} : { instrument: symbol(i) }), ...(mode === undefined ? {} : { mode }) })),
    },
    {
      weight: 1,
      arbitrary: fc.record({ i: instrument, ppm: fc.integer({ min: -80_000, max: 80_000 }), zero: fc.boolean() }).map(({ i, ppm, zero }) => {
        const mark = book.instruments[Math.max(i, 0)].markUnits;
        const next = (mark * BigInt(1_000_000 + ppm)) / 1_000_000n;
        return { kind: 'setMark' as const, instrument: symbol(i), priceUnits: zero && ppm % 7 === 0 ? 0n : next > 0n ? next : 1n };
      }),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ i: instrument, delta: fc.oneof(fc.bigInt({ min: -(10n ** 9n), max: 10n ** 9n }), fc.constant(FUNDING_INDEX_ABS_MAX * 2n)) })
        .map(({ i, delta }) => ({ kind: 'setFundingIndex' as const, instrument: symbol(i), fundingIndex: book.instruments[Math.max(i, 0)].fundingIndex + delta })),
    },
  );
}

const bookAndBatch = fc
  .integer({ min: 1, max: 6 })
  .chain((accounts) => bookArbitrary(accounts))
  .chain((book) => fc.tuple(fc.constant(book), fc.array(operationArbitrary(book), { minLength: 1, maxLength: 40 })));

describe('applyBatch on random books and random batches', () => {
  test('each refused operation changes nothing; the batch equals its operations one at a time; the book then sweeps as the reference says', () => {
    const tally = { applied: 0, refused: 0, codes: new Map<RefusalCode, number>() };
    fc.assert(
      fc.property(bookAndBatch, ([book, operations]) => {
        // One at a time, on a twin: each operation as a batch of its own, with a full snapshot of
        // the engine before and after it.
        const twin = freshEngine(book);
        const oneByOne: OperationResult[] = [];
        const changedAccounts = new Set<number>();
        for (const operation of operations) {
          const before = fullState(twin);
          const { results, changed } = applyBatch(twin, [operation]);
          const result = results[0];
          oneByOne.push(result);
          if (result.ok) {
            tally.applied++;
            changed.forEach((a) => changedAccounts.add(a));
          } else {
            tally.refused++;
            tally.codes.set(result.code, (tally.codes.get(result.code) ?? 0) + 1);
            expect(REFUSAL_CODES).toContain(result.code);
            expect(changed).toHaveLength(0);
            expect(fullState(twin), `refused ${operation.kind} (${result.code}: ${result.reason}) changed the engine`).toEqual(before);
          }
        }

        // The same operations as one batch.
        const engine = freshEngine(book);
        const batch = applyBatch(engine, operations);
        expect(batch.results).toEqual(oneByOne);
        expect(batch.applied + batch.refused).toBe(operations.length);
        expect(batch.refused).toBe(oneByOne.filter((result) => !result.ok).length);
        if (!operations.some((operation, k) => operation.kind === 'setFundingIndex' && oneByOne[k].ok)) {
          expect([...batch.changed]).toEqual([...changedAccounts].sort((x, y) => x - y));
        }
        // The derived state too: the debits (a position column), and after a status sweep of each,
        // every figure and status the chunk records give. (The records' bytes may differ: one at a
        // time refreshes an account in place after each operation, a batch once at its end.)
        engine.sweep({ full: false });
        twin.sweep({ full: false });
        const compared = { derived: false, sameBook: true };
        expect(fullState(engine, compared)).toEqual(fullState(twin, compared));
        // The cross bases moved in place (balance changes, funding indices) are what a layout of
        // the same book from its columns writes.
        const laidOut = crossBases(freshEngine(engine.toBook()));
        expect(laidOut.every((base) => base !== null)).toBe(true);
        expect(crossBases(engine)).toEqual(laidOut);
        expect(crossBases(twin)).toEqual(laidOut);

        expectAgreesWithReference(engine);
      }),
      { numRuns: 250 },
    );
    // The generator reaches both outcomes and most codes (the floors guard it, far below the means).
    expect(tally.applied).toBeGreaterThan(400);
    expect(tally.refused).toBeGreaterThan(400);
    expect(tally.codes.size).toBeGreaterThanOrEqual(12);
  });
});

// ---------------------------------------------------------------------------------------------
// Examples

/** BTC (tick 0.1, lot 0.001, q = 100), 0.5% then 1%, as in operations.test.ts. */
function engineWith(accounts: unknown[]): Engine {
  const tiers = [
    { upToNotional: '250000', maintenanceRate: '0.005', maxLeverage: '100' },
    { upToNotional: null, maintenanceRate: '0.01', maxLeverage: '20' },
  ];
  return freshEngine(
    bookFromJsonValue({
      instruments: [{ symbol: 'BTC', markPrice: '50000', tickSize: '0.1', lotSize: '0.001', fundingIndex: '0', tiers }],
      accounts,
    }),
  );
}

describe('applyBatch examples', () => {
  test('in order, each on the book the ones before it left; refusals coded; accounts by id or index', () => {
    const engine = engineWith([
      { id: 'alice', balance: '100', positions: [] },
      { id: 'bob', balance: '5000', positions: [] },
    ]);
    const batch = applyBatch(engine, [
      { kind: 'fill', account: 'alice', instrument: 'BTC', mode: 'cross', sizeUnits: 400n, priceUnits: 500_000n }, // 0.4 BTC = 20,000 at 100x: IM 200 > 100
      { kind: 'deposit', accountIndex: 0, amountMicro: 100n * M },
      { kind: 'fill', account: 'alice', instrument: 'BTC', mode: 'cross', sizeUnits: 400n, priceUnits: 500_000n }, // now covered exactly
      { kind: 'withdraw', account: 'alice', amountMicro: 1n }, // would leave 199.999999 < 200
      { kind: 'setMark', instrument: 'BTC', priceUnits: 510_000n }, // +400 for alice
      { kind: 'withdraw', account: 'alice', amountMicro: 1n }, // now allowed
      { kind: 'deposit', account: 'carol', amountMicro: 1n },
      { kind: 'deposit', accountIndex: 2, amountMicro: 1n },
    ]);
    expect(batch.results.map((result) => (result.ok ? 'ok' : result.code))).toEqual([
      'below_initial_margin',
      'ok',
      'ok',
      'below_initial_margin',
      'ok',
      'ok',
      'unknown_account',
      'unknown_account',
    ]);
    expect(batch.applied).toBe(4);
    expect(batch.refused).toBe(4);
    expect([...batch.changed]).toEqual([0]);
    expect(engine.views.accBalance[0]).toBe(200n * M - 1n);
    expectAgreesWithReference(engine);
  });

  test('a funding index update in a batch counts for the operations after it and refreshes every debit', () => {
    const long = { instrument: 'BTC', size: '1', entryPrice: '50000', mode: 'cross', leverage: '10' };
    const engine = engineWith([
      { id: 'alice', balance: '5000', positions: [long] },
      { id: 'bob', balance: '5000', positions: [long] },
    ]);
    const batch = applyBatch(engine, [
      { kind: 'setFundingIndex', instrument: 'BTC', fundingIndex: 20_000_000n }, // 2 per BTC
      { kind: 'settleFunding', accountIndex: 0 },
    ]);
    expect(batch.results[1]).toEqual({ ok: true, realizedPnlMicro: -2n * M });
    expect(engine.views.accBalance[0]).toBe(4998n * M);
    expect(engine.views.accBalance[1]).toBe(5000n * M); // owes 2, unsettled: in its debit
    expectAgreesWithReference(engine);
  });

  test('an empty batch changes nothing', () => {
    const engine = engineWith([{ id: 'alice', balance: '100', positions: [] }]);
    const before = fullState(engine);
    expect(applyBatch(engine, [])).toEqual({ results: [], applied: 0, refused: 0, changed: new Uint32Array(0) });
    expect(fullState(engine)).toEqual(before);
  });

  test('applyOperation is a batch of one', () => {
    const operations: AnyOperation[] = [
      { kind: 'deposit', account: 'alice', amountMicro: 5n * M },
      { kind: 'fill', accountIndex: 0, instrument: 'BTC', mode: 'isolated', sizeUnits: 40n, priceUnits: 500_000n },
      { kind: 'removeMargin', account: 'alice', instrument: 'BTC', amountMicro: 1n },
    ];
    const single = engineWith([{ id: 'alice', balance: '100', positions: [] }]);
    const batched = engineWith([{ id: 'alice', balance: '100', positions: [] }]);
    const results = operations.map((operation) => applyOperation(single, operation));
    expect(applyBatch(batched, operations).results).toEqual(results);
    expect(fullState(single, { derived: false, sameBook: true })).toEqual(fullState(batched, { derived: false, sameBook: true }));
    // The derived state as sweeps read it. Not byte for byte: the single deposit moved the cross
    // base in the chunk's area before the fill outgrew it, and the area it left keeps that write.
    expect(liveDerived(single)).toEqual(liveDerived(batched));
    single.sweep({ full: false });
    batched.sweep({ full: false });
    expect(liveDerived(single)).toEqual(liveDerived(batched));
    expect(results.map((result) => (result.ok ? 'ok' : result.code))).toEqual(['ok', 'ok', 'below_initial_margin']);
  });
});
