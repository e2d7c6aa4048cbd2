import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';

import { DataboxError, messageOf } from '../../errors.js';
import { AccessPolicy, ensureDirectory, openSource, setAccessPolicy } from '../../storage/index.js';
import { idempotencyKey, type UdfContext } from '../udf/define.js';
import { loadUdf } from '../udf/loader.js';
import { decodeValue, encodeValue, MAX_VALUE_BYTES } from '../udf/values.js';
import { threadEnv, toThreadSchema, type FromThread, type ToThread } from '../api/udf-protocol.js';
import { SUBTASK_MARKER_ENV } from './process-tree.js';

/**
 * The thread of a worker process that runs RS-UDF code, one subtask at a time. User code that computes
 * for minutes without yielding blocks only this thread: the worker's main thread goes on talking to its
 * Taskman (heartbeats, progress), and the Taskman enforces time-outs by ending the process.
 */
const port = parentPort;
if (port === null) throw new Error('udf-thread.ts runs as a worker thread of a databox worker');
// A thread has its own copy of every module: the worker's storage allow-lists are installed here too, for ctx.open.
setAccessPolicy(AccessPolicy.fromEnv());
const env = threadEnv();
const running = new Map<string, AbortController>();
const post = (msg: FromThread): void => port.postMessage(msg);
/** Bundles asked of the worker and not yet answered, by name. */
const asked = new Map<string, { resolve: (bytes: Uint8Array) => void; reject: (err: Error) => void }[]>();

/**
 * A bundle the cache lacks, fetched by the worker's Taskman: neither this thread nor its worker holds a
 * credential for the Jobman. The loader checks the bytes against the name before it writes or runs them.
 */
function fetchBundle(sha256: string): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const waiting = asked.get(sha256);
    if (waiting !== undefined) waiting.push({ resolve, reject });
    else {
      asked.set(sha256, [{ resolve, reject }]);
      post({ t: 'bundle', sha256 });
    }
  });
}

port.on('message', (raw: unknown) => {
  const msg = toThreadSchema.parse(raw);
  if (msg.t === 'abort') {
    running.get(msg.id)?.abort(new DataboxError('ERR_ABORTED', msg.reason));
    return;
  }
  if (msg.t === 'bundle') {
    const waiting = asked.get(msg.sha256) ?? [];
    asked.delete(msg.sha256);
    for (const w of waiting) {
      if (msg.bytes !== undefined) w.resolve(msg.bytes);
      else w.reject(new DataboxError(msg.error?.code ?? 'ERR_UDF_FETCH', msg.error?.message ?? `UDF bundle ${msg.sha256} could not be fetched`, { retryable: msg.error?.retryable ?? false }));
    }
    return;
  }
  void run(msg);
});

async function run(msg: Extract<ToThread, { t: 'run' }>): Promise<void> {
  const abort = new AbortController();
  running.set(msg.id, abort);
  let scratchDir: string | undefined;
  let done: FromThread;
  try {
    // Every process the UDF starts inherits this, so one that escapes its parent is still found.
    process.env[SUBTASK_MARKER_ENV] = msg.marker;
    const udf = await loadUdf(msg.sha256, { cacheDir: env.cacheDir, fetchBundle, node: env.node });
    await ensureDirectory(env.scratchRoot);
    scratchDir = await mkdtemp(join(env.scratchRoot, 'subtask-'));
    const say = (level: 'info' | 'warn' | 'error') => (message: string) => post({ t: 'log', id: msg.id, level, message: String(message) });
    const ctx: UdfContext = {
      jobId: msg.jobId,
      subtaskId: msg.id,
      index: msg.index,
      attempt: msg.attempt,
      idempotencyKey: idempotencyKey(msg.jobId, msg.index),
      node: env.node,
      signal: abort.signal,
      log: { info: say('info'), warn: say('warn'), error: say('error') },
      progress: (fraction) => {
        if (Number.isFinite(fraction)) post({ t: 'progress', id: msg.id, fraction: Math.min(1, Math.max(0, fraction)) });
      },
      open: (url) => openSource(url),
      scratchDir,
    };
    const input = decodeValue(msg.input ?? msg.index);
    let value: unknown;
    if (msg.phase === 'reduce') {
      const reduce = udf.reduce;
      if (reduce === undefined) throw new DataboxError('ERR_UDF_NO_REDUCE', 'This UDF has no reduce function; a map-reduce job needs defineUdf({ map, reduce })');
      if (!Array.isArray(input) || input.length === 0) throw new DataboxError('ERR_UDF_REDUCE_INPUT', 'A reduce subtask needs a non-empty list of partial results');
      value = input[0];
      for (let i = 1; i < input.length; i++) value = await reduce(value, input[i], ctx);
    } else {
      value = await udf.map(input, ctx);
    }
    done = { t: 'done', id: msg.id, ok: true, value: encodeValue(value, 'result', MAX_VALUE_BYTES) };
  } catch (err) {
    const stack = err instanceof Error ? err.stack : undefined;
    const code = err instanceof DataboxError ? err.code : undefined;
    done = { t: 'done', id: msg.id, ok: false, error: { message: messageOf(err), ...(code ? { code } : {}), ...(stack ? { stack } : {}) } };
  }
  running.delete(msg.id);
  // The scratch directory is gone before anyone hears the subtask ended.
  if (scratchDir !== undefined) await rm(scratchDir, { recursive: true, force: true }).catch(() => undefined);
  post(done);
}
