import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { availableParallelism, homedir } from 'node:os';
import { dirname, join } from 'node:path';

import { DataboxError, messageOf } from '../../errors.js';
import { DROPPED_CODE, heartbeatReplySchema, joinReplySchema, type Heartbeat, type HeartbeatReply, type WorkerView } from '../api/schemas.js';
import { nodeOfToken } from '../credentials.js';
import { jobmanFetch, type Fetch } from '../api/transport.js';
import { Deque } from '../deque.js';
import type { ReportedChange } from '../jobman/types.js';
import type { WorkSubtask } from '../api/worker-protocol.js';
import { ACCESS_POLICY_ENV, type AccessRules } from '../../storage/index.js';
import { localStorageSettings } from '../storage-settings.js';
import { TASK_PACKAGES_ENV, TaskRegistry, type TaskPackage } from '../tasks/registry.js';
import { MAX_BUNDLE_BYTES } from '../udf/limits.js';
import { takeHeartbeatChanges } from './heartbeat-size.js';
import { NodeSampler } from './node-metrics.js';
import { WorkerSupervisor, type Outcome } from './worker-supervisor.js';

export interface TaskmanOptions {
  /** The Jobman's base URL. */
  jobman: string;
  /**
   * This node's token (`databox node-token NODE`; see credentials.ts). The API token is refused: it does
   * not open the Taskman link.
   */
  token: string;
  /** This node's name; it must be the name the token was minted for. @defaultValue the token's node */
  node?: string;
  /** PEM of the certificate authority an https Jobman's certificate is checked against. @defaultValue the system's */
  ca?: string;
  /**
   * Where the Taskman notes its incarnation (`taskman-NODE.json`), so that, started again after a crash,
   * it replaces its dead predecessor at once instead of waiting for the Jobman to declare it dead.
   * @defaultValue ~/.databox
   */
  home?: string;
  /** Worker processes. @defaultValue the number of cores */
  workers?: number;
  /** How many batches per worker to keep on the deque beyond what the workers hold. @defaultValue 2 */
  prefetch?: number;
  /** Where workers cache UDF bundles. @defaultValue HOME/cache */
  cacheDir?: string;
  /** Where to say what happens (joins, drops, lost connection); nothing when undefined. */
  log?: (line: string) => void;
  /** Gives up joining when aborted (a Ctrl-C while the Jobman is not there yet). */
  signal?: AbortSignal;
  /** Task packages the workers may run, beyond the diagnostic built-ins (see tasks/registry.ts). @defaultValue none */
  taskPackages?: readonly TaskPackage[];
}

export interface TaskmanEvents {
  /** Joined the Jobman (again, after a drop). */
  joined: [incarnation: string];
  /** The Jobman said to drop all work (this node was declared dead, or the Jobman restarted). */
  dropped: [subtasks: number];
}

/** The Jobman dropped this node, or refused a heartbeat as malformed: resending would not help. */
function isRefusal(err: unknown): err is LinkError {
  return err instanceof LinkError && (err.code === DROPPED_CODE || err.status === 400 || err.status === 413);
}

/** Why a heartbeat failed, when the Jobman answered with an error. */
class LinkError extends DataboxError {
  constructor(
    code: string,
    message: string,
    readonly status: number,
  ) {
    super(code, message);
  }
}

/**
 * A Taskman: one per node. It joins the Jobman, runs `workers` worker processes, and keeps one request
 * at a time going to the Jobman: a heartbeat that carries the state changes of its subtasks up and brings
 * work and kill orders down. New work waits on the Taskman's own deque (priority work at its head); idle
 * workers pull from it. It asks for `prefetch` batches per worker beyond what its workers hold, so a
 * worker rarely waits for the network.
 */
export class Taskman extends EventEmitter<TaskmanEvents> {
  readonly node: string;
  private readonly deque = new Deque<WorkSubtask>(1024);
  private supervisor!: WorkerSupervisor;
  private readonly sampler = new NodeSampler();
  private pending: ReportedChange[] = [];
  private incarnation = '';
  /** This incarnation's heartbeats so far, and the last one whose answer was applied. */
  private seq = 0;
  private ack = 0;
  private heartbeatMs = 1000;
  /** The Jobman's storage allow-lists, from its first join reply, for the workers; null: none; undefined: not joined yet. */
  private access: AccessRules | null | undefined;
  private stopping = false;
  private readonly stopped = new AbortController();
  private nudge: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly log: (line: string) => void;
  private readonly fetch: Fetch;
  private readonly home: string;
  /** The incarnation this node had before a restart, which this one may replace once, at its first join. */
  private replaces: string | undefined;

  private constructor(private readonly options: TaskmanOptions) {
    super();
    const tokenNode = nodeOfToken(options.token);
    if (tokenNode === undefined) {
      throw new DataboxError('ERR_NODE_TOKEN', 'A Taskman needs a node token (node.NAME.…), not the API token: mint one with `databox node-token NODE` where the Jobman runs');
    }
    if (options.node !== undefined && options.node !== tokenNode) {
      throw new DataboxError('ERR_NODE_TOKEN', `The node token is for node ${JSON.stringify(tokenNode)}, but this Taskman is node ${JSON.stringify(options.node)}`);
    }
    this.node = tokenNode;
    this.log = options.log ?? (() => undefined);
    this.fetch = jobmanFetch(options.ca);
    this.home = options.home ?? join(homedir(), '.databox');
  }

  /** The file where this node's incarnation is noted. */
  private get incarnationFile(): string {
    return join(this.home, `taskman-${this.node}.json`);
  }

  /** Starts a Taskman: joins the Jobman (waiting for it if needed), starts the workers, and begins pulling. */
  static async start(options: TaskmanOptions): Promise<Taskman> {
    const t = new Taskman(options);
    t.replaces = await readIncarnation(t.incarnationFile);
    await t.join();
    options.signal?.throwIfAborted();
    t.supervisor = new WorkerSupervisor(t.deque, {
      workers: t.workers,
      heartbeatMs: t.heartbeatMs,
      // No credential and no Jobman address: UDFs run in the workers, so the workers ask this Taskman
      // for bundles instead of fetching them.
      fetchBundle: (sha256) => t.get(`/v1/udfs/${sha256}`, MAX_BUNDLE_BYTES, 60_000),
      env: {
        DATABOX_NODE: t.node,
        DATABOX_CACHE_DIR: options.cacheDir ?? join(t.home, 'cache'),
        [TASK_PACKAGES_ENV]: JSON.stringify(new TaskRegistry(options.taskPackages).packages),
        ...(t.access != null ? { [ACCESS_POLICY_ENV]: JSON.stringify(t.access) } : {}),
      },
    });
    t.supervisor.on('started', (s, slot) => t.change({ id: s.id, attempt: s.attempt, to: 'running', worker: String(slot) }));
    t.supervisor.on('result', (s, outcome) => t.change(resultChange(s, outcome)));
    t.supervisor.on('returned', (lost, reason) => {
      // A worker died holding these. The death counts as a failed attempt, so the job's failure policy
      // decides (a retry comes back at the head of the Jobman's deque, and so to this node's next pull),
      // and a subtask that always kills its worker cannot loop forever. On stop, the Jobman requeues them.
      if (t.stopping) return;
      for (const s of lost) t.change({ id: s.id, attempt: s.attempt, to: 'failed', error: { message: `the worker process died while running it: ${reason}`, code: 'ERR_WORKER_DIED' } });
    });
    t.supervisor.on('spawned', () => t.wakeLink());
    t.loop = t.run();
    return t;
  }

  get workers(): number {
    return this.options.workers ?? availableParallelism();
  }

  /** The workers and what they hold, for status. */
  workerViews(): WorkerView[] {
    return this.supervisor.workers().map((w) => ({ slot: w.slot, pid: w.pid ?? null, state: w.state, holds: w.holds.length, heartbeatAgeMs: w.heartbeatAgeMs < 0 ? null : w.heartbeatAgeMs, progress: w.progress }));
  }

  /**
   * Stops: takes no more work, stops the workers, reports what finished, and leaves the Jobman, which
   * puts what was unfinished back at the head of its deque.
   */
  async stop(): Promise<void> {
    if (this.stopping) return this.loop;
    this.stopping = true;
    await this.supervisor.stop();
    this.wakeLink();
    await this.loop;
    try {
      if (this.pending.length > 0) await this.heartbeat(0);
      await this.post(`/v1/nodes/${this.node}/leave`, { incarnation: this.incarnation });
    } catch (err) {
      this.log(`could not say goodbye to the Jobman (${messageOf(err)}); it will notice the silence`);
    }
    this.stopped.abort();
  }

  private change(c: ReportedChange): void {
    this.pending.push(c);
    this.wakeLink();
  }

  private wakeLink(): void {
    this.nudge?.();
  }

  /** How many subtasks to ask for: what the workers need (see `WorkerSupervisor.demand`) less what the deque holds. */
  private want(): number {
    if (this.stopping) return 0;
    return Math.max(0, this.supervisor.demand(this.options.prefetch ?? 2) - this.deque.size);
  }

  private async join(): Promise<void> {
    this.incarnation = randomUUID();
    this.seq = 0;
    this.ack = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        const body = { incarnation: this.incarnation, workers: this.workers, startedAt: Date.now(), storage: localStorageSettings(), ...(this.replaces !== undefined ? { replaces: this.replaces } : {}) };
        const reply = joinReplySchema.parse(await this.post(`/v1/nodes/${this.node}/join`, body));
        // Only a fresh start replaces: a Taskman that was dropped and joins again must not push out one
        // that has taken its name meanwhile.
        this.replaces = undefined;
        await writeIncarnation(this.incarnationFile, this.incarnation).catch((err: unknown) => this.log(`could not note the incarnation in ${this.incarnationFile}: ${messageOf(err)}`));
        this.heartbeatMs = reply.heartbeatMs;
        // Workers start after the first join and keep the rules it gave them.
        const access = reply.access ?? null;
        if (this.access === undefined) this.access = access;
        else if (JSON.stringify(access) !== JSON.stringify(this.access)) this.log(`the Jobman's storage allow-lists changed (now ${JSON.stringify(access)}); the workers keep ${JSON.stringify(this.access)} until this Taskman restarts`);
        this.log(`joined the Jobman at ${this.options.jobman} as node ${this.node} with ${this.workers} workers`);
        this.emit('joined', this.incarnation);
        return;
      } catch (err) {
        // Not reachable yet, or our previous self is not yet declared dead: wait and try again. Anything
        // else (a bad token, a bad node name) will not get better.
        const retry = err instanceof LinkError ? err.code === 'ERR_NODE_CONFLICT' : !(err instanceof DataboxError);
        if (!retry || this.stopping) throw err;
        this.options.signal?.throwIfAborted();
        if (attempt === 0 || attempt % 20 === 0) this.log(`waiting to join the Jobman: ${messageOf(err)}`);
        await this.pause(Math.min(this.heartbeatMs, 100 * 2 ** Math.min(attempt, 4)));
      }
    }
  }

  /** The link loop: one heartbeat at a time, sent at once while there is news or work wanted, else every interval. */
  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      let reply: HeartbeatReply | undefined;
      try {
        reply = await this.heartbeat(this.want());
        failures = 0;
      } catch (err) {
        if (this.stopping) break;
        // Dropped by the Jobman; or a heartbeat it refuses as malformed, which resending would not mend:
        // either way, let go of everything and join afresh (the Jobman requeues what this node held).
        if (isRefusal(err)) {
          if (err.code !== DROPPED_CODE) {
            this.log(`the Jobman refused a heartbeat (${err.message}); leaving and joining again`);
            await this.post(`/v1/nodes/${this.node}/leave`, { incarnation: this.incarnation }).catch(() => undefined);
          }
          this.drop(err.message);
          try {
            await this.join();
          } catch (joinErr) {
            this.log(`could not join again: ${messageOf(joinErr)}`);
            await this.pause(this.heartbeatMs);
          }
          continue;
        }
        failures++;
        if (failures === 1 || failures % 10 === 0) this.log(`heartbeat failed (${messageOf(err)}); retrying`);
        await this.pause(Math.min(this.heartbeatMs, 50 * 2 ** Math.min(failures, 5)));
        continue;
      }
      this.apply(reply);
      // Go again at once while there is news or the workers want work (the Jobman holds a request that
      // finds none, so that is a long poll, not a busy loop); else heartbeat once per interval.
      if (this.pending.length > 0 || this.want() > 0) continue;
      await this.pause(this.heartbeatMs, true);
    }
  }

  private async heartbeat(want: number): Promise<HeartbeatReply> {
    // A bounded batch per request, in count and bytes; the rest goes in the next one, sent at once.
    const { changes, rest } = takeHeartbeatChanges(this.pending, MAX_CHANGES);
    this.pending = rest;
    const pids = this.supervisor.workers().flatMap((w) => (w.pid === undefined ? [] : [w.pid]));
    const seq = ++this.seq;
    const body: Heartbeat = { incarnation: this.incarnation, seq, ack: this.ack, want, changes, workers: this.workerViews(), metrics: await this.sampler.sample(pids) };
    try {
      const reply = heartbeatReplySchema.parse(await this.post(`/v1/nodes/${this.node}/heartbeat`, body, this.heartbeatMs * 3 + 5000));
      this.ack = seq; // applied by the caller before the next heartbeat
      return reply;
    } catch (err) {
      // Not acknowledged: send them again (commits are idempotent per subtask and attempt), unless the
      // Jobman dropped us or refused them, in which case they are stale or hopeless.
      if (!isRefusal(err)) this.pending = changes.concat(this.pending);
      throw err;
    }
  }

  private apply(reply: HeartbeatReply): void {
    if (reply.kill.length > 0) {
      const killed = new Set(reply.kill.map((k) => `${k.id}/${k.attempt}`));
      for (const k of reply.kill) this.supervisor.kill(k.id);
      // Kill orders are rare: rebuilding the deque without them is simpler than an index into it.
      const keep: WorkSubtask[] = [];
      for (let s = this.deque.popHead(); s !== undefined; s = this.deque.popHead()) if (!killed.has(`${s.id}/${s.attempt}`)) keep.push(s);
      for (const s of keep) this.deque.pushTail(s);
    }
    if (reply.work.length === 0) return;
    const priority = reply.work.filter((s) => s.priority);
    if (priority.length > 0) this.deque.pushHeadAll(priority);
    for (const s of reply.work) if (!s.priority) this.deque.pushTail(s);
    this.supervisor.wake();
  }

  /** The Jobman let this node go: everything it holds has gone to other nodes, so stop it all. */
  private drop(why: string): void {
    const killed = this.supervisor.killAll();
    const queued = this.deque.size;
    while (this.deque.popHead() !== undefined);
    this.pending = [];
    this.log(`dropped ${killed} running and ${queued} queued subtasks: ${why}`);
    this.emit('dropped', killed + queued);
  }

  /** Waits `ms`, or less when `wakeable` and there is news; returns at once when stopping. */
  private pause(ms: number, wakeable = false): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.nudge = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.nudge = () => {
        if (wakeable || this.stopping) done();
      };
    });
  }

  /** GET `path` for bytes (a UDF bundle for a worker): at most `maxBytes`, with this Taskman's credential. */
  private async get(path: string, maxBytes: number, timeoutMs: number): Promise<Uint8Array> {
    let res: Response;
    try {
      res = await this.fetch(`${this.options.jobman}${path}`, {
        headers: { authorization: `Bearer ${this.options.token}` },
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.stopped.signal]),
      });
    } catch (err) {
      throw new DataboxError('ERR_UDF_FETCH', `Cannot GET ${path} from the Jobman at ${this.options.jobman}: ${messageOf(err)}`, { retryable: true, cause: err });
    }
    if (!res.ok) {
      const text = await res.text().catch(() => '');
      throw new DataboxError('ERR_UDF_FETCH', `The Jobman answered GET ${path} with HTTP ${res.status}: ${text.slice(0, 300)}`, { retryable: res.status >= 500 });
    }
    const length = Number(res.headers.get('content-length') ?? 0);
    const bytes = length > maxBytes ? undefined : new Uint8Array(await res.arrayBuffer());
    if (bytes === undefined || bytes.byteLength > maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw new DataboxError('ERR_UDF_FETCH', `The Jobman answered GET ${path} with more than ${maxBytes} bytes`);
    }
    return bytes;
  }

  private async post(path: string, body: unknown, timeoutMs = 30_000): Promise<unknown> {
    const res = await this.fetch(`${this.options.jobman}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.options.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.stopped.signal]),
    });
    const text = await res.text();
    if (res.status === 204) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new LinkError('ERR_LINK', `The Jobman answered ${path} with HTTP ${res.status} and no JSON: ${text.slice(0, 200)}`, res.status);
    }
    if (!res.ok) {
      const e = parsed as { code?: unknown; message?: unknown };
      throw new LinkError(typeof e.code === 'string' ? e.code : 'ERR_LINK', typeof e.message === 'string' ? e.message : `HTTP ${res.status} from ${path}`, res.status);
    }
    return parsed;
  }
}

function resultChange(s: WorkSubtask, outcome: Outcome): ReportedChange {
  if (outcome.ok) {
    // Results travel as JSON: a value JSON cannot carry (a BigInt, a cycle, a Map) fails the attempt here,
    // with a message that says so, rather than poisoning the heartbeat that carries it.
    const json = asJson(outcome.value);
    if (!json.ok) return { id: s.id, attempt: s.attempt, to: 'failed', error: { message: json.reason, code: 'ERR_RESULT_NOT_JSON' } };
    return { id: s.id, attempt: s.attempt, to: 'succeeded', result: json.value as ReportedChange['result'] };
  }
  const error: NonNullable<ReportedChange['error']> = { message: outcome.error.message };
  if (outcome.error.code !== undefined) error.code = outcome.error.code;
  if (outcome.error.stack !== undefined) error.stack = outcome.error.stack;
  return { id: s.id, attempt: s.attempt, to: 'failed', error };
}

/**
 * The value to send (undefined → null), or why JSON cannot carry it. Plain values, the usual result,
 * need no check; anything else is serialised once here, so a bad one fails alone, not its heartbeat.
 */
function asJson(value: unknown): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (value === undefined || value === null) return { ok: true, value: null };
  if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return { ok: true, value };
  try {
    if (JSON.stringify(value) === undefined) throw new Error(`a ${typeof value} is not JSON`);
    return { ok: true, value };
  } catch (err) {
    return { ok: false, reason: `the task's result cannot travel as JSON: ${messageOf(err)}` };
  }
}

/** The incarnation a Taskman of this node and home noted last, if any. */
async function readIncarnation(path: string): Promise<string | undefined> {
  try {
    const noted = JSON.parse(await readFile(path, 'utf8')) as { incarnation?: unknown };
    return typeof noted.incarnation === 'string' && /^[0-9a-f-]{8,64}$/.test(noted.incarnation) ? noted.incarnation : undefined;
  } catch {
    return undefined; // none noted, or unreadable: join as a newcomer
  }
}

async function writeIncarnation(path: string, incarnation: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ incarnation, pid: process.pid, at: new Date().toISOString() })}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

/** Most state changes in one heartbeat (the Jobman refuses more than 200,000). */
const MAX_CHANGES = 20_000;

/** Starts a Taskman; see {@link Taskman}. */
export function startTaskman(options: TaskmanOptions): Promise<Taskman> {
  return Taskman.start(options);
}
