// A cross slot has no status of its own: only isolated slots are counted and listed as failing
// isolated scopes. The chunk sweep writes statuses for isolated slots only, so whatever byte a
// cross slot's status holds (a stray write, a stale value) must not reach the counts or the lists,
// on the chunk path (status sweep of a compact book) or the column path (full sweep).
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../../src/engine/engine.js';
import { MODE_CROSS, MODE_ISOLATED, STATUS_HEALTHY } from '../../src/fixed/constants.js';
import { LIST_ENTRY_BYTES, SHARD_RECORD_BYTES, SWEEP_CHUNKS, SWEEP_FULL, ShardSlot } from '../../src/memory/layout.js';
import { bookArbitrary } from '../support/arbitraries.js';
import { statusScopes } from '../support/scopes.js';

interface Listed {
  returned: number;
  liquidatable: number;
  bankrupt: number;
  scopes: number[];
}

/** A kernel sweep of the whole book with a list roomy enough for every failing scope. */
function sweepListed(engine: Engine, flags: number): Listed {
  const capacity = 2 * engine.positionsUsed + engine.accountCount;
  const record = engine.shardRecord('test.listed');
  const list = engine.region('test.list', capacity * LIST_ENTRY_BYTES);
  let slots = new Uint32Array(engine.memory.buffer, record, SHARD_RECORD_BYTES / 4);
  slots[ShardSlot.list] = list;
  slots[ShardSlot.listCapacity] = capacity;
  const returned = engine.core.sweep(engine.layout.header, 0, engine.accountCount, flags, record);
  slots = new Uint32Array(engine.memory.buffer, record, SHARD_RECORD_BYTES / 4);
  expect(slots[ShardSlot.listed]).toBe(slots[ShardSlot.liquidatable]);
  return {
    returned,
    liquidatable: slots[ShardSlot.liquidatable],
    bankrupt: slots[ShardSlot.bankrupt],
    scopes: Array.from(new Uint32Array(engine.memory.buffer, list, 2 * slots[ShardSlot.listed])),
  };
}


/** Writes a stray status on every cross slot in use (liquidatable and bankrupt in turn); returns the slots. */
function strayOnCrossSlots(engine: Engine): number[] {
  const v = engine.views;
  const slots: number[] = [];
  for (let j = 0; j < engine.positionsUsed; j++) {
    if (v.posMode[j] !== MODE_CROSS) continue;
    v.posStatus[j] = 1 + (slots.length % 2);
    slots.push(j);
  }
  return slots;
}

describe('a stray status on a cross slot', () => {
  const book = fc.sample(bookArbitrary(1_500), { numRuns: 1, seed: 20261129 })[0];

  test('changes neither the counts nor the list of the chunk sweep (compact book, status sweep)', () => {
    const engine = Engine.fromBook(book);
    expect(engine.chunkSweep).toBe(true);
    // The first status sweep builds every chunk's records (and zeroes the cross slots' statuses).
    const clean = sweepListed(engine, SWEEP_CHUNKS);
    expect(clean.scopes).toEqual(statusScopes(engine));
    // Accounts whose failing isolated scopes are counted in a second look at the statuses, and
    // that also hold a cross position: where a stray cross status used to be counted.
    const v = engine.views;
    let mixedFailing = 0;
    for (let a = 0; a < engine.accountCount; a++) {
      const slots = Array.from({ length: v.accPosCount[a] }, (_, k) => v.accPosStart[a] + k);
      const failingIsolated = slots.some((j) => v.posMode[j] === MODE_ISOLATED && v.posStatus[j] !== STATUS_HEALTHY);
      if (failingIsolated && slots.some((j) => v.posMode[j] === MODE_CROSS)) mixedFailing++;
    }
    expect(mixedFailing).toBeGreaterThan(0);

    const stray = strayOnCrossSlots(engine);
    expect(stray.length).toBeGreaterThan(0);
    const swept = sweepListed(engine, SWEEP_CHUNKS);
    // The chunk path ran: it writes no cross slot's status, so the strays are still there.
    expect(stray.every((j) => v.posStatus[j] !== STATUS_HEALTHY)).toBe(true);
    expect(swept).toEqual(clean);
    expect(swept.returned).toBe(clean.liquidatable);
  });

  test('changes neither the counts nor the list of the column sweep (full sweep)', () => {
    const engine = Engine.fromBook(book);
    engine.evaluate({ full: true });
    const clean = sweepListed(engine, SWEEP_FULL | SWEEP_CHUNKS);
    expect(clean.liquidatable).toBeGreaterThan(0);
    expect(clean.scopes).toEqual(statusScopes(engine));
    strayOnCrossSlots(engine);
    expect(sweepListed(engine, SWEEP_FULL | SWEEP_CHUNKS)).toEqual(clean);
    // And over the columns on a status sweep (as of a book that is not compact).
    strayOnCrossSlots(engine);
    expect(sweepListed(engine, 0)).toEqual(clean);
  });
});
