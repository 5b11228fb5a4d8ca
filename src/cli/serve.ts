// `liq serve`: loads (or generates) a book, opens the evaluation pool and the journals, rebuilds the
// acknowledged state, and runs the live server until SIGINT or SIGTERM (docs/serve.md).
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadBookBinaryFile, writeBookColumnsFile } from '../book/binary.js';
import type { Engine } from '../engine/engine.js';
import { generateBook, GEN_DEFAULTS } from '../gen/generate.js';
import { OutputError } from '../io/errors.js';
import { escapeHidden } from '../io/one-line.js';
import { SweepPool } from '../pool/pool.js';
import { loadServeConfig, ROLES, TOKEN_ENV } from '../serve/config.js';
import { JournalError } from '../serve/journal.js';
import { LiveServer, ServeError } from '../serve/server.js';
import { loadNativeUws } from '../serve/uws.js';
import { parseCommand } from './args.js';
import { SERVE_SPEC } from './commands.js';
import { EXIT_OK, loadBook, printedHelp, writeChunks, type Io } from './main.js';
import { progressBar } from './progress.js';

/** Node's default number of V8 background threads (--v8-pool-size). */
const V8_POOL_DEFAULT = 4;

/** Whether node was started with --v8-pool-size (on its command line or in NODE_OPTIONS). */
function v8PoolSized(): boolean {
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((arg) => arg.startsWith('--v8-pool-size'));
}

interface ServeValues {
  book: string | undefined;
  accounts: number;
  port: number;
  host: string;
  journal: string;
  config: string | undefined;
  threads: number | undefined;
}

/** Runs `liq serve` with the arguments after `serve`; resolves with the exit code once the server stops. */
export async function serveCommand(argv: string[], io: Io, signals: NodeJS.EventEmitter = process): Promise<number> {
  const parsed = parseCommand(SERVE_SPEC, argv);
  if (await printedHelp(parsed, SERVE_SPEC, io)) return EXIT_OK;
  const values = parsed.values as unknown as ServeValues;
  // Everything that can be refused is checked before the book is loaded.
  const uws = loadNativeUws();
  const config = loadServeConfig(values.config);
  const { engine, digest, what } = values.book !== undefined ? await fileBook(values.book, io) : generatedBook(values.accounts, io);
  const pool = await SweepPool.open(engine, { threads: values.threads });
  const logger = pino({ level: config.log.level, base: { service: 'liq-serve' } }, pino.destination({ fd: 2, sync: false }));
  if (!v8PoolSized() && availableParallelism() < V8_POOL_DEFAULT) {
    logger.warn(
      { cores: availableParallelism() },
      `node was started without --v8-pool-size: V8's ${V8_POOL_DEFAULT} background threads outnumber the cores and can stall an evaluation for 4 ms at a time (a crash tick's p99 in process: 3-4 ms, against 1.3 with the flag); start it as npx liq does (node --v8-pool-size=0 bin/liq.js serve)`,
    );
  }
  let server: LiveServer;
  try {
    server = await LiveServer.start({ uws, engine, pool, config, journalDir: values.journal, host: values.host, port: values.port, bookDigest: digest, logger });
  } catch (error) {
    await pool.close();
    // A journal that cannot be opened or read back is the input's (the directory's), said in one line.
    if (error instanceof JournalError) throw new ServeError(`${escapeHidden(values.journal)}: ${error.message}`);
    throw error;
  }
  const lines = [
    `liq serve: ${what}: ${engine.accountCount.toLocaleString('en-US')} accounts; ${pool.threads} workers`,
    `  WebSocket  ws://${values.host}:${server.port}/ws   (docs/PROTOCOL.md)`,
    `  HTTP       http://${values.host}:${server.port}/health, /metrics, /accounts/:id`,
    `  journal    ${escapeHidden(values.journal)} (inputs to ${server.inputs.lastSeq}, orders to ${server.orders.lastSeq})`,
  ];
  if (config.generatedTokens) {
    lines.push('  tokens (made up for this run: none was configured):');
    for (const role of ROLES) lines.push(`    ${TOKEN_ENV[role]}=${config.tokens[role][0]}`);
  }
  await writeChunks(io.stdout, [`${lines.join('\n')}\n`]);
  const stopped = new Promise<number>((resolve) => {
    server.onStopped = (code) => resolve(code);
  });
  const stop = () => void server.stop(0);
  signals.once('SIGINT', stop);
  signals.once('SIGTERM', stop);
  try {
    return await stopped;
  } finally {
    signals.off('SIGINT', stop);
    signals.off('SIGTERM', stop);
    await pool.close();
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
  }
}

/** A book file, identified by the SHA-256 of its bytes. */
async function fileBook(path: string, io: Io): Promise<{ engine: Engine; digest: string; what: string }> {
  const engine = await loadBook(path, io);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return { engine, digest: hash.digest('hex'), what: escapeHidden(path) };
}

/** The generated book of `accounts` (seed 1, the default profile), identified by its options. */
function generatedBook(accounts: number, io: Io): { engine: Engine; digest: string; what: string } {
  const options = { accounts, seed: GEN_DEFAULTS.seed, profile: GEN_DEFAULTS.profile };
  const bar = progressBar(io.stderr, 'generating the book');
  const scratch = join(tmpdir(), `liq-serve-${process.pid}`);
  const file = join(scratch, 'book.bin');
  try {
    const book = generateBook(options, (done, total) => bar.update(done, total));
    bar.stop();
    try {
      mkdirSync(scratch, { recursive: true });
      writeBookColumnsFile(file, book);
    } catch (error) {
      throw new OutputError(`${escapeHidden(file)}: cannot write the generated book: ${(error as Error).message.split('\n')[0]}`);
    }
    const engine = loadBookBinaryFile(file, { hugePages: false });
    const digest = createHash('sha256').update(`liq gen ${JSON.stringify(options)}`).digest('hex');
    return { engine, digest, what: `a generated book (liq gen --accounts ${accounts})` };
  } finally {
    bar.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}
