import { beforeAll, describe, expect, it } from 'vitest';

import {
  InvalidRangeError,
  openSource,
  StorageNotFoundError,
  type SourceOptions,
  type StorageSource,
} from '../../../src/storage/index.js';
import { expectSameBytes, patternBytes } from './bytes.js';

/** What the contract needs from a backend's test set-up. */
export interface SourceBackend {
  /** Stores `bytes` as `name` without going through our code, and returns the URL to read it at. */
  put(name: string, bytes: Uint8Array): Promise<string>;
  /** A URL at which nothing exists. */
  missingUrl(): string;
  /** Options every source of this backend needs (an endpoint, a short retry back-off). */
  options: SourceOptions;
}

/**
 * The behaviour every ByteSource must share, run against each backend both bare and behind the
 * block cache. `backend` is called inside tests, after the backend file's `beforeAll` has run.
 */
export function describeSourceContract(name: string, backend: () => SourceBackend): void {
  for (const cached of [false, true]) {
    describe(`the ${name} source${cached ? ' behind the block cache' : ''}`, () => {
      const data = patternBytes(200_000, 7);
      let url: string;
      let emptyUrl: string;
      const open = (target = url): StorageSource =>
        openSource(target, { ...backend().options, cache: cached ? { blockSizeBytes: 16 * 1024 } : false });
      const using = async <T>(source: StorageSource, fn: (s: StorageSource) => Promise<T>): Promise<T> => {
        try {
          return await fn(source);
        } finally {
          await source.close();
        }
      };

      beforeAll(async () => {
        url = await backend().put(`contract-${cached ? 'cached' : 'bare'}.bin`, data);
        emptyUrl = await backend().put(`contract-${cached ? 'cached' : 'bare'}-empty.bin`, new Uint8Array(0));
      });

      it('reports the size of the object', async () => {
        await using(open(), async (s) => expect(await s.size()).toBe(data.length));
      });

      it('reads a range from the middle byte for byte', async () => {
        await using(open(), async (s) => {
          expectSameBytes(await s.read(70_001, 12_345), data.subarray(70_001, 82_346));
        });
      });

      it('reads the whole object in one read', async () => {
        await using(open(), async (s) => expectSameBytes(await s.read(0, data.length), data));
      });

      it('clips a read that runs past the end', async () => {
        await using(open(), async (s) => {
          expectSameBytes(await s.read(data.length - 100, 1_000), data.subarray(data.length - 100));
        });
      });

      it('returns no bytes for a read that starts past the end', async () => {
        await using(open(), async (s) => {
          expect((await s.read(data.length + 10, 100)).byteLength).toBe(0);
          expect((await s.read(data.length, 1)).byteLength).toBe(0);
        });
      });

      it('returns no bytes for a zero-length read', async () => {
        await using(open(), async (s) => expect((await s.read(5, 0)).byteLength).toBe(0));
      });

      it('gives an empty object size 0 and no bytes', async () => {
        await using(open(emptyUrl), async (s) => {
          expect(await s.size()).toBe(0);
          expect((await s.read(0, 10)).byteLength).toBe(0);
        });
      });

      it('answers many concurrent reads each with its own bytes', async () => {
        await using(open(), async (s) => {
          const offsets = Array.from({ length: 20 }, (_, i) => i * 9_973);
          const got = await Promise.all(offsets.map((o) => s.read(o, 3_000)));
          got.forEach((bytes, i) => expectSameBytes(bytes, data.subarray(offsets[i], (offsets[i] ?? 0) + 3_000)));
        });
      });

      it('counts the requests and bytes it fetched from the backend', async () => {
        await using(open(), async (s) => {
          await s.read(1_000, 5_000);
          expect(s.stats.requests).toBeGreaterThanOrEqual(1);
          expect(s.stats.bytes).toBeGreaterThanOrEqual(5_000);
        });
      });

      it('fails with StorageNotFoundError naming the URL when the object is missing', async () => {
        const missing = backend().missingUrl();
        await using(open(missing), async (s) => {
          const err = await s.read(0, 10).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(StorageNotFoundError);
          expect((err as StorageNotFoundError).code).toBe('ERR_NOT_FOUND');
          expect((err as Error).message).toContain(missing);
          expect((err as StorageNotFoundError).retryable).toBe(false);
          await expect(s.size()).rejects.toBeInstanceOf(StorageNotFoundError);
        });
      });

      it('rejects a negative offset with InvalidRangeError naming the URL and the value', async () => {
        await using(open(), async (s) => {
          const err = await s.read(-1, 10).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(InvalidRangeError);
          expect((err as Error).message).toContain('offset=-1');
          expect((err as Error).message).toContain(url);
        });
      });

      it("rejects with the signal's reason when aborted before the read", async () => {
        await using(open(), async (s) => {
          const reason = new Error('caller gave up');
          const controller = new AbortController();
          controller.abort(reason);
          await expect(s.read(0, 10, { signal: controller.signal })).rejects.toBe(reason);
          await expect(s.size({ signal: controller.signal })).rejects.toBe(reason);
          expect(s.stats.bytes).toBe(0);
        });
      });
    });
  }
}
