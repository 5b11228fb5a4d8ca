// Batches of account operations: the cascade simulator's and the live feed's way in. Each operation
// is applied in order, atomically (a refused one changes nothing and the rest still apply), as
// applyOperation would; the derived state of every account the batch changed (the chunk
// sweep's records) is refreshed once, at the end, by one Engine.accountsChanged call, and that of
// the positions of the instruments whose funding indices the batch set by one Engine.fundingChanged.
import type { Engine } from '../engine/engine.js';
import { applyUnit, Changes, type AnyOperation, type OperationResult } from './operations.js';

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

/**
 * Applies `operations` in order, each one applied or refused on the book as the ones before it
 * left it. Accounts are named by id (`account`) or by index (`accountIndex`); instrument updates
 * (setMark, setFundingIndex) may be mixed in and take effect for the operations after them.
 * Afterwards the book is ready for a sweep: inputs and derived state are current; the figures
 * (equity, maintenance, status columns, Engine.accountResult) are written by the next sweep or
 * evaluation. An error that is not a refusal (a bug, memory exhausted) rolls back the operation it
 * came from, refreshes what the applied ones changed, and is thrown: those stay applied.
 */
export function applyBatch(engine: Engine, operations: readonly AnyOperation[]): BatchResult {
  engine.assertWritable('applyBatch'); // the single writer: not while a pool sweeps the book
  const changes = new Changes(operations.length);
  const results = new Array<OperationResult>(operations.length);
  let applied = 0;
  let changed: Uint32Array | undefined;
  try {
    for (let k = 0; k < operations.length; k++) {
      const result = applyUnit(engine, operations[k], changes);
      results[k] = result;
      if (result.ok) applied++;
    }
  } finally {
    changed = changes.refresh(engine);
  }
  return { results, applied, refused: operations.length - applied, changed };
}
