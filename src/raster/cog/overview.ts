import type { TypedArray } from '../dtype.js';
import type { OverviewResampling } from './options.js';

/**
 * Halves one tile into its quarter of the parent tile of the next overview level.
 *
 * `child` is a full tile (size × size × spp samples, pixel-interleaved) of which the first validW × validH
 * pixels lie inside the image. Its pixels land in `parent` at (ox, oy). Average skips nodata and NaN, so
 * a border of nodata does not bleed into the overview; nearest takes the top-left pixel of each 2×2 cell.
 */
export function downsampleInto(
  child: TypedArray,
  parent: TypedArray,
  size: number,
  spp: number,
  validW: number,
  validH: number,
  ox: number,
  oy: number,
  resampling: OverviewResampling,
  nodata: number | null,
  integer: boolean,
): void {
  const outW = Math.ceil(validW / 2);
  const outH = Math.ceil(validH / 2);
  const hasNodata = nodata !== null && !Number.isNaN(nodata);
  const fallback = nodata ?? (integer ? 0 : Number.NaN);
  for (let j = 0; j < outH; j++) {
    const y0 = 2 * j;
    const y1 = Math.min(y0 + 1, validH - 1);
    const dstRow = ((oy + j) * size + ox) * spp;
    for (let i = 0; i < outW; i++) {
      const x0 = 2 * i;
      const x1 = Math.min(x0 + 1, validW - 1);
      for (let s = 0; s < spp; s++) {
        const a = child[(y0 * size + x0) * spp + s]!;
        if (resampling === 'nearest') {
          parent[dstRow + i * spp + s] = a;
          continue;
        }
        // A 2×2 cell cut by the image border holds fewer pixels; nodata and NaN do not count.
        let sum = 0;
        let n = 0;
        if (!(a !== a || (hasNodata && a === nodata))) {
          sum += a;
          n++;
        }
        if (x1 !== x0) {
          const b = child[(y0 * size + x1) * spp + s]!;
          if (!(b !== b || (hasNodata && b === nodata))) {
            sum += b;
            n++;
          }
        }
        if (y1 !== y0) {
          const c = child[(y1 * size + x0) * spp + s]!;
          if (!(c !== c || (hasNodata && c === nodata))) {
            sum += c;
            n++;
          }
          if (x1 !== x0) {
            const d = child[(y1 * size + x1) * spp + s]!;
            if (!(d !== d || (hasNodata && d === nodata))) {
              sum += d;
              n++;
            }
          }
        }
        parent[dstRow + i * spp + s] = n === 0 ? fallback : integer ? Math.round(sum / n) : sum / n;
      }
    }
  }
}
