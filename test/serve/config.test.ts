// liq serve's start-up: its configuration file and environment, refused field by field in one line;
// tokens compared by role; and the server refusing to run on uWebSockets.js's slow fallback.
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_FILE_BYTES_MAX, ConfigError, loadServeConfig, TokenTable } from '../../src/serve/config.js';
import { loadNativeUws, UwsUnavailable } from '../../src/serve/uws.js';

const dir = mkdtempSync(join(tmpdir(), 'liq-serve-config-'));
function file(value: unknown, name = 'config.json'): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}
const token = (role: string) => `${role}-token-long-enough-0001`;

describe('the configuration', () => {
  test('defaults, tokens from the file and the environment, and tokens made up when none is given', () => {
    const config = loadServeConfig(file({ tokens: { publisher: token('p'), consumer: [token('c'), token('c2')] }, orders: { retryMs: 250 }, journal: { fsync: 'always' } }), {
      LIQ_OBSERVER_TOKEN: `${token('o')},${token('o2')}`,
    });
    expect(config.tokens).toEqual({ publisher: [token('p')], consumer: [token('c'), token('c2')], observer: [token('o'), token('o2')] });
    expect(config.generatedTokens).toBe(false);
    expect(config.orders).toEqual({ worstPrice: { kind: 'bankruptcy' }, retryMs: 250 });
    expect(config.journal.fsync).toEqual({ mode: 'always' });
    expect(config.liquidation).toEqual({ mode: 'partial', bufferPpm: 100_000n, feePpm: 5_000n });
    expect(config.evaluation).toEqual({ heapEntriesPerAccount: 1 });
    expect(loadServeConfig(file({ evaluation: { heapEntriesPerAccount: 0.25 } }), {}).evaluation).toEqual({ heapEntriesPerAccount: 0.25 });
    const made = loadServeConfig(undefined, {});
    expect(made.generatedTokens).toBe(true);
    for (const role of ['publisher', 'consumer', 'observer'] as const) expect(made.tokens[role][0]).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const table = new TokenTable(config.tokens);
    expect([table.roleOf(token('p')), table.roleOf(token('c2')), table.roleOf(token('o')), table.roleOf('someone-else-entirely-x')]).toEqual(['publisher', 'consumer', 'observer', null]);
  });

  test.each([
    [{ tokens: { publisher: 'short' } }, 'tokens.publisher[0]: must be 16 to 256 printable ASCII characters without spaces (got 5 characters)'],
    [{ tokens: { publisher: token('x'), consumer: token('x') } }, 'tokens: one token is given to both publisher and consumer; a token has one role'],
    [{ tokens: { admin: token('a') } }, 'tokens.admin: unknown key; allowed keys are publisher, consumer, observer'],
    [{ liquidation: { mode: 'half' } }, 'liquidation.mode: must be "full" or "partial", got the string "half"'],
    [{ liquidation: { buffer: -1 } }, 'liquidation.buffer: must be a number from 0 to 10, got the JSON number -1'],
    [{ orders: { worstPrice: 'slippage' } }, 'orders.slippage: is missing (required with worstPrice "slippage")'],
    [{ orders: { retryMs: 0 } }, 'orders.retryMs: must be an integer from 1 to 86400000, got the JSON number 0'],
    [{ journal: { fsync: 'sometimes' } }, 'journal.fsync: must be "always", "group" or "none", got the string "sometimes"'],
    [{ journal: { groupMs: 5 } }, 'journal.groupMs: is only read with fsync "group"'],
    [{ consumers: { bufferBytes: 10 } }, 'consumers.bufferBytes: must be an integer from 4096 to 1073741824, got the JSON number 10'],
    [{ log: { level: 'loud' } }, 'log.level: must be one of fatal, error, warn, info, debug, trace, silent, got the string "loud"'],
    [{ evaluation: { heapEntriesPerAccount: 0 } }, 'evaluation.heapEntriesPerAccount: must be a number from 0.01 to 16, got the JSON number 0'],
    [{ evaluation: { heapEntriesPerAccount: '1' } }, 'evaluation.heapEntriesPerAccount: must be a number from 0.01 to 16, got the string "1"'],
    [{ evaluation: { heapLimit: 5 } }, 'evaluation.heapLimit: unknown key; allowed keys are heapEntriesPerAccount'],
    [[], 'must be an object, got an array'],
    ['{"tokens": ', 'is not valid JSON'],
  ])('refuses %j in one line naming the field', (value, reason) => {
    const path = file(value);
    expect(() => loadServeConfig(path, {})).toThrow(ConfigError);
    expect(() => loadServeConfig(path, {})).toThrow(reason);
  });

  test('a token from the environment is checked too, and an unreadable file is named', () => {
    expect(() => loadServeConfig(undefined, { LIQ_PUBLISHER_TOKEN: 'has a space in it, long' })).toThrow('LIQ_PUBLISHER_TOKEN[0]: must be 16 to 256 printable ASCII characters');
    expect(() => loadServeConfig(join(dir, 'missing.json'), {})).toThrow(/missing\.json: cannot open: ENOENT/);
    // Refused from its kind or size before a byte is read.
    expect(() => loadServeConfig(dir, {})).toThrow(`${dir}: is a directory; a configuration is read from a regular file`);
    const large = join(dir, 'large.json');
    writeFileSync(large, ' '.repeat(CONFIG_FILE_BYTES_MAX + 1));
    expect(() => loadServeConfig(large, {})).toThrow(`${large}: has 1,048,577 bytes; a configuration may have at most 1,048,576 bytes (1 MiB)`);
  });
});

describe('uWebSockets.js', () => {
  test('the native build loads; asked for the fallback, the server refuses to start and says why', () => {
    expect(typeof loadNativeUws({}).App).toBe('function');
    expect(() => loadNativeUws({ UWS_USE_FALLBACK: '1' })).toThrow(UwsUnavailable);
    const run = spawnSync(process.execPath, ['bin/liq.js', 'serve', '--accounts', '10', '--port', '0', '--journal', join(dir, 'j')], { env: { ...process.env, UWS_USE_FALLBACK: 'true' }, encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('liq serve: UWS_USE_FALLBACK=true asks uWebSockets.js for its slow JavaScript fallback; the live engine runs only on the native build (unset it)\n');
    const bad = spawnSync(process.execPath, ['bin/liq.js', 'serve', '--accounts', '10', '--config', file({ orders: { retryMs: -5 } }, 'bad.json')], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe(`liq serve: ${join(dir, 'bad.json')}: orders.retryMs: must be an integer from 1 to 86400000, got the JSON number -5\n`);
  });
});
