/**
 * The CRS of a zone set, decided once: --zones-crs when given (it overrides the file, as ogr2ogr's
 * -s_srs does), else what the file states (a GeoJSON crs member, a FlatGeobuf header, a GeoPackage
 * gpkg_spatial_ref_sys row, a shapefile's .prj), else EPSG:4326 assumed. An assumed EPSG:4326 is
 * checked: a coordinate beyond ±180 (x) or ±90 (y) cannot be degrees, and zones in metres read as
 * degrees would put the whole raster in one zone, so they are refused.
 *
 * EPSG codes become PROJ strings through the EPSG table of raster/crs (the definitions GDAL prints);
 * WKT that names a code the table knows is read as that code, other WKT (ESRI's .prj has no code)
 * and PROJ strings go to proj4js as they are.
 */
import proj4 from 'proj4';
import { messageOf } from '../../../errors.js';
import { epsgUnavailableReason, projForEpsg } from '../../../raster/crs/index.js';
import { ZoneError, type FileCrs, type Zone, type ZoneCrsFrom } from './zone-set.js';

/** A CRS decided: an EPSG code from the table, or a definition proj4 reads (see ZoneSet). */
export interface ZoneCrs {
  /** EPSG code, or null when `proj` defines the CRS. */
  readonly epsg: number | null;
  /** PROJ string or WKT, when `epsg` is null. */
  readonly proj?: string;
  /** Where the CRS comes from. */
  readonly crsFrom: ZoneCrsFrom;
}

const EPSG_NAME = /^(?:urn:ogc:def:crs:EPSG:[\d.]*:|EPSG:+|https?:\/\/www\.opengis\.net\/def\/crs\/EPSG\/[\d.]+\/)(\d+)$/i;
const CRS84_NAME = /^(urn:ogc:def:crs:OGC:[\d.]*:|OGC:)?CRS84$/i;
/** The first keyword of WKT1 and WKT2 CRSs. */
const WKT_START = /^(PROJCS|GEOGCS|GEOCCS|COMPD_CS|PROJCRS|PROJECTEDCRS|GEOGCRS|GEOGRAPHICCRS|GEODCRS|GEODETICCRS|BASEGEOGCRS|COMPOUNDCRS|BOUNDCRS)\s*[[(]/i;

/** The EPSG code a CRS name spells ("EPSG:32632", "urn:ogc:def:crs:EPSG::32632", an opengis.net URL; CRS84 is 4326), or undefined. */
export function epsgOfName(name: string): number | undefined {
  if (CRS84_NAME.test(name)) return 4326;
  const m = EPSG_NAME.exec(name);
  return m === null ? undefined : Number(m[1]);
}

/** An EPSG code the table has a PROJ definition for, or a ZoneError saying why it has none. */
export function epsgCrs(code: number, what: string, crsFrom: ZoneCrsFrom): ZoneCrs {
  if (projForEpsg(code) === undefined) {
    const why = epsgUnavailableReason(code) ?? 'it is not in the table of projected and geographic 2D CRSs';
    throw new ZoneError(`${what} (EPSG:${code}) cannot be used: ${why}`);
  }
  return { epsg: code, crsFrom };
}

/**
 * The EPSG code of a WKT CRS as a whole: its root's own AUTHORITY["EPSG","n"] (WKT1) or ID["EPSG",n]
 * (WKT2), not those of its datum or base CRS deeper down. Undefined when the root names none.
 */
export function wktEpsg(wkt: string): number | undefined {
  let depth = 0;
  for (let i = 0; i < wkt.length; i++) {
    const c = wkt[i]!;
    if (c === '"') {
      // WKT escapes a quote inside a string by doubling it.
      i++;
      while (i < wkt.length && !(wkt[i] === '"' && wkt[i + 1] !== '"')) i += wkt[i] === '"' ? 2 : 1;
    } else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') depth--;
    else if (depth === 1 && /[A-Za-z]/.test(c) && !/[A-Za-z_]/.test(wkt[i - 1] ?? '')) {
      const m = /^(AUTHORITY|ID)\s*[[(]\s*"EPSG"\s*,\s*"?(\d+)"?\s*[\]),]/i.exec(wkt.slice(i));
      if (m !== null) return Number(m[2]);
    }
  }
  return undefined;
}

/**
 * Checks that proj4 reads `def` and can run it: a definition it parses but cannot use (a UTM zone
 * missing, say) sends its own false origin to NaN.
 */
function proj4Crs(def: string, what: string, crsFrom: ZoneCrsFrom, hint = ''): ZoneCrs {
  let origin: { x0?: number; y0?: number };
  try {
    origin = new proj4.Proj(def) as unknown as { x0?: number; y0?: number };
  } catch (err) {
    throw new ZoneError(`${what} cannot be used: proj4 does not read it (${messageOf(err)})${hint}`, { cause: err });
  }
  let lonlat: number[];
  try {
    lonlat = proj4(def, 'WGS84').forward([origin.x0 ?? 0, origin.y0 ?? 0]);
  } catch (err) {
    throw new ZoneError(`${what} cannot be used: proj4 cannot transform with it (${messageOf(err)})${hint}`, { cause: err });
  }
  if (!lonlat.slice(0, 2).every(Number.isFinite)) throw new ZoneError(`${what} cannot be used: proj4 reads it but cannot transform with it (is a parameter missing?)${hint}`);
  return { epsg: null, proj: def, crsFrom };
}

/** A WKT CRS: the EPSG code its root names when the table knows it, else the WKT itself through proj4. */
function wktCrs(wkt: string, what: string, crsFrom: ZoneCrsFrom): ZoneCrs {
  const code = wktEpsg(wkt);
  if (code !== undefined && projForEpsg(code) !== undefined) return { epsg: code, crsFrom };
  const why = code === undefined ? '' : `; its EPSG:${code} is not usable either: ${epsgUnavailableReason(code) ?? 'not in the table of projected and geographic 2D CRSs'}`;
  return proj4Crs(wkt, what, crsFrom, why);
}

/** A CRS as a file states it, decided. */
export function fileCrs(crs: FileCrs): ZoneCrs {
  if (crs.epsg !== undefined && projForEpsg(crs.epsg) !== undefined) return { epsg: crs.epsg, crsFrom: 'file' };
  if (crs.wkt !== undefined && crs.wkt.trim() !== '') return wktCrs(crs.wkt.trim(), crs.what, 'file');
  if (crs.epsg !== undefined) return epsgCrs(crs.epsg, crs.what, 'file');
  throw new ZoneError(`${crs.what} names no CRS`);
}

/**
 * The --zones-crs value: EPSG:NNNN (or its URN and URL spellings, or CRS84), a bare EPSG number, a
 * PROJ string (+proj=...) or WKT. Throws a ZoneError naming the value when it is none of these or
 * proj4 cannot use it.
 */
export function parseZonesCrs(value: string): ZoneCrs {
  const text = value.trim();
  const what = `--zones-crs ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}`;
  const code = /^\d+$/.test(text) ? Number(text) : epsgOfName(text);
  if (code !== undefined) return epsgCrs(code, what, 'option');
  if (text.startsWith('+')) return proj4Crs(text, what, 'option');
  if (WKT_START.test(text)) return wktCrs(text, what, 'option');
  throw new ZoneError(`${what} is not a CRS: give an EPSG code (EPSG:32632 or 32632), a PROJ string (+proj=utm +zone=32 +datum=WGS84) or WKT`);
}

/**
 * The zones' CRS: `option` (--zones-crs) over the file's, else EPSG:4326 assumed. `zones` are checked
 * when 4326 is assumed (see {@link checkLonLat}).
 */
export function resolveCrs(file: FileCrs | undefined, option: string | undefined, zones: readonly Zone[], source: string): ZoneCrs {
  if (option !== undefined) return parseZonesCrs(option);
  if (file !== undefined) return fileCrs(file);
  checkLonLat(zones, source);
  return { epsg: 4326, crsFrom: 'assumed' };
}

/**
 * Refuses zones whose CRS is only assumed to be EPSG:4326 when a position lies beyond ±180 (x) or
 * ±90 (y): such coordinates are not degrees. Every position is checked, before any work.
 */
export function checkLonLat(zones: readonly Zone[], source: string): void {
  for (const zone of zones) {
    for (const rings of zone.polygons) {
      for (const ring of rings) {
        for (let i = 0; i < ring.length; i += 2) {
          const [x, y] = [ring[i]!, ring[i + 1]!];
          const bad = !(x >= -180 && x <= 180) ? `x ${x} is outside -180..180` : !(y >= -90 && y <= 90) ? `y ${y} is outside -90..90` : undefined;
          if (bad !== undefined) {
            throw new ZoneError(
              `${source}: feature ${zone.index}: ${bad}, so these coordinates are not longitude/latitude (EPSG:4326 is assumed when the file names no CRS); give their CRS with --zones-crs (for example --zones-crs EPSG:32632)`,
            );
          }
        }
      }
    }
  }
}
