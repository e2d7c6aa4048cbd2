import { assertTransition, IllegalTransitionError, SUBTASK_STATES, type SubtaskState } from '../../state-machine.js';
import {
  InvalidArgumentError,
  InvalidValueError,
  StoreCorruptError,
  SubtaskNotFoundError,
  UnknownAttemptError,
  ValueTooLargeError,
} from '../errors.js';
import { decideOnFailure } from '../failure-policy.js';
import { describe, encodeJson } from '../json.js';
import { FAILURE_POLICIES, type BatchOutcome, type Change, type ChangeOutcome, type FailurePolicy, type RestartOutcome } from '../types.js';
import { judgeChange } from '../verdict.js';
import { restartJob } from './job-ops.js';
import type { Ledger } from './ledger.js';
import { int, type Row } from './rows.js';
import type { Statements } from './statements.js';

/** Longest error message and stack kept per failed attempt, in characters; longer ones are cut. */
export const MAX_ERROR_MESSAGE_CHARS = 8_192;
export const MAX_ERROR_STACK_CHARS = 16_384;

const STATES: ReadonlySet<unknown> = new Set(SUBTASK_STATES);
const POLICIES: ReadonlySet<unknown> = new Set(FAILURE_POLICIES);

/** Jobs whose subtasks a batch treats apart (see SqliteJobStore): both are empty but for large jobs' operations. */
export interface Screen {
  /** Jobs being created: their subtasks do not exist yet. */
  readonly hidden: ReadonlyMap<number, unknown>;
  /** Jobs being cancelled: a dispatch of their still-queued subtasks is stale. */
  readonly cancelling: ReadonlySet<number>;
}

/** Errors that reject one change (a caller's mistake) rather than fail the whole batch. */
function isRejection(err: unknown): err is Error {
  return (
    err instanceof IllegalTransitionError ||
    err instanceof UnknownAttemptError ||
    err instanceof SubtaskNotFoundError ||
    err instanceof InvalidArgumentError ||
    err instanceof ValueTooLargeError ||
    err instanceof InvalidValueError
  );
}

/** The subtask a change is about, as stored: what judging a change needs, nothing more. */
interface Target {
  state: SubtaskState;
  attempt: number;
  jobId: number;
}

/** The rest of a subtask's row, read only when a change fails it or an error names it. */
interface Detail {
  index: number;
  failures: number;
  node: string | null;
  worker: string | null;
}

/** A checked change, ready to write: nothing about it can be rejected any more. */
interface Plan {
  change: Change;
  target: Target;
  /** Encoded result (succeeded) or error (failed). */
  json: string | null;
}

/**
 * What one batch knows beyond the database: the targets it changed (so a second change of the same
 * subtask reads no row), and `running` changes held back because the same attempt's `succeeded` comes
 * later in the batch: the pair is then written as one UPDATE. A Taskman's heartbeat is mostly such pairs,
 * so this halves the statements of the hot path. Anything that reads a subtask's row from the database
 * first writes what is held back for it.
 */
class BatchState {
  readonly targets = new Map<number, Target>();
  /** Held-back `running` changes: subtask id → worker. */
  readonly held = new Map<number, string | null>();
  /** `id/attempt` of every `succeeded` change still ahead in the batch, with how many. */
  readonly successesAhead = new Map<string, number>();

  constructor(
    private readonly st: Statements,
    private readonly now: number,
    changes: readonly Change[],
  ) {
    for (const c of changes) {
      if (c?.to !== 'succeeded') continue;
      const key = `${c.id}/${c.attempt}`;
      this.successesAhead.set(key, (this.successesAhead.get(key) ?? 0) + 1);
    }
  }

  /** Writes the held-back `running` of `id`, if any. */
  flush(id: number): void {
    if (!this.held.has(id)) return;
    this.st.toRunning.run(this.held.get(id)!, this.now, id);
    this.held.delete(id);
  }

  flushAll(): void {
    for (const id of [...this.held.keys()]) this.flush(id);
  }
}

/**
 * Applies a batch inside the caller's transaction: each change is planned (checked, its JSON encoded)
 * before anything of it is written, so a rejected change leaves no trace; errors other than rejections
 * (a corrupt row, a failing disk) propagate and the caller's transaction rolls everything back.
 */
export function applyChanges(st: Statements, ledger: Ledger, changes: readonly Change[], maxResultBytes: number, screen: Screen): BatchOutcome {
  const outcomes: ChangeOutcome[] = new Array(changes.length);
  const restartedJobs: RestartOutcome[] = [];
  const batch = new BatchState(st, ledger.now, changes);
  let applied = 0;
  let ignored = 0;
  let rejected = 0;
  for (let i = 0; i < changes.length; i++) {
    const change = changes[i]!;
    if (change?.to === 'succeeded') {
      const key = `${change.id}/${change.attempt}`;
      const left = (batch.successesAhead.get(key) ?? 1) - 1;
      if (left > 0) batch.successesAhead.set(key, left);
      else batch.successesAhead.delete(key);
    }
    let target: Target | undefined;
    let plan: Plan | ChangeOutcome;
    try {
      checkShape(change, i);
      target = batch.targets.get(change.id) ?? loadTarget(st, change.id);
      if (screen.hidden.size > 0 && screen.hidden.has(target.jobId)) throw new SubtaskNotFoundError(change.id);
      if (change.to === 'dispatched' && screen.cancelling.size > 0 && screen.cancelling.has(target.jobId)) {
        plan = { id: change.id, attempt: change.attempt, status: 'stale', state: target.state };
      } else {
        plan = planChange(st, change, target, maxResultBytes, batch);
      }
    } catch (err) {
      if (!isRejection(err)) throw err;
      outcomes[i] = { id: change?.id, attempt: change?.attempt, status: 'rejected', state: target?.state ?? null, error: err };
      rejected++;
      continue;
    }
    if ('status' in plan) {
      outcomes[i] = plan;
      ignored++;
      continue;
    }
    outcomes[i] = writeChange(st, ledger, plan, restartedJobs, batch);
    applied++;
  }
  batch.flushAll();
  const finishedJobs = ledger.commit();
  return { outcomes, applied, ignored, rejected, finishedJobs, restartedJobs };
}

function checkShape(c: Change, i: number): void {
  if (typeof c !== 'object' || c === null) throw new InvalidArgumentError(`changes[${i}]`, 'must be an object', c);
  if (!Number.isSafeInteger(c.id) || c.id <= 0) throw new InvalidArgumentError(`changes[${i}].id`, 'must be a positive integer', c.id);
  if (!Number.isSafeInteger(c.attempt) || c.attempt < 0) throw new InvalidArgumentError(`changes[${i}].attempt`, 'must be a non-negative integer', c.attempt);
  if (!STATES.has(c.to)) throw new InvalidArgumentError(`changes[${i}].to`, `must be one of ${SUBTASK_STATES.join(', ')}`, c.to);
  if (c.to === 'dispatched') {
    if (typeof c.node !== 'string' || c.node === '') throw new InvalidArgumentError(`changes[${i}].node`, 'must name the node a dispatch goes to', c.node);
    if (c.attempt < 1) throw new InvalidArgumentError(`changes[${i}].attempt`, 'of a dispatch must be 1 or more', c.attempt);
  }
  if (c.worker !== undefined && typeof c.worker !== 'string') throw new InvalidArgumentError(`changes[${i}].worker`, 'must be a string', c.worker);
}

function loadTarget(st: Statements, id: number): Target {
  const row = st.changeTarget.get(id) as unknown[] | undefined;
  if (row === undefined) throw new SubtaskNotFoundError(id);
  const [state, attempt, jobId] = row;
  if (!STATES.has(state)) throw new StoreCorruptError('subtasks', id, 'state', `should be one of ${SUBTASK_STATES.join(', ')}, not ${describe(state)}`);
  if (!Number.isSafeInteger(attempt)) throw new StoreCorruptError('subtasks', id, 'attempt', `should be an integer, not ${describe(attempt)}`);
  if (!Number.isSafeInteger(jobId)) throw new StoreCorruptError('subtasks', id, 'job_id', `should be an integer, not ${describe(jobId)}`);
  return { state: state as SubtaskState, attempt: attempt as number, jobId: jobId as number };
}

function loadDetail(st: Statements, id: number): Detail {
  const row = st.changeDetail.get(id) as Row;
  const node = row.node;
  const worker = row.worker;
  if (node !== null && typeof node !== 'string') throw new StoreCorruptError('subtasks', id, 'node', `should be text or NULL, not ${describe(node)}`);
  if (worker !== null && typeof worker !== 'string') throw new StoreCorruptError('subtasks', id, 'worker', `should be text or NULL, not ${describe(worker)}`);
  return { index: int(row, 'subtasks', id, 'idx'), failures: int(row, 'subtasks', id, 'failures'), node, worker };
}

/** Names a subtask in error messages: `12 (job 3 input 11)`. */
function labelOf(st: Statements, id: number, jobId: number): string {
  return `${id} (job ${jobId} input ${loadDetail(st, id).index})`;
}

function planChange(st: Statements, change: Change, target: Target, maxResultBytes: number, batch: BatchState): Plan | ChangeOutcome {
  const label = () => {
    batch.flush(change.id);
    return labelOf(st, change.id, target.jobId);
  };
  let verdict = judgeChange(target, change.to, change.attempt, label);
  // A resent failure of an attempt that was already retried: the subtask is queued again, but the
  // failure is on record, so it is a duplicate rather than a late report.
  if (verdict === 'stale' && change.to === 'failed' && target.state === 'queued' && target.attempt === change.attempt) {
    if (st.errorExists.get(change.id, change.attempt) !== undefined) verdict = 'duplicate';
  }
  if (verdict !== 'apply') return { id: change.id, attempt: change.attempt, status: verdict, state: target.state };
  let json: string | null = null;
  if (change.to === 'succeeded') {
    json = encodeJson(change.result, maxResultBytes, () => `result of subtask ${label()} attempt ${change.attempt}`, 'options.maxResultBytes');
  } else if (change.to === 'failed') {
    json = JSON.stringify(attemptError(change.error));
  }
  return { change, target, json };
}

/** The error kept for a failed attempt: message, code and stack only, cut to size. */
function attemptError(error: unknown): { message: string; code?: string; stack?: string } {
  const e = (typeof error === 'object' && error !== null ? error : { message: error }) as Record<string, unknown>;
  const message = typeof e.message === 'string' ? e.message : e.message === undefined ? 'failed (no error given)' : String(e.message);
  const out: { message: string; code?: string; stack?: string } = { message: message.slice(0, MAX_ERROR_MESSAGE_CHARS) };
  if (typeof e.code === 'string') out.code = e.code.slice(0, 128);
  if (typeof e.stack === 'string') out.stack = e.stack.slice(0, MAX_ERROR_STACK_CHARS);
  return out;
}

function writeChange(st: Statements, ledger: Ledger, plan: Plan, restartedJobs: RestartOutcome[], batch: BatchState): ChangeOutcome {
  const { change: c, target: t } = plan;
  const now = ledger.now;
  let state: SubtaskState = c.to;
  let retried = false;
  // A held-back `running` of this subtask is written with its `succeeded`, or else before anything else.
  const ranHere = c.to === 'succeeded' && batch.held.has(c.id);
  if (!ranHere) batch.flush(c.id);
  batch.targets.set(c.id, { state: c.to, attempt: c.to === 'dispatched' ? c.attempt : t.attempt, jobId: t.jobId });
  switch (c.to) {
    case 'dispatched':
      st.toDispatched.run(c.attempt, c.node, now, c.id);
      break;
    case 'running':
      if (batch.successesAhead.has(`${c.id}/${c.attempt}`)) batch.held.set(c.id, c.worker ?? null);
      else st.toRunning.run(c.worker ?? null, now, c.id);
      break;
    case 'succeeded':
      if (ranHere) {
        st.toRanSucceeded.run(batch.held.get(c.id)!, plan.json, now, c.id);
        batch.held.delete(c.id);
      } else {
        st.toSucceeded.run(plan.json, now, c.id);
      }
      break;
    case 'queued':
      st.toQueued.run(ledger.takeHead(1), now, c.id);
      break;
    case 'cancelled':
      st.toCancelled.run(now, c.id);
      break;
    case 'failed': {
      const detail = loadDetail(st, c.id);
      const failures = detail.failures + 1;
      st.insertError.run(c.id, c.attempt, c.node ?? detail.node, c.worker ?? detail.worker, plan.json, now);
      const decision = decideOnFailure(jobPolicy(st, t.jobId), failures);
      if (decision === 'retry') {
        assertTransition(`${c.id} (job ${t.jobId} input ${detail.index})`, 'failed', 'queued');
        st.toRetry.run(ledger.takeHead(1), failures, now, c.id);
        state = 'queued';
        retried = true;
        batch.targets.set(c.id, { state, attempt: t.attempt, jobId: t.jobId });
        break;
      }
      st.toFailed.run(failures, now, c.id);
      if (decision === 'restart-job') {
        ledger.move(t.jobId, t.state, 'failed');
        // The restart reads and rewrites many rows: write what is held back, and forget what we knew.
        batch.flushAll();
        batch.targets.clear();
        restartedJobs.push(restartJob(st, ledger, t.jobId));
        return { id: c.id, attempt: c.attempt, status: 'applied', state: 'queued' };
      }
      break;
    }
  }
  ledger.move(t.jobId, t.state, state);
  return retried
    ? { id: c.id, attempt: c.attempt, status: 'applied', state, retried: true }
    : { id: c.id, attempt: c.attempt, status: 'applied', state };
}

function jobPolicy(st: Statements, jobId: number): { onFailure: FailurePolicy; retries: number; restarts: number } {
  const row = st.jobPolicy.get(jobId) as Row | undefined;
  if (row === undefined) throw new StoreCorruptError('jobs', jobId, 'id', 'is missing, yet subtasks name it');
  if (!POLICIES.has(row.on_failure)) {
    throw new StoreCorruptError('jobs', jobId, 'on_failure', `should be one of ${FAILURE_POLICIES.join(', ')}, not ${describe(row.on_failure)}`);
  }
  return { onFailure: row.on_failure as FailurePolicy, retries: int(row, 'jobs', jobId, 'retries'), restarts: int(row, 'jobs', jobId, 'restarts') };
}
