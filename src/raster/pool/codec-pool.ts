import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DataboxError } from '../../errors.js';
import { copyBlock, type BlockPlacement } from '../block-copy.js';
import type { BlockLayout } from '../codecs/index.js';
import type { TypedArray } from '../dtype.js';
import type { CodecRunner } from './codec-runner.js';
import type { PoolRequest, PoolResponse } from './messages.js';

/**
 * A worker on the TypeScript sources, as the tests run them: `--import tsx` in a worker's execArgv does not
 * take on Node 20, so a small bootstrap registers tsx's loader in the thread, then imports the module.
 */
function tsWorker(url: URL): Worker {
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { eval: true });
}

/**
 * The parent's Node flags, less those that only make sense for the main script: a worker started
 * with `--input-type` (as `node --input-type=module -e ...` passes it on) fails to load at all.
 */
let execArgv = process.execArgv.filter((arg) => !arg.startsWith('--input-type'));

/**
 * A codec thread with the parent's flags. Node refuses V8 and per-process flags in a worker's
 * `execArgv` (`node --max-old-space-size=4096 databox translate ...` failed with "Initiated Worker with
 * invalid execArgv flags"), though they apply to the whole process already; its error names them, so
 * they are dropped, for this thread and every later one.
 */
function codecThread(url: URL): Worker {
  try {
    return new Worker(url, { execArgv });
  } catch (err) {
    const refused = (err as NodeJS.ErrnoException).code === 'ERR_WORKER_INVALID_EXEC_ARGV' ? /flags: (.*)$/.exec((err as Error).message)?.[1]?.split(', ') : undefined;
    const kept = execArgv.filter((arg) => !refused?.includes(arg));
    if (kept.length === execArgv.length) throw err;
    execArgv = kept;
    return new Worker(url, { execArgv });
  }
}

/** A block codec failure reported by a pool thread, with the original error's code. */
export class CodecPoolError extends DataboxError {}

interface Job {
  request: PoolRequest;
  transfer: ArrayBuffer[];
  resolve: (data: Uint8Array | undefined) => void;
  reject: (err: unknown) => void;
}

interface Slot {
  worker: Worker;
  job: Job | undefined;
}

/**
 * Worker threads that compress and decompress blocks, so DEFLATE, LZW, ZSTD and the predictors use every
 * core while the main thread does I/O. Threads are referenced only while busy, so an idle pool never keeps
 * the process alive; `close()` ends them.
 */
export class CodecPool implements CodecRunner {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(readonly size: number = availableParallelism()) {
    if (!Number.isInteger(size) || size < 1) throw new DataboxError('ERR_OPTIONS', `CodecPool size must be a positive integer (got ${size})`);
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = import.meta.url.endsWith('.ts')
      ? tsWorker(new URL('./codec-worker.ts', import.meta.url))
      : codecThread(new URL('./codec-worker.js', import.meta.url));
    worker.unref();
    const slot: Slot = { worker, job: undefined };
    worker.on('message', (msg: PoolResponse) => this.settle(slot, msg));
    worker.on('error', (err) => this.crash(slot, err));
    worker.on('exit', (code) => {
      if (!this.closed) this.crash(slot, new DataboxError('ERR_CODEC_POOL', `codec pool thread exited with code ${code}`));
    });
    return slot;
  }

  decode(data: Uint8Array, layout: BlockLayout): Promise<Uint8Array> {
    // Copy out of a possibly larger buffer (a coalesced range) so only this block crosses threads.
    const own = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
    return this.submit({ id: this.nextId++, op: 'decode', data: own, layout }, [own.buffer as ArrayBuffer]) as Promise<Uint8Array>;
  }

  readonly sharedOutput = true;

  async decodeInto(data: Uint8Array, layout: BlockLayout, placement: BlockPlacement, out: readonly TypedArray[]): Promise<void> {
    if (!out.every((a) => a.buffer instanceof SharedArrayBuffer)) {
      copyBlock(await this.decode(data, layout), placement, out);
      return;
    }
    const own = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
    // Views on shared memory cross threads as views on the same memory: the thread writes the caller's bands.
    await this.submit({ id: this.nextId++, op: 'decodeInto', data: own, layout, placement, targets: [...out] }, [own.buffer as ArrayBuffer]);
  }

  encode(samples: Uint8Array, layout: BlockLayout & { level?: number }, options: { transfer?: boolean } = {}): Promise<Uint8Array> {
    const whole = samples.byteOffset === 0 && samples.byteLength === samples.buffer.byteLength;
    const copy = options.transfer && whole ? samples : samples.slice();
    return this.submit({ id: this.nextId++, op: 'encode', data: copy, layout }, [copy.buffer as ArrayBuffer]) as Promise<Uint8Array>;
  }

  private submit(request: PoolRequest, transfer: ArrayBuffer[]): Promise<Uint8Array | undefined> {
    if (this.closed) return Promise.reject(new DataboxError('ERR_CODEC_POOL', 'codec pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ request, transfer, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.job !== undefined) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      slot.worker.ref();
      try {
        slot.worker.postMessage(job.request, job.transfer);
      } catch (err) {
        // A request that cannot be sent (an uncloneable layout, a detached buffer) fails alone.
        slot.job = undefined;
        slot.worker.unref();
        job.reject(new CodecPoolError('ERR_CODEC_POOL', `cannot send a block to a codec thread: ${(err as Error).message}`, { cause: err }));
      }
    }
  }

  private settle(slot: Slot, msg: PoolResponse): void {
    const job = slot.job;
    slot.job = undefined;
    slot.worker.unref();
    if (job !== undefined) {
      if (msg.ok) job.resolve(msg.data);
      else job.reject(new CodecPoolError(msg.error.code, msg.error.message));
    }
    this.pump();
  }

  private crash(slot: Slot, err: unknown): void {
    const job = slot.job;
    slot.job = undefined;
    job?.reject(
      err instanceof DataboxError
        ? err
        : new CodecPoolError('ERR_CODEC_POOL', `a codec thread failed: ${(err as Error)?.message ?? String(err)}`, { cause: err, retryable: true }),
    );
    if (this.closed) return;
    const index = this.slots.indexOf(slot);
    if (index >= 0) {
      slot.worker.removeAllListeners();
      void slot.worker.terminate();
      this.slots[index] = this.spawn();
    }
    this.pump();
  }

  /** Ends the threads; blocks queued or in progress are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closed = (): DataboxError => new DataboxError('ERR_CODEC_POOL', 'codec pool closed before the block was done');
    for (const job of this.queue.splice(0)) job.reject(closed());
    for (const slot of this.slots) {
      slot.job?.reject(closed());
      slot.job = undefined;
    }
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
