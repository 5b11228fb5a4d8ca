#!/usr/bin/env -S node --v8-pool-size=0
// The `liq` command. The TypeScript sources are compiled to dist/ by `npm install` (prepare).
// --v8-pool-size=0: V8's background threads sized to the machine's cores, not Node's default of 4.
// On a 2-core machine the default four, woken together, took the main thread's core for 4 ms at a
// time, and the evaluation of a crash tick (what liq serve does per tick) read p99 3-4 ms in
// process where it reads 1.3-1.4 with this (docs/serve.md, "Measured").
import { main } from '../dist/src/cli/main.js';

// A reader of standard output that goes away (`liq sweep book.bin | head -1`) ends the command
// quietly: the writes in flight fail with EPIPE after main has handled what it awaited.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
process.stderr.on('error', () => {}); // nowhere left to report to

process.exitCode = await main(process.argv.slice(2));
