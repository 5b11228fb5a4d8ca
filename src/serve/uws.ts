// The native uWebSockets.js, or nothing. The package's own entry falls back, quietly, to a slow
// JavaScript shim when its native binary does not load (or when UWS_USE_FALLBACK is set); a live
// engine on that shim would look healthy and be an order of magnitude slower. So the server loads
// the binary for this platform, architecture and Node ABI itself, and refuses to start, saying why,
// when it cannot.
import { InputError } from '../io/errors.js';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Uws from 'uWebSockets.js';

export type UwsModule = typeof Uws;

/** Why the server cannot use uWebSockets.js here; the CLI prints it and exits 1. */
export class UwsUnavailable extends InputError {}

export function loadNativeUws(env: NodeJS.ProcessEnv = process.env): UwsModule {
  const flag = env.UWS_USE_FALLBACK;
  if (flag !== undefined && flag !== '' && flag.toLowerCase() !== 'false' && flag !== '0') {
    throw new UwsUnavailable(`UWS_USE_FALLBACK=${flag} asks uWebSockets.js for its slow JavaScript fallback; the live engine runs only on the native build (unset it)`);
  }
  const require = createRequire(import.meta.url);
  let root: string;
  try {
    root = dirname(require.resolve('uWebSockets.js/package.json'));
  } catch (error) {
    throw new UwsUnavailable(`uWebSockets.js is not installed (${(error as Error).message.split('\n')[0]}); run npm install`);
  }
  const binary = join(root, 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
  try {
    return require(binary) as UwsModule;
  } catch (error) {
    throw new UwsUnavailable(
      `the native uWebSockets.js binary did not load (${binary}: ${(error as Error).message.split('\n')[0]}); refusing to run on its slow fallback (Node ${process.versions.node}, ${process.platform}-${process.arch})`,
    );
  }
}
