// What durability costs the journal (src/serve/journal.ts, docs/journal.md) on this machine: for
// payloads of 64 and 512 bytes, appends per second and the time from append() to durable under
// each fsync policy, with a producer that awaits whenDurable on every 100th record (as the server
// does when it answers a batch); then a replay, reading a million records back in batches.
//   npm run build:ts && node dist/bench/journal.js [--records N] [--runs N] [--replay N]
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { Journal, type FsyncPolicy } from '../src/serve/journal.js';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

const RECORDS = option('--records', 100_000);
const RUNS = option('--runs', 3);
const REPLAY_RECORDS = option('--replay', 1_000_000);
/** The producer awaits durability on every this-many-th record. */
const AWAIT_EVERY = 100;
const PAYLOAD_SIZES = [64, 512];
const REPLAY_PAYLOAD_BYTES = 64;
const REPLAY_BATCH = 1000;
/** Closed loop: the producer waits for each batch's durability. Open loop: it only lets the event loop turn between batches, as a server between messages. */
const POLICIES: { label: string; policy: FsyncPolicy; open?: true }[] = [
  { label: 'always', policy: { mode: 'always' } },
  { label: 'group 1 ms', policy: { mode: 'group', windowMs: 1 } },
  { label: 'group 2 ms', policy: { mode: 'group', windowMs: 2 } },
  { label: 'group 5 ms', policy: { mode: 'group', windowMs: 5 } },
  { label: 'none', policy: { mode: 'none' } },
  { label: 'group 2 ms, open loop', policy: { mode: 'group', windowMs: 2 }, open: true },
];

interface Figures {
  perSecond: number;
  p50Us: number;
  p99Us: number;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/**
 * Appends RECORDS payloads of `size` bytes; every record's latency runs from its append() call to
 * the moment it is known durable. Closed loop: awaits whenDurable every AWAIT_EVERY records. Open
 * loop: after every AWAIT_EVERY records, notes when they become durable and yields one turn of the
 * event loop (setImmediate), so the fsync timer fires while appends go on.
 */
async function measure(policy: FsyncPolicy, size: number, open = false): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'liq-journal-bench-'));
  try {
    const journal = Journal.open({ dir, name: 'orders', fsync: policy });
    const payload = new Uint8Array(size).map((_, i) => i & 0xff);
    const latencies = new Float64Array(RECORDS);
    const started = new Float64Array(AWAIT_EVERY);
    let pending = 0; // records appended since the last known-durable point
    const begin = performance.now();
    for (let i = 0; i < RECORDS; i++) {
      const t0 = performance.now();
      const seq = journal.append(payload);
      if (journal.durableSeq >= seq) {
        latencies[i] = performance.now() - t0; // 'always' and 'none': durable (or as good as) on return
        continue;
      }
      if (open) {
        started[pending++] = t0;
        if (pending === AWAIT_EVERY || i === RECORDS - 1) {
          const from = i - pending + 1;
          const times = started.slice(0, pending);
          void journal.whenDurable(seq).then(() => {
            const now = performance.now();
            for (let k = 0; k < times.length; k++) latencies[from + k] = now - times[k];
          });
          pending = 0;
          await turn();
        }
        continue;
      }
      started[pending++] = t0;
      if (pending === AWAIT_EVERY || i === RECORDS - 1) {
        await journal.whenDurable(seq);
        const now = performance.now();
        for (let k = 0; k < pending; k++) latencies[i - pending + 1 + k] = now - started[k];
        pending = 0;
      }
    }
    await journal.whenDurable(journal.lastSeq); // the open loop's last records; the durability stamps run first
    const seconds = (performance.now() - begin) / 1000;
    journal.close();
    latencies.sort();
    return { perSecond: RECORDS / seconds, p50Us: percentile(latencies, 0.5) * 1000, p99Us: percentile(latencies, 0.99) * 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes REPLAY_RECORDS records (no fsync), reopens the journal and reads them all back in batches; records per second of the read. */
function replay(): { perSecond: number; megabytesPerSecond: number } {
  const dir = mkdtempSync(join(tmpdir(), 'liq-journal-bench-'));
  try {
    const writer = Journal.open({ dir, name: 'inputs', fsync: { mode: 'none' } });
    const payloads = Array.from({ length: REPLAY_BATCH }, (_, i) => new Uint8Array(REPLAY_PAYLOAD_BYTES).fill(i & 0xff));
    for (let n = 0; n < REPLAY_RECORDS; n += REPLAY_BATCH) writer.appendMany(payloads);
    writer.close();
    const reader = Journal.open({ dir, name: 'inputs', fsync: { mode: 'none' } });
    const begin = performance.now();
    let count = 0;
    let bytes = 0;
    for (let seq = 1; ; ) {
      const records = reader.read(seq, REPLAY_BATCH);
      if (records.length === 0) break;
      count += records.length;
      for (const record of records) bytes += record.payload.length;
      seq = records[records.length - 1].seq + 1;
    }
    const seconds = (performance.now() - begin) / 1000;
    reader.close();
    if (count !== REPLAY_RECORDS) throw new Error(`replay read ${count} records, not ${REPLAY_RECORDS}`);
    return { perSecond: count / seconds, megabytesPerSecond: bytes / seconds / 1e6 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const cpu = cpus();
console.log(`journal bench ${new Date().toISOString()}: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${tmpdir()}`);
console.log(`${RECORDS} appends per run, awaiting whenDurable every ${AWAIT_EVERY}; ${RUNS} runs, medians (each run's figures in brackets)\n`);
const int = (value: number) => Math.round(value).toLocaleString('en-US');
// The group commit timer is unref'd (a journal does not keep a process alive); here nothing else
// would, and a pending whenDurable alone would let Node exit mid-run.
const keepAlive = setInterval(() => {}, 60_000);
for (const size of PAYLOAD_SIZES) {
  console.log(`payload ${size} B`.padEnd(24) + 'records/s'.padEnd(47) + 'p50 µs'.padEnd(30) + 'p99 µs');
  for (const { label, policy, open } of POLICIES) {
    const runs: Figures[] = [];
    for (let run = 0; run < RUNS; run++) runs.push(await measure(policy, size, open));
    const column = (pick: (f: Figures) => number, width: number) =>
      `${int(median(runs.map(pick))).padStart(9)} [${runs.map((f) => int(pick(f))).join(', ')}]`.padEnd(width);
    console.log(`  ${label.padEnd(21)} ${column((f) => f.perSecond, 38)}${column((f) => f.p50Us, 30)}${column((f) => f.p99Us, 30)}`.trimEnd());
  }
  console.log('');
}
const replays = Array.from({ length: RUNS }, () => replay());
console.log(
  `replay: ${REPLAY_RECORDS} records of ${REPLAY_PAYLOAD_BYTES} B read in batches of ${REPLAY_BATCH}: ` +
    `${int(median(replays.map((r) => r.perSecond)))} records/s [${replays.map((r) => int(r.perSecond)).join(', ')}], ` +
    `${int(median(replays.map((r) => r.megabytesPerSecond)))} MB/s of payload`,
);
clearInterval(keepAlive);
