// The one error a book loader throws: where (a path through the document) and what is wrong.

/**
 * A book that cannot be loaded or written. `path` walks the document from the top, naming each
 * account and position on the way and the field last, e.g.
 * `accounts[3] (alice) positions[0] (BTC-PERP) entryPrice`; `reason` says what is wrong there.
 * The message is the single line `${path}: ${reason}`.
 */
export class BookError extends Error {
  override readonly name = 'BookError';

  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}
