/**
 * The engine's long-running processes, apart from `index.ts` because they load the HTTP server, the job
 * store's database driver and the registry clients: the Jobman (master scheduler and HTTP API) and the
 * Taskman (one per node, with its worker processes).
 */
export { startJobman, type Jobman, type JobmanOptions } from './jobman/server.js';
export { startTaskman, type Taskman, type TaskmanOptions } from './taskman/taskman.js';
