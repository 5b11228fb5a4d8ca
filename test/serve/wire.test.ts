// What a hostile or broken peer can send, over the wire to the real server: 10,000 malformed frames
// of every category (test/support/frames.ts), each from a connection of the role the generator
// names, each answered with an error frame of the category's code; the server stays up and the
// book is unchanged (its hash before and after). Then a consumer that stops reading: disconnected
// with the server's buffer for it bounded, and it resumes with nothing lost.
import { describe, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { generateBook, generatedBookToBook } from '../../src/gen/generate.js';
import { CLOSE_BACKPRESSURE } from '../../src/serve/server.js';
import type { Role, ServerMessage } from '../../src/serve/protocol.js';
import { frameBookOf, lottedBook, malformedFrames } from '../support/frames.js';
import { bookHash, Client, startServer, stoppedAfterEach, testConfig, TOKENS } from '../support/serve.js';

const { servers, clients } = stoppedAfterEach();

async function connect(port: number, role: Role): Promise<Client> {
  const client = await Client.connect(port, TOKENS[role]);
  clients.push(client);
  return client;
}

/** Lots of 5, 1 and 25 units, so that sizes off the lot can be sent; the even traders hold an isolated BTC-PERP long. */
function lotted(): Engine {
  return lottedBook(
    '-PERP',
    Array.from({ length: 20 }, (_, a) => ({
      id: `trader-${a}`,
      balance: '1000',
      positions: a % 2 === 0 ? [{ instrument: 'BTC-PERP', size: '0.05', entryPrice: '50000', mode: 'isolated', margin: '100', leverage: '25' }] : [],
    })),
  );
}

describe('the server against malformed input', () => {
  test('10,000 malformed frames from every role: each answered with its error code, nothing changed, the server up', async () => {
    const engine = lotted();
    const s = await startServer(engine);
    servers.push(s);
    const before = bookHash(engine);
    const frames = malformedFrames(20261205, 10_000, frameBookOf(engine));
    const sockets = { publisher: await connect(s.port, 'publisher'), consumer: await connect(s.port, 'consumer'), observer: await connect(s.port, 'observer') };
    const sent = { publisher: [] as string[], consumer: [] as string[], observer: [] as string[] };
    // In rounds, so that no socket holds more than a few megabytes unread.
    for (let start = 0; start < frames.length; start += 500) {
      for (const frame of frames.slice(start, start + 500)) {
        sockets[frame.role].socket.send(frame.bytes, { binary: true });
        sent[frame.role].push(frame.code);
      }
      for (const role of ['publisher', 'consumer', 'observer'] as const) {
        const socket = sockets[role];
        const deadline = Date.now() + 20_000;
        while (socket.received.length < sent[role].length && socket.closed === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
        expect(socket.closed).toBeNull();
      }
    }
    for (const role of ['publisher', 'consumer', 'observer'] as const) {
      const replies = sockets[role].received;
      expect(replies).toHaveLength(sent[role].length);
      replies.forEach((reply: ServerMessage, k) => expect(reply).toMatchObject({ type: 'error', code: sent[role][k] }));
    }
    // A WebSocket text frame (the protocol is binary msgpack), whatever it says.
    const count = sockets.publisher.received.length;
    sockets.publisher.socket.send(JSON.stringify({ v: 1, type: 'ping', id: 1 }));
    while (sockets.publisher.received.length === count) await new Promise((r) => setTimeout(r, 2));
    expect(sockets.publisher.received[count]).toMatchObject({ type: 'error', id: null, code: 'text_frame' });
    expect(bookHash(engine)).toBe(before);
    expect(s.inputs.lastSeq).toBe(0);
    expect(s.orders.lastSeq).toBe(0);
    expect(await (await fetch(`http://127.0.0.1:${s.port}/health`)).json()).toMatchObject({ status: 'ok' });
    // And it still serves: a valid tick is acknowledged.
    sockets.publisher.send({ type: 'ticks', id: 99, ticks: [[0, 500_010, Date.now()]] });
    while (sockets.publisher.received.length === count + 1) await new Promise((r) => setTimeout(r, 2));
    expect(sockets.publisher.received[count + 1]).toEqual({ type: 'ack', id: 99, seq: 1 });
  }, 120_000);

  test('a consumer that stops reading is disconnected with its buffer bounded, and resumes with nothing lost', async () => {
    // Many failing scopes ordered again every 20 ms: a stream of orders a stalled consumer cannot keep up with.
    const engine = Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 4_000, seed: 3, instruments: 4 })));
    const bufferBytes = 64 << 10;
    const s = await startServer(engine, testConfig({ orders: { worstPrice: { kind: 'bankruptcy' }, retryMs: 20 }, consumers: { bufferBytes, heartbeatMs: 50 } }));
    servers.push(s);
    const slow = await connect(s.port, 'consumer');
    slow.send({ type: 'subscribe', id: 1, from: 1 });
    await slow.next();
    const publisher = await connect(s.port, 'publisher');
    publisher.send({ type: 'ticks', id: 1, ticks: [[0, 600_000, Date.now()]] });
    await publisher.next();
    // Read a little, then stop reading.
    while (slow.received.filter((m) => m.type === 'order').length < 10) await slow.next(5_000, () => false).catch(() => undefined);
    slow.socket.pause();
    const deadline = Date.now() + 30_000;
    while (s.lastDisconnect === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(s.lastDisconnect).not.toBeNull();
    // Bounded: what it held when cut is the buffer plus at most one batch of orders (512 of a few hundred bytes).
    expect(s.lastDisconnect!.buffered).toBeLessThanOrEqual(bufferBytes + 512 * 400);
    expect(await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text()).toContain('liq_backpressure_disconnects_total 1');
    slow.socket.resume();
    const closedWith = await new Promise<number>((resolve) => {
      const check = () => (slow.closed !== null ? resolve(slow.closed.code) : setTimeout(check, 10));
      check();
    });
    expect(closedWith).toBe(CLOSE_BACKPRESSURE);
    const read = slow.received.filter((m): m is Extract<ServerMessage, { type: 'order' }> => m.type === 'order').map((m) => m.seq);
    expect(read).toEqual(read.map((_, k) => k + 1));
    // Resume from the next: every order from there on, in order, none missing.
    const back = await connect(s.port, 'consumer');
    back.send({ type: 'subscribe', id: 2, from: read.length + 1 });
    expect(await back.next()).toMatchObject({ type: 'welcome', from: read.length + 1 });
    const target = s.orders.lastSeq;
    const resumed: number[] = [];
    while (resumed.length === 0 || resumed[resumed.length - 1] < target) {
      const m = await back.next(10_000);
      if (m.type === 'order') resumed.push(m.seq);
    }
    expect([...read, ...resumed].slice(0, target)).toEqual(Array.from({ length: target }, (_, k) => k + 1));
  }, 60_000);
});
