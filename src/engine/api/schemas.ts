import { z } from 'zod';

import { accessRulesSchema } from '../../storage/index.js';
import { FAILURE_POLICIES, MAX_INPUTS, MAX_MEMORY_MB, MAX_RETRIES, MAX_TIMEOUT_MS, MIN_MEMORY_MB } from '../store/index.js';
import { SUBTASK_STATES } from '../state-machine.js';
import { subtaskSchema } from './worker-protocol.js';
import { SHA256_HEX } from '../udf/limits.js';
import { jsonProblem, jsonSchema } from './json.js';
import type { JsonValue } from '../store/index.js';

/**
 * The Jobman's HTTP API, as zod schemas: the server validates every request with them (fastify's type
 * provider turns them into JSON Schema for the OpenAPI document), and the client and the Taskman parse
 * every answer with them. One file, so the two ends cannot drift apart.
 */

const json = jsonSchema;
/**
 * An id in a URL (a job id, a subtask id on the Taskman link): canonical decimal only. `Number()` would
 * read `0x10`, `1e3`, ` 1` and `+1` as ids, so one resource would answer to many spellings and a
 * typo could name another job; only the one spelling the Jobman itself prints is accepted.
 */
export const CANONICAL_ID = /^[1-9][0-9]{0,15}$/;
const ID_PROBLEM = `must be a positive decimal integer with no sign, leading zero or exponent, at most ${Number.MAX_SAFE_INTEGER}`;
const idText = z
  .string(ID_PROBLEM)
  .regex(CANONICAL_ID, ID_PROBLEM)
  .refine((s) => Number(s) <= Number.MAX_SAFE_INTEGER, ID_PROBLEM);
const id = idText.transform(Number);
const nodeName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit');
const count = z.number().int().nonnegative();
const ms = z.number().int().nonnegative();

// ---------------------------------------------------------------------------------------------------
// Client API
// ---------------------------------------------------------------------------------------------------

/**
 * A job's listed inputs, checked by hand: zod's union per element took 3 s for 7 million inputs, on
 * the Jobman's event loop; this takes a few ms per million.
 */
const inputsSchema = z
  .custom<JsonValue[]>((v) => Array.isArray(v), 'must be a list of inputs')
  .refine((list) => list.length >= 1, 'must hold at least one input')
  .refine((list) => list.length <= MAX_INPUTS, `must hold at most ${MAX_INPUTS} inputs`)
  .superRefine((list, ctx) => {
    for (let i = 0; i < list.length; i++) {
      const problem = jsonProblem(list[i], 0);
      if (problem !== undefined) {
        ctx.addIssue({ code: 'custom', path: [i], message: problem });
        return;
      }
    }
  });

/** `POST /v1/jobs`: exactly one of `count` (inputs 0..count-1) and `inputs`. */
export const submitJobSchema = z
  .strictObject({
    task: z.string().min(1, 'must name a task, such as builtin:noop').max(512),
    count: z.number().int('must be an integer').min(1, 'must be at least 1').max(MAX_INPUTS, `must be at most ${MAX_INPUTS}`).optional(),
    inputs: inputsSchema.optional(),
    args: json.optional(),
    priority: z.boolean().optional(),
    node: nodeName.optional(),
    /** With `node`: wait for that node however long it is gone, rather than fail with ERR_NODE_GONE after the Jobman's grace period. */
    waitForNode: z.boolean().optional(),
    preferNodes: z.array(nodeName).max(64).optional(),
    retries: z.number().int().min(0).max(MAX_RETRIES, `must be at most ${MAX_RETRIES}`).optional(),
    // A timer cannot wait longer: 2^31 ms would fire at once.
    timeoutMs: z
      .number()
      .int()
      .positive('must be a positive number of milliseconds')
      .max(MAX_TIMEOUT_MS, `must be at most ${MAX_TIMEOUT_MS} ms (2^31 - 1, about 24.8 days), the longest a timer can wait; leave it out for no limit`)
      .optional(),
    onFailure: z.enum(FAILURE_POLICIES).optional(),
    memoryMb: z.number().int('must be a whole number of MiB').min(MIN_MEMORY_MB, `must be at least ${MIN_MEMORY_MB} MiB`).max(MAX_MEMORY_MB, `must be at most ${MAX_MEMORY_MB} MiB`).optional(),
  })
  .refine((b) => (b.count === undefined) !== (b.inputs === undefined), { message: 'or inputs must be given (exactly one of the two)', path: ['count'] });
export type SubmitJob = z.infer<typeof submitJobSchema>;

export const countsSchema = z.object(Object.fromEntries(SUBTASK_STATES.map((s) => [s, count])) as Record<(typeof SUBTASK_STATES)[number], typeof count>);

/** A job as the API shows it. */
export const jobViewSchema = z.object({
  id: z.number().int().positive(),
  task: z.string(),
  args: json,
  priority: z.boolean(),
  node: z.string().nullable(),
  /** A pinned job waits for its node however long it is gone (absent from Jobmen before version 0.2). */
  waitForNode: z.boolean().optional(),
  preferNodes: z.array(z.string()),
  retries: count,
  timeoutMs: z.number().int().positive().nullable(),
  memoryMb: z.number().int().positive().nullable(),
  onFailure: z.enum(FAILURE_POLICIES),
  total: count,
  state: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
  counts: countsSchema,
  restarts: count,
  /** Milliseconds since the epoch. */
  createdAt: ms,
  finishedAt: ms.nullable(),
  cancelledAt: ms.nullable(),
});
export type JobView = z.infer<typeof jobViewSchema>;

/** `PUT|GET /v1/udfs/:sha256`: a UDF bundle, named by the SHA-256 of its bytes. */
export const udfParamsSchema = z.strictObject({ sha256: z.string().regex(SHA256_HEX, 'must be the lowercase hex SHA-256 of the bundle (64 characters)') });
export const udfStoredSchema = z.object({ sha256: z.string(), bytes: count, created: z.boolean() });

export const FINISHED_JOB_STATES: ReadonlySet<JobView['state']> = new Set(['succeeded', 'failed', 'cancelled']);

export const jobIdParamsSchema = z.strictObject({ id });
export const listJobsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  before: id.optional(),
});
export const jobListSchema = z.object({ jobs: z.array(jobViewSchema) });

export const pageQuerySchema = z.strictObject({
  from: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});
export const resultsPageSchema = z.object({
  results: z.array(z.object({ index: count, state: z.enum(SUBTASK_STATES), attempt: count, node: z.string().nullable(), result: json })),
  /** The `from` of the next page; null after the last. */
  next: count.nullable(),
});
export const errorsPageSchema = z.object({
  errors: z.array(
    z.object({
      index: count,
      attempt: count,
      node: z.string().nullable(),
      worker: z.string().nullable(),
      error: z.object({ message: z.string(), code: z.string().optional(), stack: z.string().optional() }),
      at: ms,
    }),
  ),
  next: count.nullable(),
});

export const cancelResultSchema = z.object({
  id: z.number().int().positive(),
  /** Subtasks moved to cancelled. */
  cancelled: count,
  /** Of those, how many were on a Taskman and are being killed there. */
  killed: count,
});

/** One worker process of a node, as its Taskman reports it. */
export const workerViewSchema = z.object({
  slot: count,
  pid: count.nullable(),
  state: z.enum(['starting', 'idle', 'busy']),
  /** Subtasks it holds. */
  holds: count,
  /** Milliseconds since its last heartbeat to the Taskman; null before the first. */
  heartbeatAgeMs: ms.nullable(),
  /** How far its running subtask is, 0..1, when the subtask reports it (a UDF's `ctx.progress`). */
  progress: z.number().min(0).max(1).nullable().optional(),
});
export type WorkerView = z.infer<typeof workerViewSchema>;

/** A node's counters, as its Taskman measures them. */
export const nodeMetricsSchema = z.object({
  /** Busy fraction of all cores over the last heartbeat interval, 0..1. */
  cpu: z.number().min(0).max(1),
  cores: z.number().int().positive(),
  memoryTotalBytes: count,
  memoryFreeBytes: count,
  /** Bytes received and sent on all non-loopback interfaces since boot; null where unknown. */
  networkRxBytes: count.nullable(),
  networkTxBytes: count.nullable(),
  /** Resident memory of the Taskman and its workers together. */
  rssBytes: count,
});
export type NodeMetrics = z.infer<typeof nodeMetricsSchema>;

/**
 * Where a node's workers reach S3 (never credentials): a client compares it with its own before a job
 * of s3:// URLs, so a client on a local endpoint and workers on AWS never read different buckets.
 */
export const nodeStorageSchema = z.strictObject({
  /** DATABOX_S3_ENDPOINT where the Taskman runs; null: AWS. */
  s3Endpoint: z.string().max(2048).nullable(),
  /** AWS_REGION (or AWS_DEFAULT_REGION) where the Taskman runs, default us-east-1. */
  s3Region: z.string().max(64),
});
export type NodeStorage = z.infer<typeof nodeStorageSchema>;

export const nodeViewSchema = z.object({
  name: z.string(),
  /** Where the Taskman connects from. */
  address: z.string(),
  state: z.enum(['alive', 'dead']),
  workers: z.array(workerViewSchema),
  metrics: nodeMetricsSchema.nullable(),
  /** Subtasks dispatched to it or running on it. */
  inFlight: count,
  joinedAt: ms,
  lastHeartbeatAt: ms,
  heartbeatAgeMs: ms,
  /** The node's S3 settings, as it reported them when it joined (null from a Taskman that did not). */
  storage: nodeStorageSchema.nullable(),
});
export type NodeView = z.infer<typeof nodeViewSchema>;
export const nodeListSchema = z.object({ nodes: z.array(nodeViewSchema) });

export const healthSchema = z.object({ ok: z.literal(true), version: z.string(), uptimeMs: ms });

/** Every error the API answers: a stable code and a one-line reason. */
export const apiErrorSchema = z.object({ statusCode: z.number().int(), code: z.string(), error: z.string(), message: z.string() });
export type ApiError = z.infer<typeof apiErrorSchema>;

// ---------------------------------------------------------------------------------------------------
// Taskman link: join once, then one heartbeat request at a time, carrying state changes up and work
// and kill orders down.
// ---------------------------------------------------------------------------------------------------

export const nodeParamsSchema = z.strictObject({ name: nodeName });

/** `POST /v1/nodes/:name/join`. */
export const joinSchema = z.strictObject({
  /** A random id this Taskman process picked at start; every heartbeat repeats it. */
  incarnation: z.string().min(8).max(64),
  workers: z.number().int().positive().max(1024),
  startedAt: ms,
  storage: nodeStorageSchema.optional(),
  /** The incarnation of this node's previous Taskman (same name and home), which this one replaces at once if it is still counted alive. */
  replaces: z.string().min(8).max(64).optional(),
});
export const joinReplySchema = z.object({
  heartbeatMs: z.number().int().positive(),
  missedHeartbeats: z.number().int().positive(),
  /** The storage allow-lists every worker of the node enforces; null (or absent, from an older Jobman): none. */
  access: accessRulesSchema.nullable().optional(),
});

export const reportedChangeSchema = z.strictObject({
  id: idText,
  attempt: z.number().int().positive(),
  to: z.enum(['running', 'succeeded', 'failed']),
  worker: z.string().max(64).optional(),
  result: json.optional(),
  error: z.strictObject({ message: z.string(), code: z.string().optional(), stack: z.string().optional() }).optional(),
});

/**
 * Most bytes of state changes a Taskman puts in one heartbeat; the rest go in the next one. A Jobman's
 * body limit is at least twice this (MIN_BODY_BYTES), so a heartbeat always fits.
 */
export const MAX_HEARTBEAT_CHANGE_BYTES = 8 * 1024 * 1024;
/** The smallest request body limit a Jobman may be given: heartbeats must fit. */
export const MIN_BODY_BYTES = 2 * MAX_HEARTBEAT_CHANGE_BYTES;

/** `POST /v1/nodes/:name/heartbeat`. */
export const heartbeatSchema = z.strictObject({
  incarnation: z.string().min(8).max(64),
  /** Numbers this incarnation's heartbeats: 1, 2, 3, ... */
  seq: z.number().int().positive(),
  /**
   * The `seq` of the last heartbeat whose answer the Taskman received and applied (0 for none). Work in
   * an answer it never received (a dropped connection) goes back to the Jobman's deque.
   */
  ack: z.number().int().nonnegative(),
  /** How many more subtasks the Taskman can take now (free workers plus prefetch). */
  want: z.number().int().min(0).max(100_000),
  changes: z.array(reportedChangeSchema).max(200_000),
  workers: z.array(workerViewSchema).max(1024),
  metrics: nodeMetricsSchema.nullable(),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;

export const heartbeatReplySchema = z.object({
  /** New work for the Taskman's deque, in order (priority work is flagged for its head). */
  work: z.array(subtaskSchema),
  /** Subtasks to stop (their job was cancelled or restarted). */
  kill: z.array(z.object({ id: z.string(), attempt: z.number().int().positive() })),
  /** How many reported changes were rejected as wrong; the Jobman logs each. */
  rejected: count,
});
export type HeartbeatReply = z.infer<typeof heartbeatReplySchema>;

/** The answer to a heartbeat of an incarnation the Jobman has let go: drop everything and join again. */
export const DROPPED_CODE = 'ERR_NODE_DROPPED';
