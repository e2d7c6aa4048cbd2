import type { TypedArray } from '../raster/index.js';
import type { Op } from './ops.js';
import { outputSpec, type OutputSpec } from './output.js';

/** NDVI output types: Float32 holds NDVI itself (nodata NaN); Int16 holds NDVI × 10000 (nodata −32768). */
export const NDVI_DTYPES = ['float32', 'int16'] as const;
export type NdviDType = (typeof NDVI_DTYPES)[number];

/** The nodata value written for each NDVI output type. */
export const NDVI_NODATA: Record<NdviDType, number> = { float32: Number.NaN, int16: -32768 };

/** Running statistics of the valid NDVI values written. */
export interface NdviStats {
  valid: number;
  nodata: number;
  min: number;
  max: number;
  sum: number;
}

export function emptyNdviStats(): NdviStats {
  return { valid: 0, nodata: 0, min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY, sum: 0 };
}

/**
 * NDVI = (NIR − Red) / (NIR + Red), pixel by pixel. A pixel is nodata when either band is nodata (or NaN)
 * or when NIR + Red = 0. Statistics are of the NDVI values themselves (not scaled).
 */
export function computeNdvi(
  red: TypedArray,
  nir: TypedArray,
  redNodata: number | null,
  nirNodata: number | null,
  out: Float32Array | Int16Array,
  stats: NdviStats,
): void {
  const n = red.length;
  const scaled = out instanceof Int16Array;
  const fill = scaled ? NDVI_NODATA.int16 : NDVI_NODATA.float32;
  const rn = redNodata ?? Number.NaN;
  const nn = nirNodata ?? Number.NaN;
  const before = stats.valid;
  let { valid, min, max, sum } = stats;
  for (let i = 0; i < n; i++) {
    const r = red[i]!;
    const ni = nir[i]!;
    const total = ni + r;
    // NaN never equals itself, so `r !== r` catches NaN input; `=== rn` never matches when rn is NaN.
    if (r === rn || ni === nn || r !== r || ni !== ni || total === 0) {
      out[i] = fill;
      continue;
    }
    const v = (ni - r) / total;
    if (scaled) out[i] = Math.round(v * 10000);
    else out[i] = v;
    valid++;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  stats.valid = valid;
  stats.nodata += n - (valid - before);
  stats.min = min;
  stats.max = max;
  stats.sum = sum;
}

/** NDVI as band math: the one definition `databox ndvi` runs, and what `databox calc` reproduces. */
export const NDVI_EXPRESSION = '(nir - red) / (nir + red)';

/** The op that makes one scene's NDVI. */
export function ndviOp(red: string, nir: string): Op {
  return { type: 'calc', expr: NDVI_EXPRESSION, bands: [{ name: 'red', url: red, band: 0 }, { name: 'nir', url: nir, band: 0 }] };
}

/** The output of an NDVI job: Float32 holds NDVI itself (nodata NaN); Int16 holds NDVI × 10000 (nodata −32768). */
export function ndviOutput(dtype: NdviDType, blockSize: number): OutputSpec {
  return dtype === 'int16' ? outputSpec('Int16', { nodata: NDVI_NODATA.int16, scale: 10000, blockSize }) : outputSpec('Float32', { blockSize });
}
