import { randomBytes } from 'node:crypto';
import { open, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { ReadOnlyStorageError, StorageError } from './errors.js';
import { ensureDirectory } from './file/directories.js';
import { fileError } from './file/errors.js';
import { resolveSourceOptions, type SourceOptions } from './options.js';
import { s3ClientFor, s3Sdk } from './s3/client.js';
import { s3Error } from './s3/errors.js';
import { parseStorageUrl } from './url.js';

/**
 * Fails now, with the storage layer's typed error, if `url` cannot be written: for a file, its folder is
 * made (as a write would make it) and a probe file is created in it and removed; for S3, the bucket
 * must answer HEAD. Commands call this before they start a cluster, so a typo in `--out` costs a
 * second, not a job.
 */
export async function checkWritable(url: string, options: Pick<SourceOptions, 's3'> & { signal?: AbortSignal } = {}): Promise<void> {
  const location = parseStorageUrl(url);
  options.signal?.throwIfAborted();
  if (location.kind === 'http') throw new ReadOnlyStorageError(url, 'HTTP');
  if (location.kind === 'file') {
    const existing = await stat(location.path).catch(() => undefined);
    if (existing?.isDirectory()) throw new StorageError('ERR_IS_DIRECTORY', url, `Cannot write ${url}: it is a directory`);
    const dir = dirname(location.path);
    await ensureDirectory(dir, { url });
    const probe = join(dir, `.${basename(location.path)}.probe-${randomBytes(6).toString('hex')}`);
    try {
      await (await open(probe, 'wx')).close();
    } catch (err) {
      throw fileError(url, err);
    }
    await rm(probe, { force: true });
    return;
  }
  const { signal, ...storage } = options;
  const client = await s3ClientFor(resolveSourceOptions(storage).s3);
  const { HeadBucketCommand } = await s3Sdk();
  try {
    await client.send(new HeadBucketCommand({ Bucket: location.bucket }), signal ? { abortSignal: signal } : {});
  } catch (err) {
    throw s3Error(url, err);
  }
}
