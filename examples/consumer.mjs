// A minimal consumer of `liq serve` (docs/PROTOCOL.md), on nothing but `ws` and `@msgpack/msgpack`:
// it subscribes from a sequence number, prints each liquidation order, "fills" it at its worst
// price (a real matching engine would execute it first), and remembers the last sequence number so
// that a restart resumes with no gap and no duplicate.
//
//   LIQ_CONSUMER_TOKEN=... node examples/consumer.mjs [ws://127.0.0.1:8080/ws] [FROM]
import { readFileSync, writeFileSync } from 'node:fs';
import { Decoder, Encoder } from '@msgpack/msgpack';
import WebSocket from 'ws';

const url = process.argv[2] ?? 'ws://127.0.0.1:8080/ws';
const token = process.env.LIQ_CONSUMER_TOKEN;
if (!token) throw new Error('set LIQ_CONSUMER_TOKEN (liq serve prints one when none is configured)');
const positionFile = 'consumer.seq';
let from = Number(process.argv[3] ?? (() => { try { return Number(readFileSync(positionFile, 'utf8')) + 1; } catch { return 0; } })());

// Integers beyond 32 bits travel as int64: with useBigInt64 they decode to bigints, and bigints encode as int64.
const encoder = new Encoder({ useBigInt64: true });
const decoder = new Decoder({ useBigInt64: true, maxStrLength: 4096, maxArrayLength: 65_536, maxMapLength: 32, maxBinLength: 0, maxExtLength: 0 });
const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, maxPayload: 16 << 20 });
let id = 1;
const send = (message) => socket.send(encoder.encode({ v: 1, id: id++, ...message }));

socket.on('open', () => send({ type: 'subscribe', from }));
socket.on('message', (data) => {
  const message = decoder.decode(data);
  switch (message.type) {
    case 'welcome':
      console.error(`subscribed from ${message.from}; the last order is ${message.lastSeq}`);
      break;
    case 'order': {
      console.log(`#${message.seq} ${message.side} ${message.size} ${message.instrument} @ ${message.price} for ${message.account} (${message.mode}, ${message.reason}) key ${message.key}`);
      // The fill: signed (a sell is negative), no more than the order's size, at a price no worse than its worst.
      const size = message.side === 'sell' ? -message.size : message.size;
      send({ type: 'fill', order: message.seq, account: message.account, instrument: message.instrument, mode: message.mode, size, price: message.price });
      writeFileSync(positionFile, String(message.seq));
      break;
    }
    case 'ack':
      if (message.refused?.length) console.error(`fill ${message.id} refused by the engine: ${message.refused.map(([, code, reason]) => `${code}: ${reason}`).join('; ')}`);
      break;
    case 'error':
      console.error(`error ${message.code}: ${message.reason}`);
      break;
    default:
      break; // heartbeats carry the last sequence number: message.seq
  }
});
socket.on('close', (code, reason) => console.error(`closed: ${code} ${reason}`));
