/** Map algebra on rasters: local (band math, NDVI, chlorophyll), focal and zonal operations, on one machine or a cluster. */
export { NDVI_DTYPES, NDVI_EXPRESSION, NDVI_NODATA, computeNdvi, emptyNdviStats, ndviOp, ndviOutput, type NdviDType, type NdviStats } from './ndvi.js';
export { ndviFile, type NdviFileOptions, type NdviFileResult } from './ndvi-file.js';
export { ScenePairingError, planNdvi, runNdviJob, type NdviJobOptions, type NdviJobProgress, type NdviJobResult, type NdviPlan, type NdviSceneSummary } from './ndvi-job.js';
export { BandMismatchError, checkSameGrid, type NamedRaster } from './grid.js';
export { ExprError, evaluateExpr, formatExpr, parseExpr, type BandInput, type Expr } from './expr/index.js';
export { OCX_ALGORITHMS, OCX_BLUES, OCX_COEFFICIENTS, OCX_LIMITS, computeChlorophyll, parseCoefficients, type OcxAlgorithm, type OcxCoefficients } from './chlorophyll.js';
export { FOCAL_OPS, FOCAL_SHAPES, FocalError, focal, type FocalOp, type FocalShape } from './focal.js';
export { OpError, OpRasters, opSchema, opSources, type BandSource, type Op } from './ops.js';
export { OUTPUT_DTYPES, defaultNodata, outputSpec, type OutputSpec, type ValueStats } from './output.js';
export { ONE_FILE, partsPrefixOf, planScene, runWindowJob, type WindowJobOptions, type WindowJobProgress, type WindowJobResult, type WindowScene, type WindowSceneResult } from './window-job.js';
export * from './zonal/index.js';
