// `liq eval` end to end: the documented JSON fields, the table, exit codes and one-line errors.
import { describe, expect, test } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT_BAD_INPUT, EXIT_OK, EXIT_USAGE } from '../../src/cli/main.js';
import { encodeBookModel } from '../../src/book/binary.js';
import { parseBookJson } from '../../src/book/json.js';
import { runCli } from '../support/cli.js';

const run = runCli;

const scratch = mkdtempSync(join(tmpdir(), 'liq-cli-'));

describe('liq eval --json', () => {
  test('prints the docs/design.md document for the docs/design.md book', async () => {
    const { code, stdout, stderr } = await run(['eval', 'examples/design.json', '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(EXIT_OK);
    const document = JSON.parse(stdout);
    expect(document.summary).toEqual({ accounts: 1, liquidatable: 0, bankrupt: 0, liquidatableAccounts: 0 });
    const [alice] = document.accounts;
    expect(alice.id).toBe('alice');
    expect(alice.cross).toEqual({ equity: '1800', maintenance: '0', status: 'healthy' });
    expect(alice.positions[0]).toMatchObject({
      instrument: 'BTC-PERP',
      mode: 'isolated',
      size: '0.04',
      unrealizedPnl: '0',
      maintenance: '8',
      equity: '200',
      status: 'healthy',
      liquidationPrice: '45180.7',
      bankruptcyPrice: '45000',
    });
  });

  test('reproduces docs/domain.md E1-E4 and E8 on the crash book', async () => {
    const { code, stdout } = await run(['eval', 'examples/crash.json', '--json']);
    expect(code).toBe(EXIT_OK);
    const byId = Object.fromEntries(JSON.parse(stdout).accounts.map((a: { id: string }) => [a.id, a]));
    expect(byId['E1-isolated-btc'].positions[0]).toMatchObject({ unrealizedPnl: '-160', equity: '40', maintenance: '9.2', status: 'healthy' });
    expect(byId['E1-isolated-btc'].balance).toBe('1800');
    expect(byId['E2-cross-btc'].cross).toEqual({ equity: '1840', maintenance: '9.2', status: 'healthy' });
    expect(byId['E3-cross-btc-eth'].cross).toEqual({ equity: '1760', maintenance: '14.6', status: 'healthy' });
    expect(byId['E3-cross-btc-eth'].positions[1].unrealizedPnl).toBe('-80');
    expect(byId['E3-cross-btc-eth'].positions[0].liquidationPrice).toBe('2145.7'); // E8
    expect(byId['E4-isolated-both'].positions.map((p: { equity: string }) => p.equity)).toEqual(['40', '120']);
    expect(byId['E4-isolated-both'].balance).toBe('1600');
    expect(byId['underwater-cross'].cross.status).toBe('bankrupt');
  });

  test('reproduces docs/domain.md E5-E7 on the at-entry book', async () => {
    const { stdout } = await run(['eval', 'examples/at-entry.json', '--json']);
    const [e5, e6, e7] = JSON.parse(stdout).accounts;
    expect(e5.positions[0]).toMatchObject({ liquidationPrice: '45226.1', bankruptcyPrice: '45000' });
    expect(e6.positions[0]).toMatchObject({ liquidationPrice: '25125.6', bankruptcyPrice: '25000' });
    expect(e7.positions[0]).toMatchObject({ liquidationPrice: '3174.7', bankruptcyPrice: '3333.3' });
  });

  test('reads a binary book by content and prints the same document', async () => {
    const path = join(scratch, 'crash.book');
    writeFileSync(path, encodeBookModel(parseBookJson(readFileSync('examples/crash.json', 'utf8'))));
    const fromBinary = await run(['eval', path, '--json']);
    const fromJson = await run(['eval', 'examples/crash.json', '--json']);
    expect(fromBinary.code).toBe(EXIT_OK);
    expect(fromBinary.stdout).toBe(fromJson.stdout);
  });

  test('an empty book is a valid document', async () => {
    const path = join(scratch, 'empty.json');
    writeFileSync(path, '{"instruments": [], "accounts": []}');
    const { code, stdout } = await run(['eval', path, '--json']);
    expect(code).toBe(EXIT_OK);
    expect(JSON.parse(stdout)).toEqual({ accounts: [], summary: { accounts: 0, liquidatable: 0, bankrupt: 0, liquidatableAccounts: 0 } });
  });
});

describe('liq eval table', () => {
  test('shows each scope with its status and prices', async () => {
    const { code, stdout } = await run(['eval', 'examples/crash.json']);
    expect(code).toBe(EXIT_OK);
    expect(stdout).toMatch(/E1-isolated-btc\s+cross pool\s+1800\s+0\s+no positions/);
    expect(stdout).toMatch(/BTC isolated\s+0\.04\s+40\s+9\.2\s+healthy\s+-160\s+45226\.1\s+45000/);
    expect(stdout).toMatch(/6 accounts: 2 liquidatable scopes \(2 bankrupt\) in 2 accounts/);
  });
});

describe('errors', () => {
  test('a bad field exits 1 with one line naming the file, account, position and field', async () => {
    const book = JSON.parse(readFileSync('examples/design.json', 'utf8'));
    book.accounts[0].positions[0].size = '0.0405';
    const path = join(scratch, 'bad.json');
    writeFileSync(path, JSON.stringify(book));
    const { code, stdout, stderr } = await run(['eval', path, '--json']);
    expect(code).toBe(EXIT_BAD_INPUT);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(`${path}: accounts[0] (alice) positions[0] (BTC-PERP) size`);
  });

  test('a JSON number for money is refused', async () => {
    const path = join(scratch, 'number.json');
    writeFileSync(path, readFileSync('examples/design.json', 'utf8').replace('"balance": "1800"', '"balance": 1800'));
    const { code, stderr } = await run(['eval', path]);
    expect(code).toBe(EXIT_BAD_INPUT);
    expect(stderr).toMatch(/accounts\[0\] \(alice\) balance: .*JSON number/);
  });

  test('a path with a line break or a separator in it still gives one line, the character named', async () => {
    const path = join(scratch, 'bad\nname.json');
    writeFileSync(path, readFileSync('examples/design.json', 'utf8').replace('"balance": "1800"', '"balance": 1800'));
    const bad = await run(['eval', path]);
    expect(bad.code).toBe(EXIT_BAD_INPUT);
    expect(bad.stderr).toBe(
      `liq eval: ${join(scratch, 'bad\\nname.json')}: accounts[0] (alice) balance: must be a decimal string, got the JSON number 1800 ` +
        '(write decimals as strings) (shown escaped: \\n is U+000A LINE FEED)\n',
    );
    const missing = await run(['eval', join(scratch, 'missing\u2029.json')]);
    expect(missing.stderr).toBe(
      `liq eval: ${join(scratch, 'missing\\u2029.json')}: cannot open: ENOENT: no such file or directory (shown escaped: \\u2029 is U+2029 PARAGRAPH SEPARATOR)\n`,
    );
  });

  test('a missing file, a truncated binary, and usage errors', async () => {
    const missing = await run(['eval', join(scratch, 'nope.json')]);
    expect(missing.code).toBe(EXIT_BAD_INPUT);
    expect(missing.stderr).toMatch(/nope\.json: cannot open: ENOENT: no such file or directory\n$/);
    const truncated = join(scratch, 'truncated.book');
    writeFileSync(truncated, encodeBookModel(parseBookJson(readFileSync('examples/crash.json', 'utf8'))).subarray(0, 60));
    const cut = await run(['eval', truncated]);
    expect(cut.code).toBe(EXIT_BAD_INPUT);
    expect(cut.stderr.trim().split('\n')).toHaveLength(1);
    expect((await run([])).code).toBe(EXIT_USAGE);
    expect((await run(['evaluate'])).stderr).toMatch(/unknown command "evaluate"/);
    expect((await run(['eval', 'examples/design.json', '--csv'])).stderr).toMatch(/unknown option "--csv"/);
    expect((await run(['eval'])).code).toBe(EXIT_USAGE);
  });
});

describe('the installed command', () => {
  test('a reader that stops early (| head) ends the output quietly, exit 0', () => {
    const book = join(scratch, 'big.bin');
    execFileSync('node', ['bin/liq.js', 'gen', '--accounts', '20000', '--out', book]);
    const piped = spawnSync('bash', ['-o', 'pipefail', '-c', `node bin/liq.js eval ${book} --json | head -c 100 > /dev/null`], { encoding: 'utf8' });
    expect(piped.stderr).toBe('');
    expect(piped.status).toBe(0);
  });

  test('bin/liq.js runs from dist/ (built by npm install) and exits non-zero on bad input', () => {
    const document = JSON.parse(execFileSync('node', ['bin/liq.js', 'eval', 'examples/design.json', '--json'], { encoding: 'utf8' }));
    expect(document.accounts[0].positions[0].liquidationPrice).toBe('45180.7');
    const bad = spawnSync('node', ['bin/liq.js', 'eval', 'package.json'], { encoding: 'utf8' });
    expect(bad.status).toBe(EXIT_BAD_INPUT);
    expect(bad.stderr).toBe("liq eval: package.json: name: unknown key; allowed keys are version, instruments, accounts\n");
  });
});
