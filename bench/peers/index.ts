// The benchmark's peers: the sweep written the ways a user would otherwise write it, each built
// from an engine's columns (not timed) and evaluated over and over (timed), plus the comparison
// of their statuses with the exact kernel's.
export { buildObjectBook, evaluateObjects, objectStatuses } from './object-peer.js';
export type { AccountObject, InstrumentObject, ObjectBook, ObjectResult, PositionObject, StatusString, TierObject } from './object-peer.js';
export { buildFloat64Book, evaluateFloat64, float64Statuses } from './float64-peer.js';
export type { Float64Book } from './float64-peer.js';
export { countMismatches } from './statuses.js';
export type { Mismatch, MismatchCount, PeerStatuses } from './statuses.js';
