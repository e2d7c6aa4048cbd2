import type { Task } from '../engine/tasks/builtins.js';

/** The raster steps of a distributed `databox ndvi`, run by workers as built-in tasks. */
export const RASTER_TASKS: Readonly<Record<'ndvi-window' | 'cog-assemble', Task>> = {
  'ndvi-window': () => {
    throw new Error('not yet');
  },
  'cog-assemble': () => {
    throw new Error('not yet');
  },
};
