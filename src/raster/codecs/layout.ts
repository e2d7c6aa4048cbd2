import { constants as bufferConstants } from 'node:buffer';
import { BlockLayoutError, UnsupportedCodecError } from './errors.js';

/** TIFF Compression tag (259) values this package knows by name. */
export const Compression = {
  None: 1,
  Lzw: 5,
  /** Old-style JPEG (TIFF 6.0 section 22); obsolete and ambiguous, never decoded. */
  OJpeg: 6,
  Jpeg: 7,
  Deflate: 8,
  PackBits: 32773,
  /** The obsolete private DEFLATE code; the same zlib stream as 8. */
  DeflateObsolete: 32946,
  Lerc: 34887,
  Zstd: 50000,
} as const;

/** Names of TIFF compressions, for error messages about the ones we do not handle. */
const COMPRESSION_NAMES: Readonly<Record<number, string>> = {
  1: 'none',
  2: 'CCITT RLE',
  3: 'CCITT Group 3 fax',
  4: 'CCITT Group 4 fax',
  5: 'LZW',
  6: 'old-style JPEG',
  7: 'JPEG',
  8: 'DEFLATE',
  32773: 'PackBits',
  32946: 'DEFLATE (obsolete code)',
  34676: 'SGILOG',
  34677: 'SGILOG24',
  34712: 'JPEG 2000',
  34887: 'LERC',
  34892: 'lossy JPEG (DNG)',
  34925: 'LZMA',
  50000: 'ZSTD',
  50001: 'WebP',
  50002: 'JPEG XL (draft code)',
  52546: 'JPEG XL',
};

/** What the decoder supports, in words, for error messages. */
export const DECODABLE = 'none (1), LZW (5), JPEG (7), DEFLATE (8, 32946), PackBits (32773), LERC (34887), ZSTD (50000)';
/** What the encoder supports, in words, for error messages. */
export const ENCODABLE = 'none (1), LZW (5), DEFLATE (8, 32946), ZSTD (50000)';

/** `"LZW (5)"`, or `"unknown compression 12345"`. */
export function compressionName(code: number): string {
  const name = COMPRESSION_NAMES[code];
  return name === undefined ? `unknown compression ${code}` : `${name} (${code})`;
}

/** How one TIFF block (tile or strip) is stored; the TIFF parser fills this from the IFD's tags. */
export interface BlockLayout {
  /**
   * TIFF Compression tag value: 1 none, 5 LZW, 7 JPEG (new-style), 8 and 32946 DEFLATE, 32773 PackBits,
   * 34887 LERC, 50000 ZSTD. Old-style JPEG (6) and everything else are rejected with
   * {@link UnsupportedCodecError}.
   */
  compression: number;
  /**
   * TIFF Predictor: 1 none, 2 horizontal differencing, 3 floating point. As in libtiff, only LZW,
   * DEFLATE and ZSTD blocks use it; for the other compressions the tag is ignored.
   */
  predictor: number;
  /** Block width in pixels (a tile's width, or the image width for a strip). */
  width: number;
  /** Block height in pixels: the tile height, or the real row count of this strip (the last one may be shorter). */
  height: number;
  /** Samples per pixel in this block: all bands when pixel-interleaved (chunky), 1 when band-interleaved (planar). */
  samplesPerPixel: number;
  /** Bytes per sample: 1, 2, 4 or 8. */
  bytesPerSample: number;
  /** TIFF SampleFormat: 1 unsigned integer, 2 signed integer, 3 IEEE float. */
  sampleFormat: number;
  /** True when the file is little-endian (`II`), false for big-endian (`MM`). */
  littleEndian: boolean;
  /** JPEGTables tag (347) content, when present: the quantisation and Huffman tables shared by all blocks. */
  jpegTables?: Uint8Array | undefined;
  /** PhotometricInterpretation (262); 6 (YCbCr) JPEG blocks are converted to RGB, like libtiff's JPEGCOLORMODE_RGB. */
  photometric?: number | undefined;
  /** LercParameters tag (50674): [LERC version, additional compression 0 none / 1 DEFLATE / 2 ZSTD]. */
  lercParameters?: readonly number[] | undefined;
  /** The file URL and which block, for error messages, e.g. `s3://b/x.tif: tile 3,4 of IFD 0`. */
  where: string;
}

/** A block layout plus the compression effort to spend when encoding. */
export interface EncodeLayout extends BlockLayout {
  /**
   * Compression level: DEFLATE 1 (fast) to 9 (small), ZSTD 1 to 22; ignored by LZW and none.
   * @defaultValue 6 for DEFLATE (zlib's default), 9 for ZSTD (GDAL's ZSTD_LEVEL default)
   */
  level?: number | undefined;
}

/** Largest block we will allocate: what one Node Buffer can hold. */
const MAX_BLOCK_BYTES = bufferConstants.MAX_LENGTH;

/**
 * Checks the fields every codec relies on and returns the decoded block size in bytes
 * (width × height × samplesPerPixel × bytesPerSample). Throws {@link BlockLayoutError} naming the
 * field and value.
 */
export function checkLayout(layout: BlockLayout): number {
  const where = typeof layout.where === 'string' && layout.where !== '' ? layout.where : '(unnamed block)';
  const positive = (name: keyof BlockLayout, value: unknown): void => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw new BlockLayoutError(where, `layout.${name} must be a positive integer (got ${String(value)})`);
    }
  };
  positive('width', layout.width);
  positive('height', layout.height);
  positive('samplesPerPixel', layout.samplesPerPixel);
  const bps = layout.bytesPerSample;
  if (bps !== 1 && bps !== 2 && bps !== 4 && bps !== 8) {
    throw new UnsupportedCodecError(where, `layout.bytesPerSample must be 1, 2, 4 or 8 (got ${String(bps)}); sub-byte and 24-bit samples are not supported`);
  }
  const sf = layout.sampleFormat;
  if (sf !== 1 && sf !== 2 && sf !== 3) {
    throw new UnsupportedCodecError(where, `layout.sampleFormat must be 1 (uint), 2 (int) or 3 (float) (got ${String(sf)})`);
  }
  if (sf === 3 && bps === 1) {
    throw new UnsupportedCodecError(where, 'layout.sampleFormat 3 (float) needs 2, 4 or 8 bytes per sample (got 1)');
  }
  const p = layout.predictor;
  if (p !== 1 && p !== 2 && p !== 3) {
    throw new UnsupportedCodecError(where, `layout.predictor must be 1 (none), 2 (horizontal) or 3 (floating point) (got ${String(p)})`);
  }
  if (typeof layout.littleEndian !== 'boolean') {
    throw new BlockLayoutError(where, `layout.littleEndian must be a boolean (got ${String(layout.littleEndian)})`);
  }
  const bytes = layout.width * layout.height * layout.samplesPerPixel * bps;
  if (!Number.isSafeInteger(bytes) || bytes > MAX_BLOCK_BYTES) {
    throw new UnsupportedCodecError(
      where,
      `block of ${layout.width}x${layout.height}x${layout.samplesPerPixel} samples of ${bps} bytes is larger than the ${MAX_BLOCK_BYTES}-byte limit`,
    );
  }
  return bytes;
}

/** True for the compressions whose blocks go through the TIFF predictor (libtiff's TIFFPredictorInit users). */
export function usesPredictor(compression: number): boolean {
  return (
    compression === Compression.Lzw ||
    compression === Compression.Deflate ||
    compression === Compression.DeflateObsolete ||
    compression === Compression.Zstd
  );
}

/** Throws unless the predictor fits the samples: floating point prediction needs float samples, as in libtiff. */
export function checkPredictor(layout: BlockLayout): void {
  if (layout.predictor === 3 && layout.sampleFormat !== 3) {
    throw new UnsupportedCodecError(
      layout.where,
      `predictor 3 (floating point) needs float samples (SampleFormat 3), got SampleFormat ${layout.sampleFormat}`,
    );
  }
}
