import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, lstatSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { bundleUdf, type UdfBundle } from '../../../src/engine/udf/bundle.js';
import { isUdf } from '../../../src/engine/udf/define.js';
import { checkBundle, loadUdf, packageRoot, UdfHashError, UdfLoadError, UdfMissingPackageError, UdfNotAUdfError } from '../../../src/engine/udf/loader.js';
import { FIXTURES, refusal, serving, tempDir, testContext, writeTree } from './support.js';

const CHILD = fileURLToPath(new URL('./load-child.ts', import.meta.url));
const run = promisify(execFile);

let tmp: ReturnType<typeof tempDir>;
let proj4: UdfBundle;
let cacheCount = 0;
/** A cache directory no other test uses (the loader memoises per cache directory and bundle). */
const freshCache = (): string => join(tmp.dir, `cache-${++cacheCount}`);

beforeAll(async () => {
  tmp = tempDir('udf-loader');
  proj4 = await bundleUdf(join(FIXTURES, 'proj4-udf.ts'));
});
afterAll(() => tmp.remove());


/** Bundles a module written into the temp dir. */
async function bundleSource(name: string, files: Record<string, string>, entry = 'udf.mjs'): Promise<UdfBundle & { dir: string }> {
  const dir = writeTree(join(tmp.dir, name), { 'package.json': `{"name":"${name}","type":"module"}`, ...files });
  return { ...(await bundleUdf(join(dir, entry))), dir };
}

describe('loading a UDF on a worker', () => {
  it('fetches a bundle into a fresh cache, imports it and runs its map', async () => {
    const cacheDir = freshCache();
    const fetch = serving(proj4.code);
    const udf = await loadUdf(proj4.sha256, { cacheDir, fetchBundle: fetch, node: 'n1' });
    expect(isUdf(udf)).toBe(true);
    const result = (await udf.map({ lon: 180, lat: 0 }, testContext('n1'))) as { x: number; y: number; node: string };
    expect(result.x).toBeCloseTo(20037508.34, 1);
    expect(result.y).toBeCloseTo(0, 6);
    expect(result.node).toBe('n1');
    expect(fetch.calls).toBe(1);
    expect(readFileSync(join(cacheDir, 'udfs', `${proj4.sha256}.mjs`)).equals(Buffer.from(proj4.code))).toBe(true);
    expect(readdirSync(join(cacheDir, 'udfs'))).toEqual([`${proj4.sha256}.mjs`]);
  });

  it('links databox-mr in the cache to this installation', async () => {
    const cacheDir = freshCache();
    await loadUdf(proj4.sha256, { cacheDir, fetchBundle: serving(proj4.code), node: 'n1' });
    const link = join(cacheDir, 'node_modules', 'databox-mr');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(realpathSync(link)).toBe(realpathSync(packageRoot()));
    expect(JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8'))).toMatchObject({ name: 'databox-mr' });
  });

  it('imports a bundle once per process, and fetches nothing for a cached one', async () => {
    const cacheDir = freshCache();
    const fetch = serving(proj4.code);
    const [a, b] = await Promise.all([
      loadUdf(proj4.sha256, { cacheDir, fetchBundle: fetch, node: 'n1' }),
      loadUdf(proj4.sha256, { cacheDir, fetchBundle: fetch, node: 'n1' }),
    ]);
    expect(a).toBe(b);
    expect(fetch.calls).toBe(1);

    const warm = freshCache();
    await mkdir(join(warm, 'udfs'), { recursive: true });
    writeFileSync(join(warm, 'udfs', `${proj4.sha256}.mjs`), proj4.code);
    const never = () => Promise.reject(new Error('the cache should have served it'));
    await expect(loadUdf(proj4.sha256, { cacheDir: warm, fetchBundle: never, node: 'n1' })).resolves.toSatisfy(isUdf);
  });

  it('fetches a corrupted cached bundle again, once', async () => {
    const cacheDir = freshCache();
    await mkdir(join(cacheDir, 'udfs'), { recursive: true });
    writeFileSync(join(cacheDir, 'udfs', `${proj4.sha256}.mjs`), 'export default "half a bund');
    const fetch = serving(proj4.code);
    const udf = await loadUdf(proj4.sha256, { cacheDir, fetchBundle: fetch, node: 'n1' });
    expect(fetch.calls).toBe(1);
    expect(isUdf(udf)).toBe(true);
  });

  it('refuses a fetched bundle that does not hash to its name, naming both hashes, and caches nothing', async () => {
    const cacheDir = freshCache();
    const other = new TextEncoder().encode('export default 1;\n');
    const otherSha = createHash('sha256').update(other).digest('hex');
    const err = await refusal(loadUdf(proj4.sha256, { cacheDir, fetchBundle: serving(other), node: 'n7' }), UdfHashError);
    expect(err.code).toBe('ERR_UDF_HASH');
    expect(err.message).toBe(`The UDF bundle ${proj4.sha256} fetched on node n7 hashes to ${otherSha}, not ${proj4.sha256}; refusing to run it`);
    expect(existsSync(join(cacheDir, 'udfs', `${proj4.sha256}.mjs`))).toBe(false);
  });

  it('refuses a name that is not a SHA-256', async () => {
    const err = await refusal(loadUdf('../../etc/passwd', { cacheDir: freshCache(), fetchBundle: serving(proj4.code), node: 'n1' }), UdfHashError);
    expect(err.message).toMatch(/is not a UDF bundle name/);
  });

  it('shares the cache between worker processes that race to fill it', async () => {
    const cacheDir = freshCache();
    const bundleFile = join(tmp.dir, 'proj4.mjs');
    writeFileSync(bundleFile, proj4.code);
    const outputs = await Promise.all(
      [0, 1, 2, 3].map((i) => run(process.execPath, ['--import', 'tsx', CHILD, cacheDir, proj4.sha256, bundleFile, JSON.stringify({ lon: i, lat: 0 })])),
    );
    const xs = outputs.map((o) => (JSON.parse(o.stdout) as { x: number }).x);
    expect(xs[0]).toBe(0);
    expect(xs[3]).toBeCloseTo(333958.47, 1);
    // No temp files left behind by the losers of each rename.
    expect(readdirSync(join(cacheDir, 'udfs'))).toEqual([`${proj4.sha256}.mjs`]);
    expect(readdirSync(join(cacheDir, 'node_modules'))).toEqual(['databox-mr']);
  });
});

describe('bundles a worker refuses to run', () => {
  it('refuses a module whose default export was not made by defineUdf, saying what it was', async () => {
    const bundle = await bundleUdf(join(FIXTURES, 'not-a-udf.ts'));
    const err = await refusal(loadUdf(bundle.sha256, { cacheDir: freshCache(), fetchBundle: serving(bundle.code), node: 'n1' }), UdfNotAUdfError);
    expect(err.code).toBe('ERR_UDF_NOT_A_UDF');
    expect(err.message).toBe(
      `The default export of UDF bundle ${bundle.sha256} is a plain object with keys map (made without defineUdf), not a UDF made by defineUdf; ` +
        'end the module with `export default defineUdf({ map(input, ctx) { ... } })`',
    );
  });

  it('refuses a module with no default export, naming what it exports', async () => {
    const bundle = await bundleSource('no-default', { 'udf.mjs': 'export const map = (x) => x;\n' });
    const err = await refusal(loadUdf(bundle.sha256, { cacheDir: freshCache(), fetchBundle: serving(bundle.code), node: 'n1' }), UdfNotAUdfError);
    expect(err.message).toContain('is missing (the module exports only map)');
  });

  it('reports a throw at import time with its message and stack', async () => {
    const bundle = await bundleSource('throws', { 'udf.mjs': "import { defineUdf } from 'databox-mr';\nthrow new RangeError('no GDAL on this node');\nexport default defineUdf({ map: (x) => x });\n" });
    const err = await refusal(loadUdf(bundle.sha256, { cacheDir: freshCache(), fetchBundle: serving(bundle.code), node: 'n3' }), UdfLoadError);
    expect(err.code).toBe('ERR_UDF_LOAD');
    expect(err.message).toBe(`Cannot load UDF bundle ${bundle.sha256} on node n3: importing it threw RangeError: no GDAL on this node`);
    expect(err.stack).toMatch(/Caused by: RangeError: no GDAL on this node\n\s+at .*\.mjs/);
    expect((err.cause as Error).message).toBe('no GDAL on this node');
  });

  it('loads again after a failure, once the cause is fixed', async () => {
    const cacheDir = freshCache();
    const bad = new TextEncoder().encode('export default 1;\n');
    const sha = createHash('sha256').update(bad).digest('hex');
    await refusal(loadUdf(sha, { cacheDir, fetchBundle: serving(bad), node: 'n1' }), UdfNotAUdfError);
    // Same bytes, same answer: the failure was not kept as a success, nor the module's error as stale.
    await refusal(loadUdf(sha, { cacheDir, fetchBundle: serving(bad), node: 'n1' }), UdfNotAUdfError);
  });
});

describe('native packages a bundle leaves out', () => {
  it('links them into the cache from beside databox-mr, where they are installed', async () => {
    const bundle = await bundleUdf(join(FIXTURES, 'native-udf.ts'));
    const cacheDir = freshCache();
    const udf = await loadUdf(bundle.sha256, { cacheDir, fetchBundle: serving(bundle.code), node: 'n1' });
    expect(await udf.map(21, testContext())).toEqual({ doubled: 42, text: 'input 21' });
    for (const name of ['better-sqlite3', 'zstd-napi']) {
      expect(realpathSync(join(cacheDir, 'node_modules', name))).toBe(realpathSync(join(packageRoot(), 'node_modules', name)));
    }
  });

  it('refuses a bundle whose native package this node lacks, naming it; and loads once it is installed', async () => {
    const bundle = await bundleSource('needs-native', {
      'udf.mjs': "import { defineUdf } from 'databox-mr';\nimport addon from 'fake-native-addon';\nexport default defineUdf({ map: (x) => addon(x) });\n",
      'node_modules/fake-native-addon/package.json': '{"name":"fake-native-addon","main":"index.js","gypfile":true}',
      'node_modules/fake-native-addon/index.js': 'module.exports = (x) => x + 1;\n',
    });
    expect(bundle.nativePackages).toEqual(['fake-native-addon']);
    const cacheDir = freshCache();
    const err = await refusal(loadUdf(bundle.sha256, { cacheDir, fetchBundle: serving(bundle.code), node: 'n9' }), UdfMissingPackageError);
    expect(err.code).toBe('ERR_UDF_MISSING_PACKAGE');
    expect(err.packageName).toBe('fake-native-addon');
    expect(err.message).toContain('the UDF needs the package "fake-native-addon", a native addon that cannot be bundled, and it is not installed on node n9');

    // The operator installs it in the cache; the next load succeeds.
    cpSync(join(bundle.dir, 'node_modules', 'fake-native-addon'), join(cacheDir, 'node_modules', 'fake-native-addon'), { recursive: true });
    const udf = await loadUdf(bundle.sha256, { cacheDir, fetchBundle: serving(bundle.code), node: 'n9' });
    expect(await udf.map(1, testContext())).toBe(2);
  });

  it('names a package missing at import time even when the header does not list it', async () => {
    // A bundle made by hand: it imports a package that is not installed anywhere.
    const code = new TextEncoder().encode("import x from 'not-installed-anywhere';\nexport default x;\n");
    const sha = createHash('sha256').update(code).digest('hex');
    const err = await refusal(loadUdf(sha, { cacheDir: freshCache(), fetchBundle: serving(code), node: 'n2' }), UdfMissingPackageError);
    expect(err.message).toContain('the UDF needs the package "not-installed-anywhere", which its bundle does not contain, and it is not installed on node n2');
  });
});

describe('checking a bundle on the client before upload', () => {
  it('imports it here and returns its UDF', async () => {
    const udf = await checkBundle(proj4.code);
    expect(await udf.map({ lon: 0, lat: 0 }, testContext())).toMatchObject({ x: 0 });
  });

  it('gives the worker errors: a plain-object default export is not a UDF', async () => {
    const bundle = await bundleUdf(join(FIXTURES, 'not-a-udf.ts'));
    const err = await refusal(checkBundle(bundle.code, { tmpDir: freshCache() }), UdfNotAUdfError);
    expect(err.message).toMatch(/^The default export of the UDF bundle [0-9a-f]{64} is a plain object/);
  });

  it('finds native packages beside the UDF module when told where it is', async () => {
    const bundle = await bundleSource('client-native', {
      'udf.mjs': "import { defineUdf } from 'databox-mr';\nimport addon from 'fake-client-addon';\nexport default defineUdf({ map: (x) => addon(x) });\n",
      'node_modules/fake-client-addon/package.json': '{"name":"fake-client-addon","main":"index.js"}',
      'node_modules/fake-client-addon/binding.gyp': '{}',
      'node_modules/fake-client-addon/index.js': 'module.exports = (x) => x * 3;\n',
    });
    const err = await refusal(checkBundle(bundle.code, { tmpDir: freshCache() }), UdfMissingPackageError);
    expect(err.message).toContain('is not installed on this machine');
    const udf = await checkBundle(bundle.code, { tmpDir: freshCache(), resolveFrom: bundle.dir });
    expect(await udf.map(2, testContext())).toBe(6);
  });
});
