// The binary book (docs/book-binary.md): a versioned, checksummed file whose sections are the
// engine's own columns, so loading millions of accounts is a validation pass over typed arrays and
// one TypedArray.set per column, with no per-account JavaScript objects.
//
// Decoding validates everything before the engine is allocated (only the duplicate-id check runs
// on the freshly allocated engine, which is discarded on error): a failed decode throws one
// BookError naming what and where, and changes nothing. Encoding runs the same validation, so it
// never writes a file the decoder would refuse.
import { Buffer } from 'node:buffer';
import { endianness } from 'node:os';
import {
  ACCOUNT_ID_LENGTH_MAX,
  INSTRUMENTS_MAX,
  MODE_CROSS,
  MODE_ISOLATED,
  POSITIONS_PER_ACCOUNT_MAX,
  TIERS_MAX,
} from '../fixed/constants.js';
import { Engine, type EngineOptions } from '../engine/engine.js';
import { AccountIds } from './account-ids.js';
import {
  layoutBytes,
  POSITION_INPUT_COLUMNS,
  WASM_PAGE_BYTES,
  WASM_PAGES_MAX,
  type PositionInputColumn,
  type Views,
} from '../memory/layout.js';
import { BookError } from './errors.js';
import type { Book, Instrument, Tier } from './model.js';
import {
  checkAccountId,
  checkBalance,
  checkInstrument,
  checkPosition,
  checkPositionCount,
  instrumentFastRules,
  instrumentRules,
  positionPlainlyValid,
  type InstrumentFastRules,
  type InstrumentRules,
  type PositionInts,
} from './ranges.js';

/** The first 8 bytes of every binary book: "LIQBOOK" and a NUL. */
export const BOOK_BINARY_MAGIC = new Uint8Array([0x4c, 0x49, 0x51, 0x42, 0x4f, 0x4f, 0x4b, 0x00]);
/** The format version this module reads and writes. */
export const BOOK_BINARY_VERSION = 1;
/** Bytes of the fixed header: magic, version, flags, instrumentCount, accountCount, positionCount. */
export const BOOK_BINARY_HEADER_BYTES = 32;
/** Every section's length field and payload start on a multiple of this many bytes. */
export const BOOK_BINARY_ALIGN = 8;
/** The instruments section (UTF-8 JSON) may not exceed this many bytes. */
export const INSTRUMENTS_SECTION_BYTES_MAX = 256 * 1024 * 1024;

const CHECKSUM_BYTES = 4;
const WASM_MEMORY_BYTES_MAX = WASM_PAGES_MAX * WASM_PAGE_BYTES;

/** How a section's length follows from the header's counts. */
type SectionSize =
  | { kind: 'free' } // variable: the instruments JSON, the id bytes
  | { kind: 'accounts'; bytes: number; extra: number } // (accountCount + extra) × bytes
  | { kind: 'positions'; bytes: number }; // positionCount × bytes

/** The sections, in file order. Column sections carry the engine column's name. */
export const BOOK_BINARY_SECTIONS = [
  { name: 'instruments', size: { kind: 'free' } },
  { name: 'accountIdOffsets', size: { kind: 'accounts', bytes: 4, extra: 1 } },
  { name: 'accountIds', size: { kind: 'free' } },
  { name: 'accBalance', size: { kind: 'accounts', bytes: 8, extra: 0 } },
  { name: 'accPosCount', size: { kind: 'accounts', bytes: 4, extra: 0 } },
  { name: 'posSize', size: { kind: 'positions', bytes: 8 } },
  { name: 'posCost', size: { kind: 'positions', bytes: 8 } },
  { name: 'posMargin', size: { kind: 'positions', bytes: 8 } },
  { name: 'posFunding', size: { kind: 'positions', bytes: 8 } },
  { name: 'posInst', size: { kind: 'positions', bytes: 2 } },
  { name: 'posMode', size: { kind: 'positions', bytes: 1 } },
  { name: 'posLeverage', size: { kind: 'positions', bytes: 2 } },
] as const satisfies readonly { name: string; size: SectionSize }[];

export type BookBinarySectionName = (typeof BOOK_BINARY_SECTIONS)[number]['name'];

/** Where one section's payload lies in the file (offset of the payload, after its length field). */
export interface BookBinarySection {
  name: BookBinarySectionName;
  offset: number;
  length: number;
}

/** The structure of a binary book, as read from its header and section lengths. */
export interface BookBinaryLayout {
  version: number;
  flags: number;
  instrumentCount: number;
  accountCount: number;
  positionCount: number;
  sections: Record<BookBinarySectionName, BookBinarySection>;
  /** Offset of the trailing CRC32, which covers bytes [0, checksumOffset). */
  checksumOffset: number;
  byteLength: number;
}

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF: the
// zlib / PNG / gzip CRC), slicing-by-8. Table: 8 × 256 u32, built once at module load.

const CRC_TABLE = new Uint32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC_TABLE[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = CRC_TABLE[n];
  for (let t = 1; t < 8; t++) {
    c = CRC_TABLE[c & 0xff] ^ (c >>> 8);
    CRC_TABLE[t * 256 + n] = c;
  }
}

/** CRC-32 of `bytes`, continuing from `previous` (the CRC of the bytes before them; 0 to start). */
export function crc32(bytes: Uint8Array, previous = 0): number {
  const t = CRC_TABLE;
  let c = ~previous;
  let i = 0;
  const n = bytes.length;
  for (const end = n - 7; i < end; i += 8) {
    const a = (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24)) ^ c;
    const b = bytes[i + 4] | (bytes[i + 5] << 8) | (bytes[i + 6] << 16) | (bytes[i + 7] << 24);
    c =
      t[1792 + (a & 0xff)] ^
      t[1536 + ((a >>> 8) & 0xff)] ^
      t[1280 + ((a >>> 16) & 0xff)] ^
      t[1024 + (a >>> 24)] ^
      t[768 + (b & 0xff)] ^
      t[512 + ((b >>> 8) & 0xff)] ^
      t[256 + ((b >>> 16) & 0xff)] ^
      t[b >>> 24];
  }
  for (; i < n; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Reading

/** True when `bytes` starts with the binary book magic (the CLI tells JSON from binary by this). */
export function isBookBinary(bytes: Uint8Array): boolean {
  if (bytes.length < BOOK_BINARY_MAGIC.length) return false;
  for (let i = 0; i < BOOK_BINARY_MAGIC.length; i++) if (bytes[i] !== BOOK_BINARY_MAGIC[i]) return false;
  return true;
}

/**
 * Reads and checks the structure of a binary book: magic, version, flags, counts and their limits,
 * every section's length against the counts, zero padding, and that the file ends exactly after
 * the checksum. Does not verify the checksum or any value. Throws BookError.
 */
export function readBookBinaryLayout(bytes: Uint8Array): BookBinaryLayout {
  requireLittleEndianHost();
  const total = bytes.length;
  if (!isBookBinary(bytes)) {
    if (total < BOOK_BINARY_MAGIC.length) fail('header magic', `the file has ${total} bytes, fewer than the 8-byte magic "LIQBOOK\\0"`);
    fail('header magic', `the file does not start with "LIQBOOK\\0" (got ${hexBytes(bytes, 0, 8)}); it is not a binary book`);
  }
  if (total < BOOK_BINARY_HEADER_BYTES) {
    fail('header', `truncated: the file has ${total} bytes, fewer than the ${BOOK_BINARY_HEADER_BYTES}-byte header`);
  }
  const data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = data.getUint32(8, true);
  if (version !== BOOK_BINARY_VERSION) {
    fail('header version', `version ${version} is not supported; this loader reads version ${BOOK_BINARY_VERSION}`);
  }
  const flags = data.getUint32(12, true);
  if (flags !== 0) fail('header flags', `must be 0 in version ${BOOK_BINARY_VERSION}, got 0x${flags.toString(16)}`);
  const instrumentCount = data.getUint32(16, true);
  if (instrumentCount > INSTRUMENTS_MAX) {
    fail('header instrumentCount', `${instrumentCount} instruments; at most ${INSTRUMENTS_MAX} are allowed`);
  }
  const accountCount = data.getUint32(20, true);
  const positionCountBig = data.getBigUint64(24, true);
  const positionsMax = BigInt(accountCount) * BigInt(POSITIONS_PER_ACCOUNT_MAX);
  if (positionCountBig > positionsMax) {
    fail(
      'header positionCount',
      `${positionCountBig} positions for ${accountCount} accounts is above ${POSITIONS_PER_ACCOUNT_MAX} per account`,
    );
  }
  const positionCount = Number(positionCountBig);

  const sections = {} as Record<BookBinarySectionName, BookBinarySection>;
  let offset = BOOK_BINARY_HEADER_BYTES;
  for (const spec of BOOK_BINARY_SECTIONS) {
    const path = `section ${spec.name}`;
    if (offset + 8 > total) {
      fail(path, `truncated: the file ends at byte ${total}, before the section's 8-byte length at byte ${offset}`);
    }
    const lengthBig = data.getBigUint64(offset, true);
    const size: SectionSize = spec.size;
    let expected: number | null = null;
    if (size.kind === 'accounts') expected = (accountCount + size.extra) * size.bytes;
    else if (size.kind === 'positions') expected = positionCount * size.bytes;
    if (expected !== null && lengthBig !== BigInt(expected)) {
      fail(
        path,
        `length mismatch: the section has ${lengthBig} bytes; the header's counts require ${expected}` +
          countsText(spec.size, accountCount, positionCount),
      );
    }
    if (spec.name === 'instruments' && lengthBig > BigInt(INSTRUMENTS_SECTION_BYTES_MAX)) {
      fail(path, `has ${lengthBig} bytes; at most ${INSTRUMENTS_SECTION_BYTES_MAX} are allowed`);
    }
    if (lengthBig > BigInt(total)) {
      fail(path, `truncated: the section declares ${lengthBig} bytes at byte ${offset + 8}, but the file has ${total} bytes`);
    }
    const length = Number(lengthBig);
    const start = offset + 8;
    const end = start + length;
    if (end > total) {
      fail(path, `truncated: the section's ${length} bytes run from byte ${start} to ${end}, but the file ends at byte ${total}`);
    }
    const padded = alignUp(end, BOOK_BINARY_ALIGN);
    if (padded > total) fail(path, `truncated: the file ends at byte ${total}, inside the padding up to byte ${padded}`);
    for (let i = end; i < padded; i++) {
      if (bytes[i] !== 0) fail(`${path} padding`, `byte ${i} must be 0, got 0x${bytes[i].toString(16)}`);
    }
    sections[spec.name] = { name: spec.name, offset: start, length };
    offset = padded;
  }
  if (offset + CHECKSUM_BYTES > total) {
    fail('checksum', `truncated: the file ends at byte ${total}, before the 4-byte CRC32 at byte ${offset}`);
  }
  if (offset + CHECKSUM_BYTES < total) {
    fail('book', `${total - offset - CHECKSUM_BYTES} unexpected bytes after the checksum (the book ends at byte ${offset + CHECKSUM_BYTES})`);
  }
  return { version, flags, instrumentCount, accountCount, positionCount, sections, checksumOffset: offset, byteLength: total };
}

/**
 * Validates a binary book and loads it into a fresh engine. Throws BookError (and allocates
 * nothing that outlives the call) on any structural problem or value outside docs/numbers.md.
 */
export function decodeBookBinary(input: Uint8Array, options: EngineOptions = {}): Engine {
  const layout = readBookBinaryLayout(input);
  checkCapacity(layout.instrumentCount, layout.accountCount, layout.positionCount);
  const data = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const stored = data.getUint32(layout.checksumOffset, true);
  const computed = crc32(input.subarray(0, layout.checksumOffset));
  if (stored !== computed) {
    fail(
      'checksum',
      `bad checksum: the file stores CRC32 ${hex32(stored)} but bytes 0 to ${layout.checksumOffset} give ${hex32(computed)}; the file is corrupt`,
    );
  }

  // Column sections sit at multiples of 8 in the file; if the file does not, copy it once.
  const bytes = input.byteOffset % BOOK_BINARY_ALIGN === 0 ? input : input.slice();
  const buffer = bytes.buffer;
  const base = bytes.byteOffset;
  const s = layout.sections;
  const A = layout.accountCount;
  const P = layout.positionCount;

  const instruments = parseInstrumentsSection(bytes.subarray(s.instruments.offset, s.instruments.offset + s.instruments.length));
  if (instruments.length !== layout.instrumentCount) {
    fail('section instruments', `holds ${instruments.length} instruments; the header's instrumentCount is ${layout.instrumentCount}`);
  }
  checkInstruments(instruments);

  const offsets = new Uint32Array(buffer, base + s.accountIdOffsets.offset, A + 1);
  const accountIds = readAccountIds(offsets, bytes.subarray(s.accountIds.offset, s.accountIds.offset + s.accountIds.length));

  const columns: BookColumns = {
    instruments,
    accountIds,
    accBalance: new BigInt64Array(buffer, base + s.accBalance.offset, A),
    accPosCount: new Uint32Array(buffer, base + s.accPosCount.offset, A),
    positionCount: P,
    posSize: new BigInt64Array(buffer, base + s.posSize.offset, P),
    posCost: new BigInt64Array(buffer, base + s.posCost.offset, P),
    posMargin: new BigInt64Array(buffer, base + s.posMargin.offset, P),
    posFunding: new BigInt64Array(buffer, base + s.posFunding.offset, P),
    posInst: new Uint16Array(buffer, base + s.posInst.offset, P),
    posMode: new Uint8Array(buffer, base + s.posMode.offset, P),
    posLeverage: new Uint16Array(buffer, base + s.posLeverage.offset, P),
  };
  checkPositionTotal(columns);
  checkColumns(columns);

  let engine: Engine;
  try {
    engine = Engine.allocate(instruments, AccountIds.fromStrings(accountIds), P, options);
  } catch (error) {
    if (error instanceof RangeError) fail('book', `cannot be held in memory: ${error.message}`);
    throw error;
  }
  // A duplicate id drops the new engine with the error, so nothing has changed.
  if (engine.accountIds.firstDuplicate() >= 0) checkDuplicateIds(accountIds);

  const v = engine.views;
  v.accBalance.set(columns.accBalance);
  v.accPosCount.set(columns.accPosCount);
  const starts = v.accPosStart;
  const counts = columns.accPosCount;
  let start = 0;
  for (let a = 0; a < A; a++) {
    starts[a] = start;
    start += counts[a];
  }
  for (const name of POSITION_INPUT_COLUMNS) (v[name] as Uint8Array).set(columns[name] as Uint8Array);
  engine.positionsUsed = P;
  engine.refreshSizeHighWater();
  return engine;
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * The book currently in the engine (instruments at their current mark and funding index, accounts
 * in order, each account's positions contiguous in account order) as a binary book. Throws
 * BookError if the book no longer satisfies the load rules (the decoder would refuse the file).
 */
export function encodeBookBinary(engine: Engine): Uint8Array {
  requireLittleEndianHost();
  const v = engine.views;
  const instruments: Instrument[] = engine.instruments.map((instrument, i) => ({
    ...instrument,
    markUnits: v.instMark[i],
    fundingIndex: v.instFunding[i],
    tiers: instrument.tiers.map((tier) => ({ ...tier })),
  }));
  const A = engine.accountCount;
  const starts = v.accPosStart;
  const counts = v.accPosCount.subarray(0, A);
  let P = 0;
  let contiguous = true;
  for (let a = 0; a < A; a++) {
    if (starts[a] !== P) contiguous = false;
    P += counts[a];
  }
  const columns: BookColumns = {
    instruments,
    accountIds: engine.accountIds.toArray(),
    accBalance: v.accBalance.subarray(0, A),
    accPosCount: counts,
    positionCount: P,
    posSize: v.posSize.subarray(0, P),
    posCost: v.posCost.subarray(0, P),
    posMargin: v.posMargin.subarray(0, P),
    posFunding: v.posFunding.subarray(0, P),
    posInst: v.posInst.subarray(0, P),
    posMode: v.posMode.subarray(0, P),
    posLeverage: v.posLeverage.subarray(0, P),
  };
  if (!contiguous) compactPositions(columns, v.accPosStart, v);
  for (let a = 0; a < A; a++) {
    const reason = checkAccountId(columns.accountIds[a]);
    if (reason !== null) fail(`accounts[${a}] id`, reason);
  }
  if (engine.accountIds.firstDuplicate() >= 0) checkDuplicateIds(columns.accountIds);
  return writeColumns(columns);
}

/** A Book as a binary book. Throws BookError for a book the decoder would refuse. */
export function encodeBookModel(book: Book): Uint8Array {
  requireLittleEndianHost();
  const accounts = book.accounts;
  const A = accounts.length;
  const accountIds: string[] = new Array<string>(A);
  for (let a = 0; a < A; a++) {
    const id = accounts[a].id;
    const reason = typeof id === 'string' ? checkAccountId(id) : 'must be a string';
    if (reason !== null) fail(`accounts[${a}] id`, reason);
    accountIds[a] = id;
  }
  checkDuplicateIds(accountIds);
  let P = 0;
  for (let a = 0; a < A; a++) P += accounts[a].positions.length;
  const columns: BookColumns = {
    instruments: book.instruments,
    accountIds,
    accBalance: new BigInt64Array(A),
    accPosCount: new Uint32Array(A),
    positionCount: P,
    ...newPositionColumns(P),
  };
  // Copy into columns, refusing what a column cannot hold exactly (the value rules come after, on
  // the columns, exactly as the decoder runs them).
  let j = 0;
  for (let a = 0; a < A; a++) {
    const account = accounts[a];
    const path = `accounts[${a}] (${accountIds[a]})`;
    columns.accBalance[a] = int64(account.balanceMicro, `${path} balanceMicro`);
    const positions = account.positions;
    columns.accPosCount[a] = positions.length;
    for (let k = 0; k < positions.length; k++, j++) {
      const position = positions[k];
      const at = `${path} positions[${k}]`;
      columns.posInst[j] = uint16(position.instrument, `${at} instrument`);
      columns.posSize[j] = int64(position.sizeUnits, `${at} sizeUnits`);
      columns.posCost[j] = int64(position.costMicro, `${at} costMicro`);
      columns.posMargin[j] = int64(position.marginMicro, `${at} marginMicro`);
      columns.posFunding[j] = int64(position.fundingIndex, `${at} fundingIndex`);
      if (position.mode === 'cross') columns.posMode[j] = MODE_CROSS;
      else if (position.mode === 'isolated') columns.posMode[j] = MODE_ISOLATED;
      else fail(`${at} mode`, `must be "cross" or "isolated", got ${JSON.stringify(position.mode)}`);
      columns.posLeverage[j] = uint16(position.leverage, `${at} leverage`);
    }
  }
  return writeColumns(columns);
}

/** Validates the columns as the decoder does, then lays them out (docs/book-binary.md). */
function writeColumns(columns: BookColumns): Uint8Array {
  checkInstruments(columns.instruments);
  checkColumns(columns);
  const A = columns.accountIds.length;
  const P = columns.positionCount;

  const instrumentsJson = Buffer.from(instrumentsToJson(columns.instruments), 'utf8');
  const idText = columns.accountIds.join('');
  const payloadLengths: Record<BookBinarySectionName, number> = {
    instruments: instrumentsJson.length,
    accountIdOffsets: (A + 1) * 4,
    accountIds: idText.length, // printable ASCII: one byte per character
    accBalance: A * 8,
    accPosCount: A * 4,
    posSize: P * 8,
    posCost: P * 8,
    posMargin: P * 8,
    posFunding: P * 8,
    posInst: P * 2,
    posMode: P,
    posLeverage: P * 2,
  };
  let total = BOOK_BINARY_HEADER_BYTES;
  for (const spec of BOOK_BINARY_SECTIONS) total = alignUp(total + 8 + payloadLengths[spec.name], BOOK_BINARY_ALIGN);
  total += CHECKSUM_BYTES;

  const out = new Uint8Array(total); // zeroed: padding is 0
  const buffer = out.buffer;
  const data = new DataView(buffer);
  out.set(BOOK_BINARY_MAGIC, 0);
  data.setUint32(8, BOOK_BINARY_VERSION, true);
  data.setUint32(12, 0, true);
  data.setUint32(16, columns.instruments.length, true);
  data.setUint32(20, A, true);
  data.setBigUint64(24, BigInt(P), true);

  let offset = BOOK_BINARY_HEADER_BYTES;
  for (const spec of BOOK_BINARY_SECTIONS) {
    const length = payloadLengths[spec.name];
    data.setBigUint64(offset, BigInt(length), true);
    const at = offset + 8;
    switch (spec.name) {
      case 'instruments':
        out.set(instrumentsJson, at);
        break;
      case 'accountIdOffsets': {
        const offsets = new Uint32Array(buffer, at, A + 1);
        let position = 0;
        for (let a = 0; a < A; a++) {
          offsets[a] = position;
          position += columns.accountIds[a].length;
        }
        offsets[A] = position;
        break;
      }
      case 'accountIds':
        Buffer.from(buffer, at, length).write(idText, 0, length, 'latin1');
        break;
      case 'accBalance':
        new BigInt64Array(buffer, at, A).set(columns.accBalance);
        break;
      case 'accPosCount':
        new Uint32Array(buffer, at, A).set(columns.accPosCount);
        break;
      case 'posSize':
      case 'posCost':
      case 'posMargin':
      case 'posFunding':
        new BigInt64Array(buffer, at, P).set(columns[spec.name]);
        break;
      case 'posInst':
      case 'posLeverage':
        new Uint16Array(buffer, at, P).set(columns[spec.name]);
        break;
      case 'posMode':
        out.set(columns.posMode, at);
        break;
    }
    offset = alignUp(at + length, BOOK_BINARY_ALIGN);
  }
  data.setUint32(offset, crc32(out.subarray(0, offset)), true);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The book as columns, and its validation (shared by the decoder and both encoders)

interface BookColumns {
  instruments: Instrument[];
  accountIds: readonly string[];
  accBalance: BigInt64Array;
  accPosCount: Uint32Array;
  positionCount: number;
  posSize: BigInt64Array;
  posCost: BigInt64Array;
  posMargin: BigInt64Array;
  posFunding: BigInt64Array;
  posInst: Uint16Array;
  posMode: Uint8Array;
  posLeverage: Uint16Array;
}

/** Every instrument's rules, then unique symbols. Paths name the instrument by index and symbol. */
function checkInstruments(instruments: readonly Instrument[]): void {
  if (instruments.length > INSTRUMENTS_MAX) fail('instruments', `has ${instruments.length} instruments; at most ${INSTRUMENTS_MAX}`);
  const seen = new Map<string, number>();
  for (let i = 0; i < instruments.length; i++) {
    const instrument = instruments[i];
    const issue = checkInstrument(instrument);
    const label = issue?.field === 'symbol' ? '' : ` (${instrument.symbol})`;
    if (issue !== null) fail(`instruments[${i}]${label} ${issue.field}`, issue.reason);
    const earlier = seen.get(instrument.symbol);
    if (earlier !== undefined) {
      fail(`instruments[${i}] (${instrument.symbol}) symbol`, `duplicate symbol "${instrument.symbol}"; instruments[${earlier}] has it`);
    }
    seen.set(instrument.symbol, i);
  }
}

/** The accounts' position counts add up to the header's positionCount. */
function checkPositionTotal(columns: BookColumns): void {
  const counts = columns.accPosCount;
  const P = columns.positionCount;
  let total = 0;
  for (let a = 0; a < counts.length; a++) {
    total += counts[a];
    if (total > P) {
      fail(
        `accounts[${a}] (${columns.accountIds[a]}) positions`,
        `count mismatch: with this account's ${counts[a]} positions the accounts hold ${total}, more than the header's positionCount ${P}`,
      );
    }
  }
  if (total !== P) {
    fail('header positionCount', `count mismatch: is ${P}, but the accounts' position counts (section accPosCount) add up to ${total}`);
  }
}

/**
 * Every account and position rule, accounts in order, positions in order within each account:
 * balance, position count, then per position: instrument index, the value rules of
 * ranges.checkPosition, and at most one position per (instrument, mode). Assumes the ids are
 * printable (checked first) and the counts add up (checkPositionTotal).
 */
function checkColumns(columns: BookColumns): void {
  const { instruments, accountIds, accBalance, accPosCount, posSize, posCost, posMargin, posFunding, posInst, posMode, posLeverage } =
    columns;
  const instrumentCount = instruments.length;
  const rules: InstrumentRules[] = instruments.map(instrumentRules);
  const fast: InstrumentFastRules[] = instruments.map(instrumentFastRules);
  // The i64 columns as 32-bit word pairs, read as doubles without creating BigInts; a position the
  // double filter cannot accept outright is checked exactly (and explained) by checkPosition.
  const balanceWords = wordsOf(accBalance);
  const sizeWords = wordsOf(posSize);
  const costWords = wordsOf(posCost);
  const marginWords = wordsOf(posMargin);
  const fundingWords = wordsOf(posFunding);
  // (instrument, mode) → the account (plus 1) that last held it, and at which of its positions.
  const seenBy = new Uint32Array(Math.max(1, instrumentCount * 2));
  const seenAt = new Uint8Array(Math.max(1, instrumentCount * 2));
  const position: PositionInts = { sizeUnits: 0n, costMicro: 0n, mode: 0, marginMicro: 0n, leverage: 0, fundingIndex: 0n };
  let j = 0;
  for (let a = 0; a < accountIds.length; a++) {
    const balance = wordPairAsDouble(balanceWords, a);
    if (!(balance >= -BALANCE_FAST_MAX && balance <= BALANCE_FAST_MAX)) {
      const balanceReason = checkBalance(accBalance[a]);
      if (balanceReason !== null) fail(`${accountPath(accountIds, a)} balanceMicro`, balanceReason);
    }
    const count = accPosCount[a];
    const countReason = checkPositionCount(count);
    if (countReason !== null) fail(`${accountPath(accountIds, a)} positions`, countReason);
    const stamp = a + 1;
    for (let k = 0; k < count; k++, j++) {
      const inst = posInst[j];
      if (inst >= instrumentCount) {
        fail(
          `${accountPath(accountIds, a)} positions[${k}] instrument`,
          `index ${inst} is out of range: the book has ${instrumentCount} instruments` +
            (instrumentCount > 0 ? ` (0 to ${instrumentCount - 1})` : ''),
        );
      }
      const mode = posMode[j];
      const plain = positionPlainlyValid(
        fast[inst],
        wordPairAsDouble(sizeWords, j),
        wordPairAsDouble(costWords, j),
        mode,
        wordPairAsDouble(marginWords, j),
        posLeverage[j],
        wordPairAsDouble(fundingWords, j),
      );
      if (!plain) {
        position.sizeUnits = posSize[j];
        position.costMicro = posCost[j];
        position.mode = mode;
        position.marginMicro = posMargin[j];
        position.leverage = posLeverage[j];
        position.fundingIndex = posFunding[j];
        const issue = checkPosition(rules[inst], position);
        if (issue !== null) fail(`${positionPath(columns, a, k, inst)} ${issue.field}`, issue.reason);
      }
      const key = inst * 2 + mode;
      if (seenBy[key] === stamp) {
        fail(
          `${positionPath(columns, a, k, inst)} mode`,
          `a second ${mode === MODE_CROSS ? 'cross' : 'isolated'} position in ${instruments[inst].symbol}; ` +
            `positions[${seenAt[key]}] is one (at most one per instrument and mode)`,
        );
      }
      seenBy[key] = stamp;
      seenAt[key] = k;
    }
  }
}

/** |balance| below this is plainly within ±QUOTE_ABS_MAX (and exact as a double). */
const BALANCE_FAST_MAX = 9_000_000_000_000_000;
const WORD_HIGH_SAFE = 0x200000; // |high word| < 2^21 ⇔ |value| < 2^53

function wordsOf(column: BigInt64Array): Int32Array {
  return new Int32Array(column.buffer, column.byteOffset, column.length * 2);
}

/** Element i of an i64 column (little-endian word pairs) as an exact double, or NaN beyond ±2^53. */
function wordPairAsDouble(words: Int32Array, i: number): number {
  const high = words[2 * i + 1];
  return high >= -WORD_HIGH_SAFE && high < WORD_HIGH_SAFE ? high * 4294967296 + (words[2 * i] >>> 0) : Number.NaN;
}

/** Refuses a book a wasm32 memory cannot hold (before anything is allocated). */
function checkCapacity(instrumentCount: number, accountCount: number, positionCount: number): void {
  const bytes = layoutBytes({
    instruments: Math.max(1, instrumentCount),
    accounts: Math.max(1, accountCount),
    positions: positionCount,
  });
  if (bytes > WASM_MEMORY_BYTES_MAX) {
    fail(
      'header accountCount',
      `${accountCount} accounts with ${positionCount} positions need ${bytes} bytes of columns, above the 4 GiB a wasm32 memory holds`,
    );
  }
}

/** Throws for the first id equal to an earlier one. */
function checkDuplicateIds(ids: readonly string[]): void {
  const seen = new Map<string, number>();
  for (let a = 0; a < ids.length; a++) {
    const earlier = seen.get(ids[a]);
    if (earlier !== undefined) fail(`accounts[${a}] (${ids[a]}) id`, `duplicate account id "${ids[a]}"; accounts[${earlier}] has it`);
    seen.set(ids[a], a);
  }
}

function accountPath(ids: readonly string[], a: number): string {
  return `accounts[${a}] (${ids[a]})`;
}

function positionPath(columns: BookColumns, a: number, k: number, inst: number): string {
  return `${accountPath(columns.accountIds, a)} positions[${k}] (${columns.instruments[inst].symbol})`;
}

/** Zeroed position input columns for P positions. */
function newPositionColumns(P: number): Pick<BookColumns, PositionInputColumn> {
  return {
    posSize: new BigInt64Array(P),
    posCost: new BigInt64Array(P),
    posMargin: new BigInt64Array(P),
    posFunding: new BigInt64Array(P),
    posInst: new Uint16Array(P),
    posMode: new Uint8Array(P),
    posLeverage: new Uint16Array(P),
  };
}

/** Rewrites the position columns of `columns` as fresh arrays, each account's block in order. */
function compactPositions(columns: BookColumns, starts: Uint32Array, from: Views): void {
  const P = columns.positionCount;
  const counts = columns.accPosCount;
  const to = newPositionColumns(P);
  // Copy maximal runs of accounts whose blocks are adjacent in memory, one set() per column per run.
  let target = 0;
  let a = 0;
  while (a < counts.length) {
    const runStart = starts[a];
    let runLength = 0;
    while (a < counts.length && starts[a] === runStart + runLength) runLength += counts[a++];
    if (runLength === 0) continue;
    for (const name of POSITION_INPUT_COLUMNS) {
      (to[name] as Uint8Array).set((from[name] as Uint8Array).subarray(runStart, runStart + runLength), target);
    }
    target += runLength;
  }
  Object.assign(columns, to);
}

// ---------------------------------------------------------------------------------------------
// Account ids

/**
 * The ids from their offsets and bytes: offsets[0] = 0, each id 1..ACCOUNT_ID_LENGTH_MAX bytes of
 * printable ASCII (0x20..0x7e, so also valid UTF-8), offsets[A] = the section's length.
 */
function readAccountIds(offsets: Uint32Array, blob: Uint8Array): string[] {
  const A = offsets.length - 1;
  if (offsets[0] !== 0) fail('section accountIdOffsets', `offsets[0] must be 0, got ${offsets[0]}`);
  if (offsets[A] !== blob.length) {
    fail(
      'section accountIdOffsets',
      `offsets[${A}] (the end of the last id) must be ${blob.length}, the length of section accountIds; got ${offsets[A]}`,
    );
  }
  for (let a = 0; a < A; a++) {
    const start = offsets[a];
    const end = offsets[a + 1];
    if (end < start) {
      fail('section accountIdOffsets', `offsets[${a + 1}] = ${end} is below offsets[${a}] = ${start}; offsets must not decrease`);
    }
    if (end > blob.length) {
      fail('section accountIdOffsets', `offsets[${a + 1}] = ${end} runs past the end of section accountIds (${blob.length} bytes)`);
    }
    if (end === start) fail(`accounts[${a}] id`, 'must not be empty');
    if (end - start > ACCOUNT_ID_LENGTH_MAX) {
      fail(`accounts[${a}] id`, `is ${end - start} characters long; at most ${ACCOUNT_ID_LENGTH_MAX}`);
    }
    for (let i = start; i < end; i++) {
      const byte = blob[i];
      if (byte < 0x20 || byte > 0x7e) {
        fail(
          `accounts[${a}] id`,
          `byte ${i - start} is 0x${byte.toString(16).padStart(2, '0')}: ids must be printable ASCII (0x20 to 0x7e) ` +
            `(${hexBytes(blob, start, Math.min(end, start + 16))})`,
        );
      }
    }
  }
  const text = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).toString('latin1');
  const ids: string[] = new Array<string>(A);
  for (let a = 0; a < A; a++) ids[a] = text.slice(offsets[a], offsets[a + 1]);
  return ids;
}

// ---------------------------------------------------------------------------------------------
// The instruments section: UTF-8 JSON, an array of the integer model, bigints as decimal strings.

const INSTRUMENT_KEYS = ['symbol', 'priceDecimals', 'sizeDecimals', 'tickUnits', 'lotUnits', 'markUnits', 'fundingIndex', 'tiers'];
const TIER_KEYS = ['upToNotional', 'ratePpm', 'leverageMax'];
const INTEGER_TEXT = /^(0|-?[1-9][0-9]{0,39})$/;

function instrumentsToJson(instruments: readonly Instrument[]): string {
  return JSON.stringify(
    instruments.map((instrument) => ({
      symbol: instrument.symbol,
      priceDecimals: instrument.priceDecimals,
      sizeDecimals: instrument.sizeDecimals,
      tickUnits: String(instrument.tickUnits),
      lotUnits: String(instrument.lotUnits),
      markUnits: String(instrument.markUnits),
      fundingIndex: String(instrument.fundingIndex),
      tiers: instrument.tiers.map((tier) => ({
        upToNotional: tier.upToNotional === null ? null : String(tier.upToNotional),
        ratePpm: String(tier.ratePpm),
        leverageMax: tier.leverageMax,
      })),
    })),
  );
}

function parseInstrumentsSection(payload: Uint8Array): Instrument[] {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(payload);
  } catch {
    fail('section instruments', 'is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    fail('section instruments', `is not valid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(value)) fail('section instruments', `must be a JSON array of instruments, got ${describe(value)}`);
  if (value.length > INSTRUMENTS_MAX) fail('section instruments', `has ${value.length} instruments; at most ${INSTRUMENTS_MAX}`);
  return value.map((item, i) => readInstrumentJson(item, i));
}

function readInstrumentJson(value: unknown, i: number): Instrument {
  const symbolValue = isObject(value) ? value.symbol : undefined;
  const label = typeof symbolValue === 'string' && /^[\x20-\x7e]{1,32}$/.test(symbolValue) ? ` (${symbolValue})` : '';
  const path = `instruments[${i}]${label}`;
  const object = readObjectJson(value, path, INSTRUMENT_KEYS);
  const symbol = object.symbol;
  if (typeof symbol !== 'string') fail(`${path} symbol`, `must be a string, got ${describe(symbol)}`);
  const tiersValue = object.tiers;
  if (!Array.isArray(tiersValue)) fail(`${path} tiers`, `must be an array, got ${describe(tiersValue)}`);
  if (tiersValue.length > TIERS_MAX) fail(`${path} tiers`, `has ${tiersValue.length} tiers; 1 to ${TIERS_MAX} are allowed`);
  const tiers: Tier[] = tiersValue.map((tierValue, k) => {
    const tierPath = `${path} tiers[${k}]`;
    const tier = readObjectJson(tierValue, tierPath, TIER_KEYS);
    return {
      upToNotional: tier.upToNotional === null ? null : readIntegerJson(tier.upToNotional, `${tierPath} upToNotional`),
      ratePpm: readIntegerJson(tier.ratePpm, `${tierPath} ratePpm`),
      leverageMax: readSmallJson(tier.leverageMax, `${tierPath} leverageMax`),
    };
  });
  return {
    symbol,
    priceDecimals: readSmallJson(object.priceDecimals, `${path} priceDecimals`),
    sizeDecimals: readSmallJson(object.sizeDecimals, `${path} sizeDecimals`),
    tickUnits: readIntegerJson(object.tickUnits, `${path} tickUnits`),
    lotUnits: readIntegerJson(object.lotUnits, `${path} lotUnits`),
    markUnits: readIntegerJson(object.markUnits, `${path} markUnits`),
    fundingIndex: readIntegerJson(object.fundingIndex, `${path} fundingIndex`),
    tiers,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readObjectJson(value: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
  if (!isObject(value)) fail(path, `must be an object, got ${describe(value)}`);
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) fail(`${path} ${JSON.stringify(key)}`, `unknown key; allowed keys are ${keys.join(', ')}`);
  }
  for (const key of keys) if (!Object.hasOwn(value, key)) fail(`${path} ${key}`, 'is missing (required)');
  return value;
}

function readIntegerJson(value: unknown, path: string): bigint {
  if (typeof value !== 'string' || !INTEGER_TEXT.test(value)) {
    fail(path, `must be an integer as a decimal string (e.g. "-125"), got ${describe(value)}`);
  }
  return BigInt(value);
}

function readSmallJson(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) fail(path, `must be a whole JSON number, got ${describe(value)}`);
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `the JSON ${typeof value} ${value}`;
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function int64(value: bigint, path: string): bigint {
  if (typeof value !== 'bigint' || value < I64_MIN || value > I64_MAX) {
    fail(path, `must be a bigint within the signed 64-bit range, got ${String(value)}`);
  }
  return value;
}

function uint16(value: number, path: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) fail(path, `must be a whole number from 0 to 65535, got ${String(value)}`);
  return value;
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

function countsText(size: SectionSize, accountCount: number, positionCount: number): string {
  if (size.kind === 'accounts') {
    return size.extra === 0
      ? ` (${size.bytes} × accountCount ${accountCount})`
      : ` (${size.bytes} × (accountCount ${accountCount} + ${size.extra}))`;
  }
  if (size.kind === 'positions') return ` (${size.bytes} × positionCount ${positionCount})`;
  return '';
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

function hexBytes(bytes: Uint8Array, start: number, end: number): string {
  const shown: string[] = [];
  for (let i = start; i < Math.min(end, bytes.length); i++) shown.push(bytes[i].toString(16).padStart(2, '0'));
  return shown.join(' ');
}

function requireLittleEndianHost(): void {
  // Sections are little-endian and read through typed arrays in host order; so is wasm memory.
  if (endianness() !== 'LE') throw new Error('binary books need a little-endian host (the engine and its wasm memory are little-endian)');
}

function fail(path: string, reason: string): never {
  throw new BookError(path, reason);
}
