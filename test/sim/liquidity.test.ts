// The impact models: the square-root law with decay, the depth curve with refill, and their edges.
import { describe, expect, test } from 'vitest';
import { IMPACT_FLOOR, Liquidity, quoteAmount } from '../../src/sim/liquidity.js';

const M = 1_000_000n;

describe('square-root law', () => {
  // Y 0.5, σ 4% a day, V 1,000,000 quote a day: a sale of 10,000 quote moves the price by
  // 0.5 × 0.04 × sqrt(0.01) = 0.2%, and fills on average two thirds of that below the mark.
  const model = { model: 'sqrt', y: 0.5, dailyVolatility: 0.04, dailyVolume: { micro: 1_000_000n * M }, halfLifeSeconds: 60 } as const;

  test('a flow moves the price against it by Y·σ·sqrt(Q/V) and fills at two thirds of the move', () => {
    const liquidity = new Liquidity(model, 0n, 60);
    expect(liquidity.execute(-10_000)).toBeCloseTo(-0.002 * (2 / 3), 15);
    expect(liquidity.impact).toBeCloseTo(-0.002, 15);
    // A buy of the same size against the impact left: it meets the impacted mark, moves it back up.
    const fill = liquidity.execute(10_000);
    expect(liquidity.impact).toBeCloseTo(0, 15);
    expect(fill).toBeCloseTo((1 - 0.002 + 0.002 * (2 / 3)) / (1 - 0.002) - 1, 15);
  });

  test('the impact halves every half-life', () => {
    const liquidity = new Liquidity(model, 0n, 30);
    liquidity.execute(-10_000);
    liquidity.advance();
    liquidity.advance();
    expect(liquidity.impact).toBeCloseTo(-0.001, 12);
  });

  test('relative to open interest: V = 2 × the instrument\'s gross notional', () => {
    expect(quoteAmount({ overOpenInterest: 2 }, 500_000n * M)).toBe(1_000_000);
    expect(quoteAmount({ micro: 1_500_000n }, 0n)).toBe(1.5);
  });
});

describe('depth curve', () => {
  // 100,000 quote of depth per 1%: a sale of 50,000 moves the price 0.5% and fills 0.25% below.
  const model = { model: 'depth', depthPerPercent: { micro: 100_000n * M }, refillPerSecond: 0.5 } as const;

  test('a flow of Q moves the price Q/D percent and fills at half of its own move', () => {
    const liquidity = new Liquidity(model, 0n, 1);
    expect(liquidity.execute(-50_000)).toBeCloseTo(-0.0025, 15);
    expect(liquidity.impact).toBeCloseTo(-0.005, 15);
  });

  test('consumed depth refills at its rate: half a second, at 0.5 a second', () => {
    const liquidity = new Liquidity(model, 0n, 1);
    liquidity.execute(-50_000);
    liquidity.advance();
    expect(liquidity.impact).toBeCloseTo(-0.0025, 15);
  });

  test('the edges: the impact stops at −99%; steps far longer than the refill leave nothing; no depth and no flow is no impact', () => {
    const huge = new Liquidity(model, 0n, 1);
    huge.execute(-1e12);
    expect(huge.impact).toBe(IMPACT_FLOOR);
    const long = new Liquidity({ ...model, refillPerSecond: 0.999 }, 0n, 86_400);
    long.execute(-50_000);
    long.advance();
    expect(long.impact).toBe(0);
    const empty = new Liquidity({ model: 'depth', depthPerPercent: { overOpenInterest: 0.01 }, refillPerSecond: 0.1 }, 0n, 60);
    empty.advance();
    expect(empty.impact).toBe(0);
    expect(new Liquidity({ model: 'none' }, 0n, 60).execute(-1e9)).toBe(0);
    expect(() => new Liquidity({ model: 'none' }, 0n, 0)).toThrow(/stepSeconds must be > 0/);
  });
});
