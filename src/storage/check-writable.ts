import { checkAccess } from './access/policy.js';
import { ReadOnlyStorageError } from './errors.js';
import { FileSink } from './file/sink.js';
import { resolveSourceOptions, type SourceOptions } from './options.js';
import { s3ClientFor, s3Sdk } from './s3/client.js';
import { s3Error } from './s3/errors.js';
import { parseStorageUrl } from './url.js';

/**
 * Fails now, with the storage layer's typed error, if `url` cannot be written: a file's sink is opened
 * (which makes its folder and a temporary file beside the target, as a write would) and aborted; for
 * S3, the bucket must answer HEAD. Commands call this before they start a cluster, so a typo in
 * `--out` costs a second, not a job.
 */
export async function checkWritable(url: string, options: Pick<SourceOptions, 's3'> & { signal?: AbortSignal } = {}): Promise<void> {
  const { signal, ...storage } = options;
  const location = parseStorageUrl(url);
  signal?.throwIfAborted();
  checkAccess(url, 'write');
  if (location.kind === 'http') throw new ReadOnlyStorageError(url, 'HTTP');
  if (location.kind === 'file') {
    await (await FileSink.create(url, location.path, signal)).abort();
    return;
  }
  const client = await s3ClientFor(resolveSourceOptions(storage).s3);
  const { HeadBucketCommand } = await s3Sdk();
  try {
    await client.send(new HeadBucketCommand({ Bucket: location.bucket }), signal ? { abortSignal: signal } : {});
  } catch (err) {
    throw s3Error(url, err);
  }
}
