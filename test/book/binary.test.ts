// The binary book (docs/book-binary.md): round trips through the engine, in memory and through
// files (the streaming loader and writers, at several chunk sizes), a property round trip on
// random valid books, one test per malformed input (each naming the field and where, and each
// failing the same way from a file), truncated files, files that are not there, and a
// 200,000-account book whose write and load times are printed (never asserted).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BOOK_BINARY_HEADER_BYTES,
  BOOK_BINARY_SECTIONS,
  crc32,
  crc32Portable,
  decodeBookBinary,
  encodeBookBinary,
  encodeBookModel,
  isBookBinary,
  loadBookBinaryFile,
  readBookBinaryLayout,
  writeBookBinaryFile,
  writeBookColumnsFile,
  type BookBinarySectionName,
  type BookColumns,
  viewColumns,
} from '../../src/book/binary.js';
import { AccountIds } from '../../src/book/account-ids.js';
import { BookError } from '../../src/book/errors.js';
import { quotePerUnit, type Account, type Book, type Instrument, type Position, type Tier } from '../../src/book/model.js';
import {
  bracketOf,
  checkPosition,
  instrumentFastRules,
  instrumentRules,
  positionPlainlyValid,
} from '../../src/book/ranges.js';
import { Engine } from '../../src/engine/engine.js';
import { FUNDING_INDEX_ABS_MAX, PRICE_UNITS_MAX, QUOTE_ABS_MAX } from '../../src/fixed/constants.js';
import { thrown } from '../support/errors.js';

// ---------------------------------------------------------------------------------------------
// Books

function btc(): Instrument {
  return {
    symbol: 'BTC-PERP',
    priceDecimals: 1,
    sizeDecimals: 3,
    tickUnits: 1n,
    lotUnits: 1n,
    markUnits: 500_000n, // 50,000
    fundingIndex: 0n,
    tiers: [
      { upToNotional: 50_000_000_000n, ratePpm: 4_000n, leverageMax: 125 },
      { upToNotional: 250_000_000_000n, ratePpm: 5_000n, leverageMax: 100 },
      { upToNotional: null, ratePpm: 10_000n, leverageMax: 50 },
    ],
  };
}

function eth(): Instrument {
  return {
    symbol: 'ETH-PERP',
    priceDecimals: 2,
    sizeDecimals: 2,
    tickUnits: 5n, // 0.05
    lotUnits: 5n, // 0.05 ETH
    markUnits: 300_000n, // 3,000
    fundingIndex: 1_500_000_000n,
    tiers: [{ upToNotional: null, ratePpm: 5_000n, leverageMax: 20 }],
  };
}

function position(instrument: number, sizeUnits: bigint, costMicro: bigint, mode: 'cross' | 'isolated', extra: Partial<Position> = {}): Position {
  return { instrument, sizeUnits, costMicro, mode, marginMicro: 0n, leverage: 10, fundingIndex: instrument === 1 ? 1_500_000_000n : 0n, ...extra };
}

/** alice: isolated BTC long, cross ETH short; bob: cross BTC long, flat isolated ETH; carol: none. */
function sampleBook(): Book {
  return {
    instruments: [btc(), eth()],
    accounts: [
      {
        id: 'alice',
        balanceMicro: 1_800_000_000n,
        positions: [
          position(0, 40n, 2_000_000_000n, 'isolated', { marginMicro: 200_000_000n }),
          position(1, -100n, -3_100_000_000n, 'cross', { leverage: 5, fundingIndex: 1_400_000_000n }),
        ],
      },
      {
        id: 'bob',
        balanceMicro: -5_000_000n,
        positions: [
          position(0, 1_000n, 49_000_000_000n, 'cross', { leverage: 125 }),
          position(1, 0n, 0n, 'isolated', { marginMicro: 0n, leverage: 1 }),
        ],
      },
      { id: 'carol', balanceMicro: 0n, positions: [] },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Byte surgery

function layoutOf(bytes: Uint8Array) {
  return readBookBinaryLayout(bytes);
}

function sectionOffset(bytes: Uint8Array, name: BookBinarySectionName): number {
  return layoutOf(bytes).sections[name].offset;
}

/** Recomputes the trailing CRC32 so a test reaches the value check it targets. */
function reseal(bytes: Uint8Array): Uint8Array {
  const end = bytes.length - 4;
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(end, crc32(bytes.subarray(0, end)), true);
  return bytes;
}

/** A copy of `bytes` changed by `edit` (given a DataView of the copy), checksum recomputed. */
function patched(bytes: Uint8Array, edit: (data: DataView, copy: Uint8Array) => void): Uint8Array {
  const copy = bytes.slice();
  edit(new DataView(copy.buffer), copy);
  return reseal(copy);
}

function setI64(bytes: Uint8Array, section: BookBinarySectionName, index: number, value: bigint): Uint8Array {
  return patched(bytes, (data) => data.setBigInt64(sectionOffset(bytes, section) + index * 8, value, true));
}

function setU8(bytes: Uint8Array, section: BookBinarySectionName, index: number, value: number): Uint8Array {
  return patched(bytes, (data) => data.setUint8(sectionOffset(bytes, section) + index, value));
}

function setU16(bytes: Uint8Array, section: BookBinarySectionName, index: number, value: number): Uint8Array {
  return patched(bytes, (data) => data.setUint16(sectionOffset(bytes, section) + index * 2, value, true));
}

function setU32(bytes: Uint8Array, section: BookBinarySectionName, index: number, value: number): Uint8Array {
  return patched(bytes, (data) => data.setUint32(sectionOffset(bytes, section) + index * 4, value, true));
}

/** The file rebuilt with another instruments section (UTF-8 bytes), everything else kept. */
function withInstrumentsSection(bytes: Uint8Array, payload: Uint8Array): Uint8Array {
  const layout = layoutOf(bytes);
  const section = layout.sections.instruments;
  const restStart = Math.ceil((section.offset + section.length) / 8) * 8;
  const padded = Math.ceil(payload.length / 8) * 8;
  const out = new Uint8Array(BOOK_BINARY_HEADER_BYTES + 8 + padded + (bytes.length - restStart));
  out.set(bytes.subarray(0, BOOK_BINARY_HEADER_BYTES), 0);
  new DataView(out.buffer).setBigUint64(BOOK_BINARY_HEADER_BYTES, BigInt(payload.length), true);
  out.set(payload, BOOK_BINARY_HEADER_BYTES + 8);
  out.set(bytes.subarray(restStart), BOOK_BINARY_HEADER_BYTES + 8 + padded);
  return reseal(out);
}

/** The file with its instruments JSON changed by `edit`. */
function withInstrumentsJson(bytes: Uint8Array, edit: (instruments: any[]) => void): Uint8Array {
  const section = layoutOf(bytes).sections.instruments;
  const instruments = JSON.parse(Buffer.from(bytes.subarray(section.offset, section.offset + section.length)).toString('utf8'));
  edit(instruments);
  return withInstrumentsSection(bytes, Buffer.from(JSON.stringify(instruments), 'utf8'));
}

// ---------------------------------------------------------------------------------------------
// Files

const directory = mkdtempSync(join(tmpdir(), 'liq-binary-test-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
let fileCount = 0;

/** A fresh path in the test's temporary directory. */
function tempPath(name = 'book'): string {
  return join(directory, `${name}-${fileCount++}.bin`);
}

/** `bytes` written to a fresh temporary file; returns its path. */
function tempFile(bytes: Uint8Array): string {
  const path = tempPath();
  writeFileSync(path, bytes);
  return path;
}

/** Chunk sizes for the file loader: the default, and small ones so that sections span many chunks. */
const FILE_CHUNKS = [undefined, 7, 64] as const;


/**
 * The error decodeBookBinary throws for `bytes`, after checking that loadBookBinaryFile throws the
 * same one for a file holding them, at every chunk size of FILE_CHUNKS.
 */
function decodeError(bytes: Uint8Array): BookError {
  const error = thrown(() => decodeBookBinary(bytes));
  const path = tempFile(bytes);
  for (const chunkBytes of FILE_CHUNKS) {
    const fromFile = thrown(() => loadBookBinaryFile(path, { chunkBytes }));
    expect(fromFile.message).toBe(error.message);
  }
  rmSync(path);
  return error;
}

/**
 * decodeBookBinary(bytes), after checking that loadBookBinaryFile gives the same book (and size
 * high-water marks) from a file holding them, at every chunk size of FILE_CHUNKS.
 */
function decodeBoth(bytes: Uint8Array): Engine {
  const engine = decodeBookBinary(bytes);
  const path = tempFile(bytes);
  const book = engine.toBook();
  for (const chunkBytes of FILE_CHUNKS) {
    const fromFile = loadBookBinaryFile(path, { chunkBytes });
    expect(fromFile.toBook()).toEqual(book);
    expect(fromFile.sizeHighWater).toEqual(engine.sizeHighWater);
    expect(fromFile.positionsUsed).toBe(engine.positionsUsed);
    expect(Array.from(fromFile.views.accPosStart.subarray(0, fromFile.accountCount))).toEqual(
      Array.from(engine.views.accPosStart.subarray(0, engine.accountCount)),
    );
  }
  rmSync(path);
  return engine;
}

function encodeError(book: Book): BookError {
  try {
    encodeBookModel(book);
  } catch (error) {
    expect(error).toBeInstanceOf(BookError);
    return error as BookError;
  }
  throw new Error('the invalid book encoded');
}

/** The columns of an engine whose blocks lie in account order from slot 0 (a freshly loaded one). */
function columnsOf(engine: Engine): BookColumns {
  const v = engine.views;
  const A = engine.accountCount;
  let P = 0;
  for (let a = 0; a < A; a++) {
    if (v.accPosStart[a] !== P) throw new Error(`columnsOf: account ${a}'s block is not in order`);
    P += v.accPosCount[a];
  }
  const instruments = engine.instruments.map((instrument, i) => ({ ...instrument, markUnits: v.instMark[i], fundingIndex: v.instFunding[i] }));
  return viewColumns(instruments, engine.accountIds, v, A, P);
}

// ---------------------------------------------------------------------------------------------
// Engine comparison

function expectSameEvaluation(expected: Engine, actual: Engine): void {
  expect(actual.evaluate()).toBe(expected.evaluate());
  for (let a = 0; a < expected.accountCount; a++) expect(actual.accountResult(a)).toEqual(expected.accountResult(a));
}

/** The result columns of two engines, byte for byte (for big books, where per-account objects are slow). */
function expectSameResultColumns(expected: Engine, actual: Engine): void {
  const A = expected.accountCount;
  const P = expected.positionsUsed;
  expect(actual.positionsUsed).toBe(P);
  const e = expected.views;
  const g = actual.views;
  for (const name of ['accCrossEquity', 'accCrossMaint', 'accStatus'] as const) {
    expect(Buffer.compare(bytesOf(g[name].subarray(0, A)), bytesOf(e[name].subarray(0, A)))).toBe(0);
  }
  for (const name of ['posPnl', 'posMaint', 'posStatus'] as const) {
    expect(Buffer.compare(bytesOf(g[name].subarray(0, P)), bytesOf(e[name].subarray(0, P)))).toBe(0);
  }
}

function bytesOf(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

// ---------------------------------------------------------------------------------------------
// Round trips

describe('binary book round trip', () => {
  it('Book → binary → Engine → toBook gives the Book back, and re-encodes to the same bytes', () => {
    const book = sampleBook();
    const bytes = encodeBookModel(book);
    expect(isBookBinary(bytes)).toBe(true);
    const engine = decodeBoth(bytes);
    expect(engine.toBook()).toEqual(book);
    expect(engine.accountIds.toArray()).toEqual(['alice', 'bob', 'carol']);
    expect(engine.positionsUsed).toBe(4);
    expect(engine.sizeHighWater).toEqual([1_000n, 100n]);
    expect(Buffer.compare(Buffer.from(encodeBookBinary(engine)), Buffer.from(bytes))).toBe(0);
  });

  it('evaluates exactly as Engine.fromBook on the same book', () => {
    const book = sampleBook();
    expectSameEvaluation(Engine.fromBook(book), decodeBoth(encodeBookModel(book)));
  });

  it('round-trips an empty book and a book with accounts but no positions', () => {
    const empty: Book = { instruments: [], accounts: [] };
    expect(decodeBoth(encodeBookModel(empty)).toBook()).toEqual(empty);
    const flat: Book = { instruments: [btc()], accounts: [{ id: 'x', balanceMicro: 5n, positions: [] }] };
    expect(decodeBoth(encodeBookModel(flat)).toBook()).toEqual(flat);
  });

  it('decodes an input that is not 8-byte aligned and leaves the input untouched', () => {
    const bytes = encodeBookModel(sampleBook());
    const holder = new Uint8Array(bytes.length + 3);
    holder.set(bytes, 3);
    const misaligned = holder.subarray(3);
    expect(misaligned.byteOffset % 8).toBe(3);
    expect(decodeBookBinary(misaligned).toBook()).toEqual(sampleBook());
    expect(Buffer.compare(Buffer.from(misaligned), Buffer.from(bytes))).toBe(0);
  });

  it('encodes the engine as it stands: current marks and funding, positions compacted in account order', () => {
    const engine = decodeBookBinary(encodeBookModel(sampleBook()));
    const v = engine.views;
    v.instMark[0] = 490_000n;
    v.instFunding[1] = 1_600_000_000n;
    // Give alice (whose block is not at the arena's tail) a third position: her block moves to the end.
    const slot = engine.appendPositionSlot(0);
    expect(v.accPosStart[0]).not.toBe(0);
    engine.writePosition(slot, position(0, -10n, -5_000_000_000n, 'cross', { leverage: 20 }));
    const expected = engine.toBook();
    const bytes = encodeBookBinary(engine);
    const reloaded = decodeBoth(bytes);
    expect(reloaded.toBook()).toEqual(expected);
    expect(reloaded.toBook().instruments[0].markUnits).toBe(490_000n);
    expect(reloaded.toBook().instruments[1].fundingIndex).toBe(1_600_000_000n);
    expect(Array.from(reloaded.views.accPosStart.subarray(0, 3))).toEqual([0, 3, 5]);
    expect(Buffer.compare(Buffer.from(encodeBookModel(expected)), Buffer.from(bytes))).toBe(0);
    expectSameEvaluation(Engine.fromBook(expected), reloaded);
  });

  it('a snapshot taken after a mark move carried a position past its bracket max leverage loads again', () => {
    const engine = decodeBookBinary(encodeBookModel(sampleBook()));
    // bob's 1 BTC at 51,000 is a notional of 51,000 quote: tiers[1], max leverage 100, below his 125.
    engine.views.instMark[0] = 510_000n;
    const reloaded = decodeBoth(encodeBookBinary(engine));
    expect(reloaded.toBook()).toEqual(engine.toBook());
    expect(reloaded.toBook().accounts[1].positions[0].leverage).toBe(125);
  });

  it('isBookBinary tells a binary book from JSON and from short input', () => {
    expect(isBookBinary(new TextEncoder().encode('{"instruments": []}'))).toBe(false);
    expect(isBookBinary(new Uint8Array([0x4c, 0x49, 0x51]))).toBe(false);
    expect(isBookBinary(encodeBookModel({ instruments: [], accounts: [] }))).toBe(true);
  });

  it('its CRC32 is the zlib CRC-32 on every length around the 8-byte stride', () => {
    const data = new Uint8Array(1000).map((_, i) => (i * 151 + 7) & 0xff);
    for (const length of [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 999, 1000]) {
      expect(crc32(data.subarray(0, length))).toBe(zlibCrc32(data.subarray(0, length)));
    }
    expect(crc32(data.subarray(500), crc32(data.subarray(0, 500)))).toBe(zlibCrc32(data));
  });
});

// ---------------------------------------------------------------------------------------------
// Property: random valid books

const U64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

const tiersArb: fc.Arbitrary<Tier[]> = fc
  .tuple(
    fc.integer({ min: 1, max: 4 }),
    fc.uniqueArray(fc.bigInt({ min: 1n, max: QUOTE_ABS_MAX }), { minLength: 3, maxLength: 3 }),
    fc.array(fc.integer({ min: 1, max: 999_999 }), { minLength: 4, maxLength: 4 }),
    fc.array(fc.integer({ min: 1, max: 1_000 }), { minLength: 4, maxLength: 4 }),
  )
  .map(([count, ups, rates, leverages]) => {
    const bounds = [...ups].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    const sortedRates = [...rates].sort((x, y) => x - y);
    return Array.from({ length: count }, (_, k) => ({
      upToNotional: k === count - 1 ? null : bounds[k],
      ratePpm: BigInt(sortedRates[k]),
      leverageMax: leverages[k],
    }));
  });

const instrumentArb = (symbol: string): fc.Arbitrary<Instrument> =>
  fc
    .tuple(
      fc.integer({ min: 0, max: 6 }),
      fc.integer({ min: 0, max: 6 }),
      fc.oneof(fc.constant(1n), fc.bigInt({ min: 1n, max: 1_000n })),
      fc.oneof(fc.constant(1n), fc.bigInt({ min: 1n, max: 1_000n })),
      fc.oneof(fc.bigInt({ min: 1n, max: 10_000_000n }), fc.bigInt({ min: 1n, max: PRICE_UNITS_MAX })),
      fc.oneof(fc.constant(0n), fc.bigInt({ min: -FUNDING_INDEX_ABS_MAX, max: FUNDING_INDEX_ABS_MAX })),
      tiersArb,
    )
    .map(([pd, sdSeed, tickUnits, lotUnits, markUnits, fundingIndex, tiers]) => ({
      symbol,
      priceDecimals: pd,
      sizeDecimals: sdSeed % (7 - pd),
      tickUnits,
      lotUnits,
      markUnits,
      fundingIndex,
      tiers,
    }));

interface PositionSeed {
  instrument: number;
  isolated: boolean;
  short: boolean;
  lots: bigint;
  cost: bigint;
  margin: bigint;
  leverage: bigint;
  funding: bigint | null;
}

const positionSeedArb: fc.Arbitrary<PositionSeed> = fc.record({
  instrument: fc.nat(),
  isolated: fc.boolean(),
  short: fc.boolean(),
  lots: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 1_000n }), U64),
  cost: U64,
  margin: U64,
  leverage: U64,
  funding: fc.option(U64),
});

/** A valid position for the seed on this instrument: every value folded into its allowed range. */
function positionFromSeed(seed: PositionSeed, index: number, instrument: Instrument): Position {
  const q = quotePerUnit(instrument);
  const lotsMax = QUOTE_ABS_MAX / (instrument.lotUnits * q * instrument.markUnits);
  const lots = seed.lots % (lotsMax + 1n);
  const sizeUnits = (seed.short ? -lots : lots) * instrument.lotUnits;
  const sizeQ = lots * instrument.lotUnits * q;
  let costMicro = 0n;
  if (sizeUnits !== 0n) {
    const costMax = QUOTE_ABS_MAX < sizeQ * PRICE_UNITS_MAX ? QUOTE_ABS_MAX : sizeQ * PRICE_UNITS_MAX;
    costMicro = (1n + (seed.cost % costMax)) * (seed.short ? -1n : 1n);
  }
  const notional = sizeQ * instrument.markUnits;
  const bracketMax = BigInt(instrument.tiers[bracketOf(instrument.tiers, notional)].leverageMax);
  let fundingIndex = instrument.fundingIndex;
  if (seed.funding !== null) {
    const deltaMax = sizeQ === 0n ? 2n * FUNDING_INDEX_ABS_MAX : (QUOTE_ABS_MAX * 1_000_000n) / sizeQ;
    const low = -deltaMax > instrument.fundingIndex - FUNDING_INDEX_ABS_MAX ? -deltaMax : instrument.fundingIndex - FUNDING_INDEX_ABS_MAX;
    const high = deltaMax < instrument.fundingIndex + FUNDING_INDEX_ABS_MAX ? deltaMax : instrument.fundingIndex + FUNDING_INDEX_ABS_MAX;
    fundingIndex = instrument.fundingIndex - (low + (seed.funding % (high - low + 1n)));
  }
  return {
    instrument: index,
    sizeUnits,
    costMicro,
    mode: seed.isolated ? 'isolated' : 'cross',
    marginMicro: seed.isolated ? seed.margin % (QUOTE_ABS_MAX + 1n) : 0n,
    leverage: Number(1n + (seed.leverage % bracketMax)),
    fundingIndex,
  };
}

const bookArb: fc.Arbitrary<Book> = fc
  .tuple(
    fc.integer({ min: 1, max: 4 }).chain((count) => fc.tuple(...Array.from({ length: count }, (_, i) => instrumentArb(`SYM-${i}`)))),
    fc.array(
      fc.record({
        suffix: fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
        balance: fc.bigInt({ min: -QUOTE_ABS_MAX, max: QUOTE_ABS_MAX }),
        positions: fc.array(positionSeedArb, { maxLength: 6 }),
      }),
      { maxLength: 12 },
    ),
  )
  .map(([instruments, accountSeeds]) => ({
    instruments,
    accounts: accountSeeds.map((seed, a): Account => {
      const taken = new Set<string>();
      const positions: Position[] = [];
      for (const positionSeed of seed.positions) {
        const index = positionSeed.instrument % instruments.length;
        const key = `${index}:${positionSeed.isolated}`;
        if (taken.has(key)) continue;
        taken.add(key);
        positions.push(positionFromSeed(positionSeed, index, instruments[index]));
      }
      return { id: `${a}#${seed.suffix}`, balanceMicro: seed.balance, positions };
    }),
  }));

describe('binary book property', () => {
  it('every random valid book round-trips and evaluates as Engine.fromBook does', () => {
    fc.assert(
      fc.property(bookArb, fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100 }), (book, writeChunk, readChunk) => {
        const bytes = encodeBookModel(book);
        const engine = decodeBookBinary(bytes);
        expect(engine.toBook()).toEqual(book);
        expect(Buffer.compare(Buffer.from(encodeBookBinary(engine)), Buffer.from(bytes))).toBe(0);
        expectSameEvaluation(Engine.fromBook(book), engine);
        // Through files: both writers give the same bytes, and the file loader the same book.
        const fromEngine = tempPath();
        writeBookBinaryFile(fromEngine, engine, { chunkBytes: writeChunk });
        expect(Buffer.compare(readFileSync(fromEngine), Buffer.from(bytes))).toBe(0);
        const fromColumns = tempPath();
        writeBookColumnsFile(fromColumns, columnsOf(engine), { chunkBytes: writeChunk });
        expect(Buffer.compare(readFileSync(fromColumns), Buffer.from(bytes))).toBe(0);
        const loaded = loadBookBinaryFile(fromColumns, { chunkBytes: readChunk });
        expect(loaded.toBook()).toEqual(book);
        expect(loaded.sizeHighWater).toEqual(engine.sizeHighWater);
        rmSync(fromEngine);
        rmSync(fromColumns);
      }),
      { numRuns: 150 },
    );
  });
});

describe('the double-precision filter in front of checkPosition', () => {
  /** Integers around every boundary the rules have, and anywhere in the i64 range. */
  const edgy = (): fc.Arbitrary<bigint> =>
    fc.oneof(
      fc.bigInt({ min: -1_000n, max: 1_000n }),
      ...[2n ** 53n, 9n * 10n ** 15n, 10n ** 15n, QUOTE_ABS_MAX, FUNDING_INDEX_ABS_MAX].map((edge) =>
        fc.tuple(fc.bigInt({ min: -3n, max: 3n }), fc.boolean()).map(([d, negative]) => (negative ? -(edge + d) : edge + d)),
      ),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    );
  const asDouble = (value: bigint): number =>
    value >= -(2n ** 53n) + 1n && value <= 2n ** 53n - 1n ? Number(value) : Number.NaN;

  /**
   * A position on `instrument`: each value usually in range, often right at one of its boundaries
   * (notional, entry price, funding owed, bracket bound, leverage max, 2^53), sometimes anywhere.
   */
  const rawPositionArb = (instrument: Instrument) => {
    const q = quotePerUnit(instrument);
    const lotsMax = QUOTE_ABS_MAX / (instrument.lotUnits * q * instrument.markUnits); // notional boundary
    const near = (value: bigint) => fc.bigInt({ min: -2n, max: 2n }).map((d) => value + d);
    const weighted = <T,>(...arbitraries: Array<[number, fc.Arbitrary<T>]>) =>
      fc.oneof(...arbitraries.map(([weight, arbitrary]) => ({ weight, arbitrary })));
    // bracket bounds as lot counts: notionals right at a tier's upToNotional
    const boundLots = instrument.tiers
      .filter((tier) => tier.upToNotional !== null)
      .map((tier) => near((tier.upToNotional as bigint) / (instrument.lotUnits * q * instrument.markUnits)));
    return fc
      .record({
        lots: weighted<bigint>(
          [4, fc.bigInt({ min: -lotsMax, max: lotsMax })],
          [3, fc.bigInt({ min: -3n, max: 3n })],
          [2, near(lotsMax)],
          [2, near(-lotsMax)],
          ...boundLots.map((arbitrary): [number, fc.Arbitrary<bigint>] => [2, arbitrary]),
          [1, edgy()],
        ),
        off: weighted<bigint>([8, fc.constant(0n)], [1, fc.bigInt({ min: -2n, max: 2n })], [1, edgy()]),
        costKind: fc.integer({ min: 0, max: 3 }),
        costRaw: fc.bigInt({ min: 0n, max: 2n ** 64n }),
        costOff: weighted<bigint>([4, fc.constant(0n)], [2, fc.bigInt({ min: -2n, max: 2n })], [1, edgy()]),
        mode: weighted<number>([5, fc.constant(0)], [5, fc.constant(1)], [1, fc.integer({ min: 0, max: 255 })]),
        marginKind: fc.integer({ min: 0, max: 3 }),
        marginRaw: edgy(),
        leverage: weighted<number>(
          [2, fc.integer({ min: 0, max: 1_100 })],
          ...instrument.tiers.map((t): [number, fc.Arbitrary<number>] => [2, fc.integer({ min: t.leverageMax - 1, max: t.leverageMax + 1 })]),
          [4, fc.constant(1)],
        ),
        fundingKind: fc.integer({ min: 0, max: 3 }),
        fundingRaw: edgy(),
      })
      .map((raw) => {
        const sizeUnits = raw.lots * instrument.lotUnits + raw.off;
        const sign = sizeUnits < 0n ? -1n : 1n;
        const sizeQ = sign * sizeUnits * q;
        let costMicro = raw.costOff;
        if (sizeQ > 0n) {
          const scaleMax = QUOTE_ABS_MAX / sizeQ < PRICE_UNITS_MAX ? QUOTE_ABS_MAX / sizeQ : PRICE_UNITS_MAX;
          if (raw.costKind === 0) costMicro += sign * (1n + (raw.costRaw % (sizeQ * (scaleMax > 0n ? scaleMax : 1n)))); // in range
          if (raw.costKind === 1) costMicro += sign * sizeQ * PRICE_UNITS_MAX; // the entry-price boundary
          if (raw.costKind === 2) costMicro += sign * QUOTE_ABS_MAX; // the cost boundary
          if (raw.costKind === 3) costMicro += -sign * (1n + (raw.costRaw % QUOTE_ABS_MAX)); // wrong sign
        }
        let marginMicro = raw.marginRaw;
        if (raw.marginKind <= 1) marginMicro = raw.mode === 1 ? raw.marginRaw & (2n ** 53n - 1n) : 0n;
        // funding delta: none, around the owed boundary 10^22 / sizeQ, or anywhere
        let delta = 0n;
        if (raw.fundingKind === 2) delta = raw.fundingRaw;
        if (raw.fundingKind === 3 && sizeQ > 0n) delta = ((10n ** 22n) / sizeQ) * (raw.fundingRaw < 0n ? -1n : 1n) + (raw.fundingRaw % 3n);
        return {
          sizeUnits,
          costMicro,
          mode: raw.mode,
          marginMicro,
          leverage: raw.leverage,
          fundingIndex: instrument.fundingIndex - delta,
        };
      });
  };

  it('accepts only positions that checkPosition accepts', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(
        instrumentArb('X').chain((instrument) => fc.tuple(fc.constant(instrument), rawPositionArb(instrument))),
        ([instrument, position]) => {
          const plain = positionPlainlyValid(
            instrumentFastRules(instrument),
            asDouble(position.sizeUnits),
            asDouble(position.costMicro),
            position.mode,
            asDouble(position.marginMicro),
            position.leverage,
            asDouble(position.fundingIndex),
          );
          const issue = checkPosition(instrumentRules(instrument), position);
          if (issue !== null) refused++;
          if (!plain) return;
          accepted++;
          expect(issue).toBeNull();
        },
      ),
      { numRuns: 30_000 },
    );
    console.log(`double filter: ${accepted} accepted outright, ${refused} refused by checkPosition, of 30000`);
    expect(accepted).toBeGreaterThan(200);
  });

  it('accepts the ordinary positions of the sample book outright', () => {
    const book = sampleBook();
    for (const account of book.accounts) {
      for (const p of account.positions) {
        const rules = instrumentFastRules(book.instruments[p.instrument]);
        const mode = p.mode === 'cross' ? 0 : 1;
        expect(positionPlainlyValid(rules, Number(p.sizeUnits), Number(p.costMicro), mode, Number(p.marginMicro), p.leverage, Number(p.fundingIndex))).toBe(true);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Malformed input: structure

describe('binary book structural errors', () => {
  const good = encodeBookModel(sampleBook());

  it('bad magic', () => {
    const bytes = good.slice();
    bytes[0] = 0x7b; // "{"
    expect(decodeError(bytes).message).toMatch(/^header magic: the file does not start with "LIQBOOK\\0"/);
  });

  it('fewer bytes than the magic', () => {
    expect(decodeError(good.subarray(0, 5)).message).toMatch(/^header magic: the file has 5 bytes/);
  });

  it('truncated inside the header', () => {
    expect(decodeError(good.subarray(0, 20)).message).toMatch(/^header: truncated: the file has 20 bytes/);
  });

  it('truncated before a section length', () => {
    const cut = sectionOffset(good, 'accBalance') - 4;
    expect(decodeError(good.subarray(0, cut)).message).toMatch(/^section accBalance: truncated/);
  });

  it('truncated inside a position column', () => {
    const cut = sectionOffset(good, 'posCost') + 12;
    expect(decodeError(good.subarray(0, cut)).message).toMatch(/^section posCost: truncated: the section's 32 bytes run from byte \d+ to \d+, but the file ends/);
  });

  it('truncated inside the instruments JSON', () => {
    expect(decodeError(good.subarray(0, 100)).message).toMatch(/^section instruments: truncated/);
  });

  it('truncated checksum', () => {
    expect(decodeError(good.subarray(0, good.length - 2)).message).toMatch(/^checksum: truncated/);
  });

  it('bytes after the checksum', () => {
    const longer = new Uint8Array(good.length + 8);
    longer.set(good);
    expect(decodeError(longer).message).toMatch(/^book: 8 unexpected bytes after the checksum/);
  });

  it('version 3', () => {
    const bytes = patched(good, (data) => data.setUint32(8, 3, true));
    expect(decodeError(bytes).message).toBe('header version: version 3 is not supported; this loader reads versions 1 and 2');
  });

  it('non-zero flags', () => {
    expect(decodeError(patched(good, (data) => data.setUint32(12, 1, true))).message).toMatch(/^header flags: must be 0/);
  });

  it('bad checksum', () => {
    const bytes = good.slice();
    bytes[sectionOffset(good, 'posCost') + 3] ^= 0x40;
    expect(decodeError(bytes).message).toMatch(/^checksum: bad checksum: the file stores CRC32 0x[0-9a-f]{8} but bytes 0 to \d+ give 0x[0-9a-f]{8}/);
  });

  it('section length that does not match the counts', () => {
    const bytes = patched(good, (data) => data.setBigUint64(sectionOffset(good, 'posMode') - 8, 5n, true));
    expect(decodeError(bytes).message).toMatch(/^section posMode: length mismatch: the section has 5 bytes; the header's counts require 4 \(1 × positionCount 4\)/);
  });

  it('header positionCount changed (count mismatch with the sections)', () => {
    const bytes = patched(good, (data) => data.setBigUint64(24, 5n, true));
    expect(decodeError(bytes).message).toMatch(/^section posSize: length mismatch: the section has 32 bytes; the header's counts require 40/);
  });

  it("accounts' position counts that exceed the header's positionCount", () => {
    const bytes = setU32(good, 'accPosCount', 1, 3);
    expect(decodeError(bytes).message).toBe(
      "accounts[1] (bob) positions: count mismatch: with this account's 3 positions the accounts hold 5, more than the header's positionCount 4",
    );
  });

  it("accounts' position counts that fall short of the header's positionCount", () => {
    const bytes = setU32(good, 'accPosCount', 1, 1);
    expect(decodeError(bytes).message).toMatch(/^header positionCount: count mismatch: is 4, but the accounts' position counts .* add up to 3/);
  });

  it('instrumentCount that disagrees with the instruments section', () => {
    const bytes = patched(good, (data) => data.setUint32(16, 3, true));
    expect(decodeError(bytes).message).toBe("section instruments: holds 2 instruments; the header's instrumentCount is 3");
  });

  it('instrumentCount over the limit', () => {
    const bytes = patched(good, (data) => data.setUint32(16, 70_000, true));
    expect(decodeError(bytes).message).toMatch(/^header instrumentCount: 70000 instruments; at most 65535/);
  });

  it('positionCount over 128 per account', () => {
    const bytes = patched(good, (data) => data.setBigUint64(24, 385n, true));
    expect(decodeError(bytes).message).toBe('header positionCount: 385 positions for 3 accounts is above 128 per account');
  });

  it('non-zero padding', () => {
    const layout = layoutOf(good);
    const end = layout.sections.posMode.offset + layout.sections.posMode.length; // 4 bytes, then 4 of padding
    expect(decodeError(setU8(good, 'posMode', end - layout.sections.posMode.offset + 1, 9)).message).toMatch(
      /^section posMode padding: byte \d+ must be 0, got 0x9/,
    );
  });

  it('instruments section that is not UTF-8', () => {
    const bytes = withInstrumentsSection(good, new Uint8Array([0x5b, 0xff, 0x5d]));
    expect(decodeError(bytes).message).toBe('section instruments: is not valid UTF-8');
  });

  it('instruments section that is not JSON', () => {
    const bytes = withInstrumentsSection(good, Buffer.from('[{"symbol": }]'));
    expect(decodeError(bytes).message).toMatch(/^section instruments: is not valid JSON/);
  });

  it('instrument with an unknown key or a number where a decimal string belongs', () => {
    const extra = withInstrumentsJson(good, (list) => (list[0].leverage = 3));
    expect(decodeError(extra).message).toMatch(/^instruments\[0\] \(BTC-PERP\) "leverage": unknown key/);
    const numeric = withInstrumentsJson(good, (list) => (list[1].markUnits = 300000));
    expect(decodeError(numeric).message).toMatch(/^instruments\[1\] \(ETH-PERP\) markUnits: must be an integer as a decimal string/);
  });
});

// ---------------------------------------------------------------------------------------------
// Malformed input: ids

describe('binary book account id errors', () => {
  const book: Book = {
    instruments: [btc()],
    accounts: [
      { id: 'acct-1', balanceMicro: 0n, positions: [] },
      { id: 'acct-2', balanceMicro: 0n, positions: [] },
      { id: 'acct-3', balanceMicro: 0n, positions: [] },
    ],
  };
  const good = encodeBookModel(book);

  it('duplicate id', () => {
    const bytes = setU8(good, 'accountIds', 11, 0x31); // acct-2 → acct-1
    expect(decodeError(bytes).message).toBe('accounts[1] (acct-1) id: duplicate account id "acct-1"; accounts[0] has it');
  });

  it('duplicate id, refused by the writer too (encodeBookModel checks the ids once, with the rest)', () => {
    const twice: Book = { ...book, accounts: book.accounts.map((account, a) => (a === 2 ? { ...account, id: 'acct-1' } : account)) };
    expect(encodeError(twice).message).toBe('accounts[2] (acct-1) id: duplicate account id "acct-1"; accounts[0] has it');
  });

  it('non-ASCII id byte (not printable ASCII, so not accepted as UTF-8 either)', () => {
    const bytes = setU8(good, 'accountIds', 14, 0xc3);
    expect(decodeError(bytes).message).toMatch(/^accounts\[2\] id: byte 2 is 0xc3: ids must be printable ASCII/);
  });

  it('control character in an id', () => {
    expect(decodeError(setU8(good, 'accountIds', 0, 0x0a)).message).toMatch(/^accounts\[0\] id: byte 0 is 0x0a/);
  });

  it('empty id (offsets equal)', () => {
    const bytes = setU32(good, 'accountIdOffsets', 1, 0);
    expect(decodeError(bytes).message).toBe('accounts[0] id: must not be empty');
  });

  it('offsets that decrease or overrun the id bytes', () => {
    const overrun = setU32(good, 'accountIdOffsets', 2, 40);
    expect(decodeError(overrun).message).toMatch(/^section accountIdOffsets: offsets\[2\] = 40 runs past the end/);
    const last = setU32(good, 'accountIdOffsets', 3, 17);
    expect(decodeError(last).message).toMatch(/^section accountIdOffsets: offsets\[3\] \(the end of the last id\) must be 18/);
  });

  it('id over the length limit (encoder refuses it too)', () => {
    const long = 'x'.repeat(65);
    expect(encodeError({ instruments: [], accounts: [{ id: long, balanceMicro: 0n, positions: [] }] }).message).toBe(
      'accounts[0] id: is 65 characters long; at most 64',
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Malformed input: values (checksum recomputed so the value rule fires)

describe('binary book value errors', () => {
  const good = encodeBookModel(sampleBook());
  // Position records in file order: 0 alice BTC isolated, 1 alice ETH cross, 2 bob BTC cross, 3 bob ETH isolated.

  it('balance over range', () => {
    const bytes = setI64(good, 'accBalance', 1, -QUOTE_ABS_MAX - 1n);
    expect(decodeError(bytes).message).toBe(
      'accounts[1] (bob) balanceMicro: -10000000000000001 micro is beyond ±10000000000000000 micro (±10^10 quote)',
    );
  });

  it('cost over range', () => {
    const bytes = setI64(good, 'posCost', 2, QUOTE_ABS_MAX + 1n);
    expect(decodeError(bytes).message).toMatch(/^accounts\[1\] \(bob\) positions\[0\] \(BTC-PERP\) costMicro: 10000000000000001 micro is beyond/);
  });

  it('cost of the wrong sign', () => {
    const bytes = setI64(good, 'posCost', 1, 3_100_000_000n);
    expect(decodeError(bytes).message).toMatch(/^accounts\[0\] \(alice\) positions\[1\] \(ETH-PERP\) costMicro: 3100000000 must be non-zero with the sign of the size -100/);
  });

  it('size not on the lot', () => {
    const bytes = setI64(good, 'posSize', 1, -101n); // ETH lot is 5 units
    expect(decodeError(bytes).message).toBe(
      'accounts[0] (alice) positions[1] (ETH-PERP) sizeUnits: -101 is not a whole number of lots of 5 size units',
    );
  });

  it('notional over range', () => {
    const bytes = setI64(good, 'posSize', 2, 100_000_000_000n); // 10^11 × 100 × 500,000 = 5·10^18 micro
    expect(decodeError(bytes).message).toMatch(/^accounts\[1\] \(bob\) positions\[0\] \(BTC-PERP\) sizeUnits: notional at the mark, .* is above 10000000000000000/);
  });

  it('margin on a cross position', () => {
    const bytes = setI64(good, 'posMargin', 2, 1n);
    expect(decodeError(bytes).message).toBe(
      'accounts[1] (bob) positions[0] (BTC-PERP) marginMicro: a cross position has no margin (must be 0), got 1',
    );
  });

  it('negative isolated margin', () => {
    const bytes = setI64(good, 'posMargin', 0, -1n);
    expect(decodeError(bytes).message).toMatch(/^accounts\[0\] \(alice\) positions\[0\] \(BTC-PERP\) marginMicro: an isolated margin must be from 0 to/);
  });

  it('isolated margin over range', () => {
    const bytes = setI64(good, 'posMargin', 3, QUOTE_ABS_MAX + 1n);
    expect(decodeError(bytes).message).toMatch(/^accounts\[1\] \(bob\) positions\[1\] \(ETH-PERP\) marginMicro:/);
  });

  it("leverage over the instrument's largest max", () => {
    const bytes = setU16(good, 'posLeverage', 2, 126);
    expect(decodeError(bytes).message).toBe(
      "accounts[1] (bob) positions[0] (BTC-PERP) leverage: must be a whole number from 1 to 125, the instrument's largest maxLeverage; got 126",
    );
  });

  it("a leverage above its bracket's max (reached by a mark move) loads", () => {
    // bob's 1.001 BTC is 50,050 quote: tiers[1] (max 100); his 125 is within the instrument's cap.
    const bytes = setI64(setI64(good, 'posSize', 2, 1_001n), 'posCost', 2, 49_049_000_000n);
    expect(decodeBoth(bytes).toBook().accounts[1].positions[0].leverage).toBe(125);
  });

  it('leverage 0', () => {
    const bytes = setU16(good, 'posLeverage', 3, 0);
    expect(decodeError(bytes).message).toMatch(/^accounts\[1\] \(bob\) positions\[1\] \(ETH-PERP\) leverage: must be a whole number from 1 to 20, the instrument's largest/);
  });

  it('instrument index out of range', () => {
    const bytes = setU16(good, 'posInst', 1, 2);
    expect(decodeError(bytes).message).toBe(
      'accounts[0] (alice) positions[1] instrument: index 2 is out of range: the book has 2 instruments (0 to 1)',
    );
  });

  it('duplicate (instrument, mode) in one account', () => {
    // alice's ETH cross position becomes a second isolated BTC position (its values are valid for BTC).
    const bytes = setU8(setU16(good, 'posInst', 1, 0), 'posMode', 1, 1);
    const message =
      'accounts[0] (alice) positions[1] (BTC-PERP) mode: a second isolated position in BTC-PERP; positions[0] is one ' +
      '(at most one per instrument and mode)';
    expect(decodeError(bytes).message).toBe(message);
    const book = sampleBook();
    book.accounts[0].positions[1] = position(0, -100n, -3_100_000_000n, 'isolated', { leverage: 5, fundingIndex: 1_400_000_000n });
    expect(encodeError(book).message).toBe(message);
  });

  it('bad mode byte', () => {
    const bytes = setU8(good, 'posMode', 2, 2);
    expect(decodeError(bytes).message).toBe('accounts[1] (bob) positions[0] (BTC-PERP) mode: must be 0 (cross) or 1 (isolated), got 2');
  });

  it('funding index beyond ±10^18', () => {
    const bytes = setI64(good, 'posFunding', 2, FUNDING_INDEX_ABS_MAX + 1n);
    expect(decodeError(bytes).message).toMatch(/^accounts\[1\] \(bob\) positions\[0\] \(BTC-PERP\) fundingIndex: 1000000000000000001 is beyond/);
  });

  it('funding owed over range', () => {
    // bob: 1,000 units × q 100 × ΔF 10^17 / 10^6 = 10^16 micro is allowed; ΔF 10^17 + 10^4 is not.
    expect(() => decodeBoth(setI64(good, 'posFunding', 2, -100_000_000_000_000_000n))).not.toThrow();
    const bytes = setI64(good, 'posFunding', 2, -100_000_000_000_010_000n);
    expect(decodeError(bytes).message).toMatch(/^accounts\[1\] \(bob\) positions\[0\] \(BTC-PERP\) fundingIndex: funding owed, .* = 10000000000001000 micro, is beyond/);
  });

  it('too many positions in one account', () => {
    // 65 instruments: account 0 holds 128 positions (64 instruments × 2 modes), account 1 one. Moving
    // one count from account 1 to account 0 keeps the total and gives account 0 129 positions.
    const instruments = Array.from({ length: 65 }, (_, i) => ({ ...btc(), symbol: `I${i}` }));
    const many: Position[] = [];
    for (let i = 0; i < 64; i++) {
      many.push(position(i, 1n, 50_000_000n, 'cross'));
      many.push(position(i, 1n, 50_000_000n, 'isolated'));
    }
    const book: Book = {
      instruments,
      accounts: [
        { id: 'whale', balanceMicro: 0n, positions: many },
        { id: 'minnow', balanceMicro: 0n, positions: [position(64, 1n, 50_000_000n, 'cross')] },
      ],
    };
    const bytes = encodeBookModel(book);
    const over = setU32(setU32(bytes, 'accPosCount', 0, 129), 'accPosCount', 1, 0);
    expect(decodeError(over).message).toBe('accounts[0] (whale) positions: has 129 positions; at most 128 are allowed');
    book.accounts[0].positions.push(position(64, 1n, 50_000_000n, 'isolated'));
    expect(encodeError(book).message).toBe('accounts[0] (whale) positions: has 129 positions; at most 128 are allowed');
  });

  it('maintenance rate at 100%', () => {
    const bytes = withInstrumentsJson(good, (list) => (list[0].tiers[2].ratePpm = '1000000'));
    expect(decodeError(bytes).message).toBe(
      'instruments[0] (BTC-PERP) tiers[2] ratePpm: must be above 0 and below 1000000 ppm (100%), got 1000000',
    );
  });

  it('maintenance rates that fall', () => {
    const bytes = withInstrumentsJson(good, (list) => (list[0].tiers[1].ratePpm = '3000'));
    expect(decodeError(bytes).message).toMatch(/^instruments\[0\] \(BTC-PERP\) tiers\[1\] ratePpm: must not be below the previous tier's rate 4000 ppm/);
  });

  it('tier bounds that do not increase, and a bounded last tier', () => {
    const flat = withInstrumentsJson(good, (list) => (list[0].tiers[1].upToNotional = '50000000000'));
    expect(decodeError(flat).message).toMatch(/^instruments\[0\] \(BTC-PERP\) tiers\[1\] upToNotional: must be above the previous tier's upToNotional/);
    const bounded = withInstrumentsJson(good, (list) => (list[1].tiers[0].upToNotional = '1000'));
    expect(decodeError(bounded).message).toMatch(/^instruments\[1\] \(ETH-PERP\) tiers\[0\] upToNotional: the last tier must be unbounded/);
  });

  it('price and size decimals above 12, and a zero mark', () => {
    const decimals = withInstrumentsJson(good, (list) => (list[0].sizeDecimals = 12));
    expect(decodeError(decimals).message).toBe(
      'instruments[0] (BTC-PERP) sizeDecimals: must be a whole number from 0 with priceDecimals + sizeDecimals at most 12, got 12 with priceDecimals 1',
    );
    const mark = withInstrumentsJson(good, (list) => (list[1].markUnits = '0'));
    expect(decodeError(mark).message).toBe('instruments[1] (ETH-PERP) markUnits: must be above 0, got 0 price units');
  });

  it('duplicate symbol', () => {
    const bytes = withInstrumentsJson(good, (list) => (list[1].symbol = 'BTC-PERP'));
    expect(decodeError(bytes).message).toBe('instruments[1] (BTC-PERP) symbol: duplicate symbol "BTC-PERP"; instruments[0] has it');
  });

  it('the encoder refuses what the decoder refuses, with the same message', () => {
    const book = sampleBook();
    book.accounts[1].positions[0].leverage = 126;
    const message = encodeError(book).message;
    expect(message).toMatch(/^accounts\[1\] \(bob\) positions\[0\] \(BTC-PERP\) leverage: must be a whole number from 1 to 125/);
    expect(decodeError(setU16(good, 'posLeverage', 2, 126)).message).toBe(message);
  });

  it('a failed decode leaves its input as it was', () => {
    const bytes = setI64(good, 'posCost', 2, QUOTE_ABS_MAX + 1n);
    const before = bytes.slice();
    decodeError(bytes);
    expect(Buffer.compare(Buffer.from(bytes), Buffer.from(before))).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Files: the streaming loader and writers

/** A book of `accounts` accounts with two positions each (BTC cross, ETH isolated), ids `prefix` + index. */
function wideBook(accounts: number, prefix = 'acct-'): Book {
  return {
    instruments: [btc(), eth()],
    accounts: Array.from({ length: accounts }, (_, a) => ({
      id: `${prefix}${a}`,
      balanceMicro: BigInt(a * 1_000_003 - 7_000_000),
      positions: [
        position(0, BigInt(1 + (a % 50)) * (a % 2 === 0 ? 1n : -1n), BigInt(1 + (a % 50)) * (a % 2 === 0 ? 1n : -1n) * 50_000_000n, 'cross', {
          leverage: 1 + (a % 125),
        }),
        position(1, BigInt(5 * (1 + (a % 9))), BigInt(5 * (1 + (a % 9))) * 3_000_000n, 'isolated', { marginMicro: BigInt(a) * 10n, leverage: 1 + (a % 20) }),
      ],
    })),
  };
}

describe('binary book files', () => {
  it('writeBookColumnsFile and writeBookBinaryFile write the bytes encodeBookBinary gives, and they load to the same book', () => {
    const book = wideBook(300);
    const bytes = encodeBookModel(book);
    const engine = decodeBookBinary(bytes);
    expect(Buffer.compare(Buffer.from(encodeBookBinary(engine)), Buffer.from(bytes))).toBe(0);
    for (const chunkBytes of [undefined, 1, 5, 8, 4096]) {
      const fromColumns = tempPath();
      writeBookColumnsFile(fromColumns, columnsOf(engine), { chunkBytes });
      expect(Buffer.compare(readFileSync(fromColumns), Buffer.from(bytes))).toBe(0);
      const fromEngine = tempPath();
      writeBookBinaryFile(fromEngine, engine, { chunkBytes });
      expect(Buffer.compare(readFileSync(fromEngine), Buffer.from(bytes))).toBe(0);
      const loaded = loadBookBinaryFile(fromEngine, { chunkBytes });
      expect(loaded.toBook()).toEqual(book);
      expect(loaded.sizeHighWater).toEqual([50n, 45n]);
      expectSameEvaluation(engine, loaded);
    }
  });

  it('writeBookColumnsFile takes columns built by hand (ids from strings)', () => {
    const book = sampleBook();
    const columns: BookColumns = {
      instruments: book.instruments,
      accountIds: AccountIds.fromStrings(['alice', 'bob', 'carol']),
      accBalance: BigInt64Array.of(1_800_000_000n, -5_000_000n, 0n),
      accPosCount: Uint32Array.of(2, 2, 0),
      positionCount: 4,
      posSize: BigInt64Array.of(40n, -100n, 1_000n, 0n),
      posCost: BigInt64Array.of(2_000_000_000n, -3_100_000_000n, 49_000_000_000n, 0n),
      posMargin: BigInt64Array.of(200_000_000n, 0n, 0n, 0n),
      posFunding: BigInt64Array.of(0n, 1_400_000_000n, 0n, 1_500_000_000n),
      posInst: Uint16Array.of(0, 1, 0, 1),
      posMode: Uint8Array.of(1, 0, 0, 1),
      posLeverage: Uint16Array.of(10, 5, 125, 1),
    };
    const path = tempPath();
    writeBookColumnsFile(path, columns);
    expect(Buffer.compare(readFileSync(path), Buffer.from(encodeBookModel(book)))).toBe(0);
    expect(loadBookBinaryFile(path).toBook()).toEqual(book);
  });

  it('writeBookBinaryFile writes an engine whose blocks moved and left gaps, in account order', () => {
    const engine = decodeBookBinary(encodeBookModel(wideBook(40)));
    const v = engine.views;
    // Account 3's block moves to the arena's tail; account 7 loses a position (its block keeps a gap).
    engine.writePosition(engine.appendPositionSlot(3), position(0, -10n, -5_000_000_000n, 'isolated', { leverage: 20, marginMicro: 1n }));
    engine.removePositionSlot(7, v.accPosStart[7]);
    const expected = engine.toBook();
    const bytes = encodeBookBinary(engine);
    expect(Buffer.compare(Buffer.from(encodeBookModel(expected)), Buffer.from(bytes))).toBe(0);
    const path = tempPath();
    writeBookBinaryFile(path, engine, { chunkBytes: 3 });
    expect(Buffer.compare(readFileSync(path), Buffer.from(bytes))).toBe(0);
    const loaded = loadBookBinaryFile(path);
    expect(loaded.toBook()).toEqual(expected);
    expect(loaded.sizeHighWater).toEqual([40n, 45n]);
  });

  it('the writers refuse an invalid book with the loader\'s message and write nothing, not even over an existing file', () => {
    const engine = decodeBookBinary(encodeBookModel(sampleBook()));
    engine.views.posLeverage[2] = 126;
    const message =
      "accounts[1] (bob) positions[0] (BTC-PERP) leverage: must be a whole number from 1 to 125, the instrument's largest maxLeverage; got 126";
    const path = tempPath();
    expect(thrown(() => writeBookColumnsFile(path, columnsOf(engine))).message).toBe(message);
    expect(existsSync(path)).toBe(false);
    writeFileSync(path, 'keep me');
    expect(thrown(() => writeBookBinaryFile(path, engine)).message).toBe(message);
    expect(readFileSync(path, 'utf8')).toBe('keep me');
    expect(thrown(() => encodeBookBinary(engine)).message).toBe(message);
  });

  it('writeBookColumnsFile refuses columns of the wrong type or length', () => {
    const engine = decodeBookBinary(encodeBookModel(sampleBook()));
    const columns = columnsOf(engine);
    const path = tempPath();
    expect(thrown(() => writeBookColumnsFile(path, { ...columns, posMode: new Uint8Array(3) })).message).toBe(
      'columns posMode: must be a Uint8Array of 4 elements (positionCount), got a Uint8Array of 3',
    );
    expect(thrown(() => writeBookColumnsFile(path, { ...columns, accBalance: new Float64Array(3) as unknown as BigInt64Array })).message).toBe(
      'columns accBalance: must be a BigInt64Array of 3 elements (one per account id), got a Float64Array of 3',
    );
    expect(thrown(() => writeBookColumnsFile(path, { ...columns, positionCount: 5 })).message).toMatch(/^columns posSize: must be a BigInt64Array of 5 elements/);
    expect(existsSync(path)).toBe(false);
  });

  it('the writers refuse ids the loader would refuse, and duplicate ids found in any hash bucket', () => {
    const columns = columnsOf(decodeBookBinary(encodeBookModel(sampleBook())));
    const bad = AccountIds.fromBlob(Uint32Array.of(0, 5, 8, 13), new TextEncoder().encode('alicebo\ncarol'));
    expect(thrown(() => writeBookColumnsFile(tempPath(), { ...columns, accountIds: bad })).message).toMatch(
      /^accounts\[1\] id: byte 2 is 0x0a: ids must be printable ASCII/,
    );
    const short = AccountIds.fromBlob(Uint32Array.of(0, 5, 8, 13), new TextEncoder().encode('alicebob'));
    expect(thrown(() => writeBookColumnsFile(tempPath(), { ...columns, accountIds: short })).message).toMatch(
      /^section accountIdOffsets: offsets\[3\] \(the end of the last id\) must be 8/,
    );
    // 70,000 ids: more than one bucket of the duplicate check. Two repeats; the first in account order is reported.
    const ids = Array.from({ length: 70_000 }, (_, a) => `u${String(a).padStart(5, '0')}`);
    ids[69_000] = ids[5];
    ids[50_000] = ids[40_000];
    const empty: BookColumns = {
      instruments: [],
      accountIds: AccountIds.fromStrings(ids),
      accBalance: new BigInt64Array(ids.length),
      accPosCount: new Uint32Array(ids.length),
      positionCount: 0,
      posSize: new BigInt64Array(0),
      posCost: new BigInt64Array(0),
      posMargin: new BigInt64Array(0),
      posFunding: new BigInt64Array(0),
      posInst: new Uint16Array(0),
      posMode: new Uint8Array(0),
      posLeverage: new Uint16Array(0),
    };
    expect(thrown(() => writeBookColumnsFile(tempPath(), empty)).message).toBe('accounts[50000] (u40000) id: duplicate account id "u40000"; accounts[40000] has it');
  });

  it('a duplicate id deep in a large book fails the load, from memory and from a file', () => {
    const book = wideBook(70_000, 'id-');
    book.accounts = book.accounts.map((account, a) => ({ ...account, id: `id-${String(a).padStart(5, '0')}` }));
    const good = encodeBookModel(book);
    const start = sectionOffset(good, 'accountIds');
    // accounts[60000] "id-60000" → "id-10000"
    const bytes = patched(good, (_, copy) => copy.set(new TextEncoder().encode('id-10000'), start + 60_000 * 8));
    expect(decodeError(bytes).message).toBe('accounts[60000] (id-10000) id: duplicate account id "id-10000"; accounts[10000] has it');
  });

  it('a corrupt file is reported as corrupt even when its instruments or ids are also wrong', () => {
    const good = encodeBookModel(sampleBook());
    const corrupt = (bytes: Uint8Array): Uint8Array => {
      const copy = bytes.slice();
      copy[sectionOffset(copy, 'posCost') + 3] ^= 0x40; // after resealing: the checksum no longer matches
      return copy;
    };
    const badInstrument = withInstrumentsJson(good, (list) => (list[1].symbol = 'BTC-PERP'));
    expect(decodeError(badInstrument).message).toMatch(/^instruments\[1\] \(BTC-PERP\) symbol: duplicate symbol/);
    expect(decodeError(corrupt(badInstrument)).message).toMatch(/^checksum: bad checksum/);
    const badId = setU8(good, 'accountIds', 0, 0x0a);
    expect(decodeError(badId).message).toMatch(/^accounts\[0\] id: byte 0 is 0x0a/);
    expect(decodeError(corrupt(badId)).message).toMatch(/^checksum: bad checksum/);
  });

  it('a file cut at any byte fails as the same bytes in memory do', () => {
    const good = encodeBookModel(sampleBook());
    const path = tempPath();
    const messages = new Set<string>();
    for (let cut = 0; cut < good.length; cut++) {
      const bytes = good.subarray(0, cut);
      const expected = thrown(() => decodeBookBinary(bytes)).message;
      writeFileSync(path, bytes);
      for (const chunkBytes of [undefined, 3]) expect(thrown(() => loadBookBinaryFile(path, { chunkBytes })).message).toBe(expected);
      expect(expected).toMatch(/^(header magic|header|section \w+|checksum): .*(truncated|fewer than)/);
      messages.add(expected.replace(/\d+/g, 'N'));
    }
    // Cuts in the magic, the header, each of the 12 sections (length, payload, padding) and the checksum.
    for (const spec of BOOK_BINARY_SECTIONS) expect([...messages].some((m) => m.startsWith(`section ${spec.name}: truncated`))).toBe(true);
    expect(messages.has('checksum: truncated: the file ends at byte N, before the N-byte CRCN at byte N')).toBe(true);
  });

  it('a missing file, a directory and a non-book file are refused with a BookError naming the path', () => {
    const missing = join(directory, 'no-such-book.bin');
    const error = thrown(() => loadBookBinaryFile(missing));
    expect(error.path).toBe(missing);
    expect(error.message).toBe(`${missing}: cannot open: ENOENT: no such file or directory`);
    const asDirectory = thrown(() => loadBookBinaryFile(directory));
    expect(asDirectory.path).toBe(directory);
    expect(asDirectory.message).toBe(`${directory}: is a directory, not a binary book file`);
    const json = tempFile(new TextEncoder().encode('{"instruments": [], "accounts": []}'));
    expect(thrown(() => loadBookBinaryFile(json)).message).toMatch(/^header magic: the file does not start with "LIQBOOK\\0"/);
    const engine = decodeBookBinary(encodeBookModel(sampleBook()));
    expect(thrown(() => writeBookBinaryFile(directory, engine)).message).toBe(`${directory}: is a directory`);
    expect(thrown(() => writeBookBinaryFile(join(missing, 'book.bin'), engine)).message).toMatch(
      new RegExp(`^${missing}/book.bin: cannot open for writing: ENOENT`),
    );
  });

  it('sections that span many chunks load the same at every chunk size', () => {
    const bytes = encodeBookModel(wideBook(1_000));
    const expected = decodeBookBinary(bytes).toBook();
    const path = tempFile(bytes);
    for (const chunkBytes of [1, 2, 3, 7, 8, 9, 4095, 4096, 4097, bytes.length - 1, bytes.length, bytes.length + 1]) {
      expect(loadBookBinaryFile(path, { chunkBytes }).toBook()).toEqual(expected);
    }
    // A flipped bit in the last column is caught by the CRC carried across all the chunks.
    const corrupt = bytes.slice();
    corrupt[sectionOffset(bytes, 'posLeverage') + 1_001] ^= 0x01;
    writeFileSync(path, corrupt);
    for (const chunkBytes of [1, 7, 4096]) expect(thrown(() => loadBookBinaryFile(path, { chunkBytes })).message).toMatch(/^checksum: bad checksum/);
    expect(() => loadBookBinaryFile(path, { chunkBytes: 0 })).toThrow(RangeError);
  });
});

describe('the whole-lots test of the double filter', () => {
  it('never accepts a size that is not a whole number of lots, up to 2^53', () => {
    const sizes: bigint[] = [];
    for (const base of [0n, 2n ** 31n, 2n ** 50n, 2n ** 51n, 2n ** 52n, 2n ** 53n - 64n]) {
      for (let d = -40n; d <= 40n; d++) if (base + d >= 0n && base + d < 2n ** 53n) sizes.push(base + d);
    }
    for (const lot of [1n, 2n, 3n, 5n, 7n, 10n, 1_000n, 999_983n, 1_000_000n, 4_294_967_311n, 10n ** 15n]) {
      const instrument: Instrument = {
        ...btc(),
        priceDecimals: 3,
        sizeDecimals: 3, // q = 1
        lotUnits: lot,
        markUnits: 1n,
        tiers: [{ upToNotional: null, ratePpm: 5_000n, leverageMax: 10 }],
      };
      const rules = instrumentFastRules(instrument);
      for (const magnitude of [...sizes, ...sizes.map((size) => (size / lot) * lot)]) {
        for (const size of [magnitude, -magnitude]) {
          const cost = size === 0n ? 0n : size > 0n ? 1n : -1n; // the smallest cost of the size's sign: always in range
          const plain = positionPlainlyValid(rules, Number(size), Number(cost), 0, 0, 1, 0);
          if (plain) expect(size % lot).toBe(0n);
          // Below 2^50 lots the test is exact: every multiple whose notional (|size|, as q = mark = 1) is plainly in range passes.
          if (size % lot === 0n && magnitude <= 9n * 10n ** 15n && magnitude / lot < 2n ** 50n) expect(plain).toBe(true);
        }
      }
    }
  });

  it('crc32 (zlib when Node has it) and the portable CRC agree', () => {
    const data = new Uint8Array(5000).map((_, i) => (i * 31 + 11) & 0xff);
    for (const length of [0, 1, 7, 8, 9, 4999, 5000]) {
      expect(crc32Portable(data.subarray(0, length))).toBe(zlibCrc32(data.subarray(0, length)));
      expect(crc32(data.subarray(0, length))).toBe(zlibCrc32(data.subarray(0, length)));
    }
    expect(crc32Portable(data.subarray(1234), crc32Portable(data.subarray(0, 1234)))).toBe(zlibCrc32(data));
  });
});

// ---------------------------------------------------------------------------------------------
// A large book

describe('binary book at scale', () => {
  it('round-trips a 200,000-account book, in memory and through files (timings printed, not asserted)', () => {
    const instruments: Instrument[] = [btc(), eth(), { ...btc(), symbol: 'SOL-PERP', priceDecimals: 3, sizeDecimals: 1, markUnits: 150_000n }];
    const accounts: Account[] = [];
    for (let a = 0; a < 200_000; a++) {
      const lots = BigInt((a % 97) + 1);
      const positions: Position[] = [
        {
          instrument: 0,
          sizeUnits: a % 2 === 0 ? lots : -lots,
          costMicro: (a % 2 === 0 ? 1n : -1n) * lots * 100n * BigInt(490_000 + (a % 20_000)),
          mode: 'cross',
          marginMicro: 0n,
          leverage: 1 + (a % 50),
          fundingIndex: 0n,
        },
      ];
      if (a % 3 !== 0) {
        positions.push({
          instrument: 1 + (a % 2),
          sizeUnits: lots * 5n,
          costMicro: lots * 5n * BigInt(2_900 + (a % 200)) * (a % 2 === 0 ? 100n : 1_000n),
          mode: 'isolated',
          marginMicro: BigInt(a) * 1_000n,
          leverage: 1 + (a % 20),
          fundingIndex: a % 2 === 0 ? 1_500_000_000n - BigInt(a) : 0n,
        });
      }
      accounts.push({ id: `acct-${a.toString(36)}`, balanceMicro: BigInt(a - 100_000) * 1_000_000n, positions });
    }
    const book: Book = { instruments, accounts };
    const positions = accounts.reduce((sum, account) => sum + account.positions.length, 0);

    let started = performance.now();
    const bytes = encodeBookModel(book);
    const encodeModelMs = performance.now() - started;

    started = performance.now();
    const engine = decodeBookBinary(bytes);
    const decodeMs = performance.now() - started;

    started = performance.now();
    decodeBookBinary(bytes);
    const decodeWarmMs = performance.now() - started;

    started = performance.now();
    const again = encodeBookBinary(engine);
    const encodeEngineMs = performance.now() - started;

    const path = tempPath('scale');
    started = performance.now();
    writeBookBinaryFile(path, engine);
    const writeEngineMs = performance.now() - started;

    const columnsPath = tempPath('scale-columns');
    started = performance.now();
    writeBookColumnsFile(columnsPath, columnsOf(engine));
    const writeColumnsMs = performance.now() - started;

    started = performance.now();
    const loaded = loadBookBinaryFile(path);
    const loadMs = performance.now() - started;

    started = performance.now();
    const reference = Engine.fromBook(book);
    const fromBookMs = performance.now() - started;

    console.log(
      `binary book, ${accounts.length} accounts, ${positions} positions, ${(bytes.length / 1e6).toFixed(1)} MB: ` +
        `encodeBookModel ${encodeModelMs.toFixed(0)} ms, decodeBookBinary ${decodeMs.toFixed(0)} ms (again: ${decodeWarmMs.toFixed(0)} ms), ` +
        `encodeBookBinary ${encodeEngineMs.toFixed(0)} ms; writeBookBinaryFile ${writeEngineMs.toFixed(0)} ms, ` +
        `writeBookColumnsFile ${writeColumnsMs.toFixed(0)} ms, loadBookBinaryFile ${loadMs.toFixed(0)} ms ` +
        `(Engine.fromBook ${fromBookMs.toFixed(0)} ms)`,
    );

    expect(Buffer.compare(Buffer.from(again), Buffer.from(bytes))).toBe(0);
    expect(Buffer.compare(readFileSync(path), Buffer.from(bytes))).toBe(0);
    expect(Buffer.compare(readFileSync(columnsPath), Buffer.from(bytes))).toBe(0);
    expect(loaded.sizeHighWater).toEqual(engine.sizeHighWater);
    rmSync(path);
    rmSync(columnsPath);
    expect(engine.accountCount).toBe(200_000);
    expect(engine.positionsUsed).toBe(positions);
    expect(engine.toBook()).toEqual(book);
    engine.evaluate();
    reference.evaluate();
    loaded.evaluate();
    expectSameResultColumns(reference, engine);
    expectSameResultColumns(reference, loaded);
  });
});
