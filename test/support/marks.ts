// The marks a test may set: those setMark accepts.
import type { Engine } from '../../src/engine/engine.js';
import { PRICE_UNITS_MAX, QUOTE_ABS_MAX } from '../../src/fixed/constants.js';
import { quotePerUnit } from '../../src/book/model.js';

/**
 * The highest mark of instrument i that keeps every notional within range and the mark within
 * PRICE_UNITS_MAX (what setMark allows): past it, a book is out of its contract (the chunk records'
 * isolated thresholds, for one, are clamped beyond every valid mark).
 */
export function markMax(engine: Engine, i: number): bigint {
  const high = engine.sizeHighWater[i];
  const limit = high === 0n ? PRICE_UNITS_MAX : QUOTE_ABS_MAX / (high * quotePerUnit(engine.instruments[i]));
  return limit < PRICE_UNITS_MAX ? limit : PRICE_UNITS_MAX;
}
