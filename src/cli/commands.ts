// What each `liq` command takes: one spec per command, read by the parser (args.ts) and printed
// by `liq <command> --help`. docs/cli.md is written from these.
import { GEN_ACCOUNTS_MAX, GEN_DEFAULTS, GEN_INSTRUMENTS_MAX, GEN_PRECISIONS, GEN_PROFILE_NAMES, GEN_PROFILES } from '../gen/generate.js';
import { GEN_JSON_ACCOUNTS_MAX } from '../gen/write.js';
import { VENUE_NAMES } from '../instruments/import.js';
import { threadsMax, type CommandSpec } from './args.js';

/** `simulate --runs`: at most this many runs. */
export const RUNS_MAX = 100_000;

const EXIT_CODES = `exit codes: 0 done (also when the reader of standard output goes away), 1 bad input or an I/O error,
2 usage error, 3 internal error (a bug)`;

export const EVAL_SPEC: CommandSpec = {
  name: 'eval',
  positionals: ['BOOK'],
  options: {
    json: { kind: 'flag', help: 'print the documented JSON document instead of the table' },
  },
  summary: `Evaluates every account of BOOK: equity, maintenance and status of each scope, liquidation and
bankruptcy prices of each position. BOOK is book JSON or a binary book, told apart by content; a
JSON book may also come from a pipe or from standard input (BOOK = -).`,
  notes: `Formats: docs/book-json.md, docs/book-binary.md; limits and messages: docs/cli.md.\n${EXIT_CODES}`,
};

export const GEN_SPEC: CommandSpec = {
  name: 'gen',
  positionals: [],
  options: {
    accounts: { kind: 'integer', min: 1, max: GEN_ACCOUNTS_MAX, required: true, value: 'N', help: 'accounts to generate' },
    seed: { kind: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER, default: GEN_DEFAULTS.seed, value: 'S', help: 'seed: the same seed gives the same book' },
    profile: {
      kind: 'choice',
      choices: GEN_PROFILE_NAMES,
      default: GEN_DEFAULTS.profile,
      value: 'NAME',
      help: 'how fragile the book is: calibrated, like real books (docs/generator.md), or stress, far more leveraged',
    },
    'isolated-share': { kind: 'share', default: GEN_DEFAULTS.isolatedShare, value: 'F', help: 'share of positions in isolated mode' },
    'near-maintenance-share': {
      kind: 'share',
      defaultText: GEN_PROFILE_NAMES.map((name) => `${GEN_PROFILES[name].nearMaintenanceShare} ${name}`).join(', '),
      value: 'F',
      help: 'share of accounts placed near maintenance',
    },
    instruments: { kind: 'integer', min: 1, max: GEN_INSTRUMENTS_MAX, defaultText: String(GEN_DEFAULTS.instruments), value: 'N', help: 'instruments: 5 majors, then alts' },
    'instruments-file': {
      kind: 'string',
      value: 'PATH',
      help: 'the instruments to generate accounts over, from an instruments file (liq instruments import; docs/venues.md), in its order: the first five as majors',
    },
    precision: {
      kind: 'choice',
      choices: GEN_PRECISIONS,
      default: GEN_DEFAULTS.precision,
      value: 'NAME',
      help: "the generated alts' tick and lot decimals: micro, pd + sd at most 6 (the books as ever), or venue, as venues list them, many finer than a micro; not with --instruments-file",
    },
    out: { kind: 'string', value: 'PATH', help: 'where to write the book: a file, a device, a FIFO, or - for standard output (default book.bin; book.json with --json)' },
    json: { kind: 'flag', help: `write book JSON instead of the binary format (at most ${GEN_JSON_ACCOUNTS_MAX.toLocaleString('en-US')} accounts)` },
  },
  summary: `Generates a realistic book, deterministic for a seed (docs/generator.md): majors and a long tail
of alts with venue-shaped tier tables, about 3 positions per account. A file is written whole or not
at all: to a temporary file beside it, then renamed over it.`,
  notes: EXIT_CODES,
};

export const SWEEP_SPEC: CommandSpec = {
  name: 'sweep',
  positionals: ['BOOK'],
  options: {
    threads: { kind: 'integer', min: 1, max: threadsMax(), defaultText: 'one per core', value: 'N', help: 'workers, at most 4 per core' },
    repeat: { kind: 'integer', min: 1, max: 1000, default: 5, value: 'K', help: 'timed sweeps' },
    list: { kind: 'integer', min: 0, max: 1_000_000, default: 10, value: 'N', help: 'liquidatable scopes to print (0 for none)' },
  },
  summary: `Sweeps every account of BOOK on a pool of workers K times, prints the median time and the first N
liquidatable scopes.`,
  notes: EXIT_CODES,
};

export const SIMULATE_SPEC: CommandSpec = {
  name: 'simulate',
  positionals: [],
  options: {
    scenario: { kind: 'string', value: 'FILE', help: 'the scenario (docs/scenario.md); default: scenarios/october-2025.json, a flash crash shaped like 10 October 2025' },
    book: { kind: 'string', value: 'FILE', help: "the book to run it on (JSON or binary), over the scenario's own" },
    accounts: { kind: 'integer', min: 1, max: GEN_ACCOUNTS_MAX, value: 'N', help: 'when the scenario generates its book: this many accounts instead' },
    out: { kind: 'string', default: 'sim-out', value: 'DIR', help: 'where to write summary.json, timeline.csv and events.csv' },
    seed: { kind: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER, value: 'S', help: "the seed of the run's random draws, over the scenario's" },
    threads: { kind: 'integer', min: 1, max: threadsMax(), defaultText: 'one per core', value: 'N', help: 'workers, at most 4 per core' },
    runs: { kind: 'integer', min: 1, max: RUNS_MAX, value: 'N', help: 'Monte Carlo: N runs, seeds S, S+1, …; percentiles of bad debt, fund draw, ADL and liquidations' },
    shard: { kind: 'string', value: 'I/N', help: 'with --runs: run only the I-th of N slices of the runs (1-based); liq merge joins the slices' },
    compare: { kind: 'string', value: 'WHAT', help: 'modes (the book as given, all cross, all isolated) or adl (queue, proRata, random): the same crash each way' },
    sweep: { kind: 'string', value: 'NAME=V1,V2,…', help: 'the same crash for each value of maintenanceMultiplier, insuranceFund, feeRate or buffer' },
  },
  summary: `Runs a flash-crash cascade on a book (docs/simulator.md): marks move along the scenario's paths and
the impact of liquidation orders, failing scopes are liquidated (fills at the impacted price, a fee to
the insurance fund, losses past bankruptcy to the fund, ADL when it is empty), step by step. Prints a
summary and writes summary.json, timeline.csv and events.csv to DIR. With --runs, --compare or --sweep
it runs the crash several times on fresh copies of the book and writes summary.json and a table
(runs.csv and shard.json, or comparison.csv) instead.`,
  notes: `Formats: docs/scenario.md, docs/simulator.md.\n${EXIT_CODES}`,
};

export const MERGE_SPEC: CommandSpec = {
  name: 'merge',
  positionals: ['DIR...'],
  options: {
    out: { kind: 'string', default: 'sim-out', value: 'DIR', help: 'where to write the merged summary.json, runs.csv and shard.json' },
  },
  summary: `Joins the slices of a Monte Carlo run (liq simulate --runs N --shard I/N, each in its own DIR)
into the summary.json, runs.csv and shard.json one machine running all N would have written. Every
slice must be there once, of the same scenario, seed, runs and book.`,
  notes: `Formats: docs/simulator.md.\n${EXIT_CODES}`,
};

/** `serve --accounts`: the generated book's default size when no --book is given. */
export const SERVE_ACCOUNTS_DEFAULT = 1_000_000;

export const SERVE_SPEC: CommandSpec = {
  name: 'serve',
  positionals: [],
  options: {
    book: { kind: 'string', value: 'FILE', help: 'the book to serve (JSON or binary); default: a generated book (calibrated profile, seed 1)' },
    accounts: { kind: 'integer', min: 1, max: GEN_ACCOUNTS_MAX, default: SERVE_ACCOUNTS_DEFAULT, value: 'N', help: 'without --book: accounts of the generated book' },
    port: { kind: 'integer', min: 0, max: 65_535, default: 8080, value: 'P', help: 'the port of HTTP and of the WebSocket at /ws (0: any free port)' },
    host: { kind: 'string', default: '127.0.0.1', value: 'ADDR', help: 'the address to listen on' },
    journal: { kind: 'string', default: 'liq-journal', value: 'DIR', help: 'where the input and order journals are kept; a restart on it rebuilds the state' },
    config: { kind: 'string', value: 'FILE', help: 'tokens, liquidation policy, fsync, buffers (docs/serve.md); tokens also from LIQ_PUBLISHER_TOKEN, LIQ_CONSUMER_TOKEN, LIQ_OBSERVER_TOKEN' },
    threads: { kind: 'integer', min: 1, max: threadsMax(), defaultText: 'one per core', value: 'N', help: 'workers of the evaluation pool, at most 4 per core' },
  },
  summary: `Runs the live engine (docs/serve.md): publishers send msgpack ticks and account updates over a
WebSocket (docs/PROTOCOL.md), the book is evaluated incrementally, and every newly failing scope
becomes a sequenced liquidation order, journaled before it is sent to the consumers. HTTP beside it:
GET /health, /metrics (Prometheus), /accounts/:id. With no token configured, one per role is made
up and printed. Runs until SIGINT or SIGTERM; logs are JSON lines on standard error.`,
  notes: EXIT_CODES,
};

export const TAIL_SPEC: CommandSpec = {
  name: 'tail',
  positionals: [],
  options: {
    url: { kind: 'string', default: 'ws://127.0.0.1:8080/ws', value: 'URL', help: 'the server\'s WebSocket' },
    from: { kind: 'integer', min: 1, max: Number.MAX_SAFE_INTEGER, value: 'N', help: 'the first order sequence number to print (default: the next new order)' },
    token: { kind: 'string', value: 'TOKEN', help: 'a consumer token (default: the environment\'s LIQ_CONSUMER_TOKEN)' },
    count: { kind: 'integer', min: 1, max: Number.MAX_SAFE_INTEGER, value: 'N', help: 'stop after N orders (default: run until interrupted)' },
    json: { kind: 'flag', help: 'print each order as a JSON line instead of a text line' },
  },
  summary: `Connects to liq serve as a consumer and prints its liquidation orders, one a line, from sequence
number N (a replay from the journal, then the live stream).`,
  notes: EXIT_CODES,
};

/** `liq instruments`: the group; its one subcommand is import. */
export const INSTRUMENTS_SPEC: CommandSpec = {
  name: 'instruments',
  positionals: ['SUBCOMMAND'],
  options: {},
  summary: `Instrument specifications. Subcommands:
  import --venue V FILES... [--out PATH] [--skip-unsupported]
      turns the JSON a venue publishes (binance, bybit, okx, hyperliquid) into book instruments
liq instruments import --help prints its options.`,
  notes: `Formats: docs/venues.md.\n${EXIT_CODES}`,
};

export const INSTRUMENTS_IMPORT_SPEC: CommandSpec = {
  name: 'instruments import',
  positionals: ['FILE...'],
  options: {
    venue: { kind: 'choice', choices: VENUE_NAMES, required: true, value: 'VENUE', help: 'whose files they are' },
    out: { kind: 'string', default: '-', value: 'PATH', help: 'where to write the instruments file: a file (written whole or not at all), a device, a FIFO, or - for standard output' },
    'skip-unsupported': {
      kind: 'flag',
      help: 'leave out an instrument the book cannot hold (its loader refuses it, e.g. a tick of 7 decimals) instead of refusing the import; standard error names them',
    },
  },
  summary: `Turns a venue's instrument specifications, its API responses saved as JSON files, into an instruments
file: {"version": 1, "venue": V, "instruments": [book instruments]}, each instrument with exactly the
fields of a book instrument (docs/book-json.md). FILES are told apart by content and may come in any
order (docs/venues.md lists each venue's files, the fields read and the checks). Every instrument is
validated by the book's own loader; venue maintenance amounts (Binance cum, Bybit mmDeduction) must
equal the engine's.`,
  notes: `Formats: docs/venues.md, docs/book-json.md.\n${EXIT_CODES}`,
};

export const COMMANDS: readonly CommandSpec[] = [EVAL_SPEC, GEN_SPEC, SWEEP_SPEC, SIMULATE_SPEC, MERGE_SPEC, SERVE_SPEC, TAIL_SPEC, INSTRUMENTS_SPEC];

/** Help texts printed by a subcommand (`liq instruments import --help`), besides the commands'. */
export const SUBCOMMANDS: readonly CommandSpec[] = [INSTRUMENTS_IMPORT_SPEC];
