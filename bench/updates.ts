// Update throughput: account operations on a generated book, one core. Generates a book
// (src/gen/, seed 1), writes it to a temporary binary file and loads it as `liq` does, then:
//   - the first update on the fresh engine (applyOperation, a deposit by id), and the next ones;
//     and the first update of later bursts, each prepared as the first one was; then the same on
//     --fresh more engines loaded from the same file (each dropped before the next is loaded), and
//     in --processes fresh processes, each loading the file (as `liq` starts);
//     and, at the end, an update right after a sweep (as a service applies them between sweeps);
//   - N random mixed deposits and fills through applyBatch, in batches of 1,000, accounts by index,
//     and the position arena's slots after them (used, held, and how long the spare ones last);
//   - C fills that close whole positions (a cascade's liquidations), in batches of 1,000;
//   - N single deposits through applyOperation, accounts by id, then by index (after a sweep: first
//     as a caller sees them, then again with the refresh timed);
//   - what building the account-id index costs (the loader builds it while it checks the ids).
//   - at the end, the position arena compacted (the slots moved blocks left taken back), the sweep
//     after it, and static sweeps before and after; then a full evaluation (which writes the
//     outputs, so that moves of position slots carry them from then on) and --evaluated-ops more
//     mixed deposits and fills in batches.
// For each batch run it also says how much of the time the derived-state refresh took
// (Engine.accountsChanged for accounts whose positions changed, Engine.balancesChanged for those
// whose balances alone did: one kernel call each per batch). A deposit the kernel applies moves its
// account's cross base as it applies it: that refresh is in the operations' time, not counted here.
//   npm run build:ts && node dist/bench/updates.js [--accounts 1000000 | --book FILE] [--ops 1000000] [--closes 100000] [--single 200000] [--batch 1000] [--fresh 4] [--processes 6] [--evaluated-ops 200000] [--json]
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { generateBook, type GeneratedBook } from '../src/gen/generate.js';
import { loadBookBinaryFile, writeBookColumnsFile } from '../src/book/binary.js';
import { AccountIds } from '../src/book/account-ids.js';
import { applyOperation } from '../src/account/operations.js';
import { applyBatch } from '../src/account/batch.js';
import { Engine } from '../src/engine/engine.js';
import { parseBookJson } from '../src/book/json.js';
import { BENCH_BOOK_PROFILE, closingFills, mixedUpdates, prng } from './workload.js';
import { median } from './paired.js';
import { HEADER_SLOTS, HeaderSlot } from '../src/memory/layout.js';
import { describeHugePages } from '../src/memory/huge-pages.js';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

const requestedAccounts = option('--accounts', 1_000_000);
const batchOps = option('--ops', 1_000_000);
const closeOps = option('--closes', 100_000);
const singleOps = option('--single', 200_000);
const batchSize = option('--batch', 1_000);
const json = process.argv.includes('--json');
const log = (line: string) => process.stderr.write(`${line}\n`);

/** One deposit by id through applyOperation, timed (µs). */
function timedDeposit(target: Engine, id: string): number {
  const t = performance.now();
  const result = applyOperation(target, { kind: 'deposit', account: id, amountMicro: 1_000_000n });
  const us = (performance.now() - t) * 1000;
  if (!result.ok) throw new Error(`deposit refused: ${result.reason}`);
  return us;
}

// The timing code itself, warmed on a small book of its own before the one measured is loaded.
const small = Engine.fromBook(parseBookJson(readFileSync(new URL('../../examples/sample.json', import.meta.url), 'utf8')));
const smallId = small.accountIds.get(0);
for (let k = 0; k < 200; k++) timedDeposit(small, smallId);

/**
 * Read through 256 MiB, eight times the last-level cache: none of the measured book's lines stays
 * cached. Written first: pages never written are all the one zero page of the kernel, and reading
 * them would read the same 4 KiB over and over and evict nothing.
 */
const evictor = new Float64Array(32 * 1024 * 1024).fill(1);
/** Where the reads go, so that the compiler keeps them. */
let evictorSum = 0;

/**
 * The same state of the caches before a first update on the measured book, whether that book is
 * fresh or not: none of its lines cached (as after the load, which streams the whole book), the
 * operation path's code warm (100 deposits on the small book, back to back). An update costs
 * several times more after a pause or a pass over memory than right after another one (the
 * hardware's caches, not the engine: bench/README.md), so the first update is compared with later
 * ones that had the same preparation.
 */
function prepare(): void {
  for (let k = 0; k < evictor.length; k += 8) evictorSum += evictor[k];
  for (let k = 0; k < 100; k++) timedDeposit(small, smallId);
}

/**
 * Deposits by id on `count` accounts of `target` that `random` picks, each after prepare(): its
 * first update (when nothing ran on it before) and the first update of count − 1 later bursts (µs).
 */
function firstOfBursts(target: Engine, random: () => number, count: number): number[] {
  const ids = Array.from({ length: count }, () => target.accountIds.get(Math.floor(random() * target.accountCount)));
  return ids.map((id) => {
    prepare();
    return timedDeposit(target, id);
  });
}

/** First-update samples a fresh process takes: its first update, then the first of this many later bursts. */
const PROCESS_LATER_BURSTS = 7;

if (process.argv.includes('--first-update-only')) {
  // A child of --processes: this process's first update on the book and the first update of
  // PROCESS_LATER_BURSTS later bursts, each after prepare(), as JSON on stdout; nothing else.
  const loaded = loadBookBinaryFile(process.argv[process.argv.indexOf('--book') + 1]);
  const times = firstOfBursts(loaded, prng(option('--seed', 1)), PROCESS_LATER_BURSTS + 1);
  process.stdout.write(`${JSON.stringify({ firstUs: times[0], laterUs: times.slice(1) })}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// The book

// --book FILE loads a book written before (`liq gen`) instead of generating one.
const bookFile = process.argv.includes('--book') ? process.argv[process.argv.indexOf('--book') + 1] : '';
let generateMs = 0;
/** The generated book's temporary file: kept until the fresh engines below have loaded it. */
let generatedFile = '';
let start = performance.now();
let engine: Engine;
if (bookFile !== '') {
  start = performance.now();
  engine = loadBookBinaryFile(bookFile);
} else {
  const scratch = join(tmpdir(), `liq-updates-${process.pid}`);
  mkdirSync(scratch, { recursive: true });
  const file = join(scratch, 'book.bin');
  let generated: GeneratedBook | undefined = generateBook({ accounts: requestedAccounts, seed: 1, profile: BENCH_BOOK_PROFILE });
  generateMs = performance.now() - start;
  writeBookColumnsFile(file, generated);
  generated = undefined;
  start = performance.now();
  engine = loadBookBinaryFile(file);
  generatedFile = file;
}
const loadMs = performance.now() - start;
const accounts = engine.accountCount;
const positions = engine.positionsUsed;
log(`${accounts.toLocaleString('en-US')} accounts, ${positions.toLocaleString('en-US')} positions, ${engine.instruments.length} instruments (${describeHugePages()}): generated in ${generateMs.toFixed(0)} ms, loaded in ${loadMs.toFixed(0)} ms`);

// ---------------------------------------------------------------------------------------------
// The first updates on the fresh engine (nothing of it warmed up): by id, as a one-off caller would.
// Timed through timedDeposit, which ran on a small book of its own before this one was loaded: a
// caller's own code, run for the first time, costs tens of microseconds by itself (its call sites'
// caches, its object literals), and that is the caller's, not the engine's.

const random = prng(7);
const pickAccount = () => Math.floor(random() * accounts);
const firstUpdatesUs: number[] = [];
prepare();
for (let k = 0; k < 100; k++) firstUpdatesUs.push(timedDeposit(engine, engine.accountIds.get(pickAccount())));
const later = [...firstUpdatesUs.slice(1)].sort((x, y) => x - y);
// The first update of each of 21 later bursts on this engine, with the same preparation.
const laterFirstUs: number[] = [];
for (let k = 0; k < 21; k++) {
  const id = engine.accountIds.get(pickAccount());
  prepare();
  laterFirstUs.push(timedDeposit(engine, id));
}
laterFirstUs.sort((x, y) => x - y);

// One first update is one sample against a median, and lands on either side of it from run to run
// (bench/README.md, 2026-12-04). So the same comparison on `--fresh` more engines loaded from the
// same file, each dropped before the next is loaded: each one's first update, and the first
// update of 5 later bursts on it, every one after the same preparation.
const freshEngines = option('--fresh', 4);
const freshFirstUs = [firstUpdatesUs[0]];
const freshLaterUs = [laterFirstUs[10]];
for (let e = 0; e < freshEngines; e++) {
  let fresh: Engine | undefined = loadBookBinaryFile(bookFile !== '' ? bookFile : generatedFile);
  const times = firstOfBursts(fresh, random, 6);
  freshFirstUs.push(times[0]);
  freshLaterUs.push(median(times.slice(1)));
  fresh = undefined;
  (globalThis as { gc?: () => void }).gc?.(); // its memory back before the next one is loaded
}
const firstAbove = freshFirstUs.filter((us, e) => us > freshLaterUs[e]).length;
log(
  `first updates on ${freshFirstUs.length} freshly loaded engines: median ${median(freshFirstUs).toFixed(1)} µs (${freshFirstUs.map((us) => us.toFixed(1)).join(', ')}); ` +
    `the first of their later bursts, median of each engine's: median ${median(freshLaterUs).toFixed(1)} µs (${freshLaterUs.map((us) => us.toFixed(1)).join(', ')}); ` +
    `${firstAbove} of ${freshFirstUs.length} first updates above their engine's`,
);

// And as `liq` meets it: the first update of a process that has just loaded the book, in
// --processes fresh processes, one after the other (this one waits), each with its own accounts.
const processCount = option('--processes', 6);
const processFirstUs: number[] = [];
const processLaterUs: number[] = [];
for (let p = 0; p < processCount; p++) {
  const args = ['--expose-gc', '--max-old-space-size=16384', fileURLToPath(import.meta.url), '--first-update-only', '--book', bookFile !== '' ? bookFile : generatedFile, '--seed', String(p + 1)];
  const child = JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })) as { firstUs: number; laterUs: number[] };
  processFirstUs.push(child.firstUs);
  processLaterUs.push(median(child.laterUs));
}
if (generatedFile !== '') rmSync(dirname(generatedFile), { recursive: true, force: true });
if (processCount > 0) {
  log(
    `first updates in ${processCount} fresh processes: median ${median(processFirstUs).toFixed(1)} µs (${processFirstUs.map((us) => us.toFixed(1)).join(', ')}); ` +
      `the first of ${PROCESS_LATER_BURSTS} later bursts, median of each process's: median ${median(processLaterUs).toFixed(1)} µs (${processLaterUs.map((us) => us.toFixed(1)).join(', ')}); ` +
      `${processFirstUs.filter((us, p) => us > processLaterUs[p]).length} of ${processCount} first updates above their process's`,
  );
}

// What the index costs, on a copy of the ids (the loaded book's is built already, by the loader).
const idsBlob = engine.accountIds.blob();
const idsCopy = AccountIds.fromBlob(idsBlob.offsets.slice(), idsBlob.bytes.slice());
start = performance.now();
idsCopy.buildIndex();
const indexBuildMs = performance.now() - start;
log(
  `first update on the fresh engine: ${firstUpdatesUs[0].toFixed(1)} µs; the first update of 21 later bursts, same preparation: median ${laterFirstUs[10].toFixed(1)} µs ` +
    `(min ${laterFirstUs[0].toFixed(1)}, max ${laterFirstUs[20].toFixed(1)}); updates 2–100 of the first burst, back to back: median ${later[later.length >> 1].toFixed(1)} µs, max ${later[later.length - 1].toFixed(0)} µs`,
);
log(`account-id index: built by the loader (indexed: ${engine.accountIds.indexed}); building it again for ${accounts.toLocaleString('en-US')} ids takes ${indexBuildMs.toFixed(0)} ms`);

// A status sweep, as a service would run after loading (builds the chunk records).
engine.sweep({ full: false });

// ---------------------------------------------------------------------------------------------
// Random mixed deposits and fills, accounts by index

const randomOperation = mixedUpdates(engine, random);

/** Times the derived-state refresh (Engine.accountsChanged and Engine.balancesChanged) while `run` runs (wraps them on this engine only). */
function withRefreshTimer<T>(run: () => T): { value: T; refreshMs: number; refreshCalls: number; refreshedAccounts: number } {
  const laidOut = engine.accountsChanged.bind(engine);
  const moved = engine.balancesChanged.bind(engine);
  let refreshMs = 0;
  let refreshCalls = 0;
  let refreshedAccounts = 0;
  const timed = (count: number, refresh: () => void) => {
    const t = performance.now();
    refresh();
    refreshMs += performance.now() - t;
    if (count > 0) refreshCalls++;
    refreshedAccounts += count;
  };
  engine.accountsChanged = (list: ArrayLike<number>, count = list.length) => timed(count, () => laidOut(list, count));
  engine.balancesChanged = (list: ArrayLike<number>, deltas: ArrayLike<bigint>, count = list.length) => timed(count, () => moved(list, deltas, count));
  try {
    return { value: run(), refreshMs, refreshCalls, refreshedAccounts };
  } finally {
    // Back to the prototype's, the last one set deleted first: V8 then takes the engine back to the
    // hidden class it had. Deleted the other way round, the engine went to dictionary mode (slow
    // properties) for the rest of the run, and every figure measured after the first batches
    // (closes, single updates) was taken on it.
    delete (engine as { balancesChanged?: unknown }).balancesChanged;
    delete (engine as { accountsChanged?: unknown }).accountsChanged;
  }
}

// Batches are generated from the book as it stands before each batch (not timed).
let batchMs = 0;
let firstBatchMs = 0;
/** Each batch's rate: their median, beside the mean, leaves out the batches that met page faults. */
const batchRates: number[] = [];
/** Each batch's time (ms), for the slowest ones: a pause in proportion to the book would show there. */
const batchTimes: number[] = [];
let applied = 0;
const refusals = new Map<string, number>();
/** Batches during which the position arena was compacted: their times, and the sweep after each (not in the rate). */
const arenaPauses: { batchMs: number; sweepMs: number }[] = [];
const timed = withRefreshTimer(() => {
  let done = 0;
  while (done < batchOps) {
    const operations = Array.from({ length: Math.min(batchSize, batchOps - done) }, randomOperation);
    const compactionsBefore = engine.positionCompactions;
    const t = performance.now();
    const result = applyBatch(engine, operations);
    const elapsed = performance.now() - t;
    if (engine.positionCompactions !== compactionsBefore) {
      // The sweep a service runs next, timed here outside the rate: the compaction moved the
      // records' slots with the positions, so it should cost a static sweep (had it marked the
      // chunks for building again, the next batches would skip their refreshes and look cheaper).
      const s = performance.now();
      engine.sweep({ full: false });
      arenaPauses.push({ batchMs: elapsed, sweepMs: performance.now() - s });
    }
    if (done === 0) firstBatchMs = elapsed;
    batchMs += elapsed;
    batchRates.push(operations.length / (elapsed / 1000));
    batchTimes.push(elapsed);
    applied += result.applied;
    for (const r of result.results) if (!r.ok) refusals.set(r.code, (refusals.get(r.code) ?? 0) + 1);
    done += operations.length;
  }
});
const batchRate = batchOps / (batchMs / 1000);
const batchWithoutRefreshRate = batchOps / ((batchMs - timed.refreshMs) / 1000);
log(
  `applyBatch: ${batchOps.toLocaleString('en-US')} mixed deposits and fills in batches of ${batchSize}: ${Math.round(batchRate).toLocaleString('en-US')} ops/s ` +
    `(${applied.toLocaleString('en-US')} applied; first batch ${firstBatchMs.toFixed(1)} ms, mean ${(batchMs / Math.ceil(batchOps / batchSize)).toFixed(1)} ms)`,
);
log(
  `  of which the refresh (Engine.accountsChanged, Engine.balancesChanged): ${((100 * timed.refreshMs) / batchMs).toFixed(0)}% (${timed.refreshedAccounts.toLocaleString('en-US')} accounts refreshed, ` +
    `${((timed.refreshMs * 1000) / timed.refreshedAccounts).toFixed(1)} µs each); without it: ${Math.round(batchWithoutRefreshRate).toLocaleString('en-US')} ops/s`,
);
// A fresh process writes pages it has never touched as chunks and blocks move to their regions'
// tails (about 45 µs a page on a VM): the median batch is the rate of the batches that did not.
const medianBatchRate = [...batchRates].sort((x, y) => x - y)[batchRates.length >> 1];
log(`  the median batch: ${Math.round(medianBatchRate).toLocaleString('en-US')} ops/s`);
// The slowest batches after the first (which meets the caches the load left): the records region's
// compaction is spread over the moves (assembly/chunks.ts compactStep), so none should stand out.
const laterTimes = batchTimes.slice(1).sort((x, y) => x - y);
const p99BatchMs = laterTimes.length > 0 ? laterTimes[Math.min(laterTimes.length - 1, Math.floor(laterTimes.length * 0.99))] : 0;
const maxBatchMs = laterTimes.length > 0 ? laterTimes[laterTimes.length - 1] : 0;
const compactions = new Uint32Array(engine.memory.buffer, engine.layout.header, HEADER_SLOTS)[HeaderSlot.compactions];
log(`  batches after the first: p99 ${p99BatchMs.toFixed(1)} ms, slowest ${maxBatchMs.toFixed(1)} ms (${compactions} compactions of the records region ended meanwhile)`);
log(`  refusals: ${[...refusals].map(([code, n]) => `${code} ${n}`).join(', ')}`);
// The position arena after the batches: blocks that move when their accounts open positions leave
// their old slots behind, so the arena's used slots outgrow the positions held; when they reach its
// capacity, the arena is compacted (those slots taken back) or grows (docs/architecture.md).
const held = engine.positionsHeld();
// Slots the batches took: those used now, and those compactions took back meanwhile.
const slotsTaken = engine.positionsUsed - positions + engine.positionSlotsTakenBack;
const arena = {
  slotsUsed: engine.positionsUsed,
  capacity: engine.layout.capacity.positions,
  positionsHeld: held,
  slotsUsedBefore: positions,
  slotsTaken,
  compactions: engine.positionCompactions,
  slotsTakenBack: engine.positionSlotsTakenBack,
  pauses: arenaPauses,
};
for (const pause of arenaPauses) {
  log(`  a batch that compacted the position arena: ${pause.batchMs.toFixed(0)} ms; the sweep after it (one thread) ${pause.sweepMs.toFixed(0)} ms`);
}
log(
  `  the position arena: ${arena.slotsUsed.toLocaleString('en-US')} of ${arena.capacity.toLocaleString('en-US')} slots used, ${held.toLocaleString('en-US')} by positions held; ` +
    `the batches took ${slotsTaken.toLocaleString('en-US')} slots, ${arena.compactions} compactions took back ${arena.slotsTakenBack.toLocaleString('en-US')}; ` +
    `at this rate it is full after about ${Math.floor(((arena.capacity - arena.slotsUsed) / Math.max(1, slotsTaken)) * batchOps).toLocaleString('en-US')} more such updates, and then compacted or grown`,
);

// ---------------------------------------------------------------------------------------------
// Fills that close whole positions, as a cascade's liquidations bring them

const nextCloses = closingFills(engine, random);
let closeMs = 0;
let closesApplied = 0;
const closeTimed = withRefreshTimer(() => {
  for (let done = 0; done < closeOps; ) {
    const operations = nextCloses(Math.min(batchSize, closeOps - done));
    if (operations.length === 0) break;
    const t = performance.now();
    closesApplied += applyBatch(engine, operations).applied;
    closeMs += performance.now() - t;
    done += operations.length;
  }
});
const closeRate = closesApplied / (closeMs / 1000);
log(
  `applyBatch: ${closesApplied.toLocaleString('en-US')} closing fills in batches of ${batchSize}: ${Math.round(closeRate).toLocaleString('en-US')} a second ` +
    `(the refresh ${((100 * closeTimed.refreshMs) / Math.max(closeMs, 1e-9)).toFixed(0)}%)`,
);

// ---------------------------------------------------------------------------------------------
// Single deposits through applyOperation, accounts by id

// The book swept since the batches (as a service sweeps between updates): its chunks fresh again.
engine.sweep({ full: false });
const ids = Array.from({ length: singleOps }, () => engine.accountIds.get(pickAccount()));
// The rate as a caller sees it, first: nothing wrapped (the timer below adds two clock reads a call).
const plainIds = Array.from({ length: singleOps }, () => engine.accountIds.get(pickAccount()));
let start2 = performance.now();
for (let k = 0; k < singleOps; k++) applyOperation(engine, { kind: 'deposit', account: plainIds[k], amountMicro: 1_000_000n });
const plainRate = singleOps / ((performance.now() - start2) / 1000);
const plainIndices = Array.from({ length: singleOps }, () => pickAccount());
start2 = performance.now();
for (let k = 0; k < singleOps; k++) applyOperation(engine, { kind: 'deposit', accountIndex: plainIndices[k], amountMicro: 1_000_000n });
const plainByIndexRate = singleOps / ((performance.now() - start2) / 1000);
log(`applyOperation, not instrumented: ${Math.round(plainRate).toLocaleString('en-US')} single deposits by id a second, ${Math.round(plainByIndexRate).toLocaleString('en-US')} by index`);
const single = withRefreshTimer(() => {
  const t = performance.now();
  for (let k = 0; k < singleOps; k++) applyOperation(engine, { kind: 'deposit', account: ids[k], amountMicro: 1_000_000n });
  return performance.now() - t;
});
const indices = Array.from({ length: singleOps }, () => pickAccount());
const singleByIndex = withRefreshTimer(() => {
  const t = performance.now();
  for (let k = 0; k < singleOps; k++) applyOperation(engine, { kind: 'deposit', accountIndex: indices[k], amountMicro: 1_000_000n });
  return performance.now() - t;
});
const singleRate = singleOps / (single.value / 1000);
const singleWithoutRefreshRate = singleOps / ((single.value - single.refreshMs) / 1000);
log(
  `applyOperation: ${singleOps.toLocaleString('en-US')} single deposits by id: ${Math.round(singleRate).toLocaleString('en-US')} ops/s ` +
    `(the refresh ${((100 * single.refreshMs) / single.value).toFixed(0)}%; without it: ${Math.round(singleWithoutRefreshRate).toLocaleString('en-US')} ops/s)`,
);
const byIndexRate = singleOps / (singleByIndex.value / 1000);
const byIndexWithoutRefreshRate = singleOps / ((singleByIndex.value - singleByIndex.refreshMs) / 1000);
log(
  `applyOperation: ${singleOps.toLocaleString('en-US')} single deposits by index: ${Math.round(byIndexRate).toLocaleString('en-US')} ops/s ` +
    `(without the refresh: ${Math.round(byIndexWithoutRefreshRate).toLocaleString('en-US')} ops/s)`,
);

// ---------------------------------------------------------------------------------------------
// An update right after a sweep, as a service applies them between sweeps: its caches hold the
// sweep's bytes, not the operation path's, as the first update's hold the loader's.

const afterSweepUs: number[] = [];
for (let k = 0; k < 21; k++) {
  engine.sweep({ full: false });
  afterSweepUs.push(timedDeposit(engine, engine.accountIds.get(pickAccount())));
}
afterSweepUs.sort((x, y) => x - y);
log(
  `an update right after a sweep (21 rounds): median ${afterSweepUs[10].toFixed(1)} µs (min ${afterSweepUs[0].toFixed(1)}, max ${afterSweepUs[20].toFixed(1)}); ` +
    `the first update on the fresh engine: ${firstUpdatesUs[0].toFixed(0)} µs`,
);

// The pause a full arena brings: its compaction (Engine.compactPositions: the slots moved blocks
// left taken back, the records' slots moved with them), the sweep after it, and static sweeps of
// the same book before and after.
/** Median of five status sweeps on one thread (ms). */
const sweepMedian = (): number => {
  const times: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t = performance.now();
    engine.sweep({ full: false });
    times.push(performance.now() - t);
  }
  return median(times);
};
const sweepBeforeMs = sweepMedian();
const usedBeforeCompaction = engine.positionsUsed;
let t0 = performance.now();
const slotsTakenBack = engine.compactPositions();
const compactionMs = performance.now() - t0;
t0 = performance.now();
engine.sweep({ full: false });
const sweepAfterCompactionMs = performance.now() - t0;
const sweepAfterMs = sweepMedian();
const arenaCompaction = { slotsUsedBefore: usedBeforeCompaction, slotsTakenBack, ms: compactionMs, firstSweepMs: sweepAfterCompactionMs, sweepBeforeMs, sweepAfterMs };
log(
  `compacting the position arena: ${slotsTakenBack.toLocaleString('en-US')} of ${usedBeforeCompaction.toLocaleString('en-US')} slots taken back in ${compactionMs.toFixed(0)} ms; ` +
    `the sweep after it (one thread) ${sweepAfterCompactionMs.toFixed(0)} ms; ` +
    `status sweeps on one thread before it ${sweepBeforeMs.toFixed(0)} ms, after it ${sweepAfterMs.toFixed(0)} ms (medians of 5)`,
);

// Batches on a book whose outputs are written (a full evaluation writes each position's PnL and
// maintenance, as `liq eval` does): from then on a move of position slots carries those columns
// too (src/memory/layout.ts movedPositionColumns), and the batches pay for it.
const evaluatedOps = option('--evaluated-ops', 200_000);
t0 = performance.now();
engine.evaluate({ full: true });
const fullEvaluationMs = performance.now() - t0;
// The evaluation refreshed every account from the columns and left the chunk records to be built
// again: a status sweep builds them, as a service's next sweep would (before it, the batches'
// refreshes would skip the chunks and look cheaper).
engine.sweep({ full: false });
let evaluatedMs = 0;
const evaluatedRates: number[] = [];
for (let done = 0; done < evaluatedOps; ) {
  const operations = Array.from({ length: Math.min(batchSize, evaluatedOps - done) }, randomOperation);
  const t = performance.now();
  applyBatch(engine, operations);
  const elapsed = performance.now() - t;
  evaluatedMs += elapsed;
  evaluatedRates.push(operations.length / (elapsed / 1000));
  done += operations.length;
}
const evaluatedBatches = { ops: evaluatedOps, fullEvaluationMs, opsPerSecond: evaluatedOps > 0 ? evaluatedOps / (evaluatedMs / 1000) : null, medianBatchOpsPerSecond: evaluatedOps > 0 ? median(evaluatedRates) : null };
if (evaluatedOps > 0) {
  log(
    `applyBatch after a full evaluation (${fullEvaluationMs.toFixed(0)} ms; the outputs now move with the positions): ${evaluatedOps.toLocaleString('en-US')} mixed deposits and fills, ` +
      `${Math.round(evaluatedBatches.opsPerSecond!).toLocaleString('en-US')} ops/s (median batch ${Math.round(evaluatedBatches.medianBatchOpsPerSecond!).toLocaleString('en-US')}; before it ${Math.round(batchRate).toLocaleString('en-US')} and ${Math.round(medianBatchRate).toLocaleString('en-US')})`,
  );
}

if (json) {
  process.stdout.write(
    `${JSON.stringify({
      accounts,
      positions,
      instruments: engine.instruments.length,
      generateMs,
      loadMs,
      indexBuildMs,
      firstUpdateUs: firstUpdatesUs[0],
      laterUpdateMedianUs: later[later.length >> 1],
      laterFirstUpdateMedianUs: laterFirstUs[10],
      freshEngines: { firstUpdateUs: freshFirstUs, laterFirstUpdateMedianUs: freshLaterUs, firstMedianUs: median(freshFirstUs), laterMedianUs: median(freshLaterUs) },
      freshProcesses: { firstUpdateUs: processFirstUs, laterFirstUpdateMedianUs: processLaterUs, firstMedianUs: processCount > 0 ? median(processFirstUs) : null, laterMedianUs: processCount > 0 ? median(processLaterUs) : null },
      afterSweepUpdateMedianUs: afterSweepUs[10],
      batch: { ops: batchOps, batchSize, opsPerSecond: batchRate, medianBatchOpsPerSecond: medianBatchRate, applied, firstBatchMs, p99BatchMs, maxBatchMs, compactions, refreshShare: timed.refreshMs / batchMs, opsPerSecondWithoutRefresh: batchWithoutRefreshRate, arena },
      arenaCompaction,
      evaluatedBatches,
      closes: { applied: closesApplied, perSecond: closeRate, refreshShare: closeTimed.refreshMs / closeMs },
      plain: { byId: plainRate, byIndex: plainByIndexRate },
      single: { ops: singleOps, opsPerSecond: singleRate, refreshShare: single.refreshMs / single.value, opsPerSecondWithoutRefresh: singleWithoutRefreshRate },
      singleByIndex: { ops: singleOps, opsPerSecond: byIndexRate, opsPerSecondWithoutRefresh: byIndexWithoutRefreshRate },
    })}\n`,
  );
}
