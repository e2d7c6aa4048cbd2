import { describe, expect, it } from 'vitest';
import { planSpans, type TiffImage } from '../../src/raster/index.js';

const tiled = (blockWidth: number): TiffImage => ({ tiled: true, blockWidth }) as TiffImage;
const striped = { tiled: false, blockWidth: 7801 } as TiffImage;

describe('planning spans', () => {
  it('cuts rows of 512-pixel tiles into spans of four tiles when the inputs are tiled alike', () => {
    const spans = planSpans(7801, 1100, 512, [tiled(512), tiled(256)]);
    expect(spans.filter((s) => s.row === 0).map((s) => [s.col, s.window.x, s.window.width])).toEqual([
      [0, 0, 2048],
      [4, 2048, 2048],
      [8, 4096, 2048],
      [12, 6144, 1657],
    ]);
    expect(spans.map((s) => s.row)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    expect(spans.at(-1)!.window).toEqual({ x: 6144, y: 1024, width: 1657, height: 76 });
  });

  it('widens spans to whole input tiles, so none is decoded twice', () => {
    const spans = planSpans(40000, 512, 512, [tiled(16384)]);
    expect(spans.map((s) => s.window.width)).toEqual([16384, 16384, 7232]);
  });

  it('reads whole rows from inputs in strips', () => {
    const spans = planSpans(7801, 600, 512, [tiled(512), striped]);
    expect(spans.map((s) => [s.row, s.window.width])).toEqual([
      [0, 7801],
      [1, 7801],
    ]);
  });
});
