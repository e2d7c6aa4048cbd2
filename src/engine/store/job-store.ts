import type { SubtaskState } from '../state-machine.js';
import type {
  ActiveSubtask,
  BatchOutcome,
  CancelOutcome,
  Change,
  IndexPage,
  JobId,
  JobRecord,
  JobSpec,
  QueuedSubtask,
  RecoverOutcome,
  RestartOutcome,
  ResultRow,
  SubtaskAttemptError,
  SubtaskCounts,
  SubtaskId,
  SubtaskRecord,
} from './types.js';

/**
 * The Jobman's persistent memory: the job dictionary, every subtask's state, attempts and results.
 * SQLite implements it now and PostgreSQL later; `describeJobStoreContract` (in the tests) is the
 * behaviour every implementation must show.
 *
 * Rules every implementation keeps:
 * - Every write is one transaction, committed before the promise resolves.
 * - Every transition is checked against `state-machine.ts`; bulk operations check each source state.
 * - The queue is ordered by `seq`: normal jobs join the tail (ever higher numbers); priority jobs and
 *   re-runs (retries, requeues, restarts, recovery) join the head (ever lower numbers). A head batch
 *   keeps its own order: input 0 first.
 * - No method returns an unbounded list except where the list is bounded by cluster capacity
 *   (subtasks dispatched or running).
 */
export interface JobStore {
  /**
   * Records a job in the job dictionary and splits it into one queued subtask per input, at the tail
   * (or the head, for a priority job). Throws JobSpecError for a bad spec and ValueTooLargeError for
   * args or an input over `maxArgsBytes`; nothing is kept then.
   */
  createJob(spec: JobSpec): Promise<JobRecord>;

  /** The job with its counts by state; JobNotFoundError when there is none. */
  getJob(id: JobId): Promise<JobRecord>;

  /** Jobs, newest first, `limit` at most, with ids below `beforeId` when given. */
  listJobs(page?: { beforeId?: JobId; limit?: number }): Promise<JobRecord[]>;

  /** Subtask counts by state over every job (queue depth and friends, for metrics). */
  countSubtasks(): Promise<SubtaskCounts>;

  /**
   * Queued subtasks in queue order, `limit` at most, with `seq` above `afterSeq` when given. This is
   * how the Jobman fills its bounded window: page from where the last page ended. Head insertions land
   * below any cursor; the Jobman makes them itself (priority jobs, re-runs), so it knows of them.
   */
  pageQueued(page: { afterSeq?: number; limit: number }): Promise<QueuedSubtask[]>;

  /** One subtask; SubtaskNotFoundError when there is none. */
  getSubtask(id: SubtaskId): Promise<SubtaskRecord>;

  /** A job's subtasks in input order, only those in `state` when given. JobNotFoundError if no job. */
  listSubtasks(jobId: JobId, page?: IndexPage & { state?: SubtaskState }): Promise<SubtaskRecord[]>;

  /** A job's results in input order (null for subtasks not succeeded). See `iterateResults` to stream. */
  listResults(jobId: JobId, page?: IndexPage): Promise<ResultRow[]>;

  /** The errors of a job's failed attempts, by input index then attempt. */
  listAttemptErrors(jobId: JobId, page?: IndexPage): Promise<SubtaskAttemptError[]>;

  /**
   * Applies many changes in one transaction (see `Change`). Each change is checked on its own:
   * duplicates and stale attempts are ignored and reported; a wrong change is rejected and reported
   * with its error, and leaves no trace; the others are committed. A failure with retries left is
   * requeued at the head in the same transaction (retry-subtask) or restarts its job (restart-job).
   * Throws only when the store itself fails, and then nothing of the batch is kept.
   */
  applyBatch(changes: readonly Change[]): Promise<BatchOutcome>;

  /** Subtasks dispatched or running, on `node` or everywhere, by node then id; bounded by what the nodes hold. */
  listActive(node?: string): Promise<ActiveSubtask[]>;

  /** Puts every subtask dispatched to or running on `node` back at the queue head (a dead Taskman). */
  requeueNode(node: string): Promise<ActiveSubtask[]>;

  /**
   * After a Jobman restart: puts every subtask that was dispatched or running back at the queue head,
   * in its old queue order, attempts kept (the next dispatch starts a new attempt, so a late report of
   * the old one is stale). Committed results are untouched. A Jobman that prefers to wait for Taskmen
   * to re-report first uses `listActive` and `requeueNode` instead.
   */
  recover(): Promise<RecoverOutcome>;

  /**
   * Cancels a job: every queued, dispatched or running subtask goes to cancelled, in one transaction.
   * Returns what was on a Taskman, to be killed. Cancelling again is a no-op. JobNotFoundError if no job.
   */
  cancelJob(id: JobId): Promise<CancelOutcome>;

  /**
   * Restarts a job whole (the restart-job policy, or on request): every subtask not cancelled goes back
   * to queued at the head in input order, results and failure counts cleared; attempts go on from where
   * they were, so reports from before the restart are stale. Returns what was on a Taskman, to be killed.
   * JobCancelledError for a cancelled job; JobNotFoundError if no job.
   */
  restartJob(id: JobId): Promise<RestartOutcome>;

  /** The nodes that unfinished jobs not waiting for their node (`waitForNode` false) are pinned to. */
  pinnedNodes(): Promise<string[]>;

  /**
   * Fails every unfinished job pinned to `node` that does not wait for it: each queued subtask fails as
   * one more attempt, with `error` as that attempt's error, in one transaction. The Jobman calls it when
   * the node has been gone for its grace period. Returns the jobs failed so.
   */
  failPinned(node: string, error: { message: string; code: string }): Promise<{ jobs: JobId[]; failed: number }>;

  /**
   * Commits one small write (a health-probe row) to prove the store can still write, as `/healthz`
   * asks: a store that only reads (a read-only file or file system, a full disk) fails here with the
   * reason, instead of on the next job.
   */
  checkWritable(): Promise<void>;

  /** Closes the store; later calls throw StoreClosedError. Closing twice is fine. */
  close(): Promise<void>;
}
