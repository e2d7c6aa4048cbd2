import { raceSignal } from './signals.js';

/**
 * One piece of work several callers wait on (a cache block, an object's size), each with its own
 * AbortSignal. A caller that aborts stops waiting at once; the work itself is cancelled only when
 * every caller has gone, so one impatient reader cannot fail the others.
 */
export class SharedTask<T> {
  private readonly controller = new AbortController();
  private waiters = 0;
  private settled = false;
  private readonly promise: Promise<T>;

  /** @param onAbandon called when the last waiter left before the work finished (drop it from maps). */
  constructor(
    run: (signal: AbortSignal) => Promise<T>,
    private readonly onAbandon: () => void = () => undefined,
  ) {
    // Started a microtask later, so the creator can register the task (in maps, in closures) before
    // any of `run`'s own bookkeeping, even a synchronous throw, can look for it.
    this.promise = Promise.resolve().then(() => run(this.controller.signal));
    // Settle bookkeeping; the rejection itself is delivered to the waiters (or nobody, if all left).
    this.promise.then(
      () => (this.settled = true),
      () => (this.settled = true),
    );
  }

  /** True once no waiter remains and the work was cancelled; such a task must not be joined again. */
  get abandoned(): boolean {
    return this.controller.signal.aborted;
  }

  join(signal?: AbortSignal): Promise<T> {
    this.waiters++;
    return raceSignal(this.promise, signal).catch((err: unknown) => {
      if (signal?.aborted && err === signal.reason) this.leave(signal.reason);
      throw err;
    });
  }

  private leave(reason: unknown): void {
    this.waiters--;
    if (this.waiters === 0 && !this.settled) {
      this.controller.abort(reason);
      this.onAbandon();
    }
  }
}

/**
 * A value fetched at most once at a time and remembered once known (an object's size). Callers
 * arriving while it is being fetched share that fetch; a failed fetch is forgotten, so the next call
 * asks again. `set` lets a backend record the value when another response reveals it for free.
 */
export class SharedValue<T> {
  private value: T | undefined;
  private task: SharedTask<T> | undefined;

  constructor(private readonly fetch: (signal: AbortSignal) => Promise<T>) {}

  /** The value, if known. */
  get known(): T | undefined {
    return this.value;
  }

  set(value: T): void {
    this.value = value;
  }

  get(signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.value !== undefined) return Promise.resolve(this.value);
    if (this.task === undefined || this.task.abandoned) {
      const forget = (): void => {
        if (this.task === task) this.task = undefined;
      };
      const task: SharedTask<T> = new SharedTask(
        (s) =>
          this.fetch(s).then(
            (v) => {
              this.value = v;
              forget();
              return v;
            },
            (err: unknown) => {
              forget();
              throw err;
            },
          ),
        forget,
      );
      this.task = task;
    }
    return this.task.join(signal);
  }
}
