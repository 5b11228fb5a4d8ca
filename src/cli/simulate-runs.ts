// `liq simulate --runs / --compare / --sweep` and `liq merge`: the same crash run several times on
// fresh copies of the book (src/sim/runs.ts), and what they write: summary.json with the
// percentiles or the comparison, runs.csv or comparison.csv, and shard.json (a Monte Carlo slice,
// which liq merge joins).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../engine/engine.js';
import { QUOTE_DECIMALS } from '../fixed/constants.js';
import { formatScaled, parseScaled } from '../fixed/decimal.js';
import { InputError } from '../io/errors.js';
import { escapeHidden } from '../io/one-line.js';
import { SweepPool } from '../pool/pool.js';
import type { RecordedTicks } from '../sim/paths.js';
import {
  BookCopies,
  fanOf,
  mergeShards,
  monteCarloSummary,
  percentile,
  sortedMetric,
  PERCENTILES,
  recordOf,
  RUN_METRICS,
  runSeed,
  runsCsv,
  runVariant,
  scaleMaintenance,
  shardDocument,
  shardRuns,
  switchAll,
  withParameter,
  withPolicy,
  type Experiment,
  type ModeSwitch,
  type RunRecord,
  type SweepParameter,
} from '../sim/runs.js';
import type { AdlPolicy, Scenario } from '../sim/scenario-types.js';
import type { SimulationResult } from '../sim/simulate.js';
import { renderReport, type ReportFan, type ReportInput } from '../sim/report.js';
import { makeOutputDirectory, writeOutputFile } from '../sim/output.js';
import { parseCommand } from './args.js';
import { MERGE_SPEC } from './commands.js';
import { EXIT_OK, printedHelp, writeChunks, type Io } from './main.js';
import { progressBar } from './progress.js';
import { count, wholeQuote } from './format.js';

export type ExperimentSpec =
  | { kind: 'runs'; runs: number; shard: number; shards: number }
  | { kind: 'compare'; what: 'modes' | 'adl' }
  | { kind: 'sweep'; parameter: SweepParameter; values: string[] };

export interface ExperimentContext {
  scenario: Scenario;
  seed: number;
  engine: Engine;
  recorded: RecordedTicks | undefined;
  threads: number | undefined;
  out: string;
  io: Io;
}

const quote = (micro: bigint) => formatScaled(micro, QUOTE_DECIMALS);

/** Runs the experiment and writes its files; returns what to print. */
export async function runExperiment(experiment: ExperimentSpec, context: ExperimentContext): Promise<string> {
  const copies = new BookCopies(context.engine);
  const pool = context.threads === 1 ? undefined : (engine: Engine) => SweepPool.open(engine, { threads: context.threads });
  switch (experiment.kind) {
    case 'runs':
      return monteCarlo(experiment, context, copies, pool);
    case 'compare':
      return compare(experiment.what, context, copies, pool);
    case 'sweep':
      return sweep(experiment.parameter, experiment.values, context, copies, pool);
  }
}

type PoolFactory = ((engine: Engine) => Promise<SweepPool>) | undefined;

/** The experiment's identity: what shards of it must share (the book's bytes and the scenario in a digest). */
export function experimentOf(scenario: Scenario, seed: number, runs: number, copies: BookCopies, engine: Engine): Experiment {
  const hash = createHash('sha256');
  hash.update(copies.bytes);
  hash.update(JSON.stringify(scenario, (_key, value) => (typeof value === 'bigint' ? value.toString() : value)));
  return {
    scenario: scenario.name,
    steps: scenario.steps,
    stepSeconds: scenario.stepSeconds,
    baseSeed: seed,
    runs,
    accounts: engine.accountCount,
    positions: engine.positionsUsed,
    digest: hash.digest('hex'),
  };
}

async function monteCarlo(experiment: Extract<ExperimentSpec, { kind: 'runs' }>, context: ExperimentContext, copies: BookCopies, pool: PoolFactory): Promise<string> {
  const { scenario, seed, engine, out, io } = context;
  const identity = experimentOf(scenario, seed, experiment.runs, copies, engine);
  const { from, to } = shardRuns(experiment.runs, experiment.shard, experiment.shards);
  const bar = progressBar(io.stderr, 'runs');
  const records: RunRecord[] = [];
  const started = performance.now();
  try {
    for (let run = from; run < to; run++) {
      const runSeedValue = runSeed(seed, run);
      const { result } = await runVariant(copies, scenario, runSeedValue, { pool, recorded: context.recorded });
      records.push(recordOf(run, runSeedValue, result));
      bar.update(run - from + 1, to - from);
    }
  } finally {
    bar.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  const files = writeMonteCarlo(out, identity, experiment.shard, experiment.shards, records);
  const whole = experiment.shards === 1;
  const head = `${escapeHidden(scenario.name)} Monte Carlo: ${whole ? `${count(experiment.runs)} runs` : `slice ${experiment.shard + 1}/${experiment.shards}, runs ${from} to ${to - 1} of ${count(experiment.runs)}`} (seeds ${seed + from} to ${seed + to - 1}) on ${count(engine.accountCount)} accounts`;
  return [
    head,
    ...(records.length === 0 ? ['  (no runs in this slice)'] : percentileLines(records)),
    `${seconds.toFixed(1)} s, ${(records.length / Math.max(seconds, 1e-9)).toFixed(2)} runs/s${whole ? '' : `; join the slices with liq merge`}`,
    `wrote ${files.map((f) => escapeHidden(f)).join(', ')}`,
  ].join('\n') + '\n';
}

/** Writes a Monte Carlo's files: shard.json and runs.csv always, summary.json when the runs are all there (one slice of one). */
export function writeMonteCarlo(out: string, identity: Experiment, shard: number, shards: number, records: readonly RunRecord[]): string[] {
  const files: string[] = [];
  const write = (name: string, text: string) => {
    const path = join(out, name);
    writeOutputFile(path, text);
    files.push(path);
  };
  if (shards === 1) write('summary.json', `${JSON.stringify(monteCarloSummary(identity, records), null, 2)}\n`);
  write('runs.csv', runsCsv(records));
  write('shard.json', `${JSON.stringify(shardDocument(identity, shard, shards, records))}\n`);
  if (shards === 1) write('report.html', renderReport(monteCarloReport(identity, records)));
  return files;
}

/** The report of a whole Monte Carlo: the percentiles' table and a fan a series. */
function monteCarloReport(identity: Experiment, records: readonly RunRecord[]): ReportInput {
  const seconds = Array.from({ length: identity.steps }, (_, t) => (t + 1) * identity.stepSeconds);
  const rows = percentileRows(records).map(({ name, values, max }) => [name, ...values, max]);
  const fans: ReportFan[] = [
    { title: 'Liquidated notional (cumulative)', unit: 'quote', seconds, bands: fanOf(records, 'liquidatedNotional', identity.steps) },
    { title: 'Insurance fund', unit: 'quote', seconds, bands: fanOf(records, 'fund', identity.steps) },
    { title: 'Bad debt (cumulative)', unit: 'quote', seconds, bands: fanOf(records, 'badDebt', identity.steps) },
  ];
  return experimentReport(`Monte Carlo: ${identity.scenario}`, `${count(records.length)} runs of the scenario, seeds ${identity.baseSeed} to ${identity.baseSeed + identity.runs - 1}.`, [
    ['Runs', count(records.length)],
    ['Book', `${count(identity.accounts)} accounts, ${count(identity.positions)} positions`],
    ['Steps', `${count(identity.steps)} of ${identity.stepSeconds} s`],
  ], [{ title: 'Over the runs', note: 'Percentiles by nearest rank; money in whole quote.', columns: ['', ...PERCENTILES.map((p) => `p${p}`), 'max'], rows }], fans);
}

/** A report of many runs: facts, tables and fans, no single run's charts. */
function experimentReport(title: string, description: string, facts: [string, string][], tables: ReportInput['tables'], fans: ReportFan[]): ReportInput {
  return { title, description, facts, seconds: [], prices: [], liquidations: { count: [], longNotional: [], shortNotional: [] }, fund: [], badDebt: [], adlNotional: [], tables, fans };
}

const METRIC_NAMES: Record<(typeof RUN_METRICS)[number], string> = {
  badDebt: 'bad debt',
  fundDraw: 'insurance fund draw',
  adlNotional: 'ADL notional',
  liquidatedNotional: 'liquidated notional',
  accountsLiquidated: 'accounts liquidated',
};

/** Each figure's percentiles and maximum over the runs, for people: accounts counted, money in whole quote. */
function percentileRows(records: readonly RunRecord[]): { name: string; values: string[]; max: string }[] {
  return RUN_METRICS.map((metric) => {
    const sorted = sortedMetric(records, metric);
    const show = (x: bigint) => (metric === 'accountsLiquidated' ? count(Number(x)) : wholeQuote(x));
    return { name: METRIC_NAMES[metric], values: PERCENTILES.map((p) => show(percentile(sorted, p))), max: show(sorted[sorted.length - 1]) };
  });
}

function percentileLines(records: readonly RunRecord[]): string[] {
  return [
    `  ${'over the runs'.padEnd(22)}${PERCENTILES.map((p) => `p${p}`.padStart(18)).join('')}`,
    ...percentileRows(records).map(({ name, values }) => `  ${name.padEnd(22)}${values.map((x) => x.padStart(18)).join('')}`),
  ];
}

/** A comparison's table: a row a variant. */
interface Table {
  columns: string[];
  rows: string[][];
}

const COMPARE_COLUMNS = [
  'accounts_liquidated',
  'scope_liquidations',
  'liquidated_notional',
  'collateral_lost',
  'collateral_lost_per_liquidated_account',
  'bad_debt',
  'fund_paid',
  'adl_notional',
  'adl_haircut',
  'adl_profit_closed',
  'adl_overshoot',
  'adl_accounts',
];

function figures(result: SimulationResult): string[] {
  const t = result.totals;
  return [
    String(t.accountsLiquidated),
    String(t.scopesLiquidated),
    quote(t.liquidatedNotionalMicro),
    quote(t.collateralLostMicro),
    t.accountsLiquidated === 0 ? '0' : quote(t.collateralLostMicro / BigInt(t.accountsLiquidated)),
    quote(t.badDebtMicro),
    quote(t.fundPaidMicro),
    quote(t.adlNotionalMicro),
    quote(t.adlHaircutMicro),
    quote(t.adlClosedProfitMicro),
    quote(t.adlClosedProfitMicro - t.adlHaircutMicro),
    String(t.adlAccounts),
  ];
}

async function compare(what: 'modes' | 'adl', context: ExperimentContext, copies: BookCopies, pool: PoolFactory): Promise<string> {
  const { scenario, seed } = context;
  const rows: string[][] = [];
  const notes: string[] = [];
  if (what === 'modes') {
    for (const mode of ['as-given', 'all-cross', 'all-isolated'] as const) {
      let switched: ModeSwitch = { switched: 0, kept: 0 };
      const prepare = mode === 'as-given' ? undefined : (engine: Engine) => void (switched = switchAll(engine, mode === 'all-cross' ? 'cross' : 'isolated'));
      const { result } = await runVariant(copies, scenario, seed, { prepare, pool, recorded: context.recorded });
      rows.push([mode, ...figures(result), String(switched.switched), String(switched.kept)]);
    }
    notes.push('positions_switched and positions_kept: what putting the book in one mode did (an account holding both modes of an instrument keeps both).');
    return writeComparison('modes', { columns: ['mode', ...COMPARE_COLUMNS, 'positions_switched', 'positions_kept'], rows }, context, notes);
  }
  for (const policy of ['queue', 'proRata', 'random'] as const satisfies readonly AdlPolicy[]) {
    const { result } = await runVariant(copies, withPolicy(scenario, policy), seed, { pool, recorded: context.recorded });
    rows.push([policy, ...figures(result)]);
  }
  return writeComparison('adl', { columns: ['adl_policy', ...COMPARE_COLUMNS], rows }, context, notes);
}

async function sweep(parameter: SweepParameter, values: string[], context: ExperimentContext, copies: BookCopies, pool: PoolFactory): Promise<string> {
  const rows: string[][] = [];
  for (const value of values) {
    const prepare = parameter === 'maintenanceMultiplier' ? (engine: Engine) => scaleMaintenance(engine, Number(value)) : undefined;
    const { result } = await runVariant(copies, withParameter(context.scenario, parameter, value), context.seed, { prepare, pool, recorded: context.recorded });
    rows.push([value, ...figures(result)]);
  }
  return writeComparison(`sweep of ${parameter}`, { columns: [parameter, ...COMPARE_COLUMNS], rows }, context, []);
}

function writeComparison(kind: string, table: Table, context: ExperimentContext, notes: string[]): string {
  const { scenario, seed, engine, out } = context;
  const summary = {
    version: 1,
    scenario: { name: scenario.name, steps: scenario.steps, stepSeconds: scenario.stepSeconds, seed },
    book: { accounts: engine.accountCount, positions: engine.positionsUsed, instruments: engine.instruments.length },
    comparison: { kind, columns: table.columns, rows: table.rows.map((row) => Object.fromEntries(table.columns.map((c, k) => [c, row[k]]))) },
  };
  const files = [join(out, 'summary.json'), join(out, 'comparison.csv'), join(out, 'report.html')];
  writeOutputFile(files[0], `${JSON.stringify(summary, null, 2)}\n`);
  writeOutputFile(files[1], [table.columns.join(','), ...table.rows.map((row) => row.join(','))].join('\n') + '\n');
  writeOutputFile(
    files[2],
    renderReport(
      experimentReport(
        `${kind}: ${scenario.name}`,
        `The same crash (seed ${seed}) each way, each on a fresh copy of the book.`,
        [['Book', `${count(engine.accountCount)} accounts, ${count(engine.positionsUsed)} positions`]],
        [transposed(kind, table, notes)],
        [],
      ),
    ),
  );
  // The terminal: the key columns, whole quote.
  const show =
    kind === 'adl'
      ? ['accounts_liquidated', 'bad_debt', 'fund_paid', 'adl_notional', 'adl_haircut', 'adl_profit_closed', 'adl_overshoot']
      : ['accounts_liquidated', 'liquidated_notional', 'collateral_lost_per_liquidated_account', 'bad_debt', 'fund_paid', 'adl_notional', 'adl_haircut'];
  const at = show.map((c) => table.columns.indexOf(c));
  const cell = (row: string[], k: number) => {
    const text = row[at[k]];
    return show[k] === 'accounts_liquidated' ? count(Number(text)) : wholeQuote((parseScaled(text, QUOTE_DECIMALS) as { value: bigint }).value);
  };
  const lines = [
    `${escapeHidden(scenario.name)}: ${kind} (seed ${seed}) on ${count(engine.accountCount)} accounts`,
    `  ${table.columns[0].padEnd(22)}${show.map((c) => c.replaceAll('_', ' ').replace('collateral lost per liquidated account', 'lost per account').padStart(22)).join('')}`,
    ...table.rows.map((row) => `  ${row[0].padEnd(22)}${show.map((_, k) => cell(row, k).padStart(22)).join('')}`),
    ...notes.map((note) => `  (${note})`),
    `wrote ${files.map((f) => escapeHidden(f)).join(', ')}`,
  ];
  return lines.join('\n') + '\n';
}

/** The comparison for people: a column a variant, a row a figure, money in whole quote. */
function transposed(kind: string, table: Table, notes: string[]): ReportInput['tables'][number] {
  const counts = new Set(['accounts_liquidated', 'scope_liquidations', 'adl_accounts', 'positions_switched', 'positions_kept']);
  const rows = table.columns.slice(1).map((column, k) => [
    column.replaceAll('_', ' '),
    ...table.rows.map((row) => (counts.has(column) ? count(Number(row[k + 1])) : wholeQuote((parseScaled(row[k + 1], QUOTE_DECIMALS) as { value: bigint }).value))),
  ]);
  return { title: kind, note: [...notes, 'Money in whole quote; comparison.csv has every figure to the micro.'].join(' '), columns: [table.columns[0], ...table.rows.map((row) => row[0])], rows };
}

/** Runs `liq merge` with the arguments after `merge`. */
export async function mergeCommand(argv: string[], io: Io): Promise<number> {
  const parsed = parseCommand(MERGE_SPEC, argv);
  if (await printedHelp(parsed, MERGE_SPEC, io)) return EXIT_OK;
  const out = parsed.values.out as string;
  const documents = parsed.lists['DIR...'].map((dir) => {
    const where = join(dir, 'shard.json');
    let text: string;
    try {
      text = readFileSync(where, 'utf8');
    } catch (error) {
      throw new InputError(`${where}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    try {
      return { where, document: JSON.parse(text) as unknown };
    } catch {
      throw new InputError(`${where}: is not valid JSON`);
    }
  });
  const { experiment, records } = mergeShards(documents);
  makeOutputDirectory(out);
  const files = writeMonteCarlo(out, experiment, 0, 1, records);
  await writeChunks(io.stdout, [
    [`${escapeHidden(experiment.scenario)} Monte Carlo: ${count(records.length)} runs from ${documents.length} slices on ${count(experiment.accounts)} accounts`, ...percentileLines(records), `wrote ${files.map((f) => escapeHidden(f)).join(', ')}`].join('\n') + '\n',
  ]);
  return EXIT_OK;
}
