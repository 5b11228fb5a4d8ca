/** Sorts `values` in place and moves each value's first copy to the front: returns that prefix (a view). */
export function sortUnique(values: Uint32Array): Uint32Array {
  values.sort();
  let unique = 0;
  for (let k = 0; k < values.length; k++) if (k === 0 || values[k] !== values[k - 1]) values[unique++] = values[k];
  return values.subarray(0, unique);
}
