// Hostile venue files (docs/venues.md, "What the import does"): each venue's fixtures mutated at
// random (a field dropped, a value of another type or out of range, a prototype key, the text cut
// short, a character changed). The import either writes instruments the book's loader loads, or
// refuses with one line naming a file: never another exception, never a line break in the message.
// (On the fixtures: 344 to 501 of the 600 refused per venue, the rest imported.)
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BookError } from '../../src/book/errors.js';
import { bookFromJsonValue } from '../../src/book/json.js';
import { importInstruments, readVenueFile, type VenueAdapter } from '../../src/instruments/import.js';
import { BINANCE } from '../../src/instruments/venues/binance.js';
import { BYBIT } from '../../src/instruments/venues/bybit.js';
import { HYPERLIQUID } from '../../src/instruments/venues/hyperliquid.js';
import { OKX } from '../../src/instruments/venues/okx.js';
import { InputError } from '../../src/io/errors.js';
import { prng } from '../../bench/workload.js';

const FIXTURES = 'test/fixtures/venues';
const scratch = mkdtempSync(join(tmpdir(), 'liq-venue-fuzz-'));
/** Mutated imports per venue. */
const CASES = 600;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Values of every kind a field may wrongly hold. */
const ODD_VALUES: Json[] = [null, true, 0, -1, 1e300, '', '-5', '0', 'NaN', 'Infinity', '1e400', '0.' + '1'.repeat(70), 'abc', [], {}, [1, 2], { a: 1 }, '9'.repeat(30)];

/** Every (container, key) pair of a JSON document. */
function slots(value: Json, out: [Json[] | { [key: string]: Json }, string | number][] = []): [Json[] | { [key: string]: Json }, string | number][] {
  if (Array.isArray(value)) value.forEach((item, k) => (out.push([value, k]), slots(item, out)));
  else if (value !== null && typeof value === 'object') for (const key of Object.keys(value)) out.push([value, key]), slots(value[key], out);
  return out;
}

/** One mutation of `text` (the JSON of a fixture file), drawn from `random`. */
function mutate(text: string, random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const roll = random();
  if (roll < 0.1) return text.slice(0, Math.floor(random() * text.length)); // cut short
  if (roll < 0.15) {
    const at = Math.floor(random() * text.length);
    return text.slice(0, at) + pick(['{', '}', '"', ',', '\u0000', '\\', 'é', '\ud800']) + text.slice(at + 1); // a character changed
  }
  const document = JSON.parse(text) as Json;
  const all = slots(document);
  if (all.length === 0) return text;
  for (let n = 1 + Math.floor(random() * 3); n > 0; n--) {
    const [container, key] = pick(all);
    const action = random();
    if (Array.isArray(container)) {
      if (action < 0.3) container.splice(key as number, 1);
      else container[key as number] = pick(ODD_VALUES);
    } else if (action < 0.35) delete container[key as string];
    else if (action < 0.45) container[pick(['__proto__', 'constructor', `${String(key)}x`])] = { polluted: true };
    else if (action < 0.6 && typeof container[key as string] === 'string') container[key as string] = Number(container[key as string]) || 'x';
    else container[key as string] = pick(ODD_VALUES);
  }
  // `__proto__` set by assignment is no own key in JSON.stringify: write it into the text as well.
  const out = JSON.stringify(document);
  return random() < 0.1 ? out.replace('{', '{"__proto__": {"x": 1}, ') : out;
}

describe.each([
  ['binance', BINANCE],
  ['bybit', BYBIT],
  ['okx', OKX],
  ['hyperliquid', HYPERLIQUID],
] as [string, VenueAdapter][])('%s files mutated at random', (venue, adapter) => {
  it(`${CASES} imports: loadable instruments, or one line naming the file`, () => {
    const names = readdirSync(join(FIXTURES, venue)).filter((name) => name.endsWith('.json')).sort();
    const texts = names.map((name) => readFileSync(join(FIXTURES, venue, name), 'utf8'));
    const random = prng(20261205 + venue.length);
    let refused = 0;
    let imported = 0;
    for (let c = 0; c < CASES; c++) {
      const victim = Math.floor(random() * names.length);
      const paths = names.map((name, k) => {
        if (k !== victim) return join(FIXTURES, venue, name);
        const path = join(scratch, `${venue}-${c}-${name}`);
        writeFileSync(path, mutate(texts[k], random));
        return path;
      });
      try {
        const result = importInstruments(adapter, paths.map((path) => readVenueFile(path)), { skipUnsupported: random() < 0.5 });
        bookFromJsonValue({ version: 1, instruments: result.instruments, accounts: [] });
        imported++;
      } catch (error) {
        const where = `case ${c}, ${paths[victim]}`;
        expect(error instanceof InputError || error instanceof BookError, `${where}: ${String(error)}`).toBe(true);
        const message = (error as Error).message;
        expect(message, where).not.toMatch(/[\n\r]/);
        expect(message.length, where).toBeGreaterThan(10);
        expect(message.includes(scratch) || message.includes(FIXTURES), `${where}: names no file: ${message}`).toBe(true);
        refused++;
      }
    }
    // Both outcomes occur: the mutations are not all fatal, nor all harmless.
    expect(refused).toBeGreaterThan(CASES / 4);
    expect(imported).toBeGreaterThan(0);
  });
});
