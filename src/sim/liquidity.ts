// Endogenous price impact (docs/simulator.md, Impact): liquidation orders sell into (or buy from)
// a model of the instrument's liquidity, and what they move carries into the next step's mark.
// Plain float64 arithmetic with the project's portable exp and ln (src/gen/random.ts), so that a
// run is bit-identical on every machine: Math.exp, Math.log and Math.pow are not used.
import { exp, ln } from '../gen/random.js';
import type { LiquidityModel, QuoteAmount } from './scenario-types.js';

/** The impact a model may reach either way, relative: a price never goes below 1% of the exogenous one (nor, buying, above 100 times it). */
export const IMPACT_FLOOR = -0.99;
export const IMPACT_CEILING = 99;

/** Micro-quote per quote, as a float: flows are given to the models in quote. */
const MICRO_PER_QUOTE = 1_000_000;

/** 1% of price: the depth model's unit. */
const PERCENT = 0.01;

/** A QuoteAmount in quote, against the instrument's open interest (gross notional, micro) where it is relative. */
export function quoteAmount(amount: QuoteAmount, openInterestMicro: bigint): number {
  return 'micro' in amount ? Number(amount.micro) / MICRO_PER_QUOTE : (amount.overOpenInterest * Number(openInterestMicro)) / MICRO_PER_QUOTE;
}

/**
 * One instrument's liquidity through a run. The mark of a step is the exogenous price times
 * (1 + impact); `execute` takes the step's net liquidation flow and says at what average price it
 * fills, relative to that mark; `advance` lets the impact decay (sqrt) or the depth refill (depth)
 * over one step.
 */
export class Liquidity {
  /** The relative move of the mark off the exogenous price that liquidation flow has left. */
  impact = 0;
  /** depth: quote of depth consumed and not yet refilled (signed: > 0 bought); sqrt: unused. */
  private consumed = 0;
  private readonly keep: number;
  /** sqrt: the daily volume V, quote. */
  private volume = 0;
  /** depth: D, quote of depth per 1% of price. */
  private depth = 0;

  constructor(
    readonly model: LiquidityModel,
    /** The instrument's gross notional in the book at the start, micro: what relative amounts are relative to. */
    openInterestMicro: bigint,
    stepSeconds: number,
  ) {
    if (!(stepSeconds > 0)) throw new RangeError(`stepSeconds must be > 0, got ${stepSeconds}`);
    switch (model.model) {
      case 'sqrt':
        this.volume = quoteAmount(model.dailyVolume, openInterestMicro);
        // Half of the impact is left after halfLifeSeconds: 2^(−stepSeconds / halfLife) a step.
        this.keep = decay((-stepSeconds / model.halfLifeSeconds) * ln(2));
        break;
      case 'depth':
        this.depth = quoteAmount(model.depthPerPercent, openInterestMicro);
        // refillPerSecond of what is consumed comes back each second: (1 − r)^stepSeconds is left.
        this.keep = model.refillPerSecond >= 1 ? 0 : decay(stepSeconds * ln(1 - model.refillPerSecond));
        break;
      case 'none':
        this.keep = 0;
        break;
    }
  }

  /**
   * Fills a step's net liquidation flow of `flowQuote` (> 0 buys, < 0 sells; quote) and returns
   * the average fill's relative move off the mark it met (the sign of the flow; 0 with none or
   * with the `none` model). The impact it leaves moves the next step's mark.
   * - sqrt: the flow moves the price by Y·σ·sqrt(|Q|/V) against it; its fills average two
   *   thirds of that (the mean of sqrt over the order's course).
   * - depth: Q quote of a depth of D quote per 1% moves the price by Q/D percent on top of what is
   *   consumed; its fills average half of its own move.
   */
  execute(flowQuote: number): number {
    if (!Number.isFinite(flowQuote)) throw new RangeError(`a liquidation flow must be finite, got ${flowQuote}`);
    if (flowQuote === 0) return 0;
    const model = this.model;
    let move: number;
    let fill: number;
    switch (model.model) {
      case 'none':
        return 0;
      case 'sqrt': {
        const size = Math.sqrt(Math.abs(flowQuote) / this.volume);
        move = Math.sign(flowQuote) * model.y * model.dailyVolatility * size;
        fill = (2 / 3) * move;
        break;
      }
      case 'depth': {
        move = (PERCENT * flowQuote) / this.depth;
        fill = move / 2;
        this.consumed += flowQuote;
        break;
      }
    }
    const before = this.impact;
    this.impact = clampImpact(before + move);
    // The average fill, as a move off the mark the orders met (which already carries `before`).
    return (1 + clampImpact(before + fill)) / (1 + before) - 1;
  }

  /** One step passes: the impact decays (sqrt), the consumed depth refills (depth). */
  advance(): void {
    switch (this.model.model) {
      case 'none':
        return;
      case 'sqrt':
        this.impact *= this.keep;
        return;
      case 'depth':
        this.consumed *= this.keep;
        // (An instrument with no open interest has no depth, and no flow either: nothing consumed.)
        this.impact = this.consumed === 0 ? 0 : clampImpact((PERCENT * this.consumed) / this.depth);
        return;
    }
  }
}

/** e^x for x ≤ 0: what a step keeps. Below −700 (the portable exp's domain) nothing is kept: e^−700 is 10^−304. */
function decay(x: number): number {
  return x < -700 ? 0 : exp(x);
}

function clampImpact(value: number): number {
  return value < IMPACT_FLOOR ? IMPACT_FLOOR : value > IMPACT_CEILING ? IMPACT_CEILING : value;
}
