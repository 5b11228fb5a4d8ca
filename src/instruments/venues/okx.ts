// OKX v5 perpetual swaps (docs/venues.md, "OKX"): GET /api/v5/public/instruments?instType=SWAP
// (ticks, lots and the contract value), GET /api/v5/public/position-tiers?instType=SWAP (tiers by
// size in contracts) and GET /api/v5/public/mark-price?instType=SWAP (marks). Every response is
// the envelope { code: "0", msg, data: [...] } with every number a string.
//
// The book's sizes are in base: a lot is lotSz × ctVal base, and a tier bound of maxSz contracts is
// the notional maxSz × ctVal × mark at the book's mark, rounded down to the book's quote decimals
// (a lower bound puts a position in the higher-rate tier sooner: never less maintenance than OKX).
import type { TierJson } from '../../book/json.js';
import { QUOTE_DECIMALS } from '../../fixed/constants.js';
import { field, isPlainObject, quote } from '../../io/json-object.js';
import {
  At,
  candidateOf,
  compare,
  decimalText,
  hasKeys,
  indexBySymbol,
  isZero,
  leverageText,
  markAtTick,
  multiply,
  roundTo,
  type Candidate,
  type Dec,
  type VenueAdapter,
  type VenueFile,
} from '../import.js';

/** OKX's contract types: linear is imported, inverse left out, any other refused. */
export const OKX_CONTRACT_TYPES = ['linear', 'inverse'] as const;
/** The settlement currencies imported (both USD stablecoins, taken as the book's quote). */
export const OKX_SETTLE_CURRENCIES = ['USDT', 'USDC'] as const;

const INSTRUMENTS = 'GET /api/v5/public/instruments?instType=SWAP';
const POSITION_TIERS = 'GET /api/v5/public/position-tiers?instType=SWAP';
const MARK_PRICE = 'GET /api/v5/public/mark-price?instType=SWAP';

function firstRow(value: unknown): unknown {
  if (!isPlainObject(value)) return undefined;
  const data = field(value, 'data');
  return Array.isArray(data) ? data[0] : undefined;
}

export const OKX: VenueAdapter = {
  venue: 'okx',
  kinds: [
    {
      id: 'instruments',
      endpoint: INSTRUMENTS,
      shape: 'data of objects with "instId", "tickSz", "lotSz" and "ctVal"',
      matches: (value) => hasKeys(firstRow(value), 'instId', 'tickSz', 'lotSz', 'ctVal'),
    },
    {
      id: 'positionTiers',
      endpoint: POSITION_TIERS,
      shape: 'data of objects with "maxSz" and "mmr"',
      matches: (value) => hasKeys(firstRow(value), 'maxSz', 'mmr'),
    },
    {
      id: 'markPrice',
      endpoint: MARK_PRICE,
      shape: 'data of objects with "instId" and "markPx"',
      matches: (value) => hasKeys(firstRow(value), 'instId', 'markPx'),
    },
  ],

  errorResponse(value) {
    if (!isPlainObject(value)) return null;
    const code = field(value, 'code');
    if (typeof code !== 'string' || code === '0' || (field(value, 'data') === undefined && field(value, 'msg') === undefined)) return null;
    const message = field(value, 'msg');
    return `code ${quote(code)}${typeof message === 'string' ? `: ${quote(message)}` : ''}`;
  },

  convert(files) {
    const tables = tierTables(files.get('positionTiers')!);
    const marks = indexBySymbol(rowsOf(files.get('markPrice')!), 'instId', 'a mark for');
    const names = (kind: string) => files.get(kind)!.map((file) => file.file).join(', ');
    const candidates: Candidate[] = [];
    for (const row of rowsOf(files.get('instruments')!)) {
      const entry = row.labelledBy('instId');
      const symbol = entry.required('instId').string();
      const instType = entry.required('instType');
      if (instType.string() !== 'SWAP') instType.fail(`is ${quote(instType.string())}; the instruments are imported from instType=SWAP`);
      const typeAt = entry.required('ctType');
      const contractType = typeAt.string();
      if (!(OKX_CONTRACT_TYPES as readonly string[]).includes(contractType)) {
        typeAt.fail(`unknown contract type ${quote(contractType)}; the known ones are ${OKX_CONTRACT_TYPES.join(', ')}`);
      }
      const settle = entry.required('settleCcy').string();
      const state = entry.required('state').string();
      if (contractType !== 'linear' || !(OKX_SETTLE_CURRENCIES as readonly string[]).includes(settle) || state !== 'live') continue;

      const tick = entry.required('tickSz').positive('string');
      const lotContracts = entry.required('lotSz').positive('string');
      const contractValue = entry.required('ctVal').positive('string');
      const multiplier = entry.optional('ctMult');
      if (multiplier !== undefined && multiplier.value !== '' && decimalText(multiplier.positive('string')) !== '1') {
        multiplier.fail(`is ${decimalText(multiplier.positive('string'))}; only a contract multiplier of 1 is understood (a contract is ctVal base)`);
      }
      const familyAt = family(entry);
      const table = tables.get(familyAt.string()) ?? familyAt.fail(`no position tiers for ${quote(familyAt.string())}: none of the ${POSITION_TIERS} files (${names('positionTiers')}) has it`);
      const markRow = marks.get(symbol) ?? entry.fail(`no mark price for ${symbol}: none of the ${MARK_PRICE} files (${names('markPrice')}) has it`);
      const mark = markAtTick(markRow.required('markPx').positive('string'), tick);
      candidates.push(candidateOf(entry, symbol, { tick, lot: multiply(lotContracts, contractValue), mark, tiers: positionTiers(table, multiply(contractValue, mark)) }));
    }
    return candidates;
  },
};

/** Every row of `data`, in file order. */
function rowsOf(files: VenueFile[]): At[] {
  return files.flatMap((file) => new At(file.file, '', file.value).required('data').array());
}

/** The instrument family a row belongs to: instFamily, or uly where instFamily is empty or absent. */
function family(row: At): At {
  const instFamily = row.optional('instFamily');
  if (instFamily !== undefined && instFamily.string() !== '') return instFamily;
  const underlying = row.required('uly');
  if (underlying.string() === '') underlying.fail('is empty, and so is instFamily: the row names no instrument family');
  return underlying;
}

/** The position tiers of each instrument family, in order; a family's tiers must all be in one file. */
function tierTables(files: VenueFile[]): Map<string, At[]> {
  const tables = new Map<string, At[]>();
  for (const row of rowsOf(files)) {
    const familyAt = family(row);
    const name = familyAt.string();
    const entry = row.labelled(name);
    const rows = tables.get(name);
    if (rows === undefined) tables.set(name, [entry]);
    else if (rows[0].file !== entry.file) familyAt.fail(`${quote(name)} has position tiers in ${rows[0].file} too; give each family's tiers in one file`);
    else rows.push(entry);
  }
  return tables;
}

/**
 * Tier k from position tier k: upToNotional = maxSz × ctVal × mark rounded down to micro (null for
 * the last), maintenanceRate = mmr, maxLeverage = maxLever rounded down. The first tier starts at
 * 0 contracts, maxSz rises, and no tier starts below the previous one's maxSz.
 */
function positionTiers(rows: At[], notionalPerContract: Dec): TierJson[] {
  let previousMax: Dec | undefined;
  return rows.map((row, k) => {
    const minAt = row.required('minSz');
    const min = minAt.decimal('string');
    const maxAt = row.required('maxSz');
    const max = maxAt.positive('string');
    if (previousMax === undefined) {
      if (!isZero(min)) minAt.fail(`the first tier must start at 0 contracts, got ${decimalText(min)}`);
    } else {
      if (compare(max, previousMax) <= 0) maxAt.fail(`must be above the previous tier's maxSz ${decimalText(previousMax)} (tiers rising), got ${decimalText(max)}`);
      if (compare(min, previousMax) < 0) minAt.fail(`must not be below the previous tier's maxSz ${decimalText(previousMax)} (tiers overlap), got ${decimalText(min)}`);
    }
    previousMax = max;
    const rate = row.required('mmr').decimal('string');
    const leverage = row.required('maxLever').decimal('string');
    return {
      upToNotional: k === rows.length - 1 ? null : decimalText(roundTo(multiply(max, notionalPerContract), QUOTE_DECIMALS, 'floor')),
      maintenanceRate: decimalText(rate),
      maxLeverage: leverageText(leverage),
    };
  });
}
