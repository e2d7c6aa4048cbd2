/**
 * The registry: where the Jobman, each Taskman and each connected client announce themselves, each
 * entry held by a lease with a TTL so that a dead member disappears on its own. One interface, two
 * back-ends (embedded, etcd), one contract test suite (`test/engine/registry/contract.ts`).
 */
export { EmbeddedRegistry } from './embedded.js';
export { EtcdRegistry } from './etcd.js';
export { ETCD_URL_FORM, parseEtcdUrl } from './etcd-url.js';
export {
  InvalidRegistryEntryError,
  InvalidRegistryInputError,
  RegistryConflictError,
  RegistryError,
  RegistryErrorCode,
} from './errors.js';
export { openRegistry } from './open.js';
export { MAX_TTL_MS, registryDefaults } from './options.js';
export type { EtcdRegistryOptions, RegisterOptions, RegistryOptions } from './options.js';
export type {
  Registration,
  RegistrationEvents,
  RegistrationState,
  Registry,
  RegistryEntry,
  RegistryEvent,
  RegistryWatch,
  WatchOptions,
} from './types.js';
export { REGISTRY_KINDS, SINGLETON_KINDS } from './values.js';
export type { ClientInfo, JobmanInfo, RegistryKind, RegistryValues, TaskmanInfo } from './values.js';
