// The live server end to end: the real uWebSockets.js server in this process, `ws` clients, a small
// hand-made book whose orders are worked out by hand (BTC: tick 0.1, lot 0.001, so price units are
// tenths and size units thousandths; maintenance 0.5% below a notional of 250,000).
import { describe, expect, test } from 'vitest';
import { engineWith } from '../support/sim.js';
import { bookHash, Client, startServer, stoppedAfterEach, testConfig, TOKENS } from '../support/serve.js';
import type { ServerMessage } from '../../src/serve/protocol.js';
import { runCli } from '../support/cli.js';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const M = 1_000_000n;
const isolatedLong = { instrument: 'BTC', size: '1', entryPrice: '50000', mode: 'isolated', margin: '1000', leverage: '50' };
/**
 * alice and carol: an isolated long of 1 BTC from 50,000 with 1,000 of margin: liquidatable below
 * 49,246.23 (1,000 + P − 50,000 < 0.005·P), bankrupt below 49,000. bob: the same long in cross with
 * a wallet of 2,000: at 49,200 his equity is 1,200 against a maintenance of 246.
 */
function book() {
  return engineWith([
    { id: 'alice', balance: '0', positions: [isolatedLong] },
    { id: 'bob', balance: '2000', positions: [{ instrument: 'BTC', size: '1', entryPrice: '50000', mode: 'cross', leverage: '50' }] },
    { id: 'carol', balance: '0', positions: [isolatedLong] },
    { id: 'dave', balance: '100000', positions: [] },
  ]);
}

const { servers, clients } = stoppedAfterEach();

async function server(config = testConfig()) {
  const started = await startServer(book(), config);
  servers.push(started);
  return started;
}

async function connect(port: number, token: string | null) {
  const client = await Client.connect(port, token);
  clients.push(client);
  return client;
}

type Order = Extract<ServerMessage, { type: 'order' }>;
const orders = (messages: ServerMessage[]) => messages.filter((m): m is Order => m.type === 'order');
const fields = (o: Order) => [o.seq, o.key, o.account, o.instrument, o.mode, o.side, o.size, o.price, o.reduceOnly, o.tif, o.reason];

describe('liq serve end to end', () => {
  test('a tick and an update move accounts into liquidation; orders arrive in sequence with the documented fields; a fill closes its scope and no second order is sent for it', async () => {
    const s = await server(testConfig({ liquidation: { mode: 'full', bufferPpm: 0n, feePpm: 0n }, orders: { worstPrice: { kind: 'bankruptcy' }, retryMs: 400 } }));
    const consumer = await connect(s.port, TOKENS.consumer);
    consumer.send({ type: 'subscribe', id: 1, from: 1 });
    expect(await consumer.next()).toEqual({ type: 'welcome', id: 1, role: 'consumer', from: 1, lastSeq: 0 });
    const publisher = await connect(s.port, TOKENS.publisher);

    // BTC to 49,200.0: alice and carol are liquidatable; each order sells the whole long (full
    // liquidation) no lower than its bankruptcy price, 49,000.0.
    publisher.send({ type: 'ticks', id: 7, ticks: [[0, 492_000, Date.now()]] });
    expect(await publisher.next()).toEqual({ type: 'ack', id: 7, seq: 1 });
    const first = [await consumer.next(), await consumer.next()] as Order[];
    expect(first.map(fields)).toEqual([
      [1, 'alice/BTC/isolated/0/0/BTC', 'alice', 'BTC', 'isolated', 'sell', 1000n, 490_000n, true, 'IOC', 'liquidatable'],
      [2, 'carol/BTC/isolated/0/0/BTC', 'carol', 'BTC', 'isolated', 'sell', 1000n, 490_000n, true, 'IOC', 'liquidatable'],
    ]);
    expect(typeof first[0].ts).toBe('number');

    // A charge of 1,000 takes bob's cross equity to 200, below his maintenance of 246: an order for
    // his cross pool, no lower than the price that leaves it at zero, 49,000.0.
    publisher.send({ type: 'updates', id: 8, ops: [{ op: 'charge', account: 'bob', amount: 1_000n * M }] });
    expect(await publisher.next()).toEqual({ type: 'ack', id: 8, seq: 2 });
    expect(fields((await consumer.next()) as Order)).toEqual([3, 'bob/cross/2/0/BTC', 'bob', 'BTC', 'cross', 'sell', 1000n, 490_000n, true, 'IOC', 'liquidatable']);

    // The consumer fills alice's order: her position closes; carol and bob, unfilled, are ordered
    // again after the retry interval (attempt 1); alice is not.
    consumer.send({ type: 'fill', id: 9, order: 1, account: 'alice', instrument: 'BTC', mode: 'isolated', size: -1000, price: 492_000 });
    expect(await consumer.next()).toEqual({ type: 'ack', id: 9, seq: 3 });
    const later: Order[] = [];
    const retried = () => ['carol/BTC/isolated/0/1/BTC', 'bob/cross/2/1/BTC'].every((key) => later.some((o) => o.key === key));
    while (!retried()) later.push(...orders([await consumer.next(10_000)]));
    later.push(...orders(await consumer.collect(300)));
    expect(later.some((o) => o.account === 'alice')).toBe(false);
    expect(later.map((o) => o.seq)).toEqual(later.map((_, k) => 4 + k));
    const v = s.live.engine.views;
    expect(v.accPosCount[0] === 0 || v.posSize[v.accPosStart[0]] === 0n).toBe(true);
  });

  test('a fill must be of an order sent: its account, instrument, mode and side, and no more than is left of it; a refused fill changes nothing', async () => {
    const s = await server(testConfig({ liquidation: { mode: 'full', bufferPpm: 0n, feePpm: 0n } }));
    const consumer = await connect(s.port, TOKENS.consumer);
    consumer.send({ type: 'subscribe', id: 1, from: 1 });
    await consumer.next();
    const publisher = await connect(s.port, TOKENS.publisher);
    publisher.send({ type: 'ticks', id: 1, ticks: [[0, 492_000, Date.now()]] });
    await publisher.next();
    await consumer.next();
    await consumer.next();
    const before = bookHash(s.live.engine);
    const fill = { type: 'fill' as const, account: 'alice', instrument: 'BTC', mode: 'isolated' as const, size: -1000, price: 492_000 };
    const refusals: [object, string][] = [
      [{ ...fill, id: 2, order: 9 }, 'order: 9 is not an order of this server (1 to 2)'],
      [{ ...fill, id: 3, order: 1, account: 'carol' }, 'account: "carol" is not order 1\'s account ("alice")'],
      [{ ...fill, id: 4, order: 1, mode: 'cross' }, 'mode: "cross" is not order 1\'s mode ("isolated")'],
      [{ ...fill, id: 5, order: 1, size: 1000 }, 'size: order 1 sells, so its fills are negative, got 1000'],
      [{ ...fill, id: 6, order: 1, size: -1001 }, 'size: 1001 is more than what is left of order 1 (1000 of 1000)'],
    ];
    for (const [frame, reason] of refusals) {
      consumer.send(frame as never);
      expect(await consumer.next()).toEqual({ type: 'error', id: (frame as { id: number }).id, code: 'invalid_field', reason });
    }
    expect(bookHash(s.live.engine)).toBe(before);
    consumer.send({ ...fill, id: 7, order: 1, size: -400 });
    expect(await consumer.next()).toEqual({ type: 'ack', id: 7, seq: 2 });
    consumer.send({ ...fill, id: 8, order: 1, size: -700 });
    expect(await consumer.next()).toEqual({ type: 'error', id: 8, code: 'invalid_field', reason: 'size: 700 is more than what is left of order 1 (600 of 1000)' });
  });

  test('liq tail prints the orders from a sequence number, as text or JSON lines; a bad token or server is one line and exit 1', async () => {
    const s = await server(testConfig({ liquidation: { mode: 'full', bufferPpm: 0n, feePpm: 0n } }));
    const publisher = await connect(s.port, TOKENS.publisher);
    publisher.send({ type: 'ticks', id: 1, ticks: [[0, 492_000, Date.now()]] });
    await publisher.next();
    const url = `ws://127.0.0.1:${s.port}/ws`;
    const text = await runCli(['tail', '--url', url, '--from', '1', '--count', '2', '--token', TOKENS.consumer]);
    expect(text.code).toBe(0);
    expect(text.stdout).toBe(
      '#1  sell 1000 BTC @ 490000  alice isolated liquidatable  alice/BTC/isolated/0/0/BTC\n#2  sell 1000 BTC @ 490000  carol isolated liquidatable  carol/BTC/isolated/0/0/BTC\n',
    );
    expect(text.stderr).toBe('liq tail: subscribed from 1; the last order is 2\n');
    const one = await runCli(['tail', '--url', url, '--from', '1', '--count', '1', '--token', TOKENS.consumer]);
    expect(one.stdout.split('\n')).toHaveLength(2); // --count 1: one line, though more orders follow
    const json = await runCli(['tail', '--url', url, '--from', '2', '--count', '1', '--json', '--token', TOKENS.consumer]);
    expect(JSON.parse(json.stdout)).toMatchObject({ type: 'order', seq: 2, account: 'carol', size: '1000', price: '490000' });
    const wrong = await runCli(['tail', '--url', url, '--token', 'not-a-token-of-this-server']);
    expect([wrong.code, wrong.stderr]).toEqual([1, `liq tail: ${url}: the server refused the connection: 401 Unauthorized\n`]);
    const none = await runCli(['tail', '--url', url]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^liq tail: a consumer token is needed: --token TOKEN or LIQ_CONSUMER_TOKEN\n$/);
  });

  test('the minimal consumer of examples/ prints the orders and fills them: the scopes close and are not ordered again', async () => {
    // No retries (the child takes a while to start): after its fills, a scope still failing would be ordered again at once (a fill changes its account).
    const s = await server(testConfig({ liquidation: { mode: 'full', bufferPpm: 0n, feePpm: 0n }, orders: { worstPrice: { kind: 'bankruptcy' }, retryMs: 60_000 } }));
    const publisher = await connect(s.port, TOKENS.publisher);
    publisher.send({ type: 'ticks', id: 1, ticks: [[0, 492_000, Date.now()]] });
    await publisher.next();
    const child = spawn(process.execPath, [join(process.cwd(), 'examples/consumer.mjs'), `ws://127.0.0.1:${s.port}/ws`, '1'], {
      cwd: mkdtempSync(join(tmpdir(), 'liq-consumer-')),
      env: { ...process.env, LIQ_CONSUMER_TOKEN: TOKENS.consumer },
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const v = s.live.engine.views;
    const closed = (a: number) => v.accPosCount[a] === 0 || v.posSize[v.accPosStart[a]] === 0n;
    const deadline = Date.now() + 20_000;
    while (!(out.split('\n').length > 2 && closed(0) && closed(2)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill();
    expect(out).toBe(
      '#1 sell 1000 BTC @ 490000 for alice (isolated, liquidatable) key alice/BTC/isolated/0/0/BTC\n#2 sell 1000 BTC @ 490000 for carol (isolated, liquidatable) key carol/BTC/isolated/0/0/BTC\n',
    );
    // Both fills applied: the positions are closed, and no order followed.
    for (const a of [0, 2]) expect(closed(a)).toBe(true);
    expect(s.orders.lastSeq).toBe(2);
  });

  test('one server per journal directory, and a journal is refused on another book', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'liq-journal-'));
    const s = await startServer(book(), testConfig(), dir);
    servers.push(s);
    await expect(startServer(book(), testConfig(), dir)).rejects.toThrow(`${dir}: the journal is in use by another liq serve (pid ${process.pid}); one server per journal`);
    await s.stop();
    servers.splice(0); // stopped already
    await expect(startServer(book(), testConfig(), dir, 'another-book')).rejects.toThrow(`${dir}: this journal belongs to another book`);
    const again = await startServer(book(), testConfig(), dir);
    servers.push(again);
    expect(again.inputs.lastSeq).toBe(0);
  });

  test('a publisher gone before its answers: the work is applied and the server goes on', async () => {
    const s = await server();
    const gone = await Client.connect(s.port, TOKENS.publisher);
    for (let k = 0; k < 50; k++) gone.send({ type: 'ticks', id: k, ticks: [[0, 500_000 + k, Date.now()]] });
    gone.send({ type: 'updates', id: 99, ops: [{ op: 'withdraw', account: 'dave', amount: 10n ** 15n }] }); // refused: an ack with refused
    gone.send({ type: 'ticks', id: 100, ticks: [[0, 0, Date.now()]] }); // an error frame
    gone.socket.terminate();
    const publisher = await connect(s.port, TOKENS.publisher);
    publisher.send({ type: 'ping', id: 1 });
    const pong = await publisher.next();
    expect(pong).toMatchObject({ type: 'ack', id: 1 });
    publisher.send({ type: 'ticks', id: 2, ticks: [[0, 500_100, Date.now()]] });
    expect(await publisher.next()).toMatchObject({ type: 'ack', id: 2 });
    expect(s.live.engine.views.instMark[0]).toBe(500_100n);
  });

  test('a scope failing at the book\'s own marks is ordered as soon as the server starts', async () => {
    const engine = engineWith([{ id: 'eve', balance: '0', positions: [{ ...isolatedLong, entryPrice: '51000' }] }]);
    const s = await startServer(engine, testConfig({ liquidation: { mode: 'full', bufferPpm: 0n, feePpm: 0n } }));
    servers.push(s);
    const consumer = await connect(s.port, TOKENS.consumer);
    consumer.send({ type: 'subscribe', id: 1, from: 1 });
    await consumer.next();
    // Equity 1,000 + 50,000 − 51,000 = 0 against a maintenance of 250: liquidatable, its bankruptcy price the mark.
    expect(fields((await consumer.next()) as Order)).toEqual([1, 'eve/BTC/isolated/0/0/BTC', 'eve', 'BTC', 'isolated', 'sell', 1000n, 500_000n, true, 'IOC', 'liquidatable']);
  });

  test('a tick message whose mark the engine refuses is refused whole: the marks before it in the message are put back', async () => {
    const s = await server();
    const publisher = await connect(s.port, TOKENS.publisher);
    const before = bookHash(s.live.engine);
    // ETH first (accepted alone), then BTC at the largest price units: the book's BTC notionals would leave the engine's ranges.
    publisher.send({ type: 'ticks', id: 5, ticks: [[1, 260_000, Date.now()], [0, 1_000_000_000_000_000n, Date.now()]] });
    const reply = await publisher.next();
    expect(reply).toMatchObject({ type: 'error', id: 5, code: 'invalid_price' });
    expect((reply as { reason: string }).reason).toMatch(/^ticks\[1\]: .*\(out_of_range\)$/);
    expect(bookHash(s.live.engine)).toBe(before);
    expect(s.inputs.lastSeq).toBe(0);
  });

  test('partial liquidation closes the least whole lots that restore the buffer, and the order says so', async () => {
    const s = await server(testConfig({ liquidation: { mode: 'partial', bufferPpm: 100_000n, feePpm: 0n } }));
    const consumer = await connect(s.port, TOKENS.consumer);
    consumer.send({ type: 'subscribe', id: 1, from: 1 });
    await consumer.next();
    const publisher = await connect(s.port, TOKENS.publisher);
    publisher.send({ type: 'ticks', id: 1, ticks: [[0, 492_000, Date.now()]] });
    const order = (await consumer.next()) as Order;
    // Equity 200 at 49,200; keeping k units (of 0.001 BTC) needs 200 ≥ 1.1 · 0.005 · 49.2 · k, so k ≤ 739:
    // 261 units close.
    expect([order.account, order.size, order.reason]).toEqual(['alice', 261n, 'liquidatable']);
  });

  test('tokens: none, a wrong one, and roles sending what they may not are refused', async () => {
    const s = await server();
    await expect(Client.connect(s.port, null)).rejects.toThrow('refused: 401');
    await expect(Client.connect(s.port, 'not-a-token-of-this-server')).rejects.toThrow('refused: 401');
    const before = bookHash(s.live.engine);
    for (const token of [TOKENS.observer, TOKENS.consumer]) {
      const client = await connect(s.port, token);
      client.send({ type: 'ticks', id: 3, ticks: [[0, 100_000, Date.now()]] });
      const reply = await client.next();
      expect(reply).toMatchObject({ type: 'error', id: 3, code: 'forbidden' });
    }
    const observer = await connect(s.port, TOKENS.observer);
    observer.send({ type: 'updates', id: 4, ops: [{ op: 'deposit', account: 'dave', amount: 1 }] });
    expect(await observer.next()).toMatchObject({ type: 'error', id: 4, code: 'forbidden' });
    const publisher = await connect(s.port, TOKENS.publisher);
    publisher.send({ type: 'fill', id: 5, order: 1, account: 'alice', instrument: 'BTC', mode: 'isolated', size: -1000, price: 492_000 });
    expect(await publisher.next()).toMatchObject({ type: 'error', id: 5, code: 'forbidden' });
    expect(bookHash(s.live.engine)).toBe(before);
  });

  test('an operation the engine refuses is reported in the ack and changes nothing; the others apply', async () => {
    const s = await server();
    const publisher = await connect(s.port, TOKENS.publisher);
    publisher.send({
      type: 'updates',
      id: 11,
      ops: [
        { op: 'deposit', account: 'dave', amount: 5n * M },
        { op: 'withdraw', account: 'dave', amount: 1_000_000n * M },
        { op: 'deposit', account: 'dave', amount: 7n * M },
      ],
    });
    const ack = await publisher.next();
    expect(ack).toMatchObject({ type: 'ack', id: 11, seq: 1 });
    expect((ack as Extract<ServerMessage, { type: 'ack' }>).refused).toEqual([[1, 'exceeds_wallet', expect.any(String)]]);
    expect(s.live.engine.views.accBalance[3]).toBe(100_012n * M);
  });

  test('HTTP: health, Prometheus metrics, and an account as liq eval --json shows it', async () => {
    const s = await server();
    const base = `http://127.0.0.1:${s.port}`;
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: 'ok', inputs: 0, orders: 0, accounts: 4 });
    const publisher = await connect(s.port, TOKENS.publisher);
    publisher.send({ type: 'ticks', id: 1, ticks: [[0, 492_000, Date.now()]] });
    await publisher.next();
    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const name of ['liq_ticks_total 1', 'liq_orders_total 2', 'liq_evaluations_total', 'liq_evaluation_seconds_bucket', 'liq_tick_to_order_seconds_count 1', 'liq_backpressure_disconnects_total 0', 'liq_journal_seq{journal="orders"} 2', 'liq_connections{role="publisher"} 1']) {
      expect(metrics).toContain(name);
    }
    const alice = await (await fetch(`${base}/accounts/alice`)).json();
    expect(alice).toMatchObject({ id: 'alice', positions: [{ instrument: 'BTC', mode: 'isolated', margin: '1000', equity: '200', maintenance: '246', status: 'liquidatable', liquidationPrice: '49246.2', bankruptcyPrice: '49000' }] });
    const missing = await fetch(`${base}/accounts/nobody`);
    expect(missing.status).toBe(404);
    expect((await fetch(`${base}/nowhere`)).status).toBe(404);
  });
});
