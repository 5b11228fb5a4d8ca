// The benchmark gate (`npm run bench:check`): a reduced suite (bench/thresholds.json says how big),
// then each same-run ratio against its threshold. Exits 1 naming every ratio below its threshold.
// Only ratios are gated: absolute times on a shared machine say more about the neighbours.
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RATIO_NAMES, formatSuite, runSuite, suiteOptionsFromArgs, type RatioName } from './suite.js';

interface Thresholds {
  accounts: number;
  taskMs: number;
  ratios: Record<RatioName, number>;
  /** The medians the thresholds were set from (bench/README.md says how); informational. */
  measured?: unknown;
}

const thresholdsPath = fileURLToPath(new URL('../../bench/thresholds.json', import.meta.url));
const thresholds = JSON.parse(readFileSync(thresholdsPath, 'utf8')) as Thresholds;
for (const name of RATIO_NAMES) {
  if (typeof thresholds.ratios[name] !== 'number') throw new Error(`bench/thresholds.json: ratios.${name} is missing`);
}
const options = suiteOptionsFromArgs(process.argv.slice(2), { accounts: thresholds.accounts, taskMs: thresholds.taskMs });
const result = await runSuite(options);
process.stdout.write(`${formatSuite(result)}\n\n`);
mkdirSync('bench/results', { recursive: true });
writeFileSync(`bench/results/check-${result.accounts}.json`, `${JSON.stringify(result, null, 2)}\n`);

const failed: string[] = [];
for (const name of RATIO_NAMES) {
  const measured = result.ratios[name];
  const minimum = thresholds.ratios[name];
  const ok = measured >= minimum;
  process.stdout.write(`${ok ? 'pass' : 'FAIL'}  ${name.padEnd(22)} ${measured.toFixed(2).padStart(7)}  (threshold ${minimum})\n`);
  if (!ok) failed.push(`${name} ${measured.toFixed(2)} < ${minimum}`);
}
if (failed.length > 0) {
  process.stderr.write(`bench:check: ${failed.length} ratio(s) below threshold: ${failed.join('; ')}\n`);
  process.exitCode = 1;
} else {
  process.stdout.write('bench:check: every ratio at or above its threshold\n');
}
