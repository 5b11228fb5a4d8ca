// The BookError a loader throws, or a failed expectation when it throws nothing.
import { expect } from 'vitest';
import { BookError } from '../../src/book/errors.js';

export function thrown(run: () => unknown): BookError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BookError);
    return error as BookError;
  }
  throw new Error('expected a BookError, nothing was thrown');
}
