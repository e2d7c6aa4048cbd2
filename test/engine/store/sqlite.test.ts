import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { InvalidStoreOptionError, StoreCorruptError, StoreFailedError, StoreSchemaError, storeDefaults } from '../../../src/engine/store/index.js';
import { SqliteJobStore } from '../../../src/engine/store/sqlite/sqlite-store.js';
import { SCHEMA_VERSION } from '../../../src/engine/store/sqlite/schema.js';
import { APPLICATION_ID, MIGRATIONS, migrate } from '../../../src/engine/store/sqlite/schema.js';
import { applyAll, lifecycle } from './contract-support.js';

let dir: string;
let path: string;
const open: SqliteJobStore[] = [];

function openStore(options: Partial<Parameters<typeof SqliteJobStore.open>[0]> = {}): SqliteJobStore {
  const store = SqliteJobStore.open({ path, ...options });
  open.push(store);
  return store;
}

/** A second, raw connection to the same file, for looking under the store (and corrupting it). */
function raw(): Database.Database {
  const db = new Database(path);
  db.pragma('ignore_check_constraints = ON');
  return db;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'databox-sqlite-'));
  path = join(dir, 'databox.db');
});
afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the SQLite job store file', () => {
  it('is in WAL mode with synchronous=NORMAL, foreign keys on, and this build’s schema version', async () => {
    const store = openStore();
    await store.createJob({ task: 'x', inputs: 1 });
    const pragma = (name: string) => (store as unknown as { db: Database.Database }).db.pragma(name, { simple: true });
    expect(pragma('journal_mode')).toBe('wal');
    expect(pragma('synchronous')).toBe(1);
    expect(pragma('foreign_keys')).toBe(1);
    expect(pragma('busy_timeout')).toBe(storeDefaults.busyTimeoutMs);
    expect(pragma('user_version')).toBe(SCHEMA_VERSION);
    expect(pragma('application_id')).toBe(APPLICATION_ID);
  });

  it('uses synchronous=FULL when asked', () => {
    const store = openStore({ synchronous: 'full' });
    expect((store as unknown as { db: Database.Database }).db.pragma('synchronous', { simple: true })).toBe(2);
  });

  it('refuses a file from a newer build, naming both versions', () => {
    openStore();
    open.pop()!.close();
    const db = raw();
    db.pragma('user_version = 99');
    db.close();
    expect(() => openStore()).toThrow(new StoreSchemaError(`${path} has job-store schema version 99, newer than this build's ${SCHEMA_VERSION}; run a newer DataboxMR`));
  });

  it('refuses a database that is not a job store, and a file that is not a database', () => {
    const db = raw();
    db.exec('CREATE TABLE photos (id INTEGER)');
    db.close();
    expect(() => openStore()).toThrow(`${path} is not a DataboxMR job store (it has 1 tables but no schema version)`);
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'this is not SQLite at all, just some text long enough to look like a header. '.repeat(20));
    expect(() => openStore({ path: junk })).toThrow(`Job store could not open ${junk}: file is not a database`);
    expect(() => openStore({ path: join(dir, 'no-such-dir', 'databox.db') })).toThrow(StoreFailedError);
  });

  it('migrates an older file one step at a time, each step with its version', async () => {
    const store = openStore();
    const job = await store.createJob({ task: 'x', inputs: 2 });
    await store.close();
    const db = raw();
    migrate(db, path, [...MIGRATIONS, (d: Database.Database) => d.exec('ALTER TABLE jobs ADD COLUMN label TEXT')]);
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length + 1);
    expect((db.prepare('SELECT label FROM jobs WHERE id = ?').get(job.id) as { label: unknown }).label).toBeNull();
    db.close();
  });

  it('brings a version-1 file up to date: its jobs keep their fields and have no memory limit', async () => {
    const db = raw();
    migrate(db, path, MIGRATIONS.slice(0, 1));
    db.exec(`INSERT INTO jobs (task, args, priority, prefer_nodes, retries, timeout_ms, on_failure, inputs_listed, first_subtask, total, created_at, n_queued)
             VALUES ('x', 'null', 0, '[]', 3, 500, 'retry-subtask', 0, 1, 0, 1, 0)`);
    db.close();
    const store = openStore();
    expect(await store.getJob(1)).toMatchObject({ task: 'x', timeoutMs: 500, memoryMb: null });
    expect((await store.createJob({ task: 'y', inputs: 1, memoryMb: 256 })).memoryMb).toBe(256);
    await store.close();
  });

  it('names the table, row and column of a corrupt row instead of crashing deep inside', async () => {
    const store = openStore();
    const job = await store.createJob({ task: 'x', inputs: 3 });
    const id = job.firstSubtaskId;
    await applyAll(store, lifecycle(id, 1, { ok: true }));
    let db = raw();
    db.prepare("UPDATE subtasks SET state = 'exploded' WHERE id = ?").run(id + 1);
    db.prepare("UPDATE subtasks SET result = '{not json' WHERE id = ?").run(id);
    db.close();
    await expect(store.getSubtask(id + 1)).rejects.toThrow(
      new StoreCorruptError('subtasks', id + 1, 'state', 'should be one of queued, dispatched, running, succeeded, failed, cancelled, not the text "exploded"'),
    );
    await expect(store.listResults(job.id)).rejects.toThrow(`Job store row subtasks ${id} is corrupt: column result is not valid JSON: "{not json"`);
    db = raw();
    db.prepare("UPDATE jobs SET prefer_nodes = '42' WHERE id = ?").run(job.id);
    db.close();
    await expect(store.getJob(job.id)).rejects.toThrow(`Job store row jobs ${job.id} is corrupt: column prefer_nodes should be a JSON list of node names`);
    const batch = store.applyBatch([{ id: id + 1, attempt: 1, to: 'dispatched', node: 'n' }]);
    await expect(batch).rejects.toThrow(StoreCorruptError);
  });

  it('rolls back the whole batch when the store itself fails in the middle', async () => {
    const store = openStore();
    const job = await store.createJob({ task: 'x', inputs: 2 });
    const [a, b] = [job.firstSubtaskId, job.firstSubtaskId + 1];
    const db = raw();
    db.prepare("UPDATE subtasks SET attempt = 'x' WHERE id = ?").run(b);
    db.close();
    await expect(store.applyBatch([...lifecycle(a, 1), { id: b, attempt: 1, to: 'dispatched', node: 'n' }])).rejects.toThrow(
      `Job store row subtasks ${b} is corrupt: column attempt should be an integer, not the text "x"`,
    );
    expect((await store.getSubtask(a)).state).toBe('queued');
    expect((await store.getJob(job.id)).counts.queued).toBe(2);
  });

  it('refuses bad options naming the option and the value', () => {
    expect(() => openStore({ busyTimeoutMs: -1 })).toThrow(new InvalidStoreOptionError('options.busyTimeoutMs', 'must be a non-negative integer', -1));
    expect(() => openStore({ maxResultBytes: 0 })).toThrow('options.maxResultBytes must be a positive integer (got 0)');
    expect(() => openStore({ synchronous: 'off' as never })).toThrow(`options.synchronous must be 'normal' or 'full' (got "off")`);
    expect(() => openStore({ cachemib: 2 } as never)).toThrow('options.cachemib is not a known option (got 2)');
    expect(() => SqliteJobStore.open({} as never)).toThrow('options.path must be a file path (got undefined)');
  });

  it('applies maxResultBytes as configured', async () => {
    const store = openStore({ maxResultBytes: 16 });
    const job = await store.createJob({ task: 'x', inputs: 1 });
    const out = await store.applyBatch(lifecycle(job.firstSubtaskId, 1, 'seventeen bytes!'));
    expect(out.outcomes[2]!.error!.message).toMatch(/is 18 bytes of JSON, over the 16-byte limit \(options.maxResultBytes\)$/);
  });
});
