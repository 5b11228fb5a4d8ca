// The loaders' warm-up (src/account/warm-up.ts) runs the operation path on a book of its own and
// refreshes the loaded book's first account: the loaded book must come out of it byte for byte as
// it went in, inputs and derived state (the records region, the chunk metas, the header) alike,
// whether its chunks are fresh (after a sweep) or marked for rebuilding (straight after a load).
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../../src/engine/engine.js';
import { warmUpOperations } from '../../src/account/warm-up.js';
import { chunksOf, CHUNK_META_BYTES, HEADER_SLOTS, HeaderSlot } from '../../src/memory/layout.js';
import { bookArbitrary } from '../support/arbitraries.js';

/** The book's inputs and the bytes of everything the kernel derives from them. */
function state(engine: Engine): { book: unknown; derived: Buffer; header: number[] } {
  const header = new Uint32Array(engine.memory.buffer, engine.layout.header, HEADER_SLOTS);
  const start = header[HeaderSlot.sweepRecords];
  const end = header[HeaderSlot.chunks] + chunksOf(engine.layout.capacity.accounts) * CHUNK_META_BYTES;
  return { book: engine.toBook(), derived: Buffer.from(new Uint8Array(engine.memory.buffer, start, end - start)), header: Array.from(header) };
}

describe('the warm-up', () => {
  test('leaves the loaded book as it was, its derived state included, fresh or marked for rebuilding', () => {
    let runs = 0;
    fc.assert(
      fc.property(bookArbitrary(300), fc.boolean(), (book, swept) => {
        const engine = Engine.fromBook(book);
        const twin = Engine.fromBook(book); // never warmed up
        if (swept) {
          engine.sweep({ full: false });
          twin.sweep({ full: false });
        }
        const before = state(engine);
        warmUpOperations(engine);
        warmUpOperations(engine); // idempotent
        expect(state(engine)).toEqual(before);
        // And it sweeps as the twin does.
        expect(engine.sweep({ full: false })).toBe(twin.sweep({ full: false }));
        const statuses = (e: Engine) => Buffer.from(e.views.accStatus.subarray(0, e.accountCount));
        expect(statuses(engine).equals(statuses(twin))).toBe(true);
        runs++;
      }),
      { numRuns: 20 },
    );
    expect(runs).toBe(20);
  });
});
