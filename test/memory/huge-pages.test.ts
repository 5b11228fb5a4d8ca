// The huge-pages advice (src/memory/huge-pages.ts, native/hugepages.c): whether it is on and why
// not; which ranges of a memory are advised, read from the kernel's own record of this process's
// mappings (/proc/self/smaps, the `hg` flag) at the memory's address; that an engine, its loaders
// and a re-laid-out position arena follow EngineOptions.hugePages, and the liq commands load
// without it; that the addon refuses what is not a byte range of a Uint8Array; and that
// LIQ_HUGE_PAGES=0 turns it off.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { growMemory, hugePages, HUGE_PAGES_ENV } from '../../src/memory/huge-pages.js';
import { createSharedMemory } from '../../src/memory/layout.js';
import { Engine } from '../../src/engine/engine.js';
import { generateBook, generatedBookToBook } from '../../src/gen/generate.js';
import { writeGeneratedBinary, writeGeneratedJson } from '../../src/gen/write.js';
import { loadBookSource } from '../../src/io/input.js';
import { loadBook } from '../../src/cli/main.js';

const addonFile = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', 'build', 'Release', 'hugepages.node');
const kernel = existsSync('/sys/kernel/mm/transparent_hugepage/enabled')
  ? /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1] ?? null
  : null;
const built = existsSync(addonFile);
const canAdvise = kernel !== null && kernel !== 'never' && built;
const PAGE = 65_536;

interface Addon {
  advise(...args: unknown[]): number;
  address(...args: unknown[]): bigint;
}
const addon = (): Addon => createRequire(import.meta.url)(addonFile) as Addon;

/**
 * How the bytes [from, to) of `memory` are mapped: 'advised' when every mapping they lie in has
 * the `hg` flag (madvise MADV_HUGEPAGE), 'not' when none has, 'mixed' otherwise.
 */
function advice(memory: WebAssembly.Memory, from: number, to: number): 'advised' | 'not' | 'mixed' {
  const base = addon().address(new Uint8Array(memory.buffer));
  const start = base + BigInt(from);
  const end = base + BigInt(to);
  const flags: boolean[] = [];
  for (const block of readFileSync('/proc/self/smaps', 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(block);
    if (range === null) continue;
    const [low, high] = [BigInt(`0x${range[1]}`), BigInt(`0x${range[2]}`)];
    if (high <= start || low >= end) continue;
    flags.push((/\nVmFlags:([^\n]*)/.exec(block)?.[1] ?? '').trim().split(/\s+/).includes('hg'));
  }
  expect(flags.length, 'mappings holding the range').toBeGreaterThan(0);
  return flags.every((x) => x) ? 'advised' : flags.some((x) => x) ? 'mixed' : 'not';
}

/** An engine's memory past its first page (the page it was made with, before it grew). */
const engineAdvice = (engine: Engine) => advice(engine.memory, PAGE, engine.memory.buffer.byteLength);

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

  it.skipIf(!canAdvise)('advises each range a memory grows by when asked, and only that range', () => {
    const memory = createSharedMemory(0);
    growMemory(memory, 77, true);
    expect(advice(memory, PAGE, 78 * PAGE)).toBe('advised');
    expect(advice(memory, 0, PAGE)).toBe('not'); // the page it was made with
    growMemory(memory, 5, false);
    expect(advice(memory, 78 * PAGE, 83 * PAGE)).toBe('not');
    growMemory(memory, 9, true);
    expect(advice(memory, 83 * PAGE, 92 * PAGE)).toBe('advised');
    // The memory still works as memory: written and read back across the grown ranges.
    const bytes = new Uint8Array(memory.buffer);
    bytes[PAGE] = 7;
    bytes[bytes.length - 1] = 9;
    expect([bytes[PAGE], bytes[bytes.length - 1], memory.buffer.byteLength]).toEqual([7, 9, 92 * PAGE]);
  });

  it.skipIf(!canAdvise)('an engine advises its memory unless its options say not to, and so does its arena when it grows', () => {
    const book = generatedBookToBook(generateBook({ profile: 'stress', accounts: 300, seed: 3, instruments: 3 }));
    const plain = Engine.fromBook(book, { hugePages: false });
    const advised = Engine.fromBook(book);
    expect(engineAdvice(plain)).toBe('not');
    expect(engineAdvice(advised)).toBe('advised');
    // A position arena grown past its room lays the book out again above it, and that range too
    // follows the option.
    for (const engine of [advised, plain]) {
      const before = engine.memory.buffer.byteLength;
      engine.reserveFreeSlots(engine.layout.capacity.positions - engine.positionsUsed + 1);
      expect(engine.memory.buffer.byteLength).toBeGreaterThan(before);
    }
    expect(engineAdvice(plain)).toBe('not');
    expect(engineAdvice(advised)).toBe('advised');
    // The same book in both: the same statuses.
    advised.evaluate();
    plain.evaluate();
    expect(Array.from(advised.views.accStatus.subarray(0, 300))).toEqual(Array.from(plain.views.accStatus.subarray(0, 300)));
  });

  it.skipIf(!canAdvise)('the loaders pass the option on, and the liq commands load without the advice', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'liq-huge-'));
    try {
      // Books large enough that the engine grows its memory past the first page (the sample's does not).
      const generated = generateBook({ profile: 'stress', accounts: 400, seed: 5, instruments: 4 });
      const binary = join(directory, 'book.bin');
      writeGeneratedBinary(binary, generated);
      const json = join(directory, 'book.json');
      writeGeneratedJson(json, generated);
      for (const path of [json, binary]) {
        const plain = await loadBookSource(path, { hugePages: false });
        expect(plain.memory.buffer.byteLength, path).toBeGreaterThan(PAGE);
        expect(engineAdvice(plain), path).toBe('not');
        expect(engineAdvice(await loadBook(path, { stdout: new PassThrough(), stderr: new PassThrough() })), path).toBe('not');
        expect(engineAdvice(await loadBookSource(path)), path).toBe('advised');
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it.skipIf(!built)('the addon refuses anything but a byte range of a Uint8Array', () => {
    const { advise, address } = addon();
    const view = new Uint8Array(createSharedMemory(PAGE).buffer);
    expect(advise(view, 0, view.length)).toBe(0);
    expect(address(view)).toBe(address(new Uint8Array(view.buffer)));
    expect(address(view.subarray(10)) - address(view)).toBe(10n);
    expect(() => advise(view, 0, view.length + 1)).toThrow(/0 <= from <= to <= the view's length/);
    expect(() => advise(view, 10, 5)).toThrow(/0 <= from <= to/);
    expect(() => advise(view, 0.5, 5)).toThrow(/whole byte offsets/);
    expect(() => advise(new Uint16Array(4), 0, 2)).toThrow(/must be a Uint8Array/);
    expect(() => advise({}, 0, 2)).toThrow(/must be a Uint8Array/);
    expect(() => advise(view, '0', 2)).toThrow(/must be numbers/);
    expect(() => advise(view, 0)).toThrow(/three arguments/);
    expect(() => address(new Float64Array(1))).toThrow(/must be a Uint8Array/);
    expect(() => address()).toThrow(/one argument/);
  });

  it('an engine refuses options of the wrong kind, naming the option, before it allocates', () => {
    const book = generatedBookToBook(generateBook({ profile: 'stress', accounts: 50, seed: 3, instruments: 2 }));
    for (const hugePages of ['false', 0, null]) {
      expect(() => Engine.fromBook(book, { hugePages } as unknown as { hugePages: boolean })).toThrow(new TypeError(`hugePages must be true or false, got ${String(hugePages)}`));
    }
    for (const spareFraction of [-0.1, Number.NaN, Infinity, 17, '1']) {
      expect(() => Engine.fromBook(book, { spareFraction } as unknown as { spareFraction: number })).toThrow(new RangeError(`spareFraction must be a number from 0 to 16, got ${String(spareFraction)}`));
    }
    expect(Engine.fromBook(book, { spareFraction: 0, hugePages: false }).accountCount).toBe(50);
  });

  it(`${HUGE_PAGES_ENV}=0 turns the advice off`, async () => {
    process.env[HUGE_PAGES_ENV] = '0';
    vi.resetModules();
    const fresh = await import('../../src/memory/huge-pages.js');
    expect(fresh.hugePages()).toEqual({ advised: false, kernel, reason: `${HUGE_PAGES_ENV}=0` });
    const memory = createSharedMemory(0);
    fresh.growMemory(memory, 79, true);
    expect(memory.buffer.byteLength).toBe(80 * PAGE);
    if (built) expect(advice(memory, PAGE, 80 * PAGE)).toBe('not');
  });
});
