import { z } from 'zod';

import { MAX_BUNDLE_BYTES, SHA256_HEX } from '../udf/limits.js';
import { jsonSchema } from './json.js';

/**
 * Messages between a Taskman and its worker processes (Node IPC, one process per worker). Both sides
 * parse what they receive with these schemas, so a confused or hostile peer gets a clear error, not a crash.
 */

export const subtaskSchema = z.object({
  /** Unique id of the subtask. */
  id: z.string().min(1),
  jobId: z.string().min(1),
  /** Input index, 0..N-1. */
  index: z.number().int().nonnegative(),
  /** 1 for the first attempt; results are committed per (id, attempt). */
  attempt: z.number().int().positive(),
  /** Task name, e.g. `builtin:noop`. */
  task: z.string().min(1),
  /** The job's args; absent when null. */
  args: jsonSchema.optional(),
  /** The subtask's input, for jobs submitted with a list of inputs; a counted job's input is its index. */
  input: jsonSchema.optional(),
  /** Kill the subtask after this long; none when absent. */
  timeoutMs: z.number().int().positive().optional(),
  /**
   * What a UDF subtask may use, in MiB, beyond what its worker used before the job's UDF thread started:
   * its thread, its buffers and every process it starts; none when absent.
   */
  memoryMb: z.number().int().positive().optional(),
  /** Priority work goes to the head of the Taskman's deque. */
  priority: z.boolean().optional(),
});
export type WorkSubtask = z.infer<typeof subtaskSchema>;

const sha256Schema = z.string().regex(SHA256_HEX, 'must be a UDF bundle name (64 lowercase hex digits)');

/** Taskman → worker. */
export const toWorkerSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('run'), subtasks: z.array(subtaskSchema).min(1) }),
  z.object({ t: z.literal('shutdown') }),
  /**
   * The answer to a worker's `bundle`: the bundle's bytes as the Jobman sent them (the worker checks
   * their hash before it uses them), or why the Taskman could not fetch them.
   */
  z.object({
    t: z.literal('bundle'),
    sha256: sha256Schema,
    bytes: z.custom<Uint8Array>((b) => b instanceof Uint8Array && b.byteLength <= MAX_BUNDLE_BYTES, `must be a Uint8Array of at most ${MAX_BUNDLE_BYTES} bytes`).optional(),
    error: z.object({ message: z.string().max(4096), code: z.string().max(64), retryable: z.boolean() }).optional(),
  }),
]);
export type ToWorker = z.infer<typeof toWorkerSchema>;

/** Most subtasks a worker asks for at once. */
export const MAX_PULL = 256;

const doneSchema = z.object({
  id: z.string(),
  attempt: z.number().int().positive(),
  ok: z.boolean(),
  value: z.unknown().optional(),
  error: z.object({ message: z.string(), code: z.string().optional(), stack: z.string().optional() }).optional(),
});
export type Done = z.infer<typeof doneSchema>;

/** Worker → Taskman. */
export const fromWorkerSchema = z.discriminatedUnion('t', [
  /**
   * Ready for up to `want` more subtasks. A worker asks for more than one only while its subtasks are
   * short (see `main.ts`), so the cost of a message is shared by many of them.
   */
  z.object({ t: z.literal('pull'), want: z.number().int().positive().max(MAX_PULL) }),
  /** How far the running subtask is, 0..1, as its UDF says (`ctx.progress`). */
  z.object({ t: z.literal('progress'), id: z.string(), fraction: z.number().min(0).max(1) }),
  /** Alive; `running` is the subtask in progress. */
  z.object({ t: z.literal('heartbeat'), running: z.string().nullable() }),
  /** Subtasks ended, in the order they ran: `value` when one succeeded, `error` when it threw. */
  z.object({ t: z.literal('done'), results: z.array(doneSchema).min(1) }),
  /**
   * Send the UDF bundle named `sha256`: workers hold no credential for the Jobman, so their Taskman
   * fetches bundles for them.
   */
  z.object({ t: z.literal('bundle'), sha256: sha256Schema }),
]);
export type FromWorker = z.infer<typeof fromWorkerSchema>;
