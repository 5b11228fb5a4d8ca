// The hot book's table of accounts (src/engine/hot-book.ts AccountTable) against a Map: random
// sets, deletions and lookups, with accounts chosen to collide (multiples of a power of two) and
// enough of them to make the table grow several times, and deletions that shift probe runs back.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AccountTable } from '../../src/engine/hot-book.js';

describe('AccountTable', () => {
  it('holds what a Map holds after any sequence of sets and deletions', () => {
    const account = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2_000 }).map((k) => k * 4_096), fc.integer({ min: 0, max: 2 ** 32 - 2 }));
    const step = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), a: account, value: fc.integer({ min: 1, max: 2 ** 32 - 1 }) }),
      fc.record({ kind: fc.constant('delete' as const), a: account }),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1_000, maxLength: 3_000 }), (steps) => {
        const table = new AccountTable();
        const map = new Map<number, number>();
        for (const s of steps) {
          if (s.kind === 'set') {
            table.set(s.a, s.value);
            map.set(s.a, s.value);
          } else {
            table.delete(s.a);
            map.delete(s.a);
          }
          if (table.size !== map.size || table.get(s.a) !== (map.get(s.a) ?? 0)) return false;
        }
        for (const s of steps) if (table.get(s.a) !== (map.get(s.a) ?? 0)) return false;
        table.clear();
        return table.size === 0 && steps.every((s) => table.get(s.a) === 0);
      }),
      { numRuns: 200 },
    );
  });

  it('grows past a million accounts and empties again by deletions alone', () => {
    const table = new AccountTable();
    const n = 1_100_000;
    for (let a = 0; a < n; a++) table.set(a * 7, a + 1);
    expect(table.size).toBe(n);
    expect(table.bytes).toBeLessThanOrEqual(32 * n); // two to four cells of 8 bytes an account
    for (let a = 0; a < n; a += 3) table.delete(a * 7);
    let wrong = 0;
    for (let a = 0; a < n; a++) if (table.get(a * 7) !== (a % 3 === 0 ? 0 : a + 1)) wrong++;
    expect(wrong).toBe(0);
    for (let a = 0; a < n; a++) table.delete(a * 7);
    expect(table.size).toBe(0);
    expect(table.get(7)).toBe(0);
  });
});
