// A sweep worker: one instance of the core over the book's shared memory, compiled once by the
// main thread and handed over in workerData. Plain JavaScript so that piscina can load it both from
// the sources (tests) and from the installed package, with no build step in between.
import { workerData } from 'node:worker_threads';

const { module, memory, warmup } = workerData;
const core = new WebAssembly.Instance(module, {
  env: {
    memory,
    abort(_message, _file, line, column) {
      throw new Error(`core assertion failed at line ${line}:${column}`);
    },
  },
}).exports;

// Warm-up: V8 starts wasm in its baseline compiler and a call that starts there finishes there,
// so run the sweep on the pool's warm-up book (a copy of a few real accounts in its own layout
// and shard record, never the real book) until the optimized code is in place, each way it runs.
for (let round = 0; round < warmup.rounds; round++) {
  core.sweep(warmup.header, 0, warmup.accounts, warmup.flags[round % warmup.flags.length], warmup.shard);
}

/**
 * Evaluates accounts [start, end) of the book at `header`, filling the shard record `shard`; or,
 * for the benchmark (kind 'read'), streams `bytes` bytes from `pointer` and returns their sum.
 * `dieAfter` is the fault-injection seam of the worker-death test: the worker evaluates that many
 * accounts of its range, then exits as a crashed thread would, leaving the shard half-written.
 */
export default function sweepShard({ kind, header, start, end, flags, shard, dieAfter, pointer, bytes }) {
  if (kind === 'read') return core.streamRead(pointer, bytes); // the benchmark's bandwidth baseline
  if (dieAfter !== undefined) {
    core.sweep(header, start, Math.min(end, start + dieAfter), flags, shard);
    process.exit(70);
  }
  core.sweep(header, start, end, flags, shard);
  return true;
}
