import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import proj4 from 'proj4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rasterizeZone, zoneBounds, type Spans } from '../../src/algebra/zonal/rasterize.js';
import { ZoneError, parseZones, toPixelSpace, type PixelZone, type ZoneSet } from '../../src/algebra/zonal/zones/index.js';
import { projForEpsg } from '../../src/raster/crs/index.js';
import type { GeoTransform } from '../../src/raster/index.js';
import { REAL, tempDir } from '../helpers/fixtures.js';
import { GDAL_PYTHON, hasGdal } from '../helpers/gdal.js';
import { prng } from '../helpers/prng.js';

type Pt = [number, number];
type Shape = Pt[][][]; // polygons → rings → points, in pixel space, rings open
interface Grid {
  width: number;
  height: number;
  gt: GeoTransform;
  epsg: number;
}
interface Job {
  name: string;
  grid: Grid & { like?: string };
  /** How the shapes are written: in the grid's CRS with this crs member, or in EPSG:4326 longitude/latitude. */
  crs: { name: string } | 'lonlat';
  cases: { label: string; shape: Shape }[];
}

const UTM: Grid = { width: 300, height: 200, gt: [412345.67, 30, 0, 5567890.12, 0, -30], epsg: 32632 };
const EXACT: Grid = { width: 120, height: 100, gt: [400000, 32, 0, 5600000, 0, -32], epsg: 32632 };
/** 10 m pixels whose 1/10 is inexact: GDAL's inverse geotransform puts grid-aligned vertices a hair off their lines. */
const TEN: Grid = { width: 120, height: 100, gt: [500000.1, 10, 0, 5000000.1, 0, -10], epsg: 32632 };
const ROTATED: Grid = { width: 160, height: 120, gt: [412345.67, 25, 6, 5567890.12, 5, -25], epsg: 32632 };
const L7_FILE = join(REAL, 'landsat7', 'L7_ETMs.tif');

const rand = prng(20240611);
const between = (a: number, b: number): number => a + (b - a) * rand();

/** A ring around (cx, cy): radius r(angle), n vertices, clockwise or not at random. */
function ring(cx: number, cy: number, n: number, radius: (a: number) => number): Pt[] {
  const angles = Array.from({ length: n }, () => between(0, 2 * Math.PI)).sort((a, b) => a - b);
  const pts = angles.map((a): Pt => {
    const r = radius(a);
    return [cx + r * Math.cos(a), cy + r * Math.sin(a)];
  });
  return rand() < 0.5 ? pts.reverse() : pts;
}
const convex = (cx: number, cy: number, rx: number, ry: number, n: number): Pt[] => {
  const pts = ring(cx, cy, n, () => 1);
  return pts.map(([x, y]) => [cx + (x - cx) * rx, cy + (y - cy) * ry]);
};
const star = (cx: number, cy: number, rMin: number, rMax: number, n: number): Pt[] => ring(cx, cy, n, () => between(rMin, rMax));
const box = (x0: number, y0: number, x1: number, y1: number): Pt[] => [
  [x0, y0],
  [x1, y0],
  [x1, y1],
  [x0, y1],
];

function utmCases(): Job['cases'] {
  const cases: Job['cases'] = [];
  for (let i = 0; i < 8; i++) {
    cases.push({ label: `convex ${i}`, shape: [[convex(between(30, 270), between(30, 170), between(3, 40), between(3, 40), 20 + i * 25)]] });
  }
  for (let i = 0; i < 8; i++) cases.push({ label: `star ${i}`, shape: [[star(between(40, 260), between(40, 160), between(3, 15), between(20, 45), 30 + i * 40)]] });
  for (let i = 0; i < 3; i++) {
    const [cx, cy] = [between(60, 240), between(60, 140)];
    const holes = [convex(cx - 8, cy, 5, 7, 16), convex(cx + 10, cy + 3, 4, 4, 9)];
    cases.push({ label: `polygon with holes ${i}`, shape: [[star(cx, cy, 30, 50, 120), ...holes.slice(0, 1 + (i % 2))]] });
  }
  cases.push({
    label: 'multipolygon',
    shape: [[star(60, 60, 10, 30, 80)], [star(200, 120, 20, 40, 90), convex(200, 120, 8, 6, 12)], [convex(120, 170, 15, 8, 30)]],
  });
  cases.push({ label: 'multipolygon with overlapping parts', shape: [[convex(100, 100, 30, 20, 40)], [convex(120, 110, 30, 25, 40)]] });
  const edges: Pt[] = [[-10, 50], [310, 100], [150, -20], [150, 215], [0, 0], [300, 200]];
  for (const [cx, cy] of edges) cases.push({ label: `crossing the raster edge at ${cx},${cy}`, shape: [[star(cx, cy, 15, 45, 150)]] });
  cases.push({ label: 'covering the whole raster', shape: [[star(150, 100, 190, 260, 40)]] });
  cases.push({ label: 'entirely outside', shape: [[star(-100, -80, 10, 30, 50)]] });
  for (let i = 0; i < 6; i++) cases.push({ label: `tiny ${i}`, shape: [[convex(between(10, 290), between(10, 190), between(0.1, 0.4), between(0.1, 0.4), 3 + i)]] });
  const around = (cx: number, cy: number): Pt[] => [0.3, 1.9, 3.5, 5.1].map((a) => [cx + 0.2 * Math.cos(a), cy + 0.2 * Math.sin(a)]);
  cases.push({ label: 'tiny around a pixel centre', shape: [[around(100.5, 50.5)]] });
  cases.push({ label: 'tiny around a pixel corner', shape: [[around(101, 51)]] });
  cases.push({ label: 'with vertices on pixel centres', shape: [[[[20.5, 20.5], [60.5, 30.5], [40.5, 80.5], [10.5, 50.5]]]] });
  cases.push({ label: 'with vertices on pixel corners', shape: [[[[120, 20], [170, 35], [150, 90], [110, 60]]]] });
  return cases;
}

function exactCases(): Job['cases'] {
  const comb: Pt[] = [[10, 60.5], [50, 60.5], [50, 90.5], [40, 90.5], [40, 70.5], [30, 70.5], [30, 90.5], [20, 90.5], [20, 70.5], [10, 70.5]];
  return [
    { label: 'box on pixel edges', shape: [[box(10, 10, 30, 25)]] },
    { label: 'box on centre lines, one way', shape: [[box(35.5, 10.5, 55.5, 25.5)]] },
    { label: 'box on centre lines, the other way', shape: [[box(35.5, 10.5, 55.5, 25.5).reverse()]] },
    { label: 'diamond on pixel centres', shape: [[[[80.5, 5.5], [95.5, 20.5], [80.5, 35.5], [65.5, 20.5]]]] },
    { label: 'triangle with slopes through centres', shape: [[[[70, 40], [90, 80], [60, 70]]]] },
    { label: 'comb with horizontal edges on centre lines', shape: [[comb]] },
    { label: 'comb the other way', shape: [[comb.slice().reverse()]] },
    { label: 'box with a centre-line hole', shape: [[box(60.5, 45.5, 110.5, 95.5), box(70.5, 55.5, 90.5, 75.5)]] },
    { label: 'near-vertical and near-horizontal edges', shape: [[[[100, 5], [100.005, 30.2], [115.3, 30.204], [108, 6.3]]]] },
  ];
}

const starCases = (n: number, w: number, h: number): Job['cases'] =>
  Array.from({ length: n }, (_, i) => ({ label: `star ${i}`, shape: [[star(between(0.2, 0.8) * w, between(0.2, 0.8) * h, 5, between(20, 60), 60 + 30 * i)]] }));

/** Pixel → CRS coordinates, then to longitude/latitude when asked. */
function toCoords(shape: Shape, grid: Grid, lonlat: boolean): number[][][][] {
  const gt = grid.gt;
  const toGeo = lonlat ? proj4(projForEpsg(grid.epsg)!, projForEpsg(4326)!) : null;
  return shape.map((rings) =>
    rings.map((r) => {
      const pts = r.map(([px, py]) => {
        const xy = [gt[0] + px * gt[1] + py * gt[2], gt[3] + px * gt[4] + py * gt[5]];
        return toGeo === null ? xy : toGeo.forward(xy);
      });
      return [...pts, pts[0]!];
    }),
  );
}

function featureCollection(job: Job): string {
  const features = job.cases.map((c, zid) => {
    const coordinates = toCoords(c.shape, job.grid, job.crs === 'lonlat');
    const geometry = coordinates.length === 1 ? { type: 'Polygon', coordinates: coordinates[0] } : { type: 'MultiPolygon', coordinates };
    return { type: 'Feature', properties: { zid, label: c.label }, geometry };
  });
  const crs = job.crs === 'lonlat' ? {} : { crs: { type: 'name', properties: job.crs } };
  return JSON.stringify({ type: 'FeatureCollection', ...crs, features });
}

/** Burns every zone of every job with gdal_rasterize (GDAL's library form), with and without -at, in one Python run. */
const JUDGE = `
import json, sys
import numpy as np
from osgeo import gdal, osr
gdal.UseExceptions()
def runs(a):
    flat = []
    for r in np.nonzero(a.any(axis=1))[0]:
        d = np.diff(np.concatenate(([0], a[r].astype(np.int8), [0])))
        for x0, x1 in zip(np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]):
            flat += [int(r), int(x0), int(x1)]
    return flat
out = {}
for job in json.load(open(sys.argv[1])):
    g = job['grid']
    if 'like' in g:
        src = gdal.Open(g['like'])
        w, h, gt, wkt = src.RasterXSize, src.RasterYSize, src.GetGeoTransform(), src.GetProjection()
    else:
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(g['epsg'])
        w, h, gt, wkt = g['width'], g['height'], g['gt'], srs.ExportToWkt()
    vec = gdal.OpenEx(job['file'], gdal.OF_VECTOR)
    res = []
    for i in range(job['count']):
        pair = []
        for at in (False, True):
            ds = gdal.GetDriverByName('MEM').Create('', w, h, 1, gdal.GDT_Byte)
            ds.SetGeoTransform(gt)
            ds.SetProjection(wkt)
            gdal.Rasterize(ds, vec, burnValues=[1], allTouched=at, where='zid = %d' % i)
            pair.append(runs(ds.GetRasterBand(1).ReadAsArray()))
        res.append(pair)
    out[job['name']] = {'gt': list(gt), 'width': w, 'height': h, 'runs': res}
json.dump(out, sys.stdout)
`;

interface Judged {
  gt: GeoTransform;
  width: number;
  height: number;
  runs: [number[], number[]][];
}

function flat(spans: Spans): number[] {
  const out: number[] = [];
  for (let i = 0; i < spans.length; i++) out.push(spans.rows[i]!, spans.x0[i]!, spans.x1[i]!);
  return out;
}

/** Pixels in one run list and not the other (first ten each way), for a readable failure. */
function diff(ours: number[], theirs: number[]): { extra: string[]; missing: string[] } {
  const pixels = (runs: number[]): Set<string> => {
    const s = new Set<string>();
    for (let i = 0; i < runs.length; i += 3) for (let c = runs[i + 1]!; c < runs[i + 2]!; c++) s.add(`${runs[i]},${c}`);
    return s;
  };
  const [a, b] = [pixels(ours), pixels(theirs)];
  return { extra: [...a].filter((p) => !b.has(p)).slice(0, 10), missing: [...b].filter((p) => !a.has(p)).slice(0, 10) };
}

const count = (runs: number[]): number => runs.reduce((n, _, i) => (i % 3 === 2 ? n + runs[i]! - runs[i - 1]! : n), 0);

describe.skipIf(!hasGdal)('zones burn the same pixels as gdal_rasterize', () => {
  const tmp = tempDir('zonal-geometry');
  const l7Grid: Grid & { like: string } = { width: 349, height: 352, gt: [288776.25, 28.5, 0, 9120760.75, 0, -28.5], epsg: 31985, like: L7_FILE };
  const jobs: Job[] = [
    { name: 'utm', grid: UTM, crs: { name: 'urn:ogc:def:crs:EPSG::32632' }, cases: utmCases() },
    { name: 'exact', grid: EXACT, crs: { name: 'EPSG:32632' }, cases: exactCases() },
    { name: 'ten', grid: TEN, crs: { name: 'EPSG:32632' }, cases: exactCases() },
    { name: 'rotated', grid: ROTATED, crs: { name: 'EPSG:32632' }, cases: starCases(4, ROTATED.width, ROTATED.height) },
    { name: 'lonlat', grid: UTM, crs: 'lonlat', cases: starCases(5, UTM.width, UTM.height) },
    { name: 'landsat7', grid: l7Grid, crs: 'lonlat', cases: starCases(3, l7Grid.width, l7Grid.height) },
  ];
  const judged: Record<string, Judged> = {};
  const zones: Record<string, ZoneSet> = {};

  beforeAll(() => {
    const spec = jobs.map((job) => {
      const file = join(tmp.dir, `${job.name}.geojson`);
      const text = featureCollection(job);
      writeFileSync(file, text);
      zones[job.name] = parseZones(text, { source: file, idField: 'zid' });
      return { name: job.name, file, count: job.cases.length, grid: job.grid };
    });
    writeFileSync(join(tmp.dir, 'jobs.json'), JSON.stringify(spec));
    const script = join(tmp.dir, 'judge.py');
    writeFileSync(script, JUDGE);
    const out = execFileSync(GDAL_PYTHON, [script, join(tmp.dir, 'jobs.json')], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    Object.assign(judged, JSON.parse(out) as Record<string, Judged>);
  }, 60_000);
  afterAll(() => tmp.remove());

  const pixelZones = (name: string, epsg: number): PixelZone[] =>
    toPixelSpace(zones[name]!, { proj: projForEpsg(epsg)!, epsg, geotransform: judged[name]!.gt });

  for (const job of jobs) {
    for (const [i, c] of job.cases.entries()) {
      for (const allTouched of [false, true]) {
        it(`${job.name}: a ${c.label} zone${allTouched ? ', all touched,' : ''} burns exactly GDAL's pixels`, () => {
          const { width, height, runs } = judged[job.name]!;
          const zone = pixelZones(job.name, job.grid.epsg)[i]!;
          expect(zone.id).toBe(i);
          const ours = flat(rasterizeZone(zone, { x: 0, y: 0, width, height }, { allTouched, rasterSize: { width, height } }));
          const theirs = runs[i]![allTouched ? 1 : 0];
          expect(diff(ours, theirs)).toEqual({ extra: [], missing: [] });
          expect(ours).toEqual(theirs);
          if (c.label === 'entirely outside') expect(zoneBounds(zone, width, height, { allTouched })).toBeNull();
          else if (!c.label.startsWith('tiny')) expect(count(theirs)).toBeGreaterThan(20);
          if (c.label.startsWith('tiny')) expect(count(ours)).toBeLessThanOrEqual(allTouched ? 4 : 1);
          if (c.label.startsWith('tiny') && allTouched) expect(count(ours)).toBeGreaterThanOrEqual(1);
        });
      }
    }
  }

  it('a tiny polygon around a pixel centre burns that one pixel; one around a corner burns none, or four with -at', () => {
    const runs = judged['utm']!.runs;
    const at = (label: string): number => jobs[0]!.cases.findIndex((c) => c.label === label);
    expect(runs[at('tiny around a pixel centre')]![0]).toEqual([50, 100, 101]);
    expect(runs[at('tiny around a pixel corner')]![0]).toEqual([]);
    expect(runs[at('tiny around a pixel corner')]![1]).toEqual([50, 100, 102, 51, 100, 102]);
  });
});

/** Spans of a zone rasterised window by window, stitched back into whole-raster runs. */
function byWindows(zone: PixelZone, width: number, height: number, size: number, allTouched: boolean): number[] {
  const parts: number[][] = [];
  for (let y = 0; y < height; y += size) {
    for (let x = 0; x < width; x += size) {
      const s = rasterizeZone(zone, { x, y, width: size, height: size }, { allTouched, rasterSize: { width, height } });
      for (let i = 0; i < s.length; i++) {
        expect(s.x0[i]).toBeGreaterThanOrEqual(x);
        expect(s.x1[i]).toBeLessThanOrEqual(x + size);
        parts.push([s.rows[i]!, s.x0[i]!, s.x1[i]!]);
      }
    }
  }
  parts.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  const out: number[] = [];
  for (const [r, a, b] of parts) {
    const n = out.length;
    if (n > 0 && out[n - 3] === r && out[n - 1] === a) out[n - 1] = b!;
    else out.push(r!, a!, b!);
  }
  return out;
}

describe('rasterizing by windows', () => {
  const text = JSON.stringify({ type: 'Polygon', coordinates: toCoords([[star(150, 100, 40, 130, 400), convex(150, 100, 20, 15, 30)]], UTM, false)[0] });
  const set = parseZones(text, { source: 'star.geojson' });
  const zone = toPixelSpace({ ...set, epsg: 32632 }, { proj: null, epsg: 32632, geotransform: UTM.gt })[0]!;

  for (const allTouched of [false, true]) {
    it(`64×64 windows put together give the whole-raster spans${allTouched ? ' (all touched)' : ''}`, () => {
      const whole = flat(rasterizeZone(zone, { x: 0, y: 0, width: 300, height: 200 }, { allTouched, rasterSize: { width: 300, height: 200 } }));
      expect(count(whole)).toBeGreaterThan(10_000);
      expect(byWindows(zone, 300, 200, 64, allTouched)).toEqual(whole);
    });

    it(`the zone's bounds hold all of its pixels${allTouched ? ' (all touched)' : ''}`, () => {
      const bounds = zoneBounds(zone, 300, 200, { allTouched })!;
      const whole = rasterizeZone(zone, { x: 0, y: 0, width: 300, height: 200 }, { allTouched, rasterSize: { width: 300, height: 200 } });
      expect(flat(rasterizeZone(zone, bounds, { allTouched, rasterSize: { width: 300, height: 200 } }))).toEqual(flat(whole));
    });
  }

  it('spans are sorted by row then column, merged and clipped to the window', () => {
    const s = rasterizeZone(zone, { x: 100, y: 50, width: 37, height: 41 }, { allTouched: true });
    expect(s.length).toBeGreaterThan(0);
    for (let i = 0; i < s.length; i++) {
      expect(s.rows[i]).toBeGreaterThanOrEqual(50);
      expect(s.rows[i]).toBeLessThan(91);
      expect(s.x0[i]).toBeGreaterThanOrEqual(100);
      expect(s.x1[i]).toBeLessThanOrEqual(137);
      expect(s.x0[i]).toBeLessThan(s.x1[i]!);
      if (i > 0 && s.rows[i] === s.rows[i - 1]) expect(s.x0[i]).toBeGreaterThan(s.x1[i - 1]!);
      if (i > 0) expect(s.rows[i]).toBeGreaterThanOrEqual(s.rows[i - 1]!);
    }
  });
});

describe('parsing zones', () => {
  const square = (x = 0, y = 0, d = 10): number[][] => [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]];
  const feature = (geometry: unknown, properties: unknown = {}): object => ({ type: 'Feature', properties, geometry });
  const fc = (...features: unknown[]): string => JSON.stringify({ type: 'FeatureCollection', features });
  const poly = (...rings: unknown[]): object => ({ type: 'Polygon', coordinates: rings });
  const fails = (text: string, message: RegExp | string, idField?: string): void => {
    let caught: unknown;
    try {
      parseZones(text, { source: 'zones.geojson', idField });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ZoneError);
    expect((caught as ZoneError).code).toBe('ERR_ZONES');
    expect((caught as ZoneError).message).toMatch(/^zones\.geojson/);
    expect((caught as ZoneError).message).toMatch(message);
  };

  it('a FeatureCollection gives one zone per feature, in EPSG:4326 when it has no crs', () => {
    const set = parseZones(fc(feature(poly(square())), feature({ type: 'MultiPolygon', coordinates: [[square(20)], [square(40)]] })), { source: 'z' });
    expect(set.epsg).toBe(4326);
    expect(set.zones.map((z) => [z.index, z.id, z.polygons.length])).toEqual([[0, 0, 1], [1, 1, 2]]);
    expect([...set.zones[0]!.polygons[0]![0]!]).toEqual([0, 0, 10, 0, 10, 10, 0, 10]);
  });

  it('a single Feature and a bare Polygon are one zone each; a z value is ignored', () => {
    expect(parseZones(JSON.stringify(feature(poly(square()))), { source: 'z' }).zones).toHaveLength(1);
    const bare = parseZones(JSON.stringify(poly([[0, 0, 5], [1, 0, 5], [1, 1, 5], [0, 0, 5]])), { source: 'z' });
    expect([...bare.zones[0]!.polygons[0]![0]!]).toEqual([0, 0, 1, 0, 1, 1]);
  });

  it('the id comes from --id-field, strings and numbers alike, duplicates allowed', () => {
    const text = fc(feature(poly(square()), { name: 'a' }), feature(poly(square()), { name: 7 }), feature(poly(square()), { name: 'a' }));
    expect(parseZones(text, { source: 'z', idField: 'name' }).zones.map((z) => z.id)).toEqual(['a', 7, 'a']);
  });

  it('the crs member names the EPSG code in any of its spellings', () => {
    const withCrs = (name: string): number => parseZones(JSON.stringify({ type: 'FeatureCollection', crs: { type: 'name', properties: { name } }, features: [] }), { source: 'z' }).epsg;
    expect(withCrs('urn:ogc:def:crs:EPSG::32632')).toBe(32632);
    expect(withCrs('EPSG:31985')).toBe(31985);
    expect(withCrs('urn:ogc:def:crs:OGC:1.3:CRS84')).toBe(4326);
  });

  it('rings that only touch (a shared vertex, a vertex on an edge, a pinched ring) are accepted', () => {
    const outer = square(0, 0, 4);
    const touchingHole = [[0, 0], [1, 2], [2, 1], [0, 0]];
    const tHole = [[2, 0], [3, 1], [1, 1], [2, 0]];
    const pinched = [[0, 0], [1, 1], [2, 0], [2, 2], [1, 1], [0, 2], [0, 0]];
    const repeated = [[0, 0], [4, 0], [4, 0], [4, 4], [0, 4], [0, 0]];
    for (const geometry of [poly(outer, touchingHole), poly(outer, tHole), poly(pinched), poly(repeated)]) {
      expect(() => parseZones(JSON.stringify(geometry), { source: 'z' })).not.toThrow();
    }
  });

  it('a big polygon is checked band by band: valid as drawn, refused once two vertices swap places', () => {
    const n = 3000;
    const ring = Array.from({ length: n }, (_, i) => {
      const a = (2 * Math.PI * i) / n;
      const r = 1000 + 80 * Math.sin(37 * a);
      return [500000 + r * Math.cos(a), 5000000 + r * Math.sin(a)];
    });
    const hole = [[500000, 5000000], [500100, 5000000], [500100, 5000100], [500000, 5000000]];
    expect(() => parseZones(JSON.stringify(poly([...ring, ring[0]], hole)), { source: 'z' })).not.toThrow();
    [ring[2000], ring[2001]] = [ring[2001]!, ring[2000]!];
    let message = '';
    try {
      parseZones(JSON.stringify(poly([...ring, ring[0]])), { source: 'z' });
    } catch (err) {
      message = (err as Error).message;
    }
    const [x, y] = (/intersects itself at \[([\d.]+),([\d.]+)\]/.exec(message) ?? []).slice(1).map(Number);
    expect(Math.hypot(x! - ring[2000]![0]!, y! - ring[2000]![1]!)).toBeLessThan(3);
  });

  it('text that is not JSON is refused with the parser message', () => fails('{"type": ', /zones\.geojson is not JSON: .+/));
  it('a Point feature is refused, naming the feature and the type', () => fails(fc(feature(poly(square())), feature({ type: 'Point', coordinates: [0, 0] })), /feature 1: geometry type Point is not supported/));
  it('a LineString feature is refused', () => fails(fc(feature({ type: 'LineString', coordinates: [[0, 0], [1, 1]] })), /feature 0: geometry type LineString/));
  it('a GeometryCollection feature is refused', () => fails(fc(feature({ type: 'GeometryCollection', geometries: [] })), /feature 0: geometry type GeometryCollection/));
  it('a null geometry is refused', () => fails(fc(feature(poly(square())), feature(poly(square())), feature(null)), /feature 2: has no geometry \(null\)/));
  it('a bad position is refused with its path and value', () =>
    fails(fc(feature(poly(square())), feature(poly([[0, 0], [1, 0], [1, 'a'], [0, 0]]))), 'zones.geojson: feature 1: geometry.coordinates[0][2] must be a [x, y] pair of finite numbers (got [1,"a"])'));
  it('a ring that is not an array is refused with its path', () => fails(fc(feature(poly(5))), /feature 0: geometry\.coordinates\[0\] must be an array of \[x, y\] positions \(got 5\)/));
  it('a ring with fewer than 4 positions is refused', () => fails(fc(feature(poly(square(), [[1, 1], [2, 2], [1, 1]]))), /feature 0: ring 1 has 3 positions; a closed ring needs at least 4/));
  it('a ring that is not closed is refused', () => fails(fc(feature({ type: 'MultiPolygon', coordinates: [[square()], [square().slice(0, 4).concat([[9, 9]])]] })), /feature 0: ring 0 of polygon 1 is not closed: it starts at \[0,0\] and ends at \[9,9\]/));
  it('a ring without three distinct positions is refused', () => fails(fc(feature(poly([[0, 0], [1, 1], [1, 1], [0, 0]]))), /feature 0: ring 0 has fewer than 3 distinct positions/));
  it('a bow-tie ring is refused at its crossing point', () => fails(fc(feature(poly(square())), feature(poly([[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]))), /feature 1: polygon intersects itself at \[1,1\]/));
  it('a bow-tie crossing at a vertex is refused', () => fails(fc(feature(poly([[0, 0], [1, 1], [2, 2], [2, 0], [1, 1], [0, 2], [0, 0]]))), /feature 0: polygon intersects itself at \[1,1\]/));
  it('a hole crossing its outer ring is refused', () => fails(fc(feature(poly(square(0, 0, 4), square(3, 1, 2)))), /feature 0: polygon intersects itself at \[4,(1|3)\]/));
  it('an unknown EPSG code is refused, naming the CRS', () => fails(JSON.stringify({ type: 'FeatureCollection', crs: { type: 'name', properties: { name: 'EPSG:999999' } }, features: [] }), /crs "EPSG:999999" \(EPSG:999999\) cannot be used/));
  it('a crs name that is not an EPSG code is refused', () => fails(JSON.stringify({ type: 'FeatureCollection', crs: { type: 'name', properties: { name: 'WGS84-ish' } }, features: [] }), /crs "WGS84-ish" is not an EPSG code/));
  it('a linked crs is refused', () => fails(JSON.stringify({ type: 'FeatureCollection', crs: { type: 'link', properties: { href: 'x' } }, features: [] }), /crs\.type must be "name"/));
  it('a crs on a feature is refused', () => fails(fc(feature(poly(square())), { ...feature(poly(square())), crs: { type: 'name', properties: { name: 'EPSG:32632' } } }), /feature 1: a crs member on a feature is not supported/));
  it('a feature without the --id-field property is refused', () => fails(fc(feature(poly(square()), { name: 'a' }), feature(poly(square()), {})), /feature 1: has no property "name" \(--id-field\)/, 'name'));
  it('an --id-field value that is neither string nor number is refused', () => fails(fc(feature(poly(square()), { name: true })), /feature 0: property "name" \(--id-field\) must be a string or a number \(got true\)/, 'name'));
  it('a feature of another type is refused', () => fails(fc({ type: 'Polygon', coordinates: [square()] }), /feature 0: type must be "Feature" \(got "Polygon"\)/));
  it('a type that is not GeoJSON is refused', () => fails(JSON.stringify({ type: 'Topology', objects: {} }), /type "Topology" is not a GeoJSON FeatureCollection, Feature or geometry/));
  it('a null crs is refused', () => fails(JSON.stringify({ type: 'FeatureCollection', crs: null, features: [] }), /crs is null/));
  it('features that are not an array are refused', () => fails(JSON.stringify({ type: 'FeatureCollection', features: {} }), /features must be an array/));
});

describe('zones in pixel space', () => {
  const lonlat = JSON.stringify({ type: 'Polygon', coordinates: [[[9, 50], [9.001, 50], [9.001, 50.001], [9, 50]]] });

  it('longitude/latitude zones are reprojected with longitude first', () => {
    const [zone] = toPixelSpace(parseZones(lonlat, { source: 'z' }), { proj: null, epsg: 32632, geotransform: [0, 1, 0, 0, 0, 1] });
    const ring = zone!.polygons[0]![0]!;
    const first = [...ring.slice(0, 6)].findIndex((_, i) => i % 2 === 0 && Math.abs(ring[i]! - 500000) < 1e-6);
    expect(first).toBeGreaterThanOrEqual(0);
    expect(ring[first + 1]).toBeCloseTo(5538630.7029, 3);
  });

  it('a raster without a CRS takes the zones as its own coordinates, through its geotransform', () => {
    const [zone] = toPixelSpace(parseZones(lonlat, { source: 'z' }), { proj: null, epsg: null, geotransform: [8, 0.001, 0, 51, 0, -0.001] });
    expect(Math.min(...zone!.polygons[0]![0]!.filter((_, i) => i % 2 === 0))).toBeCloseTo(1000, 6);
  });

  it('rings come out clockwise in georeferenced space, whichever way they were written', () => {
    const ccw = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]];
    const set = parseZones(JSON.stringify({ type: 'MultiPolygon', coordinates: [[ccw], [ccw.slice().reverse()]] }), { source: 'z' });
    const zones = toPixelSpace(set, { proj: null, epsg: null, geotransform: [0, 1, 0, 10, 0, -1] });
    for (const [r] of zones[0]!.polygons) {
      // Clockwise in x-east, y-north space is counter-clockwise once y points down.
      let area = 0;
      for (let i = 0; i < r!.length; i += 2) area += r![i]! * r![(i + 3) % r!.length]! - r![(i + 2) % r!.length]! * r![i + 1]!;
      expect(area).toBeGreaterThan(0);
    }
  });

  it('a geotransform that cannot be inverted is refused', () => {
    expect(() => toPixelSpace(parseZones(lonlat, { source: 'z' }), { proj: null, epsg: null, geotransform: [0, 1, 2, 0, 0.5, 1] })).toThrow(/cannot be inverted/);
  });
});
