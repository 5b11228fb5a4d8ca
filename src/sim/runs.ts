// Many runs of one crash (docs/simulator.md, Many runs): Monte Carlo over seeds, sliced into shards
// that merge into the summary one machine would write; comparisons of margin modes and ADL
// policies; sweeps of a risk parameter. Each run starts from a fresh copy of the book (a run
// changes its book); the copies are decoded from one encoding of it, so every run starts from the
// same bytes.
import { applyBatch } from '../account/batch.js';
import { initialMargin, type AnyOperation } from '../account/operations.js';
import { decodeBookBinary, encodeBookBinary } from '../book/binary.js';
import type { Tier } from '../book/model.js';
import type { Engine } from '../engine/engine.js';
import { MODE_CROSS, MODE_ISOLATED, QUOTE_DECIMALS, RATE_SCALE } from '../fixed/constants.js';
import { formatScaled, parseScaled } from '../fixed/decimal.js';
import type { SweepPool } from '../pool/pool.js';
import type { AdlPolicy, Scenario } from './scenario-types.js';
import { simulate, type SimulationResult } from './simulate.js';
import type { RecordedTicks } from './paths.js';

/** The version of shard.json's layout. */
export const SHARD_VERSION = 1;

/** The percentiles a Monte Carlo summary reports, and those its fans draw. */
export const PERCENTILES = [50, 95, 99] as const;
export const FAN_PERCENTILES = [5, 25, 50, 75, 95] as const;

/** The figures of a run a Monte Carlo reports, micro (accounts: a count). */
export const RUN_METRICS = ['badDebt', 'fundDraw', 'adlNotional', 'liquidatedNotional', 'accountsLiquidated'] as const;
export type RunMetric = (typeof RUN_METRICS)[number];

/** The per-step series a Monte Carlo keeps of each run, for its fans: cumulative, micro. */
export const RUN_SERIES = ['liquidatedNotional', 'fund', 'badDebt'] as const;
export type RunSeries = (typeof RUN_SERIES)[number];

/** A run figure as written in the files: accounts a whole number, money a decimal of quote. */
export function formatMetric(metric: RunMetric, value: bigint): string {
  return metric === 'accountsLiquidated' ? value.toString() : quote(value);
}

/** The decimals of a run figure's written form (formatMetric). */
function metricDecimals(metric: RunMetric): number {
  return metric === 'accountsLiquidated' ? 0 : QUOTE_DECIMALS;
}

/** Ascending order of bigints. */
function ascending(x: bigint, y: bigint): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A figure of every run, ascending: what percentiles are read from. */
export function sortedMetric(records: readonly RunRecord[], metric: RunMetric): bigint[] {
  return records.map((r) => r.metrics[metric]).sort(ascending);
}

export interface RunRecord {
  run: number;
  seed: number;
  metrics: Record<RunMetric, bigint>;
  series: Record<RunSeries, bigint[]>;
}

/** The seed of run r of a Monte Carlo with base seed `base`: base + r. */
export function runSeed(base: number, run: number): number {
  const seed = base + run;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`the seed of run ${run} (${base} + ${run}) is past 2^53 − 1`);
  return seed;
}

/** The runs of shard i of n (0-based) out of `runs`: the block [floor(runs·i/n), floor(runs·(i+1)/n)). */
export function shardRuns(runs: number, shard: number, shards: number): { from: number; to: number } {
  return { from: Math.floor((runs * shard) / shards), to: Math.floor((runs * (shard + 1)) / shards) };
}

/** The p-th percentile by nearest rank: the smallest value with at least p% of the values at or below it. */
export function percentile(sorted: readonly bigint[], p: number): bigint {
  if (sorted.length === 0) throw new RangeError('percentile of no values');
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function recordOf(run: number, seed: number, result: SimulationResult): RunRecord {
  const t = result.totals;
  let liquidated = 0n;
  let badDebt = 0n;
  const series: Record<RunSeries, bigint[]> = { liquidatedNotional: [], fund: [], badDebt: [] };
  for (const row of result.timeline) {
    liquidated += row.liquidatedLongMicro + row.liquidatedShortMicro;
    badDebt += row.badDebtMicro;
    series.liquidatedNotional.push(liquidated);
    series.fund.push(row.fundMicro);
    series.badDebt.push(badDebt);
  }
  return {
    run,
    seed,
    metrics: {
      badDebt: t.badDebtMicro,
      fundDraw: t.fundPaidMicro,
      adlNotional: t.adlNotionalMicro,
      liquidatedNotional: t.liquidatedNotionalMicro,
      accountsLiquidated: BigInt(t.accountsLiquidated),
    },
    series,
  };
}

/** What identifies a Monte Carlo experiment: shards merge only when these agree. */
export interface Experiment {
  scenario: string;
  steps: number;
  stepSeconds: number;
  baseSeed: number;
  runs: number;
  accounts: number;
  positions: number;
  /** A digest of the book's bytes and the scenario's normalized form. */
  digest: string;
}

export interface ShardDocument {
  version: number;
  experiment: Experiment;
  shard: { index: number; count: number };
  runs: { run: number; seed: number; metrics: Record<RunMetric, string>; series: Record<RunSeries, string[]> }[];
}

const quote = (micro: bigint) => formatScaled(micro, QUOTE_DECIMALS);

export function shardDocument(experiment: Experiment, index: number, count: number, records: readonly RunRecord[]): ShardDocument {
  return {
    version: SHARD_VERSION,
    experiment,
    shard: { index, count },
    runs: records.map((r) => ({
      run: r.run,
      seed: r.seed,
      metrics: Object.fromEntries(RUN_METRICS.map((m) => [m, formatMetric(m, r.metrics[m])])) as Record<RunMetric, string>,
      series: Object.fromEntries(RUN_SERIES.map((s) => [s, r.series[s].map(quote)])) as Record<RunSeries, string[]>,
    })),
  };
}

export class MergeError extends Error {
  override readonly name = 'MergeError';
}

/**
 * The runs of shard documents, checked and in run order: one experiment, every shard of it once,
 * every run once. `where` names each document in messages.
 */
export function mergeShards(documents: readonly { where: string; document: unknown }[]): { experiment: Experiment; records: RunRecord[] } {
  if (documents.length === 0) throw new MergeError('no shard to merge');
  let experiment: Experiment | null = null;
  let count = 0;
  const seen = new Map<number, string>();
  const records: RunRecord[] = [];
  for (const { where, document } of documents) {
    const doc = document as Partial<ShardDocument>;
    if (typeof doc !== 'object' || doc === null || doc.version !== SHARD_VERSION) {
      throw new MergeError(`${where}: not a shard document of version ${SHARD_VERSION}`);
    }
    if (!doc.experiment || !doc.shard || !Array.isArray(doc.runs)) throw new MergeError(`${where}: experiment, shard or runs missing`);
    const { runs, steps } = doc.experiment;
    if (!(Number.isSafeInteger(runs) && runs >= 1 && Number.isSafeInteger(steps) && steps >= 1)) {
      throw new MergeError(`${where}: experiment.runs and experiment.steps must be whole numbers of at least 1`);
    }
    if (experiment === null) {
      experiment = doc.experiment;
      count = doc.shard.count;
    } else if (JSON.stringify(doc.experiment) !== JSON.stringify(experiment) || doc.shard.count !== count) {
      throw new MergeError(`${where}: another experiment (scenario, seed, runs, book or shard count differ from ${documents[0].where})`);
    }
    const index = doc.shard.index;
    if (!(Number.isInteger(index) && index >= 0 && index < count)) throw new MergeError(`${where}: shard ${index} of ${count} is not a shard`);
    if (seen.has(index)) throw new MergeError(`${where}: shard ${index + 1}/${count} is also ${seen.get(index)}`);
    seen.set(index, where);
    const { from, to } = shardRuns(experiment.runs, index, count);
    if (doc.runs.length !== to - from) throw new MergeError(`${where}: shard ${index + 1}/${count} should hold runs ${from} to ${to - 1}, holds ${doc.runs.length}`);
    doc.runs.forEach((run, k) => {
      if (typeof run !== 'object' || run === null) throw new MergeError(`${where}: runs[${k}] is not an object`);
      if (run.run !== from + k) throw new MergeError(`${where}: runs[${k}] is run ${run.run}, expected ${from + k}`);
      records.push(parseRun(run, where, experiment!.steps));
    });
  }
  if (seen.size !== count) {
    const missing = [...Array(count).keys()].filter((i) => !seen.has(i)).map((i) => `${i + 1}/${count}`);
    throw new MergeError(`shards missing: ${missing.join(', ')}`);
  }
  records.sort((x, y) => x.run - y.run);
  return { experiment: experiment!, records };
}

function parseRun(run: ShardDocument['runs'][number], where: string, steps: number): RunRecord {
  const value = (text: unknown, what: string, decimals: number): bigint => {
    const parsed = parseScaled(text, decimals);
    if (!parsed.ok) throw new MergeError(`${where}: run ${run.run} ${what}: ${parsed.reason}`);
    return parsed.value;
  };
  const metrics = Object.fromEntries(RUN_METRICS.map((m) => [m, value(run.metrics?.[m], m, metricDecimals(m))])) as Record<RunMetric, bigint>;
  const series = Object.fromEntries(
    RUN_SERIES.map((s) => {
      const list = run.series?.[s];
      if (!Array.isArray(list) || list.length !== steps) throw new MergeError(`${where}: run ${run.run} series ${s} must hold ${steps} values`);
      return [s, list.map((x, t) => value(x, `${s}[${t}]`, QUOTE_DECIMALS))];
    }),
  ) as Record<RunSeries, bigint[]>;
  return { run: run.run, seed: run.seed, metrics, series };
}

/** The Monte Carlo part of summary.json: each metric's percentiles over the runs, from the records alone. */
export function monteCarloSummary(experiment: Experiment, records: readonly RunRecord[]): object {
  const percentiles: Record<string, Record<string, string>> = {};
  for (const metric of RUN_METRICS) {
    const sorted = sortedMetric(records, metric);
    const format = (x: bigint) => formatMetric(metric, x);
    percentiles[metric] = Object.fromEntries([...PERCENTILES.map((p) => [`p${p}`, format(percentile(sorted, p))]), ['max', format(sorted[sorted.length - 1])]]);
  }
  return { version: 1, experiment, monteCarlo: { runs: records.length, percentiles } };
}

/** Per step, the FAN_PERCENTILES of a series over the runs (quote, as numbers: for charts). */
export function fanOf(records: readonly RunRecord[], series: RunSeries, steps: number): Record<`p${(typeof FAN_PERCENTILES)[number]}`, number[]> {
  const out = Object.fromEntries(FAN_PERCENTILES.map((p) => [`p${p}`, [] as number[]])) as Record<`p${(typeof FAN_PERCENTILES)[number]}`, number[]>;
  for (let t = 0; t < steps; t++) {
    const sorted = records.map((r) => r.series[series][t]).sort(ascending);
    for (const p of FAN_PERCENTILES) out[`p${p}`].push(Number(percentile(sorted, p)) / 1e6);
  }
  return out;
}

/** runs.csv: a row a run. */
export function runsCsv(records: readonly RunRecord[]): string {
  const lines = [`run,seed,${RUN_METRICS.map((m) => m.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)).join(',')}`];
  for (const r of records) lines.push(`${r.run},${r.seed},${RUN_METRICS.map((m) => formatMetric(m, r.metrics[m])).join(',')}`);
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Variants of the book and the scenario

/** A fresh engine for each run, decoded from one encoding of the book. */
export class BookCopies {
  readonly bytes: Uint8Array;

  constructor(engine: Engine) {
    this.bytes = encodeBookBinary(engine);
  }

  engine(): Engine {
    return decodeBookBinary(this.bytes, { hugePages: false });
  }
}

export type ModeVariant = 'as-given' | 'all-cross' | 'all-isolated';

/** What putting a book in one margin mode did: positions switched, and those left (an account holding both modes of an instrument, or a wallet that could not fund a margin). */
export interface ModeSwitch {
  switched: number;
  kept: number;
}

/**
 * Puts every position of the book in one mode, through the engine's switchMode. To cross: each
 * isolated margin returns to the wallet. To isolated: each cross position takes its initial margin
 * from the wallet (notional at the mark over its leverage), or, when the wallet holds less than the
 * account's cross positions' initial margins together, the wallet shared in proportion to them
 * (rounded down; what is left stays in the wallet).
 */
export function switchAll(engine: Engine, to: 'cross' | 'isolated'): ModeSwitch {
  const v = engine.views;
  const operations: AnyOperation[] = [];
  for (let a = 0; a < engine.accountCount; a++) {
    const first = v.accPosStart[a];
    const end = first + v.accPosCount[a];
    if (to === 'cross') {
      for (let j = first; j < end; j++) {
        if (v.posMode[j] === MODE_ISOLATED) operations.push({ kind: 'switchMode', accountIndex: a, instrument: engine.instruments[v.posInst[j]].symbol, to: 'cross' });
      }
      continue;
    }
    const cross: number[] = [];
    let total = 0n;
    for (let j = first; j < end; j++) {
      if (v.posMode[j] !== MODE_CROSS) continue;
      cross.push(j);
      total += initialMargin(engine, j);
    }
    const wallet = v.accBalance[a] > 0n ? v.accBalance[a] : 0n;
    for (const j of cross) {
      const im = initialMargin(engine, j);
      const margin = wallet >= total ? im : total === 0n ? 0n : (wallet * im) / total;
      operations.push({ kind: 'switchMode', accountIndex: a, instrument: engine.instruments[v.posInst[j]].symbol, to: 'isolated', marginMicro: margin });
    }
  }
  const result = applyBatch(engine, operations);
  return { switched: result.applied, kept: result.refused };
}

/** Every instrument's maintenance rates times `factor` (each below 100%, rising as before); the leverage caps are kept. */
export function scaleMaintenance(engine: Engine, factor: number): void {
  if (!(factor > 0 && Number.isFinite(factor))) throw new RangeError(`the maintenance multiplier must be above 0, got ${factor}`);
  const operations: AnyOperation[] = engine.instruments.map((instrument) => ({
    kind: 'setTiers',
    instrument: instrument.symbol,
    tiers: instrument.tiers.map(
      (tier): Tier => ({ ...tier, ratePpm: clampRate(BigInt(Math.round(Number(tier.ratePpm) * factor))) }),
    ),
  }));
  const result = applyBatch(engine, operations);
  const refused = result.results.find((r) => !r.ok);
  if (refused && !refused.ok) throw new RangeError(`a maintenance multiplier of ${factor}: ${refused.reason}`);
}

function clampRate(rate: bigint): bigint {
  return rate < 1n ? 1n : rate >= RATE_SCALE ? RATE_SCALE - 1n : rate;
}

/** The parameters `--sweep` takes, and what each value does to the scenario or the book. */
export const SWEEP_PARAMETERS = ['maintenanceMultiplier', 'insuranceFund', 'feeRate', 'buffer'] as const;
export type SweepParameter = (typeof SWEEP_PARAMETERS)[number];

/** Parses `--sweep NAME=v1,v2,...`; throws a RangeError naming what is wrong. */
export function parseSweep(text: string): { parameter: SweepParameter; values: string[] } {
  const at = text.indexOf('=');
  const name = at < 0 ? text : text.slice(0, at);
  if (!(SWEEP_PARAMETERS as readonly string[]).includes(name)) {
    throw new RangeError(`--sweep takes NAME=v1,v2,... with NAME one of ${SWEEP_PARAMETERS.join(', ')}, got ${JSON.stringify(name)}`);
  }
  const values = at < 0 ? [] : text.slice(at + 1).split(',');
  if (values.length === 0 || values.some((x) => x === '')) throw new RangeError(`--sweep ${name}= needs one or more values, separated by commas`);
  if (values.length > 100) throw new RangeError(`--sweep takes at most 100 values, got ${values.length}`);
  for (const value of values) {
    if (name === 'insuranceFund') {
      const parsed = parseScaled(value, QUOTE_DECIMALS);
      if (!parsed.ok || parsed.value < 0n) throw new RangeError(`--sweep insuranceFund: ${JSON.stringify(value)} is not an amount of quote ≥ 0`);
    } else {
      const x = Number(value);
      const [lo, hi] = name === 'maintenanceMultiplier' ? [0, 100] : name === 'feeRate' ? [0, 0.1] : [0, 10];
      if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || !(x >= lo && x <= hi) || (name === 'maintenanceMultiplier' && x === 0)) {
        throw new RangeError(`--sweep ${name}: ${JSON.stringify(value)} must be a number ${name === 'maintenanceMultiplier' ? 'above' : 'from'} ${lo} to ${hi}`);
      }
    }
  }
  return { parameter: name as SweepParameter, values };
}

/** The scenario with one swept value in it (the maintenance multiplier changes the book instead: scaleMaintenance). */
export function withParameter(scenario: Scenario, parameter: SweepParameter, value: string): Scenario {
  switch (parameter) {
    case 'insuranceFund':
      return { ...scenario, insuranceFund: { micro: (parseScaled(value, QUOTE_DECIMALS) as { value: bigint }).value } };
    case 'feeRate':
      return { ...scenario, liquidation: { ...scenario.liquidation, feeRate: Number(value) } };
    case 'buffer':
      return { ...scenario, liquidation: { ...scenario.liquidation, buffer: Number(value) } };
    case 'maintenanceMultiplier':
      return scenario;
  }
}

export function withPolicy(scenario: Scenario, policy: AdlPolicy): Scenario {
  return { ...scenario, adl: { policy } };
}

/** One run of a variant on a fresh copy of the book; `prepare` changes the copy first. */
export async function runVariant(
  copies: BookCopies,
  scenario: Scenario,
  seed: number,
  options: { prepare?: (engine: Engine) => void; pool?: (engine: Engine) => Promise<SweepPool>; recorded?: RecordedTicks } = {},
): Promise<{ engine: Engine; result: SimulationResult }> {
  const engine = copies.engine();
  options.prepare?.(engine);
  const pool = options.pool ? await options.pool(engine) : undefined;
  try {
    const result = await simulate({ scenario, engine, seed, ...(pool ? { pool } : {}), ...(options.recorded ? { recorded: options.recorded } : {}) });
    return { engine, result };
  } finally {
    await pool?.close();
  }
}
