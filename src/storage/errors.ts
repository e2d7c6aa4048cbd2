import { DataboxError } from '../errors.js';

/** The URL schemes (and bare paths) that `openSource` / `openSink` understand, for error messages. */
export const SUPPORTED_SCHEMES = ['file paths', 'file://', 'http://', 'https://', 's3://'] as const;

/**
 * Any failure of byte storage. Every message names the URL, so a failed job's log line alone says
 * which object was at fault.
 */
export class StorageError extends DataboxError {
  /** The URL the failing operation was working on. */
  readonly url: string;

  constructor(code: string, url: string, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(code, message, options);
    this.url = url;
  }
}

/** The object does not exist (HTTP 404/410, S3 NoSuchKey, ENOENT). Retrying will not help. */
export class StorageNotFoundError extends StorageError {
  constructor(url: string, detail: string, options: { cause?: unknown } = {}) {
    super('ERR_NOT_FOUND', url, `Not found (${detail}): ${url}`, options);
  }
}

/** Access was refused (HTTP 401/403, S3 AccessDenied, EACCES). Retrying will not help. */
export class StorageForbiddenError extends StorageError {
  constructor(url: string, detail: string, options: { cause?: unknown } = {}) {
    super('ERR_FORBIDDEN', url, `Access denied (${detail}): ${url}`, options);
  }
}

/**
 * A failure that may pass if tried again: 5xx, 429, time-outs, connection resets. Marked retryable so
 * the retry loop (and the scheduler above it) can tell it from a permanent failure.
 */
export class StorageTransientError extends StorageError {
  /** What failed, without the URL: `HTTP 503`, `timed out after 30000 ms`. */
  readonly detail: string;
  /** The server's `Retry-After`, in milliseconds, when it sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(url: string, detail: string, options: { cause?: unknown; retryAfterMs?: number } = {}) {
    super('ERR_STORAGE_TRANSIENT', url, `Temporary failure (${detail}): ${url}`, {
      cause: options.cause,
      retryable: true,
    });
    this.detail = detail;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The URL's scheme (or shape) is not one this package can open. */
export class UnsupportedUrlError extends StorageError {
  constructor(url: string, reason = 'unsupported scheme') {
    super('ERR_UNSUPPORTED_URL', url, `Cannot open ${url}: ${reason}; supported: ${SUPPORTED_SCHEMES.join(', ')}`);
  }
}

/** A write was asked of a read-only backend (HTTP). */
export class ReadOnlyStorageError extends StorageError {
  constructor(url: string, scheme: string) {
    super('ERR_READ_ONLY', url, `Cannot write to ${url}: ${scheme} storage is read-only`);
  }
}

/** A read asked for a range that cannot exist (negative or fractional offset or length). */
export class InvalidRangeError extends StorageError {
  constructor(url: string, offset: number, length: number) {
    super(
      'ERR_INVALID_RANGE',
      url,
      `Invalid byte range offset=${offset} length=${length} for ${url}: both must be non-negative integers`,
    );
  }
}

/** A storage option failed validation; the message names the option and the bad value. */
export class InvalidStorageOptionError extends DataboxError {
  /** Dotted path of the option, e.g. `options.retry.maxAttempts`. */
  readonly option: string;

  constructor(option: string, expectation: string, value: unknown) {
    super('ERR_INVALID_OPTION', `${option} ${expectation} (got ${describeValue(value)})`);
    this.option = option;
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
