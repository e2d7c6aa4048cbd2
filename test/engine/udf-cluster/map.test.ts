import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { bundleUdf } from '../../../src/engine/udf/bundle.js';
import { checkBundle, findPackage } from '../../../src/engine/udf/loader.js';
import type { Echo } from './fixtures/echo-udf.js';
import type { Stats } from './fixtures/stats-udf.js';
import { fixture, localContext, ownTmpdir, rejectionOf, REPO_ROOT, UdfTestCluster } from './support.js';

/**
 * RS-UDFs through `map` and `mapReduce` on a cluster of real processes: a Jobman, a Taskman and two
 * workers, each started from the built CLI, shared by the tests of this file.
 */

let c: UdfTestCluster;
let tmp: ReturnType<typeof ownTmpdir>;

beforeAll(async () => {
  tmp = ownTmpdir('udf-map');
  c = await UdfTestCluster.start({ node: 'a', workers: 2 });
});
afterAll(async () => {
  await c?.close();
  tmp?.remove();
});

describe('map on a cluster', () => {
  it('returns the results in input order, with typed arrays, NaN, ±Infinity and -0 as they were sent', async () => {
    const inputs = Array.from({ length: 24 }, (_, i) => ({
      i,
      pixels: new Float32Array([i, NaN, -Infinity, 0.5]),
      wide: new Float64Array([Infinity, -0, i / 3]),
      mask: new Uint8Array([i % 256, 255]),
      big: new BigInt64Array([BigInt(i) * 10_000_000_000n]),
      nan: NaN,
      negZero: -0,
      $dollar: 'a key that looks like a tag',
    }));
    const results = await c.cluster.map<Echo>(fixture('echo-udf.ts'), inputs);
    expect(results).toHaveLength(inputs.length);
    expect(results.map((r) => r.input)).toEqual(inputs);
    expect(results.map((r) => r.index)).toEqual(inputs.map((_, i) => i));
    expect((results[3]!.input as { pixels: unknown }).pixels).toBeInstanceOf(Float32Array);
    expect(Object.is((results[5]!.input as { negZero: number }).negZero, -0)).toBe(true);
  });

  it('gives map a context with the job, its own subtask, its index, attempt 1, the node, and a scratch directory removed afterwards', async () => {
    const handle = await c.cluster.submitMap<Echo>(fixture('echo-udf.ts'), ['a', 'b', 'c', 'd', 'e', 'f']);
    const results = await handle.result();
    expect(results.map((r) => r.input)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    for (const [i, r] of results.entries()) {
      expect(r).toMatchObject({ jobId: String(handle.id), index: i, attempt: 1, node: 'a', scratchWasEmpty: true, scratchWritable: true });
      expect(r.subtaskId).toMatch(/^[1-9][0-9]*$/);
    }
    expect(new Set(results.map((r) => r.subtaskId)).size).toBe(results.length);
    expect(new Set(results.map((r) => r.scratchDir)).size).toBe(results.length);
    // The worker removes a subtask's scratch directory as the subtask ends, on this machine's disk.
    // Removed before the subtask was reported done.
    for (const r of results) expect(existsSync(r.scratchDir)).toBe(false);
  });

  it('runs a UDF that imports an npm package the workers never installed, because the bundle carries it', async () => {
    const project = join(tmp.dir, 'user-project');
    const files: Record<string, string> = {
      'package.json': JSON.stringify({ name: 'user-project', version: '1.0.0', type: 'module', private: true }),
      'node_modules/left-pad-ish/package.json': JSON.stringify({ name: 'left-pad-ish', version: '1.0.0', main: 'index.js' }),
      // CommonJS on purpose: the bundle must also carry require()-style packages.
      'node_modules/left-pad-ish/index.js': "module.exports = function leftPadIsh(s, n, c) { s = String(s); while (s.length < n) s = (c || ' ') + s; return s; };\n",
      'udf.ts': [
        "import { defineUdf } from 'databox-mr';",
        "import leftPadIsh from 'left-pad-ish';",
        'export default defineUdf({',
        "  map: (x: number) => leftPadIsh(x, 5, '0'),",
        '});',
        '',
      ].join('\n'),
    };
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(project, path)), { recursive: true });
      writeFileSync(join(project, path), text);
    }
    // As a user's project would have it: databox-mr installed beside the package.
    symlinkSync(REPO_ROOT, join(project, 'node_modules', 'databox-mr'), 'junction');
    // The workers run from this checkout, where Node cannot find the package.
    expect(findPackage('left-pad-ish', REPO_ROOT)).toBeUndefined();

    const results = await c.cluster.map<string>(join(project, 'udf.ts'), [7, 42, 12345]);
    expect(results).toEqual(['00007', '00042', '12345']);
  });
});

describe('mapReduce on a cluster', () => {
  it('equals a single-machine fold of the same UDF over the same 300 inputs', async () => {
    const inputs = Array.from({ length: 300 }, (_, i) => (i * 7919) % 1000);
    const reduced = await c.cluster.mapReduce<Stats>(fixture('stats-udf.ts'), inputs);

    // The same bundle the cluster ran, loaded here, folded left to right on one machine.
    const udf = await checkBundle((await bundleUdf(fixture('stats-udf.ts'))).code);
    let local = (await udf.map(inputs[0], localContext(0))) as Stats;
    for (let i = 1; i < inputs.length; i++) local = (await udf.reduce!(local, await udf.map(inputs[i], localContext(i)), localContext())) as Stats;

    expect(reduced).toEqual(local);
    expect(reduced.histogram).toBeInstanceOf(Uint32Array);
    expect(reduced).toMatchObject({ count: 300, sum: inputs.reduce((a, b) => a + b, 0), min: Math.min(...inputs), max: Math.max(...inputs) });
    expect([...reduced.histogram].reduce((a, b) => a + b, 0)).toBe(300);
  });

  it('refuses to reduce with a UDF that has no reduce, before submitting anything', async () => {
    const before = (await c.cluster.client.listJobs()).length;
    for (const inputs of [[1, 2, 3, 4], [1]]) {
      const err = await rejectionOf(c.cluster.mapReduce(fixture('map-only-udf.ts'), inputs, { retries: 0 }));
      expect(err).toMatchObject({ code: 'ERR_UDF_NO_REDUCE', message: expect.stringMatching(/map-only-udf\.ts has no reduce function/) });
    }
    expect((await c.cluster.client.listJobs()).length).toBe(before);
  });
});
