// Transparent huge pages for the shared WebAssembly memory (docs/architecture.md, Huge pages).
//
// The engine reads and writes gigabytes of columns at random: a tick's status writes, an update's
// account, a re-evaluated account's block. With 4 KiB pages each such access is a TLB miss too, and
// under a hypervisor a TLB miss walks two page tables. Most Linux machines leave transparent huge
// pages to programs that ask for them (`/sys/kernel/mm/transparent_hugepage/enabled` = madvise), and
// V8 does not ask for its WebAssembly memories. The addon in native/ (built by `npm install`) asks,
// with madvise(MADV_HUGEPAGE), over each range the memory grows by, before anything touches it.
//
// Optional: without the addon (no compiler at install), on a kernel without transparent huge pages,
// or with LIQ_HUGE_PAGES=0, the engine runs on 4 KiB pages exactly as before, only slower.
// hugePages() says which.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The environment variable that turns the advice off (`0`), for a measurement without it. */
export const HUGE_PAGES_ENV = 'LIQ_HUGE_PAGES';
const ADDON = join('native', 'build', 'Release', 'hugepages.node');
const THP_ENABLED = '/sys/kernel/mm/transparent_hugepage/enabled';

/** Whether the memory is advised to use huge pages, and why not when it is not. */
export interface HugePages {
  /** True when each range the memory grows by is advised (the addon loaded, the kernel can). */
  readonly advised: boolean;
  /** The kernel's setting (`always`, `madvise` or `never`), or null where there is none. */
  readonly kernel: string | null;
  /** Why the memory is not advised (null when it is). */
  readonly reason: string | null;
}

interface Addon {
  advise(view: Uint8Array, from: number, to: number): number;
}

let state: { addon: Addon | null; status: HugePages } | undefined;

/** The kernel's transparent huge page setting: the bracketed word of its file, or null. */
function kernelSetting(): string | null {
  try {
    return /\[(\w+)\]/.exec(readFileSync(THP_ENABLED, 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Finds native/build/Release/hugepages.node from src/memory (tests) or dist/src/memory (the CLI). */
function addonPath(): string | null {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth++) {
    const candidate = join(directory, ADDON);
    if (existsSync(candidate)) return candidate;
    directory = dirname(directory);
  }
  return null;
}

function load(): { addon: Addon | null; status: HugePages } {
  const kernel = kernelSetting();
  const off = (reason: string) => ({ addon: null, status: { advised: false, kernel, reason } });
  if (process.env[HUGE_PAGES_ENV] === '0') return off(`${HUGE_PAGES_ENV}=0`);
  if (kernel === null) return off(`this kernel has no transparent huge pages (${THP_ENABLED})`);
  if (kernel === 'never') return off(`the kernel's transparent huge pages are off (${THP_ENABLED}: never)`);
  const path = addonPath();
  if (path === null) return off(`${ADDON} was not built (npm install builds it with node-gyp; it needs a C compiler)`);
  try {
    const addon = createRequire(import.meta.url)(path) as Addon;
    return { addon, status: { advised: true, kernel, reason: null } };
  } catch (error) {
    return off(`${path} did not load: ${(error as Error).message}`);
  }
}

/** Whether the memory is advised to use huge pages, and why not (decided once per process). */
export function hugePages(): HugePages {
  return (state ??= load()).status;
}

/**
 * Advises bytes [from, to) of `memory` to use huge pages, when hugePages() says it is. Call it on
 * a range the memory just grew by, before anything writes there: pages already touched stay small.
 * A refusal by the kernel is not an error (the memory works either way); it turns the advice off
 * for the rest of the process and hugePages() gives its errno.
 */
function adviseHugePages(memory: WebAssembly.Memory, from: number, to: number): void {
  const { addon } = (state ??= load());
  if (addon === null || to <= from) return;
  const result = addon.advise(new Uint8Array(memory.buffer), from, to);
  if (result !== 0) state = { addon: null, status: { advised: false, kernel: state.status.kernel, reason: `madvise(MADV_HUGEPAGE) failed with errno ${result}` } };
}

/** Grows `memory` by `pages` (WebAssembly pages) and, with `advise`, advises the new range (adviseHugePages). */
export function growMemory(memory: WebAssembly.Memory, pages: number, advise: boolean): void {
  const from = memory.buffer.byteLength;
  memory.grow(pages);
  if (advise) adviseHugePages(memory, from, memory.buffer.byteLength);
}

/** hugePages() in a few words, for a report: `huge pages advised` or `4 KiB pages (why)`. */
export function describeHugePages(): string {
  const { advised, reason } = hugePages();
  return advised ? 'huge pages advised' : `4 KiB pages (${reason})`;
}
