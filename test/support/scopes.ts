// The failing scopes as the status columns say, in the pool's list order (an account's isolated
// scopes in slot order, then its cross pool), counting isolated slots only: what the gatherer's
// scan reads, for tests to compare lists with.
import type { Engine } from '../../src/engine/engine.js';
import { MODE_ISOLATED, STATUS_HEALTHY } from '../../src/fixed/constants.js';
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
