import zlib from 'node:zlib';
import { promisify } from 'node:util';
import { constants as bufferConstants } from 'node:buffer';
import { BlockLayoutError, CorruptBlockError, describeCause } from './errors.js';

/**
 * DEFLATE (TIFF 8 and 32946: zlib-wrapped streams) through node:zlib. The async path runs in the
 * libuv thread pool, so several blocks inflate in parallel; the sync path is for worker threads,
 * where the pool would only add a hop.
 *
 * Tolerance follows libtiff, which stops as soon as the block is full: bytes after the end of the
 * stream are ignored, and a stream cut short (even one missing its Adler-32 trailer) yields what it
 * holds (Z_SYNC_FLUSH instead of Z_FINISH), leaving the caller to reject a short block.
 */

const inflateAsync = promisify(zlib.inflate);
const deflateAsync = promisify(zlib.deflate);

/**
 * A stream that inflates to more than the block is malformed, but libtiff reads it, keeping the first
 * block-full; writers that pad the last strip to a full RowsPerStrip produce such streams. zlib cannot
 * stop at a byte count, so a second attempt allows this many times the block (bounded by the layout,
 * never by the data) and truncates.
 */
const OVERFLOW_FACTOR = 16;

/** What to do when a stream inflates to more than `limit` bytes. */
export interface InflateOptions {
  /** Most bytes to keep. */
  limit: number;
  /** True: retry with a larger bound and truncate (libtiff's behaviour for blocks). False: throw. */
  truncate: boolean;
  /** Names the stream in errors, e.g. `DEFLATE` or `LERC's DEFLATE wrapper`. */
  what: string;
}

function optionsFor(limit: number): zlib.ZlibOptions {
  return { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: Math.min(limit, bufferConstants.MAX_LENGTH) };
}

function isTooLarge(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ERR_BUFFER_TOO_LARGE';
}

function corrupt(where: string, what: string, err: unknown): CorruptBlockError {
  return new CorruptBlockError(where, `${what} stream is corrupt: ${describeCause(err)}`, { cause: err });
}

function overflow(where: string, what: string, limit: number): CorruptBlockError {
  return new CorruptBlockError(where, `${what} stream inflates to more than ${limit} bytes`);
}

/** Inflates `src`, keeping at most `opts.limit` bytes; may return fewer (the caller checks). */
export function inflateSync(src: Uint8Array, where: string, opts: InflateOptions): Uint8Array {
  try {
    return zlib.inflateSync(src, optionsFor(opts.limit));
  } catch (err) {
    if (!isTooLarge(err)) throw corrupt(where, opts.what, err);
    if (!opts.truncate) throw overflow(where, opts.what, opts.limit);
  }
  const bound = opts.limit * OVERFLOW_FACTOR + 65536;
  try {
    return zlib.inflateSync(src, optionsFor(bound)).subarray(0, opts.limit);
  } catch (err) {
    throw isTooLarge(err) ? overflow(where, opts.what, bound) : corrupt(where, opts.what, err);
  }
}

/** {@link inflateSync} in the libuv thread pool. */
export async function inflate(src: Uint8Array, where: string, opts: InflateOptions): Promise<Uint8Array> {
  try {
    return await inflateAsync(src, optionsFor(opts.limit));
  } catch (err) {
    if (!isTooLarge(err)) throw corrupt(where, opts.what, err);
    if (!opts.truncate) throw overflow(where, opts.what, opts.limit);
  }
  const bound = opts.limit * OVERFLOW_FACTOR + 65536;
  try {
    return (await inflateAsync(src, optionsFor(bound))).subarray(0, opts.limit);
  } catch (err) {
    throw isTooLarge(err) ? overflow(where, opts.what, bound) : corrupt(where, opts.what, err);
  }
}

/** zlib's default, which GDAL's ZLEVEL also defaults to. */
export const DEFAULT_DEFLATE_LEVEL = 6;

/** Throws unless `level` is a DEFLATE level node:zlib accepts for TIFF (1..9). */
export function checkDeflateLevel(level: number, where: string): void {
  if (!Number.isInteger(level) || level < 1 || level > 9) {
    throw new BlockLayoutError(where, `layout.level for DEFLATE must be an integer 1..9 (got ${String(level)})`);
  }
}

/** Levels up to this one use zlib's run-length strategy on predicted blocks; see {@link deflateOptions}. */
export const RLE_MAX_LEVEL = 6;

/**
 * zlib settings for a block. memLevel 9 (zlib's largest hash table) is faster and no larger at every
 * level. Predicted samples (TIFF predictor 2 or 3) are mostly runs of small differences, where a search
 * for long matches buys almost nothing: measured on Landsat-like UInt16 tiles and Float32 NDVI tiles,
 * zlib's run-length strategy is 3 to 3.5 times faster and 0.5 to 0.7% larger than the full search at
 * level 6, and still smaller than GDAL's (libdeflate) level 6. So levels up to 6 use it on predicted
 * blocks, and levels 7 to 9 keep the full search for those who ask for the smallest file.
 */
export function deflateOptions(level: number, predicted: boolean): zlib.ZlibOptions {
  const strategy = predicted && level <= RLE_MAX_LEVEL ? zlib.constants.Z_RLE : zlib.constants.Z_DEFAULT_STRATEGY;
  return { level, memLevel: 9, strategy };
}

/** Compresses to a zlib-wrapped DEFLATE stream, as TIFF compression 8 stores it. */
export function deflateSync(src: Uint8Array, level: number, predicted: boolean): Uint8Array {
  return zlib.deflateSync(src, deflateOptions(level, predicted));
}

/** {@link deflateSync} in the libuv thread pool. */
export function deflate(src: Uint8Array, level: number, predicted: boolean): Promise<Uint8Array> {
  return deflateAsync(src, deflateOptions(level, predicted));
}
