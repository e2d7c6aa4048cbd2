/**
 * What every zones format turns into: a {@link ZoneSet}, the polygons of each feature as flat rings in
 * the zones' CRS, and that CRS. The format readers (geojson.ts, flatgeobuf.ts, shapefile.ts,
 * geopackage.ts) differ only in how they get there.
 */
import { DataboxError } from '../../../errors.js';

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

/** Where the CRS of a zone set comes from. */
export type ZoneCrsFrom = 'file' | 'option' | 'assumed';

/**
 * The zones of one file and the CRS they are in. Positions are always x = easting or longitude,
 * y = northing or latitude (the GIS order OGR reads vector files in), whatever axis order a WKT names.
 */
export interface ZoneSet {
  /** The zones, in feature order. */
  readonly zones: Zone[];
  /**
   * EPSG code the zones are in (4326, longitude/latitude, when nothing names a CRS), or null when
   * `proj` defines a CRS that has no EPSG code we know. When both are set, the code wins.
   */
  readonly epsg: number | null;
  /** The CRS as proj4 reads it (a PROJ string or WKT), for a CRS without an EPSG code. */
  readonly proj?: string;
  /** Where the CRS comes from: the file, the --zones-crs option, or assumed (EPSG:4326, nothing named one). */
  readonly crsFrom: ZoneCrsFrom;
  /** Where the zones come from (file or URL), for messages. */
  readonly source: string;
}

/** A CRS as a file states it: an EPSG code, WKT, or both (the code wins when the EPSG table knows it). */
export interface FileCrs {
  /** EPSG code the file names. */
  readonly epsg?: number;
  /** WKT the file holds: a .prj, gpkg_spatial_ref_sys.definition, a FlatGeobuf header's wkt. */
  readonly wkt?: string;
  /** What messages call it, the source included, e.g. `zones.shp: the .prj zones.prj`. */
  readonly what: string;
}

/** What a format reader finds: the zones in the file's own coordinates, and the CRS the file states (undefined: none). */
export interface FileZones {
  /** The zones, in feature order. */
  readonly zones: Zone[];
  /** The file's CRS, or undefined when it states none. */
  readonly crs: FileCrs | undefined;
}

/** A short JSON rendering of a bad value for a message. */
export function shown(value: unknown): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
