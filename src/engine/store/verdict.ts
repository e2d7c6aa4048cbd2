import { canTransition, IllegalTransitionError, type SubtaskState } from '../state-machine.js';
import { UnknownAttemptError } from './errors.js';

/** What to do with a change: persist it, or ignore it as a resent report or a late one. */
export type Verdict = 'apply' | 'duplicate' | 'stale';

/**
 * Judges one change against the subtask's stored state and attempt: a pure function, so the rules live
 * in one place and every store applies them alike. Throws (so the change is rejected) for an illegal
 * transition (IllegalTransitionError) and for an attempt that was never started (UnknownAttemptError).
 *
 * - A change for an older attempt is stale.
 * - `dispatched` starts attempt `stored + 1` from queued; resending the current dispatch is a duplicate.
 * - For the current attempt: reaching a state it is already in, or reporting on an attempt that already
 *   finished, is a duplicate (committed results are never overwritten); a report on an attempt that was
 *   withdrawn (the subtask is queued again, or cancelled) is stale; `queued` never takes back a finished
 *   attempt (restartJob does that); anything else must be in the state table.
 *
 * @param label names the subtask in error messages; called only when one is thrown.
 */
export function judgeChange(stored: { state: SubtaskState; attempt: number }, to: SubtaskState, attempt: number, label: () => string): Verdict {
  const { state } = stored;
  if (to === 'dispatched') {
    if (attempt > stored.attempt + 1) {
      throw new UnknownAttemptError(`Subtask ${label()} cannot start attempt ${attempt}: its next attempt is ${stored.attempt + 1}`);
    }
    if (attempt < stored.attempt) return 'stale';
    if (attempt === stored.attempt) return state === 'queued' || state === 'cancelled' ? 'stale' : 'duplicate';
    if (state === 'cancelled') return 'stale';
    check(state, to, label);
    return 'apply';
  }
  if (attempt > stored.attempt) {
    throw new UnknownAttemptError(`Subtask ${label()} has no attempt ${attempt} to report on: its last started attempt is ${stored.attempt}`);
  }
  if (attempt < stored.attempt) return 'stale';
  if (state === to) return 'duplicate';
  if (state === 'cancelled') return 'stale';
  if (to === 'cancelled') {
    check(state, to, label);
    return 'apply';
  }
  if (stored.attempt === 0) {
    throw new UnknownAttemptError(`Subtask ${label()} was never dispatched, so it cannot go to ${to}`);
  }
  if (state === 'queued') return 'stale';
  if (state === 'succeeded' || state === 'failed') return to === 'queued' ? 'stale' : 'duplicate';
  check(state, to, label);
  return 'apply';
}

/** `assertTransition`, with the subtask's label built only when the transition is illegal (the hot path). */
function check(from: SubtaskState, to: SubtaskState, label: () => string): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(label(), from, to);
}
