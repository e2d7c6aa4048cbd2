/**
 * GeoJSON zones, parsed and checked once, at the edge: a FeatureCollection, one Feature, or a bare
 * Polygon / MultiPolygon (one zone). Positions are [x, y] (longitude first for geographic CRSs); a
 * third value (z) is ignored. The CRS is the top-level GeoJSON 2008 `crs` member (EPSG codes, CRS84).
 * The other formats hand their features to {@link zoneOfFeature} as GeoJSON geometries, so every
 * format gets the same checks and the same messages.
 */
import { z } from 'zod';
import { messageOf } from '../../../errors.js';
import { epsgCrs, epsgOfName } from './crs.js';
import { flatRing, firstCrossing } from './rings.js';
import { ZoneError, shown, type FileCrs, type FileZones, type Zone, type ZoneSet } from './zone-set.js';

const POSITION = 'must be a [x, y] pair of finite numbers';
const position = z.custom<number[]>((v) => Array.isArray(v) && v.length >= 2 && v.every((n) => typeof n === 'number') && Number.isFinite(v[0]) && Number.isFinite(v[1]), { error: POSITION });
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

/** The CRS a GeoJSON 2008 `crs` member names (always an EPSG code), or undefined when there is none. */
function parseCrs(value: unknown, source: string): (FileCrs & { epsg: number }) | undefined {
  if (value === undefined) return undefined;
  if (value === null) throw new ZoneError(`${source}: crs is null (no CRS); leave it out for WGS 84 longitude/latitude`);
  const name = check(crsMember, value, source, ['crs']).properties.name.trim();
  const what = `${source}: crs "${name}"`;
  const code = epsgOfName(name);
  if (code === undefined) throw new ZoneError(`${what} is not an EPSG code (write e.g. "urn:ogc:def:crs:EPSG::32632" or "EPSG:32632")`);
  epsgCrs(code, what, 'file');
  return { epsg: code, what };
}

/** The --id-field property of a feature, or undefined when no field was asked for. */
function zoneId(props: Record<string, unknown> | null | undefined, idField: string | undefined, where: string): string | number | undefined {
  if (idField === undefined) return undefined;
  const value = props?.[idField];
  if (value === undefined) throw new ZoneError(`${where}: has no property "${idField}" (--id-field)`);
  if (typeof value === 'string' || typeof value === 'number') return value;
  throw new ZoneError(`${where}: property "${idField}" (--id-field) must be a string or a number (got ${shown(value)})`);
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

/**
 * One feature whose geometry is a GeoJSON geometry object (what the FlatGeobuf, Shapefile and
 * GeoPackage readers make of theirs), checked: polygons only, valid rings, the --id-field property.
 */
export function zoneOfFeature(geometry: unknown, props: Record<string, unknown> | null | undefined, index: number, source: string, idField?: string): Zone {
  const where = `${source}: feature ${index}`;
  return { index, id: zoneId(props, idField, where) ?? index, polygons: parseGeometry(geometry, where, ['geometry']) };
}

/** The zones of a GeoJSON text and the CRS its crs member names (undefined without one). */
export function readGeoJson(text: string, source: string, idField?: string): FileZones & { crs: (FileCrs & { epsg: number }) | undefined } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ZoneError(`${source} is not JSON: ${messageOf(err)}`, { cause: err });
  }
  const top = check(typed, json, source);
  const crs = parseCrs(top.crs, source);
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
  return { zones, crs };
}

/**
 * Parses and checks a GeoJSON zones file in the CRS its crs member names, EPSG:4326 without one (not
 * checked here: readZones (read.ts) refuses positions beyond ±180/±90 when 4326 is only assumed).
 * `source` names it (file or URL) in error messages.
 */
export function parseZones(text: string, options: { source: string; idField?: string }): ZoneSet & { epsg: number } {
  const { zones, crs } = readGeoJson(text, options.source, options.idField);
  return { zones, epsg: crs?.epsg ?? 4326, crsFrom: crs === undefined ? 'assumed' : 'file', source: options.source };
}
