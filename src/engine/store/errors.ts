import { DataboxError } from '../../errors.js';

/** Stable codes of every error the job store throws on purpose. */
export const StoreErrorCode = {
  /** A row read back from the database is not what the schema promises (corruption, a foreign writer). */
  corrupt: 'ERR_STORE_CORRUPT',
  /** The database file was written by a newer DataboxMR, or is not a DataboxMR job store. */
  schema: 'ERR_STORE_SCHEMA',
  /** No job with that id. */
  jobNotFound: 'ERR_JOB_NOT_FOUND',
  /** No subtask with that id. */
  subtaskNotFound: 'ERR_SUBTASK_NOT_FOUND',
  /** A change names an attempt that was never started. */
  attempt: 'ERR_STORE_ATTEMPT',
  /** The operation does not apply to a cancelled job. */
  jobCancelled: 'ERR_JOB_CANCELLED',
  /** A job spec failed validation. */
  jobSpec: 'ERR_JOB_SPEC',
  /** A job has more subtasks than `maxSubtasksPerJob` allows. */
  jobTooLarge: 'ERR_JOB_TOO_LARGE',
  /** A result, args or input is over its size limit, or is not JSON. */
  value: 'ERR_STORE_VALUE',
  /** A store option failed validation. */
  option: 'ERR_STORE_OPTION',
  /** A method argument (a page, a change) is malformed. */
  argument: 'ERR_STORE_ARGUMENT',
  /** The store was closed. */
  closed: 'ERR_STORE_CLOSED',
  /** The database failed (I/O, locked, full); `retryable` says whether trying again may help. */
  failed: 'ERR_STORE_FAILED',
} as const;

/** Any failure of the job store. */
export class StoreError extends DataboxError {}

/** A row that does not parse: names the table, the row and the column. */
export class StoreCorruptError extends StoreError {
  constructor(
    /** Table the row came from. */
    readonly table: string,
    /** The row's key (id, or key for `meta`). */
    readonly rowId: string | number,
    /** The column that is wrong. */
    readonly column: string,
    problem: string,
  ) {
    super(StoreErrorCode.corrupt, `Job store row ${table} ${rowId} is corrupt: column ${column} ${problem}`);
  }
}

export class StoreSchemaError extends StoreError {
  constructor(message: string) {
    super(StoreErrorCode.schema, message);
  }
}

export class JobNotFoundError extends StoreError {
  constructor(readonly jobId: number) {
    super(StoreErrorCode.jobNotFound, `No job ${jobId} in the job store`);
  }
}

export class SubtaskNotFoundError extends StoreError {
  constructor(readonly subtaskId: number) {
    super(StoreErrorCode.subtaskNotFound, `No subtask ${subtaskId} in the job store`);
  }
}

/** A change for an attempt that was never started: a caller bug, not a late report. */
export class UnknownAttemptError extends StoreError {
  constructor(message: string) {
    super(StoreErrorCode.attempt, message);
  }
}

export class JobCancelledError extends StoreError {
  constructor(readonly jobId: number, what: string) {
    super(StoreErrorCode.jobCancelled, `Job ${jobId} was cancelled; it cannot ${what}`);
  }
}

export class JobSpecError extends StoreError {
  constructor(message: string) {
    super(StoreErrorCode.jobSpec, message);
  }
}

/** A job over the subtask limit, refused before anything of it is written. */
export class JobTooLargeError extends StoreError {
  constructor(
    /** Its number of subtasks, or a lower bound when its inputs were not counted up front. */
    readonly subtasks: number,
    readonly limit: number,
    /** True when `subtasks` is a lower bound (an iterable of inputs was cut off at the limit). */
    atLeast = false,
  ) {
    super(
      StoreErrorCode.jobTooLarge,
      `A job of ${atLeast ? 'more than ' : ''}${subtasks} subtasks is over the limit of ${limit} subtasks per job; split it, or raise the limit (store option maxSubtasksPerJob, \`databox jobman --max-subtasks <n>\`)`,
    );
  }
}

/** A value that cannot be stored: over its size limit, or not representable as JSON. */
export class ValueTooLargeError extends StoreError {
  constructor(
    /** What the value is, e.g. `result of subtask 12 attempt 1`. */
    readonly what: string,
    /** Its size as UTF-8 JSON. */
    readonly bytes: number,
    /** The limit it broke. */
    readonly limitBytes: number,
    /** The option that sets the limit. */
    option: string,
  ) {
    super(StoreErrorCode.value, `The ${what} is ${bytes} bytes of JSON, over the ${limitBytes}-byte limit (${option})`);
  }
}

export class InvalidValueError extends StoreError {
  constructor(what: string, problem: string) {
    super(StoreErrorCode.value, `The ${what} cannot be stored as JSON: ${problem}`);
  }
}

export class InvalidStoreOptionError extends StoreError {
  constructor(name: string, problem: string, value: unknown) {
    super(StoreErrorCode.option, `${name} ${problem} (got ${show(value)})`);
  }
}

export class InvalidArgumentError extends StoreError {
  constructor(name: string, problem: string, value: unknown) {
    super(StoreErrorCode.argument, `${name} ${problem} (got ${show(value)})`);
  }
}

export class StoreClosedError extends StoreError {
  constructor() {
    super(StoreErrorCode.closed, 'The job store is closed');
  }
}

/** The database itself failed; busy and locked databases are marked retryable. */
export class StoreFailedError extends StoreError {
  constructor(what: string, cause: unknown, retryable: boolean) {
    super(StoreErrorCode.failed, `Job store could not ${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause, retryable });
  }
}

function show(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
