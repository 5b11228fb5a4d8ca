// `liq sweep BOOK`: the parallel sweep from the command line. Loads the book, sweeps it on the
// worker pool a few times, and prints the median time and the first liquidatable scopes.
import type { Writable } from 'node:stream';
import { formatScaled } from '../fixed/decimal.js';
import { QUOTE_DECIMALS, STATUS_NAMES } from '../fixed/constants.js';
import { SLOT_CROSS } from '../memory/layout.js';
import { SweepPool } from '../pool/pool.js';
import type { Engine } from '../engine/engine.js';

export const SWEEP_USAGE = `sweep BOOK [--threads N] [--repeat K] [--list N]
                       sweep every account of BOOK on a pool of N workers (default: one per
                       core) K times (default 5), print the median time and the first N
                       liquidatable scopes (default 10; 0 for none)`;

export interface SweepArguments {
  book: string;
  threads: number | undefined;
  repeat: number;
  list: number;
}

/** Parses `sweep` arguments; throws the message of a usage error. */
export function parseSweepArguments(argv: readonly string[]): SweepArguments {
  const parsed: SweepArguments = { book: '', threads: undefined, repeat: 5, list: 10 };
  const books: string[] = [];
  for (let k = 0; k < argv.length; k++) {
    const argument = argv[k];
    if (!argument.startsWith('--')) {
      books.push(argument);
      continue;
    }
    const limits: Record<string, [number, number]> = { '--threads': [1, 256], '--repeat': [1, 1000], '--list': [0, 1_000_000] };
    if (!(argument in limits)) throw new Error(`unknown option "${argument}"`);
    const text = argv[++k];
    const value = Number(text);
    const [low, high] = limits[argument];
    if (text === undefined || !Number.isInteger(value) || value < low || value > high) {
      throw new Error(`${argument} takes a whole number from ${low} to ${high}, got ${text === undefined ? 'nothing' : `"${text}"`}`);
    }
    if (argument === '--threads') parsed.threads = value;
    else if (argument === '--repeat') parsed.repeat = value;
    else parsed.list = value;
  }
  if (books.length !== 1) throw new Error(`sweep takes one BOOK, got ${books.length}`);
  parsed.book = books[0];
  return parsed;
}

export async function sweepCommand(engine: Engine, options: SweepArguments, stdout: Writable): Promise<void> {
  engine.refreshDebits();
  const pool = await SweepPool.open(engine, { threads: options.threads });
  try {
    const times: number[] = [];
    let result = await pool.sweep(); // the first sweep's figures and list are the ones printed
    for (let k = 0; k < options.repeat; k++) {
      const start = performance.now();
      result = await pool.sweep();
      times.push(performance.now() - start);
    }
    times.sort((x, y) => x - y);
    const median = times[Math.floor(times.length / 2)];
    const count = (n: number) => n.toLocaleString('en-US');
    stdout.write(
      `${options.book}: ${count(engine.accountCount)} accounts, ${count(engine.positionsUsed)} positions; ${pool.threads} workers\n` +
        `sweep: median ${median.toFixed(1)} ms over ${times.length} (min ${times[0].toFixed(1)}, max ${times[times.length - 1].toFixed(1)}); ` +
        `${count(result.liquidatable)} liquidatable scopes (${count(result.bankrupt)} bankrupt)\n`,
    );
    const shown = Math.min(options.list, result.scopes.length / 2);
    if (shown > 0) stdout.write(`\n${scopeTable(engine, result.scopes.subarray(0, 2 * shown))}\n`);
  } finally {
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
    if (slot === SLOT_CROSS) {
      rows.push([id, 'cross pool', quote(v.accCrossEquity[a]), quote(v.accCrossMaint[a]), STATUS_NAMES[v.accStatus[a]], '-', '-']);
      continue;
    }
    // The status sweep does not keep an isolated position's figures: evaluate that account fully.
    engine.evaluate({ start: a, end: a + 1 });
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
