// The live server's wire protocol, version 1 (docs/PROTOCOL.md): the message types, the limits,
// the codec and the validation of what clients send.
//
// A frame is one binary WebSocket message holding one msgpack map with string keys. A client's
// frame goes through three stages, each refusing what it can refuse cheapest:
//   1. its size (FRAME_BYTES_MAX) before anything is read;
//   2. a scan of its msgpack headers, iterative (no recursion, a fixed stack of FRAME_DEPTH_MAX
//      levels): nesting, declared lengths against the limits and against the bytes left, type
//      bytes that are not msgpack, keys that are not strings, repeated keys, the key `__proto__`,
//      and every value the protocol has no place for (floats, binaries, extensions): a bomb of
//      100,000 nested arrays or a header declaring 2^32 − 1 elements costs a few bytes' reading;
//   3. one decode with the module's Decoder (limits set to the schema's needs, so that it never
//      allocates past them even if the scan were wrong), then the schema, field by field, in the
//      order docs/PROTOCOL.md lists the fields; the first problem is the answer.
// Every refusal is a code (ERROR_CODES) and a one-line reason naming the field path, as
// `ops[3].size: 1500 is not a multiple of the lot (1000 size units) of BTC`.
//
// Ticks are the hot path: their validation writes into typed arrays preallocated once and reused
// by every call (decodeClientMessage returns views of them), with no allocation per tick beyond
// what the Decoder makes.

import { Decoder, Encoder } from '@msgpack/msgpack';
import { ACCOUNT_ID_LENGTH_MAX, FUNDING_INDEX_ABS_MAX, INSTRUMENTS_MAX, LEVERAGE_MAX, PRICE_UNITS_MAX, QUOTE_ABS_MAX, UNIT_PRODUCT_MAX, type ModeName } from '../fixed/constants.js';
import { REFUSAL_CODES, type AnyOperation, type IndexedAccountOperation, type RefusalCode } from '../account/operations.js';
import type { Engine } from '../engine/engine.js';
import { field, isPlainObject, quote } from '../io/json-object.js';

// ---------------------------------------------------------------------------------------------
// Version and limits (docs/PROTOCOL.md, Limits, says why each is what it is)

export const PROTOCOL_VERSION = 1;
/** A client frame's bytes: 1 MiB holds a full ticks frame (16,384 ticks of at most 53 bytes each: a 32-byte symbol, a 64-bit price and ts). */
export const FRAME_BYTES_MAX = 1 << 20;
/** Nesting: the frame's map is depth 1; the deepest the schema goes is 3 (a tick in `ticks`, a field of an op in `ops`). */
export const FRAME_DEPTH_MAX = 4;
export const TICKS_PER_FRAME_MAX = 16_384;
export const OPS_PER_FRAME_MAX = 4_096;
/** Every string of a client frame (keys, types, account ids, symbols, modes) is at most 64 bytes: the longest account id. */
export const STRING_BYTES_MAX = ACCOUNT_ID_LENGTH_MAX;
/** Every map of a client frame has at most 16 keys (the largest, a `fill` message, has 9). */
export const MAP_KEYS_MAX = 16;
/** Every array of a client frame has at most this many elements (the largest, `ticks`). */
export const ARRAY_LENGTH_MAX = TICKS_PER_FRAME_MAX;
/** Message ids are uint32s. */
export const ID_MAX = 0xffff_ffff;
/** Timestamps (ms since the epoch) and sequence numbers are at most 2^53 − 1: exact in a double. */
export const UINT_SAFE_MAX = Number.MAX_SAFE_INTEGER;
/**
 * |size| of a fill, size units: the engine keeps |size|·q·price within UNIT_PRODUCT_MAX (10^18) for
 * an instrument finer than a micro and within QUOTE_ABS_MAX (q ≥ 1) for the others, so a larger
 * size is out of range at any price, which the engine refuses anyway (docs/numbers.md).
 */
export const SIZE_UNITS_ABS_MAX = UNIT_PRODUCT_MAX;
/** Server frames as decodeServerMessage reads them (a client reading the server): larger, since a `prices` frame lists every instrument. */
export const SERVER_FRAME_BYTES_MAX = 16 << 20;
/** Strings of server frames (reasons, idempotency keys). */
export const SERVER_STRING_BYTES_MAX = 4_096;
/** Arrays of server frames (`marks`: one per instrument, `refused`: one per operation). */
export const SERVER_ARRAY_LENGTH_MAX = Math.max(INSTRUMENTS_MAX, OPS_PER_FRAME_MAX);

// ---------------------------------------------------------------------------------------------
// Roles, codes, errors

export const ROLES = ['publisher', 'consumer', 'observer'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Why a frame was refused, for machines (the reason says it for people): a closed list, each
 * explained in docs/PROTOCOL.md. The first eleven are what decodeClientMessage returns
 * (DECODE_ERROR_CODES); the last four are the server's own.
 */
export const ERROR_CODES = [
  'malformed',
  'too_large',
  'unsupported_version',
  'unknown_type',
  'forbidden',
  'invalid_field',
  'unknown_account',
  'unknown_instrument',
  'invalid_price',
  'invalid_size',
  'invalid_amount',
  'unauthorized',
  'text_frame',
  'journal_failed',
  'shutting_down',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];
/** The codes decodeClientMessage may return. */
export const DECODE_ERROR_CODES = ERROR_CODES.slice(0, 11) as readonly ErrorCode[];

/** A server frame that decodeServerMessage cannot read; `message` is `reason`. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';

  constructor(
    readonly code: ErrorCode,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** A refusal inside validation: caught by the entry point. Not an Error: no stack trace is captured. */
class Invalid {
  constructor(
    readonly code: ErrorCode,
    readonly reason: string,
  ) {}
}

function refuse(code: ErrorCode, reason: string): never {
  throw new Invalid(code, reason);
}

// ---------------------------------------------------------------------------------------------
// The book, as validation needs it

export interface BookLookup {
  instrumentCount: number;
  symbolOf(i: number): string;
  indexOfSymbol(symbol: string): number | undefined;
  lotUnits(i: number): bigint;
  accountIndex(id: string): number | undefined;
}

/**
 * The lookup of an engine's book: symbols and lots copied once (a Map of the symbols), account ids
 * looked up in the engine's AccountIds (its hash index is built on the first lookup).
 */
export function bookLookup(engine: Engine): BookLookup {
  const symbols = engine.instruments.map((instrument) => instrument.symbol);
  const lots = engine.instruments.map((instrument) => instrument.lotUnits);
  const index = new Map(symbols.map((symbol, i) => [symbol, i]));
  const ids = engine.accountIds;
  return {
    instrumentCount: symbols.length,
    symbolOf: (i) => symbols[i],
    indexOfSymbol: (symbol) => index.get(symbol),
    lotUnits: (i) => lots[i],
    accountIndex: (id) => ids.indexOf(id),
  };
}

// ---------------------------------------------------------------------------------------------
// Messages

export const CLIENT_TYPES = ['ticks', 'updates', 'fill', 'subscribe', 'ping'] as const;
export type ClientType = (typeof CLIENT_TYPES)[number];

/** Who may send what. */
export const ROLES_OF: ReadonlyMap<string, readonly Role[]> = new Map<ClientType, readonly Role[]>([
  ['ticks', ['publisher']],
  ['updates', ['publisher']],
  ['fill', ['consumer']],
  ['subscribe', ['consumer', 'observer']],
  ['ping', ['publisher', 'consumer', 'observer']],
]);

/** The keys of each client message (after v, type and id). */
const MESSAGE_KEYS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['ticks', new Set(['v', 'type', 'id', 'ticks'])],
  ['updates', new Set(['v', 'type', 'id', 'ops'])],
  ['fill', new Set(['v', 'type', 'id', 'order', 'account', 'instrument', 'mode', 'size', 'price'])],
  ['subscribe', new Set(['v', 'type', 'id', 'from'])],
  ['ping', new Set(['v', 'type', 'id'])],
]);

export const OPERATION_KINDS = ['deposit', 'withdraw', 'addMargin', 'removeMargin', 'setLeverage', 'switchMode', 'fill', 'settleFunding', 'charge', 'setFundingIndex'] as const;

/** The keys of each operation of an `updates` message. */
const OPERATION_KEYS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['deposit', new Set(['op', 'account', 'amount'])],
  ['withdraw', new Set(['op', 'account', 'amount'])],
  ['addMargin', new Set(['op', 'account', 'instrument', 'amount'])],
  ['removeMargin', new Set(['op', 'account', 'instrument', 'amount'])],
  ['setLeverage', new Set(['op', 'account', 'instrument', 'mode', 'leverage'])],
  ['switchMode', new Set(['op', 'account', 'instrument', 'to', 'margin'])],
  ['fill', new Set(['op', 'account', 'instrument', 'mode', 'size', 'price', 'margin'])],
  ['settleFunding', new Set(['op', 'account', 'instrument', 'mode'])],
  ['charge', new Set(['op', 'account', 'amount', 'instrument'])],
  ['setFundingIndex', new Set(['op', 'instrument', 'index'])],
]);

export type FillOperation = Extract<IndexedAccountOperation, { kind: 'fill' }>;

export type ClientMessage =
  /** Views of arrays reused by every call: valid until the next decodeClientMessage. */
  | { type: 'ticks'; id: number; instruments: Uint16Array; prices: BigInt64Array; timestamps: Float64Array; count: number }
  /** Accounts by index (accountIndex), instruments by symbol: what applyBatch takes. */
  | { type: 'updates'; id: number; operations: AnyOperation[] }
  | { type: 'fill'; id: number; order: number; operation: FillOperation }
  /** `from`: a consumer's first order seq wanted; null for an observer. */
  | { type: 'subscribe'; id: number; from: number | null }
  | { type: 'ping'; id: number };

export type Decoded = { ok: true; message: ClientMessage } | { ok: false; id: number | null; code: ErrorCode; reason: string };

/** An operation of an `updates` or `fill` message that the engine refused: [opIndex, code, reason]. */
export type RefusedOperation = [opIndex: number, code: RefusalCode, reason: string];

export type OrderReason = 'liquidatable' | 'bankrupt';

export type ServerMessage =
  | { type: 'ack'; id: number; seq: number; refused?: RefusedOperation[] }
  | { type: 'error'; id: number | null; code: ErrorCode; reason: string }
  /** `from`: consumers only, the first order seq they will be sent. */
  | { type: 'welcome'; id: number; role: Role; from?: number; lastSeq: number }
  | {
      type: 'order';
      seq: number;
      key: string;
      account: string;
      instrument: string;
      mode: ModeName;
      side: 'buy' | 'sell';
      size: bigint;
      /** The worst acceptable price. */
      price: bigint;
      reduceOnly: true;
      tif: 'IOC';
      reason: OrderReason;
      ts: number;
    }
  | { type: 'heartbeat'; seq: number; ts: number }
  | { type: 'summary'; ts: number; accounts: number; liquidatable: number; bankrupt: number; orders: number }
  | { type: 'prices'; ts: number; marks: [symbol: string, price: bigint][] };

export const SERVER_TYPES = ['ack', 'error', 'welcome', 'order', 'heartbeat', 'summary', 'prices'] as const;

// ---------------------------------------------------------------------------------------------
// The codec instances: one of each for the process

/** Client frames: limits at the schema's needs (a bin or an ext of any length is refused; 0 lets only empty ones by, and the scan refuses those). */
const decoder = new Decoder({
  useBigInt64: true,
  maxStrLength: STRING_BYTES_MAX,
  maxBinLength: 0,
  maxArrayLength: ARRAY_LENGTH_MAX,
  maxMapLength: MAP_KEYS_MAX,
  maxExtLength: 0,
});

/** Server frames (read by clients: liq tail, tests). */
const serverDecoder = new Decoder({
  useBigInt64: true,
  maxStrLength: SERVER_STRING_BYTES_MAX,
  maxBinLength: 0,
  maxArrayLength: SERVER_ARRAY_LENGTH_MAX,
  maxMapLength: MAP_KEYS_MAX,
  maxExtLength: 0,
});

/** bigint → uint64/int64 (8 bytes). Numbers above 32 bits would become float64 with this option: wireInt makes them bigints first. */
const encoder = new Encoder({ useBigInt64: true });

// ---------------------------------------------------------------------------------------------
// Stage 2: the header scan

interface ScanLimits {
  str: number;
  array: number;
  map: number;
}

const CLIENT_LIMITS: ScanLimits = { str: STRING_BYTES_MAX, array: ARRAY_LENGTH_MAX, map: MAP_KEYS_MAX };
const SERVER_LIMITS: ScanLimits = { str: SERVER_STRING_BYTES_MAX, array: SERVER_ARRAY_LENGTH_MAX, map: MAP_KEYS_MAX };

// The open containers: level 0 is the frame's map. Items left (a map of n pairs has 2n), items in
// all, whether a map, and per map the offsets and lengths of the keys read so far (for repeated
// keys and for the path of a refusal).
// (Lengths are checked against the limits before a container is opened: they fit an Int32.)
const openLeft = new Int32Array(FRAME_DEPTH_MAX);
const openTotal = new Int32Array(FRAME_DEPTH_MAX);
const openMap = new Uint8Array(FRAME_DEPTH_MAX);
const keyAt = new Int32Array(FRAME_DEPTH_MAX * MAP_KEYS_MAX);
const keyLength = new Int32Array(FRAME_DEPTH_MAX * MAP_KEYS_MAX);
/** The readable id the scan found (a uint32 under the frame's key `id`), or null. */
let scannedId: number | null = null;

const PROTO_KEY = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]; // "__proto__"
const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Walks the frame's msgpack headers without decoding: refuses (throws Invalid) anything the
 * Decoder should never see. O(bytes), no allocation unless it refuses.
 */
function scanFrame(b: Uint8Array, limits: ScanLimits): void {
  const n = b.length;
  scannedId = null;
  let pos = 0;
  let top = -1;
  let idAt = -1;
  // The frame's value: a map.
  const first = b[0];
  if (!((first >= 0x80 && first <= 0x8f) || first === 0xde || first === 0xdf)) {
    refuse('malformed', `frame: must be a msgpack map, got ${kindOfByte(first)}${first === 0x7b || first === 0x5b ? ' (JSON text? frames are msgpack)' : ''}`);
  }
  for (;;) {
    if (pos >= n) refuse('malformed', `${pathAt(b, top)}: truncated (the frame ends at byte ${n})`);
    const h = b[pos];
    // A map's key: a string.
    if (top >= 0 && openMap[top] === 1 && (openLeft[top] & 1) === 0) {
      let length: number;
      let header: number;
      if (h >= 0xa0 && h <= 0xbf) {
        length = h & 0x1f;
        header = 1;
      } else if (h === 0xd9 || h === 0xda || h === 0xdb) {
        header = h === 0xd9 ? 2 : h === 0xda ? 3 : 5;
        if (pos + header > n) refuse('malformed', `${pathAt(b, top)}: truncated (the frame ends at byte ${n})`);
        length = readLength(b, pos + 1, header - 1);
      } else {
        refuse('malformed', `${pathAt(b, top)}: map keys must be strings, got ${kindOfByte(h)}`);
      }
      if (length > limits.str) refuse('too_large', `${pathAt(b, top)}: a key of ${length} bytes, over the limit of ${limits.str}`);
      const start = pos + header;
      if (start + length > n) refuse('malformed', `${pathAt(b, top)}: a key declares ${length} bytes, but only ${bytesCount(n - start)}`);
      const k = (openTotal[top] - openLeft[top]) >> 1;
      const base = top * MAP_KEYS_MAX;
      for (let j = 0; j < k; j++) {
        if (keyLength[base + j] === length && sameBytes(b, keyAt[base + j], start, length)) {
          keyAt[base + k] = start;
          keyLength[base + k] = length;
          refuse('invalid_field', `${pathAt(b, top, true)}: repeated key (a map names each key once)`);
        }
      }
      keyAt[base + k] = start;
      keyLength[base + k] = length;
      if (length === 9 && sameBytes(b, start, -1, 9)) refuse('invalid_field', `${pathAt(b, top, true)}: the key __proto__ is refused`);
      if (top === 0 && length === 2 && b[start] === 0x69 && b[start + 1] === 0x64) idAt = start + 2;
      pos = start + length;
    } else {
      const start = pos;
      let count = -1; // a container's declared elements (pairs for a map)
      let isMap = 0;
      if (h < 0x80 || h >= 0xe0) {
        pos += 1; // fixint
      } else if (h <= 0x8f) {
        count = h & 0x0f;
        isMap = 1;
        pos += 1;
      } else if (h <= 0x9f) {
        count = h & 0x0f;
        pos += 1;
      } else if (h <= 0xbf) {
        pos = skipString(b, limits, top, pos, h & 0x1f, 1);
      } else {
        switch (h) {
          case 0xc0:
          case 0xc2:
          case 0xc3:
            pos += 1;
            break;
          case 0xcc:
          case 0xd0:
            pos += 2;
            break;
          case 0xcd:
          case 0xd1:
            pos += 3;
            break;
          case 0xce:
          case 0xd2:
            pos += 5;
            break;
          case 0xcf:
          case 0xd3:
            pos += 9;
            break;
          case 0xd9:
          case 0xda:
          case 0xdb: {
            const header = h === 0xd9 ? 2 : h === 0xda ? 3 : 5;
            if (pos + header > n) refuse('malformed', `${pathAt(b, top)}: truncated (the frame ends at byte ${n})`);
            pos = skipString(b, limits, top, pos, readLength(b, pos + 1, header - 1), header);
            break;
          }
          case 0xdc:
          case 0xdd:
          case 0xde:
          case 0xdf: {
            const header = h === 0xdc || h === 0xde ? 3 : 5;
            if (pos + header > n) refuse('malformed', `${pathAt(b, top)}: truncated (the frame ends at byte ${n})`);
            count = readLength(b, pos + 1, header - 1);
            isMap = h >= 0xde ? 1 : 0;
            pos += header;
            break;
          }
          case 0xca:
          case 0xcb: {
            const width = h === 0xca ? 5 : 9;
            if (pos + width > n) refuse('malformed', `${pathAt(b, top)}: truncated (the frame ends at byte ${n})`);
            const view = new DataView(b.buffer, b.byteOffset + pos + 1, width - 1);
            const value = h === 0xca ? view.getFloat32(0) : view.getFloat64(0);
            refuse(
              codeAt(b, top),
              `${pathAt(b, top)}: a float (${h === 0xca ? 'float32' : 'float64'} ${Object.is(value, -0) ? '-0' : String(value)}) where an integer goes; integers are msgpack ints, even whole ones`,
            );
            break;
          }
          case 0xc1:
            refuse('malformed', `${pathAt(b, top)}: 0xc1 is not a msgpack type byte`);
            break;
          default:
            // bin 8/16/32 (0xc4–0xc6), ext 8/16/32 (0xc7–0xc9), fixext (0xd4–0xd8)
            refuse(codeAt(b, top), `${pathAt(b, top)}: ${kindOfByte(h)} values have no place in the protocol`);
        }
      }
      if (count >= 0) {
        if (top + 1 >= FRAME_DEPTH_MAX) refuse('malformed', `${pathAt(b, top)}: nested ${top + 2} deep, over the limit of ${FRAME_DEPTH_MAX}`);
        const limit = isMap === 1 ? limits.map : limits.array;
        if (count > limit) {
          refuse('too_large', `${pathAt(b, top)}: ${isMap === 1 ? `a map of ${count} keys` : `an array of ${count} elements`}, over the limit of ${limit}`);
        }
        const items = isMap === 1 ? 2 * count : count;
        if (items > n - pos) {
          refuse('malformed', `${pathAt(b, top)}: ${isMap === 1 ? `a map declares ${count} keys` : `an array declares ${count} elements`}, but only ${bytesCount(n - pos)}`);
        }
        if (count > 0) {
          top++;
          openLeft[top] = items;
          openTotal[top] = items;
          openMap[top] = isMap;
          continue;
        }
      } else if (pos > n) {
        refuse('malformed', `${pathAt(b, top)}: truncated (the frame ends at byte ${n})`);
      } else if (start === idAt) {
        scannedId = readUint32At(b, start); // the value of the frame's key "id": kept when a uint32
      }
    }
    // One item of the innermost open container done: close the containers it completes.
    while (top >= 0) {
      if (--openLeft[top] > 0) break;
      top--;
    }
    if (top < 0) break;
  }
  if (pos < n) refuse('malformed', `frame: ${n - pos} trailing byte${n - pos === 1 ? '' : 's'} after the map`);
}

function skipString(b: Uint8Array, limits: ScanLimits, top: number, pos: number, length: number, header: number): number {
  if (length > limits.str) refuse('too_large', `${pathAt(b, top)}: a string of ${length} bytes, over the limit of ${limits.str}`);
  const end = pos + header + length;
  if (end > b.length) refuse('malformed', `${pathAt(b, top)}: a string declares ${length} bytes, but only ${bytesCount(b.length - pos - header)}`);
  return end;
}

/** "1 byte follows", "3 bytes follow". */
function bytesCount(count: number): string {
  return count === 1 ? '1 byte follows' : `${count} bytes follow`;
}

/** A big-endian unsigned length of 1, 2 or 4 bytes at `at`. */
function readLength(b: Uint8Array, at: number, width: number): number {
  if (width === 1) return b[at];
  if (width === 2) return (b[at] << 8) | b[at + 1];
  return b[at] * 0x100_0000 + ((b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]);
}

/** Bytes at `a` equal bytes at `c` (or, with c = −1, "__proto__"). */
function sameBytes(b: Uint8Array, a: number, c: number, length: number): boolean {
  for (let k = 0; k < length; k++) {
    if (b[a + k] !== (c < 0 ? PROTO_KEY[k] : b[c + k])) return false;
  }
  return true;
}

/** A uint32 value at `at` (positive fixint, uint 8/16/32, or a uint 64 up to 2^32 − 1), else null. */
function readUint32At(b: Uint8Array, at: number): number | null {
  const h = b[at];
  if (h < 0x80) return h;
  if (h === 0xcc) return b[at + 1];
  if (h === 0xcd) return readLength(b, at + 1, 2);
  if (h === 0xce) return readLength(b, at + 1, 4);
  if (h === 0xcf && readLength(b, at + 1, 4) === 0) return readLength(b, at + 5, 4);
  return null;
}

/** What a type byte starts, for a reason. */
function kindOfByte(h: number): string {
  if (h === undefined) return 'nothing';
  if (h < 0x80 || h >= 0xe0) return 'an integer';
  if (h <= 0x8f || h === 0xde || h === 0xdf) return 'a map';
  if (h <= 0x9f || h === 0xdc || h === 0xdd) return 'an array';
  if (h <= 0xbf || (h >= 0xd9 && h <= 0xdb)) return 'a string';
  if (h === 0xc0) return 'nil';
  if (h === 0xc1) return 'the byte 0xc1 (not a msgpack type)';
  if (h === 0xc2 || h === 0xc3) return 'a boolean';
  if (h >= 0xc4 && h <= 0xc6) return 'binary (bin)';
  if ((h >= 0xc7 && h <= 0xc9) || (h >= 0xd4 && h <= 0xd8)) return 'extension (ext)';
  if (h === 0xca || h === 0xcb) return 'a float';
  return 'an integer';
}

/** The key of level `level`'s current pair, as text. */
function currentKey(b: Uint8Array, level: number): string {
  // Reading a key: (total − left) / 2 keys were read before it; reading a value: its key is the last read.
  const at = level * MAP_KEYS_MAX + Math.floor((openTotal[level] - openLeft[level]) / 2);
  return utf8.decode(b.subarray(keyAt[at], keyAt[at] + keyLength[at]));
}

/**
 * The path of the item being read inside the open containers, e.g. `ops[3].size` (levels 0..top);
 * `atKey`: the path of the key being read at level `top` (for refusals of a key itself).
 */
function pathAt(b: Uint8Array, top: number, atKey = false): string {
  if (top < 0) return 'frame';
  let path = '';
  for (let level = 0; level <= top; level++) {
    if (openMap[level] === 1) {
      const readingKey = level === top && (openLeft[level] & 1) === 0;
      if (readingKey && !atKey) return path === '' ? 'frame' : path; // a key not yet read: the map's path
      path = joinKey(path, currentKey(b, level));
    } else {
      path += `[${openTotal[level] - openLeft[level]}]`;
    }
  }
  return path;
}

/** A field path with one more key: `a.b`, or `a["odd key"]` for a key that is not a plain name. */
function joinKey(path: string, key: string): string {
  if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${quote(key)}]`;
}

/** The code for a value of the wrong type at the item being read (fieldCode of its key; a tick's price is a price). */
function codeAt(b: Uint8Array, top: number): ErrorCode {
  if (top < 0) return 'malformed';
  if (openMap[top] === 1) return (openLeft[top] & 1) === 0 ? 'malformed' : fieldCode(currentKey(b, top));
  // [i, price, ts] of ticks
  if (top === 2 && openMap[1] === 0 && openMap[0] === 1 && currentKey(b, 0) === 'ticks' && openTotal[2] - openLeft[2] === 1) return 'invalid_price';
  return 'invalid_field';
}

/** The code of a wrong value under `key`: a field's own code where it has one. */
function fieldCode(key: string): ErrorCode {
  switch (key) {
    case 'v':
      return 'unsupported_version';
    case 'price':
      return 'invalid_price';
    case 'size':
      return 'invalid_size';
    case 'amount':
    case 'margin':
      return 'invalid_amount';
    default:
      return 'invalid_field';
  }
}

// ---------------------------------------------------------------------------------------------
// Values, for reasons

/** What a decoded value is, for a reason: `a string ("abc")`, `nil`, `the integer 5`. */
function found(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  switch (typeof value) {
    case 'string':
      return value === '' ? 'an empty string' : `a string (${quote(value)})`;
    case 'number':
      return `the integer ${value}`;
    case 'bigint':
      return `the integer ${value}`;
    case 'boolean':
      return `a boolean (${value})`;
    default:
      if (Array.isArray(value)) return `an array of ${value.length}`;
      return isPlainObject(value) ? 'a map' : 'an unreadable value';
  }
}

/** A msgpack int as decoded (a number up to 32 bits, a bigint from a 64-bit encoding), else null. */
function integer(value: unknown): bigint | null {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  return null;
}

/** A uint up to `max` (≤ 2^53 − 1) as a number, or refuses as `code` naming `path`. */
function uintField(value: unknown, path: string, max: number, code: ErrorCode = 'invalid_field'): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max) return value;
  if (typeof value === 'bigint' && value >= 0n && value <= BigInt(max)) return Number(value);
  if (value === undefined) refuse(code, `${path}: missing`);
  refuse(code, `${path}: must be an integer from 0 to ${max}, got ${found(value)}`);
}

/** A readable id: a uint32, else null. */
function readableId(value: unknown): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= ID_MAX ? value : null;
  if (typeof value === 'bigint') return value >= 0n && value <= BigInt(ID_MAX) ? Number(value) : null;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Stage 3: the schema

const ticksInstruments = new Uint16Array(TICKS_PER_FRAME_MAX);
const ticksPrices = new BigInt64Array(TICKS_PER_FRAME_MAX);
const ticksTimestamps = new Float64Array(TICKS_PER_FRAME_MAX);

type Fields = Record<string, unknown>;

/**
 * Reads and validates one client frame as sent by a client of `role`. Never throws: any input gives
 * either the message or a refusal (code, one-line reason, and the frame's id when it had a readable
 * one). A `ticks` message's arrays are views of buffers reused by every call: valid until the next.
 */
export function decodeClientMessage(frame: Uint8Array, role: Role, book: BookLookup): Decoded {
  let id: number | null = null;
  try {
    if (!(frame instanceof Uint8Array)) refuse('malformed', 'frame: must be bytes (a binary WebSocket message)');
    if (frame.byteLength > FRAME_BYTES_MAX) refuse('too_large', `frame: ${frame.byteLength} bytes, over the limit of ${FRAME_BYTES_MAX} (1 MiB)`);
    if (frame.byteLength === 0) refuse('malformed', 'frame: empty');
    try {
      scanFrame(frame, CLIENT_LIMITS);
    } finally {
      id = scannedId;
    }
    let root: unknown;
    try {
      root = decoder.decode(frame);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      refuse(/Max length exceeded/.test(reason) ? 'too_large' : 'malformed', `frame: ${oneLineReason(reason)}`);
    }
    if (!isPlainObject(root)) refuse('malformed', `frame: must be a msgpack map, got ${found(root)}`);
    id = readableId(field(root, 'id'));
    return { ok: true, message: readClientMessage(root, role, book) };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, id, code: error.code, reason: error.reason };
    // Not expected: a bug here, not the client's; still an answer, not a throw.
    return { ok: false, id, code: 'malformed', reason: `frame: cannot be read (${oneLineReason(error instanceof Error ? error.message : String(error))})` };
  }
}

function oneLineReason(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, ' ').slice(0, 200);
}

function readClientMessage(root: Fields, role: Role, book: BookLookup): ClientMessage {
  const v = field(root, 'v');
  if (v === undefined) refuse('unsupported_version', `v: missing; this server speaks protocol version ${PROTOCOL_VERSION}`);
  if (v !== PROTOCOL_VERSION && v !== BigInt(PROTOCOL_VERSION)) {
    if (typeof v === 'number' || typeof v === 'bigint') refuse('unsupported_version', `v: version ${v} is not supported; this server speaks protocol version ${PROTOCOL_VERSION}`);
    refuse('unsupported_version', `v: must be the integer ${PROTOCOL_VERSION} (this server speaks protocol version ${PROTOCOL_VERSION}), got ${found(v)}`);
  }
  const type = field(root, 'type');
  if (type === undefined) refuse('invalid_field', 'type: missing');
  if (typeof type !== 'string') refuse('invalid_field', `type: must be a string, got ${found(type)}`);
  const roles = ROLES_OF.get(type);
  if (roles === undefined) refuse('unknown_type', `type: unknown message type ${quote(type)} (clients send ${CLIENT_TYPES.join(', ')})`);
  if (!roles.includes(role)) refuse('forbidden', `type: ${role === 'observer' ? 'an' : 'a'} ${role} may not send ${quote(type)} (${roles.join(' or ')} only)`);
  const rawId = field(root, 'id');
  if (rawId === undefined) refuse('invalid_field', 'id: missing (every client message carries an id, echoed in the answer)');
  const id = readableId(rawId);
  if (id === null) refuse('invalid_field', `id: must be an integer from 0 to ${ID_MAX}, got ${found(rawId)}`);
  const allowed = MESSAGE_KEYS.get(type)!;
  for (const key of Object.keys(root)) {
    if (!allowed.has(key)) refuse('invalid_field', `${joinKey('', key)}: unknown key for ${quote(type)}`);
  }
  switch (type as ClientType) {
    case 'ticks':
      return readTicks(root, id, book);
    case 'updates':
      return readUpdates(root, id, book);
    case 'fill': {
      const order = uintField(field(root, 'order'), 'order', UINT_SAFE_MAX);
      const a = accountField(field(root, 'account'), 'account', book);
      const i = instrumentField(field(root, 'instrument'), 'instrument', book);
      const mode = modeField(field(root, 'mode'), 'mode');
      const sizeUnits = sizeField(field(root, 'size'), 'size', i, book);
      const priceUnits = priceField(field(root, 'price'), 'price');
      return { type: 'fill', id, order, operation: { kind: 'fill', accountIndex: a, instrument: book.symbolOf(i), mode, sizeUnits, priceUnits } };
    }
    case 'subscribe': {
      const from = field(root, 'from');
      if (role === 'observer') {
        if (from !== undefined) refuse('invalid_field', 'from: observers send no from (orders are replayed to consumers only)');
        return { type: 'subscribe', id, from: null };
      }
      return { type: 'subscribe', id, from: uintField(from, 'from', UINT_SAFE_MAX) };
    }
    case 'ping':
      return { type: 'ping', id };
  }
}

function readTicks(root: Fields, id: number, book: BookLookup): ClientMessage {
  const ticks = field(root, 'ticks');
  if (ticks === undefined) refuse('invalid_field', 'ticks: missing');
  if (!Array.isArray(ticks)) refuse('invalid_field', `ticks: must be an array of [instrument, price, ts], got ${found(ticks)}`);
  const count = ticks.length;
  if (count === 0) refuse('invalid_field', `ticks: must hold 1 to ${TICKS_PER_FRAME_MAX} ticks, got none`);
  if (count > TICKS_PER_FRAME_MAX) refuse('too_large', `ticks: ${count} ticks, over the limit of ${TICKS_PER_FRAME_MAX}`);
  const instrumentCount = book.instrumentCount;
  for (let k = 0; k < count; k++) {
    const tick: unknown = ticks[k];
    if (!Array.isArray(tick) || tick.length !== 3) refuse('invalid_field', `ticks[${k}]: must be [instrument, price, ts], got ${found(tick)}`);
    const instrument: unknown = tick[0];
    let i: number;
    if (typeof instrument === 'number' && instrument >= 0 && instrument < instrumentCount && Number.isInteger(instrument)) i = instrument;
    else i = instrumentField(instrument, `ticks[${k}][0]`, book);
    const price: unknown = tick[1];
    let p: bigint;
    if (typeof price === 'number' && price > 0 && Number.isInteger(price)) p = BigInt(price); // a msgpack int of up to 32 bits: ≤ PRICE_UNITS_MAX
    else p = priceField(price, `ticks[${k}][1]`);
    const ts: unknown = tick[2];
    let t: number;
    if (typeof ts === 'bigint' && ts >= 0n && ts <= MAX_SAFE_BIG) t = Number(ts);
    else t = uintField(ts, `ticks[${k}][2]`, UINT_SAFE_MAX);
    ticksInstruments[k] = i;
    ticksPrices[k] = p;
    ticksTimestamps[k] = t;
  }
  return {
    type: 'ticks',
    id,
    instruments: ticksInstruments.subarray(0, count),
    prices: ticksPrices.subarray(0, count),
    timestamps: ticksTimestamps.subarray(0, count),
    count,
  };
}

const MAX_SAFE_BIG = BigInt(UINT_SAFE_MAX);

function readUpdates(root: Fields, id: number, book: BookLookup): ClientMessage {
  const ops = field(root, 'ops');
  if (ops === undefined) refuse('invalid_field', 'ops: missing');
  if (!Array.isArray(ops)) refuse('invalid_field', `ops: must be an array of operations, got ${found(ops)}`);
  if (ops.length === 0) refuse('invalid_field', `ops: must hold 1 to ${OPS_PER_FRAME_MAX} operations, got none`);
  if (ops.length > OPS_PER_FRAME_MAX) refuse('too_large', `ops: ${ops.length} operations, over the limit of ${OPS_PER_FRAME_MAX}`);
  const operations = new Array<AnyOperation>(ops.length);
  for (let k = 0; k < ops.length; k++) operations[k] = readOperation(ops[k], `ops[${k}]`, book);
  return { type: 'updates', id, operations };
}

function readOperation(value: unknown, path: string, book: BookLookup): AnyOperation {
  if (!isPlainObject(value)) refuse('invalid_field', `${path}: must be a map with the key op, got ${found(value)}`);
  const op = field(value, 'op');
  if (op === undefined) refuse('invalid_field', `${path}.op: missing`);
  if (typeof op !== 'string') refuse('invalid_field', `${path}.op: must be a string, got ${found(op)}`);
  const allowed = OPERATION_KEYS.get(op);
  if (allowed === undefined) refuse('invalid_field', `${path}.op: unknown operation ${quote(op)} (${OPERATION_KINDS.join(', ')})`);
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) refuse('invalid_field', `${joinKey(path, key)}: unknown key for ${quote(op)}`);
  }
  const at = (key: string) => `${path}.${key}`;
  if (op === 'setFundingIndex') {
    const i = instrumentField(field(value, 'instrument'), at('instrument'), book);
    const index = integerField(field(value, 'index'), at('index'), FUNDING_INDEX_ABS_MAX, 'invalid_field');
    return { kind: 'setFundingIndex', instrument: book.symbolOf(i), fundingIndex: index };
  }
  const accountIndex = accountField(field(value, 'account'), at('account'), book);
  switch (op as (typeof OPERATION_KINDS)[number]) {
    case 'deposit':
      return { kind: 'deposit', accountIndex, amountMicro: amountField(field(value, 'amount'), at('amount')) };
    case 'withdraw':
      return { kind: 'withdraw', accountIndex, amountMicro: amountField(field(value, 'amount'), at('amount')) };
    case 'addMargin':
    case 'removeMargin': {
      const instrument = book.symbolOf(instrumentField(field(value, 'instrument'), at('instrument'), book));
      const amountMicro = amountField(field(value, 'amount'), at('amount'));
      return op === 'addMargin' ? { kind: 'addMargin', accountIndex, instrument, amountMicro } : { kind: 'removeMargin', accountIndex, instrument, amountMicro };
    }
    case 'setLeverage': {
      const instrument = book.symbolOf(instrumentField(field(value, 'instrument'), at('instrument'), book));
      const mode = modeField(field(value, 'mode'), at('mode'));
      const leverage = field(value, 'leverage');
      const x = integer(leverage);
      if (x === null || x < 1n || x > BigInt(LEVERAGE_MAX)) {
        refuse('invalid_field', leverage === undefined ? `${at('leverage')}: missing` : `${at('leverage')}: must be an integer from 1 to ${LEVERAGE_MAX}, got ${found(leverage)}`);
      }
      return { kind: 'setLeverage', accountIndex, instrument, mode, leverage: Number(x) };
    }
    case 'switchMode': {
      const instrument = book.symbolOf(instrumentField(field(value, 'instrument'), at('instrument'), book));
      const to = modeField(field(value, 'to'), at('to'));
      const margin = field(value, 'margin');
      if (margin === undefined) return { kind: 'switchMode', accountIndex, instrument, to };
      return { kind: 'switchMode', accountIndex, instrument, to, marginMicro: amountField(margin, at('margin')) };
    }
    case 'fill': {
      const i = instrumentField(field(value, 'instrument'), at('instrument'), book);
      const mode = modeField(field(value, 'mode'), at('mode'));
      const sizeUnits = sizeField(field(value, 'size'), at('size'), i, book);
      const priceUnits = priceField(field(value, 'price'), at('price'));
      const margin = field(value, 'margin');
      const fill: FillOperation = { kind: 'fill', accountIndex, instrument: book.symbolOf(i), mode, sizeUnits, priceUnits };
      if (margin !== undefined) fill.marginMicro = amountField(margin, at('margin'));
      return fill;
    }
    case 'settleFunding': {
      const instrument = field(value, 'instrument');
      const mode = field(value, 'mode');
      const settle: Extract<IndexedAccountOperation, { kind: 'settleFunding' }> = { kind: 'settleFunding', accountIndex };
      if (instrument !== undefined) settle.instrument = book.symbolOf(instrumentField(instrument, at('instrument'), book));
      if (mode !== undefined) settle.mode = modeField(mode, at('mode'));
      return settle;
    }
    case 'charge': {
      const amountMicro = amountField(field(value, 'amount'), at('amount'));
      const instrument = field(value, 'instrument');
      if (instrument === undefined) return { kind: 'charge', accountIndex, amountMicro };
      return { kind: 'charge', accountIndex, amountMicro, instrument: book.symbolOf(instrumentField(instrument, at('instrument'), book)) };
    }
    default:
      // Unreachable: OPERATION_KEYS holds exactly the kinds above.
      return refuse('invalid_field', `${path}.op: unknown operation ${quote(op)}`);
  }
}

/** An account id of the book → its index. */
function accountField(value: unknown, path: string, book: BookLookup): number {
  if (value === undefined) refuse('invalid_field', `${path}: missing`);
  if (typeof value !== 'string' || value.length === 0) refuse('invalid_field', `${path}: must be an account id (a string of 1 to ${STRING_BYTES_MAX} bytes), got ${found(value)}`);
  const a = book.accountIndex(value);
  if (a === undefined) refuse('unknown_account', `${path}: unknown account ${quote(value)}`);
  return a;
}

/** An instrument by index or symbol → its index. */
function instrumentField(value: unknown, path: string, book: BookLookup): number {
  if (typeof value === 'string') {
    const i = book.indexOfSymbol(value);
    if (i === undefined) refuse('unknown_instrument', `${path}: unknown instrument ${quote(value)}`);
    return i;
  }
  const x = integer(value);
  if (x !== null && x >= 0n) {
    if (x >= BigInt(book.instrumentCount)) refuse('unknown_instrument', `${path}: no instrument ${x} (the book has ${book.instrumentCount}: indices 0 to ${book.instrumentCount - 1})`);
    return Number(x);
  }
  if (value === undefined) refuse('invalid_field', `${path}: missing`);
  refuse('invalid_field', `${path}: must be an instrument index (an integer from 0) or symbol (a string), got ${found(value)}`);
}

function modeField(value: unknown, path: string): ModeName {
  if (value === 'cross' || value === 'isolated') return value;
  refuse('invalid_field', value === undefined ? `${path}: missing` : `${path}: must be "cross" or "isolated", got ${found(value)}`);
}

/** A price: an integer of price units in [1, PRICE_UNITS_MAX]. */
function priceField(value: unknown, path: string): bigint {
  const x = integer(value);
  if (x === null) refuse('invalid_price', value === undefined ? `${path}: missing` : `${path}: must be an integer of price units, got ${found(value)}`);
  if (x < 1n || x > PRICE_UNITS_MAX) refuse('invalid_price', `${path}: must be from 1 to ${PRICE_UNITS_MAX} price units, got ${x}`);
  return x;
}

/** An amount or margin: an integer of micro-quote within ±QUOTE_ABS_MAX (its sign is the engine's rule). */
function amountField(value: unknown, path: string): bigint {
  return integerField(value, path, QUOTE_ABS_MAX, 'invalid_amount', ' micro');
}

function integerField(value: unknown, path: string, absMax: bigint, code: ErrorCode, unit = ''): bigint {
  const x = integer(value);
  if (x === null) refuse(code, value === undefined ? `${path}: missing` : `${path}: must be an integer${unit === '' ? '' : ` of${unit}`}, got ${found(value)}`);
  if (x > absMax || x < -absMax) refuse(code, `${path}: must be within ±${absMax}${unit}, got ${x}`);
  return x;
}

/** A fill's size: a non-zero integer of size units, a multiple of instrument i's lot. */
function sizeField(value: unknown, path: string, i: number, book: BookLookup): bigint {
  const x = integer(value);
  if (x === null) refuse('invalid_size', value === undefined ? `${path}: missing` : `${path}: must be an integer of size units, got ${found(value)}`);
  if (x === 0n) refuse('invalid_size', `${path}: must not be zero`);
  if (x > SIZE_UNITS_ABS_MAX || x < -SIZE_UNITS_ABS_MAX) refuse('invalid_size', `${path}: must be within ±${SIZE_UNITS_ABS_MAX} size units, got ${x}`);
  const lot = book.lotUnits(i);
  if (x % lot !== 0n) refuse('invalid_size', `${path}: ${x} is not a multiple of the lot (${lot} size units) of ${book.symbolOf(i)}`);
  return x;
}

// ---------------------------------------------------------------------------------------------
// Server messages

/**
 * An integer as the wire takes it: a number when it fits 32 bits (the Encoder writes the smallest
 * int), else a bigint (int64/uint64, 8 bytes). Throws RangeError on what is not an integer (a bug
 * of the caller: with useBigInt64 the Encoder would write a float).
 */
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

function wireInt(value: number | bigint, what: string): number | bigint {
  if (typeof value === 'bigint') {
    if (value < INT64_MIN || value > UINT64_MAX) throw new RangeError(`${what} must fit 64 bits, got ${value}`);
    return value >= -0x8000_0000n && value <= 0xffff_ffffn ? Number(value) : value;
  }
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} must be a safe integer, got ${value}`);
  return value >= -0x8000_0000 && value <= 0xffff_ffff ? value : BigInt(value);
}

/** The message as the object the Encoder writes: keys in a fixed order (v, type, then the table's). */
function wireObject(message: ServerMessage): Record<string, unknown> {
  const v = PROTOCOL_VERSION;
  switch (message.type) {
    case 'ack': {
      const out: Record<string, unknown> = { v, type: 'ack', id: wireInt(message.id, 'id'), seq: wireInt(message.seq, 'seq') };
      if (message.refused !== undefined) out.refused = message.refused.map(([index, code, reason]) => [wireInt(index, 'refused opIndex'), code, reason]);
      return out;
    }
    case 'error':
      return { v, type: 'error', id: message.id === null ? null : wireInt(message.id, 'id'), code: message.code, reason: message.reason };
    case 'welcome': {
      const out: Record<string, unknown> = { v, type: 'welcome', id: wireInt(message.id, 'id'), role: message.role };
      if (message.from !== undefined) out.from = wireInt(message.from, 'from');
      out.lastSeq = wireInt(message.lastSeq, 'lastSeq');
      return out;
    }
    case 'order':
      return {
        v,
        type: 'order',
        seq: wireInt(message.seq, 'seq'),
        key: message.key,
        account: message.account,
        instrument: message.instrument,
        mode: message.mode,
        side: message.side,
        size: wireInt(message.size, 'size'),
        price: wireInt(message.price, 'price'),
        reduceOnly: true,
        tif: 'IOC',
        reason: message.reason,
        ts: wireInt(message.ts, 'ts'),
      };
    case 'heartbeat':
      return { v, type: 'heartbeat', seq: wireInt(message.seq, 'seq'), ts: wireInt(message.ts, 'ts') };
    case 'summary':
      return {
        v,
        type: 'summary',
        ts: wireInt(message.ts, 'ts'),
        accounts: wireInt(message.accounts, 'accounts'),
        liquidatable: wireInt(message.liquidatable, 'liquidatable'),
        bankrupt: wireInt(message.bankrupt, 'bankrupt'),
        orders: wireInt(message.orders, 'orders'),
      };
    case 'prices':
      return { v, type: 'prices', ts: wireInt(message.ts, 'ts'), marks: message.marks.map(([symbol, price]) => [symbol, wireInt(price, 'mark price')]) };
  }
}

/**
 * One server message as a frame: a fresh Uint8Array the caller owns (the Encoder's `encode` copies
 * its reused buffer). The same message always gives the same bytes.
 */
export function encodeServerMessage(message: ServerMessage): Uint8Array {
  return encoder.encode(withName('encodeServerMessage', () => wireObject(message)));
}

/** `make()`, its RangeErrors prefixed with the function's name. */
function withName<T>(name: string, make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (error instanceof RangeError) throw new RangeError(`${name}: ${error.message}`);
    throw error;
  }
}

/**
 * The same, as a view of the Encoder's reused buffer: no copy, valid only until the next encode
 * (for a send that copies the bytes at once, as uWebSockets.js's send does).
 */
export function encodeServerMessageShared(message: ServerMessage): Uint8Array {
  return encoder.encodeSharedRef(withName('encodeServerMessage', () => wireObject(message)));
}

/**
 * Any value as a msgpack frame the way this protocol wants integers written, for clients (tools,
 * tests): numbers and bigints in the smallest int encoding that holds them (a bigint that fits 32
 * bits is not widened to 8 bytes; a number above 32 bits becomes an int64/uint64, where
 * @msgpack/msgpack with useBigInt64 would write a float64 the server refuses). Keys in the order
 * of the objects'. Throws RangeError on a number that is not a safe integer. A fresh Uint8Array.
 */
export function encodeFrame(value: unknown): Uint8Array {
  return encoder.encode(withName('encodeFrame', () => wireValue(value, 0)));
}

function wireValue(value: unknown, depth: number): unknown {
  if (depth > FRAME_DEPTH_MAX) throw new RangeError(`encodeFrame: nested deeper than ${FRAME_DEPTH_MAX}`);
  if (typeof value === 'number' || typeof value === 'bigint') return wireInt(value, 'a number');
  if (Array.isArray(value)) return value.map((item: unknown) => wireValue(item, depth + 1));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) Object.defineProperty(out, key, { value: wireValue(value[key], depth + 1), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}

/** Reads a server frame (for clients: liq tail, tests). Throws ProtocolError on anything else. */
export function decodeServerMessage(frame: Uint8Array): ServerMessage {
  try {
    if (!(frame instanceof Uint8Array)) refuse('malformed', 'frame: must be bytes');
    if (frame.byteLength > SERVER_FRAME_BYTES_MAX) refuse('too_large', `frame: ${frame.byteLength} bytes, over the limit of ${SERVER_FRAME_BYTES_MAX}`);
    if (frame.byteLength === 0) refuse('malformed', 'frame: empty');
    scanFrame(frame, SERVER_LIMITS);
    let root: unknown;
    try {
      root = serverDecoder.decode(frame);
    } catch (error) {
      refuse('malformed', `frame: ${oneLineReason(error instanceof Error ? error.message : String(error))}`);
    }
    if (!isPlainObject(root)) refuse('malformed', `frame: must be a msgpack map, got ${found(root)}`);
    return readServerMessage(root);
  } catch (error) {
    if (error instanceof Invalid) throw new ProtocolError(error.code, error.reason);
    throw error;
  }
}

const SERVER_KEYS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['ack', new Set(['v', 'type', 'id', 'seq', 'refused'])],
  ['error', new Set(['v', 'type', 'id', 'code', 'reason'])],
  ['welcome', new Set(['v', 'type', 'id', 'role', 'from', 'lastSeq'])],
  ['order', new Set(['v', 'type', 'seq', 'key', 'account', 'instrument', 'mode', 'side', 'size', 'price', 'reduceOnly', 'tif', 'reason', 'ts'])],
  ['heartbeat', new Set(['v', 'type', 'seq', 'ts'])],
  ['summary', new Set(['v', 'type', 'ts', 'accounts', 'liquidatable', 'bankrupt', 'orders'])],
  ['prices', new Set(['v', 'type', 'ts', 'marks'])],
]);

function stringField(value: unknown, path: string): string {
  if (typeof value !== 'string') refuse('invalid_field', value === undefined ? `${path}: missing` : `${path}: must be a string, got ${found(value)}`);
  return value;
}

function oneOf<T extends string>(value: unknown, path: string, options: readonly T[]): T {
  if (typeof value === 'string' && (options as readonly string[]).includes(value)) return value as T;
  refuse('invalid_field', value === undefined ? `${path}: missing` : `${path}: must be one of ${options.join(', ')}, got ${found(value)}`);
}

function readServerMessage(root: Fields): ServerMessage {
  const v = field(root, 'v');
  if (v !== PROTOCOL_VERSION && v !== BigInt(PROTOCOL_VERSION)) refuse('unsupported_version', `v: must be ${PROTOCOL_VERSION}, got ${found(v)}`);
  const type = stringField(field(root, 'type'), 'type');
  const allowed = SERVER_KEYS.get(type);
  if (allowed === undefined) refuse('unknown_type', `type: unknown message type ${quote(type)} (servers send ${SERVER_TYPES.join(', ')})`);
  for (const key of Object.keys(root)) {
    if (!allowed.has(key)) refuse('invalid_field', `${joinKey('', key)}: unknown key for ${quote(type)}`);
  }
  const get = (key: string) => field(root, key);
  const uint = (key: string, max = UINT_SAFE_MAX) => uintField(get(key), key, max);
  const big = (key: string) => {
    const x = integer(get(key));
    if (x === null || x < 0n) refuse('invalid_field', `${key}: must be an integer from 0, got ${found(get(key))}`);
    return x;
  };
  switch (type as (typeof SERVER_TYPES)[number]) {
    case 'ack': {
      const message: ServerMessage = { type: 'ack', id: uint('id', ID_MAX), seq: uint('seq') };
      const refused = get('refused');
      if (refused !== undefined) {
        if (!Array.isArray(refused)) refuse('invalid_field', `refused: must be an array, got ${found(refused)}`);
        message.refused = refused.map((entry: unknown, k): RefusedOperation => {
          if (!Array.isArray(entry) || entry.length !== 3) refuse('invalid_field', `refused[${k}]: must be [opIndex, code, reason], got ${found(entry)}`);
          return [uintField(entry[0], `refused[${k}][0]`, OPS_PER_FRAME_MAX - 1), oneOf(entry[1], `refused[${k}][1]`, REFUSAL_CODES), stringField(entry[2], `refused[${k}][2]`)];
        });
      }
      return message;
    }
    case 'error': {
      const id = get('id');
      return { type: 'error', id: id === null ? null : uint('id', ID_MAX), code: oneOf(get('code'), 'code', ERROR_CODES), reason: stringField(get('reason'), 'reason') };
    }
    case 'welcome': {
      const message: ServerMessage = { type: 'welcome', id: uint('id', ID_MAX), role: oneOf(get('role'), 'role', ROLES), lastSeq: uint('lastSeq') };
      if (get('from') !== undefined) message.from = uint('from');
      return message;
    }
    case 'order': {
      if (get('reduceOnly') !== true) refuse('invalid_field', `reduceOnly: must be true, got ${found(get('reduceOnly'))}`);
      if (get('tif') !== 'IOC') refuse('invalid_field', `tif: must be "IOC", got ${found(get('tif'))}`);
      return {
        type: 'order',
        seq: uint('seq'),
        key: stringField(get('key'), 'key'),
        account: stringField(get('account'), 'account'),
        instrument: stringField(get('instrument'), 'instrument'),
        mode: oneOf(get('mode'), 'mode', ['cross', 'isolated'] as const),
        side: oneOf(get('side'), 'side', ['buy', 'sell'] as const),
        size: big('size'),
        price: big('price'),
        reduceOnly: true,
        tif: 'IOC',
        reason: oneOf(get('reason'), 'reason', ['liquidatable', 'bankrupt'] as const),
        ts: uint('ts'),
      };
    }
    case 'heartbeat':
      return { type: 'heartbeat', seq: uint('seq'), ts: uint('ts') };
    case 'summary':
      return { type: 'summary', ts: uint('ts'), accounts: uint('accounts'), liquidatable: uint('liquidatable'), bankrupt: uint('bankrupt'), orders: uint('orders') };
    case 'prices': {
      const marks = get('marks');
      if (!Array.isArray(marks)) refuse('invalid_field', `marks: must be an array of [symbol, price], got ${found(marks)}`);
      return {
        type: 'prices',
        ts: uint('ts'),
        marks: marks.map((entry: unknown, k): [string, bigint] => {
          if (!Array.isArray(entry) || entry.length !== 2) refuse('invalid_field', `marks[${k}]: must be [symbol, price], got ${found(entry)}`);
          const price = integer(entry[1]);
          if (price === null || price < 0n) refuse('invalid_field', `marks[${k}][1]: must be an integer from 0, got ${found(entry[1])}`);
          return [stringField(entry[0], `marks[${k}][0]`), price];
        }),
      };
    }
  }
}
