import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { CONFORMANCE, EXPECTED, L8_NIR, L8_RED, tempDir } from '../helpers/fixtures.js';
import { gdalProbe, hasGdal } from '../helpers/gdal.js';

const tmp = tempDir('cli');
afterAll(() => tmp.remove());

describe('databox info', () => {
  it('--json prints every metadata key GDAL would report', async () => {
    const r = await runCli(['info', '--json', join(CONFORMANCE, 'u16_cog_overviews.tif')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    const want = EXPECTED['u16_cog_overviews.tif']!;
    expect(info).toMatchObject({
      width: want.width,
      height: want.height,
      bands: 1,
      dtype: 'UInt16',
      epsg: 31985,
      nodata: null,
      block: [256, 256],
      compression: 'DEFLATE',
      overviews: [[588, 608], [294, 304], [147, 152]],
    });
    expect(info.geotransform).toHaveLength(6);
    expect(info.proj).toMatch(/\+proj=utm \+zone=25 \+south/);
  });

  it('prints a readable summary without --json', async () => {
    const r = await runCli(['info', join(CONFORMANCE, 'i16_deflate_pixelinterleave.tif')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Size: 294 × 304, 3 bands of Int16');
    expect(r.stdout).toContain('Nodata: -32768');
  });

  it('reports a missing file in one line, with no stack trace', async () => {
    const r = await runCli(['info', join(tmp.dir, 'missing.tif')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^databox: .*missing\.tif/);
  });

  it('reports a file that is not a TIFF in one line', async () => {
    const path = join(tmp.dir, 'notes.txt');
    writeFileSync(path, 'these are not pixels\n');
    const r = await runCli(['info', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^databox: .*notes\.txt: not a TIFF/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('databox translate', () => {
  it.skipIf(!hasGdal)('turns a striped LZW file into a COG GDAL validates, pixels unchanged', async () => {
    const out = join(tmp.dir, 'translated.tif');
    const r = await runCli(['translate', join(CONFORMANCE, 'u16_lzw_pred2_strips.tif'), out, '--block', '128', '--compress', 'zstd']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*translated\.tif: .*classic TIFF, levels 294×304, 147×152/);
    const g = gdalProbe(out);
    expect(g.cog_errors).toEqual([]);
    expect(g.compression).toBe('ZSTD');
    expect(g.sha256).toEqual(EXPECTED['u16_lzw_pred2_strips.tif']!.pixels.map((p) => p.sha256_le));
    expect(g.epsg).toBe(31985);
    expect(g.nodata).toBe(0);
  });

  it('rejects a bad option value in one line that names it', async () => {
    const r = await runCli(['translate', 'a.tif', 'b.tif', '--compress', 'jpeg2000']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--compress must be one of deflate, lzw, zstd, none \(got "jpeg2000"\)/);
    const r2 = await runCli(['translate', 'a.tif', 'b.tif', '--block', '100']);
    expect(r2.code).not.toBe(0);
    expect(r2.stderr).toMatch(/--block must be a multiple of 16 from 16 to 4096 \(got "100"\)/);
    const r3 = await runCli(['translate', join(CONFORMANCE, 'u8_packbits_strips.tif'), join(tmp.dir, 'l.tif'), '--level', '12']);
    expect([r3.code, r3.stderr]).toEqual([1, 'databox: --level must be 1 to 9 for --compress deflate (got 12).\n']);
    const r4 = await runCli(['translate', join(CONFORMANCE, 'u8_packbits_strips.tif'), tmp.dir]);
    expect([r4.code, r4.stderr]).toEqual([1, `databox: Cannot write ${tmp.dir}: it is a directory\n`]);
  });
});

describe('databox ndvi', () => {
  it.skipIf(!hasGdal)('writes (NIR - Red) / (NIR + Red) of the real Landsat 8 crop as a Float32 COG', async () => {
    const out = join(tmp.dir, 'ndvi.tif');
    const r = await runCli(['ndvi', '--red', L8_RED, '--nir', L8_NIR, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^SCENE +SIZE +MIN +MEAN +MAX +READ +COG +WORKER TIME +OUT\nLC08_L1TP_195025_20130707_20170503_01_T1 +41×41 +0\.0234 +0\.2893 +0\.5604 +[\d.]+ KB +[\d.]+ KB +[\d.]+ s +\S+ndvi\.tif\n1 scene in [\d.]+ s: [\d.]+ s to start an embedded cluster, [\d.]+ s for jobs 1 and 2, [\d.]+ s to stop it\n$/);
    // The whole command's time holds the cluster's start, the jobs and the stop.
    const [total, start, jobs, stop] = /in ([\d.]+) s: ([\d.]+) s to start .*, ([\d.]+) s for .*, ([\d.]+) s to stop/.exec(r.stdout)!.slice(1).map(Number);
    expect(total!).toBeGreaterThanOrEqual(start! + jobs! + stop! - 0.02);
    expect(stop!).toBeGreaterThan(0);

    const redDir = join(tmp.dir, 'red');
    const nirDir = join(tmp.dir, 'nir');
    const outDir = join(tmp.dir, 'ndvi');
    const red = gdalProbe(L8_RED, redDir);
    gdalProbe(L8_NIR, nirDir);
    const g = gdalProbe(out, outDir);
    expect(g.cog_errors).toEqual([]);
    expect(g.epsg).toBe(32632);
    expect(g.geotransform).toEqual(red.geotransform);
    expect(g.nodata).toBe('nan');
    const raw = (dir: string): ArrayBuffer => new Uint8Array(readFileSync(join(dir, 'band0.bin'))).buffer;
    const rv = new Int16Array(raw(redDir));
    const nv = new Int16Array(raw(nirDir));
    const ov = new Float32Array(raw(outDir));
    for (let i = 0; i < ov.length; i++) {
      const [a, b] = [rv[i]!, nv[i]!];
      if (a === -32768 || b === -32768 || a + b === 0) expect(ov[i]).toBeNaN();
      else expect(ov[i]).toBeCloseTo((b - a) / (b + a), 6);
    }
  });

  it.skipIf(!hasGdal)('--dtype int16 stores NDVI × 10000 with nodata -32768', async () => {
    const out = join(tmp.dir, 'ndvi16.tif');
    const r = await runCli(['ndvi', '--red', L8_RED, '--nir', L8_NIR, '--out', out, '--dtype', 'int16']);
    expect(r.code).toBe(0);
    const g = gdalProbe(out);
    expect(g.dtype).toBe('Int16');
    expect(g.nodata).toBe(-32768);
    expect(g.cog_errors).toEqual([]);
  });

  it('refuses bands of different sizes, naming both, before any job', async () => {
    // A NIR band of the same scene name, but another raster's size.
    const nir = join(tmp.dir, 'LC08_L1TP_195025_20130707_20170503_01_T1_B5.TIF');
    copyFileSync(join(CONFORMANCE, 'u8_deflate_tiled256.tif'), nir);
    const r = await runCli(['ndvi', '--red', L8_RED, '--nir', nir, '--out', join(tmp.dir, 'x.tif')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^databox: NIR .*B5\.TIF differs from Red .*B4\.TIF: size 294×304 vs 41×41, .*; NDVI needs the same grid\n$/);
  });

  it('pairs red and NIR bands by scene name, and names a red band without a partner', async () => {
    const r = await runCli(['ndvi', '--red', L8_RED, '--nir', join(CONFORMANCE, 'u8_deflate_tiled256.tif'), '--out', join(tmp.dir, 'y')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^databox: No NIR band for scene LC08_L1TP_195025_20130707_20170503_01_T1 \(red .*B4\.TIF\) among the 1 files of .*u8_deflate_tiled256\.tif\n$/);
  });
});


describe('interrupting a command', () => {
  it('Ctrl-C during translate removes the spool and the partial output, and exits 130', async () => {
    const { mkdirSync, readdirSync, watch } = await import('node:fs');
    const { spawn } = await import('node:child_process');
    const { CogWriter, cutTile, allocate } = await import('../../src/raster/index.js');
    const { CLI } = await import('../helpers/cli.js');
    // A 4096×4096 noisy band: long enough to translate that the signal lands mid-way.
    const input = join(tmp.dir, 'big.tif');
    const writer = await CogWriter.create(input, { width: 4096, height: 4096, dtype: 'UInt16', overviews: 'none', compression: 'none' });
    const tile = allocate('UInt16', 512 * 512);
    for (let i = 0; i < tile.length; i++) tile[i] = (i * 2654435761) % 65521;
    for (let row = 0; row < 8; row++) for (let col = 0; col < 8; col++) await writer.writeTile(col, row, cutTile([tile], 512, 512, 0, 512, 'UInt16', 0));
    await writer.finish();

    const spoolDir = join(tmp.dir, 'spool');
    const outDir = join(tmp.dir, 'interrupted');
    mkdirSync(spoolDir);
    mkdirSync(outDir);
    const spoolAppeared = new Promise<void>((resolve) => {
      const w = watch(spoolDir, () => {
        w.close();
        resolve();
      });
    });
    const child = spawn(process.execPath, [CLI, 'translate', input, join(outDir, 'out.tif')], {
      env: { ...process.env, TMPDIR: spoolDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await spoolAppeared;
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toBe('databox: interrupted by SIGINT; nothing was written\n');
    expect(readdirSync(spoolDir)).toEqual([]);
    expect(readdirSync(outDir)).toEqual([]);
  });
});
