/** databox-mr: the public API. */
export * from './raster/index.js';
export * from './algebra/index.js';
export { openSink, openSource, readRanges } from './storage/index.js';
export type { ByteRange, ByteSink, ByteSource, ReadOptions } from './storage/index.js';
export { DataboxError, isRetryable } from './errors.js';
