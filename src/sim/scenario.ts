// Scenario files (docs/scenario.md) -> the normalized Scenario of scenario-types.ts.
//
// Reading validates the whole document and either returns a Scenario with every default filled in
// or throws the first ScenarioError found, in document order: the top-level keys in the order
// docs/scenario.md lists them; within one object, unknown keys first, then its fields in the order
// the docs list them (a liquidity model reads `model` first, since its keys depend on it). Money is
// written as decimal strings and kept exact (micro-quote bigints); the market model's parameters
// are JSON numbers. Symbols are checked for form only: whether the book has them is the runner's
// check (checkScenarioSymbols), since the book is not known here.

import { closeSync, constants as fsConstants, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findJsonSyntaxError } from '../book/json-syntax.js';
import { GEN_ACCOUNTS_MAX, GEN_DEFAULTS, GEN_INSTRUMENTS_MAX, GEN_PROFILE_NAMES, GEN_PROFILES, type GenerationProfileName } from '../gen/generate.js';
import { INSTRUMENTS_MAX, QUOTE_ABS_MAX, QUOTE_DECIMALS, SYMBOL_LENGTH_MAX } from '../fixed/constants.js';
import { formatScaled, parseScaled, splitDecimal } from '../fixed/decimal.js';
import { characterName } from '../io/one-line.js';
import { systemMessage } from '../io/errors.js';
import {
  SCENARIO_STEPS_MAX,
  SCENARIO_VERSION,
  type AdlPolicy,
  type BookGenerate,
  type BookSpec,
  type InstrumentSelector,
  type LiquidationPolicy,
  type LiquidityModel,
  type LiquiditySpec,
  type Move,
  type PriceSpec,
  type QuoteAmount,
  type RandomPaths,
  type RecordedPaths,
  type Scenario,
  type Shock,
} from './scenario-types.js';
import { field, isPlainObject, quote, type JsonObject } from '../io/json-object.js';

// ---------------------------------------------------------------------------------------------
// The error

/**
 * A scenario that cannot be read. `path` walks the document from the top with dots and indexes,
 * e.g. `prices.shocks[2].move.min` or `liquidity.instruments.BTC-PERP.dailyVolume` (for a file that
 * cannot be read or is not JSON, the file's path); `reason` says what is wrong there. The message
 * is the single line `${path}: ${reason}`.
 */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';

  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Limits and defaults (docs/scenario.md lists each)

/** `name`: 1 to this many printable ASCII characters. */
export const SCENARIO_NAME_LENGTH_MAX = 64;
/** `description`: at most this many characters (code points). */
export const SCENARIO_DESCRIPTION_LENGTH_MAX = 1000;
/** `stepSeconds`: above 0 and at most one day. */
export const STEP_SECONDS_MAX = 86_400;
/** A numeric `prices.majors` and the length of a named one: at most this many. */
export const MAJORS_MAX = 1000;
/** `prices.shocks`: at most this many shocks. */
export const SHOCKS_MAX = 10_000;
/** `book.generate.accounts`: 1 to this (the generator's GEN_ACCOUNTS_MAX). */
export const GENERATE_ACCOUNTS_MAX = GEN_ACCOUNTS_MAX;
/** `book.generate.instruments`: 1 to this (the generator's GEN_INSTRUMENTS_MAX). */
export const GENERATE_INSTRUMENTS_MAX = GEN_INSTRUMENTS_MAX;
/** A relative move is in (MOVE_MIN, MOVE_MAX]: above −100%, at most +1000%. */
export const MOVE_MIN = -1;
export const MOVE_MAX = 10;
/** `overOpenInterest`: from 0 to this. */
export const OVER_OPEN_INTEREST_MAX = 1000;
/**
 * The largest market quantity written in quote (`dailyVolume`, `depthPerPercent`): 10^15 quote.
 * The insurance fund is a balance and stays within the engine's QUOTE_ABS_MAX (10^10 quote).
 */
export const MARKET_QUOTE_MAX_MICRO = 10n ** 21n;
/** A file name (`book.file`, `prices.recorded.file`): 1 to this many characters. */
export const FILE_NAME_LENGTH_MAX = 4096;
/** A scenario file larger than this (16 MiB) is refused before it is read. */
export const SCENARIO_FILE_BYTES_MAX = 16 * 1024 * 1024;
/** A decimal string longer than this is refused before any arithmetic (as in book files). */
const DECIMAL_TEXT_LENGTH_MAX = 64;

export const DEFAULT_SCENARIO_NAME = 'scenario';
export const DEFAULT_SCENARIO_SEED = 1;
/** `prices.majors` when absent: the book's first five instruments (the generator's majors). */
export const DEFAULT_MAJORS = 5;

/** `book.generate`'s defaults (the generator's own: docs/generator.md); nearMaintenanceShare's is the profile's. */
export const DEFAULT_GENERATE: Readonly<Omit<BookGenerate, 'accounts' | 'nearMaintenanceShare'>> = Object.freeze({
  seed: GEN_DEFAULTS.seed,
  instruments: GEN_DEFAULTS.instruments,
  isolatedShare: GEN_DEFAULTS.isolatedShare,
  profile: GEN_DEFAULTS.profile,
});

/** `prices.random`'s defaults for what may be omitted (volatility may not). */
export const DEFAULT_RANDOM_CORRELATION: RandomPaths['correlation'] = Object.freeze({ majors: 0.8, alts: 0.6 });
export const DEFAULT_RANDOM_TAIL_DF = 4;
export const DEFAULT_RANDOM_DRIFT: RandomPaths['drift'] = Object.freeze({ majors: 0, alts: 0 });

/** A `sqrt` model's defaults for what may be omitted (dailyVolume may not). */
export const DEFAULT_SQRT_Y = 0.7;
export const DEFAULT_SQRT_DAILY_VOLATILITY = 0.05;
export const DEFAULT_SQRT_HALF_LIFE_SECONDS = 300;
/** A `depth` model's default refill rate (depthPerPercent may not be omitted). */
export const DEFAULT_DEPTH_REFILL_PER_SECOND = 0.01;

/** `liquidity.majors` when absent. */
export const DEFAULT_MAJORS_LIQUIDITY: LiquidityModel = Object.freeze({
  model: 'sqrt',
  y: DEFAULT_SQRT_Y,
  dailyVolatility: DEFAULT_SQRT_DAILY_VOLATILITY,
  dailyVolume: Object.freeze({ overOpenInterest: 2 }),
  halfLifeSeconds: DEFAULT_SQRT_HALF_LIFE_SECONDS,
});

/** `liquidity.alts` when absent. */
export const DEFAULT_ALTS_LIQUIDITY: LiquidityModel = Object.freeze({
  model: 'sqrt',
  y: DEFAULT_SQRT_Y,
  dailyVolatility: DEFAULT_SQRT_DAILY_VOLATILITY,
  dailyVolume: Object.freeze({ overOpenInterest: 1 }),
  halfLifeSeconds: DEFAULT_SQRT_HALF_LIFE_SECONDS,
});

/** `liquidation` when absent (and each of its fields when omitted). */
export const DEFAULT_LIQUIDATION: LiquidationPolicy = Object.freeze({ mode: 'partial', buffer: 0.1, feeRate: 0.005 });

/** `insuranceFund` when absent: 0.1% of each instrument's open interest at the start. */
export const DEFAULT_INSURANCE_FUND: QuoteAmount = Object.freeze({ overOpenInterest: 0.001 });

/** `adl.policy` when absent. */
export const DEFAULT_ADL_POLICY: AdlPolicy = 'queue';

// ---------------------------------------------------------------------------------------------
// The default scenario's file

/**
 * The package root: the nearest directory with a package.json at or above this module's (the
 * module runs from src/sim/ under the tests and from dist/src/sim/ when compiled).
 */
function packageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** A scenario file of this package's scenarios/ directory, as an absolute path. */
export function packagedScenarioPath(name: string): string {
  const root = packageRoot();
  return root !== null ? join(root, 'scenarios', name) : fileURLToPath(new URL(`../../scenarios/${name}`, import.meta.url));
}

/** scenarios/october-2025.json: the default crash. */
export const DEFAULT_SCENARIO_PATH: string = packagedScenarioPath('october-2025.json');
/** scenarios/typical-day.json: an ordinary day, for calibration (docs/generator.md). */
export const TYPICAL_DAY_SCENARIO_PATH: string = packagedScenarioPath('typical-day.json');

// ---------------------------------------------------------------------------------------------
// Reading

/**
 * Parses and validates a scenario's JSON text. A syntax error throws ScenarioError with path
 * `source` (default `scenario`) and the reason `is not valid JSON: line L, column C: what`.
 * Relative file names are returned as written (readScenarioFile resolves them).
 */
export function parseScenario(text: string, source?: string): Scenario {
  const root = source ?? ROOT;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    const found = findJsonSyntaxError(text);
    // The scanner accepts exactly what JSON.parse accepts (test/book/json-syntax.test.ts).
    const where =
      found === null ? 'JSON.parse refused it, but the syntax scanner found no error' : `line ${found.line}, column ${found.column}: ${found.what}`;
    fail(root, `is not valid JSON: ${where}`);
  }
  return readScenario(value, root);
}

/** Validates a parsed scenario value: returns a new Scenario with every default filled in, or throws the first ScenarioError. */
export function scenarioFromJsonValue(value: unknown): Scenario {
  return readScenario(value, ROOT);
}

/**
 * Reads a scenario file: an unreadable file throws ScenarioError with the file's path and the
 * system's reason (`cannot read: ENOENT: no such file or directory`); its content is read by
 * parseScenario. Relative `book.file` and `prices.recorded.file` come back resolved against the
 * scenario file's directory.
 */
export function readScenarioFile(path: string): Scenario {
  const scenario = parseScenario(readText(path), path);
  const dir = dirname(resolve(path));
  const at = (file: string): string => (isAbsolute(file) ? file : resolve(dir, file));
  let book = scenario.book;
  if (book !== null && 'file' in book) book = { file: at(book.file) };
  let prices = scenario.prices;
  if (prices.recorded !== null) prices = { ...prices, recorded: { file: at(prices.recorded.file) } };
  return { ...scenario, book, prices };
}

function readText(path: string): string {
  let fd: number;
  try {
    // Without blocking: a FIFO with no writer would otherwise wait (it is then refused as not a regular file).
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (error) {
    fail(path, `cannot read: ${systemMessage(error)}`);
  }
  try {
    let size: number;
    try {
      const stat = fstatSync(fd);
      if (stat.isDirectory()) fail(path, 'cannot read: is a directory');
      if (!stat.isFile()) fail(path, 'cannot read: not a regular file');
      size = stat.size;
    } catch (error) {
      if (error instanceof ScenarioError) throw error;
      fail(path, `cannot read: ${systemMessage(error)}`);
    }
    if (size > SCENARIO_FILE_BYTES_MAX) fail(path, `has ${size} bytes; a scenario file may have at most ${SCENARIO_FILE_BYTES_MAX}`);
    const bytes = new Uint8Array(size);
    let done = 0;
    try {
      while (done < size) {
        const n = readSync(fd, bytes, done, size - done, null);
        if (n === 0) break;
        done += n;
      }
    } catch (error) {
      fail(path, `cannot read: ${systemMessage(error)}`);
    }
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, done));
    } catch {
      fail(path, 'is not UTF-8 text');
    }
  } finally {
    closeSync(fd);
  }
}

const ROOT = 'scenario';

const SCENARIO_KEYS = [
  'version',
  'name',
  'description',
  'steps',
  'stepSeconds',
  'seed',
  'book',
  'prices',
  'liquidity',
  'liquidation',
  'insuranceFund',
  'adl',
] as const;

function readScenario(value: unknown, root: string): Scenario {
  const object = readObject(value, '', SCENARIO_KEYS, { root });
  readVersion(field(object, 'version'));
  const name = readName(field(object, 'name'));
  const description = readDescription(field(object, 'description'));
  const steps = readInteger(required(object, '', 'steps'), 'steps', 1, SCENARIO_STEPS_MAX);
  const stepSeconds = readNumber(required(object, '', 'stepSeconds'), 'stepSeconds', { min: 0, minOpen: true, max: STEP_SECONDS_MAX });
  const seedValue = field(object, 'seed');
  const seed = seedValue === undefined ? DEFAULT_SCENARIO_SEED : readSeed(seedValue, 'seed');
  const bookValue = field(object, 'book');
  const book = bookValue === undefined ? null : readBook(bookValue, 'book');
  const prices = readPrices(required(object, '', 'prices'), 'prices', steps);
  const liquidityValue = field(object, 'liquidity');
  const liquidity = readLiquidity(liquidityValue, 'liquidity');
  const liquidation = readLiquidation(field(object, 'liquidation'), 'liquidation');
  const fundValue = field(object, 'insuranceFund');
  const insuranceFund =
    fundValue === undefined ? DEFAULT_INSURANCE_FUND : readQuoteAmount(fundValue, 'insuranceFund', false, QUOTE_ABS_MAX);
  const adl = readAdl(field(object, 'adl'), 'adl');
  return {
    version: SCENARIO_VERSION,
    name,
    description,
    steps,
    stepSeconds,
    seed,
    book,
    prices,
    liquidity,
    liquidation,
    insuranceFund,
    adl,
  };
}

function readVersion(value: unknown): void {
  if (value === SCENARIO_VERSION) return;
  const reads = `this build reads version ${SCENARIO_VERSION}`;
  if (value === undefined) fail('version', `is missing (required); ${reads}: write "version": ${SCENARIO_VERSION}`);
  if (typeof value === 'number') fail('version', `${value} is not supported; ${reads}`);
  fail('version', `must be the JSON number ${SCENARIO_VERSION}, got ${describe(value)}; ${reads}`);
}

function readName(value: unknown): string {
  if (value === undefined) return DEFAULT_SCENARIO_NAME;
  return readPrintable(value, 'name', SCENARIO_NAME_LENGTH_MAX);
}

function readDescription(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value !== 'string') fail('description', `must be a string, got ${describe(value)}`);
  const length = [...value].length;
  if (length > SCENARIO_DESCRIPTION_LENGTH_MAX) {
    fail('description', `is ${length} characters long; at most ${SCENARIO_DESCRIPTION_LENGTH_MAX}`);
  }
  return value;
}

// --- book ------------------------------------------------------------------------------------

const BOOK_KEYS = ['file', 'generate'] as const;
const GENERATE_KEYS = ['accounts', 'seed', 'instruments', 'profile', 'isolatedShare', 'nearMaintenanceShare'] as const;

function readBook(value: unknown, path: string): BookSpec {
  const object = readObject(value, path, BOOK_KEYS, OPTIONAL);
  const file = field(object, 'file');
  const generate = field(object, 'generate');
  if (file !== undefined && generate !== undefined) fail(path, 'must have exactly one of "file" and "generate", got both');
  if (file !== undefined) return { file: readFileName(file, child(path, 'file')) };
  if (generate === undefined) fail(path, 'must have one of "file" (a book file) or "generate" (generator options), got neither');
  const gPath = child(path, 'generate');
  const g = readObject(generate, gPath, GENERATE_KEYS);
  const accounts = readInteger(required(g, gPath, 'accounts'), child(gPath, 'accounts'), 1, GENERATE_ACCOUNTS_MAX);
  const seedValue = field(g, 'seed');
  const seed = seedValue === undefined ? DEFAULT_GENERATE.seed : readSeed(seedValue, child(gPath, 'seed'));
  const instrumentsValue = field(g, 'instruments');
  const instruments =
    instrumentsValue === undefined
      ? DEFAULT_GENERATE.instruments
      : readInteger(instrumentsValue, child(gPath, 'instruments'), 1, GENERATE_INSTRUMENTS_MAX);
  const profileValue = field(g, 'profile');
  let profile: GenerationProfileName = DEFAULT_GENERATE.profile;
  if (profileValue !== undefined) {
    if (typeof profileValue !== 'string' || !(GEN_PROFILE_NAMES as readonly string[]).includes(profileValue)) {
      fail(child(gPath, 'profile'), `must be ${GEN_PROFILE_NAMES.map((name) => `"${name}"`).join(' or ')}, got ${describe(profileValue)}`);
    }
    profile = profileValue as GenerationProfileName;
  }
  const isolatedShare = optionalNumber(g, gPath, 'isolatedShare', UNIT, DEFAULT_GENERATE.isolatedShare);
  const nearMaintenanceShare = optionalNumber(g, gPath, 'nearMaintenanceShare', UNIT, GEN_PROFILES[profile].nearMaintenanceShare);
  return { generate: { accounts, seed, instruments, profile, isolatedShare, nearMaintenanceShare } };
}

// --- prices ----------------------------------------------------------------------------------

const PRICES_KEYS = ['majors', 'shocks', 'random', 'recorded'] as const;
const SHOCK_KEYS = ['instruments', 'startStep', 'steps', 'move', 'shape'] as const;
const MOVE_KEYS = ['min', 'max'] as const;
const RANDOM_KEYS = ['volatility', 'correlation', 'tailDf', 'drift'] as const;
const GROUP_KEYS = ['majors', 'alts'] as const;
const RECORDED_KEYS = ['file'] as const;

const MOVE_RANGE: Range = { min: MOVE_MIN, minOpen: true, max: MOVE_MAX };
const TAIL_DF_RANGE: Range = { min: 2, minOpen: true, max: 1000 };
const DRIFT_RANGE: Range = { min: -100, max: 100 };

function readPrices(value: unknown, path: string, steps: number): PriceSpec {
  const object = readObject(value, path, PRICES_KEYS);
  const majors = readMajors(field(object, 'majors'), child(path, 'majors'));

  const shocksPath = child(path, 'shocks');
  const shocksValue = field(object, 'shocks');
  const shocks: Shock[] = [];
  if (shocksValue !== undefined) {
    const values = readArray(shocksValue, shocksPath, SHOCKS_MAX, 'shocks');
    for (let k = 0; k < values.length; k++) shocks.push(readShock(values[k], `${shocksPath}[${k}]`, steps));
  }

  const randomValue = field(object, 'random');
  const random = randomValue === undefined ? null : readRandom(randomValue, child(path, 'random'));

  const recordedPath = child(path, 'recorded');
  const recordedValue = field(object, 'recorded');
  let recorded: RecordedPaths | null = null;
  if (recordedValue !== undefined) {
    const r = readObject(recordedValue, recordedPath, RECORDED_KEYS, OPTIONAL);
    recorded = { file: readFileName(required(r, recordedPath, 'file'), child(recordedPath, 'file')) };
    const alone = 'recorded prices are the only source of exogenous prices when given';
    if (shocks.length > 0) {
      fail(recordedPath, `cannot be combined with shocks (prices.shocks has ${shocks.length}): ${alone}; remove one or the other`);
    }
    if (random !== null) fail(recordedPath, `cannot be combined with prices.random: ${alone}; remove one or the other`);
  }
  return { majors, shocks, random, recorded };
}

function readMajors(value: unknown, path: string): readonly string[] | number {
  if (value === undefined) return DEFAULT_MAJORS;
  if (typeof value === 'number') return readInteger(value, path, 0, MAJORS_MAX);
  if (!Array.isArray(value)) {
    fail(
      path,
      `must be an array of symbols or an integer from 0 to ${MAJORS_MAX} (the book's first N instruments), got ${describe(value)}`,
    );
  }
  return readSymbolList(value, path, MAJORS_MAX, 'symbols');
}

function readShock(value: unknown, path: string, scenarioSteps: number): Shock {
  const object = readObject(value, path, SHOCK_KEYS);
  const instruments = readSelector(required(object, path, 'instruments'), child(path, 'instruments'));
  const startPath = child(path, 'startStep');
  const startNote = `(below the scenario's steps, ${scenarioSteps})`;
  const startStep = readInteger(required(object, path, 'startStep'), startPath, 0, scenarioSteps - 1, startNote);
  const stepsPath = child(path, 'steps');
  const steps = readInteger(required(object, path, 'steps'), stepsPath, 1, SCENARIO_STEPS_MAX);
  if (startStep + steps > scenarioSteps) {
    fail(
      stepsPath,
      `startStep ${startStep} + steps ${steps} = ${startStep + steps} exceeds the scenario's steps, ${scenarioSteps} ` +
        `(a shock must be complete by the last step; at most ${scenarioSteps - startStep} here)`,
    );
  }
  const move = readMove(required(object, path, 'move'), child(path, 'move'));
  const shapePath = child(path, 'shape');
  const shapeValue = field(object, 'shape');
  let shape: Shock['shape'] = 'linear';
  if (shapeValue !== undefined) {
    if (shapeValue !== 'linear' && shapeValue !== 'exponential') {
      fail(shapePath, `must be "linear" or "exponential", got ${describe(shapeValue)}`);
    }
    shape = shapeValue;
  }
  return { instruments, startStep, steps, move, shape };
}

function readSelector(value: unknown, path: string): InstrumentSelector {
  if (value === 'all' || value === 'majors' || value === 'alts') return value;
  const expected = 'must be "all", "majors", "alts" or a non-empty array of symbols';
  if (typeof value === 'string') {
    const hint = isSymbol(value) ? ` (for one instrument write [${quote(value)}])` : '';
    fail(path, `${expected}, got ${describe(value)}${hint}`);
  }
  if (!Array.isArray(value)) fail(path, `${expected}, got ${describe(value)}`);
  if (value.length === 0) fail(path, `${expected}, got an empty array`);
  return readSymbolList(value, path, INSTRUMENTS_MAX, 'symbols');
}

function readMove(value: unknown, path: string): Move {
  if (typeof value === 'number') return readNumber(value, path, MOVE_RANGE);
  if (!isPlainObject(value)) {
    fail(path, `must be a number (a relative move, -0.12 is a 12% fall) or an object { "min": m, "max": M }, got ${describe(value)}`);
  }
  const object = readObject(value, path, MOVE_KEYS);
  const min = readNumber(required(object, path, 'min'), child(path, 'min'), MOVE_RANGE);
  const max = readNumber(required(object, path, 'max'), child(path, 'max'), MOVE_RANGE);
  if (min > max) fail(child(path, 'max'), `must be at least min (${min}), got ${max}`);
  return { min, max };
}

function readRandom(value: unknown, path: string): RandomPaths {
  const object = readObject(value, path, RANDOM_KEYS, OPTIONAL);
  const volatility = readGroups(required(object, path, 'volatility'), child(path, 'volatility'), { min: 0, max: 20 }, null);
  const correlationValue = field(object, 'correlation');
  const correlation =
    correlationValue === undefined
      ? DEFAULT_RANDOM_CORRELATION
      : readGroups(correlationValue, child(path, 'correlation'), UNIT, DEFAULT_RANDOM_CORRELATION);
  const tailPath = child(path, 'tailDf');
  const tailValue = field(object, 'tailDf');
  let tailDf: number | null = DEFAULT_RANDOM_TAIL_DF;
  if (tailValue === null) tailDf = null;
  else if (tailValue !== undefined) tailDf = readNumber(tailValue, tailPath, TAIL_DF_RANGE, ' or null (normal draws)');
  const driftValue = field(object, 'drift');
  const drift =
    driftValue === undefined ? DEFAULT_RANDOM_DRIFT : readGroups(driftValue, child(path, 'drift'), DRIFT_RANGE, DEFAULT_RANDOM_DRIFT);
  return { volatility, correlation, tailDf, drift };
}

/** `{ majors, alts }`, each in `range`; with `defaults`, either may be omitted. */
function readGroups(
  value: unknown,
  path: string,
  range: Range,
  defaults: { readonly majors: number; readonly alts: number } | null,
): { majors: number; alts: number } {
  const object = readObject(value, path, GROUP_KEYS, { optional: defaults !== null });
  const one = (key: 'majors' | 'alts'): number => {
    const v = defaults === null ? required(object, path, key) : field(object, key);
    return v === undefined ? defaults![key] : readNumber(v, child(path, key), range);
  };
  const majors = one('majors');
  const alts = one('alts');
  return { majors, alts };
}

// --- liquidity -------------------------------------------------------------------------------

const LIQUIDITY_KEYS = ['majors', 'alts', 'instruments'] as const;
const MODEL_KEYS = {
  sqrt: ['model', 'y', 'dailyVolatility', 'dailyVolume', 'halfLifeSeconds'],
  depth: ['model', 'depthPerPercent', 'refillPerSecond'],
  none: ['model'],
} as const;
type ModelName = keyof typeof MODEL_KEYS;

function readLiquidity(value: unknown, path: string): LiquiditySpec {
  const instruments: Record<string, LiquidityModel> = Object.create(null) as Record<string, LiquidityModel>;
  if (value === undefined) return { majors: DEFAULT_MAJORS_LIQUIDITY, alts: DEFAULT_ALTS_LIQUIDITY, instruments };
  const object = readObject(value, path, LIQUIDITY_KEYS, OPTIONAL);
  const majorsValue = field(object, 'majors');
  const majors = majorsValue === undefined ? DEFAULT_MAJORS_LIQUIDITY : readModel(majorsValue, child(path, 'majors'), true);
  const altsValue = field(object, 'alts');
  const alts = altsValue === undefined ? DEFAULT_ALTS_LIQUIDITY : readModel(altsValue, child(path, 'alts'), true);
  const instrumentsValue = field(object, 'instruments');
  if (instrumentsValue !== undefined) {
    const iPath = child(path, 'instruments');
    const byName = readObject(instrumentsValue, iPath, null, OPTIONAL);
    const keys = Object.keys(byName);
    if (keys.length > INSTRUMENTS_MAX) fail(iPath, `has ${keys.length} instruments; at most ${INSTRUMENTS_MAX}`);
    for (const key of keys) {
      const keyPath = child(iPath, keyName(key));
      const problem = printableProblem(key, SYMBOL_LENGTH_MAX);
      if (problem !== null) fail(keyPath, `is not a symbol (the keys of liquidity.instruments are instrument symbols): ${problem}`);
      instruments[key] = readModel(byName[key], keyPath, false);
    }
  }
  return { majors, alts, instruments };
}

function readModel(value: unknown, path: string, optional: boolean): LiquidityModel {
  if (!isPlainObject(value)) fail(path, `must be an object (a liquidity model), got ${describe(value)}${optional ? nullHint(value) : ''}`);
  refuseProtoKeys(value, path);
  const modelPath = child(path, 'model');
  const model = required(value, path, 'model');
  if (model !== 'sqrt' && model !== 'depth' && model !== 'none') {
    fail(modelPath, `must be "sqrt", "depth" or "none", got ${describe(model)}`);
  }
  const allowed = MODEL_KEYS[model];
  for (const key of Object.keys(value)) {
    if ((allowed as readonly string[]).includes(key)) continue;
    const owner = (Object.keys(MODEL_KEYS) as ModelName[]).find((other) => (MODEL_KEYS[other] as readonly string[]).includes(key));
    const reason =
      owner !== undefined
        ? `is a key of the "${owner}" model, not of "${model}"; "${model}" takes ${allowed.join(', ')}`
        : `unknown key; ${nearHint(key, allowed)}a "${model}" model takes ${allowed.join(', ')}`;
    fail(child(path, keyName(key)), reason);
  }
  if (model === 'none') return { model };
  if (model === 'depth') {
    const depthPath = child(path, 'depthPerPercent');
    const depthPerPercent = readQuoteAmount(required(value, path, 'depthPerPercent'), depthPath, true, MARKET_QUOTE_MAX_MICRO);
    const refillRange: Range = { min: 0, minOpen: true, max: 1 };
    const refillPerSecond = optionalNumber(value, path, 'refillPerSecond', refillRange, DEFAULT_DEPTH_REFILL_PER_SECOND);
    return { model, depthPerPercent, refillPerSecond };
  }
  const y = optionalNumber(value, path, 'y', { min: 0, minOpen: true, max: 10 }, DEFAULT_SQRT_Y);
  const dailyVolatility = optionalNumber(value, path, 'dailyVolatility', { min: 0, minOpen: true, max: 5 }, DEFAULT_SQRT_DAILY_VOLATILITY);
  const dailyVolume = readQuoteAmount(required(value, path, 'dailyVolume'), child(path, 'dailyVolume'), true, MARKET_QUOTE_MAX_MICRO);
  const halfLifeSeconds = optionalNumber(
    value,
    path,
    'halfLifeSeconds',
    { min: 0, minOpen: true, max: Number.MAX_VALUE },
    DEFAULT_SQRT_HALF_LIFE_SECONDS,
  );
  return { model, y, dailyVolatility, dailyVolume, halfLifeSeconds };
}

// --- liquidation, ADL ------------------------------------------------------------------------

const LIQUIDATION_KEYS = ['mode', 'buffer', 'feeRate'] as const;
const ADL_KEYS = ['policy'] as const;

function readLiquidation(value: unknown, path: string): LiquidationPolicy {
  if (value === undefined) return DEFAULT_LIQUIDATION;
  const object = readObject(value, path, LIQUIDATION_KEYS, OPTIONAL);
  const modeValue = field(object, 'mode');
  let mode = DEFAULT_LIQUIDATION.mode;
  if (modeValue !== undefined) {
    if (modeValue !== 'full' && modeValue !== 'partial') {
      fail(child(path, 'mode'), `must be "full" or "partial", got ${describe(modeValue)}`);
    }
    mode = modeValue;
  }
  const buffer = optionalNumber(object, path, 'buffer', { min: 0, max: 10 }, DEFAULT_LIQUIDATION.buffer);
  const feeRate = optionalNumber(object, path, 'feeRate', { min: 0, max: 0.1 }, DEFAULT_LIQUIDATION.feeRate);
  return { mode, buffer, feeRate };
}

function readAdl(value: unknown, path: string): { policy: AdlPolicy } {
  if (value === undefined) return { policy: DEFAULT_ADL_POLICY };
  const object = readObject(value, path, ADL_KEYS, OPTIONAL);
  const policy = field(object, 'policy');
  if (policy === undefined) return { policy: DEFAULT_ADL_POLICY };
  if (policy !== 'queue' && policy !== 'proRata' && policy !== 'random') {
    fail(child(path, 'policy'), `must be "queue", "proRata" or "random", got ${describe(policy)}`);
  }
  return { policy };
}

// ---------------------------------------------------------------------------------------------
// Symbols against a book

/**
 * Checks that every symbol the scenario names is one of the book's (`symbols`), and that a numeric
 * `prices.majors` is at most the book's instrument count (`instrumentCount`, default symbols.size).
 * Throws ScenarioError at the first problem, in the order prices.majors, prices.shocks (in order),
 * liquidity.instruments.
 */
export function checkScenarioSymbols(scenario: Scenario, symbols: ReadonlySet<string>, instrumentCount: number = symbols.size): void {
  const unknown = (symbol: string): string => {
    const shown = [...take(symbols, 5)].map(quote);
    const known =
      symbols.size === 0 ? 'the book has no instruments' : `the book's instruments are ${shown.join(', ')}${symbols.size > 5 ? ', ...' : ''}`;
    return `unknown instrument ${quote(symbol)}; ${known}`;
  };
  const majors = scenario.prices.majors;
  if (typeof majors === 'number') {
    if (majors > instrumentCount) {
      fail('prices.majors', `is ${majors}, but the book has ${instrumentCount} instrument${instrumentCount === 1 ? '' : 's'}`);
    }
  } else {
    majors.forEach((symbol, i) => {
      if (!symbols.has(symbol)) fail(`prices.majors[${i}]`, unknown(symbol));
    });
  }
  scenario.prices.shocks.forEach((shock, k) => {
    if (typeof shock.instruments === 'string') return;
    shock.instruments.forEach((symbol, j) => {
      if (!symbols.has(symbol)) fail(`prices.shocks[${k}].instruments[${j}]`, unknown(symbol));
    });
  });
  for (const symbol of Object.keys(scenario.liquidity.instruments)) {
    if (!symbols.has(symbol)) fail(`liquidity.instruments.${keyName(symbol)}`, unknown(symbol));
  }
}

function* take<T>(items: Iterable<T>, n: number): Generator<T> {
  if (n <= 0) return;
  let i = 0;
  for (const item of items) {
    yield item;
    if (++i >= n) return;
  }
}

// ---------------------------------------------------------------------------------------------
// Values

interface Range {
  min: number;
  /** The minimum itself is excluded. */
  minOpen?: boolean;
  max: number;
  /** The maximum itself is excluded. */
  maxOpen?: boolean;
}

const UNIT: Range = { min: 0, max: 1 };

function rangeText(range: Range): string {
  const low = range.minOpen ? `greater than ${range.min}` : `at least ${range.min}`;
  if (range.max === Number.MAX_VALUE) return low;
  if (!range.minOpen && !range.maxOpen) return `from ${range.min} to ${range.max}`;
  return `${low} and ${range.maxOpen ? 'less than' : 'at most'} ${range.max}`;
}

/** A JSON number (finite) in `range`. `alternative` (" or null") is added to the type's reason. */
function readNumber(value: unknown, path: string, range: Range, alternative = ''): number {
  if (typeof value !== 'number') fail(path, `must be a number${alternative}, got ${describe(value)}`);
  if (!Number.isFinite(value)) fail(path, `must be a finite number, got ${value}`);
  const below = range.minOpen ? value <= range.min : value < range.min;
  const above = range.maxOpen ? value >= range.max : value > range.max;
  if (below || above) fail(path, `must be ${rangeText(range)}, got ${value}`);
  return value;
}

function optionalNumber(object: JsonObject, path: string, key: string, range: Range, fallback: number): number {
  const value = field(object, key);
  return value === undefined ? fallback : readNumber(value, child(path, key), range);
}

/** A JSON number that is an integer from min to max; `note` explains the bound. */
function readInteger(value: unknown, path: string, min: number, max: number, note = ''): number {
  if (typeof value !== 'number') fail(path, `must be an integer, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(path, `must be an integer from ${min} to ${max}${note === '' ? '' : ` ${note}`}, got ${value}`);
  }
  return value;
}

function readSeed(value: unknown, path: string): number {
  return readInteger(value, path, 0, Number.MAX_SAFE_INTEGER, '(2^53 - 1)');
}

/**
 * A quote amount: a decimal string (exact, at most 6 decimals; not negative; above 0 when
 * `positive`; at most `maxMicro`) or `{ "overOpenInterest": x }` with x from 0 (excluded when
 * `positive`) to OVER_OPEN_INTEREST_MAX.
 */
function readQuoteAmount(value: unknown, path: string, positive: boolean, maxMicro: bigint): QuoteAmount {
  if (typeof value === 'string') {
    if (value.length > DECIMAL_TEXT_LENGTH_MAX) fail(path, `${quote(value)} is longer than ${DECIMAL_TEXT_LENGTH_MAX} characters`);
    if (splitDecimal(value) === null) {
      fail(path, `${quote(value)} is not a decimal number (digits and an optional "." fraction, e.g. "2500000.5")`);
    }
    const parsed = parseScaled(value, QUOTE_DECIMALS);
    if (!parsed.ok) {
      fail(path, `${quote(value)} has more than ${QUOTE_DECIMALS} decimals; quote amounts are in micro (10^-${QUOTE_DECIMALS})`);
    }
    const micro = parsed.value;
    if (micro < 0n) fail(path, `must not be negative, got ${quote(value)}`);
    if (positive && micro === 0n) fail(path, `must be above 0, got ${quote(value)}`);
    if (micro > maxMicro) fail(path, `${quote(value)} is above the largest, ${formatScaled(maxMicro, QUOTE_DECIMALS)}`);
    return { micro };
  }
  if (typeof value === 'number') {
    const example = /^\d{1,16}(\.\d{1,6})?$/.test(String(value)) ? String(value) : '1000000';
    const ways = `as in book files (e.g. "${example}"), or as { "overOpenInterest": x }`;
    fail(path, `money is written as a decimal string, ${ways}; got ${describe(value)}`);
  }
  if (!isPlainObject(value)) {
    fail(path, `must be a decimal string of quote or an object { "overOpenInterest": x }, got ${describe(value)}`);
  }
  const object = readObject(value, path, OVER_OPEN_INTEREST_KEYS);
  const range: Range = { min: 0, minOpen: positive, max: OVER_OPEN_INTEREST_MAX };
  return { overOpenInterest: readNumber(required(object, path, 'overOpenInterest'), child(path, 'overOpenInterest'), range) };
}

const OVER_OPEN_INTEREST_KEYS = ['overOpenInterest'] as const;

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/u;

/** A string of 1 to lengthMax printable ASCII characters. */
function readPrintable(value: unknown, path: string, lengthMax: number): string {
  if (typeof value !== 'string') fail(path, `must be a string, got ${describe(value)}`);
  const problem = printableProblem(value, lengthMax);
  if (problem !== null) fail(path, problem);
  return value;
}

/** What keeps `value` from being 1 to lengthMax printable ASCII characters, or null. */
function printableProblem(value: string, lengthMax: number): string | null {
  if (value.length === 0) return 'must not be empty';
  if (value.length > lengthMax) return `${quote(value)} is ${value.length} characters long; at most ${lengthMax}`;
  if (!PRINTABLE_ASCII.test(value)) {
    const characters = [...value];
    const at = characters.findIndex((character) => !PRINTABLE_ASCII.test(character));
    const code = characters[at].codePointAt(0)!;
    return `${quote(value)} must be printable ASCII (no control or non-ASCII characters): character ${at + 1} is ${characterName(code)}`;
  }
  return null;
}

function isSymbol(value: unknown): value is string {
  return typeof value === 'string' && printableProblem(value, SYMBOL_LENGTH_MAX) === null;
}

function readSymbol(value: unknown, path: string): string {
  if (typeof value !== 'string') fail(path, `must be an instrument symbol (a string), got ${describe(value)}`);
  const problem = printableProblem(value, SYMBOL_LENGTH_MAX);
  if (problem !== null) fail(path, `is not a symbol: ${problem}`);
  return value;
}

/** An array of unique symbols, at most lengthMax. */
function readSymbolList(value: unknown[], path: string, lengthMax: number, what: string): string[] {
  if (value.length > lengthMax) fail(path, `has ${value.length} ${what}; at most ${lengthMax}`);
  const seen = new Map<string, number>();
  const symbols: string[] = [];
  for (let i = 0; i < value.length; i++) {
    const itemPath = `${path}[${i}]`;
    const symbol = readSymbol(value[i], itemPath);
    const earlier = seen.get(symbol);
    if (earlier !== undefined) fail(itemPath, `duplicate symbol ${quote(symbol)}; ${path}[${earlier}] has it`);
    seen.set(symbol, i);
    symbols.push(symbol);
  }
  return symbols;
}

function readFileName(value: unknown, path: string): string {
  if (typeof value !== 'string') fail(path, `must be a file name (a string), got ${describe(value)}`);
  if (value.length === 0) fail(path, 'must not be empty');
  if (value.length > FILE_NAME_LENGTH_MAX) fail(path, `is ${value.length} characters long; at most ${FILE_NAME_LENGTH_MAX}`);
  if (value.includes('\0')) fail(path, `${quote(value)} contains a NUL character, which no file name can`);
  return value;
}

// --- objects and arrays ----------------------------------------------------------------------


function refuseProtoKeys(object: JsonObject, path: string): void {
  for (const key of Object.keys(object)) {
    if (key === '__proto__' || key === 'constructor') fail(child(path, keyName(key)), `the key ${quote(key)} is not allowed`);
  }
}

interface ObjectOptions {
  /** What names the whole document when path is '' (default `scenario`). */
  root?: string;
  /** The key may be omitted (a null then gets a hint to omit it). */
  optional?: boolean;
}

const OPTIONAL: ObjectOptions = { optional: true };

/** " (omit the key for the default)" after a null where a key may be omitted. */
function nullHint(value: unknown): string {
  return value === null ? ' (omit the key for the default)' : '';
}

/**
 * Checks `value` is an object with only the `allowed` keys (any key when null; `__proto__` and
 * `constructor` never).
 */
function readObject(value: unknown, path: string, allowed: readonly string[] | null, options: ObjectOptions = {}): JsonObject {
  if (!isPlainObject(value)) {
    const hint = options.optional ? nullHint(value) : '';
    fail(path === '' ? (options.root ?? ROOT) : path, `must be an object, got ${describe(value)}${hint}`);
  }
  refuseProtoKeys(value, path);
  if (allowed !== null) {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        fail(child(path, keyName(key)), `unknown key; ${nearHint(key, allowed)}allowed keys are ${allowed.join(', ')}`);
      }
    }
  }
  return value;
}

function nearHint(key: string, allowed: readonly string[]): string {
  const lower = key.toLowerCase();
  const near = allowed.find((candidate) => candidate.toLowerCase() === lower);
  return near !== undefined ? `did you mean "${near}"? ` : '';
}

function readArray(value: unknown, path: string, lengthMax: number, what: string): unknown[] {
  if (!Array.isArray(value)) fail(path, `must be an array, got ${describe(value)}`);
  if (value.length > lengthMax) fail(path, `has ${value.length} ${what}; at most ${lengthMax}`);
  return value;
}


function required(object: JsonObject, path: string, key: string): unknown {
  const value = field(object, key);
  if (value === undefined) fail(child(path, key), 'is missing (required)');
  return value;
}

function child(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** A key as it appears in a path: as it is when it is a symbol-like name, JSON-quoted otherwise. */
function keyName(key: string): string {
  return /^[A-Za-z0-9_$][\w$\-/:]{0,39}$/.test(key) ? key : quote(key);
}

function fail(path: string, reason: string): never {
  throw new ScenarioError(path, reason);
}


/** What a JSON value is, for "got ..." in messages. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return `a string (${quote(value)})`;
  if (typeof value === 'number') return `a number (${value})`;
  if (typeof value === 'boolean') return `a boolean (${value})`;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a JavaScript ${typeof value}`;
}
