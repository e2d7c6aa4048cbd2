import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Command } from 'commander';

import { DataboxError, messageOf } from '../../errors.js';
import { MAX_INPUTS, MIN_BODY_BYTES, nodeOfToken, nodeTokenFromHome, readCa, readTokenPath, resolveHome, resolveJobmanUrl, tokenPath } from '../../engine/index.js';
import { startJobman, startTaskman, type Jobman, type JobmanOptions } from '../../engine/servers.js';
import { RASTER_JOB_TASKS } from '../../jobs/tasks.js';
import { closeSharedConnections } from '../../storage/index.js';
import { UsageError, type CliContext, type CommandIo } from '../context.js';
import { expandHome, intOption } from '../options.js';

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
        ...(await jobmanOptions(flags)),
        ...(flags.db !== undefined ? { db: flags.db } : {}),
        registry: flags.registry,
        windowSize: flags.window,
        localityWaitMs: flags.localityWaitMs,
        log: flags.log === true,
      });
      io.stdout.write(`jobman listening on ${jobman.url}\n`);
      io.stderr.write(
        `databox: API token in ${tokenPath(jobman.home)}, read-only token in ${readTokenPath(jobman.home)}; Taskmen join with \`databox node-token NODE\`; job store ${flags.db ?? `${jobman.home}/databox.db`}\n`,
      );
      await untilAborted(signal);
      const t0 = performance.now();
      await jobman.close();
      io.stderr.write(`databox: stopped the Jobman at ${jobman.url} in ${seconds(t0)}; the job store and the token stay in ${jobman.home}\n`);
    });
}

function defineTaskman(command: Command, { signal, io }: CliContext): void {
  command
    .option('--jobman <url>', 'the Jobman (default: $DATABOX_JOBMAN, else http://127.0.0.1:7070)')
    .option('--home <dir>', 'DIR/cache holds the UDF bundle cache; DIR/node-secret, where the Jobman shares this home, makes the node token', '~/.databox')
    .option('--node-token-file <file>', 'this node’s token, from `databox node-token NODE` (default: $DATABOX_NODE_TOKEN, else made from DIR/node-secret)')
    .option('--ca <file>', 'PEM certificate authority to check an https Jobman against (default: $DATABOX_CA, else the system’s)')
    .option('--workers <n>', 'worker processes (default: the number of cores)', intOption('--workers', 1, 1024))
    .option('--node <name>', 'this node’s name (default: the node token’s, else the host name)')
    .option('--prefetch <n>', 'batches per worker kept on the node’s deque', intOption('--prefetch', 0, 64), 2)
    .action(async (flags: { jobman?: string; home: string; nodeTokenFile?: string; ca?: string; workers?: number; node?: string; prefetch: number }) => {
      const url = resolveJobmanUrl(flags.jobman);
      const home = resolveHome(expandHome(flags.home));
      const given = flags.nodeTokenFile !== undefined ? (await readFile(flags.nodeTokenFile, 'utf8')).trim() : process.env.DATABOX_NODE_TOKEN?.trim() || undefined;
      const node = flags.node ?? (given !== undefined ? nodeOfToken(given) : undefined) ?? defaultNodeName();
      const token = given ?? (await nodeTokenFromHome(home, node));
      // Nothing this process starts (workers, the UDFs in them) may inherit a credential.
      delete process.env.DATABOX_NODE_TOKEN;
      delete process.env.DATABOX_TOKEN;
      const ca = await readCa(flags.ca);
      // Started by `databox up` (an IPC channel to it): stop when it goes, however it went.
      const stop = withParent(signal);
      const taskman = await startTaskman({
        jobman: url,
        token,
        home,
        ...(ca !== undefined ? { ca } : {}),
        cacheDir: join(home, 'cache'),
        prefetch: flags.prefetch,
        ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
        node,
        log: (line) => io.stderr.write(`taskman: ${line}\n`),
        signal: stop,
        taskPackages: [RASTER_JOB_TASKS],
      });
      await untilAborted(stop);
      const t0 = performance.now();
      await taskman.stop();
      io.stderr.write(`databox: stopped the Taskman of node ${taskman.node} and its workers in ${seconds(t0)}; its unfinished subtasks go back to the Jobman\n`);
    });
}

/** The host name, as a node name: its first label, with characters a node name cannot hold replaced. */
function defaultNodeName(): string {
  return hostname().split('.')[0]!.replace(/[^A-Za-z0-9._-]/g, '-');
}

/**
 * `signal`, aborted also when the parent process that started this one over an IPC channel goes away
 * (exits, or is killed: the channel closes either way), so a child never outlives its parent.
 */
function withParent(signal: AbortSignal): AbortSignal {
  if (process.channel === undefined) return signal;
  const gone = new AbortController();
  process.once('disconnect', () => gone.abort(new DataboxError('ERR_PARENT_GONE', 'the process that started this Taskman went away')));
  process.channel.unref(); // the channel is watched, not a reason to stay alive
  return AbortSignal.any([signal, gone.signal]);
}

function defineUp(command: Command, { signal, io }: CliContext): void {
  withServerOptions(command)
    .option('--workers <n>', 'worker processes (default: the number of cores)', intOption('--workers', 1, 1024))
    .option('--node <name>', 'the node’s name (default: the host name)')
    .option('--ca <file>', 'with --tls-cert: the PEM authority the Taskman checks the Jobman’s certificate against (default: the certificate itself)')
    .action(async (flags: ServerFlags & { workers?: number; node?: string; ca?: string }) => {
      const node = flags.node ?? defaultNodeName();
      const jobman = await startJobman(await jobmanOptions(flags));
      let taskman: ChildProcess | undefined;
      try {
        const joined = once(jobman.nodes, 'joined', { signal: AbortSignal.any([signal, AbortSignal.timeout(JOIN_TIMEOUT_MS)]) }).catch((err: unknown) => {
          if (signal.aborted) throw err;
          throw new DataboxError('ERR_TASKMAN_JOIN', `the Taskman did not join the Jobman within ${JOIN_TIMEOUT_MS / 1000} s`);
        });
        taskman = spawnTaskman(jobman, flags, node);
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
          taskman = spawnTaskman(jobman, flags, node);
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
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (with --tls-key)')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option('--insecure', 'serve plain HTTP on an address other than loopback (tokens cross the network in clear)')
    .option('--allow-read <rule>', 'storage tasks may read: a path prefix, s3://bucket/prefix, http(s)://host/prefix, or * for all; repeatable (default: the current directory, the --home directory and the OS temp directory)', (v: string, all: string[] = []) => [...all, v])
    .option('--allow-write <rule>', 'storage tasks may write, as --allow-read; repeatable (default: as --allow-read’s)', (v: string, all: string[] = []) => [...all, v])
    .option('--max-body-mb <n>', 'largest request body the Jobman reads, in MiB (a larger one gets 413 ERR_BODY_TOO_LARGE)', intOption('--max-body-mb', MIN_BODY_BYTES / MiB, 4096), 64)
    .option('--max-subtasks <n>', 'most subtasks one job may have (a larger job gets 413 ERR_JOB_TOO_LARGE)', intOption('--max-subtasks', 1, MAX_INPUTS), 10_000_000)
    .option('--init', 'start a new, empty job store where the home was used before but its database is missing, empty or unreadable (an unreadable one is renamed aside)')
    .option('--pinned-node-grace-ms <n>', 'how long a job pinned to a node that is gone waits for it before it fails (ERR_NODE_GONE)', intOption('--pinned-node-grace-ms', 0, 7 * 24 * 3_600_000), 60_000)
    .option('--forget-dead-nodes-after-ms <n>', 'how long a dead node stays listed by `databox nodes`', intOption('--forget-dead-nodes-after-ms', 1000, 7 * 24 * 3_600_000), 600_000);
}

/**
 * The storage allow-lists of `databox jobman` and `databox up`. Each list not given is the current
 * directory tree, the home and the OS temp directory; a relative path is made absolute against the
 * current directory, and `~/` is expanded.
 */
export function accessRules(flags: { allowRead?: string[]; allowWrite?: string[] }, home: string): { allowRead: string[]; allowWrite: string[] } {
  const defaults = [process.cwd(), home, tmpdir()];
  const absolute = (rule: string): string => (rule === '*' || /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(rule) ? rule : resolve(expandHome(rule)));
  return { allowRead: flags.allowRead?.map(absolute) ?? defaults, allowWrite: flags.allowWrite?.map(absolute) ?? defaults };
}

const MiB = 1024 * 1024;

/** How long `databox up` waits for its Taskman to join, and how often it restarts one that dies. */
const JOIN_TIMEOUT_MS = 60_000;
const MAX_TASKMAN_RESTARTS = 5;

interface ServerFlags {
  home: string;
  host: string;
  port: number;
  heartbeatMs: number;
  tlsCert?: string;
  tlsKey?: string;
  insecure?: boolean;
  allowRead?: string[];
  allowWrite?: string[];
  maxBodyMb: number;
  maxSubtasks: number;
  init?: boolean;
  pinnedNodeGraceMs: number;
  forgetDeadNodesAfterMs: number;
}

/** The Jobman accepts the raster jobs' tasks (their names only: it never runs them). */
async function jobmanOptions(flags: ServerFlags): Promise<JobmanOptions> {
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) throw new UsageError('--tls-cert and --tls-key go together: give both, or neither');
  const pem = (file: string, flag: string): Promise<string> =>
    readFile(file, 'utf8').catch((err: unknown) => {
      throw new UsageError(`${flag} ${file}: ${messageOf(err)}`);
    });
  const tls = flags.tlsCert !== undefined && flags.tlsKey !== undefined ? { cert: await pem(flags.tlsCert, '--tls-cert'), key: await pem(flags.tlsKey, '--tls-key') } : undefined;
  const home = resolveHome(expandHome(flags.home));
  return {
    home,
    host: flags.host,
    port: flags.port,
    heartbeatMs: flags.heartbeatMs,
    maxBodyBytes: flags.maxBodyMb * MiB,
    maxSubtasksPerJob: flags.maxSubtasks,
    init: flags.init === true,
    pinnedNodeGraceMs: flags.pinnedNodeGraceMs,
    forgetDeadNodesAfterMs: flags.forgetDeadNodesAfterMs,
    taskPackages: [RASTER_JOB_TASKS],
    ...accessRules(flags, home),
    ...(tls !== undefined ? { tls } : {}),
    ...(flags.insecure === true ? { insecure: true } : {}),
  };
}

/**
 * The Taskman of `databox up`: a child process running `databox taskman`, sharing stderr. It shares the
 * Jobman's home, so it makes its node token from the node secret there (nothing secret travels in its
 * environment, which /proc shows to processes of the same user); and it watches an IPC channel, so it
 * stops when `up` goes, even by SIGKILL.
 */
function spawnTaskman(jobman: Jobman, flags: { workers?: number; ca?: string; tlsCert?: string }, node: string): ChildProcess {
  const fromSource = import.meta.url.endsWith('.ts');
  const main = fileURLToPath(new URL(fromSource ? '../main.ts' : '../main.js', import.meta.url));
  const args = [...(fromSource ? ['--import', 'tsx'] : []), main, 'taskman', '--jobman', jobman.url, '--home', jobman.home, '--node', node];
  if (flags.workers !== undefined) args.push('--workers', String(flags.workers));
  // A self-signed certificate is its own authority.
  const ca = flags.ca ?? flags.tlsCert;
  if (jobman.url.startsWith('https:') && ca !== undefined) args.push('--ca', ca);
  const { DATABOX_TOKEN: _api, DATABOX_NODE_TOKEN: _node, ...env } = process.env;
  return spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
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
