// `liq gen`: parses its options, generates the book and writes it. Every failure is one line on
// stderr: exit 2 for bad options, 1 when the file cannot be written.
import { writeFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { BookError } from '../book/errors.js';
import { GEN_ACCOUNTS_MAX, GEN_DEFAULTS, GEN_INSTRUMENTS_MAX, generateBook, type GenerateOptions } from './generate.js';
import { GEN_JSON_ACCOUNTS_MAX, generatedBookJson, writeGeneratedBinary } from './write.js';

const EXIT_OK = 0;
const EXIT_IO = 1;
const EXIT_USAGE = 2;

export const GEN_USAGE = `gen --accounts N [--seed S] [--isolated-share F] [--near-maintenance-share F]
      [--instruments N] [--out PATH] [--json]`;

/** What the options ask for. */
export interface GenCommandOptions extends Required<GenerateOptions> {
  out: string;
  json: boolean;
}

class GenUsageError extends Error {}

const VALUE_OPTIONS = ['--accounts', '--seed', '--isolated-share', '--near-maintenance-share', '--instruments', '--out'] as const;
type ValueOption = (typeof VALUE_OPTIONS)[number];

/** Parses `liq gen` arguments (`--name value` or `--name=value`). Throws GenUsageError. */
export function parseGenArguments(argv: readonly string[]): GenCommandOptions {
  const values = new Map<string, string>();
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i];
    if (!argument.startsWith('--')) throw new GenUsageError(`gen takes no positional arguments, got "${argument}"`);
    const equals = argument.indexOf('=');
    const name = equals < 0 ? argument : argument.slice(0, equals);
    if (name === '--json') {
      if (equals >= 0) throw new GenUsageError('--json takes no value');
      json = true;
      continue;
    }
    if (!(VALUE_OPTIONS as readonly string[]).includes(name)) throw new GenUsageError(`unknown option "${name}"`);
    let value: string;
    if (equals >= 0) value = argument.slice(equals + 1);
    else {
      if (i + 1 >= argv.length) throw new GenUsageError(`${name} needs a value`);
      value = argv[++i];
    }
    if (values.has(name)) throw new GenUsageError(`${name} is given twice`);
    values.set(name, value);
  }
  const get = (name: ValueOption): string | undefined => values.get(name);

  const accountsText = get('--accounts');
  if (accountsText === undefined) throw new GenUsageError('--accounts N is required');
  const accounts = wholeNumber('--accounts', accountsText);
  if (accounts < 1 || accounts > GEN_ACCOUNTS_MAX) {
    throw new GenUsageError(`--accounts must be a whole number from 1 to ${GEN_ACCOUNTS_MAX}, got ${accountsText}`);
  }
  const seedText = get('--seed');
  const seed = seedText === undefined ? GEN_DEFAULTS.seed : wholeNumber('--seed', seedText);
  const instrumentsText = get('--instruments');
  const instruments = instrumentsText === undefined ? GEN_DEFAULTS.instruments : wholeNumber('--instruments', instrumentsText);
  if (instruments < 1 || instruments > GEN_INSTRUMENTS_MAX) {
    throw new GenUsageError(`--instruments must be a whole number from 1 to ${GEN_INSTRUMENTS_MAX}, got ${instrumentsText}`);
  }
  const isolatedShare = share('--isolated-share', get('--isolated-share'), GEN_DEFAULTS.isolatedShare);
  const nearMaintenanceShare = share('--near-maintenance-share', get('--near-maintenance-share'), GEN_DEFAULTS.nearMaintenanceShare);
  if (json && accounts > GEN_JSON_ACCOUNTS_MAX) {
    throw new GenUsageError(
      `--json is for small books (at most ${GEN_JSON_ACCOUNTS_MAX} accounts), got --accounts ${accounts}; write the binary format instead`,
    );
  }
  const out = get('--out') ?? (json ? 'book.json' : 'book.bin');
  if (out === '') throw new GenUsageError('--out needs a path');
  return { accounts, seed, isolatedShare, nearMaintenanceShare, instruments, out, json };
}

function wholeNumber(name: string, text: string): number {
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(value)) throw new GenUsageError(`${name} must be a whole number, got "${text}"`);
  return value;
}

function share(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || !(value >= 0 && value <= 1)) {
    throw new GenUsageError(`${name} must be a number from 0 to 1, got "${text}"`);
  }
  return value;
}

/** Runs `liq gen` with the arguments after `gen`. Returns the exit code. */
export async function genCommand(argv: readonly string[], io: { stdout: Writable; stderr: Writable }): Promise<number> {
  let options: GenCommandOptions;
  try {
    options = parseGenArguments(argv);
  } catch (error) {
    if (!(error instanceof GenUsageError)) throw error;
    io.stderr.write(`liq gen: ${error.message} (usage: liq ${GEN_USAGE.replace(/\s+/g, ' ')})\n`);
    return EXIT_USAGE;
  }
  const started = performance.now();
  const book = generateBook(options);
  let bytes: number;
  try {
    if (options.json) {
      const text = generatedBookJson(book);
      writeFileSync(options.out, text);
      bytes = Buffer.byteLength(text);
    } else {
      bytes = writeGeneratedBinary(options.out, book);
    }
  } catch (error) {
    if (error instanceof BookError) {
      io.stderr.write(`liq gen: ${error.message}\n`);
      return EXIT_IO;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string') {
      io.stderr.write(`liq gen: ${options.out}: cannot write: ${code}\n`);
      return EXIT_IO;
    }
    throw error;
  }
  const seconds = (performance.now() - started) / 1000;
  io.stdout.write(
    `${options.out}: ${book.accountIds.count} accounts, ${book.positionCount} positions, ${bytes} bytes, ${seconds.toFixed(2)} s\n`,
  );
  return EXIT_OK;
}
