/**
 * FlatGeobuf zones through the `flatgeobuf` package (its GeoJSON deserializer, imported by path so that
 * its OpenLayers module stays unloaded). The header's CRS is an organisation and code (EPSG) and
 * perhaps WKT; features come in file order, their properties from the header's columns.
 */
import { deserialize } from 'flatgeobuf/lib/mjs/geojson.js';
import type { HeaderMeta } from 'flatgeobuf/lib/mjs/header-meta.js';
import { messageOf } from '../../../errors.js';
import { zoneOfFeature } from './geojson.js';
import { ZoneError, type FileCrs, type FileZones, type Zone } from './zone-set.js';

/** The zones of a FlatGeobuf file and the CRS of its header (undefined when it has none). */
export async function readFlatGeobuf(bytes: Uint8Array, source: string, idField?: string): Promise<FileZones> {
  let header: HeaderMeta | undefined;
  const zones: Zone[] = [];
  try {
    for await (const feature of deserialize(bytes, { headerMetaFn: (h: HeaderMeta) => (header = h) })) {
      zones.push(zoneOfFeature(feature.geometry, feature.properties, zones.length, source, idField));
    }
  } catch (err) {
    if (err instanceof ZoneError) throw err;
    throw new ZoneError(`${source} is not a FlatGeobuf file this reader can read: ${messageOf(err)}`, { cause: err });
  }
  return { zones, crs: header === undefined ? undefined : crsOf(header, source) };
}

function crsOf(header: HeaderMeta, source: string): FileCrs | undefined {
  const crs = header.crs;
  if (crs === null) return undefined;
  const epsg = crs.org === null || crs.org.toUpperCase() === 'EPSG' ? (crs.code > 0 ? crs.code : undefined) : undefined;
  const wkt = crs.wkt ?? undefined;
  if (epsg === undefined && wkt === undefined) {
    // A code of another organisation (or none) and no WKT: nothing this reader can turn into a CRS.
    if (crs.code > 0 || crs.code_string !== null) throw new ZoneError(`${source}: the header's CRS ${crs.org ?? ''}:${crs.code_string ?? crs.code} has no WKT and is not an EPSG code; give the CRS with --zones-crs`);
    return undefined;
  }
  return { ...(epsg !== undefined ? { epsg } : {}), ...(wkt !== undefined ? { wkt } : {}), what: `${source}: the header's CRS ${crs.org ?? 'EPSG'}:${crs.code_string ?? crs.code}` };
}
