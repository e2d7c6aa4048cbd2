import { describe, expect, it } from 'vitest';

import { JobCancelledError, JobNotFoundError, type JobStore } from '../../../src/engine/store/index.js';
import { applyAll, dispatch, ids, lifecycle, useStores, type MakeStore } from './contract-support.js';

/** Runs attempt `attempt` of `id` up to running, then fails it. */
async function failAttempt(store: JobStore, id: number, attempt: number, message = `attempt ${attempt} failed`) {
  await applyAll(store, [dispatch(id, attempt), { id, attempt, to: 'running', worker: `w${attempt}` }]);
  return store.applyBatch([{ id, attempt, to: 'failed', error: { message, code: 'ERR_TEST', stack: 'at test' } }]);
}

/** Failures and their policies, cancel, restart and recovery after a Jobman restart. */
export function describeFailureContract(makeStore: MakeStore): void {
  const stores = useStores(makeStore);

  describe('failures', () => {
    it('retries a failed subtask at the queue head up to `retries` times, keeping every attempt’s error', async () => {
      const store = await stores.open();
      const job = await store.createJob({ task: 'builtin:fail', inputs: 3, retries: 2 });
      const id = job.firstSubtaskId + 1;
      for (const attempt of [1, 2]) {
        const out = await failAttempt(store, id, attempt);
        expect(out.outcomes[0]).toMatchObject({ status: 'applied', state: 'queued', retried: true });
        expect((await store.pageQueued({ limit: 1 }))[0]).toMatchObject({ id, attempt });
      }
      const last = await failAttempt(store, id, 3);
      expect(last.outcomes[0]).toMatchObject({ status: 'applied', state: 'failed' });
      expect(last.outcomes[0]!.retried).toBeUndefined();
      const errors = await store.listAttemptErrors(job.id);
      expect(errors.map((e) => [e.index, e.attempt, e.error.message, e.worker, e.node])).toEqual([
        [1, 1, 'attempt 1 failed', 'w1', 'node-a'],
        [1, 2, 'attempt 2 failed', 'w2', 'node-a'],
        [1, 3, 'attempt 3 failed', 'w3', 'node-a'],
      ]);
      expect(errors[0]!.error).toEqual({ message: 'attempt 1 failed', code: 'ERR_TEST', stack: 'at test' });
      expect(await store.getSubtask(id)).toMatchObject({ state: 'failed', failures: 3, attempt: 3 });
      await applyAll(store, [...lifecycle(job.firstSubtaskId, 1), ...lifecycle(job.firstSubtaskId + 2, 1)]);
      const done = await store.getJob(job.id);
      expect(done.state).toBe('failed');
      expect(done.counts).toMatchObject({ succeeded: 2, failed: 1 });
    });

    it('treats a resent failure of a retried attempt as a duplicate', async () => {
      const store = await stores.open();
      const job = await store.createJob({ task: 'x', inputs: 1 });
      const id = job.firstSubtaskId;
      await failAttempt(store, id, 1);
      const again = await store.applyBatch([{ id, attempt: 1, to: 'failed', error: { message: 'again' } }]);
      expect(again.outcomes[0]).toMatchObject({ status: 'duplicate', state: 'queued' });
      expect(await store.listAttemptErrors(job.id)).toHaveLength(1);
    });

    it('restarts the whole job at the head under restart-job, stopping what runs elsewhere', async () => {
      const store = await stores.open();
      const other = await store.createJob({ task: 'x', inputs: 2 });
      const job = await store.createJob({ task: 'x', inputs: 3, onFailure: 'restart-job', retries: 1 });
      const [a, b, c] = ids(job.firstSubtaskId, 3) as [number, number, number];
      await applyAll(store, [...lifecycle(a, 1, 'kept?'), dispatch(b, 1, 'node-b'), { id: b, attempt: 1, to: 'running', worker: 'wb' }]);
      const out = await failAttempt(store, c, 1);
      expect(out.outcomes[0]).toMatchObject({ status: 'applied', state: 'queued' });
      expect(out.restartedJobs).toEqual([
        { jobId: job.id, requeued: 3, restarts: 1, stopped: [{ id: b, jobId: job.id, index: 1, state: 'running', attempt: 1, node: 'node-b', worker: 'wb' }] },
      ]);
      expect((await store.pageQueued({ limit: 3 })).map((q) => q.id)).toEqual([a, b, c]);
      expect((await store.pageQueued({ limit: 10 })).slice(3).map((q) => q.id)).toEqual(ids(other.firstSubtaskId, 2));
      const restarted = await store.getJob(job.id);
      expect(restarted).toMatchObject({ state: 'queued', restarts: 1, finishedAt: null });
      expect(restarted.counts).toMatchObject({ queued: 3, succeeded: 0, running: 0 });
      expect((await store.getSubtask(a)).result).toBeNull();
      // The old attempts report late: stale.
      const late = await store.applyBatch([{ id: b, attempt: 1, to: 'succeeded', result: 'late' }]);
      expect(late.outcomes[0]!.status).toBe('stale');
      // Restarts spent: the next failure is final and the rest of the job runs on.
      await applyAll(store, lifecycle(a, 2));
      const final = await failAttempt(store, b, 2);
      expect(final.restartedJobs).toEqual([]);
      expect(final.outcomes[0]!.state).toBe('failed');
      await applyAll(store, lifecycle(c, 2));
      expect((await store.getJob(job.id)).state).toBe('failed');
      expect((await store.listAttemptErrors(job.id)).map((e) => [e.index, e.attempt])).toEqual([[1, 2], [2, 1]]);
    });
  });

  describe('cancel and restart', () => {
    it('cancels every unfinished subtask at once and says what was running where', async () => {
      const store = await stores.open();
      const job = await store.createJob({ task: 'x', inputs: 5 });
      const [a, b, c] = ids(job.firstSubtaskId, 3) as [number, number, number];
      await applyAll(store, [...lifecycle(a, 1, 'done'), dispatch(b, 1, 'node-b'), dispatch(c, 1, 'node-c'), { id: c, attempt: 1, to: 'running', worker: 'w3' }]);
      const out = await store.cancelJob(job.id);
      expect(out).toEqual({
        jobId: job.id,
        cancelled: 4,
        stopped: [
          { id: b, jobId: job.id, index: 1, state: 'dispatched', attempt: 1, node: 'node-b', worker: null },
          { id: c, jobId: job.id, index: 2, state: 'running', attempt: 1, node: 'node-c', worker: 'w3' },
        ],
      });
      const cancelled = await store.getJob(job.id);
      expect(cancelled.state).toBe('cancelled');
      expect(cancelled.counts).toEqual({ queued: 0, dispatched: 0, running: 0, succeeded: 1, failed: 0, cancelled: 4 });
      expect(await store.pageQueued({ limit: 10 })).toEqual([]);
      expect(await store.listActive()).toEqual([]);
      expect((await store.getSubtask(a)).result).toBe('done');
      const late = await store.applyBatch([{ id: c, attempt: 1, to: 'succeeded', result: 1 }, dispatch(job.firstSubtaskId + 4, 1)]);
      expect(late.outcomes.map((o) => o.status)).toEqual(['stale', 'stale']);
      expect(await store.cancelJob(job.id)).toEqual({ jobId: job.id, cancelled: 0, stopped: [] });
      await expect(store.restartJob(job.id)).rejects.toThrow(JobCancelledError);
      await expect(store.cancelJob(9999)).rejects.toThrow(JobNotFoundError);
    });

    it('restarts a finished job on request: all of it back at the head, attempts going on', async () => {
      const store = await stores.open();
      const job = await store.createJob({ task: 'x', inputs: 2 });
      await applyAll(store, ids(job.firstSubtaskId, 2).flatMap((id) => lifecycle(id, 1)));
      expect((await store.getJob(job.id)).state).toBe('succeeded');
      const out = await store.restartJob(job.id);
      expect(out).toEqual({ jobId: job.id, requeued: 2, restarts: 1, stopped: [] });
      const queued = await store.pageQueued({ limit: 10 });
      expect(queued.map((q) => [q.index, q.attempt])).toEqual([[0, 1], [1, 1]]);
      const again = await store.applyBatch(ids(job.firstSubtaskId, 2).flatMap((id) => lifecycle(id, 2)));
      expect(again.finishedJobs).toEqual([job.id]);
    });
  });

  describe('Taskmen and Jobman restarts', () => {
    it('lists what sits on each node and puts a dead node’s subtasks back at the head', async () => {
      const store = await stores.open();
      const job = await store.createJob({ task: 'x', inputs: 6 });
      const s = ids(job.firstSubtaskId, 6);
      await applyAll(store, [dispatch(s[0]!, 1, 'node-a'), dispatch(s[1]!, 1, 'node-b'), dispatch(s[2]!, 1, 'node-a')]);
      await applyAll(store, [{ id: s[2]!, attempt: 1, to: 'running', worker: 'w2' }]);
      expect((await store.listActive('node-a')).map((t) => [t.id, t.state, t.worker])).toEqual([[s[0], 'dispatched', null], [s[2], 'running', 'w2']]);
      expect((await store.listActive()).map((t) => t.node)).toEqual(['node-a', 'node-a', 'node-b']);
      const moved = await store.requeueNode('node-a');
      expect(moved.map((t) => t.id)).toEqual([s[0], s[2]]);
      expect((await store.pageQueued({ limit: 10 })).map((q) => q.id)).toEqual([s[0], s[2], s[3], s[4], s[5]]);
      expect(await store.listActive('node-a')).toEqual([]);
      expect((await store.getJob(job.id)).counts).toMatchObject({ queued: 5, dispatched: 1, running: 0 });
    });

    it('after a restart, recovers what was on Taskmen to the queue head, keeping committed results', async () => {
      const first = await stores.open();
      const job = await first.createJob({ task: 'x', inputs: 5 });
      const s = ids(job.firstSubtaskId, 5);
      await applyAll(first, [...lifecycle(s[0]!, 1, 'r0'), dispatch(s[1]!, 1, 'node-a'), dispatch(s[2]!, 1, 'node-b')]);
      await applyAll(first, [{ id: s[2]!, attempt: 1, to: 'running', worker: 'w' }]);
      await first.close();

      const store = await stores.open();
      const { requeued } = await store.recover();
      expect(requeued.map((t) => [t.id, t.state, t.node])).toEqual([[s[1], 'dispatched', 'node-a'], [s[2], 'running', 'node-b']]);
      expect((await store.pageQueued({ limit: 10 })).map((q) => [q.id, q.attempt])).toEqual([[s[1], 1], [s[2], 1], [s[3], 0], [s[4], 0]]);
      expect(await store.getSubtask(s[0]!)).toMatchObject({ state: 'succeeded', result: 'r0' });
      // A Taskman resends what it held: the old attempt is stale, nothing is committed twice.
      const resent = await store.applyBatch([{ id: s[2]!, attempt: 1, to: 'succeeded', result: 'old' }, ...lifecycle(s[0]!, 1, 'again')]);
      expect(resent.outcomes.map((o) => o.status)).toEqual(['stale', 'duplicate', 'duplicate', 'duplicate']);
      const rest = await store.applyBatch([...lifecycle(s[1]!, 2), ...lifecycle(s[2]!, 2), ...lifecycle(s[3]!, 1), ...lifecycle(s[4]!, 1)]);
      expect(rest.finishedJobs).toEqual([job.id]);
      expect((await store.listResults(job.id)).map((r) => r.result)).toEqual(['r0', s[1], s[2], s[3], s[4]]);
      expect(await store.recover()).toEqual({ requeued: [] });
    });

    it('never reuses an id after a restart', async () => {
      const first = await stores.open();
      const a = await first.createJob({ task: 'x', inputs: 3 });
      await first.close();
      const store = await stores.open();
      const b = await store.createJob({ task: 'x', inputs: 2, priority: true });
      expect(b.id).toBeGreaterThan(a.id);
      expect(b.firstSubtaskId).toBe(a.firstSubtaskId + 3);
      expect((await store.pageQueued({ limit: 10 })).map((q) => q.id)).toEqual([...ids(b.firstSubtaskId, 2), ...ids(a.firstSubtaskId, 3)]);
    });
  });
}
