import type { JobStore } from './job-store.js';
import type { Change, ChangeOutcome, JobId, ResultRow } from './types.js';

/**
 * Applies one change and throws its error when it is rejected (IllegalTransitionError and friends):
 * the single-change form of `applyBatch`, for callers with one transition to make.
 */
export async function applyChange(store: JobStore, change: Change): Promise<ChangeOutcome> {
  const { outcomes } = await store.applyBatch([change]);
  const outcome = outcomes[0]!;
  if (outcome.status === 'rejected') throw outcome.error;
  return outcome;
}

/** A job's results in input order, fetched `pageSize` rows at a time, so a million never sit in memory. */
export async function* iterateResults(store: JobStore, jobId: JobId, options: { pageSize?: number; fromIndex?: number } = {}): AsyncGenerator<ResultRow> {
  const limit = options.pageSize ?? 1_000;
  let fromIndex = options.fromIndex ?? 0;
  while (true) {
    const page = await store.listResults(jobId, { fromIndex, limit });
    yield* page;
    if (page.length < limit) return;
    fromIndex = page[page.length - 1]!.index + 1;
  }
}
