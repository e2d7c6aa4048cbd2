import { InvalidArgumentError, type Command } from 'commander';

import { JobmanClient, readCa, type JobView, type SubmitJob } from '../engine/index.js';
import { DataboxError } from '../errors.js';

/**
 * What the commands that talk to a running Jobman share (`run`, `jobs`, `job`, `cancel`, `nodes`): the
 * options that say where it is, the client they open, the job id argument, and how a run ends: its
 * summary, and the one error of a job that did not succeed.
 */

export interface JobmanFlags {
  jobman?: string;
  home?: string;
  ca?: string;
}

/** Adds `--jobman`, `--home` and `--ca`. */
export function withJobman(command: Command): Command {
  return command
    .option('--jobman <url>', 'the Jobman (default: DATABOX_JOBMAN, else http://127.0.0.1:7070)')
    .option('--home <dir>', 'directory holding the API token in DIR/token, unless DATABOX_TOKEN is set (default: ~/.databox)')
    .option('--ca <file>', 'PEM certificate authority to check an https Jobman against (default: DATABOX_CA, else the system’s)');
}

/**
 * The client of the Jobman the flags name. While that Jobman is unreachable (it restarts), requests and
 * waits retry for up to `DATABOX_OUTAGE_MS` ms (default 60 s; 0: fail at once), saying so once per
 * outage on `stderr`.
 */
export async function openJobman(flags: JobmanFlags, stderr: { write(text: string): unknown } = process.stderr, env: NodeJS.ProcessEnv = process.env): Promise<JobmanClient> {
  const ca = await readCa(flags.ca, env);
  return JobmanClient.open({
    ...(flags.jobman !== undefined ? { url: flags.jobman } : {}),
    ...(flags.home !== undefined ? { home: flags.home } : {}),
    ...(ca !== undefined ? { ca } : {}),
    ...outageFromEnv(env),
    onOutage: (message) => stderr.write(`databox: ${message}\n`),
  });
}

function outageFromEnv(env: NodeJS.ProcessEnv): { outageMs?: number } {
  const raw = env.DATABOX_OUTAGE_MS?.trim();
  if (!raw) return {};
  if (!/^(0|[1-9][0-9]{0,8})$/.test(raw)) throw new DataboxError('ERR_OPTIONS', `DATABOX_OUTAGE_MS must be a whole number of milliseconds, 0 to 999999999 (got ${JSON.stringify(raw)})`);
  return { outageMs: Number(raw) };
}

/** Commander's parser of a `<id>` argument. */
export function jobIdArgument(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`job id must be a positive integer (got "${value}").`);
  return n;
}

/** The flags of `databox run` that both its forms read (a built-in task, an RS-UDF module). */
export interface RunFlags extends JobmanFlags {
  count?: number;
  arg?: number;
  priority?: boolean;
  node?: string;
  waitForNode?: boolean;
  retries?: number;
  timeoutMs?: number;
  onFailure?: SubmitJob['onFailure'];
  async?: boolean;
  json?: boolean;
}

/**
 * The error of a job that ended other than succeeded, the same whichever command waited for it:
 * `job 3 failed: 2 of 5 subtasks failed; \`databox job 3\` shows the errors`.
 */
export function jobFailure(job: JobView): DataboxError {
  if (job.state === 'cancelled') return new DataboxError('ERR_JOB_CANCELLED', `job ${job.id} was cancelled`);
  return new DataboxError('ERR_JOB_FAILED', `job ${job.id} failed: ${job.counts.failed} of ${job.total} subtasks failed; \`databox job ${job.id}\` shows the errors`);
}

export function failUnlessSucceeded(job: JobView): void {
  if (job.state !== 'succeeded') throw jobFailure(job);
}

/** What `databox run --json` prints last. */
export interface RunSummary {
  id: number;
  state: JobView['state'];
  subtasks: { total: number; succeeded: number; failed: number };
  /** From the job's creation to its end, by the Jobman's clock. */
  durationMs: number;
  /** Succeeded subtasks per second of `durationMs` (at least 1 ms), to one decimal. */
  throughputPerS: number;
}

export function summarizeRun(job: JobView, nowMs = Date.now()): RunSummary {
  const durationMs = Math.max(0, (job.finishedAt ?? nowMs) - job.createdAt);
  const { succeeded, failed } = job.counts;
  return { id: job.id, state: job.state, subtasks: { total: job.total, succeeded, failed }, durationMs, throughputPerS: Math.round((succeeded * 10_000) / Math.max(1, durationMs)) / 10 };
}

export function formatRunSummary(s: RunSummary): string {
  return `job ${s.id} ${s.state}: ${s.subtasks.succeeded} of ${s.subtasks.total} subtasks succeeded, ${s.subtasks.failed} failed, in ${(s.durationMs / 1000).toFixed(2)} s (${s.throughputPerS}/s)`;
}
