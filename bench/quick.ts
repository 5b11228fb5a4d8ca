// Quick benchmark: single-thread throughput of the WASM core beside the BigInt reference on the
// same synthetic book, in one run. Medians, and their ratio; never one absolute time alone.
//   npm run bench [-- --accounts N]
import { writeFileSync, mkdirSync } from 'node:fs';
import { Bench } from 'tinybench';
import { Engine } from '../src/engine/engine.js';
import { evaluateBook } from '../src/reference/evaluate.js';
import { decodeBookBinary, encodeBookModel } from '../src/book/binary.js';
import { POSITION_BYTES, ACCOUNT_BYTES } from '../src/memory/layout.js';
import { syntheticBook } from './synthetic-book.js';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

const accounts = option('--accounts', 200_000);
/** The reference is ~100x slower: it runs on a slice of the same book, scaled per position. */
const referenceAccounts = Math.min(accounts, option('--reference-accounts', 10_000));

const book = syntheticBook(accounts, 7);
const positions = book.accounts.reduce((sum, account) => sum + account.positions.length, 0);
const slice = { instruments: book.instruments, accounts: book.accounts.slice(0, referenceAccounts) };
const slicePositions = slice.accounts.reduce((sum, account) => sum + account.positions.length, 0);

const encodeStart = performance.now();
const binary = encodeBookModel(book);
const encodeMs = performance.now() - encodeStart;
const decodeStart = performance.now();
const engine: Engine = decodeBookBinary(binary);
const decodeMs = performance.now() - decodeStart;

// Warm the kernel past V8's baseline tier before anything is timed.
const allAccounts = Uint32Array.from({ length: engine.accountCount }, (_, a) => a);
for (let k = 0; k < 5; k++) {
  engine.evaluate();
  engine.prices(allAccounts);
}

const bench = new Bench({ time: 3_000, warmupTime: 500 });
bench
  .add('wasm: status only', () => {
    engine.sweep({ full: false });
  })
  .add('wasm: full figures (PnL, maintenance per position)', () => {
    engine.sweep({ full: true });
  })
  .add('wasm: liquidation + bankruptcy prices, every position', () => {
    engine.prices(allAccounts);
  })
  .add('BigInt reference (full figures)', () => {
    evaluateBook(slice);
  });
await bench.run();

interface Row {
  task: string;
  positions: number;
  medianMs: number;
  positionsPerSecond: number;
  nsPerPosition: number;
  samples: number;
}
const rows: Row[] = bench.tasks.map((task) => {
  const result = task.result;
  if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}`);
  const counted = task.name.startsWith('BigInt') ? slicePositions : positions;
  const medianMs = result.latency.p50;
  return {
    task: task.name,
    positions: counted,
    medianMs: Number(medianMs.toFixed(3)),
    positionsPerSecond: Math.round(counted / (medianMs / 1000)),
    nsPerPosition: Number(((medianMs * 1e6) / counted).toFixed(2)),
    samples: result.latency.samplesCount,
  };
});
const reference = rows[rows.length - 1].positionsPerSecond;
console.table(
  rows.map((row) => ({
    task: row.task,
    positions: row.positions,
    'median ms': row.medianMs,
    'positions/s': row.positionsPerSecond.toLocaleString('en-US'),
    'ns/position': row.nsPerPosition,
    'x reference': (row.positionsPerSecond / reference).toFixed(1),
  })),
);
console.log(
  `book: ${accounts} accounts, ${positions} positions; memory layout ${POSITION_BYTES} B/position + ${ACCOUNT_BYTES} B/account; ` +
    `binary ${(binary.byteLength / 1e6).toFixed(1)} MB, encode ${encodeMs.toFixed(0)} ms, decode+validate ${decodeMs.toFixed(0)} ms`,
);
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/quick.json',
  `${JSON.stringify({ node: process.version, accounts, positions, encodeMs, decodeMs, rows }, null, 2)}\n`,
);
console.log('wrote bench/results/quick.json');
