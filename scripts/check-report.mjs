#!/usr/bin/env node
// The HTML report in a real browser (docs/report.md): an opt-in check, not part of `npm test`.
// Needs the compiled code (`npm run build:ts`) and Chromium at /usr/bin/chromium (Debian:
// `apt-get install -y chromium`).
//
//   node scripts/check-report.mjs [PNG [SYNTHETIC_PNG]]   (npm run report:check [PNG]; default docs/report.png)
//
// Runs the default scenario on a generated book of 20,000 accounts through dist/, renders
// report.html, and opens it from a file:// URL with every other request aborted: fails if any
// request was attempted, on any console error or page error, when a chart is missing, holds no
// data or drew nothing in colour on its canvas. Then the same for a synthetic report of 1,000 steps
// × 5 majors with a fan and a table (the size the report must draw fast). Writes a full-page
// screenshot of the first to PNG (and of the second to SYNTHETIC_PNG, when given). Exits 1 with a
// one-line reason on the first failure.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = '/usr/bin/chromium';
const ACCOUNTS = 20_000;
/** Rendering budget of the 1,000-step report in the browser (the charts alone, not the page load). */
const RENDER_BUDGET_MS = 2_000;

class CheckFailure extends Error {}

function fail(reason) {
  throw new CheckFailure(reason);
}

async function importDist(path) {
  const file = join(ROOT, 'dist', path);
  if (!existsSync(file)) fail(`${join('dist', path)} not found: run npm run build:ts first`);
  return import(pathToFileURL(file).href);
}

/** The default scenario on a generated book of ACCOUNTS accounts, as report.html. */
async function runReport() {
  const { generateBook } = await importDist('src/gen/generate.js');
  const { writeBookColumnsFile, loadBookBinaryFile } = await importDist('src/book/binary.js');
  const { DEFAULT_SCENARIO_PATH, readScenarioFile, checkScenarioSymbols } = await importDist('src/sim/scenario.js');
  const { simulate } = await importDist('src/sim/simulate.js');
  const { summaryDocument } = await importDist('src/sim/output.js');
  const { reportInputFromRun, renderReport } = await importDist('src/sim/report.js');
  const scenario = readScenarioFile(DEFAULT_SCENARIO_PATH);
  const spec = scenario.book;
  if (spec === null || !('generate' in spec)) fail(`${DEFAULT_SCENARIO_PATH}: the default scenario does not generate its book`);
  const scratch = mkdtempSync(join(tmpdir(), 'liq-report-check-'));
  try {
    const bookFile = join(scratch, 'book.bin');
    writeBookColumnsFile(bookFile, generateBook({ ...spec.generate, accounts: ACCOUNTS }));
    const engine = loadBookBinaryFile(bookFile, { hugePages: false });
    checkScenarioSymbols(scenario, new Set(engine.instruments.map((instrument) => instrument.symbol)));
    const positions = engine.positionsUsed;
    const started = performance.now();
    const result = await simulate({ scenario, engine });
    const seconds = (performance.now() - started) / 1000;
    const summary = summaryDocument(scenario, scenario.seed, engine, positions, result);
    const input = reportInputFromRun(result, summary, scenario, result.instruments);
    const html = renderReport(input);
    console.log(
      `simulated ${scenario.name} on ${ACCOUNTS.toLocaleString('en-US')} accounts in ${seconds.toFixed(1)} s: ` +
        `${result.totals.scopesLiquidated.toLocaleString('en-US')} liquidations; report.html ${(html.length / 1024).toFixed(0)} KiB`,
    );
    return { html, input, renderReport };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** 1,000 steps × 5 majors, a fan and a table: made-up data of the size the report must draw fast. */
function syntheticInput(steps, majors) {
  const seconds = Array.from({ length: steps }, (_, t) => (t + 1) * 15);
  const path = (start, fall, phase) => seconds.map((_, t) => Math.round(start * (1 - fall * Math.min(1, t / (steps * 0.6))) * (1 + 0.01 * Math.sin(t / 7 + phase)) * 100) / 100);
  let debt = 0;
  let adl = 0;
  const fan = (scale) => seconds.map((_, t) => Math.round(scale * t * t) / 100);
  return {
    title: 'Synthetic: 1,000 steps × 5 majors',
    description: 'Made-up data of the size the report must draw fast.',
    facts: [['Steps', `${steps} of 15 s`]],
    seconds,
    prices: Array.from({ length: majors }, (_, k) => ({ symbol: `M${k}-PERP`, exogenous: path(1000 * (k + 1), 0.1 + 0.05 * k, k), mark: path(995 * (k + 1), 0.12 + 0.05 * k, k) })),
    liquidations: {
      count: seconds.map((_, t) => (t * 7919) % 97),
      longNotional: seconds.map((_, t) => ((t * 7919) % 1000) * 10_000),
      shortNotional: seconds.map((_, t) => ((t * 104729) % 700) * 2_500),
    },
    fund: seconds.map((_, t) => Math.max(0, 5_000_000 - t * 9_000)),
    badDebt: seconds.map((_, t) => (debt += t > 600 ? t : 0)),
    adlNotional: seconds.map((_, t) => (adl += t > 550 ? 2 * t : 0)),
    tables: [{ title: 'A table', note: 'Made up.', columns: ['Run', 'Bad debt'], rows: [['1', '1,234.56'], ['2', '0.00']] }],
    fans: [{ title: 'Bad debt across runs', unit: 'quote', seconds, bands: { p5: fan(1), p25: fan(2), p50: fan(3), p75: fan(4), p95: fan(5) } }],
  };
}

/** The charts a report of `input` must show, by container id, with the points each must hold. */
function expectedCharts(input) {
  const steps = input.seconds.length;
  return [
    ...input.prices.map((_, k) => [`chart-price-${k}`, steps]),
    ['chart-liquidations', steps],
    ['chart-fund', steps],
    ['chart-losses', steps],
    ...input.fans.map((f, k) => [`chart-fan-${k}`, f.seconds.length]),
  ];
}

/** Opens `file` offline and checks it; returns the page (open) and what it measured. */
async function openAndCheck(browser, file, input, name) {
  const url = pathToFileURL(file).href;
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, deviceScaleFactor: 1 });
  const attempted = [];
  const errors = [];
  await context.route('**/*', (route) => {
    const request = route.request().url();
    if (request === url) return route.continue();
    attempted.push(request);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('request', (request) => {
    if (request.url() !== url && !attempted.includes(request.url())) attempted.push(request.url());
  });
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  await page.goto(url, { waitUntil: 'load' });
  try {
    await page.waitForFunction(() => document.documentElement.hasAttribute('data-rendered'), null, { timeout: 15_000 });
  } catch {
    fail(`${name}: the charts were not drawn within 15 s${errors.length > 0 ? ` (${errors[0]})` : ''}`);
  }
  // Let a resize or a late error surface.
  await page.waitForTimeout(200);
  if (attempted.length > 0) fail(`${name}: the page tried to load ${attempted.length} resource(s), the first ${attempted[0]}`);
  if (errors.length > 0) fail(`${name}: ${errors[0]}`);
  const charts = await page.evaluate(() =>
    (window.reportCharts ?? []).map(({ id, plot }) => {
      const canvas = plot.ctx.canvas;
      const pixels = plot.ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      let drawn = 0;
      let coloured = 0;
      for (let k = 0; k < pixels.length; k += 4) {
        if (pixels[k + 3] === 0) continue;
        drawn++;
        const r = pixels[k], g = pixels[k + 1], b = pixels[k + 2];
        if (Math.max(r, g, b) - Math.min(r, g, b) > 40) coloured++;
      }
      const series = plot.data.slice(1).map((values) => values.length);
      const finite = plot.data.slice(1).map((values) => values.filter((v) => typeof v === 'number' && Number.isFinite(v)).length);
      return { id, xs: plot.data[0].length, series, finite, drawn, coloured, width: canvas.width, height: canvas.height, inBox: document.getElementById(id)?.contains(plot.root) ?? false };
    }),
  );
  const expected = expectedCharts(input);
  const ids = charts.map((c) => c.id);
  if (ids.join(',') !== expected.map(([id]) => id).join(',')) fail(`${name}: charts ${ids.join(', ') || 'none'}, expected ${expected.map(([id]) => id).join(', ')}`);
  for (const [k, chart] of charts.entries()) {
    const points = expected[k][1];
    if (!chart.inBox) fail(`${name}: ${chart.id} is not drawn in its container`);
    if (chart.width < 300 || chart.height < 100) fail(`${name}: ${chart.id} is ${chart.width}×${chart.height} px`);
    if (points === 0 || chart.xs !== points) fail(`${name}: ${chart.id} holds ${chart.xs} points on its x axis, expected ${points}`);
    const bad = chart.series.findIndex((n, s) => n !== points || chart.finite[s] !== points);
    if (bad >= 0) fail(`${name}: ${chart.id}'s series ${bad + 1} holds ${chart.finite[bad]} numbers of ${chart.series[bad]} points, expected ${points}`);
    if (chart.drawn === 0) fail(`${name}: ${chart.id}'s canvas is blank`);
    if (chart.coloured < 50) fail(`${name}: ${chart.id} drew no series (${chart.coloured} coloured pixels)`);
  }
  const tables = await page.locator('.scroll > table').count();
  if (tables !== input.tables.length) fail(`${name}: ${tables} tables, expected ${input.tables.length}`);
  const renderMs = await page.evaluate(() => window.reportRenderMs);
  return { page, context, charts, renderMs };
}

async function main() {
  const png = resolve(process.argv[2] ?? join(ROOT, 'docs', 'report.png'));
  const syntheticPng = process.argv[3] === undefined ? null : resolve(process.argv[3]);
  if (!existsSync(CHROMIUM)) fail(`${CHROMIUM} not found: install it (apt-get install -y chromium)`);
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    fail('playwright-core is not installed: run npm install');
  }
  const { html, input, renderReport } = await runReport();
  const synthetic = syntheticInput(1000, 5);
  const syntheticHtml = renderReport(synthetic);
  const scratch = mkdtempSync(join(tmpdir(), 'liq-report-page-'));
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  try {
    const file = join(scratch, 'report.html');
    writeFileSync(file, html);
    const run = await openAndCheck(browser, file, input, 'report.html');
    mkdirSync(dirname(png), { recursive: true });
    await run.page.screenshot({ path: png, fullPage: true });
    await run.context.close();
    console.log(`report.html: ${run.charts.length} charts drawn in ${run.renderMs.toFixed(0)} ms, no request, no error; screenshot ${png}`);

    const big = join(scratch, 'synthetic.html');
    writeFileSync(big, syntheticHtml);
    const second = await openAndCheck(browser, big, synthetic, '1,000 steps × 5 majors');
    if (syntheticPng !== null) {
      mkdirSync(dirname(syntheticPng), { recursive: true });
      await second.page.screenshot({ path: syntheticPng, fullPage: true });
    }
    await second.context.close();
    if (second.renderMs > RENDER_BUDGET_MS) fail(`1,000 steps × 5 majors: the charts took ${second.renderMs.toFixed(0)} ms, over ${RENDER_BUDGET_MS} ms`);
    console.log(`1,000 steps × 5 majors: ${second.charts.length} charts and a table drawn in ${second.renderMs.toFixed(0)} ms (${(syntheticHtml.length / 1024).toFixed(0)} KiB)`);
  } finally {
    await browser.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    const reason = error instanceof CheckFailure ? error.message : `${error?.name ?? 'Error'}: ${String(error?.message ?? error).split('\n')[0]}`;
    console.error(`report check failed: ${reason}`);
    process.exit(1);
  },
);
