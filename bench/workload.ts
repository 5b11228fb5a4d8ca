// The work users bring to a book in motion, shared by the update and churn benchmarks and the gate.
import { MODE_CROSS } from '../src/fixed/constants.js';
import { quotePerUnit } from '../src/book/model.js';
import type { AnyOperation } from '../src/account/operations.js';
import type { Engine } from '../src/engine/engine.js';
import { GEN_PRECISIONS, type GenerationPrecision, type GenerationProfileName } from '../src/gen/generate.js';

/**
 * The generator's profile of the engine benchmarks' book: `stress`, far more leveraged than the
 * calibrated default, so that a sweep, a tick or a crash step has many scopes near and past
 * maintenance to settle. The engine's figures and gate thresholds are measured on it, since before
 * the calibrated profile existed. The gate's simulator ratio uses it too: its crash then liquidates
 * hundreds of thousands of scopes, so that a slower liquidation path shows.
 */
export const BENCH_BOOK_PROFILE: GenerationProfileName = 'stress';

/**
 * A benchmark's `--precision` (the generator's: 'micro', or 'venue' for the instruments venues list,
 * 42 of 100 finer than a micro), 'micro' when not given; a RangeError names what it takes.
 */
export function precisionOption(argv: readonly string[]): GenerationPrecision {
  const index = argv.indexOf('--precision');
  if (index < 0) return 'micro';
  const given = argv[index + 1];
  if (!(GEN_PRECISIONS as readonly string[]).includes(given)) throw new RangeError(`--precision takes one of ${GEN_PRECISIONS.join(', ')}, got ${given}`);
  return given as GenerationPrecision;
}

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Half deposits, half fills. A fill trades one of the account's positions 70% of the time (adds
 * 10–50% or takes off 20–100% of it, in lots) and otherwise opens a position of about 100 to
 * 5,000 quote on one of the 20 largest instruments; at the mark ±0.5%. Some are refused (initial
 * margin, wallet, leverage bracket, an (instrument, mode) already held), as a live feed's would be.
 */
export function mixedUpdates(engine: Engine, random: () => number): () => AnyOperation {
  const accounts = engine.accountCount;
  const pickAccount = () => Math.floor(random() * accounts);
  return (): AnyOperation => {
    const v = engine.views;
    const a = pickAccount();
    if (random() < 0.5) return { kind: 'deposit', accountIndex: a, amountMicro: BigInt(1 + Math.floor(random() * 1e9)) };
    const count = v.accPosCount[a];
    let i: number;
    let mode: 'cross' | 'isolated';
    let sizeUnits: bigint;
    const existing = count > 0 && random() < 0.7;
    if (existing) {
      const j = v.accPosStart[a] + Math.floor(random() * count);
      i = v.posInst[j];
      mode = v.posMode[j] === MODE_CROSS ? 'cross' : 'isolated';
      const lot = engine.instruments[i].lotUnits;
      const lots = (v.posSize[j] < 0n ? -v.posSize[j] : v.posSize[j]) / lot;
      const sign = v.posSize[j] < 0n ? -1n : 1n;
      const add = random() < 0.5;
      let change = (lots * BigInt(Math.floor((add ? 10 + random() * 40 : 20 + random() * 80) * 100))) / 10_000n;
      if (change < 1n) change = 1n;
      sizeUnits = change * lot * (add ? sign : -sign);
    } else {
      i = Math.floor(random() * 20);
      mode = random() < 0.3 ? 'isolated' : 'cross';
      const instrument = engine.instruments[i];
      const notional = BigInt(Math.floor(100 + random() * 4_900)) * 1_000_000n;
      let lots = notional / (quotePerUnit(instrument) * v.instMark[i] * instrument.lotUnits);
      if (lots < 1n) lots = 1n;
      sizeUnits = lots * instrument.lotUnits * (random() < 0.55 ? 1n : -1n);
    }
    const mark = v.instMark[i];
    let priceUnits = (mark * BigInt(Math.floor(995_000 + random() * 10_000))) / 1_000_000n;
    if (priceUnits < 1n) priceUnits = 1n;
    return { kind: 'fill', accountIndex: a, instrument: engine.instruments[i].symbol, mode, sizeUnits, priceUnits };
  };
}

/**
 * Fills that close whole positions, as a cascade's liquidations bring them: each call gives a batch
 * of `count` closes of one position each, on accounts no earlier batch closed a position of, at the
 * mark ±0.5%. Almost all apply (the funding settled first may exceed an isolated margin, a refusal).
 */
export function closingFills(engine: Engine, random: () => number): (count: number) => AnyOperation[] {
  const closed = new Set<number>();
  return (count: number): AnyOperation[] => {
    const v = engine.views;
    const operations: AnyOperation[] = [];
    while (operations.length < count && closed.size < engine.accountCount) {
      const a = Math.floor(random() * engine.accountCount);
      if (closed.has(a) || v.accPosCount[a] === 0) continue;
      closed.add(a);
      const j = v.accPosStart[a] + Math.floor(random() * v.accPosCount[a]);
      const i = v.posInst[j];
      let priceUnits = (v.instMark[i] * BigInt(Math.floor(995_000 + random() * 10_000))) / 1_000_000n;
      if (priceUnits < 1n) priceUnits = 1n;
      const mode = v.posMode[j] === MODE_CROSS ? 'cross' : 'isolated';
      operations.push({ kind: 'fill', accountIndex: a, instrument: engine.instruments[i].symbol, mode, sizeUnits: -v.posSize[j], priceUnits });
    }
    return operations;
  };
}
