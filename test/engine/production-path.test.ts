// The production path under the changes users make. A live feed and a cascade both change the
// book between sweeps: batches of account updates, ticks, crashes, funding, tier tables revised,
// mode switches, flips, positions opened in blocks that must move. After every such step, the status sweep that users
// run (the chunk sweep on one thread, and the pool on 1, 2 and 4 workers) must give every scope
// the status the BigInt reference gives it, and the same liquidatable set. The reference is an
// independent evaluation of the book as it stands (Engine.toBook), per account, cached on the
// account's inputs and its instruments' state, so only accounts whose inputs moved are evaluated
// again.
import { afterAll, describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../../src/engine/engine.js';
import { SweepPool } from '../../src/pool/pool.js';
import { IncrementalEvaluator, type StepPath } from '../../src/engine/incremental.js';
import { applyOperation, type Operation } from '../../src/account/operations.js';
import { applyBatch } from '../../src/account/batch.js';
import { evaluateAccount } from '../../src/reference/evaluate.js';
import { MODE_CROSS, FUNDING_INDEX_ABS_MAX } from '../../src/fixed/constants.js';
import { CHUNK_META_BYTES, HEADER_SLOTS, HeaderSlot, OP_BYTES, OP_FILL, OP_KIND, OP_MODE, OP_OUTCOME, OUTCOME_REFRESHED, SLOT_CROSS, chunksOf } from '../../src/memory/layout.js';
import { quotePerUnit, valueDivisor, type Account, type Book, type Instrument, type Tier } from '../../src/book/model.js';
import { revisedTiers } from '../support/tiers.js';
import { bookArbitrary } from '../support/arbitraries.js';
import { prng } from '../../bench/workload.js';
import { statusBytes, sweptStatuses } from '../support/scopes.js';
import { markMax } from '../support/marks.js';
import { kernelU32 } from '../../src/engine/kernel-constants.js';
import { TWO_GIB, padAboveTwoGiB } from '../support/memory.js';

const pools: SweepPool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.close()));
});


/**
 * A funding step sets one instrument's index, whose refresh of the chunk records is deferred in a
 * funding slot; `then` operations applied after it (before any sweep) reach chunks still pending
 * (each settles its chunk first), and `again` sets a second index before any sweep (it joins the
 * slots in use, and the chunks the operations settled take a new one).
 */
type Step =
  | { kind: 'batch'; operations: Operation[]; whole: boolean }
  | { kind: 'tick'; instrument: number; ppm: number }
  | { kind: 'crash'; ppm: number[] }
  | { kind: 'funding'; instrument: number; delta: bigint; then: Operation[]; whole: boolean; again: { instrument: number; delta: bigint } | null }
  | { kind: 'tiers'; instrument: number; tiers: Tier[]; then: Operation[]; whole: boolean };

/** What the reference says of the book: each scope's status, and the liquidatable set in list order. */
interface Expected {
  accountStatus: string[];
  /** Per position slot in use: the isolated status, or null for a cross slot. */
  positionStatus: Map<number, string>;
  scopes: number[];
}

class ReferenceCache {
  private readonly cache = new Map<string, ReturnType<typeof evaluateAccount>>();
  evaluations = 0;

  expected(engine: Engine): Expected {
    const book = engine.toBook();
    const tierKeys = book.instruments.map(tiersKey);
    const v = engine.views;
    const accountStatus: string[] = [];
    const positionStatus = new Map<number, string>();
    const scopes: number[] = [];
    const seen = new Set<string>();
    book.accounts.forEach((account, a) => {
      const key = accountKey(book.instruments, tierKeys, account);
      seen.add(key);
      let result = this.cache.get(key);
      if (result === undefined) {
        result = evaluateAccount({ instruments: book.instruments, accounts: [account] }, 0);
        this.cache.set(key, result);
        this.evaluations++;
      }
      accountStatus.push(result.crossStatus);
      result.positions.forEach((position, k) => {
        const j = v.accPosStart[a] + k;
        if (position.status !== null) {
          positionStatus.set(j, position.status);
          if (position.status !== 'healthy') scopes.push(a, j);
        }
      });
      if (result.crossStatus !== 'healthy') scopes.push(a, SLOT_CROSS);
    });
    // Forget what no account is any more, so the cache stays the size of the book.
    for (const key of this.cache.keys()) if (!seen.has(key)) this.cache.delete(key);
    return { accountStatus, positionStatus, scopes };
  }
}

/** Every input of one account's evaluation: its balance and positions, and its instruments' state (mark, funding index, tier table). */
function accountKey(instruments: Instrument[], tierKeys: string[], account: Account): string {
  const parts: string[] = [account.balanceMicro.toString()];
  for (const p of account.positions) {
    const i = instruments[p.instrument];
    parts.push(`${p.instrument}:${p.sizeUnits}:${p.costMicro}:${p.mode}:${p.marginMicro}:${p.fundingIndex}:${i.markUnits}:${i.fundingIndex}:${tierKeys[p.instrument]}`);
  }
  return parts.join('|');
}

function tiersKey(instrument: Instrument): string {
  return instrument.tiers.map((t) => `${t.upToNotional}/${t.ratePpm}/${t.leverageMax}`).join(',');
}

function moveMark(engine: Engine, i: number, ppm: number): void {
  const mark = engine.views.instMark[i];
  let next = (mark * BigInt(1_000_000 + ppm)) / 1_000_000n;
  if (next === mark) next = mark + (ppm >= 0 ? 1n : -1n);
  const limit = markMax(engine, i);
  next = next < 1n ? 1n : next > limit ? limit : next;
  const result = applyOperation(engine, { kind: 'setMark', instrument: engine.instruments[i].symbol, priceUnits: next });
  expect(result.ok, `setMark ${engine.instruments[i].symbol} ${next}`).toBe(true);
}

/** Random account operations on the book as it stands: most are valid, some are refused. */
function randomOperation(engine: Engine, random: () => number): Operation {
  const v = engine.views;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const a = Math.floor(random() * engine.accountCount);
  const account = engine.accountIds.get(a);
  const slots: number[] = [];
  for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) slots.push(j);
  const i = Math.floor(random() * engine.instruments.length);
  const instrument = engine.instruments[i];
  const amount = (): bigint => {
    const r = random();
    if (r < 0.03) return 0n; // refused
    if (r < 0.05) return -1n; // refused
    return BigInt(Math.floor(10 ** (random() * 12))) + 1n;
  };
  const kind = pick(['deposit', 'withdraw', 'fill', 'fill', 'fill', 'fill', 'addMargin', 'removeMargin', 'setLeverage', 'switchMode', 'settleFunding', 'charge'] as const);
  const existing = slots.length > 0 && random() < 0.7 ? pick(slots) : -1;
  const symbolOf = (j: number) => engine.instruments[v.posInst[j]].symbol;
  const modeOf = (j: number) => (v.posMode[j] === MODE_CROSS ? ('cross' as const) : ('isolated' as const));
  switch (kind) {
    case 'deposit':
      return { kind, account, amountMicro: amount() };
    case 'withdraw':
      return { kind, account, amountMicro: random() < 0.5 && v.accBalance[a] > 0n ? (v.accBalance[a] * BigInt(Math.floor(random() * 1200))) / 1000n : amount() };
    case 'addMargin':
    case 'removeMargin':
      return { kind, account, instrument: existing >= 0 ? symbolOf(existing) : instrument.symbol, amountMicro: amount() };
    case 'setLeverage':
      return { kind, account, instrument: existing >= 0 ? symbolOf(existing) : instrument.symbol, mode: existing >= 0 ? modeOf(existing) : 'cross', leverage: 1 + Math.floor(random() * 130) };
    case 'switchMode': {
      if (existing < 0) return { kind, account, instrument: instrument.symbol, to: 'isolated', marginMicro: amount() };
      const to = modeOf(existing) === 'cross' ? ('isolated' as const) : ('cross' as const);
      return to === 'isolated' ? { kind, account, instrument: symbolOf(existing), to, marginMicro: (v.accBalance[a] * BigInt(Math.floor(random() * 800))) / 1000n } : { kind, account, instrument: symbolOf(existing), to };
    }
    case 'settleFunding':
      return random() < 0.5 ? { kind, account } : { kind, account, instrument: existing >= 0 ? symbolOf(existing) : instrument.symbol };
    case 'charge':
      // A fee from the wallet, or from an isolated margin (the cascade simulator's liquidation fee).
      return existing >= 0 && modeOf(existing) === 'isolated' ? { kind, account, instrument: symbolOf(existing), amountMicro: amount() } : { kind, account, amountMicro: amount() };
    case 'fill': {
      // Close, reduce, flip or add to a position held, or open a new one (often in a block that must move).
      const j = existing;
      const symbol = j >= 0 ? symbolOf(j) : instrument.symbol;
      const inst = j >= 0 ? engine.instruments[v.posInst[j]] : instrument;
      const mode = j >= 0 ? modeOf(j) : random() < 0.5 ? ('cross' as const) : ('isolated' as const);
      const mark = v.instMark[j >= 0 ? v.posInst[j] : i];
      const price = mark + (mark * BigInt(Math.floor(random() * 20_001) - 10_000)) / 1_000_000n;
      let size: bigint;
      const held = j >= 0 ? v.posSize[j] : 0n;
      const r = random();
      if (held !== 0n && r < 0.3) size = -held; // close
      else if (held !== 0n && r < 0.45) size = -2n * held; // flip
      else if (held !== 0n && r < 0.6) size = -held / 2n; // reduce
      else {
        // A notional of 10^1..10^9 quote, in lots.
        const q = quotePerUnit(inst);
        const notional = BigInt(Math.floor(10 ** (1 + random() * 8))) * 1_000_000n * valueDivisor(inst);
        const lots = notional / (q * (mark > 0n ? mark : 1n) * inst.lotUnits);
        size = (lots > 0n ? lots : 1n) * inst.lotUnits * (random() < 0.5 ? -1n : 1n);
      }
      if (size % inst.lotUnits !== 0n) size -= size % inst.lotUnits;
      if (size === 0n) size = inst.lotUnits;
      return { kind, account, instrument: symbol, mode, sizeUnits: size, priceUnits: price > 0n ? price : 1n };
    }
  }
}

function randomStep(engine: Engine, random: () => number): Step {
  const r = random();
  const instruments = engine.instruments.length;
  if (r < 0.5) {
    const count = 1 + Math.floor(random() * 24);
    // Half the batches go through applyBatch whole (deposits and fills of held positions applied or
    // refused in the kernel), half one operation at a time, each refusal checked to change nothing.
    return { kind: 'batch', operations: Array.from({ length: count }, () => randomOperation(engine, random)), whole: random() < 0.5 };
  }
  if (r < 0.8) {
    // A normal tick (0.01–0.1%) most of the time, a broad move (up to 2%) otherwise.
    const size = random() < 0.7 ? 100 + random() * 900 : random() * 20_000;
    return { kind: 'tick', instrument: Math.floor(random() * instruments), ppm: Math.round(size) * (random() < 0.5 ? -1 : 1) };
  }
  if (r < 0.91) return { kind: 'crash', ppm: Array.from({ length: instruments }, () => (random() < 0.5 ? -50_000 : 50_000) + Math.round((random() - 0.5) * 20_000)) };
  if (r < 0.93) {
    // A tier table revised, alone or in a batch whose later updates take its brackets.
    const instrument = Math.floor(random() * instruments);
    const then = random() < 0.6 ? Array.from({ length: 1 + Math.floor(random() * 12) }, () => randomOperation(engine, random)) : [];
    return { kind: 'tiers', instrument, tiers: revisedTiers(engine.instruments[instrument].tiers, random), then, whole: random() < 0.5 };
  }
  // Half the moves as a venue's funding is, a share of the mark (up to ±1%: ΔF = mark·10^6·share,
  // which the sweep folds into its first pass); the others any size up to ±10^9 index units (on the
  // small marks of edge books, moves the sweep takes record by record).
  const funding = () => {
    const instrument = Math.floor(random() * instruments);
    const delta = random() < 0.5 ? engine.views.instMark[instrument] * BigInt(Math.round((random() - 0.5) * 20_000)) : BigInt(Math.round((random() - 0.5) * 2e9));
    return { instrument, delta };
  };
  const first = funding();
  const then = random() < 0.6 ? Array.from({ length: 1 + Math.floor(random() * 12) }, () => randomOperation(engine, random)) : [];
  return { kind: 'funding', ...first, then, whole: random() < 0.5, again: random() < 0.3 ? funding() : null };
}

/** Chunks a deferred funding refresh has still to reach (their meta's CHUNK_FUNDING word). */
/** The funding slots the pending chunks name, counted once each. */
function slotsInUse(engine: Engine): number {
  const header = new Uint32Array(engine.memory.buffer, engine.layout.header, HEADER_SLOTS);
  const metas = new Uint32Array(engine.memory.buffer, header[HeaderSlot.chunks], (chunksOf(engine.accountCount) * CHUNK_META_BYTES) / 4);
  const slots = new Set<number>();
  for (let chunk = 0; chunk < chunksOf(engine.accountCount); chunk++) {
    const funding = metas[(chunk * CHUNK_META_BYTES + kernelU32('CHUNK_FUNDING')) / 4];
    if ((funding & kernelU32('CHUNK_FUNDING_STATE_MASK')) === kernelU32('CHUNK_FUNDING_PENDING')) slots.add(funding >>> kernelU32('CHUNK_FUNDING_SLOT_SHIFT'));
  }
  return slots.size;
}

function pendingChunks(engine: Engine): number {
  const header = new Uint32Array(engine.memory.buffer, engine.layout.header, HEADER_SLOTS);
  const W = CHUNK_META_BYTES / 4;
  const chunks = chunksOf(engine.accountCount);
  const meta = new Uint32Array(engine.memory.buffer, header[HeaderSlot.chunks], chunks * W);
  const word = kernelU32('CHUNK_FUNDING') / 4;
  let pending = 0;
  for (let chunk = 0; chunk < chunks; chunk++) if (meta[chunk * W + word] !== 0) pending++;
  return pending;
}

/**
 * Where each chunk's records are, whether any chunk is fresh (its records kept, not marked for
 * rebuilding), where the region's tail is, and the kernel's compaction state and count: to count
 * moves, compactions and repacks.
 */
function recordsPlacement(engine: Engine): { offsets: number[]; anyFresh: boolean; tail: number; compacting: boolean; compactions: number } {
  const header = new Uint32Array(engine.memory.buffer, engine.layout.header, HEADER_SLOTS);
  const W = CHUNK_META_BYTES / 4;
  const chunks = chunksOf(engine.accountCount);
  const meta = new Uint32Array(engine.memory.buffer, header[HeaderSlot.chunks], chunks * W);
  const stateWord = kernelU32('CHUNK_STATE') / 4;
  const fresh = kernelU32('CHUNK_FRESH');
  return {
    offsets: Array.from({ length: chunks }, (_, chunk) => meta[chunk * W]),
    anyFresh: Array.from({ length: chunks }, (_, chunk) => meta[chunk * W + stateWord]).includes(fresh),
    tail: header[HeaderSlot.recordsTail],
    compacting: header[HeaderSlot.compactState] === kernelU32('COMPACT_SLIDING'),
    compactions: header[HeaderSlot.compactions],
  };
}

/** Lets a compaction of the records region start as soon as its holes are worth one (assembly/chunks.ts placedAtTail). */
function earlyCompaction(engine: Engine): void {
  const header = new Uint32Array(engine.memory.buffer, engine.layout.header, HEADER_SLOTS);
  header[HeaderSlot.compactStartFree] = header[HeaderSlot.recordsBytes];
}

/** Whether some account's position block no longer starts where the previous one ends. */
function blocksMoved(engine: Engine): boolean {
  const v = engine.views;
  let next = 0;
  for (let a = 0; a < engine.accountCount; a++) {
    if (v.accPosStart[a] !== next) return true;
    next += v.accPosCount[a];
  }
  return false;
}

/** The instruments' tier tables and tier columns. */
function tierState(engine: Engine): string {
  const v = engine.views;
  const columns = [v.instTierCount, v.tierFloor, v.tierRate, v.tierCumLo, v.tierCumHi, v.tierLeverage].map((column) => Array.from(column as ArrayLike<unknown>).join(','));
  return `${engine.instruments.map(tiersKey).join(';')}#${columns.join('#')}`;
}

/** A fingerprint of everything an operation could change: refused ones must leave it as it was. */
function fingerprint(engine: Engine): string {
  const v = engine.views;
  const parts = [String(engine.positionsUsed), engine.sizeHighWater.join(','), tierState(engine)];
  for (let a = 0; a < engine.accountCount; a++) {
    parts.push(`${v.accBalance[a]}/${v.accPosStart[a]}/${v.accPosCount[a]}`);
    for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
      parts.push(`${v.posSize[j]},${v.posCost[j]},${v.posMargin[j]},${v.posFunding[j]},${v.posInst[j]},${v.posMode[j]},${v.posLeverage[j]}`);
    }
  }
  return parts.join(';');
}

/** The same for one account and the engine-wide state: cheap enough for every operation. */
function accountFingerprint(engine: Engine, id: string): string {
  const v = engine.views;
  const a = engine.accountIds.indexOf(id);
  const parts = [String(engine.positionsUsed), engine.sizeHighWater.join(','), tierState(engine)];
  if (a !== undefined) {
    parts.push(`${v.accBalance[a]}/${v.accPosStart[a]}/${v.accPosCount[a]}`);
    for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
      parts.push(`${v.posSize[j]},${v.posCost[j]},${v.posMargin[j]},${v.posFunding[j]},${v.posInst[j]},${v.posMode[j]},${v.posLeverage[j]}`);
    }
  }
  return parts.join(';');
}

/**
 * Applies a step. Every refused operation is shown to leave its account and the engine-wide state
 * (slots handed out, compaction, size high-water marks, layout) as they were; with `wholeBook`,
 * every account.
 */
function applyStep(engine: Engine, step: Step, wholeBook: boolean): { applied: number; refused: number; charged: number; settledByUpdates: number; merged: number; tiersSet: boolean } {
  let applied = 0;
  let refused = 0;
  let settledByUpdates = 0;
  let charged = 0;
  let merged = 0;
  let tiersSet = false;
  /** Applies `list`; returns whether its first operation was applied. */
  const operations = (list: Operation[], whole: boolean): boolean => {
    if (whole) {
      const batch = applyBatch(engine, list);
      applied += batch.applied;
      refused += batch.refused;
      batch.results.forEach((result, k) => {
        if (result.ok && list[k].kind === 'charge') charged++;
      });
      return batch.results[0]?.ok ?? false;
    }
    let first = false;
    for (const operation of list) {
      const snapshot = (): string => (wholeBook ? fingerprint(engine) : accountFingerprint(engine, 'account' in operation ? operation.account : ''));
      const before = snapshot();
      const result = applyOperation(engine, operation);
      if (operation === list[0]) first = result.ok;
      if (result.ok && operation.kind === 'charge') charged++;
      if (result.ok) applied++;
      else {
        refused++;
        expect(snapshot(), `refused ${operation.kind} changed the book: ${result.reason}`).toBe(before);
      }
    }
    return first;
  };
  const setFunding = (instrument: number, delta: bigint): void => {
    const symbol = engine.instruments[instrument].symbol;
    let index = engine.views.instFunding[instrument] + delta;
    if (index > FUNDING_INDEX_ABS_MAX) index = FUNDING_INDEX_ABS_MAX;
    if (index < -FUNDING_INDEX_ABS_MAX) index = -FUNDING_INDEX_ABS_MAX;
    const result = applyOperation(engine, { kind: 'setFundingIndex', instrument: symbol, fundingIndex: index });
    if (result.ok) applied++;
    else refused++;
  };
  switch (step.kind) {
    case 'batch':
      operations(step.operations, step.whole);
      break;
    case 'tick':
      moveMark(engine, step.instrument, step.ppm);
      break;
    case 'crash':
      step.ppm.forEach((ppm, i) => moveMark(engine, i, ppm));
      break;
    case 'tiers': {
      const setTiers: Operation = { kind: 'setTiers', instrument: engine.instruments[step.instrument].symbol, tiers: step.tiers };
      tiersSet = operations([setTiers, ...step.then], step.whole);
      break;
    }
    case 'funding': {
      setFunding(step.instrument, step.delta);
      // Updates while chunks are pending: each settles its chunk before its account's refresh.
      const pending = pendingChunks(engine);
      operations(step.then, step.whole);
      settledByUpdates = pending - pendingChunks(engine);
      if (step.again !== null) {
        setFunding(step.again.instrument, step.again.delta);
        // The second index joined the slot of every chunk still pending (none settled for it).
        if (pendingChunks(engine) > 0) merged++;
      }
      break;
    }
  }
  return { applied, refused, charged, settledByUpdates, merged, tiersSet };
}

function describeStep(step: Step): string {
  switch (step.kind) {
    case 'batch':
      return `batch of ${step.operations.length}: ${step.operations.map((o) => o.kind).join(', ')}`;
    case 'tick':
      return `tick of instrument ${step.instrument} by ${step.ppm} ppm`;
    case 'crash':
      return `crash ${step.ppm.join('/')} ppm`;
    case 'tiers':
      return `tier table of instrument ${step.instrument}: ${step.tiers.map((t) => `${t.upToNotional ?? '∞'}@${t.ratePpm}x${t.leverageMax}`).join(' ')}` + (step.then.length > 0 ? `, then ${step.then.map((o) => o.kind).join(', ')}` : '');
    case 'funding':
      return (
        `funding of instrument ${step.instrument} by ${step.delta}` +
        (step.then.length > 0 ? `, then ${step.then.map((o) => o.kind).join(', ')}` : '') +
        (step.again !== null ? `, then funding of instrument ${step.again.instrument} by ${step.again.delta}` : '')
      );
  }
}

/** Steps per `npm test` (at least 10,000; LIQ_STEPS sets fewer per book for a quick look), over this many books. */
const BOOKS = 10;
const STEPS_PER_BOOK = Number(process.env.LIQ_STEPS ?? 1_000);
/** The same over books with instruments finer than a micro: fewer, the paths they take being the same code. */
const FINE_BOOKS = 4;
const FINE_STEPS_PER_BOOK = Math.min(STEPS_PER_BOOK, 500);

describe('the production sweep paths after the changes users make', () => {
  // 'micro': the books of pd + sd ≤ 6 every path was built on; 'any': pd + sd from 0 to 12, half
  // the instruments finer than a micro (docs/numbers.md): their hot records move by the change of
  // their floored values, their fills are the control plane's and their funding moves are bounded lazily.
  test.each([
    { decimals: 'micro' as const, bookCount: BOOKS, stepsPerBook: STEPS_PER_BOOK },
    { decimals: 'any' as const, bookCount: FINE_BOOKS, stepsPerBook: FINE_STEPS_PER_BOOK },
  ])(`chunk sweep on one thread, the pool on 1, 2 and 4 workers and the incremental path equal the reference after every step ($bookCount books × $stepsPerBook steps, decimals $decimals)`, async ({ decimals, bookCount, stepsPerBook }) => {
    const books = fc.sample(
      fc.integer({ min: 1, max: 600 }).chain((accounts) => bookArbitrary(accounts, decimals)),
      { numRuns: bookCount, seed: 20261129 },
    );
    let steps = 0;
    let applied = 0;
    let refused = 0;
    let failingScopes = 0;
    let movedSteps = 0;
    let arenaCompactions = 0; // the position arena compacted (the slots moved blocks left taken back)
    let chunkMoves = 0;
    let repacks = 0;
    let compactions = 0;
    let compactingSteps = 0; // steps that left a compaction under way
    const paths: Record<StepPath, number> = { incremental: 0, sweep: 0, build: 0 };
    let reevaluated = 0;
    let accountSteps = 0;
    let owingSteps = 0;
    let drainingSteps = 0;
    let staleSweeps = 0;
    let highHotSteps = 0; // incremental steps with accounts in the hot book, on a book above 2 GiB
    let compactedHotSteps = 0; // incremental steps with a hot book, right after the twin's arena was compacted
    let heapCompactedSteps = 0; // incremental steps right after a step that compacted the twin's heaps
    let pooledBuilds = 0; // builds of the index on the twin's own pool
    // Deferred funding refreshes: chunks settled by the updates after them, steps whose first sweep
    // found chunks pending, on this thread or in a pool.
    let settledByUpdates = 0;
    let charged = 0;
    let mergedFunding = 0;
    let maxSlots = 0;
    let lazySteps = 0;
    let tierSteps = 0;
    let tiersSet = 0;
    let tiersIncremental = 0; // tables set whose step the incremental path took on its index: their holders re-evaluated
    let tiersStale = 0; // and those that left it stale (more holders than a step re-evaluates)
    let kernelApplied = 0;
    // Fills whose records the kernel rewrote in place, cross and isolated (the isolated ones from
    // thresholds less the drifts the funding steps advanced).
    const rewritten = { cross: 0, isolated: 0 };
    /** Counts what the kernel applies of a book's batches (each book's first engine). */
    const countKernel = (target: Engine): void => {
      const apply = target.applyOperationRecords.bind(target);
      target.applyOperationRecords = (records, from, count, fillRecords) => {
        const stop = apply(records, from, count, fillRecords);
        kernelApplied += stop - from;
        for (let k = from; k < stop; k++) {
          const at = records + k * OP_BYTES;
          if (target.memoryBytes[at + OP_OUTCOME] !== OUTCOME_REFRESHED || target.memoryBytes[at + OP_KIND] !== OP_FILL) continue;
          if (target.memoryBytes[at + OP_MODE] === MODE_CROSS) rewritten.cross++;
          else rewritten.isolated++;
        }
        return stop;
      };
    };
    const settledFirst = { thread: 0, pool: 0 };
    let bookIndex = 0;
    for (const book of books) {
      // Books 0, 1, 4, 5, 8 and 9 lay their chunks' areas out packed (no room: the first position a
      // chunk gains moves it, so moves and compactions come early), the others with the default room.
      const layoutRoom = bookIndex % 4 < 2 ? 0 : undefined;
      const engine = Engine.fromBook(book as Book, { layoutRoom });
      // Even books are evaluated in full first (as \`liq eval\` does before a service takes the
      // book): their moves of position slots carry the outputs; odd books leave them unwritten.
      const outputs = bookIndex % 2 === 0;
      if (outputs) engine.evaluate();
      expect(engine.layout.outputsWritten).toBe(outputs);
      countKernel(engine);
      // Books 3 and 7 take a region of 2 GiB first, on both engines: every region placed after it
      // (the pools' lists and records, the incremental path's, the hot book's, a grown arena) lies
      // above 2 GiB, where an offset read as an int32 is negative (as on a 10M-account book).
      const aboveTwoGiB = bookIndex % 4 === 3;
      if (aboveTwoGiB) padAboveTwoGiB(engine);
      const workers = await Promise.all([1, 2, 4].map(async (threads) => {
        const pool = await SweepPool.open(engine, { threads, listCapacity: 16, growLists: false }); // lists overflow: the scan path too
        pools.push(pool);
        return pool;
      }));
      // The incremental path runs on a twin of the book that takes the same steps and is only ever
      // evaluated incrementally (the sweeps above would overwrite its statuses). A low fallback
      // and hot limit make it take every path: incremental steps, fallback sweeps and rebuilds; a high
      // hot bound puts much of the book in the hot book.
      const twin = Engine.fromBook(book as Book, { layoutRoom });
      if (aboveTwoGiB) padAboveTwoGiB(twin);
      // Most books owe the accounts a step past the fallback reaches (the default drain limit); books
      // 0 and 8 (of the lowest fallback) let the index go stale at once (a drain limit of the fallback).
      const fallbackAccounts = 8 + (bookIndex % 4) * 40;
      // Books 1, 5 and 9 keep their heaps within as many entries as accounts: past it, the largest
      // heap is compacted, and the index goes stale when that leaves them past it still.
      const heapLimit = bookIndex % 4 === 1 ? Math.max(16, twin.accountCount) : undefined;
      // Books 0, 4 and 8 give the incremental path a pool of its own, as a service does: its builds
      // (the bounds, then the index's count and place passes, each worker a part of the accounts)
      // and its fallback sweeps run on the twin's workers; on books 0 and 8 every tick of one
      // instrument with records in the hot book is shared with a worker, in chunks of 4 records
      // (hotSplit, hotShareChunk).
      let twinPool: SweepPool | undefined;
      if (bookIndex % 4 === 0) {
        twinPool = await SweepPool.open(twin, { threads: 2 });
        pools.push(twinPool);
      }
      const incremental = new IncrementalEvaluator(twin, { pool: twinPool, fallbackAccounts, drainLimit: bookIndex % 8 === 0 ? fallbackAccounts : undefined, hotLimit: 16 + (bookIndex % 3) * 200, hotBound: [1e-3, 1e-2, 0.2][bookIndex % 3], heapLimit, hotSplit: bookIndex % 8 === 0 ? 1 : undefined, hotShareChunk: bookIndex % 8 === 0 ? 4 : undefined });
      const reference = new ReferenceCache();
      const random = prng(1_000 + bookIndex);
      let heapCompactions = 0;
      let heapsCompactedBefore = false;
      for (let s = 0; s < stepsPerBook; s++) {
        const step = randomStep(engine, random);
        const where = `book ${bookIndex} (${engine.accountCount} accounts), step ${s}: ${describeStep(step)}`;
        // Odd books start a compaction of the records region as soon as its holes are worth it (the
        // default waits for the tail to near the region's end, which these small books seldom reach):
        // the moves of the next steps then slide it a few areas at a time.
        if (bookIndex % 2 === 1) earlyCompaction(engine);
        const placed = recordsPlacement(engine);
        const counts = applyStep(engine, step, s % 10 === 0);
        // The twin sweeps differently, so its chunks pending differ: the operations' outcomes may not.
        const twinCompactions = twin.positionCompactions;
        const twinCounts = applyStep(twin, step, false);
        expect({ applied: twinCounts.applied, refused: twinCounts.refused }, `${where}: the twin took the step differently`).toEqual({ applied: counts.applied, refused: counts.refused });
        const now = recordsPlacement(engine);
        if (now.compacting) compactingSteps++; // a compaction's steps are in the log; chunk-sweep.test.ts holds one that runs over several
        // Compactions ended (the kernel counts them from 0 at a layout); a tail that went back with no
        // chunk keeping its records, a repack (or a new layout).
        compactions += now.compactions >= placed.compactions ? now.compactions - placed.compactions : now.compactions;
        if (now.tail < placed.tail && !now.anyFresh) repacks++;
        else chunkMoves += now.offsets.filter((offset, chunk) => offset !== placed.offsets[chunk]).length;
        applied += counts.applied;
        refused += counts.refused;
        const expected = reference.expected(engine);
        settledByUpdates += counts.settledByUpdates;
        charged += counts.charged;
        mergedFunding += counts.merged;
        if (step.kind === 'tiers') tierSteps++;
        if (counts.tiersSet) tiersSet++;
        // The single-thread status sweep (the chunk sweep, whatever the blocks look like) and the
        // pools, in an order that turns with the steps: the first of them settles the chunks a
        // deferred funding refresh has not reached, on this thread or in a pool's workers.
        expect(engine.chunkSweep).toBe(true);
        const pending = pendingChunks(engine);
        for (let k = 0; k < 1 + workers.length; k++) {
          const which = (s + k) % (1 + workers.length);
          if (k === 0 && pending > 0) (which === 0 ? settledFirst.thread++ : settledFirst.pool++);
          if (which === 0) {
            const count = engine.sweep({ full: false });
            expect(count, where).toBe(expected.scopes.length / 2);
            expect(sweptStatuses(engine), where).toEqual({ accountStatus: expected.accountStatus, positionStatus: expected.positionStatus });
            continue;
          }
          const pool = workers[which - 1];
          engine.views.accStatus.fill(7, 0, engine.accountCount); // the pool must write every status
          const result = await pool.sweep();
          expect(result.complete, where).toBe(true);
          expect(result.liquidatable, where).toBe(expected.scopes.length / 2);
          expect([...result.scopes], `${where}, ${pool.threads} workers`).toEqual(expected.scopes);
          expect(sweptStatuses(engine), `${where}, ${pool.threads} workers`).toEqual({ accountStatus: expected.accountStatus, positionStatus: expected.positionStatus });
        }
        // The sweeps read the chunks a funding refresh is pending on lazily and settle them on
        // their turn: several refreshes may be pending at once, each in its slot.
        maxSlots = Math.max(maxSlots, slotsInUse(engine));
        if (pendingChunks(engine) > 0) lazySteps++;
        // The incremental path: every status, the count, and the accounts it says changed.
        const before = statusBytes(twin);
        const owedBefore = incremental.owedAccounts;
        const result = await incremental.step();
        if (owedBefore > 0 && result.path !== 'build') drainingSteps++;
        paths[result.path]++;
        if (step.kind === 'tiers' && counts.tiersSet) {
          if (result.path === 'incremental') tiersIncremental++;
          else tiersStale++;
        }
        if (result.owed > 0) owingSteps++;
        else if (result.path === 'sweep') staleSweeps++;
        const after = statusBytes(twin);
        expect(result.liquidatable, `${where}, incremental (${result.path})`).toBe(expected.scopes.length / 2);
        expect(sweptStatuses(twin), `${where}, incremental (${result.path})`).toEqual({ accountStatus: expected.accountStatus, positionStatus: expected.positionStatus });
        if (result.path === 'incremental') {
          const changed = after.flatMap((line, a) => (line !== before[a] ? [a] : []));
          expect([...(result.changed ?? [])], `${where}, incremental: the accounts whose statuses changed`).toEqual(changed);
          reevaluated += result.evaluated;
          accountSteps += engine.accountCount;
        }
        failingScopes += expected.scopes.length / 2;
        if (blocksMoved(engine)) movedSteps++;
        steps++;
        if (aboveTwoGiB && result.path === 'incremental' && incremental.hotAccounts > 0) highHotSteps++;
        // A compaction slid the twin's blocks to other slots: its index stays built, and its hot
        // book (which names an isolated position by its rank in the block) writes where they are now.
        if (twin.positionCompactions > twinCompactions && result.path === 'incremental' && incremental.hotAccounts > 0) compactedHotSteps++;
        if (heapsCompactedBefore && result.path === 'incremental') heapCompactedSteps++;
        if (twinPool !== undefined && result.path === 'build') pooledBuilds++;
        heapsCompactedBefore = incremental.heapCompactions > heapCompactions;
        heapCompactions = incremental.heapCompactions;
      }
      if (aboveTwoGiB) expect(Math.min(engine.memoryUse.total, twin.memoryUse.total)).toBeGreaterThan(TWO_GIB);
      // With no new index, the sweeps settle every chunk left pending within FUNDING_SETTLE_SPREAD + 1
      // (17) sweeps: none in the first after an update, a sixteenth in each of the others.
      for (let k = 0; k < 17; k++) engine.sweep({ full: false });
      expect(pendingChunks(engine), `book ${bookIndex}: every chunk settled within 17 sweeps`).toBe(0);
      // The twin took the same steps: its arena was compacted at the same fills.
      expect(twin.positionCompactions).toBe(engine.positionCompactions);
      // After the book's steps, a full evaluation: each account's figures, per position too, the
      // reference's, on blocks moved with the outputs carried (even books) or left unwritten (odd).
      expect(engine.layout.outputsWritten).toBe(outputs);
      engine.evaluate();
      const final = engine.toBook();
      for (let a = 0; a < engine.accountCount; a++) expect(engine.accountResult(a), `book ${bookIndex}, account ${a} in full`).toEqual(evaluateAccount(final, a));
      arenaCompactions += engine.positionCompactions;
      bookIndex++;
    }
    // The steps did what they are for: updates applied and refused, failing scopes found and lost.
    expect(steps).toBe(bookCount * stepsPerBook);
    console.log(`${steps} steps: ${applied} updates applied, ${refused} refused, ${failingScopes} failing scopes seen, ${movedSteps} steps on a book whose position blocks had moved, ${arenaCompactions} arena compactions, ${chunkMoves} chunks moved to a new area, ${compactions} compactions (${compactingSteps} steps left one under way), ${repacks} repacks`);
    console.log(`${kernelApplied} updates applied in the kernel; fills rewritten in place: ${JSON.stringify(rewritten)}`);
    console.log(`incremental path: ${paths.incremental} incremental steps (${((100 * reevaluated) / Math.max(1, accountSteps)).toFixed(1)}% of accounts re-evaluated), ${paths.sweep} sweeps (${staleSweeps} left the index stale, ${owingSteps} left accounts owed; ${drainingSteps} steps re-evaluated owed ones), ${paths.build} builds`);
    expect(applied).toBeGreaterThan(steps);
    if (decimals === 'any') {
      // What matters here is agreement with the reference on every step (above), on books where
      // the finer instruments are held, fail and move.
      expect(refused).toBeGreaterThan(steps / 20);
      expect(failingScopes).toBeGreaterThan(steps);
      expect(paths.incremental).toBeGreaterThan(steps / 4);
      expect(paths.sweep).toBeGreaterThan(0);
      expect(paths.build).toBeGreaterThan(bookCount);
      expect(tiersSet).toBeGreaterThan(steps / 100);
      return;
    }
    expect(kernelApplied).toBeGreaterThan(steps / 10);
    expect(rewritten.cross).toBeGreaterThan(steps / 100);
    expect(rewritten.isolated).toBeGreaterThan(steps / 100);
    expect(refused).toBeGreaterThan(steps / 20);
    expect(failingScopes).toBeGreaterThan(steps);
    expect(movedSteps).toBeGreaterThan(steps / 2);
    expect(arenaCompactions).toBeGreaterThan(0);
    console.log(`${compactedHotSteps} incremental steps with a hot book right after an arena compaction`);
    expect(compactedHotSteps).toBeGreaterThan(0);
    console.log(`${heapCompactedSteps} incremental steps right after a compaction of the heaps; ${pooledBuilds} builds of the index on a pool`);
    expect(heapCompactedSteps).toBeGreaterThan(0);
    expect(pooledBuilds).toBeGreaterThan(3);
    // The chunk records' own life: chunks that outgrew their room moved, and regions were laid out
    // again (repacked, or a new layout as the book grew), and compactions ran over several steps.
    expect(chunkMoves).toBeGreaterThan(0);
    expect(repacks).toBeGreaterThan(0);
    expect(compactions).toBeGreaterThan(0);
    // The incremental path took each of its paths, and re-evaluated a fraction of the book.
    expect(paths.incremental).toBeGreaterThan(steps / 4);
    expect(paths.sweep).toBeGreaterThan(0);
    expect(owingSteps).toBeGreaterThan(0);
    expect(drainingSteps).toBeGreaterThan(0);
    expect(staleSweeps).toBeGreaterThan(0);
    expect(paths.build).toBeGreaterThan(bookCount);
    expect(reevaluated).toBeLessThan(accountSteps / 2);
    expect(highHotSteps).toBeGreaterThan(stepsPerBook / 10);
    // The deferred funding refresh was settled every way: by updates, by the first sweep on this
    // thread, and by the first sweep in a pool's workers.
    console.log(`deferred funding: ${settledByUpdates} chunks settled by updates; first sweeps that found chunks pending: ${settledFirst.thread} on one thread, ${settledFirst.pool} in a pool; second indices joined to pending slots: ${mergedFunding}; steps left pending after their sweeps: ${lazySteps}; most slots in use at once: ${maxSlots}`);
    expect(settledByUpdates).toBeGreaterThan(bookCount);
    // Charges (the simulator's fees) applied among the updates, each step held to the reference above.
    expect(charged).toBeGreaterThan(bookCount);
    expect(mergedFunding).toBeGreaterThan(bookCount);
    expect(lazySteps).toBeGreaterThan(bookCount);
    expect(maxSlots).toBeGreaterThanOrEqual(2);
    expect(settledFirst.thread).toBeGreaterThan(bookCount);
    expect(settledFirst.pool).toBeGreaterThan(3 * bookCount);
    // Tier tables revised: most applied (isolated records written again, the incremental index
    // stale), some refused (a leverage cap below a held position's, an invalid table).
    console.log(`tier tables: ${tiersSet} set in ${tierSteps} steps, ${tiersIncremental} of them taken incrementally (their holders re-evaluated), ${tiersStale} by a sweep or a build`);
    expect(tiersSet).toBeGreaterThan(steps / 100);
    expect(tiersIncremental).toBeGreaterThan(bookCount);
    expect(tiersStale).toBeGreaterThan(bookCount);
    expect(tierSteps - tiersSet).toBeGreaterThan(bookCount);
  });
});
