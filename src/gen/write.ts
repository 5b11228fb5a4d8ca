// Writing a generated book: the binary book through writeBookColumnsFile (which validates and
// streams the columns), or book JSON through bookToJsonValue (one object per account: small books).
// Both go through writeOutput (src/io/output.ts): `-` is standard output, and a failed write leaves
// what was at the path as it was.
import { Buffer } from 'node:buffer';
import { writeBookColumnsFile } from '../book/binary.js';
import { bookToJsonValue } from '../book/json.js';
import { writeOutput } from '../io/output.js';
import { generatedBookToBook, type GeneratedBook } from './generate.js';

/** Book JSON holds one object per account and position: refused above this many accounts. */
export const GEN_JSON_ACCOUNTS_MAX = 200_000;

/** UTF-16 code units of the JSON text encoded at a time: the text is never held twice. */
const JSON_PIECE_UNITS = 1 << 20;

/**
 * Writes the binary book to `path` (validated first; BookError if not, or if it cannot be written;
 * ClosedPipeError if the reader of `-` or of a FIFO goes away); returns its size in bytes.
 */
export function writeGeneratedBinary(path: string, book: GeneratedBook): number {
  return writeBookColumnsFile(path, book);
}

/** The generated book as book JSON text (one line, then a newline). RangeError above GEN_JSON_ACCOUNTS_MAX accounts. */
export function generatedBookJson(book: GeneratedBook): string {
  if (book.accountIds.count > GEN_JSON_ACCOUNTS_MAX) {
    throw new RangeError(`book JSON is for small books: ${book.accountIds.count} accounts is above ${GEN_JSON_ACCOUNTS_MAX}`);
  }
  return `${JSON.stringify(bookToJsonValue(generatedBookToBook(book)))}\n`;
}

/**
 * Writes book JSON to `path`; returns its size in bytes. Throws OutputError if it cannot be
 * written, ClosedPipeError if the reader of `-` or of a FIFO goes away.
 */
export function writeGeneratedJson(path: string, book: GeneratedBook): number {
  const text = generatedBookJson(book);
  return writeOutput(path, (emit) => {
    for (let at = 0; at < text.length; ) {
      let end = Math.min(text.length, at + JSON_PIECE_UNITS);
      // Never cut a surrogate pair in two: each half alone would be encoded as U+FFFD.
      const last = text.charCodeAt(end - 1);
      if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
      emit(Buffer.from(text.slice(at, end), 'utf8'));
      at = end;
    }
  }).bytes;
}
