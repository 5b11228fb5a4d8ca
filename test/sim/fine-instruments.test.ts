// The cascade simulator on a book with instruments finer than a micro (`--precision venue`: alts
// with pd + sd from 7 to 12, docs/numbers.md "Instruments finer than a micro"): a crash liquidates
// positions on them, the fund is empty so bankrupt ones go to ADL, and money is conserved at every
// step with the micro that the rounding of ADL fills takes (each side pays ceil(size·q·price/d))
// counted in the ledger's `rounded`, which must be what the events' fills say, no more.
import { describe, expect, test, vi } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateBook } from '../../src/gen/generate.js';
import type { Engine } from '../../src/engine/engine.js';
import { loadBookBinaryFile, writeBookColumnsFile } from '../../src/book/binary.js';
import { costMicro, valueDivisor } from '../../src/book/model.js';
import { CRASH_STEPS, crashScenario } from '../support/crash.js';
import { simulate, type SimEvent } from '../../src/sim/simulate.js';
import type { Ledger } from '../../src/sim/ledger.js';
import { evaluateAccount } from '../../src/reference/evaluate.js';
import { MODE_ISOLATED } from '../../src/fixed/constants.js';
import { sweptStatuses } from '../support/scopes.js';

// The run's ledger is private to it: conservedTotal, which the run calls with it once at the start
// and after every step when checkConservation is on, is wrapped to keep it (and count the calls).
const seen = vi.hoisted(() => ({ ledger: null as Ledger | null, calls: 0 }));
vi.mock('../../src/sim/ledger.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/sim/ledger.js')>();
  return {
    ...original,
    conservedTotal: (engine: Engine, ledger: Ledger) => {
      seen.ledger = ledger;
      seen.calls++;
      return original.conservedTotal(engine, ledger);
    },
  };
});

const STEPS = CRASH_STEPS;

/** simulate.test.ts's crash (alts down 20% to 60%), full liquidations, an empty fund: every bankruptcy goes to ADL. */
const crash = crashScenario('proRata', 'full', '0');

describe('a crash on a book with instruments finer than a micro', () => {
  test('liquidates and deleverages positions on them, conserving money at every step; rounding takes a few micro, accounted', async () => {
    // Through the binary book (version 2 holds the fine instruments), as `liq simulate` loads it.
    const dir = mkdtempSync(join(tmpdir(), 'liq-sim-fine-'));
    let engine: Engine;
    try {
      const file = join(dir, 'book.bin');
      writeBookColumnsFile(file, generateBook({ accounts: 3_000, seed: 7, precision: 'venue', profile: 'stress' }));
      engine = loadBookBinaryFile(file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const fine = engine.instruments.map((instrument) => instrument.priceDecimals + instrument.sizeDecimals > 6);
    expect(fine.filter(Boolean).length).toBeGreaterThan(10);
    const events: SimEvent[] = [];
    seen.ledger = null;
    seen.calls = 0;
    // After each step's evaluation every scope's status is the BigInt reference's (the fine
    // instruments' values floored, their cost bases rounded up by the fills before it).
    let compared = 0;
    const onEvaluated = (step: number) => {
      const book = engine.toBook();
      const swept = sweptStatuses(engine);
      book.accounts.forEach((account, a) => {
        const reference = evaluateAccount(book, a);
        expect(swept.accountStatus[a], `step ${step}: ${account.id}'s cross status`).toBe(reference.crossStatus);
        reference.positions.forEach((position, k) => {
          const j = engine.views.accPosStart[a] + k;
          if (engine.views.posMode[j] === MODE_ISOLATED) expect(swept.positionStatus.get(j), `step ${step}: ${account.id}'s position ${k}`).toBe(position.status);
        });
      });
      compared++;
    };
    // checkConservation: the run throws at the first step whose money identity does not hold.
    const result = await simulate({ scenario: crash, engine, checkConservation: true, onEvaluated, onEvent: (event) => events.push(event) });
    expect(compared).toBe(STEPS);
    // It was on: the identity was taken at the start and after each of the 40 steps.
    expect(seen.calls).toBe(STEPS + 1);

    const onFine = (kind: SimEvent['kind']) => events.filter((e) => e.kind === kind && e.instrument >= 0 && fine[e.instrument]);
    // Liquidations on the fine instruments: isolated scopes on them, and the liquidation orders
    // (cross or isolated) that closed positions on them at the market.
    const isolated = onFine('liquidation');
    const fills = onFine('fill');
    const adlFills = onFine('adl-fill');
    const counterparties = onFine('adl-counterparty');
    const decimals = (e: SimEvent) => engine.instruments[e.instrument].priceDecimals + engine.instruments[e.instrument].sizeDecimals;
    const sevenOrEight = adlFills.filter((e) => decimals(e) <= 8).length;
    console.log(
      `fine instruments: ${fine.filter(Boolean).length} of ${fine.length}; scopes liquidated ${result.totals.scopesLiquidated}; ` +
        `on fine instruments: ${isolated.length} isolated liquidations, ${fills.length} market fills, ` +
        `${adlFills.length} ADL fills (${sevenOrEight} at pd + sd 7 or 8, ${adlFills.length - sevenOrEight} at 9 to 12) against ${counterparties.length} counterparty fills; ` +
        `rounded ${seen.ledger!.rounded}`,
    );
    // Seed 7 gives 318 isolated liquidations, 538 market fills, 497 ADL fills (417 + 80) against
    // 2,854 counterparty fills: the bounds leave room for changes to the generator and the run.
    expect(isolated.length).toBeGreaterThan(100);
    expect(fills.length).toBeGreaterThan(100);
    expect(sevenOrEight).toBeGreaterThan(100);
    expect(adlFills.length - sevenOrEight).toBeGreaterThan(20);

    // `rounded`: what the two sides of every ADL fill paid over its exact zero sum, each side
    // ceil(size·q·price/d), recomputed from the events (0 on an instrument with d = 1).
    const adl = events.filter((e) => e.kind === 'adl-fill' || e.kind === 'adl-counterparty');
    let expected = 0n;
    for (const e of adl) {
      const instrument = engine.instruments[e.instrument];
      expected += costMicro(e.sizeUnits, engine.views.instQ[e.instrument], valueDivisor(instrument), e.priceUnits);
    }
    const rounded = seen.ledger!.rounded;
    expect(rounded).toBe(expected);
    expect(rounded).toBeGreaterThan(0n);
    // Small: per ADL fill, at most a micro for each counterparty (the ceilings of k + 1 amounts
    // summing to 0 exceed it by less than k + 1).
    expect(rounded).toBeLessThanOrEqual(BigInt(counterparties.length));
  });
});
