import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Command } from 'commander';

import { DataboxError, messageOf } from '../../errors.js';
import { readToken, resolveHome, resolveJobmanUrl, tokenPath } from '../../engine/index.js';
import { startJobman, startTaskman, type Jobman, type JobmanOptions } from '../../engine/servers.js';
import { RASTER_JOB_TASKS } from '../../jobs/tasks.js';
import { closeSharedConnections } from '../../storage/index.js';
import type { CliContext, CommandIo } from '../context.js';
import { intOption } from '../options.js';

/** `databox jobman`, `databox taskman` and `databox up`: the engine's long-running processes. */

function defineJobman(command: Command, { signal, io }: CliContext): void {
  withServerOptions(command)
    .option('--db <path>', 'SQLite job store (default: DIR/databox.db)')
    .option('--registry <spec>', 'embedded, or etcd://HOST:PORT[,HOST:PORT]', 'embedded')
    .option('--window <n>', 'queued subtasks of normal jobs held in memory at most', intOption('--window', 1, 100_000), 10_000)
    .option('--locality-wait-ms <n>', 'how long a subtask waits for a preferred node', intOption('--locality-wait-ms', 0, 3_600_000), 3000)
    .option('--log', 'log node events and failures to stderr (JSON lines)')
    .action(async (flags: ServerFlags & { db?: string; registry: string; window: number; localityWaitMs: number; log?: boolean }) => {
      const jobman = await startJobman({
        ...jobmanOptions(flags),
        ...(flags.db !== undefined ? { db: flags.db } : {}),
        registry: flags.registry,
        windowSize: flags.window,
        localityWaitMs: flags.localityWaitMs,
        log: flags.log === true,
      });
      io.stdout.write(`jobman listening on ${jobman.url}\n`);
      io.stderr.write(`databox: API token in ${tokenPath(jobman.home)}; job store ${flags.db ?? `${jobman.home}/databox.db`}\n`);
      await untilAborted(signal);
      const t0 = performance.now();
      await jobman.close();
      io.stderr.write(`databox: stopped the Jobman at ${jobman.url} in ${seconds(t0)}; the job store and the token stay in ${jobman.home}\n`);
    });
}

function defineTaskman(command: Command, { signal, io }: CliContext): void {
  command
    .option('--jobman <url>', 'the Jobman (default: $DATABOX_JOBMAN, else http://127.0.0.1:7070)')
    .option('--home <dir>', 'where the API token is (unless DATABOX_TOKEN is set) and DIR/cache, the UDF bundle cache', '~/.databox')
    .option('--workers <n>', 'worker processes (default: the number of cores)', intOption('--workers', 1, 1024))
    .option('--node <name>', 'this node’s name (default: the host name)')
    .option('--prefetch <n>', 'batches per worker kept on the node’s deque', intOption('--prefetch', 0, 64), 2)
    .action(async (flags: { jobman?: string; home: string; workers?: number; node?: string; prefetch: number }) => {
      const url = resolveJobmanUrl(flags.jobman);
      const home = resolveHome(expandHome(flags.home));
      const token = await readToken(home);
      const taskman = await startTaskman({
        jobman: url,
        token,
        cacheDir: join(home, 'cache'),
        prefetch: flags.prefetch,
        ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
        ...(flags.node !== undefined ? { node: flags.node } : {}),
        log: (line) => io.stderr.write(`taskman: ${line}\n`),
        signal,
        taskPackages: [RASTER_JOB_TASKS],
      });
      await untilAborted(signal);
      const t0 = performance.now();
      await taskman.stop();
      io.stderr.write(`databox: stopped the Taskman of node ${taskman.node} and its workers in ${seconds(t0)}; its unfinished subtasks go back to the Jobman\n`);
    });
}

function defineUp(command: Command, { signal, io }: CliContext): void {
  withServerOptions(command)
    .option('--workers <n>', 'worker processes (default: the number of cores)', intOption('--workers', 1, 1024))
    .option('--node <name>', 'the node’s name (default: the host name)')
    .action(async (flags: ServerFlags & { workers?: number; node?: string }) => {
      const jobman = await startJobman(jobmanOptions(flags));
      let taskman: ChildProcess | undefined;
      try {
        const joined = once(jobman.nodes, 'joined', { signal: AbortSignal.any([signal, AbortSignal.timeout(JOIN_TIMEOUT_MS)]) }).catch((err: unknown) => {
          if (signal.aborted) throw err;
          throw new DataboxError('ERR_TASKMAN_JOIN', `the Taskman did not join the Jobman within ${JOIN_TIMEOUT_MS / 1000} s`);
        });
        taskman = spawnTaskman(jobman, flags);
        const exited = once(taskman, 'exit').then(([code, sig]) => {
          throw new DataboxError('ERR_TASKMAN_EXITED', `the Taskman exited with ${sig ?? `code ${code}`} before it joined`);
        });
        await Promise.race([joined, exited]);
        exited.catch(() => undefined);
        io.stdout.write(`jobman listening on ${jobman.url}\n`);
        io.stderr.write(`databox: ${flags.workers ?? availableParallelism()} workers; API token in ${tokenPath(jobman.home)}; Ctrl-C stops everything\n`);
        // The Taskman is supervised: one that dies is started again (its work was requeued by the Jobman),
        // a few times; one that keeps dying ends `up` with an error rather than serve a cluster with no node.
        for (let restarts = 0; ; restarts++) {
          const [code, sig] = (await Promise.race([once(taskman, 'exit'), untilAborted(signal).then(() => [])])) as [number | null, NodeJS.Signals | null] | [];
          if (signal.aborted) break;
          const how = sig ?? `code ${code}`;
          if (restarts >= MAX_TASKMAN_RESTARTS) throw new DataboxError('ERR_TASKMAN_EXITED', `the Taskman exited with ${how}, ${restarts + 1} times; stopping`);
          io.stderr.write(`databox: the Taskman exited with ${how}; starting it again\n`);
          taskman = spawnTaskman(jobman, flags);
        }
      } catch (err) {
        // Ctrl-C during start-up surfaces as an AbortError from `once`: stop quietly, as after start.
        if (!signal.aborted) throw err;
      } finally {
        const t0 = performance.now();
        const hadTaskman = taskman !== undefined && taskman.exitCode === null && taskman.signalCode === null;
        await stopChild(taskman, io);
        await jobman.close();
        const workers = flags.workers ?? availableParallelism();
        const what = hadTaskman ? `the Taskman and its ${workers} worker${workers === 1 ? '' : 's'}, then the Jobman at ${jobman.url}` : `the Jobman at ${jobman.url}`;
        io.stderr.write(`databox: stopped ${what} in ${seconds(t0)}; the job store and the token stay in ${jobman.home}\n`);
      }
    });
}

export const commands = { jobman: defineJobman, taskman: defineTaskman, up: defineUp };
export const close = closeSharedConnections;

/** Seconds since `t0` (a performance.now() reading), for stop messages. */
function seconds(t0: number): string {
  return `${((performance.now() - t0) / 1000).toFixed(2)} s`;
}

/** The options a Jobman is started with, by `databox jobman` and `databox up` alike. */
function withServerOptions(command: Command): Command {
  return command
    .option('--home <dir>', 'state and token directory', '~/.databox')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on (0: any free one)', intOption('--port', 0, 65535), 7070)
    .option('--heartbeat-ms <n>', 'how often Taskmen and workers report; 3 missed mean death', intOption('--heartbeat-ms', 50, 60_000), 1000)
    .option('--init', 'start a new, empty job store where the home was used before but its database is missing, empty or unreadable (an unreadable one is renamed aside)')
    .option('--pinned-node-grace-ms <n>', 'how long a job pinned to a node that is gone waits for it before it fails (ERR_NODE_GONE)', intOption('--pinned-node-grace-ms', 0, 7 * 24 * 3_600_000), 60_000)
    .option('--forget-dead-nodes-after-ms <n>', 'how long a dead node stays listed by `databox nodes`', intOption('--forget-dead-nodes-after-ms', 1000, 7 * 24 * 3_600_000), 600_000);
}

/** How long `databox up` waits for its Taskman to join, and how often it restarts one that dies. */
const JOIN_TIMEOUT_MS = 60_000;
const MAX_TASKMAN_RESTARTS = 5;

interface ServerFlags {
  home: string;
  host: string;
  port: number;
  heartbeatMs: number;
  init?: boolean;
  pinnedNodeGraceMs: number;
  forgetDeadNodesAfterMs: number;
}

/** The Jobman accepts the raster jobs' tasks (their names only: it never runs them). */
function jobmanOptions(flags: ServerFlags): JobmanOptions {
  return {
    home: resolveHome(expandHome(flags.home)),
    host: flags.host,
    port: flags.port,
    heartbeatMs: flags.heartbeatMs,
    init: flags.init === true,
    pinnedNodeGraceMs: flags.pinnedNodeGraceMs,
    forgetDeadNodesAfterMs: flags.forgetDeadNodesAfterMs,
    taskPackages: [RASTER_JOB_TASKS],
  };
}

/** `~/x` as the shell would expand it (commander passes defaults and quoted values through untouched). */
function expandHome(dir: string): string {
  return dir === '~' || dir.startsWith('~/') ? `${process.env.HOME ?? ''}${dir.slice(1)}` : dir;
}

/** The Taskman of `databox up`: a child process running `databox taskman`, sharing stderr. */
function spawnTaskman(jobman: Jobman, flags: { workers?: number; node?: string }): ChildProcess {
  const fromSource = import.meta.url.endsWith('.ts');
  const main = fileURLToPath(new URL(fromSource ? '../main.ts' : '../main.js', import.meta.url));
  const args = [...(fromSource ? ['--import', 'tsx'] : []), main, 'taskman', '--jobman', jobman.url, '--home', jobman.home];
  if (flags.workers !== undefined) args.push('--workers', String(flags.workers));
  if (flags.node !== undefined) args.push('--node', flags.node);
  return spawn(process.execPath, args, { env: { ...process.env, DATABOX_TOKEN: jobman.token }, stdio: ['ignore', 'ignore', 'inherit'] });
}

async function stopChild(child: ChildProcess | undefined, io: CommandIo): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exit = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  try {
    await exit;
  } catch (err) {
    io.stderr.write(`databox: the Taskman did not stop cleanly: ${messageOf(err)}\n`);
  } finally {
    clearTimeout(timer);
  }
}

function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
