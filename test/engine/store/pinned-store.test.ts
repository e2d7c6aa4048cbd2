import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { SqliteJobStore } from '../../../src/engine/store/sqlite/sqlite-store.js';
import { MIGRATIONS, migrate } from '../../../src/engine/store/sqlite/schema.js';

/** The store's part in failing jobs pinned to a node that is gone, on a real SQLite file. */

let dir: string;
let store: SqliteJobStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'databox-pinned-store-'));
  store = SqliteJobStore.open({ path: join(dir, 'databox.db') });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const GONE = { message: 'node a is gone', code: 'ERR_NODE_GONE' };

describe('failPinned', () => {
  it('fails the queued subtasks of jobs pinned to the node, as one more attempt each, and no other job', async () => {
    const pinned = await store.createJob({ task: 'x', inputs: 3, node: 'a' });
    const waiting = await store.createJob({ task: 'x', inputs: 2, node: 'a', waitForNode: true });
    const elsewhere = await store.createJob({ task: 'x', inputs: 2, node: 'b' });
    const free = await store.createJob({ task: 'x', inputs: 2 });
    expect(waiting.waitForNode).toBe(true);
    expect(pinned.waitForNode).toBe(false);
    expect(await store.pinnedNodes()).toEqual(['a', 'b']);

    expect(await store.failPinned('a', GONE)).toEqual({ jobs: [pinned.id], failed: 3 });
    const failed = await store.getJob(pinned.id);
    expect(failed).toMatchObject({ state: 'failed', counts: { queued: 0, failed: 3 } });
    expect(failed.finishedAt).not.toBeNull();
    const errors = await store.listAttemptErrors(pinned.id);
    expect(errors.map((e) => [e.index, e.attempt, e.error])).toEqual([0, 1, 2].map((i) => [i, 1, GONE]));
    for (const id of [waiting.id, elsewhere.id, free.id]) expect((await store.getJob(id)).state).toBe('queued');

    // Done once: the failed job is no longer pinned work.
    expect(await store.failPinned('a', GONE)).toEqual({ jobs: [], failed: 0 });
    expect(await store.pinnedNodes()).toEqual(['b']);
  });

  it('leaves a cancelled job alone', async () => {
    const job = await store.createJob({ task: 'x', inputs: 2, node: 'a' });
    await store.cancelJob(job.id);
    expect(await store.failPinned('a', GONE)).toEqual({ jobs: [], failed: 0 });
    expect((await store.getJob(job.id)).state).toBe('cancelled');
  });
});

describe('checkWritable', () => {
  it('commits a write each time it is called', async () => {
    await store.checkWritable();
    await store.checkWritable();
    const db = new Database(join(dir, 'databox.db'), { readonly: true });
    try {
      expect(db.prepare("SELECT value FROM meta WHERE key = 'health_probes'").get()).toEqual({ value: 2 });
    } finally {
      db.close();
    }
  });
});

describe('version 4', () => {
  it('gives jobs of a version 2 store waitForNode false', async () => {
    const path = join(dir, 'v2.db');
    const db = new Database(path);
    migrate(db, path, MIGRATIONS.slice(0, 2));
    db.prepare(
      `INSERT INTO jobs (task, args, priority, node, prefer_nodes, retries, on_failure, inputs_listed, first_subtask, total, created_at)
       VALUES ('x', 'null', 0, 'a', '[]', 3, 'retry-subtask', 0, 1, 0, 0)`,
    ).run();
    db.close();
    const old = SqliteJobStore.open({ path });
    try {
      expect(await old.getJob(1)).toMatchObject({ node: 'a', waitForNode: false });
    } finally {
      await old.close();
    }
  });
});
