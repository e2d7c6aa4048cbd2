/**
 * Shapefile zones through the `shapefile` package: geometries from the .shp (its rings grouped into
 * polygons and holes by orientation, as the format defines), attributes from the .dbf in the encoding
 * the .cpg names (the package's windows-1252 without one), and the CRS from the .prj's WKT (ESRI's
 * flavour, which proj4 reads). Reading the three files is read.ts's job; this file gets their bytes.
 */
import { open } from 'shapefile';
import { messageOf } from '../../../errors.js';
import { zoneOfFeature } from './geojson.js';
import { ZoneError, type FileZones, type Zone } from './zone-set.js';

/** The parts of one shapefile, read. */
export interface ShapefileParts {
  /** The .shp: geometries. */
  readonly shp: Uint8Array;
  /** The .dbf: attributes. */
  readonly dbf: Uint8Array;
  /** The .prj's text, or undefined when there is none. */
  readonly prj?: string;
  /** Where the .prj is, for messages. */
  readonly prjUrl: string;
  /** The .cpg's text (the .dbf's encoding), or undefined. */
  readonly cpg?: string;
}

/** The TextDecoder label a .cpg names: code pages by number ("1252"), else the name itself ("UTF-8"). */
function encodingOf(cpg: string | undefined): string | undefined {
  const name = cpg?.trim();
  if (name === undefined || name === '') return undefined;
  const label = /^\d+$/.test(name) ? `windows-${name}` : name;
  try {
    new TextDecoder(label);
    return label;
  } catch {
    return undefined; // an encoding TextDecoder does not know: the package's default
  }
}

/** The zones of a shapefile and the CRS of its .prj (undefined without one). */
export async function readShapefile(parts: ShapefileParts, source: string, idField?: string): Promise<FileZones> {
  const encoding = encodingOf(parts.cpg);
  const zones: Zone[] = [];
  try {
    const features = await open(parts.shp, parts.dbf, encoding !== undefined ? { encoding } : {});
    for (let next = await features.read(); !next.done; next = await features.read()) {
      zones.push(zoneOfFeature(next.value.geometry, next.value.properties, zones.length, source, idField));
    }
  } catch (err) {
    if (err instanceof ZoneError) throw err;
    throw new ZoneError(`${source} is not a shapefile this reader can read: ${messageOf(err)}`, { cause: err });
  }
  const wkt = parts.prj?.trim();
  return { zones, crs: wkt === undefined || wkt === '' ? undefined : { wkt, what: `${source}: the .prj ${parts.prjUrl}` } };
}
