// Bybit v5, category linear (docs/venues.md, "Bybit"): GET /v5/market/instruments-info (ticks and
// lots), GET /v5/market/risk-limit (the risk limit tiers, with Bybit's maintenance deduction
// `mmDeduction`, checked against the engine's where it is given) and GET /v5/market/tickers (marks).
// Every response is the envelope { retCode, retMsg, result: { category, list, ... } }; the pages of
// a paginated response are given as separate files.
import type { TierJson } from '../../book/json.js';
import { field, isPlainObject, quote } from '../../io/json-object.js';
import {
  At,
  candidateOf,
  compare,
  decimalOf,
  multiply,
  decimalText,
  hasKeys,
  indexBySymbol,
  numberText,
  leverageText,
  type Candidate,
  type Dec,
  type VenueAdapter,
  type VenueAmount,
  type VenueFile,
} from '../import.js';

/** Bybit's contract types: LinearPerpetual is imported, the others left out, any other refused. */
export const BYBIT_CONTRACT_TYPES = ['LinearPerpetual', 'LinearFutures', 'InversePerpetual', 'InverseFutures'] as const;

const INSTRUMENTS_INFO = 'GET /v5/market/instruments-info?category=linear';
const RISK_LIMIT = 'GET /v5/market/risk-limit?category=linear';
const TICKERS = 'GET /v5/market/tickers?category=linear';

/** The first element of `result.list`, for telling the responses apart. */
function firstRow(value: unknown): unknown {
  if (!isPlainObject(value)) return undefined;
  const result = field(value, 'result');
  if (!isPlainObject(result)) return undefined;
  const list = field(result, 'list');
  return Array.isArray(list) ? list[0] : undefined;
}

export const BYBIT: VenueAdapter = {
  venue: 'bybit',
  kinds: [
    {
      id: 'instruments',
      endpoint: INSTRUMENTS_INFO,
      shape: 'result.list of objects with "priceFilter" and "lotSizeFilter"',
      matches: (value) => hasKeys(firstRow(value), 'symbol', 'priceFilter', 'lotSizeFilter'),
    },
    {
      id: 'riskLimit',
      endpoint: RISK_LIMIT,
      shape: 'result.list of objects with "riskLimitValue"',
      matches: (value) => hasKeys(firstRow(value), 'symbol', 'riskLimitValue'),
    },
    {
      id: 'tickers',
      endpoint: TICKERS,
      shape: 'result.list of objects with "markPrice"',
      matches: (value) => hasKeys(firstRow(value), 'symbol', 'markPrice'),
    },
  ],

  errorResponse(value) {
    if (!isPlainObject(value)) return null;
    const code = numberText(field(value, 'retCode'));
    if (code === undefined || code === '0') return null;
    const message = field(value, 'retMsg');
    return `retCode ${code}${typeof message === 'string' ? `: ${quote(message)}` : ''}`;
  },

  convert(files) {
    const tables = riskLimitTables(files.get('riskLimit')!);
    const marks = indexBySymbol(rowsOf(files.get('tickers')!), 'symbol', 'a ticker for');
    const names = (kind: string) => files.get(kind)!.map((file) => file.file).join(', ');
    const candidates: Candidate[] = [];
    for (const row of rowsOf(files.get('instruments')!)) {
      const entry = row.labelledBy('symbol');
      const symbol = entry.required('symbol').string();
      const typeAt = entry.required('contractType');
      const contractType = typeAt.string();
      if (!(BYBIT_CONTRACT_TYPES as readonly string[]).includes(contractType)) {
        typeAt.fail(`unknown contract type ${quote(contractType)}; the known ones are ${BYBIT_CONTRACT_TYPES.join(', ')}`);
      }
      const status = entry.required('status').string();
      if (contractType !== 'LinearPerpetual' || status !== 'Trading') continue;

      const tick = entry.required('priceFilter').required('tickSize').positive('string');
      const lot = entry.required('lotSizeFilter').required('qtyStep').positive('string');
      const table = tables.get(symbol) ?? entry.fail(`no risk limit tiers for ${symbol}: none of the ${RISK_LIMIT} files (${names('riskLimit')}) has it`);
      const markRow = marks.get(symbol) ?? entry.fail(`no mark price for ${symbol}: none of the ${TICKERS} files (${names('tickers')}) has it`);
      const mark = markRow.required('markPrice').positive('string');
      const { tiers, amounts } = riskLimitTiers(table);
      candidates.push(candidateOf(entry, symbol, { tick, lot, mark, tiers, amounts }));
    }
    return candidates;
  },
};

/** Every row of `result.list`, in file order; the envelope's category must be linear. */
function rowsOf(files: VenueFile[]): At[] {
  return files.flatMap((file) => {
    const result = new At(file.file, '', file.value).required('result');
    const category = result.optional('category');
    if (category !== undefined && category.string() !== 'linear') {
      category.fail(`is ${quote(category.string())}; the instruments are imported from category=linear`);
    }
    return result.required('list').array();
  });
}

/** The risk limit rows of each symbol, in order; a symbol's rows must all be in one file. */
function riskLimitTables(files: VenueFile[]): Map<string, At[]> {
  const tables = new Map<string, At[]>();
  for (const row of rowsOf(files)) {
    const entry = row.labelledBy('symbol');
    const symbol = entry.required('symbol').string();
    const rows = tables.get(symbol);
    if (rows === undefined) tables.set(symbol, [entry]);
    else if (rows[0].file !== entry.file) {
      entry.child('symbol').fail(`${quote(symbol)} has risk limit tiers in ${rows[0].file} too; give each symbol's tiers in one file`);
    } else rows.push(entry);
  }
  return tables;
}

/**
 * Tier k from risk limit k: upToNotional = riskLimitValue (null for the last), maintenanceRate =
 * maintenanceMargin, maxLeverage = maxLeverage rounded down to a whole number; the limits must
 * rise. mmDeduction, where it is not empty, is kept for the check against the engine.
 */
/** initialMargin × maxLeverage must lie in [HALF, 2] for the rates to be read as fractions (1 when the leverage is the reciprocal exactly; 66.67× at 0.015 gives 1.00005). */
const HALF = decimalOf(5n, 1);

function riskLimitTiers(rows: At[]): { tiers: TierJson[]; amounts: VenueAmount[] } {
  const tiers: TierJson[] = [];
  const amounts: VenueAmount[] = [];
  let previous: Dec | undefined;
  rows.forEach((row, k) => {
    const limitAt = row.required('riskLimitValue');
    const limit = limitAt.positive('string');
    if (previous !== undefined && compare(limit, previous) <= 0) {
      limitAt.fail(`must be above the previous tier's riskLimitValue ${decimalText(previous)} (tiers rising), got ${decimalText(limit)}`);
    }
    previous = limit;
    // The documentation's table types maintenanceMargin as a number, its example writes a string.
    const rate = row.required('maintenanceMargin').decimal('string or number');
    const leverage = row.required('maxLeverage').decimal('string');
    // The rates' unit, from the tier's own initial margin: a fraction makes initialMargin × maxLeverage
    // about 1 (0.01 × 100.00), a percentage about 100 (1 × 100.00, as the page's inverse example).
    const initialAt = row.required('initialMargin');
    const units = multiply(initialAt.decimal('string or number'), leverage);
    if (compare(units, HALF) < 0 || compare(units, decimalOf(2n)) > 0) {
      initialAt.fail(`times maxLeverage ${decimalText(leverage)} is ${decimalText(units)}, not about 1: the margin rates are not fractions (a percentage table?), and maintenanceMargin cannot be read as one`);
    }
    tiers.push({
      upToNotional: k === rows.length - 1 ? null : decimalText(limit),
      maintenanceRate: decimalText(rate),
      maxLeverage: leverageText(leverage),
    });
    const deduction = row.optional('mmDeduction');
    if (deduction !== undefined && deduction.value !== '') {
      amounts.push({ tier: k, at: deduction, value: deduction.decimal('string'), bracket: `risk limit tier ${k + 1}` });
    }
  });
  return { tiers, amounts };
}
