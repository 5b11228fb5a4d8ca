// The incremental index's heaps (src/engine/incremental.ts): its triggers and the accounts waiting
// for an excursion, per instrument and side, each a 4-ary min-heap of (key, account, version).
/** A BoundHeap's cells per page: 2^HEAP_PAGE_SHIFT (12 bytes each, 192 KiB a page). */
const HEAP_PAGE_SHIFT = 14;
const HEAP_PAGE_CELLS = 1 << HEAP_PAGE_SHIFT;
const HEAP_PAGE_MASK = HEAP_PAGE_CELLS - 1;
/** Cells a BoundHeap starts with room for. */
const HEAP_FIRST_CELLS = 16;

/**
 * Whole pages that heaps gave back (emptied or compacted), for the next heap that grows: the index's
 * heaps empty at every build and grow again after it, and pages dropped there and allocated anew
 * were both in memory until a collection (bench/README.md, 2026-12-05, later: a peak RSS that read
 * 97.0 and 100.2 B a position in two runs of the same code). The pages a pool holds are at most the
 * most its heaps held at once.
 */
export class HeapPages {
  private readonly free: Uint32Array[] = [];

  /** A page of HEAP_PAGE_CELLS cells: one given back, or a new one. */
  take(): Uint32Array {
    return this.free.pop() ?? new Uint32Array(3 * HEAP_PAGE_CELLS);
  }

  /** Keeps `page` for the next take, if it is a whole page (the first page of a small heap is not). */
  give(page: Uint32Array): void {
    if (page.length === 3 * HEAP_PAGE_CELLS) this.free.push(page);
  }

  /** Bytes of the pages kept for the next takes. */
  get bytes(): number {
    return this.free.length * 12 * HEAP_PAGE_CELLS;
  }
}

/**
 * A 4-ary min-heap of (key, account, version), one 12-byte cell each (key as f32, account,
 * version), so that a step down the heap touches one cache line for all four children. Keys are
 * f32, each rounded down by its caller (a trigger that fires early costs an evaluation; one that
 * fires late would miss a change).
 * The cells are in pages of HEAP_PAGE_CELLS: the first page grows by doubling up to a page, then
 * the heap adds pages (from its HeapPages), so that a growing heap never copies more than a page (one array doubling a
 * heap of a million cells copied 12 MB within a tick: on the 10M-account book the heaps' growth
 * was 4% of the normal ticks' time, a few milliseconds at a time; bench/README.md, 2026-12-05),
 * and holds at most a page of room it does not use.
 */
export class BoundHeap {
  /** Where whole pages come from and go back to (HeapPages): one per evaluator, shared by its heaps. */
  private readonly pages: HeapPages;
  private words: Uint32Array[] = [new Uint32Array(3 * HEAP_FIRST_CELLS)];
  private keys: Float32Array[] = [new Float32Array(this.words[0].buffer)];
  private capacity = HEAP_FIRST_CELLS;
  size = 0;

  constructor(pages: HeapPages = new HeapPages()) {
    this.pages = pages;
  }

  insert(key: number, account: number, version: number): void {
    if (this.size === this.capacity) this.grow();
    let k = this.size++;
    while (k > 0) {
      const parent = (k - 1) >> 2;
      if (this.keyAt(parent) <= key) break;
      this.copy(parent, k);
      k = parent;
    }
    this.set(k, key, account, version);
  }

  /** Empties the heap and gives back its room (its whole pages to its HeapPages). */
  clear(): void {
    for (const page of this.words) this.pages.give(page);
    this.size = 0;
    this.words = [new Uint32Array(3 * HEAP_FIRST_CELLS)];
    this.keys = [new Float32Array(this.words[0].buffer)];
    this.capacity = HEAP_FIRST_CELLS;
  }

  /** The least key, or +∞ when empty. */
  get top(): number {
    return this.size === 0 ? Infinity : this.keys[0][0];
  }

  get topAccount(): number {
    return this.words[0][1];
  }

  get topVersion(): number {
    return this.words[0][2];
  }

  /** Removes the top entry (its account and version are read before). */
  pop(): void {
    const last = --this.size;
    if (last === 0) return;
    const words = this.words[last >>> HEAP_PAGE_SHIFT];
    const at = 3 * (last & HEAP_PAGE_MASK);
    this.siftDown(0, this.keyAt(last), words[at + 1], words[at + 2]);
  }

  /** Keeps only the entries `live` accepts, as a heap again, and gives back the pages it no longer needs. */
  compact(live: (account: number, version: number) => boolean): void {
    let kept = 0;
    for (let k = 0; k < this.size; k++) {
      const words = this.words[k >>> HEAP_PAGE_SHIFT];
      const at = 3 * (k & HEAP_PAGE_MASK);
      if (live(words[at + 1], words[at + 2])) this.copy(k, kept++);
    }
    this.size = kept;
    const pages = Math.max(1, Math.ceil(kept / HEAP_PAGE_CELLS));
    if (this.words.length > pages) {
      for (let p = pages; p < this.words.length; p++) this.pages.give(this.words[p]);
      this.words.length = pages;
      this.keys.length = pages;
      this.capacity = pages * HEAP_PAGE_CELLS;
    }
    for (let k = (kept - 2) >> 2; k >= 0; k--) {
      const words = this.words[k >>> HEAP_PAGE_SHIFT];
      const at = 3 * (k & HEAP_PAGE_MASK);
      this.siftDown(k, this.keyAt(k), words[at + 1], words[at + 2]);
    }
  }

  get bytes(): number {
    return this.capacity * 12;
  }

  /** Calls fn with each entry's account and version, in no order. */
  forEach(fn: (account: number, version: number) => void): void {
    for (let k = 0; k < this.size; k++) {
      const words = this.words[k >>> HEAP_PAGE_SHIFT];
      const at = 3 * (k & HEAP_PAGE_MASK);
      fn(words[at + 1], words[at + 2]);
    }
  }

  private keyAt(k: number): number {
    return this.keys[k >>> HEAP_PAGE_SHIFT][3 * (k & HEAP_PAGE_MASK)];
  }

  /** Places (key, account, version) at k or below, moving smaller children up. */
  private siftDown(from: number, key: number, account: number, version: number): void {
    let k = from;
    for (;;) {
      const first = 4 * k + 1;
      if (first >= this.size) break;
      let child = first;
      let least = this.keyAt(first);
      const end = Math.min(first + 4, this.size);
      for (let c = first + 1; c < end; c++) {
        const x = this.keyAt(c);
        if (x < least) {
          least = x;
          child = c;
        }
      }
      if (least >= key) break;
      this.copy(child, k);
      k = child;
    }
    this.set(k, key, account, version);
  }

  private set(k: number, key: number, account: number, version: number): void {
    const at = 3 * (k & HEAP_PAGE_MASK);
    this.keys[k >>> HEAP_PAGE_SHIFT][at] = key;
    const words = this.words[k >>> HEAP_PAGE_SHIFT];
    words[at + 1] = account;
    words[at + 2] = version;
  }

  private copy(from: number, to: number): void {
    const source = this.words[from >>> HEAP_PAGE_SHIFT];
    const target = this.words[to >>> HEAP_PAGE_SHIFT];
    const f = 3 * (from & HEAP_PAGE_MASK);
    const t = 3 * (to & HEAP_PAGE_MASK);
    target[t] = source[f];
    target[t + 1] = source[f + 1];
    target[t + 2] = source[f + 2];
  }

  /** Room for another page's worth: the first page doubled (up to a page), or a page more. */
  private grow(): void {
    if (this.capacity < HEAP_PAGE_CELLS) {
      const cells = Math.min(HEAP_PAGE_CELLS, this.capacity * 2);
      const words = new Uint32Array(3 * cells);
      words.set(this.words[0]);
      this.words[0] = words;
      this.keys[0] = new Float32Array(words.buffer);
      this.capacity = cells;
      return;
    }
    const words = this.pages.take();
    this.words.push(words);
    this.keys.push(new Float32Array(words.buffer));
    this.capacity += HEAP_PAGE_CELLS;
  }
}
