import { isIPv6 } from 'node:net';

import { InvalidRegistryInputError, RegistryErrorCode } from './errors.js';

/** The shape we accept, for error messages. */
export const ETCD_URL_FORM = 'etcd://HOST:PORT[,HOST:PORT...]';

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Parses `etcd://H:P[,H:P...]` (the `--registry` flag) into the `http://H:P` endpoints the etcd
 * client dials. The port is required; IPv6 hosts go in brackets (`etcd://[::1]:2379`). Plain-text
 * gRPC only for now: TLS would be an `etcds://` scheme.
 */
export function parseEtcdUrl(url: unknown): string[] {
  const bad = (problem: string): InvalidRegistryInputError =>
    new InvalidRegistryInputError(RegistryErrorCode.invalidOption, 'etcd registry URL', problem, url);
  if (typeof url !== 'string') throw bad(`must be a string of the form ${ETCD_URL_FORM}`);
  const match = /^etcd:\/\/(.*?)\/?$/.exec(url.trim());
  if (!match) throw bad(`must start with etcd:// (the form is ${ETCD_URL_FORM})`);
  const list = match[1] ?? '';
  if (list === '') throw bad(`names no host (the form is ${ETCD_URL_FORM})`);
  return list.split(',').map((part) => {
    const hostPort = /^(\[[^\]]*\]|[^:]*):(.*)$/.exec(part);
    if (!hostPort) throw bad(`host "${part}" has no port (e.g. ${part || 'localhost'}:2379)`);
    const host = hostPort[1] ?? '';
    const port = hostPort[2] ?? '';
    const ipv6 = host.startsWith('[');
    if (ipv6 ? !isIPv6(host.slice(1, -1)) : !HOSTNAME.test(host)) {
      throw bad(`"${host}" in "${part}" is not a host name or IP address`);
    }
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      throw bad(`port "${port}" in "${part}" is not a number from 1 to 65535`);
    }
    return `http://${host}:${Number(port)}`;
  });
}
