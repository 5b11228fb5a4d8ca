// The simulator's HTML report (docs/report.md): one self-contained file with uPlot's code and style
// inlined, the data embedded as JSON, and a small script that draws the charts from it. Nothing is
// fetched (a Content-Security-Policy forbids it), and the bytes depend only on the input: no
// timestamp, no path, nothing of the machine. ReportInput is plain data (numbers and display
// strings), so a Monte Carlo merge or a comparison can fill it as well as one run
// (reportInputFromRun).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Scenario } from './scenario-types.js';
import type { SummaryDocument } from './output.js';
import type { SimulationResult } from './simulate.js';

/** A major's prices, in quote: the exogenous path and the mark (the exogenous price moved by liquidation impact). */
export interface ReportPrices {
  symbol: string;
  exogenous: number[];
  mark: number[];
}

/** A table of display strings (a comparison, Monte Carlo statistics). */
export interface ReportTable {
  title: string;
  note?: string;
  columns: string[];
  rows: string[][];
}

/** Percentiles of one quantity across Monte Carlo runs, at each of `seconds`. */
export interface ReportFan {
  title: string;
  /** The y axis's unit, e.g. `quote`. */
  unit: string;
  seconds: number[];
  bands: { p5: number[]; p25: number[]; p50: number[]; p75: number[]; p95: number[] };
}

/**
 * What the report draws: plain data, independent of the engine. Every per-step array has one value
 * per entry of `seconds` (the end of each step). Money is in quote, as numbers.
 */
export interface ReportInput {
  title: string;
  description: string;
  /** Key figures as display strings: [label, value]. */
  facts: [string, string][];
  seconds: number[];
  prices: ReportPrices[];
  /** Per step: liquidations, and the notional closed on long and on short positions. */
  liquidations: { count: number[]; longNotional: number[]; shortNotional: number[] };
  /** The insurance fund's balance after each step. */
  fund: number[];
  /** Cumulative bad debt and ADL notional. */
  badDebt: number[];
  adlNotional: number[];
  tables: ReportTable[];
  fans: ReportFan[];
}

export class ReportError extends Error {
  override readonly name = 'ReportError';
}

// ---------------------------------------------------------------------------------------------
// From one run


/**
 * The report of one run: its timeline (money from micro to quote, prices from price units to quote,
 * bad debt and ADL notional cumulated), the scenario's name and description, and the summary's key
 * figures as facts. `symbols` lists every instrument of the book in the engine's order (the
 * timeline's price columns); the majors are drawn.
 */
export function reportInputFromRun(
  result: SimulationResult,
  summary: SummaryDocument,
  scenario: Scenario,
  symbols: { symbol: string; priceDecimals: number; major: boolean }[],
): ReportInput {
  const doc = summaryFields(summary);
  const timeline = result.timeline;
  for (const row of timeline) {
    if (row.exogenous.length !== symbols.length || row.marks.length !== symbols.length) {
      throw new ReportError(`step ${row.step}: ${row.marks.length} prices for ${symbols.length} symbols`);
    }
  }
  const quote = (micro: bigint) => Number(micro) / 1e6;
  const prices: ReportPrices[] = [];
  symbols.forEach((s, i) => {
    if (!s.major) return;
    const scale = 10 ** s.priceDecimals;
    prices.push({
      symbol: s.symbol,
      exogenous: timeline.map((row) => Number(row.exogenous[i]) / scale),
      mark: timeline.map((row) => Number(row.marks[i]) / scale),
    });
  });
  let badDebt = 0n;
  let adl = 0n;
  return {
    title: `Flash-crash cascade: ${scenario.name}`,
    description: scenario.description,
    facts: factsOf(doc),
    seconds: timeline.map((row) => row.seconds),
    prices,
    liquidations: {
      count: timeline.map((row) => row.scopesLiquidated),
      longNotional: timeline.map((row) => quote(row.liquidatedLongMicro)),
      shortNotional: timeline.map((row) => quote(row.liquidatedShortMicro)),
    },
    fund: timeline.map((row) => quote(row.fundMicro)),
    badDebt: timeline.map((row) => quote((badDebt += row.badDebtMicro))),
    adlNotional: timeline.map((row) => quote((adl += row.adlNotionalMicro))),
    tables: [],
    fans: [],
  };
}

/** The summary, checked to be one (a document read back from summary.json may be anything). */
function summaryFields(summary: SummaryDocument): SummaryDocument {
  const doc = summary as Partial<SummaryDocument>;
  if (
    typeof doc.totals?.liquidatedNotional !== 'string' ||
    typeof doc.scenario?.steps !== 'number' ||
    typeof doc.book?.accounts !== 'number' ||
    typeof doc.policy?.liquidation?.mode !== 'string' ||
    !Array.isArray(doc.instruments)
  ) {
    throw new ReportError('the summary is not a summary.json document (summaryDocument)');
  }
  return doc as SummaryDocument;
}

function factsOf(doc: SummaryDocument): [string, string][] {
  const t = doc.totals;
  const s = doc.scenario;
  const l = doc.policy.liquidation;
  const share = doc.book.accounts === 0 ? '0' : ((100 * t.accountsLiquidated) / doc.book.accounts).toFixed(1);
  const facts: [string, string][] = [
    ['Steps', `${count(s.steps)} of ${count(s.stepSeconds)} s (${durationText(s.steps * s.stepSeconds)}), seed ${s.seed}`],
    ['Book', `${count(doc.book.accounts)} accounts, ${count(doc.book.positions)} positions, ${count(doc.book.instruments)} instruments`],
    ['Liquidation', `${l.mode}${l.mode === 'partial' ? `, buffer ${percent(l.buffer)}` : ''}, fee ${percent(l.feeRate)}; ADL by ${doc.policy.adl}`],
    ['Accounts liquidated', `${count(t.accountsLiquidated)} (${share}% of the book), ${count(t.scopesLiquidated)} scope liquidations`],
    ['Liquidated notional', money(t.liquidatedNotional)],
    ['Collateral lost', `${money(t.collateralLost)} (${money(t.collateralLostPerLiquidatedAccount)} a liquidated account)`],
    ['Fees to the fund', money(t.fees)],
    ['Insurance fund', `${money(t.insuranceFundStart)} → ${money(t.insuranceFundEnd)} (${money(t.insuranceFundPaid)} paid out)`],
    ['Bad debt', money(t.badDebt)],
    [
      'ADL',
      `${money(t.adlNotional)} closed; ${money(t.adlHaircut)} taken from ${count(t.adlAccounts)} winners, ${money(t.adlClosedProfit)} of their profit closed`,
    ],
  ];
  for (const x of doc.instruments) {
    if (!x.major) continue;
    const move = (to: string) => {
      const from = Number(x.start);
      const change = from === 0 ? 0 : ((Number(to) - from) / from) * 100;
      return `${change > 0 ? '+' : ''}${change.toFixed(1)}%`;
    };
    facts.push([x.symbol, `${price(x.start)} → low ${price(x.low)} (${move(x.low)}) → ${price(x.end)} (${move(x.end)})`]);
  }
  return facts;
}

const count = (n: number) => n.toLocaleString('en-US');

function percent(share: number): string {
  return `${Number((share * 100).toPrecision(6))}%`;
}

/** 3600 → `1 h`, 90 → `1 min 30 s`. */
function durationText(seconds: number): string {
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of [['d', 86_400], ['h', 3_600], ['min', 60]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)} ${unit}`);
      rest %= size;
    }
  }
  if (rest > 0 || parts.length === 0) parts.push(`${Number(rest.toFixed(3))} s`);
  return parts.join(' ');
}

/** Digits with a comma every three: `1234567` → `1,234,567`. */
function grouped(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A decimal string (summary.json's money) rounded half away from zero to cents, grouped: `-1234.567` → `-1,234.57`. */
export function money(text: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (match === null) return text;
  const [, sign, whole, fraction = ''] = match;
  let cents: bigint;
  if (fraction.length <= 2) {
    cents = BigInt(whole + fraction.padEnd(2, '0'));
  } else {
    const drop = 10n ** BigInt(fraction.length - 2);
    const units = BigInt(whole + fraction);
    cents = units / drop + (2n * (units % drop) >= drop ? 1n : 0n);
  }
  const digits = cents.toString().padStart(3, '0');
  return `${cents === 0n ? '' : sign}${grouped(digits.slice(0, -2))}.${digits.slice(-2)}`;
}

/** A decimal price as written, its whole part grouped: `110000.5` → `110,000.5`. */
function price(text: string): string {
  const match = /^(-?)(\d+)(\.\d+)?$/.exec(text);
  return match === null ? text : `${match[1]}${grouped(match[2])}${match[3] ?? ''}`;
}

// ---------------------------------------------------------------------------------------------
// The page

/** HTML text: `&`, `<`, `>`, `"` and `'` as character references. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that no text inside can end the script element holding it (`<` as \u003c). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

let assets: { js: string; css: string } | null = null;

/** uPlot's minified script and style, from node_modules (read once). */
function uplotAssets(): { js: string; css: string } {
  if (assets === null) {
    const require = createRequire(import.meta.url);
    const js = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
    const css = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
    if (/<\/script|<!--/i.test(js) || /<\/style/i.test(css)) throw new ReportError('uPlot\'s code holds a sequence that would end its element');
    assets = { js, css };
  }
  return assets;
}

/**
 * The report as one HTML document: the header (title, description, facts), the charts (each
 * major's prices, liquidations per step, the insurance fund, cumulative bad debt and ADL, one fan
 * per Monte Carlo quantity), then the tables. Throws ReportError when a series's length differs
 * from its x axis, a number is not finite, or a table's row has the wrong number of cells: nothing
 * is cut or padded. The same input gives the same bytes.
 */
export function renderReport(input: ReportInput): string {
  const data = canonical(input);
  const { js, css } = uplotAssets();
  const parts: string[] = [];
  parts.push(
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">\n`,
    `<title>${escapeHtml(data.title)}</title>\n`,
    `<style>\n${css}\n</style>\n<style>\n${PAGE_CSS}</style>\n</head>\n<body>\n<main>\n`,
  );
  parts.push('<header>\n<p class="kicker">liq simulate · report</p>\n', `<h1>${escapeHtml(data.title)}</h1>\n`);
  if (data.description !== '') parts.push(`<p class="description">${escapeHtml(data.description)}</p>\n`);
  if (data.facts.length > 0) {
    parts.push('<dl class="facts">\n');
    for (const [label, value] of data.facts) parts.push(`<div><dt>${escapeHtml(label)}</dt><dd>${escapeHtml(value)}</dd></div>\n`);
    parts.push('</dl>\n');
  }
  parts.push('<p class="note">Money in quote currency. A legend shows the values at the last step, or at the step under the cursor; a click on an entry hides its series.</p>\n</header>\n');

  // A report of many runs (Monte Carlo, comparisons) has no single run's steps: only its tables and fans.
  if (data.seconds.length > 0) renderRun(data, parts);
  if (data.fans.length > 0) {
    parts.push('<section>\n<h2>Across the runs</h2>\n<p class="note">The median, the 25th–75th and the 5th–95th percentiles across Monte Carlo runs.</p>\n');
    data.fans.forEach((f, k) => parts.push(chartBox(`chart-fan-${k}`, f.title)));
    parts.push('</section>\n');
  }
  for (const table of data.tables) parts.push(tableHtml(table));
  parts.push('</main>\n');
  parts.push(`<script type="application/json" id="report-data">${scriptJson(data)}</script>\n`);
  parts.push(`<script>\n${js}\n</script>\n<script>\n${CLIENT_JS}</script>\n</body>\n</html>\n`);
  return parts.join('');
}

/** The sections of one run: the majors' prices, then the cascade (liquidations, the fund, bad debt and ADL). */
function renderRun(data: ReportInput, parts: string[]): void {
  parts.push('<section>\n<h2>Prices of the majors</h2>\n');
  parts.push('<p class="note">The exogenous price is the scenario\'s path; the mark is that price moved by the impact of liquidation orders.</p>\n');
  if (data.prices.length === 0) parts.push('<p class="empty">No majors in this run.</p>\n');
  else {
    parts.push('<div class="grid">\n');
    data.prices.forEach((p, k) => parts.push(chartBox(`chart-price-${k}`, p.symbol)));
    parts.push('</div>\n');
  }
  parts.push('</section>\n<section>\n<h2>The cascade</h2>\n');
  parts.push(chartBox('chart-liquidations', 'Liquidations per step', 'Liquidations (left axis) and the notional they closed on long and short positions (right axis).'));
  parts.push(chartBox('chart-fund', 'Insurance fund', 'The balance after each step: fees paid in, deficits paid out.'));
  const none = data.badDebt.every((v) => v === 0) && data.adlNotional.every((v) => v === 0) ? ' Both stayed at zero in this run.' : '';
  parts.push(
    chartBox('chart-losses', 'Bad debt and ADL', `Cumulative: losses neither collateral nor the fund covered, and notional closed against winners by auto-deleveraging.${none}`),
  );
  parts.push('</section>\n');
}

function chartBox(id: string, title: string, note?: string): string {
  const caption = note === undefined ? '' : `<p class="note">${escapeHtml(note)}</p>`;
  return `<figure class="chart-box"><figcaption><h3>${escapeHtml(title)}</h3>${caption}</figcaption><div class="chart" id="${id}"></div></figure>\n`;
}

/** A cell right-aligned when it reads as a number (with separators, a sign, a % or a unit suffix). */
const NUMERIC_CELL = /^[-+−]?[\d,]*\.?\d+(?:\s?(?:%|[kMBT]|x))?$/;

function tableHtml(table: ReportTable): string {
  const out: string[] = [`<section class="table">\n<h2>${escapeHtml(table.title)}</h2>\n`];
  if (table.note !== undefined && table.note !== '') out.push(`<p class="note">${escapeHtml(table.note)}</p>\n`);
  // A column of numbers (every cell after the first column numeric or empty) is right-aligned, its heading too.
  const numeric = table.columns.map((_, k) => k > 0 && table.rows.some((row) => row[k] !== '') && table.rows.every((row) => row[k] === '' || NUMERIC_CELL.test(row[k])));
  const cls = (k: number) => (numeric[k] ? ' class="num"' : '');
  out.push('<div class="scroll"><table>\n<thead><tr>');
  table.columns.forEach((column, k) => out.push(`<th scope="col"${cls(k)}>${escapeHtml(column)}</th>`));
  out.push('</tr></thead>\n<tbody>\n');
  for (const row of table.rows) {
    out.push('<tr>');
    row.forEach((cell, k) => out.push(k === 0 ? `<th scope="row">${escapeHtml(cell)}</th>` : `<td${cls(k)}>${escapeHtml(cell)}</td>`));
    out.push('</tr>\n');
  }
  if (table.rows.length === 0) out.push(`<tr><td colspan="${Math.max(1, table.columns.length)}" class="empty">No rows.</td></tr>\n`);
  out.push('</tbody>\n</table></div>\n</section>\n');
  return out.join('');
}

/** The input checked and rebuilt in a fixed key order (so that equal inputs give equal bytes), dropping any other property. */
function canonical(input: ReportInput): ReportInput {
  const steps = input.seconds.length;
  const series = (name: string, values: number[], length: number = steps): number[] => {
    if (!Array.isArray(values)) throw new ReportError(`${name} is not an array`);
    if (values.length !== length) throw new ReportError(`${name} has ${values.length} points for ${length} steps`);
    for (let k = 0; k < values.length; k++) {
      if (typeof values[k] !== 'number' || !Number.isFinite(values[k])) throw new ReportError(`${name}[${k}] is not a finite number: ${String(values[k])}`);
    }
    return values.slice();
  };
  const text = (name: string, value: string): string => {
    if (typeof value !== 'string') throw new ReportError(`${name} is not a string`);
    return value;
  };
  return {
    title: text('title', input.title),
    description: text('description', input.description),
    facts: input.facts.map(([label, value], k) => [text(`facts[${k}] label`, label), text(`facts[${k}] value`, value)]),
    seconds: series('seconds', input.seconds),
    prices: input.prices.map((p, k) => ({
      symbol: text(`prices[${k}].symbol`, p.symbol),
      exogenous: series(`prices[${k}].exogenous`, p.exogenous),
      mark: series(`prices[${k}].mark`, p.mark),
    })),
    liquidations: {
      count: series('liquidations.count', input.liquidations.count),
      longNotional: series('liquidations.longNotional', input.liquidations.longNotional),
      shortNotional: series('liquidations.shortNotional', input.liquidations.shortNotional),
    },
    fund: series('fund', input.fund),
    badDebt: series('badDebt', input.badDebt),
    adlNotional: series('adlNotional', input.adlNotional),
    tables: input.tables.map((t, k) => {
      const columns = t.columns.map((c, j) => text(`tables[${k}].columns[${j}]`, c));
      const rows = t.rows.map((row, r) => {
        if (row.length !== columns.length) throw new ReportError(`tables[${k}].rows[${r}] has ${row.length} cells for ${columns.length} columns`);
        return row.map((cell, j) => text(`tables[${k}].rows[${r}][${j}]`, cell));
      });
      return { title: text(`tables[${k}].title`, t.title), ...(t.note === undefined ? {} : { note: text(`tables[${k}].note`, t.note) }), columns, rows };
    }),
    fans: input.fans.map((f, k) => {
      const n = f.seconds.length;
      const band = (name: keyof ReportFan['bands']) => series(`fans[${k}].bands.${name}`, f.bands[name], n);
      return {
        title: text(`fans[${k}].title`, f.title),
        unit: text(`fans[${k}].unit`, f.unit),
        seconds: series(`fans[${k}].seconds`, f.seconds, n),
        bands: { p5: band('p5'), p25: band('p25'), p50: band('p50'), p75: band('p75'), p95: band('p95') },
      };
    }),
  };
}

const PAGE_CSS = `:root { color-scheme: light; }
body { margin: 0; background: #f6f7f9; color: #1d2330; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 24px 48px; }
h1 { font-size: 26px; line-height: 1.25; margin: 4px 0 8px; }
h2 { font-size: 19px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #d9dde4; }
h3 { font-size: 15px; margin: 0; }
.kicker { margin: 0; color: #5b6473; font-size: 13px; text-transform: uppercase; letter-spacing: 0.06em; }
.description { margin: 0 0 16px; max-width: 80ch; color: #333b4a; }
.note { margin: 2px 0 8px; color: #5b6473; font-size: 13px; }
.empty { color: #5b6473; font-style: italic; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); margin: 0 0 8px; background: #fff; border: 1px solid #d9dde4; border-radius: 6px; overflow: hidden; }
.facts div { padding: 8px 12px; box-shadow: 1px 0 0 #d9dde4, 0 1px 0 #d9dde4; }
.facts dt { color: #5b6473; font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; }
.facts dd { margin: 2px 0 0; font-variant-numeric: tabular-nums; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 16px; }
.chart-box { margin: 0 0 16px; padding: 12px 12px 4px; background: #fff; border: 1px solid #d9dde4; border-radius: 6px; min-width: 0; }
.grid .chart-box { margin: 0; }
.chart { min-width: 0; overflow: hidden; }
.chart .uplot { width: 100%; }
.chart .u-legend { font-size: 13px; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; background: #fff; border: 1px solid #d9dde4; border-radius: 6px; }
.scroll table { border-collapse: collapse; width: 100%; font-size: 14px; font-variant-numeric: tabular-nums; }
.scroll th, .scroll td { padding: 6px 12px; border-bottom: 1px solid #e6e9ee; text-align: left; vertical-align: top; }
.scroll thead th { background: #eef0f4; font-weight: 600; }
.scroll tbody th { font-weight: 500; }
.scroll .num { text-align: right; white-space: nowrap; }
.scroll tbody tr:last-child > * { border-bottom: 0; }
`;

/**
 * The page's script: draws every chart from the embedded JSON with uPlot. Exposes the plots as
 * `window.reportCharts` ([{ id, plot }]) and the time taken as `window.reportRenderMs`, and sets
 * `data-rendered` on <html> when done (scripts/check-report.mjs reads them).
 */
const CLIENT_JS = String.raw`(function () {
  'use strict';
  var started = performance.now();
  var input = JSON.parse(document.getElementById('report-data').textContent);
  var charts = [];
  var BLUE = '#1f5fbf', GREY = '#7c8594', RED = '#c0392b', GREEN = '#1e8c6e', ORANGE = '#d68910', INK = '#333b4a';
  var formats = {};
  // v with thousands separators and from min to max decimals (max defaults to min).
  function fixed(v, min, max) {
    min = Math.max(0, Math.min(10, min));
    max = max == null ? min : Math.max(min, Math.min(10, max));
    var key = min + ':' + max;
    var f = formats[key] || (formats[key] = new Intl.NumberFormat('en-US', { minimumFractionDigits: min, maximumFractionDigits: max }));
    return f.format(v);
  }
  // The decimals a step needs: 0.25 -> 2, 5 -> 0.
  function decimalsOf(step) {
    for (var d = 0; d < 10; d++) {
      var s = Math.abs(step) * Math.pow(10, d);
      if (Math.abs(s - Math.round(s)) < 1e-6 * Math.max(1, s)) return d;
    }
    return 10;
  }
  // A value for the legend: thousands separators, decimals by kind.
  function money(v) { return v == null ? '–' : fixed(v, 2); }
  function whole(v) { return v == null ? '–' : fixed(v, 0); }
  // Any quantity: whole numbers as they are, others to cents (or four significant digits below 1).
  function auto(v) { return v == null ? '–' : Number.isInteger(v) ? fixed(v, 0) : Math.abs(v) >= 1 ? fixed(v, 2) : priceText(v); }
  function priceText(v) {
    if (v == null) return '–';
    var a = Math.abs(v);
    if (a >= 1000) return fixed(v, 2);
    if (a >= 1) return fixed(v, 2, 4);
    return a === 0 ? '0' : fixed(v, 2, Math.min(10, 3 - Math.floor(Math.log10(a))));
  }
  function clock(s) {
    if (s == null) return '–';
    var sign = s < 0 ? '-' : '';
    s = Math.abs(s);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    var sec = (r < 10 ? '0' : '') + fixed(r, decimalsOf(r) > 3 ? 3 : decimalsOf(r));
    return sign + (h > 0 ? h + ':' + (m < 10 ? '0' : '') + m : String(m)) + ':' + sec;
  }
  // Tick labels: separators; above ten million, in M, B or T.
  function ticks(u, splits, axisIdx, space, incr) {
    var max = 0;
    for (var k = 0; k < splits.length; k++) if (splits[k] != null) max = Math.max(max, Math.abs(splits[k]));
    var div = 1, suffix = '';
    if (max >= 1e12) { div = 1e12; suffix = 'T'; } else if (max >= 1e9) { div = 1e9; suffix = 'B'; } else if (max >= 1e7) { div = 1e6; suffix = 'M'; }
    var d = decimalsOf(incr / div);
    return splits.map(function (v) { return v == null ? '' : fixed(v / div, d) + suffix; });
  }
  // The axis as wide as its longest label (uPlot's autosize demo).
  function axisSize(u, values, axisIdx, cycleNum) {
    var axis = u.axes[axisIdx];
    if (cycleNum > 1) return axis._size;
    var size = axis.ticks.size + axis.gap;
    var longest = (values || []).reduce(function (a, b) { return b.length > a.length ? b : a; }, '');
    if (longest !== '') {
      u.ctx.font = axis.font[0];
      size += u.ctx.measureText(longest).width / (window.devicePixelRatio || 1);
    }
    return Math.ceil(size) + 4;
  }
  // The time axis in a unit that suits the span: s, min, h or d.
  function timeAxis(seconds) {
    var span = seconds.length > 0 ? Math.max(Math.abs(seconds[0]), Math.abs(seconds[seconds.length - 1])) : 0;
    var unit = span <= 600 ? [1, 's'] : span <= 10800 ? [60, 'min'] : span <= 259200 ? [3600, 'h'] : [86400, 'd'];
    var incrs = [];
    for (var mag = 1e-3; mag <= 1e9; mag *= 10) [1, 2, 5].forEach(function (m) { incrs.push(m * mag * unit[0]); });
    [15, 30, 90, 180].forEach(function (m) { incrs.push(m * unit[0]); });
    incrs.sort(function (a, b) { return a - b; });
    return {
      label: 'time from the start (' + unit[1] + ')',
      incrs: incrs,
      values: function (u, splits, axisIdx, space, incr) {
        var d = decimalsOf(incr / unit[0]);
        return splits.map(function (v) { return fixed(v / unit[0], d); });
      },
      stroke: INK,
      grid: { stroke: '#eceef2' },
      ticks: { stroke: '#c9ced6' },
    };
  }
  function yAxis(label, scale, side) {
    return {
      scale: scale,
      label: label,
      side: side || 3,
      values: ticks,
      size: axisSize,
      stroke: INK,
      grid: { show: side !== 1, stroke: '#eceef2' },
      ticks: { stroke: '#c9ced6' },
    };
  }
  function fromZero(u, min, max) {
    if (!(max > 0)) return [0, 1];
    return uPlot.rangeNum(0, max, 0.1, true);
  }
  // A legend value: at the cursor's step, or at the last step when the cursor is off the chart.
  function legendValue(format) {
    return function (u, v, sidx, idx) {
      if (idx == null) {
        var d = u.data[sidx];
        v = d.length > 0 ? d[d.length - 1] : null;
      }
      return format(v);
    };
  }
  function line(label, color, value, extra) {
    var s = { label: label, stroke: color, width: 1.5, value: legendValue(value), points: { show: false } };
    for (var k in extra) s[k] = extra[k];
    return s;
  }
  function draw(id, height, options, data) {
    var box = document.getElementById(id);
    if (box === null) return;
    var width = Math.max(300, box.clientWidth);
    options.width = width;
    options.height = height;
    options.scales = options.scales || {};
    options.scales.x = { time: false };
    options.legend = { live: true };
    var plot = new uPlot(options, data, box);
    charts.push({ id: id, plot: plot });
    if (typeof ResizeObserver === 'function') {
      var last = width;
      new ResizeObserver(function () {
        var w = Math.max(300, box.clientWidth);
        if (Math.abs(w - last) >= 1) { last = w; plot.setSize({ width: w, height: height }); }
      }).observe(box);
    }
  }
  var x = input.seconds;
  var timeSeries = { label: 'time', value: legendValue(clock) };
  var sync = { key: 'timeline' };

  input.prices.forEach(function (p, k) {
    draw('chart-price-' + k, 230, {
      cursor: { sync: sync },
      series: [
        timeSeries,
        line('exogenous', GREY, priceText, { dash: [6, 4] }),
        line('mark', BLUE, priceText, { width: 2 }),
      ],
      axes: [timeAxis(x), yAxis('price (quote)', 'y')],
    }, [x, p.exogenous, p.mark]);
  });

  var bars = uPlot.paths.bars;
  var l = input.liquidations;
  draw('chart-liquidations', 280, {
    cursor: { sync: sync },
    scales: { count: { range: fromZero }, quote: { range: fromZero } },
    series: [
      timeSeries,
      line('liquidated long (notional)', RED, money, { scale: 'quote', width: 0, fill: 'rgba(192, 57, 43, 0.7)', paths: bars({ size: [0.45, 40], align: -1 }) }),
      line('liquidated short (notional)', GREEN, money, { scale: 'quote', width: 0, fill: 'rgba(30, 140, 110, 0.7)', paths: bars({ size: [0.45, 40], align: 1 }) }),
      line('liquidations (count)', INK, whole, { scale: 'count', width: 1.5 }),
    ],
    axes: [timeAxis(x), yAxis('liquidations (count)', 'count'), yAxis('notional (quote)', 'quote', 1)],
  }, [x, l.longNotional, l.shortNotional, l.count]);

  draw('chart-fund', 240, {
    cursor: { sync: sync },
    scales: { y: { range: fromZero } },
    series: [timeSeries, line('insurance fund', BLUE, money, { width: 2, fill: 'rgba(31, 95, 191, 0.10)' })],
    axes: [timeAxis(x), yAxis('balance (quote)', 'y')],
  }, [x, input.fund]);

  draw('chart-losses', 240, {
    cursor: { sync: sync },
    scales: { y: { range: fromZero } },
    series: [
      timeSeries,
      line('bad debt (cumulative)', RED, money, { width: 2 }),
      line('ADL notional (cumulative)', ORANGE, money, { width: 2 }),
    ],
    axes: [timeAxis(x), yAxis('cumulative (quote)', 'y')],
  }, [x, input.badDebt, input.adlNotional]);

  input.fans.forEach(function (f, k) {
    var b = f.bands;
    draw('chart-fan-' + k, 260, {
      cursor: { sync: { key: 'fans' } },
      series: [
        timeSeries,
        line('p5', 'rgba(31, 95, 191, 0.45)', auto, { width: 1, dash: [4, 3] }),
        line('p25', 'rgba(31, 95, 191, 0.6)', auto, { width: 1 }),
        line('median', BLUE, auto, { width: 2 }),
        line('p75', 'rgba(31, 95, 191, 0.6)', auto, { width: 1 }),
        line('p95', 'rgba(31, 95, 191, 0.45)', auto, { width: 1, dash: [4, 3] }),
      ],
      bands: [
        { series: [5, 1], fill: 'rgba(31, 95, 191, 0.10)' },
        { series: [4, 2], fill: 'rgba(31, 95, 191, 0.20)' },
      ],
      axes: [timeAxis(f.seconds), yAxis(f.unit, 'y')],
    }, [f.seconds, b.p5, b.p25, b.p50, b.p75, b.p95]);
  });

  window.reportCharts = charts;
  window.reportRenderMs = performance.now() - started;
  document.documentElement.setAttribute('data-rendered', String(charts.length));
})();
`;
