import type { BlockLayout } from './layout.js';
import { CorruptBlockError, UnsupportedCodecError } from './errors.js';
import { JPEG_MAX_SCANS, assembleJpeg } from './jpeg-stream.js';
import { decodeJpegRgba, loadJpeg } from './jpeg-wasm.js';

/**
 * New-style TIFF JPEG (compression 7) through libjpeg-turbo's decoder in WebAssembly (jpeg-wasm.ts),
 * so samples are the very bytes GDAL reads.
 *
 * Colour follows libtiff with JPEGCOLORMODE_RGB, as GDAL reads: three-sample Photometric YCbCr (6)
 * blocks are converted to RGB by libjpeg (its chroma upsampling and fixed-point arithmetic); any other
 * photometric is passed through untouched, whatever JFIF or Adobe markers the stream carries
 * (jpeg-stream.ts). One-sample blocks (grey, or one band of a band-interleaved file) are one component.
 *
 * Before libjpeg sees a byte, the frame header must fit the block: 8-bit, SOF0-2, one component per
 * sample, exactly the block's width and at least its height, so a hostile header cannot make the
 * decoder allocate more than the block implies; and, as in libtiff, fewer than 100 scans, so a hostile
 * progressive stream cannot keep it busy either.
 */

export { loadJpeg } from './jpeg-wasm.js';

/**
 * A frame may be taller than the block (a last strip written at full RowsPerStrip, which libtiff also
 * reads), but only up to 16 × the block's pixels or this many pixels, whichever is more.
 */
const TALL_FRAME_PIXELS = 2 ** 22;

/** The largest frame we hand the decoder: its RGBA output and working memory must fit its 2 GiB heap. */
const MAX_FRAME_PIXELS = 2 ** 27;

/** Decodes a JPEG block to width × height × samplesPerPixel bytes. Needs {@link loadJpeg} to have finished. */
export function jpegDecode(data: Uint8Array, layout: BlockLayout, expected: number): Uint8Array {
  const { where, width, height, samplesPerPixel: spp } = layout;
  if (layout.bytesPerSample !== 1 || layout.sampleFormat !== 1) {
    throw new UnsupportedCodecError(
      where,
      `JPEG blocks of ${layout.bytesPerSample}-byte samples (SampleFormat ${layout.sampleFormat}) are not supported; only 8-bit unsigned`,
    );
  }
  if (spp !== 1 && spp !== 3) {
    throw new UnsupportedCodecError(where, `JPEG blocks with ${spp} samples per pixel are not supported; only 1 or 3`);
  }
  const colour = spp === 3 && layout.photometric === 6 ? 'ycbcr' : 'as-is';
  const { stream, frame, scans } = assembleJpeg(data, layout.jpegTables, colour, where);
  if (frame.marker !== 0xc0 && frame.marker !== 0xc1 && frame.marker !== 0xc2) {
    throw new UnsupportedCodecError(
      where,
      `JPEG frame type SOF${frame.marker - 0xc0} is not supported; only baseline and progressive Huffman (SOF0-2)`,
    );
  }
  if (frame.precision !== 8) {
    throw new UnsupportedCodecError(where, `${frame.precision}-bit JPEG is not supported; only 8-bit`);
  }
  if (frame.components !== spp) {
    throw new CorruptBlockError(where, `JPEG stream has ${frame.components} component(s), but the block has ${spp} sample(s) per pixel`);
  }
  // Narrower or shorter than the block would leave samples undefined; taller is read as libtiff does,
  // keeping the rows the block has, within limits.
  const pixels = frame.width * frame.height;
  if (frame.width !== width || frame.height < height || (frame.height > height && pixels > Math.max(16 * width * height, TALL_FRAME_PIXELS))) {
    throw new CorruptBlockError(where, `JPEG stream is ${frame.width}x${frame.height} pixels, but the block is ${width}x${height}`);
  }
  if (pixels > MAX_FRAME_PIXELS) {
    throw new UnsupportedCodecError(where, `JPEG blocks over ${MAX_FRAME_PIXELS} pixels are not supported (this one is ${frame.width}x${frame.height})`);
  }
  if (scans >= JPEG_MAX_SCANS) {
    throw new CorruptBlockError(where, `JPEG stream has ${JPEG_MAX_SCANS} or more scans, where libtiff stops (LIBTIFF_JPEG_MAX_ALLOWED_SCAN_NUMBER)`);
  }

  const image = decodeJpegRgba(stream, where);
  if (image.width !== frame.width || image.height !== frame.height || image.data.length !== pixels * 4) {
    throw new CorruptBlockError(
      where,
      `JPEG stream decoded to ${image.width}x${image.height} pixels, but its frame header says ${frame.width}x${frame.height}`,
    );
  }
  const rgba = image.data;
  const out = new Uint8Array(expected);
  if (spp === 3) {
    for (let o = 0, i = 0; o < expected; o += 3, i += 4) {
      out[o] = rgba[i]!;
      out[o + 1] = rgba[i + 1]!;
      out[o + 2] = rgba[i + 2]!;
    }
  } else {
    for (let o = 0, i = 0; o < expected; o++, i += 4) out[o] = rgba[i]!;
  }
  return out;
}

/** {@link jpegDecode}, loading the decoder first if this thread has not yet. */
export async function jpegDecodeAsync(data: Uint8Array, layout: BlockLayout, expected: number): Promise<Uint8Array> {
  await loadJpeg();
  return jpegDecode(data, layout, expected);
}
