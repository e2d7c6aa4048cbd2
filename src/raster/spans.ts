import type { TiffImage } from './tiff/image.js';
import type { Window } from './window.js';

/** One piece of a streaming job: a row of output tiles, cut to a span of columns. */
export interface Span {
  /** Output tile row. */
  row: number;
  /** First output tile column. */
  col: number;
  /** The pixels to read: up to `tilesPerSpan` tiles wide, one tile high (less at the edges). */
  window: Window;
}

/** Output tiles per span: four 512-pixel tiles keep a span near 8 MB of Float32 while reads stay large. */
export const TILES_PER_SPAN = 4;

/**
 * Plans how to stream a `width`×`height` raster into `blockSize` tiles, row by row, with no I/O. Each row
 * is cut into spans of a few tiles, so memory holds a few tiles rather than a scene-wide row; spans are
 * aligned to the inputs' own tiles so no input block is decoded twice. Inputs in strips (or with tiles
 * that do not divide a span) get spans of the full width, since every span would decode the same strips.
 */
export function planSpans(width: number, height: number, blockSize: number, inputs: readonly TiffImage[]): Span[] {
  const spanWidth = blockSize * TILES_PER_SPAN;
  const aligned = inputs.every((im) => im.tiled && spanWidth % im.blockWidth === 0);
  const step = aligned ? spanWidth : Math.ceil(width / blockSize) * blockSize;
  const spans: Span[] = [];
  for (let y = 0, row = 0; y < height; y += blockSize, row++) {
    for (let x = 0; x < width; x += step) {
      spans.push({ row, col: x / blockSize, window: { x, y, width: Math.min(step, width - x), height: Math.min(blockSize, height - y) } });
    }
  }
  return spans;
}
