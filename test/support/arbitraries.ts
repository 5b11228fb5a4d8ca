// fast-check generators of valid books in integer units, reaching the documented range edges:
// zero sizes, shorts, many tiers, mixed modes, funding, and scopes near maintenance.
import fc from 'fast-check';
import { PRICE_PLUS_SIZE_DECIMALS_MAX, PRICE_UNITS_MAX, QUOTE_ABS_MAX, RATE_SCALE, UNIT_PRODUCT_MAX } from '../../src/fixed/constants.js';
import { costMicro, quotePerUnit, valueDivisor, type Account, type Book, type Instrument, type Position, type Tier } from '../../src/book/model.js';

const MICRO = 1_000_000n;

/** A bigint in [min, max], with the two ends and small values drawn often. */
export function edgyBigInt(min: bigint, max: bigint): fc.Arbitrary<bigint> {
  const small = fc.bigInt({ min: min > -1000n ? min : -1000n, max: max < 1000n ? max : 1000n });
  return fc.oneof(
    { weight: 6, arbitrary: fc.bigInt({ min, max }) },
    { weight: 1, arbitrary: fc.constantFrom(min, max) },
    { weight: 1, arbitrary: min <= 1000n && max >= -1000n && min <= max ? small : fc.constant(min) },
  );
}

/** Log-uniform positive bigint up to max: spreads draws over every order of magnitude. */
export function logBigInt(max: bigint): fc.Arbitrary<bigint> {
  const digits = max.toString().length;
  return fc
    .tuple(fc.integer({ min: 1, max: digits }), fc.double({ min: 0, max: 1, noNaN: true }))
    .map(([d, f]) => {
      const top = 10n ** BigInt(d);
      const value = BigInt(Math.floor(f * 1e15)) * top / 10n ** 15n;
      return value < 1n ? 1n : value > max ? max : value;
    });
}

const DOMAIN_TIERS: Tier[] = [
  [50_000n, 4_000n, 125],
  [250_000n, 5_000n, 100],
  [1_000_000n, 10_000n, 50],
  [10_000_000n, 25_000n, 20],
  [20_000_000n, 50_000n, 10],
  [50_000_000n, 100_000n, 5],
  [100_000_000n, 125_000n, 4],
  [200_000_000n, 150_000n, 3],
  [300_000_000n, 250_000n, 2],
  [null, 500_000n, 1],
].map(([upTo, rate, leverage]) => ({
  upToNotional: upTo === null ? null : (upTo as bigint) * MICRO,
  ratePpm: rate as bigint,
  leverageMax: leverage as number,
}));

const tiersArbitrary: fc.Arbitrary<Tier[]> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(DOMAIN_TIERS) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.uniqueArray(logBigInt(QUOTE_ABS_MAX), { minLength: 0, maxLength: 7 }),
        fc.array(edgyBigInt(1n, RATE_SCALE - 1n), { minLength: 8, maxLength: 8 }),
      )
      .map(([bounds, rates]) => {
        const sortedBounds = [...bounds].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
        const sortedRates = rates.slice(0, sortedBounds.length + 1).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
        return sortedRates.map((ratePpm, k) => ({
          upToNotional: k < sortedBounds.length ? sortedBounds[k] : null,
          ratePpm,
          leverageMax: Math.max(1, Math.min(125, Number(RATE_SCALE / (2n * ratePpm)))),
        }));
      }),
  },
);

/**
 * Which decimals the instruments take: 'micro', pd + sd ≤ 6 (a lot at a tick is whole micro, the
 * engine's results unchanged by the finer rule); 'any', pd + sd from 0 to
 * PRICE_PLUS_SIZE_DECIMALS_MAX, with the instruments finer than a micro (7 to 12) drawn half the
 * time and 7 and 12 often (docs/numbers.md, "Instruments finer than a micro").
 */
export type Decimals = 'micro' | 'any';

const finerDecimals: fc.Arbitrary<{ priceDecimals: number; sizeDecimals: number }> = fc
  .tuple(
    fc.oneof(
      { weight: 2, arbitrary: fc.integer({ min: 0, max: 6 }) },
      { weight: 2, arbitrary: fc.integer({ min: 7, max: PRICE_PLUS_SIZE_DECIMALS_MAX }) },
      { weight: 1, arbitrary: fc.constantFrom(7, PRICE_PLUS_SIZE_DECIMALS_MAX) },
    ),
    fc.integer({ min: 0, max: PRICE_PLUS_SIZE_DECIMALS_MAX }),
  )
  .map(([sum, share]) => {
    const priceDecimals = Math.min(sum, share);
    return { priceDecimals, sizeDecimals: sum - priceDecimals };
  });

const instrumentFields = {
  tickUnits: fc.oneof(fc.constant(1n), fc.constant(5n), fc.bigInt({ min: 1n, max: 100n })),
  lotUnits: fc.oneof(fc.constant(1n), fc.bigInt({ min: 1n, max: 20n })),
  markUnits: fc.oneof(logBigInt(10n ** 9n), logBigInt(PRICE_UNITS_MAX)),
  fundingIndex: fc.oneof(fc.constant(0n), fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n })),
  tiers: tiersArbitrary,
};

// 'micro' draws exactly as before the finer instruments existed (the same books for the same seeds).
const instrumentArbitrary = (decimals: Decimals): fc.Arbitrary<Instrument> =>
  decimals === 'micro'
    ? fc
        .record({ priceDecimals: fc.integer({ min: 0, max: 6 }), sizeShare: fc.integer({ min: 0, max: 6 }), ...instrumentFields })
        .map(({ priceDecimals, sizeShare, ...rest }) => ({ symbol: '', priceDecimals, sizeDecimals: Math.min(sizeShare, 6 - priceDecimals), ...rest }))
    : fc.record({ places: finerDecimals, ...instrumentFields }).map(({ places, ...rest }) => ({ symbol: '', ...places, ...rest }));

/** How far from the mark an entry sits, in ppm of the mark: near it most of the time. */
const entryOffsetPpm = fc.oneof(
  { weight: 4, arbitrary: fc.bigInt({ min: -100_000n, max: 100_000n }) },
  { weight: 1, arbitrary: fc.bigInt({ min: -900_000n, max: 2_000_000n }) },
);

function positionArbitrary(instruments: Instrument[], index: number, mode: 'cross' | 'isolated'): fc.Arbitrary<Position> {
  const instrument = instruments[index];
  const q = quotePerUnit(instrument);
  const d = valueDivisor(instrument);
  // The notional within QUOTE_ABS_MAX, and |z|·q·p within UNIT_PRODUCT_MAX when d > 1.
  const productMax = d === 1n ? QUOTE_ABS_MAX : QUOTE_ABS_MAX * d < UNIT_PRODUCT_MAX ? QUOTE_ABS_MAX * d : UNIT_PRODUCT_MAX;
  const sizeMax = productMax / (q * instrument.markUnits) / instrument.lotUnits;
  return fc
    .record({
      lots: fc.oneof({ weight: 1, arbitrary: fc.constant(0n) }, { weight: 8, arbitrary: logBigInt(sizeMax > 0n ? sizeMax : 1n) }),
      short: fc.boolean(),
      entryOffset: entryOffsetPpm,
      marginShare: fc.oneof(fc.bigInt({ min: 0n, max: 200_000n }), fc.constant(0n), logBigInt(QUOTE_ABS_MAX)),
      fundingDelta: fc.oneof({ weight: 2, arbitrary: fc.constant(0n) }, { weight: 1, arbitrary: fc.bigInt({ min: -(10n ** 9n), max: 10n ** 9n }) }),
    })
    .map(({ lots, short, entryOffset, marginShare, fundingDelta }) => {
      const sizeUnits = (sizeMax > 0n ? lots : 0n) * instrument.lotUnits * (short ? -1n : 1n);
      const notional = ((sizeUnits < 0n ? -sizeUnits : sizeUnits) * q * instrument.markUnits) / d;
      let entry = instrument.markUnits + (instrument.markUnits * entryOffset) / 1_000_000n;
      if (entry < 1n) entry = 1n;
      let cost = costMicro(sizeUnits, q, d, entry);
      if (cost > QUOTE_ABS_MAX) cost = QUOTE_ABS_MAX;
      if (cost < -QUOTE_ABS_MAX) cost = -QUOTE_ABS_MAX;
      // Margin as a share (ppm) of notional puts isolated scopes around their maintenance.
      let marginMicro = marginShare <= 200_000n ? (notional * marginShare) / 1_000_000n : marginShare;
      if (marginMicro > QUOTE_ABS_MAX) marginMicro = QUOTE_ABS_MAX;
      // Keep the unsettled funding within ±10^16 micro.
      const owedLimit = QUOTE_ABS_MAX * 1_000_000n;
      const sizeQuote = (sizeUnits < 0n ? -sizeUnits : sizeUnits) * q;
      let delta = fundingDelta;
      if (sizeQuote > 0n && (delta < 0n ? -delta : delta) * sizeQuote > owedLimit) delta = owedLimit / sizeQuote;
      return {
        instrument: index,
        sizeUnits,
        costMicro: cost,
        mode,
        marginMicro: mode === 'isolated' ? marginMicro : 0n,
        leverage: 1,
        fundingIndex: instrument.fundingIndex - delta,
      };
    });
}

function accountArbitrary(instruments: Instrument[], id: string): fc.Arbitrary<Account> {
  const slots = instruments.flatMap((_, index) => [
    { index, mode: 'cross' as const },
    { index, mode: 'isolated' as const },
  ]);
  return fc
    .record({
      chosen: fc.subarray(slots, { minLength: 0, maxLength: Math.min(slots.length, 8) }),
      balance: fc.oneof(
        { weight: 3, arbitrary: fc.bigInt({ min: 0n, max: 10n ** 12n }) },
        { weight: 1, arbitrary: edgyBigInt(-QUOTE_ABS_MAX, QUOTE_ABS_MAX) },
      ),
    })
    .chain(({ chosen, balance }) =>
      fc.tuple(...chosen.map((slot) => positionArbitrary(instruments, slot.index, slot.mode))).map((positions) => ({
        id,
        balanceMicro: balance,
        positions,
      })),
    );
}

/** A valid book of 1–4 instruments and `accounts` accounts; `decimals` 'any' reaches instruments finer than a micro. */
export function bookArbitrary(accounts: number, decimals: Decimals = 'micro'): fc.Arbitrary<Book> {
  return fc.array(instrumentArbitrary(decimals), { minLength: 1, maxLength: 4 }).chain((raw) => {
    const instruments = raw.map((instrument, i) => ({ ...instrument, symbol: `I${i}` }));
    return fc
      .tuple(...Array.from({ length: accounts }, (_, a) => accountArbitrary(instruments, `acct-${a}`)))
      .map((list) => ({ instruments, accounts: list }));
  });
}

export function positionCount(book: Book): number {
  return book.accounts.reduce((sum, account) => sum + account.positions.length, 0);
}
