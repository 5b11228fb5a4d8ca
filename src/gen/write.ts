// Writing a generated book: the binary book through writeBookColumnsFile (which validates and
// streams the columns), or book JSON through bookToJsonValue (one object per account: small books).
import { statSync, writeFileSync } from 'node:fs';
import { writeBookColumnsFile } from '../book/binary.js';
import { bookToJsonValue } from '../book/json.js';
import { generatedBookToBook, type GeneratedBook } from './generate.js';

/** Book JSON holds one object per account and position: refused above this many accounts. */
export const GEN_JSON_ACCOUNTS_MAX = 200_000;

/** Writes the binary book to `path` (validated first; BookError if not); returns its size in bytes. */
export function writeGeneratedBinary(path: string, book: GeneratedBook): number {
  writeBookColumnsFile(path, book);
  return statSync(path).size;
}

/** The generated book as book JSON text (one line, then a newline). RangeError above GEN_JSON_ACCOUNTS_MAX accounts. */
export function generatedBookJson(book: GeneratedBook): string {
  if (book.accountIds.count > GEN_JSON_ACCOUNTS_MAX) {
    throw new RangeError(`book JSON is for small books: ${book.accountIds.count} accounts is above ${GEN_JSON_ACCOUNTS_MAX}`);
  }
  return `${JSON.stringify(bookToJsonValue(generatedBookToBook(book)))}\n`;
}

/** Writes book JSON to `path`; returns its size in bytes. */
export function writeGeneratedJson(path: string, book: GeneratedBook): number {
  const text = generatedBookJson(book);
  writeFileSync(path, text);
  return Buffer.byteLength(text);
}
