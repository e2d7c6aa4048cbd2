import type Database from 'better-sqlite3';

import { canTransition, FINISHED_STATES, SUBTASK_STATES, type SubtaskState } from '../../state-machine.js';

/** Quoted SQL list of states, e.g. `'queued', 'running'`. */
function sqlStates(states: readonly SubtaskState[]): string {
  return states.map((s) => `'${s}'`).join(', ');
}

/** States a cancel moves to cancelled: the unfinished ones, as the state table allows. */
export const CANCELLABLE: readonly SubtaskState[] = SUBTASK_STATES.filter((s) => !FINISHED_STATES.has(s) && canTransition(s, 'cancelled'));
/** States a restart moves to queued, as the state table allows (queued ones just move to the head). */
export const RESTARTABLE: readonly SubtaskState[] = SUBTASK_STATES.filter((s) => canTransition(s, 'queued'));
/** States of a subtask that sits on a Taskman; matches the partial index `subtasks_active`. */
export const ACTIVE = "state IN ('dispatched', 'running')";

const ACTIVE_COLUMNS = 'id, job_id, idx, state, attempt, node, worker';

/** Every statement the SQLite store runs, by name. */
const SQL = {
  metaGet: 'SELECT value FROM meta WHERE key = ?',
  metaSet: 'UPDATE meta SET value = ? WHERE key = ?',

  insertJob: `INSERT INTO jobs (task, args, priority, node, wait_for_node, prefer_nodes, retries, timeout_ms, memory_mb, on_failure, inputs_listed,
       first_subtask, total, created_at, n_queued, finished_at, pending)
     VALUES (@task, @args, @priority, @node, @waitForNode, @preferNodes, @retries, @timeoutMs, @memoryMb, @onFailure, @inputsListed,
       @firstSubtask, @total, @createdAt, @queued, @finishedAt, @pending)`,
  /** Nodes that unfinished, non-waiting jobs are pinned to: a scan, run once when the Jobman starts. */
  pinnedNodes: 'SELECT DISTINCT node FROM jobs WHERE node IS NOT NULL AND wait_for_node = 0 AND finished_at IS NULL AND cancelled_at IS NULL ORDER BY node',
  /** Unfinished jobs pinned to a node: a scan, run only when a node has been gone for its grace period. */
  pinnedTo: 'SELECT id FROM jobs WHERE node = ? AND wait_for_node = 0 AND finished_at IS NULL AND cancelled_at IS NULL ORDER BY id',
  /** A pinned job's queued subtasks fail as one more attempt each: first their error rows, then the rows. */
  nodeGoneErrors: `INSERT INTO attempt_errors (subtask_id, attempt, node, worker, error, at)
     SELECT id, attempt + 1, NULL, NULL, ?, ? FROM subtasks WHERE id BETWEEN ? AND ? AND state = 'queued'`,
  nodeGoneFail: "UPDATE subtasks SET state = 'failed', attempt = attempt + 1, failures = failures + 1, updated_at = ? WHERE id BETWEEN ? AND ? AND state = 'queued'",
  setJobTotal: 'UPDATE jobs SET total = ?, n_queued = ?, finished_at = ? WHERE id = ?',
  /** A job being created in chunks: how many subtask ids it holds so far (what a removal must delete). */
  setJobReserved: 'UPDATE jobs SET total = ? WHERE id = ?',
  /** The last step of a chunked create: the job and its queued subtasks become visible at once. */
  finishCreate: "UPDATE jobs SET pending = NULL, total = ?, n_queued = ?, finished_at = ? WHERE id = ? AND pending = 'create'",
  /**
   * N queued subtasks of a counted job in one statement: no JS object per row. A chunk of a larger job
   * starts at input `@idx`, with subtask id `@first` and queue position `@seq`.
   */
  insertCounted: `WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < @n)
     INSERT INTO subtasks (id, job_id, idx, state, seq, updated_at)
     SELECT @first + i, @job, @idx + i, 'queued', @seq + i, @now FROM s`,
  insertListed: `INSERT INTO subtasks (id, job_id, idx, state, seq, input, updated_at) VALUES (?, ?, ?, 'queued', ?, ?, ?)`,
  reseqRange: 'UPDATE subtasks SET seq = ? + idx WHERE id BETWEEN ? AND ?',
  /** Removes part of a half-created job (its rows were never dispatched, so they have no errors). */
  deleteRange: 'DELETE FROM subtasks WHERE id BETWEEN ? AND ?',
  deleteJob: 'DELETE FROM jobs WHERE id = ?',
  pendingJobs: 'SELECT id, pending, priority, first_subtask, total FROM jobs INDEXED BY jobs_pending WHERE pending IS NOT NULL ORDER BY id',
  setPending: 'UPDATE jobs SET pending = ? WHERE id = ?',

  job: 'SELECT * FROM jobs WHERE id = ?',
  /** Jobs still being created are not there yet. */
  jobsNewest: "SELECT * FROM jobs WHERE pending IS NOT 'create' ORDER BY id DESC LIMIT ?",
  jobsBefore: "SELECT * FROM jobs WHERE id < ? AND pending IS NOT 'create' ORDER BY id DESC LIMIT ?",
  countAll: `SELECT total(n_queued) AS queued, total(n_dispatched) AS dispatched, total(n_running) AS running,
       total(n_succeeded) AS succeeded, total(n_failed) AS failed, total(n_cancelled) AS cancelled FROM jobs`,
  jobPolicy: 'SELECT retries, on_failure, restarts FROM jobs WHERE id = ?',
  jobActiveCounts: 'SELECT n_queued, n_dispatched, n_running, finished_at FROM jobs WHERE id = ?',
  addJobCounts: `UPDATE jobs SET n_queued = n_queued + ?, n_dispatched = n_dispatched + ?, n_running = n_running + ?,
       n_succeeded = n_succeeded + ?, n_failed = n_failed + ?, n_cancelled = n_cancelled + ?, finished_at = ? WHERE id = ?`,
  setJobCounts: `UPDATE jobs SET n_queued = ?, n_dispatched = ?, n_running = ?, n_succeeded = ?, n_failed = ?, n_cancelled = ?,
       finished_at = ? WHERE id = ?`,
  recount: 'SELECT state, count(*) AS n FROM subtasks WHERE id BETWEEN ? AND ? GROUP BY state',
  markRestarted: 'UPDATE jobs SET restarts = restarts + 1 WHERE id = ?',
  markCancelled: 'UPDATE jobs SET cancelled_at = ? WHERE id = ?',

  queueFirst: "SELECT id, job_id, idx, seq, attempt, input FROM subtasks WHERE state = 'queued' ORDER BY seq LIMIT ?",
  queueAfter: "SELECT id, job_id, idx, seq, attempt, input FROM subtasks WHERE state = 'queued' AND seq > ? ORDER BY seq LIMIT ?",
  subtask: 'SELECT * FROM subtasks WHERE id = ?',
  subtasksOfJob: 'SELECT * FROM subtasks WHERE id BETWEEN ? AND ? ORDER BY id LIMIT ?',
  subtasksOfJobIn: 'SELECT * FROM subtasks WHERE id BETWEEN ? AND ? AND state = ? ORDER BY id LIMIT ?',
  failedOfJob: "SELECT * FROM subtasks INDEXED BY subtasks_failed WHERE state = 'failed' AND id BETWEEN ? AND ? ORDER BY id LIMIT ?",
  resultsOfJob: 'SELECT id, idx, state, attempt, node, result FROM subtasks WHERE id BETWEEN ? AND ? ORDER BY id LIMIT ?',
  errorsOfJob: `SELECT e.subtask_id, s.idx, e.attempt, e.node, e.worker, e.error, e.at
     FROM attempt_errors e JOIN subtasks s ON s.id = e.subtask_id
     WHERE e.subtask_id BETWEEN ? AND ? ORDER BY e.subtask_id, e.attempt LIMIT ?`,

  activeAll: `SELECT ${ACTIVE_COLUMNS}, seq FROM subtasks INDEXED BY subtasks_active WHERE ${ACTIVE} ORDER BY node, id`,
  activeOfNode: `SELECT ${ACTIVE_COLUMNS}, seq FROM subtasks INDEXED BY subtasks_active WHERE ${ACTIVE} AND node = ? ORDER BY id`,
  activeOfJob: `SELECT ${ACTIVE_COLUMNS}, seq FROM subtasks INDEXED BY subtasks_active WHERE ${ACTIVE} AND job_id = ? ORDER BY id`,

  /** The hot read of every change: only what judging it needs, as an array (see RAW). */
  changeTarget: 'SELECT state, attempt, job_id FROM subtasks WHERE id = ?',
  /** The rest of a subtask, read only for a failure or an error message. */
  changeDetail: 'SELECT idx, failures, node, worker FROM subtasks WHERE id = ?',
  toDispatched: "UPDATE subtasks SET state = 'dispatched', attempt = ?, node = ?, worker = NULL, updated_at = ? WHERE id = ?",
  toRunning: "UPDATE subtasks SET state = 'running', worker = ?, updated_at = ? WHERE id = ?",
  toSucceeded: "UPDATE subtasks SET state = 'succeeded', result = ?, updated_at = ? WHERE id = ?",
  /** `running` then `succeeded` of one attempt in one batch, written once. */
  toRanSucceeded: "UPDATE subtasks SET state = 'succeeded', worker = ?, result = ?, updated_at = ? WHERE id = ?",
  toFailed: "UPDATE subtasks SET state = 'failed', failures = ?, updated_at = ? WHERE id = ?",
  toQueued: "UPDATE subtasks SET state = 'queued', seq = ?, node = NULL, worker = NULL, updated_at = ? WHERE id = ?",
  /** A failed attempt going straight back to the head for its retry. */
  toRetry: "UPDATE subtasks SET state = 'queued', seq = ?, failures = ?, node = NULL, worker = NULL, updated_at = ? WHERE id = ?",
  toCancelled: "UPDATE subtasks SET state = 'cancelled', updated_at = ? WHERE id = ?",
  insertError: 'INSERT INTO attempt_errors (subtask_id, attempt, node, worker, error, at) VALUES (?, ?, ?, ?, ?, ?)',
  errorExists: 'SELECT 1 FROM attempt_errors WHERE subtask_id = ? AND attempt = ?',

  /** One chunk of a large job's cancel: its queued subtasks in an id range (nothing else is left by then). */
  cancelQueuedRange: "UPDATE subtasks SET state = 'cancelled', updated_at = ? WHERE id BETWEEN ? AND ? AND state = 'queued'",
  moveQueuedToCancelled: 'UPDATE jobs SET n_queued = n_queued - ?, n_cancelled = n_cancelled + ? WHERE id = ?',
  cancelRange: `UPDATE subtasks SET state = 'cancelled', updated_at = ? WHERE id BETWEEN ? AND ? AND state IN (${sqlStates(CANCELLABLE)})`,
  restartRange: `UPDATE subtasks SET state = 'queued', seq = ? + idx, failures = 0, result = NULL, node = NULL, worker = NULL, updated_at = ?
     WHERE id BETWEEN ? AND ? AND state IN (${sqlStates(['queued', ...RESTARTABLE])})`,
} as const;

export type Statements = { readonly [K in keyof typeof SQL]: Database.Statement };

/** Statements that return rows as arrays rather than objects: the per-change hot path. */
const RAW: ReadonlySet<string> = new Set<keyof typeof SQL>(['changeTarget']);

/** Prepares every statement once per connection. */
export function prepareStatements(db: Database.Database): Statements {
  return Object.fromEntries(Object.entries(SQL).map(([name, sql]) => [name, RAW.has(name) ? db.prepare(sql).raw() : db.prepare(sql)])) as Statements;
}
