// Hostile input, as a property: random byte strings and random mutations of the example books
// (JSON and binary). For every one, `liq eval` (every case) and `liq sweep` (one case in 50: each
// opens a worker pool) either succeed or exit 1 or 2 with exactly one line on stderr, naming the
// file, with no stack trace and no character that breaks or hides part of the line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBookModel } from '../../src/book/binary.js';
import { parseBookJson } from '../../src/book/json.js';
import { runCli } from '../support/cli.js';

const CASES = 2000;
const SWEEP_EVERY = 50;

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'liq-hostile-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const seeds: Uint8Array[] = ['design', 'crash', 'at-entry', 'sample'].flatMap((name) => {
  const text = readFileSync(`examples/${name}.json`, 'utf8');
  return [new TextEncoder().encode(text), encodeBookModel(parseBookJson(text))];
});

/** A mutation of `bytes`: flips, overwrites with a tricky byte or character, cuts, inserts, repeats. */
const mutation = (bytes: Uint8Array) =>
  fc
    .array(
      fc.record({
        kind: fc.constantFrom('flip', 'set', 'cut', 'insert', 'repeat', 'text'),
        at: fc.nat(),
        length: fc.integer({ min: 1, max: 64 }),
        byte: fc.constantFrom(0x00, 0x0a, 0x0d, 0x22, 0x2c, 0x2d, 0x30, 0x39, 0x5b, 0x5c, 0x7b, 0x7d, 0x7f, 0x80, 0xc2, 0xe2, 0xef, 0xff),
        bit: fc.integer({ min: 0, max: 7 }),
        text: fc.constantFrom('\u2028', '\u2029', '\u0085', '\ufeff', '\u202e', '\u200b', '"', '\\', '1e999', '-0', '99999999999999999999999', 'null', '{}', '[]'),
      }),
      { minLength: 1, maxLength: 4 },
    )
    .map((edits) => {
      let out = Uint8Array.from(bytes);
      for (const edit of edits) {
        const at = out.length === 0 ? 0 : edit.at % out.length;
        switch (edit.kind) {
          case 'flip':
            if (out.length > 0) out[at] ^= 1 << edit.bit;
            break;
          case 'set':
            if (out.length > 0) out[at] = edit.byte;
            break;
          case 'cut':
            out = Uint8Array.from([...out.subarray(0, at), ...out.subarray(at + edit.length)]);
            break;
          case 'insert':
            out = Uint8Array.from([...out.subarray(0, at), edit.byte, ...out.subarray(at)]);
            break;
          case 'repeat':
            out = Uint8Array.from([...out.subarray(0, at + edit.length), ...out.subarray(at, at + edit.length), ...out.subarray(at + edit.length)]);
            break;
          case 'text':
            out = Uint8Array.from([...out.subarray(0, at), ...new TextEncoder().encode(edit.text), ...out.subarray(at)]);
            break;
        }
      }
      return out;
    });

const input = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }) },
  { weight: 3, arbitrary: fc.constantFrom(...seeds).chain(mutation) },
);

/** What a run must look like: success, or exit 1 or 2 with one clean line that names the file. */
function expectOneLine(result: { code: number; stdout: string; stderr: string }, command: string, path: string): void {
  if (result.code === 0) {
    expect(result.stderr).toBe('');
    return;
  }
  expect([1, 2]).toContain(result.code);
  expect(result.stdout).toBe('');
  expect(result.stderr.endsWith('\n')).toBe(true);
  const line = result.stderr.slice(0, -1);
  expect(line).not.toMatch(/[\n\r\u000b\u000c\u0085\u2028\u2029]/u);
  expect(line).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u);
  expect(line).not.toMatch(/\n\s+at /);
  expect(line.startsWith(`liq ${command}: ${path}: `)).toBe(true);
}

describe('liq on hostile books', () => {
  it(`eval (and sweep, one in ${SWEEP_EVERY}) give success or one clean line, on ${CASES} random and mutated books`, async () => {
    let k = 0;
    const outcomes = { ok: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(input, async (bytes) => {
        const path = join(scratch, `case-${k}.book`);
        writeFileSync(path, bytes);
        const evaluated = await runCli(['eval', path]);
        expectOneLine(evaluated, 'eval', path);
        outcomes[evaluated.code === 0 ? 'ok' : 'refused']++;
        if (k % SWEEP_EVERY === 0) expectOneLine(await runCli(['sweep', path, '--threads=1', '--repeat=1', '--list=0']), 'sweep', path);
        rmSync(path);
        k++;
      }),
      { numRuns: CASES },
    );
    // Both sides are reached: some mutations still load (a flipped digit), most do not.
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(CASES / 2);
  }, 600_000);
});
