// `liq sweep`: the parallel sweep from the command line.
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT_BAD_INPUT, EXIT_OK, EXIT_USAGE } from '../../src/cli/main.js';
import { parseSweepArguments } from '../../src/cli/sweep.js';
import { threadsMax } from '../../src/cli/args.js';
import { runCli } from '../support/cli.js';

describe('liq sweep', () => {
  test('sweeps the crash book on the pool and lists its failing scopes with their figures', async () => {
    const { code, stdout, stderr } = await runCli(['sweep', 'examples/crash.json', '--threads', '2', '--repeat', '2']);
    expect(stderr).toBe('');
    expect(code).toBe(EXIT_OK);
    expect(stdout).toMatch(/^examples\/crash\.json: 6 accounts, 9 positions; 2 workers\n/);
    expect(stdout).toMatch(/median [\d.]+ ms over 2 .*; 2 liquidatable scopes \(2 bankrupt\)/);
    expect(stdout).toMatch(/overlevered-isolated\s+BTC isolated\s+-150\s+23\s+bankrupt\s+47738\.6\s+47500/);
    expect(stdout).toMatch(/underwater-cross\s+cross pool\s+-200\s+36\.5\s+bankrupt\s+-\s+-/);
  });

  test('--list 0 prints the summary only', async () => {
    const { code, stdout } = await runCli(['sweep', 'examples/crash.json', '--threads', '1', '--repeat', '1', '--list', '0']);
    expect(code).toBe(EXIT_OK);
    expect(stdout.trim().split('\n')).toHaveLength(2);
  });

  test('bad arguments exit 2 with one reason; a bad book exits 1', async () => {
    const max = threadsMax();
    expect(() => parseSweepArguments(['book', '--threads', '0'])).toThrow(`--threads takes a whole number from 1 to ${max} (decimal digits only), got "0"`);
    expect(() => parseSweepArguments(['book', '--repeat'])).toThrow('--repeat needs a value');
    expect(() => parseSweepArguments(['book', '--fast'])).toThrow('unknown option "--fast"');
    expect(() => parseSweepArguments([])).toThrow('sweep takes one BOOK, got none');
    expect(parseSweepArguments(['b.bin', '--list', '3'])).toEqual({ book: 'b.bin', threads: undefined, repeat: 5, list: 3 });
    const usage = await runCli(['sweep', 'examples/crash.json', '--threads', 'two']);
    expect(usage.code).toBe(EXIT_USAGE);
    expect(usage.stderr).toBe(`liq sweep: --threads takes a whole number from 1 to ${max} (decimal digits only), got "two"; see liq sweep --help\n`);
    const missing = await runCli(['sweep', 'no-such-book.bin']);
    expect(missing.code).toBe(EXIT_BAD_INPUT);
    expect(missing.stderr).toBe('liq sweep: no-such-book.bin: cannot open: ENOENT: no such file or directory\n');
  });

  test('a reader that goes away (| head -1) ends it quietly with exit 0, also mid-table', () => {
    // Every account near maintenance: a table of about 700 KB, far more than a pipe holds, so the
    // writes fail with EPIPE once head has its line.
    const scratch = mkdtempSync(join(tmpdir(), 'liq-sweep-'));
    try {
      const book = join(scratch, 'near.bin');
      expect(spawnSync('node', ['bin/liq.js', 'gen', '--accounts', '20000', '--near-maintenance-share', '1', '--out', book]).status).toBe(0);
      for (const command of [`node bin/liq.js sweep ${book} --list 1000000 --repeat 1 | head -1`, `node bin/liq.js gen --accounts 20000 --out - | head -1`]) {
        const piped = spawnSync('bash', ['-o', 'pipefail', '-c', command], { encoding: 'utf8' });
        expect(piped.stderr, command).toBe('');
        expect(piped.status, command).toBe(0);
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
