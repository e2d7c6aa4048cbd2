/** Map algebra on rasters: per-pixel band math, and (later) focal and zonal operations. */
export { NDVI_DTYPES, NDVI_NODATA, computeNdvi, emptyNdviStats, type NdviDType, type NdviStats } from './ndvi.js';
export { BandMismatchError, ndviFile, type NdviFileOptions, type NdviFileResult } from './ndvi-file.js';
export { ScenePairingError, planNdvi, runNdviJob, type NdviJobOptions, type NdviJobProgress, type NdviJobResult, type NdviPlan, type NdviSceneSummary } from './ndvi-job.js';
