// The account-id index (AccountIds.buildIndex / indexOf): against a Map, on random ids with
// repeats, and built by the binary loader so that a loaded book's first lookup builds nothing.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { AccountIds } from '../../src/book/account-ids.js';
import { decodeBookBinary, encodeBookModel } from '../../src/book/binary.js';
import { BookError } from '../../src/book/errors.js';
import { bookArbitrary } from '../support/arbitraries.js';

const idArbitrary = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 12 }),
  fc.integer({ min: 0, max: 300 }).map((n) => `acct-${String(n).padStart(8, '0')}`),
);

describe('AccountIds index', () => {
  test('indexOf finds the first account holding each id, and nothing else; buildIndex reports the first repeat', () => {
    fc.assert(
      fc.property(fc.array(idArbitrary, { maxLength: 400 }), fc.array(idArbitrary, { maxLength: 20 }), (list, probes) => {
        const ids = AccountIds.fromStrings(list);
        const first = new Map<string, number>();
        list.forEach((id, a) => {
          if (!first.has(id)) first.set(id, a);
        });
        expect(ids.indexed).toBe(false);
        expect(ids.buildIndex()).toBe(ids.firstDuplicate());
        expect(ids.indexed).toBe(true);
        for (const id of [...list, ...probes]) expect(ids.indexOf(id)).toBe(first.get(id));
        expect(ids.indexOf('')).toBeUndefined();
        expect(ids.indexOf('never an id \u00e9\u4e00')).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  test('an index is built on the first lookup when nobody built it', () => {
    const ids = AccountIds.fromStrings(['a', 'b', 'c']);
    expect(ids.indexOf('c')).toBe(2);
    expect(ids.indexed).toBe(true);
    expect(AccountIds.fromStrings([]).indexOf('a')).toBeUndefined();
  });

  test('the binary loader builds it while it checks the ids for duplicates', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }).chain((accounts) => bookArbitrary(accounts)), (book) => {
        // The arbitrary may reach an entry price past the range, which the binary format refuses.
        let bytes: Uint8Array | undefined;
        try {
          bytes = encodeBookModel(book);
        } catch (error) {
          if (!(error instanceof BookError)) throw error;
        }
        fc.pre(bytes !== undefined);
        const engine = decodeBookBinary(bytes!);
        expect(engine.accountIds.indexed).toBe(true);
        book.accounts.forEach((account, a) => expect(engine.accountIds.indexOf(account.id)).toBe(a));
      }),
      { numRuns: 30 },
    );
  });
});
