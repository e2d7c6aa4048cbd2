import { fork, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { DataboxError } from '../../errors.js';
import type { Deque } from '../deque.js';
import { IndexTree } from '../index-tree.js';
import { fromWorkerSchema, type ToWorker, type WorkSubtask } from '../api/worker-protocol.js';
import { workerScratchRoot } from '../api/udf-protocol.js';

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
  /** More environment for the workers (the node's name, the Jobman, the UDF cache). */
  env?: Record<string, string>;
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
      slot.child.kill('SIGKILL');
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
            s.child.kill('SIGKILL');
          }),
    );
    await Promise.all(exits);
  }

  private spawn(slotNo: number): void {
    const fromSource = import.meta.url.endsWith('.ts');
    const file = new URL(fromSource ? '../worker/main.ts' : '../worker/main.js', import.meta.url);
    const child = fork(file, [], {
      execArgv: fromSource ? ['--import', 'tsx'] : [],
      env: { ...process.env, ...this.env, DATABOX_HEARTBEAT_MS: String(this.heartbeatMs) },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const slot: Slot = { slot: slotNo, child, wants: 0, batch: 1, lastBeat: 0, spawnedAt: Date.now(), timers: new Map(), progress: undefined };
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
      slot.child.kill('SIGKILL');
      return;
    }
    const msg = parsed.data;
    slot.lastBeat = Date.now();
    if (msg.t === 'pull') {
      slot.wants = msg.want;
      slot.batch = msg.want;
      this.serve(slot);
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

  private timeOut(slot: Slot, subtask: WorkSubtask): void {
    if (this.index.holderOf(subtask.id) !== slot.slot) return;
    this.forget(subtask.id);
    // A subtask cannot be interrupted inside its process (an endless loop never yields): end the process.
    slot.child.kill('SIGKILL');
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
    // A worker killed mid-subtask cannot clean up after itself: its scratch root goes here.
    if (slot.child.pid !== undefined) rmSync(workerScratchRoot(slot.child.pid), { recursive: true, force: true });
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
      if (late) s.child.kill('SIGKILL');
    }
  }
}
