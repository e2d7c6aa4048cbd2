/** databox-mr: the public API. */
export * from './raster/index.js';
export * from './algebra/index.js';
export { openSink, openSource, readRanges } from './storage/index.js';
export type { ByteRange, ByteSink, ByteSource, ReadOptions } from './storage/index.js';
export { DataboxError, isRetryable } from './errors.js';
export { defineUdf, isUdf, type Udf, type UdfContext, type UdfLogger, type UdfSpec } from './engine/udf/define.js';
export { Cluster, JobFailedError, connect, type ConnectOptions, type JobHandle, type UdfJobOptions, type UdfModule } from './engine/client/cluster.js';
export { JobmanClient, type JobView, type NodeView } from './engine/client/index.js';
export { NoMatchError, sceneName, splitByFile, splitByWindows, type RasterWindowInput } from './algebra/split.js';
export { removeObject } from './storage/index.js';
