/**
 * Child process of crash.test.ts: commits batches of subtask lifecycles on the store at argv[2], printing
 * `committed K WALBYTES` after each, then stalls in the middle of batch `stallAt` (argv[3]) with part
 * of it written, prints `mid-batch WALBYTES`, and waits to be killed with SIGKILL. It never closes the store.
 */
import { statSync, writeSync } from 'node:fs';

import { type Change } from '../../../src/engine/store/index.js';
import { SqliteJobStore } from '../../../src/engine/store/sqlite/sqlite-store.js';

const [path = '', stallAtArg, batchArg, firstArg] = process.argv.slice(2);
const stallAt = Number(stallAtArg);
const batch = Number(batchArg);
const first = Number(firstArg);
// A small page cache makes SQLite spill the uncommitted batch into the WAL before it commits, so the
// kill leaves a half-written transaction in the file for recovery to discard.
// Checkpoints are turned off so the WAL only grows, and its size shows that the spill happened.
const store = SqliteJobStore.open({ path, cacheMiB: 1 });
(store as unknown as { db: { pragma(s: string): unknown } }).db.pragma('wal_autocheckpoint = 0');
const payload = 'x'.repeat(4096);

for (let k = 0; ; k++) {
  const changes: Change[] = [];
  for (let i = 0; i < batch; i++) {
    const id = first + k * batch + i;
    const result = k === stallAt && i === batch - 1 ? { toJSON: stall } : { k, i, payload };
    changes.push({ id, attempt: 1, to: 'dispatched', node: 'node-a' }, { id, attempt: 1, to: 'running' }, { id, attempt: 1, to: 'succeeded', result: result as never });
  }
  await store.applyBatch(changes);
  writeSync(1, `committed ${k} ${walBytes()}\n`);
}

/** Runs inside the open transaction, after the rest of the batch was written: announce, then hang. */
function stall(): never {
  writeSync(1, `mid-batch ${walBytes()}\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  throw new Error('unreachable');
}

function walBytes(): number {
  return statSync(`${path}-wal`).size;
}
