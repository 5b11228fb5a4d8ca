// The incremental index's heap (src/engine/bound-heap.ts), held to a sorted list over random
// interleavings of inserts, pops and compactions, at sizes that span several of its pages (the
// index's tests run books whose heaps stay within the first), and with keys that tie.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { BoundHeap, HeapPages } from '../../src/engine/bound-heap.js';
import { prng } from '../../bench/workload.js';

type Entry = [key: number, account: number, version: number];

const order = (x: Entry, y: Entry) => x[0] - y[0] || x[1] - y[1] || x[2] - y[2];

/** The heap's entries, in order, popped (the heap is left empty). */
function drain(heap: BoundHeap): Entry[] {
  const out: Entry[] = [];
  let last = -Infinity;
  while (heap.size > 0) {
    const top = heap.top;
    expect(top, 'pops come in key order').toBeGreaterThanOrEqual(last);
    last = top;
    out.push([top, heap.topAccount, heap.topVersion]);
    heap.pop();
  }
  expect(heap.top).toBe(Infinity);
  return out;
}

describe('BoundHeap', () => {
  test('inserts, pops and compactions over several pages give what a sorted list does', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 100_000, max: 160_000 }), (seed, operations) => {
        const random = prng(seed);
        const heap = new BoundHeap();
        // The model: the entries by key (a few hundred keys, so that many tie).
        const keys = Array.from({ length: 500 }, (_, k) => Math.fround(k / 7 - 30));
        const byKey = keys.map(() => [] as string[]);
        let size = 0;
        let largest = 0;
        for (let k = 0; k < operations; k++) {
          const r = random();
          if ((r < 0.8 || size === 0) && k % 50_000 !== 49_999) {
            const index = Math.floor(random() * keys.length);
            const account = Math.floor(random() * 1e6);
            const version = Math.floor(random() * 65_536);
            heap.insert(keys[index], account, version);
            byKey[index].push(`${account}:${version}`);
            size++;
          } else if (k % 50_000 !== 49_999) {
            const least = byKey.findIndex((list) => list.length > 0);
            expect(heap.top, 'the top has the least key').toBe(keys[least]);
            const at = byKey[least].indexOf(`${heap.topAccount}:${heap.topVersion}`);
            expect(at, 'the top is an entry of that key').toBeGreaterThanOrEqual(0);
            byKey[least].splice(at, 1);
            heap.pop();
            size--;
          } else {
            // Every 50,000 operations, keep the entries of even versions.
            heap.compact((_, version) => version % 2 === 0);
            for (let index = 0; index < keys.length; index++) byKey[index] = byKey[index].filter((entry) => Number(entry.split(':')[1]) % 2 === 0);
            size = byKey.reduce((sum, list) => sum + list.length, 0);
          }
          expect(heap.size).toBe(size);
          largest = Math.max(largest, size);
        }
        expect(largest, 'the heap spanned several pages').toBeGreaterThan(2 * 16_384);
        const model: Entry[] = byKey.flatMap((list, index) => list.map((entry) => [keys[index], ...entry.split(':').map(Number)] as Entry));
        expect(heap.bytes, 'room for its entries and at most a page more').toBeLessThanOrEqual((model.length + 16_384 + 16) * 12);
        const seen: Entry[] = [];
        heap.forEach((account, version) => seen.push([0, account, version]));
        expect(seen.map((e) => `${e[1]}:${e[2]}`).sort()).toEqual(model.map((e) => `${e[1]}:${e[2]}`).sort());
        expect(drain(heap).sort(order)).toEqual([...model].sort(order));
      }),
      { numRuns: 4, seed: 11 },
    );
  });

  test('a compaction gives back the pages it emptied; a cleared heap starts again small', () => {
    const heap = new BoundHeap();
    for (let k = 0; k < 100_000; k++) heap.insert(Math.fround(100_000 - k), k, k % 10);
    expect(heap.bytes).toBeGreaterThanOrEqual(100_000 * 12);
    expect(heap.bytes).toBeLessThan((100_000 + 16_384) * 12);
    heap.compact((_, version) => version === 0);
    expect(heap.size).toBe(10_000);
    expect(heap.bytes, 'one page').toBe(16_384 * 12);
    const entries = drain(heap);
    expect(entries.map((e) => e[1])).toEqual(Array.from({ length: 10_000 }, (_, k) => 99_990 - 10 * k));
    heap.clear();
    expect(heap.size).toBe(0);
    expect(heap.bytes).toBe(16 * 12);
  });

  test('heaps sharing a HeapPages take the pages others gave back, and each still gives what a sorted list does', () => {
    const pages = new HeapPages();
    const random = prng(5);
    const heaps = [new BoundHeap(pages), new BoundHeap(pages)];
    const models: Entry[][] = [[], []];
    let reused = 0;
    for (let round = 0; round < 6; round++) {
      // One heap grows past several pages while the other is cleared or compacted: the pages one
      // gives back are the next the other takes (the pool's bytes fall as it grows).
      const [grow, give] = round % 2 === 0 ? [0, 1] : [1, 0];
      if (round % 3 === 2) {
        heaps[give].compact((_, version) => version % 3 === 0);
        models[give] = models[give].filter((e) => e[2] % 3 === 0);
      } else {
        heaps[give].clear();
        models[give] = [];
      }
      const kept = pages.bytes;
      for (let k = 0; k < 60_000; k++) {
        const entry: Entry = [Math.fround(random() * 1_000), Math.floor(random() * 1e6), Math.floor(random() * 65_536)];
        heaps[grow].insert(...entry);
        models[grow].push(entry);
      }
      if (kept > 0) {
        expect(pages.bytes, 'the growing heap took pages given back').toBeLessThan(kept);
        reused++;
      }
      expect(heaps[grow].size).toBe(models[grow].length);
    }
    expect(reused).toBeGreaterThan(2);
    for (const k of [0, 1]) expect(drain(heaps[k]).sort(order)).toEqual([...models[k]].sort(order));
  });
});
