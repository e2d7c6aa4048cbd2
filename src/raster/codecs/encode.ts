import { HOST_IS_LITTLE_ENDIAN, swapInPlace } from './byteswap.js';
import { BlockLayoutError, UnsupportedCodecError } from './errors.js';
import { DEFAULT_DEFLATE_LEVEL, checkDeflateLevel, checkDeflateStrategy, deflate, deflateSync, type DeflateStrategy } from './deflate.js';
import { Compression, ENCODABLE, checkLayout, checkPredictor, compressionName, type EncodeLayout } from './layout.js';
import { lzwEncode } from './lzw.js';
import { applyFloatingPoint, applyHorizontal } from './predictor.js';
import { DEFAULT_ZSTD_LEVEL, checkZstdLevel, zstdCompress } from './zstd.js';

/**
 * Encoding mirrors decoding: check the layout, turn the caller's little-endian samples into the
 * file's representation (predictor, byte order) in a private copy, then compress. Only DEFLATE has an
 * async form worth having (zlib's thread pool); the rest run inline.
 */

/** An {@link EncodeLayout} plus how DEFLATE should spend its effort. */
export interface EncodeSettings extends EncodeLayout {
  /**
   * 'default' keeps DEFLATE files within 1.05× of GDAL's at the same level (level 9 aside); 'fast'
   * uses zlib's run-length strategy on predicted blocks up to level 6 (about 3 times faster on imagery,
   * but 2 to 4 times GDAL's size on blocky data); see `deflateOptions`. Ignored by the other
   * compressions. @defaultValue 'default'
   */
  deflateStrategy?: DeflateStrategy | undefined;
}

/** The compression to run and its level, after every check. */
interface EncodePlan {
  compression: number;
  level: number;
  /** True when a predictor is applied before compression (DEFLATE picks its strategy by it). */
  predicted: boolean;
  /** Bytes per sample (DEFLATE picks its strategy by it too). */
  bytesPerSample: number;
  deflateStrategy: DeflateStrategy;
}

function plan(samples: Uint8Array, layout: EncodeSettings): EncodePlan {
  const { where } = layout;
  if (!HOST_IS_LITTLE_ENDIAN) {
    throw new UnsupportedCodecError(where, 'this host is big-endian; the codecs read little-endian samples through host-order typed arrays');
  }
  const expected = checkLayout(layout);
  if (samples.length !== expected) {
    throw new BlockLayoutError(
      where,
      `samples hold ${samples.length} bytes, but ${layout.width}x${layout.height} pixels x ${layout.samplesPerPixel} samples x ` +
        `${layout.bytesPerSample} bytes need ${expected}`,
    );
  }
  const c = layout.compression;
  const rest = { predicted: layout.predictor !== 1, bytesPerSample: layout.bytesPerSample, deflateStrategy: 'default' as const };
  switch (c) {
    case Compression.None:
      if (layout.predictor !== 1) {
        // libtiff never undoes a predictor on uncompressed blocks, so GDAL would read the differences.
        throw new UnsupportedCodecError(where, `predictor ${layout.predictor} needs a compression; libtiff ignores it on uncompressed blocks`);
      }
      return { ...rest, compression: c, level: 0 };
    case Compression.Lzw:
      checkPredictor(layout);
      return { ...rest, compression: c, level: 0 };
    case Compression.Deflate:
    case Compression.DeflateObsolete: {
      checkPredictor(layout);
      const level = layout.level ?? DEFAULT_DEFLATE_LEVEL;
      checkDeflateLevel(level, where);
      checkDeflateStrategy(layout.deflateStrategy, where);
      return { ...rest, compression: c, level, deflateStrategy: layout.deflateStrategy ?? 'default' };
    }
    case Compression.Zstd: {
      checkPredictor(layout);
      const level = layout.level ?? DEFAULT_ZSTD_LEVEL;
      checkZstdLevel(level, where);
      return { ...rest, compression: c, level };
    }
    default:
      throw new UnsupportedCodecError(where, `cannot encode ${compressionName(c)}; supported: ${ENCODABLE}`);
  }
}

/** A copy of `samples` as the file stores them before compression: predictor applied, file byte order. */
function prepare(samples: Uint8Array, layout: EncodeLayout): Uint8Array {
  // A fresh buffer: aligned for typed-array views, and the caller's samples stay untouched.
  const bytes = new Uint8Array(samples.length);
  bytes.set(samples);
  if (layout.predictor === 3) {
    // Byte planes are stored most significant first whatever the file's byte order: no swap.
    applyFloatingPoint(bytes, layout);
    return bytes;
  }
  if (layout.predictor === 2) applyHorizontal(bytes, layout);
  if (!layout.littleEndian) swapInPlace(bytes, layout.bytesPerSample);
  return bytes;
}

function compressSync(bytes: Uint8Array, p: EncodePlan): Uint8Array {
  switch (p.compression) {
    case Compression.Lzw:
      return lzwEncode(bytes);
    case Compression.Deflate:
    case Compression.DeflateObsolete:
      return owned(deflateSync(bytes, p.level, p, p.deflateStrategy));
    case Compression.Zstd:
      return zstdCompress(bytes, p.level);
    default:
      return bytes;
  }
}

/**
 * zlib's Buffers may be views of a larger chunk or a shared pool; callers may transfer the result, so
 * give it memory of its own (with `new Uint8Array(...)`: a Buffer's `slice()` would not copy).
 */
function owned(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength
    ? new Uint8Array(bytes.buffer, 0, bytes.byteLength)
    : new Uint8Array(bytes);
}

/** Encodes one block synchronously, for worker threads. */
export function encodeBlockSync(samples: Uint8Array, layout: EncodeSettings): Uint8Array {
  const p = plan(samples, layout);
  return compressSync(prepare(samples, layout), p);
}

/** Encodes one block; DEFLATE runs in the libuv thread pool, so concurrent calls compress in parallel. */
export async function encodeBlock(samples: Uint8Array, layout: EncodeSettings): Promise<Uint8Array> {
  const p = plan(samples, layout);
  const bytes = prepare(samples, layout);
  if (p.compression === Compression.Deflate || p.compression === Compression.DeflateObsolete) {
    return owned(await deflate(bytes, p.level, p, p.deflateStrategy));
  }
  return compressSync(bytes, p);
}
