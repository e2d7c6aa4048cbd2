import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ZoneError, detectZonesFormat, parseZones, readZones, toPixelSpace, type PixelZone, type ZoneSet } from '../../src/algebra/index.js';
import { wktEpsg } from '../../src/algebra/zonal/zones/crs.js';
import { gpkgWkb } from '../../src/algebra/zonal/zones/geopackage.js';
import type { RasterGrid } from '../../src/algebra/zonal/zones/pixel-space.js';
import { GeoTiff } from '../../src/raster/index.js';
import { runCli } from '../helpers/cli.js';
import { REAL, tempDir } from '../helpers/fixtures.js';
import { GDAL_PYTHON, hasGdal } from '../helpers/gdal.js';
import { RangeServer } from '../storage/support/range-server.js';

/**
 * Zones in GeoPackage, FlatGeobuf and Shapefile files, made at test time by GDAL's ogr2ogr from one
 * GeoJSON (examples/data/l7-zones.geojson, plus a two-part zone, every position with a z), in EPSG:4326
 * and in a projected CRS, must land on the same pixels of the Landsat 7 fixture as the GeoJSON does;
 * end to end, `databox zonal` on each gives GDAL's statistics of the GeoJSON (zonal_reference.py).
 */

const L7 = join(REAL, 'landsat7', 'L7_ETMs.tif'); // SIRGAS 2000 / UTM zone 25S (EPSG:31985)
const EXAMPLE = fileURLToPath(new URL('../../examples/data/l7-zones.geojson', import.meta.url));
const REFERENCE = fileURLToPath(new URL('./zonal_reference.py', import.meta.url));
const STATS = 'count,nodata,sum,mean,min,max,median';
const UTM_PROJ = '+proj=utm +zone=25 +south +datum=WGS84 +units=m +no_defs';
const tmp = tempDir('zones-formats');
const at = (name: string): string => join(tmp.dir, name);

type Row = Record<string, unknown>;

function ogr2ogr(...args: string[]): void {
  execFileSync('ogr2ogr', args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** GDAL's own statistics of each feature of `zones` on band 4 (see zonal_reference.py). */
function reference(zones: string): Row[] {
  return JSON.parse(execFileSync(GDAL_PYTHON, [REFERENCE, L7, '4', zones, '0', '10'], { encoding: 'utf8' })) as Row[];
}

/** The zones of examples/data/l7-zones.geojson (or three of our own where it is missing), a two-part zone added, z on every position. */
function zonesGeoJson(): object {
  const square = (x: number, y: number, r: number): number[][] => [[x - r, y - r], [x + r, y - r], [x + r, y + r], [x - r, y + r], [x - r, y - r]];
  const features: { type: string; properties: Record<string, unknown>; geometry: { type: string; coordinates: unknown } }[] = existsSync(EXAMPLE)
    ? (JSON.parse(readFileSync(EXAMPLE, 'utf8')) as { features: never[] }).features
    : [
        { type: 'Feature', properties: { name: 'north field' }, geometry: { type: 'Polygon', coordinates: [square(-34.89, -7.97, 0.012)] } },
        { type: 'Feature', properties: { name: 'lake with island' }, geometry: { type: 'Polygon', coordinates: [square(-34.86, -8.01, 0.015), square(-34.86, -8.01, 0.004).reverse()] } },
        { type: 'Feature', properties: { name: 'beyond the scene' }, geometry: { type: 'Polygon', coordinates: [square(-34.7, -7.9, 0.01)] } },
      ];
  features.push({
    type: 'Feature',
    properties: { name: 'two parts' },
    geometry: { type: 'MultiPolygon', coordinates: [[square(-34.905, -8.03, 0.004)], [[[-34.845, -7.958], [-34.832, -7.962], [-34.84, -7.972], [-34.845, -7.958]]]] },
  });
  const withZ = (c: unknown): unknown => (Array.isArray(c) && typeof c[0] === 'number' ? [c[0], c[1], 12.5] : (c as unknown[]).map(withZ));
  return { type: 'FeatureCollection', features: features.map((f, i) => ({ ...f, properties: { ...f.properties, code: 100 + i }, geometry: { ...f.geometry, coordinates: withZ(f.geometry.coordinates) } })) };
}

/** Rings equal as closed loops (the same vertices in the same order, from any start), within `tol` pixels. */
function sameRing(a: Float64Array, b: Float64Array, tol: number): boolean {
  const n = a.length / 2;
  if (b.length !== a.length) return false;
  const close = (i: number, j: number): boolean => Math.abs(a[2 * i]! - b[2 * j]!) <= tol && Math.abs(a[2 * i + 1]! - b[2 * j + 1]!) <= tol;
  for (let k = 0; k < n; k++) {
    let all = true;
    for (let i = 0; i < n && all; i++) all = close((k + i) % n, i);
    if (all) return true;
  }
  return false;
}

/** The same zones on the same pixels: ids, polygons and rings, vertices within 1e-6 px. */
function expectSamePixels(ours: PixelZone[], theirs: PixelZone[]): void {
  expect(ours.map((z) => z.id)).toEqual(theirs.map((z) => z.id));
  ours.forEach((zone, z) => {
    const other = theirs[z]!;
    expect(zone.polygons.map((p) => p.map((r) => r.length))).toEqual(other.polygons.map((p) => p.map((r) => r.length)));
    zone.polygons.forEach((rings, p) => rings.forEach((ring, r) => expect([z, p, r, sameRing(ring, other.polygons[p]![r]!, 1e-6)]).toEqual([z, p, r, true])));
  });
}

describe.skipIf(!hasGdal)('zones from GeoPackage, FlatGeobuf and Shapefile files', () => {
  let grid: RasterGrid;
  let geojson: PixelZone[];
  const pixels = (set: ZoneSet): PixelZone[] => toPixelSpace(set, grid);
  const read = (name: string, options: Parameters<typeof readZones>[1] = {}): Promise<ZoneSet> => readZones(at(name), { idField: 'name', ...options });

  beforeAll(async () => {
    writeFileSync(at('zones.geojson'), JSON.stringify(zonesGeoJson()));
    // The same zones in the raster's CRS, with the crs member GDAL writes, and without it.
    ogr2ogr('-f', 'GeoJSON', '-t_srs', 'EPSG:31985', at('utm.geojson'), at('zones.geojson'));
    const utm = JSON.parse(readFileSync(at('utm.geojson'), 'utf8')) as Record<string, unknown>;
    expect(utm.crs).toEqual({ type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::31985' } });
    writeFileSync(at('utm-nocrs.geojson'), JSON.stringify({ ...utm, crs: undefined }));
    ogr2ogr('-f', 'GeoJSON', '-t_srs', 'EPSG:32725', at('utm25s-nocrs.geojson'), at('zones.geojson'));
    // FlatGeobuf without its spatial index, which would store (and GDAL read) the features in index order.
    for (const [ext, driver, ...more] of [['gpkg', 'GPKG'], ['fgb', 'FlatGeobuf', '-lco', 'SPATIAL_INDEX=NO'], ['shp', 'ESRI Shapefile']]) {
      ogr2ogr('-f', driver!, ...more, at(`zones-4326.${ext}`), at('zones.geojson'));
      ogr2ogr('-f', driver!, ...more, '-t_srs', 'EPSG:32725', at(`zones-32725.${ext}`), at('zones.geojson'));
    }
    const raster = await GeoTiff.open(L7);
    grid = { proj: raster.crs?.proj || null, epsg: raster.crs?.epsg ?? null, geotransform: raster.geotransform! };
    await raster.close();
    expect(grid.epsg).toBe(31985);
    geojson = pixels(parseZones(readFileSync(at('zones.geojson'), 'utf8'), { source: 'zones.geojson', idField: 'name' }));
  }, 60_000);
  afterAll(() => tmp.remove());

  for (const format of ['gpkg', 'fgb', 'shp']) {
    for (const crs of ['4326', '32725']) {
      it(`a ${format} in EPSG:${crs} lands on the same pixels as the GeoJSON, with its ids, holes, two parts and z ignored`, async () => {
        const set = await read(`zones-${crs}.${format}`);
        expect(set.crsFrom).toBe('file');
        // A .prj is ESRI WKT without a code, read by proj4; GeoPackage and FlatGeobuf name the EPSG code.
        if (format === 'shp') expect([set.epsg, set.proj]).toEqual([null, expect.stringMatching(crs === '4326' ? /^GEOGCS\["GCS_WGS_1984"/ : /^PROJCS\["WGS_1984_UTM_Zone_25S"/)]);
        else expect(set.epsg).toBe(Number(crs));
        expect(set.zones.map((z) => z.id)).toEqual(['north field', 'lake with island', 'beyond the scene', 'two parts']);
        expect(set.zones.map((z) => z.polygons.map((p) => p.length))).toEqual([[1], [2], [1], [1, 1]]);
        expectSamePixels(pixels(set), geojson);
      });
    }
  }

  it('--id-field takes attributes from the .dbf, GeoPackage columns and FlatGeobuf properties alike', async () => {
    for (const name of ['zones-4326.gpkg', 'zones-4326.fgb', 'zones-4326.shp', 'zones.geojson']) {
      expect((await read(name, { idField: 'code' })).zones.map((z) => z.id)).toEqual([100, 101, 102, 103]);
      await expect(read(name, { idField: 'nope' })).rejects.toThrow(/feature 0: has no property "nope" \(--id-field\)/);
    }
  });

  it('a GeoJSON in UTM metres without a crs member is refused, naming the feature and the value', async () => {
    await expect(read('utm-nocrs.geojson')).rejects.toThrow(
      new RegExp(`utm-nocrs\\.geojson: feature 0: x 2\\d{5}(\\.\\d+)? is outside -180\\.\\.180, so these coordinates are not longitude/latitude .*give their CRS with --zones-crs \\(for example --zones-crs EPSG:32632\\)`),
    );
  });

  it('--zones-crs places those zones where the crs member would, and where the EPSG:4326 GeoJSON lands', async () => {
    const given = await read('utm-nocrs.geojson', { crs: 'EPSG:31985' });
    expect([given.epsg, given.crsFrom]).toEqual([31985, 'option']);
    expectSamePixels(pixels(given), pixels(await read('utm.geojson')));
    expectSamePixels(pixels(given), geojson);
    // A bare number, a PROJ string and ESRI WKT (no code, read by proj4) say the same of the EPSG:32725 copy.
    const esri = execFileSync('gdalsrsinfo', ['-o', 'wkt_esri', 'EPSG:32725'], { encoding: 'utf8' }).trim();
    for (const crs of ['32725', UTM_PROJ, esri]) expectSamePixels(pixels(await read('utm25s-nocrs.geojson', { crs })), geojson);
  });

  it('WKT whose axes say latitude first still reads x as longitude, as OGR reads vector files', async () => {
    const wkt2 = execFileSync('gdalsrsinfo', ['-o', 'wkt2', 'EPSG:4326'], { encoding: 'utf8' }).trim();
    expect(wktEpsg(wkt2)).toBe(4326);
    const noCode = wkt2.replace(/,\s*ID\["EPSG",4326\]\]$/, ']');
    expect(wktEpsg(noCode)).toBeUndefined();
    const set = await read('zones.geojson', { crs: noCode });
    expect([set.epsg, set.crsFrom]).toEqual([null, 'option']);
    expectSamePixels(pixels(set), geojson);
  });

  it('--zones-crs overrides a wrong CRS in the file, as ogr2ogr -s_srs does', async () => {
    ogr2ogr('-f', 'GPKG', '-a_srs', 'EPSG:32632', at('mislabelled.gpkg'), at('zones-32725.gpkg'));
    expect((await read('mislabelled.gpkg')).epsg).toBe(32632);
    const fixed = await read('mislabelled.gpkg', { crs: 'EPSG:32725' });
    expect([fixed.epsg, fixed.crsFrom]).toEqual([32725, 'option']);
    expectSamePixels(pixels(fixed), geojson);
  });

  it('a shapefile without a .prj is EPSG:4326 by the ±180/±90 rule, or takes --zones-crs', async () => {
    mkdirSync(at('noprj'));
    for (const crs of ['4326', '32725']) for (const ext of ['shp', 'shx', 'dbf']) copyFileSync(at(`zones-${crs}.${ext}`), at(`noprj/zones-${crs}.${ext}`));
    const lonlat = await read('noprj/zones-4326.shp');
    expect([lonlat.epsg, lonlat.crsFrom]).toEqual([4326, 'assumed']);
    expectSamePixels(pixels(lonlat), geojson);
    await expect(read('noprj/zones-32725.shp')).rejects.toThrow(/zones-32725\.shp: feature 0: x \d+(\.\d+)? is outside -180\.\.180/);
    expectSamePixels(pixels(await read('noprj/zones-32725.shp', { crs: 'EPSG:32725' })), geojson);
  });

  it('a shapefile without its .dbf is refused, naming the missing file', async () => {
    mkdirSync(at('nodbf'));
    copyFileSync(at('zones-4326.shp'), at('nodbf/zones.shp'));
    await expect(read('nodbf/zones.shp')).rejects.toThrow(/zones\.shp: its \.dbf \(the attributes\) is missing: there is no .*nodbf\/zones\.dbf/);
  });

  it('a GeoPackage with two layers needs --zones-layer, and the error lists them', async () => {
    ogr2ogr('-f', 'GPKG', '-nln', 'fields', at('two.gpkg'), at('zones.geojson'));
    ogr2ogr('-update', '-nln', 'lakes', '-t_srs', 'EPSG:32725', at('two.gpkg'), at('zones.geojson'));
    await expect(read('two.gpkg')).rejects.toThrow(/two\.gpkg has 2 feature tables \(fields, lakes\); name one with --zones-layer/);
    const lakes = await read('two.gpkg', { layer: 'lakes' });
    expect(lakes.epsg).toBe(32725);
    expectSamePixels(pixels(lakes), geojson);
    await expect(read('two.gpkg', { layer: 'roads' })).rejects.toThrow(/--zones-layer roads: .*two\.gpkg has no feature table of that name; its feature tables: fields, lakes/);
    await expect(read('zones-4326.fgb', { layer: 'fields' })).rejects.toThrow(/--zones-layer fields: .*zones-4326\.fgb is a FlatGeobuf file, which holds one layer/);
  });

  it('a point among the polygons of a GeoPackage is refused, naming the feature', async () => {
    const point = { type: 'FeatureCollection', features: [...(zonesGeoJson() as { features: unknown[] }).features.slice(0, 1), { type: 'Feature', properties: { name: 'well' }, geometry: { type: 'Point', coordinates: [-34.9, -8] } }] };
    writeFileSync(at('point.geojson'), JSON.stringify(point));
    ogr2ogr('-f', 'GPKG', at('point.gpkg'), at('point.geojson'));
    await expect(read('point.gpkg')).rejects.toThrow(/point\.gpkg: feature 1: geometry type Point is not supported; zones must be Polygon or MultiPolygon/);
  });

  it('a file of another format is refused with the list of formats accepted', async () => {
    writeFileSync(at('zones.csv'), 'name,wkt\na,"POLYGON ((0 0,1 0,1 1,0 0))"\n');
    const accepted = /accepted: GeoJSON \(\.geojson, \.json\), GeoPackage \(\.gpkg\), FlatGeobuf \(\.fgb\) and Shapefile/;
    for (const file of [at('zones.csv'), L7, at('zones-4326.dbf')]) {
      const err = await readZones(file).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ZoneError);
      expect((err as Error).message).toMatch(/is not a zones file this reader knows/);
      expect((err as Error).message).toMatch(accepted);
    }
    await expect(readZones(at('zones-4326.dbf'))).rejects.toThrow(/a \.dbf is one part of a shapefile; give its \.shp/);
  });

  it('a bad --zones-crs is refused, naming the value, before the file is read', async () => {
    const cases: [string, RegExp][] = [
      ['WGS84-ish', /--zones-crs "WGS84-ish" is not a CRS: give an EPSG code \(EPSG:32632 or 32632\), a PROJ string .* or WKT/],
      ['EPSG:999999', /--zones-crs "EPSG:999999" \(EPSG:999999\) cannot be used/],
      ['+proj=utm +datum=WGS84', /--zones-crs "\+proj=utm \+datum=WGS84" cannot be used: proj4 reads it but cannot transform with it/],
      ['+proj=nonsense', /--zones-crs "\+proj=nonsense" cannot be used: proj4 does not read it/],
      ['PROJCS["broken"', /--zones-crs "PROJCS\[\\"broken\\"" cannot be used/],
    ];
    for (const [crs, message] of cases) await expect(readZones(at('does-not-exist.geojson'), { crs })).rejects.toThrow(message);
  });

  it('reads every format over HTTP, a shapefile with its .dbf and .prj beside it', async () => {
    const server = await new RangeServer(tmp.dir).listen();
    try {
      for (const name of ['zones.geojson', 'zones-32725.fgb', 'zones-32725.gpkg', 'zones-32725.shp']) {
        const set = await readZones(server.url(name), { idField: 'name' });
        expect([set.source, set.crsFrom]).toEqual([server.url(name), name === 'zones.geojson' ? 'assumed' : 'file']);
        expectSamePixels(pixels(set), geojson);
      }
      await expect(readZones(server.url('noprj/zones-32725.shp'))).rejects.toThrow(/feature 0: x \d+(\.\d+)? is outside -180\.\.180/);
    } finally {
      await server.close();
    }
  });

  describe('databox zonal end to end, on an embedded cluster', () => {
    const cli = (zones: string, ...extra: string[]): ReturnType<typeof runCli> =>
      runCli(['zonal', '--raster', L7, '--band', '4', '--zones', zones, '--stats', STATS, '--id-field', 'name', '--workers', '1', ...extra], { timeoutMs: 120_000 });
    let expected: Row[];

    const expectStats = (out: string): void => {
      const rows = JSON.parse(readFileSync(out, 'utf8')) as Row[];
      expect(rows.map((r) => r.id)).toEqual(['north field', 'lake with island', 'beyond the scene', 'two parts']);
      rows.forEach((row, i) => {
        for (const k of STATS.split(',')) expect([i, k, row[k]]).toEqual([i, k, expected[i]![k]]);
      });
      expect(rows[0]!.count).toBeGreaterThan(100);
      expect(rows[2]!.count).toBe(0);
    };

    beforeAll(() => {
      expected = reference(at('zones.geojson'));
      // GDAL reads the UTM copy with its crs member to the same statistics.
      expect(reference(at('utm.geojson'))).toEqual(expected);
    }, 60_000);

    it('refuses zones in UTM metres without a crs member, naming the feature and the value', async () => {
      const out = at('refused.json');
      const r = await cli(at('utm-nocrs.geojson'), '--out', out);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^databox: .*utm-nocrs\.geojson: feature 0: x 2\d{5}(\.\d+)? is outside -180\.\.180, so these coordinates are not longitude\/latitude/);
      expect(existsSync(out)).toBe(false);
    });

    it('with --zones-crs EPSG:31985 gives the statistics GDAL gives the EPSG:4326 GeoJSON', async () => {
      const out = at('utm.json');
      const r = await cli(at('utm-nocrs.geojson'), '--zones-crs', 'EPSG:31985', '--out', out);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expectStats(out);
    });

    for (const format of ['gpkg', 'fgb', 'shp']) {
      it(`gives GDAL's statistics of the GeoJSON from a ${format} in EPSG:32725`, async () => {
        const out = at(`${format}.json`);
        const r = await cli(at(`zones-32725.${format}`), '--out', out);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expectStats(out);
      });
    }
  });
});

describe('zone file details', () => {
  it('tells the formats apart by their first bytes, the extension only where those say nothing', () => {
    const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
    const text = (s: string): Uint8Array => new TextEncoder().encode(s);
    expect(detectZonesFormat(bytes(0x66, 0x67, 0x62, 3, 0x66, 0x67, 0x62, 1), 'z.bin')).toBe('FlatGeobuf');
    expect(detectZonesFormat(text('SQLite format 3\0...'), 'z')).toBe('GeoPackage');
    expect(detectZonesFormat(bytes(0, 0, 0x27, 0x0a, 0, 0), 'z.dat')).toBe('Shapefile');
    expect(detectZonesFormat(text('\ufeff \n {"type":'), 'zones')).toBe('GeoJSON');
    expect(detectZonesFormat(text('not json'), 'https://h/zones.geojson?sig=1')).toBe('GeoJSON');
    expect(detectZonesFormat(text('name,wkt'), 'zones.csv')).toBeUndefined();
  });

  it('finds the EPSG code of a WKT CRS at its root, not those of its datum or base CRS', () => {
    const wkt1 = 'PROJCS["WGS 84 / UTM zone 32N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],AUTHORITY["EPSG","4326"]],PROJECTION["Transverse_Mercator"],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AUTHORITY["EPSG","32632"]]';
    expect(wktEpsg(wkt1)).toBe(32632);
    expect(wktEpsg(wkt1.replace(/,AUTHORITY\["EPSG","32632"\]\]$/, ']'))).toBeUndefined();
    expect(wktEpsg('PROJCRS["a ""quoted"" ID[\\"EPSG\\",1]",BASEGEOGCRS["x",ID["EPSG",4326]],ID["EPSG",31985]]')).toBe(31985);
  });

  it('skips the GeoPackage geometry header and its envelope, whatever its size, to the WKB', () => {
    const wkb = Uint8Array.from([1, 3, 0, 0, 0, 0, 0, 0, 0]);
    for (const [indicator, envelope] of [[0, 0], [1, 32], [2, 48], [3, 48], [4, 64]] as const) {
      const blob = new Uint8Array(8 + envelope + wkb.length);
      blob.set([0x47, 0x50, 0, 1 | (indicator << 1), 0xe6, 0x10, 0, 0]);
      blob.set(wkb, 8 + envelope);
      expect(gpkgWkb(blob, 'z.gpkg: feature 0')).toEqual(wkb);
    }
    expect(gpkgWkb(Uint8Array.from([0x47, 0x50, 0, 0x11, 0, 0, 0, 0]), 'w')).toBeNull();
    expect(() => gpkgWkb(Uint8Array.from([0x47, 0x50, 0, 5 << 1, 0, 0, 0, 0]), 'z.gpkg: feature 3')).toThrow(/z\.gpkg: feature 3: the geometry header's envelope indicator 5 is not valid/);
    expect(() => gpkgWkb(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 'z.gpkg: feature 0')).toThrow(/not a GeoPackage geometry blob/);
  });
});
