import { DataboxError } from '../errors.js';
import type { GeoTiff } from '../raster/index.js';

/** Input rasters that do not cover the same pixels. */
export class BandMismatchError extends DataboxError {
  constructor(message: string) {
    super('ERR_BAND_MISMATCH', message);
  }
}

/** A raster with the name the user knows it by: `Red`, `NIR`, `band nir`. */
export interface NamedRaster {
  name: string;
  raster: GeoTiff;
}

/**
 * Fails unless every raster covers the same pixels as the first: size, geotransform and CRS. The error
 * names both rasters and every way they differ, e.g. `NIR b.tif differs from Red a.tif: size 294×304 vs
 * 41×41, CRS EPSG:32633 vs EPSG:32632; NDVI needs the same grid`.
 */
export function checkSameGrid(rasters: readonly NamedRaster[], purpose: string): void {
  const [first, ...rest] = rasters;
  if (first === undefined) return;
  for (const other of rest) {
    const differences = gridDifferences(other.raster, first.raster);
    if (differences.length > 0) {
      throw new BandMismatchError(
        `${other.name} ${other.raster.url} differs from ${first.name} ${first.raster.url}: ${differences.join(', ')}; ${purpose} needs the same grid`,
      );
    }
  }
}

/** How `a`'s grid differs from `b`'s, one phrase per difference; empty when they match. */
function gridDifferences(a: GeoTiff, b: GeoTiff): string[] {
  const out: string[] = [];
  if (a.width !== b.width || a.height !== b.height) out.push(`size ${a.width}×${a.height} vs ${b.width}×${b.height}`);
  const ga = a.geotransform;
  const gb = b.geotransform;
  if ((ga === null) !== (gb === null)) {
    out.push(`geotransform ${ga === null ? 'none' : `[${ga.join(', ')}]`} vs ${gb === null ? 'none' : `[${gb.join(', ')}]`}`);
  } else if (ga !== null && gb !== null && ga.some((v, i) => Math.abs(v - gb[i]!) > 1e-6 * Math.max(1, Math.abs(v)))) {
    out.push(`geotransform [${ga.join(', ')}] vs [${gb.join(', ')}]`);
  }
  const ca = crsName(a);
  const cb = crsName(b);
  if (ca !== cb) out.push(`CRS ${ca} vs ${cb}`);
  return out;
}

function crsName(g: GeoTiff): string {
  if (g.crs === null) return 'none';
  if (g.crs.epsg !== null) return `EPSG:${g.crs.epsg}`;
  return g.crs.proj !== '' ? `"${g.crs.proj}"` : 'a user-defined CRS';
}
