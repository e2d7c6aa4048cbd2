/**
 * The base of every error this project throws on purpose.
 *
 * `code` is stable and machine-readable; `retryable` tells retry loops (HTTP, S3, the scheduler)
 * whether trying again may cure the failure. Retry code reads the mark, never the message.
 */
export class DataboxError extends Error {
  /** Stable machine-readable code, e.g. `ERR_NOT_FOUND`. */
  readonly code: string;
  /** True when the same call may succeed if tried again (time-outs, 5xx, 429). */
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** True when `err` is marked as curable by a retry. */
export function isRetryable(err: unknown): boolean {
  return err instanceof DataboxError && err.retryable;
}

/** The message of anything thrown, for one-line reports. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
