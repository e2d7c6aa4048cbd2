import * as Lerc from 'lerc';
import type { BlockLayout } from './layout.js';
import { CodecError, CorruptBlockError, UnsupportedCodecError, describeCause } from './errors.js';
import { inflate, inflateSync } from './deflate.js';
import { zstdDecompress } from './zstd.js';

/**
 * LERC (TIFF 34887) blocks, decoded the way libtiff's tif_lerc.c lays them out, since GDAL writes
 * through it:
 *
 * - one band with `samplesPerPixel` values per pixel (LERC "depth"), pixel-interleaved;
 * - 8-bit RGBA-like blocks whose last sample is an all-0/255 alpha: the alpha is the LERC validity mask
 *   and the blob holds one value fewer per pixel (we rebuild alpha as 255 × mask);
 * - float blocks: invalid (masked) pixels are NaN; libtiff built on liblerc ≥ 3 writes multi-sample
 *   float blocks whose NaNs differ between samples as `samplesPerPixel` bands with a mask each, which
 *   we interleave.
 *
 * The LercParameters tag may say the blob is further wrapped in DEFLATE or ZSTD. The blob's values are
 * in host order of the writer, and libtiff byte-swaps them like raw samples in big-endian files, so the
 * caller swaps our output for those files as for uncompressed data.
 */

/** LERC data type codes (blob header) for each TIFF (sampleFormat, bytesPerSample). */
function lercDataType(layout: BlockLayout): number {
  const { sampleFormat: sf, bytesPerSample: bps } = layout;
  if (sf === 3) return bps === 4 ? 6 : bps === 8 ? 7 : -1;
  // Signed types take the even codes (int8 0, int16 2, int32 4), unsigned the odd ones.
  const unsigned = sf === 2 ? 0 : 1;
  return bps === 1 ? unsigned : bps === 2 ? 2 + unsigned : bps === 4 ? 4 + unsigned : -1;
}

const LERC_TYPE_NAMES = ['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64'];

let loading: Promise<void> | undefined;

/** Loads the LERC WebAssembly module once; later calls return the same promise. */
export function loadLerc(): Promise<void> {
  loading ??= Lerc.load();
  return loading;
}

/** The largest unwrapped blob libtiff accepts for a block (its buffer: 256 + size + size/3). */
function blobLimit(expected: number): number {
  return 256 + expected + Math.ceil(expected / 3);
}

function wrapping(layout: BlockLayout): number {
  const extra = layout.lercParameters?.[1] ?? 0;
  if (extra !== 0 && extra !== 1 && extra !== 2) {
    throw new UnsupportedCodecError(
      layout.where,
      `LercParameters additional compression ${String(extra)} is not supported (0 none, 1 DEFLATE, 2 ZSTD)`,
    );
  }
  return extra;
}

/** Decodes a LERC block to `expected` bytes of host-order samples. Needs {@link loadLerc} to have finished. */
export function lercDecodeSync(data: Uint8Array, layout: BlockLayout, expected: number): Uint8Array {
  const extra = wrapping(layout);
  const limit = blobLimit(expected);
  const blob =
    extra === 1
      ? inflateSync(data, layout.where, { limit, truncate: false, what: "LERC's DEFLATE wrapper" })
      : extra === 2
        ? zstdDecompress(data, limit, layout.where, "LERC's ZSTD wrapper")
        : data;
  return decodeBlob(blob, layout, expected);
}

/** {@link lercDecodeSync}, loading the module first and inflating in the thread pool. */
export async function lercDecode(data: Uint8Array, layout: BlockLayout, expected: number): Promise<Uint8Array> {
  await loadLerc();
  const extra = wrapping(layout);
  if (extra !== 1) return lercDecodeSync(data, layout, expected);
  const blob = await inflate(data, layout.where, { limit: blobLimit(expected), truncate: false, what: "LERC's DEFLATE wrapper" });
  return decodeBlob(blob, layout, expected);
}

function decodeBlob(blob: Uint8Array, layout: BlockLayout, expected: number): Uint8Array {
  const { where, width, height, samplesPerPixel: spp } = layout;
  if (!Lerc.isLoaded()) {
    throw new CodecError('ERR_CODEC_NOT_LOADED', where, 'the LERC decoder is not loaded: await loadCodecs() once before decodeBlockSync()');
  }
  const type = lercDataType(layout);
  if (type < 0) {
    throw new UnsupportedCodecError(where, `LERC cannot hold ${layout.bytesPerSample}-byte samples of SampleFormat ${layout.sampleFormat}`);
  }
  let info: Lerc.LercHeaderInfo;
  try {
    // Reads only the header, so the checks below run before anything sized by the blob is allocated.
    info = Lerc.getBlobInfo(blob);
  } catch (err) {
    throw new CorruptBlockError(where, `LERC blob header is unreadable: ${describeCause(err)}`, { cause: err });
  }
  if (info.width !== width || info.height !== height) {
    throw new CorruptBlockError(where, `LERC blob is ${info.width}x${info.height} pixels, but the block is ${width}x${height}`);
  }
  if (info.dataType !== type) {
    throw new CorruptBlockError(
      where,
      `LERC blob holds ${LERC_TYPE_NAMES[info.dataType] ?? `type ${info.dataType}`}, but the block is ${LERC_TYPE_NAMES[type]}`,
    );
  }
  const float = layout.sampleFormat === 3;
  const depth = info.depthCount;
  const bands = info.bandCount;
  const alphaFromMask = type === 1 && spp > 1 && depth === spp - 1 && bands === 1;
  const bandPerSample = float && spp > 1 && depth === 1 && bands === spp;
  if (!alphaFromMask && !bandPerSample && !(depth === spp && bands === 1)) {
    throw new CorruptBlockError(
      where,
      `LERC blob has ${bands} band(s) of ${depth} value(s) per pixel, which does not fit ${spp} sample(s) per pixel`,
    );
  }

  let decoded: Lerc.LercData;
  try {
    decoded = Lerc.decode(blob, { returnInterleaved: true });
  } catch (err) {
    throw new CorruptBlockError(where, `LERC blob is corrupt: ${describeCause(err)}`, { cause: err });
  }

  const out = new Uint8Array(expected);
  const pixels = width * height;
  if (alphaFromMask) {
    const src = decoded.pixels[0] as Uint8Array;
    const mask = decoded.mask;
    for (let i = 0, s = 0, o = 0; i < pixels; i++) {
      for (let k = 1; k < spp; k++) out[o++] = src[s++]!;
      out[o++] = mask === null ? 255 : mask[i]! === 0 ? 0 : 255;
    }
    return out;
  }
  if (bandPerSample) {
    const target = float && layout.bytesPerSample === 4 ? new Float32Array(out.buffer) : new Float64Array(out.buffer);
    for (let b = 0; b < spp; b++) {
      const src = decoded.pixels[b]!;
      const mask = decoded.bandMasks?.[b] ?? decoded.mask;
      for (let i = 0, o = b; i < pixels; i++, o += spp) target[o] = mask !== null && mask[i] === 0 ? NaN : src[i]!;
    }
    return out;
  }
  const src = decoded.pixels[0]!;
  out.set(new Uint8Array(src.buffer, src.byteOffset, Math.min(src.byteLength, expected)));
  const mask = decoded.mask;
  if (float && mask !== null) {
    // libtiff marks invalid float pixels NaN; integer blocks keep what LERC wrote there (zero).
    const target = layout.bytesPerSample === 4 ? new Float32Array(out.buffer) : new Float64Array(out.buffer);
    for (let i = 0, o = 0; i < pixels; i++, o += spp) {
      if (mask[i] === 0) target.fill(NaN, o, o + spp);
    }
  }
  return out;
}
