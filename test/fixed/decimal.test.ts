// formatScaled writes the figures of refusal reasons and of the book loaders' errors (a refusal's
// reason, applyOperation's and a batch's alike, formats its figures with it). It is held to a
// reference written another way (stripping zeros one at a time), over small figures, figures
// around 2^53 and 128-bit ones, for every decimals from 0 to 18, and it reads back to the integer.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { formatScaled, parseScaled } from '../../src/fixed/decimal.js';

/** The shortest exact decimal string of value·10^-decimals, by strings. */
function reference(value: bigint, decimals: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  let fraction = digits.slice(digits.length - decimals);
  while (fraction.endsWith('0')) fraction = fraction.slice(0, -1);
  return `${negative ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}`;
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

describe('formatScaled', () => {
  test('equals the reference for small, 2^53-sized and 128-bit figures, 0 to 18 decimals', () => {
    const value = fc.oneof(
      fc.bigInt({ min: -1_000_000_000n, max: 1_000_000_000n }),
      fc.bigInt({ min: -SAFE, max: SAFE }),
      fc.bigInt({ min: -SAFE - 1_000n, max: -SAFE + 1_000n }),
      fc.bigInt({ min: SAFE - 1_000n, max: SAFE + 1_000n }),
      fc.bigInt({ min: -(2n ** 127n), max: 2n ** 127n }),
    );
    fc.assert(
      fc.property(value, fc.integer({ min: 0, max: 18 }), (v, decimals) => {
        expect(formatScaled(v, decimals)).toBe(reference(v, decimals));
      }),
      { numRuns: 20_000 },
    );
  });

  test('figures with trailing, leading and no fraction digits', () => {
    expect(formatScaled(0n, 6)).toBe('0');
    expect(formatScaled(-1n, 6)).toBe('-0.000001');
    expect(formatScaled(1_500_000n, 6)).toBe('1.5');
    expect(formatScaled(-120n, 6)).toBe('-0.00012');
    expect(formatScaled(123_000_000n, 6)).toBe('123');
    expect(formatScaled(SAFE, 6)).toBe('9007199254.740991');
    expect(formatScaled(SAFE + 1n, 6)).toBe('9007199254.740992');
    expect(formatScaled(-SAFE, 0)).toBe('-9007199254740991');
    expect(formatScaled(10n ** 15n - 1n, 15)).toBe('0.999999999999999');
    expect(formatScaled(10n ** 15n, 15)).toBe('1');
  });

  test('reads back to the same integer', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.integer({ min: 0, max: 12 }), (v, decimals) => {
        const parsed = parseScaled(formatScaled(v, decimals), decimals);
        expect(parsed.ok && parsed.value).toBe(v);
      }),
      { numRuns: 2_000 },
    );
  });
});
