// Finds and runs the peer engines that bench/engine.mjs times databox against (see README.md here).
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const PY = '/usr/bin/python3';
const here = fileURLToPath(new URL('.', import.meta.url));
const KILL_GRACE_MS = 15_000; // after SIGTERM, how long a peer gets to stop its own workers and servers
const TAIL_CHARS = 2000; // how much of a failed peer's stderr goes into the error

/** Each peer's command line for `count` no-op tasks. */
const peers = {
  dask: (count) => [PY, [join(here, 'dask_noop.py'), '--count', String(count), '--json']],
  bullmq: (count) => [process.execPath, [join(here, 'bullmq-noop.mjs'), '--count', String(count), '--json']],
};

/** The one line a peer prints on stdout. */
const Result = z.object({
  peer: z.enum(['dask', 'bullmq']),
  count: z.number().int().positive(),
  seconds: z.number().positive(),
  perSecond: z.number().positive(),
});

/** Runs `cmd args` and resolves with its exit code, stdout and stderr; never rejects. */
function run(cmd, args, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk) => (stdout += chunk));
    // Keep only the tail: a chatty peer must not grow our memory without bound.
    child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4 * TAIL_CHARS)));
    // SIGTERM first so the peer can shut its cluster or redis-server down; SIGKILL if it does not.
    let killTimer;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    }, timeoutMs);
    const done = (code, error) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      resolve({ code, stdout, stderr, timedOut, error });
    };
    child.once('error', (error) => done(null, error)); // e.g. ENOENT
    child.once('close', (code, signal) => done(code ?? signal));
  });
}

/** True when /usr/bin/python3 can import Dask distributed (Debian: python3-distributed). */
export async function haveDask() {
  const { code } = await run(PY, ['-c', 'import distributed'], 60_000);
  return code === 0;
}

/** True when an executable `redis-server` is on PATH (Debian: redis-server). */
export async function haveRedis() {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    try {
      await access(join(dir, 'redis-server'), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** True when the bullmq package resolves from here (the repo's devDependency). */
export async function haveBullmq() {
  try {
    import.meta.resolve('bullmq');
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs peer `name` ('dask' or 'bullmq') on `count` no-op tasks and returns its result line:
 * `{ peer, count, seconds, perSecond }`, seconds from first submission to last result.
 * Throws, with the tail of the peer's stderr, when it fails, times out or prints no valid line.
 * @param {'dask' | 'bullmq'} name
 * @param {number} count
 * @param {{ timeoutMs?: number }} [options] timeoutMs: wall-clock limit for the whole peer run, start-up
 *   included (default 300000); the peer then gets SIGTERM, and SIGKILL 15 s later.
 */
export async function runPeer(name, count, { timeoutMs = 300_000 } = {}) {
  const command = peers[name];
  if (!command) throw new Error(`runPeer: unknown peer ${JSON.stringify(name)}; known: ${Object.keys(peers).join(', ')}`);
  if (!Number.isInteger(count) || count < 1) throw new Error(`runPeer: count must be a positive integer, got ${count}`);
  if (!(timeoutMs > 0)) throw new Error(`runPeer: options.timeoutMs must be a positive number, got ${timeoutMs}`);

  const [cmd, args] = command(count);
  const { code, stdout, stderr, timedOut, error } = await run(cmd, args, timeoutMs);
  const fail = (why) => {
    const tail = stderr.trim().slice(-TAIL_CHARS);
    return new Error(`peer ${name} (count ${count}) ${why}${tail ? `; its stderr ends:\n${tail}` : ''}`);
  };
  if (error) throw fail(`could not start ${cmd}: ${error.message}`);
  if (timedOut) throw fail(`timed out after ${timeoutMs} ms and was killed`);
  if (code !== 0) throw fail(`exited with ${code}`);

  // The result is the last stdout line; anything a library printed before it is ignored.
  const last = stdout.trim().split('\n').at(-1) ?? '';
  let parsed;
  try {
    parsed = Result.safeParse(JSON.parse(last));
  } catch {
    throw fail(`printed no JSON result line (last stdout line: ${JSON.stringify(last.slice(0, 200))})`);
  }
  if (!parsed.success) throw fail(`printed a malformed result ${last.slice(0, 200)}: ${parsed.error.message}`);
  if (parsed.data.peer !== name || parsed.data.count !== count) {
    throw fail(`answered for peer ${parsed.data.peer} count ${parsed.data.count}`);
  }
  return parsed.data;
}
