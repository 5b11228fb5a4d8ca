// Engine.region: the scratch regions above the book. A name keeps its region while it is big
// enough; a bigger request moves it, and the region it leaves is free for another name from the
// next call on (HotBook.grow copies from it first), merged with free neighbours, or lowers the top.
// A request takes what it needs of a free region. Regions in use never overlap.
import { describe, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { generateBook, generatedBookToBook } from '../../src/gen/generate.js';
import { prng } from '../../bench/workload.js';

function smallEngine(): Engine {
  return Engine.fromBook(generatedBookToBook(generateBook({ profile: 'stress', accounts: 50, seed: 1, instruments: 2 })));
}

describe('Engine.region', () => {
  test('a name keeps its region while it is big enough; a bigger request moves it and frees the old one for the next call', () => {
    const engine = smallEngine();
    const a = engine.region('test.a', 1_024);
    expect(engine.region('test.a', 512)).toBe(a);
    expect(engine.region('test.a', 1_024)).toBe(a);
    new Uint8Array(engine.memory.buffer, a, 1_024).fill(7);
    const leftBefore = engine.memoryUse.left;
    const moved = engine.region('test.a', 4_096);
    expect(moved).not.toBe(a);
    expect(engine.memoryUse.left).toBe(leftBefore + 1_024);
    // The old bytes stand until another call: a caller copies them to the new place.
    expect(new Uint8Array(engine.memory.buffer, a, 1_024).every((b) => b === 7)).toBe(true);
    // The next name that fits takes the free region; one that does not fit takes a new one.
    expect(engine.region('test.b', 1_000)).toBe(a);
    expect(engine.memoryUse.left).toBe(leftBefore);
    const c = engine.region('test.c', 1_024);
    expect(c).not.toBe(a);
    expect(c).toBeGreaterThan(moved);
  });

  test('a request takes what it needs of the smallest free region that fits, and the rest stays free', () => {
    const engine = smallEngine();
    const small = engine.region('test.small', 1_024);
    engine.region('test.wall.1', 64); // keeps the two apart
    const large = engine.region('test.large', 8_192);
    engine.region('test.wall.2', 64);
    engine.region('test.small', 16_384); // frees 1 KiB
    engine.region('test.large', 65_536); // frees 8 KiB
    expect(engine.memoryUse.left).toBe(1_024 + 8_192);
    expect(engine.region('test.x', 2_048)).toBe(large);
    expect(engine.memoryUse.left).toBe(1_024 + 8_192 - 2_048);
    expect(engine.region('test.y', 512)).toBe(small); // 1 KiB is the smallest that fits
    expect(engine.region('test.z', 6_000)).toBe(large + 2_048); // the rest of the 8 KiB, to the next cache line
    expect(engine.memoryUse.left).toBe(1_024 - 512 + 8_192 - 2_048 - 6_016);
  });

  test('free regions next to each other merge, so that a larger request takes their pages', () => {
    const engine = smallEngine();
    const a = engine.region('test.a', 1_000); // owns up to the next cache line: 1,024 bytes
    const b = engine.region('test.b', 3_072);
    expect(b).toBe(a + 1_024);
    engine.region('test.wall', 64);
    engine.region('test.a', 65_536); // frees 1 KiB
    engine.region('test.b', 65_536); // frees 3 KiB next to it: one free region of 4 KiB
    expect(engine.memoryUse.left).toBe(4_096);
    expect(engine.region('test.c', 4_096)).toBe(a);
    expect(engine.memoryUse.left).toBe(0);
  });

  test('a region at the top that moves down into a free one lowers the top: the next new region starts there', () => {
    const engine = smallEngine();
    const a = engine.region('test.a', 1_024);
    engine.region('test.b', 1_024);
    engine.region('test.a', 3_072); // to the top; 1 KiB free
    engine.region('test.b', 2_048); // to the top; its 1 KiB merges: 2 KiB free
    const top = engine.region('test.a', 4_096); // to the top; its 3 KiB merges: 5 KiB free
    expect(engine.memoryUse.left).toBe(5_120);
    expect(engine.region('test.a', 5_120)).toBe(a); // down into the free 5 KiB, leaving the top
    expect(engine.memoryUse.left).toBe(0);
    expect(engine.region('test.d', 100_000)).toBe(top);
  });

  test('a request past the 4 GiB of a wasm32 memory is refused in one line, and changes nothing', () => {
    const engine = smallEngine();
    const a = engine.region('test.a', 1_024);
    const b = engine.region('test.b', 512);
    engine.region('test.b', 4_096); // leaves its 512 bytes free
    const before = engine.memoryUse;
    expect(() => engine.region('test.a', 2 ** 32)).toThrow(/^no room for the scratch region test\.a \(4294967296 bytes\): .* above the 4 GiB a wasm32 memory holds/);
    expect(engine.memoryUse).toEqual(before);
    expect(engine.region('test.a', 0)).toBe(a); // the name kept its region
    expect(engine.region('test.c', 512)).toBe(b); // the free region is still free
    expect(engine.memoryUse.left).toBe(0);
  });

  test('random requests: the regions in use never overlap and each holds what its name wrote', () => {
    const engine = smallEngine();
    const random = prng(11);
    const held = new Map<string, { offset: number; bytes: number; fill: number }>();
    let top = 0;
    let reused = 0;
    for (let step = 0; step < 2_000; step++) {
      const name = `test.${Math.floor(random() * 12)}`;
      const bytes = 16 + Math.floor(random() ** 3 * 200_000);
      const offset = engine.region(name, bytes);
      if (offset !== held.get(name)?.offset && offset < top) reused++; // placed below the top: a free region
      top = Math.max(top, offset + bytes);
      const fill = step % 251;
      new Uint8Array(engine.memory.buffer, offset, bytes).fill(fill);
      held.set(name, { offset, bytes, fill });
      // Every name's bytes are still its own: nothing else was placed over them.
      for (const [other, region] of held) {
        const bytesNow = Buffer.from(engine.memory.buffer, region.offset, region.bytes);
        expect(bytesNow.equals(Buffer.alloc(region.bytes, region.fill)), `${other} after step ${step}`).toBe(true);
      }
    }
    const spans = [...held.values()].sort((x, y) => x.offset - y.offset);
    for (let k = 1; k < spans.length; k++) expect(spans[k].offset).toBeGreaterThanOrEqual(spans[k - 1].offset + spans[k - 1].bytes);
    expect(reused).toBeGreaterThan(10);
  });

  test('a layout moved above a region that is then let go keeps its header: the region frees no byte of it', () => {
    // The regression: a region of 80 bytes at the top left the top off a cache line; the arena's
    // growth put the new layout right there, and the region, let go, was given back up to its end
    // rounded up to the line, over the layout's header. A later region there wrote over the header
    // (the production-path test's book 9: every price of an account read as none).
    const engine = smallEngine();
    engine.region('test.low', 80);
    engine.reserveFreeSlots(engine.layout.capacity.positions); // the arena grows: a new layout at the top
    const header = engine.layout.header;
    expect(header % 64).toBe(0);
    const before = new Uint32Array(engine.memory.buffer, header, 64).slice();
    // Let the low region go, and have others take every byte free below the layout.
    engine.region('test.low', 1 << 20);
    for (let k = 0; k < 8; k++) {
      const at = engine.region(`test.fill.${k}`, 96);
      new Uint8Array(engine.memory.buffer, at, 96).fill(0xff);
    }
    expect(new Uint32Array(engine.memory.buffer, header, 64)).toEqual(before);
    const spans = [...(engine as unknown as { regions: Map<string, { offset: number; bytes: number }> }).regions.values()];
    for (const span of spans) expect(span.offset + span.bytes <= header || span.offset >= engine.layout.end, `a region at ${span.offset} over the layout`).toBe(true);
  });
});
