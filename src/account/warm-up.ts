// The first update a process applies would otherwise pay for compiling the operation path (the
// JavaScript of src/account/, compiled and optimised by V8 as it runs; the kernel is compiled up
// front, src/engine/core.ts):
// hundreds of microseconds against about ten for the next ones. The loaders run this once per
// process, on a book of its own, and then a withdrawal of one micro and its deposit back on the
// loaded book itself, so that a freshly loaded engine's first update costs what the later ones do.
// The loaded book comes out as it went in.
import { Engine } from '../engine/engine.js';
import type { Book } from '../book/model.js';
import { applyOperation, type AnyOperation } from './operations.js';
import { applyBatch } from './batch.js';

let warm = false;

/** A two-account book with one instrument: enough to take every operation's common path. */
function warmUpBook(): Book {
  return {
    instruments: [
      {
        symbol: 'WARM',
        priceDecimals: 1,
        sizeDecimals: 3,
        tickUnits: 1n,
        lotUnits: 1n,
        markUnits: 1_000_000n,
        fundingIndex: 0n,
        tiers: [{ upToNotional: null, ratePpm: 5_000n, leverageMax: 50 }],
      },
    ],
    accounts: [
      { id: 'warm-0', balanceMicro: 1_000_000_000n, positions: [] },
      { id: 'warm-1', balanceMicro: 1_000_000_000n, positions: [] },
    ],
  };
}

/**
 * Runs the operation path once per process, on a book of its own: by id and by index, applied and
 * refused, single and batched, with the refreshes they make (a few milliseconds, the first time).
 * Then, for `engine` (a freshly loaded book), refreshes its first account's derived state (which
 * recomputes the same values from the columns), moves its cross base by a balance change of zero,
 * sets up the scratch regions those refreshes use, and withdraws one micro from an account and
 * deposits it back (withdrawAndReturn: by id when the loader built the index, so that its lookups,
 * refused or not, take the index's path too).
 */
export function warmUpOperations(engine: Engine): void {
  if (!warm) {
    warm = true;
    warmUpProcess();
  }
  if (engine.accountCount > 0) {
    engine.accountsChanged(Uint32Array.of(0));
    engine.balancesChanged(Uint32Array.of(0), BigInt64Array.of(0n)); // moves its cross base by nothing
    withdrawAndReturn(engine);
  }
}

/**
 * A withdrawal of one micro and its deposit back, through applyOperation and by id as a caller
 * sends them (by index when the loader built no index: a lookup by id would build it), on the
 * last of the book's last WARM_UP_ACCOUNTS accounts whose withdrawal is accepted (none when no
 * withdrawal is: a refusal changes nothing). The balance and the cross base go down one micro and
 * back, so the book comes out as it went in. The warm-up book's engine does not stand in for this
 * one here: in fresh processes on the 10M-account book, the first deposit by id took a median of
 * 21.1 µs with this pair and 32.2 µs without it, its later ones about 23 µs either way
 * (bench/README.md, 2026-12-04, evening).
 */
function withdrawAndReturn(engine: Engine): void {
  const byId = engine.accountIds.indexed;
  const last = engine.accountCount - 1;
  for (let a = last; a >= 0 && a > last - WARM_UP_ACCOUNTS; a--) {
    const id = byId ? engine.accountIds.get(a) : '';
    const withdrawal: AnyOperation = byId ? { kind: 'withdraw', account: id, amountMicro: 1n } : { kind: 'withdraw', accountIndex: a, amountMicro: 1n };
    if (!applyOperation(engine, withdrawal).ok) continue;
    const back = applyOperation(engine, byId ? { kind: 'deposit', account: id, amountMicro: 1n } : { kind: 'deposit', accountIndex: a, amountMicro: 1n });
    if (!back.ok) throw new Error(`warm-up: the deposit back to account ${a} was refused (${back.reason})`);
    return;
  }
}

/** Accounts withdrawAndReturn tries, from the book's last. */
const WARM_UP_ACCOUNTS = 16;

function warmUpProcess(): void {
  const engine = Engine.fromBook(warmUpBook());
  engine.sweep({ full: false }); // the chunk records, as a loaded book's first sweep builds them
  const operations: AnyOperation[] = [
    { kind: 'deposit', account: 'warm-0', amountMicro: 1_000_000n },
    { kind: 'deposit', accountIndex: 1, amountMicro: 1_000_000n },
    { kind: 'fill', accountIndex: 0, instrument: 'WARM', mode: 'cross', sizeUnits: 10n, priceUnits: 1_000_000n },
    { kind: 'fill', accountIndex: 1, instrument: 'WARM', mode: 'isolated', sizeUnits: -10n, priceUnits: 1_000_000n },
    { kind: 'withdraw', account: 'warm-1', amountMicro: 10n ** 15n }, // refused: exceeds the wallet
    { kind: 'fill', accountIndex: 0, instrument: 'WARM', mode: 'cross', sizeUnits: -10n, priceUnits: 1_000_000n },
  ];
  // Enough rounds for the engines' tiering: code is compiled unoptimized on its first calls and
  // optimized once it has run a while (the JavaScript, and the kernel's functions alike).
  for (let round = 0; round < WARM_UP_ROUNDS; round++) {
    for (const operation of operations) applyOperation(engine, operation);
    applyBatch(engine, operations);
    engine.sweep({ full: false });
  }
}

/** Rounds of the operations above: about 15 ms in all on the development machine. */
const WARM_UP_ROUNDS = 100;
