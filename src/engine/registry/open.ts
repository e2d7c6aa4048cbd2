import { InvalidRegistryInputError, RegistryErrorCode } from './errors.js';
import { EmbeddedRegistry } from './embedded.js';
import { EtcdRegistry } from './etcd.js';
import { ETCD_URL_FORM } from './etcd-url.js';
import type { EtcdRegistryOptions } from './options.js';
import type { Registry } from './types.js';

/**
 * Opens the registry a `--registry` flag names: `embedded` (the default: in this process, no other
 * service) or `etcd://HOST:PORT[,HOST:PORT...]`.
 */
export function openRegistry(spec: string = 'embedded', options: EtcdRegistryOptions = {}): Registry {
  if (spec === 'embedded') {
    const { callTimeoutMs: _call, dialTimeoutMs: _dial, ...common } = options;
    return new EmbeddedRegistry(common);
  }
  if (typeof spec === 'string' && spec.startsWith('etcd://')) return new EtcdRegistry(spec, options);
  throw new InvalidRegistryInputError(RegistryErrorCode.invalidOption, 'registry', `must be "embedded" or ${ETCD_URL_FORM}`, spec);
}
