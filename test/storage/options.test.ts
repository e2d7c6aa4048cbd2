import { describe, expect, it } from 'vitest';

import { InvalidStorageOptionError, openSink, openSource, storageDefaults } from '../../src/storage/index.js';
import { resolveSinkOptions, resolveSourceOptions } from '../../src/storage/options.js';

/** The message of what `fn` throws. */
function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidStorageOptionError);
    return (err as Error).message;
  }
  throw new Error('expected a throw');
}

describe('storage options', () => {
  it('fill every field from the documented defaults', () => {
    const resolved = resolveSourceOptions();
    expect(resolved.timeoutMs).toBe(storageDefaults.timeoutMs);
    expect(resolved.retry).toEqual(storageDefaults.retry);
    expect(resolved.cache).toEqual(storageDefaults.cache);
    expect(resolveSinkOptions().partSizeBytes).toBe(storageDefaults.partSizeBytes);
  });

  it('turn the cache off with cache: false', () => {
    expect(resolveSourceOptions({ cache: false }).cache).toBe(false);
  });

  it('reject a bad number naming the option and the value', () => {
    expect(thrown(() => openSource('/x', { retry: { maxAttempts: 0 } }))).toBe('options.retry.maxAttempts must be a positive integer (got 0)');
    expect(thrown(() => openSource('/x', { timeoutMs: 1.5 }))).toBe('options.timeoutMs must be a positive integer (got 1.5)');
    expect(thrown(() => openSource('/x', { cache: { blockSizeBytes: -1 } }))).toBe(
      'options.cache.blockSizeBytes must be a positive integer (got -1)',
    );
  });

  it('reject an unknown option, so a misspelling is not silently ignored', () => {
    expect(thrown(() => openSource('/x', { timeOutMs: 5 } as never))).toBe('options.timeOutMs is not a known option (got 5)');
  });

  it('reject an S3 endpoint that is not a URL', () => {
    expect(thrown(() => openSource('s3://b/k', { s3: { endpoint: 'localhost:9000' } }))).toBe(
      'options.s3.endpoint must be an http(s) URL such as http://127.0.0.1:9000 (got "localhost:9000")',
    );
  });

  it('reject a sink part size under 5 MiB', async () => {
    await expect(openSink('/tmp/x', { partSizeBytes: 1 })).rejects.toThrow('options.partSizeBytes must be at least 5242880');
  });
});
