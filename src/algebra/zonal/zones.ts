/**
 * Zones for zonal statistics: GeoJSON polygons parsed and checked once, at the edge, then carried into
 * a raster's pixel space the way gdal_rasterize carries them, so that {@link rasterizeZone} can burn
 * them pixel for pixel as GDAL would.
 *
 * Accepted input: a FeatureCollection, one Feature, or a bare Polygon / MultiPolygon (one zone).
 * Positions are GeoJSON's [x, y] (longitude first for geographic CRSs); a third value (z) is ignored.
 * The CRS is the top-level GeoJSON 2008 `crs` member (EPSG codes, CRS84), EPSG:4326 without one.
 * Each polygon must be valid: closed rings of 4+ positions, no ring crossing itself or another ring
 * of its polygon (touching at a point is fine). The parts of a MultiPolygon are checked one by one;
 * parts that overlap are accepted and counted once, as gdal_rasterize counts them.
 */
import { kinks } from '@turf/kinks';
import proj4 from 'proj4';
import { z } from 'zod';
import { DataboxError, messageOf } from '../../errors.js';
import { epsgUnavailableReason, projForEpsg } from '../../raster/crs/index.js';
import type { GeoTransform } from '../../raster/index.js';

/** A zones file that cannot be used; the message names the source, the feature index and the bad value. */
export class ZoneError extends DataboxError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_ZONES', message, options);
  }
}

/**
 * Polygons of one zone: each polygon a list of rings (the outer ring first, then its holes), each ring
 * a flat [x0, y0, x1, y1, ...] without the closing position (the edge from the last vertex back to
 * the first is implied). Consecutive repeated positions are kept, as GDAL keeps them.
 */
export type ZonePolygons = readonly (readonly Float64Array[])[];

/** One zone: one feature of the collection. */
export interface Zone {
  /** 0-based feature index in the collection. */
  readonly index: number;
  /** The --id-field property value (string or number), else the index. */
  readonly id: string | number;
  /** The feature's polygons in the zones' CRS (see {@link ZonePolygons}). */
  readonly polygons: ZonePolygons;
}

/** The zones of one file and the CRS they are in. */
export interface ZoneSet {
  /** The zones, in feature order. */
  readonly zones: Zone[];
  /** EPSG code the zones are in (4326, longitude/latitude, when there is no crs member). */
  readonly epsg: number;
  /** Where the zones come from (file or URL), for messages. */
  readonly source: string;
}

/**
 * A zone in raster pixel space: x = column, y = row, continuous; pixel (c, r) covers [c, c+1) × [r, r+1).
 * Rings are ordered as GDAL burns them: clockwise in the raster's georeferenced coordinates (GDAL turns
 * every ring so; the order only matters for a horizontal edge lying exactly on a row of pixel centres).
 */
export interface PixelZone {
  /** 0-based feature index in the collection. */
  readonly index: number;
  /** The --id-field property value, else the index. */
  readonly id: string | number;
  /** The polygons in pixel coordinates (see {@link ZonePolygons}). */
  readonly polygons: ZonePolygons;
}

/** Where the zones go: the raster's CRS and geotransform. */
export interface RasterGrid {
  /** PROJ definition of the raster's CRS, or null (or '') when it has none. */
  readonly proj: string | null;
  /** EPSG code of the raster's CRS, or null. */
  readonly epsg: number | null;
  /** GDAL's geotransform of the raster. */
  readonly geotransform: GeoTransform;
}

const POSITION = 'must be a [x, y] pair of finite numbers';
const position = z.custom<number[]>((v) => Array.isArray(v) && v.length >= 2 && v.every((n) => typeof n === 'number'), { error: POSITION });
const ring = z.array(position, { error: 'must be an array of [x, y] positions' });
const polygonCoords = z.array(ring, { error: 'must be an array of rings' });
const polygonGeometry = z.object({ type: z.literal('Polygon'), coordinates: polygonCoords });
const multiPolygonGeometry = z.object({ type: z.literal('MultiPolygon'), coordinates: z.array(polygonCoords, { error: 'must be an array of polygons' }) });
const properties = z.record(z.string(), z.unknown(), { error: 'must be an object or null' }).nullable().optional();
const crsMember = z.object({
  type: z.literal('name', { error: 'must be "name" (linked CRSs are not supported)' }),
  properties: z.object({ name: z.string({ error: 'must be a string such as "EPSG:32632"' }) }, { error: 'must be an object' }),
});
const typed = z.looseObject({ type: z.string({ error: 'must be a string' }) }, { error: 'must be a GeoJSON object with a "type"' });

const POLYGONAL = new Set(['Polygon', 'MultiPolygon']);
const GEOMETRIES = new Set([...POLYGONAL, 'Point', 'MultiPoint', 'LineString', 'MultiLineString', 'GeometryCollection']);

/** `a.b[0][2]` from a zod issue path. */
function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out === '' ? '' : '.'}${String(key)}`;
  return out;
}

/** A short JSON rendering of a bad value for a message. */
function shown(value: unknown): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Parses `value` with `schema`, or throws a ZoneError naming `where`, the path of the first problem and its value. */
function check<T>(schema: z.ZodType<T>, value: unknown, where: string, prefix: readonly PropertyKey[] = []): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  let got: unknown = value;
  for (const key of issue.path) got = (got as Record<PropertyKey, unknown> | undefined)?.[key];
  const path = pathText([...prefix, ...issue.path]);
  throw new ZoneError(`${where}: ${path === '' ? 'the value' : path} ${issue.message} (got ${shown(got)})`);
}

/** EPSG code named by a GeoJSON 2008 `crs` member (absent: 4326). */
function parseCrs(value: unknown, source: string): number {
  if (value === undefined) return 4326;
  if (value === null) throw new ZoneError(`${source}: crs is null (no CRS); leave it out for WGS 84 longitude/latitude`);
  const name = check(crsMember, value, source, ['crs']).properties.name.trim();
  let code: number;
  if (/^(urn:ogc:def:crs:OGC:[\d.]*:|OGC:)?CRS84$/i.test(name)) code = 4326;
  else {
    const m = /^(?:urn:ogc:def:crs:EPSG:[\d.]*:|EPSG:+|https?:\/\/www\.opengis\.net\/def\/crs\/EPSG\/[\d.]+\/)(\d+)$/i.exec(name);
    if (m === null) throw new ZoneError(`${source}: crs "${name}" is not an EPSG code (write e.g. "urn:ogc:def:crs:EPSG::32632" or "EPSG:32632")`);
    code = Number(m[1]);
  }
  if (projForEpsg(code) === undefined) {
    const why = epsgUnavailableReason(code) ?? 'it is not in the table of projected and geographic 2D CRSs';
    throw new ZoneError(`${source}: crs "${name}" (EPSG:${code}) cannot be used: ${why}`);
  }
  return code;
}

/** The --id-field property of a feature, or undefined when no field was asked for. */
function zoneId(props: Record<string, unknown> | null | undefined, idField: string | undefined, where: string): string | number | undefined {
  if (idField === undefined) return undefined;
  const value = props?.[idField];
  if (value === undefined) throw new ZoneError(`${where}: has no property "${idField}" (--id-field)`);
  if (typeof value === 'string' || typeof value === 'number') return value;
  throw new ZoneError(`${where}: property "${idField}" (--id-field) must be a string or a number (got ${shown(value)})`);
}

/** Checks one ring and returns it flat, without its closing position. */
function flatRing(positions: number[][], label: string, where: string): Float64Array {
  const n = positions.length;
  if (n < 4) throw new ZoneError(`${where}: ${label} has ${n} positions; a closed ring needs at least 4`);
  const first = positions[0]!;
  const last = positions[n - 1]!;
  if (first[0] !== last[0] || first[1] !== last[1]) {
    throw new ZoneError(`${where}: ${label} is not closed: it starts at ${shown(first.slice(0, 2))} and ends at ${shown(last.slice(0, 2))}`);
  }
  const flat = new Float64Array(2 * (n - 1));
  let distinct = 0;
  for (let i = 0; i < n - 1; i++) {
    const p = positions[i]!;
    flat[2 * i] = p[0]!;
    flat[2 * i + 1] = p[1]!;
    if (i === 0 || p[0] !== flat[2 * i - 2] || p[1] !== flat[2 * i - 1]) distinct++;
  }
  if (distinct < 3) throw new ZoneError(`${where}: ${label} has fewer than 3 distinct positions`);
  return flat;
}

/** A ring as [x, y] pairs without consecutive repeats, closed again: what kinks needs. */
function kinkRing(flat: Float64Array): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const prev = out[out.length - 1];
    if (prev === undefined || prev[0] !== flat[i] || prev[1] !== flat[i + 1]) out.push([flat[i]!, flat[i + 1]!]);
  }
  while (out.length > 1 && out[0]![0] === out[out.length - 1]![0] && out[0]![1] === out[out.length - 1]![1]) out.pop();
  out.push(out[0]!);
  return out;
}

const TAU = 2 * Math.PI;

/** True when direction angle `t` lies strictly inside the counter-clockwise arc from `a` to `b`. */
function inArc(a: number, b: number, t: number): boolean {
  const span = (((b - a) % TAU) + TAU) % TAU;
  const at = (((t - a) % TAU) + TAU) % TAU;
  return at > 0 && at < span;
}

/**
 * Whether the rings really cross at (x, y), a point kinks reported. kinks also reports where rings
 * merely touch (a shared vertex, a vertex on another edge), which is valid; there we look at the
 * boundary passes through the point: they cross when one pass separates the two edges of another.
 */
function crossesAt(rings: number[][][], x: number, y: number, tol: number): boolean {
  let vx = Number.NaN;
  let vy = Number.NaN;
  let best = tol;
  for (const r of rings) {
    for (const [px, py] of r) {
      const d = Math.hypot(px! - x, py! - y);
      if (d <= best) [best, vx, vy] = [d, px!, py!];
    }
  }
  if (Number.isNaN(vx)) return true; // two edges cross in their interiors
  const near = (p: number[]): boolean => Math.hypot(p[0]! - vx, p[1]! - vy) <= tol;
  const angle = (p: number[]): number => Math.atan2(p[1]! - vy, p[0]! - vx);
  const passes: [number, number][] = [];
  for (const r of rings) {
    const m = r.length - 1;
    for (let j = 0; j < m; j++) {
      const p = r[j]!;
      const q = r[j + 1]!;
      if (near(p)) passes.push([angle(r[(j + m - 1) % m]!), angle(q)]);
      else if (!near(q)) {
        const ex = q[0]! - p[0]!;
        const ey = q[1]! - p[1]!;
        const t = ((vx - p[0]!) * ex + (vy - p[1]!) * ey) / (ex * ex + ey * ey);
        const off = Math.abs((vx - p[0]!) * ey - (vy - p[1]!) * ex) / Math.hypot(ex, ey);
        if (t > 0 && t < 1 && off <= tol) passes.push([angle(p), angle(q)]);
      }
    }
  }
  const same = (a: number, b: number): boolean => Math.abs(a - b) < 1e-12 || Math.abs(Math.abs(a - b) - TAU) < 1e-12;
  for (let i = 0; i < passes.length; i++) {
    for (let k = i + 1; k < passes.length; k++) {
      const [a, b] = passes[i]!;
      const [c, d] = passes[k]!;
      if (same(a, c) || same(a, d) || same(b, c) || same(b, d)) continue; // shared edge direction: a touch
      if (inArc(a, b, c) !== inArc(a, b, d)) return true;
    }
  }
  return false;
}

/** Segments per band in {@link kinkPoints}: kinks compares every pair of segments it is given. */
const BAND = 400;

/**
 * The points kinks reports for one polygon. A big polygon goes to kinks in horizontal bands of about
 * BAND segments (each band gets the chains of consecutive segments that reach into it), so the cost
 * grows as n·BAND instead of n²: two segments that cross both reach into the band holding the point.
 */
function kinkPoints(rings: number[][][]): number[][] {
  const total = rings.reduce((n, r) => n + r.length - 1, 0);
  if (total <= 2 * BAND) return kinks({ type: 'Polygon', coordinates: rings }).features.map((f) => f.geometry.coordinates);
  const mids = rings.flatMap((r) => r.slice(1).map((p, i) => (p[1]! + r[i]![1]!) / 2)).sort((a, b) => a - b);
  const cuts = [-Infinity, ...mids.filter((_, i) => i > 0 && i % BAND === 0), Infinity];
  const points: number[][] = [];
  for (let b = 0; b + 1 < cuts.length; b++) {
    const chains: number[][][] = [];
    for (const r of rings) {
      const m = r.length - 1;
      const inBand = (i: number): boolean => Math.min(r[i]![1]!, r[i + 1]![1]!) <= cuts[b + 1]! && Math.max(r[i]![1]!, r[i + 1]![1]!) >= cuts[b]!;
      let start = 0;
      while (start < m && inBand(start)) start++;
      if (start === m) chains.push(r); // the whole ring reaches into the band
      let chain: number[][] | null = null;
      for (let k = 1; start < m && k <= m; k++) {
        const i = (start + k) % m;
        if (!inBand(i)) chain = null;
        else if (chain === null) chains.push((chain = [r[i]!, r[i + 1]!]));
        else chain.push(r[i + 1]!);
      }
    }
    points.push(...kinks({ type: 'MultiLineString', coordinates: chains }).features.map((f) => f.geometry.coordinates));
  }
  return points;
}

/** The first point where the rings of one polygon cross themselves or each other, or undefined. */
function firstCrossing(flatRings: readonly Float64Array[]): [number, number] | undefined {
  const rings = flatRings.map(kinkRing);
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const r of rings) for (const [x, y] of r) [minX, minY, maxX, maxY] = [Math.min(minX, x!), Math.min(minY, y!), Math.max(maxX, x!), Math.max(maxY, y!)];
  const tol = 1e-9 * Math.hypot(maxX - minX, maxY - minY) + 1e-14 * Math.max(Math.abs(minX), Math.abs(maxX), Math.abs(minY), Math.abs(maxY));
  for (const [x, y] of kinkPoints(rings)) if (crossesAt(rings, x!, y!, tol)) return [x!, y!];
  return undefined;
}

/** One feature's geometry, checked, as polygons of flat rings. `top`: a bare geometry, whose crs is the file's. */
function parseGeometry(geometry: unknown, where: string, prefix: readonly PropertyKey[], top = false): Float64Array[][] {
  if (geometry === null || geometry === undefined) throw new ZoneError(`${where}: has no geometry (null); zones must be Polygon or MultiPolygon`);
  const kind = check(typed, geometry, where, prefix).type;
  if (!POLYGONAL.has(kind)) throw new ZoneError(`${where}: geometry type ${kind} is not supported; zones must be Polygon or MultiPolygon`);
  if (!top && 'crs' in (geometry as object)) throw new ZoneError(`${where}: a crs member inside a feature is not supported; give the CRS once, at the top level`);
  const multi = kind === 'MultiPolygon';
  const coords = multi
    ? check(multiPolygonGeometry, geometry, where, prefix).coordinates
    : [check(polygonGeometry, geometry, where, prefix).coordinates];
  if (coords.length === 0 || coords.some((p) => p.length === 0)) throw new ZoneError(`${where}: ${kind} has no rings`);
  return coords.map((rings, p) => {
    const flat = rings.map((r, k) => flatRing(r, multi ? `ring ${k} of polygon ${p}` : `ring ${k}`, where));
    const crossing = firstCrossing(flat);
    if (crossing !== undefined) {
      throw new ZoneError(`${where}: ${multi ? `polygon ${p}` : 'polygon'} intersects itself at ${shown(crossing)}; zones must be valid polygons`);
    }
    return flat;
  });
}

/** Parses and checks a GeoJSON zones file. `source` names it (file or URL) in error messages. */
export function parseZones(text: string, options: { source: string; idField?: string }): ZoneSet {
  const { source, idField } = options;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ZoneError(`${source} is not JSON: ${messageOf(err)}`, { cause: err });
  }
  const top = check(typed, json, source);
  const epsg = parseCrs(top.crs, source);
  const feature = (value: unknown, index: number, single: boolean): Zone => {
    const where = `${source}: feature ${index}`;
    const f = check(typed, value, where);
    if (f.type !== 'Feature') throw new ZoneError(`${where}: type must be "Feature" (got ${shown(f.type)})`);
    if (!single && 'crs' in f) throw new ZoneError(`${where}: a crs member on a feature is not supported; give the CRS once, on the FeatureCollection`);
    const props = check(properties, f.properties, where, ['properties']);
    const polygons = parseGeometry(f.geometry, where, ['geometry']);
    return { index, id: zoneId(props, idField, where) ?? index, polygons };
  };
  let zones: Zone[];
  if (top.type === 'FeatureCollection') {
    const features = top.features;
    if (!Array.isArray(features)) throw new ZoneError(`${source}: features must be an array (got ${shown(features)})`);
    zones = features.map((f, i) => feature(f, i, false));
  } else if (top.type === 'Feature') {
    zones = [feature(json, 0, true)];
  } else {
    if (!GEOMETRIES.has(top.type)) throw new ZoneError(`${source}: type ${shown(top.type)} is not a GeoJSON FeatureCollection, Feature or geometry`);
    const where = `${source}: feature 0`;
    const polygons = parseGeometry(json, where, [], true);
    zones = [{ index: 0, id: zoneId(undefined, idField, where) ?? 0, polygons }];
  }
  return { zones, epsg, source };
}

/**
 * GDAL's inverse geotransform (GDALInvGeoTransform): the exact same arithmetic, so that a vertex on a
 * pixel centre or edge lands where GDAL puts it. Null when the transform cannot be inverted.
 */
export function invertGeoTransform(gt: GeoTransform): GeoTransform | null {
  if (gt[2] === 0 && gt[4] === 0 && gt[1] !== 0 && gt[5] !== 0) {
    return [-gt[0] / gt[1], 1 / gt[1], 0, -gt[3] / gt[5], 0, 1 / gt[5]];
  }
  const det = gt[1] * gt[5] - gt[2] * gt[4];
  const magnitude = Math.max(Math.abs(gt[1]), Math.abs(gt[2]), Math.abs(gt[4]), Math.abs(gt[5]));
  if (!(Math.abs(det) > 1e-10 * magnitude * magnitude)) return null;
  const inv = 1 / det;
  return [(gt[2] * gt[3] - gt[0] * gt[5]) * inv, gt[5] * inv, -gt[2] * inv, (-gt[1] * gt[3] + gt[0] * gt[4]) * inv, -gt[4] * inv, gt[1] * inv];
}

/** Reprojection of [x, y] from the zones' EPSG to the raster CRS, or null when none is needed. */
function projector(epsg: number, raster: RasterGrid, source: string): ((xy: number[]) => number[]) | null {
  const target = raster.proj !== null && raster.proj !== '' ? raster.proj : raster.epsg !== null ? projForEpsg(raster.epsg) : undefined;
  // No CRS on the raster: the zones are taken as already in its coordinates.
  if (raster.epsg === null && target === undefined) return null;
  if (raster.epsg === epsg) return null;
  if (target === undefined) throw new ZoneError(`${source}: the raster's CRS EPSG:${raster.epsg} has no PROJ definition, so zones in EPSG:${epsg} cannot be reprojected onto it`);
  const from = projForEpsg(epsg)!;
  if (from === target) return null;
  try {
    const converter = proj4(from, target);
    // enforceAxis: a south- or west-oriented raster CRS (+axis=wsu) counts its axes as GDAL does.
    return (xy) => converter.forward(xy, true);
  } catch (err) {
    throw new ZoneError(`${source}: cannot reproject zones from EPSG:${epsg} to the raster's CRS "${target}": ${messageOf(err)}`, { cause: err });
  }
}

/**
 * Zones in raster pixel space, as gdal_rasterize computes them: each vertex reprojected with proj4
 * from the zones' EPSG to the raster CRS (vertices only, no densification, as OGR's coordinate
 * transformation does), then taken through GDAL's inverse geotransform (rotation terms included).
 * A raster without a CRS (epsg and proj null) takes the zones as already in its coordinates.
 */
export function toPixelSpace(set: ZoneSet, raster: RasterGrid): PixelZone[] {
  const gt = raster.geotransform;
  const inv = invertGeoTransform(gt);
  if (inv === null) throw new ZoneError(`${set.source}: the raster's geotransform [${gt.join(', ')}] cannot be inverted`);
  const det = gt[1] * gt[5] - gt[2] * gt[4];
  const project = projector(set.epsg, raster, set.source);
  return set.zones.map((zone) => {
    const polygons = zone.polygons.map((rings) =>
      rings.map((ring) => {
        const out = new Float64Array(ring.length);
        let area = 0;
        for (let i = 0; i < ring.length; i += 2) {
          let x = ring[i]!;
          let y = ring[i + 1]!;
          if (project !== null) {
            [x, y] = project([x, y]) as [number, number];
            if (!Number.isFinite(x) || !Number.isFinite(y)) {
              throw new ZoneError(`${set.source}: feature ${zone.index}: vertex ${shown([ring[i], ring[i + 1]])} cannot be reprojected from EPSG:${set.epsg} to the raster's CRS`);
            }
          }
          // Term by term as GDALGenImgProjTransform does, for bit-identical pixel coordinates.
          out[i] = inv[0] + x * inv[1] + y * inv[2];
          out[i + 1] = inv[3] + x * inv[4] + y * inv[5];
          // Shoelace sum about the first vertex, which keeps tiny rings far from the origin exact enough.
          if (i > 2) area += (out[i - 2]! - out[0]!) * (out[i + 1]! - out[1]!) - (out[i]! - out[0]!) * (out[i - 1]! - out[1]!);
        }
        // GDAL burns every ring clockwise in georeferenced coordinates; pixel space flips with the sign of det.
        return area * det > 0 ? reverseRing(out) : out;
      }),
    );
    return { index: zone.index, id: zone.id, polygons };
  });
}

function reverseRing(ring: Float64Array): Float64Array {
  const n = ring.length / 2;
  const out = new Float64Array(ring.length);
  for (let i = 0; i < n; i++) {
    out[2 * i] = ring[2 * (n - 1 - i)]!;
    out[2 * i + 1] = ring[2 * (n - 1 - i) + 1]!;
  }
  return out;
}
