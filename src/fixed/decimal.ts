// Decimal strings <-> scaled integers, exactly. A person writes decimals as strings; the engine
// never lets a JavaScript number carry money.

const DECIMAL_PATTERN = /^(-?)(\d+)(?:\.(\d+))?$/;

export interface DecimalParts {
  negative: boolean;
  /** All digits, integer part then fraction, as one integer. */
  digits: bigint;
  /** How many of the digits are after the decimal point. */
  fractionDigits: number;
}

/** Splits a decimal string ("-12.340") into digits and scale, or returns null when malformed. */
export function splitDecimal(text: string): DecimalParts | null {
  const match = DECIMAL_PATTERN.exec(text);
  if (match === null) return null;
  const fraction = match[3] ?? '';
  return {
    negative: match[1] === '-',
    digits: BigInt(match[2] + fraction),
    fractionDigits: fraction.length,
  };
}

/** Number of significant decimals of a decimal string, ignoring trailing zeros ("0.10" → 1). */
export function significantDecimals(text: string): number | null {
  const match = DECIMAL_PATTERN.exec(text);
  if (match === null) return null;
  return (match[3] ?? '').replace(/0+$/, '').length;
}

export type ParseDecimalResult = { ok: true; value: bigint } | { ok: false; reason: string };

/**
 * Parses a decimal string into an integer of 10^-decimals units. Refuses (never rounds) a value
 * with more significant decimals than the unit holds.
 */
export function parseScaled(text: unknown, decimals: number): ParseDecimalResult {
  if (typeof text !== 'string') {
    return { ok: false, reason: `must be a decimal string, got ${describe(text)}` };
  }
  const parts = splitDecimal(text);
  if (parts === null) return { ok: false, reason: `"${text}" is not a decimal number` };
  let value = parts.digits;
  if (parts.fractionDigits <= decimals) {
    value *= 10n ** BigInt(decimals - parts.fractionDigits);
  } else {
    const divisor = 10n ** BigInt(parts.fractionDigits - decimals);
    if (value % divisor !== 0n) {
      return { ok: false, reason: `"${text}" has more than ${decimals} decimals` };
    }
    value /= divisor;
  }
  return { ok: true, value: parts.negative ? -value : value };
}

/** Formats an integer of 10^-decimals units as the shortest exact decimal string. */
export function formatScaled(value: bigint, decimals: number): string {
  const negative = value < 0n;
  const magnitude = (negative ? -value : value).toString().padStart(decimals + 1, '0');
  const point = magnitude.length - decimals;
  // The fraction's trailing zeros dropped by a scan (a refusal's reason formats two figures: a
  // regular expression here was a third of their cost).
  let end = magnitude.length;
  while (end > point && magnitude.charCodeAt(end - 1) === 48 /* '0' */) end--;
  const body = end > point ? `${magnitude.slice(0, point)}.${magnitude.slice(point, end)}` : magnitude.slice(0, point);
  return negative ? `-${body}` : body;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `"${value}"`;
  if (typeof value === 'number') return `the JSON number ${value} (write decimals as strings)`;
  return typeof value;
}
