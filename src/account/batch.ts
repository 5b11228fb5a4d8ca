// Batches of account operations: the cascade simulator's and the live feed's way in. Each operation
// is applied in order, atomically (a refused one changes nothing and the rest still apply), as
// applyOperation would; the derived state of every account the batch changed (the chunk
// sweep's records) is refreshed once, at the end, by one Engine.accountsChanged call, that of the
// positions of the instruments whose funding indices the batch set by one Engine.fundingChanged,
// and that of the isolated positions of the instruments whose tier tables it set by one
// Engine.tiersChanged.
//
// The operations a batch is mostly made of run in the kernel (assembly/operations.ts): deposits and
// fills, closes included. Each window of the batch is written as fixed records
// (checked here first: the account, the instrument, the mode, the lots, the price's range;
// anything else, or anything malformed, is left to this side), and the kernel applies or refuses
// them in order (a refusal: the same code, and the same reason from the figures it reports, with
// nothing written), up to the first it leaves to this side: of another kind, a fill that needs the
// arena to grow, or one it is not certain about. That one goes through applyUnit here (its refusal
// and reason, or its effect), and the kernel goes on from the next. The kernel applies and refuses
// an operation only as applyUnit would, to the same integers (test/account/batch.test.ts holds the
// two paths to the same books and results).
import type { Engine } from '../engine/engine.js';
import { MODE_CROSS, MODE_ISOLATED, PRICE_UNITS_MAX, QUOTE_ABS_MAX } from '../fixed/constants.js';
import {
  OP_ACCOUNT,
  OP_AMOUNT,
  OP_BYTES,
  OP_DEPOSIT,
  OP_FILL,
  OP_HOST,
  OP_INSTRUMENT,
  OP_KIND,
  OP_MODE,
  OP_PRICE,
  OP_REALIZED,
  OP_SIZE_ABS_MAX,
  OP_SIZE_AFTER,
  OP_OUTCOME,
  OP_FIGURE_1,
  OP_FIGURE_2,
  OUTCOME_APPLIED,
  OUTCOME_OPENED,
  OUTCOME_CLOSED,
  OUTCOME_REFRESHED,
  OP_SHORTFALL,
  REFUSED_FUNDING_EXCEEDS_MARGIN,
  REFUSED_LEVERAGE_ABOVE_BRACKET,
  REFUSED_MARGIN_EXCEEDS_WALLET,
  REFUSED_LOSS_EXCEEDS_MARGIN,
  REFUSED_ISOLATED_INITIAL,
  REFUSED_CROSS_INITIAL,
} from '../memory/layout.js';
import { APPLIED, applyUnit, Changes, FILL, reasons, resolveAccount, type AnyOperation, type OperationResult } from './operations.js';

export interface BatchResult {
  /** One per operation, in order: `{ ok: true, ... }` or `{ ok: false, code, reason }`. */
  results: OperationResult[];
  applied: number;
  refused: number;
  /**
   * The accounts the applied operations changed, ascending, each once (their derived state is
   * fresh): for the feed, whose accounts to publish; for the simulator, whose prices to recompute.
   */
  changed: Uint32Array;
}

/** Operations written as records at a time: the records region stays small (48 bytes a record) and in the caches. */
const WINDOW = 4096;

/**
 * Applies `operations` in order, each one applied or refused on the book as the ones before it
 * left it. Accounts are named by id (`account`) or by index (`accountIndex`); instrument updates
 * (setMark, setFundingIndex, setTiers) may be mixed in and take effect for the operations after them.
 * Afterwards the book is ready for a sweep: inputs and derived state are current; the figures
 * (equity, maintenance, status columns, Engine.accountResult) are written by the next sweep or
 * evaluation (a status sweep may leave the cross equity of an account whose chunk has a funding
 * refresh pending before that refresh, its status exact: Engine.fundingChanged). An error that is not a refusal (a bug, memory exhausted) rolls back the operation it
 * came from, refreshes what the applied ones changed, and is thrown: those stay applied.
 */
export function applyBatch(engine: Engine, operations: readonly AnyOperation[]): BatchResult {
  engine.assertWritable('applyBatch'); // the single writer: not while a pool sweeps the book
  const changes = new Changes(operations.length);
  const results = new Array<OperationResult>(operations.length);
  let applied = 0;
  let changed: Uint32Array | undefined;
  try {
    for (let start = 0; start < operations.length; start += WINDOW) {
      const count = Math.min(WINDOW, operations.length - start);
      const records = engine.operationRecords(count);
      writeRecords(engine, operations, start, count, records);
      let from = 0;
      while (from < count) {
        let stop: number;
        try {
          // Fills rewrite their records in place only before any funding index set in this batch.
          stop = engine.applyOperationRecords(records, from, count, changes.fundingInstruments.length === 0);
        } catch (error) {
          // A record failed the kernel's checks (a bug here): the ones before it were applied.
          takeApplied(engine, records, from, engine.operationProgress(records, count), start, results, changes);
          throw error;
        }
        applied += takeApplied(engine, records, from, stop, start, results, changes);
        if (stop === count) break;
        // The kernel left this one to this side (OUTCOME_HOST).
        const result = applyUnit(engine, operations[start + stop], changes);
        results[start + stop] = result;
        if (result.ok) applied++;
        from = stop + 1;
      }
    }
  } finally {
    changed = changes.refresh(engine);
  }
  return { results, applied, refused: operations.length - applied, changed };
}

/**
 * Writes operations [start, start + count) as kernel records at `records`: deposits and fills whose
 * fields are well formed and in range get their kind, every other operation OP_HOST (applyUnit
 * applies or refuses it, with its reason).
 */
function writeRecords(engine: Engine, operations: readonly AnyOperation[], start: number, count: number, records: number): void {
  const words = engine.memoryWords;
  const bytes = engine.memoryBytes;
  const values = engine.memoryI64;
  for (let k = 0; k < count; k++) {
    const at = records + k * OP_BYTES;
    const operation = operations[start + k];
    let kind = OP_HOST;
    const a = operation.kind === 'deposit' || operation.kind === 'fill' ? resolveAccount(engine, operation) : -1;
    if (a >= 0 && operation.kind === 'deposit') {
      const amount = operation.amountMicro;
      if (typeof amount === 'bigint' && amount > 0n && amount <= QUOTE_ABS_MAX) {
        kind = OP_DEPOSIT;
        values[(at + OP_AMOUNT) / 8] = amount;
      }
    } else if (a >= 0 && operation.kind === 'fill') {
      const i = typeof operation.instrument === 'string' ? engine.symbolIndex.get(operation.instrument) : undefined;
      const mode = operation.mode === 'cross' ? MODE_CROSS : operation.mode === 'isolated' ? MODE_ISOLATED : -1;
      const size = operation.sizeUnits;
      const price = operation.priceUnits;
      if (
        i !== undefined &&
        mode >= 0 &&
        operation.marginMicro === undefined &&
        typeof size === 'bigint' &&
        typeof price === 'bigint' &&
        size !== 0n &&
        size <= OP_SIZE_ABS_MAX &&
        size >= -OP_SIZE_ABS_MAX &&
        size % engine.instruments[i].lotUnits === 0n &&
        price > 0n &&
        price <= PRICE_UNITS_MAX
      ) {
        kind = OP_FILL;
        bytes[at + OP_INSTRUMENT] = i & 0xff; // u16, little-endian
        bytes[at + OP_INSTRUMENT + 1] = i >>> 8;
        bytes[at + OP_MODE] = mode;
        values[(at + OP_AMOUNT) / 8] = size;
        values[(at + OP_PRICE) / 8] = price;
      }
    }
    bytes[at + OP_KIND] = kind;
    words[(at + OP_ACCOUNT) / 4] = kind === OP_HOST ? 0 : a;
  }
}

/**
 * The results of the records [from, stop) the kernel applied or refused, for operations start +
 * from on: each one's result; for an applied one its account (a fill's for the refresh; a
 * deposit's, whose cross base the kernel moved, for the listeners) and a fill's size for its
 * instrument's high-water mark (a close's is 0). Returns how many it applied.
 */
function takeApplied(engine: Engine, records: number, from: number, stop: number, start: number, results: OperationResult[], changes: Changes): number {
  if (stop === from) return 0;
  const words = engine.memoryWords;
  const bytes = engine.memoryBytes;
  const values = engine.memoryI64;
  let applied = 0;
  for (let k = from; k < stop; k++) {
    const at = records + k * OP_BYTES;
    const outcome = bytes[at + OP_OUTCOME];
    if (outcome !== OUTCOME_APPLIED && outcome !== OUTCOME_OPENED && outcome !== OUTCOME_CLOSED && outcome !== OUTCOME_REFRESHED) {
      results[start + k] = kernelRefusal(engine, at, outcome);
      continue;
    }
    applied++;
    const a = words[(at + OP_ACCOUNT) / 4];
    if (bytes[at + OP_KIND] === OP_DEPOSIT) {
      changes.addCredited(a); // its cross base moved already, in the kernel
      results[start + k] = APPLIED;
    } else if (outcome === OUTCOME_CLOSED) {
      changes.add(a);
      // As operations.ts fill reports a close: the shortfall only when there is one.
      const realizedPnlMicro = values[(at + OP_REALIZED) / 8];
      const shortfallMicro = values[(at + OP_SHORTFALL) / 8];
      results[start + k] = shortfallMicro > 0n ? { ok: true, realizedPnlMicro, shortfallMicro } : { ok: true, realizedPnlMicro };
    } else {
      // A fill whose record the kernel rewrote needs no refresh, only the listeners told.
      if (outcome === OUTCOME_REFRESHED) changes.addRefreshed(a);
      else changes.add(a);
      const i = instrumentOf(bytes, at);
      const size = values[(at + OP_SIZE_AFTER) / 8];
      if (size > engine.sizeHighWater[i]) engine.sizeHighWater[i] = size;
      // A position opened takes the instrument's index as its snapshot (Engine.writePosition).
      if (outcome === OUTCOME_OPENED) engine.widenFundingEnvelope(i, engine.views.instFunding[i]);
      results[start + k] = { ok: true, realizedPnlMicro: values[(at + OP_REALIZED) / 8] };
    }
  }
  return applied;
}

/**
 * The refusal the kernel reported for the record at `at` (its `outcome`, a REFUSED_* code), as
 * applyUnit would have given it: the same code, the reason from the same figures (operations.ts
 * reasons).
 */
function kernelRefusal(engine: Engine, at: number, outcome: number): OperationResult {
  const values = engine.memoryI64;
  const first = values[(at + OP_FIGURE_1) / 8];
  const second = values[(at + OP_FIGURE_2) / 8];
  switch (outcome) {
    case REFUSED_FUNDING_EXCEEDS_MARGIN: {
      const symbol = engine.instruments[instrumentOf(engine.memoryBytes, at)].symbol;
      return { ok: false, code: 'funding_exceeds_margin', reason: reasons.fundingExceedsMargin(first, second, symbol) };
    }
    case REFUSED_LEVERAGE_ABOVE_BRACKET:
      return { ok: false, code: 'leverage_above_bracket', reason: reasons.leverageAboveBracket(Number(first), Number(second)) };
    case REFUSED_MARGIN_EXCEEDS_WALLET:
      return { ok: false, code: 'exceeds_wallet', reason: reasons.marginExceedsWallet(first, second) };
    case REFUSED_LOSS_EXCEEDS_MARGIN:
      return { ok: false, code: 'loss_exceeds_margin', reason: reasons.lossExceedsMargin(first) };
    case REFUSED_ISOLATED_INITIAL:
      return { ok: false, code: 'below_initial_margin', reason: reasons.isolatedBelowInitial(first, second) };
    case REFUSED_CROSS_INITIAL:
      return { ok: false, code: 'below_initial_margin', reason: reasons.crossBelowInitial(FILL, first, second) };
    default:
      throw new Error(`engine invariant broken: the kernel stopped at an operation with outcome ${outcome}`);
  }
}

/** The instrument of the record at `at` (u16, little-endian), read through the engine's cached byte view. */
function instrumentOf(bytes: Uint8Array, at: number): number {
  return bytes[at + OP_INSTRUMENT] | (bytes[at + OP_INSTRUMENT + 1] << 8);
}
