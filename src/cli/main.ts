// The `liq` command line. Every failure is one line on stderr (hidden characters escaped and named:
// one-line.ts) and a non-zero exit code: 1 for bad input or an I/O error, 2 for a command used
// wrongly. A reader of standard output that goes away ends the command quietly with 0.
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { BookError } from '../book/errors.js';
import { ClosedPipeError, InputError, OutputError } from '../io/errors.js';
import { loadBookSource } from '../io/input.js';
import type { Engine } from '../engine/engine.js';
import { evaluationJson, evaluationTable } from '../report/evaluation.js';
import { genCommand } from './gen.js';
import { sweepCommand } from './sweep.js';
import { simulateCommand } from './simulate.js';
import { mergeCommand } from './simulate-runs.js';

import { MergeError } from '../sim/runs.js';
import { ScenarioError } from '../sim/scenario.js';
import { RecordedTicksError } from '../sim/paths.js';
import { SimulationError } from '../sim/simulate.js';
import { UsageError, helpText, parseCommand } from './args.js';
import { COMMANDS, EVAL_SPEC } from './commands.js';
import { oneLine } from '../io/one-line.js';
import { progressBar } from './progress.js';

export const EXIT_OK = 0;
export const EXIT_BAD_INPUT = 1;
export const EXIT_USAGE = 2;
/** A failure that is the tool's fault, not the input's: one line, and a bug to report. */
export const EXIT_INTERNAL = 3;

const USAGE = `usage: liq <command> [options]

commands:
  eval BOOK [--json]      evaluate every account of a book (JSON or binary; - for standard input)
  gen --accounts N [...]  generate a realistic book (binary, or JSON with --json)
  sweep BOOK [...]        the parallel sweep: median time and the first liquidatable scopes
  simulate [...]          a flash-crash cascade: liquidations, insurance fund, ADL (docs/simulator.md)
  merge DIR... [--out D]  join the slices of a Monte Carlo run (simulate --runs N --shard I/N)
  serve [...]             the live engine: msgpack ticks and updates in, sequenced orders out (docs/serve.md)
  tail [--from N] [...]   print liq serve's liquidation orders as a consumer
  instruments import [...]
                          a venue's instrument specifications as book instruments (docs/venues.md)
  help [COMMAND]          this text, or a command's

liq <command> --help prints a command's options. Formats: docs/book-json.md, docs/book-binary.md,
docs/generator.md; limits, messages and exit codes: docs/cli.md.`;

export interface Io {
  stdout: Writable;
  stderr: Writable;
}

export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'eval':
        return await evalCommand(rest, io);
      case 'gen':
        return await genCommand(rest, io);
      case 'sweep':
        return await sweepCommand(rest, io);
      case 'simulate':
        return await simulateCommand(rest, io);
      case 'merge':
        return await mergeCommand(rest, io);
      case 'serve':
        // Loaded on demand: the live feed's modules (uWebSockets.js, pino, prom-client) are not the other commands'.
        return await (await import('./serve.js')).serveCommand(rest, io);
      case 'tail':
        return await (await import('./tail.js')).tailCommand(rest, io);
      case 'instruments':
        return await (await import('./instruments.js')).instrumentsCommand(rest, io);
      case 'help':
        return await help(rest, io);
      case '--help':
      case '-h':
        return await help([], io);
      case undefined:
        throw new UsageError(undefined, 'missing command');
      default:
        throw new UsageError(undefined, `unknown command ${JSON.stringify(command)}; the commands are ${COMMANDS.map((spec) => spec.name).join(', ')} and help`);
    }
  } catch (error) {
    return report(error, io, command);
  }
}

/** Whether `command` is one of the commands (its errors are prefixed with its name). */
function known(command: string | undefined): boolean {
  return COMMANDS.some((spec) => spec.name === command);
}

/** The one line a failure prints, and its exit code. */
function report(error: unknown, io: Io, command: string | undefined): number {
  if (error instanceof ClosedPipeError) return EXIT_OK;
  if (error instanceof UsageError) {
    const who = error.command === undefined ? 'liq' : `liq ${error.command}`;
    io.stderr.write(`${who}: ${oneLine(error.message)}; see ${who} --help\n`);
    return EXIT_USAGE;
  }
  if (error instanceof BookError || error instanceof InputError || error instanceof OutputError || error instanceof ScenarioError || error instanceof RecordedTicksError || error instanceof SimulationError || error instanceof MergeError) {
    io.stderr.write(`${known(command) ? `liq ${command}` : 'liq'}: ${oneLine(error.message)}\n`);
    return EXIT_BAD_INPUT;
  }
  // Not the input's fault: still one line, with what the tool was doing.
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  io.stderr.write(`${known(command) ? `liq ${command}` : 'liq'}: internal error: ${oneLine(message)} (a bug: please report it with the command that caused it)\n`);
  return EXIT_INTERNAL;
}

async function help(argv: string[], io: Io): Promise<number> {
  if (argv.length > 1) throw new UsageError(undefined, `help takes at most one COMMAND, got ${argv.length}`);
  if (argv.length === 0) {
    await writeChunks(io.stdout, [`${USAGE}\n`]);
    return EXIT_OK;
  }
  const spec = COMMANDS.find((candidate) => candidate.name === argv[0]);
  if (spec === undefined) throw new UsageError(undefined, `unknown command ${JSON.stringify(argv[0])}; the commands are ${COMMANDS.map((c) => c.name).join(', ')}`);
  await printHelp(spec, io);
  return EXIT_OK;
}

/** Prints a command's help on standard output. */
export async function printHelp(spec: Parameters<typeof helpText>[0], io: Io): Promise<void> {
  await writeChunks(io.stdout, [`${helpText(spec)}\n`]);
}

/** Prints a command's help when asked: true when it did. */
export async function printedHelp(parsed: { help: boolean }, spec: Parameters<typeof helpText>[0], io: Io): Promise<boolean> {
  if (!parsed.help) return false;
  await printHelp(spec, io);
  return true;
}

/** Loads a book (a path or - for standard input), with a progress bar on a terminal for a large binary book. */
export async function loadBook(path: string, io: Io): Promise<Engine> {
  const bar = progressBar(io.stderr, `loading ${path}`, 'bytes');
  try {
    // A command loads, evaluates or sweeps, and ends: huge pages would make the load and the first
    // evaluation pay for fresh memory on some VMs and gain nothing back (docs/architecture.md, Huge pages).
    return await loadBookSource(path, { onProgress: (done, total) => bar.update(done, total), hugePages: false });
  } finally {
    bar.stop();
  }
}

/**
 * Writes chunks with backpressure. A reader that goes away (`liq eval … | head`) ends the output
 * quietly, as a Unix filter does (ClosedPipeError, exit 0); any other write error is raised.
 */
export async function writeChunks(stream: Writable, chunks: Iterable<string>): Promise<void> {
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
  if (failure === undefined) return;
  if (failure.code === 'EPIPE') throw new ClosedPipeError('standard output');
  throw new OutputError(`standard output: cannot write: ${failure.code ?? failure.message}`);
}

async function evalCommand(argv: string[], io: Io): Promise<number> {
  const parsed = parseCommand(EVAL_SPEC, argv);
  if (await printedHelp(parsed, EVAL_SPEC, io)) return EXIT_OK;
  const engine = await loadBook(parsed.positionals.BOOK, io);
  engine.evaluate();
  await writeChunks(io.stdout, parsed.values.json === true ? evaluationJson(engine) : evaluationTable(engine));
  return EXIT_OK;
}
