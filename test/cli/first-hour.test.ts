import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startDaemon } from '../engine/support/processes.js';
import { runCli } from '../helpers/cli.js';
import { GeoTiff } from '../../src/raster/index.js';
import { CONFORMANCE, L8_NIR, L8_RED, REAL, tempDir } from '../helpers/fixtures.js';
import { GDAL_PYTHON, hasGdal } from '../helpers/gdal.js';

/**
 * Mistakes a new user makes in the first hour: each is refused in one line that names the problem,
 * with exit code 1, before any cluster starts (so each of these runs in about a second).
 */
const tmp = tempDir('first-hour');
afterAll(() => tmp.remove());
const L7 = join(REAL, 'landsat7', 'L7_ETMs.tif');

function expectOneLine(r: { code: number | null; stderr: string; stdout: string }, pattern: RegExp): void {
  expect(r.stdout).toBe('');
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr.trim()).toMatch(pattern);
  expect(r.code).toBe(1);
}

describe('a new user’s first hour', () => {
  it('calc refuses a multi-band file named without #N, listing its bands', async () => {
    const r = await runCli(['calc', '--expr', 'b * 2', '--band', `b=${L7}`, '--out', join(tmp.dir, 'calc.tif')]);
    expectOneLine(r, /^databox: b: .*L7_ETMs\.tif has 6 bands \(#1, #2, #3, #4, #5, #6\); say which one, as b=.*L7_ETMs\.tif#N$/);
  });

  it('chlorophyll refuses a multi-band --green named without #N', async () => {
    const r = await runCli(['chlorophyll', '--algorithm', 'oc2', '--coefficients', 'landsat8-oc2', '--blue', `${L7}#1`, '--green', L7, '--out', join(tmp.dir, 'chl.tif')]);
    expectOneLine(r, /^databox: green: .*L7_ETMs\.tif has 6 bands/);
  });

  it('translate refuses an output extension it cannot write', async () => {
    const r = await runCli(['translate', L8_RED, join(tmp.dir, 'out.png')]);
    expectOneLine(r, /^databox: <out-url> .*out\.png: this command writes Cloud Optimized GeoTIFF only, not \.png/);
  });

  it('ndvi without --nir says which option is missing', async () => {
    const r = await runCli(['ndvi', '--red', L8_RED, '--out', tmp.dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/required option '--nir <url\|glob>' not specified/);
  });

  it('an --out under /proc fails at once instead of looping in mkdir', async () => {
    const r = await runCli(['calc', '--expr', 'red + 1', '--band', `red=${L8_RED}`, '--out', '/proc/databox-nope/x.tif'], { timeoutMs: 30_000 });
    expectOneLine(r, /^databox: Cannot write \/proc\/databox-nope\/x\.tif: cannot create the directory \/proc\/databox-nope/);
  });

  it('an --out that cannot be written is reported as the storage layer reports it, exit 1', async () => {
    const sys = await runCli(['ndvi', '--red', L8_RED, '--nir', L8_NIR, '--out', '/sys/databox-nope']);
    expectOneLine(sys, /^databox: Access denied \((EPERM|EACCES)\): \/sys\/databox-nope\//);
    const file = join(tmp.dir, 'a-file');
    writeFileSync(file, 'not a folder');
    const notDir = await runCli(['focal', '--op', 'mean', '--radius', '1', L8_RED, join(file, 'focal.tif')]);
    expectOneLine(notDir, new RegExp(`^databox: Cannot write .*focal\\.tif: ${file} is a file, not a directory$`));
    const zones = fileURLToPath(new URL('../../examples/data/l7-zones.geojson', import.meta.url));
    const zonal = await runCli(['zonal', '--raster', L7, '--zones', zones, '--out', join(file, 'stats.csv')]);
    expectOneLine(zonal, /is a file, not a directory$/);
  });
});

describe('GDAL’s words for GDAL’s concepts', () => {
  it.skipIf(!hasGdal)('info reports INTERLEAVE as gdalinfo does, for every conformance file', async () => {
    const files = readdirSync(CONFORMANCE).filter((f) => f.endsWith('.tif')).sort();
    const gdal = JSON.parse(
      execFileSync(GDAL_PYTHON, ['-c', `
import json, sys
from osgeo import gdal
gdal.UseExceptions()
out = {}
for f in sys.argv[2:]:
    try:
        out[f] = gdal.Open(sys.argv[1] + '/' + f).GetMetadataItem('INTERLEAVE', 'IMAGE_STRUCTURE')
    except Exception:
        pass
print(json.dumps(out))
`, CONFORMANCE, ...files], { encoding: 'utf8' }),
    ) as Record<string, string | null>;
    const ours: Record<string, string> = {};
    for (const f of Object.keys(gdal)) {
      const tiff = await GeoTiff.open(join(CONFORMANCE, f)).catch(() => undefined);
      if (tiff === undefined) continue;
      ours[f] = tiff.info().interleave;
      await tiff.close();
    }
    expect(Object.keys(ours).length).toBe(files.length);
    expect(ours).toEqual(Object.fromEntries(Object.keys(ours).map((f) => [f, gdal[f]])));
    const r = await runCli(['info', L8_RED]);
    expect(r.stdout).toMatch(/^Layout: .*, INTERLEAVE=BAND, classic TIFF$/m);
  });
});

describe('honest messages', () => {
  it('databox up says what it stopped, and how long that took', async () => {
    const up = startDaemon(['up', '--home', join(tmp.dir, 'up-home'), '--port', '0', '--workers', '1']);
    try {
      await up.waitForOut(/jobman listening on/, 60_000);
      up.child.kill('SIGINT');
      expect(await up.exited).toBe(0);
    } finally {
      up.child.kill('SIGKILL');
    }
    expect(up.stderr()).toMatch(/^databox: stopped the Taskman and its 1 worker, then the Jobman at http:\/\/127\.0\.0\.1:\d+ in [\d.]+ s; the job store and the token stay in .*up-home$/m);
  });
});

describe('reading from servers we did not write', () => {
  it('zonal over Python’s http.server, which ignores Range: each worker downloads the file once, and the summary counts what crossed the network', async () => {
    const dir = join(tmp.dir, 'served');
    mkdirSync(dir);
    copyFileSync(L7, join(dir, 'l7.tif'));
    const server = spawn(GDAL_PYTHON, ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', dir], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        server.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          const m = /port (\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        server.on('exit', (code) => reject(new Error(`http.server exited with ${code}`)));
      });
      const zones = fileURLToPath(new URL('../../examples/data/l7-zones.geojson', import.meta.url));
      const r = await runCli(['zonal', '--raster', `http://127.0.0.1:${port}/l7.tif`, '--band', '4', '--zones', zones, '--workers', '2', '--json', '--out', join(tmp.dir, 'served.csv')], { timeoutMs: 120_000 });
      expect(r.code).toBe(0);
      // One short warning, once, in our words: no Node-style "(node:123) …Warning" and no --trace-warnings hint.
      expect(r.stderr.trim().split('\n')).toEqual([`databox: warning: http://127.0.0.1:${port}/l7.tif: the server ignores Range requests, so the whole object is downloaded once and kept in memory`]);
      const summary = JSON.parse(r.stdout) as { nodes: { bytes: number }[]; wallSeconds: number; clusterStartSeconds: number; seconds: number };
      const read = summary.nodes.reduce((t, n) => t + n.bytes, 0);
      const size = statSync(L7).size;
      // At least the file once, at most once per worker process: not once per block read.
      expect(read).toBeGreaterThanOrEqual(size);
      expect(read).toBeLessThanOrEqual(2 * size);
      expect(summary.wallSeconds).toBeGreaterThan(summary.clusterStartSeconds + summary.seconds);
    } finally {
      server.kill();
    }
  });
});
