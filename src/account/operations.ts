// Account operations (docs/domain.md section 6) on the book in memory, in place. Each one applies
// completely or is refused with a reason and changes nothing: an operation is applied to the
// account's columns, the account is re-evaluated by the core, the rules are checked on the
// result, and on a refusal every column the operation touched is restored.
import {
  FUNDING_EXTRA_SCALE,
  FUNDING_INDEX_ABS_MAX,
  LEVERAGE_MAX,
  MODE_CROSS,
  MODE_ISOLATED,
  POSITIONS_PER_ACCOUNT_MAX,
  PRICE_UNITS_MAX,
  QUOTE_ABS_MAX,
  type ModeName,
} from '../fixed/constants.js';
import { abs, divCeil } from '../fixed/rounding.js';
import { quotePerUnit, type Position } from '../book/model.js';
import { bracketOf } from '../book/ranges.js';
import type { Engine } from '../engine/engine.js';

export type Operation =
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
  | { kind: 'setMark'; instrument: string; priceUnits: bigint }
  | { kind: 'setFundingIndex'; instrument: string; fundingIndex: bigint };

export type OperationResult =
  | {
      ok: true;
      /** Fills: trading PnL realized into the position's scope; settlements: funding received (negative: paid). */
      realizedPnlMicro?: bigint;
      /** An isolated close whose loss exceeded its margin: the part no collateral covers. */
      shortfallMicro?: bigint;
    }
  | { ok: false; reason: string };

/** A refusal raised inside an operation; applyOperation turns it into a result and rolls back. */
class Refusal extends Error {}

function refuse(reason: string): never {
  throw new Refusal(reason);
}

interface AccountSnapshot {
  account: number;
  balanceMicro: bigint;
  positionStart: number;
  positions: Position[];
  positionsUsed: number;
  compact: boolean;
  layout: Engine['layout'];
  sizeHighWater: bigint[];
}

export function applyOperation(engine: Engine, operation: Operation): OperationResult {
  if (operation.kind === 'setMark') return guard(() => setMark(engine, operation.instrument, operation.priceUnits));
  if (operation.kind === 'setFundingIndex') {
    return guard(() => setFundingIndex(engine, operation.instrument, operation.fundingIndex));
  }
  const account = engine.accountIds.indexOf(operation.account);
  if (account === undefined) return { ok: false, reason: `unknown account "${operation.account}"` };
  const snapshot = takeSnapshot(engine, account);
  try {
    const result = applyToAccount(engine, account, operation);
    engine.evaluate({ start: account, end: account + 1 });
    return result;
  } catch (error) {
    restore(engine, snapshot);
    engine.evaluate({ start: account, end: account + 1 });
    if (error instanceof Refusal) return { ok: false, reason: error.message };
    throw error;
  }
}

function guard(action: () => OperationResult): OperationResult {
  try {
    return action();
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, reason: error.message };
    throw error;
  }
}

function applyToAccount(engine: Engine, a: number, operation: Exclude<Operation, { kind: 'setMark' | 'setFundingIndex' }>): OperationResult {
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
  }
}

// ---------------------------------------------------------------------------------------------
// Transfers

function deposit(engine: Engine, a: number, amountMicro: bigint): OperationResult {
  requirePositiveAmount(amountMicro);
  setBalance(engine, a, engine.views.accBalance[a] + amountMicro);
  return { ok: true };
}

function withdraw(engine: Engine, a: number, amountMicro: bigint): OperationResult {
  requirePositiveAmount(amountMicro);
  takeFromWallet(engine, a, amountMicro, 'withdrawal');
  return { ok: true };
}

function addMargin(engine: Engine, a: number, symbol: string, amountMicro: bigint): OperationResult {
  requirePositiveAmount(amountMicro);
  const j = requirePosition(engine, a, symbol, 'isolated');
  setMargin(engine, j, engine.views.posMargin[j] + amountMicro);
  takeFromWallet(engine, a, amountMicro, 'margin transfer');
  return { ok: true };
}

function removeMargin(engine: Engine, a: number, symbol: string, amountMicro: bigint): OperationResult {
  requirePositiveAmount(amountMicro);
  const v = engine.views;
  const j = requirePosition(engine, a, symbol, 'isolated');
  if (amountMicro > v.posMargin[j]) {
    refuse(`cannot remove ${micro(amountMicro)}: the isolated margin is ${micro(v.posMargin[j])}`);
  }
  setMargin(engine, j, v.posMargin[j] - amountMicro);
  setBalance(engine, a, v.accBalance[a] + amountMicro);
  evaluateAccount(engine, a);
  const equity = v.posMargin[j] + v.posPnl[j];
  const initial = initialMargin(engine, j);
  if (equity < initial) {
    refuse(`would leave isolated equity ${micro(equity)} below the initial margin ${micro(initial)}`);
  }
  return { ok: true };
}

/** Moves money out of the wallet: the wallet may not go negative nor the cross pool below its IM. */
function takeFromWallet(engine: Engine, a: number, amountMicro: bigint, what: string): void {
  const v = engine.views;
  if (amountMicro > v.accBalance[a]) {
    refuse(`${what} of ${micro(amountMicro)} exceeds the wallet balance ${micro(v.accBalance[a])}`);
  }
  setBalance(engine, a, v.accBalance[a] - amountMicro);
  requireCrossInitialMargin(engine, a, what);
}

function requireCrossInitialMargin(engine: Engine, a: number, what: string): void {
  evaluateAccount(engine, a);
  const equity = engine.views.accCrossEquity[a];
  const initial = crossInitialMargin(engine, a);
  if (equity < initial) {
    refuse(`${what} would leave cross equity ${micro(equity)} below the cross initial margin ${micro(initial)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Leverage and mode

function setLeverage(engine: Engine, a: number, symbol: string, mode: ModeName, leverage: number): OperationResult {
  const v = engine.views;
  const j = requirePosition(engine, a, symbol, mode);
  const maxLeverage = bracketLeverageMax(engine, j);
  if (!Number.isInteger(leverage) || leverage < 1 || leverage > maxLeverage) {
    refuse(`leverage must be a whole number from 1 to ${maxLeverage} (the bracket's max), got ${leverage}`);
  }
  v.posLeverage[j] = leverage;
  evaluateAccount(engine, a);
  if (mode === 'cross') {
    requireCrossInitialMargin(engine, a, 'leverage change');
  } else {
    const equity = v.posMargin[j] + v.posPnl[j];
    const initial = initialMargin(engine, j);
    if (equity < initial) refuse(`isolated equity ${micro(equity)} is below the initial margin ${micro(initial)} at ${leverage}x`);
  }
  return { ok: true };
}

function switchMode(engine: Engine, a: number, symbol: string, to: ModeName, marginMicro: bigint | undefined): OperationResult {
  const v = engine.views;
  const from: ModeName = to === 'cross' ? 'isolated' : 'cross';
  const j = requirePosition(engine, a, symbol, from);
  if (findPosition(engine, a, engine.symbolIndex.get(symbol)!, to) >= 0) {
    refuse(`account already holds a ${to} ${symbol} position`);
  }
  if (to === 'isolated') {
    if (marginMicro === undefined) refuse('switching to isolated needs the margin to assign from the wallet');
    if (marginMicro < 0n) refuse(`margin must not be negative, got ${micro(marginMicro)}`);
    if (marginMicro > v.accBalance[a]) {
      refuse(`margin ${micro(marginMicro)} exceeds the wallet balance ${micro(v.accBalance[a])}`);
    }
    setBalance(engine, a, v.accBalance[a] - marginMicro);
    setMargin(engine, j, marginMicro);
    v.posMode[j] = MODE_ISOLATED;
  } else {
    if (marginMicro !== undefined) refuse('switching to cross takes no margin: the isolated margin returns to the wallet');
    setBalance(engine, a, v.accBalance[a] + v.posMargin[j]);
    v.posMargin[j] = 0n;
    v.posMode[j] = MODE_CROSS;
  }
  // Size, entry and funding snapshot are untouched; the scope may be liquidatable at once.
  return { ok: true };
}

// ---------------------------------------------------------------------------------------------
// Fills

function fill(engine: Engine, a: number, operation: Extract<Operation, { kind: 'fill' }>): OperationResult {
  const i = requireInstrument(engine, operation.instrument);
  const instrument = engine.instruments[i];
  const q = quotePerUnit(instrument);
  const delta = operation.sizeUnits;
  const price = operation.priceUnits;
  if (delta === 0n) refuse('fill size must not be zero');
  if (delta % instrument.lotUnits !== 0n) refuse(`fill size ${delta} is not a whole number of lots (${instrument.lotUnits} units)`);
  if (price <= 0n || price > PRICE_UNITS_MAX) refuse(`fill price must be in (0, ${PRICE_UNITS_MAX}] price units, got ${price}`);
  const isolated = operation.mode === 'isolated';
  if (!isolated && operation.marginMicro !== undefined) refuse('a cross fill takes no margin');

  // Funding is settled into the scope first, so the fill starts from a settled position.
  let j = findPosition(engine, a, i, operation.mode);
  const created = j < 0;
  if (created) j = openSlot(engine, a, i, operation.mode);
  else settlePosition(engine, a, j);
  // Views only after the slot is open: opening it may have moved the book to a bigger layout.
  const v = engine.views;

  const size = v.posSize[j];
  const cost = v.posCost[j];
  const next = size + delta;
  let realized = 0n;
  let newCost: bigint;
  let opened: bigint; // |size| the fill adds in the new direction (what needs initial margin)
  if (size === 0n || size < 0n === delta < 0n) {
    newCost = cost + delta * q * price;
    opened = abs(delta);
  } else {
    // Opposite side: close up to the whole position; realized PnL rounds toward −∞, so the cost
    // basis taken off rounds toward +∞.
    const closing = abs(delta) >= abs(size) ? size : -delta;
    const removed = closing === size ? cost : divCeil(cost * abs(closing), abs(size));
    realized = closing * q * price - removed;
    newCost = cost - removed;
    opened = next !== 0n && next < 0n !== size < 0n ? abs(next) : 0n; // a flip opens the rest
    newCost += (next < 0n ? -opened : opened) * q * price;
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
      refuse(`leverage ${v.posLeverage[j]}x is above ${leverageMax}x, the max of the bracket this fill reaches: lower the leverage first`);
    }
  }

  let shortfall = 0n;
  if (isolated) {
    let margin = v.posMargin[j] + realized;
    if (opened > 0n) {
      const added = operation.marginMicro ?? divCeil(opened * q * price, BigInt(v.posLeverage[j]));
      if (added < 0n) refuse(`margin must not be negative, got ${micro(added)}`);
      if (added > v.accBalance[a]) refuse(`margin ${micro(added)} exceeds the wallet balance ${micro(v.accBalance[a])}`);
      setBalance(engine, a, v.accBalance[a] - added);
      margin += added;
    } else if (operation.marginMicro !== undefined) {
      refuse('margin goes with fills that open or increase a position');
    }
    if (next === 0n) {
      // Closed: the margin left returns to the wallet; a loss beyond the margin is a shortfall
      // that no collateral of this account covers (the insurance fund's, in the simulator).
      if (margin < 0n) shortfall = -margin;
      setBalance(engine, a, v.accBalance[a] + (margin > 0n ? margin : 0n));
      margin = 0n;
    } else if (margin < 0n) {
      refuse(`the fill would leave the isolated margin at ${micro(margin)}`);
    }
    setMargin(engine, j, margin);
  } else {
    setBalance(engine, a, v.accBalance[a] + realized);
  }

  checkNotional(engine, j);
  if (opened > 0n) {
    evaluateAccount(engine, a);
    if (isolated) {
      const equity = v.posMargin[j] + v.posPnl[j];
      const initial = initialMargin(engine, j);
      if (equity < initial) refuse(`isolated equity ${micro(equity)} would be below the initial margin ${micro(initial)}`);
    } else {
      requireCrossInitialMargin(engine, a, 'the fill');
    }
  }
  if (next === 0n) engine.removePositionSlot(a, j);
  const result: OperationResult = { ok: true, realizedPnlMicro: realized };
  if (shortfall > 0n) result.shortfallMicro = shortfall;
  return result;
}

/** Opens an empty position slot for (instrument, mode); the fill sets its leverage. */
function openSlot(engine: Engine, a: number, i: number, mode: ModeName): number {
  if (engine.views.accPosCount[a] >= POSITIONS_PER_ACCOUNT_MAX) {
    refuse(`the account already holds the maximum of ${POSITIONS_PER_ACCOUNT_MAX} positions`);
  }
  const j = engine.appendPositionSlot(a);
  engine.writePosition(j, {
    instrument: i,
    sizeUnits: 0n,
    costMicro: 0n,
    mode,
    marginMicro: 0n,
    leverage: engine.instruments[i].tiers[0].leverageMax,
    fundingIndex: engine.views.instFunding[i],
  });
  return j;
}

// ---------------------------------------------------------------------------------------------
// Funding

function settleFunding(engine: Engine, a: number, symbol: string | undefined, mode: ModeName | undefined): OperationResult {
  const v = engine.views;
  let paid = 0n;
  if (symbol !== undefined) {
    if (mode === undefined) {
      const i = requireInstrument(engine, symbol);
      const slots = (['cross', 'isolated'] as const).map((m) => findPosition(engine, a, i, m)).filter((j) => j >= 0);
      if (slots.length === 0) refuse(`no ${symbol} position`);
      for (const j of slots) paid += settlePosition(engine, a, j);
    } else {
      paid += settlePosition(engine, a, requirePosition(engine, a, symbol, mode));
    }
  } else {
    if (mode !== undefined) refuse('settling by mode needs an instrument');
    for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) paid += settlePosition(engine, a, j);
  }
  return { ok: true, realizedPnlMicro: -paid };
}

/** Moves position j's unsettled funding into its scope's collateral. Returns what was paid. */
function settlePosition(engine: Engine, a: number, j: number): bigint {
  const v = engine.views;
  const i = v.posInst[j];
  const owed = fundingOwed(engine, j);
  if (v.posMode[j] === MODE_CROSS) {
    setBalance(engine, a, v.accBalance[a] - owed);
  } else {
    if (owed > v.posMargin[j]) {
      refuse(`funding owed ${micro(owed)} exceeds the isolated margin ${micro(v.posMargin[j])} of ${engine.instruments[i].symbol}`);
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
  return divCeil(v.posSize[j] * quotePerUnit(engine.instruments[i]) * (v.instFunding[i] - v.posFunding[j]), FUNDING_EXTRA_SCALE);
}

// ---------------------------------------------------------------------------------------------
// Instrument updates

function setMark(engine: Engine, symbol: string, priceUnits: bigint): OperationResult {
  const i = requireInstrument(engine, symbol);
  if (priceUnits <= 0n || priceUnits > PRICE_UNITS_MAX) {
    refuse(`${symbol} mark price must be in (0, ${PRICE_UNITS_MAX}] price units, got ${priceUnits}`);
  }
  const notional = engine.sizeHighWater[i] * quotePerUnit(engine.instruments[i]) * priceUnits;
  if (notional > QUOTE_ABS_MAX) {
    refuse(`${symbol} mark ${priceUnits} would put the largest position's notional at ${micro(notional)}, over ${micro(QUOTE_ABS_MAX)}`);
  }
  engine.views.instMark[i] = priceUnits;
  return { ok: true };
}

function setFundingIndex(engine: Engine, symbol: string, fundingIndex: bigint): OperationResult {
  const v = engine.views;
  const i = requireInstrument(engine, symbol);
  if (abs(fundingIndex) > FUNDING_INDEX_ABS_MAX) refuse(`${symbol} funding index must be within ±${FUNDING_INDEX_ABS_MAX}`);
  const q = quotePerUnit(engine.instruments[i]);
  // Every position's unsettled funding must stay in range; funding updates are rare, so scan.
  const limit = QUOTE_ABS_MAX * FUNDING_EXTRA_SCALE;
  for (let a = 0; a < engine.accountCount; a++) {
    for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
      if (v.posInst[j] === i && abs(v.posSize[j] * q * (fundingIndex - v.posFunding[j])) > limit) {
        refuse(`${symbol} funding index ${fundingIndex} would put account "${engine.accountIds.get(a)}"'s unsettled funding over ${micro(QUOTE_ABS_MAX)}`);
      }
    }
  }
  v.instFunding[i] = fundingIndex;
  // Every position's unsettled funding moved: one pass over the book (funding updates are rare).
  engine.refreshDebits();
  return { ok: true };
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
  return abs(v.posSize[j]) * quotePerUnit(engine.instruments[i]) * v.instMark[i];
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
  const i = engine.symbolIndex.get(symbol);
  if (i === undefined) refuse(`unknown instrument "${symbol}"`);
  return i;
}

function requirePosition(engine: Engine, a: number, symbol: string, mode: ModeName): number {
  const j = findPosition(engine, a, requireInstrument(engine, symbol), mode);
  if (j < 0) refuse(`no ${mode} ${symbol} position`);
  return j;
}

function requirePositiveAmount(amountMicro: bigint): void {
  if (amountMicro <= 0n) refuse(`amount must be positive, got ${micro(amountMicro)}`);
}

function checkQuote(value: bigint, what: string): void {
  if (abs(value) > QUOTE_ABS_MAX) refuse(`${what} ${micro(value)} is outside ±${micro(QUOTE_ABS_MAX)}`);
}

function checkNotional(engine: Engine, j: number): void {
  const notional = notionalMicro(engine, j);
  if (notional > QUOTE_ABS_MAX) refuse(`notional ${micro(notional)} at the mark is over ${micro(QUOTE_ABS_MAX)}`);
}

function setBalance(engine: Engine, a: number, balanceMicro: bigint): void {
  checkQuote(balanceMicro, 'balance');
  engine.views.accBalance[a] = balanceMicro;
}

function setMargin(engine: Engine, j: number, marginMicro: bigint): void {
  if (marginMicro > QUOTE_ABS_MAX) refuse(`isolated margin ${micro(marginMicro)} is over ${micro(QUOTE_ABS_MAX)}`);
  engine.views.posMargin[j] = marginMicro;
}

function raiseSizeHighWater(engine: Engine, i: number, size: bigint): void {
  if (size > engine.sizeHighWater[i]) engine.sizeHighWater[i] = size;
}

function evaluateAccount(engine: Engine, a: number): void {
  engine.evaluate({ start: a, end: a + 1 });
}

function micro(value: bigint): string {
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  const whole = magnitude / 1_000_000n;
  const fraction = (magnitude % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Rollback

function takeSnapshot(engine: Engine, a: number): AccountSnapshot {
  const v = engine.views;
  const positions: Position[] = [];
  for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) positions.push(engine.readPosition(j));
  return {
    account: a,
    balanceMicro: v.accBalance[a],
    positionStart: v.accPosStart[a],
    positions,
    positionsUsed: engine.positionsUsed,
    compact: engine.compact,
    layout: engine.layout,
    sizeHighWater: [...engine.sizeHighWater],
  };
}

/**
 * Puts the account back as it was. Operations only add slots before they can be refused (removal
 * is their last step). In the same layout the account's original block is still intact, so it is
 * restored in place and the slots the operation handed out are cleared and returned; after a
 * re-layout the account's (compacted) current block receives the positions.
 */
function restore(engine: Engine, snapshot: AccountSnapshot): void {
  const v = engine.views;
  const a = snapshot.account;
  v.accBalance[a] = snapshot.balanceMicro;
  // Slots keep their indices when the arena grows (Engine.growPositions), so the account's
  // original block is intact in either layout: restore it in place, and clear and return the
  // slots the operation handed out.
  for (let j = snapshot.positionsUsed; j < engine.positionsUsed; j++) engine.clearPositionSlot(j);
  engine.positionsUsed = snapshot.positionsUsed;
  engine.compact = snapshot.compact;
  v.accPosStart[a] = snapshot.positionStart;
  const first = v.accPosStart[a];
  snapshot.positions.forEach((position, k) => engine.writePosition(first + k, position));
  v.accPosCount[a] = snapshot.positions.length;
  snapshot.sizeHighWater.forEach((size, i) => (engine.sizeHighWater[i] = size));
}
