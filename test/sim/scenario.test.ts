import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateInstruments, MAJORS } from '../../src/gen/instruments.js';
import {
  checkScenarioSymbols,
  DEFAULT_ALTS_LIQUIDITY,
  DEFAULT_INSURANCE_FUND,
  DEFAULT_LIQUIDATION,
  DEFAULT_MAJORS_LIQUIDITY,
  DEFAULT_SCENARIO_PATH,
  parseScenario,
  readScenarioFile,
  ScenarioError,
  scenarioFromJsonValue,
} from '../../src/sim/scenario.js';
import { SCENARIO_STEPS_MAX, type Scenario } from '../../src/sim/scenario-types.js';

type Json = any;

/** The ScenarioError `run` throws, or a failed expectation when it throws nothing (or something else). */
function thrown(run: () => unknown): ScenarioError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return error as ScenarioError;
  }
  throw new Error('expected a ScenarioError, nothing was thrown');
}

const MINIMAL = { version: 1, steps: 10, stepSeconds: 1, prices: {} };

/** Every key given, none at its default. */
function fullScenario(): Json {
  return {
    version: 1,
    name: 'full test',
    description: 'every key, no defaults',
    steps: 240,
    stepSeconds: 15,
    seed: 42,
    book: { generate: { accounts: 1000, seed: 7, instruments: 20, profile: 'stress', isolatedShare: 0.5, nearMaintenanceShare: 0.1 } },
    prices: {
      majors: ['BTC-PERP', 'ETH-PERP'],
      shocks: [
        { instruments: ['BTC-PERP'], startStep: 0, steps: 180, move: -0.12, shape: 'exponential' },
        { instruments: 'alts', startStep: 10, steps: 40, move: { min: -0.9, max: -0.7 } },
      ],
      random: {
        volatility: { majors: 0.5, alts: 1 },
        correlation: { majors: 0.9, alts: 0.5 },
        tailDf: 5,
        drift: { majors: -0.1, alts: 0.2 },
      },
    },
    liquidity: {
      majors: { model: 'depth', depthPerPercent: '2500000.5', refillPerSecond: 0.05 },
      alts: { model: 'sqrt', y: 1, dailyVolatility: 0.1, dailyVolume: '1000000', halfLifeSeconds: 60 },
      instruments: {
        'BTC-PERP': { model: 'sqrt', dailyVolume: { overOpenInterest: 3 } },
        'ALT0001-PERP': { model: 'none' },
      },
    },
    liquidation: { mode: 'full', buffer: 0.2, feeRate: 0.01 },
    insuranceFund: '1000000.25',
    adl: { policy: 'proRata' },
  };
}

/** A key whose name JSON.parse would make an own property but plain assignment would not (`__proto__`). */
function setOwn(object: Json, key: string, value: unknown): void {
  Object.defineProperty(object, key, { value, enumerable: true, configurable: true, writable: true });
}

describe('valid scenarios', () => {
  it('fills every default into a minimal scenario', () => {
    const scenario = scenarioFromJsonValue(MINIMAL);
    expect(scenario).toEqual({
      version: 1,
      name: 'scenario',
      description: '',
      steps: 10,
      stepSeconds: 1,
      seed: 1,
      book: null,
      prices: { majors: 5, shocks: [], random: null, recorded: null },
      liquidity: { majors: DEFAULT_MAJORS_LIQUIDITY, alts: DEFAULT_ALTS_LIQUIDITY, instruments: {} },
      liquidation: { mode: 'partial', buffer: 0.1, feeRate: 0.005 },
      insuranceFund: { overOpenInterest: 0.001 },
      adl: { policy: 'queue' },
    });
    expect(Object.keys(scenario.liquidity.instruments)).toEqual([]);
  });

  it('exports the documented defaults', () => {
    expect(DEFAULT_MAJORS_LIQUIDITY).toEqual({
      model: 'sqrt',
      y: 0.7,
      dailyVolatility: 0.05,
      dailyVolume: { overOpenInterest: 2 },
      halfLifeSeconds: 300,
    });
    expect(DEFAULT_ALTS_LIQUIDITY).toEqual({ ...DEFAULT_MAJORS_LIQUIDITY, dailyVolume: { overOpenInterest: 1 } });
    expect(DEFAULT_LIQUIDATION).toEqual({ mode: 'partial', buffer: 0.1, feeRate: 0.005 });
    expect(DEFAULT_INSURANCE_FUND).toEqual({ overOpenInterest: 0.001 });
    expect(Object.isFrozen(DEFAULT_MAJORS_LIQUIDITY)).toBe(true);
  });

  it('reads a scenario with every key given', () => {
    const scenario = parseScenario(JSON.stringify(fullScenario()));
    expect(scenario).toEqual({
      version: 1,
      name: 'full test',
      description: 'every key, no defaults',
      steps: 240,
      stepSeconds: 15,
      seed: 42,
      book: { generate: { accounts: 1000, seed: 7, instruments: 20, profile: 'stress', isolatedShare: 0.5, nearMaintenanceShare: 0.1 } },
      prices: {
        majors: ['BTC-PERP', 'ETH-PERP'],
        shocks: [
          { instruments: ['BTC-PERP'], startStep: 0, steps: 180, move: -0.12, shape: 'exponential' },
          { instruments: 'alts', startStep: 10, steps: 40, move: { min: -0.9, max: -0.7 }, shape: 'linear' },
        ],
        random: {
          volatility: { majors: 0.5, alts: 1 },
          correlation: { majors: 0.9, alts: 0.5 },
          tailDf: 5,
          drift: { majors: -0.1, alts: 0.2 },
        },
        recorded: null,
      },
      liquidity: {
        majors: { model: 'depth', depthPerPercent: { micro: 2_500_000_500_000n }, refillPerSecond: 0.05 },
        alts: { model: 'sqrt', y: 1, dailyVolatility: 0.1, dailyVolume: { micro: 1_000_000_000_000n }, halfLifeSeconds: 60 },
        instruments: {
          'BTC-PERP': { model: 'sqrt', y: 0.7, dailyVolatility: 0.05, dailyVolume: { overOpenInterest: 3 }, halfLifeSeconds: 300 },
          'ALT0001-PERP': { model: 'none' },
        },
      },
      liquidation: { mode: 'full', buffer: 0.2, feeRate: 0.01 },
      insuranceFund: { micro: 1_000_000_250_000n },
      adl: { policy: 'proRata' },
    });
  });

  it('takes near-maintenance share from the profile unless given', () => {
    const stress = scenarioFromJsonValue({ ...MINIMAL, book: { generate: { accounts: 5, profile: 'stress' } } });
    expect(stress.book).toEqual({ generate: { accounts: 5, seed: 1, instruments: 100, profile: 'stress', isolatedShare: 0.3, nearMaintenanceShare: 0.02 } });
    const given = scenarioFromJsonValue({ ...MINIMAL, book: { generate: { accounts: 5, profile: 'stress', nearMaintenanceShare: 0 } } });
    expect(given.book).toEqual({ generate: { accounts: 5, seed: 1, instruments: 100, profile: 'stress', isolatedShare: 0.3, nearMaintenanceShare: 0 } });
  });

  it('fills defaults inside partly given objects', () => {
    const scenario = scenarioFromJsonValue({
      ...MINIMAL,
      book: { generate: { accounts: 5 } },
      prices: {
        majors: 0,
        shocks: [],
        random: { volatility: { majors: 0, alts: 0 }, correlation: { alts: 0.1 }, tailDf: null },
      },
      liquidity: { alts: { model: 'depth', depthPerPercent: { overOpenInterest: 0.5 } } },
      liquidation: { buffer: 0 },
      adl: {},
    });
    expect(scenario.book).toEqual({ generate: { accounts: 5, seed: 1, instruments: 100, profile: 'calibrated', isolatedShare: 0.3, nearMaintenanceShare: 0.001 } });
    expect(scenario.prices).toEqual({
      majors: 0,
      shocks: [],
      random: { volatility: { majors: 0, alts: 0 }, correlation: { majors: 0.8, alts: 0.1 }, tailDf: null, drift: { majors: 0, alts: 0 } },
      recorded: null,
    });
    expect(scenario.liquidity.majors).toEqual(DEFAULT_MAJORS_LIQUIDITY);
    expect(scenario.liquidity.alts).toEqual({ model: 'depth', depthPerPercent: { overOpenInterest: 0.5 }, refillPerSecond: 0.01 });
    expect(scenario.liquidation).toEqual({ mode: 'partial', buffer: 0, feeRate: 0.005 });
    expect(scenario.adl).toEqual({ policy: 'queue' });
  });

  it('accepts the edges of each range', () => {
    const scenario = scenarioFromJsonValue({
      ...MINIMAL,
      name: 'x'.repeat(64),
      description: '\u00e9'.repeat(1000),
      steps: SCENARIO_STEPS_MAX,
      stepSeconds: 86_400,
      seed: Number.MAX_SAFE_INTEGER,
      book: { file: 'book.bin' },
      prices: {
        majors: 1000,
        shocks: [{ instruments: 'all', startStep: SCENARIO_STEPS_MAX - 1, steps: 1, move: 10 }],
        random: { volatility: { majors: 20, alts: 20 }, tailDf: 1000, drift: { majors: -100, alts: 100 } },
      },
      liquidation: { buffer: 10, feeRate: 0.1, mode: 'full' },
      insuranceFund: '0',
      adl: { policy: 'random' },
    });
    expect(scenario.steps).toBe(SCENARIO_STEPS_MAX);
    expect(scenario.prices.shocks[0].move).toBe(10);
    expect(scenario.insuranceFund).toEqual({ micro: 0n });
    expect(scenario.book).toEqual({ file: 'book.bin' });
    expect(scenarioFromJsonValue({ ...MINIMAL, insuranceFund: '10000000000' }).insuranceFund).toEqual({ micro: 10n ** 16n });
  });

  it('accepts recorded prices with empty shocks, returning the file as written', () => {
    const scenario = scenarioFromJsonValue({ ...MINIMAL, prices: { shocks: [], recorded: { file: 'ticks/oct.csv' } } });
    expect(scenario.prices).toEqual({ majors: 5, shocks: [], random: null, recorded: { file: 'ticks/oct.csv' } });
  });
});

describe('the default scenario', () => {
  const scenario = readScenarioFile(DEFAULT_SCENARIO_PATH);

  it('lives at scenarios/october-2025.json of the package', () => {
    expect(DEFAULT_SCENARIO_PATH).toBe(join(dirname(dirname(dirname(new URL(import.meta.url).pathname))), 'scenarios', 'october-2025.json'));
  });

  it('is one hour of 15-second steps over a generated book of 1,000,000 accounts', () => {
    expect(scenario.name).toBe('october-2025');
    expect(scenario.description).toMatch(/10 October 2025/);
    expect(scenario.description).toMatch(/approximate/i);
    expect(scenario.steps * scenario.stepSeconds).toBe(3600);
    expect(scenario.stepSeconds).toBe(15);
    expect(scenario.book).toEqual({ generate: { accounts: 1_000_000, seed: 1, instruments: 100, profile: 'calibrated', isolatedShare: 0.3, nearMaintenanceShare: 0.001 } });
    expect(scenario.liquidity).toEqual({ majors: DEFAULT_MAJORS_LIQUIDITY, alts: DEFAULT_ALTS_LIQUIDITY, instruments: {} });
    expect(scenario.liquidation).toEqual(DEFAULT_LIQUIDATION);
    expect(scenario.insuranceFund).toEqual({ overOpenInterest: 0.001 });
    expect(scenario.adl).toEqual({ policy: 'queue' });
    expect(scenario.prices.recorded).toBeNull();
    expect(scenario.prices.random).not.toBeNull();
  });

  it('moves the majors as the public figures say, and the alts by 70-90%', () => {
    const { shocks, majors } = scenario.prices;
    expect(majors).toBe(5);
    const fall = (symbol: string) => shocks.find((shock) => Array.isArray(shock.instruments) && shock.instruments.includes(symbol));
    expect(fall('BTC-PERP')).toEqual({ instruments: ['BTC-PERP'], startStep: 12, steps: 180, move: -0.12, shape: 'exponential' });
    expect(fall('ETH-PERP')?.move).toBe(-0.16);
    expect(fall('SOL-PERP')?.move).toBe(-0.31);
    expect(fall('BNB-PERP')?.move).toBe(-0.2);
    expect(fall('XRP-PERP')?.move).toBe(-0.2);
    const alts = shocks.filter((shock) => shock.instruments === 'alts');
    expect(alts[0].move).toEqual({ min: -0.9, max: -0.7 });
    // Within minutes: 8 steps of 15 s.
    expect(alts[0].steps).toBe(8);
    // A partial rebound late in the hour, for majors and alts.
    const rebounds = shocks.filter((shock) => typeof shock.move === 'object' ? shock.move.min > 0 : shock.move > 0);
    expect(rebounds.map((shock) => shock.instruments).sort()).toEqual(['alts', 'majors']);
    for (const shock of rebounds) expect(shock.startStep).toBeGreaterThanOrEqual(scenario.steps / 2);
  });

  it("names the generator's majors, which a generated book has", () => {
    expect(MAJORS.map((major) => major.symbol)).toEqual(['BTC-PERP', 'ETH-PERP', 'SOL-PERP', 'BNB-PERP', 'XRP-PERP']);
    const { instruments } = generateInstruments(100, 1);
    expect(() => checkScenarioSymbols(scenario, new Set(instruments.map((instrument) => instrument.symbol)))).not.toThrow();
  });
});

const REPLACE = Symbol('replace the whole document');

/** What a mutation returns to stand for a whole new document (its other return values are ignored). */
function replaceRoot(value: unknown): { [REPLACE]: unknown } {
  return { [REPLACE]: value };
}

describe('docs/scenario.md', () => {
  const docs = readFileSync(new URL('../../docs/scenario.md', import.meta.url), 'utf8');
  const blocks = [...docs.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => match[1]);

  it('shows the default scenario as it is in the file', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    expect(blocks[0]).toBe(readFileSync(DEFAULT_SCENARIO_PATH, 'utf8'));
  });

  it('has examples the validator accepts', () => {
    for (const block of blocks) expect(parseScenario(block).version).toBe(1);
    const minimal = /## Minimal example\n\n((?: {4}.*\n)+)/.exec(docs);
    expect(minimal).not.toBeNull();
    const scenario = parseScenario(minimal![1]);
    expect(scenario.steps * scenario.stepSeconds).toBe(3600);
    expect(scenario.prices.shocks).toEqual([{ instruments: 'all', startStep: 0, steps: 60, move: -0.2, shape: 'linear' }]);
  });
});

// [what, mutation of fullScenario(), path, fragment of the reason]
const MALFORMED: [string, (s: Json) => unknown, string, string][] = [
  // top level
  ['root is an array', () => replaceRoot([]), 'scenario', 'must be an object, got an array'],
  ['root is null', () => replaceRoot(null), 'scenario', 'must be an object, got null'],
  ['version missing', (s) => delete s.version, 'version', 'is missing (required)'],
  ['version 2', (s) => (s.version = 2), 'version', '2 is not supported; this build reads version 1'],
  ['version as a string', (s) => (s.version = '1'), 'version', 'must be the JSON number 1, got a string ("1"); this build reads version 1'],
  ['unknown top-level key', (s) => (s.stepsPerSecond = 1), 'stepsPerSecond', 'unknown key; allowed keys are version, name,'],
  ['misspelt top-level key', (s) => (s.StepSeconds = 1), 'StepSeconds', 'did you mean "stepSeconds"?'],
  ['empty name', (s) => (s.name = ''), 'name', 'must not be empty'],
  ['long name', (s) => (s.name = 'n'.repeat(65)), 'name', 'is 65 characters long; at most 64'],
  ['name with a tab', (s) => (s.name = 'a\tb'), 'name', 'character 2 is U+0009 TAB'],
  ['name not a string', (s) => (s.name = 5), 'name', 'must be a string, got a number (5)'],
  ['long description', (s) => (s.description = 'd'.repeat(1001)), 'description', 'is 1001 characters long; at most 1000'],
  ['description an array', (s) => (s.description = ['a']), 'description', 'must be a string, got an array'],
  ['steps missing', (s) => delete s.steps, 'steps', 'is missing (required)'],
  ['steps 0', (s) => (s.steps = 0), 'steps', 'must be an integer from 1 to 100000, got 0'],
  ['steps fractional', (s) => (s.steps = 1.5), 'steps', 'must be an integer from 1 to 100000, got 1.5'],
  ['steps above the maximum', (s) => (s.steps = 100_001), 'steps', 'got 100001'],
  ['steps as a string', (s) => (s.steps = '240'), 'steps', 'must be an integer, got a string ("240")'],
  ['stepSeconds missing', (s) => delete s.stepSeconds, 'stepSeconds', 'is missing (required)'],
  ['stepSeconds 0', (s) => (s.stepSeconds = 0), 'stepSeconds', 'must be greater than 0 and at most 86400, got 0'],
  ['stepSeconds over a day', (s) => (s.stepSeconds = 86_401), 'stepSeconds', 'must be greater than 0 and at most 86400, got 86401'],
  ['stepSeconds a boolean', (s) => (s.stepSeconds = true), 'stepSeconds', 'must be a number, got a boolean (true)'],
  ['stepSeconds infinite', (s) => (s.stepSeconds = Infinity), 'stepSeconds', 'must be a finite number, got Infinity'],
  ['stepSeconds NaN', (s) => (s.stepSeconds = NaN), 'stepSeconds', 'must be a finite number, got NaN'],
  ['seed negative', (s) => (s.seed = -1), 'seed', 'must be an integer from 0 to 9007199254740991'],
  ['seed beyond 2^53 - 1', (s) => (s.seed = 2 ** 53), 'seed', 'got 9007199254740992'],
  // book
  ['book null', (s) => (s.book = null), 'book', 'must be an object, got null (omit the key for the default)'],
  ['book empty', (s) => (s.book = {}), 'book', 'must have one of "file" (a book file) or "generate" (generator options), got neither'],
  ['book both', (s) => (s.book.file = 'b.bin'), 'book', 'must have exactly one of "file" and "generate", got both'],
  ['book.file empty', (s) => (s.book = { file: '' }), 'book.file', 'must not be empty'],
  ['book.file a number', (s) => (s.book = { file: 5 }), 'book.file', 'must be a file name (a string), got a number (5)'],
  ['book unknown key', (s) => (s.book.path = 'x'), 'book.path', 'unknown key; allowed keys are file, generate'],
  ['generate accounts missing', (s) => delete s.book.generate.accounts, 'book.generate.accounts', 'is missing (required)'],
  ['generate accounts 0', (s) => (s.book.generate.accounts = 0), 'book.generate.accounts', 'must be an integer from 1 to 10000000, got 0'],
  ['generate accounts too many', (s) => (s.book.generate.accounts = 10_000_001), 'book.generate.accounts', 'from 1 to 10000000'],
  ['generate instruments 1001', (s) => (s.book.generate.instruments = 1001), 'book.generate.instruments', 'must be an integer from 1 to 1000'],
  ['generate isolatedShare above 1', (s) => (s.book.generate.isolatedShare = 1.5), 'book.generate.isolatedShare', 'must be from 0 to 1, got 1.5'],
  ['generate profile unknown', (s) => (s.book.generate.profile = 'gentle'), 'book.generate.profile', 'must be "calibrated" or "stress", got a string ("gentle")'],
  ['generate profile a number', (s) => (s.book.generate.profile = 1), 'book.generate.profile', 'must be "calibrated" or "stress", got a number (1)'],
  ['generate nearMaintenanceShare negative', (s) => (s.book.generate.nearMaintenanceShare = -0.1), 'book.generate.nearMaintenanceShare', 'got -0.1'],
  ['generate seed fractional', (s) => (s.book.generate.seed = 1.5), 'book.generate.seed', 'must be an integer from 0'],
  ['generate unknown key', (s) => (s.book.generate.account = 5), 'book.generate.account', 'unknown key'],
  // prices
  ['prices missing', (s) => delete s.prices, 'prices', 'is missing (required)'],
  ['prices null', (s) => (s.prices = null), 'prices', 'must be an object, got null'],
  ['shock null', (s) => (s.prices.shocks[0] = null), 'prices.shocks[0]', 'must be an object, got null'],
  ['prices unknown key', (s) => (s.prices.shock = []), 'prices.shock', 'unknown key; allowed keys are majors, shocks, random, recorded'],
  ['majors negative', (s) => (s.prices.majors = -1), 'prices.majors', 'must be an integer from 0 to 1000, got -1'],
  ['majors a string', (s) => (s.prices.majors = 'BTC-PERP'), 'prices.majors', 'must be an array of symbols or an integer from 0 to 1000'],
  ['majors duplicate', (s) => (s.prices.majors = ['BTC-PERP', 'BTC-PERP']), 'prices.majors[1]', 'duplicate symbol "BTC-PERP"; prices.majors[0] has it'],
  ['majors empty symbol', (s) => (s.prices.majors = ['']), 'prices.majors[0]', 'is not a symbol: must not be empty'],
  ['majors long symbol', (s) => (s.prices.majors = ['S'.repeat(33)]), 'prices.majors[0]', 'is 33 characters long; at most 32'],
  ['majors non-ASCII symbol', (s) => (s.prices.majors = ['BTC\u2013PERP']), 'prices.majors[0]', 'character 4 is U+2013'],
  ['majors a number in the array', (s) => (s.prices.majors = [5]), 'prices.majors[0]', 'must be an instrument symbol (a string), got a number (5)'],
  ['shocks not an array', (s) => (s.prices.shocks = {}), 'prices.shocks', 'must be an array, got an object'],
  ['shock not an object', (s) => (s.prices.shocks[1] = 3), 'prices.shocks[1]', 'must be an object, got a number (3)'],
  ['shock unknown key', (s) => (s.prices.shocks[0].start = 0), 'prices.shocks[0].start', 'unknown key'],
  ['shock instruments missing', (s) => delete s.prices.shocks[0].instruments, 'prices.shocks[0].instruments', 'is missing (required)'],
  ['shock instruments a symbol string', (s) => (s.prices.shocks[0].instruments = 'BTC-PERP'), 'prices.shocks[0].instruments', 'for one instrument write ["BTC-PERP"]'],
  ['shock instruments empty', (s) => (s.prices.shocks[0].instruments = []), 'prices.shocks[0].instruments', 'got an empty array'],
  ['shock instruments duplicate', (s) => (s.prices.shocks[0].instruments = ['A', 'B', 'A']), 'prices.shocks[0].instruments[2]', 'duplicate symbol "A"'],
  ['shock instruments a number', (s) => (s.prices.shocks[0].instruments = 3), 'prices.shocks[0].instruments', 'must be "all", "majors", "alts" or a non-empty array of symbols'],
  ['shock startStep missing', (s) => delete s.prices.shocks[0].startStep, 'prices.shocks[0].startStep', 'is missing (required)'],
  ['shock startStep at steps', (s) => (s.prices.shocks[0].startStep = 240), 'prices.shocks[0].startStep', 'must be an integer from 0 to 239'],
  ['shock startStep negative', (s) => (s.prices.shocks[1].startStep = -1), 'prices.shocks[1].startStep', 'got -1'],
  ['shock steps 0', (s) => (s.prices.shocks[0].steps = 0), 'prices.shocks[0].steps', 'must be an integer from 1 to 100000, got 0'],
  [
    'shock beyond the last step',
    (s) => (s.prices.shocks[1].startStep = 201),
    'prices.shocks[1].steps',
    "startStep 201 + steps 40 = 241 exceeds the scenario's steps, 240",
  ],
  ['shock move -1', (s) => (s.prices.shocks[0].move = -1), 'prices.shocks[0].move', 'must be greater than -1 and at most 10, got -1'],
  ['shock move above 10', (s) => (s.prices.shocks[0].move = 10.5), 'prices.shocks[0].move', 'must be greater than -1 and at most 10, got 10.5'],
  ['shock move a string', (s) => (s.prices.shocks[0].move = '-0.12'), 'prices.shocks[0].move', 'must be a number (a relative move'],
  ['shock move range without max', (s) => (s.prices.shocks[1].move = { min: -0.5 }), 'prices.shocks[1].move.max', 'is missing (required)'],
  ['shock move range reversed', (s) => (s.prices.shocks[1].move = { min: -0.5, max: -0.7 }), 'prices.shocks[1].move.max', 'must be at least min (-0.5), got -0.7'],
  ['shock move range min out of range', (s) => (s.prices.shocks[1].move.min = -2), 'prices.shocks[1].move.min', 'must be greater than -1'],
  ['shock move range unknown key', (s) => (s.prices.shocks[1].move.mid = 0), 'prices.shocks[1].move.mid', 'unknown key; allowed keys are min, max'],
  ['shock shape unknown', (s) => (s.prices.shocks[0].shape = 'log'), 'prices.shocks[0].shape', 'must be "linear" or "exponential", got a string ("log")'],
  ['random null', (s) => (s.prices.random = null), 'prices.random', 'must be an object, got null (omit the key for the default)'],
  ['random volatility null', (s) => (s.prices.random.volatility = null), 'prices.random.volatility', 'must be an object, got null'],
  ['random volatility missing', (s) => delete s.prices.random.volatility, 'prices.random.volatility', 'is missing (required)'],
  ['random volatility.alts missing', (s) => delete s.prices.random.volatility.alts, 'prices.random.volatility.alts', 'is missing (required)'],
  ['random volatility above 20', (s) => (s.prices.random.volatility.majors = 21), 'prices.random.volatility.majors', 'must be from 0 to 20, got 21'],
  ['random correlation above 1', (s) => (s.prices.random.correlation.majors = 1.1), 'prices.random.correlation.majors', 'must be from 0 to 1, got 1.1'],
  ['random correlation unknown group', (s) => (s.prices.random.correlation.others = 0.5), 'prices.random.correlation.others', 'allowed keys are majors, alts'],
  ['random tailDf 2', (s) => (s.prices.random.tailDf = 2), 'prices.random.tailDf', 'must be greater than 2 and at most 1000, got 2'],
  ['random tailDf a string', (s) => (s.prices.random.tailDf = '4'), 'prices.random.tailDf', 'must be a number or null (normal draws), got a string ("4")'],
  ['random drift out of range', (s) => (s.prices.random.drift.alts = 101), 'prices.random.drift.alts', 'must be from -100 to 100, got 101'],
  ['recorded with shocks', (s) => (s.prices.recorded = { file: 'p.csv' }), 'prices.recorded', 'cannot be combined with shocks (prices.shocks has 2)'],
  [
    'recorded with random',
    (s) => {
      s.prices.shocks = [];
      s.prices.recorded = { file: 'p.csv' };
    },
    'prices.recorded',
    'cannot be combined with prices.random',
  ],
  ['recorded file missing', (s) => (s.prices.recorded = {}), 'prices.recorded.file', 'is missing (required)'],
  ['recorded a string', (s) => (s.prices.recorded = 'p.csv'), 'prices.recorded', 'must be an object, got a string ("p.csv")'],
  ['recorded file with a NUL', (s) => (s.prices.recorded = { file: 'a\u0000b' }), 'prices.recorded.file', 'contains a NUL character'],
  // liquidity
  ['liquidity null', (s) => (s.liquidity = null), 'liquidity', 'must be an object, got null (omit the key for the default)'],
  ['liquidity.majors null', (s) => (s.liquidity.majors = null), 'liquidity.majors', 'must be an object (a liquidity model), got null (omit the key for the default)'],
  ['book.generate null', (s) => (s.book.generate = null), 'book.generate', 'must be an object, got null'],
  ['liquidity misspelt key', (s) => (s.liquidity.Majors = {}), 'liquidity.Majors', 'did you mean "majors"?'],
  ['model missing', (s) => delete s.liquidity.majors.model, 'liquidity.majors.model', 'is missing (required)'],
  ['model unknown', (s) => (s.liquidity.majors.model = 'linear'), 'liquidity.majors.model', 'must be "sqrt", "depth" or "none", got a string ("linear")'],
  ['model a string', (s) => (s.liquidity.alts = 'sqrt'), 'liquidity.alts', 'must be an object (a liquidity model), got a string ("sqrt")'],
  ['depth key on sqrt', (s) => (s.liquidity.alts.depthPerPercent = '1'), 'liquidity.alts.depthPerPercent', 'is a key of the "depth" model, not of "sqrt"'],
  ['unknown key on sqrt', (s) => (s.liquidity.alts.volume = '1'), 'liquidity.alts.volume', 'unknown key; a "sqrt" model takes model, y,'],
  ['sqrt y 0', (s) => (s.liquidity.alts.y = 0), 'liquidity.alts.y', 'must be greater than 0 and at most 10, got 0'],
  ['sqrt dailyVolatility above 5', (s) => (s.liquidity.alts.dailyVolatility = 6), 'liquidity.alts.dailyVolatility', 'must be greater than 0 and at most 5'],
  ['sqrt halfLifeSeconds 0', (s) => (s.liquidity.alts.halfLifeSeconds = 0), 'liquidity.alts.halfLifeSeconds', 'must be greater than 0, got 0'],
  ['sqrt dailyVolume missing', (s) => delete s.liquidity.alts.dailyVolume, 'liquidity.alts.dailyVolume', 'is missing (required)'],
  ['dailyVolume a JSON number', (s) => (s.liquidity.alts.dailyVolume = 1_000_000), 'liquidity.alts.dailyVolume', 'money is written as a decimal string'],
  ['dailyVolume zero', (s) => (s.liquidity.alts.dailyVolume = '0'), 'liquidity.alts.dailyVolume', 'must be above 0, got "0"'],
  ['dailyVolume negative', (s) => (s.liquidity.alts.dailyVolume = '-5'), 'liquidity.alts.dailyVolume', 'must not be negative, got "-5"'],
  ['dailyVolume 7 decimals', (s) => (s.liquidity.alts.dailyVolume = '1.1234567'), 'liquidity.alts.dailyVolume', 'has more than 6 decimals'],
  ['dailyVolume exponent', (s) => (s.liquidity.alts.dailyVolume = '1e6'), 'liquidity.alts.dailyVolume', '"1e6" is not a decimal number'],
  ['dailyVolume too large', (s) => (s.liquidity.alts.dailyVolume = '1000000000000001'), 'liquidity.alts.dailyVolume', 'is above the largest, 1000000000000000'],
  ['dailyVolume share 0', (s) => (s.liquidity.alts.dailyVolume = { overOpenInterest: 0 }), 'liquidity.alts.dailyVolume.overOpenInterest', 'must be greater than 0 and at most 1000, got 0'],
  ['dailyVolume share too large', (s) => (s.liquidity.alts.dailyVolume = { overOpenInterest: 1001 }), 'liquidity.alts.dailyVolume.overOpenInterest', 'got 1001'],
  ['dailyVolume unknown key', (s) => (s.liquidity.alts.dailyVolume = { ratio: 1 }), 'liquidity.alts.dailyVolume.ratio', 'unknown key; allowed keys are overOpenInterest'],
  ['depthPerPercent missing', (s) => delete s.liquidity.majors.depthPerPercent, 'liquidity.majors.depthPerPercent', 'is missing (required)'],
  ['depth refill above 1', (s) => (s.liquidity.majors.refillPerSecond = 1.5), 'liquidity.majors.refillPerSecond', 'must be greater than 0 and at most 1, got 1.5'],
  ['sqrt key on none', (s) => (s.liquidity.instruments['ALT0001-PERP'].y = 1), 'liquidity.instruments.ALT0001-PERP.y', 'is a key of the "sqrt" model, not of "none"'],
  [
    'instrument model bad volume',
    (s) => (s.liquidity.instruments['BTC-PERP'].dailyVolume = 5),
    'liquidity.instruments.BTC-PERP.dailyVolume',
    'money is written as a decimal string',
  ],
  ['instrument model null', (s) => (s.liquidity.instruments['BTC-PERP'] = null), 'liquidity.instruments.BTC-PERP', 'must be an object (a liquidity model), got null'],
  ['instrument key empty', (s) => (s.liquidity.instruments[''] = { model: 'none' }), 'liquidity.instruments.""', 'is not a symbol'],
  ['instrument key too long', (s) => (s.liquidity.instruments['K'.repeat(33)] = { model: 'none' }), `liquidity.instruments.${'K'.repeat(33)}`, 'at most 32'],
  ['instrument key with a dot', (s) => (s.liquidity.instruments['A.B\u0001'] = { model: 'none' }), 'liquidity.instruments."A.B\\u0001"', 'character 4 is U+0001'],
  ['instruments an array', (s) => (s.liquidity.instruments = []), 'liquidity.instruments', 'must be an object, got an array'],
  // liquidation, insurance fund, ADL
  ['liquidation mode unknown', (s) => (s.liquidation.mode = 'half'), 'liquidation.mode', 'must be "full" or "partial", got a string ("half")'],
  ['liquidation buffer above 10', (s) => (s.liquidation.buffer = 11), 'liquidation.buffer', 'must be from 0 to 10, got 11'],
  ['liquidation feeRate above 0.1', (s) => (s.liquidation.feeRate = 0.2), 'liquidation.feeRate', 'must be from 0 to 0.1, got 0.2'],
  ['liquidation feeRate a string', (s) => (s.liquidation.feeRate = '0.005'), 'liquidation.feeRate', 'must be a number, got a string ("0.005")'],
  ['liquidation unknown key', (s) => (s.liquidation.fee = 0.1), 'liquidation.fee', 'allowed keys are mode, buffer, feeRate'],
  ['insuranceFund a JSON number', (s) => (s.insuranceFund = 1000), 'insuranceFund', 'money is written as a decimal string, as in book files'],
  ['insuranceFund above the balance range', (s) => (s.insuranceFund = '10000000000.000001'), 'insuranceFund', 'is above the largest, 10000000000'],
  ['insuranceFund a boolean', (s) => (s.insuranceFund = true), 'insuranceFund', 'must be a decimal string of quote or an object { "overOpenInterest": x }'],
  ['insuranceFund share negative', (s) => (s.insuranceFund = { overOpenInterest: -0.1 }), 'insuranceFund.overOpenInterest', 'must be from 0 to 1000, got -0.1'],
  ['insuranceFund null', (s) => (s.insuranceFund = null), 'insuranceFund', 'got null'],
  ['adl policy unknown', (s) => (s.adl.policy = 'fifo'), 'adl.policy', 'must be "queue", "proRata" or "random", got a string ("fifo")'],
  ['adl null', (s) => (s.adl = null), 'adl', 'must be an object, got null'],
  // keys that would reach the prototype
  ['__proto__ at the top', (s) => setOwn(s, '__proto__', {}), '__proto__', 'the key "__proto__" is not allowed'],
  ['constructor in prices', (s) => setOwn(s.prices, 'constructor', 1), 'prices.constructor', 'the key "constructor" is not allowed'],
  ['__proto__ among instruments', (s) => setOwn(s.liquidity.instruments, '__proto__', { model: 'none' }), 'liquidity.instruments.__proto__', 'is not allowed'],
  ['__proto__ in a model', (s) => setOwn(s.liquidity.majors, '__proto__', 1), 'liquidity.majors.__proto__', 'is not allowed'],
];

describe('malformed scenarios', () => {
  it('has many distinct cases', () => {
    expect(MALFORMED.length).toBeGreaterThanOrEqual(60);
    expect(new Set(MALFORMED.map(([what]) => what)).size).toBe(MALFORMED.length);
  });

  it('hints at omitting only keys that may be omitted', () => {
    const cases: [(s: Json) => unknown, boolean][] = [
      [(s) => (s.prices = null), false],
      [(s) => (s.prices.shocks[0] = null), false],
      [(s) => (s.prices.random.volatility = null), false],
      [(s) => (s.book.generate = null), false],
      [(s) => (s.liquidity.instruments['BTC-PERP'] = null), false],
      [(s) => (s.prices.random.drift = null), true],
      [(s) => (s.liquidation = null), true],
      [(s) => (s.adl = null), true],
    ];
    for (const [mutate, hinted] of cases) {
      const scenario = fullScenario();
      mutate(scenario);
      expect(thrown(() => scenarioFromJsonValue(scenario)).reason.endsWith('(omit the key for the default)')).toBe(hinted);
    }
  });

  it.each(MALFORMED)('%s', (_what, mutate, path, reason) => {
    const scenario = fullScenario();
    const replaced = mutate(scenario);
    const value = typeof replaced === 'object' && replaced !== null && REPLACE in replaced ? replaced[REPLACE] : scenario;
    const error = thrown(() => scenarioFromJsonValue(value));
    expect(error.path).toBe(path);
    expect(error.reason).toContain(reason);
    expect(error.message).toBe(`${path}: ${error.reason}`);
    expect(error.message).not.toMatch(/[\n\r]/);
    expect(error.message).toMatch(/^[\x20-\x7e]*$/);
  });

  it('reports the first problem in document order', () => {
    const scenario = fullScenario();
    scenario.steps = 0;
    scenario.prices.shocks[0].move = 'x';
    scenario.adl.policy = 'x';
    expect(thrown(() => scenarioFromJsonValue(scenario)).path).toBe('steps');
  });

  it('checks unknown keys before the fields of the same object', () => {
    const scenario = fullScenario();
    scenario.prices.shocks[0].move = 'x';
    scenario.prices.shocks[0].extra = 1;
    expect(thrown(() => scenarioFromJsonValue(scenario)).path).toBe('prices.shocks[0].extra');
  });
});

describe('JSON text', () => {
  it('gives the line and column of a syntax error', () => {
    const error = thrown(() => parseScenario('{\n  "version": 1,\n  "steps": 10,,\n}'));
    expect(error.path).toBe('scenario');
    expect(error.reason).toBe("is not valid JSON: line 3, column 15: expected a property name in double quotes, got ','");
    expect(error.message).not.toContain('\n');
  });

  it('names the source of a syntax error when given', () => {
    const error = thrown(() => parseScenario('{"version": 1', 'my.json'));
    expect(error.message).toBe('my.json: is not valid JSON: line 1, column 14: unexpected end of input');
  });

  it('reports an empty text and a trailing comma', () => {
    expect(thrown(() => parseScenario('')).reason).toBe('is not valid JSON: line 1, column 1: unexpected end of input');
    expect(thrown(() => parseScenario('{"a": [1, 2,]}')).reason).toContain('line 1, column 13');
  });

  it('refuses a number JSON.parse makes infinite', () => {
    const error = thrown(() => parseScenario('{"version": 1, "steps": 10, "stepSeconds": 1e400, "prices": {}}'));
    expect(error.message).toBe('stepSeconds: must be a finite number, got Infinity');
  });

  it('refuses __proto__ and constructor keys as JSON.parse reads them', () => {
    const proto = thrown(() => parseScenario('{"version": 1, "steps": 10, "stepSeconds": 1, "prices": {}, "__proto__": {"x": 1}}'));
    expect(proto.message).toBe('__proto__: the key "__proto__" is not allowed');
    const nested = thrown(() => parseScenario('{"version": 1, "steps": 10, "stepSeconds": 1, "prices": {"random": {"constructor": 1}}}'));
    expect(nested.path).toBe('prices.random.constructor');
  });

  it('quotes odd keys and escapes hidden characters in messages', () => {
    const error = thrown(() => parseScenario('{"version": 1, "bad key\\u2028": 1}'));
    expect(error.path).toBe('"bad key\\u2028"');
    expect(error.message).toMatch(/^[\x20-\x7e]*$/);
  });

  it('refuses null where a value is optional but not nullable, and accepts it for tailDf', () => {
    expect(thrown(() => parseScenario('{"version": 1, "steps": 1, "stepSeconds": 1, "prices": {}, "name": null}')).message).toBe(
      'name: must be a string, got null',
    );
    const scenario = parseScenario('{"version": 1, "steps": 1, "stepSeconds": 1, "prices": {"random": {"volatility": {"majors": 1, "alts": 1}, "tailDf": null}}}');
    expect(scenario.prices.random?.tailDf).toBeNull();
  });
});

describe('checkScenarioSymbols', () => {
  const book = new Set(['BTC-PERP', 'ETH-PERP', 'ALT0001-PERP']);
  const withPrices = (prices: Json, liquidity?: Json): Scenario =>
    scenarioFromJsonValue({ ...MINIMAL, prices, ...(liquidity === undefined ? {} : { liquidity }) });

  it('accepts a scenario whose symbols are all in the book', () => {
    expect(() => checkScenarioSymbols(scenarioFromJsonValue(fullScenario()), book)).not.toThrow();
  });

  it('names an unknown major', () => {
    const error = thrown(() => checkScenarioSymbols(withPrices({ majors: ['BTC-PERP', 'DOGE-PERP'] }), book));
    expect(error.path).toBe('prices.majors[1]');
    expect(error.reason).toBe('unknown instrument "DOGE-PERP"; the book\'s instruments are "BTC-PERP", "ETH-PERP", "ALT0001-PERP"');
  });

  it('names an unknown symbol of a shock', () => {
    const scenario = withPrices({ majors: 1, shocks: [{ instruments: 'all', startStep: 0, steps: 1, move: 0.1 }, { instruments: ['ETH-PERP', 'X'], startStep: 0, steps: 1, move: 0.1 }] });
    const error = thrown(() => checkScenarioSymbols(scenario, book));
    expect(error.path).toBe('prices.shocks[1].instruments[1]');
    expect(error.reason).toContain('unknown instrument "X"');
  });

  it('names an unknown symbol of liquidity.instruments', () => {
    const error = thrown(() => checkScenarioSymbols(withPrices({ majors: 0 }, { instruments: { 'SOL-PERP': { model: 'none' } } }), book));
    expect(error.message).toMatch(/^liquidity\.instruments\.SOL-PERP: unknown instrument "SOL-PERP"/);
  });

  it('refuses more numeric majors than the book has instruments', () => {
    expect(thrown(() => checkScenarioSymbols(withPrices({}), book)).message).toBe('prices.majors: is 5, but the book has 3 instruments');
    expect(() => checkScenarioSymbols(withPrices({ majors: 3 }), book)).not.toThrow();
    expect(thrown(() => checkScenarioSymbols(withPrices({ majors: 3 }), book, 2)).reason).toBe('is 3, but the book has 2 instruments');
  });

  it('says when the book has no instruments', () => {
    expect(thrown(() => checkScenarioSymbols(withPrices({ majors: ['A'] }), new Set())).reason).toBe('unknown instrument "A"; the book has no instruments');
  });
});

describe('readScenarioFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scenario-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the path and the system reason for a missing file', () => {
    const path = join(dir, 'missing.json');
    const error = thrown(() => readScenarioFile(path));
    expect(error.path).toBe(path);
    expect(error.message).toBe(`${path}: cannot read: ENOENT: no such file or directory`);
  });

  it('refuses a directory', () => {
    expect(thrown(() => readScenarioFile(dir)).message).toBe(`${dir}: cannot read: is a directory`);
  });

  it('refuses a FIFO without waiting for a writer', () => {
    const path = join(dir, 'fifo');
    execFileSync('mkfifo', [path]);
    expect(thrown(() => readScenarioFile(path)).message).toBe(`${path}: cannot read: not a regular file`);
  });

  it('refuses a file that is not UTF-8', () => {
    const path = join(dir, 'latin1.json');
    writeFileSync(path, Buffer.from([0x7b, 0xe9, 0x7d]));
    expect(thrown(() => readScenarioFile(path)).message).toBe(`${path}: is not UTF-8 text`);
  });

  it('names the file in a syntax error', () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{\n  "version": 1\n  "steps": 1\n}\n');
    expect(thrown(() => readScenarioFile(path)).message).toBe(`${path}: is not valid JSON: line 3, column 3: expected ',' or '}' after a property value, got '"'`);
  });

  it("resolves relative file names against the scenario file's directory", () => {
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    const path = join(sub, 'replay.json');
    writeFileSync(path, JSON.stringify({ ...MINIMAL, book: { file: '../books/book.bin' }, prices: { recorded: { file: 'ticks.csv' } } }));
    const scenario = readScenarioFile(path);
    expect(scenario.book).toEqual({ file: join(dir, 'books', 'book.bin') });
    expect(scenario.prices.recorded).toEqual({ file: join(sub, 'ticks.csv') });
  });

  it('keeps absolute file names and leaves a generated book alone', () => {
    const path = join(dir, 'absolute.json');
    writeFileSync(path, JSON.stringify({ ...MINIMAL, book: { file: '/data/book.bin' } }));
    expect(readScenarioFile(path).book).toEqual({ file: '/data/book.bin' });
    writeFileSync(path, JSON.stringify({ ...MINIMAL, book: { generate: { accounts: 3 } } }));
    expect(readScenarioFile(path).book).toEqual({ generate: { accounts: 3, seed: 1, instruments: 100, profile: 'calibrated', isolatedShare: 0.3, nearMaintenanceShare: 0.001 } });
  });

  it('reports a content error with the document path', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify({ ...MINIMAL, steps: 0 }));
    expect(thrown(() => readScenarioFile(path)).message).toBe('steps: must be an integer from 1 to 100000, got 0');
  });
});
