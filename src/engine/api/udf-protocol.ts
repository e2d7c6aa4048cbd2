import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

import { DataboxError } from '../../errors.js';
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
  }),
  z.object({ t: z.literal('abort'), id: z.string(), reason: z.string() }),
]);
export type ToThread = z.infer<typeof toThreadSchema>;

const outcomeError = z.object({ message: z.string(), code: z.string().optional(), stack: z.string().optional() });

export const fromThreadSchema = z.union([
  z.object({ t: z.literal('done'), id: z.string(), ok: z.literal(true), value: jsonSchema }),
  z.object({ t: z.literal('done'), id: z.string(), ok: z.literal(false), error: outcomeError }),
  z.object({ t: z.literal('progress'), id: z.string(), fraction: z.number().min(0).max(1) }),
  z.object({ t: z.literal('log'), id: z.string(), level: z.enum(['info', 'warn', 'error']), message: z.string() }),
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
  /** The Jobman to fetch bundles from, and its token; undefined for a worker run by hand. */
  jobman: string | undefined;
  token: string | undefined;
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
    jobman: env.DATABOX_JOBMAN,
    token: env.DATABOX_TOKEN,
  };
}

/** Fetches a bundle from the Jobman (`GET /v1/udfs/:sha256`); the loader checks its hash. */
export function fetchBundleFrom(env: ThreadEnv): (sha256: string) => Promise<Uint8Array> {
  return async (sha256) => {
    if (env.jobman === undefined) throw new DataboxError('ERR_UDF_FETCH', `UDF bundle ${sha256} is not in the cache ${env.cacheDir}, and this worker has no Jobman to fetch it from`);
    const url = `${env.jobman}/v1/udfs/${sha256}`;
    let res: Response;
    try {
      res = await fetch(url, { headers: env.token ? { authorization: `Bearer ${env.token}` } : {}, signal: AbortSignal.timeout(60_000) });
    } catch (err) {
      throw new DataboxError('ERR_UDF_FETCH', `Cannot fetch UDF bundle ${sha256} from ${url}: ${(err as Error).message}`, { retryable: true, cause: err });
    }
    if (!res.ok) {
      const text = await res.text().catch(() => '');
      throw new DataboxError('ERR_UDF_FETCH', `Cannot fetch UDF bundle ${sha256} from ${url}: HTTP ${res.status} ${text.slice(0, 300)}`, { retryable: res.status >= 500 });
    }
    return new Uint8Array(await res.arrayBuffer());
  };
}
