// writeOutput (src/io/output.ts): a write never destroys what it did not create. Regular files are
// replaced only when complete; symlinks, devices and FIFOs are written through and left in place;
// `-` is standard output. The command-line cases run bin/liq.js, so they need `npm run build:ts`.
import { afterAll, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClosedPipeError, OutputError } from '../../src/io/errors.js';
import { writeOutput } from '../../src/io/output.js';

const LIQ = fileURLToPath(new URL('../../bin/liq.js', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** The built writeOutput, for child processes whose standard output is a pipe. */
const OUTPUT_JS = new URL('../../dist/src/io/output.js', import.meta.url).href;

const directory = mkdtempSync(join(tmpdir(), 'liq-output-test-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

let pathCount = 0;
function freshPath(name: string): string {
  return join(directory, `${pathCount++}-${name}`);
}

/** `length` bytes that differ with `seed`. */
function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed * 17 + (i >>> 8)) & 0xff;
  return bytes;
}

/** A producer that emits `bytes` in pieces of varied sizes (some staged, some written directly). */
function emitting(bytes: Uint8Array): (emit: (bytes: Uint8Array) => void) => void {
  return (emit) => {
    const sizes = [1, 7, 100, 70_000, 3, 200_000, 65_536];
    for (let at = 0, k = 0; at < bytes.length; k++) {
      const end = Math.min(bytes.length, at + sizes[k % sizes.length]);
      emit(bytes.subarray(at, end));
      at = end;
    }
  };
}

function thrown(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

/** Temporary files writeOutput left in a directory (there must never be any). */
function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((name) => /\.liq-\d+-[0-9a-f]+\.tmp$/.test(name));
}

function liq(args: string[], timeout = 120_000) {
  return spawnSync(process.execPath, [LIQ, ...args], { cwd: REPO, timeout, maxBuffer: 64 * 1024 * 1024 });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('writeOutput to devices', () => {
  test('a character device survives a failing write (a node equal to /dev/full), from the library and from liq gen', () => {
    const node = freshPath('full.dev');
    let usable = spawnSync('mknod', [node, 'c', '1', '7']).status === 0;
    if (usable) {
      // A file system mounted nodev refuses to open device nodes: then fall back as if mknod had failed.
      try {
        closeSync(openSync(node, constants.O_WRONLY));
      } catch {
        usable = false;
        unlinkSync(node);
      }
    }
    if (usable) {
      const before = lstatSync(node);
      expect(before.isCharacterDevice()).toBe(true);
      const error = thrown(() => writeOutput(node, emitting(pattern(300_000, 1))));
      expect(error).toBeInstanceOf(OutputError);
      expect(error.message).toBe(`${node}: cannot write: ENOSPC: no space left on device`);
      const after = lstatSync(node);
      expect(after.isCharacterDevice()).toBe(true);
      expect([after.ino, after.rdev]).toEqual([before.ino, before.rdev]);

      const gen = liq(['gen', '--accounts', '20000', '--out', node]);
      expect(gen.status).toBe(1);
      expect(gen.stdout.toString()).toBe('');
      const stderr = gen.stderr.toString();
      expect(stderr.split('\n')).toHaveLength(2); // one line and its newline
      expect(stderr).toMatch(new RegExp(`^liq gen: ${escapeRegExp(node)}: cannot write: ENOSPC: no space left on device\\n$`));
      const afterGen = lstatSync(node);
      expect(afterGen.isCharacterDevice()).toBe(true);
      expect([afterGen.ino, afterGen.rdev]).toEqual([before.ino, before.rdev]);
      expect(leftovers(directory)).toEqual([]);
    } else {
      // No mknod here: a successful write to /dev/null must leave the node in place.
      const before = lstatSync('/dev/null');
      expect(writeOutput('/dev/null', emitting(pattern(300_000, 1)))).toEqual({ bytes: 300_000, path: '/dev/null' });
      const gen = liq(['gen', '--accounts', '20000', '--out', '/dev/null']);
      expect(gen.status).toBe(0);
      expect(gen.stderr.toString()).toBe('');
      const after = lstatSync('/dev/null');
      expect(after.isCharacterDevice()).toBe(true);
      expect([after.ino, after.rdev]).toEqual([before.ino, before.rdev]);
    }
  });

  test('/dev/null takes a write and stays a character device', () => {
    const result = writeOutput('/dev/null', emitting(pattern(100_000, 2)));
    expect(result).toEqual({ bytes: 100_000, path: '/dev/null' });
    expect(lstatSync('/dev/null').isCharacterDevice()).toBe(true);
  });
});

describe('writeOutput through symlinks', () => {
  test('a symlink survives and its referent holds exactly the new bytes, through a chain of links', () => {
    const sub = freshPath('sub');
    mkdirSync(sub);
    const file = join(sub, 'book.bin');
    writeFileSync(file, pattern(500_000, 3));
    const link = freshPath('link.bin');
    symlinkSync(join(sub.slice(directory.length + 1), 'book.bin'), link); // relative to the link's directory
    const second = freshPath('second.bin');
    symlinkSync(link, second);

    const bytes = pattern(333_333, 4);
    expect(writeOutput(second, emitting(bytes))).toEqual({ bytes: bytes.length, path: realpathSync(file) });
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(lstatSync(second).isSymbolicLink()).toBe(true);
    expect(readlinkSync(second)).toBe(link);
    expect(readFileSync(file).equals(Buffer.from(bytes))).toBe(true);
    expect(readFileSync(second).equals(Buffer.from(bytes))).toBe(true);
    expect(leftovers(sub)).toEqual([]);
    expect(leftovers(directory)).toEqual([]);
  });

  test("a dangling symlink's referent is created (following a dangling chain) and the links survive", () => {
    const sub = freshPath('dangling-sub');
    mkdirSync(sub);
    const referent = join(sub, 'new.bin');
    const inner = join(sub, 'inner.link');
    symlinkSync('new.bin', inner); // relative to sub, not to the outer link's directory
    const outer = freshPath('outer.link');
    symlinkSync(inner, outer);

    const bytes = pattern(70_001, 5);
    expect(writeOutput(outer, emitting(bytes))).toEqual({ bytes: bytes.length, path: join(realpathSync(sub), 'new.bin') });
    expect(lstatSync(outer).isSymbolicLink()).toBe(true);
    expect(lstatSync(inner).isSymbolicLink()).toBe(true);
    expect(lstatSync(referent).isFile()).toBe(true);
    expect(readFileSync(referent).equals(Buffer.from(bytes))).toBe(true);
  });

  test('a symlink loop is refused with one line and nothing is created', () => {
    const a = freshPath('loop-a');
    const b = freshPath('loop-b');
    symlinkSync(b, a);
    symlinkSync(a, b);
    const error = thrown(() => writeOutput(a, emitting(pattern(10, 6))));
    expect(error).toBeInstanceOf(OutputError);
    expect(error.message).toMatch(new RegExp(`^${escapeRegExp(a)}: cannot open for writing: ELOOP: [^\\n]+$`));
    expect(lstatSync(a).isSymbolicLink()).toBe(true);
    expect(lstatSync(b).isSymbolicLink()).toBe(true);
  });
});

describe('writeOutput to regular files', () => {
  test('a target keeps its old bytes when produce throws midway, and no temporary file is left', () => {
    const path = freshPath('book.bin');
    const old = pattern(400_000, 7);
    writeFileSync(path, old);
    const boom = new Error('boom');
    const error = thrown(() =>
      writeOutput(path, (emit) => {
        emitting(pattern(300_000, 8))(emit);
        throw boom;
      }),
    );
    expect(error).toBe(boom);
    expect(readFileSync(path).equals(Buffer.from(old))).toBe(true);
    expect(leftovers(directory)).toEqual([]);
  });

  test('a path that did not exist is absent again after a failed write', () => {
    const path = freshPath('never.bin');
    expect(() => writeOutput(path, () => { throw new Error('no book'); })).toThrow('no book');
    expect(() => lstatSync(path)).toThrow(/ENOENT/);
    expect(leftovers(directory)).toEqual([]);
  });

  test("a successful write replaces the bytes and keeps the target's mode", () => {
    const path = freshPath('mode.bin');
    writeFileSync(path, pattern(1000, 9));
    chmodSync(path, 0o640);
    const bytes = pattern(150_000, 10);
    expect(writeOutput(path, emitting(bytes))).toEqual({ bytes: bytes.length, path });
    expect(statSync(path).mode & 0o7777).toBe(0o640);
    expect(readFileSync(path).equals(Buffer.from(bytes))).toBe(true);
    expect(leftovers(directory)).toEqual([]);
  });

  test('regression: a write failure never removes a pre-existing target (it used to be unlinked)', () => {
    const path = freshPath('existing.bin');
    const old = pattern(250_000, 11);
    writeFileSync(path, old);
    let calls = 0;
    const failingWrite = (): number => {
      if (++calls === 3) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
      return 4096; // short writes, as a file system may make
    };
    const error = thrown(() => writeOutput(path, emitting(pattern(300_000, 12)), { writeSync: failingWrite }));
    expect(error).toBeInstanceOf(OutputError);
    expect(error.message).toBe(`${path}: cannot write: ENOSPC: no space left on device`);
    expect(calls).toBe(3);
    expect(readFileSync(path).equals(Buffer.from(old))).toBe(true);
    expect(leftovers(directory)).toEqual([]);
  });

  test('a directory, a missing directory and a socket are refused with one line', async () => {
    const dir = freshPath('a-directory');
    mkdirSync(dir);
    expect(thrown(() => writeOutput(dir, emitting(pattern(10, 13)))).message).toBe(`${dir}: is a directory`);
    expect(statSync(dir).isDirectory()).toBe(true);

    const missing = join(freshPath('no-such-dir'), 'book.bin');
    const error = thrown(() => writeOutput(missing, emitting(pattern(10, 13))));
    expect(error).toBeInstanceOf(OutputError);
    expect(error.message).toBe(`${missing}: cannot open for writing: ENOENT: no such file or directory`);

    const socket = freshPath('sock');
    const server = createServer();
    await new Promise<void>((done) => server.listen(socket, done));
    try {
      expect(thrown(() => writeOutput(socket, emitting(pattern(10, 13)))).message).toBe(
        `${socket}: is a socket; a book is written to a regular file, a device, a FIFO or - (standard output)`,
      );
      expect(lstatSync(socket).isSocket()).toBe(true);
    } finally {
      await new Promise<void>((done) => server.close(() => done()));
    }
  });
});

describe('writeOutput to FIFOs', () => {
  function makeFifo(): string {
    const fifo = freshPath('fifo');
    const made = spawnSync('mkfifo', [fifo]);
    expect(made.status).toBe(0);
    return fifo;
  }

  test('a FIFO with no reader gives one line at once, from the library and from liq gen, and stays', () => {
    const fifo = makeFifo();
    const error = thrown(() => writeOutput(fifo, emitting(pattern(10, 14))));
    expect(error).toBeInstanceOf(OutputError);
    expect(error.message).toBe(`${fifo}: no process is reading the FIFO`);
    expect(lstatSync(fifo).isFIFO()).toBe(true);

    const gen = liq(['gen', '--accounts', '200', '--out', fifo], 30_000);
    expect(gen.signal).toBe(null); // not killed by the timeout
    expect(gen.status).toBe(1);
    expect(gen.stderr.toString()).toBe(`liq gen: ${fifo}: no process is reading the FIFO\n`);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  }, 60_000);

  test('a FIFO with a reader gets the bytes; a reader that goes away is ClosedPipeError', () => {
    const fifo = makeFifo();
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const bytes = pattern(20_000, 15); // within the pipe's buffer: nobody reads while it is written
      expect(writeOutput(fifo, emitting(bytes))).toEqual({ bytes: bytes.length, path: fifo });
      const got = Buffer.alloc(bytes.length + 10);
      expect(readSync(reader, got, 0, got.length, null)).toBe(bytes.length);
      expect(got.subarray(0, bytes.length).equals(Buffer.from(bytes))).toBe(true);

      // Through a symlink: the FIFO gets the bytes, the link stays.
      const link = freshPath('fifo.link');
      symlinkSync(fifo, link);
      const more = pattern(5_000, 18);
      expect(writeOutput(link, emitting(more))).toEqual({ bytes: more.length, path: realpathSync(fifo) });
      expect(readSync(reader, got, 0, got.length, null)).toBe(more.length);
      expect(got.subarray(0, more.length).equals(Buffer.from(more))).toBe(true);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
    } finally {
      closeSync(reader);
    }

    const second = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    let open = true;
    const error = thrown(() =>
      writeOutput(fifo, (emit) => {
        emit(pattern(1000, 16)); // staged, not yet written
        closeSync(second);
        open = false;
        emit(pattern(70_000, 17)); // writes the staged piece: EPIPE
      }),
    );
    if (open) closeSync(second);
    expect(error).toBeInstanceOf(ClosedPipeError);
    expect(error.message).toBe(`${fifo}: the reader closed the pipe`);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });
});

describe('writeOutput to standard output', () => {
  test('- and /dev/stdout (a link under /proc to a pipe) give the bytes a file gets, in a child process', () => {
    const bytes = pattern(300_000, 19); // more than a pipe holds: the EAGAIN path runs
    const path = freshPath('reference.bin');
    writeOutput(path, emitting(bytes));
    for (const target of ['-', '/dev/stdout']) {
      const script = `
        import { readFileSync } from 'node:fs';
        import { writeOutput } from ${JSON.stringify(OUTPUT_JS)};
        const bytes = readFileSync(${JSON.stringify(path)});
        process.stdout; // as the CLI does: Node makes a pipe on fd 1 non-blocking
        const result = writeOutput(${JSON.stringify(target)}, (emit) => { for (let at = 0; at < bytes.length; at += 70000) emit(bytes.subarray(at, at + 70000)); });
        process.stderr.write(JSON.stringify(result));
      `;
      // Through `| cat`: spawnSync's own standard output is a socket, which /dev/stdout cannot be opened on.
      const child = spawnSync('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" --input-type=module -e "$SCRIPT" | cat`], {
        cwd: REPO,
        env: { ...process.env, SCRIPT: script },
        timeout: 60_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      expect(child.status).toBe(0);
      expect(JSON.parse(child.stderr.toString()).bytes).toBe(bytes.length);
      expect(child.stdout.equals(readFileSync(path))).toBe(true);
    }
  });
});

describe('liq gen --out -', () => {
  test('writes to standard output the same bytes as to a file, and nothing else (binary and --json)', () => {
    for (const json of [false, true]) {
      const path = freshPath(json ? 'book.json' : 'book.bin');
      const extra = json ? ['--json'] : [];
      const toFile = liq(['gen', '--accounts', '3000', '--seed', '7', ...extra, '--out', path]);
      expect(toFile.status).toBe(0);
      expect(toFile.stdout.toString()).toMatch(new RegExp(`^${escapeRegExp(path)}: 3000 accounts`));
      const toStdout = liq(['gen', '--accounts', '3000', '--seed', '7', ...extra, '--out', '-']);
      expect(toStdout.stderr.toString()).toBe('');
      expect(toStdout.status).toBe(0);
      const expected = readFileSync(path);
      expect(expected.length).toBeGreaterThan(100_000); // more than a pipe holds: the EAGAIN path runs
      expect(toStdout.stdout.equals(expected)).toBe(true);
    }
    expect(leftovers(REPO)).toEqual([]);
  });

  test('liq gen --accounts 20000 --out - | head -c 10 exits 0 with nothing on stderr', () => {
    const piped = spawnSync('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" "${LIQ}" gen --accounts 20000 --out - | head -c 10`], {
      cwd: REPO,
      timeout: 120_000,
    });
    expect(piped.stderr.toString()).toBe('');
    expect(piped.status).toBe(0);
    // The magic "LIQBOOK\0", then the first bytes of the version (u32 2, little-endian).
    expect([...piped.stdout]).toEqual([0x4c, 0x49, 0x51, 0x42, 0x4f, 0x4f, 0x4b, 0x00, 0x02, 0x00]);
  });
});
