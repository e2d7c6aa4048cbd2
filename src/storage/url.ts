import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { UnsupportedUrlError } from './errors.js';

/** Where a storage URL points, parsed once so backends never re-read the string. */
export type StorageLocation =
  | { kind: 'file'; url: string; path: string }
  | { kind: 'http'; url: string; href: string }
  | { kind: 's3'; url: string; bucket: string; key: string };

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;

/**
 * Parses `/abs/path`, `relative/path`, `file:///path`, `http(s)://…` and `s3://bucket/key`.
 *
 * Only a `scheme://` prefix counts as a scheme, so a relative path with a colon in it (`a:b.tif`)
 * stays a path. S3 keys are taken verbatim, as the AWS CLI does, not percent-decoded.
 */
export function parseStorageUrl(url: string): StorageLocation {
  if (url.length === 0) throw new UnsupportedUrlError(url, 'the URL is empty');
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case undefined:
      return { kind: 'file', url, path: resolve(url) };
    case 'file':
      try {
        return { kind: 'file', url, path: fileURLToPath(url) };
      } catch {
        throw new UnsupportedUrlError(url, 'a file URL needs an absolute local path (file:///path)');
      }
    case 'http':
    case 'https':
      try {
        return { kind: 'http', url, href: new URL(url).href };
      } catch {
        throw new UnsupportedUrlError(url, 'the HTTP URL does not parse');
      }
    case 's3': {
      const rest = url.slice('s3://'.length);
      const slash = rest.indexOf('/');
      const bucket = slash < 0 ? rest : rest.slice(0, slash);
      const key = slash < 0 ? '' : rest.slice(slash + 1);
      if (bucket === '' || key === '') {
        throw new UnsupportedUrlError(url, 'an S3 URL needs a bucket and a key (s3://bucket/key)');
      }
      return { kind: 's3', url, bucket, key };
    }
    default:
      throw new UnsupportedUrlError(url, `unsupported scheme "${scheme}://"`);
  }
}
