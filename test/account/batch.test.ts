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
import { FUNDING_INDEX_ABS_MAX, MODE_CROSS, MODE_ISOLATED, QUOTE_ABS_MAX, STATUS_NAMES } from '../../src/fixed/constants.js';
import { cacheBytes, WASM_PAGE_BYTES, WASM_PAGES_MAX, CHUNK_ACCOUNTS, CHUNK_META_BYTES, chunksOf, HEADER_SLOTS, HeaderSlot, POSITION_COLUMNS, POSITION_INPUT_COLUMNS, SHARD_RECORD_BYTES, ShardSlot, type Views } from '../../src/memory/layout.js';
import { quotePerUnit, type Book } from '../../src/book/model.js';
import { bookArbitrary } from '../support/arbitraries.js';
import { kernelU32 } from '../../src/engine/kernel-constants.js';
import {
  OP_BYTES,
  OP_OUTCOME,
  OUTCOME_APPLIED,
  OUTCOME_HOST,
  OUTCOME_OPENED,
  OUTCOME_CLOSED,
  OUTCOME_REFRESHED,
  REFUSED_CROSS_INITIAL,
  REFUSED_FUNDING_EXCEEDS_MARGIN,
  REFUSED_ISOLATED_INITIAL,
  REFUSED_LEVERAGE_ABOVE_BRACKET,
  REFUSED_LOSS_EXCEEDS_MARGIN,
  REFUSED_MARGIN_EXCEEDS_WALLET,
} from '../../src/memory/layout.js';

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
    // Where the layout lies: two engines holding the same book may have placed it apart (the
    // regions each took before it grew).
    header: sameBook ? null : engine.layout.header,
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
  const { header, meta, word } = chunkMetas(engine);
  return Array.from({ length: engine.accountCount }, (_, a) => {
    const chunk = Math.floor(a / CHUNK_ACCOUNTS);
    const m = meta(chunk);
    if (m === null) return null;
    const bases = header[HeaderSlot.sweepRecords] + m[word('CHUNK_OFFSET')] + (m[word('CHUNK_CROSS')] + m[word('CHUNK_ISOLATED')]) * kernelU32('SWEEP_RECORD_SLOT_BYTES');
    return new BigInt64Array(engine.memory.buffer, bases + (a - chunk * CHUNK_ACCOUNTS) * kernelU32('SWEEP_BASE_BYTES'), 1)[0];
  });
}

/** The engine's header, and each chunk's meta words (null for a chunk that is not fresh), with the meta word of a CHUNK_* name. */
function chunkMetas(engine: Engine) {
  const word = (name: string) => kernelU32(name) / 4;
  const header = new Uint32Array(engine.memory.buffer, engine.layout.header, HEADER_SLOTS);
  const metas = new Uint32Array(engine.memory.buffer, header[HeaderSlot.chunks], (chunksOf(engine.accountCount) * CHUNK_META_BYTES) / 4);
  const meta = (chunk: number) => {
    const m = metas.subarray((chunk * CHUNK_META_BYTES) / 4, ((chunk + 1) * CHUNK_META_BYTES) / 4);
    return m[word('CHUNK_STATE')] === kernelU32('CHUNK_FRESH') ? m : null;
  };
  return { header, meta, word };
}

/**
 * Each fresh chunk's cross records (size, account byte and funding residue, bracket entry), in
 * order, null for a chunk that is not fresh: what a fill the kernel rewrites in place
 * (OUTCOME_REFRESHED) must leave as a layout of the same book writes it (after a status sweep of
 * each, which names every record's bracket at the marks).
 */
function crossRecords(engine: Engine): (bigint[] | null)[] {
  const { header, meta, word } = chunkMetas(engine);
  const recordBytes = kernelU32('CROSS_RECORD_BYTES');
  return Array.from({ length: chunksOf(engine.accountCount) }, (_, chunk) => {
    const m = meta(chunk);
    if (m === null) return null;
    const area = header[HeaderSlot.sweepRecords] + m[word('CHUNK_OFFSET')];
    return Array.from(new BigInt64Array(engine.memory.buffer.slice(area, area + m[word('CHUNK_CROSS')] * recordBytes)));
  });
}

/**
 * Each fresh chunk's isolated records (threshold less its drift with the account byte, mark offset,
 * slot), in order, null for a chunk that is not fresh: what a fill of an isolated position the
 * kernel rewrites in place (OUTCOME_REFRESHED) must leave as a rebuild of the chunk writes it, while
 * no funding index has moved (every drift 0).
 */
function isolatedRecords(engine: Engine): (bigint[] | null)[] {
  const { header, meta, word } = chunkMetas(engine);
  const crossBytes = kernelU32('CROSS_RECORD_BYTES');
  const recordBytes = kernelU32('ISOLATED_RECORD_BYTES');
  return Array.from({ length: chunksOf(engine.accountCount) }, (_, chunk) => {
    const m = meta(chunk);
    if (m === null) return null;
    const start = header[HeaderSlot.sweepRecords] + m[word('CHUNK_OFFSET')] + m[word('CHUNK_CROSS')] * crossBytes;
    return Array.from(new BigInt64Array(engine.memory.buffer.slice(start, start + m[word('CHUNK_ISOLATED')] * recordBytes)));
  });
}

/**
 * Calls `seen` after each of the engine's kernel calls in applyBatch (Engine.applyOperationRecords
 * wrapped): how many of the records it took it applied, the refusal codes (REFUSED_*) of those it
 * refused, in order, the records [from, stop) it took, and each one's outcome (OUTCOME_OPENED when
 * its fill opened a position, OUTCOME_CLOSED when it closed one). The record it stopped at, if any, is the control plane's.
 */
function watchKernel(engine: Engine, seen: (applied: number, refused: number[], from: number, stop: number, outcome: (k: number) => number) => void): void {
  const apply = engine.applyOperationRecords.bind(engine);
  engine.applyOperationRecords = (records, from, count, fillRecords) => {
    const stop = apply(records, from, count, fillRecords);
    const outcome = (k: number) => engine.memoryBytes[records + k * OP_BYTES + OP_OUTCOME];
    if (stop < count) expect(outcome(stop)).toBe(OUTCOME_HOST);
    const refused: number[] = [];
    for (let k = from; k < stop; k++) if (!appliedOutcome(outcome(k))) refused.push(outcome(k));
    seen(stop - from - refused.length, refused, from, stop, outcome);
    return stop;
  };
}

/** Whether a record's outcome says the kernel applied it (a refusal's is a REFUSED_* code). */
function appliedOutcome(outcome: number): boolean {
  return outcome === OUTCOME_APPLIED || outcome === OUTCOME_OPENED || outcome === OUTCOME_CLOSED || outcome === OUTCOME_REFRESHED;
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
      const pnl = unrealizedPnl(engine, j);
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
    const tally = { applied: 0, refused: 0, kernel: 0, kernelRefused: 0, kernelOpened: 0, codes: new Map<RefusalCode, number>() };
    fc.assert(
      fc.property(bookAndBatch, ([book, operations]) => {
        // One at a time, on a twin, all in TypeScript: each operation through applyOperation
        // (which never hands one to the kernel), with a full snapshot of the engine before and
        // after it; and, on a second twin, each as a batch of its own.
        const twin = freshEngine(book);
        const single = freshEngine(book);
        const oneByOne: OperationResult[] = [];
        const changedAccounts = new Set<number>();
        for (const operation of operations) {
          const before = fullState(twin);
          const result = applyOperation(twin, operation);
          oneByOne.push(result);
          const { results, changed } = applyBatch(single, [operation]);
          expect(results[0]).toEqual(result);
          if (result.ok) {
            tally.applied++;
            if (operation.kind !== 'setMark' && operation.kind !== 'setFundingIndex') {
              const named = operation as { account?: string; accountIndex?: number };
              const a = named.accountIndex ?? twin.accountIds.indexOf(named.account!)!;
              changedAccounts.add(a);
              expect([...changed]).toEqual([a]);
            }
          } else {
            tally.refused++;
            tally.codes.set(result.code, (tally.codes.get(result.code) ?? 0) + 1);
            expect(REFUSAL_CODES).toContain(result.code);
            expect(changed).toHaveLength(0);
            expect(fullState(twin), `refused ${operation.kind} (${result.code}: ${result.reason}) changed the engine`).toEqual(before);
          }
        }

        // The same operations as one batch, the kernel applying what it takes (counted).
        const engine = freshEngine(book);
        watchKernel(engine, (applied, refused, from, stop, outcome) => {
          tally.kernel += applied;
          for (let k = from; k < stop; k++) if (outcome(k) === OUTCOME_OPENED) tally.kernelOpened++;
          tally.kernelRefused += refused.length;
        });
        const batch = applyBatch(engine, operations);
        expect(batch.results).toEqual(oneByOne);
        expect(batch.applied + batch.refused).toBe(operations.length);
        expect(batch.refused).toBe(oneByOne.filter((result) => !result.ok).length);
        if (!operations.some((operation, k) => operation.kind === 'setFundingIndex' && oneByOne[k].ok)) {
          expect([...batch.changed]).toEqual([...changedAccounts].sort((x, y) => x - y));
        }
        // The derived state too: the debits (a position column), and after a status sweep of each,
        // every figure and status the chunk records give. (The records' bytes may differ: one at a
        // time refreshes an account in place after each operation, a batch once at its end.) The
        // funding refreshes still pending are settled first: a sweep leaves an account's cross
        // equity before a pending refresh where its bound settles its status, and which chunks are
        // pending depends on the path (statuses under pending refreshes: production-path.test.ts).
        for (const each of [engine, twin, single]) each.settleFunding();
        engine.sweep({ full: false });
        twin.sweep({ full: false });
        single.sweep({ full: false });
        const compared = { derived: false, sameBook: true };
        expect(fullState(engine, compared)).toEqual(fullState(twin, compared));
        expect(fullState(single, compared)).toEqual(fullState(twin, compared));
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
    // The kernel applied a good share of them (deposits, fills, positions opened), and refused some
    // (fills that would have opened a position, most of them).
    expect(tally.kernel).toBeGreaterThan(tally.applied / 5);
    expect(tally.kernelOpened).toBeGreaterThan(30);
    expect(tally.kernelRefused).toBeGreaterThan(30);
  });
});

// ---------------------------------------------------------------------------------------------
// The kernel's operations (assembly/operations.ts) against the TypeScript ones

/**
 * Operations on the positions a book holds: fills of every size from one lot to several times the
 * position, each way (adding, reducing, closing exactly, flipping), at prices around the mark,
 * between deposits, marks and funding indices that move: what the kernel applies in a batch, and
 * the edges where it must hand an operation back (a close, a flip's margin, a bracket's leverage,
 * initial margin, ranges).
 */
function heldOperationArbitrary(book: Book): fc.Arbitrary<AnyOperation> {
  const held = book.accounts.flatMap((account, a) => account.positions.map((position) => ({ a, position })));
  const A = book.accounts.length;
  const fillOnHeld = fc
    .record({
      k: fc.nat(),
      share: fc.constantFrom(-3_000_000, -1_000_000, -999_999, -500_000, -1, 1, 300_000, 1_000_000, 4_000_000, 0),
      lots: fc.integer({ min: -3, max: 3 }),
      ppm: fc.integer({ min: -50_000, max: 50_000 }),
      ticks: fc.integer({ min: -1_000, max: 1_000 }),
      byId: fc.boolean(),
    })
    .map(({ k, share, lots, ppm, ticks, byId }): AnyOperation => {
      const { a, position } = held[k % held.length];
      const inst = book.instruments[position.instrument];
      const size = position.sizeUnits < 0n ? -position.sizeUnits : position.sizeUnits;
      const sign = position.sizeUnits < 0n ? -1n : 1n;
      let sizeUnits = ((((size * BigInt(share)) / 1_000_000n) * sign) / inst.lotUnits) * inst.lotUnits + BigInt(lots) * inst.lotUnits;
      if (sizeUnits === 0n) sizeUnits = inst.lotUnits;
      let priceUnits = (inst.markUnits * BigInt(1_000_000 + ppm)) / 1_000_000n + BigInt(ticks) * inst.tickUnits;
      if (priceUnits < 1n) priceUnits = 1n;
      const who = byId ? { account: book.accounts[a].id } : { accountIndex: a };
      return { kind: 'fill', ...who, instrument: inst.symbol, mode: position.mode, sizeUnits, priceUnits };
    });
  const deposit = fc
    .record({ a: fc.integer({ min: 0, max: A - 1 }), amount: fc.oneof({ weight: 8, arbitrary: fc.bigInt({ min: 1n, max: 10n ** 12n }) }, { weight: 1, arbitrary: fc.constantFrom(QUOTE_ABS_MAX, 0n) }) })
    .map(({ a, amount }): AnyOperation => ({ kind: 'deposit', accountIndex: a, amountMicro: amount }));
  const instrument = fc.integer({ min: 0, max: book.instruments.length - 1 });
  const mark = fc.record({ i: instrument, ppm: fc.integer({ min: -40_000, max: 40_000 }) }).map(({ i, ppm }): AnyOperation => {
    const next = (book.instruments[i].markUnits * BigInt(1_000_000 + ppm)) / 1_000_000n;
    return { kind: 'setMark', instrument: book.instruments[i].symbol, priceUnits: next > 0n ? next : 1n };
  });
  const funding = fc
    .record({ i: instrument, delta: fc.bigInt({ min: -(10n ** 10n), max: 10n ** 10n }) })
    .map(({ i, delta }): AnyOperation => ({ kind: 'setFundingIndex', instrument: book.instruments[i].symbol, fundingIndex: book.instruments[i].fundingIndex + delta }));
  return held.length === 0
    ? deposit
    : fc.oneof({ weight: 12, arbitrary: fillOnHeld }, { weight: 3, arbitrary: deposit }, { weight: 1, arbitrary: mark }, { weight: 1, arbitrary: funding });
}

const bookAndHeldBatch = fc
  .integer({ min: 1, max: 8 })
  .chain((accounts) => bookArbitrary(accounts))
  .chain((book) => fc.tuple(fc.constant(book), fc.array(heldOperationArbitrary(book), { minLength: 10, maxLength: 60, size: "max" })));

describe('the kernel applies deposits and fills of held positions as the TypeScript operations do', () => {
  test('a batch (the kernel applying what it takes) equals the same operations through applyOperation, results and books', () => {
    const kernelRefusals = new Map<number, number>();
    const tally = { reduced: 0, fills: 0, kernelFills: 0, kernelDeposits: 0, flips: 0, realized: 0, funded: 0, kernelCloses: 0, kernelIsolatedCloses: 0, kernelShortfalls: 0, kernelRewritten: 0, kernelRewrittenIsolated: 0, isolatedCompared: 0 };
    let isolatedBefore = 0;
    fc.assert(
      fc.property(bookAndHeldBatch, ([book, operations]) => {
        const twin = freshEngine(book);
        const expected = operations.map((operation) => {
          const v = twin.views;
          if (operation.kind === 'fill' && 'accountIndex' in operation) {
            // Note what the kernel's share of the fills reaches: a funding settlement, a flip.
            const a = operation.accountIndex;
            for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
              if (twin.instruments[v.posInst[j]].symbol !== operation.instrument) continue;
              if (v.posFunding[j] !== v.instFunding[v.posInst[j]]) tally.funded++;
              const next = v.posSize[j] + operation.sizeUnits;
              if (next !== 0n && next < 0n !== v.posSize[j] < 0n) tally.flips++;
            }
          }
          let reducing = false;
          if (operation.kind === 'fill' && 'accountIndex' in operation) {
            const a = operation.accountIndex;
            for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
              if (twin.instruments[v.posInst[j]].symbol === operation.instrument && (v.posMode[j] === MODE_ISOLATED) === (operation.mode === 'isolated')) reducing = v.posSize[j] < 0n !== operation.sizeUnits < 0n;
            }
          }
          const result = applyOperation(twin, operation);
          if (reducing && result.ok) tally.reduced++;
          return result;
        });

        const engine = freshEngine(book);
        const closedAt: number[] = [];
        watchKernel(engine, (_applied, refused, from, stop, outcome) => {
          // One window (a batch of at most 60): record k is operation k.
          for (let k = from; k < stop; k++) {
            if (!appliedOutcome(outcome(k))) continue;
            if (outcome(k) === OUTCOME_CLOSED) closedAt.push(k);
            if (outcome(k) === OUTCOME_REFRESHED) {
              tally.kernelRewritten++;
              if (operations[k].kind === 'fill' && (operations[k] as { mode?: string }).mode === 'isolated') tally.kernelRewrittenIsolated++;
            }
            if (operations[k].kind === 'fill') tally.kernelFills++;
            else tally.kernelDeposits++;
          }
          for (const code of refused) kernelRefusals.set(code, (kernelRefusals.get(code) ?? 0) + 1);
        });
        isolatedBefore = tally.kernelRewrittenIsolated;
        const batch = applyBatch(engine, operations);
        expect(batch.results).toEqual(expected);
        // The closes the kernel applied, as the TypeScript operation reports them (a shortfall only when there is one).
        for (const k of closedAt) {
          const operation = operations[k];
          tally.kernelCloses++;
          if (operation.kind === 'fill' && operation.mode === 'isolated') tally.kernelIsolatedCloses++;
          if (batch.results[k].ok && batch.results[k].shortfallMicro !== undefined) tally.kernelShortfalls++;
        }
        tally.fills += operations.filter((operation) => operation.kind === 'fill').length;
        tally.realized += batch.results.filter((result) => result.ok && result.realizedPnlMicro !== undefined && result.realizedPnlMicro !== 0n).length;

        // Pending funding refreshes settled first, as above.
        engine.settleFunding();
        twin.settleFunding();
        engine.sweep({ full: false });
        twin.sweep({ full: false });
        const compared = { derived: false, sameBook: true };
        expect(fullState(engine, compared)).toEqual(fullState(twin, compared));
        // The records and bases the kernel rewrote in place (fills, deposits) are a layout's.
        const laidOut = freshEngine(engine.toBook());
        expect(crossBases(engine)).toEqual(crossBases(laidOut));
        expect(crossRecords(engine)).toEqual(crossRecords(laidOut));
        // Isolated records name their slots, which a layout of the book read back numbers anew: they
        // are held to a rebuild of every chunk of the same engine instead.
        const rewritten = isolatedRecords(engine);
        expectAgreesWithReference(engine);
        engine.refreshDebits();
        engine.sweep({ full: false });
        // (A batch that sets a funding index advances its instrument's drifts: a record written
        // before then keeps more room than a rebuild gives it, by design, so only the others compare.)
        if (!operations.some((operation) => operation.kind === 'setFundingIndex')) {
          expect(isolatedRecords(engine)).toEqual(rewritten);
          tally.isolatedCompared += tally.kernelRewrittenIsolated - isolatedBefore;
        }
      }),
      { numRuns: 300 },
    );
    console.log('kernel batches:', JSON.stringify(tally));
    // The kernel took most deposits and a good share of the fills, flips and settlements among them
    // (the floors are far below the means).
    expect(tally.kernelDeposits).toBeGreaterThan(500);
    expect(tally.kernelFills).toBeGreaterThan(tally.fills / 5);
    expect(tally.flips).toBeGreaterThan(100);
    expect(tally.funded).toBeGreaterThan(100);
    expect(tally.realized).toBeGreaterThan(300);
    // Fills of positions kept open, their records rewritten in place by the kernel: cross and isolated.
    expect(tally.kernelRewritten).toBeGreaterThan(300);
    expect(tally.kernelRewrittenIsolated).toBeGreaterThan(100);
    // (the isolated records it rewrote in batches with no funding index set, held to a rebuild's)
    expect(tally.isolatedCompared).toBeGreaterThan(30);
    // Closes: cross and isolated, some with a loss beyond the isolated margin (a shortfall).
    expect(tally.kernelCloses).toBeGreaterThan(100);
    expect(tally.kernelIsolatedCloses).toBeGreaterThan(30);
    expect(tally.kernelShortfalls).toBeGreaterThan(3);
    // And refused what it could, with the codes and reasons the TypeScript operations give: each
    // refusal it reports, seen (those that need two steps to reach, a funding debt over the
    // margin and a loss over it, are rarer).
    expect([...kernelRefusals.keys()].sort()).toEqual(
      [REFUSED_FUNDING_EXCEEDS_MARGIN, REFUSED_LEVERAGE_ABOVE_BRACKET, REFUSED_MARGIN_EXCEEDS_WALLET, REFUSED_LOSS_EXCEEDS_MARGIN, REFUSED_ISOLATED_INITIAL, REFUSED_CROSS_INITIAL].sort(),
    );
  });
});

describe('batches longer than the kernel takes at once', () => {
  test('10,000 operations (three windows of records) equal the same operations one by one', () => {
    const [book] = fc.sample(bookArbitrary(40).filter((b) => b.accounts.some((account) => account.positions.length > 0)), { numRuns: 1, seed: 20261202 });
    const operations = fc.sample(heldOperationArbitrary(book), { numRuns: 10_000, seed: 7 });
    const twin = freshEngine(book);
    const expected = operations.map((operation) => applyOperation(twin, operation));
    const engine = freshEngine(book);
    let kernel = 0;
    let windows = 0;
    watchKernel(engine, (applied, _refused, from) => {
      kernel += applied;
      if (from === 0) windows++; // each window's first call starts at its first record
    });
    const batch = applyBatch(engine, operations);
    expect(batch.results).toEqual(expected);
    expect(windows).toBe(3); // 4,096 records at a time
    expect(kernel).toBeGreaterThan(2_000);
    engine.sweep({ full: false });
    twin.sweep({ full: false });
    expect(fullState(engine, { derived: false, sameBook: true })).toEqual(fullState(twin, { derived: false, sameBook: true }));
    expectAgreesWithReference(engine);
  });
});

describe('the kernel at the edges of its rules, to the micro', () => {
  /** A batch on a fresh engine, with how many of its operations the kernel applied. */
  function run(accounts: unknown[], operations: AnyOperation[]) {
    const engine = engineWith(accounts);
    let kernel = 0;
    watchKernel(engine, (applied) => (kernel += applied));
    const twin = engineWith(accounts);
    const expected = operations.map((operation) => applyOperation(twin, operation));
    const batch = applyBatch(engine, operations);
    expect(batch.results).toEqual(expected);
    expect(fullState(engine, { derived: false, sameBook: true })).toEqual(fullState(twin, { derived: false, sameBook: true }));
    return { engine, results: batch.results.map((result) => (result.ok ? 'ok' : result.code)), raw: batch.results, kernel };
  }
  // 0.4 BTC held at 50,000 (the mark), 100x: a fill of 0.4 more at the mark needs 400 of initial margin in all.
  const held = (mode: string, margin?: string) => ({ instrument: 'BTC', size: '0.4', entryPrice: '50000', mode, leverage: '100', ...(margin ? { margin } : {}) });
  const more: AnyOperation = { kind: 'fill', accountIndex: 0, instrument: 'BTC', mode: 'cross', sizeUnits: 400n, priceUnits: 500_000n };

  test('cross: applied by the kernel with equity exactly the initial margin; one micro short, handed back and refused', () => {
    const exact = run([{ id: 'alice', balance: '400', positions: [held('cross')] }], [more]);
    expect(exact.results).toEqual(['ok']);
    expect(exact.kernel).toBe(1);
    expect(exact.engine.views.posSize[0]).toBe(800n);
    const short = run([{ id: 'alice', balance: '399.999999', positions: [held('cross')] }], [more]);
    expect(short.results).toEqual(['below_initial_margin']);
    expect(short.kernel).toBe(0);
  });

  test('isolated: the margin added takes the wallet to exactly 0, and the equity to exactly the initial margin; a micro less of either is refused', () => {
    const fill: AnyOperation = { ...more, mode: 'isolated' };
    const exact = run([{ id: 'alice', balance: '200', positions: [held('isolated', '200')] }], [fill]);
    expect(exact.results).toEqual(['ok']);
    expect(exact.kernel).toBe(1);
    expect(exact.engine.views.accBalance[0]).toBe(0n);
    expect(exact.engine.views.posMargin[0]).toBe(400n * M);
    expect(run([{ id: 'alice', balance: '199.999999', positions: [held('isolated', '200')] }], [fill]).results).toEqual(['exceeds_wallet']);
    expect(run([{ id: 'alice', balance: '200', positions: [held('isolated', '199.999999')] }], [fill]).results).toEqual(['below_initial_margin']);
  });

  test('fills that keep a position open rewrite its record in place: isolated after the cross positions before it in the block, cross after other accounts\' records', () => {
    // Alice holds BTC cross (slot 0) and BTC isolated (slot 1): her isolated record is the chunk's
    // first, found past her cross one. Carol's cross record and Bob's come after, so Bob's isolated
    // record is found past two cross records of the chunk and one isolated record. Adding 0.4 to
    // Alice's isolated position takes 200 more margin from her wallet (her cross base moves by it).
    const accounts = [
      { id: 'alice', balance: '1000', positions: [held('cross'), held('isolated', '400')] },
      { id: 'carol', balance: '1000', positions: [held('cross')] },
      { id: 'bob', balance: '1000', positions: [held('isolated', '300'), held('cross')] },
    ];
    const engine = engineWith(accounts);
    // The instrument cache the kernel writes from is filled for the write: garbage there changes nothing.
    const shard = engine.shardRecord();
    const cache = new Uint32Array(engine.memory.buffer, shard, SHARD_RECORD_BYTES / 4)[ShardSlot.cache];
    new Uint8Array(engine.memory.buffer, cache, cacheBytes(engine.instruments.length)).fill(0xa5);
    const outcomes: number[] = [];
    watchKernel(engine, (_applied, _refused, from, stop, outcome) => {
      for (let k = from; k < stop; k++) outcomes.push(outcome(k));
    });
    const fill: AnyOperation = { ...more, mode: 'isolated' };
    const bobs: AnyOperation = { ...more, accountIndex: 2, mode: 'isolated', sizeUnits: -200n };
    // And Bob's cross position, whose record is found past Alice's and Carol's cross records.
    const bobsCross: AnyOperation = { ...more, accountIndex: 2 };
    const batch = applyBatch(engine, [fill, bobs, bobsCross]);
    expect(batch.results.map((result) => result.ok)).toEqual([true, true, true]);
    expect(outcomes).toEqual([OUTCOME_REFRESHED, OUTCOME_REFRESHED, OUTCOME_REFRESHED]);
    expect(engine.views.posMargin[1]).toBe(600n * M);
    const rewritten = { isolated: isolatedRecords(engine), cross: crossRecords(engine), bases: crossBases(engine) };
    engine.refreshDebits();
    engine.sweep({ full: false });
    expect({ isolated: isolatedRecords(engine), cross: crossRecords(engine), bases: crossBases(engine) }).toEqual(rewritten);
    expectAgreesWithReference(engine);
  });

  test('isolated: a reduce whose loss takes the margin to exactly 0 is applied by the kernel; one micro further is refused', () => {
    // Selling 0.2 of 0.4 BTC (cost 20,000) at 49,000 realizes 9,800 − 10,000 = −200.
    const reduce: AnyOperation = { kind: 'fill', accountIndex: 0, instrument: 'BTC', mode: 'isolated', sizeUnits: -200n, priceUnits: 490_000n };
    const exact = run([{ id: 'alice', balance: '0', positions: [held('isolated', '200')] }], [reduce]);
    expect(exact.results).toEqual(['ok']);
    expect(exact.kernel).toBe(1);
    expect(exact.engine.views.posMargin[0]).toBe(0n);
    const short = run([{ id: 'alice', balance: '0', positions: [held('isolated', '199.999999')] }], [reduce]);
    expect(short.results).toEqual(['loss_exceeds_margin']);
  });

  test('closes in the kernel: an isolated loss to exactly the margin returns nothing, a micro more is a shortfall (not a refusal); the block keeps the other position', () => {
    // Alice holds BTC isolated (slot 0) and BTC cross (slot 1), 0.4 each at 50,000 (cost 20,000).
    // Selling the isolated 0.4 at 49,000 realizes 19,600 − 20,000 = −400.
    const close = (mode: 'cross' | 'isolated', priceUnits: bigint): AnyOperation => ({ kind: 'fill', accountIndex: 0, instrument: 'BTC', mode, sizeUnits: -400n, priceUnits });
    const book = (margin: string) => [{ id: 'alice', balance: '5', positions: [held('isolated', margin), held('cross')] }];
    const remaining = (engine: Engine) => {
      const v = engine.views;
      const j = v.accPosStart[0];
      return { count: v.accPosCount[0], mode: v.posMode[j], size: v.posSize[j], cost: v.posCost[j], balance: v.accBalance[0] };
    };
    const exact = run(book('400'), [close('isolated', 490_000n)]);
    expect(exact.kernel).toBe(1);
    expect(exact.raw).toEqual([{ ok: true, realizedPnlMicro: -400n * M }]);
    // The cross position, from the block's last slot, now in the first; nothing returned to the wallet.
    expect(remaining(exact.engine)).toEqual({ count: 1, mode: MODE_CROSS, size: 400n, cost: 20_000n * M, balance: 5n * M });
    const beyond = run(book('399.999999'), [close('isolated', 490_000n)]);
    expect(beyond.kernel).toBe(1);
    expect(beyond.raw).toEqual([{ ok: true, realizedPnlMicro: -400n * M, shortfallMicro: 1n }]);
    expect(remaining(beyond.engine).balance).toBe(5n * M); // the shortfall is not charged to the wallet
    // A gain: the margin and the profit return to the wallet (5 + 400 + 400).
    const gain = run(book('400'), [close('isolated', 510_000n)]);
    expect(gain.raw).toEqual([{ ok: true, realizedPnlMicro: 400n * M }]);
    expect(remaining(gain.engine).balance).toBe(805n * M);
    // The cross one, the block's last slot: its PnL to the wallet, the isolated one stays where it was.
    const cross = run(book('400'), [close('cross', 510_000n)]);
    expect(cross.kernel).toBe(1);
    expect(cross.raw).toEqual([{ ok: true, realizedPnlMicro: 400n * M }]);
    expect(remaining(cross.engine)).toEqual({ count: 1, mode: MODE_ISOLATED, size: 400n, cost: 20_000n * M, balance: 405n * M });
  });

  /** Fills the memory's top with a region, so that the book's layout cannot be made again with twice the position slots. */
  const fillMemoryTop = (engine: Engine): void => {
    const top = engine.region('test.top', 64) + 64;
    engine.region('test.fill', WASM_PAGES_MAX * WASM_PAGE_BYTES - top - (engine.layout.end - engine.layout.header));
  };
  const openIsolated = (a: number): AnyOperation => ({ kind: 'fill', accountIndex: a, instrument: 'BTC', mode: 'isolated', sizeUnits: 400n, priceUnits: 500_000n });

  test('an arena whose moved blocks left a quarter of it free is compacted, not grown: the same slots as the TypeScript fill, and the reference', () => {
    // 60 accounts holding BTC cross, each opening BTC isolated: every block moves to the arena's
    // tail (its old slot left behind), until the arena (60 + 64 + 4 slots) is full with a quarter of
    // its slots left behind, at the 34th.
    const accounts = Array.from({ length: 60 }, (_, k) => ({ id: `a${k}`, balance: '100000', positions: [held('cross')] }));
    const engine = engineWith(accounts);
    const twin = engineWith(accounts);
    const capacity = engine.layout.capacity.positions;
    for (let a = 0; a < 40; a++) {
      const expected = applyOperation(twin, openIsolated(a));
      expect(applyBatch(engine, [openIsolated(a)]).results, `fill of account ${a}`).toEqual([expected]);
      expect(fullState(engine, { derived: false, sameBook: true }), `fill of account ${a}`).toEqual(fullState(twin, { derived: false, sameBook: true }));
    }
    expect(engine.positionCompactions).toBe(1);
    expect(twin.positionCompactions).toBe(1);
    expect(engine.layout.capacity.positions).toBe(capacity); // never grown
    // The blocks moved since the compaction left their slots behind, and only those.
    expect(engine.positionsHeld()).toBe(100);
    expect(engine.positionsUsed - engine.positionsHeld()).toBeLessThan(40);
    expectAgreesWithReference(engine);
  });

  test('an arena that cannot grow within 4 GiB is compacted while that leaves room, then the fill is not applied and the error says how full the arena is', () => {
    // 400 accounts holding BTC cross, each opening BTC isolated: the blocks that move leave fewer
    // slots behind than a quarter of the arena, so it would grow, in a memory whose 4 GiB a region
    // already nearly fills: it is compacted instead, again and again, until compacting leaves less
    // than a moved block needs.
    const accounts = Array.from({ length: 400 }, (_, k) => ({ id: `a${k}`, balance: '100000', positions: [held('cross')] }));
    const engine = engineWith(accounts);
    const twin = engineWith(accounts);
    fillMemoryTop(engine);
    fillMemoryTop(twin);
    const capacity = engine.layout.capacity.positions;
    let failedAt = -1;
    let message = '';
    for (let a = 0; a < accounts.length && failedAt < 0; a++) {
      const before = fullState(engine, { derived: false, sameBook: true });
      try {
        expect(applyBatch(engine, [openIsolated(a)]).results[0].ok).toBe(true);
      } catch (error) {
        failedAt = a;
        message = String(error);
        // Rolled back: the book is as the fill found it, and the TypeScript fill fails alike.
        expect(fullState(engine, { derived: false, sameBook: true })).toEqual(before);
        expect(() => applyOperation(twin, openIsolated(a))).toThrow(RangeError);
        break;
      }
      expect(applyOperation(twin, openIsolated(a)).ok).toBe(true);
      expect(fullState(engine, { derived: false, sameBook: true }), `fill of account ${a}`).toEqual(fullState(twin, { derived: false, sameBook: true }));
    }
    expect(engine.positionCompactions).toBeGreaterThan(1);
    expect(twin.positionCompactions).toBe(engine.positionCompactions);
    expect(engine.layout.capacity.positions).toBe(capacity);
    expect(failedAt).toBeGreaterThan(0);
    // Every slot but those compaction cannot give back was used: a position opened on each.
    expect(message).toMatch(/^RangeError: the position arena is full: (\d+) of its (\d+) slots are used, (\d+) by the positions the accounts hold \(the rest left by blocks that moved; compacted, the arena would have (\d+) free, fewer than the 3 needed\)/);
    const [, used, slots, holding, free] = /(\d+) of its (\d+) slots are used, (\d+) by .* would have (\d+) free/.exec(message)!.map(Number);
    expect(used).toBe(engine.positionsUsed);
    expect(slots).toBe(capacity);
    expect(holding).toBe(accounts.length + failedAt);
    expect(free).toBe(capacity - holding);
    expect(free).toBeLessThan(3);
    expect(message).toMatch(/above the 4 GiB a wasm32 memory holds/);
    expectAgreesWithReference(engine);
  });

  test('positions opened one after another: each takes the slot the TypeScript operation gives it, and the arena grows at the same fill', () => {
    // 80 accounts with no positions on a book with none: the arena starts with the spare slots
    // alone, and fills that open positions (cross, then isolated, account after account) use them
    // up; the kernel hands back the fill that needs the arena to grow, as the TypeScript one grows it.
    const accounts = Array.from({ length: 80 }, (_, k) => ({ id: `a${k}`, balance: '100000', positions: [] }));
    const engine = engineWith(accounts);
    const twin = engineWith(accounts);
    let kernel = 0;
    watchKernel(engine, (applied) => (kernel += applied));
    const capacities = new Set<number>();
    for (const mode of ['cross', 'isolated'] as const) {
      for (let a = 0; a < accounts.length; a++) {
        const operation: AnyOperation = { kind: 'fill', accountIndex: a, instrument: 'BTC', mode, sizeUnits: BigInt(1 + (a % 7)), priceUnits: 500_000n };
        const expected = applyOperation(twin, operation);
        expect(applyBatch(engine, [operation]).results, `${mode} fill of account ${a}`).toEqual([expected]);
        expect(fullState(engine, { derived: false, sameBook: true }), `${mode} fill of account ${a}`).toEqual(fullState(twin, { derived: false, sameBook: true }));
        capacities.add(engine.layout.capacity.positions);
      }
    }
    expect(capacities.size).toBeGreaterThan(1); // the arena grew on the way
    expect(kernel).toBeGreaterThan(150); // all but the fills that grew it
    expectAgreesWithReference(engine);
  });

  test('a position opened where the block ends the arena takes a slot cleared first, whatever the free slot held', () => {
    const accounts = [{ id: 'alice', balance: '100000', positions: [held('cross')] }];
    const operation: AnyOperation = { ...more, mode: 'isolated' };
    const engine = engineWith(accounts);
    const twin = engineWith(accounts);
    for (const target of [engine, twin]) {
      // A full sweep has written the outputs: from then on the moves carry and clear them too
      // (until then they are 0 in every slot: test/engine/arena.test.ts).
      target.evaluate();
      expect(target.layout.outputsWritten).toBe(true);
      // Left in the free slot past the block by whatever used it last.
      const free = target.positionsUsed;
      target.views.posPnl[free] = 123n;
      target.views.posMaint[free] = 456n;
      target.views.posStatus[free] = 2;
      target.views.posBracket[free] = 3;
    }
    const expected = applyOperation(twin, operation);
    expect(applyBatch(engine, [operation]).results).toEqual([expected]);
    expect(fullState(engine, { derived: false })).toEqual(fullState(twin, { derived: false }));
    expect([engine.views.posPnl[1], engine.views.posMaint[1], engine.views.posStatus[1], engine.views.posBracket[1]]).toEqual([0n, 0n, 0, 0]);
  });

  test('a reducing fill realizes PnL rounded toward −∞ (the cost basis taken off rounds up), and settles funding first', () => {
    // Long 0.3 BTC at a cost of 15,000.000001: selling 0.1 takes off ceil(15,000.000001 / 3) = 5,000.000001.
    const position = { instrument: 'BTC', size: '0.3', entryPrice: '50000', mode: 'cross', leverage: '10' };
    const engine = engineWith([{ id: 'alice', balance: '1000', positions: [position] }]);
    engine.views.posCost[0] += 1n;
    engine.accountsChanged([0]);
    const operations: AnyOperation[] = [
      { kind: 'setFundingIndex', instrument: 'BTC', fundingIndex: 3_000_001n }, // 0.3 BTC owes ceil(0.3·3.000001 / 10) = 0.09000003 → 90,001 micro
      { kind: 'fill', accountIndex: 0, instrument: 'BTC', mode: 'cross', sizeUnits: -100n, priceUnits: 510_000n },
    ];
    const twin = engineWith([{ id: 'alice', balance: '1000', positions: [position] }]);
    twin.views.posCost[0] += 1n;
    twin.accountsChanged([0]);
    const expected = operations.map((operation) => applyOperation(twin, operation));
    let kernel = 0;
    watchKernel(engine, (applied) => (kernel += applied));
    const batch = applyBatch(engine, operations);
    expect(batch.results).toEqual(expected);
    expect(kernel).toBe(1); // the fill (the funding index is the control plane's)
    expect(batch.results[1]).toEqual({ ok: true, realizedPnlMicro: 5_100_000_000n - 5_000_000_001n }); // 0.1 · 51,000 − 5,000.000001
    expect(engine.views.posCost[0]).toBe(10_000_000_000n);
    expect(engine.views.accBalance[0]).toBe(1000n * M - 90_001n + 99_999_999n);
    expect(fullState(engine, { derived: false, sameBook: true })).toEqual(fullState(twin, { derived: false, sameBook: true }));
    expectAgreesWithReference(engine);
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
