// Client frames for the live server's protocol (src/serve/protocol.ts, docs/PROTOCOL.md), built
// byte by byte so that they can be anything msgpack can say and more: valid frames of every client
// message, and malformed ones, each named by its category and carrying the error code
// decodeClientMessage must answer. Deterministic: the same seed, count and book give the same
// frames. Used by test/serve/protocol-fuzz.test.ts and by the server's end-to-end tests.
import { bookFromJsonValue } from '../../src/book/json.js';
import { Engine } from '../../src/engine/engine.js';
import { FUNDING_INDEX_ABS_MAX, LEVERAGE_MAX, PRICE_UNITS_MAX, QUOTE_ABS_MAX } from '../../src/fixed/constants.js';
import { FRAME_BYTES_MAX, OPS_PER_FRAME_MAX, SIZE_UNITS_ABS_MAX, TICKS_PER_FRAME_MAX, type ErrorCode, type Role } from '../../src/serve/protocol.js';

/** What the frames need of the book: symbols (index i has lot lots[i]) and account ids. */
export interface FrameBook {
  symbols: string[];
  accounts: string[];
  lots: bigint[];
}

/** The frame book of an engine's book. */
export function frameBookOf(engine: Engine): FrameBook {
  return {
    symbols: engine.instruments.map((instrument) => instrument.symbol),
    accounts: engine.accountIds.toArray(),
    lots: engine.instruments.map((instrument) => instrument.lotUnits),
  };
}

/**
 * A book of BTC, ETH and SOL (each symbol followed by `suffix`) whose lots are 5, 1 and 25 size
 * units (0.005, 0.001 and 0.25), so that sizes off the lot can be sent, with `accounts` (book JSON).
 */
export function lottedBook(suffix: string, accounts: unknown[]): Engine {
  const tiers = [{ upToNotional: null, maintenanceRate: '0.005', maxLeverage: '100' }];
  return Engine.fromBook(
    bookFromJsonValue({
      instruments: [
        { symbol: `BTC${suffix}`, markPrice: '50000', tickSize: '0.1', lotSize: '0.005', fundingIndex: '0', tiers },
        { symbol: `ETH${suffix}`, markPrice: '2500', tickSize: '0.01', lotSize: '0.001', fundingIndex: '0', tiers },
        { symbol: `SOL${suffix}`, markPrice: '150', tickSize: '0.01', lotSize: '0.25', fundingIndex: '0', tiers },
      ],
      accounts,
    }),
  );
}

export interface GeneratedFrame {
  /** The category, then the variant: `wrong-type/ops[].size`, `truncated/half`. */
  name: string;
  bytes: Uint8Array;
  /** The role of the connection that sends it. */
  role: Role;
  /** What decodeClientMessage answers (malformed frames); absent for valid frames. */
  code?: ErrorCode;
}

// ---------------------------------------------------------------------------------------------
// A seeded generator (mulberry32)

export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** A bigint in [1, max], log-uniform (every order of magnitude drawn). */
  big(max: bigint): bigint {
    const digits = this.int(1, max.toString().length);
    let value = 0n;
    for (let d = 0; d < digits; d++) value = value * 10n + BigInt(this.int(0, 9));
    return value < 1n ? 1n : value > max ? max : value;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
}

// ---------------------------------------------------------------------------------------------
// msgpack, byte by byte

const text = new TextEncoder();

function bytes(...parts: (Uint8Array | number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function be(value: number | bigint, width: number): number[] {
  let v = BigInt.asUintN(width * 8, BigInt(value));
  const out = new Array<number>(width);
  for (let k = width - 1; k >= 0; k--) {
    out[k] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** msgpack encodings, each as bytes; every width can be forced. */
export const mp = {
  nil: () => bytes([0xc0]),
  bool: (value: boolean) => bytes([value ? 0xc3 : 0xc2]),
  /** An integer in its smallest encoding. */
  int(value: number | bigint): Uint8Array {
    const v = BigInt(value);
    if (v >= 0n) {
      if (v < 0x80n) return bytes([Number(v)]);
      if (v < 0x100n) return bytes([0xcc], be(v, 1));
      if (v < 0x1_0000n) return bytes([0xcd], be(v, 2));
      if (v < 0x1_0000_0000n) return bytes([0xce], be(v, 4));
      return bytes([0xcf], be(v, 8));
    }
    if (v >= -0x20n) return bytes([Number(v & 0xffn)]);
    if (v >= -0x80n) return bytes([0xd0], be(v, 1));
    if (v >= -0x8000n) return bytes([0xd1], be(v, 2));
    if (v >= -0x8000_0000n) return bytes([0xd2], be(v, 4));
    return bytes([0xd3], be(v, 8));
  },
  u64: (value: number | bigint) => bytes([0xcf], be(value, 8)),
  i64: (value: number | bigint) => bytes([0xd3], be(value, 8)),
  f32(value: number): Uint8Array {
    const out = new Uint8Array(5);
    out[0] = 0xca;
    new DataView(out.buffer).setFloat32(1, value);
    return out;
  },
  f64(value: number): Uint8Array {
    const out = new Uint8Array(9);
    out[0] = 0xcb;
    new DataView(out.buffer).setFloat64(1, value);
    return out;
  },
  str(value: string): Uint8Array {
    const utf8 = text.encode(value);
    return bytes(mp.strHeader(utf8.length), utf8);
  },
  strHeader(length: number, width?: 0 | 1 | 2 | 4): Uint8Array {
    const w = width ?? (length < 32 ? 0 : length < 0x100 ? 1 : length < 0x1_0000 ? 2 : 4);
    if (w === 0) return bytes([0xa0 | length]);
    return bytes([w === 1 ? 0xd9 : w === 2 ? 0xda : 0xdb], be(length, w));
  },
  bin: (data: Uint8Array) => bytes([0xc4, data.length], data),
  arrayHeader(length: number, width?: 0 | 2 | 4): Uint8Array {
    const w = width ?? (length < 16 ? 0 : length < 0x1_0000 ? 2 : 4);
    if (w === 0) return bytes([0x90 | length]);
    return bytes([w === 2 ? 0xdc : 0xdd], be(length, w));
  },
  mapHeader(length: number, width?: 0 | 2 | 4): Uint8Array {
    const w = width ?? (length < 16 ? 0 : length < 0x1_0000 ? 2 : 4);
    if (w === 0) return bytes([0x80 | length]);
    return bytes([w === 2 ? 0xde : 0xdf], be(length, w));
  },
  array: (items: Uint8Array[]) => bytes(mp.arrayHeader(items.length), ...items),
  map: (entries: [string, Uint8Array][]) => bytes(mp.mapHeader(entries.length), ...entries.flatMap(([key, value]) => [mp.str(key), value])),
};

// ---------------------------------------------------------------------------------------------
// Messages as trees, to change one field and render

type Node = { raw: Uint8Array } | { entries: [string, Node][] } | { items: Node[] };

const raw = (value: Uint8Array): Node => ({ raw: value });
const int = (value: number | bigint): Node => raw(mp.int(value));
const str = (value: string): Node => raw(mp.str(value));

function render(node: Node): Uint8Array {
  if ('raw' in node) return node.raw;
  if ('entries' in node) return bytes(mp.mapHeader(node.entries.length), ...node.entries.flatMap(([key, value]) => [mp.str(key), render(value)]));
  return bytes(mp.arrayHeader(node.items.length), ...node.items.map(render));
}

function clone(node: Node): Node {
  if ('raw' in node) return node;
  if ('entries' in node) return { entries: node.entries.map(([key, value]) => [key, clone(value)]) };
  return { items: node.items.map(clone) };
}

/** A field's kind, for the wrong values it may be given. */
type FieldKind = 'version' | 'uint' | 'price' | 'size' | 'amount' | 'string' | 'instrument' | 'list' | 'tick' | 'op';

/** A place in a message: how to reach it (a key, or an index into an array), and its kind. */
interface Place {
  path: (string | number)[];
  kind: FieldKind;
  /** The path's name in frame names: `ops[].size`. */
  name: string;
}

interface Template {
  type: 'ticks' | 'updates' | 'fill' | 'subscribe' | 'ping';
  role: Role;
  root: { entries: [string, Node][] };
  places: Place[];
}

function get(node: Node, path: (string | number)[]): Node | undefined {
  let at: Node | undefined = node;
  for (const step of path) {
    if (at === undefined) return undefined;
    if (typeof step === 'string') at = 'entries' in at ? at.entries.find(([key]) => key === step)?.[1] : undefined;
    else at = 'items' in at ? at.items[step] : undefined;
  }
  return at;
}

/** A copy of `root` with the value at `path` replaced (or, with `value` undefined, its key removed). */
function withValue(root: Node, path: (string | number)[], value: Node | undefined): Node {
  const copy = clone(root);
  const parent = get(copy, path.slice(0, -1))!;
  const last = path[path.length - 1];
  if (typeof last === 'string' && 'entries' in parent) {
    const k = parent.entries.findIndex(([key]) => key === last);
    if (value === undefined) parent.entries.splice(k, 1);
    else if (k < 0) parent.entries.push([last, value]);
    else parent.entries[k] = [last, value];
  } else if (typeof last === 'number' && 'items' in parent) {
    if (value === undefined) parent.items.splice(last, 1);
    else parent.items[last] = value;
  }
  return copy;
}

/** A copy of the map at `path` with an entry added (first or last). */
function withEntry(root: Node, path: (string | number)[], key: string, value: Node, first = false): Node {
  const copy = clone(root);
  const map = get(copy, path)!;
  if ('entries' in map) {
    if (first) map.entries.unshift([key, value]);
    else map.entries.push([key, value]);
  }
  return copy;
}

const MODES = ['cross', 'isolated'] as const;

class Builder {
  constructor(
    readonly rng: Rng,
    readonly book: FrameBook,
  ) {}

  instrumentIndex(): number {
    return this.rng.int(0, this.book.symbols.length - 1);
  }

  /** An instrument as index or symbol. */
  instrument(i = this.instrumentIndex()): Node {
    return this.rng.next() < 0.5 ? int(i) : str(this.book.symbols[i]);
  }

  account(): Node {
    return str(this.rng.pick(this.book.accounts));
  }

  /** An integer in one of its encodings: the smallest, or forced to 64 bits. */
  integer(value: bigint): Node {
    if (this.rng.next() < 0.25) return raw(value < 0n ? mp.i64(value) : mp.u64(value));
    return int(value);
  }

  price(): Node {
    return this.integer(this.rng.big(PRICE_UNITS_MAX));
  }

  size(i: number): Node {
    const lots = BigInt(this.rng.int(1, 1000));
    return this.integer((this.rng.next() < 0.5 ? -lots : lots) * this.book.lots[i]);
  }

  amount(): Node {
    return this.integer(this.rng.big(QUOTE_ABS_MAX));
  }

  id(): Node {
    return this.integer(BigInt(this.rng.int(0, 0xffff_ffff)));
  }

  header(type: string): [string, Node][] {
    return [
      ['v', int(1)],
      ['type', str(type)],
      ['id', this.id()],
    ];
  }

  ticks(): Template {
    const count = this.rng.int(1, 6);
    const ticks: Node[] = [];
    for (let k = 0; k < count; k++) ticks.push({ items: [this.instrument(), this.price(), this.integer(BigInt(this.rng.int(0, 2 ** 31)) * 1000n)] });
    const k = this.rng.int(0, count - 1);
    return {
      type: 'ticks',
      role: 'publisher',
      root: { entries: [...this.header('ticks'), ['ticks', { items: ticks }]] },
      places: [
        ...HEADER_PLACES,
        { path: ['ticks'], kind: 'list', name: 'ticks' },
        { path: ['ticks', k], kind: 'tick', name: 'ticks[]' },
        { path: ['ticks', k, 0], kind: 'instrument', name: 'ticks[][0]' },
        { path: ['ticks', k, 1], kind: 'price', name: 'ticks[][1]' },
        { path: ['ticks', k, 2], kind: 'uint', name: 'ticks[][2]' },
      ],
    };
  }

  /** One operation of each kind in turn, with the places of its fields under `ops[k]`. */
  operation(k: number, kind = this.rng.pick(OPERATION_NAMES)): { node: Node; places: Place[] } {
    const i = this.instrumentIndex();
    const entries: [string, Node][] = [['op', str(kind)]];
    const places: Place[] = [
      { path: ['ops', k], kind: 'op', name: 'ops[]' },
      { path: ['ops', k, 'op'], kind: 'string', name: 'ops[].op' },
    ];
    const add = (key: string, value: Node, fieldKind: FieldKind) => {
      entries.push([key, value]);
      places.push({ path: ['ops', k, key], kind: fieldKind, name: `ops[].${key}` });
    };
    if (kind !== 'setFundingIndex') add('account', this.account(), 'string');
    switch (kind) {
      case 'deposit':
      case 'withdraw':
        add('amount', this.amount(), 'amount');
        break;
      case 'addMargin':
      case 'removeMargin':
        add('instrument', this.instrument(i), 'instrument');
        add('amount', this.amount(), 'amount');
        break;
      case 'setLeverage':
        add('instrument', this.instrument(i), 'instrument');
        add('mode', str(this.rng.pick(MODES)), 'string');
        add('leverage', int(this.rng.int(1, LEVERAGE_MAX)), 'uint');
        break;
      case 'switchMode':
        add('instrument', this.instrument(i), 'instrument');
        add('to', str(this.rng.pick(MODES)), 'string');
        if (this.rng.next() < 0.5) add('margin', this.amount(), 'amount');
        break;
      case 'fill':
        add('instrument', this.instrument(i), 'instrument');
        add('mode', str(this.rng.pick(MODES)), 'string');
        add('size', this.size(i), 'size');
        add('price', this.price(), 'price');
        if (this.rng.next() < 0.3) add('margin', this.amount(), 'amount');
        break;
      case 'settleFunding':
        if (this.rng.next() < 0.5) add('instrument', this.instrument(i), 'instrument');
        if (this.rng.next() < 0.5) add('mode', str(this.rng.pick(MODES)), 'string');
        break;
      case 'charge':
        add('amount', this.amount(), 'amount');
        if (this.rng.next() < 0.5) add('instrument', this.instrument(i), 'instrument');
        break;
      case 'setFundingIndex':
        add('instrument', this.instrument(i), 'instrument');
        add('index', this.integer(this.rng.big(FUNDING_INDEX_ABS_MAX) * (this.rng.next() < 0.5 ? -1n : 1n)), 'uint'); // (its wrong values: invalid_field)
        break;
    }
    return { node: { entries }, places };
  }

  updates(kind?: (typeof OPERATION_NAMES)[number]): Template {
    const count = this.rng.int(1, 4);
    const k = this.rng.int(0, count - 1);
    const ops: Node[] = [];
    let places: Place[] = [];
    for (let j = 0; j < count; j++) {
      const op = this.operation(j, j === k ? kind : undefined);
      ops.push(op.node);
      if (j === k) places = op.places;
    }
    return {
      type: 'updates',
      role: 'publisher',
      root: { entries: [...this.header('updates'), ['ops', { items: ops }]] },
      places: [...HEADER_PLACES, { path: ['ops'], kind: 'list', name: 'ops' }, ...places],
    };
  }

  fill(): Template {
    const i = this.instrumentIndex();
    return {
      type: 'fill',
      role: 'consumer',
      root: {
        entries: [
          ...this.header('fill'),
          ['order', this.integer(BigInt(this.rng.int(1, 2 ** 40)))],
          ['account', this.account()],
          ['instrument', this.instrument(i)],
          ['mode', str(this.rng.pick(MODES))],
          ['size', this.size(i)],
          ['price', this.price()],
        ],
      },
      places: [
        ...HEADER_PLACES,
        { path: ['order'], kind: 'uint', name: 'order' },
        { path: ['account'], kind: 'string', name: 'account' },
        { path: ['instrument'], kind: 'instrument', name: 'instrument' },
        { path: ['mode'], kind: 'string', name: 'mode' },
        { path: ['size'], kind: 'size', name: 'size' },
        { path: ['price'], kind: 'price', name: 'price' },
      ],
    };
  }

  subscribe(role: 'consumer' | 'observer' = this.rng.pick(['consumer', 'observer'] as const)): Template {
    if (role === 'observer') return { type: 'subscribe', role, root: { entries: this.header('subscribe') }, places: HEADER_PLACES };
    return {
      type: 'subscribe',
      role,
      root: { entries: [...this.header('subscribe'), ['from', this.integer(BigInt(this.rng.int(0, 2 ** 40)))]] },
      places: [...HEADER_PLACES, { path: ['from'], kind: 'uint', name: 'from' }],
    };
  }

  ping(): Template {
    return { type: 'ping', role: this.rng.pick(ROLE_NAMES), root: { entries: this.header('ping') }, places: HEADER_PLACES };
  }

  any(): Template {
    switch (this.rng.int(0, 4)) {
      case 0:
        return this.ticks();
      case 1:
        return this.updates();
      case 2:
        return this.fill();
      case 3:
        return this.subscribe();
      default:
        return this.ping();
    }
  }

  /** A message with fields (not a ping, not an observer's subscribe). */
  withFields(): Template {
    return this.rng.pick([() => this.ticks(), () => this.updates(), () => this.fill(), () => this.subscribe('consumer')])();
  }
}

const ROLE_NAMES = ['publisher', 'consumer', 'observer'] as const;
const OPERATION_NAMES = ['deposit', 'withdraw', 'addMargin', 'removeMargin', 'setLeverage', 'switchMode', 'fill', 'settleFunding', 'charge', 'setFundingIndex'] as const;
const HEADER_PLACES: Place[] = [
  { path: ['v'], kind: 'version', name: 'v' },
  { path: ['type'], kind: 'string', name: 'type' },
  { path: ['id'], kind: 'uint', name: 'id' },
];

/** The code of a wrong value at a place: the field's own code where it has one. */
function codeOf(kind: FieldKind): ErrorCode {
  switch (kind) {
    case 'version':
      return 'unsupported_version';
    case 'price':
      return 'invalid_price';
    case 'size':
      return 'invalid_size';
    case 'amount':
      return 'invalid_amount';
    default:
      return 'invalid_field';
  }
}

/** Values of the wrong type for a field of `kind`. */
function wrongValues(kind: FieldKind): [string, Node][] {
  const common: [string, Node][] = [
    ['nil', raw(mp.nil())],
    ['true', raw(mp.bool(true))],
    ['map', raw(mp.map([]))],
    ['array', raw(mp.array([raw(mp.int(1))].map(render)))],
  ];
  switch (kind) {
    case 'string':
      return [...common, ['int', int(5)], ['negative', int(-7)]];
    case 'instrument':
      return [...common, ['negative', int(-1)], ['negative64', raw(mp.i64(-3))]];
    case 'list':
      return [['nil', raw(mp.nil())], ['string', str('ticks')], ['int', int(3)], ['map', raw(mp.map([]))]];
    case 'tick':
    case 'op':
      return [['nil', raw(mp.nil())], ['string', str('x')], ['int', int(3)], ...(kind === 'tick' ? ([['map', raw(mp.map([]))]] as [string, Node][]) : ([['array', raw(mp.array([]))]] as [string, Node][]))];
    default:
      return [...common, ['string', str('12')]];
  }
}

// ---------------------------------------------------------------------------------------------
// The categories

type Made = { name: string; bytes: Uint8Array; role: Role; code: ErrorCode };
type Category = (b: Builder, cache: Cache) => Made;

interface Cache {
  oversized?: Uint8Array;
  manyTicks?: Uint8Array;
  manyOps?: Uint8Array;
}

const enc = (node: Node) => render(node);

function numericPlaces(t: Template): Place[] {
  return t.places.filter((place) => place.kind === 'version' || place.kind === 'uint' || place.kind === 'price' || place.kind === 'size' || place.kind === 'amount');
}

const CATEGORIES: [string, Category][] = [
  [
    'truncated',
    (b) => {
      const t = b.any();
      const full = enc(t.root);
      const cuts: [string, number][] = [
        ['empty', 0],
        ['one', 1],
        ['two', Math.min(2, full.length - 1)],
        ['half', full.length >> 1],
        ['last', full.length - 1],
        ['random', b.rng.int(1, full.length - 1)],
      ];
      const [label, cut] = b.rng.pick(cuts);
      return { name: `truncated/${label}`, bytes: full.slice(0, cut), role: t.role, code: 'malformed' };
    },
  ],
  [
    'wrong-type',
    (b) => {
      const t = b.withFields();
      const place = b.rng.pick(t.places);
      const [label, value] = b.rng.pick(wrongValues(place.kind));
      return { name: `wrong-type/${place.name}/${label}`, bytes: enc(withValue(t.root, place.path, value)), role: t.role, code: codeOf(place.kind) };
    },
  ],
  [
    'huge-length',
    (b) => {
      const t = b.ping();
      const variants: [string, Uint8Array, ErrorCode][] = [
        ['str32', bytes(mp.mapHeader(3), mp.str('v'), mp.int(1), mp.str('type'), mp.strHeader(0xffff_ffff, 4), text.encode('ping')), 'too_large'],
        ['str16', bytes(mp.mapHeader(3), mp.str('v'), mp.int(1), mp.str('type'), mp.strHeader(0xffff, 2), text.encode('ping')), 'too_large'],
        ['str8', bytes(mp.mapHeader(3), mp.str('v'), mp.int(1), mp.str('type'), mp.strHeader(0xff, 1), text.encode('ping')), 'too_large'],
        ['array32', bytes(mp.mapHeader(4), mp.str('v'), mp.int(1), mp.str('type'), mp.str('ticks'), mp.str('id'), mp.int(1), mp.str('ticks'), mp.arrayHeader(0xffff_ffff, 4)), 'too_large'],
        ['array16', bytes(mp.mapHeader(4), mp.str('v'), mp.int(1), mp.str('type'), mp.str('ticks'), mp.str('id'), mp.int(1), mp.str('ticks'), mp.arrayHeader(0xffff, 2), mp.array([])), 'too_large'],
        ['array32-just-over', bytes(mp.mapHeader(4), mp.str('v'), mp.int(1), mp.str('type'), mp.str('ticks'), mp.str('id'), mp.int(1), mp.str('ticks'), mp.arrayHeader(TICKS_PER_FRAME_MAX + 1, 4)), 'too_large'],
        ['map32-root', bytes(mp.mapHeader(0xffff_ffff, 4), mp.str('v'), mp.int(1)), 'too_large'],
        ['map32-op', bytes(mp.mapHeader(4), mp.str('v'), mp.int(1), mp.str('type'), mp.str('updates'), mp.str('id'), mp.int(1), mp.str('ops'), mp.arrayHeader(1), mp.mapHeader(0xffff_ffff, 4)), 'too_large'],
        ['map16-17-keys', bytes(mp.mapHeader(17, 2), ...Array.from({ length: 17 }, (_, k) => [mp.str(`k${k}`), mp.int(k)]).flat()), 'too_large'],
        ['key-str32', bytes(mp.mapHeader(1), mp.strHeader(0xffff_ffff, 4), text.encode('v')), 'too_large'],
        ['declared-past-end', bytes(mp.mapHeader(3), mp.str('v'), mp.int(1), mp.str('type'), mp.strHeader(40, 1), text.encode('ping')), 'malformed'],
        ['array-past-end', bytes(mp.mapHeader(4), mp.str('v'), mp.int(1), mp.str('type'), mp.str('ticks'), mp.str('id'), mp.int(1), mp.str('ticks'), mp.arrayHeader(1000, 2), mp.array([])), 'malformed'],
      ];
      const [label, frame, code] = b.rng.pick(variants);
      return { name: `huge-length/${label}`, bytes: frame, role: t.role, code };
    },
  ],
  [
    'deep-nesting',
    (b) => {
      const t = b.ping();
      const depth = b.rng.pick([4, 5, 64, 100_000]);
      const kind = b.rng.pick(['array', 'map', 'root'] as const);
      if (kind === 'root') {
        const frame = new Uint8Array(depth + 1).fill(0x91);
        frame[depth] = 0x01;
        return { name: `deep-nesting/root-${depth}`, bytes: frame, role: t.role, code: 'malformed' };
      }
      // `depth` containers under the key x of a ping (x's value is at depth 2: the 4th is at 5).
      const open = kind === 'array' ? [0x91] : [0x81, 0xa1, 0x61];
      const nested = new Uint8Array(open.length * depth + 1);
      for (let k = 0; k < depth; k++) nested.set(open, k * open.length);
      nested[nested.length - 1] = 0x01;
      const frame = bytes(mp.mapHeader(t.root.entries.length + 1), mp.str('x'), nested, ...t.root.entries.flatMap(([key, value]) => [mp.str(key), render(value)]));
      return { name: `deep-nesting/${kind}-${depth}`, bytes: frame, role: t.role, code: 'malformed' };
    },
  ],
  [
    'unknown-type',
    (b) => {
      const t = b.ping();
      const type = b.rng.pick(['foo', 'TICKS', 'Ping', '', 'constructor', 'toString', 'hasOwnProperty', '__proto__', 'ack', 'order', 'error', 'tick']);
      return { name: `unknown-type/${type === '' ? 'empty' : type}`, bytes: enc(withValue(t.root, ['type'], str(type))), role: t.role, code: 'unknown_type' };
    },
  ],
  [
    'version',
    (b) => {
      const t = b.any();
      const versions: [string, Node | undefined][] = [
        ['zero', int(0)],
        ['two', int(2)],
        ['negative', int(-1)],
        ['255', int(255)],
        ['u64', raw(mp.u64(2n ** 40n))],
        ['i64-negative', raw(mp.i64(-1))],
        ['missing', undefined],
        ['string', str('1')],
        ['nil', raw(mp.nil())],
        ['float-one', raw(mp.f64(1))],
        ['float32-one', raw(mp.f32(1))],
      ];
      const [label, value] = b.rng.pick(versions);
      return { name: `version/${label}`, bytes: enc(withValue(t.root, ['v'], value)), role: t.role, code: 'unsupported_version' };
    },
  ],
  [
    'nan-infinity',
    (b) => {
      const t = b.withFields();
      const place = b.rng.pick(numericPlaces(t));
      const [label, value] = b.rng.pick([
        ['nan', mp.f64(NaN)],
        ['infinity', mp.f64(Infinity)],
        ['-infinity', mp.f64(-Infinity)],
        ['nan32', mp.f32(NaN)],
        ['infinity32', mp.f32(Infinity)],
      ] as [string, Uint8Array][]);
      return { name: `nan-infinity/${place.name}/${label}`, bytes: enc(withValue(t.root, place.path, raw(value))), role: t.role, code: codeOf(place.kind) };
    },
  ],
  [
    'price-range',
    (b) => {
      const t = b.rng.pick([() => b.ticks(), () => b.fill(), () => b.updates('fill')])();
      const place = t.places.find((p) => p.kind === 'price')!;
      const [label, value] = b.rng.pick([
        ['zero', int(0)],
        ['negative', int(-1)],
        ['negative64', raw(mp.i64(-(2n ** 40n)))],
        ['zero64', raw(mp.u64(0))],
        ['over-max', int(PRICE_UNITS_MAX + 1n)],
        ['u64-max', raw(mp.u64(2n ** 64n - 1n))],
      ] as [string, Node][]);
      return { name: `price-range/${place.name}/${label}`, bytes: enc(withValue(t.root, place.path, value)), role: t.role, code: 'invalid_price' };
    },
  ],
  [
    'float-integer',
    (b) => {
      const t = b.withFields();
      const place = b.rng.pick(numericPlaces(t));
      const [label, value] = b.rng.pick([
        ['f64-whole', mp.f64(1)],
        ['f64-fraction', mp.f64(2.5)],
        ['f32-whole', mp.f32(1000)],
        ['f64-negative-zero', mp.f64(-0)],
        ['f64-large', mp.f64(1e300)],
      ] as [string, Uint8Array][]);
      return { name: `float-integer/${place.name}/${label}`, bytes: enc(withValue(t.root, place.path, raw(value))), role: t.role, code: codeOf(place.kind) };
    },
  ],
  [
    'size-off-lot',
    (b) => {
      const t = b.rng.next() < 0.5 ? b.fill() : b.updates('fill');
      const instrumentPlace = t.places.find((p) => p.kind === 'instrument')!;
      const sizePlace = t.places.find((p) => p.kind === 'size')!;
      const lotted = b.book.lots.map((lot, i) => [lot, i] as const).filter(([lot]) => lot > 1n);
      if (lotted.length === 0) return { name: `size-off-lot/${sizePlace.name}/no-lot-above-1`, bytes: enc(withValue(t.root, sizePlace.path, int(0))), role: t.role, code: 'invalid_size' };
      const [lot, i] = b.rng.pick(lotted);
      const off = lot * BigInt(b.rng.int(-5, 5)) + BigInt(b.rng.int(1, Number(lot > 1000n ? 1000n : lot) - 1)) * (b.rng.next() < 0.5 ? 1n : -1n);
      const root = withValue(withValue(t.root, instrumentPlace.path, b.instrument(i)), sizePlace.path, b.integer(off));
      return { name: `size-off-lot/${sizePlace.name}`, bytes: enc(root), role: t.role, code: 'invalid_size' };
    },
  ],
  [
    'size-range',
    (b) => {
      const t = b.rng.next() < 0.5 ? b.fill() : b.updates('fill');
      const place = t.places.find((p) => p.kind === 'size')!;
      const [label, value] = b.rng.pick([
        ['zero', int(0)],
        ['zero64', raw(mp.i64(0))],
        ['over-max', raw(mp.u64(SIZE_UNITS_ABS_MAX * 2n))],
        ['under-min', raw(mp.i64(-SIZE_UNITS_ABS_MAX * 2n))],
        ['u64-max', raw(mp.u64(2n ** 64n - 1n))],
      ] as [string, Node][]);
      return { name: `size-range/${place.name}/${label}`, bytes: enc(withValue(t.root, place.path, value)), role: t.role, code: 'invalid_size' };
    },
  ],
  [
    'unknown-account',
    (b) => {
      const t = b.rng.next() < 0.5 ? b.fill() : b.updates(b.rng.pick(OPERATION_NAMES.filter((kind) => kind !== 'setFundingIndex')));
      const place = t.places.find((p) => p.name.endsWith('account'))!;
      let id = `ghost-${b.rng.int(0, 1e9)}`;
      while (b.book.accounts.includes(id)) id += 'x';
      const name = b.rng.pick([id, id.toUpperCase(), `${b.book.accounts[0]} `, 'constructor', '__proto__', 'toString']);
      const value = b.book.accounts.includes(name) ? id : name;
      return { name: `unknown-account/${place.name}`, bytes: enc(withValue(t.root, place.path, str(value))), role: t.role, code: 'unknown_account' };
    },
  ],
  [
    'unknown-instrument',
    (b) => {
      const t = b.rng.pick([() => b.ticks(), () => b.fill(), () => b.updates(b.rng.pick(['addMargin', 'setLeverage', 'fill', 'setFundingIndex', 'switchMode'] as const))])();
      const place = t.places.find((p) => p.kind === 'instrument')!;
      const count = b.book.symbols.length;
      let symbol = `NOPE-${b.rng.int(0, 1e6)}`;
      while (b.book.symbols.includes(symbol)) symbol += 'X';
      const [label, value] = b.rng.pick([
        ['symbol', str(symbol)],
        ['lowercase', str(b.book.symbols.includes(b.book.symbols[0].toLowerCase()) ? symbol : b.book.symbols[0].toLowerCase())],
        ['constructor', str('constructor')],
        ['index-count', int(count)],
        ['index-far', int(count + b.rng.int(1, 60_000))],
        ['index-u64', raw(mp.u64(2n ** 63n))],
      ] as [string, Node][]);
      return { name: `unknown-instrument/${place.name}/${label}`, bytes: enc(withValue(t.root, place.path, value)), role: t.role, code: 'unknown_instrument' };
    },
  ],
  [
    'oversized',
    (b, cache) => {
      if (cache.oversized === undefined) {
        cache.oversized = new Uint8Array(FRAME_BYTES_MAX + 4096);
        cache.oversized.set(enc(b.ticks().root));
      }
      const length = FRAME_BYTES_MAX + b.rng.int(1, 4096);
      return { name: 'oversized', bytes: cache.oversized.subarray(0, length), role: 'publisher', code: 'too_large' };
    },
  ],
  [
    'prototype-key',
    (b) => {
      const t = b.rng.next() < 0.5 ? b.updates() : b.any();
      const key = b.rng.pick(['__proto__', 'constructor', 'prototype']);
      const value = b.rng.pick([raw(mp.map([['polluted', mp.bool(true)]])), int(1), str('x')]);
      const inOp = t.type === 'updates' && b.rng.next() < 0.5;
      const path = inOp ? t.places.find((p) => p.kind === 'op')!.path : [];
      const root = withEntry(t.root, path, key, value, b.rng.next() < 0.5);
      return { name: `prototype-key/${key}/${inOp ? 'op' : 'frame'}`, bytes: enc(root), role: t.role, code: 'invalid_field' };
    },
  ],
  [
    'unknown-key',
    (b) => {
      const t = b.any();
      const key = b.rng.pick(['foo', 'Type', 'V', 'ids', 'tick', 'op', 'price ', '', 'ä', 'margin']);
      const inOp = t.type === 'updates' && b.rng.next() < 0.5;
      // `margin` is known only to switchMode and fill ops; `op` is known in ops: use them at the top only.
      const name = inOp && (key === 'op' || key === 'margin') ? 'foo' : key;
      const path = inOp ? t.places.find((p) => p.kind === 'op')!.path : [];
      const root = withEntry(t.root, path, name, int(1), b.rng.next() < 0.5);
      return { name: `unknown-key/${inOp ? 'op' : 'frame'}`, bytes: enc(root), role: t.role, code: 'invalid_field' };
    },
  ],
  [
    'text',
    (b) => {
      const t = b.withFields();
      if (b.rng.next() < 0.5) {
        const json = JSON.stringify({ v: 1, type: t.type, id: 1 });
        return { name: 'text/json-frame', bytes: text.encode(json), role: t.role, code: 'malformed' };
      }
      // A binary value where a value goes (bin of the field's text).
      const place = b.rng.pick(t.places.filter((p) => p.kind !== 'list' && p.kind !== 'tick' && p.kind !== 'op'));
      return { name: `text/bin-value/${place.name}`, bytes: enc(withValue(t.root, place.path, raw(mp.bin(text.encode('12'))))), role: t.role, code: codeOf(place.kind) };
    },
  ],
  [
    'empty-array',
    (b) => {
      const which = b.rng.pick(['ticks', 'ops', 'tick', 'op-map'] as const);
      if (which === 'ticks' || which === 'tick') {
        const t = b.ticks();
        const root = which === 'ticks' ? withValue(t.root, ['ticks'], { items: [] }) : withValue(t.root, ['ticks', 0], { items: [] });
        return { name: `empty-array/${which}`, bytes: enc(root), role: t.role, code: 'invalid_field' };
      }
      const t = b.updates();
      const root = which === 'ops' ? withValue(t.root, ['ops'], { items: [] }) : withValue(t.root, ['ops', 0], { entries: [] });
      return { name: `empty-array/${which}`, bytes: enc(root), role: t.role, code: 'invalid_field' };
    },
  ],
  [
    'too-many',
    (b, cache) => {
      if (b.rng.next() < 0.5) {
        cache.manyTicks ??= enc({ entries: [...b.header('ticks'), ['ticks', { items: Array.from({ length: TICKS_PER_FRAME_MAX + 1 }, () => ({ items: [int(0), int(1), int(0)] })) }]] });
        return { name: 'too-many/ticks', bytes: cache.manyTicks, role: 'publisher', code: 'too_large' };
      }
      cache.manyOps ??= enc({ entries: [...b.header('updates'), ['ops', { items: Array.from({ length: OPS_PER_FRAME_MAX + 1 }, () => ({ entries: [['op', str('deposit')]] as [string, Node][] })) }]] });
      return { name: 'too-many/ops', bytes: cache.manyOps, role: 'publisher', code: 'too_large' };
    },
  ],
  [
    'trailing-bytes',
    (b) => {
      const t = b.any();
      const extra = b.rng.pick([[0x00], [0xc0], [0x80], Array.from(mp.map([['v', mp.int(1)]])), Array.from({ length: b.rng.int(1, 40) }, () => b.rng.int(0, 255))]);
      return { name: `trailing-bytes/${extra.length}`, bytes: bytes(enc(t.root), extra), role: t.role, code: 'malformed' };
    },
  ],
  [
    'role',
    (b) => {
      const [role, make, label] = b.rng.pick([
        ['consumer', () => b.ticks(), 'consumer-ticks'],
        ['observer', () => b.ticks(), 'observer-ticks'],
        ['consumer', () => b.updates(), 'consumer-updates'],
        ['observer', () => b.updates(), 'observer-updates'],
        ['publisher', () => b.fill(), 'publisher-fill'],
        ['observer', () => b.fill(), 'observer-fill'],
        ['publisher', () => b.subscribe('consumer'), 'publisher-subscribe'],
      ] as [Role, () => Template, string][]);
      return { name: `role/${label}`, bytes: enc(make().root), role, code: 'forbidden' };
    },
  ],
  [
    'not-a-map',
    (b) => {
      const t = b.any();
      const [label, frame] = b.rng.pick([
        ['array', mp.array([mp.int(1), mp.str('ping')])],
        ['int', mp.int(1)],
        ['string', mp.str('ping')],
        ['nil', mp.nil()],
        ['float', mp.f64(1)],
        ['bin', mp.bin(enc(t.root).subarray(0, 200))],
        ['type-byte-c1', bytes([0xc1])],
      ] as [string, Uint8Array][]);
      return { name: `not-a-map/${label}`, bytes: frame, role: t.role, code: 'malformed' };
    },
  ],
  [
    'bad-bytes',
    (b) => {
      const t = b.any();
      const [label, frame] = b.rng.pick([
        ['c1-value', bytes(mp.mapHeader(t.root.entries.length + 1), mp.str('x'), [0xc1], ...t.root.entries.flatMap(([key, value]) => [mp.str(key), render(value)]))],
        ['int-key', bytes(mp.mapHeader(t.root.entries.length + 1), mp.int(7), mp.int(1), ...t.root.entries.flatMap(([key, value]) => [mp.str(key), render(value)]))],
        ['nil-key', bytes(mp.mapHeader(t.root.entries.length + 1), mp.nil(), mp.int(1), ...t.root.entries.flatMap(([key, value]) => [mp.str(key), render(value)]))],
        ['empty-frame', new Uint8Array(0)],
      ] as [string, Uint8Array][]);
      return { name: `bad-bytes/${label}`, bytes: frame, role: t.role, code: 'malformed' };
    },
  ],
  [
    'repeated-key',
    (b) => {
      const t = b.any();
      const [key, value] = b.rng.pick(t.root.entries);
      return { name: `repeated-key/${key}`, bytes: enc(withEntry(t.root, [], key, value)), role: t.role, code: 'invalid_field' };
    },
  ],
  [
    'long-string',
    (b) => {
      const t = b.withFields();
      const place = b.rng.pick(t.places.filter((p) => p.kind === 'string' || p.kind === 'instrument'));
      const long = 'a'.repeat(b.rng.int(65, 300));
      return { name: `long-string/${place.name}`, bytes: enc(withValue(t.root, place.path, str(long))), role: t.role, code: 'too_large' };
    },
  ],
  [
    'unknown-op',
    (b) => {
      const t = b.updates();
      const place = t.places.find((p) => p.name === 'ops[].op')!;
      const op = b.rng.pick(['Deposit', 'setMark', 'setTiers', 'transfer', '', 'constructor', '__proto__']);
      return { name: `unknown-op/${op === '' ? 'empty' : op}`, bytes: enc(withValue(t.root, place.path, str(op))), role: t.role, code: 'invalid_field' };
    },
  ],
  [
    'missing-key',
    (b) => {
      const t = b.withFields();
      const place = b.rng.pick(t.places.filter((p) => typeof p.path[p.path.length - 1] === 'string' && p.kind !== 'version' && !OPTIONAL.has(p.name)));
      return { name: `missing-key/${place.name}`, bytes: enc(withValue(t.root, place.path, undefined)), role: t.role, code: codeOf(place.kind) };
    },
  ],
  [
    'out-of-range',
    (b) => {
      const variants: [string, () => Template, string, Node, ErrorCode][] = [
        ['amount-over', () => b.updates('deposit'), 'ops[].amount', int(QUOTE_ABS_MAX + 1n), 'invalid_amount'],
        ['amount-under', () => b.updates('charge'), 'ops[].amount', raw(mp.i64(-QUOTE_ABS_MAX - 1n)), 'invalid_amount'],
        ['margin-over', () => b.updates('switchMode'), 'ops[].margin', raw(mp.u64(2n ** 64n - 1n)), 'invalid_amount'],
        ['leverage-zero', () => b.updates('setLeverage'), 'ops[].leverage', int(0), 'invalid_field'],
        ['leverage-over', () => b.updates('setLeverage'), 'ops[].leverage', int(LEVERAGE_MAX + 1), 'invalid_field'],
        ['index-over', () => b.updates('setFundingIndex'), 'ops[].index', raw(mp.u64(FUNDING_INDEX_ABS_MAX + 1n)), 'invalid_field'],
        ['mode', () => b.updates('setLeverage'), 'ops[].mode', str('Cross'), 'invalid_field'],
        ['to', () => b.updates('switchMode'), 'ops[].to', str('both'), 'invalid_field'],
        ['account-empty', () => b.updates('deposit'), 'ops[].account', str(''), 'invalid_field'],
        ['ts-over', () => b.ticks(), 'ticks[][2]', raw(mp.u64(2n ** 53n)), 'invalid_field'],
        ['ts-negative', () => b.ticks(), 'ticks[][2]', int(-1), 'invalid_field'],
        ['id-over', () => b.ping(), 'id', raw(mp.u64(2n ** 32n)), 'invalid_field'],
        ['id-negative', () => b.ping(), 'id', int(-1), 'invalid_field'],
        ['order-negative', () => b.fill(), 'order', int(-5), 'invalid_field'],
        ['order-over', () => b.fill(), 'order', raw(mp.u64(2n ** 60n)), 'invalid_field'],
        ['from-negative', () => b.subscribe('consumer'), 'from', int(-1), 'invalid_field'],
        ['tick-short', () => b.ticks(), 'ticks[]', { items: [int(0), int(1)] }, 'invalid_field'],
        ['tick-long', () => b.ticks(), 'ticks[]', { items: [int(0), int(1), int(2), int(3)] }, 'invalid_field'],
        ['observer-from', () => b.subscribe('observer'), 'from', int(1), 'invalid_field'],
      ];
      const [label, make, where, value, code] = b.rng.pick(variants);
      const t = make();
      const place = t.places.find((p) => p.name === where);
      // A key the message left out (an optional margin, an observer's from): added.
      const opPath = t.places.find((p) => p.kind === 'op')?.path ?? [];
      const root =
        place !== undefined ? withValue(t.root, place.path, value) : where.startsWith('ops[].') ? withEntry(t.root, opPath, where.slice(6), value) : withEntry(t.root, [], where, value);
      return { name: `out-of-range/${label}`, bytes: enc(root), role: t.role, code };
    },
  ],
  [
    'ext-value',
    (b) => {
      const t = b.withFields();
      const place = b.rng.pick(t.places.filter((p) => p.kind !== 'list' && p.kind !== 'tick' && p.kind !== 'op'));
      const [label, value] = b.rng.pick([
        ['fixext1', bytes([0xd4, 0x01, 0x00])],
        ['timestamp32', bytes([0xd6, 0xff], be(1_700_000_000, 4))],
        ['ext8-empty', bytes([0xc7, 0x00, 0x05])],
        ['bin8-empty', bytes([0xc4, 0x00])],
      ] as [string, Uint8Array][]);
      return { name: `ext-value/${place.name}/${label}`, bytes: enc(withValue(t.root, place.path, raw(value))), role: t.role, code: codeOf(place.kind) };
    },
  ],
];

/** Keys a message may leave out (their absence is no error). */
const OPTIONAL = new Set(['ops[].margin', 'ops[].instrument', 'ops[].mode']);

/** The category names, in the order frames cycle through them. */
export const FRAME_CATEGORIES = CATEGORIES.map(([name]) => name);

/**
 * `count` malformed frames, the categories in turn (frame k is of category k mod the number of
 * categories), each with its variant drawn from the seed. Big frames (over 1 MiB, too many ticks
 * or ops) are shared between the frames of their category: do not write into `bytes`.
 */
export function malformedFrames(seed: number, count: number, book: FrameBook): (GeneratedFrame & { code: ErrorCode })[] {
  checkBook(book);
  const builder = new Builder(new Rng(seed), book);
  const cache: Cache = {};
  const out: (GeneratedFrame & { code: ErrorCode })[] = [];
  for (let k = 0; k < count; k++) {
    const [, make] = CATEGORIES[k % CATEGORIES.length];
    out.push(make(builder, cache));
  }
  return out;
}

/** `count` valid frames of every client message (ticks, updates of every operation, fill, subscribe, ping), for the role each names. */
export function validFrames(seed: number, count: number, book: FrameBook): GeneratedFrame[] {
  checkBook(book);
  const builder = new Builder(new Rng(seed), book);
  const out: GeneratedFrame[] = [];
  for (let k = 0; k < count; k++) {
    const t = builder.any();
    out.push({ name: `valid/${t.type}`, bytes: render(t.root), role: t.role });
  }
  return out;
}

function checkBook(book: FrameBook): void {
  if (book.symbols.length === 0 || book.accounts.length === 0 || book.lots.length !== book.symbols.length) {
    throw new RangeError('frames: the book needs at least one symbol and one account, and a lot per symbol');
  }
}
