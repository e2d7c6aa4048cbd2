import type { SubtaskState } from '../state-machine.js';
import type { AttemptError, ChangeStatus, JobId, JsonValue } from '../store/index.js';

/** One state change a Taskman reports in its heartbeat, with the string ids of the wire protocol. */
export interface ReportedChange {
  /** Subtask id, as the Jobman sent it. */
  id: string;
  /** The attempt this change is about. */
  attempt: number;
  to: 'running' | 'succeeded' | 'failed';
  /** Worker that runs it (with `running`). */
  worker?: string;
  /** The result (with `succeeded`). */
  result?: JsonValue;
  /** The error (with `failed`). */
  error?: AttemptError;
}

/** What became of one reported change (see the store's `ChangeStatus`). */
export interface ReportOutcome {
  id: string;
  attempt: number;
  status: ChangeStatus;
  /** The subtask's state after the change; null when there is no such subtask. */
  state: SubtaskState | null;
  /** The failure was retried: the subtask is back at the head of the Jobman's deque. */
  retried?: true;
  /** Why the change was rejected. */
  error?: Error;
}

/** A subtask a Taskman must stop (its job was cancelled or restarted). */
export interface KillOrder {
  /** Node whose Taskman holds it. */
  node: string;
  id: string;
  jobId: string;
  attempt: number;
}

export interface ReportResult {
  /** One outcome per reported change, in the order given. */
  outcomes: ReportOutcome[];
  /** Work to stop, on any node (the HTTP layer hands each Taskman its own). */
  kill: KillOrder[];
  /** Jobs whose last subtask finished with this report. */
  finishedJobs: JobId[];
}

export interface CancelResult {
  jobId: JobId;
  /** Subtasks moved to cancelled. */
  cancelled: number;
  /** Work to stop where it runs. */
  kill: KillOrder[];
}

export interface NodeDownResult {
  node: string;
  /** Subtasks taken back from the node and put at the head of the deque. */
  requeued: number;
}

/** What the scheduler holds in memory, for metrics and the memory-discipline test. */
export interface SchedulerStats {
  /** Queued subtasks held in memory (live entries of the deque). */
  queued: number;
  /** Slots used in the deque, including entries of cancelled work not yet skipped. */
  dequeSize: number;
  /** The window's bound for normal work. */
  windowSize: number;
  /** Subtasks dispatched to or running on a Taskman, as the level-1 index knows them. */
  inFlight: number;
  /** Live nodes. */
  nodes: string[];
}
