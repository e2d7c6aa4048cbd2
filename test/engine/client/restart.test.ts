import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { JobmanClient } from '../../../src/engine/client/index.js';
import type { DataboxError } from '../../../src/errors.js';
import { startDaemon, TestCluster } from '../support/processes.js';

/**
 * Clients ride over a Jobman restart: with real processes (a Jobman on a fixed port, a Taskman), a
 * `databox job --wait`, a client's `waitForJob` and its event stream, all waiting when the Jobman was
 * SIGKILLed, get the job's result from the Jobman started again on the same port and home, saying once
 * that it was gone; a wait whose Jobman never comes back gives up after its limit, saying why.
 */

let c: TestCluster;

beforeAll(async () => {
  c = await TestCluster.create();
  await c.startJobman();
  await c.startTaskman('a', 1);
});
afterAll(async () => {
  await c?.close();
});

describe('a Jobman restart', () => {
  it('does not break `databox job --wait` nor a client waiting for the job', async () => {
    const job = await c.submit({ task: 'builtin:sleep', count: 4, args: 1_000 });
    const notices: string[] = [];
    const client = await JobmanClient.open({ url: c.url, token: c.token, onOutage: (m) => notices.push(m) });
    let seen = 0;
    const waited = client.waitForJob(job.id, { onProgress: () => seen++ });
    // The event stream a program iterates (a UDF job handle's events()) goes on over the restart too.
    const streamed = (async () => {
      const events: { type: string; state: string }[] = [];
      for await (const e of client.followEvents(job.id)) events.push({ type: e.type, state: e.job.state });
      return events;
    })();
    const cli = startDaemon(['job', String(job.id), '--wait', '--jobman', c.url], { DATABOX_TOKEN: c.token });
    await c.until(() => seen > 0, 'the client to see the job');
    await c.waitForProgress(job.id, (j) => j.counts.running > 0 || j.counts.succeeded > 0);

    c.jobman!.child.kill('SIGKILL');
    await c.jobman!.exited;
    // Both notice the Jobman is gone before it comes back.
    await cli.waitForLog(/is unreachable/);
    await c.until(() => notices.length > 0, 'the client to notice the outage');
    await c.startJobman();

    const done = await waited;
    expect(done).toMatchObject({ id: job.id, state: 'succeeded', counts: { succeeded: 4 } });
    expect((await streamed).at(-1)).toEqual({ type: 'end', state: 'succeeded' });
    expect(await cli.exited).toBe(0);
    expect(cli.stdout()).toMatch(new RegExp(`^job ${job.id}: builtin:sleep, succeeded`));
    const line = `databox: the Jobman at ${c.url} is unreachable (ECONNREFUSED); retrying for up to 60 s\n`;
    expect(cli.stderr().split(line).length - 1).toBe(1);
    expect(notices).toEqual([line.slice('databox: '.length, -1)]);
  });

  it('gives up after the outage limit with a clear error', async () => {
    const job = await c.submit({ task: 'builtin:sleep', count: 1, args: 30_000 });
    const notices: string[] = [];
    const client = await JobmanClient.open({ url: c.url, token: c.token, outageMs: 1_500, onOutage: (m) => notices.push(m) });
    let seen = 0;
    const waited = client.waitForJob(job.id, { onProgress: () => seen++ }).then(
      () => undefined,
      (err: DataboxError) => err,
    );
    await c.until(() => seen > 0, 'the client to see the job');
    const t0 = Date.now();
    c.jobman!.child.kill('SIGKILL');
    await c.jobman!.exited;
    const err = await waited;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_400);
    expect(err).toMatchObject({ code: 'ERR_JOBMAN_UNREACHABLE', retryable: true });
    expect(err!.message).toBe(`cannot reach the Jobman at ${c.url} (ECONNREFUSED); start one with \`databox up\` or pass --jobman; gave up after retrying for 1.5 s`);
    expect(notices).toEqual([`the Jobman at ${c.url} is unreachable (ECONNREFUSED); retrying for up to 1.5 s`]);
  });
});
