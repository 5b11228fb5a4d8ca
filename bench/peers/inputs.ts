// The engine's integer columns read back as the float64 figures in human units (quote, base, quote
// per base) that both float peers start from, so the two peers see identical inputs and differ
// only in how they hold and walk them. Not timed: this is the peers' "load".
import { MODE_ISOLATED, QUOTE_DECIMALS, RATE_DECIMALS, TIERS_MAX } from '../../src/fixed/constants.js';
import type { Engine } from '../../src/engine/engine.js';
import { fundingDecimals } from '../../src/book/model.js';

export { TIERS_MAX };

/** One instrument in human units. Tier k covers notionals in (upTo[k−1], upTo[k]]; the last upTo is +∞. */
export interface InstrumentFloats {
  symbol: string;
  /** Mark price, quote per base. */
  markPrice: number;
  /** Cumulative funding index, quote per base. */
  fundingIndex: number;
  /** Upper bound of each bracket's notional, quote; +∞ for the last. */
  tierUpTo: number[];
  /** Maintenance rate of each bracket, a fraction (0.005 = 0.5%). */
  tierRate: number[];
  /** The maintenance amount cum_k of docs/domain.md section 3, quote: MM(N) = N·r_k − cum_k. */
  tierCum: number[];
}

/** One position in human units. */
export interface PositionFloats {
  instrument: number;
  /** Signed size, base. */
  size: number;
  /** Cost basis s·e, quote, signed like the size. */
  cost: number;
  isolated: boolean;
  /** Isolated margin, quote (0 for cross). */
  margin: number;
  /** Funding index at the last settlement, quote per base. */
  fundingIndex: number;
}

const MICRO = 10 ** QUOTE_DECIMALS;
const PPM = 10 ** RATE_DECIMALS;

/** Every instrument of the engine as it stands in memory now (marks and funding indices included). */
export function instrumentFloats(engine: Engine): InstrumentFloats[] {
  const v = engine.views;
  return engine.instruments.map((instrument, i): InstrumentFloats => {
    const count = v.instTierCount[i];
    const tierUpTo: number[] = [];
    const tierRate: number[] = [];
    const tierCum: number[] = [];
    for (let k = 0; k < count; k++) {
      const cell = i * TIERS_MAX + k;
      tierUpTo.push(k + 1 < count ? Number(v.tierFloor[cell + 1]) / MICRO : Infinity);
      tierRate.push(Number(v.tierRate[cell]) / PPM);
      // cumX is micro·ppm in 128 bits: cum (quote) = cumX / 10^12.
      const cumX = (v.tierCumHi[cell] << 64n) | v.tierCumLo[cell];
      tierCum.push(Number(cumX) / (MICRO * PPM));
    }
    return {
      symbol: instrument.symbol,
      markPrice: Number(v.instMark[i]) / 10 ** instrument.priceDecimals,
      fundingIndex: Number(v.instFunding[i]) / 10 ** fundingDecimals(instrument),
      tierUpTo,
      tierRate,
      tierCum,
    };
  });
}

/** Position slot j of the engine in human units. */
export function positionFloats(engine: Engine, j: number): PositionFloats {
  const v = engine.views;
  const instrument = engine.instruments[v.posInst[j]];
  return {
    instrument: v.posInst[j],
    size: Number(v.posSize[j]) / 10 ** instrument.sizeDecimals,
    cost: Number(v.posCost[j]) / MICRO,
    isolated: v.posMode[j] === MODE_ISOLATED,
    margin: Number(v.posMargin[j]) / MICRO,
    fundingIndex: Number(v.posFunding[j]) / 10 ** fundingDecimals(instrument),
  };
}

/** Account a's balance in quote. */
export function balanceFloat(engine: Engine, a: number): number {
  return Number(engine.views.accBalance[a]) / MICRO;
}

/** Positions held by all accounts (the engine's arena may hold free slots besides). */
export function positionCount(engine: Engine): number {
  const v = engine.views;
  let count = 0;
  for (let a = 0; a < engine.accountCount; a++) count += v.accPosCount[a];
  return count;
}
