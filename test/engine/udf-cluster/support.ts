import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { vi } from 'vitest';

import { Cluster } from '../../../src/engine/index.js';
import { JobmanClient, type NodeView } from '../../../src/engine/client/index.js';
import { testContext } from '../udf/support.js';
import type { UdfContext } from '../../../src/engine/udf/define.js';
import { CLI } from '../../helpers/cli.js';
import { TestCluster } from '../support/processes.js';

/** The checked-in UDF modules these tests run (see fixtures/README.md). */
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** The root of this checkout: the databox-mr package the workers run. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The path of a checked-in UDF module. */
export const fixture = (name: string): string => join(FIXTURES, name);

/** A Taskman process started by a test, with what it printed so far. */
export interface TaskmanProcess {
  child: ChildProcess;
  pid: number;
  stderr(): string;
  exited: Promise<unknown>;
}

/**
 * A cluster of real processes for the RS-UDF tests: a Jobman (from the shared TestCluster helper, so
 * heartbeats every 200 ms and a worker silent for 600 ms is dead) and one Taskman with its workers,
 * started from the built CLI with `--home` inside the cluster's temp directory, so the workers' UDF
 * cache is the test's own and not `~/.databox/cache`.
 */
export class UdfTestCluster {
  private constructor(
    readonly processes: TestCluster,
    readonly taskman: TaskmanProcess,
    readonly client: JobmanClient,
    /** The client's view of the cluster: what a program calls `map` and `mapReduce` on. */
    readonly cluster: Cluster,
    /** The Taskman's node name. */
    readonly node: string,
  ) {}

  /** Starts a Jobman and a Taskman of `workers` workers; resolves once every worker has said it is alive. */
  static async start(options: { node?: string; workers?: number } = {}): Promise<UdfTestCluster> {
    const node = options.node ?? 'a';
    const workers = options.workers ?? 2;
    const processes = await TestCluster.create();
    let taskman: TaskmanProcess | undefined;
    try {
      await processes.startJobman();
      taskman = startTaskman(processes, node, workers, await processes.nodeToken(node));
      await waitForStderr(taskman, /joined the Jobman/, 30_000);
      const client = await JobmanClient.open({ url: processes.url, token: processes.token });
      const started = new UdfTestCluster(processes, taskman, client, Cluster.of(client), node);
      await started.waitForWorkers((ws) => ws.length === workers && ws.every((w) => w.pid !== null && w.state === 'idle'), `${workers} idle workers`);
      return started;
    } catch (err) {
      await stopAll(processes, taskman);
      throw err;
    }
  }

  /** The Jobman's URL. */
  get url(): string {
    return this.processes.url;
  }

  /** The Jobman's API token. */
  get token(): string {
    return this.processes.token;
  }

  /** This node's view, as the Jobman has it. */
  async nodeView(): Promise<NodeView> {
    const view = (await this.client.nodes()).find((n) => n.name === this.node);
    if (view === undefined) throw new Error(`node ${this.node} is not known to the Jobman at ${this.url}`);
    return view;
  }

  /** The pids of this node's workers, as its latest heartbeat reported them. */
  async workerPids(): Promise<number[]> {
    return (await this.nodeView()).workers.flatMap((w) => (w.pid === null ? [] : [w.pid]));
  }

  /**
   * Waits until the node's workers, as the Jobman sees them, pass `test`. Their state reaches the Jobman
   * with the Taskman's heartbeats and has no event stream, so this polls (bounded) like TestCluster.until.
   */
  async waitForWorkers(test: (workers: NodeView['workers']) => boolean, what: string, timeoutMs = 20_000): Promise<NodeView['workers']> {
    let last: NodeView['workers'] = [];
    await this.processes.until(
      async () => {
        const view = (await this.client.nodes()).find((n) => n.name === this.node);
        last = view?.state === 'alive' ? view.workers : [];
        return test(last);
      },
      `node ${this.node} to have ${what}`,
      timeoutMs,
    );
    return last;
  }

  /** True while the Taskman process this cluster started is running. */
  taskmanAlive(): boolean {
    return this.taskman.child.exitCode === null && this.taskman.child.signalCode === null;
  }

  /** Stops the Taskman (SIGTERM, so it stops its workers) and the Jobman, and removes the temp home. */
  async close(): Promise<void> {
    await stopAll(this.processes, this.taskman);
  }
}

function startTaskman(processes: TestCluster, node: string, workers: number, token: string): TaskmanProcess {
  const args = ['taskman', '--jobman', processes.url, '--node', node, '--workers', String(workers), '--home', processes.home];
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, DATABOX_NODE_TOKEN: token }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stdout!.resume();
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return { child, pid: child.pid!, stderr: () => err, exited: once(child, 'exit') };
}

/** Resolves once the Taskman printed `pattern`; rejects if it exits first or `timeoutMs` pass. */
function waitForStderr(t: TaskmanProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const finish = (e?: Error): void => {
      clearTimeout(timer);
      t.child.stderr!.off('data', onData);
      t.child.off('exit', onExit);
      if (e === undefined) resolve();
      else reject(e);
    };
    const onData = (): void => {
      if (pattern.test(t.stderr())) finish();
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      finish(new Error(`the Taskman exited (${signal ?? code}) before printing ${pattern}; stderr:\n${t.stderr()}`));
    const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern} from the Taskman; stderr:\n${t.stderr()}`)), timeoutMs);
    t.child.stderr!.on('data', onData);
    t.child.once('exit', onExit);
    onData();
  });
}

async function stopAll(processes: TestCluster, taskman: TaskmanProcess | undefined): Promise<void> {
  if (taskman !== undefined && taskman.child.exitCode === null && taskman.child.signalCode === null) {
    // SIGTERM first: the Taskman then kills and reaps its workers; SIGKILL only if it hangs.
    const timer = setTimeout(() => taskman.child.kill('SIGKILL'), 10_000);
    taskman.child.kill('SIGTERM');
    await taskman.exited;
    clearTimeout(timer);
  }
  await processes.close();
}

/** True while a process with this pid exists (a zombie counts until it is reaped). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The processes descended from `pid` (children, grandchildren...), read from /proc; empty where there
 * is no /proc (the callers then check what they know by pid instead).
 */
export function descendantsOf(pid: number): number[] {
  if (process.platform !== 'linux') return [];
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // ended while we looked
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read from the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  for (let todo = [pid]; todo.length > 0; ) {
    const next = todo.flatMap((p) => children.get(p) ?? []);
    found.push(...next);
    todo = next;
  }
  return found;
}

/**
 * A fresh temp directory that TMPDIR points at, for this process and every process it starts (Jobman,
 * Taskman, workers, CLI runs, an embedded cluster), until `remove` restores TMPDIR and deletes it with
 * everything in it: what those processes leave in their temp directory goes with the test.
 */
export function ownTmpdir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `databox-${prefix}-`));
  vi.stubEnv('TMPDIR', dir);
  return {
    dir,
    remove: () => {
      vi.unstubAllEnvs();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A context good enough to run a UDF's map and reduce in this process, as a single machine would. */
export function localContext(index = 0): UdfContext {
  return testContext('local', index);
}

/** One failed attempt, as a failed job's error lists it. */
export interface AttemptError {
  index: number;
  attempt: number;
  node: string | null;
  message: string;
  code?: string;
  stack?: string;
}

/** What a UDF job that failed rejects with: code ERR_JOB_FAILED and the errors of its failed attempts. */
export type FailedJob = Error & { code: string; errors: AttemptError[] };

/** The error of a UDF job expected to fail; fails the test unless it is a failed job with attempt errors. */
export async function jobFailure(promise: Promise<unknown>): Promise<FailedJob> {
  const err = await rejectionOf(promise);
  if (err.code !== 'ERR_JOB_FAILED' || !Array.isArray((err as Partial<FailedJob>).errors)) {
    throw new Error(`expected a failed job (ERR_JOB_FAILED with attempt errors), got ${err.code ?? err.name}: ${err.message}`, { cause: err });
  }
  return err as FailedJob;
}

/** What a promise rejected with; fails the test when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected the promise to reject, and it resolved');
}
