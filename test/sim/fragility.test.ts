// The generator's calibrated profile holds to the published aggregates it is set against
// (docs/generator.md, "Profiles"), and the stress profile stays far more fragile: measured with the
// engine and the simulator (src/sim/fragility.ts) on books of 20,000 accounts.
import { describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeBookBinary, encodeBookBinary, loadBookBinaryFile, writeBookColumnsFile } from '../../src/book/binary.js';
import { generateBook, type GenerationProfileName } from '../../src/gen/generate.js';
import { FRAGILITY_DAY_SEEDS, fallScenario, measureFragility, type FragilityMeasures } from '../../src/sim/fragility.js';
import { DEFAULT_SCENARIO_PATH, readScenarioFile, TYPICAL_DAY_SCENARIO_PATH } from '../../src/sim/scenario.js';

const ACCOUNTS = 20_000;

async function measure(profile: GenerationProfileName): Promise<{ measures: FragilityMeasures; before: Uint8Array; after: Uint8Array }> {
  const scratch = mkdtempSync(join(tmpdir(), 'liq-fragility-'));
  try {
    const file = join(scratch, 'book.bin');
    writeBookColumnsFile(file, generateBook({ accounts: ACCOUNTS, seed: 1, profile }));
    const engine = loadBookBinaryFile(file);
    const before = encodeBookBinary(engine);
    const measures = await measureFragility(engine, { crash: readScenarioFile(DEFAULT_SCENARIO_PATH), day: readScenarioFile(TYPICAL_DAY_SCENARIO_PATH) });
    return { measures, before, after: encodeBookBinary(engine) };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

describe('fragility of generated books', () => {
  test('the sudden fall is two steps: the marks, then every mark 3% lower, with no noise', () => {
    const scenario = fallScenario();
    expect(scenario.steps).toBe(2);
    expect(scenario.prices.random).toBeNull();
    expect(scenario.prices.shocks.map((shock) => [shock.instruments, shock.startStep, shock.steps, shock.move])).toEqual([
      ['majors', 1, 1, -0.03],
      ['alts', 1, 1, -0.03],
    ]);
  });

  test('the calibrated profile (the default) sits in the published bands; the stress profile far above them; the book is left as it was', async () => {
    const calibrated = await measure('calibrated');
    const stress = await measure('stress');
    for (const { before, after } of [calibrated, stress]) expect(Buffer.from(after).equals(Buffer.from(before))).toBe(true);
    const c = calibrated.measures;
    const s = stress.measures;
    expect(c.accounts).toBe(ACCOUNTS);
    expect(c.day).toHaveLength(FRAGILITY_DAY_SEEDS.length);
    // 10 October 2025: about 9% of open interest reported, 14-18% estimated.
    expect(c.crash.notional).toBeGreaterThan(0.09);
    expect(c.crash.notional).toBeLessThan(0.18);
    // The fund runs out and ADL closes a share of what is liquidated (one venue: about 20% that day).
    expect(c.crash.adlOverLiquidated).toBeGreaterThan(0.05);
    expect(c.crash.adlOverLiquidated).toBeLessThan(0.4);
    // A typical day: 0.2-0.3% reported; within a factor of about three of it, with a static book.
    expect(c.dayMedian).toBeGreaterThan(0.001);
    expect(c.dayMedian).toBeLessThan(0.01);
    expect(c.fall.notional).toBeLessThan(0.01);
    expect(c.failingAtMarks).toBeLessThan(0.002);
    // The stress profile: most of one side in the crash, a third of it on an ordinary day.
    expect(s.crash.notional).toBeGreaterThan(0.5);
    expect(s.dayMedian).toBeGreaterThan(0.1);
    expect(s.fall.notional).toBeGreaterThan(0.1);
    expect(s.failingAtMarks).toBeGreaterThan(c.failingAtMarks);
    expect(s.crash.accounts).toBeGreaterThan(c.crash.accounts);
  }, 120_000);

  test('measures an empty book as zeros', async () => {
    const engine = decodeBookBinary(encodeBookBinary(loadEmpty()), { hugePages: false });
    const m = await measureFragility(engine, { crash: readScenarioFile(DEFAULT_SCENARIO_PATH), day: readScenarioFile(TYPICAL_DAY_SCENARIO_PATH) });
    expect(m).toEqual({ accounts: 0, oneSideMicro: 0n, failingAtMarks: 0, fall: { accounts: 0, notional: 0 }, day: [0, 0, 0], dayMedian: 0, crash: { accounts: 0, notional: 0, adlOverLiquidated: 0 } });
  });
});

function loadEmpty() {
  const scratch = mkdtempSync(join(tmpdir(), 'liq-fragility-'));
  try {
    const file = join(scratch, 'empty.bin');
    writeBookColumnsFile(file, generateBook({ accounts: 0, seed: 1 }));
    return loadBookBinaryFile(file);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
