// Progress bars for long work (`liq gen`, loading a large binary book, `sweep --repeat`), drawn by
// cli-progress on standard error. Only on a terminal: when stderr is a file or a pipe, or under CI,
// there is no bar and nothing is written (docs/cli.md).
import { SingleBar } from 'cli-progress';
import type { Writable } from 'node:stream';

export interface Progress {
  /** `done` of `total` units so far (the first call starts the bar). */
  update(done: number, total: number): void;
  /** Clears the bar (a no-op when none was drawn). */
  stop(): void;
}

const NONE: Progress = { update() {}, stop() {} };

/** Whether a bar is drawn on `stream`: a terminal, and not under CI. */
export function showsProgress(stream: Writable): boolean {
  const ci = process.env.CI;
  return (stream as Writable & { isTTY?: boolean }).isTTY === true && (ci === undefined || ci === '' || ci === 'false' || ci === '0');
}

/**
 * A bar labelled `label` on `stream` (stderr), or one that does nothing when showsProgress says no.
 * `unit` formats the counts: 'bytes' shows MiB.
 */
export function progressBar(stream: Writable, label: string, unit: 'count' | 'bytes' = 'count'): Progress {
  if (!showsProgress(stream)) return NONE;
  const scale = unit === 'bytes' ? 2 ** 20 : 1;
  const suffix = unit === 'bytes' ? ' MiB' : '';
  const bar = new SingleBar({
    stream: stream as NodeJS.WriteStream,
    format: `${label} [{bar}] {percentage}% | {value}/{total}${suffix} | {eta_formatted} left`,
    barsize: 30,
    hideCursor: true,
    clearOnComplete: true,
    etaBuffer: 50,
    fps: 10,
    formatValue: (value: number, _options: unknown, type: string) =>
      type === 'value' || type === 'total' ? Math.round(value / scale).toLocaleString('en-US') : String(value),
  });
  let started = false;
  return {
    update(done: number, total: number) {
      if (!started) {
        bar.start(total, done);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done);
      }
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
