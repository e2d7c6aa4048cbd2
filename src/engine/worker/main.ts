import { DataboxError, messageOf } from '../../errors.js';
import { AccessPolicy, setAccessPolicy } from '../../storage/index.js';
import { TaskRegistry } from '../tasks/registry.js';
import { fromWorkerSchema, MAX_PULL, toWorkerSchema, type Done, type FromWorker, type WorkSubtask } from '../api/worker-protocol.js';
import { UdfRunner } from './udf-runner.js';

/**
 * A worker process: pulls subtasks from its Taskman over IPC, runs them one at a time, reports their
 * results, and says it is alive every `DATABOX_HEARTBEAT_MS`. It never talks to the Jobman.
 *
 * Batching: a worker asks for one subtask at a time while subtasks take a while, and for twice as many
 * (up to MAX_PULL) each time a whole batch ran in under SHORT_MS per subtask. Results of one batch go
 * back in one message, flushed at least every FLUSH_MS. So a no-op costs a fraction of a message, and a
 * long subtask never waits in a worker behind another one.
 *
 * Built-in tasks run on this thread. RS-UDFs run in a thread of their own (see UdfRunner), so user code
 * that computes without yielding never stops this thread's heartbeats.
 */
const heartbeatMs = Number(process.env.DATABOX_HEARTBEAT_MS ?? 1000);
const send = (msg: FromWorker): void => {
  process.send?.(fromWorkerSchema.parse(msg));
};

if (process.send === undefined) {
  process.stderr.write('databox worker: must be started by a Taskman (no IPC channel)\n');
  process.exit(2);
}

const SHORT_MS = 2;
const FLUSH_MS = 20;
const queue: WorkSubtask[] = [];
let running: string | null = null;
let want = 1;
const stop = new AbortController();
const PROGRESS_MS = 200;
let progressAt = 0;
const udfs = new UdfRunner({
  progress: (id, fraction) => {
    const now = performance.now();
    if (now - progressAt < PROGRESS_MS && fraction < 1) return;
    progressAt = now;
    send({ t: 'progress', id, fraction });
  },
  log: (id, level, message) => process.stderr.write(`databox worker ${process.pid} subtask ${id} ${level}: ${message}\n`),
  fetchBundle,
});

/** Bundle requests sent to the Taskman and not yet answered, by name. */
const bundles = new Map<string, { resolve: (bytes: Uint8Array) => void; reject: (err: Error) => void }[]>();
/** How long the Taskman may take to answer a bundle request (its own fetch gives up after 60 s). */
const BUNDLE_WAIT_MS = 120_000;

/** A UDF bundle, fetched by the Taskman: this process holds no credential for the Jobman. */
function fetchBundle(sha256: string): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const waiting = bundles.get(sha256);
    if (waiting !== undefined) {
      waiting.push({ resolve, reject });
      return;
    }
    bundles.set(sha256, [{ resolve, reject }]);
    send({ t: 'bundle', sha256 });
    setTimeout(() => answerBundle(sha256, undefined, new DataboxError('ERR_UDF_FETCH', `The Taskman did not send UDF bundle ${sha256} within ${BUNDLE_WAIT_MS} ms`, { retryable: true })), BUNDLE_WAIT_MS).unref();
  });
}

function answerBundle(sha256: string, bytes: Uint8Array | undefined, err: Error | undefined): void {
  const waiting = bundles.get(sha256) ?? [];
  bundles.delete(sha256);
  for (const w of waiting) {
    if (bytes !== undefined) w.resolve(bytes);
    else w.reject(err ?? new DataboxError('ERR_UDF_FETCH', `UDF bundle ${sha256} could not be fetched`));
  }
}
// The Jobman's storage allow-lists, before any task can open anything (none: everything allowed).
setAccessPolicy(AccessPolicy.fromEnv());

/** The tasks this worker may run: the diagnostic built-ins and the packages its Taskman registered. */
const tasks = TaskRegistry.fromEnv();

process.on('message', (raw) => {
  const parsed = toWorkerSchema.safeParse(raw);
  if (!parsed.success) {
    process.stderr.write(`databox worker: ignoring a malformed message: ${parsed.error.issues[0]?.message}\n`);
    return;
  }
  const msg = parsed.data;
  if (msg.t === 'shutdown') {
    stop.abort(new Error('worker shutting down'));
    void udfs.close();
    process.disconnect();
    return;
  }
  if (msg.t === 'bundle') {
    const e = msg.error;
    answerBundle(msg.sha256, msg.bytes, e === undefined ? undefined : new DataboxError(e.code, e.message, { retryable: e.retryable }));
    return;
  }
  queue.push(...msg.subtasks);
  if (running === null) void drain();
});
// The Taskman went away: nothing left to work for. What the running UDF started goes first.
process.on('disconnect', () => {
  udfs.endStarted(0);
  process.exit(0);
});

type Outcome = { ok: true; value: unknown } | { ok: false; error: Done['error'] & object; fatal?: true };

async function runOne(s: WorkSubtask, signal: AbortSignal): Promise<Outcome> {
  try {
    const task = tasks.parse(s.task);
    if (task.kind === 'udf') return await udfs.run(s, task.sha256, phaseOf(s.args), signal);
    await udfs.release();
    const run = await tasks.load(task.name);
    const value = await run({ index: s.index, attempt: s.attempt, args: s.args, input: s.input ?? s.index, signal });
    return { ok: true, value };
  } catch (err) {
    const stack = err instanceof Error ? err.stack : undefined;
    const code = err instanceof DataboxError ? err.code : undefined;
    return { ok: false, error: { message: messageOf(err), ...(code ? { code } : {}), ...(stack ? { stack } : {}) } };
  }
}

/** A UDF job's args say which phase its subtasks run: `{ "phase": "reduce" }` folds partial results. */
function phaseOf(args: unknown): 'map' | 'reduce' {
  return typeof args === 'object' && args !== null && (args as Record<string, unknown>).phase === 'reduce' ? 'reduce' : 'map';
}

async function drain(): Promise<void> {
  const started = performance.now();
  let ran = 0;
  let results: Done[] = [];
  let flushedAt = started;
  for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
    running = s.id;
    // A signal per subtask, tied to the worker's: listeners a task adds die with its subtask.
    const own = new AbortController();
    const relay = (): void => own.abort(stop.signal.reason);
    stop.signal.addEventListener('abort', relay, { once: true });
    let fatal = false;
    try {
      const outcome = await runOne(s, own.signal);
      fatal = !outcome.ok && outcome.fatal === true;
      results.push({ id: s.id, attempt: s.attempt, ...(outcome.ok ? { ok: true, value: outcome.value } : { ok: false, error: outcome.error }) });
    } finally {
      stop.signal.removeEventListener('abort', relay);
    }
    if (fatal) {
      // The UDF ended its process: say so, then go, and the Taskman starts a fresh worker.
      process.send?.(fromWorkerSchema.parse({ t: 'done', results }), () => process.exit(70));
      return;
    }
    running = null;
    ran++;
    const now = performance.now();
    if (now - flushedAt >= FLUSH_MS) {
      send({ t: 'done', results });
      results = [];
      flushedAt = now;
    }
  }
  if (results.length > 0) send({ t: 'done', results });
  // Idle: no UDF's memory cap stays on the worker.
  await udfs.release();
  want = (performance.now() - started) / ran < SHORT_MS ? Math.min(want * 2, MAX_PULL) : 1;
  if (process.connected) send({ t: 'pull', want });
}

// The task packages load (and warm up: codec threads) before this worker says it is alive or asks for
// work, so a fresh cluster's first job does not pay for them. Loading a module graph holds this thread
// (about 0.3 s, more on a busy machine), so no heartbeat could go out meanwhile: until its first
// heartbeat a worker is under its Taskman's start-up allowance instead. A package that fails here fails
// again, with its error, when one of its tasks runs.
await tasks.preload().catch((err: unknown) => process.stderr.write(`databox worker: task packages not preloaded: ${messageOf(err)}\n`));
setInterval(() => send({ t: 'heartbeat', running }), heartbeatMs).unref();
send({ t: 'pull', want });
