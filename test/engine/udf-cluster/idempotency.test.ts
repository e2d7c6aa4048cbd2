import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fixture, UdfTestCluster } from './support.js';

/**
 * Execution is at-least-once, so a UDF names its side effects after `ctx.idempotencyKey`: on a cluster
 * of real processes, the key a subtask's first attempt saw (before its worker died) is the one its
 * retry sees, and no two subtasks of any job share one.
 */

let c: UdfTestCluster;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'databox-idempotency-'));
  c = await UdfTestCluster.start({ node: 'a', workers: 2 });
});
afterAll(async () => {
  await c?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ctx.idempotencyKey', () => {
  it('is the same in every attempt of a subtask and different between subtasks and jobs', async () => {
    const keys: string[] = [];
    for (const job of ['first', 'second']) {
      const out = join(dir, job);
      mkdirSync(out);
      const handle = await c.cluster.submitMap<{ key: string; attempt: number }>(fixture('key-once-udf.ts'), [{ dir: out }, { dir: out }, { dir: out }], { retries: 1 });
      const results = await handle.result();
      results.forEach((r, index) => {
        // Attempt 1 wrote its key and then its worker exited; attempt 2 answered.
        expect(r).toEqual({ key: `${handle.id}-${index}`, attempt: 2 });
        expect(readFileSync(join(out, `attempt-1-${index}`), 'utf8')).toBe(r.key);
        expect(readFileSync(join(out, `attempt-2-${index}`), 'utf8')).toBe(r.key);
        keys.push(r.key);
      });
    }
    expect(new Set(keys).size).toBe(6);
  });
});
