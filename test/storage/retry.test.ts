import { describe, expect, it } from 'vitest';

import { StorageError, StorageTransientError } from '../../src/storage/index.js';
import { parseRetryAfterMs } from '../../src/storage/http/status.js';
import { resolveRetryOptions } from '../../src/storage/options.js';
import { backoffMs, withRetry } from '../../src/storage/retry.js';

const policy = resolveRetryOptions({ maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 });

describe('the retry policy', () => {
  it('retries errors marked retryable until one attempt succeeds', async () => {
    let calls = 0;
    const result = await withRetry('u', policy, undefined, async () => {
      calls++;
      if (calls < 3) throw new StorageTransientError('u', 'HTTP 503');
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('does not retry an error without the mark', async () => {
    let calls = 0;
    const err = new StorageError('ERR_STORAGE', 'u', 'broken: u');
    await expect(
      withRetry('u', policy, undefined, async () => {
        calls++;
        throw err;
      }),
    ).rejects.toBe(err);
    expect(calls).toBe(1);
  });

  it("stops waiting between attempts when the signal aborts, with the signal's reason", async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled');
    const slow = resolveRetryOptions({ baseDelayMs: 60_000, maxDelayMs: 60_000 });
    await expect(
      withRetry('u', slow, controller.signal, async () => {
        // Abort on the next turn of the event loop, when the retry loop is inside its minute-long wait.
        setImmediate(() => controller.abort(reason));
        throw new StorageTransientError('u', 'HTTP 503');
      }),
    ).rejects.toBe(reason);
  });

  it('keeps each back-off within its exponential ceiling', () => {
    const p = resolveRetryOptions({ baseDelayMs: 100, maxDelayMs: 1_000 });
    for (let i = 0; i < 50; i++) {
      expect(backoffMs(p, 1)).toBeLessThanOrEqual(100);
      expect(backoffMs(p, 3)).toBeLessThanOrEqual(400);
      expect(backoffMs(p, 10)).toBeLessThanOrEqual(1_000);
    }
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfterMs('2')).toBe(2_000);
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfterMs('Wed, 01 Jan 2025 00:00:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfterMs('soon')).toBeUndefined();
  });
});
