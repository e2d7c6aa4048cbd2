/** databox-mr: the public API. */
export * from './raster/index.js';
export * from './algebra/index.js';
export * from './jobs/index.js';
export { list, openSink, openSource, readRanges, removeObject } from './storage/index.js';
export type { ByteRange, ByteSink, ByteSource, ReadOptions } from './storage/index.js';
export { DataboxError, isRetryable } from './errors.js';
export {
  Cluster,
  JobFailedError,
  JobmanClient,
  connect,
  defineUdf,
  isUdf,
  type ConnectOptions,
  type JobHandle,
  type JobView,
  type NodeView,
  type Udf,
  type UdfContext,
  type UdfJobOptions,
  type UdfLogger,
  type UdfModule,
  type UdfSpec,
} from './engine/index.js';
