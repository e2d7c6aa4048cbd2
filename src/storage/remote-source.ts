import type { ResolvedRemoteOptions } from './options.js';
import { assertValidRange } from './range.js';
import { timedAttempt, withRetry } from './retry.js';
import { SharedValue } from './shared-task.js';
import { emptyStats, type SourceStats, type StorageSource } from './stats.js';
import type { ReadOptions } from './types.js';

/**
 * What HTTP and S3 sources share: the size learned once (from whichever response reveals it first),
 * reads clipped at the end of the object, and every request run as a timed attempt inside the retry loop.
 * A backend supplies only its requests and how its failures map to our errors.
 */
export abstract class RemoteSource implements StorageSource {
  readonly stats: SourceStats = emptyStats();
  protected readonly objectSize = new SharedValue((signal) => this.fetchSize(signal));

  constructor(
    readonly url: string,
    protected readonly options: ResolvedRemoteOptions,
  ) {}

  size(options: ReadOptions = {}): Promise<number> {
    return this.objectSize.get(options.signal);
  }

  async read(offset: number, length: number, options: ReadOptions = {}): Promise<Uint8Array> {
    assertValidRange(this.url, offset, length);
    options.signal?.throwIfAborted();
    let wanted = length;
    const known = this.objectSize.known;
    if (known !== undefined) wanted = Math.max(0, Math.min(length, known - offset));
    if (wanted === 0) return new Uint8Array(0);
    return withRetry(this.url, this.options.retry, options.signal, () =>
      this.attempt(options.signal, (signal) => this.rangeGet(offset, wanted, signal)),
    );
  }

  async close(): Promise<void> {
    // Connections and clients are shared; `closeSharedConnections()` closes them.
  }

  /** Asks the backend for the object's size (with retries). */
  protected abstract fetchSize(signal: AbortSignal): Promise<number>;
  /** One ranged request for `length` bytes at `offset`, inside the object. */
  protected abstract rangeGet(offset: number, length: number, signal: AbortSignal): Promise<Uint8Array>;
  /** Turns a backend failure into a typed StorageError. */
  protected abstract mapError(url: string, err: unknown): unknown;

  protected attempt<T>(signal: AbortSignal | undefined, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return timedAttempt(this.url, this.options.timeoutMs, signal, run, (url, err) => this.mapError(url, err));
  }
}
