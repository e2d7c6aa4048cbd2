import type { Task } from '../engine/index.js';
import { sharedCodecs } from '../raster/index.js';
import { windowTasks } from './window-tasks.js';
import { zonalTiles } from './zonal/tasks.js';

/** What a worker runs for the names of RASTER_JOB_TASKS (tasks.ts); a test checks the two agree. */
export const tasks: Record<string, Task> = { ...windowTasks, 'zonal-tiles': zonalTiles };

/** Called by an idle worker: starts the codec threads, so the first block it decodes does not wait for them. */
export function warm(): void {
  sharedCodecs.warm?.();
}
