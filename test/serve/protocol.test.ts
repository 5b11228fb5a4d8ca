// The live server's wire protocol (src/serve/protocol.ts, docs/PROTOCOL.md): every client message
// read into what the engine takes, every refusal code with its exact reason, roles, integers of
// every msgpack width, lots, the prototype keys, the header scan's limits, and the server messages'
// encoding (round trip, determinism, integer widths).
import { describe, expect, test } from 'vitest';
import { encode } from '@msgpack/msgpack';
import type { AnyOperation } from '../../src/account/operations.js';
import {
  DECODE_ERROR_CODES,
  ERROR_CODES,
  FRAME_BYTES_MAX,
  FRAME_DEPTH_MAX,
  OPS_PER_FRAME_MAX,
  PROTOCOL_VERSION,
  ProtocolError,
  ROLES,
  TICKS_PER_FRAME_MAX,
  bookLookup,
  decodeClientMessage,
  decodeServerMessage,
  encodeFrame,
  encodeServerMessage,
  encodeServerMessageShared,
  type ClientMessage,
  type Decoded,
  type ErrorCode,
  type Role,
  type ServerMessage,
} from '../../src/serve/protocol.js';
import { lottedBook, mp } from '../support/frames.js';

// BTC: lot 0.005 (5 size units), ETH: lot 0.001 (1 size unit), SOL: lot 0.25 (25 size units).
const engine = lottedBook('', [
  { id: 'alice', balance: '1000', positions: [] },
  { id: 'bob', balance: '1000', positions: [] },
]);
const book = bookLookup(engine);

/** A frame as a client would encode it (64-bit ints for bigints). */
function frame(message: Record<string, unknown>): Uint8Array {
  return encode(message, { useBigInt64: true });
}

function decode(message: Record<string, unknown> | Uint8Array, role: Role = 'publisher'): Decoded {
  return decodeClientMessage(message instanceof Uint8Array ? message : frame(message), role, book);
}

function accepted(message: Record<string, unknown> | Uint8Array, role: Role = 'publisher'): ClientMessage {
  const decoded = decode(message, role);
  if (!decoded.ok) throw new Error(`refused: ${decoded.code} ${decoded.reason}`);
  return decoded.message;
}

function refused(message: Record<string, unknown> | Uint8Array, role: Role = 'publisher'): { id: number | null; code: ErrorCode; reason: string } {
  const decoded = decode(message, role);
  if (decoded.ok) throw new Error(`accepted: ${JSON.stringify(decoded.message.type)}`);
  return { id: decoded.id, code: decoded.code, reason: decoded.reason };
}

const ops = (...list: Record<string, unknown>[]) => ({ v: 1, type: 'updates', id: 9, ops: list });
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
function cat(...parts: (Uint8Array | number[])[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => Array.from(part)));
}

describe('bookLookup', () => {
  test('reads the engine: symbols both ways, lots, account ids', () => {
    expect(book.instrumentCount).toBe(3);
    expect([0, 1, 2].map((i) => book.symbolOf(i))).toEqual(['BTC', 'ETH', 'SOL']);
    expect(book.indexOfSymbol('SOL')).toBe(2);
    expect(book.indexOfSymbol('constructor')).toBeUndefined();
    expect([0, 1, 2].map((i) => book.lotUnits(i))).toEqual([5n, 1n, 25n]);
    expect(book.accountIndex('bob')).toBe(1);
    expect(book.accountIndex('carol')).toBeUndefined();
    expect(book.accountIndex('__proto__')).toBeUndefined();
  });
});

describe('client messages round-trip', () => {
  test('ticks: instruments by index or symbol, prices and timestamps as 32- or 64-bit ints', () => {
    const message = accepted({
      v: 1,
      type: 'ticks',
      id: 42,
      ticks: [
        [0, 500_000, 1_700_000_000_000n],
        ['ETH', 250_000n, 5],
        [2n, 1_000_000_000_000_000n, 9_007_199_254_740_991n],
      ],
    });
    expect(message.type).toBe('ticks');
    if (message.type !== 'ticks') return;
    expect(message.id).toBe(42);
    expect(message.count).toBe(3);
    expect(Array.from(message.instruments)).toEqual([0, 1, 2]);
    expect(Array.from(message.prices)).toEqual([500_000n, 250_000n, 1_000_000_000_000_000n]);
    expect(Array.from(message.timestamps)).toEqual([1_700_000_000_000, 5, 9_007_199_254_740_991]);
    expect([message.instruments.length, message.prices.length, message.timestamps.length]).toEqual([3, 3, 3]);
  });

  test('ticks: the arrays are views of buffers the next call reuses', () => {
    const first = accepted({ v: 1, type: 'ticks', id: 1, ticks: [[0, 7, 1]] });
    const second = accepted({ v: 1, type: 'ticks', id: 2, ticks: [[1, 8, 2], [2, 9, 3]] });
    if (first.type !== 'ticks' || second.type !== 'ticks') throw new Error('not ticks');
    expect(first.prices.buffer).toBe(second.prices.buffer);
    expect(first.prices[0]).toBe(8n); // overwritten by the second call
    expect(first.count).toBe(1);
  });

  test('updates: every operation kind, into what applyBatch takes (accounts by index, instruments by symbol)', () => {
    const message = accepted(
      ops(
        { op: 'deposit', account: 'alice', amount: 1_000_000 },
        { op: 'withdraw', account: 'bob', amount: 5n },
        { op: 'addMargin', account: 'alice', instrument: 0, amount: 3 },
        { op: 'removeMargin', account: 'alice', instrument: 'ETH', amount: 4 },
        { op: 'setLeverage', account: 'bob', instrument: 'SOL', mode: 'isolated', leverage: 20 },
        { op: 'switchMode', account: 'bob', instrument: 1, to: 'isolated', margin: 1_000n },
        { op: 'switchMode', account: 'bob', instrument: 1, to: 'cross' },
        { op: 'fill', account: 'alice', instrument: 'BTC', mode: 'cross', size: -15, price: 500_000 },
        { op: 'fill', account: 'alice', instrument: 2, mode: 'isolated', size: 50n, price: 15_000n, margin: 2_000_000 },
        { op: 'settleFunding', account: 'alice' },
        { op: 'settleFunding', account: 'alice', instrument: 'BTC', mode: 'cross' },
        { op: 'charge', account: 'bob', amount: 10 },
        { op: 'charge', account: 'bob', amount: 10, instrument: 'SOL' },
        { op: 'setFundingIndex', instrument: 'ETH', index: -1_000_000_000_000_000_000n },
      ),
    );
    const expected: AnyOperation[] = [
      { kind: 'deposit', accountIndex: 0, amountMicro: 1_000_000n },
      { kind: 'withdraw', accountIndex: 1, amountMicro: 5n },
      { kind: 'addMargin', accountIndex: 0, instrument: 'BTC', amountMicro: 3n },
      { kind: 'removeMargin', accountIndex: 0, instrument: 'ETH', amountMicro: 4n },
      { kind: 'setLeverage', accountIndex: 1, instrument: 'SOL', mode: 'isolated', leverage: 20 },
      { kind: 'switchMode', accountIndex: 1, instrument: 'ETH', to: 'isolated', marginMicro: 1_000n },
      { kind: 'switchMode', accountIndex: 1, instrument: 'ETH', to: 'cross' },
      { kind: 'fill', accountIndex: 0, instrument: 'BTC', mode: 'cross', sizeUnits: -15n, priceUnits: 500_000n },
      { kind: 'fill', accountIndex: 0, instrument: 'SOL', mode: 'isolated', sizeUnits: 50n, priceUnits: 15_000n, marginMicro: 2_000_000n },
      { kind: 'settleFunding', accountIndex: 0 },
      { kind: 'settleFunding', accountIndex: 0, instrument: 'BTC', mode: 'cross' },
      { kind: 'charge', accountIndex: 1, amountMicro: 10n },
      { kind: 'charge', accountIndex: 1, amountMicro: 10n, instrument: 'SOL' },
      { kind: 'setFundingIndex', instrument: 'ETH', fundingIndex: -1_000_000_000_000_000_000n },
    ];
    expect(message).toStrictEqual({ type: 'updates', id: 9, operations: expected });
  });

  test('fill (a consumer reporting a liquidation fill)', () => {
    const message = accepted({ v: 1, type: 'fill', id: 3, order: 17, account: 'bob', instrument: 'SOL', mode: 'cross', size: -75, price: 14_990 }, 'consumer');
    expect(message).toStrictEqual({
      type: 'fill',
      id: 3,
      order: 17,
      operation: { kind: 'fill', accountIndex: 1, instrument: 'SOL', mode: 'cross', sizeUnits: -75n, priceUnits: 14_990n },
    });
  });

  test('subscribe: a consumer names the first order seq; an observer sends none', () => {
    expect(accepted({ v: 1, type: 'subscribe', id: 1, from: 1_000_000_000_000n }, 'consumer')).toStrictEqual({ type: 'subscribe', id: 1, from: 1_000_000_000_000 });
    expect(accepted({ v: 1, type: 'subscribe', id: 1, from: 0 }, 'consumer')).toStrictEqual({ type: 'subscribe', id: 1, from: 0 });
    expect(accepted({ v: 1, type: 'subscribe', id: 2 }, 'observer')).toStrictEqual({ type: 'subscribe', id: 2, from: null });
  });

  test('ping, from every role; ids from 0 to 2^32 − 1, in any int width', () => {
    for (const role of ROLES) expect(accepted({ v: 1, type: 'ping', id: 0 }, role)).toStrictEqual({ type: 'ping', id: 0 });
    expect(accepted({ v: 1, type: 'ping', id: 0xffff_ffff })).toStrictEqual({ type: 'ping', id: 0xffff_ffff });
    expect(accepted({ v: 1n, type: 'ping', id: 0xffff_ffffn })).toStrictEqual({ type: 'ping', id: 0xffff_ffff });
  });

  test('the keys may come in any order', () => {
    expect(accepted({ id: 5, type: 'ping', v: 1 })).toStrictEqual({ type: 'ping', id: 5 });
    const message = accepted({ ops: [{ amount: 1, account: 'bob', op: 'deposit' }], id: 1, v: 1, type: 'updates' });
    expect(message).toStrictEqual({ type: 'updates', id: 1, operations: [{ kind: 'deposit', accountIndex: 1, amountMicro: 1n }] });
  });
});

describe('integers', () => {
  const amounts: [string, Uint8Array, bigint][] = [
    ['positive fixint', mp.int(7), 7n],
    ['uint 8', Uint8Array.of(0xcc, 7), 7n],
    ['uint 16', Uint8Array.of(0xcd, 0, 7), 7n],
    ['uint 32', Uint8Array.of(0xce, 0, 0, 0, 7), 7n],
    ['uint 64', mp.u64(7), 7n],
    ['negative fixint', mp.int(-7), -7n],
    ['int 8', Uint8Array.of(0xd0, 0xf9), -7n],
    ['int 16', Uint8Array.of(0xd1, 0xff, 0xf9), -7n],
    ['int 32', Uint8Array.of(0xd2, 0xff, 0xff, 0xff, 0xf9), -7n],
    ['int 64', mp.i64(-7), -7n],
    ['int 64, the range end', mp.i64(-10_000_000_000_000_000n), -10_000_000_000_000_000n],
    ['uint 64, the range end', mp.u64(10_000_000_000_000_000n), 10_000_000_000_000_000n],
  ];
  test.each(amounts)('an amount as %s', (_name, encoded, value) => {
    const bytes = cat(
      mp.map([
        ['v', mp.int(1)],
        ['type', mp.str('updates')],
        ['id', mp.int(1)],
        ['ops', mp.array([mp.map([['op', mp.str('charge')], ['account', mp.str('alice')], ['amount', encoded]])])],
      ]),
    );
    expect(accepted(bytes)).toStrictEqual({ type: 'updates', id: 1, operations: [{ kind: 'charge', accountIndex: 0, amountMicro: value }] });
  });

  test('a float is refused where an integer goes, even a whole one, with the field\'s code', () => {
    const withAmount = (value: Uint8Array) =>
      mp.map([
        ['v', mp.int(1)],
        ['type', mp.str('updates')],
        ['id', mp.int(4)],
        ['ops', mp.array([mp.map([['op', mp.str('deposit')], ['account', mp.str('alice')], ['amount', value]])])],
      ]);
    expect(refused(withAmount(mp.f64(1)))).toEqual({ id: 4, code: 'invalid_amount', reason: 'ops[0].amount: a float (float64 1) where an integer goes; integers are msgpack ints, even whole ones' });
    expect(refused(withAmount(mp.f32(2.5)))).toEqual({ id: 4, code: 'invalid_amount', reason: 'ops[0].amount: a float (float32 2.5) where an integer goes; integers are msgpack ints, even whole ones' });
    expect(refused(withAmount(mp.f64(NaN))).reason).toBe('ops[0].amount: a float (float64 NaN) where an integer goes; integers are msgpack ints, even whole ones');
    expect(refused(withAmount(mp.f64(-Infinity))).reason).toBe('ops[0].amount: a float (float64 -Infinity) where an integer goes; integers are msgpack ints, even whole ones');
    // What @msgpack/msgpack writes for a JS number that is not an integer.
    expect(refused({ v: 1, type: 'ticks', id: 1, ticks: [[0, 1.5, 1]] })).toEqual({
      id: 1,
      code: 'invalid_price',
      reason: 'ticks[0][1]: a float (float64 1.5) where an integer goes; integers are msgpack ints, even whole ones',
    });
    expect(refused({ v: 1, type: 'ping', id: 1.0 + 0.5 })).toEqual({ id: null, code: 'invalid_field', reason: 'id: a float (float64 1.5) where an integer goes; integers are msgpack ints, even whole ones' });
  });

  test('strings, booleans and nil where numbers go are refused naming what was found', () => {
    expect(refused(ops({ op: 'deposit', account: 'alice', amount: '100' }))).toEqual({ id: 9, code: 'invalid_amount', reason: 'ops[0].amount: must be an integer of micro, got a string ("100")' });
    expect(refused(ops({ op: 'deposit', account: 'alice', amount: true }))).toEqual({ id: 9, code: 'invalid_amount', reason: 'ops[0].amount: must be an integer of micro, got a boolean (true)' });
    expect(refused(ops({ op: 'deposit', account: 'alice', amount: null }))).toEqual({ id: 9, code: 'invalid_amount', reason: 'ops[0].amount: must be an integer of micro, got nil' });
    expect(refused({ v: 1, type: 'ticks', id: 1, ticks: [[0, 5, '1']] })).toEqual({ id: 1, code: 'invalid_field', reason: 'ticks[0][2]: must be an integer from 0 to 9007199254740991, got a string ("1")' });
  });
});

describe('encodeFrame (for clients)', () => {
  test('@msgpack/msgpack with useBigInt64 writes a number above 32 bits as a float64, which is refused; encodeFrame writes an int', () => {
    const message = { v: 1, type: 'updates', id: 2, ops: [{ op: 'deposit', account: 'alice', amount: 5_000_000_000 }] };
    expect(hex(frame(message))).toContain('a6616d6f756e74cb41f2a05f20000000'); // amount: float64
    expect(refused(frame(message))).toEqual({ id: 2, code: 'invalid_amount', reason: 'ops[0].amount: a float (float64 5000000000) where an integer goes; integers are msgpack ints, even whole ones' });
    const bytes = encodeFrame(message);
    expect(hex(bytes)).toContain('a6616d6f756e74cf000000012a05f200'); // amount: uint 64
    expect(accepted(bytes)).toStrictEqual({ type: 'updates', id: 2, operations: [{ kind: 'deposit', accountIndex: 0, amountMicro: 5_000_000_000n }] });
  });

  test('bigints that fit 32 bits are written small; non-integers and nesting past the limit throw', () => {
    expect(hex(encodeFrame({ v: 1n, type: 'ping', id: 7n }))).toBe(hex(frame({ v: 1, type: 'ping', id: 7 })));
    expect(hex(encodeFrame([-(2n ** 63n), 2n ** 64n - 1n]))).toBe('92d38000000000000000cfffffffffffffffff');
    expect(() => encodeFrame({ price: 1.5 })).toThrow('encodeFrame: a number must be a safe integer, got 1.5');
    expect(() => encodeFrame({ price: 2n ** 64n })).toThrow('encodeFrame: a number must fit 64 bits, got 18446744073709551616');
    expect(() => encodeFrame({ x: [[[[[1]]]]] })).toThrow('encodeFrame: nested deeper than 4');
  });

  test('an own __proto__ key is written as a key (and then refused), not set as a prototype', () => {
    const bytes = encodeFrame(JSON.parse('{"v":1,"type":"ping","id":3,"__proto__":{"x":1}}'));
    expect(refused(bytes)).toEqual({ id: 3, code: 'invalid_field', reason: '__proto__: the key __proto__ is refused' });
  });
});

describe('lots and sizes', () => {
  const fill = (size: unknown, instrument: unknown = 'BTC') => ops({ op: 'fill', account: 'alice', instrument, mode: 'cross', size, price: 1 });
  test('a size is a non-zero multiple of the instrument\'s lot, of either sign', () => {
    expect(accepted(fill(10))).toMatchObject({ operations: [{ sizeUnits: 10n }] });
    expect(accepted(fill(-5n))).toMatchObject({ operations: [{ sizeUnits: -5n }] });
    expect(accepted(fill(7, 'ETH'))).toMatchObject({ operations: [{ sizeUnits: 7n }] });
    expect(accepted(fill(-250, 2))).toMatchObject({ operations: [{ sizeUnits: -250n }] });
  });
  test('off the lot, zero, or too large: invalid_size naming the field', () => {
    expect(refused(fill(7))).toEqual({ id: 9, code: 'invalid_size', reason: 'ops[0].size: 7 is not a multiple of the lot (5 size units) of BTC' });
    expect(refused(fill(-30, 2))).toEqual({ id: 9, code: 'invalid_size', reason: 'ops[0].size: -30 is not a multiple of the lot (25 size units) of SOL' });
    expect(refused(fill(0))).toEqual({ id: 9, code: 'invalid_size', reason: 'ops[0].size: must not be zero' });
    expect(refused(fill(2n * 10n ** 18n))).toEqual({ id: 9, code: 'invalid_size', reason: 'ops[0].size: must be within ±1000000000000000000 size units, got 2000000000000000000' });
    expect(refused({ v: 1, type: 'fill', id: 2, order: 1, account: 'bob', instrument: 'SOL', mode: 'cross', size: 10, price: 1 }, 'consumer')).toEqual({
      id: 2,
      code: 'invalid_size',
      reason: 'size: 10 is not a multiple of the lot (25 size units) of SOL',
    });
  });
});

describe('every error code, with its reason', () => {
  const ping = { v: 1, type: 'ping', id: 1 };
  const cases: [string, Record<string, unknown> | Uint8Array, Role, ErrorCode, string, number | null][] = [
    ['not msgpack (JSON text)', new TextEncoder().encode('{"v":1}'), 'publisher', 'malformed', 'frame: must be a msgpack map, got an integer (JSON text? frames are msgpack)', null],
    ['empty', new Uint8Array(0), 'publisher', 'malformed', 'frame: empty', null],
    ['an array', frame([1, 2] as unknown as Record<string, unknown>), 'publisher', 'malformed', 'frame: must be a msgpack map, got an array', null],
    ['truncated', frame(ping).subarray(0, 9), 'publisher', 'malformed', 'type: truncated (the frame ends at byte 9)', null],
    ['truncated in a key', frame(ping).subarray(0, 8), 'publisher', 'malformed', 'frame: a key declares 4 bytes, but only 3 bytes follow', null],
    ['trailing bytes', cat(frame(ping), [0xc0, 0xc0]), 'publisher', 'malformed', 'frame: 2 trailing bytes after the map', 1],
    ['nested too deep', frame({ ...ping, x: [[[[1]]]] }), 'publisher', 'malformed', 'x[0][0][0]: nested 5 deep, over the limit of 4', 1],
    ['0xc1', cat([0x81, 0xa1, 0x78, 0xc1]), 'publisher', 'malformed', 'x: 0xc1 is not a msgpack type byte', null],
    ['a key not a string', cat([0x82, 0x01, 0x01, 0xa1, 0x76, 0x01]), 'publisher', 'malformed', 'frame: map keys must be strings, got an integer', null],
    ['too large a frame', new Uint8Array(FRAME_BYTES_MAX + 1), 'publisher', 'too_large', 'frame: 1048577 bytes, over the limit of 1048576 (1 MiB)', null],
    ['a huge declared string', cat([0x82, 0xa1, 0x76, 0x01, 0xa4, 0x74, 0x79, 0x70, 0x65, 0xdb, 0xff, 0xff, 0xff, 0xff]), 'publisher', 'too_large', 'type: a string of 4294967295 bytes, over the limit of 64', null],
    ['a huge declared array', cat([0x82, 0xa2, 0x69, 0x64, 0x03, 0xa5, 0x74, 0x69, 0x63, 0x6b, 0x73, 0xdd, 0xff, 0xff, 0xff, 0xff]), 'publisher', 'too_large', 'ticks: an array of 4294967295 elements, over the limit of 16384', 3],
    ['a huge declared map', cat([0xdf, 0xff, 0xff, 0xff, 0xff]), 'publisher', 'too_large', 'frame: a map of 4294967295 keys, over the limit of 16', null],
    ['too many ops', ops(...Array.from({ length: OPS_PER_FRAME_MAX + 1 }, () => ({ op: 'deposit', account: 'alice', amount: 1 }))), 'publisher', 'too_large', 'ops: 4097 operations, over the limit of 4096', 9],
    ['an account id over 64 bytes', ops({ op: 'deposit', account: 'a'.repeat(65), amount: 1 }), 'publisher', 'too_large', 'ops[0].account: a string of 65 bytes, over the limit of 64', 9],
    ['version 2', { ...ping, v: 2 }, 'publisher', 'unsupported_version', 'v: version 2 is not supported; this server speaks protocol version 1', 1],
    ['version missing', { type: 'ping', id: 1 }, 'publisher', 'unsupported_version', 'v: missing; this server speaks protocol version 1', 1],
    ['version as a string', { ...ping, v: '1' }, 'publisher', 'unsupported_version', 'v: must be the integer 1 (this server speaks protocol version 1), got a string ("1")', 1],
    ['unknown type', { ...ping, type: 'tick' }, 'publisher', 'unknown_type', 'type: unknown message type "tick" (clients send ticks, updates, fill, subscribe, ping)', 1],
    ['a server type', { ...ping, type: 'order' }, 'consumer', 'unknown_type', 'type: unknown message type "order" (clients send ticks, updates, fill, subscribe, ping)', 1],
    ['forbidden', { v: 1, type: 'ticks', id: 8, ticks: [[0, 1, 1]] }, 'consumer', 'forbidden', 'type: a consumer may not send "ticks" (publisher only)', 8],
    ['unknown key', { ...ping, extra: 1 }, 'publisher', 'invalid_field', 'extra: unknown key for "ping"', 1],
    ['unknown key in an op', ops({ op: 'deposit', account: 'alice', amount: 1, instrument: 'BTC' }), 'publisher', 'invalid_field', 'ops[0].instrument: unknown key for "deposit"', 9],
    ['id missing', { v: 1, type: 'ping' }, 'publisher', 'invalid_field', 'id: missing (every client message carries an id, echoed in the answer)', null],
    ['id too large', { ...ping, id: 2n ** 32n }, 'publisher', 'invalid_field', 'id: must be an integer from 0 to 4294967295, got the integer 4294967296', null],
    ['type missing', { v: 1, id: 1 }, 'publisher', 'invalid_field', 'type: missing', 1],
    ['a repeated key', cat([0x84, 0xa1, 0x76, 0x01, 0xa4, ...new TextEncoder().encode('type'), 0xa4, ...new TextEncoder().encode('ping'), 0xa2, 0x69, 0x64, 0x02, 0xa1, 0x76, 0x01]), 'publisher', 'invalid_field', 'v: repeated key (a map names each key once)', 2],
    ['empty ticks', { v: 1, type: 'ticks', id: 1, ticks: [] }, 'publisher', 'invalid_field', 'ticks: must hold 1 to 16384 ticks, got none', 1],
    ['empty ops', ops(), 'publisher', 'invalid_field', 'ops: must hold 1 to 4096 operations, got none', 9],
    ['a tick of two', { v: 1, type: 'ticks', id: 1, ticks: [[0, 1]] }, 'publisher', 'invalid_field', 'ticks[0]: must be [instrument, price, ts], got an array of 2', 1],
    ['an unknown operation', ops({ op: 'setMark', instrument: 'BTC' }), 'publisher', 'invalid_field', 'ops[0].op: unknown operation "setMark" (deposit, withdraw, addMargin, removeMargin, setLeverage, switchMode, fill, settleFunding, charge, setFundingIndex)', 9],
    ['a bad mode', ops({ op: 'settleFunding', account: 'alice', mode: 'Cross' }), 'publisher', 'invalid_field', 'ops[0].mode: must be "cross" or "isolated", got a string ("Cross")', 9],
    ['leverage 0', ops({ op: 'setLeverage', account: 'alice', instrument: 0, mode: 'cross', leverage: 0 }), 'publisher', 'invalid_field', 'ops[0].leverage: must be an integer from 1 to 1000, got the integer 0', 9],
    ['a funding index out of range', ops({ op: 'setFundingIndex', instrument: 0, index: 10n ** 18n + 1n }), 'publisher', 'invalid_field', 'ops[0].index: must be within ±1000000000000000000, got 1000000000000000001', 9],
    ['binary where a string goes', cat(mp.map([['v', mp.int(1)], ['type', mp.bin(Uint8Array.of(1))], ['id', mp.int(1)]])), 'publisher', 'invalid_field', 'type: binary (bin) values have no place in the protocol', null],
    ['an observer sends from', { v: 1, type: 'subscribe', id: 1, from: 3 }, 'observer', 'invalid_field', 'from: observers send no from (orders are replayed to consumers only)', 1],
    ['a consumer sends no from', { v: 1, type: 'subscribe', id: 1 }, 'consumer', 'invalid_field', 'from: missing', 1],
    ['unknown account', ops({ op: 'deposit', account: 'carol', amount: 1 }), 'publisher', 'unknown_account', 'ops[0].account: unknown account "carol"', 9],
    ['unknown account in a fill', { v: 1, type: 'fill', id: 1, order: 1, account: 'carol\n', instrument: 0, mode: 'cross', size: 5, price: 1 }, 'consumer', 'unknown_account', 'account: unknown account "carol\\n"', 1],
    ['an empty account', ops({ op: 'deposit', account: '', amount: 1 }), 'publisher', 'invalid_field', 'ops[0].account: must be an account id (a string of 1 to 64 bytes), got an empty string', 9],
    ['unknown symbol', { v: 1, type: 'ticks', id: 1, ticks: [[0, 1, 1], ['DOGE', 1, 1]] }, 'publisher', 'unknown_instrument', 'ticks[1][0]: unknown instrument "DOGE"', 1],
    ['instrument index out of range', ops({ op: 'addMargin', account: 'alice', instrument: 3, amount: 1 }), 'publisher', 'unknown_instrument', 'ops[0].instrument: no instrument 3 (the book has 3: indices 0 to 2)', 9],
    ['a negative instrument index', { v: 1, type: 'ticks', id: 1, ticks: [[-1, 1, 1]] }, 'publisher', 'invalid_field', 'ticks[0][0]: must be an instrument index (an integer from 0) or symbol (a string), got the integer -1', 1],
    ['price zero', { v: 1, type: 'ticks', id: 1, ticks: [[0, 0, 1]] }, 'publisher', 'invalid_price', 'ticks[0][1]: must be from 1 to 1000000000000000 price units, got 0', 1],
    ['price negative', ops({ op: 'fill', account: 'alice', instrument: 0, mode: 'cross', size: 5, price: -3 }), 'publisher', 'invalid_price', 'ops[0].price: must be from 1 to 1000000000000000 price units, got -3', 9],
    ['price over the max', { v: 1, type: 'ticks', id: 1, ticks: [[0, 10n ** 15n + 1n, 1]] }, 'publisher', 'invalid_price', 'ticks[0][1]: must be from 1 to 1000000000000000 price units, got 1000000000000001', 1],
    ['price missing', { v: 1, type: 'fill', id: 1, order: 1, account: 'alice', instrument: 0, mode: 'cross', size: 5 }, 'consumer', 'invalid_price', 'price: missing', 1],
    ['size off the lot', ops({ op: 'fill', account: 'alice', instrument: 'BTC', mode: 'cross', size: 3, price: 1 }), 'publisher', 'invalid_size', 'ops[0].size: 3 is not a multiple of the lot (5 size units) of BTC', 9],
    ['size a string', ops({ op: 'fill', account: 'alice', instrument: 'BTC', mode: 'cross', size: '5', price: 1 }), 'publisher', 'invalid_size', 'ops[0].size: must be an integer of size units, got a string ("5")', 9],
    ['amount out of range', ops({ op: 'deposit', account: 'alice', amount: 10n ** 16n + 1n }), 'publisher', 'invalid_amount', 'ops[0].amount: must be within ±10000000000000000 micro, got 10000000000000001', 9],
    ['margin missing its value', ops({ op: 'switchMode', account: 'alice', instrument: 0, to: 'isolated', margin: null }), 'publisher', 'invalid_amount', 'ops[0].margin: must be an integer of micro, got nil', 9],
  ];

  test.each(cases)('%s', (_name, message, role, code, reason, id) => {
    expect(refused(message, role)).toEqual({ id, code, reason });
  });

  test('the cases above produce every code decodeClientMessage returns; the server\'s own four are in the list', () => {
    expect(new Set(cases.map(([, , , code]) => code))).toEqual(new Set(DECODE_ERROR_CODES));
    expect(ERROR_CODES.filter((code) => !DECODE_ERROR_CODES.includes(code))).toEqual(['unauthorized', 'text_frame', 'journal_failed', 'shutting_down']);
  });

  test('every reason is one line, whatever the client sent', () => {
    const reason = refused(ops({ op: 'deposit', account: 'a\u2028b\r\nc', amount: 1 })).reason;
    expect(reason).toBe('ops[0].account: unknown account "a\\u2028b\\r\\nc"');
    expect(refused({ ...{ v: 1, type: 'ping', id: 1 }, 'we\u0000ird': 1 }).reason).toBe('["we\\u0000ird"]: unknown key for "ping"');
  });
});

describe('roles', () => {
  const messages: Record<string, Record<string, unknown>> = {
    ticks: { v: 1, type: 'ticks', id: 1, ticks: [[0, 1, 1]] },
    updates: ops({ op: 'deposit', account: 'alice', amount: 1 }),
    fill: { v: 1, type: 'fill', id: 1, order: 1, account: 'alice', instrument: 0, mode: 'cross', size: 5, price: 1 },
    subscribe: { v: 1, type: 'subscribe', id: 1 },
    ping: { v: 1, type: 'ping', id: 1 },
  };
  const allowed: Record<string, Role[]> = {
    ticks: ['publisher'],
    updates: ['publisher'],
    fill: ['consumer'],
    subscribe: ['consumer', 'observer'],
    ping: ['publisher', 'consumer', 'observer'],
  };
  for (const [type, message] of Object.entries(messages)) {
    for (const role of ROLES) {
      test(`${role} sends ${type}: ${allowed[type].includes(role) ? 'accepted' : 'forbidden'}`, () => {
        const sent = type === 'subscribe' && role === 'consumer' ? { ...message, from: 1 } : message;
        const decoded = decode(sent, role);
        if (allowed[type].includes(role)) {
          expect(decoded.ok).toBe(true);
        } else {
          expect(decoded).toEqual({ ok: false, id: sent.id, code: 'forbidden', reason: `type: ${role === 'observer' ? 'an' : 'a'} ${role} may not send "${type}" (${allowed[type].join(' or ')} only)` });
        }
      });
    }
  }
});

describe('prototype keys', () => {
  const pristine = () => Object.getOwnPropertyNames(Object.prototype).sort();
  const before = pristine();

  test('__proto__ (as JSON.parse makes it, an own key) is refused at the top and in an op, and pollutes nothing', () => {
    const top = frame(JSON.parse('{"v":1,"type":"ping","id":5,"__proto__":{"polluted":true}}') as Record<string, unknown>);
    expect(hex(top)).toContain(hex(new TextEncoder().encode('__proto__')));
    expect(refused(top)).toEqual({ id: 5, code: 'invalid_field', reason: '__proto__: the key __proto__ is refused' });
    const nested = frame({ v: 1, type: 'updates', id: 6, ops: [JSON.parse('{"op":"deposit","account":"alice","amount":1,"__proto__":{"polluted":true}}')] });
    expect(refused(nested)).toEqual({ id: 6, code: 'invalid_field', reason: 'ops[0].__proto__: the key __proto__ is refused' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(pristine()).toEqual(before);
  });

  test('constructor and prototype are unknown keys, read as own properties only', () => {
    expect(refused({ v: 1, type: 'ping', id: 5, constructor: { prototype: { polluted: true } } })).toEqual({ id: 5, code: 'invalid_field', reason: 'constructor: unknown key for "ping"' });
    expect(refused({ v: 1, type: 'ping', id: 5, prototype: { polluted: true } })).toEqual({ id: 5, code: 'invalid_field', reason: 'prototype: unknown key for "ping"' });
    expect(refused(ops({ op: 'deposit', account: 'alice', amount: 1, constructor: 1 }))).toEqual({ id: 9, code: 'invalid_field', reason: 'ops[0].constructor: unknown key for "deposit"' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(pristine()).toEqual(before);
  });

  test('names of Object.prototype as values are values: unknown types, operations, accounts and instruments', () => {
    expect(refused({ v: 1, type: 'constructor', id: 1 }).code).toBe('unknown_type');
    expect(refused({ v: 1, type: 'toString', id: 1 }).code).toBe('unknown_type');
    expect(refused(ops({ op: 'constructor' })).code).toBe('invalid_field');
    expect(refused(ops({ op: 'deposit', account: 'constructor', amount: 1 })).code).toBe('unknown_account');
    expect(refused(ops({ op: 'addMargin', account: 'alice', instrument: 'hasOwnProperty', amount: 1 })).code).toBe('unknown_instrument');
  });
});

describe('the header scan', () => {
  test('a bomb of 100,000 nested arrays is refused at depth 5, quickly', () => {
    const bomb = cat([0x82, 0xa2, 0x69, 0x64, 0x07, 0xa1, 0x78], new Uint8Array(100_000).fill(0x91), [0x01]);
    const started = performance.now();
    expect(refused(bomb)).toEqual({ id: 7, code: 'malformed', reason: `x[0][0][0]: nested 5 deep, over the limit of ${FRAME_DEPTH_MAX}` });
    expect(refused(new Uint8Array(100_000).fill(0x91))).toEqual({ id: null, code: 'malformed', reason: 'frame: must be a msgpack map, got an array' });
    const maps = cat([0x81, 0xa1, 0x78], ...Array.from({ length: 10 }, () => [0x81, 0xa1, 0x61]), [0x01]);
    expect(refused(maps).reason).toBe('x.a.a.a: nested 5 deep, over the limit of 4');
    expect(performance.now() - started).toBeGreaterThanOrEqual(0); // (no time asserted: tests never do)
  });

  test('the deepest the schema goes (depth 3) and one more (4) pass the scan', () => {
    expect(refused({ v: 1, type: 'ping', id: 1, x: [[[1]]] }).reason).toBe('x: unknown key for "ping"');
  });

  test('declared lengths beyond the bytes left are truncations', () => {
    const shortString = cat([0x83, 0xa1, 0x76, 0x01, 0xa4, ...new TextEncoder().encode('type'), 0xd9, 40, ...new TextEncoder().encode('ping')]);
    expect(refused(shortString)).toEqual({ id: null, code: 'malformed', reason: 'type: a string declares 40 bytes, but only 4 bytes follow' });
    const shortArray = cat([0x81, 0xa5, ...new TextEncoder().encode('ticks'), 0xdc, 0x03, 0xe8, 0x90]);
    expect(refused(shortArray)).toEqual({ id: null, code: 'malformed', reason: 'ticks: an array declares 1000 elements, but only 1 byte follows' });
  });

  test('every strict prefix of a valid frame is malformed, and the id is kept once read', () => {
    const full = frame({ v: 1, type: 'updates', id: 77, ops: [{ op: 'fill', account: 'alice', instrument: 'BTC', mode: 'cross', size: 5n, price: 1_000_000_000n }] });
    expect(decode(full).ok).toBe(true);
    for (let cut = 0; cut < full.length; cut++) {
      const result = refused(full.subarray(0, cut));
      expect(result.code).toBe('malformed');
      expect(result.id === null || result.id === 77).toBe(true);
    }
    expect(refused(full.subarray(0, full.length - 1)).id).toBe(77);
  });

  test('a full ticks frame of 16,384 ticks with 32-byte symbols and 64-bit values fits in FRAME_BYTES_MAX', () => {
    const long = 'X'.repeat(32);
    const wide = {
      instruments: engine.instruments,
      lookup: { ...book, indexOfSymbol: (symbol: string) => (symbol === long ? 0 : book.indexOfSymbol(symbol)) },
    };
    const ticks = Array.from({ length: TICKS_PER_FRAME_MAX }, () => [long, 2n ** 40n, 2n ** 41n]);
    const bytes = frame({ v: 1, type: 'ticks', id: 0xffff_ffff, ticks });
    expect(bytes.length).toBeLessThanOrEqual(FRAME_BYTES_MAX);
    const decoded = decodeClientMessage(bytes, 'publisher', wide.lookup);
    expect(decoded.ok && decoded.message.type === 'ticks' && decoded.message.count).toBe(TICKS_PER_FRAME_MAX);
  });
});

describe('server messages', () => {
  const messages: ServerMessage[] = [
    { type: 'ack', id: 1, seq: 1 },
    {
      type: 'ack',
      id: 0xffff_ffff,
      seq: 2 ** 53 - 1,
      refused: [
        [0, 'exceeds_wallet', 'withdrawal of 10.000000 exceeds the wallet balance 1.000000'],
        [4095, 'unknown_account', 'unknown account index 7'],
      ],
    },
    { type: 'error', id: null, code: 'malformed', reason: 'frame: empty' },
    { type: 'error', id: 12, code: 'shutting_down', reason: 'the server is shutting down' },
    { type: 'welcome', id: 1, role: 'consumer', from: 10, lastSeq: 9 },
    { type: 'welcome', id: 2, role: 'observer', lastSeq: 0 },
    {
      type: 'order',
      seq: 17,
      key: 'alice:BTC:cross:17',
      account: 'alice',
      instrument: 'BTC',
      mode: 'cross',
      side: 'sell',
      size: 15n,
      price: 489_000n,
      reduceOnly: true,
      tif: 'IOC',
      reason: 'liquidatable',
      ts: 1_700_000_000_123,
    },
    { type: 'heartbeat', seq: 0, ts: 1_700_000_000_000 },
    { type: 'summary', ts: 1_700_000_000_000, accounts: 1_000_000, liquidatable: 12, bankrupt: 1, orders: 13 },
    { type: 'prices', ts: 1, marks: [['BTC', 500_000n], ['ETH', 10n ** 15n]] },
  ];

  test.each(messages.map((message) => [message.type, message] as const))('%s round-trips', (_type, message) => {
    expect(decodeServerMessage(encodeServerMessage(message))).toStrictEqual(message);
  });

  test('the same message gives the same bytes, whatever the order of its object\'s keys', () => {
    for (const message of messages) {
      const reversed = Object.fromEntries(Object.entries(message).reverse()) as ServerMessage;
      expect(hex(encodeServerMessage(reversed))).toBe(hex(encodeServerMessage(message)));
    }
  });

  test('the bytes of an order, key by key (v and type first, then the table\'s order)', () => {
    const order = messages[6];
    expect(hex(encodeServerMessage(order))).toBe(
      [
        '8e', // a map of 14 keys
        'a176', '01', // v: 1
        'a474797065', 'a56f72646572', // type: "order"
        'a3736571', '11', // seq: 17
        'a36b6579', 'b2616c6963653a4254433a63726f73733a3137', // key
        'a76163636f756e74', 'a5616c696365', // account: "alice"
        'aa696e737472756d656e74', 'a3425443', // instrument: "BTC"
        'a46d6f6465', 'a563726f7373', // mode: "cross"
        'a473696465', 'a473656c6c', // side: "sell"
        'a473697a65', '0f', // size: 15
        'a57072696365', 'ce00077628', // price: 489000 (uint 32)
        'aa7265647563654f6e6c79', 'c3', // reduceOnly: true
        'a3746966', 'a3494f43', // tif: "IOC"
        'a6726561736f6e', `ac${hex(new TextEncoder().encode('liquidatable'))}`, // reason: "liquidatable"
        'a27473', 'cf0000018bcfe5687b', // ts: 1700000000123 (uint 64: over 32 bits)
      ].join(''),
    );
  });

  test('integers: the smallest int that holds them; over 32 bits, int64/uint64, never a float', () => {
    const bytes = encodeServerMessage({ type: 'heartbeat', seq: 2 ** 40, ts: 2 ** 32 - 1 });
    expect(hex(bytes)).toBe(`84a17601a474797065a9${hex(new TextEncoder().encode('heartbeat'))}a3736571cf0000010000000000a27473ceffffffff`);
    expect(Array.from(bytes)).not.toContain(0xcb);
    const marks = encodeServerMessage({ type: 'prices', ts: 0, marks: [['A', -5n], ['B', 2n ** 40n]] });
    expect(hex(marks)).toContain('92a141fb'); // -5: negative fixint
    expect(hex(marks)).toContain('92a142cf0000010000000000');
    expect(() => encodeServerMessage({ type: 'heartbeat', seq: 1.5, ts: 0 })).toThrow(RangeError);
    expect(() => encodeServerMessage({ type: 'heartbeat', seq: 2 ** 53, ts: 0 })).toThrow('encodeServerMessage: seq must be a safe integer, got 9007199254740992');
  });

  test('encodeServerMessage returns a fresh copy; the shared variant a view of the reused buffer', () => {
    const first = encodeServerMessage({ type: 'heartbeat', seq: 1, ts: 1 });
    const second = encodeServerMessage({ type: 'heartbeat', seq: 2, ts: 2 });
    expect(first.buffer).not.toBe(second.buffer);
    expect(decodeServerMessage(first)).toStrictEqual({ type: 'heartbeat', seq: 1, ts: 1 });
    const shared = encodeServerMessageShared({ type: 'heartbeat', seq: 3, ts: 3 });
    const sharedAgain = encodeServerMessageShared({ type: 'heartbeat', seq: 4, ts: 4 });
    expect(shared.buffer).toBe(sharedAgain.buffer);
    expect(hex(sharedAgain)).toBe(hex(encodeServerMessage({ type: 'heartbeat', seq: 4, ts: 4 })));
  });

  test('decodeServerMessage throws ProtocolError with a code on anything else', () => {
    const attempt = (bytes: Uint8Array) => {
      try {
        decodeServerMessage(bytes);
      } catch (error) {
        expect(error).toBeInstanceOf(ProtocolError);
        return [(error as ProtocolError).code, (error as ProtocolError).message];
      }
      return ['accepted', ''];
    };
    expect(attempt(new Uint8Array(0))).toEqual(['malformed', 'frame: empty']);
    expect(attempt(frame({ v: 2, type: 'heartbeat', seq: 1, ts: 1 }))).toEqual(['unsupported_version', 'v: must be 1, got the integer 2']);
    expect(attempt(frame({ v: 1, type: 'tick', seq: 1, ts: 1 }))).toEqual(['unknown_type', 'type: unknown message type "tick" (servers send ack, error, welcome, order, heartbeat, summary, prices)']);
    expect(attempt(frame({ v: 1, type: 'heartbeat', seq: 1, ts: 1, extra: 0 }))).toEqual(['invalid_field', 'extra: unknown key for "heartbeat"']);
    expect(attempt(frame({ v: 1, type: 'heartbeat', seq: -1, ts: 1 }))).toEqual(['invalid_field', 'seq: must be an integer from 0 to 9007199254740991, got the integer -1']);
    expect(attempt(frame({ v: 1, type: 'error', id: null, code: 'nope', reason: '' }))).toEqual(['invalid_field', 'code: must be one of malformed, too_large, unsupported_version, unknown_type, forbidden, invalid_field, unknown_account, unknown_instrument, invalid_price, invalid_size, invalid_amount, unauthorized, text_frame, journal_failed, shutting_down, got a string ("nope")']);
    expect(attempt(cat(encodeServerMessage(messages[0]), [0]))).toEqual(['malformed', 'frame: 1 trailing byte after the map']);
  });

  test('the protocol version is 1', () => {
    expect(PROTOCOL_VERSION).toBe(1);
  });
});
