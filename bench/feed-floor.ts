// What this machine allows a tick-to-order latency to be, without the engine: `npm run
// bench:feed-floor`. A server with nothing of the engine in it answers each tick as `liq serve`
// does (src/serve/server.ts: the tick appended to an inputs journal and acknowledged once durable;
// a fixed amount of work in place of the evaluation; an order appended to an orders journal and
// sent to the consumer once durable), on the same uWebSockets.js, the same Journal
// (src/serve/journal.ts) and each fsync policy `liq serve` has; a client process measures from a
// tick's send to its order's arrival as `npm run bench:feed`'s crash does (one tick at a time, a
// quiet period after each). Its percentiles are a floor for the live engine's: the engine's own
// evaluation adds to the work, its pool's threads to the cores' sharing.
//   npm run build:ts && npm run bench:feed-floor -- [--ticks 1000] [--work-us 0,300,1300]
//     [--fsync none,group,always] [--rounds 2] [--quiet-ms 2]
// The work is a spin of the main thread (300 µs is about the median of an evaluation of a crash
// tick of the 1M book in process, 1,300 µs about its p99: bench/README.md, "The live feed").
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { Journal, type FsyncPolicy } from '../src/serve/journal.js';
import { loadNativeUws } from '../src/serve/uws.js';
import { codeVersion, machine, percentile, type FeedResult } from './feed.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
/** The server's script: this file as built (under vitest this module is the TypeScript source, which node cannot run). */
const SERVER = SELF.endsWith('.ts') ? join(dirname(SELF), '..', 'dist', 'bench', 'feed-floor.js') : SELF;

/** The fsync policies of `liq serve` (docs/journal.md), by the names its configuration uses. */
export const FLOOR_POLICIES: Readonly<Record<string, FsyncPolicy>> = {
  none: { mode: 'none' },
  group: { mode: 'group', windowMs: 0 },
  always: { mode: 'always' },
};

/** A tick frame: this byte, the work in µs (u32, little-endian), then padding to a tick frame's size. */
const FRAME_TICK = 0;
/** The consumer's frame: this byte alone. */
const FRAME_SUBSCRIBE = 1;
/** A one-tick frame of `liq serve`'s protocol is about this size (msgpack: type, id, instrument, price, timestamp). */
const TICK_FRAME_BYTES = 48;
/** An order frame of `liq serve` is about this size (src/serve/protocol.ts: 13 fields, the key the longest). */
const ORDER_FRAME_BYTES = 200;

export interface FloorOptions {
  ticks: number;
  workUs: number[];
  policies: string[];
  rounds: number;
  quietMs: number;
  log?: (line: string) => void;
}

export const FLOOR_DEFAULTS: Omit<FloorOptions, 'log'> = { ticks: 1000, workUs: [0, 300, 1300], policies: ['none', 'group', 'always'], rounds: 2, quietMs: 2 };

export interface FloorCell {
  policy: string;
  workUs: number;
  /** Each round's figures, ms from a tick's send to its order's arrival. */
  rounds: { p50: number; p90: number; p99: number; p999: number; max: number }[];
  /** Over every round's ticks. */
  all: { p50: number; p90: number; p99: number; p999: number; max: number; samples: number };
}

export interface FloorResult {
  date: string;
  code: FeedResult['code'];
  machine: FeedResult['machine'];
  load: { start: number[]; end: number[] };
  options: Omit<FloorOptions, 'log'>;
  cells: FloorCell[];
}

// ---------------------------------------------------------------------------------------------
// The server: a child process

function serve(policyName: string, dir: string): void {
  const policy = FLOOR_POLICIES[policyName];
  const uws = loadNativeUws();
  const inputs = Journal.open({ dir, name: 'inputs', fsync: policy });
  const orders = Journal.open({ dir, name: 'orders', fsync: policy });
  const order = new Uint8Array(ORDER_FRAME_BYTES).fill(7);
  let consumer: import('uWebSockets.js').WebSocket<unknown> | undefined;
  const ack = new Uint8Array([2]);
  uws
    .App()
    .ws('/ws', {
      maxPayloadLength: 1024,
      message: (ws, message) => {
        const bytes = new Uint8Array(message.slice(0));
        if (bytes[0] === FRAME_SUBSCRIBE) {
          consumer = ws;
          return;
        }
        // As the server's pump: the input journaled (its ack once durable), the evaluation, the
        // order journaled and sent once durable.
        const seq = inputs.append(bytes);
        void inputs.whenDurable(seq).then(() => ws.send(ack, true));
        const workMs = new DataView(bytes.buffer).getUint32(1, true) / 1000;
        const end = performance.now() + workMs;
        while (performance.now() < end);
        const last = orders.append(order);
        void orders.whenDurable(last).then(() => consumer?.send(order, true));
      },
    })
    .listen('127.0.0.1', 0, (socket) => {
      if (socket === false) throw new Error('the floor server could not listen');
      process.send?.({ port: uws.us_socket_local_port(socket) });
    });
}

// ---------------------------------------------------------------------------------------------
// The client: this process

/** The percentiles of bench:feed's crash (its nearest-rank percentile), so that the two tools' figures compare. */
function summary(latencies: Float64Array): FloorCell['rounds'][number] {
  const values = Array.from(latencies);
  return { p50: percentile(values, 0.5), p90: percentile(values, 0.9), p99: percentile(values, 0.99), p999: percentile(values, 0.999), max: percentile(values, 1) };
}

async function startServer(policy: string, dir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(SERVER, ['--floor-server', policy, dir], { execArgv: ['--v8-pool-size=0'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`the floor server exited (${code}) before it listened`)));
  });
  return { child, port };
}

function connect(port: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    ws.binaryType = 'nodebuffer';
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** `ticks` ticks, one at a time: the time from each send to its order's arrival (ms). */
async function measure(port: number, ticks: number, workUs: number, quietMs: number): Promise<Float64Array> {
  const publisher = await connect(port);
  const consumer = await connect(port);
  try {
    consumer.send(new Uint8Array([FRAME_SUBSCRIBE]));
    await new Promise((r) => setTimeout(r, 50));
    const frame = Buffer.alloc(TICK_FRAME_BYTES);
    frame[0] = FRAME_TICK;
    frame.writeUInt32LE(workUs, 1);
    const latencies = new Float64Array(ticks);
    for (let t = 0; t < ticks; t++) {
      const ordered = new Promise<number>((resolve) => consumer.once('message', () => resolve(performance.now())));
      const acked = new Promise((resolve) => publisher.once('message', resolve));
      const sent = performance.now();
      publisher.send(frame);
      latencies[t] = (await ordered) - sent;
      await acked;
      await new Promise((r) => setTimeout(r, quietMs));
    }
    return latencies;
  } finally {
    publisher.close();
    consumer.close();
  }
}

export async function runFloor(options: FloorOptions): Promise<FloorResult> {
  const log = options.log ?? (() => undefined);
  const loadStart = loadavg();
  const cells = new Map<string, { policy: string; workUs: number; rounds: Float64Array[] }>();
  for (let round = 0; round < options.rounds; round++) {
    // Alternate the order from round to round, so that every cell meets the machine's slow minutes alike.
    const policies = round % 2 === 0 ? options.policies : [...options.policies].reverse();
    for (const policy of policies) {
      const dir = mkdtempSync(join(tmpdir(), 'liq-feed-floor-'));
      const server = await startServer(policy, dir);
      try {
        for (const workUs of options.workUs) {
          const latencies = await measure(server.port, options.ticks, workUs, options.quietMs);
          const key = `${policy}/${workUs}`;
          const cell = cells.get(key) ?? { policy, workUs, rounds: [] };
          cell.rounds.push(latencies);
          cells.set(key, cell);
          const s = summary(latencies);
          log(`round ${round + 1}: fsync ${policy}, work ${workUs} µs: p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)}, p99.9 ${s.p999.toFixed(2)}`);
        }
      } finally {
        server.child.kill();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  const ordered: FloorCell[] = [];
  for (const policy of options.policies) {
    for (const workUs of options.workUs) {
      const cell = cells.get(`${policy}/${workUs}`)!;
      const all = new Float64Array(cell.rounds.reduce((n, r) => n + r.length, 0));
      let at = 0;
      for (const r of cell.rounds) {
        all.set(r, at);
        at += r.length;
      }
      ordered.push({ policy, workUs, rounds: cell.rounds.map(summary), all: { ...summary(all), samples: all.length } });
    }
  }
  const { log: _, ...kept } = options;
  return { date: new Date().toISOString(), code: codeVersion(), machine: machine(), load: { start: loadStart, end: loadavg() }, options: kept, cells: ordered };
}

export function formatFloor(result: FloorResult): string {
  const lines = [
    `tick to order without the engine: ${result.machine.cpu}, ${result.machine.cores} cores; node ${result.machine.node}; at ${result.code.commit}; ${result.options.ticks} ticks a cell a round, ${result.options.rounds} rounds`,
    '',
    `${'fsync'.padEnd(8)}${'work µs'.padStart(8)}${'p50 ms'.padStart(9)}${'p90'.padStart(8)}${'p99'.padStart(8)}${'p99.9'.padStart(8)}${'max'.padStart(8)}   p99 by round`,
  ];
  for (const cell of result.cells) {
    const a = cell.all;
    lines.push(
      `${cell.policy.padEnd(8)}${String(cell.workUs).padStart(8)}${a.p50.toFixed(2).padStart(9)}${a.p90.toFixed(2).padStart(8)}${a.p99.toFixed(2).padStart(8)}${a.p999.toFixed(2).padStart(8)}${a.max.toFixed(2).padStart(8)}   ${cell.rounds.map((r) => r.p99.toFixed(2)).join(', ')}`,
    );
  }
  lines.push('', `load average ${result.load.start.map((x) => x.toFixed(2)).join('/')} at the start, ${result.load.end.map((x) => x.toFixed(2)).join('/')} at the end`);
  return lines.join('\n');
}

/** The command line's options; a RangeError says which one is wrong. */
export function floorOptionsFromArgs(argv: readonly string[]): FloorOptions {
  const known = new Set(['--ticks', '--work-us', '--fsync', '--rounds', '--quiet-ms']);
  for (let k = 0; k < argv.length; k += 2) {
    if (!known.has(argv[k])) throw new RangeError(`unknown option ${argv[k]}: the options are ${[...known].join(', ')}`);
    if (argv[k + 1] === undefined) throw new RangeError(`${argv[k]} needs a value`);
  }
  const get = (name: string) => {
    const k = argv.indexOf(name);
    return k < 0 ? undefined : argv[k + 1];
  };
  const whole = (name: string, min: number, max: number, fallback: number) => {
    const text = get(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} takes a whole number from ${min} to ${max}, got ${text}`);
    return value;
  };
  const list = (name: string, fallback: string[]) => (get(name) === undefined ? fallback : get(name)!.split(','));
  const workUs = list('--work-us', FLOOR_DEFAULTS.workUs.map(String)).map((text) => {
    const value = Number(text);
    if (text === '' || !Number.isInteger(value) || value < 0 || value > 1_000_000) throw new RangeError(`--work-us takes whole numbers of µs from 0 to 1,000,000, separated by commas, got ${JSON.stringify(text)}`);
    return value;
  });
  const policies = list('--fsync', FLOOR_DEFAULTS.policies);
  for (const p of policies) if (!(p in FLOOR_POLICIES)) throw new RangeError(`--fsync takes ${Object.keys(FLOOR_POLICIES).join(', ')} separated by commas, got ${JSON.stringify(p)}`);
  return {
    ticks: whole('--ticks', 10, 1_000_000, FLOOR_DEFAULTS.ticks),
    workUs,
    policies,
    rounds: whole('--rounds', 1, 100, FLOOR_DEFAULTS.rounds),
    quietMs: whole('--quiet-ms', 0, 1000, FLOOR_DEFAULTS.quietMs),
  };
}

async function main(): Promise<void> {
  const options = { ...floorOptionsFromArgs(process.argv.slice(2)), log: (line: string) => process.stderr.write(`${line}\n`) };
  const result = await runFloor(options);
  process.stdout.write(`${formatFloor(result)}\n`);
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `feed-floor-${result.date.slice(0, 19).replace(/:/g, '-')}.json`);
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`wrote ${out}\n`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv[2] === '--floor-server') serve(process.argv[3], process.argv[4]);
  else await main();
}
