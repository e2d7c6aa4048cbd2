import { isRetryable } from '../errors.js';
import { StorageTransientError } from './errors.js';
import type { ResolvedRetryOptions } from './options.js';
import { delay, startAttempt } from './signals.js';

/**
 * Runs `attempt` until it succeeds, fails with an error not marked retryable, or runs out of attempts.
 *
 * Waits grow exponentially with full jitter, so many workers hitting one throttled server spread out
 * instead of retrying in lock-step. A server's `Retry-After` is honoured when it is short; a long one
 * fails at once, because parking a worker for minutes is the scheduler's decision, not ours.
 * The signal cancels both the attempts (the callee gets it) and the waits between them.
 */
export async function withRetry<T>(
  url: string,
  policy: ResolvedRetryOptions,
  signal: AbortSignal | undefined,
  attempt: (attemptNumber: number) => Promise<T>,
): Promise<T> {
  for (let n = 1; ; n++) {
    signal?.throwIfAborted();
    try {
      return await attempt(n);
    } catch (err) {
      // The caller's abort wins over whatever error the cancelled request produced.
      signal?.throwIfAborted();
      if (!isRetryable(err)) throw err;
      const retryAfterMs = err instanceof StorageTransientError ? err.retryAfterMs : undefined;
      if (retryAfterMs !== undefined && retryAfterMs > policy.maxRetryAfterMs) {
        throw giveUp(url, err, `server asks to wait ${retryAfterMs} ms, more than retry.maxRetryAfterMs=${policy.maxRetryAfterMs}`);
      }
      if (n >= policy.maxAttempts) throw giveUp(url, err, `gave up after ${n} attempts`);
      await delay(Math.max(retryAfterMs ?? 0, backoffMs(policy, n)), signal);
    }
  }
}

/** Full-jitter exponential back-off before retry number `n` (1-based). */
export function backoffMs(policy: ResolvedRetryOptions, n: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1));
  return Math.round(Math.random() * ceiling);
}

/** Keeps the retryable mark (a later retry, by the scheduler, may still cure it) and says why we stopped. */
function giveUp(url: string, err: unknown, why: string): unknown {
  if (!(err instanceof StorageTransientError)) return err;
  return new StorageTransientError(url, `${err.detail}; ${why}`, { cause: err, retryAfterMs: err.retryAfterMs });
}

/**
 * One request under the per-attempt time limit. The caller's abort comes out as the signal's reason,
 * the time limit as a retryable StorageTransientError, and anything else through `mapError`, so the
 * retry loop above only ever sees typed errors.
 */
export async function timedAttempt<T>(
  url: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  run: (signal: AbortSignal) => Promise<T>,
  mapError: (url: string, err: unknown) => unknown,
): Promise<T> {
  const attempt = startAttempt(timeoutMs, signal);
  try {
    return await run(attempt.signal);
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (attempt.timedOut()) throw new StorageTransientError(url, `timed out after ${timeoutMs} ms`, { cause: err });
    throw mapError(url, err);
  } finally {
    attempt.dispose();
  }
}
