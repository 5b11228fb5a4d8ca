// `liq gen --instruments-file` (docs/venues.md, docs/generator.md): a book generated over the
// instruments an import wrote, in their order, loads, and the kernel agrees with the BigInt
// reference on it; the instruments file's refusals are one line naming the file and the field.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeBookBinary, loadBookBinaryFile } from '../../src/book/binary.js';
import { generateBook, generatedBookToBook } from '../../src/gen/generate.js';
import { writeGeneratedBinary } from '../../src/gen/write.js';
import { readInstrumentsFile } from '../../src/instruments/file.js';
import { importInstruments, instrumentsFileText, readVenueFile } from '../../src/instruments/import.js';
import { BINANCE } from '../../src/instruments/venues/binance.js';
import { OKX } from '../../src/instruments/venues/okx.js';
import type { VenueAdapter } from '../../src/instruments/import.js';
import { evaluateAccount } from '../../src/reference/evaluate.js';
import { runCli } from '../support/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'liq-gen-file-'));
const FIXTURES = 'test/fixtures/venues';

/** The instruments file an import of a venue's fixtures writes. */
function imported(adapter: VenueAdapter, venue: string, files: string[], skipUnsupported = false): string {
  const result = importInstruments(adapter, files.map((name) => readVenueFile(join(FIXTURES, venue, name))), { skipUnsupported });
  const path = join(scratch, `${venue}.json`);
  writeFileSync(path, instrumentsFileText(result));
  return path;
}

// Binance's fixtures hold 1000PEPEUSDT, a 7-decimal tick (pd + sd = 7): finer than a micro, and imported.
const binanceFile = () => imported(BINANCE, 'binance', ['exchangeInfo.json', 'leverageBracket.json', 'premiumIndex.json']);
const okxFile = () => imported(OKX, 'okx', ['instruments.json', 'mark-price.json', 'position-tiers-alts.json', 'position-tiers-btc.json']);

describe('a book over imported instruments', () => {
  it('has the file\'s instruments in its order, positions on every one, more on the first, and the same bytes for the same seed', () => {
    const instruments = readInstrumentsFile(okxFile());
    expect(instruments.map((instrument) => instrument.symbol)).toEqual(['BTC-USDT-SWAP', 'ETH-USDT-SWAP', 'DOGE-USDT-SWAP']);
    const generated = generateBook({ accounts: 5_000, seed: 3, instrumentList: instruments });
    expect(generated.instruments).toEqual(instruments);
    const held = [0, 0, 0];
    for (const i of generated.posInst) held[i]++;
    expect(held.every((count) => count > 0)).toBe(true);
    expect(held[0]).toBeGreaterThan(held[2]); // Zipf over the file's order
    const again = generateBook({ accounts: 5_000, seed: 3, instrumentList: instruments });
    expect(Buffer.from(again.posSize.buffer).equals(Buffer.from(generated.posSize.buffer))).toBe(true);
    expect(Buffer.from(again.accBalance.buffer).equals(Buffer.from(generated.accBalance.buffer))).toBe(true);
    expect(() => generateBook({ accounts: 10, instrumentList: instruments, instruments: 5 })).toThrow('instruments is the number of instrumentList\'s instruments (3) when it is given, got 5');
    expect(() => generateBook({ accounts: 10, instrumentList: [] })).toThrow('instrumentList must hold 1 to 1000 instruments, got 0');
  });

  it.each(['calibrated', 'stress'] as const)('loads, and the kernel agrees with the BigInt reference on every field of 2,000 accounts (%s profile)', (profile) => {
    for (const file of [binanceFile(), okxFile()]) {
      const generated = generateBook({ accounts: 2_000, seed: 7, profile, nearMaintenanceShare: 0.05, instrumentList: readInstrumentsFile(file) });
      const path = join(scratch, `book-${profile}.bin`);
      writeGeneratedBinary(path, generated);
      const engine = loadBookBinaryFile(path);
      const book = engine.toBook();
      expect(book).toEqual(generatedBookToBook(generated));
      engine.evaluate();
      let failing = 0;
      for (let a = 0; a < book.accounts.length; a++) {
        const kernel = engine.accountResult(a);
        expect(kernel, `${file} account ${a}`).toEqual(evaluateAccount(book, a));
        if (kernel.crossStatus !== 'healthy' || kernel.positions.some((p) => p.status !== null && p.status !== 'healthy')) failing++;
      }
      expect(failing, file).toBeGreaterThan(0);
      expect(decodeBookBinary(readFileSync(path)).accountCount).toBe(2_000);
    }
  });
});

describe('the instruments file', () => {
  const write = (name: string, text: string) => {
    const path = join(scratch, name);
    writeFileSync(path, text);
    return path;
  };
  const btc = '{ "symbol": "BTCUSDT", "tickSize": "0.1", "lotSize": "0.001", "markPrice": "65000", "fundingIndex": "0", "tiers": [ { "upToNotional": null, "maintenanceRate": "0.005", "maxLeverage": "100" } ] }';

  it('refuses what is not one, in one line naming the file and the field', () => {
    const cases: [string, string, string][] = [
      ['array.json', '[]', 'array.json: is an array; an instruments file is {"version": 1, "venue": V, "instruments": [...]} (docs/venues.md)'],
      ['key.json', `{ "version": 1, "instrument": [${btc}] }`, 'key.json: unknown key "instrument"; an instruments file is {"version": 1, "venue": V, "instruments": [...]} (docs/venues.md)'],
      ['version.json', `{ "version": 2, "instruments": [${btc}] }`, 'version.json: version: must be the JSON number 1, got the JSON number 2'],
      ['version-text.json', `{ "version": "1", "instruments": [${btc}] }`, 'version-text.json: version: must be the JSON number 1, got the string "1"'],
      ['venue.json', `{ "version": 1, "venue": "kraken", "instruments": [${btc}] }`, 'venue.json: venue: must be one of binance, bybit, okx, hyperliquid (or absent), got the string "kraken"'],
      ['empty.json', '{ "version": 1, "instruments": [] }', 'empty.json: instruments: must be a non-empty array of book instruments, got an array'],
      ['tick.json', `{ "version": 1, "instruments": [${btc.replace('"0.1"', '"0.0000000000001"')}] }`, 'tick.json: instruments[0] (BTCUSDT) tickSize: "0.0000000000001" has 13 decimals; at most 12'],
      ['proto.json', `{ "version": 1, "instruments": [${btc}], "__proto__": {} }`, 'proto.json: __proto__: the key "__proto__" is not allowed'],
    ];
    for (const [name, text, message] of cases) {
      const path = write(name, text);
      expect(() => readInstrumentsFile(path), name).toThrow(message.replace(`${name}:`, `${path}:`));
    }
    expect(() => readInstrumentsFile(join(scratch, 'missing.json'))).toThrow(/missing\.json: cannot open: /);
    const latin1 = join(scratch, 'latin1.json');
    writeFileSync(latin1, Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d])); // {"é":1} in Latin-1
    expect(() => readInstrumentsFile(latin1)).toThrow(`${latin1}: is not valid UTF-8: byte 2 (0xe9) does not start or continue a character there; an instruments file is UTF-8 text`);
    expect(() => readInstrumentsFile(scratch)).toThrow(`${scratch}: is a directory; an instruments file is read from a regular file`);
  });
});

describe('liq gen --instruments-file', () => {
  it('writes a book over the file\'s instruments that liq sweep reads; --instruments with it is a usage error', async () => {
    const file = binanceFile();
    const out = join(scratch, 'cli.bin');
    const made = await runCli(['gen', '--instruments-file', file, '--accounts', '3000', '--seed', '4', '--out', out]);
    expect([made.code, made.stderr]).toEqual([0, '']);
    expect(made.stdout).toMatch(new RegExp(`^${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 3000 accounts, \\d+ positions, \\d+ bytes`));
    const engine = loadBookBinaryFile(out);
    expect(engine.instruments.map((instrument) => instrument.symbol)).toEqual(['BTCUSDT', 'ETHUSDT', '1000PEPEUSDT', 'SOLUSDT']);
    const swept = await runCli(['sweep', out, '--repeat', '1']);
    expect(swept.code).toBe(0);
    expect(swept.stdout).toContain('3,000 accounts');
    const both = await runCli(['gen', '--instruments-file', file, '--instruments', '3', '--accounts', '10', '--out', join(scratch, 'x.bin')]);
    expect([both.code, both.stdout, both.stderr]).toEqual([2, '', 'liq gen: --instruments N and --instruments-file PATH both say which instruments: give one; see liq gen --help\n']);
    const bad = await runCli(['gen', '--instruments-file', join(scratch, 'nope.json'), '--accounts', '10', '--out', join(scratch, 'y.bin')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^liq gen: .*nope\.json: cannot open: /);
  });

  it('and scenarios/venue-crash.json, which names no symbol, runs on it: the alts gap, accounts are liquidated', async () => {
    // Two venues' instruments in one file: seven, the first five the scenario's majors.
    const both = [...JSON.parse(readFileSync(binanceFile(), 'utf8')).instruments, ...JSON.parse(readFileSync(okxFile(), 'utf8')).instruments];
    const file = join(scratch, 'two-venues.json');
    writeFileSync(file, JSON.stringify({ version: 1, instruments: both }));
    const book = join(scratch, 'venue-book.bin');
    expect((await runCli(['gen', '--instruments-file', file, '--accounts', '3000', '--out', book])).code).toBe(0);
    const out = join(scratch, 'venue-sim');
    const run = await runCli(['simulate', '--scenario', 'scenarios/venue-crash.json', '--book', book, '--out', out]);
    expect([run.code, run.stderr]).toEqual([0, '']);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.scenario.name).toBe('venue-crash');
    expect(summary.totals.accountsLiquidated).toBeGreaterThan(100);
    expect(summary.instruments.map((instrument: { major: boolean }) => instrument.major)).toEqual([true, true, true, true, true, false, false]);
  });
});
