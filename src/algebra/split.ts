import { stat } from 'node:fs/promises';
import { basename } from 'node:path';

import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import picomatch from 'picomatch';
import { glob, isDynamicPattern } from 'tinyglobby';

import { DataboxError } from '../errors.js';
import { GeoTiff } from '../raster/index.js';
import { openSource, parseStorageUrl, type SourceOptions } from '../storage/index.js';
import { resolveSourceOptions } from '../storage/options.js';
import { s3ClientFor } from '../storage/s3/client.js';
import { s3Error } from '../storage/s3/errors.js';

/** A glob or URL that names no file. */
export class NoMatchError extends DataboxError {
  constructor(pattern: string, why: string) {
    super('ERR_NO_MATCH', `No file matches ${pattern}${why ? ` (${why})` : ''}`);
  }
}

/** Most S3 keys listed for one pattern: a guard against a prefix that names a whole bucket. */
const MAX_LISTED = 1_000_000;

/**
 * The files a glob names, one input each, sorted: a local glob (`data/*_B4.TIF`, `**` allowed), a
 * `file://` URL, or an S3 URL whose key holds a glob (`s3://bucket/scenes/*_B4.TIF`), listed from the
 * longest prefix before the first wildcard. A URL without wildcards names itself (an HTTP URL can only
 * be given so: HTTP has no listing). NoMatchError when nothing matches.
 */
export async function splitByFile(pattern: string, options: Pick<SourceOptions, 's3'> = {}): Promise<string[]> {
  const location = parseStorageUrl(pattern);
  if (location.kind === 'http') {
    if (/[*?[\]{}]/.test(pattern)) throw new DataboxError('ERR_UNSUPPORTED_GLOB', `Cannot expand ${pattern}: HTTP has no listing, so an HTTP URL must name one file`);
    return [pattern];
  }
  if (location.kind === 's3') return listS3(pattern, location.bucket, location.key, options);
  if (!isDynamicPattern(location.path)) {
    const found = await stat(location.path).catch(() => undefined);
    if (found?.isFile() !== true) throw new NoMatchError(pattern, found === undefined ? 'it does not exist' : 'it is not a file');
    return [location.path];
  }
  const files = (await glob(location.path, { absolute: true, onlyFiles: true, expandDirectories: false })).sort();
  if (files.length === 0) throw new NoMatchError(pattern, '');
  return files;
}

async function listS3(pattern: string, bucket: string, key: string, options: Pick<SourceOptions, 's3'>): Promise<string[]> {
  const wildcard = key.search(/[*?[\]{}]/);
  if (wildcard < 0) return [pattern];
  const prefix = key.slice(0, wildcard);
  const matches = picomatch(key, { dot: true });
  const client = s3ClientFor(resolveSourceOptions(options).s3);
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
  return keys.sort().map((k) => `s3://${bucket}/${k}`);
}

/** One window of a raster: an input of a window job. */
export interface RasterWindowInput {
  url: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The raster at `url` cut into windows of about `blockSize` pixels, aligned to the file's own tiles (the
 * size is rounded up to whole tiles), row by row, so that each window reads whole tiles and no tile is
 * read by two windows. Edge windows are cut by the raster's edge.
 */
export async function splitByWindows(url: string, options: { blockSize?: number } & SourceOptions = {}): Promise<RasterWindowInput[]> {
  const { blockSize = 2048, ...sourceOptions } = options;
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new DataboxError('ERR_OPTIONS', `blockSize must be a positive integer (got ${blockSize})`);
  const source = openSource(url, sourceOptions);
  try {
    const tiff = await GeoTiff.open(source);
    const m = tiff.main;
    const stepX = Math.ceil(blockSize / m.blockWidth) * m.blockWidth;
    const stepY = Math.ceil(blockSize / m.blockHeight) * m.blockHeight;
    const windows: RasterWindowInput[] = [];
    for (let y = 0; y < tiff.height; y += stepY) {
      for (let x = 0; x < tiff.width; x += stepX) windows.push({ url, x, y, width: Math.min(stepX, tiff.width - x), height: Math.min(stepY, tiff.height - y) });
    }
    return windows;
  } finally {
    await source.close();
  }
}

/** A scene's name from a band file's name: the name without its extension and band suffix (`LC08_..._B4.TIF` → `LC08_...`). */
export function sceneName(url: string, band?: string): string {
  const name = basename(url.replace(/[?#].*$/, '')).replace(/\.[^.]+$/, '');
  const suffix = band === undefined ? /_B\w+$/i : new RegExp(`_${band}$`, 'i');
  return name.replace(suffix, '');
}
