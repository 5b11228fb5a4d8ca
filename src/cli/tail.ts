// `liq tail`: a small consumer of liq serve on the command line. It subscribes from a sequence
// number and prints each liquidation order, one a line; if the server disconnects it for falling
// behind, it resumes from the next sequence number (docs/serve.md, "Consumers").
import WebSocket from 'ws';
import { InputError } from '../io/errors.js';
import { oneLine } from '../io/one-line.js';
import { encodeClientFrame } from '../serve/client.js';
import { decodeServerMessage, type ServerMessage } from '../serve/protocol.js';
import { CLOSE_BACKPRESSURE } from '../serve/server.js';
import { TOKEN_ENV } from '../serve/config.js';
import { parseCommand } from './args.js';
import { TAIL_SPEC } from './commands.js';
import { EXIT_OK, printedHelp, writeChunks, type Io } from './main.js';

interface TailValues {
  url: string;
  from: number | undefined;
  token: string | undefined;
  count: number | undefined;
  json: boolean;
}

type Order = Extract<ServerMessage, { type: 'order' }>;

/** Runs `liq tail`; resolves with the exit code when --count orders were printed or the connection ends. */
export async function tailCommand(argv: string[], io: Io, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parseCommand(TAIL_SPEC, argv);
  if (await printedHelp(parsed, TAIL_SPEC, io)) return EXIT_OK;
  const values = parsed.values as unknown as TailValues;
  const token = values.token ?? env[TOKEN_ENV.consumer];
  if (token === undefined || token === '') throw new InputError(`a consumer token is needed: --token TOKEN or ${TOKEN_ENV.consumer}`);
  // 0: from the next new order (no replay).
  let next = values.from ?? 0;
  let printed = 0;
  for (;;) {
    const outcome = await session(values, token, next, io, (order) => {
      next = Number(order.seq) + 1;
      printed++;
      return values.count !== undefined && printed >= values.count;
    });
    if (outcome === 'done') return EXIT_OK;
    // Disconnected for falling behind: resume where it stopped.
    await writeChunks(io.stderr, [`liq tail: the server disconnected this consumer for falling behind; resuming from ${next}\n`]);
  }
}

/** One connection: 'done' when enough orders were printed or the server closed normally, 'resume' after a backpressure disconnect. */
function session(values: TailValues, token: string, from: number, io: Io, onOrder: (order: Order) => boolean): Promise<'done' | 'resume'> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(values.url, { headers: { authorization: `Bearer ${token}` }, maxPayload: 1 << 20 });
    let finished = false;
    const finish = (outcome: 'done' | 'resume' | Error) => {
      if (finished) return;
      finished = true;
      socket.close();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    socket.on('unexpected-response', (_request, response) => finish(new InputError(`${values.url}: the server refused the connection: ${response.statusCode} ${response.statusMessage ?? ''}`.trim())));
    socket.on('error', (error) => finish(new InputError(`${values.url}: ${oneLine(error.message)}`)));
    socket.on('open', () => socket.send(encodeClientFrame({ type: 'subscribe', id: 1, from })));
    let writing = Promise.resolve();
    let enoughSeen = false;
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (enoughSeen) return; // --count reached: what is still arriving is not printed
      if (!isBinary) return finish(new InputError(`${values.url}: the server sent a text frame; is it liq serve?`));
      let message: ServerMessage;
      try {
        message = decodeServerMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      } catch (error) {
        return finish(new InputError(`${values.url}: a frame that does not decode: ${oneLine((error as Error).message)}`));
      }
      if (message.type === 'error') return finish(new InputError(`${values.url}: ${message.code}: ${message.reason}`));
      if (message.type === 'welcome') {
        writing = writing.then(() => writeChunks(io.stderr, [`liq tail: subscribed from ${message.from}; the last order is ${message.lastSeq}\n`]));
        return;
      }
      if (message.type !== 'order') return;
      const line = values.json ? `${JSON.stringify(message, (_key, value) => (typeof value === 'bigint' ? value.toString() : value))}\n` : orderLine(message);
      enoughSeen = onOrder(message);
      writing = writing.then(() => writeChunks(io.stdout, [line]));
      if (enoughSeen) void writing.then(() => finish('done'), (error: Error) => finish(error));
    });
    socket.on('close', (code, reason) => {
      void writing.then(() => {
        if (code === CLOSE_BACKPRESSURE) finish('resume');
        else if (code === 1000 || code === 1005) finish('done');
        else finish(new InputError(`${values.url}: the connection closed (${code}${reason.length > 0 ? `: ${reason.toString()}` : ''})`));
      }, (error: Error) => finish(error));
    });
  });
}

/** `#SEQ  sell 1500 BTC-PERP @ 6123450  acct-00000042 cross liquidatable  KEY` (sizes and prices in the instrument's units). */
export function orderLine(order: Order): string {
  return `#${order.seq}  ${order.side} ${order.size} ${order.instrument} @ ${order.price}  ${order.account} ${order.mode} ${order.reason}  ${order.key}\n`;
}
