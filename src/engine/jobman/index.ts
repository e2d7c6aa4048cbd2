/** The Jobman: its scheduling core (deque, window over the job store, level-1 index). */
export { Scheduler } from './scheduler.js';
export { schedulerDefaults, resolveSchedulerOptions, type SchedulerOptions, type ResolvedSchedulerOptions } from './options.js';
export { SchedulerErrorCode, SchedulerError, UnknownNodeError, NodeNotUpError, InvalidSchedulerArgumentError } from './errors.js';
export type { ReportedChange, ReportOutcome, ReportResult, KillOrder, CancelResult, NodeDownResult, SchedulerStats } from './types.js';
