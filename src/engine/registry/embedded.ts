/**
 * The embedded registry: the default, living in the Jobman's process, for single-machine clusters
 * with no etcd. Same semantics as etcd's: every entry is held by a lease with a TTL, a lease not
 * kept alive expires and its entry disappears, watchers see puts and deletes in order.
 *
 * Remote members (Taskmen on other nodes, clients) cannot reach this object directly. The Jobman
 * will expose it through its HTTP API: a Taskman's first heartbeat registers it here with
 * `keepAlive: false`, each later heartbeat calls `refresh()` on that registration, and a Taskman
 * that stops beating expires after the TTL exactly as its etcd lease would; `GET /v1/nodes` reads
 * `list('taskman')`. Nothing here knows about HTTP.
 */
import { RegistryConflictError, RegistryError, RegistryErrorCode } from './errors.js';
import { prepareRegistration, resolveRegistryOptions, type RegisterOptions, type RegistryOptions, type ResolvedRegistryOptions } from './options.js';
import { BaseRegistration } from './registration.js';
import type { Registration, Registry, RegistryEntry, RegistryWatch, WatchOptions } from './types.js';
import { checkId, checkKind, decodeValue, encodeValue, SINGLETON_KINDS, type RegistryKind, type RegistryValues } from './values.js';
import { WatchQueue } from './watch-queue.js';

interface StoredEntry {
  kind: RegistryKind;
  id: string;
  /** Stored as JSON, as etcd does, so a caller mutating its object later changes nothing here. */
  json: string;
  holder: EmbeddedRegistration<RegistryKind>;
}

/** An in-process registry with TTL leases driven by (unref'd) timers. */
export class EmbeddedRegistry implements Registry {
  readonly backend = 'embedded';
  readonly prefix: string;
  private readonly options: ResolvedRegistryOptions;
  private readonly entries = new Map<string, StoredEntry>();
  private readonly watches = new Set<{ kind: RegistryKind; queue: WatchQueue<RegistryKind> }>();
  private closed = false;

  constructor(options: RegistryOptions = {}) {
    this.options = resolveRegistryOptions(options);
    this.prefix = this.options.prefix;
  }

  async register<K extends RegistryKind>(
    kind: K,
    id: string,
    value: RegistryValues[K],
    options: RegisterOptions = {},
  ): Promise<Registration<K>> {
    this.assertOpen('register');
    const { json, resolved } = prepareRegistration(kind, id, value, options, this.options.ttlMs);
    const holder = this.holderOf(kind, id);
    if (holder) throw new RegistryConflictError(kind, id, holder.id, urlOf(holder.json));
    const registration = new EmbeddedRegistration<K>(this, kind, id, resolved.ttlMs, resolved.keepAlive, JSON.parse(json) as RegistryValues[K]);
    this.write(registration, json);
    return registration;
  }

  async get<K extends RegistryKind>(kind: K, id: string): Promise<RegistryEntry<K> | undefined> {
    this.assertOpen('get');
    checkKind(kind);
    checkId(id);
    const stored = this.entries.get(keyOf(kind, id));
    if (!stored) return undefined;
    const decoded = decodeValue(kind, stored.json);
    // Only `register` and `update` write here, and both validate: a failure is a bug, not bad input.
    if (!decoded.ok) throw new RegistryError(RegistryErrorCode.invalidEntry, `${this.prefix}${keyOf(kind, id)}: ${decoded.reason}`);
    return { kind, id, value: decoded.value };
  }

  async list<K extends RegistryKind>(kind: K): Promise<RegistryEntry<K>[]> {
    this.assertOpen('list');
    checkKind(kind);
    const found: RegistryEntry<K>[] = [];
    for (const stored of this.entries.values()) {
      if (stored.kind !== kind) continue;
      const decoded = decodeValue(kind, stored.json);
      if (decoded.ok) found.push({ kind, id: stored.id, value: decoded.value });
    }
    return found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async watch<K extends RegistryKind>(kind: K, options: WatchOptions = {}): Promise<RegistryWatch<K>> {
    this.assertOpen('watch');
    checkKind(kind);
    const watch = { kind, queue: undefined as unknown as WatchQueue<RegistryKind> };
    watch.queue = new WatchQueue<RegistryKind>(async () => {
      this.watches.delete(watch);
    }, options.signal);
    if (!watch.queue.ended) this.watches.add(watch);
    return watch.queue as unknown as RegistryWatch<K>;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const stored of [...this.entries.values()]) await stored.holder.revoke();
    await Promise.all([...this.watches].map((watch) => watch.queue.shutdown()));
  }

  // ---- called by EmbeddedRegistration ----

  /** Puts (or replaces) the holder's entry and tells the watchers. */
  write(holder: EmbeddedRegistration<RegistryKind>, json: string): void {
    const { kind, id } = holder;
    this.entries.set(keyOf(kind, id), { kind, id, json, holder });
    const value = JSON.parse(json) as RegistryValues[RegistryKind];
    for (const watch of this.watches) if (watch.kind === kind) watch.queue.push({ type: 'put', kind, id, value });
  }

  /** Removes the holder's entry, if it still holds it, and tells the watchers. */
  remove(holder: EmbeddedRegistration<RegistryKind>): void {
    const key = keyOf(holder.kind, holder.id);
    if (this.entries.get(key)?.holder !== holder) return;
    this.entries.delete(key);
    for (const watch of this.watches) if (watch.kind === holder.kind) watch.queue.push({ type: 'delete', kind: holder.kind, id: holder.id });
  }

  private holderOf(kind: RegistryKind, id: string): StoredEntry | undefined {
    if (!SINGLETON_KINDS.has(kind)) return this.entries.get(keyOf(kind, id));
    for (const stored of this.entries.values()) if (stored.kind === kind) return stored;
    return undefined;
  }

  private assertOpen(action: string): void {
    if (this.closed) throw new RegistryError(RegistryErrorCode.closed, `Cannot ${action}: the embedded registry ${this.prefix} is closed`);
  }
}

class EmbeddedRegistration<K extends RegistryKind> extends BaseRegistration<K> {
  private expiry: NodeJS.Timeout | undefined;

  constructor(
    private readonly registry: EmbeddedRegistry,
    kind: K,
    id: string,
    ttlMs: number,
    private readonly keepAlive: boolean,
    value: RegistryValues[K],
  ) {
    super(kind, id, ttlMs, value);
    // Kept alive in-process means alive for as long as this process is; only unkept leases tick.
    if (!keepAlive) this.arm();
  }

  async update(value: RegistryValues[K]): Promise<void> {
    this.assertAlive('update');
    const json = encodeValue(this.kind, value);
    this.currentValue = JSON.parse(json) as RegistryValues[K];
    this.registry.write(this as unknown as EmbeddedRegistration<RegistryKind>, json);
  }

  async refresh(): Promise<void> {
    this.assertAlive('refresh');
    if (!this.keepAlive) this.arm();
  }

  release(): void {
    if (!this.leave('released')) return;
    this.arm();
  }

  async revoke(): Promise<void> {
    if (!this.leave('revoked')) return;
    this.disarm();
    this.registry.remove(this as unknown as EmbeddedRegistration<RegistryKind>);
  }

  private arm(): void {
    this.disarm();
    this.expiry = setTimeout(() => this.expire(), this.ttlMs);
    this.expiry.unref();
  }

  private disarm(): void {
    if (this.expiry) clearTimeout(this.expiry);
    this.expiry = undefined;
  }

  private expire(): void {
    this.expiry = undefined;
    this.registry.remove(this as unknown as EmbeddedRegistration<RegistryKind>);
    this.markLost(`not refreshed within its TTL of ${this.ttlMs} ms`);
  }
}

function keyOf(kind: RegistryKind, id: string): string {
  return `${kind}/${id}`;
}

function urlOf(json: string): string | undefined {
  const parsed = JSON.parse(json) as { url?: unknown; address?: unknown };
  const url = parsed.url ?? parsed.address;
  return typeof url === 'string' ? url : undefined;
}
