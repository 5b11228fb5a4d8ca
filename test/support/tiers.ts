// Tier tables revised as a venue revises them, for the tests of tier table updates (setTiers).
import type { Tier } from '../../src/book/model.js';
import { QUOTE_ABS_MAX, RATE_SCALE } from '../../src/fixed/constants.js';

/**
 * A new tier table from `table`, as a venue revises one: every rate scaled
 * (up to 4 times as high, or down to a fifth: isolated boundaries move both ways), the bounds
 * scaled, a bracket split or merged, the max leverages cut (a cap below a held position's
 * leverage is refused); now and then a table no book may hold (refused as invalid_tiers).
 */
export function revisedTiers(table: readonly Tier[], random: () => number): Tier[] {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  let tiers = table.map((t) => ({ ...t }));
  const rate = pick([200n, 500n, 800n, 1_000n, 1_250n, 2_000n, 4_000n]); // per mille
  tiers = tiers.map((t) => {
    const scaled = (t.ratePpm * rate) / 1_000n;
    return { ...t, ratePpm: scaled < 1n ? 1n : scaled >= RATE_SCALE ? RATE_SCALE - 1n : scaled };
  });
  const r = random();
  if (r < 0.2) {
    const bound = pick([500n, 2_000n]);
    tiers = tiers.map((t) => (t.upToNotional === null ? t : { ...t, upToNotional: (t.upToNotional * bound) / 1_000n + 1n }));
  } else if (r < 0.35 && tiers.length > 1) {
    tiers.splice(Math.floor(random() * (tiers.length - 1)), 1); // its bracket joins the next
  } else if (r < 0.5 && tiers.length < 16) {
    const first = tiers[0];
    const up = first.upToNotional === null ? 10n ** 9n : first.upToNotional / 2n;
    if (up > 0n) tiers.unshift({ upToNotional: up, ratePpm: first.ratePpm > 1n ? first.ratePpm / 2n : 1n, leverageMax: first.leverageMax });
  }
  if (random() < 0.3) tiers = tiers.map((t) => ({ ...t, leverageMax: Math.max(1, Math.floor(t.leverageMax / 4)) }));
  if (random() < 0.05) tiers[tiers.length - 1] = { ...tiers[tiers.length - 1], ratePpm: RATE_SCALE }; // a rate of 100%: refused
  // Bounds past the range are clamped, which may leave two equal (refused too, as invalid_tiers).
  return tiers.map((t) => (t.upToNotional !== null && t.upToNotional > QUOTE_ABS_MAX ? { ...t, upToNotional: QUOTE_ABS_MAX } : t));
}
