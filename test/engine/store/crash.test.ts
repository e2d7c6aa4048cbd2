import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { SqliteJobStore } from '../../../src/engine/store/sqlite/sqlite-store.js';
import { applyAll, ids, lifecycle } from './contract-support.js';

const WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'databox-crash-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the writer until it stalls mid-batch, then SIGKILLs it; resolves with the batches it committed. */
function runAndKill(path: string, stallAt: number, batch: number, first: number): Promise<{ committed: number[]; stalledWal: number; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, path, String(stallAt), String(batch), String(first)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (/mid-batch \d+\n/.test(out)) child.kill('SIGKILL');
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      if (!out.includes('mid-batch')) reject(new Error(`writer ended before stalling:\n${out}\n${err}`));
      const lines = out.split('\n');
      const walOf = (line: string) => Number(line.split(' ').at(-1));
      const committed = lines.filter((l) => l.startsWith('committed ')).map(walOf);
      resolve({ committed, stalledWal: walOf(lines.find((l) => l.startsWith('mid-batch '))!), signal });
    });
  });
}

describe('a Jobman killed with SIGKILL in the middle of a batch', () => {
  it('leaves every committed batch in the file and nothing of the half-written one', async () => {
    const path = join(dir, 'databox.db');
    const batch = 400;
    const stallAt = 3;
    const setup = SqliteJobStore.open({ path });
    const job = await setup.createJob({ task: 'builtin:noop', inputs: batch * 5 });
    await setup.close();

    const { committed, stalledWal, signal } = await runAndKill(path, stallAt, batch, job.firstSubtaskId);
    expect(signal).toBe('SIGKILL');
    expect(committed).toHaveLength(stallAt);
    // Part of the half-written batch (its results alone are 1.6 MB) had spilled into the WAL file.
    expect(stalledWal).toBeGreaterThan(committed.at(-1)! + 100_000);
    expect(statSync(`${path}-wal`).size).toBe(stalledWal);

    const store = SqliteJobStore.open({ path });
    try {
      const done = stallAt * batch;
      const after = await store.getJob(job.id);
      expect(after.counts).toEqual({ queued: batch * 5 - done, dispatched: 0, running: 0, succeeded: done, failed: 0, cancelled: 0 });
      const results = await store.listResults(job.id, { limit: batch * 5 });
      expect(results.filter((r) => r.state === 'succeeded').map((r) => r.index)).toEqual(ids(0, done));
      expect(results[done - 1]!.result).toEqual({ k: stallAt - 1, i: batch - 1, payload: 'x'.repeat(4096) });
      expect(await store.getSubtask(job.firstSubtaskId + done)).toMatchObject({ state: 'queued', attempt: 0, node: null });
      expect(await store.recover()).toEqual({ requeued: [] });
      const queue = await store.pageQueued({ limit: batch * 5 });
      expect(queue.map((q) => q.index)).toEqual(ids(done, batch * 5 - done));
      // The job carries on.
      const rest = await store.applyBatch(queue.flatMap((q) => lifecycle(q.id, 1)));
      expect(rest.finishedJobs).toEqual([job.id]);
      expect((await store.getJob(job.id)).state).toBe('succeeded');
      await applyAll(store, []);
    } finally {
      await store.close();
    }
  });
});
