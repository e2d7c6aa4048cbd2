import { setMaxListeners } from 'node:events';

/** Small AbortSignal plumbing shared by the backends; written out because `AbortSignal.any` keeps listeners alive. */

/** A controller that follows `parent` until disposed; dispose always, or the parent keeps a listener. */
export interface LinkedController {
  readonly controller: AbortController;
  readonly signal: AbortSignal;
  dispose(): void;
}

export function linkController(parent: AbortSignal | undefined): LinkedController {
  const controller = new AbortController();
  // Many concurrent reads (and their shared block fetches) listen on one linked signal, each removing its
  // listener when done; Node's default warning at 11 listeners would be a false alarm here.
  setMaxListeners(0, controller.signal);
  if (parent === undefined) return { controller, signal: controller.signal, dispose: () => undefined };
  const onAbort = (): void => controller.abort(parent.reason);
  if (parent.aborted) onAbort();
  else parent.addEventListener('abort', onAbort, { once: true });
  return { controller, signal: controller.signal, dispose: () => parent.removeEventListener('abort', onAbort) };
}

/** One request attempt: aborted by the caller's signal or by its own time limit, whichever comes first. */
export interface Attempt {
  readonly signal: AbortSignal;
  /** True when the time limit, not the caller, ended the attempt. */
  timedOut(): boolean;
  dispose(): void;
}

export function startAttempt(timeoutMs: number, parent: AbortSignal | undefined): Attempt {
  const link = linkController(parent);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    link.controller.abort(new Error(`attempt timed out after ${timeoutMs} ms`));
  }, timeoutMs);
  // A pending attempt timer must not keep a finished CLI process alive.
  timer.unref();
  return {
    signal: link.signal,
    timedOut: () => timedOut && parent?.aborted !== true,
    dispose: () => {
      clearTimeout(timer);
      link.dispose();
    },
  };
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Rejects with the signal's reason when it aborts before `promise` settles; the work itself is not stopped. */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
