import { describe, expect, it } from 'vitest';

import { IllegalTransitionError } from '../../../src/engine/state-machine.js';
import {
  applyChange,
  InvalidValueError,
  iterateResults,
  JobNotFoundError,
  JobSpecError,
  StoreClosedError,
  SubtaskNotFoundError,
  UnknownAttemptError,
  ValueTooLargeError,
  type JobStore,
} from '../../../src/engine/store/index.js';
import { applyAll, dispatch, ids, lifecycle, useStores, type MakeStore } from './contract-support.js';

/** Queue ids in order, paging `limit` at a time with the seq cursor, as the Jobman's window does. */
async function queueOrder(store: JobStore, limit = 1000): Promise<number[]> {
  const out: number[] = [];
  let afterSeq: number | undefined;
  while (true) {
    const page = await store.pageQueued(afterSeq === undefined ? { limit } : { afterSeq, limit });
    out.push(...page.map((q) => q.id));
    if (page.length < limit) return out;
    afterSeq = page[page.length - 1]!.seq;
  }
}

/** Creating jobs, the queue, transitions, batches and queries. */
export function describeLifecycleContract(makeStore: MakeStore): void {
  const stores = useStores(makeStore);

  describe('creating jobs', () => {
    it('records the spec with its defaults and splits it into one queued subtask per input', async () => {
      const store = await stores.open();
      const job = await store.createJob({ task: 'builtin:noop', inputs: 4 });
      expect(job).toMatchObject({
        task: 'builtin:noop',
        args: null,
        priority: false,
        node: null,
        preferNodes: [],
        retries: 3,
        timeoutMs: null,
        onFailure: 'retry-subtask',
        total: 4,
        state: 'queued',
        restarts: 0,
        finishedAt: null,
        cancelledAt: null,
      });
      expect(job.counts).toEqual({ queued: 4, dispatched: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 });
      const subtasks = await store.listSubtasks(job.id);
      expect(subtasks.map((s) => [s.id, s.index, s.input, s.state, s.attempt])).toEqual(
        ids(job.firstSubtaskId, 4).map((id, i) => [id, i, i, 'queued', 0]),
      );
      expect(await store.getJob(job.id)).toEqual(job);
    });

    it('keeps every field of a full spec', async () => {
      const store = await stores.open();
      const spec = {
        task: 'builtin:sleep',
        inputs: 2,
        args: { ms: 5, tags: ['a'] },
        priority: true,
        node: 'node-b',
        preferNodes: ['node-a', 'node-c'],
        retries: 0,
        timeoutMs: 1500,
        onFailure: 'restart-job' as const,
      };
      const job = await store.createJob(spec);
      const { inputs: _, ...fields } = spec;
      expect(job).toMatchObject({ ...fields, total: 2 });
    });

    it('stores listed inputs per subtask, reading an iterable once without an array', async () => {
      const store = await stores.open();
      let pulled = 0;
      function* inputs() {
        for (const name of ['B4.TIF', 'B5.TIF', 'B6.TIF']) {
          pulled++;
          yield { url: name };
        }
      }
      const job = await store.createJob({ task: 'builtin:noop', inputs: inputs() });
      expect(pulled).toBe(3);
      expect(job.total).toBe(3);
      expect(job.inputsListed).toBe(true);
      expect((await store.listSubtasks(job.id)).map((s) => s.input)).toEqual([{ url: 'B4.TIF' }, { url: 'B5.TIF' }, { url: 'B6.TIF' }]);
    });

    it('finishes a job with no inputs at once', async () => {
      const store = await stores.open();
      const job = await store.createJob({ task: 'builtin:noop', inputs: [] });
      expect(job.state).toBe('succeeded');
      expect(job.finishedAt).not.toBeNull();
    });

    it('rejects a bad spec naming the field, and keeps nothing', async () => {
      const store = await stores.open();
      await expect(store.createJob({ task: 'builtin:noop', inputs: 3, retries: -1 })).rejects.toThrow(
        new JobSpecError('spec.retries must be an integer from 0 to 100 (got -1)'),
      );
      await expect(store.createJob({ task: '', inputs: 3 })).rejects.toThrow(/^spec\.task must be a task name/);
      await expect(store.createJob({ task: 'x', inputs: 3, onfailure: 'x' } as never)).rejects.toThrow('spec.onfailure is not a known field');
      await expect(store.createJob({ task: 'x', inputs: 1.5 })).rejects.toThrow(/^spec\.inputs must be a count/);
      expect(await store.listJobs()).toEqual([]);
    });

    it('rejects args over the size limit and an input that is not JSON, and keeps nothing', async () => {
      const store = await stores.open();
      await expect(store.createJob({ task: 'x', inputs: 1, args: 'x'.repeat(1024 * 1024 + 1) })).rejects.toThrow(ValueTooLargeError);
      await expect(store.createJob({ task: 'x', inputs: [1, 2n as never] })).rejects.toThrow(InvalidValueError);
      await expect(store.createJob({ task: 'x', inputs: ['ok', 'y'.repeat(1024 * 1024)] })).rejects.toThrow(
        'The input 1 is 1048578 bytes of JSON, over the 1048576-byte limit (options.maxArgsBytes)',
      );
      expect(await store.listJobs()).toEqual([]);
      expect(await store.pageQueued({ limit: 10 })).toEqual([]);
    });

    it('lists jobs newest first, a page at a time, and knows no job it never made', async () => {
      const store = await stores.open();
      const made = [];
      for (let i = 0; i < 5; i++) made.push((await store.createJob({ task: 'x', inputs: 1 })).id);
      const first = await store.listJobs({ limit: 2 });
      expect(first.map((j) => j.id)).toEqual([made[4], made[3]]);
      const rest = await store.listJobs({ beforeId: first[1]!.id, limit: 10 });
      expect(rest.map((j) => j.id)).toEqual([made[2], made[1], made[0]]);
      await expect(store.getJob(9999)).rejects.toThrow(JobNotFoundError);
      await expect(store.getSubtask(9999)).rejects.toThrow(SubtaskNotFoundError);
    });
  });

  describe('the queue', () => {
    it('serves normal jobs first in, first out', async () => {
      const store = await stores.open();
      const a = await store.createJob({ task: 'x', inputs: 3 });
      const b = await store.createJob({ task: 'x', inputs: 2 });
      expect(await queueOrder(store)).toEqual([...ids(a.firstSubtaskId, 3), ...ids(b.firstSubtaskId, 2)]);
    });

    it('puts a priority job at the head in input order, and a later one ahead of it', async () => {
      const store = await stores.open();
      const normal = await store.createJob({ task: 'x', inputs: 3 });
      const urgent = await store.createJob({ task: 'x', inputs: 2, priority: true });
      const urgenter = await store.createJob({ task: 'x', inputs: 2, priority: true });
      const later = await store.createJob({ task: 'x', inputs: 1 });
      expect(await queueOrder(store)).toEqual([
        ...ids(urgenter.firstSubtaskId, 2),
        ...ids(urgent.firstSubtaskId, 2),
        ...ids(normal.firstSubtaskId, 3),
        later.firstSubtaskId,
      ]);
    });

    it('puts a listed priority job from a generator at the head in input order', async () => {
      const store = await stores.open();
      await store.createJob({ task: 'x', inputs: 2 });
      const urgent = await store.createJob({ task: 'x', inputs: (function* () { yield 'a'; yield 'b'; yield 'c'; })(), priority: true });
      const head = await store.pageQueued({ limit: 3 });
      expect(head.map((q) => [q.id, q.input])).toEqual([[urgent.firstSubtaskId, 'a'], [urgent.firstSubtaskId + 1, 'b'], [urgent.firstSubtaskId + 2, 'c']]);
    });

    it('pages a bounded window with a cursor, and dispatched subtasks leave the queue', async () => {
      const store = await stores.open();
      const job = await store.createJob({ task: 'x', inputs: 25 });
      const window = await store.pageQueued({ limit: 10 });
      expect(window.map((q) => q.index)).toEqual(ids(0, 10));
      expect(window[0]).toEqual({ id: job.firstSubtaskId, jobId: job.id, index: 0, seq: window[0]!.seq, attempt: 0, input: 0 });
      const next = await store.pageQueued({ afterSeq: window[9]!.seq, limit: 10 });
      expect(next.map((q) => q.index)).toEqual(ids(10, 10));
      await applyAll(store, window.map((q) => dispatch(q.id, q.attempt + 1)));
      expect((await store.pageQueued({ limit: 100 })).map((q) => q.index)).toEqual(ids(10, 15));
      expect(await queueOrder(store, 4)).toEqual(ids(job.firstSubtaskId + 10, 15));
    });

    it('refuses a page with no sensible limit', async () => {
      const store = await stores.open();
      await expect(store.pageQueued({ limit: 0 })).rejects.toThrow('page.limit must be an integer from 1 to 100000 (got 0)');
    });
  });

  describe('transitions', () => {
    it('takes a subtask from queued through dispatched and running to succeeded, counting as it goes', async () => {
      const store = await stores.open();
      const job = await store.createJob({ task: 'x', inputs: 2 });
      const [a, b] = ids(job.firstSubtaskId, 2) as [number, number];
      await applyAll(store, [dispatch(a, 1, 'node-a')]);
      expect((await store.getJob(job.id)).state).toBe('running');
      await applyAll(store, [{ id: a, attempt: 1, to: 'running', worker: 'w7' }]);
      expect(await store.getSubtask(a)).toMatchObject({ state: 'running', attempt: 1, node: 'node-a', worker: 'w7' });
      expect((await store.getJob(job.id)).counts).toMatchObject({ queued: 1, running: 1 });
      const out = await store.applyBatch([{ id: a, attempt: 1, to: 'succeeded', result: { mean: 0.25 } }, ...lifecycle(b, 1, [1, 2])]);
      expect(out.finishedJobs).toEqual([job.id]);
      const done = await store.getJob(job.id);
      expect(done.state).toBe('succeeded');
      expect(done.counts).toEqual({ queued: 0, dispatched: 0, running: 0, succeeded: 2, failed: 0, cancelled: 0 });
      expect(done.finishedAt).not.toBeNull();
      expect(await store.listResults(job.id)).toEqual([
        { index: 0, state: 'succeeded', attempt: 1, node: 'node-a', result: { mean: 0.25 } },
        { index: 1, state: 'succeeded', attempt: 1, node: 'node-a', result: [1, 2] },
      ]);
    });

    it('keeps a running change whose success in the same batch is rejected, and commits pairs interleaved across subtasks', async () => {
      const store = await stores.open();
      const job = await store.createJob({ task: 'x', inputs: 3 });
      const [a, b, c] = ids(job.firstSubtaskId, 3) as [number, number, number];
      await applyAll(store, [dispatch(a, 1), dispatch(b, 1), dispatch(c, 1)]);
      const out = await store.applyBatch([
        { id: a, attempt: 1, to: 'running', worker: 'w1' },
        { id: b, attempt: 1, to: 'running', worker: 'w2' },
        { id: c, attempt: 1, to: 'running', worker: 'w3' },
        { id: b, attempt: 1, to: 'succeeded', result: 'b' },
        { id: a, attempt: 1, to: 'succeeded', result: 'big'.repeat(400_000) },
        { id: c, attempt: 1, to: 'succeeded', result: 'c' },
      ]);
      expect(out.outcomes.map((o) => o.status)).toEqual(['applied', 'applied', 'applied', 'applied', 'rejected', 'applied']);
      expect(await store.getSubtask(a)).toMatchObject({ state: 'running', worker: 'w1', result: null });
      expect(await store.getSubtask(b)).toMatchObject({ state: 'succeeded', worker: 'w2', result: 'b' });
      expect(await store.getSubtask(c)).toMatchObject({ state: 'succeeded', worker: 'w3', result: 'c' });
      expect((await store.getJob(job.id)).counts).toMatchObject({ running: 1, succeeded: 2 });
    });

    it('refuses an illegal transition with IllegalTransitionError and persists nothing', async () => {
      const store = await stores.open();
      const job = await store.createJob({ task: 'x', inputs: 1 });
      const id = job.firstSubtaskId;
      await applyAll(store, [dispatch(id, 1)]);
      const before = await store.getSubtask(id);
      // dispatched → succeeded skips running: not in the state table.
      await expect(applyChange(store, { id, attempt: 1, to: 'succeeded', result: 1 })).rejects.toThrow(IllegalTransitionError);
      await expect(applyChange(store, { id, attempt: 1, to: 'succeeded', result: 1 })).rejects.toThrow(
        /cannot go from dispatched to succeeded; from dispatched it may go to running, queued, cancelled/,
      );
      // A second dispatch while the first is out.
      await expect(applyChange(store, dispatch(id, 2))).rejects.toThrow(IllegalTransitionError);
      expect(await store.getSubtask(id)).toEqual(before);
      expect((await store.getJob(job.id)).counts).toMatchObject({ dispatched: 1, succeeded: 0 });
    });

    it('rejects a change about an attempt never started, or a subtask that does not exist', async () => {
      const store = await stores.open();
      const job = await store.createJob({ task: 'x', inputs: 1 });
      const id = job.firstSubtaskId;
      await expect(applyChange(store, { id, attempt: 1, to: 'running' })).rejects.toThrow(UnknownAttemptError);
      await expect(applyChange(store, dispatch(id, 3))).rejects.toThrow('cannot start attempt 3: its next attempt is 1');
      await expect(applyChange(store, dispatch(424242, 1))).rejects.toThrow(SubtaskNotFoundError);
      await expect(applyChange(store, { id, attempt: 1, to: 'dispatched' } as never)).rejects.toThrow('changes[0].node must name the node');
      expect((await store.getSubtask(id)).state).toBe('queued');
    });

    it('applies a batch change by change: a wrong change is rejected and leaves no trace, the rest commit', async () => {
      const store = await stores.open();
      const job = await store.createJob({ task: 'x', inputs: 3 });
      const [a, b, c] = ids(job.firstSubtaskId, 3) as [number, number, number];
      await applyAll(store, [dispatch(a, 1), dispatch(b, 1), dispatch(c, 1)]);
      const before = await store.getSubtask(b);
      const out = await store.applyBatch([
        { id: a, attempt: 1, to: 'running' },
        { id: b, attempt: 1, to: 'succeeded', result: 'skipped running' },
        { id: c, attempt: 1, to: 'running' },
        { id: a, attempt: 1, to: 'succeeded', result: 'big'.repeat(400_000) },
        { id: a, attempt: 1, to: 'succeeded', result: 'ok' },
      ]);
      expect(out.outcomes.map((o) => o.status)).toEqual(['applied', 'rejected', 'applied', 'rejected', 'applied']);
      expect(out.outcomes[1]!.error).toBeInstanceOf(IllegalTransitionError);
      expect(out.outcomes[3]!.error).toBeInstanceOf(ValueTooLargeError);
      expect(out.outcomes[3]!.error!.message).toMatch(/result of subtask .* attempt 1 is 1200002 bytes of JSON, over the 1048576-byte limit \(options.maxResultBytes\)/);
      expect([out.applied, out.ignored, out.rejected]).toEqual([3, 0, 2]);
      expect(await store.getSubtask(b)).toEqual(before);
      expect((await store.getSubtask(a)).result).toBe('ok');
      expect((await store.getJob(job.id)).counts).toMatchObject({ dispatched: 1, running: 1, succeeded: 1 });
    });

    it('commits a result once per attempt: a resent one is a duplicate, an older attempt is stale', async () => {
      const store = await stores.open();
      const job = await store.createJob({ task: 'x', inputs: 1 });
      const id = job.firstSubtaskId;
      await applyAll(store, lifecycle(id, 1, 'first'));
      const resent = await store.applyBatch([...lifecycle(id, 1, 'second'), { id, attempt: 1, to: 'failed', error: { message: 'late' } }]);
      expect(resent.outcomes.map((o) => o.status)).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate']);
      expect(resent.finishedJobs).toEqual([]);
      expect(await store.getSubtask(id)).toMatchObject({ state: 'succeeded', result: 'first' });
      expect(await store.listAttemptErrors(job.id)).toEqual([]);
      expect((await store.getJob(job.id)).counts.succeeded).toBe(1);
    });

    it('ignores reports from an attempt that was taken back, and counts the next dispatch as a new attempt', async () => {
      const store = await stores.open();
      const job = await store.createJob({ task: 'x', inputs: 1 });
      const id = job.firstSubtaskId;
      await applyAll(store, [dispatch(id, 1, 'node-a'), { id, attempt: 1, to: 'running' }, { id, attempt: 1, to: 'queued' }]);
      const late = await store.applyBatch([{ id, attempt: 1, to: 'succeeded', result: 'late' }]);
      expect(late.outcomes[0]).toMatchObject({ status: 'stale', state: 'queued' });
      await applyAll(store, lifecycle(id, 2, 'fresh', 'node-b'));
      const older = await store.applyBatch([{ id, attempt: 1, to: 'succeeded', result: 'late' }, dispatch(id, 1)]);
      expect(older.outcomes.map((o) => o.status)).toEqual(['stale', 'stale']);
      expect(await store.getSubtask(id)).toMatchObject({ state: 'succeeded', attempt: 2, node: 'node-b', result: 'fresh' });
    });

    it('rejects a result that is not JSON, leaving the attempt running', async () => {
      const store = await stores.open();
      const job = await store.createJob({ task: 'x', inputs: 1 });
      const id = job.firstSubtaskId;
      await applyAll(store, lifecycle(id, 1).slice(0, 2));
      await expect(applyChange(store, { id, attempt: 1, to: 'succeeded', result: { n: 1n } as never })).rejects.toThrow(InvalidValueError);
      expect((await store.getSubtask(id)).state).toBe('running');
    });
  });

  describe('queries', () => {
    it('lists a job’s subtasks by state in input order, a page at a time', async () => {
      const store = await stores.open();
      const job = await store.createJob({ task: 'x', inputs: 10, retries: 0 });
      const first = job.firstSubtaskId;
      await applyAll(store, [...lifecycle(first + 2, 1), ...lifecycle(first + 5, 1), ...lifecycle(first + 7, 1).slice(0, 2)]);
      await applyAll(store, [...lifecycle(first + 8, 1).slice(0, 2), { id: first + 8, attempt: 1, to: 'failed', error: { message: 'boom' } }]);
      const byState = async (state: 'queued' | 'succeeded' | 'running' | 'failed', fromIndex = 0, limit = 100) =>
        (await store.listSubtasks(job.id, { state, fromIndex, limit })).map((s) => s.index);
      expect(await byState('succeeded')).toEqual([2, 5]);
      expect(await byState('running')).toEqual([7]);
      expect(await byState('failed')).toEqual([8]);
      expect(await byState('queued')).toEqual([0, 1, 3, 4, 6, 9]);
      expect(await byState('queued', 2, 3)).toEqual([3, 4, 6]);
      expect((await store.listSubtasks(job.id, { fromIndex: 8, limit: 1 })).map((s) => s.index)).toEqual([8]);
    });

    it('streams a job’s results in input order across pages', async () => {
      const store = await stores.open();
      const job = await store.createJob({ task: 'x', inputs: 7 });
      await applyAll(
        store,
        ids(job.firstSubtaskId, 7).flatMap((id, i) => (i === 3 ? [] : lifecycle(id, 1, { i }))),
      );
      const rows = [];
      for await (const row of iterateResults(store, job.id, { pageSize: 2 })) rows.push(row);
      expect(rows.map((r) => [r.index, r.state, r.result])).toEqual(
        ids(0, 7).map((i) => (i === 3 ? [3, 'queued', null] : [i, 'succeeded', { i }])),
      );
    });

    it('counts subtasks by state over every job', async () => {
      const store = await stores.open();
      const a = await store.createJob({ task: 'x', inputs: 3 });
      await store.createJob({ task: 'x', inputs: 2 });
      await applyAll(store, [...lifecycle(a.firstSubtaskId, 1), dispatch(a.firstSubtaskId + 1, 1)]);
      expect(await store.countSubtasks()).toEqual({ queued: 3, dispatched: 1, running: 0, succeeded: 1, failed: 0, cancelled: 0 });
    });

    it('refuses every call once closed', async () => {
      const store = await stores.open();
      await store.close();
      await expect(store.listJobs()).rejects.toThrow(StoreClosedError);
      await expect(store.applyBatch([])).rejects.toThrow(StoreClosedError);
      await store.close();
    });
  });
}
