import cliProgress from 'cli-progress';

import type { JobView } from '../engine/index.js';
import { InterruptedError, StoppedWaitingError, type CommandIo } from './context.js';

/**
 * How every command shows things: one progress bar, one table, one byte size, one clock, and one way to
 * follow a job while something waits for it. Pure functions apart from the bar, which draws on a terminal.
 */

/** A progress bar; it draws nothing on a pipe or a file. */
export interface ProgressBar {
  /** `done` of `total`, with `detail` (`3/20 done | 0 failed`) shown after the percentage. */
  update(done: number, total: number, detail?: string): void;
  stop(): void;
}

/**
 * `label [████░░░░] 42% | detail | 12s` on `stream` when it is a terminal. It starts on the first
 * update, since a job's size is known only once its first progress arrives.
 */
export function progressBar(stream: CommandIo['stderr'], label: string): ProgressBar {
  if (!stream.isTTY) return { update: () => undefined, stop: () => undefined };
  let bar: cliProgress.SingleBar | undefined;
  const payload = (detail: string | undefined): { detail: string } => ({ detail: detail === undefined || detail === '' ? '' : ` | ${detail}` });
  return {
    update: (done, total, detail) => {
      if (bar === undefined) {
        bar = new cliProgress.SingleBar(
          { format: `${label} [{bar}] {percentage}%{detail} | {duration_formatted}`, stream, hideCursor: true, clearOnComplete: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, done, payload(detail));
        return;
      }
      if (total !== bar.getTotal()) bar.setTotal(total);
      bar.update(done, payload(detail));
    },
    stop: () => bar?.stop(),
  };
}

/** Follows a job while something waits for it: see {@link followJob}. */
export interface JobFollower {
  /** Give it the job on every change: the `onProgress` of `JobmanClient.waitForJob` or of an RS-UDF job. */
  readonly onProgress: (job: JobView) => void;
  /** The job as last seen: after a wait, as it ended. */
  readonly last: JobView | undefined;
  /**
   * Runs `wait`, which waits for job `id` feeding `onProgress`; Ctrl-C becomes StoppedWaitingError (the
   * job goes on), and the bar is taken down however it ends.
   */
  wait<T>(id: number, wait: () => Promise<T>): Promise<T>;
}

/**
 * The one way a command waits for a job: the wait is driven by the job's progress events, which draw a
 * bar on a terminal (`job 7 [███░░] 42% | 42/100 done | 1 failed | 12.5/s | ETA 5s | 3s`) and keep
 * the job's last state for the summary, so nothing has to ask for the job again after it ends.
 */
export function followJob(stderr: CommandIo['stderr'], signal: AbortSignal): JobFollower {
  let bar: ProgressBar | undefined;
  let start: { finished: number; atMs: number } | undefined;
  let last: JobView | undefined;
  return {
    onProgress: (job) => {
      last = job;
      const now = Date.now();
      start ??= { finished: finishedOf(job), atMs: now };
      bar ??= progressBar(stderr, `job ${job.id}`);
      const f = progressFigures(job, start, now);
      bar.update(f.finished, job.total, `${f.finished}/${job.total} done | ${f.failed} failed | ${f.ratePerS.toFixed(1)}/s | ETA ${formatEta(f.etaS)}`);
    },
    get last() {
      return last;
    },
    async wait(id, wait) {
      try {
        return await wait();
      } catch (err) {
        if (!signal.aborted) throw err;
        const reason: unknown = signal.reason;
        throw new StoppedWaitingError(reason instanceof InterruptedError ? reason.signal : 'SIGINT', id);
      } finally {
        bar?.stop();
      }
    },
  };
}

/** Subtasks that ended, well or not. */
export function finishedOf(job: JobView): number {
  return job.counts.succeeded + job.counts.failed + job.counts.cancelled;
}

/** Finished subtasks, the rate since `start` and the time left at that rate (null before any progress). */
export function progressFigures(job: JobView, start: { finished: number; atMs: number }, nowMs: number): { finished: number; failed: number; ratePerS: number; etaS: number | null } {
  const finished = finishedOf(job);
  const seconds = (nowMs - start.atMs) / 1000;
  const ratePerS = seconds > 0 ? Math.max(0, finished - start.finished) / seconds : 0;
  const etaS = ratePerS > 0 ? Math.ceil((job.total - finished) / ratePerS) : null;
  return { finished, failed: job.counts.failed, ratePerS, etaS };
}

/** `42s`, `3m05s`, `2h07m`; `--` when unknown. */
export function formatEta(seconds: number | null): string {
  if (seconds === null) return '--';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Columns padded to their widest cell, two spaces apart. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

/**
 * A size in decimal units, `1.2 MB` = 1 200 000 bytes, as S3, disk makers, `df -H` and `ls --si` count:
 * the sizes shown are of files and objects, whose listings and bills use these units, and a node's memory
 * beside them. (`ls -h` counts in 1024s; one unit everywhere matters more than which.)
 */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** `2025-01-02 03:04:05Z`. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
