// The crash the simulator's conservation tests run: majors down 15% over 20 steps, alts 20–60% in
// 10, a bounce, with the given ADL policy, liquidation mode and insurance fund.
import { scenarioFromJsonValue } from '../../src/sim/scenario.js';
import type { AdlPolicy, Scenario } from '../../src/sim/scenario-types.js';

export const CRASH_STEPS = 40;

export function crashScenario(policy: AdlPolicy, mode: 'full' | 'partial', fund: string): Scenario {
  return scenarioFromJsonValue({
    version: 1,
    steps: CRASH_STEPS,
    stepSeconds: 30,
    seed: 5,
    prices: {
      majors: 5,
      shocks: [
        { instruments: 'majors', startStep: 3, steps: 20, move: -0.15, shape: 'exponential' },
        { instruments: 'alts', startStep: 3, steps: 10, move: { min: -0.6, max: -0.2 } },
        { instruments: 'all', startStep: 25, steps: 10, move: 0.08 },
      ],
      random: { volatility: { majors: 0.8, alts: 1.5 } },
    },
    liquidity: {
      majors: { model: 'sqrt', dailyVolume: { overOpenInterest: 1 } },
      alts: { model: 'depth', depthPerPercent: { overOpenInterest: 0.002 }, refillPerSecond: 0.02 },
    },
    liquidation: { mode, buffer: 0.1, feeRate: 0.005 },
    insuranceFund: fund,
    adl: { policy },
  });
}
