import { stat } from 'node:fs/promises';

import picomatch from 'picomatch';
import { glob, isDynamicPattern } from 'tinyglobby';

import { DataboxError } from '../errors.js';
import { checkAccess } from './access/policy.js';
import { resolveSourceOptions, type SourceOptions } from './options.js';
import { s3ClientFor, s3Sdk } from './s3/client.js';
import { s3Error } from './s3/errors.js';
import { parseStorageUrl } from './url.js';

/** A glob or URL that names no file. */
export class NoMatchError extends DataboxError {
  constructor(pattern: string, why: string) {
    super('ERR_NO_MATCH', `No file matches ${pattern}${why ? ` (${why})` : ''}`);
  }
}

/** Most S3 keys listed for one pattern: a guard against a prefix that names a whole bucket. */
const MAX_LISTED = 1_000_000;

/**
 * The objects a glob or prefix names, sorted: a local glob (`data/*_B4.TIF`, `**` allowed), a `file://`
 * URL, or an S3 URL whose key holds a glob (`s3://bucket/scenes/*_B4.TIF`), listed from the longest
 * prefix before the first wildcard. A folder or prefix ending in `/` names the objects directly in it. A
 * URL without wildcards names itself (an HTTP URL can only be given so: HTTP has no listing).
 * NoMatchError when nothing matches. The one place that lists storage, so no other folder needs the AWS SDK.
 */
export async function list(prefixOrGlob: string, options: Pick<SourceOptions, 's3'> = {}): Promise<string[]> {
  const pattern = prefixOrGlob.endsWith('/') ? `${prefixOrGlob}*` : prefixOrGlob;
  const location = parseStorageUrl(pattern);
  if (location.kind === 'http') {
    if (/[*?[\]{}]/.test(pattern)) throw new DataboxError('ERR_UNSUPPORTED_GLOB', `Cannot expand ${pattern}: HTTP has no listing, so an HTTP URL must name one file`);
    checkAccess(pattern, 'read');
    return [pattern];
  }
  if (location.kind === 's3') return listS3(pattern, location.bucket, location.key, options);
  if (!isDynamicPattern(location.path)) {
    checkAccess(location.path, 'read');
    const found = await stat(location.path).catch(() => undefined);
    if (found?.isFile() !== true) throw new NoMatchError(pattern, found === undefined ? 'it does not exist' : 'it is not a file');
    return [location.path];
  }
  const files = (await glob(location.path, { absolute: true, onlyFiles: true, expandDirectories: false })).sort();
  if (files.length === 0) throw new NoMatchError(pattern, '');
  // A match may be a link out of the allowed folders.
  for (const f of files) checkAccess(f, 'read');
  return files;
}

async function listS3(pattern: string, bucket: string, key: string, options: Pick<SourceOptions, 's3'>): Promise<string[]> {
  const wildcard = key.search(/[*?[\]{}]/);
  if (wildcard < 0) {
    checkAccess(pattern, 'read');
    return [pattern];
  }
  const prefix = key.slice(0, wildcard);
  // Nothing is listed where nothing may be read; what the listing finds is checked key by key below.
  if (prefix !== '') checkAccess(`s3://${bucket}/${prefix}`, 'read');
  const matches = picomatch(key, { dot: true });
  const client = await s3ClientFor(resolveSourceOptions(options).s3);
  const { ListObjectsV2Command } = await s3Sdk();
  const keys: string[] = [];
  let listed = 0;
  for (let token: string | undefined; ; ) {
    let page;
    try {
      page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    } catch (err) {
      throw s3Error(`s3://${bucket}/${prefix}`, err);
    }
    for (const o of page.Contents ?? []) if (o.Key !== undefined && matches(o.Key)) keys.push(o.Key);
    listed += page.KeyCount ?? page.Contents?.length ?? 0;
    if (listed > MAX_LISTED) throw new DataboxError('ERR_TOO_MANY_KEYS', `Listing s3://${bucket}/${prefix} passed ${MAX_LISTED} keys; give a longer prefix before the first wildcard of ${pattern}`);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
    if (token === undefined) break;
  }
  if (keys.length === 0) throw new NoMatchError(pattern, `listed ${listed} keys under s3://${bucket}/${prefix}`);
  const urls = keys.sort().map((k) => `s3://${bucket}/${k}`);
  for (const u of urls) checkAccess(u, 'read');
  return urls;
}
