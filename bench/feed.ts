// `npm run bench:feed`: the live server (`liq serve`, src/serve/) driven as its users drive it, from
// separate processes over loopback (bench/README.md, "The live feed"):
//   1. a generated book (seed 1, the default `calibrated` profile) written to a temporary binary
//      file; `node bin/liq.js serve --book FILE --port 0` started as a child process, with a
//      configuration of tokens, warn-level logs, group commit (1 ms) and retries left out
//      (`orders.retryMs` a day, so that every order of the crash below is one a tick caused);
//   2. tick ingest: a client process (bench/feed-client.ts) sends frames of 1,000 to 4,096 ticks of
//      a normal market (every mark within ±0.05% of the book's: nothing to liquidate) as fast as
//      they are acknowledged, at most `--window` unacknowledged; ticks/s acked;
//   3. update ingest: the same with frames of 1,000 to 4,096 deposits and withdrawals by account
//      id; operations/s acked;
//   4. tick to order: instrument 0 moved down 0.01% a tick (1,000 ticks: 9.5% in all), one tick
//      frame at a time, a consumer socket of the same client process subscribed from the next
//      order: for each tick, from its send to its first order's arrival (p50, p99, p99.9, max), on two fresh servers of the same
//      book, one with group commit and one with `fsync: always`, each tick sent to both in turn;
//   5. the same tick batches in this process, without the network (LiveEngine.applyTicks, then
//      evaluate: what the server does per batch, on a pool of as many workers), in rounds that
//      alternate with the wire's, so that the ratio `feedTicksOverInProcess` (wire ticks/s over
//      in-process ticks/s, the median of the rounds' ratios) compares the machine at one moment.
// The machine's two cores are shared by the server (and its pool), the client and this process
// (idle while the wire is measured, as the server is while this process measures).
//   npm run build:ts && npm run bench:feed -- [--accounts 1000000] [--rounds 5] [--round-ms 1000]
//     [--window 8] [--crash-ticks 1000] [--no-updates] [--withdraw-percent 10] [--no-crash] [--no-always] [--fsync-none]
//     [--crash-ingested]
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeBookColumnsFile, loadBookBinaryFile } from '../src/book/binary.js';
import type { Engine } from '../src/engine/engine.js';
import { generateBook, GEN_ACCOUNTS_MAX } from '../src/gen/generate.js';
import { SweepPool } from '../src/pool/pool.js';
import { DEFAULT_CONFIG } from '../src/serve/config.js';
import { LiveEngine } from '../src/serve/live.js';
import { median } from './paired.js';
import { tickBatches, updateBatches, WITHDRAW_SHARE, type ClientCommand, type ClientReply, type CrashFigures, type IngestFigures, type TickBatch, type UpdateBatch } from './feed-client.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LIQ = join(ROOT, 'bin', 'liq.js');
const CLIENT = join(ROOT, 'dist', 'bench', 'feed-client.js');

/** The gated ratio this benchmark measures (bench/check.ts, bench/thresholds.json). */
export const FEED_RATIO_NAMES = ['feedTicksOverInProcess'] as const;
export type FeedRatioName = (typeof FEED_RATIO_NAMES)[number];

export interface FeedOptions {
  accounts: number;
  seed: number;
  /** Paired rounds of each ingest (each a wire side and an in-process side), and each side's time. */
  rounds: number;
  roundMs: number;
  /** Untimed ingest before the rounds, on each side. */
  warmupMs: number;
  /** Frames unacknowledged at most. */
  window: number;
  /** Distinct pre-encoded frames (cycled). */
  tickFrames: number;
  updateFrames: number;
  updates: boolean;
  /** Share of the update frames' operations that are withdrawals, the others deposits (a withdrawal's account is evaluated; a deposit's into a healthy account is not). */
  withdrawShare: number;
  /** Ticks of the crash path (0: none), the step down of each (ppm), and the quiet period after each tick's barrier (ms). */
  crashTicks: number;
  stepPpm: number;
  quietMs: number;
  /** The crash also on a fresh server with fsync "always" (in turn with the group commit's). */
  always: boolean;
  /** The crash also on a fresh server with fsync "none" (no durability: the engine's tick to order without the disk, beside `npm run bench:feed-floor`'s). */
  none: boolean;
  /** The crash also on the server that took the ingest (its state after it), in turn with the fresh ones. */
  crashIngested: boolean;
  /** The gate: tick rounds measured again, up to `attempts` times in all, while the ratio is below this. */
  threshold?: number;
  attempts: number;
  log: (line: string) => void;
}

export const FEED_DEFAULTS: Omit<FeedOptions, 'log'> = {
  accounts: 1_000_000,
  seed: 1,
  rounds: 5,
  roundMs: 1_000,
  warmupMs: 1_000,
  window: 8,
  tickFrames: 64,
  updateFrames: 32,
  updates: true,
  withdrawShare: WITHDRAW_SHARE,
  crashTicks: 1_000,
  stepPpm: 100,
  quietMs: 2,
  always: true,
  none: false,
  crashIngested: false,
  attempts: 1,
};

interface Side {
  units: number;
  elapsedMs: number;
  perSecond: number;
}

interface Round {
  wire: Side;
  inProcess: Side;
  ratio: number;
  /** The server's evaluations during the wire side, and frames acked. */
  serverEvaluations: number;
  frames: number;
  /** CPU time over the wire side's time (cores busy): the server process (its pool included), the client process. */
  serverCpu: number;
  clientCpu: number;
}

export interface IngestResult {
  /** Units (ticks, operations) per second acked over the wire, over every round's wire side. */
  wirePerSecond: number;
  inProcessPerSecond: number;
  /** Median of the rounds' wire/in-process ratios (the gated figure for ticks). */
  ratio: number;
  rounds: Round[];
  /** Every attempt's ratio (the gate measures again a ratio below its threshold). */
  attempts: number[];
  /** Frames acked per evaluation of the server (it evaluates once per burst of queued frames). */
  framesPerEvaluation: number;
  /** Medians of the rounds' cores busy in the server and in the client process, while the wire was measured. */
  serverCpu: number;
  clientCpu: number;
  /** A frame's send to its ack under load, ms. */
  ackMs: { p50: number; p99: number; max: number };
  refusedOps: number;
  errors: number;
  firstError: string | null;
  /** Orders the server made during the phase (a normal market makes few or none). */
  orders: number;
}

export interface LatencyResult {
  fsync: string;
  ticks: number;
  ticksWithOrders: number;
  orders: number;
  stragglers: number;
  /** Send to first order, over the ticks with orders, ms. */
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  /** Send to ack, over every tick, ms. */
  ackMs: { p50: number; p99: number; max: number };
  /** The server's own histogram (liq_tick_to_order_seconds): mean, ms. */
  serverMeanMs: number;
  finalPrice: string;
  serverStartMs: number;
}

export interface FeedResult {
  date: string;
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; platform: string };
  /** The commit measured, and whether src/ differed from it (others may build the tree meanwhile). */
  code: { commit: string; dirty: boolean };
  /** The machine's 1-, 5- and 15-minute load averages at the start, after the ingest and at the end (other processes show here). */
  load: { start: number[]; afterIngest: number[]; end: number[] };
  accounts: number;
  positions: number;
  options: Omit<FeedOptions, 'log'>;
  setup: { generateMs: number; writeMs: number; fileBytes: number; inProcessLoadMs: number; serverStartMs: number; serverWorkers: number; serverRssMiB: number };
  ticks: IngestResult;
  updates: IngestResult | null;
  latency: LatencyResult[];
  ratios: Record<FeedRatioName, number>;
  totalMs: number;
}

// ---------------------------------------------------------------------------------------------
// The server, as a child process

interface Server {
  child: ChildProcess;
  url: string;
  http: string;
  workers: number;
  startMs: number;
  journal: string;
}

async function startServer(book: string, scratch: string, name: string, fsync: 'group' | 'always' | 'none', tokens: Record<string, string>, log: (line: string) => void): Promise<Server> {
  const journal = join(scratch, `journal-${name}`);
  const config = join(scratch, `config-${name}.json`);
  // 'group': the server's default group commit (groupMs 0: one fsync at the end of each turn of its event loop).
  const journalConfig = { fsync };
  writeFileSync(config, JSON.stringify({ tokens, log: { level: 'warn' }, journal: journalConfig, orders: { retryMs: 86_400_000 } }));
  const started = performance.now();
  const child = spawn(process.execPath, ['--max-old-space-size=8192', '--v8-pool-size=0', LIQ, 'serve', '--book', book, '--port', '0', '--journal', journal, '--config', config], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderrTail = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    stderrTail = (stderrTail + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim() !== '') log(`[server ${name}] ${line}`);
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => {
      out += text;
      const ws = /WebSocket\s+ws:\/\/([^\s/]+):(\d+)\/ws/.exec(out);
      if (ws !== null) {
        const workers = Number(/; (\d+) workers/.exec(out)?.[1] ?? 0);
        resolve({ child, url: `ws://${ws[1]}:${ws[2]}/ws`, http: `http://${ws[1]}:${ws[2]}`, workers, startMs: performance.now() - started, journal });
      }
    });
    child.once('exit', (code, signal) => reject(new Error(`liq serve exited (${code ?? signal}) before listening: ${stderrTail.trim()}`)));
    child.once('error', reject);
  });
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => server.child.once('exit', () => resolve()));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

/** The server's Prometheus figures that the benchmark reads (unlabelled samples). */
async function metrics(server: Server): Promise<Map<string, number>> {
  const text = await (await fetch(`${server.http}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+) ([0-9.e+-]+)$/.exec(line);
    if (match !== null) out.set(match[1], Number(match[2]));
  }
  return out;
}

/** The first sample whose name ends with `suffix` (the default metrics carry a prefix). */
function metricEnding(samples: Map<string, number>, suffix: string): number {
  for (const [name, value] of samples) if (name.endsWith(suffix)) return value;
  return NaN;
}

async function ordersMade(server: Server): Promise<number> {
  return ((await (await fetch(`${server.http}/health`)).json()) as { orders: number }).orders;
}

// ---------------------------------------------------------------------------------------------
// The client, as a child process

class ClientProcess {
  private waiting: ((reply: ClientReply) => void) | null = null;
  private exited: string | null = null;

  private constructor(readonly child: ChildProcess) {
    child.on('message', (reply: ClientReply) => {
      const waiting = this.waiting;
      this.waiting = null;
      waiting?.(reply);
    });
    child.once('exit', (code, signal) => {
      this.exited = `the client process exited (${code ?? signal})`;
      const waiting = this.waiting;
      this.waiting = null;
      waiting?.({ type: 'failed', error: this.exited });
    });
  }

  static start(): ClientProcess {
    return new ClientProcess(fork(CLIENT, ['--feed-client'], { execArgv: ['--v8-pool-size=0'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  async ask(command: ClientCommand): Promise<ClientReply> {
    if (this.exited !== null) throw new Error(this.exited);
    const reply = new Promise<ClientReply>((resolve) => (this.waiting = resolve));
    this.child.send(command);
    const answer = await reply;
    if (answer.type === 'failed') throw new Error(`feed client: ${answer.error}`);
    return answer;
  }

  async ingest(kind: 'ticks' | 'updates', ms: number, window: number): Promise<IngestFigures> {
    const reply = await this.ask({ cmd: 'ingest', kind, ms, window });
    if (reply.type !== 'ingest') throw new Error(`feed client: answered ${reply.type} to ingest`);
    return reply.figures;
  }

  async close(): Promise<void> {
    if (this.exited !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ cmd: 'exit' } satisfies ClientCommand);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// The in-process side

class InProcess {
  private seq = 1;
  private nextTick = 0;
  private nextUpdate = 0;

  constructor(
    readonly live: LiveEngine,
    private readonly ticks: TickBatch[],
    private readonly updates: UpdateBatch[],
  ) {}

  /** Batches applied then evaluated, one after another, for at least `ms`. */
  async run(kind: 'ticks' | 'updates', ms: number): Promise<Side> {
    const started = performance.now();
    const until = started + ms;
    let units = 0;
    let now = started;
    while (now < until) {
      if (kind === 'ticks') {
        const batch = this.ticks[this.nextTick];
        this.nextTick = (this.nextTick + 1) % this.ticks.length;
        const applied = this.live.applyTicks(batch.instruments, batch.prices, batch.count);
        if (!applied.ok) throw new Error(`in process: a tick batch was refused: ${applied.reason}`);
        units += batch.count;
      } else {
        const batch = this.updates[this.nextUpdate];
        this.nextUpdate = (this.nextUpdate + 1) % this.updates.length;
        this.live.applyOperations(batch.operations, this.seq++);
        units += batch.count;
      }
      await this.live.evaluate();
      now = performance.now();
    }
    const elapsedMs = now - started;
    return { units, elapsedMs, perSecond: units / (elapsedMs / 1000) };
  }
}

// ---------------------------------------------------------------------------------------------
// Figures

/** The nearest-rank p-quantile (p in [0, 1]). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

function side(figures: IngestFigures): Side {
  return { units: figures.units, elapsedMs: figures.elapsedMs, perSecond: figures.units / (figures.elapsedMs / 1000) };
}

/** Paired rounds of one kind of ingest: wire then in-process, then in-process then wire, and so on. */
async function pairedIngest(kind: 'ticks' | 'updates', client: ClientProcess, local: InProcess, server: Server, options: FeedOptions): Promise<IngestResult> {
  const { log } = options;
  await client.ingest(kind, options.warmupMs, options.window);
  await local.run(kind, options.warmupMs / 2);
  const ordersBefore = await ordersMade(server);
  const rounds: Round[] = [];
  const attempts: number[] = [];
  const acks: number[] = [];
  let refusedOps = 0;
  let errors = 0;
  let firstError: string | null = null;
  let best: Round[] = [];
  for (let attempt = 0; attempt < Math.max(1, options.attempts); attempt++) {
    const these: Round[] = [];
    for (let r = 0; r < options.rounds; r++) {
      let wire: IngestFigures | undefined;
      let inProcess: Side | undefined;
      let evaluations = 0;
      let serverCpuMs = 0;
      const runWire = async () => {
        const before = await metrics(server);
        wire = await client.ingest(kind, options.roundMs, options.window);
        const after = await metrics(server);
        evaluations = (after.get('liq_evaluations_total') ?? 0) - (before.get('liq_evaluations_total') ?? 0);
        serverCpuMs = 1000 * (metricEnding(after, 'cpu_seconds_total') - metricEnding(before, 'cpu_seconds_total'));
      };
      const runLocal = async () => {
        inProcess = await local.run(kind, options.roundMs);
      };
      if (r % 2 === 0) {
        await runWire();
        await runLocal();
      } else {
        await runLocal();
        await runWire();
      }
      const w = side(wire!);
      acks.push(...wire!.ackMs);
      refusedOps += wire!.refusedOps;
      errors += wire!.errors;
      firstError ??= wire!.firstError;
      const round: Round = {
        wire: w,
        inProcess: inProcess!,
        ratio: w.perSecond / inProcess!.perSecond,
        serverEvaluations: evaluations,
        frames: wire!.frames,
        serverCpu: serverCpuMs / wire!.elapsedMs,
        clientCpu: wire!.cpuMs / wire!.elapsedMs,
      };
      these.push(round);
      rounds.push(round);
      log(
        `${kind} round ${r + 1}: wire ${fmt(w.perSecond)}/s, in process ${fmt(inProcess!.perSecond)}/s, ratio ${round.ratio.toFixed(3)} (${wire!.frames} frames, ${evaluations} server evaluations; CPU: server ${round.serverCpu.toFixed(2)}, client ${round.clientCpu.toFixed(2)} cores)`,
      );
    }
    const ratio = median(these.map((round) => round.ratio));
    attempts.push(ratio);
    if (best.length === 0 || ratio > median(best.map((round) => round.ratio))) best = these;
    if (options.threshold === undefined || ratio >= options.threshold) break;
    if (attempt + 1 < options.attempts) log(`${kind}: ratio ${ratio.toFixed(3)} below ${options.threshold}, measuring again`);
  }
  const sum = (pick: (round: Round) => number) => best.reduce((total, round) => total + pick(round), 0);
  return {
    wirePerSecond: sum((round) => round.wire.units) / (sum((round) => round.wire.elapsedMs) / 1000),
    inProcessPerSecond: sum((round) => round.inProcess.units) / (sum((round) => round.inProcess.elapsedMs) / 1000),
    ratio: Math.max(...attempts),
    rounds,
    attempts,
    framesPerEvaluation: sum((round) => round.frames) / Math.max(1, sum((round) => round.serverEvaluations)),
    serverCpu: median(best.map((round) => round.serverCpu)),
    clientCpu: median(best.map((round) => round.clientCpu)),
    ackMs: { p50: percentile(acks, 0.5), p99: percentile(acks, 0.99), max: percentile(acks, 1) },
    refusedOps,
    errors,
    firstError,
    orders: (await ordersMade(server)) - ordersBefore,
  };
}

async function crashLatency(client: ClientProcess, servers: { server: Server; fsync: string }[], options: FeedOptions): Promise<LatencyResult[]> {
  const before = await Promise.all(servers.map(({ server }) => metrics(server)));
  const reply = await client.ask({ cmd: 'crash', servers: servers.map(({ server }) => ({ url: server.url, http: server.http })), ticks: options.crashTicks, stepPpm: options.stepPpm, quietMs: options.quietMs, instrument: 0 });
  if (reply.type !== 'crash') throw new Error(`feed client: answered ${reply.type} to crash`);
  const after = await Promise.all(servers.map(({ server }) => metrics(server)));
  return servers.map(({ server, fsync }, k) => {
    const f: CrashFigures = reply.figures[k];
    const delta = (name: string) => (after[k].get(name) ?? 0) - (before[k].get(name) ?? 0);
    const l = f.latencyMs;
    return {
      fsync,
      ticks: f.ticks,
      ticksWithOrders: f.ticksWithOrders,
      orders: f.orders,
      stragglers: f.stragglers,
      latencyMs: {
        p50: percentile(l, 0.5),
        p90: percentile(l, 0.9),
        p99: percentile(l, 0.99),
        p999: percentile(l, 0.999),
        max: percentile(l, 1),
        mean: l.reduce((sum, x) => sum + x, 0) / Math.max(1, l.length),
      },
      ackMs: { p50: percentile(f.ackMs, 0.5), p99: percentile(f.ackMs, 0.99), max: percentile(f.ackMs, 1) },
      serverMeanMs: (1000 * delta('liq_tick_to_order_seconds_sum')) / Math.max(1, delta('liq_tick_to_order_seconds_count')),
      finalPrice: f.lastPrice,
      serverStartMs: server.startMs,
    };
  });
}

function fmt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function codeVersion(): FeedResult['code'] {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return { commit: git('rev-parse', '--short', 'HEAD'), dirty: git('status', '--porcelain', '--', 'src') !== '' };
  } catch {
    return { commit: 'unknown', dirty: true };
  }
}

export function machine(): FeedResult['machine'] {
  const name = cpus()[0]?.model ?? 'unknown';
  let family: string | undefined;
  try {
    family = /^cpu family\s*:\s*(\d+)/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
  } catch {
    // not Linux
  }
  return { cpu: family === undefined ? name : `${name} family ${family}`, cores: availableParallelism(), memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform}-${process.arch}` };
}

// ---------------------------------------------------------------------------------------------
// The run

export async function runFeed(options: FeedOptions): Promise<FeedResult> {
  const { log } = options;
  const begun = performance.now();
  const loadStart = loadavg();
  const code = codeVersion();
  const scratch = mkdtempSync(join(tmpdir(), 'liq-feed-'));
  const tokens = { publisher: 'feed-bench-publisher-token', consumer: 'feed-bench-consumer-token', observer: 'feed-bench-observer-token' };
  const servers: Server[] = [];
  let client: ClientProcess | undefined;
  let pool: SweepPool | undefined;
  try {
    // 1. The book.
    let t = performance.now();
    let book: ReturnType<typeof generateBook> | undefined = generateBook({ accounts: options.accounts, seed: options.seed });
    const generateMs = performance.now() - t;
    const file = join(scratch, 'book.bin');
    t = performance.now();
    writeBookColumnsFile(file, book);
    const writeMs = performance.now() - t;
    const marks = book.instruments.map((instrument) => instrument.markUnits);
    const positions = book.positionCount;
    book = undefined;
    const fileBytes = statSync(file).size;
    log(`book: ${fmt(options.accounts)} accounts, ${fmt(positions)} positions, ${marks.length} instruments; generated in ${(generateMs / 1000).toFixed(1)} s, written in ${(writeMs / 1000).toFixed(1)} s (${(fileBytes / 1e6).toFixed(0)} MB)`);

    // 5. The in-process side: the book loaded as the server loads it, a pool of as many workers.
    t = performance.now();
    const engine: Engine = loadBookBinaryFile(file, { hugePages: false });
    pool = await SweepPool.open(engine);
    const live = new LiveEngine(engine, { rule: DEFAULT_CONFIG.liquidation, worstPrice: DEFAULT_CONFIG.orders.worstPrice, retryMs: 86_400_000, pool, heapEntriesPerAccount: DEFAULT_CONFIG.evaluation.heapEntriesPerAccount });
    await live.evaluate();
    const inProcessLoadMs = performance.now() - t;
    const local = new InProcess(live, tickBatches(marks, options.tickFrames, options.seed), updateBatches(options.accounts, options.updateFrames, options.seed + 1, options.withdrawShare));
    log(`in process: loaded and evaluated in ${(inProcessLoadMs / 1000).toFixed(1)} s; ${pool.threads} pool workers`);

    // 1. The server, and the client.
    const server = await startServer(file, scratch, 'group', 'group', tokens, log);
    servers.push(server);
    log(`server: listening at ${server.url} after ${(server.startMs / 1000).toFixed(1)} s; ${server.workers} workers`);
    client = ClientProcess.start();
    await client.ask({ cmd: 'init', url: server.url, http: server.http, tokens, marks, accounts: options.accounts, tickFrames: options.tickFrames, updateFrames: options.updateFrames, seed: options.seed, withdrawShare: options.withdrawShare });

    // 2. Ticks; 3. updates.
    const ticks = await pairedIngest('ticks', client, local, server, options);
    const updates = options.updates ? await pairedIngest('updates', client, local, server, options) : null;
    const serverRssMiB = metricEnding(await metrics(server), 'resident_memory_bytes') / 2 ** 20;

    await client.close();
    client = undefined;
    if (!options.crashIngested || options.crashTicks === 0) await stopServer(server);
    await pool.close();
    pool = undefined;
    const loadAfterIngest = loadavg();

    // 4. Tick to order, on fresh servers of the same book, one per fsync policy, tick by tick in
    // turn (the ingest above left marks, balances and the live engine's maps changed).
    let latency: LatencyResult[] = [];
    if (options.crashTicks > 0) {
      const crashServers: { server: Server; fsync: string }[] = options.crashIngested ? [{ server, fsync: 'group (default), after the ingest' }] : [];
      const policies: ('group' | 'always' | 'none')[] = ['group'];
      if (options.always) policies.push('always');
      if (options.none) policies.push('none');
      for (const fsync of policies) {
        const fresh = await startServer(file, scratch, `crash-${fsync}`, fsync, tokens, log);
        servers.push(fresh);
        crashServers.push({ server: fresh, fsync: fsync === 'group' ? 'group (default)' : fsync });
        log(`server (crash, fsync ${fsync}): listening after ${(fresh.startMs / 1000).toFixed(1)} s`);
      }
      client = ClientProcess.start();
      await client.ask({ cmd: 'init', url: crashServers[0].server.url, http: crashServers[0].server.http, tokens, marks, accounts: options.accounts, tickFrames: 1, updateFrames: 1, seed: options.seed, withdrawShare: options.withdrawShare });
      latency = await crashLatency(client, crashServers, options);
      for (const l of latency) log(`crash (fsync ${l.fsync}): ${latencyLine(l)}`);
      await client.close();
      client = undefined;
      for (const { server: s } of crashServers) await stopServer(s);
      await stopServer(server);
    }
    const { log: _log, ...recorded } = options;
    return {
      date: new Date().toISOString(),
      machine: machine(),
      code,
      load: { start: loadStart, afterIngest: loadAfterIngest, end: loadavg() },
      accounts: options.accounts,
      positions,
      options: recorded,
      setup: { generateMs, writeMs, fileBytes, inProcessLoadMs, serverStartMs: server.startMs, serverWorkers: server.workers, serverRssMiB },
      ticks,
      updates,
      latency,
      ratios: { feedTicksOverInProcess: ticks.ratio },
      totalMs: performance.now() - begun,
    };
  } finally {
    await client?.close().catch(() => undefined);
    for (const server of servers) await stopServer(server).catch(() => undefined);
    await pool?.close().catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  }
}

function latencyLine(l: LatencyResult): string {
  const m = l.latencyMs;
  return `${l.ticksWithOrders} of ${l.ticks} ticks made ${fmt(l.orders)} orders; tick to first order p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)}, p99.9 ${m.p999.toFixed(2)}, max ${m.max.toFixed(2)}`;
}

/** The table a person reads. */
export function formatFeed(result: FeedResult): string {
  const lines = [
    `liq serve over loopback: ${fmt(result.accounts)} accounts, ${fmt(result.positions)} positions; ${result.machine.cpu}, ${result.machine.cores} cores; node ${result.machine.node}; at ${result.code.commit}${result.code.dirty ? ' (modified)' : ''}`,
    `server: started in ${(result.setup.serverStartMs / 1000).toFixed(1)} s, ${result.setup.serverWorkers} pool workers, ${result.setup.serverRssMiB.toFixed(0)} MiB RSS after ingest; window ${result.options.window} frames`,
    '',
    `${'ingest'.padEnd(10)} ${'wire /s'.padStart(12)} ${'in process /s'.padStart(14)} ${'ratio'.padStart(7)} ${'rounds (wire/in process)'.padEnd(34)} ${'frames/eval'.padStart(11)} ${'ack p50 ms'.padStart(10)} ${'ack p99 ms'.padStart(10)} ${'CPU srv/cli'.padStart(11)}`,
  ];
  for (const [name, r] of [
    ['ticks', result.ticks],
    ['updates', result.updates],
  ] as const) {
    if (r === null) continue;
    const ratios = r.rounds.map((round) => round.ratio);
    lines.push(
      `${name.padEnd(10)} ${fmt(r.wirePerSecond).padStart(12)} ${fmt(r.inProcessPerSecond).padStart(14)} ${r.ratio.toFixed(3).padStart(7)} ${`${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)} over ${ratios.length}`.padEnd(34)} ${r.framesPerEvaluation.toFixed(2).padStart(11)} ${r.ackMs.p50.toFixed(2).padStart(10)} ${r.ackMs.p99.toFixed(2).padStart(10)} ${`${r.serverCpu.toFixed(2)}/${r.clientCpu.toFixed(2)}`.padStart(11)}`,
    );
    if (name === 'updates') lines.push(`           ${Math.round(result.options.withdrawShare * 100)}% withdrawals, the rest deposits`);
    if (r.refusedOps > 0 || r.errors > 0 || r.orders > 0) lines.push(`           refused operations ${fmt(r.refusedOps)}, refused frames ${r.errors}${r.firstError ? ` (${r.firstError})` : ''}, orders made ${fmt(r.orders)}`);
  }
  if (result.latency.length > 0) {
    lines.push('', `${'tick to first order'.padEnd(20)} ${'ticks'.padStart(6)} ${'w/ orders'.padStart(9)} ${'orders'.padStart(8)} ${'p50 ms'.padStart(7)} ${'p90'.padStart(6)} ${'p99'.padStart(6)} ${'p99.9'.padStart(6)} ${'max'.padStart(7)} ${'ack p50'.padStart(8)} ${'server mean'.padStart(11)}`);
    for (const l of result.latency) {
      const m = l.latencyMs;
      lines.push(
        `${`fsync ${l.fsync}`.padEnd(20)} ${String(l.ticks).padStart(6)} ${String(l.ticksWithOrders).padStart(9)} ${fmt(l.orders).padStart(8)} ${m.p50.toFixed(2).padStart(7)} ${m.p90.toFixed(2).padStart(6)} ${m.p99.toFixed(2).padStart(6)} ${m.p999.toFixed(2).padStart(6)} ${m.max.toFixed(2).padStart(7)} ${l.ackMs.p50.toFixed(2).padStart(8)} ${l.serverMeanMs.toFixed(2).padStart(11)}`,
      );
      if (l.stragglers > 0) lines.push(`  ${l.stragglers} orders arrived after their tick's window closed`);
    }
  }
  const load = (values: number[]) => values.map((x) => x.toFixed(2)).join('/');
  lines.push('', `feedTicksOverInProcess ${result.ratios.feedTicksOverInProcess.toFixed(3)}; the run took ${(result.totalMs / 1000).toFixed(0)} s; load average ${load(result.load.start)} at the start, ${load(result.load.afterIngest)} after the ingest, ${load(result.load.end)} at the end`);
  return lines.join('\n');
}

export function feedOptionsFromArgs(argv: readonly string[], defaults: Partial<FeedOptions> = {}): FeedOptions {
  const value = (name: string, min: number, max: number): number | undefined => {
    const index = argv.indexOf(name);
    if (index < 0) return undefined;
    const parsed = Number(argv[index + 1]);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new RangeError(`${name} takes a whole number from ${min} to ${max}, got ${argv[index + 1]}`);
    return parsed;
  };
  const base = { ...FEED_DEFAULTS, ...defaults };
  return {
    ...base,
    accounts: value('--accounts', 1, GEN_ACCOUNTS_MAX) ?? base.accounts,
    rounds: value('--rounds', 1, 100) ?? base.rounds,
    roundMs: value('--round-ms', 100, 60_000) ?? base.roundMs,
    warmupMs: value('--warmup-ms', 0, 60_000) ?? base.warmupMs,
    window: value('--window', 1, 1024) ?? base.window,
    crashTicks: argv.includes('--no-crash') ? 0 : (value('--crash-ticks', 0, 100_000) ?? base.crashTicks),
    updates: argv.includes('--no-updates') ? false : base.updates,
    withdrawShare: (value('--withdraw-percent', 0, 100) ?? base.withdrawShare * 100) / 100,
    always: argv.includes('--no-always') ? false : base.always,
    none: argv.includes('--fsync-none') ? true : base.none,
    crashIngested: argv.includes('--crash-ingested') ? true : base.crashIngested,
    log: defaults.log ?? ((line) => process.stderr.write(`${line}\n`)),
  };
}

async function main(): Promise<void> {
  const options = feedOptionsFromArgs(process.argv.slice(2));
  const result = await runFeed(options);
  process.stdout.write(`${formatFeed(result)}\n`);
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `feed-${result.date.slice(0, 19).replace(/:/g, '-')}.json`);
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`wrote ${out}\n`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
