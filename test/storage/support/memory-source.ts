import { EventEmitter, once } from 'node:events';

import type { SourceStats, StorageSource } from '../../../src/storage/index.js';

/**
 * An in-memory StorageSource for testing wrappers (the block cache, coalescing) on their own. Reads
 * can be held at a gate until the test opens it, and each read emits `read` when it starts, so
 * concurrency tests wait on events rather than on time.
 */
export class MemorySource extends EventEmitter implements StorageSource {
  readonly url: string;
  readonly stats: SourceStats = { requests: 0, bytes: 0 };
  /** Every read that reached this source, in order. */
  readonly reads: { offset: number; length: number }[] = [];
  /** Reads cancelled by their signal while held at the gate. */
  aborted = 0;
  /** Reads running now, and the most that ever ran at once. */
  inFlight = 0;
  maxInFlight = 0;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  private failures: Error[] = [];

  constructor(
    private readonly data: Uint8Array,
    url = 'memory://test',
  ) {
    super();
    this.url = url;
  }

  /** Holds every read until `release()`. */
  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  /** The next read fails with `err`, at once (it does not wait at the gate). */
  failNext(err: Error): void {
    this.failures.push(err);
  }

  /** Resolves when the next read has started. */
  nextRead(): Promise<unknown> {
    return once(this, 'read');
  }

  async size(): Promise<number> {
    return this.data.length;
  }

  async read(offset: number, length: number, options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await this.readNow(offset, length, options);
    } finally {
      this.inFlight--;
    }
  }

  private async readNow(offset: number, length: number, options: { signal?: AbortSignal }): Promise<Uint8Array> {
    this.stats.requests++;
    this.reads.push({ offset, length });
    this.emit('read', { offset, length });
    const failure = this.failures.shift();
    if (failure !== undefined) throw failure;
    if (this.gate !== undefined) {
      const signal = options.signal;
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          this.aborted++;
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        void this.gate?.then(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
    const out = this.data.slice(offset, offset + length);
    this.stats.bytes += out.length;
    return out;
  }

  async close(): Promise<void> {}
}
