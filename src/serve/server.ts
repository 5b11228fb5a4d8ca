// `liq serve`: the live engine on uWebSockets.js (docs/serve.md). Publishers send ticks and account
// updates, consumers (a matching engine) receive sequenced liquidation orders and send back fills,
// observers receive summaries and conflated prices; beside them, HTTP /health, /metrics and
// /accounts/:id. Every accepted input is journaled before it is acknowledged, every order before it
// is sent, so that a restart on the same journal rebuilds the acknowledged state and a consumer
// resumes from its last sequence number with no gap and no duplicate.
import { InputError } from '../io/errors.js';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AnyOperation, RefusalCode } from '../account/operations.js';
import { encodeBookBinary } from '../book/binary.js';
import type { Engine } from '../engine/engine.js';
import { MODE_ISOLATED, STATUS_BANKRUPT, STATUS_HEALTHY } from '../fixed/constants.js';
import type { SweepPool } from '../pool/pool.js';
import { accountDocument } from '../report/evaluation.js';
import { TokenTable, type ServeConfig } from './config.js';
import { Journal } from './journal.js';
import { LiveEngine, type OrderDraft } from './live.js';
import { ServeMetrics } from './metrics.js';
import {
  bookLookup,
  decodeClientMessage,
  decodeServerMessage,
  encodeServerMessage,
  encodeServerMessageShared,
  FRAME_BYTES_MAX,
  type BookLookup,
  type ClientMessage,
  type ErrorCode,
  type FillOperation,
  type Role,
} from './protocol.js';
import type { UwsModule } from './uws.js';
import type { HttpResponse, TemplatedApp, us_listen_socket, us_socket, WebSocket } from 'uWebSockets.js';

/** The journal directory's record of the book it belongs to (a restart on another book is refused). */
export const JOURNAL_META_FILE = 'book.json';
export const JOURNAL_META_VERSION = 1;
/** The lock file of the journal directory: the pid of the server using it. */
export const JOURNAL_LOCK_FILE = 'lock';
/** Input journal records: one byte of kind, then the frame as it arrived. */
const INPUT_TICKS = 1;
const INPUT_UPDATES = 2;
const INPUT_FILL = 3;

/** An input journal record: its kind, then the frame as it arrived (copied out of uWebSockets.js's buffer, which the handler may not keep). */
function inputRecord(kind: number, frame: Uint8Array): Uint8Array {
  const record = new Uint8Array(frame.length + 1);
  record[0] = kind;
  record.set(frame, 1);
  return record;
}
/** Orders a consumer is sent per journal read. */
const CONSUMER_BATCH = 512;
/** A consumer held above half its buffer for this many heartbeats in a row is disconnected. */
const STALLED_HEARTBEATS = 3;
/**
 * The largest frame uWebSockets.js takes before closing the connection: twice the protocol's
 * limit, so that a frame a little over FRAME_BYTES_MAX is answered with a too_large error frame and
 * the connection kept, and only one far over it (a client that is not speaking the protocol) is cut.
 */
export const SOCKET_PAYLOAD_MAX = 2 * FRAME_BYTES_MAX;
/** Close codes (4000-4999 are the application's). */
export const CLOSE_BACKPRESSURE = 4001;
export const CLOSE_SHUTDOWN = 4002;

export class ServeError extends InputError {}

export interface ServerOptions {
  uws: UwsModule;
  engine: Engine;
  pool?: SweepPool;
  config: ServeConfig;
  journalDir: string;
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Identifies the book (a digest of its file, or of the generator's options): the journal is refused on another. */
  bookDigest: string;
  logger: Logger;
  /** The clock (ms). */
  now?: () => number;
}

interface Peer {
  role: Role;
  name: string;
  closed: boolean;
  /** Consumers: the next order seq to send; 0 before subscribing. */
  nextSeq: number;
  subscribed: boolean;
  stalled: number;
}

/** A message queued for the pump; `record` is its input journal record (inputRecord), made as it arrives. */
type Pending =
  | { kind: 'ticks'; peer: Peer; ws: WebSocket<Peer>; id: number; record: Uint8Array; instruments: Uint16Array; prices: BigInt64Array; arrived: number }
  | { kind: 'updates'; peer: Peer; ws: WebSocket<Peer>; id: number; record: Uint8Array; operations: AnyOperation[]; arrived: number }
  | { kind: 'fill'; peer: Peer; ws: WebSocket<Peer>; id: number; record: Uint8Array; order: number; operations: [FillOperation]; arrived: number }
  | { kind: 'task'; run: () => void };

export class LiveServer {
  readonly live: LiveEngine;
  readonly metrics: ServeMetrics;
  readonly inputs: Journal;
  readonly orders: Journal;
  private readonly lookup: BookLookup;
  private readonly tokens: TokenTable;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly app: TemplatedApp;
  private listenSocket: us_listen_socket | null = null;
  private readonly peers = new Set<WebSocket<Peer>>();
  private queue: Pending[] = [];
  private pumping = false;
  private idle: Promise<void> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];
  private lastPrices: BigInt64Array;
  private stopping = false;
  private peerCount = 0;
  /** The last consumer disconnected for falling behind: what it had been sent and what its socket held. */
  lastDisconnect: { peer: string; nextSeq: number; buffered: number } | null = null;
  /** Per order seq: the size its accepted fills took (a fill may not take more than is left). */
  private readonly filled = new Map<number, bigint>();
  port = 0;

  private constructor(private readonly options: ServerOptions) {
    const { engine, config } = options;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.live = new LiveEngine(engine, {
      rule: config.liquidation,
      worstPrice: config.orders.worstPrice,
      retryMs: config.orders.retryMs,
      pool: options.pool,
      now: this.now,
      heapEntriesPerAccount: config.evaluation.heapEntriesPerAccount,
    });
    this.lookup = bookLookup(engine);
    this.tokens = new TokenTable(config.tokens);
    this.metrics = new ServeMetrics();
    mkdirSync(options.journalDir, { recursive: true });
    this.unlock = lockJournal(options.journalDir);
    const journal = { dir: options.journalDir, fsync: config.journal.fsync, segmentBytes: config.journal.segmentBytes, retainSegments: config.journal.retainSegments };
    let inputs: Journal | undefined;
    try {
      checkJournalBook(options.journalDir, options.bookDigest, engine.accountCount);
      inputs = Journal.open({ ...journal, name: 'inputs' });
      this.inputs = inputs;
      this.orders = Journal.open({ ...journal, name: 'orders' });
    } catch (error) {
      inputs?.close();
      this.unlock();
      throw error;
    }
    this.lastPrices = engine.views.instMark.slice();
    this.app = options.uws.App();
  }

  /** Opens the journals, rebuilds the acknowledged state from them, evaluates once, and listens. */
  static async start(options: ServerOptions): Promise<LiveServer> {
    const server = new LiveServer(options);
    try {
      await server.recover();
      server.routes();
      await server.listen();
      server.startTimers();
    } catch (error) {
      server.closeJournals();
      throw error;
    }
    return server;
  }

  /** Replays the input journal onto the book, evaluates, and restores which scopes were ordered from the orders journal. */
  private async recover(): Promise<void> {
    const started = performance.now();
    let replayed = 0;
    for (let seq = this.inputs.firstSeq; seq <= this.inputs.lastSeq; ) {
      const records = this.inputs.read(seq, 4096);
      for (const record of records) {
        const kind = record.payload[0];
        const frame = record.payload.subarray(1);
        const role: Role = kind === INPUT_FILL ? 'consumer' : 'publisher';
        const decoded = decodeClientMessage(frame, role, this.lookup);
        if (!decoded.ok) throw new ServeError(`the input journal's record ${record.seq} no longer decodes (${decoded.code}: ${decoded.reason}): the journal is not of this book or of this version`);
        const message = decoded.message;
        if (message.type === 'ticks') {
          const applied = this.live.applyTicks(message.instruments, message.prices, message.count);
          if (!applied.ok) throw new ServeError(`the input journal's record ${record.seq} (ticks) is refused on replay: ${applied.reason}`);
        } else if (message.type === 'updates') this.live.applyOperations(message.operations, record.seq);
        else if (message.type === 'fill') {
          const applied = this.live.applyOperations([message.operation], record.seq);
          if (applied.ok && applied.results[0].ok) this.addFilled(message.order, message.operation);
        }
        replayed++;
      }
      seq = records.length === 0 ? this.inputs.lastSeq + 1 : records[records.length - 1].seq + 1;
    }
    if (this.inputs.firstSeq > 1) throw new ServeError(`the input journal starts at ${this.inputs.firstSeq}: its first records were pruned (journal.retainSegments), so the acknowledged state cannot be rebuilt; keep every input segment`);
    let restored = 0;
    for (let seq = this.orders.firstSeq; seq <= this.orders.lastSeq; ) {
      const records = this.orders.read(seq, 4096);
      for (const record of records) {
        const order = decodeServerMessage(record.payload);
        if (order.type !== 'order') throw new ServeError(`the orders journal's record ${record.seq} is not an order`);
        const [, , version, attempt] = parseKey(order.key);
        const a = this.lookup.accountIndex(order.account);
        const i = this.lookup.indexOfSymbol(order.instrument);
        if (a === undefined || i === undefined) throw new ServeError(`the orders journal's record ${record.seq} names ${order.account} / ${order.instrument}, which the book does not hold`);
        this.live.restoreEmitted(a, i, order.mode === 'isolated', version, Number(order.ts), attempt);
        restored++;
      }
      seq = records.length === 0 ? this.orders.lastSeq + 1 : records[records.length - 1].seq + 1;
    }
    this.metrics.journalSeq.set({ journal: 'inputs' }, this.inputs.lastSeq);
    this.metrics.journalSeq.set({ journal: 'orders' }, this.orders.lastSeq);
    this.logger.info({ replayed, restored, inputs: this.inputs.lastSeq, orders: this.orders.lastSeq, ms: Math.round(performance.now() - started) }, 'recovered from the journal');
    // The first evaluation (a build of the index), through the loop so that its orders go out:
    // the scopes failing now that were not ordered at their version before the restart.
    // (Not awaited: the group commit's timer does not keep a process alive, the listening socket does.)
    this.enqueue({ kind: 'task', run: () => undefined });
  }

  private routes(): void {
    const { config } = this.options;
    this.app.ws<Peer>('/ws', {
      maxPayloadLength: SOCKET_PAYLOAD_MAX,
      // Sends are checked per socket against config.consumers.bufferBytes (never dropped by uWS).
      maxBackpressure: 4 * config.consumers.bufferBytes,
      closeOnBackpressureLimit: 0,
      idleTimeout: 120,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => {
        const header = req.getHeader('authorization');
        const key = req.getHeader('sec-websocket-key');
        const protocol = req.getHeader('sec-websocket-protocol');
        const extensions = req.getHeader('sec-websocket-extensions');
        const token = /^Bearer ([\x21-\x7e]+)$/.exec(header)?.[1];
        const role = token === undefined ? null : this.tokens.roleOf(token);
        if (role === null || this.stopping) {
          this.metrics.refusals.inc({ code: this.stopping ? 'shutting_down' : 'unauthorized' });
          res.writeStatus(this.stopping ? '503 Service Unavailable' : '401 Unauthorized').end(this.stopping ? 'shutting down\n' : token === undefined ? 'a token is required: Authorization: Bearer TOKEN\n' : 'unknown token\n');
          return;
        }
        const peer: Peer = { role, name: `${role}-${++this.peerCount}`, closed: false, nextSeq: 0, subscribed: false, stalled: 0 };
        res.upgrade(peer, key, protocol, extensions, context);
      },
      open: (ws) => {
        this.peers.add(ws);
        this.metrics.connections.inc({ role: ws.getUserData().role });
        this.logger.info({ peer: ws.getUserData().name }, 'connected');
      },
      message: (ws, message, isBinary) => this.onMessage(ws, message, isBinary),
      drain: (ws) => {
        const peer = ws.getUserData();
        if (peer.role === 'consumer' && peer.subscribed) this.pumpConsumer(ws);
      },
      close: (ws, code) => {
        const peer = ws.getUserData();
        peer.closed = true;
        this.peers.delete(ws);
        this.metrics.connections.dec({ role: peer.role });
        this.logger.info({ peer: peer.name, code }, 'disconnected');
      },
    });
    this.app.get('/health', (res) => {
      res.cork(() => {
        res.writeHeader('content-type', 'application/json').end(JSON.stringify({ status: this.stopping ? 'stopping' : 'ok', inputs: this.inputs.lastSeq, orders: this.orders.lastSeq, accounts: this.options.engine.accountCount }));
      });
    });
    this.app.get('/metrics', (res) => {
      let aborted = false;
      res.onAborted(() => (aborted = true));
      void this.metrics.registry.metrics().then((text) => {
        if (!aborted) res.cork(() => res.writeHeader('content-type', this.metrics.registry.contentType).end(text));
      });
    });
    this.app.get('/accounts/:id', (res, req) => {
      const id = decodeURIComponent(req.getParameter(0) ?? '');
      // The account's figures evaluated afresh.
      this.answerWhenIdle(res, () => {
        const a = this.lookup.accountIndex(id);
        const engine = this.options.engine;
        if (a === undefined) return { status: '404 Not Found', body: JSON.stringify({ error: `no account ${JSON.stringify(id)} in the book` }) };
        engine.evaluate({ start: a, end: a + 1 });
        return { body: JSON.stringify(accountDocument(engine, a), null, 2) };
      });
    });
    this.app.get('/book/hash', (res) => {
      // A pass over the book, for audits and the restart tests.
      this.answerWhenIdle(res, () => {
        const sha256 = createHash('sha256').update(encodeBookBinary(this.options.engine)).digest('hex');
        return { body: JSON.stringify({ inputs: this.inputs.lastSeq, orders: this.orders.lastSeq, sha256 }) };
      });
    });
    this.app.any('/*', (res) => {
      res.cork(() => res.writeStatus('404 Not Found').end('not found: GET /health, /metrics, /accounts/:id, /book/hash, or a WebSocket at /ws\n'));
    });
  }

  /** Answers an HTTP request (JSON) from the loop, between evaluations, when the engine is idle; not if the client went away. */
  private answerWhenIdle(res: HttpResponse, answer: () => { status?: string; body: string }): void {
    let aborted = false;
    res.onAborted(() => (aborted = true));
    this.enqueue({
      kind: 'task',
      run: () => {
        if (aborted) return;
        const { status, body } = answer();
        res.cork(() => {
          if (status !== undefined) res.writeStatus(status);
          res.writeHeader('content-type', 'application/json').end(body);
        });
      },
    });
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.app.listen(this.options.host, this.options.port, (socket) => {
        if (socket === false) {
          reject(new ServeError(`cannot listen on ${this.options.host}:${this.options.port} (in use, or not an address of this machine)`));
          return;
        }
        this.listenSocket = socket;
        this.port = this.options.uws.us_socket_local_port(socket as unknown as us_socket);
        resolve();
      });
    });
  }

  private startTimers(): void {
    const { consumers, observers } = this.options.config;
    const every = (ms: number, run: () => void) => {
      const timer = setInterval(run, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(consumers.heartbeatMs, () => this.heartbeat());
    // Orders again for failing scopes not filled within the retry interval: an evaluation (cheap when
    // nothing moved) finds them, when the feed is quiet too.
    const retryMs = this.options.config.orders.retryMs;
    every(Math.max(10, Math.floor(retryMs / 4)), () => {
      if (this.live.failing.size > 0 && !this.pumping) this.enqueue({ kind: 'task', run: () => undefined });
    });
    every(observers.summaryMs, () => this.summary());
    every(observers.pricesMs, () => this.prices());
  }

  // --- messages ---------------------------------------------------------------------------------

  private onMessage(ws: WebSocket<Peer>, message: ArrayBuffer, isBinary: boolean): void {
    const peer = ws.getUserData();
    const arrived = performance.now();
    if (!isBinary) {
      this.refuse(ws, null, 'text_frame', 'frames are binary msgpack (docs/PROTOCOL.md); a text frame was sent');
      return;
    }
    const frame = new Uint8Array(message);
    const decoded = decodeClientMessage(frame, peer.role, this.lookup);
    if (!decoded.ok) {
      this.refuse(ws, decoded.id, decoded.code, decoded.reason);
      return;
    }
    const m: ClientMessage = decoded.message;
    switch (m.type) {
      case 'ticks':
        this.metrics.ticks.inc(m.count);
        // The decoder's arrays are reused by its next call: the queue keeps copies.
        this.enqueue({ kind: 'ticks', peer, ws, id: m.id, record: inputRecord(INPUT_TICKS, frame), instruments: m.instruments.slice(0, m.count), prices: m.prices.slice(0, m.count), arrived });
        return;
      case 'updates':
        this.metrics.updates.inc(m.operations.length);
        this.enqueue({ kind: 'updates', peer, ws, id: m.id, record: inputRecord(INPUT_UPDATES, frame), operations: m.operations, arrived });
        return;
      case 'fill':
        this.metrics.fills.inc();
        this.enqueue({ kind: 'fill', peer, ws, id: m.id, record: inputRecord(INPUT_FILL, frame), order: m.order, operations: [m.operation], arrived });
        return;
      case 'subscribe':
        this.subscribe(ws, m.id, m.from);
        return;
      case 'ping':
        this.send(ws, encodeServerMessageShared({ type: 'ack', id: m.id, seq: this.inputs.lastSeq }));
        return;
    }
  }

  private refuse(ws: WebSocket<Peer>, id: number | null, code: ErrorCode, reason: string): void {
    this.metrics.refusals.inc({ code });
    this.send(ws, encodeServerMessageShared({ type: 'error', id, code, reason }));
  }

  /**
   * Sends one message. uWebSockets.js copies the bytes before send returns, so every message but an
   * order (whose bytes the journal keeps) is encoded into the Encoder's reused buffer
   * (encodeServerMessageShared) and sent at once, to one socket or in a loop with no encode inside.
   */
  private send(ws: WebSocket<Peer>, bytes: Uint8Array): void {
    // A closed uWS socket throws on any call: answers of queued work may find theirs gone.
    if (!this.peers.has(ws) || ws.getUserData().closed) return;
    ws.send(bytes, true, false);
  }

  private subscribe(ws: WebSocket<Peer>, id: number, from: number | null): void {
    const peer = ws.getUserData();
    if (peer.role === 'observer') {
      peer.subscribed = true;
      this.send(ws, encodeServerMessageShared({ type: 'welcome', id, role: peer.role, lastSeq: this.orders.durableSeq }));
      return;
    }
    // 0 (or none): from the next new order, without a replay.
    const start = from === null || from === 0 ? this.orders.lastSeq + 1 : from;
    if (start < this.orders.firstSeq && this.orders.lastSeq > 0) {
      this.refuse(ws, id, 'invalid_field', `from: ${start} is before the first order the journal keeps (${this.orders.firstSeq}; journal.retainSegments)`);
      return;
    }
    if (start > this.orders.lastSeq + 1) {
      this.refuse(ws, id, 'invalid_field', `from: ${start} is past the next order (${this.orders.lastSeq + 1})`);
      return;
    }
    peer.nextSeq = Math.max(start, 1);
    peer.subscribed = true;
    this.send(ws, encodeServerMessageShared({ type: 'welcome', id, role: peer.role, from: peer.nextSeq, lastSeq: this.orders.durableSeq }));
    this.pumpConsumer(ws);
  }

  /**
   * A fill must be of an order this server sent: the same account, instrument and mode, on the
   * order's side, and no more than what is left of it. Null when it is, else the reason.
   */
  private checkFill(seq: number, fill: FillOperation): string | null {
    if (seq < this.orders.firstSeq || seq > this.orders.lastSeq) return `order: ${seq} is not an order of this server (${this.orders.lastSeq === 0 ? 'none sent yet' : `${this.orders.firstSeq} to ${this.orders.lastSeq}`})`;
    const [record] = this.orders.read(seq, 1);
    const order = decodeServerMessage(record.payload);
    if (order.type !== 'order') throw new Error(`the orders journal's record ${seq} is not an order`);
    const engine = this.options.engine;
    const account = engine.accountIds.get(fill.accountIndex);
    if (account !== order.account) return `account: ${JSON.stringify(account)} is not order ${seq}'s account (${JSON.stringify(order.account)})`;
    if (fill.instrument !== order.instrument) return `instrument: ${JSON.stringify(fill.instrument)} is not order ${seq}'s instrument (${JSON.stringify(order.instrument)})`;
    if (fill.mode !== order.mode) return `mode: ${JSON.stringify(fill.mode)} is not order ${seq}'s mode (${JSON.stringify(order.mode)})`;
    const selling = order.side === 'sell';
    if (selling ? fill.sizeUnits >= 0n : fill.sizeUnits <= 0n) return `size: order ${seq} ${order.side}s, so its fills are ${selling ? 'negative' : 'positive'}, got ${fill.sizeUnits}`;
    const left = order.size - (this.filled.get(seq) ?? 0n);
    const size = selling ? -fill.sizeUnits : fill.sizeUnits;
    if (size > left) return `size: ${size} is more than what is left of order ${seq} (${left} of ${order.size})`;
    return null;
  }

  private addFilled(seq: number, fill: FillOperation): void {
    this.filled.set(seq, (this.filled.get(seq) ?? 0n) + (fill.sizeUnits < 0n ? -fill.sizeUnits : fill.sizeUnits));
  }

  // --- the loop ---------------------------------------------------------------------------------

  private enqueue(item: Pending): void {
    this.queue.push(item);
    if (!this.pumping) this.idle = this.pump();
  }

  /** Applies everything queued, in order, then evaluates once; again while more arrived meanwhile. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        let firstTick = Infinity;
        const acks: { ws: WebSocket<Peer>; id: number; seq: number; refused: [number, RefusalCode, string][] }[] = [];
        for (const item of batch) {
          if (item.kind === 'task') {
            item.run();
            continue;
          }
          if (item.kind === 'fill') {
            const wrong = this.checkFill(item.order, item.operations[0]);
            if (wrong !== null) {
              this.refuse(item.ws, item.id, 'invalid_field', wrong);
              continue;
            }
          }
          const seq = this.inputs.lastSeq + 1;
          const applied =
            item.kind === 'ticks' ? this.live.applyTicks(item.instruments, item.prices, item.instruments.length) : this.live.applyOperations(item.operations, seq);
          if (!applied.ok) {
            // Only a tick message is refused whole: a mark the engine takes out of its ranges (its
            // refusal code, out_of_range, is in the reason; the frame's code is the protocol's).
            this.refuse(item.ws, item.id, 'invalid_price', `${applied.reason} (${applied.code})`);
            continue;
          }
          if (this.inputs.append(item.record) !== seq) throw new Error('the input journal skipped a sequence number');
          const refused: [number, RefusalCode, string][] = [];
          applied.results.forEach((result, k) => {
            if (!result.ok) {
              refused.push([k, result.code, result.reason]);
              this.metrics.refusals.inc({ code: result.code });
            }
          });
          acks.push({ ws: item.ws, id: item.id, seq, refused });
          if (item.kind === 'fill' && applied.results[0].ok) this.addFilled(item.order, item.operations[0]);
          if (item.kind === 'ticks' && item.arrived < firstTick) firstTick = item.arrived;
        }
        // Acknowledge once durable; meanwhile evaluate.
        if (acks.length > 0) {
          const last = acks[acks.length - 1].seq;
          this.metrics.journalSeq.set({ journal: 'inputs' }, last);
          void this.inputs.whenDurable(last).then(
            () => {
              for (const ack of acks) this.send(ack.ws, encodeServerMessageShared(ack.refused.length > 0 ? { type: 'ack', id: ack.id, seq: ack.seq, refused: ack.refused } : { type: 'ack', id: ack.id, seq: ack.seq }));
            },
            (error: Error) => this.fatal(error),
          );
        }
        const started = performance.now();
        const { orders } = await this.live.evaluate();
        this.metrics.evaluations.inc();
        this.metrics.evaluationSeconds.observe((performance.now() - started) / 1000);
        if (orders.length > 0) await this.emit(orders, firstTick);
      }
    } catch (error) {
      this.fatal(error as Error);
    } finally {
      this.pumping = false;
    }
  }

  /** Journals the orders, then (once durable) sends them to every subscribed consumer. */
  private async emit(drafts: OrderDraft[], firstTick: number): Promise<void> {
    const payloads = drafts.map((draft, k) =>
      encodeServerMessage({
        type: 'order',
        seq: this.orders.lastSeq + 1 + k,
        key: draft.key,
        account: draft.account,
        instrument: draft.instrument,
        mode: draft.mode,
        side: draft.side,
        size: draft.sizeUnits,
        price: draft.priceUnits,
        reduceOnly: true,
        tif: 'IOC',
        reason: draft.reason,
        ts: draft.ts,
      }),
    );
    const last = this.orders.appendMany(payloads);
    this.metrics.orders.inc(drafts.length);
    this.metrics.journalSeq.set({ journal: 'orders' }, last);
    await this.orders.whenDurable(last);
    for (const ws of this.peers) {
      const peer = ws.getUserData();
      if (peer.role === 'consumer' && peer.subscribed) this.pumpConsumer(ws);
    }
    if (firstTick !== Infinity) this.metrics.tickToOrderSeconds.observe((performance.now() - firstTick) / 1000);
  }

  /** Sends a consumer the durable orders it has not had, from the journal, while its socket has room. */
  private pumpConsumer(ws: WebSocket<Peer>): void {
    const peer = ws.getUserData();
    const limit = this.options.config.consumers.bufferBytes;
    while (!peer.closed && peer.nextSeq <= this.orders.durableSeq) {
      if (ws.getBufferedAmount() > limit / 2) return; // the drain handler calls again
      const records = this.orders.read(peer.nextSeq, CONSUMER_BATCH);
      if (records.length === 0) return;
      ws.cork(() => {
        for (const record of records) ws.send(record.payload, true, false);
      });
      peer.nextSeq = records[records.length - 1].seq + 1;
      if (ws.getBufferedAmount() > limit) {
        this.disconnectSlow(ws);
        return;
      }
    }
  }

  private disconnectSlow(ws: WebSocket<Peer>): void {
    const peer = ws.getUserData();
    this.metrics.backpressureDisconnects.inc();
    this.lastDisconnect = { peer: peer.name, nextSeq: peer.nextSeq, buffered: ws.getBufferedAmount() };
    this.logger.warn({ peer: peer.name, nextSeq: peer.nextSeq, buffered: ws.getBufferedAmount() }, 'a consumer fell behind: disconnected (it resumes from its last sequence number)');
    peer.closed = true;
    ws.end(CLOSE_BACKPRESSURE, 'fell behind: resume with subscribe from your last sequence number + 1');
  }

  private heartbeat(): void {
    const bytes = encodeServerMessageShared({ type: 'heartbeat', seq: this.orders.durableSeq, ts: this.now() });
    const half = this.options.config.consumers.bufferBytes / 2;
    for (const ws of this.peers) {
      const peer = ws.getUserData();
      if (peer.closed || !peer.subscribed) continue;
      if (peer.role === 'observer') {
        if (ws.getBufferedAmount() < half) this.send(ws, bytes);
        continue;
      }
      if (ws.getBufferedAmount() > half) {
        if (++peer.stalled >= STALLED_HEARTBEATS) this.disconnectSlow(ws);
        continue;
      }
      peer.stalled = 0;
      this.send(ws, bytes);
    }
  }

  private summary(): void {
    const v = this.options.engine.views;
    let liquidatable = 0;
    let bankrupt = 0;
    for (const a of this.live.failing) {
      if (v.accStatus[a] !== STATUS_HEALTHY) v.accStatus[a] === STATUS_BANKRUPT ? bankrupt++ : liquidatable++;
      const end = v.accPosStart[a] + v.accPosCount[a];
      for (let j = v.accPosStart[a]; j < end; j++) {
        if (v.posMode[j] !== MODE_ISOLATED || v.posStatus[j] === STATUS_HEALTHY) continue;
        if (v.posStatus[j] === STATUS_BANKRUPT) bankrupt++;
        else liquidatable++;
      }
    }
    const bytes = encodeServerMessageShared({ type: 'summary', ts: this.now(), accounts: this.options.engine.accountCount, liquidatable, bankrupt, orders: this.orders.lastSeq });
    this.toObservers(bytes);
  }

  private prices(): void {
    const engine = this.options.engine;
    const marks = engine.views.instMark;
    const moved: [string, bigint][] = [];
    for (let i = 0; i < marks.length; i++) {
      if (marks[i] !== this.lastPrices[i]) {
        moved.push([engine.instruments[i].symbol, marks[i]]);
        this.lastPrices[i] = marks[i];
      }
    }
    if (moved.length > 0) this.toObservers(encodeServerMessageShared({ type: 'prices', ts: this.now(), marks: moved }));
  }

  private toObservers(bytes: Uint8Array): void {
    for (const ws of this.peers) {
      const peer = ws.getUserData();
      // Conflated: an observer with a backlog misses this one and gets the next.
      if (peer.role === 'observer' && peer.subscribed && ws.getBufferedAmount() < this.options.config.consumers.bufferBytes / 2) this.send(ws, bytes);
    }
  }

  /** A journal that cannot write (or the engine failing) stops the server: it must not acknowledge what it cannot keep. */
  private fatal(error: Error): void {
    this.logger.fatal({ err: error }, 'stopping: the server cannot go on');
    void this.stop(1);
  }

  /** Stops listening, closes every connection and the journals. */
  async stop(exitCode = 0): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    if (this.listenSocket !== null) this.options.uws.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
    for (const ws of [...this.peers]) {
      ws.getUserData().closed = true;
      ws.end(CLOSE_SHUTDOWN, 'the server is stopping');
    }
    await this.idle.catch(() => undefined);
    this.closeJournals();
    this.onStopped?.(exitCode);
  }

  onStopped: ((code: number) => void) | undefined;

  private closeJournals(): void {
    for (const journal of [this.inputs, this.orders]) {
      try {
        journal?.close();
      } catch {
        // closed already, or failed: stopping either way
      }
    }
    this.unlock();
  }

  private readonly unlock: () => void;
}

/** The parts of an order key: account id, scope, the account's version and the attempt. */
function parseKey(key: string): [string, string, number, number] {
  const parts = key.split('/');
  // id / (cross | SYMBOL/isolated) / version / attempt / SYMBOL
  const isolated = parts.length === 6;
  const version = Number(parts[isolated ? 3 : 2]);
  const attempt = Number(parts[isolated ? 4 : 3]);
  if (!Number.isSafeInteger(version) || !Number.isSafeInteger(attempt)) throw new ServeError(`an order key of the journal is malformed: ${JSON.stringify(key)}`);
  return [parts[0], isolated ? `${parts[1]}/isolated` : 'cross', version, attempt];
}

/**
 * One server per journal directory: a lock file holding the owner's pid, made with O_EXCL. A lock
 * whose process is gone (a server killed with SIGKILL) is taken over; one whose process runs is
 * refused. Returns the release.
 */
function lockJournal(dir: string): () => void {
  const path = join(dir, JOURNAL_LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new ServeError(`${path}: cannot lock the journal: ${(error as Error).message.split('\n')[0]}`);
      const owner = Number(readFileSync(path, 'utf8').trim());
      if (Number.isSafeInteger(owner) && owner > 0 && alive(owner)) {
        throw new ServeError(`${dir}: the journal is in use by another liq serve (pid ${owner}); one server per journal`);
      }
      rmSync(path, { force: true }); // stale: its server is gone
    }
  }
  throw new ServeError(`${path}: cannot lock the journal: another process keeps taking it`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Records the journal's book on first use; refuses a journal written for another book. */
function checkJournalBook(dir: string, digest: string, accounts: number): void {
  const path = join(dir, JOURNAL_META_FILE);
  if (existsSync(path)) {
    let meta: { version?: unknown; digest?: unknown; accounts?: unknown };
    try {
      meta = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new ServeError(`${path}: cannot read the journal's book record: ${(error as Error).message.split('\n')[0]}`);
    }
    if (meta.digest !== digest) {
      throw new ServeError(`${dir}: this journal belongs to another book (digest ${String(meta.digest).slice(0, 16)}…, ${String(meta.accounts)} accounts); start with that book, or with a new --journal directory`);
    }
    return;
  }
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, `${JSON.stringify({ version: JOURNAL_META_VERSION, digest, accounts }, null, 2)}\n`);
  renameSync(temporary, path);
}

/** What the server keeps in each journal record of inputs, for tools (documented in docs/serve.md). */
export const INPUT_KINDS = { ticks: INPUT_TICKS, updates: INPUT_UPDATES, fill: INPUT_FILL } as const;
