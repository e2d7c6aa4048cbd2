/**
 * Byte storage by URL: the one way the rest of DataboxMR reads and writes bytes.
 *
 * `openSource` reads byte ranges of local files, HTTP(S) resources and S3 objects through the same
 * interface; `openSink` writes files and S3 objects atomically; `readRanges` fetches many ranges with
 * few requests. Failures come out as typed errors that name the URL, retryable ones marked.
 */
export type { ByteRange, ByteSink, ByteSource, ReadOptions } from './types.js';
export type { SourceStats, StorageSource } from './stats.js';
export type {
  CacheOptions,
  RangesOptions,
  RemoteOptions,
  RetryOptions,
  S3Options,
  SinkOptions,
  SourceOptions,
} from './options.js';
export { MIN_PART_SIZE_BYTES, storageDefaults } from './options.js';

export { closeSharedConnections, openSink, openSource, readAll, writeAll } from './open.js';
export { removeObject } from './remove.js';
export { checkWritable } from './check-writable.js';
export { list, NoMatchError } from './list.js';
export { ensureDirectory } from './file/directories.js';
export { planCoalescedReads, readRanges, streamRanges, type MergedRead } from './coalesce.js';
export { parseStorageUrl, type StorageLocation } from './url.js';
export {
  ACCESS_POLICY_ENV,
  AccessDeniedError,
  AccessPolicy,
  accessPolicy,
  accessRulesSchema,
  checkAccess,
  setAccessPolicy,
  type Access,
  type AccessRules,
} from './access/policy.js';
export { InvalidAccessRuleError } from './access/rules.js';

export {
  InvalidRangeError,
  InvalidStorageOptionError,
  ReadOnlyStorageError,
  StorageError,
  StorageForbiddenError,
  StorageNotFoundError,
  StorageTransientError,
  SUPPORTED_SCHEMES,
  UnsupportedUrlError,
} from './errors.js';

export { CachedSource, type CacheStats } from './cached-source.js';
export { FileSink } from './file/sink.js';
export { FileSource } from './file/source.js';
export { HttpSource } from './http/source.js';
export { S3Sink } from './s3/sink.js';
export { S3Source } from './s3/source.js';
