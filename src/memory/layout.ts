// The book as struct-of-arrays in one shared WebAssembly.Memory. JavaScript owns everything above
// the kernel module's heap base: a header of column offsets (read by the kernel, assembly/layout.ts)
// and the columns themselves. Views here are the control plane's window onto the same bytes.
import { growMemory } from './huge-pages.js';
import { MODE_CROSS, TIERS_MAX } from '../fixed/constants.js';
import type { Position } from '../book/model.js';
import { kernelI64, kernelU32 } from '../engine/kernel-constants.js';

export const WASM_PAGE_BYTES = 65_536;
/** wasm32 addresses 4 GiB: 65,536 pages. The memory is created with this maximum so it can grow. */
export const WASM_PAGES_MAX = 65_536;
const COLUMN_ALIGN_BYTES = 16;

/**
 * Header slots, as the kernel defines them (assembly/layout.ts H_*, read from the compiled core):
 * each holds a column's byte offset, or a count. test/engine/constants.test.ts checks that every
 * slot the kernel defines is here and every column below has one.
 */
export const HeaderSlot = {
  instrumentCount: kernelU32('H_INSTRUMENT_COUNT'),
  instMark: kernelU32('H_INST_MARK'),
  instFunding: kernelU32('H_INST_FUNDING'),
  instQ: kernelU32('H_INST_Q'),
  instDiv: kernelU32('H_INST_DIV'),
  instTick: kernelU32('H_INST_TICK'),
  instTierCount: kernelU32('H_INST_TIER_COUNT'),
  tierFloor: kernelU32('H_TIER_FLOOR'),
  tierRate: kernelU32('H_TIER_RATE'),
  tierCumLo: kernelU32('H_TIER_CUM_LO'),
  tierCumHi: kernelU32('H_TIER_CUM_HI'),
  tierLeverage: kernelU32('H_TIER_LEVERAGE'),
  accBalance: kernelU32('H_ACC_BALANCE'),
  accPosStart: kernelU32('H_ACC_POS_START'),
  accPosCount: kernelU32('H_ACC_POS_COUNT'),
  accCrossEquity: kernelU32('H_ACC_CROSS_EQUITY'),
  accCrossMaint: kernelU32('H_ACC_CROSS_MAINT'),
  accStatus: kernelU32('H_ACC_STATUS'),
  posSize: kernelU32('H_POS_SIZE'),
  posCost: kernelU32('H_POS_COST'),
  posMargin: kernelU32('H_POS_MARGIN'),
  posFunding: kernelU32('H_POS_FUNDING'),
  posInst: kernelU32('H_POS_INST'),
  posMode: kernelU32('H_POS_MODE'),
  posLeverage: kernelU32('H_POS_LEVERAGE'),
  posPnl: kernelU32('H_POS_PNL'),
  posMaint: kernelU32('H_POS_MAINT'),
  posStatus: kernelU32('H_POS_STATUS'),
  posBracket: kernelU32('H_POS_BRACKET'),
  sweepRecords: kernelU32('H_SWEEP_RECORDS'),
  chunks: kernelU32('H_CHUNKS'),
  accountCount: kernelU32('H_ACCOUNT_COUNT'),
  accRecords: kernelU32('H_ACC_RECORDS'),
  recordsBytes: kernelU32('H_RECORDS_BYTES'),
  recordsTail: kernelU32('H_RECORDS_TAIL'),
  fundingSlots: kernelU32('H_FUNDING_SLOTS'),
  fundingAge: kernelU32('H_FUNDING_AGE'),
  sweepSerial: kernelU32('H_SWEEP_SERIAL'),
  fundingDirty: kernelU32('H_FUNDING_DIRTY'),
  compactState: kernelU32('H_COMPACT_STATE'),
  compactNext: kernelU32('H_COMPACT_NEXT'),
  compactCount: kernelU32('H_COMPACT_COUNT'),
  compactWrite: kernelU32('H_COMPACT_WRITE'),
  compactRoundEnd: kernelU32('H_COMPACT_ROUND_END'),
  compactCredit: kernelU32('H_COMPACT_CREDIT'),
  compactPace: kernelU32('H_COMPACT_PACE'),
  compactRetry: kernelU32('H_COMPACT_RETRY'),
  compactStartFree: kernelU32('H_COMPACT_START_FREE'),
  compactions: kernelU32('H_COMPACTIONS'),
  layoutRoom: kernelU32('H_LAYOUT_ROOM'),
  instDriftLong: kernelU32('H_INST_DRIFT_LONG'),
  instDriftShort: kernelU32('H_INST_DRIFT_SHORT'),
  instChunks: kernelU32('H_INST_CHUNKS'),
  instChunkWords: kernelU32('H_INST_CHUNK_WORDS'),
  posOutputs: kernelU32('H_POS_OUTPUTS'),
} as const;
export const HEADER_SLOTS = kernelU32('HEADER_SLOTS');
/** Bytes of a header slot, a shard record's word and a chunk meta's word: each a u32. */
const WORD_BYTES = kernelU32('WORD_BYTES');
/** Header slots that hold a count, or a region that is not a column of one table. */
type NotColumn = 'instrumentCount' | 'accountCount' | 'sweepRecords' | 'chunks' | 'recordsBytes' | 'recordsTail' | 'fundingSlots' | 'fundingAge' | 'sweepSerial' | 'fundingDirty' | 'layoutRoom' | 'instChunks' | 'instChunkWords' | 'posOutputs' | Compaction;
/** The header slots of the kernel's compaction of the sweep records region (assembly/layout.ts H_COMPACT_*). */
export const COMPACTION_SLOTS = ['compactState', 'compactNext', 'compactCount', 'compactWrite', 'compactRoundEnd', 'compactCredit', 'compactPace', 'compactRetry', 'compactStartFree', 'compactions'] as const;
type Compaction = (typeof COMPACTION_SLOTS)[number];
export type ColumnName = Exclude<keyof typeof HeaderSlot, NotColumn>;

/** Accounts per chunk of the chunk sweep (assembly/layout.ts CHUNK_ACCOUNTS): shard edges fall on them. */
export const CHUNK_ACCOUNTS = kernelU32('CHUNK_ACCOUNTS');
/** Bytes of the sweep records per position slot (assembly/layout.ts SWEEP_RECORD_SLOT_BYTES). */
export const SWEEP_RECORD_SLOT_BYTES = kernelU32('SWEEP_RECORD_SLOT_BYTES');
/** Bytes of the sweep records per account: its cross base (assembly/layout.ts SWEEP_BASE_BYTES). */
export const SWEEP_BASE_BYTES = kernelU32('SWEEP_BASE_BYTES');
/** Bytes of a shard's chunk sums (assembly/layout.ts CHUNK_SCRATCH_BYTES). */
export const CHUNK_SCRATCH_BYTES = kernelU32('CHUNK_SCRATCH_BYTES');
/**
 * Room a chunk's area gets when it outgrows its area, at least (assembly/layout.ts), and by default
 * in a layout of the whole book (H_LAYOUT_ROOM, at most this).
 */
export const CHUNK_ROOM_MIN = kernelU32('CHUNK_ROOM_MIN');
const RECORDS_SPARE_SHARE = kernelU32('RECORDS_SPARE_SHARE');
const COMPACT_START_SHARE = kernelU32('COMPACT_START_SHARE');
/** Bytes of a chunk's meta (assembly/layout.ts CHUNK_META_BYTES): offset, counts, state, capacity. */
export const CHUNK_META_BYTES = kernelU32('CHUNK_META_BYTES');
/** The u32 word of a chunk's meta that holds its state (assembly/layout.ts CHUNK_STATE). */
const CHUNK_STATE_WORD = kernelU32('CHUNK_STATE') / WORD_BYTES;
/** A chunk's state before any refresh laid it out (assembly/layout.ts CHUNK_UNLAID). */
const CHUNK_UNLAID = kernelU32('CHUNK_UNLAID');

type Table = 'instrument' | 'tier' | 'account' | 'position';
interface ColumnSpec {
  name: ColumnName;
  table: Table;
  bytes: 1 | 2 | 4 | 8;
}

/** Every column, its table and its element width. Order is the order in memory. */
export const COLUMNS: readonly ColumnSpec[] = [
  { name: 'instMark', table: 'instrument', bytes: 8 },
  { name: 'instFunding', table: 'instrument', bytes: 8 },
  { name: 'instQ', table: 'instrument', bytes: 8 },
  // The value divisor d: a position's value is floor(z·q·p / d) (docs/numbers.md).
  { name: 'instDiv', table: 'instrument', bytes: 8 },
  { name: 'instTick', table: 'instrument', bytes: 8 },
  { name: 'instTierCount', table: 'instrument', bytes: 4 },
  // How far funding updates may have moved the boundaries of its isolated positions since their
  // records were written, in price units (assembly/layout.ts H_INST_DRIFT_*; Engine.advanceDrift).
  { name: 'instDriftLong', table: 'instrument', bytes: 8 },
  { name: 'instDriftShort', table: 'instrument', bytes: 8 },
  { name: 'tierFloor', table: 'tier', bytes: 8 },
  { name: 'tierRate', table: 'tier', bytes: 8 },
  { name: 'tierCumLo', table: 'tier', bytes: 8 },
  { name: 'tierCumHi', table: 'tier', bytes: 8 },
  // The tier's highest leverage (at most LEVERAGE_MAX): a batch's fills check it in the kernel.
  { name: 'tierLeverage', table: 'tier', bytes: 2 },
  { name: 'accBalance', table: 'account', bytes: 8 },
  { name: 'accPosStart', table: 'account', bytes: 4 },
  { name: 'accPosCount', table: 'account', bytes: 4 },
  { name: 'accCrossEquity', table: 'account', bytes: 8 },
  { name: 'accCrossMaint', table: 'account', bytes: 8 },
  { name: 'accStatus', table: 'account', bytes: 1 },
  // Derived: the account's cross (low byte) and isolated (high byte) sweep records in its chunk.
  { name: 'accRecords', table: 'account', bytes: 2 },
  { name: 'posSize', table: 'position', bytes: 8 },
  { name: 'posCost', table: 'position', bytes: 8 },
  { name: 'posMargin', table: 'position', bytes: 8 },
  { name: 'posFunding', table: 'position', bytes: 8 },
  { name: 'posInst', table: 'position', bytes: 2 },
  { name: 'posMode', table: 'position', bytes: 1 },
  { name: 'posLeverage', table: 'position', bytes: 2 },
  { name: 'posPnl', table: 'position', bytes: 8 },
  { name: 'posMaint', table: 'position', bytes: 8 },
  { name: 'posStatus', table: 'position', bytes: 1 },
  // A hint: the bracket the last sweep found for this position, checked before use.
  { name: 'posBracket', table: 'position', bytes: 1 },
];

/** The position columns a book stores (the rest are outputs the core writes). */
export const POSITION_INPUT_COLUMNS = ['posSize', 'posCost', 'posMargin', 'posFunding', 'posInst', 'posMode', 'posLeverage'] as const;
export type PositionInputColumn = (typeof POSITION_INPUT_COLUMNS)[number];
/** Every position column, inputs and outputs, in memory order. */
export const POSITION_COLUMNS = COLUMNS.filter((c) => c.table === 'position').map((c) => c.name);
/** The position columns only full sweeps write (BookLayout.outputsWritten says whether they have). */
const FULL_SWEEP_COLUMNS: readonly ColumnName[] = ['posPnl', 'posMaint'];
const MOVED_BEFORE_OUTPUTS = POSITION_COLUMNS.filter((name) => !FULL_SWEEP_COLUMNS.includes(name));
/**
 * The position columns a move, copy or clear of slots writes: every one once the outputs are
 * written, the rest before (until then the outputs are 0 in every slot, their pages untouched: the
 * kernel's rule is assembly/operations.ts slotColumnMoves).
 */
export function movedPositionColumns(outputsWritten: boolean): readonly ColumnName[] {
  return outputsWritten ? POSITION_COLUMNS : MOVED_BEFORE_OUTPUTS;
}
/** Every account column, in memory order. */
export const ACCOUNT_COLUMNS = COLUMNS.filter((c) => c.table === 'account').map((c) => c.name);
/** The columns that describe instruments and their tiers. */
export const INSTRUMENT_COLUMNS = COLUMNS.filter((c) => c.table === 'instrument' || c.table === 'tier').map((c) => c.name);

/** Position j of any set of position input columns (the engine's views, a generated book's). */
export function readPositionColumns(columns: Pick<Views, PositionInputColumn>, j: number): Position {
  return {
    instrument: columns.posInst[j],
    sizeUnits: columns.posSize[j],
    costMicro: columns.posCost[j],
    mode: columns.posMode[j] === MODE_CROSS ? 'cross' : 'isolated',
    marginMicro: columns.posMargin[j],
    leverage: columns.posLeverage[j],
    fundingIndex: columns.posFunding[j],
  };
}

/** Copies a whole column (same length) from one set of views to another. */
export function copyColumn(to: Views, from: Views, name: ColumnName): void {
  (to[name] as Uint8Array).set(from[name] as Uint8Array);
}

/**
 * Bytes one position and one account occupy in memory (inputs, outputs and what is derived from
 * them, the sweep records included), for sizing claims.
 */
export const POSITION_BYTES = COLUMNS.filter((c) => c.table === 'position').reduce((sum, c) => sum + c.bytes, 0) + SWEEP_RECORD_SLOT_BYTES;
export const ACCOUNT_BYTES = COLUMNS.filter((c) => c.table === 'account').reduce((sum, c) => sum + c.bytes, 0) + SWEEP_BASE_BYTES + CHUNK_META_BYTES / CHUNK_ACCOUNTS;

export interface Capacity {
  instruments: number;
  accounts: number;
  positions: number;
}

export interface Views {
  instMark: BigInt64Array;
  instFunding: BigInt64Array;
  instQ: BigInt64Array;
  instDiv: BigInt64Array;
  instTick: BigInt64Array;
  instTierCount: Int32Array;
  instDriftLong: BigInt64Array;
  instDriftShort: BigInt64Array;
  tierFloor: BigInt64Array;
  tierRate: BigInt64Array;
  tierCumLo: BigUint64Array;
  tierCumHi: BigUint64Array;
  tierLeverage: Uint16Array;
  accBalance: BigInt64Array;
  accPosStart: Uint32Array;
  accPosCount: Uint32Array;
  accCrossEquity: BigInt64Array;
  accCrossMaint: BigInt64Array;
  accStatus: Uint8Array;
  accRecords: Uint16Array;
  posSize: BigInt64Array;
  posCost: BigInt64Array;
  posMargin: BigInt64Array;
  posFunding: BigInt64Array;
  posInst: Uint16Array;
  posMode: Uint8Array;
  posLeverage: Uint16Array;
  posPnl: BigInt64Array;
  posMaint: BigInt64Array;
  posStatus: Uint8Array;
  posBracket: Uint8Array;
}

function rowsOf(table: Table, capacity: Capacity): number {
  switch (table) {
    case 'instrument':
      return capacity.instruments;
    case 'tier':
      return capacity.instruments * TIERS_MAX;
    case 'account':
      return capacity.accounts;
    case 'position':
      return capacity.positions;
  }
}

export function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/** Chunks of the chunk sweep for a number of accounts. */
export function chunksOf(accounts: number): number {
  return Math.ceil(accounts / CHUNK_ACCOUNTS);
}

/** Words per instrument of the kernel's map of which chunks hold its isolated records (H_INST_CHUNKS): a bit per chunk. */
function instChunkWords(capacity: Capacity): number {
  return Math.ceil(chunksOf(capacity.accounts) / 32);
}

/** The regions after the columns: the sweep records, the chunks' meta and the map of chunks by instrument. */
function regionBytes(capacity: Capacity): { records: number; chunks: number; instChunks: number } {
  return {
    // Every record slot and 1/RECORDS_SPARE_SHARE more, CHUNK_ROOM_MIN per chunk, and each account's
    // base: the chunks laid out with their room to grow, and the areas of chunks that outgrew theirs.
    records: alignUp(
      Math.ceil((capacity.positions * SWEEP_RECORD_SLOT_BYTES * (RECORDS_SPARE_SHARE + 1)) / RECORDS_SPARE_SHARE) +
        chunksOf(capacity.accounts) * CHUNK_ROOM_MIN * SWEEP_RECORD_SLOT_BYTES +
        capacity.accounts * SWEEP_BASE_BYTES,
      COLUMN_ALIGN_BYTES,
    ),
    chunks: alignUp(chunksOf(capacity.accounts) * CHUNK_META_BYTES, COLUMN_ALIGN_BYTES),
    instChunks: alignUp(capacity.instruments * instChunkWords(capacity) * WORD_BYTES, COLUMN_ALIGN_BYTES),
  };
}

/** Bytes the header, columns and derived regions need for a capacity, starting at an aligned base. */
export function layoutBytes(capacity: Capacity): number {
  let bytes = alignUp(HEADER_SLOTS * WORD_BYTES, COLUMN_ALIGN_BYTES);
  for (const column of COLUMNS) bytes += alignUp(rowsOf(column.table, capacity) * column.bytes, COLUMN_ALIGN_BYTES);
  const regions = regionBytes(capacity);
  return bytes + regions.records + regions.chunks + regions.instChunks;
}

/**
 * The views object of a layout from its columns' views (in COLUMNS order), made by one object
 * literal with every column's name, compiled once: all layouts' views share its hidden class. A
 * spread copy gave a process's first two layouts a class each (V8 keeps the class of a spread only
 * once the spread has run before), and those are the loaders' warm-up book's and the loaded book's:
 * the loaded book's first update threw away the operation path's code optimized on the warm-up's
 * views ("wrong map"), and ran unoptimized.
 */
const viewsObject = new Function('columns', `return { ${COLUMNS.map((column, k) => `${column.name}: columns[${k}]`).join(', ')} };`) as (columns: unknown[]) => Views;

function viewOf(buffer: ArrayBufferLike, offset: number, rows: number, spec: ColumnSpec, name: ColumnName): Views[ColumnName] {
  switch (name) {
    case 'tierCumLo':
    case 'tierCumHi':
      return new BigUint64Array(buffer, offset, rows);
    case 'instTierCount':
      return new Int32Array(buffer, offset, rows);
    case 'accPosStart':
    case 'accPosCount':
      return new Uint32Array(buffer, offset, rows);
    case 'posInst':
    case 'posLeverage':
    case 'tierLeverage':
    case 'accRecords':
      return new Uint16Array(buffer, offset, rows);
    default:
      if (spec.bytes === 1) return new Uint8Array(buffer, offset, rows);
      return new BigInt64Array(buffer, offset, rows);
  }
}

/**
 * The columns of one book at one place in a memory. Creating it writes the header; the columns
 * start zeroed only if the memory region was (a fresh or freshly grown memory is).
 */
export class BookLayout {
  readonly header: number;
  readonly end: number;
  readonly views: Views;
  readonly offsets: Record<ColumnName, number>;

  constructor(
    readonly memory: WebAssembly.Memory,
    readonly base: number,
    readonly capacity: Capacity,
    /** Records of room each chunk's area gets in a layout of the whole book (H_LAYOUT_ROOM): 0 to CHUNK_ROOM_MIN. */
    readonly layoutRoom: number = CHUNK_ROOM_MIN,
    /** Whether the range the memory grows by for the layout, if it must grow, is advised to use huge pages (growMemory; EngineOptions.hugePages). */
    hugePages = false,
  ) {
    if (!Number.isInteger(layoutRoom) || layoutRoom < 0 || layoutRoom > CHUNK_ROOM_MIN) {
      throw new RangeError(`layoutRoom: ${layoutRoom} records; an integer from 0 to ${CHUNK_ROOM_MIN}`);
    }
    this.header = alignUp(base, COLUMN_ALIGN_BYTES);
    this.end = this.header + layoutBytes(capacity);
    const needPages = Math.ceil(this.end / WASM_PAGE_BYTES);
    const havePages = memory.buffer.byteLength / WASM_PAGE_BYTES;
    if (needPages > WASM_PAGES_MAX) {
      throw new RangeError(
        `book needs ${this.end} bytes, above the 4 GiB a wasm32 memory holds ` +
          `(${capacity.accounts} accounts, ${capacity.positions} positions)`,
      );
    }
    if (needPages > havePages) growMemory(memory, needPages - havePages, hugePages);
    const buffer = memory.buffer;
    const headerView = new Uint32Array(buffer, this.header, HEADER_SLOTS);
    headerView.fill(0);
    headerView[HeaderSlot.instrumentCount] = 0;
    let offset = this.header + alignUp(HEADER_SLOTS * WORD_BYTES, COLUMN_ALIGN_BYTES);
    const views: Views[ColumnName][] = []; // in COLUMNS order, for viewsObject
    const offsets: Partial<Record<ColumnName, number>> = {};
    for (const column of COLUMNS) {
      const rows = rowsOf(column.table, capacity);
      headerView[HeaderSlot[column.name]] = offset;
      offsets[column.name] = offset;
      views.push(viewOf(buffer, offset, rows, column, column.name));
      offset += alignUp(rows * column.bytes, COLUMN_ALIGN_BYTES);
    }
    // The kernel's own regions, derived from the columns by refreshDebits and never read here
    // but to say that no refresh has laid any chunk out yet (CHUNK_UNLAID, in the state word).
    const regions = regionBytes(capacity);
    headerView[HeaderSlot.sweepRecords] = offset;
    headerView[HeaderSlot.chunks] = offset + regions.records;
    headerView[HeaderSlot.instChunks] = offset + regions.records + regions.chunks;
    headerView[HeaderSlot.instChunkWords] = instChunkWords(capacity);
    new Uint8Array(buffer, offset + regions.records + regions.chunks, regions.instChunks).fill(0);
    headerView[HeaderSlot.recordsBytes] = regions.records;
    headerView[HeaderSlot.recordsTail] = 0;
    // A compaction starts when the tail leaves less than this free, and slides the areas down a
    // few at a time (assembly/chunks.ts compactStep); the rest of its bookkeeping starts at 0.
    headerView[HeaderSlot.compactStartFree] = Math.floor(regions.records / COMPACT_START_SHARE);
    headerView[HeaderSlot.layoutRoom] = layoutRoom;
    const meta = new Uint32Array(buffer, offset + regions.records, chunksOf(capacity.accounts) * (CHUNK_META_BYTES / WORD_BYTES));
    for (let word = CHUNK_STATE_WORD; word < meta.length; word += CHUNK_META_BYTES / WORD_BYTES) meta[word] = CHUNK_UNLAID;
    // Made by one object literal (viewsObject): an object filled by computed keys is in V8's
    // dictionary mode (slow properties), where every `views.x` in the control plane's loops was a
    // lookup in a hash table; and a spread copy of one, with fast properties, got a hidden class of
    // its own in a process's first layouts (test/engine/constants.test.ts checks both).
    this.views = viewsObject(views);
    this.offsets = offsets as Record<ColumnName, number>;
  }

  setInstrumentCount(count: number): void {
    new Uint32Array(this.memory.buffer, this.header, HEADER_SLOTS)[HeaderSlot.instrumentCount] = count;
  }

  /** The number of accounts in use (the chunk sweep's last chunk ends there). */
  setAccountCount(count: number): void {
    if (count > this.capacity.accounts) throw new RangeError(`${count} accounts in a layout for ${this.capacity.accounts}`);
    new Uint32Array(this.memory.buffer, this.header, HEADER_SLOTS)[HeaderSlot.accountCount] = count;
  }

  /**
   * Whether the position columns' outputs (posPnl, posMaint) hold values: a full sweep has written
   * them. Until then they are 0 in every slot, and the moves of slots (the kernel's and the
   * engine's) leave their pages untouched (assembly/layout.ts H_POS_OUTPUTS).
   */
  get outputsWritten(): boolean {
    return this.headerWords()[HeaderSlot.posOutputs] !== 0;
  }

  /** Says that the outputs hold values from now on (before a full sweep writes them; never undone). */
  markOutputsWritten(): void {
    this.headerWords()[HeaderSlot.posOutputs] = 1;
  }

  /** The header's slots, a view made once: the memory is shared, so a growth leaves it valid (every slot copy asks for outputsWritten). */
  private headerWords(): Uint32Array {
    return (this.header32 ??= new Uint32Array(this.memory.buffer, this.header, HEADER_SLOTS));
  }

  private header32: Uint32Array | undefined;
}

/** A shard record field's u32 word: its byte offset (assembly/layout.ts SHARD_*) over 4. */
function shardWord(name: string): number {
  return kernelU32(name) / WORD_BYTES;
}

/** The shard record a sweep call reads and completes (assembly/layout.ts SHARD_*), as u32 slots. */
export const ShardSlot = {
  cancel: shardWord('SHARD_CANCEL'),
  list: shardWord('SHARD_LIST'),
  listCapacity: shardWord('SHARD_LIST_CAPACITY'),
  accountsDone: shardWord('SHARD_ACCOUNTS_DONE'),
  liquidatable: shardWord('SHARD_LIQUIDATABLE'),
  bankrupt: shardWord('SHARD_BANKRUPT'),
  listed: shardWord('SHARD_LISTED'),
  complete: shardWord('SHARD_COMPLETE'),
  cache: shardWord('SHARD_CACHE'),
  scratch: shardWord('SHARD_SCRATCH'),
} as const;
export const SHARD_RECORD_BYTES = kernelU32('SHARD_RECORD_BYTES');
/** Bytes of one instrument in a shard's instrument cache (assembly/layout.ts CACHE_STRIDE). */
export const CACHE_STRIDE = kernelU32('CACHE_STRIDE');
/** Bytes of a shard's instrument cache for a book of `instruments`. */
export function cacheBytes(instruments: number): number {
  return Math.max(1, instruments) * CACHE_STRIDE;
}
/** A list entry's slot for an account's cross pool (rather than one isolated position). */
export const SLOT_CROSS = kernelU32('SLOT_CROSS');
/** Sweep flag: also write each position's unrealized PnL and maintenance (assembly/index.ts). */
export const SWEEP_FULL = kernelU32('SWEEP_FULL');
/**
 * Flag of sweeps and refreshes: keep the chunk sweep's records, and read them in status sweeps
 * (Engine.chunkSweep; assembly/index.ts).
 */
export const SWEEP_CHUNKS = kernelU32('SWEEP_CHUNKS');
/** Flag of applyUpdates: fills that keep a cross position open rewrite their records in place (assembly/index.ts). */
export const APPLY_FILL_RECORDS = kernelU32('APPLY_FILL_RECORDS');
/** A funding refresh's table of changes (assembly/chunks.ts): bytes per instrument, and the offsets of the old index (i64) and the changed flag (u32). */
export const FUNDING_CHANGE_BYTES = kernelU32('FUNDING_CHANGE_BYTES');
export const FUNDING_SLOTS_BYTES_PER_INSTRUMENT = kernelU32('FUNDING_SLOTS_BYTES_PER_INSTRUMENT');
export const FUNDING_SLOT_METAS_BYTES = kernelU32('FUNDING_SLOT_METAS_BYTES');
export const FC_OLD = kernelU32('FC_OLD');
export const FC_CHANGED = kernelU32('FC_CHANGED');
export const FC_NEW = kernelU32('FC_NEW');
/** A balance refresh's list (assembly/chunks.ts): bytes per entry, and the offsets of the account (u32) and the change (i64). */
export const BALANCE_CHANGE_BYTES = kernelU32('BALANCE_CHANGE_BYTES');
export const BC_ACCOUNT = kernelU32('BC_ACCOUNT');
export const BC_DELTA = kernelU32('BC_DELTA');
/**
 * An account operation's record for the kernel (assembly/operations.ts): its bytes, the offsets of
 * its fields (u32 account, u16 instrument, u8 kind, u8 mode, i64 amount or size, i64 price; out:
 * i64 realized PnL, i64 |size| after), its kinds, and the largest |size| a fill record carries.
 */
export const OP_BYTES = kernelU32('OP_BYTES');
/** After the records, the u32 where the kernel keeps the index of the record it reached. */
export const OP_PROGRESS_BYTES = kernelU32('OP_PROGRESS_BYTES');
/** The arena record a batch's kernel call takes: u32 used slots, u32 capacity, and room the kernel uses. */
export const ARENA_BYTES = kernelU32('ARENA_BYTES');
export const OP_ACCOUNT = kernelU32('OP_ACCOUNT');
export const OP_INSTRUMENT = kernelU32('OP_INSTRUMENT');
export const OP_KIND = kernelU32('OP_KIND');
export const OP_MODE = kernelU32('OP_MODE');
export const OP_AMOUNT = kernelU32('OP_AMOUNT');
export const OP_PRICE = kernelU32('OP_PRICE');
export const OP_REALIZED = kernelU32('OP_REALIZED');
export const OP_SIZE_AFTER = kernelU32('OP_SIZE_AFTER');
/** An applied close's shortfall (the loss beyond its isolated margin), where an applied fill's size after is. */
export const OP_SHORTFALL = kernelU32('OP_SHORTFALL');
/** What became of a record (OUTCOME_APPLIED, OUTCOME_OPENED, OUTCOME_CLOSED, OUTCOME_REFRESHED, a REFUSED_* code, or OUTCOME_HOST where the kernel stopped), and a refusal's two figures. */
export const OP_OUTCOME = kernelU32('OP_OUTCOME');
export const OP_FIGURE_1 = kernelU32('OP_FIGURE_1');
export const OP_FIGURE_2 = kernelU32('OP_FIGURE_2');
export const OUTCOME_HOST = kernelU32('OUTCOME_HOST');
export const OUTCOME_APPLIED = kernelU32('OUTCOME_APPLIED');
/** An applied record whose fill opened a position. */
export const OUTCOME_OPENED = kernelU32('OUTCOME_OPENED');
/** An applied record whose fill closed its position (its slot left the account's block). */
export const OUTCOME_CLOSED = kernelU32('OUTCOME_CLOSED');
/** An applied record whose fill kept a cross position open, its record and cross base rewritten by the kernel (its refresh done). */
export const OUTCOME_REFRESHED = kernelU32('OUTCOME_REFRESHED');
export const REFUSED_FUNDING_EXCEEDS_MARGIN = kernelU32('REFUSED_FUNDING_EXCEEDS_MARGIN');
export const REFUSED_LEVERAGE_ABOVE_BRACKET = kernelU32('REFUSED_LEVERAGE_ABOVE_BRACKET');
export const REFUSED_MARGIN_EXCEEDS_WALLET = kernelU32('REFUSED_MARGIN_EXCEEDS_WALLET');
export const REFUSED_LOSS_EXCEEDS_MARGIN = kernelU32('REFUSED_LOSS_EXCEEDS_MARGIN');
export const REFUSED_ISOLATED_INITIAL = kernelU32('REFUSED_ISOLATED_INITIAL');
export const REFUSED_CROSS_INITIAL = kernelU32('REFUSED_CROSS_INITIAL');
export const OP_HOST = kernelU32('OP_HOST');
export const OP_DEPOSIT = kernelU32('OP_DEPOSIT');
export const OP_FILL = kernelU32('OP_FILL');
export const OP_SIZE_ABS_MAX = kernelI64('OP_SIZE_ABS_MAX');
/** Bytes of one list entry: u32 account, u32 slot (assembly/layout.ts LIST_ENTRY_BYTES). */
export const LIST_ENTRY_BYTES = kernelU32('LIST_ENTRY_BYTES');

/** A shared memory big enough for `bytes`, growable to the wasm32 limit. */
export function createSharedMemory(bytes: number): WebAssembly.Memory {
  const initial = Math.max(1, Math.ceil(bytes / WASM_PAGE_BYTES));
  return new WebAssembly.Memory({ initial, maximum: WASM_PAGES_MAX, shared: true });
}
