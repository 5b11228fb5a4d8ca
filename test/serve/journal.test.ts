// The journal (src/serve/journal.ts, docs/journal.md) on real files: round trips, batched reads
// across segments, rotation and retention, reopening, torn tails cut off and damage refused,
// group commit, a poisoned journal, the options refused, and a writer killed with SIGKILL.
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from '../../src/book/binary.js';
import {
  Journal,
  JournalError,
  PAYLOAD_BYTES_MAX,
  RECORD_HEADER_BYTES,
  SEGMENT_BYTES_MIN,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
  type JournalErrorCode,
  type JournalOptions,
} from '../../src/serve/journal.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SOURCE = join(ROOT, 'src/serve/journal.ts');
const BUILT = join(ROOT, 'dist/src/serve/journal.js');
const NAME = 'orders';
const NONE = { mode: 'none' } as const;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'liq-journal-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The payload of record `seq` in these tests: 0 to 199 bytes that depend on the seq only. */
function payloadOf(seq: number): Uint8Array {
  const bytes = new Uint8Array((seq * 7919) % 200);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (seq + i * 31) & 0xff;
  return bytes;
}

function open(options: Partial<JournalOptions> = {}): Journal {
  return Journal.open({ dir, name: NAME, fsync: NONE, ...options });
}

function segmentFiles(name = NAME): string[] {
  return readdirSync(dir)
    .filter((file) => file.startsWith(`${name}-`) && file.endsWith('.seg'))
    .sort();
}

function lastSegmentPath(): string {
  const files = segmentFiles();
  return join(dir, files[files.length - 1]);
}

/** Every record from fromSeq on, in batches of `batch`. */
function readAll(journal: Journal, fromSeq = journal.firstSeq, batch = 1000): { seq: number; payload: Uint8Array }[] {
  const out: { seq: number; payload: Uint8Array }[] = [];
  for (let seq = fromSeq; ; ) {
    const records = journal.read(seq, batch);
    if (records.length === 0) return out;
    out.push(...records);
    seq = records[records.length - 1].seq + 1;
  }
}

function expectRecords(records: { seq: number; payload: Uint8Array }[], from: number, to: number): void {
  expect(records.map((r) => r.seq)).toEqual(Array.from({ length: to - from + 1 }, (_, i) => from + i));
  for (const record of records) expect(Buffer.from(record.payload).equals(Buffer.from(payloadOf(record.seq))), `seq ${record.seq}`).toBe(true);
}

function expectJournalError(run: () => unknown, code: JournalErrorCode, message?: RegExp | string): JournalError {
  let caught: unknown = null;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(JournalError);
  const error = caught as JournalError;
  expect(error.code).toBe(code);
  if (message !== undefined) expect(error.message).toMatch(message);
  expect(error.message).not.toContain('\n');
  return error;
}

/** Byte offset in a segment of record `seq`, walking its lengths from the header. */
function recordOffset(path: string, seq: number): number {
  const bytes = readFileSync(path);
  let offset = SEGMENT_HEADER_BYTES;
  for (;;) {
    if (bytes.readUInt32LE(offset + 8) === seq) return offset;
    offset += RECORD_HEADER_BYTES + bytes.readUInt32LE(offset);
  }
}

function flipByte(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset] ^= 0x40;
  writeFileSync(path, bytes);
}

describe('appending and reading', () => {
  test('seqs run from 1 without a gap and every payload reads back byte for byte', () => {
    const journal = open();
    expect([journal.firstSeq, journal.lastSeq, journal.durableSeq]).toEqual([1, 0, 0]);
    for (let seq = 1; seq <= 300; seq++) expect(journal.append(payloadOf(seq))).toBe(seq);
    expect(journal.appendMany([301, 302, 303].map(payloadOf))).toBe(303);
    expect(journal.appendMany([])).toBe(303);
    expect(journal.lastSeq).toBe(303);
    expectRecords(readAll(journal, 1, 7), 1, 303);
    expectRecords(journal.read(150, 10), 150, 159);
    expect(journal.bytes).toBe(statSync(lastSegmentPath()).size);
    journal.close();
  });

  test('the bytes on disk are the documented format: header, then length, crc of seq and payload, seq, payload', () => {
    const journal = open();
    journal.append(Uint8Array.from([1, 2, 3]));
    journal.append(new Uint8Array(0));
    journal.close();
    const bytes = readFileSync(join(dir, 'orders-00000000000000000001.seg'));
    expect(bytes.subarray(0, 8).toString('latin1')).toBe('LIQJRNL1');
    expect([bytes.readUInt32LE(8), bytes.readUInt32LE(12), bytes.readBigUInt64LE(16), bytes.readBigUInt64LE(24)]).toEqual([1, 0, 1n, 0n]);
    const records: [number, number, bigint, number[]][] = [];
    for (let offset = SEGMENT_HEADER_BYTES; offset < bytes.length; ) {
      const length = bytes.readUInt32LE(offset);
      records.push([length, bytes.readUInt32LE(offset + 4), bytes.readBigUInt64LE(offset + 8), [...bytes.subarray(offset + 16, offset + 16 + length)]]);
      offset += RECORD_HEADER_BYTES + length;
    }
    const seqBytes = (seq: bigint) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(seq);
      return b;
    };
    expect(records).toEqual([
      [3, crc32(Uint8Array.from([1, 2, 3]), crc32(seqBytes(1n))), 1n, [1, 2, 3]],
      [0, crc32(new Uint8Array(0), crc32(seqBytes(2n))), 2n, []],
    ]);
    expect(bytes.length).toBe(SEGMENT_HEADER_BYTES + 2 * RECORD_HEADER_BYTES + 3);
  });

  test('reads past the end are empty; a seq below 1 or a limit below 1 is refused', () => {
    const journal = open();
    expect(journal.read(1, 10)).toEqual([]);
    journal.append(payloadOf(1));
    expect(journal.read(2, 10)).toEqual([]);
    expect(journal.read(1000, 10)).toEqual([]);
    expectJournalError(() => journal.read(0, 10), 'bad_option', /read from seq 0/);
    expectJournalError(() => journal.read(1.5, 10), 'bad_option');
    expectJournalError(() => journal.read(1, 0), 'bad_option', /maxRecords 0/);
    expectJournalError(() => journal.read(1, 1, -1), 'bad_option', /maxBytes -1/);
    journal.close();
  });

  test('batches by maxRecords and maxBytes cross segment boundaries and together read everything once', () => {
    const journal = open({ segmentBytes: SEGMENT_BYTES_MIN });
    const count = 2000;
    for (let seq = 1; seq <= count; seq++) journal.append(payloadOf(seq));
    expect(segmentFiles().length).toBeGreaterThan(20);
    const maxBytes = 500;
    const batches: { seq: number; payload: Uint8Array }[][] = [];
    for (let seq = 1; seq <= count; ) {
      const batch = journal.read(seq, 9, maxBytes);
      expect(batch.length).toBeGreaterThan(0);
      expect(batch.length).toBeLessThanOrEqual(9);
      const bytes = batch.reduce((sum, r) => sum + r.payload.length, 0);
      if (batch.length > 1) expect(bytes).toBeLessThanOrEqual(maxBytes);
      // It stopped for a reason: the record count, the end, or the next record would pass maxBytes.
      const next = batch[batch.length - 1].seq + 1;
      if (batch.length < 9 && next <= count) expect(bytes + payloadOf(next).length).toBeGreaterThan(maxBytes);
      batches.push(batch);
      seq = next;
    }
    expectRecords(batches.flat(), 1, count);
    // Random access, backwards and forwards (the read cursor and the index must not mislead).
    for (const seq of [1777, 3, 1999, 1000, 1001, 999, 2000, 42]) expectRecords(journal.read(seq, 5), seq, Math.min(count, seq + 4));
    journal.close();
  });

  test('reads see the records appended since the last read, as a consumer tailing the journal does', () => {
    const journal = open({ segmentBytes: SEGMENT_BYTES_MIN });
    let next = 1;
    for (let seq = 1; seq <= 600; seq++) {
      journal.append(payloadOf(seq));
      if (seq % 37 === 0) {
        const records = journal.read(next, 1000);
        expectRecords(records, next, seq);
        next = seq + 1;
      }
    }
    expectRecords(journal.read(next, 1000), next, 600);
    expectRecords(readAll(journal, 1, 100), 1, 600);
    journal.close();
  });

  test('a payload larger than maxBytes still comes back alone; one larger than a segment gets a segment of its own', () => {
    const journal = open({ segmentBytes: SEGMENT_BYTES_MIN });
    journal.append(new Uint8Array(10));
    const big = new Uint8Array(3 * SEGMENT_BYTES_MIN).map((_, i) => i % 251);
    expect(journal.append(big)).toBe(2);
    journal.append(new Uint8Array(10));
    expect(segmentFiles()).toEqual([1, 2, 3].map((seq) => segmentFileName(NAME, seq)));
    const [record] = journal.read(2, 10, 100);
    expect(journal.read(2, 10, 100)).toHaveLength(1);
    expect(Buffer.from(record.payload).equals(Buffer.from(big))).toBe(true);
    expect(journal.read(1, 10, 15).map((r) => r.seq)).toEqual([1]);
    journal.close();
  });

  test('appendMany splits its records over segments and the index still finds every one', () => {
    const journal = open({ segmentBytes: SEGMENT_BYTES_MIN });
    const payloads = Array.from({ length: 5000 }, (_, i) => payloadOf(i + 1));
    expect(journal.appendMany(payloads)).toBe(5000);
    for (const file of segmentFiles().slice(0, -1)) expect(statSync(join(dir, file)).size).toBeLessThanOrEqual(SEGMENT_BYTES_MIN);
    expectRecords(readAll(journal, 1, 333), 1, 5000);
    expectRecords(journal.read(4321, 3), 4321, 4323);
    journal.close();
  });

  test('two journals share a directory, even when one name begins the other', () => {
    const orders = open({ name: 'orders' });
    const inputs = open({ name: 'orders-in' });
    for (let seq = 1; seq <= 50; seq++) orders.append(payloadOf(seq));
    for (let seq = 1; seq <= 20; seq++) inputs.append(payloadOf(seq + 1000));
    orders.close();
    inputs.close();
    const again = open({ name: 'orders' });
    const againInputs = open({ name: 'orders-in' });
    expect([again.lastSeq, againInputs.lastSeq]).toEqual([50, 20]);
    expectRecords(readAll(again), 1, 50);
    again.close();
    againInputs.close();
  });
});

describe('rotation and retention', () => {
  test('segments rotate before they pass segmentBytes, named by their first seq', () => {
    const journal = open({ segmentBytes: SEGMENT_BYTES_MIN });
    for (let seq = 1; seq <= 1000; seq++) journal.append(payloadOf(seq));
    const files = segmentFiles();
    expect(files.length).toBeGreaterThan(10);
    let expectedFirst = 1;
    let total = 0;
    for (const file of files) {
      const path = join(dir, file);
      const size = statSync(path).size;
      expect(size).toBeLessThanOrEqual(SEGMENT_BYTES_MIN);
      expect(file).toBe(segmentFileName(NAME, expectedFirst));
      expect(file).toMatch(/^orders-\d{20}\.seg$/);
      expectedFirst = Number(readFileSync(path).readBigUInt64LE(16)) + countRecords(path);
      total += size;
    }
    expect(journal.bytes).toBe(total);
    journal.close();
  });

  test('retainSegments 2 keeps the newest two files; firstSeq moves up and reads below it are pruned', () => {
    const journal = open({ segmentBytes: SEGMENT_BYTES_MIN, retainSegments: 2 });
    for (let seq = 1; seq <= 1000; seq++) journal.append(payloadOf(seq));
    const files = segmentFiles();
    expect(files).toHaveLength(2);
    const firstSeq = journal.firstSeq;
    expect(firstSeq).toBeGreaterThan(900);
    expect(files[0]).toBe(segmentFileName(NAME, firstSeq));
    expect(journal.bytes).toBe(files.reduce((sum, file) => sum + statSync(join(dir, file)).size, 0));
    expectRecords(readAll(journal), firstSeq, 1000);
    expectJournalError(() => journal.read(firstSeq - 1, 10), 'pruned', new RegExp(`seq ${firstSeq - 1} was pruned; the oldest on disk is ${firstSeq}`));
    expectJournalError(() => journal.read(1, 10), 'pruned');
    journal.close();
    const again = open({ segmentBytes: SEGMENT_BYTES_MIN, retainSegments: 2 });
    expect([again.firstSeq, again.lastSeq]).toEqual([firstSeq, 1000]);
    expect(again.append(payloadOf(1001))).toBe(1001);
    again.close();
  });

  test('retainSegments 1 keeps only the current segment, which may be empty right after a rotation', () => {
    const journal = open({ segmentBytes: SEGMENT_BYTES_MIN, retainSegments: 1 });
    for (let seq = 1; seq <= 500; seq++) journal.append(payloadOf(seq));
    expect(segmentFiles()).toHaveLength(1);
    expect(journal.firstSeq).toBeGreaterThan(400);
    expectRecords(readAll(journal), journal.firstSeq, 500);
    journal.close();
  });
});

/** How many records a segment file holds (walking its lengths). */
function countRecords(path: string): number {
  const bytes = readFileSync(path);
  let count = 0;
  for (let offset = SEGMENT_HEADER_BYTES; offset < bytes.length; offset += RECORD_HEADER_BYTES + bytes.readUInt32LE(offset)) count++;
  return count;
}

describe('reopening and recovery', () => {
  test('a journal closed and reopened continues at lastSeq + 1 and reads everything back', () => {
    const first = open({ segmentBytes: SEGMENT_BYTES_MIN });
    for (let seq = 1; seq <= 700; seq++) first.append(payloadOf(seq));
    first.close();
    const second = open({ segmentBytes: SEGMENT_BYTES_MIN });
    expect([second.firstSeq, second.lastSeq, second.durableSeq, second.recovery]).toEqual([1, 700, 700, null]);
    expect(second.append(payloadOf(701))).toBe(701);
    expect(second.appendMany([702, 703].map(payloadOf))).toBe(703);
    second.close();
    const third = open({ segmentBytes: SEGMENT_BYTES_MIN });
    expectRecords(readAll(third, 1, 64), 1, 703);
    third.close();
  });

  function writeAndClose(count: number): string {
    const journal = open({ segmentBytes: SEGMENT_BYTES_MIN });
    for (let seq = 1; seq <= count; seq++) journal.append(payloadOf(seq));
    journal.close();
    return lastSegmentPath();
  }

  function expectTornTailDropped(path: string, lastGood: number, cutAt: number): void {
    const journal = open({ segmentBytes: SEGMENT_BYTES_MIN });
    expect(journal.lastSeq).toBe(lastGood);
    expect(journal.recovery).not.toBeNull();
    expect(journal.recovery?.path).toBe(path);
    expect(journal.recovery?.offset).toBe(cutAt);
    expect(statSync(path).size).toBe(cutAt);
    expect(journal.append(payloadOf(lastGood + 1))).toBe(lastGood + 1);
    expect(journal.append(payloadOf(lastGood + 2))).toBe(lastGood + 2);
    expectRecords(readAll(journal, 1), 1, lastGood + 2);
    journal.close();
    const again = open({ segmentBytes: SEGMENT_BYTES_MIN });
    expect(again.recovery).toBeNull();
    expect(again.lastSeq).toBe(lastGood + 2);
    again.close();
  }

  test('a record cut short at the end (a torn write) is dropped and the file truncated', () => {
    const path = writeAndClose(100);
    const last = recordOffset(path, 100);
    truncateSync(path, last + RECORD_HEADER_BYTES + 3);
    expectTornTailDropped(path, 99, last);
  });

  test('a record header cut short is dropped too', () => {
    const path = writeAndClose(100);
    const last = recordOffset(path, 100);
    truncateSync(path, last + 5);
    expectTornTailDropped(path, 99, last);
  });

  test('a last record whose crc does not match is a torn tail', () => {
    const path = writeAndClose(100);
    const last = recordOffset(path, 100);
    flipByte(path, statSync(path).size - 1);
    expectTornTailDropped(path, 99, last);
    expect(payloadOf(100).length).toBeGreaterThan(0);
  });

  test('zeros after the last record (a file extended but not written) are a torn tail', () => {
    const path = writeAndClose(100);
    const end = statSync(path).size;
    writeFileSync(path, Buffer.alloc(300), { flag: 'a' });
    expectTornTailDropped(path, 100, end);
  });

  test('a last segment cut inside its header (a crash while rotating) gets its header back', () => {
    writeAndClose(100);
    const next = join(dir, segmentFileName(NAME, 101));
    writeFileSync(next, Buffer.alloc(0));
    const journal = open({ segmentBytes: SEGMENT_BYTES_MIN });
    expect(journal.lastSeq).toBe(100);
    expect(statSync(next).size).toBe(SEGMENT_HEADER_BYTES);
    expect(journal.append(payloadOf(101))).toBe(101);
    expectRecords(readAll(journal), 1, 101);
    journal.close();
  });

  test('a bad record followed by good ones is corruption, not a torn tail, and the file is left alone', () => {
    const path = writeAndClose(100);
    const size = statSync(path).size;
    const firstInFile = Number(readFileSync(path).readBigUInt64LE(16));
    const victim = firstInFile + 1;
    expect(victim).toBeLessThan(100);
    const offset = recordOffset(path, victim);
    flipByte(path, offset + RECORD_HEADER_BYTES);
    const error = expectJournalError(() => open({ segmentBytes: SEGMENT_BYTES_MIN }), 'corrupt', /crc mismatch, followed by a good record/);
    expect(error.message.startsWith(`${path}: byte ${offset}: `)).toBe(true);
    expect(statSync(path).size).toBe(size);
  });

  test('a damaged length in the middle is corruption too (found by searching past it)', () => {
    const path = writeAndClose(100);
    const firstInFile = Number(readFileSync(path).readBigUInt64LE(16));
    const offset = recordOffset(path, firstInFile + 1);
    const bytes = readFileSync(path);
    bytes.writeUInt32LE(0x7fffffff, offset);
    writeFileSync(path, bytes);
    expectJournalError(() => open({ segmentBytes: SEGMENT_BYTES_MIN }), 'corrupt', new RegExp(`byte ${offset}: record length 2147483647 exceeds`));
  });

  test('an earlier segment: a seq out of order is refused on open, a bad payload when read', () => {
    writeAndClose(300);
    const files = segmentFiles();
    expect(files.length).toBeGreaterThan(3);
    const second = join(dir, files[1]);
    const firstInSecond = Number(readFileSync(second).readBigUInt64LE(16));
    // A flipped payload byte: open walks earlier segments without crcs; the read checks it.
    const payloadAt = recordOffset(second, firstInSecond + 2) + RECORD_HEADER_BYTES;
    flipByte(second, payloadAt);
    const journal = open({ segmentBytes: SEGMENT_BYTES_MIN });
    expect(journal.lastSeq).toBe(300);
    expectJournalError(() => journal.read(1, 1000), 'corrupt', new RegExp(`^${second}: byte ${payloadAt - RECORD_HEADER_BYTES}: seq ${firstInSecond + 2}: crc mismatch$`));
    expectRecords(journal.read(firstInSecond + 3, 2), firstInSecond + 3, firstInSecond + 4);
    journal.close();
    // A seq out of order: refused on open.
    const seqAt = recordOffset(second, firstInSecond + 1) + 8;
    const bytes = readFileSync(second);
    bytes.writeUInt32LE(firstInSecond + 7, seqAt);
    writeFileSync(second, bytes);
    expectJournalError(() => open(), 'corrupt', new RegExp(`^${second}: byte ${seqAt - 8}: seq ${firstInSecond + 7} out of order, expected ${firstInSecond + 1}$`));
  });

  test('a missing segment in the middle is a gap; a bad magic or a header disagreeing with the name is refused', () => {
    writeAndClose(300);
    const files = segmentFiles();
    const [, second, third] = files;
    const saved = readFileSync(join(dir, second));
    unlinkSync(join(dir, second));
    expectJournalError(() => open(), 'corrupt', new RegExp(`^${join(dir, third)}: starts at seq \\d+ but .* ends at seq \\d+ \\(a gap\\)$`));
    const bad = Buffer.from(saved);
    bad[0] = 0x58;
    writeFileSync(join(dir, second), bad);
    expectJournalError(() => open(), 'corrupt', new RegExp(`^${join(dir, second)}: byte 0: not a journal segment`));
    const renamed = Buffer.from(saved);
    renamed.writeUInt32LE(renamed.readUInt32LE(16) + 1, 16);
    writeFileSync(join(dir, second), renamed);
    expectJournalError(() => open(), 'corrupt', /byte 16: the header's first seq \d+ is not the \d+ of the file's name/);
  });
});

/** The durability tests wait on timers: a regression fails in seconds, not at vitest's long default. */
const WAIT_MS = 5000;

describe('durability', () => {
  test("'group': appends are durable together after the window; whenDurable resolves after that fsync", async () => {
    const journal = open({ fsync: { mode: 'group', windowMs: 5 } });
    for (let seq = 1; seq <= 1000; seq++) journal.append(payloadOf(seq));
    expect(journal.lastSeq).toBe(1000);
    expect(journal.durableSeq).toBe(0);
    const first = journal.whenDurable(10);
    const last = journal.whenDurable(1000);
    await Promise.all([first, last]);
    expect(journal.durableSeq).toBe(1000);
    await journal.whenDurable(500); // already durable: at once
    journal.append(payloadOf(1001));
    expect(journal.durableSeq).toBe(1000);
    const waiting = journal.whenDurable(1001);
    journal.sync();
    expect(journal.durableSeq).toBe(1001);
    await waiting;
    await expect(journal.whenDurable(1002)).rejects.toMatchObject({ code: 'not_found' });
    await expect(journal.whenDurable(-1)).rejects.toMatchObject({ code: 'bad_option' });
    journal.close();
  }, WAIT_MS);

  test("'group': close resolves the waiters", async () => {
    const journal = open({ fsync: { mode: 'group', windowMs: 1000 } });
    journal.append(payloadOf(1));
    const waiting = journal.whenDurable(1);
    journal.close();
    await waiting;
  }, WAIT_MS);

  test("'group' with a window of 0: everything appended in one turn of the event loop is fsynced together, off the event loop, from its end", async () => {
    const journal = open({ fsync: { mode: 'group', windowMs: 0 } });
    for (let seq = 1; seq <= 100; seq++) journal.append(payloadOf(seq));
    expect(journal.durableSeq).toBe(0); // not inside the turn
    const durable = journal.whenDurable(100);
    // The fsync starts at the end of the turn (the journal's setImmediate, queued before this one)
    // and runs in libuv's pool: its answer comes in a later phase of the loop than this check.
    await new Promise((resolve) => setImmediate(resolve));
    expect(journal.durableSeq).toBe(0);
    await durable;
    expect(journal.durableSeq).toBe(100);
    journal.append(payloadOf(101));
    await journal.whenDurable(101);
    expect(journal.durableSeq).toBe(101);
    journal.close();
  }, WAIT_MS);

  test("'group': records appended and waited for while an fsync runs get the next one; a rotation and a close while one runs lose nothing and settle every waiter", async () => {
    const journal = open({ fsync: { mode: 'group', windowMs: 0 }, segmentBytes: SEGMENT_BYTES_MIN });
    const waits: Promise<void>[] = [];
    let seq = 0;
    for (let turn = 0; turn < 200; turn++) {
      // A few records a turn, each turn waiting for its last: the appends of a turn fall while the
      // fsync of the turn before may still be running, and the small segments rotate under it.
      for (let k = 0; k < 1 + (turn % 7); k++) journal.append(payloadOf(++seq));
      waits.push(journal.whenDurable(seq));
      // An earlier seq waited for again while later ones are in flight.
      if (turn % 5 === 4) waits.push(journal.whenDurable(seq - 1));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(segmentFiles().length).toBeGreaterThan(3);
    await Promise.all(waits);
    expect(journal.durableSeq).toBe(seq);
    // Appends and a close in the same turn as a running fsync: close fsyncs them itself.
    for (let k = 0; k < 50; k++) journal.append(payloadOf(++seq));
    const last = journal.whenDurable(seq);
    await new Promise((resolve) => setImmediate(resolve)); // the group's fsync starts
    for (let k = 0; k < 50; k++) journal.append(payloadOf(++seq));
    const after = journal.whenDurable(seq);
    journal.close();
    await Promise.all([last, after]);
    const again = open({ fsync: { mode: 'group', windowMs: 0 }, segmentBytes: SEGMENT_BYTES_MIN });
    expect(again.lastSeq).toBe(seq);
    expectRecords(readAll(again), 1, seq);
    again.close();
  }, WAIT_MS);

  test("'group': the fsync timer does not keep the process alive", async () => {
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const journal = open({ fsync: { mode: 'group', windowMs: 50 } });
    const before = timers();
    journal.append(payloadOf(1));
    expect(timers()).toBe(before);
    expect(journal.durableSeq).toBe(0);
    await journal.whenDurable(1); // the timer still fires
    expect(journal.durableSeq).toBe(1);
    journal.close();
  }, WAIT_MS);

  test("'always': durableSeq equals lastSeq after every append; 'none': durableSeq is lastSeq", () => {
    const always = open({ fsync: { mode: 'always' }, segmentBytes: SEGMENT_BYTES_MIN });
    for (let seq = 1; seq <= 60; seq++) {
      always.append(payloadOf(seq));
      expect(always.durableSeq).toBe(always.lastSeq);
    }
    always.appendMany([61, 62].map(payloadOf));
    expect(always.durableSeq).toBe(62);
    always.close();
    const none = open({ name: 'inputs' });
    none.append(payloadOf(1));
    expect(none.durableSeq).toBe(1);
    none.close();
  });

  test('a failed fsync poisons the journal: the waiters are rejected and every later call throws it', async () => {
    const journal = open({ fsync: { mode: 'group', windowMs: 1 } });
    journal.append(payloadOf(1));
    // Pull the file out from under it: the next fsync fails with EBADF.
    closeSync((journal as unknown as { fd: number }).fd);
    const waiting = journal.whenDurable(1);
    const failure = await waiting.then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(JournalError);
    expect((failure as JournalError).code).toBe('io');
    expect((failure as JournalError).message).toMatch(/cannot fsync/);
    expectJournalError(() => journal.append(payloadOf(2)), 'io');
    expectJournalError(() => journal.read(1, 1), 'io');
    expectJournalError(() => journal.sync(), 'io');
    await expect(journal.whenDurable(1)).rejects.toBe(failure);
    expectJournalError(() => journal.close(), 'io');
    expectJournalError(() => journal.close(), 'closed');
  }, WAIT_MS);

  test('a closed journal refuses every call', async () => {
    const journal = open();
    journal.append(payloadOf(1));
    journal.close();
    expectJournalError(() => journal.append(payloadOf(2)), 'closed', /^journal orders: closed$/);
    expectJournalError(() => journal.appendMany([]), 'closed');
    expectJournalError(() => journal.read(1, 1), 'closed');
    expectJournalError(() => journal.sync(), 'closed');
    expectJournalError(() => journal.close(), 'closed');
    await expect(journal.whenDurable(1)).rejects.toMatchObject({ code: 'closed' });
  });
});

describe('options', () => {
  test.each([
    ['a name with a slash', { name: 'a/b' }, /journal name "a\/b": must match/],
    ['an upper-case name', { name: 'Orders' }, /journal name "Orders"/],
    ['an empty name', { name: '' }, /journal name ""/],
    ['a name of 33 characters', { name: 'a'.repeat(33) }, /must match/],
    ['a name starting with a digit', { name: '1orders' }, /must match/],
    ['segmentBytes too small', { segmentBytes: SEGMENT_BYTES_MIN - 1 }, /segmentBytes must be an integer of at least 4096, not 4095/],
    ['segmentBytes not an integer', { segmentBytes: 5000.5 }, /segmentBytes/],
    ['retainSegments negative', { retainSegments: -1 }, /retainSegments must be an integer of at least 0/],
    ['windowMs negative', { fsync: { mode: 'group', windowMs: -1 } }, /windowMs must be a number of milliseconds from 0 to 1000, not -1/],
    ['windowMs NaN', { fsync: { mode: 'group', windowMs: Number.NaN } }, /windowMs .* not NaN/],
    ['windowMs too long', { fsync: { mode: 'group', windowMs: 5000 } }, /not 5000/],
    ['an unknown fsync mode', { fsync: { mode: 'sometimes' } as unknown as JournalOptions['fsync'] }, /fsync mode must be 'always', 'group' or 'none', not "sometimes"/],
  ] as const)('%s is refused', (_, options, message) => {
    expectJournalError(() => Journal.open({ dir, name: NAME, ...options } as JournalOptions), 'bad_option', message);
    expect(segmentFiles()).toEqual([]);
  });

  test('a payload over 16 MiB or not bytes is refused, and appendMany writes nothing when one is', () => {
    const journal = open();
    expectJournalError(() => journal.append(new Uint8Array(PAYLOAD_BYTES_MAX + 1)), 'bad_option', /payload 0 has 16777217 bytes, more than 16777216/);
    expectJournalError(() => journal.appendMany([payloadOf(1), 'text' as unknown as Uint8Array]), 'bad_option', /payload 1 is not a Uint8Array/);
    expect(journal.lastSeq).toBe(0);
    expect(journal.append(new Uint8Array(0))).toBe(1);
    expect(journal.read(1, 1)[0].payload).toEqual(new Uint8Array(0));
    journal.close();
  });

  test('the directory is created with its parents', () => {
    const nested = join(dir, 'a', 'b');
    const journal = Journal.open({ dir: nested, name: NAME, fsync: { mode: 'always' } });
    journal.append(payloadOf(1));
    journal.close();
    expect(readdirSync(nested)).toEqual([segmentFileName(NAME, 1)]);
  });
});

describe('a writer killed with SIGKILL', () => {
  beforeAll(() => {
    // The child imports the built module: build it if it is missing or older than the source.
    if (existsSync(BUILT) && statSync(BUILT).mtimeMs >= statSync(SOURCE).mtimeMs) return;
    try {
      execFileSync('npm', ['run', 'build:ts'], { cwd: ROOT, stdio: 'pipe' });
    } catch (error) {
      // tsc emits even when another file of the tree fails to typecheck; only this module matters here.
      if (!existsSync(BUILT) || statSync(BUILT).mtimeMs < statSync(SOURCE).mtimeMs) throw error;
    }
  }, 120_000);

  test("every seq it printed after append returned under 'always' is there, with its payload, and nothing after a gap", async () => {
    const script = `
      import { Journal } from ${JSON.stringify(BUILT)};
      const journal = Journal.open({ dir: process.env.JOURNAL_DIR, name: 'orders', segmentBytes: 4096, fsync: { mode: 'always' } });
      ${payloadOf.toString()}
      for (let seq = 1; ; seq++) {
        const appended = journal.append(payloadOf(seq));
        process.stdout.write(appended + '\\n');
      }
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, JOURNAL_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.split('\n').length > 200) child.kill('SIGKILL');
    });
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    expect(err).toBe('');
    expect([code, signal]).toEqual([null, 'SIGKILL']);
    const printed = out
      .split('\n')
      .slice(0, -1) // the last piece may be a line cut short
      .map(Number);
    expect(printed.length).toBeGreaterThanOrEqual(200);
    expect(printed).toEqual(Array.from({ length: printed.length }, (_, i) => i + 1));
    const journal = open({ segmentBytes: 4096, fsync: { mode: 'always' } });
    expect(journal.lastSeq).toBeGreaterThanOrEqual(printed.length);
    expectRecords(readAll(journal, 1, 50), 1, journal.lastSeq);
    journal.close();
  }, 10_000);
});
