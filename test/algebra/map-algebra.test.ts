import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TestCluster } from '../engine/support/processes.js';
import { runCli } from '../helpers/cli.js';
import { LANDSAT8, REAL, tempDir } from '../helpers/fixtures.js';
import { GDAL_PYTHON, gdalProbe, hasGdal } from '../helpers/gdal.js';

/**
 * `databox calc`, `chlorophyll` and `focal` end to end: a Jobman and a Taskman with two workers as child
 * processes, the CLI as a third, small tiles so every run has several window subtasks, and independent
 * references (numpy for band math and OCx, scipy.ndimage for focal statistics) judging GDAL's reading
 * of the files written.
 */

const MAKE_SCENES = fileURLToPath(new URL('../../../shared/tools/make-landsat-scenes.py', import.meta.url));
const REFERENCE = fileURLToPath(new URL('./algebra_reference.py', import.meta.url));
const L8 = (band: string): string => join(LANDSAT8, `LC08_L1TP_195025_20130707_20170503_01_T1_${band}.TIF`);
const L7 = join(REAL, 'landsat7', 'L7_ETMs.tif');
const ELEV = join(REAL, 'elev.tif');
const tmp = tempDir('map-algebra');

interface Compared {
  pixels: number;
  valid: number;
  mismatches: number;
  nan_mismatches: number;
  max_abs: number;
}

/** Runs the references for these cases in one python process. */
function compare(cases: object[]): Compared[] {
  const file = join(tmp.dir, `cases-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(cases));
  return JSON.parse(execFileSync(GDAL_PYTHON, [REFERENCE, file], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })) as Compared[];
}

describe.skipIf(!hasGdal)('map algebra on a cluster', () => {
  let cluster: TestCluster;
  let env: NodeJS.ProcessEnv;
  const scenes = join(tmp.dir, 'scenes');
  const red = join(scenes, 'scene00_B4.TIF');
  const nir = join(scenes, 'scene00_B5.TIF');
  const cli = (args: string[]): ReturnType<typeof runCli> => runCli([...args, '--jobman', cluster.url], { env, timeoutMs: 120_000 });

  beforeAll(async () => {
    // A 600 × 500 scene: with 128-pixel tiles and 2 × 2-tile windows, 6 windows with edges cut short.
    execFileSync(GDAL_PYTHON, [MAKE_SCENES, scenes, '1', '600', '500'], { stdio: 'ignore' });
    cluster = await TestCluster.create({ heartbeatMs: 500 });
    // The operator lets the tasks read the shared real-data fixtures besides the test's own files.
    await cluster.startJobman(['--allow-read', REAL, '--allow-read', tmpdir(), '--allow-write', tmp.dir]);
    await cluster.startTaskman('node-a', 2);
    env = { DATABOX_TOKEN: cluster.token };
  }, 120_000);

  afterAll(async () => {
    await cluster?.close();
    tmp.remove();
  });

  describe('databox calc', () => {
    it('gives the same pixels as databox ndvi for NDVI written as an expression, as float32 and as scaled int16', async () => {
      for (const dtype of ['float32', 'int16'] as const) {
        const ndvi = join(tmp.dir, `ndvi-${dtype}.tif`);
        const calc = join(tmp.dir, `calc-${dtype}.tif`);
        const a = await cli(['ndvi', '--red', red, '--nir', nir, '--out', ndvi, '--dtype', dtype, '--block-size', '128', '--window-tiles', '2']);
        expect(a.stderr).toBe('');
        expect(a.code).toBe(0);
        // databox ndvi's int16 is NDVI × 10000 rounded, nodata −32768: the expression says the same.
        const expr = dtype === 'int16' ? '(nir - red) / (nir + red) * 10000' : '(nir - red) / (nir + red)';
        const b = await cli(['calc', '--expr', expr, '--band', `red=${red}`, '--band', `nir=${nir}`, '--out', calc, '--dtype', dtype, '--block-size', '128', '--window-tiles', '2', ...(dtype === 'int16' ? ['--nodata', '-32768'] : [])]);
        expect(b.stderr).toBe('');
        expect(b.code).toBe(0);
        expect(b.stdout).toMatch(/^SCENE +SIZE +MIN +MEAN +MAX +READ +COG +WORKER TIME +OUT\ncalc-/);
        const [p, q] = [gdalProbe(ndvi), gdalProbe(calc)];
        expect(q.cog_errors).toEqual([]);
        expect(q.sha256).toEqual(p.sha256);
        expect([q.width, q.height, q.epsg, q.geotransform]).toEqual([p.width, p.height, p.epsg, p.geotransform]);
      }
    });

    it('evaluates where, clamp, max, log10 and comparisons as numpy does, with nodata propagated', async () => {
      const out = join(tmp.dir, 'expr.tif');
      const expr = 'where(nir > red, clamp((nir - red) / (nir + red) * 2, -0.5, 0.8), 0) + log10(max(red, 1))';
      const r = await cli(['calc', '--expr', expr, '--band', `red=${red}`, '--band', `nir=${nir}`, '--out', out, '--block-size', '128', '--window-tiles', '2', '--json']);
      expect(r.stderr).toBe('');
      const summary = JSON.parse(r.stdout) as { scenes: { stats: { valid: number; nodata: number } }[] };
      const [c] = compare([{ kind: 'expr', red, nir, out, rel_tol: 1e-6 }]);
      expect(c).toMatchObject({ pixels: 300_000, mismatches: 0, nan_mismatches: 0 });
      // The scene's nodata border (the first 12 columns) propagates.
      expect(summary.scenes[0]!.stats.nodata).toBe(500 * 12);
      expect(summary.scenes[0]!.stats.valid).toBe(c!.valid);
    });

    it('reads a band of a multi-band file with NAME=<url>#N', async () => {
      const out = join(tmp.dir, 'l7-ratio.tif');
      const r = await cli(['calc', '--expr', 'b4 / max(b3, 1)', '--band', `b3=${L7}#3`, '--band', `b4=${L7}#4`, '--out', out, '--block-size', '64', '--window-tiles', '2', '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const probe = gdalProbe(out);
      expect([probe.width, probe.height, probe.epsg]).toEqual([349, 352, 31985]);
    });

    it('points at the column of a syntax error, and writes nothing', async () => {
      const out = join(tmp.dir, 'bad.tif');
      const r = await cli(['calc', '--expr', '(nir - red) / (nir + red', '--band', `red=${red}`, '--band', `nir=${nir}`, '--out', out]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('column 25');
      expect(r.stderr).toContain('  (nir - red) / (nir + red\n                          ^');
    });

    it('names a band the expression uses but no --band gives, and the bands given', async () => {
      const r = await cli(['calc', '--expr', 'swir - nir', '--band', `red=${red}`, '--band', `nir=${nir}`, '--out', join(tmp.dir, 'x.tif')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/swir/);
      expect(r.stderr).toMatch(/red, nir/);
    });

    it('says how the grids of two bands differ', async () => {
      const r = await cli(['calc', '--expr', 'a + b', '--band', `a=${red}`, '--band', `b=${L8('B4')}`, '--out', join(tmp.dir, 'x.tif')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^databox: band b .*B4\.TIF differs from band a .*scene00_B4\.TIF: size 41×41 vs 600×500, geotransform \[.*\] vs \[.*\]; calc needs the same grid\n$/);
    });
  });

  describe('databox chlorophyll', () => {
    it('computes OC3 with the Landsat 8 coefficients from real OLI bands as numpy does, nodata outside the valid ratios', async () => {
      const out = join(tmp.dir, 'chl-oc3.tif');
      const r = await cli([
        'chlorophyll', '--algorithm', 'oc3', '--coefficients', 'landsat8-oc3', '--blue', L8('B1'), '--blue', L8('B2'), '--green', L8('B3'),
        '--scale', '0.00002', '--offset', '-0.1', '--out', out, '--block-size', '16', '--window-tiles', '1', '--json',
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const [c] = compare([{ kind: 'chlorophyll', blues: [L8('B1'), L8('B2')], green: L8('B3'), scale: 0.00002, offset: -0.1, a: [0.2412, -2.0546, 1.1776, -0.5538, -0.457], out, rel_tol: 1e-6 }]);
      expect(c).toMatchObject({ pixels: 41 * 41, mismatches: 0, nan_mismatches: 0 });
      expect(c!.valid).toBeGreaterThan(0);
    });

    it('refuses coefficients fitted for the other algorithm, and a wrong number of blue bands', async () => {
      const a = await cli(['chlorophyll', '--algorithm', 'oc2', '--coefficients', 'landsat8-oc3', '--blue', L8('B2'), '--green', L8('B3'), '--out', join(tmp.dir, 'x.tif')]);
      expect(a.stderr).toBe('databox: --coefficients landsat8-oc3 was fitted for oc3, not --algorithm oc2\n');
      const b = await cli(['chlorophyll', '--algorithm', 'oc3', '--coefficients', 'landsat8-oc3', '--blue', L8('B2'), '--green', L8('B3'), '--out', join(tmp.dir, 'x.tif')]);
      expect(b.stderr).toBe('databox: --algorithm oc3 takes 2 --blue bands (got 1)\n');
      const c = await cli(['chlorophyll', '--algorithm', 'oc2', '--coefficients', 'custom:1,2,x,4,5', '--blue', L8('B2'), '--green', L8('B3'), '--out', join(tmp.dir, 'x.tif')]);
      expect(c.stderr).toMatch(/custom coefficients are five finite numbers/);
    });
  });

  describe('databox focal', () => {
    it('equals scipy.ndimage over a real Landsat 7 band, split into 36 windows with halos, for every op, square and circle', async () => {
      const cases: object[] = [];
      for (const [op, radius, shape] of [['median', 2, 'square'], ['mean', 1, 'square'], ['min', 3, 'circle'], ['max', 2, 'circle'], ['sum', 1, 'square'], ['stddev', 2, 'square']] as const) {
        const out = join(tmp.dir, `l7-${op}-${radius}-${shape}.tif`);
        const r = await cli(['focal', '--op', op, '--radius', String(radius), '--shape', shape, '--band', '4', L7, out, '--block-size', '64', '--window-tiles', '1', '--dtype', 'float64']);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        cases.push({ kind: 'focal', op, radius, shape, input: L7, band: 4, out, float32: false, rel_tol: op === 'stddev' ? 1e-12 : 0 });
      }
      for (const c of compare(cases)) expect(c).toMatchObject({ pixels: 349 * 352, mismatches: 0, nan_mismatches: 0 });
    });

    it('leaves nodata out of each window and keeps nodata pixels nodata, on a real elevation model with a nodata hole', async () => {
      // elev.tif has nodata −32768 pixels; 16-pixel tiles make 36 windows over its 95 × 90 pixels.
      const out = join(tmp.dir, 'elev-median.tif');
      const r = await cli(['focal', '--op', 'median', '--radius', '2', ELEV, out, '--block-size', '16', '--window-tiles', '1', '--dtype', 'float64']);
      expect(r.stderr).toBe('');
      const [c] = compare([{ kind: 'focal', op: 'median', radius: 2, shape: 'square', input: ELEV, out, float32: false }]);
      expect(c).toMatchObject({ pixels: 95 * 90, mismatches: 0, nan_mismatches: 0 });
    });
  });
});
