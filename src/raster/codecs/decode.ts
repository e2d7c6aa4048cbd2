import { HOST_IS_LITTLE_ENDIAN, swapInPlace } from './byteswap.js';
import { CorruptBlockError, UnsupportedCodecError } from './errors.js';
import { inflate, inflateSync } from './deflate.js';
import { jpegDecode, jpegDecodeAsync } from './jpeg.js';
import { Compression, DECODABLE, checkLayout, checkPredictor, compressionName, usesPredictor, type BlockLayout } from './layout.js';
import { lercDecode, lercDecodeSync } from './lerc.js';
import { lzwDecode } from './lzw.js';
import { packBitsDecode } from './packbits.js';
import { undoFloatingPoint, undoHorizontal } from './predictor.js';
import { zstdDecompress } from './zstd.js';

/**
 * Decoding is three steps: check the layout (and so the block size), decompress to at most that
 * many bytes, then turn the bytes into little-endian samples (byte swap, predictor). Only the middle
 * step differs between the async and sync entry points.
 */

/** Checks everything about the layout that does not need the data; returns the block size in bytes. */
function plan(layout: BlockLayout): number {
  if (!HOST_IS_LITTLE_ENDIAN) {
    throw new UnsupportedCodecError(layout.where, 'this host is big-endian; the codecs produce little-endian samples through host-order typed arrays');
  }
  const expected = checkLayout(layout);
  if (usesPredictor(layout.compression)) checkPredictor(layout);
  return expected;
}

function unsupported(layout: BlockLayout): UnsupportedCodecError {
  const c = layout.compression;
  const detail =
    c === Compression.OJpeg
      ? 'old-style JPEG (6) is obsolete and ambiguous; convert the file (e.g. gdal_translate -co COMPRESS=JPEG)'
      : `${compressionName(c)} is not supported`;
  return new UnsupportedCodecError(layout.where, `${detail}; supported compressions: ${DECODABLE}`);
}

function decompressSync(data: Uint8Array, layout: BlockLayout, expected: number): Uint8Array {
  switch (layout.compression) {
    case Compression.None:
      return data;
    case Compression.Lzw:
      return lzwDecode(data, expected, layout.where);
    case Compression.Deflate:
    case Compression.DeflateObsolete:
      return inflateSync(data, layout.where, { limit: expected, truncate: true, what: 'DEFLATE' });
    case Compression.PackBits:
      return packBitsDecode(data, expected);
    case Compression.Zstd:
      return zstdDecompress(data, expected, layout.where);
    case Compression.Lerc:
      return lercDecodeSync(data, layout, expected);
    case Compression.Jpeg:
      return jpegDecode(data, layout, expected);
    default:
      throw unsupported(layout);
  }
}

async function decompress(data: Uint8Array, layout: BlockLayout, expected: number): Promise<Uint8Array> {
  switch (layout.compression) {
    case Compression.Deflate:
    case Compression.DeflateObsolete:
      return inflate(data, layout.where, { limit: expected, truncate: true, what: 'DEFLATE' });
    case Compression.Lerc:
      return lercDecode(data, layout, expected);
    case Compression.Jpeg:
      return jpegDecodeAsync(data, layout, expected);
    default:
      return decompressSync(data, layout, expected);
  }
}

/**
 * Turns decompressed bytes into the block's little-endian samples. `raw` may be longer than the block
 * (we keep the first `expected` bytes, as libtiff does) but not shorter.
 */
function finish(raw: Uint8Array, data: Uint8Array, layout: BlockLayout, expected: number): Uint8Array {
  if (raw.length < expected) {
    throw new CorruptBlockError(
      layout.where,
      `${compressionName(layout.compression)} block of ${data.length} bytes decodes to ${raw.length} bytes, but ` +
        `${layout.width}x${layout.height} pixels x ${layout.samplesPerPixel} samples x ${layout.bytesPerSample} bytes need ${expected} ` +
        `(short by ${expected - raw.length})`,
    );
  }
  // The result must own its memory: the swaps and predictors below work in place (and must not touch
  // the caller's `data`), typed-array views need alignment, and callers may transfer the buffer to
  // another thread.
  const owns = raw !== data && raw.byteOffset === 0 && raw.byteLength === expected && raw.buffer.byteLength === expected;
  // (Plain Uint8Arrays even when zlib hands us a Buffer, whose slice() does not copy.)
  const out = owns ? new Uint8Array(raw.buffer, 0, expected) : new Uint8Array(raw.subarray(0, expected));
  if (usesPredictor(layout.compression) && layout.predictor === 3) {
    // Byte planes are stored most significant first whatever the file's order: the result is already
    // little-endian, and swapping now would break it (libtiff disables its post-decode swab here too).
    undoFloatingPoint(out, layout);
    return out;
  }
  if (!layout.littleEndian) swapInPlace(out, layout.bytesPerSample);
  if (usesPredictor(layout.compression) && layout.predictor === 2) undoHorizontal(out, layout);
  return out;
}

/**
 * Decodes one block synchronously. For worker threads, where the zlib thread pool gains nothing.
 * LERC and JPEG blocks need `await loadCodecs()` once beforehand.
 */
export function decodeBlockSync(data: Uint8Array, layout: BlockLayout): Uint8Array {
  const expected = plan(layout);
  return finish(decompressSync(data, layout, expected), data, layout, expected);
}

/** Decodes one block; DEFLATE runs in the libuv thread pool, so concurrent calls inflate in parallel. */
export async function decodeBlock(data: Uint8Array, layout: BlockLayout): Promise<Uint8Array> {
  const expected = plan(layout);
  return finish(await decompress(data, layout, expected), data, layout, expected);
}
