import { readdir, readFile } from 'node:fs/promises';

import { afterEach, describe, expect, it } from 'vitest';

import { startDaemon, TestCluster, type Daemon } from '../support/processes.js';

/**
 * Processes die with the process that started them, and a Taskman started again in place of a dead
 * one takes over its node at once. Both failed before: SIGKILL of `databox up` left its Taskman and
 * workers running, holding the node's name, and a restarted Taskman waited ("already connected") until
 * the Jobman declared its predecessor dead.
 */
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pids whose parent is `pid`, from /proc. */
async function childrenOf(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // The parent pid is the second field after the command name, which is in parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === pid) out.push(Number(entry));
  }
  return out;
}

/** Waits, at most `ms`, until none of `pids` is alive; answers those still alive. */
async function untilGone(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return pids.filter(alive);
}

describe('process lifecycle', () => {
  it('ends the Taskman and its workers when `databox up` is killed with SIGKILL', async () => {
    const cluster = await TestCluster.create();
    cleanups.push(() => cluster.close());
    const up = startDaemon(['up', '--port', '0', '--home', cluster.home, '--workers', '2', '--node', 'solo']);
    cluster.daemons.push(up);
    await up.waitForLog(/joined the Jobman/);
    const [taskman] = await childrenOf(up.pid);
    expect(taskman).toBeDefined();
    let workers: number[] = [];
    for (let tries = 0; tries < 200 && workers.length < 2; tries++) {
      workers = await childrenOf(taskman!);
      if (workers.length < 2) await new Promise((r) => setTimeout(r, 50));
    }
    expect(workers).toHaveLength(2);
    up.child.kill('SIGKILL');
    await up.exited;
    expect(await untilGone([taskman!, ...workers], 15_000)).toEqual([]);
  });

  it('lets a Taskman killed and started again under the same name and home replace its predecessor at once', async () => {
    // Heartbeats every 5 s: the Jobman would take 15 s to declare the killed Taskman dead.
    const cluster = await TestCluster.create({ heartbeatMs: 5000 });
    cleanups.push(() => cluster.close());
    await cluster.startJobman();
    const first = await cluster.startTaskman('steady', 1);
    const oldWorkers = await childrenOf(first.pid);
    first.child.kill('SIGKILL');
    await first.exited;
    const t0 = Date.now();
    const second: Daemon = await cluster.startTaskman('steady', 1);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(second.stderr()).not.toMatch(/already connected|waiting to join/);
    const nodes = await cluster.nodes();
    expect(nodes.map((n) => [n.name, n.state])).toEqual([['steady', 'alive']]);
    // The killed Taskman's workers went with it.
    expect(await untilGone(oldWorkers, 15_000)).toEqual([]);
  });
});
