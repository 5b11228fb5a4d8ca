// `liq sweep BOOK`: the parallel sweep from the command line. Loads the book, sweeps it on the
// worker pool a few times, and prints the median time and the first liquidatable scopes.
import { formatScaled } from '../fixed/decimal.js';
import { QUOTE_DECIMALS, STATUS_NAMES } from '../fixed/constants.js';
import { SLOT_CROSS } from '../memory/layout.js';
import { SweepPool } from '../pool/pool.js';
import type { Engine } from '../engine/engine.js';
import { parseCommand } from './args.js';
import { SWEEP_SPEC } from './commands.js';
import { escapeHidden } from '../io/one-line.js';
import { progressBar } from './progress.js';
import { loadBook, printHelp, writeChunks, EXIT_OK, type Io } from './main.js';

export interface SweepArguments {
  book: string;
  threads: number | undefined;
  repeat: number;
  list: number;
}

/** Parses `sweep` arguments (SWEEP_SPEC); throws UsageError. Null when --help was asked for. */
export function parseSweepArguments(argv: readonly string[]): SweepArguments | null {
  const parsed = parseCommand(SWEEP_SPEC, argv);
  if (parsed.help) return null;
  const { threads, repeat, list } = parsed.values as { threads: number | undefined; repeat: number; list: number };
  return { book: parsed.positionals.BOOK, threads, repeat, list };
}

/** Runs `liq sweep` with the arguments after `sweep`. Returns the exit code. */
export async function sweepCommand(argv: string[], io: Io): Promise<number> {
  const options = parseSweepArguments(argv);
  if (options === null) {
    await printHelp(SWEEP_SPEC, io);
    return EXIT_OK;
  }
  const engine = await loadBook(options.book, io);
  await writeChunks(io.stdout, [await sweepReport(engine, options, io)]);
  return EXIT_OK;
}

/** Sweeps the book `options.repeat` times on the pool (a bar on a terminal) and returns the report. */
export async function sweepReport(engine: Engine, options: SweepArguments, io: Io): Promise<string> {
  engine.refreshDebits();
  const pool = await SweepPool.open(engine, { threads: options.threads });
  const bar = progressBar(io.stderr, 'sweeping');
  try {
    const times: number[] = [];
    let result = await pool.sweep(); // the first sweep's figures and list are the ones printed
    for (let k = 0; k < options.repeat; k++) {
      bar.update(k, options.repeat);
      const start = performance.now();
      result = await pool.sweep();
      times.push(performance.now() - start);
    }
    bar.stop();
    times.sort((x, y) => x - y);
    const median = times[Math.floor(times.length / 2)];
    const count = (n: number) => n.toLocaleString('en-US');
    let text =
      `${escapeHidden(options.book)}: ${count(engine.accountCount)} accounts, ${count(engine.positionsUsed)} positions; ${pool.threads} workers\n` +
      `sweep: median ${median.toFixed(1)} ms over ${times.length} (min ${times[0].toFixed(1)}, max ${times[times.length - 1].toFixed(1)}); ` +
      `${count(result.liquidatable)} liquidatable scopes (${count(result.bankrupt)} bankrupt)\n`;
    const shown = Math.min(options.list, result.scopes.length / 2);
    if (shown > 0) text += `\n${scopeTable(engine, result.scopes.subarray(0, 2 * shown))}\n`;
    return text;
  } finally {
    bar.stop();
    await pool.close();
  }
}

/** The listed scopes with their figures (and, for an isolated position, its prices). */
function scopeTable(engine: Engine, scopes: Uint32Array): string {
  const v = engine.views;
  const quote = (micro: bigint) => formatScaled(micro, QUOTE_DECIMALS);
  const rows = [['account', 'scope', 'equity', 'maintenance', 'status', 'liq price', 'bk price']];
  for (let k = 0; k < scopes.length; k += 2) {
    const a = scopes[k];
    const slot = scopes[k + 1];
    const id = engine.accountIds.get(a);
    // The status sweep does not keep an isolated position's figures, and may leave a cross pool's
    // equity before a funding refresh still pending on its chunk (its status exact either way):
    // evaluate the account fully.
    engine.evaluate({ start: a, end: a + 1 });
    if (slot === SLOT_CROSS) {
      rows.push([id, 'cross pool', quote(v.accCrossEquity[a]), quote(v.accCrossMaint[a]), STATUS_NAMES[v.accStatus[a]], '-', '-']);
      continue;
    }
    const i = v.posInst[slot];
    const prices = engine.prices([a]);
    const pair = 2 * (slot - v.accPosStart[a]);
    const price = (units: bigint) => (units === 0n ? '-' : formatScaled(units, engine.instruments[i].priceDecimals));
    rows.push([
      id,
      `${engine.instruments[i].symbol} isolated`,
      quote(v.posMargin[slot] + v.posPnl[slot]),
      quote(v.posMaint[slot]),
      STATUS_NAMES[v.posStatus[slot]],
      price(prices[pair]),
      price(prices[pair + 1]),
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map((row) => row.map((cell, c) => (c >= 2 && c !== 4 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n');
}
