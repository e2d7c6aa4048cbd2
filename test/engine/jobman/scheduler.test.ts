import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { Scheduler, UnknownNodeError, type SchedulerOptions } from '../../../src/engine/jobman/index.js';
import { type JobStore } from '../../../src/engine/store/index.js';
import { SqliteJobStore } from '../../../src/engine/store/sqlite/sqlite-store.js';
import type { WorkSubtask } from '../../../src/engine/api/worker-protocol.js';

let dir = '';
const stores: JobStore[] = [];
let clock = 1_000_000;
const now = (): number => clock;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'databox-jobman-'));
  clock = 1_000_000;
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

function openStore(): JobStore {
  const store = SqliteJobStore.open({ path: join(dir, 'databox.db') });
  stores.push(store);
  return store;
}

async function start(options: SchedulerOptions = {}, nodes = ['node-a', 'node-b']): Promise<Scheduler> {
  const s = await Scheduler.start(openStore(), { now, ...options });
  for (const n of nodes) s.nodeUp(n);
  return s;
}

/** What a Taskman reports when its workers ran `work` to success. */
function succeed(work: readonly WorkSubtask[], result = (w: WorkSubtask) => w.index * 10) {
  return work.flatMap((w) => [
    { id: w.id, attempt: w.attempt, to: 'running' as const, worker: 'w1' },
    { id: w.id, attempt: w.attempt, to: 'succeeded' as const, result: result(w) },
  ]);
}

const indexes = (work: readonly WorkSubtask[]) => work.map((w) => w.index);

describe('Scheduler', () => {
  it('hands out a normal job first in, first out, as WorkSubtasks with string ids', async () => {
    const s = await start();
    const job = await s.submit({ task: 'builtin:noop', inputs: 5, args: 7, timeoutMs: 500 });
    const work = await s.pull('node-a', 3);
    expect(work[0]).toEqual({ id: String(job.firstSubtaskId), jobId: String(job.id), index: 0, attempt: 1, task: 'builtin:noop', args: 7, timeoutMs: 500 });
    expect(indexes(work)).toEqual([0, 1, 2]);
    expect(indexes(await s.pull('node-b', 10))).toEqual([3, 4]);
    expect((await s.status(job.id)).counts.dispatched).toBe(5);
  });

  it('a priority job overtakes a long queue of normal work', async () => {
    const s = await start({ windowSize: 100 });
    await s.submit({ task: 'builtin:sleep', inputs: 5_000 });
    const urgent = await s.submit({ task: 'builtin:noop', inputs: 3, priority: true });
    const work = await s.pull('node-a', 4);
    expect(work.map((w) => [w.jobId, w.index])).toEqual([[String(urgent.id), 0], [String(urgent.id), 1], [String(urgent.id), 2], [String(urgent.id - 1), 0]]);
  });

  it('pinned work goes only to its node and waits while that node is busy', async () => {
    const s = await start();
    const pinned = await s.submit({ task: 'builtin:noop', inputs: 2, node: 'node-b' });
    const free = await s.submit({ task: 'builtin:noop', inputs: 2 });
    const a = await s.pull('node-a', 10);
    expect(a.every((w) => w.jobId === String(free.id))).toBe(true);
    expect(indexes(a)).toEqual([0, 1]);
    expect(s.stats().queued).toBe(2);
    const b = await s.pull('node-b', 10);
    expect(b.map((w) => w.jobId)).toEqual([String(pinned.id), String(pinned.id)]);
  });

  it('refuses a job pinned to an unknown node at submission, recording nothing', async () => {
    const s = await start();
    await expect(s.submit({ task: 'builtin:noop', inputs: 1, node: 'node-z' })).rejects.toThrow(UnknownNodeError);
    await expect(s.submit({ task: 'builtin:noop', inputs: 1, node: 'node-z' })).rejects.toThrow(/node-z.*live nodes: node-a, node-b/);
    expect(await s.pull('node-a', 5)).toEqual([]);
  });

  it('gives work to its preferred node first, and to another only after the locality wait', async () => {
    const s = await start({ localityWaitMs: 3_000 });
    await s.submit({ task: 'builtin:noop', inputs: 1, preferNodes: ['node-b'] });
    expect(await s.pull('node-a', 5)).toEqual([]);
    clock += 2_999;
    expect(await s.pull('node-a', 5)).toEqual([]);
    clock += 1;
    expect(indexes(await s.pull('node-a', 5))).toEqual([0]);

    await s.submit({ task: 'builtin:noop', inputs: 1, preferNodes: ['node-b'] });
    expect(indexes(await s.pull('node-b', 5))).toEqual([0]);
  });

  it('retries a failed subtask at the head with the next attempt, keeping each error', async () => {
    const s = await start();
    const job = await s.submit({ task: 'builtin:fail', inputs: 3, retries: 2 });
    const [first] = await s.pull('node-a', 1);
    const out = await s.report('node-a', [
      { id: first!.id, attempt: 1, to: 'running', worker: 'w1' },
      { id: first!.id, attempt: 1, to: 'failed', error: { message: 'boom 1' } },
    ]);
    expect(out.outcomes[1]).toMatchObject({ status: 'applied', retried: true });
    const again = await s.pull('node-b', 1);
    expect(again[0]).toMatchObject({ id: first!.id, index: 0, attempt: 2 });
    await s.report('node-b', [
      { id: first!.id, attempt: 2, to: 'running', worker: 'w2' },
      { id: first!.id, attempt: 2, to: 'failed', error: { message: 'boom 2' } },
    ]);
    expect((await s.pull('node-a', 1))[0]).toMatchObject({ id: first!.id, attempt: 3 });
    const errors = await openStore().listAttemptErrors(job.id);
    expect(errors.map((e) => [e.attempt, e.error.message])).toEqual([[1, 'boom 1'], [2, 'boom 2']]);
  });

  it('restarts a whole job at the head under restart-job, and says what to kill', async () => {
    const s = await start();
    const job = await s.submit({ task: 'builtin:fail', inputs: 3, onFailure: 'restart-job', retries: 1 });
    const a = await s.pull('node-a', 2);
    const b = await s.pull('node-b', 1);
    const out = await s.report('node-a', [
      { id: a[0]!.id, attempt: 1, to: 'running', worker: 'w1' },
      { id: a[0]!.id, attempt: 1, to: 'failed', error: { message: 'bad' } },
    ]);
    expect(out.kill.map((k) => [k.node, k.id]).sort()).toEqual([['node-a', a[1]!.id], ['node-b', b[0]!.id]]);
    const again = await s.pull('node-a', 10);
    expect(indexes(again)).toEqual([0, 1, 2]);
    expect(again.every((w) => w.attempt === 2)).toBe(true);
    expect((await s.status(job.id)).restarts).toBe(1);
  });

  it("puts a dead node's subtasks back at the head of the deque", async () => {
    const s = await start();
    await s.submit({ task: 'builtin:noop', inputs: 6 });
    const a = await s.pull('node-a', 2);
    expect(s.stats().inFlight).toBe(2);
    expect(await s.nodeDown('node-a')).toEqual({ node: 'node-a', requeued: 2 });
    expect(s.stats().inFlight).toBe(0);
    const b = await s.pull('node-b', 3);
    expect(b.map((w) => [w.index, w.attempt])).toEqual([[0, 2], [1, 2], [2, 1]]);
    // Its late report is about work now dispatched to node-b: refused, not stored.
    const late = await s.report('node-a', succeed(a));
    expect(late.outcomes.map((o) => [o.status, o.error?.message])).toEqual(
      succeed(a).map((c) => ['rejected', `Node "node-a" reported on subtask ${c.id}, which is dispatched to node "node-b"`]),
    );
    await expect(s.pull('node-a', 1)).rejects.toThrow(/not up/);
  });

  it('cancels a job: queued work is dropped, work in flight is returned to kill', async () => {
    const s = await start();
    const job = await s.submit({ task: 'builtin:sleep', inputs: 4 });
    const other = await s.submit({ task: 'builtin:noop', inputs: 1 });
    const a = await s.pull('node-a', 1);
    const out = await s.cancel(job.id);
    expect(out).toMatchObject({ jobId: job.id, cancelled: 4, kill: [{ node: 'node-a', id: a[0]!.id, attempt: 1 }] });
    const next = await s.pull('node-b', 10);
    expect(next.map((w) => w.jobId)).toEqual([String(other.id)]);
    expect((await s.status(job.id)).state).toBe('cancelled');
  });

  it('ignores a duplicate report: nothing is committed twice', async () => {
    const s = await start();
    const job = await s.submit({ task: 'builtin:noop', inputs: 2 });
    const work = await s.pull('node-a', 2);
    const first = await s.report('node-a', succeed(work));
    expect(first.outcomes.every((o) => o.status === 'applied')).toBe(true);
    expect(first.finishedJobs).toEqual([job.id]);
    const again = await s.report('node-a', succeed(work, () => 999));
    expect(again.outcomes.every((o) => o.status === 'duplicate')).toBe(true);
    expect((await openStore().listResults(job.id)).map((r) => r.result)).toEqual([0, 10]);
  });

  it('rejects a report with a malformed id and commits the rest', async () => {
    const s = await start();
    await s.submit({ task: 'builtin:noop', inputs: 1 });
    const work = await s.pull('node-a', 1);
    const out = await s.report('node-a', [{ id: 'x', attempt: 1, to: 'running' }, ...succeed(work)]);
    expect(out.outcomes.map((o) => o.status)).toEqual(['rejected', 'applied', 'applied']);
  });

  it('refills its paging window as capacity frees', async () => {
    const s = await start({ windowSize: 10 });
    await s.submit({ task: 'builtin:noop', inputs: 25 });
    expect(s.stats()).toMatchObject({ queued: 10, dequeSize: 10 });
    expect(indexes(await s.pull('node-a', 4))).toEqual([0, 1, 2, 3]);
    expect(s.stats().queued).toBe(10);
    const rest = [...(await s.pull('node-a', 10)), ...(await s.pull('node-b', 10)), ...(await s.pull('node-b', 10))];
    expect(indexes(rest)).toEqual(Array.from({ length: 21 }, (_, i) => i + 4));
    expect(s.stats().queued).toBe(0);
  });

  it('continues every job after a crash, when a new Scheduler reopens the store', async () => {
    const s1 = await start({ windowSize: 5 });
    const job = await s1.submit({ task: 'builtin:noop', inputs: 12 });
    const done = await s1.pull('node-a', 3);
    await s1.report('node-a', succeed(done));
    const lost = await s1.pull('node-b', 3);
    await s1.report('node-b', [{ id: lost[0]!.id, attempt: 1, to: 'running', worker: 'w1' }]);
    await stores[0]!.close(); // the crash: nothing cleaned up, only what was committed remains

    const s2 = await start({ windowSize: 5 });
    const work: WorkSubtask[] = [];
    for (let batch = await s2.pull('node-a', 4); batch.length > 0; batch = await s2.pull('node-a', 4)) {
      work.push(...batch);
      await s2.report('node-a', succeed(batch));
    }
    expect(indexes(work).sort((x, y) => x - y)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(work.slice(0, 3).map((w) => w.attempt)).toEqual([2, 2, 2]);
    expect((await s2.report('node-b', succeed(lost))).outcomes.every((o) => o.status === 'stale')).toBe(true);
    const status = await s2.status(job.id);
    expect(status).toMatchObject({ state: 'succeeded' });
    expect((await stores[1]!.listResults(job.id)).map((r) => r.result)).toEqual(Array.from({ length: 12 }, (_, i) => i * 10));
  });

  it('refuses a bad option by name and value', async () => {
    await expect(Scheduler.start(openStore(), { windowSize: 0 })).rejects.toThrow('options.windowSize must be a positive integer (got 0)');
  });

  it('holds at most windowSize subtasks in memory for a job of a million', async () => {
    const s = await start({ windowSize: 10_000 });
    const heapBefore = process.memoryUsage().heapUsed;
    await s.submit({ task: 'builtin:noop', inputs: 1_000_000 });
    expect(s.stats()).toMatchObject({ queued: 10_000, dequeSize: 10_000 });
    await s.pull('node-a', 5_000);
    expect(s.stats().queued).toBeLessThanOrEqual(10_000);
    expect(s.stats().dequeSize).toBeLessThanOrEqual(10_000);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
  }, 60_000);
});
