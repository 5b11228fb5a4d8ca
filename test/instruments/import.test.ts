// `liq instruments import` (docs/venues.md): each venue's fixtures (test/fixtures/venues/, written
// from the venues' documented example responses) to book instruments, field by field; the checks
// against the engine's maintenance amounts; every refusal as its one line; the CLI end to end.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bookFromJsonValue, type InstrumentJson } from '../../src/book/json.js';
import {
  decimalText,
  importInstruments,
  instrumentsFileText,
  parseVenueDecimal,
  readVenueFile,
  VENUE_FILE_BYTES_MAX,
  type ImportResult,
  type VenueAdapter,
} from '../../src/instruments/import.js';
import { BINANCE } from '../../src/instruments/venues/binance.js';
import { BYBIT } from '../../src/instruments/venues/bybit.js';
import { HYPERLIQUID, maintenanceRate } from '../../src/instruments/venues/hyperliquid.js';
import { OKX } from '../../src/instruments/venues/okx.js';
import { InputError } from '../../src/io/errors.js';
import { runCli } from '../support/cli.js';

const FIXTURES = 'test/fixtures/venues';
const scratch = mkdtempSync(join(tmpdir(), 'liq-instruments-'));

/** The fixture files of a venue, in directory order. */
function fixtures(venue: string): string[] {
  return readdirSync(join(FIXTURES, venue))
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => join(FIXTURES, venue, name));
}

function fixture(venue: string, name: string): string {
  return join(FIXTURES, venue, name);
}

function run(adapter: VenueAdapter, paths: string[], skipUnsupported = false): ImportResult {
  return importInstruments(adapter, paths.map((path) => readVenueFile(path)), { skipUnsupported });
}

/** The fixture file with `edit` applied to its text, written to a scratch file of the same name. */
let variants = 0;
function variant(venue: string, name: string, edit: (text: string) => string): string {
  const text = readFileSync(fixture(venue, name), 'utf8');
  const edited = edit(text);
  expect(edited, `the edit of ${name} changed nothing`).not.toBe(text);
  const dir = join(scratch, `v${variants++}`);
  mkdirSync(dir);
  const path = join(dir, name);
  writeFileSync(path, edited);
  return path;
}

/** The one-line InputError message `action` throws. */
function refusal(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a refusal');
}

/** Every fixture of the venue, with `path` in place of the fixture of the same name. */
function withFile(venue: string, path: string): string[] {
  const name = path.slice(path.lastIndexOf('/') + 1);
  return fixtures(venue).map((file) => (file.endsWith(`/${name}`) ? path : file));
}

function bySymbol(result: ImportResult): Map<string, InstrumentJson> {
  return new Map(result.instruments.map((instrument) => [instrument.symbol, instrument]));
}

function tier(upToNotional: string | null, maintenanceRate: string, maxLeverage: string) {
  return { upToNotional, maintenanceRate, maxLeverage };
}

/** The instruments load as a book with no accounts, by the book's own loader. */
function loads(instruments: InstrumentJson[]): void {
  const book = bookFromJsonValue({ version: 1, instruments, accounts: [] });
  expect(book.instruments.map((instrument) => instrument.symbol)).toEqual(instruments.map((instrument) => instrument.symbol));
}

describe('exact decimals', () => {
  it('reads a venue decimal exactly, exponents included, and writes it as the book does', () => {
    const text = (input: string) => {
      const parsed = parseVenueDecimal(input);
      return typeof parsed === 'string' ? parsed : decimalText(parsed);
    };
    expect(text('0.10')).toBe('0.1');
    expect(text('1e-7')).toBe('0.0000001');
    expect(text('2E-2')).toBe('0.02');
    expect(text('1.5e+3')).toBe('1500');
    expect(text('1e7')).toBe('10000000');
    expect(text('-0.0')).toBe('0');
    expect(text('9223372036854775807')).toBe('9223372036854775807');
    expect(text('0.1000000000000000055511151231257827')).toBe('0.1000000000000000055511151231257827');
    expect(text('.5')).toBe('".5" is not a decimal number');
    expect(text('1e999')).toBe('"1e999" has an exponent beyond ±64');
    expect(text('0x10')).toBe('"0x10" is not a decimal number');
  });

});

describe('binance', () => {
  const all = fixtures('binance');

  it('imports the perpetuals in TRADING, field by field, with the matching cum of every bracket', () => {
    const result = run(BINANCE, all);
    expect(result.skipped).toEqual([]);
    // 1000PEPEUSDT's 7-decimal tick (pd + sd = 7) is finer than a micro, which the book holds (docs/numbers.md).
    expect(result.instruments.map((instrument) => instrument.symbol)).toEqual(['BTCUSDT', 'ETHUSDT', '1000PEPEUSDT', 'SOLUSDT']);
    const instruments = bySymbol(result);
    expect(instruments.get('BTCUSDT')).toEqual({
      symbol: 'BTCUSDT',
      tickSize: '0.1', // "0.10"
      lotSize: '0.001',
      markPrice: '11793.6', // "11793.63104562" to the tick's decimals
      fundingIndex: '0',
      tiers: [
        tier('50000', '0.004', '125'),
        tier('250000', '0.005', '100'),
        tier('1000000', '0.01', '50'),
        tier('10000000', '0.025', '20'),
        tier('20000000', '0.05', '10'),
        tier('50000000', '0.1', '5'),
        tier('100000000', '0.125', '4'),
        tier('200000000', '0.15', '3'),
        tier('300000000', '0.25', '2'),
        tier(null, '0.5', '1'), // notionalCap 9223372036854775807: the last bracket is unbounded
      ],
    });
    // JSON numbers written with exponents (1e7, 2E-2) read exactly; the mark 1794.375 rounds half up.
    expect(instruments.get('ETHUSDT')).toEqual({
      symbol: 'ETHUSDT',
      tickSize: '0.01',
      lotSize: '0.001',
      markPrice: '1794.38',
      fundingIndex: '0',
      tiers: [tier('10000', '0.0065', '75'), tier('100000', '0.0075', '50'), tier('500000', '0.01', '25'), tier(null, '0.02', '10')],
    });
    expect(instruments.get('SOLUSDT')).toMatchObject({ tickSize: '0.01', lotSize: '1', markPrice: '142.2' });
    // The mark "0.01012345" to the tick's 7 decimals, half up.
    expect(instruments.get('1000PEPEUSDT')).toMatchObject({ tickSize: '0.0000001', lotSize: '1', markPrice: '0.0101235' });
    loads(result.instruments);
  });

  it('leaves out exactly an instrument with pd + sd above 12 with --skip-unsupported, and refuses it without, quoting the loader', () => {
    // 1000PEPEUSDT with a lot of 0.000001: 7 + 6 = 13 decimals, past PRICE_PLUS_SIZE_DECIMALS_MAX.
    const fine = variant('binance', 'exchangeInfo.json', (text) => text.replace('"maxQty": "800000000", "minQty": "1", "stepSize": "1"', '"maxQty": "800000000", "minQty": "1", "stepSize": "0.000001"'));
    const reason = 'lotSize: "0.000001" has 6 decimals and tickSize "0.0000001" 7; together they may have at most 12';
    expect(run(BINANCE, withFile('binance', fine), true).skipped).toEqual([{ symbol: '1000PEPEUSDT', reason }]);
    expect(run(BINANCE, withFile('binance', fine), true).instruments.map((instrument) => instrument.symbol)).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
    expect(refusal(() => run(BINANCE, withFile('binance', fine)))).toBe(
      `${fine}: symbols[2] (1000PEPEUSDT): the book's loader refuses this instrument: ${reason} (--skip-unsupported leaves such instruments out)`,
    );
    // A tick of 13 decimals, likewise.
    const tick = variant('binance', 'exchangeInfo.json', (text) => text.replace('"minPrice": "0.0000001", "tickSize": "0.0000001"', '"minPrice": "0.0000001", "tickSize": "0.0000000000001"'));
    expect(run(BINANCE, withFile('binance', tick), true).skipped).toEqual([{ symbol: '1000PEPEUSDT', reason: 'tickSize: "0.0000000000001" has 13 decimals; at most 12' }]);
  });

  it('refuses a bracket whose cum is off by 0.01, naming the symbol, the bracket and both values', () => {
    const off = variant('binance', 'leverageBracket.json', (text) => text.replace('"maintMarginRatio": 0.005, "cum": 50.0', '"maintMarginRatio": 0.005, "cum": 50.01'));
    expect(refusal(() => run(BINANCE, withFile('binance', off), true))).toBe(
      `${off}: [0] (BTCUSDT) brackets[1] (bracket 2) cum: 50.01 differs from the maintenance amount the engine derives for bracket 2 of BTCUSDT, 50 ` +
        '(cum_k = cum_k−1 + floor_k × (rate_k − rate_k−1), docs/domain.md section 3)',
    );
  });

  it('refuses brackets with a gap or not rising', () => {
    const gap = variant('binance', 'leverageBracket.json', (text) => text.replace('"notionalFloor": 250000,', '"notionalFloor": 250001,'));
    expect(refusal(() => run(BINANCE, withFile('binance', gap), true))).toBe(
      `${gap}: [0] (BTCUSDT) brackets[2] (bracket 3) notionalFloor: must equal the previous bracket's notionalCap 250000 (brackets without gaps), got 250001`,
    );
    const first = variant('binance', 'leverageBracket.json', (text) => text.replace('"notionalCap": 10000, "notionalFloor": 0,', '"notionalCap": 10000, "notionalFloor": 5,'));
    expect(refusal(() => run(BINANCE, withFile('binance', first), true))).toBe(
      `${first}: [1] (ETHUSDT) brackets[0] (bracket 1) notionalFloor: the first bracket's floor must be 0, got 5`,
    );
    const falling = variant('binance', 'leverageBracket.json', (text) =>
      text.replace('"notionalCap": 25000, "notionalFloor": 5000', '"notionalCap": 4000, "notionalFloor": 5000').replace('"notionalFloor": 25000, "maintMarginRatio": 0.05', '"notionalFloor": 4000, "maintMarginRatio": 0.05'),
    );
    expect(refusal(() => run(BINANCE, withFile('binance', falling), true))).toBe(
      `${falling}: [2] (1000PEPEUSDT) brackets[1] (bracket 2) notionalCap: must be above the bracket's notionalFloor 5000 (brackets rising), got 4000`,
    );
  });

  it('refuses malformed input with one line naming the file, the instrument and the field', () => {
    const info = fixture('binance', 'exchangeInfo.json');
    const cases: [string, string, (text: string) => string, string][] = [
      // a missing field
      ['premiumIndex.json', 'missing mark field', (t) => t.replace('"symbol": "SOLUSDT", "markPrice": "142.20499999",', '"symbol": "SOLUSDT",'), '[3] (SOLUSDT) markPrice: is missing (required)'],
      ['exchangeInfo.json', 'missing filter', (t) => t.replace('{ "filterType": "LOT_SIZE", "maxQty": "1000000", "minQty": "1", "stepSize": "1" }', '{ "filterType": "MAX_NUM_ORDERS", "limit": 200 }'), 'symbols[3] (SOLUSDT) filters: has no LOT_SIZE filter'],
      // a number where a decimal string is expected, and the reverse
      ['exchangeInfo.json', 'number tick', (t) => t.replace('"tickSize": "0.01"', '"tickSize": 0.01'), 'symbols[1] (ETHUSDT) filters[0] (PRICE_FILTER) tickSize: must be a decimal string, got the JSON number 0.01'],
      ['leverageBracket.json', 'string rate', (t) => t.replace('"maintMarginRatio": 0.0065, "cum": 0 }', '"maintMarginRatio": "0.0065", "cum": 0 }'), '[1] (ETHUSDT) brackets[0] (bracket 1) maintMarginRatio: must be a JSON number, got the string "0.0065"'],
      ['premiumIndex.json', 'number mark', (t) => t.replace('"markPrice": "1794.37500000"', '"markPrice": 1794.375'), '[1] (ETHUSDT) markPrice: must be a decimal string, got the JSON number 1794.375'],
      // an unknown contract type, a zero or negative tick
      ['exchangeInfo.json', 'contract type', (t) => t.replace('"contractType": "CURRENT_QUARTER"', '"contractType": "WEEKLY"'), 'symbols[4] (BTCUSDT_250328) contractType: unknown contract type "WEEKLY"; the known ones are PERPETUAL, CURRENT_MONTH, NEXT_MONTH, CURRENT_QUARTER, NEXT_QUARTER, CURRENT_QUARTER_DELIVERING, NEXT_QUARTER_DELIVERING, PERPETUAL_DELIVERING, TRADIFI_PERPETUAL'],
      ['exchangeInfo.json', 'zero tick', (t) => t.replace('"tickSize": "0.10"', '"tickSize": "0.00"'), 'symbols[0] (BTCUSDT) filters[0] (PRICE_FILTER) tickSize: must be above 0, got 0'],
      ['exchangeInfo.json', 'negative step', (t) => t.replace('"stepSize": "0.001" },\n        { "filterType": "MARKET_LOT_SIZE"', '"stepSize": "-0.001" },\n        { "filterType": "MARKET_LOT_SIZE"'), 'symbols[0] (BTCUSDT) filters[1] (LOT_SIZE) stepSize: must be above 0, got -0.001'],
      // a `__proto__` key anywhere
      ['premiumIndex.json', 'proto key', (t) => t.replace('"symbol": "ETHUSDT",', '"symbol": "ETHUSDT", "__proto__": { "markPrice": "1" },'), '[1] (ETHUSDT) __proto__: the key "__proto__" is not allowed'],
      ['exchangeInfo.json', 'constructor key', (t) => t.replace('{ "filterType": "MIN_NOTIONAL", "notional": "100" }', '{ "filterType": "MIN_NOTIONAL", "constructor": "100" }'), 'symbols[0] (BTCUSDT) filters[4] constructor: the key "constructor" is not allowed'],
    ];
    for (const [name, what, edit, expected] of cases) {
      const path = variant('binance', name, edit);
      expect(refusal(() => run(BINANCE, withFile('binance', path), true)), what).toBe(`${path}: ${expected}`);
    }
    // a bracket table or a mark missing for a listed symbol
    const noTable = variant('binance', 'leverageBracket.json', (t) => t.replace('"symbol": "SOLUSDT"', '"symbol": "SOLUSDC"'));
    expect(refusal(() => run(BINANCE, withFile('binance', noTable), true))).toBe(
      `${info}: symbols[3] (SOLUSDT): no bracket table for SOLUSDT: none of the GET /fapi/v1/leverageBracket files (${noTable}) has it`,
    );
    const noMark = variant('binance', 'premiumIndex.json', (t) => t.replace('"symbol": "SOLUSDT"', '"symbol": "SOLUSDC"'));
    expect(refusal(() => run(BINANCE, withFile('binance', noMark), true))).toBe(
      `${info}: symbols[3] (SOLUSDT): no mark price for SOLUSDT: none of the GET /fapi/v1/premiumIndex files (${noMark}) has it`,
    );
  });

  it('tells the files apart by content, in any order, and names a file it does not recognise', () => {
    const forward = run(BINANCE, all, true);
    expect(run(BINANCE, [...all].reverse(), true)).toEqual(forward);
    const unknown = join(scratch, 'unknown.json');
    writeFileSync(unknown, '{ "serverTime": 1565613908500 }');
    expect(refusal(() => run(BINANCE, [...all, unknown], true))).toBe(
      `${unknown}: is not recognised as one of the binance responses the instruments are imported from: ` +
        'GET /fapi/v1/exchangeInfo (an object with a "symbols" array); GET /fapi/v1/leverageBracket (an array of objects with "symbol" and "brackets"); ' +
        'GET /fapi/v1/premiumIndex (an array of objects with "symbol" and "markPrice")',
    );
    expect(refusal(() => run(BINANCE, all.filter((path) => !path.endsWith('premiumIndex.json')), true))).toBe(
      `binance needs the response of GET /fapi/v1/premiumIndex too (an array of objects with "symbol" and "markPrice"); none of the files is one: ${fixture('binance', 'exchangeInfo.json')}, ${fixture('binance', 'leverageBracket.json')}`,
    );
    const error = join(scratch, 'error.json');
    writeFileSync(error, '{"code": -2015, "msg": "Invalid API-key"}');
    expect(refusal(() => run(BINANCE, [...all, error], true))).toBe(`${error}: is an error response from binance, not data: code -2015: "Invalid API-key"`);
  });
});

describe('bybit', () => {
  const all = fixtures('bybit');

  it('imports the linear perpetuals in Trading, field by field, with every mmDeduction matching', () => {
    const result = run(BYBIT, all);
    expect(result.skipped).toEqual([]);
    expect(result.instruments.map((instrument) => instrument.symbol)).toEqual(['BTCUSDT', 'ETHUSDT', 'LTCUSDT']); // not the future, not the pre-launch
    const instruments = bySymbol(result);
    expect(instruments.get('BTCUSDT')).toEqual({
      symbol: 'BTCUSDT',
      tickSize: '0.1',
      lotSize: '0.001',
      markPrice: '63245.6', // "63245.57"
      fundingIndex: '0',
      // "66.67" rounds down to 66; mmDeduction 5000 and 15000 are the engine's amounts
      tiers: [tier('2000000', '0.005', '100'), tier('4000000', '0.0075', '66'), tier(null, '0.01', '50')],
    });
    // A tick that is not a power of ten: 0.05 is 5 price units at 2 decimals.
    expect(instruments.get('LTCUSDT')).toEqual({
      symbol: 'LTCUSDT',
      tickSize: '0.05',
      lotSize: '0.1',
      markPrice: '71.37',
      fundingIndex: '0',
      tiers: [tier('200000', '0.01', '50'), tier(null, '0.015', '33')],
    });
    loads(result.instruments);
    expect(bookFromJsonValue({ version: 1, instruments: [instruments.get('LTCUSDT')!], accounts: [] }).instruments[0]).toMatchObject({ priceDecimals: 2, tickUnits: 5n });
  });

  it('refuses an mmDeduction that differs from the engine amount, and tiers not rising', () => {
    const off = variant('bybit', 'risk-limit.json', (t) => t.replace('"mmDeduction": "15000"', '"mmDeduction": "15000.01"'));
    expect(refusal(() => run(BYBIT, withFile('bybit', off)))).toBe(
      `${off}: result list[2] (BTCUSDT) mmDeduction: 15000.01 differs from the maintenance amount the engine derives for risk limit tier 3 of BTCUSDT, 15000 ` +
        '(cum_k = cum_k−1 + floor_k × (rate_k − rate_k−1), docs/domain.md section 3)',
    );
    // A table in percentages, as the risk limit page's inverse example writes it: refused from initialMargin × maxLeverage.
    const percent = variant('bybit', 'risk-limit.json', (t) => t.replace('"maintenanceMargin": "0.005", "initialMargin": "0.01"', '"maintenanceMargin": "0.5", "initialMargin": "1"'));
    expect(refusal(() => run(BYBIT, withFile('bybit', percent)))).toBe(
      `${percent}: result list[0] (BTCUSDT) initialMargin: times maxLeverage 100 is 100, not about 1: the margin rates are not fractions (a percentage table?), and maintenanceMargin cannot be read as one`,
    );
    const falling = variant('bybit', 'risk-limit.json', (t) => t.replace('"riskLimitValue": "400000"', '"riskLimitValue": "200000"'));
    expect(refusal(() => run(BYBIT, withFile('bybit', falling)))).toBe(
      `${falling}: result list[6] (LTCUSDT) riskLimitValue: must be above the previous tier's riskLimitValue 200000 (tiers rising), got 200000`,
    );
    const unknown = variant('bybit', 'instruments-info.json', (t) => t.replace('"contractType": "LinearFutures"', '"contractType": "LinearOption"'));
    expect(refusal(() => run(BYBIT, withFile('bybit', unknown)))).toBe(
      `${unknown}: result list[3] (BTC-27JUN25) contractType: unknown contract type "LinearOption"; the known ones are LinearPerpetual, LinearFutures, InversePerpetual, InverseFutures`,
    );
    const noTiers = variant('bybit', 'risk-limit.json', (t) => t.replaceAll('"symbol": "ETHUSDT"', '"symbol": "ETHPERP"'));
    expect(refusal(() => run(BYBIT, withFile('bybit', noTiers)))).toBe(
      `${fixture('bybit', 'instruments-info.json')}: result list[1] (ETHUSDT): no risk limit tiers for ETHUSDT: none of the GET /v5/market/risk-limit?category=linear files (${noTiers}) has it`,
    );
    const rejected = join(scratch, 'bybit-error.json');
    writeFileSync(rejected, '{"retCode": 10001, "retMsg": "params error", "result": {}, "time": 1}');
    expect(refusal(() => run(BYBIT, [...all, rejected]))).toBe(`${rejected}: is an error response from bybit, not data: retCode 10001: "params error"`);
  });
});

describe('okx', () => {
  const all = fixtures('okx');

  it('imports the live linear USDT/USDC swaps, sizes in base and tiers by notional at the mark', () => {
    const result = run(OKX, all);
    expect(result.instruments.map((instrument) => instrument.symbol)).toEqual(['BTC-USDT-SWAP', 'ETH-USDT-SWAP', 'DOGE-USDT-SWAP']);
    const instruments = bySymbol(result);
    expect(instruments.get('BTC-USDT-SWAP')).toEqual({
      symbol: 'BTC-USDT-SWAP',
      tickSize: '0.1',
      lotSize: '0.0001', // lotSz 0.01 contracts × ctVal 0.01 BTC
      markPrice: '63250.1', // "63250.12"
      fundingIndex: '0',
      // maxSz 2000 and 5000 contracts × 0.01 BTC × 63250.1
      tiers: [tier('1265002', '0.004', '100'), tier('3162505', '0.005', '75'), tier(null, '0.008', '50')],
    });
    expect(instruments.get('ETH-USDT-SWAP')).toEqual({
      symbol: 'ETH-USDT-SWAP',
      tickSize: '0.01',
      lotSize: '0.001',
      markPrice: '3450.18', // "3450.175", half up
      fundingIndex: '0',
      tiers: [tier('1725090', '0.005', '100'), tier(null, '0.01', '50')], // 5000 × 0.1 × 3450.18
    });
    expect(instruments.get('DOGE-USDT-SWAP')).toMatchObject({ tickSize: '0.00001', lotSize: '10', markPrice: '0.12346', tiers: [tier('6173000', '0.01', '50'), tier(null, '0.02', '20')] });
    loads(result.instruments);
  });

  it('refuses a family with no tiers, overlapping tiers and a string where OKX writes strings only', () => {
    const noTiers = variant('okx', 'position-tiers-alts.json', (t) => t.replaceAll('"instFamily": "DOGE-USDT"', '"instFamily": "DOGE-USDC"'));
    expect(refusal(() => run(OKX, withFile('okx', noTiers)))).toBe(
      `${fixture('okx', 'instruments.json')}: data[2] (DOGE-USDT-SWAP) instFamily: no position tiers for "DOGE-USDT": none of the GET /api/v5/public/position-tiers?instType=SWAP files (${noTiers}, ${fixture('okx', 'position-tiers-btc.json')}) has it`,
    );
    const overlap = variant('okx', 'position-tiers-btc.json', (t) => t.replace('"minSz": "2001"', '"minSz": "1999"'));
    expect(refusal(() => run(OKX, withFile('okx', overlap)))).toBe(
      `${overlap}: data[1] (BTC-USDT) minSz: must not be below the previous tier's maxSz 2000 (tiers overlap), got 1999`,
    );
    const number = variant('okx', 'instruments.json', (t) => t.replace('"ctVal": "0.1"', '"ctVal": 0.1'));
    expect(refusal(() => run(OKX, withFile('okx', number)))).toBe(`${number}: data[1] (ETH-USDT-SWAP) ctVal: must be a decimal string, got the JSON number 0.1`);
  });
});

describe('hyperliquid', () => {
  const all = fixtures('hyperliquid');

  it('imports the listed assets: lot 10^-szDecimals, tick 10^-(6 − szDecimals), rate 1/(2 × max leverage)', () => {
    const result = run(HYPERLIQUID, all, true);
    expect(result.instruments.map((instrument) => instrument.symbol)).toEqual(['BTC', 'ETH', 'HPOS', 'kPEPE']); // LOOM is delisted
    const instruments = bySymbol(result);
    expect(instruments.get('BTC')).toEqual({
      symbol: 'BTC',
      tickSize: '0.1',
      lotSize: '0.00001',
      markPrice: '97321',
      fundingIndex: '0',
      tiers: [tier('150000000', '0.0125', '40'), tier(null, '0.025', '20')],
    });
    expect(instruments.get('kPEPE')).toEqual({
      symbol: 'kPEPE',
      tickSize: '0.000001',
      lotSize: '1',
      markPrice: '0.011234',
      fundingIndex: '0',
      tiers: [tier('20000000', '0.05', '10'), tier(null, '0.1', '5')],
    });
    loads(result.instruments);
  });

  it('rounds 1/(2L) up to the book\'s ppm where it has more decimals: against the account', () => {
    expect(decimalText(maintenanceRate(40n))).toBe('0.0125');
    expect(decimalText(maintenanceRate(1n))).toBe('0.5');
    expect(decimalText(maintenanceRate(3n))).toBe('0.166667'); // 1/6 = 0.1666...
    expect(decimalText(maintenanceRate(15n))).toBe('0.033334'); // 1/30 = 0.0333...
    expect(decimalText(maintenanceRate(128n))).toBe('0.003907'); // 0.00390625
    const instruments = bySymbol(run(HYPERLIQUID, all));
    expect(instruments.get('ETH')!.tiers).toEqual([tier('100000000', '0.02', '25'), tier(null, '0.033334', '15')]);
    expect(instruments.get('HPOS')!.tiers).toEqual([tier(null, '0.166667', '3')]);
  });

  it('refuses contexts that do not match the universe, and a string where Hyperliquid writes a number', () => {
    const short = variant('hyperliquid', 'metaAndAssetCtxs.json', (t) => t.replace(/,\n {4}\{ "dayNtlVlm": "0.0".*\n/, '\n'));
    expect(refusal(() => run(HYPERLIQUID, withFile('hyperliquid', short), true))).toBe(`${short}: [1]: has 4 asset contexts for the 5 assets of its universe (one each, in order)`);
    const text = variant('hyperliquid', 'meta.json', (t) => t.replace('{ "szDecimals": 5, "name": "BTC"', '{ "szDecimals": "5", "name": "BTC"'));
    expect(refusal(() => run(HYPERLIQUID, withFile('hyperliquid', text), true))).toBe(`${text}: universe[0] (BTC) szDecimals: must be a JSON number, got the string "5"`);
    const falling = variant('hyperliquid', 'meta.json', (t) => t.replace('"lowerBound": "20000000.0"', '"lowerBound": "0.0"'));
    expect(refusal(() => run(HYPERLIQUID, withFile('hyperliquid', falling), true))).toBe(
      `${falling}: marginTables[1][1] (margin table 52) marginTiers[1] lowerBound: must be above the previous tier's lowerBound 0 (tiers rising), got 0`,
    );
  });
});

describe('venue files', () => {
  it('are capped at 64 MiB, from the size, before anything is read', () => {
    const large = join(scratch, 'large.json');
    writeFileSync(large, '');
    truncateSync(large, VENUE_FILE_BYTES_MAX + 1); // sparse: nothing written
    expect(refusal(() => readVenueFile(large))).toBe(`${large}: has 67,108,865 bytes; a venue file may have at most 67,108,864 bytes (64 MiB)`);
  });

  it('refuse an array of more elements than any venue lists', () => {
    const long = join(scratch, 'long.json');
    writeFileSync(long, `{ "symbols": [${'0,'.repeat(1_000_000)}0] }`);
    expect(refusal(() => run(BINANCE, [long, fixture('binance', 'leverageBracket.json'), fixture('binance', 'premiumIndex.json')]))).toBe(
      `${long}: symbols: has 1,000,001 elements; an array the import reads may have at most 1,000,000`,
    );
  });

  it('name where the JSON is wrong, and refuse what is not a regular file', () => {
    const broken = join(scratch, 'broken.json');
    writeFileSync(broken, '{ "symbols": [\n  { "symbol": "BTCUSDT", }\n] }');
    expect(refusal(() => readVenueFile(broken))).toBe(`${broken}: is not valid JSON: line 2, column 26: expected a property name in double quotes, got '}'`);
    expect(refusal(() => readVenueFile(scratch))).toBe(`${scratch}: is a directory; a venue file is read from a regular file`);
  });

  it('keep numbers as the venue wrote them, however deep the nesting', () => {
    const deep = join(scratch, 'deep.json');
    writeFileSync(deep, `${'['.repeat(200_000)}0.1000000000000000055511${']'.repeat(200_000)}`);
    let value = readVenueFile(deep).value;
    for (let depth = 0; depth < 200_000; depth++) value = (value as unknown[])[0];
    expect(value).toEqual({ text: '0.1000000000000000055511' });
    // A forbidden key that deep is refused by a path shown by its two ends.
    writeFileSync(deep, `{"a": ${'['.repeat(200_000)}{"__proto__": 1}${']'.repeat(200_000)}}`);
    const path = `a${'[0]'.repeat(200_000)} __proto__`;
    expect(refusal(() => readVenueFile(deep))).toBe(`${deep}: ${path.slice(0, 120)} ... ${path.slice(-120)}: the key "__proto__" is not allowed`);
  });

  it('the instruments file is the JSON of the result', () => {
    const result = run(BYBIT, fixtures('bybit'));
    expect(JSON.parse(instrumentsFileText(result))).toEqual({ version: 1, venue: 'bybit', instruments: result.instruments });
    expect(JSON.parse(instrumentsFileText({ venue: 'okx', instruments: [], skipped: [] }))).toEqual({ version: 1, venue: 'okx', instruments: [] });
  });
});

describe('liq instruments', () => {
  it('liq instruments --help and liq instruments import --help print their help', async () => {
    for (const argv of [['instruments', '--help'], ['help', 'instruments']]) {
      const { code, stdout, stderr } = await runCli(argv);
      expect([code, stderr]).toEqual([0, '']);
      expect(stdout).toMatch(/^usage: liq instruments SUBCOMMAND\n/);
      expect(stdout).toContain('import --venue V FILES...');
    }
    const { code, stdout, stderr } = await runCli(['instruments', 'import', '--help']);
    expect([code, stderr]).toEqual([0, '']);
    expect(stdout).toMatch(/^usage: liq instruments import FILE\.\.\. --venue VENUE \[--out PATH\] \[--skip-unsupported\]\n/);
    for (const option of ['--venue', '--out', '--skip-unsupported', '-h, --help']) expect(stdout).toContain(option);
  });

  it('a usage error is one line and exit 2', async () => {
    const cases: [string[], string][] = [
      [['instruments'], 'liq instruments: instruments takes one SUBCOMMAND, got none; see liq instruments --help\n'],
      [['instruments', 'export'], 'liq instruments: unknown subcommand "export"; the subcommands are import; see liq instruments --help\n'],
      [['instruments', 'import', 'a.json'], 'liq instruments import: --venue VENUE is required: binance or bybit or okx or hyperliquid; see liq instruments import --help\n'],
      [['instruments', 'import', '--venue', 'kraken', 'a.json'], 'liq instruments import: --venue takes binance or bybit or okx or hyperliquid, got "kraken"; see liq instruments import --help\n'],
      [['instruments', 'import', '--venue', 'okx'], 'liq instruments import: instruments import takes one or more FILE..., got none; see liq instruments import --help\n'],
    ];
    for (const [argv, expected] of cases) {
      const { code, stdout, stderr } = await runCli(argv);
      expect([code, stdout, stderr]).toEqual([2, '', expected]);
    }
  });

  it('writes the instruments to standard output in process', async () => {
    const { code, stdout, stderr } = await runCli(['instruments', 'import', '--venue', 'okx', ...fixtures('okx')]);
    expect([code, stderr]).toEqual([0, '']);
    expect(JSON.parse(stdout)).toEqual({ version: 1, venue: 'okx', instruments: run(OKX, fixtures('okx')).instruments });
  });

  describe('end to end (node bin/liq.js)', () => {
    beforeAll(() => {
      // bin/liq.js runs dist/: build it when it is missing or older than these sources.
      const built = 'dist/src/cli/instruments.js';
      const sources = ['src/cli/instruments.ts', 'src/cli/main.ts', 'src/cli/commands.ts', 'src/instruments/import.ts', ...readdirSync('src/instruments/venues').map((name) => `src/instruments/venues/${name}`)];
      const newest = Math.max(...sources.map((path) => statSync(path).mtimeMs));
      if (!existsSync(built) || statSync(built).mtimeMs < newest) spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { encoding: 'utf8' });
      expect(existsSync(built)).toBe(true);
    }, 120_000);

    const liq = (args: string[]) => spawnSync(process.execPath, ['bin/liq.js', 'instruments', 'import', ...args], { encoding: 'utf8' });

    // 1000PEPEUSDT with a 13-decimal tick: beyond what the book holds (pd + sd up to 12).
    const tooFine = () =>
      withFile('binance', variant('binance', 'exchangeInfo.json', (text) => text.replace('"minPrice": "0.0000001", "tickSize": "0.0000001"', '"minPrice": "0.0000001", "tickSize": "0.0000000000001"')));

    it('writes a file the book loader loads, the 7-decimal tick too', () => {
      const out = join(scratch, 'binance-instruments.json');
      const run = liq(['--venue', 'binance', ...fixtures('binance'), '--out', out]);
      expect(run.status).toBe(0);
      expect(run.stdout).toBe(`${out}: 4 instruments from binance\n`);
      expect(run.stderr).toBe('');
      const document = JSON.parse(readFileSync(out, 'utf8')) as { version: number; venue: string; instruments: InstrumentJson[] };
      expect([document.version, document.venue]).toEqual([1, 'binance']);
      const book = bookFromJsonValue({ version: 1, instruments: document.instruments, accounts: [] });
      expect(book.instruments.map((instrument) => instrument.symbol)).toEqual(['BTCUSDT', 'ETHUSDT', '1000PEPEUSDT', 'SOLUSDT']);
      expect(book.instruments[0]).toMatchObject({ priceDecimals: 1, sizeDecimals: 3, tickUnits: 1n, lotUnits: 1n, markUnits: 117936n });
      expect(book.instruments[2]).toMatchObject({ priceDecimals: 7, sizeDecimals: 0, tickUnits: 1n, lotUnits: 1n, markUnits: 101235n });
    });

    it('--skip-unsupported leaves out exactly the instrument the book cannot hold', () => {
      const out = join(scratch, 'binance-skipped.json');
      const run = liq(['--venue', 'binance', ...tooFine(), '--out', out, '--skip-unsupported']);
      expect(run.status).toBe(0);
      expect(run.stdout).toBe(`${out}: 3 instruments from binance\n`);
      expect(run.stderr).toBe('liq instruments import: left out 1 instrument the book cannot hold (--skip-unsupported): 1000PEPEUSDT (tickSize: "0.0000000000001" has 13 decimals; at most 12)\n');
    });

    it('without --skip-unsupported: exit 1, one line, and no file', () => {
      const out = join(scratch, 'refused.json');
      const files = tooFine();
      const run = liq(['--venue', 'binance', ...files, '--out', out]);
      expect(run.status).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(
        `liq instruments: ${files.find((file) => file.endsWith('exchangeInfo.json'))}: symbols[2] (1000PEPEUSDT): the book's loader refuses this instrument: ` +
          'tickSize: "0.0000000000001" has 13 decimals; at most 12 (--skip-unsupported leaves such instruments out)\n',
      );
      expect(existsSync(out)).toBe(false);
    });
  });
});
