import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { JobmanApiError, JobmanClient, type JobEvent, type JobView } from '../../../src/engine/client/index.js';
import { startJobman, type Jobman } from '../../../src/engine/jobman/server.js';
import { DataboxError } from '../../../src/errors.js';
import { LinkDriver, servedNode, type Outcome } from '../support/link-driver.js';

let dir = '';
let jobman: Jobman;
let client: JobmanClient;
const cleanups: (() => Promise<unknown> | unknown)[] = [];

beforeEach(async () => {
  vi.stubEnv('DATABOX_TOKEN', '');
  vi.stubEnv('DATABOX_JOBMAN', '');
  dir = mkdtempSync(join(tmpdir(), 'databox-client-'));
  jobman = await startJobman({ home: join(dir, 'home'), port: 0, heartbeatMs: 1000 });
  client = await JobmanClient.open({ url: jobman.url, home: jobman.home });
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await jobman.close();
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

async function driver(): Promise<LinkDriver> {
  const d = await LinkDriver.join(jobman, { name: 'node-a' });
  cleanups.push(() => d.leave().catch(() => undefined));
  return d;
}

const serve = (options: Parameters<LinkDriver['serve']>[0] = {}): Promise<LinkDriver> => servedNode(jobman, cleanups, options);

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** A port where nothing listens: bound once, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A TCP proxy in front of the Jobman that can cut every connection, as a restarting proxy would. */
async function startProxy(target: string): Promise<{ url: string; heads: string[]; cutAll: () => void }> {
  const { hostname: host, port } = new URL(target);
  const live = new Set<Socket>();
  const heads: string[] = [];
  const server = createServer((down) => {
    const up = createConnection(Number(port), host);
    live.add(down).add(up);
    down.once('data', (d: Buffer) => heads.push(d.toString('latin1')));
    down.pipe(up).pipe(down);
    const drop = (): void => {
      down.destroy();
      up.destroy();
      live.delete(down);
      live.delete(up);
    };
    down.on('error', drop).on('close', drop);
    up.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        for (const s of live) s.destroy();
        server.close(resolve);
      }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    heads,
    cutAll: () => {
      for (const s of live) s.destroy();
    },
  };
}

/** An HTTP server that answers every request with `handler`. */
async function fakeServer(handler: Parameters<typeof createHttpServer>[1]): Promise<string> {
  const server: Server = createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function rejection(p: Promise<unknown>): Promise<DataboxError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DataboxError);
  return err as DataboxError;
}

describe('JobmanClient', () => {
  it('asks the Jobman how it is', async () => {
    const health = await client.health();
    expect(health).toMatchObject({ ok: true, version: expect.any(String) });
  });

  it('submits a job and reads it back, alone and in the list', async () => {
    const job = await client.submit({ task: 'builtin:noop', count: 5, args: 3, retries: 1 });
    expect(job).toMatchObject({ task: 'builtin:noop', total: 5, args: 3, retries: 1, state: 'queued', finishedAt: null });
    expect(await client.getJob(job.id)).toEqual(job);
    const second = await client.submit({ task: 'builtin:noop', count: 1 });
    expect((await client.listJobs()).map((j) => j.id)).toEqual([second.id, job.id]);
    expect((await client.listJobs({ limit: 1 })).map((j) => j.id)).toEqual([second.id]);
    expect((await client.listJobs({ before: second.id })).map((j) => j.id)).toEqual([job.id]);
  });

  it('waits for a job a node runs to the end, then pages through its results in input order', async () => {
    await serve({ batch: 4 });
    const job = await client.submit({ task: 'builtin:noop', count: 25 });
    const seen: JobView[] = [];
    const done = await client.waitForJob(job.id, { onProgress: (j) => seen.push(j) });
    expect(done).toMatchObject({ id: job.id, state: 'succeeded', counts: { succeeded: 25, failed: 0 } });
    expect(done.finishedAt).toBeGreaterThanOrEqual(done.createdAt);
    expect(seen.at(-1)).toEqual(done);
    const rows = await collect(client.results(job.id, { pageSize: 10 }));
    expect(rows.map((r) => r.index)).toEqual([...Array(25).keys()]);
    expect(rows.every((r) => r.state === 'succeeded' && r.result === r.index * 10)).toBe(true);
  });

  it('streams progress events that end with `end` once the job finished', async () => {
    const job = await client.submit({ task: 'builtin:noop', count: 12 });
    const events: JobEvent[] = [];
    for await (const e of client.events(job.id)) {
      events.push(e);
      if (events.length === 1) await serve({ batch: 3 }); // the first event is the job as it is now
    }
    expect(events[0]).toMatchObject({ type: 'progress', job: { state: 'queued' } });
    expect(events.slice(0, -1).every((e) => e.type === 'progress')).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'end', job: { state: 'succeeded', counts: { succeeded: 12 } } });
  });

  it('streams a single `end` for a job that already finished', async () => {
    await serve();
    const job = await client.submit({ task: 'builtin:noop', count: 2 });
    await client.waitForJob(job.id);
    expect((await collect(client.events(job.id))).map((e) => e.type)).toEqual(['end']);
  });

  it('names itself to the Jobman on event streams (x-databox-client: host/pid)', async () => {
    const proxy = await startProxy(jobman.url);
    const viaProxy = await JobmanClient.open({ url: proxy.url, token: jobman.token });
    await serve();
    const job = await viaProxy.submit({ task: 'builtin:noop', count: 1 });
    await viaProxy.waitForJob(job.id);
    const head = proxy.heads.find((h) => h.startsWith(`GET /v1/jobs/${job.id}/events`));
    expect(head?.toLowerCase()).toContain(`x-databox-client: ${hostname().toLowerCase()}/${process.pid}`);
  });

  it('lists every failed attempt, even where a page ends inside one input’s errors', async () => {
    const always = (): Outcome => ({ ok: false, message: 'no luck' });
    await serve({ outcome: always });
    const job = await client.submit({ task: 'builtin:noop', count: 3, retries: 2 });
    expect((await client.waitForJob(job.id)).state).toBe('failed');
    const want = [0, 1, 2].flatMap((index) => [1, 2, 3].map((attempt) => [index, attempt]));
    for (const pageSize of [2, 4, 100]) {
      const rows = await collect(client.errors(job.id, { pageSize }));
      expect(rows.map((r) => [r.index, r.attempt])).toEqual(want);
    }
    const first = (await collect(client.errors(job.id)))[0]!;
    expect(first).toMatchObject({ node: 'node-a', error: { message: 'no luck' } });
  });

  it('cancels a job: queued work is dropped, running work is ordered killed on its node', async () => {
    const d = await driver();
    const job = await client.submit({ task: 'builtin:sleep', count: 10, args: 60_000 });
    const work = await d.take(3);
    await d.start(work);
    expect(await client.cancel(job.id)).toEqual({ id: job.id, cancelled: 10, killed: 3 });
    await d.beat();
    expect(d.kills.map((k) => k.id).sort()).toEqual(work.map((w) => w.id).sort());
    expect(await client.waitForJob(job.id)).toMatchObject({ state: 'cancelled', counts: { cancelled: 10 } });
    expect(await client.cancel(job.id)).toEqual({ id: job.id, cancelled: 0, killed: 0 });
  });

  it('lists the nodes with their workers and counters', async () => {
    const d = await driver();
    await d.beat();
    const [node, ...others] = await client.nodes();
    expect(others).toEqual([]);
    expect(node).toMatchObject({ name: 'node-a', address: '127.0.0.1', state: 'alive', metrics: { cores: 2, cpu: 0.25 } });
    expect(node!.workers.map((w) => `${w.pid}:${w.state}`)).toEqual(['1000:busy', '1001:idle']);
  });

  it('re-subscribes when the event stream breaks before the job finished', async () => {
    const proxy = await startProxy(jobman.url);
    const viaProxy = await JobmanClient.open({ url: proxy.url, token: jobman.token, resubscribeDelayMs: 1 });
    const job = await viaProxy.submit({ task: 'builtin:noop', count: 6 });
    let cut = false;
    const done = await viaProxy.waitForJob(job.id, {
      onProgress: () => {
        if (cut) return;
        cut = true;
        proxy.cutAll(); // the first stream breaks; only then does a node start the work
        void serve({ batch: 2 });
      },
    });
    expect(done).toMatchObject({ state: 'succeeded', counts: { succeeded: 6 } });
    expect(proxy.heads.filter((h) => h.startsWith(`GET /v1/jobs/${job.id}/events`)).length).toBeGreaterThanOrEqual(2);
  });

  it('gives up waiting after `resubscribes` broken streams, with the last reason', async () => {
    const port = await closedPort();
    const lost = await JobmanClient.open({ url: `http://127.0.0.1:${port}`, token: jobman.token, resubscribes: 2, resubscribeDelayMs: 1, outageMs: 0 });
    const err = await rejection(lost.waitForJob(1));
    expect(err.code).toBe('ERR_JOBMAN_STREAM');
    expect(err.message).toBe(`gave up waiting for job 1 after 3 broken event streams; the last: cannot reach the Jobman at http://127.0.0.1:${port} (ECONNREFUSED); start one with \`databox up\` or pass --jobman`);
  });

  it('stops waiting when its signal aborts, with the signal’s reason, and leaves the job alone', async () => {
    const job = await client.submit({ task: 'builtin:noop', count: 3 });
    const controller = new AbortController();
    const reason = new Error('stop');
    await expect(client.waitForJob(job.id, { signal: controller.signal, onProgress: () => controller.abort(reason) })).rejects.toBe(reason);
    expect((await client.getJob(job.id)).state).toBe('queued');
  });
});

describe('JobmanClient errors', () => {
  it('keeps the Jobman’s code and one-line message for a refused job', async () => {
    const zero = await rejection(client.submit({ task: 'builtin:noop', count: 0 }));
    expect(zero).toBeInstanceOf(JobmanApiError);
    expect(zero).toMatchObject({ code: 'ERR_VALIDATION', status: 400, retryable: false });
    expect(zero.message).toMatch(/^body\.count must be at least 1\b/); // the Jobman does not name the value yet (zod 4 issues carry no input)
    const unknown = await rejection(client.submit({ task: 'builtin:nope', count: 1 }));
    expect(unknown).toMatchObject({ code: 'ERR_UNKNOWN_TASK', status: 400 });
    expect(unknown.message).toContain('builtin:nope');
    expect(await rejection(client.getJob(999))).toMatchObject({ code: 'ERR_JOB_NOT_FOUND', status: 404 });
    expect(await rejection(collect(client.events(999)))).toMatchObject({ code: 'ERR_JOB_NOT_FOUND', status: 404 });
  });

  it('refuses a bad job id before any request', async () => {
    const err = await rejection(client.getJob(1.5));
    expect(err).toMatchObject({ code: 'ERR_CLIENT_ARGUMENT', message: 'job id must be a positive integer (got 1.5)' });
  });

  it('is refused with 401 ERR_UNAUTHORIZED for a wrong token, and without one', async () => {
    const wrong = await JobmanClient.open({ url: jobman.url, token: 'not-the-right-token-at-all' });
    const err = await rejection(wrong.listJobs());
    expect(err).toMatchObject({ code: 'ERR_UNAUTHORIZED', status: 401 });
    expect(err.message).toMatch(/wrong API token/);
    const bare = await fetch(`${jobman.url}/v1/jobs`);
    expect(bare.status).toBe(401);
    expect(await bare.json()).toMatchObject({ code: 'ERR_UNAUTHORIZED', message: expect.stringMatching(/missing Authorization header/) });
  });

  it('says clearly that there is no token when DATABOX_TOKEN is unset and the token file missing', async () => {
    const empty = join(dir, 'empty-home');
    mkdirSync(empty);
    const err = await rejection(JobmanClient.open({ url: jobman.url, home: empty }));
    expect(err.code).toBe('ERR_NO_TOKEN');
    expect(err.message).toBe(`No API token: set DATABOX_TOKEN, or start the Jobman with --home ${empty} so it writes ${join(empty, 'token')}`);
  });

  it('takes the token from DATABOX_TOKEN and the URL from DATABOX_JOBMAN', async () => {
    vi.stubEnv('DATABOX_TOKEN', jobman.token);
    vi.stubEnv('DATABOX_JOBMAN', jobman.url);
    const fromEnv = await JobmanClient.open({ home: join(dir, 'nowhere') });
    expect(fromEnv.url).toBe(jobman.url);
    expect(await fromEnv.listJobs()).toEqual([]);
  });

  it('says how to start a Jobman when none listens at the URL', async () => {
    const port = await closedPort();
    const lost = await JobmanClient.open({ url: `http://127.0.0.1:${port}`, token: jobman.token });
    const err = await rejection(lost.health());
    expect(err).toMatchObject({ code: 'ERR_JOBMAN_UNREACHABLE', retryable: true });
    expect(err.message).toBe(`cannot reach the Jobman at http://127.0.0.1:${port} (ECONNREFUSED); start one with \`databox up\` or pass --jobman`);
  });

  it('gives up on a request after requestTimeoutMs', async () => {
    const url = await fakeServer(() => undefined); // accepts, never answers
    const slow = await JobmanClient.open({ url, token: jobman.token, requestTimeoutMs: 100 });
    const err = await rejection(slow.nodes());
    expect(err).toMatchObject({ code: 'ERR_JOBMAN_TIMEOUT', retryable: true });
    expect(err.message).toBe(`the Jobman at ${url} did not answer GET /v1/nodes within 100 ms`);
  });

  it('refuses an answer that does not match the API', async () => {
    const url = await fakeServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":"yes"}'));
    const odd = await JobmanClient.open({ url, token: jobman.token });
    const err = await rejection(odd.health());
    expect(err.code).toBe('ERR_JOBMAN_ANSWER');
    expect(err.message).toMatch(new RegExp(`^the Jobman at ${url} answered GET /healthz with a body this client does not understand: ok `));
  });

  it('counts an event stream that falls silent as broken (retryable)', async () => {
    const url = await fakeServer((_req, res) => void res.writeHead(200, { 'content-type': 'text/event-stream' }).write(': hello\n\n'));
    const quiet = await JobmanClient.open({ url, token: jobman.token, streamIdleMs: 100 });
    const err = await rejection(collect(quiet.events(1)));
    expect(err).toMatchObject({ code: 'ERR_JOBMAN_STREAM', retryable: true, message: `the Jobman at ${url} sent nothing on job 1's event stream for 100 ms` });
  });

  it('refuses an event whose job does not parse', async () => {
    const url = await fakeServer((_req, res) => res.writeHead(200, { 'content-type': 'text/event-stream' }).end('event: progress\ndata: {"id":"one"}\n\n'));
    const odd = await JobmanClient.open({ url, token: jobman.token });
    const err = await rejection(collect(odd.events(1)));
    expect(err.code).toBe('ERR_JOBMAN_ANSWER');
    expect(err.message).toMatch(/answered a "progress" event of GET \/v1\/jobs\/1\/events with a body this client does not understand: id /);
  });

  it('reports a non-API error answer with its status', async () => {
    const url = await fakeServer((_req, res) => res.writeHead(502, { 'content-type': 'text/plain' }).end('Bad Gateway\n'));
    const proxied = await JobmanClient.open({ url, token: jobman.token, outageMs: 0 });
    const err = await rejection(proxied.getJob(1));
    expect(err).toMatchObject({ code: 'ERR_JOBMAN_HTTP', status: 502, retryable: true, message: `the Jobman at ${url} answered GET /v1/jobs/1 with HTTP 502: Bad Gateway` });
  });

  it('names a bad client option and its value', async () => {
    const err = await rejection(JobmanClient.open({ url: jobman.url, token: jobman.token, requestTimeoutMs: 0 }));
    expect(err).toMatchObject({ code: 'ERR_CLIENT_ARGUMENT', message: 'options.requestTimeoutMs must be a positive integer number of milliseconds (got 0)' });
    const url = await rejection(JobmanClient.open({ url: 'ftp://example.com', token: jobman.token }));
    expect(url).toMatchObject({ code: 'ERR_OPTIONS' });
  });
});
