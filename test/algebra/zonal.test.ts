import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runZonalJob } from '../../src/jobs/index.js';
import { JobmanClient } from '../../src/engine/client/index.js';
import { TestCluster } from '../engine/support/processes.js';
import { runCli } from '../helpers/cli.js';
import { REAL, tempDir } from '../helpers/fixtures.js';
import { GDAL_PYTHON, gdalPython, hasGdal } from '../helpers/gdal.js';

/**
 * `databox zonal` end to end: a Jobman and three Taskmen of one worker each as child processes, the CLI
 * as another, real fixtures made into tiled GeoTIFFs by GDAL, and statistics judged by GDAL and numpy from
 * masks `gdal.RasterizeLayer` burns, one feature at a time (test/algebra/zonal_reference.py).
 */

const REFERENCE = fileURLToPath(new URL('./zonal_reference.py', import.meta.url));
const tmp = tempDir('zonal');
const STATS = 'count,nodata,sum,mean,min,max,std,median,p10,p90,histogram';
const L7 = { origin: [288776.250000803149305, 9120760.750028736889362], pixel: 28.499999999274539 };
const ELEV = { origin: [5.741666666666666, 50.19166666666666], pixel: 0.008333333333333333 };

type Row = Record<string, number | null | string | { edges: number[]; counts: number[] }>;

/** A ring from pixel coordinates to the map coordinates of a raster with origin and square pixels. */
function ring(grid: { origin: number[]; pixel: number }, points: [number, number][]): number[][] {
  const pts = points.map(([x, y]) => [grid.origin[0]! + x * grid.pixel, grid.origin[1]! - y * grid.pixel]);
  return [...pts, pts[0]!];
}

/** A star of n vertices around (cx, cy), radii from r·lo to r, in pixels, seeded. */
function star(cx: number, cy: number, r: number, n: number, seed: number): [number, number][] {
  return Array.from({ length: n }, (_, i) => {
    const a = (2 * Math.PI * i) / n;
    const k = r * (0.55 + 0.45 * Math.abs(Math.sin(seed * 12.9898 + i * 78.233)));
    return [cx + k * Math.cos(a), cy + k * Math.sin(a)] as [number, number];
  });
}

function reference(raster: string, zones: string, allTouched: boolean, bins = 10): Row[] {
  return JSON.parse(execFileSync(GDAL_PYTHON, [REFERENCE, raster, '1', zones, allTouched ? '1' : '0', String(bins)], { encoding: 'utf8' })) as Row[];
}

/** Ours equal the reference: exactly, but for std (1e-12 relative) and float sums and means (1e-12). */
function expectSameStats(ours: Row[], ref: Row[], exactSums: boolean): void {
  expect(ours.length).toBe(ref.length);
  ref.forEach((r, i) => {
    const o = ours[i]!;
    for (const k of ['count', 'nodata', 'min', 'max', 'median', 'p10', 'p90', 'histogram']) expect([i, k, o[k]]).toEqual([i, k, r[k]]);
    for (const k of exactSums ? ['std'] : ['sum', 'mean', 'std']) {
      if (r[k] === null) expect(o[k]).toBeNull();
      else expect(Math.abs((o[k] as number) - (r[k] as number))).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(r[k] as number)));
    }
    if (exactSums) for (const k of ['sum', 'mean']) expect([i, k, o[k]]).toEqual([i, k, r[k]]);
  });
}

describe.skipIf(!hasGdal)('databox zonal on three Taskmen', () => {
  let cluster: TestCluster;
  let env: NodeJS.ProcessEnv;
  const l7 = join(tmp.dir, 'l7_b4.tif');
  const l7float = join(tmp.dir, 'l7_b4_float.tif');
  const elev = join(tmp.dir, 'elev.tif');
  const l7zones = join(tmp.dir, 'l7-zones.geojson');
  const elevZones = join(tmp.dir, 'elev-zones.geojson');
  const cli = (args: string[]): ReturnType<typeof runCli> => runCli([...args, '--jobman', cluster.url], { env, timeoutMs: 120_000 });

  beforeAll(async () => {
    // Real fixtures as tiled GeoTIFFs: Landsat 7 band 4 (Byte) in 64-pixel tiles (6 × 6), the same as
    // Float32 with fractional values, and the elevation model (Int16, nodata holes) in 16-pixel tiles.
    gdalPython(`
src = gdal.Open('${join(REAL, 'landsat7', 'L7_ETMs.tif')}')
gdal.Translate('${l7}', src, bandList=[4], format='GTiff', creationOptions=['TILED=YES', 'BLOCKXSIZE=64', 'BLOCKYSIZE=64', 'COMPRESS=DEFLATE'])
a = src.GetRasterBand(4).ReadAsArray().astype(np.float32) * np.float32(0.37) + np.float32(0.001) * (np.arange(349 * 352).reshape(352, 349) % 7).astype(np.float32)
mem = gdal.GetDriverByName('MEM').Create('', 349, 352, 1, gdal.GDT_Float32)
mem.SetGeoTransform(src.GetGeoTransform()); mem.SetProjection(src.GetProjection()); mem.GetRasterBand(1).WriteArray(a)
gdal.Translate('${l7float}', mem, format='GTiff', creationOptions=['TILED=YES', 'BLOCKXSIZE=64', 'BLOCKYSIZE=64', 'COMPRESS=DEFLATE'])
gdal.Translate('${elev}', '${join(REAL, 'elev.tif')}', format='GTiff', creationOptions=['TILED=YES', 'BLOCKXSIZE=16', 'BLOCKYSIZE=16', 'COMPRESS=DEFLATE'])
`);
    const feature = (name: string, geometry: object): object => ({ type: 'Feature', properties: { name }, geometry });
    writeFileSync(
      l7zones,
      JSON.stringify({
        type: 'FeatureCollection',
        crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::31985' } },
        features: [
          feature('crossing', { type: 'Polygon', coordinates: [ring(L7, star(170, 160, 130, 40, 1))] }),
          feature('hole', { type: 'Polygon', coordinates: [ring(L7, [[100.3, 40.2], [220.7, 40.2], [220.7, 130.9], [100.3, 130.9]]), ring(L7, [[140.5, 70.5], [140.5, 100.2], [180.1, 100.2], [180.1, 70.5]])] }),
          feature('outside', { type: 'Polygon', coordinates: [ring(L7, [[500, 20], [600, 20], [600, 90]])] }),
          feature('two parts', { type: 'MultiPolygon', coordinates: [[ring(L7, star(40, 300, 30, 12, 2))], [ring(L7, star(300, 40, 25, 9, 3))]] }),
          feature('edge', { type: 'Polygon', coordinates: [ring(L7, [[-20.5, 320.2], [30.4, 318.7], [25.1, 370.3], [-10, 365]])] }),
          feature('sliver', { type: 'Polygon', coordinates: [ring(L7, [[60.2, 10.1], [300.9, 12.3], [300.7, 12.9]])] }),
        ],
      }),
    );
    // EPSG:4326 (no crs member): a zone over the elevation model's nodata corner, and one half in it.
    writeFileSync(
      elevZones,
      JSON.stringify({
        type: 'FeatureCollection',
        features: [
          feature('nodata only', { type: 'Polygon', coordinates: [ring(ELEV, [[1, 1], [5, 1], [5, 5], [1, 5]])] }),
          feature('mixed', { type: 'Polygon', coordinates: [ring(ELEV, star(40, 40, 38, 24, 4))] }),
        ],
      }),
    );
    cluster = await TestCluster.create({ heartbeatMs: 500 });
    await cluster.startJobman();
    for (const node of ['node-a', 'node-b', 'node-c']) await cluster.startTaskman(node, 1);
    env = { DATABOX_TOKEN: cluster.token };
  }, 120_000);

  afterAll(async () => {
    await cluster?.close();
    tmp.remove();
  });

  it('equals GDAL and numpy on a real Landsat 7 band, zones crossing tiles, with a hole, outside, in two parts, at the edge', async () => {
    const out = join(tmp.dir, 'l7.json');
    const r = await cli(['zonal', '--raster', l7, '--zones', l7zones, '--stats', STATS, '--id-field', 'name', '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = JSON.parse(readFileSync(out, 'utf8')) as Row[];
    expect(rows.map((x) => x.id)).toEqual(['crossing', 'hole', 'outside', 'two parts', 'edge', 'sliver']);
    expectSameStats(rows, reference(l7, l7zones, false), true);
    expect(rows[2]).toMatchObject({ count: 0, nodata: 0, mean: null, median: null, histogram: null });
    // The work went to all three nodes, balanced by bytes, and the big zone's partials came from several.
    const summary = JSON.parse(r.stdout) as { plan: { name: string; bytes: number }[]; nodes: { name: string; bytes: number }[]; balance: number };
    expect(summary.plan.map((n) => n.name)).toEqual(['node-a', 'node-b', 'node-c']);
    expect(summary.nodes.every((n) => n.bytes > 0)).toBe(true);
    expect(summary.balance).toBeLessThan(1.25);
  });

  it('matches gdal_rasterize -at with --all-touched', async () => {
    const out = join(tmp.dir, 'l7-at.json');
    const r = await cli(['zonal', '--raster', l7, '--zones', l7zones, '--stats', STATS, '--all-touched', '--out', out]);
    expect(r.stderr).toBe('');
    const rows = JSON.parse(readFileSync(out, 'utf8')) as Row[];
    expect(rows.map((x) => x.id)).toEqual([0, 1, 2, 3, 4, 5]);
    expectSameStats(rows, reference(l7, l7zones, true), true);
    expect(rows[5]!.count).toBeGreaterThan(0);
  });

  it('is exact on a float raster: order statistics and histograms equal numpy, sums agree to the last bits', async () => {
    const out = join(tmp.dir, 'l7-float.json');
    const r = await cli(['zonal', '--raster', l7float, '--zones', l7zones, '--stats', STATS, '--bins', '7', '--out', out]);
    expect(r.stderr).toBe('');
    expectSameStats(JSON.parse(readFileSync(out, 'utf8')) as Row[], reference(l7float, l7zones, false, 7), false);
  });

  it('reports a nodata-only zone with count 0, from zones in EPSG:4326 reprojected to the raster', async () => {
    const out = join(tmp.dir, 'elev.csv');
    const r = await cli(['zonal', '--raster', elev, '--zones', elevZones, '--stats', 'count,nodata,min,max,mean,median', '--id-field', 'name', '--out', out]);
    expect(r.stderr).toBe('');
    const ref = reference(elev, elevZones, false);
    expect(ref[0]).toMatchObject({ count: 0, nodata: 16 });
    const csv = readFileSync(out, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('id,count,nodata,min,max,mean,median');
    expect(csv[1]).toBe('nodata only,0,16,,,,');
    expect(csv[2]).toBe(['mixed', ref[1]!.count, ref[1]!.nodata, ref[1]!.min, ref[1]!.max, ref[1]!.mean, ref[1]!.median].join(','));
  });

  it('prints the plan with --dry-run: blocks and bytes per node, and runs nothing', async () => {
    const before = (await cluster.api<{ length: number }[]>('/v1/jobs')).body;
    const r = await cli(['zonal', '--raster', l7, '--zones', l7zones, '--dry-run']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^6 zones \(1 with no pixel on the raster\) cover \d+ blocks of 64×64 of .*l7_b4\.tif, [\d.]+ KB compressed\nNODE +BLOCKS +BYTES +OF MEAN +SUBTASKS\nnode-a .*\nnode-b .*\nnode-c .*\nlargest node: [\d.]+× the mean bytes/);
    expect((await cluster.api<unknown>('/v1/jobs')).body).toEqual(before);
  });

  it('is a library function giving the rows the CLI writes', async () => {
    const client = await JobmanClient.open({ url: cluster.url, token: cluster.token });
    const result = await runZonalJob(client, { raster: l7, zones: l7zones, stats: STATS, idField: 'name' });
    expect(result.rows).toEqual(JSON.parse(readFileSync(join(tmp.dir, 'l7.json'), 'utf8')));
  });

  describe('bad zones get an error naming the feature', () => {
    const cases: [string, unknown, RegExp][] = [
      ['GeoJSON that does not parse', '{"type": "FeatureCollection", "features": [', /not JSON|parse/i],
      ['a point', { type: 'FeatureCollection', features: [{ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]] } }, { type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [0, 0] } }] }, /feature 1.*Point/],
      ['a self-intersecting ring', { type: 'FeatureCollection', features: [{ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]] } }] }, /feature 0: polygon intersects itself at \[0.5,0.5\]/],
      ['a CRS proj4 does not know', { type: 'FeatureCollection', crs: { type: 'name', properties: { name: 'EPSG:999999' } }, features: [] }, /999999/],
    ];
    for (const [what, zones, message] of cases) {
      it(`${what}`, async () => {
        const file = join(tmp.dir, `bad-${what.replace(/\W+/g, '-')}.geojson`);
        const out = join(tmp.dir, `bad-${what.replace(/\W+/g, '-')}.json`);
        writeFileSync(file, typeof zones === 'string' ? zones : JSON.stringify(zones));
        const r = await cli(['zonal', '--raster', l7, '--zones', file, '--out', out]);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/^databox: /);
        expect(r.stderr).toMatch(message);
        expect(existsSync(out)).toBe(false);
      });
    }
  });
});
