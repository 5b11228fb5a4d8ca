// `liq gen`: generates a book (src/gen/) and writes it through writeOutput (src/io/output.ts): a
// file is replaced whole or left as it was, a device or a FIFO is streamed to, `-` is standard output.
import { generateBook, type GenerationPrecision, type GenerationProfileName } from '../gen/generate.js';
import { readInstrumentsFile } from '../instruments/file.js';
import { GEN_JSON_ACCOUNTS_MAX, writeGeneratedBinary, writeGeneratedJson } from '../gen/write.js';
import { escapeHidden } from '../io/one-line.js';
import { UsageError, parseCommand } from './args.js';
import { GEN_SPEC } from './commands.js';
import { EXIT_OK, printedHelp, writeChunks, type Io } from './main.js';
import { progressBar } from './progress.js';

/** Runs `liq gen` with the arguments after `gen`. Returns the exit code; throws what main reports. */
export async function genCommand(argv: string[], io: Io): Promise<number> {
  const parsed = parseCommand(GEN_SPEC, argv);
  if (await printedHelp(parsed, GEN_SPEC, io)) return EXIT_OK;
  const values = parsed.values as {
    accounts: number;
    seed: number;
    profile: GenerationProfileName;
    'isolated-share': number;
    'near-maintenance-share': number | undefined;
    instruments: number | undefined;
    'instruments-file': string | undefined;
    precision: GenerationPrecision;
    out: string | undefined;
    json: boolean;
  };
  if (values.json && values.accounts > GEN_JSON_ACCOUNTS_MAX) {
    throw new UsageError(
      'gen',
      `--json is for small books (at most ${GEN_JSON_ACCOUNTS_MAX} accounts), got --accounts ${values.accounts}; write the binary format instead`,
    );
  }
  if (values.instruments !== undefined && values['instruments-file'] !== undefined) {
    throw new UsageError('gen', '--instruments N and --instruments-file PATH both say which instruments: give one');
  }
  if (values.precision === 'venue' && values['instruments-file'] !== undefined) {
    throw new UsageError('gen', "--precision venue sets the generated instruments' decimals, and --instruments-file PATH gives its own: give one");
  }
  // Read (and refused) before anything is generated or written.
  const instrumentList = values['instruments-file'] === undefined ? undefined : readInstrumentsFile(values['instruments-file']);
  const out = values.out ?? (values.json ? 'book.json' : 'book.bin');
  const started = performance.now();
  const bar = progressBar(io.stderr, 'generating');
  let book;
  try {
    book = generateBook(
      {
        accounts: values.accounts,
        seed: values.seed,
        profile: values.profile,
        isolatedShare: values['isolated-share'],
        nearMaintenanceShare: values['near-maintenance-share'],
        instruments: values.instruments,
        instrumentList,
        precision: values.precision,
      },
      (done, total) => bar.update(done, total),
    );
  } finally {
    bar.stop();
  }
  const bytes = values.json ? writeGeneratedJson(out, book) : writeGeneratedBinary(out, book);
  // With `--out -` the book is standard output, and nothing else may go there.
  if (out === '-') return EXIT_OK;
  const seconds = (performance.now() - started) / 1000;
  await writeChunks(io.stdout, [
    `${escapeHidden(out)}: ${book.accountIds.count} accounts, ${book.positionCount} positions, ${bytes} bytes, ${seconds.toFixed(2)} s\n`,
  ]);
  return EXIT_OK;
}
