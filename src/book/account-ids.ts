// Account ids for books of millions of accounts: one byte blob and an offsets array instead of a
// JavaScript string per account (tens of bytes of heap each), decoded on demand. The id → index
// lookup is an open-addressing hash table over the blob (one Int32Array, 4 bytes a slot, 1/3 to
// 2/3 full: 6 to 12 bytes an account), built by buildIndex(): the binary loader builds it while it
// checks the ids for duplicates, so the first lookup on a loaded book costs nothing extra; other
// books build it on their first lookup.
import { Buffer } from 'node:buffer';

export class AccountIds {
  /**
   * Per slot: 0 for an empty slot, else account + 1 in the low `accountBits` bits and a tag of the
   * id's hash (tagOf) in the bits above, so that a lookup reads an id's offsets and bytes (two more
   * cache misses on a large book) only for a slot whose tag matches: with linear probing at up to
   * 2/3 full, about one slot in two probed is another id's. Slot = hash & mask, then the next ones.
   */
  private table: Int32Array | undefined;
  private mask = 0;
  private accountBits = 0;
  private accountMask = 0;
  /** What buildIndex found: the first account repeating an earlier id, or -1. */
  private duplicate = -1;

  /** `offsets` has count + 1 entries; id a is bytes[offsets[a], offsets[a + 1]), printable ASCII. */
  private constructor(
    readonly offsets: Uint32Array,
    readonly bytes: Uint8Array,
  ) {}

  static fromStrings(ids: readonly string[]): AccountIds {
    const offsets = new Uint32Array(ids.length + 1);
    let length = 0;
    for (let a = 0; a < ids.length; a++) {
      length += Buffer.byteLength(ids[a], 'latin1');
      offsets[a + 1] = length;
    }
    const bytes = new Uint8Array(length);
    for (let a = 0; a < ids.length; a++) Buffer.from(bytes.buffer, bytes.byteOffset).write(ids[a], offsets[a], 'latin1');
    return new AccountIds(offsets, bytes);
  }

  /** Ids already validated (by the binary loader): takes the arrays as they are, without copying. */
  static fromBlob(offsets: Uint32Array, bytes: Uint8Array): AccountIds {
    return new AccountIds(offsets, bytes);
  }

  get count(): number {
    return this.offsets.length - 1;
  }

  get(a: number): string {
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.offsets[a], this.offsets[a + 1] - this.offsets[a]).toString(
      'latin1',
    );
  }

  /** The account's index, or undefined. Builds the index first if buildIndex() has not. */
  indexOf(id: string): number | undefined {
    if (this.table === undefined) this.buildIndex();
    const table = this.table!;
    const mask = this.mask;
    const length = id.length;
    let h = SEED;
    for (let i = 0; i < length; i++) h = Math.imul(h ^ id.charCodeAt(i), FNV_PRIME);
    h = finish(h);
    const tag = this.tagged(h);
    const accountMask = this.accountMask;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const entry = table[slot];
      if (entry === 0) return undefined;
      if ((entry & ~accountMask) === tag && this.equals((entry & accountMask) - 1, id)) return (entry & accountMask) - 1;
    }
  }

  /** The tag bits of a slot holding an id with this (finished) hash: as many as the accounts leave. */
  private tagged(h: number): number {
    return this.accountBits >= 32 ? 0 : (Math.imul(h, TAG_MIX) >>> this.accountBits) << this.accountBits;
  }

  /** Whether the index is built (by buildIndex or a first indexOf). */
  get indexed(): boolean {
    return this.table !== undefined;
  }

  /**
   * Builds the id → index table and returns the first account whose id repeats an earlier one (the
   * table then keeps the earlier), or -1. Cache-friendly, as the writers' duplicate check is: the
   * ids are hashed in order, the (hash, account) pairs sorted by the top 16 bits of their home slot
   * (a counting sort, stable), and inserted in that order, so the table fills front to back; each
   * slot's full hash is kept beside it while building, so two ids are compared byte by byte only
   * when their 32-bit hashes are equal. O(accounts), idempotent; 10M ids take about a second and
   * 250 MB while building (bench/updates.ts measures it), then 64 MB.
   */
  buildIndex(): number {
    if (this.table !== undefined) return this.duplicate;
    const count = this.count;
    let bits = 4;
    while (2 ** bits < count + (count >>> 1)) bits++; // load ≤ 2/3
    const slots = 2 ** bits;
    const mask = slots - 1;
    const { offsets, bytes } = this;
    const hashes = new Int32Array(count);
    for (let a = 0; a < count; a++) {
      let h = SEED;
      const end = offsets[a + 1];
      for (let i = offsets[a]; i < end; i++) h = Math.imul(h ^ bytes[i], FNV_PRIME);
      hashes[a] = finish(h);
    }
    // (hash, account) pairs by bucket (the home slot's top bits), each bucket in account order.
    const bucketBits = Math.min(16, bits);
    const shift = bits - bucketBits;
    const buckets = 1 << bucketBits;
    const ends = new Int32Array(buckets + 1);
    for (let a = 0; a < count; a++) ends[((hashes[a] & mask) >>> shift) + 1]++;
    for (let b = 0; b < buckets; b++) ends[b + 1] += ends[b];
    const pairs = new Int32Array(2 * count);
    const fill = ends.subarray(0, buckets);
    for (let a = 0; a < count; a++) {
      const h = hashes[a];
      const at = fill[(h & mask) >>> shift]++;
      pairs[2 * at] = h;
      pairs[2 * at + 1] = a;
    }

    let accountBits = 1;
    while (2 ** accountBits <= count) accountBits++; // account + 1 ≤ count fits
    this.accountBits = accountBits;
    this.accountMask = accountBits >= 32 ? -1 : 2 ** accountBits - 1;
    const table = new Int32Array(slots);
    const held = new Int32Array(slots); // the full hash of the id in each slot, while building
    let duplicate = -1;
    for (let k = 0; k < count; k++) {
      const h = pairs[2 * k];
      const a = pairs[2 * k + 1];
      for (let slot = h & mask; ; slot = (slot + 1) & mask) {
        const entry = table[slot];
        if (entry === 0) {
          table[slot] = this.tagged(h) | (a + 1);
          held[slot] = h;
          break;
        }
        if (held[slot] === h && this.sameBytes((entry & this.accountMask) - 1, offsets[a], offsets[a + 1])) {
          if (duplicate < 0 || a < duplicate) duplicate = a;
          break;
        }
      }
    }
    this.table = table;
    this.mask = mask;
    this.duplicate = duplicate;
    return duplicate;
  }

  /** Id b equals bytes[start, end): compared from the end, where sequential ids differ. */
  private sameBytes(b: number, start: number, end: number): boolean {
    const bStart = this.offsets[b];
    const length = end - start;
    if (this.offsets[b + 1] - bStart !== length) return false;
    const bytes = this.bytes;
    for (let i = length - 1; i >= 0; i--) if (bytes[bStart + i] !== bytes[start + i]) return false;
    return true;
  }

  private equals(b: number, id: string): boolean {
    const bStart = this.offsets[b];
    const length = id.length;
    if (this.offsets[b + 1] - bStart !== length) return false;
    const bytes = this.bytes;
    for (let i = length - 1; i >= 0; i--) if (bytes[bStart + i] !== id.charCodeAt(i)) return false;
    return true;
  }

  /** The index of the first account whose id repeats an earlier one, or -1. */
  firstDuplicate(): number {
    const seen = new Set<string>();
    for (let a = 0; a < this.count; a++) {
      const id = this.get(a);
      if (seen.has(id)) return a;
      seen.add(id);
    }
    return -1;
  }

  toArray(): string[] {
    return Array.from({ length: this.count }, (_, a) => this.get(a));
  }
}

/** FNV-1a over the id's characters (one byte each: ids are printable ASCII), then murmur3's finalizer. */
const SEED = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
/** Mixes the hash again for the tag, whose top bits would otherwise overlap the slot's. */
const TAG_MIX = 0x9e3779b1 | 0;

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
