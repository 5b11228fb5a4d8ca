// The protocol's validator against what a hostile or broken client sends: 10,000 malformed frames
// of every category (test/support/frames.ts) are each refused with the code their category calls
// for, never accepted and never a throw; random bytes and valid frames with bytes flipped are
// answered without a throw; and random valid messages encode and decode to the same operations.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { encode } from '@msgpack/msgpack';
import { Engine } from '../../src/engine/engine.js';
import { generateBook, generatedBookToBook } from '../../src/gen/generate.js';
import type { AnyOperation } from '../../src/account/operations.js';
import { FUNDING_INDEX_ABS_MAX, LEVERAGE_MAX, PRICE_UNITS_MAX, QUOTE_ABS_MAX } from '../../src/fixed/constants.js';
import {
  DECODE_ERROR_CODES,
  ERROR_CODES,
  OPERATION_KINDS,
  bookLookup,
  decodeClientMessage,
  type BookLookup,
  type ClientMessage,
  type ErrorCode,
} from '../../src/serve/protocol.js';
import { FRAME_CATEGORIES, frameBookOf, lottedBook, malformedFrames, validFrames } from '../support/frames.js';

// A small book whose lots are not all 1 (size-off-lot frames need a lot above 1).
const lotted = lottedBook('-PERP', Array.from({ length: 20 }, (_, a) => ({ id: `trader-${a}`, balance: '1000', positions: [] })));
// A generated book, as the brief's server tests use (every lot 1).
const generated = Engine.fromBook(generatedBookToBook(generateBook({ accounts: 50, seed: 1, instruments: 5 })));

const ONE_LINE = /^[^\p{Cc}\p{Zl}\p{Zp}]+$/u;

describe('malformed frames', () => {
  for (const [name, engine, count] of [
    ['a book with lots of 5, 1 and 25', lotted, 10_000],
    ['a generated book (50 accounts, 5 instruments)', generated, 2_000],
  ] as const) {
    test(`${count} frames over ${name}: each refused with its category's code, a one-line reason, never a throw`, () => {
      const lookup = bookLookup(engine);
      const frames = malformedFrames(1, count, frameBookOf(engine));
      expect(frames).toHaveLength(count);
      const byCode = new Map<ErrorCode, number>();
      const byCategory = new Map<string, number>();
      const wrong: string[] = [];
      for (const frame of frames) {
        const decoded = decodeClientMessage(frame.bytes, frame.role, lookup);
        if (decoded.ok) {
          wrong.push(`${frame.name}: accepted as ${decoded.message.type}`);
          continue;
        }
        expect(ERROR_CODES).toContain(decoded.code);
        expect(decoded.reason).toMatch(ONE_LINE);
        expect(decoded.id === null || (Number.isInteger(decoded.id) && decoded.id >= 0 && decoded.id <= 0xffff_ffff)).toBe(true);
        if (decoded.code !== frame.code) wrong.push(`${frame.name}: ${decoded.code} (${decoded.reason}), expected ${frame.code}`);
        byCode.set(decoded.code, (byCode.get(decoded.code) ?? 0) + 1);
        const category = frame.name.split('/')[0];
        byCategory.set(category, (byCategory.get(category) ?? 0) + 1);
      }
      expect(wrong.slice(0, 20)).toEqual([]);
      for (const code of DECODE_ERROR_CODES) expect(byCode.get(code) ?? 0, code).toBeGreaterThan(0);
      for (const category of FRAME_CATEGORIES) expect(byCategory.get(category) ?? 0, category).toBeGreaterThan(0);
    });
  }

  test('the generator is deterministic: the same seed gives the same frames; another seed others', () => {
    const book = frameBookOf(lotted);
    const digest = (seed: number) => malformedFrames(seed, 600, book).map((frame) => `${frame.name} ${frame.role} ${Buffer.from(frame.bytes.subarray(0, 4096)).toString('hex')}`);
    expect(digest(7)).toEqual(digest(7));
    expect(digest(8)).not.toEqual(digest(7));
  });

  test('the size-off-lot frames are off the lot (the book has lots above 1)', () => {
    const frames = malformedFrames(3, 2_000, frameBookOf(lotted)).filter((frame) => frame.name.startsWith('size-off-lot/'));
    expect(frames.length).toBeGreaterThan(0);
    for (const frame of frames) {
      const decoded = decodeClientMessage(frame.bytes, frame.role, bookLookup(lotted));
      expect(!decoded.ok && decoded.reason).toMatch(/is not a multiple of the lot/);
    }
  });
});

describe('never a throw', () => {
  const lookup = bookLookup(lotted);
  const answered = (bytes: Uint8Array, role: 'publisher' | 'consumer' | 'observer') => {
    const decoded = decodeClientMessage(bytes, role, lookup);
    if (decoded.ok) return true;
    return (ERROR_CODES as readonly string[]).includes(decoded.code) && ONE_LINE.test(decoded.reason);
  };

  test('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom('publisher', 'consumer', 'observer'), (bytes, role) => answered(bytes, role)),
      { numRuns: 5_000 },
    );
  });

  test('valid frames with bytes flipped, cut or repeated', () => {
    const valid = validFrames(11, 400, frameBookOf(lotted));
    for (const frame of valid) expect(decodeClientMessage(frame.bytes, frame.role, lookup).ok, frame.name).toBe(true);
    fc.assert(
      fc.property(
        fc.nat(valid.length - 1),
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (k, flips, cut) => {
          const bytes = valid[k].bytes.slice();
          for (const [at, value] of flips) bytes[at % bytes.length] = value;
          return answered(bytes, valid[k].role) && answered(bytes.subarray(0, cut % (bytes.length + 1)), valid[k].role);
        },
      ),
      { numRuns: 5_000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Random valid messages: encoded as a client would (any int width), decoded to the same operations

interface Sample {
  wire: Record<string, unknown>;
  role: 'publisher' | 'consumer' | 'observer';
  check: (message: ClientMessage) => void;
}

const lookup: BookLookup = bookLookup(lotted);
const symbols = lotted.instruments.map((instrument) => instrument.symbol);
const accounts = lotted.accountIds.toArray();

/** An integer as a client may send it: a JS number when it fits 32 bits (the encoder picks the smallest int), else (or by choice) a bigint (8 bytes). */
const asWire = (value: bigint, small: boolean): number | bigint => (small && value >= -0x8000_0000n && value <= 0xffff_ffffn ? Number(value) : value);

const drawArbitrary = fc.record({
  kind: fc.constantFrom(...OPERATION_KINDS),
  a: fc.nat(accounts.length - 1),
  i: fc.nat(symbols.length - 1),
  bySymbol: fc.boolean(),
  amount: fc.oneof(fc.bigInt(-QUOTE_ABS_MAX, QUOTE_ABS_MAX), fc.bigInt(-1000n, 1000n)),
  margin: fc.option(fc.bigInt(0n, QUOTE_ABS_MAX), { nil: undefined }),
  mode: fc.constantFrom('cross' as const, 'isolated' as const),
  withInstrument: fc.boolean(),
  withMode: fc.boolean(),
  leverage: fc.integer({ min: 1, max: LEVERAGE_MAX }),
  lots: fc.bigInt(-(10n ** 12n), 10n ** 12n).filter((x) => x !== 0n),
  price: fc.oneof(fc.bigInt(1n, PRICE_UNITS_MAX), fc.bigInt(1n, 100_000n)),
  index: fc.bigInt(-FUNDING_INDEX_ABS_MAX, FUNDING_INDEX_ABS_MAX),
  small: fc.boolean(),
});

type Draw = typeof drawArbitrary extends fc.Arbitrary<infer T> ? T : never;

function operationOf(d: Draw): { wire: Record<string, unknown>; expected: AnyOperation } {
  const instrument = d.bySymbol ? symbols[d.i] : d.small ? d.i : BigInt(d.i);
  const symbol = symbols[d.i];
  const account = accounts[d.a];
  const amount = asWire(d.amount, d.small);
  switch (d.kind) {
    case 'deposit':
    case 'withdraw':
      return { wire: { op: d.kind, account, amount }, expected: { kind: d.kind, accountIndex: d.a, amountMicro: d.amount } as AnyOperation };
    case 'addMargin':
    case 'removeMargin':
      return { wire: { op: d.kind, account, instrument, amount }, expected: { kind: d.kind, accountIndex: d.a, instrument: symbol, amountMicro: d.amount } as AnyOperation };
    case 'setLeverage':
      return {
        wire: { op: d.kind, account, instrument, mode: d.mode, leverage: d.small ? d.leverage : BigInt(d.leverage) },
        expected: { kind: 'setLeverage', accountIndex: d.a, instrument: symbol, mode: d.mode, leverage: d.leverage },
      };
    case 'switchMode':
      return d.margin === undefined
        ? { wire: { op: d.kind, account, instrument, to: d.mode }, expected: { kind: 'switchMode', accountIndex: d.a, instrument: symbol, to: d.mode } }
        : {
            wire: { op: d.kind, account, instrument, to: d.mode, margin: asWire(d.margin, d.small) },
            expected: { kind: 'switchMode', accountIndex: d.a, instrument: symbol, to: d.mode, marginMicro: d.margin },
          };
    case 'fill': {
      const size = d.lots * lookup.lotUnits(d.i);
      const wire: Record<string, unknown> = { op: d.kind, account, instrument, mode: d.mode, size: asWire(size, d.small), price: asWire(d.price, d.small) };
      const expected: AnyOperation = { kind: 'fill', accountIndex: d.a, instrument: symbol, mode: d.mode, sizeUnits: size, priceUnits: d.price };
      if (d.margin !== undefined) {
        wire.margin = asWire(d.margin, !d.small);
        expected.marginMicro = d.margin;
      }
      return { wire, expected };
    }
    case 'settleFunding': {
      const wire: Record<string, unknown> = { op: d.kind, account };
      const expected: AnyOperation = { kind: 'settleFunding', accountIndex: d.a };
      if (d.withInstrument) {
        wire.instrument = instrument;
        expected.instrument = symbol;
      }
      if (d.withMode) {
        wire.mode = d.mode;
        expected.mode = d.mode;
      }
      return { wire, expected };
    }
    case 'charge':
      return d.withInstrument
        ? { wire: { op: d.kind, account, amount, instrument }, expected: { kind: 'charge', accountIndex: d.a, amountMicro: d.amount, instrument: symbol } }
        : { wire: { op: d.kind, account, amount }, expected: { kind: 'charge', accountIndex: d.a, amountMicro: d.amount } };
    case 'setFundingIndex':
      return { wire: { op: d.kind, instrument, index: asWire(d.index, d.small) }, expected: { kind: 'setFundingIndex', instrument: symbol, fundingIndex: d.index } };
  }
}

const idArbitrary = fc.oneof(fc.constantFrom(0, 0xffff_ffff), fc.nat({ max: 0xffff_ffff }));

const tickArbitrary = fc.record({ i: fc.nat(symbols.length - 1), bySymbol: fc.boolean(), price: fc.oneof(fc.bigInt(1n, PRICE_UNITS_MAX), fc.bigInt(1n, 0xffff_ffffn)), ts: fc.bigInt(0n, BigInt(Number.MAX_SAFE_INTEGER)), small: fc.boolean() });

const sampleArbitrary: fc.Arbitrary<Sample> = fc.oneof(
  fc.tuple(idArbitrary, fc.array(tickArbitrary, { minLength: 1, maxLength: 50 })).map(([id, ticks]): Sample => ({
    wire: { v: 1, type: 'ticks', id, ticks: ticks.map((t) => [t.bySymbol ? symbols[t.i] : t.i, asWire(t.price, t.small), asWire(t.ts, t.small)]) },
    role: 'publisher',
    check: (message) => {
      if (message.type !== 'ticks') throw new Error(message.type);
      expect(message.id).toBe(id);
      expect(message.count).toBe(ticks.length);
      expect(Array.from(message.instruments)).toEqual(ticks.map((t) => t.i));
      expect(Array.from(message.prices)).toEqual(ticks.map((t) => t.price));
      expect(Array.from(message.timestamps)).toEqual(ticks.map((t) => Number(t.ts)));
    },
  })),
  fc.tuple(idArbitrary, fc.array(drawArbitrary, { minLength: 1, maxLength: 30 })).map(([id, draws]): Sample => {
    const operations = draws.map(operationOf);
    return {
      wire: { v: 1, type: 'updates', id, ops: operations.map((op) => op.wire) },
      role: 'publisher',
      check: (message) => expect(message).toStrictEqual({ type: 'updates', id, operations: operations.map((op) => op.expected) }),
    };
  }),
  fc.tuple(idArbitrary, fc.bigInt(0n, BigInt(Number.MAX_SAFE_INTEGER)), drawArbitrary).map(([id, order, d]): Sample => {
    const { wire, expected } = operationOf({ ...d, kind: 'fill', margin: undefined });
    const { op: _op, ...fields } = wire;
    return {
      wire: { v: 1, type: 'fill', id, order: asWire(order, d.small), ...fields },
      role: 'consumer',
      check: (message) => expect(message).toStrictEqual({ type: 'fill', id, order: Number(order), operation: expected }),
    };
  }),
  fc.tuple(idArbitrary, fc.option(fc.bigInt(0n, BigInt(Number.MAX_SAFE_INTEGER)), { nil: undefined })).map(([id, from]): Sample => ({
    wire: from === undefined ? { v: 1, type: 'subscribe', id } : { v: 1, type: 'subscribe', id, from },
    role: from === undefined ? 'observer' : 'consumer',
    check: (message) => expect(message).toStrictEqual({ type: 'subscribe', id, from: from === undefined ? null : Number(from) }),
  })),
  fc.tuple(idArbitrary, fc.constantFrom('publisher' as const, 'consumer' as const, 'observer' as const)).map(([id, role]): Sample => ({
    wire: { v: 1, type: 'ping', id },
    role,
    check: (message) => expect(message).toStrictEqual({ type: 'ping', id }),
  })),
);

describe('valid messages', () => {
  test('random messages of every type, every operation, any int width: encode → decode gives the same operations', () => {
    fc.assert(
      fc.property(sampleArbitrary, (sample) => {
        const decoded = decodeClientMessage(encode(sample.wire, { useBigInt64: true }), sample.role, lookup);
        if (!decoded.ok) throw new Error(`${decoded.code}: ${decoded.reason}`);
        sample.check(decoded.message);
      }),
      { numRuns: 3_000 },
    );
  });
});
