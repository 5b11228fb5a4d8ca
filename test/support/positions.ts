// A book model's position as checkPosition takes it (src/book/ranges.ts PositionInts).
import type { Position } from '../../src/book/model.js';
import { MODE_CROSS, MODE_ISOLATED } from '../../src/fixed/constants.js';
import type { PositionInts } from '../../src/book/ranges.js';

export function positionInts(p: Position): PositionInts {
  return {
    sizeUnits: p.sizeUnits,
    costMicro: p.costMicro,
    mode: p.mode === 'cross' ? MODE_CROSS : MODE_ISOLATED,
    marginMicro: p.marginMicro,
    leverage: p.leverage,
    fundingIndex: p.fundingIndex,
  };
}
