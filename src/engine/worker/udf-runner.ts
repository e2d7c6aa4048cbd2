import { rmSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

import { messageOf } from '../../errors.js';
import type { JsonValue } from '../store/index.js';
import { fromThreadSchema, workerScratchRoot, type ToThread } from '../api/udf-protocol.js';
import type { WorkSubtask } from '../api/worker-protocol.js';
import { canCapData, DataCap, dataBytes, residentBytes } from './memory-cap.js';
import { descendantsOf, endProcesses, hasProc, OwnChildren, readStat, startCounters, uptimeTicks, type ProcStat, type StartCounters } from './process-tree.js';

/** How a subtask ended in the UDF thread. */
export type UdfOutcome =
  | { ok: true; value: JsonValue }
  | { ok: false; error: { message: string; code?: string; stack?: string }; /** The UDF ended its process: the worker must go. */ fatal?: true };

export interface UdfRunnerHooks {
  progress(id: string, fraction: number): void;
  log(id: string, level: 'info' | 'warn' | 'error', message: string): void;
  /** The bundle named `sha256`, fetched by the worker's Taskman (workers hold no credential). */
  fetchBundle(sha256: string): Promise<Uint8Array>;
}

/** How often the memory of the worker and the processes its UDF started is compared with `memoryMb`. */
const MEMORY_CHECK_MS = 100;
const MIB = 1024 * 1024;
const mib = (bytes: number): number => Math.round(bytes / MIB);

/** A UDF thread, made for one job and never reused for another. */
interface Thread {
  worker: Worker;
  jobId: string;
  memoryMb: number | undefined;
  /** The worker's resident memory and data size just before the thread started: not the UDF's. */
  baseline: { rssBytes: number; dataBytes: number };
  /** Why it ended before a subtask was there to hear it (it failed to start, say). */
  endedEarly?: { message: string; code: string; stack?: string };
}

/**
 * The main-thread side of a worker's UDF thread: runs one UDF subtask at a time in the thread and turns
 * everything that can happen there into an outcome.
 *
 * - Each job gets a thread of its own: when a subtask of another job comes, the old thread is ended
 *   first, so what a UDF keeps after `map` returns is never counted against the next job.
 * - Every process a subtask starts ends with it, whether it succeeded, failed or went over its memory
 *   (see process-tree.ts); the Taskman does the same when it kills the worker for a time-out or cancel.
 * - `memoryMb` is what the UDF may use beyond what the worker used before its thread started. Three
 *   guards: the thread's V8 heap is capped at `memoryMb`; the worker's data size is capped (RLIMIT_DATA,
 *   see memory-cap.ts) at its baseline plus `memoryMb`, so one huge allocation fails at once with a
 *   RangeError; and every 100 ms the resident memory of the worker and every process the UDF started is
 *   summed. Each ends the subtask with ERR_UDF_MEMORY, naming the peak and the limit.
 * - A UDF that throws: a failed outcome with its message and stack.
 * - `process.exit()` in the UDF: the thread ends; the subtask fails with ERR_UDF_EXIT, and the worker
 *   process must end too (`fatal`), so the Taskman replaces it as it would after a crash.
 * - An endless loop: only this thread is stuck; the Taskman's time-out ends the process.
 */
export class UdfRunner {
  private thread: Thread | undefined;
  private current: { id: string; thread: Worker; settle: (o: UdfOutcome) => void; /** Why we are ending its thread. */ ending?: { message: string; code: string } } | undefined;
  private readonly cap = new DataCap();
  private capBroken = false;
  /** Subtasks run so far: the `<n>` of their `DATABOX_SUBTASK=<pid>.<n>` marker. */
  private subtasks = 0;
  /** Sessions and process groups the running subtask's processes made: their members end with it. */
  private readonly sessions = new Set<number>();
  private readonly groups = new Set<number>();
  /** Whether this worker leads its own session (its Taskman forked it detached), so all of it is ours. */
  private readonly leader = readStat(process.pid)?.session === process.pid;
  private readonly children = new OwnChildren();

  constructor(private readonly hooks: UdfRunnerHooks) {}

  async run(s: WorkSubtask, sha256: string, phase: 'map' | 'reduce', signal: AbortSignal): Promise<UdfOutcome> {
    const thread = await this.threadFor(s.jobId, s.memoryMb);
    const limit = s.memoryMb;
    await this.capData(limit === undefined ? undefined : thread.baseline.dataBytes + limit * MIB);
    const marker = `${process.pid}.${++this.subtasks}`;
    const sinceTicks = uptimeTicks() - 1;
    const counters = startCounters();
    let peak = 0;
    const outcome = await new Promise<UdfOutcome>((resolve) => {
      let memoryTimer: NodeJS.Timeout | undefined;
      const onAbort = (): void => this.post({ t: 'abort', id: s.id, reason: String((signal.reason as Error | undefined)?.message ?? 'aborted') });
      this.current = {
        id: s.id,
        thread: thread.worker,
        settle: (o) => {
          clearInterval(memoryTimer);
          signal.removeEventListener('abort', onAbort);
          this.current = undefined;
          resolve(o);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      if (limit !== undefined) {
        memoryTimer = setInterval(() => {
          peak = Math.max(peak, this.usedBytes(thread));
          if (peak <= limit * MIB) return;
          clearInterval(memoryTimer);
          this.kill(thread.worker, { message: usedWords(peak, thread, limit), code: 'ERR_UDF_MEMORY' });
        }, MEMORY_CHECK_MS);
      }
      if (thread.endedEarly !== undefined) {
        this.current.settle({ ok: false, error: thread.endedEarly });
        return;
      }
      const msg: ToThread = { t: 'run', id: s.id, jobId: s.jobId, index: s.index, attempt: s.attempt, sha256, phase, marker, ...(s.input !== undefined ? { input: s.input } : {}) };
      thread.worker.postMessage(msg);
    });
    this.endStarted(sinceTicks, counters);
    if (limit !== undefined && !outcome.ok && outcome.error.code === undefined && isAllocationFailure(outcome.error)) {
      peak = Math.max(peak, this.usedBytes(thread));
      const { message, stack } = outcome.error;
      return {
        ok: false,
        error: {
          message: `The UDF could not allocate memory (${message}): its memory is capped at the job's memoryMb of ${limit} MiB, and it peaked at ${mib(peak)} MiB`,
          code: 'ERR_UDF_MEMORY',
          ...(stack ? { stack } : {}),
        },
      };
    }
    return outcome;
  }

  /**
   * The worker runs something else next, or nothing: its data size is no longer capped. The cap stays
   * between subtasks of one job, so a batch of them pays for `prlimit` once.
   */
  async release(): Promise<void> {
    await this.capData(undefined);
  }

  /** Ends the thread and whatever its subtasks started. */
  async close(): Promise<void> {
    const thread = this.thread;
    this.thread = undefined;
    await thread?.worker.terminate();
    this.endStarted(0);
  }

  /**
   * Ends every process the subtask started that is still there (synchronous, so it is also safe from a
   * 'disconnect' handler about to exit). Most subtasks start none, and that is told in well under a
   * millisecond: the worker has no child now, and its reaped-children counter has not moved since
   * `before` (a double fork's middle process, long gone, moves it). Otherwise the machine's processes
   * are scanned (a few milliseconds). Without `before`, always.
   */
  endStarted(sinceTicks: number, before?: StartCounters): void {
    if (!hasProc) return;
    if (before !== undefined && this.sessions.size === 0 && this.groups.size === 0 && startCounters().childFaults === before.childFaults && !this.children.any()) return;
    this.remember(descendantsOf(process.pid));
    endProcesses({
      root: process.pid,
      includeRoot: false,
      sessions: this.leader ? new Set([process.pid, ...this.sessions]) : this.sessions,
      groups: this.groups,
      markerPrefix: `${process.pid}.`,
      sinceTicks,
    });
    this.sessions.clear();
    this.groups.clear();
  }

  /** Resident bytes of the worker and every process descended from it, less the worker's baseline. */
  private usedBytes(thread: Thread): number {
    let rss = residentBytes();
    if (hasProc) {
      const descendants = descendantsOf(process.pid);
      this.remember(descendants);
      for (const d of descendants) rss += d.rssBytes;
    }
    return Math.max(0, rss - thread.baseline.rssBytes);
  }

  /** Sessions and groups that descendants made (never one of the Taskman's): their members are the UDF's too. */
  private remember(descendants: ProcStat[]): void {
    for (const d of descendants) {
      if (d.session === d.pid) this.sessions.add(d.session);
      if (d.pgrp === d.pid) this.groups.add(d.pgrp);
    }
  }

  private async capData(bytes: number | undefined): Promise<void> {
    if (!canCapData || this.capBroken) return;
    try {
      if (bytes === undefined) await this.cap.lift();
      else await this.cap.set(bytes);
    } catch (err) {
      // Without the hard cap the sampler still holds memoryMb, only 100 ms later: say so once and go on.
      this.capBroken = true;
      process.stderr.write(`databox worker ${process.pid}: cannot cap its memory with prlimit (${messageOf(err)}); memoryMb is checked every ${MEMORY_CHECK_MS} ms only\n`);
    }
  }

  /** A thread died mid-subtask: what its subtask left in the scratch root goes too. */
  private cleanScratch(): void {
    rmSync(workerScratchRoot(process.pid), { recursive: true, force: true });
  }

  private post(msg: ToThread): void {
    this.thread?.worker.postMessage(msg);
  }

  /** The thread of job `jobId`: the one running, or a new one after the previous job's has ended. */
  private async threadFor(jobId: string, memoryMb: number | undefined): Promise<Thread> {
    if (this.thread !== undefined && this.thread.jobId === jobId && this.thread.memoryMb === memoryMb) return this.thread;
    const old = this.thread;
    this.thread = undefined;
    // Ended, and its memory given back, before the baseline of the next job is measured.
    await old?.worker.terminate();
    await this.capData(undefined);
    const baseline = { rssBytes: residentBytes(), dataBytes: dataBytes() };
    const fromSource = import.meta.url.endsWith('.ts');
    const worker = new Worker(new URL(fromSource ? './udf-thread.ts' : './udf-thread.js', import.meta.url), {
      ...(memoryMb !== undefined ? { resourceLimits: { maxOldGenerationSizeMb: memoryMb } } : {}),
      stdout: false,
      stderr: false,
    });
    const thread: Thread = { worker, jobId, memoryMb, baseline };
    this.thread = thread;
    worker.on('message', (raw) => this.onMessage(worker, raw));
    worker.on('error', (err: Error & { code?: string }) => {
      if (this.thread?.worker === worker) this.thread = undefined;
      this.cleanScratch();
      const outOfMemory = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
      if (this.current?.thread !== worker) {
        thread.endedEarly ??= { message: `The UDF thread failed: ${err.message}`, code: outOfMemory ? 'ERR_UDF_MEMORY' : 'ERR_UDF_UNCAUGHT', ...(err.stack ? { stack: err.stack } : {}) };
        return;
      }
      this.current.settle({
        ok: false,
        error: outOfMemory
          ? { message: `The UDF ran out of memory: its heap is limited to the job's memoryMb of ${memoryMb} MiB, and its memory peaked at ${mib(this.usedBytes(thread))} MiB`, code: 'ERR_UDF_MEMORY' }
          : { message: `The UDF threw outside its subtask (an uncaught error): ${err.message}`, code: 'ERR_UDF_UNCAUGHT', ...(err.stack ? { stack: err.stack } : {}) },
      });
    });
    worker.on('exit', (code) => {
      if (this.thread?.worker === worker) this.thread = undefined;
      this.cleanScratch();
      // Ended by us: a memory kill says why; a new job's thread comes only between subtasks. Otherwise the
      // UDF called process.exit(): in a thread that ends only the thread, but the user meant the process.
      if (this.current?.thread !== worker) {
        thread.endedEarly ??= { message: `The UDF thread ended (code ${code}) before its subtask began`, code: 'ERR_UDF_EXIT' };
        return;
      }
      if (this.current.ending !== undefined) this.current.settle({ ok: false, error: this.current.ending });
      else this.current.settle({ ok: false, error: { message: `The UDF ended its worker process (process.exit(${code}))`, code: 'ERR_UDF_EXIT' }, fatal: true });
    });
    return thread;
  }

  /**
   * Ends a thread whose subtask broke its limit. The subtask settles when the thread has stopped (its
   * 'exit'), so nothing it runs can start a process after its processes were ended.
   */
  private kill(worker: Worker, error: { message: string; code: string }): void {
    if (this.thread?.worker === worker) this.thread = undefined;
    if (this.current?.thread === worker) this.current.ending = error;
    void worker.terminate();
  }

  private onMessage(worker: Worker, raw: unknown): void {
    const parsed = fromThreadSchema.safeParse(raw);
    if (!parsed.success) return;
    const msg = parsed.data;
    if (msg.t === 'progress') this.hooks.progress(msg.id, msg.fraction);
    else if (msg.t === 'log') this.hooks.log(msg.id, msg.level, msg.message);
    else if (msg.t === 'bundle') void this.sendBundle(worker, msg.sha256);
    else if (this.current?.id === msg.id) this.current.settle(msg.ok ? { ok: true, value: msg.value } : { ok: false, error: msg.error });
  }

  private async sendBundle(worker: Worker, sha256: string): Promise<void> {
    let answer: ToThread;
    try {
      const bytes = await this.hooks.fetchBundle(sha256);
      answer = { t: 'bundle', sha256, bytes };
    } catch (err) {
      const e = err as { code?: unknown; retryable?: unknown };
      answer = { t: 'bundle', sha256, error: { message: messageOf(err), code: typeof e.code === 'string' ? e.code : 'ERR_UDF_FETCH', retryable: e.retryable === true } };
    }
    // The thread may have ended meanwhile (a memory kill, a new job): then nobody is waiting.
    if (this.thread?.worker === worker) worker.postMessage(answer);
  }
}

/** What a subtask over its memory used, in words. */
function usedWords(peakBytes: number, thread: Thread, limit: number): string {
  return `The UDF used ${mib(peakBytes)} MiB at its peak (its thread and every process it started, beyond the worker's own ${mib(thread.baseline.rssBytes)} MiB), over the job's memoryMb of ${limit} MiB`;
}

/** A RangeError from an allocation that failed: the data cap (or the machine) said no. */
function isAllocationFailure(error: { message: string; stack?: string }): boolean {
  return /allocation failed/i.test(error.message) && (error.stack ?? '').startsWith('RangeError');
}
