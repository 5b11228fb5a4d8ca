// Every file a command writes goes through writeOutput, so that a write never destroys what it did
// not create: a regular file is replaced only once the new bytes are complete and on disk (written
// to a temporary file beside it, fsynced, then renamed over it), and a symlink, a device or a FIFO
// is written through, never unlinked. The rules are in docs/generator.md ("Writing files").
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  fchmodSync,
  fsyncSync,
  lstatSync,
  openSync,
  readlinkSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ClosedPipeError, OutputError, systemMessage } from './errors.js';

/** How writeOutput names standard output in its errors. */
export const STANDARD_OUTPUT_NAME = 'standard output';

/** Options of writeOutput. */
export interface WriteOutputOptions {
  /**
   * The write(2) used for every write, fs.writeSync by default (same arguments, same result). Tests
   * replace it to make a write fail midway (throw an Error with a `code`, as Node's do).
   */
  writeSync?: (fd: number, bytes: Uint8Array, offset: number, length: number) => number;
}

/** The most symlinks followed to find a dangling link's referent (Linux's own limit). */
const SYMLINK_HOPS_MAX = 40;

/** Small pieces are gathered into a buffer of this size before they are written. */
const STAGING_BYTES = 64 * 1024;

/**
 * Writes the bytes `produce` emits, in order, to `target`; returns the bytes written and the path
 * actually written (a symlink's referent). `target` is `-` (standard output), a regular file or a
 * path that does not exist yet (replaced atomically), a character or block device, or a FIFO.
 *
 * Throws OutputError (one line naming `target`) when the target cannot be opened or written,
 * ClosedPipeError when the reader of standard output or of a FIFO went away, and whatever
 * `produce` throws. After a failure a regular target is exactly as it was (absent or its old
 * bytes), and nothing but the temporary file writeOutput created is ever removed.
 */
export function writeOutput(
  target: string,
  produce: (emit: (bytes: Uint8Array) => void) => void,
  options: WriteOutputOptions = {},
): { bytes: number; path: string } {
  const write = options.writeSync ?? writeSync;
  if (target === '-') {
    const sink = new Sink(STANDARD_OUTPUT_NAME, 1, write, true);
    produce((bytes) => sink.write(bytes));
    sink.flush();
    return { bytes: sink.bytes, path: target };
  }
  if (target === '') throw new OutputError('the output path is empty');
  let stats: Stats | undefined;
  try {
    stats = statSync(target);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw new OutputError(`${target}: cannot open for writing: ${systemMessage(error)}`);
  }
  if (stats === undefined || stats.isFile()) return replaceFile(target, resolveSymlinks(target, stats !== undefined), stats, produce, write);
  if (stats.isDirectory()) throw new OutputError(`${target}: is a directory`);
  // A device or a FIFO is opened through `target` itself: the kernel follows any symlinks,
  // including the ones under /proc that realpath cannot (/dev/stdout when it is a pipe).
  if (stats.isCharacterDevice() || stats.isBlockDevice()) {
    // Written in place: no O_CREAT (a device is never made) and no O_TRUNC.
    return writeInPlace(target, openForWriting(target, constants.O_WRONLY), produce, write, false);
  }
  if (stats.isFIFO()) {
    // O_NONBLOCK so that a FIFO nobody reads fails at once (ENXIO) instead of hanging in open(2).
    return writeInPlace(target, openForWriting(target, constants.O_WRONLY | constants.O_NONBLOCK), produce, write, true);
  }
  const what = stats.isSocket() ? 'a socket' : 'not a regular file';
  throw new OutputError(`${target}: is ${what}; a book is written to a regular file, a device, a FIFO or - (standard output)`);
}

/**
 * The regular file a write to `target` lands in: `target` itself unless it is a symlink, else the
 * link's final referent (`exists`), or the path a dangling link ends at (created, the link kept).
 */
function resolveSymlinks(target: string, exists: boolean): string {
  const failure = (error: unknown): never => {
    throw new OutputError(`${target}: cannot open for writing: ${systemMessage(error)}`);
  };
  let stats: Stats;
  try {
    stats = lstatSync(target);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return target;
    return failure(error);
  }
  if (!stats.isSymbolicLink()) return target;
  if (exists) {
    try {
      return realpathSync(target);
    } catch (error) {
      return failure(error);
    }
  }
  // Dangling somewhere along the chain: follow it by hand. Each link's text is relative to the
  // link's own directory, taken with its symlinks resolved (as the kernel does for `..`).
  let path = target;
  for (let hops = 0; hops < SYMLINK_HOPS_MAX; hops++) {
    try {
      path = resolve(realpathSync(dirname(path)), readlinkSync(path));
      stats = lstatSync(path);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return path;
      return failure(error);
    }
    if (!stats.isSymbolicLink()) return path;
  }
  throw new OutputError(`${target}: cannot open for writing: more than ${SYMLINK_HOPS_MAX} symbolic links to follow`);
}

/**
 * A regular file or a new one: the bytes go to a temporary file in the same directory (so the
 * rename stays within one file system), which is fsynced and renamed over `path` only once
 * complete. Any failure removes the temporary file, and only it.
 */
function replaceFile(
  target: string,
  path: string,
  existing: Stats | undefined,
  produce: (emit: (bytes: Uint8Array) => void) => void,
  write: NonNullable<WriteOutputOptions['writeSync']>,
): { bytes: number; path: string } {
  if (existing !== undefined) {
    // The rename would replace a file its user may not write; refuse it as open(2) would.
    try {
      accessSync(path, constants.W_OK);
    } catch (error) {
      throw new OutputError(`${target}: cannot open for writing: ${systemMessage(error)}`);
    }
  }
  const directory = dirname(path);
  const temporary = join(directory, temporaryName(basename(path)));
  let fd: number | undefined;
  try {
    fd = openSync(temporary, 'wx');
  } catch (error) {
    throw new OutputError(`${target}: cannot open for writing: ${systemMessage(error)}`);
  }
  try {
    const step = (action: () => void): void => {
      try {
        action();
      } catch (error) {
        throw new OutputError(`${target}: cannot write: ${systemMessage(error)}`);
      }
    };
    if (existing !== undefined) step(() => fchmodSync(fd!, existing.mode & 0o7777));
    const sink = new Sink(target, fd, write, false);
    produce((bytes) => sink.write(bytes));
    sink.flush();
    step(() => fsyncSync(fd!));
    const closing = fd;
    fd = undefined;
    step(() => closeSync(closing));
    step(() => renameSync(temporary, path));
    syncDirectory(directory);
    return { bytes: sink.bytes, path };
  } catch (error) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // the error being thrown says what went wrong
      }
    }
    try {
      unlinkSync(temporary);
    } catch {
      // already renamed or never there
    }
    throw error;
  }
}

/** `.NAME.liq-PID-RANDOMHEX.tmp`; a long NAME is shortened so the whole stays within NAME_MAX (255 bytes). */
function temporaryName(name: string): string {
  const shown = Buffer.byteLength(name) > 200 ? name.slice(0, 50) : name;
  return `.${shown}.liq-${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
}

/** Makes the rename durable. Best effort: some file systems refuse to open or fsync a directory. */
function syncDirectory(directory: string): void {
  let fd: number;
  try {
    fd = openSync(directory, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // not supported here; the data itself was fsynced
  } finally {
    closeSync(fd);
  }
}

function openForWriting(target: string, flags: number): number {
  try {
    return openSync(target, flags);
  } catch (error) {
    if (errorCode(error) === 'ENXIO' && (flags & constants.O_NONBLOCK) !== 0) {
      throw new OutputError(`${target}: no process is reading the FIFO`);
    }
    throw new OutputError(`${target}: cannot open for writing: ${systemMessage(error)}`);
  }
}

/** Streams to a device or a FIFO already open as `fd`; nothing is removed if it fails. */
function writeInPlace(
  target: string,
  fd: number,
  produce: (emit: (bytes: Uint8Array) => void) => void,
  write: NonNullable<WriteOutputOptions['writeSync']>,
  pipe: boolean,
): { bytes: number; path: string } {
  try {
    const sink = new Sink(target, fd, write, pipe);
    produce((bytes) => sink.write(bytes));
    sink.flush();
    return { bytes: sink.bytes, path: referent(target) };
  } finally {
    closeSync(fd);
  }
}

/**
 * Where a symlink points, for writeOutput's result; `target` itself if it is none, or if its
 * referent has no path (realpath turns /dev/stdout on a pipe into a made-up `/proc/…/pipe:[N]`).
 */
function referent(target: string): string {
  try {
    if (!lstatSync(target).isSymbolicLink()) return target;
    const path = realpathSync(target);
    statSync(path);
    return path;
  } catch {
    return target;
  }
}

/** One-slot wait for Atomics.wait: a 1 ms sleep that blocks the thread, as the writes themselves do. */
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Sequential writes to an fd: small pieces gathered in a 64 KiB buffer, large ones written as they are. */
class Sink {
  private readonly staging = new Uint8Array(STAGING_BYTES);
  private filled = 0;
  /** Bytes handed to the sink so far. */
  bytes = 0;

  constructor(
    private readonly name: string,
    private readonly fd: number,
    private readonly writeFn: NonNullable<WriteOutputOptions['writeSync']>,
    /** A pipe (standard output, a FIFO): EPIPE means the reader went away. */
    private readonly pipe: boolean,
  ) {}

  write(bytes: Uint8Array): void {
    this.bytes += bytes.length;
    if (this.filled + bytes.length <= this.staging.length) {
      this.staging.set(bytes, this.filled);
      this.filled += bytes.length;
      return;
    }
    this.flush();
    if (bytes.length < this.staging.length) {
      this.staging.set(bytes, 0);
      this.filled = bytes.length;
    } else {
      this.writeAll(bytes);
    }
  }

  flush(): void {
    if (this.filled > 0) this.writeAll(this.staging.subarray(0, this.filled));
    this.filled = 0;
  }

  private writeAll(bytes: Uint8Array): void {
    for (let done = 0; done < bytes.length; ) {
      try {
        done += this.writeFn(this.fd, bytes, done, bytes.length - done);
      } catch (error) {
        const code = errorCode(error);
        // Node leaves standard output non-blocking when it is a pipe, and a FIFO is opened
        // non-blocking: a full pipe is EAGAIN, so wait for the reader and try again.
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          Atomics.wait(pause, 0, 0, 1);
          continue;
        }
        if (code === 'EINTR') continue;
        if (code === 'EPIPE' && this.pipe) throw new ClosedPipeError(this.name);
        throw new OutputError(`${this.name}: cannot write: ${systemMessage(error)}`);
      }
    }
  }
}

function errorCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
