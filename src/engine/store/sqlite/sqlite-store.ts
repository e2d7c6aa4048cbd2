import Database from 'better-sqlite3';

import type { SubtaskState } from '../../state-machine.js';
import { setImmediate as nextTurn } from 'node:timers/promises';

import {
  InvalidArgumentError,
  JobNotFoundError,
  JobTooLargeError,
  StoreClosedError,
  StoreCorruptError,
  StoreError,
  StoreFailedError,
  SubtaskNotFoundError,
} from '../errors.js';
import type { JobStore } from '../job-store.js';
import { encodeJson } from '../json.js';
import { resolveSqliteStoreOptions, type ResolvedSqliteStoreOptions, type SqliteStoreOptions } from '../options.js';
import { MAX_PAGE, resolveJobSpec } from '../spec.js';
import type {
  ActiveSubtask,
  BatchOutcome,
  CancelOutcome,
  Change,
  IndexPage,
  JobDefinition,
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
import { beginCancel, cancelJob, cancelQueuedChunk, endCancel, loadJob, requeueActive, restartJob } from './job-ops.js';
import { Ledger } from './ledger.js';
import { int, parseActive, parseAttemptError, parseJob, parseQueued, parseResult, parseSubtask, type Row } from './rows.js';
import { openDatabase } from './schema.js';
import { prepareStatements, type Statements } from './statements.js';

/** Most rows one page may ask for. */
const DEFAULT_PAGE = 1_000;

/** Jobs of at most this many subtasks are created and cancelled in one transaction (a few ms). */
export const SMALL_JOB = 5_000;
/** Rows a large job's create, cancel or removal writes per statement; a transaction runs steps for CHUNK_MS. */
const STEP_ROWS = 1_000;
/**
 * How long one transaction of a large job's create, cancel or removal runs before the store lets the
 * event loop serve heartbeats and API calls: short against a 100 ms answer, long against a commit.
 */
const CHUNK_MS = 4;

/** A span of queue positions (`seq`) held by a job that is being created: pageQueued passes over it. */
interface SeqRange {
  lo: number;
  hi: number;
}

/**
 * The job store on one SQLite file (better-sqlite3, WAL). One Jobman process owns the file; every write
 * is one IMMEDIATE transaction, committed before the returned promise resolves.
 *
 * A job of more than SMALL_JOB subtasks is created, cancelled and removed in transactions of about
 * CHUNK_MS each, with a turn of the event loop between them, so the Jobman serves heartbeats meanwhile (one transaction of
 * 5 million rows held it for 6-8 s). To the outside the job stays atomic: while it is being created its
 * job row says `pending = 'create'`, and it is hidden (not listed, not found, its subtasks never paged);
 * the last transaction makes it visible at once. A cancel marks the job cancelled in its first
 * transaction, after which no dispatch of its subtasks applies; its queued subtasks follow in chunks.
 * After a crash, `recover()` removes a half-created job (its submitter never got an answer) and finishes
 * a half-done cancel.
 */
export class SqliteJobStore implements JobStore {
  private readonly st: Statements;
  private closed = false;
  /**
   * Jobs being created (or left half-created by a crash), with the queue positions their subtasks hold;
   * null where unknown (left by a crash: pageQueued then passes over their rows one by one).
   */
  private readonly hidden = new Map<JobId, SeqRange[] | null>();
  /** Jobs whose cancel is under way: a dispatch of their subtasks is stale. */
  private readonly cancelling = new Set<JobId>();
  /** Cancels under way in this process, so a second cancel of the job waits for the first. */
  private readonly cancels = new Map<JobId, Promise<unknown>>();
  /** Creates run one at a time: a job being created owns the tail of the queue and the subtask ids. */
  private creates: Promise<unknown> = Promise.resolve();
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
    // Left by a crash: stays hidden (or refuses dispatches) until recover() finishes it.
    for (const row of this.st.pendingJobs.all() as Row[]) {
      const id = int(row, 'jobs', '?', 'id');
      if (row.pending === 'create') this.hidden.set(id, null);
      else this.cancelling.add(id);
    }
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
    const limit = this.options.maxSubtasksPerJob;
    const known = typeof inputs === 'number' ? inputs : Array.isArray(inputs) ? inputs.length : undefined;
    if (known !== undefined && known > limit) throw new JobTooLargeError(known, limit);
    if (this.closed) throw new StoreClosedError();
    const create = this.creates.then(() => this.create(d, args, inputs, known));
    this.creates = create.catch(() => undefined);
    return create;
  }

  private async create(d: JobDefinition, args: string, inputs: number | Iterable<JsonValue>, known: number | undefined): Promise<JobRecord> {
    if (typeof inputs === 'number') {
      if (inputs <= SMALL_JOB) return this.run('create a job', () => this.write(() => this.createWhole(d, args, inputs, [], false)));
      return this.createInChunks(d, args, inputs, known);
    }
    // Listed inputs are encoded as they are written; a short list is one transaction.
    const iterator = inputs[Symbol.iterator]();
    const head = this.encodeInputs(iterator, 0, SMALL_JOB + 1);
    if (head.done) return this.run('create a job', () => this.write(() => this.createWhole(d, args, head.texts.length, head.texts, true)));
    return this.createInChunks(d, args, { iterator, head: head.texts }, known);
  }

  /** A job of at most SMALL_JOB subtasks, in the caller's one transaction. */
  private createWhole(d: JobDefinition, args: string, n: number, texts: readonly string[], listed: boolean): JobRecord {
    const ledger = new Ledger(this.st, this.options.now());
    const first = ledger.takeIds(n);
    const seq = d.priority ? ledger.takeHead(n) : ledger.takeTail(n);
    const jobId = this.insertJob(ledger, d, args, listed, first, n, null);
    this.insertRows(ledger.now, jobId, first, seq, 0, n, texts);
    ledger.commit();
    return loadJob(this.st, jobId);
  }

  /**
   * A large job: one transaction records it hidden (`pending = 'create'`) with its ids and queue
   * positions, then chunks write its subtasks, and the last transaction makes it visible. A failure
   * removes what was written (and recover() does, after a crash).
   */
  private async createInChunks(
    d: JobDefinition,
    args: string,
    inputs: number | { iterator: Iterator<JsonValue>; head: string[] },
    known: number | undefined,
  ): Promise<JobRecord> {
    const listed = typeof inputs !== 'number';
    // With a count known up front, ids and queue positions are taken at once; otherwise step by step at
    // the tail (creates run one at a time, and nothing else takes tail positions or ids), and a priority
    // job moves to the head once its size is known.
    const { jobId, first, range } = this.run('create a job', () =>
      this.write(() => {
        const ledger = new Ledger(this.st, this.options.now());
        const first = ledger.peekId();
        let range: SeqRange;
        if (known !== undefined) {
          ledger.takeIds(known);
          const lo = d.priority ? ledger.takeHead(known) : ledger.takeTail(known);
          range = { lo, hi: lo + known - 1 };
        } else {
          const lo = ledger.takeTail(0);
          range = { lo, hi: lo - 1 };
        }
        const jobId = this.insertJob(ledger, d, args, listed, first, known ?? 0, 'create');
        ledger.commit();
        this.hidden.set(jobId, [range]);
        return { jobId, first, range };
      }),
    );
    let n = 0;
    let buffered = typeof inputs === 'number' ? [] : inputs.head;
    let ended = false;
    try {
      await this.inChunks('create a job', (ledger) => {
        let size: number;
        let texts: readonly string[] = [];
        if (typeof inputs === 'number') {
          size = Math.min(STEP_ROWS, inputs - n);
        } else {
          if (buffered.length === 0 && !ended) ({ texts: buffered, done: ended } = this.encodeInputs(inputs.iterator, n, STEP_ROWS));
          texts = buffered.length <= STEP_ROWS ? buffered : buffered.slice(0, STEP_ROWS);
          buffered = buffered.length <= STEP_ROWS ? [] : buffered.slice(STEP_ROWS);
          size = texts.length;
        }
        let seq = range.lo + n;
        if (known === undefined) {
          ledger.takeIds(size);
          seq = ledger.takeTail(size);
          range.hi = seq + size - 1;
          this.st.setJobReserved.run(n + size, jobId);
        }
        this.insertRows(ledger.now, jobId, first + n, seq, n, size, texts);
        n += size;
        return typeof inputs === 'number' ? n < inputs : buffered.length > 0 || !ended;
      });
      if (known === undefined && d.priority && n > 0) await this.moveToHead(jobId, first, n);
      return this.run('create a job', () =>
        this.write(() => {
          this.st.finishCreate.run(n, n, n === 0 ? this.options.now() : null, jobId);
          this.hidden.delete(jobId);
          return loadJob(this.st, jobId);
        }),
      );
    } catch (err) {
      // Take back what was written; if even that fails, the job stays hidden for recover() to remove.
      await this.removeHidden(jobId, first).catch(() => undefined);
      throw err;
    }
  }

  /** Moves a hidden priority job's subtasks from their provisional tail positions to the head. */
  private async moveToHead(jobId: JobId, first: SubtaskId, n: number): Promise<void> {
    const lo = this.run('create a job', () =>
      this.write(() => {
        const ledger = new Ledger(this.st, this.options.now());
        const head = ledger.takeHead(n);
        ledger.commit();
        return head;
      }),
    );
    this.hidden.get(jobId)?.push({ lo, hi: lo + n - 1 });
    let from = 0;
    await this.inChunks('create a job', () => {
      this.st.reseqRange.run(lo, first + from, first + Math.min(from + STEP_ROWS, n) - 1);
      from += STEP_ROWS;
      return from < n;
    });
  }

  /** Removes a hidden job and the subtasks it wrote. */
  private async removeHidden(jobId: JobId, first: SubtaskId): Promise<void> {
    const reserved = this.run('remove a half-created job', () => int(this.st.job.get(jobId) as Row, 'jobs', jobId, 'total'));
    let from = 0;
    await this.inChunks('remove a half-created job', () => {
      if (from < reserved) this.st.deleteRange.run(first + from, first + Math.min(from + STEP_ROWS, reserved) - 1);
      from += STEP_ROWS;
      if (from < reserved) return true;
      this.st.deleteJob.run(jobId);
      return false;
    });
    this.hidden.delete(jobId);
  }

  /**
   * Runs `step` (which returns whether there is more to do) in transactions of about CHUNK_MS, each with
   * its own ledger, and a turn of the event loop between them.
   */
  private async inChunks(what: string, step: (ledger: Ledger) => boolean): Promise<void> {
    for (let more = true; more; ) {
      more = this.run(what, () =>
        this.write(() => {
          const ledger = new Ledger(this.st, this.options.now());
          const t0 = performance.now();
          let again: boolean;
          do again = step(ledger);
          while (again && performance.now() - t0 < CHUNK_MS);
          ledger.commit();
          return again;
        }),
      );
      if (more) {
        await nextTurn();
        if (this.closed) throw new StoreClosedError();
      }
    }
  }

  private insertJob(ledger: Ledger, d: JobDefinition, args: string, listed: boolean, first: SubtaskId, total: number, pending: 'create' | null): JobId {
    return Number(
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
        inputsListed: listed ? 1 : 0,
        firstSubtask: first,
        total,
        createdAt: ledger.now,
        // A hidden job counts nothing until it is made visible.
        queued: pending === null ? total : 0,
        finishedAt: total === 0 && pending === null ? ledger.now : null,
        pending,
      }).lastInsertRowid,
    );
  }

  /** Writes `n` queued subtasks from input `index` on: counted when `texts` is empty, else one row per listed input. */
  private insertRows(now: number, jobId: JobId, first: SubtaskId, seq: number, index: number, n: number, texts: readonly string[]): void {
    if (n === 0) return;
    if (texts.length === 0) {
      this.st.insertCounted.run({ n, first, idx: index, job: jobId, seq, now });
      return;
    }
    for (let i = 0; i < n; i++) this.st.insertListed.run(first + i, jobId, index + i, seq + i, texts[i], now);
  }

  /**
   * Encodes up to `most` listed inputs, numbered from `from`; `done` once the iterable ended. Refuses an
   * input over `maxArgsBytes`, and a job over `maxSubtasksPerJob` as soon as it gets there.
   */
  private encodeInputs(iterator: Iterator<JsonValue>, from: number, most: number): { texts: string[]; done: boolean } {
    const texts: string[] = [];
    const limit = this.options.maxSubtasksPerJob;
    while (texts.length < most) {
      const next = iterator.next();
      if (next.done === true) return { texts, done: true };
      const n = from + texts.length;
      if (n >= limit) throw new JobTooLargeError(limit, limit, true);
      texts.push(encodeJson(next.value, this.options.maxArgsBytes, () => `input ${n}`, 'options.maxArgsBytes'));
    }
    return { texts, done: false };
  }

  async getJob(id: JobId): Promise<JobRecord> {
    return this.run('read a job', () => this.visibleJob(id));
  }

  /** The job, unless it does not exist yet (it is being created, or a crash left it half-created). */
  private visibleJob(id: JobId): JobRecord {
    if (this.hidden.has(id)) throw new JobNotFoundError(id);
    return loadJob(this.st, id);
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
      const read = (after: number | undefined, n: number) => (after === undefined ? this.st.queueFirst.all(n) : this.st.queueAfter.all(after, n)) as Row[];
      if (this.hidden.size === 0) return read(page.afterSeq, limit).map(parseQueued);
      // Pass over the subtasks of jobs being created: jump past the span of queue positions each holds.
      const out: QueuedSubtask[] = [];
      let after = page.afterSeq;
      for (;;) {
        const want = limit - out.length;
        const rows = read(after, want);
        let jumped = false;
        for (const row of rows) {
          const q = parseQueued(row);
          const ranges = this.hidden.get(q.jobId);
          after = q.seq;
          if (ranges === undefined) {
            out.push(q);
          } else if (ranges !== null) {
            after = ranges.find((r) => r.lo <= q.seq && q.seq <= r.hi)?.hi ?? q.seq;
            jumped = true;
            break;
          }
        }
        if (out.length >= limit || (!jumped && rows.length < want)) return out;
      }
    });
  }

  async getSubtask(id: SubtaskId): Promise<SubtaskRecord> {
    return this.run('read a subtask', () => {
      const row = this.st.subtask.get(id) as Row | undefined;
      if (row === undefined) throw new SubtaskNotFoundError(id);
      const subtask = parseSubtask(row);
      if (this.hidden.has(subtask.jobId)) throw new SubtaskNotFoundError(id);
      return subtask;
    });
  }

  async listSubtasks(jobId: JobId, page: IndexPage & { state?: SubtaskState } = {}): Promise<SubtaskRecord[]> {
    const { from, limit } = indexPage(page);
    return this.run('list subtasks', () => {
      const job = this.visibleJob(jobId);
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
      const job = this.visibleJob(jobId);
      return (this.st.resultsOfJob.all(job.firstSubtaskId + from, job.firstSubtaskId + job.total - 1, limit) as Row[]).map(parseResult);
    });
  }

  async listAttemptErrors(jobId: JobId, page: IndexPage = {}): Promise<SubtaskAttemptError[]> {
    const { from, limit } = indexPage(page);
    return this.run('list attempt errors', () => {
      const job = this.visibleJob(jobId);
      return (this.st.errorsOfJob.all(job.firstSubtaskId + from, job.firstSubtaskId + job.total - 1, limit) as Row[]).map(parseAttemptError);
    });
  }

  async applyBatch(changes: readonly Change[]): Promise<BatchOutcome> {
    if (!Array.isArray(changes)) throw new InvalidArgumentError('changes', 'must be an array', changes);
    return this.run('apply a batch', () =>
      this.write(() => applyChanges(this.st, new Ledger(this.st, this.options.now()), changes, this.options.maxResultBytes, { hidden: this.hidden, cancelling: this.cancelling })),
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
    // What a crash left half-done: a job half-created goes (its submitter never got an answer), a
    // cancel is carried to its end. Operations under way in this process are left to themselves.
    for (const row of this.run('recover', () => this.st.pendingJobs.all() as Row[])) {
      const id = int(row, 'jobs', '?', 'id');
      if (row.pending === 'create' && this.hidden.get(id) === null) await this.removeHidden(id, int(row, 'jobs', id, 'first_subtask'));
      else if (row.pending === 'cancel' && !this.cancels.has(id)) await this.trackCancel(id, this.run('recover', () => loadJob(this.st, id)));
    }
    return this.run('recover', () => this.write(() => ({ requeued: this.requeue(this.st.activeAll.all() as Row[]) })));
  }

  private requeue(rows: Row[]): ActiveSubtask[] {
    const ledger = new Ledger(this.st, this.options.now());
    const moved = requeueActive(this.st, ledger, rows);
    ledger.commit();
    return moved;
  }

  async cancelJob(id: JobId): Promise<CancelOutcome> {
    const under = this.cancels.get(id);
    if (under !== undefined) {
      // Cancelling again is a no-op, once the first cancel is done.
      await under.catch(() => undefined);
      return this.run('cancel a job', () => {
        this.visibleJob(id);
        return { jobId: id, cancelled: 0, stopped: [] };
      });
    }
    const begun = this.run('cancel a job', () =>
      this.write(() => {
        const ledger = new Ledger(this.st, this.options.now());
        const job = this.visibleJob(id);
        const unfinished = job.counts.queued + job.counts.dispatched + job.counts.running;
        const small = job.total <= SMALL_JOB || job.cancelledAt !== null || unfinished === 0;
        const outcome = small ? cancelJob(this.st, ledger, id) : beginCancel(this.st, ledger, job);
        ledger.commit();
        return { outcome, job: small ? undefined : job };
      }),
    );
    if (begun.job === undefined) return begun.outcome;
    const moved = await this.trackCancel(id, begun.job);
    return { ...begun.outcome, cancelled: begun.outcome.cancelled + moved };
  }

  /** Runs the rest of a chunked cancel, known to `cancelJob` callers meanwhile; returns the queued subtasks it cancelled. */
  private trackCancel(id: JobId, job: JobRecord): Promise<number> {
    this.cancelling.add(id);
    const done = this.finishCancel(job).finally(() => {
      this.cancels.delete(id);
    });
    this.cancels.set(id, done);
    return done;
  }

  /** Cancels a job's queued subtasks in chunks, then closes the cancel. */
  private async finishCancel(job: JobRecord): Promise<number> {
    const last = job.firstSubtaskId + job.total - 1;
    let from = job.firstSubtaskId;
    let moved = 0;
    await this.inChunks('cancel a job', (ledger) => {
      moved += cancelQueuedChunk(this.st, ledger.now, job.id, from, Math.min(from + STEP_ROWS - 1, last));
      from += STEP_ROWS;
      if (from <= last) return true;
      endCancel(this.st, ledger.now, job.id);
      return false;
    });
    this.cancelling.delete(job.id);
    return moved;
  }

  async restartJob(id: JobId): Promise<RestartOutcome> {
    return this.run('restart a job', () =>
      this.write(() => {
        this.visibleJob(id);
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
