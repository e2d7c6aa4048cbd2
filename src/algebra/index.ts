/** Map algebra: kernels on arrays and windows (band math, NDVI, chlorophyll, focal, zonal statistics), with no knowledge of jobs or clusters. */
export { NDVI_DTYPES, NDVI_EXPRESSION, NDVI_NODATA, computeNdvi, emptyNdviStats, ndviOp, ndviOutput, type NdviDType, type NdviStats } from './ndvi.js';
export { ndviFile, type NdviFileOptions, type NdviFileResult } from './ndvi-file.js';
export { BandMismatchError, checkSameGrid, type NamedRaster } from './grid.js';
export { ExprError, evaluateExpr, formatExpr, parseExpr, type BandInput, type Expr } from './expr/index.js';
export { OCX_ALGORITHMS, OCX_BLUES, OCX_COEFFICIENTS, OCX_LIMITS, computeChlorophyll, parseCoefficients, type OcxAlgorithm, type OcxCoefficients } from './chlorophyll.js';
export { FOCAL_OPS, FOCAL_SHAPES, FocalError, focal, type FocalOp, type FocalShape } from './focal.js';
export { OpError, OpRasters, checkOp, opHalo, opSchema, opSources, type BandSource, type Op } from './ops.js';
export { OUTPUT_DTYPES, defaultNodata, emptyStats, encodeValues, mergeStats, nodataOf, outputCogOptions, outputSpec, outputSpecSchema, type OutputSpec, type ValueStats } from './output.js';
export * from './zonal/index.js';
