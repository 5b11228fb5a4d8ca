// A restart on the same journal, as an operator lives it: `liq serve` in a child process is killed
// with SIGKILL while a publisher streams ticks and updates and a consumer reads orders; started
// again, it holds every acknowledged update (the book's hash equals that of the same messages
// applied here), and the consumer resumes from its last sequence number with no gap and no duplicate.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBookBinaryFile, writeBookColumnsFile } from '../../src/book/binary.js';
import { generateBook } from '../../src/gen/generate.js';
import { decodeClientMessage, bookLookup } from '../../src/serve/protocol.js';
import { encodeClientFrame, type ClientFrame } from '../../src/serve/client.js';
import { LiveEngine } from '../../src/serve/live.js';
import { DEFAULT_CONFIG } from '../../src/serve/config.js';
import type { ServerMessage } from '../../src/serve/protocol.js';
import { bookHash, Client, TOKENS } from '../support/serve.js';

let dir: string;
let bookFile: string;
let configFile: string;
let journal: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'liq-restart-'));
  bookFile = join(dir, 'book.bin');
  configFile = join(dir, 'config.json');
  journal = join(dir, 'journal');
  writeBookColumnsFile(bookFile, generateBook({ accounts: 3_000, seed: 5, instruments: 8, profile: 'stress' }));
  writeFileSync(configFile, JSON.stringify({ tokens: TOKENS, orders: { retryMs: 60_000 }, journal: { fsync: 'group', groupMs: 1 }, log: { level: 'warn' } }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function serve(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['bin/liq.js', 'serve', '--book', bookFile, '--port', '0', '--journal', journal, '--config', configFile, '--threads', '1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = /ws:\/\/[^:]+:(\d+)\/ws/.exec(out);
      if (found) resolve(Number(found[1]));
    });
    child.once('exit', (code) => reject(new Error(`liq serve exited (${code}) before listening: ${err}`)));
  });
  return { child, port };
}

/** The messages the publisher sends, in order: BTC down a step, then a batch of updates (deposits, charges, some refused), and so on. */
function messages(count: number, start: number): ClientFrame[] {
  const frames: ClientFrame[] = [];
  for (let k = 0; k < count; k++) {
    const n = start + k;
    if (n % 2 === 0) frames.push({ type: 'ticks', id: n, ticks: [[0, 650_000 - 40 * n, 1_700_000_000_000 + n], [1, 350_000 - 20 * (n % 50), 1_700_000_000_000 + n]] });
    else
      frames.push({
        type: 'updates',
        id: n,
        ops: [
          { op: 'deposit', account: `acct-${String(1 + ((n * 37) % 3_000)).padStart(8, '0')}`, amount: 1_000_000 + n },
          { op: 'charge', account: `acct-${String(1 + ((n * 101) % 3_000)).padStart(8, '0')}`, amount: 250_000 },
          { op: 'withdraw', account: `acct-${String(1 + ((n * 13) % 3_000)).padStart(8, '0')}`, amount: 1_000_000_000_000 },
        ],
      });
  }
  return frames;
}

const orderSeqs = (received: ServerMessage[]) => received.filter((m) => m.type === 'order').map((m) => (m as { seq: number }).seq);

describe('restart after SIGKILL mid-stream', () => {
  test('every acknowledged update is there after the restart, and the consumer resumes with no gap and no duplicate', async () => {
    const first = await serve();
    const consumer = await Client.connect(first.port, TOKENS.consumer);
    consumer.send({ type: 'subscribe', id: 1, from: 1 });
    const publisher = await Client.connect(first.port, TOKENS.publisher);
    const sent = messages(20_000, 0);
    // Stream: a few frames every millisecond, until the server is killed once some acknowledgements
    // and orders are in; frames are still on their way when it dies.
    let next = 0;
    const deadline = Date.now() + 20_000;
    while ((publisher.received.length < 150 || orderSeqs(consumer.received).length < 5) && next < sent.length && Date.now() < deadline) {
      for (let k = 0; k < 4; k++) publisher.send(sent[next++]);
      await new Promise((r) => setTimeout(r, 1));
    }
    for (let k = 0; k < 8; k++) publisher.send(sent[next++]);
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    const acked = publisher.received.filter((m) => m.type === 'ack').map((m) => (m as { seq: number }).seq);
    const seen = orderSeqs(consumer.received);
    expect(acked.length).toBeGreaterThanOrEqual(150);
    expect(acked.length).toBeLessThan(next); // killed mid-stream: some frames sent were never acknowledged
    expect(seen).toEqual(seen.map((_, k) => k + 1));
    await publisher.close();
    await consumer.close();

    const second = await serve();
    try {
      const { inputs, sha256 } = (await (await fetch(`http://127.0.0.1:${second.port}/book/hash`)).json()) as { inputs: number; sha256: string };
      // Every acknowledged message is in; some sent but not yet acknowledged may be too.
      expect(inputs).toBeGreaterThanOrEqual(Math.max(...acked));
      // The book is the original with exactly the first `inputs` messages applied.
      const engine = loadBookBinaryFile(bookFile, { hugePages: false });
      const live = new LiveEngine(engine, { rule: DEFAULT_CONFIG.liquidation, worstPrice: DEFAULT_CONFIG.orders.worstPrice, retryMs: 60_000 });
      const lookup = bookLookup(engine);
      for (let k = 0; k < inputs; k++) {
        const decoded = decodeClientMessage(encodeClientFrame(sent[k]), 'publisher', lookup);
        if (!decoded.ok) throw new Error(decoded.reason);
        const m = decoded.message;
        if (m.type === 'ticks') expect(live.applyTicks(m.instruments, m.prices, m.count).ok).toBe(true);
        else if (m.type === 'updates') live.applyOperations(m.operations, k + 1);
      }
      expect(sha256).toBe(bookHash(engine));

      // The consumer resumes after the last order it read.
      const resumed = await Client.connect(second.port, TOKENS.consumer);
      const from = seen.length + 1;
      resumed.send({ type: 'subscribe', id: 2, from });
      const welcome = await resumed.next();
      expect(welcome).toMatchObject({ type: 'welcome', from });
      // New ticks after the restart: they are acknowledged with the next input seqs, and their orders follow on.
      const more = await Client.connect(second.port, TOKENS.publisher);
      for (const frame of messages(40, 1_000)) more.send(frame);
      const acks = (await more.collect(3_000)).filter((m) => m.type === 'ack').map((m) => (m as { seq: number }).seq);
      expect(acks).toEqual(acks.map((_, k) => inputs + 1 + k));
      const after = orderSeqs(await resumed.collect(1_500));
      expect(after.length).toBeGreaterThan(0);
      expect([...seen, ...after]).toEqual([...seen, ...after].map((_, k) => k + 1));
      await resumed.close();
      await more.close();
    } finally {
      second.child.kill('SIGTERM');
      await new Promise((resolve) => second.child.once('exit', resolve));
    }
  }, 60_000);
});
