import { checkAccess } from './access/policy.js';
import { CachedSource } from './cached-source.js';
import { ReadOnlyStorageError } from './errors.js';
import { FileSink } from './file/sink.js';
import { FileSource } from './file/source.js';
import { closeSharedHttpDispatcher } from './http/agent.js';
import { HttpSource } from './http/source.js';
import { forgetKeptObjects } from './http/whole-objects.js';
import { resolveSinkOptions, resolveSourceOptions, type SinkOptions, type SourceOptions } from './options.js';
import { closeSharedS3Clients } from './s3/client.js';
import { S3Sink } from './s3/sink.js';
import { S3Source } from './s3/source.js';
import type { StorageSource } from './stats.js';
import type { ByteSink, ReadOptions } from './types.js';
import { parseStorageUrl } from './url.js';

/**
 * Opens an object for reading: a local path (absolute or relative), `file://`, `http(s)://` or
 * `s3://bucket/key`. Nothing is fetched yet (even a missing file fails on the first read, not here),
 * so opening is synchronous and cheap. By default the source sits behind a block cache, which makes
 * the small header reads of a TIFF free after the first.
 *
 * @throws UnsupportedUrlError for any other scheme; InvalidStorageOptionError for a bad option;
 *   AccessDeniedError (ERR_STORAGE_DENIED) for a URL the installed access policy does not let be read.
 */
export function openSource(url: string, options: SourceOptions = {}): StorageSource {
  const resolved = resolveSourceOptions(options);
  const location = parseStorageUrl(url);
  checkAccess(url, 'read');
  let source: StorageSource;
  switch (location.kind) {
    case 'file':
      source = new FileSource(url, location.path);
      break;
    case 'http':
      source = new HttpSource(url, location.href, resolved);
      break;
    case 's3':
      source = new S3Source(url, location.bucket, location.key, resolved);
      break;
  }
  return resolved.cache === false ? source : new CachedSource(source, resolved.cache);
}

/**
 * Opens an object for writing. Nothing appears at the URL until `close()` resolves, and `abort()`
 * leaves it as it was: files are written beside the target and renamed, S3 objects are put or
 * completed only on close.
 *
 * @throws ReadOnlyStorageError for `http(s)://`; UnsupportedUrlError for unknown schemes;
 *   AccessDeniedError (ERR_STORAGE_DENIED) for a URL the installed access policy does not let be written.
 */
export async function openSink(url: string, options: SinkOptions = {}): Promise<ByteSink> {
  const { trusted, ...rest } = options;
  const resolved = resolveSinkOptions(rest);
  const location = parseStorageUrl(url);
  if (trusted !== true) checkAccess(url, 'write');
  switch (location.kind) {
    case 'file':
      return FileSink.create(url, location.path, resolved.signal);
    case 'http':
      throw new ReadOnlyStorageError(url, 'HTTP');
    case 's3':
      resolved.signal?.throwIfAborted();
      return new S3Sink(url, location.bucket, location.key, resolved);
  }
}

/** Reads a whole object. For small objects (metadata, sidecars); a COG is read by ranges. */
export async function readAll(url: string, options: SourceOptions & ReadOptions = {}): Promise<Uint8Array> {
  const { signal, ...sourceOptions } = options;
  const source = openSource(url, { ...sourceOptions, cache: false });
  try {
    const size = await source.size({ signal });
    return await source.read(0, size, { signal });
  } finally {
    await source.close();
  }
}

/** Writes a whole object at once, atomically as `openSink` does; on failure nothing is left at the URL. */
export async function writeAll(url: string, bytes: Uint8Array, options: SinkOptions = {}): Promise<void> {
  const sink = await openSink(url, options);
  try {
    await sink.write(bytes);
    await sink.close();
  } catch (err) {
    await sink.abort().catch(() => undefined);
    throw err;
  }
}

/** Closes the process-wide HTTP pool and S3 clients, so a CLI exits without waiting on idle sockets. */
export async function closeSharedConnections(): Promise<void> {
  closeSharedS3Clients();
  forgetKeptObjects();
  await closeSharedHttpDispatcher();
}
