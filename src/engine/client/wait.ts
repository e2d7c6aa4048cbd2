import { DataboxError } from '../../errors.js';
import type { JobView } from '../api/schemas.js';
import type { JsonValue } from '../store/index.js';
import type { JobmanClient } from './client.js';

/** A job that ended without a result: some subtask failed for good, or the job was cancelled. */
export class JobFailedError extends DataboxError {
  constructor(
    message: string,
    readonly job: JobView,
    /** The errors of the failed attempts, first ones first (at most 20). */
    readonly errors: { index: number; attempt: number; node: string | null; message: string; code?: string; stack?: string }[],
  ) {
    super(job.state === 'cancelled' ? 'ERR_JOB_CANCELLED' : 'ERR_JOB_FAILED', message);
  }
}

/**
 * Waits for a job and answers it when it succeeded; a failed or cancelled one throws JobFailedError with
 * its first attempt errors (the first of them in the message).
 */
export async function waitForSuccess(client: JobmanClient, id: number, opts: { signal?: AbortSignal; onProgress?: (job: JobView) => void } = {}): Promise<JobView> {
  const job = await client.waitForJob(id, opts);
  if (job.state === 'succeeded') return job;
  const errors: JobFailedError['errors'] = [];
  for await (const e of client.errors(id, { pageSize: 20 })) {
    errors.push({ index: e.index, attempt: e.attempt, node: e.node, message: e.error.message, ...(e.error.code ? { code: e.error.code } : {}), ...(e.error.stack ? { stack: e.error.stack } : {}) });
    if (errors.length >= 20) break;
  }
  const first = errors[0];
  const why = first === undefined ? '' : `; input ${first.index}, attempt ${first.attempt}${first.node ? ` on ${first.node}` : ''}: ${first.message}`;
  throw new JobFailedError(`Job ${id} (${job.task}) ${job.state === 'cancelled' ? 'was cancelled' : `failed: ${job.counts.failed} of ${job.total} subtasks failed for good`}${why}`, job, errors);
}

/** A finished job's results as stored (JSON, not decoded), in input order, with the node that ran each. */
export async function jobResults(client: JobmanClient, id: number, signal?: AbortSignal): Promise<{ result: JsonValue; node: string | null }[]> {
  const rows: { result: JsonValue; node: string | null }[] = [];
  for await (const r of client.results(id, { pageSize: 10_000, ...(signal ? { signal } : {}) })) rows.push({ result: r.result, node: r.node });
  return rows;
}
