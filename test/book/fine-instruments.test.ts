// Instruments finer than a micro (pd + sd from 7 to 12; docs/numbers.md, "Instruments finer than a
// micro") in both book formats: book JSON reads their decimals, rounds a cost basis up to a micro
// and reads a funding index of 12 − sd decimals, and writes back what reads to the same book; the
// value rules (notional |floor(z·q·p/d)|, |z|·q·p ≤ 10^18, entry |c|·d/(|z|·q) ≤ 10^15) in
// checkPosition and its double filter; the binary book's version 2, and version 1 still read.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BOOK_BINARY_VERSION,
  crc32,
  decodeBookBinary,
  encodeBookModel,
  readBookBinaryLayout,
} from '../../src/book/binary.js';
import { bookFromJsonValue, bookToJsonValue, parseBookJson } from '../../src/book/json.js';
import { fundingDecimals, type Book, type Instrument } from '../../src/book/model.js';
import { MODE_CROSS } from '../../src/fixed/constants.js';
import { checkPosition, instrumentFastRules, instrumentRules, positionPlainlyValid, type PositionInts } from '../../src/book/ranges.js';
import { thrown } from '../support/errors.js';

type Json = any;

const TIERS = [
  { upToNotional: '1', maintenanceRate: '0.01', maxLeverage: '50' },
  { upToNotional: null, maintenanceRate: '0.02', maxLeverage: '25' },
];

/** A 1000PEPE-style contract (tick 0.0000001, lot 1: pd + sd = 7), the worked example's marks. */
function pepe(): Json {
  return { symbol: 'PEPE', tickSize: '0.0000001', lotSize: '1', markPrice: '0.0123457', fundingIndex: '0', tiers: TIERS };
}

function book(instruments: Json[], positions: Json[], balance = '1000'): Json {
  return { version: 1, instruments, accounts: [{ id: 'alice', balance, positions }] };
}

function onePosition(instrument: Json, position: Json): Book {
  return bookFromJsonValue(book([instrument], [{ instrument: instrument.symbol, mode: 'cross', ...position }]));
}

describe('book JSON: decimals', () => {
  it('accepts tick and lot decimals up to 12 together, and refuses 13 with the reason', () => {
    for (const [tick, lot, pd, sd] of [
      ['0.0000001', '1', 7, 0],
      ['0.0000001', '0.1', 7, 1],
      ['0.00000001', '0.0001', 8, 4],
      ['0.000000000001', '1', 12, 0],
      ['1', '0.000000000001', 0, 12],
    ] as const) {
      const loaded = bookFromJsonValue(book([{ ...pepe(), tickSize: tick, lotSize: lot, markPrice: '1' }], []));
      expect(loaded.instruments[0]).toMatchObject({ priceDecimals: pd, sizeDecimals: sd, tickUnits: 1n, lotUnits: 1n });
    }
    const error = thrown(() => bookFromJsonValue(book([{ ...pepe(), tickSize: '0.0000001', lotSize: '0.000001' }], [])));
    expect(error.message).toBe('instruments[0] (PEPE) lotSize: "0.000001" has 6 decimals and tickSize "0.0000001" 7; together they may have at most 12');
    const tick = thrown(() => bookFromJsonValue(book([{ ...pepe(), tickSize: '0.0000000000001', markPrice: '1' }], [])));
    expect(tick.message).toBe('instruments[0] (PEPE) tickSize: "0.0000000000001" has 13 decimals; at most 12');
  });
});

describe('book JSON: the cost basis of an instrument finer than a micro is rounded up to a micro', () => {
  it('the worked example of docs/numbers.md: a long rounds up, a short toward +∞ too (its magnitude down)', () => {
    // 123,457 × 0.0123451 = 1,524.0890107 quote
    const long = onePosition(pepe(), { size: '123457', entryPrice: '0.0123451' });
    expect(long.accounts[0].positions[0].costMicro).toBe(1_524_089_011n);
    const short = onePosition(pepe(), { size: '-123457', entryPrice: '0.0123451' });
    expect(short.accounts[0].positions[0].costMicro).toBe(-1_524_089_010n);
    // An entry price with more decimals than the tick is rounded the same way: 7 × 0.00000012345 = 0.00000086415 quote.
    expect(onePosition(pepe(), { size: '7', entryPrice: '0.00000012345' }).accounts[0].positions[0].costMicro).toBe(1n);
    // −70 × 0.00000012345 = −8.6415 micro, rounded toward +∞.
    expect(onePosition(pepe(), { size: '-70', entryPrice: '0.00000012345' }).accounts[0].positions[0].costMicro).toBe(-8n);
  });

  it('is still refused when inexact at pd + sd ≤ 6, and exact products are not rounded at either', () => {
    const btc = { symbol: 'BTC', tickSize: '0.1', lotSize: '0.001', markPrice: '50000', fundingIndex: '0', tiers: TIERS };
    const error = thrown(() => onePosition(btc, { size: '0.04', entryPrice: '50000.0000001' }));
    expect(error.message).toBe(
      'accounts[0] (alice) positions[0] (BTC) entryPrice: "50000.0000001" is over-precise: the cost basis size × entryPrice = 2000.000000004 is not a whole number of micro (6 decimals)',
    );
    expect(onePosition(btc, { size: '-0.04', entryPrice: '50000.025' }).accounts[0].positions[0].costMicro).toBe(-2_000_001_000n);
    expect(onePosition(pepe(), { size: '-100', entryPrice: '0.0123451' }).accounts[0].positions[0].costMicro).toBe(-1_234_510n);
  });

  it('a short of less than a micro has a cost basis of 0 (rounded up), which reads, writes and reads back', () => {
    const fine = { ...pepe(), lotSize: '0.00001', markPrice: '0.0000001' }; // pd 7 + sd 5 = 12
    expect(onePosition(fine, { size: '0.00001', entryPrice: '0.0000001' }).accounts[0].positions[0].costMicro).toBe(1n);
    const short = onePosition(fine, { size: '-0.00001', entryPrice: '0.0000001' }); // −10^-12 quote
    expect(short.accounts[0].positions[0].costMicro).toBe(0n);
    const again = bookFromJsonValue(bookToJsonValue(short));
    expect(again.accounts[0].positions[0]).toEqual(short.accounts[0].positions[0]);
    // A cost basis of 0 is still refused for a long, and for a short of an instrument whose lot at a tick is whole micro.
    const dust = (sizeUnits: bigint): PositionInts => ({ sizeUnits, costMicro: 0n, mode: MODE_CROSS, marginMicro: 0n, leverage: 1, fundingIndex: 0n });
    expect(checkPosition(instrumentRules(short.instruments[0]), dust(-1n))).toBeNull();
    expect(checkPosition(instrumentRules(short.instruments[0]), dust(1n))?.field).toBe('costMicro');
    const btc = bookFromJsonValue(book([{ symbol: 'BTC', tickSize: '0.1', lotSize: '0.001', markPrice: '50000', fundingIndex: '0', tiers: TIERS }], []));
    const issue = checkPosition(instrumentRules(btc.instruments[0]), dust(-1n));
    expect(issue).toEqual({ field: 'costMicro', reason: '0 must be non-zero with the sign of the size -1 (entry price above 0)' });
  });
});

describe('book JSON: the notional at the mark is |floor(z·q·p/d)|', () => {
  it('a long rounds it down and a short up: the default leverage is that of the bracket holding the rounded notional', () => {
    // mark 0.0000003 (3 units): 3,333,336 × 3 / 10 = 1,000,000.8 micro, tier 0 ends at 1 quote exactly.
    const instrument = { ...pepe(), markPrice: '0.0000003' };
    expect(onePosition(instrument, { size: '3333336', entryPrice: '0.0000003' }).accounts[0].positions[0].leverage).toBe(50);
    expect(onePosition(instrument, { size: '-3333336', entryPrice: '0.0000003' }).accounts[0].positions[0].leverage).toBe(25);
  });

  it('refuses a notional above 10^10 quote, and a product |z|·q·p above 10^18, each with its reason', () => {
    const error = thrown(() => onePosition({ ...pepe(), markPrice: '100' }, { size: '100000001', entryPrice: '1' }));
    expect(error.message).toBe(
      'accounts[0] (alice) positions[0] (PEPE) size: notional at the mark, |size × markPrice| rounded against the account to a micro = 10000000100, is above the largest, 10000000000',
    );
    // pd 7 + sd 5 = 12: d = 10^6; 100,000,000,001 units × 10^7 units = 1.00000000001·10^18 (value 10^12 micro, in range).
    const fine = { ...pepe(), symbol: 'FINE', lotSize: '0.00001', markPrice: '1' };
    expect(onePosition(fine, { size: '1000000', entryPrice: '1' }).accounts[0].positions[0].sizeUnits).toBe(100_000_000_000n);
    const product = thrown(() => onePosition(fine, { size: '1000000.00001', entryPrice: '1' }));
    expect(product.message).toBe(
      'accounts[0] (alice) positions[0] (FINE) size: |size| × markPrice = 1000000.00001 is 1000000000010000000 units of 10^-12 quote, above ' +
        '1000000000000000000 (10^18): the largest product the value of a position of FINE (finer than a micro) is divided from',
    );
  });
});

describe('book JSON: funding indexes of an instrument finer than a micro have 12 − sd decimals', () => {
  it('reads them and refuses more, naming the rule', () => {
    expect(fundingDecimals({ priceDecimals: 7, sizeDecimals: 0 })).toBe(12);
    expect(fundingDecimals({ priceDecimals: 7, sizeDecimals: 1 })).toBe(11);
    expect(fundingDecimals({ priceDecimals: 1, sizeDecimals: 3 })).toBe(7);
    const loaded = bookFromJsonValue(book([{ ...pepe(), fundingIndex: '-0.000000000001' }, { ...pepe(), symbol: 'TNSR', lotSize: '0.1', fundingIndex: '1.00000000001' }], []));
    expect(loaded.instruments.map((instrument) => instrument.fundingIndex)).toEqual([-1n, 100_000_000_001n]);
    const error = thrown(() => bookFromJsonValue(book([{ ...pepe(), symbol: 'TNSR', lotSize: '0.1', fundingIndex: '0.000000000001' }], [])));
    expect(error.message).toBe(
      'instruments[0] (TNSR) fundingIndex: "0.000000000001" has 12 decimals; funding indexes of TNSR (12 − its size decimals, its price and size decimals having more than 6 together) allow at most 11',
    );
    // ±10^18 units at 12 decimals: ±10^6 quote per base.
    expect(thrown(() => bookFromJsonValue(book([{ ...pepe(), fundingIndex: '1000000.000000000001' }], []))).message).toBe(
      'instruments[0] (PEPE) fundingIndex: "1000000.000000000001" is beyond ±1000000',
    );
  });

  it('a position snapshot too; funding owed is ceil(z·q·(F − F_i) / 10^6) as for every instrument', () => {
    const loaded = onePosition({ ...pepe(), fundingIndex: '0.000001' }, { size: '3', entryPrice: '0.0123451', fundingIndex: '0.000000000001' });
    expect(loaded.instruments[0].fundingIndex).toBe(1_000_000n);
    expect(loaded.accounts[0].positions[0].fundingIndex).toBe(1n);
  });
});

describe('book JSON: the writer', () => {
  it('writes funding indexes with the instrument\'s decimals and an entry price that reads back to the same cost basis', () => {
    const source = book(
      [{ ...pepe(), fundingIndex: '0.000000000123' }, { ...pepe(), symbol: 'TNSR', lotSize: '0.1', markPrice: '0.1834568', fundingIndex: '-2.5' }],
      [
        { instrument: 'PEPE', size: '123457', entryPrice: '0.0123451', mode: 'cross', fundingIndex: '0.000000000001' },
        { instrument: 'PEPE', size: '-123457', entryPrice: '0.0123451', mode: 'isolated', margin: '100' },
        { instrument: 'TNSR', size: '-0.3', entryPrice: '0.18', mode: 'cross' },
      ],
    );
    const read = bookFromJsonValue(source);
    const written = bookToJsonValue(read);
    expect(written.instruments.map((instrument) => instrument.fundingIndex)).toEqual(['0.000000000123', '-2.5']);
    expect(written.accounts[0].positions.map((position) => [position.entryPrice, position.fundingIndex])).toEqual([
      ['0.0123451', '0.000000000001'],
      ['0.0123451', '0.000000000123'],
      ['0.18', '-2.5'],
    ]);
    expect(bookFromJsonValue(written)).toEqual(read);
  });

  it('for a cost basis from elsewhere, the shortest entry price whose product rounds up to it', () => {
    const read = onePosition(pepe(), { size: '3', entryPrice: '0.0000001' }); // cost ceil(0.3) = 1 micro
    expect(read.accounts[0].positions[0].costMicro).toBe(1n);
    const cases: [bigint, bigint, string][] = [
      [3n, 1n, '0.0000003'], // 1/3 micro does not terminate; 3 × 0.0000003 = 0.9 micro rounds up to 1
      [-3n, -1n, '0.0000004'], // ceil(−1.2) = −1: the smallest entry with |z|·e·10^6 at or above 1
      [123_457n, 1_524_089_011n, '0.0123451'],
      [-123_457n, -1_524_089_010n, '0.0123451'],
      [10n, 7n, '0.0000007'], // exact: 10 × 0.0000007 = 7 micro
      [-10n, -7n, '0.0000007'],
    ];
    for (const [size, cost, entry] of cases) {
      const b = structuredClone(read);
      b.accounts[0].positions[0] = { ...b.accounts[0].positions[0], sizeUnits: size, costMicro: cost };
      const written = bookToJsonValue(b);
      expect(written.accounts[0].positions[0].entryPrice, `${size} ${cost}`).toBe(entry);
      expect(bookFromJsonValue(written).accounts[0].positions[0].costMicro).toBe(cost);
    }
  });

  it('round-trips random positions of instruments of pd + sd from 7 to 12', () => {
    const decimals: [number, number][] = [[7, 0], [7, 1], [8, 1], [7, 3], [10, 0], [7, 5], [6, 6], [0, 12]];
    fc.assert(
      fc.property(
        fc.constantFrom(...decimals),
        fc.bigInt({ min: -(10n ** 9n), max: 10n ** 9n }),
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        ([pd, sd], size, cost) => {
          const instrument: Instrument = {
            symbol: 'X',
            priceDecimals: pd,
            sizeDecimals: sd,
            tickUnits: 1n,
            lotUnits: 1n,
            markUnits: 1n,
            fundingIndex: 0n,
            tiers: [{ upToNotional: null, ratePpm: 5_000n, leverageMax: 10 }],
          };
          const costMicro = size === 0n ? 0n : size < 0n ? -cost : cost;
          // Only books the loaders accept (an entry price within 10^15 units, say) must round-trip.
          fc.pre(checkPosition(instrumentRules(instrument), position(size, costMicro)) === null);
          const b: Book = {
            instruments: [instrument],
            accounts: [{ id: 'a', balanceMicro: 0n, positions: [{ instrument: 0, sizeUnits: size, costMicro, mode: 'cross', marginMicro: 0n, leverage: 1, fundingIndex: 0n }] }],
          };
          let written;
          try {
            written = bookToJsonValue(b);
          } catch {
            return; // no entry of at most 18 decimals states it (said in docs/book-json.md)
          }
          const read = bookFromJsonValue(written);
          expect(read.accounts[0].positions[0].costMicro).toBe(costMicro);
        },
      ),
      { numRuns: 3_000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The value rules

function instrument(pd: number, sd: number, markUnits: bigint): Instrument {
  return {
    symbol: `S${pd + sd}`,
    priceDecimals: pd,
    sizeDecimals: sd,
    tickUnits: 1n,
    lotUnits: 1n,
    markUnits,
    fundingIndex: 0n,
    tiers: [{ upToNotional: null, ratePpm: 5_000n, leverageMax: 10 }],
  };
}

function position(sizeUnits: bigint, costMicro: bigint): PositionInts {
  return { sizeUnits, costMicro, mode: 0, marginMicro: 0n, leverage: 1, fundingIndex: 0n };
}

describe('checkPosition for d > 1', () => {
  it('the entry price bound is |c|·d ≤ |z|·q·10^15, and the double filter never accepts past it', () => {
    const seven = instrument(7, 0, 1_000n); // d = 10
    const rules = instrumentRules(seven);
    expect(rules.d).toBe(10n);
    expect(checkPosition(rules, position(1n, 100_000_000_000_000n))).toBeNull(); // 10^14 · 10 = 10^15
    expect(checkPosition(rules, position(-1n, -100_000_000_000_000n))).toBeNull();
    expect(checkPosition(rules, position(1n, 100_000_000_000_001n))).toEqual({
      field: 'costMicro',
      reason: '100000000000001 gives an entry price |cost| × d 10 / (|size| × q) above the largest price, 1000000000000000 price units',
    });
    const fast = instrumentFastRules(seven);
    expect(fast.entryCostMax).toBe(100_000_000_000_000);
    expect(positionPlainlyValid(fast, 1, 100_000_000_000_000, 0, 0, 1, 0)).toBe(true);
    expect(positionPlainlyValid(fast, 1, 100_000_000_000_001, 0, 0, 1, 0)).toBe(false);
    expect(positionPlainlyValid(fast, 1, 1_000_000_000_000_000, 0, 0, 1, 0)).toBe(false); // d = 1's bound
    expect(instrumentFastRules(instrument(1, 3, 1n)).entryCostMax).toBe(1_000_000_000_000_000);
  });

  it('the notional is |floor(z·q·p/d)| and |z|·q·p ≤ 10^18, each with its reason', () => {
    const seven = instrumentRules(instrument(7, 0, 3n)); // d = 10, mark 3 units
    // 33,333,333,333,333,333 × 3 / 10 = 10^16 − 0.1: a long's notional 10^16 − 1, a short's 10^16.
    expect(checkPosition(seven, position(33_333_333_333_333_333n, 10n ** 16n))).toBeNull();
    expect(checkPosition(seven, position(-33_333_333_333_333_333n, -(10n ** 16n)))).toBeNull();
    // One unit more, 10^16 + 0.2: the long's rounds down to 10^16, in range; the short's up, past it.
    expect(checkPosition(seven, position(33_333_333_333_333_334n, 10n ** 16n))).toBeNull();
    expect(checkPosition(seven, position(-33_333_333_333_333_334n, -(10n ** 16n)))).toEqual({
      field: 'sizeUnits',
      reason: 'notional at the mark, |floor(-33333333333333334 × q 1 × mark 3 / d 10)| = 10000000000000001 micro, is above 10000000000000000',
    });
    expect(checkPosition(seven, position(33_333_333_333_333_337n, 10n ** 16n))).toEqual({
      field: 'sizeUnits',
      reason: 'notional at the mark, |floor(33333333333333337 × q 1 × mark 3 / d 10)| = 10000000000000001 micro, is above 10000000000000000',
    });
    const twelve = instrumentRules(instrument(7, 5, 10_000_000n)); // d = 10^6, mark 1 quote
    expect(checkPosition(twelve, position(100_000_000_000n, 1_000_000_000_000n))).toBeNull(); // |z|·p = 10^18 exactly
    expect(checkPosition(twelve, position(-100_000_000_001n, -1_000_000_000_010n))).toEqual({
      field: 'sizeUnits',
      reason:
        '|-100000000001| × q 1 × mark 10000000 = 1000000000010000000 is above 1000000000000000000 (10^18), the largest product ' +
        'the value of a position of an instrument finer than a micro (d 1000000) is divided from',
    });
  });

  it('the double filter accepts only what checkPosition accepts, at pd + sd from 7 to 12', () => {
    const edge = (value: bigint) => fc.bigInt({ min: -3n, max: 3n }).map((delta) => value + delta);
    fc.assert(
      fc.property(
        fc.constantFrom<[number, number]>([7, 0], [7, 1], [8, 1], [7, 4], [7, 5], [12, 0]),
        fc.oneof(fc.bigInt({ min: 1n, max: 10n ** 6n }), edge(10n ** 15n)),
        fc.oneof(fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), edge(10n ** 11n), edge(-(10n ** 11n)), edge(9n * 10n ** 15n)),
        fc.oneof(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), edge(10n ** 15n), edge(10n ** 14n), edge(10n ** 9n), edge(-(10n ** 9n))),
        ([pd, sd], mark, size, cost) => {
          const inst = instrument(pd, sd, mark);
          const plain = positionPlainlyValid(instrumentFastRules(inst), Number(size), Number(cost), 0, 0, 1, 0);
          if (plain) expect(checkPosition(instrumentRules(inst), position(size, cost))).toBeNull();
        },
      ),
      { numRuns: 20_000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The binary book

/** A book with an instrument of pd + sd 7, 8 and 12 and positions on each, long and short, cross and isolated. */
function fineBook(): Book {
  const tiers = [
    { upToNotional: 1_000_000_000n, ratePpm: 10_000n, leverageMax: 50 },
    { upToNotional: null, ratePpm: 20_000n, leverageMax: 25 },
  ];
  const instruments: Instrument[] = [
    { symbol: '1000PEPEUSDT', priceDecimals: 7, sizeDecimals: 0, tickUnits: 1n, lotUnits: 1n, markUnits: 123_457n, fundingIndex: 1_234_567n, tiers },
    { symbol: 'TNSRUSDT', priceDecimals: 7, sizeDecimals: 1, tickUnits: 1n, lotUnits: 1n, markUnits: 1_834_568n, fundingIndex: -45_000_000_000n, tiers },
    { symbol: 'FINE12', priceDecimals: 7, sizeDecimals: 5, tickUnits: 5n, lotUnits: 5n, markUnits: 999_999n, fundingIndex: 10n ** 18n, tiers },
  ];
  return {
    instruments,
    accounts: [
      {
        id: 'alice',
        balanceMicro: 5_000_000_000n,
        positions: [
          { instrument: 0, sizeUnits: 123_457n, costMicro: 1_524_089_011n, mode: 'cross', marginMicro: 0n, leverage: 20, fundingIndex: 1_000_000n },
          { instrument: 1, sizeUnits: -33n, costMicro: -605_408n, mode: 'isolated', marginMicro: 100_000n, leverage: 10, fundingIndex: -45_000_000_003n },
        ],
      },
      {
        id: 'bob',
        balanceMicro: -1n,
        positions: [
          { instrument: 2, sizeUnits: 1_234_500n, costMicro: 1_234_499n, mode: 'cross', marginMicro: 0n, leverage: 25, fundingIndex: 10n ** 18n - 7n },
          { instrument: 0, sizeUnits: -1n, costMicro: -1n, mode: 'cross', marginMicro: 0n, leverage: 1, fundingIndex: 1_234_567n },
        ],
      },
    ],
  };
}

/** The bytes with their header version set to `version` and the checksum recomputed. */
function withVersion(bytes: Uint8Array, version: number): Uint8Array {
  const copy = bytes.slice();
  const data = new DataView(copy.buffer);
  data.setUint32(8, version, true);
  data.setUint32(copy.length - 4, crc32(copy.subarray(0, copy.length - 4)), true);
  return copy;
}

describe('the binary book, version 2', () => {
  it('is what every writer writes, and round-trips instruments of pd + sd 7, 8 and 12 through the binary and the JSON formats', () => {
    const model = fineBook();
    const bytes = encodeBookModel(model);
    expect(BOOK_BINARY_VERSION).toBe(2);
    expect(new DataView(bytes.buffer).getUint32(8, true)).toBe(2);
    expect(readBookBinaryLayout(bytes).version).toBe(2);
    const engine = decodeBookBinary(bytes);
    expect(engine.toBook()).toEqual(model);
    const json = bookToJsonValue(model);
    expect(json.instruments.map((instrument) => [instrument.tickSize, instrument.lotSize, instrument.markPrice, instrument.fundingIndex])).toEqual([
      ['0.0000001', '1', '0.0123457', '0.000001234567'],
      ['0.0000001', '0.1', '0.1834568', '-0.45'],
      ['0.0000005', '0.00005', '0.0999999', '100000000000'],
    ]);
    expect(bookFromJsonValue(JSON.parse(JSON.stringify(json)))).toEqual(model);
    expect(Buffer.from(encodeBookModel(parseBookJson(JSON.stringify(json)))).equals(Buffer.from(bytes))).toBe(true);
  });

  it('refuses an unknown version 3 (and 0)', () => {
    const bytes = encodeBookModel(fineBook());
    expect(thrown(() => decodeBookBinary(withVersion(bytes, 3))).message).toBe('header version: version 3 is not supported; this loader reads versions 1 and 2');
    expect(thrown(() => decodeBookBinary(withVersion(bytes, 0))).message).toBe('header version: version 0 is not supported; this loader reads versions 1 and 2');
  });
});

describe('the binary book, version 1', () => {
  // Written by the version 1 writer (a generated book of 12 accounts over 8 instruments, and the
  // same book as book JSON), before version 2 existed.
  const v1 = new Uint8Array(readFileSync('test/fixtures/books/v1-generated.bin'));
  const v1Json = readFileSync('test/fixtures/books/v1-generated.json', 'utf8');

  it('still loads, to the same book; written again it is version 2 with the same sections', () => {
    expect(new DataView(v1.buffer).getUint32(8, true)).toBe(1);
    const expected = parseBookJson(v1Json);
    expect(expected.accounts).toHaveLength(12);
    const loaded = decodeBookBinary(v1).toBook();
    expect(loaded).toEqual(expected);
    const again = encodeBookModel(loaded);
    expect(again.length).toBe(v1.length);
    expect(Buffer.from(withVersion(again, 1)).equals(Buffer.from(v1))).toBe(true);
  });

  it('refuses an instrument finer than a micro, which no version 1 writer could write', () => {
    const bytes = withVersion(encodeBookModel(fineBook()), 1);
    expect(thrown(() => decodeBookBinary(bytes)).message).toBe(
      'instruments[0] (1000PEPEUSDT) sizeDecimals: priceDecimals 7 + sizeDecimals 0 is above 6, which a version 1 binary book cannot hold (version 2 holds up to 12)',
    );
  });
});
