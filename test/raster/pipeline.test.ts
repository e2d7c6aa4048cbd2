import { describe, expect, it } from 'vitest';
import { pipeline } from '../../src/raster/index.js';

/** A promise and the hands that settle it, so tests decide the order of events. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('pipeline', () => {
  it('works steps in order while reading ahead no further than asked', async () => {
    const reads = [0, 1, 2, 3].map(() => deferred<number>());
    const started: number[] = [];
    const worked: number[] = [];
    const done = pipeline(
      [0, 1, 2, 3],
      (s) => {
        started.push(s);
        return reads[s]!.promise;
      },
      async (v) => {
        worked.push(v);
      },
      { readAhead: 2 },
    );
    expect(started).toEqual([0, 1]);
    reads[1]!.resolve(10);
    reads[0]!.resolve(0);
    await reads[0]!.promise;
    await new Promise(setImmediate);
    expect(started).toEqual([0, 1, 2, 3]);
    reads[3]!.resolve(30);
    reads[2]!.resolve(20);
    await done;
    expect(worked).toEqual([0, 10, 20, 30]);
  });

  it('stops at the first failure and throws it once everything started has settled', async () => {
    const slow = deferred<void>();
    let settled = false;
    const run = pipeline(
      [0, 1, 2],
      async (s) => s,
      (s) => {
        if (s === 0) return slow.promise.then(() => void (settled = true));
        throw new Error(`step ${s} failed`);
      },
      { maxPending: 1 },
    );
    setImmediate(() => slow.resolve());
    await expect(run).rejects.toThrow('step 1 failed');
    expect(settled).toBe(true);
  });
});
