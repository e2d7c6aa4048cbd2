import { CrsError } from './errors.js';

/** What sort of coordinate reference system a raster is in. */
export type CrsKind =
  /** Easting/northing on a map projection (GTModelTypeGeoKey 1). */
  | 'projected'
  /** Longitude/latitude (GTModelTypeGeoKey 2). */
  | 'geographic'
  /** Earth-centred X/Y/Z (GTModelTypeGeoKey 3). */
  | 'geocentric'
  /**
   * A local grid tied to no datum: GTModelTypeGeoKey user-defined or missing with no ESRI PE string,
   * as GDAL reads it (an ENGCRS / LOCAL_CS, e.g. "Cartesian (Meter)"). Cannot be reprojected.
   */
  | 'engineering';

/** A raster's coordinate reference system, read from its GeoKeys. */
export interface Crs {
  /** EPSG code when the GeoKeys give one (ProjectedCSTypeGeoKey / GeographicTypeGeoKey), else null. */
  readonly epsg: number | null;
  /**
   * A PROJ definition ("+proj=... +no_defs") proj4js can run without a network, for EPSG and
   * user-defined CRSs alike; '' when there is none (see `reason`). Note: south-oriented grids carry
   * "+axis=wsu", which proj4js honours only when asked (`proj4(a, b).forward(p, true)`).
   */
  readonly proj: string;
  /** Projected, geographic, geocentric or engineering. */
  readonly kind: CrsKind;
  /** Human name when known: the EPSG name, else the citation GeoKeys. */
  readonly name?: string;
  /** Why `proj` is '' (engineering CRS, EPSG code outside the table, method proj4js lacks). */
  readonly reason?: string;
  /**
   * Only for a geographic CRS that counts in another unit than the degree (EPSG:4807 "NTF (Paris)"
   * counts grads: 0.9). A PROJ string cannot say so (+proj=longlat is always degrees), so multiply
   * the raster's longitudes and latitudes by this before handing them to proj4js.
   */
  readonly degreesPerUnit?: number;
}

/**
 * The CRS's PROJ definition, or a CrsError ERR_CRS_UNSUPPORTED that says why there is none and where:
 * what a reprojection step calls before handing the string to proj4js.
 */
export function requireProj(crs: Crs, where: string): string {
  if (crs.proj !== '') return crs.proj;
  const what = crs.epsg !== null ? `EPSG:${crs.epsg}` : crs.name !== undefined ? `"${crs.name}"` : `the ${crs.kind} CRS`;
  throw new CrsError('ERR_CRS_UNSUPPORTED', `${what} of ${where} cannot be reprojected: ${crs.reason ?? 'no PROJ definition'}`);
}
