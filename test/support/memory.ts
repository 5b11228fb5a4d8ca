// Books whose scratch regions lie above 2 GiB of the shared memory, where a byte offset is negative
// as an int32 (a `>> 2` of one reads nothing and drops writes): test/engine/incremental.test.ts and
// test/engine/production-path.test.ts run their steps on such books too.
import type { Engine } from '../../src/engine/engine.js';

/** 2 GiB: byte offsets at or above it are negative as int32. */
export const TWO_GIB = 2 ** 31;

/** Places a 2 GiB region first in `engine`'s memory, so that every region asked for after it lies above 2 GiB. */
export function padAboveTwoGiB(engine: Engine): void {
  engine.region('test.padding', TWO_GIB);
}
