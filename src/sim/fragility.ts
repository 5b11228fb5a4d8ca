// How fragile a book is, in the measures the generator's calibrated profile is set against
// (docs/generator.md, "Profiles"): the accounts failing at the book's marks, what a sudden fall of
// every mark liquidates, what an ordinary day liquidates, and what the October 2025 crash does.
// Every figure comes from the engine and the simulator, on fresh copies of one book; liquidated
// notional is given as a share of one side's notional (the gross notional at the marks over 2),
// the way open interest is quoted.
import type { Engine } from '../engine/engine.js';
import type { SweepPool } from '../pool/pool.js';
import { BookCopies } from './runs.js';
import { scenarioFromJsonValue } from './scenario.js';
import type { Scenario } from './scenario-types.js';
import { failingAccount, grossNotional, simulate } from './simulate.js';

/** The sudden fall of every mark measured: 3%, about a typical day's range of BTC. */
export const FRAGILITY_FALL = 0.03;
/** The typical day is run once per seed; its median is the figure. */
export const FRAGILITY_DAY_SEEDS = [1, 2, 3] as const;

export interface FragilityMeasures {
  accounts: number;
  /** One side's notional at the marks, micro. */
  oneSideMicro: bigint;
  /** Share of accounts with a failing scope at the book's marks. */
  failingAtMarks: number;
  /** A fall of FRAGILITY_FALL of every mark in one step: accounts liquidated (share) and notional (share of one side). */
  fall: { accounts: number; notional: number };
  /** The typical-day scenario for each of FRAGILITY_DAY_SEEDS: liquidated notional, share of one side, in seed order. */
  day: number[];
  /** The median of `day`. */
  dayMedian: number;
  /** The crash scenario: accounts liquidated (share), notional (share of one side), and ADL's notional as a share of the liquidated notional. */
  crash: { accounts: number; notional: number; adlOverLiquidated: number };
}

/** A two-step scenario: the book's marks, then every mark FRAGILITY_FALL lower; no random noise. */
export function fallScenario(): Scenario {
  const shock = (instruments: string) => ({ instruments, startStep: 1, steps: 1, move: -FRAGILITY_FALL, shape: 'linear' });
  return scenarioFromJsonValue({
    version: 1,
    name: 'sudden-fall',
    steps: 2,
    stepSeconds: 15,
    prices: { shocks: [shock('majors'), shock('alts')] },
  });
}

/**
 * Measures a book: `engine` is read, not changed (every run is on a fresh copy). `crash` and `day`
 * are the scenarios to run (scenarios/october-2025.json and scenarios/typical-day.json in the
 * calibration); their books are ignored.
 */
export async function measureFragility(engine: Engine, scenarios: { crash: Scenario; day: Scenario }, pool?: SweepPool): Promise<FragilityMeasures> {
  const copies = new BookCopies(engine);
  const accounts = engine.accountCount;
  const oneSideMicro = grossNotional(engine).reduce((sum, n) => sum + n, 0n) / 2n;
  const share = (micro: bigint) => (oneSideMicro === 0n ? 0 : Number(micro) / Number(oneSideMicro));

  const atMarks = copies.engine();
  atMarks.sweep({ full: true });
  let failing = 0;
  for (let a = 0; a < accounts; a++) if (failingAccount(atMarks.views, a)) failing++;

  const run = async (scenario: Scenario, seed?: number) => {
    const { totals } = await simulate({ scenario, engine: copies.engine(), pool, seed });
    const liquidated = totals.liquidatedNotionalMicro;
    return {
      accounts: accounts === 0 ? 0 : totals.accountsLiquidated / accounts,
      notional: share(liquidated),
      adlOverLiquidated: liquidated === 0n ? 0 : Number(totals.adlNotionalMicro) / Number(liquidated),
    };
  };
  const { accounts: fallAccounts, notional: fallNotional } = await run(fallScenario());
  const day: number[] = [];
  for (const seed of FRAGILITY_DAY_SEEDS) day.push((await run(scenarios.day, seed)).notional);
  const crash = await run(scenarios.crash);
  const sorted = [...day].sort((x, y) => x - y);
  return {
    accounts,
    oneSideMicro,
    failingAtMarks: accounts === 0 ? 0 : failing / accounts,
    fall: { accounts: fallAccounts, notional: fallNotional },
    day,
    dayMedian: sorted[(sorted.length - 1) >> 1],
    crash,
  };
}
