// Hyperliquid perpetuals (docs/venues.md, "Hyperliquid"): the info endpoint's `meta` (the universe
// and the margin tables) and `metaAndAssetCtxs` (marks, one asset context per universe entry, in
// the same order). Hyperliquid has no fixed tick: a price has at most 5 significant figures and at
// most 6 − szDecimals decimals, so the book's tick is 10^-(6 − szDecimals), its finest step. Its
// maintenance rate is half the initial margin at the tier's max leverage, 1/(2L), taken only where
// that is a finite decimal.
import type { TierJson } from '../../book/json.js';
import { RATE_DECIMALS } from '../../fixed/constants.js';
import { field, isPlainObject } from '../../io/json-object.js';
import {
  At,
  candidateOf,
  compare,
  decimalOf,
  decimalText,
  indexBySymbol,
  isZero,
  type Candidate,
  type Dec,
  type VenueAdapter,
  type VenueFile,
} from '../import.js';

/** Hyperliquid's perpetual prices have at most this many decimals, less the size decimals. */
export const HYPERLIQUID_PRICE_DECIMALS_MAX = 6;
/** A margin table id below this with no table is a single tier whose max leverage is the id (Hyperliquid's docs). */
export const HYPERLIQUID_IMPLICIT_TABLE_IDS = 50;

const META = 'POST /info {"type":"meta"}';
const ASSET_CTXS = 'POST /info {"type":"metaAndAssetCtxs"}';

export const HYPERLIQUID: VenueAdapter = {
  venue: 'hyperliquid',
  kinds: [
    {
      id: 'meta',
      endpoint: META,
      shape: 'an object with a "universe" array',
      matches: (value) => isPlainObject(value) && Array.isArray(field(value, 'universe')),
    },
    {
      id: 'assetCtxs',
      endpoint: ASSET_CTXS,
      shape: 'an array of two: an object with "universe", and the array of asset contexts',
      matches: (value) =>
        Array.isArray(value) && value.length === 2 && isPlainObject(value[0]) && Array.isArray(field(value[0], 'universe')) && Array.isArray(value[1]),
    },
  ],

  errorResponse(value) {
    return typeof value === 'string' ? `the response is the string ${JSON.stringify(value.slice(0, 80))}` : null;
  },

  convert(files) {
    const metas = files.get('meta')!.map((file) => new At(file.file, '', file.value));
    const tables = marginTables(metas);
    const marks = markContexts(files.get('assetCtxs')!);
    const names = files.get('assetCtxs')!.map((file) => file.file).join(', ');
    const universe = indexBySymbol(metas.flatMap((meta) => meta.required('universe').array()), 'name', 'the asset');
    const candidates: Candidate[] = [];
    for (const [symbol, entry] of universe) {
      const delisted = entry.optional('isDelisted');
      if (delisted !== undefined && delisted.boolean()) continue;
      const sizeDecimalsAt = entry.required('szDecimals');
      const sizeDecimals = sizeDecimalsAt.whole('number');
      if (sizeDecimals < 0n || sizeDecimals > BigInt(HYPERLIQUID_PRICE_DECIMALS_MAX)) {
        sizeDecimalsAt.fail(`must be from 0 to ${HYPERLIQUID_PRICE_DECIMALS_MAX} (prices have at most ${HYPERLIQUID_PRICE_DECIMALS_MAX} − szDecimals decimals), got ${sizeDecimals}`);
      }
      const assetLeverage = entry.required('maxLeverage');
      if (assetLeverage.whole('number') < 1n) assetLeverage.fail(`must be at least 1, got ${assetLeverage.whole('number')}`);
      const tableIdAt = entry.required('marginTableId');
      const tableId = tableIdAt.whole('number');
      const lot = decimalOf(1n, Number(sizeDecimals));
      const tick = decimalOf(1n, HYPERLIQUID_PRICE_DECIMALS_MAX - Number(sizeDecimals));
      const context = marks.get(symbol) ?? entry.fail(`no mark price for ${symbol}: none of the ${ASSET_CTXS} files (${names}) has it`);
      const mark = context.required('markPx').positive('string');
      const table = tables.get(tableId.toString());
      const implicit = tableId >= 1n && tableId < BigInt(HYPERLIQUID_IMPLICIT_TABLE_IDS);
      if (table === undefined && !implicit) {
        tableIdAt.fail(`no margin table ${tableId} in marginTables (only an id below ${HYPERLIQUID_IMPLICIT_TABLE_IDS} may have none)`);
      }
      const tiers = table !== undefined ? marginTiers(table) : singleTier(tableId);
      candidates.push(candidateOf(entry, symbol, { tick, lot, mark, tiers }));
    }
    return candidates;
  },
};

/** The margin tables of the meta files by id: `marginTables` is a list of [id, { marginTiers }]. */
function marginTables(metas: At[]): Map<string, At> {
  const tables = new Map<string, At>();
  for (const meta of metas) {
    const list = meta.optional('marginTables');
    if (list === undefined) continue;
    for (const pair of list.array()) {
      const parts = pair.array();
      if (parts.length !== 2) pair.fail(`must be a pair [id, table], got an array of ${parts.length}`);
      const id = parts[0].whole('number').toString();
      const table = parts[1].labelled(`margin table ${id}`);
      const earlier = tables.get(id);
      if (earlier !== undefined) parts[0].fail(`margin table ${id} again; ${earlier.file}: ${earlier.path} is one`);
      tables.set(id, table);
    }
  }
  return tables;
}

/** The asset context of each universe name: element i of the contexts belongs to universe entry i. */
function markContexts(files: VenueFile[]): Map<string, At> {
  const contexts = new Map<string, At>();
  for (const file of files) {
    const [meta, list] = new At(file.file, '', file.value).array();
    const universe = meta.required('universe').array();
    const entries = list.array();
    if (entries.length !== universe.length) {
      list.fail(`has ${entries.length} asset contexts for the ${universe.length} assets of its universe (one each, in order)`);
    }
    universe.forEach((asset, i) => {
      const named = asset.labelledBy('name');
      const name = named.required('name').string();
      const earlier = contexts.get(name);
      if (earlier !== undefined) named.child('name').fail(`an asset context for ${JSON.stringify(name)} again; ${earlier.file}: ${earlier.path} is one`);
      contexts.set(name, entries[i].labelled(name));
    });
  }
  return contexts;
}

/**
 * Tier k from margin tier k: upToNotional = the next tier's lowerBound (null for the last),
 * maintenanceRate = 1/(2 × maxLeverage), maxLeverage as given. lowerBound starts at 0 and rises.
 */
function marginTiers(table: At): TierJson[] {
  const list = table.required('marginTiers').array();
  if (list.length === 0) table.child('marginTiers').fail('has no tiers');
  const bounds: Dec[] = [];
  const tiers: TierJson[] = [];
  list.forEach((tier, k) => {
    const boundAt = tier.required('lowerBound');
    const bound = boundAt.decimal('string');
    if (k === 0 && !isZero(bound)) boundAt.fail(`the first tier must start at 0, got ${decimalText(bound)}`);
    if (k > 0 && compare(bound, bounds[k - 1]) <= 0) {
      boundAt.fail(`must be above the previous tier's lowerBound ${decimalText(bounds[k - 1])} (tiers rising), got ${decimalText(bound)}`);
    }
    bounds.push(bound);
    const leverageAt = tier.required('maxLeverage');
    const leverage = leverageAt.whole('number');
    if (leverage < 1n) leverageAt.fail(`must be at least 1, got ${leverage}`);
    tiers.push({ upToNotional: null, maintenanceRate: decimalText(maintenanceRate(leverage)), maxLeverage: leverage.toString() });
  });
  tiers.forEach((tier, k) => {
    if (k + 1 < tiers.length) tier.upToNotional = decimalText(bounds[k + 1]);
  });
  return tiers;
}

/** A margin table id below 50 with no table: one tier whose max leverage is the id. */
function singleTier(leverage: bigint): TierJson[] {
  return [{ upToNotional: null, maintenanceRate: decimalText(maintenanceRate(leverage)), maxLeverage: leverage.toString() }];
}

/**
 * A tier's maintenance rate: half the initial margin at its max leverage L, 1/(2L), in the book's
 * unit (RATE_DECIMALS decimals, ppm), rounded up when it has more: against the account, whose
 * maintenance can only come out higher (3×: 0.166667, 15×: 0.033334, 128×: 0.003907; 40×: 0.0125
 * exactly).
 */
export function maintenanceRate(leverage: bigint): Dec {
  const denominator = 2n * leverage;
  return decimalOf((RATE_UNITS + denominator - 1n) / denominator, RATE_DECIMALS);
}

const RATE_UNITS = 10n ** BigInt(RATE_DECIMALS);
