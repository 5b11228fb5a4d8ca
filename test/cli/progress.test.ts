// Progress bars on long work: drawn on a terminal, never on a file or a pipe, never under CI.
import { afterEach, describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { progressBar, showsProgress } from '../../src/cli/progress.js';

/** A stream that says it is a terminal, collecting what is drawn on it. */
function terminal(): { stream: PassThrough & { isTTY?: boolean; columns?: number }; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 100 });
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

const ci = process.env.CI;
afterEach(() => {
  if (ci === undefined) delete process.env.CI;
  else process.env.CI = ci;
});

describe('progress bars', () => {
  it('draws on a terminal, with the label, the share done and the counts', () => {
    delete process.env.CI;
    const { stream, text } = terminal();
    expect(showsProgress(stream)).toBe(true);
    const bar = progressBar(stream, 'generating');
    bar.update(0, 1_000_000);
    bar.update(500_000, 1_000_000);
    bar.stop();
    expect(text()).toContain('generating [');
    expect(text()).toMatch(/\d+% \| [\d,]+\/1,000,000/);
  });

  it('shows bytes as MiB', () => {
    delete process.env.CI;
    const { stream, text } = terminal();
    const bar = progressBar(stream, 'loading', 'bytes');
    bar.update(0, 512 * 2 ** 20);
    bar.stop();
    expect(text()).toContain('/512 MiB');
  });

  it('stays quiet when stderr is not a terminal, and under CI', () => {
    delete process.env.CI;
    const pipe = new PassThrough();
    const written: Buffer[] = [];
    pipe.on('data', (chunk: Buffer) => written.push(chunk));
    const bar = progressBar(pipe, 'generating');
    bar.update(1, 2);
    bar.stop();
    expect(written).toHaveLength(0);
    process.env.CI = 'true';
    const { stream, text } = terminal();
    expect(showsProgress(stream)).toBe(false);
    const quiet = progressBar(stream, 'generating');
    quiet.update(1, 2);
    quiet.stop();
    expect(text()).toBe('');
  });
});
