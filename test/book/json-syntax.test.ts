// The syntax scanner behind parseBookJson's messages (src/book/json-syntax.ts): it finds an error
// exactly when JSON.parse throws, on random strings and on random mutations of valid JSON, and says
// where and what in one printable line.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { findJsonSyntaxError, lineAndColumn } from '../../src/book/json-syntax.js';
import { parseBookJson } from '../../src/book/json.js';
import { BookError } from '../../src/book/errors.js';

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The scanner agrees with JSON.parse, and its error is well formed. */
function agrees(text: string): void {
  const found = findJsonSyntaxError(text);
  expect(found === null).toBe(parses(text));
  if (found !== null) {
    expect(found.offset).toBeGreaterThanOrEqual(0);
    expect(found.offset).toBeLessThanOrEqual(text.length);
    expect(found.what).toMatch(/^[\x20-\x7e]+$/);
    expect(lineAndColumn(text, found.offset)).toEqual({ line: found.line, column: found.column });
  }
}

// Characters that make JSON, and break it.
const JSONISH = [...'{}[]:,"\\/ \t\n\r-+.0123456789eEabfnrtuxlsAF', '\u2028', '\u0000', '\u001f', '\ud800', '\udc00', '\u00e9', '\ufeff'];
const jsonish = fc.string({ unit: fc.constantFrom(...JSONISH), maxLength: 40 });

const edit = fc.record({
  kind: fc.constantFrom('insert', 'delete', 'replace', 'cut'),
  at: fc.nat(),
  text: fc.oneof(fc.constantFrom(...JSONISH), fc.constantFrom('true', 'nul', '1e', '-', '0.', '"\\u12', '\\', '01', ' ,', '[]', '{}')),
});

const mutated = fc.tuple(fc.json({ maxDepth: 4 }), fc.array(edit, { minLength: 1, maxLength: 3 })).map(([text, edits]) => {
  let out = text;
  for (const { kind, at, text: piece } of edits) {
    const i = out.length === 0 ? 0 : at % (out.length + 1);
    if (kind === 'insert') out = out.slice(0, i) + piece + out.slice(i);
    else if (kind === 'delete') out = out.slice(0, i) + out.slice(i + 1);
    else if (kind === 'replace') out = out.slice(0, i) + piece + out.slice(i + 1);
    else out = out.slice(0, i);
  }
  return out;
});

describe('findJsonSyntaxError agrees with JSON.parse', () => {
  test('on random strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (text) => agrees(text)), { numRuns: 10_000 });
    fc.assert(fc.property(jsonish, (text) => agrees(text)), { numRuns: 30_000 });
  });

  test('on valid JSON and random mutations of it', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        expect(findJsonSyntaxError(text)).toBeNull();
      }),
      { numRuns: 5_000 },
    );
    fc.assert(fc.property(mutated, (text) => agrees(text)), { numRuns: 30_000 });
  });

  test('on the edge cases', () => {
    const cases = [
      '', ' ', '0', '-0', '01', '-', '1.', '1.e5', '1e', '1e+', '1E-7', '.5', '+1', '0x10', 'tru', 'truex', 'nul', 'null null',
      '"', '"\\', '"\\u12"', '"\\u12g4"', '"\\x"', '"\t"', '"\u007f"', '"\ud800"', '\ufeff{}', '{}\u2028', '[1,]', '[,1]', '{"a":1,}',
      '{"a" 1}', '{a:1}', '{"a":1 "b":2}', '[1 2]', '[[[[]]]]', '[[[[]]]', '{"a":{"b":[{}]}}', ' \t\r\n[ ] \n', '\f1', '1\u00a0',
      '['.repeat(100_000) + ']'.repeat(100_000), '['.repeat(100_000),
    ];
    for (const text of cases) agrees(text);
  });
});

describe('what it says', () => {
  const said = (text: string) => {
    const found = findJsonSyntaxError(text);
    return found === null ? null : `line ${found.line}, column ${found.column}: ${found.what}`;
  };

  test('where and what, in our own words', () => {
    expect(said('{"instruments": [}')).toBe("line 1, column 18: expected a value, got '}'");
    expect(said('{\n  "a": 1,\n}')).toBe("line 3, column 1: expected a property name in double quotes, got '}'");
    expect(said('{\r\n"a": tru }')).toBe("line 2, column 9: unexpected ' ' (expected true)");
    expect(said('["abc\ndef"]')).toBe('line 1, column 6: control character U+000A in a string (write it as the escape \\n)');
    expect(said('{"a": "b')).toBe('line 1, column 9: unterminated string (it starts at line 1, column 7)');
    expect(said('{"a": [1, 2')).toBe('line 1, column 12: unexpected end of input');
    expect(said('[01]')).toBe('line 1, column 3: invalid number: a leading zero');
    expect(said('[1.]')).toBe("line 1, column 4: invalid number: expected a digit after '.', got ']'");
    expect(said('["\\q"]')).toBe("line 1, column 3: invalid escape '\\q' in a string");
    expect(said('["\\u00g0"]')).toBe("line 1, column 7: invalid \\u escape: expected 4 hex digits, got 'g'");
    expect(said('{} {}')).toBe("line 1, column 4: unexpected '{' after the end of the JSON value");
    expect(said('[1 2]')).toBe("line 1, column 4: expected ',' or ']' after an array element, got '2'");
    expect(said('{"a" 1}')).toBe("line 1, column 6: expected ':' after a property name, got '1'");
    expect(said('["𝄞", x]')).toBe("line 1, column 7: expected a value, got 'x'"); // columns count characters
    expect(said('\u2028[]')).toBe('line 1, column 1: expected a value, got U+2028');
    expect(said('[]')).toBeNull();
  });

  test('parseBookJson: one line, no snippet of the text', () => {
    const text = '{\n  "instruments": [\n    {"symbol": "A\u0007"}\n  ],\n  "accounts": [}\n';
    const fixed = text.replace('\u0007', '');
    const refusal = (json: string) => {
      try {
        parseBookJson(json);
      } catch (error) {
        expect(error).toBeInstanceOf(BookError);
        return (error as BookError).message;
      }
      return 'parsed';
    };
    expect(refusal(text)).toBe('book: is not valid JSON: line 3, column 18: control character U+0007 in a string (write it as the escape \\u0007)');
    expect(refusal(fixed)).toBe("book: is not valid JSON: line 5, column 16: expected a value, got '}'");
  });
});
