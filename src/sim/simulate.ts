// The cascade simulator's run: marks from the scenario's paths and the liquidity models' impact,
// an incremental evaluation of the book each step, and the liquidation process of
// docs/simulator.md (orders, fills at the impacted price, the fee to the insurance fund, losses
// past bankruptcy to the fund, ADL when it is empty). The book is the engine's: every change goes
// through the batched update API (applyBatch) and every status comes from the engine's evaluation;
// the figures the process decides with (equity, maintenance, what a close leaves) are exact
// integers from the engine's columns, with the rounding of docs/numbers.md.
import { applyBatch } from '../account/batch.js';
import { fundingOwed, unrealizedPnl, type IndexedAccountOperation, type OperationResult, type RefusalCode } from '../account/operations.js';
import type { Engine } from '../engine/engine.js';
import type { Views } from '../memory/layout.js';
import { IncrementalEvaluator, type StepResult } from '../engine/incremental.js';
import type { SweepPool } from '../pool/pool.js';
import { MODE_CROSS, MODE_ISOLATED, PRICE_UNITS_MAX, STATUS_HEALTHY } from '../fixed/constants.js';
import { abs, divCeil } from '../fixed/rounding.js';
import { LiquidationPlanner, PPM, type LiquidationRule, type PlannedClose } from '../account/liquidation.js';
import { Rng } from '../gen/random.js';
import { Liquidity } from './liquidity.js';
import { conservedTotal, type Ledger } from './ledger.js';
import { exogenousPaths, majorsOf, type RecordedTicks } from './paths.js';
import type { AdlPolicy, Scenario } from './scenario-types.js';

/** The random stream of the random ADL policy (the paths' streams are theirs: src/sim/paths.ts). */
export const STREAM_ADL = 111;

/** Shares (fee rate, buffer) become integers of parts per million, rounded to the nearest. */

export interface SimulationOptions {
  readonly scenario: Scenario;
  readonly engine: Engine;
  /** Evaluates on the pool's workers (sweeps and builds); without it, on this thread. The results are the same. */
  readonly pool?: SweepPool;
  /** Overrides the scenario's seed. */
  readonly seed?: number;
  /** The recorded ticks the scenario names (prices.recorded), read by the caller. */
  readonly recorded?: RecordedTicks;
  readonly onStep?: (row: TimelineRow) => void;
  /**
   * Called after each step's evaluation, before its liquidations: the statuses in memory are then
   * those of the step's marks and of the fills before it (the tests hold them to the reference).
   */
  readonly onEvaluated?: (step: number) => void;
  readonly onEvent?: (event: SimEvent) => void;
  /**
   * After every step, checks the money identity of src/sim/ledger.ts against the engine's columns
   * and throws on any difference: O(positions) a step, for tests.
   */
  readonly checkConservation?: boolean;
}

/** One step of the run, as timeline.csv writes it. Money in micro; prices in each instrument's price units. */
export interface TimelineRow {
  step: number;
  /** Seconds from the start to the end of the step. */
  seconds: number;
  /** How the evaluation went: incremental, sweep or build (docs/incremental.md). */
  path: StepResult['path'];
  evaluated: number;
  /** Failing scopes (liquidatable or bankrupt) found at the step's marks, before its liquidations. */
  failingScopes: number;
  scopesLiquidated: number;
  accountsLiquidated: number;
  /** Notional closed by liquidation orders at their fill prices, long positions (sold) and short (bought), ADL included. */
  liquidatedLongMicro: bigint;
  liquidatedShortMicro: bigint;
  feesMicro: bigint;
  /** What the fund paid this step, and its balance after. */
  fundPaidMicro: bigint;
  fundMicro: bigint;
  /** Losses left uncovered this step (the fund empty and ADL short of them). */
  badDebtMicro: bigint;
  adlNotionalMicro: bigint;
  /** What ADL took from the winners this step: their loss against the mark. */
  adlHaircutMicro: bigint;
  /** Per instrument: the exogenous price and the mark (the exogenous price moved by the impact) of the step. */
  exogenous: bigint[];
  marks: bigint[];
}

export type SimEventKind = 'liquidation' | 'fill' | 'adl-fill' | 'adl-counterparty' | 'fee' | 'fund-payment' | 'bad-debt';

/** One line of the event log (events.csv). */
export interface SimEvent {
  step: number;
  kind: SimEventKind;
  account: number;
  /** The instrument, or −1 (a cross scope's liquidation, a cross deficit). */
  instrument: number;
  mode: 'cross' | 'isolated';
  /** Signed size change (fills), or the scope's status (liquidation: 1 liquidatable, 2 bankrupt). */
  sizeUnits: bigint;
  priceUnits: bigint;
  /** Fees and payments: the amount; liquidation: the scope's equity at the mark; fills: 0. */
  amountMicro: bigint;
}

export interface SimulationTotals {
  steps: number;
  accountsLiquidated: number;
  scopesLiquidated: number;
  liquidatedNotionalMicro: bigint;
  feesMicro: bigint;
  fundStartMicro: bigint;
  fundEndMicro: bigint;
  fundPaidMicro: bigint;
  badDebtMicro: bigint;
  adlNotionalMicro: bigint;
  adlHaircutMicro: bigint;
  /** The unrealized profit ADL closed out of winners' positions (at the mark), against the deficit it covered: the overshoot of docs/simulator.md. */
  adlClosedProfitMicro: bigint;
  adlAccounts: number;
  /** Wallet and margin lost by liquidated accounts (their collateral at the start of the step less what they kept), summed. */
  collateralLostMicro: bigint;
}

export interface SimulationResult {
  totals: SimulationTotals;
  timeline: TimelineRow[];
  /** Per instrument: symbol, whether a major, start mark, lowest and last mark. */
  instruments: { symbol: string; major: boolean; startUnits: bigint; lowUnits: bigint; endUnits: bigint; priceDecimals: number }[];
}

/** A position a liquidation reduces: its slot at decision time and what it closes. */
type Close = PlannedClose;

/** A failing scope and what the step does about it. */
interface Liquidation {
  account: number;
  isolated: boolean;
  /** Isolated: the position's instrument; cross: −1. */
  instrument: number;
  status: number;
  equity: bigint;
  full: boolean;
  closes: Close[];
  fee: bigint;
  /** The position routed to ADL (a full liquidation the fund cannot cover), at `adlPrice`; its other positions go to the market. */
  adl: Close | null;
  adlPrice: bigint;
}

/** An ADL demand: lots of a bankrupt position the winners on the other side take at `price`. */
interface AdlDemand {
  liquidation: Liquidation;
  close: Close;
  price: bigint;
}

/**
 * A run that cannot go on. `code` is the engine's refusal when an operation the run needed was
 * refused: `out_of_range` when a mark, a fill or a payment would take a figure out of the engine's
 * ranges (docs/numbers.md; a book at their edges, or a move past them); any other code, or none, is
 * a bug.
 */
export class SimulationError extends Error {
  override readonly name = 'SimulationError';

  constructor(
    message: string,
    readonly code: RefusalCode | null = null,
  ) {
    super(message);
  }
}

/** Runs the scenario on the engine's book, which it changes. */
export async function simulate(options: SimulationOptions): Promise<SimulationResult> {
  const run = new Run(options);
  return run.all();
}

class Run {
  private readonly engine: Engine;
  private readonly scenario: Scenario;
  private readonly n: number;
  private readonly evaluator: IncrementalEvaluator;
  private readonly liquidity: Liquidity[];
  private readonly planner: LiquidationPlanner;
  private readonly rule: LiquidationRule;
  private readonly paths;
  private readonly majors: Uint8Array;
  private readonly ledger: Ledger;
  private readonly total: bigint | null;
  private readonly adlRandom: Rng;
  /** Accounts with a failing scope after the last evaluation. */
  private readonly failing = new Set<number>();
  /** Accounts the last step's liquidations changed: checked again after the next evaluation. */
  private touched: number[] = [];
  /** The collateral (wallet and isolated margins) of each account the step liquidates, before its liquidations. */
  private readonly collateralBefore = new Map<number, bigint>();
  private readonly liquidatedEver = new Set<number>();
  private readonly adlEver = new Set<number>();
  private readonly timeline: TimelineRow[] = [];
  private readonly low: bigint[];
  private readonly totals: SimulationTotals;
  private row!: TimelineRow;
  private step = 0;

  constructor(private readonly options: SimulationOptions) {
    const { engine, scenario } = options;
    this.engine = engine;
    this.scenario = scenario;
    const instruments = engine.instruments;
    const v = engine.views;
    this.n = instruments.length;
    const seed = options.seed ?? scenario.seed;
    this.majors = majorsOf(scenario.prices, instruments);
    this.paths = exogenousPaths(
      scenario.prices,
      instruments.map((instrument, i) => ({ symbol: instrument.symbol, markUnits: v.instMark[i], priceDecimals: instrument.priceDecimals, tickUnits: instrument.tickUnits })),
      scenario.steps,
      scenario.stepSeconds,
      seed,
      options.recorded,
    );
    const openInterest = grossNotional(engine);
    this.liquidity = instruments.map((instrument, i) => {
      const model = scenario.liquidity.instruments[instrument.symbol] ?? (this.majors[i] === 1 ? scenario.liquidity.majors : scenario.liquidity.alts);
      return new Liquidity(model, openInterest[i], scenario.stepSeconds);
    });
    this.planner = new LiquidationPlanner(engine);
    const fundAmount = scenario.insuranceFund;
    const totalInterest = openInterest.reduce((sum, x) => sum + x, 0n);
    const fund = 'micro' in fundAmount ? fundAmount.micro : BigInt(Math.round(fundAmount.overOpenInterest * Number(totalInterest)));
    this.ledger = { fund, unrecovered: 0n, marketCash: 0n, rounded: 0n };
    this.total = options.checkConservation ? conservedTotal(engine, this.ledger) : null;
    this.rule = {
      mode: scenario.liquidation.mode,
      feePpm: BigInt(Math.round(scenario.liquidation.feeRate * 1e6)),
      bufferPpm: BigInt(Math.round(scenario.liquidation.buffer * 1e6)),
    };
    this.adlRandom = new Rng(seed, STREAM_ADL);
    this.evaluator = new IncrementalEvaluator(engine, options.pool ? { pool: options.pool } : {});
    this.low = Array.from(v.instMark.subarray(0, this.n));
    this.totals = {
      steps: scenario.steps,
      accountsLiquidated: 0,
      scopesLiquidated: 0,
      liquidatedNotionalMicro: 0n,
      feesMicro: 0n,
      fundStartMicro: fund,
      fundEndMicro: fund,
      fundPaidMicro: 0n,
      badDebtMicro: 0n,
      adlNotionalMicro: 0n,
      adlHaircutMicro: 0n,
      adlClosedProfitMicro: 0n,
      adlAccounts: 0,
      collateralLostMicro: 0n,
    };
  }

  async all(): Promise<SimulationResult> {
    const startMarks = Array.from(this.engine.views.instMark.subarray(0, this.n));
    for (this.step = 0; this.step < this.scenario.steps; this.step++) await this.runStep();
    const v = this.engine.views;
    this.totals.fundEndMicro = this.ledger.fund;
    this.totals.accountsLiquidated = this.liquidatedEver.size;
    this.totals.adlAccounts = this.adlEver.size;
    return {
      totals: this.totals,
      timeline: this.timeline,
      instruments: this.engine.instruments.map((instrument, i) => ({
        symbol: instrument.symbol,
        major: this.majors[i] === 1,
        startUnits: startMarks[i],
        lowUnits: this.low[i],
        endUnits: v.instMark[i],
        priceDecimals: instrument.priceDecimals,
      })),
    };
  }

  private async runStep(): Promise<void> {
    const engine = this.engine;
    const v = engine.views;
    const t = this.step;
    // 1. The step's marks: the exogenous price moved by what impact liquidations left.
    const exogenous: bigint[] = [];
    const marks: bigint[] = [];
    const moves: { kind: 'setMark'; instrument: string; priceUnits: bigint }[] = [];
    for (let i = 0; i < this.n; i++) {
      const exo = this.paths.priceUnits(t, i);
      const mark = priceAt(exo, this.liquidity[i].impact);
      exogenous.push(exo);
      marks.push(mark);
      if (mark < this.low[i]) this.low[i] = mark;
      if (mark !== v.instMark[i]) moves.push({ kind: 'setMark', instrument: engine.instruments[i].symbol, priceUnits: mark });
    }
    if (moves.length > 0) {
      const result = applyBatch(engine, moves);
      const refused = result.results.findIndex((r) => !r.ok);
      const refusal = result.results[refused];
      if (refusal !== undefined && !refusal.ok) {
        throw new SimulationError(`step ${t}: the mark of ${moves[refused].instrument} was refused: ${refusal.reason}`, refusal.code);
      }
    }
    // 2. Evaluate, incrementally where it pays.
    const evaluation = await this.evaluator.step();
    this.options.onEvaluated?.(t);
    this.updateFailing(evaluation.changed);
    this.row = {
      step: t,
      seconds: (t + 1) * this.scenario.stepSeconds,
      path: evaluation.path,
      evaluated: evaluation.evaluated,
      failingScopes: evaluation.liquidatable,
      scopesLiquidated: 0,
      accountsLiquidated: 0,
      liquidatedLongMicro: 0n,
      liquidatedShortMicro: 0n,
      feesMicro: 0n,
      fundPaidMicro: 0n,
      fundMicro: 0n,
      badDebtMicro: 0n,
      adlNotionalMicro: 0n,
      adlHaircutMicro: 0n,
      exogenous,
      marks,
    };
    // 3. Liquidate every failing scope.
    if (this.failing.size > 0) this.liquidate(marks);
    for (const liquidity of this.liquidity) liquidity.advance();
    this.row.fundMicro = this.ledger.fund;
    this.timeline.push(this.row);
    this.options.onStep?.(this.row);
    if (this.total !== null) {
      const now = conservedTotal(engine, this.ledger);
      if (now !== this.total) throw new SimulationError(`step ${t}: money not conserved: ${now} against ${this.total} micro at the start`);
    }
  }

  /** Brings the failing set up to date: the accounts whose statuses changed, or all after a sweep. */
  private updateFailing(changed: Uint32Array | null): void {
    if (changed === null) {
      // After a sweep: every account's statuses, in one loop over the columns (a step of a crash
      // on the 10M-account book may take this path a hundred times in a run).
      this.failing.clear();
      const v = this.engine.views;
      const accounts = this.engine.accountCount;
      for (let a = 0; a < accounts; a++) if (failingAccount(v, a)) this.failing.add(a);
    } else {
      for (const a of changed) this.check(a);
    }
    for (const a of this.touched) this.check(a);
    this.touched = [];
  }

  private check(a: number): void {
    if (failingAccount(this.engine.views, a)) this.failing.add(a);
    else this.failing.delete(a);
  }

  private liquidate(marks: bigint[]): void {
    const engine = this.engine;
    const v = engine.views;
    const accounts = [...this.failing].sort((x, y) => x - y);
    // Decide, at the marks: each failing scope's orders.
    const liquidations: Liquidation[] = [];
    const flow = new Array<bigint>(this.n).fill(0n);
    for (const a of accounts) {
      const collateral = collateralOf(engine, a);
      const before = liquidations.length;
      if (v.accStatus[a] !== STATUS_HEALTHY) liquidations.push(this.decide(a, -1, marks));
      const end = v.accPosStart[a] + v.accPosCount[a];
      for (let j = v.accPosStart[a]; j < end; j++) {
        if (v.posMode[j] === MODE_ISOLATED && v.posStatus[j] !== STATUS_HEALTHY) liquidations.push(this.decide(a, j, marks));
      }
      if (liquidations.length === before) throw new SimulationError(`step ${this.step}: account ${a} listed as failing has no failing scope`);
      this.collateralBefore.set(a, collateral);
      this.liquidatedEver.add(a);
      this.row.accountsLiquidated++;
    }
    const units = engine.units;
    for (const liquidation of liquidations) {
      for (const close of liquidation.closes) {
        flow[close.instrument] += units.value(close.instrument, -sign(close.size) * close.closing, marks[close.instrument]);
      }
    }
    // Fill prices: one a step and instrument, the net flow's average through the liquidity model.
    const fills = marks.map((mark, i) => (flow[i] === 0n ? mark : priceAt(mark, this.liquidity[i].execute(Number(flow[i]) / 1e6))));
    // Route: fees, and what the fund cannot cover to ADL.
    let fundLeft = this.ledger.fund;
    for (const liquidation of liquidations) fundLeft = this.route(liquidation, marks, fills, fundLeft);
    // Market orders (and fees) in one batch, each scope's in turn.
    const operations: IndexedAccountOperation[] = [];
    const owners: { liquidation: Liquidation; close: Close | null }[] = [];
    for (const liquidation of liquidations) {
      const { account } = liquidation;
      if (liquidation.fee > 0n) {
        operations.push(
          liquidation.isolated
            ? { kind: 'charge', accountIndex: account, amountMicro: liquidation.fee, instrument: engine.instruments[liquidation.instrument].symbol }
            : { kind: 'charge', accountIndex: account, amountMicro: liquidation.fee },
        );
        owners.push({ liquidation, close: null });
      }
      for (const close of liquidation.closes) {
        if (close === liquidation.adl) continue;
        operations.push(this.fillOf(account, close, -sign(close.size) * close.closing, fills[close.instrument]));
        owners.push({ liquidation, close });
      }
    }
    const market = this.apply(operations);
    const shortfalls = new Map<Liquidation, bigint>();
    for (let k = 0; k < operations.length; k++) {
      const { liquidation, close } = owners[k];
      const result = market[k];
      if (close === null) {
        this.collect(liquidation, result);
        continue;
      }
      if (!result.ok && close.isolated && (result.code === 'loss_exceeds_margin' || result.code === 'funding_exceeds_margin')) {
        // A partial reduce the margin cannot take (its loss at the fill, or the funding it settles
        // first): the position closes whole instead (a close is never refused).
        const [whole] = this.apply([this.fillOf(liquidation.account, close, -close.size, fills[close.instrument])]);
        this.marketFill(liquidation, close, -close.size, fills[close.instrument], whole, shortfalls);
        continue;
      }
      this.marketFill(liquidation, close, -sign(close.size) * close.closing, fills[close.instrument], result, shortfalls);
    }
    // ADL: the winners on the other side take what the fund could not cover, at the ADL prices.
    const demands = liquidations.filter((l) => l.adl !== null).map((l) => ({ liquidation: l, close: l.adl!, price: l.adlPrice }));
    if (demands.length > 0) this.deleverage(demands, fills, shortfalls);
    // What is left below zero: the fund pays what it can; the rest is bad debt.
    this.settleDeficits(liquidations, shortfalls);
    for (const liquidation of liquidations) this.touched.push(liquidation.account);
    for (const a of accounts) {
      const kept = collateralOf(engine, a);
      const lost = this.collateralBefore.get(a)! - kept;
      if (lost > 0n) this.totals.collateralLostMicro += lost;
    }
    this.collateralBefore.clear();
  }

  /** A failing scope's figures at the marks and its orders (src/account/liquidation.ts): every position (full, or bankrupt), or the largest maintenance first until back above the buffer. */
  private decide(a: number, slot: number, marks: bigint[]): Liquidation {
    const plan = this.planner.plan(a, slot, marks, this.rule);
    if (plan === null) {
      const v = this.engine.views;
      // The engine's status and the figures at the marks must agree (docs/domain.md §2): a difference is a bug.
      throw new SimulationError(`step ${this.step}: account ${a} ${slot >= 0 ? `slot ${slot}` : 'cross'}: status ${slot >= 0 ? v.posStatus[slot] : v.accStatus[a]} but its figures at the marks are not failing so`);
    }
    // Built field by field, not by spreading the plan: a spread object here was a slow-mode object
    // whose every later read cost (the gate's crash took 10 s instead of 5.5).
    const liquidation: Liquidation = {
      account: plan.account,
      isolated: plan.isolated,
      instrument: plan.instrument,
      status: plan.status,
      equity: plan.equity,
      full: plan.full,
      closes: plan.closes,
      fee: 0n,
      adl: null,
      adlPrice: 0n,
    };
    this.event('liquidation', a, liquidation.instrument, liquidation.isolated, BigInt(plan.status), 0n, plan.equity);
    this.row.scopesLiquidated++;
    this.totals.scopesLiquidated++;
    return liquidation;
  }

  /**
   * Sets a liquidation's fee and, for a full one whose loss at the fill prices the fund cannot
   * cover, routes its largest position to ADL at the price that leaves the scope at zero with what
   * the fund has. Returns the fund left for the scopes after it.
   */
  private route(liquidation: Liquidation, marks: bigint[], fills: bigint[], fundLeft: bigint): bigint {
    const v = this.engine.views;
    const units = this.engine.units;
    // The scope's equity once its closes fill: each closed unit's value moves from the mark to the fill.
    let atFills = liquidation.equity;
    let notional = 0n;
    for (const close of liquidation.closes) {
      const i = close.instrument;
      const closed = sign(close.size) * close.closing;
      atFills += units.value(i, closed, fills[i]) - units.value(i, closed, marks[i]);
      notional += units.notional(i, closed, fills[i]);
    }
    // A partial close realizes its PnL rounded toward −∞ (a unit of the last digit a position): keep that much aside.
    const safe = liquidation.full ? atFills : atFills - BigInt(liquidation.closes.length);
    let fee = min((notional * this.rule.feePpm) / PPM, max(0n, min(safe, liquidation.equity)));
    // An isolated fee comes out of the margin (charge), before the close returns it to the wallet.
    // The charge comes before the close, from the margin as it stands; the funding the position
    // owes is settled from the margin by the close: leave that (funding it is owed comes after).
    if (liquidation.isolated) {
      const slot = liquidation.closes[0].slot;
      const margin = v.posMargin[slot];
      fee = min(fee, max(0n, min(margin, margin - fundingOwed(this.engine, slot))));
    }
    liquidation.fee = fee;
    if (!liquidation.full || atFills >= 0n) return fundLeft;
    const deficit = -atFills;
    if (deficit <= fundLeft) return fundLeft - deficit;
    // ADL: the largest position (by notional at the mark) closes against the winners instead of the market.
    let pick = liquidation.closes[0];
    const closedNotional = (close: Close, price: bigint): bigint => units.notional(close.instrument, close.closing, price);
    for (const close of liquidation.closes) {
      if (closedNotional(close, marks[close.instrument]) > closedNotional(pick, marks[pick.instrument])) pick = close;
    }
    const q = units.q[pick.instrument];
    const d = units.d[pick.instrument];
    const mark = marks[pick.instrument];
    const closed = sign(pick.size) * pick.closing;
    // The scope with that position at the mark (no impact: it does not go to the market).
    const atMark = atFills + units.value(pick.instrument, closed, mark) - units.value(pick.instrument, closed, fills[pick.instrument]);
    const short = -atMark - fundLeft;
    let price = mark;
    // A value floored from z·q·p/d (d > 1) moves by a micro less than the exact move at worst: one more to cover.
    if (short > 0n) price = mark + sign(pick.size) * (d === 1n ? divCeil(short, pick.closing * q) : divCeil((short + 1n) * d, pick.closing * q));
    liquidation.adl = pick;
    liquidation.adlPrice = price < 1n ? 1n : price > PRICE_UNITS_MAX ? PRICE_UNITS_MAX : price;
    return atMark < 0n ? max(0n, fundLeft + atMark) : fundLeft;
  }

  private fillOf(account: number, close: Close, sizeUnits: bigint, priceUnits: bigint): IndexedAccountOperation {
    return {
      kind: 'fill',
      accountIndex: account,
      instrument: this.engine.instruments[close.instrument].symbol,
      mode: close.isolated ? 'isolated' : 'cross',
      sizeUnits,
      priceUnits,
    };
  }

  private apply(operations: IndexedAccountOperation[]): OperationResult[] {
    return operations.length === 0 ? [] : applyBatch(this.engine, operations).results;
  }

  /** A fee charged: to the fund. */
  private collect(liquidation: Liquidation, result: OperationResult): void {
    if (!result.ok) throw new SimulationError(`step ${this.step}: the fee of account ${liquidation.account} was refused: ${result.reason}`, result.code);
    this.ledger.fund += liquidation.fee;
    this.row.feesMicro += liquidation.fee;
    this.totals.feesMicro += liquidation.fee;
    this.event('fee', liquidation.account, liquidation.instrument, liquidation.isolated, 0n, 0n, liquidation.fee);
  }

  /** A market fill applied: the market's cash moves, the notional is counted, an isolated close's shortfall noted. */
  private marketFill(liquidation: Liquidation, close: Close, sizeUnits: bigint, price: bigint, result: OperationResult, shortfalls: Map<Liquidation, bigint>): void {
    if (!result.ok) {
      throw new SimulationError(
        `step ${this.step}: the liquidation fill of account ${liquidation.account} on ${this.engine.instruments[close.instrument].symbol} was refused: ${result.reason}`,
        result.code,
      );
    }
    const units = this.engine.units;
    // The market takes what the account's reduce paid, ceil(size·q·price/d) (docs/numbers.md: a
    // close realizes floor(closed·q·price/d) against its cost basis): exact when d is 1.
    this.ledger.marketCash += units.cost(close.instrument, sizeUnits, price);
    this.countNotional(close.size, units.notional(close.instrument, sizeUnits, price));
    if (result.shortfallMicro !== undefined && result.shortfallMicro > 0n) {
      shortfalls.set(liquidation, (shortfalls.get(liquidation) ?? 0n) + result.shortfallMicro);
    }
    this.event('fill', liquidation.account, close.instrument, close.isolated, sizeUnits, price, 0n);
  }

  private countNotional(size: bigint, notional: bigint): void {
    if (size > 0n) this.row.liquidatedLongMicro += notional;
    else this.row.liquidatedShortMicro += notional;
    this.totals.liquidatedNotionalMicro += notional;
  }

  /**
   * ADL: for each instrument and side, the winners (positions on the other side in profit at the
   * mark, of accounts not liquidated this step) are reduced, in the policy's order, by the lots the
   * demands need, each demand's lots at its price; the bankrupt positions close against them. Lots
   * no winner can take go to the market at the step's fill price.
   */
  private deleverage(demands: AdlDemand[], fills: bigint[], shortfalls: Map<Liquidation, bigint>): void {
    const engine = this.engine;
    const v = engine.views;
    const groups = new Map<number, AdlDemand[]>();
    for (const demand of demands) {
      const key = demand.close.instrument * 2 + (demand.close.size > 0n ? 0 : 1);
      const list = groups.get(key) ?? [];
      list.push(demand);
      groups.set(key, list);
    }
    // The winners able to take a demand at the farthest ADL price of its group (an isolated one
    // whose margin that price would not take below zero), found for every group in one pass.
    const gaps = new Map<number, bigint>();
    for (const [key, group] of groups) {
      const mark = v.instMark[key >> 1];
      gaps.set(key, group.reduce((far, d) => (abs(d.price - mark) > far ? abs(d.price - mark) : far), 0n));
    }
    const found = this.winnersOf(gaps);
    const units = engine.units;
    for (const [key, group] of [...groups].sort((x, y) => x[0] - y[0])) {
      const i = key >> 1;
      const symbol = engine.instruments[i].symbol;
      const mark = v.instMark[i];
      // The winners in the policy's order, and their lots.
      const needed = group.reduce((sum, d) => sum + d.close.closing, 0n);
      const { winners, takes } = allocate(found.get(key)!, needed, engine.instruments[i].lotUnits, this.scenario.adl.policy, this.adlRandom);
      let available = takes.reduce((sum, x) => sum + x, 0n);
      let w = 0;
      let leftOfWinner = takes[0] ?? 0n;
      for (const demand of group) {
        const { liquidation, close } = demand;
        const direction = -sign(close.size);
        // An isolated position is closed whole, at one price: against winners only if they can take all of it.
        const matched = close.isolated && available < close.closing ? 0n : min(available, close.closing);
        available -= matched;
        let want = matched;
        const operations: IndexedAccountOperation[] = [];
        const parts: { winner: Winner; lots: bigint }[] = [];
        while (want > 0n) {
          if (leftOfWinner === 0n) {
            w++;
            leftOfWinner = takes[w];
            continue;
          }
          const lots = min(want, leftOfWinner);
          const winner = winners[w];
          operations.push({ kind: 'fill', accountIndex: winner.account, instrument: symbol, mode: winner.isolated ? 'isolated' : 'cross', sizeUnits: -sign(winner.size) * lots, priceUnits: demand.price });
          parts.push({ winner, lots });
          leftOfWinner -= lots;
          want -= lots;
        }
        const results = this.apply(operations);
        // What the rounding of these reduces takes from the two sides (docs/numbers.md): each pays
        // ceil(size·q·price/d) of its fill, and the sizes sum to zero. 0 when d is 1.
        let rounded = 0n;
        for (let k = 0; k < results.length; k++) {
          const result = results[k];
          if (!result.ok) throw new SimulationError(`step ${this.step}: an ADL fill of account ${parts[k].winner.account} was refused: ${result.reason}`, result.code);
          const { winner, lots } = parts[k];
          rounded += units.cost(i, -sign(winner.size) * lots, demand.price);
          const haircut = abs(units.value(i, lots, demand.price) - units.value(i, lots, mark));
          this.row.adlHaircutMicro += haircut;
          this.totals.adlHaircutMicro += haircut;
          // The profit closed out: the winner's unrealized PnL on those lots at the mark.
          this.totals.adlClosedProfitMicro += (winner.pnl * lots) / abs(winner.size);
          this.adlEver.add(winner.account);
          this.event('adl-counterparty', winner.account, i, winner.isolated, -sign(winner.size) * lots, demand.price, haircut);
        }
        if (matched > 0n) {
          const [result] = this.apply([this.fillOf(liquidation.account, close, direction * matched, demand.price)]);
          if (!result.ok) throw new SimulationError(`step ${this.step}: the ADL fill of account ${liquidation.account} was refused: ${result.reason}`, result.code);
          if (result.shortfallMicro !== undefined && result.shortfallMicro > 0n) shortfalls.set(liquidation, (shortfalls.get(liquidation) ?? 0n) + result.shortfallMicro);
          rounded += units.cost(i, direction * matched, demand.price);
          this.ledger.rounded += rounded;
          const notional = units.notional(i, matched, demand.price);
          this.row.adlNotionalMicro += notional;
          this.totals.adlNotionalMicro += notional;
          this.countNotional(close.size, notional);
          this.event('adl-fill', liquidation.account, i, close.isolated, direction * matched, demand.price, 0n);
        }
        const rest = close.closing - matched;
        if (rest > 0n) {
          // No winner left for them: these lots go to the market after all (a close, or a cross reduce: never refused).
          const [result] = this.apply([this.fillOf(liquidation.account, close, direction * rest, fills[i])]);
          this.marketFill(liquidation, close, direction * rest, fills[i], result, shortfalls);
        }
      }
    }
  }

  /**
   * The winners of each group (key: instrument·2, + 1 for a bankrupt short; value: the group's
   * largest distance in price units from the mark to an ADL price): the positions on the instrument
   * on the other side (shorts for a bankrupt long), in profit at the mark, of accounts not liquidated
   * this step; an isolated one only if its margin covers the funding it owes and stays above zero once
   * the position is valued `gap` price units against it from the mark (with a micro to spare a lot:
   * what a reduce rounds). One pass over the book for every group of the step, in account order.
   */
  private winnersOf(gaps: Map<number, bigint>): Map<number, Winner[]> {
    const engine = this.engine;
    const v = engine.views;
    const lists = new Map<number, Winner[]>();
    const wanted = new Uint8Array(this.n);
    for (const key of gaps.keys()) {
      wanted[key >> 1] = 1;
      lists.set(key, []);
    }
    for (let a = 0; a < engine.accountCount; a++) {
      const end = v.accPosStart[a] + v.accPosCount[a];
      for (let j = v.accPosStart[a]; j < end; j++) {
        const i = v.posInst[j];
        if (wanted[i] === 0) continue;
        const size = v.posSize[j];
        // A short is a winner of a bankrupt long's group (key 2i), a long of a bankrupt short's (2i + 1).
        const key = i * 2 + (size > 0n ? 1 : 0);
        const gap = gaps.get(key);
        if (gap === undefined || size === 0n || this.failing.has(a)) continue;
        const pnl = unrealizedPnl(engine, j);
        if (pnl <= 0n) continue;
        const isolated = v.posMode[j] === MODE_ISOLATED;
        if (isolated) {
          // A reduce settles the funding owed from the margin first, then realizes its share of the
          // position's PnL at the ADL price.
          const owed = fundingOwed(engine, j);
          const atPrice = pnl + owed - engine.units.cost(i, abs(size), gap); // the move against it, rounded up
          const lots = abs(size) / engine.instruments[i].lotUnits;
          if (v.posMargin[j] - owed + (atPrice < 0n ? atPrice : 0n) - lots <= 0n) continue;
        }
        const collateral = isolated ? v.posMargin[j] : v.accBalance[a];
        const notional = engine.units.notional(i, size, v.instMark[i]);
        lists.get(key)!.push({ account: a, slot: j, isolated, size, pnl, collateral, notional });
      }
    }
    return lists;
  }

  /** Deficits after the fills: an isolated close's shortfall, a cross pool left with no position and a negative wallet. The fund pays; the rest is bad debt. */
  private settleDeficits(liquidations: Liquidation[], shortfalls: Map<Liquidation, bigint>): void {
    const v = this.engine.views;
    const deposits: IndexedAccountOperation[] = [];
    for (const liquidation of liquidations) {
      const a = liquidation.account;
      let deficit = 0n;
      if (liquidation.isolated) deficit = shortfalls.get(liquidation) ?? 0n;
      else if (v.accBalance[a] < 0n && !holdsCross(this.engine, a)) deficit = -v.accBalance[a];
      if (deficit === 0n) continue;
      const paid = min(deficit, this.ledger.fund);
      if (paid > 0n) {
        this.ledger.fund -= paid;
        this.row.fundPaidMicro += paid;
        this.totals.fundPaidMicro += paid;
        // A cross deficit is the wallet's: the fund pays it in. An isolated shortfall was charged to
        // no account: the fund's payment covers it (the book's money went up by it at the close).
        if (!liquidation.isolated) deposits.push({ kind: 'deposit', accountIndex: a, amountMicro: paid });
        this.event('fund-payment', a, liquidation.instrument, liquidation.isolated, 0n, 0n, paid);
      }
      const rest = deficit - paid;
      if (rest > 0n) {
        // A cross deficit stays on the account (its wallet negative); an isolated one is owed to the market.
        if (liquidation.isolated) {
          this.ledger.unrecovered += rest;
        }
        this.row.badDebtMicro += rest;
        this.totals.badDebtMicro += rest;
        this.event('bad-debt', a, liquidation.instrument, liquidation.isolated, 0n, 0n, rest);
      }
    }
    const results = this.apply(deposits);
    const refused = results.find((r) => !r.ok);
    if (refused && !refused.ok) throw new SimulationError(`step ${this.step}: a fund payment was refused: ${refused.reason}`, refused.code);
  }

  private event(kind: SimEventKind, account: number, instrument: number, isolated: boolean, sizeUnits: bigint, priceUnits: bigint, amountMicro: bigint): void {
    this.options.onEvent?.({ step: this.step, kind, account, instrument, mode: isolated ? 'isolated' : 'cross', sizeUnits, priceUnits, amountMicro });
  }
}

export interface Winner {
  account: number;
  slot: number;
  isolated: boolean;
  size: bigint;
  /** Unrealized PnL at the mark, > 0. */
  pnl: bigint;
  /** The isolated margin, or the wallet. */
  collateral: bigint;
  notional: bigint;
}

/**
 * The winners in the order the policy takes from them, and the lots each gives up, to cover
 * `needed` size units: whole lots, none more than its size: the queue ranks by profit over collateral times notional over equity
 * (Binance's ranking: profit ratio × effective leverage), the highest first; pro-rata takes from
 * each in proportion to its size (largest remainders, then account order, for the lots left);
 * random draws the order from the seeded stream. Ties go to the lower account.
 */
export function allocate(winners: readonly Winner[], needed: bigint, lot: bigint, policy: AdlPolicy, random: Rng): { winners: Winner[]; takes: bigint[] } {
  const takes = new Array<bigint>(winners.length).fill(0n);
  if (winners.length === 0 || needed <= 0n) return { winners: [...winners], takes };
  const lotsOf = (w: Winner) => abs(w.size) / lot;
  let want = (needed + lot - 1n) / lot;
  const order = winners.map((_, k) => k);
  if (policy === 'proRata') {
    const total = winners.reduce((sum, w) => sum + lotsOf(w), 0n);
    if (want >= total) return { winners: [...winners], takes: winners.map((w) => lotsOf(w) * lot) };
    const remainders: { k: number; rest: bigint }[] = [];
    for (let k = 0; k < winners.length; k++) {
      const exact = want * lotsOf(winners[k]);
      takes[k] = exact / total;
      remainders.push({ k, rest: exact % total });
    }
    let left = want - takes.reduce((sum, x) => sum + x, 0n);
    remainders.sort((x, y) => (y.rest > x.rest ? 1 : y.rest < x.rest ? -1 : winners[x.k].account - winners[y.k].account || x.k - y.k));
    for (const { k } of remainders) {
      if (left === 0n) break;
      if (takes[k] < lotsOf(winners[k])) {
        takes[k]++;
        left--;
      }
    }
    return { winners: [...winners], takes: takes.map((x) => x * lot) };
  }
  if (policy === 'queue') {
    const score = new Float64Array(winners.length);
    for (let k = 0; k < winners.length; k++) {
      const w = winners[k];
      const collateral = Number(w.collateral > 1n ? w.collateral : 1n);
      const equity = Number(w.collateral + w.pnl > 1n ? w.collateral + w.pnl : 1n);
      score[k] = (Number(w.pnl) / collateral) * (Number(w.notional) / equity);
    }
    // Winners come listed in account order (then slot order): ties keep it. A typed array read in the
    // comparator, not a winner's fields: 300,000 winners sort several times faster.
    order.sort((x, y) => score[y] - score[x] || x - y);
  } else {
    for (let k = order.length - 1; k > 0; k--) {
      const r = random.below(k + 1);
      [order[k], order[r]] = [order[r], order[k]];
    }
  }
  for (const k of order) {
    if (want === 0n) break;
    const lots = min(want, lotsOf(winners[k]));
    takes[k] = lots * lot;
    want -= lots;
  }
  return { winners: order.map((k) => winners[k]), takes: order.map((k) => takes[k]) };
}

/** Gross notional per instrument at the marks, micro: floor(Σ |size|·q·mark / d) over the book's positions. */
export function grossNotional(engine: Engine): bigint[] {
  const v = engine.views;
  const sizes = new Array<bigint>(engine.instruments.length).fill(0n);
  for (let a = 0; a < engine.accountCount; a++) {
    const end = v.accPosStart[a] + v.accPosCount[a];
    for (let j = v.accPosStart[a]; j < end; j++) sizes[v.posInst[j]] += abs(v.posSize[j]);
  }
  return sizes.map((size, i) => engine.units.value(i, size, v.instMark[i]));
}

/** Whether account a has a failing scope by the statuses in memory: its cross pool, or an isolated position. */
export function failingAccount(v: Views, a: number): boolean {
  if (v.accStatus[a] !== STATUS_HEALTHY) return true;
  const end = v.accPosStart[a] + v.accPosCount[a];
  for (let j = v.accPosStart[a]; j < end; j++) if (v.posStatus[j] !== STATUS_HEALTHY && v.posMode[j] === MODE_ISOLATED) return true;
  return false;
}

/** The wallet plus the isolated margins of account a, micro. */
function collateralOf(engine: Engine, a: number): bigint {
  const v = engine.views;
  let total = v.accBalance[a];
  const end = v.accPosStart[a] + v.accPosCount[a];
  for (let j = v.accPosStart[a]; j < end; j++) total += v.posMargin[j];
  return total;
}

function holdsCross(engine: Engine, a: number): boolean {
  const v = engine.views;
  const end = v.accPosStart[a] + v.accPosCount[a];
  for (let j = v.accPosStart[a]; j < end; j++) if (v.posMode[j] === MODE_CROSS) return true;
  return false;
}

/** A price in units moved by a relative `move`: the nearest unit, at least 1 and at most the price range. */
export function priceAt(units: bigint, move: number): bigint {
  if (move === 0) return units;
  const price = Math.round(Number(units) * (1 + move));
  return price < 1 ? 1n : price >= Number(PRICE_UNITS_MAX) ? PRICE_UNITS_MAX : BigInt(price);
}

function sign(x: bigint): bigint {
  return x > 0n ? 1n : x < 0n ? -1n : 0n;
}

function min(x: bigint, y: bigint): bigint {
  return x < y ? x : y;
}

function max(x: bigint, y: bigint): bigint {
  return x > y ? x : y;
}
