// The errors of the command line's reads and writes. Each message is one line that names the path
// first (the CLI escapes any control or invisible character in it when it prints it).

/** A book source that cannot be opened or read, or is not a kind of file a book is read from. Exit 1. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/** An output that cannot be created or written. Exit 1. What was there before is left as it was. */
export class OutputError extends Error {
  override readonly name = 'OutputError';
}

/**
 * The reader of a pipe (standard output, a FIFO) went away (EPIPE). Not a failure: a command ends
 * quietly with exit 0, as a Unix filter does (`liq sweep book.bin | head -1`).
 */
export class ClosedPipeError extends Error {
  override readonly name = 'ClosedPipeError';

  constructor(readonly target: string) {
    super(`${target}: the reader closed the pipe`);
  }
}

/**
 * "ENOSPC: no space left on device" from a Node system error, whose message goes on to name the
 * call and its paths (", write", ", open 'path'", ", rename 'a' -> 'b'"): the messages here name the
 * path first themselves, and a temporary file's name would only confuse.
 */
export function systemMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const syscall = (error as NodeJS.ErrnoException | null)?.syscall;
  if (typeof syscall === 'string') {
    const at = message.indexOf(`, ${syscall}`);
    if (at > 0) return message.slice(0, at);
  }
  return message.replace(/, \w+ '.*'$/s, '');
}
