/**
 * GeoTIFF key and code numbers (OGC GeoTIFF 1.1, which keeps the 1.0 numbers and renames a few keys;
 * the 1.0 names are used here because that is what files, GDAL and listgeo still print).
 */

/** TIFF tags that carry the GeoKeys. */
export const GEO_KEY_DIRECTORY_TAG = 34735;
/** TIFF tag with the DOUBLE values GeoKeys point into. */
export const GEO_DOUBLE_PARAMS_TAG = 34736;
/** TIFF tag with the ASCII values GeoKeys point into ('|'-terminated substrings). */
export const GEO_ASCII_PARAMS_TAG = 34737;

/** "User-defined": the key's value is spelled out by other keys. */
export const USER_DEFINED = 32767;

/** GeoKey ids. The comment gives the GeoTIFF 1.1 name where it differs. */
export const GeoKey = {
  GTModelType: 1024,
  GTRasterType: 1025,
  GTCitation: 1026,
  GeographicType: 2048, // GeodeticCRSGeoKey
  GeogCitation: 2049, // GeodeticCitationGeoKey
  GeogGeodeticDatum: 2050, // GeodeticDatumGeoKey
  GeogPrimeMeridian: 2051, // PrimeMeridianGeoKey
  GeogLinearUnits: 2052,
  GeogLinearUnitSize: 2053,
  GeogAngularUnits: 2054,
  GeogAngularUnitSize: 2055,
  GeogEllipsoid: 2056, // EllipsoidGeoKey
  GeogSemiMajorAxis: 2057, // EllipsoidSemiMajorAxisGeoKey
  GeogSemiMinorAxis: 2058, // EllipsoidSemiMinorAxisGeoKey
  GeogInvFlattening: 2059, // EllipsoidInvFlatteningGeoKey
  GeogAzimuthUnits: 2060,
  GeogPrimeMeridianLong: 2061, // PrimeMeridianLongitudeGeoKey
  GeogTOWGS84: 2062, // libgeotiff extension: 3 or 7 Helmert parameters
  ProjectedCSType: 3072, // ProjectedCRSGeoKey
  PCSCitation: 3073, // ProjectedCitationGeoKey
  Projection: 3074,
  ProjCoordTrans: 3075, // ProjMethodGeoKey
  ProjLinearUnits: 3076,
  ProjLinearUnitSize: 3077,
  ProjStdParallel1: 3078,
  ProjStdParallel2: 3079,
  ProjNatOriginLong: 3080,
  ProjNatOriginLat: 3081,
  ProjFalseEasting: 3082,
  ProjFalseNorthing: 3083,
  ProjFalseOriginLong: 3084,
  ProjFalseOriginLat: 3085,
  ProjFalseOriginEasting: 3086,
  ProjFalseOriginNorthing: 3087,
  ProjCenterLong: 3088,
  ProjCenterLat: 3089,
  ProjCenterEasting: 3090,
  ProjCenterNorthing: 3091,
  ProjScaleAtNatOrigin: 3092,
  ProjScaleAtCenter: 3093,
  ProjAzimuthAngle: 3094,
  ProjStraightVertPoleLong: 3095,
  ProjRectifiedGridAngle: 3096, // libgeotiff extension (Hotine gamma)
  VerticalCSType: 4096,
  VerticalCitation: 4097,
  VerticalDatum: 4098,
  VerticalUnits: 4099,
} as const;

const NAMES = new Map<number, string>(Object.entries(GeoKey).map(([name, id]) => [id, `${name}GeoKey`]));

/** "ProjFalseEastingGeoKey (3082)", or "GeoKey 5000" for ids this module does not know. */
export function geoKeyName(id: number): string {
  const name = NAMES.get(id);
  return name === undefined ? `GeoKey ${id}` : `${name} (${id})`;
}

/** GTModelTypeGeoKey values. */
export const ModelType = { Projected: 1, Geographic: 2, Geocentric: 3 } as const;

/** GTRasterTypeGeoKey values. */
export const RasterType = { PixelIsArea: 1, PixelIsPoint: 2 } as const;

/** ProjCoordTransGeoKey values (geo_ctrans.inc in libgeotiff). */
export const CoordTrans = {
  TransverseMercator: 1,
  TransvMercatorModifiedAlaska: 2,
  ObliqueMercator: 3, // Hotine variant A
  ObliqueMercatorLaborde: 4,
  ObliqueMercatorRosenmund: 5,
  ObliqueMercatorSpherical: 6,
  Mercator: 7,
  LambertConfConic2SP: 8,
  LambertConfConic1SP: 9, // also "LambertConfConic_Helmert"
  LambertAzimEqualArea: 10,
  AlbersEqualArea: 11,
  AzimuthalEquidistant: 12,
  EquidistantConic: 13,
  Stereographic: 14,
  PolarStereographic: 15,
  ObliqueStereographic: 16,
  Equirectangular: 17,
  CassiniSoldner: 18,
  Gnomonic: 19,
  MillerCylindrical: 20,
  Orthographic: 21,
  Polyconic: 22,
  Robinson: 23,
  Sinusoidal: 24,
  VanDerGrinten: 25,
  NewZealandMapGrid: 26,
  TransvMercatorSouthOriented: 27,
  CylindricalEqualArea: 28,
  HotineObliqueMercatorAzimuthCenter: 9815, // Hotine variant B; GDAL writes it, named by its EPSG method
} as const;

/** EPSG unit codes the GeoKeys use most. */
export const Unit = {
  Metre: 9001,
  Foot: 9002,
  UsSurveyFoot: 9003,
  Radian: 9101,
  Degree: 9102,
  Grad: 9105,
  SexagesimalDms: 9110,
} as const;
