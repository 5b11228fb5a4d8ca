// A deterministic book for the quick benchmark: the instruments of examples/sample.json and
// `accounts` accounts with 1-5 positions each, a third of them isolated, entries within ±10% of
// the mark. (The realistic generator with documented distributions is `liq gen`'s job.)
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseBookJson } from '../src/book/json.js';
import { quotePerUnit, type Account, type Book, type Position } from '../src/book/model.js';
import { bracketOf } from '../src/book/ranges.js';

/** xorshift32: tiny, seeded, and the same on every machine. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4_294_967_296;
  };
}

export function syntheticBook(accounts: number, seed = 1): Book {
  const sampleUrl = new URL('../../examples/sample.json', import.meta.url);
  const samplePath = fileURLToPath(sampleUrl).replace('/dist/examples/', '/examples/');
  let text: string;
  try {
    text = readFileSync(samplePath, 'utf8');
  } catch {
    text = readFileSync(fileURLToPath(new URL('../examples/sample.json', import.meta.url)), 'utf8');
  }
  const { instruments } = parseBookJson(text);
  const next = random(seed);
  const list: Account[] = [];
  for (let a = 0; a < accounts; a++) {
    const count = 1 + Math.floor(next() * next() * 5); // skewed toward 1-2
    const positions: Position[] = [];
    const used = new Set<string>();
    for (let k = 0; k < count; k++) {
      const i = Math.floor(next() * instruments.length);
      const mode = next() < 0.33 ? 'isolated' : 'cross';
      if (used.has(`${i}/${mode}`)) continue;
      used.add(`${i}/${mode}`);
      const instrument = instruments[i];
      const q = quotePerUnit(instrument);
      const notionalTarget = BigInt(Math.floor(10 ** (2 + next() * 4))) * 1_000_000n; // 100 to 1M quote
      const lots = notionalTarget / (q * instrument.markUnits * instrument.lotUnits) + 1n;
      const sizeUnits = lots * instrument.lotUnits * (next() < 0.5 ? -1n : 1n);
      const entry = (instrument.markUnits * BigInt(Math.floor(900 + next() * 200))) / 1000n;
      const notional = lots * instrument.lotUnits * q * instrument.markUnits;
      const leverageMax = instrument.tiers[bracketOf(instrument.tiers, notional)].leverageMax;
      const leverage = Math.max(1, Math.min(leverageMax, Math.ceil(leverageMax * (0.2 + 0.8 * next()))));
      positions.push({
        instrument: i,
        sizeUnits,
        costMicro: sizeUnits * q * entry,
        mode,
        marginMicro: mode === 'isolated' ? notional / BigInt(leverage) : 0n,
        leverage,
        fundingIndex: instrument.fundingIndex - BigInt(Math.floor(next() * 1000)),
      });
    }
    list.push({ id: `acct-${a}`, balanceMicro: BigInt(Math.floor(next() * 50_000)) * 1_000_000n, positions });
  }
  return { instruments, accounts: list };
}
