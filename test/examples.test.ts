// The worked examples of docs/domain.md section 9, the docs/design.md book, the section 3 tier table and the
// edge rules of docs/numbers.md, each asserted exactly through the BigInt reference and again
// through the WASM core (the whole suite runs once per evaluator). Books are
// written in human units and converted to integers by the small helpers below.
import { describe, expect, it } from 'vitest';
import type { Book, Instrument, Position } from '../src/book/model.js';
import { quotePerUnit } from '../src/book/model.js';
import type { ModeName } from '../src/fixed/constants.js';
import { QUOTE_DECIMALS, RATE_DECIMALS } from '../src/fixed/constants.js';
import { parseScaled, significantDecimals } from '../src/fixed/decimal.js';
import { divCeil } from '../src/fixed/rounding.js';
import { Engine } from '../src/engine/engine.js';
import type { AccountResult } from '../src/book/model.js';
import {
  evaluateAccount as referenceEvaluateAccount,
  scopeEquityAt,
  scopeLiquidatableAt,
  tierCumX,
} from '../src/reference/evaluate.js';

// ---------------------------------------------------------------------------------------------
// Human units → integers

function scaled(text: string, decimals: number): bigint {
  const parsed = parseScaled(text, decimals);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value;
}

function decimalsOf(text: string): number {
  const decimals = significantDecimals(text);
  if (decimals === null) throw new Error(`not a decimal: ${text}`);
  return decimals;
}

/** Quote amount in micro. */
const quote = (text: string): bigint => scaled(text, QUOTE_DECIMALS);

/** Price in the instrument's price units. */
const price = (instrument: Instrument, text: string): bigint => scaled(text, instrument.priceDecimals);

interface InstrumentSpec {
  symbol: string;
  tick: string;
  lot: string;
  mark: string;
  /** [upToNotional (quote) or null, maintenance rate as a fraction]; default one tier at 0.5%. */
  tiers?: Array<[string | null, string]>;
  /** Cumulative funding index, quote per base. */
  funding?: string;
}

function instrument(spec: InstrumentSpec): Instrument {
  const priceDecimals = decimalsOf(spec.tick);
  const sizeDecimals = decimalsOf(spec.lot);
  return {
    symbol: spec.symbol,
    priceDecimals,
    sizeDecimals,
    tickUnits: scaled(spec.tick, priceDecimals),
    lotUnits: scaled(spec.lot, sizeDecimals),
    markUnits: scaled(spec.mark, priceDecimals),
    fundingIndex: scaled(spec.funding ?? '0', priceDecimals + 6),
    tiers: (spec.tiers ?? [[null, '0.005']]).map(([upTo, rate]) => ({
      upToNotional: upTo === null ? null : quote(upTo),
      ratePpm: scaled(rate, RATE_DECIMALS),
      leverageMax: 125,
    })),
  };
}

interface PositionSpec {
  size: string; // signed, base
  entry: string; // quote per base
  mode: ModeName;
  margin?: string; // quote, isolated only
  funding?: string; // index at last settlement, quote per base
}

function position(instruments: Instrument[], index: number, spec: PositionSpec): Position {
  const inst = instruments[index];
  const sizeUnits = scaled(spec.size, inst.sizeDecimals);
  return {
    instrument: index,
    sizeUnits,
    costMicro: sizeUnits * quotePerUnit(inst) * price(inst, spec.entry),
    mode: spec.mode,
    marginMicro: spec.margin === undefined ? 0n : quote(spec.margin),
    leverage: 10,
    fundingIndex: scaled(spec.funding ?? '0', inst.priceDecimals + 6),
  };
}

/** One account holding the given positions (instrument index + spec) on the given instruments. */
function book(instruments: Instrument[], balance: string, positions: Array<[number, PositionSpec]>): Book {
  return {
    instruments,
    accounts: [
      {
        id: 'a',
        balanceMicro: quote(balance),
        positions: positions.map(([index, spec]) => position(instruments, index, spec)),
      },
    ],
  };
}

// BTC: tick 0.1 (pd 1), lot 0.001 (sd 3), q = 100. ETH: tick 0.1 (pd 1), lot 0.001 (sd 3).
const btc = (mark: string, extra: Partial<InstrumentSpec> = {}) =>
  instrument({ symbol: 'BTC', tick: '0.1', lot: '0.001', mark, ...extra });
const eth = (mark: string, extra: Partial<InstrumentSpec> = {}) =>
  instrument({ symbol: 'ETH', tick: '0.1', lot: '0.001', mark, ...extra });

const btcLong: PositionSpec = { size: '0.04', entry: '50000', mode: 'isolated', margin: '200' };
const btcLongCross: PositionSpec = { size: '0.04', entry: '50000', mode: 'cross' };
const ethShortCross: PositionSpec = { size: '-0.4', entry: '2500', mode: 'cross' };

/**
 * The reported liquidation price is a liquidating tick, and the next tick toward the mark is not;
 * the reported bankruptcy price leaves equity ≥ 0 and the next tick beyond it does not.
 */
function expectPricesAreBoundaries(
  evaluateAccount: (b: Book, accountIndex: number) => AccountResult,
  b: Book,
  positionIndex: number,
): void {
  const result = evaluateAccount(b, 0).positions[positionIndex];
  const pos = b.accounts[0].positions[positionIndex];
  const tick = b.instruments[pos.instrument].tickUnits;
  const towardMark = pos.sizeUnits > 0n ? tick : -tick;
  const liq = result.liquidationPriceUnits;
  expect(liq).not.toBeNull();
  expect(scopeLiquidatableAt(b, 0, positionIndex, liq!)).toBe(true);
  expect(scopeLiquidatableAt(b, 0, positionIndex, liq! + towardMark)).toBe(false);
  const bk = result.bankruptcyPriceUnits;
  expect(bk).not.toBeNull();
  expect(scopeEquityAt(b, 0, positionIndex, bk!)).toBeGreaterThanOrEqual(0n);
  if (bk! - towardMark > 0n) expect(scopeEquityAt(b, 0, positionIndex, bk! - towardMark)).toBeLessThan(0n);
}

// ---------------------------------------------------------------------------------------------

function kernelEvaluateAccount(b: Book, accountIndex: number): AccountResult {
  const engine = Engine.fromBook(b);
  engine.evaluate();
  return engine.accountResult(accountIndex);
}

const EVALUATORS: Array<[string, (b: Book, accountIndex: number) => AccountResult]> = [
  ['reference', referenceEvaluateAccount],
  ['kernel', kernelEvaluateAccount],
];

describe.each(EVALUATORS)('%s', (_name, evaluateAccount) => {
  const evaluateBook = (b: Book): AccountResult[] => b.accounts.map((_account, a) => evaluateAccount(b, a));

  describe('docs/domain.md worked examples', () => {
    it('E1: isolated BTC long after an 8% fall', () => {
      const b = book([btc('46000')], '1800', [[0, btcLong]]);
      const r = evaluateAccount(b, 0);
      const p = r.positions[0];
      expect(p.unrealizedPnlMicro).toBe(quote('-160'));
      expect(p.equityMicro).toBe(quote('40'));
      expect(p.maintenanceMicro).toBe(quote('9.2'));
      expect(p.status).toBe('healthy');
      // B still 1,800 and the cross pool holds nothing.
      expect(r.crossEquityMicro).toBe(quote('1800'));
      expect(r.crossMaintenanceMicro).toBe(0n);
      expect(r.crossStatus).toBe('healthy');
      // An isolated liquidation price does not move with the mark: the same as E5's.
      expect(p.liquidationPriceUnits).toBe(price(b.instruments[0], '45226.1'));
      expect(p.bankruptcyPriceUnits).toBe(price(b.instruments[0], '45000'));
    });

    it('E2: the same BTC long in cross', () => {
      const r = evaluateAccount(book([btc('46000')], '2000', [[0, btcLongCross]]), 0);
      expect(r.positions[0].unrealizedPnlMicro).toBe(quote('-160'));
      expect(r.crossEquityMicro).toBe(quote('1840'));
      expect(r.crossMaintenanceMicro).toBe(quote('9.2'));
      expect(r.positions[0].maintenanceMicro).toBe(quote('9.2'));
      expect(r.crossStatus).toBe('healthy');
      // Cross positions carry no equity or status of their own.
      expect(r.positions[0].equityMicro).toBeNull();
      expect(r.positions[0].status).toBeNull();
    });

    it('E3: BTC long and ETH short in one cross pool', () => {
      const r = evaluateAccount(book([btc('46000'), eth('2700')], '2000', [[0, btcLongCross], [1, ethShortCross]]), 0);
      expect(r.positions[0].unrealizedPnlMicro).toBe(quote('-160'));
      expect(r.positions[1].unrealizedPnlMicro).toBe(quote('-80'));
      expect(r.crossEquityMicro).toBe(quote('1760'));
      expect(r.positions[0].maintenanceMicro).toBe(quote('9.2'));
      expect(r.positions[1].maintenanceMicro).toBe(quote('5.4'));
      expect(r.crossMaintenanceMicro).toBe(quote('14.6'));
      expect(r.crossStatus).toBe('healthy');
    });

    it('E4: the same two positions, each isolated with M = 200', () => {
      const b = book([btc('46000'), eth('2700')], '1600', [
        [0, btcLong],
        [1, { ...ethShortCross, mode: 'isolated', margin: '200' }],
      ]);
      const r = evaluateAccount(b, 0);
      expect(r.positions[0].equityMicro).toBe(quote('40'));
      expect(r.positions[1].equityMicro).toBe(quote('120'));
      expect(r.positions[0].status).toBe('healthy');
      expect(r.positions[1].status).toBe('healthy');
      expect(r.crossEquityMicro).toBe(quote('1600'));
      expect(r.crossMaintenanceMicro).toBe(0n);
      expect(r.crossStatus).toBe('healthy');
    });

    it('E5: isolated liquidation price 45,226.1 and bankruptcy 45,000', () => {
      const b = book([btc('50000')], '800', [[0, btcLong]]);
      const r = evaluateAccount(b, 0);
      const p = r.positions[0];
      expect(p.unrealizedPnlMicro).toBe(0n);
      expect(p.equityMicro).toBe(quote('200'));
      expect(p.maintenanceMicro).toBe(quote('10'));
      expect(p.status).toBe('healthy');
      expect(p.liquidationPriceUnits).toBe(452_261n);
      expect(p.bankruptcyPriceUnits).toBe(450_000n);
      expect(r.crossEquityMicro).toBe(quote('800'));
      // Max loss is the margin: equity is exactly zero at the bankruptcy price.
      expect(scopeEquityAt(b, 0, 0, 450_000n)).toBe(0n);
      expectPricesAreBoundaries(evaluateAccount, b, 0);
    });

    it('E6: the same long in cross survives to 25,125.6, bankrupt at 25,000', () => {
      const b = book([btc('50000')], '1000', [[0, btcLongCross]]);
      const r = evaluateAccount(b, 0);
      expect(r.crossEquityMicro).toBe(quote('1000'));
      expect(r.crossMaintenanceMicro).toBe(quote('10'));
      expect(r.crossStatus).toBe('healthy');
      expect(r.positions[0].liquidationPriceUnits).toBe(price(b.instruments[0], '25125.6'));
      expect(r.positions[0].bankruptcyPriceUnits).toBe(price(b.instruments[0], '25000'));
      expectPricesAreBoundaries(evaluateAccount, b, 0);
    });

    it('E7: isolated ETH short at 5% (tick 0.1): liquidation 3,174.7, bankruptcy 3,333.3', () => {
      // Root 10,000 / 3.15 = 3,174.603…; the lowest 0.1 tick above it is 3,174.7.
      const b = book([eth('3000', { tiers: [[null, '0.05']] })], '0', [
        [0, { size: '-3', entry: '3000', mode: 'isolated', margin: '1000' }],
      ]);
      const p = evaluateAccount(b, 0).positions[0];
      expect(p.unrealizedPnlMicro).toBe(0n);
      expect(p.equityMicro).toBe(quote('1000'));
      expect(p.maintenanceMicro).toBe(quote('450'));
      expect(p.status).toBe('healthy');
      expect(p.liquidationPriceUnits).toBe(price(b.instruments[0], '3174.7'));
      // Highest 0.1 tick at or below 10,000 / 3 = 3,333.33…
      expect(p.bankruptcyPriceUnits).toBe(price(b.instruments[0], '3333.3'));
      expectPricesAreBoundaries(evaluateAccount, b, 0);
    });

    it('E7 on a 0.01 tick: liquidation 3,174.61, bankruptcy 3,333.33', () => {
      const b = book([eth('3000', { tick: '0.01', tiers: [[null, '0.05']] })], '0', [
        [0, { size: '-3', entry: '3000', mode: 'isolated', margin: '1000' }],
      ]);
      const p = evaluateAccount(b, 0).positions[0];
      expect(p.liquidationPriceUnits).toBe(price(b.instruments[0], '3174.61'));
      expect(p.bankruptcyPriceUnits).toBe(price(b.instruments[0], '3333.33'));
      expectPricesAreBoundaries(evaluateAccount, b, 0);
    });

    it('E8: cross BTC liquidation price with ETH held at 2,700 is 2,145.7', () => {
      const b = book([btc('46000'), eth('2700')], '2000', [[0, btcLongCross], [1, ethShortCross]]);
      const r = evaluateAccount(b, 0);
      // (1,760 − 1,840 − 5.4) / (0.04·0.005 − 0.04) = 2,145.728…
      expect(r.positions[0].liquidationPriceUnits).toBe(price(b.instruments[0], '2145.7'));
      // Equity 1,760 − 1,840 + 0.04·P reaches zero at P = 2,000.
      expect(r.positions[0].bankruptcyPriceUnits).toBe(price(b.instruments[0], '2000'));
      // ETH with BTC held at 46,000: (2,840 − 9.2) / (0.4·1.005) = 7,041.79…; bankrupt above 2,840 / 0.4.
      expect(r.positions[1].liquidationPriceUnits).toBe(price(b.instruments[1], '7041.8'));
      expect(r.positions[1].bankruptcyPriceUnits).toBe(price(b.instruments[1], '7100'));
      expectPricesAreBoundaries(evaluateAccount, b, 0);
      expectPricesAreBoundaries(evaluateAccount, b, 1);
    });
  });

  describe('docs/design.md example book', () => {
    const tiers: Array<[string | null, string]> = [
      ['50000', '0.004'],
      ['250000', '0.005'],
      [null, '0.01'],
    ];

    it('alice: isolated long 0.04 @ 50,000, M = 200', () => {
      const b = book([btc('50000', { tiers })], '1800', [[0, btcLong]]);
      const [r] = evaluateBook(b);
      expect(r.crossEquityMicro).toBe(quote('1800'));
      expect(r.crossMaintenanceMicro).toBe(0n);
      expect(r.crossStatus).toBe('healthy');
      const p = r.positions[0];
      expect(p.unrealizedPnlMicro).toBe(0n);
      expect(p.maintenanceMicro).toBe(quote('8'));
      expect(p.equityMicro).toBe(quote('200'));
      expect(p.status).toBe('healthy');
      expect(p.liquidationPriceUnits).toBe(price(b.instruments[0], '45180.7'));
      expect(p.bankruptcyPriceUnits).toBe(price(b.instruments[0], '45000'));
      expectPricesAreBoundaries(evaluateAccount, b, 0);
    });
  });

  describe('docs/domain.md section 3 tier table', () => {
    const floors = [
      '0', '50000', '250000', '1000000', '10000000', '20000000', '50000000', '100000000', '200000000', '300000000',
    ];
    const rates = ['0.004', '0.005', '0.01', '0.025', '0.05', '0.1', '0.125', '0.15', '0.25', '0.5'];
    const cums = ['0', '50', '1300', '16300', '266300', '1266300', '2516300', '5016300', '25016300', '100016300'];
    // Whole quote per size unit and per price unit (q = 10^6), so notional N is the mark times the size.
    const table = (mark: string) =>
      instrument({
        symbol: 'T',
        tick: '1',
        lot: '1',
        mark,
        tiers: rates.map((rate, k) => [k + 1 < floors.length ? floors[k + 1] : null, rate]),
      });
    // Maintenance of a one-unit cross position, i.e. MM at a notional equal to the mark.
    const maintenanceAt = (mark: string) => {
      const b = book([table(mark)], '0', [[0, { size: '1', entry: '1', mode: 'cross' }]]);
      return evaluateAccount(b, 0).positions[0].maintenanceMicro;
    };

    it('cumX_k = cum_k · 10^12 (micro·ppm)', () => {
      expect(tierCumX(table('1'))).toEqual(cums.map((cum) => quote(cum) * 1_000_000n));
    });

    it('MM is continuous at every floor: bracket k−1 and bracket k lines meet there', () => {
      const inst = table('1');
      const cumX = tierCumX(inst);
      for (let k = 1; k < floors.length; k++) {
        const floor = quote(floors[k]);
        expect(floor * inst.tiers[k - 1].ratePpm - cumX[k - 1]).toBe(floor * inst.tiers[k].ratePpm - cumX[k]);
      }
    });

    it('maintenance at each floor (bracket k−1) and one quote above it (bracket k)', () => {
      const inst = table('1');
      const cumX = tierCumX(inst);
      for (let k = 1; k < floors.length; k++) {
        const floorMicro = quote(floors[k]);
        const aboveMicro = floorMicro + quote('1');
        expect(maintenanceAt(floors[k])).toBe(divCeil(floorMicro * inst.tiers[k - 1].ratePpm - cumX[k - 1], 1_000_000n));
        expect(maintenanceAt(String(BigInt(floors[k]) + 1n))).toBe(
          divCeil(aboveMicro * inst.tiers[k].ratePpm - cumX[k], 1_000_000n),
        );
      }
    });

    it('maintenance in human units at a few notionals', () => {
      expect(maintenanceAt('1000000')).toBe(quote('8700')); // 1% − 1,300 = 2.5% − 16,300
      expect(maintenanceAt('1000001')).toBe(quote('8700.025'));
      expect(maintenanceAt('400000000')).toBe(quote('99983700')); // 50% − 100,016,300
    });

    it('short liquidation root in a higher bracket than the current notional', () => {
      // Cross short 10 @ 20,000 (notional 200k, bracket 1), B = 60,000. The smallest root is in
      // bracket 2: (260,000 + 1,300) / (10 · 1.01) = 25,871.28…
      const b = book([table('20000')], '60000', [[0, { size: '-10', entry: '20000', mode: 'cross' }]]);
      const r = evaluateAccount(b, 0);
      expect(r.crossMaintenanceMicro).toBe(quote('950'));
      expect(r.positions[0].liquidationPriceUnits).toBe(25_872n);
      expect(r.positions[0].bankruptcyPriceUnits).toBe(26_000n);
      expectPricesAreBoundaries(evaluateAccount, b, 0);
    });

    it('long liquidation root in a lower bracket than the current notional', () => {
      // Isolated long 10 @ 30,000 (notional 300k, bracket 2), M = 60,000. The largest root is in
      // bracket 1: (240,000 − 50) / (10 · 0.995) = 24,115.57…
      const b = book([table('30000')], '0', [[0, { size: '10', entry: '30000', mode: 'isolated', margin: '60000' }]]);
      const p = evaluateAccount(b, 0).positions[0];
      expect(p.maintenanceMicro).toBe(quote('1700'));
      expect(p.liquidationPriceUnits).toBe(24_115n);
      expect(p.bankruptcyPriceUnits).toBe(24_000n);
      expectPricesAreBoundaries(evaluateAccount, b, 0);
    });
  });

  describe('funding owed', () => {
    // One lot (0.001 BTC) at entry = mark, so the unrealized PnL is exactly minus the funding owed.
    const owedBy = (size: string, index: string) => {
      const b = book([btc('50000', { funding: index })], '0', [[0, { size, entry: '50000', mode: 'cross' }]]);
      return -evaluateAccount(b, 0).positions[0].unrealizedPnlMicro;
    };

    it('rounds toward +∞ for a long (pays) and for a short (receives less)', () => {
      // ΔF = 10^-7 quote per BTC: 0.001 BTC owes 10^-10 quote, i.e. 10^-4 micro.
      expect(owedBy('0.001', '0.0000001')).toBe(1n);
      expect(owedBy('-0.001', '0.0000001')).toBe(0n);
      expect(owedBy('0.001', '-0.0000001')).toBe(0n);
      expect(owedBy('-0.001', '-0.0000001')).toBe(1n);
    });

    it('is exact when whole: 0.04 BTC at ΔF = 1.5 owes 0.06', () => {
      expect(owedBy('0.04', '1.5')).toBe(quote('0.06'));
      expect(owedBy('-0.04', '1.5')).toBe(quote('-0.06'));
    });

    it('reduces the isolated scope, not the wallet', () => {
      const b = book([btc('50000', { funding: '1.5' })], '800', [[0, btcLong]]);
      const r = evaluateAccount(b, 0);
      expect(r.positions[0].equityMicro).toBe(quote('199.94'));
      expect(r.crossEquityMicro).toBe(quote('800'));
      // 1,800.06 / 0.0398 = 45,227.63…
      expect(r.positions[0].liquidationPriceUnits).toBe(price(b.instruments[0], '45227.6'));
      expectPricesAreBoundaries(evaluateAccount, b, 0);
    });
  });

  describe('status and edge rules', () => {
    it('a zero-size position has no maintenance and no prices', () => {
      const b = book([btc('50000'), eth('3000')], '100', [
        [0, { size: '0', entry: '50000', mode: 'cross' }],
        [1, { size: '0', entry: '3000', mode: 'isolated', margin: '5' }],
      ]);
      const r = evaluateAccount(b, 0);
      for (const p of r.positions) {
        expect(p.unrealizedPnlMicro).toBe(0n);
        expect(p.maintenanceMicro).toBe(0n);
        expect(p.liquidationPriceUnits).toBeNull();
        expect(p.bankruptcyPriceUnits).toBeNull();
      }
      expect(r.positions[1].equityMicro).toBe(quote('5'));
      expect(r.positions[1].status).toBe('healthy');
      expect(r.crossMaintenanceMicro).toBe(0n);
      expect(r.crossStatus).toBe('healthy');
    });

    it('a flat isolated scope with negative equity is bankrupt (rule applied as written)', () => {
      // A loader cannot produce this (a flat position has zero cost basis); the rule still decides it.
      const b = book([btc('50000')], '0', [[0, { size: '0', entry: '50000', mode: 'isolated', margin: '0' }]]);
      b.accounts[0].positions[0].costMicro = 5n;
      expect(evaluateAccount(b, 0).positions[0].status).toBe('bankrupt');
    });

    it('cross with no open position is healthy even with a negative balance', () => {
      const empty = evaluateAccount(book([btc('50000')], '-5', []), 0);
      expect(empty.crossEquityMicro).toBe(quote('-5'));
      expect(empty.crossMaintenanceMicro).toBe(0n);
      expect(empty.crossStatus).toBe('healthy');
      const flat = evaluateAccount(book([btc('50000')], '-5', [[0, { size: '0', entry: '50000', mode: 'cross' }]]), 0);
      expect(flat.crossStatus).toBe('healthy');
    });

    it('a scope exactly at maintenance is not liquidatable; one micro below it is', () => {
      // At 46,000 the long loses 160 and needs 9.2: M (or B) = 169.2 leaves equity = maintenance.
      const iso = (margin: string) =>
        evaluateAccount(book([btc('46000')], '0', [[0, { ...btcLong, margin }]]), 0).positions[0].status;
      expect(iso('169.2')).toBe('healthy');
      expect(iso('169.199999')).toBe('liquidatable');
      const cross = (balance: string) =>
        evaluateAccount(book([btc('46000')], balance, [[0, btcLongCross]]), 0).crossStatus;
      expect(cross('169.2')).toBe('healthy');
      expect(cross('169.199999')).toBe('liquidatable');
    });

    it('bankrupt below zero equity, liquidatable between zero and maintenance', () => {
      const iso = evaluateAccount(book([btc('46000')], '1800', [[0, { ...btcLong, margin: '150' }]]), 0);
      expect(iso.positions[0].equityMicro).toBe(quote('-10'));
      expect(iso.positions[0].status).toBe('bankrupt');
      expect(iso.crossStatus).toBe('healthy'); // the wallet is not drawn in
      const cross = (balance: string) => evaluateAccount(book([btc('46000')], balance, [[0, btcLongCross]]), 0);
      expect(cross('150').crossEquityMicro).toBe(quote('-10'));
      expect(cross('150').crossStatus).toBe('bankrupt');
      expect(cross('160').crossStatus).toBe('liquidatable'); // equity 0 is not bankrupt
    });

    it('an over-collateralised long has neither liquidation nor bankruptcy price', () => {
      for (const margin of ['2000', '2500']) {
        const b = book([btc('50000')], '0', [[0, { ...btcLong, margin }]]);
        const p = evaluateAccount(b, 0).positions[0];
        expect(p.liquidationPriceUnits).toBeNull();
        expect(p.bankruptcyPriceUnits).toBeNull();
        // It survives a fall to the smallest tick.
        expect(scopeLiquidatableAt(b, 0, 0, b.instruments[0].tickUnits)).toBe(false);
      }
      const cross = book([btc('50000')], '5000', [[0, btcLongCross]]);
      expect(evaluateAccount(cross, 0).positions[0].liquidationPriceUnits).toBeNull();
    });

    it('a short liquidatable at every price has neither price', () => {
      const b = book([btc('50000')], '-1000000', [[0, { size: '-0.04', entry: '50000', mode: 'cross' }]]);
      const p = evaluateAccount(b, 0).positions[0];
      expect(p.liquidationPriceUnits).toBeNull();
      expect(p.bankruptcyPriceUnits).toBeNull();
      expect(scopeLiquidatableAt(b, 0, 0, b.instruments[0].tickUnits)).toBe(true);
    });

    it('a short whose root lies beyond 10^15 price units has neither price', () => {
      // pd 6, sd 0: q = 1; a 10^10-quote margin on one unit puts both prices near 10^16 units.
      const inst = instrument({ symbol: 'X', tick: '0.000001', lot: '1', mark: '1' });
      const b = book([inst], '0', [[0, { size: '-1', entry: '1', mode: 'isolated', margin: '10000000000' }]]);
      const p = evaluateAccount(b, 0).positions[0];
      expect(p.liquidationPriceUnits).toBeNull();
      expect(p.bankruptcyPriceUnits).toBeNull();
    });

    it('scope equity is linear in the price with slope z·q', () => {
      const b = book([btc('46000'), eth('2700')], '2000', [[0, btcLongCross], [1, ethShortCross]]);
      const at = (positionIndex: number, p: bigint) => scopeEquityAt(b, 0, positionIndex, p);
      expect(at(0, 460_000n)).toBe(quote('1760'));
      expect(at(0, 460_001n) - at(0, 460_000n)).toBe(40n * 100n);
      expect(at(0, 100_000n) - at(0, 460_000n)).toBe(40n * 100n * (100_000n - 460_000n));
      expect(at(1, 27_001n) - at(1, 27_000n)).toBe(-400n * 100n);
    });

  });
});

describe('reference assertions', () => {
  // The kernel trusts the loaders (src/book/) to have refused such books; the reference asserts.
  it('refuses a book that breaks an invariant the arithmetic relies on', () => {
    const badRate = book([btc('50000', { tiers: [[null, '1']] })], '0', [[0, btcLong]]);
    expect(() => referenceEvaluateAccount(badRate, 0)).toThrow(/rate/);
    const twice = book([btc('50000')], '0', [[0, btcLongCross], [0, btcLongCross]]);
    expect(() => referenceEvaluateAccount(twice, 0)).toThrow(/two cross positions/);
    const zeroTick = book([btc('50000')], '0', [[0, btcLong]]);
    zeroTick.instruments[0].tickUnits = 0n;
    expect(() => referenceEvaluateAccount(zeroTick, 0)).toThrow(/tick/);
  });
});
