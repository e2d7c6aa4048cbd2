/**
 * `readZones`: the zones file at a URL, in whichever format it is, with its CRS decided. The format
 * comes from the first bytes (FlatGeobuf's "fgb" magic, SQLite's header for a GeoPackage, a
 * shapefile's file code 9994, "{" for GeoJSON), the extension only where the content says nothing.
 * Everything is read through storage, so http(s):// and s3:// work for every format: a remote
 * GeoPackage is read whole into memory (SQLite needs random access), a shapefile's .dbf, .prj and
 * .cpg are read from beside its .shp.
 */
import { parseStorageUrl, openSource, readAll, StorageNotFoundError, type StorageSource } from '../../../storage/index.js';
import { parseZonesCrs, resolveCrs } from './crs.js';
import { readGeoJson } from './geojson.js';
import { isFlatGeobuf, isShapefile, isSqlite } from './magic.js';
import type { ShapefileParts } from './shapefile.js';
import { ZoneError, type FileZones, type ZoneSet } from './zone-set.js';

/** Options of {@link readZones}. */
export interface ReadZonesOptions {
  /** Property whose value identifies a feature (--id-field); @defaultValue the feature's index */
  idField?: string;
  /** CRS of the coordinates (--zones-crs): EPSG:NNNN, a number, a PROJ string or WKT; overrides the file's own. @defaultValue the file's CRS, else EPSG:4326 */
  crs?: string;
  /** GeoPackage layer, a feature table (--zones-layer). @defaultValue the only feature table */
  layer?: string;
  signal?: AbortSignal;
}

/** The formats {@link readZones} reads. */
export type ZonesFormat = 'GeoJSON' | 'GeoPackage' | 'FlatGeobuf' | 'Shapefile';

const ACCEPTED = 'GeoJSON (.geojson, .json), GeoPackage (.gpkg), FlatGeobuf (.fgb) and Shapefile (.shp, with its .dbf beside it, and its .prj for the CRS)';

/** Bytes sniffed to tell the formats apart. */
const HEAD_BYTES = 64;

/** The format of a zones file by its first bytes, else by its extension; undefined when neither tells. */
export function detectZonesFormat(head: Uint8Array, url: string): ZonesFormat | undefined {
  if (isFlatGeobuf(head)) return 'FlatGeobuf';
  if (isSqlite(head)) return 'GeoPackage';
  if (isShapefile(head)) return 'Shapefile';
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0; // a UTF-8 byte order mark
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d)) i++;
  if (head[i] === 0x7b) return 'GeoJSON'; // "{"
  return /\.(geo)?json$/i.test(pathOf(url)) ? 'GeoJSON' : undefined;
}

/** The path part of a URL (no query or fragment for http). */
function pathOf(url: string): string {
  return parseStorageUrl(url).kind === 'http' ? url.replace(/[?#].*$/, '') : url;
}

/** Why a file is not a zones file, as far as its name and first bytes tell. */
function unknownFormat(head: Uint8Array, url: string): ZoneError {
  const path = pathOf(url);
  const ext = /\.([^./\\]+)$/.exec(path)?.[1]?.toLowerCase();
  let why: string;
  if (head.length === 0) why = 'it is empty';
  else if (head[0] === 0x50 && head[1] === 0x4b) why = 'it is a ZIP archive; unzip it and give the .shp, .gpkg, .fgb or .geojson inside';
  else if (ext !== undefined && ['dbf', 'shx', 'prj', 'cpg'].includes(ext)) why = `a .${ext} is one part of a shapefile; give its .shp`;
  else if (ext === 'gpkg' || ext === 'fgb' || ext === 'shp') why = `its name ends in .${ext} but its first bytes are not those of that format`;
  else why = 'its first bytes are none of theirs';
  return new ZoneError(`${url} is not a zones file this reader knows (${why}); accepted: ${ACCEPTED}`);
}

/**
 * Reads, checks and places in a CRS the zones at `url` (a path, file://, http(s):// or s3:// URL):
 * GeoJSON, GeoPackage, FlatGeobuf or Shapefile. The CRS is `options.crs` when given (it overrides the
 * file's), else the file's, else EPSG:4326, and then every position must lie within ±180/±90.
 */
export async function readZones(url: string, options: ReadZonesOptions = {}): Promise<ZoneSet> {
  const { layer, signal } = options;
  // A bad --zones-crs is refused before anything is read.
  if (options.crs !== undefined) parseZonesCrs(options.crs);
  const source = openSource(url, { cache: false });
  let file: FileZones;
  try {
    const size = await source.size({ signal });
    const head = await source.read(0, Math.min(size, HEAD_BYTES), { signal });
    const format = detectZonesFormat(head, url);
    if (format === undefined) throw unknownFormat(head, url);
    if (layer !== undefined && format !== 'GeoPackage') throw new ZoneError(`--zones-layer ${layer}: ${url} is a ${format} file, which holds one layer; --zones-layer names a layer of a GeoPackage`);
    file = await readFormat(format, source, size, url, options);
  } finally {
    await source.close();
  }
  const crs = resolveCrs(file.crs, options.crs, file.zones, url);
  return { zones: file.zones, epsg: crs.epsg, ...(crs.proj !== undefined ? { proj: crs.proj } : {}), crsFrom: crs.crsFrom, source: url };
}

async function readFormat(format: ZonesFormat, source: StorageSource, size: number, url: string, options: ReadZonesOptions): Promise<FileZones> {
  const { idField, signal } = options;
  const all = (): Promise<Uint8Array> => source.read(0, size, { signal });
  switch (format) {
    case 'GeoJSON':
      return readGeoJson(new TextDecoder().decode(await all()), url, idField);
    case 'FlatGeobuf':
      return (await import('./flatgeobuf.js')).readFlatGeobuf(await all(), url, idField);
    case 'GeoPackage': {
      const location = parseStorageUrl(url);
      const gpkgOptions = { ...(options.layer !== undefined ? { layer: options.layer } : {}), ...(idField !== undefined ? { idField } : {}) };
      return (await import('./geopackage.js')).readGeoPackage(location.kind === 'file' ? location.path : await all(), url, gpkgOptions);
    }
    case 'Shapefile':
      return (await import('./shapefile.js')).readShapefile(await shapefileParts(url, await all(), signal), url, idField);
  }
}

/** The URL of a shapefile's sibling: its .shp extension swapped for `ext`, in the same case. */
function sibling(url: string, ext: string): string {
  const m = (parseStorageUrl(url).kind === 'http' ? /\.(shp)([?#].*)?$/i : /\.(shp)$/i).exec(url);
  if (m === null && /\.shx([?#].*)?$/i.test(url)) throw new ZoneError(`${url} is the index (.shx) of a shapefile; give its .shp`);
  if (m === null) throw new ZoneError(`${url} is a shapefile whose name does not end in .shp, so its .dbf and .prj cannot be found; give it by its .shp name`);
  const swapped = m[1] === 'SHP' ? ext.toUpperCase() : ext;
  return `${url.slice(0, m.index)}.${swapped}${m[2] ?? ''}`;
}

/** A sibling's bytes, or undefined when there is none. */
async function optional(url: string, signal: AbortSignal | undefined): Promise<Uint8Array | undefined> {
  try {
    return await readAll(url, signal ? { signal } : {});
  } catch (err) {
    if (err instanceof StorageNotFoundError) return undefined;
    throw err;
  }
}

async function shapefileParts(url: string, shp: Uint8Array, signal: AbortSignal | undefined): Promise<ShapefileParts> {
  const [dbfUrl, prjUrl, cpgUrl] = ['dbf', 'prj', 'cpg'].map((ext) => sibling(url, ext)) as [string, string, string];
  const [dbf, prj, cpg] = await Promise.all([optional(dbfUrl, signal), optional(prjUrl, signal), optional(cpgUrl, signal)]);
  if (dbf === undefined) throw new ZoneError(`${url}: its .dbf (the attributes) is missing: there is no ${dbfUrl}`);
  const text = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));
  const prjText = text(prj);
  const cpgText = text(cpg);
  return { shp, dbf, prjUrl, ...(prjText !== undefined ? { prj: prjText } : {}), ...(cpgText !== undefined ? { cpg: cpgText } : {}) };
}
