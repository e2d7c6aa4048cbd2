import { Writable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { StoppedWaitingError } from '../../src/cli/context.js';
import { followJob, formatBytes, progressBar } from '../../src/cli/view.js';
import type { JobView } from '../../src/engine/index.js';

/** A stream that keeps what is written to it, a terminal or not. */
function stream(isTTY: boolean): Writable & { isTTY: boolean; columns: number; text: () => string } {
  let text = '';
  const s = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  return Object.assign(s, { isTTY, columns: 160, text: () => text });
}

const job = (done: number, failed = 0): JobView => ({
  id: 4,
  task: 'builtin:noop',
  args: null,
  priority: false,
  node: null,
  preferNodes: [],
  retries: 0,
  timeoutMs: null,
  memoryMb: null,
  onFailure: 'retry-subtask',
  total: 10,
  state: done === 10 ? 'succeeded' : 'running',
  counts: { queued: 10 - done, dispatched: 0, running: 0, succeeded: done - failed, failed, cancelled: 0 },
  restarts: 0,
  createdAt: 0,
  finishedAt: null,
  cancelledAt: null,
});

describe('the one progress bar', () => {
  it('draws the label, the percentage, the detail and the time so far on a terminal', () => {
    const tty = stream(true);
    const bar = progressBar(tty, 'ndvi');
    bar.update(5, 20, 'subtasks 5/20');
    bar.stop();
    expect(tty.text()).toMatch(/ndvi \[.*\] 25% \| subtasks 5\/20 \| \d+s/);
  });

  it('draws nothing on a pipe or a file', () => {
    const pipe = stream(false);
    const bar = progressBar(pipe, 'translate');
    bar.update(1, 2);
    bar.stop();
    expect(pipe.text()).toBe('');
  });
});

describe('following a job', () => {
  it('draws the job from its progress events and keeps the last one', async () => {
    const tty = stream(true);
    const follow = followJob(tty, new AbortController().signal);
    const final = await follow.wait(4, async () => {
      follow.onProgress(job(2));
      follow.onProgress(job(10, 1));
      return 'done';
    });
    expect(final).toBe('done');
    expect(follow.last).toMatchObject({ state: 'succeeded', counts: { failed: 1 } });
    expect(tty.text()).toMatch(/job 4 \[.*\] \d+% \| \d+\/10 done \| \d failed \| \d+\.\d\/s \| ETA /);
  });

  it('turns Ctrl-C during the wait into "stopped waiting", naming the job that goes on', async () => {
    const controller = new AbortController();
    const follow = followJob(stream(false), controller.signal);
    const waiting = follow.wait(9, () => {
      controller.abort();
      return Promise.reject(new Error('aborted'));
    });
    await expect(waiting).rejects.toThrow(StoppedWaitingError);
    await expect(waiting).rejects.toThrow('stopped waiting for job 9, which goes on running; cancel it with `databox cancel 9`');
  });
});

describe('sizes', () => {
  it('are in decimal units, one decimal from a kilobyte up', () => {
    expect([0, 999, 1000, 1_234_567, 8.6e9, 3e15].map(formatBytes)).toEqual(['0 B', '999 B', '1.0 KB', '1.2 MB', '8.6 GB', '3000.0 TB']);
  });
});
