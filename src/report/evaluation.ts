// What `liq eval` prints: the JSON document of docs/design.md ("liq eval --json") and a table for people.
// Both are produced a chunk at a time, so a book of millions of accounts streams out.
import { formatScaled } from '../fixed/decimal.js';
import { MODE_ISOLATED, QUOTE_DECIMALS, STATUS_BANKRUPT, STATUS_HEALTHY, STATUS_NAMES } from '../fixed/constants.js';
import { notionalMicro } from '../book/model.js';
import type { Engine } from '../engine/engine.js';

/** Accounts per yielded chunk: large enough to amortise writes, small enough to bound memory. */
const ACCOUNTS_PER_CHUNK = 2_000;

export interface EvaluationSummary {
  accounts: number;
  /** Liquidatable scopes (cross pools and isolated positions), bankrupt ones included. */
  liquidatable: number;
  /** Bankrupt scopes. */
  bankrupt: number;
  /** Accounts with at least one liquidatable scope. */
  liquidatableAccounts: number;
}

const quote = (micro: bigint): string => formatScaled(micro, QUOTE_DECIMALS);

function priceText(engine: Engine, instrument: number, units: bigint): string | null {
  return units === 0n ? null : formatScaled(units, engine.instruments[instrument].priceDecimals);
}

/** Counts scopes by status over the figures the last evaluation wrote. */
export function summarize(engine: Engine): EvaluationSummary {
  const v = engine.views;
  const summary: EvaluationSummary = { accounts: engine.accountCount, liquidatable: 0, bankrupt: 0, liquidatableAccounts: 0 };
  for (let a = 0; a < engine.accountCount; a++) {
    let accountLiquidatable = v.accStatus[a] !== STATUS_HEALTHY;
    summary.liquidatable += Number(v.accStatus[a] !== STATUS_HEALTHY);
    summary.bankrupt += Number(v.accStatus[a] === STATUS_BANKRUPT);
    for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
      if (v.posMode[j] !== MODE_ISOLATED) continue;
      summary.liquidatable += Number(v.posStatus[j] !== STATUS_HEALTHY);
      summary.bankrupt += Number(v.posStatus[j] === STATUS_BANKRUPT);
      accountLiquidatable ||= v.posStatus[j] !== STATUS_HEALTHY;
    }
    summary.liquidatableAccounts += Number(accountLiquidatable);
  }
  return summary;
}

/**
 * Liquidation and bankruptcy prices of accounts [start, end), computed on demand by the core, and
 * where each account's pairs begin. Reports ask for them a chunk at a time.
 */
interface ChunkPrices {
  pairs: BigInt64Array;
  firstPair: Map<number, number>;
}

function chunkPrices(engine: Engine, start: number, end: number): ChunkPrices {
  const accounts = Uint32Array.from({ length: end - start }, (_, k) => start + k);
  const pairs = engine.prices(accounts).slice();
  const firstPair = new Map<number, number>();
  let next = 0;
  for (let a = start; a < end; a++) {
    firstPair.set(a, next);
    next += engine.views.accPosCount[a];
  }
  return { pairs, firstPair };
}

/** One account of the `liq eval --json` document (the figures the last evaluation wrote; its prices computed now). */
export function accountDocument(engine: Engine, a: number): object {
  return accountJson(engine, a, chunkPrices(engine, a, a + 1));
}

function accountJson(engine: Engine, a: number, prices: ChunkPrices): object {
  const v = engine.views;
  const positions: object[] = [];
  let pair = prices.firstPair.get(a)!;
  for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++, pair++) {
    const i = v.posInst[j];
    const instrument = engine.instruments[i];
    const isolated = v.posMode[j] === MODE_ISOLATED;
    const size = v.posSize[j];
    const notional = notionalMicro(size, v.instQ[i], v.instDiv[i], v.instMark[i]);
    positions.push({
      instrument: instrument.symbol,
      mode: isolated ? 'isolated' : 'cross',
      size: formatScaled(size, instrument.sizeDecimals),
      notional: quote(notional),
      leverage: String(v.posLeverage[j]),
      unrealizedPnl: quote(v.posPnl[j]),
      maintenance: quote(v.posMaint[j]),
      ...(isolated
        ? { margin: quote(v.posMargin[j]), equity: quote(v.posMargin[j] + v.posPnl[j]), status: STATUS_NAMES[v.posStatus[j]] }
        : {}),
      liquidationPrice: priceText(engine, i, prices.pairs[2 * pair]),
      bankruptcyPrice: priceText(engine, i, prices.pairs[2 * pair + 1]),
    });
  }
  return {
    id: engine.accountIds.get(a),
    balance: quote(v.accBalance[a]),
    cross: { equity: quote(v.accCrossEquity[a]), maintenance: quote(v.accCrossMaint[a]), status: STATUS_NAMES[v.accStatus[a]] },
    positions,
  };
}

/** The `liq eval --json` document, in chunks that concatenate to one JSON text (2-space indented). */
export function* evaluationJson(engine: Engine): Generator<string> {
  yield '{\n  "accounts": [';
  for (let start = 0; start < engine.accountCount; start += ACCOUNTS_PER_CHUNK) {
    const end = Math.min(engine.accountCount, start + ACCOUNTS_PER_CHUNK);
    const parts: string[] = [];
    const prices = chunkPrices(engine, start, end);
    for (let a = start; a < end; a++) {
      const text = JSON.stringify(accountJson(engine, a, prices), null, 2).replace(/\n/g, '\n    ');
      parts.push(`${a === 0 ? '' : ','}\n    ${text}`);
    }
    yield parts.join('');
  }
  const summary = JSON.stringify(summarize(engine), null, 2).replace(/\n/g, '\n  ');
  yield `${engine.accountCount === 0 ? '' : '\n  '}],\n  "summary": ${summary}\n}\n`;
}

const TABLE_HEADER = ['account', 'scope', 'size', 'equity', 'maintenance', 'status', 'uPnL', 'liq price', 'bk price'];
const RIGHT_ALIGNED = new Set([2, 3, 4, 6, 7, 8]);

/** Rows for one account: its cross pool, then each position (isolated ones with their scope). */
function accountRows(engine: Engine, a: number, prices: ChunkPrices): string[][] {
  const v = engine.views;
  const hasCross = (() => {
    for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) if (v.posMode[j] !== MODE_ISOLATED) return true;
    return false;
  })();
  const rows: string[][] = [
    [
      engine.accountIds.get(a),
      'cross pool',
      '',
      quote(v.accCrossEquity[a]),
      quote(v.accCrossMaint[a]),
      hasCross || v.accStatus[a] !== STATUS_HEALTHY ? STATUS_NAMES[v.accStatus[a]] : 'no positions',
      '',
      '',
      '',
    ],
  ];
  let pair = prices.firstPair.get(a)!;
  for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++, pair++) {
    const i = v.posInst[j];
    const instrument = engine.instruments[i];
    const isolated = v.posMode[j] === MODE_ISOLATED;
    rows.push([
      '',
      `${instrument.symbol} ${isolated ? 'isolated' : 'cross'}`,
      formatScaled(v.posSize[j], instrument.sizeDecimals),
      isolated ? quote(v.posMargin[j] + v.posPnl[j]) : '',
      quote(v.posMaint[j]),
      isolated ? STATUS_NAMES[v.posStatus[j]] : '',
      quote(v.posPnl[j]),
      priceText(engine, i, prices.pairs[2 * pair]) ?? '-',
      priceText(engine, i, prices.pairs[2 * pair + 1]) ?? '-',
    ]);
  }
  return rows;
}

function renderRows(rows: string[][], widths: number[]): string {
  return rows
    .map((row) =>
      row
        .map((cell, c) => (RIGHT_ALIGNED.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The table, in chunks of lines. Column widths are fitted per chunk of accounts. */
export function* evaluationTable(engine: Engine): Generator<string> {
  for (let start = 0; start < Math.max(engine.accountCount, 1); start += ACCOUNTS_PER_CHUNK) {
    const end = Math.min(engine.accountCount, start + ACCOUNTS_PER_CHUNK);
    const rows: string[][] = start === 0 ? [TABLE_HEADER] : [];
    const prices = chunkPrices(engine, start, end);
    for (let a = start; a < end; a++) rows.push(...accountRows(engine, a, prices));
    const widths = TABLE_HEADER.map((_, c) => Math.max(...rows.map((row) => row[c].length)));
    yield `${renderRows(rows, widths)}\n`;
  }
  const s = summarize(engine);
  yield `\n${s.accounts} accounts: ${s.liquidatable} liquidatable scopes (${s.bankrupt} bankrupt) in ${s.liquidatableAccounts} accounts\n`;
}
