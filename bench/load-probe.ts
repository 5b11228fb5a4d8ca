// Loads one binary book in a fresh process that does nothing else, and prints what it cost: the
// load time and the peak resident memory of a process holding the book. The suite runs it as a
// child so that its own heap (peers, generator) does not count against the engine.
//   node dist/bench/load-probe.js BOOK
import { loadBookBinaryFile } from '../src/book/binary.js';

const path = process.argv[2];
if (path === undefined) {
  process.stderr.write('usage: load-probe BOOK\n');
  process.exit(2);
}
const baselineRssKiB = process.resourceUsage().maxRSS;
const start = performance.now();
const engine = loadBookBinaryFile(path);
const loadMs = performance.now() - start;
// One sweep, so the figures are the ones of an engine at work (outputs written, pages touched).
engine.evaluate({ full: false });
process.stdout.write(
  `${JSON.stringify({
    loadMs,
    accounts: engine.accountCount,
    positions: engine.positionsUsed,
    baselineRssKiB,
    peakRssKiB: process.resourceUsage().maxRSS,
  })}\n`,
);
