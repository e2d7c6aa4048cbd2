import { rm } from 'node:fs/promises';


import { checkAccess } from './access/policy.js';
import { UnsupportedUrlError } from './errors.js';
import { resolveSourceOptions, type SourceOptions } from './options.js';
import { s3ClientFor, s3Sdk } from './s3/client.js';
import { s3Error } from './s3/errors.js';
import { parseStorageUrl } from './url.js';

/**
 * Deletes the object at `url` (a file, or an S3 object); one that is not there is no error, as S3's
 * DeleteObject has it. HTTP has no delete: UnsupportedUrlError.
 */
export async function removeObject(url: string, options: Pick<SourceOptions, 's3'> = {}): Promise<void> {
  const location = parseStorageUrl(url);
  checkAccess(url, 'write');
  if (location.kind === 'file') return rm(location.path, { force: true });
  if (location.kind === 'http') throw new UnsupportedUrlError(url, 'HTTP objects cannot be deleted');
  try {
    const { DeleteObjectCommand } = await s3Sdk();
    await (await s3ClientFor(resolveSourceOptions(options).s3)).send(new DeleteObjectCommand({ Bucket: location.bucket, Key: location.key }));
  } catch (err) {
    throw s3Error(url, err);
  }
}
