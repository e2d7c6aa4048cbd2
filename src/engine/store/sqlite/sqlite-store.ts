import Database from 'better-sqlite3';

import type { SubtaskState } from '../../state-machine.js';
import { InvalidArgumentError, JobSpecError, StoreClosedError, StoreCorruptError, StoreError, StoreFailedError, SubtaskNotFoundError } from '../errors.js';
import type { JobStore } from '../job-store.js';
import { encodeJson } from '../json.js';
import { resolveSqliteStoreOptions, type ResolvedSqliteStoreOptions, type SqliteStoreOptions } from '../options.js';
import { MAX_INPUTS, MAX_PAGE, resolveJobSpec } from '../spec.js';
import type {
  ActiveSubtask,
  BatchOutcome,
  CancelOutcome,
  Change,
  IndexPage,
  JobId,
  JobRecord,
  JobSpec,
  JsonValue,
  QueuedSubtask,
  RecoverOutcome,
  RestartOutcome,
  ResultRow,
  SubtaskAttemptError,
  SubtaskCounts,
  SubtaskId,
  SubtaskRecord,
} from '../types.js';
import { applyChanges } from './apply-batch.js';
import { cancelJob, loadJob, requeueActive, restartJob } from './job-ops.js';
import { Ledger } from './ledger.js';
import { parseActive, parseAttemptError, parseJob, parseQueued, parseResult, parseSubtask, type Row } from './rows.js';
import { openDatabase } from './schema.js';
import { prepareStatements, type Statements } from './statements.js';

/** Most rows one page may ask for. */
const DEFAULT_PAGE = 1_000;

/**
 * The job store on one SQLite file (better-sqlite3, WAL). One Jobman process owns the file; every write
 * is one IMMEDIATE transaction, committed before the returned promise resolves.
 */
export class SqliteJobStore implements JobStore {
  private readonly st: Statements;
  private closed = false;
  /** Runs `fn` in a BEGIN IMMEDIATE transaction: the write lock is taken up front, never upgraded. */
  private readonly write: <T>(fn: () => T) => T;

  private constructor(
    private readonly db: Database.Database,
    /** The options in force, every default filled in. */
    readonly options: ResolvedSqliteStoreOptions,
  ) {
    this.st = prepareStatements(db);
    const tx = db.transaction((fn: () => unknown) => fn());
    this.write = <T>(fn: () => T) => tx.immediate(fn) as T;
  }

  /** Opens (or creates) the store at `options.path`, migrating its schema to this build's version. */
  static open(options: SqliteStoreOptions): SqliteJobStore {
    const resolved = resolveSqliteStoreOptions(options);
    try {
      return new SqliteJobStore(openDatabase(resolved), resolved);
    } catch (err) {
      // Anything that stops the file opening (a missing directory, no permission) is the store failing.
      throw err instanceof StoreError ? err : new StoreFailedError(`open ${resolved.path}`, err, false);
    }
  }

  async createJob(spec: JobSpec): Promise<JobRecord> {
    const { definition: d, inputs } = resolveJobSpec(spec);
    const args = encodeJson(d.args, this.options.maxArgsBytes, () => 'job args', 'options.maxArgsBytes');
    return this.run('create a job', () =>
      this.write(() => {
        const ledger = new Ledger(this.st, this.options.now());
        const known = typeof inputs === 'number' ? inputs : Array.isArray(inputs) ? inputs.length : undefined;
        if (known !== undefined && known > MAX_INPUTS) throw new JobSpecError(`spec.inputs has ${known} inputs, over the limit of ${MAX_INPUTS}`);
        const first = ledger.peekId();
        const jobId = Number(
          this.st.insertJob.run({
            task: d.task,
            args,
            priority: d.priority ? 1 : 0,
            node: d.node,
            waitForNode: d.waitForNode ? 1 : 0,
            preferNodes: JSON.stringify(d.preferNodes),
            retries: d.retries,
            timeoutMs: d.timeoutMs,
            memoryMb: d.memoryMb,
            onFailure: d.onFailure,
            inputsListed: typeof inputs === 'number' ? 0 : 1,
            firstSubtask: first,
            total: known ?? 0,
            createdAt: ledger.now,
            finishedAt: known === 0 ? ledger.now : null,
          }).lastInsertRowid,
        );
        if (typeof inputs === 'number') {
          if (inputs > 0) {
            const seq = d.priority ? ledger.takeHead(inputs) : ledger.takeTail(inputs);
            this.st.insertCounted.run({ n: inputs, first, job: jobId, seq, now: ledger.now });
          }
          ledger.takeIds(inputs);
        } else {
          this.insertListed(ledger, jobId, first, inputs, d.priority, known);
        }
        ledger.commit();
        return loadJob(this.st, jobId);
      }),
    );
  }

  /** Inserts listed inputs one statement each, consuming the iterable once; never holds them all. */
  private insertListed(ledger: Ledger, jobId: JobId, first: SubtaskId, inputs: Iterable<JsonValue>, priority: boolean, known: number | undefined): void {
    const limit = this.options.maxArgsBytes;
    // With a known count the seqs are final at once; otherwise tail seqs follow the current tail, and
    // head seqs are fixed up once the count is known.
    let seq = known === undefined ? (priority ? 0 : ledger.takeTail(0)) : priority ? ledger.takeHead(known) : ledger.takeTail(known);
    let n = 0;
    for (const value of inputs) {
      if (n >= MAX_INPUTS) throw new JobSpecError(`spec.inputs has more than ${MAX_INPUTS} inputs`);
      const text = encodeJson(value, limit, () => `input ${n}`, 'options.maxArgsBytes');
      this.st.insertListed.run(first + n, jobId, n, seq++, text, ledger.now);
      n++;
    }
    ledger.takeIds(n);
    if (known === undefined) {
      if (priority) {
        if (n > 0) this.st.reseqRange.run(ledger.takeHead(n), first, first + n - 1);
      } else {
        ledger.takeTail(n);
      }
      this.st.setJobTotal.run(n, n, n === 0 ? ledger.now : null, jobId);
    }
  }

  async getJob(id: JobId): Promise<JobRecord> {
    return this.run('read a job', () => loadJob(this.st, id));
  }

  async listJobs(page: { beforeId?: JobId; limit?: number } = {}): Promise<JobRecord[]> {
    const limit = pageLimit(page.limit);
    if (page.beforeId !== undefined && !Number.isSafeInteger(page.beforeId)) throw new InvalidArgumentError('page.beforeId', 'must be a job id', page.beforeId);
    return this.run('list jobs', () => {
      const rows = page.beforeId === undefined ? this.st.jobsNewest.all(limit) : this.st.jobsBefore.all(page.beforeId, limit);
      return (rows as Row[]).map(parseJob);
    });
  }

  async countSubtasks(): Promise<SubtaskCounts> {
    return this.run('count subtasks', () => {
      const row = this.st.countAll.get() as Row;
      const counts = {} as SubtaskCounts;
      for (const [state, n] of Object.entries(row)) {
        if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new StoreCorruptError('jobs', '*', `n_${state}`, 'sums to a non-integer');
        counts[state as SubtaskState] = n;
      }
      return counts;
    });
  }

  async pageQueued(page: { afterSeq?: number; limit: number }): Promise<QueuedSubtask[]> {
    const limit = pageLimit(page.limit);
    if (page.afterSeq !== undefined && !Number.isSafeInteger(page.afterSeq)) {
      throw new InvalidArgumentError('page.afterSeq', 'must be an integer', page.afterSeq);
    }
    return this.run('page the queue', () => {
      const rows = page.afterSeq === undefined ? this.st.queueFirst.all(limit) : this.st.queueAfter.all(page.afterSeq, limit);
      return (rows as Row[]).map(parseQueued);
    });
  }

  async getSubtask(id: SubtaskId): Promise<SubtaskRecord> {
    return this.run('read a subtask', () => {
      const row = this.st.subtask.get(id) as Row | undefined;
      if (row === undefined) throw new SubtaskNotFoundError(id);
      return parseSubtask(row);
    });
  }

  async listSubtasks(jobId: JobId, page: IndexPage & { state?: SubtaskState } = {}): Promise<SubtaskRecord[]> {
    const { from, limit } = indexPage(page);
    return this.run('list subtasks', () => {
      const job = loadJob(this.st, jobId);
      const [a, b] = [job.firstSubtaskId + from, job.firstSubtaskId + job.total - 1];
      const rows =
        page.state === undefined
          ? this.st.subtasksOfJob.all(a, b, limit)
          : page.state === 'failed'
            ? this.st.failedOfJob.all(a, b, limit)
            : this.st.subtasksOfJobIn.all(a, b, page.state, limit);
      return (rows as Row[]).map(parseSubtask);
    });
  }

  async listResults(jobId: JobId, page: IndexPage = {}): Promise<ResultRow[]> {
    const { from, limit } = indexPage(page);
    return this.run('list results', () => {
      const job = loadJob(this.st, jobId);
      return (this.st.resultsOfJob.all(job.firstSubtaskId + from, job.firstSubtaskId + job.total - 1, limit) as Row[]).map(parseResult);
    });
  }

  async listAttemptErrors(jobId: JobId, page: IndexPage = {}): Promise<SubtaskAttemptError[]> {
    const { from, limit } = indexPage(page);
    return this.run('list attempt errors', () => {
      const job = loadJob(this.st, jobId);
      return (this.st.errorsOfJob.all(job.firstSubtaskId + from, job.firstSubtaskId + job.total - 1, limit) as Row[]).map(parseAttemptError);
    });
  }

  async applyBatch(changes: readonly Change[]): Promise<BatchOutcome> {
    if (!Array.isArray(changes)) throw new InvalidArgumentError('changes', 'must be an array', changes);
    return this.run('apply a batch', () =>
      this.write(() => applyChanges(this.st, new Ledger(this.st, this.options.now()), changes, this.options.maxResultBytes)),
    );
  }

  async listActive(node?: string): Promise<ActiveSubtask[]> {
    return this.run('list active subtasks', () => {
      const rows = node === undefined ? this.st.activeAll.all() : this.st.activeOfNode.all(node);
      return (rows as Row[]).map(parseActive);
    });
  }

  async requeueNode(node: string): Promise<ActiveSubtask[]> {
    if (typeof node !== 'string' || node === '') throw new InvalidArgumentError('node', 'must be a node name', node);
    return this.run('requeue a node', () => this.write(() => this.requeue(this.st.activeOfNode.all(node) as Row[])));
  }

  async recover(): Promise<RecoverOutcome> {
    return this.run('recover', () => this.write(() => ({ requeued: this.requeue(this.st.activeAll.all() as Row[]) })));
  }

  private requeue(rows: Row[]): ActiveSubtask[] {
    const ledger = new Ledger(this.st, this.options.now());
    const moved = requeueActive(this.st, ledger, rows);
    ledger.commit();
    return moved;
  }

  async cancelJob(id: JobId): Promise<CancelOutcome> {
    return this.run('cancel a job', () =>
      this.write(() => {
        const ledger = new Ledger(this.st, this.options.now());
        const outcome = cancelJob(this.st, ledger, id);
        ledger.commit();
        return outcome;
      }),
    );
  }

  async restartJob(id: JobId): Promise<RestartOutcome> {
    return this.run('restart a job', () =>
      this.write(() => {
        const ledger = new Ledger(this.st, this.options.now());
        const outcome = restartJob(this.st, ledger, id);
        ledger.commit();
        return outcome;
      }),
    );
  }

  async pinnedNodes(): Promise<string[]> {
    return this.run('list the nodes jobs are pinned to', () => (this.st.pinnedNodes.all() as { node: string }[]).map((r) => r.node));
  }

  async failPinned(node: string, error: { message: string; code: string }): Promise<{ jobs: JobId[]; failed: number }> {
    return this.run(`fail the jobs pinned to node ${JSON.stringify(node)}`, () =>
      this.write(() => {
        const now = this.options.now();
        const json = JSON.stringify({ message: error.message, code: error.code });
        const jobs: JobId[] = [];
        let failed = 0;
        for (const { id } of this.st.pinnedTo.all(node) as { id: number }[]) {
          const job = loadJob(this.st, id);
          if (job.counts.queued === 0) continue;
          const last = job.firstSubtaskId + job.total - 1;
          this.st.nodeGoneErrors.run(json, now, job.firstSubtaskId, last);
          const n = this.st.nodeGoneFail.run(now, job.firstSubtaskId, last).changes;
          // Work of a pinned job runs on its node only, so with the node gone none is in flight: the job ends.
          const done = job.counts.dispatched + job.counts.running === 0;
          this.st.addJobCounts.run(-n, 0, 0, 0, n, 0, done ? now : null, id);
          failed += n;
          jobs.push(id);
        }
        return { jobs, failed };
      }),
    );
  }

  async checkWritable(): Promise<void> {
    this.run('write (the health probe)', () =>
      this.write(() => {
        // A real change (a counter), so the commit writes a page to the WAL; a transaction that changes
        // nothing writes nothing and would pass on a store that cannot write.
        this.db.prepare("INSERT INTO meta (key, value) VALUES ('health_probes', 1) ON CONFLICT (key) DO UPDATE SET value = value + 1").run();
      }),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  /** Runs one operation: refuses after close, and turns SQLite's own errors into StoreFailedError. */
  private run<T>(what: string, fn: () => T): T {
    if (this.closed) throw new StoreClosedError();
    try {
      return fn();
    } catch (err) {
      throw wrap(err, what);
    }
  }
}

function wrap(err: unknown, what: string): Error {
  if (err instanceof StoreError) return err;
  if (err instanceof Database.SqliteError) {
    const retryable = err.code.startsWith('SQLITE_BUSY') || err.code.startsWith('SQLITE_LOCKED');
    return new StoreFailedError(what, err, retryable);
  }
  return err instanceof Error ? err : new StoreFailedError(what, err, false);
}

function pageLimit(limit: number | undefined): number {
  const n = limit ?? DEFAULT_PAGE;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_PAGE) throw new InvalidArgumentError('page.limit', `must be an integer from 1 to ${MAX_PAGE}`, limit);
  return n;
}

function indexPage(page: IndexPage): { from: number; limit: number } {
  const from = page.fromIndex ?? 0;
  if (!Number.isSafeInteger(from) || from < 0) throw new InvalidArgumentError('page.fromIndex', 'must be a non-negative integer', page.fromIndex);
  return { from, limit: pageLimit(page.limit) };
}
