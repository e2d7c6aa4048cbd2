import { z } from 'zod';

import type { JsonValue } from '../store/index.js';

/** How deep a JSON value may nest: far beyond any real args, input or result, far below what validation can recurse. */
export const MAX_JSON_DEPTH = 256;

const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);

/** True when `v` nests containers deeper than `limit`; walked with its own stack, each container once. */
function nestsDeeperThan(v: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[v, 0]];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const [x, depth] = stack.pop()!;
    if (typeof x !== 'object' || x === null || seen.has(x)) continue;
    if (depth >= limit) return true;
    seen.add(x);
    for (const child of Array.isArray(x) ? x : Object.values(x)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * Any JSON value: job args, subtask inputs and results, wherever they cross a process boundary.
 *
 * The depth is checked before the recursive schema runs: on a value nested thousands deep, zod's
 * recursion overflowed the stack, and every such request left zod's memoizer holding an entry per
 * level it had entered (14 KB a request, for ever: `npm run fuzz` saw the Jobman's heap grow).
 */
export const jsonSchema: z.ZodType<JsonValue> = z
  .unknown()
  .refine((v) => !nestsDeeperThan(v, MAX_JSON_DEPTH), `must not nest arrays and objects more than ${MAX_JSON_DEPTH} deep`)
  .pipe(jsonValue) as z.ZodType<JsonValue>;

/**
 * Why `v` is not a JSON value that nests at most MAX_JSON_DEPTH deep, or undefined when it is one: a
 * hand walk for millions of listed inputs, where the schema's union per element is too slow.
 */
export function jsonProblem(v: unknown, depth: number): string | undefined {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(v) ? undefined : NOT_JSON;
    case 'object': {
      if (v === null) return undefined;
      if (depth >= MAX_JSON_DEPTH) return `must not nest arrays and objects more than ${MAX_JSON_DEPTH} deep`;
      if (!Array.isArray(v) && ![Object.prototype, null].includes(Object.getPrototypeOf(v) as object | null)) return NOT_JSON;
      for (const child of Array.isArray(v) ? v : Object.values(v)) {
        const problem = jsonProblem(child, depth + 1);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    default:
      return NOT_JSON;
  }
}

const NOT_JSON = 'must hold only JSON values (null, booleans, finite numbers, strings, lists and objects of them)';
