import {
  StorageError,
  StorageForbiddenError,
  StorageNotFoundError,
  StorageTransientError,
} from '../errors.js';
import { errorSummary, transientNetworkCode } from '../network.js';
import { headerValue, type HeaderValue } from '../range.js';

export function parseContentLength(value: HeaderValue): number | undefined {
  const text = headerValue(value);
  if (text === undefined || !/^\s*\d+\s*$/.test(text)) return undefined;
  return Number(text);
}

/** `Retry-After` as milliseconds from now: either delay-seconds or an HTTP date. */
export function parseRetryAfterMs(value: HeaderValue, now = Date.now()): number | undefined {
  const text = headerValue(value)?.trim();
  if (text === undefined || text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The typed error for a status we cannot use. 404/410 and 401/403 are permanent and fail at once;
 * 408, 429 and 5xx may pass and are marked retryable; anything else is a plain StorageError.
 */
export function statusError(url: string, method: string, status: number, headers: Record<string, HeaderValue>): StorageError {
  const detail = `HTTP ${status}`;
  if (status === 404 || status === 410) return new StorageNotFoundError(url, detail);
  if (status === 401 || status === 403) return new StorageForbiddenError(url, detail);
  if (status === 408 || status === 429 || status >= 500) {
    return new StorageTransientError(url, detail, { retryAfterMs: parseRetryAfterMs(headers['retry-after']) });
  }
  return new StorageError('ERR_STORAGE', url, `Unexpected HTTP ${status} to ${method}: ${url}`);
}

/** Maps what undici (or the socket under it) threw to a typed error naming the URL. */
export function networkError(url: string, err: unknown): StorageError {
  // A refusal of the access policy, raised inside undici (a redirect, a name's address), stays one.
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e instanceof StorageError) return e;
  }
  const code = transientNetworkCode(err);
  if (code !== undefined) return new StorageTransientError(url, code, { cause: err });
  return new StorageError('ERR_STORAGE', url, `HTTP request failed (${errorSummary(err)}): ${url}`, { cause: err });
}
