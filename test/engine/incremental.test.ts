// Incremental evaluation (src/engine/incremental.ts) on generated books dense with accounts near
// their boundaries: after every step of normal ticks, broad moves, funding moves and batches of
// updates, the statuses the incremental path leaves in memory are those a full sweep of a twin
// book gives (the sweep is held to the BigInt reference by production-path.test.ts, which also
// runs the incremental path against the reference), with the same failing count, and the accounts
// a step reports as changed are exactly those whose statuses changed.
import { describe, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { IncrementalEvaluator, type StepPath } from '../../src/engine/incremental.js';
import { SweepPool } from '../../src/pool/pool.js';
import { applyBatch } from '../../src/account/batch.js';
import { applyOperation } from '../../src/account/operations.js';
import { generateBook, generatedBookToBook } from '../../src/gen/generate.js';
import { mixedUpdates, prng } from '../../bench/workload.js';
import { statusBytes } from '../support/scopes.js';
import { kernelU32 } from '../../src/engine/kernel-constants.js';
import { MODE_CROSS } from '../../src/fixed/constants.js';
import { TWO_GIB, padAboveTwoGiB } from '../support/memory.js';

/** A kernel constant that is an i32. */
const kernelI32 = (name: string): number => kernelU32(name) | 0;

function moveMark(engine: Engine, i: number, ppm: number): void {
  const mark = engine.views.instMark[i];
  let next = (mark * BigInt(1_000_000 + ppm)) / 1_000_000n;
  if (next === mark) next = mark + (ppm >= 0 ? 1n : -1n);
  const result = applyOperation(engine, { kind: 'setMark', instrument: engine.instruments[i].symbol, priceUnits: next < 1n ? 1n : next });
  expect(result.ok, result.ok ? '' : result.reason).toBe(true);
}

type Step = { kind: 'tick'; instrument: number; ppm: number } | { kind: 'broad'; ppm: number } | { kind: 'batch'; size: number } | { kind: 'funding'; instrument: number; delta: bigint };

function randomStep(random: () => number, instruments: number): Step {
  const r = random();
  const sign = random() < 0.5 ? -1 : 1;
  if (r < 0.8) return { kind: 'tick', instrument: Math.floor(random() * instruments), ppm: sign * Math.round(100 + random() * 900) };
  if (r < 0.85) return { kind: 'broad', ppm: sign * 20_000 };
  if (r < 0.95) return { kind: 'batch', size: 1 + Math.floor(random() * 40) };
  return { kind: 'funding', instrument: Math.floor(random() * instruments), delta: BigInt(sign * Math.round(random() * 5e9)) };
}


/**
 * Runs 400 random steps on a generated book dense near its boundaries and holds every step to a
 * full sweep of a twin book. With `aboveTwoGiB`, a region of 2 GiB is taken first, so that every
 * region the incremental path and the hot book place after it (their lists, scopes and records)
 * lies above 2 GiB, as on a 10M-account book.
 */
/** The entries of the evaluator's heaps (its internals, read as they are). */
/** Expects `engine`'s statuses and failing count after a step (`result`) to equal a full sweep of `twin`, a copy given the same changes. */
function expectExactTwin(engine: Engine, twin: Engine, result: { liquidatable: number }, where: string): void {
  expect(result.liquidatable, where).toBe(twin.sweep({ full: false }));
  expect(statusBytes(engine), where).toEqual(statusBytes(twin));
}

function heapEntries(incremental: IncrementalEvaluator): number {
  const inner = incremental as unknown as { waiting: Array<{ size: number }>; below: Array<{ size: number }>; above: Array<{ size: number }> };
  let entries = 0;
  for (const heaps of [inner.waiting, inner.below, inner.above]) for (const heap of heaps) entries += heap.size;
  return entries;
}

async function stepsEqualTwin(seed: number, aboveTwoGiB = false, heapLimit?: number): Promise<{ engine: Engine; heapCompactions: number; staleReasons: Set<string>; incrementalAfterCompaction: number; compacted: Array<{ entries: number; stale: boolean }> }> {
  const generated = generatedBookToBook(generateBook({ profile: 'stress', accounts: 3_000, seed, instruments: 24, isolatedShare: 0.4, nearMaintenanceShare: 0.3 }));
  const engine = Engine.fromBook(generated);
  const twin = Engine.fromBook(generated);
  if (aboveTwoGiB) padAboveTwoGiB(engine);
  // Half the seeds put a fifth of the book in the hot book (a high hotBound). Seed 2 sweeps past
  // the fallback at every step (calmAccounts at the fallback); the others evaluate up to twice the
  // fallback in a calm step (the default) and sweep past it.
  const fallbackAccounts = 400;
  const incremental = new IncrementalEvaluator(engine, { fallbackAccounts, calmAccounts: seed === 2 ? fallbackAccounts : undefined, hotLimit: 2_000, hotBound: seed === 2 ? 0.02 : 1e-3, heapLimit });
  const staleReasons = new Set<string>();
  let incrementalAfterCompaction = 0; // incremental steps right after a step that compacted the heaps
  const compacted: Array<{ entries: number; stale: boolean }> = []; // at each compaction of the heaps: their entries after it, and whether it left the index stale
  const random = prng(seed * 7_919);
  // The same updates for both books: two generators on the same seed, each over its own book.
  const updates = mixedUpdates(engine, prng(seed));
  const twinUpdates = mixedUpdates(twin, prng(seed));
  const paths: Record<StepPath, number> = { incremental: 0, sweep: 0, build: 0 };
  let reevaluated = 0;
  let changedSeen = 0;
  let hotSeen = 0;
  let calmPastFallback = 0; // calm steps that evaluated more than the fallback themselves
  let broadPastFallback = 0; // and broad moves that did (none: past the fallback they sweep)
  let compactedLastStep = false;
  for (let s = 0; s < 400; s++) {
    const step = randomStep(random, engine.instruments.length);
    for (const book of [engine, twin]) {
      switch (step.kind) {
        case 'tick':
          moveMark(book, step.instrument, step.ppm);
          break;
        case 'broad':
          for (let i = 0; i < book.instruments.length; i++) moveMark(book, i, step.ppm);
          break;
        case 'batch': {
          const next = book === engine ? updates : twinUpdates;
          applyBatch(book, Array.from({ length: step.size }, next));
          break;
        }
        case 'funding': {
          const result = applyOperation(book, { kind: 'setFundingIndex', instrument: book.instruments[step.instrument].symbol, fundingIndex: book.views.instFunding[step.instrument] + step.delta });
          expect(result.ok, result.ok ? '' : result.reason).toBe(true);
          break;
        }
      }
    }
    const before = statusBytes(engine);
    hotSeen = Math.max(hotSeen, incremental.hotAccounts);
    if (incremental.stale !== '') staleReasons.add(incremental.stale);
    const compactionsBefore = incremental.heapCompactions;
    const result = await incremental.step();
    paths[result.path]++;
    if (result.path === 'incremental' && compactedLastStep) incrementalAfterCompaction++;
    compactedLastStep = incremental.heapCompactions > compactionsBefore;
    if (compactedLastStep) compacted.push({ entries: heapEntries(incremental), stale: incremental.stale === 'heap entries' });
    const expectedCount = twin.sweep({ full: false });
    const where = `seed ${seed}, step ${s} (${step.kind}), ${result.path}`;
    expect(result.liquidatable, where).toBe(expectedCount);
    const after = statusBytes(engine);
    expect(after, where).toEqual(statusBytes(twin));
    if (result.path === 'incremental') {
      const changed = after.flatMap((line, a) => (line !== before[a] ? [a] : []));
      expect([...(result.changed ?? [])], where).toEqual(changed);
      reevaluated += result.evaluated;
      changedSeen += changed.length;
      if (result.evaluated > fallbackAccounts) {
        if (step.kind === 'broad') broadPastFallback++;
        else calmPastFallback++;
      }
    }
  }
  // Accounts went to the hot book with their least scope alone, and triggers of their other scopes took some out.
  const inPart = incremental.hotInPart;
  incremental.close();
  expect(inPart.admitted, `seed ${seed}: admitted in part`).toBeGreaterThan(0);
  expect(inPart.takenOut, `seed ${seed}: taken out by a trigger`).toBeGreaterThan(0);
  expect(broadPastFallback).toBe(0);
  if (seed === 2) expect(calmPastFallback).toBe(0);
  else expect(calmPastFallback).toBeGreaterThan(0);
  // Most steps were incremental and each re-evaluated a small part of the book; statuses changed,
  // some of them in the hot book.
  expect(paths.incremental).toBeGreaterThan(300);
  expect(paths.sweep + paths.build).toBeGreaterThan(1);
  expect(reevaluated / paths.incremental).toBeLessThan(engine.accountCount / 10);
  expect(changedSeen).toBeGreaterThan(50);
  expect(hotSeen).toBeGreaterThan(0);
  return { engine, heapCompactions: incremental.heapCompactions, staleReasons, incrementalAfterCompaction, compacted };
}

describe('incremental evaluation on books dense near their boundaries', () => {
  test.each([1, 2, 3])('seed %i: every step equals a full sweep of a twin book', async (seed) => {
    await stepsEqualTwin(seed);
  });

  test('past heapLimit the largest heap is compacted, and the index goes stale only when the heaps are still past it; every step still equals a full sweep of a twin book', async () => {
    const heapLimit = 9_600;
    const { heapCompactions, staleReasons, incrementalAfterCompaction, compacted } = await stepsEqualTwin(3, false, heapLimit);
    expect(heapCompactions).toBeGreaterThan(2);
    // A compaction left the index stale exactly when the heaps were past the limit still, and both
    // happened: steps right after one that left it built were incremental.
    expect(staleReasons.has('heap entries')).toBe(true);
    for (const { entries, stale } of compacted) expect(stale, `${entries} entries of ${heapLimit}`).toBe(entries > heapLimit);
    expect(compacted.some((c) => c.stale)).toBe(true);
    expect(incrementalAfterCompaction).toBeGreaterThan(0);
  });

  test('every step equals a full sweep of a twin book with the hot book and the lists above 2 GiB of memory', async () => {
    const { engine } = await stepsEqualTwin(2, true);
    // The hot book's scopes and the evaluations' detail were placed above 2 GiB (a region already
    // placed is returned as it is for a request of 0 bytes).
    expect(engine.region('hot.scopes', 0)).toBeGreaterThan(TWO_GIB);
    expect(engine.region('incremental.detail', 0)).toBeGreaterThan(TWO_GIB);
  });

  test('a step with nothing changed evaluates nothing; an update re-evaluates its account; a closed evaluator no longer listens', async () => {
    const engine = Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 500, seed: 4, instruments: 8 })));
    const incremental = new IncrementalEvaluator(engine);
    expect((await incremental.step()).path).toBe('build');
    expect(incremental.ready).toBe(true);
    expect(await incremental.step()).toEqual({ path: 'incremental', evaluated: 0, liquidatable: incremental.liquidatable, changed: new Uint32Array(0), owed: 0 });
    applyOperation(engine, { kind: 'withdraw', accountIndex: 7, amountMicro: 1n });
    const after = await incremental.step();
    expect(after.path).toBe('incremental');
    expect(after.evaluated).toBe(1);
    // A refresh of the whole book makes the index stale; the next calm step rebuilds it.
    engine.evaluate({ full: false });
    expect(incremental.stale).toBe('a refresh of the book');
    expect((await incremental.step()).path).toBe('build');
    incremental.close();
    applyOperation(engine, { kind: 'withdraw', accountIndex: 7, amountMicro: 1n });
    expect((await incremental.step()).evaluated).toBe(0);
  });

  test('a deposit into an account whose cross pool is healthy is not evaluated (its bound still holds), one into a failing pool is; either way every step equals a full sweep of a twin as the marks fall through them', async () => {
    const book = generatedBookToBook(generateBook({ profile: 'stress', accounts: 2_000, seed: 9, instruments: 4 }));
    const engine = Engine.fromBook(book);
    const twin = Engine.fromBook(book);
    // No account in the hot book (its records hold the equity before a deposit: such an account is evaluated).
    const incremental = new IncrementalEvaluator(engine, { hotBound: 0, fallbackAccounts: 100_000 }); // never a sweep: the counts below are exact
    expect((await incremental.step()).path).toBe('build');
    twin.sweep({ full: false });
    const v = engine.views;
    const crossHeld = (a: number) => {
      for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) if (v.posMode[j] === MODE_CROSS) return true;
      return false;
    };
    const healthy: number[] = [];
    const failing: number[] = [];
    for (let a = 0; a < engine.accountCount; a++) {
      if (!crossHeld(a)) continue;
      if (v.accStatus[a] === 0) healthy.push(a);
      else failing.push(a);
    }
    expect(healthy.length).toBeGreaterThan(100);
    expect(failing.length).toBeGreaterThan(10);
    const both = (operations: Parameters<typeof applyBatch>[1]) => {
      expect(applyBatch(engine, operations).refused).toBe(0);
      expect(applyBatch(twin, operations).refused).toBe(0);
    };
    // Deposits into 100 healthy pools, through the kernel's batch and one at a time: nothing evaluated.
    both(healthy.slice(0, 50).map((accountIndex) => ({ kind: 'deposit' as const, accountIndex, amountMicro: 1_000_000n })));
    for (const accountIndex of healthy.slice(50, 100)) {
      expect(applyOperation(engine, { kind: 'deposit', accountIndex, amountMicro: 1_000_000n }).ok).toBe(true);
      expect(applyOperation(twin, { kind: 'deposit', accountIndex, amountMicro: 1_000_000n }).ok).toBe(true);
    }
    let result = await incremental.step();
    expect(result.path).toBe('incremental');
    expect(result.evaluated).toBe(0);
    expectExactTwin(engine, twin, result, 'after deposits into healthy pools');
    // A deposit and a withdrawal of one account in a batch: the withdrawal's evaluation wins.
    both([
      { kind: 'deposit', accountIndex: healthy[100], amountMicro: 5_000_000n },
      { kind: 'withdraw', accountIndex: healthy[100], amountMicro: 1n },
    ]);
    result = await incremental.step();
    expect(result.evaluated).toBe(1);
    expectExactTwin(engine, twin, result, 'after a deposit and a withdrawal');
    // Deposits that lift 10 failing pools above their maintenance: each evaluated, each healthy after.
    const lifted = failing.slice(0, 10);
    both(lifted.map((accountIndex) => ({ kind: 'deposit' as const, accountIndex, amountMicro: v.accCrossMaint[accountIndex] - v.accCrossEquity[accountIndex] + 1n })));
    result = await incremental.step();
    expect(result.evaluated).toBe(lifted.length);
    for (const a of lifted) expect(v.accStatus[a], `account ${a}`).toBe(0);
    expectExactTwin(engine, twin, result, 'after deposits into failing pools');
    // Every mark down 0.3% a step: the healthy pools that took deposits fail in their turn, found by
    // the triggers of the bounds made before their deposits.
    const credited = healthy.slice(0, 100);
    let creditedFailed = 0;
    for (let k = 0; k < 40; k++) {
      for (let i = 0; i < engine.instruments.length; i++) {
        moveMark(engine, i, -3_000);
        moveMark(twin, i, -3_000);
      }
      result = await incremental.step();
      expectExactTwin(engine, twin, result, `step ${k} of the fall`);
    }
    for (const a of credited) if (v.accStatus[a] !== 0) creditedFailed++;
    expect(creditedFailed).toBeGreaterThan(10);
  });

  test("the build places every account, per instrument it holds, in the bucket of the bound of the scopes holding it (the account's plus its positions' steps there: at least the bucket's low edge, below the next one's), tagged with the sides it can fail on", async () => {
    const engine = Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 20_000, seed: 6, instruments: 12 })));
    // A few accounts with an instrument twice (cross and isolated), and a few with more positions
    // than the shorts byte holds: the build's slow path for them.
    const book = engine.toBook();
    for (let a = 0; a < 40; a++) {
      const account = book.accounts[a * 97];
      const position = account.positions[0];
      if (position === undefined) continue;
      account.positions.push({ ...position, mode: position.mode === 'cross' ? 'isolated' : 'cross', sizeUnits: -position.sizeUnits, marginMicro: position.mode === 'cross' ? position.marginMicro : 0n, costMicro: -position.costMicro });
    }
    for (let a = 0; a < 10; a++) {
      const account = book.accounts[a * 131 + 7];
      const position = account.positions[0];
      if (position === undefined) continue;
      const held = new Set(account.positions.map((p) => `${p.instrument}/${p.mode}`));
      for (let i = 0; i < book.instruments.length; i++) {
        if (held.has(`${i}/cross`)) continue;
        const size = (i % 3 === 0 ? -1n : 1n) * BigInt(1 + i);
        account.positions.push({ ...position, instrument: i, mode: 'cross', sizeUnits: size, costMicro: size * book.instruments[i].markUnits, marginMicro: 0n, fundingIndex: book.instruments[i].fundingIndex, leverage: 1 });
      }
    }
    const twin = Engine.fromBook(book);
    expect(Array.from(twin.views.accPosCount.subarray(0, twin.accountCount)).some((n) => n > 7)).toBe(true);
    const incremental = new IncrementalEvaluator(twin, { hotBound: 1e-4 });
    expect((await incremental.step()).path).toBe('build');
    const instruments = twin.instruments.length;
    const shift = kernelU32('INDEX_SIDE_SHIFT');
    const mask = kernelU32('INDEX_ACCOUNTS_MAX') - 1;
    const down = kernelU32('INDEX_SIDE_DOWN');
    const up = kernelU32('INDEX_SIDE_UP');
    const perOctave = 128; // up to 1,024 instruments
    const buckets = (2 - kernelI32('BUCKET_MIN_EXPONENT')) * perOctave + 1;
    const low = (b: number) => 2 ** (kernelI32('BUCKET_MIN_EXPONENT') + b / perOctave);
    const memory = twin.memory.buffer;
    const cells = instruments * buckets;
    type Built = { bucketStart: Uint32Array; entries: Uint32Array; sideStart: Uint32Array[] };
    const start = (incremental as unknown as Built).bucketStart;
    const entries = new Uint32Array(memory, twin.region('incremental.entries', 0), start[cells]);
    const bounds = new Float32Array(memory, twin.region('incremental.bounds', 0), twin.accountCount);
    const v = twin.views;
    // An instrument's entry is in the bucket of its bound: the account's bound's f32 bits plus the
    // least steps of its positions there (the bound of the scopes holding it).
    const steps = new Uint8Array(memory, twin.region('incremental.steps', 0), twin.positionsUsed);
    const entryBound = (a: number, i: number): number => {
      const first = v.accPosStart[a];
      let fewest = 255;
      for (let j = first; j < first + v.accPosCount[a]; j++) if (v.posInst[j] === i) fewest = Math.min(fewest, steps[j]);
      const bits = new DataView(new ArrayBuffer(4));
      bits.setFloat32(0, bounds[a]);
      bits.setUint32(0, bits.getUint32(0) + fewest * 2 ** kernelU32('STEPS_SHIFT'));
      return bits.getFloat32(0);
    };
    const placed = new Map<string, number>();
    let checked = 0;
    let second = 0;
    for (let i = 0; i < instruments; i++) {
      for (let b = 0; b < buckets; b++) {
        for (let k = start[i * buckets + b]; k < start[i * buckets + b + 1]; k++) {
          const a = entries[k] & mask;
          const bound = entryBound(a, i);
          if (bound > bounds[a]) second++;
          if (b > 0) expect(bound, `account ${a}, instrument ${i}, bucket ${b}`).toBeGreaterThanOrEqual(low(b));
          if (b < buckets - 1) expect(bound, `account ${a}, instrument ${i}, bucket ${b}`).toBeLessThan(low(b + 1));
          const key = `${a}/${i}`;
          expect(placed.has(key), `account ${a}, instrument ${i}: placed twice`).toBe(false);
          placed.set(key, entries[k] >>> shift);
          checked++;
        }
      }
    }
    // The counts a step's estimate reads instead of the entries: per cell and side, the entries
    // tagged with that side (a difference of the evaluator's running counts).
    const sideStart = (incremental as unknown as { sideStart: Uint32Array[] }).sideStart;
    for (const side of [down, up]) {
      for (let c = 0; c < cells; c++) {
        let count = 0;
        for (let k = start[c]; k < start[c + 1]; k++) count += (entries[k] >>> (shift + side)) & 1;
        if (sideStart[side][c + 1] - sideStart[side][c] !== count) expect.fail(`cell ${c}, side ${side}: ${sideStart[side][c + 1] - sideStart[side][c]} counted, ${count} entries`);
      }
      expect(sideStart[side][cells]).toBeGreaterThan(0);
    }
    // Each account outside the hot book, with a finite bound, is placed once per instrument it
    // holds, tagged down if it is long there, up if short, both if both or if any of its scopes is
    // failing (it can recover one way and go bankrupt the other).
    let failingPlaced = 0;
    let bothSides = 0;
    let oneSided = 0;
    for (let a = 0; a < twin.accountCount; a++) {
      const first = v.accPosStart[a];
      const block = Array.from({ length: v.accPosCount[a] }, (_, n) => first + n);
      const failing = v.accStatus[a] !== 0 || block.some((j) => v.posMode[j] !== MODE_CROSS && v.posStatus[j] !== 0);
      const indexed = bounds[a] >= 1e-4 && Number.isFinite(bounds[a]);
      for (const i of new Set(block.map((j) => v.posInst[j]))) {
        const onI = block.filter((j) => v.posInst[j] === i);
        const long = failing || onI.some((j) => v.posSize[j] >= 0n);
        const short = failing || onI.some((j) => v.posSize[j] < 0n);
        const expected = indexed ? (long ? 1 << down : 0) | (short ? 1 << up : 0) : undefined;
        expect(placed.get(`${a}/${i}`), `account ${a}, instrument ${i}: sides`).toBe(expected);
        if (indexed && failing) failingPlaced++;
        if (indexed && !failing && long && short) bothSides++;
        if (indexed && long !== short) oneSided++;
      }
    }
    expect(checked).toBeGreaterThan(twin.accountCount);
    expect(second, "entries placed by a second least scope's bound").toBeGreaterThan(checked / 50);
    expect(failingPlaced).toBeGreaterThan(0);
    expect(bothSides).toBeGreaterThan(0);
    expect(oneSided).toBeGreaterThan(twin.accountCount / 2);
    expect(engine.accountCount).toBe(twin.accountCount);

    // The pool's build, each worker counting and placing a part of the accounts (one of them dying
    // in each pass and its part run again), places the same entries in the same order, with the
    // same counts per cell and side, and the same hot book.
    const single = { start: start.slice(), entries: entries.slice(), down: sideStart[down].slice(0, cells + 1), up: sideStart[up].slice(0, cells + 1), hot: incremental.hotAccounts };
    incremental.close();
    for (const threads of [1, 2, 3]) {
      const pool = await SweepPool.open(twin, { threads });
      const pooled = new IncrementalEvaluator(twin, { pool, hotBound: 1e-4 });
      if (threads === 3) {
        const indexPass = pool.indexPass.bind(pool);
        pool.indexPass = (pass, args, prepare) => indexPass(pass, args, prepare, { faults: new Map([[pass === 'count' ? 1 : 2, 700]]) });
      }
      expect((await pooled.step()).path).toBe('build');
      const built = pooled as unknown as Built;
      expect(built.bucketStart.slice(0, cells + 1), `${threads} workers: the cells' starts`).toEqual(single.start);
      expect(new Uint32Array(memory, twin.region('incremental.entries', 0), start[cells]), `${threads} workers: the entries`).toEqual(single.entries);
      expect(built.sideStart[down].slice(0, cells + 1), `${threads} workers: down`).toEqual(single.down);
      expect(built.sideStart[up].slice(0, cells + 1), `${threads} workers: up`).toEqual(single.up);
      expect(pooled.hotAccounts, `${threads} workers: the hot book`).toBe(single.hot);
      pooled.close();
      await pool.close();
    }
  });

  test("a step counts the entries its moves reach from the build's counts per side, as a scan of those entries counts them, its cursors moved by the steps before", async () => {
    const engine = Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 20_000, seed: 7, instruments: 12 })));
    const incremental = new IncrementalEvaluator(engine, { fallbackAccounts: 1_000_000 }); // no fallback: the cursors move on
    type Inner = {
      reachedEntries(instruments: readonly number[]): number;
      excursion(i: number, side: number): number;
      entries: Uint32Array;
      bucketStart: Uint32Array;
      bucketLow: Float64Array;
      cursor: Int32Array;
      buckets: number;
    };
    const inner = incremental as unknown as Inner;
    const shift = kernelU32('INDEX_SIDE_SHIFT');
    const sides = kernelU32('INDEX_SIDES');
    const counted = inner.reachedEntries.bind(inner);
    let calls = 0;
    let reached = 0;
    let movedCursors = 0;
    inner.reachedEntries = (instruments) => {
      let scanned = 0;
      for (const i of instruments) {
        for (let side = 0; side < sides; side++) {
          const e = inner.excursion(i, side);
          if (inner.cursor[i * sides + side] > 0) movedCursors++;
          for (let b = inner.cursor[i * sides + side]; b < inner.buckets && inner.bucketLow[b] <= e; b++) {
            for (let k = inner.bucketStart[i * inner.buckets + b]; k < inner.bucketStart[i * inner.buckets + b + 1]; k++) scanned += (inner.entries[k] >>> (shift + side)) & 1;
          }
        }
      }
      const count = counted(instruments);
      expect(count, `step ${calls}: instruments ${instruments.join(',')}`).toBe(scanned);
      calls++;
      reached += scanned;
      return count;
    };
    expect((await incremental.step()).path).toBe('build');
    const random = prng(5);
    const v = engine.views;
    for (let step = 0; step < 60; step++) {
      // One to three instruments move, up to 2% either way from where they stand.
      for (let n = 1 + Math.floor(random() * 3); n > 0; n--) {
        const i = Math.floor(random() * engine.instruments.length);
        v.instMark[i] = (v.instMark[i] * BigInt(1_000_000 + Math.round((random() - 0.5) * 40_000))) / 1_000_000n;
      }
      await incremental.step();
    }
    expect(calls).toBeGreaterThan(30); // the steps that collected (a build or a sweep does not)
    expect(reached).toBeGreaterThan(0);
    expect(movedCursors).toBeGreaterThan(0);
    incremental.close();
  });

  test('with no fallback given, the break-even is measured: a sweep timed after the build, the cost per account from the steps', async () => {
    const engine = Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 3_000, seed: 6, instruments: 8, nearMaintenanceShare: 0.3 })));
    let sweeps = 0;
    // A sweep made slow on purpose (about 120 ms): re-evaluating thousands of accounts is cheaper.
    const incremental = new IncrementalEvaluator(engine, {
      sweep: () => {
        sweeps++;
        const start = performance.now();
        while (performance.now() - start < 120);
        return engine.sweep({ full: false });
      },
    });
    expect(incremental.fallbackAccounts).toBe(256); // nothing measured yet: a 24th of the book, at least 256
    expect((await incremental.step()).path).toBe('build');
    expect(sweeps).toBe(1);
    let evaluated = 0;
    for (let k = 0; k < 30; k++) {
      moveMark(engine, k % 8, k % 2 === 0 ? 3_000 : -3_000);
      const result = await incremental.step();
      if (result.path === 'incremental') evaluated += result.evaluated;
    }
    // The slow sweep makes the break-even thousands of accounts (about 10,000 at 10 µs an account),
    // far above the default: 1,000 holds while an account takes up to 120 µs, on a busy machine too.
    expect(incremental.fallbackAccounts).toBeGreaterThan(1_000);
    expect(evaluated).toBeGreaterThan(0);
    expect(sweeps).toBe(1);
  });

  test('with a pool, the build evaluates on its workers and the fallback sweeps on it: the same bounds and statuses as on one thread', async () => {
    const book = generatedBookToBook(generateBook({ profile: 'stress', accounts: 4_000, seed: 8, instruments: 12, nearMaintenanceShare: 0.2 }));
    const pooled = Engine.fromBook(book);
    const single = Engine.fromBook(book);
    // The pooled engine's regions lie above 2 GiB, and its lists start with room for 16 scopes a
    // shard: the crash steps overflow them and they grow, moving while the hot book's regions move
    // and the places they leave are handed out again.
    padAboveTwoGiB(pooled);
    const pool = await SweepPool.open(pooled, { threads: 2, listCapacity: 16 });
    try {
      // No accounts owed (drainLimit = the fallback): past the fallback, the index goes stale and is rebuilt.
      const withPool = new IncrementalEvaluator(pooled, { pool, fallbackAccounts: 300, drainLimit: 300 });
      const alone = new IncrementalEvaluator(single, { fallbackAccounts: 300, drainLimit: 300 });
      const boundBytes = (engine: Engine) => new Uint8Array(engine.memory.buffer, engine.region('incremental.bounds', engine.accountCount * kernelU32('BOUNDS_REGION_BYTES_PER_ACCOUNT')), engine.accountCount * kernelU32('BOUNDS_REGION_BYTES_PER_ACCOUNT')).slice();
      expect((await withPool.step()).path).toBe('build');
      expect((await alone.step()).path).toBe('build');
      expect(boundBytes(pooled)).toEqual(boundBytes(single));
      const paths = new Set<string>();
      for (let k = 0; k < 60; k++) {
        const ppm = k % 20 === 19 ? -40_000 : (k % 2 === 0 ? 1 : -1) * (200 + 40 * k);
        for (const engine of [pooled, single]) moveMark(engine, k % 12, ppm);
        if (k % 20 === 19) for (const engine of [pooled, single]) for (let i = 0; i < 12; i++) moveMark(engine, i, -30_000);
        const a = await withPool.step();
        const b = await alone.step();
        paths.add(a.path);
        expect(a.liquidatable, `step ${k}`).toBe(b.liquidatable);
        expect(statusBytes(pooled), `step ${k}`).toEqual(statusBytes(single));
        expect(a.liquidatable, `step ${k}`).toBe(single.sweep({ full: false }));
      }
      expect([...paths].sort()).toEqual(['build', 'incremental', 'sweep']);
      expect((pool as unknown as { listCapacity: number }).listCapacity).toBeGreaterThan(16);
      expect(withPool.hotAccounts).toBeGreaterThan(0);
    } finally {
      await pool.close();
    }
  });

  test('with a pool and hotSplit, a tick is shared between this thread and a worker, each taking chunks of both kinds of records: every step exact; a worker that fails after moving its part leaves a sweep, then a build', async () => {
    const book = generatedBookToBook(generateBook({ profile: 'stress', accounts: 4_000, seed: 9, instruments: 6, isolatedShare: 0.4, nearMaintenanceShare: 0.3 }));
    const engine = Engine.fromBook(book);
    const twin = Engine.fromBook(book);
    const pool = await SweepPool.open(engine, { threads: 2 });
    try {
      // Chunks of 8 records, so that on this book both threads take some of every tick's.
      const incremental = new IncrementalEvaluator(engine, { pool, hotSplit: 1, hotShareChunk: 8, hotBound: 0.02, fallbackAccounts: 100_000 });
      const real = pool.hotShare.bind(pool);
      let split = 0;
      let listed = 0;
      pool.hotShare = async (...args) => {
        split++;
        const result = await real(...args);
        listed += result.listed;
        return result;
      };
      // This thread's part of the shared ticks (the kernel's hotTickShared on this thread): how often
      // it ran, and what it listed.
      let ownCalls = 0;
      let ownListed = 0;
      const core = Object.assign(Object.create(null), engine.core) as typeof engine.core;
      const realShared = core.hotTickShared;
      core.hotTickShared = (...args) => {
        const n = realShared(...args);
        ownCalls++;
        ownListed += n;
        return n;
      };
      Object.defineProperty(engine, 'core', { value: core, configurable: true, writable: true });
      const expectExact = (result: { liquidatable: number }, where: string) => expectExactTwin(engine, twin, result, where);
      expect((await incremental.step()).path).toBe('build');
      expect(incremental.hotAccounts).toBeGreaterThan(100);
      const random = prng(9);
      for (let k = 0; k < 60; k++) {
        const i = k % 6;
        const ppm = Math.round((100 + random() * 900) * (random() < 0.5 ? -1 : 1));
        for (const b of [engine, twin]) moveMark(b, i, ppm);
        const pending = incremental.step();
        // While the worker moves its part, the book refuses writes (one writer at a time).
        if (k === 10) expect(() => applyOperation(engine, { kind: 'deposit', accountIndex: 0, amountMicro: 1n })).toThrow(/engine is being swept by a pool: .* is refused/);
        const result = await pending;
        expect(result.path, `tick ${k}`).toBe('incremental');
        expectExact(result, `tick ${k}`);
      }
      expect(split, 'ticks split').toBeGreaterThan(30);
      // This thread takes its part of every shared tick. Which thread takes which chunk is a race (a
      // fresh clone's run once had this thread list none of the changed accounts, the worker all),
      // so only their sum is the book's: accounts changed in the shared ticks.
      expect(ownCalls, 'this thread\'s part of each shared tick').toBe(split);
      expect(listed + ownListed, 'accounts the shared ticks changed').toBeGreaterThan(0);
      // The worker moves its part, then its task fails (as if it died before answering): the step
      // sweeps, and the index is built again at the next calm step.
      pool.hotShare = async (...args) => {
        await real(...args);
        throw new Error('the worker died');
      };
      for (const b of [engine, twin]) moveMark(b, 0, -3_000);
      const failed = await incremental.step();
      expect(failed.path).toBe('sweep');
      expectExact(failed, 'the step whose worker failed');
      expect(incremental.stale).toMatch(/a worker of the hot book's tick failed: the worker died/);
      pool.hotShare = real;
      for (const b of [engine, twin]) moveMark(b, 0, 500);
      const rebuilt = await incremental.step();
      expect(rebuilt.path).toBe('build');
      expectExact(rebuilt, 'the build after it');
      for (const b of [engine, twin]) moveMark(b, 0, -700);
      expectExact(await incremental.step(), 'a tick after the build');
    } finally {
      await pool.close();
    }
  });

  test('a step that changes thousands of accounts reports exactly those, in order (sorted by the kernel)', async () => {
    const book = generatedBookToBook(generateBook({ profile: 'stress', accounts: 20_000, seed: 12, instruments: 3, isolatedShare: 0.3, nearMaintenanceShare: 0.6 }));
    const engine = Engine.fromBook(book);
    const twin = Engine.fromBook(book);
    const incremental = new IncrementalEvaluator(engine, { hotBound: 0.05, hotLimit: 1_000_000, fallbackAccounts: 1_000_000, calmAccounts: 1_000_000 });
    expect((await incremental.step()).path).toBe('build');
    let largest = 0;
    for (let k = 0; k < 8; k++) {
      const ppm = k % 2 === 0 ? -4_000 : 3_000;
      for (const b of [engine, twin]) moveMark(b, k % 3 === 2 ? 1 : 0, ppm);
      const before = statusBytes(engine);
      const result = await incremental.step();
      const after = statusBytes(engine);
      expect(result.path, `move ${k}`).toBe('incremental');
      expectExactTwin(engine, twin, result, `move ${k}`);
      const changed = after.flatMap((line, a) => (line !== before[a] ? [a] : []));
      expect([...(result.changed ?? [])], `move ${k}: the accounts whose statuses changed`).toEqual(changed);
      largest = Math.max(largest, changed.length);
    }
    expect(largest, 'a step changed thousands of accounts').toBeGreaterThan(4_096);
  });

  test('options out of range are refused, naming the option', () => {
    const engine = Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 10, seed: 1, instruments: 2 })));
    expect(() => new IncrementalEvaluator(engine, { fallbackAccounts: 0 })).toThrow('IncrementalEvaluator: fallbackAccounts must be an integer of at least 1, got 0');
    expect(() => new IncrementalEvaluator(engine, { hotBound: -1 })).toThrow('hotBound must be a number from 0 to 1, got -1');
    expect(() => new IncrementalEvaluator(engine, { hotLimit: 1.5 })).toThrow('hotLimit must be an integer of at least 0, got 1.5');
    expect(() => new IncrementalEvaluator(engine, { hotSplit: 0 })).toThrow('hotSplit must be an integer of at least 1, got 0');
    expect(() => new IncrementalEvaluator(engine, { hotShareChunk: 0 })).toThrow('hotShareChunk must be an integer from 1 to 2^31, got 0');
    expect(() => new IncrementalEvaluator(engine, { heapLimit: Number.NaN })).toThrow('heapLimit must be an integer of at least 1, got NaN');
    expect(() => new IncrementalEvaluator(engine, { drainLimit: 0 })).toThrow('drainLimit must be an integer of at least 1, got 0');
    expect(() => new IncrementalEvaluator(engine, { calmMove: 2 })).toThrow('calmMove must be a number from 0 to 1, got 2');
    expect(() => new IncrementalEvaluator(engine, { calmAccounts: 2.5 })).toThrow('calmAccounts must be an integer of at least 1, got 2.5');
    expect(() => new IncrementalEvaluator(engine, { sweep: () => 0, pool: {} as never })).toThrow('give a pool or a sweep, not both');
  });

  test('a move past the fallback but within the drain limit sweeps and keeps the index: the accounts it reached are owed, and the next steps re-evaluate them a few at a time, each one first when its instrument moves', async () => {
    const book = generatedBookToBook(generateBook({ profile: 'stress', accounts: 3_000, seed: 5, instruments: 8, nearMaintenanceShare: 0.3 }));
    const engine = Engine.fromBook(book);
    const twin = Engine.fromBook(book);
    let sweeps = 0;
    const fallback = 40;
    const incremental = new IncrementalEvaluator(engine, {
      fallbackAccounts: fallback,
      drainLimit: 100_000,
      sweep: () => {
        sweeps++;
        return engine.sweep({ full: false });
      },
    });
    expect((await incremental.step()).path).toBe('build');
    const expectExact = (result: { liquidatable: number }, where: string) => expectExactTwin(engine, twin, result, where);
    for (const b of [engine, twin]) moveMark(b, 0, -30_000);
    const first = await incremental.step();
    expect(first.path).toBe('sweep');
    expect(first.owed).toBeGreaterThan(3 * fallback);
    expect(incremental.ready).toBe(true); // not stale: no rebuild
    expect(incremental.owedAccounts).toBe(first.owed);
    expectExact(first, 'the step that reached them');
    // Ticks of one price unit on instruments 1 to 7: each step re-evaluates the owed accounts that
    // hold the instrument it moved, and five more (an eighth of the fallback), until none is owed.
    let owed = first.owed;
    const paths: string[] = [];
    for (let k = 0; owed > 0; k++) {
      expect(k, 'steps to clear what is owed').toBeLessThan(first.owed);
      for (const b of [engine, twin]) moveMark(b, 1 + (k % 7), k % 2 === 0 ? 1 : -1);
      const result = await incremental.step();
      paths.push(result.path);
      expectExact(result, `step ${k} after (${result.path}, ${result.owed} owed)`);
      if (result.path === 'incremental') expect(result.owed).toBeLessThanOrEqual(owed - Math.min(owed, fallback / 8));
      owed = result.owed;
    }
    expect(paths.filter((path) => path === 'incremental').length).toBeGreaterThan(3);
    expect(paths).not.toContain('build');
    expect(sweeps).toBe(1 + paths.filter((path) => path === 'sweep').length);
    // Owed again, then a move of instrument 0 reaches every owed account at once: evaluated in that
    // step (or swept, if they are more than the fallback), exactly.
    for (const b of [engine, twin]) moveMark(b, 0, -30_000);
    expect((await incremental.step()).owed).toBeGreaterThan(fallback);
    for (const b of [engine, twin]) moveMark(b, 0, 100);
    const reached = await incremental.step();
    expectExact(reached, 'instrument 0 moved again');
    // An update to an owed account is evaluated at the next step too.
    for (const b of [engine, twin]) moveMark(b, 0, -30_000);
    const again = await incremental.step();
    if (again.owed > 0) {
      const batch = (b: Engine) => applyBatch(b, [{ kind: 'deposit', accountIndex: 0, amountMicro: 1n }, { kind: 'withdraw', accountIndex: 1, amountMicro: 1n }]);
      batch(engine);
      batch(twin);
      expectExact(await incremental.step(), 'after updates');
    }
    expect(incremental.ready).toBe(true);
  });

  test('a new tier table queues every account holding its instrument, wherever the index keeps it: build entries, triggers, the hot book, the owed', async () => {
    const book = generatedBookToBook(generateBook({ profile: 'stress', accounts: 3_000, seed: 5, instruments: 8, nearMaintenanceShare: 0.3 }));
    const engine = Engine.fromBook(book);
    const twin = Engine.fromBook(book);
    const fallback = 40;
    // Calm steps evaluate whatever they reach (no sweep hides an account left out).
    const incremental = new IncrementalEvaluator(engine, { fallbackAccounts: fallback, calmAccounts: 100_000, drainLimit: 100_000, sweep: () => engine.sweep({ full: false }) });
    const expectExact = (result: { liquidatable: number }, where: string) => expectExactTwin(engine, twin, result, where);
    const retable = (i: number, factor: bigint) => {
      for (const b of [engine, twin]) {
        const tiers = b.instruments[i].tiers.map((tier) => ({ ...tier, ratePpm: tier.ratePpm * factor < 900_000n ? tier.ratePpm * factor : 900_000n }));
        expect(applyBatch(b, [{ kind: 'setTiers', instrument: b.instruments[i].symbol, tiers }]).applied).toBe(1);
      }
    };
    const move = (i: number, ppm: number) => {
      for (const b of [engine, twin]) moveMark(b, i, ppm);
    };
    expect((await incremental.step()).path).toBe('build');
    // Instrument 1's holders: build entries and the hot book.
    retable(1, 2n);
    const first = await incremental.step();
    expect(first.path).toBe('incremental');
    expect(first.evaluated).toBeGreaterThan(fallback);
    expectExact(first, 'a table of instrument 1 after the build');
    // A move past the fallback owes the accounts it reached; a tick of one price unit evaluates them
    // (triggers of their own); a move past the fallback again takes those triggers and owes them.
    move(0, -30_000);
    expect((await incremental.step()).path).toBe('sweep');
    move(0, 1);
    expect((await incremental.step()).owed).toBe(0);
    move(0, -30_000);
    const owing = await incremental.step();
    expect(owing.path).toBe('sweep');
    expect(owing.owed).toBeGreaterThan(fallback);
    // A table of instrument 0 now: some of its holders are owed and nowhere else, the rest hold
    // triggers, build entries or hot records. Each is evaluated by the next step, which is exact.
    retable(0, 4n);
    const retabled = await incremental.step();
    expect(retabled.path).toBe('incremental');
    expectExact(retabled, 'a table of instrument 0 while accounts holding it are owed');
    expect(retabled.owed).toBe(0);
    expect(retabled.changed?.length, 'the table changed statuses').toBeGreaterThan(0);
    // And a table of an instrument whose holders were re-evaluated since the build (triggers).
    move(2, 2_000);
    expectExact(await incremental.step(), 'a move of instrument 2');
    retable(2, 3n);
    const triggered = await incremental.step();
    expect(triggered.path).toBe('incremental');
    expectExact(triggered, 'a table of instrument 2');
    expect(incremental.ready).toBe(true);
  });

  test('a move past the fallback sweeps, and the index is rebuilt at the first calm step', async () => {
    const engine = Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 2_000, seed: 5, instruments: 8, nearMaintenanceShare: 0.3 })));
    let sweeps = 0;
    const incremental = new IncrementalEvaluator(engine, {
      fallbackAccounts: 50,
      sweep: () => {
        sweeps++;
        return engine.sweep({ full: false });
      },
    });
    await incremental.step();
    for (let i = 0; i < engine.instruments.length; i++) moveMark(engine, i, -50_000);
    expect((await incremental.step()).path).toBe('sweep');
    expect(sweeps).toBe(1);
    expect(incremental.stale).toBe('a fallback sweep');
    // Still moving fast: another sweep, not a build.
    for (let i = 0; i < engine.instruments.length; i++) moveMark(engine, i, -20_000);
    expect((await incremental.step()).path).toBe('sweep');
    moveMark(engine, 0, 100);
    expect((await incremental.step()).path).toBe('build');
    expect(incremental.ready).toBe(true);
  });
});
