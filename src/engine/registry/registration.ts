import { EventEmitter } from 'node:events';

import { RegistryError, RegistryErrorCode } from './errors.js';
import type { Registration, RegistrationEvents, RegistrationState } from './types.js';
import type { RegistryKind, RegistryValues } from './values.js';

/** The state machine both back-ends' handles share: alive, then released, revoked or lost, once. */
export abstract class BaseRegistration<K extends RegistryKind> extends EventEmitter<RegistrationEvents> implements Registration<K> {
  private current: RegistrationState = 'alive';
  protected currentValue: RegistryValues[K];

  constructor(
    readonly kind: K,
    readonly id: string,
    readonly ttlMs: number,
    value: RegistryValues[K],
  ) {
    super();
    this.currentValue = value;
  }

  get state(): RegistrationState {
    return this.current;
  }

  get value(): RegistryValues[K] {
    return this.currentValue;
  }

  abstract update(value: RegistryValues[K]): Promise<void>;
  abstract refresh(): Promise<void>;
  abstract release(): void;
  abstract revoke(): Promise<void>;

  close(): Promise<void> {
    return this.revoke();
  }

  /** Moves out of `alive` (or from `released` to `revoked`); false when that move is no longer open. */
  protected leave(state: Exclude<RegistrationState, 'alive'>): boolean {
    const open = this.current === 'alive' || (this.current === 'released' && state === 'revoked');
    if (!open) return false;
    this.current = state;
    return true;
  }

  /** Marks the lease lost and tells the owner, once. */
  protected markLost(reason: string, cause?: unknown): void {
    if (this.leave('lost')) this.emit('lost', this.lostError(reason, cause));
  }

  protected lostError(reason: string, cause?: unknown): RegistryError {
    return new RegistryError(RegistryErrorCode.leaseLost, `Registration of ${this.kind} ${this.id} was lost: ${reason}; register again`, {
      cause,
    });
  }

  /** Throws unless alive: `lost` says re-register, the others say the owner let go. */
  protected assertAlive(action: string): void {
    if (this.current === 'alive') return;
    if (this.current === 'lost') throw this.lostError(`cannot ${action}, its lease expired`);
    throw new RegistryError(RegistryErrorCode.closed, `Cannot ${action} ${this.kind} ${this.id}: the registration was ${this.current}`);
  }
}
