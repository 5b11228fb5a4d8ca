// Every precision and every range of the engine, each with its exponent or reason beside it.
// The AssemblyScript core defines the few it needs in assembly/constants.ts (the kernel cannot
// import from here, and the BigInt reference must not depend on the kernel): test/engine/
// constants.test.ts checks the compiled core's exported values against these. The kernel's memory
// layout is not repeated here: src/memory/layout.ts reads it from the core (src/engine/kernel-constants.ts).

/** Quote amounts (balances, margins, PnL, notionals) are integers of 10^-6 quote ("micro"). */
export const QUOTE_DECIMALS = 6; // expo -6
export const QUOTE_SCALE = 1_000_000n; // 1 quote = 10^6 micro

/** Maintenance rates are integers in parts per million. */
export const RATE_DECIMALS = 6; // expo -6
export const RATE_SCALE = 1_000_000n; // 100% = 10^6 ppm

/**
 * A funding index carries FUNDING_EXTRA_DECIMALS more decimals than the instrument's prices, so
 * funding owed = size·q·ΔF / 10^6 (rounded up) shares its divisor with maintenance.
 */
export const FUNDING_EXTRA_DECIMALS = 6; // expo -(priceDecimals + 6)
export const FUNDING_EXTRA_SCALE = 1_000_000n;

/**
 * Price decimals + size decimals: up to QUOTE_DECIMALS one size unit at one price unit is a whole
 * number q = 10^(6 − pd − sd) of micro and every value is exact; above it, up to this maximum, a
 * position's value z·p / 10^(pd + sd − 6) is rounded against the account (docs/numbers.md,
 * "Instruments finer than a micro").
 */
export const PRICE_PLUS_SIZE_DECIMALS_MAX = 12;

/**
 * An instrument finer than a micro keeps |z|·q·p, the product its value is divided from, within
 * 10^18 at the mark, so that it fits a signed 64-bit word before the division.
 */
export const UNIT_PRODUCT_MAX = 1_000_000_000_000_000_000n; // 10^18

/**
 * Balances, isolated margins, cost bases, notionals and funding owed stay within ±10^16 micro
 * (10 billion quote). With at most POSITIONS_PER_ACCOUNT_MAX positions, a cross equity is then at
 * most 128 · 3·10^16 + 10^16 < 4·10^18 and every sum the kernel forms fits a signed 64-bit word.
 */
export const QUOTE_ABS_MAX = 10_000_000_000_000_000n; // 10^16 micro = 10^10 quote
export const POSITIONS_PER_ACCOUNT_MAX = 128;

/** Prices (mark, entry, reported liquidation and bankruptcy prices) are in (0, 10^15] price units. */
export const PRICE_UNITS_MAX = 1_000_000_000_000_000n; // 10^15

/**
 * Funding indices stay within ±10^18 units so that F − F_i never leaves a signed 64-bit word in
 * the kernel; what a position owes is bounded separately (QUOTE_ABS_MAX).
 */
export const FUNDING_INDEX_ABS_MAX = 1_000_000_000_000_000_000n; // 10^18

/** Tier tables have at most this many brackets; the kernel's tier table is sized by it. */
export const TIERS_MAX = 16;
/** Instruments are indexed by a u16 in the position table. */
export const INSTRUMENTS_MAX = 65_535;
/** Leverage is a whole number from 1 to LEVERAGE_MAX. */
export const LEVERAGE_MAX = 1_000;
/** Symbols and account ids are short printable ASCII strings. */
export const SYMBOL_LENGTH_MAX = 32;
export const ACCOUNT_ID_LENGTH_MAX = 64;

/** Scope status codes, as the kernel writes them. */
export const STATUS_HEALTHY = 0;
export const STATUS_LIQUIDATABLE = 1;
export const STATUS_BANKRUPT = 2;
export const STATUS_NAMES = ['healthy', 'liquidatable', 'bankrupt'] as const;
export type StatusName = (typeof STATUS_NAMES)[number];

/** Position modes, as stored in the position table. */
export const MODE_CROSS = 0;
export const MODE_ISOLATED = 1;
export type ModeName = 'cross' | 'isolated';
