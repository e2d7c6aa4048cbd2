import { allocate, type DType, type TypedArray } from './dtype.js';

/**
 * Cuts one blockSize × blockSize tile, bands interleaved per pixel, out of band-sequential rows.
 * `bands` hold `width` × `rows` pixels each, starting at image column 0; the tile starts at column
 * `col × blockSize`. Pixels past the image edge are filled with `fill`.
 */
export function cutTile(
  bands: readonly TypedArray[],
  width: number,
  rows: number,
  col: number,
  blockSize: number,
  dtype: DType,
  fill: number,
): TypedArray {
  const spp = bands.length;
  const tile = allocate(dtype, blockSize * blockSize * spp);
  const x0 = col * blockSize;
  const w = Math.min(blockSize, width - x0);
  const h = Math.min(blockSize, rows);
  if (fill !== 0 && (w < blockSize || h < blockSize)) tile.fill(fill);
  if (spp === 1) {
    const src = bands[0]!;
    for (let y = 0; y < h; y++) tile.set(src.subarray(y * width + x0, y * width + x0 + w), y * blockSize);
    return tile;
  }
  for (let b = 0; b < spp; b++) {
    const src = bands[b]!;
    for (let y = 0; y < h; y++) {
      let s = y * width + x0;
      let d = y * blockSize * spp + b;
      for (let x = 0; x < w; x++, s++, d += spp) tile[d] = src[s]!;
    }
  }
  return tile;
}
