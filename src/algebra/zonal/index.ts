/**
 * Zonal statistics over vector masks: zones from GeoJSON, GeoPackage, FlatGeobuf or Shapefile files
 * (zones/), GDAL's rasterising rules (rasterize.ts), the plan that spreads the blocks the zones cover
 * over the nodes by compressed bytes (plan.ts), exact partial statistics, their wire form and their
 * merge (stats.ts, codec.ts). The distributed job and its worker task are in src/jobs/zonal/.
 */
export { decodePartial, encodePartial, wirePartialSchema, type WirePartial } from './codec.js';
export { formatZonalCsv, formatZonalJson, type ZoneRow } from './output.js';
export { STAT_NAMES, ZoneAccumulator, computeStats, mergePartials, parseStats, type StatName, type ZonalPartial, type ZoneStats } from './stats.js';
export { ZoneError, detectZonesFormat, parseZones, parseZonesCrs, readZones, toPixelSpace, type PixelZone, type ReadZonesOptions, type Zone, type ZoneSet, type ZonesFormat } from './zones/index.js';
export { rasterizeZone, zoneBounds, type Spans } from './rasterize.js';
export { blockGrid, maxPartialBytes, planZonal, type BlockGrid, type NodePlan, type PlanNode, type SubtaskPlan, type ZonalPlan } from './plan.js';
