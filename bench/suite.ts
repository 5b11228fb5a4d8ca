// The benchmark suite: one generated book, and on it, in one run, the WASM sweep on one thread and
// on the pool, the peers a user would otherwise pick (objects with Number math, float64 typed
// arrays, the BigInt reference), and a streaming read of the same number of bytes as the
// memory-bandwidth limit. Medians of tinybench samples; ratios are taken within the run.
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { generateBook, type GeneratedBook } from '../src/gen/generate.js';
import { writeGeneratedBinary } from '../src/gen/write.js';
import { loadBookBinaryFile } from '../src/book/binary.js';
import { SweepPool } from '../src/pool/pool.js';
import { evaluateBook } from '../src/reference/evaluate.js';
import { ACCOUNT_BYTES, POSITION_BYTES, SWEEP_BASE_BYTES, SWEEP_RECORD_SLOT_BYTES } from '../src/memory/layout.js';
import { buildFloat64Book, buildObjectBook, countMismatches, evaluateFloat64, evaluateObjects, float64Statuses, objectStatuses } from './peers/index.js';

/** A full collection when the process runs with --expose-gc (the npm scripts pass it). */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export interface SuiteOptions {
  accounts: number;
  seed: number;
  threads: number;
  /** The BigInt reference runs on this many accounts of the book (it is ~100× slower). */
  referenceAccounts: number;
  /** tinybench time budget per task, ms. */
  taskMs: number;
  log: (line: string) => void;
}

/**
 * Bytes a status sweep of a compact book (the chunk sweep) touches, per position and per account
 * (docs in bench/README.md): its sweep record and status; its cross base, and equity, maintenance
 * and status out.
 */
export const SWEEP_BYTES_PER_POSITION = SWEEP_RECORD_SLOT_BYTES + 1;
export const SWEEP_BYTES_PER_ACCOUNT = SWEEP_BASE_BYTES + 8 + 8 + 1;

export interface TaskRow {
  task: string;
  positions: number;
  medianMs: number;
  positionsPerSecond: number;
  nsPerAccount: number;
  samples: number;
}

export interface SuiteResult {
  node: string;
  date: string;
  threads: number;
  accounts: number;
  positions: number;
  generateMs: number;
  writeMs: number;
  fileBytes: number;
  load: { loadMs: number; peakRssKiB: number; baselineRssKiB: number; bytesPerPosition: number; bytesPerAccount: number };
  layoutBytesPerPosition: number;
  sweepBytes: number;
  rows: TaskRow[];
  /** Same-run ratios: what the gate (bench/check.ts) holds against bench/thresholds.json. */
  ratios: Record<RatioName, number>;
  bandwidth: { sweepSingleGBs: number; sweepPoolGBs: number; readSingleGBs: number; readPoolGBs: number };
  mismatches: { float64: number; objects: number; scopes: number };
}

export const RATIO_NAMES = ['wasmOverFloat64', 'wasmOverObjects', 'wasmOverBigInt', 'poolOverSingle', 'poolBandwidthFraction'] as const;
export type RatioName = (typeof RATIO_NAMES)[number];

const TASK = {
  wasmSingle: 'wasm sweep, 1 thread',
  wasmPool: 'wasm sweep, pool',
  float64: 'float64 typed arrays (JS)',
  objects: 'objects + Number (JS)',
  reference: 'BigInt reference',
  readSingle: 'streaming read, 1 thread',
  readPool: 'streaming read, pool',
} as const;

export async function runSuite(options: SuiteOptions): Promise<SuiteResult> {
  const log = options.log;
  const scratch = join(tmpdir(), `liq-bench-${process.pid}`);
  mkdirSync(scratch, { recursive: true });
  const file = join(scratch, `book-${options.accounts}.bin`);
  try {
    let start = performance.now();
    let generated: GeneratedBook | undefined = generateBook({ accounts: options.accounts, seed: options.seed });
    const generateMs = performance.now() - start;
    start = performance.now();
    const fileBytes = writeGeneratedBinary(file, generated);
    const writeMs = performance.now() - start;
    generated = undefined; // 1.4 GB at 10M accounts: the suite works from the file from here on
    // Flush the file to disk first, so that the load below is timed on its own and not while the
    // kernel writes back 1.4 GB of dirty pages.
    const fd = openSync(file, 'r');
    fsyncSync(fd);
    closeSync(fd);
    log(`generated ${options.accounts} accounts in ${generateMs.toFixed(0)} ms, wrote ${(fileBytes / 1e6).toFixed(1)} MB in ${writeMs.toFixed(0)} ms`);

    // Load time and peak memory in a process that only loads the book.
    const probe = fileURLToPath(new URL('./load-probe.js', import.meta.url));
    const loaded = JSON.parse(execFileSync(process.execPath, [probe, file], { encoding: 'utf8' })) as {
      loadMs: number;
      positions: number;
      accounts: number;
      peakRssKiB: number;
      baselineRssKiB: number;
    };
    log(`load probe: ${loaded.loadMs.toFixed(0)} ms, peak RSS ${(loaded.peakRssKiB / 1024).toFixed(0)} MiB`);

    const engine = loadBookBinaryFile(file);
    const accounts = engine.accountCount;
    const positions = engine.positionsUsed;
    const sweepBytes = SWEEP_BYTES_PER_POSITION * positions + SWEEP_BYTES_PER_ACCOUNT * accounts;
    const float64 = buildFloat64Book(engine);
    const objects = buildObjectBook(engine);
    const slice = engine.toBook(Math.min(accounts, options.referenceAccounts));
    const slicePositions = slice.accounts.reduce((sum, account) => sum + account.positions.length, 0);
    const pool = await SweepPool.open(engine, { threads: options.threads });
    // The read baseline streams the same number of bytes from the book's own columns.
    const readFrom = engine.layout.header;
    try {
      engine.evaluate({ full: false });
      for (let k = 0; k < 5; k++) engine.sweep({ full: false });
      // Samples until the time budget is spent, and at least 10 (tinybench's default minimum of 64
      // would take minutes for the slow peers on a 10M-account book).
      const bench = new Bench({ time: options.taskMs, iterations: 10, warmupTime: Math.min(1000, options.taskMs / 3) });
      // Each task starts from a collected heap (the object peer leaves gigabytes of garbage, and a
      // major collection on the main thread would land inside an async task's time), and the
      // object peer runs last.
      const collected = { beforeAll: collectGarbage };
      bench
        .add(TASK.wasmSingle, () => {
          engine.sweep({ full: false });
        }, collected)
        .add(TASK.wasmPool, async () => {
          await pool.sweep();
        }, collected)
        .add(TASK.readSingle, () => {
          engine.core.streamRead(readFrom, sweepBytes);
        }, collected)
        .add(TASK.readPool, async () => {
          await pool.streamRead(readFrom, sweepBytes);
        }, collected)
        .add(TASK.float64, () => {
          evaluateFloat64(float64);
        }, collected)
        .add(TASK.reference, () => {
          evaluateBook(slice);
        }, collected)
        .add(TASK.objects, () => {
          evaluateObjects(objects);
        }, collected);
      await bench.run();

      const rows: TaskRow[] = bench.tasks.map((task) => {
        const result = task.result;
        if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}`);
        const counted = task.name === TASK.reference ? slicePositions : positions;
        const countedAccounts = task.name === TASK.reference ? slice.accounts.length : accounts;
        const medianMs = result.latency.p50;
        return {
          task: task.name,
          positions: counted,
          medianMs,
          positionsPerSecond: counted / (medianMs / 1000),
          nsPerAccount: (medianMs * 1e6) / countedAccounts,
          samples: result.latency.samplesCount,
        };
      });
      const rate = (name: string) => rows.find((row) => row.task === name)!.positionsPerSecond;
      const ms = (name: string) => rows.find((row) => row.task === name)!.medianMs;
      const gbs = (name: string) => sweepBytes / (ms(name) / 1000) / 1e9;
      const ratios: Record<RatioName, number> = {
        wasmOverFloat64: rate(TASK.wasmSingle) / rate(TASK.float64),
        wasmOverObjects: rate(TASK.wasmSingle) / rate(TASK.objects),
        wasmOverBigInt: rate(TASK.wasmSingle) / rate(TASK.reference),
        poolOverSingle: rate(TASK.wasmPool) / rate(TASK.wasmSingle),
        poolBandwidthFraction: gbs(TASK.wasmPool) / gbs(TASK.readPool),
      };
      const float64Mismatch = countMismatches(engine, float64Statuses(float64));
      const objectMismatch = countMismatches(engine, objectStatuses(objects));
      return {
        node: process.version,
        date: new Date().toISOString(),
        threads: pool.threads,
        accounts,
        positions,
        generateMs,
        writeMs,
        fileBytes,
        load: {
          loadMs: loaded.loadMs,
          peakRssKiB: loaded.peakRssKiB,
          baselineRssKiB: loaded.baselineRssKiB,
          bytesPerPosition: (loaded.peakRssKiB * 1024) / loaded.positions,
          bytesPerAccount: (loaded.peakRssKiB * 1024) / loaded.accounts,
        },
        layoutBytesPerPosition: POSITION_BYTES + (ACCOUNT_BYTES * accounts) / positions,
        sweepBytes,
        rows,
        ratios,
        bandwidth: {
          sweepSingleGBs: gbs(TASK.wasmSingle),
          sweepPoolGBs: gbs(TASK.wasmPool),
          readSingleGBs: gbs(TASK.readSingle),
          readPoolGBs: gbs(TASK.readPool),
        },
        mismatches: { float64: float64Mismatch.total, objects: objectMismatch.total, scopes: float64Mismatch.scopes },
      };
    } finally {
      await pool.close();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The table a person reads. */
export function formatSuite(result: SuiteResult): string {
  const wasm = result.rows.find((row) => row.task === TASK.wasmSingle)!.positionsPerSecond;
  const lines = [
    `book: ${result.accounts.toLocaleString('en-US')} accounts, ${result.positions.toLocaleString('en-US')} positions; ${result.threads} pool threads; node ${result.node}`,
    '',
    `${'task'.padEnd(28)} ${'median ms'.padStart(10)} ${'positions/s'.padStart(14)} ${'ns/account'.padStart(11)} ${'vs wasm 1t'.padStart(10)}`,
  ];
  for (const row of result.rows) {
    lines.push(
      `${row.task.padEnd(28)} ${row.medianMs.toFixed(2).padStart(10)} ${Math.round(row.positionsPerSecond).toLocaleString('en-US').padStart(14)} ${row.nsPerAccount.toFixed(1).padStart(11)} ${(row.positionsPerSecond / wasm).toFixed(3).padStart(10)}`,
    );
  }
  const b = result.bandwidth;
  lines.push(
    '',
    `bytes: layout ${result.layoutBytesPerPosition.toFixed(1)} B/position (accounts included); a status sweep touches ${(result.sweepBytes / result.positions).toFixed(1)} B/position`,
    `bandwidth: sweep ${b.sweepSingleGBs.toFixed(1)} GB/s on 1 thread (${((100 * b.sweepSingleGBs) / b.readSingleGBs).toFixed(0)}% of a ${b.readSingleGBs.toFixed(1)} GB/s read), ${b.sweepPoolGBs.toFixed(1)} GB/s on the pool (${((100 * b.sweepPoolGBs) / b.readPoolGBs).toFixed(0)}% of ${b.readPoolGBs.toFixed(1)} GB/s)`,
    `load: ${result.load.loadMs.toFixed(0)} ms; peak RSS of a process holding the book ${(result.load.peakRssKiB / 1024).toFixed(0)} MiB = ${result.load.bytesPerPosition.toFixed(1)} B/position, ${result.load.bytesPerAccount.toFixed(1)} B/account`,
    `generate: ${(result.generateMs / 1000).toFixed(1)} s, write ${(result.writeMs / 1000).toFixed(1)} s, ${(result.fileBytes / 1e6).toFixed(0)} MB`,
    `float peers misclassified: float64 ${result.mismatches.float64}, objects ${result.mismatches.objects} of ${result.mismatches.scopes} scopes`,
    '',
    'ratios (same run): ' + RATIO_NAMES.map((name) => `${name} ${result.ratios[name].toFixed(2)}`).join(', '),
  );
  return lines.join('\n');
}

export function suiteOptionsFromArgs(argv: readonly string[], defaults: Partial<SuiteOptions> = {}): SuiteOptions {
  const value = (name: string): number | undefined => {
    const index = argv.indexOf(name);
    if (index < 0) return undefined;
    const parsed = Number(argv[index + 1]);
    if (!Number.isInteger(parsed) || parsed < 1) throw new RangeError(`${name} takes a whole number ≥ 1, got ${argv[index + 1]}`);
    return parsed;
  };
  return {
    accounts: value('--accounts') ?? defaults.accounts ?? 10_000_000,
    seed: value('--seed') ?? defaults.seed ?? 1,
    threads: value('--threads') ?? defaults.threads ?? availableParallelism(),
    referenceAccounts: value('--reference-accounts') ?? defaults.referenceAccounts ?? 20_000,
    taskMs: value('--task-ms') ?? defaults.taskMs ?? 3_000,
    log: (line) => process.stderr.write(`${line}\n`),
  };
}

/** `npm run bench`: the full suite, its table on stdout and its JSON in bench/results/. */
async function main(): Promise<void> {
  const options = suiteOptionsFromArgs(process.argv.slice(2));
  const result = await runSuite(options);
  process.stdout.write(`${formatSuite(result)}\n`);
  mkdirSync('bench/results', { recursive: true });
  const out = `bench/results/suite-${result.accounts}.json`;
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`wrote ${out}\n`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
