import { viewAs, type DType, type TypedArray } from './dtype.js';

/**
 * Where a decoded block's pixels go in a window read: plain data, so it can travel to a codec thread
 * that decodes the block and copies it straight into shared output memory.
 */
export interface BlockPlacement {
  dtype: DType;
  /** Samples per pixel in the block (1 for band-interleaved files). */
  spp: number;
  /** Block origin in image pixels, and its row length in pixels. */
  blockX: number;
  blockY: number;
  blockWidth: number;
  /** The part of the image to copy (image pixels, end exclusive). */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Window origin and width in image pixels: the layout of every output band. */
  windowX: number;
  windowY: number;
  windowWidth: number;
  /** For each output band, the block sample it takes, or -1 when this block does not hold it. */
  samples: number[];
}

/** Copies the placed part of a decoded block (little-endian samples) into the output bands. */
export function copyBlock(decoded: Uint8Array | TypedArray, p: BlockPlacement, out: readonly TypedArray[]): void {
  const src = decoded instanceof Uint8Array && p.dtype !== 'Byte' ? viewAs(p.dtype, decoded) : (decoded as TypedArray);
  const w = p.x1 - p.x0;
  p.samples.forEach((sample, i) => {
    if (sample < 0) return;
    const dst = out[i]!;
    for (let y = p.y0; y < p.y1; y++) {
      const d = (y - p.windowY) * p.windowWidth + (p.x0 - p.windowX);
      const s = ((y - p.blockY) * p.blockWidth + (p.x0 - p.blockX)) * p.spp + sample;
      if (p.spp === 1) {
        dst.set(src.subarray(s, s + w), d);
      } else {
        for (let k = 0; k < w; k++) dst[d + k] = src[s + k * p.spp]!;
      }
    }
  });
}

/** Fills the placed part of a block that the file does not store (a sparse block) with `value`. */
export function fillBlock(p: BlockPlacement, out: readonly TypedArray[], value: number): void {
  p.samples.forEach((sample, i) => {
    if (sample < 0) return;
    for (let y = p.y0; y < p.y1; y++) {
      const start = (y - p.windowY) * p.windowWidth + (p.x0 - p.windowX);
      out[i]!.fill(value, start, start + (p.x1 - p.x0));
    }
  });
}
