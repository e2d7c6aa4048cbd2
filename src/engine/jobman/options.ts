import { z } from 'zod';

import { nonNegativeInt, parseOptions, positiveInt } from '../../options.js';
import { MAX_PAGE } from '../store/index.js';

import { InvalidSchedulerArgumentError } from './errors.js';

/** Every scheduler default in one place. */
export const schedulerDefaults = {
  /** @defaultValue 10,000 queued subtasks held in memory (normal jobs page in as capacity frees) */
  windowSize: 10_000,
  /** @defaultValue 3,000 ms, like Spark's `spark.locality.wait` */
  localityWaitMs: 3_000,
  /** @defaultValue true: put what was dispatched or running before a crash back at the queue head */
  recover: true,
  /** @defaultValue 60 s: how long a job pinned to a node that is gone waits for it before it fails */
  pinnedNodeGraceMs: 60_000,
} as const;

export interface SchedulerOptions {
  /** Most queued subtasks of normal jobs held in memory at once. @defaultValue 10000 */
  windowSize?: number;
  /** How long, in ms since it was queued, a subtask waits for one of its preferred nodes before any node may take it. @defaultValue 3000 */
  localityWaitMs?: number;
  /** Call `store.recover()` on start (a Jobman restart on an existing store). @defaultValue true */
  recover?: boolean;
  /**
   * How long, in ms, a job pinned to a node waits while that node is gone (dead, left, or not back
   * since the Jobman started) before its queued subtasks fail with ERR_NODE_GONE; jobs submitted with
   * `waitForNode` wait for ever. @defaultValue 60000
   */
  pinnedNodeGraceMs?: number;
  /** The clock, in ms since the epoch; tests pass a fake one. @defaultValue `Date.now` */
  now?: () => number;
}

const schema = z.strictObject(
  {
    windowSize: positiveInt.max(MAX_PAGE * 10, `must be at most ${MAX_PAGE * 10}`).default(schedulerDefaults.windowSize),
    localityWaitMs: nonNegativeInt.default(schedulerDefaults.localityWaitMs),
    recover: z.boolean('must be true or false').default(schedulerDefaults.recover),
    pinnedNodeGraceMs: nonNegativeInt.default(schedulerDefaults.pinnedNodeGraceMs),
    now: z.custom<() => number>((v) => typeof v === 'function', 'must be a function returning milliseconds').default(() => Date.now),
  },
  'must be an object of known fields',
);

/** The options in force, nothing optional. */
export type ResolvedSchedulerOptions = z.output<typeof schema>;

export function resolveSchedulerOptions(options: SchedulerOptions = {}): ResolvedSchedulerOptions {
  return parseOptions(schema, options, (p) => {
    throw new InvalidSchedulerArgumentError(p.name.split(', ')[0]!, p.problem, p.value);
  });
}
