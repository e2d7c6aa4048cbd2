import { DataboxError } from '../../errors.js';

/** Stable codes of every error the scheduler throws on purpose. */
export const SchedulerErrorCode = {
  /** A job names a node (pinning) that is not a live Taskman. */
  unknownNode: 'ERR_UNKNOWN_NODE',
  /** A pull or report came from a node the scheduler does not count as live (never up, or declared dead). */
  nodeNotUp: 'ERR_NODE_NOT_UP',
  /** A node reported on a subtask dispatched to another node. */
  notYours: 'ERR_NOT_YOUR_SUBTASK',
  /** A scheduler option or method argument failed validation. */
  argument: 'ERR_SCHEDULER_ARGUMENT',
  /** The error of the subtasks of a job pinned to a node that stayed gone longer than the grace period. */
  nodeGone: 'ERR_NODE_GONE',
} as const;

/** Any failure of the scheduler's own rules (store failures come through as StoreError). */
export class SchedulerError extends DataboxError {}

/** Submission named a node that no live Taskman runs on; nothing was recorded. */
export class UnknownNodeError extends SchedulerError {
  constructor(
    /** The node the job asked for. */
    readonly node: string,
    /** Nodes live at the time. */
    readonly liveNodes: readonly string[],
  ) {
    super(
      SchedulerErrorCode.unknownNode,
      `Node ${JSON.stringify(node)} is not a live node, so no job can be pinned to it; live nodes: ${liveNodes.length === 0 ? 'none' : liveNodes.join(', ')}`,
    );
  }
}

/** A Taskman asked for work (or reported) under a name the scheduler does not count as live. */
export class NodeNotUpError extends SchedulerError {
  constructor(readonly node: string) {
    super(SchedulerErrorCode.nodeNotUp, `Node ${JSON.stringify(node)} is not up; it must register (nodeUp) before it pulls work`);
  }
}

/** A node reported on a subtask that is dispatched to another node: refused, never stored. */
export class NotYourSubtaskError extends SchedulerError {
  constructor(node: string, subtask: string, holder: string) {
    super(SchedulerErrorCode.notYours, `Node ${JSON.stringify(node)} reported on subtask ${subtask}, which is dispatched to node ${JSON.stringify(holder)}`);
  }
}

export class InvalidSchedulerArgumentError extends SchedulerError {
  constructor(name: string, problem: string, value: unknown) {
    super(SchedulerErrorCode.argument, `${name} ${problem} (got ${typeof value === 'function' ? 'a function' : String(JSON.stringify(value) ?? value)})`);
  }
}
