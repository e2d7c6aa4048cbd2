/**
 * Child process of crash-large.test.ts: on the store at argv[2], `create` starts a job of argv[3]
 * subtasks, `cancel` cancels job argv[3]; either way it stalls inside the store's transaction number
 * argv[4] of that operation (counted by calls to the store's clock, one per transaction), prints
 * `stalled`, and waits to be killed with SIGKILL. It never closes the store.
 */
import { writeSync } from 'node:fs';

import { SqliteJobStore } from '../../../src/engine/store/sqlite/sqlite-store.js';

const [path = '', mode, arg, stallAtArg] = process.argv.slice(2);
const stallAt = Number(stallAtArg);
let calls = 0;
const store = SqliteJobStore.open({
  path,
  now: () => {
    if (++calls === stallAt) {
      writeSync(1, 'stalled\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    }
    return Date.now();
  },
});
if (mode === 'create') await store.createJob({ task: 'builtin:noop', inputs: Number(arg) });
else await store.cancelJob(Number(arg));
writeSync(1, 'finished without stalling\n');
