/**
 * TIFF block codecs: turn one compressed tile or strip into little-endian samples, and back.
 *
 * The contract, for the TIFF reader and the COG writer:
 *
 * - {@link decodeBlock} / {@link decodeBlockSync} take the block's bytes as stored in the file and a
 *   {@link BlockLayout} built from the IFD, and return exactly
 *   `width × height × samplesPerPixel × bytesPerSample` bytes of **little-endian** samples, pixel- (or,
 *   for planar files, band-) interleaved as the block is, predictor undone. The result owns its
 *   ArrayBuffer (offset 0, exact length), so it can be viewed as a typed array or transferred to
 *   another thread. The input is never modified.
 * - {@link encodeBlock} / {@link encodeBlockSync} take exactly that many bytes of little-endian samples
 *   and return the block as the file stores it (predictor applied, the layout's byte order),
 *   compressed with none (1), LZW (5), DEFLATE (8, or 32946) or ZSTD (50000); `level` sets DEFLATE 1..9
 *   or ZSTD 1..22 effort. The input is never modified.
 * - Decoding reads none (1), LZW (5), JPEG (7), DEFLATE (8, 32946), PackBits (32773), LERC (34887) and
 *   ZSTD (50000). Old-style JPEG (6) and anything else throw {@link UnsupportedCodecError} naming the
 *   compression, what we support, and the block.
 * - As in libtiff, the Predictor tag is honoured only for LZW, DEFLATE and ZSTD (the codecs libtiff
 *   wires to its predictor); other compressions ignore it. Predictor 3 requires float samples.
 * - Size policy, libtiff's: a block that decodes to **fewer** bytes than the layout needs throws
 *   {@link CorruptBlockError} (it says by how much); **extra** output is dropped. Nothing is allocated
 *   beyond what the layout implies (DEFLATE's one exception: a stream that overflows the block is
 *   re-inflated with a bound of 16 × the block size, then truncated, because zlib cannot stop at a
 *   byte count).
 * - Every error is a {@link CodecError} whose message starts with `layout.where`.
 * - JPEG blocks decode through libjpeg-turbo (as mozjpeg, in WebAssembly), so their samples are the
 *   bytes GDAL reads; YCbCr blocks come back as RGB, as GDAL reads them.
 * - The async entry points run DEFLATE in the libuv thread pool (parallel across concurrent calls) and
 *   load the LERC and JPEG WebAssembly on first use. The sync ones suit worker threads; call
 *   `await loadCodecs()` once per thread before decoding LERC or JPEG with them (they throw a
 *   {@link CodecError} with code `ERR_CODEC_NOT_LOADED` otherwise).
 */
import { loadJpeg } from './jpeg.js';
import { loadLerc } from './lerc.js';

export { decodeBlock, decodeBlockSync } from './decode.js';
export { encodeBlock, encodeBlockSync, type EncodeSettings } from './encode.js';
export { DEFLATE_STRATEGIES, type DeflateStrategy } from './deflate.js';
export { Compression, compressionName, type BlockLayout, type EncodeLayout } from './layout.js';
export { BlockLayoutError, CodecError, CorruptBlockError, UnsupportedCodecError } from './errors.js';

/** Loads the codecs that need asynchronous set-up (the LERC and JPEG WebAssembly). Idempotent; call once per thread. */
export async function loadCodecs(): Promise<void> {
  await Promise.all([loadLerc(), loadJpeg()]);
}
