import { assertTransition, FINISHED_STATES, SUBTASK_STATES } from '../../state-machine.js';
import { JobCancelledError, JobNotFoundError } from '../errors.js';
import type { ActiveSubtask, CancelOutcome, JobId, JobRecord, RestartOutcome } from '../types.js';
import type { Ledger } from './ledger.js';
import { parseActive, parseJob, stateOf, int, type Row } from './rows.js';
import { CANCELLABLE, type Statements } from './statements.js';

/**
 * Whole-job and whole-node operations, run inside a write transaction the caller owns. Each moves many
 * subtasks with one range UPDATE bounded by the job's ids; the state table is checked once per source
 * state (the UPDATE's state list is built from the same table, see statements.ts).
 */

export function loadJob(st: Statements, id: JobId): JobRecord {
  const row = st.job.get(id) as Row | undefined;
  if (row === undefined) throw new JobNotFoundError(id);
  return parseJob(row);
}

function lastId(job: JobRecord): number {
  return job.firstSubtaskId + job.total - 1;
}

function activeOfJob(st: Statements, jobId: JobId): ActiveSubtask[] {
  return (st.activeOfJob.all(jobId) as Row[]).map(parseActive);
}

/** See JobStore.restartJob. */
export function restartJob(st: Statements, ledger: Ledger, id: JobId): RestartOutcome {
  const job = loadJob(st, id);
  if (job.cancelledAt !== null) throw new JobCancelledError(id, 'be restarted');
  for (const state of SUBTASK_STATES) {
    if (state !== 'queued' && state !== 'cancelled' && job.counts[state] > 0) assertTransition(`of job ${id} (${job.counts[state]} ${state})`, state, 'queued');
  }
  const stopped = activeOfJob(st, id);
  const first = ledger.takeHead(job.total);
  const requeued = st.restartRange.run(first, ledger.now, job.firstSubtaskId, lastId(job)).changes;
  // Every subtask is now queued, or was cancelled on its own and stays so.
  const finishedAt = requeued > 0 ? null : (job.finishedAt ?? ledger.now);
  st.setJobCounts.run(requeued, 0, 0, 0, 0, job.total - requeued, finishedAt, id);
  st.markRestarted.run(id);
  ledger.forget(id);
  return { jobId: id, requeued, restarts: job.restarts + 1, stopped };
}

/** See JobStore.cancelJob. */
export function cancelJob(st: Statements, ledger: Ledger, id: JobId): CancelOutcome {
  const job = loadJob(st, id);
  const unfinished = job.counts.queued + job.counts.dispatched + job.counts.running;
  if (job.cancelledAt !== null || (job.finishedAt !== null && unfinished === 0)) return { jobId: id, cancelled: 0, stopped: [] };
  for (const state of CANCELLABLE) {
    if (job.counts[state] > 0) assertTransition(`of job ${id} (${job.counts[state]} ${state})`, state, 'cancelled');
  }
  const stopped = activeOfJob(st, id);
  const cancelled = st.cancelRange.run(ledger.now, job.firstSubtaskId, lastId(job)).changes;
  const c = job.counts;
  if (cancelled === unfinished) {
    st.setJobCounts.run(0, 0, 0, c.succeeded, c.failed, c.cancelled + cancelled, job.finishedAt ?? ledger.now, id);
  } else {
    recount(st, job, job.finishedAt ?? ledger.now);
  }
  st.markCancelled.run(ledger.now, id);
  ledger.forget(id);
  return { jobId: id, cancelled, stopped };
}

/**
 * First step of a large job's cancel (see SqliteJobStore.cancelJob): what sits on Taskmen is cancelled
 * (a handful, bounded by the cluster), the job is marked cancelled and `pending = 'cancel'`; its queued
 * subtasks follow in chunks (`cancelQueuedChunk`), and `endCancel` closes it.
 */
export function beginCancel(st: Statements, ledger: Ledger, job: JobRecord): CancelOutcome {
  for (const state of CANCELLABLE) {
    if (job.counts[state] > 0) assertTransition(`of job ${job.id} (${job.counts[state]} ${state})`, state, 'cancelled');
  }
  const stopped = activeOfJob(st, job.id);
  for (const a of stopped) {
    st.toCancelled.run(ledger.now, a.id);
    ledger.move(job.id, a.state, 'cancelled');
  }
  st.markCancelled.run(ledger.now, job.id);
  st.setPending.run('cancel', job.id);
  return { jobId: job.id, cancelled: stopped.length, stopped };
}

/** Cancels the queued subtasks of ids `from..to` of a job being cancelled; returns how many. */
export function cancelQueuedChunk(st: Statements, now: number, jobId: JobId, from: number, to: number): number {
  const n = st.cancelQueuedRange.run(now, from, to).changes;
  if (n > 0) st.moveQueuedToCancelled.run(n, n, jobId);
  return n;
}

/** Last step of a chunked cancel: the job is finished, and no longer pending. */
export function endCancel(st: Statements, now: number, jobId: JobId): void {
  const job = loadJob(st, jobId);
  const c = job.counts;
  // Every queued, dispatched and running subtask was moved by now; if the stored counts say otherwise
  // they are wrong, and the rows are the truth.
  if (c.queued + c.dispatched + c.running > 0) recount(st, job, job.finishedAt ?? now);
  else if (job.finishedAt === null) st.setJobCounts.run(0, 0, 0, c.succeeded, c.failed, c.cancelled, now, jobId);
  st.setPending.run(null, jobId);
}

/** Sets a job's counts from its rows: the self-check when stored counts and rows disagree. */
function recount(st: Statements, job: JobRecord, finishedAt: number | null): void {
  const n = Object.fromEntries(SUBTASK_STATES.map((s) => [s, 0]));
  for (const row of st.recount.all(job.firstSubtaskId, lastId(job)) as Row[]) {
    n[stateOf(row, 'subtasks', job.id)] = int(row, 'subtasks', job.id, 'n');
  }
  const unfinished = SUBTASK_STATES.filter((s) => !FINISHED_STATES.has(s)).reduce((sum, s) => sum + n[s]!, 0);
  st.setJobCounts.run(n.queued, n.dispatched, n.running, n.succeeded, n.failed, n.cancelled, unfinished > 0 ? null : finishedAt, job.id);
}

/**
 * Puts subtasks that sat on Taskmen back at the queue head, in their old queue order (the lowest old seq
 * ends up first). Attempts are kept: the next dispatch starts a new one.
 */
export function requeueActive(st: Statements, ledger: Ledger, rows: Row[]): ActiveSubtask[] {
  const moved = rows.map((row) => ({ active: parseActive(row), seq: int(row, 'subtasks', row.id as number, 'seq') }));
  moved.sort((a, b) => b.seq - a.seq);
  for (const { active } of moved) {
    assertTransition(`${active.id} (job ${active.jobId} input ${active.index})`, active.state, 'queued');
    st.toQueued.run(ledger.takeHead(1), ledger.now, active.id);
    ledger.move(active.jobId, active.state, 'queued');
  }
  return moved.map((m) => m.active).reverse();
}
