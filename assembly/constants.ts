// The precisions and ranges the kernel relies on, exported from the module (index.ts) as immutable
// globals. They are the numbers of src/fixed/constants.ts, which states why each holds and which the
// BigInt reference works in independently of the kernel; test/engine/constants.test.ts checks the
// compiled core's values against it.

/** micro per quote and ppm per 100%: both scales are 10^6, so one divisor serves MM and funding. */
export const SCALE_6: u64 = 1_000_000; // expo -6
export const PRICE_UNITS_MAX: i64 = 1_000_000_000_000_000; // 10^15 price units
/** The largest |quote amount| in range (balances, costs, notionals, funding owed): 10^16 micro. */
export const QUOTE_ABS_MAX: u64 = 10_000_000_000_000_000;
export const TIERS_MAX: i32 = 16;
/** Positions one account may hold: bounds every sum over an account's positions. */
export const POSITIONS_PER_ACCOUNT_MAX: u32 = 128;

export const STATUS_HEALTHY: u8 = 0;
export const STATUS_LIQUIDATABLE: u8 = 1;
export const STATUS_BANKRUPT: u8 = 2;

export const MODE_CROSS: u8 = 0;
export const MODE_ISOLATED: u8 = 1;

/** A reported price of 0 means "no price" (prices are strictly positive). */
export const PRICE_NONE: i64 = 0;
