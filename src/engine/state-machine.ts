import { DataboxError } from '../errors.js';

/**
 * The life of a subtask, in one table: every state, and the states it may move to. The Jobman, the
 * Taskmen and the store all check transitions here; anything else is a bug and throws.
 */
export const SUBTASK_STATES = ['queued', 'dispatched', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type SubtaskState = (typeof SUBTASK_STATES)[number];

export const TRANSITIONS: Readonly<Record<SubtaskState, readonly SubtaskState[]>> = {
  /**
   * Waiting on the Jobman's deque (or in the database, for normal jobs). Failed without running when its
   * job is pinned to a node gone for longer than the grace period (ERR_NODE_GONE); never by a report.
   */
  queued: ['dispatched', 'cancelled', 'failed'],
  /** Handed to a Taskman, waiting on its deque; back to queued when the Taskman dies. */
  dispatched: ['running', 'queued', 'cancelled'],
  /** On a worker; back to queued when the worker or its Taskman dies, or the job restarts. */
  running: ['succeeded', 'failed', 'queued', 'cancelled'],
  /** Done; back to queued only when a restart-job policy re-splits the whole job. */
  succeeded: ['queued'],
  /** This attempt failed; queued again while retries remain (or the job restarts), else final. */
  failed: ['queued', 'cancelled'],
  /** Final. */
  cancelled: [],
};

/** States a subtask does not leave unless a job restarts. */
export const FINISHED_STATES: ReadonlySet<SubtaskState> = new Set(['succeeded', 'failed', 'cancelled']);

export class IllegalTransitionError extends DataboxError {
  constructor(
    readonly subtask: string,
    readonly from: SubtaskState,
    readonly to: SubtaskState,
  ) {
    super('ERR_ILLEGAL_TRANSITION', `Subtask ${subtask} cannot go from ${from} to ${to}; from ${from} it may go to ${TRANSITIONS[from].join(', ') || 'nothing'}`);
  }
}

export function canTransition(from: SubtaskState, to: SubtaskState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws IllegalTransitionError unless `from` → `to` is in the table. */
export function assertTransition(subtask: string, from: SubtaskState, to: SubtaskState): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(subtask, from, to);
}
