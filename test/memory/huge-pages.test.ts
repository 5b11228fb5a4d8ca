// The huge-pages advice (src/memory/huge-pages.ts, native/hugepages.c): whether it is on and why
// not, that a grown range of a shared memory is advised (the kernel's own record of it, in
// /proc/self/smaps), that the addon refuses what is not a byte range of a Uint8Array, and that
// LIQ_HUGE_PAGES=0 turns it off.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { growMemory, hugePages, HUGE_PAGES_ENV } from '../../src/memory/huge-pages.js';
import { createSharedMemory } from '../../src/memory/layout.js';
import { Engine } from '../../src/engine/engine.js';
import { generateBook, generatedBookToBook } from '../../src/gen/generate.js';
import { loadBookSource } from '../../src/io/input.js';
import { writeGeneratedBinary, writeGeneratedJson } from '../../src/gen/write.js';
import { loadBook } from '../../src/cli/main.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { PassThrough } from 'node:stream';

const addonFile = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', 'build', 'Release', 'hugepages.node');
const kernel = existsSync('/sys/kernel/mm/transparent_hugepage/enabled')
  ? /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1] ?? null
  : null;
const canAdvise = kernel !== null && kernel !== 'never' && existsSync(addonFile);

/** The mappings of this process (/proc/self/smaps): each one's size in KiB and its VmFlags. */
function mappings(): { sizeKib: number; flags: string[] }[] {
  return readFileSync('/proc/self/smaps', 'utf8')
    .split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)
    .map((block) => ({
      sizeKib: Number(/\nSize:\s+(\d+) kB/.exec(block)?.[1] ?? -1),
      flags: (/\nVmFlags:([^\n]*)/.exec(block)?.[1] ?? '').trim().split(/\s+/),
    }));
}

describe('huge pages', () => {
  afterEach(() => {
    delete process.env[HUGE_PAGES_ENV];
    vi.resetModules();
  });

  it('says whether the memory is advised, and why not', () => {
    const status = hugePages();
    expect(status.kernel).toBe(kernel);
    if (canAdvise) {
      expect(status).toEqual({ advised: true, kernel, reason: null });
    } else {
      expect(status.advised).toBe(false);
      expect(status.reason).toMatch(kernel === null || kernel === 'never' ? /transparent huge pages/ : /was not built/);
    }
  });

  it.skipIf(!canAdvise)('advises each range a memory grows by, and only that range', () => {
    // 77 pages: a size no other mapping of this process is likely to have, advised as one range
    // (the memory's first page, from before the growth, is not).
    const memory = createSharedMemory(0);
    const grownKib = (77 * 65_536) / 1024;
    const advisedBefore = mappings().filter((m) => m.sizeKib === grownKib && m.flags.includes('hg')).length;
    growMemory(memory, 77, true);
    const advised = mappings().filter((m) => m.sizeKib === grownKib && m.flags.includes('hg'));
    expect(advised.length).toBe(advisedBefore + 1);
    // The memory still works as memory: written and read back across the grown range.
    const bytes = new Uint8Array(memory.buffer);
    bytes[65_536] = 7;
    bytes[bytes.length - 1] = 9;
    expect([bytes[65_536], bytes[bytes.length - 1], memory.buffer.byteLength]).toEqual([7, 9, 78 * 65_536]);
  });

  it('leaves a range unadvised when not asked to', () => {
    const memory = createSharedMemory(0);
    const grownKib = (83 * 65_536) / 1024;
    growMemory(memory, 83, false);
    expect(mappings().some((m) => m.sizeKib === grownKib && m.flags.includes('hg'))).toBe(false);
    expect(memory.buffer.byteLength).toBe(84 * 65_536);
  });

  it.skipIf(!canAdvise)('an engine advises its memory unless its options say not to', () => {
    // The engine's memory beyond its first page, as one advised mapping; none with hugePages false.
    const book = generatedBookToBook(generateBook({ accounts: 300, seed: 3, instruments: 3 }));
    const advisedOf = (engine: Engine) => {
      const grownKib = (engine.memory.buffer.byteLength - 65_536) / 1024;
      return mappings().filter((m) => m.sizeKib === grownKib && m.flags.includes('hg')).length;
    };
    const plain = Engine.fromBook(book, { hugePages: false });
    expect(advisedOf(plain)).toBe(0);
    const advised = Engine.fromBook(book);
    expect(advised.memory.buffer.byteLength).toBe(plain.memory.buffer.byteLength);
    expect(advisedOf(advised)).toBe(1);
    // The same book in both: the same statuses.
    advised.evaluate();
    plain.evaluate();
    expect(Array.from(advised.views.accStatus.subarray(0, 300))).toEqual(Array.from(plain.views.accStatus.subarray(0, 300)));
  });

  it.skipIf(!canAdvise)('the loaders pass the option on, and the liq commands load without the advice', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'liq-huge-'));
    try {
      // Books large enough that the engine grows its memory past the first page (the sample's does not).
      // Of different sizes, so that each one's engines are told apart from the other's by their size.
      const binary = join(directory, 'book.bin');
      writeGeneratedBinary(binary, generateBook({ accounts: 900, seed: 5, instruments: 4 }));
      const json = join(directory, 'book.json');
      writeGeneratedJson(json, generateBook({ accounts: 400, seed: 5, instruments: 4 }));
      for (const path of [json, binary]) {
        const advisedOf = (engine: Engine) => mappings().filter((m) => m.sizeKib === (engine.memory.buffer.byteLength - 65_536) / 1024 && m.flags.includes('hg')).length;
        const plain = await loadBookSource(path, { hugePages: false });
        expect(plain.memory.buffer.byteLength, path).toBeGreaterThan(65_536);
        expect(advisedOf(plain), path).toBe(0);
        const command = await loadBook(path, { stdout: new PassThrough(), stderr: new PassThrough() });
        expect(command.memory.buffer.byteLength, path).toBe(plain.memory.buffer.byteLength);
        expect(advisedOf(command), path).toBe(0);
        const advised = await loadBookSource(path);
        expect(advised.memory.buffer.byteLength, path).toBe(plain.memory.buffer.byteLength);
        expect(advisedOf(advised), path).toBe(1);
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it.skipIf(!canAdvise)('the addon refuses anything but a byte range of a Uint8Array', () => {
    const addon = createRequire(import.meta.url)(addonFile) as { advise: (...args: unknown[]) => number };
    const view = new Uint8Array(createSharedMemory(65_536).buffer);
    expect(addon.advise(view, 0, view.length)).toBe(0);
    expect(() => addon.advise(view, 0, view.length + 1)).toThrow(/0 <= from <= to <= the view's length/);
    expect(() => addon.advise(view, 10, 5)).toThrow(/0 <= from <= to/);
    expect(() => addon.advise(view, 0.5, 5)).toThrow(/whole byte offsets/);
    expect(() => addon.advise(new Uint16Array(4), 0, 2)).toThrow(/must be a Uint8Array/);
    expect(() => addon.advise({}, 0, 2)).toThrow(/must be a Uint8Array/);
    expect(() => addon.advise(view, '0', 2)).toThrow(/must be numbers/);
    expect(() => addon.advise(view, 0)).toThrow(/three arguments/);
  });

  it(`${HUGE_PAGES_ENV}=0 turns the advice off`, async () => {
    process.env[HUGE_PAGES_ENV] = '0';
    vi.resetModules();
    const fresh = await import('../../src/memory/huge-pages.js');
    expect(fresh.hugePages()).toEqual({ advised: false, kernel, reason: `${HUGE_PAGES_ENV}=0` });
    const memory = createSharedMemory(0);
    const grownKib = (79 * 65_536) / 1024;
    fresh.growMemory(memory, 79, true);
    expect(mappings().some((m) => m.sizeKib === grownKib && m.flags.includes('hg'))).toBe(false);
    expect(memory.buffer.byteLength).toBe(80 * 65_536);
  });
});
