import jpeg from 'jpeg-js';
import type { BlockLayout } from './layout.js';
import { CorruptBlockError, UnsupportedCodecError, describeCause } from './errors.js';
import { ycbcrToRgb } from './jpeg-ycbcr.js';

/**
 * New-style TIFF JPEG (compression 7) through jpeg-js. TIFF blocks are "abbreviated" JPEG streams:
 * the quantisation and Huffman tables usually live once in the JPEGTables tag (itself a tables-only
 * stream, SOI … EOI), so we splice the tables (without their EOI) in front of the block (without its
 * SOI) to get one ordinary stream, which is what libjpeg sees when libtiff feeds it both.
 *
 * Colour follows libtiff with JPEGCOLORMODE_RGB, as GDAL reads: Photometric YCbCr (6) blocks are
 * converted to RGB (with libjpeg's chroma upsampling and arithmetic, see jpeg-ycbcr.ts); any other
 * photometric is passed through untouched (no colour transform). jpeg-js's IDCT rounds slightly
 * differently from libjpeg's, so samples may differ from GDAL's by a unit or two.
 */

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;

/** The frame header fields we check before letting jpeg-js allocate anything. */
interface Frame {
  marker: number;
  precision: number;
  height: number;
  width: number;
  components: number;
  /** Horizontal and vertical sampling factors of each component, in frame order. */
  sampling: { h: number; v: number }[];
  /** An Adobe APP14 segment before the frame asks for a colour transform (jpeg-js then always applies one). */
  adobeTransform: boolean;
}

/** Tables + block as one stream. */
function splice(data: Uint8Array, tables: Uint8Array | undefined, where: string): Uint8Array {
  if (data.length < 4 || data[0] !== 0xff || data[1] !== SOI) {
    throw new CorruptBlockError(where, 'JPEG block does not start with an SOI marker (FF D8)');
  }
  if (tables === undefined || tables.length < 4) return data;
  if (tables[0] !== 0xff || tables[1] !== SOI) {
    throw new CorruptBlockError(where, 'JPEGTables tag does not start with an SOI marker (FF D8)');
  }
  const end = tables[tables.length - 2] === 0xff && tables[tables.length - 1] === EOI ? tables.length - 2 : tables.length;
  const merged = new Uint8Array(end + data.length - 2);
  merged.set(tables.subarray(0, end));
  merged.set(data.subarray(2), end);
  return merged;
}

/** Walks the marker segments up to the first scan and returns the frame header (SOFn). */
function readFrame(stream: Uint8Array, where: string): Frame {
  let p = 2;
  let adobeTransform = false;
  while (p + 4 <= stream.length) {
    if (stream[p] !== 0xff) throw new CorruptBlockError(where, `JPEG stream has no marker at byte ${p}`);
    const marker = stream[p + 1]!;
    if (marker === 0xff) {
      p++; // fill byte
      continue;
    }
    if (marker === SOI || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      p += 2; // markers without a length
      continue;
    }
    if (marker === SOS || marker === EOI) break;
    const length = (stream[p + 2]! << 8) | stream[p + 3]!;
    if (marker === 0xee && length >= 12 && p + 16 <= stream.length && String.fromCharCode(...stream.subarray(p + 4, p + 9)) === 'Adobe') {
      adobeTransform = stream[p + 15]! !== 0;
    }
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      if (p + 10 > stream.length) break;
      const components = stream[p + 9]!;
      const sampling: Frame['sampling'] = [];
      for (let i = 0, q = p + 10; i < components && q + 3 <= stream.length; i++, q += 3) {
        sampling.push({ h: stream[q + 1]! >> 4, v: stream[q + 1]! & 15 });
      }
      return {
        marker,
        precision: stream[p + 4]!,
        height: (stream[p + 5]! << 8) | stream[p + 6]!,
        width: (stream[p + 7]! << 8) | stream[p + 8]!,
        components,
        sampling,
        adobeTransform,
      };
    }
    p += 2 + length;
  }
  throw new CorruptBlockError(where, 'JPEG stream has no frame header (SOF marker) before its scan');
}

/** Decodes a JPEG block to width × height × samplesPerPixel bytes. */
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
  const stream = splice(data, layout.jpegTables, where);
  const frame = readFrame(stream, where);
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
  // Narrower or shorter than the block would leave samples undefined; taller (a padded last strip)
  // is harmless, we keep the rows the block has.
  if (frame.width !== width || frame.height < height) {
    throw new CorruptBlockError(where, `JPEG stream is ${frame.width}x${frame.height} pixels, but the block is ${width}x${height}`);
  }

  // YCbCr in the two samplings libtiff writes (2x2, GDAL's default, or none) is converted by us, the
  // libjpeg way; anything rarer is left to jpeg-js's own conversion, as is a stream with an Adobe
  // transform flag, which jpeg-js would convert anyway (converting twice would be wrong).
  const ycbcr = layout.photometric === 6 && spp === 3;
  const s = frame.sampling;
  const chroma11 = s.length === 3 && s[1]!.h === 1 && s[1]!.v === 1 && s[2]!.h === 1 && s[2]!.v === 1;
  const subsampled = chroma11 && s[0]!.h === 2 && s[0]!.v === 2;
  const ours = ycbcr && !frame.adobeTransform && chroma11 && (subsampled || (s[0]!.h === 1 && s[0]!.v === 1));

  let rgb: Uint8Array;
  try {
    rgb = jpeg.decode(stream, {
      useTArray: true,
      formatAsRGBA: false,
      colorTransform: ycbcr && !ours,
      tolerantDecoding: true,
      // The frame size is checked above; these bounds only keep jpeg-js's own limits from getting in
      // the way of big blocks while still capping what a hostile stream can make it allocate.
      maxResolutionInMP: Math.ceil((frame.width * frame.height) / 1e6) + 1,
      maxMemoryUsageInMB: Math.ceil((frame.width * frame.height * 16) / 2 ** 20) + 16,
    }).data;
  } catch (err) {
    throw new CorruptBlockError(where, `JPEG stream is corrupt: ${describeCause(err)}`, { cause: err });
  }
  if (ours) ycbcrToRgb(rgb, frame.width, frame.height, subsampled);
  // jpeg-js always returns three channels (grey replicated), row by row at the frame's width.
  if (spp === 3) return rgb.length === expected ? rgb : rgb.slice(0, expected);
  const out = new Uint8Array(expected);
  for (let i = 0, j = 0; i < expected; i++, j += 3) out[i] = rgb[j]!;
  return out;
}
