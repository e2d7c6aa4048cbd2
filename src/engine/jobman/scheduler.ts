import { setImmediate as nextTurn } from 'node:timers/promises';

import { Deque } from '../deque.js';
import { IndexTree } from '../index-tree.js';
import {
  type ActiveSubtask,
  type Change,
  type JobDefinition,
  type JobId,
  type JobRecord,
  type JobSpec,
  type JobStore,
  type JsonValue,
  type SubtaskId,
} from '../store/index.js';
import type { WorkSubtask } from '../api/worker-protocol.js';

import { InvalidSchedulerArgumentError, NodeNotUpError, NotYourSubtaskError, SchedulerErrorCode, UnknownNodeError } from './errors.js';
import { resolveSchedulerOptions, type ResolvedSchedulerOptions, type SchedulerOptions } from './options.js';
import type { CancelResult, KillOrder, NodeDownResult, ReportedChange, ReportOutcome, ReportResult, SchedulerStats } from './types.js';

/** What the scheduler keeps of a job with work in memory. */
type JobInMemory = JobDefinition & Pick<JobRecord, 'inputsListed'>;

/** A subtask going (back) to the deque; `input` is left out where the caller does not have it at hand. */
type Queued = Pick<ActiveSubtask, 'id' | 'jobId' | 'index' | 'attempt'> & { input?: JsonValue };

/** A queued subtask held in memory: small, and sharing its job's definition. */
interface Entry {
  id: SubtaskId;
  jobId: JobId;
  index: number;
  /** The last attempt started; the next dispatch is `attempt + 1`. */
  attempt: number;
  job: JobInMemory;
  /** The listed input; undefined for a counted job (its input is its index). */
  input: JsonValue | undefined;
  /** When it joined the deque (ms since the epoch): the start of its locality wait. */
  queuedAt: number;
}

const ID = /^[1-9][0-9]{0,15}$/;

/**
 * Subtasks read per page from the store: a few ms of reading each (10,000 at once took up to 125 ms on
 * a loaded machine), with a turn of the event loop between pages.
 */
const FILL_PAGE = 2_000;
const HEAD_PAGE = FILL_PAGE;

/**
 * The Jobman's scheduling core, with no network I/O: the deque, the bounded window over the store's
 * queue, and the level-1 index (job → subtask → node). The HTTP API and the registry drive it.
 *
 * Memory: normal jobs stay in the store and are paged in, `windowSize` at most, as capacity frees;
 * priority jobs and re-runs (retries, requeues, restarts) go straight to the deque head, since the
 * store gives them queue positions below the paging cursor. Entries of cancelled jobs are deleted
 * lazily: `queued` says which deque entries are live.
 */
export class Scheduler {
  private readonly options: ResolvedSchedulerOptions;
  private readonly deque = new Deque<Entry>(1024);
  /** Live queued entries by subtask id; a deque entry not found here (the same object) is dead. */
  private readonly queued = new Map<SubtaskId, Entry>();
  /** Level one: job → subtask → node; a member held by nobody is queued in memory. */
  private readonly index = new IndexTree<JobId, SubtaskId, string>();
  /** Definitions of jobs with work in memory, shared by their entries. */
  private readonly jobs = new Map<JobId, JobInMemory>();
  private readonly nodes = new Set<string>();
  /**
   * Jobs whose cancel is under way (a large one is cancelled in many store transactions): their
   * subtasks are not paged in, and paging waits at the first of them until the cancel is done.
   */
  private readonly cancelling = new Set<JobId>();
  /** Nodes that pinned jobs wait for, each with the timer that fails those jobs when its grace is over. */
  private readonly gone = new Map<string, NodeJS.Timeout>();
  /** The `seq` of the last subtask paged from the store; later normal work lies above it. */
  private cursor: number | undefined;
  private filling: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly store: JobStore,
    options: SchedulerOptions,
  ) {
    this.options = resolveSchedulerOptions(options);
  }

  /** Starts a scheduler over `store`: recovers what a crashed Jobman left in flight, then fills the window. */
  static async start(store: JobStore, options: SchedulerOptions = {}): Promise<Scheduler> {
    const scheduler = new Scheduler(store, options);
    if (scheduler.options.recover) await store.recover();
    await scheduler.fill();
    // No node is up yet: the grace of every node a job is pinned to starts now.
    for (const node of await store.pinnedNodes()) scheduler.startGrace(node);
    return scheduler;
  }

  /** A Taskman on `name` is alive (registered, or heartbeating again): its pinned jobs wait no more. */
  nodeUp(name: string): void {
    this.nodes.add(name);
    clearTimeout(this.gone.get(name));
    this.gone.delete(name);
  }

  /**
   * A Taskman died: what it held goes back to the head of the deque, found through the index, and the
   * grace period of the jobs pinned to it starts.
   */
  async nodeDown(name: string): Promise<NodeDownResult> {
    this.nodes.delete(name);
    this.startGrace(name);
    const held = [...this.index.heldBy(name).keys()];
    const requeued = await this.store.requeueNode(name);
    for (const id of held) this.index.release(id);
    await this.queueAtHead(requeued);
    return { node: name, requeued: requeued.length };
  }

  /**
   * Records a job and queues its subtasks. UnknownNodeError when it is pinned to a node that is not
   * live, unless it waits for its node (`waitForNode`).
   */
  async submit(spec: JobSpec): Promise<JobRecord> {
    if (spec.node !== undefined && spec.node !== null && spec.waitForNode !== true && !this.nodes.has(spec.node)) throw new UnknownNodeError(spec.node, [...this.nodes].sort());
    const job = await this.store.createJob(spec);
    this.jobs.set(job.id, inMemory(job));
    if (job.priority) await this.queueJobAtHead(job.id);
    else await this.fill();
    return job;
  }

  /**
   * Up to `want` subtasks for the Taskman on `node`, from the head of the deque: work pinned to another
   * node is passed over and keeps its place; work preferring other nodes is passed over until its
   * locality wait is over (unless none of its preferred nodes is live). The dispatches are committed
   * before they are returned.
   */
  async pull(node: string, want: number): Promise<WorkSubtask[]> {
    if (!Number.isSafeInteger(want) || want < 1) throw new InvalidSchedulerArgumentError('want', 'must be a positive integer', want);
    if (!this.nodes.has(node)) throw new NodeNotUpError(node);
    await this.fill();
    const now = this.options.now();
    const taken: Entry[] = [];
    const passed: Entry[] = [];
    while (taken.length < want) {
      const e = this.deque.popHead();
      if (e === undefined) break;
      if (this.queued.get(e.id) !== e) continue;
      if (!this.mayRun(e, node, now)) {
        passed.push(e);
        continue;
      }
      this.queued.delete(e.id);
      taken.push(e);
    }
    this.deque.pushHeadAll(passed);
    if (taken.length === 0) return [];

    let outcome;
    try {
      outcome = await this.store.applyBatch(taken.map((e): Change => ({ id: e.id, attempt: e.attempt + 1, to: 'dispatched', node })));
    } catch (err) {
      for (const e of taken) this.queued.set(e.id, e);
      this.deque.pushHeadAll(taken);
      throw err;
    }
    const work: WorkSubtask[] = [];
    outcome.outcomes.forEach((o, i) => {
      const e = taken[i]!;
      if (o.status !== 'applied') {
        // Withdrawn behind our back (a cancel raced this pull): forget it.
        this.index.remove(e.id);
        return;
      }
      this.index.assign(e.id, node);
      work.push(toWork(e));
    });
    await this.fill();
    return work;
  }

  /**
   * A Taskman's batch of state changes, committed in one transaction. Failures follow the job's policy
   * in the store; retried subtasks come back to the deque head here, and restarted jobs' work is queued
   * at the head and what they had in flight is returned in `kill`.
   */
  async report(node: string, changes: readonly ReportedChange[]): Promise<ReportResult> {
    const outcomes: (ReportOutcome | undefined)[] = changes.map((c) => {
      if (!ID.test(c.id)) return { id: c.id, attempt: c.attempt, status: 'rejected', state: null, error: new InvalidSchedulerArgumentError('change.id', 'must be a subtask id', c.id) };
      const holder = this.index.holderOf(Number(c.id));
      // Dispatched to another node: whoever says so is not the node that runs it. (What is dispatched to
      // no node cannot change here either: the store finds it queued or finished, and ignores the report.)
      if (holder !== undefined && holder !== node) return { id: c.id, attempt: c.attempt, status: 'rejected', state: null, error: new NotYourSubtaskError(node, c.id, holder) };
      return undefined;
    });
    const sent = changes.filter((_, i) => outcomes[i] === undefined);
    const batch = await this.store.applyBatch(sent.map((c): Change => ({ ...c, id: Number(c.id) })));
    const retried: SubtaskId[] = [];
    let k = 0;
    changes.forEach((c, i) => {
      if (outcomes[i] !== undefined) return;
      const o = batch.outcomes[k++]!;
      outcomes[i] = { id: c.id, attempt: o.attempt, status: o.status, state: o.state, ...(o.retried ? { retried: true as const } : {}), ...(o.error ? { error: o.error } : {}) };
      if (o.status !== 'applied') return;
      if (o.retried) retried.push(o.id);
      else if (o.state === 'succeeded' || o.state === 'failed' || o.state === 'cancelled') this.index.remove(o.id);
    });
    // The store put each retry in front of the one before, as a deque's push-front does; so do we.
    for (const id of retried) {
      const s = await this.store.getSubtask(id);
      if (s.state !== 'queued') continue;
      this.index.release(id);
      await this.queueAtHead([{ id, jobId: s.jobId, index: s.index, attempt: s.attempt, input: s.input }]);
    }
    const kill: KillOrder[] = [];
    for (const r of batch.restartedJobs) {
      for (const a of r.stopped) kill.push(killOrder(a));
      await this.queueJobAtHead(r.jobId);
    }
    for (const jobId of batch.finishedJobs) this.forgetJob(jobId);
    return { outcomes: outcomes as ReportOutcome[], kill, finishedJobs: batch.finishedJobs };
  }

  /** Cancels a job: its queued work is dropped from the deque, and its work in flight is returned to kill. */
  async cancel(jobId: JobId): Promise<CancelResult> {
    // Its queued work leaves the deque now: a large cancel takes many turns of the event loop.
    this.cancelling.add(jobId);
    this.forgetJob(jobId);
    let outcome;
    try {
      outcome = await this.store.cancelJob(jobId);
    } finally {
      this.cancelling.delete(jobId);
    }
    this.forgetJob(jobId);
    await this.fill();
    return { jobId, cancelled: outcome.cancelled, kill: outcome.stopped.map(killOrder) };
  }

  /** The job with its counts by state, from the store. */
  status(jobId: JobId): Promise<JobRecord> {
    return this.store.getJob(jobId);
  }

  stats(): SchedulerStats {
    return {
      queued: this.queued.size,
      dequeSize: this.deque.size,
      windowSize: this.options.windowSize,
      inFlight: this.index.memberCount - this.queued.size,
      nodes: [...this.nodes].sort(),
    };
  }

  /**
   * Takes back subtasks dispatched to `node` that never reached it (their answer was lost): they go back
   * to queued, at the head of the deque, and keep their attempt numbers (a late report is stale). Returns
   * how many came back; those that moved on meanwhile (reported, cancelled) are left alone.
   */
  async takeBack(node: string, subtasks: readonly { id: string; attempt: number }[]): Promise<number> {
    const mine = subtasks.filter((s) => ID.test(s.id) && this.index.holderOf(Number(s.id)) === node);
    const batch = await this.store.applyBatch(mine.map((s): Change => ({ id: Number(s.id), attempt: s.attempt, to: 'queued' })));
    const back: Queued[] = [];
    for (const o of batch.outcomes) {
      if (o.status !== 'applied') continue;
      const s = await this.store.getSubtask(o.id);
      this.index.release(o.id);
      back.push({ id: o.id, jobId: s.jobId, index: s.index, attempt: s.attempt, input: s.input });
    }
    await this.queueAtHead(back);
    return back.length;
  }

  /**
   * Fails the jobs pinned to `node` that do not wait for it (see `JobStore.failPinned`), unless the node
   * is up again; their queued work leaves memory. Called when the node's grace period is over.
   */
  async failPinnedTo(node: string): Promise<{ jobs: JobId[]; failed: number }> {
    this.gone.delete(node);
    if (this.nodes.has(node)) return { jobs: [], failed: 0 };
    const grace = this.options.pinnedNodeGraceMs;
    const out = await this.store.failPinned(node, {
      code: SchedulerErrorCode.nodeGone,
      message: `the job is pinned to node ${JSON.stringify(node)}, which was gone for longer than the ${grace} ms grace period; submit it with waitForNode to wait for the node however long it is gone`,
    });
    // A pinned job's work runs on its node only, so none of a failed job's work is in flight.
    for (const jobId of out.jobs) this.forgetJob(jobId);
    return out;
  }

  /** Stops the grace timers (the Jobman is closing). */
  close(): void {
    this.closed = true;
    for (const timer of this.gone.values()) clearTimeout(timer);
    this.gone.clear();
  }

  /** Subtasks dispatched to or running on `node`, through the level-1 index. */
  inFlightOn(node: string): number {
    return this.index.heldBy(node).size;
  }

  /** Starts the grace period of the jobs pinned to `node`, unless it already runs. */
  private startGrace(node: string): void {
    if (this.closed || this.gone.has(node)) return;
    const timer = setTimeout(() => {
      this.failPinnedTo(node).catch(() => {
        // The store failed (or is closing): try again after another grace period, unless closed.
        if (!this.gone.has(node) && !this.nodes.has(node)) this.startGrace(node);
      });
    }, this.options.pinnedNodeGraceMs);
    timer.unref();
    this.gone.set(node, timer);
  }

  private mayRun(e: Entry, node: string, now: number): boolean {
    if (e.job.node !== null) return e.job.node === node;
    const prefer = e.job.preferNodes;
    if (prefer.length === 0 || prefer.includes(node)) return true;
    if (now - e.queuedAt >= this.options.localityWaitMs) return true;
    return !prefer.some((n) => this.nodes.has(n));
  }

  /** Pages normal work from the store until the window is full (one fill at a time). */
  private fill(): Promise<void> {
    this.filling ??= this.fillWindow().finally(() => {
      this.filling = undefined;
    });
    return this.filling;
  }

  private async fillWindow(): Promise<void> {
    this.compact();
    for (let pages = 0; this.queued.size < this.options.windowSize; pages++) {
      // Filling a whole window is several pages: let heartbeats and API calls in between.
      if (pages > 0) await nextTurn();
      const limit = Math.min(this.options.windowSize - this.queued.size, FILL_PAGE);
      const page = await this.store.pageQueued(this.cursor === undefined ? { limit } : { afterSeq: this.cursor, limit });
      if (page.length === 0) return;
      const now = this.options.now();
      for (const q of page) {
        // A job being cancelled: stop here, and page on from here once its subtasks left the queue.
        if (this.cancelling.has(q.jobId)) return;
        this.cursor = q.seq;
        // Head work we queued ourselves shows up here only before the first page set the cursor.
        if (this.index.groupOfMember(q.id) !== undefined) continue;
        const job = await this.definition(q.jobId);
        const e: Entry = { id: q.id, jobId: q.jobId, index: q.index, attempt: q.attempt, job, input: job.inputsListed ? q.input : undefined, queuedAt: now };
        this.queued.set(e.id, e);
        this.index.add(e.jobId, e.id);
        this.deque.pushTail(e);
      }
      if (page.length < limit) return;
    }
  }

  /** Puts a priority or restarted job's queued subtasks at the head, in input order, moving any already in memory. */
  private async queueJobAtHead(jobId: JobId): Promise<void> {
    const all: Queued[] = [];
    for (let fromIndex = 0; ; ) {
      const page = await this.store.listSubtasks(jobId, { state: 'queued', fromIndex, limit: HEAD_PAGE });
      for (const s of page) all.push({ id: s.id, jobId, index: s.index, attempt: s.attempt, input: s.input });
      if (page.length < HEAD_PAGE) break;
      fromIndex = page[page.length - 1]!.index + 1;
      // A large job: let heartbeats and API calls in between pages.
      await nextTurn();
    }
    await this.queueAtHead(all);
  }

  /** Puts subtasks at the deque head in the order given (the first comes out first). */
  private async queueAtHead(subtasks: readonly Queued[]): Promise<void> {
    const now = this.options.now();
    const entries: Entry[] = [];
    for (const s of subtasks) {
      const job = await this.definition(s.jobId);
      // A requeue from a dead node knows the subtask but not its input: read it once, here.
      const input = !job.inputsListed ? undefined : 'input' in s ? s.input : (await this.store.getSubtask(s.id)).input;
      const e: Entry = { id: s.id, jobId: s.jobId, index: s.index, attempt: s.attempt, job, input, queuedAt: now };
      this.index.add(e.jobId, e.id);
      this.index.release(e.id);
      this.queued.set(e.id, e);
      entries.push(e);
    }
    this.deque.pushHeadAll(entries);
  }

  /** Drops a finished or cancelled job from memory; its deque entries die lazily. */
  private forgetJob(jobId: JobId): void {
    for (const id of this.index.removeGroup(jobId).keys()) this.queued.delete(id);
    this.jobs.delete(jobId);
  }

  /** Rebuilds the deque without dead entries once they outnumber the live ones. */
  private compact(): void {
    if (this.deque.size <= 2 * this.queued.size + 1024) return;
    const live = [...this.deque].filter((e) => this.queued.get(e.id) === e);
    while (this.deque.popHead() !== undefined);
    for (const e of live) this.deque.pushTail(e);
  }

  private async definition(jobId: JobId): Promise<JobInMemory> {
    let def = this.jobs.get(jobId);
    if (def === undefined) {
      def = inMemory(await this.store.getJob(jobId));
      this.jobs.set(jobId, def);
    }
    return def;
  }
}

function inMemory(job: JobRecord): JobInMemory {
  const { task, args, priority, node, waitForNode, preferNodes, retries, timeoutMs, memoryMb, onFailure, inputsListed } = job;
  return { task, args, priority, node, waitForNode, preferNodes, retries, timeoutMs, memoryMb, onFailure, inputsListed };
}

function toWork(e: Entry): WorkSubtask {
  const work: WorkSubtask = { id: String(e.id), jobId: String(e.jobId), index: e.index, attempt: e.attempt + 1, task: e.job.task };
  if (e.job.args !== null) work.args = e.job.args;
  if (e.input !== undefined) work.input = e.input;
  if (e.job.timeoutMs !== null) work.timeoutMs = e.job.timeoutMs;
  if (e.job.memoryMb !== null) work.memoryMb = e.job.memoryMb;
  if (e.job.priority) work.priority = true;
  return work;
}

function killOrder(a: ActiveSubtask): KillOrder {
  return { node: a.node, id: String(a.id), jobId: String(a.jobId), attempt: a.attempt };
}
