// A sweep worker: one instance of the core over the book's shared memory, compiled once by the
// main thread and handed over in workerData. Plain JavaScript so that piscina can load it both from
// the sources (tests) and from the installed package, with no build step in between.
import { workerData } from 'node:worker_threads';

// `words`: the u32 words of a shard's entry in the pool's table, and of a shard record the worker
// writes (its completion flag, instrument cache and chunk sums), from src/pool/pool.ts.
const { module, memory, warmup, words: layout } = workerData;
/** The longest the cancel test's held shard waits for the cancel. */
const HOLD_MS = 10_000;
const core = new WebAssembly.Instance(module, {
  env: {
    memory,
    abort(message, file, line, column) {
      throw new Error(`core assertion failed: ${readString(message)} at ${readString(file)}:${line}:${column}`);
    },
  },
}).exports;

/** An AssemblyScript string (UTF-16, its byte length in the 4 bytes before it), as src/engine/core.ts reads it. */
function readString(pointer) {
  if (pointer === 0) return '';
  const bytes = new Uint32Array(memory.buffer, pointer - 4, 1)[0];
  return String.fromCharCode(...new Uint16Array(memory.buffer.slice(pointer, pointer + bytes)));
}

// Warm-up: the core's code is optimised from its first call (src/engine/core.ts compiles it with
// TurboFan up front), but this thread's first calls still pay for their JavaScript and the first
// touches of their stack and caches: run the sweep on the pool's warm-up book (a copy of a few real
// accounts in its own layout and shard record, never the real book) a few times, each way it runs.
for (let round = 0; round < warmup.rounds; round++) {
  core.sweep(warmup.header, 0, warmup.accounts, warmup.flags[round % warmup.flags.length], warmup.shard);
}

/**
 * Kind 'shards' (a sweep): takes shard after shard from the shared work list, by the counter at
 * `counter`, until none is left or the sweep is cancelled. Each shard's table entry gives its
 * accounts and its record; the worker names its own instrument cache and chunk sums in the record
 * (`cache`, `scratch`: this task's), marks the shard taken, and sweeps it. `faults` is the
 * worker-death test's seam: [shard, accounts] pairs; on such a shard the worker evaluates that
 * many accounts, then exits as a crashed thread would, leaving the shard unfinished. `hold` is
 * the cancel test's: the worker that takes that shard waits for the cancel flag before it sweeps.
 *
 * Kind 'range': accounts [start, end) with one shard record (the pool's start-up task).
 * Kind 'read' (the benchmark's bandwidth baseline): streams `bytes` bytes from `pointer`.
 * Kind 'bounds' (incremental evaluation's build): accounts [start, end) evaluated with their bounds;
 * with `dieAfter` ≥ 0 (the worker-death test's seam) that many of them, then the thread exits.
 * Kind 'hotHelper' (normal ticks of incremental evaluation): stays, parked on its block (hotHelper).
 * Kind 'index' (the build's next passes): the kernel's indexCount (`pass` 'count') or indexPlace
 * ('place') over accounts [start, end) with `args` (their arguments between the header and the
 * accounts); `dieAfter` as for 'bounds'.
 */
export default function sweepShard(task) {
  if (task.kind === 'read') return core.streamRead(task.pointer, task.bytes);
  if (task.kind === 'hotHelper') return hotHelper(task.block, task.words);
  if (task.kind === 'bounds') {
    if (task.dieAfter >= 0) {
      // The worker-death test's seam: the first accounts written, then the thread exits.
      core.boundAccountRange(task.header, task.shard, task.start, Math.min(task.end, task.start + task.dieAfter), task.table, task.bounds, task.steps);
      process.exit(70);
    }
    return core.boundAccountRange(task.header, task.shard, task.start, task.end, task.table, task.bounds, task.steps);
  }
  if (task.kind === 'index') {
    const pass = task.pass === 'count' ? core.indexCount : core.indexPlace;
    if (task.dieAfter >= 0) {
      pass(task.header, ...task.args, task.start, Math.min(task.end, task.start + task.dieAfter));
      process.exit(70);
    }
    return pass(task.header, ...task.args, task.start, task.end) ?? 0;
  }
  if (task.kind === 'range') {
    core.sweep(task.header, task.start, task.end, task.flags, task.shard);
    return true;
  }
  const { header, flags, table, work, count, counter, cancel, cache, scratch, faults, hold } = task;
  const words = new Uint32Array(memory.buffer); // the memory may have grown since the last task
  const flagsView = new Int32Array(memory.buffer);
  const dieAfter = new Map(faults);
  for (;;) {
    if (Atomics.load(flagsView, cancel >>> 2) !== 0) break;
    const k = Atomics.add(flagsView, counter >>> 2, 1);
    if (k >= count) break;
    const shard = words[(work >>> 2) + k];
    const entry = (table >>> 2) + shard * layout.tableEntry;
    const [start, end, record] = [words[entry], words[entry + 1], words[entry + 2]];
    words[(record >>> 2) + layout.cache] = cache;
    words[(record >>> 2) + layout.scratch] = scratch;
    Atomics.store(words, entry + 3, 1); // taken
    if (shard === hold) Atomics.wait(flagsView, cancel >>> 2, 0, HOLD_MS); // the cancel test's seam
    if (dieAfter.has(shard)) {
      // Dies mid-shard: the accounts before the crash are written, the shard is not complete.
      core.sweep(header, start, Math.min(end, start + dieAfter.get(shard)), flags, record);
      words[(record >>> 2) + layout.complete] = 0;
      process.exit(70);
    }
    core.sweep(header, start, end, flags, record);
  }
  return true;
}

/**
 * The hot book's helper (src/pool/pool.ts hotShare): parks on the sequence word of its block at
 * `block` (`words`: its layout) until the main thread raises it, then runs the kernel's
 * hotTickShared with the arguments in the block (taking chunks of an instrument's hot records by the
 * same counter as the main thread), writes what it listed and its change in failing scopes, marks
 * the tick done and wakes the main thread; until the stop flag is set. The block's u32 offsets are
 * read unsigned: a 10M-account book's regions lie above 2 GiB.
 */
function hotHelper(block, words) {
  let seen = 0;
  for (;;) {
    Atomics.wait(new Int32Array(memory.buffer, block, words.count), words.go, seen);
    const w = new Int32Array(memory.buffer, block, words.count); // the memory may have grown
    seen = Atomics.load(w, words.go);
    if (w[words.stop] !== 0) return 0;
    const u = (k) => w[k] >>> 0;
    const markOld = new BigInt64Array(memory.buffer, block + words.markOld, 1)[0];
    const weight = new Float64Array(memory.buffer, block + words.weight, 1)[0];
    w[words.listed] = core.hotTickShared(u(words.header), u(words.shard), u(words.instrument), u(words.table), u(words.scopes), markOld, weight, u(words.counter), u(words.chunk), u(words.changed));
    w[words.failing] = core.hotFailingDelta();
    Atomics.store(w, words.done, seen);
    Atomics.notify(w, words.done);
  }
}
