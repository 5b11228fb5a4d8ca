// The HTML report: self-contained (uPlot inlined, nothing fetched), its data embedded as JSON that
// parses back to the input, text escaped, the same bytes for the same input, and the input of a
// real run of the right shape. The browser check is scripts/check-report.mjs (docs/report.md).
import { describe, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { bookFromJsonValue } from '../../src/book/json.js';
import { scenarioFromJsonValue } from '../../src/sim/scenario.js';
import { simulate } from '../../src/sim/simulate.js';
import { summaryDocument, type SummaryDocument } from '../../src/sim/output.js';
import { money, renderReport, reportInputFromRun, ReportError, type ReportInput } from '../../src/sim/report.js';

/** A synthetic input: `steps` steps of 15 s, `majors` majors, with or without tables and fans. */
function syntheticInput(steps: number, majors: number, extras = true): ReportInput {
  const seconds = Array.from({ length: steps }, (_, t) => (t + 1) * 15);
  const wave = (scale: number, phase: number) => seconds.map((_, t) => Math.round(scale * (1 + 0.1 * Math.sin(t / 20 + phase)) * 100) / 100);
  let debt = 0;
  return {
    title: 'Synthetic crash',
    description: 'A made-up run for the tests.',
    facts: [
      ['Steps', `${steps} of 15 s`],
      ['Bad debt', '1,234.56'],
    ],
    seconds,
    prices: Array.from({ length: majors }, (_, k) => ({ symbol: `M${k}-PERP`, exogenous: wave(1000 * (k + 1), k), mark: wave(990 * (k + 1), k) })),
    liquidations: {
      count: seconds.map((_, t) => (t * 7) % 13),
      longNotional: seconds.map((_, t) => ((t * 7919) % 1000) * 1000.5),
      shortNotional: seconds.map((_, t) => ((t * 104729) % 700) * 250.25),
    },
    fund: seconds.map((_, t) => 1_000_000 - t * 100),
    badDebt: seconds.map((_, t) => (debt += t % 3) * 10),
    adlNotional: seconds.map((_, t) => t * 2.5),
    tables: extras
      ? [
          {
            title: 'Modes compared',
            note: 'Full against partial.',
            columns: ['Mode', 'Accounts', 'Bad debt'],
            rows: [
              ['full', '1,234', '12.50'],
              ['partial', '987', '0.00'],
            ],
          },
        ]
      : [],
    fans: extras
      ? [
          {
            title: 'Bad debt across runs',
            unit: 'quote',
            seconds,
            bands: { p5: wave(1, 0), p25: wave(2, 0), p50: wave(3, 0), p75: wave(4, 0), p95: wave(5, 0) },
          },
        ]
      : [],
  };
}

/** The JSON the page embeds. */
function embedded(html: string): unknown {
  const match = /<script type="application\/json" id="report-data">([^]*?)<\/script>/.exec(html);
  expect(match).not.toBeNull();
  return JSON.parse(match![1]);
}

describe('renderReport', () => {
  test('uPlot is inlined and nothing is loaded from anywhere', () => {
    const html = renderReport(syntheticInput(50, 2));
    expect(html).toContain('var uPlot=function(){');
    expect(html).toContain('.uplot {font-family');
    // No src, href or url() at all (nothing to fetch), and no link, img or external script element.
    expect(html).not.toMatch(/\s(?:src|href)\s*=/i);
    expect(html).not.toMatch(/url\(/i);
    expect(html).not.toMatch(/<(?:link|img|iframe|object|embed|base)\b/i);
    expect(html).not.toContain('//cdn');
    // The only URL in the file is the one in uPlot's banner comment.
    const urls = html.match(/https?:\/\/[^\s"'()<>*]+/g) ?? [];
    expect(urls).toEqual(['https://github.com/leeoniya/uPlot']);
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
  });

  test('the embedded JSON parses back to the input', () => {
    for (const input of [syntheticInput(30, 3), syntheticInput(1, 0, false)]) {
      expect(embedded(renderReport(input))).toEqual(input);
    }
  });

  test('text is escaped: a title with <script> in it, a symbol, a fact, a table cell', () => {
    const input = syntheticInput(10, 1);
    input.title = 'Crash </script><script>alert(1)</script> & "more"';
    input.description = "<img src=x onerror='alert(2)'>";
    input.prices[0].symbol = '<b>BTC</b>';
    input.facts.push(['<i>label</i>', 'a < b']);
    input.tables[0].rows[0][0] = '<td>cell</td>';
    const html = renderReport(input);
    expect(html).not.toContain('alert(1)</script>');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>BTC');
    expect(html).not.toContain('<i>label');
    expect(html).not.toContain('<td>cell');
    expect(html).toContain('<title>Crash &#60;/script&#62;&#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;more&#34;</title>');
    expect(html).toContain('<h3>&#60;b&#62;BTC&#60;/b&#62;</h3>');
    // In the JSON, no `<` at all: nothing inside can close the script element.
    const json = /<script type="application\/json" id="report-data">([^]*?)<\/script>/.exec(html)![1];
    expect(json).not.toContain('<');
    expect(embedded(html)).toEqual(input);
    // Only the page's own three scripts.
    expect(html.match(/<script\b/g)).toHaveLength(3);
    expect(html.match(/<\/script>/g)).toHaveLength(3);
  });

  test('the same input gives the same bytes, whatever the order of its keys', () => {
    const input = syntheticInput(100, 5);
    const reordered = Object.fromEntries(Object.entries(structuredClone(input)).reverse()) as unknown as ReportInput;
    const html = renderReport(input);
    expect(renderReport(structuredClone(input))).toBe(html);
    expect(renderReport(reordered)).toBe(html);
    expect(renderReport(syntheticInput(100, 4))).not.toBe(html);
  });

  test('every chart holds one point a step: a container per chart, and lengths checked, not cut', () => {
    const input = syntheticInput(120, 4);
    const html = renderReport(input);
    const data = embedded(html) as ReportInput;
    const steps = data.seconds.length;
    expect(steps).toBe(120);
    const series = [
      ...data.prices.flatMap((p) => [p.exogenous, p.mark]),
      data.liquidations.count,
      data.liquidations.longNotional,
      data.liquidations.shortNotional,
      data.fund,
      data.badDebt,
      data.adlNotional,
    ];
    for (const s of series) expect(s).toHaveLength(steps);
    for (const f of data.fans) for (const band of Object.values(f.bands)) expect(band).toHaveLength(f.seconds.length);
    const ids = [...html.matchAll(/<div class="chart" id="([^"]+)"><\/div>/g)].map((m) => m[1]);
    expect(ids).toEqual(['chart-price-0', 'chart-price-1', 'chart-price-2', 'chart-price-3', 'chart-liquidations', 'chart-fund', 'chart-losses', 'chart-fan-0']);
    // A series of another length, or a number JSON cannot hold, is an error, not a chart cut short.
    const short = syntheticInput(120, 1);
    short.prices[0].mark.pop();
    expect(() => renderReport(short)).toThrow(ReportError);
    expect(() => renderReport(short)).toThrow('prices[0].mark has 119 points for 120 steps');
    const nan = syntheticInput(10, 1);
    nan.fund[3] = Number.NaN;
    expect(() => renderReport(nan)).toThrow('fund[3] is not a finite number');
    const ragged = syntheticInput(10, 1);
    ragged.tables[0].rows[1].push('extra');
    expect(() => renderReport(ragged)).toThrow('tables[0].rows[1] has 4 cells for 3 columns');
    const fan = syntheticInput(10, 1);
    fan.fans[0].bands.p95 = fan.fans[0].bands.p95.slice(1);
    expect(() => renderReport(fan)).toThrow('fans[0].bands.p95 has 9 points for 10 steps');
  });

  test('no tables and no fans: no section for them, and the page is whole', () => {
    const html = renderReport(syntheticInput(20, 2, false));
    expect(html).not.toContain('<table');
    expect(html).not.toContain('id="chart-fan-');
    expect(html).not.toContain('Across the runs');
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    const withExtras = renderReport(syntheticInput(20, 2));
    // Columns of numbers right-aligned, their headings too; the first column is the rows' headings.
    expect(withExtras).toContain('<tr><th scope="col">Mode</th><th scope="col" class="num">Accounts</th><th scope="col" class="num">Bad debt</th></tr>');
    expect(withExtras).toContain('<tr><th scope="row">full</th><td class="num">1,234</td><td class="num">12.50</td></tr>');
    expect(withExtras).toContain('Across the runs');
  });

  test('1,000 steps × 5 majors render in well under a second', () => {
    const input = syntheticInput(1000, 5);
    const started = performance.now();
    const html = renderReport(input);
    expect(performance.now() - started).toBeLessThan(1000);
    expect((embedded(html) as ReportInput).prices).toHaveLength(5);
    expect(html.length).toBeLessThan(1_000_000);
  });

  test('money: rounded half away from zero to cents, grouped', () => {
    expect(money('1234567.891234')).toBe('1,234,567.89');
    expect(money('0.005')).toBe('0.01');
    expect(money('-0.004')).toBe('0.00');
    expect(money('-1000.995')).toBe('-1,001.00');
    expect(money('12')).toBe('12.00');
    expect(money('999.999')).toBe('1,000.00');
  });
});

describe('reportInputFromRun', () => {
  const tiers = [
    { upToNotional: '250000', maintenanceRate: '0.005', maxLeverage: '100' },
    { upToNotional: null, maintenanceRate: '0.01', maxLeverage: '20' },
  ];
  /** Longs and shorts on BTC and ETH at leverages from 5 to 50, cross and isolated, with an alt SOL. */
  function engine(): Engine {
    const accounts: unknown[] = [];
    for (let k = 0; k < 40; k++) {
      const leverage = [5, 10, 20, 25, 50][k % 5];
      const long = k % 3 !== 0;
      const size = (0.02 + (k % 7) * 0.01).toFixed(3);
      const btc = { instrument: 'BTC', size: long ? size : `-${size}`, entryPrice: '50000', mode: k % 2 === 0 ? 'cross' : 'isolated', leverage: String(leverage) };
      const position = btc.mode === 'isolated' ? { ...btc, margin: ((Number(size) * 50000) / leverage).toFixed(2) } : btc;
      const eth = { instrument: 'ETH', size: long ? '0.5' : '-0.5', entryPrice: '2500', mode: 'cross', leverage: '10' };
      const sol = { instrument: 'SOL', size: '3', entryPrice: '150', mode: 'cross', leverage: '20' };
      const balance = k % 2 === 0 ? String(Math.round((Number(size) * 50000) / leverage + 150)) : '50';
      accounts.push({ id: `a${k}`, balance, positions: k % 4 === 0 ? [position, eth, sol] : [position, eth] });
    }
    return Engine.fromBook(
      bookFromJsonValue({
        instruments: [
          { symbol: 'BTC', markPrice: '50000', tickSize: '0.1', lotSize: '0.001', fundingIndex: '0', tiers },
          { symbol: 'ETH', markPrice: '2500', tickSize: '0.01', lotSize: '0.001', fundingIndex: '0', tiers },
          { symbol: 'SOL', markPrice: '150', tickSize: '0.001', lotSize: '0.01', fundingIndex: '0', tiers },
        ],
        accounts,
      }),
    );
  }

  test('a real run: series one point a step, prices in quote, bad debt and ADL cumulative, facts from the summary', async () => {
    const e = engine();
    const positions = e.positionsUsed;
    const scenario = scenarioFromJsonValue({
      version: 1,
      name: 'small <crash>',
      description: 'Two majors fall 30%, then rebound.',
      steps: 30,
      stepSeconds: 20,
      seed: 3,
      prices: {
        majors: ['BTC', 'ETH'],
        shocks: [
          { instruments: 'all', startStep: 2, steps: 10, move: -0.3, shape: 'exponential' },
          { instruments: 'all', startStep: 20, steps: 5, move: 0.1 },
        ],
      },
      liquidity: { majors: { model: 'sqrt', dailyVolume: { overOpenInterest: 0.5 } }, alts: { model: 'none' } },
      liquidation: { mode: 'partial', buffer: 0.1, feeRate: 0.005 },
      insuranceFund: '5',
      adl: { policy: 'queue' },
    });
    const result = await simulate({ scenario, engine: e });
    const summary = summaryDocument(scenario, scenario.seed, e, positions, result);
    const input = reportInputFromRun(result, summary, scenario, result.instruments);

    expect(result.totals.scopesLiquidated).toBeGreaterThan(0);
    expect(input.title).toBe('Flash-crash cascade: small <crash>');
    expect(input.description).toBe('Two majors fall 30%, then rebound.');
    expect(input.seconds).toEqual(Array.from({ length: 30 }, (_, t) => (t + 1) * 20));
    expect(input.prices.map((p) => p.symbol)).toEqual(['BTC', 'ETH']);
    for (const s of [
      ...input.prices.flatMap((p) => [p.exogenous, p.mark]),
      input.liquidations.count,
      input.liquidations.longNotional,
      input.liquidations.shortNotional,
      input.fund,
      input.badDebt,
      input.adlNotional,
    ]) {
      expect(s).toHaveLength(30);
      for (const v of s) expect(Number.isFinite(v)).toBe(true);
    }
    // Prices in quote: BTC from 50,000 down about 30% by step 11.
    expect(input.prices[0].exogenous[0]).toBe(50000);
    expect(input.prices[0].exogenous[11]).toBeCloseTo(35000, -1);
    expect(input.prices[0].mark[11]).toBe(Number(result.timeline[11].marks[0]) / 10);
    // Per step against the timeline; cumulative sums ending at the totals.
    expect(input.liquidations.count.reduce((a, b) => a + b, 0)).toBe(result.totals.scopesLiquidated);
    const notional = input.liquidations.longNotional.reduce((a, b) => a + b, 0) + input.liquidations.shortNotional.reduce((a, b) => a + b, 0);
    expect(notional).toBeCloseTo(Number(result.totals.liquidatedNotionalMicro) / 1e6, 4);
    expect(input.fund.at(-1)).toBe(Number(result.totals.fundEndMicro) / 1e6);
    expect(input.badDebt.at(-1)).toBe(Number(result.totals.badDebtMicro) / 1e6);
    expect(input.adlNotional.at(-1)).toBe(Number(result.totals.adlNotionalMicro) / 1e6);
    expect(result.totals.badDebtMicro + result.totals.adlNotionalMicro).toBeGreaterThan(0n);
    for (let t = 1; t < 30; t++) {
      expect(input.badDebt[t]).toBeGreaterThanOrEqual(input.badDebt[t - 1]);
      expect(input.adlNotional[t]).toBeGreaterThanOrEqual(input.adlNotional[t - 1]);
    }
    const facts = new Map(input.facts);
    expect(facts.get('Book')).toBe(`40 accounts, ${positions} positions, 3 instruments`);
    expect(facts.get('Steps')).toBe('30 of 20 s (10 min), seed 3');
    expect(facts.get('Bad debt')).toBe(money((summary as { totals: { badDebt: string } }).totals.badDebt));
    expect(facts.get('BTC')).toMatch(/^50,000 → low [\d,.]+ \(-\d+\.\d%\) → [\d,.]+ \([-+]?\d+\.\d%\)$/);
    expect(facts.has('SOL')).toBe(false);
    expect(input.tables).toEqual([]);
    expect(input.fans).toEqual([]);

    // And it renders, its JSON the input.
    const html = renderReport(input);
    expect(embedded(html)).toEqual(input);
    expect(html).toContain('<h1>Flash-crash cascade: small &#60;crash&#62;</h1>');
  });

  test('symbols that do not match the timeline, and a document that is not a summary, are refused', async () => {
    const e = engine();
    const scenario = scenarioFromJsonValue({ version: 1, steps: 2, stepSeconds: 10, prices: { majors: ['BTC'] }, liquidity: { majors: { model: 'none' }, alts: { model: 'none' } } });
    const result = await simulate({ scenario, engine: e });
    const summary = summaryDocument(scenario, 1, e, e.positionsUsed, result);
    expect(() => reportInputFromRun(result, summary, scenario, result.instruments.slice(1))).toThrow('step 0: 3 prices for 2 symbols');
    // A summary.json read back from a file is not checked by the type: the report checks it.
    expect(() => reportInputFromRun(result, {} as unknown as SummaryDocument, scenario, result.instruments)).toThrow(ReportError);
  });
});
