import cliProgress from 'cli-progress';
import { InvalidArgumentError, type Command } from 'commander';

import {
  FAILURE_POLICIES,
  JobmanClient,
  MAX_INPUTS,
  MAX_MEMORY_MB,
  MAX_RETRIES,
  MIN_MEMORY_MB,
  submitJobSchema,
  type AttemptErrorRow,
  type CancelAnswer,
  type JobView,
  type NodeView,
  type SubmitJob,
} from '../../engine/index.js';
import { runUdf, type UdfRunFlags } from './udf-run.js';
import { DataboxError } from '../../errors.js';
import { InterruptedError, UsageError, type CliContext } from '../context.js';
import { choiceOption, formatBytes, intOption, numberOption } from '../options.js';

/** Where the commands write; the process's streams unless a test gives its own. */
export interface CommandIo {
  stdout: { write(text: string): unknown };
  /** A progress bar is drawn only when this is a terminal. */
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

interface JobmanFlags {
  jobman?: string;
  home?: string;
}

/** The client commands: `run`, `jobs`, `job`, `cancel`, `nodes`, all talking to a Jobman over HTTP. */
export function registerClientCommands(program: Command, context: CliContext, io: CommandIo = { stdout: process.stdout, stderr: process.stderr }): void {
  const { signal } = context;
  const out = (text: string): void => void io.stdout.write(text);

  withJobman(program.command('run'))
    .description('run a job on the cluster, waiting for it unless --async: a built-in task over inputs 0..N-1, or an RS-UDF module over --inputs')
    .argument('<task>', 'an RS-UDF module (a .ts or .js file whose default export is defineUdf(...)), or a built-in: builtin:noop, builtin:sleep, builtin:fail, builtin:crash')
    .option('--count <n>', 'built-ins: number of inputs; the subtasks get inputs 0..N-1', intOption('--count', 1, MAX_INPUTS))
    .option('--inputs <file|glob>', 'RS-UDFs: a JSON file holding an array of inputs, or a glob (local or s3://) whose files are the inputs')
    .option('--reduce', 'RS-UDFs: fold the results with the UDF’s reduce (map-reduce)')
    .option('--out <file>', 'RS-UDFs: write the results (or the reduced value) there as JSON (default: stdout)')
    .option('--memory-mb <n>', 'memory limit of the worker process running a subtask', intOption('--memory-mb', MIN_MEMORY_MB, MAX_MEMORY_MB))
    .option('--arg <value>', 'a number every subtask gets as `arg` (builtin:sleep: ms to sleep; builtin:fail: attempts to fail)', numberOption('--arg'))
    .option('--priority', 'put the job ahead of queued normal work')
    .option('--node <name>', 'run only on this node')
    .option('--retries <n>', `retries per failed subtask, 0 to ${MAX_RETRIES}`, intOption('--retries', 0, MAX_RETRIES))
    .option('--timeout-ms <n>', 'kill a subtask running longer than this', intOption('--timeout-ms', 1, 2 ** 31 - 1))
    .option('--on-failure <policy>', `what a failed subtask does: ${FAILURE_POLICIES.join(', ')}`, choiceOption('--on-failure', FAILURE_POLICIES))
    .option('--async', 'print {"id":N} and return without waiting')
    .option('--json', 'end with one JSON line: id, state, subtasks, durationMs, throughputPerS')
    .action(async (task: string, flags: RunFlags & UdfRunFlags & JobmanFlags) => {
      if (!/^(builtin|udf):/.test(task)) return runUdf(task, flags, await open(flags), signal, io);
      const body = submitBody(task, flags);
      const client = await open(flags);
      const job = await client.submit(body);
      if (flags.async) return out(`${JSON.stringify({ id: job.id })}\n`);
      io.stderr.write(`job ${job.id} submitted: ${job.task} over ${job.total} input${job.total === 1 ? '' : 's'}; waiting (Ctrl-C stops waiting, not the job)\n`);
      const final = await waitWithProgress(client, job, signal, io.stderr);
      const summary = summarizeRun(final);
      out(`${flags.json ? JSON.stringify(summary) : formatRunSummary(summary)}\n`);
      failUnlessSucceeded(final);
    });

  withJobman(program.command('jobs'))
    .description('list jobs, newest first')
    .option('--limit <n>', 'how many, 1 to 1000', intOption('--limit', 1, 1000), 50)
    .option('--json', 'print {"jobs":[...]}')
    .action(async (flags: { limit: number; json?: boolean } & JobmanFlags) => {
      const jobs = await (await open(flags)).listJobs({ limit: flags.limit }, signal);
      out(flags.json ? `${JSON.stringify({ jobs })}\n` : formatJobs(jobs));
    });

  withJobman(program.command('job'))
    .description('show a job, its subtask counts and its first attempt errors')
    .argument('<id>', 'job id', jobIdArgument)
    .option('--wait', 'wait for the job to finish first (exit code 1 unless it succeeded)')
    .option('--json', 'print {"job":{...},"errors":[...]}')
    .action(async (id: number, flags: { wait?: boolean; json?: boolean } & JobmanFlags) => {
      const client = await open(flags);
      let job = await client.getJob(id, signal);
      if (flags.wait) job = await waitWithProgress(client, job, signal, io.stderr);
      const errors: AttemptErrorRow[] = [];
      for await (const e of client.errors(id, { pageSize: SHOWN_ERRORS, signal })) {
        if (errors.push(e) >= SHOWN_ERRORS) break;
      }
      out(flags.json ? `${JSON.stringify({ job, errors })}\n` : formatJob(job, errors));
      if (flags.wait) failUnlessSucceeded(job);
    });

  withJobman(program.command('cancel'))
    .description('cancel a job: queued subtasks are dropped, running ones killed')
    .argument('<id>', 'job id', jobIdArgument)
    .action(async (id: number, flags: JobmanFlags) => {
      out(formatCancel(await (await open(flags)).cancel(id)));
    });

  withJobman(program.command('nodes'))
    .description('list the nodes (Taskmen), their workers and counters')
    .option('--json', 'print {"nodes":[...]}')
    .action(async (flags: { json?: boolean } & JobmanFlags) => {
      const nodes = await (await open(flags)).nodes(signal);
      out(flags.json ? `${JSON.stringify({ nodes })}\n` : formatNodes(nodes));
    });
}

/** Attempt errors `databox job` shows. */
const SHOWN_ERRORS = 10;

export interface RunFlags {
  count?: number;
  arg?: number;
  priority?: boolean;
  node?: string;
  retries?: number;
  timeoutMs?: number;
  onFailure?: SubmitJob['onFailure'];
  async?: boolean;
  json?: boolean;
}

function withJobman(command: Command): Command {
  return command
    .option('--jobman <url>', 'the Jobman (default: DATABOX_JOBMAN, else http://127.0.0.1:7070)')
    .option('--home <dir>', 'directory holding the API token in DIR/token, unless DATABOX_TOKEN is set (default: ~/.databox)');
}

function open(flags: JobmanFlags): Promise<JobmanClient> {
  return JobmanClient.open({ ...(flags.jobman !== undefined ? { url: flags.jobman } : {}), ...(flags.home !== undefined ? { home: flags.home } : {}) });
}

/** The options the API names differently from the command line. */
const FLAG_OF: Record<string, string> = { task: '<task>', count: '--count', args: '--arg', node: '--node', retries: '--retries', timeoutMs: '--timeout-ms', onFailure: '--on-failure' };

/** The job `databox run` submits, checked against the API's schema before any request. */
export function submitBody(task: string, flags: RunFlags): SubmitJob {
  if (flags.count === undefined) throw new UsageError('databox run needs --count N (the job runs the task over inputs 0..N-1)');
  const body = {
    task,
    count: flags.count,
    ...(flags.arg !== undefined ? { args: flags.arg } : {}),
    ...(flags.priority ? { priority: true } : {}),
    ...(flags.node !== undefined ? { node: flags.node } : {}),
    ...(flags.retries !== undefined ? { retries: flags.retries } : {}),
    ...(flags.timeoutMs !== undefined ? { timeoutMs: flags.timeoutMs } : {}),
    ...(flags.onFailure !== undefined ? { onFailure: flags.onFailure } : {}),
  };
  const parsed = submitJobSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const key = String(issue.path[0] ?? 'task');
  throw new UsageError(`${FLAG_OF[key] ?? key} ${issue.message} (got ${JSON.stringify((body as Record<string, unknown>)[key])})`);
}

/** Ctrl-C while waiting for a job: the job goes on; the user is told how to stop it. */
export class StoppedWaitingError extends InterruptedError {
  constructor(
    signal: NodeJS.Signals,
    /** The job left running. */
    readonly jobId: number,
  ) {
    super(signal);
    this.message = `stopped waiting for job ${jobId}, which goes on running; cancel it with \`databox cancel ${jobId}\``;
  }
}

export async function waitWithProgress(client: JobmanClient, job: JobView, signal: AbortSignal, stderr: CommandIo['stderr']): Promise<JobView> {
  const bar = jobProgressBar(job, stderr);
  try {
    return await client.waitForJob(job.id, { signal, onProgress: (j) => bar.update(j) });
  } catch (err) {
    if (!signal.aborted) throw err;
    const reason: unknown = signal.reason;
    throw new StoppedWaitingError(reason instanceof InterruptedError ? reason.signal : 'SIGINT', job.id);
  } finally {
    bar.stop();
  }
}

export function failUnlessSucceeded(job: JobView): void {
  if (job.state === 'succeeded') return;
  const why = job.state === 'cancelled' ? 'was cancelled' : `failed: ${job.counts.failed} of ${job.total} subtasks failed; \`databox job ${job.id}\` shows the errors`;
  throw new DataboxError(job.state === 'cancelled' ? 'ERR_JOB_CANCELLED' : 'ERR_JOB_FAILED', `job ${job.id} ${why}`);
}

/** A bar on a terminal (done, failed, rate, ETA); nothing on a pipe or a file. */
function jobProgressBar(job: JobView, stream: CommandIo['stderr']): { update(job: JobView): void; stop(): void } {
  if (!stream.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { format: `job ${job.id} [{bar}] {percentage}% | {done}/{total} done | {failed} failed | {rate}/s | ETA {eta}`, stream, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  const start = { finished: finishedOf(job), atMs: Date.now() };
  const payload = (j: JobView): Record<string, string | number> => {
    const f = progressFigures(j, start, Date.now());
    return { done: f.finished, failed: f.failed, rate: f.ratePerS.toFixed(1), eta: formatEta(f.etaS) };
  };
  bar.start(job.total, start.finished, payload(job));
  return { update: (j) => bar.update(finishedOf(j), payload(j)), stop: () => bar.stop() };
}

// --- formatting: pure functions -------------------------------------------------------------------

function finishedOf(job: JobView): number {
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

/** `2025-01-02 03:04:05Z`. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function formatJobs(jobs: readonly JobView[]): string {
  if (jobs.length === 0) return 'no jobs\n';
  return formatTable(
    ['ID', 'TASK', 'STATE', 'DONE', 'FAILED', 'CREATED'],
    jobs.map((j) => [String(j.id), j.task, j.state, `${finishedOf(j)}/${j.total}`, String(j.counts.failed), formatTime(j.createdAt)]),
  );
}

export function formatJob(job: JobView, errors: readonly AttemptErrorRow[]): string {
  const c = job.counts;
  const lines = [
    `job ${job.id}: ${job.task}, ${job.state}`,
    `  inputs      ${job.total}${job.args !== null ? `, args ${JSON.stringify(job.args)}` : ''}`,
    `  subtasks    ${c.succeeded} succeeded, ${c.failed} failed, ${c.cancelled} cancelled, ${c.running} running, ${c.dispatched} dispatched, ${c.queued} queued`,
    `  options     ${job.priority ? 'priority' : 'normal'}, node ${job.node ?? 'any'}${job.preferNodes.length > 0 ? ` (prefers ${job.preferNodes.join(', ')})` : ''}, ` +
      `${job.retries} retries, timeout ${job.timeoutMs === null ? 'none' : `${job.timeoutMs} ms`}, on failure ${job.onFailure}`,
    `  restarts    ${job.restarts}`,
    `  created     ${formatTime(job.createdAt)}`,
  ];
  if (job.finishedAt !== null) lines.push(`  finished    ${formatTime(job.finishedAt)} (${((job.finishedAt - job.createdAt) / 1000).toFixed(2)} s)`);
  if (job.cancelledAt !== null) lines.push(`  cancelled   ${formatTime(job.cancelledAt)}`);
  if (errors.length > 0) {
    lines.push(`errors (the first ${errors.length}):`);
    for (const e of errors) lines.push(`  input ${e.index}, attempt ${e.attempt}, on ${e.node ?? 'no node'}: ${oneLine(e.error.message)}`);
  }
  return `${lines.join('\n')}\n`;
}

export function formatCancel(c: CancelAnswer): string {
  if (c.cancelled === 0) return `job ${c.id}: nothing to cancel (it had already finished or been cancelled)\n`;
  return `job ${c.id}: cancelled ${c.cancelled} subtask${c.cancelled === 1 ? '' : 's'}; ${c.killed} of them ${c.killed === 1 ? 'was' : 'were'} running and ${c.killed === 1 ? 'is' : 'are'} being killed\n`;
}

export function formatNodes(nodes: readonly NodeView[]): string {
  if (nodes.length === 0) return 'no nodes have joined this Jobman\n';
  return formatTable(
    ['NODE', 'ADDRESS', 'STATE', 'WORKERS', 'CPU', 'MEMORY', 'HEARTBEAT'],
    nodes.map((n) => [
      n.name,
      n.address,
      n.state,
      n.workers.map((w) => `${w.pid ?? '-'}:${w.state}`).join(' ') || '-',
      n.metrics === null ? '-' : `${Math.round(n.metrics.cpu * 100)}%`,
      n.metrics === null ? '-' : `${formatBytes(n.metrics.memoryTotalBytes - n.metrics.memoryFreeBytes)}/${formatBytes(n.metrics.memoryTotalBytes)}`,
      `${(n.heartbeatAgeMs / 1000).toFixed(1)} s ago`,
    ]),
  );
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 199)}…` : flat;
}

function jobIdArgument(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`job id must be a positive integer (got "${value}").`);
  return n;
}

