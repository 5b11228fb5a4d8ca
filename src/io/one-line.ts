// Every message the command line prints is one line, whatever a book, a path or an argument holds:
// a character that would break the line, or that a reader cannot see, is shown escaped, and the
// message names it. docs/cli.md lists what is escaped.

/**
 * Characters shown escaped: controls (C0, DEL, C1 such as NEL), format characters (zero-width
 * spaces and joiners, bidirectional controls, the byte order mark, soft hyphen), line and paragraph
 * separators, spaces other than U+0020 (no-break and wide spaces look like one and are not), and
 * unpaired surrogates.
 */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]|(?! )\p{Zs}/gu;

const NAMES: Record<number, string> = {
  0x00: 'NUL',
  0x09: 'TAB',
  0x0a: 'LINE FEED',
  0x0b: 'VERTICAL TAB',
  0x0c: 'FORM FEED',
  0x0d: 'CARRIAGE RETURN',
  0x1b: 'ESCAPE',
  0x7f: 'DELETE',
  0x85: 'NEXT LINE',
  0xa0: 'NO-BREAK SPACE',
  0xad: 'SOFT HYPHEN',
  0x200b: 'ZERO WIDTH SPACE',
  0x200c: 'ZERO WIDTH NON-JOINER',
  0x200d: 'ZERO WIDTH JOINER',
  0x200e: 'LEFT-TO-RIGHT MARK',
  0x200f: 'RIGHT-TO-LEFT MARK',
  0x2028: 'LINE SEPARATOR',
  0x2029: 'PARAGRAPH SEPARATOR',
  0x202e: 'RIGHT-TO-LEFT OVERRIDE',
  0x2060: 'WORD JOINER',
  0xfeff: 'BYTE ORDER MARK',
};

const SHORT: Record<number, string> = { 0x09: '\\t', 0x0a: '\\n', 0x0d: '\\r' };

/** "U+2028 LINE SEPARATOR", or the character's kind when it has no name here. */
export function characterName(code: number): string {
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  const name = NAMES[code];
  if (name !== undefined) return `${hex} ${name}`;
  const character = String.fromCodePoint(code);
  if (/\p{Cc}/u.test(character)) return `${hex} (a control character)`;
  if (/\p{Cs}/u.test(character)) return `${hex} (an unpaired surrogate)`;
  if (/\p{Zs}/u.test(character)) return `${hex} (a space other than U+0020)`;
  return `${hex} (an invisible formatting character)`;
}

/** The escape shown in place of a hidden character: \n, \t, \r, else four hex digits as in \u2028 (braces above U+FFFF, as in \u{E0001}). */
function escapeOf(code: number): string {
  const short = SHORT[code];
  if (short !== undefined) return short;
  const hex = code.toString(16).toUpperCase();
  return code > 0xffff ? `\\u{${hex}}` : `\\u${hex.padStart(4, '0')}`;
}

/** `text` with every hidden character escaped (no note): for names shown in tables. */
export function escapeHidden(text: string): string {
  return text.replace(HIDDEN, (character) => escapeOf(character.codePointAt(0)!));
}

/**
 * `text` as one line: every hidden character escaped, and, when there was one, a note naming the
 * distinct ones (the first three), e.g. `… "a\u2028b" … (shown escaped: \u2028 is U+2028 LINE SEPARATOR)`.
 */
export function oneLine(text: string): string {
  const seen: number[] = [];
  const escaped = text.replace(HIDDEN, (character) => {
    const code = character.codePointAt(0)!;
    if (!seen.includes(code)) seen.push(code);
    return escapeOf(code);
  });
  if (seen.length === 0) return escaped;
  const named = seen.slice(0, 3).map((code) => `${escapeOf(code)} is ${characterName(code)}`);
  if (seen.length > 3) named.push(`${seen.length - 3} more`);
  return `${escaped} (shown escaped: ${named.join(', ')})`;
}
