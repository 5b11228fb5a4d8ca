// `liq simulate`: the path a user runs, end to end.
import { describe, expect, test } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT_BAD_INPUT, EXIT_OK, EXIT_USAGE } from '../../src/cli/main.js';
import { DEFAULT_SCENARIO_PATH } from '../../src/sim/scenario.js';
import { runCli } from '../support/cli.js';

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'liq-simulate-cli-'));
}

/** The crash book's instruments are BTC and ETH; this scenario drops both 30% in ten steps. */
const crash = {
  version: 1,
  name: 'ten-steps',
  steps: 12,
  stepSeconds: 60,
  prices: { majors: ['BTC'], shocks: [{ instruments: 'all', startStep: 0, steps: 10, move: -0.3 }] },
  liquidity: { majors: { model: 'depth', depthPerPercent: '5000' }, alts: { model: 'none' } },
  insuranceFund: '100',
};

describe('liq simulate', () => {
  test('runs a scenario on a book, prints the summary and writes the three files', async () => {
    const dir = scratch();
    try {
      const scenario = join(dir, 'crash.json');
      writeFileSync(scenario, JSON.stringify(crash));
      const out = join(dir, 'out');
      const { code, stdout, stderr } = await runCli(['simulate', '--scenario', scenario, '--book', 'examples/crash.json', '--out', out, '--threads', '1']);
      expect(stderr).toBe('');
      expect(code).toBe(EXIT_OK);
      expect(stdout).toMatch(/^ten-steps \(seed 1\): 12 steps of 60 s on 6 accounts, 9 positions, 2 instruments; 1 workers\n/);
      expect(stdout).toMatch(/\n {2}accounts liquidated {4}\d+ \(\d+\.\d%\), \d+ scope liquidations\n/);
      expect(stdout).toMatch(/\n {2}BTC +\S+ → low \S+ \(-\d+\.\d%\) → \S+ \(-\d+\.\d%\)\n/);
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
      expect(summary.version).toBe(1);
      expect(summary.scenario).toEqual({ name: 'ten-steps', steps: 12, stepSeconds: 60, seed: 1 });
      expect(summary.totals.scopesLiquidated).toBeGreaterThan(0);
      const timeline = readFileSync(join(out, 'timeline.csv'), 'utf8').trimEnd().split('\n');
      expect(timeline).toHaveLength(13);
      expect(timeline[0]).toMatch(/^step,seconds,failing_scopes,.*,BTC_exogenous,BTC_mark$/);
      const events = readFileSync(join(out, 'events.csv'), 'utf8').trimEnd().split('\n');
      expect(events[0]).toBe('step,kind,account,instrument,mode,size,price,amount');
      expect(events.filter((line) => line.split(',')[1] === 'liquidation')).toHaveLength(summary.totals.scopesLiquidated);
      const report = readFileSync(join(out, 'report.html'), 'utf8');
      expect(report).toMatch(/^<!DOCTYPE html>/);
      expect(report).toContain('<h1>Flash-crash cascade: ten-steps</h1>');
      expect(stdout).toContain(`report: ${join(out, 'report.html')}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('recorded prices: the CSV is found beside the scenario, and a bad row is one line naming the file and the line', async () => {
    const dir = scratch();
    try {
      writeFileSync(join(dir, 'ticks.csv'), 'step,symbol,price\n0,BTC,46000\n1,BTC,40000\n2,ETH,2000\n');
      const scenario = join(dir, 'recorded.json');
      writeFileSync(scenario, JSON.stringify({ version: 1, name: 'replay', steps: 3, stepSeconds: 60, prices: { majors: ['BTC', 'ETH'], recorded: { file: 'ticks.csv' } } }));
      const out = join(dir, 'out');
      const { code, stderr } = await runCli(['simulate', '--scenario', scenario, '--book', 'examples/crash.json', '--out', out, '--threads', '1']);
      expect(stderr).toBe('');
      expect(code).toBe(EXIT_OK);
      // The exogenous prices are the recorded ones, exactly: BTC 46,000 then 40,000; ETH 2,700 (its book mark) until step 2.
      const rows = readFileSync(join(out, 'timeline.csv'), 'utf8').trimEnd().split('\n');
      const header = rows[0].split(',');
      const cell = (step: number, column: string) => rows[step + 1].split(',')[header.indexOf(column)];
      expect([0, 1, 2].map((t) => cell(t, 'BTC_exogenous'))).toEqual(['46000', '40000', '40000']);
      expect([0, 1, 2].map((t) => cell(t, 'ETH_exogenous'))).toEqual(['2700', '2700', '2000']);
      writeFileSync(join(dir, 'ticks.csv'), 'step,symbol,price\n0,BTC,46000\n1,BTC,4e4\n');
      const bad = await runCli(['simulate', '--scenario', scenario, '--book', 'examples/crash.json', '--out', out]);
      expect(bad.code).toBe(EXIT_BAD_INPUT);
      expect(bad.stderr).toMatch(new RegExp(`^liq simulate: ${join(dir, 'ticks.csv').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3: .*4e4.*\\n$`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the default scenario runs with nothing prepared, and gives the same bytes on 1 and 2 workers', async () => {
    expect(existsSync(DEFAULT_SCENARIO_PATH)).toBe(true);
    const dir = scratch();
    try {
      const files: string[][] = [];
      for (const threads of ['1', '2']) {
        const out = join(dir, threads);
        const { code, stderr } = await runCli(['simulate', '--accounts', '2000', '--out', out, '--threads', threads]);
        expect(stderr).toBe('');
        expect(code).toBe(EXIT_OK);
        files.push(['summary.json', 'timeline.csv', 'events.csv'].map((name) => readFileSync(join(out, name), 'utf8')));
      }
      expect(files[1]).toEqual(files[0]);
      const summary = JSON.parse(files[0][0]);
      expect(summary.scenario.name).toBe('october-2025');
      expect(summary.book.accounts).toBe(2000);
      expect(files[0][1].trimEnd().split('\n')).toHaveLength(summary.scenario.steps + 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a bad scenario is one line naming the file and the field, and nothing is written', async () => {
    const dir = scratch();
    try {
      const scenario = join(dir, 'bad.json');
      writeFileSync(scenario, JSON.stringify({ ...crash, prices: { shocks: [{ instruments: 'all', startStep: 0, steps: 1, move: -1.5 }] } }));
      const out = join(dir, 'out');
      const { code, stdout, stderr } = await runCli(['simulate', '--scenario', scenario, '--book', 'examples/crash.json', '--out', out]);
      expect(code).toBe(EXIT_BAD_INPUT);
      expect(stdout).toBe('');
      expect(stderr).toBe(`liq simulate: ${scenario}: prices.shocks[0].move: must be greater than -1 and at most 10, got -1.5\n`);
      expect(existsSync(out)).toBe(false);
      // A symbol the book does not hold is refused once the book is loaded.
      writeFileSync(scenario, JSON.stringify({ ...crash, prices: { majors: ['DOGE'] } }));
      const unknown = await runCli(['simulate', '--scenario', scenario, '--book', 'examples/crash.json', '--out', out]);
      expect(unknown.code).toBe(EXIT_BAD_INPUT);
      expect(unknown.stderr).toMatch(/^liq simulate: prices\.majors\[0\]: .*DOGE.*\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('Monte Carlo slices run apart and merge into the files of one run of them all', async () => {
    const dir = scratch();
    try {
      const common = ['simulate', '--accounts', '1500', '--runs', '4', '--threads', '1'];
      const whole = await runCli([...common, '--out', join(dir, 'all')]);
      expect(whole.stderr).toBe('');
      expect(whole.stdout).toMatch(/^october-2025 Monte Carlo: 4 runs \(seeds 20251010 to 20251013\) on 1,500 accounts\n {2}over the runs +p50 +p95 +p99\n {2}bad debt /);
      for (const slice of ['1/2', '2/2']) {
        const { code, stdout } = await runCli([...common, '--shard', slice, '--out', join(dir, slice.replace('/', 'of'))]);
        expect(code).toBe(EXIT_OK);
        expect(stdout).toMatch(new RegExp(`slice ${slice}, runs \\d to \\d of 4`));
        expect(existsSync(join(dir, slice.replace('/', 'of'), 'summary.json'))).toBe(false);
      }
      const merged = await runCli(['merge', join(dir, '2of2'), join(dir, '1of2'), '--out', join(dir, 'merged')]);
      expect(merged.stderr).toBe('');
      expect(merged.stdout).toMatch(/^october-2025 Monte Carlo: 4 runs from 2 slices on 1,500 accounts\n/);
      for (const name of ['summary.json', 'runs.csv', 'shard.json']) {
        expect(readFileSync(join(dir, 'merged', name), 'utf8')).toBe(readFileSync(join(dir, 'all', name), 'utf8'));
      }
      expect(readFileSync(join(dir, 'all', 'runs.csv'), 'utf8').trimEnd().split('\n')).toHaveLength(5);
      // The report of the whole: the percentiles and a fan a series, the same from the merge.
      expect(readFileSync(join(dir, 'merged', 'report.html'), 'utf8')).toBe(readFileSync(join(dir, 'all', 'report.html'), 'utf8'));
      expect(readFileSync(join(dir, 'all', 'report.html'), 'utf8')).toContain('<h2>Across the runs</h2>');
      const missing = await runCli(['merge', join(dir, '1of2'), '--out', join(dir, 'merged2')]);
      expect(missing.code).toBe(EXIT_BAD_INPUT);
      expect(missing.stderr).toBe('liq merge: shards missing: 2/2\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--compare and --sweep write a table a row a variant', async () => {
    const dir = scratch();
    try {
      const modes = await runCli(['simulate', '--accounts', '1500', '--compare', 'modes', '--out', join(dir, 'modes'), '--threads', '1']);
      expect(modes.stderr).toBe('');
      expect(modes.stdout).toMatch(/\n {2}as-given .*\n {2}all-cross .*\n {2}all-isolated .*\n/);
      const table = readFileSync(join(dir, 'modes', 'comparison.csv'), 'utf8').trimEnd().split('\n');
      expect(table[0]).toMatch(/^mode,accounts_liquidated,.*,positions_switched,positions_kept$/);
      expect(table.slice(1).map((row) => row.split(',')[0])).toEqual(['as-given', 'all-cross', 'all-isolated']);
      expect(readFileSync(join(dir, 'modes', 'report.html'), 'utf8')).toMatch(/<th scope="col">mode<\/th><th scope="col" class="num">as-given<\/th>/);
      const sweep = await runCli(['simulate', '--accounts', '1500', '--sweep', 'insuranceFund=0,5000', '--out', join(dir, 'sweep'), '--threads', '1']);
      expect(sweep.stderr).toBe('');
      const summary = JSON.parse(readFileSync(join(dir, 'sweep', 'summary.json'), 'utf8'));
      expect(summary.comparison.kind).toBe('sweep of insuranceFund');
      expect(summary.comparison.rows.map((row: Record<string, string>) => row.insuranceFund)).toEqual(['0', '5000']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an output directory that cannot be made is one line, exit 1', async () => {
    const dir = scratch();
    try {
      const file = join(dir, 'a-file');
      writeFileSync(file, 'x');
      const scenario = join(dir, 'crash.json');
      writeFileSync(scenario, JSON.stringify(crash));
      const { code, stdout, stderr } = await runCli(['simulate', '--scenario', scenario, '--book', 'examples/crash.json', '--out', join(file, 'out')]);
      expect(code).toBe(EXIT_BAD_INPUT);
      expect(stdout).toBe('');
      expect(stderr).toBe(`liq simulate: ${join(file, 'out')}: cannot create the directory: ENOTDIR: not a directory\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('usage errors exit 2', async () => {
    for (const [argv, reason] of [
      [['--runs', '3', '--compare', 'adl'], /--runs, --compare and --sweep are different experiments/],
      [['--shard', '1/2'], /--shard I\/N slices the runs of --runs: give --runs too/],
      [['--runs', '3', '--shard', '4/4'], /--shard takes I\/N with 1 ≤ I ≤ N ≤ the runs \(3\), got "4\/4"/],
      [['--runs', '3', '--shard', '0/2'], /got "0\/2"/],
      [['--compare', 'leverage'], /--compare takes modes or adl, got "leverage"/],
      [['--sweep', 'feeRate=2'], /--sweep feeRate: "2" must be a number from 0 to 0.1/],
    ] as const) {
      const { code, stderr } = await runCli(['simulate', ...argv]);
      expect(code).toBe(EXIT_USAGE);
      expect(stderr).toMatch(reason);
    }
    const none = await runCli(['merge']);
    expect(none.code).toBe(EXIT_USAGE);
    expect(none.stderr).toMatch(/merge takes one or more DIR\.\.\., got none/);
    const both = await runCli(['simulate', '--book', 'examples/crash.json', '--accounts', '10']);
    expect(both.code).toBe(EXIT_USAGE);
    expect(both.stderr).toBe('liq simulate: --accounts applies only to a scenario that generates its book, with no --book; see liq simulate --help\n');
    const seed = await runCli(['simulate', '--seed', '-1']);
    expect(seed.code).toBe(EXIT_USAGE);
  });
});
