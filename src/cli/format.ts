// Figures for people on the terminal: counts with separators, money in whole quote.
import { QUOTE_SCALE } from '../fixed/constants.js';

/** A count with a comma every three digits: 1,062,469. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** A quote amount (micro) as whole quote with separators, rounded toward zero: -1,234. */
export function wholeQuote(micro: bigint): string {
  const whole = (micro < 0n ? -micro : micro) / QUOTE_SCALE;
  return `${micro < 0n ? '-' : ''}${whole.toLocaleString('en-US')}`;
}
