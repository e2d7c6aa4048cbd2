import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { Deque } from '../../../src/engine/deque.js';
import { WorkerSupervisor, type Outcome } from '../../../src/engine/taskman/worker-supervisor.js';
import type { WorkSubtask } from '../../../src/engine/api/worker-protocol.js';

/** A Taskman's deque feeding a supervisor of real worker processes. */
function setup(workers: number, options: { heartbeatMs?: number } = {}) {
  const deque = new Deque<WorkSubtask>();
  const sup = new WorkerSupervisor(deque, { workers, ...options });
  const results = new Map<string, Outcome>();
  sup.on('result', (s, outcome) => results.set(s.id, outcome));
  const add = (...subtasks: WorkSubtask[]): void => {
    for (const s of subtasks) deque.pushTail(s);
    sup.wake();
  };
  return { deque, sup, results, add };
}

const subtask = (task: string, index: number, extra: Partial<WorkSubtask> = {}): WorkSubtask => ({
  id: `job-1/${index}`,
  jobId: 'job-1',
  index,
  attempt: 1,
  task,
  ...extra,
});

/** Resolves when `results` holds `n` entries. */
async function until(sup: WorkerSupervisor, results: Map<string, Outcome>, n: number): Promise<void> {
  while (results.size < n) await once(sup, 'result');
}

let current: WorkerSupervisor | undefined;
afterEach(async () => {
  await current?.stop();
  current = undefined;
});

describe('the worker supervisor', () => {
  it('runs subtasks on worker processes that pull them, each result once', async () => {
    const { sup, results, add } = setup(2);
    current = sup;
    add(...Array.from({ length: 60 }, (_, i) => subtask('builtin:noop', i)));
    await until(sup, results, 60);
    expect([...results.values()].map((r) => (r.ok ? r.value : r.error.message)).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 60 }, (_, i) => i),
    );
    expect(new Set(sup.workers().map((w) => w.pid)).size).toBe(2);
  });

  it('reports a task’s error with its message and stack', async () => {
    const { sup, results, add } = setup(1);
    current = sup;
    add(subtask('builtin:fail', 3, { args: 1 }));
    await until(sup, results, 1);
    const r = results.get('job-1/3')!;
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.message).toBe('builtin:fail failing attempt 1 of input 3 on purpose');
    expect(!r.ok && r.error.stack).toMatch(/builtins\.(ts|js)/);
  });

  it('replaces a worker that crashes and hands back what it held, for the head of the deque', async () => {
    const { sup, results, add, deque } = setup(1);
    current = sup;
    const firstPid = sup.workers()[0]!.pid;
    sup.on('returned', (lost) => {
      deque.pushHeadAll(lost.map((s) => ({ ...s, attempt: s.attempt + 1 })));
      sup.wake();
    });
    const returned = once(sup, 'returned');
    add(subtask('builtin:crash', 0));
    const [lost, reason] = await returned;
    expect(lost.map((s: WorkSubtask) => s.id)).toEqual(['job-1/0']);
    expect(reason).toMatch(/worker 0 \(pid \d+\) exited with code 70/);
    await until(sup, results, 1);
    expect(results.get('job-1/0')).toEqual({ ok: true, value: 0 });
    expect(sup.workers()[0]!.pid).not.toBe(firstPid);
  });

  it('kills a subtask that overruns its time-out, and the worker comes back', async () => {
    const { sup, results, add } = setup(1);
    current = sup;
    add(subtask('builtin:sleep', 0, { args: 60_000, timeoutMs: 300 }));
    await until(sup, results, 1);
    expect(results.get('job-1/0')).toEqual({ ok: false, error: { message: 'builtin:sleep timed out after 300 ms' } });
    add(subtask('builtin:noop', 1));
    await until(sup, results, 2);
    expect(results.get('job-1/1')).toEqual({ ok: true, value: 1 });
  });

  it('declares a frozen worker dead after three missed heartbeats and returns its subtask', async () => {
    const { sup, add } = setup(1, { heartbeatMs: 100 });
    current = sup;
    add(subtask('builtin:sleep', 0, { args: 60_000 }));
    // Wait until the worker holds the subtask, then freeze it: it stays alive but stops beating.
    while (sup.workerOf('job-1/0') === undefined) await new Promise((r) => setImmediate(r));
    const pid = sup.workers()[0]!.pid!;
    const returned = once(sup, 'returned');
    process.kill(pid, 'SIGSTOP');
    const [lost, reason] = await returned;
    expect(lost.map((s: WorkSubtask) => s.id)).toEqual(['job-1/0']);
    expect(reason).toMatch(/exited with SIGKILL/);
  });

  it('cancels a running subtask by ending its worker', async () => {
    const { sup, add } = setup(1);
    current = sup;
    add(subtask('builtin:sleep', 0, { args: 60_000 }));
    while (sup.workerOf('job-1/0') === undefined) await new Promise((r) => setImmediate(r));
    const respawned = once(sup, 'spawned');
    expect(sup.kill('job-1/0')).toBe(true);
    await respawned;
    expect(sup.workerOf('job-1/0')).toBeUndefined();
    expect(sup.kill('job-1/0')).toBe(false);
  });

  it('on a cancel, puts the other subtasks of the killed worker’s batch back on the deque, to run elsewhere', async () => {
    const { sup, results, add } = setup(1);
    current = sup;
    // Short subtasks first, so the worker takes batches; then a batch whose head runs long.
    add(...Array.from({ length: 64 }, (_, i) => subtask('builtin:noop', i)));
    await until(sup, results, 64);
    add(subtask('builtin:sleep', 100, { args: 60_000 }), subtask('builtin:noop', 101), subtask('builtin:noop', 102));
    while (sup.workerOf('job-1/102') === undefined) await new Promise((r) => setImmediate(r));
    expect(sup.workerOf('job-1/100')).toBe(sup.workerOf('job-1/101')); // one batch, one worker
    const returned: unknown[] = [];
    sup.on('returned', (lost) => returned.push(...lost));
    expect(sup.kill('job-1/100')).toBe(true);
    await until(sup, results, 66);
    expect(results.get('job-1/101')).toEqual({ ok: true, value: 101 });
    expect(results.get('job-1/102')).toEqual({ ok: true, value: 102 });
    expect(results.has('job-1/100')).toBe(false);
    expect(returned).toEqual([]); // nothing reported as lost to a dying worker
  });
});
