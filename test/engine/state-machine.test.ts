import { describe, expect, it } from 'vitest';
import { IllegalTransitionError, SUBTASK_STATES, TRANSITIONS, assertTransition, canTransition } from '../../src/engine/state-machine.js';

describe('the subtask state machine', () => {
  it('allows a subtask’s ordinary life, a retry, a requeue after a death, and a cancel', () => {
    const path = ['queued', 'dispatched', 'running', 'failed', 'queued', 'dispatched', 'queued', 'dispatched', 'running', 'succeeded'] as const;
    for (let i = 1; i < path.length; i++) expect(canTransition(path[i - 1]!, path[i]!)).toBe(true);
    for (const s of ['queued', 'dispatched', 'running', 'failed'] as const) expect(canTransition(s, 'cancelled')).toBe(true);
  });

  it('refuses everything else with an error that names the subtask and what was allowed', () => {
    expect(() => assertTransition('job-1/7', 'queued', 'succeeded')).toThrow(IllegalTransitionError);
    expect(() => assertTransition('job-1/7', 'queued', 'succeeded')).toThrow(
      'Subtask job-1/7 cannot go from queued to succeeded; from queued it may go to dispatched, cancelled, failed',
    );
    expect(() => assertTransition('x', 'cancelled', 'queued')).toThrow(/from cancelled it may go to nothing/);
  });

  it('names only known states in its table', () => {
    for (const [from, tos] of Object.entries(TRANSITIONS)) {
      expect(SUBTASK_STATES).toContain(from);
      for (const to of tos) expect(SUBTASK_STATES).toContain(to);
    }
  });
});
