import { z } from 'zod';
import { nonNegativeInt, parseOptions, positiveInt } from '../../options.js';
import { openSink, openSource, streamRanges, type ByteSink, type SinkOptions, type SourceOptions } from '../../storage/index.js';
import { DTYPES, type TypedArray } from '../dtype.js';
import type { CodecRunner } from '../pool/codec-runner.js';
import { sharedCodecs } from '../pool/shared.js';
import type { Window } from '../window.js';
import { CogWriteError } from './errors.js';
import { COMPRESSIONS, CogOptionsError, RESAMPLINGS, resolveCogOptions, type CogOptions, type ResolvedCogOptions } from './options.js';
import { TilePyramid, describeRegion, regionAt, regionTiles, type EncodedTile, type TileRegion } from './pyramid.js';
import { CogWriter, formatNodata, type CogWriteResult } from './writer.js';

/**
 * A COG written in parts: window subtasks on different machines each compress their own tiles, and one
 * later step assembles the file without compressing full-resolution data again. Hand-written, like the
 * writer, because no maintained JavaScript library writes COGs (geotiff.js writes only uncompressed
 * single-image classic TIFF), let alone in parts.
 *
 * A part owns a block of full-resolution tiles aligned to 2^k tiles (see `planPartRegions`). Overviews
 * are built by halving each finished tile into its parent, which is block-local, so the part builds
 * levels 1..k of its block with the writer's own code (TilePyramid) and stores every compressed tile,
 * back to back, in one object at its URL. Its manifest, small plain JSON, says where each tile lies.
 * `assembleCog` copies every tile into a CogWriter unchanged, decodes only each part's level-k tile and
 * halves it into level k+1, so the levels above are built as the single-pass writer builds them: the
 * file comes out byte for byte the same. See docs/cog-parts.md.
 */

/** Tag and version of the manifest; a manifest of another format is refused. */
export const PART_FORMAT = 'databox-cog-part/1';

const tilingSchema = z.strictObject({
  width: positiveInt,
  height: positiveInt,
  bands: positiveInt,
  dtype: z.enum(DTYPES),
  blockSize: positiveInt,
  compression: z.enum(COMPRESSIONS),
  level: z.number().int(),
  predictor: z.boolean(),
  overviews: z.enum(RESAMPLINGS),
  /** As GDAL_NODATA writes it ('nan' survives JSON, NaN does not). */
  nodata: z.string().nullable(),
});

const regionSchema = z.strictObject({ col: nonNegativeInt, row: nonNegativeInt, cols: positiveInt, rows: positiveInt });

const manifestSchema = z.strictObject({
  format: z.literal(PART_FORMAT),
  /** Where the part's object lies, as its writer was given it: the assembler must reach the same URL. */
  url: z.string().min(1),
  /** The options that shape the tiles' bytes; an assembler with other options refuses the part. */
  tiling: tilingSchema,
  /** Levels of the whole image: full resolution plus overviews. */
  levels: positiveInt,
  /** The full-resolution tiles the part covers. */
  region: regionSchema,
  /** The highest level the part built; its tiles there are halved further by the assembler. */
  topLevel: nonNegativeInt,
  /** Every tile: [level, col, row, byte offset in the object, byte length]. */
  tiles: z.array(z.tuple([nonNegativeInt, nonNegativeInt, nonNegativeInt, nonNegativeInt, positiveInt])),
});

/** What a part's `finish()` returns and `assembleCog` takes: plain JSON, a few dozen bytes per tile. */
export type PartManifest = z.infer<typeof manifestSchema>;
type Tiling = z.infer<typeof tilingSchema>;

/** Checks a manifest that came from elsewhere (a subtask's result), naming the field and the value. */
export function parsePartManifest(value: unknown): PartManifest {
  return parseOptions(
    manifestSchema,
    value,
    (p) => {
      const url = (value as { url?: unknown } | null)?.url;
      const shown = typeof p.value === 'number' ? String(p.value) : JSON.stringify(p.value);
      throw new CogWriteError(`Part manifest${typeof url === 'string' ? ` of ${url}` : ''}: ${p.name} ${p.problem} (got ${shown})`);
    },
    'manifest',
  );
}

/**
 * Cuts the tile grid of a `width` × `height` raster into part regions of `tilesPerSide` × `tilesPerSide`
 * tiles (a power of two; 4 with 512-pixel tiles makes 2048-pixel windows), cut short at the right and
 * bottom edges, in row-major order. Plain data, no I/O.
 */
export function planPartRegions(width: number, height: number, blockSize: number, tilesPerSide: number): TileRegion[] {
  for (const [name, value] of Object.entries({ width, height, blockSize, tilesPerSide })) {
    if (!Number.isInteger(value) || value < 1) throw new CogOptionsError(`${name} must be a positive integer (got ${value})`);
  }
  if (!Number.isInteger(Math.log2(tilesPerSide))) throw new CogOptionsError(`tilesPerSide must be a power of two (got ${tilesPerSide})`);
  const across = Math.ceil(width / blockSize);
  const down = Math.ceil(height / blockSize);
  const regions: TileRegion[] = [];
  for (let row = 0; row < down; row += tilesPerSide) {
    for (let col = 0; col < across; col += tilesPerSide) {
      regions.push({ col, row, cols: Math.min(tilesPerSide, across - col), rows: Math.min(tilesPerSide, down - row) });
    }
  }
  return regions;
}

/** The pixels a region's tiles cover, clipped to the image: the window a part's subtask reads. */
export function regionWindow(region: TileRegion, width: number, height: number, blockSize: number): Window {
  const x = region.col * blockSize;
  const y = region.row * blockSize;
  return { x, y, width: Math.min(region.cols * blockSize, width - x), height: Math.min(region.rows * blockSize, height - y) };
}

/**
 * The largest k for which `region` is 2^k × 2^k tiles starting at a multiple of 2^k, cut short only by
 * the grid's right and bottom edges (Infinity for the whole grid); a region that is so for no k is refused.
 */
function blockLevel(region: TileRegion, across: number, down: number, where: string): number {
  const { col, row, cols, rows } = region;
  if (![col, row, cols, rows].every(Number.isInteger) || col < 0 || row < 0 || cols < 1 || rows < 1 || col + cols > across || row + rows > down) {
    throw new CogWriteError(`${where}: region ${JSON.stringify(region)} is not inside the ${across}×${down} tile grid`);
  }
  let best = -1;
  for (let k = 0, side = 1; ; k++, side *= 2) {
    const fits = col % side === 0 && row % side === 0 && cols === Math.min(side, across - col) && rows === Math.min(side, down - row);
    if (fits) best = k;
    if (side >= Math.max(across, down)) {
      // A block as large as the grid is the whole grid, and so is every larger one: it fits every k.
      if (fits) best = Number.POSITIVE_INFINITY;
      break;
    }
  }
  if (best < 0) {
    throw new CogWriteError(
      `${where}: region ${JSON.stringify(region)} is not aligned: it must be 2^k × 2^k tiles starting at a multiple of 2^k, cut short only by the image edge (see planPartRegions)`,
    );
  }
  return best;
}

/** The options that shape the tiles' bytes, as a manifest records them. */
function tilingOf(o: ResolvedCogOptions): Tiling {
  return {
    width: o.width,
    height: o.height,
    bands: o.bands,
    dtype: o.dtype,
    blockSize: o.blockSize,
    compression: o.compression,
    level: o.level,
    predictor: o.predictor,
    overviews: o.overviews,
    nodata: o.nodata === null ? null : formatNodata(o.nodata),
  };
}

/** How a part writer reaches its codecs and its storage. */
export interface PartWriterRuntime {
  /** Where tiles are compressed. @defaultValue the process's shared codec pool */
  codecs?: CodecRunner;
  /** How the part's object is written (S3 endpoint, part size, cancellation). @defaultValue storageDefaults */
  storage?: SinkOptions;
}

/**
 * Writes one part: the full-resolution tiles of a region and the overview tiles above them up to the
 * part's top level, compressed, back to back in one object. Nothing appears at the URL before `finish()`.
 */
export class CogPartWriter {
  private readonly tiles: TilePyramid;
  /** Bytes handed to the sink so far: the offset of the next tile. */
  private size = 0;
  /** The last write in the sink's queue; a sink takes one write at a time. */
  private tail: Promise<void> = Promise.resolve();

  private constructor(
    readonly url: string,
    readonly options: ResolvedCogOptions,
    readonly region: TileRegion,
    top: number,
    private readonly sink: ByteSink,
    codecs: CodecRunner,
  ) {
    this.tiles = new TilePyramid(options, url, (encoded) => this.append(encoded), codecs, top, region);
  }

  /**
   * Checks the options (as CogWriter does) and the region, which must be aligned as `planPartRegions`
   * makes them, and opens the part's object at `url` (any storage URL).
   */
  static async create(url: string, options: CogOptions, region: TileRegion, runtime: PartWriterRuntime = {}): Promise<CogPartWriter> {
    const resolved = resolveCogOptions(options);
    const b = resolved.blockSize;
    const k = blockLevel(region, Math.ceil(resolved.width / b), Math.ceil(resolved.height / b), `Part ${url}`);
    const sink = await openSink(url, runtime.storage);
    const { col, row, cols, rows } = region;
    return new CogPartWriter(url, resolved, { col, row, cols, rows }, k, sink, runtime.codecs ?? sharedCodecs);
  }

  /** The highest level this part builds: k, or the image's last level when it has fewer overviews. */
  get topLevel(): number {
    return this.tiles.top;
  }

  /** Adds a full-resolution tile of the region; as CogWriter.writeTile, which it shares. */
  writeTile(col: number, row: number, pixels: TypedArray): Promise<void> {
    return this.tiles.writeTile(col, row, pixels);
  }

  private async append(encoded: Uint8Array): Promise<number> {
    const at = this.size;
    this.size += encoded.byteLength;
    this.tail = this.tail.then(() => this.sink.write(encoded));
    await this.tail;
    return at;
  }

  /** Waits for every tile, commits the object and returns its manifest. */
  async finish(): Promise<PartManifest> {
    if (this.tiles.closed) throw new CogWriteError(`finish() called twice on ${this.url}`);
    try {
      await this.tiles.settle();
      this.tiles.checkComplete();
      await this.tail;
      await this.sink.close();
    } catch (err) {
      await this.sink.abort().catch(() => undefined);
      throw err;
    }
    const tiles = [...regionTiles(this.region, this.tiles.top)].map(([level, col, row]): PartManifest['tiles'][number] => {
      const { across, offset, byteCount } = this.tiles.levels[level]!;
      return [level, col, row, offset[row * across + col]!, byteCount[row * across + col]!];
    });
    return {
      format: PART_FORMAT,
      url: this.url,
      tiling: tilingOf(this.options),
      levels: this.tiles.levels.length,
      region: { ...this.region },
      topLevel: this.tiles.top,
      tiles,
    };
  }

  /** Discards everything; nothing is left at the URL. */
  async abort(): Promise<void> {
    await this.tiles.settle().catch(() => undefined);
    await this.tail.catch(() => undefined);
    await this.sink.abort().catch(() => undefined);
  }
}

/** Checks that a part fits `writer`: same tiling, an aligned region, and exactly the tiles it should hold. */
function checkPart(part: PartManifest, writer: CogWriter): void {
  const where = `Part ${part.url}`;
  const want = tilingOf(writer.options);
  for (const key of Object.keys(want) as (keyof Tiling)[]) {
    if (part.tiling[key] !== want[key]) {
      throw new CogWriteError(`${where} was written with ${key} ${String(part.tiling[key])}, but ${writer.url} has ${String(want[key])}`);
    }
  }
  const levels = writer.levels;
  if (part.levels !== levels.length) {
    throw new CogWriteError(`${where} was written for ${part.levels} levels, but ${writer.url} has ${levels.length} (full resolution and overviews)`);
  }
  const top = Math.min(blockLevel(part.region, levels[0]!.across, levels[0]!.down, where), levels.length - 1);
  if (part.topLevel !== top) {
    throw new CogWriteError(`${where} has topLevel ${part.topLevel}, but its region (${describeRegion(part.region)}) makes it ${top}`);
  }
  const seen = new Set<string>();
  for (const [level, col, row] of part.tiles) {
    const name = `tile ${col},${row} of level ${level}`;
    if (level > top) throw new CogWriteError(`${where} lists ${name}, above its top level ${top}`);
    const { across, down } = levels[level]!;
    if (col >= across || row >= down) throw new CogWriteError(`${where} lists ${name}, outside that level's ${across}×${down} tile grid`);
    const r = regionAt(part.region, level);
    if (col < r.col || row < r.row || col >= r.col + r.cols || row >= r.row + r.rows) {
      throw new CogWriteError(`${where} lists ${name}, outside its region (${describeRegion(r)} at that level)`);
    }
    const key = `${level},${col},${row}`;
    if (seen.has(key)) throw new CogWriteError(`${where} lists ${name} twice`);
    seen.add(key);
  }
  for (const [level, col, row] of regionTiles(part.region, top)) {
    if (!seen.has(`${level},${col},${row}`)) throw new CogWriteError(`${where} lacks tile ${col},${row} of level ${level} of its region`);
  }
}

/** Refuses parts that share a tile, naming both, before anything is read. */
function checkDisjoint(parts: readonly PartManifest[]): void {
  const owner = new Map<string, string>();
  for (const part of parts) {
    for (const [, col, row] of regionTiles(part.region, 0)) {
      const other = owner.get(`${col},${row}`);
      if (other !== undefined) throw new CogWriteError(`Parts ${other} and ${part.url} overlap: both hold tile ${col},${row} of level 0`);
      owner.set(`${col},${row}`, part.url);
    }
  }
}

/** How parts are read when they are assembled. */
export interface AddPartOptions {
  /** How the part objects are read (S3 endpoint, retries). @defaultValue storageDefaults */
  source?: SourceOptions;
  signal?: AbortSignal;
}

/**
 * Copies a part's tiles into `writer` unchanged, after checking its manifest against the writer. Each of
 * its top-level tiles is decoded and halved into its parent unless that tile is of the last level. The
 * object is read by coalesced ranges; tiles go to the writer as the reads arrive.
 */
export async function addPart(writer: CogWriter, manifest: unknown, options: AddPartOptions = {}): Promise<void> {
  const part = parsePartManifest(manifest);
  checkPart(part, writer);
  await copyPart(writer, part, options);
}

async function copyPart(writer: CogWriter, part: PartManifest, options: AddPartOptions): Promise<void> {
  const tiles = part.tiles.map(([level, col, row, , length]): EncodedTile => ({ level, col, row, length, feedsParent: level === part.topLevel }));
  const ranges = part.tiles.map(([, , , offset, length]) => ({ offset, length }));
  const source = openSource(part.url, { ...options.source, cache: false });
  try {
    await writer.writeEncodedTiles(
      tiles,
      (deliver) => streamRanges(source, ranges, deliver, options.signal ? { signal: options.signal } : {}),
      part.url,
    );
  } finally {
    await source.close();
  }
}

/** How `assembleCog` runs. */
export interface AssembleOptions extends AddPartOptions {
  /** Where top-level tiles are decoded and the overviews above them compressed. @defaultValue the shared codec pool */
  codecs?: CodecRunner;
  /** Parts read at once; each holds at most its compressed tiles in memory. @defaultValue 4 */
  partsAtOnce?: number;
}

/**
 * Writes the COG at `url` from parts written with the same `options`: every manifest is checked before
 * anything is read, the parts are copied in (several at once), and the writer's ordinary `finish()` writes
 * the file, refusing it when a tile is missing. The first failure stops the rest and leaves nothing at `url`.
 */
export async function assembleCog(url: string, options: CogOptions, manifests: readonly unknown[], runtime: AssembleOptions = {}): Promise<CogWriteResult> {
  const parts = manifests.map(parsePartManifest);
  const partsAtOnce = runtime.partsAtOnce ?? 4;
  if (!Number.isInteger(partsAtOnce) || partsAtOnce < 1) throw new CogOptionsError(`partsAtOnce must be a positive integer (got ${partsAtOnce})`);
  const writer = await CogWriter.create(url, options, runtime.codecs ? { codecs: runtime.codecs } : {});
  const stop = new AbortController();
  const signal = runtime.signal ? AbortSignal.any([runtime.signal, stop.signal]) : stop.signal;
  try {
    for (const part of parts) checkPart(part, writer);
    checkDisjoint(parts);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < parts.length && !signal.aborted; i = next++) {
        await copyPart(writer, parts[i]!, { ...(runtime.source ? { source: runtime.source } : {}), signal });
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(partsAtOnce, parts.length) }, () =>
        worker().catch((err: unknown) => {
          stop.abort(err);
          throw err;
        }),
      ),
    );
    runtime.signal?.throwIfAborted();
    return await writer.finish();
  } catch (err) {
    await writer.abort();
    throw err;
  }
}
