// The client side of the wire protocol (docs/PROTOCOL.md): frames as publishers and consumers send
// them, for `liq tail`, the load tool, the examples and the tests. One Encoder, reused.
import { Encoder } from '@msgpack/msgpack';
import { PROTOCOL_VERSION } from './protocol.js';

/** A wire integer: a number (safe integer) or a bigint (64-bit). */
type Int = number | bigint;

export type ClientFrame =
  /** from: the first order seq wanted (consumers; 0: the next new order); null for an observer. */
  | { type: 'subscribe'; id: number; from: number | null }
  | { type: 'ping'; id: number }
  /** Each tick: [instrument index or symbol, price in price units, ms since the epoch]. */
  | { type: 'ticks'; id: number; ticks: readonly (readonly [number | string, Int, number])[] }
  /** Each operation: { op, account, instrument, ... } as docs/PROTOCOL.md lists. */
  | { type: 'updates'; id: number; ops: readonly Record<string, unknown>[] }
  | { type: 'fill'; id: number; order: number; account: string; instrument: number | string; mode: 'cross' | 'isolated'; size: Int; price: Int };

const encoder = new Encoder({ useBigInt64: true, ignoreUndefined: true });

/** The frame's bytes (a copy: the encoder's buffer is reused). */
export function encodeClientFrame(frame: ClientFrame): Uint8Array {
  const { type, id, ...rest } = frame;
  const body: Record<string, unknown> = { v: PROTOCOL_VERSION, type, id, ...rest };
  if (frame.type === 'subscribe' && frame.from === null) delete body.from;
  return encoder.encode(wireIntegers(body)).slice();
}

/**
 * With useBigInt64 the encoder writes a number beyond 32 bits as a float64 (its int64 is for
 * bigints), and the protocol refuses floats where integers go: such numbers become bigints.
 */
function wireIntegers(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) && (value > 0xffff_ffff || value < -0x8000_0000) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(wireIntegers);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, wireIntegers(item)]));
  return value;
}
