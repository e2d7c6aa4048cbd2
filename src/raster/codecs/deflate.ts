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

/** How a DEFLATE block is compressed; see {@link deflateOptions}. */
export const DEFLATE_STRATEGIES = ['default', 'fast'] as const;
export type DeflateStrategy = (typeof DEFLATE_STRATEGIES)[number];

/** Throws unless `strategy` is one of {@link DEFLATE_STRATEGIES} (or absent, meaning 'default'). */
export function checkDeflateStrategy(strategy: unknown, where: string): asserts strategy is DeflateStrategy | undefined {
  if (strategy !== undefined && !(DEFLATE_STRATEGIES as readonly unknown[]).includes(strategy)) {
    const shown = typeof strategy === 'string' ? `'${strategy}'` : String(strategy);
    throw new BlockLayoutError(where, `layout.deflateStrategy must be ${DEFLATE_STRATEGIES.map((s) => `'${s}'`).join(' or ')} (got ${shown})`);
  }
}

/** What {@link deflateOptions} needs to know about a block besides the level. */
export interface DeflateBlock {
  /** True when a TIFF predictor (2 or 3) was applied before compression. */
  predicted: boolean;
  /** Bytes per sample: 1, 2, 4 or 8. */
  bytesPerSample: number;
}

/**
 * The zlib passes the 'default' strategy runs for each TIFF level 1..9 (index = level - 1): `zlib`
 * first, then `retry` on a block the first pass shrank below 1/{@link RETRY_BELOW} of its size,
 * keeping the smaller stream.
 *
 * GDAL 3.6 compresses DEFLATE with libdeflate, and libtiff asks it for one level more from 6 up
 * (ZLEVEL 6 runs libdeflate 7; ZLEVEL 9 runs level 10, its near-optimal parser). libdeflate's parser
 * finds more than zlib's at the same level: zlib 1 made class maps 1.28× GDAL's level 1, zlib 6 made
 * linear ramps (proximity- and DEM-like) up to 1.25× GDAL's level 6. Each entry is the cheapest that
 * kept every raster we measured (blocky, smooth and noisy, of every type GDAL writes, at every level)
 * within 1.05× of GDAL's at that level; test/raster/deflate-size.test.ts holds levels 1, 6 and 9 to it.
 * At level 6 only ramps needed zlib 8, and a
 * ramp shrinks to 1 or 2% of its size, so zlib 8 runs only where zlib 6 went under 1/32: on imagery,
 * focal outputs and proximity rasters, zlib 8 costs up to 3 times zlib 6 for under 1% less. Class maps
 * shrink as far and get the second pass too: a quarter smaller than zlib 6, in 3 to 4 times its time.
 *
 * Level 9 is zlib's best and cannot match a near-optimal parser: it is up to 1.14× GDAL's level 9
 * where matches abound (class maps, smooth DEMs).
 */
const ZLIB_PASSES: readonly { zlib: number; retry?: number }[] = [
  { zlib: 5 },
  { zlib: 5 },
  { zlib: 5 },
  { zlib: 5 },
  { zlib: 5 },
  { zlib: 6, retry: 8 },
  { zlib: 9 },
  { zlib: 9 },
  { zlib: 9 },
];

/** A block the first pass shrank below 1/RETRY_BELOW of its size gets the retry pass; see {@link ZLIB_PASSES}. */
const RETRY_BELOW = 32;

/** Levels up to this one use zlib's run-length strategy on predicted blocks under the 'fast' strategy. */
export const RLE_MAX_LEVEL = 6;

/**
 * zlib settings for a block's first pass. memLevel 9 (zlib's largest hash table) is faster and no
 * larger at every level.
 *
 * 'default' keeps files within 1.05× of GDAL's at the same level (level 9 aside): it runs zlib at
 * the levels of {@link ZLIB_PASSES}, and on predicted 1-byte samples with Z_FILTERED, which takes no
 * match shorter than 6 bytes. Predicted 8-bit imagery is a few dozen small differences that Huffman
 * codes in 4 to 5 bits each, so a 3- to 5-byte match costs more than the literals it replaces
 * (libdeflate makes the same call by raising its minimum match length when a block uses few
 * literals): this takes 6% off Landsat-like Byte tiles. On wider samples the high bytes repeat and
 * short matches pay, so they keep zlib's default strategy.
 *
 * 'fast' is zlib's run-length strategy (Z_RLE: matches at distance 1 only) on predicted blocks at
 * levels 1 to 6, and zlib at the level asked otherwise. Predicted imagery is mostly runs of small
 * differences, where a search for long matches buys little: on a full-size Landsat-like UInt16 band it
 * compresses 3.4 times faster than 'default' for a file 1.2% larger. But it misses every match farther
 * back than one byte, so on blocky data (class maps, focal outputs, proximity rasters) files come out 2
 * to 4 times GDAL's, and up to 12 times on ramps; see README.md, Benchmarks.
 */
export function deflateOptions(level: number, block: DeflateBlock, strategy: DeflateStrategy = 'default'): zlib.ZlibOptions {
  const { Z_DEFAULT_STRATEGY, Z_FILTERED, Z_RLE } = zlib.constants;
  if (strategy === 'fast') {
    return { level, memLevel: 9, strategy: block.predicted && level <= RLE_MAX_LEVEL ? Z_RLE : Z_DEFAULT_STRATEGY };
  }
  const zlibLevel = ZLIB_PASSES[level - 1]?.zlib ?? level;
  return { level: zlibLevel, memLevel: 9, strategy: block.predicted && block.bytesPerSample === 1 ? Z_FILTERED : Z_DEFAULT_STRATEGY };
}

/** zlib settings for a second pass over a block whose first pass gave `firstBytes`, or undefined for none. */
function retryOptions(level: number, block: DeflateBlock, strategy: DeflateStrategy, blockBytes: number, firstBytes: number): zlib.ZlibOptions | undefined {
  const retry = strategy === 'default' ? ZLIB_PASSES[level - 1]?.retry : undefined;
  if (retry === undefined || firstBytes * RETRY_BELOW >= blockBytes) return undefined;
  return { ...deflateOptions(level, block, strategy), level: retry };
}

/** Compresses to a zlib-wrapped DEFLATE stream, as TIFF compression 8 stores it. */
export function deflateSync(src: Uint8Array, level: number, block: DeflateBlock, strategy: DeflateStrategy = 'default'): Uint8Array {
  const first = zlib.deflateSync(src, deflateOptions(level, block, strategy));
  const again = retryOptions(level, block, strategy, src.length, first.length);
  if (again === undefined) return first;
  const second = zlib.deflateSync(src, again);
  return second.length < first.length ? second : first;
}

/** {@link deflateSync} in the libuv thread pool. */
export async function deflate(src: Uint8Array, level: number, block: DeflateBlock, strategy: DeflateStrategy = 'default'): Promise<Uint8Array> {
  const first = await deflateAsync(src, deflateOptions(level, block, strategy));
  const again = retryOptions(level, block, strategy, src.length, first.length);
  if (again === undefined) return first;
  const second = await deflateAsync(src, again);
  return second.length < first.length ? second : first;
}
