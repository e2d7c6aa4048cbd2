import {
  StorageError,
  StorageForbiddenError,
  StorageNotFoundError,
  StorageTransientError,
} from '../errors.js';
import { errorSummary, transientNetworkCode } from '../network.js';

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchBucket', 'NoSuchUpload']);
const FORBIDDEN = new Set(['AccessDenied', 'Forbidden', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken']);
const THROTTLED = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
]);

/** True for the SDK's "range starts past the end" answer, which a ByteSource treats as an empty read. */
export function isInvalidRange(err: unknown): boolean {
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: number } } | undefined;
  return e?.name === 'InvalidRange' || e?.$metadata?.httpStatusCode === 416;
}

/** Maps an AWS SDK (or socket) error to a typed storage error naming the `s3://` URL. */
export function s3Error(url: string, err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  const e = (err ?? {}) as { name?: unknown; $metadata?: { httpStatusCode?: number } };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const status = e.$metadata?.httpStatusCode;
  const detail = status === undefined ? `S3 ${name}` : `S3 ${name}, HTTP ${status}`;
  if (NOT_FOUND.has(name) || status === 404) return new StorageNotFoundError(url, detail, { cause: err });
  if (FORBIDDEN.has(name) || status === 401 || status === 403) return new StorageForbiddenError(url, detail, { cause: err });
  if (THROTTLED.has(name) || status === 429 || (status !== undefined && status >= 500)) {
    return new StorageTransientError(url, detail, { cause: err });
  }
  const code = transientNetworkCode(err);
  if (code !== undefined) return new StorageTransientError(url, code, { cause: err });
  return new StorageError('ERR_STORAGE', url, `S3 request failed (${status === undefined ? errorSummary(err) : detail}): ${url}`, {
    cause: err,
  });
}
