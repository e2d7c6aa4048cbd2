import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDaemon, TestCluster } from '../support/processes.js';

/**
 * The smaller holes of issue 13, each against a real `databox jobman` process: ids only in canonical
 * decimal, private files, dead nodes forgotten, idle connections closed, a health check that writes,
 * and a used home whose database is gone refused.
 */

let c: TestCluster;

beforeAll(async () => {
  c = await TestCluster.create();
  await c.startJobman(['--forget-dead-nodes-after-ms', '1000']);
});
afterAll(async () => {
  await c?.close();
});

/** A bounded wait for a socket to close; resolves with how long it took. */
async function closedWithin(socket: Socket, ms: number): Promise<number> {
  const t0 = Date.now();
  const timer = setTimeout(() => socket.destroy(new Error(`the Jobman kept the connection open for ${ms} ms`)), ms);
  try {
    const [err] = (await Promise.race([once(socket, 'close').then(() => [undefined]), once(socket, 'error')])) as [Error | undefined];
    if (err !== undefined && /kept the connection open/.test(err.message)) throw err;
    return Date.now() - t0;
  } finally {
    clearTimeout(timer);
  }
}

describe('job ids', () => {
  it('are accepted only in canonical decimal, in paths and queries, with a 400 naming the value', async () => {
    const job = await c.submit({ task: 'builtin:noop', count: 1 });
    expect(job.id).toBe(1);
    expect((await c.api('/v1/jobs/1')).status).toBe(200);
    for (const bad of ['0x1', '1e0', '%201', '01', '+1', '1.0', '-1', '0', '99999999999999999']) {
      const r = await c.api<{ code: string; message: string }>(`/v1/jobs/${bad}`);
      expect(r.status, bad).toBe(400);
      expect(r.body.code).toBe('ERR_VALIDATION');
      expect(r.body.message).toContain(`(got ${JSON.stringify(decodeURIComponent(bad))})`);
      expect(r.body.message).toMatch(/^params\.id must be a positive decimal integer/);
    }
    for (const path of ['/v1/jobs/0x1/results', '/v1/jobs/1e0/errors', '/v1/jobs/0x1/events']) expect((await c.api(path)).status, path).toBe(400);
    expect((await c.api('/v1/jobs/0x1', { method: 'DELETE' })).status).toBe(400);
    const before = await c.api<{ message: string }>('/v1/jobs?before=0x10');
    expect(before.status).toBe(400);
    expect(before.body.message).toBe(`querystring.before must be a positive decimal integer with no sign, leading zero or exponent, at most ${Number.MAX_SAFE_INTEGER} (got "0x10")`);
    expect((await c.api('/v1/jobs?before=2')).status).toBe(200);
  });
});

describe('files', () => {
  it('the home is 0700 and the token, the database and its -wal and -shm files are 0600', async () => {
    expect((await stat(c.home)).mode & 0o777).toBe(0o700);
    const files = (await readdir(c.home)).filter((f) => f === 'token' || f.startsWith('databox.db'));
    expect(files.sort()).toEqual(['databox.db', 'databox.db-shm', 'databox.db-wal', 'token']);
    for (const f of files) expect({ f, mode: ((await stat(join(c.home, f))).mode & 0o777).toString(8) }).toEqual({ f, mode: '600' });
  });
});

describe('nodes', () => {
  it('a dead node is listed for a while, then forgotten', async () => {
    const taskman = await c.startTaskman('short-lived', 1);
    taskman.child.kill('SIGKILL');
    await c.until(async () => (await c.nodes()).some((n) => n.name === 'short-lived' && n.state === 'dead'), 'the node to be declared dead');
    await c.until(async () => !(await c.nodes()).some((n) => n.name === 'short-lived'), 'the dead node to be forgotten', 20_000);
  });
});

describe('connections', () => {
  it('a half-sent request is closed within a few seconds', async () => {
    const port = Number(new URL(c.url).port);
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    socket.resume();
    expect(await closedWithin(socket, 15_000)).toBeLessThan(15_000);
  });

  it('a connection that sends nothing is closed within a few seconds', async () => {
    const socket = connect(Number(new URL(c.url).port), '127.0.0.1');
    await once(socket, 'connect');
    socket.resume();
    expect(await closedWithin(socket, 15_000)).toBeLessThan(15_000);
  });

  it('an event stream stays open past those limits', async () => {
    const job = await c.submit({ task: 'builtin:sleep', count: 1, args: 60_000 });
    const controller = new AbortController();
    const res = await fetch(`${c.url}/v1/jobs/${job.id}/events`, { headers: { authorization: `Bearer ${c.token}` }, signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read(); // the first progress event
    // Longer than the header and keep-alive limits: a stream is a response, which they do not bound.
    const broke = await Promise.race([reader.read().then(() => 'ended', () => 'broke'), new Promise((r) => setTimeout(() => r('open'), 8_000))]);
    controller.abort();
    expect(broke).toBe('open');
    await c.api(`/v1/jobs/${job.id}`, { method: 'DELETE' });
  });
});

describe('/healthz', () => {
  it('answers 503 naming the store while the store cannot write, and ok again once it can', async () => {
    expect((await c.api('/healthz')).status).toBe(200);
    const pid = String(c.jobman!.pid);
    // The Jobman may not grow any file (a soft RLIMIT_FSIZE of 0: writes fail with EFBIG), as on a full disk:
    // chmod cannot make a file read-only to root, which these tests may run as.
    execFileSync('prlimit', ['--pid', pid, '--fsize=0:']);
    try {
      const r = await c.api<{ code: string; message: string }>('/healthz');
      expect(r.status).toBe(503);
      expect(r.body.code).toBe('ERR_STORE_UNWRITABLE');
      expect(r.body.message).toMatch(/^the Jobman cannot write its job store: Job store could not write \(the health probe\): /);
    } finally {
      execFileSync('prlimit', ['--pid', pid, '--fsize=unlimited:']);
    }
    expect((await c.api('/healthz')).status).toBe(200);
  });
});

describe('a used home whose database is gone', () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'databox-holes-'));
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  async function startOnce(extra: string[] = []): Promise<{ listening: boolean; stderr: string }> {
    const d = startDaemon(['jobman', '--home', home, '--port', '0', ...extra]);
    const listening = await d.waitForOut(/jobman listening on /, 30_000).then(
      () => true,
      () => false,
    );
    if (listening) d.child.kill('SIGTERM');
    await d.exited;
    return { listening, stderr: d.stderr() };
  }

  const db = (): string => join(home, 'databox.db');

  it('is refused when the database is empty, naming the file and the cure, and started afresh with --init', async () => {
    expect((await startOnce()).listening).toBe(true);
    await truncate(db(), 0);
    await rm(`${db()}-wal`, { force: true });
    await rm(`${db()}-shm`, { force: true });
    const refused = await startOnce();
    expect(refused.listening).toBe(false);
    expect(refused.stderr).toContain(`The job store ${db()} is empty (0 bytes); starting on it would forget every job. Restore it from a backup, or start with --init`);
    expect((await stat(db())).size).toBe(0);
    expect((await startOnce(['--init'])).listening).toBe(true);
    expect((await stat(db())).size).toBeGreaterThan(0);
    expect((await startOnce()).listening).toBe(true);
  });

  it('is refused when the database is missing or not SQLite; --init keeps an unreadable file, renamed', async () => {
    await rm(db());
    const missing = await startOnce();
    expect(missing.listening).toBe(false);
    expect(missing.stderr).toContain(`The job store ${db()} is missing, though this home was used before (it holds a token)`);
    expect((await startOnce(['--init'])).listening).toBe(true);

    await writeFile(db(), 'not a database, but someone’s data'.repeat(200));
    await rm(`${db()}-wal`, { force: true });
    await rm(`${db()}-shm`, { force: true });
    const garbage = await startOnce();
    expect(garbage.listening).toBe(false);
    expect(garbage.stderr).toContain(`The job store ${db()} is not an SQLite database (unreadable)`);
    expect((await startOnce(['--init'])).listening).toBe(true);
    const aside = (await readdir(home)).filter((f) => f.startsWith('databox.db.unreadable-'));
    expect(aside).toHaveLength(1);
  });
});
