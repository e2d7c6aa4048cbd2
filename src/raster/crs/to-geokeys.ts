/**
 * EPSG code -> the three GeoKey tags a writer puts in a GeoTIFF, key for key what GDAL 3 writes for
 * that code (checked against GDAL-written fixtures), so GDAL, QGIS and this reader all read it back
 * as the same EPSG CRS.
 */
import { epsgCrs, epsgEllipsoid, epsgUnavailableReason, type EpsgGeographic } from './epsg.js';
import { CrsError } from './errors.js';
import { GEO_ASCII_PARAMS_TAG, GEO_DOUBLE_PARAMS_TAG, GeoKey, ModelType, RasterType, Unit } from './geokeys.js';

/** The GeoKey tags for one CRS, ready for the TIFF writer. */
export interface GeoKeyTagValues {
  /** GeoKeyDirectoryTag (34735): SHORTs. */
  directory: number[];
  /** GeoDoubleParamsTag (34736): write it only when non-empty. */
  doubles: number[];
  /** GeoAsciiParamsTag (34737) without the TIFF NUL: write it only when non-empty. */
  ascii: string;
}

/** EPSG 9122 "degree (supplier to define representation)" is what GeoTIFF calls 9102. */
const GEOTIFF_DEGREE = new Map([[9122, Unit.Degree]]);

/**
 * The GeoKeys for an EPSG projected or geographic CRS: GTModelType, GTRasterType = PixelIsArea, the
 * CRS code, citations and units (and, for geographic CRSs, the ellipsoid axes), in GDAL's order.
 * Throws CrsError ERR_EPSG_UNKNOWN for a code the table does not hold.
 */
export function geoKeysForEpsg(epsg: number): GeoKeyTagValues {
  const crs = Number.isInteger(epsg) ? epsgCrs(epsg) : undefined;
  if (crs === undefined) {
    const why = Number.isInteger(epsg) ? epsgUnavailableReason(epsg) : undefined;
    throw new CrsError(
      'ERR_EPSG_UNKNOWN',
      `EPSG:${epsg} has no GeoKeys here: ${why ?? 'it is not a projected or geographic CRS in the EPSG table'}`,
    );
  }
  const keys = new KeyWriter();
  if (crs.kind === 'projected') {
    const base = epsgCrs(crs.geographic);
    keys.short(GeoKey.GTModelType, ModelType.Projected);
    keys.short(GeoKey.GTRasterType, RasterType.PixelIsArea);
    keys.ascii(GeoKey.GTCitation, crs.name);
    if (base !== undefined && base.kind === 'geographic') {
      keys.ascii(GeoKey.GeogCitation, base.name);
      keys.short(GeoKey.GeogAngularUnits, GEOTIFF_DEGREE.get(base.angularUnit) ?? base.angularUnit);
    }
    keys.short(GeoKey.ProjectedCSType, crs.code);
    keys.short(GeoKey.ProjLinearUnits, crs.linearUnit);
  } else {
    keys.short(GeoKey.GTModelType, ModelType.Geographic);
    keys.short(GeoKey.GTRasterType, RasterType.PixelIsArea);
    keys.short(GeoKey.GeographicType, crs.code);
    keys.ascii(GeoKey.GeogCitation, crs.name);
    keys.short(GeoKey.GeogAngularUnits, GEOTIFF_DEGREE.get(crs.angularUnit) ?? crs.angularUnit);
    writeAxes(keys, crs);
  }
  return keys.done();
}

/** GDAL writes the semi-major axis, and the inverse flattening unless the ellipsoid is a sphere. */
function writeAxes(keys: KeyWriter, crs: EpsgGeographic): void {
  const e = epsgEllipsoid(crs.ellipsoid);
  if (e === undefined) return;
  const b = e.b ?? e.a;
  const rf = e.rf ?? (b === e.a ? 0 : e.a / (e.a - b));
  // GDAL stores the inverse flattening first in GeoDoubleParamsTag; same order, same bytes.
  if (rf !== 0) keys.double(GeoKey.GeogInvFlattening, rf);
  keys.double(GeoKey.GeogSemiMajorAxis, e.a);
}

/** Collects keys and lays out the three tags, the directory sorted by key id as GeoTIFF asks. */
class KeyWriter {
  private readonly entries: number[][] = [];
  private readonly doubles: number[] = [];
  private asciiText = '';

  short(id: number, value: number): void {
    this.entries.push([id, 0, 1, value]);
  }

  double(id: number, value: number): void {
    this.entries.push([id, GEO_DOUBLE_PARAMS_TAG, 1, this.doubles.length]);
    this.doubles.push(value);
  }

  ascii(id: number, value: string): void {
    // Each value ends with '|', which the count includes.
    const text = `${value.replace(/\|/g, '/')}|`;
    this.entries.push([id, GEO_ASCII_PARAMS_TAG, text.length, this.asciiText.length]);
    this.asciiText += text;
  }

  done(): GeoKeyTagValues {
    // KeyDirectoryVersion 1, KeyRevision 1.0: GeoTIFF 1.0, what GDAL writes unless asked for 1.1.
    const sorted = [...this.entries].sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
    const directory = [1, 1, 0, sorted.length, ...sorted.flat()];
    return { directory, doubles: this.doubles, ascii: this.asciiText };
  }
}
