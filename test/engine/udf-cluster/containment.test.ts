import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { fixture, jobFailure, ownTmpdir, UdfTestCluster } from './support.js';
import type { Seen } from './fixtures/env-udf.js';

/**
 * What a UDF cannot do on a cluster of real processes (a Jobman, a Taskman of one worker): read a
 * credential, leave a process running after its subtask, use more memory than its job allows through a
 * child process or one huge allocation, or pass what it kept on to the next job.
 */

/** A secret the Taskman holds in its environment that no worker may inherit. */
const SECRET = 'the-taskman-s-secret-value';

let c: UdfTestCluster;
let tmp: ReturnType<typeof ownTmpdir>;

beforeAll(async () => {
  tmp = ownTmpdir('udf-containment');
  // The Taskman inherits this test's environment, as `databox up`'s Taskman inherits the user's.
  vi.stubEnv('SOME_SERVICE_API_TOKEN', SECRET);
  c = await UdfTestCluster.start({ node: 'a', workers: 1 });
});
afterAll(async () => {
  await c?.close();
  tmp?.remove();
});

/** A process that has ended: no such pid, or a zombie waiting for init to reap it (it runs nothing and holds no memory). */
function ended(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Waits (bounded) until every one of `pids` has ended; fails naming those still running. */
async function allEnd(pids: number[], timeoutMs = 15_000, cluster = c): Promise<void> {
  expect(pids.length).toBeGreaterThan(0);
  for (const pid of pids) expect(Number.isInteger(pid) && pid > 1).toBe(true);
  try {
    await cluster.processes.until(() => pids.every(ended), `processes ${pids.join(', ')} to end`, timeoutMs);
  } catch (err) {
    for (const pid of pids) if (!ended(pid)) process.kill(pid, 'SIGKILL'); // leave nothing behind
    throw new Error(`still running: ${pids.filter((p) => !ended(p)).join(', ')} of ${pids.join(', ')}`, { cause: err });
  }
}

/** A fresh directory of the test's temp dir, for a UDF to write pids into. */
function ownDir(): string {
  return mkdtempSync(join(tmp.dir, 'pids-'));
}

/** The pids a UDF wrote to `dir/file`, once it has written them. */
async function pidsIn(dir: string, file: string, cluster = c): Promise<number[]> {
  const path = join(dir, file);
  await cluster.processes.until(() => existsSync(path), `${file} to be written`, 30_000);
  return JSON.parse(readFileSync(path, 'utf8')) as number[];
}

describe('what a UDF sees', () => {
  it('finds no token nor any other credential in its environment or its worker’s, though its bundle came from the Jobman', async () => {
    const [seen] = await c.cluster.map<Seen>(fixture('env-udf.ts'), [0]);
    const names = [...Object.keys(seen!.env), ...seen!.processEnv.map((e) => e.slice(0, e.indexOf('=')))];
    expect(names).toContain('DATABOX_NODE'); // the environment was read at all
    expect(names).not.toContain('DATABOX_TOKEN');
    expect(names).not.toContain('DATABOX_JOBMAN');
    expect(names).not.toContain('SOME_SERVICE_API_TOKEN');
    const values = [...Object.values(seen!.env), ...seen!.processEnv].join('\n');
    expect(values).not.toContain(c.token);
    expect(values).not.toContain(SECRET);
  });

  it('runs in a worker that leads its own session and process group', async () => {
    const [seen] = await c.cluster.map<Seen>(fixture('env-udf.ts'), [0]);
    expect(seen!.pgrp).toBe(seen!.pid);
    expect(seen!.session).toBe(seen!.pid);
    expect(seen!.pid).not.toBe(c.taskman.pid);
  });
});

describe('processes a UDF starts', () => {
  it('end with its subtask when it succeeds: children, detached children and double forks', async () => {
    const [pids] = await c.cluster.map<number[]>(fixture('spawn-udf.ts'), [{ dir: ownDir(), hang: false }]);
    expect(pids).toHaveLength(4);
    await allEnd(pids!);
  });

  it('end when the subtask times out', async () => {
    const dir = ownDir();
    const err = await jobFailure(c.cluster.map(fixture('spawn-udf.ts'), [{ dir, hang: true }], { timeoutMs: 4000, retries: 0 }));
    expect(err.errors[0]!.message).toMatch(/timed out after 4000 ms/);
    await allEnd(await pidsIn(dir, 'pids-0.json'));
  });

  it('end when the job is cancelled', async () => {
    const dir = ownDir();
    const handle = await c.cluster.submitMap(fixture('spawn-udf.ts'), [{ dir, hang: true }], { retries: 0 });
    const pids = await pidsIn(dir, 'pids-0.json');
    await handle.cancel();
    await allEnd(pids);
  });
});

describe('memoryMb', () => {
  it('counts the memory of the processes a UDF starts, and ends them', async () => {
    const dir = ownDir();
    const err = await jobFailure(c.cluster.map(fixture('child-memory-udf.ts'), [{ dir, mb: 160 }], { memoryMb: 128, retries: 0, timeoutMs: 60_000 }));
    expect(err.errors[0]).toMatchObject({ code: 'ERR_UDF_MEMORY' });
    expect(err.errors[0]!.message).toMatch(/every process it started.*over the job's memoryMb of 128 MiB/);
    await allEnd(await pidsIn(dir, 'child-0.json'));
  });

  it('refuses one 2 GiB allocation at once, with the peak it reached and the limit', async () => {
    const err = await jobFailure(c.cluster.map(fixture('big-alloc-udf.ts'), [2048], { memoryMb: 512, retries: 0, timeoutMs: 60_000 }));
    const [e] = err.errors;
    expect(e!.code).toBe('ERR_UDF_MEMORY');
    expect(e!.message).toMatch(/memoryMb of 512 MiB/);
    // The allocation failed before it was filled: the peak is what the UDF used before, far below 2 GiB.
    const peak = Number(/peaked at (\d+) MiB/.exec(e!.message)?.[1]);
    expect(peak).toBeLessThan(512);
  });

  it('never blames a job for what an earlier job’s UDF kept, and a job over its limit leaves the worker to the next', async () => {
    const [pid] = await c.workerPids();
    const opts = { memoryMb: 256, retries: 0, timeoutMs: 60_000 };
    // Each job keeps 150 MiB after map returns; two of them on one thread would be 300 MiB, over 256.
    expect(await c.cluster.map<number>(fixture('keep-memory-udf.ts'), [150], opts)).toEqual([1]);
    expect(await c.cluster.map<number>(fixture('keep-memory-udf.ts'), [150], opts)).toEqual([1]);
    const err = await jobFailure(c.cluster.map<number>(fixture('keep-memory-udf.ts'), [400], opts));
    expect(err.errors[0]).toMatchObject({ code: 'ERR_UDF_MEMORY' });
    expect(await c.cluster.map<number>(fixture('keep-memory-udf.ts'), [150], opts)).toEqual([1]);
    // All on the one worker process, which none of it ended.
    expect(await c.workerPids()).toEqual([pid]);
  });
});

describe('a Taskman that goes away', () => {
  it('ends its workers and what their UDFs started when it is stopped', async () => {
    const own = await UdfTestCluster.start({ node: 'c', workers: 1 });
    try {
      const dir = ownDir();
      await own.cluster.submitMap(fixture('spawn-udf.ts'), [{ dir, hang: true }], { retries: 0 });
      const pids = await pidsIn(dir, 'pids-0.json', own);
      const workers = await own.workerPids();
      own.taskman.child.kill('SIGTERM');
      await own.taskman.exited;
      await allEnd([...workers, ...pids], 15_000, own);
    } finally {
      await own.close();
    }
  });

  it('takes its workers with it, and they take what their UDFs started', async () => {
    const own = await UdfTestCluster.start({ node: 'b', workers: 1 });
    try {
      const dir = ownDir();
      await own.cluster.submitMap(fixture('spawn-udf.ts'), [{ dir, hang: true }], { retries: 0 });
      const pids = await pidsIn(dir, 'pids-0.json', own);
      const workers = await own.workerPids();
      // No goodbye: the workers see their IPC channel close, and nothing else.
      own.taskman.child.kill('SIGKILL');
      await own.taskman.exited;
      await allEnd([...workers, ...pids], 15_000, own);
    } finally {
      await own.close();
    }
  });
});
