import { setImmediate as nextTurn } from 'node:timers/promises';

import { describe, expect, it } from 'vitest';

import { JobNotFoundError, JobTooLargeError, type JobRecord, type JobStore, type JsonValue } from '../../../src/engine/store/index.js';
import { dispatch, lifecycle, useStores, type MakeStore } from './contract-support.js';

/** Big enough that every store writes it in more than one go (SQLite: more than 5,000 subtasks). */
const LARGE = 40_000;

/** Every queued subtask in queue order: [job id, input index]. */
async function queue(store: JobStore): Promise<[number, number][]> {
  const out: [number, number][] = [];
  for (let afterSeq: number | undefined, pages = 0; pages < 1000; pages++) {
    const page = await store.pageQueued(afterSeq === undefined ? { limit: 10_000 } : { afterSeq, limit: 10_000 });
    out.push(...page.map((q): [number, number] => [q.jobId, q.index]));
    if (page.length < 10_000) break;
    afterSeq = page[page.length - 1]!.seq;
  }
  return out;
}

/** [job, 0..n-1] */
function inputsOf(jobId: number, n: number, from = 0): [number, number][] {
  return Array.from({ length: n }, (_, i): [number, number] => [jobId, from + i]);
}

/**
 * Runs `work` and, at every turn of the event loop until it settles, `probe`: what other callers see
 * meanwhile. Returns the result and how many turns the probe ran (bounded).
 */
async function whileRunning<T>(work: Promise<T>, probe: () => Promise<void>): Promise<{ value: T; turns: number }> {
  let settled = false;
  const done = work.finally(() => {
    settled = true;
  });
  let turns = 0;
  for (; !settled && turns < 100_000; turns++) {
    await probe();
    await nextTurn();
  }
  return { value: await done, turns };
}

/** Creating and cancelling large jobs: done in steps other calls are served between, yet atomic to them. */
export function describeLargeJobContract(makeStore: MakeStore): void {
  const stores = useStores(makeStore);

  describe('large jobs', () => {
    it('queues a large counted job whole, behind earlier work and ahead of later work; a priority one at the head', async () => {
      const store = await stores.open();
      const a = await store.createJob({ task: 'builtin:noop', inputs: 3 });
      const big = await store.createJob({ task: 'builtin:noop', inputs: LARGE });
      const b = await store.createJob({ task: 'builtin:noop', inputs: 2 });
      const urgent = await store.createJob({ task: 'builtin:noop', inputs: LARGE, priority: true });
      expect(big).toMatchObject({ total: LARGE, state: 'queued', counts: { queued: LARGE } });
      expect(urgent.counts.queued).toBe(LARGE);
      expect(await queue(store)).toEqual([...inputsOf(urgent.id, LARGE), ...inputsOf(a.id, 3), ...inputsOf(big.id, LARGE), ...inputsOf(b.id, 2)]);
      expect(await store.countSubtasks()).toMatchObject({ queued: 2 * LARGE + 5 });
      const sub = await store.getSubtask(big.firstSubtaskId + LARGE - 1);
      expect(sub).toMatchObject({ jobId: big.id, index: LARGE - 1, input: LARGE - 1, state: 'queued' });
    });

    it('takes a large list of inputs from a generator, once, normal or priority', async () => {
      const store = await stores.open();
      let pulled = 0;
      function* inputs(n: number): Generator<JsonValue> {
        for (let i = 0; i < n; i++) {
          pulled++;
          yield { i };
        }
      }
      const a = await store.createJob({ task: 'builtin:noop', inputs: 1 });
      const listed = await store.createJob({ task: 'builtin:noop', inputs: inputs(LARGE / 4) });
      const urgent = await store.createJob({ task: 'builtin:noop', inputs: inputs(LARGE / 4), priority: true });
      expect(pulled).toBe(LARGE / 2);
      expect(listed).toMatchObject({ total: LARGE / 4, inputsListed: true, counts: { queued: LARGE / 4 } });
      expect(await queue(store)).toEqual([...inputsOf(urgent.id, LARGE / 4), ...inputsOf(a.id, 1), ...inputsOf(listed.id, LARGE / 4)]);
      expect((await store.getSubtask(urgent.firstSubtaskId + 7)).input).toEqual({ i: 7 });
      expect((await store.listSubtasks(listed.id, { fromIndex: LARGE / 4 - 1 }))[0]).toMatchObject({ index: LARGE / 4 - 1, input: { i: LARGE / 4 - 1 } });
    });

    it('serves other calls while a large job is created, and shows nothing of it until it is whole', async () => {
      const store = await stores.open();
      const small = await store.createJob({ task: 'builtin:noop', inputs: 2 });
      const nextId = small.id + 1;
      const seen = { listed: 0, found: 0, paged: 0, counted: 0 };
      const { value: big, turns } = await whileRunning(store.createJob({ task: 'builtin:noop', inputs: LARGE }), async () => {
        if ((await store.listJobs()).some((j) => j.id === nextId)) seen.listed++;
        await store.getJob(nextId).then(
          () => seen.found++,
          (err: unknown) => expect(err).toEqual(new JobNotFoundError(nextId)),
        );
        if ((await queue(store)).some(([job]) => job === nextId)) seen.paged++;
        if (Object.values(await store.countSubtasks()).reduce((a, b) => a + b, 0) !== 2) seen.counted++;
        // Work on other jobs goes on meanwhile.
        const [q] = await store.pageQueued({ limit: 1 });
        if (q !== undefined) await store.applyBatch([dispatch(q.id, q.attempt + 1)]);
      });
      expect(big.id).toBe(nextId);
      expect(turns).toBeGreaterThan(1);
      expect(seen).toEqual({ listed: 0, found: 0, paged: 0, counted: 0 });
      expect((await store.getJob(small.id)).counts.dispatched).toBe(2);
      expect(await queue(store)).toEqual(inputsOf(big.id, LARGE));
    });

    it('leaves no trace of a large job whose inputs fail part-way', async () => {
      const store = await stores.open();
      function* inputs(): Generator<JsonValue> {
        for (let i = 0; i < LARGE; i++) yield i === LARGE - 10 ? (10n as unknown as JsonValue) : i;
      }
      await expect(store.createJob({ task: 'builtin:noop', inputs: inputs() })).rejects.toThrow(`input ${LARGE - 10}`);
      expect(await store.listJobs()).toEqual([]);
      expect(await store.pageQueued({ limit: 10 })).toEqual([]);
      expect((await store.countSubtasks()).queued).toBe(0);
      const after = await store.createJob({ task: 'builtin:noop', inputs: 3 });
      expect(await queue(store)).toEqual(inputsOf(after.id, 3));
    });

    it('refuses a job over the subtask limit before writing anything', async () => {
      const store = await stores.open();
      await expect(store.createJob({ task: 'builtin:noop', inputs: 10_000_001 })).rejects.toThrow(new JobTooLargeError(10_000_001, 10_000_000));
      await expect(store.createJob({ task: 'builtin:noop', inputs: 10_000_001 })).rejects.toMatchObject({ code: 'ERR_JOB_TOO_LARGE' });
      expect(await store.listJobs()).toEqual([]);
    });

    it('cancels a large job: at once to the outside, its queued subtasks in steps; a second cancel waits for the first', async () => {
      const store = await stores.open();
      const job = await store.createJob({ task: 'builtin:noop', inputs: LARGE });
      const later = await store.createJob({ task: 'builtin:noop', inputs: 2 });
      const first = job.firstSubtaskId;
      await store.applyBatch([...lifecycle(first, 1), dispatch(first + 1, 1), dispatch(first + 2, 1), { id: first + 2, attempt: 1, to: 'running', worker: 'w1' }]);
      const states = new Set<string>();
      let staleDispatches = 0;
      let again: Promise<unknown> | undefined;
      const { value: outcome, turns } = await whileRunning(store.cancelJob(job.id), async () => {
        const seen = await store.getJob(job.id);
        states.add(seen.state);
        expect(seen.cancelledAt).not.toBeNull();
        again ??= store.cancelJob(job.id);
        // Whatever is still queued of it is never dispatched.
        const still = (await store.listSubtasks(job.id, { state: 'queued', limit: 1 }))[0];
        if (still !== undefined) {
          const out = await store.applyBatch([dispatch(still.id, still.attempt + 1)]);
          expect(out.outcomes[0]!.status).toBe('stale');
          staleDispatches++;
        }
        // Reports on what was running come too late.
        const late = await store.applyBatch([{ id: first + 2, attempt: 1, to: 'succeeded', result: 1 }]);
        expect(late.outcomes[0]!.status).toBe('stale');
      });
      expect(turns).toBeGreaterThan(1);
      expect(staleDispatches).toBeGreaterThan(0);
      expect([...states]).toEqual(['cancelled']);
      expect(outcome.cancelled).toBe(LARGE - 1);
      expect(outcome.stopped.map((s) => [s.id, s.state])).toEqual([
        [first + 1, 'dispatched'],
        [first + 2, 'running'],
      ]);
      expect(await again).toEqual({ jobId: job.id, cancelled: 0, stopped: [] });
      const after = await store.getJob(job.id);
      expect(after).toMatchObject({ state: 'cancelled', counts: { queued: 0, dispatched: 0, running: 0, succeeded: 1, cancelled: LARGE - 1 } });
      expect(after.finishedAt).not.toBeNull();
      expect(await queue(store)).toEqual(inputsOf(later.id, 2));
      expect(await store.listSubtasks(job.id, { state: 'queued' })).toEqual([]);
    });

    it('after a restart mid-create, the half-created job is hidden and recover() removes it', async () => {
      const store = await stores.open();
      const before = await store.createJob({ task: 'builtin:noop', inputs: 2 });
      const creating = store.createJob({ task: 'builtin:noop', inputs: LARGE }).catch((err: unknown) => err);
      await nextTurn();
      await store.close(); // the Jobman stops in the middle
      expect(await creating).toMatchObject({ code: 'ERR_STORE_CLOSED' });

      const reopened = await stores.open();
      await expect(reopened.getJob(before.id + 1)).rejects.toThrow(JobNotFoundError);
      expect((await reopened.listJobs()).map((j) => j.id)).toEqual([before.id]);
      expect(await queue(reopened)).toEqual(inputsOf(before.id, 2));
      await reopened.recover();
      await expect(reopened.getJob(before.id + 1)).rejects.toThrow(JobNotFoundError);
      expect(await queue(reopened)).toEqual(inputsOf(before.id, 2));
      const next = await reopened.createJob({ task: 'builtin:noop', inputs: 3 });
      expect(next.id).toBeGreaterThan(before.id + 1);
      expect(await queue(reopened)).toEqual([...inputsOf(before.id, 2), ...inputsOf(next.id, 3)]);
      expect((await reopened.countSubtasks()).queued).toBe(5);
    });

    it('after a restart mid-cancel, the job reads cancelled, no dispatch of it applies, and recover() finishes the cancel', async () => {
      const store = await stores.open();
      const job: JobRecord = await store.createJob({ task: 'builtin:noop', inputs: LARGE });
      const cancelling = store.cancelJob(job.id).catch((err: unknown) => err);
      await nextTurn();
      await store.close();
      expect(await cancelling).toMatchObject({ code: 'ERR_STORE_CLOSED' });

      const reopened = await stores.open();
      expect((await reopened.getJob(job.id)).state).toBe('cancelled');
      const last = job.firstSubtaskId + LARGE - 1;
      expect((await reopened.applyBatch([dispatch(last, 1)])).outcomes[0]!.status).toBe('stale');
      await reopened.recover();
      const after = await reopened.getJob(job.id);
      expect(after).toMatchObject({ state: 'cancelled', counts: { queued: 0, cancelled: LARGE } });
      expect(after.finishedAt).not.toBeNull();
      expect(await reopened.pageQueued({ limit: 10 })).toEqual([]);
    });
  });
}
