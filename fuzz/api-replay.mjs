// Replays what the API fuzzer wrote out, against a fresh Jobman set up as the run set up its own:
//
//   node fuzz/api-replay.mjs FILE.json     (after `npm run build`)
//
// FILE is one finding (`request`) or the batch sent before a Jobman died (`requests`). Prints each
// answer and whether the Jobman still answers /healthz; exits 1 if any answer is a 5xx, a request
// hangs, or the Jobman dies.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { keepNodesAlive, send, setUp, startJobman } from './api.mjs';

const HANG_MS = 5000;
const file = process.argv[2];
if (file === undefined) {
  console.error('usage: node fuzz/api-replay.mjs FILE.json');
  process.exit(2);
}
const saved = JSON.parse(readFileSync(file, 'utf8'));
const requests = saved.requests ?? [saved.request];
const home = mkdtempSync(join(tmpdir(), 'databox-fuzz-replay-'));
const jm = await startJobman(home);
let bad = false;
try {
  await setUp(jm);
  const stop = keepNodesAlive(jm);
  // A batch went out eight at a time; replaying it the same way keeps any race it hit.
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < requests.length) {
        const req = requests[next++];
        const result = await send(jm.port, req, jm.tokenFor, HANG_MS);
        if (result.hang || result.status >= 500) bad = true;
        console.log(`${req.method} ${req.path.slice(0, 80)} -> ${result.hang ? 'no answer (hang)' : (result.status ?? `closed (${result.closed})`)} in ${result.ms} ms${result.status >= 500 ? `\n${result.head}` : ''}`);
      }
    }),
  );
  await stop();
  const health = jm.child.exitCode === null ? await send(jm.port, { method: 'GET', path: '/healthz', headers: [], body: null }, jm.tokenFor, HANG_MS) : undefined;
  console.log(`Jobman: ${health?.status === 200 ? 'alive' : `DEAD or deaf (${jm.child.exitCode ?? jm.child.signalCode ?? JSON.stringify(health)})\n${jm.stderr()}`}`);
  if (health?.status !== 200) bad = true;
} finally {
  jm.child.kill('SIGKILL');
  rmSync(home, { recursive: true, force: true });
}
process.exit(bad ? 1 : 0);
