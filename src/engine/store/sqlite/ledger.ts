import { SUBTASK_STATES, type SubtaskState } from '../../state-machine.js';
import { StoreCorruptError } from '../errors.js';
import type { JobId } from '../types.js';
import { int, type Row } from './rows.js';
import type { Statements } from './statements.js';

const STATE_INDEX = Object.fromEntries(SUBTASK_STATES.map((s, i) => [s, i])) as Record<SubtaskState, number>;

/**
 * The bookkeeping of one write transaction: the queue's two ends and the subtask-id counter (read from
 * `meta` on first use, written back once), and the per-job count changes (summed in memory and written
 * once per job, so a batch of 10,000 changes to one job costs one job-row update).
 */
export class Ledger {
  private head: number | undefined;
  private tail: number | undefined;
  private nextId: number | undefined;
  private readonly deltas = new Map<JobId, number[]>();

  constructor(
    private readonly st: Statements,
    /** The transaction's timestamp, ms since the epoch. */
    readonly now: number,
  ) {}

  /** Seqs for `n` subtasks at the head of the queue, ahead of everything; returns the first (lowest). */
  takeHead(n: number): number {
    this.head = (this.head ?? this.meta('head_seq')) - n;
    return this.head;
  }

  /** Seqs for `n` subtasks at the tail of the queue; returns the first. */
  takeTail(n: number): number {
    const first = (this.tail ?? this.meta('tail_seq')) + 1;
    this.tail = first + n - 1;
    return first;
  }

  /** The id the next subtask will get, without taking it. */
  peekId(): number {
    this.nextId ??= this.meta('next_subtask_id');
    return this.nextId;
  }

  /** `n` consecutive subtask ids; returns the first. */
  takeIds(n: number): number {
    const first = this.peekId();
    this.nextId = first + n;
    return first;
  }

  /** Counts one subtask of `jobId` moving from one state to another. */
  move(jobId: JobId, from: SubtaskState, to: SubtaskState): void {
    let d = this.deltas.get(jobId);
    if (d === undefined) {
      d = [0, 0, 0, 0, 0, 0];
      this.deltas.set(jobId, d);
    }
    d[STATE_INDEX[from]]!--;
    d[STATE_INDEX[to]]!++;
  }

  /** Drops pending count changes of a job whose counts were just set from scratch. */
  forget(jobId: JobId): void {
    this.deltas.delete(jobId);
  }

  /** Writes the queue ends and the job counts; returns the jobs whose last unfinished subtask finished. */
  commit(): JobId[] {
    if (this.head !== undefined) this.st.metaSet.run(this.head, 'head_seq');
    if (this.tail !== undefined) this.st.metaSet.run(this.tail, 'tail_seq');
    if (this.nextId !== undefined) this.st.metaSet.run(this.nextId, 'next_subtask_id');
    const finished: JobId[] = [];
    for (const [jobId, d] of this.deltas) {
      const row = this.st.jobActiveCounts.get(jobId) as Row | undefined;
      if (row === undefined) throw new StoreCorruptError('jobs', jobId, 'id', 'is missing, yet subtasks name it');
      const unfinished =
        int(row, 'jobs', jobId, 'n_queued') + d[0]! + int(row, 'jobs', jobId, 'n_dispatched') + d[1]! + int(row, 'jobs', jobId, 'n_running') + d[2]!;
      const wasFinished = row.finished_at !== null;
      const finishedAt = unfinished > 0 ? null : wasFinished ? int(row, 'jobs', jobId, 'finished_at') : this.now;
      if (unfinished === 0 && !wasFinished) finished.push(jobId);
      this.st.addJobCounts.run(d[0], d[1], d[2], d[3], d[4], d[5], finishedAt, jobId);
    }
    this.deltas.clear();
    return finished;
  }

  private meta(key: string): number {
    const row = this.st.metaGet.get(key) as Row | undefined;
    if (row === undefined) throw new StoreCorruptError('meta', key, 'value', 'is missing');
    return int(row, 'meta', key, 'value');
  }
}
