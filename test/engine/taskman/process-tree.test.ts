import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { endProcesses, parseStat, SUBTASK_MARKER_ENV, uptimeTicks } from '../../../src/engine/worker/process-tree.js';

/** True while `pid` runs (a zombie, ended and waiting to be reaped, does not). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return parseStat(readFileSync(`/proc/${pid}/stat`, 'latin1'))?.state !== 'Z';
}

/** Starts `sleep 300` as a double fork in a session of its own, with `env`; resolves to its pid. */
async function escapee(env: NodeJS.ProcessEnv): Promise<number> {
  const sh = spawn('sh', ['-c', 'sleep 300 >/dev/null 2>&1 & echo $!'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true, env });
  let out = '';
  sh.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  await once(sh, 'exit');
  return Number(out.trim());
}

describe.runIf(process.platform === 'linux')('ending the processes of a subtask', () => {
  it('reads a /proc stat line whose command holds spaces and parentheses', () => {
    expect(parseStat('42 (a) b (c)) S 7 40 41 0 -1 4194304 1 2 3 4 5 6 7 8 20 0 1 0 12345 1000 25 18446744073709551615')).toMatchObject({
      pid: 42,
      state: 'S',
      ppid: 7,
      pgrp: 40,
      session: 41,
      startTicks: 12345,
      rssBytes: 25 * 4096,
    });
  });

  it('ends a detached double fork by the marker in its environment, and leaves an unmarked one alone', async () => {
    const since = uptimeTicks() - 1;
    // The "worker" is a process of no children, so the scan finds the escapees by their marker alone.
    const root = spawn('sleep', ['300'], { stdio: 'ignore' });
    const marked = await escapee({ ...process.env, [SUBTASK_MARKER_ENV]: `${root.pid}.7` });
    const other = await escapee({ ...process.env, [SUBTASK_MARKER_ENV]: `${root.pid}1.7` });
    try {
      expect(running(marked) && running(other)).toBe(true);
      const killed = endProcesses({ root: root.pid!, includeRoot: false, sessions: new Set(), groups: new Set(), markerPrefix: `${root.pid}.`, sinceTicks: since });
      expect(killed).toEqual([marked]);
      expect(running(other)).toBe(true);
      expect(running(root.pid!)).toBe(true);
    } finally {
      root.kill('SIGKILL');
      for (const pid of [marked, other]) if (running(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
