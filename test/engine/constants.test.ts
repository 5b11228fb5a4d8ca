// The kernel cannot import from src/, so assembly/constants.ts and assembly/layout.ts repeat a few
// values. These tests read the AssemblyScript sources and hold each repeated value to its twin.
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import * as constants from '../../src/fixed/constants.js';
import {
  CACHE_STRIDE,
  CHUNK_ACCOUNTS,
  CHUNK_META_BYTES,
  CHUNK_SCRATCH_BYTES,
  HEADER_SLOTS,
  SWEEP_BASE_BYTES,
  SWEEP_COMPACT,
  SWEEP_RECORD_SLOT_BYTES,
  HeaderSlot,
  SHARD_RECORD_BYTES,
  SLOT_CROSS,
  SWEEP_FULL,
  ShardSlot,
} from '../../src/memory/layout.js';

function assemblyConstants(file: string): Map<string, bigint> {
  const source = readFileSync(file, 'utf8');
  const values = new Map<string, bigint>();
  for (const match of source.matchAll(/export const (\w+): \w+ = (-?(?:0x[\da-f_]+|[\d_]+));/g)) {
    values.set(match[1], BigInt(match[2].replace(/_/g, '')));
  }
  return values;
}

describe('assembly/constants.ts mirrors src/fixed/constants.ts', () => {
  const mirrored = assemblyConstants('assembly/constants.ts');

  test('scales, ranges, status and mode codes', () => {
    expect(mirrored.get('SCALE_6')).toBe(constants.QUOTE_SCALE);
    expect(mirrored.get('SCALE_6')).toBe(constants.RATE_SCALE);
    expect(mirrored.get('SCALE_6')).toBe(constants.FUNDING_EXTRA_SCALE);
    expect(mirrored.get('PRICE_UNITS_MAX')).toBe(constants.PRICE_UNITS_MAX);
    expect(mirrored.get('TIERS_MAX')).toBe(BigInt(constants.TIERS_MAX));
    expect(mirrored.get('STATUS_HEALTHY')).toBe(BigInt(constants.STATUS_HEALTHY));
    expect(mirrored.get('STATUS_LIQUIDATABLE')).toBe(BigInt(constants.STATUS_LIQUIDATABLE));
    expect(mirrored.get('STATUS_BANKRUPT')).toBe(BigInt(constants.STATUS_BANKRUPT));
    expect(mirrored.get('MODE_CROSS')).toBe(BigInt(constants.MODE_CROSS));
    expect(mirrored.get('MODE_ISOLATED')).toBe(BigInt(constants.MODE_ISOLATED));
    expect(mirrored.get('PRICE_NONE')).toBe(0n);
  });
});

describe('assembly/layout.ts mirrors src/memory/layout.ts', () => {
  const slots = assemblyConstants('assembly/layout.ts');

  test('every header slot has the same index on both sides', () => {
    const names = Object.keys(HeaderSlot) as Array<keyof typeof HeaderSlot>;
    for (const name of names) {
      const key = `H_${name.replace(/([A-Z])/g, '_$1').toUpperCase()}`; // posMaint ↔ H_POS_MAINT
      expect(slots.get(key), `${name} ↔ ${key}`).toBe(BigInt(HeaderSlot[name]));
    }
    expect(slots.get('HEADER_SLOTS')).toBe(BigInt(HEADER_SLOTS));
    // Every H_ slot on the AssemblyScript side has a TypeScript twin.
    expect([...slots.keys()].filter((k) => k.startsWith('H_')).length).toBe(names.length);
  });
});

describe('the shard record and the instrument cache', () => {
  const layout = assemblyConstants('assembly/layout.ts');
  const kernel = assemblyConstants('assembly/index.ts');

  test('every shard slot is at the same byte offset on both sides', () => {
    const names = Object.keys(ShardSlot) as Array<keyof typeof ShardSlot>;
    for (const name of names) {
      const key = `SHARD_${name.replace(/([A-Z])/g, '_$1').toUpperCase()}`; // listCapacity ↔ SHARD_LIST_CAPACITY
      expect(layout.get(key), `${name} ↔ ${key}`).toBe(BigInt(ShardSlot[name] * 4));
    }
    expect(layout.get('SHARD_RECORD_BYTES')).toBe(BigInt(SHARD_RECORD_BYTES));
    expect(BigInt(names.length * 4)).toBeLessThanOrEqual(layout.get('SHARD_RECORD_BYTES')!);
    expect([...layout.keys()].filter((k) => k.startsWith('SHARD_') && k !== 'SHARD_RECORD_BYTES').length).toBe(names.length);
  });

  test('the chunk sweep: chunk size, record room, chunk meta and sums', () => {
    expect(layout.get('CHUNK_ACCOUNTS')).toBe(BigInt(CHUNK_ACCOUNTS));
    expect(layout.get('SWEEP_RECORD_SLOT_BYTES')).toBe(BigInt(SWEEP_RECORD_SLOT_BYTES));
    expect(layout.get('SWEEP_BASE_BYTES')).toBe(BigInt(SWEEP_BASE_BYTES));
    expect(layout.get('CHUNK_META_BYTES')).toBe(BigInt(CHUNK_META_BYTES));
    expect(layout.get('CHUNK_SCRATCH_BYTES')).toBe(BigInt(CHUNK_SCRATCH_BYTES));
    // Each slot has room for either record, and the sums of a whole chunk fit the scratch.
    expect(layout.get('CROSS_RECORD_BYTES')!).toBeLessThanOrEqual(BigInt(SWEEP_RECORD_SLOT_BYTES));
    expect(layout.get('ISOLATED_RECORD_BYTES')!).toBeLessThanOrEqual(BigInt(SWEEP_RECORD_SLOT_BYTES));
    expect(layout.get('CHUNK_MAINT_OFFSET')!).toBeGreaterThanOrEqual(BigInt(CHUNK_ACCOUNTS * 8));
    expect(layout.get('CHUNK_MAINT_OFFSET')! + BigInt(CHUNK_ACCOUNTS * 8)).toBeLessThanOrEqual(BigInt(CHUNK_SCRATCH_BYTES));
    // An isolated record keeps its slot in 16 bits and its account in 8: a chunk's positions and accounts fit.
    expect(CHUNK_ACCOUNTS * constants.POSITIONS_PER_ACCOUNT_MAX).toBeLessThanOrEqual(0x1_0000);
    expect(CHUNK_ACCOUNTS).toBeLessThanOrEqual(0x100);
    expect(kernel.get('SWEEP_COMPACT')).toBe(BigInt(SWEEP_COMPACT));
  });

  test('list entries, the sweep flag and the cache stride', () => {
    expect(layout.get('SLOT_CROSS')).toBe(BigInt(SLOT_CROSS));
    expect(kernel.get('SWEEP_FULL')).toBe(BigInt(SWEEP_FULL));
    expect(layout.get('CACHE_STRIDE')).toBe(BigInt(CACHE_STRIDE));
    // The cache's last tier record ends inside the stride, and v128 floor loads stay 16-byte aligned.
    const tiersEnd = layout.get('CACHE_TIERS')! + 16n * layout.get('CACHE_TIER_BYTES')!;
    expect(tiersEnd).toBeLessThanOrEqual(layout.get('CACHE_ENTRIES')!);
    const entriesEnd = layout.get('CACHE_ENTRIES')! + 16n * layout.get('CACHE_ENTRY_BYTES')!;
    expect(entriesEnd).toBeLessThanOrEqual(layout.get('CACHE_MARK_LONG')!);
    expect(layout.get('CACHE_MARK_SHORT')! + 8n).toBeLessThanOrEqual(BigInt(CACHE_STRIDE));
    expect(BigInt(CACHE_STRIDE) % 64n).toBe(0n);
  });
});
