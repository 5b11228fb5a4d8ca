// Where a JSON text goes wrong, and what is wrong there, in our own words: V8's SyntaxError messages
// copy a snippet of the text (newlines, control characters and all) into the message. This scanner
// runs only after JSON.parse has refused a text, so a good book never pays for it. It accepts exactly
// what JSON.parse accepts (RFC 8259 / ECMA-404 as V8 reads it: whitespace is space, tab, LF and CR;
// any code unit from U+0020 up, lone surrogates included, may stand in a string; nesting has no
// depth limit, so the scanner keeps its own stack instead of recursing); the property test in
// test/book/json-syntax.test.ts holds it to that.

/** The first syntax error of a JSON text: where (0-based offset, 1-based line and column) and what. */
export interface JsonSyntaxError {
  /** Offset in UTF-16 code units into the text (the end of the text for "unexpected end of input"). */
  offset: number;
  /** 1-based line: a line ends at LF, at CR LF, or at a CR alone. */
  line: number;
  /** 1-based column, counted in characters (code points) from the start of the line. */
  column: number;
  /** A short description, one line, printable ASCII (e.g. `unexpected end of input`). */
  what: string;
}

const ARRAY = 0;
const OBJECT = 1;

class Stop {
  constructor(
    readonly offset: number,
    readonly what: string,
  ) {}
}

/**
 * The first syntax error of `text` as JSON, or null when JSON.parse accepts it. Linear in the
 * text's length, with a stack of one number per open array or object.
 */
export function findJsonSyntaxError(text: string): JsonSyntaxError | null {
  try {
    scan(text);
    return null;
  } catch (error) {
    if (!(error instanceof Stop)) throw error;
    const { line, column } = lineAndColumn(text, error.offset);
    return { offset: error.offset, line, column, what: error.what };
  }
}

function scan(text: string): void {
  const n = text.length;
  const stack: number[] = [];
  let i = skipSpace(text, 0);

  for (;;) {
    // A value starts at i.
    if (i >= n) throw new Stop(n, 'unexpected end of input');
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      i = skipSpace(text, i + 1);
      if (i < n && text.charCodeAt(i) === 0x7d /* } */) {
        i++; // {} or []: a complete value
      } else {
        stack.push(OBJECT);
        i = propertyName(text, i);
        continue;
      }
    } else if (c === 0x5b /* [ */) {
      i = skipSpace(text, i + 1);
      if (i < n && text.charCodeAt(i) === 0x5d /* ] */) {
        i++; // {} or []: a complete value
      } else {
        stack.push(ARRAY);
        continue;
      }
    } else if (c === 0x22 /* " */) {
      i = string(text, i);
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      i = number(text, i);
    } else if (c === 0x74 /* t */) {
      i = literal(text, i, 'true');
    } else if (c === 0x66 /* f */) {
      i = literal(text, i, 'false');
    } else if (c === 0x6e /* n */) {
      i = literal(text, i, 'null');
    } else {
      throw new Stop(i, `expected a value, got ${showAt(text, i)}`);
    }
    // After a value: close containers, or move to the next element or member.
    for (;;) {
      i = skipSpace(text, i);
      if (stack.length === 0) {
        if (i < n) throw new Stop(i, `unexpected ${showAt(text, i)} after the end of the JSON value`);
        return;
      }
      if (i >= n) throw new Stop(n, 'unexpected end of input');
      const d = text.charCodeAt(i);
      const top = stack[stack.length - 1];
      if (d === 0x2c /* , */) {
        i = skipSpace(text, i + 1);
        if (top === OBJECT) i = propertyName(text, i);
        break; // a value follows
      }
      if (top === ARRAY && d === 0x5d /* ] */) {
        stack.pop();
        i++;
        continue;
      }
      if (top === OBJECT && d === 0x7d /* } */) {
        stack.pop();
        i++;
        continue;
      }
      throw new Stop(
        i,
        top === ARRAY
          ? `expected ',' or ']' after an array element, got ${showAt(text, i)}`
          : `expected ',' or '}' after a property value, got ${showAt(text, i)}`,
      );
    }
  }
}

/** A property name, the space after it and the colon; returns where the value starts (spaces skipped). */
function propertyName(text: string, i: number): number {
  if (i >= text.length) throw new Stop(text.length, 'unexpected end of input');
  if (text.charCodeAt(i) !== 0x22) throw new Stop(i, `expected a property name in double quotes, got ${showAt(text, i)}`);
  i = skipSpace(text, string(text, i));
  if (i >= text.length) throw new Stop(text.length, 'unexpected end of input');
  if (text.charCodeAt(i) !== 0x3a /* : */) throw new Stop(i, `expected ':' after a property name, got ${showAt(text, i)}`);
  return skipSpace(text, i + 1);
}

function skipSpace(text: string, i: number): number {
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** A string starting at the quote at `start`; returns the offset after its closing quote. */
function string(text: string, start: number): number {
  const n = text.length;
  let i = start + 1;
  for (;;) {
    if (i >= n) {
      const { line, column } = lineAndColumn(text, start);
      throw new Stop(n, `unterminated string (it starts at line ${line}, column ${column})`);
    }
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c < 0x20) throw new Stop(i, `control character ${codePoint(c)} in a string (write it as the escape ${escapeOf(c)})`);
    if (c !== 0x5c /* \ */) {
      i++;
      continue;
    }
    if (i + 1 >= n) throw new Stop(n, 'unexpected end of input');
    const e = text.charCodeAt(i + 1);
    if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
      i += 2;
    } else if (e === 0x75 /* u */) {
      for (let k = 0; k < 4; k++) {
        const at = i + 2 + k;
        if (at >= n) throw new Stop(n, 'unexpected end of input');
        if (!isHex(text.charCodeAt(at))) throw new Stop(at, `invalid \\u escape: expected 4 hex digits, got ${showAt(text, at)}`);
      }
      i += 6;
    } else {
      throw new Stop(i, `invalid escape ${printable(e) ? `'\\${String.fromCharCode(e)}'` : `'\\' before ${showAt(text, i + 1)}`} in a string`);
    }
  }
}

/** A number starting at `start` (a '-' or a digit); returns the offset after it. */
function number(text: string, start: number): number {
  const n = text.length;
  let i = start;
  if (text.charCodeAt(i) === 0x2d) {
    i++;
    if (i >= n) throw new Stop(n, 'unexpected end of input');
    if (!isDigit(text.charCodeAt(i))) throw new Stop(i, `invalid number: expected a digit after '-', got ${showAt(text, i)}`);
  }
  if (text.charCodeAt(i) === 0x30) {
    i++;
    if (i < n && isDigit(text.charCodeAt(i))) throw new Stop(i, 'invalid number: a leading zero');
  } else {
    while (i < n && isDigit(text.charCodeAt(i))) i++;
  }
  if (i < n && text.charCodeAt(i) === 0x2e /* . */) {
    i++;
    if (i >= n) throw new Stop(n, 'unexpected end of input');
    if (!isDigit(text.charCodeAt(i))) throw new Stop(i, `invalid number: expected a digit after '.', got ${showAt(text, i)}`);
    while (i < n && isDigit(text.charCodeAt(i))) i++;
  }
  if (i < n && (text.charCodeAt(i) === 0x65 || text.charCodeAt(i) === 0x45) /* e E */) {
    i++;
    if (i < n && (text.charCodeAt(i) === 0x2b || text.charCodeAt(i) === 0x2d)) i++;
    if (i >= n) throw new Stop(n, 'unexpected end of input');
    if (!isDigit(text.charCodeAt(i))) throw new Stop(i, `invalid number: expected a digit in the exponent, got ${showAt(text, i)}`);
    while (i < n && isDigit(text.charCodeAt(i))) i++;
  }
  return i;
}

function literal(text: string, start: number, word: string): number {
  for (let k = 0; k < word.length; k++) {
    const at = start + k;
    if (at >= text.length) throw new Stop(text.length, 'unexpected end of input');
    if (text.charCodeAt(at) !== word.charCodeAt(k)) throw new Stop(at, `unexpected ${showAt(text, at)} (expected ${word})`);
  }
  return start + word.length;
}

/** The JSON escape of a control character: \n and the like, or \u00XX. */
function escapeOf(c: number): string {
  const short = SHORT_ESCAPES[c];
  return short !== undefined ? `\\${short}` : `\\u${c.toString(16).padStart(4, '0')}`;
}

const SHORT_ESCAPES: Record<number, string> = { 0x08: 'b', 0x09: 't', 0x0a: 'n', 0x0c: 'f', 0x0d: 'r' };

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function printable(c: number): boolean {
  return c >= 0x21 && c <= 0x7e;
}

/** The character at `i` for a message: 'x' when it is printable ASCII, its code point (like U+2028) otherwise. */
function showAt(text: string, i: number): string {
  const c = text.codePointAt(i) ?? 0;
  if (c === 0x27) return `"'"`;
  return printable(c) ? `'${String.fromCharCode(c)}'` : c === 0x20 ? "' '" : codePoint(c);
}

function codePoint(c: number): string {
  return `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** 1-based line and column (in code points) of `offset`: lines end at LF, CR LF or a CR alone. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a)) {
      line++;
      lineStart = i + 1;
    }
  }
  let column = 1;
  for (let i = lineStart; i < offset; i++) {
    const c = text.charCodeAt(i);
    // The second half of a surrogate pair does not start a character.
    if (c >= 0xdc00 && c <= 0xdfff && i > lineStart && isHighSurrogate(text.charCodeAt(i - 1))) continue;
    column++;
  }
  return { line, column };
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
