import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type Change, type JobRecord } from '../../../src/engine/store/index.js';
import { SqliteJobStore } from '../../../src/engine/store/sqlite/sqlite-store.js';

/**
 * Quick throughput figures for the SQLite store, printed, never asserted on time (timing goals live in
 * benchmarks). What is asserted is the shape: a million subtasks are created without a million objects.
 */
const MILLION = 1_000_000;
const LIFECYCLES = 200_000;
const WINDOW = 2_000;

let dir: string;
let store: SqliteJobStore;
let job: JobRecord;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'databox-throughput-'));
  store = SqliteJobStore.open({ path: join(dir, 'databox.db') });
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

describe('SQLite job store throughput (printed, not asserted)', () => {
  it('creates a million queued subtasks, in steps of about 8 ms, without a million objects in memory', async () => {
    const heap0 = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    job = await store.createJob({ task: 'builtin:noop', inputs: MILLION });
    const ms = performance.now() - t0;
    const heapGrowth = process.memoryUsage().heapUsed - heap0;
    const t1 = performance.now();
    const window = await store.pageQueued({ limit: 10_000 });
    const pageMs = performance.now() - t1;
    console.log(
      `[store] bulk insert: ${MILLION.toLocaleString('en')} subtasks in ${ms.toFixed(0)} ms = ` +
        `${Math.round(MILLION / (ms / 1000)).toLocaleString('en')} rows/s; JS heap +${mb(heapGrowth)} MiB; ` +
        `10,000-subtask window paged in ${pageMs.toFixed(1)} ms`,
    );
    expect(job.counts.queued).toBe(MILLION);
    expect(window).toHaveLength(10_000);
    // A million row objects would take well over 100 MiB of heap.
    expect(heapGrowth).toBeLessThan(32 * 2 ** 20);
  });

  it('persists subtask lifecycles in batches: dispatch a window, then running and succeeded', async () => {
    let done = 0;
    let batches = 0;
    const t0 = performance.now();
    while (done < LIFECYCLES) {
      const window = await store.pageQueued({ limit: WINDOW });
      const dispatches: Change[] = window.map((q) => ({ id: q.id, attempt: q.attempt + 1, to: 'dispatched', node: 'node-a' }));
      const first = await store.applyBatch(dispatches);
      const reports: Change[] = [];
      for (const q of window) {
        reports.push({ id: q.id, attempt: 1, to: 'running', worker: 'w1' }, { id: q.id, attempt: 1, to: 'succeeded', result: q.index });
      }
      const second = await store.applyBatch(reports);
      expect(first.applied + second.applied).toBe(3 * window.length);
      done += window.length;
      batches += 2;
    }
    const s = (performance.now() - t0) / 1000;
    console.log(
      `[store] applyBatch: ${done.toLocaleString('en')} lifecycles (queued→dispatched→running→succeeded, ${3 * done} transitions) ` +
        `in ${s.toFixed(2)} s = ${Math.round(done / s).toLocaleString('en')} lifecycles/s, ${Math.round((3 * done) / s).toLocaleString('en')} transitions/s ` +
        `(${batches} transactions of ${WINDOW}/${2 * WINDOW} changes, on a table of ${MILLION.toLocaleString('en')})`,
    );
    const after = await store.getJob(job.id);
    expect(after.counts.succeeded).toBe(LIFECYCLES);
    expect(after.counts.queued).toBe(MILLION - LIFECYCLES);
  });
});
