import { resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { openSource, parseStorageUrl, UnsupportedUrlError } from '../../src/storage/index.js';

describe('storage URLs', () => {
  it('reads an absolute path, a relative path and a file:// URL as local files', () => {
    expect(parseStorageUrl('/data/a.tif')).toEqual({ kind: 'file', url: '/data/a.tif', path: '/data/a.tif' });
    expect(parseStorageUrl('data/a.tif')).toMatchObject({ kind: 'file', path: resolve('data/a.tif') });
    expect(parseStorageUrl('file:///data/a%20b.tif')).toMatchObject({ kind: 'file', path: '/data/a b.tif' });
  });

  it('keeps a relative path with a colon in it a path', () => {
    expect(parseStorageUrl('scene:B4.tif')).toMatchObject({ kind: 'file', path: resolve('scene:B4.tif') });
  });

  it('reads http and https URLs, scheme case aside', () => {
    expect(parseStorageUrl('https://example.com/a.tif?x=1')).toMatchObject({ kind: 'http', href: 'https://example.com/a.tif?x=1' });
    expect(parseStorageUrl('HTTP://example.com/a.tif')).toMatchObject({ kind: 'http' });
  });

  it('splits s3 URLs into bucket and verbatim key', () => {
    expect(parseStorageUrl('s3://landsat/c1/L8/a b%20.TIF')).toEqual({
      kind: 's3',
      url: 's3://landsat/c1/L8/a b%20.TIF',
      bucket: 'landsat',
      key: 'c1/L8/a b%20.TIF',
    });
  });

  it('refuses an s3 URL without a key, saying what shape it needs', () => {
    expect(() => parseStorageUrl('s3://bucket')).toThrow('Cannot open s3://bucket: an S3 URL needs a bucket and a key (s3://bucket/key)');
  });

  it('refuses an unknown scheme with UnsupportedUrlError naming the URL and the schemes supported', () => {
    const err = (() => {
      try {
        openSource('gs://bucket/a.tif');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UnsupportedUrlError);
    expect((err as UnsupportedUrlError).code).toBe('ERR_UNSUPPORTED_URL');
    expect((err as Error).message).toBe(
      'Cannot open gs://bucket/a.tif: unsupported scheme "gs://"; supported: file paths, file://, http://, https://, s3://',
    );
  });

  it('refuses an empty URL', () => {
    expect(() => parseStorageUrl('')).toThrow(UnsupportedUrlError);
  });
});
