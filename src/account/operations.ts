// Account operations (docs/domain.md section 6) on the book in memory, in place. Each one applies
// completely or is refused, with a code and a reason, and changes nothing: an operation writes the
// account's columns, computes the figures its rules need (equity at the mark, initial margin) from
// the columns in exact BigInt arithmetic, the formulas of docs/numbers.md, checks the rules, and on
// a refusal puts back what it wrote. The kernel is not called while an operation runs: the derived
// state (the chunk sweep's records) of the accounts an operation changed is refreshed once
// it is applied, once per batch (src/account/batch.ts) by Engine.accountsChanged, that of the
// positions of the instruments whose funding indices it set by Engine.fundingChanged, and that of
// the isolated positions of the instruments whose tier tables it set by Engine.tiersChanged.
import {
  FUNDING_EXTRA_SCALE,
  FUNDING_INDEX_ABS_MAX,
  LEVERAGE_MAX,
  MODE_CROSS,
  MODE_ISOLATED,
  POSITIONS_PER_ACCOUNT_MAX,
  PRICE_UNITS_MAX,
  QUOTE_ABS_MAX,
  QUOTE_DECIMALS,
  UNIT_PRODUCT_MAX,
  type ModeName,
} from '../fixed/constants.js';
import { abs, divCeil } from '../fixed/rounding.js';
import { formatScaled } from '../fixed/decimal.js';
import { costMicro, notionalMicro as notionalMicroAt, quotePerUnit, valueDivisor, valueMicro, type Tier } from '../book/model.js';
import { bracketOf, checkTiers, leverageCap } from '../book/ranges.js';
import type { Engine } from '../engine/engine.js';

export type AccountOperation =
  | { kind: 'deposit'; account: string; amountMicro: bigint }
  | { kind: 'withdraw'; account: string; amountMicro: bigint }
  | { kind: 'addMargin'; account: string; instrument: string; amountMicro: bigint }
  | { kind: 'removeMargin'; account: string; instrument: string; amountMicro: bigint }
  | { kind: 'setLeverage'; account: string; instrument: string; mode: ModeName; leverage: number }
  | { kind: 'switchMode'; account: string; instrument: string; to: ModeName; marginMicro?: bigint }
  | {
      kind: 'fill';
      account: string;
      instrument: string;
      mode: ModeName;
      /** Signed change of size: > 0 buys, < 0 sells. A whole number of lots, not zero. */
      sizeUnits: bigint;
      priceUnits: bigint;
      /** Isolated fills that increase the position: margin moved from the wallet (default: the IM of the increase). */
      marginMicro?: bigint;
    }
  | { kind: 'settleFunding'; account: string; instrument?: string; mode?: ModeName }
  /**
   * A debit the venue takes (a liquidation fee, a trading fee): from the wallet, or with
   * `instrument` from that isolated position's margin. It may not leave the scope's equity at the
   * mark below zero.
   */
  | { kind: 'charge'; account: string; amountMicro: bigint; instrument?: string };

type Flat<T> = { [K in keyof T]: T[K] };
type ByIndex<T> = T extends { account: string } ? Flat<Omit<T, 'account'> & { accountIndex: number; account?: undefined }> : never;

/**
 * An account operation naming its account by index in the book instead of by id: what the cascade
 * simulator and the live feed send, which hold indices (no lookup).
 */
export type IndexedAccountOperation = ByIndex<AccountOperation>;

export type InstrumentOperation =
  | { kind: 'setMark'; instrument: string; priceUnits: bigint }
  | { kind: 'setFundingIndex'; instrument: string; fundingIndex: bigint }
  /** A new tier table (docs/book-json.md's rules: 1 to 16 brackets, bounds rising to a last null, rates in (0, 100%) not falling). */
  | { kind: 'setTiers'; instrument: string; tiers: Tier[] };

/** An operation, accounts named by id. */
export type Operation = AccountOperation | InstrumentOperation;

/** An operation, accounts named by id (`account`) or by index (`accountIndex`): what applyOperation and applyBatch take. */
export type AnyOperation = Operation | IndexedAccountOperation;

/**
 * Why an operation was refused, for machines (the reason says it for people). A closed list:
 * REFUSAL_CODES, explained in docs/architecture.md (account operations).
 */
export const REFUSAL_CODES = [
  'unknown_account',
  'unknown_instrument',
  'invalid_operation',
  'invalid_amount',
  'invalid_size',
  'invalid_price',
  'invalid_leverage',
  'leverage_above_bracket',
  'invalid_tiers',
  'leverage_above_cap',
  'exceeds_wallet',
  'exceeds_margin',
  'exceeds_equity',
  'loss_exceeds_margin',
  'funding_exceeds_margin',
  'below_initial_margin',
  'no_position',
  'position_exists',
  'positions_full',
  'margin_required',
  'margin_not_allowed',
  'out_of_range',
] as const;

export type RefusalCode = (typeof REFUSAL_CODES)[number];

export type OperationResult =
  | {
      ok: true;
      /** Fills: trading PnL realized into the position's scope; settlements: funding received (negative: paid). */
      realizedPnlMicro?: bigint;
      /** An isolated close whose loss exceeded its margin: the part no collateral covers. */
      shortfallMicro?: bigint;
    }
  | { ok: false; code: RefusalCode; reason: string };

/** The result of an applied operation with nothing to report (shared: results are read, not written). */
export const APPLIED: OperationResult = Object.freeze({ ok: true as const });

/**
 * A refusal raised inside an operation; caught where the operation started, which rolls it back.
 * Not an Error: no stack trace is captured (a throw costs well under a microsecond).
 */
class Refusal {
  constructor(
    readonly code: RefusalCode,
    readonly reason: string,
  ) {}
}

/** What a fill is called in its cross refusal's reason. */
export const FILL = 'the fill';

/**
 * The reasons of the refusals that both a fill here and the kernel's fill (assembly/operations.ts,
 * through applyBatch) may give, from their figures: one wording for both.
 */
export const reasons = {
  crossBelowInitial: (what: string, equity: bigint, initial: bigint) =>
    `${what} would leave cross equity ${micro(equity)} below the cross initial margin ${micro(initial)}`,
  isolatedBelowInitial: (equity: bigint, initial: bigint) => `isolated equity ${micro(equity)} would be below the initial margin ${micro(initial)}`,
  marginExceedsWallet: (margin: bigint, balance: bigint) => `margin ${micro(margin)} exceeds the wallet balance ${micro(balance)}`,
  lossExceedsMargin: (margin: bigint) => `the fill would leave the isolated margin at ${micro(margin)}`,
  leverageAboveBracket: (leverage: number, most: number) =>
    `leverage ${leverage}x is above ${most}x, the max of the bracket this fill reaches: lower the leverage first`,
  fundingExceedsMargin: (owed: bigint, margin: bigint, symbol: string) => `funding owed ${micro(owed)} exceeds the isolated margin ${micro(margin)} of ${symbol}`,
  unitProduct: (what: string, product: bigint) =>
    `${what} would put |size| × q × price at ${product}, over 10^18, the most an instrument finer than a micro (pd + sd > 6) allows (docs/numbers.md)`,
};

function refuse(code: RefusalCode, reason: string): never {
  throw new Refusal(code, reason);
}

/**
 * Applies one operation and refreshes the derived state of the account it changed, or refuses it
 * and changes nothing. For a stream of updates, applyBatch (src/account/batch.ts) does the same
 * for many and refreshes once. Figures (equity, maintenance, status) are written by the next sweep
 * or evaluation, not here.
 */
export function applyOperation(engine: Engine, operation: AnyOperation): OperationResult {
  engine.assertWritable('applyOperation');
  const changes = single;
  changes.clear();
  try {
    return applyUnit(engine, operation, changes);
  } finally {
    changes.refresh(engine, false);
  }
}

/**
 * What the applied operations of a batch changed, for one refresh of the derived state at its end:
 * the accounts whose positions may have changed (in order applied, with repeats), those whose
 * balances alone changed (deposits, withdrawals: with the change, with repeats), and the
 * instruments whose funding index moved (what each of their positions' debits feeds).
 */
export class Changes {
  accounts: Uint32Array;
  count = 0;
  /** Accounts whose balance alone an operation changed, and by how much: balanceCount of each. */
  balanceAccounts: Uint32Array;
  balanceDeltas: BigInt64Array;
  balanceCount = 0;
  /**
   * Accounts an operation changed whose derived state the kernel refreshed as it applied it (a
   * batch's deposits, and its fills of cross positions kept open: Engine.applyOperationRecords),
   * with repeats: refreshedCount of them, for the listeners only.
   */
  refreshedAccounts: Uint32Array;
  refreshedCount = 0;
  /** Accounts a deposit the kernel applied changed (their cross bases moved already), with repeats: creditedCount of them, for the listeners only, as credits. */
  creditedAccounts: Uint32Array;
  creditedCount = 0;
  /** The instruments whose funding index an applied operation set, in the order first set, each once. */
  readonly fundingInstruments: number[] = [];
  /** The instruments whose tier table an applied operation set, in the order first set, each once. */
  readonly tierInstruments: number[] = [];

  constructor(capacity: number) {
    this.accounts = new Uint32Array(Math.max(1, capacity));
    this.balanceAccounts = new Uint32Array(Math.max(1, capacity));
    this.balanceDeltas = new BigInt64Array(Math.max(1, capacity));
    this.refreshedAccounts = new Uint32Array(Math.max(1, capacity));
    this.creditedAccounts = new Uint32Array(Math.max(1, capacity));
  }

  clear(): void {
    this.count = 0;
    this.balanceCount = 0;
    this.refreshedCount = 0;
    this.creditedCount = 0;
    this.fundingInstruments.length = 0;
    this.tierInstruments.length = 0;
  }

  /** Instrument i's funding index was set. */
  addFunding(i: number): void {
    if (!this.fundingInstruments.includes(i)) this.fundingInstruments.push(i);
  }

  /** Instrument i's tier table was set. */
  addTiers(i: number): void {
    if (!this.tierInstruments.includes(i)) this.tierInstruments.push(i);
  }

  /** Account a's inputs changed (its positions, maybe its balance). */
  add(a: number): void {
    if (this.count === this.accounts.length) this.accounts = grown(this.accounts, new Uint32Array(this.accounts.length * 2));
    this.accounts[this.count++] = a;
  }

  /** Account a's balance changed by `delta`, and nothing else of it. */
  addBalance(a: number, delta: bigint): void {
    if (this.balanceCount === this.balanceAccounts.length) {
      this.balanceAccounts = grown(this.balanceAccounts, new Uint32Array(this.balanceAccounts.length * 2));
      this.balanceDeltas = grown(this.balanceDeltas, new BigInt64Array(this.balanceDeltas.length * 2));
    }
    this.balanceAccounts[this.balanceCount] = a;
    this.balanceDeltas[this.balanceCount++] = delta;
  }

  /** Account a changed, and the kernel refreshed its derived state already. */
  addRefreshed(a: number): void {
    if (this.refreshedCount === this.refreshedAccounts.length) this.refreshedAccounts = grown(this.refreshedAccounts, new Uint32Array(this.refreshedAccounts.length * 2));
    this.refreshedAccounts[this.refreshedCount++] = a;
  }

  /** Account a's wallet balance rose by a deposit the kernel applied, which refreshed its derived state already. */
  addCredited(a: number): void {
    if (this.creditedCount === this.creditedAccounts.length) this.creditedAccounts = grown(this.creditedAccounts, new Uint32Array(this.creditedAccounts.length * 2));
    this.creditedAccounts[this.creditedCount++] = a;
  }

  /** The changed accounts, ascending, each once (the engine's kernel sort). */
  changed(engine: Engine): Uint32Array {
    return engine.ascendingUnique([
      this.accounts.subarray(0, this.count),
      this.balanceAccounts.subarray(0, this.balanceCount),
      this.refreshedAccounts.subarray(0, this.refreshedCount),
      this.creditedAccounts.subarray(0, this.creditedCount),
    ]);
  }

  /**
   * Refreshes the derived state of everything changed: first the accounts whose positions may have
   * changed (Engine.accountsChanged: their chunk records, from the columns, at the funding indices
   * now in the book), then the balance changes of the others (Engine.balancesChanged: each cross
   * base moved by its change, O(1); an account refreshed from its columns already has its balance;
   * the deposits the kernel applied moved their bases already, and the fills it rewrote in place
   * their records: those are only reported to the listeners, Engine.accountsRefreshed and
   * Engine.accountsCredited), then the positions of every instrument whose funding index
   * moved, in one pass
   * (Engine.fundingChanged: the records their debits feed, in place, no chunk rebuilt; the cross
   * bases by the change of funding owed, except those of the accounts refreshed from their
   * columns, made at the new index already). In this order every fresh chunk's records match its
   * accounts' positions when the funding refresh looks for them (one that does not is laid out
   * again and rebuilt by the next sweep instead). Last, the isolated records of every instrument
   * whose tier table was set, exactly under the new table (Engine.tiersChanged, which also tells the
   * listeners that anything may have changed). Returns the changed accounts, ascending, each once.
   */
  refresh(engine: Engine): Uint32Array;
  /** The same, without listing the changed accounts (applyOperation's: a single update's refresh is a few loads, and the list would cost as much). */
  refresh(engine: Engine, list: false): undefined;
  refresh(engine: Engine, list = true): Uint32Array | undefined {
    const changed = list ? this.changed(engine) : undefined;
    const laidOut = this.count > 0 ? engine.sortUnique(this.accounts.subarray(0, this.count)) : NONE;
    if (laidOut.length > 0) engine.accountsChanged(laidOut);
    // The balance changes of the accounts not laid out again, in order (their changes add up).
    let kept = this.balanceCount;
    if (laidOut.length > 0) {
      kept = 0;
      for (let k = 0; k < this.balanceCount; k++) {
        const a = this.balanceAccounts[k];
        if (includes(laidOut, a)) continue;
        this.balanceAccounts[kept] = a;
        this.balanceDeltas[kept++] = this.balanceDeltas[k];
      }
    }
    if (kept > 0) engine.balancesChanged(this.balanceAccounts, this.balanceDeltas, kept);
    engine.accountsRefreshed(this.refreshedAccounts, this.refreshedCount);
    engine.accountsCredited(this.creditedAccounts, this.creditedCount);
    if (this.fundingInstruments.length > 0) engine.fundingChanged(this.fundingInstruments, laidOut);
    if (this.tierInstruments.length > 0) engine.tiersChanged(this.tierInstruments);
    return changed;
  }
}

const NONE = new Uint32Array(0);

/** `to` with `from` copied to its start. */
function grown<T extends Uint32Array | BigInt64Array>(from: T, to: T): T {
  (to as Uint32Array).set(from as Uint32Array);
  return to;
}

/** Whether the ascending `values` hold v (a binary search). */
function includes(values: Uint32Array, v: number): boolean {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (values[mid] < v) low = mid + 1;
    else high = mid;
  }
  return low < values.length && values[low] === v;
}

const single = new Changes(1);

/**
 * Applies one operation, atomically, without refreshing derived state: on success the account it
 * changed is added to `changes` (the caller refreshes); on a refusal, or any error thrown from
 * inside, everything it wrote is put back first.
 */
export function applyUnit(engine: Engine, operation: AnyOperation, changes: Changes): OperationResult {
  switch (operation.kind) {
    case 'setMark':
      return guard(() => setMark(engine, operation.instrument, operation.priceUnits));
    case 'setFundingIndex': {
      const result = guard(() => setFundingIndex(engine, operation.instrument, operation.fundingIndex));
      if (result.ok) changes.addFunding(engine.symbolIndex.get(operation.instrument)!);
      return result;
    }
    case 'setTiers': {
      const result = guard(() => setTiers(engine, operation.instrument, operation.tiers));
      if (result.ok) changes.addTiers(engine.symbolIndex.get(operation.instrument)!);
      return result;
    }
  }
  if (!isAccountKind(operation.kind)) {
    return { ok: false, code: 'invalid_operation', reason: `unknown operation kind "${String((operation as { kind: unknown }).kind)}"` };
  }
  const a = resolveAccount(engine, operation);
  if (a < 0) return { ok: false, code: 'unknown_account', reason: `unknown account ${accountName(operation)}` };
  const balanceOnly = operation.kind === 'deposit' || operation.kind === 'withdraw' || (operation.kind === 'charge' && operation.instrument === undefined);
  undo.begin(engine, a, !balanceOnly);
  try {
    const result = applyToAccount(engine, a, operation);
    if (balanceOnly) changes.addBalance(a, engine.views.accBalance[a] - undo.balance);
    else changes.add(a);
    return result;
  } catch (error) {
    restore(engine);
    if (error instanceof Refusal) return { ok: false, code: error.code, reason: error.reason };
    throw error;
  }
}

function isAccountKind(kind: string): boolean {
  switch (kind) {
    case 'deposit':
    case 'withdraw':
    case 'addMargin':
    case 'removeMargin':
    case 'setLeverage':
    case 'switchMode':
    case 'fill':
    case 'settleFunding':
    case 'charge':
      return true;
    default:
      return false;
  }
}

type AccountNamed = { account?: unknown; accountIndex?: unknown };

/**
 * The account's index, or −1 for none: an unknown id, an index not a whole number in range, both
 * an id and an index, or neither (applyBatch resolves the accounts of the records it writes so too).
 */
export function resolveAccount(engine: Engine, operation: AccountNamed): number {
  const { account: id, accountIndex: index } = operation;
  if (index !== undefined) {
    return typeof index === 'number' && Number.isInteger(index) && index >= 0 && index < engine.accountCount && id === undefined ? index : -1;
  }
  if (typeof id !== 'string') return -1;
  return engine.accountIds.indexOf(id) ?? -1;
}

function accountName(operation: AccountNamed): string {
  const { account: id, accountIndex: index } = operation;
  if (index !== undefined && id !== undefined) return `(both id "${String(id)}" and index ${String(index)} given: name one)`;
  return index !== undefined ? `index ${String(index)}` : `"${String(id)}"`;
}

function guard(action: () => OperationResult): OperationResult {
  try {
    return action();
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, code: error.code, reason: error.reason };
    throw error;
  }
}

function applyToAccount(engine: Engine, a: number, operation: AccountOperation | IndexedAccountOperation): OperationResult {
  switch (operation.kind) {
    case 'deposit':
      return deposit(engine, a, operation.amountMicro);
    case 'withdraw':
      return withdraw(engine, a, operation.amountMicro);
    case 'addMargin':
      return addMargin(engine, a, operation.instrument, operation.amountMicro);
    case 'removeMargin':
      return removeMargin(engine, a, operation.instrument, operation.amountMicro);
    case 'setLeverage':
      return setLeverage(engine, a, operation.instrument, operation.mode, operation.leverage);
    case 'switchMode':
      return switchMode(engine, a, operation.instrument, operation.to, operation.marginMicro);
    case 'fill':
      return fill(engine, a, operation);
    case 'settleFunding':
      return settleFunding(engine, a, operation.instrument, operation.mode);
    case 'charge':
      return charge(engine, a, operation.amountMicro, operation.instrument);
  }
}

// ---------------------------------------------------------------------------------------------
// Transfers

function deposit(engine: Engine, a: number, amountMicro: bigint): OperationResult {
  requirePositiveAmount(amountMicro);
  setBalance(engine, a, engine.views.accBalance[a] + amountMicro);
  return APPLIED;
}

function withdraw(engine: Engine, a: number, amountMicro: bigint): OperationResult {
  requirePositiveAmount(amountMicro);
  takeFromWallet(engine, a, amountMicro, 'withdrawal');
  return APPLIED;
}

/**
 * A debit by the venue: from the wallet (refused when it would leave the cross equity at the mark,
 * balance plus the cross positions' unrealized PnL, below zero) or from an isolated position's
 * margin (refused past the margin, or when it would leave the position's equity below zero).
 */
function charge(engine: Engine, a: number, amountMicro: bigint, symbol: string | undefined): OperationResult {
  requirePositiveAmount(amountMicro);
  const v = engine.views;
  if (symbol === undefined) {
    setBalance(engine, a, v.accBalance[a] - amountMicro);
    let equity = v.accBalance[a];
    for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
      if (v.posMode[j] === MODE_CROSS) equity += unrealizedPnl(engine, j);
    }
    if (equity < 0n) refuse('exceeds_equity', `a charge of ${micro(amountMicro)} would leave cross equity at ${micro(equity)}`);
    return APPLIED;
  }
  const j = requirePosition(engine, a, symbol, 'isolated');
  if (amountMicro > v.posMargin[j]) {
    refuse('exceeds_margin', `cannot charge ${micro(amountMicro)}: the isolated margin is ${micro(v.posMargin[j])}`);
  }
  setMargin(engine, j, v.posMargin[j] - amountMicro);
  const equity = v.posMargin[j] + unrealizedPnl(engine, j);
  if (equity < 0n) refuse('exceeds_equity', `a charge of ${micro(amountMicro)} would leave the isolated equity of ${symbol} at ${micro(equity)}`);
  return APPLIED;
}

function addMargin(engine: Engine, a: number, symbol: string, amountMicro: bigint): OperationResult {
  requirePositiveAmount(amountMicro);
  const j = requirePosition(engine, a, symbol, 'isolated');
  setMargin(engine, j, engine.views.posMargin[j] + amountMicro);
  takeFromWallet(engine, a, amountMicro, 'margin transfer');
  return APPLIED;
}

function removeMargin(engine: Engine, a: number, symbol: string, amountMicro: bigint): OperationResult {
  requirePositiveAmount(amountMicro);
  const v = engine.views;
  const j = requirePosition(engine, a, symbol, 'isolated');
  if (amountMicro > v.posMargin[j]) {
    refuse('exceeds_margin', `cannot remove ${micro(amountMicro)}: the isolated margin is ${micro(v.posMargin[j])}`);
  }
  setMargin(engine, j, v.posMargin[j] - amountMicro);
  setBalance(engine, a, v.accBalance[a] + amountMicro);
  const equity = v.posMargin[j] + unrealizedPnl(engine, j);
  const initial = initialMargin(engine, j);
  if (equity < initial) {
    refuse('below_initial_margin', `would leave isolated equity ${micro(equity)} below the initial margin ${micro(initial)}`);
  }
  return APPLIED;
}

/** Moves money out of the wallet: the wallet may not go negative nor the cross pool below its IM. */
function takeFromWallet(engine: Engine, a: number, amountMicro: bigint, what: string): void {
  const v = engine.views;
  if (amountMicro > v.accBalance[a]) {
    refuse('exceeds_wallet', `${what} of ${micro(amountMicro)} exceeds the wallet balance ${micro(v.accBalance[a])}`);
  }
  setBalance(engine, a, v.accBalance[a] - amountMicro);
  requireCrossInitialMargin(engine, a, what);
}

/**
 * Refuses unless the account's cross equity at the mark covers its cross initial margin, counting
 * the position being opened in slot `extra` (a slot outside the account's block), if any.
 */
function requireCrossInitialMargin(engine: Engine, a: number, what: string, extra = -1): void {
  const v = engine.views;
  let equity = v.accBalance[a];
  let initial = 0n;
  const end = v.accPosStart[a] + v.accPosCount[a];
  for (let j = v.accPosStart[a]; j <= end; j++) {
    const slot = j < end ? j : extra;
    if (slot < 0 || v.posMode[slot] !== MODE_CROSS) continue;
    equity += unrealizedPnl(engine, slot);
    initial += initialMargin(engine, slot);
  }
  if (equity < initial) {
    refuse('below_initial_margin', reasons.crossBelowInitial(what, equity, initial));
  }
}

// ---------------------------------------------------------------------------------------------
// Leverage and mode

function setLeverage(engine: Engine, a: number, symbol: string, mode: ModeName, leverage: number): OperationResult {
  const v = engine.views;
  const j = requirePosition(engine, a, symbol, mode);
  const maxLeverage = bracketLeverageMax(engine, j);
  if (!Number.isInteger(leverage) || leverage < 1 || leverage > maxLeverage) {
    const code = Number.isInteger(leverage) && leverage > maxLeverage ? 'leverage_above_bracket' : 'invalid_leverage';
    refuse(code, `leverage must be a whole number from 1 to ${maxLeverage} (the bracket's max), got ${leverage}`);
  }
  v.posLeverage[j] = leverage;
  if (mode === 'cross') {
    requireCrossInitialMargin(engine, a, 'leverage change');
  } else {
    const equity = v.posMargin[j] + unrealizedPnl(engine, j);
    const initial = initialMargin(engine, j);
    if (equity < initial) {
      refuse('below_initial_margin', `isolated equity ${micro(equity)} is below the initial margin ${micro(initial)} at ${leverage}x`);
    }
  }
  return APPLIED;
}

function switchMode(engine: Engine, a: number, symbol: string, to: ModeName, marginMicro: bigint | undefined): OperationResult {
  const v = engine.views;
  requireMode(to);
  const from: ModeName = to === 'cross' ? 'isolated' : 'cross';
  const j = requirePosition(engine, a, symbol, from);
  if (findPosition(engine, a, engine.symbolIndex.get(symbol)!, to) >= 0) {
    refuse('position_exists', `account already holds a ${to} ${symbol} position`);
  }
  if (to === 'isolated') {
    if (marginMicro === undefined) refuse('margin_required', 'switching to isolated needs the margin to assign from the wallet');
    requireAmount(marginMicro, 'marginMicro');
    if (marginMicro < 0n) refuse('invalid_amount', `margin must not be negative, got ${micro(marginMicro)}`);
    if (marginMicro > v.accBalance[a]) {
      refuse('exceeds_wallet', reasons.marginExceedsWallet(marginMicro, v.accBalance[a]));
    }
    setBalance(engine, a, v.accBalance[a] - marginMicro);
    setMargin(engine, j, marginMicro);
    v.posMode[j] = MODE_ISOLATED;
  } else {
    if (marginMicro !== undefined) refuse('margin_not_allowed', 'switching to cross takes no margin: the isolated margin returns to the wallet');
    setBalance(engine, a, v.accBalance[a] + v.posMargin[j]);
    v.posMargin[j] = 0n;
    v.posMode[j] = MODE_CROSS;
  }
  // Size, entry and funding snapshot are untouched; the scope may be liquidatable at once.
  return APPLIED;
}

// ---------------------------------------------------------------------------------------------
// Fills

function fill(engine: Engine, a: number, operation: Extract<AccountOperation | IndexedAccountOperation, { kind: 'fill' }>): OperationResult {
  const v = engine.views;
  const i = requireInstrument(engine, operation.instrument);
  requireMode(operation.mode);
  const delta = operation.sizeUnits;
  const price = operation.priceUnits;
  if (typeof delta !== 'bigint' || typeof price !== 'bigint') refuse('invalid_operation', 'a fill takes sizeUnits and priceUnits as bigints');
  if (operation.marginMicro !== undefined) requireAmount(operation.marginMicro, 'marginMicro');
  const instrument = engine.instruments[i];
  const q = v.instQ[i];
  const d = v.instDiv[i];
  if (delta === 0n) refuse('invalid_size', 'fill size must not be zero');
  if (delta % instrument.lotUnits !== 0n) refuse('invalid_size', `fill size ${delta} is not a whole number of lots (${instrument.lotUnits} units)`);
  if (price <= 0n || price > PRICE_UNITS_MAX) refuse('invalid_price', `fill price must be in (0, ${PRICE_UNITS_MAX}] price units, got ${price}`);
  const isolated = operation.mode === 'isolated';
  if (!isolated && operation.marginMicro !== undefined) refuse('margin_not_allowed', 'a cross fill takes no margin');

  // Funding is settled into the scope first, so the fill starts from a settled position. A new
  // position is built in the free slot above the arena's used slots, and takes a slot in the
  // account's block only once the fill is applied (commitNewPosition).
  let j = findPosition(engine, a, i, operation.mode);
  const created = j < 0;
  if (created) j = openNewPosition(engine, a, i, operation.mode);
  else settlePosition(engine, a, j, v.posSize[j] + delta === 0n);

  const size = v.posSize[j];
  const cost = v.posCost[j];
  const next = size + delta;
  let realized = 0n;
  let newCost: bigint;
  let opened: bigint; // |size| the fill adds in the new direction (what needs initial margin)
  if (size === 0n || size < 0n === delta < 0n) {
    newCost = cost + costMicro(delta, q, d, price);
    opened = abs(delta);
  } else {
    // Opposite side: close up to the whole position; realized PnL rounds toward −∞, so the cost
    // basis taken off rounds toward +∞.
    const closing = abs(delta) >= abs(size) ? size : -delta;
    const removed = closing === size ? cost : divCeil(cost * abs(closing), abs(size));
    realized = valueMicro(closing, q, d, price) - removed;
    newCost = cost - removed;
    opened = next !== 0n && next < 0n !== size < 0n ? abs(next) : 0n; // a flip opens the rest
    newCost += costMicro(next < 0n ? -opened : opened, q, d, price);
  }
  checkQuote(newCost, 'cost basis');
  v.posSize[j] = next;
  v.posCost[j] = newCost;
  raiseSizeHighWater(engine, i, abs(next));
  if (opened > 0n) {
    // A new position takes the max leverage of the bracket it lands in; an existing one may not
    // grow into a bracket that allows less than its leverage.
    const leverageMax = bracketLeverageMax(engine, j);
    if (created) v.posLeverage[j] = leverageMax;
    else if (v.posLeverage[j] > leverageMax) {
      refuse('leverage_above_bracket', reasons.leverageAboveBracket(v.posLeverage[j], leverageMax));
    }
  }

  let shortfall = 0n;
  if (isolated) {
    let margin = v.posMargin[j] + realized;
    if (opened > 0n) {
      // The default margin: the opened notional over the leverage, rounded up, and for an instrument
      // finer than a micro the micro the fill's rounding takes (its cost rounded up, its value
      // down: docs/numbers.md), so that a position opened at the mark is at its initial margin.
      const rounding = d === 1n ? 0n : costMicro(opened, q, d, price) - valueMicro(opened, q, d, price);
      const added = operation.marginMicro ?? divCeil(opened * q * price, d * BigInt(v.posLeverage[j])) + rounding;
      if (added < 0n) refuse('invalid_amount', `margin must not be negative, got ${micro(added)}`);
      if (added > v.accBalance[a]) refuse('exceeds_wallet', reasons.marginExceedsWallet(added, v.accBalance[a]));
      setBalance(engine, a, v.accBalance[a] - added);
      margin += added;
    } else if (operation.marginMicro !== undefined) {
      refuse('margin_not_allowed', 'margin goes with fills that open or increase a position');
    }
    if (next === 0n) {
      // Closed: the margin left returns to the wallet; a loss beyond the margin is a shortfall
      // that no collateral of this account covers (the insurance fund's, in the simulator).
      if (margin < 0n) shortfall = -margin;
      setBalance(engine, a, v.accBalance[a] + (margin > 0n ? margin : 0n));
      margin = 0n;
    } else if (margin < 0n) {
      refuse('loss_exceeds_margin', reasons.lossExceedsMargin(margin));
    }
    setMargin(engine, j, margin);
  } else {
    setBalance(engine, a, v.accBalance[a] + realized);
  }

  checkNotional(engine, j);
  if (opened > 0n) {
    if (isolated) {
      const equity = v.posMargin[j] + unrealizedPnl(engine, j);
      const initial = initialMargin(engine, j);
      if (equity < initial) refuse('below_initial_margin', reasons.isolatedBelowInitial(equity, initial));
    } else {
      requireCrossInitialMargin(engine, a, FILL, created ? j : -1);
    }
  }
  // Applied: nothing below refuses.
  if (created) commitNewPosition(engine, a, j);
  else if (next === 0n) engine.removePositionSlot(a, j);
  if (shortfall > 0n) return { ok: true, realizedPnlMicro: realized, shortfallMicro: shortfall };
  return { ok: true, realizedPnlMicro: realized };
}

/**
 * Builds an empty position for (instrument, mode) in the first free slot of the arena, outside
 * every account's block; the fill sets its leverage. Refused if the account holds the maximum.
 */
function openNewPosition(engine: Engine, a: number, i: number, mode: ModeName): number {
  const v = engine.views;
  if (v.accPosCount[a] >= POSITIONS_PER_ACCOUNT_MAX) {
    refuse('positions_full', `the account already holds the maximum of ${POSITIONS_PER_ACCOUNT_MAX} positions`);
  }
  // Operations keep a free slot (commitNewPosition reserves the next); only a caller that took the
  // arena's last slot itself (Engine.appendPositionSlot) leaves none, and then the arena grows here.
  if (engine.positionsUsed >= engine.layout.capacity.positions) engine.reserveFreeSlots(1);
  const j = engine.positionsUsed;
  undo.newSlot = j;
  v.posSize[j] = 0n;
  v.posCost[j] = 0n;
  v.posMargin[j] = 0n;
  v.posFunding[j] = v.instFunding[i];
  v.posInst[j] = i;
  v.posMode[j] = mode === 'cross' ? MODE_CROSS : MODE_ISOLATED;
  v.posLeverage[j] = engine.instruments[i].tiers[0].leverageMax;
  return j;
}

/** Moves the applied new position from its free slot into the account's block, and keeps a slot free. */
function commitNewPosition(engine: Engine, a: number, j: number): void {
  const position = engine.readPosition(j);
  engine.clearPositionSlot(j);
  undo.newSlot = -1;
  // Room to move the block to the tail, and one slot free after: the fill is applied, so the arena may be compacted here.
  engine.makePositionRoom(engine.views.accPosCount[a] + 2);
  engine.writePosition(engine.appendPositionSlot(a), position);
}

// ---------------------------------------------------------------------------------------------
// Funding

function settleFunding(engine: Engine, a: number, symbol: string | undefined, mode: ModeName | undefined): OperationResult {
  const v = engine.views;
  let paid = 0n;
  if (mode !== undefined) requireMode(mode);
  if (symbol !== undefined) {
    if (mode === undefined) {
      const i = requireInstrument(engine, symbol);
      const cross = findPosition(engine, a, i, 'cross');
      const isolated = findPosition(engine, a, i, 'isolated');
      if (cross < 0 && isolated < 0) refuse('no_position', `no ${symbol} position`);
      if (cross >= 0) paid += settlePosition(engine, a, cross);
      if (isolated >= 0) paid += settlePosition(engine, a, isolated);
    } else {
      paid += settlePosition(engine, a, requirePosition(engine, a, symbol, mode));
    }
  } else {
    if (mode !== undefined) refuse('invalid_operation', 'settling by mode needs an instrument');
    for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) paid += settlePosition(engine, a, j);
  }
  return { ok: true, realizedPnlMicro: -paid };
}

/**
 * Moves position j's unsettled funding into its scope's collateral. Returns what was paid. Before a
 * close (`closing`) an isolated margin may go below zero: the close reports it in its shortfall.
 */
function settlePosition(engine: Engine, a: number, j: number, closing = false): bigint {
  const v = engine.views;
  const i = v.posInst[j];
  if (v.posFunding[j] === v.instFunding[i]) return 0n; // settled already: nothing owed
  const owed = fundingOwed(engine, j);
  if (v.posMode[j] === MODE_CROSS) {
    setBalance(engine, a, v.accBalance[a] - owed);
  } else {
    if (owed > v.posMargin[j] && !closing) {
      refuse('funding_exceeds_margin', reasons.fundingExceedsMargin(owed, v.posMargin[j], engine.instruments[i].symbol));
    }
    setMargin(engine, j, v.posMargin[j] - owed);
  }
  v.posFunding[j] = v.instFunding[i];
  return owed;
}

/** ceil(z·q·(F − F_i) / 10^6): toward +∞, against the account. */
export function fundingOwed(engine: Engine, j: number): bigint {
  const v = engine.views;
  const i = v.posInst[j];
  return divCeil(v.posSize[j] * v.instQ[i] * (v.instFunding[i] - v.posFunding[j]), FUNDING_EXTRA_SCALE);
}

/**
 * Unrealized PnL of the position in slot j at the mark: floor(z·q·p / d) − cost − funding owed
 * (docs/numbers.md), the kernel's figure (which it forms as the value − debit). q and d come from
 * Engine.units, not the columns: a loop over a book calls this per position, and each read of a
 * BigInt64Array allocates.
 */
export function unrealizedPnl(engine: Engine, j: number): bigint {
  const v = engine.views;
  const i = v.posInst[j];
  const size = v.posSize[j];
  const units = engine.units;
  const q = units.q[i];
  const pnl = units.value(i, size, v.instMark[i]) - v.posCost[j];
  const index = v.instFunding[i];
  const snapshot = v.posFunding[j];
  return index === snapshot ? pnl : pnl - divCeil(size * q * (index - snapshot), FUNDING_EXTRA_SCALE);
}

// ---------------------------------------------------------------------------------------------
// Instrument updates

function setMark(engine: Engine, symbol: string, priceUnits: bigint): OperationResult {
  const i = requireInstrument(engine, symbol);
  if (typeof priceUnits !== 'bigint') refuse('invalid_operation', 'setMark takes priceUnits as a bigint');
  if (priceUnits <= 0n || priceUnits > PRICE_UNITS_MAX) {
    refuse('invalid_price', `${symbol} mark price must be in (0, ${PRICE_UNITS_MAX}] price units, got ${priceUnits}`);
  }
  const instrument = engine.instruments[i];
  const product = engine.sizeHighWater[i] * quotePerUnit(instrument) * priceUnits;
  const notional = divCeil(product, valueDivisor(instrument)); // a short's: the larger
  if (notional > QUOTE_ABS_MAX) {
    refuse('out_of_range', `${symbol} mark ${priceUnits} would put the largest position's notional at ${micro(notional)}, over ${micro(QUOTE_ABS_MAX)}`);
  }
  if (product > UNIT_PRODUCT_MAX && valueDivisor(instrument) > 1n) {
    refuse('out_of_range', reasons.unitProduct(`${symbol} mark ${priceUnits}`, product));
  }
  engine.views.instMark[i] = priceUnits;
  return APPLIED;
}

function setFundingIndex(engine: Engine, symbol: string, fundingIndex: bigint): OperationResult {
  const v = engine.views;
  const i = requireInstrument(engine, symbol);
  if (typeof fundingIndex !== 'bigint') refuse('invalid_operation', 'setFundingIndex takes fundingIndex as a bigint');
  if (abs(fundingIndex) > FUNDING_INDEX_ABS_MAX) refuse('out_of_range', `${symbol} funding index must be within ±${FUNDING_INDEX_ABS_MAX}`);
  // Every position's unsettled funding must stay in range: O(1) when the instrument's size
  // high-water mark and the envelope of its funding snapshots vouch for every position, else the
  // kernel checks each position of the instrument in 128-bit integers (O(positions), no
  // allocation) and names the first account that would go over (Engine.fundingOutOfRange).
  const over = engine.fundingOutOfRange(i, fundingIndex);
  if (over !== 0) {
    refuse(
      'out_of_range',
      `${symbol} funding index ${fundingIndex} would put account "${engine.accountIds.get(over - 1)}"'s unsettled funding over ${micro(QUOTE_ABS_MAX)}`,
    );
  }
  // Every position's unsettled funding on the instrument moved: the caller refreshes what it feeds
  // (Changes.fundingInstruments, Engine.fundingChanged).
  v.instFunding[i] = fundingIndex;
  engine.widenFundingEnvelope(i, fundingIndex); // positions settled or opened from now take it
  return APPLIED;
}

/**
 * A new tier table for an instrument: checked as a book's table is on load (checkTiers), and refused
 * when a position of the instrument holds a leverage above the table's largest max leverage (what
 * a book may store: ranges.leverageCap), found by the kernel over every position only when the new
 * table lowers that cap (O(1) otherwise: no stored leverage is above the old cap). Positions keep
 * their leverage; the table binds when a leverage is set or a position grows, as on load. The
 * columns are written here, so that the operations after it in a batch take the new brackets;
 * what the sweep derives from the table is refreshed once per batch (Changes.tierInstruments,
 * Engine.tiersChanged).
 */
function setTiers(engine: Engine, symbol: string, tiers: Tier[]): OperationResult {
  const i = requireInstrument(engine, symbol);
  if (!Array.isArray(tiers) || !tiers.every(isTierShape)) {
    refuse('invalid_operation', 'setTiers takes tiers as an array of { upToNotional: bigint or null, ratePpm: bigint, leverageMax: number }');
  }
  const issue = checkTiers(tiers);
  if (issue !== null) refuse('invalid_tiers', `${symbol} ${issue.field} ${issue.reason}`);
  const cap = leverageCap(tiers);
  if (cap < leverageCap(engine.instruments[i].tiers)) {
    const over = engine.leverageAbove(i, cap);
    if (over !== 0) {
      const v = engine.views;
      const a = over - 1;
      let leverage = 0;
      for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
        if (v.posInst[j] === i && v.posLeverage[j] > leverage) leverage = v.posLeverage[j];
      }
      refuse(
        'leverage_above_cap',
        `account "${engine.accountIds.get(a)}" holds ${symbol} at ${leverage}x, above ${cap}x, the largest maxLeverage of the new table: lower its leverage first`,
      );
    }
  }
  engine.writeTiers(i, tiers);
  return APPLIED;
}

function isTierShape(tier: unknown): boolean {
  if (typeof tier !== 'object' || tier === null) return false;
  const { upToNotional, ratePpm, leverageMax } = tier as Record<string, unknown>;
  return (upToNotional === null || typeof upToNotional === 'bigint') && typeof ratePpm === 'bigint' && typeof leverageMax === 'number';
}

// ---------------------------------------------------------------------------------------------
// Margin requirements and lookups

/** IM of position j: ceil(notional / leverage), micro, toward +∞. */
export function initialMargin(engine: Engine, j: number): bigint {
  const v = engine.views;
  return divCeil(notionalMicro(engine, j), BigInt(v.posLeverage[j]));
}

export function crossInitialMargin(engine: Engine, a: number): bigint {
  const v = engine.views;
  let total = 0n;
  for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
    if (v.posMode[j] === MODE_CROSS) total += initialMargin(engine, j);
  }
  return total;
}

function notionalMicro(engine: Engine, j: number): bigint {
  const v = engine.views;
  const i = v.posInst[j];
  return notionalMicroAt(v.posSize[j], v.instQ[i], v.instDiv[i], v.instMark[i]);
}

function bracketLeverageMax(engine: Engine, j: number): number {
  const instrument = engine.instruments[engine.views.posInst[j]];
  return Math.min(LEVERAGE_MAX, instrument.tiers[bracketOf(instrument.tiers, notionalMicro(engine, j))].leverageMax);
}

export function findPosition(engine: Engine, a: number, i: number, mode: ModeName): number {
  const v = engine.views;
  const modeCode = mode === 'cross' ? MODE_CROSS : MODE_ISOLATED;
  for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
    if (v.posInst[j] === i && v.posMode[j] === modeCode) return j;
  }
  return -1;
}

function requireInstrument(engine: Engine, symbol: string): number {
  if (typeof symbol !== 'string') refuse('invalid_operation', 'the instrument must be named by its symbol (a string)');
  const i = engine.symbolIndex.get(symbol);
  if (i === undefined) refuse('unknown_instrument', `unknown instrument "${symbol}"`);
  return i;
}

function requireMode(mode: ModeName): void {
  if (mode !== 'cross' && mode !== 'isolated') refuse('invalid_operation', `mode must be "cross" or "isolated", got ${String(mode)}`);
}

function requirePosition(engine: Engine, a: number, symbol: string, mode: ModeName): number {
  const i = requireInstrument(engine, symbol);
  requireMode(mode);
  const j = findPosition(engine, a, i, mode);
  if (j < 0) refuse('no_position', `no ${mode} ${symbol} position`);
  return j;
}

function requireAmount(amountMicro: bigint, what: string): void {
  if (typeof amountMicro !== 'bigint') refuse('invalid_operation', `${what} must be a bigint (micro)`);
}

function requirePositiveAmount(amountMicro: bigint): void {
  requireAmount(amountMicro, 'amountMicro');
  if (amountMicro <= 0n) refuse('invalid_amount', `amount must be positive, got ${micro(amountMicro)}`);
}

function checkQuote(value: bigint, what: string): void {
  if (value > QUOTE_ABS_MAX || value < -QUOTE_ABS_MAX) refuse('out_of_range', `${what} ${micro(value)} is outside ±${micro(QUOTE_ABS_MAX)}`);
}

function checkNotional(engine: Engine, j: number): void {
  const notional = notionalMicro(engine, j);
  if (notional > QUOTE_ABS_MAX) refuse('out_of_range', `notional ${micro(notional)} at the mark is over ${micro(QUOTE_ABS_MAX)}`);
  const v = engine.views;
  const i = v.posInst[j];
  const product = abs(v.posSize[j]) * v.instQ[i] * v.instMark[i];
  if (product > UNIT_PRODUCT_MAX && v.instDiv[i] > 1n) refuse('out_of_range', reasons.unitProduct('the position at the mark', product));
}

function setBalance(engine: Engine, a: number, balanceMicro: bigint): void {
  checkQuote(balanceMicro, 'balance');
  engine.views.accBalance[a] = balanceMicro;
}

function setMargin(engine: Engine, j: number, marginMicro: bigint): void {
  if (marginMicro > QUOTE_ABS_MAX) refuse('out_of_range', `isolated margin ${micro(marginMicro)} is over ${micro(QUOTE_ABS_MAX)}`);
  engine.views.posMargin[j] = marginMicro;
}

/** Raises instrument i's size high-water mark to `size`, noting the old mark for a rollback. */
// (applyBatch raises it directly for the fills the kernel applied: they are not rolled back.)
function raiseSizeHighWater(engine: Engine, i: number, size: bigint): void {
  if (size <= engine.sizeHighWater[i]) return;
  if (undo.highWaterInstrument < 0) {
    undo.highWaterInstrument = i;
    undo.highWater = engine.sizeHighWater[i];
  }
  engine.sizeHighWater[i] = size;
}

function micro(value: bigint): string {
  return formatScaled(value, QUOTE_DECIMALS);
}

// ---------------------------------------------------------------------------------------------
// Rollback

/**
 * What the operation in progress may have written, to put back on a refusal: O(1) plus the
 * account's block (up to 128 slots, 3 on average), copied only for operations that write position
 * columns. Operations never take, move or free a slot before they are applied (a new position is
 * built in a free slot outside every block, and a closed one leaves its block last), so the block's
 * start, its count, the arena's used slots and the layout need no record. One record:
 * the engine has a single writer, and an operation runs to its end before the next begins.
 */
class Undo {
  account = -1;
  balance = 0n;
  /** The account's block as it was, when `blockSaved`. */
  blockSaved = false;
  blockFirst = 0;
  blockCount = 0;
  readonly size = new BigInt64Array(POSITIONS_PER_ACCOUNT_MAX);
  readonly cost = new BigInt64Array(POSITIONS_PER_ACCOUNT_MAX);
  readonly margin = new BigInt64Array(POSITIONS_PER_ACCOUNT_MAX);
  readonly funding = new BigInt64Array(POSITIONS_PER_ACCOUNT_MAX);
  readonly inst = new Uint16Array(POSITIONS_PER_ACCOUNT_MAX);
  readonly mode = new Uint8Array(POSITIONS_PER_ACCOUNT_MAX);
  readonly leverage = new Uint16Array(POSITIONS_PER_ACCOUNT_MAX);
  /** The one instrument whose size high-water mark the operation raised (a fill), and its old mark. */
  highWaterInstrument = -1;
  highWater = 0n;
  /** The free slot a new position is being built in, or −1. */
  newSlot = -1;

  /** Starts the record of an operation on account a; `positions`: it may write position columns. */
  begin(engine: Engine, a: number, positions: boolean): void {
    const v = engine.views;
    this.account = a;
    this.balance = v.accBalance[a];
    this.highWaterInstrument = -1;
    this.newSlot = -1;
    this.blockSaved = positions;
    if (!positions) return;
    const first = v.accPosStart[a];
    const count = v.accPosCount[a];
    this.blockFirst = first;
    this.blockCount = count;
    for (let k = 0; k < count; k++) {
      const j = first + k;
      this.size[k] = v.posSize[j];
      this.cost[k] = v.posCost[j];
      this.margin[k] = v.posMargin[j];
      this.funding[k] = v.posFunding[j];
      this.inst[k] = v.posInst[j];
      this.mode[k] = v.posMode[j];
      this.leverage[k] = v.posLeverage[j];
    }
  }
}

const undo = new Undo();

/** Puts back what the operation in progress wrote: the balance, the account's block, the new slot, the high-water mark. */
function restore(engine: Engine): void {
  const v = engine.views;
  const a = undo.account;
  v.accBalance[a] = undo.balance;
  if (undo.blockSaved) {
    const first = v.accPosStart[a];
    for (let k = 0; k < undo.blockCount; k++) {
      const j = first + k;
      v.posSize[j] = undo.size[k];
      v.posCost[j] = undo.cost[k];
      v.posMargin[j] = undo.margin[k];
      v.posFunding[j] = undo.funding[k];
      v.posInst[j] = undo.inst[k];
      v.posMode[j] = undo.mode[k];
      v.posLeverage[j] = undo.leverage[k];
    }
  }
  if (undo.newSlot >= 0) engine.clearPositionSlot(undo.newSlot);
  if (undo.highWaterInstrument >= 0) engine.sizeHighWater[undo.highWaterInstrument] = undo.highWater;
}
