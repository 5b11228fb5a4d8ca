import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bookFromJsonValue,
  bookToJsonValue,
  parseBookJson,
} from '../../src/book/json.js';
import { bracketOf } from '../../src/book/ranges.js';
import { quotePerUnit, type Account, type Book, type Instrument, type Position, type Tier } from '../../src/book/model.js';
import {
  ACCOUNT_ID_LENGTH_MAX,
  FUNDING_INDEX_ABS_MAX,
  POSITIONS_PER_ACCOUNT_MAX,
  PRICE_UNITS_MAX,
  QUOTE_ABS_MAX,
  SYMBOL_LENGTH_MAX,
  type ModeName,
} from '../../src/fixed/constants.js';
import { thrown } from '../support/errors.js';

type Json = any;

/** A small valid book: docs/design.md's BTC tiers, an E1-like isolated account and an E3-like cross one. */
function baseBook(): Json {
  return {
    version: 1,
    instruments: [
      {
        symbol: 'BTC-PERP',
        markPrice: '50000',
        tickSize: '0.1',
        lotSize: '0.001',
        fundingIndex: '0',
        tiers: [
          { upToNotional: '50000', maintenanceRate: '0.004', maxLeverage: '125' },
          { upToNotional: '250000', maintenanceRate: '0.005', maxLeverage: '100' },
          { upToNotional: null, maintenanceRate: '0.01', maxLeverage: '50' },
        ],
      },
      {
        symbol: 'ETH-PERP',
        markPrice: '2500',
        tickSize: '0.01',
        lotSize: '0.05',
        fundingIndex: '1.5',
        tiers: [{ upToNotional: null, maintenanceRate: '0.005', maxLeverage: '20' }],
      },
    ],
    accounts: [
      {
        id: 'alice',
        balance: '1800',
        positions: [
          {
            instrument: 'BTC-PERP',
            size: '0.04',
            entryPrice: '50000',
            mode: 'isolated',
            margin: '200',
            leverage: '10',
            fundingIndex: '0',
          },
        ],
      },
      {
        id: 'bob',
        balance: '2000',
        positions: [
          { instrument: 'BTC-PERP', size: '0.04', entryPrice: '50000', mode: 'cross' },
          { instrument: 'ETH-PERP', size: '-0.4', entryPrice: '2500', mode: 'cross', leverage: '5' },
        ],
      },
    ],
  };
}

function parseMutated(mutate: (book: Json) => void): Book {
  const book = baseBook();
  mutate(book);
  return parseBookJson(JSON.stringify(book));
}


const alicePos = (b: Json): Json => b.accounts[0].positions[0];
const bobBtc = (b: Json): Json => b.accounts[1].positions[0];
const bobEth = (b: Json): Json => b.accounts[1].positions[1];
const btc = (b: Json): Json => b.instruments[0];

const ALICE_BTC = 'accounts[0] (alice) positions[0] (BTC-PERP)';
const BOB_BTC = 'accounts[1] (bob) positions[0] (BTC-PERP)';
const BOB_ETH = 'accounts[1] (bob) positions[1] (ETH-PERP)';
const BTC = 'instruments[0] (BTC-PERP)';

describe('bookFromJsonValue: a valid book', () => {
  it('converts the E5-like BTC book to exact integers', () => {
    const book = parseMutated((b) => {
      b.accounts[0].balance = '800';
    });
    const instrument = book.instruments[0];
    expect(instrument).toEqual({
      symbol: 'BTC-PERP',
      priceDecimals: 1,
      sizeDecimals: 3,
      tickUnits: 1n,
      lotUnits: 1n,
      markUnits: 500_000n,
      fundingIndex: 0n,
      tiers: [
        { upToNotional: 50_000_000_000n, ratePpm: 4_000n, leverageMax: 125 },
        { upToNotional: 250_000_000_000n, ratePpm: 5_000n, leverageMax: 100 },
        { upToNotional: null, ratePpm: 10_000n, leverageMax: 50 },
      ],
    });
    expect(quotePerUnit(instrument)).toBe(100n);
    expect(book.accounts[0]).toEqual({
      id: 'alice',
      balanceMicro: 800_000_000n,
      positions: [
        {
          instrument: 0,
          sizeUnits: 40n,
          costMicro: 2_000_000_000n,
          mode: 'isolated',
          marginMicro: 200_000_000n,
          leverage: 10,
          fundingIndex: 0n,
        },
      ],
    });
  });

  it('derives ETH units: tick 0.01 (pd 2), lot 0.05 (sd 2, 5 units), funding at pd+6 decimals', () => {
    const eth = parseMutated(() => {}).instruments[1];
    expect(eth.priceDecimals).toBe(2);
    expect(eth.sizeDecimals).toBe(2);
    expect(eth.tickUnits).toBe(1n);
    expect(eth.lotUnits).toBe(5n);
    expect(eth.markUnits).toBe(250_000n);
    expect(eth.fundingIndex).toBe(150_000_000n); // 1.5 at 8 decimals
    expect(quotePerUnit(eth)).toBe(100n);
  });

  it('fills the defaults: leverage from the bracket at the mark, funding index from the instrument', () => {
    const bob = parseMutated(() => {}).accounts[1];
    expect(bob.positions[0]).toEqual({
      instrument: 0,
      sizeUnits: 40n,
      costMicro: 2_000_000_000n,
      mode: 'cross',
      marginMicro: 0n,
      leverage: 125, // notional 2,000 is in tiers[0]
      fundingIndex: 0n,
    });
    expect(bob.positions[1]).toEqual({
      instrument: 1,
      sizeUnits: -40n,
      costMicro: -1_000_000_000n, // a short's cost basis is negative
      mode: 'cross',
      marginMicro: 0n,
      leverage: 5,
      fundingIndex: 150_000_000n, // the instrument's index
    });
  });

  it('takes the default leverage from the bracket (floor_k, floor_k+1]: 50,000 is tiers[0], above it tiers[1]', () => {
    const leverageAt = (size: string): number =>
      parseMutated((b) => {
        bobBtc(b).size = size;
      }).accounts[1].positions[0].leverage;
    expect(leverageAt('1')).toBe(125); // notional exactly 50,000
    expect(leverageAt('1.001')).toBe(100); // 50,050
    expect(leverageAt('5')).toBe(100); // exactly 250,000
    expect(leverageAt('5.001')).toBe(50);
    expect(leverageAt('0')).toBe(125); // flat: bracket 0
    expect(leverageAt('-6')).toBe(50); // shorts use |size|
  });

  it('accepts an over-precise entry price when the cost basis is a whole number of micro', () => {
    const book = parseMutated((b) => {
      alicePos(b).entryPrice = '50000.025'; // 0.04 × 50000.025 = 2000.001
    });
    expect(book.accounts[0].positions[0].costMicro).toBe(2_000_001_000n);
    expect(bookToJsonValue(book).accounts[0].positions[0].entryPrice).toBe('50000.025');
  });

  it('gives a flat position a cost basis of 0 and writes the mark as its entry price', () => {
    const book = parseMutated((b) => {
      alicePos(b).size = '0';
      alicePos(b).entryPrice = '12345.678901';
    });
    expect(book.accounts[0].positions[0].sizeUnits).toBe(0n);
    expect(book.accounts[0].positions[0].costMicro).toBe(0n);
    expect(bookToJsonValue(book).accounts[0].positions[0].entryPrice).toBe('50000');
  });

  it('accepts trailing zeros, negative balances, negative funding indexes, no version and version 1', () => {
    const book = parseMutated((b) => {
      delete b.version;
      btc(b).tickSize = '0.10';
      btc(b).markPrice = '50000.000';
      btc(b).fundingIndex = '-2.5000001';
      b.accounts[0].balance = '-12.5';
    });
    expect(book.instruments[0].priceDecimals).toBe(1);
    expect(book.instruments[0].tickUnits).toBe(1n);
    expect(book.instruments[0].markUnits).toBe(500_000n);
    expect(book.instruments[0].fundingIndex).toBe(-25_000_001n);
    expect(book.accounts[0].balanceMicro).toBe(-12_500_000n);
    expect(book.accounts[1].positions[0].fundingIndex).toBe(-25_000_001n);
  });

  it('accepts an empty book and an account without positions listed as []', () => {
    expect(parseBookJson('{"instruments": [], "accounts": []}')).toEqual({ instruments: [], accounts: [] });
    const book = parseMutated((b) => {
      b.accounts[0].positions = [];
    });
    expect(book.accounts[0].positions).toEqual([]);
  });

  it('accepts the range limits exactly', () => {
    let book = parseMutated((b) => {
      btc(b).markPrice = '100000000000000'; // 10^15 price units at pd 1
      bobBtc(b).size = '0';
      bobBtc(b).entryPrice = '100000000000000';
      b.accounts[0].balance = '-10000000000';
      alicePos(b).size = '0';
      alicePos(b).margin = '10000000000';
      btc(b).fundingIndex = '100000000000'; // 10^18 units at 7 decimals
      alicePos(b).fundingIndex = '-100000000000';
    });
    expect(book.instruments[0].markUnits).toBe(PRICE_UNITS_MAX);
    expect(book.instruments[0].fundingIndex).toBe(FUNDING_INDEX_ABS_MAX);
    expect(book.accounts[0].balanceMicro).toBe(-QUOTE_ABS_MAX);
    expect(book.accounts[0].positions[0].marginMicro).toBe(QUOTE_ABS_MAX);
    expect(book.accounts[0].positions[0].fundingIndex).toBe(-FUNDING_INDEX_ABS_MAX);
    book = parseMutated((b) => {
      bobBtc(b).size = '-200000'; // notional 10^10 quote exactly
      bobBtc(b).fundingIndex = '50000'; // owed −2·10^10 × (0 − 5·10^11) / 10^6 = 10^16 micro exactly (F fell: the short pays)
    });
    expect(book.accounts[1].positions[0].costMicro).toBe(-QUOTE_ABS_MAX);
    expect(book.accounts[1].positions[0].leverage).toBe(50);
    const error = thrown(() =>
      parseMutated((b) => {
        bobBtc(b).size = '-200000';
        bobBtc(b).fundingIndex = '50000.0000001';
      }),
    );
    expect(error.reason).toBe('funding owed, size × (instrument index − this index) = 10000000000.02, is beyond ±10000000000');
  });

  it('loads the example of docs/book-json.md to the integers the page states', () => {
    const page = readFileSync(new URL('../../docs/book-json.md', import.meta.url), 'utf8');
    const section = page.slice(page.indexOf('\n## Example\n'));
    const block = section.split('\n').filter((line, i, lines) => line.startsWith('    ') && lines.slice(0, i).every((l) => !l.startsWith('It loads')));
    const book = parseBookJson(block.join('\n'));
    expect(book.instruments[0]).toMatchObject({ priceDecimals: 1, sizeDecimals: 3, tickUnits: 1n, lotUnits: 1n, markUnits: 500_000n });
    expect(book.accounts.map((a) => [a.balanceMicro, a.positions[0]])).toEqual([
      [1_800_000_000n, { instrument: 0, sizeUnits: 40n, costMicro: 2_000_000_000n, mode: 'isolated', marginMicro: 200_000_000n, leverage: 10, fundingIndex: 0n }],
      [2_000_000_000n, { instrument: 0, sizeUnits: -500n, costMicro: -25_500_000_000n, mode: 'cross', marginMicro: 0n, leverage: 125, fundingIndex: 0n }],
    ]);
  });

  it('treats a hole in an array (from a JavaScript caller) as a missing element', () => {
    const input = baseBook();
    input.accounts = [, input.accounts[0]];
    const error = thrown(() => bookFromJsonValue(input));
    expect(error.message).toBe('accounts[0]: must be an object, got nothing');
  });

  it('is pure: the input is not changed and a new Book comes back each time', () => {
    const input = baseBook();
    const before = JSON.stringify(input);
    const first = bookFromJsonValue(input);
    const second = bookFromJsonValue(input);
    expect(JSON.stringify(input)).toBe(before);
    expect(first).toEqual(second);
    expect(first).not.toBe(second);
    expect(first.instruments[0].tiers).not.toBe(second.instruments[0].tiers);
  });

  it('computes the bracket of a notional', () => {
    const tiers: Tier[] = [
      { upToNotional: 10n, ratePpm: 1n, leverageMax: 3 },
      { upToNotional: 20n, ratePpm: 2n, leverageMax: 2 },
      { upToNotional: null, ratePpm: 3n, leverageMax: 1 },
    ];
    expect([0n, 1n, 10n, 11n, 20n, 21n, 10n ** 30n].map((n) => bracketOf(tiers, n))).toEqual([0, 0, 0, 1, 1, 2, 2]);
  });
});

interface BadCase {
  name: string;
  mutate?: (book: Json) => void;
  text?: string;
  path: string;
  reason: string;
}

const tooManyPositions = (b: Json): void => {
  b.accounts[0].positions = Array.from({ length: POSITIONS_PER_ACCOUNT_MAX + 1 }, () => ({
    instrument: 'BTC-PERP',
    size: '0',
    entryPrice: '1',
    mode: 'cross',
  }));
};

const badCases: BadCase[] = [
  // document level
  { name: 'syntax error', text: '{"instruments": [', path: 'book', reason: 'is not valid JSON' },
  { name: 'root is an array', text: '[]', path: 'book', reason: 'must be an object, got an array' },
  { name: 'version 2', mutate: (b) => (b.version = 2), path: 'version', reason: '2 is not supported; this loader reads version 1' },
  { name: 'version as a string', mutate: (b) => (b.version = '1'), path: 'version', reason: 'must be the JSON number 1, got the string "1"' },
  { name: 'unknown top-level key', mutate: (b) => (b.fees = {}), path: 'fees', reason: 'unknown key; allowed keys are version, instruments, accounts' },
  { name: 'missing accounts', mutate: (b) => delete b.accounts, path: 'accounts', reason: 'is missing (required)' },
  { name: 'instruments not an array', mutate: (b) => (b.instruments = {}), path: 'instruments', reason: 'must be an array, got an object' },
  {
    name: 'too many instruments',
    mutate: (b) => (b.instruments = Array.from({ length: 65_536 }, () => 0)),
    path: 'instruments',
    reason: 'has 65536 instruments; at most 65535',
  },
  // instruments
  {
    name: 'JSON number for a price',
    mutate: (b) => (btc(b).markPrice = 50000),
    path: `${BTC} markPrice`,
    reason: 'must be a decimal string, got the JSON number 50000 (write decimals as strings)',
  },
  { name: 'price with too many decimals', mutate: (b) => (btc(b).markPrice = '50000.05'), path: `${BTC} markPrice`, reason: '"50000.05" has 2 decimals; prices of BTC-PERP' },
  { name: 'zero mark', mutate: (b) => (btc(b).markPrice = '0'), path: `${BTC} markPrice`, reason: 'must be above 0' },
  {
    name: 'mark above 10^15 price units',
    mutate: (b) => (btc(b).markPrice = '100000000000000.1'),
    path: `${BTC} markPrice`,
    reason: 'is above the largest price, 100000000000000',
  },
  { name: 'malformed decimal', mutate: (b) => (btc(b).markPrice = '5e4'), path: `${BTC} markPrice`, reason: '"5e4" is not a decimal number' },
  { name: 'decimal with a plus sign', mutate: (b) => (btc(b).lotSize = '+0.001'), path: `${BTC} lotSize`, reason: 'is not a decimal number' },
  {
    name: 'decimal string too long',
    mutate: (b) => (btc(b).markPrice = `50000.${'0'.repeat(60)}`),
    path: `${BTC} markPrice`,
    reason: 'is longer than 64 characters',
  },
  { name: 'zero tick', mutate: (b) => (btc(b).tickSize = '0'), path: `${BTC} tickSize`, reason: 'must be above 0, got "0"' },
  { name: 'negative lot', mutate: (b) => (btc(b).lotSize = '-0.001'), path: `${BTC} lotSize`, reason: 'must be above 0' },
  {
    name: 'pd + sd > 12',
    mutate: (b) => (btc(b).tickSize = '0.0000000001'),
    path: `${BTC} lotSize`,
    reason: '"0.001" has 3 decimals and tickSize "0.0000000001" 10; together they may have at most 12',
  },
  { name: 'duplicate symbol', mutate: (b) => (b.instruments[1].symbol = 'BTC-PERP'), path: 'instruments[1] (BTC-PERP) symbol', reason: 'duplicate symbol "BTC-PERP"; instruments[0] has it' },
  { name: 'empty symbol', mutate: (b) => (btc(b).symbol = ''), path: 'instruments[0] symbol', reason: 'must not be empty' },
  {
    name: 'symbol too long',
    mutate: (b) => (btc(b).symbol = 'X'.repeat(SYMBOL_LENGTH_MAX + 1)),
    path: 'instruments[0] symbol',
    reason: 'is 33 characters long; at most 32',
  },
  { name: 'symbol not a string', mutate: (b) => (btc(b).symbol = 7), path: 'instruments[0] symbol', reason: 'must be a string, got the JSON number 7' },
  { name: 'missing fundingIndex', mutate: (b) => delete btc(b).fundingIndex, path: `${BTC} fundingIndex`, reason: 'is missing (required)' },
  {
    name: 'funding index with more than pd + 6 decimals',
    mutate: (b) => (btc(b).fundingIndex = '0.00000001'),
    path: `${BTC} fundingIndex`,
    reason: 'has 8 decimals; funding indexes of BTC-PERP (its price decimals + 6) allow at most 7',
  },
  {
    name: 'funding index beyond ±10^18 units',
    mutate: (b) => (btc(b).fundingIndex = '-100000000000.0000001'),
    path: `${BTC} fundingIndex`,
    reason: 'is beyond ±100000000000',
  },
  { name: 'unknown instrument key, case hint', mutate: (b) => (btc(b).markprice = '1'), path: `${BTC} markprice`, reason: 'unknown key; did you mean "markPrice"?' },
  // tiers
  { name: 'no tiers', mutate: (b) => (btc(b).tiers = []), path: `${BTC} tiers`, reason: 'must have at least 1 tier' },
  {
    name: 'too many tiers',
    mutate: (b) => (btc(b).tiers = Array.from({ length: 17 }, () => ({}))),
    path: `${BTC} tiers`,
    reason: 'has 17 tiers; at most 16',
  },
  { name: 'rate of 100%', mutate: (b) => (btc(b).tiers[2].maintenanceRate = '1'), path: `${BTC} tiers[2] maintenanceRate`, reason: 'must be above 0 and below 1 (100%), got "1"' },
  { name: 'rate of 0', mutate: (b) => (btc(b).tiers[0].maintenanceRate = '0'), path: `${BTC} tiers[0] maintenanceRate`, reason: 'must be above 0' },
  { name: 'rate with 7 decimals', mutate: (b) => (btc(b).tiers[0].maintenanceRate = '0.0040001'), path: `${BTC} tiers[0] maintenanceRate`, reason: 'has 7 decimals; rates (ppm) allow at most 6' },
  {
    name: 'decreasing rates',
    mutate: (b) => (btc(b).tiers[1].maintenanceRate = '0.003'),
    path: `${BTC} tiers[1] maintenanceRate`,
    reason: "must not be below the previous tier's rate 0.004",
  },
  {
    name: 'non-increasing upToNotional',
    mutate: (b) => (btc(b).tiers[1].upToNotional = '50000'),
    path: `${BTC} tiers[1] upToNotional`,
    reason: "must be above the previous tier's upToNotional 50000",
  },
  { name: 'zero upToNotional', mutate: (b) => (btc(b).tiers[0].upToNotional = '0'), path: `${BTC} tiers[0] upToNotional`, reason: 'must be above 0' },
  { name: 'null not last', mutate: (b) => (btc(b).tiers[1].upToNotional = null), path: `${BTC} tiers[1] upToNotional`, reason: 'only the last tier may be unbounded' },
  { name: 'last not null', mutate: (b) => (btc(b).tiers[2].upToNotional = '1000000'), path: `${BTC} tiers[2] upToNotional`, reason: 'the last tier must be unbounded: write null' },
  { name: 'upToNotional missing', mutate: (b) => delete btc(b).tiers[2].upToNotional, path: `${BTC} tiers[2] upToNotional`, reason: 'is missing (required)' },
  { name: 'maxLeverage above 1000', mutate: (b) => (btc(b).tiers[0].maxLeverage = '1001'), path: `${BTC} tiers[0] maxLeverage`, reason: 'must be a whole number from 1 to 1000, got "1001"' },
  { name: 'maxLeverage a fraction', mutate: (b) => (btc(b).tiers[0].maxLeverage = '12.5'), path: `${BTC} tiers[0] maxLeverage`, reason: 'must be a whole number from 1 to 1000' },
  // accounts
  { name: 'duplicate account id', mutate: (b) => (b.accounts[1].id = 'alice'), path: 'accounts[1] (alice) id', reason: 'duplicate account id "alice"; accounts[0] has it' },
  { name: 'empty id', mutate: (b) => (b.accounts[0].id = ''), path: 'accounts[0] id', reason: 'must not be empty' },
  {
    name: 'id too long',
    mutate: (b) => (b.accounts[0].id = 'a'.repeat(ACCOUNT_ID_LENGTH_MAX + 1)),
    path: 'accounts[0] id',
    reason: 'is 65 characters long; at most 64',
  },
  { name: 'id with a control character', mutate: (b) => (b.accounts[0].id = 'al\u0007ice'), path: 'accounts[0] id', reason: '"al\\u0007ice" must be printable ASCII' },
  { name: 'id not ASCII', mutate: (b) => (b.accounts[0].id = 'zoë'), path: 'accounts[0] id', reason: 'must be printable ASCII' },
  { name: 'missing balance', mutate: (b) => delete b.accounts[0].balance, path: 'accounts[0] (alice) balance', reason: 'is missing (required)' },
  { name: 'balance out of range', mutate: (b) => (b.accounts[0].balance = '10000000000.000001'), path: 'accounts[0] (alice) balance', reason: 'is beyond ±10000000000' },
  { name: 'balance with 7 decimals', mutate: (b) => (b.accounts[0].balance = '0.0000001'), path: 'accounts[0] (alice) balance', reason: 'has 7 decimals; quote amounts (micro) allow at most 6' },
  { name: 'too many positions', mutate: tooManyPositions, path: 'accounts[0] (alice) positions', reason: 'has 129 positions; at most 128' },
  { name: 'positions missing', mutate: (b) => delete b.accounts[0].positions, path: 'accounts[0] (alice) positions', reason: 'is missing (required)' },
  { name: 'account not an object', mutate: (b) => (b.accounts[1] = 'bob'), path: 'accounts[1]', reason: 'must be an object, got the string "bob"' },
  // positions
  { name: 'unknown symbol', mutate: (b) => (alicePos(b).instrument = 'SOL-PERP'), path: `accounts[0] (alice) positions[0] instrument`, reason: 'unknown instrument "SOL-PERP"; the book\'s instruments are BTC-PERP, ETH-PERP' },
  { name: 'position not an object', mutate: (b) => (b.accounts[0].positions[0] = null), path: 'accounts[0] (alice) positions[0]', reason: 'must be an object, got null' },
  { name: 'unknown position key', mutate: (b) => (alicePos(b).levrage = '10'), path: `${ALICE_BTC} levrage`, reason: 'unknown key; allowed keys are instrument, size, entryPrice' },
  { name: 'size with too many decimals', mutate: (b) => (alicePos(b).size = '0.0405'), path: `${ALICE_BTC} size`, reason: 'has 4 decimals; sizes of BTC-PERP' },
  { name: 'size not a multiple of the lot', mutate: (b) => (bobEth(b).size = '-0.42'), path: `${BOB_ETH} size`, reason: '"-0.42" is not a whole number of lots of 0.05' },
  {
    name: 'notional over range',
    mutate: (b) => (bobBtc(b).size = '-200000.001'),
    path: `${BOB_BTC} size`,
    reason: 'notional at the mark, |size| × markPrice = 10000000050, is above the largest, 10000000000',
  },
  { name: 'JSON number for a size', mutate: (b) => (alicePos(b).size = 0.04), path: `${ALICE_BTC} size`, reason: 'got the JSON number 0.04 (write decimals as strings)' },
  { name: 'zero entry price', mutate: (b) => (alicePos(b).entryPrice = '0'), path: `${ALICE_BTC} entryPrice`, reason: 'must be above 0, got "0"' },
  { name: 'negative entry price', mutate: (b) => (alicePos(b).entryPrice = '-50000'), path: `${ALICE_BTC} entryPrice`, reason: 'must be above 0' },
  {
    name: 'over-precise entry price',
    mutate: (b) => (alicePos(b).entryPrice = '50000.0000001'),
    path: `${ALICE_BTC} entryPrice`,
    reason: '"50000.0000001" is over-precise: the cost basis size × entryPrice = 2000.000000004 is not a whole number of micro',
  },
  {
    name: 'entry price with more than 18 decimals',
    mutate: (b) => (alicePos(b).entryPrice = '1.0000000000000000001'),
    path: `${ALICE_BTC} entryPrice`,
    reason: 'has 19 decimals; entry prices allow at most 18',
  },
  {
    name: 'entry price above 10^15 price units',
    mutate: (b) => (alicePos(b).entryPrice = '100000000000000.01'),
    path: `${ALICE_BTC} entryPrice`,
    reason: 'is above the largest price',
  },
  {
    name: 'cost basis over range',
    mutate: (b) => {
      bobBtc(b).size = '100000'; // notional 5·10^9 quote
      bobBtc(b).entryPrice = '100000.00001'; // cost 10^10 + 1 quote
    },
    path: `${BOB_BTC} entryPrice`,
    reason: 'the cost basis size × entryPrice = 10000000001 is beyond ±10000000000',
  },
  { name: 'bad mode', mutate: (b) => (alicePos(b).mode = 'Isolated'), path: `${ALICE_BTC} mode`, reason: 'must be "cross" or "isolated", got the string "Isolated"' },
  {
    name: 'duplicate (instrument, mode)',
    mutate: (b) => b.accounts[1].positions.push({ instrument: 'BTC-PERP', size: '-1', entryPrice: '1', mode: 'cross' }),
    path: 'accounts[1] (bob) positions[2] (BTC-PERP) mode',
    reason: 'a second cross position in BTC-PERP; positions[0] is one',
  },
  { name: 'margin on a cross position', mutate: (b) => (bobBtc(b).margin = '0'), path: `${BOB_BTC} margin`, reason: 'is not allowed on a cross position' },
  { name: 'missing margin on isolated', mutate: (b) => delete alicePos(b).margin, path: `${ALICE_BTC} margin`, reason: 'is missing; an isolated position needs its margin' },
  { name: 'negative margin', mutate: (b) => (alicePos(b).margin = '-1'), path: `${ALICE_BTC} margin`, reason: 'must not be negative, got "-1"' },
  { name: 'margin out of range', mutate: (b) => (alicePos(b).margin = '10000000001'), path: `${ALICE_BTC} margin`, reason: 'is beyond ±10000000000' },
  {
    name: "leverage above the instrument's largest max",
    mutate: (b) => (alicePos(b).leverage = '126'),
    path: `${ALICE_BTC} leverage`,
    reason: '"126" is above 125, the instrument\'s largest maxLeverage',
  },
  { name: 'leverage 0', mutate: (b) => (alicePos(b).leverage = '0'), path: `${ALICE_BTC} leverage`, reason: 'must be a whole number from 1 to 1000, got "0"' },
  { name: 'leverage as a JSON number', mutate: (b) => (alicePos(b).leverage = 10), path: `${ALICE_BTC} leverage`, reason: 'must be a whole-number string, got the JSON number 10' },
  { name: 'leverage null', mutate: (b) => (alicePos(b).leverage = null), path: `${ALICE_BTC} leverage`, reason: 'must be a whole-number string, got null' },
  {
    name: 'position funding index with too many decimals',
    mutate: (b) => (bobEth(b).fundingIndex = '1.000000001'),
    path: `${BOB_ETH} fundingIndex`,
    reason: 'has 9 decimals; funding indexes of ETH-PERP (its price decimals + 6) allow at most 8',
  },
  {
    name: 'funding owed over range',
    mutate: (b) => {
      bobBtc(b).size = '100000'; // z·q = 10^10
      bobBtc(b).fundingIndex = '-200000'; // ΔF = 2·10^12 units → owed 2·10^16 micro
    },
    path: `${BOB_BTC} fundingIndex`,
    reason: 'funding owed, size × (instrument index − this index) = 20000000000, is beyond ±10000000000',
  },
];

describe('bookFromJsonValue: a malformed book is refused with the path and the reason', () => {
  it.each(badCases)('$name', ({ mutate, text, path, reason }) => {
    const error = thrown(() => (text !== undefined ? parseBookJson(text) : parseMutated(mutate!)));
    expect(error.path).toBe(path);
    expect(error.reason).toContain(reason);
    expect(error.message).toBe(`${path}: ${error.reason}`);
    expect(error.message).not.toContain('\n');
  });

  it('refuses a __proto__ key (as JSON.parse creates it)', () => {
    const text = JSON.stringify(baseBook()).replace('"id":"alice",', '"id":"alice","__proto__":{"balance":"5"},');
    const error = thrown(() => parseBookJson(text));
    expect(error.path).toBe('accounts[0] (alice) __proto__');
    expect(error.reason).toBe('the key "__proto__" is not allowed');
  });

  it('refuses a constructor key', () => {
    const error = thrown(() =>
      parseMutated((b) => {
        alicePos(b).constructor = 'x';
      }),
    );
    expect(error.path).toBe(`${ALICE_BTC} constructor`);
    expect(error.reason).toBe('the key "constructor" is not allowed');
  });

  it('refuses objects that are not plain JSON objects', () => {
    const book = baseBook();
    book.accounts[0] = new Map();
    expect(thrown(() => bookFromJsonValue(book)).path).toBe('accounts[0]');
    expect(thrown(() => bookFromJsonValue(undefined)).reason).toBe('must be an object, got nothing');
  });

  it('reports the first error in document order', () => {
    // an instrument error comes before an account error
    let error = thrown(() =>
      parseMutated((b) => {
        b.accounts[0].balance = 1;
        b.instruments[1].markPrice = 1;
      }),
    );
    expect(error.path).toBe('instruments[1] (ETH-PERP) markPrice');
    // an unknown key comes before a missing field; earlier array elements before later ones
    error = thrown(() =>
      parseMutated((b) => {
        delete alicePos(b).size;
        alicePos(b).colour = 'red';
        bobBtc(b).mode = 'both';
      }),
    );
    expect(error.path).toBe(`${ALICE_BTC} colour`);
    // within an object, fields in the documented order
    error = thrown(() =>
      parseMutated((b) => {
        alicePos(b).leverage = '1000';
        alicePos(b).margin = '-1';
      }),
    );
    expect(error.path).toBe(`${ALICE_BTC} margin`);
  });

  it('changes nothing when it refuses', () => {
    const input = baseBook();
    input.accounts[1].positions[1].size = '0.33';
    const before = JSON.stringify(input);
    thrown(() => bookFromJsonValue(input));
    expect(JSON.stringify(input)).toBe(before);
  });
});

describe('bookToJsonValue', () => {
  it('writes the docs/design.md shape with every optional field filled in', () => {
    const json = bookToJsonValue(parseBookJson(JSON.stringify(baseBook())));
    expect(json.version).toBe(1);
    expect(json.instruments[1]).toEqual({
      symbol: 'ETH-PERP',
      tickSize: '0.01',
      lotSize: '0.05',
      markPrice: '2500',
      fundingIndex: '1.5',
      tiers: [{ upToNotional: null, maintenanceRate: '0.005', maxLeverage: '20' }],
    });
    expect(json.accounts[1]).toEqual({
      id: 'bob',
      balance: '2000',
      positions: [
        { instrument: 'BTC-PERP', size: '0.04', entryPrice: '50000', mode: 'cross', leverage: '125', fundingIndex: '0' },
        { instrument: 'ETH-PERP', size: '-0.4', entryPrice: '2500', mode: 'cross', leverage: '5', fundingIndex: '1.5' },
      ],
    });
    expect(json.accounts[0].positions[0].margin).toBe('200');
  });

  const book = (): Book => parseBookJson(JSON.stringify(baseBook()));

  it('refuses a cost basis whose entry price does not terminate', () => {
    const b = book();
    b.accounts[0].positions[0].sizeUnits = 3n;
    b.accounts[0].positions[0].costMicro = 1n;
    const error = thrown(() => bookToJsonValue(b));
    expect(error.path).toBe(`${ALICE_BTC} entryPrice`);
    expect(error.reason).toContain('does not terminate within 18 decimals');
  });

  it('refuses a flat position with a cost basis, a cost against the size, margin on cross, a tick ending in 0', () => {
    let b = book();
    b.accounts[0].positions[0].sizeUnits = 0n;
    expect(thrown(() => bookToJsonValue(b)).reason).toContain('a flat position (size 0) must have cost basis 0');
    b = book();
    b.accounts[0].positions[0].costMicro = -1n;
    expect(thrown(() => bookToJsonValue(b)).reason).toContain('with the sign of the size');
    b = book();
    b.accounts[1].positions[0].marginMicro = 1n;
    expect(thrown(() => bookToJsonValue(b)).path).toBe(`${BOB_BTC} margin`);
    b = book();
    b.instruments[0].tickUnits = 10n;
    expect(thrown(() => bookToJsonValue(b)).path).toBe(`${BTC} tickSize`);
  });
});

// ---------------------------------------------------------------------------------------------
// Round trip: random valid Books in integer units.

const FUNDING_MAX = FUNDING_INDEX_ABS_MAX;
const byValue = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);
const printable = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));
const nameArb = (maxLength: number) => fc.string({ unit: printable, minLength: 1, maxLength });

/** A tick or lot in units; with decimals above 0 its last digit may not be 0 (the decimals come from it). */
const stepArb = (decimals: number) =>
  fc.bigInt({ min: 1n, max: 1_000_000n }).filter((units) => decimals === 0 || units % 10n !== 0n);

const tiersArb = fc.integer({ min: 1, max: 16 }).chain((count) =>
  fc
    .tuple(
      fc.uniqueArray(fc.bigInt({ min: 1n, max: QUOTE_ABS_MAX }), { minLength: count - 1, maxLength: count - 1 }),
      fc.array(fc.bigInt({ min: 1n, max: 999_999n }), { minLength: count, maxLength: count }),
      fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: count, maxLength: count }),
    )
    .map(([floors, rates, leverages]): Tier[] => {
      floors.sort(byValue);
      rates.sort(byValue);
      return rates.map((ratePpm, k) => ({ upToNotional: floors[k] ?? null, ratePpm, leverageMax: leverages[k] }));
    }),
);

const instrumentArb = (symbol: string): fc.Arbitrary<Instrument> =>
  fc.integer({ min: 0, max: 6 }).chain((priceDecimals) =>
    fc.integer({ min: 0, max: 6 - priceDecimals }).chain((sizeDecimals) =>
      fc.record({
        symbol: fc.constant(symbol),
        priceDecimals: fc.constant(priceDecimals),
        sizeDecimals: fc.constant(sizeDecimals),
        tickUnits: stepArb(priceDecimals),
        lotUnits: stepArb(sizeDecimals),
        // often small, so that many positions can be non-zero within the notional range
        markUnits: fc.oneof(fc.bigInt({ min: 1n, max: 1_000_000n }), fc.bigInt({ min: 1n, max: PRICE_UNITS_MAX })),
        fundingIndex: fc.bigInt({ min: -FUNDING_MAX, max: FUNDING_MAX }),
        tiers: tiersArb,
      }),
    ),
  );

const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));
const clamp = (x: bigint, lo: bigint, hi: bigint): bigint => (x < lo ? lo : x > hi ? hi : x);
const pick = (raw: bigint, lo: bigint, hi: bigint): bigint => lo + ((raw % (hi - lo + 1n)) + (hi - lo + 1n)) % (hi - lo + 1n);

const positionArb = (instrument: Instrument, index: number, mode: ModeName): fc.Arbitrary<Position> => {
  const { priceDecimals: pd, sizeDecimals: sd, lotUnits, markUnits, tiers } = instrument;
  const q = quotePerUnit(instrument);
  const lotsMax = QUOTE_ABS_MAX / (lotUnits * q * markUnits);
  return fc
    .record({
      lots: fc.bigInt({ min: -lotsMax, max: lotsMax }),
      entryDecimals: fc.integer({ min: 0, max: 18 }),
      entryRaw: fc.bigInt({ min: 1n, max: 10n ** 40n }),
      margin: fc.bigInt({ min: 0n, max: QUOTE_ABS_MAX }),
      leverageRaw: fc.integer({ min: 1, max: 1000 }),
      fundingDeltaRaw: fc.bigInt({ min: -(10n ** 24n), max: 10n ** 24n }),
      fundingRaw: fc.bigInt({ min: -FUNDING_MAX, max: FUNDING_MAX }),
    })
    .map(({ lots, entryDecimals: f, entryRaw, margin, leverageRaw, fundingDeltaRaw, fundingRaw }) => {
      let sizeUnits = lots * lotUnits;
      // cost = size × entry, entry = d·10^-f with d = j·m chosen so the cost is whole micro and in range
      let costMicro = 0n;
      if (sizeUnits !== 0n) {
        const z = sizeUnits < 0n ? -sizeUnits : sizeUnits;
        const excess = sd + f - 6; // the product's decimals beyond micro
        const m = excess > 0 ? 10n ** BigInt(excess) / gcd(z, 10n ** BigInt(excess)) : 1n;
        const jByPrice = (PRICE_UNITS_MAX * 10n ** BigInt(f)) / (m * 10n ** BigInt(pd));
        const jByCost = (QUOTE_ABS_MAX * 10n ** BigInt(f)) / (z * m * 10n ** BigInt(6 - sd));
        const jMax = jByPrice < jByCost ? jByPrice : jByCost;
        if (jMax < 1n) {
          sizeUnits = 0n;
        } else {
          const product = z * pick(entryRaw, 1n, jMax) * m; // at 10^-(sd + f) quote
          const magnitude = excess > 0 ? product / 10n ** BigInt(excess) : product * 10n ** BigInt(-excess);
          costMicro = sizeUnits < 0n ? -magnitude : magnitude;
        }
      }
      const z = sizeUnits < 0n ? -sizeUnits : sizeUnits;
      const bracketMax = tiers[bracketOf(tiers, z * q * markUnits)].leverageMax;
      let fundingIndex = fundingRaw;
      if (z !== 0n) {
        const deltaMax = 10n ** 22n / (z * q); // |z·q·ΔF| ≤ 10^22 keeps |owed| ≤ 10^16
        const delta = clamp(fundingDeltaRaw, -deltaMax, deltaMax);
        fundingIndex = clamp(instrument.fundingIndex - delta, -FUNDING_MAX, FUNDING_MAX);
      }
      return {
        instrument: index,
        sizeUnits,
        costMicro,
        mode,
        marginMicro: mode === 'isolated' ? margin : 0n,
        leverage: 1 + ((leverageRaw - 1) % bracketMax),
        fundingIndex,
      };
    });
};

const accountArb = (id: string, instruments: Instrument[]): fc.Arbitrary<Account> => {
  const slots =
    instruments.length === 0
      ? fc.constant([] as [number, ModeName][])
      : fc.uniqueArray(fc.tuple(fc.nat(instruments.length - 1), fc.constantFrom<ModeName>('cross', 'isolated')), {
          selector: ([index, mode]) => `${index}:${mode}`,
          maxLength: 6,
        });
  return fc.record({
    id: fc.constant(id),
    balanceMicro: fc.bigInt({ min: -QUOTE_ABS_MAX, max: QUOTE_ABS_MAX }),
    positions: slots.chain((pairs) =>
      fc.tuple(...pairs.map(([index, mode]) => positionArb(instruments[index], index, mode))),
    ),
  });
};

const bookArb: fc.Arbitrary<Book> = fc
  .uniqueArray(nameArb(SYMBOL_LENGTH_MAX), { maxLength: 4 })
  .chain((symbols) => fc.tuple(...symbols.map(instrumentArb)))
  .chain((instruments) =>
    fc
      .uniqueArray(nameArb(ACCOUNT_ID_LENGTH_MAX), { maxLength: 5 })
      .chain((ids) => fc.tuple(...ids.map((id) => accountArb(id, instruments))))
      .map((accounts) => ({ instruments, accounts })),
  );

/** Every JSON number in a value, with its path (only `version` may be one). */
function numbersIn(value: unknown, path = ''): string[] {
  if (typeof value === 'number') return [path];
  if (Array.isArray(value)) return value.flatMap((item, i) => numbersIn(item, `${path}[${i}]`));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => numbersIn(item, `${path}.${key}`));
  }
  return [];
}

describe('round trip', () => {
  it('bookFromJsonValue(bookToJsonValue(book)) equals the book, through JSON text too', () => {
    fc.assert(
      fc.property(bookArb, (book) => {
        const json = bookToJsonValue(book);
        expect(numbersIn(json)).toEqual(['.version']);
        expect(bookFromJsonValue(json)).toEqual(book);
        expect(parseBookJson(JSON.stringify(json, null, 2))).toEqual(book);
      }),
      { numRuns: 400 },
    );
  });

  it('writing what was read reads back the same book (the base book and its variants)', () => {
    const variants: ((b: Json) => void)[] = [
      () => {},
      (b) => (alicePos(b).entryPrice = '50000.025'),
      (b) => (bobEth(b).entryPrice = '2499.9975'), // -0.4 × 2499.9975 = -999.999
      (b) => (alicePos(b).size = '0'),
      (b) => (btc(b).tickSize = '0.5'),
      (b) => (btc(b).tickSize = '10'),
    ];
    for (const mutate of variants) {
      const book = parseMutated(mutate);
      expect(bookFromJsonValue(bookToJsonValue(book))).toEqual(book);
    }
  });
});
