// Tier tables as the kernel stores them: floors and the maintenance amount cumX per bracket.
import { RATE_SCALE, TIERS_MAX } from '../fixed/constants.js';
import type { Instrument } from '../book/model.js';

export interface TierRow {
  floorMicro: bigint; // floor_k: the bracket covers (floor_k, floor_{k+1}]
  ratePpm: bigint;
  /** cumX_k = cumX_{k−1} + floor_k·(r_k − r_{k−1}), micro·ppm, so that MM is continuous. */
  cumX: bigint;
}

const U64_MASK = (1n << 64n) - 1n;

export function tierRows(instrument: Instrument): TierRow[] {
  if (instrument.tiers.length === 0 || instrument.tiers.length > TIERS_MAX) {
    throw new RangeError(`${instrument.symbol}: 1 to ${TIERS_MAX} tiers, got ${instrument.tiers.length}`);
  }
  const rows: TierRow[] = [];
  let floorMicro = 0n;
  let previousRate = 0n;
  let cumX = 0n;
  for (const tier of instrument.tiers) {
    if (tier.ratePpm <= 0n || tier.ratePpm >= RATE_SCALE || tier.ratePpm < previousRate) {
      throw new RangeError(`${instrument.symbol}: maintenance rates must rise within (0, 100%)`);
    }
    cumX += floorMicro * (tier.ratePpm - previousRate);
    rows.push({ floorMicro, ratePpm: tier.ratePpm, cumX });
    previousRate = tier.ratePpm;
    if (tier.upToNotional !== null) floorMicro = tier.upToNotional;
  }
  return rows;
}

export function splitU128(value: bigint): { lo: bigint; hi: bigint } {
  if (value < 0n || value >> 128n !== 0n) throw new RangeError(`cumX out of the 128-bit range: ${value}`);
  return { lo: value & U64_MASK, hi: value >> 64n };
}
