import { afterEach, describe, expect, it } from 'vitest';

import { EtcdRegistry } from '../../src/engine/registry/index.js';
import { etcdSkipReason, startEtcd } from './registry/etcd-server.js';
import { expectEachIndexOnce, TestCluster, type NodeView } from './support/processes.js';

/**
 * The engine as users run it: a Jobman, Taskmen and workers, each a real process started from the built
 * CLI, talking over HTTP and IPC. Heartbeats every 200 ms, so a silent node is dead after 600 ms.
 */

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function boot(nodes: Record<string, number>, jobmanArgs: string[] = []): Promise<TestCluster> {
  cluster = await TestCluster.create();
  await cluster.startJobman(jobmanArgs);
  for (const [name, workers] of Object.entries(nodes)) await cluster.startTaskman(name, workers);
  return cluster;
}

const pidsOf = (nodes: NodeView[], name: string): number[] => nodes.find((n) => n.name === name)!.workers.map((w) => w.pid!).filter(Boolean);

describe('a cluster of real processes', () => {
  it('runs a job through the Jobman, a Taskman and its workers, each result once', async () => {
    const c = await boot({ a: 2 });
    const job = await c.submit({ task: 'builtin:noop', count: 3000 });
    const done = await c.waitForJob(job.id);
    expect(done.state).toBe('succeeded');
    expect(done.counts.succeeded).toBe(3000);
    expect(expectEachIndexOnce(await c.results(job.id), 3000)).toBeUndefined();
  });

  it('re-runs the subtask of a worker killed with SIGKILL, and replaces the worker', async () => {
    const c = await boot({ a: 2 });
    const job = await c.submit({ task: 'builtin:sleep', args: 400, count: 8 });
    await c.waitForProgress(job.id, (j) => j.counts.running === 2);
    const [victim] = pidsOf(await c.nodes(), 'a');
    process.kill(victim!, 'SIGKILL');
    const done = await c.waitForJob(job.id);
    expect(done.state).toBe('succeeded');
    const rows = await c.results(job.id);
    expect(expectEachIndexOnce(rows, 8)).toBeUndefined();
    expect(rows.some((r) => r.attempt === 2)).toBe(true);
    const errors = (await c.api<{ errors: { error: { code?: string; message: string } }[] }>(`/v1/jobs/${job.id}/errors`)).body.errors;
    expect(errors).toHaveLength(1);
    expect(errors[0]!.error.code).toBe('ERR_WORKER_DIED');
    expect(errors[0]!.error.message).toMatch(/SIGKILL/);
    expect(pidsOf(await c.nodes(), 'a')).not.toContain(victim);
  });

  it('gives the work of a Taskman killed with SIGKILL to another node once it misses three heartbeats', async () => {
    const c = await boot({ a: 2, b: 2 }, ['--log']);
    const job = await c.submit({ task: 'builtin:sleep', args: 300, count: 16 });
    await c.waitForProgress(job.id, (j) => j.counts.running === 4);
    const a = c.daemons[1]!;
    a.child.kill('SIGKILL');
    await c.jobman!.waitForLog(/node declared dead/);
    const done = await c.waitForJob(job.id);
    expect(done.state).toBe('succeeded');
    const rows = await c.results(job.id);
    expect(expectEachIndexOnce(rows, 16)).toBeUndefined();
    // What a held when it died ran again on b, as a new attempt.
    expect(rows.filter((r) => r.attempt > 1).every((r) => r.node === 'b')).toBe(true);
    expect(rows.some((r) => r.attempt > 1)).toBe(true);
    expect((await c.nodes()).find((n) => n.name === 'a')!.state).toBe('dead');
  });

  it('tells a Taskman that comes back after being declared dead to drop its work, and takes it back afterwards', async () => {
    const c = await boot({ a: 1, b: 1 }, ['--log']);
    const job = await c.submit({ task: 'builtin:sleep', args: 300, count: 8 });
    await c.waitForProgress(job.id, (j) => j.counts.running === 2);
    const a = c.daemons[1]!;
    a.child.kill('SIGSTOP');
    await c.jobman!.waitForLog(/node declared dead/);
    const before = a.stderr().length;
    a.child.kill('SIGCONT');
    await a.waitForLog(/dropped \d+ running and \d+ queued subtasks/, { after: before });
    await a.waitForLog(/joined the Jobman/, { after: before });
    const done = await c.waitForJob(job.id);
    expect(done.state).toBe('succeeded');
    expect(expectEachIndexOnce(await c.results(job.id), 8)).toBeUndefined();
    expect((await c.nodes()).find((n) => n.name === 'a')!.state).toBe('alive');
  });

  it('continues every job after the Jobman is killed with SIGKILL and restarted on the same database', async () => {
    const c = await boot({ a: 2 });
    const job = await c.submit({ task: 'builtin:sleep', args: 20, count: 300 });
    await c.waitForProgress(job.id, (j) => j.counts.succeeded >= 50);
    c.jobman!.child.kill('SIGKILL');
    await c.jobman!.exited;
    await c.startJobman();
    const done = await c.waitForJob(job.id);
    expect(done.state).toBe('succeeded');
    expect(done.counts.succeeded).toBe(300);
    expect(expectEachIndexOnce(await c.results(job.id), 300)).toBeUndefined();
  });

  it('runs a priority job ahead of a long queue of normal work', async () => {
    const c = await boot({ a: 2 });
    const normal = await c.submit({ task: 'builtin:sleep', args: 200, count: 200 });
    await c.waitForProgress(normal.id, (j) => j.counts.running === 2);
    const urgent = await c.submit({ task: 'builtin:noop', count: 10, priority: true });
    const done = await c.waitForJob(urgent.id);
    expect(done.state).toBe('succeeded');
    const rest = (await c.api<{ counts: { succeeded: number } }>(`/v1/jobs/${normal.id}`)).body;
    expect(rest.counts.succeeded).toBeLessThan(20);
    await c.api(`/v1/jobs/${normal.id}`, { method: 'DELETE' });
  });

  it('runs a pinned job only on its node, and refuses a job pinned to an unknown node', async () => {
    const c = await boot({ a: 2, b: 2 });
    const job = await c.submit({ task: 'builtin:noop', count: 500, node: 'b' });
    expect((await c.waitForJob(job.id)).state).toBe('succeeded');
    const rows = await c.results(job.id);
    expect(new Set(rows.map((r) => r.node))).toEqual(new Set(['b']));
    const refused = await c.api<{ code: string; message: string }>('/v1/jobs', { method: 'POST', body: { task: 'builtin:noop', count: 1, node: 'zz' } });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('ERR_UNKNOWN_NODE');
    expect(refused.body.message).toContain('"zz"');
    expect(refused.body.message).toContain('live nodes: a, b');
  });

  it('cancels a job: queued work is dropped and running work is killed', async () => {
    const c = await boot({ a: 2 });
    const job = await c.submit({ task: 'builtin:sleep', args: 30_000, count: 6 });
    await c.waitForProgress(job.id, (j) => j.counts.running === 2);
    const pids = pidsOf(await c.nodes(), 'a');
    const cancel = await c.api<{ cancelled: number; killed: number }>(`/v1/jobs/${job.id}`, { method: 'DELETE' });
    // Everything dispatched is killed on the node: the 2 running, and what waits on the node's deque.
    expect(cancel.body).toMatchObject({ id: job.id, cancelled: 6 });
    expect(cancel.body.killed).toBeGreaterThanOrEqual(2);
    const done = await c.waitForJob(job.id);
    expect(done.state).toBe('cancelled');
    // The killed workers were replaced, and the node runs new work.
    const next = await c.submit({ task: 'builtin:noop', count: 10 });
    expect((await c.waitForJob(next.id)).state).toBe('succeeded');
    expect(pidsOf(await c.nodes(), 'a').filter((p) => pids.includes(p))).toEqual([]);
  });

  it('kills a subtask past its time-out, and retries a crashed worker’s subtask', async () => {
    const c = await boot({ a: 2 });
    const slow = await c.submit({ task: 'builtin:sleep', args: 30_000, count: 1, timeoutMs: 300, retries: 0 });
    const crash = await c.submit({ task: 'builtin:crash', count: 4 });
    const slowDone = await c.waitForJob(slow.id);
    expect(slowDone.state).toBe('failed');
    const errors = (await c.api<{ errors: { error: { message: string } }[] }>(`/v1/jobs/${slow.id}/errors`)).body.errors;
    expect(errors[0]!.error.message).toBe('builtin:sleep timed out after 300 ms');
    const crashDone = await c.waitForJob(crash.id);
    expect(crashDone.state).toBe('succeeded');
    expect((await c.results(crash.id)).map((r) => r.attempt)).toEqual([2, 2, 2, 2]);
  });

  it('restarts a whole job under the restart-job policy', async () => {
    const c = await boot({ a: 2 });
    const job = await c.submit({ task: 'builtin:fail', args: 1, count: 5, onFailure: 'restart-job' });
    const done = await c.waitForJob(job.id);
    expect(done.state).toBe('succeeded');
    expect(done.restarts).toBeGreaterThanOrEqual(1);
    expect(expectEachIndexOnce(await c.results(job.id), 5)).toBeUndefined();
  });
});

describe.skipIf(etcdSkipReason !== undefined)('a cluster registered in etcd', () => {
  it('registers the Jobman and each live Taskman in etcd, and removes a dead Taskman', async () => {
    const etcd = await startEtcd();
    const reader = new EtcdRegistry(etcd.url);
    try {
      const c = await boot({ a: 1, b: 1 }, ['--registry', etcd.url, '--log']);
      const jobmen = await reader.list('jobman');
      expect(jobmen.map((e) => e.value.url)).toEqual([c.url]);
      expect((await reader.list('taskman')).map((e) => [e.id, e.value.workers])).toEqual([['a', 1], ['b', 1]]);
      c.daemons[1]!.child.kill('SIGKILL');
      await c.jobman!.waitForLog(/node declared dead/);
      await c.until(async () => (await reader.list('taskman')).length === 1, 'the dead Taskman’s entry to go');
      expect((await reader.list('taskman')).map((e) => e.id)).toEqual(['b']);
    } finally {
      await reader.close();
      await etcd.stop();
    }
  });
});
