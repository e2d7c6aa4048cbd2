import type { RegistryKind } from './values.js';
import type { RegistryEvent, RegistryWatch } from './types.js';

/**
 * The push side of a watch: back-ends `push` events as they happen, the consumer pulls them with
 * `for await`. Events are buffered, so a slow consumer loses none and sees them in order.
 */
export class WatchQueue<K extends RegistryKind> implements RegistryWatch<K> {
  private readonly buffered: RegistryEvent<K>[] = [];
  private stopped: Promise<void> = Promise.resolve();
  private waiting: { resolve: (r: IteratorResult<RegistryEvent<K>>) => void; reject: (err: unknown) => void } | undefined;
  private failure: unknown;
  private done = false;
  private readonly onAbort = (): void => this.end();

  /** @param stop releases the back-end's resources; called once, when the watch ends for any reason. */
  constructor(
    private readonly stop: () => Promise<void>,
    private readonly signal: AbortSignal | undefined,
  ) {
    if (signal?.aborted) this.end();
    else signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** True once the watch has ended (closed, aborted or failed). */
  get ended(): boolean {
    return this.done;
  }

  push(event: RegistryEvent<K>): void {
    if (this.done) return;
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve({ value: event, done: false });
    } else {
      this.buffered.push(event);
    }
  }

  /** Ends the watch with an error: buffered events are still delivered, then `next()` rejects. */
  fail(err: unknown): void {
    if (this.done) return;
    this.failure = err;
    this.finish();
    if (this.waiting) {
      const { reject } = this.waiting;
      this.waiting = undefined;
      this.failure = undefined;
      reject(err);
    }
  }

  /** Ends the watch quietly: buffered events are still delivered, then iteration is done. */
  end(): void {
    if (this.done) return;
    this.finish();
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<RegistryEvent<K>>> {
    const event = this.buffered.shift();
    if (event) return Promise.resolve({ value: event, done: false });
    if (this.failure !== undefined) {
      const err = this.failure;
      this.failure = undefined;
      return Promise.reject(err);
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    if (this.waiting) return Promise.reject(new Error('RegistryWatch.next() called while another next() is pending'));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  async return(): Promise<IteratorResult<RegistryEvent<K>>> {
    await this.close();
    return { value: undefined, done: true };
  }

  async close(): Promise<void> {
    this.buffered.length = 0;
    this.end();
    await this.stopped;
  }

  /** Ends the watch from the producer's side (the registry closing): buffered events are still delivered. */
  async shutdown(): Promise<void> {
    this.end();
    await this.stopped;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private finish(): void {
    this.done = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.stopped = this.stop().catch(() => undefined);
  }
}
