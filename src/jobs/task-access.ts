import type { TaskAccess } from '../engine/index.js';

/**
 * What a subtask of the raster jobs reads and writes, for the Jobman's submit-time check of its storage
 * allow-lists (RASTER_JOB_TASKS' `access`). It imports nothing at run time, so a Jobman learns this
 * without loading raster code; the workers check every open again, with symlinks resolved.
 *
 * - `raster-window`: reads each band of its op (every `url` in `op`), writes its `part`.
 * - `cog-assemble`: reads the `grid` raster and its `parts` (then deletes them: a write), writes `out`.
 * - `zonal-tiles`: reads its `raster`.
 *
 * A field of the wrong type is skipped here: the task's own input schema refuses it on the worker.
 */
export const access: TaskAccess = (task, input) => {
  const read: string[] = [];
  const write: string[] = [];
  const o = record(input);
  if (o === undefined) return { read, write };
  switch (task) {
    case 'raster-window':
      urlsIn(o.op, read, 0);
      str(o.part, write);
      break;
    case 'cog-assemble':
      str(o.grid, read);
      str(o.out, write);
      if (Array.isArray(o.parts)) {
        for (const p of o.parts) {
          str(record(p)?.url, read);
          str(record(p)?.url, write);
        }
      }
      break;
    case 'zonal-tiles':
      str(o.raster, read);
      break;
  }
  return { read, write };
};

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function str(v: unknown, into: string[]): void {
  if (typeof v === 'string') into.push(v);
}

/** Every `url` string in an op's band sources, however the op nests them (bounded depth). */
function urlsIn(v: unknown, into: string[], depth: number): void {
  if (depth > 4) return;
  if (Array.isArray(v)) {
    for (const x of v) urlsIn(x, into, depth + 1);
    return;
  }
  const o = record(v);
  if (o === undefined) return;
  for (const [k, x] of Object.entries(o)) {
    if (k === 'url') str(x, into);
    else urlsIn(x, into, depth + 1);
  }
}
