// The instruments file (docs/venues.md, "The instruments file"): what `liq instruments import`
// writes and `liq gen --instruments-file` reads. Its instruments are book instruments, so the book's
// own loader (bookFromJsonValue) reads them, with its rules and messages.
import { BookError } from '../book/errors.js';
import { bookFromJsonValue, BOOK_JSON_VERSION } from '../book/json.js';
import type { Instrument } from '../book/model.js';
import { InputError } from '../io/errors.js';
import { field, isPlainObject, quote } from '../io/json-object.js';
import { describe, INSTRUMENTS_FILE_VERSION, numberText, readVenueFile, VENUE_NAMES } from './import.js';

const KEYS = ['version', 'venue', 'instruments'];

/**
 * The instruments of the instruments file at `path`, in its order, as the book holds them. Throws
 * InputError, one line naming the file and the field, for anything else: not a file, not JSON, a
 * version other than 1, an unknown key, no instruments, or an instrument the book's loader refuses.
 */
export function readInstrumentsFile(path: string): Instrument[] {
  const { file, value } = readVenueFile(path, 'an instruments file');
  const shape = `an instruments file is {"version": ${INSTRUMENTS_FILE_VERSION}, "venue": V, "instruments": [...]} (docs/venues.md)`;
  if (!isPlainObject(value)) throw new InputError(`${file}: is ${describe(value)}; ${shape}`);
  for (const key of Object.keys(value)) if (!KEYS.includes(key)) throw new InputError(`${file}: unknown key ${quote(key)}; ${shape}`);
  const version = field(value, 'version');
  if (numberText(version) !== String(INSTRUMENTS_FILE_VERSION)) throw new InputError(`${file}: version: must be the JSON number ${INSTRUMENTS_FILE_VERSION}, got ${describe(version)}`);
  const venue = field(value, 'venue');
  if (venue !== undefined && !(VENUE_NAMES as readonly unknown[]).includes(venue)) {
    throw new InputError(`${file}: venue: must be one of ${VENUE_NAMES.join(', ')} (or absent), got ${describe(venue)}`);
  }
  const instruments = field(value, 'instruments');
  if (!Array.isArray(instruments) || instruments.length === 0) throw new InputError(`${file}: instruments: must be a non-empty array of book instruments, got ${describe(instruments)}`);
  try {
    return bookFromJsonValue({ version: BOOK_JSON_VERSION, instruments, accounts: [] }).instruments;
  } catch (error) {
    if (error instanceof BookError) throw new InputError(`${file}: ${error.message}`);
    throw error;
  }
}
