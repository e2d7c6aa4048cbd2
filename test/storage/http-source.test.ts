import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { isRetryable } from '../../src/errors.js';
import {
  closeSharedConnections,
  openSink,
  openSource,
  readRanges,
  ReadOnlyStorageError,
  StorageForbiddenError,
  StorageNotFoundError,
  StorageTransientError,
  type SourceOptions,
  type StorageSource,
} from '../../src/storage/index.js';
import { expectSameBytes, patternBytes } from './support/bytes.js';
import { RangeServer } from './support/range-server.js';
import { describeSourceContract } from './support/source-contract.js';
import { makeTempDir, type TempDir } from './support/temp-dir.js';

let dir: TempDir;
let server: RangeServer;
const data = patternBytes(300_000, 11);
/** Retries without real back-off, so failure tests stay fast. */
const fast: SourceOptions = { retry: { baseDelayMs: 1, maxDelayMs: 2 } };

beforeAll(async () => {
  dir = await makeTempDir('http-source');
  await writeFile(join(dir.path, 'scene.tif'), data);
  server = await new RangeServer(dir.path).listen();
});

afterAll(async () => {
  await server.close();
  await dir.remove();
});

describeSourceContract('HTTP', () => ({
  put: async (name, bytes) => {
    await writeFile(join(dir.path, name), bytes);
    return server.url(name);
  },
  missingUrl: () => server.url('no-such-file.tif'),
  options: fast,
}));

/** A bare source (no block cache) on the shared server, closed after `fn`. */
async function withSource<T>(fn: (s: StorageSource) => Promise<T>, options: SourceOptions = {}, name = 'scene.tif'): Promise<T> {
  const source = openSource(server.url(name), { ...fast, cache: false, ...options });
  try {
    return await fn(source);
  } finally {
    await source.close();
  }
}

describe('HTTP range reads', () => {
  it('sends one Range GET and transfers only the bytes asked for', async () => {
    const before = server.snapshot();
    await withSource(async (s) => expectSameBytes(await s.read(1_000, 4_000), data.subarray(1_000, 5_000)));
    expect(server.stats.requests - before.requests).toBe(1);
    expect(server.stats.bodyBytes - before.bodyBytes).toBe(4_000);
  });

  it('learns the size from a range response, so size() after a read costs no request', async () => {
    await withSource(async (s) => {
      await s.read(0, 10);
      const before = server.snapshot();
      expect(await s.size()).toBe(data.length);
      expect(server.stats.requests).toBe(before.requests);
    });
  });

  it('asks for the size with one HEAD when nothing has been read', async () => {
    const before = server.snapshot();
    await withSource(async (s) => {
      const [a, b] = await Promise.all([s.size(), s.size()]);
      expect([a, b]).toEqual([data.length, data.length]);
    });
    expect(server.stats.requests - before.requests).toBe(1);
    expect(server.stats.bodyBytes).toBe(before.bodyBytes);
  });

  it('reuses keep-alive connections for a series of reads instead of opening one per request', async () => {
    const own = await new RangeServer(dir.path).listen();
    try {
      const source = openSource(own.url('scene.tif'), { cache: false });
      for (let i = 0; i < 20; i++) await source.read(i * 10_000, 1_000);
      await source.close();
      expect(own.stats.requests).toBe(20);
      // undici frees a connection a tick after the body ends, so a read issued at once may find it
      // still busy and open a second; from then on the two take turns. Without keep-alive it would be 20.
      expect(own.stats.connections).toBeLessThanOrEqual(2);
    } finally {
      await own.close();
    }
  });

  it('keeps the whole object from a server that ignores Range: one download serves every read of the process, counted, with one warning', async () => {
    await writeFile(join(dir.path, 'no-ranges.tif'), data);
    server.ignoreRange = true;
    const warnings: string[] = [];
    try {
      await withSource(
        async (s) => {
          expectSameBytes(await s.read(100, 50), data.subarray(100, 150));
          expectSameBytes(await s.read(200_000, 10), data.subarray(200_000, 200_010));
          expect(await s.size()).toBe(data.length);
          // What crossed the network: the object once, not once per read.
          expect(s.stats).toEqual({ requests: 1, bytes: data.length });
        },
        { onWarning: (m) => warnings.push(m) },
        'no-ranges.tif',
      );
      // A second source of the same process (another subtask, another tile) asks the server nothing.
      await withSource(
        async (s) => {
          expectSameBytes(await s.read(299_990, 10), data.subarray(299_990));
          expect(s.stats).toEqual({ requests: 0, bytes: 0 });
        },
        {},
        'no-ranges.tif',
      );
    } finally {
      server.ignoreRange = false;
    }
    expect(warnings).toEqual([`${server.url('no-ranges.tif')}: the server ignores Range requests, so the whole object is downloaded once and kept in memory`]);
  });

  it('refuses, naming the limit, an object too large to keep whole from a server that ignores Range', async () => {
    await writeFile(join(dir.path, 'no-ranges-big.tif'), data);
    server.ignoreRange = true;
    try {
      await withSource(
        async (s) => {
          const read = s.read(0, 10);
          await expect(read).rejects.toMatchObject({ code: 'ERR_RANGE_IGNORED' });
          await expect(read).rejects.toThrow(`The server of ${server.url('no-ranges-big.tif')} ignores Range requests, and the object is 300000 bytes, more than the 100000 bytes kept whole in memory (wholeObjectMaxBytes)`);
        },
        { wholeObjectMaxBytes: 100_000, onWarning: () => undefined },
        'no-ranges-big.tif',
      );
    } finally {
      server.ignoreRange = false;
    }
  });

  it('follows a redirect to where the object really is', async () => {
    server.redirects.set('latest.tif', 'scene.tif');
    await withSource(async (s) => expectSameBytes(await s.read(5, 10), data.subarray(5, 15)), {}, 'latest.tif');
  });

  // The time limit is the assertion: left alone, an idle keep-alive socket lingers for seconds.
  it('closes its idle keep-alive connections on closeSharedConnections, so a CLI can exit', { timeout: 2_000 }, async () => {
    const own = await new RangeServer(dir.path).listen();
    try {
      const source = openSource(own.url('scene.tif'), { cache: false });
      await source.read(0, 10);
      await source.close();
      expect(own.stats.connections).toBe(1);
      await closeSharedConnections();
      await own.idle();
    } finally {
      await own.close();
    }
  });

  it('refuses to open an HTTP URL for writing with ReadOnlyStorageError naming the URL', async () => {
    const err = await openSink(server.url('out.tif')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReadOnlyStorageError);
    expect((err as Error).message).toContain(server.url('out.tif'));
  });
});

describe('HTTP failures and retries', () => {
  it('retries after two 503s and then succeeds', async () => {
    server.failNext(2, 503);
    const before = server.snapshot();
    await withSource(async (s) => expectSameBytes(await s.read(10, 100), data.subarray(10, 110)));
    expect(server.stats.requests - before.requests).toBe(3);
  });

  it('honours a short Retry-After on 429 and then succeeds', async () => {
    server.failNext(1, 429, { 'retry-after': '0' });
    await withSource(async (s) => expectSameBytes(await s.read(10, 100), data.subarray(10, 110)));
  });

  it('gives up after maxAttempts with an error still marked retryable', async () => {
    server.failNext(3, 503);
    const before = server.snapshot();
    const err = await withSource((s) => s.read(0, 10), { retry: { maxAttempts: 3, baseDelayMs: 1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageTransientError);
    expect(isRetryable(err)).toBe(true);
    expect((err as Error).message).toContain('HTTP 503');
    expect((err as Error).message).toContain('gave up after 3 attempts');
    expect((err as Error).message).toContain(server.url('scene.tif'));
    expect(server.stats.requests - before.requests).toBe(3);
  });

  it('fails at once when Retry-After is longer than the policy will wait', async () => {
    server.failNext(1, 429, { 'retry-after': '3600' });
    const before = server.snapshot();
    const err = await withSource((s) => s.read(0, 10)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageTransientError);
    expect((err as StorageTransientError).retryAfterMs).toBe(3_600_000);
    expect(server.stats.requests - before.requests).toBe(1);
  });

  it('fails at once on 403 with StorageForbiddenError naming the URL', async () => {
    server.statusFor.set('secret.tif', 403);
    const before = server.snapshot();
    const err = await withSource((s) => s.read(0, 10), {}, 'secret.tif').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageForbiddenError);
    expect((err as Error).message).toBe(`Access denied (HTTP 403): ${server.url('secret.tif')}`);
    expect(server.stats.requests - before.requests).toBe(1);
  });

  it('fails at once on 404 with a message like "Not found (HTTP 404): <url>"', async () => {
    const before = server.snapshot();
    const err = await withSource((s) => s.read(0, 10), {}, 'gone.tif').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageNotFoundError);
    expect((err as Error).message).toBe(`Not found (HTTP 404): ${server.url('gone.tif')}`);
    expect(server.stats.requests - before.requests).toBe(1);
  });

  it('times out a stalled request and retries it on a new attempt', async () => {
    server.stallNext(1);
    await withSource(async (s) => expectSameBytes(await s.read(0, 100), data.subarray(0, 100)), { timeoutMs: 200 });
  });

  it('reports a request that stalls on every attempt as a retryable time-out', async () => {
    server.stallNext(2);
    const err = await withSource((s) => s.read(0, 100), { timeoutMs: 100, retry: { maxAttempts: 2, baseDelayMs: 1 } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StorageTransientError);
    expect(isRetryable(err)).toBe(true);
    expect((err as Error).message).toContain('timed out after 100 ms');
  });

  it("cancels a request in flight when the signal aborts, rejecting with the signal's reason", async () => {
    server.stallNext(1);
    const controller = new AbortController();
    const reason = new Error('job cancelled');
    const arrived = once(server, 'request');
    await withSource(async (s) => {
      const reading = s.read(0, 100, { signal: controller.signal });
      await arrived;
      controller.abort(reason);
      await expect(reading).rejects.toBe(reason);
    });
  });

  it("cancels a size lookup in flight when the signal aborts, and a later lookup starts afresh", async () => {
    server.stallNext(1);
    const controller = new AbortController();
    const reason = new Error('job cancelled');
    const arrived = once(server, 'request');
    await withSource(async (s) => {
      const asking = s.size({ signal: controller.signal });
      await arrived;
      controller.abort(reason);
      await expect(asking).rejects.toBe(reason);
      expect(await s.size()).toBe(data.length);
    });
  });

  it('retries after the server drops the connection mid-request', async () => {
    server.stallNext(1);
    const arrived = once(server, 'request');
    await withSource(async (s) => {
      const reading = s.read(0, 100);
      await arrived;
      // Destroying the server's sockets is a connection reset as the client sees it.
      server.dropConnections();
      expectSameBytes(await reading, data.subarray(0, 100));
    });
  });
});

describe('coalescing and the block cache over HTTP', () => {
  it('merges adjacent and nearby ranges into one request and returns them in the caller order', async () => {
    const ranges = [
      { offset: 20_000, length: 1_000 },
      { offset: 10_000, length: 5_000 },
      { offset: 15_000, length: 5_000 },
      { offset: 22_000, length: 100 },
    ];
    const before = server.snapshot();
    const got = await withSource((s) => readRanges(s, ranges));
    expect(server.stats.requests - before.requests).toBe(1);
    expect(server.stats.bodyBytes - before.bodyBytes).toBe(12_100);
    ranges.forEach((r, i) => expectSameBytes(got[i] ?? new Uint8Array(), data.subarray(r.offset, r.offset + r.length)));
  });

  it('keeps ranges far apart as separate requests', async () => {
    const before = server.snapshot();
    await withSource((s) =>
      readRanges(s, [
        { offset: 0, length: 100 },
        { offset: 200_000, length: 100 },
      ]),
    );
    expect(server.stats.requests - before.requests).toBe(2);
    expect(server.stats.bodyBytes - before.bodyBytes).toBe(200);
  });

  it('serves repeated header reads from the block cache with no new bytes transferred', async () => {
    const source = openSource(server.url('scene.tif'), fast);
    try {
      expectSameBytes(await source.read(0, 16), data.subarray(0, 16));
      const afterFirst = server.snapshot();
      expectSameBytes(await source.read(8, 500), data.subarray(8, 508));
      expectSameBytes(await source.read(4_000, 2_000), data.subarray(4_000, 6_000));
      expectSameBytes(await source.read(0, 16), data.subarray(0, 16));
      expect(server.snapshot()).toEqual(afterFirst);
    } finally {
      await source.close();
    }
  });
});
