import { rmSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

import type { JsonValue } from '../store/index.js';
import { fromThreadSchema, workerScratchRoot, type ToThread } from '../api/udf-protocol.js';
import type { WorkSubtask } from '../api/worker-protocol.js';

/** How a subtask ended in the UDF thread. */
export type UdfOutcome =
  | { ok: true; value: JsonValue }
  | { ok: false; error: { message: string; code?: string; stack?: string }; /** The UDF ended its process: the worker must go. */ fatal?: true };

export interface UdfRunnerHooks {
  progress(id: string, fraction: number): void;
  log(id: string, level: 'info' | 'warn' | 'error', message: string): void;
}

/** How often the worker's resident memory is compared with a subtask's `memoryMb`. */
const MEMORY_CHECK_MS = 100;
const MIB = 1024 * 1024;

/**
 * The main-thread side of a worker's UDF thread: runs one UDF subtask at a time in the thread and turns
 * everything that can happen there into an outcome. The thread is made once and kept (its loaded
 * bundles with it) until a subtask asks for another memory limit, or the thread dies.
 *
 * - A UDF that throws: a failed outcome with its message and stack.
 * - Over `memoryMb` (the thread's V8 heap, or the process's resident memory): the thread is ended and
 *   the subtask fails with ERR_UDF_MEMORY; the next subtask gets a new thread.
 * - `process.exit()` in the UDF: the thread ends; the subtask fails with ERR_UDF_EXIT, and the worker
 *   process must end too (`fatal`), so the Taskman replaces it as it would after a crash.
 * - An endless loop: only this thread is stuck; the Taskman's time-out ends the process.
 */
export class UdfRunner {
  private thread: Worker | undefined;
  private threadMemoryMb: number | undefined;
  private current: { id: string; thread: Worker; settle: (o: UdfOutcome) => void } | undefined;

  constructor(private readonly hooks: UdfRunnerHooks) {}

  run(s: WorkSubtask, sha256: string, phase: 'map' | 'reduce', signal: AbortSignal): Promise<UdfOutcome> {
    const thread = this.threadFor(s.memoryMb);
    return new Promise<UdfOutcome>((resolve) => {
      let memoryTimer: NodeJS.Timeout | undefined;
      const onAbort = (): void => this.post({ t: 'abort', id: s.id, reason: String((signal.reason as Error | undefined)?.message ?? 'aborted') });
      this.current = {
        id: s.id,
        thread,
        settle: (outcome) => {
          clearInterval(memoryTimer);
          signal.removeEventListener('abort', onAbort);
          this.current = undefined;
          resolve(outcome);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      if (s.memoryMb !== undefined) {
        const limit = s.memoryMb;
        memoryTimer = setInterval(() => {
          const rss = process.memoryUsage.rss();
          if (rss > limit * MIB) this.kill(thread, { message: `The worker process used ${Math.round(rss / MIB)} MiB, over the job's memoryMb of ${limit} MiB`, code: 'ERR_UDF_MEMORY' });
        }, MEMORY_CHECK_MS);
      }
      const msg: ToThread = { t: 'run', id: s.id, jobId: s.jobId, index: s.index, attempt: s.attempt, sha256, phase, ...(s.input !== undefined ? { input: s.input } : {}) };
      this.post(msg);
    });
  }

  async close(): Promise<void> {
    await this.thread?.terminate();
    this.thread = undefined;
  }

  /** A thread died mid-subtask: what its subtask left in the scratch root goes too. */
  private cleanScratch(): void {
    rmSync(workerScratchRoot(process.pid), { recursive: true, force: true });
  }

  private post(msg: ToThread): void {
    this.thread?.postMessage(msg);
  }

  private threadFor(memoryMb: number | undefined): Worker {
    if (this.thread !== undefined && this.threadMemoryMb === memoryMb) return this.thread;
    void this.thread?.terminate();
    const fromSource = import.meta.url.endsWith('.ts');
    const thread = new Worker(new URL(fromSource ? './udf-thread.ts' : './udf-thread.js', import.meta.url), {
      ...(memoryMb !== undefined ? { resourceLimits: { maxOldGenerationSizeMb: memoryMb } } : {}),
      stdout: false,
      stderr: false,
    });
    this.thread = thread;
    this.threadMemoryMb = memoryMb;
    thread.on('message', (raw) => this.onMessage(raw));
    thread.on('error', (err: Error & { code?: string }) => {
      if (this.thread === thread) this.thread = undefined;
      this.cleanScratch();
      const outOfMemory = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
      if (this.current?.thread !== thread) return;
      this.current.settle({
        ok: false,
        error: outOfMemory
          ? { message: `The UDF ran out of memory: its heap is limited to the job's memoryMb of ${memoryMb} MiB`, code: 'ERR_UDF_MEMORY' }
          : { message: `The UDF threw outside its subtask (an uncaught error): ${err.message}`, code: 'ERR_UDF_UNCAUGHT', ...(err.stack ? { stack: err.stack } : {}) },
      });
    });
    thread.on('exit', (code) => {
      if (this.thread === thread) this.thread = undefined;
      this.cleanScratch();
      // Ended by us (a memory kill or a new limit) the outcome is settled already; otherwise the UDF
      // called process.exit(): in a thread that ends only the thread, but the user meant the process.
      if (this.current?.thread !== thread) return;
      this.current.settle({ ok: false, error: { message: `The UDF ended its worker process (process.exit(${code}))`, code: 'ERR_UDF_EXIT' }, fatal: true });
    });
    return thread;
  }

  private kill(thread: Worker, error: { message: string; code: string }): void {
    if (this.thread === thread) this.thread = undefined;
    if (this.current?.thread === thread) this.current.settle({ ok: false, error });
    void thread.terminate();
  }

  private onMessage(raw: unknown): void {
    const parsed = fromThreadSchema.safeParse(raw);
    if (!parsed.success) return;
    const msg = parsed.data;
    if (msg.t === 'progress') this.hooks.progress(msg.id, msg.fraction);
    else if (msg.t === 'log') this.hooks.log(msg.id, msg.level, msg.message);
    else if (this.current?.id === msg.id) this.current.settle(msg.ok ? { ok: true, value: msg.value } : { ok: false, error: msg.error });
  }
}
