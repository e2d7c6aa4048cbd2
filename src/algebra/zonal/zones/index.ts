/**
 * Zones for zonal statistics: a vector file (GeoJSON, GeoPackage, FlatGeobuf, Shapefile) read into one
 * {@link ZoneSet} (read.ts, one reader per format), its polygons checked once (geojson.ts, rings.ts),
 * its CRS decided (crs.ts), then carried into a raster's pixel space as gdal_rasterize does (pixel-space.ts).
 */
export { ZoneError, type FileCrs, type FileZones, type Zone, type ZoneCrsFrom, type ZonePolygons, type ZoneSet } from './zone-set.js';
export { parseZones } from './geojson.js';
export { checkLonLat, parseZonesCrs, type ZoneCrs } from './crs.js';
export { detectZonesFormat, readZones, type ReadZonesOptions, type ZonesFormat } from './read.js';
export { invertGeoTransform, toPixelSpace, type PixelZone, type RasterGrid } from './pixel-space.js';
