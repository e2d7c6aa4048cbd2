/** The job store: the Jobman's persistent job dictionary, subtask states, attempts and results. */
export type { JobStore } from './job-store.js';
export { openStore } from './open.js';
export { MAX_ERROR_MESSAGE_CHARS, MAX_ERROR_STACK_CHARS } from './sqlite/apply-batch.js';
export { applyChange, iterateResults } from './helpers.js';
export { decideOnFailure, type FailureDecision } from './failure-policy.js';
export { judgeChange, type Verdict } from './verdict.js';
export { jobStateOf } from './job-state.js';
export { resolveJobSpec, MAX_INPUTS, MAX_PAGE, MAX_TIMEOUT_MS, MAX_MEMORY_MB, MAX_RETRIES, MIN_MEMORY_MB, type ResolvedJobSpec } from './spec.js';
export {
  storeDefaults,
  resolveStoreOptions,
  resolveSqliteStoreOptions,
  type StoreOptions,
  type SqliteStoreOptions,
  type ResolvedStoreOptions,
  type ResolvedSqliteStoreOptions,
} from './options.js';
export {
  StoreErrorCode,
  StoreError,
  StoreCorruptError,
  StoreSchemaError,
  JobNotFoundError,
  SubtaskNotFoundError,
  UnknownAttemptError,
  JobCancelledError,
  JobSpecError,
  JobTooLargeError,
  ValueTooLargeError,
  InvalidValueError,
  InvalidStoreOptionError,
  InvalidArgumentError,
  StoreClosedError,
  StoreFailedError,
} from './errors.js';
export { FAILURE_POLICIES } from './types.js';
export type {
  JsonValue,
  JobId,
  SubtaskId,
  FailurePolicy,
  JobSpec,
  JobDefinition,
  SubtaskCounts,
  JobState,
  JobRecord,
  QueuedSubtask,
  SubtaskRecord,
  ActiveSubtask,
  AttemptError,
  SubtaskAttemptError,
  ResultRow,
  Change,
  ChangeStatus,
  ChangeOutcome,
  RestartOutcome,
  BatchOutcome,
  CancelOutcome,
  RecoverOutcome,
  IndexPage,
} from './types.js';
