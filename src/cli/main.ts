// The `liq` command line. Every failure is one line on stderr and a non-zero exit code:
// 1 for bad input (a book that does not load), 2 for a command used wrongly.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { BookError } from '../book/errors.js';
import { parseBookJson } from '../book/json.js';
import { BOOK_BINARY_MAGIC, isBookBinary, loadBookBinaryFile } from '../book/binary.js';
import { Engine } from '../engine/engine.js';
import { warmUpOperations } from '../account/warm-up.js';
import { evaluationJson, evaluationTable } from '../report/evaluation.js';
import { genCommand } from '../gen/command.js';
import { SWEEP_USAGE, parseSweepArguments, sweepCommand } from './sweep.js';

export const EXIT_OK = 0;
export const EXIT_BAD_INPUT = 1;
export const EXIT_USAGE = 2;

const USAGE = `usage: liq <command> [options]

commands:
  eval BOOK [--json]   evaluate every account of BOOK (book JSON or binary, told apart by content):
                       equity, maintenance and status of each scope, liquidation and bankruptcy
                       prices of each position; --json prints the documented JSON document
  gen --accounts N [--seed S] [--isolated-share F] [--near-maintenance-share F] [--instruments N]
      [--out PATH] [--json]
                       generate a realistic book, deterministic for a seed (docs/generator.md):
                       N from 1 to 10,000,000 accounts, shares from 0 to 1 (defaults 0.3 isolated
                       positions, 0.02 accounts near maintenance), 1 to 1,000 instruments
                       (default 100); writes the binary book to PATH (default book.bin), or book
                       JSON with --json (at most 200,000 accounts; default book.json)
  ${SWEEP_USAGE}
  help                 this text

Formats: docs/book-json.md, docs/book-binary.md, docs/generator.md. Numbers and rounding: docs/numbers.md.`;

export class UsageError extends Error {}

export interface Io {
  stdout: Writable;
  stderr: Writable;
}

export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  try {
    const [command, ...rest] = argv;
    switch (command) {
      case 'eval':
        return await evalCommand(rest, io);
      case 'gen':
        return await genCommand(rest, io);
      case 'sweep':
        return await sweep(rest, io);
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(`${USAGE}\n`);
        return EXIT_OK;
      case undefined:
        throw new UsageError('missing command');
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`liq: ${error.message}\n${USAGE}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof BookError || error instanceof InputError) {
      io.stderr.write(`liq: ${error.message}\n`);
      return EXIT_BAD_INPUT;
    }
    throw error;
  }
}

/** A file that cannot be read: named with the operating system's reason. */
export class InputError extends Error {}

interface Parsed {
  positional: string[];
  flags: Set<string>;
}

function parseArguments(argv: string[], known: string[]): Parsed {
  const positional: string[] = [];
  const flags = new Set<string>();
  for (const argument of argv) {
    if (argument.startsWith('--')) {
      if (!known.includes(argument)) throw new UsageError(`unknown option "${argument}"`);
      flags.add(argument);
    } else {
      positional.push(argument);
    }
  }
  return { positional, flags };
}

/** Loads a book file, JSON or binary by its first bytes. Errors name the file. */
export function loadBookFile(path: string): Engine {
  try {
    // A binary book streams from the file into memory; only JSON is read whole.
    if (isBookBinary(readHead(path))) return loadBookBinaryFile(path); // warms the operation path up too
    const engine = Engine.fromBook(parseBookJson(readFileSync(path, 'utf8')));
    warmUpOperations(engine);
    return engine;
  } catch (error) {
    if (error instanceof BookError) throw new BookError(`${path}: ${error.path}`, error.reason);
    throw error;
  }
}

/** The first bytes of a file (enough to tell a binary book), or InputError naming it. */
function readHead(path: string): Uint8Array {
  try {
    const fd = openSync(path, 'r');
    try {
      const head = new Uint8Array(BOOK_BINARY_MAGIC.length);
      return head.subarray(0, readSync(fd, head, 0, head.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw new InputError(`${path}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/**
 * Writes chunks with backpressure. A reader that goes away (`liq eval … | head`) ends the output
 * quietly, as a Unix filter does; any other write error is raised.
 */
async function writeChunks(stream: Writable, chunks: Iterable<string>): Promise<void> {
  let failure: NodeJS.ErrnoException | undefined;
  const onError = (error: NodeJS.ErrnoException) => {
    failure = error;
    stream.emit('drain'); // wake a writer waiting for room
  };
  stream.on('error', onError);
  try {
    for (const chunk of chunks) {
      if (failure !== undefined) break;
      if (!stream.write(chunk)) await once(stream, 'drain');
    }
  } finally {
    stream.off('error', onError);
  }
  if (failure !== undefined && failure.code !== 'EPIPE') throw failure;
}

async function sweep(argv: string[], io: Io): Promise<number> {
  let options;
  try {
    options = parseSweepArguments(argv);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  await sweepCommand(loadBookFile(options.book), options, io.stdout);
  return EXIT_OK;
}

async function evalCommand(argv: string[], io: Io): Promise<number> {
  const { positional, flags } = parseArguments(argv, ['--json']);
  if (positional.length !== 1) throw new UsageError(`eval takes one BOOK, got ${positional.length}`);
  const engine = loadBookFile(positional[0]);
  engine.evaluate();
  await writeChunks(io.stdout, flags.has('--json') ? evaluationJson(engine) : evaluationTable(engine));
  return EXIT_OK;
}
