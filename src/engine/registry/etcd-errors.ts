import { ClientClosedError, EtcdLeaseInvalidError, isRecoverableError } from 'etcd3';

import { messageOf } from '../../errors.js';
import { RegistryError, RegistryErrorCode } from './errors.js';

/**
 * Turns whatever the etcd client threw into a typed registry error. Network and server failures
 * (the client's own `isRecoverableError`, an open circuit breaker, a time-out) are marked retryable:
 * etcd coming back cures them. Everything else is not.
 */
export function fromEtcdError(err: unknown, action: string, hosts: readonly string[]): RegistryError {
  if (err instanceof RegistryError) return err;
  const detail = messageOf(err).split('\n')[0] ?? '';
  if (isUnavailable(err)) {
    return new RegistryError(RegistryErrorCode.unavailable, `etcd at ${hosts.join(',')} is unavailable while ${action}: ${detail}`, {
      cause: err,
      retryable: true,
    });
  }
  if (err instanceof EtcdLeaseInvalidError) {
    return new RegistryError(RegistryErrorCode.leaseLost, `The lease expired while ${action}; register again`, { cause: err });
  }
  if (err instanceof ClientClosedError) {
    return new RegistryError(RegistryErrorCode.closed, `Cannot finish ${action}: the etcd registry was closed`, { cause: err });
  }
  return new RegistryError(RegistryErrorCode.failed, `etcd at ${hosts.join(',')} refused ${action}: ${detail}`, { cause: err });
}

function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  // cockatiel's BrokenCircuitError (the client stops dialling a failing host for a while) is not
  // marked recoverable by etcd3, yet it only ever means "etcd did not answer lately".
  return isRecoverableError(err) || (err as { isBrokenCircuitError?: unknown }).isBrokenCircuitError === true;
}

/** Rejects with `onTimeout()` if `promise` has not settled within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
