import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TestCluster } from '../support/processes.js';

/**
 * A job pinned to a node that is gone fails after the Jobman's grace period with ERR_NODE_GONE, unless
 * it was submitted with waitForNode, or the node comes back in time: real processes, a Jobman with an
 * 12 s grace (a restarted Taskman joins well within it, even on a loaded machine) and Taskmen killed with SIGKILL.
 */

const GRACE_MS = 12_000;
let c: TestCluster;

beforeAll(async () => {
  c = await TestCluster.create();
  await c.startJobman(['--pinned-node-grace-ms', String(GRACE_MS)]);
});
afterAll(async () => {
  await c?.close();
});

interface ErrorRow {
  index: number;
  attempt: number;
  error: { message: string; code?: string };
}

describe('a job pinned to a node that is gone', () => {
  it('fails with ERR_NODE_GONE after the grace period; one that waits for its node does not', async () => {
    const a = await c.startTaskman('a', 1);
    const pinned = await c.submit({ task: 'builtin:sleep', count: 3, args: 60_000, node: 'a' });
    const waiting = await c.submit({ task: 'builtin:sleep', count: 1, args: 60_000, node: 'a', waitForNode: true });
    expect((await c.api<{ waitForNode: boolean }>(`/v1/jobs/${waiting.id}`)).body.waitForNode).toBe(true);
    await c.waitForProgress(pinned.id, (j) => j.counts.running > 0);
    const t0 = Date.now();
    a.child.kill('SIGKILL');

    const failed = await c.waitForJob(pinned.id, 60_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(GRACE_MS);
    expect(failed).toMatchObject({ state: 'failed', counts: { failed: 3, queued: 0, running: 0 } });
    const errors = (await c.api<{ errors: ErrorRow[] }>(`/v1/jobs/${pinned.id}/errors`)).body.errors;
    expect(errors).toHaveLength(3);
    for (const e of errors) {
      expect(e.error.code).toBe('ERR_NODE_GONE');
      expect(e.error.message).toBe(`the job is pinned to node "a", which was gone for longer than the ${GRACE_MS} ms grace period; submit it with waitForNode to wait for the node however long it is gone`);
    }

    // The job that waits for its node is still there, queued, and runs once the node is back.
    expect((await c.api<{ state: string }>(`/v1/jobs/${waiting.id}`)).body.state).toBe('queued');
    await c.startTaskman('a', 1);
    await c.waitForProgress(waiting.id, (j) => j.counts.running > 0);
    await c.api(`/v1/jobs/${waiting.id}`, { method: 'DELETE' });
  });

  it('keeps its work when the node comes back within the grace period', async () => {
    const b = await c.startTaskman('b', 1);
    const job = await c.submit({ task: 'builtin:sleep', count: 3, args: 300, node: 'b' });
    await c.waitForProgress(job.id, (j) => j.counts.running > 0 || j.counts.succeeded > 0);
    b.child.kill('SIGKILL');
    await c.until(async () => (await c.nodes()).some((n) => n.name === 'b' && n.state === 'dead'), 'node b to be declared dead');
    await c.startTaskman('b', 1);
    const done = await c.waitForJob(job.id, 60_000);
    expect(done).toMatchObject({ state: 'succeeded', counts: { succeeded: 3 } });
    expect((await c.api<{ errors: ErrorRow[] }>(`/v1/jobs/${job.id}/errors`)).body.errors).toEqual([]);
  });

  it('fails after the grace period when its node does not come back after a Jobman restart', async () => {
    const d = await c.startTaskman('d', 1);
    const job = await c.submit({ task: 'builtin:sleep', count: 2, args: 60_000, node: 'd' });
    await c.waitForProgress(job.id, (j) => j.counts.running > 0);
    d.child.kill('SIGKILL');
    c.jobman!.child.kill('SIGKILL');
    await Promise.all([d.exited, c.jobman!.exited]);
    const t0 = Date.now();
    await c.startJobman(['--pinned-node-grace-ms', String(GRACE_MS)]);
    const failed = await c.waitForJob(job.id, 60_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(GRACE_MS - 1_000);
    expect(failed).toMatchObject({ state: 'failed', counts: { failed: 2 } });
    const errors = (await c.api<{ errors: ErrorRow[] }>(`/v1/jobs/${job.id}/errors`)).body.errors;
    expect(errors.map((e) => e.error.code)).toEqual(['ERR_NODE_GONE', 'ERR_NODE_GONE']);
  });

  it('is refused at submit when its node is not live, unless it waits for it', async () => {
    const refused = await c.api<{ code: string }>('/v1/jobs', { method: 'POST', body: { task: 'builtin:noop', count: 1, node: 'nowhere' } });
    expect(refused).toMatchObject({ status: 400, body: { code: 'ERR_UNKNOWN_NODE' } });
    const accepted = await c.submit({ task: 'builtin:noop', count: 1, node: 'nowhere', waitForNode: true });
    expect(accepted).toMatchObject({ state: 'queued', node: 'nowhere', waitForNode: true });
  });
});
