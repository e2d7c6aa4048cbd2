/**
 * Zonal statistics over vector masks: zones from GeoJSON, GeoPackage, FlatGeobuf or Shapefile files
 * (zones/), GDAL's rasterising rules (rasterize.ts), the plan that spreads the blocks the zones cover
 * over the nodes by compressed bytes (plan.ts), the worker's task (tasks.ts), exact partial statistics
 * and their merge (stats.ts), and the job (job.ts).
 */
export { DEFAULT_ZONAL_STATS, planZonalJob, readZonalInputs, runZonalJob, type ZonalInputs, type ZonalJob, type ZonalOptions, type ZonalResult, type ZoneRow } from './job.js';
export { formatZonalCsv, formatZonalJson } from './output.js';
export { STAT_NAMES, ZoneAccumulator, computeStats, mergePartials, parseStats, type StatName, type ZonalPartial, type ZoneStats } from './stats.js';
export { ZoneError, detectZonesFormat, parseZones, parseZonesCrs, readZones, toPixelSpace, type PixelZone, type ReadZonesOptions, type Zone, type ZoneSet, type ZonesFormat } from './zones/index.js';
export { rasterizeZone, zoneBounds, type Spans } from './rasterize.js';
export { blockGrid, maxPartialBytes, planZonal, type BlockGrid, type NodePlan, type PlanNode, type SubtaskPlan, type ZonalPlan } from './plan.js';
