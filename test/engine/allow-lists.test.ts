import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { Cluster, JobFailedError, JobmanClient } from '../../src/engine/index.js';
import { startDaemon, TestCluster } from './support/processes.js';

/**
 * Storage allow-lists on a cluster of real processes (`databox jobman` with --allow-read/--allow-write,
 * `databox taskman` and its workers): the Jobman refuses at submit what names refused storage, with a
 * 403 that names the URL and the rules; a worker refuses what a task opens anyway (a UDF building its
 * own path, a symlink out of an allowed folder); a loopback server the rules do not name hears nothing.
 * Run `npm run build` first: the processes are the built CLI.
 */

const UDF = fileURLToPath(new URL('./allow-lists/open-udf.ts', import.meta.url));

let root: string;
let data: string;
let out: string;
let cluster: TestCluster;
let client: JobmanClient;
let server: Server;
let port: number;
const requests: string[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'databox-allow-'));
  data = join(root, 'data');
  out = join(root, 'out');
  mkdirSync(data);
  mkdirSync(join(root, 'data2'));
  mkdirSync(join(root, 'outside'));
  mkdirSync(out);
  writeFileSync(join(data, 'ok.bin'), 'four');
  writeFileSync(join(root, 'data2', 'x.bin'), 'nope');
  writeFileSync(join(root, 'outside', 'secret.bin'), 'secret');
  symlinkSync(join(root, 'outside'), join(data, 'link'));

  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.writeHead(200, { 'content-length': '5' }).end('hello');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;

  cluster = await TestCluster.create();
  await cluster.startJobman(['--allow-read', data, '--allow-read', `http://127.0.0.1:${port}/public`, '--allow-write', out]);
  // The Taskman's home (its UDF cache) is the cluster's, not ~/.databox.
  const taskman = startDaemon(['taskman', '--jobman', cluster.url, '--node', 'a', '--workers', '1', '--home', cluster.home], { DATABOX_TOKEN: cluster.token });
  cluster.daemons.push(taskman);
  await taskman.waitForLog(/joined the Jobman/);
  await cluster.until(async () => (await cluster.nodes()).some((n) => n.workers.length === 1 && n.workers.every((w) => w.state === 'idle')), 'an idle worker', 60_000);
  client = await JobmanClient.open({ url: cluster.url, token: cluster.token });
}, 120_000);

afterAll(async () => {
  await cluster?.close();
  server?.close();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

afterEach(() => {
  requests.length = 0;
});

/** POSTs a job and returns the answer's status and body. */
function submit(body: Record<string, unknown>): Promise<{ status: number; body: { code?: string; message?: string } }> {
  return cluster.api('/v1/jobs', { method: 'POST', body });
}

/** The error of a UDF run that must fail, as the client reports it. */
async function failure(run: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await run;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('the run succeeded');
}

const udf = (): Cluster => Cluster.of(client);

describe('the Jobman refuses at submit, with 403 ERR_STORAGE_DENIED naming the URL and the rules', () => {
  it('a built-in task reading /etc/passwd', async () => {
    const r = await submit({ task: 'builtin:zonal-tiles', inputs: [{ raster: '/etc/passwd', band: 0, allTouched: false, tiles: [], zones: [] }] });
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('ERR_STORAGE_DENIED');
    expect(r.body.message).toBe(`Storage access denied: cannot read /etc/passwd: the --allow-read rules are ${data}, http://127.0.0.1:${port}/public; the operator allows it with --allow-read /etc on the Jobman`);
  });

  it('a built-in task writing into /etc', async () => {
    const op = { type: 'calc', expr: 'a', bands: [{ name: 'a', url: join(data, 'ok.bin'), band: 0 }] };
    const r = await submit({ task: 'builtin:raster-window', inputs: [{ scene: 's', op, output: {}, region: { col: 0, row: 0, cols: 1, rows: 1 }, part: '/etc/databox-probe.part' }] });
    expect(r.status).toBe(403);
    expect(r.body.message).toBe(`Storage access denied: cannot write /etc/databox-probe.part: the --allow-write rules are ${out}; the operator allows it with --allow-write /etc on the Jobman`);
  });

  it('a UDF job whose inputs name /etc/passwd, or a folder that only starts like an allowed one', async () => {
    const passwd = await failure(udf().map(UDF, ['/etc/passwd']));
    expect(passwd.code).toBe('ERR_STORAGE_DENIED');
    expect(passwd.message).toContain('cannot read /etc/passwd');
    const data2 = await failure(udf().map(UDF, [{ parts: [join(root, 'data2', 'x.bin')] }]));
    expect(data2.message).toContain(`cannot read ${join(root, 'data2', 'x.bin')}: the --allow-read rules are ${data}`);
  });

  it('an http URL to a metadata address, and a loopback URL no rule names, and the loopback server hears nothing', async () => {
    const metadata = await failure(udf().map(UDF, ['http://169.254.169.254/latest/meta-data/iam']));
    expect(metadata.code).toBe('ERR_STORAGE_DENIED');
    expect(metadata.message).toContain('169.254.169.254 is a cloud metadata service, refused unless a rule names that host');
    const loopback = await failure(udf().map(UDF, [`http://127.0.0.1:${port}/latest/meta-data/iam`]));
    expect(loopback.code).toBe('ERR_STORAGE_DENIED');
    expect(requests).toEqual([]);
  });
});

describe('each worker enforces the rules on what a task opens', () => {
  it('a UDF that opens an allowed file and an allowed URL reads them', async () => {
    expect(await udf().map<number>(UDF, [{ parts: [join(data, 'ok.bin')] }, { parts: [`http://127.0.0.1:${port}/public/x`] }])).toEqual([4, 5]);
    expect(requests.length).toBeGreaterThan(0);
  });

  it('a UDF whose ctx.open names a path outside the rules fails with ERR_STORAGE_DENIED', async () => {
    const err = await failure(udf().map(UDF, [{ parts: ['fi', 'le:///etc/passwd'] }], { retries: 0 }));
    expect(err).toBeInstanceOf(JobFailedError);
    const first = (err as JobFailedError).errors[0]!;
    expect(first.code).toBe('ERR_STORAGE_DENIED');
    expect(first.message).toContain('cannot read file:///etc/passwd');
  });

  it('a symlink inside an allowed folder that points outside it is refused', async () => {
    const err = await failure(udf().map(UDF, [{ parts: [join(data, 'link', 'secret.bin')] }], { retries: 0 }));
    const first = (err as JobFailedError).errors[0]!;
    expect(first.code).toBe('ERR_STORAGE_DENIED');
    expect(first.message).toContain(`(really ${join(root, 'outside', 'secret.bin')}, once links are resolved)`);
  });

  it('a loopback URL the rules do not name gets no request from a worker', async () => {
    const err = await failure(udf().map(UDF, [{ parts: ['ht', `tp://127.0.0.1:${port}/latest/meta-data/iam`] }], { retries: 0 }));
    expect((err as JobFailedError).errors[0]!.code).toBe('ERR_STORAGE_DENIED');
    expect(requests).toEqual([]);
  });
});
