// The `liq` command line. Every failure is one line on stderr and a non-zero exit code:
// 1 for bad input (a book that does not load), 2 for a command used wrongly.
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { BookError } from '../book/errors.js';
import { parseBookJson } from '../book/json.js';
import { decodeBookBinary, isBookBinary } from '../book/binary.js';
import { Engine } from '../engine/engine.js';
import { evaluationJson, evaluationTable } from '../report/evaluation.js';

export const EXIT_OK = 0;
export const EXIT_BAD_INPUT = 1;
export const EXIT_USAGE = 2;

const USAGE = `usage: liq <command> [options]

commands:
  eval BOOK [--json]   evaluate every account of BOOK (book JSON or binary, told apart by content):
                       equity, maintenance and status of each scope, liquidation and bankruptcy
                       prices of each position; --json prints the documented JSON document
  help                 this text

Formats: docs/book-json.md, docs/book-binary.md. Numbers and rounding: docs/numbers.md.`;

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
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new InputError(`${path}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    if (isBookBinary(bytes)) return decodeBookBinary(bytes);
    return Engine.fromBook(parseBookJson(bytes.toString('utf8')));
  } catch (error) {
    if (error instanceof BookError) throw new BookError(`${path}: ${error.path}`, error.reason);
    throw error;
  }
}

async function evalCommand(argv: string[], io: Io): Promise<number> {
  const { positional, flags } = parseArguments(argv, ['--json']);
  if (positional.length !== 1) throw new UsageError(`eval takes one BOOK, got ${positional.length}`);
  const engine = loadBookFile(positional[0]);
  engine.evaluate();
  const chunks = flags.has('--json') ? evaluationJson(engine) : evaluationTable(engine);
  for (const chunk of chunks) {
    if (!io.stdout.write(chunk)) await once(io.stdout, 'drain');
  }
  return EXIT_OK;
}
