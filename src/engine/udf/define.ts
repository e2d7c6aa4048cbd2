import type { ByteSource } from '../../storage/index.js';

/**
 * What an RS-UDF's `map` and `reduce` see of the subtask they run in. Everything here is local to the
 * worker process: the logger and progress go to the worker's Taskman, `open` reads through the raster
 * core's storage layer (file, HTTP, S3), and `scratchDir` is removed when the subtask ends.
 */
export interface UdfContext {
  jobId: string;
  subtaskId: string;
  /** Input index, 0..N-1 (for a reduce subtask, its place among the reduce subtasks). */
  index: number;
  /**
   * 1 for the first attempt. Execution is at-least-once: an attempt whose worker, Taskman or node died,
   * or whose report was lost, runs again, so a subtask may run more than once, even twice at a time.
   */
  attempt: number;
  /**
   * The same for every attempt of this subtask, and different for every other subtask of any job
   * (`<jobId>-<index>`): name side effects after it (an output file, an S3 key, a database row) so a
   * second attempt overwrites or finds the first one's instead of adding another. See docs/udf.md.
   */
  idempotencyKey: string;
  /** The node (Taskman) the worker belongs to. */
  node: string;
  /** Aborted when the subtask is cancelled, times out, or the worker stops. */
  signal: AbortSignal;
  log: UdfLogger;
  /** How far this subtask is, 0..1; shown per worker in `databox nodes`. */
  progress(fraction: number): void;
  /** Opens a byte source (file path, file://, http(s)://, s3://) as the raster core does. */
  open(url: string): ByteSource;
  /** An empty directory of this subtask's own, removed when it ends. */
  scratchDir: string;
}

export interface UdfLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * An RS-UDF: `map` runs once per input; `reduce`, when given, folds two results into one and must be
 * associative and commutative, since partial results are folded on each node in whatever order their
 * subtasks end, and the partials then in any order.
 */
export interface UdfSpec<I = unknown, O = unknown> {
  map(input: I, ctx: UdfContext): O | Promise<O>;
  reduce?(a: O, b: O, ctx: UdfContext): O | Promise<O>;
}

/** The mark `defineUdf` leaves, shared through the global symbol registry so a bundled copy of this module matches. */
export const UDF_BRAND: unique symbol = Symbol.for('databox-mr.udf') as never;

export type Udf<I = unknown, O = unknown> = UdfSpec<I, O> & { readonly [UDF_BRAND]: true };

/** Declares an RS-UDF; a UDF module's default export must be what this returns. */
export function defineUdf<I = unknown, O = unknown>(spec: UdfSpec<I, O>): Udf<I, O> {
  if (spec === null || typeof spec !== 'object' || typeof spec.map !== 'function') {
    throw new TypeError('defineUdf needs an object with a map(input, ctx) function');
  }
  if (spec.reduce !== undefined && typeof spec.reduce !== 'function') throw new TypeError('defineUdf: reduce must be a function when given');
  return Object.freeze({ ...spec, [UDF_BRAND]: true as const });
}

/** True when `value` came from `defineUdf` (of any copy of this module). */
export function isUdf(value: unknown): value is Udf {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[UDF_BRAND] === true && typeof (value as UdfSpec).map === 'function';
}

/**
 * The `ctx.idempotencyKey` of input `index` of job `jobId`: stable across attempts and job restarts,
 * unique across subtasks and jobs (job ids are never reused), and safe in a file name or an S3 key.
 */
export function idempotencyKey(jobId: string, index: number): string {
  return `${jobId}-${index}`;
}
