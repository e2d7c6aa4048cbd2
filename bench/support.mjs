// What the benchmarks share: starting and stopping `databox` daemons, running a tool under a time limit
// while sampling the memory of its whole process tree, and killing everything they started when they
// exit, fail or get Ctrl-C.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clearInterval, setInterval } from 'node:timers';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
/** The built CLI, `dist/cli/main.js`. */
export const cli = join(here, '..', 'dist', 'cli', 'main.js');

const PAGE_BYTES = 4096; // x86-64 and arm64 Linux page size; /proc/<pid>/stat counts RSS in pages
const READY_TIMEOUT_MS = 60_000; // how long a daemon may take to print its ready line
const STOP_GRACE_MS = 15_000; // after SIGTERM, how long a process gets to stop cleanly before SIGKILL
const SIGNAL_GRACE_MS = 6_000; // the same after Ctrl-C, when someone is waiting
const TEXT_KEEP_CHARS = 64 * 1024; // how much of a process's output is kept (its tail)

/** Every child started here, until it exits; each leads its own process group. */
const children = new Set();
/** The process groups of every child ever started here: what a child leaves behind after it exits stays in them. */
const groups = new Set();
let handlersInstalled = false;

/** pid → { ppid, rssBytes } for every process now in /proc. */
function processTable() {
  const table = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // it exited while we looked
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    table.set(Number(name), { ppid: Number(fields[1]), rssBytes: Number(fields[21]) * PAGE_BYTES });
  }
  return table;
}

/** The pids of `roots` and all their descendants that are alive in `table`. */
function treeOf(roots, table = processTable()) {
  const kids = new Map();
  for (const [pid, { ppid }] of table) {
    if (!kids.has(ppid)) kids.set(ppid, []);
    kids.get(ppid).push(pid);
  }
  const seen = new Set();
  const stack = roots.filter((pid) => table.has(pid));
  while (stack.length > 0) {
    const pid = stack.pop();
    if (seen.has(pid)) continue;
    seen.add(pid);
    stack.push(...(kids.get(pid) ?? []));
  }
  return [...seen];
}

/** Sends `signal` to `pid`'s process group and to each of its descendants (which may have left the group). */
export function killTree(pid, signal = 'SIGKILL') {
  if (!(pid > 0)) return;
  const tree = treeOf([pid]);
  try {
    process.kill(-pid, signal);
  } catch {
    // not a group leader, or already gone
  }
  for (const p of tree) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
}

/** SIGKILLs every child started here, with its whole tree. Synchronous, so it can run in an 'exit' handler. */
export function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) killTree(child.pid);
  }
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // the group is empty: all its processes are gone
    }
  }
}

function installHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAll);
  // Our children lead their own process groups, so Ctrl-C reaches only us: pass it on as SIGTERM (they
  // stop their workers and remove their temp files), SIGKILL what is left after SIGNAL_GRACE_MS, exit.
  // A second signal exits at once (the 'exit' handler still SIGKILLs everything).
  let stopping = false;
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
    process.on(signal, () => {
      if (stopping) process.exit(code);
      stopping = true;
      console.error(`\n${signal}: stopping every process this benchmark started`);
      // Exit on the last child's 'exit', before its 'close' lets the benchmark carry on as if it had failed.
      const live = [...children].filter((c) => c.exitCode === null && c.signalCode === null);
      let left = live.length;
      if (left === 0) process.exit(code);
      for (const child of live) {
        child.once('exit', () => --left === 0 && process.exit(code));
        child.kill('SIGTERM');
      }
      setTimeout(() => process.exit(code), SIGNAL_GRACE_MS).unref();
    });
  }
}

/** Spawns `cmd args` as the leader of a new process group, tracked so that it is killed when we exit. */
export function start(cmd, args, { env = {} } = {}) {
  installHandlers();
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  if (child.pid === undefined) return child; // it failed to start; 'error' says why
  children.add(child);
  groups.add(child.pid);
  child.once('exit', () => children.delete(child));
  return child;
}

/**
 * Samples the resident memory of `roots` and all their descendants every `intervalMs` (from /proc) and
 * keeps the largest sum. `add(pid)` puts another root in; `stop()` takes a last sample and returns
 * `{ peakMb, peakProcesses, samples }`: the largest sum of RSS in MiB, how many processes made it up, and
 * how many samples were taken. Shared pages count once per process that maps them, as RSS does.
 */
export function sampleTree(roots, { intervalMs = 100 } = {}) {
  const pids = [...roots];
  let peakBytes = 0;
  let peakProcesses = 0;
  let samples = 0;
  const sample = () => {
    const table = processTable();
    const tree = treeOf(pids, table);
    const bytes = tree.reduce((sum, pid) => sum + table.get(pid).rssBytes, 0);
    samples++;
    if (bytes > peakBytes) {
      peakBytes = bytes;
      peakProcesses = tree.length;
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    add(pid) {
      pids.push(pid);
      sample();
    },
    stop() {
      sample();
      clearInterval(timer);
      return { peakMb: peakBytes / 2 ** 20, peakProcesses, samples };
    },
  };
}

/**
 * Runs `cmd args` to its end, at most `timeoutMs` (then SIGTERM to its tree, SIGKILL `STOP_GRACE_MS` later),
 * sampling the memory of its process tree and of `alsoSample` (pids of processes it works through, such as
 * a server). Never rejects for the command's sake. Resolves with `{ code, signal, timedOut, error, seconds,
 * peakMb, peakProcesses, stdout, stderr }`: seconds of wall time from spawn to exit, stdout whole, stderr its
 * last `TEXT_KEEP_CHARS`. `onStdout` and `onStderr` get each chunk as it comes (for progress).
 */
export function runMeasured(cmd, args, { env = {}, timeoutMs, alsoSample = [], onStdout, onStderr } = {}) {
  if (!(timeoutMs > 0)) throw new Error(`runMeasured: timeoutMs must be a positive number, got ${timeoutMs}`);
  return new Promise((resolve) => {
    const sampler = sampleTree(alsoSample);
    const t0 = performance.now();
    const child = start(cmd, args, { env });
    if (child.pid !== undefined) sampler.add(child.pid);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
      onStdout?.(d);
    });
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr = (stderr + d).slice(-TEXT_KEEP_CHARS);
      onStderr?.(d);
    });
    let killTimer;
    const timer = setTimeout(() => {
      timedOut = true;
      killTree(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => killTree(child.pid, 'SIGKILL'), STOP_GRACE_MS);
    }, timeoutMs);
    const done = (code, signal, error) => {
      const seconds = (performance.now() - t0) / 1000;
      clearTimeout(timer);
      clearTimeout(killTimer);
      const mem = sampler.stop();
      // Whatever it left behind (a worker that outlived it) goes too.
      if (child.pid !== undefined) killTree(child.pid);
      resolve({ code, signal, timedOut, error, seconds, peakMb: mem.peakMb, peakProcesses: mem.peakProcesses, stdout, stderr });
    };
    child.once('error', (error) => done(null, null, error)); // e.g. ENOENT
    child.once('close', (code, signal) => done(code, signal));
  });
}

/** Starts `databox ...args`; resolves once `ready` shows in its output, with `{ child, text(), url }`. */
export async function daemon(args, ready, env = {}) {
  const child = start(process.execPath, [cli, ...args], { env });
  let text = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`databox ${args.join(' ')}: not ready after ${READY_TIMEOUT_MS / 1000} s:\n${text}`)), READY_TIMEOUT_MS);
    let isReady = false;
    const onData = (d) => {
      // Keep reading (a full pipe would block the daemon) but keep only the tail once it is up.
      text = isReady ? (text + d).slice(-TEXT_KEEP_CHARS) : text + d;
      if (!isReady && ready.test(text)) {
        isReady = true;
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.once('exit', (code) => reject(new Error(`databox ${args.join(' ')} exited with ${code}:\n${text}`)));
  });
  return { child, text: () => text, url: /jobman listening on (\S+)/.exec(text)?.[1] };
}

/** Stops a daemon: SIGTERM, then SIGKILL to its whole tree if it has not exited `STOP_GRACE_MS` later. */
export async function stop(d) {
  if (d.child.exitCode !== null || d.child.signalCode !== null) return;
  const exit = once(d.child, 'exit');
  d.child.kill('SIGTERM');
  const t = setTimeout(() => killTree(d.child.pid), STOP_GRACE_MS);
  await exit;
  clearTimeout(t);
  killTree(d.child.pid); // anything it left behind in its process group
}
