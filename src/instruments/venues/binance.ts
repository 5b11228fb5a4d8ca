// Binance USDⓈ-M futures (docs/venues.md, "Binance"): GET /fapi/v1/exchangeInfo (ticks and lots),
// GET /fapi/v1/leverageBracket (the brackets, with Binance's own maintenance amount `cum`, checked
// against the engine's) and GET /fapi/v1/premiumIndex (marks). exchangeInfo and premiumIndex write
// decimals as strings; leverageBracket writes them as JSON numbers, read from their text exactly.
import type { TierJson } from '../../book/json.js';
import { field, isPlainObject, quote } from '../../io/json-object.js';
import {
  At,
  candidateOf,
  compare,
  decimalText,
  elements,
  firstOf,
  hasKeys,
  indexBySymbol,
  isZero,
  numberText,
  leverageText,
  type Candidate,
  type Dec,
  type VenueAdapter,
  type VenueAmount,
  type VenueFile,
} from '../import.js';

/** The contract types of USDⓈ-M futures: only PERPETUAL is imported; the others are left out; any other is refused. */
export const BINANCE_CONTRACT_TYPES = [
  'PERPETUAL',
  'CURRENT_MONTH',
  'NEXT_MONTH',
  'CURRENT_QUARTER',
  'NEXT_QUARTER',
  'CURRENT_QUARTER_DELIVERING',
  'NEXT_QUARTER_DELIVERING',
  'PERPETUAL_DELIVERING',
  'TRADIFI_PERPETUAL',
  '',
] as const;

const EXCHANGE_INFO = 'GET /fapi/v1/exchangeInfo';
const LEVERAGE_BRACKET = 'GET /fapi/v1/leverageBracket';
const PREMIUM_INDEX = 'GET /fapi/v1/premiumIndex';

export const BINANCE: VenueAdapter = {
  venue: 'binance',
  kinds: [
    {
      id: 'exchangeInfo',
      endpoint: EXCHANGE_INFO,
      shape: 'an object with a "symbols" array',
      matches: (value) => isPlainObject(value) && Array.isArray(field(value, 'symbols')),
    },
    {
      id: 'leverageBracket',
      endpoint: LEVERAGE_BRACKET,
      shape: 'an array of objects with "symbol" and "brackets"',
      matches: (value) => hasKeys(firstOf(value), 'symbol', 'brackets'),
    },
    {
      id: 'premiumIndex',
      endpoint: PREMIUM_INDEX,
      shape: 'an array of objects with "symbol" and "markPrice"',
      matches: (value) => hasKeys(firstOf(value), 'symbol', 'markPrice'),
    },
  ],

  errorResponse(value) {
    if (!isPlainObject(value)) return null;
    const code = field(value, 'code');
    const message = field(value, 'msg');
    if (numberText(code) !== undefined && typeof message === 'string' && field(value, 'symbols') === undefined) {
      return `code ${numberText(code)}: ${quote(message)}`;
    }
    return null;
  },

  convert(files) {
    const brackets = indexBySymbol(entriesOf(files.get('leverageBracket')!), 'symbol', 'a bracket table for');
    const marks = indexBySymbol(entriesOf(files.get('premiumIndex')!), 'symbol', 'a mark for');
    const names = (kind: string) => files.get(kind)!.map((file) => file.file).join(', ');
    const candidates: Candidate[] = [];
    for (const file of files.get('exchangeInfo')!) {
      const root = new At(file.file, '', file.value);
      for (const element of root.required('symbols').array()) {
        const entry = element.labelledBy('symbol');
        const symbol = entry.required('symbol').string();
        const contractTypeAt = entry.required('contractType');
        const contractType = contractTypeAt.string();
        if (!(BINANCE_CONTRACT_TYPES as readonly string[]).includes(contractType)) {
          contractTypeAt.fail(`unknown contract type ${quote(contractType)}; the known ones are ${BINANCE_CONTRACT_TYPES.filter((t) => t !== '').join(', ')}`);
        }
        const status = entry.required('status').string();
        if (contractType !== 'PERPETUAL' || status !== 'TRADING') continue;

        const filters = entry.required('filters').array().map((filter) => filter.labelledBy('filterType'));
        const tick = filterOf(entry, filters, 'PRICE_FILTER').required('tickSize').positive('string');
        const lot = filterOf(entry, filters, 'LOT_SIZE').required('stepSize').positive('string');

        const table = brackets.get(symbol) ?? entry.fail(`no bracket table for ${symbol}: none of the ${LEVERAGE_BRACKET} files (${names('leverageBracket')}) has it`);
        const markEntry = marks.get(symbol) ?? entry.fail(`no mark price for ${symbol}: none of the ${PREMIUM_INDEX} files (${names('premiumIndex')}) has it`);
        const mark = markEntry.required('markPrice').positive('string');
        const { tiers, amounts } = bracketTiers(table);
        candidates.push(candidateOf(entry, symbol, { tick, lot, mark, tiers, amounts }));
      }
    }
    return candidates;
  },
};

/** The entries of leverageBracket or premiumIndex files: an array, or one object when a symbol was asked for. */
function entriesOf(files: VenueFile[]): At[] {
  return files.flatMap((file) => elements(new At(file.file, '', file.value)));
}

function filterOf(entry: At, filters: At[], type: string): At {
  const found = filters.filter((filter) => isPlainObject(filter.value) && field(filter.value, 'filterType') === type);
  if (found.length === 0) entry.child('filters').fail(`has no ${type} filter`);
  if (found.length > 1) found[1].fail(`a second ${type} filter; ${found[0].path} is one`);
  return found[0];
}

/**
 * Tier k from bracket k: upToNotional = notionalCap (null for the last), maintenanceRate =
 * maintMarginRatio, maxLeverage = initialLeverage; the first floor must be 0 and each floor the
 * previous cap, so the brackets rise without gaps. `cum` is kept for the check against the engine.
 */
function bracketTiers(table: At): { tiers: TierJson[]; amounts: VenueAmount[] } {
  const list = table.required('brackets').array();
  if (list.length === 0) table.child('brackets').fail('has no brackets');
  const tiers: TierJson[] = [];
  const amounts: VenueAmount[] = [];
  let previousCap: Dec | undefined;
  list.forEach((element, k) => {
    const bracketNumber = numberText(isPlainObject(element.value) ? field(element.value, 'bracket') : undefined);
    const name = bracketNumber !== undefined ? `bracket ${bracketNumber}` : `bracket ${k + 1}`;
    const bracket = element.labelled(bracketNumber !== undefined ? name : undefined);
    const floorAt = bracket.required('notionalFloor');
    const floor = floorAt.decimal('number');
    const capAt = bracket.required('notionalCap');
    const cap = capAt.decimal('number');
    const rate = bracket.required('maintMarginRatio').decimal('number');
    const leverage = bracket.required('initialLeverage').decimal('number');
    const cum = bracket.required('cum').decimal('number');
    if (previousCap === undefined) {
      if (!isZero(floor)) floorAt.fail(`the first bracket's floor must be 0, got ${decimalText(floor)}`);
    } else if (compare(floor, previousCap) !== 0) {
      floorAt.fail(`must equal the previous bracket's notionalCap ${decimalText(previousCap)} (brackets without gaps), got ${decimalText(floor)}`);
    }
    if (compare(cap, floor) <= 0) capAt.fail(`must be above the bracket's notionalFloor ${decimalText(floor)} (brackets rising), got ${decimalText(cap)}`);
    previousCap = cap;
    tiers.push({
      upToNotional: k === list.length - 1 ? null : decimalText(cap),
      maintenanceRate: decimalText(rate),
      maxLeverage: leverageText(leverage),
    });
    amounts.push({ tier: k, at: bracket.child('cum'), value: cum, bracket: name });
  });
  return { tiers, amounts };
}
