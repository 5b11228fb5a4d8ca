// The simulator on random books (range edges, many tiers, mixed modes, funding owed) and random
// crashes: every run either completes with the money identity holding after every step and every
// scope's status after each step's evaluation equal to the BigInt reference's, or stops at an
// operation the engine refuses as out of its ranges (a book at their edges, a move past them).
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../../src/engine/engine.js';
import { scenarioFromJsonValue } from '../../src/sim/scenario.js';
import { simulate, SimulationError } from '../../src/sim/simulate.js';
import { bookArbitrary } from '../support/arbitraries.js';
import { sweptStatuses } from '../support/scopes.js';
import { evaluateAccount } from '../../src/reference/evaluate.js';
import { MODE_ISOLATED } from '../../src/fixed/constants.js';

/** Every scope's status by the BigInt reference, from the book as it stands: what the engine's evaluation must have left. */
function referenceStatuses(engine: Engine): ReturnType<typeof sweptStatuses> {
  const book = engine.toBook();
  const v = engine.views;
  const accountStatus: string[] = [];
  const positionStatus = new Map<number, string>();
  book.accounts.forEach((_, a) => {
    const result = evaluateAccount(book, a);
    accountStatus.push(result.crossStatus);
    result.positions.forEach((position, k) => {
      const j = v.accPosStart[a] + k;
      if (v.posMode[j] === MODE_ISOLATED) positionStatus.set(j, position.status!);
    });
  });
  return { accountStatus, positionStatus };
}

const model = fc.oneof(
  fc.constant({ model: 'none' }),
  fc.record({ model: fc.constant('sqrt'), y: fc.double({ min: 0.1, max: 3, noNaN: true }), dailyVolume: fc.record({ overOpenInterest: fc.double({ min: 0.01, max: 10, noNaN: true }) }) }),
  fc.record({ model: fc.constant('depth'), depthPerPercent: fc.record({ overOpenInterest: fc.double({ min: 0.0001, max: 1, noNaN: true }) }), refillPerSecond: fc.double({ min: 0.001, max: 1, noNaN: true }) }),
);

const scenarioArbitrary = fc.record({
  move: fc.double({ min: -0.95, max: 1, noNaN: true }),
  rebound: fc.double({ min: -0.5, max: 2, noNaN: true }),
  volatility: fc.double({ min: 0, max: 3, noNaN: true }),
  majors: model,
  alts: model,
  mode: fc.constantFrom('full', 'partial'),
  buffer: fc.double({ min: 0, max: 2, noNaN: true }),
  feeRate: fc.double({ min: 0, max: 0.1, noNaN: true }),
  fund: fc.oneof(fc.constant('0'), fc.constant('1'), fc.constant('1000000')),
  policy: fc.constantFrom('queue', 'proRata', 'random'),
  seed: fc.integer({ min: 0, max: 1000 }),
});

describe('random books, random crashes', () => {
  test('money is conserved after every step, whatever the book, the crash and the policies', async () => {
    const runs = Number(process.env.RUNS ?? 300);
    let completed = 0;
    let compared = 0;
    let outOfRange = 0;
    let liquidations = 0;
    let adl = 0;
    await fc.assert(
      fc.asyncProperty(bookArbitrary(24), scenarioArbitrary, async (book, s) => {
        const engine = Engine.fromBook(book);
        const scenario = scenarioFromJsonValue({
          version: 1,
          steps: 8,
          stepSeconds: 60,
          seed: s.seed,
          prices: {
            majors: 1,
            shocks: [
              { instruments: 'all', startStep: 0, steps: 4, move: s.move },
              { instruments: 'majors', startStep: 5, steps: 2, move: s.rebound },
            ],
            random: { volatility: { majors: s.volatility, alts: s.volatility } },
          },
          liquidity: { majors: s.majors, alts: s.alts },
          liquidation: { mode: s.mode, buffer: s.buffer, feeRate: s.feeRate },
          insuranceFund: s.fund,
          adl: { policy: s.policy },
        });
        try {
          // The statuses the incremental evaluation (or its sweep) leaves after the step's marks and the
          // fills, charges and payments of the step before: the reference's, every step.
          const result = await simulate({
            scenario,
            engine,
            checkConservation: true,
            onEvaluated: (step) => {
              expect(sweptStatuses(engine), `step ${step}`).toEqual(referenceStatuses(engine));
              compared++;
            },
          });
          completed++;
          liquidations += result.totals.scopesLiquidated;
          if (result.totals.adlNotionalMicro > 0n) adl++;
        } catch (error) {
          // An operation the engine refuses as out of its ranges (a book at their edges, a move past
          // them) stops a run; any other stop is a bug.
          if (!(error instanceof SimulationError && error.code === 'out_of_range')) throw error;
          outOfRange++;
        }
      }),
      { numRuns: runs, seed: Number(process.env.SEED ?? 20261205) },
    );
    // Most books are not at the ranges' edges; the runs liquidate, and some empty the fund into ADL.
    expect(completed).toBeGreaterThan(runs * 0.6);
    expect(outOfRange).toBeLessThan(runs * 0.3);
    expect(liquidations).toBeGreaterThan(runs);
    expect(adl).toBeGreaterThan(runs / 50);
    expect(compared).toBeGreaterThan(runs * 4);
  });
});
