import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { CommanderError } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { formatCancel } from '../../src/cli/commands/cancel.js';
import { formatJobs } from '../../src/cli/commands/jobs.js';
import { formatNodes } from '../../src/cli/commands/nodes.js';
import { InterruptedError } from '../../src/cli/context.js';
import { formatRunSummary, summarizeRun } from '../../src/cli/jobman.js';
import { buildProgram } from '../../src/cli/program.js';
import { formatEta, formatTable, progressFigures } from '../../src/cli/view.js';
import { JobmanClient, type JobView, type NodeView } from '../../src/engine/client/index.js';
import { startJobman, type Jobman } from '../../src/engine/jobman/server.js';
import { DataboxError } from '../../src/errors.js';
import { FAKE_METRICS, LinkDriver, servedNode, type Outcome } from '../engine/support/link-driver.js';

let dir = '';
let jobman: Jobman;
let client: JobmanClient;
let at: string[] = [];
const cleanups: (() => Promise<unknown> | unknown)[] = [];

beforeEach(async () => {
  vi.stubEnv('DATABOX_TOKEN', '');
  vi.stubEnv('DATABOX_JOBMAN', '');
  dir = mkdtempSync(join(tmpdir(), 'databox-cli-client-'));
  jobman = await startJobman({ home: join(dir, 'home'), port: 0, heartbeatMs: 1000 });
  client = await JobmanClient.open({ url: jobman.url, token: jobman.token });
  at = ['--jobman', jobman.url, '--home', jobman.home];
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await jobman.close();
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `databox ...args` through a fresh program built as `main` builds it, writing to strings, and
 * turns what it throws into an exit code and a stderr line as `main` does.
 */
async function databox(args: string[], options: { signal?: AbortSignal; tty?: boolean; onStderr?: (text: string) => void } = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const stderrStream = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        stderr += chunk.toString();
        options.onStderr?.(chunk.toString());
        callback();
      },
    }),
    { isTTY: options.tty ?? false, columns: 120 },
  );
  const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: stderrStream };
  try {
    const { command: program } = await buildProgram({ signal: options.signal ?? new AbortController().signal, io }, args);
    await program.parseAsync(args, { from: 'user' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    if (err instanceof CommanderError) return { code: err.exitCode, stdout, stderr };
    stderr += `databox: ${(err as Error).message}\n`;
    return { code: err instanceof InterruptedError ? 130 : err instanceof DataboxError ? 1 : 2, stdout, stderr };
  }
}

async function node(): Promise<LinkDriver> {
  const d = await LinkDriver.join(jobman, { name: 'node-a' });
  cleanups.push(() => d.leave().catch(() => undefined));
  return d;
}

const serve = (options: Parameters<LinkDriver['serve']>[0] = {}): Promise<LinkDriver> => servedNode(jobman, cleanups, options);

const failing = (): Outcome => ({ ok: false, message: 'no luck' });

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1)!;

describe('databox run', () => {
  it('waits for the job and ends with one JSON line of its outcome', async () => {
    await serve({ batch: 5 });
    const r = await databox(['run', 'builtin:noop', '--count', '20', '--json', ...at]);
    expect(r.code).toBe(0);
    const summary = JSON.parse(lastLine(r.stdout));
    expect(Object.keys(summary)).toEqual(['id', 'state', 'subtasks', 'durationMs', 'throughputPerS']);
    expect(summary).toMatchObject({ state: 'succeeded', subtasks: { total: 20, succeeded: 20, failed: 0 } });
    const job = await client.getJob(summary.id);
    expect(summary.durationMs).toBe(job.finishedAt! - job.createdAt);
    expect(summary.throughputPerS).toBe(Math.round((20_000 / Math.max(1, summary.durationMs)) * 10) / 10);
    expect(r.stderr).toContain(`job ${summary.id} submitted: builtin:noop over 20 inputs; waiting (Ctrl-C stops waiting, not the job)`);
  });

  it('passes the job options through to the Jobman', async () => {
    await node(); // a job pinned to a node needs that node alive
    const r = await databox(['run', 'builtin:sleep', '--count', '3', '--arg', '250', '--priority', '--node', 'node-a', '--retries', '1', '--timeout-ms', '5000', '--on-failure', 'restart-job', '--async', ...at]);
    expect(r).toEqual({ code: 0, stdout: '{"id":1}\n', stderr: '' });
    expect(await client.getJob(1)).toMatchObject({ task: 'builtin:sleep', total: 3, args: 250, priority: true, node: 'node-a', retries: 1, timeoutMs: 5000, onFailure: 'restart-job', state: 'queued' });
  });

  it('prints a one-line summary, with a progress bar on a terminal', async () => {
    await serve({ batch: 5 });
    const r = await databox(['run', 'builtin:noop', '--count', '20', ...at], { tty: true });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^job 1 succeeded: 20 of 20 subtasks succeeded, 0 failed, in \d+\.\d\d s \(\d+(\.\d)?\/s\)\n$/);
    expect(r.stderr).toMatch(/job 1 \[.*\] \d+% \| \d+\/20 done \| 0 failed \| \d+\.\d\/s \| ETA /);
  });

  it('exits 1 when the job failed, naming the command that shows the errors', async () => {
    await serve({ outcome: failing });
    const r = await databox(['run', 'builtin:noop', '--count', '3', '--retries', '0', '--json', ...at]);
    expect(r.code).toBe(1);
    expect(JSON.parse(lastLine(r.stdout))).toMatchObject({ id: 1, state: 'failed', subtasks: { total: 3, succeeded: 0, failed: 3 }, throughputPerS: 0 });
    expect(lastLine(r.stderr)).toBe('databox: job 1 failed: 3 of 3 subtasks failed; `databox job 1` shows the errors');
  });

  it('on Ctrl-C stops waiting but leaves the job running, and says how to cancel it', async () => {
    const controller = new AbortController();
    const r = await databox(['run', 'builtin:noop', '--count', '4', ...at], {
      signal: controller.signal,
      onStderr: (text) => {
        if (text.includes('submitted')) controller.abort(new InterruptedError('SIGINT'));
      },
    });
    expect(r.code).toBe(130);
    expect(lastLine(r.stderr)).toBe('databox: stopped waiting for job 1, which goes on running; cancel it with `databox cancel 1`');
    expect((await client.getJob(1)).state).toBe('queued');
  });

  it.each([
    [['--count', '0'], /--count must be an integer from 1 to 100000000 \(got "0"\)/],
    [['--count', '2.5'], /--count must be an integer .* \(got "2\.5"\)/],
    [['--count', 'many'], /--count must be an integer .* \(got "many"\)/],
    [['--count', '3', '--on-failure', 'shrug'], /--on-failure must be one of retry-subtask, restart-job \(got "shrug"\)/],
    [['--count', '3', '--retries', '-1'], /--retries must be an integer from 0 to 100 \(got "-1"\)/],
    [['--count', '3', '--arg', 'ten'], /--arg must be a number \(got "ten"\)/],
    [['--count', '3', '--node', 'no such node'], /--node must be 1-63 letters.* \(got "no such node"\)/],
    [[], /databox run needs --count N/],
  ])('refuses %j before any request', async (flags, message) => {
    const port = await closedPort(); // a request would fail with ERR_JOBMAN_UNREACHABLE instead
    const r = await databox(['run', 'builtin:noop', ...flags, '--jobman', `http://127.0.0.1:${port}`, '--home', jobman.home]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toContain('cannot reach');
  });

  it('reports a task the Jobman does not know, in one line', async () => {
    const r = await databox(['run', 'builtin:nope', '--count', '1', ...at]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^databox: Unknown task "builtin:nope": a task is udf:<sha256 of an uploaded bundle> or one of the built-ins builtin:noop, .*\n$/);
  });

  it('says how to get a token when there is none', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const r = await databox(['run', 'builtin:noop', '--count', '1', '--jobman', jobman.url, '--home', empty]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`databox: No API token: set DATABOX_TOKEN, or start the Jobman with --home ${empty} so it writes ${join(empty, 'token')}\n`);
  });

  it('is refused with a wrong DATABOX_TOKEN, and works with the right one', async () => {
    vi.stubEnv('DATABOX_TOKEN', 'a-token-that-is-wrong-0000');
    const wrong = await databox(['jobs', ...at]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^databox: wrong API token/);
    vi.stubEnv('DATABOX_TOKEN', jobman.token);
    expect((await databox(['jobs', '--jobman', jobman.url, '--home', join(dir, 'nowhere')])).code).toBe(0);
  });

  it('says how to start a Jobman when none listens, after retrying for DATABOX_OUTAGE_MS', async () => {
    const port = await closedPort();
    vi.stubEnv('DATABOX_OUTAGE_MS', '1000');
    const t0 = Date.now();
    const r = await databox(['run', 'builtin:noop', '--count', '1', '--jobman', `http://127.0.0.1:${port}`, '--home', jobman.home]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `databox: the Jobman at http://127.0.0.1:${port} is unreachable (ECONNREFUSED); retrying for up to 1 s\n` +
        `databox: cannot reach the Jobman at http://127.0.0.1:${port} (ECONNREFUSED); start one with \`databox up\` or pass --jobman; gave up after retrying for 1 s\n`,
    );
    vi.stubEnv('DATABOX_OUTAGE_MS', '0');
    const once = await databox(['run', 'builtin:noop', '--count', '1', '--jobman', `http://127.0.0.1:${port}`, '--home', jobman.home]);
    expect(once.stderr).toBe(`databox: cannot reach the Jobman at http://127.0.0.1:${port} (ECONNREFUSED); start one with \`databox up\` or pass --jobman\n`);
  });
});

describe('databox jobs, job, cancel, nodes', () => {
  it('jobs lists jobs newest first, as a table or JSON', async () => {
    await client.submit({ task: 'builtin:noop', count: 4 });
    await client.submit({ task: 'builtin:sleep', count: 2 });
    const r = await databox(['jobs', ...at]);
    expect(r.code).toBe(0);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID +TASK +STATE +DONE +FAILED +CREATED$/);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^2 +builtin:sleep +queued +0\/2 +0 +\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    expect(rows[1]).toMatch(/^1 +builtin:noop +queued +0\/4 +0 /);
    const json = JSON.parse((await databox(['jobs', '--limit', '1', '--json', ...at])).stdout);
    expect(json.jobs.map((j: JobView) => j.id)).toEqual([2]);
  });

  it('job shows the fields, the counts and the first 10 attempt errors', async () => {
    await serve({ outcome: failing, batch: 4 });
    const job = await client.submit({ task: 'builtin:noop', count: 12, retries: 0 });
    await client.waitForJob(job.id);
    const r = await databox(['job', String(job.id), ...at]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`job ${job.id}: builtin:noop, failed\n`);
    expect(r.stdout).toContain('  subtasks    0 succeeded, 12 failed, 0 cancelled, 0 running, 0 dispatched, 0 queued\n');
    expect(r.stdout).toContain('errors (the first 10):\n  input 0, attempt 1, on node-a: no luck\n');
    expect(r.stdout.match(/^ {2}input \d+, attempt 1, on node-a: no luck$/gm)).toHaveLength(10);
    const json = JSON.parse((await databox(['job', String(job.id), '--json', ...at])).stdout);
    expect(json.job).toMatchObject({ id: job.id, state: 'failed' });
    expect(json.errors).toHaveLength(10);
    expect((await databox(['job', 'seven', ...at])).stderr).toMatch(/job id must be a positive integer \(got "seven"\)/);
    expect((await databox(['job', '99', ...at])).stderr).toMatch(/^databox: .*99/m);
  });

  it('job --wait waits for the job like run does', async () => {
    const job = await client.submit({ task: 'builtin:noop', count: 6 });
    await serve({ batch: 2 });
    const r = await databox(['job', String(job.id), '--wait', '--json', ...at]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ job: { state: 'succeeded', counts: { succeeded: 6 } }, errors: [] });
  });

  it('cancel says how many subtasks were cancelled and how many are being killed', async () => {
    const d = await node();
    const job = await client.submit({ task: 'builtin:sleep', count: 5, args: 60_000 });
    await d.start(await d.take(2));
    const r = await databox(['cancel', String(job.id), ...at]);
    expect(r).toEqual({ code: 0, stdout: `job ${job.id}: cancelled 5 subtasks; 2 of them were running and are being killed\n`, stderr: '' });
    expect((await databox(['cancel', String(job.id), ...at])).stdout).toBe(`job ${job.id}: nothing to cancel (it had already finished or been cancelled)\n`);
    expect((await client.getJob(job.id)).state).toBe('cancelled');
  });

  it('nodes shows each node with its workers, CPU, memory and heartbeat age', async () => {
    await (await node()).beat();
    const r = await databox(['nodes', ...at]);
    expect(r.code).toBe(0);
    const [header, row, ...rest] = r.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^NODE +ADDRESS +STATE +WORKERS +CPU +MEMORY +HEARTBEAT$/);
    expect(row).toMatch(/^node-a +127\.0\.0\.1 +alive +1000:busy 1001:idle +25% +3\.2 GB\/8\.6 GB +\d+\.\d s ago$/);
    expect(rest).toEqual([]);
    const json = JSON.parse((await databox(['nodes', '--json', ...at])).stdout);
    expect(json.nodes.map((n: NodeView) => n.name)).toEqual(['node-a']);
  });
});

describe('formatting', () => {
  const view = (over: Partial<JobView> = {}): JobView => ({
    id: 7,
    task: 'builtin:noop',
    args: null,
    priority: false,
    node: null,
    preferNodes: [],
    retries: 3,
    timeoutMs: null,
    memoryMb: null,
    onFailure: 'retry-subtask',
    total: 100,
    state: 'running',
    counts: { queued: 40, dispatched: 10, running: 10, succeeded: 35, failed: 5, cancelled: 0 },
    restarts: 0,
    createdAt: 1_700_000_000_000,
    finishedAt: null,
    cancelledAt: null,
    ...over,
  });

  it('progress counts finished subtasks, the rate since the watch began and the time left', () => {
    expect(progressFigures(view(), { finished: 20, atMs: 0 }, 4_000)).toEqual({ finished: 40, failed: 5, ratePerS: 5, etaS: 12 });
    expect(progressFigures(view(), { finished: 40, atMs: 0 }, 4_000)).toMatchObject({ ratePerS: 0, etaS: null });
    expect([null, 0, 42, 185, 7_620].map(formatEta)).toEqual(['--', '0s', '42s', '3m05s', '2h07m']);
  });

  it('a run summary measures from creation to finish, throughput to one decimal', () => {
    const done = view({ state: 'succeeded', counts: { queued: 0, dispatched: 0, running: 0, succeeded: 100, failed: 0, cancelled: 0 }, finishedAt: 1_700_000_000_000 + 3_000 });
    const s = summarizeRun(done);
    expect(s).toEqual({ id: 7, state: 'succeeded', subtasks: { total: 100, succeeded: 100, failed: 0 }, durationMs: 3_000, throughputPerS: 33.3 });
    expect(formatRunSummary(s)).toBe('job 7 succeeded: 100 of 100 subtasks succeeded, 0 failed, in 3.00 s (33.3/s)');
    expect(summarizeRun({ ...done, finishedAt: done.createdAt }).throughputPerS).toBe(100_000);
  });

  it('tables pad columns to the widest cell', () => {
    expect(formatTable(['A', 'LONG'], [['xyz', '1'], ['', '22']])).toBe('A    LONG\nxyz  1\n     22\n');
    expect(formatJobs([])).toBe('no jobs\n');
  });

  it('cancel and nodes speak plainly about edge cases', () => {
    expect(formatCancel({ id: 3, cancelled: 1, killed: 1 })).toBe('job 3: cancelled 1 subtask; 1 of them was running and is being killed\n');
    expect(formatNodes([])).toBe('no nodes have joined this Jobman\n');
    const fresh: NodeView = { name: 'n', address: '10.0.0.2', state: 'dead', workers: [], metrics: null, inFlight: 0, joinedAt: 0, lastHeartbeatAt: 0, heartbeatAgeMs: 12_345, storage: null };
    expect(formatNodes([fresh]).split('\n')[1]).toBe('n     10.0.0.2  dead   -        -    -       12.3 s ago');
    expect(formatNodes([{ ...fresh, metrics: FAKE_METRICS }]).split('\n')[1]).toContain('25%  3.2 GB/8.6 GB');
  });
});
