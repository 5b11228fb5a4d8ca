// One argument parser for every command (src/cli/args.ts): both option forms, strict numbers,
// --help per command, one-line usage errors.
import { describe, expect, it } from 'vitest';
import { availableParallelism } from 'node:os';
import { UsageError, parseCommand, threadsMax } from '../../src/cli/args.js';
import { COMMANDS, SUBCOMMANDS, EVAL_SPEC, GEN_SPEC, SWEEP_SPEC } from '../../src/cli/commands.js';
import { parseSweepArguments } from '../../src/cli/sweep.js';
import { runCli } from '../support/cli.js';

const usage = (f: () => unknown) => {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('no usage error');
};

describe('the argument parser', () => {
  it('takes --name value and --name=value alike', () => {
    expect(parseSweepArguments(['b.bin', '--threads', '2', '--list=3'])).toEqual({ book: 'b.bin', threads: 2, repeat: 5, list: 3 });
    expect(parseSweepArguments(['--threads=2', 'b.bin'])).toEqual({ book: 'b.bin', threads: 2, repeat: 5, list: 10 });
    const gen = parseCommand(GEN_SPEC, ['--accounts=20', '--isolated-share', '0.5', '--out=x.bin']);
    expect(gen.values).toMatchObject({ accounts: 20, 'isolated-share': 0.5, out: 'x.bin', json: false, seed: 1 });
  });

  it('parses numbers strictly: decimal digits in range, nothing else', () => {
    for (const text of ['0x2', '2e0', '', ' 2', '2 ', '+2', '-1', '2.0', '1_0', '٢', 'Infinity', 'NaN']) {
      expect(usage(() => parseSweepArguments(['b.bin', `--threads=${text}`]))).toMatch(/^--threads takes a whole number from 1 to \d+ \(decimal digits only\), got /);
    }
    expect(usage(() => parseSweepArguments(['b.bin', '--list', '']))).toMatch(/^--list takes a whole number from 0 to 1000000/);
    expect(usage(() => parseCommand(GEN_SPEC, ['--accounts', '10000001']))).toMatch(/--accounts takes a whole number from 1 to 10000000/);
    for (const text of ['1.5', '.5', '0.5e0', '-0', ' 0.2']) {
      expect(usage(() => parseCommand(GEN_SPEC, ['--accounts', '1', `--isolated-share=${text}`]))).toMatch(/--isolated-share takes a number from 0 to 1/);
    }
  });

  it('bounds --threads by four workers a core', () => {
    expect(threadsMax()).toBe(4 * availableParallelism());
    expect(parseSweepArguments(['b', `--threads=${threadsMax()}`])!.threads).toBe(threadsMax());
    expect(usage(() => parseSweepArguments(['b', `--threads=${threadsMax() + 1}`]))).toContain(`from 1 to ${threadsMax()}`);
    expect(usage(() => parseSweepArguments(['b', '--threads=256']))).toContain('got "256"');
  });

  it('refuses unknown options, repeats, missing values and wrong positionals, in one line', () => {
    expect(usage(() => parseSweepArguments(['b', '--fast']))).toBe('unknown option "--fast"; it takes --threads, --repeat, --list');
    expect(usage(() => parseSweepArguments(['b', '--repeat']))).toBe('--repeat needs a value');
    expect(usage(() => parseSweepArguments(['b', '--repeat', '--list', '2']))).toMatch(/^--repeat needs a value, got the option-like "--list"/);
    expect(usage(() => parseSweepArguments(['b', '--repeat', '-3']))).toBe('--repeat takes a whole number from 1 to 1000 (decimal digits only), got "-3"');
    expect(usage(() => parseSweepArguments(['b', '--list=1', '--list=2']))).toBe('--list is given twice');
    expect(usage(() => parseSweepArguments([]))).toBe('sweep takes one BOOK, got none');
    expect(usage(() => parseSweepArguments(['a', 'b']))).toBe('sweep takes one BOOK, got "a" "b"');
    expect(usage(() => parseCommand(EVAL_SPEC, ['b', '--json=yes']))).toBe('--json takes no value');
    expect(usage(() => parseCommand(GEN_SPEC, []))).toBe('--accounts N is required');
    expect(usage(() => parseCommand(GEN_SPEC, ['--accounts', '1', 'extra']))).toBe('gen takes no arguments, got "extra"');
    expect(usage(() => parseCommand(GEN_SPEC, ['--accounts', '1', '--out=']))).toBe('--out needs a PATH, got an empty string');
  });

  it('takes - as a positional (standard input) and anything after -- as positional', () => {
    expect(parseCommand(EVAL_SPEC, ['-']).positionals.BOOK).toBe('-');
    expect(parseCommand(EVAL_SPEC, ['--', '--json']).positionals.BOOK).toBe('--json');
    expect(parseCommand(EVAL_SPEC, ['--', '--help']).help).toBe(false);
  });
});

describe('liq <command> --help', () => {
  for (const spec of COMMANDS) {
    it(`liq ${spec.name} --help prints its options and exits 0, whatever else is on the line`, async () => {
      for (const argv of [[spec.name, '--help'], [spec.name, '-h'], ['help', spec.name], [spec.name, '--bogus', '--help']]) {
        const { code, stdout, stderr } = await runCli(argv);
        expect(code).toBe(0);
        expect(stderr).toBe('');
        expect(stdout).toMatch(new RegExp(`^usage: liq ${spec.name}`));
        for (const option of Object.keys(spec.options)) expect(stdout).toContain(`--${option}`);
        expect(stdout).toContain('-h, --help');
      }
    });
  }

  it('liq --help and liq help list the commands', async () => {
    for (const argv of [['--help'], ['help'], ['-h']]) {
      const { code, stdout } = await runCli(argv);
      expect(code).toBe(0);
      for (const spec of COMMANDS) expect(stdout).toContain(`  ${spec.name} `);
    }
  });

  it('a usage error is one line pointing to the command help, exit 2', async () => {
    const cases: [string[], string][] = [
      [['sweep', 'b.bin', '--threads', '0x2'], 'liq sweep: --threads takes a whole number from 1 to '],
      [['eval', 'examples/design.json', '--csv'], 'liq eval: unknown option "--csv"; it takes --json; see liq eval --help\n'],
      [['gen', '--accounts', '2e3'], 'liq gen: --accounts takes a whole number from 1 to 10000000 (decimal digits only), got "2e3"; see liq gen --help\n'],
      [['evaluate'], 'liq: unknown command "evaluate"; the commands are eval, gen, sweep, simulate, merge, serve, tail, instruments and help; see liq --help\n'],
      [[], 'liq: missing command; see liq --help\n'],
      [['help', 'nope'], 'liq: unknown command "nope"; the commands are eval, gen, sweep, simulate, merge, serve, tail, instruments; see liq --help\n'],
    ];
    for (const [argv, expected] of cases) {
      const { code, stdout, stderr } = await runCli(argv);
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr.split('\n')).toHaveLength(2); // one line and its newline
      if (expected.endsWith('\n')) expect(stderr).toBe(expected);
      else expect(stderr.startsWith(expected)).toBe(true);
    }
  });

  it('escapes a hidden character in an argument echoed back', async () => {
    const { code, stderr } = await runCli(['sweep', 'b.bin', '--threads=1\u20282']);
    expect(code).toBe(2);
    expect(stderr).toBe(
      'liq sweep: --threads takes a whole number from 1 to ' +
        `${threadsMax()} (decimal digits only), got "1\\u20282" (shown escaped: \\u2028 is U+2028 LINE SEPARATOR); see liq sweep --help\n`,
    );
  });
});

describe('sweep thread bound', () => {
  it('is documented by the spec', () => {
    const threads = SWEEP_SPEC.options.threads;
    expect(threads.kind === 'integer' && threads.max).toBe(threadsMax());
  });
});

describe('the README', () => {
  it('shows every help text as the command prints it', async () => {
    const readme = (await import('node:fs')).readFileSync('README.md', 'utf8');
    // The --threads bound is the machine's: four workers per core.
    const machine = (text: string) => text.replace(/\(1 to \d+; default one per core\)/g, '(1 to MAX; default one per core)');
    for (const argv of [['--help'], ...[...COMMANDS, ...SUBCOMMANDS].map((spec) => [...spec.name.split(' '), '--help'])]) {
      const { stdout } = await runCli(argv);
      const shown = stdout
        .trimEnd()
        .split('\n')
        .map((line) => (line === '' ? '' : `    ${line}`))
        .join('\n');
      expect(machine(readme)).toContain(`    $ liq ${argv.join(' ')}\n${machine(shown)}\n`);
    }
  });
});
