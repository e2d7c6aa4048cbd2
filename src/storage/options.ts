import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { nonNegativeInt, parseOptions as parseOptionsAt, positiveInt } from '../options.js';

import { InvalidStorageOptionError } from './errors.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** S3's own floor for every multipart part but the last. */
export const MIN_PART_SIZE_BYTES = 5 * MiB;

/** Every storage default in one place; the options types below say what each field means. */
export const storageDefaults = {
  /** @defaultValue 30 s per request attempt, body included */
  timeoutMs: 30_000,
  retry: {
    /** @defaultValue 4 attempts in all (the first try plus three retries) */
    maxAttempts: 4,
    /** @defaultValue 200 ms before the first retry, doubling each time */
    baseDelayMs: 200,
    /** @defaultValue 5 s ceiling on one back-off wait */
    maxDelayMs: 5_000,
    /** @defaultValue 10 s: a longer `Retry-After` makes us give up rather than park the caller */
    maxRetryAfterMs: 10_000,
  },
  cache: {
    /** @defaultValue 64 KiB blocks, aligned to multiples of the block size */
    blockSizeBytes: 64 * KiB,
    /** @defaultValue 16 MiB of blocks per source */
    maxBytes: 16 * MiB,
    /** @defaultValue 4: reads spanning more blocks than this bypass the cache */
    maxBlocksPerRead: 4,
  },
  ranges: {
    /** @defaultValue 32 KiB: ranges closer than this are fetched as one */
    maxGapBytes: 32 * KiB,
    /** @defaultValue 16 MiB: merging stops once a merged read would exceed this */
    maxMergedBytes: 16 * MiB,
    /** @defaultValue 8 merged reads in flight at once */
    concurrency: 8,
  },
  /** @defaultValue 8 MiB multipart part size (S3 needs at least 5 MiB) */
  partSizeBytes: 8 * MiB,
  /** @defaultValue 256 MiB: the largest object kept whole in memory when an HTTP server ignores Range */
  wholeObjectMaxBytes: 256 * MiB,
} as const;

/** Retry policy for HTTP and S3 requests. Only errors marked retryable are retried. */
export interface RetryOptions {
  /** Attempts in all, first included. @defaultValue 4 */
  maxAttempts?: number;
  /** First back-off in milliseconds; doubles per retry, with full jitter. @defaultValue 200 */
  baseDelayMs?: number;
  /** Ceiling on one back-off in milliseconds. @defaultValue 5000 */
  maxDelayMs?: number;
  /** Longest server `Retry-After` (milliseconds) we wait out; longer ones fail at once. @defaultValue 10000 */
  maxRetryAfterMs?: number;
}

/** The block cache in front of a source. */
export interface CacheOptions {
  /** Block size in bytes; blocks start at multiples of it. @defaultValue 65536 */
  blockSizeBytes?: number;
  /** Total bytes of blocks kept, least recently used dropped first. @defaultValue 16 MiB */
  maxBytes?: number;
  /** Reads touching more blocks than this go straight to the backend. @defaultValue 4 */
  maxBlocksPerRead?: number;
}

/** Where and how to reach S3; each field overrides what `readEnv()` says. */
export interface S3Options {
  /** A ready client to use as is (its owner closes it). */
  client?: S3Client;
  /** S3-compatible endpoint, e.g. `http://127.0.0.1:9000`; implies path-style addressing. @defaultValue `DATABOX_S3_ENDPOINT` */
  endpoint?: string;
  /** Region. @defaultValue `AWS_REGION`, then `us-east-1` */
  region?: string;
  /** Static credentials. @defaultValue `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, else the SDK's chain */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** Options shared by everything that talks to a remote backend. */
export interface RemoteOptions {
  /** Limit on one request attempt in milliseconds, body included. @defaultValue 30000 */
  timeoutMs?: number;
  /** Retry policy. */
  retry?: RetryOptions;
  /** S3 connection settings. */
  s3?: S3Options;
  /** Receives non-fatal surprises (a server ignoring Range, a failed multipart clean-up). @defaultValue `process.emitWarning` */
  onWarning?: (message: string) => void;
  /**
   * An HTTP server that ignores `Range` sends the whole object to every read; the first such answer is
   * kept in memory (once per process) and serves every later read, if the object is at most this many
   * bytes. A larger one fails with an error that says so. @defaultValue 256 MiB
   */
  wholeObjectMaxBytes?: number;
}

/** Options of `openSource`. */
export interface SourceOptions extends RemoteOptions {
  /** The block cache: `false` turns it off. @defaultValue on, with the defaults of {@link CacheOptions} */
  cache?: boolean | CacheOptions;
}

/** Options of `openSink`. */
export interface SinkOptions extends RemoteOptions {
  /** Multipart part size in bytes, at least 5 MiB; smaller objects go up in one PUT. @defaultValue 8 MiB */
  partSizeBytes?: number;
  /** Cancels the upload: pending and later writes reject with the signal's reason. */
  signal?: AbortSignal;
  /**
   * The engine's own files (a node's UDF bundle cache), written whatever the access policy says: the
   * policy is for what jobs name, and no job can set this. @defaultValue false
   */
  trusted?: boolean;
}

/** Options of `readRanges`. */
export interface RangesOptions {
  /** Ranges separated by at most this many bytes are fetched in one read. @defaultValue 32 KiB */
  maxGapBytes?: number;
  /** Stop growing a merged read past this many bytes. @defaultValue 16 MiB */
  maxMergedBytes?: number;
  /** Merged reads in flight at once. @defaultValue 8 */
  concurrency?: number;
  /** Cancels all reads. */
  signal?: AbortSignal;
}


const retrySchema = z.strictObject(
  {
    maxAttempts: positiveInt.default(storageDefaults.retry.maxAttempts),
    baseDelayMs: nonNegativeInt.default(storageDefaults.retry.baseDelayMs),
    maxDelayMs: nonNegativeInt.default(storageDefaults.retry.maxDelayMs),
    maxRetryAfterMs: nonNegativeInt.default(storageDefaults.retry.maxRetryAfterMs),
  },
  'must be an object of known fields',
);

const cacheSchema = z.strictObject(
  {
    blockSizeBytes: positiveInt.default(storageDefaults.cache.blockSizeBytes),
    maxBytes: nonNegativeInt.default(storageDefaults.cache.maxBytes),
    maxBlocksPerRead: positiveInt.default(storageDefaults.cache.maxBlocksPerRead),
  },
  'must be an object of known fields',
);

const s3Schema = z.strictObject(
  {
    client: z.custom<S3Client>((v) => typeof v === 'object' && v !== null, 'must be an S3Client').optional(),
    endpoint: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:9000' }).optional(),
    region: z.string('must be a region name').min(1, 'must be a region name').optional(),
    credentials: z
      .object(
        {
          accessKeyId: z.string('must be a string'),
          secretAccessKey: z.string('must be a string'),
          sessionToken: z.string('must be a string').optional(),
        },
        'must be { accessKeyId, secretAccessKey, sessionToken? }',
      )
      .optional(),
  },
  'must be an object of known fields',
);

const onWarningSchema = z
  .custom<(message: string) => void>((v) => typeof v === 'function', 'must be a function')
  .default(() => defaultWarn);

const remoteShape = {
  timeoutMs: positiveInt.default(storageDefaults.timeoutMs),
  retry: retrySchema.default(() => retrySchema.parse({})),
  s3: s3Schema.default({}),
  onWarning: onWarningSchema,
  wholeObjectMaxBytes: nonNegativeInt.default(storageDefaults.wholeObjectMaxBytes),
};

const sourceSchema = z.strictObject(
  {
    ...remoteShape,
    cache: z
      .union([z.boolean(), cacheSchema], 'must be true, false or a cache options object')
      .default(true)
      .transform((c) => (c === false ? false : cacheSchema.parse(c === true ? {} : c))),
  },
  'must be an object of known fields',
);

const sinkSchema = z.strictObject(
  {
    ...remoteShape,
    partSizeBytes: positiveInt
      .min(MIN_PART_SIZE_BYTES, `must be at least ${MIN_PART_SIZE_BYTES} (5 MiB, the S3 minimum part size)`)
      .default(storageDefaults.partSizeBytes),
    signal: z.instanceof(AbortSignal, { error: 'must be an AbortSignal' }).optional(),
  },
  'must be an object of known fields',
);

const rangesSchema = z.strictObject(
  {
    maxGapBytes: nonNegativeInt.default(storageDefaults.ranges.maxGapBytes),
    maxMergedBytes: positiveInt.default(storageDefaults.ranges.maxMergedBytes),
    concurrency: positiveInt.default(storageDefaults.ranges.concurrency),
    signal: z.instanceof(AbortSignal, { error: 'must be an AbortSignal' }).optional(),
  },
  'must be an object of known fields',
);

export type ResolvedRetryOptions = z.output<typeof retrySchema>;
export type ResolvedCacheOptions = z.output<typeof cacheSchema>;
export type ResolvedS3Options = z.output<typeof s3Schema>;
export type ResolvedSourceOptions = z.output<typeof sourceSchema>;
export type ResolvedSinkOptions = z.output<typeof sinkSchema>;
export type ResolvedRangesOptions = z.output<typeof rangesSchema>;
/** What the remote backends need from either resolved options type. */
export type ResolvedRemoteOptions = Pick<ResolvedSourceOptions, 'timeoutMs' | 'retry' | 's3' | 'onWarning' | 'wholeObjectMaxBytes'>;

export function resolveSourceOptions(options: SourceOptions = {}): ResolvedSourceOptions {
  return parseOptions(sourceSchema, options);
}

export function resolveSinkOptions(options: SinkOptions = {}): ResolvedSinkOptions {
  return parseOptions(sinkSchema, options);
}

export function resolveRangesOptions(options: RangesOptions = {}): ResolvedRangesOptions {
  return parseOptions(rangesSchema, options);
}

export function resolveCacheOptions(options: CacheOptions = {}): ResolvedCacheOptions {
  return parseOptions(cacheSchema, options);
}

export function resolveRetryOptions(options: RetryOptions = {}): ResolvedRetryOptions {
  return parseOptions(retrySchema, options);
}

/** Parses once at the edge; the first problem becomes an error naming the option and the value. */
function parseOptions<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  return parseOptionsAt(schema, input, (p) => {
    throw new InvalidStorageOptionError(p.name, p.problem, p.value);
  });
}

function defaultWarn(message: string): void {
  process.emitWarning(message, 'DataboxStorageWarning');
}
