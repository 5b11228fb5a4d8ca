// Same-run ratios that hold on a shared, noisy machine. Two tasks are timed in short alternating
// pairs (A then B, then B then A, ...), each pair gives one ratio, and the ratio reported is the
// median of those pairwise ratios. A neighbour that takes a core for a while slows both halves of
// the pairs it lands in, or spoils a few pairs that the median ignores, where two medians taken
// seconds apart (tinybench's tasks run one after the other) compare the machine at two moments.
//
// The gate (bench/check.ts) re-measures a ratio that falls short before it fails, so a ratio
// fails only when it falls short in every attempt. A slower kernel falls short in all of them.

/** One timed side of a pair: a synchronous or asynchronous run of the work, repeated `reps` times. */
export type Work = () => unknown;

export interface PairSide {
  name: string;
  run: Work;
  /** Untimed work before each run (the churn a sweep after updates is measured after). */
  setup?: Work;
  /**
   * Units of work one run does (positions, operations): the ratio compares rates, so two sides
   * that do different amounts of work (the BigInt reference runs on a slice) compare fairly.
   */
  units: number;
}

export interface PairedOptions {
  /** Time to spend on the pairs (ms): it sets their number, within [minPairs, maxPairs]. */
  budgetMs: number;
  minPairs: number;
  maxPairs: number;
  /** Each side of a pair repeats its work until it has run at least this long (ms). */
  sampleMs: number;
  /** Untimed runs of each side before the first pair. */
  warmupRuns: number;
}

export interface PairedResult {
  /** Median of the pairwise ratios: A's rate over B's rate. */
  ratio: number;
  /** The pairwise ratios, in the order they were taken. */
  ratios: number[];
  /** Lower and upper quartiles of the pairwise ratios (a spread, for the report). */
  q1: number;
  q3: number;
  /** Median time per run of each side, ms, in the order of the sides. */
  sideMs: number[];
  /** Runs each side repeated inside one sample, in the order of the sides. */
  sideReps: number[];
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** The q-quantile of the values by linear interpolation between order statistics. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new RangeError('quantile of no values');
  const sorted = [...values].sort((x, y) => x - y);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low] + (sorted[high] - sorted[low]) * (at - low);
}

async function settle(result: unknown): Promise<void> {
  if (result instanceof Promise) await result;
}

/** Time of `reps` runs of the side, ms, its setup before each run left out. */
async function timeRuns(side: PairSide, reps: number): Promise<number> {
  if (side.setup === undefined) {
    const start = performance.now();
    for (let k = 0; k < reps; k++) await settle(side.run());
    return performance.now() - start;
  }
  let total = 0;
  for (let k = 0; k < reps; k++) {
    await settle(side.setup());
    const start = performance.now();
    await settle(side.run());
    total += performance.now() - start;
  }
  return total;
}

/**
 * Times the sides in interleaved rounds (each round runs every side once, the order rotating from
 * round to round) and returns the median over rounds of `combine` applied to the round's rates
 * (units per ms, in the order of `sides`). Each side repeats its work within a sample until the
 * sample lasts about `sampleMs`, so that a 5 ms task and a 500 ms task still compare like with like.
 */
export async function interleavedRatio(sides: readonly PairSide[], combine: (rates: number[]) => number, options: PairedOptions): Promise<PairedResult> {
  for (let k = 0; k < options.warmupRuns; k++) for (const side of sides) await timeRuns(side, 1);
  // One timed run of each to size the samples and count the rounds.
  const once: number[] = [];
  for (const side of sides) once.push(await timeRuns(side, 1));
  const reps = once.map((ms) => Math.max(1, Math.ceil(options.sampleMs / Math.max(ms, 1e-3))));
  const roundMs = once.reduce((sum, ms, k) => sum + ms * reps[k], 0);
  const rounds = Math.min(options.maxPairs, Math.max(options.minPairs, Math.round(options.budgetMs / roundMs)));
  const ratios: number[] = [];
  const times: number[][] = sides.map(() => []);
  for (let round = 0; round < rounds; round++) {
    // Rotate the order (and reverse it every other round), so no side always runs first or after the same one.
    const order = sides.map((_, k) => (k + round) % sides.length);
    if (round % 2 === 1) order.reverse();
    const ms: number[] = new Array<number>(sides.length);
    for (const k of order) ms[k] = (await timeRuns(sides[k], reps[k])) / reps[k];
    ms.forEach((value, k) => times[k].push(value));
    ratios.push(combine(ms.map((value, k) => sides[k].units / value)));
  }
  return {
    ratio: median(ratios),
    ratios,
    q1: quantile(ratios, 0.25),
    q3: quantile(ratios, 0.75),
    sideMs: times.map(median),
    sideReps: reps,
  };
}

/** A's rate over B's, from alternating pairs (interleavedRatio of two sides). */
export function pairedRatio(a: PairSide, b: PairSide, options: PairedOptions): Promise<PairedResult> {
  return interleavedRatio([a, b], ([rateA, rateB]) => rateA / rateB, options);
}
