import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { fixture, jobFailure, ownTmpdir, UdfTestCluster } from './support.js';

/**
 * How a UDF can fail on a cluster of real processes (a Jobman, a Taskman, two workers), and that the
 * cluster outlives each failure: after every test a normal job still runs, on the same Taskman process.
 * Heartbeats are every 200 ms, so a worker silent for 600 ms would be declared dead and killed.
 */

let c: UdfTestCluster;
let tmp: ReturnType<typeof ownTmpdir>;
let taskmanPid = 0;

beforeAll(async () => {
  // Workers killed mid-subtask cannot remove their scratch directories; they land in here.
  tmp = ownTmpdir('udf-failures');
  c = await UdfTestCluster.start({ node: 'a', workers: 2 });
  taskmanPid = c.taskman.pid;
});
afterAll(async () => {
  await c?.close();
  tmp?.remove();
});

afterEach(async () => {
  // The failure stayed inside its subtask: the same Taskman, all its workers back, and work still runs.
  expect(c.taskmanAlive()).toBe(true);
  expect(c.taskman.pid).toBe(taskmanPid);
  await c.waitForWorkers((ws) => ws.length === 2 && ws.every((w) => w.pid !== null), 'two workers running');
  expect(await c.cluster.map<number>(fixture('map-only-udf.ts'), [1, 2, 3])).toEqual([3, 6, 9]);
});

describe('a failing UDF on a cluster', () => {
  it('fails the job when the UDF throws, with its message and a stack through the UDF code', async () => {
    const err = await jobFailure(c.cluster.map(fixture('throws-udf.ts'), [41], { retries: 1 }));
    expect(err.errors).toHaveLength(2);
    expect(err.errors.map((e) => e.attempt).sort()).toEqual([1, 2]);
    for (const e of err.errors) {
      expect(e).toMatchObject({ index: 0, node: 'a', message: 'input 41 is out of range for this UDF' });
      expect(e.stack).toMatch(/^RangeError: input 41 is out of range for this UDF\n/);
      expect(e.stack).toMatch(/at rejectInput /);
    }
    expect(err.message).toContain('input 41 is out of range for this UDF');
  });

  it('retries a subtask whose UDF called process.exit(3), on a new worker process', async () => {
    const before = await c.workerPids();
    const handle = await c.cluster.submitMap<{ value: number; attempt: number }>(fixture('exit-once-udf.ts'), [21], { retries: 1 });
    expect(await handle.result()).toEqual([{ value: 42, attempt: 2 }]);

    const errors = [];
    for await (const e of c.client.errors(handle.id)) errors.push(e);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ index: 0, attempt: 1, error: { code: 'ERR_UDF_EXIT' } });
    expect(errors[0]!.error.message).toContain('process.exit(3)');
    // The worker that ran attempt 1 ended with its UDF, and the Taskman started another in its slot.
    const after = await c.waitForWorkers((ws) => ws.some((w) => w.pid !== null && !before.includes(w.pid)), 'a new worker pid');
    expect(after.filter((w) => w.pid !== null && before.includes(w.pid))).toHaveLength(1);
  });

  it('retries a subtask whose UDF killed its own worker process with SIGKILL', async () => {
    const before = await c.workerPids();
    const handle = await c.cluster.submitMap<{ value: number; attempt: number }>(fixture('sigkill-once-udf.ts'), [9], { retries: 1 });
    expect(await handle.result()).toEqual([{ value: 10, attempt: 2 }]);

    const errors = [];
    for await (const e of c.client.errors(handle.id)) errors.push(e);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ index: 0, attempt: 1, error: { code: 'ERR_WORKER_DIED' } });
    expect(errors[0]!.error.message).toMatch(/SIGKILL/);
    await c.waitForWorkers((ws) => ws.some((w) => w.pid !== null && !before.includes(w.pid)), 'a new worker pid');
  });

  it('ends an endless loop at the job’s time-out, while the worker’s heartbeats keep it alive meanwhile', async () => {
    const err = await jobFailure(c.cluster.map(fixture('endless-udf.ts'), [0], { timeoutMs: 1500, retries: 0 }));
    expect(err.errors).toHaveLength(1);
    const [e] = err.errors;
    // The time-out (1500 ms) is well past the 600 ms after which a silent worker is declared dead: had
    // the loop blocked the worker's heartbeats, the Taskman would have killed it as dead (ERR_WORKER_DIED)
    // long before, so a time-out error here shows the heartbeats went on beside the loop.
    expect(e!.message).toMatch(/^udf:[0-9a-f]{64} timed out after 1500 ms$/);
    expect(e!.code).not.toBe('ERR_WORKER_DIED');
    expect(e!.message).not.toMatch(/died|heartbeat/);
  });

  it('stops a UDF that outgrows memoryMb with ERR_UDF_MEMORY', async () => {
    const err = await jobFailure(c.cluster.map(fixture('memory-hog-udf.ts'), [0], { memoryMb: 128, retries: 0, timeoutMs: 30_000 }));
    expect(err.errors).toHaveLength(1);
    const [e] = err.errors;
    expect(e!.code).toBe('ERR_UDF_MEMORY');
    expect(e!.message).toMatch(/memoryMb of 128 MiB/);
  });
});
