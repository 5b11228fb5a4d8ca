// The kernel's constants are defined once, in assembly/layout.ts and assembly/constants.ts, and
// exported by the compiled core; src/memory/layout.ts takes them from there. What is left to check
// is what the TypeScript side relies on: that its names cover the kernel's (every header slot has
// a column or a count, every shard field a word), that the regions it sizes hold what the kernel
// writes into them, and that the kernel's numbers are the ones the BigInt reference works in.
import { execFileSync } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, test } from 'vitest';
import * as constants from '../../src/fixed/constants.js';
import { kernelConstants, kernelU32, kernelI64 } from '../../src/engine/kernel-constants.js';
import { compileCore } from '../../src/engine/core.js';
import {
  BookLayout,
  CACHE_STRIDE,
  CHUNK_ACCOUNTS,
  CHUNK_META_BYTES,
  CHUNK_SCRATCH_BYTES,
  COLUMNS,
  COMPACTION_SLOTS,
  HEADER_SLOTS,
  LIST_ENTRY_BYTES,
  SHARD_RECORD_BYTES,
  SLOT_CROSS,
  SWEEP_BASE_BYTES,
  SWEEP_CHUNKS,
  SWEEP_FULL,
  SWEEP_RECORD_SLOT_BYTES,
  HeaderSlot,
  ShardSlot,
  chunksOf,
  createSharedMemory,
  layoutBytes,
} from '../../src/memory/layout.js';

const kernel = kernelConstants();
/** posMaint ↔ H_POS_MAINT, listCapacity ↔ SHARD_LIST_CAPACITY */
const upperSnake = (name: string) => name.replace(/([A-Z])/g, '_$1').toUpperCase();

describe('the compiled core exports its constants', () => {
  test('as immutable globals, every one of them', () => {
    const globals = WebAssembly.Module.exports(compileCore()).filter((e) => e.kind === 'global');
    expect(globals.length).toBe(kernel.size);
    expect(kernel.size).toBeGreaterThan(60);
    const instanceExports = new WebAssembly.Instance(compileCore(), {
      env: { memory: new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }), abort: () => {} },
    }).exports;
    for (const { name } of globals) {
      const global = instanceExports[name] as WebAssembly.Global;
      // An immutable global refuses a write: no state of the kernel is exported as a constant.
      expect(() => {
        global.value = global.value;
      }, name).toThrow(TypeError);
    }
  });

  test('32-bit ones read unsigned, 64-bit ones as bigints', () => {
    expect(kernelU32('SLOT_CROSS')).toBe(0xffff_ffff);
    expect(kernelI64('PRICE_UNITS_MAX')).toBe(10n ** 15n);
    expect(() => kernelU32('NO_SUCH_CONSTANT')).toThrow(/exports no constant NO_SUCH_CONSTANT/);
    expect(() => kernelU32('SCALE_6')).toThrow(/not a 32-bit integer/);
  });
});

describe("the kernel's numbers are the reference's (src/fixed/constants.ts)", () => {
  test('scales, ranges, status and mode codes', () => {
    expect(kernel.get('SCALE_6')).toBe(constants.QUOTE_SCALE);
    expect(kernel.get('SCALE_6')).toBe(constants.RATE_SCALE);
    expect(kernel.get('SCALE_6')).toBe(constants.FUNDING_EXTRA_SCALE);
    expect(kernel.get('PRICE_UNITS_MAX')).toBe(constants.PRICE_UNITS_MAX);
    expect(kernel.get('TIERS_MAX')).toBe(constants.TIERS_MAX);
    expect(kernel.get('POSITIONS_PER_ACCOUNT_MAX')).toBe(constants.POSITIONS_PER_ACCOUNT_MAX);
    expect(kernel.get('STATUS_HEALTHY')).toBe(constants.STATUS_HEALTHY);
    expect(kernel.get('STATUS_LIQUIDATABLE')).toBe(constants.STATUS_LIQUIDATABLE);
    expect(kernel.get('STATUS_BANKRUPT')).toBe(constants.STATUS_BANKRUPT);
    expect(kernel.get('MODE_CROSS')).toBe(constants.MODE_CROSS);
    expect(kernel.get('MODE_ISOLATED')).toBe(constants.MODE_ISOLATED);
    expect(kernel.get('PRICE_NONE')).toBe(0n);
  });
});

describe('the header', () => {
  const kernelSlots = [...kernel.keys()].filter((name) => name.startsWith('H_'));
  const names = Object.keys(HeaderSlot) as Array<keyof typeof HeaderSlot>;

  test("every slot the kernel defines has a name here, and each name is one of the kernel's slots", () => {
    expect(names.map((name) => `H_${upperSnake(name)}`).sort()).toEqual([...kernelSlots].sort());
    for (const name of names) expect(HeaderSlot[name], name).toBe(kernel.get(`H_${upperSnake(name)}`));
  });

  test('slots are distinct and within HEADER_SLOTS', () => {
    const slots = names.map((name) => HeaderSlot[name]);
    expect(new Set(slots).size).toBe(slots.length);
    for (const slot of slots) expect(slot).toBeLessThan(HEADER_SLOTS);
  });

  test('every slot is a column of COLUMNS or one of the counts and regions BookLayout writes', () => {
    const columns = COLUMNS.map((column) => column.name);
    expect(new Set(columns).size).toBe(columns.length);
    const others = names.filter((name) => !columns.includes(name as (typeof columns)[number]));
    expect(others.sort()).toEqual(['accountCount', 'chunks', ...COMPACTION_SLOTS, 'fundingAge', 'fundingDirty', 'fundingSlots', 'sweepSerial', 'instChunks', 'instChunkWords', 'instrumentCount', 'layoutRoom', 'posOutputs', 'recordsBytes', 'recordsTail', 'sweepRecords'].sort());
    // BookLayout fills each slot: offsets above the header, distinct and increasing in COLUMNS order.
    const capacity = { instruments: 3, accounts: 700, positions: 2_000 };
    const memory = createSharedMemory(layoutBytes(capacity) + 1024);
    const layout = new BookLayout(memory, 1024, capacity);
    layout.setInstrumentCount(3);
    layout.setAccountCount(600);
    const header = new Uint32Array(memory.buffer, layout.header, HEADER_SLOTS);
    let previous = layout.header;
    for (const name of [...columns, 'sweepRecords', 'chunks', 'instChunks'] as const) {
      expect(header[HeaderSlot[name]], name).toBeGreaterThan(previous);
      previous = header[HeaderSlot[name]];
    }
    expect(header[HeaderSlot.chunks] + chunksOf(capacity.accounts) * CHUNK_META_BYTES).toBeLessThanOrEqual(header[HeaderSlot.instChunks]);
    // The map of chunks by instrument: a bit per chunk of the capacity's accounts, per instrument, all clear.
    expect(header[HeaderSlot.instChunkWords]).toBe(Math.ceil(chunksOf(capacity.accounts) / 32));
    const map = new Uint32Array(memory.buffer, header[HeaderSlot.instChunks], 3 * header[HeaderSlot.instChunkWords]);
    expect(map.every((word) => word === 0)).toBe(true);
    expect(header[HeaderSlot.instChunks] + map.byteLength).toBeLessThanOrEqual(layout.end);
    expect(header[HeaderSlot.instrumentCount]).toBe(3);
    expect(header[HeaderSlot.accountCount]).toBe(600);
    // The records region's size, for the kernel to place chunk areas in, and none placed yet.
    expect(header[HeaderSlot.recordsBytes]).toBe(header[HeaderSlot.chunks] - header[HeaderSlot.sweepRecords]);
    expect(header[HeaderSlot.recordsTail]).toBe(0);
    // No funding refresh deferred: the kernel writes these when it defers one.
    for (const name of ['fundingSlots', 'fundingAge', 'sweepSerial'] as const) expect(header[HeaderSlot[name]], name).toBe(0);
    // No compaction under way, and one to start once the tail leaves less than 1/COMPACT_START_SHARE of the region free.
    for (const name of COMPACTION_SLOTS.filter((slot) => slot !== 'compactStartFree')) expect(header[HeaderSlot[name]], name).toBe(0);
    expect(header[HeaderSlot.compactState]).toBe(kernelU32('COMPACT_IDLE'));
    expect(header[HeaderSlot.compactStartFree]).toBe(Math.floor(header[HeaderSlot.recordsBytes] / kernelU32('COMPACT_START_SHARE')));
    // Each area of a layout of the whole book gets CHUNK_ROOM_MIN records of room unless told
    // otherwise, never more (the region holds every chunk with that much), and a whole number.
    expect(header[HeaderSlot.layoutRoom]).toBe(kernelU32('CHUNK_ROOM_MIN'));
    expect(new Uint32Array(memory.buffer, new BookLayout(memory, layout.end, capacity, 0).header, HEADER_SLOTS)[HeaderSlot.layoutRoom]).toBe(0);
    for (const room of [-1, 1.5, kernelU32('CHUNK_ROOM_MIN') + 1]) {
      expect(() => new BookLayout(memory, layout.end, capacity, room)).toThrow(new RegExp(`^layoutRoom: ${room} records; an integer from 0 to ${kernelU32('CHUNK_ROOM_MIN')}$`));
    }
  });

  test("the layout's views have fast properties: the control plane reads one per position in its loops", () => {
    // An object filled by computed keys goes to V8's dictionary mode, where every `views.x` is a
    // lookup in a hash table. V8's own check, through its natives syntax (enabled for this
    // function only; the flag is read when a function is compiled).
    setFlagsFromString('--allow-natives-syntax');
    const hasFastProperties = new Function('object', 'return %HasFastProperties(object)') as (object: object) => boolean;
    const filledByKeys: Record<string, number> = {};
    for (let k = 0; k < 28; k++) filledByKeys[`column${k}`] = k;
    expect(hasFastProperties(filledByKeys)).toBe(false); // the check can tell
    const capacity = { instruments: 3, accounts: 700, positions: 2_000 };
    const memory = createSharedMemory(layoutBytes(capacity) + 1024);
    const layout = new BookLayout(memory, 1024, capacity);
    expect(Object.keys(layout.views)).toEqual(COLUMNS.map((column) => column.name));
    expect(hasFastProperties(layout.views)).toBe(true);
  });

  test("every layout's views share one hidden class, from a process's first layouts on: code optimized on one engine's views stays valid for the next engine's", () => {
    // In a fresh process (the built code, as bin/liq.js runs it): V8 keeps a hidden class for an
    // object spread once the spread has run a few times, so only a process's first layouts show
    // whether each one gets a class of its own, as the warm-up's book and the loaded book did with
    // a spread copy (the loaded book's first update then threw away the code optimized on the
    // warm-up's). The child reports for the first three layouts.
    const script = `
      import { BookLayout, createSharedMemory, layoutBytes } from './dist/src/memory/layout.js';
      const same = (a, b) => %HaveSameMap(a, b);
      const capacities = [{ instruments: 3, accounts: 700, positions: 2000 }, { instruments: 1, accounts: 5, positions: 9 }, { instruments: 2, accounts: 9, positions: 9 }];
      const layouts = capacities.map((capacity) => new BookLayout(createSharedMemory(layoutBytes(capacity) + 1024), 1024, capacity));
      console.log(JSON.stringify({ layouts: [same(layouts[0].views, layouts[1].views), same(layouts[1].views, layouts[2].views)], length: layouts[1].views.accBalance.length }));
    `;
    const report = JSON.parse(execFileSync('node', ['--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8' }));
    expect(report).toEqual({ layouts: [true, true], length: 5 });
  });
});

describe('the shard record', () => {
  test('every field the kernel defines has a word here, each within SHARD_RECORD_BYTES', () => {
    const names = Object.keys(ShardSlot) as Array<keyof typeof ShardSlot>;
    const fields = [...kernel.keys()].filter((name) => name.startsWith('SHARD_') && !['SHARD_RECORD_BYTES', 'SHARD_FIELDS_END'].includes(name));
    expect(names.map((name) => `SHARD_${upperSnake(name)}`).sort()).toEqual(fields.sort());
    for (const name of names) expect(ShardSlot[name] * 4, name).toBe(kernel.get(`SHARD_${upperSnake(name)}`));
    const words = names.map((name) => ShardSlot[name]);
    expect(new Set(words).size).toBe(words.length);
    for (const word of words) expect(Number.isInteger(word) && (word + 1) * 4 <= SHARD_RECORD_BYTES).toBe(true);
    expect(kernelU32('SHARD_FIELDS_END')).toBeLessThanOrEqual(SHARD_RECORD_BYTES);
  });

  test('list entries: u32 pairs, and the cross pool slot is no position slot', () => {
    expect(LIST_ENTRY_BYTES).toBe(2 * Uint32Array.BYTES_PER_ELEMENT);
    // Position slots are u32 indices into a wasm32 memory, each at least 8 bytes a slot: never 2^32 − 1.
    expect(SLOT_CROSS).toBe(2 ** 32 - 1);
  });

  test('the sweep flags are distinct bits', () => {
    expect(SWEEP_FULL & SWEEP_CHUNKS).toBe(0);
    expect([SWEEP_FULL, SWEEP_CHUNKS].every((flag) => flag > 0 && (flag & (flag - 1)) === 0)).toBe(true);
  });
});

describe('the regions JavaScript sizes for the kernel', () => {
  test("a shard's chunk sums hold both sums of every account of a chunk", () => {
    const maintOffset = kernelU32('CHUNK_MAINT_OFFSET');
    const sum = kernelU32('CHUNK_SUM_BYTES');
    expect(sum).toBe(BigInt64Array.BYTES_PER_ELEMENT);
    expect(maintOffset).toBeGreaterThanOrEqual(CHUNK_ACCOUNTS * sum);
    expect(maintOffset + CHUNK_ACCOUNTS * sum).toBeLessThanOrEqual(CHUNK_SCRATCH_BYTES);
  });

  test('the sweep records region holds every chunk of records however the modes are mixed', () => {
    // Per slot room for either record, per account room for its cross base.
    expect(kernelU32('CROSS_RECORD_BYTES')).toBeLessThanOrEqual(SWEEP_RECORD_SLOT_BYTES);
    expect(kernelU32('ISOLATED_RECORD_BYTES')).toBeLessThanOrEqual(SWEEP_RECORD_SLOT_BYTES);
    expect(SWEEP_BASE_BYTES).toBe(BigInt64Array.BYTES_PER_ELEMENT);
    // An isolated record names its slot by its account in the chunk and its index in the account's
    // block, a byte each; an account's counts of each kind take a byte of accRecords.
    expect(CHUNK_ACCOUNTS).toBeLessThanOrEqual(0x100);
    expect(constants.POSITIONS_PER_ACCOUNT_MAX).toBeLessThanOrEqual(0xff);
    // Packed with their room to grow, every chunk's records fit the region, whatever the modes.
    const capacity = { instruments: 1, accounts: 1_000, positions: 50_000 };
    const room = (records: number) => records + Math.max(kernelU32('CHUNK_ROOM_MIN'), Math.floor(records / kernelU32('CHUNK_ROOM_SHARE')));
    const chunks = chunksOf(capacity.accounts);
    const worst = chunks * room(Math.ceil(capacity.positions / chunks)) * SWEEP_RECORD_SLOT_BYTES + capacity.accounts * SWEEP_BASE_BYTES;
    const memory = createSharedMemory(layoutBytes(capacity) + 1024);
    const layout = new BookLayout(memory, 1024, capacity);
    const header = new Uint32Array(memory.buffer, layout.header, HEADER_SLOTS);
    expect(header[HeaderSlot.recordsBytes]).toBeGreaterThanOrEqual(worst);
  });

  test("a chunk's meta: five u32 words, the state one of them", () => {
    const words = ['CHUNK_OFFSET', 'CHUNK_CROSS', 'CHUNK_ISOLATED', 'CHUNK_STATE', 'CHUNK_CAPACITY'].map((name) => kernelU32(name));
    expect(new Set(words).size).toBe(5);
    for (const offset of words) expect(offset % 4 === 0 && offset + 4 <= CHUNK_META_BYTES).toBe(true);
    expect(new Set(['CHUNK_FRESH', 'CHUNK_REBUILD', 'CHUNK_UNLAID'].map((name) => kernelU32(name))).size).toBe(3);
  });

  test('the instrument cache: a stride of whole cache lines, holding every part of an instrument', () => {
    // Engine.region hands out 64-byte aligned regions: each instrument's floors stay v128-aligned.
    expect(CACHE_STRIDE % 64).toBe(0);
    expect(kernelU32('CACHE_FLOORS') % 16).toBe(0);
    expect(kernelU32('CACHE_MARK_SHORT') + 8).toBeLessThanOrEqual(CACHE_STRIDE);
    const tiers = constants.TIERS_MAX;
    expect(kernelU32('CACHE_TIERS') + tiers * kernelU32('CACHE_TIER_BYTES')).toBeLessThanOrEqual(kernelU32('CACHE_ENTRIES'));
    expect(kernelU32('CACHE_ENTRIES') + tiers * kernelU32('CACHE_ENTRY_BYTES')).toBeLessThanOrEqual(kernelU32('CACHE_MARK_LONG'));
  });
});
