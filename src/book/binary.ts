// The binary book (docs/book-binary.md): a versioned, checksummed file whose sections are the
// engine's own columns. Loading reads every column section straight into the engine's column in
// wasm memory (from a file with fs.readSync in chunks, or from bytes already in memory), computing
// the CRC-32 on the way, and then validates the columns in place: no second copy of the book, no
// string or object per account or position. Writing streams the sections out of the columns the
// same way, after running the same validation, so it never writes a file the loader would refuse.
//
// The checks run in the order of docs/book-binary.md and the first failure is thrown as one
// BookError. The instruments and the ids are read and checked before the engine is allocated; if
// they fail, the rest of the input still goes through the CRC first, so that a corrupt file is
// reported as corrupt. A failed load drops the half-filled engine; nothing else was touched.
import { Buffer } from 'node:buffer';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import * as zlib from 'node:zlib';
import {
  ACCOUNT_ID_LENGTH_MAX,
  INSTRUMENTS_MAX,
  MODE_CROSS,
  MODE_ISOLATED,
  POSITIONS_PER_ACCOUNT_MAX,
  QUOTE_DECIMALS,
  TIERS_MAX,
} from '../fixed/constants.js';
import { Engine, type EngineOptions } from '../engine/engine.js';
import { AccountIds } from './account-ids.js';
import { warmUpOperations } from '../account/warm-up.js';
import {
  layoutBytes,
  POSITION_INPUT_COLUMNS,
  WASM_PAGE_BYTES,
  WASM_PAGES_MAX,
  type PositionInputColumn,
  type Views,
} from '../memory/layout.js';
import { BookError } from './errors.js';
import { OutputError, systemMessage } from '../io/errors.js';
import { writeOutput } from '../io/output.js';
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
/**
 * The format version this module writes. Version 2 has version 1's layout and adds instruments
 * finer than a micro (priceDecimals + sizeDecimals from 7 to 12, docs/numbers.md), whose funding
 * indexes are in units of 10^-(12 − sd) and whose cost bases were rounded up to a micro.
 */
export const BOOK_BINARY_VERSION = 2;
/** The versions this module reads: 1 (pd + sd ≤ 6 only) and 2. */
export const BOOK_BINARY_VERSIONS_READ: readonly number[] = [1, 2];
/** Version 1 books hold only instruments with priceDecimals + sizeDecimals at most this. */
export const BOOK_BINARY_V1_DECIMALS_MAX = QUOTE_DECIMALS;
/** Bytes of the fixed header: magic, version, flags, instrumentCount, accountCount, positionCount. */
export const BOOK_BINARY_HEADER_BYTES = 32;
/** Every section's length field and payload start on a multiple of this many bytes. */
export const BOOK_BINARY_ALIGN = 8;
/** The instruments section (UTF-8 JSON) may not exceed this many bytes. */
export const INSTRUMENTS_SECTION_BYTES_MAX = 256 * 1024 * 1024;
/** The file loader and writers move column sections in pieces of this many bytes by default. */
export const BOOK_FILE_CHUNK_BYTES = 16 * 1024 * 1024;

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

/**
 * A book as columns: what writeBookColumnsFile writes, without building an Engine or a Book. The
 * account columns have one element per id; the position columns have positionCount elements, each
 * account's positions together in account order (account a owns the accPosCount[a] records after
 * those of the accounts before it). Values are in the integer units of docs/numbers.md; modes are
 * MODE_CROSS (0) or MODE_ISOLATED (1). The instruments carry the marks and funding indexes to write.
 */
export interface BookColumns extends Pick<Views, 'accBalance' | 'accPosCount' | PositionInputColumn> {
  instruments: readonly Instrument[];
  /** The ids (AccountIds: the file's sections are its blob()). */
  accountIds: AccountIds;
  positionCount: number;
}

/** Options of the file loader: the engine's, the size of the pieces read at a time, and progress. */
export interface BookFileOptions extends EngineOptions {
  /** Bytes per read (and CRC update) of a column section. Default BOOK_FILE_CHUNK_BYTES. */
  chunkBytes?: number;
  /**
   * Called as the sections are read: after each piece of a section (at most `chunkBytes`) with the
   * file offset reached and the file's size, and once more with (size, size) when the book is
   * loaded. A 1.4 GB book makes about a hundred calls at the default chunk size.
   */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

/** Options of the file writers. */
export interface BookWriteOptions {
  /** Bytes per write (and CRC update) of a column section. Default BOOK_FILE_CHUNK_BYTES. */
  chunkBytes?: number;
}

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF: the
// zlib / PNG / gzip CRC). zlib's own (Node ≥ 20.15; several GB/s) when Node has it, otherwise the
// portable slicing-by-8 below (about 1 GB/s). Table: 8 × 256 u32, built once at module load.

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

const zlibCrc32: ((data: Uint8Array, value?: number) => number) | undefined =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function' ? zlib.crc32 : undefined;

/** CRC-32 of `bytes`, continuing from `previous` (the CRC of the bytes before them; 0 to start). */
export function crc32(bytes: Uint8Array, previous = 0): number {
  return zlibCrc32 !== undefined ? zlibCrc32(bytes, previous) : crc32Portable(bytes, previous);
}

/** The same CRC-32 in JavaScript (slicing-by-8), used when zlib.crc32 is missing. */
export function crc32Portable(bytes: Uint8Array, previous = 0): number {
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
// Reading: where the bytes come from

/** True when `bytes` starts with the binary book magic (the CLI tells JSON from binary by this). */
export function isBookBinary(bytes: Uint8Array): boolean {
  if (bytes.length < BOOK_BINARY_MAGIC.length) return false;
  for (let i = 0; i < BOOK_BINARY_MAGIC.length; i++) if (bytes[i] !== BOOK_BINARY_MAGIC[i]) return false;
  return true;
}

/** A book's bytes, in memory or in an open file. Reads stay inside [0, size). */
interface ByteSource {
  readonly size: number;
  /** Bytes [offset, offset + length): a view or a fresh copy, for the small reads of the layout. */
  bytes(offset: number, length: number): Uint8Array;
  /** Fills `target` with the bytes from `offset` on, passing each piece to `seen` once, in order. */
  readInto(offset: number, target: Uint8Array, seen: (piece: Uint8Array) => void): void;
  /** Passes the bytes [offset, offset + length) to `seen`, in order, without keeping them. */
  scan(offset: number, length: number, seen: (piece: Uint8Array) => void): void;
}

class MemorySource implements ByteSource {
  constructor(private readonly input: Uint8Array) {}

  get size(): number {
    return this.input.length;
  }

  bytes(offset: number, length: number): Uint8Array {
    return this.input.subarray(offset, offset + length);
  }

  readInto(offset: number, target: Uint8Array, seen: (piece: Uint8Array) => void): void {
    const piece = this.input.subarray(offset, offset + target.length);
    target.set(piece);
    seen(piece);
  }

  scan(offset: number, length: number, seen: (piece: Uint8Array) => void): void {
    seen(this.input.subarray(offset, offset + length));
  }
}

/** An open regular file, read with fs.readSync at explicit positions, `chunkBytes` at a time. */
class FileSource implements ByteSource {
  constructor(
    private readonly path: string,
    private readonly fd: number,
    readonly size: number,
    private readonly chunkBytes: number,
    private readonly onProgress?: (doneBytes: number, totalBytes: number) => void,
  ) {}

  bytes(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    this.fill(out, 0, length, offset);
    return out;
  }

  readInto(offset: number, target: Uint8Array, seen: (piece: Uint8Array) => void): void {
    for (let done = 0; done < target.length; ) {
      const length = Math.min(this.chunkBytes, target.length - done);
      this.fill(target, done, length, offset + done);
      seen(target.subarray(done, done + length));
      done += length;
      this.onProgress?.(offset + done, this.size);
    }
  }

  scan(offset: number, length: number, seen: (piece: Uint8Array) => void): void {
    const scratch = new Uint8Array(Math.min(this.chunkBytes, length));
    for (let done = 0; done < length; ) {
      const piece = Math.min(scratch.length, length - done);
      this.fill(scratch, 0, piece, offset + done);
      seen(scratch.subarray(0, piece));
      done += piece;
      this.onProgress?.(offset + done, this.size);
    }
  }

  /** Reads exactly `length` bytes from file position `position` into target[at, at + length). */
  private fill(target: Uint8Array, at: number, length: number, position: number): void {
    for (let done = 0; done < length; ) {
      let read: number;
      try {
        read = readSync(this.fd, target, at + done, length - done, position + done);
      } catch (error) {
        fail(this.path, `cannot read ${length - done} bytes at byte ${position + done}: ${systemMessage(error)}`);
      }
      if (read === 0) {
        fail(
          this.path,
          `ended at byte ${position + done}, but it had ${this.size} bytes when it was opened; it changed while it was being read`,
        );
      }
      done += read;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reading: the layout

/**
 * Reads and checks the structure of a binary book: magic, version, flags, counts and their limits,
 * every section's length against the counts, zero padding, and that the file ends exactly after
 * the checksum. Does not verify the checksum or any value. Throws BookError.
 */
export function readBookBinaryLayout(bytes: Uint8Array): BookBinaryLayout {
  return readLayout(new MemorySource(bytes));
}

/** The layout from the header, the 12 section lengths and the padding bytes alone. */
function readLayout(source: ByteSource): BookBinaryLayout {
  requireLittleEndianHost();
  const total = source.size;
  const head = source.bytes(0, Math.min(total, BOOK_BINARY_HEADER_BYTES));
  if (!isBookBinary(head)) {
    if (total < BOOK_BINARY_MAGIC.length) fail('header magic', `the file has ${total} bytes, fewer than the 8-byte magic "LIQBOOK\\0"`);
    fail('header magic', `the file does not start with "LIQBOOK\\0" (got ${hexBytes(head, 0, 8)}); it is not a binary book`);
  }
  if (total < BOOK_BINARY_HEADER_BYTES) {
    fail('header', `truncated: the file has ${total} bytes, fewer than the ${BOOK_BINARY_HEADER_BYTES}-byte header`);
  }
  const data = dataViewOf(head);
  const version = data.getUint32(8, true);
  if (!BOOK_BINARY_VERSIONS_READ.includes(version)) {
    fail('header version', `version ${version} is not supported; this loader reads versions ${BOOK_BINARY_VERSIONS_READ.join(' and ')}`);
  }
  const flags = data.getUint32(12, true);
  if (flags !== 0) fail('header flags', `must be 0 in version ${version}, got 0x${flags.toString(16)}`);
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
    const lengthBig = dataViewOf(source.bytes(offset, 8)).getBigUint64(0, true);
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
    const padding = source.bytes(end, padded - end);
    for (let i = 0; i < padding.length; i++) {
      if (padding[i] !== 0) fail(`${path} padding`, `byte ${end + i} must be 0, got 0x${padding[i].toString(16)}`);
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

/** Reads a book's bytes in file order, each once, and computes their CRC-32 on the way. */
class ChecksummedReader {
  private position = 0;
  private crc = 0;
  private readonly seen = (piece: Uint8Array): void => {
    this.crc = crc32(piece, this.crc);
  };

  constructor(
    private readonly source: ByteSource,
    private readonly layout: BookBinaryLayout,
  ) {}

  /** Everything up to the section's payload (header or padding, length field), then the payload into `target`. */
  section(name: BookBinarySectionName, target: Uint8Array): void {
    const section = this.layout.sections[name];
    const lead = this.source.bytes(this.position, section.offset - this.position);
    // The length field is read a second time here; it must still say what the layout read.
    if (dataViewOf(lead).getBigUint64(lead.length - 8, true) !== BigInt(section.length)) {
      fail(`section ${name}`, 'its length changed while the file was being read');
    }
    this.seen(lead);
    this.source.readInto(section.offset, target, this.seen);
    this.position = section.offset + section.length;
  }

  /** Runs the rest of the checksummed bytes through the CRC, then compares the stored checksum. */
  verifyChecksum(): void {
    const end = this.layout.checksumOffset;
    this.source.scan(this.position, end - this.position, this.seen);
    this.position = end;
    const stored = dataViewOf(this.source.bytes(end, CHECKSUM_BYTES)).getUint32(0, true);
    if (stored !== this.crc) {
      fail('checksum', `bad checksum: the file stores CRC32 ${hex32(stored)} but bytes 0 to ${end} give ${hex32(this.crc)}; the file is corrupt`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reading: the loaders

/**
 * Validates a binary book held in memory and loads it into a fresh engine. Throws BookError (and
 * leaves nothing behind: the input is only read) on any structural problem or value outside
 * docs/numbers.md. For a book in a file, loadBookBinaryFile reads it without holding it twice.
 */
export function decodeBookBinary(input: Uint8Array, options: EngineOptions = {}): Engine {
  return loadBook(new MemorySource(input), options);
}

/**
 * Loads the binary book in the file at `path`: reads the header and the small sections, allocates
 * the engine from the header's counts, then reads each column section straight into the engine's
 * column in `chunkBytes` pieces, and validates in place. Peak memory is the engine plus the ids and
 * their lookup table, which the duplicate-id check builds and the book keeps (6 to 12 bytes an
 * account; up to 36 while it is built); the file is never held in memory. Throws BookError,
 * whose path is the file's own for a file that cannot be opened or read. `onProgress` hears of the
 * bytes read as the sections go by (BookFileOptions).
 */
export function loadBookBinaryFile(path: string, options: BookFileOptions = {}): Engine {
  const chunkBytes = chunkBytesOption(options.chunkBytes);
  const fd = openFile(path);
  try {
    let size: number;
    try {
      const stat = fstatSync(fd);
      if (stat.isDirectory()) fail(path, 'is a directory, not a binary book file');
      if (!stat.isFile()) fail(path, 'is not a regular file; a binary book is loaded from a regular file');
      size = stat.size;
    } catch (error) {
      if (error instanceof BookError) throw error;
      fail(path, `cannot read: ${systemMessage(error)}`);
    }
    const engine = loadBook(new FileSource(path, fd, size, chunkBytes, options.onProgress), options);
    options.onProgress?.(size, size);
    return engine;
  } finally {
    closeSync(fd);
  }
}

function loadBook(source: ByteSource, options: EngineOptions): Engine {
  const layout = readLayout(source);
  const A = layout.accountCount;
  const P = layout.positionCount;
  checkCapacity(layout.instrumentCount, A, P);
  const reader = new ChecksummedReader(source, layout);

  // The small sections into ordinary buffers; checked before the engine exists.
  const instrumentsJson = new Uint8Array(layout.sections.instruments.length);
  reader.section('instruments', instrumentsJson);
  const offsets = new Uint32Array(A + 1);
  reader.section('accountIdOffsets', bytesOf(offsets));
  const idBytes = new Uint8Array(layout.sections.accountIds.length);
  reader.section('accountIds', idBytes);
  let instruments: Instrument[];
  let accountIds: AccountIds;
  let engine: Engine;
  try {
    instruments = parseInstrumentsSection(instrumentsJson);
    if (instruments.length !== layout.instrumentCount) {
      fail('section instruments', `holds ${instruments.length} instruments; the header's instrumentCount is ${layout.instrumentCount}`);
    }
    checkInstruments(instruments);
    if (layout.version === 1) checkVersion1Decimals(instruments);
    checkIdBlob(offsets, idBytes);
    accountIds = AccountIds.fromBlob(offsets, idBytes);
    engine = allocateEngine(instruments, accountIds, P, options);
  } catch (error) {
    // A corrupt file is reported as corrupt, whatever else is wrong with it: the rest of the bytes
    // go through the CRC (into a scratch buffer) before the error found here is thrown.
    if (error instanceof BookError) reader.verifyChecksum();
    throw error;
  }

  // The columns straight into the engine's memory.
  const v = engine.views;
  reader.section('accBalance', prefixBytes(v.accBalance, A));
  reader.section('accPosCount', prefixBytes(v.accPosCount, A));
  for (const name of POSITION_INPUT_COLUMNS) reader.section(name, prefixBytes(v[name], P));
  reader.verifyChecksum();

  const columns = viewColumns(instruments, accountIds, v, A, P);
  checkPositionTotal(columns, v.accPosStart);
  const sizeHighWater = checkColumns(columns, null);
  // The duplicate check builds the id → index table that account operations look ids up in, so a
  // loaded book's first update by id does not pay for it (AccountIds.buildIndex).
  checkDuplicateIdsIndexing(accountIds);
  engine.positionsUsed = P;
  engine.setSizeHighWater(sizeHighWater);
  // Derived state, not stored in the file: the chunk sweep's records (made stale, built by the first sweep).
  engine.refreshDebits();
  warmUpOperations(engine); // so that the book's first update costs what the later ones do
  return engine;
}

/** An engine's views as BookColumns over its first A accounts and P positions (no copy). */
export function viewColumns(instruments: Instrument[], accountIds: AccountIds, v: Views, A: number, P: number): BookColumns {
  return {
    instruments,
    accountIds,
    accBalance: v.accBalance.subarray(0, A),
    accPosCount: v.accPosCount.subarray(0, A),
    positionCount: P,
    posSize: v.posSize.subarray(0, P),
    posCost: v.posCost.subarray(0, P),
    posMargin: v.posMargin.subarray(0, P),
    posFunding: v.posFunding.subarray(0, P),
    posInst: v.posInst.subarray(0, P),
    posMode: v.posMode.subarray(0, P),
    posLeverage: v.posLeverage.subarray(0, P),
  };
}

function allocateEngine(instruments: Instrument[], accountIds: AccountIds, positionCount: number, options: EngineOptions): Engine {
  try {
    return Engine.allocate(instruments, accountIds, positionCount, options);
  } catch (error) {
    if (error instanceof RangeError) fail('book', `cannot be held in memory: ${error.message}`);
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * The book currently in the engine (instruments at their current mark and funding index, accounts
 * in order, each account's positions contiguous in account order) as a binary book. Throws
 * BookError if the book no longer satisfies the load rules (the loader would refuse the file).
 */
export function encodeBookBinary(engine: Engine): Uint8Array {
  const { columns, runs } = engineColumns(engine);
  const ids = checkBookColumns(columns, runs.blockStarts);
  return writeBookToMemory(columns, runs, ids);
}

/** writeBookColumnsFile for the book in an engine, as encodeBookBinary lays it out; streamed from the engine's memory. */
export function writeBookBinaryFile(path: string, engine: Engine, options: BookWriteOptions = {}): number {
  const chunkBytes = chunkBytesOption(options.chunkBytes);
  const { columns, runs } = engineColumns(engine);
  const ids = checkBookColumns(columns, runs.blockStarts);
  return writeBookToFile(path, columns, runs, ids, chunkBytes);
}

/**
 * Validates `columns` as the loader would, then writes them as a binary book to `path`, streaming
 * each section from its typed array with fs.writeSync and computing the CRC on the way; returns the
 * bytes written. `path` is written by writeOutput (src/io/output.ts, docs/generator.md): a regular
 * file is written to a temporary file beside it and renamed over it once complete and fsynced; a
 * symlink is written through to its referent; a device or a FIFO is written in place; `-` is
 * standard output. Nothing is written if validation fails, and a write that fails midway leaves
 * whatever was at `path` as it was (only the temporary file is removed). Throws BookError, or
 * ClosedPipeError when the reader of `-` or of a FIFO goes away.
 */
export function writeBookColumnsFile(path: string, columns: BookColumns, options: BookWriteOptions = {}): number {
  const chunkBytes = chunkBytesOption(options.chunkBytes);
  checkColumnShapes(columns);
  const ids = checkBookColumns(columns, null);
  return writeBookToFile(path, columns, contiguousRuns(columns.positionCount), ids, chunkBytes);
}

/** A Book as a binary book. Throws BookError for a book the loader would refuse. */
export function encodeBookModel(book: Book): Uint8Array {
  requireLittleEndianHost();
  const accounts = book.accounts;
  const A = accounts.length;
  const ids: string[] = new Array<string>(A);
  for (let a = 0; a < A; a++) {
    const id = accounts[a].id;
    const reason = typeof id === 'string' ? checkAccountId(id) : 'must be a string';
    if (reason !== null) fail(`accounts[${a}] id`, reason);
    ids[a] = id;
  }
  const accountIds = AccountIds.fromStrings(ids); // printable ASCII: one byte per character
  const idBlob = accountIds.blob(); // checked with the rest, in the loader's order (checkBookColumns)
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
  // the columns, exactly as the loader runs them).
  let j = 0;
  for (let a = 0; a < A; a++) {
    const account = accounts[a];
    const path = `accounts[${a}] (${ids[a]})`;
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
  checkBookColumns(columns, null, idBlob);
  return writeBookToMemory(columns, contiguousRuns(P), idBlob);
}

/**
 * Where the position records are, in file order: runs of records adjacent in the columns. A book
 * given as columns is one run [0, P). An engine whose blocks appendPositionSlot moved has a run per
 * stretch of accounts whose blocks are adjacent, and `blockStarts` (accPosStart) for validation.
 */
interface PositionRuns {
  starts: Uint32Array;
  lengths: Uint32Array;
  blockStarts: Uint32Array | null;
}

function contiguousRuns(positionCount: number): PositionRuns {
  return { starts: Uint32Array.of(0), lengths: Uint32Array.of(positionCount), blockStarts: null };
}

/** The engine's book as columns over its memory (no copy), with the runs its position blocks form. */
function engineColumns(engine: Engine): { columns: BookColumns; runs: PositionRuns } {
  requireLittleEndianHost();
  const v = engine.views;
  const instruments: Instrument[] = engine.instruments.map((instrument, i) => ({
    ...instrument,
    markUnits: v.instMark[i],
    fundingIndex: v.instFunding[i],
    tiers: instrument.tiers.map((tier) => ({ ...tier })),
  }));
  const A = engine.accountCount;
  const blockStarts = v.accPosStart;
  const counts = v.accPosCount.subarray(0, A);
  // Runs of accounts whose blocks are adjacent in memory: one write per column per run.
  let P = 0;
  let runCount = 0;
  let runEnd = -1;
  for (let a = 0; a < A; a++) {
    const count = counts[a];
    if (count === 0) continue;
    if (blockStarts[a] !== runEnd) runCount++;
    runEnd = blockStarts[a] + count;
    P += count;
  }
  let runs: PositionRuns;
  if (runCount <= 1) {
    runs = { starts: Uint32Array.of(runCount === 0 ? 0 : runEnd - P), lengths: Uint32Array.of(P), blockStarts: null };
  } else {
    const starts = new Uint32Array(runCount);
    const lengths = new Uint32Array(runCount);
    let r = -1;
    runEnd = -1;
    for (let a = 0; a < A; a++) {
      const count = counts[a];
      if (count === 0) continue;
      if (blockStarts[a] !== runEnd) starts[++r] = blockStarts[a];
      lengths[r] += count;
      runEnd = blockStarts[a] + count;
    }
    runs = { starts, lengths, blockStarts };
  }
  // One run that starts at slot 0 needs no block starts: the columns are the book's, in order.
  const contiguous = runs.blockStarts === null && runs.starts[0] === 0;
  const positions = contiguous ? P : engine.positionsUsed;
  const columns: BookColumns = {
    instruments,
    accountIds: engine.accountIds,
    accBalance: v.accBalance.subarray(0, A),
    accPosCount: counts,
    positionCount: P,
    posSize: v.posSize.subarray(0, positions),
    posCost: v.posCost.subarray(0, positions),
    posMargin: v.posMargin.subarray(0, positions),
    posFunding: v.posFunding.subarray(0, positions),
    posInst: v.posInst.subarray(0, positions),
    posMode: v.posMode.subarray(0, positions),
    posLeverage: v.posLeverage.subarray(0, positions),
  };
  if (!contiguous) runs.blockStarts = blockStarts;
  return { columns, runs };
}

/** The ids as the file's two sections hold them (AccountIds.blob()). */
type IdBlob = { offsets: Uint32Array; bytes: Uint8Array };

/**
 * Every check the loader makes, in its order (after the structural ones, which writing satisfies by
 * construction). Returns the ids' sections (`ids`, made here unless given), for the writer: for ids of
 * one length they are made afresh, O(their bytes), so they are made once a write.
 */
function checkBookColumns(columns: BookColumns, blockStarts: Uint32Array | null, ids: IdBlob = columns.accountIds.blob()): IdBlob {
  requireLittleEndianHost();
  checkCapacity(columns.instruments.length, columns.accountIds.count, columns.positionCount);
  checkInstruments(columns.instruments);
  checkIdBlob(ids.offsets, ids.bytes);
  checkPositionTotal(columns, null);
  checkColumns(columns, blockStarts);
  checkDuplicateIds(columns.accountIds, ids);
  return ids;
}

/** Column types and lengths of a BookColumns from a caller (a programming error, reported as BookError). */
function checkColumnShapes(columns: BookColumns): void {
  const ids = columns.accountIds;
  if (!(ids instanceof AccountIds)) fail('columns accountIds', 'must be an AccountIds');
  const A = ids.count;
  const P = columns.positionCount;
  if (!Number.isSafeInteger(P) || P < 0) fail('columns positionCount', `must be a whole number, got ${String(P)}`);
  if (!Array.isArray(columns.instruments)) fail('columns instruments', 'must be an array of instruments');
  const expect = (name: keyof BookColumns, type: { name: string; prototype: object }, length: number, per: string): void => {
    const column = columns[name] as unknown;
    if (!(column instanceof (type as unknown as new () => object)) || (column as ArrayLike<unknown>).length !== length) {
      const got = ArrayBuffer.isView(column) ? `a ${column.constructor.name} of ${(column as unknown as ArrayLike<unknown>).length}` : describe(column);
      fail(`columns ${name}`, `must be a ${type.name} of ${length} elements (${per}), got ${got}`);
    }
  };
  expect('accBalance', BigInt64Array, A, 'one per account id');
  expect('accPosCount', Uint32Array, A, 'one per account id');
  for (const name of ['posSize', 'posCost', 'posMargin', 'posFunding'] as const) expect(name, BigInt64Array, P, 'positionCount');
  expect('posInst', Uint16Array, P, 'positionCount');
  expect('posMode', Uint8Array, P, 'positionCount');
  expect('posLeverage', Uint16Array, P, 'positionCount');
}

/** The payload length of each section of a book. */
function sectionLengths(columns: BookColumns, instrumentsJson: Uint8Array): Record<BookBinarySectionName, number> {
  const A = columns.accountIds.count;
  const P = columns.positionCount;
  return {
    instruments: instrumentsJson.length,
    accountIdOffsets: (A + 1) * 4,
    accountIds: columns.accountIds.byteLength,
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
}

function instrumentsSection(columns: BookColumns): Uint8Array {
  const json = Buffer.from(instrumentsToJson(columns.instruments), 'utf8');
  if (json.length > INSTRUMENTS_SECTION_BYTES_MAX) {
    fail('section instruments', `has ${json.length} bytes; at most ${INSTRUMENTS_SECTION_BYTES_MAX} are allowed`);
  }
  return json;
}

function writeBookToMemory(columns: BookColumns, runs: PositionRuns, ids: IdBlob): Uint8Array {
  const instrumentsJson = instrumentsSection(columns);
  const lengths = sectionLengths(columns, instrumentsJson);
  let total = BOOK_BINARY_HEADER_BYTES;
  for (const spec of BOOK_BINARY_SECTIONS) total = alignUp(total + 8 + lengths[spec.name], BOOK_BINARY_ALIGN);
  const out = new Uint8Array(total + CHECKSUM_BYTES);
  let at = 0;
  writeBook(columns, runs, ids, instrumentsJson, lengths, BOOK_FILE_CHUNK_BYTES, (bytes) => {
    out.set(bytes, at);
    at += bytes.length;
  });
  return out;
}

/**
 * Streams the book to `path` through writeOutput (src/io/output.ts): a regular file is replaced only
 * once complete, and a failed write leaves whatever was at `path` as it was. An OutputError becomes
 * a BookError naming the path; ClosedPipeError (the reader of `-` or of a FIFO went away) passes
 * through as it is. Returns the bytes written.
 */
function writeBookToFile(path: string, columns: BookColumns, runs: PositionRuns, ids: IdBlob, chunkBytes: number): number {
  const instrumentsJson = instrumentsSection(columns);
  const lengths = sectionLengths(columns, instrumentsJson);
  try {
    return writeOutput(path, (emit) => writeBook(columns, runs, ids, instrumentsJson, lengths, chunkBytes, emit)).bytes;
  } catch (error) {
    if (!(error instanceof OutputError)) throw error;
    const prefix = `${path}: `;
    fail(path, error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message);
  }
}

/**
 * Lays out a validated book (docs/book-binary.md) and passes its bytes, in order, to `emit`: the
 * header, each section's length, payload and zero padding, then the CRC-32 of all of it. Column
 * payloads go out as views over the columns, `chunkBytes` at a time.
 */
function writeBook(
  columns: BookColumns,
  runs: PositionRuns,
  ids: IdBlob,
  instrumentsJson: Uint8Array,
  lengths: Record<BookBinarySectionName, number>,
  chunkBytes: number,
  emit: (bytes: Uint8Array) => void,
): void {
  let crc = 0;
  let position = 0;
  const write = (bytes: Uint8Array): void => {
    for (let at = 0; at < bytes.length; at += chunkBytes) {
      const piece = bytes.subarray(at, Math.min(bytes.length, at + chunkBytes));
      crc = crc32(piece, crc);
      emit(piece);
    }
    position += bytes.length;
  };
  const header = new Uint8Array(BOOK_BINARY_HEADER_BYTES);
  const data = dataViewOf(header);
  header.set(BOOK_BINARY_MAGIC, 0);
  data.setUint32(8, BOOK_BINARY_VERSION, true);
  data.setUint32(12, 0, true);
  data.setUint32(16, columns.instruments.length, true);
  data.setUint32(20, columns.accountIds.count, true);
  data.setBigUint64(24, BigInt(columns.positionCount), true);
  write(header);
  const field = new Uint8Array(8);
  const zeros = new Uint8Array(BOOK_BINARY_ALIGN);
  for (const spec of BOOK_BINARY_SECTIONS) {
    dataViewOf(field).setBigUint64(0, BigInt(lengths[spec.name]), true);
    write(field);
    switch (spec.name) {
      case 'instruments':
        write(instrumentsJson);
        break;
      case 'accountIdOffsets':
        write(bytesOf(ids.offsets));
        break;
      case 'accountIds':
        write(ids.bytes);
        break;
      case 'accBalance':
      case 'accPosCount':
        write(bytesOf(columns[spec.name]));
        break;
      default: {
        const column = columns[spec.name];
        for (let r = 0; r < runs.starts.length; r++) {
          write(bytesOf(column.subarray(runs.starts[r], runs.starts[r] + runs.lengths[r])));
        }
      }
    }
    write(zeros.subarray(0, alignUp(position, BOOK_BINARY_ALIGN) - position));
  }
  const checksum = new Uint8Array(CHECKSUM_BYTES);
  dataViewOf(checksum).setUint32(0, crc, true);
  emit(checksum);
}

// ---------------------------------------------------------------------------------------------
// Validation, shared by the loaders and the writers

/**
 * A version 1 book was written when pd + sd ≤ 6 was the rule, so an instrument finer than a micro
 * in one is not something any writer made: refused, rather than read with version 2's meaning.
 */
function checkVersion1Decimals(instruments: readonly Instrument[]): void {
  for (let i = 0; i < instruments.length; i++) {
    const { priceDecimals: pd, sizeDecimals: sd, symbol } = instruments[i];
    if (pd + sd > BOOK_BINARY_V1_DECIMALS_MAX) {
      fail(
        `instruments[${i}] (${symbol}) sizeDecimals`,
        `priceDecimals ${pd} + sizeDecimals ${sd} is above ${BOOK_BINARY_V1_DECIMALS_MAX}, which a version 1 binary book cannot hold ` +
          `(version 2 holds up to 12)`,
      );
    }
  }
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

/**
 * The ids as offsets and bytes: offsets[0] = 0, offsets[A] = the length of the bytes, and each id
 * 1..ACCOUNT_ID_LENGTH_MAX bytes of printable ASCII (0x20..0x7e, so also valid UTF-8). Reports the
 * first bad id in account order. Fast path: the offsets in one pass, then the bytes of every id
 * before the first bad offset in one pass (the ids are contiguous, so those are one range).
 */
function checkIdBlob(offsets: Uint32Array, blob: Uint8Array): void {
  const A = offsets.length - 1;
  if (offsets[0] !== 0) fail('section accountIdOffsets', `offsets[0] must be 0, got ${offsets[0]}`);
  if (offsets[A] !== blob.length) {
    fail(
      'section accountIdOffsets',
      `offsets[${A}] (the end of the last id) must be ${blob.length}, the length of section accountIds; got ${offsets[A]}`,
    );
  }
  const total = blob.length;
  let bad = A; // the first id whose offsets or length are wrong
  let start = 0;
  for (let a = 0; a < A; a++) {
    const end = offsets[a + 1];
    const length = end - start;
    if (!(length >= 1 && length <= ACCOUNT_ID_LENGTH_MAX && end <= total)) {
      bad = a;
      break;
    }
    start = end;
  }
  const unprintable = firstUnprintable(blob, offsets[bad]);
  if (unprintable >= 0) {
    const a = idContaining(offsets, unprintable, bad);
    const idStart = offsets[a];
    const idEnd = offsets[a + 1];
    fail(
      `accounts[${a}] id`,
      `byte ${unprintable - idStart} is 0x${blob[unprintable].toString(16).padStart(2, '0')}: ids must be printable ASCII (0x20 to 0x7e) ` +
        `(${hexBytes(blob, idStart, Math.min(idEnd, idStart + 16))})`,
    );
  }
  if (bad < A) {
    const a = bad;
    const end = offsets[a + 1];
    if (end < start) {
      fail('section accountIdOffsets', `offsets[${a + 1}] = ${end} is below offsets[${a}] = ${start}; offsets must not decrease`);
    }
    if (end > total) fail('section accountIdOffsets', `offsets[${a + 1}] = ${end} runs past the end of section accountIds (${total} bytes)`);
    if (end === start) fail(`accounts[${a}] id`, 'must not be empty');
    fail(`accounts[${a}] id`, `is ${end - start} characters long; at most ${ACCOUNT_ID_LENGTH_MAX}`);
  }
}

/** The index of the first byte of bytes[0, end) outside 0x20..0x7e, or -1. Four bytes at a time where aligned. */
function firstUnprintable(bytes: Uint8Array, end: number): number {
  let i = 0;
  const misalignment = bytes.byteOffset & 3;
  for (const head = Math.min(end, misalignment === 0 ? 0 : 4 - misalignment); i < head; i++) {
    if (bytes[i] < 0x20 || bytes[i] > 0x7e) return i;
  }
  const base = i;
  const words = new Int32Array(bytes.buffer, bytes.byteOffset + base, (end - base) >>> 2);
  for (let w = 0; w < words.length; w++) {
    const x = words[w];
    // Some byte is below 0x20 (subtracting 0x20 from it sets its top bit, which it did not have) or
    // above 0x7e (it has its top bit, or adding 1 sets it). Exact for the first such byte; the
    // bytes of the word are then looked at one by one.
    if ((((x - 0x20202020) & ~x) | (x + 0x01010101) | x) & 0x80808080) {
      for (let k = base + w * 4, stop = k + 4; k < stop; k++) if (bytes[k] < 0x20 || bytes[k] > 0x7e) return k;
    }
  }
  for (i = base + words.length * 4; i < end; i++) if (bytes[i] < 0x20 || bytes[i] > 0x7e) return i;
  return -1;
}

/** The id among ids [0, limit) whose bytes hold byte i (those ids are non-empty, so the offsets rise). */
function idContaining(offsets: Uint32Array, i: number, limit: number): number {
  let low = 0;
  let high = limit - 1;
  while (low < high) {
    const middle = (low + high + 1) >>> 1;
    if (offsets[middle] <= i) low = middle;
    else high = middle - 1;
  }
  return low;
}

/**
 * The accounts' position counts add up to positionCount. With `starts`, also writes each account's
 * first record (the prefix sums: the loader's accPosStart).
 */
function checkPositionTotal(columns: BookColumns, starts: Uint32Array | null): void {
  const counts = columns.accPosCount;
  const P = columns.positionCount;
  let total = 0;
  for (let a = 0; a < counts.length; a++) {
    if (starts !== null) starts[a] = total;
    total += counts[a];
    if (total > P) {
      fail(
        `${accountPath(columns.accountIds, a)} positions`,
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
 * valid and the counts add up (checkPositionTotal). Account a's records start at blockStarts[a],
 * or, when blockStarts is null, right after the previous account's. Returns each instrument's
 * largest |size| (the engine's size high-water marks), found on the way.
 */
function checkColumns(columns: BookColumns, blockStarts: Uint32Array | null): bigint[] {
  const { instruments, accountIds, accBalance, accPosCount, posSize, posCost, posMargin, posFunding, posInst, posMode, posLeverage } =
    columns;
  const instrumentCount = instruments.length;
  const A = accountIds.count;
  const rules: InstrumentRules[] = instruments.map(instrumentRules);
  const fast: InstrumentFastRules[] = instruments.map(instrumentFastRules);
  // The i64 columns as 32-bit word pairs, read as doubles without creating BigInts; a position the
  // double filter cannot accept outright is checked exactly (and explained) by checkPosition.
  const balanceWords = wordsOf(accBalance);
  const sizeWords = wordsOf(posSize);
  const costWords = wordsOf(posCost);
  const marginWords = wordsOf(posMargin);
  const fundingWords = wordsOf(posFunding);
  // (instrument, mode) → the account (plus 1) that last held it.
  const seenBy = new Uint32Array(Math.max(1, instrumentCount * 2));
  // Largest |size| per instrument: as doubles for what the filter accepted (exact: below 2^53),
  // as BigInts for the few positions checked exactly.
  const highWater = new Float64Array(Math.max(1, instrumentCount));
  const highWaterExact: bigint[] = instruments.map(() => 0n);
  const position: PositionInts = { sizeUnits: 0n, costMicro: 0n, mode: 0, marginMicro: 0n, leverage: 0, fundingIndex: 0n };
  let j = 0;
  for (let a = 0; a < A; a++) {
    const balanceHigh = balanceWords[2 * a + 1];
    const balance = balanceHigh * 4294967296 + (balanceWords[2 * a] >>> 0);
    if (!((((balanceHigh >> 21) + 1) >>> 1) === 0 && balance >= -BALANCE_FAST_MAX && balance <= BALANCE_FAST_MAX)) {
      const balanceReason = checkBalance(accBalance[a]);
      if (balanceReason !== null) fail(`${accountPath(accountIds, a)} balanceMicro`, balanceReason);
    }
    const count = accPosCount[a];
    if (count > POSITIONS_PER_ACCOUNT_MAX) fail(`${accountPath(accountIds, a)} positions`, checkPositionCount(count) as string);
    if (blockStarts !== null) j = blockStarts[a];
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
      // The four i64 values as doubles, exact when their high words say |value| < 2^53 (tested
      // once for all four, on integers: see wordsOf); otherwise the exact check decides.
      const sizeHigh = sizeWords[2 * j + 1];
      const costHigh = costWords[2 * j + 1];
      const marginHigh = marginWords[2 * j + 1];
      const fundingHigh = fundingWords[2 * j + 1];
      const size = sizeHigh * 4294967296 + (sizeWords[2 * j] >>> 0);
      if (
        ((((sizeHigh >> 21) + 1) | ((costHigh >> 21) + 1) | ((marginHigh >> 21) + 1) | ((fundingHigh >> 21) + 1)) >>> 1) === 0 &&
        positionPlainlyValid(
          fast[inst],
          size,
          costHigh * 4294967296 + (costWords[2 * j] >>> 0),
          mode,
          marginHigh * 4294967296 + (marginWords[2 * j] >>> 0),
          posLeverage[j],
          fundingHigh * 4294967296 + (fundingWords[2 * j] >>> 0),
        )
      ) {
        highWater[inst] = Math.max(highWater[inst], Math.abs(size)); // no branch: cheaper than a compare and a rare store
      } else {
        position.sizeUnits = posSize[j];
        position.costMicro = posCost[j];
        position.mode = mode;
        position.marginMicro = posMargin[j];
        position.leverage = posLeverage[j];
        position.fundingIndex = posFunding[j];
        const issue = checkPosition(rules[inst], position);
        if (issue !== null) fail(`${positionPath(columns, a, k, inst)} ${issue.field}`, issue.reason);
        const magnitude = position.sizeUnits < 0n ? -position.sizeUnits : position.sizeUnits;
        if (magnitude > highWaterExact[inst]) highWaterExact[inst] = magnitude;
      }
      const key = inst * 2 + mode;
      if (seenBy[key] === stamp) {
        let first = 0; // the account's earlier position with this key (looked for only now)
        while (posInst[j - k + first] * 2 + posMode[j - k + first] !== key) first++;
        fail(
          `${positionPath(columns, a, k, inst)} mode`,
          `a second ${mode === MODE_CROSS ? 'cross' : 'isolated'} position in ${instruments[inst].symbol}; ` +
            `positions[${first}] is one (at most one per instrument and mode)`,
        );
      }
      seenBy[key] = stamp;
    }
  }
  return highWaterExact.map((exact, i) => {
    const plain = BigInt(highWater[i]);
    return plain > exact ? plain : exact;
  });
}

/** |balance| below this is plainly within ±QUOTE_ABS_MAX (and exact as a double). */
const BALANCE_FAST_MAX = 9_000_000_000_000_000;

/**
 * An i64 column as 32-bit words, little-endian pairs: element i is high · 2^32 + (low >>> 0) with
 * high = words[2i + 1], low = words[2i]. That double is exact when −2^21 ≤ high < 2^21 (|value| <
 * 2^53), i.e. when ((high >> 21) + 1) >>> 1 is 0 (high >> 21 is −1 or 0); several such tests are
 * combined with `|` before the shift.
 */
function wordsOf(column: BigInt64Array): Int32Array {
  return new Int32Array(column.buffer, column.byteOffset, column.length * 2);
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

/**
 * Throws for the first of `accountIds` (in account order) equal to an earlier one, without a string
 * per id, from their sections `ids` (AccountIds.blob(), made once by the caller). Each
 * id's bytes are hashed (one pass over the blob), the (hash, account) pairs are split by the hash's
 * top bits into buckets of at most ~32,768 ids, in account order, and each bucket goes through a
 * small open-addressing table that stays in cache. Equal hashes are compared byte by byte. Uses 12
 * bytes per account while it runs. The hash is seeded at random, so no file can make it slow on
 * purpose.
 */
function checkDuplicateIds(accountIds: AccountIds, ids: IdBlob): void {
  const { offsets, bytes } = ids;
  const A = offsets.length - 1;
  if (A < 2) return;
  const seed = (Math.random() * 0x100000000) >>> 0;
  const hashes = new Int32Array(A);
  for (let a = 0; a < A; a++) hashes[a] = hashId(bytes, offsets[a], offsets[a + 1], seed);

  let bucketBits = 0;
  while (bucketBits < 16 && A / 2 ** bucketBits > DUPLICATE_BUCKET_IDS) bucketBits++;
  const buckets = 2 ** bucketBits;
  const shift = 32 - bucketBits; // (a shift by 32 is a shift by 0 in JavaScript: bucket 0 is then special-cased)
  const ends = new Int32Array(buckets + 1);
  if (bucketBits === 0) ends[1] = A;
  else {
    for (let a = 0; a < A; a++) ends[(hashes[a] >>> shift) + 1]++;
    for (let b = 0; b < buckets; b++) ends[b + 1] += ends[b];
  }
  // Pairs (hash, account) by bucket, each bucket in account order.
  const pairs = new Int32Array(2 * A);
  const fill = ends.slice(0, buckets);
  for (let a = 0; a < A; a++) {
    const h = hashes[a];
    const at = bucketBits === 0 ? a : fill[h >>> shift]++;
    pairs[2 * at] = h;
    pairs[2 * at + 1] = a;
  }

  let largest = 0;
  for (let b = 0; b < buckets; b++) largest = Math.max(largest, ends[b + 1] - ends[b]);
  let slots = 16;
  while (slots < 2 * largest) slots *= 2;
  const mask = slots - 1;
  const table = new Int32Array(2 * slots); // (hash, account + 1) per slot; 0 is empty
  let duplicate = -1;
  let earlier = -1;
  for (let b = 0; b < buckets; b++) {
    if (b > 0) table.fill(0);
    bucket: for (let k = ends[b]; k < ends[b + 1]; k++) {
      const h = pairs[2 * k];
      const a = pairs[2 * k + 1];
      for (let slot = h & mask; ; slot = (slot + 1) & mask) {
        const held = table[2 * slot + 1];
        if (held === 0) {
          table[2 * slot] = h;
          table[2 * slot + 1] = a + 1;
          break;
        }
        if (table[2 * slot] === h && sameId(offsets, bytes, held - 1, offsets[a], offsets[a + 1])) {
          // The bucket's first repeat; the book's is the first over all buckets.
          if (duplicate < 0 || a < duplicate) {
            duplicate = a;
            earlier = held - 1;
          }
          break bucket;
        }
      }
    }
  }
  if (duplicate >= 0) {
    const id = accountIds.get(duplicate);
    fail(`accounts[${duplicate}] (${id}) id`, `duplicate account id "${id}"; accounts[${earlier}] has it`);
  }
}

/** The duplicate check of checkDuplicateIds by building the ids' lookup table, which the book keeps. */
function checkDuplicateIdsIndexing(ids: AccountIds): void {
  const duplicate = ids.buildIndex();
  if (duplicate >= 0) {
    const id = ids.get(duplicate);
    fail(`accounts[${duplicate}] (${id}) id`, `duplicate account id "${id}"; accounts[${ids.indexOf(id)}] has it`);
  }
}

/** Ids per bucket of the duplicate check: its table (2 slots an id, 8 bytes a slot) is then 512 KiB. */
const DUPLICATE_BUCKET_IDS = 32_768;

/** FNV-1a over the id's bytes, then murmur3's finalizer so that every bit depends on every byte. */
function hashId(bytes: Uint8Array, start: number, end: number, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function sameId(offsets: Uint32Array, bytes: Uint8Array, other: number, start: number, end: number): boolean {
  const otherStart = offsets[other];
  if (offsets[other + 1] - otherStart !== end - start) return false;
  for (let i = 0; i < end - start; i++) if (bytes[otherStart + i] !== bytes[start + i]) return false;
  return true;
}

function accountPath(ids: AccountIds, a: number): string {
  return `accounts[${a}] (${ids.get(a)})`;
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

/** The bytes of a typed array (a view, no copy). */
function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** The bytes of a column's first `count` elements (a view into the engine's memory). */
function prefixBytes(column: BigInt64Array | Uint32Array | Uint16Array | Uint8Array, count: number): Uint8Array {
  return new Uint8Array(column.buffer, column.byteOffset, count * column.BYTES_PER_ELEMENT);
}

function dataViewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function chunkBytesOption(value: number | undefined): number {
  if (value === undefined) return BOOK_FILE_CHUNK_BYTES;
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`chunkBytes must be a whole number of bytes above 0, got ${value}`);
  return value;
}

/** Opens a file for reading, or throws BookError naming it. */
function openFile(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EISDIR') fail(path, 'is a directory, not a binary book file');
    fail(path, `cannot open: ${systemMessage(error)}`);
  }
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
