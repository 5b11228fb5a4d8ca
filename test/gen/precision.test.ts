// `liq gen --precision` (docs/generator.md, "Instruments"): `micro`, the default, gives byte for
// byte the books the generator gave before the option existed (hashes taken then); `venue` gives
// alts whose tick and lot decimals follow what venues list, about a third of them finer than a
// micro (pd + sd 7 or 8) and some up to 12, and a book that loads through both formats, whose
// values follow the rounding of docs/numbers.md.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { decodeBookBinary, loadBookBinaryFile } from '../../src/book/binary.js';
import { parseBookJson } from '../../src/book/json.js';
import { fundingDecimals, valueDivisor } from '../../src/book/model.js';
import { checkPosition, instrumentRules } from '../../src/book/ranges.js';
import { divCeil, divFloor } from '../../src/fixed/rounding.js';
import { generateBook, generatedBookToBook, type GenerateOptions } from '../../src/gen/generate.js';
import { generateInstruments } from '../../src/gen/instruments.js';
import { generatedBookJson, writeGeneratedBinary } from '../../src/gen/write.js';
import { evaluateAccount } from '../../src/reference/evaluate.js';
import { runCli } from '../support/cli.js';
import { positionInts } from '../support/positions.js';

const scratch = mkdtempSync(join(tmpdir(), 'liq-gen-precision-'));
let files = 0;

function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function binaryOf(options: GenerateOptions): Buffer {
  const path = join(scratch, `book-${files++}.bin`);
  writeGeneratedBinary(path, generateBook(options));
  return readFileSync(path);
}

/** pd + sd → number of instruments. */
function decimalsHistogram(instruments: readonly { priceDecimals: number; sizeDecimals: number }[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const { priceDecimals, sizeDecimals } of instruments) counts[priceDecimals + sizeDecimals] = (counts[priceDecimals + sizeDecimals] ?? 0) + 1;
  return counts;
}

describe('--precision micro', () => {
  // SHA-256 of the book JSON text and of the binary book without its version field and checksum
  // (bytes 12 to the end less 4: version 2 is the only change to the file), taken with the
  // generator as it was before --precision existed.
  const BEFORE: [string, GenerateOptions, string, string][] = [
    ['seed 1', { accounts: 2_000, seed: 1 }, '2b7a7b92107671d0c208c4f7857f47fafde2d38631d89af1d582faf83ae73eb6', '5619a29c2f70ea4526bc98c1e1bac22356fec8fe161e44a0aa79c7e4869772fc'],
    [
      'seed 2, stress, 1,000 instruments',
      { accounts: 2_000, seed: 2, profile: 'stress', instruments: 1_000, isolatedShare: 0.4, nearMaintenanceShare: 0.05 },
      '9f727fa914d3484d025b9b4b4ef88e038de87fd53dcc4bf79b3c28b85219e4a2',
      '0979ec1630801d6e6eadc7ecb421e6e06e68c7200469f8f7ce73712a86cbb90d',
    ],
    ['seed 3, 7 instruments', { accounts: 500, seed: 3, instruments: 7 }, '30479e125316507b19e0546dd4c963f7bd9fc01ae939ee347453708e7d315b97', 'df525de637acbe600259f2c30aca465d3ddf0cf5a5156b10ca8e1eb4de7d30c3'],
    [
      'seed 42, 300 instruments, micro given',
      { accounts: 3_000, seed: 42, instruments: 300, precision: 'micro' },
      'fa94d912265ec2f2adbdfa6f931d3f12695cc2313bc79f218d3d7d4ad37b3c89',
      '39f20a0def7f8fbfe3b975f5c11360b09906d714149ac1d1556e1491c7e07d50',
    ],
  ];

  test.each(BEFORE)('gives the book it gave before the option (%s)', (_, options, jsonHash, bodyHash) => {
    expect(sha256(generatedBookJson(generateBook(options)))).toBe(jsonHash);
    const bytes = binaryOf(options);
    expect(bytes.readUInt32LE(8)).toBe(2);
    expect(sha256(bytes.subarray(12, bytes.length - 4))).toBe(bodyHash);
  });

  test('every generated instrument has pd + sd ≤ 6', () => {
    const { instruments } = generateInstruments(1_000, 9);
    expect(Math.max(...instruments.map((instrument) => instrument.priceDecimals + instrument.sizeDecimals))).toBe(6);
  });
});

describe('--precision venue', () => {
  const options: GenerateOptions = { accounts: 3_000, seed: 1, precision: 'venue', nearMaintenanceShare: 0.05 };

  test('about a third of the instruments are finer than a micro at 7 or 8 decimals, some up to 12, the rest as micro', () => {
    const venue = generateInstruments(100, 1, 'venue').instruments;
    const micro = generateInstruments(100, 1, 'micro').instruments;
    expect(decimalsHistogram(venue)).toEqual({ 4: 57, 5: 2, 7: 20, 8: 15, 9: 3, 10: 2, 12: 1 });
    const fine = venue.filter((instrument) => instrument.priceDecimals + instrument.sizeDecimals > 6);
    expect(fine.every((instrument) => instrument.priceDecimals === 7 && instrument.tickUnits === 1n && instrument.lotUnits === 1n)).toBe(true);
    // The same alts otherwise: symbols, brackets, and the mark to the micro instrument's tick; the
    // funding index the same share of the mark, in the instrument's own units.
    for (let i = 0; i < 100; i++) {
      const v = venue[i];
      const m = micro[i];
      expect(v.symbol).toBe(m.symbol);
      expect(v.tiers).toEqual(m.tiers);
      if (v.priceDecimals + v.sizeDecimals <= 6) {
        expect(v).toEqual(m);
        continue;
      }
      const shift = 10n ** BigInt(v.priceDecimals - m.priceDecimals);
      const markRatio = Number(v.markUnits) / Number(m.markUnits * shift);
      expect(Math.abs(markRatio - 1)).toBeLessThan(1e-4);
      // Index / 10^fundingDecimals quote: the same fraction of the mark for both.
      const share = (instrument: typeof v) => Number(instrument.fundingIndex) / 10 ** fundingDecimals(instrument) / (Number(instrument.markUnits) / 10 ** instrument.priceDecimals);
      expect(Math.abs(share(v) - share(m))).toBeLessThan(1e-6);
    }
    // The majors do not change.
    expect(venue.slice(0, 5)).toEqual(micro.slice(0, 5));
  });

  test('the book loads through the JSON and binary loaders, with positions on instruments of pd + sd ≥ 7', () => {
    const generated = generateBook(options);
    const expected = generatedBookToBook(generated);
    const onFine = expected.accounts.flatMap((account) => account.positions).filter((p) => valueDivisor(expected.instruments[p.instrument]) > 1n);
    expect(onFine.length).toBeGreaterThan(500);
    expect(new Set(onFine.map((p) => expected.instruments[p.instrument].priceDecimals + expected.instruments[p.instrument].sizeDecimals))).toEqual(new Set([7, 8, 9, 10, 12]));

    const path = join(scratch, 'venue.bin');
    writeGeneratedBinary(path, generated);
    expect(readFileSync(path).readUInt32LE(8)).toBe(2);
    expect(loadBookBinaryFile(path).toBook()).toEqual(expected);
    expect(parseBookJson(generatedBookJson(generated))).toEqual(expected);
    expect(decodeBookBinary(readFileSync(path)).accountCount).toBe(3_000);
  });

  test('its cost bases are ceil(z·entry/d) of a whole entry, and every position is in range', () => {
    const book = generatedBookToBook(generateBook(options));
    const rules = book.instruments.map(instrumentRules);
    for (const account of book.accounts) {
      for (const p of account.positions) {
        const issue = checkPosition(rules[p.instrument], positionInts(p));
        expect(issue).toBeNull();
        const d = valueDivisor(book.instruments[p.instrument]);
        const q = rules[p.instrument].q;
        const z = p.sizeUnits;
        const entry = z > 0n ? divFloor(p.costMicro * d, z * q) : divCeil(-p.costMicro * d, -z * q);
        expect(divCeil(z * q * entry, d), `${account.id} ${book.instruments[p.instrument].symbol}`).toBe(p.costMicro);
      }
    }
  });

  test('the kernel agrees with the BigInt reference on every field, and some scopes fail', () => {
    const generated = generateBook({ ...options, accounts: 2_000, profile: 'stress' });
    const path = join(scratch, 'venue-eval.bin');
    writeGeneratedBinary(path, generated);
    const engine = loadBookBinaryFile(path);
    const book = engine.toBook();
    engine.evaluate();
    let failing = 0;
    for (let a = 0; a < book.accounts.length; a++) {
      const kernel = engine.accountResult(a);
      expect(kernel, `account ${a}`).toEqual(evaluateAccount(book, a));
      if (kernel.crossStatus !== 'healthy' || kernel.positions.some((p) => p.status !== null && p.status !== 'healthy')) failing++;
    }
    expect(failing).toBeGreaterThan(0);
  });

  test('is pinned, and liq gen --precision venue writes the library\'s bytes', async () => {
    const bytes = binaryOf({ accounts: 1_000, seed: 1, precision: 'venue' });
    expect(sha256(bytes)).toBe(VENUE_PINNED);
    const path = join(scratch, 'cli-venue.bin');
    const made = await runCli(['gen', '--accounts', '1000', '--seed', '1', '--precision', 'venue', '--out', path]);
    expect([made.code, made.stderr]).toEqual([0, '']);
    expect(readFileSync(path).equals(bytes)).toBe(true);
    const micro = await runCli(['gen', '--accounts', '1000', '--seed', '1', '--precision', 'micro', '--out', path]);
    expect(micro.code).toBe(0);
    expect(readFileSync(path).equals(binaryOf({ accounts: 1_000, seed: 1 }))).toBe(true);
  });
});

describe('the option is validated like the others', () => {
  test('on the command line: one line, exit 2', async () => {
    const path = join(scratch, 'never.bin');
    for (const [argv, message] of [
      [['--precision', 'fine'], '--precision takes micro or venue, got "fine"'],
      [['--precision'], '--precision needs a value'],
      [['--precision', 'venue', '--precision', 'micro'], '--precision is given twice'],
    ] as const) {
      const { code, stdout, stderr } = await runCli(['gen', '--accounts', '10', '--out', path, ...argv]);
      expect([code, stdout, stderr]).toEqual([2, '', `liq gen: ${message}; see liq gen --help\n`]);
    }
  });

  test('from code: a RangeError naming the option', () => {
    expect(() => generateBook({ accounts: 1, precision: 'fine' as never })).toThrow(new RangeError('precision must be one of micro, venue, got fine'));
    const instrumentList = generateInstruments(3, 1).instruments;
    expect(() => generateBook({ accounts: 1, precision: 'venue', instrumentList })).toThrow(
      new RangeError("precision 'venue' sets the generated instruments' decimals; instrumentList gives its own instruments"),
    );
    expect(generateBook({ accounts: 1, precision: 'micro', instrumentList }).instruments).toEqual(instrumentList);
  });
});

/** SHA-256 of `liq gen --accounts 1000 --seed 1 --precision venue` (binary, version 2). */
const VENUE_PINNED = 'a87e3064d8907e1a64c3e8c214e0546d40ebfad9513cb89c8f77d4f8eed47e22';
