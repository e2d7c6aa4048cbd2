/**
 * Coordinate reference systems of GeoTIFFs: GeoKeys -> EPSG code / PROJ definition, and back.
 *
 * The TIFF reader hands over the three GeoKey tags; {@link crsFromGeoKeys} says which CRS they mean,
 * with a PROJ string proj4js can run offline. Writers get the GeoKeys GDAL would write for an EPSG
 * code from {@link geoKeysForEpsg}. EPSG definitions come from a table generated from PROJ's
 * database (see tools/make-epsg-data.mjs), holding every projected and geographic 2D CRS whose
 * PROJ string proj4js reproduces within 1 cm.
 */
export { crsFromGeoKeys } from './from-geokeys.js';
export { geoKeysForEpsg, type GeoKeyTagValues } from './to-geokeys.js';
export { projForEpsg, epsgUnavailableReason, epsgDataSource } from './epsg.js';
export { requireProj, type Crs, type CrsKind } from './crs.js';
export type { GeoKeyTags } from './directory.js';
export { CrsError, type CrsErrorCode } from './errors.js';
export { GEO_KEY_DIRECTORY_TAG, GEO_DOUBLE_PARAMS_TAG, GEO_ASCII_PARAMS_TAG } from './geokeys.js';
