// Every message is one line: hidden characters are escaped and named (src/io/one-line.ts).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { characterName, escapeHidden, oneLine } from '../../src/io/one-line.js';

describe('oneLine', () => {
  it('leaves a plain message as it is', () => {
    expect(oneLine('book.json: accounts[0] (alice) balance: must be a string')).toBe('book.json: accounts[0] (alice) balance: must be a string');
  });

  it('escapes and names line breaks, separators, NEL, DEL, a BOM and bidi controls', () => {
    expect(oneLine('a\nb')).toBe('a\\nb (shown escaped: \\n is U+000A LINE FEED)');
    expect(oneLine('id "al\u2028ice"')).toBe('id "al\\u2028ice" (shown escaped: \\u2028 is U+2028 LINE SEPARATOR)');
    expect(oneLine('x\u2029y')).toContain('U+2029 PARAGRAPH SEPARATOR');
    expect(oneLine('x\u0085y')).toBe('x\\u0085y (shown escaped: \\u0085 is U+0085 NEXT LINE)');
    expect(oneLine('x\u007fy')).toBe('x\\u007Fy (shown escaped: \\u007F is U+007F DELETE)');
    expect(oneLine('\ufeff{')).toBe('\\uFEFF{ (shown escaped: \\uFEFF is U+FEFF BYTE ORDER MARK)');
    expect(oneLine('abc\u202edef')).toContain('U+202E RIGHT-TO-LEFT OVERRIDE');
    expect(oneLine('no\u00a0break')).toContain('U+00A0 NO-BREAK SPACE');
    expect(oneLine('lone \ud800')).toContain('U+D800 (an unpaired surrogate)');
    expect(oneLine('tab\there')).toBe('tab\\there (shown escaped: \\t is U+0009 TAB)');
  });

  it('names each distinct character once, the first three', () => {
    const line = oneLine('\n\n\r\u2028\u2029\u0000');
    expect(line).toBe(
      '\\n\\n\\r\\u2028\\u2029\\u0000 (shown escaped: \\n is U+000A LINE FEED, \\r is U+000D CARRIAGE RETURN, \\u2028 is U+2028 LINE SEPARATOR, 2 more)',
    );
  });

  it('keeps printable text, ordinary spaces and visible non-ASCII', () => {
    expect(oneLine('prix: 45 000 € — ok')).toBe('prix: 45 000 € — ok');
    expect(escapeHidden('acct 1')).toBe('acct 1');
  });

  it('gives one line with no line breaking or invisible character, for any string', () => {
    const breaking = /[\n\r\u000b\u000c\u0085\u2028\u2029]/u;
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (text) => {
        const line = oneLine(text);
        expect(breaking.test(line)).toBe(false);
        expect(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u.test(line)).toBe(false);
        // Nothing visible is lost: without the note, unescaping gives the text back when it had no backslash.
        if (!text.includes('\\')) {
          const body = line.replace(/ \(shown escaped: .*\)$/u, '');
          const back = body.replace(/\\u\{([0-9A-F]+)\}|\\u([0-9A-F]{4})|\\([ntr])/gu, (_, wide: string, hex: string, short: string) =>
            short !== undefined ? { n: '\n', t: '\t', r: '\r' }[short]! : String.fromCodePoint(parseInt(wide ?? hex, 16)),
          );
          expect(back).toBe(text);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('names characters by kind when it has no name for them', () => {
    expect(characterName(0x01)).toBe('U+0001 (a control character)');
    expect(characterName(0x3000)).toBe('U+3000 (a space other than U+0020)');
    expect(characterName(0xe0001)).toBe('U+E0001 (an invisible formatting character)');
  });
});
