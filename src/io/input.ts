// Reading a book from where the command line names it: a regular file, a FIFO, or `-` (standard
// input). Binary and JSON books are told apart by content. Every source is read with limits, so no
// input can make the command read without end, hang, or run out of memory, and every refusal is one
// line: InputError for the source itself (it cannot be opened, is the wrong kind of file, is too
// large, has no writer), BookError (prefixed with the path) for its content. docs/book-json.md,
// "Reading books: sources and limits", states the rules and the messages.
import { Buffer } from 'node:buffer';
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { isatty } from 'node:tty';
import { setTimeout as sleep } from 'node:timers/promises';
import { warmUpOperations } from '../account/warm-up.js';
import { BOOK_BINARY_MAGIC, isBookBinary, loadBookBinaryFile } from '../book/binary.js';
import { BookError } from '../book/errors.js';
import { parseBookJson } from '../book/json.js';
import { Engine } from '../engine/engine.js';
import { InputError, systemMessage } from './errors.js';

/**
 * The largest JSON book read, in bytes (128 MiB). A regular file over it is refused from its size,
 * before it is read; a pipe is read up to it and no further. Larger books go in the binary format.
 */
export const JSON_BOOK_BYTES_MAX = 128 * 1024 * 1024;
/**
 * The most accounts a JSON book may have (1,000,000); checked right after parsing, before any
 * account is validated or the engine is built.
 */
export const JSON_BOOK_ACCOUNTS_MAX = 1_000_000;
/** How long a FIFO with no writer is waited for before it is refused (10 s). */
export const FIFO_WRITER_WAIT_MS = 10_000;
/** Bytes at the start of a source that tell a damaged binary book from JSON text. */
export const HEAD_BYTES = 4096;
/** A head with at least this many of the magic's 8 bytes in place, but not all, is a damaged binary book. */
export const MAGIC_BYTES_NEAR = 5;
/** A head with more than this percentage of bytes that are not text (nor UTF-8) is binary. */
export const BINARY_BYTES_PERCENT = 30;

/** What the loaders say, in one place (the tests and docs/book-json.md quote them). */
const KINDS_READ = 'a book is read from a regular file, a pipe or - (standard input)';
const USE_BINARY = 'use the binary format for larger books (liq gen writes it; docs/book-binary.md)';

export interface BookSourceOptions {
  /** Passed to the binary loader: (bytes read so far, file size) as its sections are read. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** The stream `-` reads instead of process.stdin (for tests). */
  stdin?: NodeJS.ReadableStream;
  /** How long a FIFO with no writer is waited for. Default FIFO_WRITER_WAIT_MS. */
  fifoWriterWaitMs?: number;
  /** The JSON byte limit. Default JSON_BOOK_BYTES_MAX; tests lower it to exercise pipes cheaply. */
  jsonBytesMax?: number;
  /** EngineOptions.hugePages for the engine made. Default true (the `liq` commands pass false). */
  hugePages?: boolean;
}

/**
 * Loads a book from a path or '-' (standard input): binary or JSON told apart by content. A binary
 * book is loaded from a regular file only (streamed into the engine by loadBookBinaryFile); a JSON
 * book from a regular file, a FIFO or standard input, up to JSON_BOOK_BYTES_MAX bytes and
 * JSON_BOOK_ACCOUNTS_MAX accounts. The engine comes back with its operation path warmed up.
 * Throws InputError or BookError, each a one-line message that starts with the path.
 */
export async function loadBookSource(path: string, options: BookSourceOptions = {}): Promise<Engine> {
  const bytesMax = options.jsonBytesMax ?? JSON_BOOK_BYTES_MAX;
  let text: string;
  if (path === '-') {
    text = await readStdinText(options, bytesMax);
  } else {
    const stat = statSource(path);
    if (stat.isFIFO()) {
      text = await readFifoText(path, options.fifoWriterWaitMs ?? FIFO_WRITER_WAIT_MS, bytesMax);
    } else {
      const read = readRegularFile(path, bytesMax);
      if (read.binary) return loadBinary(path, options);
      text = read.text;
    }
  }
  return engineFromJson(path, text, options.hugePages);
}

// ---------------------------------------------------------------------------------------------
// Kinds of source

/** The source's kind, following symlinks; refuses what a book is never read from. */
function statSource(path: string): Stats {
  let stat: Stats;
  try {
    stat = statSync(path);
  } catch (error) {
    throw new InputError(`${path}: cannot open: ${systemMessage(error)}`);
  }
  if (stat.isFile() || stat.isFIFO()) return stat;
  throw new InputError(`${path}: ${kindOf(stat)}; ${KINDS_READ}`);
}

function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return 'is a directory';
  if (stat.isCharacterDevice()) return 'is a character device';
  if (stat.isBlockDevice()) return 'is a block device';
  if (stat.isSocket()) return 'is a socket';
  return 'is not a regular file';
}

// ---------------------------------------------------------------------------------------------
// A regular file

/**
 * Opens `path` for reading and fstats the descriptor, each failure one line. Without blocking: a
 * FIFO (or a file swapped for one since it was looked at) is refused by its kind afterwards, never
 * waited on for a writer (O_NONBLOCK changes nothing for a regular file).
 */
function openForRead(path: string): { fd: number; stat: Stats } {
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (error) {
    throw new InputError(`${path}: cannot open: ${systemMessage(error)}`);
  }
  try {
    return { fd, stat: fstatSync(fd) };
  } catch (error) {
    closeSync(fd);
    throw new InputError(`${path}: cannot read: ${systemMessage(error)}`);
  }
}

/** Reads a regular file's head, then (JSON) the whole of it, by size first. */
function readRegularFile(path: string, bytesMax: number): { binary: true } | { binary: false; text: string } {
  const { fd, stat } = openForRead(path);
  let bytes: Uint8Array;
  try {
    if (!stat.isFile()) throw new InputError(`${path}: ${kindOf(stat)}; ${KINDS_READ}`);
    const size = stat.size;
    const head = new Uint8Array(HEAD_BYTES);
    const headLength = readFully(path, fd, head, 0);
    if (isBookBinary(head.subarray(0, headLength))) return { binary: true };
    refuseHead(path, head.subarray(0, headLength));
    if (size > bytesMax) {
      throw new InputError(
        `${path}: has ${grouped(size)} bytes; a JSON book may have at most ${bytesText(bytesMax)}: ${USE_BINARY}`,
      );
    }
    bytes = readWhole(path, fd, size, bytesMax);
  } finally {
    closeSync(fd);
  }
  return { binary: false, text: decodeUtf8(path, bytes) };
}

/**
 * The whole text of a regular file that is not a book (a venue's response, an instruments file):
 * at most bytesMax bytes, checked from its size before a byte is read and again as it is read,
 * strict UTF-8 (a byte order mark dropped). `what` names the file in the messages ("a venue file").
 */
export function readRegularText(path: string, bytesMax: number, what: string): string {
  const { fd, stat } = openForRead(path);
  let bytes: Uint8Array;
  try {
    if (!stat.isFile()) throw new InputError(`${path}: ${stat.isFIFO() ? 'is a FIFO' : kindOf(stat)}; ${what} is read from a regular file`);
    if (stat.size > bytesMax) throw new InputError(`${path}: has ${grouped(stat.size)} bytes; ${what} may have at most ${bytesText(bytesMax)}`);
    bytes = readWhole(path, fd, stat.size, bytesMax, `${what} may have at most that`);
  } finally {
    closeSync(fd);
  }
  try {
    return decodeUtf8(path, bytes, what);
  } catch (error) {
    if (error instanceof BookError) throw new InputError(error.message);
    throw error;
  }
}

/** Reads into target[at…] from file offset `at` until it is full or the file ends; returns the bytes in target. */
function readFully(path: string, fd: number, target: Uint8Array, at: number): number {
  let done = at;
  while (done < target.length) {
    let read: number;
    try {
      read = readSync(fd, target, done, target.length - done, done);
    } catch (error) {
      throw new InputError(`${path}: cannot read: ${systemMessage(error)}`);
    }
    if (read === 0) break;
    done += read;
  }
  return done;
}

/**
 * The whole file, read into one buffer of its size (plus the one byte that tells a file that grew
 * since fstat); a file that grew is read on, up to one byte past the limit, and refused there.
 */
function readWhole(path: string, fd: number, size: number, bytesMax: number, limit = `a JSON book may have at most that: ${USE_BINARY}`): Uint8Array {
  let buffer = Buffer.allocUnsafe(Math.min(Math.max(size + 1, 64 * 1024), bytesMax + 1));
  let total = 0;
  for (;;) {
    total = readFully(path, fd, buffer, total);
    if (total < buffer.length) return buffer.subarray(0, total);
    if (total > bytesMax) {
      throw new InputError(
        `${path}: has more than ${bytesText(bytesMax)} (it grew while it was being read); ${limit}`,
      );
    }
    const larger = Buffer.allocUnsafe(Math.min(buffer.length * 2, bytesMax + 1));
    larger.set(buffer);
    buffer = larger;
  }
}

/** The binary loader on a regular file, its errors named by the path. */
function loadBinary(path: string, options: BookSourceOptions): Engine {
  try {
    return loadBookBinaryFile(path, { onProgress: options.onProgress, hugePages: options.hugePages });
  } catch (error) {
    if (error instanceof BookError) {
      // The loader names the file itself for a file it cannot open or read; anything else is content.
      if (error.path === path) throw new InputError(error.message);
      throw new BookError(`${path}: ${error.path}`, error.reason);
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Pipes: a FIFO named on the command line, and standard input

/**
 * The bytes of a pipe, gathered up to the limit: refused as soon as the head shows a binary book
 * (a binary book is loaded from a regular file) or a damaged one, or the bytes pass the limit.
 */
class PipeBytes {
  private buffer = Buffer.allocUnsafe(64 * 1024);
  private total = 0;
  private magicChecked = false;
  private headChecked = false;

  constructor(
    private readonly path: string,
    private readonly bytesMax: number,
  ) {}

  /** Free room to read into (grown as needed; never past the limit plus one byte). */
  room(): Uint8Array {
    if (this.total === this.buffer.length) {
      // Doubling, but straight to the limit plus one byte once doubling would pass the limit.
      const doubled = this.buffer.length * 2;
      const larger = Buffer.allocUnsafe(doubled >= this.bytesMax ? this.bytesMax + 1 : doubled);
      larger.set(this.buffer);
      this.buffer = larger;
    }
    return this.buffer.subarray(this.total);
  }

  /** Counts `count` bytes written into room(), and checks what has arrived. */
  advance(count: number): void {
    this.total += count;
    if (!this.magicChecked && this.total >= BOOK_BINARY_MAGIC.length) this.checkMagic();
    if (!this.headChecked && this.total >= HEAD_BYTES) this.checkHead();
    if (this.total > this.bytesMax) {
      throw new InputError(
        `${this.path}: more than ${bytesText(this.bytesMax)} arrived; a JSON book may have at most that: ${USE_BINARY}, ` +
          'read from a regular file',
      );
    }
  }

  /** Copies a chunk in. */
  add(chunk: Uint8Array): void {
    for (let at = 0; at < chunk.length; ) {
      const room = this.room();
      const count = Math.min(room.length, chunk.length - at);
      room.set(chunk.subarray(at, at + count));
      at += count;
      this.advance(count);
    }
  }

  /** The text, once the pipe has ended. */
  text(): string {
    if (!this.magicChecked) this.checkMagic();
    if (!this.headChecked) this.checkHead();
    const bytes = this.buffer.subarray(0, this.total);
    this.buffer = Buffer.alloc(0);
    return decodeUtf8(this.path, bytes);
  }

  private checkMagic(): void {
    this.magicChecked = true;
    if (isBookBinary(this.buffer.subarray(0, this.total))) {
      const what = this.path === '-' ? 'standard input' : 'a pipe';
      throw new InputError(
        `${this.path}: a binary book is loaded from a regular file, not ${what} (the loader needs the file's size and ` +
          'random access): name the file',
      );
    }
  }

  private checkHead(): void {
    this.headChecked = true;
    refuseHead(this.path, this.buffer.subarray(0, Math.min(this.total, HEAD_BYTES)));
  }
}

/**
 * A FIFO, opened without blocking (a blocking open of a FIFO with no writer blocks the whole
 * thread) and read by polling: a read that would block (EAGAIN) means a writer is there with no
 * data yet; 0 bytes before any writer appeared means none has yet; 0 bytes after data or EAGAIN is
 * the end. No writer within `waitMs` is refused. Waits are timers, not a busy loop.
 */
async function readFifoText(path: string, waitMs: number, bytesMax: number): Promise<string> {
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (error) {
    throw new InputError(`${path}: cannot open: ${systemMessage(error)}`);
  }
  const bytes = new PipeBytes(path, bytesMax);
  try {
    const deadline = Date.now() + waitMs;
    let writer = false;
    let delay = FIFO_POLL_MIN_MS;
    for (;;) {
      let read: number;
      try {
        const room = bytes.room();
        read = readSync(fd, room, 0, room.length, null);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') {
          throw new InputError(`${path}: cannot read: ${systemMessage(error)}`);
        }
        writer = true;
        await sleep(delay);
        delay = Math.min(delay * 2, FIFO_POLL_MAX_MS);
        continue;
      }
      if (read > 0) {
        writer = true;
        delay = FIFO_POLL_MIN_MS;
        bytes.advance(read);
        continue;
      }
      if (writer) break; // the writer closed its end
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new InputError(
          `${path}: no writer opened the FIFO within ${seconds(waitMs)}; a book is read from a FIFO while something writes into it`,
        );
      }
      await sleep(Math.min(FIFO_NO_WRITER_POLL_MS, left));
    }
  } finally {
    closeSync(fd);
  }
  return bytes.text();
}

/** Waits between polls of a FIFO: while a writer is there but slow, and while there is none yet. */
const FIFO_POLL_MIN_MS = 1;
const FIFO_POLL_MAX_MS = 16;
const FIFO_NO_WRITER_POLL_MS = 10;

/** Standard input: a pipe, a socket or a redirected file, read as a stream up to the limit. */
async function readStdinText(options: BookSourceOptions, bytesMax: number): Promise<string> {
  let stream = options.stdin;
  if (stream === undefined) {
    if (isatty(0)) throw new InputError('-: standard input is a terminal; pipe a book in');
    let stat: Stats;
    try {
      stat = fstatSync(0);
    } catch (error) {
      throw new InputError(`-: cannot open: ${systemMessage(error)}`);
    }
    if (stat.isDirectory()) throw new InputError(`-: standard input is a directory; ${KINDS_READ}`);
    stream = process.stdin;
  } else if ((stream as { isTTY?: boolean }).isTTY === true) {
    throw new InputError('-: standard input is a terminal; pipe a book in');
  }
  const bytes = new PipeBytes('-', bytesMax);
  try {
    // Leaving the loop early (a refusal) destroys the stream: nothing more is read.
    for await (const chunk of stream) bytes.add(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array));
  } catch (error) {
    if (error instanceof InputError || error instanceof BookError) throw error;
    throw new InputError(`-: cannot read: ${systemMessage(error)}`);
  }
  return bytes.text();
}

// ---------------------------------------------------------------------------------------------
// What the bytes are

/**
 * Why a head (the first HEAD_BYTES bytes of a source, or all of a shorter one) that is not a
 * binary book cannot be JSON text either, or null when it may be:
 *
 * - at least MAGIC_BYTES_NEAR of the magic's 8 bytes in place (of those the source has), but not
 *   all 8: a binary book whose magic is damaged (or cut short);
 * - UTF-16 text (a UTF-16 byte order mark): a JSON book is UTF-8;
 * - a NUL byte, or more than BINARY_BYTES_PERCENT % of the bytes neither printable ASCII, whitespace
 *   (tab, LF, FF, CR) nor part of a valid UTF-8 sequence (a sequence cut off by the end of the head
 *   counts as valid): binary data, taken for a damaged binary book.
 *
 * A UTF-8 byte order mark and non-ASCII UTF-8 text are text. JSON itself cannot start with the
 * magic's letters (it starts with whitespace, `{`, `[`, `"`, a digit, `-`, t, f or n).
 */
export function headProblem(head: Uint8Array): string | null {
  const magic = BOOK_BINARY_MAGIC;
  const compared = Math.min(magic.length, head.length);
  const differ: number[] = [];
  for (let i = 0; i < compared; i++) if (head[i] !== magic[i]) differ.push(i);
  const inPlace = compared - differ.length;
  if (inPlace >= MAGIC_BYTES_NEAR && !(compared === magic.length && differ.length === 0)) {
    if (differ.length === 0) {
      return (
        `damaged binary book header: the file has ${head.length} bytes, the start of the ${magic.length}-byte ` +
        `magic ${MAGIC_TEXT} and nothing after it`
      );
    }
    const bytes = differ.map((i) => `${i} (0x${hex(head[i])}, not 0x${hex(magic[i])})`);
    return (
      `damaged binary book header: bytes 0 to ${compared - 1} are ${hexBytes(head.subarray(0, compared))}, not the magic ` +
      `${MAGIC_TEXT}: byte${differ.length > 1 ? 's' : ''} ${listed(bytes)} differ${differ.length > 1 ? '' : 's'}`
    );
  }
  if (head.length >= 2 && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff))) {
    return `is UTF-16 text (it starts with the byte order mark ${hexBytes(head.subarray(0, 2))}); a JSON book is UTF-8`;
  }
  const got = `it starts with ${hexBytes(head.subarray(0, 8))}, not the magic ${MAGIC_TEXT}`;
  const nul = head.indexOf(0);
  if (nul >= 0) {
    return `damaged binary book header: byte ${nul} is a NUL (0x00), which JSON text never has, and ${got}`;
  }
  const odd = nonTextBytes(head);
  if (odd * 100 > head.length * BINARY_BYTES_PERCENT) {
    return (
      `damaged binary book header: ${odd} of the first ${head.length} bytes (${((100 * odd) / head.length).toFixed(1)}%) ` +
      `are neither text nor UTF-8, and ${got}`
    );
  }
  return null;
}

const MAGIC_TEXT = `${hexBytes(BOOK_BINARY_MAGIC)} ("LIQBOOK\\0")`;

function refuseHead(path: string, head: Uint8Array): void {
  const problem = headProblem(head);
  if (problem !== null) throw new BookError(path, problem);
}

/** Bytes that are not printable ASCII, tab, LF, FF, CR, or part of a valid (or cut-off) UTF-8 sequence. */
export function nonTextBytes(bytes: Uint8Array): number {
  let odd = 0;
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    if ((b >= 0x20 && b <= 0x7e) || b === 0x09 || b === 0x0a || b === 0x0c || b === 0x0d) {
      i++;
      continue;
    }
    const length = utf8Sequence(bytes, i);
    if (length === CUT_OFF) break;
    if (length > 1) {
      i += length;
      continue;
    }
    odd++; // a control character, DEL, or a byte no valid UTF-8 sequence starts here with
    i++;
  }
  return odd;
}

const CUT_OFF = -1;

/**
 * The length (1 to 4) of the valid UTF-8 sequence at bytes[i], 0 if none starts there, or CUT_OFF
 * when the bytes end inside what is so far a valid sequence. Valid as the WHATWG decoder (and
 * TextDecoder) has it: no overlong forms, no surrogates, nothing above U+10FFFF.
 */
function utf8Sequence(bytes: Uint8Array, i: number): number {
  const lead = bytes[i];
  if (lead < 0x80) return 1;
  let need: number;
  let low = 0x80;
  let high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) need = 1;
  else if (lead >= 0xe0 && lead <= 0xef) {
    need = 2;
    if (lead === 0xe0) low = 0xa0;
    else if (lead === 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    need = 3;
    if (lead === 0xf0) low = 0x90;
    else if (lead === 0xf4) high = 0x8f;
  } else return 0;
  for (let k = 1; k <= need; k++) {
    if (i + k >= bytes.length) return CUT_OFF;
    const next = bytes[i + k];
    if (next < low || next > high) return 0;
    low = 0x80;
    high = 0xbf;
  }
  return need + 1;
}

/** Where the first invalid UTF-8 is: the offset of the byte it starts at, and whether the bytes end inside a character. */
export function firstInvalidUtf8(bytes: Uint8Array): { offset: number; cutOff: boolean } | null {
  for (let i = 0; i < bytes.length; ) {
    const length = utf8Sequence(bytes, i);
    if (length > 0) i += length;
    else return { offset: i, cutOff: length === CUT_OFF };
  }
  return null;
}

/**
 * UTF-8 bytes as text, strictly (TextDecoder with fatal: true). A UTF-8 byte order mark at the
 * start is dropped (RFC 8259 lets a parser ignore it); invalid UTF-8 is refused, naming its offset.
 */
export function decodeUtf8(path: string, bytes: Uint8Array, what = 'a JSON book'): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    const bad = firstInvalidUtf8(bytes);
    if (bad === null) throw error;
    const reason = bad.cutOff
      ? `it ends inside a character that starts at byte ${bad.offset} (0x${hex(bytes[bad.offset])})`
      : `byte ${bad.offset} (0x${hex(bytes[bad.offset])}) does not start or continue a character there`;
    throw new BookError(path, `is not valid UTF-8: ${reason}; ${what} is UTF-8 text`);
  }
}

/** The book in a JSON text: parsed (at most JSON_BOOK_ACCOUNTS_MAX accounts), validated, loaded, warmed up. */
function engineFromJson(path: string, text: string, hugePages: boolean | undefined): Engine {
  try {
    const engine = Engine.fromBook(parseBookJson(text, { accountsMax: JSON_BOOK_ACCOUNTS_MAX }), { hugePages });
    warmUpOperations(engine);
    return engine;
  } catch (error) {
    if (error instanceof BookError) throw new BookError(`${path}: ${error.path}`, error.reason);
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, hex).join(' ');
}

function listed(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function grouped(value: number): string {
  return value.toLocaleString('en-US');
}

/** "134,217,728 bytes (128 MiB)". */
function bytesText(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return `${grouped(bytes)} bytes${Number.isInteger(mib) ? ` (${mib} MiB)` : ''}`;
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}
