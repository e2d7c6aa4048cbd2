import { randomUUID } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSink, type ByteSink } from '../../storage/index.js';
import type { CodecRunner } from '../pool/codec-runner.js';
import { sharedCodecs } from '../pool/shared.js';
import { geoKeysForEpsg, type GeoKeyTagValues } from '../crs/index.js';
import { GT_RASTER_TYPE_KEY, RASTER_PIXEL_IS_AREA } from '../georef.js';
import { dtypeInfo, type TypedArray } from '../dtype.js';
import { FieldType, Tag } from '../tiff/tags.js';
import { encodeIfd, ifdByteSize, type IfdEntry } from './ifd-encoder.js';
import { CogWriteError } from './errors.js';
import { GHOST, planCogFile, type FilePlan } from './layout.js';
import { resolveCogOptions, type CogOptions, type ResolvedCogOptions } from './options.js';
import { COMPRESSION_TAG, TilePyramid, type EncodedTile, type TileLevel } from './pyramid.js';

/**
 * A Cloud Optimized GeoTIFF writer, written by hand because no maintained JavaScript library writes tiled,
 * compressed COGs with overviews (geotiff.js writes only uncompressed single-image classic TIFF).
 *
 * Tiles arrive in any order, are compressed as they arrive and spooled to a temporary file, so memory holds
 * only the tiles in flight and, per overview level, the parent tiles still waiting for children. Overviews
 * are built on the way by halving each finished tile into its parent (see pyramid.ts, shared with the part
 * writer of parts.ts, whose compressed tiles `writeEncodedTiles` copies in unchanged). `finish()` then
 * writes GDAL's COG layout: header, GDAL's structural-metadata ghost area, every IFD with its tile index,
 * and the tile data from the smallest overview to full resolution, each tile framed by a size leader and a
 * repeated trailer.
 */

const SINK_CHUNK = 4 * 1024 * 1024;

/** What `finish()` reports. */
export interface CogWriteResult {
  url: string;
  /** File size in bytes. */
  bytes: number;
  bigTiff: boolean;
  /** Sizes of every level, full resolution first. */
  levels: [number, number][];
}

export class CogWriter {
  readonly options: ResolvedCogOptions;
  readonly levels: readonly TileLevel[];
  private readonly tiles: TilePyramid;
  private spoolSize = 0;

  private constructor(
    readonly url: string,
    options: ResolvedCogOptions,
    private readonly spool: FileHandle,
    private readonly spoolPath: string,
    private readonly sink: ByteSink,
    codecs: CodecRunner,
  ) {
    this.options = options;
    this.tiles = new TilePyramid(options, url, (encoded) => this.spoolWrite(encoded), codecs);
    this.levels = this.tiles.levels;
  }

  /** Validates the options and opens the temporary spool; nothing is written at `url` before `finish()`. */
  static async create(url: string, options: CogOptions, runtime: { codecs?: CodecRunner } = {}): Promise<CogWriter> {
    const resolved = resolveCogOptions(options);
    if (resolved.epsg !== null) geoKeysForEpsg(resolved.epsg);
    const dir = resolved.tmpDir ?? tmpdir();
    const spoolPath = join(dir, `databox-cog-${randomUUID()}.spool`);
    let spool: FileHandle;
    try {
      spool = await open(spoolPath, 'w+');
    } catch (err) {
      throw new CogWriteError(`Cannot create the tile spool for ${url} in ${dir} (${(err as Error).message}); set TMPDIR or tmpDir to a writable directory`, err);
    }
    // Open the output now, so a bad URL (a directory, no permission) fails before the work, not after it.
    let sink: ByteSink;
    try {
      sink = await openSink(url);
    } catch (err) {
      await spool.close();
      await rm(spoolPath, { force: true });
      throw err;
    }
    return new CogWriter(url, resolved, spool, spoolPath, sink, runtime.codecs ?? sharedCodecs);
  }

  /** Tiles across and down at full resolution. */
  get tilesAcross(): number {
    return this.levels[0]!.across;
  }
  get tilesDown(): number {
    return this.levels[0]!.down;
  }

  /**
   * Adds a full-resolution tile: blockSize × blockSize pixels, bands interleaved per pixel, row-major, in
   * the raster's type. Edge tiles are full-size too; what lies past the image edge is ignored. Tiles may
   * come in any order and several at once; each must come exactly once. The writer takes `pixels`: with a
   * codec pool its buffer moves to another thread, so do not use it afterwards.
   */
  writeTile(col: number, row: number, pixels: TypedArray): Promise<void> {
    return this.tiles.writeTile(col, row, pixels);
  }

  /**
   * Adds tiles of any level that another writer compressed with these same options (a part: see
   * `addPart` in parts.ts), copied into the file unchanged. All are claimed at once, so a tile outside
   * the grid or already written fails before `fetch` runs; `fetch` then hands over each tile's bytes by
   * its index in `tiles`. A tile marked `feedsParent` is decoded and halved into its parent, so the
   * overviews above it are built here as if this writer had made it. `from` names the source in errors.
   */
  writeEncodedTiles(
    tiles: readonly EncodedTile[],
    fetch: (deliver: (index: number, bytes: Uint8Array) => void) => Promise<void>,
    from: string,
  ): Promise<void> {
    return this.tiles.writeEncodedTiles(tiles, fetch, from);
  }

  private async spoolWrite(encoded: Uint8Array): Promise<number> {
    // Reserve the spool range synchronously so concurrent tiles never overlap.
    const at = this.spoolSize;
    this.spoolSize += encoded.byteLength;
    const { bytesWritten } = await this.spool.write(encoded, 0, encoded.byteLength, at);
    if (bytesWritten !== encoded.byteLength) {
      throw new CogWriteError(`Short write to the tile spool ${this.spoolPath} (${bytesWritten} of ${encoded.byteLength} bytes); is the disk full?`);
    }
    return at;
  }

  /** Waits for every tile, then writes the COG to its URL. */
  async finish(): Promise<CogWriteResult> {
    if (this.tiles.closed) throw new CogWriteError(`finish() called twice on ${this.url}`);
    try {
      await this.tiles.settle();
      this.tiles.checkComplete();
      const plan = planCogFile(
        this.levels,
        (li, bigTiff) => ifdByteSize(this.entries(li, bigTiff, new Float64Array(this.levels[li]!.byteCount.length)), bigTiff),
        this.options.bigtiff,
        this.url,
      );
      await this.writeFile(this.sink, plan);
      await this.sink.close();
      return {
        url: this.url,
        bytes: plan.fileSize,
        bigTiff: plan.bigTiff,
        levels: this.levels.map((l) => [l.width, l.height]),
      };
    } catch (err) {
      await this.sink.abort().catch(() => undefined);
      throw err;
    } finally {
      await this.cleanup();
    }
  }

  /** Discards everything; nothing is left at the URL or in the temporary directory. */
  async abort(): Promise<void> {
    await this.tiles.settle().catch(() => undefined);
    await this.sink.abort().catch(() => undefined);
    await this.cleanup();
  }

  private async cleanup(): Promise<void> {
    await this.spool.close().catch(() => undefined);
    await rm(this.spoolPath, { force: true });
  }

  private entries(levelIndex: number, bigTiff: boolean, tileOffsets: Float64Array): IfdEntry[] {
    const o = this.options;
    const level = this.levels[levelIndex]!;
    const info = dtypeInfo(o.dtype);
    const spp = o.bands;
    const rgb = o.dtype === 'Byte' && spp === 3;
    const e: IfdEntry[] = [
      { tag: Tag.ImageWidth, type: FieldType.LONG, values: [level.width] },
      { tag: Tag.ImageLength, type: FieldType.LONG, values: [level.height] },
      { tag: Tag.BitsPerSample, type: FieldType.SHORT, values: new Array(spp).fill(info.bytes * 8) },
      { tag: Tag.Compression, type: FieldType.SHORT, values: [COMPRESSION_TAG[o.compression]] },
      { tag: Tag.Photometric, type: FieldType.SHORT, values: [rgb ? 2 : 1] },
      { tag: Tag.SamplesPerPixel, type: FieldType.SHORT, values: [spp] },
      { tag: Tag.PlanarConfiguration, type: FieldType.SHORT, values: [1] },
      { tag: Tag.TileWidth, type: FieldType.SHORT, values: [o.blockSize] },
      { tag: Tag.TileLength, type: FieldType.SHORT, values: [o.blockSize] },
      { tag: Tag.TileOffsets, type: bigTiff ? FieldType.LONG8 : FieldType.LONG, values: tileOffsets },
      { tag: Tag.TileByteCounts, type: bigTiff ? FieldType.LONG8 : FieldType.LONG, values: level.byteCount },
      { tag: Tag.SampleFormat, type: FieldType.SHORT, values: new Array(spp).fill(info.sampleFormat) },
    ];
    if (levelIndex > 0) e.push({ tag: Tag.NewSubfileType, type: FieldType.LONG, values: [1] });
    const predictor = this.tiles.predictor;
    if (predictor !== 1) e.push({ tag: Tag.Predictor, type: FieldType.SHORT, values: [predictor] });
    if (spp > 1 && !rgb) e.push({ tag: Tag.ExtraSamples, type: FieldType.SHORT, values: new Array(spp - 1).fill(0) });
    if (o.nodata !== null) e.push({ tag: Tag.GdalNodata, type: FieldType.ASCII, values: formatNodata(o.nodata) });
    if (levelIndex === 0) e.push(...this.georefEntries());
    return e;
  }

  private georefEntries(): IfdEntry[] {
    const { geotransform: gt, epsg, geoKeys } = this.options;
    const e: IfdEntry[] = [];
    if (gt !== null) {
      if (gt[2] === 0 && gt[4] === 0 && gt[5] < 0) {
        e.push({ tag: Tag.ModelPixelScale, type: FieldType.DOUBLE, values: [gt[1], -gt[5], 0] });
        e.push({ tag: Tag.ModelTiepoint, type: FieldType.DOUBLE, values: [0, 0, 0, gt[0], gt[3], 0] });
      } else {
        e.push({
          tag: Tag.ModelTransformation,
          type: FieldType.DOUBLE,
          values: [gt[1], gt[2], 0, gt[0], gt[4], gt[5], 0, gt[3], 0, 0, 0, 0, 0, 0, 0, 1],
        });
      }
    }
    const keys = geoKeys !== null ? asPixelIsArea(geoKeys) : epsg !== null ? geoKeysForEpsg(epsg) : null;
    if (keys !== null) {
      e.push({ tag: Tag.GeoKeyDirectory, type: FieldType.SHORT, values: keys.directory });
      if (keys.doubles.length > 0) e.push({ tag: Tag.GeoDoubleParams, type: FieldType.DOUBLE, values: keys.doubles });
      if (keys.ascii.length > 0) e.push({ tag: Tag.GeoAsciiParams, type: FieldType.ASCII, values: keys.ascii });
    }
    return e;
  }

  private async writeFile(sink: ByteSink, plan: FilePlan): Promise<void> {
    const out = new ChunkedWriter(sink);
    const header = new DataView(new ArrayBuffer(plan.headerSize));
    header.setUint16(0, 0x4949, false);
    if (plan.bigTiff) {
      header.setUint16(2, 43, true);
      header.setUint16(4, 8, true);
      header.setBigUint64(8, BigInt(plan.ifdAt[0]!), true);
    } else {
      header.setUint16(2, 42, true);
      header.setUint32(4, plan.ifdAt[0]!, true);
    }
    await out.write(new Uint8Array(header.buffer));
    await out.write(new TextEncoder().encode(GHOST));
    await out.padTo(plan.ifdAt[0]!);
    for (let li = 0; li < this.levels.length; li++) {
      const next = plan.ifdAt[li + 1] ?? 0;
      await out.padTo(plan.ifdAt[li]!);
      await out.write(encodeIfd(this.entries(li, plan.bigTiff, plan.tileOffsets[li]!), plan.ifdAt[li]!, next, plan.bigTiff));
    }
    for (let li = this.levels.length - 1; li >= 0; li--) {
      const level = this.levels[li]!;
      for (let t = 0; t < level.byteCount.length; t++) {
        const n = level.byteCount[t]!;
        const tile = new Uint8Array(n + 8);
        const view = new DataView(tile.buffer);
        view.setUint32(0, n, true);
        const { bytesRead } = await this.spool.read(tile, 4, n, level.offset[t]!);
        if (bytesRead !== n) throw new CogWriteError(`Short read from the tile spool ${this.spoolPath} at tile ${t} of level ${li}`);
        // The trailer repeats the tile's last 4 bytes so a reader can detect a tile cut short.
        tile.copyWithin(n + 4, n, n + 4);
        if (out.position !== plan.tileOffsets[li]![t]! - 4) {
          throw new CogWriteError(`internal layout error at tile ${t} of level ${li} of ${this.url}`);
        }
        await out.write(tile);
      }
    }
    await out.flush();
  }
}


/**
 * Copied GeoKeys with GTRasterTypeGeoKey set to PixelIsArea: the geotransform we write is area-based
 * (a PixelIsPoint source was shifted half a pixel when read), so keeping Point would move the raster.
 */
function asPixelIsArea(keys: GeoKeyTagValues): GeoKeyTagValues {
  const directory = [...keys.directory];
  for (let at = 4; at + 3 < directory.length; at += 4) {
    if (directory[at] === GT_RASTER_TYPE_KEY && directory[at + 1] === 0) directory[at + 3] = RASTER_PIXEL_IS_AREA;
  }
  return { ...keys, directory };
}

/** GDAL_NODATA text, as GDAL writes it. */
export function formatNodata(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Number.POSITIVE_INFINITY) return 'inf';
  if (value === Number.NEGATIVE_INFINITY) return '-inf';
  return String(value);
}

/** Gathers small writes into large chunks for the sink, tracking the file position. */
class ChunkedWriter {
  position = 0;
  private parts: Uint8Array[] = [];
  private buffered = 0;
  constructor(private readonly sink: ByteSink) {}

  async write(bytes: Uint8Array): Promise<void> {
    this.parts.push(bytes);
    this.buffered += bytes.byteLength;
    this.position += bytes.byteLength;
    if (this.buffered >= SINK_CHUNK) await this.flush();
  }

  async padTo(offset: number): Promise<void> {
    if (offset > this.position) await this.write(new Uint8Array(offset - this.position));
  }

  async flush(): Promise<void> {
    if (this.buffered === 0) return;
    const chunk = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.buffered);
    this.parts = [];
    this.buffered = 0;
    await this.sink.write(chunk);
  }
}
