// The kernel's constants as the compiled core defines them. assembly/layout.ts and
// assembly/constants.ts are their only definition: the module exports each as an immutable wasm
// global, and this module reads them once, from an instance of the compiled core over a small
// memory of its own (the core imports its memory; nothing runs in it but the copy of the module's
// static data). src/memory/layout.ts builds the header slots, the shard record's words, the cache
// stride and the chunk sweep's sizes from here instead of repeating numbers.
import { compileCore } from './core.js';

let exported: WebAssembly.Exports | undefined;

function exports(): WebAssembly.Exports {
  if (exported === undefined) {
    // One page, shared as the core's import requires; its static data (assertion strings) fits.
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const instance = new WebAssembly.Instance(compileCore(), {
      env: {
        memory,
        abort(): never {
          throw new Error('the core aborted while it was instantiated for its constants');
        },
      },
    });
    exported = instance.exports;
  }
  return exported;
}

function global(name: string): WebAssembly.Global {
  const value = exports()[name];
  if (!(value instanceof WebAssembly.Global)) {
    throw new Error(`build/core.wasm exports no constant ${name}: rebuild the core (npm run build:wasm)`);
  }
  return value;
}

/** A u32 (or smaller) constant of the kernel, e.g. `kernelU32('CACHE_STRIDE')`. */
export function kernelU32(name: string): number {
  const value: unknown = global(name).value;
  if (typeof value !== 'number') throw new Error(`kernel constant ${name} is not a 32-bit integer`);
  return value >>> 0; // wasm i32 globals read back signed: SLOT_CROSS is 0xFFFFFFFF
}

/** A 64-bit constant of the kernel, e.g. `kernelI64('PRICE_UNITS_MAX')`. */
export function kernelI64(name: string): bigint {
  const value: unknown = global(name).value;
  if (typeof value !== 'bigint') throw new Error(`kernel constant ${name} is not a 64-bit integer`);
  return value;
}

/** Every constant the core exports, by name: numbers for 32-bit ones (unsigned), bigints for 64-bit. */
export function kernelConstants(): Map<string, number | bigint> {
  const constants = new Map<string, number | bigint>();
  for (const [name, value] of Object.entries(exports())) {
    if (!(value instanceof WebAssembly.Global)) continue;
    const v: unknown = value.value;
    constants.set(name, typeof v === 'number' ? v >>> 0 : (v as bigint));
  }
  return constants;
}
