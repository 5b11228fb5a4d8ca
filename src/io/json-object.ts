// What the JSON loaders (book files, scenario files) share to walk a parsed document: a plain
// object (not an array, not a class instance), its own fields only (never an inherited one), and
// how a string from the document is shown in a message.

export type JsonObject = Record<string, unknown>;

/** A plain object: what JSON.parse makes of `{…}` (or one with a null prototype). */
export function isPlainObject(value: unknown): value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** An own field of a JSON object (undefined when absent; never an inherited property). */
export function field(object: JsonObject, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/**
 * A string as it appears in a message: JSON-quoted, shortened to 40 characters, and printable
 * ASCII: control characters and everything outside ASCII (U+2028 and U+2029 included, which
 * JSON.stringify leaves as they are and which some terminals and editors take for line breaks) as
 * escapes like \u2028.
 */
export function quote(text: string): string {
  const quoted = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
  return quoted.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** What a JSON value is, for the "got …" of a refusal: `the string "x"`, `the JSON number 5`, `an array`. */
export function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return `the string ${quote(value)}`;
  if (typeof value === 'number') return `the JSON number ${value}`;
  if (typeof value === 'boolean') return `the JSON boolean ${value}`;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a JavaScript ${typeof value}`;
}
