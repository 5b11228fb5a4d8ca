// The client side of `npm run bench:feed` (bench/feed.ts): a Node process of its own that drives a
// `liq serve` over loopback as its users would, and the frames it sends.
//
// Run by bench/feed.ts through fork() (IPC with the 'advanced' serialization, for bigints); it
// answers each command with its figures:
//   - `ingest`: tick or update frames sent as fast as the server acknowledges them, with at most
//     `window` frames unacknowledged, for `ms`; the units (ticks, operations) of the acked frames,
//     over the time from the first send to the last ack, and each frame's ack time;
//   - `crash`: instrument 0 moved down step by step on a publisher socket, a consumer socket of
//     the same process subscribed from the next order: for each tick, the time from its send to the
//     first order that arrives after it; on several servers at once, tick by tick in turn.
// The frames are pre-encoded here (msgpack written byte by byte, the id a uint 32 at a known offset,
// patched before each send; `ws` copies a frame as it masks it, so the bytes can be reused), so that
// the client spends its core on sending, not on encoding: the machine has two, and the server's
// evaluation pool wants both.
import WebSocket from 'ws';
import { generatedAccountId } from '../src/gen/generate.js';
import { decodeServerMessage, type ServerMessage } from '../src/serve/protocol.js';
import { prng } from './workload.js';

/** Ticks per frame, and operations per `updates` frame: drawn uniformly in these ranges. */
export const TICKS_PER_FRAME = [1_000, 4_096] as const;
export const OPS_PER_FRAME = [1_000, 4_096] as const;
/** A normal market: every mark stays within ±BAND_PPM of the book's, each tick a step of up to ±STEP_PPM. */
export const BAND_PPM = 500;
const STEP_PPM = 50;
/** Share of an `updates` frame's operations that are withdrawals (the others deposits), unless the run sets another (`--withdraw-share`). */
export const WITHDRAW_SHARE = 0.1;

export interface TickBatch {
  instruments: Uint16Array;
  prices: BigInt64Array;
  count: number;
  frame: Uint8Array;
  /** Offset of the id's 4 bytes (a msgpack uint 32) in `frame`. */
  idAt: number;
}

export type DepositOrWithdraw = { kind: 'deposit'; accountIndex: number; amountMicro: bigint } | { kind: 'withdraw'; accountIndex: number; amountMicro: bigint };

export interface UpdateBatch {
  operations: DepositOrWithdraw[];
  count: number;
  frame: Uint8Array;
  idAt: number;
}

// ---------------------------------------------------------------------------------------------
// msgpack, written directly (strings are ASCII here)

class Writer {
  private bytes = new Uint8Array(1 << 16);
  private view = new DataView(this.bytes.buffer);
  at = 0;

  private room(n: number): void {
    if (this.at + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.at + n));
    grown.set(this.bytes.subarray(0, this.at));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  byte(b: number): this {
    this.room(1);
    this.bytes[this.at++] = b;
    return this;
  }

  map(n: number): this {
    if (n >= 16) throw new RangeError('maps here have fewer than 16 keys');
    return this.byte(0x80 | n);
  }

  array(n: number): this {
    if (n < 16) return this.byte(0x90 | n);
    this.room(3);
    this.bytes[this.at] = 0xdc;
    this.view.setUint16(this.at + 1, n);
    this.at += 3;
    return this;
  }

  str(s: string): this {
    if (s.length >= 32) throw new RangeError('strings here are shorter than 32 bytes');
    this.room(1 + s.length);
    this.bytes[this.at++] = 0xa0 | s.length;
    for (let k = 0; k < s.length; k++) this.bytes[this.at++] = s.charCodeAt(k);
    return this;
  }

  /** A non-negative integer in its smallest encoding. */
  uint(v: number | bigint): this {
    if (typeof v === 'number' && v < 0x1_0000_0000) {
      this.room(5);
      if (v < 0x80) this.bytes[this.at++] = v;
      else if (v < 0x100) {
        this.bytes[this.at++] = 0xcc;
        this.bytes[this.at++] = v;
      } else if (v < 0x1_0000) {
        this.bytes[this.at] = 0xcd;
        this.view.setUint16(this.at + 1, v);
        this.at += 3;
      } else {
        this.bytes[this.at] = 0xce;
        this.view.setUint32(this.at + 1, v);
        this.at += 5;
      }
      return this;
    }
    const big = BigInt(v);
    if (big < 0x1_0000_0000n) return this.uint(Number(big));
    this.room(9);
    this.bytes[this.at] = 0xcf;
    this.view.setBigUint64(this.at + 1, big);
    this.at += 9;
    return this;
  }

  /** A uint 32 whatever its value (an id patched later); returns the offset of its 4 bytes. */
  u32(v: number): number {
    this.room(5);
    this.bytes[this.at] = 0xce;
    this.view.setUint32(this.at + 1, v);
    this.at += 5;
    return this.at - 4;
  }

  done(): Uint8Array {
    const out = this.bytes.slice(0, this.at);
    this.at = 0;
    return out;
  }
}

/** The frame's header: { v: 1, type, id: <uint 32>, <key>: <array header> }; returns the id's offset. */
function header(w: Writer, type: string, key: string, length: number): number {
  w.map(4).str('v').uint(1).str('type').str(type).str('id');
  const idAt = w.u32(0);
  w.str(key).array(length);
  return idAt;
}

/** Sets a frame's id in place. */
export function setFrameId(frame: Uint8Array, idAt: number, id: number): void {
  frame[idAt] = id >>> 24;
  frame[idAt + 1] = (id >>> 16) & 0xff;
  frame[idAt + 2] = (id >>> 8) & 0xff;
  frame[idAt + 3] = id & 0xff;
}

/**
 * `count` tick frames of a normal market: each of 1,000 to 4,096 ticks, each tick an instrument
 * drawn uniformly (by index) whose mark walks by up to ±0.005% a tick within ±0.05% of the book's
 * mark. Deterministic for a seed.
 */
export function tickBatches(marks: readonly bigint[], count: number, seed: number, ts = Date.now()): TickBatch[] {
  const random = prng(seed);
  const instrumentCount = marks.length;
  const offsets = new Int32Array(instrumentCount);
  const w = new Writer();
  const out: TickBatch[] = [];
  for (let f = 0; f < count; f++) {
    const n = TICKS_PER_FRAME[0] + Math.floor(random() * (TICKS_PER_FRAME[1] - TICKS_PER_FRAME[0] + 1));
    const instruments = new Uint16Array(n);
    const prices = new BigInt64Array(n);
    const idAt = header(w, 'ticks', 'ticks', n);
    for (let k = 0; k < n; k++) {
      const i = Math.floor(random() * instrumentCount);
      const offset = Math.max(-BAND_PPM, Math.min(BAND_PPM, offsets[i] + Math.round((random() * 2 - 1) * STEP_PPM)));
      offsets[i] = offset;
      let price = (marks[i] * BigInt(1_000_000 + offset)) / 1_000_000n;
      if (price < 1n) price = 1n;
      instruments[k] = i;
      prices[k] = price;
      w.array(3).uint(i).uint(price).uint(ts);
    }
    out.push({ instruments, prices, count: n, frame: w.done(), idAt });
  }
  return out;
}

/** One tick frame of one instrument (the crash path). */
export function singleTickFrame(instrument: number, price: bigint, id: number): Uint8Array {
  const w = new Writer();
  const idAt = header(w, 'ticks', 'ticks', 1);
  w.array(3).uint(instrument).uint(price).uint(Date.now());
  const frame = w.done();
  setFrameId(frame, idAt, id);
  return frame;
}

/**
 * `count` update frames: each of 1,000 to 4,096 operations on accounts drawn uniformly (by id), 90%
 * deposits of 1 to 1,000 quote, 10% withdrawals of 1 to 50 quote (the engine refuses those the
 * account's free collateral does not cover: they are in the ack's `refused`).
 */
export function updateBatches(accounts: number, count: number, seed: number, withdrawShare = WITHDRAW_SHARE): UpdateBatch[] {
  const random = prng(seed);
  const w = new Writer();
  const out: UpdateBatch[] = [];
  for (let f = 0; f < count; f++) {
    const n = OPS_PER_FRAME[0] + Math.floor(random() * (OPS_PER_FRAME[1] - OPS_PER_FRAME[0] + 1));
    const operations: DepositOrWithdraw[] = new Array(n);
    const idAt = header(w, 'updates', 'ops', n);
    for (let k = 0; k < n; k++) {
      const a = Math.floor(random() * accounts);
      const withdraw = random() < withdrawShare;
      const quote = withdraw ? 1 + Math.floor(random() * 50) : 1 + Math.floor(random() * 1_000);
      const amount = quote * 1_000_000;
      operations[k] = withdraw ? { kind: 'withdraw', accountIndex: a, amountMicro: BigInt(amount) } : { kind: 'deposit', accountIndex: a, amountMicro: BigInt(amount) };
      w.map(3).str('op').str(withdraw ? 'withdraw' : 'deposit').str('account').str(generatedAccountId(a)).str('amount').uint(amount);
    }
    out.push({ operations, count: n, frame: w.done(), idAt });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The child process

export type ClientCommand =
  | { cmd: 'init'; url: string; http: string; tokens: { publisher: string; consumer: string }; marks: bigint[]; accounts: number; tickFrames: number; updateFrames: number; seed: number; withdrawShare: number }
  | { cmd: 'ingest'; kind: 'ticks' | 'updates'; ms: number; window: number }
  | { cmd: 'crash'; servers: { url: string; http: string }[]; ticks: number; stepPpm: number; quietMs: number; instrument: number }
  | { cmd: 'exit' };

export interface IngestFigures {
  kind: 'ticks' | 'updates';
  /** Ticks or operations in the frames acked. */
  units: number;
  frames: number;
  /** From the first send to the last ack. */
  elapsedMs: number;
  /** Operations the engine refused (in acks' `refused`); error answers (whole frames refused). */
  refusedOps: number;
  errors: number;
  firstError: string | null;
  /** Each acked frame's time from its send to its ack, ms. */
  ackMs: number[];
  /** CPU time of this process (user and system) over the run, ms. */
  cpuMs: number;
}

export interface CrashFigures {
  ticks: number;
  ticksWithOrders: number;
  orders: number;
  /** Per tick with orders: from its send to its first order's arrival, ms. */
  latencyMs: number[];
  /** Per tick: from its send to its ack, ms. */
  ackMs: number[];
  /** Orders that arrived after their tick's window had closed (attributed to no tick; expected 0). */
  stragglers: number;
  firstSeq: number;
  lastPrice: string;
}

export type ClientReply = { type: 'ready' } | { type: 'ingest'; figures: IngestFigures } | { type: 'crash'; figures: CrashFigures[] } | { type: 'failed'; error: string };

const ID_SLOTS = 1 << 12;

class Socket {
  private handler: ((message: ServerMessage, at: number) => void) | null = null;
  closed: string | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const at = performance.now();
      const message = decodeServerMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      this.handler?.(message, at);
      wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = `closed: ${code} ${reason.toString()}`;
    });
  }

  static open(url: string, token: string): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
      ws.once('open', () => resolve(new Socket(ws)));
      ws.once('unexpected-response', (_request, response) => reject(new Error(`the server refused the connection: ${response.statusCode}`)));
      ws.once('error', reject);
    });
  }

  on(handler: ((message: ServerMessage, at: number) => void) | null): void {
    this.handler = handler;
  }

  send(bytes: Uint8Array): void {
    this.ws.send(bytes, { binary: true });
  }
}

interface State {
  url: string;
  http: string;
  tokens: { publisher: string; consumer: string };
  marks: bigint[];
  ticks: TickBatch[];
  updates: UpdateBatch[];
  publisher: Socket;
  nextId: number;
}

let state: State | null = null;

async function init(command: Extract<ClientCommand, { cmd: 'init' }>): Promise<void> {
  const publisher = await Socket.open(command.url, command.tokens.publisher);
  state = {
    url: command.url,
    http: command.http,
    tokens: command.tokens,
    marks: command.marks,
    ticks: tickBatches(command.marks, command.tickFrames, command.seed),
    updates: updateBatches(command.accounts, command.updateFrames, command.seed + 1, command.withdrawShare),
    publisher,
    nextId: 1,
  };
}

function ingest(kind: 'ticks' | 'updates', ms: number, window: number): Promise<IngestFigures> {
  const s = state!;
  const ring: (TickBatch | UpdateBatch)[] = kind === 'ticks' ? s.ticks : s.updates;
  const units = new Int32Array(ID_SLOTS);
  const sentAt = new Float64Array(ID_SLOTS);
  const figures: IngestFigures = { kind, units: 0, frames: 0, elapsedMs: 0, refusedOps: 0, errors: 0, firstError: null, ackMs: [], cpuMs: 0 };
  const cpu = process.cpuUsage();
  let next = Math.floor(s.nextId % ring.length);
  let outstanding = 0;
  let stopping = false;
  const started = performance.now();
  const deadline = started + ms;
  return new Promise((resolve, reject) => {
    const fill = () => {
      while (outstanding < window) {
        const batch = ring[next];
        next = next + 1 === ring.length ? 0 : next + 1;
        const id = s.nextId++ >>> 0;
        setFrameId(batch.frame, batch.idAt, id);
        units[id % ID_SLOTS] = batch.count;
        sentAt[id % ID_SLOTS] = performance.now();
        s.publisher.send(batch.frame);
        outstanding++;
      }
    };
    s.publisher.on((message, at) => {
      if (message.type === 'ack') {
        const slot = message.id % ID_SLOTS;
        figures.units += units[slot];
        figures.frames++;
        figures.ackMs.push(at - sentAt[slot]);
        if (message.refused !== undefined) figures.refusedOps += message.refused.length;
      } else if (message.type === 'error') {
        figures.errors++;
        figures.firstError ??= `${message.code}: ${message.reason}`;
      } else return;
      outstanding--;
      if (!stopping && at >= deadline) stopping = true;
      if (!stopping) fill();
      else if (outstanding === 0) {
        figures.elapsedMs = at - started;
        const used = process.cpuUsage(cpu);
        figures.cpuMs = (used.user + used.system) / 1000;
        s.publisher.on(null);
        resolve(figures);
      }
    });
    const watchdog = setInterval(() => {
      if (s.publisher.closed !== null) {
        clearInterval(watchdog);
        reject(new Error(`the publisher's socket ${s.publisher.closed}`));
      }
    }, 100);
    watchdog.unref();
    fill();
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Checks of the pending waits, run after every message of any socket. */
const waiters = new Set<() => void>();
/** A crash tick's first order is waited for this long before the barrier (a tick may make none). */
const FIRST_ORDER_WAIT_MS = 50;

function wake(): void {
  for (const check of [...waiters]) check();
}

/** Resolves once `done` says so (checked after each message received), or fails after `ms`. */
function until(what: string, ms: number, done: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    if (done()) {
      resolve();
      return;
    }
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(`no ${what} within ${ms} ms`));
    }, ms);
    const check = () => {
      if (!done()) return;
      clearTimeout(timer);
      waiters.delete(check);
      resolve();
    };
    waiters.add(check);
  });
}

/** One server of the crash path: its sockets and what arrived. */
class CrashTarget {
  readonly arrivals: number[] = [];
  acked = -1;
  ackAt = 0;
  refused: string | null = null;
  /** Arrivals counted when the previous tick's window closed. */
  closedAt = 0;
  readonly figures: CrashFigures;

  private constructor(
    readonly url: string,
    readonly http: string,
    readonly publisher: Socket,
    readonly consumer: Socket,
    ticks: number,
    from: number,
  ) {
    this.figures = { ticks, ticksWithOrders: 0, orders: 0, latencyMs: [], ackMs: [], stragglers: 0, firstSeq: from, lastPrice: '' };
  }

  static async open(url: string, http: string, tokens: State['tokens'], ticks: number): Promise<CrashTarget> {
    // After the server's first evaluation and the orders it made (the scopes failing at the book's
    // own marks): a barrier answered from its queue, then the orders it has. Those orders are not
    // the crash's (a subscription from before them counted them, and their arrival as the first
    // tick's order).
    await (await fetch(`${http}/accounts/feed-barrier`)).text();
    const health = (await (await fetch(`${http}/health`)).json()) as { orders: number };
    const from = health.orders + 1;
    const publisher = await Socket.open(url, tokens.publisher);
    const consumer = await Socket.open(url, tokens.consumer);
    const target = new CrashTarget(url, http, publisher, consumer, ticks, from);
    let welcome = false;
    consumer.on((message, at) => {
      if (message.type === 'welcome') welcome = true;
      else if (message.type === 'order') target.arrivals.push(at);
    });
    consumer.send(singleSubscribe(from));
    await until('welcome', 10_000, () => welcome);
    publisher.on((message, at) => {
      if (message.type === 'ack') {
        target.acked = message.id;
        target.ackAt = at;
      } else if (message.type === 'error') target.refused = `a crash tick was refused: ${message.code}: ${message.reason}`;
    });
    return target;
  }

  /** One tick: sent, acked, then the barrier and the quiet period; its first order's latency. */
  async tick(instrument: number, price: bigint, id: number, quietMs: number): Promise<void> {
    const f = this.figures;
    const frame = singleTickFrame(instrument, price, id);
    f.stragglers += this.arrivals.length - this.closedAt;
    const before = this.arrivals.length;
    const sent = performance.now();
    this.publisher.send(frame);
    await until('ack', 10_000, () => this.acked === id || this.refused !== null);
    if (this.refused !== null) throw new Error(this.refused);
    f.ackMs.push(this.ackAt - sent);
    // Idle until the tick's first order (or FIRST_ORDER_WAIT_MS: a tick may make none), so that this
    // process's own work (the barrier's HTTP request) does not share the cores with the server while
    // the latency is measured; then a barrier: GET /accounts/:id is answered from the server's
    // queue, after the evaluation and the orders of every message queued before it; then a short
    // quiet period for the orders in flight on the other socket.
    await until('first order', FIRST_ORDER_WAIT_MS, () => this.arrivals.length > before).catch(() => undefined);
    await (await fetch(`${this.http}/accounts/feed-barrier`)).arrayBuffer();
    await sleep(quietMs);
    this.closedAt = this.arrivals.length;
    if (this.closedAt > before) {
      f.ticksWithOrders++;
      f.orders += this.closedAt - before;
      f.latencyMs.push(this.arrivals[before] - sent);
    }
  }

  close(): void {
    this.figures.stragglers += this.arrivals.length - this.closedAt;
    this.publisher.on(null);
    this.consumer.on(null);
    this.publisher.ws.close();
    this.consumer.ws.close();
  }
}

/**
 * The crash path on each server given (fresh servers of the same book, differing in their fsync
 * policy), interleaved: each tick goes to every server in turn, the turn's order alternating, so
 * that they are compared at the same moments of a noisy machine.
 */
async function crash(servers: { url: string; http: string }[], ticks: number, stepPpm: number, quietMs: number, instrument: number): Promise<CrashFigures[]> {
  const s = state!;
  const targets: CrashTarget[] = [];
  for (const server of servers) targets.push(await CrashTarget.open(server.url, server.http, s.tokens, ticks));
  let price = s.marks[instrument];
  for (let k = 0; k < ticks; k++) {
    price = (price * BigInt(1_000_000 - stepPpm)) / 1_000_000n;
    const id = s.nextId++ >>> 0;
    const order = k % 2 === 0 ? targets : [...targets].reverse();
    for (const target of order) await target.tick(instrument, price, id, quietMs);
  }
  await sleep(50);
  for (const target of targets) {
    target.close();
    target.figures.lastPrice = price.toString();
  }
  return targets.map((target) => target.figures);
}

function singleSubscribe(from: number): Uint8Array {
  const w = new Writer();
  w.map(4).str('v').uint(1).str('type').str('subscribe').str('id').uint(1).str('from').uint(from);
  return w.done();
}

async function onCommand(command: ClientCommand): Promise<ClientReply | null> {
  switch (command.cmd) {
    case 'init':
      await init(command);
      return { type: 'ready' };
    case 'ingest':
      return { type: 'ingest', figures: await ingest(command.kind, command.ms, command.window) };
    case 'crash':
      return { type: 'crash', figures: await crash(command.servers, command.ticks, command.stepPpm, command.quietMs, command.instrument) };
    case 'exit':
      state?.publisher.ws.close();
      process.disconnect?.();
      return null;
  }
}

if (process.send !== undefined && process.argv.includes('--feed-client')) {
  process.on('message', (command: ClientCommand) => {
    onCommand(command).then(
      (reply) => {
        if (reply !== null) process.send!(reply);
      },
      (error: Error) => process.send!({ type: 'failed', error: error.stack ?? error.message } satisfies ClientReply),
    );
  });
}
