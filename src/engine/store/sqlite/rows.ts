import { SUBTASK_STATES, type SubtaskState } from '../../state-machine.js';
import { StoreCorruptError } from '../errors.js';
import { jobStateOf } from '../job-state.js';
import { decodeJson, describe } from '../json.js';
import {
  FAILURE_POLICIES,
  type ActiveSubtask,
  type AttemptError,
  type FailurePolicy,
  type JobRecord,
  type JsonValue,
  type QueuedSubtask,
  type ResultRow,
  type SubtaskAttemptError,
  type SubtaskRecord,
} from '../types.js';

/**
 * Every row read back from SQLite is checked here, once, by hand (this is the hot path of paging and
 * batching, where a schema library would cost more than the query). A row that does not parse throws
 * StoreCorruptError naming the table, the row and the column.
 */
export type Row = Record<string, unknown>;

const STATES: ReadonlySet<unknown> = new Set(SUBTASK_STATES);
const POLICIES: ReadonlySet<unknown> = new Set(FAILURE_POLICIES);

export function int(row: Row, table: string, id: number | string, column: string): number {
  const v = row[column];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new StoreCorruptError(table, id, column, `should be an integer, not ${describe(v)}`);
  return v;
}

function intOrNull(row: Row, table: string, id: number, column: string): number | null {
  return row[column] === null ? null : int(row, table, id, column);
}

function text(row: Row, table: string, id: number, column: string): string {
  const v = row[column];
  if (typeof v !== 'string') throw new StoreCorruptError(table, id, column, `should be text, not ${describe(v)}`);
  return v;
}

function textOrNull(row: Row, table: string, id: number, column: string): string | null {
  return row[column] === null ? null : text(row, table, id, column);
}

function bool(row: Row, table: string, id: number, column: string): boolean {
  const v = row[column];
  if (v !== 0 && v !== 1) throw new StoreCorruptError(table, id, column, `should be 0 or 1, not ${describe(v)}`);
  return v === 1;
}

export function stateOf(row: Row, table: string, id: number, column = 'state'): SubtaskState {
  const v = row[column];
  if (!STATES.has(v)) throw new StoreCorruptError(table, id, column, `should be one of ${SUBTASK_STATES.join(', ')}, not ${describe(v)}`);
  return v as SubtaskState;
}

/** The row's own id, checked first so every later message can name it. */
export function rowId(row: Row, table: string, column = 'id'): number {
  const v = row[column];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new StoreCorruptError(table, '?', column, `should be an integer id, not ${describe(v)}`);
  return v;
}

function json(row: Row, table: string, id: number | string, column: string): JsonValue {
  return decodeJson(row[column], table, id, column);
}

function nonNegative(value: number, table: string, id: number, column: string): number {
  if (value < 0) throw new StoreCorruptError(table, id, column, `should not be negative, is ${value}`);
  return value;
}

export function parseJob(row: Row): JobRecord {
  const id = rowId(row, 'jobs');
  const t = 'jobs';
  const onFailure = row.on_failure;
  if (!POLICIES.has(onFailure)) throw new StoreCorruptError(t, id, 'on_failure', `should be one of ${FAILURE_POLICIES.join(', ')}, not ${describe(onFailure)}`);
  const preferNodes = json(row, t, id, 'prefer_nodes');
  if (!Array.isArray(preferNodes) || !preferNodes.every((n) => typeof n === 'string')) {
    throw new StoreCorruptError(t, id, 'prefer_nodes', 'should be a JSON list of node names');
  }
  const counts = {
    queued: nonNegative(int(row, t, id, 'n_queued'), t, id, 'n_queued'),
    dispatched: nonNegative(int(row, t, id, 'n_dispatched'), t, id, 'n_dispatched'),
    running: nonNegative(int(row, t, id, 'n_running'), t, id, 'n_running'),
    succeeded: nonNegative(int(row, t, id, 'n_succeeded'), t, id, 'n_succeeded'),
    failed: nonNegative(int(row, t, id, 'n_failed'), t, id, 'n_failed'),
    cancelled: nonNegative(int(row, t, id, 'n_cancelled'), t, id, 'n_cancelled'),
  };
  const cancelledAt = intOrNull(row, t, id, 'cancelled_at');
  return {
    id,
    task: text(row, t, id, 'task'),
    args: json(row, t, id, 'args'),
    priority: bool(row, t, id, 'priority'),
    node: textOrNull(row, t, id, 'node'),
    waitForNode: bool(row, t, id, 'wait_for_node'),
    preferNodes: preferNodes as string[],
    retries: nonNegative(int(row, t, id, 'retries'), t, id, 'retries'),
    timeoutMs: intOrNull(row, t, id, 'timeout_ms'),
    memoryMb: intOrNull(row, t, id, 'memory_mb'),
    onFailure: onFailure as FailurePolicy,
    inputsListed: bool(row, t, id, 'inputs_listed'),
    firstSubtaskId: int(row, t, id, 'first_subtask'),
    total: nonNegative(int(row, t, id, 'total'), t, id, 'total'),
    state: jobStateOf(counts, cancelledAt),
    counts,
    restarts: nonNegative(int(row, t, id, 'restarts'), t, id, 'restarts'),
    createdAt: int(row, t, id, 'created_at'),
    finishedAt: intOrNull(row, t, id, 'finished_at'),
    cancelledAt,
  };
}

/** A subtask's input: its index for a counted job (input column NULL), else the stored JSON. */
function input(row: Row, id: number, index: number): JsonValue {
  return row.input === null ? index : json(row, 'subtasks', id, 'input');
}

export function parseQueued(row: Row): QueuedSubtask {
  const id = rowId(row, 'subtasks');
  const index = int(row, 'subtasks', id, 'idx');
  return {
    id,
    jobId: int(row, 'subtasks', id, 'job_id'),
    index,
    seq: int(row, 'subtasks', id, 'seq'),
    attempt: int(row, 'subtasks', id, 'attempt'),
    input: input(row, id, index),
  };
}

export function parseSubtask(row: Row): SubtaskRecord {
  const id = rowId(row, 'subtasks');
  const t = 'subtasks';
  const state = stateOf(row, t, id);
  return {
    ...parseQueued(row),
    state,
    failures: int(row, t, id, 'failures'),
    node: textOrNull(row, t, id, 'node'),
    worker: textOrNull(row, t, id, 'worker'),
    result: row.result === null ? null : json(row, t, id, 'result'),
    updatedAt: int(row, t, id, 'updated_at'),
  };
}

export function parseActive(row: Row): ActiveSubtask {
  const id = rowId(row, 'subtasks');
  const t = 'subtasks';
  const state = stateOf(row, t, id);
  if (state !== 'dispatched' && state !== 'running') throw new StoreCorruptError(t, id, 'state', `should be dispatched or running here, not ${state}`);
  return {
    id,
    jobId: int(row, t, id, 'job_id'),
    index: int(row, t, id, 'idx'),
    state,
    attempt: int(row, t, id, 'attempt'),
    node: text(row, t, id, 'node'),
    worker: textOrNull(row, t, id, 'worker'),
  };
}

export function parseResult(row: Row): ResultRow {
  const id = rowId(row, 'subtasks');
  const state = stateOf(row, 'subtasks', id);
  return {
    index: int(row, 'subtasks', id, 'idx'),
    state,
    attempt: int(row, 'subtasks', id, 'attempt'),
    node: textOrNull(row, 'subtasks', id, 'node'),
    result: row.result === null ? null : json(row, 'subtasks', id, 'result'),
  };
}

export function parseAttemptError(row: Row): SubtaskAttemptError {
  const id = rowId(row, 'attempt_errors', 'subtask_id');
  const t = 'attempt_errors';
  const attempt = int(row, t, id, 'attempt');
  const error = json(row, t, `${id}/${attempt}`, 'error');
  if (typeof error !== 'object' || error === null || Array.isArray(error) || typeof error.message !== 'string') {
    throw new StoreCorruptError(t, `${id}/${attempt}`, 'error', 'should be a JSON object with a message');
  }
  return {
    subtaskId: id,
    index: int(row, t, id, 'idx'),
    attempt,
    node: textOrNull(row, t, id, 'node'),
    worker: textOrNull(row, t, id, 'worker'),
    error: error as unknown as AttemptError,
    at: int(row, t, id, 'at'),
  };
}
