import { DataboxError } from '../../errors.js';

/** What a task sees of the subtask it runs. */
export interface TaskContext {
  /** Input index, 0..N-1. */
  index: number;
  /** 1 for the first attempt. */
  attempt: number;
  /** The job's `--arg`, when given. */
  arg: number | undefined;
  /** Aborted when the subtask is cancelled or the worker is stopping. */
  signal: AbortSignal;
}

export type Task = (ctx: TaskContext) => unknown;

/**
 * The built-in diagnostic tasks, which exercise the scheduler without user code:
 * `noop` returns its input index; `sleep` waits `arg` ms; `fail` throws on the first `arg` attempts,
 * then succeeds; `crash` ends its worker process on the first attempt, then succeeds.
 */
export const BUILTINS: Readonly<Record<string, Task>> = {
  noop: ({ index }) => index,
  sleep: ({ index, arg, signal }) =>
    new Promise((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(index);
      }, arg ?? 0);
      signal.addEventListener('abort', onAbort, { once: true });
    }),
  fail: ({ index, attempt, arg }) => {
    if (attempt <= (arg ?? 1)) throw new Error(`builtin:fail failing attempt ${attempt} of input ${index} on purpose`);
    return index;
  },
  crash: ({ index, attempt }) => {
    if (attempt === 1) process.exit(70);
    return index;
  },
};

export class UnknownTaskError extends DataboxError {
  constructor(task: string) {
    super('ERR_UNKNOWN_TASK', `Unknown task "${task}"; built-in tasks are ${Object.keys(BUILTINS).map((n) => `builtin:${n}`).join(', ')}`);
  }
}

/** The task a name like `builtin:noop` stands for. */
export function resolveTask(name: string): Task {
  const builtin = name.startsWith('builtin:') ? BUILTINS[name.slice('builtin:'.length)] : undefined;
  if (builtin === undefined) throw new UnknownTaskError(name);
  return builtin;
}
