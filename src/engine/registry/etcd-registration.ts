import type { Lease, Namespace } from 'etcd3';

import { RegistryErrorCode } from './errors.js';
import { fromEtcdError } from './etcd-errors.js';
import { BaseRegistration } from './registration.js';
import { encodeValue, type RegistryKind, type RegistryValues } from './values.js';

/** What an etcd registration needs from its registry. */
export interface EtcdLeaseContext {
  readonly ns: Namespace;
  readonly hosts: readonly string[];
  readonly callTimeoutMs: number;
  /** Called once the registration no longer needs revoking at `close()`. */
  forget(registration: EtcdRegistration<RegistryKind>): void;
}

/**
 * One etcd lease and the key(s) it holds. etcd3's `Lease` keeps it alive and fires `lost` when etcd
 * says the lease is gone, or when it could not reach etcd for two TTLs. We say `lost` sooner: once a
 * full TTL has passed since the last acknowledged keep-alive, etcd has expired the lease whatever
 * happens next, so waiting longer only delays the owner's re-registration.
 */
export class EtcdRegistration<K extends RegistryKind> extends BaseRegistration<K> {
  private deadman: NodeJS.Timeout | undefined;
  private revokeFailed = false;

  constructor(
    private readonly context: EtcdLeaseContext,
    kind: K,
    id: string,
    ttlMs: number,
    value: RegistryValues[K],
    private readonly lease: Lease,
    private readonly leaseId: string,
    private readonly key: string,
    private readonly keepAlive: boolean,
  ) {
    super(kind, id, ttlMs, value);
    lease.on('lost', (err) => this.lose('etcd reports the lease expired or unreachable', err));
    if (keepAlive) {
      lease.on('keepaliveSucceeded', () => this.armDeadman());
      this.armDeadman();
    }
  }

  /** Marks the registration lost when the lease died before this handle existed. */
  lostBeforeStart(cause: unknown): void {
    this.lose('the lease was lost while registering', cause);
  }

  async update(value: RegistryValues[K]): Promise<void> {
    this.assertAlive('update');
    const json = encodeValue(this.kind, value);
    const { ns } = this.context;
    let succeeded: boolean;
    try {
      // Only while the key is still ours: a put with a dead lease must not resurrect the entry.
      const res = await ns.if(this.key, 'Lease', '==', this.leaseId).then(ns.put(this.key).value(json).lease(this.leaseId)).commit();
      succeeded = res.succeeded;
    } catch (err) {
      throw this.mapError(err, `updating ${this.kind} ${this.id}`);
    }
    if (!succeeded) {
      this.lose('its key is gone from etcd');
      throw this.lostError('cannot update, its key is gone from etcd');
    }
    this.currentValue = JSON.parse(json) as RegistryValues[K];
  }

  async refresh(): Promise<void> {
    this.assertAlive('refresh');
    try {
      await this.lease.keepaliveOnce({ deadline: Date.now() + this.context.callTimeoutMs });
    } catch (err) {
      throw this.mapError(err, `refreshing ${this.kind} ${this.id}`);
    }
  }

  release(): void {
    if (!this.leave('released')) return;
    this.disarmDeadman();
    this.lease.release();
    this.context.forget(this as unknown as EtcdRegistration<RegistryKind>);
  }

  /**
   * Revokes the lease, which deletes its keys at once. If etcd cannot be reached the error is
   * retryable and calling again retries; keep-alives have stopped either way, so the entry goes
   * within one TTL regardless.
   */
  async revoke(): Promise<void> {
    if (!this.leave('revoked') && !this.revokeFailed) return;
    this.disarmDeadman();
    this.revokeFailed = true;
    try {
      await this.lease.revoke();
    } catch (err) {
      throw fromEtcdError(err, `revoking ${this.kind} ${this.id}`, this.context.hosts);
    }
    this.revokeFailed = false;
    this.context.forget(this as unknown as EtcdRegistration<RegistryKind>);
  }

  private mapError(err: unknown, action: string): Error {
    const mapped = fromEtcdError(err, action, this.context.hosts);
    if (mapped.code === RegistryErrorCode.leaseLost) this.lose('etcd reports the lease expired', err);
    return mapped;
  }

  private lose(reason: string, cause?: unknown): void {
    if (this.state !== 'alive') return;
    this.disarmDeadman();
    this.markLost(reason, cause);
    this.context.forget(this as unknown as EtcdRegistration<RegistryKind>);
    // Stop the client's keep-alive loop; if etcd is somehow reachable, drop the stale keys too.
    this.lease.revoke().catch(() => undefined);
  }

  private armDeadman(): void {
    this.disarmDeadman();
    this.deadman = setTimeout(() => this.lose(`no keep-alive acknowledged by etcd for its TTL of ${this.ttlMs} ms`), this.ttlMs);
    this.deadman.unref();
  }

  private disarmDeadman(): void {
    if (this.deadman) clearTimeout(this.deadman);
    this.deadman = undefined;
  }
}
