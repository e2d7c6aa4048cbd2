import { z } from 'zod';

import { JobSpecError } from './errors.js';
import { FAILURE_POLICIES, type JobDefinition, type JobSpec, type JsonValue } from './types.js';

/** Most subtasks one job may have. */
export const MAX_INPUTS = 100_000_000;
/** Most rows one page of a store read returns. */
export const MAX_PAGE = 100_000;
/** Most retries a job may ask for. */
export const MAX_RETRIES = 100;
/**
 * Longest `timeoutMs`: 2^31 - 1 ms (24.8 days), the most a Node.js timer can wait; a longer one would
 * fire at once.
 */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** Bounds of a job's `memoryMb`: below 64 MiB a Node.js worker cannot even start. */
export const MIN_MEMORY_MB = 64;
export const MAX_MEMORY_MB = 1_048_576;

const name = (what: string) => z.string(`must be ${what}`).min(1, `must be ${what}`).max(256, `must be ${what} of at most 256 characters`);

const specSchema = z.strictObject(
  {
    task: name('a task name such as builtin:noop'),
    inputs: z.union(
      [
        z.number().int().min(0).max(MAX_INPUTS),
        z.custom<Iterable<JsonValue>>((v) => typeof v === 'object' && v !== null && Symbol.iterator in v && typeof v !== 'string'),
      ],
      `must be a count from 0 to ${MAX_INPUTS} or an iterable of inputs`,
    ),
    args: z.unknown().optional(),
    priority: z.boolean('must be true or false').default(false),
    node: name('a node name').nullable().default(null),
    waitForNode: z.boolean('must be true or false').default(false),
    preferNodes: z.array(name('a node name'), 'must be a list of node names').default([]),
    retries: z
      .number('must be an integer from 0 to 100')
      .int('must be an integer from 0 to 100')
      .min(0, 'must be an integer from 0 to 100')
      .max(MAX_RETRIES, 'must be an integer from 0 to 100')
      .default(3),
    timeoutMs: z
      .number('must be a positive integer number of milliseconds, or null')
      .int('must be a positive integer number of milliseconds, or null')
      .positive('must be a positive integer number of milliseconds, or null')
      .max(MAX_TIMEOUT_MS, `must be at most ${MAX_TIMEOUT_MS} ms (2^31 - 1, about 24.8 days), the longest a timer can wait, or null for no limit`)
      .nullable()
      .default(null),
    memoryMb: z
      .number('must be a whole number of MiB from 64 to 1048576, or null')
      .int('must be a whole number of MiB from 64 to 1048576, or null')
      .min(MIN_MEMORY_MB, 'must be a whole number of MiB from 64 to 1048576, or null')
      .max(MAX_MEMORY_MB, 'must be a whole number of MiB from 64 to 1048576, or null')
      .nullable()
      .default(null),
    onFailure: z.enum(FAILURE_POLICIES, `must be one of ${FAILURE_POLICIES.join(', ')}`).default('retry-subtask'),
  },
  'must be an object of known fields',
);

/** A checked spec: its definition with defaults filled in, and its inputs as given. */
export interface ResolvedJobSpec {
  definition: JobDefinition;
  inputs: number | Iterable<JsonValue>;
}

/** Checks a job spec at the edge; the error names the field and the bad value. Args are encoded later. */
export function resolveJobSpec(spec: JobSpec): ResolvedJobSpec {
  const parsed = specSchema.safeParse(spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path ?? [];
    if (issue?.code === 'unrecognized_keys') {
      throw new JobSpecError(`spec.${issue.keys[0] ?? ''} is not a known field`);
    }
    const value = path.reduce<unknown>((v, k) => (typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined), spec);
    throw new JobSpecError(`spec.${path.join('.')} ${issue?.message ?? 'is invalid'} (got ${show(value)})`);
  }
  const s = parsed.data;
  return {
    definition: {
      task: s.task,
      args: (s.args ?? null) as JsonValue,
      priority: s.priority,
      node: s.node,
      waitForNode: s.waitForNode,
      preferNodes: s.preferNodes,
      retries: s.retries,
      timeoutMs: s.timeoutMs,
      memoryMb: s.memoryMb,
      onFailure: s.onFailure,
    },
    inputs: s.inputs,
  };
}

function show(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return 'an object';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
