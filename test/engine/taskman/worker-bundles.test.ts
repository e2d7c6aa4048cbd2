import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { workerEnv } from '../../../src/engine/taskman/worker-supervisor.js';
import type { WorkSubtask } from '../../../src/engine/api/worker-protocol.js';
// The built supervisor and its deque: its workers' UDF threads load compiled code (a worker thread run
// from source has no TypeScript loader). Run `npm run build` first, as for the other UDF tests.
import { Deque } from '../../../dist/engine/deque.js';
import { WorkerSupervisor, type Outcome } from '../../../dist/engine/taskman/worker-supervisor.js';

/**
 * Workers hold no credential: a UDF bundle reaches a worker through its supervisor, which fetches it
 * with the Taskman's (here, a function of the test's); the worker checks its hash before using it.
 */

let sup: WorkerSupervisor | undefined;
let cache: string | undefined;
afterEach(async () => {
  await sup?.stop();
  sup = undefined;
  if (cache !== undefined) rmSync(cache, { recursive: true, force: true });
});

describe('UDF bundles on a worker', () => {
  it('come from the supervisor’s fetchBundle, and bytes that do not hash to their name are refused', async () => {
    cache = mkdtempSync(join(tmpdir(), 'databox-bundles-'));
    const genuine = new TextEncoder().encode('// databox-mr udf bundle\nexport default 1;\n');
    const sha256 = createHash('sha256').update(genuine).digest('hex');
    const asked: string[] = [];
    const deque = new Deque<WorkSubtask>();
    sup = new WorkerSupervisor(deque, {
      workers: 1,
      env: { DATABOX_CACHE_DIR: cache },
      fetchBundle: (name) => {
        asked.push(name);
        return Promise.resolve(new TextEncoder().encode('// databox-mr udf bundle\nexport default "something else";\n'));
      },
    });
    const result = once(sup, 'result') as Promise<[WorkSubtask, Outcome]>;
    deque.pushTail({ id: 'job-1/0', jobId: 'job-1', index: 0, attempt: 1, task: `udf:${sha256}` });
    sup.wake();
    const [, outcome] = await result;
    expect(asked).toEqual([sha256]);
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error.code).toBe('ERR_UDF_HASH');
    expect(!outcome.ok && outcome.error.message).toMatch(/refusing to run it/);
  });
});

describe('a worker’s environment', () => {
  it('keeps what workers need and drops every credential of the Taskman', () => {
    const env = workerEnv(
      {
        PATH: '/usr/bin',
        HOME: '/home/u',
        DATABOX_TOKEN: 't',
        DATABOX_JOBMAN: 'http://127.0.0.1:7070',
        DATABOX_NODE_TOKEN: 'n',
        DATABOX_JOIN_SECRET: 's',
        GITHUB_TOKEN: 'g',
        PGPASSWORD: 'p',
        SOME_API_KEY: 'k',
        DATABOX_S3_ENDPOINT: 'http://127.0.0.1:9000',
        AWS_ACCESS_KEY_ID: 'a',
        AWS_SECRET_ACCESS_KEY: 'b',
      },
      { DATABOX_NODE: 'n1', DATABOX_TOKEN: 'passed by mistake' },
    );
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/u',
      DATABOX_NODE: 'n1',
      DATABOX_S3_ENDPOINT: 'http://127.0.0.1:9000',
      AWS_ACCESS_KEY_ID: 'a',
      AWS_SECRET_ACCESS_KEY: 'b',
    });
  });
});
