// `liq instruments import`, the venue-neutral part (docs/venues.md): reading the venue's saved
// responses as hostile input, telling them apart by content, exact decimals, and the output. Each
// venue (src/instruments/venues/) turns its files into candidate book instruments; this module then
// lets the book's own loader (bookFromJsonValue) decide whether the book can hold each one, checks
// the venue's maintenance amounts against the engine's (tierRows), and writes the instruments file.
//
// Every refusal is one line, `FILE: PATH: reason`, where PATH walks the venue's document the way
// src/book/json.ts walks a book: keys separated by spaces, array elements as [i], and the element's
// symbol in parentheses once it is readable, e.g. `symbols[3] (BTCUSDT) filters[0] tickSize`.
import { BookError } from '../book/errors.js';
import { bookFromJsonValue, BOOK_JSON_VERSION, DECIMAL_TEXT_LENGTH_MAX, type InstrumentJson } from '../book/json.js';
import { findJsonSyntaxError } from '../book/json-syntax.js';
import type { Instrument } from '../book/model.js';
import { formatScaled } from '../fixed/decimal.js';
import { InputError } from '../io/errors.js';
import { readRegularText } from '../io/input.js';
import { describeJson, field, isPlainObject, quote, type JsonObject } from '../io/json-object.js';
import { tierRows } from '../memory/tiers.js';

/** The venues `liq instruments import` reads. */
export const VENUE_NAMES = ['binance', 'bybit', 'okx', 'hyperliquid'] as const;
export type VenueName = (typeof VENUE_NAMES)[number];

/** The largest venue file read (64 MiB): a larger one is refused from its size, before it is read. */
export const VENUE_FILE_BYTES_MAX = 64 * 1024 * 1024;

/** The instruments file's format version. */
export const INSTRUMENTS_FILE_VERSION = 1;

/** At most this many skipped instruments are named on standard error. */
export const SKIPPED_NAMED_MAX = 10;

/** A venue decimal written with an exponent may not move the point further than this. */
const EXPONENT_ABS_MAX = 64;

/** Keys refused anywhere in a venue document, as the book loader refuses them in a book. */
const FORBIDDEN_KEYS = ['__proto__', 'constructor'];

/**
 * An array the import walks (instruments, tiers, filters) may have at most this many elements: far
 * more than any venue lists, and few enough that walking one never holds millions of objects.
 */
export const ARRAY_ELEMENTS_MAX = 1_000_000;

/** A path longer than this is shown by its first and last halves. */
const PATH_SHOWN_MAX = 240;

/** The maintenance amounts cumX are in micro·ppm: 10^-12 quote. */
const AMOUNT_DECIMALS = 12;

// ---------------------------------------------------------------------------------------------
// Exact decimals

/**
 * A JSON number as the venue wrote it. The parser keeps the text, so that a number is converted
 * exactly (or refused) and never goes through a binary float. A number whose text is exactly what
 * JavaScript writes for it (`125`, `0.004`, not `50.0`, `1e7` or `9223372036854775807`) is kept as
 * a JavaScript number instead, which costs no object: String(value) gives back the same text.
 */
export class JsonNumber {
  constructor(readonly text: string) {}
}

/** A parsed JSON number's text, exactly as the venue wrote it; undefined for any other value. */
export function numberText(value: unknown): string | undefined {
  if (value instanceof JsonNumber) return value.text;
  return typeof value === 'number' ? String(value) : undefined;
}

/** A decimal: units × 10^-scale, exactly; scale ≥ 0 and, when above 0, units not a multiple of 10. */
export interface Dec {
  units: bigint;
  scale: number;
}

const VENUE_DECIMAL = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

function normalised(units: bigint, scale: number): Dec {
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale -= 1;
  }
  return { units, scale };
}

/**
 * A decimal from a venue's text ("0.10", "1e-7", "-12.5E+2"), exactly; a reason when the text is
 * not a decimal, is longer than 64 characters, or moves the point by more than 64 places.
 */
export function parseVenueDecimal(text: string): Dec | string {
  if (text.length > DECIMAL_TEXT_LENGTH_MAX) return `${quote(text)} is longer than ${DECIMAL_TEXT_LENGTH_MAX} characters`;
  const match = VENUE_DECIMAL.exec(text);
  if (match === null) return `${quote(text)} is not a decimal number`;
  const fraction = match[3] ?? '';
  const exponent = match[4] === undefined ? 0 : Number(match[4]);
  if (!(Math.abs(exponent) <= EXPONENT_ABS_MAX)) return `${quote(text)} has an exponent beyond ±${EXPONENT_ABS_MAX}`;
  let units = BigInt(match[2] + fraction);
  let scale = fraction.length - exponent;
  if (scale < 0) {
    units *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return normalised(match[1] === '-' ? -units : units, scale);
}

/** The decimal as the book writes it: the shortest exact form, no exponent ("0.10" → "0.1"). */
export function decimalText(value: Dec): string {
  return formatScaled(value.units, value.scale);
}

export function decimalOf(units: bigint, scale = 0): Dec {
  return normalised(units, scale);
}

export function multiply(a: Dec, b: Dec): Dec {
  return normalised(a.units * b.units, a.scale + b.scale);
}

/** −1, 0 or 1 as a is below, equal to or above b. */
export function compare(a: Dec, b: Dec): number {
  const scale = Math.max(a.scale, b.scale);
  const x = a.units * 10n ** BigInt(scale - a.scale);
  const y = b.units * 10n ** BigInt(scale - b.scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function isZero(value: Dec): boolean {
  return value.units === 0n;
}

/** The value in units of 10^-decimals, or null when it has more decimals than that. */
export function toScaled(value: Dec, decimals: number): bigint | null {
  if (value.scale > decimals) return null;
  return value.units * 10n ** BigInt(decimals - value.scale);
}

/** Rounded to at most `decimals` decimals: down (toward −∞), or to the nearest with ties away from zero. */
export function roundTo(value: Dec, decimals: number, mode: 'floor' | 'nearest'): Dec {
  if (value.scale <= decimals) return value;
  const divisor = 10n ** BigInt(value.scale - decimals);
  const negative = value.units < 0n;
  const magnitude = negative ? -value.units : value.units;
  let quotient = magnitude / divisor;
  const remainder = magnitude % divisor;
  if (mode === 'nearest' ? remainder * 2n >= divisor : negative && remainder !== 0n) quotient += 1n;
  return normalised(negative ? -quotient : quotient, decimals);
}

/** The whole part, rounded down. */
export function floorWhole(value: Dec): bigint {
  return roundTo(value, 0, 'floor').units;
}


// ---------------------------------------------------------------------------------------------
// Walking a venue document

/** A JSON value read from a venue file, the file and the path to it, for messages. */
export class At {
  constructor(
    readonly file: string,
    readonly path: string,
    readonly value: unknown,
  ) {}

  /** Throws the one-line refusal `FILE: PATH: reason` (a path deeper than a line is shown by its two ends). */
  fail(reason: string): never {
    const path = this.path.length > PATH_SHOWN_MAX ? `${this.path.slice(0, PATH_SHOWN_MAX / 2)} ... ${this.path.slice(-PATH_SHOWN_MAX / 2)}` : this.path;
    throw new InputError(path === '' ? `${this.file}: ${reason}` : `${this.file}: ${path}: ${reason}`);
  }

  /** The member `key` (its value undefined when absent or when this is not an object). */
  child(key: string): At {
    const value = isPlainObject(this.value) ? field(this.value, key) : undefined;
    return new At(this.file, joinPath(this.path, keyName(key)), value);
  }

  /** This path with ` (name)` added, when `name` is a readable name. */
  labelled(name: unknown): At {
    if (typeof name !== 'string' || !/^[\x20-\x7e]{1,64}$/.test(name)) return this;
    return new At(this.file, this.path === '' ? `(${name})` : `${this.path} (${name})`, this.value);
  }

  /** This path labelled with the element's own `key` member (a symbol), when it is a readable string. */
  labelledBy(key: string): At {
    return this.labelled(isPlainObject(this.value) ? field(this.value, key) : undefined);
  }

  object(): JsonObject {
    if (!isPlainObject(this.value)) this.fail(`must be an object, got ${describe(this.value)}`);
    return this.value;
  }

  /** The elements of an array (at most ARRAY_ELEMENTS_MAX: each becomes an At). */
  array(): At[] {
    if (!Array.isArray(this.value)) this.fail(`must be an array, got ${describe(this.value)}`);
    if (this.value.length > ARRAY_ELEMENTS_MAX) {
      this.fail(`has ${this.value.length.toLocaleString('en-US')} elements; an array the import reads may have at most ${ARRAY_ELEMENTS_MAX.toLocaleString('en-US')}`);
    }
    return this.value.map((value, i) => new At(this.file, `${this.path}[${i}]`, value));
  }

  /** The member `key`, which must be there (null counts as there). */
  required(key: string): At {
    this.object();
    const member = this.child(key);
    if (member.value === undefined) member.fail('is missing (required)');
    return member;
  }

  /** The member `key`, or undefined when it is absent. */
  optional(key: string): At | undefined {
    this.object();
    const member = this.child(key);
    return member.value === undefined ? undefined : member;
  }

  string(): string {
    if (typeof this.value !== 'string') this.fail(`must be a string, got ${describe(this.value)}`);
    return this.value;
  }

  boolean(): boolean {
    if (typeof this.value !== 'boolean') this.fail(`must be true or false, got ${describe(this.value)}`);
    return this.value;
  }

  /**
   * A decimal, exactly, from the JSON type the venue uses for this field: a decimal string, a JSON
   * number, or either (where the venue's own documentation disagrees with itself). An exponent
   * ("1e-7") is read exactly; the wrong JSON type is refused.
   */
  decimal(json: 'string' | 'number' | 'string or number'): Dec {
    const value = this.value;
    const written = numberText(value);
    let text: string;
    if (written !== undefined) {
      if (json === 'string') this.fail(`must be a decimal string, got ${describe(value)}`);
      text = written;
    } else if (typeof value === 'string') {
      if (json === 'number') this.fail(`must be a JSON number, got the string ${quote(value)}`);
      text = value;
    } else {
      this.fail(`must be ${json === 'number' ? 'a JSON number' : 'a decimal string'}, got ${describe(value)}`);
    }
    const parsed = parseVenueDecimal(text);
    if (typeof parsed === 'string') this.fail(parsed);
    return parsed;
  }

  /** A decimal above 0 (a tick, a lot, a price). */
  positive(json: 'string' | 'number' | 'string or number'): Dec {
    const value = this.decimal(json);
    if (value.units <= 0n) this.fail(`must be above 0, got ${decimalText(value)}`);
    return value;
  }

  /** A whole number (a JSON number or a string per `json`), exactly. */
  whole(json: 'string' | 'number'): bigint {
    const value = this.decimal(json);
    if (value.scale !== 0) this.fail(`must be a whole number, got ${decimalText(value)}`);
    return value.units;
  }
}

function joinPath(path: string, key: string): string {
  return path === '' ? key : `${path} ${key}`;
}

function keyName(key: string): string {
  return /^[A-Za-z_$][\w$]{0,39}$/.test(key) ? key : quote(key);
}

/** What a JSON value is, for "got ..." in messages: a venue number by the text it was written with. */
export function describe(value: unknown): string {
  const written = value instanceof JsonNumber ? value.text : undefined;
  if (written !== undefined) return `the JSON number ${written.length > 40 ? `${written.slice(0, 40)}...` : written}`;
  return describeJson(value);
}

/** The elements of an array, or a lone object as a list of one (an endpoint asked for one symbol). */
export function elements(at: At): At[] {
  return Array.isArray(at.value) ? at.array() : [at];
}

/** The first element of a list or the object itself, for telling files apart by content. */
export function firstOf(value: unknown): JsonObject | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return isPlainObject(first) ? first : undefined;
}

/** Whether an object has every one of the keys. */
export function hasKeys(value: unknown, ...keys: string[]): boolean {
  return isPlainObject(value) && keys.every((key) => field(value, key) !== undefined);
}

// ---------------------------------------------------------------------------------------------
// Reading a venue file

/** A parsed venue file: JSON numbers as JsonNumber or exact JavaScript numbers, objects with no prototype. */
export interface VenueFile {
  file: string;
  value: unknown;
}

/**
 * Reads a venue's saved response (or an instruments file: `what` names it in messages) from a
 * regular file: at most VENUE_FILE_BYTES_MAX bytes (checked from the size first), UTF-8, JSON, no
 * `__proto__` or `constructor` key anywhere.
 */
export function readVenueFile(path: string, what = 'a venue file'): VenueFile {
  return { file: path, value: parseVenueJson(path, readRegularText(path, VENUE_FILE_BYTES_MAX, what)) };
}

/**
 * A venue's JSON text as a value whose numbers keep their text (numberText) and whose objects
 * have no prototype. The scanner of json-syntax.ts, which accepts exactly what JSON.parse accepts,
 * checks the syntax first and says where it is wrong (without building a second copy of the
 * document, as JSON.parse would); the values are then built by a scan of the text now known to be
 * valid, with a stack of its own, so no nesting depth can overflow the call stack.
 */
export function parseVenueJson(file: string, text: string): unknown {
  const found = findJsonSyntaxError(text);
  if (found !== null) throw new InputError(`${file}: is not valid JSON: line ${found.line}, column ${found.column}: ${found.what}`);
  const value = buildValue(text);
  refuseForbiddenKeys(file, value);
  return value;
}

type Open = { array: unknown[] } | { object: Record<string, unknown>; key: string };

const NUMBER_TOKEN = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** The value of a text the syntax scanner accepted. */
function buildValue(text: string): unknown {
  const stack: Open[] = [];
  let i = skipSpace(text, 0);
  for (;;) {
    // A value starts at i.
    let value: unknown;
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      i = skipSpace(text, i + 1);
      const object = Object.create(null) as Record<string, unknown>;
      if (text.charCodeAt(i) === 0x7d /* } */) {
        i++;
        value = object;
      } else {
        const [key, next] = readString(text, i);
        stack.push({ object, key });
        i = afterColon(text, next);
        continue;
      }
    } else if (c === 0x5b /* [ */) {
      i = skipSpace(text, i + 1);
      if (text.charCodeAt(i) === 0x5d /* ] */) {
        i++;
        value = [];
      } else {
        stack.push({ array: [] });
        continue;
      }
    } else if (c === 0x22 /* " */) {
      [value, i] = readString(text, i);
    } else if (c === 0x74 /* t */) {
      value = true;
      i += 4;
    } else if (c === 0x66 /* f */) {
      value = false;
      i += 5;
    } else if (c === 0x6e /* n */) {
      value = null;
      i += 4;
    } else {
      NUMBER_TOKEN.lastIndex = i;
      const match = NUMBER_TOKEN.exec(text);
      if (match === null) throw new Error(`a JSON value the syntax scanner accepted does not scan at offset ${i}`);
      const written = match[0];
      const number = Number(written);
      value = String(number) === written ? number : new JsonNumber(written);
      i += match[0].length;
    }
    // After a value: put it in its container, then close containers or move to the next member.
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) return value;
      if ('array' in top) top.array.push(value);
      else top.object[top.key] = value; // no prototype: "__proto__" is an own key, refused below
      i = skipSpace(text, i);
      const d = text.charCodeAt(i);
      if (d === 0x2c /* , */) {
        i = skipSpace(text, i + 1);
        if ('object' in top) {
          const [key, next] = readString(text, i);
          top.key = key;
          i = afterColon(text, next);
        }
        break;
      }
      // ']' or '}'
      stack.pop();
      i++;
      value = 'array' in top ? top.array : top.object;
    }
  }
}

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

function afterColon(text: string, i: number): number {
  return skipSpace(text, skipSpace(text, i) + 1);
}

/** The string whose opening quote is at `start`, and the offset after its closing quote. */
function readString(text: string, start: number): [string, number] {
  let i = start + 1;
  let escaped = false;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) break;
    if (c === 0x5c /* \ */) {
      escaped = true;
      i += 2;
    } else {
      i++;
    }
  }
  const body = text.slice(start + 1, i);
  return [escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : body, i + 1];
}

/** A container met while looking for forbidden keys: its parent and the step from it, for the path. */
interface Container {
  value: object;
  parent: Container | null;
  /** The member's key, or the element's index. */
  step: string | number;
}

/**
 * Refuses a `__proto__` or `constructor` key anywhere, naming its path. Only containers are
 * visited (an array of a million numbers costs nothing here), and a path is built only to refuse.
 */
function refuseForbiddenKeys(file: string, value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  const pending: Container[] = [{ value, parent: null, step: '' }];
  while (pending.length > 0) {
    const container = pending.pop()!;
    const children: Container[] = [];
    if (Array.isArray(container.value)) {
      container.value.forEach((element: unknown, i) => {
        if (typeof element === 'object' && element !== null) children.push({ value: element, parent: container, step: i });
      });
    } else {
      const object = container.value as Record<string, unknown>;
      for (const key of Object.keys(object)) {
        if (FORBIDDEN_KEYS.includes(key)) atOf(file, container).child(key).fail(`the key ${quote(key)} is not allowed`);
        const member = object[key];
        if (typeof member === 'object' && member !== null) children.push({ value: member, parent: container, step: key });
      }
    }
    for (let k = children.length - 1; k >= 0; k--) pending.push(children[k]);
  }
}

/** The container's place in the document, its array elements labelled with their symbols. */
function atOf(file: string, container: Container): At {
  const chain: Container[] = [];
  for (let at: Container | null = container; at !== null; at = at.parent) chain.push(at);
  let at = new At(file, '', chain[chain.length - 1].value);
  for (let k = chain.length - 2; k >= 0; k--) {
    const { step, value } = chain[k];
    at = typeof step === 'string' ? at.child(step) : labelledElement(new At(file, `${at.path}[${step}]`, value));
  }
  return at;
}

/** An array element labelled with its symbol, as the venues name their instruments. */
function labelledElement(at: At): At {
  for (const key of ['symbol', 'instId', 'name']) {
    const labelled = at.labelledBy(key);
    if (labelled !== at) return labelled;
  }
  return at;
}

// ---------------------------------------------------------------------------------------------
// Venues

/** One of the responses a venue's instruments are imported from. */
export interface VenueFileKind {
  /** Names the kind to the venue's convert. */
  id: string;
  /** The request whose response it is, for messages: `GET /fapi/v1/exchangeInfo`. */
  endpoint: string;
  /** How it is told apart, for the message about a file that is none of them. */
  shape: string;
  /** Whether a parsed document is this kind's response. */
  matches(value: unknown): boolean;
}

/** A venue maintenance amount to hold against the engine's (docs/domain.md section 3). */
export interface VenueAmount {
  /** The bracket, 0-based, in the candidate's tiers. */
  tier: number;
  /** Where the venue states it. */
  at: At;
  value: Dec;
  /** How the venue names the bracket in messages: `bracket 2`. */
  bracket: string;
}

/** A book instrument made from a venue's files, before the book's loader has seen it. */
export interface Candidate {
  symbol: string;
  /** The instrument's entry in its specification file, for messages. */
  at: At;
  instrument: InstrumentJson;
  /** The venue's own maintenance amounts per bracket, checked against the engine's. */
  amounts?: VenueAmount[];
}

/**
 * A venue's instrument as a candidate book instrument: its decimals in the book's form, the mark
 * rounded to the tick's decimals (markAtTick, which leaves a mark rounded already as it is), a
 * funding index of 0.
 */
export function candidateOf(
  at: At,
  symbol: string,
  spec: { tick: Dec; lot: Dec; mark: Dec; tiers: InstrumentJson['tiers']; amounts?: VenueAmount[] },
): Candidate {
  const instrument: InstrumentJson = {
    symbol,
    tickSize: decimalText(spec.tick),
    lotSize: decimalText(spec.lot),
    markPrice: decimalText(markAtTick(spec.mark, spec.tick)),
    fundingIndex: '0',
    tiers: spec.tiers,
  };
  const candidate: Candidate = { symbol, at, instrument };
  if (spec.amounts !== undefined) candidate.amounts = spec.amounts;
  return candidate;
}

export interface VenueAdapter {
  venue: VenueName;
  /** Every kind is needed; a file is the first kind it matches. */
  kinds: readonly VenueFileKind[];
  /** The venue's error response, if the document is one: its code and message. */
  errorResponse(value: unknown): string | null;
  /** The candidates, from the files grouped by kind id (each kind has at least one file). */
  convert(files: ReadonlyMap<string, VenueFile[]>): Candidate[];
}

/** The decimal book text of a tier's max leverage: whole, rounded down (never more than the venue allows). */
export function leverageText(value: Dec): string {
  return floorWhole(value).toString();
}

/** The mark as the book holds it: rounded to the nearest at the tick's decimals (ties away from zero). */
export function markAtTick(mark: Dec, tick: Dec): Dec {
  return roundTo(mark, tick.scale, 'nearest');
}

/** Records every entry's `symbol` in a map, refusing a symbol found twice (in one file or two). */
export function indexBySymbol(entries: At[], key: string, what: string): Map<string, At> {
  const index = new Map<string, At>();
  for (const entry of entries) {
    const labelled = entry.labelledBy(key);
    const symbol = labelled.required(key).string();
    const earlier = index.get(symbol);
    if (earlier !== undefined) labelled.child(key).fail(`${what} ${quote(symbol)} again; ${earlier.file}: ${earlier.path} has it already`);
    index.set(symbol, labelled);
  }
  return index;
}

// ---------------------------------------------------------------------------------------------
// The import

export interface ImportOptions {
  /** Leave out, rather than refuse, an instrument the book cannot hold. */
  skipUnsupported: boolean;
}

export interface SkippedInstrument {
  symbol: string;
  reason: string;
}

export interface ImportResult {
  venue: VenueName;
  /** Book instruments, in symbol order; bookFromJsonValue accepts them. */
  instruments: InstrumentJson[];
  /** Left out by --skip-unsupported, in symbol order. */
  skipped: SkippedInstrument[];
}

/** The instruments file: version, venue and the book instruments (docs/venues.md). */
export interface InstrumentsFile {
  version: number;
  venue: VenueName;
  instruments: InstrumentJson[];
}

/**
 * Turns a venue's files into book instruments. Throws InputError, one line naming the file, the
 * instrument and the field, for a file that is none of the venue's, a kind no file is, malformed or
 * unexpected input, a maintenance amount that differs from the engine's, and (without
 * skipUnsupported) an instrument the book cannot hold.
 */
export function importInstruments(adapter: VenueAdapter, files: readonly VenueFile[], options: ImportOptions): ImportResult {
  const byKind = new Map<string, VenueFile[]>(adapter.kinds.map((kind) => [kind.id, []]));
  for (const file of files) {
    const refusal = adapter.errorResponse(file.value);
    if (refusal !== null) throw new InputError(`${file.file}: is an error response from ${adapter.venue}, not data: ${refusal}`);
    const kind = adapter.kinds.find((candidate) => candidate.matches(file.value));
    if (kind === undefined) {
      const kinds = adapter.kinds.map((k) => `${k.endpoint} (${k.shape})`).join('; ');
      throw new InputError(`${file.file}: is not recognised as one of the ${adapter.venue} responses the instruments are imported from: ${kinds}`);
    }
    byKind.get(kind.id)!.push(file);
  }
  for (const kind of adapter.kinds) {
    if (byKind.get(kind.id)!.length === 0) {
      const given = files.map((file) => file.file).join(', ');
      throw new InputError(`${adapter.venue} needs the response of ${kind.endpoint} too (${kind.shape}); none of the files is one: ${given}`);
    }
  }

  const candidates = adapter.convert(byKind);
  const seen = new Map<string, Candidate>();
  for (const candidate of candidates) {
    const earlier = seen.get(candidate.symbol);
    if (earlier !== undefined) candidate.at.fail(`the symbol ${quote(candidate.symbol)} again; ${earlier.at.file}: ${earlier.at.path} has it already`);
    seen.set(candidate.symbol, candidate);
  }
  // In the venue's listing order (majors first on every venue here, as they listed first): what
  // `liq gen --instruments-file` ranks the instruments by.

  const instruments: InstrumentJson[] = [];
  const skipped: SkippedInstrument[] = [];
  for (const candidate of candidates) {
    const loaded = loadInstrument(candidate.instrument);
    if (!(loaded instanceof BookError)) {
      checkAmounts(candidate, loaded);
      instruments.push(candidate.instrument);
      continue;
    }
    const refusal = loaderReason(loaded);
    if (!options.skipUnsupported) candidate.at.fail(`the book's loader refuses this instrument: ${refusal} (--skip-unsupported leaves such instruments out)`);
    skipped.push({ symbol: candidate.symbol, reason: refusal });
  }
  // The whole list, as a book would hold it (its size, its symbols), by the loader too.
  try {
    bookFromJsonValue({ version: BOOK_JSON_VERSION, instruments, accounts: [] });
  } catch (error) {
    if (error instanceof BookError) throw new InputError(`the imported instruments do not load as a book: ${error.message}`);
    throw error;
  }
  return { venue: adapter.venue, instruments, skipped };
}

/** The instrument as the book's loader reads it, or the BookError it refuses it with. */
function loadInstrument(instrument: InstrumentJson): Instrument | BookError {
  try {
    return bookFromJsonValue({ version: BOOK_JSON_VERSION, instruments: [instrument], accounts: [] }).instruments[0];
  } catch (error) {
    if (error instanceof BookError) return error;
    throw error;
  }
}

/** The loader's reason with its field, without its `instruments[0] (SYMBOL)` prefix. */
function loaderReason(error: BookError): string {
  const path = error.path.replace(/^instruments\[0\]( \([^)]*\))?( |$)/, '');
  return path === '' ? error.reason : `${path}: ${error.reason}`;
}

/**
 * Each venue amount against the engine's maintenance amount for that bracket, from the engine's
 * own tier rows (src/memory/tiers.ts: cumX_k = cumX_{k−1} + floor_k·(r_k − r_{k−1}), micro·ppm).
 */
function checkAmounts(candidate: Candidate, loaded: Instrument): void {
  if (candidate.amounts === undefined || candidate.amounts.length === 0) return;
  const rows = tierRows(loaded);
  for (const amount of candidate.amounts) {
    const derived = rows[amount.tier].cumX;
    if (toScaled(amount.value, AMOUNT_DECIMALS) !== derived) {
      amount.at.fail(
        `${decimalText(amount.value)} differs from the maintenance amount the engine derives for ${amount.bracket} of ${candidate.symbol}, ` +
          `${formatScaled(derived, AMOUNT_DECIMALS)} (cum_k = cum_k−1 + floor_k × (rate_k − rate_k−1), docs/domain.md section 3)`,
      );
    }
  }
}

/**
 * The instruments file's text: JSON laid out as the book examples are, one instrument's fields on
 * a line and one tier a line, then a newline. JSON.parse of it is the InstrumentsFile.
 */
export function instrumentsFileText(result: ImportResult): string {
  const document: InstrumentsFile = { version: INSTRUMENTS_FILE_VERSION, venue: result.venue, instruments: result.instruments };
  const json = JSON.stringify;
  const instruments = document.instruments.map((instrument) => {
    const head = (['symbol', 'tickSize', 'lotSize', 'markPrice', 'fundingIndex'] as const).map((key) => `${json(key)}: ${json(instrument[key])}`);
    const tiers = instrument.tiers.map(
      (tier) => `        { "upToNotional": ${json(tier.upToNotional)}, "maintenanceRate": ${json(tier.maintenanceRate)}, "maxLeverage": ${json(tier.maxLeverage)} }`,
    );
    return `    { ${head.join(', ')},\n      "tiers": [\n${tiers.join(',\n')}\n      ] }`;
  });
  const list = instruments.length === 0 ? '[]' : `[\n${instruments.join(',\n')}\n  ]`;
  return `{\n  "version": ${json(document.version)},\n  "venue": ${json(document.venue)},\n  "instruments": ${list}\n}\n`;
}

/** The one line that names what --skip-unsupported left out (the first SKIPPED_NAMED_MAX). */
export function skippedText(skipped: readonly SkippedInstrument[]): string {
  const named = skipped.slice(0, SKIPPED_NAMED_MAX).map((item) => `${item.symbol} (${item.reason})`);
  const more = skipped.length > SKIPPED_NAMED_MAX ? `, and ${skipped.length - SKIPPED_NAMED_MAX} more` : '';
  const count = `${skipped.length} instrument${skipped.length === 1 ? '' : 's'}`;
  return `left out ${count} the book cannot hold (--skip-unsupported): ${named.join('; ')}${more}`;
}
