// Account ids for books of millions of accounts: one byte blob instead of a JavaScript string per
// account (tens of bytes of heap each), decoded on demand. Ids of one length (as generated books'
// and many venues' are) need no offsets, and a prefix they all share (`acct-`) is kept once: the
// 10M-account generated book's ids take 76 MiB instead of 162 (docs/architecture.md, Account
// operations). The id → index lookup is an open-addressing hash table (one Int32Array, 4 bytes a
// slot, 1/3 to 2/3 full: 6 to 12 bytes an account), built by buildIndex(): the binary loader builds
// it while it checks the ids for duplicates, so the first lookup on a loaded book costs nothing
// extra; other books build it on their first lookup.
import { Buffer } from 'node:buffer';

export class AccountIds {
  /**
   * Per slot: 0 for an empty slot, else account + 1 in the low `accountBits` bits and a tag of the
   * id's hash (tagOf) in the bits above, so that a lookup reads an id's bytes (more cache misses on
   * a large book) only for a slot whose tag matches: with linear probing at up to 2/3 full, about one
   * slot in two probed is another id's. Slot = hash & mask, then the next ones.
   */
  private table: Int32Array | undefined;
  private mask = 0;
  private accountBits = 0;
  private accountMask = 0;
  /** What buildIndex found: the first account repeating an earlier id, or -1. */
  private duplicate = -1;
  private readonly idCount: number;
  /** The bytes every id starts with (none unless the ids are all of one length). */
  private readonly prefix: Uint8Array;
  private readonly prefixText: string;
  /** The hash's state after the prefix (FNV-1a, before finish). */
  private readonly prefixHash: number;
  /**
   * The ids' bytes after the prefix: `width` each, id a's at a·width, when the ids are of one length
   * (`ends` undefined); else id a's are rest[ends[a], ends[a + 1]).
   */
  private readonly rest: Uint8Array;
  private readonly width: number;
  private readonly ends: Uint32Array | undefined;

  /** `offsets` has count + 1 entries, offsets[0] = 0; id a is bytes[offsets[a], offsets[a + 1]), printable ASCII. */
  private constructor(offsets: Uint32Array, bytes: Uint8Array) {
    const count = offsets.length - 1;
    this.idCount = count;
    const length = count > 0 ? offsets[1] - offsets[0] : 0;
    let fixed = offsets[0] === 0 && offsets[count] === count * length;
    for (let a = 1; fixed && a < count; a++) fixed = offsets[a + 1] - offsets[a] === length;
    if (!fixed) {
      this.prefix = new Uint8Array(0);
      this.rest = bytes;
      this.width = -1;
      this.ends = offsets;
    } else {
      // The longest prefix all share: shortened at each id that differs within it. Read and copied
      // four bytes at a time: 10M ids take about 0.15 s here, against 0.58 s with a subarray per id.
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      let shared = length;
      for (let a = 1, at = length; a < count && shared > 0; a++, at += length) {
        let i = 0;
        while (i + 4 <= shared && view.getUint32(at + i) === view.getUint32(i)) i += 4;
        while (i < shared && bytes[at + i] === bytes[i]) i++;
        shared = i;
      }
      const width = length - shared;
      this.prefix = bytes.slice(0, shared);
      this.width = width;
      if (shared === 0) this.rest = bytes.length === count * length ? bytes : bytes.slice(0, count * length);
      else {
        const rest = new Uint8Array(count * width);
        const restView = new DataView(rest.buffer);
        const words = width - (width % 4);
        for (let a = 0, from = shared, to = 0; a < count; a++, from += length, to += width) {
          for (let i = 0; i < words; i += 4) restView.setUint32(to + i, view.getUint32(from + i));
          for (let i = words; i < width; i++) rest[to + i] = bytes[from + i];
        }
        this.rest = rest;
      }
      this.ends = undefined;
    }
    this.prefixText = Buffer.from(this.prefix.buffer, this.prefix.byteOffset, this.prefix.length).toString('latin1');
    let h = SEED;
    for (let i = 0; i < this.prefix.length; i++) h = Math.imul(h ^ this.prefix[i], FNV_PRIME);
    this.prefixHash = h;
  }

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

  /** Ids already validated (by the binary loader): the offsets and bytes of the file's sections (kept as they are when the ids are of several lengths). */
  static fromBlob(offsets: Uint32Array, bytes: Uint8Array): AccountIds {
    return new AccountIds(offsets, bytes);
  }

  get count(): number {
    return this.idCount;
  }

  /** Where id a's bytes after the prefix start in `rest`, and end. */
  private restStart(a: number): number {
    return this.ends === undefined ? a * this.width : this.ends[a];
  }

  private restEnd(a: number): number {
    return this.ends === undefined ? (a + 1) * this.width : this.ends[a + 1];
  }

  get(a: number): string {
    const start = this.restStart(a);
    return this.prefixText + Buffer.from(this.rest.buffer, this.rest.byteOffset + start, this.restEnd(a) - start).toString('latin1');
  }

  /** The ids' bytes in all: what the binary format's accountIds section holds. */
  get byteLength(): number {
    return this.ends === undefined ? (this.prefix.length + this.width) * this.idCount : this.ends[this.idCount];
  }

  /**
   * The ids as the binary format stores them: offsets (count + 1, from 0) and the bytes of every id
   * one after another. Made afresh (O(bytes)) for ids of one length; for ids of several lengths, the
   * arrays kept (not to be written to).
   */
  blob(): { offsets: Uint32Array; bytes: Uint8Array } {
    if (this.ends !== undefined) return { offsets: this.ends, bytes: this.rest.subarray(0, this.ends[this.idCount]) };
    const offsets = new Uint32Array(this.idCount + 1);
    const bytes = new Uint8Array(this.byteLength);
    let at = 0;
    for (let a = 0; a < this.idCount; a++) {
      bytes.set(this.prefix, at);
      at += this.prefix.length;
      const start = this.restStart(a);
      const end = this.restEnd(a);
      bytes.set(this.rest.subarray(start, end), at);
      at += end - start;
      offsets[a + 1] = at;
    }
    return { offsets, bytes };
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
    const rest = this.rest;
    const hashes = new Int32Array(count);
    for (let a = 0; a < count; a++) {
      let h = this.prefixHash;
      const end = this.restEnd(a);
      for (let i = this.restStart(a); i < end; i++) h = Math.imul(h ^ rest[i], FNV_PRIME);
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
        if (held[slot] === h && this.sameBytes((entry & this.accountMask) - 1, a)) {
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

  /** Ids b and a are equal (their prefixes are): compared from the end, where sequential ids differ. */
  private sameBytes(b: number, a: number): boolean {
    const bStart = this.restStart(b);
    const start = this.restStart(a);
    const length = this.restEnd(a) - start;
    if (this.restEnd(b) - bStart !== length) return false;
    const rest = this.rest;
    for (let i = length - 1; i >= 0; i--) if (rest[bStart + i] !== rest[start + i]) return false;
    return true;
  }

  private equals(b: number, id: string): boolean {
    const prefix = this.prefix;
    const bStart = this.restStart(b);
    const length = this.restEnd(b) - bStart;
    if (prefix.length + length !== id.length) return false;
    const rest = this.rest;
    for (let i = length - 1; i >= 0; i--) if (rest[bStart + i] !== id.charCodeAt(prefix.length + i)) return false;
    for (let i = 0; i < prefix.length; i++) if (prefix[i] !== id.charCodeAt(i)) return false;
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
