// What the status columns say, for tests to compare: the failing scopes in the pool's list order
// (an account's isolated scopes in slot order, then its cross pool, counting isolated slots only:
// what the gatherer's scan reads), every scope's status by name, and each account's status bytes.
import type { Engine } from '../../src/engine/engine.js';
import { MODE_ISOLATED, STATUS_HEALTHY, STATUS_NAMES } from '../../src/fixed/constants.js';
import { SLOT_CROSS } from '../../src/memory/layout.js';

export function statusScopes(engine: Engine): number[] {
  const v = engine.views;
  const scopes: number[] = [];
  for (let a = 0; a < engine.accountCount; a++) {
    for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
      if (v.posMode[j] === MODE_ISOLATED && v.posStatus[j] !== STATUS_HEALTHY) scopes.push(a, j);
    }
    if (v.accStatus[a] !== STATUS_HEALTHY) scopes.push(a, SLOT_CROSS);
  }
  return scopes;
}

/** Every account's status and every isolated slot's, by name (`invalid n` for a byte that is none). */
export function sweptStatuses(engine: Engine): { accountStatus: string[]; positionStatus: Map<number, string> } {
  const v = engine.views;
  const accountStatus: string[] = [];
  const positionStatus = new Map<number, string>();
  for (let a = 0; a < engine.accountCount; a++) {
    accountStatus.push(STATUS_NAMES[v.accStatus[a]] ?? `invalid ${v.accStatus[a]}`);
    for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) {
      if (v.posMode[j] === MODE_ISOLATED) positionStatus.set(j, STATUS_NAMES[v.posStatus[j]] ?? `invalid ${v.posStatus[j]}`);
    }
  }
  return { accountStatus, positionStatus };
}

/** Each account's status bytes, one line: the pool's, then each slot's (`-` for a cross slot, which has none). */
export function statusBytes(engine: Engine): string[] {
  const v = engine.views;
  const lines: string[] = [];
  for (let a = 0; a < engine.accountCount; a++) {
    let line = String(v.accStatus[a]);
    for (let j = v.accPosStart[a]; j < v.accPosStart[a] + v.accPosCount[a]; j++) line += v.posMode[j] === MODE_ISOLATED ? `,${v.posStatus[j]}` : ',-';
    lines.push(line);
  }
  return lines;
}
