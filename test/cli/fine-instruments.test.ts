// Instruments finer than a micro through the command line (docs/numbers.md, "Instruments finer
// than a micro"): `liq gen --precision venue` writes books holding them in both formats and
// `liq eval` prints, for every account, the figures the BigInt reference gives for the book the
// file holds; an instruments file imported from Binance's 7-decimal ticks goes through `liq gen
// --instruments-file` and `liq eval` the same way.
import { describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT_OK } from '../../src/cli/main.js';
import { loadBookBinaryFile } from '../../src/book/binary.js';
import { parseBookJson } from '../../src/book/json.js';
import { valueDivisor, type Book } from '../../src/book/model.js';
import { formatScaled } from '../../src/fixed/decimal.js';
import { evaluateAccount, positionFigures } from '../../src/reference/evaluate.js';
import { runCli } from '../support/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'liq-cli-fine-'));
const ACCOUNTS = 2_000;

const quote = (micro: bigint) => formatScaled(micro, 6);

/** The `liq eval --json` document (docs/design.md) the BigInt reference gives for the book, and what it covered. */
function referenceDocument(book: Book) {
  let liquidatable = 0;
  let bankrupt = 0;
  let liquidatableAccounts = 0;
  const fine = { positions: 0, failing: 0, liquidationPrices: 0 };
  const accounts = book.accounts.map((account, a) => {
    const result = evaluateAccount(book, a);
    let failing = result.crossStatus !== 'healthy';
    liquidatable += Number(result.crossStatus !== 'healthy');
    bankrupt += Number(result.crossStatus === 'bankrupt');
    const positions = account.positions.map((position, k) => {
      const instrument = book.instruments[position.instrument];
      const figures = result.positions[k];
      const isolated = position.mode === 'isolated';
      if (isolated) {
        liquidatable += Number(figures.status !== 'healthy');
        bankrupt += Number(figures.status === 'bankrupt');
        failing ||= figures.status !== 'healthy';
      }
      if (valueDivisor(instrument) > 1n) {
        fine.positions++;
        fine.failing += Number((isolated ? figures.status : result.crossStatus) !== 'healthy');
        fine.liquidationPrices += Number(figures.liquidationPriceUnits !== null);
      }
      const price = (units: bigint | null) => (units === null ? null : formatScaled(units, instrument.priceDecimals));
      return {
        instrument: instrument.symbol,
        mode: position.mode,
        size: formatScaled(position.sizeUnits, instrument.sizeDecimals),
        notional: quote(positionFigures(instrument, position).notionalMicro),
        leverage: String(position.leverage),
        unrealizedPnl: quote(figures.unrealizedPnlMicro),
        maintenance: quote(figures.maintenanceMicro),
        ...(isolated ? { margin: quote(position.marginMicro), equity: quote(figures.equityMicro!), status: figures.status } : {}),
        liquidationPrice: price(figures.liquidationPriceUnits),
        bankruptcyPrice: price(figures.bankruptcyPriceUnits),
      };
    });
    liquidatableAccounts += Number(failing);
    return {
      id: account.id,
      balance: quote(account.balanceMicro),
      cross: { equity: quote(result.crossEquityMicro), maintenance: quote(result.crossMaintenanceMicro), status: result.crossStatus },
      positions,
    };
  });
  return { document: { accounts, summary: { accounts: book.accounts.length, liquidatable, bankrupt, liquidatableAccounts } }, fine };
}

/** `liq eval PATH --json`: exit 0, nothing on standard error, and the reference's document for the book. */
async function expectEvalIsReference(path: string, book: Book) {
  const { code, stdout, stderr } = await runCli(['eval', path, '--json']);
  expect([code, stderr]).toEqual([EXIT_OK, '']);
  const printed = JSON.parse(stdout);
  const { document, fine } = referenceDocument(book);
  expect(printed.accounts.length).toBe(book.accounts.length);
  // Account by account, so that a difference names the account.
  document.accounts.forEach((account, a) => expect(printed.accounts[a], account.id).toEqual(account));
  expect(printed.summary).toEqual(document.summary);
  return { stdout, fine };
}

describe('liq gen --precision venue, then liq eval', () => {
  test('the JSON and the binary book evaluate to the BigInt reference, the fine instruments\' positions included', async () => {
    const json = join(scratch, 'venue.json');
    const binary = join(scratch, 'venue.bin');
    const common = ['gen', '--accounts', String(ACCOUNTS), '--seed', '3', '--precision', 'venue', '--profile', 'stress', '--near-maintenance-share', '0.1'];
    for (const argv of [[...common, '--json', '--out', json], [...common, '--out', binary]]) {
      const made = await runCli(argv);
      expect([made.code, made.stderr]).toEqual([EXIT_OK, '']);
    }
    // The book each file holds, loaded as `liq eval` does not: the JSON parsed, the binary's columns read back.
    const fromJson = parseBookJson(readFileSync(json, 'utf8'));
    const fromBinary = loadBookBinaryFile(binary).toBook();
    expect(fromBinary).toEqual(fromJson);
    const s = fromJson.instruments.map((instrument) => instrument.priceDecimals + instrument.sizeDecimals);
    expect(s.filter((x) => x === 7 || x === 8).length).toBeGreaterThan(10);
    expect(s.filter((x) => x > 8).length).toBeGreaterThan(0);

    const a = await expectEvalIsReference(json, fromJson);
    const b = await expectEvalIsReference(binary, fromBinary);
    expect(b.stdout).toBe(a.stdout);
    console.log(`venue book: ${a.fine.positions} positions on instruments finer than a micro, ${a.fine.failing} in failing scopes, ${a.fine.liquidationPrices} with a liquidation price`);
    // Seed 3: 1,452 such positions, 36 in failing scopes, 1,192 with a liquidation price.
    expect(a.fine.positions).toBeGreaterThan(500);
    expect(a.fine.failing).toBeGreaterThan(10);
    expect(a.fine.liquidationPrices).toBeGreaterThan(500);
  });
});

describe('liq instruments import --venue binance (7-decimal ticks), liq gen --instruments-file, liq eval', () => {
  test('each exits 0, and the book evaluates to the BigInt reference', async () => {
    const fixtures = ['exchangeInfo.json', 'leverageBracket.json', 'premiumIndex.json'].map((name) => join('test/fixtures/venues/binance-fine', name));
    const instruments = join(scratch, 'binance-fine.json');
    const imported = await runCli(['instruments', 'import', '--venue', 'binance', ...fixtures, '--out', instruments]);
    expect([imported.code, imported.stderr]).toEqual([EXIT_OK, '']);
    const book = join(scratch, 'binance-fine.bin');
    const made = await runCli(['gen', '--instruments-file', instruments, '--accounts', String(ACCOUNTS), '--seed', '5', '--profile', 'stress', '--near-maintenance-share', '0.1', '--out', book]);
    expect([made.code, made.stderr]).toEqual([EXIT_OK, '']);
    const loaded = loadBookBinaryFile(book).toBook();
    expect(loaded.instruments.map((instrument) => [instrument.symbol, instrument.priceDecimals + instrument.sizeDecimals])).toEqual([
      ['BTCUSDT', 4],
      ['1000PEPEUSDT', 7],
      ['TNSRUSDT', 8],
    ]);
    const { fine } = await expectEvalIsReference(book, loaded);
    console.log(`binance-fine book: ${fine.positions} positions on instruments finer than a micro, ${fine.failing} in failing scopes`);
    // Seed 5: 3,106 such positions, 89 in failing scopes.
    expect(fine.positions).toBeGreaterThan(1_000);
    expect(fine.failing).toBeGreaterThan(20);
  });
});
