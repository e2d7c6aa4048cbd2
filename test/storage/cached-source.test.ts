import { describe, expect, it } from 'vitest';

import { CachedSource, type CacheOptions } from '../../src/storage/index.js';
import { expectSameBytes, patternBytes } from './support/bytes.js';
import { MemorySource } from './support/memory-source.js';

const KiB = 1024;
const data = patternBytes(1024 * KiB, 41);

function cached(options: CacheOptions = {}): { inner: MemorySource; cache: CachedSource } {
  const inner = new MemorySource(data);
  return { inner, cache: new CachedSource(inner, { blockSizeBytes: 64 * KiB, ...options }) };
}

describe('the block cache', () => {
  it('serves repeated small reads from memory without touching the backend again', async () => {
    const { inner, cache } = cached();
    expectSameBytes(await cache.read(0, 16), data.subarray(0, 16));
    expectSameBytes(await cache.read(8, 1_000), data.subarray(8, 1_008));
    expectSameBytes(await cache.read(60_000, 100), data.subarray(60_000, 60_100));
    expect(inner.reads).toEqual([{ offset: 0, length: 64 * KiB }]);
    expect(cache.cacheStats).toMatchObject({ hits: 2, misses: 1 });
  });

  it('reads the adjacent missing blocks of one read with a single backend read', async () => {
    const { inner, cache } = cached();
    expectSameBytes(await cache.read(10_000, 150_000), data.subarray(10_000, 160_000));
    expect(inner.reads).toEqual([{ offset: 0, length: 3 * 64 * KiB }]);
  });

  it('fetches only the missing blocks when some of a read are cached', async () => {
    const { inner, cache } = cached();
    await cache.read(64 * KiB, 10);
    expectSameBytes(await cache.read(0, 3 * 64 * KiB), data.subarray(0, 3 * 64 * KiB));
    expect(inner.reads).toEqual([
      { offset: 64 * KiB, length: 64 * KiB },
      { offset: 0, length: 64 * KiB },
      { offset: 128 * KiB, length: 64 * KiB },
    ]);
  });

  it('shares one backend read between concurrent readers of the same block', async () => {
    const { inner, cache } = cached();
    inner.hold();
    const started = inner.nextRead();
    const a = cache.read(0, 100);
    const b = cache.read(50, 100);
    await started;
    inner.release();
    expectSameBytes(await a, data.subarray(0, 100));
    expectSameBytes(await b, data.subarray(50, 150));
    expect(inner.reads).toHaveLength(1);
  });

  it('sends reads spanning more than maxBlocksPerRead blocks straight to the backend, uncached', async () => {
    const { inner, cache } = cached({ maxBlocksPerRead: 2 });
    expectSameBytes(await cache.read(0, 200_000), data.subarray(0, 200_000));
    await cache.read(0, 10);
    expect(inner.reads).toEqual([
      { offset: 0, length: 200_000 },
      { offset: 0, length: 64 * KiB },
    ]);
  });

  it('drops the least recently used blocks to stay within maxBytes', async () => {
    const { inner, cache } = cached({ maxBytes: 2 * 64 * KiB });
    await cache.read(0, 1); // block 0
    await cache.read(64 * KiB, 1); // block 1
    await cache.read(0, 1); // block 0 is now the most recent
    await cache.read(128 * KiB, 1); // block 2 evicts block 1
    await cache.read(0, 1); // still cached
    await cache.read(64 * KiB, 1); // fetched again
    expect(inner.reads.map((r) => r.offset / (64 * KiB))).toEqual([0, 1, 2, 1]);
    expect(cache.cacheStats.evictions).toBe(2);
  });

  it('lets one reader abort without failing another reader of the same block', async () => {
    const { inner, cache } = cached();
    inner.hold();
    const started = inner.nextRead();
    const controller = new AbortController();
    const reason = new Error('first reader gave up');
    const impatient = cache.read(0, 10, { signal: controller.signal });
    const patient = cache.read(0, 10);
    await started;
    controller.abort(reason);
    await expect(impatient).rejects.toBe(reason);
    inner.release();
    expectSameBytes(await patient, data.subarray(0, 10));
    expect(inner.aborted).toBe(0);
  });

  it('cancels the backend read once every reader of it has aborted', async () => {
    const { inner, cache } = cached();
    inner.hold();
    const started = inner.nextRead();
    const controller = new AbortController();
    const reading = cache.read(0, 10, { signal: controller.signal });
    await started;
    controller.abort(new Error('gave up'));
    await expect(reading).rejects.toThrow('gave up');
    expect(inner.aborted).toBe(1);
    inner.release();
    // The abandoned block was not cached: a new read fetches it.
    expectSameBytes(await cache.read(0, 10), data.subarray(0, 10));
    expect(inner.reads).toHaveLength(2);
  });

  it('does not cache a failed fetch; the next read tries again', async () => {
    const { inner, cache } = cached();
    inner.failNext(new Error('disk on fire'));
    await expect(cache.read(0, 10)).rejects.toThrow('disk on fire');
    expectSameBytes(await cache.read(0, 10), data.subarray(0, 10));
    expect(inner.reads).toHaveLength(2);
  });

  it('reports the backend traffic of the source it wraps', async () => {
    const { inner, cache } = cached();
    await cache.read(0, 10);
    await cache.read(0, 10);
    expect(cache.stats).toEqual({ requests: 1, bytes: 64 * KiB });
    expect(cache.stats).toBe(inner.stats);
  });
});
