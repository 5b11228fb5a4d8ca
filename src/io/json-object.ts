// What the JSON loaders (book files, scenario files) share to walk a parsed document: a plain
// object (not an array, not a class instance), and its own fields only (never an inherited one).

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
