// The chunk sweep's records as the tests see them: the header, the chunks' metas, their states and
// areas, and every chunk's records and cross bases as bytes (the records region is the kernel's own).
import { expect } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { CHUNK_META_BYTES, HEADER_SLOTS, HeaderSlot, CHUNK_ACCOUNTS, SWEEP_BASE_BYTES, SWEEP_RECORD_SLOT_BYTES, chunksOf } from '../../src/memory/layout.js';
import { kernelU32 } from '../../src/engine/kernel-constants.js';

export const W = CHUNK_META_BYTES / 4;
export const word = (name: string): number => kernelU32(name) / 4;

export function header(engine: Engine): Uint32Array {
  return new Uint32Array(engine.memory.buffer, engine.layout.header, HEADER_SLOTS);
}

export function chunkMeta(engine: Engine): Uint32Array {
  return new Uint32Array(engine.memory.buffer, header(engine)[HeaderSlot.chunks], chunksOf(engine.accountCount) * W);
}

/** Each chunk's state and where its area is: a funding update must change neither. */
export function placement(engine: Engine): Array<{ state: number; offset: number }> {
  const meta = chunkMeta(engine);
  return Array.from({ length: chunksOf(engine.accountCount) }, (_, chunk) => ({ state: meta[chunk * W + word('CHUNK_STATE')], offset: meta[chunk * W + word('CHUNK_OFFSET')] }));
}

/**
 * Every chunk's records and cross bases as bytes (the records region is the kernel's own), with its
 * counts of cross and isolated records, and the instruments' drifts (long, short) then.
 */
export function records(engine: Engine): { chunks: Buffer[]; cross: number[]; isolated: number[]; drifts: bigint[][] } {
  const meta = chunkMeta(engine);
  const region = header(engine)[HeaderSlot.sweepRecords];
  const v = engine.views;
  const drifts = engine.instruments.map((_, i) => [v.instDriftLong[i], v.instDriftShort[i]]);
  const kept = { chunks: [] as Buffer[], cross: [] as number[], isolated: [] as number[], drifts };
  for (let chunk = 0; chunk < chunksOf(engine.accountCount); chunk++) {
    const at = (name: string) => meta[chunk * W + word(name)];
    const accounts = Math.min(CHUNK_ACCOUNTS, engine.accountCount - chunk * CHUNK_ACCOUNTS);
    const bytes = (at('CHUNK_CROSS') + at('CHUNK_ISOLATED')) * SWEEP_RECORD_SLOT_BYTES + accounts * SWEEP_BASE_BYTES;
    kept.chunks.push(Buffer.from(new Uint8Array(engine.memory.buffer, region + at('CHUNK_OFFSET'), bytes)));
    kept.cross.push(at('CHUNK_CROSS'));
    kept.isolated.push(at('CHUNK_ISOLATED'));
  }
  return kept;
}

/**
 * Fails with the first difference between two lists of values (a whole-list diff of thousands of
 * entries would take the test runner minutes to format).
 */
export function expectSameList(actual: ArrayLike<unknown>, expected: ArrayLike<unknown>, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let k = 0; k < actual.length; k++) {
    if (actual[k] !== expected[k]) expect.fail(`${what}: first difference at ${k}: ${String(actual[k])}, expected ${String(expected[k])}`);
  }
}

