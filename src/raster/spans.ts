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

/** Widest span, in output tiles, worth aligning to the inputs' tiles; wider goes to whole rows. */
const MAX_SPAN_TILES = 64;

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function lcm(a: number, b: number): number {
  return (a / gcd(a, b)) * b;
}

/**
 * Plans how to stream a `width`×`height` raster into `blockSize` tiles, row by row, with no I/O. Each row
 * is cut into spans of a few tiles, so memory holds a few tiles rather than a scene-wide row; spans are
 * aligned to the inputs' own tiles so no input block is decoded twice. Inputs in strips (or with tiles
 * whose widths align only across very wide spans) get spans of the full width, since every span would
 * decode the same strips.
 */
export function planSpans(width: number, height: number, blockSize: number, inputs: readonly TiffImage[]): Span[] {
  // The narrowest span that holds whole output tiles and whole input tiles, if that is not much wider
  // than asked: e.g. 16384-pixel input tiles make 16384-pixel spans.
  let step = blockSize * TILES_PER_SPAN;
  for (const im of inputs) step = im.tiled ? lcm(step, im.blockWidth) : Number.POSITIVE_INFINITY;
  if (step > MAX_SPAN_TILES * blockSize) step = Math.ceil(width / blockSize) * blockSize;
  const spans: Span[] = [];
  for (let y = 0, row = 0; y < height; y += blockSize, row++) {
    for (let x = 0; x < width; x += step) {
      spans.push({ row, col: x / blockSize, window: { x, y, width: Math.min(step, width - x), height: Math.min(blockSize, height - y) } });
    }
  }
  return spans;
}
