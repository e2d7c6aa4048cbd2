/**
 * The focal median, numpy's rule (the middle value of an odd count, the mean of the two middle values of an
 * even count), two ways: a sliding histogram for 8- and 16-bit integers, and selection (no full sort) over
 * the gathered values for everything else. Also the kernel interface that focal.ts fills in.
 */

/** Converted input rows, as focal.ts's row ring holds them: float64, NaN for nodata. */
export interface FocalRows {
  /** First input column held, and how many. */
  x0: number;
  width: number;
  /** Converts input rows up to and including `last`. */
  loadThrough(last: number): void;
  /** Input row `y`, once loaded and while an output row within the radius needs it. */
  row(y: number): Float64Array;
}

/** What a kernel reads and writes. */
export interface FocalKernel {
  rows: FocalRows;
  radius: number;
  /** Height of the input array, where rows end. */
  height: number;
  /** The output window, in input-array coordinates. */
  inner: { x: number; y: number; width: number; height: number };
  out: Float64Array;
}

/**
 * The median by a sliding histogram (Huang's algorithm with a second, coarse level of 16-value bins), for
 * integer input whose values fit `bins` after adding `-offset` (8- and 16-bit types). Along each output row
 * the histogram is updated by the pixels that leave and enter the neighbourhood, 2 × (2R + 1) per pixel
 * instead of sorting (2R + 1)², and the median is walked to from the last one. Integer medians, and
 * (a + b) / 2 of two, are exact, so the result owes nothing to the order the pixels came in.
 */
export function histogramMedian(k: FocalKernel, hw: Int32Array, offset: number, bins: number): void {
  const { rows, radius: R, height, inner, out } = k;
  const hist = new SlidingHistogram(bins);
  const last = rows.width - 1;
  const first = inner.x - rows.x0;
  // Adds (d = 1) or removes (d = −1) the neighbourhood of column cx of output row y.
  const window = (y: number, cx: number, d: 1 | -1) => {
    for (let r = Math.max(0, y - R), r1 = Math.min(height - 1, y + R); r <= r1; r++) {
      const h = hw[r - y + R]!;
      const row = rows.row(r);
      for (let c = Math.max(0, cx - h), c1 = Math.min(last, cx + h); c <= c1; c++) {
        const v = row[c]!;
        if (v === v) hist.add(v - offset, d);
      }
    }
  };
  let o = 0;
  for (let y = inner.y; y < inner.y + inner.height; y++) {
    rows.loadThrough(Math.min(height - 1, y + R));
    const centre = rows.row(y);
    const r0 = Math.max(0, y - R);
    const r1 = Math.min(height - 1, y + R);
    window(y, first, 1);
    for (let cx = first, end = first + inner.width; cx < end; cx++, o++) {
      if (cx > first) {
        // Slide right by one: per row of the shape, one pixel leaves on the left and one enters on the right.
        for (let r = r0; r <= r1; r++) {
          const h = hw[r - y + R]!;
          const row = rows.row(r);
          const gone = cx - 1 - h;
          const come = cx + h;
          if (gone >= 0 && row[gone] === row[gone]) hist.add(row[gone]! - offset, -1);
          if (come <= last && row[come] === row[come]) hist.add(row[come]! - offset, 1);
        }
      }
      if (Number.isNaN(centre[cx]!)) {
        out[o] = Number.NaN;
        continue;
      }
      const n = hist.count;
      const half = n >> 1;
      out[o] = (n & 1 ? hist.kth(half) : (hist.kth(half - 1) + hist.kth(half)) / 2) + offset;
    }
    // Empty the histogram for the next row.
    window(y, first + inner.width - 1, -1);
  }
}

/** Counts per value, with counts per 16 values above them, and a remembered place to search from. */
class SlidingHistogram {
  private readonly fine: Int32Array;
  private readonly coarse: Int32Array;
  /** Coarse bin where the last search ended, and how many values lie in the bins before it. */
  private at = 0;
  private below = 0;
  count = 0;

  constructor(bins: number) {
    this.fine = new Int32Array(bins);
    this.coarse = new Int32Array(bins >> 4);
  }

  add(bin: number, d: 1 | -1): void {
    this.fine[bin] = this.fine[bin]! + d;
    const c = bin >> 4;
    this.coarse[c] = this.coarse[c]! + d;
    if (c < this.at) this.below += d;
    this.count += d;
  }

  /** The bin of the k-th smallest value (0-based), k < count. */
  kth(k: number): number {
    const { coarse, fine } = this;
    let at = this.at;
    let below = this.below;
    while (below > k) below -= coarse[--at]!;
    while (below + coarse[at]! <= k) below += coarse[at++]!;
    this.at = at;
    this.below = below;
    let bin = at << 4;
    let seen = below + fine[bin]!;
    while (seen <= k) seen += fine[++bin]!;
    return bin;
  }
}

/** Counts up to this are sorted outright: insertion sort beats partitioning on a handful of values. */
const SORT_BELOW = 24;

/**
 * The median of `values[0..n)` (no NaN among them), as numpy.median gives it: for an even count
 * `(a + b) / 2` of the two middle values. Reorders those elements in place. NaN when `n` is 0.
 */
export function medianOf(values: Float64Array, n: number): number {
  if (n <= 0) return Number.NaN;
  const k = n >> 1;
  if (n < SORT_BELOW) {
    insertionSort(values, 0, n - 1);
    return n & 1 ? values[k]! : (values[k - 1]! + values[k]!) / 2;
  }
  select(values, k, n);
  const upper = values[k]!;
  if (n & 1) return upper;
  // After selecting the k-th value everything before it is ≤ it, so the other middle value is their largest.
  let lower = values[0]!;
  for (let i = 1; i < k; i++) if (values[i]! > lower) lower = values[i]!;
  return (lower + upper) / 2;
}

/** Places the k-th smallest of `a[0..n)` at `a[k]`, the smaller before it and the larger after it (Hoare's find). */
function select(a: Float64Array, k: number, n: number): void {
  let lo = 0;
  let hi = n - 1;
  while (hi - lo >= SORT_BELOW) {
    // Median of three as the pivot: deterministic (the same input order gives the same result, which the
    // split-invariance of ±0 relies on) and safe on the sorted runs that rasters are full of.
    const mid = (lo + hi) >> 1;
    if (a[mid]! < a[lo]!) swap(a, mid, lo);
    if (a[hi]! < a[lo]!) swap(a, hi, lo);
    if (a[hi]! < a[mid]!) swap(a, hi, mid);
    const pivot = a[mid]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    // Now a[lo..j] ≤ pivot ≤ a[i..hi], and anything between j and i equals the pivot.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
  insertionSort(a, lo, hi);
}

function insertionSort(a: Float64Array, lo: number, hi: number): void {
  for (let i = lo + 1; i <= hi; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= lo && a[j]! > v) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}
