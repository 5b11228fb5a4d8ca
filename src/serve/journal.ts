// The journal (docs/journal.md): one durable, append-only stream of records, each numbered by a
// gap-free seq, kept in a directory as segment files that rotate at a size and may be pruned from
// the oldest end. The live server writes every accepted input here before it acts on it, so that a
// restart replays exactly what was accepted: a record counts once it is durable, and what a crash
// tore off the end of the last segment is dropped on open, while damage anywhere else stops the
// open, since a journal with a hole in the middle cannot be replayed.
//
// Everything is synchronous except waiting for a group commit: appends go to the file at once
// (writeSync), so reads in this process see them, and fsyncs either follow each append ('always')
// or are gathered into one per window ('group'). A failed write or fsync poisons the journal: after
// a failed fsync the kernel may have dropped the dirty pages and a retry can report success without
// the data (the 2018 "fsyncgate"), so the only honest answer is to stop.
import { Buffer } from 'node:buffer';
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  readdirSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32 } from '../book/binary.js';
import { systemMessage } from '../io/errors.js';

/** The first 8 bytes of every segment file. */
export const JOURNAL_MAGIC = Buffer.from('LIQJRNL1', 'latin1');
/** The format version this module reads and writes. */
export const JOURNAL_VERSION = 1;
/** Bytes of a segment's header: magic, version u32, reserved u32, first seq u64, reserved u64. */
export const SEGMENT_HEADER_BYTES = 32;
/** Bytes before each record's payload: length u32, crc32 u32, seq u64. */
export const RECORD_HEADER_BYTES = 16;
/** The largest payload of one record. */
export const PAYLOAD_BYTES_MAX = 16 * 1024 * 1024;
/** segmentBytes when not given. */
export const SEGMENT_BYTES_DEFAULT = 64 * 1024 * 1024;
/** The smallest segmentBytes accepted: below a page, rotation would cost more than the records. */
export const SEGMENT_BYTES_MIN = 4096;
/** The group commit window when no fsync policy is given. */
export const GROUP_WINDOW_MS_DEFAULT = 2;
/** The longest group commit window accepted: past a second it is no longer a commit window. */
export const GROUP_WINDOW_MS_MAX = 1000;
/** What a journal's name may be: it starts every file name, so two journals share a directory. */
export const JOURNAL_NAME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

const SEGMENT_SUFFIX = '.seg';
/** Digits of the first seq in a segment's name: a u64 in decimal, so names sort by seq. */
const SEQ_DIGITS = 20;
const MAGIC_BYTES = 8;
const VERSION_OFFSET = 8;
const FIRST_SEQ_OFFSET = 16;
const CRC_OFFSET = 4;
const SEQ_OFFSET = 8;
const SEQ_BYTES = 8;
const TWO_32 = 2 ** 32;
/** A seq's high u32 above this is past Number.MAX_SAFE_INTEGER (2^53 - 1). */
const SEQ_HIGH_MAX = 2 ** 21 - 1;
/** Reads fetch this many bytes of a segment at a time into the reused buffer. */
const READ_CHUNK_BYTES = 1024 * 1024;
/** A segment remembers where a record starts at least every this many bytes, so a read at any seq scans at most this far. */
const INDEX_STRIDE_BYTES = 64 * 1024;
/** appendMany writes its records in pieces of at most this many bytes (one piece unless huge). */
const WRITE_BATCH_BYTES = 4 * 1024 * 1024;

export type FsyncPolicy =
  | { mode: 'always' } // fsync before append() returns: the record is durable when append returns
  | { mode: 'group'; windowMs: number } // appends are written at once and fsynced together at most windowMs later
  | { mode: 'none' }; // never fsync (the OS flushes); for tests and benchmarks only

export interface JournalOptions {
  /** Created (with its parents) if missing. */
  dir: string;
  /** JOURNAL_NAME_PATTERN; every file of the journal starts with it. */
  name: string;
  /** Start a new segment when the current one would exceed this many bytes. Default SEGMENT_BYTES_DEFAULT, at least SEGMENT_BYTES_MIN. */
  segmentBytes?: number;
  /** Keep at most this many segment files, the current one included; older ones are deleted after a rotation. 0 (default): keep all. */
  retainSegments?: number;
  /** Default { mode: 'group', windowMs: GROUP_WINDOW_MS_DEFAULT }. */
  fsync?: FsyncPolicy;
}

export type JournalErrorCode = 'bad_option' | 'corrupt' | 'pruned' | 'io' | 'closed' | 'not_found';

/** Everything a journal throws or rejects with: a code, and one line naming the file (or the journal) and what is wrong. */
export class JournalError extends Error {
  override readonly name = 'JournalError';

  constructor(
    readonly code: JournalErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface JournalRecord {
  seq: number;
  payload: Uint8Array;
}

/** What open() cut off the end of the last segment, when a crash had torn it. */
export interface JournalRecovery {
  path: string;
  /** Where the file now ends: the end of its last good record. */
  offset: number;
  /** How many bytes were cut. */
  bytes: number;
  /** What was wrong at `offset`. */
  reason: string;
}

/** One segment file, as the journal keeps it in memory. */
interface Segment {
  readonly firstSeq: number;
  readonly path: string;
  /** firstSeq - 1 while the segment holds no record. */
  lastSeq: number;
  size: number;
  /** Sparse index: record indexSeqs[i] starts at indexOffsets[i]; ascending, one at least every INDEX_STRIDE_BYTES. */
  readonly indexSeqs: number[];
  readonly indexOffsets: number[];
  /** Where the last read in this segment stopped: record cursorSeq starts at cursorOffset. */
  cursorSeq: number;
  cursorOffset: number;
}

function newSegment(dir: string, name: string, firstSeq: number): Segment {
  return {
    firstSeq,
    path: join(dir, segmentFileName(name, firstSeq)),
    lastSeq: firstSeq - 1,
    size: SEGMENT_HEADER_BYTES,
    indexSeqs: [firstSeq],
    indexOffsets: [SEGMENT_HEADER_BYTES],
    cursorSeq: firstSeq,
    cursorOffset: SEGMENT_HEADER_BYTES,
  };
}

/** `<name>-<first seq, 20 digits>.seg`. */
export function segmentFileName(name: string, firstSeq: number): string {
  return `${name}-${String(firstSeq).padStart(SEQ_DIGITS, '0')}${SEGMENT_SUFFIX}`;
}

/** Remembers where record `seq` starts when the last index entry is a stride behind. */
function noteIndex(segment: Segment, seq: number, offset: number): void {
  if (offset - segment.indexOffsets[segment.indexOffsets.length - 1] >= INDEX_STRIDE_BYTES) {
    segment.indexSeqs.push(seq);
    segment.indexOffsets.push(offset);
  }
}

function ioError(path: string, what: string, error: unknown): JournalError {
  return new JournalError('io', `${path}: cannot ${what}: ${systemMessage(error)}`);
}

function corrupt(path: string, offset: number, what: string): JournalError {
  return new JournalError('corrupt', `${path}: byte ${offset}: ${what}`);
}

/** A seq from its two u32 halves; null when past Number.MAX_SAFE_INTEGER. */
function seqAt(bytes: Buffer, at: number): number | null {
  const high = bytes.readUInt32LE(at + 4);
  return high > SEQ_HIGH_MAX ? null : high * TWO_32 + bytes.readUInt32LE(at);
}

function writeSeq(bytes: Buffer, at: number, seq: number): void {
  bytes.writeUInt32LE(seq >>> 0, at);
  bytes.writeUInt32LE(Math.floor(seq / TWO_32), at + 4);
}

/**
 * The crc32 of a record: its 8 seq bytes, then its payload. They lie next to each other, so one
 * call over both gives what chaining the two would (half the calls: replay spends most of its time here).
 */
function recordCrc(bytes: Buffer, at: number, length: number): number {
  const start = at + SEQ_OFFSET;
  return crc32(bytes.subarray(start, start + SEQ_BYTES + length));
}

function segmentHeader(firstSeq: number): Buffer {
  const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
  JOURNAL_MAGIC.copy(header, 0);
  header.writeUInt32LE(JOURNAL_VERSION, VERSION_OFFSET);
  writeSeq(header, FIRST_SEQ_OFFSET, firstSeq);
  return header;
}

/**
 * The one read buffer: holds bytes [start, start + length) of one segment (`owner`). Segments only
 * grow at the end and their bytes never change once written, so what it holds stays valid for as
 * long as the segment exists, and a reader going forward in batches is served from it without a
 * system call until it runs past.
 */
class ChunkReader {
  buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  private owner: Segment | null = null;
  private start = 0;
  private length = 0;

  /**
   * Makes bytes [offset, offset + need) of `segment` (read through `fd`; its first `end` bytes are
   * valid) available in `buffer` and returns their index there. The caller checked offset + need <= end.
   */
  at(segment: Segment, fd: number, offset: number, need: number, end: number): number {
    if (segment === this.owner && offset >= this.start && offset + need <= this.start + this.length) return offset - this.start;
    if (need > this.buffer.length) {
      let size = this.buffer.length;
      while (size < need) size *= 2;
      this.buffer = Buffer.allocUnsafe(size);
    }
    this.owner = null;
    const want = Math.min(this.buffer.length, end - offset);
    let got = 0;
    try {
      while (got < want) {
        const n = readSync(fd, this.buffer, got, want - got, offset + got);
        if (n === 0) break;
        got += n;
      }
    } catch (error) {
      throw ioError(segment.path, 'read', error);
    }
    if (got < need) throw corrupt(segment.path, offset + got, `the file ends here, before byte ${end}`);
    this.owner = segment;
    this.start = offset;
    this.length = got;
    return 0;
  }

  forget(segment: Segment): void {
    if (this.owner === segment) this.owner = null;
  }
}

/** Where a walk through a segment stopped (the end, or the first record not whole and good), and why if before the end. */
interface Walk {
  offset: number;
  bad: string | null;
}

/**
 * Walks the records of `segment` from its header to `segment.size`, setting lastSeq (to the last
 * good record's) and the index. With `verify` each crc is checked too (the last segment on open;
 * earlier ones are only walked, their crcs are checked when read). Returns at the first record that
 * cannot be whole (cut short, a length past the limit) or whose crc does not match; a whole record
 * (with a good crc, if checked) whose seq is out of order is corruption, thrown at once.
 */
function walkSegment(reader: ChunkReader, segment: Segment, fd: number, verify: boolean): Walk {
  const end = segment.size;
  let offset = SEGMENT_HEADER_BYTES;
  let seq = segment.firstSeq;
  while (offset < end) {
    const bad = recordProblem(reader, segment, fd, offset, verify);
    if (bad !== null) {
      segment.lastSeq = seq - 1;
      return { offset, bad };
    }
    const at = reader.at(segment, fd, offset, RECORD_HEADER_BYTES, end);
    const found = seqAt(reader.buffer, at + SEQ_OFFSET);
    if (found !== seq) throw corrupt(segment.path, offset, `seq ${found ?? 'past 2^53'} out of order, expected ${seq}`);
    noteIndex(segment, seq, offset);
    offset += RECORD_HEADER_BYTES + reader.buffer.readUInt32LE(at);
    seq += 1;
  }
  segment.lastSeq = seq - 1;
  return { offset, bad: null };
}

/** Why the record at `offset` cannot be whole (cut short, a length past the limit), or with `verify` has a bad crc; null if none of that. */
function recordProblem(reader: ChunkReader, segment: Segment, fd: number, offset: number, verify: boolean): string | null {
  const end = segment.size;
  if (end - offset < RECORD_HEADER_BYTES) return `a record header cut short (${end - offset} of ${RECORD_HEADER_BYTES} bytes)`;
  let at = reader.at(segment, fd, offset, RECORD_HEADER_BYTES, end);
  const length = reader.buffer.readUInt32LE(at);
  if (length > PAYLOAD_BYTES_MAX) return `record length ${length} exceeds ${PAYLOAD_BYTES_MAX}`;
  if (offset + RECORD_HEADER_BYTES + length > end) return `a record cut short (${end - offset} of ${RECORD_HEADER_BYTES + length} bytes)`;
  if (!verify) return null;
  at = reader.at(segment, fd, offset, RECORD_HEADER_BYTES + length, end);
  return recordCrc(reader.buffer, at, length) === reader.buffer.readUInt32LE(at + CRC_OFFSET) ? null : 'crc mismatch';
}

/**
 * Whether any whole record with a matching crc and a seq of at least `seq` starts in (from, end):
 * what tells damage in the middle of a segment from a torn tail. Tried at every byte offset, since
 * the bad record's own length cannot be trusted; the header filters make the crcs rare.
 */
function goodRecordAfter(reader: ChunkReader, segment: Segment, fd: number, from: number, seq: number): number | null {
  const end = segment.size;
  const seqMax = seq + Math.floor((end - from) / RECORD_HEADER_BYTES);
  for (let offset = from + 1; offset + RECORD_HEADER_BYTES <= end; offset++) {
    let at = reader.at(segment, fd, offset, RECORD_HEADER_BYTES, end);
    const length = reader.buffer.readUInt32LE(at);
    if (length > PAYLOAD_BYTES_MAX || offset + RECORD_HEADER_BYTES + length > end) continue;
    const found = seqAt(reader.buffer, at + SEQ_OFFSET);
    if (found === null || found < seq || found > seqMax) continue;
    at = reader.at(segment, fd, offset, RECORD_HEADER_BYTES + length, end);
    if (recordCrc(reader.buffer, at, length) === reader.buffer.readUInt32LE(at + CRC_OFFSET)) return offset;
  }
  return null;
}

function syncOpened(fd: number, path: string): void {
  try {
    fdatasyncSync(fd);
  } catch (error) {
    throw ioError(path, 'fsync', error);
  }
}

/** Opens a file (fdatasync) or a directory (fsync, for the names in it), syncs it and closes it. */
function syncPath(path: string, directory: boolean): void {
  let fd: number | null = null;
  try {
    fd = openSync(path, 'r');
    if (directory) fsyncSync(fd);
    else fdatasyncSync(fd);
  } catch (error) {
    throw ioError(path, directory ? 'fsync the directory' : 'fsync', error);
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

const fsyncFile = (path: string): void => syncPath(path, false);
const fsyncDirectory = (dir: string): void => syncPath(dir, true);

function checkOptions(options: JournalOptions): Required<JournalOptions> {
  const name = options.name;
  if (typeof name !== 'string' || !JOURNAL_NAME_PATTERN.test(name)) {
    throw new JournalError('bad_option', `journal name ${JSON.stringify(name)}: must match ${JOURNAL_NAME_PATTERN.source}`);
  }
  const bad = (what: string) => new JournalError('bad_option', `journal ${name}: ${what}`);
  if (typeof options.dir !== 'string' || options.dir === '') throw bad('dir must be a non-empty path');
  const segmentBytes = options.segmentBytes ?? SEGMENT_BYTES_DEFAULT;
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes < SEGMENT_BYTES_MIN) {
    throw bad(`segmentBytes must be an integer of at least ${SEGMENT_BYTES_MIN}, not ${segmentBytes}`);
  }
  const retainSegments = options.retainSegments ?? 0;
  if (!Number.isSafeInteger(retainSegments) || retainSegments < 0) {
    throw bad(`retainSegments must be an integer of at least 0 (0 keeps all), not ${retainSegments}`);
  }
  const fsync = options.fsync ?? { mode: 'group', windowMs: GROUP_WINDOW_MS_DEFAULT };
  const mode = (fsync as { mode?: unknown } | null)?.mode;
  if (mode === 'group') {
    const windowMs = (fsync as { windowMs?: unknown }).windowMs;
    if (typeof windowMs !== 'number' || !Number.isFinite(windowMs) || windowMs < 0 || windowMs > GROUP_WINDOW_MS_MAX) {
      throw bad(`fsync windowMs must be a number of milliseconds from 0 to ${GROUP_WINDOW_MS_MAX}, not ${String(windowMs)}`);
    }
  } else if (mode !== 'always' && mode !== 'none') {
    throw bad(`fsync mode must be 'always', 'group' or 'none', not ${JSON.stringify(mode)}`);
  }
  return { dir: options.dir, name, segmentBytes, retainSegments, fsync };
}

/** A resolvable promise shared by every whenDurable() waiting on the same fsync. */
interface Waiters {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: JournalError) => void;
}

function newWaiters(): Waiters {
  let resolve!: () => void;
  let reject!: (error: JournalError) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export class Journal {
  readonly name: string;
  /** What open() cut off a torn tail, or null if the journal was whole. */
  readonly recovery: JournalRecovery | null;

  private readonly dir: string;
  private readonly segmentBytes: number;
  private readonly retainSegments: number;
  private readonly policy: FsyncPolicy;
  private readonly segments: Segment[];
  private readonly reader: ChunkReader;
  /** The current (last) segment's fd, opened for reading and writing. */
  private fd: number;
  /** An fd on one older segment, kept for the reads that go through it. */
  private readFd: number | null = null;
  private readFdSegment: Segment | null = null;
  private totalBytes: number;
  /** The last seq covered by an fsync (or by open: what recovery found is on disk). */
  private syncedSeq: number;
  /** The scheduled group fsync: a timer, or with a window of 0 the end of the current turn (setImmediate). */
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private timerIsImmediate = false;
  private waiters: Waiters | null = null;
  /**
   * Under 'group': an fsync running off this thread (fs.fdatasync, in libuv's pool), covering the
   * records up to its seq; the waiters it settles; whether another must follow it (records appended
   * or waiters come meanwhile); and fds it must outlive (a rotation or close while it ran closes
   * them once it is done, so that their numbers are not reused under it).
   */
  private inFlight: { seq: number; waiters: Waiters | null; again: boolean; closeAfter: number[] } | null = null;
  private failure: JournalError | null = null;
  private closed = false;
  /** Under 'none': segments rotated away unfsynced, and whether a file was created since the directory's last fsync; sync() covers them. */
  private unsynced: Segment[] = [];
  private directoryDirty: boolean;
  /** Where records are encoded before their one write. */
  private scratch = Buffer.allocUnsafe(READ_CHUNK_BYTES);

  private constructor(
    options: Required<JournalOptions>,
    segments: Segment[],
    fd: number,
    reader: ChunkReader,
    recovery: JournalRecovery | null,
  ) {
    this.name = options.name;
    this.dir = options.dir;
    this.segmentBytes = options.segmentBytes;
    this.retainSegments = options.retainSegments;
    this.policy = options.fsync;
    this.segments = segments;
    this.fd = fd;
    this.reader = reader;
    this.recovery = recovery;
    this.totalBytes = segments.reduce((sum, segment) => sum + segment.size, 0);
    this.syncedSeq = segments[segments.length - 1].lastSeq;
    this.directoryDirty = options.fsync.mode === 'none';
  }

  /**
   * Opens the journal `name` in `dir`, creating both if missing, and recovers it: every segment's
   * header and the seqs running on from one segment to the next are checked, a torn tail of the last
   * segment is truncated away (see `recovery`), and anything else amiss is a JournalError 'corrupt'
   * naming the file and the byte.
   */
  static open(options: JournalOptions): Journal {
    const checked = checkOptions(options);
    const { dir, name } = checked;
    const durable = checked.fsync.mode !== 'none';
    let created: string | undefined;
    try {
      created = mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw ioError(dir, 'create the directory', error);
    }
    if (created !== undefined && durable) fsyncDirectory(dirname(created));
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (error) {
      throw ioError(dir, 'list the directory', error);
    }
    const pattern = new RegExp(`^${name}-(\\d{${SEQ_DIGITS}})\\${SEGMENT_SUFFIX}$`);
    const firstSeqs: number[] = [];
    for (const file of names.sort()) {
      const match = pattern.exec(file);
      if (match === null) continue;
      const firstSeq = Number(match[1]);
      if (!Number.isSafeInteger(firstSeq) || firstSeq < 1) {
        throw new JournalError('corrupt', `${join(dir, file)}: first seq ${match[1]} is not from 1 to 2^53 - 1`);
      }
      firstSeqs.push(firstSeq);
    }
    const reader = new ChunkReader();
    if (firstSeqs.length === 0) {
      const segment = newSegment(dir, name, 1);
      const fd = createSegmentFile(segment, durable, dir);
      return new Journal(checked, [segment], fd, reader, null);
    }
    const segments = firstSeqs.map((firstSeq) => newSegment(dir, name, firstSeq));
    let recovery: JournalRecovery | null = null;
    let fd: number | null = null;
    try {
      for (let k = 0; k < segments.length; k++) {
        const segment = segments[k];
        const last = k === segments.length - 1;
        try {
          fd = openSync(segment.path, last ? 'r+' : 'r');
        } catch (error) {
          throw ioError(segment.path, 'open', error);
        }
        segment.size = fileSize(fd, segment.path);
        readSegmentHeader(reader, segment, fd, last);
        // Before any recovery touches the last segment: a torn tail is cut only from a journal that is whole otherwise.
        if (k > 0) {
          const previous = segments[k - 1];
          if (segment.firstSeq !== previous.lastSeq + 1) {
            const what = segment.firstSeq > previous.lastSeq + 1 ? 'a gap' : 'an overlap';
            throw new JournalError(
              'corrupt',
              `${segment.path}: starts at seq ${segment.firstSeq} but ${previous.path} ends at seq ${previous.lastSeq} (${what})`,
            );
          }
        }
        if (last) {
          recovery = recoverLastSegment(reader, segment, fd);
        } else {
          const walk = walkSegment(reader, segment, fd, false);
          if (walk.bad !== null) throw corrupt(segment.path, walk.offset, walk.bad);
          if (durable) syncOpened(fd, segment.path);
          closeSync(fd);
          fd = null;
        }
      }
      // What the last run wrote may still be only in the page cache (it was killed, or ran under
      // 'none'): fsynced here, so that durableSeq starts at lastSeq truthfully. Cheap when clean.
      if (durable) {
        syncOpened(fd as number, segments[segments.length - 1].path);
        fsyncDirectory(dir);
      }
    } catch (error) {
      if (fd !== null) closeSync(fd);
      throw error;
    }
    return new Journal(checked, segments, fd as number, reader, recovery);
  }

  /** The oldest seq still on disk; lastSeq + 1 when there is none. */
  get firstSeq(): number {
    return this.segments[0].firstSeq;
  }

  /** The last appended seq; 0 if none ever was. */
  get lastSeq(): number {
    return this.current().lastSeq;
  }

  /** The last seq known to be fsynced (under 'none', lastSeq: nothing better will be known). */
  get durableSeq(): number {
    return this.policy.mode === 'none' ? this.lastSeq : this.syncedSeq;
  }

  /** Bytes on disk over all segments, headers included. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Appends one record and returns its seq; under 'always' it is durable when this returns. */
  append(payload: Uint8Array): number {
    this.usable();
    checkPayload(this.name, payload, 0);
    const length = RECORD_HEADER_BYTES + payload.length;
    this.makeRoom(length);
    const segment = this.current();
    const seq = segment.lastSeq + 1;
    const scratch = this.scratchOf(length);
    encodeRecord(scratch, 0, seq, payload);
    this.write(segment, scratch, length, seq);
    this.afterWrite();
    return seq;
  }

  /** Appends the records in order, in one write per segment they land in; returns the last seq (lastSeq if none). */
  appendMany(payloads: readonly Uint8Array[]): number {
    this.usable();
    for (let i = 0; i < payloads.length; i++) checkPayload(this.name, payloads[i], i);
    let i = 0;
    while (i < payloads.length) {
      this.makeRoom(RECORD_HEADER_BYTES + payloads[i].length);
      const segment = this.current();
      const room = Math.max(this.segmentBytes - segment.size, RECORD_HEADER_BYTES + payloads[i].length);
      // The records that fit this segment (at least one) and this write.
      let bytes = 0;
      let j = i;
      while (j < payloads.length) {
        const length = RECORD_HEADER_BYTES + payloads[j].length;
        if (j > i && (bytes + length > room || bytes + length > WRITE_BATCH_BYTES)) break;
        bytes += length;
        j++;
      }
      const scratch = this.scratchOf(bytes);
      let at = 0;
      let seq = segment.lastSeq + 1;
      for (let k = i; k < j; k++) {
        encodeRecord(scratch, at, seq, payloads[k]);
        at += RECORD_HEADER_BYTES + payloads[k].length;
        seq++;
      }
      this.write(segment, scratch, bytes, seq - 1);
      i = j;
    }
    if (payloads.length > 0) this.afterWrite();
    return this.lastSeq;
  }

  /** Resolves once `seq` is durable: at once if it is, else after the fsync that covers it. Rejects with the failure if that fsync fails. */
  whenDurable(seq: number): Promise<void> {
    try {
      this.usable();
      if (!Number.isSafeInteger(seq) || seq < 0) throw new JournalError('bad_option', `journal ${this.name}: whenDurable(${seq}): not a seq`);
      if (seq > this.lastSeq) throw new JournalError('not_found', `journal ${this.name}: whenDurable(${seq}): not appended yet; the last seq is ${this.lastSeq}`);
    } catch (error) {
      return Promise.reject(error);
    }
    if (seq <= this.durableSeq) return Promise.resolve();
    // Only 'group' leaves appended records not yet durable, and the first of them scheduled the fsync.
    this.waiters ??= newWaiters();
    return this.waiters.promise;
  }

  /** Fsyncs now: everything appended so far becomes durable (under every policy, 'none' included). */
  sync(): void {
    this.usable();
    this.flush();
  }

  /**
   * Reads records fromSeq.. in order: at most maxRecords, and, if maxBytes is given, no more once
   * their payloads would exceed it (but always the first, however large). [] when fromSeq > lastSeq;
   * 'pruned' when fromSeq < firstSeq. Each record's crc is checked; payloads are copies.
   */
  read(fromSeq: number, maxRecords: number, maxBytes?: number): JournalRecord[] {
    this.usable();
    if (!Number.isSafeInteger(fromSeq) || fromSeq < 1) throw new JournalError('bad_option', `journal ${this.name}: read from seq ${fromSeq}: must be an integer of at least 1`);
    if (!Number.isSafeInteger(maxRecords) || maxRecords < 1) throw new JournalError('bad_option', `journal ${this.name}: read maxRecords ${maxRecords}: must be an integer of at least 1`);
    if (maxBytes !== undefined && (!Number.isSafeInteger(maxBytes) || maxBytes < 0)) {
      throw new JournalError('bad_option', `journal ${this.name}: read maxBytes ${maxBytes}: must be an integer of at least 0`);
    }
    const records: JournalRecord[] = [];
    if (fromSeq > this.lastSeq) return records;
    if (fromSeq < this.firstSeq) throw new JournalError('pruned', `journal ${this.name}: seq ${fromSeq} was pruned; the oldest on disk is ${this.firstSeq}`);
    const limits = { maxRecords, maxBytes: maxBytes ?? Number.POSITIVE_INFINITY, bytes: 0 };
    let seq = fromSeq;
    for (let k = this.segmentOf(fromSeq); k < this.segments.length; k++) {
      const segment = this.segments[k];
      if (segment.lastSeq < seq) continue;
      if (!this.readSegment(segment, seq, records, limits)) break;
      seq = segment.lastSeq + 1;
    }
    return records;
  }

  /** Fsyncs (unless the policy is 'none'), settles the waiters and closes the files; later calls throw 'closed'. */
  close(): void {
    if (this.closed) throw this.closedError();
    let failure = this.failure;
    if (failure === null && this.policy.mode !== 'none') {
      try {
        this.flush();
      } catch (error) {
        failure = error as JournalError;
      }
    }
    this.cancelTimer();
    if (this.waiters !== null) {
      // Only reached under 'none' or after a failure: the waiters learn the journal closed before their fsync.
      this.waiters.reject(failure ?? this.closedError());
      this.waiters = null;
    }
    this.closed = true;
    this.closeReadFd();
    try {
      this.closeFd(this.fd);
    } catch (error) {
      failure ??= ioError(this.current().path, 'close', error);
    }
    if (failure !== null) throw failure;
  }

  // -------------------------------------------------------------------------------------------

  private current(): Segment {
    return this.segments[this.segments.length - 1];
  }

  private closedError(): JournalError {
    return new JournalError('closed', `journal ${this.name}: closed`);
  }

  private usable(): void {
    if (this.closed) throw this.closedError();
    if (this.failure !== null) throw this.failure;
  }

  private scratchOf(bytes: number): Buffer {
    if (this.scratch.length < bytes) {
      let size = this.scratch.length;
      while (size < bytes) size *= 2;
      this.scratch = Buffer.allocUnsafe(size);
    }
    return this.scratch;
  }

  /** Rotates first when a record of `length` bytes would take a segment that holds records past segmentBytes. */
  private makeRoom(length: number): void {
    const segment = this.current();
    if (segment.lastSeq >= segment.firstSeq && segment.size + length > this.segmentBytes) this.rotate();
  }

  /**
   * Starts the next segment: the old one is fsynced first (so a new file never follows an old one
   * with a torn tail, and every record appended so far is durable), the new one's header and name
   * are fsynced, then the oldest segments past retainSegments are deleted.
   */
  private rotate(): void {
    const old = this.current();
    const durable = this.policy.mode !== 'none';
    try {
      if (durable) this.flush();
      const segment = newSegment(this.dir, this.name, old.lastSeq + 1);
      const fd = createSegmentFile(segment, durable, this.dir);
      try {
        this.closeFd(this.fd);
      } catch (error) {
        closeSync(fd);
        throw ioError(old.path, 'close', error);
      }
      this.fd = fd;
      this.segments.push(segment);
      this.totalBytes += segment.size;
      if (!durable) {
        this.unsynced.push(old);
        this.directoryDirty = true;
      }
      if (this.retainSegments > 0) this.prune();
    } catch (error) {
      throw this.poison(error);
    }
  }

  private prune(): void {
    while (this.segments.length > this.retainSegments) {
      const oldest = this.segments[0];
      if (this.readFdSegment === oldest) this.closeReadFd();
      this.reader.forget(oldest);
      try {
        unlinkSync(oldest.path);
      } catch (error) {
        throw ioError(oldest.path, 'delete', error);
      }
      this.segments.shift();
      this.totalBytes -= oldest.size;
      if (this.unsynced[0] === oldest) this.unsynced.shift();
    }
  }

  /** Writes bytes [0, length) of `bytes` at the end of `segment`, whose last record becomes `lastSeq`. */
  private write(segment: Segment, bytes: Buffer, length: number, lastSeq: number): void {
    let done = 0;
    try {
      while (done < length) done += writeSync(this.fd, bytes, done, length - done, segment.size + done);
    } catch (error) {
      // Part of a record may be in the file past segment.size: appending after it would bury it, so stop; the next open truncates it.
      throw this.poison(ioError(segment.path, 'write', error));
    }
    let offset = segment.size;
    for (let seq = segment.lastSeq + 1; seq <= lastSeq; seq++) {
      noteIndex(segment, seq, offset);
      offset += RECORD_HEADER_BYTES + bytes.readUInt32LE(offset - segment.size);
    }
    segment.size += length;
    segment.lastSeq = lastSeq;
    this.totalBytes += length;
  }

  /** After an append: fsync now ('always'), or make sure one is scheduled ('group'). */
  private afterWrite(): void {
    const policy = this.policy;
    if (policy.mode === 'always') this.flush();
    else if (policy.mode === 'group' && this.timer === null) {
      // A window of 0: one fsync for everything appended in this turn of the event loop, no waiting.
      this.timerIsImmediate = policy.windowMs === 0;
      this.timer = this.timerIsImmediate ? setImmediate(this.onTimer) : setTimeout(this.onTimer, policy.windowMs);
      this.timer.unref();
    }
  }

  private cancelTimer(): void {
    if (this.timer === null) return;
    if (this.timerIsImmediate) clearImmediate(this.timer as NodeJS.Immediate);
    else clearTimeout(this.timer as NodeJS.Timeout);
    this.timer = null;
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    if (this.closed || this.failure !== null) return;
    this.flushAsync();
  };

  /**
   * The group commit's fsync, off this thread (fs.fdatasync): appends, reads and the server's
   * evaluations go on while the disk flushes (0.2 ms at the median on the machine of docs/journal.md,
   * several ms in its tail, which a synchronous fsync spent blocking the event loop). The waiters of
   * the records it covers are settled when it returns; records appended meanwhile wait for the next,
   * which starts as soon as this one is done.
   */
  private flushAsync(): void {
    this.cancelTimer();
    if (this.inFlight !== null) {
      this.inFlight.again = true;
      return;
    }
    const seq = this.lastSeq;
    if (this.unsynced.length > 0 || this.directoryDirty || this.syncedSeq >= seq) {
      // Files rotation left (only under 'none', which has no timer) or nothing new: the synchronous path.
      try {
        this.flush();
      } catch {
        // Poisoned: the waiters were rejected with the failure and every later call throws it.
      }
      return;
    }
    const fd = this.fd;
    const path = this.current().path;
    const flight = { seq, waiters: this.waiters, again: false, closeAfter: [] as number[] };
    this.waiters = null;
    this.inFlight = flight;
    fdatasync(fd, (error) => {
      this.inFlight = null;
      for (const closing of flight.closeAfter) {
        try {
          closeSync(closing);
        } catch {
          // Its records were fsynced by the rotation or close that handed it over; nothing is lost.
        }
      }
      if (error !== null) {
        const failure = this.poison(ioError(path, 'fsync', error));
        flight.waiters?.reject(failure);
        return;
      }
      if (seq > this.syncedSeq) this.syncedSeq = seq;
      flight.waiters?.resolve();
      if (this.closed || this.failure !== null) return;
      if (flight.again || this.waiters !== null || this.syncedSeq < this.lastSeq) this.flushAsync();
    });
  }

  /** Closes `fd` now, or once the fsync running off this thread is done with it. */
  private closeFd(fd: number): void {
    if (this.inFlight !== null) this.inFlight.closeAfter.push(fd);
    else closeSync(fd);
  }

  /** Fsyncs the current segment if anything is not yet covered (and under 'none' what rotation left), then resolves the waiters. */
  private flush(): void {
    this.cancelTimer();
    const lastSeq = this.lastSeq;
    try {
      while (this.unsynced.length > 0) {
        fsyncFile(this.unsynced[0].path);
        this.unsynced.shift();
      }
      if (this.syncedSeq < lastSeq) {
        syncOpened(this.fd, this.current().path);
        this.syncedSeq = lastSeq;
      }
      if (this.directoryDirty) {
        fsyncDirectory(this.dir);
        this.directoryDirty = false;
      }
    } catch (error) {
      throw this.poison(error);
    }
    if (this.waiters !== null) {
      const waiters = this.waiters;
      this.waiters = null;
      waiters.resolve();
    }
  }

  /** Records the first failure of a write path, rejects the waiters with it, and returns it to throw. */
  private poison(error: unknown): JournalError {
    if (this.failure !== null) return this.failure;
    const failure = error instanceof JournalError ? error : new JournalError('io', `journal ${this.name}: ${systemMessage(error)}`);
    this.failure = failure;
    this.cancelTimer();
    if (this.waiters !== null) {
      this.waiters.reject(failure);
      this.waiters = null;
    }
    return failure;
  }

  /** The index of the segment holding `seq` (firstSeq <= seq <= lastSeq). */
  private segmentOf(seq: number): number {
    let low = 0;
    let high = this.segments.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (this.segments[middle].firstSeq <= seq) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  private fdOf(segment: Segment): number {
    if (segment === this.current()) return this.fd;
    if (this.readFdSegment !== segment) {
      this.closeReadFd();
      try {
        this.readFd = openSync(segment.path, 'r');
      } catch (error) {
        throw ioError(segment.path, 'open', error);
      }
      this.readFdSegment = segment;
    }
    return this.readFd as number;
  }

  private closeReadFd(): void {
    if (this.readFd === null) return;
    const fd = this.readFd;
    this.readFd = null;
    this.readFdSegment = null;
    try {
      closeSync(fd);
    } catch {
      // A read-only fd: nothing is lost if closing it fails.
    }
  }

  /**
   * Appends to `records` the records of `segment` from `fromSeq`, within the limits. Starts from
   * the segment's read cursor when the last read stopped at or before fromSeq, else from the index
   * entry before it. Returns false when a limit stopped it.
   */
  private readSegment(segment: Segment, fromSeq: number, records: JournalRecord[], limits: { maxRecords: number; maxBytes: number; bytes: number }): boolean {
    let seq: number;
    let offset: number;
    const entry = indexBefore(segment, fromSeq);
    if (segment.cursorSeq <= fromSeq && segment.cursorSeq >= segment.indexSeqs[entry]) {
      seq = segment.cursorSeq;
      offset = segment.cursorOffset;
    } else {
      seq = segment.indexSeqs[entry];
      offset = segment.indexOffsets[entry];
    }
    const fd = this.fdOf(segment);
    const reader = this.reader;
    const end = segment.size;
    let more = true;
    while (seq <= segment.lastSeq) {
      if (offset + RECORD_HEADER_BYTES > end) throw corrupt(segment.path, offset, `seq ${seq} should start here but the segment ends at byte ${end}`);
      let at = reader.at(segment, fd, offset, RECORD_HEADER_BYTES, end);
      const length = reader.buffer.readUInt32LE(at);
      const found = seqAt(reader.buffer, at + SEQ_OFFSET);
      if (found !== seq) throw corrupt(segment.path, offset, `seq ${found ?? 'past 2^53'} out of order, expected ${seq}`);
      if (length > PAYLOAD_BYTES_MAX || offset + RECORD_HEADER_BYTES + length > end) {
        throw corrupt(segment.path, offset, `record length ${length} runs past the end of the segment at byte ${end}`);
      }
      if (seq >= fromSeq) {
        if (records.length >= limits.maxRecords || (records.length > 0 && limits.bytes + length > limits.maxBytes)) {
          more = false;
          break;
        }
        at = reader.at(segment, fd, offset, RECORD_HEADER_BYTES + length, end);
        if (recordCrc(reader.buffer, at, length) !== reader.buffer.readUInt32LE(at + CRC_OFFSET)) throw corrupt(segment.path, offset, `seq ${seq}: crc mismatch`);
        const payload = new Uint8Array(length);
        reader.buffer.copy(payload, 0, at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + length);
        records.push({ seq, payload });
        limits.bytes += length;
      }
      offset += RECORD_HEADER_BYTES + length;
      seq++;
    }
    segment.cursorSeq = seq;
    segment.cursorOffset = offset;
    return more;
  }
}

/** The index entry with the largest seq <= `seq`. */
function indexBefore(segment: Segment, seq: number): number {
  const seqs = segment.indexSeqs;
  let low = 0;
  let high = seqs.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >>> 1;
    if (seqs[middle] <= seq) low = middle;
    else high = middle - 1;
  }
  return low;
}

function checkPayload(name: string, payload: Uint8Array, index: number): void {
  if (!(payload instanceof Uint8Array)) throw new JournalError('bad_option', `journal ${name}: payload ${index} is not a Uint8Array`);
  if (payload.length > PAYLOAD_BYTES_MAX) {
    throw new JournalError('bad_option', `journal ${name}: payload ${index} has ${payload.length} bytes, more than ${PAYLOAD_BYTES_MAX}`);
  }
}

/** Writes record `seq` at `at` in `bytes`: length, crc, seq, payload. */
function encodeRecord(bytes: Buffer, at: number, seq: number, payload: Uint8Array): void {
  bytes.writeUInt32LE(payload.length, at);
  writeSeq(bytes, at + SEQ_OFFSET, seq);
  bytes.set(payload, at + RECORD_HEADER_BYTES);
  bytes.writeUInt32LE(recordCrc(bytes, at, payload.length), at + CRC_OFFSET);
}

function fileSize(fd: number, path: string): number {
  try {
    return fstatSync(fd).size;
  } catch (error) {
    throw ioError(path, 'stat', error);
  }
}

/** Creates a segment file with its header; unless `durable` is false, fsyncs it and then the directory, so that its name survives a crash. */
function createSegmentFile(segment: Segment, durable: boolean, dir: string): number {
  let fd: number;
  try {
    fd = openSync(segment.path, 'wx+');
  } catch (error) {
    throw ioError(segment.path, 'create', error);
  }
  try {
    const header = segmentHeader(segment.firstSeq);
    writeSync(fd, header, 0, header.length, 0);
    if (durable) fdatasyncSync(fd);
  } catch (error) {
    closeSync(fd);
    throw ioError(segment.path, 'write the header', error);
  }
  if (durable) {
    try {
      fsyncDirectory(dir);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }
  return fd;
}

/**
 * Checks a segment's header: magic, version, and the first seq its name says. A last segment
 * shorter than a header was being created when the process died: the header is written again,
 * provided what is there is a beginning of it (or zeros, which a crash can leave).
 */
function readSegmentHeader(reader: ChunkReader, segment: Segment, fd: number, last: boolean): void {
  const expected = segmentHeader(segment.firstSeq);
  if (segment.size < SEGMENT_HEADER_BYTES) {
    if (!last) throw corrupt(segment.path, segment.size, `the file ends inside the ${SEGMENT_HEADER_BYTES}-byte header`);
    const present = segment.size === 0 ? Buffer.alloc(0) : reader.buffer.subarray(reader.at(segment, fd, 0, segment.size, segment.size), segment.size);
    const fromCreation = present.every((byte, i) => byte === expected[i]) || present.every((byte) => byte === 0);
    if (!fromCreation) throw corrupt(segment.path, 0, `a ${segment.size}-byte file that is not the start of a segment header`);
    reader.forget(segment);
    try {
      writeSync(fd, expected, 0, expected.length, 0); // open() fsyncs the last segment after this
    } catch (error) {
      throw ioError(segment.path, 'write the header', error);
    }
    segment.size = SEGMENT_HEADER_BYTES;
    return;
  }
  const at = reader.at(segment, fd, 0, SEGMENT_HEADER_BYTES, segment.size);
  const header = reader.buffer;
  if (!header.subarray(at, at + MAGIC_BYTES).equals(JOURNAL_MAGIC)) throw corrupt(segment.path, 0, `not a journal segment (no ${JOURNAL_MAGIC.toString('latin1')} magic)`);
  const version = header.readUInt32LE(at + VERSION_OFFSET);
  if (version !== JOURNAL_VERSION) throw corrupt(segment.path, VERSION_OFFSET, `format version ${version}; this build reads version ${JOURNAL_VERSION}`);
  const firstSeq = seqAt(header, at + FIRST_SEQ_OFFSET);
  if (firstSeq !== segment.firstSeq) {
    throw corrupt(segment.path, FIRST_SEQ_OFFSET, `the header's first seq ${firstSeq ?? 'past 2^53'} is not the ${segment.firstSeq} of the file's name`);
  }
}

/**
 * Walks the last segment with crcs. At the first record that is not whole and good: if a good
 * record follows anywhere after it, that is damage in the middle, 'corrupt'; otherwise it is the
 * tail a crash tore, and the file is truncated to the end of the last good record.
 */
function recoverLastSegment(reader: ChunkReader, segment: Segment, fd: number): JournalRecovery | null {
  const walk = walkSegment(reader, segment, fd, true);
  if (walk.bad === null) return null;
  const expected = segment.lastSeq + 1;
  const good = goodRecordAfter(reader, segment, fd, walk.offset, expected);
  if (good !== null) {
    throw corrupt(segment.path, walk.offset, `${walk.bad}, followed by a good record at byte ${good}: damage, not a torn tail`);
  }
  const bytes = segment.size - walk.offset;
  reader.forget(segment);
  try {
    ftruncateSync(fd, walk.offset); // open() fsyncs the last segment after this
  } catch (error) {
    throw ioError(segment.path, 'truncate the torn tail', error);
  }
  segment.size = walk.offset;
  return { path: segment.path, offset: walk.offset, bytes, reason: walk.bad };
}
