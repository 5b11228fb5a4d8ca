// The live engine's fast path held to the BigInt reference after the changes its users make: random
// tick messages (several ticks of an instrument in one message, of which only the last is applied),
// account updates and fills go through LiveEngine as the server sends them, and after each
// evaluation (incremental, or a sweep) the set of accounts with a failing scope equals the
// reference's, and every scope failing for the first time since its account last changed is ordered.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../../src/engine/engine.js';
import { generateBook, generatedBookToBook } from '../../src/gen/generate.js';
import { evaluateAccount } from '../../src/reference/evaluate.js';
import { LiveEngine } from '../../src/serve/live.js';
import { DEFAULT_CONFIG } from '../../src/serve/config.js';
import { SweepPool } from '../../src/pool/pool.js';
import type { AnyOperation } from '../../src/account/operations.js';

function referenceFailing(engine: Engine): Set<number> {
  const book = engine.toBook();
  const failing = new Set<number>();
  for (let a = 0; a < book.accounts.length; a++) {
    const r = evaluateAccount(book, a);
    if (r.crossStatus !== 'healthy' || r.positions.some((p) => p.status !== null && p.status !== 'healthy')) failing.add(a);
  }
  return failing;
}

describe('LiveEngine against the reference', () => {
  // On a pool, as `liq serve` runs, a fallback sweep lists the failing scopes the live engine then
  // reads; on this thread it finds them in the status columns. A step past 40 accounts sweeps, so
  // that both paths and the incremental one are taken. 'venue': the instruments venues list, some
  // finer than a micro (2 to 5 of 12: values floored, fills the control plane's, hot records of
  // floored values).
  test.each([
    { pooled: false, precision: 'micro' as const, instruments: 4 },
    { pooled: true, precision: 'micro' as const, instruments: 4 },
    { pooled: false, precision: 'venue' as const, instruments: 12 },
    { pooled: true, precision: 'venue' as const, instruments: 12 },
  ])('after every message of random tick, update and fill streams, the failing accounts are the reference\'s, and each newly failing account is ordered (on a pool: $pooled, precision $precision)', async ({ pooled, precision, instruments }) => {
    let sweeps = 0;
    let fineOrders = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), async (seed) => {
        const engine = Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 300, seed, instruments, isolatedShare: 0.4, precision })));
        const pool = pooled ? await SweepPool.open(engine, { threads: 2 }) : undefined;
        try {
        const live = new LiveEngine(engine, { rule: DEFAULT_CONFIG.liquidation, worstPrice: DEFAULT_CONFIG.orders.worstPrice, retryMs: 1e12, now: () => 0, ...(pool ? { pool } : {}), evaluator: { fallbackAccounts: 40 } });
        let state = seed;
        const random = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4_294_967_296;
        const ordered = new Set<number>();
        for (const order of (await live.evaluate()).orders) ordered.add(order.accountIndex);
        for (let step = 0; step < 25; step++) {
          const kind = random();
          if (kind < 0.6) {
            // Several ticks per instrument in one message: moves up to ±6% in all.
            const count = 1 + Math.floor(random() * 6);
            const instruments = new Uint16Array(count);
            const prices = new BigInt64Array(count);
            for (let k = 0; k < count; k++) {
              const i = Math.floor(random() * engine.instruments.length);
              instruments[k] = i;
              const mark = Number(engine.views.instMark[i]);
              prices[k] = BigInt(Math.max(1, Math.round(mark * (1 + (random() - 0.5) * 0.12))));
            }
            const last = new Map<number, bigint>();
            for (let k = 0; k < count; k++) last.set(instruments[k], prices[k]);
            const applied = live.applyTicks(instruments, prices, count);
            if (applied.ok) for (const [i, price] of last) expect(engine.views.instMark[i]).toBe(price);
          } else {
            const operations: AnyOperation[] = [];
            for (let k = 0; k < 5; k++) {
              const a = Math.floor(random() * engine.accountCount);
              const roll = random();
              if (roll < 0.4) operations.push({ kind: 'deposit', accountIndex: a, amountMicro: BigInt(1 + Math.floor(random() * 5e9)) });
              else if (roll < 0.7) operations.push({ kind: 'charge', accountIndex: a, amountMicro: BigInt(1 + Math.floor(random() * 5e9)) });
              else if (engine.views.accPosCount[a] > 0) {
                // A fill closing part of one of its positions, at the mark.
                const j = engine.views.accPosStart[a] + Math.floor(random() * engine.views.accPosCount[a]);
                const i = engine.views.posInst[j];
                const size = engine.views.posSize[j];
                const lot = engine.instruments[i].lotUnits;
                const lots = (size < 0n ? -size : size) / lot;
                if (lots > 0n) {
                  const closing = (1n + BigInt(Math.floor(random() * Number(lots)))) * lot;
                  operations.push({
                    kind: 'fill',
                    accountIndex: a,
                    instrument: engine.instruments[i].symbol,
                    mode: engine.views.posMode[j] === 1 ? 'isolated' : 'cross',
                    sizeUnits: size > 0n ? -closing : closing,
                    priceUnits: engine.views.instMark[i],
                  });
                }
              }
            }
            const seq = step + 1;
            const applied = live.applyOperations(operations, seq);
            // An account an applied operation changed may be ordered again: it has a new version.
            if (applied.ok) operations.forEach((operation, k) => {
              if (applied.results[k].ok && 'accountIndex' in operation && operation.accountIndex !== undefined) ordered.delete(operation.accountIndex);
            });
          }
          const { orders, path } = await live.evaluate();
          if (path === 'sweep') sweeps++;
          for (const order of orders) {
            ordered.add(order.accountIndex);
            const instrument = engine.instruments[order.instrumentIndex];
            if (instrument.priceDecimals + instrument.sizeDecimals > 6) fineOrders++;
          }
          const expected = referenceFailing(engine);
          expect([...live.failing].sort((x, y) => x - y)).toEqual([...expected].sort((x, y) => x - y));
          // Every failing account has been ordered since its last change (retries are off).
          for (const a of expected) expect(ordered.has(a)).toBe(true);
        }
        } finally {
          await pool?.close();
        }
      }),
      { numRuns: 12, seed: 20261205 },
    );
    expect(sweeps, 'steps that swept').toBeGreaterThan(10);
    if (precision === 'venue') expect(fineOrders, 'orders of instruments finer than a micro').toBeGreaterThan(10);
  }, 120_000);
});

describe('the live engine\'s evaluator', () => {
  test('holds evaluation.heapEntriesPerAccount heap entries per account before a rebuild (at least 2^16), the evaluator\'s own quarter without it', () => {
    const engine = Engine.fromBook(generatedBookToBook(generateBook({ accounts: 100_000, seed: 3, instruments: 8 })));
    const options = { rule: DEFAULT_CONFIG.liquidation, worstPrice: DEFAULT_CONFIG.orders.worstPrice, retryMs: 1_000 };
    const heapLimit = (heapEntriesPerAccount?: number): number => {
      const { evaluator } = new LiveEngine(engine, heapEntriesPerAccount === undefined ? options : { ...options, heapEntriesPerAccount });
      evaluator.close();
      return evaluator.heapLimit;
    };
    expect(heapLimit(DEFAULT_CONFIG.evaluation.heapEntriesPerAccount)).toBe(100_000);
    expect(heapLimit(2.5)).toBe(250_000);
    expect(heapLimit(0.01)).toBe(1 << 16);
    expect(heapLimit()).toBe(1 << 16); // max(2^16, 100,000 / 4)
  });
});
