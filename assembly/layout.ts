// Every offset of the kernel's memory formats, defined here once: the header that tells the kernel
// where each column of the book lives, the shard record, the instrument cache and the chunk sweep's
// records and sums. Offsets that follow from others are derived from them, and the invariants the
// kernel relies on are checked at compile time (the checks at the end). index.ts exports every
// constant from the module as an immutable wasm global; the control plane reads them from the
// compiled core (src/engine/kernel-constants.ts) rather than repeating them.

import { TIERS_MAX, POSITIONS_PER_ACCOUNT_MAX, PRICE_UNITS_MAX, SCALE_6 } from './constants';

/** Cache-line size: the instrument cache's entries and stride are aligned to it. */
export const CACHE_LINE_BYTES: u32 = 64;

// The header: JavaScript writes it (src/memory/layout.ts) into the shared memory above the
// module's heap base; the kernel only reads it. Each slot is a u32 byte offset of a column, except
// H_INSTRUMENT_COUNT and H_ACCOUNT_COUNT, which hold the counts themselves.
export const H_INSTRUMENT_COUNT: u32 = 0;
export const H_INST_MARK: u32 = 1; // i64 price units
export const H_INST_FUNDING: u32 = 2; // i64 funding index
export const H_INST_Q: u32 = 3; // i64 micro per (size unit x price unit)
export const H_INST_TICK: u32 = 4; // i64 price units per tick
export const H_INST_TIER_COUNT: u32 = 5; // i32
export const H_TIER_FLOOR: u32 = 6; // i64 micro, [instrument * TIERS_MAX + k], floor_0 = 0
export const H_TIER_RATE: u32 = 7; // i64 ppm
export const H_TIER_CUM_LO: u32 = 8; // u64 low half of cumX (micro*ppm)
export const H_TIER_CUM_HI: u32 = 9; // u64 high half of cumX
export const H_ACC_BALANCE: u32 = 10; // i64 micro
export const H_ACC_POS_START: u32 = 11; // u32 first position slot
export const H_ACC_POS_COUNT: u32 = 12; // u32 positions in use
export const H_ACC_CROSS_EQUITY: u32 = 13; // i64 micro (output)
export const H_ACC_CROSS_MAINT: u32 = 14; // i64 micro (output)
export const H_ACC_STATUS: u32 = 15; // u8 (output)
export const H_POS_SIZE: u32 = 16; // i64 size units
export const H_POS_COST: u32 = 17; // i64 micro
export const H_POS_MARGIN: u32 = 18; // i64 micro
export const H_POS_FUNDING: u32 = 19; // i64 funding index snapshot
export const H_POS_INST: u32 = 20; // u16 instrument index
export const H_POS_MODE: u32 = 21; // u8
export const H_POS_LEVERAGE: u32 = 22; // u16 (control plane only)
export const H_POS_PNL: u32 = 23; // i64 micro (output)
export const H_POS_MAINT: u32 = 24; // i64 micro (output)
export const H_POS_STATUS: u32 = 25; // u8 (output, isolated only)
export const H_POS_BRACKET: u32 = 26; // u8: the bracket the last sweep found, a hint the next one checks before it trusts it
export const H_SWEEP_RECORDS: u32 = 27; // the chunks' sweep records: each chunk's area (records, room to grow, cross bases), derived
export const H_CHUNKS: u32 = 28; // CHUNK_META_BYTES per chunk of CHUNK_ACCOUNTS accounts: where its area is, its records, its room, whether stale
export const H_ACCOUNT_COUNT: u32 = 29; // holds the count itself: accounts in the book (the last chunk may be short)
export const H_ACC_RECORDS: u32 = 30; // u16 per account, derived: its cross records (low byte) and isolated records (high byte) in its chunk
export const H_RECORDS_BYTES: u32 = 31; // holds the value itself: bytes of the H_SWEEP_RECORDS region
export const H_RECORDS_TAIL: u32 = 32; // holds the value itself: bytes of that region handed to chunk areas so far (the kernel moves it)
// Funding refreshes deferred to the chunks' next sweep or refresh (chunks.ts deferFunding, the
// funding slots): the kernel writes the first two at the first deferred refresh; the control plane
// counts the sweeps that ran (wrapping), which tells each pending chunk its turn to settle.
export const H_FUNDING_SLOTS: u32 = 33; // holds the value itself: byte offset of the funding slots region (chunks.ts FUNDING_SLOTS), 0 before the first deferred refresh
export const H_FUNDING_AGE: u32 = 34; // holds the value itself: funding slots taken so far (each slot's age)
export const H_SWEEP_SERIAL: u32 = 35; // holds the value itself: sweeps that ran on this book (src/engine/engine.ts sweepDone), modulo 2^32
export const H_FUNDING_DIRTY: u32 = 36; // holds the value itself: 1 when a fresh chunk may have come to the columns' funding indices since deferFunding last looked (chunks.ts markFundingDirty)
export const H_TIER_LEVERAGE: u32 = 37; // u16 [instrument * TIERS_MAX + k]: the tier's highest leverage, at most LEVERAGE_MAX (a batch's fills, operations.ts)
// A compaction of the H_SWEEP_RECORDS region spread over the refreshes that move chunks (chunks.ts
// compactStep): the kernel's own bookkeeping, 0 (COMPACT_IDLE) after a layout, but for
// H_COMPACT_START_FREE, which the control plane sets.
export const H_COMPACT_STATE: u32 = 38; // holds the value itself: COMPACT_IDLE, COMPACT_SLIDING or COMPACT_DECLINED
export const H_COMPACT_NEXT: u32 = 39; // holds the value itself: the index, in the round's order (CHUNK_ORDER words), of the next area to slide
export const H_COMPACT_COUNT: u32 = 40; // holds the value itself: areas in the round's order
export const H_COMPACT_WRITE: u32 = 41; // holds the value itself: where the next area slides to (the areas below it are packed)
export const H_COMPACT_ROUND_END: u32 = 42; // holds the value itself: the tail when the round's order was taken (areas at or past it are the next round's)
export const H_COMPACT_CREDIT: u32 = 43; // holds the value itself: bytes the slide owes (each placement adds its bytes times the pace)
export const H_COMPACT_PACE: u32 = 44; // holds the value itself: bytes slid per byte placed while sliding, set at the start
export const H_COMPACT_RETRY: u32 = 45; // holds the value itself: COMPACT_DECLINED until the tail reaches it
export const H_COMPACT_START_FREE: u32 = 46; // holds the value itself: a compaction starts when the tail leaves fewer free bytes (0: only when the region is full)
export const H_COMPACTIONS: u32 = 47; // holds the value itself: compactions ended since the layout (wraps), for the control plane to report
export const H_LAYOUT_ROOM: u32 = 48; // holds the value itself: records of room each area gets in a layout of the whole book (a load, a repack), at most CHUNK_ROOM_MIN
// How far the funding indices set since the book was laid out may have moved the boundaries of the
// instrument's isolated positions, in price units: a long's up, a short's (in −mark) up. An isolated
// record keeps its threshold less its side's drift when it was written, and the sweep compares it
// with the mark less the drift now (chunks.ts writeIsolatedRecord, cache.ts fillInstrument).
export const H_INST_DRIFT_LONG: u32 = 49; // i64 price units, at least 0
export const H_INST_DRIFT_SHORT: u32 = 50; // i64 price units, at least 0
// Which chunks hold an isolated record of each instrument, so that a new tier table visits only
// those (chunks.ts refreshTierRecords): per instrument H_INST_CHUNK_WORDS u32 words, bit c of the
// run set when a record of the instrument is written in chunk c (chunks.ts noteIsolated), cleared
// by a tier refresh that finds none there; all 0 after a layout (every chunk unlaid).
export const H_INST_CHUNKS: u32 = 51; // u32 words: instrument i's bits at word i × H_INST_CHUNK_WORDS
export const H_INST_CHUNK_WORDS: u32 = 52; // holds the value itself: words per instrument (a bit per chunk of the layout's accounts)
// The position columns' outputs (H_POS_PNL, H_POS_MAINT) are written by full sweeps alone. Until
// one runs, every slot's are 0 and the moves of slots (a block moved to the arena's tail, a slot
// removed, the arena compacted or grown) leave those two columns alone: their pages, never written,
// would each cost a page fault on the first touch (the source's read as much as the target's
// write), for a value that is 0 on both sides.
export const H_POS_OUTPUTS: u32 = 53; // holds the value itself: 1 once a full sweep has written the outputs, else 0
// The value divisor d of each instrument (docs/numbers.md, "Instruments finer than a micro"): a
// position's value is floor(z·q·p / d); 1 for an instrument whose lot at a tick is whole micro.
export const H_INST_DIV: u32 = 54; // i64, 1 or 10^(pd + sd − 6)
/** Slots in the header. */
export const HEADER_SLOTS: u32 = 55;
/** Bytes of a header slot, of a shard record's field and of a chunk meta's field: each a u32. */
export const WORD_BYTES: u32 = 4;

// The shard record: one per concurrent sweep call, written by JavaScript, completed by the kernel.
// Each field is a u32, one after the other.
export const SHARD_CANCEL: u32 = 0; // byte offset of the sweep's shared cancel flag (i32, non-zero = stop)
export const SHARD_LIST: u32 = SHARD_CANCEL + WORD_BYTES; // byte offset of the liquidatable list: u32 pairs (account, slot)
export const SHARD_LIST_CAPACITY: u32 = SHARD_LIST + WORD_BYTES; // entries the list can hold
export const SHARD_ACCOUNTS_DONE: u32 = SHARD_LIST_CAPACITY + WORD_BYTES; // out: accounts evaluated (the range's end when complete)
export const SHARD_LIQUIDATABLE: u32 = SHARD_ACCOUNTS_DONE + WORD_BYTES; // out: liquidatable scopes (bankrupt included)
export const SHARD_BANKRUPT: u32 = SHARD_LIQUIDATABLE + WORD_BYTES; // out: bankrupt scopes
export const SHARD_LISTED: u32 = SHARD_BANKRUPT + WORD_BYTES; // out: entries written (min(liquidatable, capacity))
export const SHARD_COMPLETE: u32 = SHARD_LISTED + WORD_BYTES; // out: 1 when the whole range was evaluated, 0 when cancelled
export const SHARD_CACHE: u32 = SHARD_COMPLETE + WORD_BYTES; // byte offset of this shard's instrument cache (scratch, CACHE_STRIDE per instrument)
export const SHARD_SCRATCH: u32 = SHARD_CACHE + WORD_BYTES; // byte offset of this shard's chunk sums (scratch, CHUNK_SCRATCH_BYTES)
/** The shard record's fields end here; SHARD_RECORD_BYTES leaves room for more. */
export const SHARD_FIELDS_END: u32 = SHARD_SCRATCH + WORD_BYTES;
export const SHARD_RECORD_BYTES: u32 = CACHE_LINE_BYTES;
/** Bytes of one list entry: u32 account, u32 slot (SLOT_CROSS for the cross pool). */
export const LIST_ENTRY_BYTES: u32 = 2 * WORD_BYTES;
/** In a list entry, the slot of a cross pool (the account's scope rather than one position). */
export const SLOT_CROSS: u32 = 0xffff_ffff;
/** Accounts between two looks at the cancel flag: bounds the time a cancel takes to land. */
export const CANCEL_CHECK_ACCOUNTS: u32 = 4096;

// The instrument cache: what the sweep needs of one instrument in one place, rebuilt by each sweep
// call from the instrument and tier columns, so the hot loop holds one pointer instead of seven.
export const CACHE_FLOORS: u32 = 0; // TIERS_MAX + 1 × i64 floor_k, padded with i64.MAX past the last tier (and at TIERS_MAX, for hints at TIERS_MAX − 1); v128-aligned
export const CACHE_UNIT: u32 = CACHE_FLOORS + (<u32>TIERS_MAX + 1) * 8; // i64 q·mark: micro per size unit at the mark
export const CACHE_Q: u32 = CACHE_UNIT + 8; // i64 q
export const CACHE_FUNDING: u32 = CACHE_Q + 8; // i64 funding index
export const CACHE_TIERS: u32 = CACHE_FUNDING + 8; // TIERS_MAX × { u64 rate, u64 cumX low, u64 cumX high }
export const CACHE_TIER_BYTES: u32 = 32; // 24 used
// TIERS_MAX × the chunk sweep's bracket entry { i64 q·mark, u64 low, u64 width, u64 rate, u64 10^6 − 1 − cumX low (mod 2^64) },
// starting on a cache line: a notional n is in bracket k, and ceil((n·r − cumX)/10^6) fits 64 bits, iff n − low < width
// (unsigned). An instrument finer than a micro (d > 1) has width 0, so that its records always leave the sweep's loop,
// and in place of q·mark (which the loop's value then never uses) the width its divided notionals are tested against
// on the slow path (CACHE_ENTRY_DIVIDED_WIDTH).
export const CACHE_ENTRIES: u32 = (CACHE_TIERS + <u32>TIERS_MAX * CACHE_TIER_BYTES + CACHE_LINE_BYTES - 1) & ~(CACHE_LINE_BYTES - 1);
export const CACHE_ENTRY_BYTES: u32 = 40;
/** In a bracket entry of an instrument finer than a micro, the offset of its divided width (that of q·mark in any other's). */
export const CACHE_ENTRY_DIVIDED_WIDTH: u32 = 0;
export const CACHE_MARK_LONG: u32 = CACHE_ENTRIES + <u32>TIERS_MAX * CACHE_ENTRY_BYTES; // i64 mark − long drift: what a long isolated position's records are compared with
export const CACHE_MARK_SHORT: u32 = CACHE_MARK_LONG + 8; // i64 −mark − short drift: the same for a short, whose thresholds are negated
export const CACHE_DRIFT_LONG: u32 = CACHE_MARK_SHORT + 8; // i64 the long drift (H_INST_DRIFT_LONG), which a record written now subtracts
export const CACHE_DRIFT_SHORT: u32 = CACHE_DRIFT_LONG + 8; // i64 the short drift
export const CACHE_DIV: u32 = CACHE_DRIFT_SHORT + 8; // i64 the value divisor d (H_INST_DIV): a value is floor(size·CACHE_UNIT / d)
/** One instrument's cache: its end (CACHE_DIV + 8) rounded up to a cache line. */
export const CACHE_STRIDE: u32 = (CACHE_DIV + 8 + CACHE_LINE_BYTES - 1) & ~(CACHE_LINE_BYTES - 1);

// The chunk sweep (chunks.ts): accounts in chunks of CHUNK_ACCOUNTS. Each laid-out chunk has an
// area in H_SWEEP_RECORDS: its sweep records from the area's start (one cross record per cross
// position, then one isolated record per isolated position, each kind in account order), room for
// more records up to the chunk's capacity, then each account's cross base (i64 micro: its balance
// less its cross positions' debits, so its cross equity is the base plus their values). A refresh of
// one account rewrites its records in place (shifting the chunk's later records when its counts
// change); a chunk that outgrows its capacity moves to a new area at the region's tail. Areas are
// handed out in chunk order when the book is laid out, so a sweep reads one stream.
export const CHUNK_ACCOUNTS: u32 = 256;
// Cross record: i64 size; u8 the account's index in the chunk (its sums in the shard's scratch are
// at 8 × it) and, above it in the same u32, the 24-bit rounding residue of the position's funding
// owed at the index the records were made at (math.ts fundingResidue: 10^6·owed − z·q·(F − F_i),
// below 10^6), from which a new funding index's change of the owed amount follows exactly with no
// column read (chunks.ts fundingRecords); u32 its bracket entry (offset in the cache).
export const CROSS_RECORD_BYTES: u32 = 16;
export const CROSS_ACCOUNT: u32 = 8; // u8; the residue is the u32 at CROSS_ACCOUNT shifted down CROSS_RESIDUE_SHIFT
export const CROSS_RESIDUE_SHIFT: u32 = 8;
export const CROSS_ENTRY: u32 = 12;
// Isolated record: i64 the liquidation threshold shifted up ISOLATED_ACCOUNT_BITS bits with the
// account's index in the chunk below it (the threshold clamped to ±THRESHOLD_CLAMP, beyond every
// mark, so that it keeps its compares), u32 the mark it is compared with (offset in the cache), u32
// its position slot. A block that moves is refreshed with its account, which rewrites its slots.
export const ISOLATED_RECORD_BYTES: u32 = 16;
export const ISOLATED_ACCOUNT_BITS: i64 = 8;
export const THRESHOLD_CLAMP: i64 = 1 << 52;
/**
 * The most an instrument's drift (H_INST_DRIFT_*) reaches: a funding update that would take it
 * past has the control plane set every drift back to 0 and lay the whole book out again, which
 * writes every record anew (src/engine/engine.ts advanceDrifts).
 */
export const DRIFT_MAX: i64 = 1 << 50;
export const ISOLATED_MARK: u32 = 8;
export const ISOLATED_SLOT: u32 = 12;
/** Room per record in H_SWEEP_RECORDS: the larger of the two records. */
export const SWEEP_RECORD_SLOT_BYTES: u32 = CROSS_RECORD_BYTES > ISOLATED_RECORD_BYTES ? CROSS_RECORD_BYTES : ISOLATED_RECORD_BYTES;
/** Room per account in H_SWEEP_RECORDS: its cross base. */
export const SWEEP_BASE_BYTES: u32 = 8;
/**
 * The room a chunk that outgrew its area gets in its new one: records for 1/CHUNK_ROOM_SHARE more
 * positions, at least CHUNK_ROOM_MIN (chunks.ts roomFor). A layout of the whole book gives each area
 * H_LAYOUT_ROOM records of room (CHUNK_ROOM_MIN unless the engine was told otherwise), so that the
 * first positions a chunk gains do not move it.
 */
export const CHUNK_ROOM_SHARE: u32 = 8;
export const CHUNK_ROOM_MIN: u32 = 16;
/**
 * The region holds each record slot's SWEEP_RECORD_SLOT_BYTES and 1/RECORDS_SPARE_SHARE more
 * (the areas of chunks that moved, with their room), CHUNK_ROOM_MIN records per chunk (the room of a
 * layout of the whole book, at most that), and each account's base. When the tail reaches the end,
 * every chunk is laid out again, in chunk order. Pages of
 * the spare part are touched only as chunks move there.
 */
export const RECORDS_SPARE_SHARE: u32 = 4;
/**
 * A compaction (chunks.ts compact) that leaves less than 1/COMPACT_FREE_SHARE of the region free
 * is not worth repeating soon: the chunks are laid out again in chunk order instead (repack).
 */
export const COMPACT_FREE_SHARE: u32 = 16;
/**
 * A compaction starts before the region is full, when the tail leaves less than 1/COMPACT_START_SHARE
 * of it free (the control plane writes H_COMPACT_START_FREE from it), and slides the areas down a
 * few at a time, in the refreshes that move chunks: each byte a move places at the tail owes
 * H_COMPACT_PACE bytes of sliding (enough to finish with about a third of the free tail still
 * free), so no refresh pays for the whole region. It is not started while the holes are less than
 * 1/COMPACT_FREE_SHARE of the region (the tail then tries again 1/COMPACT_RETRY_SHARE later).
 * Started at 1/8 with twice the pace, it slid twice as often on the 10M-account book (each
 * compaction slides every area above the first hole, and the holes are spread through the region).
 */
export const COMPACT_START_SHARE: u32 = 16;
export const COMPACT_RETRY_SHARE: u32 = 64;
/** The least pace: a round's slide must outrun the moves placed while it runs. */
export const COMPACT_PACE_MIN: u32 = 2;
/** The greatest pace (a start with almost no free tail finishes in the next refresh). */
export const COMPACT_PACE_MAX: u32 = 1 << 16;
/** H_COMPACT_STATE: no compaction under way. */
export const COMPACT_IDLE: u32 = 0;
/** H_COMPACT_STATE: a compaction is sliding the areas down. */
export const COMPACT_SLIDING: u32 = 1;
/** H_COMPACT_STATE: a compaction would free too little; not tried again before H_COMPACT_RETRY. */
export const COMPACT_DECLINED: u32 = 2;
// A chunk's meta: u32 byte offset of its area in H_SWEEP_RECORDS, u32 cross records, u32 isolated
// records, u32 state (CHUNK_FRESH, CHUNK_REBUILD, or CHUNK_UNLAID until a refresh placed it), u32
// capacity (records the area holds before its bases), a u32 a compaction uses as scratch
// (chunks.ts orderAreas: the placed chunks of a compaction's round in the order of their areas, the
// i-th in chunk i's meta, kept while the compaction slides), a u32 CHUNK_FUNDING_*, and a u32 unused
// (a sweep writes no meta of a chunk it reads: a line written by one core costs the other's next read).
export const CHUNK_OFFSET: u32 = 0;
export const CHUNK_CROSS: u32 = CHUNK_OFFSET + WORD_BYTES;
export const CHUNK_ISOLATED: u32 = CHUNK_CROSS + WORD_BYTES;
export const CHUNK_STATE: u32 = CHUNK_ISOLATED + WORD_BYTES;
export const CHUNK_CAPACITY: u32 = CHUNK_STATE + WORD_BYTES;
export const CHUNK_ORDER: u32 = CHUNK_CAPACITY + WORD_BYTES;
export const CHUNK_FUNDING: u32 = CHUNK_ORDER + WORD_BYTES; // CHUNK_FUNDING_*: whether a deferred funding refresh still has to reach its records
export const CHUNK_META_BYTES: u32 = 8 * WORD_BYTES;
export const CHUNK_FRESH: u32 = 0; // its records are those of the book
export const CHUNK_REBUILD: u32 = 1; // the next sweep that reads them rebuilds them first (its counts are current)
export const CHUNK_UNLAID: u32 = 2; // no refresh has placed it: a sweep reads its accounts' columns
export const CHUNK_FUNDING_NONE: u32 = 0; // its records are at the funding indices of the columns (or it is not fresh)
export const CHUNK_FUNDING_PENDING: u32 = 1; // fresh, with records at the indices of its funding slot's table (FC_OLD; the slot in the bits from CHUNK_FUNDING_SLOT_SHIFT): read lazily or refreshed first
export const CHUNK_FUNDING_STATE_MASK: u32 = 0xff; // CHUNK_FUNDING's state (the bits below CHUNK_FUNDING_SLOT_SHIFT)
export const CHUNK_FUNDING_SLOT_SHIFT: u32 = 8; // a pending chunk's funding slot, in CHUNK_FUNDING's bits from here
export const CHUNK_FUNDING_SETTLING: u32 = 2; // a deferred refresh is under way (or was cut short: its cross bases partly moved, so the chunk is rebuilt)
/** A funding slot's single instrument (chunks.ts FS_SINGLE) when its table changes several. */
export const FUNDING_SEVERAL: u32 = 0xffff_ffff;
// The shard's chunk sums: Σ value at [8k] and Σ maintenance at [CHUNK_MAINT_OFFSET + 8k], for the
// chunk's account k; each kind has CHUNK_SUMS_SPARE sums' room beyond the chunk's accounts. A lazy
// sweep's pass 1 also leaves the address of account k's last cross record, a u32 at
// [CHUNK_LAST_OFFSET + 8k] (chunks.ts lazyOwed).
export const CHUNK_SUM_BYTES: u32 = 8;
export const CHUNK_SUMS_SPARE: u32 = 2;
export const CHUNK_MAINT_OFFSET: u32 = (CHUNK_ACCOUNTS + CHUNK_SUMS_SPARE) * CHUNK_SUM_BYTES;
export const CHUNK_LAST_OFFSET: u32 = 2 * CHUNK_MAINT_OFFSET;
export const CHUNK_SCRATCH_BYTES: u32 = 3 * CHUNK_MAINT_OFFSET;

// Compile-time checks. Each condition is folded by the compiler, which then compiles only the
// branch taken: a broken invariant, or a condition that stops being a constant, fails the build
// with the message (AssemblyScript's ERROR builtin); a holding one leaves no code behind.
if (H_ACCOUNT_COUNT >= HEADER_SLOTS || H_INSTRUMENT_COUNT >= HEADER_SLOTS) ERROR('a header slot is past HEADER_SLOTS');
if (SHARD_FIELDS_END > SHARD_RECORD_BYTES) ERROR('the shard record fields overrun SHARD_RECORD_BYTES');
if (CACHE_FLOORS % 16 != 0 || CACHE_STRIDE % CACHE_LINE_BYTES != 0) ERROR('the cached floors must stay 16-byte aligned for v128 loads');
if (CACHE_TIER_BYTES < 24) ERROR('a cached tier holds three u64');
if (CACHE_ENTRY_BYTES < 40 || CACHE_ENTRY_BYTES % 8 != 0) ERROR('a bracket entry holds five u64, 8-aligned');
if (CACHE_TIERS + <u32>TIERS_MAX * CACHE_TIER_BYTES > CACHE_ENTRIES) ERROR('the cached tiers overrun the bracket entries');
if (CACHE_DIV + 8 > CACHE_STRIDE) ERROR('the instrument cache overruns CACHE_STRIDE');
if (CROSS_RECORD_BYTES != SWEEP_RECORD_SLOT_BYTES || ISOLATED_RECORD_BYTES != SWEEP_RECORD_SLOT_BYTES) ERROR('both sweep records take one slot: an area counts its room, and shifts its records, in slots');
// An isolated record keeps its account's index in the chunk and its position's index in the block
// in a u8 each; H_ACC_RECORDS keeps an account's counts of each kind in a u8.
if (CHUNK_ACCOUNTS > 0x100) ERROR("a chunk's accounts must fit an isolated record's u8");
if (POSITIONS_PER_ACCOUNT_MAX > 0xff) ERROR("an account's positions must fit a u8");
if ((CHUNK_ACCOUNTS - 1) * POSITIONS_PER_ACCOUNT_MAX >= 0x10000) ERROR("the records of a chunk's accounts before one must fit 16 bits (chunks.ts recordsBefore)");
if (ISOLATED_MARK + WORD_BYTES > ISOLATED_SLOT || ISOLATED_SLOT + WORD_BYTES > ISOLATED_RECORD_BYTES) ERROR('the isolated record fields overlap');
if (<i64>CHUNK_ACCOUNTS > (<i64>1 << ISOLATED_ACCOUNT_BITS)) ERROR("a chunk's accounts must fit below an isolated record's threshold");
if (PRICE_UNITS_MAX >= THRESHOLD_CLAMP || THRESHOLD_CLAMP >= (<i64>1 << (62 - ISOLATED_ACCOUNT_BITS))) ERROR('the clamped threshold must be beyond every mark and fit its field');
if (CHUNK_FUNDING + WORD_BYTES > CHUNK_META_BYTES) ERROR("a chunk's meta overruns CHUNK_META_BYTES");
if (THRESHOLD_CLAMP + DRIFT_MAX >= (<i64>1 << (62 - ISOLATED_ACCOUNT_BITS))) ERROR('a threshold less a drift must fit its field');
if (<u64>CHUNK_ACCOUNTS > (<u64>1 << CROSS_RESIDUE_SHIFT) || SCALE_6 > (<u64>1 << (32 - CROSS_RESIDUE_SHIFT))) ERROR("a cross record's account index and funding residue share a u32");
if (H_FUNDING_DIRTY >= HEADER_SLOTS || H_TIER_LEVERAGE >= HEADER_SLOTS || H_COMPACTIONS >= HEADER_SLOTS || H_LAYOUT_ROOM >= HEADER_SLOTS || H_INST_DRIFT_SHORT >= HEADER_SLOTS || H_INST_CHUNK_WORDS >= HEADER_SLOTS || H_POS_OUTPUTS >= HEADER_SLOTS) ERROR('a header slot is past HEADER_SLOTS');
// Pass 3 reads the sums of two accounts at a time with v128 loads, from both halves.
if (CHUNK_MAINT_OFFSET % 16 != 0) ERROR('the maintenance sums must stay 16-byte aligned');
if (CHUNK_MAINT_OFFSET < CHUNK_ACCOUNTS * CHUNK_SUM_BYTES) ERROR('the value sums overrun the maintenance sums');
if (CHUNK_MAINT_OFFSET + CHUNK_ACCOUNTS * CHUNK_SUM_BYTES > CHUNK_SCRATCH_BYTES) ERROR('the maintenance sums overrun CHUNK_SCRATCH_BYTES');
