// Book JSON (docs/book-json.md) <-> Book in integer units (docs/numbers.md).
//
// Reading validates the whole document and either returns a new Book or throws the first
// BookError found, in document order: the top-level keys, then the instruments in array order,
// then the accounts in array order; within one object, unknown keys first, then its fields in the
// order docs/book-json.md lists them. Nothing is rounded but one thing: a value that does not fit
// its unit exactly is refused, except the cost basis size × entryPrice of an instrument finer than
// a micro (pd + sd > 6), which is rounded up to a micro as docs/numbers.md says. A JSON number
// never carries money (only `version` is a JSON number).

import { characterName } from '../io/one-line.js';
import {
  ACCOUNT_ID_LENGTH_MAX,
  FUNDING_EXTRA_DECIMALS,
  FUNDING_EXTRA_SCALE,
  FUNDING_INDEX_ABS_MAX,
  INSTRUMENTS_MAX,
  LEVERAGE_MAX,
  POSITIONS_PER_ACCOUNT_MAX,
  PRICE_PLUS_SIZE_DECIMALS_MAX,
  PRICE_UNITS_MAX,
  QUOTE_ABS_MAX,
  QUOTE_DECIMALS,
  RATE_DECIMALS,
  RATE_SCALE,
  SYMBOL_LENGTH_MAX,
  TIERS_MAX,
  UNIT_PRODUCT_MAX,
  type ModeName,
} from '../fixed/constants.js';
import { formatScaled, splitDecimal } from '../fixed/decimal.js';
import { abs, divCeil, divFloor } from '../fixed/rounding.js';
import { BookError } from './errors.js';
import { findJsonSyntaxError } from './json-syntax.js';
import { bracketOf, dustShort, leverageCap } from './ranges.js';
import { fundingDecimals, quotePerUnit, valueDivisor, type Account, type Book, type Instrument, type Position, type Tier } from './model.js';
import { field, isPlainObject, quote, type JsonObject, describeJson as describe } from '../io/json-object.js';

/** The format version this module reads and writes. An absent `version` means 1. */
export const BOOK_JSON_VERSION = 1;

/**
 * An entry price may have more decimals than the instrument's prices (it only sets the cost basis,
 * which must come out a whole number of micro), but no more than this many significant decimals.
 * The writer uses the same bound, so every book the reader accepts can be written back.
 */
export const ENTRY_PRICE_DECIMALS_MAX = 18;

/**
 * Funding indexes (instrument and position) stay within ±10^18 units of 10^-fundingDecimals quote
 * per base (pd + 6 decimals, 12 − sd when pd + sd > 6: src/book/model.ts fundingDecimals),
 * so both they and their difference fit a signed 64-bit word (the kernel subtracts them in i64).
 * docs/numbers.md gives no range for the index itself; this is the loader's bound.
 */

/** A decimal string longer than this is refused before any arithmetic (no value needs more). */
export const DECIMAL_TEXT_LENGTH_MAX = 64;

// ---------------------------------------------------------------------------------------------
// The JSON shape (what a person writes; what bookToJsonValue returns).

export interface TierJson {
  upToNotional: string | null;
  maintenanceRate: string;
  maxLeverage: string;
}

export interface InstrumentJson {
  symbol: string;
  tickSize: string;
  lotSize: string;
  markPrice: string;
  fundingIndex: string;
  tiers: TierJson[];
}

export interface PositionJson {
  instrument: string;
  size: string;
  entryPrice: string;
  mode: ModeName;
  margin?: string;
  leverage?: string;
  fundingIndex?: string;
}

export interface AccountJson {
  id: string;
  balance: string;
  positions: PositionJson[];
}

export interface BookJson {
  version?: number;
  instruments: InstrumentJson[];
  accounts: AccountJson[];
}

const BOOK_KEYS = ['version', 'instruments', 'accounts'] as const;
const INSTRUMENT_KEYS = ['symbol', 'tickSize', 'lotSize', 'markPrice', 'fundingIndex', 'tiers'] as const;
const TIER_KEYS = ['upToNotional', 'maintenanceRate', 'maxLeverage'] as const;
const ACCOUNT_KEYS = ['id', 'balance', 'positions'] as const;
const POSITION_KEYS = [
  'instrument',
  'size',
  'entryPrice',
  'mode',
  'margin',
  'leverage',
  'fundingIndex',
] as const;

const QUOTE_RANGE_TEXT = `±${formatScaled(QUOTE_ABS_MAX, QUOTE_DECIMALS)}`;

// ---------------------------------------------------------------------------------------------
// Reading

/** Options of parseBookJson. */
export interface ParseBookJsonOptions {
  /**
   * Refuse a document whose `accounts` array is longer than this, before any account is read (the
   * command line's JSON_BOOK_ACCOUNTS_MAX, src/io/input.ts). Default: no limit.
   */
  accountsMax?: number;
}

/**
 * Parses and validates a book JSON document. Throws BookError: path `book` for a syntax error,
 * whose reason is `is not valid JSON: line L, column C: what` (one line, printable ASCII; the
 * scanner of json-syntax.ts finds it, and runs only once JSON.parse has refused the text).
 */
export function parseBookJson(text: string, options: ParseBookJsonOptions = {}): Book {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new BookError('book', `is not valid JSON: ${syntaxErrorText(text)}`);
  }
  const accountsMax = options.accountsMax;
  if (accountsMax !== undefined && isPlainObject(value)) {
    const accounts = field(value, 'accounts');
    if (Array.isArray(accounts) && accounts.length > accountsMax) {
      fail(
        'accounts',
        `has ${accounts.length.toLocaleString('en-US')} accounts; a JSON book may have at most ` +
          `${accountsMax.toLocaleString('en-US')}: use the binary format for larger books ` +
          '(liq gen writes it; docs/book-binary.md)',
      );
    }
  }
  return bookFromJsonValue(value);
}

/** "line L, column C: what" for a text JSON.parse refused. */
function syntaxErrorText(text: string): string {
  const found = findJsonSyntaxError(text);
  // The scanner accepts exactly what JSON.parse accepts (test/book/json-syntax.test.ts); should
  // they ever disagree, say so without V8's message, which quotes the text.
  if (found === null) return 'JSON.parse refused it, but the syntax scanner found no error';
  return `line ${found.line}, column ${found.column}: ${found.what}`;
}

/**
 * Validates a parsed book JSON value and converts it to integer units. Pure: returns a new Book or
 * throws the first BookError in document order.
 */
export function bookFromJsonValue(value: unknown): Book {
  const root = readObject(value, '', BOOK_KEYS);
  readVersion(field(root, 'version'));

  const instrumentValues = readArray(required(root, '', 'instruments'), 'instruments', 'instruments', INSTRUMENTS_MAX);
  const instruments: Instrument[] = [];
  const symbolIndex = new Map<string, number>();
  for (let i = 0; i < instrumentValues.length; i++) {
    const instrument = readInstrument(instrumentValues[i], `instruments[${i}]`, symbolIndex);
    symbolIndex.set(instrument.symbol, i);
    instruments.push(instrument);
  }

  const accountValues = readArray(required(root, '', 'accounts'), 'accounts', 'accounts', Number.MAX_SAFE_INTEGER);
  const accounts: Account[] = [];
  const idIndex = new Map<string, number>();
  for (let i = 0; i < accountValues.length; i++) {
    const account = readAccount(accountValues[i], `accounts[${i}]`, idIndex, instruments, symbolIndex);
    idIndex.set(account.id, i);
    accounts.push(account);
  }

  return { instruments, accounts };
}

function readVersion(value: unknown): void {
  if (value === undefined || value === BOOK_JSON_VERSION) return;
  if (typeof value === 'number' && Number.isInteger(value)) {
    fail('version', `${value} is not supported; this loader reads version ${BOOK_JSON_VERSION} (or omit the field)`);
  }
  fail('version', `must be the JSON number ${BOOK_JSON_VERSION}, got ${describe(value)}`);
}

// --- instruments --------------------------------------------------------------------------

function readInstrument(value: unknown, base: string, symbolIndex: Map<string, number>): Instrument {
  const label = nameLabel(peek(value, 'symbol'), SYMBOL_LENGTH_MAX);
  const object = readObject(value, base, INSTRUMENT_KEYS, label);
  const path = base + label;

  const symbol = readName(required(object, base, 'symbol'), child(base, 'symbol'), SYMBOL_LENGTH_MAX);
  const earlier = symbolIndex.get(symbol);
  if (earlier !== undefined) {
    fail(child(path, 'symbol'), `duplicate symbol ${quote(symbol)}; instruments[${earlier}] has it`);
  }

  const tickPath = child(path, 'tickSize');
  const tick = readDecimal(required(object, path, 'tickSize'), tickPath);
  if (tick.negative || tick.digits === 0n) fail(tickPath, `must be above 0, got ${quote(tick.text)}`);
  if (tick.decimals > PRICE_PLUS_SIZE_DECIMALS_MAX) {
    fail(tickPath, `${quote(tick.text)} has ${tick.decimals} decimals; at most ${PRICE_PLUS_SIZE_DECIMALS_MAX}`);
  }
  if (tick.digits > PRICE_UNITS_MAX) {
    fail(tickPath, `${quote(tick.text)} is above the largest price, ${formatScaled(PRICE_UNITS_MAX, tick.decimals)}`);
  }
  const priceDecimals = tick.decimals;

  const lotPath = child(path, 'lotSize');
  const lot = readDecimal(required(object, path, 'lotSize'), lotPath);
  if (lot.negative || lot.digits === 0n) fail(lotPath, `must be above 0, got ${quote(lot.text)}`);
  if (priceDecimals + lot.decimals > PRICE_PLUS_SIZE_DECIMALS_MAX) {
    fail(
      lotPath,
      `${quote(lot.text)} has ${lot.decimals} decimals and tickSize ${quote(tick.text)} ${priceDecimals}; together they may ` +
        `have at most ${PRICE_PLUS_SIZE_DECIMALS_MAX}`,
    );
  }
  if (lot.digits > QUOTE_ABS_MAX) {
    fail(lotPath, `${quote(lot.text)} is too large: a position of one lot would exceed the notional range`);
  }
  const sizeDecimals = lot.decimals;

  const markPath = child(path, 'markPrice');
  const markUnits = readUnits(
    required(object, path, 'markPrice'),
    markPath,
    priceDecimals,
    `prices of ${symbol} (the decimals of its tickSize ${quote(tick.text)})`,
  );
  checkPrice(markUnits, markPath, priceDecimals);

  const fundingIndex = readFundingIndex(required(object, path, 'fundingIndex'), child(path, 'fundingIndex'), { priceDecimals, sizeDecimals }, symbol);

  const tiersPath = child(path, 'tiers');
  const tierValues = readArray(required(object, path, 'tiers'), tiersPath, 'tiers', TIERS_MAX);
  if (tierValues.length === 0) fail(tiersPath, 'must have at least 1 tier');
  const tiers: Tier[] = [];
  for (let k = 0; k < tierValues.length; k++) {
    tiers.push(readTier(tierValues[k], `${tiersPath}[${k}]`, k, tierValues.length, tiers[k - 1]));
  }

  return {
    symbol,
    priceDecimals,
    sizeDecimals,
    tickUnits: tick.digits,
    lotUnits: lot.digits,
    markUnits,
    fundingIndex,
    tiers,
  };
}

function readTier(value: unknown, path: string, k: number, count: number, previous: Tier | undefined): Tier {
  const object = readObject(value, path, TIER_KEYS);
  const last = k === count - 1;

  const upPath = child(path, 'upToNotional');
  const upValue = required(object, path, 'upToNotional');
  let upToNotional: bigint | null = null;
  if (upValue === null) {
    if (!last) fail(upPath, `is null, but only the last tier may be unbounded (this is tier ${k} of ${count})`);
  } else {
    if (last) fail(upPath, `the last tier must be unbounded: write null, got ${describe(upValue)}`);
    upToNotional = readUnits(upValue, upPath, QUOTE_DECIMALS, 'quote amounts (micro)');
    if (upToNotional <= 0n) fail(upPath, `must be above 0, got ${quote(upValue as string)}`);
    if (upToNotional > QUOTE_ABS_MAX) {
      fail(upPath, `${quote(upValue as string)} is above the largest notional, ${formatScaled(QUOTE_ABS_MAX, QUOTE_DECIMALS)}`);
    }
    const previousUp = previous?.upToNotional;
    if (previousUp != null && upToNotional <= previousUp) {
      fail(
        upPath,
        `must be above the previous tier's upToNotional ${formatScaled(previousUp, QUOTE_DECIMALS)} ` +
          `(strictly increasing), got ${quote(upValue as string)}`,
      );
    }
  }

  const ratePath = child(path, 'maintenanceRate');
  const rateValue = required(object, path, 'maintenanceRate');
  const ratePpm = readUnits(rateValue, ratePath, RATE_DECIMALS, 'rates (ppm)');
  if (ratePpm <= 0n || ratePpm >= RATE_SCALE) {
    fail(ratePath, `must be above 0 and below 1 (100%), got ${quote(rateValue as string)}`);
  }
  if (previous !== undefined && ratePpm < previous.ratePpm) {
    fail(
      ratePath,
      `must not be below the previous tier's rate ${formatScaled(previous.ratePpm, RATE_DECIMALS)} ` +
        `(non-decreasing), got ${quote(rateValue as string)}`,
    );
  }

  const leverageMax = readWhole(required(object, path, 'maxLeverage'), child(path, 'maxLeverage'), 1, LEVERAGE_MAX);
  return { upToNotional, ratePpm, leverageMax };
}

// --- accounts -------------------------------------------------------------------------------

function readAccount(
  value: unknown,
  base: string,
  idIndex: Map<string, number>,
  instruments: Instrument[],
  symbolIndex: Map<string, number>,
): Account {
  const label = nameLabel(peek(value, 'id'), ACCOUNT_ID_LENGTH_MAX);
  const object = readObject(value, base, ACCOUNT_KEYS, label);
  const path = base + label;

  const id = readName(required(object, base, 'id'), child(base, 'id'), ACCOUNT_ID_LENGTH_MAX);
  const earlier = idIndex.get(id);
  if (earlier !== undefined) fail(child(path, 'id'), `duplicate account id ${quote(id)}; accounts[${earlier}] has it`);

  const balanceMicro = readQuote(required(object, path, 'balance'), child(path, 'balance'), true);

  const positionsPath = child(path, 'positions');
  const positionValues = readArray(required(object, path, 'positions'), positionsPath, 'positions', POSITIONS_PER_ACCOUNT_MAX);
  const positions: Position[] = [];
  const seen = new Map<string, number>(); // "instrument:mode" -> position index
  for (let j = 0; j < positionValues.length; j++) {
    positions.push(readPosition(positionValues[j], `${positionsPath}[${j}]`, instruments, symbolIndex, seen, j));
  }

  return { id, balanceMicro, positions };
}

function readPosition(
  value: unknown,
  base: string,
  instruments: Instrument[],
  symbolIndex: Map<string, number>,
  seen: Map<string, number>,
  j: number,
): Position {
  const peeked = peek(value, 'instrument');
  const object = readObject(value, base, POSITION_KEYS, typeof peeked === 'string' && symbolIndex.has(peeked) ? ` (${peeked})` : '');

  const instrumentPath = child(base, 'instrument');
  const symbol = required(object, base, 'instrument');
  if (typeof symbol !== 'string') fail(instrumentPath, `must be an instrument symbol string, got ${describe(symbol)}`);
  const index = symbolIndex.get(symbol);
  if (index === undefined) fail(instrumentPath, `unknown instrument ${quote(symbol)}; ${knownSymbols(instruments)}`);
  const instrument = instruments[index];
  const path = `${base} (${symbol})`;
  const { priceDecimals: pd, sizeDecimals: sd } = instrument;
  const q = quotePerUnit(instrument);
  const d = valueDivisor(instrument);

  // size: a whole number of lots whose notional at the mark is in range
  const sizePath = child(path, 'size');
  const sizeValue = required(object, path, 'size');
  const sizeUnits = readUnits(sizeValue, sizePath, sd, `sizes of ${symbol} (the decimals of its lotSize)`);
  if (sizeUnits % instrument.lotUnits !== 0n) {
    fail(sizePath, `${quote(sizeValue as string)} is not a whole number of lots of ${formatScaled(instrument.lotUnits, sd)}`);
  }
  // |z|·q·p; the notional itself when d = 1. Otherwise the value floor(z·q·p / d) is rounded toward
  // −∞ (docs/numbers.md, "Instruments finer than a micro") and the notional is its magnitude.
  const unitProduct = abs(sizeUnits) * q * instrument.markUnits;
  const notional = d === 1n ? unitProduct : abs(divFloor(sizeUnits * q * instrument.markUnits, d));
  if (notional > QUOTE_ABS_MAX) {
    fail(
      sizePath,
      (d === 1n
        ? `notional at the mark, |size| × markPrice = ${formatScaled(notional, QUOTE_DECIMALS)}`
        : `notional at the mark, |size × markPrice| rounded against the account to a micro = ${formatScaled(notional, QUOTE_DECIMALS)}`) +
        `, is above the largest, ${formatScaled(QUOTE_ABS_MAX, QUOTE_DECIMALS)}`,
    );
  }
  if (d > 1n && unitProduct > UNIT_PRODUCT_MAX) {
    fail(
      sizePath,
      `|size| × markPrice = ${formatScaled(unitProduct, pd + sd)} is ${unitProduct} units of 10^-${pd + sd} quote, above ` +
        `${UNIT_PRODUCT_MAX} (10^18): the largest product the value of a position of ${symbol} (finer than a micro) is divided from`,
    );
  }

  const costMicro = readCostBasis(required(object, path, 'entryPrice'), child(path, 'entryPrice'), sizeUnits, instrument);

  // mode, and at most one position per (instrument, mode)
  const modePath = child(path, 'mode');
  const mode = required(object, path, 'mode');
  if (mode !== 'cross' && mode !== 'isolated') fail(modePath, `must be "cross" or "isolated", got ${describe(mode)}`);
  const key = `${index}:${mode}`;
  const other = seen.get(key);
  if (other !== undefined) {
    fail(modePath, `a second ${mode} position in ${symbol}; positions[${other}] is one (at most one per instrument and mode)`);
  }
  seen.set(key, j);

  // margin: required for isolated, forbidden for cross
  const marginPath = child(path, 'margin');
  const marginValue = field(object, 'margin');
  let marginMicro = 0n;
  if (mode === 'isolated') {
    if (marginValue === undefined) fail(marginPath, 'is missing; an isolated position needs its margin');
    marginMicro = readQuote(marginValue, marginPath, false);
  } else if (marginValue !== undefined) {
    fail(marginPath, 'is not allowed on a cross position (cross positions use the account balance); remove it or make the position isolated');
  }

  // leverage: by default the max leverage of the bracket holding the notional at the mark; a given
  // one may be up to the instrument's largest (ranges.leverageCap says why not the bracket's).
  const leveragePath = child(path, 'leverage');
  const leverageValue = field(object, 'leverage');
  let leverage = instrument.tiers[bracketOf(instrument.tiers, notional)].leverageMax;
  if (leverageValue !== undefined) {
    leverage = readWhole(leverageValue, leveragePath, 1, LEVERAGE_MAX);
    const cap = leverageCap(instrument.tiers);
    if (leverage > cap) fail(leveragePath, `${quote(leverageValue as string)} is above ${cap}, the instrument's largest maxLeverage`);
  }

  // fundingIndex: defaults to the instrument's; the funding owed must stay in range
  const fundingPath = child(path, 'fundingIndex');
  const fundingValue = field(object, 'fundingIndex');
  let fundingIndex = instrument.fundingIndex;
  if (fundingValue !== undefined) {
    fundingIndex = readFundingIndex(fundingValue, fundingPath, instrument, symbol);
    const owed = divCeil(sizeUnits * q * (instrument.fundingIndex - fundingIndex), FUNDING_EXTRA_SCALE);
    if (abs(owed) > QUOTE_ABS_MAX) {
      fail(
        fundingPath,
        `funding owed, size × (instrument index − this index) = ${formatScaled(owed, QUOTE_DECIMALS)}, is beyond ${QUOTE_RANGE_TEXT}`,
      );
    }
  }

  return { instrument: index, sizeUnits, costMicro, mode, marginMicro, leverage, fundingIndex };
}

/**
 * The cost basis size × entryPrice in micro, computed from the decimal digits. The entry price may
 * have more decimals than the instrument's prices. For pd + sd ≤ 6 the product must be a whole
 * number of micro; for an instrument finer than a micro (pd + sd > 6) it is rounded up to a micro,
 * toward +∞ for a long and a short (a higher cost basis is a lower PnL: docs/numbers.md,
 * "Instruments finer than a micro"), and its entry price |c|·d / (|z|·q) must be in range.
 */
function readCostBasis(value: unknown, path: string, sizeUnits: bigint, instrument: Instrument): bigint {
  const { priceDecimals: pd, sizeDecimals: sd } = instrument;
  const entry = readDecimal(value, path);
  if (entry.negative || entry.digits === 0n) fail(path, `must be above 0, got ${quote(entry.text)}`);
  if (entry.decimals > ENTRY_PRICE_DECIMALS_MAX) {
    fail(path, `${quote(entry.text)} has ${entry.decimals} decimals; entry prices allow at most ${ENTRY_PRICE_DECIMALS_MAX}`);
  }
  // In price units the entry is digits·10^(pd − decimals); it may not exceed PRICE_UNITS_MAX.
  if (entry.digits * 10n ** BigInt(pd) > PRICE_UNITS_MAX * 10n ** BigInt(entry.decimals)) {
    fail(path, `${quote(entry.text)} is above the largest price, ${formatScaled(PRICE_UNITS_MAX, pd)}`);
  }
  // size × entry = sizeUnits·digits at 10^-(sd + decimals) quote.
  const product = sizeUnits * entry.digits;
  const productDecimals = sd + entry.decimals;
  let costMicro: bigint;
  if (productDecimals <= QUOTE_DECIMALS) {
    costMicro = product * 10n ** BigInt(QUOTE_DECIMALS - productDecimals);
  } else {
    const divisor = 10n ** BigInt(productDecimals - QUOTE_DECIMALS);
    if (pd + sd <= QUOTE_DECIMALS) {
      if (product % divisor !== 0n) {
        fail(
          path,
          `${quote(entry.text)} is over-precise: the cost basis size × entryPrice = ${formatScaled(product, productDecimals)} ` +
            `is not a whole number of micro (${QUOTE_DECIMALS} decimals)`,
        );
      }
      costMicro = product / divisor; // exact
    } else {
      // Toward +∞: rounded against the account. A short of less than a micro rounds up to 0, which
      // src/book/ranges.ts checkPosition accepts for an instrument finer than a micro (dustShort).
      costMicro = divCeil(product, divisor);
    }
  }
  if (abs(costMicro) > QUOTE_ABS_MAX) {
    fail(path, `the cost basis size × entryPrice = ${formatScaled(costMicro, QUOTE_DECIMALS)} is beyond ${QUOTE_RANGE_TEXT}`);
  }
  // The cost basis's own entry price |c|·d / (|z|·q) (the one the engine sees) is at most
  // PRICE_UNITS_MAX. The entry read is, and rounding up cannot carry it past: |z|·10^15 price units
  // is a whole number of micro times d. Checked all the same, as the binary loader checks it.
  const d = valueDivisor(instrument);
  if (d > 1n && sizeUnits !== 0n && abs(costMicro) * d > abs(sizeUnits) * quotePerUnit(instrument) * PRICE_UNITS_MAX) {
    fail(
      path,
      `the cost basis size × entryPrice = ${formatScaled(costMicro, QUOTE_DECIMALS)} gives an entry price above the largest price, ` +
        formatScaled(PRICE_UNITS_MAX, pd),
    );
  }
  return costMicro;
}

// --- values ---------------------------------------------------------------------------------

function readQuote(value: unknown, path: string, negativeAllowed: boolean): bigint {
  const micro = readUnits(value, path, QUOTE_DECIMALS, 'quote amounts (micro)');
  if (!negativeAllowed && micro < 0n) fail(path, `must not be negative, got ${quote(value as string)}`);
  if (abs(micro) > QUOTE_ABS_MAX) fail(path, `${quote(value as string)} is beyond ${QUOTE_RANGE_TEXT}`);
  return micro;
}

/**
 * A funding index of the instrument, in units of 10^-fundingDecimals quote per base: its price
 * decimals + 6, or 12 − its size decimals when pd + sd > 6 (src/book/model.ts), so that one size
 * unit times one index unit is q·10^-6 micro for every instrument.
 */
function readFundingIndex(
  value: unknown,
  path: string,
  decimalsOf: Pick<Instrument, 'priceDecimals' | 'sizeDecimals'>,
  symbol: string,
): bigint {
  const decimals = fundingDecimals(decimalsOf);
  const finer = decimalsOf.priceDecimals + decimalsOf.sizeDecimals > QUOTE_DECIMALS;
  const unit = finer
    ? `funding indexes of ${symbol} (12 − its size decimals, its price and size decimals having more than ${QUOTE_DECIMALS} together)`
    : `funding indexes of ${symbol} (its price decimals + ${FUNDING_EXTRA_DECIMALS})`;
  const index = readUnits(value, path, decimals, unit);
  if (abs(index) > FUNDING_INDEX_ABS_MAX) {
    fail(path, `${quote(value as string)} is beyond ±${formatScaled(FUNDING_INDEX_ABS_MAX, decimals)}`);
  }
  return index;
}

function checkPrice(units: bigint, path: string, priceDecimals: number): void {
  if (units <= 0n) fail(path, `must be above 0, got ${quote(formatScaled(units, priceDecimals))}`);
  if (units > PRICE_UNITS_MAX) {
    fail(path, `${quote(formatScaled(units, priceDecimals))} is above the largest price, ${formatScaled(PRICE_UNITS_MAX, priceDecimals)}`);
  }
}

interface Decimal {
  text: string;
  negative: boolean;
  /** Magnitude of all significant digits (fraction without trailing zeros). */
  digits: bigint;
  /** Significant decimals: "0.10" has 1. */
  decimals: number;
}

function readDecimal(value: unknown, path: string, kind = 'a decimal string'): Decimal {
  if (typeof value !== 'string') {
    const hint = typeof value === 'number' ? ' (write decimals as strings)' : '';
    fail(path, `must be ${kind}, got ${describe(value)}${hint}`);
  }
  if (value.length > DECIMAL_TEXT_LENGTH_MAX) {
    fail(path, `${quote(value)} is longer than ${DECIMAL_TEXT_LENGTH_MAX} characters`);
  }
  const parts = splitDecimal(value);
  if (parts === null) {
    fail(path, `${quote(value)} is not a decimal number (digits, an optional leading "-" and "." fraction, e.g. "-12.5")`);
  }
  let { digits, fractionDigits } = parts;
  while (fractionDigits > 0 && digits % 10n === 0n) {
    digits /= 10n;
    fractionDigits -= 1;
  }
  return { text: value, negative: parts.negative && digits !== 0n, digits, decimals: fractionDigits };
}

/** A decimal in units of 10^-decimals; more significant decimals than that are refused. */
function readUnits(value: unknown, path: string, decimals: number, unit: string): bigint {
  const decimal = readDecimal(value, path);
  if (decimal.decimals > decimals) {
    fail(path, `${quote(decimal.text)} has ${decimal.decimals} decimals; ${unit} allow at most ${decimals}`);
  }
  const magnitude = decimal.digits * 10n ** BigInt(decimals - decimal.decimals);
  return decimal.negative ? -magnitude : magnitude;
}

function readWhole(value: unknown, path: string, min: number, max: number): number {
  const decimal = readDecimal(value, path, 'a whole-number string');
  if (decimal.negative || decimal.decimals > 0 || decimal.digits < BigInt(min) || decimal.digits > BigInt(max)) {
    fail(path, `must be a whole number from ${min} to ${max}, got ${quote(decimal.text)}`);
  }
  return Number(decimal.digits);
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/u;

function readName(value: unknown, path: string, lengthMax: number): string {
  if (typeof value !== 'string') fail(path, `must be a string, got ${describe(value)}`);
  if (value.length === 0) fail(path, 'must not be empty');
  if (value.length > lengthMax) fail(path, `${quote(value)} is ${value.length} characters long; at most ${lengthMax}`);
  if (!PRINTABLE_ASCII.test(value)) {
    const at = [...value].findIndex((character) => !PRINTABLE_ASCII.test(character));
    const code = [...value][at].codePointAt(0)!;
    fail(path, `${quote(value)} must be printable ASCII (no control or non-ASCII characters): character ${at + 1} is ${characterName(code)}`);
  }
  return value;
}

function isName(value: unknown, lengthMax: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= lengthMax && PRINTABLE_ASCII.test(value);
}

/** " (alice)" when the value is a well-formed name, so paths say which account or instrument. */
function nameLabel(value: unknown, lengthMax: number): string {
  return isName(value, lengthMax) ? ` (${value})` : '';
}

function knownSymbols(instruments: Instrument[]): string {
  if (instruments.length === 0) return 'the book has no instruments';
  const shown = instruments.slice(0, 5).map((instrument) => instrument.symbol);
  return `the book's instruments are ${shown.join(', ')}${instruments.length > 5 ? ', ...' : ''}`;
}

// --- objects and arrays ---------------------------------------------------------------------


/**
 * Checks `value` is an object with only the allowed keys. `label` (" (alice)") is added to the
 * path of key errors when the object's name is already readable.
 */
function readObject(value: unknown, path: string, allowed: readonly string[], label = ''): JsonObject {
  if (!isPlainObject(value)) fail(path === '' ? 'book' : path, `must be an object, got ${describe(value)}`);
  const keyBase = path + label;
  for (const key of Object.keys(value)) {
    if (key === '__proto__' || key === 'constructor') {
      fail(child(keyBase, keyName(key)), `the key ${quote(key)} is not allowed`);
    }
    if (!allowed.includes(key)) {
      const lower = key.toLowerCase();
      const near = allowed.find((candidate) => candidate.toLowerCase() === lower);
      const hint = near !== undefined ? `did you mean "${near}"? ` : '';
      fail(child(keyBase, keyName(key)), `unknown key; ${hint}allowed keys are ${allowed.join(', ')}`);
    }
  }
  return value;
}

function readArray(value: unknown, path: string, what: string, lengthMax: number): unknown[] {
  if (!Array.isArray(value)) fail(path, `must be an array, got ${describe(value)}`);
  if (value.length > lengthMax) fail(path, `has ${value.length} ${what}; at most ${lengthMax} are allowed`);
  return value;
}


function required(object: JsonObject, path: string, key: string): unknown {
  const value = field(object, key);
  if (value === undefined) fail(child(path, key), 'is missing (required)');
  return value;
}

/** A field of a value not yet known to be an object, for labels only. */
function peek(value: unknown, key: string): unknown {
  return isPlainObject(value) ? field(value, key) : undefined;
}

function child(path: string, key: string): string {
  return path === '' ? key : `${path} ${key}`;
}

function keyName(key: string): string {
  return /^[A-Za-z_$][\w$]{0,39}$/.test(key) ? key : quote(key);
}

function fail(path: string, reason: string): never {
  throw new BookError(path, reason);
}


/** What a JSON value is, for "got ..." in messages. */

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * The book as book JSON (docs/book-json.md): every optional field written out, decimals as
 * exact strings. For every book that bookFromJsonValue accepts, bookFromJsonValue of the result
 * equals it. Throws a BookError for a book the format cannot state exactly (see the docs).
 */
export function bookToJsonValue(book: Book): BookJson {
  return {
    version: BOOK_JSON_VERSION,
    instruments: book.instruments.map((instrument, i) => instrumentToJson(instrument, `instruments[${i}] (${instrument.symbol})`)),
    accounts: book.accounts.map((account, i) => accountToJson(account, `accounts[${i}] (${account.id})`, book.instruments)),
  };
}

function instrumentToJson(instrument: Instrument, path: string): InstrumentJson {
  const { priceDecimals: pd, sizeDecimals: sd } = instrument;
  if (!isDecimalCount(pd) || !isDecimalCount(sd) || pd + sd > PRICE_PLUS_SIZE_DECIMALS_MAX) {
    fail(path, `priceDecimals ${pd} and sizeDecimals ${sd} must be whole numbers with a sum of at most ${PRICE_PLUS_SIZE_DECIMALS_MAX}`);
  }
  return {
    symbol: instrument.symbol,
    tickSize: stepText(instrument.tickUnits, pd, child(path, 'tickSize'), 'priceDecimals'),
    lotSize: stepText(instrument.lotUnits, sd, child(path, 'lotSize'), 'sizeDecimals'),
    markPrice: formatScaled(instrument.markUnits, pd),
    fundingIndex: formatScaled(instrument.fundingIndex, fundingDecimals(instrument)),
    tiers: instrument.tiers.map((tier) => ({
      upToNotional: tier.upToNotional === null ? null : formatScaled(tier.upToNotional, QUOTE_DECIMALS),
      maintenanceRate: formatScaled(tier.ratePpm, RATE_DECIMALS),
      maxLeverage: String(tier.leverageMax),
    })),
  };
}

function isDecimalCount(value: number): boolean {
  return Number.isInteger(value) && value >= 0;
}

/**
 * A tick or lot size. Its significant decimals are what the reader derives the instrument's
 * decimals from, so a step whose last digit is 0 cannot state decimals above 0.
 */
function stepText(units: bigint, decimals: number, path: string, decimalsName: string): string {
  if (units <= 0n) fail(path, `must be above 0, got ${units} units`);
  if (decimals > 0 && units % 10n === 0n) {
    fail(path, `${units} units at ${decimalsName} ${decimals} ends in 0, so the decimals cannot be read back from it`);
  }
  return formatScaled(units, decimals);
}

function accountToJson(account: Account, path: string, instruments: Instrument[]): AccountJson {
  return {
    id: account.id,
    balance: formatScaled(account.balanceMicro, QUOTE_DECIMALS),
    positions: account.positions.map((position, j) => {
      const instrument = instruments[position.instrument];
      if (instrument === undefined) fail(`${path} positions[${j}] instrument`, `no instrument at index ${position.instrument}`);
      return positionToJson(position, `${path} positions[${j}] (${instrument.symbol})`, instrument);
    }),
  };
}

function positionToJson(position: Position, path: string, instrument: Instrument): PositionJson {
  const sd = instrument.sizeDecimals;
  const json: PositionJson = {
    instrument: instrument.symbol,
    size: formatScaled(position.sizeUnits, sd),
    entryPrice: entryPriceText(position, instrument, child(path, 'entryPrice')),
    mode: position.mode,
  };
  if (position.mode === 'isolated') {
    json.margin = formatScaled(position.marginMicro, QUOTE_DECIMALS);
  } else if (position.marginMicro !== 0n) {
    fail(child(path, 'margin'), `a cross position has no margin, got ${formatScaled(position.marginMicro, QUOTE_DECIMALS)}`);
  }
  if (!Number.isSafeInteger(position.leverage)) fail(child(path, 'leverage'), `must be a whole number, got ${position.leverage}`);
  json.leverage = String(position.leverage);
  json.fundingIndex = formatScaled(position.fundingIndex, fundingDecimals(instrument));
  return json;
}

/**
 * The entry price that gives back the cost basis: for pd + sd ≤ 6, exactly costMicro / size, as a
 * decimal of at most ENTRY_PRICE_DECIMALS_MAX decimals. For an instrument finer than a micro the
 * reader rounds size × entryPrice up to a micro, so the shortest decimal (at most
 * ENTRY_PRICE_DECIMALS_MAX decimals) whose product rounds up to exactly the cost basis is written:
 * the entry that was read, for a book the reader produced, or a shorter one with the same cost. A
 * flat position (size 0) has cost basis 0 and any entry price gives it; the mark price is written.
 */
function entryPriceText(position: Position, instrument: Instrument, path: string): string {
  const { sizeUnits, costMicro } = position;
  const { priceDecimals: pd, sizeDecimals: sd } = instrument;
  if (sizeUnits === 0n) {
    if (costMicro !== 0n) fail(path, `a flat position (size 0) must have cost basis 0, got ${formatScaled(costMicro, QUOTE_DECIMALS)}`);
    return formatScaled(instrument.markUnits, pd);
  }
  if (costMicro === 0n ? !dustShort(sizeUnits, instrument) : (costMicro < 0n) !== (sizeUnits < 0n)) {
    fail(path, `cost basis ${formatScaled(costMicro, QUOTE_DECIMALS)} must be non-zero with the sign of the size (entry price above 0)`);
  }
  const numerator = abs(costMicro);
  const denominator = abs(sizeUnits) * 10n ** BigInt(QUOTE_DECIMALS);
  if (instrument.priceDecimals + sd > QUOTE_DECIMALS) {
    // An entry of n·10^-f quote reads back as ceil(z·n·10^6 / S) micro with S = 10^(sd + f) (the
    // reader's rounding, toward +∞). That is c exactly when c − 1 < z·n·10^6/S ≤ c: for a long
    // the largest n at or below c·S/(|z|·10^6), for a short (c < 0) the smallest n at or above
    // |c|·S/(|z|·10^6), whichever f first has one inside. The exact quotient c/z is always inside,
    // so this finds an entry whenever the exact rule would.
    for (let f = 0; f <= ENTRY_PRICE_DECIMALS_MAX; f++) {
      const scale = 10n ** BigInt(sd + f);
      if (sizeUnits > 0n) {
        const n = divFloor(numerator * scale, denominator);
        if (n > 0n && n * denominator > (numerator - 1n) * scale) return formatScaled(n, f);
      } else {
        // At least one unit: a short's cost basis of 0 (less than a micro, rounded up) has an entry above 0 too.
        const least = divCeil(numerator * scale, denominator);
        const n = least > 0n ? least : 1n;
        if (n * denominator < (numerator + 1n) * scale) return formatScaled(n, f);
      }
    }
    fail(
      path,
      `no entry price of at most ${ENTRY_PRICE_DECIMALS_MAX} decimals gives cost basis ${formatScaled(costMicro, QUOTE_DECIMALS)} ` +
        `at size ${formatScaled(sizeUnits, sd)} (size × entryPrice rounded up to a micro)`,
    );
  }
  // entry = cost·10^-6 / (size·10^-sd) quote per base; at f decimals its digits are
  // |cost|·10^(sd + f) / (|size|·10^6) when that division is exact.
  for (let f = 0; f <= ENTRY_PRICE_DECIMALS_MAX; f++) {
    const scaled = numerator * 10n ** BigInt(sd + f);
    if (scaled % denominator === 0n) return formatScaled(scaled / denominator, f);
  }
  fail(
    path,
    `cost basis ${formatScaled(costMicro, QUOTE_DECIMALS)} / size ${formatScaled(sizeUnits, sd)} does not terminate ` +
      `within ${ENTRY_PRICE_DECIMALS_MAX} decimals`,
  );
}
