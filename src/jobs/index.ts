/**
 * The distributed raster jobs: each plans its work from the inputs' headers, runs it on a cluster
 * through the engine's client, and registers the worker tasks it needs (tasks.ts) with the engine's
 * task registry. The kernels they run are in src/algebra; the files they read and write, in src/raster.
 */
export { sceneName, splitByFile, splitByWindows, type RasterWindowInput } from './inputs.js';
export { NoMatchError } from '../storage/index.js';
export { ScenePairingError, planNdvi, runNdviJob, type NdviJobOptions, type NdviJobProgress, type NdviJobResult, type NdviPlan, type NdviSceneSummary } from './ndvi-job.js';
export { ONE_FILE, outPrefix, partsPrefixOf, planScene, runWindowJob, type WindowJobOptions, type WindowJobProgress, type WindowJobResult, type WindowScene, type WindowSceneResult } from './window-job.js';
export { DEFAULT_ZONAL_STATS, planZonalJob, readZonalInputs, runZonalJob, type ZonalInputs, type ZonalJob, type ZonalOptions, type ZonalResult } from './zonal/job.js';
