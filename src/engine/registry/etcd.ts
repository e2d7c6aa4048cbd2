/**
 * The etcd registry, as in the paper: entries live in etcd under the prefix, each put with a lease.
 * Raft replication keeps the view alive when one etcd node fails, and a member that dies stops
 * refreshing its lease, so etcd deletes its entry one TTL later.
 *
 * Keys (under the prefix): `jobman/<id>`, `taskman/<node>`, `client/<id>`; plus `jobman.holder`, a
 * claim key put with the Jobman's lease in the same transaction, which makes "at most one live
 * Jobman" atomic across processes.
 *
 * TTLs: etcd leases count whole seconds, so `ttlMs` is rounded up (1 ms..1000 ms → 1 s, 1001 ms → 2
 * s) and a registration's `ttlMs` reports the rounded value. etcd may raise a TTL to its own minimum
 * (1.5 × its election timeout, rounded up: 2 s with the default 1000 ms election timeout).
 */
import { Etcd3, type Lease, type Namespace } from 'etcd3';

import { InvalidRegistryEntryError, RegistryConflictError, RegistryError, RegistryErrorCode } from './errors.js';
import { fromEtcdError, withTimeout } from './etcd-errors.js';
import { EtcdRegistration, type EtcdLeaseContext } from './etcd-registration.js';
import { parseEtcdUrl } from './etcd-url.js';
import {
  resolveEtcdRegistryOptions,
  prepareRegistration,
  type EtcdRegistryOptions,
  type RegisterOptions,
  type ResolvedEtcdRegistryOptions,
} from './options.js';
import type { Registration, Registry, RegistryEntry, RegistryWatch, WatchOptions } from './types.js';
import {
  checkId,
  checkKind,
  decodeValue,
  isValidId,
  SINGLETON_KINDS,
  type RegistryKind,
  type RegistryValues,
} from './values.js';
import { WatchQueue } from './watch-queue.js';

/** A registry kept in etcd (`etcd3` client), each entry held by a lease with a TTL. */
export class EtcdRegistry implements Registry {
  readonly backend = 'etcd';
  readonly prefix: string;
  /** The endpoints dialled, `http://H:P` each. */
  readonly hosts: readonly string[];
  private readonly ns: Namespace;
  private readonly callTimeoutMs: number;
  private readonly context: EtcdLeaseContext;
  private readonly options: ResolvedEtcdRegistryOptions;
  private readonly client: Etcd3;
  private readonly held = new Set<EtcdRegistration<RegistryKind>>();
  private readonly watches = new Set<WatchQueue<RegistryKind>>();
  private closed = false;

  /** @param url `etcd://HOST:PORT[,HOST:PORT...]`. Nothing is dialled until the first call. */
  constructor(url: string, options: EtcdRegistryOptions = {}) {
    this.hosts = parseEtcdUrl(url);
    this.options = resolveEtcdRegistryOptions(options);
    this.prefix = this.options.prefix;
    this.callTimeoutMs = this.options.callTimeoutMs;
    const callTimeoutMs = this.callTimeoutMs;
    this.client = new Etcd3({
      hosts: [...this.hosts],
      dialTimeout: this.options.dialTimeoutMs,
      // Streams (watch, keep-alive) live long; every other call gets a deadline.
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    });
    this.ns = this.client.namespace(this.prefix);
    this.context = {
      ns: this.ns,
      hosts: this.hosts,
      callTimeoutMs,
      forget: (registration) => this.held.delete(registration),
    };
  }

  async register<K extends RegistryKind>(
    kind: K,
    id: string,
    value: RegistryValues[K],
    options: RegisterOptions = {},
  ): Promise<Registration<K>> {
    this.assertOpen('register');
    const { json, resolved } = prepareRegistration(kind, id, value, options, this.options.ttlMs);
    const ttlSeconds = Math.ceil(resolved.ttlMs / 1000);
    const action = `registering ${kind} ${id}`;

    const lease = this.ns.lease(ttlSeconds, { autoKeepAlive: resolved.keepAlive });
    let lostEarly: unknown;
    lease.once('lost', (err) => (lostEarly = err));
    let leaseId: string;
    try {
      leaseId = await lease.grant();
    } catch (err) {
      throw fromEtcdError(err, action, this.hosts);
    }

    const key = keyOf(kind, id);
    const claim = SINGLETON_KINDS.has(kind) ? `${kind}.holder` : key;
    const puts = claim === key ? [] : [this.ns.put(claim).value(id).lease(leaseId)];
    puts.push(this.ns.put(key).value(json).lease(leaseId));
    let succeeded: boolean;
    let holderValue: string | undefined;
    try {
      const res = await this.ns
        .if(claim, 'Create', '==', 0)
        .then(...puts)
        .else(this.ns.get(claim))
        .commit();
      succeeded = res.succeeded;
      holderValue = res.responses[0]?.response_range?.kvs[0]?.value.toString();
    } catch (err) {
      await revokeQuietly(lease);
      throw fromEtcdError(err, action, this.hosts);
    }
    if (!succeeded) {
      await revokeQuietly(lease);
      throw await this.conflict(kind, id, claim === key ? id : holderValue, claim === key ? holderValue : undefined);
    }

    if (this.closed) {
      await revokeQuietly(lease);
      throw new RegistryError(RegistryErrorCode.closed, `Cannot finish ${action}: the etcd registry was closed meanwhile`);
    }
    const registration = new EtcdRegistration<K>(
      this.context,
      kind,
      id,
      ttlSeconds * 1000,
      JSON.parse(json) as RegistryValues[K],
      lease,
      leaseId,
      key,
      resolved.keepAlive,
    );
    this.held.add(registration as unknown as EtcdRegistration<RegistryKind>);
    if (lostEarly !== undefined) registration.lostBeforeStart(lostEarly);
    return registration;
  }

  async get<K extends RegistryKind>(kind: K, id: string): Promise<RegistryEntry<K> | undefined> {
    this.assertOpen('get');
    checkKind(kind);
    checkId(id);
    const key = keyOf(kind, id);
    let json: string | null;
    try {
      json = await this.ns.get(key).string();
    } catch (err) {
      throw fromEtcdError(err, `reading ${kind} ${id}`, this.hosts);
    }
    if (json === null) return undefined;
    const decoded = decodeValue(kind, json);
    if (!decoded.ok) throw new InvalidRegistryEntryError(this.prefix + key, decoded.reason);
    return { kind, id, value: decoded.value };
  }

  async list<K extends RegistryKind>(kind: K): Promise<RegistryEntry<K>[]> {
    this.assertOpen('list');
    checkKind(kind);
    let kvs: { key: Buffer; value: Buffer }[];
    try {
      kvs = (await this.ns.getAll().prefix(`${kind}/`).exec()).kvs;
    } catch (err) {
      throw fromEtcdError(err, `listing ${kind} entries`, this.hosts);
    }
    const found: RegistryEntry<K>[] = [];
    for (const kv of kvs) {
      const entry = this.decode(kind, kv.key.toString(), kv.value.toString());
      if (entry) found.push(entry);
    }
    return found; // etcd returns keys in byte order, which is id order
  }

  async watch<K extends RegistryKind>(kind: K, options: WatchOptions = {}): Promise<RegistryWatch<K>> {
    this.assertOpen('watch');
    checkKind(kind);
    const action = `watching ${kind} entries`;
    const watcher = this.ns.watch().prefix(`${kind}/`).watcher();
    const queue: WatchQueue<K> = new WatchQueue<K>(async () => {
      this.watches.delete(queue as unknown as WatchQueue<RegistryKind>);
      await withTimeout(watcher.cancel(), this.callTimeoutMs, () => new Error('watch cancel timed out')).catch(() => undefined);
    }, options.signal);
    // Listeners go on before the stream connects, so no event can slip between the two.
    watcher.on('put', (kv) => {
      const entry = this.decode(kind, kv.key.toString(), kv.value.toString());
      if (entry) queue.push({ type: 'put', kind, id: entry.id, value: entry.value });
    });
    watcher.on('delete', (kv) => {
      const id = kv.key.toString().slice(kind.length + 1);
      if (isValidId(id)) queue.push({ type: 'delete', kind, id });
    });
    // A dropped stream reconnects by itself and resumes after the last revision seen, so no change
    // is missed; only errors the client gives up on end the watch.
    watcher.on('error', (err) => queue.fail(fromEtcdError(err, action, this.hosts)));
    const connected = new Promise<void>((resolve, reject) => {
      watcher.once('connected', () => resolve());
      watcher.once('error', reject);
    });
    try {
      await withTimeout(connected, this.callTimeoutMs, () =>
        new RegistryError(RegistryErrorCode.unavailable, `etcd at ${this.hosts.join(',')} did not start a watch within ${this.callTimeoutMs} ms`, {
          retryable: true,
        }),
      );
    } catch (err) {
      await queue.close();
      throw fromEtcdError(err, action, this.hosts);
    }
    if (this.closed) {
      await queue.shutdown();
      throw new RegistryError(RegistryErrorCode.closed, `Cannot finish ${action}: the etcd registry was closed meanwhile`);
    }
    if (!queue.ended) this.watches.add(queue as unknown as WatchQueue<RegistryKind>);
    return queue;
  }

  /**
   * Revokes every lease this registry holds (each bounded by `callTimeoutMs`; if etcd is gone the
   * entries expire by TTL instead), ends its watches and closes the client.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.held].map((registration) => registration.revoke()));
    await Promise.allSettled([...this.watches].map((watch) => watch.shutdown()));
    this.client.close();
  }

  /** Parses one stored key and value; reports and skips what does not parse. */
  private decode<K extends RegistryKind>(kind: K, key: string, json: string): RegistryEntry<K> | undefined {
    const id = key.slice(kind.length + 1);
    if (!isValidId(id)) {
      this.options.onInvalidEntry(new InvalidRegistryEntryError(this.prefix + key, `"${id}" is not a valid ${kind} id`));
      return undefined;
    }
    const decoded = decodeValue(kind, json);
    if (!decoded.ok) {
      this.options.onInvalidEntry(new InvalidRegistryEntryError(this.prefix + key, decoded.reason));
      return undefined;
    }
    return { kind, id, value: decoded.value };
  }

  private async conflict(kind: RegistryKind, id: string, holderId: string | undefined, holderJson: string | undefined): Promise<RegistryError> {
    let json = holderJson;
    if (json === undefined && holderId !== undefined && isValidId(holderId)) {
      json = (await this.ns.get(keyOf(kind, holderId)).string().catch(() => null)) ?? undefined;
    }
    let url: string | undefined;
    if (json !== undefined) {
      const decoded = decodeValue(kind, json);
      if (decoded.ok) url = 'url' in decoded.value ? decoded.value.url : decoded.value.address;
    }
    return new RegistryConflictError(kind, id, holderId, url);
  }

  private assertOpen(action: string): void {
    if (this.closed) throw new RegistryError(RegistryErrorCode.closed, `Cannot ${action}: the etcd registry ${this.hosts.join(',')}${this.prefix} is closed`);
  }
}

function keyOf(kind: RegistryKind, id: string): string {
  return `${kind}/${id}`;
}

async function revokeQuietly(lease: Lease): Promise<void> {
  await lease.revoke().catch(() => undefined);
}
