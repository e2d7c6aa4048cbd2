/** The raster library: GeoTIFF/COG reading and writing. It knows nothing of scheduling. */
export { GeoTiff, openGeoTiff, type OpenOptions, type RasterInfo, type RasterWindow, type ReadWindowOptions } from './geotiff.js';
export { CogWriter, type CogWriteResult } from './cog/writer.js';
export type { EncodedTile, TileRegion } from './cog/pyramid.js';
export {
  PART_FORMAT,
  CogPartWriter,
  addPart,
  assembleCog,
  parsePartManifest,
  planPartRegions,
  regionWindow,
  type AddPartOptions,
  type AssembleOptions,
  type PartManifest,
  type PartWriterRuntime,
} from './cog/parts.js';
export { CogWriteError } from './cog/errors.js';
export { CLASSIC_LIMIT, planCogFile, type FilePlan } from './cog/layout.js';
export {
  COMPRESSIONS,
  RESAMPLINGS,
  CogOptionsError,
  levelSizes,
  resolveCogOptions,
  type CogCompression,
  type CogOptions,
  type OverviewResampling,
  type ResolvedCogOptions,
} from './cog/options.js';
export { translate, type TranslateOptions } from './translate.js';
export { cutTile } from './tiles.js';
export { pipeline, type PipelineOptions } from './pipeline.js';
export { TILES_PER_SPAN, planSpans, type Span } from './spans.js';
export { DTYPES, allocate, bytesOf, dtypeInfo, storedNodata, viewAs, type DType, type TypedArray } from './dtype.js';
export { IDENTITY_GEOTRANSFORM, type GeoTransform } from './georef.js';
export { RasterRangeError, TiffError, TiffUnsupportedError } from './errors.js';
export { checkWindow, planBlocks, type BlockRead, type Window } from './window.js';
export type { TiffImage } from './tiff/image.js';
export type { Crs } from './crs/index.js';
export { DEFLATE_STRATEGIES, type DeflateStrategy } from './codecs/index.js';
export { CodecPool, CodecPoolError } from './pool/codec-pool.js';
export { inThreadCodecs, type CodecRunner } from './pool/codec-runner.js';
export { closeSharedCodecs, sharedCodecs } from './pool/shared.js';
