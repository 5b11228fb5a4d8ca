// Account ids (AccountIds): kept as given, whether of several lengths or of one length with a
// shared prefix kept once; the index (buildIndex / indexOf) against a Map, on random ids with
// repeats, and built by the binary loader so that a loaded book's first lookup builds nothing.
import { Buffer } from 'node:buffer';
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

const printable = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
/** Ids of one length that share a prefix (kept once), with repeats: as generated books' are. */
const oneLengthArbitrary = fc
  .record({ prefix: fc.string({ unit: printable, maxLength: 6 }), width: fc.integer({ min: 0, max: 9 }), count: fc.integer({ min: 0, max: 300 }) })
  .chain(({ prefix, width, count }) =>
    fc.array(fc.string({ unit: fc.constantFrom('0', '1', '2', 'a', prefix[0] ?? 'z'), minLength: width, maxLength: width }), { minLength: count, maxLength: count }).map((rests) => rests.map((rest) => prefix + rest).filter((id) => id.length > 0)),
  );
const listArbitrary = fc.oneof(fc.array(idArbitrary, { maxLength: 400 }), oneLengthArbitrary);

describe('AccountIds', () => {
  test('each id reads back as given, and the blob (the binary format\'s sections) holds them one after another', () => {
    fc.assert(
      fc.property(listArbitrary, (list) => {
        const ids = AccountIds.fromStrings(list);
        expect(ids.count).toBe(list.length);
        expect(ids.toArray()).toEqual(list);
        const { offsets, bytes } = ids.blob();
        expect(offsets.length).toBe(list.length + 1);
        expect(ids.byteLength).toBe(bytes.length);
        expect(Buffer.from(bytes).toString('latin1')).toBe(list.join(''));
        list.forEach((id, a) => expect(offsets[a + 1] - offsets[a]).toBe(id.length));
        expect(AccountIds.fromBlob(offsets, bytes).toArray()).toEqual(list);
      }),
      { numRuns: 300 },
    );
  });

  test('ids of one length keep their shared prefix once', () => {
    const ids = AccountIds.fromStrings(['acct-0001', 'acct-0002', 'acct-0310']);
    const kept = ids as unknown as { prefix: Uint8Array; rest: Uint8Array };
    expect(Buffer.from(kept.prefix).toString('latin1')).toBe('acct-0');
    expect(Buffer.from(kept.rest).toString('latin1')).toBe('001002310');
    expect(ids.indexOf('acct-0310')).toBe(2);
    expect(ids.indexOf('acct-0311')).toBeUndefined();
    expect(ids.indexOf('bcct-0310')).toBeUndefined();
    expect(ids.indexOf('acct-031')).toBeUndefined();
  });

  test('indexOf finds the first account holding each id, and nothing else; buildIndex reports the first repeat', () => {
    fc.assert(
      fc.property(listArbitrary, fc.array(idArbitrary, { maxLength: 20 }), (list, probes) => {
        const ids = AccountIds.fromStrings(list);
        const first = new Map<string, number>();
        list.forEach((id, a) => {
          if (!first.has(id)) first.set(id, a);
        });
        expect(ids.indexed).toBe(false);
        expect(ids.buildIndex()).toBe(ids.firstDuplicate());
        expect(ids.indexed).toBe(true);
        // Probes that differ from an id in its prefix or its last byte, or by one byte more or less.
        const near = list.slice(0, 20).flatMap((id) => [`~${id.slice(1)}`, `${id.slice(0, -1)}~`, `${id}0`, id.slice(0, -1)]);
        for (const id of [...list, ...probes, ...near]) expect(ids.indexOf(id)).toBe(first.get(id));
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
