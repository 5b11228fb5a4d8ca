// The benchmark gate (`npm run bench:check`): a reduced suite (bench/thresholds.json says how big),
// then each same-run ratio against its threshold. Each ratio is the median of pairwise ratios of
// alternating runs (bench/paired.ts); one that falls short is measured again, and the gate fails
// only when every attempt fell short. Exits 1 naming every ratio below its threshold.
// Only ratios are gated: absolute times on a shared machine say more about the neighbours.
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RATIO_NAMES, formatSuite, runSuite, suiteOptionsFromArgs, type RatioName } from './suite.js';

interface Thresholds {
  accounts: number;
  /** Ratios measured and printed but not gated, and why (bench/README.md). */
  informational?: Partial<Record<RatioName, string>>;
  taskMs: number;
  /** Budget of one paired measurement of a ratio (ms), and how many attempts a ratio gets. */
  ratioMs: number;
  attempts: number;
  ratios: Record<RatioName, number>;
  /** The medians the thresholds were set from (bench/README.md says how); informational. */
  measured?: unknown;
}

const thresholdsPath = fileURLToPath(new URL('../../bench/thresholds.json', import.meta.url));
const thresholds = JSON.parse(readFileSync(thresholdsPath, 'utf8')) as Thresholds;
const gated = RATIO_NAMES.filter((name) => thresholds.informational?.[name] === undefined);
for (const name of gated) {
  if (typeof thresholds.ratios[name] !== 'number') throw new Error(`bench/thresholds.json: ratios.${name} is missing (or list it under "informational" with the reason)`);
}
const options = suiteOptionsFromArgs(process.argv.slice(2), {
  accounts: thresholds.accounts,
  taskMs: thresholds.taskMs,
  ratioMs: thresholds.ratioMs,
  attempts: thresholds.attempts,
  thresholds: Object.fromEntries(gated.map((name) => [name, thresholds.ratios[name]])),
});
const result = await runSuite(options);
process.stdout.write(`${formatSuite(result)}\n\n`);
mkdirSync('bench/results', { recursive: true });
writeFileSync(`bench/results/check-${result.accounts}.json`, `${JSON.stringify(result, null, 2)}\n`);

const failed: string[] = [];
for (const name of RATIO_NAMES) {
  const why = thresholds.informational?.[name];
  if (why !== undefined) {
    process.stdout.write(`info  ${name.padEnd(22)} ${result.ratios[name].toFixed(2).padStart(7)}  (not gated: ${why})\n`);
    continue;
  }
  const measured = result.ratios[name];
  const minimum = thresholds.ratios[name];
  const ok = measured >= minimum;
  const tries = result.ratioAttempts[name].map((attempt) => attempt.ratio.toFixed(2)).join(', ');
  process.stdout.write(`${ok ? 'pass' : 'FAIL'}  ${name.padEnd(22)} ${measured.toFixed(2).padStart(7)}  (threshold ${minimum}; attempts ${tries})\n`);
  if (!ok) failed.push(`${name} ${measured.toFixed(2)} < ${minimum}`);
}
if (failed.length > 0) {
  process.stderr.write(`bench:check: ${failed.length} ratio(s) below threshold: ${failed.join('; ')}\n`);
  process.exitCode = 1;
} else {
  process.stdout.write('bench:check: every ratio at or above its threshold\n');
}
