// The book in motion on the pool: what the next full status sweep costs after the changes users
// make, beside a static sweep of the same book in the same run. Generates a book (src/gen/, seed 1),
// loads it as `liq` does, opens the pool, and measures (medians over --repeat rounds, each round
// applying its own fresh changes, each row also against the static sweep of the same book just
// before each round, as the median of the rounds' ratios):
//   - the static sweep (nothing changed since the last sweep);
//   - the sweep after K mixed deposits and fills (bench/workload.ts) applied through applyBatch in
//     batches of 1,000, for each K of --churn (and the batches' own time, on one core);
//   - the static sweep again, on the book as the churn left it (chunks moved, their areas out of
//     order); the rows after it are also given over this one;
//   - a funding-index update of the largest instrument (its own time, then the next sweep), the
//     same followed by 10,000 mixed updates before the sweep, and a funding round (every
//     instrument's index, in one batch, then one update each), each index moved by FUNDING_STEP of
//     its mark;
//   - a tier table update of the largest instrument (its own time, then the next sweep);
//   - a mode switch of one position (its own time, then the next sweep);
//   - a crash step: every mark moved ±5%, then the sweep.
//   npm run build:ts && node --expose-gc dist/bench/churn.js [--accounts 10000000] [--churn 1000,10000,100000] [--repeat 5] [--precision venue] [--json]
// --precision venue generates the instruments venues list (liq gen --precision venue: 42 of 100
// finer than a micro, whose fills go through the control plane's exact fill).
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateBook, type GeneratedBook } from '../src/gen/generate.js';
import { loadBookBinaryFile, writeBookColumnsFile } from '../src/book/binary.js';
import { SweepPool } from '../src/pool/pool.js';
import { applyBatch } from '../src/account/batch.js';
import { applyOperation } from '../src/account/operations.js';
import { FUNDING_EXTRA_SCALE, MODE_CROSS } from '../src/fixed/constants.js';
import { median } from './paired.js';
import { BENCH_BOOK_PROFILE, mixedUpdates, precisionOption, prng } from './workload.js';
import { describeHugePages } from '../src/memory/huge-pages.js';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const accounts = Number(option('--accounts', '1000000'));
const churn = option('--churn', '1000,10000,100000').split(',').map(Number);
const repeat = Number(option('--repeat', '5'));
const threads = Number(option('--threads', '2'));
const precision = precisionOption(process.argv);
const log = (line: string) => process.stderr.write(`${line}\n`);

const scratch = join(tmpdir(), `liq-churn-${process.pid}`);
mkdirSync(scratch, { recursive: true });
const file = join(scratch, 'book.bin');
let generated: GeneratedBook | undefined = generateBook({ accounts, seed: 1, profile: BENCH_BOOK_PROFILE, precision });
writeBookColumnsFile(file, generated);
generated = undefined;
const engine = loadBookBinaryFile(file);
rmSync(scratch, { recursive: true, force: true });
const pool = await SweepPool.open(engine, { threads });
const random = prng(11);
const nextUpdate = mixedUpdates(engine, random);

async function sweepMs(): Promise<number> {
  const t = performance.now();
  await pool.sweep();
  return performance.now() - t;
}

/** Applies `count` mixed updates in batches of 1,000; returns the batches' time, ms. */
function applyUpdates(count: number): number {
  let ms = 0;
  for (let done = 0; done < count; done += 1_000) {
    const operations = Array.from({ length: Math.min(1_000, count - done) }, nextUpdate);
    const t = performance.now();
    applyBatch(engine, operations);
    ms += performance.now() - t;
  }
  return ms;
}

for (let k = 0; k < 10; k++) await sweepMs(); // records built, workers warm
const staticMs: number[] = [];
for (let k = 0; k < 4 * repeat; k++) staticMs.push(await sweepMs());
const staticMedian = median(staticMs);
/** The static sweep of the book as the churn left it (chunks moved, areas out of order), once measured. */
let settledMedian: number | undefined;
const rows: Array<{
  what: string;
  updateMs: number;
  sweepMs: number;
  overStatic: number;
  withUpdateOverStatic: number;
  overSettled?: number;
  overBefore: number;
  withUpdateOverBefore: number;
  /** Funding rows: the sweeps after the first, until every chunk has settled, over the static sweep just before each round (median of each round's median). */
  settlingOverBefore?: number;
}> = [];
/**
 * A row: each round's update time, the sweep after it, and the static sweep of the same book just
 * before the update (`befores`). Besides the ratios to the first static sweep, the median of the
 * rounds' own ratios to the sweep just before: on this shared machine a sweep's time drifts by
 * tens of percent within minutes, and the first static sweep is minutes away from the later rows.
 */
const row = (what: string, updateMs: number[], sweeps: number[], befores: number[], settling?: number[]) => {
  const sweep = median(sweeps);
  const overSettled = settledMedian === undefined ? undefined : sweep / settledMedian;
  // The update and the sweep after it, added round by round: what the funding and mode-switch targets measure.
  const both = median(sweeps.map((ms, r) => ms + (updateMs[r] ?? 0)));
  const overBefore = median(sweeps.map((ms, r) => ms / befores[r]));
  const withUpdateOverBefore = median(sweeps.map((ms, r) => (ms + (updateMs[r] ?? 0)) / befores[r]));
  const settlingOverBefore = settling === undefined ? undefined : median(settling);
  rows.push({ what, updateMs: median(updateMs), sweepMs: sweep, overStatic: sweep / staticMedian, withUpdateOverStatic: both / staticMedian, overSettled, overBefore, withUpdateOverBefore, settlingOverBefore });
  const settled = overSettled === undefined ? '' : `, ${overSettled.toFixed(2)}× the churned book's static sweep`;
  log(
    `${what}: update ${median(updateMs).toFixed(2)} ms, next sweep ${sweep.toFixed(2)} ms (${(sweep / staticMedian).toFixed(2)}× static${settled}); update and next sweep ${(both / staticMedian).toFixed(2)}× static; ` +
      `against the static sweep just before each round: next sweep ${overBefore.toFixed(2)}×, update and next sweep ${withUpdateOverBefore.toFixed(2)}×` +
      (settlingOverBefore === undefined ? '' : `; the ${SETTLING_SWEEPS} sweeps after it, which settle the pending chunks: ${settlingOverBefore.toFixed(2)}× each`),
  );
};
log(`${accounts.toLocaleString('en-US')} accounts (${precision} precision), ${engine.positionsUsed.toLocaleString('en-US')} positions, ${pool.threads} workers (${describeHugePages()}): static sweep ${staticMedian.toFixed(2)} ms (median of ${staticMs.length})`);

for (const k of churn) {
  const updates: number[] = [];
  const sweeps: number[] = [];
  const befores: number[] = [];
  for (let r = 0; r < repeat; r++) {
    befores.push(await sweepMs());
    updates.push(applyUpdates(k));
    sweeps.push(await sweepMs());
    await sweepMs(); // back to a settled book before the next round
  }
  row(`${k.toLocaleString('en-US')} mixed deposits and fills (applyBatch, rate ${Math.round(k / (median(updates) / 1000)).toLocaleString('en-US')}/s)`, updates, sweeps, befores);
}

// The static sweep again, on the book as the churn left it: what its layout costs every sweep.
{
  const settled: number[] = [];
  for (let k = 0; k < 4 * repeat; k++) settled.push(await sweepMs());
  settledMedian = median(settled);
  log(`static sweep after the churn: ${settledMedian.toFixed(2)} ms (${(settledMedian / staticMedian).toFixed(2)}× the first static sweep)`);
}

/**
 * A funding-index step as a share of the instrument's mark: 10^-4 (an index carries
 * FUNDING_EXTRA_SCALE / d times the price's units, d the value divisor, 1 but for an instrument finer
 * than a micro: so the step is 10^-4·(10^6 / d)·mark), a payment of 0.01% of the
 * notional, the usual 8-hour rate of Binance-style venues. The lazy sweep's bound on an account's
 * move grows with it (docs/architecture.md, "Funding left pending"), so a step far below a real
 * one would flatter the funding rows: they used a step of 1,000 units (1.5·10^-9 of the largest
 * instrument's mark) until 2026-12-04.
 */
const FUNDING_STEP = 1e-4;
/** Instrument i's funding index moved by FUNDING_STEP of its mark, up in even rounds and down in odd ones. */
function steppedFunding(i: number, round: number): bigint {
  const step = BigInt(Math.round((FUNDING_STEP * Number(FUNDING_EXTRA_SCALE) * Number(engine.views.instMark[i])) / Number(engine.views.instDiv[i])));
  return engine.views.instFunding[i] + (round % 2 === 0 ? step : -step);
}

/**
 * After a funding update and its first sweep (which reads the pending chunks lazily and settles
 * none), the sweeps that settle them, a sixteenth each (docs/architecture.md, "Funding left
 * pending"): timed, each over the static sweep just before the round, and the book left settled for
 * the next round.
 */
const SETTLING_SWEEPS = 16;
async function settlingSweeps(before: number): Promise<number> {
  const ratios: number[] = [];
  for (let k = 0; k < SETTLING_SWEEPS; k++) ratios.push((await sweepMs()) / before);
  return median(ratios);
}

// A funding-index update of instrument 0 (the largest), by FUNDING_STEP of its mark each round.
{
  const updates: number[] = [];
  const sweeps: number[] = [];
  const befores: number[] = [];
  const settling: number[] = [];
  for (let r = 0; r < repeat; r++) {
    befores.push(await sweepMs());
    const t = performance.now();
    const result = applyOperation(engine, { kind: 'setFundingIndex', instrument: engine.instruments[0].symbol, fundingIndex: steppedFunding(0, r) });
    updates.push(performance.now() - t);
    if (!result.ok) throw new Error(`funding refused: ${result.reason}`);
    sweeps.push(await sweepMs());
    settling.push(await settlingSweeps(befores[r]));
  }
  row('funding-index update (instrument 0)', updates, sweeps, befores, settling);
}

// The same update, then 10,000 mixed updates before the next sweep (as a live feed goes on after a
// funding time): the updates settle the chunks they reach first, and the sweeps after it the rest. The row's
// update time is the funding update's and the updates' together; the updates' own time on a settled
// book is the 10,000 row's above.
{
  const updates: number[] = [];
  const sweeps: number[] = [];
  const befores: number[] = [];
  const settling: number[] = [];
  for (let r = 0; r < repeat; r++) {
    befores.push(await sweepMs());
    const t = performance.now();
    const result = applyOperation(engine, { kind: 'setFundingIndex', instrument: engine.instruments[0].symbol, fundingIndex: steppedFunding(0, r) });
    if (!result.ok) throw new Error(`funding refused: ${result.reason}`);
    applyUpdates(10_000);
    updates.push(performance.now() - t);
    sweeps.push(await sweepMs());
    settling.push(await settlingSweeps(befores[r]));
  }
  row('funding-index update (instrument 0), then 10,000 mixed updates', updates, sweeps, befores, settling);
}

// A funding round: every instrument's index set in one batch, as at a funding time; then the same
// round as a feed may send it, one update per instrument, nothing between them (each joined to the
// funding slot the first took).
for (const oneByOne of [false, true]) {
  const updates: number[] = [];
  const sweeps: number[] = [];
  const befores: number[] = [];
  const settling: number[] = [];
  for (let r = 0; r < repeat; r++) {
    befores.push(await sweepMs());
    const operations = engine.instruments.map((instrument, i) => ({ kind: 'setFundingIndex' as const, instrument: instrument.symbol, fundingIndex: steppedFunding(i, r) }));
    const t = performance.now();
    const refused = oneByOne ? operations.filter((operation) => !applyOperation(engine, operation).ok).length : applyBatch(engine, operations).refused;
    updates.push(performance.now() - t);
    if (refused > 0) throw new Error(`funding round: ${refused} refused`);
    sweeps.push(await sweepMs());
    settling.push(await settlingSweeps(befores[r]));
  }
  row(`funding round (all ${engine.instruments.length} instruments, ${oneByOne ? 'one update each' : 'in one batch'})`, updates, sweeps, befores, settling);
}

// A tier table update of instrument 0 (the largest): every rate 10% higher, then back, a round each.
// Its own time is the rewrite of the instrument's isolated records (Engine.tiersChanged).
{
  const updates: number[] = [];
  const sweeps: number[] = [];
  const befores: number[] = [];
  const original = engine.instruments[0].tiers;
  for (let r = 0; r < repeat; r++) {
    befores.push(await sweepMs());
    const tiers = r % 2 === 0 ? original.map((tier) => ({ ...tier, ratePpm: (tier.ratePpm * 11n) / 10n })) : original;
    const t = performance.now();
    const result = applyOperation(engine, { kind: 'setTiers', instrument: engine.instruments[0].symbol, tiers });
    updates.push(performance.now() - t);
    if (!result.ok) throw new Error(`tier table refused: ${result.reason}`);
    sweeps.push(await sweepMs());
    await sweepMs();
  }
  applyOperation(engine, { kind: 'setTiers', instrument: engine.instruments[0].symbol, tiers: original });
  row('tier table update (instrument 0, rates ±10%)', updates, sweeps, befores);
}

// A mode switch of one position (cross to isolated with its notional as margin, or back).
{
  const updates: number[] = [];
  const sweeps: number[] = [];
  const befores: number[] = [];
  const v = engine.views;
  for (let r = 0; r < repeat; r++) {
    befores.push(await sweepMs());
    let a = Math.floor(random() * accounts);
    while (v.accPosCount[a] === 0) a = (a + 1) % accounts;
    const j = v.accPosStart[a];
    const symbol = engine.instruments[v.posInst[j]].symbol;
    const toIsolated = v.posMode[j] === MODE_CROSS;
    const t = performance.now();
    applyOperation(engine, toIsolated ? { kind: 'switchMode', accountIndex: a, instrument: symbol, to: 'isolated', marginMicro: v.accBalance[a] / 2n } : { kind: 'switchMode', accountIndex: a, instrument: symbol, to: 'cross' });
    updates.push(performance.now() - t);
    sweeps.push(await sweepMs());
    await sweepMs();
  }
  row('mode switch of one position', updates, sweeps, befores);
}

// A crash step: every mark ±5% (alternating), the sweep that finds millions of failing scopes.
{
  const sweeps: number[] = [];
  const befores: number[] = [];
  const v = engine.views;
  const base = Array.from(v.instMark.subarray(0, engine.instruments.length));
  for (let r = 0; r < repeat; r++) {
    base.forEach((mark, i) => (v.instMark[i] = mark));
    befores.push(await sweepMs());
    const down = r % 2 === 0;
    base.forEach((mark, i) => (v.instMark[i] = down ? (mark * 95n) / 100n : (mark * 105n) / 100n));
    sweeps.push(await sweepMs());
  }
  base.forEach((mark, i) => (v.instMark[i] = mark));
  await sweepMs();
  row('crash step (every mark ±5%)', sweeps.map(() => 0), sweeps, befores);
}

await pool.close();
if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify({ accounts, precision, positions: engine.positionsUsed, threads, staticMs: staticMedian, settledStaticMs: settledMedian, rows }, null, 2)}\n`);
