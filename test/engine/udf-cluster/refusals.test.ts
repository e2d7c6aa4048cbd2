import { createHash } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Cluster, connect } from '../../../src/engine/index.js';
import { JobmanClient } from '../../../src/engine/client/index.js';
import { bundleUdf } from '../../../src/engine/udf/bundle.js';
import { TestCluster } from '../support/processes.js';
import { fixture, ownTmpdir, rejectionOf, UdfTestCluster } from './support.js';

/**
 * What the client and the Jobman refuse, with messages that say why: a module that is not a UDF, a job
 * naming a bundle never uploaded, an upload whose bytes do not match its name, and a cluster with no
 * workers. A Jobman and a Taskman with two workers, real processes, shared by the tests of this file.
 */

let c: UdfTestCluster;
let tmp: ReturnType<typeof ownTmpdir>;

beforeAll(async () => {
  tmp = ownTmpdir('udf-refusals');
  c = await UdfTestCluster.start({ node: 'a', workers: 2 });
});
afterAll(async () => {
  await c?.close();
  tmp?.remove();
});

const sha256 = (bytes: string | Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('refusals', () => {
  it('refuses a module whose default export is not a defineUdf before it uploads or submits anything', async () => {
    const jobsBefore = await c.client.listJobs({ limit: 1000 });
    const err = await rejectionOf(c.cluster.map(fixture('not-a-udf.ts'), [1, 2]));
    expect(err.code).toBe('ERR_UDF_NOT_A_UDF');
    expect(err.message).toContain('a plain object with keys map (made without defineUdf)');
    expect(err.message).toContain('export default defineUdf(');
    expect(await c.client.listJobs({ limit: 1000 })).toEqual(jobsBefore);
    expect(await c.client.hasUdf((await bundleUdf(fixture('not-a-udf.ts'))).sha256)).toBe(false);
  });

  it('answers 404 ERR_UDF_UNKNOWN to a job naming a bundle that was never uploaded', async () => {
    const never = sha256('a bundle nobody uploaded');
    const res = await c.processes.api<{ code: string; message: string }>('/v1/jobs', { method: 'POST', body: { task: `udf:${never}`, inputs: [1], args: { phase: 'map' } } });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('ERR_UDF_UNKNOWN');
    expect(res.body.message).toContain(never);
    expect(res.body.message).toContain(`PUT /v1/udfs/${never}`);
  });

  it('answers 400 ERR_UDF_HASH to an upload whose bytes do not hash to its name, and stores nothing', async () => {
    const name = sha256('the bytes the name promises');
    const sent = 'other bytes';
    const put = await fetch(`${c.url}/v1/udfs/${name}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${c.token}`, 'content-type': 'application/octet-stream' },
      body: sent,
      signal: AbortSignal.timeout(20_000),
    });
    const body = (await put.json()) as { code: string; message: string };
    expect(put.status).toBe(400);
    expect(body.code).toBe('ERR_UDF_HASH');
    expect(body.message).toContain(sha256(sent));
    expect(body.message).toContain(name);
    expect(await c.client.hasUdf(name)).toBe(false);
  });

  describe('a Jobman with no Taskman', () => {
    let lonely: TestCluster;
    beforeAll(async () => {
      lonely = await TestCluster.create();
      await lonely.startJobman();
    });
    afterAll(async () => {
      await lonely?.close();
    });

    it('makes checkWorkers fail with ERR_NO_WORKERS naming the Jobman’s URL', async () => {
      const cluster = Cluster.of(await JobmanClient.open({ url: lonely.url, token: lonely.token }));
      const err = await rejectionOf(cluster.checkWorkers());
      expect(err.code).toBe('ERR_NO_WORKERS');
      expect(err.message).toContain(`The cluster at ${lonely.url} has no live workers (no node has joined)`);
      expect(err.message).toContain(`databox taskman --jobman ${lonely.url}`);
    });

    it('makes connect(url) and map fail with ERR_NO_WORKERS before any job is submitted', async () => {
      const refused = await rejectionOf(connect(lonely.url, { token: lonely.token }));
      expect(refused.code).toBe('ERR_NO_WORKERS');
      expect(refused.message).toContain(lonely.url);

      const client = await JobmanClient.open({ url: lonely.url, token: lonely.token });
      const err = await rejectionOf(Cluster.of(client).map(fixture('map-only-udf.ts'), [1]));
      expect(err.code).toBe('ERR_NO_WORKERS');
      expect(await client.listJobs()).toEqual([]);
    });
  });
});
