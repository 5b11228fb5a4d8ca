// `liq serve`'s configuration: a JSON file (--config) and the environment, validated with errors
// that name the field, then filled in with the defaults (docs/serve.md, "Configuration").
import { InputError } from '../io/errors.js';
import { readRegularText } from '../io/input.js';
import { describeJson as describe } from '../io/json-object.js';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { LiquidationRule } from '../account/liquidation.js';
import type { FsyncPolicy } from './journal.js';
import type { Role } from './protocol.js';

export const ROLES: readonly Role[] = ['publisher', 'consumer', 'observer'];
/** The environment variables a token may come from, one per role (a comma-separated list). */
export const TOKEN_ENV: Readonly<Record<Role, string>> = { publisher: 'LIQ_PUBLISHER_TOKEN', consumer: 'LIQ_CONSUMER_TOKEN', observer: 'LIQ_OBSERVER_TOKEN' };
/** A token: 16 to 256 printable ASCII characters without spaces. */
export const TOKEN_LENGTH_MIN = 16;
export const TOKEN_LENGTH_MAX = 256;
export const CONFIG_FILE_BYTES_MAX = 1 << 20;

export type WorstPrice = { kind: 'bankruptcy' } | { kind: 'slippage'; ppm: bigint };

export interface ServeConfig {
  /** The tokens of each role (their SHA-256 digests, compared in constant time). */
  tokens: Record<Role, string[]>;
  /** Whether the tokens were generated at start-up because none was given (the CLI prints them). */
  generatedTokens: boolean;
  liquidation: LiquidationRule;
  orders: {
    /** The order's worst acceptable price: the position's bankruptcy price, or the mark moved against the order by a share. */
    worstPrice: WorstPrice;
    /** A scope still failing with no fill and no change is ordered again after this long. */
    retryMs: number;
  };
  journal: { fsync: FsyncPolicy; segmentBytes: number; retainSegments: number };
  consumers: {
    /** A consumer whose socket holds more than this unsent is disconnected (it resumes by sequence). */
    bufferBytes: number;
    heartbeatMs: number;
  };
  observers: { summaryMs: number; pricesMs: number };
  evaluation: {
    /**
     * The incremental evaluator's heaps may hold this many entries per account before its index is
     * rebuilt (IncrementalOptions.heapLimit; 12 bytes an entry). Updates re-evaluate accounts at
     * random, each adding about one entry a position; a rebuild evaluates the whole book again.
     */
    heapEntriesPerAccount: number;
  };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
}

export class ConfigError extends InputError {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

export const DEFAULT_CONFIG: Omit<ServeConfig, 'tokens' | 'generatedTokens'> = {
  liquidation: { mode: 'partial', bufferPpm: 100_000n, feePpm: 5_000n },
  orders: { worstPrice: { kind: 'bankruptcy' }, retryMs: 5_000 },
  journal: { fsync: { mode: 'group', windowMs: 0 }, segmentBytes: 64 << 20, retainSegments: 0 },
  consumers: { bufferBytes: 8 << 20, heartbeatMs: 1_000 },
  observers: { summaryMs: 1_000, pricesMs: 100 },
  evaluation: { heapEntriesPerAccount: 1 },
  log: { level: 'info' },
};

type Json = Record<string, unknown>;

/** Reads --config (if any) and the environment. A role with no token from either cannot connect; with none at all, tokens are generated. */
export function loadServeConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): ServeConfig {
  let root: Json = {};
  if (file !== undefined) {
    // A regular file, its size checked before it is read, strict UTF-8 (src/io/input.ts).
    const text = readRegularText(file, CONFIG_FILE_BYTES_MAX, 'a configuration');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(file, `is not valid JSON: ${(error as Error).message}`);
    }
    root = object(value, file, ['tokens', 'liquidation', 'orders', 'journal', 'consumers', 'observers', 'evaluation', 'log']);
  }
  const where = file ?? 'config';
  const tokens: Record<Role, string[]> = { publisher: [], consumer: [], observer: [] };
  if (root.tokens !== undefined) {
    const t = object(root.tokens, `${where}: tokens`, ROLES);
    for (const role of ROLES) if (t[role] !== undefined) tokens[role].push(...tokenList(t[role], `${where}: tokens.${role}`));
  }
  for (const role of ROLES) {
    const text = env[TOKEN_ENV[role]];
    if (text !== undefined && text !== '') tokens[role].push(...text.split(',').map((token, k) => checkToken(token, `${TOKEN_ENV[role]}[${k}]`)));
  }
  let generatedTokens = false;
  if (ROLES.every((role) => tokens[role].length === 0)) {
    for (const role of ROLES) tokens[role].push(randomBytes(18).toString('base64url'));
    generatedTokens = true;
  }
  const seen = new Map<string, Role>();
  for (const role of ROLES) {
    for (const token of tokens[role]) {
      const other = seen.get(token);
      if (other !== undefined && other !== role) throw new ConfigError(`${where}: tokens`, `one token is given to both ${other} and ${role}; a token has one role`);
      seen.set(token, role);
    }
  }

  const config: ServeConfig = { tokens, generatedTokens, ...structuredClone(DEFAULT_CONFIG) };
  if (root.liquidation !== undefined) {
    const p = `${where}: liquidation`;
    const l = object(root.liquidation, p, ['mode', 'buffer', 'feeRate']);
    if (l.mode !== undefined) {
      if (l.mode !== 'full' && l.mode !== 'partial') throw new ConfigError(`${p}.mode`, `must be "full" or "partial", got ${describe(l.mode)}`);
      config.liquidation.mode = l.mode;
    }
    if (l.buffer !== undefined) config.liquidation.bufferPpm = ppm(l.buffer, `${p}.buffer`, 0, 10);
    if (l.feeRate !== undefined) config.liquidation.feePpm = ppm(l.feeRate, `${p}.feeRate`, 0, 0.1);
  }
  if (root.orders !== undefined) {
    const p = `${where}: orders`;
    const o = object(root.orders, p, ['worstPrice', 'slippage', 'retryMs']);
    if (o.worstPrice !== undefined) {
      if (o.worstPrice === 'bankruptcy') config.orders.worstPrice = { kind: 'bankruptcy' };
      else if (o.worstPrice === 'slippage') {
        if (o.slippage === undefined) throw new ConfigError(`${p}.slippage`, 'is missing (required with worstPrice "slippage")');
        config.orders.worstPrice = { kind: 'slippage', ppm: ppm(o.slippage, `${p}.slippage`, 0, 0.5) };
      } else throw new ConfigError(`${p}.worstPrice`, `must be "bankruptcy" or "slippage", got ${describe(o.worstPrice)}`);
    } else if (o.slippage !== undefined) throw new ConfigError(`${p}.slippage`, 'is only read with worstPrice "slippage"');
    if (o.retryMs !== undefined) config.orders.retryMs = integer(o.retryMs, `${p}.retryMs`, 1, 86_400_000);
  }
  if (root.journal !== undefined) {
    const p = `${where}: journal`;
    const j = object(root.journal, p, ['fsync', 'groupMs', 'segmentBytes', 'retainSegments']);
    if (j.fsync !== undefined) {
      if (j.fsync === 'always') config.journal.fsync = { mode: 'always' };
      else if (j.fsync === 'none') config.journal.fsync = { mode: 'none' };
      else if (j.fsync === 'group') config.journal.fsync = { mode: 'group', windowMs: j.groupMs === undefined ? 0 : integer(j.groupMs, `${p}.groupMs`, 0, 1_000) };
      else throw new ConfigError(`${p}.fsync`, `must be "always", "group" or "none", got ${describe(j.fsync)}`);
    }
    if (j.groupMs !== undefined && j.fsync !== 'group') throw new ConfigError(`${p}.groupMs`, 'is only read with fsync "group"');
    if (j.segmentBytes !== undefined) config.journal.segmentBytes = integer(j.segmentBytes, `${p}.segmentBytes`, 1 << 16, 1 << 30);
    if (j.retainSegments !== undefined) config.journal.retainSegments = integer(j.retainSegments, `${p}.retainSegments`, 0, 1_000_000);
  }
  if (root.consumers !== undefined) {
    const p = `${where}: consumers`;
    const c = object(root.consumers, p, ['bufferBytes', 'heartbeatMs']);
    if (c.bufferBytes !== undefined) config.consumers.bufferBytes = integer(c.bufferBytes, `${p}.bufferBytes`, 1 << 12, 1 << 30);
    if (c.heartbeatMs !== undefined) config.consumers.heartbeatMs = integer(c.heartbeatMs, `${p}.heartbeatMs`, 10, 3_600_000);
  }
  if (root.observers !== undefined) {
    const p = `${where}: observers`;
    const o = object(root.observers, p, ['summaryMs', 'pricesMs']);
    if (o.summaryMs !== undefined) config.observers.summaryMs = integer(o.summaryMs, `${p}.summaryMs`, 10, 3_600_000);
    if (o.pricesMs !== undefined) config.observers.pricesMs = integer(o.pricesMs, `${p}.pricesMs`, 10, 3_600_000);
  }
  if (root.evaluation !== undefined) {
    const p = `${where}: evaluation`;
    const e = object(root.evaluation, p, ['heapEntriesPerAccount']);
    if (e.heapEntriesPerAccount !== undefined) config.evaluation.heapEntriesPerAccount = number(e.heapEntriesPerAccount, `${p}.heapEntriesPerAccount`, 0.01, 16);
  }
  if (root.log !== undefined) {
    const p = `${where}: log`;
    const l = object(root.log, p, ['level']);
    const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
    if (l.level !== undefined) {
      if (!levels.includes(l.level as (typeof levels)[number])) throw new ConfigError(`${p}.level`, `must be one of ${levels.join(', ')}, got ${describe(l.level)}`);
      config.log.level = l.level as ServeConfig['log']['level'];
    }
  }
  return config;
}

/** Which role a presented token has, compared in constant time against every configured token (digests, so lengths never leak). */
export class TokenTable {
  private readonly digests: { digest: Buffer; role: Role }[] = [];

  constructor(tokens: Record<Role, string[]>) {
    for (const role of ROLES) for (const token of tokens[role]) this.digests.push({ digest: sha256(token), role });
  }

  roleOf(token: string): Role | null {
    const presented = sha256(token);
    let found: Role | null = null;
    // Every digest is compared, whichever matches: the time does not depend on which one.
    for (const { digest, role } of this.digests) if (timingSafeEqual(digest, presented)) found = role;
    return found;
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function object(value: unknown, path: string, allowed: readonly string[]): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(path, `must be an object, got ${describe(value)}`);
  for (const key of Object.keys(value)) if (!allowed.includes(key)) throw new ConfigError(`${path}.${key}`, `unknown key; allowed keys are ${allowed.join(', ')}`);
  return value as Json;
}

function tokenList(value: unknown, path: string): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list)) throw new ConfigError(path, `must be a token or a list of tokens, got ${describe(value)}`);
  return list.map((token, k) => checkToken(token, `${path}[${k}]`));
}

function checkToken(token: unknown, path: string): string {
  if (typeof token !== 'string') throw new ConfigError(path, `must be a string, got ${describe(token)}`);
  if (token.length < TOKEN_LENGTH_MIN || token.length > TOKEN_LENGTH_MAX || !/^[\x21-\x7e]+$/.test(token)) {
    throw new ConfigError(path, `must be ${TOKEN_LENGTH_MIN} to ${TOKEN_LENGTH_MAX} printable ASCII characters without spaces (got ${token.length} characters)`);
  }
  return token;
}

function integer(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new ConfigError(path, `must be an integer from ${min} to ${max}, got ${describe(value)}`);
  return value;
}

function number(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) throw new ConfigError(path, `must be a number from ${min} to ${max}, got ${describe(value)}`);
  return value;
}

function ppm(value: unknown, path: string, min: number, max: number): bigint {
  return BigInt(Math.round(number(value, path, min, max) * 1e6));
}

