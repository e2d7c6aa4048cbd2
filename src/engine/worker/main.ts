import { messageOf } from '../../errors.js';
import { resolveTask } from '../tasks/builtins.js';
import { fromWorkerSchema, MAX_PULL, toWorkerSchema, type Done, type FromWorker, type WorkSubtask } from './protocol.js';

/**
 * A worker process: pulls subtasks from its Taskman over IPC, runs them one at a time, reports their
 * results, and says it is alive every `DATABOX_HEARTBEAT_MS`. It never talks to the Jobman.
 *
 * Batching: a worker asks for one subtask at a time while subtasks take a while, and for twice as many
 * (up to MAX_PULL) each time a whole batch ran in under SHORT_MS per subtask. Results of one batch go
 * back in one message, flushed at least every FLUSH_MS. So a no-op costs a fraction of a message, and a
 * long subtask never waits in a worker behind another one.
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

setInterval(() => send({ t: 'heartbeat', running }), heartbeatMs).unref();

process.on('message', (raw) => {
  const parsed = toWorkerSchema.safeParse(raw);
  if (!parsed.success) {
    process.stderr.write(`databox worker: ignoring a malformed message: ${parsed.error.issues[0]?.message}\n`);
    return;
  }
  const msg = parsed.data;
  if (msg.t === 'shutdown') {
    stop.abort(new Error('worker shutting down'));
    process.disconnect();
    return;
  }
  queue.push(...msg.subtasks);
  if (running === null) void drain();
});
// The Taskman went away: nothing left to work for.
process.on('disconnect', () => process.exit(0));

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
    try {
      const value = await resolveTask(s.task)({ index: s.index, attempt: s.attempt, arg: s.arg, signal: own.signal });
      results.push({ id: s.id, attempt: s.attempt, ok: true, value });
    } catch (err) {
      const stack = err instanceof Error ? err.stack : undefined;
      results.push({ id: s.id, attempt: s.attempt, ok: false, error: { message: messageOf(err), ...(stack ? { stack } : {}) } });
    } finally {
      stop.signal.removeEventListener('abort', relay);
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
  want = (performance.now() - started) / ran < SHORT_MS ? Math.min(want * 2, MAX_PULL) : 1;
  if (process.connected) send({ t: 'pull', want });
}

send({ t: 'pull', want });
