import { SUBTASK_STATES, type SubtaskState } from '../state-machine.js';
import type { JobState, SubtaskCounts } from './types.js';

/** A job's overall state from its counts (see `JobState`). */
export function jobStateOf(counts: SubtaskCounts, cancelledAt: number | null): JobState {
  if (cancelledAt !== null) return 'cancelled';
  const unfinished = counts.queued + counts.dispatched + counts.running;
  if (unfinished > 0) return unfinished === counts.queued && counts.succeeded + counts.failed + counts.cancelled === 0 ? 'queued' : 'running';
  if (counts.failed > 0) return 'failed';
  if (counts.cancelled > 0) return 'cancelled';
  return 'succeeded';
}

/** Counts with every state at zero. */
export function zeroCounts(): SubtaskCounts {
  return Object.fromEntries(SUBTASK_STATES.map((s) => [s, 0])) as Record<SubtaskState, number>;
}
