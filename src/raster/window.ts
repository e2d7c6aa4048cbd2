import { RasterRangeError } from './errors.js';
import type { TiffImage } from './tiff/image.js';

/** A rectangle of pixels: column `x`, row `y`, and its size. */
export interface Window {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One block a window read needs, and the part of it that lands in the window (plain data: the plan). */
export interface BlockRead {
  /** Index into the image's offsets and byte counts. */
  index: number;
  /** Block column and row. */
  col: number;
  row: number;
  /** For band-interleaved images the band this block holds; -1 when the block holds every band. */
  plane: number;
  /** Where its compressed bytes are; length 0 means a sparse block (not written, read as nodata). */
  offset: number;
  length: number;
  /** The part of the image this block contributes, in full-image pixel coordinates. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Throws unless the window lies inside a `width`×`height` image. */
export function checkWindow(window: Window, width: number, height: number, url: string): void {
  const { x, y, width: w, height: h } = window;
  const ints = [x, y, w, h].every(Number.isInteger);
  if (!ints || x < 0 || y < 0 || w < 1 || h < 1 || x + w > width || y + h > height) {
    throw new RasterRangeError(
      `Window x=${x} y=${y} ${w}×${h} is outside the ${width}×${height} image of ${url}`,
    );
  }
}

/** Lists the blocks that cover `window` for the chosen `bands` (0-based), with no I/O. */
export function planBlocks(image: TiffImage, window: Window, bands: readonly number[]): BlockRead[] {
  const { blockWidth: bw, blockHeight: bh, blocksAcross, blocksDown } = image;
  const c0 = Math.floor(window.x / bw);
  const c1 = Math.floor((window.x + window.width - 1) / bw);
  const r0 = Math.floor(window.y / bh);
  const r1 = Math.floor((window.y + window.height - 1) / bh);
  const planes = image.planar === 2 ? bands : [-1];
  const reads: BlockRead[] = [];
  for (const plane of planes) {
    for (let row = r0; row <= r1; row++) {
      for (let col = c0; col <= c1; col++) {
        const index = (plane < 0 ? 0 : plane * blocksAcross * blocksDown) + row * blocksAcross + col;
        reads.push({
          index,
          col,
          row,
          plane,
          offset: image.offsets[index]!,
          length: image.offsets[index] === 0 ? 0 : image.byteCounts[index]!,
          x0: Math.max(window.x, col * bw),
          y0: Math.max(window.y, row * bh),
          x1: Math.min(window.x + window.width, (col + 1) * bw, image.width),
          y1: Math.min(window.y + window.height, (row + 1) * bh, image.height),
        });
      }
    }
  }
  return reads;
}

/** Splits a plan into batches of at most `maxBytes` compressed bytes, so a huge window never holds all at once. */
export function batchReads(reads: BlockRead[], maxBytes: number): BlockRead[][] {
  const batches: BlockRead[][] = [];
  let current: BlockRead[] = [];
  let bytes = 0;
  for (const r of reads) {
    if (current.length > 0 && bytes + r.length > maxBytes) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += r.length;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
