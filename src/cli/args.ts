// The one argument parser of every `liq` command: node:util parseArgs under a declared spec, with
// the rules docs/cli.md states. `--name value` and `--name=value` both work; an option given twice
// is refused; numbers are plain decimal (no sign, hex, exponent, blanks or empty string) within
// their declared range; `--help` (or `-h`) anywhere prints the command's help. A usage error is one
// line that points to the command's --help.
import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';

/** A command used wrongly: exit 2, one line naming the command and pointing to its --help. */
export class UsageError extends Error {
  override readonly name = 'UsageError';

  constructor(
    readonly command: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

export type OptionSpec =
  | { kind: 'flag'; help: string }
  | { kind: 'integer'; min: number; max: number; default?: number; defaultText?: string; required?: boolean; value: string; help: string }
  | { kind: 'share'; default?: number; defaultText?: string; value: string; help: string }
  | { kind: 'choice'; choices: readonly string[]; default?: string; required?: boolean; value: string; help: string }
  | { kind: 'string'; default?: string; value: string; help: string };

export interface CommandSpec {
  name: string;
  /** Positional arguments, by name: each exactly once (`BOOK`), or none. */
  positionals: string[];
  options: Record<string, OptionSpec>;
  /** What the command does, a few lines, for its help. */
  summary: string;
  /** Lines after the options in the help (formats, exit codes), optional. */
  notes?: string;
}

export type OptionValues = Record<string, number | string | boolean | undefined>;

export interface ParsedCommand {
  positionals: Record<string, string>;
  /** Each positional's words: one, or for a last `NAME...` every word it took. */
  lists: Record<string, string[]>;
  values: OptionValues;
  /** --help was given: print helpText and exit 0, nothing else parsed. */
  help: boolean;
}

/** The most workers `--threads` takes: four per core of this machine (docs/cli.md). */
export function threadsMax(): number {
  return 4 * availableParallelism();
}

const DECIMAL = /^[0-9]+$/;
const SHARE = /^[0-9]+(\.[0-9]+)?$/;

/** Parses `argv` (the words after the command's name) against `spec`. Throws UsageError. */
export function parseCommand(spec: CommandSpec, argv: readonly string[]): ParsedCommand {
  const fail = (message: string): never => {
    throw new UsageError(spec.name, message);
  };
  // --help wins over everything else on the line, as in most tools: a user asking for help gets it.
  const end = argv.indexOf('--');
  const before = end < 0 ? argv : argv.slice(0, end);
  if (before.includes('--help') || before.includes('-h')) return { positionals: {}, lists: {}, values: {}, help: true };

  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const [name, option] of Object.entries(spec.options)) options[name] = { type: option.kind === 'flag' ? 'boolean' : 'string' };
  let tokens;
  try {
    ({ tokens } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true, tokens: true }));
  } catch (error) {
    fail(parseArgsMessage(error as Error & { code?: string }, argv, spec));
  }
  const given = new Map<string, string | undefined>();
  const positionals: string[] = [];
  for (const token of tokens!) {
    if (token.kind === 'positional') positionals.push(token.value);
    else if (token.kind === 'option') {
      if (given.has(token.name)) fail(`--${token.name} is given twice`);
      given.set(token.name, token.value);
    }
  }
  // A last positional named `NAME...` takes one or more words (ParsedCommand.lists).
  const variadic = spec.positionals.length > 0 && spec.positionals[spec.positionals.length - 1].endsWith('...');
  if (variadic ? positionals.length < spec.positionals.length : positionals.length !== spec.positionals.length) {
    const wanted = spec.positionals.length === 0 ? 'no arguments' : variadic ? `one or more ${spec.positionals.join(' ')}` : `one ${spec.positionals.join(' ')}`;
    const got = positionals.length === 0 ? 'none' : positionals.map((p) => JSON.stringify(p)).join(' ');
    fail(`${spec.name} takes ${wanted}, got ${got}`);
  }
  const named: Record<string, string> = {};
  const lists: Record<string, string[]> = {};
  spec.positionals.forEach((name, k) => {
    const words = variadic && k === spec.positionals.length - 1 ? positionals.slice(k) : [positionals[k]];
    for (const word of words) if (word === '') fail(`${name} must not be empty`);
    named[name] = words[0];
    lists[name] = words;
  });

  const values: OptionValues = {};
  for (const [name, option] of Object.entries(spec.options)) {
    const text = given.get(name);
    const present = given.has(name);
    switch (option.kind) {
      case 'flag':
        values[name] = present;
        break;
      case 'choice':
        if (!present && option.required === true) fail(`--${name} ${option.value} is required: ${option.choices.join(' or ')}`);
        if (present && !option.choices.includes(text!)) fail(badValue(name, option, text!));
        values[name] = present ? text : option.default;
        break;
      case 'string':
        if (present && text === '') fail(`--${name} needs a ${option.value}, got an empty string`);
        values[name] = present ? text : option.default;
        break;
      case 'integer': {
        if (!present) {
          if (option.required === true) fail(`--${name} ${option.value} is required`);
          values[name] = option.default;
          break;
        }
        const value = Number(text);
        if (!DECIMAL.test(text!) || !Number.isSafeInteger(value) || value < option.min || value > option.max) fail(badValue(name, option, text!));
        values[name] = value;
        break;
      }
      case 'share': {
        if (!present) {
          values[name] = option.default;
          break;
        }
        const value = Number(text);
        if (!SHARE.test(text!) || !(value >= 0 && value <= 1)) fail(badValue(name, option, text!));
        values[name] = value;
        break;
      }
    }
  }
  return { positionals: named, lists, values, help: false };
}

/** parseArgs' own errors, reworded as one short line in this tool's terms. */
function parseArgsMessage(error: Error & { code?: string }, argv: readonly string[], spec: CommandSpec): string {
  const quoted = /'(-[^' ]*)/.exec(error.message)?.[1] ?? '';
  const name = quoted.replace(/^--?/, '');
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const known = Object.keys(spec.options).map((option) => `--${option}`);
      return `unknown option ${JSON.stringify(quoted)}${known.length > 0 ? `; it takes ${known.join(', ')}` : '; it takes no options'}`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const option = spec.options[name];
      if (option?.kind === 'flag') return `--${name} takes no value`;
      // A value that starts with a dash, or none at all.
      const at = argv.findIndex((word) => word === `--${name}`);
      const next = at >= 0 ? argv[at + 1] : undefined;
      if (next === undefined) return `--${name} needs a value`;
      // A negative number is a value out of range, not a forgotten one.
      if (option !== undefined && /^-[0-9.]/.test(next)) return badValue(name, option, next);
      return `--${name} needs a value, got the option-like ${JSON.stringify(next)} (write --${name}=${next} if you mean it)`;
    }
    default:
      return error.message.split('\n')[0];
  }
}

/** The message for a value an integer or share option does not take. */
function badValue(name: string, option: OptionSpec, text: string): string {
  if (option.kind === 'integer') return `--${name} takes a whole number from ${option.min} to ${option.max} (decimal digits only), got ${JSON.stringify(text)}`;
  if (option.kind === 'share') return `--${name} takes a number from 0 to 1 (like 0.25), got ${JSON.stringify(text)}`;
  if (option.kind === 'choice') return `--${name} takes ${option.choices.join(' or ')}, got ${JSON.stringify(text)}`;
  return `--${name} needs a ${option.kind === 'string' ? option.value : 'value'}, got ${JSON.stringify(text)}`;
}

/** The help of one command: usage, what it does, its options with ranges and defaults. */
export function helpText(spec: CommandSpec): string {
  // The usage breaks between options, never inside one (`[--threads N]` stays whole): their own
  // spaces are held by a NUL through the wrap.
  const usage = [`usage: liq ${spec.name}`, ...spec.positionals, ...Object.entries(spec.options).map(([name, option]) => optionUsage(name, option).replaceAll(' ', '\0'))].join(' ');
  const rows = Object.entries(spec.options).map(([name, option]) => {
    const left = option.kind === 'flag' ? `--${name}` : `--${name} ${option.value}`;
    let help = option.help;
    if (option.kind === 'integer') {
      const fallback = option.defaultText ?? (option.default === undefined ? undefined : String(option.default));
      help += ` (${option.min} to ${option.max}${fallback === undefined ? '' : `; default ${fallback}`}${option.required === true ? '; required' : ''})`;
    }
    if (option.kind === 'share') help += ` (0 to 1; default ${option.defaultText ?? option.default})`;
    if (option.kind === 'choice') help += ` (${option.choices.join(' or ')}; ${option.required === true ? 'required' : `default ${option.default}`})`;
    if (option.kind === 'string' && option.default !== undefined) help += ` (default ${option.default})`;
    return [left, help];
  });
  rows.push(['-h, --help', 'this help']);
  const width = Math.max(...rows.map(([left]) => left.length));
  const lines = [
    ...wrap(usage, HELP_WIDTH, ' '.repeat(`usage: liq ${spec.name} `.length)).map((line) => line.replaceAll('\0', ' ')),
    '',
    spec.summary,
    '',
    'options:',
    ...rows.flatMap(([left, help]) => wrap(`  ${left.padEnd(width)}  ${help}`, HELP_WIDTH, ' '.repeat(width + 4))),
  ];
  if (spec.notes !== undefined) lines.push('', spec.notes);
  return lines.join('\n');
}

/** Help lines are wrapped at this width. */
const HELP_WIDTH = 100;

/** `line` broken at spaces into lines of at most `width` characters, the later ones indented by `indent`. */
function wrap(line: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let rest = line;
  while (rest.length > width) {
    const cut = rest.lastIndexOf(' ', width);
    if (cut <= indent.length) break;
    lines.push(rest.slice(0, cut));
    rest = indent + rest.slice(cut + 1);
  }
  lines.push(rest);
  return lines;
}

function optionUsage(name: string, option: OptionSpec): string {
  if (option.kind === 'flag') return `[--${name}]`;
  return (option.kind === 'integer' || option.kind === 'choice') && option.required === true ? `--${name} ${option.value}` : `[--${name} ${option.value}]`;
}
