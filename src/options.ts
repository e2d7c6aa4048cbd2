import { z } from 'zod';

/**
 * Option parsing shared by every folder: parse once at the edge, and report the first problem by the
 * option's full name and the value given, so each folder can throw its own typed error with it.
 */

/** An integer ≥ 1, with a message that says so. */
export const positiveInt = z.number('must be a positive integer').int('must be a positive integer').positive('must be a positive integer');

/** An integer ≥ 0, with a message that says so. */
export const nonNegativeInt = z
  .number('must be a non-negative integer')
  .int('must be a non-negative integer')
  .nonnegative('must be a non-negative integer');

/** What is wrong with an options object, for an error message. */
export interface OptionProblem {
  /** e.g. `options.retry.maxAttempts`; several names, comma-separated, for unknown keys. */
  name: string;
  /** e.g. `must be a positive integer`. */
  problem: string;
  /** The value given (the first unknown key's value for unknown keys). */
  value: unknown;
}

export function parseOptions<S extends z.ZodType>(
  schema: S,
  input: unknown,
  fail: (problem: OptionProblem) => never,
  root = 'options',
): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path ?? [];
  if (issue?.code === 'unrecognized_keys') {
    const names = issue.keys.map((k) => [root, ...path, k].join('.'));
    return fail({ name: names.join(', '), problem: 'is not a known option', value: valueAt(input, [...path, issue.keys[0] ?? '']) });
  }
  return fail({ name: [root, ...path].join('.'), problem: issue?.message ?? 'is invalid', value: valueAt(input, path) });
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
