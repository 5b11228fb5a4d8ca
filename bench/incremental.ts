// Incremental evaluation on the generated book, beside the full pool sweep of the same book in the
// same run (src/engine/incremental.ts, docs/incremental.md). Generates a book (src/gen/, seed 1),
// loads it as `liq` does, opens the pool, builds the index, and measures:
//   - the static full sweep on the pool (median);
//   - the index's build (every account evaluated with its bound, on one core), and its memory;
//   - normal ticks: one instrument's mark moved 0.01–0.1%, then a step (p50, p99, max); then the
//     same ticks with a batch of 100 mixed updates before every tenth step;
//   - a batch of 1,000 mixed deposits and fills, then a step;
//   - a new tier table of the last (smallest) instrument, then a step;
//   - a broad move (every mark ±2%), then a step; and a crash step (every mark ±5%), then a step:
//     each against the full sweep.
// After the normal ticks, the ticks with updates, the broad moves and the crash steps, the
// statuses and the failing count are compared with a full sweep's: the bench stops if they differ.
//   npm run build:ts && node --expose-gc dist/bench/incremental.js [--accounts 10000000 | --book FILE] [--ticks 5000] [--repeat 5] [--hot-bound 0.001] [--precision venue] [--json]
// --precision venue generates the instruments venues list (liq gen --precision venue: 42 of 100
// finer than a micro), as bench:churn's does.
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateBook, type GeneratedBook } from '../src/gen/generate.js';
import { crc32, loadBookBinaryFile, writeBookColumnsFile } from '../src/book/binary.js';
import { SweepPool } from '../src/pool/pool.js';
import { applyBatch } from '../src/account/batch.js';
import { IncrementalEvaluator, type StepPath, type StepResult } from '../src/engine/incremental.js';
import { median } from './paired.js';
import type { Engine } from '../src/engine/engine.js';
import { BENCH_BOOK_PROFILE, mixedUpdates, precisionOption, prng } from './workload.js';
import { describeHugePages } from '../src/memory/huge-pages.js';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const requestedAccounts = Number(option('--accounts', '1000000'));
const ticks = Number(option('--ticks', '5000'));
const repeat = Number(option('--repeat', '5'));
const threads = Number(option('--threads', '2'));
const precision = precisionOption(process.argv);
if (process.argv.includes('--precision') && process.argv.includes('--book')) throw new RangeError('--precision generates a book: it does not go with --book FILE (the file has its own instruments)');
const log = (line: string) => process.stderr.write(`${line}\n`);

// --book FILE loads a book written before (`liq gen`), so that the peak RSS below is the engine's
// and not the generator's.
const bookFile = option('--book', '');
const scratch = join(tmpdir(), `liq-incremental-${process.pid}`);
let engine: Engine;
if (bookFile !== '') engine = loadBookBinaryFile(bookFile);
else {
  mkdirSync(scratch, { recursive: true });
  const file = join(scratch, 'book.bin');
  let generated: GeneratedBook | undefined = generateBook({ accounts: requestedAccounts, seed: 1, profile: BENCH_BOOK_PROFILE, precision });
  writeBookColumnsFile(file, generated);
  generated = undefined;
  engine = loadBookBinaryFile(file);
  rmSync(scratch, { recursive: true, force: true });
}
const accounts = engine.accountCount;
/** Resident memory now and the peak so far, per position: where the process's bytes come from. */
const memory = (when: string) => {
  const now = process.memoryUsage().rss;
  const peak = process.resourceUsage().maxRSS * 1024;
  const use = engine.memoryUse;
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
  log(
    `RSS ${when}: ${(now / engine.positionsUsed).toFixed(1)} B per position (peak so far ${(peak / engine.positionsUsed).toFixed(1)}); ` +
      `wasm memory ${mib(use.total)} MiB (layout ${mib(use.layout)}, regions ${mib(use.regions)}, left behind ${mib(use.left)}), ` +
      `JS heap ${mib(heapUsed)} MiB, array buffers ${mib(arrayBuffers)} MiB`,
  );
};
memory('after the load');
const pool = await SweepPool.open(engine, { threads });
const random = prng(17);
const nextUpdate = mixedUpdates(engine, random);
const instruments = engine.instruments.length;
const v = engine.views;

/**
 * A full sweep on the pool, timed: counting the failing scopes without gathering their list, as the
 * evaluator's fallback sweeps do (a crash step's list is tens of megabytes made and dropped, which
 * set this process's peak RSS: 100.5 B a position in one run at c34b92a, bench/README.md).
 */
async function sweepMs(): Promise<number> {
  const t = performance.now();
  await pool.sweep({ list: false });
  return performance.now() - t;
}

const hotBoundOption = option('--hot-bound', '');
const incremental = new IncrementalEvaluator(engine, { pool, ...(hotBoundOption === '' ? {} : { hotBound: Number(hotBoundOption) }) });
async function timedStep(): Promise<{ ms: number; result: StepResult }> {
  const t = performance.now();
  const result = await incremental.step();
  return { ms: performance.now() - t, result };
}

/** Moves instrument i's mark by `ppm` (as a setMark through applyBatch would; the bench writes it directly). */
function move(i: number, ppm: number): void {
  const mark = v.instMark[i];
  let next = (mark * BigInt(1_000_000 + ppm)) / 1_000_000n;
  if (next === mark) next = mark + (ppm >= 0 ? 1n : -1n);
  v.instMark[i] = next < 1n ? 1n : next;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Holds the incremental path to a full sweep: the statuses and the failing count it left in memory
 * must be those a sweep of the same book writes (each status column compared by its CRC-32 before
 * and after the sweep, with no copy: a copy of the 10M-account book's would add 40 MB to the peak
 * RSS measured below). A figure of an engine that is not exact is not reported: the bench stops.
 */
async function checkExact(when: string): Promise<void> {
  const accountDigest = crc32(v.accStatus.subarray(0, accounts));
  const positionDigest = crc32(v.posStatus.subarray(0, engine.positionsUsed));
  const liquidatable = incremental.liquidatable;
  const swept = await pool.sweep({ list: false });
  const accountsEqual = accountDigest === crc32(v.accStatus.subarray(0, accounts));
  const positionsEqual = positionDigest === crc32(v.posStatus.subarray(0, engine.positionsUsed));
  if (!accountsEqual || !positionsEqual || liquidatable !== swept.liquidatable) {
    throw new Error(
      `${when}: the incremental path is not exact: ${accountsEqual ? 'its account statuses equal' : 'its account statuses differ from'} a full sweep's, ` +
        `${positionsEqual ? 'its position statuses equal' : 'its position statuses differ from'} them, and it counts ${liquidatable} failing scopes against the sweep's ${swept.liquidatable}`,
    );
  }
  log(`${when}: statuses and failing count equal a full sweep's`);
}

for (let k = 0; k < 10; k++) await sweepMs(); // records built, workers warm
const staticMs: number[] = [];
for (let k = 0; k < 4 * repeat; k++) staticMs.push(await sweepMs());
const sweep = median(staticMs);
memory('after the sweeps');
log(`${accounts.toLocaleString('en-US')} accounts (${bookFile === '' ? `${precision} precision` : bookFile}), ${engine.positionsUsed.toLocaleString('en-US')} positions, ${pool.threads} workers (${describeHugePages()}): full sweep ${sweep.toFixed(2)} ms (median of ${staticMs.length})`);

const build = await timedStep();
if (build.result.path !== 'build') throw new Error(`the first step was a ${build.result.path}`);
memory('after the build');
let isolated = 0;
for (let j = 0; j < engine.positionsUsed; j++) isolated += v.posMode[j];
const scopes = accounts + isolated;
const indexBytes = incremental.memoryBytes;
log(`build: ${build.ms.toFixed(0)} ms (${(build.ms / sweep).toFixed(1)}× a sweep); index ${(indexBytes / 2 ** 20).toFixed(1)} MiB = ${(indexBytes / scopes).toFixed(2)} B per scope (${scopes.toLocaleString('en-US')} scopes), ${(indexBytes / engine.positionsUsed).toFixed(2)} B per position`);

// Normal ticks: a random instrument, 0.01–0.1% either way.
const baseMarks = Array.from(v.instMark.subarray(0, instruments));
const tickMs: number[] = [];
const tickEvaluated: number[] = []; // accounts an incremental tick evaluated in full; −1 for a sweep or a build
const paths: Record<StepPath, number> = { incremental: 0, sweep: 0, build: 0 };
const rebuilds: string[] = [];
let evaluated = 0;
let owing = 0; // steps that left accounts owed
let owedMost = 0;
let changedAccounts = 0; // accounts whose statuses incremental ticks changed, summed over the ticks
let hotMost = 0;
for (let k = 0; k < ticks; k++) {
  const i = Math.floor(random() * instruments);
  move(i, Math.round((100 + random() * 900) * (random() < 0.5 ? -1 : 1)));
  const stale = incremental.stale;
  const { ms, result } = await timedStep();
  tickMs.push(ms);
  tickEvaluated.push(result.path === 'incremental' ? result.evaluated : -1);
  paths[result.path]++;
  if (result.path !== 'incremental') rebuilds.push(`${result.path} after ${stale || 'a fallback'}`);
  if (result.path === 'incremental') evaluated += result.evaluated;
  changedAccounts += result.changed?.length ?? 0;
  hotMost = Math.max(hotMost, incremental.hotAccounts);
  if (result.owed > 0) owing++;
  owedMost = Math.max(owedMost, result.owed);
}
{
  // What the slow ticks did: how many accounts the incremental ones among them evaluated in full.
  const slow = tickMs.flatMap((ms, k) => (ms > 1 && tickEvaluated[k] >= 0 ? [{ ms, evaluated: tickEvaluated[k] }] : []));
  const byEvaluated = [...slow].sort((x, y) => x.evaluated - y.evaluated);
  const q = (p: number) => byEvaluated[Math.min(byEvaluated.length - 1, Math.floor(p * byEvaluated.length))]?.evaluated ?? 0;
  log(
    `ticks over 1 ms: ${tickMs.filter((ms) => ms > 1).length} (${slow.length} incremental, the rest sweeps and builds); ` +
      `accounts those incremental ones evaluated: min ${q(0)}, median ${q(0.5)}, max ${q(1)}; ` +
      `µs per account evaluated in them (median): ${slow.length > 0 ? ((1000 * median(slow.map((t) => t.ms / Math.max(1, t.evaluated))))).toFixed(1) : '-'}`,
  );
}
const tick = { p50: percentile(tickMs, 50), p99: percentile(tickMs, 99), p999: percentile(tickMs, 99.9), max: Math.max(...tickMs), mean: tickMs.reduce((s, x) => s + x, 0) / tickMs.length };
log(
  `${ticks} normal ticks (one mark 0.01–0.1%): p50 ${(tick.p50 * 1000).toFixed(0)} µs, p99 ${(tick.p99 * 1000).toFixed(0)} µs, p99.9 ${tick.p999.toFixed(1)} ms, max ${tick.max.toFixed(2)} ms, ` +
    `mean ${(tick.mean * 1000).toFixed(0)} µs (${((tick.mean * ticks) / 1000).toFixed(1)} s in all); paths ${JSON.stringify(paths)}; ${(evaluated / Math.max(1, paths.incremental)).toFixed(1)} accounts re-evaluated per incremental tick; ` +
    `${owing} steps left accounts owed (at most ${owedMost.toLocaleString('en-US')}); ` +
    `${changedAccounts.toLocaleString('en-US')} account statuses changed by incremental ticks; up to ${hotMost.toLocaleString('en-US')} accounts in the hot book ` +
    `(${incremental.hotInPart.admitted.toLocaleString('en-US')} admitted in part since the evaluator was made, ${incremental.hotInPart.takenOut.toLocaleString('en-US')} of those taken out by their triggers)`,
);
memory('after the ticks');
await checkExact('after the normal ticks');
if (rebuilds.length > 0) log(`  not incremental: ${[...new Set(rebuilds)].map((why) => `${rebuilds.filter((r) => r === why).length}× ${why}`).join(', ')}`);
const drift = baseMarks.map((mark, i) => Number(v.instMark[i] - mark) / Number(mark));
log(`marks drifted ${(Math.min(...drift) * 100).toFixed(2)}% to ${(Math.max(...drift) * 100).toFixed(2)}% over the ticks`);

// Ticks with updates flowing in, as a live feed brings them: the same normal ticks, and before
// every tenth step a batch of 100 mixed deposits and fills (each step evaluates what both changed).
{
  const churnMs: number[] = [];
  const churnPaths: Record<StepPath, number> = { incremental: 0, sweep: 0, build: 0 };
  const churnTicks = Math.max(100, Math.floor(ticks / 3));
  const churnRebuilds: string[] = [];
  for (let k = 0; k < churnTicks; k++) {
    const i = Math.floor(random() * instruments);
    move(i, Math.round((100 + random() * 900) * (random() < 0.5 ? -1 : 1)));
    if (k % 10 === 9) applyBatch(engine, Array.from({ length: 100 }, nextUpdate));
    const stale = incremental.stale;
    const { ms, result } = await timedStep();
    churnMs.push(ms);
    churnPaths[result.path]++;
    if (result.path !== 'incremental') churnRebuilds.push(`${result.path} after ${stale || 'a fallback'}`);
  }
  const mean = churnMs.reduce((sum, x) => sum + x, 0) / churnMs.length;
  log(
    `${churnTicks} normal ticks with 100 updates before every tenth: p50 ${(percentile(churnMs, 50) * 1000).toFixed(0)} µs, p99 ${percentile(churnMs, 99).toFixed(1)} ms, ` +
      `max ${Math.max(...churnMs).toFixed(1)} ms, mean ${(mean * 1000).toFixed(0)} µs; paths ${JSON.stringify(churnPaths)}`,
  );
  if (churnRebuilds.length > 0) log(`  not incremental: ${[...new Set(churnRebuilds)].map((why) => `${churnRebuilds.filter((r) => r === why).length}× ${why}`).join(', ')}`);
  memory('after the ticks with updates');
  await checkExact('after the ticks with updates');
}

/** Back to the base marks and a built index with nothing owed (a calm step rebuilds a stale one; steps with no move take the owed a few at a time). */
async function settle(): Promise<void> {
  baseMarks.forEach((mark, i) => (v.instMark[i] = mark));
  await incremental.step();
  for (let k = 0; (!incremental.ready || incremental.owedAccounts > 0) && k < 100_000; k++) await incremental.step();
}

// A batch of 1,000 mixed deposits and fills, then a step.
const batchMs: number[] = [];
const batchStepMs: number[] = [];
for (let r = 0; r < repeat; r++) {
  await settle();
  const operations = Array.from({ length: 1_000 }, nextUpdate);
  const t = performance.now();
  applyBatch(engine, operations);
  batchMs.push(performance.now() - t);
  const { ms, result } = await timedStep();
  if (result.path !== 'incremental') throw new Error(`a batch's step took the ${result.path} path`);
  batchStepMs.push(ms);
}
log(`1,000 mixed updates: batch ${median(batchMs).toFixed(2)} ms, then a step ${median(batchStepMs).toFixed(2)} ms (${((100 * median(batchStepMs)) / sweep).toFixed(1)}% of a sweep)`);
memory('after the updates');

// A venue's new tier table for the last instrument (the smallest alt: rates ×1.1, then back), then a
// step: the update rewrites its isolated records and the evaluator queues its holders (found in
// what its index keeps for the instrument), which the step re-evaluates with the new table's weight.
{
  const last = engine.instruments.length - 1;
  const original = engine.instruments[last].tiers;
  const tierMs: number[] = [];
  const tierStepMs: number[] = [];
  const tierPaths: string[] = [];
  for (let r = 0; r < repeat; r++) {
    await settle();
    const tiers = r % 2 === 0 ? original.map((tier) => ({ ...tier, ratePpm: (tier.ratePpm * 11n) / 10n })) : original;
    const t = performance.now();
    const result = applyBatch(engine, [{ kind: 'setTiers', instrument: engine.instruments[last].symbol, tiers }]).results[0];
    tierMs.push(performance.now() - t);
    if (!result.ok) throw new Error(`the tier table was refused: ${result.reason}`);
    const step = await timedStep();
    tierStepMs.push(step.ms);
    tierPaths.push(`${step.result.path} (${step.result.evaluated.toLocaleString('en-US')} evaluated)`);
  }
  log(`a tier table of ${engine.instruments[last].symbol}: update ${median(tierMs).toFixed(1)} ms, then a step ${median(tierStepMs).toFixed(1)} ms (${((100 * median(tierStepMs)) / sweep).toFixed(1)}% of a sweep); steps ${[...new Set(tierPaths)].join(', ')}`);
  await checkExact('after the tier tables');
}

// Broad moves (every mark ±2%) and crash steps (±5%), each from a settled book with a built index,
// against a full sweep of the same move from the same settled book (rounds alternate the two).
async function everyMark(ppm: number): Promise<{ ms: number[]; sweeps: number[]; paths: string[] }> {
  const ms: number[] = [];
  const sweeps: number[] = [];
  const taken: string[] = [];
  for (let r = 0; r < 2 * repeat; r++) {
    await settle();
    const down = (r >> 1) % 2 === 0;
    for (let i = 0; i < instruments; i++) move(i, down ? -ppm : ppm);
    if (r % 2 === 0) {
      sweeps.push(await sweepMs());
      await incremental.step(); // the index takes the move too (a sweep), so the next settle rebuilds it
    } else {
      const step = await timedStep();
      ms.push(step.ms);
      taken.push(step.result.path);
    }
  }
  return { ms, sweeps, paths: taken };
}
/** The median of the ratios of each step to the sweep of the round just before it (rounds alternate), which the machine's drift over the rounds moves less than a ratio of medians. */
const pairwise = (moved: { ms: number[]; sweeps: number[] }): number => median(moved.ms.map((ms, k) => ms / moved.sweeps[k]));
const broad = await everyMark(20_000);
log(
  `broad move (every mark ±2%): step ${median(broad.ms).toFixed(2)} ms, a full sweep of the same move ${median(broad.sweeps).toFixed(2)} ms (${(median(broad.ms) / median(broad.sweeps)).toFixed(2)}×; ` +
    `median of the ${broad.ms.length} pairs ${pairwise(broad).toFixed(2)}×); paths ${broad.paths.join(',')}`,
);
await checkExact('after the broad moves');
memory('after the broad moves');
const crash = await everyMark(50_000);
log(
  `crash step (every mark ±5%): step ${median(crash.ms).toFixed(2)} ms, a full sweep of the same move ${median(crash.sweeps).toFixed(2)} ms (${(median(crash.ms) / median(crash.sweeps)).toFixed(2)}×; ` +
    `median of the ${crash.ms.length} pairs ${pairwise(crash).toFixed(2)}×); paths ${crash.paths.join(',')}`,
);
await checkExact('after the crash steps');
memory('after the crash steps');
// A second crash step right after the first (the index stale): a sweep.
{
  const ms: number[] = [];
  for (let r = 0; r < repeat; r++) {
    for (let i = 0; i < instruments; i++) move(i, r % 2 === 0 ? 50_000 : -50_000);
    ms.push((await timedStep()).ms);
  }
  log(`crash steps in a row: step ${median(ms).toFixed(2)} ms (${(median(ms) / sweep).toFixed(2)}× a sweep)`);
  await checkExact('after the crash steps in a row');
}
const rss = process.resourceUsage().maxRSS * 1024;
log(`peak RSS ${(rss / 2 ** 30).toFixed(2)} GiB = ${(rss / engine.positionsUsed).toFixed(1)} B per position`);

incremental.close();
await pool.close();
if (process.argv.includes('--json')) {
  process.stdout.write(
    `${JSON.stringify({ accounts, precision: bookFile === '' ? precision : null, positions: engine.positionsUsed, threads, sweepMs: sweep, buildMs: build.ms, indexBytes, scopes, tick, paths, batchMs: median(batchMs), batchStepMs: median(batchStepMs), broadMs: median(broad.ms), broadSweepMs: median(broad.sweeps), broadPairwise: pairwise(broad), crashMs: median(crash.ms), crashSweepMs: median(crash.sweeps), crashPairwise: pairwise(crash), rss }, null, 2)}\n`,
  );
}
