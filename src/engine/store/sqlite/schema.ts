import { closeSync, constants, openSync } from 'node:fs';

import Database from 'better-sqlite3';

import { StoreSchemaError } from '../errors.js';
import type { ResolvedSqliteStoreOptions } from '../options.js';

type Db = Database.Database;

/** `PRAGMA application_id` of a DataboxMR job store: 'DBMR'. */
export const APPLICATION_ID = 0x44424d52;

/**
 * Version 1. Why it looks as it does:
 * - A job's subtasks get consecutive ids (from `meta.next_subtask_id`, never reused), so a job's
 *   subtasks in input order are a primary-key range: no (job_id, idx) index to maintain on a
 *   million-row insert, and every per-job query is bounded by the job.
 * - Counts by state live on the job row, updated in the same transaction as the subtasks, so a job's
 *   status is one row read, never a scan.
 * - `subtasks.state` has no CHECK constraint: it cost a quarter of the transition throughput, the store
 *   writes states only as literals in its own statements, and every read checks the value (rows.ts).
 * - Partial indexes hold only what is looked up: the queue (queued, by seq), what sits on Taskmen
 *   (dispatched or running, by node) and failures. A subtask's lifecycle touches each at most twice.
 * - `meta` holds the queue's two ends: `head_seq` (lowest seq handed out; head insertions go below it)
 *   and `tail_seq` (highest; tail insertions go above it).
 */
const V1 = `
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('head_seq', 0), ('tail_seq', 0), ('next_subtask_id', 1);

CREATE TABLE jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task TEXT NOT NULL,
  args TEXT NOT NULL,
  priority INTEGER NOT NULL CHECK (priority IN (0, 1)),
  node TEXT,
  prefer_nodes TEXT NOT NULL,
  retries INTEGER NOT NULL,
  timeout_ms INTEGER,
  on_failure TEXT NOT NULL CHECK (on_failure IN ('retry-subtask', 'restart-job')),
  inputs_listed INTEGER NOT NULL CHECK (inputs_listed IN (0, 1)),
  first_subtask INTEGER NOT NULL,
  total INTEGER NOT NULL,
  restarts INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  finished_at INTEGER,
  cancelled_at INTEGER,
  n_queued INTEGER NOT NULL DEFAULT 0,
  n_dispatched INTEGER NOT NULL DEFAULT 0,
  n_running INTEGER NOT NULL DEFAULT 0,
  n_succeeded INTEGER NOT NULL DEFAULT 0,
  n_failed INTEGER NOT NULL DEFAULT 0,
  n_cancelled INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE subtasks (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL REFERENCES jobs (id),
  idx INTEGER NOT NULL,
  state TEXT NOT NULL,
  seq INTEGER NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  node TEXT,
  worker TEXT,
  input TEXT,
  result TEXT,
  updated_at INTEGER NOT NULL
);
CREATE INDEX subtasks_queue ON subtasks (seq) WHERE state = 'queued';
CREATE INDEX subtasks_active ON subtasks (node, id) WHERE state IN ('dispatched', 'running');
CREATE INDEX subtasks_failed ON subtasks (id) WHERE state = 'failed';

CREATE TABLE attempt_errors (
  subtask_id INTEGER NOT NULL REFERENCES subtasks (id),
  attempt INTEGER NOT NULL,
  node TEXT,
  worker TEXT,
  error TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (subtask_id, attempt)
) WITHOUT ROWID;
`;

/** One schema step: from version `index` to `index + 1`. Never edit a released step; add one. */
export type Migration = (db: Db) => void;

/** Version 2: a job's `memory_mb`, the memory limit of the worker processes that run its subtasks. */
const V2 = 'ALTER TABLE jobs ADD COLUMN memory_mb INTEGER';

/**
 * Version 3: a job's `pending` operation. A large job is created and cancelled in many short
 * transactions, so the Jobman keeps serving in between; `pending` says one is under way (and a crash
 * left it so): 'create' hides the job until its last subtask is written, 'cancel' marks a cancel whose
 * queued subtasks are still being moved. `recover()` removes a half-created job and finishes a cancel.
 */
const V3 = `
ALTER TABLE jobs ADD COLUMN pending TEXT CHECK (pending IN ('create', 'cancel'));
CREATE INDEX jobs_pending ON jobs (id) WHERE pending IS NOT NULL;
`;

/**
 * Version 4: a pinned job's `wait_for_node`: 1 when it waits for its node however long it is gone,
 * instead of failing once the Jobman's grace period has passed.
 */
const V4 = 'ALTER TABLE jobs ADD COLUMN wait_for_node INTEGER NOT NULL DEFAULT 0 CHECK (wait_for_node IN (0, 1))';

export const MIGRATIONS: readonly Migration[] = [(db) => db.exec(V1), (db) => db.exec(V2), (db) => db.exec(V3), (db) => db.exec(V4)];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Opens (creating if needed) the database file, sets the connection up and brings the schema up to date. */
export function openDatabase(options: ResolvedSqliteStoreOptions): Db {
  createPrivate(options.path);
  const db = new Database(options.path);
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new StoreSchemaError(`${options.path}: SQLite refused WAL mode (journal_mode is ${String(mode)})`);
    db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    db.pragma(`cache_size = -${options.cacheMiB * 1024}`);
    db.pragma('temp_store = MEMORY');
    migrate(db, options.path);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Applies the steps from the file's `user_version` up to this build's, each in its own transaction
 * (schema changes and the version bump commit together). Refuses a file that is not a job store or
 * that a newer build wrote.
 */
export function migrate(db: Db, path: string, migrations: readonly Migration[] = MIGRATIONS): void {
  const appId = db.pragma('application_id', { simple: true }) as number;
  if (appId !== 0 && appId !== APPLICATION_ID) {
    throw new StoreSchemaError(`${path} is not a DataboxMR job store (its application_id is ${appId})`);
  }
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > migrations.length) {
    throw new StoreSchemaError(
      `${path} has job-store schema version ${from}, newer than this build's ${migrations.length}; run a newer DataboxMR`,
    );
  }
  if (from === 0) {
    const tables = (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }).n;
    if (tables > 0) throw new StoreSchemaError(`${path} is not a DataboxMR job store (it has ${tables} tables but no schema version)`);
  }
  for (let version = from; version < migrations.length; version++) {
    db.transaction(() => {
      migrations[version]!(db);
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}

/**
 * Creates a missing database file readable and writable by its owner only (0600): it holds every job's
 * inputs and results. SQLite gives the -wal and -shm files it makes beside it the same mode. An existing
 * file keeps the mode its owner gave it.
 */
function createPrivate(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw err;
  }
  closeSync(fd);
}
