import type { SubtaskState } from '../state-machine.js';

/** A structured value as JSON can carry it: job args, subtask inputs and results. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A job's id: a positive integer the store hands out, never reused. */
export type JobId = number;
/**
 * A subtask's id: a positive integer the store hands out, never reused. A job's subtasks have
 * consecutive ids, input 0 first, so `firstSubtaskId + index` names any of them.
 */
export type SubtaskId = number;

export const FAILURE_POLICIES = ['retry-subtask', 'restart-job'] as const;
/**
 * What a failed subtask does to its job: `retry-subtask` re-runs only that subtask, up to `retries`
 * times; `restart-job` (the paper's policy) re-queues the whole job at the head, up to `retries` times.
 */
export type FailurePolicy = (typeof FAILURE_POLICIES)[number];

/** A job as submitted; `resolveJobSpec` fills in the defaults. */
export interface JobSpec {
  /** The task to run, e.g. `builtin:noop`. */
  task: string;
  /**
   * A count N (inputs are the indexes 0..N-1), or the inputs themselves, one subtask each. An iterable
   * is consumed once, one element at a time, so a generator can feed a million inputs without an array.
   */
  inputs: number | Iterable<JsonValue>;
  /** Arguments every subtask gets. @defaultValue null */
  args?: JsonValue;
  /** Queue at the head of the deque, ahead of normal work. @defaultValue false */
  priority?: boolean;
  /** Run only on this node (the Jobman checks that it exists). @defaultValue null: any node */
  node?: string | null;
  /**
   * For a job pinned to `node`: wait for that node however long it is gone, instead of failing the job
   * with ERR_NODE_GONE once the Jobman's grace period (`pinnedNodeGraceMs`) has passed. @defaultValue false
   */
  waitForNode?: boolean;
  /** Nodes that get the subtasks first, such as where the data lives. @defaultValue [] */
  preferNodes?: string[];
  /** How many times a failure may be retried (per subtask, or per job for `restart-job`). @defaultValue 3 */
  retries?: number;
  /** Kill a subtask that runs longer than this many milliseconds. @defaultValue null: no limit */
  timeoutMs?: number | null;
  /**
   * Memory limit of the worker process running a subtask, in MiB: its resident memory, and the V8 heap of
   * the thread that runs an RS-UDF. @defaultValue null: no limit
   */
  memoryMb?: number | null;
  /** @defaultValue 'retry-subtask' */
  onFailure?: FailurePolicy;
}

/** The part of a job's definition the store keeps in its job dictionary (inputs live with subtasks). */
export interface JobDefinition {
  task: string;
  args: JsonValue;
  priority: boolean;
  node: string | null;
  waitForNode: boolean;
  preferNodes: string[];
  retries: number;
  timeoutMs: number | null;
  memoryMb: number | null;
  onFailure: FailurePolicy;
}

/** Subtask counts of one job (or of the whole store), by state. */
export type SubtaskCounts = Record<SubtaskState, number>;

/**
 * A job's overall state, derived from its counts: `queued` until a subtask leaves the queue, `running`
 * while any subtask is unfinished, then `failed` if any subtask failed for good, `cancelled` if the job
 * (or any subtask) was cancelled, else `succeeded`.
 */
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** A job as the store records it. */
export interface JobRecord extends JobDefinition {
  id: JobId;
  /** Number of subtasks (inputs). */
  total: number;
  /** Id of input 0's subtask; input i is `firstSubtaskId + i`. */
  firstSubtaskId: SubtaskId;
  /** True when the inputs were a list (each subtask has its own `input`), false for a count. */
  inputsListed: boolean;
  state: JobState;
  counts: SubtaskCounts;
  /** Times the job was restarted whole (restart-job policy or `restartJob`). */
  restarts: number;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** When the last unfinished subtask finished, in ms since the epoch; null while any is unfinished. */
  finishedAt: number | null;
  /** When `cancelJob` ran, in ms since the epoch; null if never. */
  cancelledAt: number | null;
}

/** A queued subtask as the Jobman pages it into its in-memory window. */
export interface QueuedSubtask {
  id: SubtaskId;
  jobId: JobId;
  /** Input index, 0..N-1. */
  index: number;
  /** Queue position: lower runs first. Head insertions get ever lower numbers, tail ones ever higher. */
  seq: number;
  /** The last attempt started (0 before the first dispatch); the next dispatch is `attempt + 1`. */
  attempt: number;
  /** The input: the index itself for a counted job, the listed value otherwise. */
  input: JsonValue;
}

/** Everything the store knows about one subtask. */
export interface SubtaskRecord extends QueuedSubtask {
  state: SubtaskState;
  /** Failed attempts since the job (re)started; the retry-subtask policy compares it with `retries`. */
  failures: number;
  /** Node it is dispatched to or running on; null while queued. */
  node: string | null;
  /** Worker running it, as the Taskman names it; null until running. */
  worker: string | null;
  /** The committed result; null unless succeeded. */
  result: JsonValue;
  /** Last change, in ms since the epoch. */
  updatedAt: number;
}

/** A subtask that sits on a Taskman: dispatched to its deque, or running on one of its workers. */
export interface ActiveSubtask {
  id: SubtaskId;
  jobId: JobId;
  index: number;
  state: 'dispatched' | 'running';
  attempt: number;
  node: string;
  worker: string | null;
}

/** The error of one failed attempt, as a worker reports it. */
export interface AttemptError {
  message: string;
  /** Stable code, when the error had one. */
  code?: string;
  stack?: string;
}

/** A failed attempt, kept for every attempt (the retry-subtask policy keeps them all). */
export interface SubtaskAttemptError {
  subtaskId: SubtaskId;
  index: number;
  attempt: number;
  node: string | null;
  worker: string | null;
  error: AttemptError;
  /** When it was recorded, in ms since the epoch. */
  at: number;
}

/** One subtask's row in a job's results, in input order. */
export interface ResultRow {
  index: number;
  state: SubtaskState;
  /** The last attempt started (0 if never dispatched). */
  attempt: number;
  /** The node of the last attempt (the one that ran it, once succeeded); null if never dispatched. */
  node: string | null;
  /** The committed result; null unless `state` is succeeded. */
  result: JsonValue;
}

/**
 * One state change of one attempt, as the Jobman applies it (its own dispatches and requeues, and what
 * Taskmen report in their heartbeats).
 *
 * - `dispatched`: starts attempt `attempt`, which must be the stored attempt + 1; needs `node`.
 * - `running`: the Taskman gave it to `worker`.
 * - `succeeded`: commits `result` (undefined is stored as null).
 * - `failed`: records `error`, then applies the job's failure policy.
 * - `queued`: takes an in-flight attempt back (dead worker or Taskman) and puts it at the queue head.
 * - `cancelled`: stops it for good (`attempt` is the current one, 0 if it was never dispatched).
 *
 * Changes in one batch apply in order, so `running` then `succeeded` of one attempt may travel together.
 */
export interface Change {
  id: SubtaskId;
  attempt: number;
  to: SubtaskState;
  node?: string;
  worker?: string;
  result?: JsonValue;
  error?: AttemptError;
}

/**
 * What became of one change:
 * - `applied`: persisted;
 * - `duplicate`: this attempt already reached that point (a resent report); nothing changed;
 * - `stale`: the change is about an attempt that is over or was withdrawn (a requeue, a restart, a
 *   cancel came first); nothing changed;
 * - `rejected`: the change is wrong (illegal transition, unknown subtask, an attempt never started,
 *   a result over the size limit); nothing of it was persisted, and `error` says why.
 */
export type ChangeStatus = 'applied' | 'duplicate' | 'stale' | 'rejected';

export interface ChangeOutcome {
  id: SubtaskId;
  attempt: number;
  status: ChangeStatus;
  /** The subtask's state after this change (null when the subtask does not exist). */
  state: SubtaskState | null;
  /** Set when a failure was retried: the subtask went back to the queue head in the same transaction. */
  retried?: true;
  /** Why the change was rejected. */
  error?: Error;
}

/** A whole-job restart, with the subtasks the Jobman must stop where they run. */
export interface RestartOutcome {
  jobId: JobId;
  /** Subtasks put back on the queue (every one not cancelled). */
  requeued: number;
  /** The job's restart count after this restart. */
  restarts: number;
  /** What was dispatched or running at the time, and where: to be killed. */
  stopped: ActiveSubtask[];
}

export interface BatchOutcome {
  /** One outcome per change, in the order given. */
  outcomes: ChangeOutcome[];
  applied: number;
  /** Duplicates and stale changes. */
  ignored: number;
  rejected: number;
  /** Jobs whose last unfinished subtask finished in this batch. */
  finishedJobs: JobId[];
  /** Jobs restarted in this batch by the restart-job policy. */
  restartedJobs: RestartOutcome[];
}

export interface CancelOutcome {
  jobId: JobId;
  /** Subtasks moved to cancelled (0 when the job had finished or was cancelled already). */
  cancelled: number;
  /** What was dispatched or running at the time, and where: to be killed. */
  stopped: ActiveSubtask[];
}

export interface RecoverOutcome {
  /** The subtasks put back at the queue head, as they were before (state, node, worker). */
  requeued: ActiveSubtask[];
}

/** A page request over a job's subtasks, in input order. */
export interface IndexPage {
  /** First input index to return. @defaultValue 0 */
  fromIndex?: number;
  /** Most rows to return. @defaultValue 1000 */
  limit?: number;
}
