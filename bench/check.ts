// The benchmark gate (`npm run bench:check`): a reduced suite (bench/thresholds.json says how big),
// then each same-run ratio against its threshold. Each ratio is the median of pairwise ratios of
// alternating runs (bench/paired.ts); one that falls short is measured again, and the gate fails
// only when every attempt fell short. Exits 1 naming every ratio below its threshold.
// Only ratios are gated: absolute times on a shared machine say more about the neighbours. The
// ratios against other implementations (the float64, object and BigInt peers) depend on the CPU's
// microarchitecture as much as on this code, so a CPU profile of bench/thresholds.json whose
// `match` is part of this machine's CPU model and family ("AMD EPYC family 26") sets its own
// thresholds for those it names.
// Then, unless `--no-feed`, the live server's ratio (bench/feed.ts): `liq serve` on a small book
// (thresholds.json's `feed`), ticks over loopback against the same batches in process.
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { RATIO_NAMES, formatSuite, runSuite, suiteOptionsFromArgs, type RatioName } from './suite.js';
import { FEED_RATIO_NAMES, feedOptionsFromArgs, formatFeed, runFeed, type FeedRatioName } from './feed.js';

interface Thresholds {
  accounts: number;
  /** Ratios measured and printed but not gated, and why (bench/README.md). */
  informational?: Partial<Record<RatioName, string>>;
  taskMs: number;
  /** Budget of one paired measurement of a ratio (ms), and how many attempts a ratio gets. */
  ratioMs: number;
  attempts: number;
  ratios: Record<RatioName, number> & Partial<Record<FeedRatioName, number>>;
  /** Thresholds for the CPUs whose model contains `match` (the first profile that matches), where they differ. */
  cpuProfiles?: { match: string; ratios: Partial<Record<RatioName | FeedRatioName, number>>; measured?: unknown }[];
  /** The live server's short run (bench/feed.ts): its book and its paired tick rounds. */
  feed?: { accounts: number; rounds: number; roundMs: number; warmupMs: number; measured?: unknown };
  /** The medians the thresholds were set from (bench/README.md says how); informational. */
  measured?: unknown;
}

const thresholdsPath = fileURLToPath(new URL('../../bench/thresholds.json', import.meta.url));
const thresholds = JSON.parse(readFileSync(thresholdsPath, 'utf8')) as Thresholds;
const gated = RATIO_NAMES.filter((name) => thresholds.informational?.[name] === undefined);
for (const name of gated) {
  if (typeof thresholds.ratios[name] !== 'number') throw new Error(`bench/thresholds.json: ratios.${name} is missing (or list it under "informational" with the reason)`);
}
const model = cpuDescription();
const profile = thresholds.cpuProfiles?.find((candidate) => model.includes(candidate.match));
const feedGated: FeedRatioName[] = thresholds.feed === undefined || process.argv.includes('--no-feed') ? [] : [...FEED_RATIO_NAMES];
for (const name of feedGated) {
  if (typeof thresholds.ratios[name] !== 'number') throw new Error(`bench/thresholds.json: ratios.${name} is missing (bench/feed.ts measures it when "feed" is set)`);
}
for (const [name, value] of Object.entries(profile?.ratios ?? {})) {
  if (!gated.includes(name as RatioName) && !(FEED_RATIO_NAMES as readonly string[]).includes(name)) throw new Error(`bench/thresholds.json: cpuProfiles "${profile!.match}" sets ${name}, which is not a gated ratio`);
  if (typeof value !== 'number' || !(value > 0)) throw new Error(`bench/thresholds.json: cpuProfiles "${profile!.match}" ratios.${name} must be a positive number`);
}
/**
 * This machine's CPU as the profiles match it: its model name, and its family where /proc/cpuinfo
 * says it (a hypervisor may call every AMD EPYC generation "AMD EPYC": the family tells them apart).
 */
function cpuDescription(): string {
  const name = cpus()[0]?.model ?? 'unknown';
  let cpuinfo = '';
  try {
    cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return name; // not Linux
  }
  const family = /^cpu family\s*:\s*(\d+)/m.exec(cpuinfo)?.[1];
  return family === undefined ? name : `${name} family ${family}`;
}
/** The threshold of each gated ratio on this machine. */
const minimums = Object.fromEntries(gated.map((name) => [name, profile?.ratios[name] ?? thresholds.ratios[name]])) as Record<RatioName, number>;
process.stdout.write(`thresholds: bench/thresholds.json, ${profile ? `CPU profile "${profile.match}"` : 'no CPU profile'} for ${model}\n`);
const options = suiteOptionsFromArgs(process.argv.slice(2), {
  accounts: thresholds.accounts,
  taskMs: thresholds.taskMs,
  ratioMs: thresholds.ratioMs,
  attempts: thresholds.attempts,
  thresholds: minimums,
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
  const minimum = minimums[name];
  const ok = measured >= minimum;
  const tries = result.ratioAttempts[name].map((attempt) => attempt.ratio.toFixed(2)).join(', ');
  process.stdout.write(`${ok ? 'pass' : 'FAIL'}  ${name.padEnd(22)} ${measured.toFixed(2).padStart(7)}  (threshold ${minimum}; attempts ${tries})\n`);
  if (!ok) failed.push(`${name} ${measured.toFixed(2)} < ${minimum}`);
}
if (feedGated.length > 0) {
  const feed = thresholds.feed!;
  const feedMinimums = Object.fromEntries(feedGated.map((name) => [name, (profile?.ratios[name] as number | undefined) ?? thresholds.ratios[name]!])) as Record<FeedRatioName, number>;
  const started = performance.now();
  const feedResult = await runFeed(
    feedOptionsFromArgs([], {
      accounts: feed.accounts,
      rounds: feed.rounds,
      roundMs: feed.roundMs,
      warmupMs: feed.warmupMs,
      updates: false,
      crashTicks: 0,
      always: false,
      threshold: feedMinimums.feedTicksOverInProcess,
      attempts: thresholds.attempts,
    }),
  );
  process.stdout.write(`\n${formatFeed(feedResult)}\n(the live feed's part of the gate took ${((performance.now() - started) / 1000).toFixed(0)} s)\n\n`);
  writeFileSync(`bench/results/check-feed-${feedResult.accounts}.json`, `${JSON.stringify(feedResult, null, 2)}\n`);
  for (const name of feedGated) {
    const measured = feedResult.ratios[name];
    const minimum = feedMinimums[name];
    const ok = measured >= minimum;
    const tries = feedResult.ticks.attempts.map((ratio) => ratio.toFixed(2)).join(', ');
    process.stdout.write(`${ok ? 'pass' : 'FAIL'}  ${name.padEnd(22)} ${measured.toFixed(2).padStart(7)}  (threshold ${minimum}; attempts ${tries})\n`);
    if (!ok) failed.push(`${name} ${measured.toFixed(2)} < ${minimum}`);
  }
}
if (failed.length > 0) {
  process.stderr.write(`bench:check: ${failed.length} ratio(s) below threshold: ${failed.join('; ')}\n`);
  process.exitCode = 1;
} else {
  process.stdout.write('bench:check: every ratio at or above its threshold\n');
}
