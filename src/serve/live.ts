// The live engine behind `liq serve`, without the network: it applies accepted ticks, account
// updates and fills to the book through the batched update API, evaluates incrementally, and turns
// each newly failing scope into liquidation orders (docs/serve.md, "The evaluation loop").
//
// One writer: every change goes through apply(), one message after another, never while an
// evaluation runs (the server queues messages while it does and applies them all before the next
// evaluation, so that a burst of ticks costs one evaluation, not one each).
import { applyBatch } from '../account/batch.js';
import { LiquidationPlanner, PPM, type LiquidationRule, type PlannedClose } from '../account/liquidation.js';
import type { AnyOperation, OperationResult } from '../account/operations.js';
import type { Engine } from '../engine/engine.js';
import { IncrementalEvaluator, type IncrementalOptions } from '../engine/incremental.js';
import { MODE_ISOLATED, PRICE_UNITS_MAX, STATUS_BANKRUPT, STATUS_HEALTHY } from '../fixed/constants.js';
import type { SweepPool } from '../pool/pool.js';
import { failingAccount } from '../sim/simulate.js';
import type { WorstPrice } from './config.js';

export interface LiveOptions {
  rule: LiquidationRule;
  worstPrice: WorstPrice;
  retryMs: number;
  pool?: SweepPool;
  /**
   * Heap entries the incremental evaluator may hold per account before it rebuilds its index
   * (ServeConfig.evaluation). Default: the evaluator's own (a quarter).
   */
  heapEntriesPerAccount?: number;
  /** The incremental evaluator's tuning (IncrementalOptions), for tests and measurements. */
  evaluator?: Omit<IncrementalOptions, 'pool' | 'sweep' | 'listSweeps' | 'heapLimit'>;
  /** The clock (ms); tests move it. */
  now?: () => number;
}

/** A liquidation order before it has a sequence number (the journal gives it one). */
export interface OrderDraft {
  key: string;
  accountIndex: number;
  account: string;
  instrumentIndex: number;
  instrument: string;
  mode: 'cross' | 'isolated';
  side: 'buy' | 'sell';
  sizeUnits: bigint;
  priceUnits: bigint;
  reason: 'liquidatable' | 'bankrupt';
  ts: number;
}

/** What an apply did: per operation results (updates, fills) or a refusal of the whole message (ticks). */
export type Applied = { ok: true; results: OperationResult[] } | { ok: false; code: string; reason: string };

interface Emitted {
  /** The account's version when the scope was last ordered. */
  version: number;
  at: number;
  /** Orders sent for this scope at this version (retries after retryMs). */
  attempt: number;
}

export class LiveEngine {
  readonly evaluator: IncrementalEvaluator;
  private readonly planner: LiquidationPlanner;
  private readonly now: () => number;
  /** Accounts with a failing scope after the last evaluation. */
  readonly failing = new Set<number>();
  /** Per account: the input sequence number of the last accepted update that changed it (0: none). */
  private readonly versions = new Map<number, number>();
  /** Per scope key (accountIndex·2^17 + instrument·2 + isolated, or accountIndex·2^17 + 2^17 − 1 for a cross pool): when it was last ordered. */
  private readonly emitted = new Map<number, Emitted>();
  /** Accounts changed since the last evaluation (checked after it, as a sweep's changed list may not name them). */
  private touched: number[] = [];
  /**
   * Accounts ordered, by when their retry falls due (now + retryMs at the order: appended in time
   * order, so a queue): an evaluation looks at the due ones, not at every failing account.
   */
  private retries: { due: number; account: number }[] = [];
  private retryHead = 0;
  private built = false;
  evaluations = 0;

  constructor(
    readonly engine: Engine,
    private readonly options: LiveOptions,
  ) {
    const perAccount = options.heapEntriesPerAccount;
    this.evaluator = new IncrementalEvaluator(engine, {
      ...options.evaluator,
      // On a pool, a sweep step lists the failing scopes (evaluate reads the failing accounts from them).
      ...(options.pool ? { pool: options.pool, listSweeps: true } : {}),
      ...(perAccount === undefined ? {} : { heapLimit: Math.max(HEAP_LIMIT_MIN, Math.round(engine.accountCount * perAccount)) }),
    });
    this.planner = new LiquidationPlanner(engine);
    this.now = options.now ?? Date.now;
  }

  /**
   * Marks of a tick message: all or none. Each mark is set through the update API; if the engine
   * refuses one (a mark that would take a figure out of its ranges), the ones before it are put
   * back and the whole message is refused.
   */
  applyTicks(instruments: ArrayLike<number>, prices: ArrayLike<bigint>, count: number): Applied {
    const engine = this.engine;
    const v = engine.views;
    // Only the last tick of each instrument in a message stands: one mark set per instrument.
    const last = new Map<number, number>();
    for (let k = 0; k < count; k++) last.set(instruments[k], k);
    const ticks = [...last.values()].sort((x, y) => x - y);
    const operations: AnyOperation[] = ticks.map((k) => ({ kind: 'setMark', instrument: engine.instruments[instruments[k]].symbol, priceUnits: prices[k] }));
    const before = new Map<number, bigint>();
    for (const k of ticks) before.set(instruments[k], v.instMark[instruments[k]]);
    const result = applyBatch(engine, operations);
    const refused = result.results.findIndex((r) => !r.ok);
    if (refused < 0) return { ok: true, results: result.results };
    const undo: AnyOperation[] = [...before].map(([i, mark]) => ({ kind: 'setMark', instrument: engine.instruments[i].symbol, priceUnits: mark }));
    const back = applyBatch(engine, undo);
    if (back.refused > 0) throw new Error('putting back the marks of a refused tick message was refused');
    const refusal = result.results[refused] as Extract<OperationResult, { ok: false }>;
    return { ok: false, code: refusal.code, reason: `ticks[${ticks[refused]}]: ${refusal.reason}` };
  }

  /** Account updates (and fills): each operation applied or refused on its own, in order; `seq` versions the accounts they changed. */
  applyOperations(operations: readonly AnyOperation[], seq: number): Applied {
    const result = applyBatch(this.engine, operations);
    for (const a of result.changed) {
      this.versions.set(a, seq);
      this.touched.push(a);
    }
    // A setFundingIndex or setTiers changes many accounts at once: their statuses come from the
    // next evaluation, which the incremental evaluator reaches; their versions stay (no order is
    // re-sent for a mark-like change).
    for (const operation of operations) if (operation.kind === 'setTiers') this.planner.tiersChanged(this.engine.instruments.findIndex((x) => x.symbol === operation.instrument));
    return { ok: true, results: result.results };
  }

  /** Evaluates what changed since the last call and returns the orders the failing scopes need now. */
  async evaluate(): Promise<{ orders: OrderDraft[]; path: string; evaluated: number }> {
    const step = await this.evaluator.step();
    this.evaluations++;
    const v = this.engine.views;
    // The accounts that may need an order now: those whose statuses changed, those an update
    // changed (a new version), and those whose retry is due. After a sweep, any may have changed.
    const candidates = new Set<number>();
    if (step.changed === null || !this.built) {
      this.failing.clear();
      // From the sweep's list where it gave one, else a pass over the book (a build, or no pool).
      const scopes = step.scopes;
      if (scopes !== undefined) for (let k = 0; k < scopes.length; k += 2) this.failing.add(scopes[k]);
      else for (let a = 0; a < this.engine.accountCount; a++) if (failingAccount(v, a)) this.failing.add(a);
      for (const a of this.failing) candidates.add(a);
      this.built = true;
    } else {
      for (const a of step.changed) if (this.check(a)) candidates.add(a);
    }
    for (const a of this.touched) if (this.check(a)) candidates.add(a);
    this.touched = [];
    const now = this.now();
    const queue = this.retries;
    while (this.retryHead < queue.length && queue[this.retryHead].due <= now) {
      const a = queue[this.retryHead++].account;
      if (this.failing.has(a)) candidates.add(a);
    }
    if (this.retryHead > 4096 && this.retryHead * 2 > queue.length) {
      this.retries = queue.slice(this.retryHead);
      this.retryHead = 0;
    }
    return { orders: this.orders(candidates, now), path: step.path, evaluated: step.evaluated };
  }

  /** Brings account a's place in the failing set up to date; true when it is failing. */
  private check(a: number): boolean {
    if (failingAccount(this.engine.views, a)) {
      this.failing.add(a);
      return true;
    }
    this.failing.delete(a);
    return false;
  }

  /** The orders due among `candidates`: each failing scope not ordered at its account's current version, or ordered longer than retryMs ago. */
  private orders(candidates: Set<number>, now: number): OrderDraft[] {
    const engine = this.engine;
    const v = engine.views;
    const marks = v.instMark;
    const drafts: OrderDraft[] = [];
    for (const a of [...candidates].sort((x, y) => x - y)) {
      const version = this.versions.get(a) ?? 0;
      const scopes: number[] = [];
      if (v.accStatus[a] !== STATUS_HEALTHY) scopes.push(-1);
      const end = v.accPosStart[a] + v.accPosCount[a];
      for (let j = v.accPosStart[a]; j < end; j++) if (v.posMode[j] === MODE_ISOLATED && v.posStatus[j] !== STATUS_HEALTHY) scopes.push(j);
      for (const slot of scopes) {
        const key = scopeKey(a, slot < 0 ? -1 : v.posInst[slot]);
        const last = this.emitted.get(key);
        let attempt = 0;
        if (last !== undefined && last.version === version) {
          if (now - last.at < this.options.retryMs) continue;
          attempt = last.attempt + 1;
        }
        const plan = this.planner.plan(a, slot, marks, this.options.rule);
        if (plan === null) throw new Error(`account ${a} ${slot < 0 ? 'cross' : `slot ${slot}`}: failing by status but not by its figures at the marks`);
        if (plan.closes.length === 0) continue;
        this.emitted.set(key, { version, at: now, attempt });
        this.retries.push({ due: now + this.options.retryMs, account: a });
        const id = engine.accountIds.get(a);
        const bankrupt = plan.status === STATUS_BANKRUPT;
        const prices = this.options.worstPrice.kind === 'bankruptcy' ? engine.prices([a]).slice() : null;
        for (const close of plan.closes) {
          const i = close.instrument;
          drafts.push({
            key: `${id}/${slot < 0 ? 'cross' : `${engine.instruments[i].symbol}/isolated`}/${version}/${attempt}/${engine.instruments[i].symbol}`,
            accountIndex: a,
            account: id,
            instrumentIndex: i,
            instrument: engine.instruments[i].symbol,
            mode: close.isolated ? 'isolated' : 'cross',
            side: close.size > 0n ? 'sell' : 'buy',
            sizeUnits: close.closing,
            priceUnits: this.worstPrice(close, a, prices),
            reason: bankrupt ? 'bankrupt' : 'liquidatable',
            ts: now,
          });
        }
      }
    }
    return drafts;
  }

  /** The worst price an order of `close` accepts: its bankruptcy price (the mark if it has none), or the mark moved against it by the slippage. */
  private worstPrice(close: PlannedClose, a: number, prices: BigInt64Array | null): bigint {
    const v = this.engine.views;
    const mark = v.instMark[close.instrument];
    const selling = close.size > 0n;
    if (prices !== null) {
      const k = close.slot - v.accPosStart[a];
      const bankruptcy = prices[2 * k + 1];
      // A long sells no lower than its bankruptcy price; a price past the mark (a bankrupt scope) is
      // not fillable at the mark: then the mark.
      if (bankruptcy > 0n && (selling ? bankruptcy <= mark : bankruptcy >= mark)) return bankruptcy;
      return mark;
    }
    const slippage = (this.options.worstPrice as { ppm: bigint }).ppm;
    const moved = selling ? (mark * (PPM - slippage)) / PPM : (mark * (PPM + slippage) + PPM - 1n) / PPM;
    return moved < 1n ? 1n : moved > PRICE_UNITS_MAX ? PRICE_UNITS_MAX : moved;
  }

  /** Forgets that a scope was ordered (a restart rebuilds this from the orders journal). */
  restoreEmitted(accountIndex: number, instrumentIndex: number, isolated: boolean, version: number, at: number, attempt: number): void {
    this.emitted.set(scopeKey(accountIndex, isolated ? instrumentIndex : -1), { version, at, attempt });
    this.retries.push({ due: at + this.options.retryMs, account: accountIndex });
  }

  /** The account's version (the input seq of its last change). */
  versionOf(a: number): number {
    return this.versions.get(a) ?? 0;
  }
}

/** The least heap limit a per-account share gives (the evaluator's own floor). */
const HEAP_LIMIT_MIN = 1 << 16;

const SCOPE_SHIFT = 2 ** 17;

/** A number per scope: the account, then the isolated position's instrument (0 to 2^16 − 1) or 2^17 − 1 for the cross pool. */
function scopeKey(a: number, instrument: number): number {
  return a * SCOPE_SHIFT + (instrument < 0 ? SCOPE_SHIFT - 1 : instrument);
}
