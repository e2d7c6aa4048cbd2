import { DataboxError } from '../../errors.js';

/** Stable codes of every error the registry throws on purpose. */
export const RegistryErrorCode = {
  /** Another live registration holds the key (or, for `jobman`, the kind). */
  conflict: 'ERR_REGISTRY_CONFLICT',
  /** etcd could not be reached or did not answer in time; retryable. */
  unavailable: 'ERR_REGISTRY_UNAVAILABLE',
  /** The registration's lease expired or was revoked under it; re-register to get a new one. */
  leaseLost: 'ERR_REGISTRY_LEASE_LOST',
  /** A value read back failed its schema (a foreign writer, an older or corrupt entry). */
  invalidEntry: 'ERR_REGISTRY_INVALID_ENTRY',
  /** A value handed to `register` or `update` failed its schema. */
  invalidValue: 'ERR_REGISTRY_INVALID_VALUE',
  /** An option, kind, id or registry URL failed validation. */
  invalidOption: 'ERR_REGISTRY_INVALID_OPTION',
  /** The registry (or the registration) was closed by its owner. */
  closed: 'ERR_REGISTRY_CLOSED',
  /** etcd refused the request for a reason a retry will not cure (permissions, protocol). */
  failed: 'ERR_REGISTRY_FAILED',
} as const;

/** Any failure of the registry. Retry loops read `retryable`, never the message. */
export class RegistryError extends DataboxError {}

/** A second live registration for a key that allows only one holder. Not retryable: see the message. */
export class RegistryConflictError extends RegistryError {
  /** The kind of the refused registration. */
  readonly kind: string;
  /** The id of the refused registration. */
  readonly id: string;
  /** The id that holds the key (for `jobman`, the live Jobman's id), when it could be read. */
  readonly holderId: string | undefined;

  constructor(kind: string, id: string, holderId: string | undefined, holderUrl: string | undefined) {
    const holder = holderId === undefined ? 'another live registration' : `${kind} ${holderId}${holderUrl ? ` at ${holderUrl}` : ''}`;
    const what = kind === 'jobman' ? 'a Jobman is already registered' : `${kind} ${id} is already registered`;
    super(
      RegistryErrorCode.conflict,
      `Cannot register ${kind} ${id}: ${what} (held by ${holder}); it goes away when its holder revokes it ` +
        `or stops keeping it alive for one TTL`,
    );
    this.kind = kind;
    this.id = id;
    this.holderId = holderId;
  }
}

/** A stored entry whose key or value does not parse; `list` and `watch` skip these and report them. */
export class InvalidRegistryEntryError extends RegistryError {
  /** The full key as stored (prefix included). */
  readonly key: string;
  /** What is wrong, in one line. */
  readonly reason: string;

  constructor(key: string, reason: string) {
    super(RegistryErrorCode.invalidEntry, `Registry entry ${key} is invalid: ${reason}`);
    this.key = key;
    this.reason = reason;
  }
}

/** An option, kind, id, value or URL failed validation; the message names it and the bad value. */
export class InvalidRegistryInputError extends RegistryError {
  /** The option or field at fault, e.g. `options.ttlMs`, `value.workers`, `url`. */
  readonly field: string;

  constructor(code: string, field: string, problem: string, value: unknown) {
    super(code, `${field} ${problem} (got ${describe(value)})`);
    this.field = field;
  }
}

/** A short, safe rendering of a bad value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 120 ? `${value.slice(0, 117)}...` : value);
  if (typeof value === 'function') return 'a function';
  if (value === undefined) return 'undefined';
  try {
    const json = JSON.stringify(value);
    return json.length > 120 ? `${json.slice(0, 117)}...` : json;
  } catch {
    return Object.prototype.toString.call(value);
  }
}
