/** What a task sees of the subtask it runs. */
export interface TaskContext {
  /** Input index, 0..N-1. */
  index: number;
  /** 1 for the first attempt. */
  attempt: number;
  /** The job's args (`--arg` of `databox run`), when given. */
  args: unknown;
  /** The subtask's input: the listed one, or the index for a counted job. */
  input: unknown;
  /** Aborted when the subtask is cancelled or the worker is stopping. */
  signal: AbortSignal;
}

export type Task = (ctx: TaskContext) => unknown;

/**
 * The built-in diagnostic tasks, which exercise the scheduler without user code:
 * `noop` returns its input index; `sleep` waits `arg` ms; `fail` throws on the first `arg` attempts,
 * then succeeds; `crash` ends its worker process on the first attempt, then succeeds.
 */
export const BUILTINS = {
  noop: ({ index }) => index,
  sleep: ({ index, args, signal }) =>
    new Promise((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(index);
      }, numberArg(args, 0));
      signal.addEventListener('abort', onAbort, { once: true });
    }),
  fail: ({ index, attempt, args }) => {
    if (attempt <= numberArg(args, 1)) throw new Error(`builtin:fail failing attempt ${attempt} of input ${index} on purpose`);
    return index;
  },
  crash: ({ index, attempt }) => {
    if (attempt === 1) process.exit(70);
    return index;
  },
} satisfies Record<string, Task>;

export type DiagnosticName = keyof typeof BUILTINS;

function numberArg(args: unknown, fallback: number): number {
  return typeof args === 'number' ? args : fallback;
}
