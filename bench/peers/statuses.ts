// How many scopes a float peer classifies differently from the exact kernel. The peers compute in
// float64, so a scope whose equity sits within rounding distance of its maintenance (or of zero)
// can land on the other side; the benchmark reports the count beside the peer's speed.
import { MODE_ISOLATED, STATUS_NAMES } from '../../src/fixed/constants.js';
import type { StatusName } from '../../src/fixed/constants.js';
import type { Engine } from '../../src/engine/engine.js';

/**
 * A peer's statuses as the kernel's codes (0 healthy, 1 liquidatable, 2 bankrupt).
 * `cross[a]` is account a's cross status. `position` holds every account's positions in account
 * order, each account's in its slot order (the order the peers are built in); only isolated
 * positions' entries are compared.
 */
export interface PeerStatuses {
  cross: Uint8Array;
  position: Uint8Array;
}

export interface Mismatch {
  account: number;
  /** The engine's position slot for an isolated scope; null for the account's cross scope. */
  slot: number | null;
  exact: StatusName;
  peer: StatusName;
}

export interface MismatchCount {
  /** Scopes compared: one cross scope per account plus one per isolated position. */
  scopes: number;
  cross: number;
  isolated: number;
  total: number;
  mismatches: Mismatch[];
}

/**
 * Runs the exact status sweep (engine.evaluate({ full: false })) and compares its statuses with the
 * peer's. The engine's book must be the one the peer was built from (same accounts and positions).
 */
export function countMismatches(engine: Engine, peer: PeerStatuses): MismatchCount {
  engine.evaluate({ full: false });
  const v = engine.views;
  if (peer.cross.length !== engine.accountCount) {
    throw new RangeError(`peer has ${peer.cross.length} accounts, the engine ${engine.accountCount}`);
  }
  const result: MismatchCount = { scopes: 0, cross: 0, isolated: 0, total: 0, mismatches: [] };
  let k = 0;
  for (let a = 0; a < engine.accountCount; a++) {
    result.scopes++;
    if (v.accStatus[a] !== peer.cross[a]) {
      result.cross++;
      result.mismatches.push({ account: a, slot: null, exact: STATUS_NAMES[v.accStatus[a]], peer: STATUS_NAMES[peer.cross[a]] });
    }
    const first = v.accPosStart[a];
    for (let j = first; j < first + v.accPosCount[a]; j++, k++) {
      if (v.posMode[j] !== MODE_ISOLATED) continue;
      if (k >= peer.position.length) throw new RangeError('peer has fewer positions than the engine');
      result.scopes++;
      if (v.posStatus[j] !== peer.position[k]) {
        result.isolated++;
        result.mismatches.push({ account: a, slot: j, exact: STATUS_NAMES[v.posStatus[j]], peer: STATUS_NAMES[peer.position[k]] });
      }
    }
  }
  if (k !== peer.position.length) throw new RangeError(`peer has ${peer.position.length} positions, the engine ${k}`);
  result.total = result.cross + result.isolated;
  return result;
}
