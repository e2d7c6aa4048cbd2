import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { startJobman, type Jobman } from '../../../src/engine/jobman/server.js';
import { LinkDriver } from '../support/link-driver.js';

/** The Taskman link's own rules, driven over real HTTP against a real Jobman. */
let dir: string;
let jobman: Jobman;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'databox-link-'));
  jobman = await startJobman({ home: dir, port: 0, heartbeatMs: 1000 });
});
afterEach(async () => {
  await jobman.close();
  await rm(dir, { recursive: true, force: true });
});

const submit = async (body: unknown): Promise<{ id: number }> => {
  const res = await fetch(`${jobman.url}/v1/jobs`, { method: 'POST', headers: { authorization: `Bearer ${jobman.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: number };
};

describe('the Taskman link', () => {
  it('takes back work whose answer never reached the Taskman, at its next heartbeat', async () => {
    const node = await LinkDriver.join(jobman, { name: 'a' });
    // A held heartbeat the Taskman gives up on; work then arrives while the Jobman still holds it.
    const abort = new AbortController();
    const held = once(jobman.nodes, 'held');
    const lostBeat = node.take(5, abort.signal).catch((err: unknown) => err);
    await held;
    abort.abort();
    expect(await lostBeat).toBeInstanceOf(Error);
    const job = await submit({ task: 'builtin:noop', count: 5 });
    // Whether or not the Jobman dispatched into the dead answer, all five reach the node now.
    const got = await node.take(5);
    const again = got.length === 5 ? got : [...got, ...(await node.take(5))];
    expect(again.map((w) => w.index).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(again.every((w) => w.jobId === String(job.id))).toBe(true);
  });

  it('refuses a heartbeat of an unknown incarnation with ERR_NODE_DROPPED, and a second Taskman under a live name with ERR_NODE_CONFLICT', async () => {
    await LinkDriver.join(jobman, { name: 'a' });
    const headers = { authorization: `Bearer ${jobman.nodeToken('a')}`, 'content-type': 'application/json' };
    const beat = await fetch(`${jobman.url}/v1/nodes/a/heartbeat`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ incarnation: 'someone-else', seq: 1, ack: 0, want: 1, changes: [], workers: [], metrics: null }),
    });
    expect(beat.status).toBe(409);
    expect(((await beat.json()) as { code: string }).code).toBe('ERR_NODE_DROPPED');
    const join2 = await fetch(`${jobman.url}/v1/nodes/a/join`, { method: 'POST', headers, body: JSON.stringify({ incarnation: 'another-one', workers: 1, startedAt: Date.now() }) });
    expect(join2.status).toBe(409);
    const body = (await join2.json()) as { code: string; message: string };
    expect(body.code).toBe('ERR_NODE_CONFLICT');
    expect(body.message).toMatch(/Node "a" is already connected/);
  });

  it('names the field and the value of a malformed heartbeat, and changes nothing', async () => {
    await LinkDriver.join(jobman, { name: 'a' });
    await submit({ task: 'builtin:noop', count: 3 });
    const res = await fetch(`${jobman.url}/v1/nodes/a/heartbeat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${jobman.nodeToken('a')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ incarnation: 'whatever-1', seq: 1, ack: 0, want: -2, changes: [], workers: [], metrics: null }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toBe('body.want Too small: expected number to be >=0 (got -2)');
    expect(jobman.scheduler.stats().inFlight).toBe(0);
  });

  it('answers 400, not 500, to a body nested too deep to validate', async () => {
    const args = `${'['.repeat(5000)}1${']'.repeat(5000)}`;
    const res = await fetch(`${jobman.url}/v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${jobman.token}`, 'content-type': 'application/json' },
      body: `{"task":"builtin:noop","count":1,"args":${args}}`,
    });
    expect(res.status).toBe(400);
    expect(jobman.scheduler.stats().queued).toBe(0);
  });
});
