import { createHash } from 'node:crypto';
import { join, relative } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { bundleUdf, MAX_BUNDLE_BYTES, UdfBundleError, UdfTooLargeError } from '../../../src/engine/udf/bundle.js';
import { checkBundle } from '../../../src/engine/udf/loader.js';
import { FIXTURES, refusal, tempDir, testContext, writeTree } from './support.js';

const PROJ4_UDF = join(FIXTURES, 'proj4-udf.ts');
const NATIVE_UDF = join(FIXTURES, 'native-udf.ts');

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('udf-bundle');
});
afterAll(() => tmp.remove());


describe('bundling a UDF module', () => {
  it('carries its npm dependency but leaves databox-mr out, for the worker to provide', async () => {
    const bundle = await bundleUdf(PROJ4_UDF);
    const text = Buffer.from(bundle.code).toString('utf8');
    expect(text.split('\n')[0]).toBe('// databox-mr udf bundle');
    expect(text).toMatch(/^import \{ defineUdf \} from "databox-mr";$/m);
    // define.ts's brand key: present only if databox-mr's own code had been bundled.
    expect(text).not.toContain('databox-mr.udf');
    expect(text).toMatch(/^\/\/ .*node_modules\/proj4\//m);
    expect(text).toContain('+proj=merc');
    expect(bundle.nativePackages).toEqual([]);
    expect(bundle.bytes).toBe(bundle.code.byteLength);
    expect(bundle.sha256).toBe(createHash('sha256').update(bundle.code).digest('hex'));
  });

  it('gives the same bytes every time, however the entry is named', async () => {
    const a = await bundleUdf(PROJ4_UDF);
    const b = await bundleUdf(relative(process.cwd(), PROJ4_UDF));
    expect(b.sha256).toBe(a.sha256);
    expect(Buffer.from(b.code).equals(Buffer.from(a.code))).toBe(true);
  });

  it('leaves native-addon packages out and lists them, in order', async () => {
    const bundle = await bundleUdf(NATIVE_UDF);
    const text = Buffer.from(bundle.code).toString('utf8');
    expect(bundle.nativePackages).toEqual(['better-sqlite3', 'zstd-napi']);
    expect(text.split('\n')[0]).toBe('// databox-mr udf bundle; native: better-sqlite3, zstd-napi');
    expect(text).toMatch(/^import Database from "better-sqlite3";$/m);
    expect(text).toMatch(/from "zstd-napi";$/m);
  });

  it('knows a native package by binding.gyp, by gypfile in package.json, or by a .node file', async () => {
    const project = writeTree(join(tmp.dir, 'natives'), {
      'package.json': '{"name":"natives","type":"module"}',
      'udf.mjs': "import a from 'has-gyp';\nimport b from '@scope/has-gypfile/sub.js';\nimport c from 'has-dot-node';\nimport d from 'pure';\nexport default [a, b, c, d];\n",
      'node_modules/has-gyp/package.json': '{"name":"has-gyp","main":"index.js"}',
      'node_modules/has-gyp/binding.gyp': '{}',
      'node_modules/has-gyp/index.js': 'module.exports = 1;',
      'node_modules/@scope/has-gypfile/package.json': '{"name":"@scope/has-gypfile","gypfile":true}',
      'node_modules/@scope/has-gypfile/sub.js': 'module.exports = 2;',
      'node_modules/has-dot-node/package.json': '{"name":"has-dot-node"}',
      'node_modules/has-dot-node/index.js': 'module.exports = 3;',
      'node_modules/has-dot-node/prebuilds/linux-x64/addon.node': 'not really a binary',
      'node_modules/pure/package.json': '{"name":"pure"}',
      'node_modules/pure/index.js': 'module.exports = 4;',
    });
    const bundle = await bundleUdf(join(project, 'udf.mjs'));
    expect(bundle.nativePackages).toEqual(['@scope/has-gypfile', 'has-dot-node', 'has-gyp']);
    expect(Buffer.from(bundle.code).toString('utf8')).toContain('module.exports = 4;');
  });

  it('lets bundled CommonJS code call require() and read __dirname in the ES module it becomes', async () => {
    const project = writeTree(join(tmp.dir, 'cjs'), {
      'package.json': '{"name":"cjs","type":"module"}',
      'udf.mjs': [
        "import { defineUdf } from 'databox-mr';",
        "import { createRequire } from 'node:module';",
        "import legacy from 'legacy';",
        '// A user binding named require must not clash with the one the bundle defines.',
        'const require = createRequire(import.meta.url);',
        "export default defineUdf({ map: (x) => ({ ...legacy(x), path: typeof require('node:path').join }) });",
      ].join('\n'),
      'node_modules/legacy/package.json': '{"name":"legacy","main":"index.js"}',
      'node_modules/legacy/index.js': "const fs = require('fs');\nconst path = require('path');\nmodule.exports = (x) => ({ x, fs: typeof fs.readFileSync, dir: path.isAbsolute(__dirname) });\n",
    });
    const bundle = await bundleUdf(join(project, 'udf.mjs'));
    const udf = await checkBundle(bundle.code, { tmpDir: join(tmp.dir, 'cjs-check') });
    expect(await udf.map(5, testContext())).toEqual({ x: 5, fs: 'function', dir: true, path: 'function' });
  });

  it('refuses a module with a syntax error, naming file, line and column', async () => {
    const file = join(writeTree(join(tmp.dir, 'syntax'), { 'bad.ts': 'export default {\n  map(x: number) {\n    return x +* 2;\n  },\n};\n' }), 'bad.ts');
    const err = await refusal(bundleUdf(file), UdfBundleError);
    expect(err.code).toBe('ERR_UDF_BUNDLE');
    expect(err.message).toMatch(/bad\.ts:3:15: Unexpected "\*"/);
    expect(err.message).toContain('return x +* 2;');
  });

  it('refuses an import that resolves nowhere, naming the package and where it is imported', async () => {
    const file = join(writeTree(join(tmp.dir, 'unresolved'), { 'udf.mjs': "\nimport x from 'no-such-package-here';\nexport default x;\n" }), 'udf.mjs');
    const err = await refusal(bundleUdf(file), UdfBundleError);
    expect(err.message).toMatch(/udf\.mjs:2:15: Could not resolve "no-such-package-here"/);
  });

  it('refuses an entry that does not exist', async () => {
    const missing = join(tmp.dir, 'nope.ts');
    const err = await refusal(bundleUdf(missing), UdfBundleError);
    expect(err.message).toBe(`The UDF module ${missing} does not exist or is not a file`);
  });

  it('refuses a bundle over the limit, naming its size, the limit and its three largest parts', async () => {
    const filler = (n: number): string => `export default ${JSON.stringify('x'.repeat(n))};\n`;
    const project = writeTree(join(tmp.dir, 'big'), {
      'package.json': '{"name":"big","type":"module"}',
      'udf.mjs': "import a from './a.mjs';\nimport b from './b.mjs';\nimport c from './c.mjs';\nimport d from './d.mjs';\nexport default [a, b, c, d];\n",
      'a.mjs': filler(1500),
      'b.mjs': filler(3000),
      'c.mjs': filler(2000),
      'd.mjs': filler(10),
    });
    const err = await refusal(bundleUdf(join(project, 'udf.mjs'), { maxBytes: 5000 }), UdfTooLargeError);
    expect(err.code).toBe('ERR_UDF_TOO_LARGE');
    expect(err.limitBytes).toBe(5000);
    expect(err.bytes).toBeGreaterThan(6500);
    expect(err.message).toContain(`(${err.bytes} bytes), over`);
    expect(err.message).toMatch(
      /^The bundle of the UDF module .*big\/udf\.mjs is [\d.]+ KiB \(\d+ bytes\), over the 4\.9 KiB \(5000 bytes\) limit; its largest parts are b\.mjs \(2\.9 KiB\), c\.mjs \(2 KiB\), a\.mjs \(1\.5 KiB\)\. /,
    );
    await expect(bundleUdf(PROJ4_UDF, { maxBytes: 10_000 })).rejects.toThrow(/its largest parts are .*node_modules\/proj4\//);
  });

  it('checks its limit option, naming it', async () => {
    await expect(bundleUdf(PROJ4_UDF, { maxBytes: -1 })).rejects.toThrow('options.maxBytes must be a positive integer (got -1)');
    expect(MAX_BUNDLE_BYTES).toBe(32 * 1024 * 1024);
  });
});
