#!/usr/bin/env node
// The `liq` command. The TypeScript sources are compiled to dist/ by `npm install` (prepare).
import { main } from '../dist/src/cli/main.js';

// A reader of standard output that goes away (`liq sweep book.bin | head -1`) ends the command
// quietly: the writes in flight fail with EPIPE after main has handled what it awaited.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
process.stderr.on('error', () => {}); // nowhere left to report to

process.exitCode = await main(process.argv.slice(2));
