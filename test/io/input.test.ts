// Reading books with limits (src/io/input.ts, docs/book-json.md "Reading books: sources and
// limits"): the kinds of source, the JSON caps, FIFOs with and without a writer, standard input,
// damaged binary headers, UTF-8 and syntax errors, each refused with the documented line.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BookError } from '../../src/book/errors.js';
import { BOOK_BINARY_MAGIC, encodeBookModel, loadBookBinaryFile } from '../../src/book/binary.js';
import { parseBookJson } from '../../src/book/json.js';
import { InputError } from '../../src/io/errors.js';
import {
  FIFO_WRITER_WAIT_MS,
  HEAD_BYTES,
  JSON_BOOK_ACCOUNTS_MAX,
  JSON_BOOK_BYTES_MAX,
  decodeUtf8,
  firstInvalidUtf8,
  headProblem,
  loadBookSource,
  nonTextBytes,
} from '../../src/io/input.js';

const SAMPLE = readFileSync('examples/sample.json', 'utf8');
const SAMPLE_ACCOUNTS = (JSON.parse(SAMPLE) as { accounts: unknown[] }).accounts.length;
const KINDS = 'a book is read from a regular file, a pipe or - (standard input)';
const USE_BINARY = 'use the binary format for larger books (liq gen writes it; docs/book-binary.md)';

let scratch: string;
let binaryPath: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'liq-input-'));
  // A small binary book (what `liq gen` writes, made in-process: the command line is being reworked).
  binaryPath = join(scratch, 'sample.bin');
  writeFileSync(binaryPath, encodeBookModel(parseBookJson(SAMPLE)));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The error loadBookSource rejects with (fails the test when it loads). */
async function refusal(path: string, options: Parameters<typeof loadBookSource>[1] = {}): Promise<Error> {
  try {
    await loadBookSource(path, options);
  } catch (error) {
    expect(error instanceof InputError || error instanceof BookError).toBe(true);
    expect((error as Error).message).not.toMatch(/[\n\r\u2028\u2029]/u);
    return error as Error;
  }
  throw new Error(`${path} loaded; a refusal was expected`);
}

function file(name: string, content: string | Uint8Array): string {
  const path = join(scratch, name);
  writeFileSync(path, content);
  return path;
}

function fifo(name: string): string {
  const path = join(scratch, name);
  execFileSync('mkfifo', [path]);
  return path;
}

describe('kinds of source', () => {
  test('a character device (/dev/zero) is refused at once, without reading', async () => {
    const error = await refusal('/dev/zero');
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toBe(`/dev/zero: is a character device; ${KINDS}`);
  });

  test('a directory is refused', async () => {
    const error = await refusal(scratch);
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toBe(`${scratch}: is a directory; ${KINDS}`);
  });

  test('a missing file: cannot open, with the system message and nothing after it', async () => {
    const missing = join(scratch, 'nope.json');
    const error = await refusal(missing);
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toBe(`${missing}: cannot open: ENOENT: no such file or directory`);
  });

  test('a regular JSON file and a regular binary file load', async () => {
    expect((await loadBookSource(file('sample.json', SAMPLE))).accountCount).toBe(SAMPLE_ACCOUNTS);
    expect((await loadBookSource(binaryPath)).accountCount).toBe(SAMPLE_ACCOUNTS);
  });

  test('a binary book with a bad header is named by the file and the header field', async () => {
    const bytes = readFileSync(binaryPath);
    bytes[8] = 3; // version
    const error = await refusal(file('v3.bin', bytes));
    expect(error).toBeInstanceOf(BookError);
    expect(error.message).toBe(`${join(scratch, 'v3.bin')}: header version: version 3 is not supported; this loader reads versions 1 and 2`);
  });

  test('the binary loader reports its progress, ending with (size, size)', async () => {
    const calls: [number, number][] = [];
    loadBookBinaryFile(binaryPath, { chunkBytes: 16, onProgress: (done, total) => calls.push([done, total]) });
    const size = readFileSync(binaryPath).length;
    expect(calls.length).toBeGreaterThan(10);
    expect(calls.every(([, total]) => total === size)).toBe(true);
    for (let i = 1; i < calls.length; i++) expect(calls[i][0]).toBeGreaterThanOrEqual(calls[i - 1][0]);
    expect(calls.at(-1)).toEqual([size, size]);
    const through: number[] = [];
    await loadBookSource(binaryPath, { onProgress: (done) => through.push(done) });
    expect(through.at(-1)).toBe(size);
  });
});

describe('the JSON limits', () => {
  test(`a JSON file over ${JSON_BOOK_BYTES_MAX} bytes is refused by its size, before it is read`, async () => {
    // Text for the head, then a hole: were the file read, its NULs would be a syntax error instead.
    const path = file('huge.json', `{"version": 1, "instruments": [], "accounts": [${' '.repeat(2 * HEAD_BYTES)}`);
    truncateSync(path, JSON_BOOK_BYTES_MAX + 1);
    const error = await refusal(path);
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toBe(
      `${path}: has ${(JSON_BOOK_BYTES_MAX + 1).toLocaleString('en-US')} bytes; a JSON book may have at most ` +
        `${JSON_BOOK_BYTES_MAX.toLocaleString('en-US')} bytes (128 MiB): ${USE_BINARY}`,
    );
    // 600 MiB: past V8's longest string (512 MiB), where reading it whole crashed with a stack trace.
    truncateSync(path, 600 * 2 ** 20);
    expect((await refusal(path)).message).toMatch(/: has 629,145,600 bytes; a JSON book may have at most/);
  });

  test('the byte limit, both sides of it, on a file and on a pipe', async () => {
    const path = file('exact.json', SAMPLE);
    const size = Buffer.byteLength(SAMPLE);
    expect((await loadBookSource(path, { jsonBytesMax: size })).accountCount).toBe(SAMPLE_ACCOUNTS);
    expect((await refusal(path, { jsonBytesMax: size - 1 })).message).toMatch(new RegExp(`: has ${size.toLocaleString('en-US')} bytes; a JSON book may have at most ${(size - 1).toLocaleString('en-US')} bytes: `));
    const piped = (max: number) => loadBookSource('-', { stdin: Readable.from([Buffer.from(SAMPLE)]), jsonBytesMax: max });
    expect((await piped(size)).accountCount).toBe(SAMPLE_ACCOUNTS);
    const error = await piped(size - 1).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(
      `-: more than ${(size - 1).toLocaleString('en-US')} bytes arrived; a JSON book may have at most that: ${USE_BINARY}, read from a regular file`,
    );
  });

  test('an endless pipe stops being read at the limit', async () => {
    let pulled = 0;
    const endless = Readable.from(
      (function* () {
        for (;;) {
          pulled++;
          yield Buffer.from(' '.repeat(1024));
        }
      })(),
    );
    const error = await refusal('-', { stdin: endless, jsonBytesMax: 64 * 1024 });
    expect(error.message).toBe(`-: more than 65,536 bytes arrived; a JSON book may have at most that: ${USE_BINARY}, read from a regular file`);
    expect(pulled).toBeLessThan(200); // 65 chunks were needed, and the stream reads a little ahead
  });

  test(`more than ${JSON_BOOK_ACCOUNTS_MAX} accounts are refused before any account is read`, async () => {
    const accounts = (count: number) => `{"instruments": [], "accounts": [${Array(count).fill('{}').join(',')}]}`;
    const over = file('many.json', accounts(JSON_BOOK_ACCOUNTS_MAX + 1));
    const error = await refusal(over);
    expect(error).toBeInstanceOf(BookError);
    expect(error.message).toBe(
      `${over}: accounts: has ${(JSON_BOOK_ACCOUNTS_MAX + 1).toLocaleString('en-US')} accounts; a JSON book may have at most ` +
        `${JSON_BOOK_ACCOUNTS_MAX.toLocaleString('en-US')}: ${USE_BINARY}`,
    );
    // At the limit the accounts are read (and the first, an empty object, is refused for its id).
    const at = file('many.json', accounts(JSON_BOOK_ACCOUNTS_MAX));
    expect((await refusal(at)).message).toBe(`${at}: accounts[0] id: is missing (required)`);
  });
});

describe('FIFOs', () => {
  test('a FIFO with no writer is refused after the wait, without hanging', async () => {
    const path = fifo('lonely');
    const error = await refusal(path, { fifoWriterWaitMs: 200 });
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toBe(`${path}: no writer opened the FIFO within 0.2 s; a book is read from a FIFO while something writes into it`);
    expect(FIFO_WRITER_WAIT_MS).toBe(10_000);
  });

  test('a FIFO with a writer loads, also when the writer is slow to write (EAGAIN)', async () => {
    const json = file('fifo-book.json', SAMPLE);
    for (const script of [`cat '${json}' > '${'F'}'`, `exec 3> '${'F'}'; sleep 0.3; cat '${json}' >&3`]) {
      const path = fifo(`fifo-${Math.random().toString(36).slice(2)}`);
      const writer = spawn('sh', ['-c', script.replaceAll("'F'", `'${path}'`)], { stdio: 'ignore' });
      const engine = await loadBookSource(path, { fifoWriterWaitMs: 5000 });
      expect(engine.accountCount).toBe(SAMPLE_ACCOUNTS);
      if (writer.exitCode === null) await once(writer, 'exit');
      expect(writer.exitCode).toBe(0);
    }
  });

  test('a binary book on a FIFO is refused: it is loaded from a regular file', async () => {
    const path = fifo('binary-fifo');
    const writer = spawn('sh', ['-c', `cat '${binaryPath}' > '${path}'`], { stdio: 'ignore' });
    const error = await refusal(path, { fifoWriterWaitMs: 5000 });
    expect(error.message).toBe(
      `${path}: a binary book is loaded from a regular file, not a pipe (the loader needs the file's size and random access): name the file`,
    );
    if (writer.exitCode === null && writer.signalCode === null) await once(writer, 'exit');
  });
});

describe('standard input (-)', () => {
  test('- reads a JSON book from a stream, in pieces', async () => {
    const bytes = Buffer.from(SAMPLE);
    const pieces = [bytes.subarray(0, 3), bytes.subarray(3, 5000), bytes.subarray(5000)];
    expect((await loadBookSource('-', { stdin: Readable.from(pieces) })).accountCount).toBe(SAMPLE_ACCOUNTS);
  });

  test('- refuses a binary book, a terminal, and names a read error', async () => {
    const binary = await refusal('-', { stdin: Readable.from([readFileSync(binaryPath)]) });
    expect(binary.message).toBe(
      "-: a binary book is loaded from a regular file, not standard input (the loader needs the file's size and random access): name the file",
    );
    const terminal = Object.assign(Readable.from([]), { isTTY: true });
    expect((await refusal('-', { stdin: terminal })).message).toBe('-: standard input is a terminal; pipe a book in');
    const failing = new Readable({
      read() {
        this.destroy(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO', syscall: 'read' }));
      },
    });
    expect((await refusal('-', { stdin: failing })).message).toBe('-: cannot read: EIO: i/o error');
  });

  test('- from a real pipe, in a child process', () => {
    const script =
      "import('./dist/src/io/input.js').then((m) => m.loadBookSource('-')).then((e) => console.log(e.accountCount), (e) => console.log(e.message))";
    const child = spawnSync('sh', ['-c', `cat examples/sample.json | node --input-type=module -e "${script}"`], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe(String(SAMPLE_ACCOUNTS));
  });

  test('cat examples/sample.json | liq eval - (the built command)', () => {
    const child = spawnSync('sh', ['-c', 'cat examples/sample.json | node bin/liq.js eval -'], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(child.stdout).toContain('alice');
  });
});

describe('damaged binary books and binary data', () => {
  test('one flipped bit in the magic is a damaged binary header, naming the byte', async () => {
    const original = readFileSync(binaryPath);
    for (let byte = 0; byte < BOOK_BINARY_MAGIC.length; byte++) {
      const bit = byte % 8;
      const path = join(scratch, `flip-${byte}.bin`);
      copyFileSync(binaryPath, path);
      const bytes = readFileSync(path);
      bytes[byte] ^= 1 << bit;
      writeFileSync(path, bytes);
      const error = await refusal(path);
      expect(error).toBeInstanceOf(BookError);
      const got = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
      const hex = (b: number) => `0x${b.toString(16).padStart(2, '0')}`;
      expect(error.message).toBe(
        `${path}: damaged binary book header: bytes 0 to 7 are ${got}, not the magic 4c 49 51 42 4f 4f 4b 00 ("LIQBOOK\\0"): ` +
          `byte ${byte} (${hex(bytes[byte])}, not ${hex(original[byte])}) differs`,
      );
    }
  });

  test('a magic with 5 of its 8 bytes in place is damaged; with 4, it is taken for text', () => {
    const head = (inPlace: number) => {
      const bytes = Buffer.from('{"x": 1}    ');
      bytes.set(BOOK_BINARY_MAGIC.subarray(0, inPlace)); // the first `inPlace` bytes of the magic
      bytes[7] = 0x20; // not the magic's NUL
      return bytes;
    };
    expect(headProblem(head(5))).toMatch(/^damaged binary book header: bytes 0 to 7 are 4c 49 51 42 4f .*: bytes 5 .*, 6 .* and 7 .* differ$/);
    expect(headProblem(head(4))).toBeNull();
    expect(headProblem(Buffer.from('LIQBOO'))).toMatch(/^damaged binary book header: the file has 6 bytes, the start of the 8-byte magic/);
    expect(headProblem(Buffer.from('LIQB'))).toBeNull();
  });

  test('a mostly binary file is a damaged binary header: a NUL, or over 30% bytes that are not text', async () => {
    const noise = Buffer.alloc(HEAD_BYTES);
    for (let i = 0; i < noise.length; i++) noise[i] = 0x80 + ((i * 37) % 0x40); // lone continuation bytes
    const path = file('noise.bin', noise);
    const error = await refusal(path);
    expect(error).toBeInstanceOf(BookError);
    expect(error.message).toMatch(new RegExp(`^${path}: damaged binary book header: 4096 of the first 4096 bytes \\(100\\.0%\\) are neither text nor UTF-8, and it starts with 80 a5 8a af 94 b9 9e 83, not the magic`));
    const withNul = file('nul.json', '{"instruments": [], \u0000"accounts": []}');
    expect((await refusal(withNul)).message).toMatch(/: damaged binary book header: byte 20 is a NUL \(0x00\), which JSON text never has, and it starts with 7b 22 69/);
    // Both sides of 30%: 300 odd bytes of 1000 is text, 301 is not.
    const mixed = (odd: number) => {
      const bytes = Buffer.alloc(1000, 0x20);
      for (let i = 0; i < odd; i++) bytes[3 * i + 1] = 0x01;
      return bytes;
    };
    expect(nonTextBytes(mixed(300))).toBe(300);
    expect(headProblem(mixed(300))).toBeNull();
    expect(headProblem(mixed(301))).toMatch(/^damaged binary book header: 301 of the first 1000 bytes \(30\.1%\)/);
  });

  test('UTF-16 text is named as such', async () => {
    const path = file('utf16.json', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(SAMPLE, 'utf16le')]));
    expect((await refusal(path)).message).toBe(`${path}: is UTF-16 text (it starts with the byte order mark ff fe); a JSON book is UTF-8`);
  });
});

describe('JSON text', () => {
  test('a UTF-8 byte order mark is skipped, and non-ASCII text is text, not binary', async () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(SAMPLE)]);
    expect(headProblem(bom)).toBeNull();
    expect((await loadBookSource(file('bom.json', bom))).accountCount).toBe(SAMPLE_ACCOUNTS);
    // A head of nothing but non-ASCII UTF-8 (cut inside a character at the end) is text.
    const wide = Buffer.from(`"${'口座€'.repeat(1000)}"`).subarray(0, HEAD_BYTES);
    expect(wide[HEAD_BYTES - 1]).toBeGreaterThanOrEqual(0x80);
    expect(nonTextBytes(wide)).toBe(0);
    expect(headProblem(wide)).toBeNull();
    // Non-ASCII ids: JSON, refused for the id, with the characters escaped.
    const ids = SAMPLE.replace(/"id": "([^"]*)"/g, (_, id: string) => `"id": "${'口座€'.repeat(8)}${id}"`);
    expect(headProblem(Buffer.from(ids))).toBeNull();
    const error = await refusal(file('ids.json', ids));
    expect(error).toBeInstanceOf(BookError);
    expect(error.message).toMatch(/: accounts\[0\] id: "\\u53e3\\u5ea7\\u20ac.*" must be printable ASCII/);
  });

  test('U+2028: inside a string it is JSON (and an id refuses it, escaped); between tokens it is a syntax error', async () => {
    const inId = SAMPLE.replace(/"id": "([^"]*)"/, '"id": "a\u2028b"');
    const error = await refusal(file('ls-id.json', inId));
    expect(error.message).toMatch(/: accounts\[0\] id: "a\\u2028b" must be printable ASCII/);
    const between = `{\n  "instruments": []\u2028,\n  "accounts": []\n}`;
    const path = file('ls-space.json', between);
    expect((await refusal(path)).message).toBe(
      `${path}: book: is not valid JSON: line 2, column 20: expected ',' or '}' after a property value, got U+2028`,
    );
  });

  test('a syntax error in a multi-line book is one line with its line and column', async () => {
    const broken = '{\n  "version": 1,\n  "instruments": [\n    {"symbol": "BTC-PERP",}\n  ]\n}\n';
    const path = file('syntax.json', broken);
    const error = await refusal(path);
    expect(error).toBeInstanceOf(BookError);
    expect(error.message).toBe(`${path}: book: is not valid JSON: line 4, column 27: expected a property name in double quotes, got '}'`);
    const cut = file('cut.json', SAMPLE.slice(0, 200));
    expect((await refusal(cut)).message).toMatch(/: book: is not valid JSON: line \d+, column \d+: (unexpected end of input|unterminated string)/);
    const raw = file('raw-newline.json', '{"instruments": [], "accounts": [{"id": "a\nb"}]}');
    expect((await refusal(raw)).message).toBe(
      `${raw}: book: is not valid JSON: line 1, column 43: control character U+000A in a string (write it as the escape \\n)`,
    );
  });

  test('invalid UTF-8 names its byte offset', async () => {
    const bytes = Buffer.from(SAMPLE);
    bytes[1234] = 0xff;
    const path = file('bad-utf8.json', bytes);
    const error = await refusal(path);
    expect(error).toBeInstanceOf(BookError);
    expect(error.message).toBe(`${path}: is not valid UTF-8: byte 1234 (0xff) does not start or continue a character there; a JSON book is UTF-8 text`);
    const cut = Buffer.concat([Buffer.from(SAMPLE), Buffer.from([0xe2, 0x82])]);
    expect(() => decodeUtf8('x', cut)).toThrow(`x: is not valid UTF-8: it ends inside a character that starts at byte ${cut.length - 2} (0xe2)`);
    // The offsets agree with TextDecoder on what is valid: overlong forms, surrogates, > U+10FFFF.
    for (const bad of [[0xc0, 0x80], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5]]) {
      expect(firstInvalidUtf8(Uint8Array.from([0x41, ...bad]))).toEqual({ offset: 1, cutOff: false });
      expect(() => new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bad))).toThrow();
    }
    expect(firstInvalidUtf8(Buffer.from('a€𝄞口'))).toBeNull();
  });
});

describe('memory', () => {
  test('a 100-byte binary file claiming 2^32 - 1 accounts is refused with a peak RSS under 100 MB', () => {
    const bytes = new Uint8Array(100);
    const view = new DataView(bytes.buffer);
    bytes.set(BOOK_BINARY_MAGIC);
    view.setUint32(8, 1, true); // version
    view.setUint32(20, 0xffffffff, true); // accountCount
    view.setBigUint64(32, 2n, true); // instruments: "[]"
    bytes.set(Buffer.from('[]'), 40);
    view.setBigUint64(48, 4n * (2n ** 32n), true); // accountIdOffsets: 4 × (A + 1), as the counts require
    const path = file('huge-claim.bin', bytes);
    const script =
      `import('./dist/src/io/input.js').then((m) => m.loadBookSource(${JSON.stringify(path)})).then(` +
      '() => console.log("loaded"), (e) => console.log(JSON.stringify({ message: e.message, maxRSS: process.resourceUsage().maxRSS })))';
    const child = spawnSync('node', ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    const { message, maxRSS } = JSON.parse(child.stdout) as { message: string; maxRSS: number };
    expect(message).toMatch(new RegExp(`^${path}: section accountIdOffsets: truncated`));
    expect(maxRSS * 1024).toBeLessThan(100 * 1000 * 1000); // maxRSS is in kilobytes
  });
});
