import { DataboxError } from '../errors.js';
import type { TypedArray } from '../raster/index.js';
import { histogramMedian, medianOf, type FocalKernel as Kernel, type FocalRows } from './focal-median.js';

/**
 * Focal (moving-window) statistics: each output pixel is a statistic of the valid pixels around it.
 *
 * A distributed job cuts the raster into windows, reads each with a halo of `radius` pixels (clipped at the
 * raster's edges) and calls {@link focal} for the inner part; the result must not depend on the cut. So every
 * output value is computed from its own neighbourhood, in an order fixed relative to the output pixel:
 * nothing (no running sum, no summed-area table) is carried from one pixel to the next, and a float sum
 * rounds the same way whichever window it was computed in.
 */

/** The statistics, named as the CLI's `--op` names them. */
export const FOCAL_OPS = ['mean', 'median', 'min', 'max', 'stddev', 'sum'] as const;
export type FocalOp = (typeof FOCAL_OPS)[number];

/** Neighbourhood shapes: square is |dx| ≤ R and |dy| ≤ R; circle is dx² + dy² ≤ R². */
export const FOCAL_SHAPES = ['square', 'circle'] as const;
export type FocalShape = (typeof FOCAL_SHAPES)[number];

/**
 * The largest radius accepted, in pixels. A circle or a median costs O(R²) per pixel and each window's halo
 * grows with R; at 64 a neighbourhood holds 16 641 pixels, whose integer sums are still exact in float64.
 */
export const FOCAL_MAX_RADIUS = 64;

/** A band in memory: row-major values; pixels beyond its edges are outside the raster. */
export interface FocalInput {
  /** Row-major samples, `width × height` of them. */
  values: TypedArray;
  /** Size of the array in pixels. */
  width: number;
  height: number;
  /** The value that marks nodata, as the pixels hold it (NaN is always nodata); null for none. */
  nodata: number | null;
}

/** A rectangle of the input array, in pixels from its top-left corner. */
export interface FocalRect {
  /** Left column and top row, in pixels. */
  x: number;
  y: number;
  /** Size in pixels. */
  width: number;
  height: number;
}

export interface FocalOptions {
  /** The statistic. */
  op: FocalOp;
  /** Neighbourhood radius in pixels: an integer from 1 to {@link FOCAL_MAX_RADIUS}. */
  radius: number;
  /** @defaultValue 'square' */
  shape?: FocalShape;
}

/** FocalOptions with every default filled in. */
export type ResolvedFocalOptions = Required<FocalOptions>;

/** The defaults merged into every FocalOptions. */
export const FOCAL_DEFAULTS: Pick<ResolvedFocalOptions, 'shape'> = { shape: 'square' };

/** A bad focal option (`ERR_OPTIONS`), or an inner window or output that does not fit the input (`ERR_FOCAL_INPUT`). */
export class FocalError extends DataboxError {
  constructor(message: string, code: 'ERR_OPTIONS' | 'ERR_FOCAL_INPUT' = 'ERR_OPTIONS') {
    super(code, message);
  }
}

/** Merges the defaults and checks every option, naming the option and the bad value. */
export function resolveFocalOptions(options: FocalOptions): ResolvedFocalOptions {
  const { op, radius, shape = FOCAL_DEFAULTS.shape } = options;
  if (!FOCAL_OPS.includes(op)) throw new FocalError(`options.op must be one of ${FOCAL_OPS.join(', ')} (got ${JSON.stringify(op)})`);
  if (!Number.isInteger(radius) || radius < 1 || radius > FOCAL_MAX_RADIUS) {
    throw new FocalError(`options.radius must be an integer from 1 to ${FOCAL_MAX_RADIUS} (got ${radius})`);
  }
  if (!FOCAL_SHAPES.includes(shape)) throw new FocalError(`options.shape must be one of ${FOCAL_SHAPES.join(', ')} (got ${JSON.stringify(shape)})`);
  return { op, radius, shape };
}

/**
 * The focal statistic of every pixel of `inner` (a rectangle in input-array coordinates), from the input's
 * values around it. Returns `out` (or a new array) holding `inner.width × inner.height` values, row-major.
 *
 * Pixels outside the input array count as outside the raster: the caller reads a halo of at least `radius`
 * wherever the raster goes on. Nodata pixels (the nodata value, or NaN) are left out of every neighbourhood,
 * and a nodata centre gives NaN: smoothing must not invent values where the sensor saw nothing, nor grow the
 * scene's footprint into its nodata collar.
 *
 * mean is sum / n; stddev is the population deviation (ddof 0, as numpy.nanstd); median is numpy's, the mean
 * of the two middle values for an even count. Sums run in an order fixed relative to the output pixel (the
 * square: down each column of the neighbourhood, then across the columns), so integer input gives exact
 * sums and means, and float input gives the same bits whatever the window split.
 */
export function focal(input: FocalInput, inner: FocalRect, options: FocalOptions, out?: Float64Array): Float64Array {
  const { op, radius, shape } = resolveFocalOptions(options);
  checkInput(input, inner);
  const size = inner.width * inner.height;
  if (out === undefined) out = new Float64Array(size);
  else if (out.length !== size) {
    throw new FocalError(`out holds ${out.length} values, but the inner window is ${inner.width} × ${inner.height} = ${size}`, 'ERR_FOCAL_INPUT');
  }
  if (size === 0) return out;
  // Only the columns and rows within `radius` of the inner window are ever read.
  const x0 = Math.max(0, inner.x - radius);
  const x1 = Math.min(input.width, inner.x + inner.width + radius);
  const y0 = Math.max(0, inner.y - radius);
  const y1 = Math.min(input.height, inner.y + inner.height + radius);
  const k: Kernel = { rows: new RowRing(input, x0, x1 - x0, y0, y1, radius), radius, height: input.height, inner, out };
  // At radius 1 (9 pixels or fewer) sorting beats walking a histogram.
  const histogram = radius > 1 ? HISTOGRAMS.get(input.values.constructor) : undefined;
  if (op === 'median' && histogram) histogramMedian(k, halfWidths(radius, shape), histogram.offset, histogram.bins);
  else if (op === 'median') gatherKernel(k, halfWidths(radius, shape), medianOf);
  else if (shape === 'circle') gatherKernel(k, halfWidths(radius, shape), REDUCERS[op]);
  else if (op === 'min' || op === 'max') squareExtremes(k, op);
  else squareMoments(k, op);
  return out;
}

/** The integer types whose medians a histogram finds: a value's bin is `value − offset`, of `bins`. */
const HISTOGRAMS = new Map<unknown, { offset: number; bins: number }>([
  [Uint8Array, { offset: 0, bins: 256 }],
  [Uint16Array, { offset: 0, bins: 65536 }],
  [Int16Array, { offset: -32768, bins: 65536 }],
]);

function checkInput(input: FocalInput, inner: FocalRect): void {
  const { width, height, values } = input;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || values.length !== width * height) {
    throw new FocalError(`The input must be a positive width × height with that many values (got ${width} × ${height} and ${values.length} values)`, 'ERR_FOCAL_INPUT');
  }
  const { x, y, width: w, height: h } = inner;
  const ints = [x, y, w, h].every((v) => Number.isInteger(v) && v >= 0);
  if (!ints || x + w > width || y + h > height) {
    throw new FocalError(`The inner window x=${x} y=${y} width=${w} height=${h} is not within the ${width} × ${height} input`, 'ERR_FOCAL_INPUT');
  }
}

/**
 * Input rows [x0, x0 + width) as float64 with NaN for nodata, each row converted once and kept while any
 * output row within `radius` needs it (a ring of 2R + 1 rows, not a float64 copy of the whole input).
 */
class RowRing implements FocalRows {
  private readonly slots: Float64Array[] = [];
  private next: number;
  private readonly nodata: number;

  constructor(
    private readonly input: FocalInput,
    readonly x0: number,
    readonly width: number,
    first: number,
    end: number,
    radius: number,
  ) {
    const count = Math.min(2 * radius + 1, end - first);
    for (let i = 0; i < count; i++) this.slots.push(new Float64Array(width));
    this.next = first;
    const nodata = input.nodata ?? Number.NaN;
    // A Float32 pixel holds the nodata value rounded to single precision.
    this.nodata = input.values instanceof Float32Array ? Math.fround(nodata) : nodata;
  }

  /** Converts the rows up to and including `last` that are not yet in the ring. */
  loadThrough(last: number): void {
    const { values, width: stride } = this.input;
    const nodata = this.nodata;
    const n = this.width;
    for (; this.next <= last; this.next++) {
      const dst = this.row(this.next);
      const base = this.next * stride + this.x0;
      for (let i = 0; i < n; i++) {
        const v = values[base + i]!;
        dst[i] = v === nodata ? Number.NaN : v;
      }
    }
  }

  /** Row `y` of the input (one of the last 2R + 1 loaded). */
  row(y: number): Float64Array {
    return this.slots[y % this.slots.length]!;
  }
}

/** Per dy from −R to R, the half-width of the neighbourhood's row: R for the square, ⌊√(R² − dy²)⌋ for the circle. */
function halfWidths(radius: number, shape: FocalShape): Int32Array {
  const hw = new Int32Array(2 * radius + 1);
  for (let dy = -radius; dy <= radius; dy++) {
    hw[dy + radius] = shape === 'square' ? radius : Math.floor(Math.sqrt(radius * radius - dy * dy));
  }
  return hw;
}

/** A statistic of `values[0..n)`, n ≥ 1, in index order; may reorder them. */
type Reducer = (values: Float64Array, n: number) => number;

const REDUCERS: Record<Exclude<FocalOp, 'median'>, Reducer> = {
  sum: sumOf,
  mean: (a, n) => sumOf(a, n) / n,
  min: (a, n) => {
    let m = a[0]!;
    for (let i = 1; i < n; i++) if (a[i]! < m) m = a[i]!;
    return m;
  },
  max: (a, n) => {
    let m = a[0]!;
    for (let i = 1; i < n; i++) if (a[i]! > m) m = a[i]!;
    return m;
  },
  stddev: (a, n) => {
    // Two passes, as numpy.nanstd: the mean first, then the squared deviations from it.
    const mean = sumOf(a, n) / n;
    let q = 0;
    for (let i = 0; i < n; i++) {
      const d = a[i]! - mean;
      q += d * d;
    }
    return Math.sqrt(q / n);
  },
};

function sumOf(a: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i]!;
  return s;
}

/**
 * Any shape, any op: gathers each neighbourhood's valid values row by row (dy, then dx, ascending) and
 * reduces them. O(R²) per pixel; the square's sums and extremes take the separable kernels below.
 */
function gatherKernel(k: Kernel, hw: Int32Array, reduce: Reducer): void {
  const { rows, radius: R, height, inner, out } = k;
  let cells = 0;
  for (const h of hw) cells += 2 * h + 1;
  const scratch = new Float64Array(cells);
  const last = rows.width - 1;
  let o = 0;
  for (let y = inner.y; y < inner.y + inner.height; y++) {
    rows.loadThrough(Math.min(height - 1, y + R));
    const centre = rows.row(y);
    const r0 = Math.max(0, y - R);
    const r1 = Math.min(height - 1, y + R);
    for (let cx = inner.x - rows.x0, end = cx + inner.width; cx < end; cx++, o++) {
      if (Number.isNaN(centre[cx]!)) {
        out[o] = Number.NaN;
        continue;
      }
      let n = 0;
      for (let r = r0; r <= r1; r++) {
        const h = hw[r - y + R]!;
        const row = rows.row(r);
        const c1 = Math.min(last, cx + h);
        for (let c = Math.max(0, cx - h); c <= c1; c++) {
          const v = row[c]!;
          if (v === v) scratch[n++] = v;
        }
      }
      out[o] = reduce(scratch, n);
    }
  }
}

/**
 * Square sum, mean and stddev, separably: per output row, each column's sums over the 2R + 1 rows are
 * computed afresh (top to bottom), then each output pixel adds its 2R + 1 column sums (left to right).
 * O(R) per pixel, and the same order of additions for a pixel whatever window it sits in.
 *
 * stddev keeps, per column, its mean m_c, Σ(v − m_c) and Σ(v − m_c)², and combines them about the window's
 * mean μ by Σ(v − μ)² = Σ(v − m_c)² + e·(2·Σ(v − m_c) + n_c·e), e = m_c − μ: an identity, so it stays a
 * two-pass deviation (no Σv² − (Σv)²/n cancellation) whose rounding errors are of the deviations' size.
 */
function squareMoments(k: Kernel, op: 'sum' | 'mean' | 'stddev'): void {
  const { rows, radius: R, height, inner, out } = k;
  const w = rows.width;
  const colN = new Float64Array(w);
  const colS = new Float64Array(w);
  const std = op === 'stddev';
  const colMean = new Float64Array(std ? w : 0);
  const colD = new Float64Array(std ? w : 0);
  const colQ = new Float64Array(std ? w : 0);
  let o = 0;
  for (let y = inner.y; y < inner.y + inner.height; y++) {
    rows.loadThrough(Math.min(height - 1, y + R));
    const r0 = Math.max(0, y - R);
    const r1 = Math.min(height - 1, y + R);
    colN.fill(0);
    colS.fill(0);
    for (let r = r0; r <= r1; r++) {
      const row = rows.row(r);
      for (let c = 0; c < w; c++) {
        const v = row[c]!;
        if (v === v) {
          colS[c] = colS[c]! + v;
          colN[c] = colN[c]! + 1;
        }
      }
    }
    if (std) {
      for (let c = 0; c < w; c++) colMean[c] = colN[c]! > 0 ? colS[c]! / colN[c]! : 0;
      colD.fill(0);
      colQ.fill(0);
      for (let r = r0; r <= r1; r++) {
        const row = rows.row(r);
        for (let c = 0; c < w; c++) {
          const d = row[c]! - colMean[c]!;
          if (d === d) {
            colD[c] = colD[c]! + d;
            colQ[c] = colQ[c]! + d * d;
          }
        }
      }
    }
    const centre = rows.row(y);
    for (let cx = inner.x - rows.x0, end = cx + inner.width; cx < end; cx++, o++) {
      if (Number.isNaN(centre[cx]!)) {
        out[o] = Number.NaN;
        continue;
      }
      const c0 = Math.max(0, cx - R);
      const c1 = Math.min(w - 1, cx + R);
      let n = 0;
      let s = 0;
      for (let c = c0; c <= c1; c++) {
        n += colN[c]!;
        s += colS[c]!;
      }
      if (op === 'sum') out[o] = s;
      else if (op === 'mean') out[o] = s / n;
      else {
        const mean = s / n;
        let q = 0;
        for (let c = c0; c <= c1; c++) {
          const nc = colN[c]!;
          if (nc === 0) continue;
          const e = colMean[c]! - mean;
          q += colQ[c]! + e * (2 * colD[c]! + nc * e);
        }
        // Rounding can take a zero deviation a hair below zero; NaN (from infinite input) stays NaN.
        out[o] = q > 0 ? Math.sqrt(q / n) : q === q ? 0 : Number.NaN;
      }
    }
  }
}

/** Square min and max, separably: each column's extreme over the 2R + 1 rows, then the extreme of 2R + 1 columns. */
function squareExtremes(k: Kernel, op: 'min' | 'max'): void {
  const { rows, radius: R, height, inner, out } = k;
  const w = rows.width;
  const col = new Float64Array(w);
  // Max is min of the negated values; negation is exact, and `<` never takes a NaN, so nodata drops out.
  const sign = op === 'min' ? 1 : -1;
  let o = 0;
  for (let y = inner.y; y < inner.y + inner.height; y++) {
    rows.loadThrough(Math.min(height - 1, y + R));
    col.fill(Number.POSITIVE_INFINITY);
    for (let r = Math.max(0, y - R), r1 = Math.min(height - 1, y + R); r <= r1; r++) {
      const row = rows.row(r);
      for (let c = 0; c < w; c++) {
        const v = sign * row[c]!;
        if (v < col[c]!) col[c] = v;
      }
    }
    const centre = rows.row(y);
    for (let cx = inner.x - rows.x0, end = cx + inner.width; cx < end; cx++, o++) {
      if (Number.isNaN(centre[cx]!)) {
        out[o] = Number.NaN;
        continue;
      }
      const c1 = Math.min(w - 1, cx + R);
      let c = Math.max(0, cx - R);
      let m = col[c]!;
      for (c++; c <= c1; c++) if (col[c]! < m) m = col[c]!;
      // The centre is valid, so m is one of the neighbourhood's values.
      out[o] = sign * m;
    }
  }
}
