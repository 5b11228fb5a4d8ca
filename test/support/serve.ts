// The live server in tests: started in this process on a small book (port 0, a temporary journal,
// silent logs), and WebSocket clients (`ws`) that queue what they receive.
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import { encodeBookBinary } from '../../src/book/binary.js';
import type { Engine } from '../../src/engine/engine.js';
import { encodeClientFrame, type ClientFrame } from '../../src/serve/client.js';
import { DEFAULT_CONFIG, type ServeConfig } from '../../src/serve/config.js';
import { decodeServerMessage, type ServerMessage } from '../../src/serve/protocol.js';
import { LiveServer } from '../../src/serve/server.js';
import { loadNativeUws } from '../../src/serve/uws.js';

export const TOKENS = {
  publisher: 'publisher-token-for-tests-0001',
  consumer: 'consumer-token-for-tests-0001',
  observer: 'observer-token-for-tests-0001',
} as const;

export function testConfig(overrides: Partial<Omit<ServeConfig, 'tokens' | 'generatedTokens'>> = {}): ServeConfig {
  return {
    tokens: { publisher: [TOKENS.publisher], consumer: [TOKENS.consumer], observer: [TOKENS.observer] },
    generatedTokens: false,
    ...structuredClone(DEFAULT_CONFIG),
    journal: { fsync: { mode: 'none' }, segmentBytes: 1 << 20, retainSegments: 0 },
    log: { level: 'silent' },
    ...overrides,
  };
}

export async function startServer(engine: Engine, config: ServeConfig = testConfig(), journalDir = mkdtempSync(join(tmpdir(), 'liq-serve-')), bookDigest = 'test-book'): Promise<LiveServer> {
  return LiveServer.start({
    uws: loadNativeUws(),
    engine,
    config,
    journalDir,
    host: '127.0.0.1',
    port: 0,
    bookDigest,
    logger: pino({ level: 'silent' }),
  });
}

/** SHA-256 of the book's binary encoding: its columns, the state a restart must rebuild. */
/**
 * The servers and clients a test file starts (it pushes them), closed and stopped after each of its
 * tests: call once at the file's top level.
 */
export function stoppedAfterEach(): { servers: LiveServer[]; clients: Client[] } {
  const started = { servers: [] as LiveServer[], clients: [] as Client[] };
  afterEach(async () => {
    for (const client of started.clients.splice(0)) await client.close();
    for (const server of started.servers.splice(0)) await server.stop();
  });
  return started;
}

export function bookHash(engine: Engine): string {
  return createHash('sha256').update(encodeBookBinary(engine)).digest('hex');
}

/** A WebSocket client that keeps every message it receives, decoded, for `next` to take in order. */
export class Client {
  readonly received: ServerMessage[] = [];
  private taken = 0;
  private waiters: (() => void)[] = [];
  closed: { code: number; reason: string } | null = null;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      this.received.push(decodeServerMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
      this.wake();
    });
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  static connect(port: number, token: string | null): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });
      socket.once('open', () => resolve(new Client(socket)));
      socket.once('unexpected-response', (_request, response) => reject(new Error(`refused: ${response.statusCode}`)));
      socket.once('error', reject);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  send(frame: ClientFrame | Uint8Array): void {
    this.socket.send(frame instanceof Uint8Array ? frame : encodeClientFrame(frame), { binary: true });
  }

  /** The next message (skipping heartbeats, summaries and prices unless asked for), waiting up to `ms`. */
  async next(ms = 5_000, keep: (message: ServerMessage) => boolean = (m) => m.type !== 'heartbeat' && m.type !== 'summary' && m.type !== 'prices'): Promise<ServerMessage> {
    const deadline = Date.now() + ms;
    for (;;) {
      while (this.taken < this.received.length) {
        const message = this.received[this.taken++];
        if (keep(message)) return message;
      }
      if (this.closed !== null) throw new Error(`closed (${this.closed.code} ${this.closed.reason}) while waiting`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Every message kept that arrives within the next `ms`. */
  async collect(ms: number): Promise<ServerMessage[]> {
    const out: ServerMessage[] = [];
    const until = Date.now() + ms;
    for (;;) {
      const left = until - Date.now();
      if (left <= 0) return out;
      try {
        out.push(await this.next(left));
      } catch (error) {
        if (this.closed !== null) throw error;
        return out;
      }
    }
  }

  close(): Promise<void> {
    if (this.closed !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}
