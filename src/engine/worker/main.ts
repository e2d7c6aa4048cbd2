import { messageOf } from '../../errors.js';
import { resolveTask } from '../tasks/builtins.js';
import { fromWorkerSchema, toWorkerSchema, type FromWorker, type WorkSubtask } from './protocol.js';

/**
 * A worker process: pulls subtasks from its Taskman over IPC, runs them one at a time, reports each
 * result, and says it is alive every `DATABOX_HEARTBEAT_MS`. It never talks to the Jobman.
 */
const heartbeatMs = Number(process.env.DATABOX_HEARTBEAT_MS ?? 1000);
const send = (msg: FromWorker): void => {
  process.send?.(fromWorkerSchema.parse(msg));
};

if (process.send === undefined) {
  process.stderr.write('databox worker: must be started by a Taskman (no IPC channel)\n');
  process.exit(2);
}

const queue: WorkSubtask[] = [];
let running: string | null = null;
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
  for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
    running = s.id;
    try {
      const value = await resolveTask(s.task)({ index: s.index, attempt: s.attempt, arg: s.arg, signal: stop.signal });
      send({ t: 'done', id: s.id, attempt: s.attempt, ok: true, value });
    } catch (err) {
      const stack = err instanceof Error ? err.stack : undefined;
      send({ t: 'done', id: s.id, attempt: s.attempt, ok: false, error: { message: messageOf(err), ...(stack ? { stack } : {}) } });
    }
    running = null;
  }
  if (process.connected) send({ t: 'pull', want: 1 });
}

send({ t: 'pull', want: 1 });
