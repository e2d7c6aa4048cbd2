/**
 * Exact summation of float64 terms, rounded once at the end: Shewchuk's non-overlapping partials, with
 * CPython's `math.fsum` final rounding (round half to even across the partials). The result is the exact
 * sum correctly rounded, so it does not depend on the order of the terms, and it equals `math.fsum` of
 * the same terms.
 */

/** Veltkamp's splitter for float64 (2^27 + 1): cuts a double into two halves of at most 26 bits. */
const SPLITTER = 134217729;
const TWO_27 = 134217728;
const TWO_53 = 9007199254740992;
/** Above this (max |v| × pixel count) a sum is taken on values scaled by 2^-128, so no partial overflows. */
const SCALE_ABOVE = 2 ** 960;
const SCALE_DOWN = 2 ** -128;
const SCALE_UP = 2 ** 128;

/** An exact running sum of float64 terms. */
export class ExactSum {
  private readonly partials: number[] = [];
  private size = 0;
  /** ±Infinity once a partial overflowed (only the caller's all-positive sums can get there). */
  private overflow = 0;

  /** Adds `x` exactly; `x` must be finite. */
  add(x: number): void {
    const p = this.partials;
    let i = 0;
    for (let j = 0; j < this.size; j++) {
      let y = p[j]!;
      if (Math.abs(x) < Math.abs(y)) {
        const t = x;
        x = y;
        y = t;
      }
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) p[i++] = lo;
      x = hi;
    }
    if (!Number.isFinite(x)) {
      if (this.overflow === 0) this.overflow = x;
      x = 0;
    }
    p[i] = x;
    this.size = i + 1;
  }

  /**
   * Adds v × c exactly, for a finite `v` and an integer count 1 ≤ c < 2^53. The product is cut into parts
   * that float64 holds exactly: v into two 26-bit halves (Veltkamp), c into 27-bit pieces when it is larger.
   */
  addProduct(v: number, c: number): void {
    const p = v * c;
    if (c === 1 || (Math.abs(p) < TWO_53 && Number.isInteger(v))) {
      this.add(p);
      return;
    }
    const t = SPLITTER * v;
    const vh = t - (t - v);
    const vl = v - vh;
    if (c < TWO_27) {
      this.add(vh * c);
      this.add(vl * c);
      return;
    }
    const cl = c % TWO_27;
    const ch = (c - cl) / TWO_27;
    this.add(vh * ch * TWO_27);
    this.add(vl * ch * TWO_27);
    this.add(vh * cl);
    this.add(vl * cl);
  }

  /** The exact sum, correctly rounded to float64 (CPython's `math.fsum` rounding). */
  value(): number {
    if (this.overflow !== 0) return this.overflow;
    const p = this.partials;
    let n = this.size;
    if (n === 0) return 0;
    let hi = p[--n]!;
    let lo = 0;
    while (n > 0) {
      const x = hi;
      const y = p[--n]!;
      hi = x + y;
      lo = y - (hi - x);
      if (lo !== 0) break;
    }
    // Half-way cases: the partials below decide which way `lo` rounds `hi`.
    if (n > 0 && ((lo < 0 && p[n - 1]! < 0) || (lo > 0 && p[n - 1]! > 0))) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
    return hi;
  }
}

/**
 * Σ values[i] × counts[i] over i in [from, to), exact and rounded once. `values` are finite. When the sum
 * could pass float64's range, it is taken on values scaled by 2^-128 and scaled back, so a sum beyond the
 * range comes out as ±Infinity; values below 2^-946 in magnitude then lose low bits, which can change the
 * last bit only of a sum that is at least 2^1900 times larger.
 */
export function sumOfProducts(values: Float64Array, counts: Float64Array, from: number, to: number): number {
  if (from >= to) return 0;
  let pixels = 0;
  for (let i = from; i < to; i++) pixels += counts[i]!;
  const scaled = Math.max(Math.abs(values[from]!), Math.abs(values[to - 1]!)) * pixels >= SCALE_ABOVE;
  const sum = new ExactSum();
  if (scaled) for (let i = from; i < to; i++) sum.addProduct(values[i]! * SCALE_DOWN, counts[i]!);
  else for (let i = from; i < to; i++) sum.addProduct(values[i]!, counts[i]!);
  return scaled ? sum.value() * SCALE_UP : sum.value();
}
