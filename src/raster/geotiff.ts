import { openSource, streamRanges, type ByteSource, type StorageSource } from '../storage/index.js';
import type { BlockLayout } from './codecs/index.js';
import { crsFromGeoKeys, type Crs, type GeoKeyTagValues } from './crs/index.js';
import { allocateBands, dtypeInfo, storedNodata, type DType, type TypedArray } from './dtype.js';
import { fillBlock, type BlockPlacement } from './block-copy.js';
import { RasterRangeError, TiffError } from './errors.js';
import { geoTransformFromTags, type GeoTransform } from './georef.js';
import { readTiffStructure } from './tiff/ifd.js';
import { describeImage, subfileTypeOf, type TiffImage } from './tiff/image.js';
import { Tag } from './tiff/tags.js';
import type { CodecRunner } from './pool/codec-runner.js';
import { sharedCodecs } from './pool/shared.js';
import { batchReads, checkWindow, planBlocks, type BlockRead, type Window } from './window.js';

/** What `databox info --json` prints: everything a user asks of a raster before reading it. */
export interface RasterInfo {
  url: string;
  width: number;
  height: number;
  bands: number;
  /** GDAL's type name. */
  dtype: DType;
  /** GDAL order; null when the file is not georeferenced. */
  geotransform: GeoTransform | null;
  epsg: number | null;
  /** PROJ definition of the CRS, EPSG or not; null without a CRS. */
  proj: string | null;
  nodata: number | null;
  /** Block (tile or strip) size [width, height]. */
  block: [number, number];
  compression: string;
  /** Overview sizes, largest first: [[width, height], ...]. */
  overviews: [number, number][];
  /** GDAL's INTERLEAVE: BAND for one band or PlanarConfiguration 2, else PIXEL. */
  interleave: 'PIXEL' | 'BAND';
  tiled: boolean;
  bigtiff: boolean;
  predictor: number;
}

export interface OpenOptions {
  signal?: AbortSignal;
  /** Where blocks are decoded; @defaultValue the process's shared codec pool, one thread per core */
  codecs?: CodecRunner;
}

export interface ReadWindowOptions {
  /** Pixel window at the chosen level; @defaultValue the whole image */
  window?: Window;
  /** 0-based bands to read; @defaultValue all */
  bands?: readonly number[];
  /** 0 for full resolution, k for the k-th overview (largest first); @defaultValue 0 */
  level?: number;
  signal?: AbortSignal;
}

/** Pixels of a window: one typed array per requested band, row-major (views on one buffer). */
export interface RasterWindow {
  width: number;
  height: number;
  dtype: DType;
  bands: TypedArray[];
}

/** Most bytes of pixels one window read returns (2 GiB); a larger read is refused before allocating. */
export const MAX_WINDOW_BYTES = 2 ** 31;

/** Compressed bytes in flight per batch of a window read; bounds memory on huge windows. */
const BATCH_BYTES = 64 * 1024 * 1024;

/** A GeoTIFF (COG or not) opened by URL: metadata at once, pixels by window. */
export class GeoTiff {
  /** Images by resolution: [0] is full resolution, then overviews from largest to smallest. */
  readonly levels: readonly TiffImage[];
  readonly geotransform: GeoTransform | null;
  readonly crs: Crs | null;
  /** The GeoKeys as stored, for copying a CRS (EPSG or user-defined) into another file unchanged. */
  readonly geoKeys: GeoKeyTagValues | null;
  readonly littleEndian: boolean;
  readonly bigTiff: boolean;

  private constructor(
    readonly source: ByteSource,
    levels: TiffImage[],
    geotransform: GeoTransform | null,
    crs: Crs | null,
    geoKeys: GeoKeyTagValues | null,
    littleEndian: boolean,
    bigTiff: boolean,
    private readonly codecs: CodecRunner,
    /** True when we opened the source from a URL, so closing it is ours to do. */
    private readonly ownsSource: boolean,
  ) {
    this.levels = levels;
    this.geotransform = geotransform;
    this.crs = crs;
    this.geoKeys = geoKeys;
    this.littleEndian = littleEndian;
    this.bigTiff = bigTiff;
  }

  /** Opens a GeoTIFF from a URL (`/path`, `file://`, `http(s)://`, `s3://`) or an open ByteSource. */
  static async open(target: string | ByteSource, options: OpenOptions = {}): Promise<GeoTiff> {
    const owned = typeof target === 'string';
    const source = owned ? openSource(target) : target;
    try {
      const structure = await readTiffStructure(source, options);
      // Transparency masks (NewSubfileType bit 2, e.g. GDAL's 1-bit per-dataset masks) are not bands.
      const ifds = structure.ifds.filter((ifd) => (subfileTypeOf(ifd) & 4) === 0);
      if (ifds.length === 0) throw new TiffError(source.url, 'the file holds only transparency masks, no image');
      const mainIfd = ifds.find((ifd) => (subfileTypeOf(ifd) & 1) === 0) ?? ifds[0]!;
      const main = describeImage(source.url, mainIfd, structure.fileSize);
      // Only the main image must be readable; an overview we cannot use is left out rather than fatal.
      const overviews = ifds
        .filter((ifd) => ifd !== mainIfd && (subfileTypeOf(ifd) & 1) === 1)
        .flatMap((ifd) => {
          try {
            return [describeImage(source.url, ifd, structure.fileSize)];
          } catch (err) {
            if (err instanceof TiffError) return [];
            throw err;
          }
        })
        .filter((im) => im.samplesPerPixel === main.samplesPerPixel && im.dtype === main.dtype && im.width < main.width)
        .sort((a, b) => b.width - a.width);
      const gt = geoTransformFromTags(source.url, main.tags);
      const directory = main.tags.get(Tag.GeoKeyDirectory);
      const doubles = main.tags.get(Tag.GeoDoubleParams);
      const ascii = main.tags.get(Tag.GeoAsciiParams);
      const crs =
        directory instanceof Float64Array
          ? crsFromGeoKeys(
              {
                directory,
                ...(doubles instanceof Float64Array ? { doubles } : {}),
                ...(typeof ascii === 'string' ? { ascii } : {}),
              },
              source.url,
            )
          : null;
      const geoKeys =
        directory instanceof Float64Array
          ? {
              directory: [...directory],
              doubles: doubles instanceof Float64Array ? [...doubles] : [],
              ascii: typeof ascii === 'string' ? ascii : '',
            }
          : null;
      return new GeoTiff(
        source,
        [main, ...overviews],
        gt,
        crs,
        geoKeys,
        structure.littleEndian,
        structure.bigTiff,
        options.codecs ?? sharedCodecs,
        owned,
      );
    } catch (err) {
      if (owned) await source.close();
      throw err;
    }
  }

  get url(): string {
    return this.source.url;
  }
  get main(): TiffImage {
    return this.levels[0]!;
  }
  get width(): number {
    return this.main.width;
  }
  get height(): number {
    return this.main.height;
  }
  get bands(): number {
    return this.main.samplesPerPixel;
  }
  get dtype(): DType {
    return this.main.dtype;
  }
  get nodata(): number | null {
    return this.main.nodata;
  }
  /** Bytes that arrived from storage for this file so far (header included): what crossed the network. */
  get bytesRead(): number {
    return (this.source as Partial<StorageSource>).stats?.bytes ?? 0;
  }

  info(): RasterInfo {
    const m = this.main;
    return {
      url: this.url,
      width: m.width,
      height: m.height,
      bands: m.samplesPerPixel,
      dtype: m.dtype,
      geotransform: this.geotransform,
      epsg: this.crs?.epsg ?? null,
      proj: this.crs?.proj ? this.crs.proj : null,
      nodata: m.nodata,
      block: [m.blockWidth, m.blockHeight],
      compression: m.compressionName,
      overviews: this.levels.slice(1).map((o) => [o.width, o.height]),
      // GDAL's INTERLEAVE: one band is BAND whatever the PlanarConfiguration, as gdalinfo reports it.
      interleave: m.planar === 2 || this.bands === 1 ? 'BAND' : 'PIXEL',
      tiled: m.tiled,
      bigtiff: this.bigTiff,
      predictor: m.predictor,
    };
  }

  /** The image of a level, 0 being full resolution. */
  level(level: number): TiffImage {
    const image = this.levels[level];
    if (image === undefined) {
      throw new RasterRangeError(`Level ${level} does not exist in ${this.url}: it has levels 0..${this.levels.length - 1}`);
    }
    return image;
  }

  /** Reads a window of chosen bands at a chosen level, fetching only the blocks it covers. */
  async readWindow(options: ReadWindowOptions = {}): Promise<RasterWindow> {
    const image = this.level(options.level ?? 0);
    const window = options.window ?? { x: 0, y: 0, width: image.width, height: image.height };
    checkWindow(window, image.width, image.height, this.url);
    const bands = options.bands ?? Array.from({ length: image.samplesPerPixel }, (_, i) => i);
    for (const b of bands) {
      if (!Number.isInteger(b) || b < 0 || b >= image.samplesPerPixel) {
        throw new RasterRangeError(`Band ${b} does not exist in ${this.url}: it has bands 0..${image.samplesPerPixel - 1}`);
      }
    }
    const bytes = window.width * window.height * bands.length * dtypeInfo(image.dtype).bytes;
    if (bytes > MAX_WINDOW_BYTES) {
      throw new RasterRangeError(
        `Window ${window.width}×${window.height} of ${bands.length} band(s) of ${image.dtype} from ${this.url} would take ${bytes} bytes, ` +
          `more than the ${MAX_WINDOW_BYTES} one read may allocate; read smaller windows`,
      );
    }
    // With a codec pool the outputs are shared memory, so threads decode blocks straight into them.
    const out = allocateBands(image.dtype, window.width * window.height, bands.length, this.codecs.sharedOutput === true);
    const fill = storedNodata(image.dtype, image.nodata) ?? 0;
    const plan = planBlocks(image, window, bands);
    if (plan.some((r) => r.length > 0)) this.codecs.warm?.();
    for (const batch of batchReads(plan, BATCH_BYTES)) {
      options.signal?.throwIfAborted();
      const present = batch.filter((r) => r.length > 0);
      for (const r of batch) if (r.length === 0) fillBlock(placementOf(image, r, bands, window), out, fill);
      // Each block is decoded as soon as the read holding it arrives, while later reads are in flight.
      const decodes: Promise<void>[] = [];
      const decode = async (r: BlockRead, blob: Uint8Array): Promise<void> => {
        if (blob.byteLength < r.length) {
          throw new TiffError(this.url, `file is truncated: block ${r.col},${r.row} of level ${options.level ?? 0} needs bytes ${r.offset}..${r.offset + r.length}`);
        }
        await this.codecs.decodeInto(blob, this.layoutOf(image, r), placementOf(image, r, bands, window), out);
      };
      try {
        await streamRanges(
          this.source,
          present.map((r) => ({ offset: r.offset, length: r.length })),
          (i, blob) => {
            const d = decode(present[i]!, blob);
            d.catch(() => undefined); // awaited below; this keeps an early failure from counting as unhandled
            decodes.push(d);
          },
          options.signal ? { signal: options.signal } : {},
        );
      } catch (err) {
        await Promise.allSettled(decodes);
        throw err;
      }
      await Promise.all(decodes);
    }
    return { width: window.width, height: window.height, dtype: image.dtype, bands: out };
  }

  /** How a block is encoded, for the codecs. */
  layoutOf(image: TiffImage, r: Pick<BlockRead, 'col' | 'row'>): BlockLayout {
    const rows = image.tiled ? image.blockHeight : Math.min(image.blockHeight, image.height - r.row * image.blockHeight);
    return {
      compression: image.compression,
      predictor: image.predictor,
      width: image.blockWidth,
      height: rows,
      samplesPerPixel: image.planar === 2 ? 1 : image.samplesPerPixel,
      bytesPerSample: dtypeInfo(image.dtype).bytes,
      sampleFormat: dtypeInfo(image.dtype).sampleFormat,
      littleEndian: this.littleEndian,
      photometric: image.photometric,
      ...(image.jpegTables ? { jpegTables: image.jpegTables } : {}),
      ...(image.lercParameters ? { lercParameters: image.lercParameters } : {}),
      where: `${this.url}: ${image.tiled ? 'tile' : 'strip'} ${r.col},${r.row} of IFD ${image.ifdIndex}`,
    };
  }

  /** Closes the source if this GeoTiff opened it from a URL; a ByteSource passed in stays the caller's. */
  async close(): Promise<void> {
    if (this.ownsSource) await this.source.close();
  }
}

/** Opens a GeoTIFF; see {@link GeoTiff.open}. */
export function openGeoTiff(target: string | ByteSource, options: OpenOptions = {}): Promise<GeoTiff> {
  return GeoTiff.open(target, options);
}

/** Where a block's pixels land in the window's output bands. */
function placementOf(image: TiffImage, r: BlockRead, bands: readonly number[], window: Window): BlockPlacement {
  return {
    dtype: image.dtype,
    spp: image.planar === 2 ? 1 : image.samplesPerPixel,
    blockX: r.col * image.blockWidth,
    blockY: r.row * image.blockHeight,
    blockWidth: image.blockWidth,
    x0: r.x0,
    y0: r.y0,
    x1: r.x1,
    y1: r.y1,
    windowX: window.x,
    windowY: window.y,
    windowWidth: window.width,
    samples: bands.map((band) => (r.plane < 0 ? band : r.plane === band ? 0 : -1)),
  };
}
