import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { startJobman, type Jobman } from '../../../src/engine/jobman/server.js';
import { runCli } from '../../helpers/cli.js';
import { LinkDriver } from '../support/link-driver.js';

/**
 * Who may do what on a real Jobman over HTTP: the API token (clients), the read-only token (viewers),
 * and node tokens, each bound to one node's name (Taskmen). Each of these failed when one token opened
 * every route.
 */
let dir: string;
let jobman: Jobman;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'databox-roles-'));
  jobman = await startJobman({ home: dir, port: 0, heartbeatMs: 1000 });
});
afterEach(async () => {
  await jobman.close();
  await rm(dir, { recursive: true, force: true });
});

async function call(token: string | undefined, method: string, path: string, body?: unknown): Promise<{ status: number; body: { code?: string; message?: string } & Record<string, unknown> }> {
  const res = await fetch(`${jobman.url}${path}`, {
    method,
    headers: { ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  const json = (res.headers.get('content-type') ?? '').startsWith('application/json');
  return { status: res.status, body: json ? (JSON.parse(text) as never) : {} };
}

const joinBody = (incarnation: string) => ({ incarnation, workers: 1, startedAt: Date.now() });

describe('roles', () => {
  it('writes the three secrets into the home, each readable by its owner only', async () => {
    for (const file of ['token', 'read-token', 'node-secret']) {
      expect(((await stat(join(dir, file))).mode & 0o777).toString(8)).toBe('600');
    }
    expect((await readFile(join(dir, 'read-token'), 'utf8')).trim()).toBe(jobman.readToken);
    expect(jobman.readToken).not.toBe(jobman.token);
  });

  it('refuses the API token on the Taskman link: nodes join with their own token', async () => {
    const r = await call(jobman.token, 'POST', '/v1/nodes/a/join', joinBody('incarnation-1'));
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ code: 'ERR_FORBIDDEN' });
    expect(r.body.message).toMatch(/takes a node token, not the API token/);
    expect(jobman.nodes.isAlive('a')).toBe(false);
  });

  it('binds a node token to its node: node a cannot join, beat or leave as node b', async () => {
    const tokenA = jobman.nodeToken('a');
    expect(tokenA).toMatch(/^node\.a\.[A-Za-z0-9_-]{43}$/);
    for (const action of ['join', 'heartbeat', 'leave']) {
      const r = await call(tokenA, 'POST', `/v1/nodes/b/${action}`, joinBody('incarnation-1'));
      expect(r.status, action).toBe(403);
      expect(r.body.message).toBe('Not allowed: the node token of "a" cannot speak for node "b"');
    }
    expect((await call(tokenA, 'POST', '/v1/nodes/a/join', joinBody('incarnation-1'))).status).toBe(200);
  });

  it('refuses a token whose name was changed, or whose MAC was forged', async () => {
    const forged = jobman.nodeToken('a').replace(/^node\.a\./, 'node.b.');
    expect((await call(forged, 'POST', '/v1/nodes/b/join', joinBody('incarnation-1'))).status).toBe(401);
    expect((await call(`node.a.${'A'.repeat(43)}`, 'POST', '/v1/nodes/a/join', joinBody('incarnation-1'))).status).toBe(401);
    // Any length, compared in constant time after hashing: no crash, no hint.
    expect((await call('x'.repeat(500), 'GET', '/v1/jobs')).status).toBe(401);
    expect((await call(jobman.token.slice(0, -1), 'GET', '/v1/jobs')).status).toBe(401);
  });

  it('lets a node token do nothing but its own link and UDF downloads', async () => {
    const token = jobman.nodeToken('a');
    expect((await call(token, 'GET', '/v1/jobs')).status).toBe(403);
    expect((await call(token, 'POST', '/v1/jobs', { task: 'builtin:noop', count: 1 })).status).toBe(403);
    expect((await call(token, 'POST', '/v1/node-tokens', { node: 'b' })).status).toBe(403);
    // A bundle that does not exist is a 404: the route was allowed.
    expect((await call(token, 'GET', `/v1/udfs/${'0'.repeat(64)}`)).status).toBe(404);
  });

  it('lets the read-only token read jobs and nodes, and nothing else', async () => {
    const job = await call(jobman.token, 'POST', '/v1/jobs', { task: 'builtin:noop', count: 2 });
    expect(job.status).toBe(201);
    const read = jobman.readToken;
    expect((await call(read, 'GET', '/v1/jobs')).status).toBe(200);
    expect((await call(read, 'GET', `/v1/jobs/${job.body.id}`)).status).toBe(200);
    expect((await call(read, 'GET', '/v1/nodes')).status).toBe(200);
    expect((await call(read, 'GET', '/metrics')).status).toBe(200);
    const submit = await call(read, 'POST', '/v1/jobs', { task: 'builtin:noop', count: 1 });
    expect(submit.status).toBe(403);
    expect(submit.body.message).toBe('Not allowed: the read-only token can only read (GET), not POST /v1/jobs');
    expect((await call(read, 'DELETE', `/v1/jobs/${job.body.id}`)).status).toBe(403);
    expect((await call(read, 'GET', `/v1/udfs/${'0'.repeat(64)}`)).status).toBe(403);
    expect((await call(read, 'POST', '/v1/nodes/a/join', joinBody('incarnation-1'))).status).toBe(403);
  });

  it('mints node tokens over the API for the API token only, and they open that node’s link', async () => {
    const minted = await call(jobman.token, 'POST', '/v1/node-tokens', { node: 'edge-7' });
    expect(minted).toMatchObject({ status: 200, body: { node: 'edge-7', token: jobman.nodeToken('edge-7') } });
    expect((await call(minted.body.token as string, 'POST', '/v1/nodes/edge-7/join', joinBody('incarnation-1'))).status).toBe(200);
    const bad = await call(jobman.token, 'POST', '/v1/node-tokens', { node: '../etc' });
    expect(bad.status).toBe(400);
  });

  it('refuses, and does not store, a report on a subtask dispatched to another node', async () => {
    const a = await LinkDriver.join(jobman, { name: 'a' });
    const b = await LinkDriver.join(jobman, { name: 'b' });
    const job = await call(jobman.token, 'POST', '/v1/jobs', { task: 'builtin:noop', count: 1, node: 'a' });
    const work = await a.take(1);
    expect(work).toHaveLength(1);
    // Node b, with its own valid token, claims a's subtask succeeded with a result of its choosing.
    const forged = await b.beat({ changes: [{ id: work[0]!.id, attempt: work[0]!.attempt, to: 'succeeded', result: 'forged' }] });
    expect(forged.rejected).toBe(1);
    expect((await call(jobman.token, 'GET', `/v1/jobs/${job.body.id}`)).body).toMatchObject({ state: 'running' });
    await a.finish(work);
    const results = await call(jobman.token, 'GET', `/v1/jobs/${job.body.id}/results`);
    expect(results.body.results).toMatchObject([{ index: 0, node: 'a', result: 0 }]);
  });

  it('lets a Taskman restarted under the same name replace the incarnation it names, and no other', async () => {
    const token = jobman.nodeToken('a');
    expect((await call(token, 'POST', '/v1/nodes/a/join', joinBody('first-incarnation'))).status).toBe(200);
    const wrong = await call(token, 'POST', '/v1/nodes/a/join', { ...joinBody('second-incarnation'), replaces: 'not-the-live-one' });
    expect(wrong).toMatchObject({ status: 409, body: { code: 'ERR_NODE_CONFLICT' } });
    const replaced = await call(token, 'POST', '/v1/nodes/a/join', { ...joinBody('second-incarnation'), replaces: 'first-incarnation' });
    expect(replaced.status).toBe(200);
    const old = await call(token, 'POST', '/v1/nodes/a/heartbeat', { incarnation: 'first-incarnation', seq: 1, ack: 0, want: 0, changes: [], workers: [], metrics: null });
    expect(old).toMatchObject({ status: 409, body: { code: 'ERR_NODE_DROPPED' } });
  });
});

describe('node tokens on the command line', () => {
  it('prints a node’s token with `databox node-token`, made from the home’s node secret', async () => {
    const r = await runCli(['node-token', 'edge-1', '--home', dir]);
    expect(r).toMatchObject({ code: 0, stdout: `${jobman.nodeToken('edge-1')}\n`, stderr: '' });
    const empty = join(dir, 'elsewhere');
    const none = await runCli(['node-token', 'edge-1', '--home', empty]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/^databox: No node token for node edge-1: .*elsewhere\/node-secret does not exist/);
  });

  it('refuses to start a Taskman with the API token, or with another node’s token', async () => {
    const api = await runCli(['taskman', '--jobman', jobman.url, '--node', 'a', '--workers', '1'], { env: { DATABOX_NODE_TOKEN: jobman.token } });
    expect(api.code).not.toBe(0);
    expect(api.stderr).toBe('databox: A Taskman needs a node token (node.NAME.…), not the API token: mint one with `databox node-token NODE` where the Jobman runs\n');
    const other = await runCli(['taskman', '--jobman', jobman.url, '--node', 'a', '--workers', '1'], { env: { DATABOX_NODE_TOKEN: jobman.nodeToken('b') } });
    expect(other.stderr).toBe('databox: The node token is for node "b", but this Taskman is node "a"\n');
  });
});

describe('the Jobman’s own files under allow-lists', () => {
  it('refuses at submit a job naming its tokens or its job store, though its home is allowed', async () => {
    const home = await mkdtemp(join(tmpdir(), 'databox-guarded-'));
    const guarded = await startJobman({ home, port: 0, allowRead: [home], allowWrite: [home] });
    try {
      const bundle = new TextEncoder().encode('export default 1;\n');
      const sha256 = createHash('sha256').update(bundle).digest('hex');
      const put = await fetch(`${guarded.url}/v1/udfs/${sha256}`, { method: 'PUT', headers: { authorization: `Bearer ${guarded.token}`, 'content-type': 'application/octet-stream' }, body: bundle });
      expect(put.status).toBe(201);
      const submit = (inputs: string[]) =>
        fetch(`${guarded.url}/v1/jobs`, { method: 'POST', headers: { authorization: `Bearer ${guarded.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ task: `udf:${sha256}`, inputs }) });
      for (const file of ['token', 'read-token', 'node-secret', 'databox.db', 'databox.db-wal']) {
        const res = await submit([join(home, file)]);
        expect(res.status, file).toBe(403);
        expect(((await res.json()) as { message: string }).message).toMatch(/the Jobman keeps its credentials and job store there/);
      }
      expect((await submit([join(home, 'scene.tif')])).status).toBe(201);
    } finally {
      await guarded.close();
      await rm(home, { recursive: true, force: true });
    }
  });
});
