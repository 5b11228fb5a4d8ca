// The marks a test may set: those setMark accepts.
import type { Engine } from '../../src/engine/engine.js';
import { PRICE_UNITS_MAX, QUOTE_ABS_MAX, UNIT_PRODUCT_MAX } from '../../src/fixed/constants.js';
import { quotePerUnit, valueDivisor } from '../../src/book/model.js';

/**
 * The highest mark of instrument i that keeps every notional within range and the mark within
 * PRICE_UNITS_MAX (what setMark allows): past it, a book is out of its contract (the chunk records'
 * isolated thresholds, for one, are clamped beyond every valid mark). A notional is
 * ceil(|z|·q·p / d) at most, within QUOTE_ABS_MAX when |z|·q·p ≤ QUOTE_ABS_MAX·d; an instrument
 * finer than a micro (d > 1) also keeps |z|·q·p within UNIT_PRODUCT_MAX (docs/numbers.md).
 */
export function markMax(engine: Engine, i: number): bigint {
  const high = engine.sizeHighWater[i];
  if (high === 0n) return PRICE_UNITS_MAX;
  const d = valueDivisor(engine.instruments[i]);
  const product = d === 1n ? QUOTE_ABS_MAX : QUOTE_ABS_MAX * d < UNIT_PRODUCT_MAX ? QUOTE_ABS_MAX * d : UNIT_PRODUCT_MAX;
  const limit = product / (high * quotePerUnit(engine.instruments[i]));
  return limit < PRICE_UNITS_MAX ? limit : PRICE_UNITS_MAX;
}
