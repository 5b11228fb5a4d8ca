// Many runs of one crash: Monte Carlo slices that merge exactly, the margin-mode and ADL comparisons,
// parameter sweeps, and the rules each of them states.
import { describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../../src/engine/engine.js';
import { engineWith } from '../support/sim.js';
import { loadBookBinaryFile, writeBookColumnsFile } from '../../src/book/binary.js';
import { generateBook } from '../../src/gen/generate.js';
import { MODE_CROSS, MODE_ISOLATED } from '../../src/fixed/constants.js';
import { scenarioFromJsonValue } from '../../src/sim/scenario.js';
import {
  BookCopies,
  mergeShards,
  monteCarloSummary,
  parseSweep,
  percentile,
  recordOf,
  runSeed,
  runVariant,
  scaleMaintenance,
  shardDocument,
  shardRuns,
  switchAll,
  type Experiment,
  type RunRecord,
} from '../../src/sim/runs.js';

const M = 1_000_000n;


const crash = scenarioFromJsonValue({
  version: 1,
  steps: 30,
  stepSeconds: 30,
  prices: {
    majors: 5,
    shocks: [
      { instruments: 'majors', startStep: 2, steps: 15, move: -0.12, shape: 'exponential' },
      { instruments: 'alts', startStep: 2, steps: 8, move: { min: -0.5, max: -0.2 } },
    ],
    random: { volatility: { majors: 0.8, alts: 1.5 } },
  },
  insuranceFund: '2000',
});

function generatedEngine(accounts: number): Engine {
  const dir = mkdtempSync(join(tmpdir(), 'liq-runs-test-'));
  try {
    const file = join(dir, 'book.bin');
    writeBookColumnsFile(file, generateBook({ accounts, seed: 3 }));
    return loadBookBinaryFile(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the rules', () => {
  test('percentiles by nearest rank', () => {
    const values = [10n, 20n, 30n, 40n, 50n, 60n, 70n, 80n, 90n, 100n];
    expect(percentile(values, 50)).toBe(50n);
    expect(percentile(values, 95)).toBe(100n);
    expect(percentile(values, 10)).toBe(10n);
    expect(percentile(values, 11)).toBe(20n);
    expect(percentile([7n], 99)).toBe(7n);
    expect(() => percentile([], 50)).toThrow(/no values/);
  });

  test('slices cover every run once, in blocks', () => {
    for (const [runs, shards] of [[10, 3], [7, 7], [100, 6], [5, 1]]) {
      const seen: number[] = [];
      for (let i = 0; i < shards; i++) {
        const { from, to } = shardRuns(runs, i, shards);
        for (let r = from; r < to; r++) seen.push(r);
      }
      expect(seen).toEqual([...Array(runs).keys()]);
    }
    expect(runSeed(5, 3)).toBe(8);
    expect(() => runSeed(Number.MAX_SAFE_INTEGER, 1)).toThrow(/past 2\^53/);
  });

  test('--sweep values are checked, each parameter in its range', () => {
    expect(parseSweep('feeRate=0,0.005,0.01')).toEqual({ parameter: 'feeRate', values: ['0', '0.005', '0.01'] });
    expect(parseSweep('insuranceFund=0,1000.5')).toEqual({ parameter: 'insuranceFund', values: ['0', '1000.5'] });
    expect(() => parseSweep('leverage=1,2')).toThrow(/NAME one of maintenanceMultiplier, insuranceFund, feeRate, buffer, got "leverage"/);
    expect(() => parseSweep('feeRate=')).toThrow(/needs one or more values/);
    expect(() => parseSweep('feeRate=0.5')).toThrow(/feeRate: "0.5" must be a number from 0 to 0.1/);
    expect(() => parseSweep('maintenanceMultiplier=0')).toThrow(/must be a number above 0/);
    expect(() => parseSweep('insuranceFund=-1')).toThrow(/not an amount of quote/);
    expect(() => parseSweep('buffer=1e3')).toThrow(/buffer: "1e3"/);
  });
});

describe('a book in one margin mode', () => {
  test('to isolated: each cross position takes its initial margin from the wallet, or a share of a short wallet', () => {
    // rich: 0.04 BTC at 10x (IM 200) and 1 ETH at 5x (IM 500) on a wallet of 1,000: each takes its IM.
    // poor: the same on a wallet of 350: 350 shared 200:500, rounded down (100 and 250).
    const positions = [
      { instrument: 'BTC', size: '0.04', entryPrice: '50000', mode: 'cross', leverage: '10' },
      { instrument: 'ETH', size: '-1', entryPrice: '2500', mode: 'cross', leverage: '5' },
    ];
    const engine = engineWith([
      { id: 'rich', balance: '1000', positions },
      { id: 'poor', balance: '350', positions },
      { id: 'both', balance: '1000', positions: [positions[0], { instrument: 'BTC', size: '0.01', entryPrice: '50000', mode: 'isolated', margin: '50', leverage: '10' }] },
    ]);
    expect(switchAll(engine, 'isolated')).toEqual({ switched: 4, kept: 1 });
    const book = engine.toBook();
    expect(book.accounts[0].positions.map((p) => [p.mode, p.marginMicro])).toEqual([['isolated', 200n * M], ['isolated', 500n * M]]);
    expect(book.accounts[0].balanceMicro).toBe(300n * M);
    expect(book.accounts[1].positions.map((p) => p.marginMicro)).toEqual([100n * M, 250n * M]);
    expect(book.accounts[1].balanceMicro).toBe(0n);
    // An account already holding the isolated BTC keeps its cross one.
    expect(book.accounts[2].positions.map((p) => p.mode).sort()).toEqual(['cross', 'isolated']);
  });

  test('to cross: every isolated margin returns to the wallet', () => {
    const engine = engineWith([{ id: 'a', balance: '10', positions: [{ instrument: 'BTC', size: '0.04', entryPrice: '50000', mode: 'isolated', margin: '200', leverage: '10' }] }]);
    expect(switchAll(engine, 'cross')).toEqual({ switched: 1, kept: 0 });
    expect(engine.views.posMode[engine.views.accPosStart[0]]).toBe(MODE_CROSS);
    expect(engine.views.accBalance[0]).toBe(210n * M);
    expect(MODE_ISOLATED).not.toBe(MODE_CROSS);
  });

  test('a maintenance multiplier scales every rate and keeps the leverage caps', () => {
    const engine = engineWith([]);
    scaleMaintenance(engine, 2.5);
    expect(engine.instruments[0].tiers.map((t) => [t.ratePpm, t.leverageMax])).toEqual([
      [12_500n, 100],
      [25_000n, 20],
    ]);
    expect(() => scaleMaintenance(engine, 0)).toThrow(/above 0/);
  });
});

describe('runs on fresh copies of a generated book', () => {
  test('each run starts from the same book, and a run is the same again', async () => {
    const copies = new BookCopies(generatedEngine(2_000));
    const first = await runVariant(copies, crash, 11);
    const again = await runVariant(copies, crash, 11);
    const other = await runVariant(copies, crash, 12);
    expect(again.result.totals).toEqual(first.result.totals);
    expect(other.result.totals).not.toEqual(first.result.totals);
    expect(first.result.totals.scopesLiquidated).toBeGreaterThan(50);
  });

  test('Monte Carlo slices merge into the summary of all the runs; a slice missing, twice, or of another run is refused', async () => {
    const engine = generatedEngine(2_000);
    const copies = new BookCopies(engine);
    const runs = 5;
    const records: RunRecord[] = [];
    for (let r = 0; r < runs; r++) records.push(recordOf(r, runSeed(40, r), (await runVariant(copies, crash, runSeed(40, r))).result));
    const experiment: Experiment = { scenario: 'x', steps: crash.steps, stepSeconds: crash.stepSeconds, baseSeed: 40, runs, accounts: 2_000, positions: engine.positionsUsed, digest: 'd' };
    const slice = (i: number, n: number) => {
      const { from, to } = shardRuns(runs, i, n);
      return JSON.parse(JSON.stringify(shardDocument(experiment, i, n, records.slice(from, to)))) as unknown;
    };
    const merged = mergeShards([{ where: 'b', document: slice(1, 2) }, { where: 'a', document: slice(0, 2) }]);
    expect(JSON.stringify(monteCarloSummary(merged.experiment, merged.records))).toBe(JSON.stringify(monteCarloSummary(experiment, records)));
    expect(merged.records.map((r) => r.series.fund)).toEqual(records.map((r) => r.series.fund));
    expect(() => mergeShards([{ where: 'a', document: slice(0, 2) }])).toThrow(/shards missing: 2\/2/);
    expect(() => mergeShards([{ where: 'a', document: slice(0, 2) }, { where: 'b', document: slice(0, 2) }])).toThrow(/b: shard 1\/2 is also a/);
    const other = JSON.parse(JSON.stringify(shardDocument({ ...experiment, baseSeed: 41 }, 1, 2, records.slice(2)))) as unknown;
    expect(() => mergeShards([{ where: 'a', document: slice(0, 2) }, { where: 'c', document: other }])).toThrow(/c: another experiment/);
    expect(() => mergeShards([{ where: 'z', document: { version: 9 } }])).toThrow(/z: not a shard document of version 1/);
    const broken = slice(0, 1) as { runs: unknown[]; experiment: { runs: unknown } };
    broken.runs[2] = null;
    expect(() => mergeShards([{ where: 'y', document: broken }])).toThrow(/y: runs\[2\] is not an object/);
    broken.experiment.runs = 'five';
    expect(() => mergeShards([{ where: 'x', document: broken }])).toThrow(/x: experiment.runs and experiment.steps must be whole numbers/);
    const figures = slice(0, 1) as { runs: { metrics: Record<string, unknown> }[] };
    figures.runs[1].metrics.badDebt = 12;
    expect(() => mergeShards([{ where: 'w', document: figures }])).toThrow(/w: run 1 badDebt: must be a decimal string/);
  });

  test('margin modes go the way the seeds say: isolated liquidates more accounts, cross loses more of each', async () => {
    const copies = new BookCopies(generatedEngine(4_000));
    const run = async (to: 'cross' | 'isolated') => (await runVariant(copies, crash, 9, { prepare: (engine) => void switchAll(engine, to) })).result.totals;
    const cross = await run('cross');
    const isolated = await run('isolated');
    expect(isolated.accountsLiquidated).toBeGreaterThan(cross.accountsLiquidated);
    const perAccount = (t: typeof cross) => t.collateralLostMicro / BigInt(t.accountsLiquidated);
    expect(perAccount(cross)).toBeGreaterThan(perAccount(isolated));
  });
});
