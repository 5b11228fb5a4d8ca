// The header that tells the kernel where each column of the book lives. JavaScript writes it
// (src/memory/layout.ts) into the shared memory above the module's heap base; the kernel only
// reads it. Each slot is a u32 byte offset; the slot order is mirrored in src/memory/layout.ts.

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
export const H_POS_LIQ: u32 = 26; // i64 price units, 0 = none (output)
export const H_POS_BK: u32 = 27; // i64 price units, 0 = none (output)
export const HEADER_SLOTS: u32 = 32;

// @ts-ignore: decorator
@inline
export function column(header: usize, slot: u32): usize {
  return <usize>load<u32>(header + (<usize>slot << 2));
}
