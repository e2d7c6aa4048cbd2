import type { BlockLayout, DeflateStrategy } from '../codecs/index.js';
import type { CodecRunner } from '../pool/codec-runner.js';
import { allocate, bytesOf, dtypeInfo, storedNodata, viewAs, type TypedArray } from '../dtype.js';
import { Compression } from '../tiff/tags.js';
import { CogWriteError } from './errors.js';
import { levelSizes, type ResolvedCogOptions } from './options.js';
import { downsampleInto } from './overview.js';

/**
 * The tiles of a COG being built, shared by CogWriter (writer.ts) and CogPartWriter (parts.ts): the tile
 * grid of every level, compression, the overview parents still waiting for children, and where each
 * compressed tile was stored. Overviews are built by halving each finished tile into its parent, which is
 * block-local: a part that owns a 2^k-aligned block of tiles builds levels 1..k of it exactly as the
 * whole writer would, and the writer continues from the decoded level-k tiles.
 */

export const COMPRESSION_TAG = { deflate: Compression.Deflate, lzw: Compression.Lzw, zstd: Compression.Zstd, none: Compression.None };

/** A rectangle of tiles of one level: columns col..col+cols-1 and rows row..row+rows-1. */
export interface TileRegion {
  /** First tile column. */
  col: number;
  /** First tile row. */
  row: number;
  /** Tiles across. */
  cols: number;
  /** Tiles down. */
  rows: number;
}

/** One level of the pyramid: its size and where each of its tiles went. */
export interface TileLevel {
  /** Size in pixels. */
  width: number;
  height: number;
  /** Tiles across and down. */
  across: number;
  down: number;
  /** Where the store put each tile, row-major; -1 until claimed, -2 while on its way. */
  offset: Float64Array;
  /** Compressed length of each tile in bytes. */
  byteCount: Float64Array;
}

/** A tile compressed elsewhere with the same options, to be added unchanged. */
export interface EncodedTile {
  level: number;
  col: number;
  row: number;
  /** Compressed length in bytes. */
  length: number;
  /** Decode it and halve it into its parent, which is built here; false when the parent comes ready-made. */
  feedsParent: boolean;
}

/** The tiles of `region` (full-resolution tiles, aligned as parts are) that lie at `level`. */
export function regionAt(region: TileRegion, level: number): TileRegion {
  const scale = 2 ** level;
  const col = Math.floor(region.col / scale);
  const row = Math.floor(region.row / scale);
  return { col, row, cols: Math.ceil((region.col + region.cols) / scale) - col, rows: Math.ceil((region.row + region.rows) / scale) - row };
}

/** Every tile of `region` at levels 0..top, as [level, col, row], level by level and row-major. */
export function* regionTiles(region: TileRegion, top: number): Generator<[number, number, number]> {
  for (let level = 0; level <= top; level++) {
    const r = regionAt(region, level);
    for (let row = r.row; row < r.row + r.rows; row++) {
      for (let col = r.col; col < r.col + r.cols; col++) yield [level, col, row];
    }
  }
}

/** `columns 4..7, rows 0..3`, for messages. */
export function describeRegion(r: TileRegion): string {
  return `columns ${r.col}..${r.col + r.cols - 1}, rows ${r.row}..${r.row + r.rows - 1}`;
}

interface PendingParent {
  pixels: TypedArray;
  received: number;
  expected: number;
}

/** The tiles being built; see the top of this file. */
export class TilePyramid {
  /** Every level of the image, full resolution first; only levels 0..top are built here. */
  readonly levels: TileLevel[];
  /** The highest level built here: tiles of this level are not halved further. */
  readonly top: number;
  /** Full-resolution tiles taken here: the whole grid, or a part's region. */
  readonly region: TileRegion;
  /** TIFF Predictor: 2 for integers and 3 for floats when asked for, else 1. */
  readonly predictor: 1 | 2 | 3;
  /** True once finish() or abort() began; no tile is taken after. */
  closed = false;
  /** Nodata as the pixels hold it (see storedNodata); null when no pixel can be nodata. */
  private readonly nodata: number | null;
  private readonly pending: Map<string, PendingParent>[];
  private readonly inFlight = new Set<Promise<void>>();
  private failed: unknown = undefined;

  /**
   * `store` keeps one compressed tile and resolves to where it put it; `top` is capped at the last level;
   * `region` defaults to the whole grid.
   */
  constructor(
    readonly options: ResolvedCogOptions,
    readonly url: string,
    private readonly store: (encoded: Uint8Array) => Promise<number>,
    private readonly codecs: CodecRunner,
    top = Number.POSITIVE_INFINITY,
    region?: TileRegion,
  ) {
    this.nodata = storedNodata(options.dtype, options.nodata);
    this.predictor = options.predictor ? (dtypeInfo(options.dtype).float ? 3 : 2) : 1;
    const b = options.blockSize;
    this.levels = levelSizes(options.width, options.height, options.overviews).map(([width, height]) => {
      const across = Math.ceil(width / b);
      const down = Math.ceil(height / b);
      return { width, height, across, down, offset: new Float64Array(across * down).fill(-1), byteCount: new Float64Array(across * down) };
    });
    this.top = Math.min(top, this.levels.length - 1);
    this.region = region ?? { col: 0, row: 0, cols: this.levels[0]!.across, rows: this.levels[0]!.down };
    this.pending = this.levels.map(() => new Map());
  }

  /** See CogWriter.writeTile. */
  async writeTile(col: number, row: number, pixels: TypedArray): Promise<void> {
    const o = this.options;
    const level = this.levels[0]!;
    const r = this.region;
    if (this.closed) throw new CogWriteError(`writeTile after finish() or abort() on ${this.url}`);
    if (!Number.isInteger(col) || !Number.isInteger(row) || col < 0 || row < 0 || col >= level.across || row >= level.down) {
      throw new CogWriteError(`Tile ${col},${row} is outside the ${level.across}×${level.down} tile grid of ${this.url}`);
    }
    if (col < r.col || row < r.row || col >= r.col + r.cols || row >= r.row + r.rows) {
      throw new CogWriteError(`Tile ${col},${row} is outside the region (${describeRegion(r)}) of ${this.url}`);
    }
    const samples = o.blockSize * o.blockSize * o.bands;
    if (pixels.length !== samples) {
      throw new CogWriteError(`Tile ${col},${row} has ${pixels.length} samples; a ${o.blockSize}×${o.blockSize}×${o.bands} tile needs ${samples}`);
    }
    this.claim(0, col, row);
    await this.track(this.addTile(0, col, row, pixels));
  }

  /**
   * Adds tiles compressed elsewhere with these options, unchanged. All are claimed at once, so a tile
   * outside the grid or already taken fails before `fetch` runs; `fetch` then hands over each tile's bytes
   * by its index in `tiles`. `from` names where they come from, for errors.
   */
  async writeEncodedTiles(
    tiles: readonly EncodedTile[],
    fetch: (deliver: (index: number, bytes: Uint8Array) => void) => Promise<void>,
    from: string,
  ): Promise<void> {
    if (this.closed) throw new CogWriteError(`Tiles from ${from} added after finish() or abort() on ${this.url}`);
    const claimed: EncodedTile[] = [];
    try {
      for (const t of tiles) {
        this.claim(t.level, t.col, t.row, from);
        claimed.push(t);
      }
    } catch (err) {
      // Give back what this call claimed, so a refused part leaves the writer as it was.
      for (const t of claimed) this.levels[t.level]!.offset[t.row * this.levels[t.level]!.across + t.col] = -1;
      throw err;
    }
    await this.track(this.addEncoded(tiles, fetch, from));
  }

  private async addEncoded(
    tiles: readonly EncodedTile[],
    fetch: (deliver: (index: number, bytes: Uint8Array) => void) => Promise<void>,
    from: string,
  ): Promise<void> {
    const work: Promise<void>[] = [];
    const take = async (t: EncodedTile, bytes: Uint8Array): Promise<void> => {
      if (bytes.byteLength !== t.length) {
        const hint = bytes.byteLength < t.length ? ' (is it truncated?)' : '';
        throw new CogWriteError(`Tile ${t.col},${t.row} of level ${t.level} from ${from} has ${bytes.byteLength} bytes, not the ${t.length} expected${hint}`);
      }
      await this.put(t.level, t.col, t.row, bytes);
      // Decoded only after it is stored: a codec pool may move the buffer to its thread.
      if (t.feedsParent && t.level < this.top) {
        const decoded = await this.codecs.decode(bytes, this.layout(t.level, t.col, t.row));
        await this.feedParent(t.level, t.col, t.row, viewAs(this.options.dtype, decoded));
      }
    };
    try {
      await fetch((index, bytes) => {
        const task = take(tiles[index]!, bytes);
        task.catch(() => undefined); // awaited below; this keeps an early failure from counting as unhandled
        work.push(task);
      });
    } finally {
      await Promise.allSettled(work);
    }
    await Promise.all(work);
  }

  /** Marks a tile as taken; a tile outside the grid or taken before is refused. */
  private claim(levelIndex: number, col: number, row: number, from?: string): void {
    const level = this.levels[levelIndex];
    if (level === undefined || !Number.isInteger(col) || !Number.isInteger(row) || col < 0 || row < 0 || col >= level.across || row >= level.down) {
      throw new CogWriteError(`Tile ${col},${row} of level ${levelIndex}${from ? ` from ${from}` : ''} is outside the tile grid of ${this.url}`);
    }
    const i = row * level.across + col;
    if (level.offset[i] !== -1) {
      const hint = from ? ` from ${from} was already written to ${this.url} (do two parts overlap?)` : ` was written twice to ${this.url}`;
      throw new CogWriteError(`Tile ${col},${row} of level ${levelIndex}${hint}`);
    }
    level.offset[i] = -2;
  }

  /** Records the first failure of a tile task, so finish() reports it. */
  private async track(task: Promise<void>): Promise<void> {
    this.inFlight.add(task);
    try {
      await task;
    } catch (err) {
      this.failed ??= err;
      throw err;
    } finally {
      this.inFlight.delete(task);
    }
  }

  private async addTile(levelIndex: number, col: number, row: number, pixels: TypedArray): Promise<void> {
    const feed = levelIndex < this.top ? this.feedParent(levelIndex, col, row, pixels) : undefined;
    await Promise.all([this.encodeTile(levelIndex, col, row, pixels), feed]);
  }

  private async feedParent(levelIndex: number, col: number, row: number, pixels: TypedArray): Promise<void> {
    const o = this.options;
    const b = o.blockSize;
    const child = this.levels[levelIndex]!;
    const pc = col >> 1;
    const pr = row >> 1;
    const key = `${pc},${pr}`;
    const map = this.pending[levelIndex + 1]!;
    let parent = map.get(key);
    if (parent === undefined) {
      const cols = Math.min(2, child.across - 2 * pc);
      const rows = Math.min(2, child.down - 2 * pr);
      const buffer = allocate(o.dtype, b * b * o.bands);
      if (this.nodata !== null) buffer.fill(this.nodata);
      parent = { pixels: buffer, received: 0, expected: cols * rows };
      map.set(key, parent);
    }
    const validW = Math.min(b, child.width - col * b);
    const validH = Math.min(b, child.height - row * b);
    downsampleInto(
      pixels,
      parent.pixels,
      b,
      o.bands,
      validW,
      validH,
      (col & 1) * (b / 2),
      (row & 1) * (b / 2),
      o.overviews,
      this.nodata,
      !dtypeInfo(o.dtype).float,
    );
    parent.received++;
    if (parent.received === parent.expected) {
      map.delete(key);
      this.claim(levelIndex + 1, pc, pr);
      await this.addTile(levelIndex + 1, pc, pr, parent.pixels);
    }
  }

  /** How this writer's tiles are encoded, for the codecs. */
  layout(levelIndex: number, col: number, row: number): BlockLayout & { level: number; deflateStrategy: DeflateStrategy } {
    const o = this.options;
    const info = dtypeInfo(o.dtype);
    return {
      compression: COMPRESSION_TAG[o.compression],
      predictor: this.predictor,
      width: o.blockSize,
      height: o.blockSize,
      samplesPerPixel: o.bands,
      bytesPerSample: info.bytes,
      sampleFormat: info.sampleFormat,
      littleEndian: true,
      level: o.level,
      deflateStrategy: o.deflateStrategy,
      where: `${this.url}: tile ${col},${row} of level ${levelIndex}`,
    };
  }

  private async encodeTile(levelIndex: number, col: number, row: number, pixels: TypedArray): Promise<void> {
    // The overview parent has already taken what it needs from these pixels (feedParent runs first and
    // synchronously), so the encoder may take the buffer.
    const encoded = await this.codecs.encode(bytesOf(pixels), this.layout(levelIndex, col, row), { transfer: true });
    await this.put(levelIndex, col, row, encoded);
  }

  private async put(levelIndex: number, col: number, row: number, encoded: Uint8Array): Promise<void> {
    const at = await this.store(encoded);
    const level = this.levels[levelIndex]!;
    level.offset[row * level.across + col] = at;
    level.byteCount[row * level.across + col] = encoded.byteLength;
  }

  /** Stops taking tiles and waits for those in flight; rethrows the first failure. */
  async settle(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    if (this.failed !== undefined) throw this.failed;
  }

  /** Throws for the first tile of levels 0..top inside the region that never came. */
  checkComplete(): void {
    for (const [li, col, row] of regionTiles(this.region, this.top)) {
      const level = this.levels[li]!;
      if (level.offset[row * level.across + col]! >= 0) continue;
      const what = li === 0 ? 'was never written' : 'is incomplete (a child tile was never written)';
      throw new CogWriteError(`Tile ${col},${row} of level ${li} ${what} in ${this.url}`);
    }
  }
}
