// Sorting a list of u32 values (account indices) in place, each value once: the accounts whose
// statuses a step changed, which the control plane reports in ascending order. A least-significant-
// digit radix sort, 12 bits a pass (as many passes as the largest value needs), over caller-given
// scratch: a tick of the largest instrument of the 10M-account book lists 12,000–44,000 accounts, and
// the same sort in JavaScript took about 13 ns a value (bench/README.md, 2026-12-05).

/** Bits of a digit, and the digits a pass counts. */
export const SORT_DIGIT_BITS: u32 = 12;
const SORT_DIGITS: u32 = 1 << SORT_DIGIT_BITS;
const SORT_DIGIT_MASK: u32 = SORT_DIGITS - 1;
/** Bytes of the counts sortUniqueList takes: a u32 per digit, for each of the three passes 32 bits need. */
export const SORT_COUNTS_BYTES: u32 = 3 * SORT_DIGITS * 4;

/**
 * Sorts the `count` u32 values at `list` ascending and moves each value's first copy to the front;
 * returns how many distinct values there are. `scratch` has room for `count` u32 values, `counts`
 * SORT_COUNTS_BYTES; both are written.
 */
export function sortUniqueList(list: usize, count: u32, scratch: usize, counts: usize): u32 {
  if (count == 0) return 0;
  let largest: u32 = 0;
  for (let k: u32 = 0; k < count; k++) largest = max<u32>(largest, load<u32>(list + (<usize>k << 2)));
  const passes: u32 = largest < SORT_DIGITS ? 1 : largest < SORT_DIGITS * SORT_DIGITS ? 2 : 3;
  memory.fill(counts, 0, <usize>(passes * SORT_DIGITS) << 2);
  for (let k: u32 = 0; k < count; k++) {
    const v = load<u32>(list + (<usize>k << 2));
    for (let p: u32 = 0; p < passes; p++) {
      const at = counts + ((<usize>(p * SORT_DIGITS + ((v >>> (p * SORT_DIGIT_BITS)) & SORT_DIGIT_MASK))) << 2);
      store<u32>(at, load<u32>(at) + 1);
    }
  }
  let from = list;
  let to = scratch;
  for (let p: u32 = 0; p < passes; p++) {
    const base = counts + (<usize>(p * SORT_DIGITS) << 2);
    const shift = p * SORT_DIGIT_BITS;
    // Each digit's count becomes where its first value goes.
    let at: u32 = 0;
    for (let d: u32 = 0; d < SORT_DIGITS; d++) {
      const c = load<u32>(base + (<usize>d << 2));
      store<u32>(base + (<usize>d << 2), at);
      at += c;
    }
    for (let k: u32 = 0; k < count; k++) {
      const v = load<u32>(from + (<usize>k << 2));
      const slot = base + (<usize>((v >>> shift) & SORT_DIGIT_MASK) << 2);
      const where = load<u32>(slot);
      store<u32>(slot, where + 1);
      store<u32>(to + (<usize>where << 2), v);
    }
    const swap = from;
    from = to;
    to = swap;
  }
  // The sorted values are at `from`; each first copy goes to `list`.
  let unique: u32 = 0;
  let last: u32 = 0;
  for (let k: u32 = 0; k < count; k++) {
    const v = load<u32>(from + (<usize>k << 2));
    if (k == 0 || v != last) {
      store<u32>(list + (<usize>unique << 2), v);
      unique++;
      last = v;
    }
  }
  return unique;
}
