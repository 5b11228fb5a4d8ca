// Venue instruments finer than a micro (docs/venues.md; docs/numbers.md, "Instruments finer than a
// micro"): Binance's 7-decimal ticks, 1000PEPEUSDT (lot 1, pd + sd = 7) and a TNSRUSDT-like
// contract (lot 0.1, pd + sd = 8), from test/fixtures/venues/binance-fine/, import as book
// instruments; a book generated over them (`liq gen --instruments-file`) loads in both formats,
// its cost bases are the spec's rounding of an entry price, and its funding lags are in the
// instruments' own funding units.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeBookBinary, loadBookBinaryFile } from '../../src/book/binary.js';
import { parseBookJson } from '../../src/book/json.js';
import { fundingDecimals, quotePerUnit, valueDivisor } from '../../src/book/model.js';
import { checkPosition, fundingOwed, instrumentRules } from '../../src/book/ranges.js';
import { divCeil, divFloor } from '../../src/fixed/rounding.js';
import { generateBook, generatedBookToBook } from '../../src/gen/generate.js';
import { GIVEN_FUNDING_RATE } from '../../src/gen/instruments.js';
import { generatedBookJson, writeGeneratedBinary } from '../../src/gen/write.js';
import { readInstrumentsFile } from '../../src/instruments/file.js';
import { importInstruments, instrumentsFileText, readVenueFile } from '../../src/instruments/import.js';
import { BINANCE } from '../../src/instruments/venues/binance.js';
import { runCli } from '../support/cli.js';
import { positionInts } from '../support/positions.js';

const FIXTURES = 'test/fixtures/venues/binance-fine';
const FILES = ['exchangeInfo.json', 'leverageBracket.json', 'premiumIndex.json'];
const scratch = mkdtempSync(join(tmpdir(), 'liq-fine-venue-'));

function importFine() {
  return importInstruments(BINANCE, FILES.map((name) => readVenueFile(join(FIXTURES, name))), { skipUnsupported: false });
}

/** The instruments file the import writes, at a scratch path. */
function instrumentsFile(): string {
  const path = join(scratch, 'binance-fine.json');
  writeFileSync(path, instrumentsFileText(importFine()));
  return path;
}

describe('Binance instruments with 7-decimal ticks', () => {
  it('import, nothing left out, with the tick, lot and mark the venue lists', () => {
    const result = importFine();
    expect(result.skipped).toEqual([]);
    expect(result.instruments.map((instrument) => [instrument.symbol, instrument.tickSize, instrument.lotSize, instrument.markPrice])).toEqual([
      ['BTCUSDT', '0.1', '0.001', '11793.6'],
      ['1000PEPEUSDT', '0.0000001', '1', '0.0101235'], // "0.01012345", half up
      ['TNSRUSDT', '0.0000001', '0.1', '0.1834568'], // "0.18345675", half up
    ]);
    const instruments = readInstrumentsFile(instrumentsFile());
    expect(instruments.map((instrument) => [instrument.priceDecimals, instrument.sizeDecimals, instrument.markUnits])).toEqual([
      [1, 3, 117_936n],
      [7, 0, 101_235n],
      [7, 1, 1_834_568n],
    ]);
    expect(instruments.map((instrument) => [quotePerUnit(instrument), valueDivisor(instrument), fundingDecimals(instrument)])).toEqual([
      [100n, 1n, 7],
      [1n, 10n, 12],
      [1n, 100n, 11],
    ]);
    // The brackets and their maintenance amounts (checked against the venue's cum on import).
    expect(instruments[2].tiers).toEqual(instruments[1].tiers);
    expect(instruments[1].tiers.map((tier) => [tier.upToNotional, tier.ratePpm, tier.leverageMax])).toEqual([
      [5_000_000_000n, 10_000n, 50],
      [25_000_000_000n, 25_000n, 20],
      [null, 50_000n, 10],
    ]);
  });

  it('a book generated over them loads from the binary and the JSON formats, to the generated book', () => {
    const instrumentList = readInstrumentsFile(instrumentsFile());
    const generated = generateBook({ accounts: 3_000, seed: 11, nearMaintenanceShare: 0.05, instrumentList });
    const expected = generatedBookToBook(generated);
    const held = [0, 0, 0];
    for (const i of generated.posInst) held[i]++;
    expect(held.every((count) => count > 300)).toBe(true);

    const path = join(scratch, 'fine.bin');
    writeGeneratedBinary(path, generated);
    expect(loadBookBinaryFile(path).toBook()).toEqual(expected);
    const json = generatedBookJson(generated);
    expect(parseBookJson(json)).toEqual(expected);
    expect(decodeBookBinary(readFileSync(path)).accountCount).toBe(3_000);

    const rules = expected.instruments.map(instrumentRules);
    let checked = 0;
    for (const account of expected.accounts) {
      for (const p of account.positions) {
        const instrument = expected.instruments[p.instrument];
        const issue = checkPosition(rules[p.instrument], positionInts(p));
        expect(issue).toBeNull();
        const d = valueDivisor(instrument);
        if (d === 1n) continue;
        // The cost basis is ceil(z·entry/d) for a whole entry in price units (the generator draws
        // one): for a long the entry floor(c·d/z), for a short ceil(|c|·d/|z|), gives it back.
        const z = p.sizeUnits;
        const entry = z > 0n ? divFloor(p.costMicro * d, z) : divCeil(-p.costMicro * d, -z);
        expect(divCeil(z * entry, d), `${account.id} ${instrument.symbol}`).toBe(p.costMicro);
        // Funding lags 0 to 3 intervals of 0.01% of the mark, in 10^-(12 − sd) units: the funding
        // owed is at most 0.03% of the notional (ten or a hundred times more if the step had not
        // been divided by d).
        const notional = z * instrument.markUnits / d;
        const owed = fundingOwed(z, quotePerUnit(instrument), instrument.fundingIndex, p.fundingIndex);
        const magnitude = notional < 0n ? -notional : notional;
        expect(owed <= (magnitude * 3n) / 10_000n + 2n && owed >= -((magnitude * 3n) / 10_000n) - 2n, `${owed} on ${magnitude}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(600);
    // The lag step of an instrument finer than a micro: 0.01% of the mark in its funding units.
    expect(Math.round(((101_235 * 1_000_000) / 10) * GIVEN_FUNDING_RATE)).toBe(1_012_350);
    const lagged = expected.accounts.flatMap((account) => account.positions).filter((p) => p.instrument === 1 && p.fundingIndex !== 0n);
    expect(lagged.length).toBeGreaterThan(0);
    for (const p of lagged) expect([1_012_350n, 2_024_700n, 3_037_050n]).toContain(-p.fundingIndex);
  });

  it('liq gen --instruments-file writes that book', async () => {
    const out = join(scratch, 'cli-fine.bin');
    const file = instrumentsFile();
    const made = await runCli(['gen', '--instruments-file', file, '--accounts', '500', '--seed', '2', '--out', out]);
    expect([made.code, made.stderr]).toEqual([0, '']);
    const expected = generatedBookToBook(generateBook({ accounts: 500, seed: 2, instrumentList: readInstrumentsFile(file) }));
    expect(loadBookBinaryFile(out).toBook()).toEqual(expected);
    const venue = await runCli(['gen', '--instruments-file', file, '--precision', 'venue', '--accounts', '10', '--out', join(scratch, 'x.bin')]);
    expect([venue.code, venue.stdout, venue.stderr]).toEqual([
      2,
      '',
      "liq gen: --precision venue sets the generated instruments' decimals, and --instruments-file PATH gives its own: give one; see liq gen --help\n",
    ]);
  });
});
