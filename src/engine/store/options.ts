import { z } from 'zod';
import { nonNegativeInt, parseOptions as parseOptionsAt, positiveInt } from '../../options.js';

import { InvalidStoreOptionError } from './errors.js';
import { MAX_INPUTS } from './spec.js';

const MiB = 1024 * 1024;

/** Every job-store default in one place; the option types say what each field means. */
export const storeDefaults = {
  /** @defaultValue 1 MiB: a subtask result is a summary (a statistic, a URL), not a raster */
  maxResultBytes: MiB,
  /** @defaultValue 1 MiB: a job's args, and each listed input */
  maxArgsBytes: MiB,
  /** @defaultValue 10,000,000 subtasks: a job of 10 M counted subtasks takes ~15 s to create and ~0.5 GB of database */
  maxSubtasksPerJob: 10_000_000,
  /** @defaultValue 'normal': WAL + synchronous=NORMAL survives process crashes (see `synchronous`) */
  synchronous: 'normal',
  /** @defaultValue 5 s waiting on a lock held by another connection before SQLITE_BUSY */
  busyTimeoutMs: 5_000,
  /** @defaultValue 64 MiB of page cache */
  cacheMiB: 64,
} as const;

/** Options every job store takes. */
export interface StoreOptions {
  /** Largest subtask result, as UTF-8 JSON bytes. @defaultValue 1048576 (1 MiB) */
  maxResultBytes?: number;
  /** Largest job args, and largest single listed input, as UTF-8 JSON bytes. @defaultValue 1048576 (1 MiB) */
  maxArgsBytes?: number;
  /**
   * Most subtasks (inputs) one job may have; a larger job is refused with JobTooLargeError before
   * anything of it is written. At most MAX_INPUTS (100,000,000). @defaultValue 10000000
   */
  maxSubtasksPerJob?: number;
  /** The clock, in milliseconds since the epoch; tests pass a fake one. @defaultValue `Date.now` */
  now?: () => number;
}

/** Options of the SQLite job store. */
export interface SqliteStoreOptions extends StoreOptions {
  /** Path of the database file, created (with its WAL) when missing. */
  path: string;
  /**
   * SQLite's `synchronous` setting. `normal` (with WAL) fsyncs only at checkpoints: every commit is in
   * the WAL file before the call returns, so it survives a crash or `kill -9` of the process, but a
   * power loss or kernel panic may lose the last commits (never corrupting the file). `full` fsyncs
   * the WAL at every commit too: durable against power loss, and much slower per transaction.
   * @defaultValue 'normal'
   */
  synchronous?: 'normal' | 'full';
  /** How long a write waits on another connection's lock before failing, in ms. @defaultValue 5000 */
  busyTimeoutMs?: number;
  /** Page cache size in MiB. @defaultValue 64 */
  cacheMiB?: number;
}


const baseShape = {
  maxResultBytes: positiveInt.max(256 * MiB, 'must be at most 268435456 (256 MiB)').default(storeDefaults.maxResultBytes),
  maxArgsBytes: positiveInt.max(256 * MiB, 'must be at most 268435456 (256 MiB)').default(storeDefaults.maxArgsBytes),
  maxSubtasksPerJob: positiveInt.max(MAX_INPUTS, `must be at most ${MAX_INPUTS}`).default(storeDefaults.maxSubtasksPerJob),
  now: z.custom<() => number>((v) => typeof v === 'function', 'must be a function returning milliseconds').default(() => Date.now),
};

const storeSchema = z.strictObject(baseShape, 'must be an object of known fields');

const sqliteSchema = z.strictObject(
  {
    ...baseShape,
    path: z.string('must be a file path').min(1, 'must be a file path'),
    synchronous: z.enum(['normal', 'full'], "must be 'normal' or 'full'").default(storeDefaults.synchronous),
    busyTimeoutMs: nonNegativeInt.default(storeDefaults.busyTimeoutMs),
    cacheMiB: positiveInt.max(64 * 1024, 'must be at most 65536').default(storeDefaults.cacheMiB),
  },
  'must be an object of known fields',
);

export type ResolvedStoreOptions = z.output<typeof storeSchema>;
export type ResolvedSqliteStoreOptions = z.output<typeof sqliteSchema>;

export function resolveStoreOptions(options: StoreOptions = {}): ResolvedStoreOptions {
  return parseOptions(storeSchema, options);
}

export function resolveSqliteStoreOptions(options: SqliteStoreOptions): ResolvedSqliteStoreOptions {
  return parseOptions(sqliteSchema, options);
}

/** Parses once at the edge; the first problem becomes an error naming the option and the value. */
function parseOptions<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  return parseOptionsAt(schema, input, (p) => {
    throw new InvalidStoreOptionError(p.name.split(', ')[0]!, p.problem, p.value);
  });
}
