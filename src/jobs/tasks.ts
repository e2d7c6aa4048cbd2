import type { TaskPackage } from '../engine/index.js';

/**
 * The worker tasks of the raster jobs, as one package for the engine's task registry: the names the
 * jobs submit (as `builtin:<name>`) and the module a worker imports to run them (task-handlers.ts). This
 * file loads nothing else, so a Jobman can register the names without the raster code; `access` says
 * what each subtask reads and writes, for the Jobman's allow-list check at submit (task-access.ts).
 */
export const RASTER_JOB_TASKS: TaskPackage = {
  names: ['raster-window', 'cog-assemble', 'zonal-tiles'],
  module: new URL('./task-handlers.js', import.meta.url).href,
  access: new URL('./task-access.js', import.meta.url).href,
};
