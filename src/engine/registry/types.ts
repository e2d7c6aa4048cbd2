import type { EventEmitter } from 'node:events';

import type { RegistryError } from './errors.js';
import type { RegisterOptions } from './options.js';
import type { RegistryKind, RegistryValues } from './values.js';

/** One live entry as read back. */
export interface RegistryEntry<K extends RegistryKind = RegistryKind> {
  /** Its kind. */
  kind: K;
  /** Its id: the Jobman's instance id, a Taskman's node name, a client id. */
  id: string;
  /** Its value, parsed. */
  value: RegistryValues[K];
}

/** A change seen by `watch`, in the order the registry applied it. */
export type RegistryEvent<K extends RegistryKind = RegistryKind> =
  | { type: 'put'; kind: K; id: string; value: RegistryValues[K] }
  | { type: 'delete'; kind: K; id: string };

/**
 * `alive`: the entry is held. `released`: the holder stopped keeping it alive; it expires after one
 * TTL. `revoked`: removed by its holder (or by `Registry.close`). `lost`: the lease expired or the
 * registry could not be reached for one TTL; the entry is gone or about to be, re-register.
 */
export type RegistrationState = 'alive' | 'released' | 'revoked' | 'lost';

/** The events a {@link Registration} emits. */
export interface RegistrationEvents {
  /** The lease is gone (expired, or etcd unreachable for a TTL). Not emitted after `revoke` or `release`. */
  lost: [err: RegistryError];
}

/** A held entry. Its lease keeps it alive; when the holder dies, the entry disappears after the TTL. */
export interface Registration<K extends RegistryKind = RegistryKind> extends EventEmitter<RegistrationEvents> {
  /** Its kind. */
  readonly kind: K;
  /** Its id. */
  readonly id: string;
  /** The lease TTL in milliseconds as granted (etcd: the asked TTL rounded up to whole seconds). */
  readonly ttlMs: number;
  /** Where it stands; see {@link RegistrationState}. */
  readonly state: RegistrationState;
  /** The value last written. */
  readonly value: RegistryValues[K];
  /** Replaces the value under the same lease (e.g. a Taskman's worker count). Fails once not alive. */
  update(value: RegistryValues[K]): Promise<void>;
  /** One keep-alive now; for `keepAlive: false` holders. Rejects with `ERR_REGISTRY_LEASE_LOST` once expired. */
  refresh(): Promise<void>;
  /** Stops keeping the lease alive, as if the holder died: the entry expires after one TTL. */
  release(): void;
  /** Removes the entry at once. Safe to call twice, and after the lease was lost. */
  revoke(): Promise<void>;
  /** The same as {@link revoke}. */
  close(): Promise<void>;
}

/** Options of `watch`. */
export interface WatchOptions {
  /** Ends the iteration (quietly: the `for await` loop just finishes). */
  signal?: AbortSignal;
}

/** A live view of one kind's changes. Iterate it with `for await`; `close()` or the signal ends it. */
export interface RegistryWatch<K extends RegistryKind = RegistryKind> extends AsyncIterableIterator<RegistryEvent<K>> {
  /** Stops watching; a pending `next()` resolves as done. */
  close(): Promise<void>;
}

/**
 * Where the cluster's members announce themselves: the Jobman's address, each Taskman, each
 * connected client (the paper keeps these in etcd). Two back-ends: `EmbeddedRegistry`, in the
 * Jobman's process, and `EtcdRegistry`. Both pass one contract test suite.
 */
export interface Registry {
  /** `embedded` or `etcd`. */
  readonly backend: 'embedded' | 'etcd';
  /** The key prefix this registry reads and writes under. */
  readonly prefix: string;
  /**
   * Adds an entry held by a lease. Fails with `ERR_REGISTRY_CONFLICT` while another live registration
   * holds the same kind and id, or, for `jobman`, any live Jobman.
   */
  register<K extends RegistryKind>(kind: K, id: string, value: RegistryValues[K], options?: RegisterOptions): Promise<Registration<K>>;
  /** The live entry, or `undefined`. A stored value that does not parse throws `ERR_REGISTRY_INVALID_ENTRY`. */
  get<K extends RegistryKind>(kind: K, id: string): Promise<RegistryEntry<K> | undefined>;
  /** Every live entry of a kind, by id. Entries that do not parse are skipped and reported to `onInvalidEntry`. */
  list<K extends RegistryKind>(kind: K): Promise<RegistryEntry<K>[]>;
  /** Resolves once watching has begun: every change after that is delivered, in order. */
  watch<K extends RegistryKind>(kind: K, options?: WatchOptions): Promise<RegistryWatch<K>>;
  /** Revokes every registration made through it, ends its watches and lets go of connections. */
  close(): Promise<void>;
}
