// The cascade simulator: hand-checked liquidations, the fund, ADL under each policy, money conserved
// at every step, and runs that do not depend on the workers.
import { describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../../src/engine/engine.js';
import { engineWith } from '../support/sim.js';
import { writeBookColumnsFile, loadBookBinaryFile } from '../../src/book/binary.js';
import { generateBook } from '../../src/gen/generate.js';
import { SweepPool } from '../../src/pool/pool.js';
import { parseRecordedTicks } from '../../src/sim/paths.js';
import { scenarioFromJsonValue } from '../../src/sim/scenario.js';
import { allocate, simulate, type SimEvent, type SimulationResult, type Winner } from '../../src/sim/simulate.js';
import { Rng } from '../../src/gen/random.js';
import { bookMoney, conservedTotal } from '../../src/sim/ledger.js';
import { eventLine, summaryDocument, timelineHeader, timelineLine } from '../../src/sim/output.js';
import { formatScaled } from '../../src/fixed/decimal.js';

const quote = (micro: bigint) => formatScaled(micro, 6);
import type { AdlPolicy, Scenario } from '../../src/sim/scenario-types.js';
import { crashScenario } from '../support/crash.js';

const M = 1_000_000n;


/** A scenario of recorded prices (CSV rows `step,symbol,price`), no impact unless given. */
function recordedScenario(steps: number, extra: Record<string, unknown> = {}): Scenario {
  return scenarioFromJsonValue({
    version: 1,
    steps,
    stepSeconds: 60,
    prices: { majors: ['BTC'], recorded: { file: 'ticks.csv' } },
    liquidity: { majors: { model: 'none' }, alts: { model: 'none' } },
    liquidation: { mode: 'full', feeRate: 0.005 },
    insuranceFund: '1000',
    ...extra,
  });
}

async function run(engine: Engine, scenario: Scenario, csv: string | null, options: { pool?: SweepPool; seed?: number } = {}) {
  const events: SimEvent[] = [];
  const result = await simulate({
    scenario,
    engine,
    checkConservation: true,
    onEvent: (event) => events.push(event),
    ...(csv === null ? {} : { recorded: parseRecordedTicks(`step,symbol,price\n${csv}`, 'ticks.csv') }),
    ...options,
  });
  return { result, events, of: (kind: SimEvent['kind']) => events.filter((e) => e.kind === kind) };
}

const alice = { id: 'alice', balance: '1000', positions: [] as unknown[] };
const isolatedLong = { instrument: 'BTC', size: '0.04', entryPrice: '50000', mode: 'isolated', margin: '200', leverage: '10' };

describe('hand-checked liquidations', () => {
  test('an isolated long is liquidated at exactly its liquidation price, not a tick above; the fee takes what equity is left', async () => {
    // 200 + 0.04·(P − 50,000) < 0.005·0.04·P  ⇔  P < 1,800 / 0.0398 = 45,226.13…: the tick 45,226.1 is the
    // liquidation price. At 45,226.2 the equity 9.048 is above the maintenance 9.04524; at 45,226.1,
    // 9.044 is below 9.04522.
    const engine = engineWith([{ ...alice, positions: [isolatedLong] }]);
    engine.evaluate();
    expect(engine.accountResult(0).positions[0].liquidationPriceUnits).toBe(452_261n);
    const { result, of } = await run(engine, recordedScenario(3), '0,BTC,50000\n1,BTC,45226.2\n2,BTC,45226.1\n');
    expect(of('liquidation').map((e) => [e.step, e.amountMicro])).toEqual([[2, 9_044_000n]]);
    // Closed at the mark (no impact): realized 0.04·45,226.1 − 2,000 = −190.956. The fee, 0.5% of the
    // notional 1,809.044 (9.04522), is capped at the equity left, 9.044: the margin ends at exactly 0.
    expect(of('fee').map((e) => e.amountMicro)).toEqual([9_044_000n]);
    expect(of('fill').map((e) => [e.sizeUnits, e.priceUnits])).toEqual([[-40n, 452_261n]]);
    expect(engine.views.accPosCount[0]).toBe(0);
    expect(engine.views.accBalance[0]).toBe(1000n * M);
    expect(result.totals.fundEndMicro).toBe(1000n * M + 9_044_000n);
    expect(result.totals.badDebtMicro).toBe(0n);
    expect(result.totals.collateralLostMicro).toBe(200n * M);
  });

  test('an isolated fee comes out of the margin: at most the margin, when the equity is above it', async () => {
    // 6 BTC from 49,900 on a margin of 1,000: notional 300,000 in the 1% bracket, maintenance
    // 3,000 − 1,250 = 1,750; equity 1,000 + 600 = 1,600, liquidatable with the equity above the margin.
    // The fee, 0.5% of 300,000 = 1,500, is cut to the margin; the close returns the 600 of profit.
    const engine = engineWith([{ ...alice, positions: [{ ...isolatedLong, size: '6', entryPrice: '49900', margin: '1000', leverage: '20' }] }]);
    const { of } = await run(engine, recordedScenario(1), '0,BTC,50000\n');
    expect(of('liquidation').map((e) => e.amountMicro)).toEqual([1_600n * M]);
    expect(of('fee').map((e) => e.amountMicro)).toEqual([1_000n * M]);
    expect(engine.views.accBalance[0]).toBe(1_600n * M);
  });

  test('a cross account whose short leg is in profit outlives the same long held isolated', async () => {
    // dave: cross long 0.04 BTC and cross short 1 ETH, wallet 300. erin: the long alone, isolated on 200.
    // With ETH at 2,000 (+500 on the short), dave fails only when 800 + 0.04·(P − 50,000) < 0.005·(0.04·P + 2,000),
    // below P = 30,402.0; erin at 45,226.1 as above.
    const dave = { id: 'dave', balance: '300', positions: [{ instrument: 'BTC', size: '0.04', entryPrice: '50000', mode: 'cross', leverage: '10' }, { instrument: 'ETH', size: '-1', entryPrice: '2500', mode: 'cross', leverage: '10' }] };
    const erin = { id: 'erin', balance: '0', positions: [isolatedLong] };
    const engine = engineWith([dave, erin]);
    const csv = '0,ETH,2000\n0,BTC,50000\n1,BTC,45226.1\n2,BTC,35000\n3,BTC,30402.1\n4,BTC,30402\n';
    const { of } = await run(engine, recordedScenario(5), csv);
    expect(of('liquidation').map((e) => [e.step, engine.accountIds.get(e.account), e.mode])).toEqual([
      [1, 'erin', 'isolated'],
      [4, 'dave', 'cross'],
    ]);
  });

  test('a bankruptcy is covered by the fund, to the micro', async () => {
    // The mark gaps from 50,000 to 44,000, below the bankruptcy price 45,000: closed there, the loss is
    // 240 on a margin of 200; the fund pays the 40 no collateral covers, and no fee is taken.
    const engine = engineWith([{ ...alice, positions: [isolatedLong] }]);
    const { result, of } = await run(engine, recordedScenario(2), '0,BTC,50000\n1,BTC,44000\n');
    expect(of('liquidation').map((e) => [e.step, e.sizeUnits, e.amountMicro])).toEqual([[1, 2n, -40n * M]]);
    expect(of('fee')).toEqual([]);
    expect(of('fund-payment').map((e) => e.amountMicro)).toEqual([40n * M]);
    expect(result.totals.fundEndMicro).toBe(960n * M);
    expect(result.totals.badDebtMicro).toBe(0n);
    expect(engine.views.accBalance[0]).toBe(1000n * M);
  });

  test('a fund too small leaves the rest as bad debt when no one is on the other side', async () => {
    const engine = engineWith([{ ...alice, positions: [isolatedLong] }]);
    const { result, of } = await run(engine, recordedScenario(2, { insuranceFund: '15' }), '0,BTC,50000\n1,BTC,44000\n');
    expect(of('fund-payment').map((e) => e.amountMicro)).toEqual([15n * M]);
    expect(of('bad-debt').map((e) => e.amountMicro)).toEqual([25n * M]);
    expect(result.totals.fundEndMicro).toBe(0n);
    expect(result.totals.badDebtMicro).toBe(25n * M);
  });
});

describe('an empty fund goes to ADL', () => {
  // alice's isolated long is bankrupt at 44,000 (bankruptcy price 45,000); the fund is empty. bob is
  // short 0.06 BTC in cross from 50,000 (+360 at 44,000) on a wallet of 1,000; carol short 0.02 BTC
  // isolated from 48,000 (+80) on a margin of 100. They take alice's 0.04 at 45,000, the price that
  // leaves her at zero: 1,000 a BTC worse than the mark, 40 in all, exactly her deficit.
  const book = () =>
    engineWith([
      { ...alice, positions: [isolatedLong] },
      { id: 'bob', balance: '1000', positions: [{ instrument: 'BTC', size: '-0.06', entryPrice: '50000', mode: 'cross', leverage: '10' }] },
      { id: 'carol', balance: '0', positions: [{ instrument: 'BTC', size: '-0.02', entryPrice: '48000', mode: 'isolated', margin: '100', leverage: '10' }] },
    ]);
  const expected: Record<AdlPolicy, [string, bigint][] | null> = {
    // Queue: carol's profit over collateral times leverage (0.8 × 880/180) ranks above bob's (0.36 × 2,640/1,360).
    queue: [
      ['carol', 20n],
      ['bob', 20n],
    ],
    // Pro-rata: 40 lots over 60 and 20: 30 and 10.
    proRata: [
      ['bob', 30n],
      ['carol', 10n],
    ],
    random: null,
  };
  test('an isolated winner whose margin cannot pay its funding, or the ADL price, is left out', async () => {
    // At 44,000 from the first step: carol, isolated short 0.02 from 48,000 (+80) on a margin of 0.5,
    // owes 0.6 of funding (her snapshot 30 above the index): the margin cannot pay it first. dave,
    // isolated short 0.02 from 44,500 (+10) on a margin of 5, would lose 10 at the ADL price of
    // 45,000: more than his margin. Both are left out, and bob takes all 40 lots.
    const engine = engineWith([
      { ...alice, positions: [isolatedLong] },
      { id: 'bob', balance: '1000', positions: [{ instrument: 'BTC', size: '-0.06', entryPrice: '50000', mode: 'cross', leverage: '10' }] },
      { id: 'carol', balance: '0', positions: [{ instrument: 'BTC', size: '-0.02', entryPrice: '48000', mode: 'isolated', margin: '0.5', leverage: '10', fundingIndex: '30' }] },
      { id: 'dave', balance: '0', positions: [{ instrument: 'BTC', size: '-0.02', entryPrice: '44500', mode: 'isolated', margin: '5', leverage: '100' }] },
    ]);
    const { of } = await run(engine, recordedScenario(1, { insuranceFund: '0', adl: { policy: 'queue' } }), '0,BTC,44000\n');
    expect(of('liquidation').map((e) => engine.accountIds.get(e.account))).toEqual(['alice']);
    expect(of('adl-counterparty').map((e) => [engine.accountIds.get(e.account), e.sizeUnits, e.priceUnits])).toEqual([['bob', 40n, 450_000n]]);
  });

  for (const policy of ['queue', 'proRata', 'random'] as const) {
    test(`${policy}: the winners give up exactly the lots and the money the deficit needs`, async () => {
      const engine = book();
      const { result, of } = await run(engine, recordedScenario(2, { insuranceFund: '0', adl: { policy } }), '0,BTC,50000\n1,BTC,44000\n');
      const takes = of('adl-counterparty').map((e) => [engine.accountIds.get(e.account), e.sizeUnits] as [string, bigint]);
      if (expected[policy] !== null) expect(takes).toEqual(expected[policy]);
      else expect(takes.reduce((sum, [, lots]) => sum + lots, 0n)).toBe(40n);
      expect(of('adl-counterparty').every((e) => e.priceUnits === 450_000n)).toBe(true);
      expect(of('adl-fill').map((e) => [e.sizeUnits, e.priceUnits])).toEqual([[-40n, 450_000n]]);
      expect(result.totals.adlHaircutMicro).toBe(40n * M);
      expect(result.totals.adlNotionalMicro).toBe(1_800n * M);
      // The profit closed: queue takes all of carol's +80 and a third of bob's +360; pro-rata half of
      // bob's and half of carol's. Less the 40 it covered, the overshoot.
      const closed = { queue: 200n * M, proRata: 220n * M, random: null }[policy];
      if (closed !== null) {
        expect(result.totals.adlClosedProfitMicro).toBe(closed);
        expect(summaryDocument(recordedScenario(2), 1, engine, 3, result)).toMatchObject({ totals: { adlOvershoot: quote(closed - 40n * M) } });
      }
      expect(result.totals.badDebtMicro).toBe(0n);
      expect(result.totals.fundEndMicro).toBe(0n);
      // alice ends at zero: her margin went to the loss, nothing back to the wallet, nothing owed.
      expect(engine.views.accBalance[0]).toBe(1000n * M);
      expect(engine.views.accPosCount[0]).toBe(0);
    });
  }
});

describe('ADL allocation', () => {
  const winners = (n: number): Winner[] =>
    Array.from({ length: n }, (_, k) => ({ account: k, slot: k, isolated: false, size: -BigInt(1 + (k % 7)), pnl: BigInt(1 + ((k * 37) % 101)), collateral: 100n, notional: 1_000n }));
  for (const policy of ['queue', 'proRata', 'random'] as const) {
    test(`${policy}: 300,000 winners, whole lots, no more than each holds, exactly what is needed`, () => {
      const list = winners(300_000);
      const { winners: ordered, takes } = allocate(list, 500_000n, 1n, policy, new Rng(1, 111));
      expect(takes.reduce((sum, x) => sum + x, 0n)).toBe(500_000n);
      expect(takes.every((x, k) => x >= 0n && x <= -ordered[k].size)).toBe(true);
      // Every winner once, in the policy's order.
      expect(new Set(ordered.map((w) => w.account)).size).toBe(list.length);
    });
  }
  test('more needed than the winners hold: each gives all it has', () => {
    const list = winners(10);
    const held = list.reduce((sum, w) => sum - w.size, 0n);
    for (const policy of ['queue', 'proRata', 'random'] as const) {
      expect(allocate(winners(10), held + 5n, 1n, policy, new Rng(1, 111)).takes.reduce((sum, x) => sum + x, 0n)).toBe(held);
    }
  });
});

describe('money is conserved, and a run does not depend on the workers', () => {
  function generated(accounts: number): string {
    const dir = mkdtempSync(join(tmpdir(), 'liq-sim-test-'));
    const file = join(dir, 'book.bin');
    writeBookColumnsFile(file, generateBook({ accounts, seed: 7 }));
    return file;
  }

  const cases = [
    ['queue', 'partial', '0'],
    ['proRata', 'full', '0'],
    ['random', 'partial', '50'],
    ['queue', 'full', '100000'],
  ] as const;
  for (const [policy, mode, fund] of cases) {
    test(`${policy} ADL, ${mode} liquidation, fund ${fund}: the money identity holds after every step`, async () => {
      const file = generated(3_000);
      try {
        const engine = loadBookBinaryFile(file);
        // checkConservation (run) throws at the first step the identity breaks.
        const { result } = await run(engine, crashScenario(policy, mode, fund), null);
        expect(result.totals.scopesLiquidated).toBeGreaterThan(100);
        if (fund === '0') expect(result.totals.adlNotionalMicro).toBeGreaterThan(0n);
        else expect(result.totals.feesMicro).toBeGreaterThan(0n);
      } finally {
        rmSync(join(file, '..'), { recursive: true, force: true });
      }
    });
  }

  test('the identity notices a micro moved out of nowhere', () => {
    const engine = engineWith([{ ...alice, positions: [isolatedLong] }]);
    const ledger = { fund: 5n, unrecovered: 0n, marketCash: 0n, rounded: 0n };
    const before = conservedTotal(engine, ledger);
    expect(before).toBe(bookMoney(engine) + 5n);
    engine.views.accBalance[0] += 1n;
    expect(conservedTotal(engine, ledger)).toBe(before + 1n);
  });

  test('the same run on this thread and on 1, 2 and 4 workers writes the same files', async () => {
    const file = generated(4_000);
    try {
      const outputs: string[] = [];
      for (const threads of [0, 1, 2, 4]) {
        const engine = loadBookBinaryFile(file);
        const pool = threads === 0 ? undefined : await SweepPool.open(engine, { threads });
        try {
          const scenario = crashScenario('random', 'partial', '20');
          const positions = engine.positionsUsed;
          const majors = [0, 1, 2, 3, 4];
          const lines: string[] = [timelineHeader(engine, majors)];
          const events: string[] = [];
          const result: SimulationResult = await simulate({
            scenario,
            engine,
            ...(pool ? { pool } : {}),
            onStep: (row) => lines.push(timelineLine(engine, majors, row)),
            onEvent: (event) => events.push(eventLine(engine, event)),
          });
          outputs.push(JSON.stringify(summaryDocument(scenario, 5, engine, positions, result)) + lines.join('') + events.join(''));
          expect(events.length).toBeGreaterThan(500);
        } finally {
          await pool?.close();
        }
      }
      expect(new Set(outputs).size).toBe(1);
    } finally {
      rmSync(join(file, '..'), { recursive: true, force: true });
    }
  });
});
