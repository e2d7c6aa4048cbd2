/**
 * GeoPackage zones: SQLite through better-sqlite3. The layer is a feature table of gpkg_contents (the
 * one named, or the only one), its geometry column and srs_id from gpkg_geometry_columns, its CRS from
 * gpkg_spatial_ref_sys (the EPSG code, else the WKT definition). Each geometry is a GeoPackage binary
 * blob: a small header parsed here by hand (8 bytes and an optional envelope; no package does only
 * this), then standard WKB, which `wkx` reads (Z and M values included, and ignored).
 */
import Database from 'better-sqlite3';
import wkx from 'wkx';
import { messageOf } from '../../../errors.js';
import { zoneOfFeature } from './geojson.js';
import { ZoneError, type FileCrs, type FileZones, type Zone } from './zone-set.js';

/** Bytes of the envelope by the header's envelope indicator: none, xy, xyz, xym, xyzm. */
const ENVELOPE_BYTES = [0, 32, 48, 48, 64];

/**
 * The WKB of a GeoPackage geometry blob, or null for an empty geometry. The header: "GP", a version
 * byte, a flags byte (bit 0: byte order of the header; bits 1-3: envelope indicator; bit 4: empty;
 * bit 5: extended geometry type), the srs_id (int32), the envelope; then the WKB, whose own byte
 * order is in its first byte.
 */
export function gpkgWkb(blob: Uint8Array, where: string): Uint8Array | null {
  if (blob.length < 8 || blob[0] !== 0x47 || blob[1] !== 0x50) throw new ZoneError(`${where}: the geometry is not a GeoPackage geometry blob (it does not start with "GP")`);
  const flags = blob[3]!;
  if (flags & 0x20) throw new ZoneError(`${where}: the geometry uses an extended GeoPackage geometry type, which is not supported`);
  if (flags & 0x10) return null;
  const envelope = ENVELOPE_BYTES[(flags >> 1) & 0x07];
  if (envelope === undefined) throw new ZoneError(`${where}: the geometry header's envelope indicator ${(flags >> 1) & 0x07} is not valid (0 to 4)`);
  return blob.subarray(8 + envelope);
}

/** A feature table of the GeoPackage: its name, geometry column and srs_id. */
interface FeatureTable {
  table_name: string;
  column_name: string;
  srs_id: number;
}

/** A double-quoted SQL identifier. */
const quoted = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** The feature table to read: the one `layer` names, or the only one. */
function pickTable(db: Database.Database, source: string, layer: string | undefined): FeatureTable {
  const hasContents = db.prepare("SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = 'gpkg_contents'").get();
  if (hasContents === undefined) throw new ZoneError(`${source} is an SQLite database but not a GeoPackage: it has no gpkg_contents table`);
  const tables = db
    .prepare(
      `SELECT c.table_name AS table_name, g.column_name AS column_name, g.srs_id AS srs_id FROM gpkg_contents c
       JOIN gpkg_geometry_columns g ON g.table_name = c.table_name WHERE c.data_type = 'features' ORDER BY c.rowid`,
    )
    .all() as FeatureTable[];
  const names = tables.map((t) => t.table_name).join(', ');
  if (layer !== undefined) {
    const table = tables.find((t) => t.table_name === layer) ?? tables.find((t) => t.table_name.toLowerCase() === layer.toLowerCase());
    if (table === undefined) throw new ZoneError(`--zones-layer ${layer}: ${source} has no feature table of that name; its feature tables: ${names || 'none'}`);
    return table;
  }
  if (tables.length === 0) throw new ZoneError(`${source} has no feature table (gpkg_contents lists no data_type "features")`);
  if (tables.length > 1) throw new ZoneError(`${source} has ${tables.length} feature tables (${names}); name one with --zones-layer`);
  return tables[0]!;
}

/** The CRS of an srs_id: undefined for 0 and -1 (GeoPackage's undefined geographic and Cartesian SRSs). */
function crsOf(db: Database.Database, table: FeatureTable, source: string): FileCrs | undefined {
  if (table.srs_id === 0 || table.srs_id === -1) return undefined;
  const row = db.prepare('SELECT srs_name, organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?').get(table.srs_id) as
    | { srs_name: string; organization: string; organization_coordsys_id: number; definition: string }
    | undefined;
  const what = `${source}: layer ${table.table_name}'s srs_id ${table.srs_id}`;
  if (row === undefined) throw new ZoneError(`${what} is not in gpkg_spatial_ref_sys`);
  const epsg = row.organization?.toUpperCase() === 'EPSG' && row.organization_coordsys_id > 0 ? row.organization_coordsys_id : undefined;
  const wkt = typeof row.definition === 'string' && row.definition.trim().toLowerCase() !== 'undefined' ? row.definition : undefined;
  if (epsg === undefined && wkt === undefined) return undefined;
  return { ...(epsg !== undefined ? { epsg } : {}), ...(wkt !== undefined ? { wkt } : {}), what: `${what} (${row.srs_name})` };
}

/**
 * The zones of a GeoPackage layer and its CRS. `file` is a local path (opened read-only) or the whole
 * database's bytes (a remote GeoPackage, read through storage: SQLite needs random access).
 */
export function readGeoPackage(file: string | Uint8Array, source: string, options: { layer?: string; idField?: string } = {}): FileZones {
  let db: Database.Database;
  try {
    db = typeof file === 'string' ? new Database(file, { readonly: true, fileMustExist: true }) : new Database(Buffer.from(file.buffer, file.byteOffset, file.byteLength));
  } catch (err) {
    throw new ZoneError(`${source} cannot be opened as SQLite: ${messageOf(err)}`, { cause: err });
  }
  try {
    const table = pickTable(db, source, options.layer);
    const crs = crsOf(db, table, source);
    const zones: Zone[] = [];
    // A plain scan gives the rows in rowid (fid) order, the order GDAL reads them in.
    for (const row of db.prepare(`SELECT * FROM ${quoted(table.table_name)}`).iterate() as Iterable<Record<string, unknown>>) {
      const where = `${source}: feature ${zones.length}`;
      const { [table.column_name]: blob, ...props } = row;
      let geometry: object | null = null;
      if (blob !== null && blob !== undefined) {
        if (!(blob instanceof Uint8Array)) throw new ZoneError(`${where}: column ${table.column_name} holds ${typeof blob}, not a geometry blob`);
        const wkb = gpkgWkb(blob, where);
        try {
          geometry = wkb === null ? null : wkx.Geometry.parse(Buffer.from(wkb.buffer, wkb.byteOffset, wkb.byteLength)).toGeoJSON();
        } catch (err) {
          throw new ZoneError(`${where}: the geometry's WKB does not parse: ${messageOf(err)}`, { cause: err });
        }
      }
      zones.push(zoneOfFeature(geometry, props, zones.length, source, options.idField));
    }
    return { zones, crs };
  } catch (err) {
    if (err instanceof ZoneError) throw err;
    throw new ZoneError(`${source} cannot be read as a GeoPackage: ${messageOf(err)}`, { cause: err });
  } finally {
    db.close();
  }
}
