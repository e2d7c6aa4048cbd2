import { describe, expect, it } from 'vitest';

import {
  EmbeddedRegistry,
  EtcdRegistry,
  openRegistry,
  parseEtcdUrl,
  registryDefaults,
  RegistryErrorCode,
} from '../../../src/engine/registry/index.js';

describe('etcd registry URLs', () => {
  it('etcd://H:P[,H:P] becomes the http endpoints the client dials', () => {
    expect(parseEtcdUrl('etcd://127.0.0.1:2379')).toEqual(['http://127.0.0.1:2379']);
    expect(parseEtcdUrl('etcd://etcd-1.local:2379,etcd-2.local:22379/')).toEqual(['http://etcd-1.local:2379', 'http://etcd-2.local:22379']);
    expect(parseEtcdUrl('etcd://[::1]:2379')).toEqual(['http://[::1]:2379']);
  });

  it.each([
    ['http://127.0.0.1:2379', 'must start with etcd://'],
    ['etcd://', 'names no host'],
    ['etcd://localhost', 'host "localhost" has no port (e.g. localhost:2379)'],
    ['etcd://localhost:0', 'port "0" in "localhost:0" is not a number from 1 to 65535'],
    ['etcd://localhost:70000', 'port "70000" in "localhost:70000" is not a number from 1 to 65535'],
    ['etcd://localhost:abc', 'port "abc" in "localhost:abc" is not a number from 1 to 65535'],
    ['etcd://bad_host:2379', '"bad_host" in "bad_host:2379" is not a host name or IP address'],
    ['etcd://a:1,,b:2', 'host "" has no port'],
    ['etcd://[zz]:2379', '"[zz]" in "[zz]:2379" is not a host name or IP address'],
  ])('%s is refused: %s', (url, problem) => {
    expect(() => parseEtcdUrl(url)).toThrow(problem);
    expect(() => parseEtcdUrl(url)).toThrow(`(got ${JSON.stringify(url)})`);
    expect(() => new EtcdRegistry(url)).toThrow(expect.objectContaining({ code: RegistryErrorCode.invalidOption, retryable: false }));
  });
});

describe('openRegistry', () => {
  it('embedded is the default; etcd:// opens etcd; anything else is refused naming it', async () => {
    const embedded = openRegistry();
    expect(embedded).toBeInstanceOf(EmbeddedRegistry);
    expect(embedded.prefix).toBe('/databox/');
    const etcd = openRegistry('etcd://127.0.0.1:2379', { prefix: '/other/' });
    expect(etcd.backend).toBe('etcd');
    expect(etcd.prefix).toBe('/other/');
    expect(() => openRegistry('zookeeper://h:1')).toThrow('registry must be "embedded" or etcd://HOST:PORT[,HOST:PORT...] (got "zookeeper://h:1")');
    await Promise.all([embedded.close(), etcd.close()]);
  });
});

describe('registry options', () => {
  it('defaults are documented and applied', () => {
    expect(registryDefaults).toEqual({ prefix: '/databox/', ttlMs: 10_000, callTimeoutMs: 5_000, dialTimeoutMs: 5_000 });
    expect(new EmbeddedRegistry().prefix).toBe('/databox/');
  });

  it.each([
    [{ prefix: 'databox' }, 'options.prefix must start and end with "/"', '(got "databox")'],
    [{ prefix: '/a//b/' }, 'options.prefix must start and end with "/"', '(got "/a//b/")'],
    [{ ttlMs: 0 }, 'options.ttlMs must be a positive integer number of milliseconds', '(got 0)'],
    [{ ttlMs: 1.5 }, 'options.ttlMs must be a positive integer number of milliseconds', '(got 1.5)'],
    [{ ttlMs: 2 ** 31 }, 'options.ttlMs must be a positive integer number of milliseconds, at most 2147483647', '(got 2147483648)'],
    [{ onInvalidEntry: 'log' }, 'options.onInvalidEntry must be a function', '(got "log")'],
    [{ ttl: 10 }, 'options.ttl is not a known option', '(got 10)'],
  ])('embedded %j is refused, naming the option', (options, problem, got) => {
    expect(() => new EmbeddedRegistry(options as never)).toThrow(problem);
    expect(() => new EmbeddedRegistry(options as never)).toThrow(got);
  });

  it.each([
    [{ callTimeoutMs: -1 }, 'options.callTimeoutMs must be a positive integer number of milliseconds (got -1)'],
    [{ dialTimeoutMs: '5s' }, 'options.dialTimeoutMs must be a positive integer number of milliseconds (got "5s")'],
  ])('etcd %j is refused, naming the option', (options, message) => {
    expect(() => new EtcdRegistry('etcd://127.0.0.1:2379', options as never)).toThrow(message);
  });

  it('the embedded registry takes no etcd-only options', () => {
    expect(() => new EmbeddedRegistry({ callTimeoutMs: 5 } as never)).toThrow('options.callTimeoutMs is not a known option');
  });

  it('register options are checked too', async () => {
    const registry = new EmbeddedRegistry();
    const value = { url: 'http://127.0.0.1:1', workers: 1, startedAt: '2024-05-01T12:00:00Z' };
    await expect(registry.register('taskman', 'n', value, { keepAlive: 'yes' } as never)).rejects.toThrow(
      'register options.keepAlive must be true or false (got "yes")',
    );
    await registry.close();
  });
});
