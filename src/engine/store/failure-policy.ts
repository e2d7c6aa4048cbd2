import type { FailurePolicy } from './types.js';

/** What a failed attempt leads to: run it again, restart the whole job, or stay failed for good. */
export type FailureDecision = 'retry' | 'restart-job' | 'final';

/**
 * The failure policy as a pure function. `retry-subtask` re-runs the subtask while its failures (this
 * one included) are at most `retries`, so `retries: 3` allows 4 attempts in all. `restart-job` restarts
 * the job while it has been restarted fewer than `retries` times. Once retries are spent the subtask
 * stays failed and the rest of the job runs on, so the job ends `failed` with every other result kept.
 */
export function decideOnFailure(job: { onFailure: FailurePolicy; retries: number; restarts: number }, failures: number): FailureDecision {
  if (job.onFailure === 'retry-subtask') return failures <= job.retries ? 'retry' : 'final';
  return job.restarts < job.retries ? 'restart-job' : 'final';
}
