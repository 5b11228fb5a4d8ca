// Builds the huge-pages addon (hugepages.c) with node-gyp, as `npm install` runs it (package.json
// build:native). The addon is optional: without it the engine runs on 4 KiB pages (slower, the same
// results; src/memory/huge-pages.ts), so a failed build warns and does not fail the install.
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const directory = dirname(fileURLToPath(import.meta.url));
if (process.platform !== 'linux') {
  console.warn(`liq: the huge-pages addon is for Linux (this is ${process.platform}); the engine runs without it`);
  process.exit(0);
}
// npm gives its scripts its own node-gyp (npm_config_node_gyp); outside npm, the one on the PATH.
const gyp = process.env.npm_config_node_gyp;
const [command, args] = gyp ? [process.execPath, [gyp]] : ['node-gyp', []];
const result = spawnSync(command, [...args, 'rebuild', '--directory', directory], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (result.status !== 0) {
  const why = result.error?.message ?? (result.stderr || result.stdout).trim().split('\n').filter((line) => /ERR!|error/i.test(line)).slice(0, 3).join(' / ');
  console.warn(`liq: the huge-pages addon did not build (${why || `node-gyp exited with ${result.status}`}); the engine runs without it, on 4 KiB pages (docs/architecture.md, Huge pages)`);
} else console.log('liq: built native/build/Release/hugepages.node (huge pages for the engine\'s memory)');
