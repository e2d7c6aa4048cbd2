import { fork, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { DataboxError, messageOf } from '../../errors.js';
import type { Deque } from '../deque.js';
import { IndexTree } from '../index-tree.js';
import { fromWorkerSchema, type ToWorker, type WorkSubtask } from '../api/worker-protocol.js';
import { workerScratchRoot } from '../api/udf-protocol.js';
import { endProcesses, readStat, uptimeTicks } from '../worker/process-tree.js';

/** How a supervisor runs its workers. */
export interface SupervisorOptions {
  /** Worker processes. */
  workers: number;
  /** How often workers say they are alive. @defaultValue 1000 */
  heartbeatMs?: number;
  /** Heartbeats a worker may miss before it is declared dead and killed. @defaultValue 3 */
  missedHeartbeats?: number;
  /** How long a new worker may take to start before it is declared dead. @defaultValue 15000 */
  startupMs?: number;
  /** More environment for the workers (the node's name, the UDF cache); credentials are taken out (see {@link workerEnv}). */
  env?: Record<string, string>;
  /**
   * Fetches the UDF bundle named `sha256` for a worker that asks (`GET /v1/udfs/:sha256` with the
   * Taskman's own credential: workers hold none). The worker checks the bytes' hash before it uses them.
   * @defaultValue none: a worker asking for a bundle is told this Taskman cannot fetch one
   */
  fetchBundle?: (sha256: string) => Promise<Uint8Array>;
}

/**
 * Environment variables a worker never inherits: the API token, the Jobman's address (workers never
 * talk to it), and anything named like a credential, since UDFs run in workers and read their
 * environment. The S3 credentials stay: the workers' storage layer reads and writes s3:// with them.
 */
const STORAGE_CREDENTIALS = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']);
const CREDENTIAL_NAME = /TOKEN|SECRET|PASSW|CREDENTIAL|PRIVATE|API_?KEY|AUTH/i;

/** The environment a worker starts with: `base` and `extra`, less the Taskman's credentials. */
export function workerEnv(base: NodeJS.ProcessEnv, extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...base, ...extra })) {
    if (value === undefined || name === 'DATABOX_JOBMAN') continue;
    if (CREDENTIAL_NAME.test(name) && !STORAGE_CREDENTIALS.has(name)) continue;
    env[name] = value;
  }
  return env;
}

/** How a subtask ended on a worker. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: { message: string; code?: string; stack?: string } };

export interface WorkerInfo {
  /** Stable slot number, 0..workers-1; a replacement takes its predecessor's slot. */
  slot: number;
  pid: number | undefined;
  state: 'starting' | 'idle' | 'busy';
  /** Subtask ids this worker holds. */
  holds: string[];
  /** Milliseconds since its last heartbeat. */
  heartbeatAgeMs: number;
  /** How far its running subtask is, 0..1, when the subtask says (`ctx.progress` of a UDF). */
  progress: number | null;
}

interface Slot {
  slot: number;
  child: ChildProcess;
  /** Subtasks the worker asked for and has not been given yet; 0 when it is not waiting. */
  wants: number;
  /** The size of its last pull: how many subtasks it takes at a time now. */
  batch: number;
  lastBeat: number;
  spawnedAt: number;
  /** When it started, in /proc clock ticks: processes started since may carry its UDFs' marker. */
  startTicks: number;
  /** Whether it leads its own session, so that every member of the session is its doing. */
  leader: boolean;
  /** The last `progress` of the subtask it runs: [subtask id, fraction]. */
  progress: [string, number] | undefined;
  timers: Map<string, NodeJS.Timeout>;
}

/**
 * Level two of the paper's scheduler, the process side: a Taskman's worker processes. Workers pull; the
 * supervisor answers from the head of the Taskman's deque. It keeps the level-two index (subtask → worker),
 * replaces a worker that exits, kills one that misses its heartbeats or overruns a subtask's time-out,
 * and says what happened: `result` (subtask, outcome) and `returned` (subtasks a dead worker held, for
 * the head of the Taskman's deque).
 */
export class WorkerSupervisor extends EventEmitter<{
  /** Handed to a worker (the Taskman reports it running). */
  started: [subtask: WorkSubtask, slot: number];
  result: [subtask: WorkSubtask, outcome: Outcome];
  returned: [subtasks: WorkSubtask[], reason: string];
  spawned: [slot: number, pid: number | undefined];
}> {
  private readonly slots: (Slot | undefined)[];
  private readonly index = new IndexTree<string, string, number>();
  private readonly held = new Map<string, WorkSubtask>();
  private readonly heartbeatMs: number;
  private readonly missed: number;
  private readonly startupMs: number;
  private readonly env: Record<string, string>;
  private readonly fetchBundle: ((sha256: string) => Promise<Uint8Array>) | undefined;
  /** Bundle fetches in flight, by name, shared by the workers asking for the same one. */
  private readonly fetching = new Map<string, Promise<Uint8Array>>();
  private readonly watchdog: NodeJS.Timeout;
  private stopping = false;

  constructor(
    private readonly deque: Deque<WorkSubtask>,
    options: SupervisorOptions,
  ) {
    super();
    if (!Number.isInteger(options.workers) || options.workers < 1) {
      throw new DataboxError('ERR_OPTIONS', `options.workers must be a positive integer (got ${options.workers})`);
    }
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.missed = options.missedHeartbeats ?? 3;
    this.startupMs = options.startupMs ?? 15_000;
    this.env = options.env ?? {};
    this.fetchBundle = options.fetchBundle;
    this.slots = Array.from({ length: options.workers }, () => undefined);
    for (let i = 0; i < options.workers; i++) this.spawn(i);
    this.watchdog = setInterval(() => this.checkHeartbeats(), this.heartbeatMs);
    this.watchdog.unref();
  }

  /** New work is on the deque: hand it to workers waiting for some. */
  wake(): void {
    for (const s of this.slots) if (s !== undefined && s.wants > 0) this.serve(s);
  }

  /**
   * Kills the worker holding `subtaskId` (a cancel); its replacement starts at once. The other subtasks
   * of its batch are innocent: they go back to the head of the Taskman's deque, same attempt, and run
   * again on another worker. True if the subtask was held.
   */
  kill(subtaskId: string): boolean {
    const slotNo = this.index.holderOf(subtaskId);
    if (slotNo === undefined) return false;
    this.forget(subtaskId);
    const mates = [...this.index.heldBy(slotNo).keys()].map((id) => this.held.get(id)!);
    for (const s of mates) this.forget(s.id);
    this.deque.pushHeadAll(mates);
    const slot = this.slots[slotNo];
    if (slot !== undefined) {
      slot.wants = 0; // a pull already on its way must not be served
      this.end(slot);
    }
    if (mates.length > 0) this.wake();
    return true;
  }

  /** Subtasks idle workers have asked for and not received: what the Taskman should pull for them. */
  wanted(): number {
    let n = 0;
    for (const s of this.slots) if (s !== undefined) n += s.wants;
    return n;
  }

  /**
   * How many subtasks the Taskman's deque should hold for its workers: a worker on short subtasks (it
   * pulls batches) counts its batch and `prefetch` more, busy or not, so it never waits for the network;
   * a worker on long subtasks counts only what it is waiting for now, so no work sits on this node while
   * another node idles (a round trip is nothing next to a long subtask).
   */
  demand(prefetch: number): number {
    let n = 0;
    for (const s of this.slots) if (s !== undefined) n += s.batch > 1 ? s.batch * (1 + prefetch) : s.wants;
    return n;
  }

  /** Kills every worker holding a subtask (the Jobman said to drop all work); returns how many subtasks. */
  killAll(): number {
    const ids = [...this.held.keys()];
    for (const id of ids) this.kill(id);
    return ids.length;
  }

  /** Which worker holds a subtask, or undefined. */
  workerOf(subtaskId: string): number | undefined {
    return this.index.holderOf(subtaskId);
  }

  workers(): WorkerInfo[] {
    const now = Date.now();
    return this.slots.map((s, slot) => {
      const holds = [...this.index.heldBy(slot).keys()];
      return {
        slot,
        pid: s?.child.pid,
        state: s === undefined || s.lastBeat === 0 ? 'starting' : holds.length > 0 ? 'busy' : 'idle',
        holds,
        heartbeatAgeMs: s && s.lastBeat > 0 ? now - s.lastBeat : -1,
        progress: s?.progress !== undefined && holds.includes(s.progress[0]) ? s.progress[1] : null,
      };
    });
  }

  /** Stops every worker; what they held is returned as `returned` with reason "stopping". */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.watchdog);
    const exits = this.slots.map((s) =>
      s === undefined || s.child.exitCode !== null || s.child.signalCode !== null
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            s.child.once('exit', () => resolve());
            this.end(s);
          }),
    );
    await Promise.all(exits);
  }

  private spawn(slotNo: number): void {
    const fromSource = import.meta.url.endsWith('.ts');
    const file = new URL(fromSource ? '../worker/main.ts' : '../worker/main.js', import.meta.url);
    const startTicks = uptimeTicks() - 1;
    const child = fork(file, [], {
      execArgv: fromSource ? ['--import', 'tsx'] : [],
      env: { ...workerEnv(process.env, this.env), DATABOX_HEARTBEAT_MS: String(this.heartbeatMs) },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Its own session and process group: what its UDFs start can be found, and ended, as a whole; a
      // signal meant for the Taskman's group (a Ctrl-C) reaches the workers through their Taskman.
      detached: true,
    });
    // The fork has made its session (setsid) before fork() returns, so this reads the worker's own.
    const leader = child.pid !== undefined && readStat(child.pid)?.session === child.pid;
    const slot: Slot = { slot: slotNo, child, wants: 0, batch: 1, lastBeat: 0, spawnedAt: Date.now(), startTicks, leader, timers: new Map(), progress: undefined };
    this.slots[slotNo] = slot;
    child.on('message', (raw) => this.onMessage(slot, raw));
    child.on('exit', (code, signal) => this.onExit(slot, code, signal));
    child.on('error', () => undefined); // 'exit' follows and does the work
    this.emit('spawned', slotNo, child.pid);
  }

  private onMessage(slot: Slot, raw: unknown): void {
    const parsed = fromWorkerSchema.safeParse(raw);
    if (!parsed.success) {
      // A worker that speaks nonsense is broken: replace it rather than guess.
      slot.wants = 0;
      this.end(slot);
      return;
    }
    const msg = parsed.data;
    slot.lastBeat = Date.now();
    if (msg.t === 'pull') {
      slot.wants = msg.want;
      slot.batch = msg.want;
      this.serve(slot);
    } else if (msg.t === 'bundle') {
      void this.sendBundle(slot, msg.sha256);
    } else if (msg.t === 'progress') {
      if (this.index.holderOf(msg.id) === slot.slot) slot.progress = [msg.id, msg.fraction];
    } else if (msg.t === 'done') {
      for (const r of msg.results) {
        const subtask = this.held.get(r.id);
        // Killed, timed out or cancelled meanwhile: its outcome was settled already.
        if (subtask === undefined || subtask.attempt !== r.attempt || this.index.holderOf(r.id) !== slot.slot) continue;
        this.forget(r.id);
        this.emit('result', subtask, r.ok ? { ok: true, value: r.value } : { ok: false, error: r.error ?? { message: 'the task failed without an error' } });
      }
    }
  }

  /**
   * Gives a waiting worker what it asked for, from the Taskman's deque. A subtask with a time-out travels
   * alone, so its clock starts when it really starts.
   */
  private serve(slot: Slot): void {
    // A worker killed but not yet gone may still have a pull in the pipe: it gets nothing.
    if (this.stopping || slot.wants === 0 || slot.child.killed) return;
    const batch: WorkSubtask[] = [];
    while (batch.length < slot.wants) {
      const head = this.deque.peekHead();
      if (head === undefined || (head.timeoutMs !== undefined && batch.length > 0)) break;
      batch.push(this.deque.popHead()!);
      if (head.timeoutMs !== undefined) break;
    }
    if (batch.length === 0) return;
    slot.wants = 0;
    for (const subtask of batch) {
      this.held.set(subtask.id, subtask);
      this.index.add(subtask.jobId, subtask.id);
      this.index.assign(subtask.id, slot.slot);
      if (subtask.timeoutMs !== undefined) {
        const timer = setTimeout(() => this.timeOut(slot, subtask), subtask.timeoutMs);
        timer.unref();
        slot.timers.set(subtask.id, timer);
      }
      this.emit('started', subtask, slot.slot);
    }
    const msg: ToWorker = { t: 'run', subtasks: batch };
    slot.child.send(msg);
  }

  /** Answers a worker's request for a UDF bundle, fetched with the Taskman's credential. */
  private async sendBundle(slot: Slot, sha256: string): Promise<void> {
    let answer: ToWorker;
    try {
      if (this.fetchBundle === undefined) throw new DataboxError('ERR_UDF_FETCH', `UDF bundle ${sha256} is not in the cache, and this worker's Taskman cannot fetch bundles`);
      let fetching = this.fetching.get(sha256);
      if (fetching === undefined) {
        fetching = this.fetchBundle(sha256);
        this.fetching.set(sha256, fetching);
        const done = (): void => void this.fetching.delete(sha256);
        fetching.then(done, done);
      }
      answer = { t: 'bundle', sha256, bytes: await fetching };
    } catch (err) {
      const e = err as { code?: unknown; retryable?: unknown };
      answer = { t: 'bundle', sha256, error: { message: messageOf(err).slice(0, 4096), code: typeof e.code === 'string' ? e.code.slice(0, 64) : 'ERR_UDF_FETCH', retryable: e.retryable === true } };
    }
    // The worker may have died meanwhile; its replacement asks again.
    if (slot.child.connected) slot.child.send(answer, () => undefined);
  }

  /**
   * Ends a worker and everything it started: SIGKILL to its process group (the worker and what its UDFs
   * started without a session of their own); the rest is found and ended when it has exited (`onExit`).
   */
  private end(slot: Slot): void {
    if (slot.leader && slot.child.pid !== undefined) {
      try {
        process.kill(-slot.child.pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    slot.child.kill('SIGKILL');
  }

  private timeOut(slot: Slot, subtask: WorkSubtask): void {
    if (this.index.holderOf(subtask.id) !== slot.slot) return;
    this.forget(subtask.id);
    // A subtask cannot be interrupted inside its process (an endless loop never yields): end the process.
    this.end(slot);
    this.emit('result', subtask, { ok: false, error: { message: `${subtask.task} timed out after ${subtask.timeoutMs} ms` } });
  }

  private forget(subtaskId: string): void {
    const slotNo = this.index.holderOf(subtaskId);
    const slot = slotNo === undefined ? undefined : this.slots[slotNo];
    const timer = slot?.timers.get(subtaskId);
    if (timer !== undefined) clearTimeout(timer);
    slot?.timers.delete(subtaskId);
    this.index.remove(subtaskId);
    this.held.delete(subtaskId);
  }

  private onExit(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    // A worker killed mid-subtask cannot clean up after itself: its scratch root goes here, and every
    // process its UDFs started (its session's members, and whatever carries its marker) ends.
    const pid = slot.child.pid;
    if (pid !== undefined) {
      rmSync(workerScratchRoot(pid), { recursive: true, force: true });
      endProcesses({ root: pid, includeRoot: false, sessions: new Set(slot.leader ? [pid] : []), groups: new Set(), markerPrefix: `${pid}.`, sinceTicks: slot.startTicks });
    }
    const lost = [...this.index.heldBy(slot.slot).keys()].map((id) => this.held.get(id)!).filter(Boolean);
    for (const s of lost) this.forget(s.id);
    if (lost.length > 0) {
      this.emit('returned', lost, this.stopping ? 'stopping' : `worker ${slot.slot} (pid ${slot.child.pid}) exited with ${signal ?? `code ${code}`}`);
    }
    if (!this.stopping && this.slots[slot.slot] === slot) this.spawn(slot.slot);
  }

  private checkHeartbeats(): void {
    const limit = this.missed * this.heartbeatMs;
    const now = Date.now();
    for (const s of this.slots) {
      if (s === undefined || s.child.exitCode !== null || s.child.signalCode !== null) continue;
      // A worker still starting has not beaten yet: it gets the start-up allowance instead.
      const late = s.lastBeat > 0 ? now - s.lastBeat > limit : now - s.spawnedAt > this.startupMs;
      if (late) this.end(s);
    }
  }
}
