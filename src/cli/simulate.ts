// `liq simulate`: a cascade on a book (src/sim/). Reads the scenario (the embedded October-2025 one
// by default), loads or generates the book, runs the steps on the worker pool with a bar on a
// terminal, writes summary.json, timeline.csv, events.csv and report.html, and prints a readable summary
// (--runs, --compare and --sweep: src/cli/simulate-runs.ts).
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBookColumnsFile, loadBookBinaryFile } from '../book/binary.js';
import type { Engine } from '../engine/engine.js';
import { formatScaled } from '../fixed/decimal.js';
import { generateBook } from '../gen/generate.js';
import { InputError, OutputError, systemMessage } from '../io/errors.js';
import { escapeHidden } from '../io/one-line.js';
import { SweepPool } from '../pool/pool.js';
import { EVENT_COLUMNS, eventLine, LineFile, makeOutputDirectory, summaryDocument, timelineHeader, timelineLine, writeOutputFile } from '../sim/output.js';
import { majorsOf, readRecordedTicks } from '../sim/paths.js';
import { checkScenarioSymbols, DEFAULT_SCENARIO_PATH, readScenarioFile, ScenarioError } from '../sim/scenario.js';
import type { BookGenerate, Scenario } from '../sim/scenario-types.js';
import { simulate, type SimulationResult } from '../sim/simulate.js';
import { renderReport, reportInputFromRun } from '../sim/report.js';
import { parseSweep } from '../sim/runs.js';
import { runExperiment, type ExperimentSpec } from './simulate-runs.js';
import { UsageError, parseCommand } from './args.js';
import { SIMULATE_SPEC } from './commands.js';
import { EXIT_OK, loadBook, printedHelp, writeChunks, type Io } from './main.js';
import { progressBar } from './progress.js';
import { count, wholeQuote } from './format.js';

interface SimulateValues {
  scenario: string | undefined;
  book: string | undefined;
  accounts: number | undefined;
  out: string;
  seed: number | undefined;
  threads: number | undefined;
  runs: number | undefined;
  shard: string | undefined;
  compare: string | undefined;
  sweep: string | undefined;
}

/** Which experiment the options ask for (checked before any book is loaded); null for one run. */
function experimentSpec(values: SimulateValues): ExperimentSpec | null {
  const asked = [values.runs !== undefined || values.shard !== undefined, values.compare !== undefined, values.sweep !== undefined].filter(Boolean).length;
  if (asked > 1) throw new UsageError('simulate', '--runs, --compare and --sweep are different experiments: give one of them');
  if (values.shard !== undefined && values.runs === undefined) throw new UsageError('simulate', '--shard I/N slices the runs of --runs: give --runs too');
  if (values.runs !== undefined) {
    let shard = 0;
    let shards = 1;
    if (values.shard !== undefined) {
      const match = /^([0-9]+)\/([0-9]+)$/.exec(values.shard);
      const [i, n] = match === null ? [NaN, NaN] : [Number(match[1]), Number(match[2])];
      if (!(Number.isSafeInteger(i) && Number.isSafeInteger(n) && i >= 1 && n >= 1 && i <= n && n <= values.runs)) {
        throw new UsageError('simulate', `--shard takes I/N with 1 ≤ I ≤ N ≤ the runs (${values.runs}), got ${JSON.stringify(values.shard)}`);
      }
      shard = i - 1;
      shards = n;
    }
    return { kind: 'runs', runs: values.runs, shard, shards };
  }
  if (values.compare !== undefined) {
    if (values.compare !== 'modes' && values.compare !== 'adl') throw new UsageError('simulate', `--compare takes modes or adl, got ${JSON.stringify(values.compare)}`);
    return { kind: 'compare', what: values.compare };
  }
  if (values.sweep !== undefined) {
    try {
      return { kind: 'sweep', ...parseSweep(values.sweep) };
    } catch (error) {
      throw new UsageError('simulate', (error as Error).message);
    }
  }
  return null;
}

/** Runs `liq simulate` with the arguments after `simulate`. Returns the exit code; throws what main reports. */
export async function simulateCommand(argv: string[], io: Io): Promise<number> {
  const parsed = parseCommand(SIMULATE_SPEC, argv);
  if (await printedHelp(parsed, SIMULATE_SPEC, io)) return EXIT_OK;
  const values = parsed.values as unknown as SimulateValues;
  const experiment = experimentSpec(values);
  const started = performance.now();
  const scenarioPath = values.scenario ?? DEFAULT_SCENARIO_PATH;
  const scenario = scenarioFrom(scenarioPath);
  if (values.accounts !== undefined && (values.book !== undefined || scenario.book === null || !('generate' in scenario.book))) {
    throw new UsageError('simulate', '--accounts applies only to a scenario that generates its book, with no --book');
  }
  const engine = await bookFor(scenario, values, io);
  checkScenarioSymbols(scenario, new Set(engine.instruments.map((instrument) => instrument.symbol)));
  const recorded = scenario.prices.recorded === null ? undefined : readRecordedTicks(scenario.prices.recorded.file);
  const seed = values.seed ?? scenario.seed;
  const positions = engine.positionsUsed;
  const out = values.out;
  makeOutputDirectory(out);
  if (experiment !== null) {
    await writeChunks(io.stdout, [await runExperiment(experiment, { scenario, seed, engine, recorded, threads: values.threads, out, io })]);
    return EXIT_OK;
  }
  const pool = await SweepPool.open(engine, { threads: values.threads });
  const threads = pool.threads;
  const timeline = new LineFile(join(out, 'timeline.csv'));
  const events = new LineFile(join(out, 'events.csv'));
  const bar = progressBar(io.stderr, 'simulating');
  let result: SimulationResult;
  const mask = majorsOf(scenario.prices, engine.instruments);
  const majors = engine.instruments.map((_, i) => i).filter((i) => mask[i] === 1);
  const runStarted = performance.now();
  try {
    timeline.write(timelineHeader(engine, majors));
    events.write(`${EVENT_COLUMNS.join(',')}\n`);
    result = await simulate({
      scenario,
      engine,
      pool,
      seed,
      recorded,
      onStep: (row) => {
        timeline.write(timelineLine(engine, majors, row));
        bar.update(row.step + 1, scenario.steps);
      },
      onEvent: (event) => events.write(eventLine(engine, event)),
    });
  } finally {
    bar.stop();
    timeline.close();
    events.close();
    await pool.close();
  }
  const runSeconds = (performance.now() - runStarted) / 1000;
  const summary = summaryDocument(scenario, seed, engine, positions, result);
  writeOutputFile(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  writeOutputFile(join(out, 'report.html'), renderReport(reportInputFromRun(result, summary, scenario, result.instruments)));
  await writeChunks(io.stdout, [summaryText(scenario, seed, engine, positions, threads, result, out, runSeconds, (performance.now() - started) / 1000)]);
  return EXIT_OK;
}

/** The scenario at `path`; an error inside it names the file first (one read or parse error does already). */
function scenarioFrom(path: string): Scenario {
  try {
    return readScenarioFile(path);
  } catch (error) {
    if (error instanceof ScenarioError && !error.message.startsWith(`${path}:`)) throw new InputError(`${path}: ${error.message}`);
    throw error;
  }
}

/** The book: --book, else the scenario's file, else generated as the scenario says (through a temporary binary file). */
async function bookFor(scenario: Scenario, values: SimulateValues, io: Io): Promise<Engine> {
  if (values.book !== undefined) return loadBook(values.book, io);
  const spec = scenario.book;
  if (spec === null) throw new UsageError('simulate', 'the scenario names no book: give one with --book FILE');
  if ('file' in spec) return loadBook(spec.file, io);
  const options: BookGenerate = values.accounts === undefined ? spec.generate : { ...spec.generate, accounts: values.accounts };
  const bar = progressBar(io.stderr, 'generating the book');
  const scratch = join(tmpdir(), `liq-simulate-${process.pid}`);
  try {
    const book = generateBook(options, (done, total) => bar.update(done, total));
    bar.stop();
    const file = join(scratch, 'book.bin');
    try {
      mkdirSync(scratch, { recursive: true });
      writeBookColumnsFile(file, book);
    } catch (error) {
      // The generated book goes through a temporary binary file (the loader's path): a full or
      // unwritable temporary directory is the machine's, said in one line.
      throw new OutputError(`${escapeHidden(file)}: cannot write the generated book: ${systemMessage(error)}`);
    }
    return loadBookBinaryFile(file, { hugePages: false });
  } finally {
    bar.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}


function summaryText(
  scenario: Scenario,
  seed: number,
  engine: Engine,
  positions: number,
  threads: number,
  result: SimulationResult,
  out: string,
  runSeconds: number,
  totalSeconds: number,
): string {
  const t = result.totals;
  const accounts = engine.accountCount;
  const share = (n: number) => (accounts === 0 ? '0' : ((100 * n) / accounts).toFixed(1));
  const lines = [
    `${escapeHidden(scenario.name)} (seed ${seed}): ${count(scenario.steps)} steps of ${scenario.stepSeconds} s on ${count(accounts)} accounts, ${count(positions)} positions, ${engine.instruments.length} instruments; ${threads} workers`,
    `  accounts liquidated    ${count(t.accountsLiquidated)} (${share(t.accountsLiquidated)}%), ${count(t.scopesLiquidated)} scope liquidations`,
    `  liquidated notional    ${wholeQuote(t.liquidatedNotionalMicro)}`,
    `  collateral lost        ${wholeQuote(t.collateralLostMicro)} (${t.accountsLiquidated === 0 ? '0' : wholeQuote(t.collateralLostMicro / BigInt(t.accountsLiquidated))} a liquidated account)`,
    `  fees to the fund       ${wholeQuote(t.feesMicro)}`,
    `  insurance fund         ${wholeQuote(t.fundStartMicro)} at the start, ${wholeQuote(t.fundEndMicro)} at the end, ${wholeQuote(t.fundPaidMicro)} paid out`,
    `  ADL                    ${wholeQuote(t.adlNotionalMicro)} closed (${scenario.adl.policy}), ${wholeQuote(t.adlHaircutMicro)} taken from ${count(t.adlAccounts)} winners, ${wholeQuote(t.adlClosedProfitMicro)} of their profit closed`,
    `  bad debt               ${wholeQuote(t.badDebtMicro)}`,
  ];
  const majors = result.instruments.filter((x) => x.major);
  for (const x of majors) {
    const move = (units: bigint) => `${(((Number(units) - Number(x.startUnits)) / Number(x.startUnits)) * 100).toFixed(1)}%`;
    lines.push(
      `  ${x.symbol.padEnd(22)} ${formatScaled(x.startUnits, x.priceDecimals)} → low ${formatScaled(x.lowUnits, x.priceDecimals)} (${move(x.lowUnits)}) → ${formatScaled(x.endUnits, x.priceDecimals)} (${move(x.endUnits)})`,
    );
  }
  const liquidationsPerSecond = runSeconds > 0 ? Math.round(t.scopesLiquidated / runSeconds) : 0;
  const paths = new Map<string, number>();
  for (const row of result.timeline) paths.set(row.path, (paths.get(row.path) ?? 0) + 1);
  lines.push(
    `  evaluation             ${[...paths].map(([path, n]) => `${count(n)} ${path}`).join(', ')} steps; ${count(result.timeline.reduce((n, row) => n + row.evaluated, 0))} accounts evaluated`,
  );
  lines.push(
    `${(scenario.steps / runSeconds).toFixed(1)} steps/s, ${count(liquidationsPerSecond)} liquidations/s; ${runSeconds.toFixed(1)} s simulating, ${totalSeconds.toFixed(1)} s in all`,
    `wrote ${['summary.json', 'timeline.csv', 'events.csv'].map((f) => escapeHidden(join(out, f))).join(', ')}`,
    `report: ${escapeHidden(join(out, 'report.html'))}`,
  );
  return lines.join('\n') + '\n';
}
