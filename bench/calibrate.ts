// `npm run bench:calibrate [-- --accounts N --seed S]`: the fragility of each generator profile
// beside the published aggregates the calibrated profile is set against (docs/generator.md,
// "Profiles"). Deterministic: the same figures on any machine for the same options.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadBookBinaryFile, writeBookColumnsFile } from '../src/book/binary.js';
import { GEN_ACCOUNTS_MAX, GEN_PROFILE_NAMES, generateBook } from '../src/gen/generate.js';
import { FRAGILITY_DAY_SEEDS, FRAGILITY_FALL, measureFragility, type FragilityMeasures } from '../src/sim/fragility.js';
import { DEFAULT_SCENARIO_PATH, readScenarioFile, TYPICAL_DAY_SCENARIO_PATH } from '../src/sim/scenario.js';

const { values } = parseArgs({ options: { accounts: { type: 'string', default: '100000' }, seed: { type: 'string', default: '1' } } });
const accounts = Number(values.accounts);
const seed = Number(values.seed);
if (!Number.isInteger(accounts) || accounts < 1 || accounts > GEN_ACCOUNTS_MAX) {
  throw new RangeError(`--accounts takes a whole number from 1 to ${GEN_ACCOUNTS_MAX}, got ${values.accounts}`);
}
if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`--seed takes a whole number ≥ 0, got ${values.seed}`);

const scenarios = { crash: readScenarioFile(DEFAULT_SCENARIO_PATH), day: readScenarioFile(TYPICAL_DAY_SCENARIO_PATH) };
const scratch = mkdtempSync(join(tmpdir(), 'liq-calibrate-'));
const measured = new Map<string, FragilityMeasures>();
try {
  for (const profile of GEN_PROFILE_NAMES) {
    const file = join(scratch, `${profile}.bin`);
    writeBookColumnsFile(file, generateBook({ accounts, seed, profile }));
    measured.set(profile, await measureFragility(loadBookBinaryFile(file), scenarios));
    rmSync(file);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const percent = (share: number) => `${(100 * share).toFixed(2)}%`;
const rows: [string, string, (m: FragilityMeasures) => string][] = [
  ['accounts failing at the marks', '', (m) => percent(m.failingAtMarks)],
  [`every mark ${100 * FRAGILITY_FALL}% lower at once: notional liquidated`, '(no direct figure)', (m) => percent(m.fall.notional)],
  [`typical day (median of seeds ${FRAGILITY_DAY_SEEDS.join(', ')}): notional liquidated`, '0.2-0.3% of OI reported', (m) => `${percent(m.dayMedian)} (${m.day.map(percent).join(', ')})`],
  ['October 2025 crash: notional liquidated', 'about 9% of OI reported, 14-18% estimated', (m) => percent(m.crash.notional)],
  ['October 2025 crash: accounts liquidated', '1.6 million traders (no published base)', (m) => percent(m.crash.accounts)],
  ['October 2025 crash: ADL notional over liquidated notional', 'about 20% on one venue (2.1B of 10.2B)', (m) => percent(m.crash.adlOverLiquidated)],
];
console.log(`Fragility of generated books: ${accounts.toLocaleString('en-US')} accounts, seed ${seed}; notional as a share of one side's (as open interest is quoted)\n`);
console.log(`| measure | published | ${GEN_PROFILE_NAMES.join(' | ')} |`);
console.log(`|---|---|${GEN_PROFILE_NAMES.map(() => '---').join('|')}|`);
for (const [name, published, cell] of rows) console.log(`| ${name} | ${published} | ${GEN_PROFILE_NAMES.map((p) => cell(measured.get(p)!)).join(' | ')} |`);
