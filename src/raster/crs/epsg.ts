/**
 * Look-ups in the generated EPSG table (`epsg-data.ts`, made by `tools/make-epsg-data.mjs`).
 *
 * The table is a few thousand '|'-separated rows; each kind is parsed into a Map the first time it
 * is asked for, so a process that never meets an EPSG code pays nothing but loading the strings.
 */
import {
  CONVERSIONS,
  DATUMS,
  ELLIPSOIDS,
  EPSG_DATA_SOURCE,
  GEOGRAPHIC,
  NOT_EXPRESSIBLE,
  PRIME_MERIDIANS,
  PROJECTED,
  UNITS,
} from './epsg-data.js';

/** A projected CRS from the table. */
export interface EpsgProjected {
  /** Discriminant. */
  readonly kind: 'projected';
  /** EPSG code. */
  readonly code: number;
  /** EPSG name, e.g. "WGS 84 / UTM zone 32N". */
  readonly name: string;
  /** EPSG code of its geographic base CRS. */
  readonly geographic: number;
  /** EPSG unit code of its axes (9001 metre, 9003 US survey foot...). */
  readonly linearUnit: number;
  /** PROJ definition as GDAL prints it. */
  readonly proj: string;
}

/** A geographic 2D CRS from the table. */
export interface EpsgGeographic {
  /** Discriminant. */
  readonly kind: 'geographic';
  /** EPSG code. */
  readonly code: number;
  /** EPSG name, e.g. "WGS 84". */
  readonly name: string;
  /** EPSG datum code. */
  readonly datum: number;
  /** EPSG ellipsoid code. */
  readonly ellipsoid: number;
  /** EPSG unit code of its axes (9122 degree, 9105 grad...). */
  readonly angularUnit: number;
  /** PROJ definition as GDAL prints it. */
  readonly proj: string;
}

/** A CRS from the table. */
export type EpsgCrs = EpsgProjected | EpsgGeographic;

/** An ellipsoid: semi-major axis and either inverse flattening or semi-minor axis, in metres. */
export interface EpsgEllipsoid {
  /** EPSG code (7001...). */
  readonly code: number;
  /** EPSG name. */
  readonly name: string;
  /** Semi-major axis in metres. */
  readonly a: number;
  /** Inverse flattening, when EPSG defines the ellipsoid by it. */
  readonly rf?: number;
  /** Semi-minor axis in metres, when EPSG defines the ellipsoid by it (spheres: b = a). */
  readonly b?: number;
}

/** A geodetic datum. */
export interface EpsgDatum {
  /** EPSG code (6xxx, 1xxx). */
  readonly code: number;
  /** EPSG name. */
  readonly name: string;
  /** EPSG ellipsoid code. */
  readonly ellipsoid: number;
  /** EPSG prime meridian code. */
  readonly primeMeridian: number;
  /** A shipped geographic CRS on this datum, whose datum words (+towgs84 etc.) stand for the datum. */
  readonly geographic?: number;
}

/** A prime meridian. */
export interface EpsgPrimeMeridian {
  /** EPSG code (8901...). */
  readonly code: number;
  /** EPSG name. */
  readonly name: string;
  /** Longitude east of Greenwich, in degrees. */
  readonly degrees: number;
}

/** A unit of length or angle. */
export interface EpsgUnit {
  /** EPSG code (9001...). */
  readonly code: number;
  /** EPSG name. */
  readonly name: string;
  /** Length or angle. */
  readonly kind: 'length' | 'angle';
  /** Metres (length) or radians (angle) per unit; undefined for sexagesimal notations like 9110. */
  readonly factor?: number;
}

/** Where the table comes from: EPSG version, PROJ and GDAL versions. */
export const epsgDataSource = EPSG_DATA_SOURCE;

function lazyMap<T>(rows: readonly string[], parse: (f: string[]) => T & { code: number }): () => ReadonlyMap<number, T> {
  let map: Map<number, T> | undefined;
  return () => {
    if (map === undefined) {
      map = new Map();
      for (const row of rows) {
        const parsed = parse(row.split('|'));
        map.set(parsed.code, parsed);
      }
    }
    return map;
  };
}

const num = (s: string | undefined): number => Number(s);
const optNum = (s: string | undefined): number | undefined => (s === undefined || s === '' ? undefined : Number(s));

const projected = lazyMap<EpsgProjected>(PROJECTED, ([code, name, geog, unit, proj]) => ({
  kind: 'projected',
  code: num(code),
  name: name ?? '',
  geographic: num(geog),
  linearUnit: num(unit),
  proj: proj ?? '',
}));

const geographic = lazyMap<EpsgGeographic>(GEOGRAPHIC, ([code, name, datum, ellipsoid, unit, proj]) => ({
  kind: 'geographic',
  code: num(code),
  name: name ?? '',
  datum: num(datum),
  ellipsoid: num(ellipsoid),
  angularUnit: num(unit),
  proj: proj ?? '',
}));

const ellipsoids = lazyMap<EpsgEllipsoid>(ELLIPSOIDS, ([code, name, a, rf, b]) => {
  const base = { code: num(code), name: name ?? '', a: num(a) };
  const inv = optNum(rf);
  return inv !== undefined ? { ...base, rf: inv } : { ...base, b: num(b) };
});

const datums = lazyMap<EpsgDatum>(DATUMS, ([code, name, ellipsoid, pm, geog]) => {
  const base = { code: num(code), name: name ?? '', ellipsoid: num(ellipsoid), primeMeridian: num(pm) };
  const g = optNum(geog);
  return g === undefined ? base : { ...base, geographic: g };
});

const primeMeridians = lazyMap<EpsgPrimeMeridian>(PRIME_MERIDIANS, ([code, name, degrees]) => ({
  code: num(code),
  name: name ?? '',
  degrees: num(degrees),
}));

const units = lazyMap<EpsgUnit>(UNITS, ([code, name, kind, factor]) => {
  const base = { code: num(code), name: name ?? '', kind: kind === 'l' ? ('length' as const) : ('angle' as const) };
  const f = optNum(factor);
  return f === undefined ? base : { ...base, factor: f };
});

const conversions = lazyMap<{ code: number; crs: number }>(CONVERSIONS, ([code, crs]) => ({ code: num(code), crs: num(crs) }));

const unavailable = lazyMap<{ code: number; why: string }>(NOT_EXPRESSIBLE, ([code, ...why]) => ({
  code: num(code),
  why: why.join('|'),
}));

/** The projected or geographic CRS with this EPSG code, or undefined when the table lacks it. */
export function epsgCrs(code: number): EpsgCrs | undefined {
  return projected().get(code) ?? geographic().get(code);
}

/** The ellipsoid with this EPSG code. */
export function epsgEllipsoid(code: number): EpsgEllipsoid | undefined {
  return ellipsoids().get(code);
}

/** The geodetic datum with this EPSG code. */
export function epsgDatum(code: number): EpsgDatum | undefined {
  return datums().get(code);
}

/** The prime meridian with this EPSG code. */
export function epsgPrimeMeridian(code: number): EpsgPrimeMeridian | undefined {
  return primeMeridians().get(code);
}

/** The unit of length or angle with this EPSG code. */
export function epsgUnit(code: number): EpsgUnit | undefined {
  return units().get(code);
}

/**
 * For an EPSG conversion code (GeoTIFF ProjectionGeoKey, e.g. 16032 "UTM zone 32N"), a shipped
 * projected CRS that uses it, whose projection words stand for the conversion.
 */
export function epsgConversionCrs(code: number): EpsgProjected | undefined {
  const c = conversions().get(code);
  return c === undefined ? undefined : projected().get(c.crs);
}

/**
 * Why an EPSG code PROJ knows has no row here (a method PROJ strings or proj4js cannot express),
 * or undefined when the code is simply unknown to the table.
 */
export function epsgUnavailableReason(code: number): string | undefined {
  return unavailable().get(code)?.why;
}

/**
 * The PROJ definition of an EPSG projected or geographic CRS, as GDAL prints it, or undefined when the
 * table lacks the code (see {@link epsgUnavailableReason} for why PROJ's own codes may be missing).
 * No "+init=epsg:n" fallback: proj4js cannot resolve one without a network or a registry.
 */
export function projForEpsg(epsg: number): string | undefined {
  return epsgCrs(epsg)?.proj;
}
