import { dtypeFromTiff, dtypeInfo, type DType } from '../dtype.js';
import { TiffError, TiffUnsupportedError } from '../errors.js';
import type { Ifd, TagValue } from './ifd.js';
import { Compression, Tag, compressionName } from './tags.js';

/** Largest decoded block (tile or strip) we accept: a file claiming more is refused before allocating. */
export const MAX_BLOCK_BYTES = 512 * 1024 * 1024;

/** Largest JPEGTables we accept; real ones are well under 1 KB, and they travel with every block. */
const MAX_JPEG_TABLES_BYTES = 64 * 1024;

/**
 * Most bytes one stored block may hold compared with what it decodes to: every codec we read stays far
 * below this on real data, and a larger count only makes us fetch (and a decoder chew) bytes for nothing.
 */
const MAX_STORED_RATIO = 4;
const MIN_STORED_ALLOWANCE = 1024 * 1024;

/** One image of a TIFF (the full resolution, an overview or a mask), checked and ready to read. */
export interface TiffImage {
  /** Position of its IFD in the file. */
  ifdIndex: number;
  /** Byte offset of its IFD. */
  ifdOffset: number;
  width: number;
  height: number;
  /** Samples per pixel, which GDAL presents as bands. */
  samplesPerPixel: number;
  dtype: DType;
  /** 1: pixel-interleaved (chunky); 2: band-interleaved (planar). */
  planar: 1 | 2;
  tiled: boolean;
  /** Block (tile, or strip: image width × RowsPerStrip) size in pixels. */
  blockWidth: number;
  blockHeight: number;
  blocksAcross: number;
  blocksDown: number;
  /** Byte offset and byte count of every block, band-major for planar images. */
  offsets: Float64Array;
  byteCounts: Float64Array;
  /** TIFF Compression and Predictor tag values. */
  compression: number;
  predictor: number;
  photometric: number;
  /** GDAL's name for the compression, e.g. `DEFLATE` or `YCbCr JPEG`. */
  compressionName: string;
  jpegTables: Uint8Array | undefined;
  lercParameters: number[] | undefined;
  /** NewSubfileType: bit 0 reduced resolution (overview), bit 2 transparency mask. */
  subfileType: number;
  /** GDAL_NODATA, parsed; null when absent. */
  nodata: number | null;
  /** All loaded tags, for the georeferencing read by the dataset layer. */
  tags: Map<number, TagValue>;
}

function numbers(tags: Map<number, TagValue>, tag: number): Float64Array | undefined {
  const v = tags.get(tag);
  return v instanceof Float64Array ? v : undefined;
}

function single(tags: Map<number, TagValue>, tag: number, fallback: number): number {
  const v = numbers(tags, tag);
  return v !== undefined && v.length > 0 ? (v[0] as number) : fallback;
}

/** Parses GDAL_NODATA's text the way GDAL does: a number, `nan`, `inf` or `-inf`. */
export function parseNodata(text: string | undefined): number | null {
  if (text === undefined) return null;
  const t = text.trim().toLowerCase();
  if (t === '') return null;
  if (t === 'nan' || t === '-nan') return Number.NaN;
  if (t === 'inf' || t === '+inf') return Number.POSITIVE_INFINITY;
  if (t === '-inf') return Number.NEGATIVE_INFINITY;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

/** NewSubfileType of an IFD: bit 0 reduced resolution, bit 2 transparency mask. */
export function subfileTypeOf(ifd: Ifd): number {
  return single(ifd.tags, Tag.NewSubfileType, 0);
}

/** Checks an IFD's tags for consistency against a file of `fileSize` bytes, and derives the block geometry. */
export function describeImage(url: string, ifd: Ifd, fileSize: number): TiffImage {
  const tags = ifd.tags;
  const where = `IFD ${ifd.index}`;
  const width = single(tags, Tag.ImageWidth, 0);
  const height = single(tags, Tag.ImageLength, 0);
  if (!(width >= 1 && height >= 1) || !Number.isInteger(width) || !Number.isInteger(height)) {
    throw new TiffError(url, `${where} has an invalid size ${width}×${height}`);
  }
  const spp = single(tags, Tag.SamplesPerPixel, 1);
  if (!Number.isInteger(spp) || spp < 1 || spp > 65535) throw new TiffError(url, `${where} has ${spp} samples per pixel`);
  const bits = numbers(tags, Tag.BitsPerSample) ?? Float64Array.of(1);
  const bps = bits[0] as number;
  for (const b of bits) {
    if (b !== bps) throw new TiffUnsupportedError(url, `${where} mixes bits per sample (${[...bits].join(', ')})`);
  }
  const formats = numbers(tags, Tag.SampleFormat) ?? Float64Array.of(1);
  const format = formats[0] as number;
  const dtype = dtypeFromTiff(bps, format);
  if (dtype === undefined) {
    throw new TiffUnsupportedError(url, `${where} has ${bps}-bit samples of SampleFormat ${format}, which we do not read`);
  }
  const planarTag = single(tags, Tag.PlanarConfiguration, 1);
  if (planarTag !== 1 && planarTag !== 2) throw new TiffError(url, `${where} has PlanarConfiguration ${planarTag}`);
  const planar = spp === 1 ? 1 : (planarTag as 1 | 2);
  const compression = single(tags, Tag.Compression, Compression.None);
  const photometric = single(tags, Tag.Photometric, 1);
  const predictor = single(tags, Tag.Predictor, 1);
  if (predictor !== 1 && predictor !== 2 && predictor !== 3) {
    throw new TiffUnsupportedError(url, `${where} uses Predictor ${predictor}`);
  }
  if (photometric === 6 && compression !== Compression.Jpeg) {
    throw new TiffUnsupportedError(url, `${where} stores raw YCbCr, which we read only inside JPEG`);
  }

  const tiled = tags.has(Tag.TileWidth) || tags.has(Tag.TileOffsets);
  let blockWidth: number;
  let blockHeight: number;
  let offsets: Float64Array | undefined;
  let byteCounts: Float64Array | undefined;
  if (tiled) {
    blockWidth = single(tags, Tag.TileWidth, 0);
    blockHeight = single(tags, Tag.TileLength, 0);
    offsets = numbers(tags, Tag.TileOffsets);
    byteCounts = numbers(tags, Tag.TileByteCounts);
  } else {
    blockWidth = width;
    const rps = single(tags, Tag.RowsPerStrip, height);
    blockHeight = Math.min(rps, height);
    offsets = numbers(tags, Tag.StripOffsets);
    byteCounts = numbers(tags, Tag.StripByteCounts);
  }
  const kind = tiled ? 'tile' : 'strip';
  if (!(blockWidth >= 1 && blockHeight >= 1) || !Number.isInteger(blockWidth) || !Number.isInteger(blockHeight)) {
    throw new TiffError(url, `${where} has an invalid ${kind} size ${blockWidth}×${blockHeight}`);
  }
  const samplesPerBlock = planar === 2 ? 1 : spp;
  const blockBytes = blockWidth * blockHeight * samplesPerBlock * dtypeInfo(dtype).bytes;
  if (blockBytes > MAX_BLOCK_BYTES) {
    throw new TiffError(
      url,
      `${where} has ${blockWidth}×${blockHeight} ${kind}s of ${blockBytes} bytes each, more than the ${MAX_BLOCK_BYTES}-byte limit`,
    );
  }
  const blocksAcross = Math.ceil(width / blockWidth);
  const blocksDown = Math.ceil(height / blockHeight);
  const expected = blocksAcross * blocksDown * (planar === 2 ? spp : 1);
  if (offsets === undefined || byteCounts === undefined) {
    throw new TiffError(url, `${where} has no ${kind} offsets or byte counts`);
  }
  if (offsets.length !== expected || byteCounts.length !== expected) {
    throw new TiffError(
      url,
      `${where} is ${width}×${height} in ${blockWidth}×${blockHeight} ${kind}s, so it needs ${expected} ${kind}s, but lists ${offsets.length} offsets and ${byteCounts.length} byte counts`,
    );
  }
  const maxStored = Math.max(blockBytes * MAX_STORED_RATIO, MIN_STORED_ALLOWANCE);
  for (let i = 0; i < expected; i++) {
    const offset = offsets[i]!;
    const count = byteCounts[i]!;
    const sparse = offset === 0 || count === 0;
    const valid = Number.isSafeInteger(offset) && Number.isSafeInteger(count) && offset >= 0 && count >= 0;
    if (!valid || (!sparse && (offset + count > fileSize || count > maxStored))) {
      throw new TiffError(
        url,
        `${where} ${kind} ${i} claims ${count} bytes at offset ${offset}, ` +
          (valid && offset + count > fileSize ? `past the end of the file (${fileSize} bytes)` : `which no ${blockBytes}-byte ${kind} can need`),
      );
    }
  }
  const jpegTag = tags.get(Tag.JPEGTables);
  const jpeg = jpegTag instanceof Float64Array ? Uint8Array.from(jpegTag) : jpegTag;
  if (jpeg instanceof Uint8Array && jpeg.byteLength > MAX_JPEG_TABLES_BYTES) {
    throw new TiffError(url, `${where} has ${jpeg.byteLength} bytes of JPEGTables, more than the ${MAX_JPEG_TABLES_BYTES}-byte limit`);
  }
  const lerc = numbers(tags, Tag.LercParameters);
  const nodataTag = tags.get(Tag.GdalNodata);
  return {
    ifdIndex: ifd.index,
    ifdOffset: ifd.offset,
    width,
    height,
    samplesPerPixel: spp,
    dtype,
    planar,
    tiled,
    blockWidth,
    blockHeight,
    blocksAcross,
    blocksDown,
    offsets,
    byteCounts,
    compression,
    predictor,
    photometric,
    compressionName: compressionName(compression, photometric),
    jpegTables: jpeg instanceof Uint8Array ? jpeg : undefined,
    lercParameters: lerc === undefined ? undefined : [...lerc],
    subfileType: single(tags, Tag.NewSubfileType, 0),
    nodata: parseNodata(typeof nodataTag === 'string' ? nodataTag : undefined),
    tags,
  };
}
