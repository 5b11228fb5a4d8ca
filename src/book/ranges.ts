// The value rules of docs/numbers.md as small pure functions over integers, shared by the book
// loaders (binary now; the JSON loader parses its decimals and can call the same checks). Each
// check returns null when the value is accepted, or the reason it is refused (a RangeIssue also
// names the field). Nothing here throws or allocates on the accepting path beyond the BigInt
// arithmetic the rule itself needs, so a loader can call checkPosition once per position in a
// tight loop.
import {
  ACCOUNT_ID_LENGTH_MAX,
  FUNDING_EXTRA_SCALE,
  FUNDING_INDEX_ABS_MAX,
  LEVERAGE_MAX,
  MODE_CROSS,
  MODE_ISOLATED,
  POSITIONS_PER_ACCOUNT_MAX,
  PRICE_PLUS_SIZE_DECIMALS_MAX,
  PRICE_UNITS_MAX,
  QUOTE_ABS_MAX,
  RATE_SCALE,
  SYMBOL_LENGTH_MAX,
  TIERS_MAX,
  UNIT_PRODUCT_MAX,
} from '../fixed/constants.js';
import { divCeil, divFloor } from '../fixed/rounding.js';
import { quotePerUnit, valueDivisor, type Instrument, type Tier } from './model.js';


/** A refused value: the field (a model field name, possibly with a tier index) and why. */
export interface RangeIssue {
  field: string;
  reason: string;
}

const NEGATIVE_QUOTE_ABS_MAX = -QUOTE_ABS_MAX;
const NEGATIVE_FUNDING_INDEX_ABS_MAX = -FUNDING_INDEX_ABS_MAX;

// ---------------------------------------------------------------------------------------------
// Names

/** Symbols and account ids: 1 to lengthMax printable ASCII characters (0x20 to 0x7e). */
export function checkName(value: string, lengthMax: number): string | null {
  if (value.length === 0) return 'must not be empty';
  if (value.length > lengthMax) return `is ${value.length} characters long; at most ${lengthMax}`;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) {
      return `character ${i} (U+${code.toString(16).padStart(4, '0')}) is not printable ASCII (0x20 to 0x7e)`;
    }
  }
  return null;
}

export function checkAccountId(value: string): string | null {
  return checkName(value, ACCOUNT_ID_LENGTH_MAX);
}

export function checkSymbol(value: string): string | null {
  return checkName(value, SYMBOL_LENGTH_MAX);
}

// ---------------------------------------------------------------------------------------------
// Scalars

/** Balance (negativeAllowed), isolated margin and the like: |x| ≤ QUOTE_ABS_MAX micro. */
export function checkQuote(micro: bigint, negativeAllowed: boolean): string | null {
  if (!negativeAllowed && micro < 0n) return `must not be negative, got ${micro} micro`;
  if (micro > QUOTE_ABS_MAX || micro < NEGATIVE_QUOTE_ABS_MAX) {
    return `${micro} micro is beyond ±${QUOTE_ABS_MAX} micro (±10^10 quote)`;
  }
  return null;
}

export function checkBalance(micro: bigint): string | null {
  return checkQuote(micro, true);
}

/** Marks (and entry prices): 0 < p ≤ PRICE_UNITS_MAX price units. */
export function checkPrice(units: bigint): string | null {
  if (units <= 0n) return `must be above 0, got ${units} price units`;
  if (units > PRICE_UNITS_MAX) return `${units} price units is above the largest price, ${PRICE_UNITS_MAX} (10^15)`;
  return null;
}

export function checkFundingIndex(units: bigint): string | null {
  if (units > FUNDING_INDEX_ABS_MAX || units < NEGATIVE_FUNDING_INDEX_ABS_MAX) {
    return `${units} is beyond ±${FUNDING_INDEX_ABS_MAX} (10^18) funding units`;
  }
  return null;
}

export function checkPositionCount(count: number): string | null {
  if (count > POSITIONS_PER_ACCOUNT_MAX) return `has ${count} positions; at most ${POSITIONS_PER_ACCOUNT_MAX} are allowed`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Instruments

/**
 * Every rule of one instrument (the JSON loader's rules on the integer model): decimals, tick,
 * lot, mark, funding index and the tier table. Symbol uniqueness is the book's rule, not this one.
 */
export function checkInstrument(instrument: Instrument): RangeIssue | null {
  const symbolReason = checkSymbol(instrument.symbol);
  if (symbolReason !== null) return { field: 'symbol', reason: symbolReason };
  const { priceDecimals: pd, sizeDecimals: sd } = instrument;
  if (!Number.isInteger(pd) || pd < 0 || pd > PRICE_PLUS_SIZE_DECIMALS_MAX) {
    return { field: 'priceDecimals', reason: `must be a whole number from 0 to ${PRICE_PLUS_SIZE_DECIMALS_MAX}, got ${pd}` };
  }
  if (!Number.isInteger(sd) || sd < 0 || pd + sd > PRICE_PLUS_SIZE_DECIMALS_MAX) {
    return {
      field: 'sizeDecimals',
      reason:
        `must be a whole number from 0 with priceDecimals + sizeDecimals at most ${PRICE_PLUS_SIZE_DECIMALS_MAX}, ` +
        `got ${sd} with priceDecimals ${pd}`,
    };
  }
  if (instrument.tickUnits <= 0n || instrument.tickUnits > PRICE_UNITS_MAX) {
    return { field: 'tickUnits', reason: `must be above 0 and at most ${PRICE_UNITS_MAX} price units, got ${instrument.tickUnits}` };
  }
  if (instrument.lotUnits <= 0n || instrument.lotUnits > QUOTE_ABS_MAX) {
    return { field: 'lotUnits', reason: `must be above 0 and at most ${QUOTE_ABS_MAX} size units, got ${instrument.lotUnits}` };
  }
  const markReason = checkPrice(instrument.markUnits);
  if (markReason !== null) return { field: 'markUnits', reason: markReason };
  const fundingReason = checkFundingIndex(instrument.fundingIndex);
  if (fundingReason !== null) return { field: 'fundingIndex', reason: fundingReason };
  return checkTiers(instrument.tiers);
}

/** A tier table: 1..TIERS_MAX brackets, bounds rising to a final null, rates in (0, 100%) rising. */
export function checkTiers(tiers: readonly Tier[]): RangeIssue | null {
  if (tiers.length === 0 || tiers.length > TIERS_MAX) {
    return { field: 'tiers', reason: `has ${tiers.length} tiers; 1 to ${TIERS_MAX} are allowed` };
  }
  let previousUp = 0n;
  let previousRate = 0n;
  for (let k = 0; k < tiers.length; k++) {
    const tier = tiers[k];
    const at = `tiers[${k}]`;
    const last = k === tiers.length - 1;
    const up = tier.upToNotional;
    if (up === null) {
      if (!last) {
        return {
          field: `${at} upToNotional`,
          reason: `is null, but only the last tier may be unbounded (this is tier ${k} of ${tiers.length})`,
        };
      }
    } else {
      if (last) return { field: `${at} upToNotional`, reason: `the last tier must be unbounded (null), got ${up}` };
      if (up <= 0n || up > QUOTE_ABS_MAX) {
        return { field: `${at} upToNotional`, reason: `must be above 0 and at most ${QUOTE_ABS_MAX} micro, got ${up}` };
      }
      if (k > 0 && up <= previousUp) {
        return {
          field: `${at} upToNotional`,
          reason: `must be above the previous tier's upToNotional ${previousUp} (strictly increasing), got ${up}`,
        };
      }
      previousUp = up;
    }
    if (tier.ratePpm <= 0n || tier.ratePpm >= RATE_SCALE) {
      return { field: `${at} ratePpm`, reason: `must be above 0 and below ${RATE_SCALE} ppm (100%), got ${tier.ratePpm}` };
    }
    if (tier.ratePpm < previousRate) {
      return {
        field: `${at} ratePpm`,
        reason: `must not be below the previous tier's rate ${previousRate} ppm (non-decreasing), got ${tier.ratePpm}`,
      };
    }
    previousRate = tier.ratePpm;
    if (!Number.isInteger(tier.leverageMax) || tier.leverageMax < 1 || tier.leverageMax > LEVERAGE_MAX) {
      return { field: `${at} leverageMax`, reason: `must be a whole number from 1 to ${LEVERAGE_MAX}, got ${tier.leverageMax}` };
    }
  }
  return null;
}

/**
 * The largest leverage a stored position may carry: the largest maxLeverage of any bracket. A
 * bracket's own max binds when leverage is set or a position grows (src/account/operations.ts),
 * not on load: a mark move can carry a position into a bracket with a lower max, and a snapshot
 * of that book must load again.
 */
export function leverageCap(tiers: readonly Tier[]): number {
  return tiers.reduce((cap, tier) => Math.max(cap, tier.leverageMax), 1);
}

/** Bracket k covers notionals in (floor_k, floor_{k+1}]; a notional of 0 is in bracket 0. */
export function bracketOf(tiers: readonly Tier[], notionalMicro: bigint): number {
  for (let k = 0; k < tiers.length; k++) {
    const up = tiers[k].upToNotional;
    if (up === null || notionalMicro <= up) return k;
  }
  return tiers.length - 1;
}

// ---------------------------------------------------------------------------------------------
// Positions

/** What checkPosition needs of an instrument, computed once per instrument (q and d included). */
export interface InstrumentRules {
  readonly instrument: Instrument;
  /** q = 10^max(0, 6 − pd − sd), micro per size unit per price unit before the divisor. */
  readonly q: bigint;
  /** d = 10^max(0, pd + sd − 6), the value divisor: a position's value is floor(z·q·p / d) micro. */
  readonly d: bigint;
}

export function instrumentRules(instrument: Instrument): InstrumentRules {
  return { instrument, q: quotePerUnit(instrument), d: valueDivisor(instrument) };
}

/**
 * One position in integers. Loaders fill one object and reuse it for every position (the binary
 * loader does), so checking allocates nothing but BigInts. mode is MODE_CROSS or MODE_ISOLATED.
 */
export interface PositionInts {
  sizeUnits: bigint;
  costMicro: bigint;
  mode: number;
  marginMicro: bigint;
  leverage: number;
  fundingIndex: bigint;
}

/** The model field names checkPosition reports (the JSON loader maps them to its keys). */
export type PositionField = 'mode' | 'sizeUnits' | 'costMicro' | 'marginMicro' | 'leverage' | 'fundingIndex';

/** funding owed = ceil(z·q·(F − F_i) / 10^6) micro, toward +∞ (docs/numbers.md). */
export function fundingOwed(sizeUnits: bigint, q: bigint, instrumentIndex: bigint, positionIndex: bigint): bigint {
  if (instrumentIndex === positionIndex || sizeUnits === 0n) return 0n;
  return divCeil(sizeUnits * q * (instrumentIndex - positionIndex), FUNDING_EXTRA_SCALE);
}

/**
 * Whether a position of `sizeUnits` may carry a cost basis of 0: a short of an instrument finer
 * than a micro (pd + sd > 6), whose cost ceil(z·q·entry / d) rounds up to 0 when it is less than a
 * micro (docs/numbers.md). Every other open position's cost basis has the sign of its size.
 */
export function dustShort(sizeUnits: bigint, instrument: Pick<Instrument, 'priceDecimals' | 'sizeDecimals'>): boolean {
  return sizeUnits < 0n && valueDivisor(instrument) > 1n;
}

/**
 * Every value rule of one position against its instrument at the instrument's current mark, in
 * this order: mode; size a whole number of lots; notional |floor(z·q·mark / d)| ≤ QUOTE_ABS_MAX and,
 * when d > 1, |z|·q·mark ≤ UNIT_PRODUCT_MAX; cost basis within ±QUOTE_ABS_MAX, zero for a flat
 * position, otherwise of the size's sign with the entry price |c|·d/(|z|·q) at most
 * PRICE_UNITS_MAX; margin 0 on cross, 0..QUOTE_ABS_MAX on isolated; leverage
 * from 1 to the instrument's largest max leverage (leverageCap); funding index within ±10^18 and funding
 * owed within ±QUOTE_ABS_MAX. The (instrument, mode) uniqueness is the account's rule.
 */
export function checkPosition(rules: InstrumentRules, position: PositionInts): RangeIssue | null {
  const instrument = rules.instrument;
  const mode = position.mode;
  if (mode !== MODE_CROSS && mode !== MODE_ISOLATED) {
    return { field: 'mode', reason: `must be ${MODE_CROSS} (cross) or ${MODE_ISOLATED} (isolated), got ${mode}` };
  }

  const size = position.sizeUnits;
  if (size % instrument.lotUnits !== 0n) {
    return { field: 'sizeUnits', reason: `${size} is not a whole number of lots of ${instrument.lotUnits} size units` };
  }
  const d = rules.d;
  const sizeQ = (size < 0n ? -size : size) * rules.q; // |z|·q
  const unitProduct = sizeQ * instrument.markUnits; // |z|·q·p: the notional itself when d = 1
  if (d === 1n) {
    if (unitProduct > QUOTE_ABS_MAX) {
      return {
        field: 'sizeUnits',
        reason: `notional at the mark, |${size}| × q ${rules.q} × mark ${instrument.markUnits} = ${unitProduct} micro, is above ${QUOTE_ABS_MAX}`,
      };
    }
  } else {
    // The value is rounded toward −∞ (docs/numbers.md, "Instruments finer than a micro"), so a
    // short's notional is the product divided and rounded up, a long's rounded down.
    const value = divFloor(size * rules.q * instrument.markUnits, d);
    const notional = value < 0n ? -value : value;
    if (notional > QUOTE_ABS_MAX) {
      return {
        field: 'sizeUnits',
        reason:
          `notional at the mark, |floor(${size} × q ${rules.q} × mark ${instrument.markUnits} / d ${d})| = ${notional} micro, ` +
          `is above ${QUOTE_ABS_MAX}`,
      };
    }
    if (unitProduct > UNIT_PRODUCT_MAX) {
      return {
        field: 'sizeUnits',
        reason:
          `|${size}| × q ${rules.q} × mark ${instrument.markUnits} = ${unitProduct} is above ${UNIT_PRODUCT_MAX} (10^18), the largest ` +
          `product the value of a position of an instrument finer than a micro (d ${d}) is divided from`,
      };
    }
  }

  const cost = position.costMicro;
  if (cost > QUOTE_ABS_MAX || cost < NEGATIVE_QUOTE_ABS_MAX) {
    return { field: 'costMicro', reason: `${cost} micro is beyond ±${QUOTE_ABS_MAX} micro (±10^10 quote)` };
  }
  if (size === 0n) {
    if (cost !== 0n) return { field: 'costMicro', reason: `a flat position (size 0) must have cost basis 0, got ${cost}` };
  } else {
    if (cost === 0n ? !dustShort(size, instrument) : cost < 0n !== size < 0n) {
      return { field: 'costMicro', reason: `${cost} must be non-zero with the sign of the size ${size} (entry price above 0)` };
    }
    // The entry price |c|·d / (|z|·q), compared without a division.
    if ((cost < 0n ? -cost : cost) * d > sizeQ * PRICE_UNITS_MAX) {
      return {
        field: 'costMicro',
        reason:
          d === 1n
            ? `${cost} gives an entry price |cost| / (|size| × q) above the largest price, ${PRICE_UNITS_MAX} price units`
            : `${cost} gives an entry price |cost| × d ${d} / (|size| × q) above the largest price, ${PRICE_UNITS_MAX} price units`,
      };
    }
  }

  const margin = position.marginMicro;
  if (mode === MODE_CROSS) {
    if (margin !== 0n) return { field: 'marginMicro', reason: `a cross position has no margin (must be 0), got ${margin}` };
  } else if (margin < 0n || margin > QUOTE_ABS_MAX) {
    return { field: 'marginMicro', reason: `an isolated margin must be from 0 to ${QUOTE_ABS_MAX} micro, got ${margin}` };
  }

  const cap = leverageCap(instrument.tiers);
  const leverage = position.leverage;
  if (!(leverage >= 1 && leverage <= cap) || !Number.isInteger(leverage)) {
    return {
      field: 'leverage',
      reason: `must be a whole number from 1 to ${cap}, the instrument's largest maxLeverage; got ${leverage}`,
    };
  }

  const index = position.fundingIndex;
  if (index > FUNDING_INDEX_ABS_MAX || index < NEGATIVE_FUNDING_INDEX_ABS_MAX) {
    return { field: 'fundingIndex', reason: `${index} is beyond ±${FUNDING_INDEX_ABS_MAX} (10^18) funding units` };
  }
  if (index !== instrument.fundingIndex && size !== 0n) {
    const owed = fundingOwed(size, rules.q, instrument.fundingIndex, index);
    if (owed > QUOTE_ABS_MAX || owed < NEGATIVE_QUOTE_ABS_MAX) {
      return {
        field: 'fundingIndex',
        reason:
          `funding owed, ceil(size × q × (instrument index ${instrument.fundingIndex} − ${index}) / 10^6) = ${owed} micro, ` +
          `is beyond ±${QUOTE_ABS_MAX}`,
      };
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// The same position rules in doubles, as a fast filter for bulk loading

/** What positionPlainlyValid needs of an instrument, as doubles (computed once per instrument). */
export interface InstrumentFastRules {
  /** Lot in size units; NaN when it is not exactly a double (then nothing passes the filter). */
  readonly lot: number;
  /** 1 / lot, for the whole-lots test without a division. */
  readonly inverseLot: number;
  /** q (micro per size unit per price unit before the divisor): z·q·ΔF is the funding product for every instrument. */
  readonly q: number;
  /**
   * The largest |cost| accepted outright: 10^15 / d. |c| ≤ 10^15/d gives |c|·d ≤ 10^15 ≤
   * |z|·q·PRICE_UNITS_MAX whenever z ≠ 0 (|z| ≥ 1, q ≥ 1), the exact entry-price rule.
   */
  readonly entryCostMax: number;
  readonly mark: number;
  /** The instrument's funding index; NaN when beyond ±2^53. */
  readonly funding: number;
  readonly leverageCap: number;
}

const SAFE_MAX = Number.MAX_SAFE_INTEGER;
/** Below 2^53, so a product of integers that the filter accepts is exact. */
const FAST_QUOTE_MAX = 9_000_000_000_000_000; // 9·10^15 < QUOTE_ABS_MAX = 10^16
const FAST_ENTRY_COST_MAX = 1_000_000_000_000_000; // |cost| ≤ 10^15 ≤ |z|·q·PRICE_UNITS_MAX whenever z ≠ 0 (d = 1)
/** |z·q·ΔF| below this (with margin for double rounding) keeps |funding owed| ≤ 10^16. */
const FAST_FUNDING_PRODUCT_MAX = 9.9e21; // < 10^22

function exactDouble(value: bigint): number {
  return value >= -BigInt(SAFE_MAX) && value <= BigInt(SAFE_MAX) ? Number(value) : Number.NaN;
}

export function instrumentFastRules(instrument: Instrument): InstrumentFastRules {
  const tiers = instrument.tiers;
  return {
    lot: exactDouble(instrument.lotUnits),
    inverseLot: 1 / exactDouble(instrument.lotUnits),
    q: Number(quotePerUnit(instrument)),
    // d is a power of ten up to 10^6, so 10^15 / d is a whole number: no rounding.
    entryCostMax: FAST_ENTRY_COST_MAX / Number(valueDivisor(instrument)),
    mark: exactDouble(instrument.markUnits),
    funding: exactDouble(instrument.fundingIndex),
    leverageCap: leverageCap(tiers),
  };
}

/**
 * A conservative, allocation-free filter in front of checkPosition for an instrument that passed
 * checkInstrument: true only when checkPosition would accept the position. False means "not
 * decided here": call checkPosition, which decides exactly and says why. Integer arguments are
 * exact doubles; pass NaN for a value beyond ±2^53 (every comparison with NaN fails, so it is
 * never accepted here). Every product it accepts on is below 2^53, hence exact; the inexact ones
 * are the funding product, compared with a margin far wider than its rounding, and size · (1 / lot),
 * whose rounded quotient is checked by an exact product. It has no early return (the conditions
 * are combined with `&`), so it costs the same on every position and does not mispredict.
 */
export function positionPlainlyValid(
  rules: InstrumentFastRules,
  size: number,
  cost: number,
  mode: number,
  margin: number,
  leverage: number,
  funding: number,
): boolean {
  // Whole lots, without a division: round(size / lot) · lot = size, with 1 / lot precomputed. For a
  // size that is not a multiple of the lot, any whole k gives k · lot ≠ size, and the product is
  // exact or else above 2^53 > |size|, so the test fails. For a multiple it holds unless size · (1 / lot)
  // is off by half a unit, which needs |size / lot| of about 2^51 or more: then the exact check decides.
  const whole = Math.round(size * rules.inverseLot) * rules.lot === size;
  const magnitude = Math.abs(size);
  const sizeQ = magnitude * rules.q;
  const owed = sizeQ * Math.abs(rules.funding - funding); // NaN if the instrument's index is not a double
  const isolated = mode === MODE_ISOLATED;
  return (
    (+(mode === MODE_CROSS) | +isolated) &
    +whole &
    +(magnitude <= SAFE_MAX) &
    // |z|·q·p ≤ 9·10^15: the notional |floor(z·q·p/d)| ≤ |z|·q·p is in range, and so is the
    // product an instrument finer than a micro divides (≤ UNIT_PRODUCT_MAX)
    +(sizeQ * rules.mark <= FAST_QUOTE_MAX) &
    // a flat position has cost 0; otherwise the cost has the size's sign, and |cost| ≤ 10^15 / d
    (+(size * cost > 0) | (+(size === 0) & +(cost === 0))) &
    +(Math.abs(cost) <= rules.entryCostMax) &
    // margin 0 on cross, 0..FAST_QUOTE_MAX on isolated
    +(margin >= 0) &
    +(margin <= (isolated ? FAST_QUOTE_MAX : 0)) &
    +(leverage >= 1) &
    +(leverage <= rules.leverageCap) &
    // the instrument's index, or one well within ±10^18 that a flat position owes nothing on, or
    // on which the funding owed is well within range
    (+(funding === rules.funding) |
      (+(Math.abs(funding) <= FAST_QUOTE_MAX) & (+(size === 0) | +(owed <= FAST_FUNDING_PRODUCT_MAX))))
  ) !== 0;
}
