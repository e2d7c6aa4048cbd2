import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { JobNotFoundError } from '../../../src/engine/store/index.js';
import { SqliteJobStore } from '../../../src/engine/store/sqlite/sqlite-store.js';

const WRITER = fileURLToPath(new URL('./crash-large-writer.ts', import.meta.url));
const N = 50_000;

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'databox-crash-large-'));
  path = join(dir, 'databox.db');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the writer until it stalls inside a transaction, then SIGKILLs it. */
function runAndKill(args: string[]): Promise<NodeJS.Signals | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, path, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('stalled\n')) child.kill('SIGKILL');
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (_code, signal) => (out.includes('stalled') ? resolve(signal) : reject(new Error(`the writer did not stall:\n${out}\n${err}`))));
  });
}

/** Rows of the subtasks table, read behind the store's back. */
function subtaskRows(): number {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM subtasks').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('a Jobman killed with SIGKILL in the middle of a large job', () => {
  it('mid-create: the half-written job stays hidden, and recover() removes it', async () => {
    const setup = SqliteJobStore.open({ path });
    const before = await setup.createJob({ task: 'builtin:noop', inputs: 3 });
    await setup.close();
    // Transaction 1 records the hidden job, 2 and 3 write subtasks; 4 is cut short.
    expect(await runAndKill(['create', String(N), '4'])).toBe('SIGKILL');
    const written = subtaskRows() - 3;
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(N);

    const store = SqliteJobStore.open({ path });
    try {
      await expect(store.getJob(before.id + 1)).rejects.toThrow(JobNotFoundError);
      expect((await store.listJobs()).map((j) => j.id)).toEqual([before.id]);
      expect((await store.pageQueued({ limit: 100 })).map((q) => q.jobId)).toEqual([before.id, before.id, before.id]);
      await store.recover();
      expect(subtaskRows()).toBe(3);
      const next = await store.createJob({ task: 'builtin:noop', inputs: N });
      expect((await store.getJob(next.id)).counts.queued).toBe(N);
      expect((await store.countSubtasks()).queued).toBe(N + 3);
    } finally {
      await store.close();
    }
  });

  it('mid-cancel: the job reads cancelled at once, and recover() carries the cancel to its end', async () => {
    const setup = SqliteJobStore.open({ path });
    const job = await setup.createJob({ task: 'builtin:noop', inputs: N });
    const other = await setup.createJob({ task: 'builtin:noop', inputs: 2 });
    await setup.close();
    // Transaction 1 marks the job cancelled, 2 and 3 cancel queued subtasks; 4 is cut short.
    expect(await runAndKill(['cancel', String(job.id), '4'])).toBe('SIGKILL');

    const store = SqliteJobStore.open({ path });
    try {
      const half = await store.getJob(job.id);
      expect(half.state).toBe('cancelled');
      expect(half.counts.cancelled).toBeGreaterThan(0);
      expect(half.counts.queued).toBeGreaterThan(0);
      await store.recover();
      const after = await store.getJob(job.id);
      expect(after).toMatchObject({ state: 'cancelled', counts: { queued: 0, cancelled: N } });
      expect(after.finishedAt).not.toBeNull();
      expect((await store.pageQueued({ limit: 100 })).map((q) => q.jobId)).toEqual([other.id, other.id]);
    } finally {
      await store.close();
    }
  });
});
