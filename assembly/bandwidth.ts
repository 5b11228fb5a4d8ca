// Streaming-read baselines: how fast this thread can merely read the bytes a sweep touches. The
// benchmark runs them over the same columns the status sweep reads, so "x of the memory-bandwidth
// ceiling" is measured beside the sweep, not quoted from a datasheet. Allocation-free, no static
// data, no state: safe to instantiate over the engine's shared memory.
//
// Both functions return the same number for the same bytes: the wrapping (mod 2^64) sum of the
// little-endian i64 words of the first floor(bytes / 8)·8 bytes, plus each remaining byte as a u8.
// The sum is only there so the loads cannot be optimised away. `ptr` need not be aligned.

/** Reads [ptr, ptr + bytes) with v128 loads, four independent accumulators, 64 bytes a round. */
export function streamRead(ptr: usize, bytes: usize): i64 {
  let p = ptr;
  let left = bytes; // a count, not an end pointer: a range ending at the 4 GiB limit does not wrap
  let acc0 = i64x2.splat(0);
  let acc1 = i64x2.splat(0);
  let acc2 = i64x2.splat(0);
  let acc3 = i64x2.splat(0);
  while (left >= 64) {
    acc0 = i64x2.add(acc0, v128.load(p));
    acc1 = i64x2.add(acc1, v128.load(p, 16));
    acc2 = i64x2.add(acc2, v128.load(p, 32));
    acc3 = i64x2.add(acc3, v128.load(p, 48));
    p += 64;
    left -= 64;
  }
  while (left >= 16) {
    acc0 = i64x2.add(acc0, v128.load(p));
    p += 16;
    left -= 16;
  }
  const acc = i64x2.add(i64x2.add(acc0, acc1), i64x2.add(acc2, acc3));
  let sum = i64x2.extract_lane(acc, 0) + i64x2.extract_lane(acc, 1);
  if (left >= 8) {
    sum += load<i64>(p);
    p += 8;
    left -= 8;
  }
  while (left != 0) {
    sum += <i64>load<u8>(p);
    p++;
    left--;
  }
  return sum;
}

/** The same sum with i64 loads, four independent accumulators, 32 bytes a round. */
export function streamReadScalar(ptr: usize, bytes: usize): i64 {
  let p = ptr;
  let left = bytes;
  let acc0: i64 = 0;
  let acc1: i64 = 0;
  let acc2: i64 = 0;
  let acc3: i64 = 0;
  while (left >= 32) {
    acc0 += load<i64>(p);
    acc1 += load<i64>(p, 8);
    acc2 += load<i64>(p, 16);
    acc3 += load<i64>(p, 24);
    p += 32;
    left -= 32;
  }
  while (left >= 8) {
    acc0 += load<i64>(p);
    p += 8;
    left -= 8;
  }
  let sum = acc0 + acc1 + acc2 + acc3;
  while (left != 0) {
    sum += <i64>load<u8>(p);
    p++;
    left--;
  }
  return sum;
}
