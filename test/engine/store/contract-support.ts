import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';

import type { Change, ChangeOutcome, JobStore, SubtaskId } from '../../../src/engine/store/index.js';

/**
 * Opens a store kept in `dir` (a fresh temp directory per test). Called twice with the same `dir`, it
 * must open the same data: that is how the suite tests a Jobman restart.
 */
export type MakeStore = (dir: string) => JobStore | Promise<JobStore>;

/** Per test: a temp directory, and every store opened on it closed and the directory removed after. */
export function useStores(makeStore: MakeStore): { readonly dir: string; open(): Promise<JobStore> } {
  let dir = '';
  const opened: JobStore[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'databox-store-'));
  });
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return dir;
    },
    async open() {
      const store = await makeStore(dir);
      opened.push(store);
      return store;
    },
  };
}

export function dispatch(id: SubtaskId, attempt: number, node = 'node-a'): Change {
  return { id, attempt, to: 'dispatched', node };
}

/** The changes of one attempt from dispatch to success. */
export function lifecycle(id: SubtaskId, attempt: number, result: unknown = id, node = 'node-a'): Change[] {
  return [dispatch(id, attempt, node), { id, attempt, to: 'running', worker: 'w1' }, { id, attempt, to: 'succeeded', result: result as never }];
}

/** Applies a batch and checks that every change in it was applied. */
export async function applyAll(store: JobStore, changes: Change[]): Promise<ChangeOutcome[]> {
  const out = await store.applyBatch(changes);
  expect(out.outcomes.filter((o) => o.status !== 'applied')).toEqual([]);
  return out.outcomes;
}

/** Ids first..first+n-1. */
export function ids(first: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => first + i);
}
