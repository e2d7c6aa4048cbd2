import { DataboxError } from '../../errors.js';
import { SHA256_HEX } from '../udf/limits.js';

/**
 * The built-in tasks: the four diagnostic ones that exercise the scheduler without user code, and the
 * raster steps of the map-algebra jobs (see src/algebra/window-tasks.ts and src/algebra/zonal/tasks.ts). Names only, so the Jobman can check a
 * task without loading what runs it.
 */
export const BUILTIN_NAMES = ['noop', 'sleep', 'fail', 'crash', 'raster-window', 'cog-assemble', 'zonal-tiles'] as const;
export type BuiltinName = (typeof BUILTIN_NAMES)[number];

/** What a job's `task` names: a built-in task, or an RS-UDF bundle uploaded under its SHA-256. */
export type TaskName = { kind: 'builtin'; name: BuiltinName } | { kind: 'udf'; sha256: string };

export class UnknownTaskError extends DataboxError {
  constructor(task: string) {
    super(
      'ERR_UNKNOWN_TASK',
      `Unknown task "${task}": a task is udf:<sha256 of an uploaded bundle> or one of the built-ins ${BUILTIN_NAMES.map((n) => `builtin:${n}`).join(', ')}`,
    );
  }
}

/** Parses a task name; UnknownTaskError names what is accepted. */
export function parseTaskName(task: string): TaskName {
  if (task.startsWith('builtin:')) {
    const name = task.slice('builtin:'.length);
    if ((BUILTIN_NAMES as readonly string[]).includes(name)) return { kind: 'builtin', name: name as BuiltinName };
  } else if (task.startsWith('udf:')) {
    const sha256 = task.slice('udf:'.length);
    if (SHA256_HEX.test(sha256)) return { kind: 'udf', sha256 };
  }
  throw new UnknownTaskError(task);
}
