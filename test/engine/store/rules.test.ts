import { describe, expect, it } from 'vitest';

import { canTransition, IllegalTransitionError, SUBTASK_STATES, type SubtaskState } from '../../../src/engine/state-machine.js';
import { decideOnFailure, jobStateOf, judgeChange, UnknownAttemptError } from '../../../src/engine/store/index.js';

const label = () => '7 (job 1 input 6)';
const judge = (state: SubtaskState, stored: number, to: SubtaskState, attempt: number) => judgeChange({ state, attempt: stored }, to, attempt, label);

describe('judging a change against the stored subtask', () => {
  it('applies the forward steps of the current attempt', () => {
    expect(judge('queued', 0, 'dispatched', 1)).toBe('apply');
    expect(judge('queued', 2, 'dispatched', 3)).toBe('apply');
    expect(judge('dispatched', 1, 'running', 1)).toBe('apply');
    expect(judge('running', 1, 'succeeded', 1)).toBe('apply');
    expect(judge('running', 1, 'failed', 1)).toBe('apply');
    expect(judge('running', 1, 'queued', 1)).toBe('apply');
    expect(judge('dispatched', 1, 'queued', 1)).toBe('apply');
    expect(judge('queued', 0, 'cancelled', 0)).toBe('apply');
    expect(judge('failed', 4, 'cancelled', 4)).toBe('apply');
  });

  it('calls a resent report of the current attempt a duplicate', () => {
    expect(judge('dispatched', 1, 'dispatched', 1)).toBe('duplicate');
    expect(judge('running', 1, 'dispatched', 1)).toBe('duplicate');
    expect(judge('running', 1, 'running', 1)).toBe('duplicate');
    expect(judge('succeeded', 1, 'running', 1)).toBe('duplicate');
    expect(judge('succeeded', 1, 'succeeded', 1)).toBe('duplicate');
    expect(judge('succeeded', 1, 'failed', 1)).toBe('duplicate');
    expect(judge('failed', 1, 'succeeded', 1)).toBe('duplicate');
    expect(judge('cancelled', 1, 'cancelled', 1)).toBe('duplicate');
  });

  it('calls a report of an older or withdrawn attempt stale', () => {
    expect(judge('running', 3, 'succeeded', 2)).toBe('stale');
    expect(judge('queued', 3, 'dispatched', 2)).toBe('stale');
    expect(judge('queued', 2, 'dispatched', 2)).toBe('stale');
    expect(judge('queued', 2, 'succeeded', 2)).toBe('stale');
    expect(judge('cancelled', 2, 'succeeded', 2)).toBe('stale');
    expect(judge('cancelled', 0, 'dispatched', 1)).toBe('stale');
    // `queued` never takes back an attempt that already finished: restartJob does that.
    expect(judge('succeeded', 2, 'queued', 2)).toBe('stale');
  });

  it('rejects an illegal transition of the current attempt with the state table’s own error', () => {
    expect(() => judge('dispatched', 1, 'succeeded', 1)).toThrow(IllegalTransitionError);
    expect(() => judge('dispatched', 1, 'succeeded', 1)).toThrow(
      'Subtask 7 (job 1 input 6) cannot go from dispatched to succeeded; from dispatched it may go to running, queued, cancelled',
    );
    expect(() => judge('running', 1, 'dispatched', 2)).toThrow(IllegalTransitionError);
    expect(() => judge('succeeded', 1, 'cancelled', 1)).toThrow(IllegalTransitionError);
  });

  it('rejects an attempt that was never started', () => {
    expect(() => judge('queued', 0, 'dispatched', 2)).toThrow(new UnknownAttemptError('Subtask 7 (job 1 input 6) cannot start attempt 2: its next attempt is 1'));
    expect(() => judge('running', 1, 'succeeded', 2)).toThrow(UnknownAttemptError);
    expect(() => judge('queued', 0, 'running', 0)).toThrow('Subtask 7 (job 1 input 6) was never dispatched, so it cannot go to running');
  });

  it('never applies a change the state table forbids, whatever the attempts', () => {
    let applied = 0;
    for (const state of SUBTASK_STATES) {
      for (const to of SUBTASK_STATES) {
        for (const [stored, attempt] of [[0, 0], [0, 1], [1, 1], [1, 2], [2, 1], [2, 2]] as const) {
          let verdict: string;
          try {
            verdict = judge(state, stored, to, attempt);
          } catch (err) {
            expect(err).toSatisfy((e) => e instanceof IllegalTransitionError || e instanceof UnknownAttemptError);
            continue;
          }
          if (verdict === 'apply') {
            expect(canTransition(state, to), `${state} → ${to} (stored ${stored}, change ${attempt})`).toBe(true);
            applied++;
          }
        }
      }
    }
    expect(applied).toBeGreaterThan(10);
  });
});

describe('the failure policy', () => {
  it('retries a subtask while its failures are at most `retries`', () => {
    const job = { onFailure: 'retry-subtask' as const, retries: 3, restarts: 0 };
    expect([1, 2, 3, 4].map((f) => decideOnFailure(job, f))).toEqual(['retry', 'retry', 'retry', 'final']);
    expect(decideOnFailure({ ...job, retries: 0 }, 1)).toBe('final');
  });

  it('restarts the job while it was restarted fewer than `retries` times', () => {
    const job = { onFailure: 'restart-job' as const, retries: 2, restarts: 0 };
    expect([0, 1, 2].map((restarts) => decideOnFailure({ ...job, restarts }, 1))).toEqual(['restart-job', 'restart-job', 'final']);
  });
});

describe('a job’s state from its counts', () => {
  const counts = (c: Partial<Record<SubtaskState, number>>) => ({ queued: 0, dispatched: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0, ...c });
  it('reads queued, running, then the outcome', () => {
    expect(jobStateOf(counts({ queued: 3 }), null)).toBe('queued');
    expect(jobStateOf(counts({ queued: 2, dispatched: 1 }), null)).toBe('running');
    expect(jobStateOf(counts({ queued: 2, succeeded: 1 }), null)).toBe('running');
    expect(jobStateOf(counts({ succeeded: 3 }), null)).toBe('succeeded');
    expect(jobStateOf(counts({ succeeded: 2, failed: 1, cancelled: 1 }), null)).toBe('failed');
    expect(jobStateOf(counts({ succeeded: 2, cancelled: 1 }), null)).toBe('cancelled');
    expect(jobStateOf(counts({ succeeded: 3 }), 12345)).toBe('cancelled');
  });
});
