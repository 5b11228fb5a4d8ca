// bench:feed-floor's tool: its options refuse what they cannot take, saying which, and a short run
// over the real server (dist/bench/feed-floor.js, built by npm install) measures every tick of every
// cell and round, in percentiles that are ordered.
import { describe, expect, it } from 'vitest';
import { floorOptionsFromArgs, FLOOR_DEFAULTS, formatFloor, runFloor } from '../../bench/feed-floor.js';

describe('bench:feed-floor options', () => {
  it('takes the defaults, and each option by name', () => {
    expect(floorOptionsFromArgs([])).toEqual(FLOOR_DEFAULTS);
    expect(floorOptionsFromArgs(['--ticks', '50', '--work-us', '0,250', '--fsync', 'always', '--rounds', '3', '--quiet-ms', '0'])).toEqual({ ticks: 50, workUs: [0, 250], policies: ['always'], rounds: 3, quietMs: 0 });
  });

  it.each([
    [['--tick', '5'], /unknown option --tick/],
    [['--ticks'], /--ticks needs a value/],
    [['--ticks', '5'], /--ticks takes a whole number from 10/],
    [['--ticks', '1e3x'], /--ticks takes a whole number/],
    [['--work-us', '0,-1'], /--work-us takes whole numbers.*"-1"/],
    [['--work-us', '0,,3'], /--work-us takes whole numbers.*""/],
    [['--fsync', 'group,sometimes'], /--fsync takes none, group, always.*"sometimes"/],
    [['--rounds', '0'], /--rounds takes a whole number from 1 to 100/],
  ])('refuses %j', (argv, message) => {
    expect(() => floorOptionsFromArgs(argv)).toThrow(message);
  });
});

describe('bench:feed-floor run', () => {
  it('measures every tick of every cell and round', async () => {
    const lines: string[] = [];
    const result = await runFloor({ ticks: 20, workUs: [0, 200], policies: ['none', 'always'], rounds: 2, quietMs: 0, log: (line) => lines.push(line) });
    expect(result.cells.map((c) => `${c.policy}/${c.workUs}`)).toEqual(['none/0', 'none/200', 'always/0', 'always/200']);
    for (const cell of result.cells) {
      expect(cell.rounds).toHaveLength(2);
      expect(cell.all.samples).toBe(40);
      const a = cell.all;
      expect(a.p50).toBeGreaterThan(0);
      expect([a.p50 <= a.p90, a.p90 <= a.p99, a.p99 <= a.p999, a.p999 <= a.max]).toEqual([true, true, true, true]);
      // A tick's order comes after the work the server did for it.
      expect(a.p50).toBeGreaterThanOrEqual(cell.workUs / 1000);
    }
    expect(lines).toHaveLength(8);
    expect(formatFloor(result)).toMatch(/^always +200 +\d/m);
  }, 60_000);
});
