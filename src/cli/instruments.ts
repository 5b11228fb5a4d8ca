// `liq instruments import`: a venue's saved API responses to an instruments file (docs/venues.md).
// The venue-neutral work is src/instruments/import.ts, each venue's in src/instruments/venues/. The
// file goes through writeOutput (src/io/output.ts): a regular file is replaced whole or left as it
// was, a device or a FIFO is streamed to; `-` is the command's standard output.
import { Buffer } from 'node:buffer';
import { escapeHidden } from '../io/one-line.js';
import { writeOutput } from '../io/output.js';
import {
  importInstruments,
  instrumentsFileText,
  readVenueFile,
  skippedText,
  type VenueAdapter,
  type VenueName,
} from '../instruments/import.js';
import { BINANCE } from '../instruments/venues/binance.js';
import { BYBIT } from '../instruments/venues/bybit.js';
import { HYPERLIQUID } from '../instruments/venues/hyperliquid.js';
import { OKX } from '../instruments/venues/okx.js';
import { UsageError, parseCommand } from './args.js';
import { INSTRUMENTS_IMPORT_SPEC, INSTRUMENTS_SPEC } from './commands.js';
import { EXIT_OK, printedHelp, writeChunks, type Io } from './main.js';

/** Each venue's files and conversion. */
export const VENUES: Readonly<Record<VenueName, VenueAdapter>> = { binance: BINANCE, bybit: BYBIT, okx: OKX, hyperliquid: HYPERLIQUID };

const SUBCOMMANDS = ['import'];

/** Runs `liq instruments` with the arguments after `instruments`. Returns the exit code; throws what main reports. */
export async function instrumentsCommand(argv: string[], io: Io): Promise<number> {
  if (argv[0] === 'import') return importCommand(argv.slice(1), io);
  const parsed = parseCommand(INSTRUMENTS_SPEC, argv);
  if (await printedHelp(parsed, INSTRUMENTS_SPEC, io)) return EXIT_OK;
  throw new UsageError('instruments', `unknown subcommand ${JSON.stringify(parsed.positionals.SUBCOMMAND)}; the subcommands are ${SUBCOMMANDS.join(', ')}`);
}

async function importCommand(argv: string[], io: Io): Promise<number> {
  const parsed = parseCommand(INSTRUMENTS_IMPORT_SPEC, argv);
  if (await printedHelp(parsed, INSTRUMENTS_IMPORT_SPEC, io)) return EXIT_OK;
  const values = parsed.values as { venue: VenueName; out: string; 'skip-unsupported': boolean };
  const adapter = VENUES[values.venue];
  const files = parsed.lists['FILE...'].map((path) => readVenueFile(path));
  const result = importInstruments(adapter, files, { skipUnsupported: values['skip-unsupported'] });
  const text = instrumentsFileText(result);
  if (result.skipped.length > 0) await writeChunks(io.stderr, [`liq instruments import: ${escapeHidden(skippedText(result.skipped))}\n`]);
  // With `--out -` the instruments are standard output, and nothing else goes there.
  if (values.out === '-') {
    await writeChunks(io.stdout, [text]);
    return EXIT_OK;
  }
  writeOutput(values.out, (emit) => emit(Buffer.from(text, 'utf8')));
  const count = result.instruments.length;
  await writeChunks(io.stdout, [`${escapeHidden(values.out)}: ${count} instrument${count === 1 ? '' : 's'} from ${result.venue}\n`]);
  return EXIT_OK;
}
