// What a simulation writes (docs/simulator.md, Output): summary.json, timeline.csv (a row a step)
// and events.csv (every liquidation, fill, fee, fund payment, ADL fill and bad debt). Money is
// written as exact decimal quote, prices in quote at the instrument's decimals: a CSV that pandas,
// polars and DuckDB read as it is. The files depend only on the scenario, the book and the seed,
// never on the machine, the worker count or the time taken, so that runs compare byte for byte: how
// each step was evaluated (incremental or a sweep, which the evaluator decides from the times it
// measures) is left out of them.
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { OutputError, systemMessage } from '../io/errors.js';
import { escapeHidden } from '../io/one-line.js';
import { QUOTE_DECIMALS } from '../fixed/constants.js';
import { formatScaled } from '../fixed/decimal.js';
import type { Engine } from '../engine/engine.js';
import type { AdlPolicy, LiquidationPolicy, Scenario } from './scenario-types.js';
import type { SimEvent, SimulationResult, TimelineRow } from './simulate.js';

/** The version of summary.json's layout. */
export const SUMMARY_VERSION = 1;

const quote = (micro: bigint) => formatScaled(micro, QUOTE_DECIMALS);

/** The columns of timeline.csv before the per-major price columns. */
export const TIMELINE_COLUMNS = [
  'step',
  'seconds',
  'failing_scopes',
  'scopes_liquidated',
  'accounts_liquidated',
  'liquidated_long',
  'liquidated_short',
  'fees',
  'fund',
  'fund_paid',
  'bad_debt',
  'adl_notional',
  'adl_haircut',
] as const;

/** The header of timeline.csv: the columns, then `<symbol>_exogenous` and `<symbol>_mark` for each major. */
export function timelineHeader(engine: Engine, majors: readonly number[]): string {
  const prices = majors.flatMap((i) => [`${engine.instruments[i].symbol}_exogenous`, `${engine.instruments[i].symbol}_mark`]);
  return [...TIMELINE_COLUMNS, ...prices].join(',') + '\n';
}

/** One line of timeline.csv. */
export function timelineLine(engine: Engine, majors: readonly number[], row: TimelineRow): string {
  const price = (i: number, units: bigint) => formatScaled(units, engine.instruments[i].priceDecimals);
  const cells: (string | number)[] = [
    row.step,
    row.seconds,
    row.failingScopes,
    row.scopesLiquidated,
    row.accountsLiquidated,
    quote(row.liquidatedLongMicro),
    quote(row.liquidatedShortMicro),
    quote(row.feesMicro),
    quote(row.fundMicro),
    quote(row.fundPaidMicro),
    quote(row.badDebtMicro),
    quote(row.adlNotionalMicro),
    quote(row.adlHaircutMicro),
  ];
  for (const i of majors) cells.push(price(i, row.exogenous[i]), price(i, row.marks[i]));
  return cells.join(',') + '\n';
}

export const EVENT_COLUMNS = ['step', 'kind', 'account', 'instrument', 'mode', 'size', 'price', 'amount'] as const;

/** One line of events.csv: sizes and prices in base and quote at the instrument's decimals; empty where they do not apply. */
export function eventLine(engine: Engine, event: SimEvent): string {
  const instrument = event.instrument >= 0 ? engine.instruments[event.instrument] : null;
  const fill = event.kind === 'fill' || event.kind === 'adl-fill' || event.kind === 'adl-counterparty';
  const size = fill && instrument !== null ? formatScaled(event.sizeUnits, instrument.sizeDecimals) : event.kind === 'liquidation' ? statusName(event.sizeUnits) : '';
  const price = fill && instrument !== null ? formatScaled(event.priceUnits, instrument.priceDecimals) : '';
  const amount = fill && event.kind !== 'adl-counterparty' ? '' : quote(event.amountMicro);
  return `${event.step},${event.kind},${csvText(engine.accountIds.get(event.account))},${instrument === null ? '' : csvText(instrument.symbol)},${event.mode},${size},${price},${amount}\n`;
}

function statusName(code: bigint): string {
  return code === 2n ? 'bankrupt' : 'liquidatable';
}

/** A text cell: quoted when it holds a comma, a quote or a line break (RFC 4180). */
function csvText(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The error a failed write of an output file is reported as (exit 1): the path, then the system's reason. */
function cannotWrite(path: string, error: unknown): OutputError {
  return new OutputError(`${escapeHidden(path)}: cannot write: ${systemMessage(error)}`);
}

/** Creates the output directory (and its parents); an error names it. */
export function makeOutputDirectory(path: string): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (error) {
    throw new OutputError(`${escapeHidden(path)}: cannot create the directory: ${systemMessage(error)}`);
  }
}

/** Writes a whole output file; an error names it. */
export function writeOutputFile(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw cannotWrite(path, error);
  }
}

/** A file written line by line through a buffer: for the event log, which may run to millions of lines. An error names the file. */
export class LineFile {
  private readonly fd: number;
  private buffer = '';

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'w');
    } catch (error) {
      throw cannotWrite(path, error);
    }
  }

  write(text: string): void {
    this.buffer += text;
    if (this.buffer.length >= 1 << 20) this.flush();
  }

  flush(): void {
    try {
      if (this.buffer.length > 0) writeSync(this.fd, this.buffer);
    } catch (error) {
      throw cannotWrite(this.path, error);
    }
    this.buffer = '';
  }

  close(): void {
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
    }
  }
}

/** summary.json of one run (SUMMARY_VERSION): money as decimal strings of quote, prices at each instrument's decimals. */
export interface SummaryDocument {
  version: number;
  scenario: { name: string; steps: number; stepSeconds: number; seed: number };
  policy: { liquidation: LiquidationPolicy; adl: AdlPolicy };
  book: { accounts: number; positions: number; instruments: number };
  totals: {
    accountsLiquidated: number;
    scopesLiquidated: number;
    liquidatedNotional: string;
    fees: string;
    insuranceFundStart: string;
    insuranceFundEnd: string;
    insuranceFundPaid: string;
    badDebt: string;
    adlNotional: string;
    adlHaircut: string;
    adlClosedProfit: string;
    adlOvershoot: string;
    adlAccounts: number;
    collateralLost: string;
    collateralLostPerLiquidatedAccount: string;
  };
  instruments: { symbol: string; major: boolean; start: string; low: string; end: string }[];
}

/** summary.json's document: the scenario run, the book, the totals and each instrument's path. */
export function summaryDocument(scenario: Scenario, seed: number, engine: Engine, positions: number, result: SimulationResult): SummaryDocument {
  const t = result.totals;
  return {
    version: SUMMARY_VERSION,
    scenario: { name: scenario.name, steps: scenario.steps, stepSeconds: scenario.stepSeconds, seed },
    policy: { liquidation: scenario.liquidation, adl: scenario.adl.policy },
    book: { accounts: engine.accountCount, positions, instruments: engine.instruments.length },
    totals: {
      accountsLiquidated: t.accountsLiquidated,
      scopesLiquidated: t.scopesLiquidated,
      liquidatedNotional: quote(t.liquidatedNotionalMicro),
      fees: quote(t.feesMicro),
      insuranceFundStart: quote(t.fundStartMicro),
      insuranceFundEnd: quote(t.fundEndMicro),
      insuranceFundPaid: quote(t.fundPaidMicro),
      badDebt: quote(t.badDebtMicro),
      adlNotional: quote(t.adlNotionalMicro),
      adlHaircut: quote(t.adlHaircutMicro),
      adlClosedProfit: quote(t.adlClosedProfitMicro),
      adlOvershoot: quote(t.adlClosedProfitMicro - t.adlHaircutMicro),
      adlAccounts: t.adlAccounts,
      collateralLost: quote(t.collateralLostMicro),
      collateralLostPerLiquidatedAccount: t.accountsLiquidated === 0 ? '0' : quote(t.collateralLostMicro / BigInt(t.accountsLiquidated)),
    },
    instruments: result.instruments.map((x) => ({
      symbol: x.symbol,
      major: x.major,
      start: formatScaled(x.startUnits, x.priceDecimals),
      low: formatScaled(x.lowUnits, x.priceDecimals),
      end: formatScaled(x.endUnits, x.priceDecimals),
    })),
  };
}
