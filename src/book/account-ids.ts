// Account ids for books of millions of accounts: one byte blob and an offsets array instead of a
// JavaScript string per account (tens of bytes of heap each), decoded on demand. The id → index
// map is built on first lookup only: a sweep or a report never needs it.
import { Buffer } from 'node:buffer';

export class AccountIds {
  private index: Map<string, number> | undefined;

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

  /** The account's index, or undefined. The first call builds the map (O(accounts)). */
  indexOf(id: string): number | undefined {
    if (this.index === undefined) {
      const index = new Map<string, number>();
      for (let a = 0; a < this.count; a++) index.set(this.get(a), a);
      this.index = index;
    }
    return this.index.get(id);
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
