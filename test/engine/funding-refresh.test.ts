// A new funding index refreshes only what it feeds (Engine.fundingChanged, the kernel's
// refreshFunding), from the records alone: the cross base of each account with a cross position on
// the instrument (moved by the exact change of that position's funding owed, from the rounding
// residue its record keeps), in place, with no chunk marked for rebuilding; the isolated positions'
// records are left as they are, and their instrument's drift grows instead (a bound on how far the
// move can take their boundaries: the sweep compares each record with the mark less the drift and
// decides exactly each position it finds at or past its threshold). After funding-index updates
// applied through applyBatch (several instruments a batch, steps up and down, steps aimed to take a
// scope across its maintenance either way), the chunk sweep must give the statuses and the count of
// the column sweep and of the BigInt reference, and the records must be the bytes a rebuild of
// every chunk writes but for isolated thresholds, which must be at or above the rebuild's, and equal
// where their instrument's funding index never moved. Also: batches that change accounts too (the accounts are refreshed first), chunks
// whose blocks moved, a funding refresh made before a changed account's own (its records are moved
// as they stand, then rewritten), the chunk sweep off (nothing written), refusals (nothing changes)
// and the entry point's assertions. The refresh is deferred in a funding slot and read lazily by
// the sweeps (statuses exact, equities of pending chunks compared once settled): the marks, a pool
// sweep cancelled halfway, updates on pending chunks, a second index before any sweep, the slots
// (every slot in use, the oldest settled first) and a settle cut short.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../../src/engine/engine.js';
import { applyBatch } from '../../src/account/batch.js';
import { parseBookJson } from '../../src/book/json.js';
import type { AnyOperation, Operation } from '../../src/account/operations.js';
import { evaluateAccount } from '../../src/reference/evaluate.js';
import { generateBook, generatedBookToBook } from '../../src/gen/generate.js';
import { FUNDING_INDEX_ABS_MAX, MODE_CROSS, MODE_ISOLATED, PRICE_UNITS_MAX } from '../../src/fixed/constants.js';
import { CACHE_STRIDE, HeaderSlot, CHUNK_ACCOUNTS, SHARD_RECORD_BYTES, ShardSlot, SWEEP_RECORD_SLOT_BYTES, cacheBytes, chunksOf } from '../../src/memory/layout.js';
import { kernelI64, kernelU32 } from '../../src/engine/kernel-constants.js';
import { quotePerUnit, valueDivisor, type AccountResult, type Book } from '../../src/book/model.js';
import { formatScaled } from '../../src/fixed/decimal.js';
import { bookArbitrary } from '../support/arbitraries.js';
import { sweptStatuses } from '../support/scopes.js';
import { SweepPool } from '../../src/pool/pool.js';
import { mixedUpdates, prng } from '../../bench/workload.js';
import { markMax } from '../support/marks.js';
import { W, word, header, chunkMeta, placement, records, expectSameList } from '../support/records.js';

const FRESH = kernelU32('CHUNK_FRESH');

/** Isolated thresholds a drift left above the exact ones, over the whole file: the exact decision must be taken. */
const loosened = { thresholds: 0 };

/**
 * The records a funding refresh left against those a rebuild writes (at the same drifts): the cross
 * records (size, account, funding residue, bracket entry), the cross bases and every isolated
 * record's mark and slot byte for byte; each isolated threshold, with the drift added back (what
 * the sweep's compare means), at or above the exact one (a looser compare, never a missed failure),
 * and equal when both its instrument's drifts are 0 (its funding index never moved: a rise moves the
 * longs' drift, a fall the shorts').
 */
function expectRecordsAtLeastRebuilt(kept: ReturnType<typeof records>, rebuilt: ReturnType<typeof records>, where: string): void {
  kept.chunks.forEach((bytes, chunk) => {
    const exact = rebuilt.chunks[chunk];
    const what = `${where}: chunk ${chunk}`;
    expect(bytes.length, `${what}: bytes`).toBe(exact.length);
    const crossEnd = kept.cross[chunk] * SWEEP_RECORD_SLOT_BYTES;
    const isolatedEnd = crossEnd + kept.isolated[chunk] * SWEEP_RECORD_SLOT_BYTES;
    expectSameList(bytes.subarray(0, crossEnd), exact.subarray(0, crossEnd), `${what}'s cross records (bytes)`);
    expectSameList(bytes.subarray(isolatedEnd), exact.subarray(isolatedEnd), `${what}'s cross bases (bytes)`);
    for (let r = crossEnd; r < isolatedEnd; r += SWEEP_RECORD_SLOT_BYTES) {
      const record = `${what}'s isolated record ${(r - crossEnd) / SWEEP_RECORD_SLOT_BYTES}`;
      expectSameList(bytes.subarray(r + 8, r + 16), exact.subarray(r + 8, r + 16), `${record}: mark and slot (bytes)`);
      expect(bytes[r], `${record}: account`).toBe(exact[r]);
      // What a threshold says about the marks there are (1 to PRICE_UNITS_MAX): a long fails at
      // marks up to T, a short at marks of −T and up.
      const markOffset = exact.readUInt32LE(r + 8);
      const long = markOffset % CACHE_STRIDE === kernelU32('CACHE_MARK_LONG');
      const drifts = rebuilt.drifts[Math.floor(markOffset / CACHE_STRIDE)];
      const drift = drifts[long ? 0 : 1];
      const effective = (t: bigint) => (long ? (t < 0n ? 0n : t > PRICE_UNITS_MAX ? PRICE_UNITS_MAX : t) : t < -PRICE_UNITS_MAX - 1n ? -PRICE_UNITS_MAX - 1n : t > -1n ? -1n : t);
      const threshold = effective((bytes.readBigInt64LE(r) >> 8n) + drift);
      const expected = effective((exact.readBigInt64LE(r) >> 8n) + drift);
      if (threshold === expected) continue;
      if (drifts[0] === 0n && drifts[1] === 0n) expect.fail(`${record}: threshold ${threshold}, expected ${expected} (its instrument's funding index never moved)`);
      if (threshold < expected) expect.fail(`${record}: threshold ${threshold} below the exact ${expected}`);
      loosened.thresholds++;
    }
  });
}

/** The status-sweep outputs of the whole book, as bytes: its accounts' columns, its held slots' statuses. */
function outputs(engine: Engine): Buffer[] {
  const v = engine.views;
  const n = engine.accountCount;
  const held: number[] = [];
  for (let a = 0; a < n; a++) for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) held.push(v.posStatus[j]);
  return [v.accCrossEquity.subarray(0, n), v.accCrossMaint.subarray(0, n), v.accStatus.subarray(0, n), Uint8Array.from(held)].map((column) =>
    Buffer.from(new Uint8Array(column.buffer, column.byteOffset, column.byteLength)),
  );
}

interface Reference {
  results: AccountResult[];
  accountStatus: string[];
  positionStatus: Map<number, string>;
  liquidatable: number;
}

function reference(engine: Engine): Reference {
  const book = engine.toBook();
  const v = engine.views;
  const results = book.accounts.map((_, a) => evaluateAccount(book, a));
  const positionStatus = new Map<number, string>();
  let liquidatable = 0;
  results.forEach((result, a) => {
    if (result.crossStatus !== 'healthy') liquidatable++;
    result.positions.forEach((position, k) => {
      if (position.status === null) return;
      positionStatus.set(v.accPosStart[a] + k, position.status);
      if (position.status !== 'healthy') liquidatable++;
    });
  });
  return { results, accountStatus: results.map((r) => r.crossStatus), positionStatus, liquidatable };
}

/** The statuses the chunk sweep wrote are those of the reference, scope by scope. */
function expectReferenceStatuses(engine: Engine, expected: Reference, where: string): void {
  const swept = sweptStatuses(engine);
  expectSameList(swept.accountStatus, expected.accountStatus, `${where}: cross statuses by account`);
  const slots = [...expected.positionStatus.keys()];
  expectSameList([...swept.positionStatus.keys()], slots, `${where}: isolated slots`);
  expectSameList(
    slots.map((j) => swept.positionStatus.get(j)),
    slots.map((j) => expected.positionStatus.get(j)),
    `${where}: isolated statuses by slot (${slots.length})`,
  );
}

/**
 * The chunk sweep, the column sweep (outputs scribbled over in between) and the reference agree on
 * every scope's status and the liquidatable count. Returns the reference.
 */
function expectAllAgree(engine: Engine, where: string): Reference {
  expect(engine.chunkSweep).toBe(true);
  const expected = reference(engine);
  const count = engine.sweep({ full: false });
  expect(count, `${where}: chunk sweep count`).toBe(expected.liquidatable);
  expectReferenceStatuses(engine, expected, `${where}: chunk sweep`);
  const fromRecords = outputs(engine);
  // An account of a chunk read lazily (its funding refresh still pending) may keep its cross equity
  // before that refresh where its bound settles its status: compared with the column sweep's only
  // when its chunk is not pending (docs/architecture.md, "Funding left pending").
  const pending = pendingAccounts(engine);
  const moves = pendingMoves(engine);
  const v = engine.views;
  v.accCrossEquity.fill(-7n, 0, engine.accountCount);
  v.accCrossMaint.fill(-7n, 0, engine.accountCount);
  v.accStatus.fill(9, 0, engine.accountCount);
  v.posStatus.fill(9, 0, engine.positionsUsed);
  engine.chunkSweep = false;
  try {
    expect(engine.sweep({ full: false }), `${where}: column sweep count`).toBe(count);
  } finally {
    engine.chunkSweep = true;
  }
  const names = ['cross equity', 'cross maintenance', 'account statuses', 'held slots\' statuses'];
  const columns = outputs(engine);
  columns.forEach((bytes, k) => {
    if (k > 0) return expectSameList(bytes, fromRecords[k], `${where}: column sweep, ${names[k]} (bytes)`);
    const settled = (equities: Buffer) => Array.from({ length: engine.accountCount }, (_, a) => (pending[a] ? 0n : equities.readBigInt64LE(8 * a)));
    expectSameList(settled(bytes), settled(fromRecords[k]), `${where}: column sweep, ${names[k]} of the accounts of settled chunks`);
    // A pending chunk's account: its equity is off the exact one by no more than the pending moves
    // of its cross positions' funding owed can take it (each rounded up, plus one for the residue).
    for (let a = 0; a < engine.accountCount; a++) {
      if (!pending[a]) continue;
      const exact = bytes.readBigInt64LE(8 * a);
      const lazy = fromRecords[k].readBigInt64LE(8 * a);
      if (lazy === exact) continue;
      lazyEquities.differing++;
      let bound = 0n;
      for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
        const move = moves[v.posInst[j]];
        if (v.posMode[j] !== MODE_CROSS || move === 0n) continue;
        const size = v.posSize[j] < 0n ? -v.posSize[j] : v.posSize[j];
        bound += (size * v.instQ[v.posInst[j]] * move + 999_999n) / 1_000_000n + 1n;
      }
      const off = lazy > exact ? lazy - exact : exact - lazy;
      if (off > bound) expect.fail(`${where}: account ${a}'s cross equity ${lazy} is ${off} off the exact ${exact}, past the pending moves' ${bound}`);
    }
  });
  return expected;
}

/** Accounts of pending chunks whose stored cross equity was the one before the refresh (counted over the file's tests). */
const lazyEquities = { differing: 0 };

/** Per instrument, the largest |FC_NEW − FC_OLD| over the funding slots in use (0 for none). */
function pendingMoves(engine: Engine): bigint[] {
  const count = engine.instruments.length;
  const moves = new Array<bigint>(count).fill(0n);
  const base = header(engine)[HeaderSlot.fundingSlots];
  if (base === 0) return moves;
  const metas = new Uint32Array(engine.memory.buffer, base, kernelU32('FUNDING_SLOT_METAS_BYTES') / 4);
  const tableBytes = count * kernelU32('FUNDING_CHANGE_BYTES');
  for (let s = 0; s < kernelU32('FUNDING_SLOTS'); s++) {
    if (metas[(s * kernelU32('FUNDING_SLOT_META_BYTES')) / 4] === 0) continue;
    const table = base + kernelU32('FUNDING_SLOT_METAS_BYTES') + s * tableBytes;
    for (let i = 0; i < count; i++) {
      const at = table + i * kernelU32('FUNDING_CHANGE_BYTES');
      if (new Uint32Array(engine.memory.buffer, at + kernelU32('FC_CHANGED'), 1)[0] === 0) continue;
      const [old] = new BigInt64Array(engine.memory.buffer, at + kernelU32('FC_OLD'), 1);
      const [now] = new BigInt64Array(engine.memory.buffer, at + kernelU32('FC_NEW'), 1);
      const move = now > old ? now - old : old - now;
      if (move > moves[i]) moves[i] = move;
    }
  }
  return moves;
}

/**
 * The records the funding updates left are those a rebuild of every chunk writes, but for isolated
 * thresholds at or above the rebuild's (after a sweep at the same marks, so that the cross records'
 * bracket entries are the current ones either way). Leaves every chunk fresh.
 */
function expectRecordsAsRebuilt(engine: Engine, where: string): void {
  engine.settleFunding(); // every refresh still pending reaches its chunks' records
  expect(fundingMarks(engine).every((mark) => mark === 0), `${where}: nothing pending after settleFunding`).toBe(true);
  engine.sweep({ full: false });
  const kept = records(engine);
  engine.refreshDebits(); // every chunk marked for rebuilding
  expect(placement(engine).every((chunk) => chunk.state !== FRESH), `${where}: the full refresh marks every chunk`).toBe(true);
  engine.sweep({ full: false }); // rebuilds them
  expectRecordsAtLeastRebuilt(kept, records(engine), where);
}

/** Funding owed by a position of z·q = sizeQuote at a step dF of the index: ceil(sizeQuote·dF / 10^6). */
function owedStep(sizeQuote: bigint, dF: bigint): bigint {
  const x = sizeQuote * dF;
  return x >= 0n ? (x + 999_999n) / 1_000_000n : -(-x / 1_000_000n);
}

/**
 * A step of instrument i's funding index aimed at one scope holding a position on it: the smallest
 * that takes it across its maintenance (healthy to failing, or back), a price unit of funding
 * either way at random. null when no scope of the book holds a position on i.
 */
function aimedStep(engine: Engine, expected: Reference, i: number, random: () => number): bigint | null {
  const v = engine.views;
  const q = quotePerUnit(engine.instruments[i]);
  const candidates: Array<{ sizeQuote: bigint; slack: bigint }> = [];
  expected.results.forEach((result, a) => {
    result.positions.forEach((position, k) => {
      const j = v.accPosStart[a] + k;
      if (v.posInst[j] !== i || v.posSize[j] === 0n) return;
      const slack = v.posMode[j] === MODE_CROSS ? result.crossEquityMicro - result.crossMaintenanceMicro : position.equityMicro! - position.maintenanceMicro;
      candidates.push({ sizeQuote: v.posSize[j] * q, slack });
    });
  });
  if (candidates.length === 0) return null;
  const { sizeQuote, slack } = candidates[Math.floor(random() * candidates.length)];
  // Equity falls by the funding owed: owed > slack fails a healthy scope (slack ≥ 0); owed ≤ slack
  // (a gain of −slack or more) heals a failing one (slack < 0), its maintenance permitting.
  const magnitude = sizeQuote < 0n ? -sizeQuote : sizeQuote;
  const sign = sizeQuote < 0n ? -1n : 1n;
  let dF = ((slack < 0n ? -slack : slack + 1n) * 1_000_000n + magnitude - 1n) / magnitude;
  dF = slack < 0n ? -sign * dF : sign * dF;
  if (owedStep(sizeQuote, dF) <= slack === slack >= 0n) dF += slack >= 0n ? sign : -sign; // rounding
  return dF + BigInt(Math.floor(random() * 3) - 1);
}

/** A step of the funding index: aimed at a scope most of the time, of any size up or down otherwise. */
function fundingStep(engine: Engine, expected: Reference, i: number, random: () => number): bigint {
  const aimed = random() < 0.7 ? aimedStep(engine, expected, i, random) : null;
  if (aimed !== null) return aimed;
  const magnitude = BigInt(Math.floor(10 ** (random() * 12)));
  return random() < 0.5 ? magnitude : -magnitude;
}

function setFunding(engine: Engine, i: number, index: bigint): Operation {
  const clamped = index > FUNDING_INDEX_ABS_MAX ? FUNDING_INDEX_ABS_MAX : index < -FUNDING_INDEX_ABS_MAX ? -FUNDING_INDEX_ABS_MAX : index;
  return { kind: 'setFundingIndex', instrument: engine.instruments[i].symbol, fundingIndex: clamped };
}

/**
 * A book of one instrument X with q = 1 (6 price decimals, whole lots), a mark of 1 and one bracket
 * at 50%: a position of z lots has notional z quote and maintenance z / 2 quote, and a funding move
 * of dF index units owes ceil(z·dF / 10^6) micro.
 */
function unitBook(accounts: unknown[]): Engine {
  return Engine.fromBook(
    parseBookJson(
      JSON.stringify({
        version: 1,
        instruments: [{ symbol: 'X', markPrice: '1', tickSize: '0.000001', lotSize: '1', fundingIndex: '0', tiers: [{ upToNotional: null, maintenanceRate: '0.5', maxLeverage: '1' }] }],
        accounts,
      }),
    ),
  );
}

/** Chunks whose accounts' position blocks do not follow each other (the kernel reads them account by account). */
function scatteredChunks(engine: Engine): number {
  const v = engine.views;
  let scattered = 0;
  for (let c0 = 0; c0 < engine.accountCount; c0 += CHUNK_ACCOUNTS) {
    let next = v.accPosStart[c0];
    let gaps = false;
    for (let a = c0; a < Math.min(engine.accountCount, c0 + CHUNK_ACCOUNTS); a++) {
      if (v.accPosCount[a] !== 0 && v.accPosStart[a] !== next) gaps = true;
      next += v.accPosCount[a];
    }
    if (gaps) scattered++;
  }
  return scattered;
}

/** Scopes whose status differs between two references: [cross, isolated]. */
function flips(before: Reference, after: Reference): [number, number] {
  let cross = 0;
  let isolated = 0;
  before.accountStatus.forEach((status, a) => (cross += Number(status !== after.accountStatus[a])));
  before.positionStatus.forEach((status, j) => (isolated += Number(status !== after.positionStatus.get(j))));
  return [cross, isolated];
}

interface Tally {
  batches: number;
  applied: number;
  refused: number;
  crossFlips: number;
  isolatedFlips: number;
  /** Batches whose funding moves would have taken a drift past DRIFT_MAX: the book was laid out again. */
  relaidOut: number;
}

const DRIFT_MAX = kernelI64('DRIFT_MAX');

/**
 * The instruments' drifts (long, short) after their funding indices moved from `from` to the
 * column's, from the drifts `before`, written from the bound's derivation (docs/architecture.md): a
 * rise moves a long's boundary by at most (ΔF/10^6 + 1/q) / (1 − r_max) price units, a fall a
 * short's by at most |ΔF|/10^6; rounded up. null when one would pass DRIFT_MAX.
 */
function driftsAfter(engine: Engine, from: bigint[], before: bigint[][]): bigint[][] | null {
  const v = engine.views;
  const drifts: bigint[][] = [];
  for (let i = 0; i < engine.instruments.length; i++) {
    const instrument = engine.instruments[i];
    const q = quotePerUnit(instrument);
    const rateMax = instrument.tiers[instrument.tiers.length - 1].ratePpm;
    const dF = v.instFunding[i] - from[i];
    let [long, short] = before[i];
    const ceil = (n: bigint, d: bigint) => (n + d - 1n) / d;
    // An instrument finer than a micro (d > 1, q = 1): the boundary is found in the floored value,
    // one micro more, and a micro of value is up to d price units (docs/numbers.md).
    const d = valueDivisor(instrument);
    const widen = (drift: bigint, extra: bigint) => (d === 1n ? drift : d * (drift + extra) + 1n);
    if (dF > 0n) long += widen(ceil(dF * q + 1_000_000n, q * (1_000_000n - rateMax)), 1n);
    if (dF < 0n) short += widen(ceil(-dF, 1_000_000n), 2n);
    if (long > DRIFT_MAX || short > DRIFT_MAX) return null;
    drifts.push([long, short]);
  }
  return drifts;
}

/**
 * Rounds of batches of 1–4 setFundingIndex operations (some instruments twice, steps up and down,
 * mostly aimed at a scope's edge), now and then with a new mark in the batch too. After each, with
 * no account changed: no chunk was marked or moved, the sweeps agree with the reference; after
 * every second one, the records are those a rebuild writes.
 */
function fundingRounds(engine: Engine, rounds: number, random: () => number, tally: Tally, label: string): void {
  let expected = expectAllAgree(engine, `${label}, before`);
  const instruments = engine.instruments.length;
  for (let round = 0; round < rounds; round++) {
    const where = `${label}, round ${round}`;
    const operations: Operation[] = [];
    const next = Array.from(engine.views.instFunding.subarray(0, instruments));
    const count = 1 + Math.floor(random() * 4);
    for (let k = 0; k < count; k++) {
      const i = Math.floor(random() * instruments);
      if (random() < 0.15) {
        const mark = engine.views.instMark[i];
        let moved = mark + (mark * BigInt(Math.floor(random() * 40_001) - 20_000)) / 1_000_000n;
        const limit = markMax(engine, i);
        moved = moved < 1n ? 1n : moved > limit ? limit : moved;
        operations.push({ kind: 'setMark', instrument: engine.instruments[i].symbol, priceUnits: moved });
      }
      next[i] += fundingStep(engine, expected, i, random);
      operations.push(setFunding(engine, i, next[i]));
    }
    const before = placement(engine);
    expect(before.every((chunk) => chunk.state === FRESH), `${where}: swept, every chunk is fresh`).toBe(true);
    const indices = Array.from(engine.views.instFunding.subarray(0, instruments));
    const driftsBefore = engine.instruments.map((_, i) => [engine.views.instDriftLong[i], engine.views.instDriftShort[i]]);
    const result = applyBatch(engine, operations);
    tally.batches++;
    tally.applied += result.applied;
    tally.refused += result.refused;
    expect(result.changed.length).toBe(0);
    const drifts = driftsAfter(engine, indices, driftsBefore);
    const v = engine.views;
    if (drifts === null) {
      // A drift would have passed DRIFT_MAX: every drift back to 0, every chunk marked for rebuilding.
      tally.relaidOut++;
      expect(placement(engine).every((chunk) => chunk.state !== FRESH), `${where}: laid out again`).toBe(true);
      expect([...v.instDriftLong.subarray(0, instruments), ...v.instDriftShort.subarray(0, instruments)].every((d) => d === 0n), `${where}: drifts back to 0`).toBe(true);
    } else {
      // The funding update marked no chunk for rebuilding and moved none; the drifts moved by the bound.
      expect(placement(engine), `${where}: chunk states and areas`).toEqual(before);
      expect(drifts, `${where}: drifts`).toEqual(engine.instruments.map((_, i) => [v.instDriftLong[i], v.instDriftShort[i]]));
    }
    const after = expectAllAgree(engine, where);
    const [cross, isolated] = flips(expected, after);
    tally.crossFlips += cross;
    tally.isolatedFlips += isolated;
    // Every other round: the rebuild refreshes the whole book, so the rounds in between take each
    // cross base from the index the last funding refresh left, not from a rebuild's.
    if (round % 2 === 1 || round === rounds - 1) expectRecordsAsRebuilt(engine, where);
    expected = after;
  }
}

function newTally(): Tally {
  return { batches: 0, applied: 0, refused: 0, crossFlips: 0, isolatedFlips: 0, relaidOut: 0 };
}

/** Each chunk's CHUNK_FUNDING word: whether a deferred funding refresh has still to reach its records. */
/** Each chunk's funding state (CHUNK_FUNDING without its slot). */
function fundingMarks(engine: Engine): number[] {
  const meta = chunkMeta(engine);
  return Array.from({ length: chunksOf(engine.accountCount) }, (_, chunk) => meta[chunk * W + word('CHUNK_FUNDING')] & STATE_MASK);
}
/** The chunks a sweep has written an account status in since `scribble` (every account's status set to 0xee). */
function scribble(engine: Engine): void {
  engine.views.accStatus.fill(0xee, 0, engine.accountCount);
}
function chunksSwept(engine: Engine): boolean[] {
  const v = engine.views;
  return Array.from({ length: chunksOf(engine.accountCount) }, (_, chunk) => v.accStatus[chunk * CHUNK_ACCOUNTS] !== 0xee);
}
/** Each chunk's funding slot while pending (-1 when not). */
function fundingSlots(engine: Engine): number[] {
  const meta = chunkMeta(engine);
  return Array.from({ length: chunksOf(engine.accountCount) }, (_, chunk) => {
    const funding = meta[chunk * W + word('CHUNK_FUNDING')];
    return (funding & STATE_MASK) === PENDING ? funding >>> SLOT_SHIFT : -1;
  });
}
/** Whether each account's chunk has a funding refresh pending. */
function pendingAccounts(engine: Engine): boolean[] {
  const marks = fundingMarks(engine);
  return Array.from({ length: engine.accountCount }, (_, a) => marks[Math.floor(a / CHUNK_ACCOUNTS)] === PENDING);
}
const STATE_MASK = kernelU32('CHUNK_FUNDING_STATE_MASK');
const SLOT_SHIFT = kernelU32('CHUNK_FUNDING_SLOT_SHIFT');
const PENDING = kernelU32('CHUNK_FUNDING_PENDING');
const SETTLING = kernelU32('CHUNK_FUNDING_SETTLING');

describe('a funding refresh is deferred to each chunk\'s next read', () => {
  test('the update marks the fresh chunks and writes no record; a cancelled pool sweep, updates on marked chunks and a second index before any sweep leave every path exact', async () => {
    const engine = Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 6_000, seed: 11, instruments: 24, isolatedShare: 0.4, nearMaintenanceShare: 0.3 })));
    const pool = await SweepPool.open(engine, { threads: 2 });
    try {
      await pool.sweep();
      const random = prng(31);
      let expected = reference(engine);
      const chunks = chunksOf(engine.accountCount);
      let reachedByCancelled = 0;
      let settledByUpdates = 0;
      for (let round = 0; round < 4; round++) {
        const where = `round ${round}`;
        const kept = records(engine);
        const before = placement(engine);
        const i = round % engine.instruments.length;
        const result = applyBatch(engine, [setFunding(engine, i, engine.views.instFunding[i] + fundingStep(engine, expected, i, random))]);
        expect(result.applied, where).toBe(1);
        // O(chunks) on the control plane: every fresh chunk marked, no record or area touched.
        expect(fundingMarks(engine), `${where}: marks`).toEqual(new Array(chunks).fill(PENDING));
        expect(placement(engine), `${where}: chunk states and areas`).toEqual(before);
        records(engine).chunks.forEach((bytes, chunk) => expectSameList(bytes, kept.chunks[chunk], `${where}: chunk ${chunk}'s records before any read (bytes)`));
        // A pool sweep cancelled with shard 0 held: the chunks it did not reach stay marked, unread
        // (their accounts' statuses scribbled before it, not written again).
        scribble(engine);
        const running = pool.sweep({ holdShard: 0 });
        // The other worker sweeps the other shards meanwhile (shard 0's is held until the cancel).
        const reached = () => chunksSwept(engine).filter(Boolean).length;
        for (const start = Date.now(); Date.now() - start < 2_000 && reached() === 0; ) await new Promise((resolve) => setTimeout(resolve, 5));
        pool.cancel();
        expect((await running).complete, `${where}: cancelled`).toBe(false);
        const afterCancel = fundingMarks(engine);
        expect(afterCancel[0], `${where}: shard 0's first chunk not reached`).toBe(PENDING);
        expect(chunksSwept(engine)[0], `${where}: shard 0's first chunk not read`).toBe(false);
        reachedByCancelled += reached();
        // Updates on accounts of marked chunks settle each chunk before the account's own refresh.
        const next = mixedUpdates(engine, random);
        const pendingBefore = fundingMarks(engine).filter((mark) => mark === PENDING).length;
        const updates = applyBatch(engine, Array.from({ length: 40 }, next));
        expect(updates.applied, `${where}: updates applied`).toBeGreaterThan(0);
        settledByUpdates += pendingBefore - fundingMarks(engine).filter((mark) => mark === PENDING).length;
        // Every other round, a second index of the same instrument before any complete sweep: it
        // joins the slot of every pending chunk, and the chunks at the indices before it (settled
        // by the updates or the cancelled sweep) take a slot of their own.
        if (round % 2 === 1) {
          const slotsBefore = fundingSlots(engine);
          applyBatch(engine, [setFunding(engine, i, engine.views.instFunding[i] + fundingStep(engine, expected, i, random))]);
          const slotsAfter = fundingSlots(engine);
          slotsBefore.forEach((slot, chunk) => {
            if (slot >= 0) expect(slotsAfter[chunk], `${where}: chunk ${chunk} keeps its slot`).toBe(slot);
          });
          const fresh = slotsAfter.filter((slot, chunk) => slotsBefore[chunk] < 0 && slot >= 0);
          expect(new Set(fresh).size, `${where}: the settled chunks share one new slot`).toBeLessThanOrEqual(1);
          expect(fresh.every((slot) => !slotsBefore.includes(slot)), `${where}: a slot no pending chunk held`).toBe(true);
        }
        const pendingBeforeSweep = fundingMarks(engine).filter((mark) => mark === PENDING).length;
        const swept = await pool.sweep();
        expected = reference(engine);
        expect(swept.liquidatable, `${where}: pool count`).toBe(expected.liquidatable);
        expectReferenceStatuses(engine, expected, `${where}: pool`);
        // The sweep reads the pending chunks lazily and settles those on their turn (one in 16).
        const pendingAfterSweep = fundingMarks(engine).filter((mark) => mark === PENDING).length;
        expect(pendingAfterSweep, `${where}: the sweep settles only chunks on their turn`).toBeLessThanOrEqual(pendingBeforeSweep);
        expect(pendingAfterSweep, `${where}: the sweep leaves most chunks pending`).toBeGreaterThan(0);
        expectAllAgree(engine, where);
        expectRecordsAsRebuilt(engine, where);
        await pool.sweep();
      }
      expect(reachedByCancelled).toBeGreaterThan(0);
      expect(settledByUpdates).toBeGreaterThan(0);
    } finally {
      await pool.close();
    }
  });

  test('funding slots: each index joins the slots in use and the settled chunks take a new one; with every slot in use the oldest is settled first; sweeps stay exact throughout', () => {
    const engine = Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 4_000, seed: 17, instruments: 20, isolatedShare: 0.3, nearMaintenanceShare: 0.4 })));
    engine.sweep({ full: false });
    const random = prng(77);
    let expected = reference(engine);
    const slotsSeen = new Set<number>();
    const takenAt = new Map<number, number>(); // the round each slot was last taken in
    let oldestSettled = 0;
    let most = 0;
    for (let round = 0; round < 12; round++) {
      const where = `round ${round}`;
      const before = fundingSlots(engine);
      const used = new Set(before.filter((slot) => slot >= 0));
      const i = round % engine.instruments.length;
      // The control plane's instrument cache scribbled: an update that settles a slot fills what it needs.
      const record = new Uint32Array(engine.memory.buffer, engine.shardRecord(), SHARD_RECORD_BYTES / 4);
      new Uint8Array(engine.memory.buffer, record[ShardSlot.cache], cacheBytes(engine.instruments.length)).fill(0x5a);
      expect(applyBatch(engine, [setFunding(engine, i, engine.views.instFunding[i] + fundingStep(engine, expected, i, random))]).applied, where).toBe(1);
      const after = fundingSlots(engine);
      const settledBefore = before.some((slot) => slot < 0);
      // Every pending chunk keeps its slot's number; the chunks at the columns' indices share one
      // slot: a free one, or, with every slot in use, the oldest one, whose chunks were settled
      // first and so are at the columns' indices too (the slot then holds them all anew).
      before.forEach((slot, chunk) => {
        if (slot >= 0) expect(after[chunk], `${where}: chunk ${chunk} keeps its slot`).toBe(slot);
      });
      const taken = new Set(after.filter((_, chunk) => before[chunk] < 0));
      if (settledBefore) expect(taken.size, `${where}: one slot for the settled chunks`).toBe(1);
      const full = used.size === kernelU32('FUNDING_SLOTS');
      if (settledBefore && full) {
        oldestSettled++;
        const oldest = [...used].reduce((a, b) => ((takenAt.get(a) ?? -1) <= (takenAt.get(b) ?? -1) ? a : b));
        expect([...taken][0], `${where}: the oldest slot taken again`).toBe(oldest);
      } else if (settledBefore) {
        expect(used.has([...taken][0]), `${where}: a free slot taken`).toBe(false);
      }
      if (settledBefore) takenAt.set([...taken][0], round);
      after.forEach((slot) => slot >= 0 && slotsSeen.add(slot));
      most = Math.max(most, new Set(after.filter((slot) => slot >= 0)).size);
      // Updates settle the chunks they reach, and a sweep settles those on their turn: the next
      // index finds chunks at the columns' indices beside the pending ones.
      const next = mixedUpdates(engine, random);
      applyBatch(engine, Array.from({ length: 6 }, next));
      expected = expectAllAgree(engine, where);
    }
    expect(most, 'every slot in use at once').toBe(kernelU32('FUNDING_SLOTS'));
    expect(slotsSeen.size).toBe(kernelU32('FUNDING_SLOTS'));
    expect(oldestSettled, 'rounds that settled the oldest slot first').toBeGreaterThan(2);
    expectRecordsAsRebuilt(engine, 'after the rounds');
  });

  test('a settle cut short (its worker died with some cross bases moved) is rebuilt from the columns by the next sweep, or laid out by the control plane', () => {
    for (const bySweep of [true, false]) {
      const engine = Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 1_800, seed: 13, instruments: 5, isolatedShare: 0.4, nearMaintenanceShare: 0.3 })));
      const v = engine.views;
      engine.sweep({ full: false });
      v.instFunding[2] += 987_654_321n;
      engine.fundingChanged(2);
      // What a worker that died mid-settle leaves: the mark, and one base moved by something.
      const chunk = 3;
      const meta = chunkMeta(engine);
      const at = (name: string) => meta[chunk * W + word(name)];
      expect(at('CHUNK_FUNDING') & STATE_MASK).toBe(PENDING);
      meta[chunk * W + word('CHUNK_FUNDING')] = SETTLING;
      const base = header(engine)[HeaderSlot.sweepRecords] + at('CHUNK_OFFSET') + (at('CHUNK_CROSS') + at('CHUNK_ISOLATED')) * SWEEP_RECORD_SLOT_BYTES;
      new BigInt64Array(engine.memory.buffer, base, 1)[0] -= 12_345n;
      if (!bySweep) engine.accountsChanged([chunk * CHUNK_ACCOUNTS + 7]);
      expect(fundingMarks(engine)[chunk], bySweep ? 'not yet read' : 'laid out').toBe(bySweep ? SETTLING : 0);
      expectAllAgree(engine, bySweep ? 'rebuilt by the sweep' : 'laid out');
      expect(fundingMarks(engine)[chunk], 'the chunk cut short is rebuilt').toBe(0);
      expect(fundingMarks(engine).includes(SETTLING), 'no chunk left settling').toBe(false);
      expectRecordsAsRebuilt(engine, bySweep ? 'rebuilt by the sweep' : 'laid out');
    }
  });

  test('a lazy sweep at the edges of its bound: cross maintenance just past LAZY_MAINT_MAX (its bound not formed: the move found exactly), and equities around each move', () => {
    // unitBook: z lots have maintenance z / 2 quote, and a step of dF owes ceil(z·dF / 10^6) micro.
    // Sizes put the maintenance just below LAZY_MAINT_MAX and just past it, where the low 32 bits of
    // M >> LAZY_RATIO_BITS (what pass 3 multiplies) are small: a bound formed from them would be far
    // below the move. Each account's equity is its maintenance plus an offset around the moves.
    const maintMax = kernelI64('LAZY_MAINT_MAX');
    const lotsAtMax = (2n * maintMax) / 1_000_000n; // maintenance (micro) = lots·10^6 / 2
    const sizes = [lotsAtMax - 2n, lotsAtMax + 1n, lotsAtMax + 2n, lotsAtMax + 7n, 1_000n];
    const offsets = [-2_000n, -600n, -300n, -1n, 0n, 1n, 150n, 299n, 300n, 301n, 600n, 1_200n, 2_000n];
    const accounts = [];
    for (const size of sizes) {
      for (const side of [1n, -1n]) {
        for (const offset of offsets) {
          const maintenance = (size * 1_000_000n) / 2n;
          accounts.push({ id: `w${size}${side > 0n ? 'L' : 'S'}${offset}`, balance: formatScaled(maintenance + offset, 6), positions: [{ instrument: 'X', size: String(side * size), entryPrice: '1', mode: 'cross', leverage: '1' }] });
        }
      }
    }
    const engine = unitBook(accounts);
    expectAllAgree(engine, 'before');
    const v = engine.views;
    const seen = { healthy: 0, failing: 0, past: 0 };
    // A step of 1 index unit moves the largest positions' funding owed by 563 micro; steps of 2 and 4 by more.
    for (const dF of [1n, 1n, -1n, 2n, -4n, 4n, -2n, -1n]) {
      applyBatch(engine, [setFunding(engine, 0, v.instFunding[0] + dF)]);
      expect(pendingAccounts(engine).every(Boolean), 'every chunk pending before its sweep').toBe(true);
      const expected = expectAllAgree(engine, `funding ${v.instFunding[0]}`);
      expect(pendingAccounts(engine).every(Boolean), 'the first sweep after the update reads it lazily').toBe(true);
      expected.accountStatus.forEach((status, a) => {
        if (v.accCrossMaint[a] < maintMax) return;
        seen.past++;
        status === 'healthy' ? seen.healthy++ : seen.failing++;
      });
      engine.settleFunding();
    }
    expect(seen.past).toBeGreaterThan(0);
    expect(seen.healthy).toBeGreaterThan(0);
    expect(seen.failing).toBeGreaterThan(0);
  });

  test('a lazy sweep of instruments finer than a micro: the floored notionals need e micro of slack a record, where the integer bound leaves only about ρ an account', () => {
    // Four instruments of tick 10^-7 and lot 1 (q = 1, d = 10), one bracket at 99.9999% (r_0 just
    // under 10^6, so ρ = e·10^6 / r_0, e = d·|ΔF| / (10^6·mark)). One account holds a lot of each,
    // long and cross, at marks whose values floor 0.9 micro down: N = 16,384, 16,384, 16,384 and
    // 16,383, so M = 65,535, just under 2^16, where ((M >> 16) + 1)·⌈ρ·2^16⌉ exceeds M·ρ by only
    // about ρ. Each index moves by 10^8 marks, e = 1,000: the funding owed moves by (N + 0.9)·1,000
    // a position, 65,538,600 micro in all, 2,404 more than the bound formed without e's slack
    // (docs/architecture.md, "Funding left pending"). Equities at the old indices from that bound
    // − 2,000 to + 3,000 above M: a bound without the slack keeps those above it healthy, though the
    // move takes six of them below M. Every status is held to the reference (expectAllAgree).
    const marks = [163_849n, 163_849n, 163_849n, 163_839n]; // price units of 10^-7: z·p / d = N + 0.9
    const instruments = marks.map((mark, k) => ({
      symbol: `F${k}`,
      markPrice: formatScaled(mark, 7),
      tickSize: '0.0000001',
      lotSize: '1',
      fundingIndex: '0',
      tiers: [{ upToNotional: null, maintenanceRate: '0.999999', maxLeverage: '1' }],
    }));
    const values = marks.map((mark) => mark / 10n); // floor(z·p / d), z = 1
    const maintenance = values.reduce((sum, value) => sum + (value * 999_999n + 999_999n) / 1_000_000n, 0n);
    expect(maintenance).toBe(65_535n);
    const costs = marks.map((mark) => (mark + 9n) / 10n); // ceil(z·entry / d), entry at the mark
    const equityAtZeroBalance = values.reduce((sum, value) => sum + value, 0n) - costs.reduce((sum, cost) => sum + cost, 0n);
    // The integer bound as the kernel forms it (lazyBound, f64), with the slack of 128 positions'
    // roundings and 2 only: ((M >> 16) + 1)·ratio + 130.
    const rho = (1_000 * 1_000_000) / 999_999;
    const ratio = BigInt(Math.floor(rho * 65_536 * (1 + 1e-9)) + 1);
    expect(ratio).toBe(65_536_066n);
    const boundWithoutE = ratio + 130n;
    const move = marks.reduce((sum, mark) => sum + 100n * mark, 0n); // ceil(z·ΔF / 10^6) with ΔF = 10^8·mark: exact
    expect(move - boundWithoutE).toBe(2_404n);
    const offsets = [-2_000n, -1n, 0n, 1n, 1_000n, 2_403n, 2_404n, 2_405n, 3_000n];
    const accounts = offsets.map((offset, k) => ({
      id: `a${k}`,
      // Equity at the old indices: M + boundWithoutE + offset.
      balance: formatScaled(maintenance + boundWithoutE + offset - equityAtZeroBalance, 6),
      positions: instruments.map((x) => ({ instrument: x.symbol, size: '1', entryPrice: x.markPrice, mode: 'cross', leverage: '1' })),
    }));
    const engine = Engine.fromBook(parseBookJson(JSON.stringify({ version: 1, instruments, accounts })));
    expect(engine.instruments.map((x) => valueDivisor(x))).toEqual([10n, 10n, 10n, 10n]);
    expectAllAgree(engine, 'before');
    const v = engine.views;
    applyBatch(
      engine,
      marks.map((mark, i) => setFunding(engine, i, v.instFunding[i] + 100_000_000n * mark)),
    );
    expect(pendingAccounts(engine).every(Boolean), 'every chunk pending before its sweep').toBe(true);
    const expected = expectAllAgree(engine, 'after the funding moves');
    expect(pendingAccounts(engine).every(Boolean), 'the first sweep after the update reads it lazily').toBe(true);
    // Equity after = M + boundWithoutE + offset − move: below M for an offset under 2,404.
    expect(expected.accountStatus).toEqual(offsets.map((offset) => (offset < 2_404n ? 'liquidatable' : 'healthy')));
  });
});

describe('a new funding index refreshes its positions in place', () => {
  test('generated books: the chunk sweep, the column sweep and the reference agree, no chunk is rebuilt, the records are a rebuild\'s (isolated thresholds at or above)', () => {
    const tally = newTally();
    const loosenedBefore = loosened.thresholds;
    for (const seed of [1, 2, 3]) {
      const generated = generateBook({ profile: 'stress', accounts: 2_000 + 77 * seed, seed, instruments: 6, isolatedShare: 0.4, nearMaintenanceShare: 0.3 });
      const engine = Engine.fromBook(generatedBookToBook(generated));
      engine.sweep({ full: false }); // every chunk built: fresh
      fundingRounds(engine, 12, prng(100 + seed), tally, `generated book ${seed}`);
    }
    console.log(`generated books: ${JSON.stringify(tally)}; accounts of pending chunks left before their refresh so far: ${lazyEquities.differing}`);
    // The sweeps read pending chunks lazily: some accounts kept their equity before the refresh (each within its bound).
    expect(lazyEquities.differing).toBeGreaterThan(0);
    expect(tally.applied).toBeGreaterThan(tally.batches);
    // The steps took scopes of both kinds across their maintenance, both ways.
    expect(tally.crossFlips).toBeGreaterThan(50);
    expect(tally.isolatedFlips).toBeGreaterThan(50);
    // Thresholds a drift left above the exact ones, found when the records were compared.
    expect(loosened.thresholds - loosenedBefore).toBeGreaterThan(100);
    expect(tally.relaidOut).toBe(0);
  });

  // decimals 'any': instruments finer than a micro too, whose drifts are wider (src/engine/engine.ts advanceDrifts).
  test.each(['micro', 'any'] as const)('property books (edge ranges, many tiers, zero sizes, several chunks): the same (decimals %s)', (decimals) => {
    const tally = newTally();
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 * CHUNK_ACCOUNTS + 40 }).chain((accounts) => bookArbitrary(accounts, decimals)), fc.nat(), (book: Book, seed) => {
        const engine = Engine.fromBook(book);
        engine.sweep({ full: false });
        fundingRounds(engine, 4, prng(seed), tally, `property book of ${engine.accountCount} accounts (seed ${seed})`);
      }),
      { numRuns: 25 },
    );
    console.log(`property books: ${JSON.stringify(tally)}`);
    expect(tally.crossFlips + tally.isolatedFlips).toBeGreaterThan(20);
  });

  test('a funding move that would take a drift past DRIFT_MAX sets every drift back to 0 and lays the book out again; the sweeps stay exact', () => {
    // A highest maintenance rate of 99.9999%: a rise of the index moves a long's boundary by up to
    // 10^6 times the rise's price units.
    const engine = Engine.fromBook(
      parseBookJson(
        JSON.stringify({
          version: 1,
          instruments: [{ symbol: 'X', markPrice: '100', tickSize: '0.1', lotSize: '0.001', fundingIndex: '0', tiers: [{ upToNotional: null, maintenanceRate: '0.999999', maxLeverage: '1' }] }],
          accounts: [
            { id: 'long', balance: '0', positions: [{ instrument: 'X', size: '0.001', entryPrice: '100', mode: 'isolated', margin: '1000', leverage: '1' }] },
            { id: 'short', balance: '0', positions: [{ instrument: 'X', size: '-0.002', entryPrice: '100', mode: 'isolated', margin: '1000', leverage: '1' }] },
            { id: 'cross', balance: '500', positions: [{ instrument: 'X', size: '0.003', entryPrice: '100', mode: 'cross', leverage: '1' }] },
          ],
        }),
      ),
    );
    expectAllAgree(engine, 'before');
    const tally = newTally();
    const step = (dF: bigint, where: string) => {
      const indices = [engine.views.instFunding[0]];
      const before = [[engine.views.instDriftLong[0], engine.views.instDriftShort[0]]];
      const fresh = placement(engine);
      expect(applyBatch(engine, [setFunding(engine, 0, indices[0] + dF)]).applied, where).toBe(1);
      const drifts = driftsAfter(engine, indices, before);
      if (drifts === null) {
        tally.relaidOut++;
        expect(placement(engine).every((chunk) => chunk.state !== FRESH), `${where}: laid out again`).toBe(true);
        expect([engine.views.instDriftLong[0], engine.views.instDriftShort[0]], `${where}: drifts`).toEqual([0n, 0n]);
      } else {
        expect(placement(engine), `${where}: chunk states and areas`).toEqual(fresh);
        expect([[engine.views.instDriftLong[0], engine.views.instDriftShort[0]]], `${where}: drifts`).toEqual(drifts);
      }
      expectAllAgree(engine, where);
      expectRecordsAsRebuilt(engine, where);
    };
    step(10n ** 9n, 'a rise within the bound'); // the long drift: (10^3 + 1/q) / 10^-6 price units (q = 100)
    expect(engine.views.instDriftLong[0]).toBe(10n ** 9n + 10_000n);
    step(-(10n ** 9n), 'a fall'); // the short drift: 10^3
    expect(engine.views.instDriftShort[0]).toBe(1_000n);
    step(2n * 10n ** 15n, 'a rise past DRIFT_MAX');
    expect(tally.relaidOut).toBe(1);
    step(10n ** 9n, 'a rise after it');
    expect(engine.views.instDriftLong[0]).toBe(10n ** 9n + 10_000n);
  });

  test('the drifts cover the roundings: one-lot positions of q = 1 at their boundaries, tiny funding moves, every mark around them', () => {
    // q = 1 (6 price decimals, whole lots) and a 50% rate: one price unit moves a one-lot position's
    // equity by 1 micro and its maintenance by 0 or 1, and a funding move of one index unit owes 1
    // micro (rounded up). So a boundary moves by whole price units for the roundings alone: the
    // long drift's 1/q term, and the short drift's rounding up. Margins put every position within a few micro of its
    // maintenance; after each move the marks go a few units either way, and every sweep is held to
    // the reference.
    const accounts = [];
    for (const size of [1, 2, 3]) {
      for (const side of [1, -1]) {
        for (let k = -8; k <= 8; k++) {
          const margin = 500_000 * size + k;
          accounts.push({
            id: `p${size}${side > 0 ? 'L' : 'S'}${k}`,
            balance: '0',
            positions: [{ instrument: 'X', size: String(side * size), entryPrice: '1', mode: 'isolated', margin: formatScaled(BigInt(margin), 6), leverage: '1' }],
          });
        }
      }
    }
    const engine = unitBook(accounts);
    expect(quotePerUnit(engine.instruments[0])).toBe(1n);
    expectAllAgree(engine, 'before');
    let failing = 0;
    let healthy = 0;
    for (const dF of [1n, 1n, -1n, -1n, -1n, 2n, 1n, -3n]) {
      applyBatch(engine, [setFunding(engine, 0, engine.views.instFunding[0] + dF)]);
      const mark = engine.views.instMark[0];
      for (let move = -6n; move <= 6n; move++) {
        applyBatch(engine, [{ kind: 'setMark', instrument: 'X', priceUnits: mark + move }]);
        const expected = expectAllAgree(engine, `funding ${engine.views.instFunding[0]}, mark ${mark + move}`);
        for (const status of expected.positionStatus.values()) status === 'healthy' ? healthy++ : failing++;
      }
      applyBatch(engine, [{ kind: 'setMark', instrument: 'X', priceUnits: mark }]);
    }
    expect(failing).toBeGreaterThan(1_000);
    expect(healthy).toBeGreaterThan(1_000);
    expect(engine.views.instDriftLong[0]).toBeGreaterThan(0n);
    expect(engine.views.instDriftShort[0]).toBeGreaterThan(0n);
  });

  test('the drifts cover the roundings finer than a micro: one-lot positions of pd + sd = 7 and 12 at their boundaries, tiny funding moves, every mark where a value floors differently', () => {
    // q = 1 and d = 10 or 10^6 (docs/numbers.md, "Instruments finer than a micro"): a position's
    // value floor(z·p/d) moves by a micro every d/z price units, its maintenance (50%) by 0 or 1,
    // its cost basis from an entry a price unit above a whole micro is rounded up, and a funding
    // move of one index unit (10^-(12 − sd) quote) owes 1 micro or 0 (rounded up). So a boundary
    // moves, for the roundings alone, by up to about d price units: the drifts' d·(… + 1) + 1.
    // Margins put every position within a few micro of its maintenance at the mark M0 (a whole
    // number of micro for every size); after each funding move the mark visits both sides of every
    // price, within 6 micro of a lot's value of M0, where some position's value floors differently,
    // and every sweep is held to the reference.
    const cases = [
      { tickSize: '0.0000001', lotSize: '1', sd: 0, markPrice: '1', d: 10n }, // pd 7: a lot at M0 is 1 quote
      { tickSize: '0.0000001', lotSize: '0.00001', sd: 5, markPrice: '1000', d: 1_000_000n }, // pd 7: a lot at M0 is 0.01 quote
    ];
    for (const { tickSize, lotSize, sd, markPrice, d } of cases) {
      const where0 = `tick ${tickSize}, lot ${lotSize}`;
      const M0 = BigInt(markPrice) * 10_000_000n;
      const accounts = [];
      for (const size of [1n, 2n, 3n]) {
        for (const side of [1n, -1n]) {
          const z = side * size;
          const value = (z * M0) / d; // exact: M0 is a multiple of d
          const maintenance = ((value < 0n ? -value : value) + 1n) / 2n; // ceil(|v| / 2)
          for (const entryOffset of [0n, 1n]) {
            const entry = M0 + entryOffset;
            const product = z * entry;
            const cost = product >= 0n ? (product + d - 1n) / d : -(-product / d); // ceil(z·entry/d)
            for (let k = -8n; k <= 8n; k++) {
              // Equity less maintenance at M0 is k micro.
              const margin = maintenance + cost - value + k;
              accounts.push({
                id: `p${size}${side > 0n ? 'L' : 'S'}e${entryOffset}k${k}`,
                balance: '0',
                positions: [{ instrument: 'X', size: formatScaled(z, sd), entryPrice: formatScaled(entry, 7), mode: 'isolated', margin: formatScaled(margin, 6), leverage: '1' }],
              });
            }
          }
        }
      }
      const engine = Engine.fromBook(
        parseBookJson(
          JSON.stringify({
            version: 1,
            instruments: [{ symbol: 'X', markPrice, tickSize, lotSize, fundingIndex: '0', tiers: [{ upToNotional: null, maintenanceRate: '0.5', maxLeverage: '1' }] }],
            accounts,
          }),
        ),
      );
      const instrument = engine.instruments[0];
      expect([quotePerUnit(instrument), valueDivisor(instrument), engine.views.instMark[0]], where0).toEqual([1n, d, M0]);
      // The marks: M0 + o for o on both sides of each price where floor(z·p/d) steps, |z| = 1, 2, 3.
      const offsets = new Set<bigint>();
      for (const size of [1n, 2n, 3n]) {
        for (let j = -6n * size; j <= 6n * size; j++) {
          const step = j >= 0n ? (j * d + size - 1n) / size : -((-j * d) / size); // ceil(j·d/z)
          offsets.add(step - 1n);
          offsets.add(step);
        }
      }
      const marks = [...offsets].sort((x, y) => (x < y ? -1 : 1)).map((o) => M0 + o);
      expectAllAgree(engine, `${where0}, before`);
      let failing = 0;
      let healthy = 0;
      for (const dF of [1n, 1n, -1n, -2n, -1n, 2n, 1n, -2n]) {
        const indices = [engine.views.instFunding[0]];
        const before = [[engine.views.instDriftLong[0], engine.views.instDriftShort[0]]];
        expect(applyBatch(engine, [setFunding(engine, 0, indices[0] + dF)]).applied).toBe(1);
        // The drifts moved by the bound for an instrument finer than a micro, and no further.
        expect([[engine.views.instDriftLong[0], engine.views.instDriftShort[0]]], `${where0}: drifts after ${dF}`).toEqual(driftsAfter(engine, indices, before));
        for (const mark of marks) {
          applyBatch(engine, [{ kind: 'setMark', instrument: 'X', priceUnits: mark }]);
          const expected = expectAllAgree(engine, `${where0}: funding ${engine.views.instFunding[0]}, mark ${mark}`);
          for (const status of expected.positionStatus.values()) status === 'healthy' ? healthy++ : failing++;
        }
        applyBatch(engine, [{ kind: 'setMark', instrument: 'X', priceUnits: M0 }]);
      }
      expectRecordsAsRebuilt(engine, where0);
      console.log(`${where0}: ${marks.length} marks a funding move, ${failing} failing and ${healthy} healthy statuses; drifts ${engine.views.instDriftLong[0]} and ${engine.views.instDriftShort[0]}`);
      expect(failing, where0).toBeGreaterThan(10_000);
      expect(healthy, where0).toBeGreaterThan(10_000);
      expect(engine.views.instDriftLong[0], where0).toBeGreaterThan(0n);
      expect(engine.views.instDriftShort[0], where0).toBeGreaterThan(0n);
    }
  });

  test('a batch that changes accounts and funding indices together (the accounts refreshed first), and books whose blocks moved', () => {
    let switched = 0;
    let opened = 0;
    let scattered = 0;
    const tally = newTally();
    for (const seed of [4, 5, 6, 7]) {
      const generated = generateBook({ profile: 'stress', accounts: 1_500, seed, instruments: 4, isolatedShare: 0.4, nearMaintenanceShare: 0.3 });
      const engine = Engine.fromBook(generatedBookToBook(generated));
      engine.sweep({ full: false });
      const random = prng(200 + seed);
      let expected = reference(engine);
      for (let round = 0; round < 8; round++) {
        const where = `generated book ${seed}, round ${round}`;
        const v = engine.views;
        const operations: AnyOperation[] = [];
        const i = Math.floor(random() * engine.instruments.length);
        const symbol = engine.instruments[i].symbol;
        const holds = (a: number, mode: number) => {
          for (let k = v.accPosStart[a]; k < v.accPosStart[a] + v.accPosCount[a]; k++) if (v.posInst[k] === i && v.posMode[k] === mode) return true;
          return false;
        };
        // Positions on the instrument change mode, before and after the new index in the batch: the
        // account's records change counts (its chunk's later records shift) in the same refresh.
        const switchOn = () => {
          for (let tries = 0; tries < 50; tries++) {
            const a = Math.floor(random() * engine.accountCount);
            for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
              if (v.posInst[j] !== i || holds(a, v.posMode[j] === MODE_CROSS ? MODE_ISOLATED : MODE_CROSS)) continue;
              operations.push(
                v.posMode[j] === MODE_CROSS
                  ? { kind: 'switchMode', accountIndex: a, instrument: symbol, to: 'isolated', marginMicro: 1n + v.accBalance[a] / 3n }
                  : { kind: 'switchMode', accountIndex: a, instrument: symbol, to: 'cross' },
              );
              return;
            }
          }
        };
        // A new position on the instrument: the account's block moves to the arena's tail, and its
        // chunk's blocks are no longer one run.
        const open = () => {
          const a = Math.floor(random() * engine.accountCount);
          const mode = random() < 0.5 ? ('cross' as const) : ('isolated' as const);
          if (holds(a, mode === 'cross' ? MODE_CROSS : MODE_ISOLATED)) return;
          const instrument = engine.instruments[i];
          const notional = 1_000n * 1_000_000n; // 1,000 quote
          const lots = notional / (quotePerUnit(instrument) * v.instMark[i] * instrument.lotUnits) + 1n;
          operations.push({ kind: 'fill', accountIndex: a, instrument: symbol, mode, sizeUnits: lots * instrument.lotUnits * (random() < 0.5 ? -1n : 1n), priceUnits: v.instMark[i] });
        };
        for (let k = 0; k < 3; k++) switchOn();
        open();
        operations.push(setFunding(engine, i, v.instFunding[i] + fundingStep(engine, expected, i, random)));
        for (let k = 0; k < 3; k++) switchOn();
        open();
        operations.push({ kind: 'deposit', accountIndex: Math.floor(random() * engine.accountCount), amountMicro: 1_000_000n });
        const result = applyBatch(engine, operations);
        result.results.forEach((r, k) => {
          if (r.ok && operations[k].kind === 'switchMode') switched++;
          if (r.ok && operations[k].kind === 'fill') opened++;
        });
        expected = expectAllAgree(engine, where);
        expectRecordsAsRebuilt(engine, where);
      }
      // Funding alone on the book as its blocks now lie: chunks read account by account too.
      scattered += scatteredChunks(engine);
      fundingRounds(engine, 4, prng(300 + seed), tally, `generated book ${seed} after its blocks moved`);
    }
    console.log(`mixed batches: ${switched} mode switches, ${opened} positions opened, ${scattered} chunks whose blocks are not one run; then ${JSON.stringify(tally)}`);
    expect(switched).toBeGreaterThan(50);
    expect(opened).toBeGreaterThan(10);
    expect(scattered).toBeGreaterThan(10); // of 24
  });

  test('a funding refresh before the changed accounts are refreshed stays exact: it moves the records as they stand, and the account\'s own refresh then rewrites its records in place', () => {
    let inPlace = 0;
    let runs = 0;
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 3 * CHUNK_ACCOUNTS }).chain((accounts) => bookArbitrary(accounts)), fc.nat(), fc.nat(), (book: Book, pick, step) => {
        const engine = Engine.fromBook(book);
        const v = engine.views;
        engine.sweep({ full: false });
        // Account a's first position changes mode in the columns, not yet refreshed, and a new
        // funding index of its instrument (or another) is refreshed first.
        // A book with no position at all has nothing to change (the search below would not end).
        if (book.accounts.every((account) => account.positions.length === 0)) return;
        let a = pick % engine.accountCount;
        while (v.accPosCount[a] === 0) a = (a + 1) % engine.accountCount;
        const j = v.accPosStart[a];
        const toIsolated = v.posMode[j] === MODE_CROSS;
        for (let k = v.accPosStart[a]; k < v.accPosStart[a] + v.accPosCount[a]; k++) {
          if (v.posInst[k] === v.posInst[j] && v.posMode[k] !== v.posMode[j]) return; // it would hold the pair twice
        }
        v.posMode[j] = toIsolated ? MODE_ISOLATED : MODE_CROSS;
        v.posMargin[j] = toIsolated ? 10n ** 9n : 0n;
        const i = (v.posInst[j] + (step % 3 === 0 ? 1 : 0)) % engine.instruments.length;
        const index = v.instFunding[i] + BigInt(step % 2_000_001) - 1_000_000n;
        if (engine.core.fundingOutOfRange(engine.layout.header, i, index) !== 0) return;
        v.instFunding[i] = index;
        const before = placement(engine);
        engine.fundingChanged(i);
        engine.accountsChanged([a]);
        const chunk = Math.floor(a / CHUNK_ACCOUNTS);
        // No chunk is marked for rebuilding: a's records, funding-refreshed as they stood, are
        // rewritten from its columns (shifted within its area, or copied to a new one).
        placement(engine).forEach((state, k) => {
          if (k !== chunk) expect(state).toEqual(before[k]);
          else if (state.state === FRESH) inPlace++;
        });
        runs++;
        expectAllAgree(engine, `account ${a}, instrument ${i}`);
        expectRecordsAsRebuilt(engine, `account ${a}, instrument ${i}`);
      }),
      // About half the draws return early (a book with no position, a pair held twice, an index out
      // of range): 150 draws gave 50 runs once, at the bound.
      { numRuns: 250 },
    );
    expect(runs).toBeGreaterThan(50);
    expect(inPlace).toBe(runs);
  });

  test('with the chunk sweep off a new funding index writes nothing: records, chunk meta and the book stay as they were', () => {
    const engine = Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 1_000, seed: 9, instruments: 5 })));
    engine.sweep({ full: false });
    const kept = records(engine);
    const meta = Buffer.from(chunkMeta(engine));
    engine.chunkSweep = false;
    const v = engine.views;
    v.instFunding[1] += 123_456_789n;
    v.instFunding[3] -= 987_654n;
    const book = engine.toBook();
    engine.fundingChanged(1);
    engine.fundingChanged(3);
    expect(engine.toBook()).toEqual(book);
    records(engine).chunks.forEach((bytes, chunk) => expectSameList(bytes, kept.chunks[chunk], `chunk ${chunk}'s records and bases (bytes)`));
    expect(Buffer.from(chunkMeta(engine)).equals(meta)).toBe(true);
    const expected = reference(engine);
    expect(engine.sweep({ full: false })).toBe(expected.liquidatable);
    expectReferenceStatuses(engine, expected, 'chunk sweep off');
  });

  test('a refused funding index changes nothing, records included', () => {
    const engine = Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 700, seed: 3, instruments: 3 })));
    engine.sweep({ full: false });
    const bytes = () => Buffer.from(new Uint8Array(engine.memory.buffer, engine.layout.header, engine.layout.end - engine.layout.header));
    // Instrument 1's index at −10^18 would put some position's unsettled funding out of range.
    expect(engine.core.fundingOutOfRange(engine.layout.header, 1, -FUNDING_INDEX_ABS_MAX)).not.toBe(0);
    const before = bytes();
    const result = applyBatch(engine, [
      { kind: 'setFundingIndex', instrument: engine.instruments[0].symbol, fundingIndex: FUNDING_INDEX_ABS_MAX + 1n },
      { kind: 'setFundingIndex', instrument: 'NO-SUCH', fundingIndex: 1n },
      { kind: 'setFundingIndex', instrument: engine.instruments[1].symbol, fundingIndex: -FUNDING_INDEX_ABS_MAX }, // unsettled funding out of range
    ]);
    expect(result.results.map((r) => (r.ok ? 'ok' : r.code))).toEqual(['out_of_range', 'unknown_instrument', 'out_of_range']);
    expect(bytes().equals(before)).toBe(true);
  });

  test('the entry points check their arguments: the shard record and its cache, the table of changes, the funding slots, the output', () => {
    const engine = Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 300, seed: 5, instruments: 3 })));
    engine.sweep({ full: false });
    const bytes = () => Buffer.from(new Uint8Array(engine.memory.buffer, engine.layout.header, engine.layout.end - engine.layout.header));
    const before = bytes();
    const h = engine.layout.header;
    const flags = kernelU32('SWEEP_CHUNKS');
    const changes = engine.region('test.changes', 3 * kernelU32('FUNDING_CHANGE_BYTES')); // zeroed: nothing changed
    new Uint8Array(engine.memory.buffer, changes, 3 * kernelU32('FUNDING_CHANGE_BYTES')).fill(0);
    const slots = engine.region('test.slots', 3 * kernelU32('FUNDING_SLOTS_BYTES_PER_INSTRUMENT') + kernelU32('FUNDING_SLOT_METAS_BYTES'));
    expect(() => engine.core.refreshFunding(h, 0, changes, flags, slots)).toThrow(/core assertion failed: refreshFunding: no shard record at assembly\/index\.ts/);
    expect(() => engine.core.refreshFunding(h, engine.shardRecord(), 0, flags, slots)).toThrow(/core assertion failed: refreshFunding: no table of changes/);
    expect(() => engine.core.refreshFunding(h, engine.shardRecord(), changes, flags, 0)).toThrow(/core assertion failed: refreshFunding: no funding slots/);
    const record = engine.shardRecord('test');
    new Uint32Array(engine.memory.buffer, record, SHARD_RECORD_BYTES / 4)[ShardSlot.cache] = 0;
    expect(() => engine.core.refreshFunding(h, record, changes, flags, slots)).toThrow(/core assertion failed: refreshFunding: the shard record names no instrument cache/);
    expect(() => engine.core.fundingSnapshotBounds(h, 0)).toThrow(/core assertion failed: fundingSnapshotBounds: no output/);
    for (const bad of [-1, 3, 1.5, Number.NaN]) expect(() => engine.fundingChanged(bad)).toThrow(RangeError);
    expect(() => engine.fundingChanged([0, 3])).toThrow(RangeError);
    for (const bad of [[300], [-1], [4, 4], [7, 2], [1.5]]) expect(() => engine.fundingChanged(0, bad)).toThrow(RangeError);
    expect(bytes().equals(before)).toBe(true);
    // With nothing changed, a refresh rewrites the same bytes.
    for (let i = 0; i < 3; i++) engine.fundingChanged(i);
    engine.fundingChanged([0, 1, 2]);
    expect(bytes().equals(before)).toBe(true);
  });
});
