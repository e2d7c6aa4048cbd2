// The Jobman the API fuzzer attacks: a real process, started as `databox jobman` starts one (the same
// options and task packages), with one addition: over its IPC channel it answers `memory` with its heap
// after a full GC (node runs it with --expose-gc), so growth is measured on live objects, not on
// garbage not yet collected. Usage: node --expose-gc fuzz/jobman-child.mjs HOME
import { startJobman } from '../dist/engine/servers.js';
import { RASTER_JOB_TASKS } from '../dist/jobs/tasks.js';

const home = process.argv[2];
const jobman = await startJobman({ home, host: '127.0.0.1', port: 0, heartbeatMs: 1000, taskPackages: [RASTER_JOB_TASKS] });
process.send({ url: jobman.url, token: jobman.token });
process.on('message', (msg) => {
  if (msg === 'memory') {
    globalThis.gc?.();
    const m = process.memoryUsage();
    process.send({ memory: { heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss } });
  }
});
// The parent going away (its IPC channel closing) ends this Jobman too.
process.on('disconnect', () => void jobman.close().then(() => process.exit(0)));
