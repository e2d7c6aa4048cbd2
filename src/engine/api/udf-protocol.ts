import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

import { MAX_BUNDLE_BYTES, SHA256_HEX } from '../udf/limits.js';
import { jsonSchema } from './json.js';

/**
 * Messages between a worker's main thread and its UDF thread, and where the thread finds the node's
 * settings. The thread is ours too, but it runs user code, so what it says is parsed like any message.
 */

export const toThreadSchema = z.discriminatedUnion('t', [
  z.object({
    t: z.literal('run'),
    id: z.string(),
    jobId: z.string(),
    index: z.number().int().nonnegative(),
    attempt: z.number().int().positive(),
    sha256: z.string(),
    /** `map` runs the UDF's map on `input`; `reduce` folds `input`, a list of partial results. */
    phase: z.enum(['map', 'reduce']),
    input: jsonSchema.optional(),
    /** `DATABOX_SUBTASK` while the subtask runs, inherited by every process it starts (see process-tree.ts). */
    marker: z.string(),
  }),
  z.object({ t: z.literal('abort'), id: z.string(), reason: z.string() }),
  /** The bundle the thread asked for, as its worker's Taskman fetched it, or why it could not. */
  z.object({
    t: z.literal('bundle'),
    sha256: z.string().regex(SHA256_HEX),
    bytes: z.custom<Uint8Array>((b) => b instanceof Uint8Array && b.byteLength <= MAX_BUNDLE_BYTES).optional(),
    error: z.object({ message: z.string(), code: z.string(), retryable: z.boolean() }).optional(),
  }),
]);
export type ToThread = z.infer<typeof toThreadSchema>;

const outcomeError = z.object({ message: z.string(), code: z.string().optional(), stack: z.string().optional() });

export const fromThreadSchema = z.union([
  z.object({ t: z.literal('done'), id: z.string(), ok: z.literal(true), value: jsonSchema }),
  z.object({ t: z.literal('done'), id: z.string(), ok: z.literal(false), error: outcomeError }),
  z.object({ t: z.literal('progress'), id: z.string(), fraction: z.number().min(0).max(1) }),
  z.object({ t: z.literal('log'), id: z.string(), level: z.enum(['info', 'warn', 'error']), message: z.string() }),
  /** Send the bundle named `sha256` (the thread holds no credential to fetch it). */
  z.object({ t: z.literal('bundle'), sha256: z.string().regex(SHA256_HEX) }),
]);
export type FromThread = z.infer<typeof fromThreadSchema>;

/** What a worker knows of its node, from the environment its Taskman started it with. */
export interface ThreadEnv {
  node: string;
  /** The node's UDF cache directory. */
  cacheDir: string;
  /**
   * This worker process's scratch root: subtasks' scratch directories go inside, so whatever a dead
   * thread or process leaves is removed with the root (by the worker, or by the Taskman when it dies).
   */
  scratchRoot: string;
}

/** Where the worker process `pid` keeps its subtasks' scratch directories. */
export function workerScratchRoot(pid: number): string {
  return join(tmpdir(), `databox-worker-${pid}`);
}

export function threadEnv(env: NodeJS.ProcessEnv = process.env, pid = process.pid): ThreadEnv {
  return {
    node: env.DATABOX_NODE ?? 'local',
    cacheDir: env.DATABOX_CACHE_DIR ?? join(homedir(), '.databox', 'cache'),
    scratchRoot: workerScratchRoot(pid),
  };
}
