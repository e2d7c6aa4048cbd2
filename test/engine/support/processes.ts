import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CLI } from '../../helpers/cli.js';
import { nodeTokenFromHome } from '../../../src/engine/index.js';

/** A `databox` process started by a test, with everything it printed so far. */
export interface Daemon {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves when `pattern` shows up in its stderr (from `after` characters on); rejects if it exits first or `timeoutMs` pass. */
  waitForLog(pattern: RegExp, options?: { after?: number; timeoutMs?: number }): Promise<void>;
  /** The same, on its stdout. */
  waitForOut(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or signal) once it exited. */
  exited: Promise<number | NodeJS.Signals>;
}

export function startDaemon(args: string[], env: NodeJS.ProcessEnv = {}): Daemon {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const changed = new EventTarget();
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    changed.dispatchEvent(new Event('data'));
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    changed.dispatchEvent(new Event('data'));
  });
  const exited = once(child, 'exit').then(([code, signal]) => (signal ?? code) as number | NodeJS.Signals);
  const waitFor = (read: () => string, pattern: RegExp, after: number, timeoutMs: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => pattern.test(read().slice(after));
      if (check()) return resolve();
      const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern} from databox ${args.join(' ')}; stderr:\n${err}`)), timeoutMs);
      const onData = (): void => {
        if (check()) finish();
      };
      const finish = (e?: Error): void => {
        clearTimeout(timer);
        changed.removeEventListener('data', onData);
        if (e) reject(e);
        else resolve();
      };
      changed.addEventListener('data', onData);
      void exited.then((how) => finish(check() ? undefined : new Error(`databox ${args.join(' ')} exited (${how}) before printing ${pattern}; stderr:\n${err}`)));
    });
  return {
    child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    waitForLog: (pattern, o = {}) => waitFor(() => err, pattern, o.after ?? 0, o.timeoutMs ?? 30_000),
    waitForOut: (pattern, timeoutMs = 30_000) => waitFor(() => out, pattern, 0, timeoutMs),
    exited,
  };
}

/**
 * A cluster of real processes for a test: one Jobman (`databox jobman`) and any number of Taskmen
 * (`databox taskman`), in a temporary home, all killed and removed by `close()`.
 */
export class TestCluster {
  readonly daemons: Daemon[] = [];
  url = '';
  token = '';
  jobman: Daemon | undefined;
  private constructor(
    readonly home: string,
    readonly heartbeatMs: number,
  ) {}

  static async create(options: { heartbeatMs?: number } = {}): Promise<TestCluster> {
    return new TestCluster(await mkdtemp(join(tmpdir(), 'databox-cluster-')), options.heartbeatMs ?? 200);
  }

  /** Starts (or restarts, on the same database and port) the Jobman; resolves once it listens. */
  async startJobman(extra: string[] = []): Promise<Daemon> {
    const port = this.url === '' ? '0' : new URL(this.url).port;
    const d = startDaemon(['jobman', '--home', this.home, '--port', port, '--heartbeat-ms', String(this.heartbeatMs), ...extra]);
    this.daemons.push(d);
    await d.waitForOut(/jobman listening on (\S+)\n/);
    this.url = /jobman listening on (\S+)\n/.exec(d.stdout())![1]!;
    this.token = (await readFile(join(this.home, 'token'), 'utf8')).trim();
    this.jobman = d;
    return d;
  }

  /** The token a Taskman joins with as `node`, made from the node secret the Jobman wrote in the home. */
  nodeToken(node: string): Promise<string> {
    return nodeTokenFromHome(this.home, node);
  }

  /** Starts a Taskman (with more environment for it and its workers, such as S3 settings); resolves once it joined. */
  async startTaskman(node: string, workers = 2, env: NodeJS.ProcessEnv = {}): Promise<Daemon> {
    const d = startDaemon(['taskman', '--jobman', this.url, '--node', node, '--workers', String(workers), '--home', this.home], { ...env, DATABOX_NODE_TOKEN: await this.nodeToken(node) });
    this.daemons.push(d);
    await d.waitForLog(/joined the Jobman/);
    // Started means able to take work: every worker has loaded its task packages and said it is alive.
    await this.until(async () => {
      const view = (await this.nodes()).find((n) => n.name === node);
      return view !== undefined && view.workers.length === workers && view.workers.every((w) => w.state !== 'starting');
    }, `the workers of ${node} to be ready`, 60_000);
    return d;
  }

  async api<T = unknown>(path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> {
    const res = await fetch(`${this.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${this.token}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    return { status: res.status, body: (text === '' ? null : JSON.parse(text)) as T };
  }

  async submit(body: Record<string, unknown>): Promise<JobView> {
    const r = await this.api<JobView>('/v1/jobs', { method: 'POST', body });
    if (r.status !== 201) throw new Error(`submit failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /** Resolves with the job once it finished, following its event stream (re-subscribing if the Jobman restarts). */
  async waitForJob(id: number, timeoutMs = 60_000): Promise<JobView> {
    const deadline = Date.now() + timeoutMs;
    for (let tries = 0; tries < 200 && Date.now() < deadline; tries++) {
      try {
        const res = await fetch(`${this.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${this.token}` }, signal: AbortSignal.timeout(deadline - Date.now()) });
        const text = await res.text(); // the stream ends after its `end` event
        const m = /event: end\ndata: (.*)\n/.exec(text);
        if (m) return JSON.parse(m[1]!) as JobView;
      } catch (err) {
        if ((err as Error).name === 'TimeoutError') break;
      }
      // The Jobman is down (a crash test): wait for it to answer again.
      await this.until(async () => (await fetch(`${this.url}/healthz`).then((r) => r.ok).catch(() => false)), 'the Jobman to answer', deadline - Date.now());
    }
    throw new Error(`job ${id} did not finish within ${timeoutMs} ms`);
  }

  /** Follows a job's event stream until `test` holds for it (or it ended); resolves with that view. */
  async waitForProgress(id: number, test: (job: JobView) => boolean, timeoutMs = 30_000): Promise<JobView> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`job ${id}: condition not met within ${timeoutMs} ms`)), timeoutMs);
    try {
      const res = await fetch(`${this.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${this.token}` }, signal: controller.signal });
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of res.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const data = /^data: (.*)$/m.exec(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (data === null) continue;
          const job = JSON.parse(data[1]!) as JobView;
          if (test(job)) return job;
        }
      }
      throw new Error(`job ${id} ended without meeting the condition`);
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
  }

  /** Every result row of a job. */
  async results(id: number): Promise<ResultRow[]> {
    const rows: ResultRow[] = [];
    for (let from: number | null = 0, pages = 0; from !== null && pages < 1000; pages++) {
      const r: { body: { results: ResultRow[]; next: number | null } } = await this.api<{ results: ResultRow[]; next: number | null }>(`/v1/jobs/${id}/results?from=${from}&limit=10000`);
      rows.push(...r.body.results);
      from = r.body.next;
    }
    return rows;
  }

  async nodes(): Promise<NodeView[]> {
    return (await this.api<{ nodes: NodeView[] }>('/v1/nodes')).body.nodes;
  }

  /** Polls `check` (bounded: every 20 ms, until `timeoutMs`) until it holds. */
  async until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < 100_000; i++) {
      if (await check()) return;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }

  async close(): Promise<void> {
    for (const d of this.daemons) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    await Promise.all(this.daemons.map((d) => d.exited));
    await rm(this.home, { recursive: true, force: true });
  }
}

export interface JobView {
  id: number;
  state: string;
  total: number;
  restarts: number;
  counts: Record<'queued' | 'dispatched' | 'running' | 'succeeded' | 'failed' | 'cancelled', number>;
  createdAt: number;
  finishedAt: number | null;
}
export interface ResultRow {
  index: number;
  state: string;
  attempt: number;
  node: string | null;
  result: unknown;
}
export interface NodeView {
  name: string;
  state: 'alive' | 'dead';
  inFlight: number;
  workers: { slot: number; pid: number | null; state: string; holds: number }[];
}

/** Checks that a job's results are exactly its input indexes, each once. */
export function expectEachIndexOnce(rows: readonly ResultRow[], total: number): string | undefined {
  if (rows.length !== total) return `expected ${total} result rows, got ${rows.length}`;
  for (let i = 0; i < total; i++) {
    const r = rows[i]!;
    if (r.index !== i || r.state !== 'succeeded' || r.result !== i) return `row ${i}: ${JSON.stringify(r)}`;
  }
  return undefined;
}
