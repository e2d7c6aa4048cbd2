import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { L8_NIR, L8_RED, REAL, tempDir } from '../helpers/fixtures.js';

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
