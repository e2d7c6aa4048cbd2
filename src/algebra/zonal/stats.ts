/**
 * Zonal statistics by the exact method.
 *
 * A zone may be cut across many tiles, subtasks and nodes, and its numbers must not depend on the cut. So
 * a subtask's partial is not a running mean or sketch but the exact multiset of the zone's valid values:
 * the distinct values, ascending, each with its pixel count, plus the count of nodata pixels. For the
 * integer types that is an exact histogram of values (at most 65,536 entries for 16-bit data); for the
 * float types it is the multiset of distinct values, so a partial grows with the number of distinct
 * values: up to one entry per pixel, about 22 bytes each as JSON numbers for float32 data (codec.ts packs
 * them tighter for the wire). Merging is the union of multisets, which is exact, and every statistic is
 * computed from the merged multiset in one fixed order (ascending values). The result is therefore the
 * same, bit for bit, whatever the split and the merge order.
 *
 * Each statistic matches numpy (checked against numpy 1.24.2) applied to the zone's valid values as a
 * float64 array `x`:
 * - count, nodata: pixel counts (NaN pixels always count as nodata).
 * - sum: the exact Σ v·c rounded once, i.e. `math.fsum(x)`. For integer data that is the exact sum, which
 *   equals numpy's `x.sum()` whenever that is exact; for float data numpy's pairwise sum may differ from
 *   the correctly rounded one in the last bits.
 * - mean: sum / count. std: population (ddof 0), sqrt(Σ c·(v − mean)² / count), each term rounded and
 *   the terms summed exactly; within a few units in the last place of `np.std(x)`, and 0 exactly for a
 *   zone of one distinct value.
 * - min, max: the ends of the multiset.
 * - median: `np.median(x)`, the mean of the two middle values, (a + b) / 2, for an even count.
 * - pNN (NN in 0..100, decimals allowed): `np.percentile(x, NN)`, numpy's 'linear' method reproduced
 *   operation for operation (virtual index (n − 1)·q and numpy's `_lerp`), on exact order statistics.
 * - histogram: `np.histogram(x, bins)` with the range (min, max), or (min − 0.5, max + 0.5) when they are
 *   equal: edges from numpy's linspace, bin indices by numpy's uniform-bin fast path.
 *
 * Departures, all where numpy's answer is not a property of the multiset or numpy fails: −0 is stored as
 * 0 (numpy's choice between −0 and 0 depends on its partition order, and JSON has no −0); a zone with no
 * valid pixel gives null for every statistic but count and nodata; histogram is null when the range is
 * not finite or too narrow to divide (numpy raises there). ±Infinity pixels are valid values, as in numpy,
 * and the statistics they touch follow IEEE arithmetic as numpy's do (∞ − ∞ gives NaN, returned as a
 * number; JSON writes it as null).
 */
import { DataboxError } from '../../errors.js';
import { sumOfProducts, ExactSum } from './exact-sum.js';
import { fromPartial, type Multiset, type ZonalPartial } from './multiset.js';

export { ZoneAccumulator } from './accumulator.js';
export { mergePartials, type ZonalPartial } from './multiset.js';

/** The statistics with fixed names; pNN (a percentile, NN in 0..100) is the one pattern besides. */
export const STAT_NAMES: readonly string[] = ['count', 'nodata', 'sum', 'mean', 'min', 'max', 'std', 'median', 'histogram'];

/** A name from STAT_NAMES, or pNN. */
export type StatName = string;

/** One zone's statistics by name; histogram is `{ edges, counts }`, anything undefined is null. */
export type ZoneStats = Record<string, number | null | { edges: number[]; counts: number[] }>;

export interface ZonalStatsOptions {
  /**
   * Histogram bins.
   * @defaultValue 10
   */
  bins?: number;
}

const PERCENTILE = /^p(\d+(?:\.\d+)?)$/;

function validNames(): string {
  return `${STAT_NAMES.join(', ')}, or pNN for a percentile with NN in 0..100 (p10, p33.3)`;
}

/** The percentile a pNN name asks for, null for a fixed name; throws ERR_OPTIONS for anything else. */
function percentileOf(name: string): number | null {
  const match = PERCENTILE.exec(name);
  if (match === null) {
    if (STAT_NAMES.includes(name)) return null;
    throw new DataboxError('ERR_OPTIONS', `Unknown statistic "${name}"; valid: ${validNames()}`);
  }
  const p = Number(match[1]);
  if (p > 100) throw new DataboxError('ERR_OPTIONS', `Statistic ${name} asks for the ${p}th percentile; NN in pNN must be in 0..100`);
  return p;
}

/**
 * Parses a comma-separated list such as `count,sum,p10,p90,histogram` into statistic names, duplicates
 * removed, percentiles written canonically (`p10.0` → `p10`). Throws ERR_OPTIONS naming a bad name.
 */
export function parseStats(text: string): StatName[] {
  const names: StatName[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const p = percentileOf(item);
    const name = p === null ? item : `p${p}`;
    if (!names.includes(name)) names.push(name);
  }
  if (names.length === 0) throw new DataboxError('ERR_OPTIONS', `No statistic named in "${text}"; valid: ${validNames()}`);
  return names;
}

/**
 * Computes the named statistics of one zone from its (merged) partial, in the order named. Throws
 * ERR_ZONAL_PARTIAL for a malformed partial, ERR_OPTIONS for a bad name or option.
 */
export function computeStats(partial: ZonalPartial, stats: readonly StatName[], options: ZonalStatsOptions = {}): ZoneStats {
  const bins = options.bins ?? 10;
  if (!Number.isSafeInteger(bins) || bins < 1) throw new DataboxError('ERR_OPTIONS', `options.bins must be a positive integer (got ${bins})`);
  const percentiles = stats.map(percentileOf);
  const { set, nodata } = fromPartial(partial);
  const zone = new Zone(set);
  const out: ZoneStats = {};
  stats.forEach((name, i) => {
    const p = percentiles[i]!;
    if (name === 'count') out[name] = zone.count;
    else if (name === 'nodata') out[name] = nodata;
    else if (zone.count === 0) out[name] = null;
    else if (p !== null) out[name] = zone.percentile(p);
    else if (name === 'sum') out[name] = zone.sum();
    else if (name === 'mean') out[name] = zone.mean();
    else if (name === 'min') out[name] = set.values[0]!;
    else if (name === 'max') out[name] = set.values[set.length - 1]!;
    else if (name === 'std') out[name] = zone.std();
    else if (name === 'median') out[name] = zone.median();
    else out[name] = zone.histogram(bins);
  });
  return out;
}

/** One zone's multiset with the sums and cumulative counts its statistics share, each made on first use. */
class Zone {
  readonly count: number;
  private total: number | undefined;
  private cumulative: Float64Array | undefined;

  constructor(private readonly set: Multiset) {
    let count = 0;
    for (let i = 0; i < set.length; i++) count += set.counts[i]!;
    this.count = count;
  }

  sum(): number {
    if (this.total !== undefined) return this.total;
    const { values, counts, length } = this.set;
    const low = values[0] === Number.NEGATIVE_INFINITY;
    const high = values[length - 1] === Number.POSITIVE_INFINITY;
    if (low || high) this.total = low && high ? Number.NaN : values[low ? 0 : length - 1]!;
    else this.total = sumOfProducts(values, counts, 0, length);
    return this.total;
  }

  mean(): number {
    return this.sum() / this.count;
  }

  std(): number {
    const { values, counts, length } = this.set;
    if (length === 1 && Number.isFinite(values[0])) return 0;
    const mean = this.mean();
    const squares = new ExactSum();
    let infinite = false;
    for (let i = 0; i < length; i++) {
      const d = values[i]! - mean;
      const term = counts[i]! * (d * d);
      // As in numpy: a NaN deviation (∞ − ∞) makes std NaN, else an infinite one makes it ∞.
      if (term !== term) return Number.NaN;
      if (term === Infinity) infinite = true;
      else squares.add(term);
    }
    return infinite ? Infinity : Math.sqrt(squares.value() / this.count);
  }

  /** The value at 0-based position k of the sorted pixels. */
  private at(k: number): number {
    const { values, counts, length } = this.set;
    if (this.cumulative === undefined) {
      this.cumulative = new Float64Array(length);
      let sum = 0;
      for (let i = 0; i < length; i++) this.cumulative[i] = sum += counts[i]!;
    }
    const cum = this.cumulative;
    let lo = 0;
    let hi = length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cum[mid]! > k) hi = mid;
      else lo = mid + 1;
    }
    return values[lo]!;
  }

  /** np.median: the middle value, or the mean of the two middle values, which numpy takes as (a + b) / 2. */
  median(): number {
    const n = this.count;
    const half = Math.floor(n / 2);
    return n % 2 === 1 ? this.at(half) : (this.at(half - 1) + this.at(half)) / 2;
  }

  /** np.percentile(x, p), method 'linear', reproduced operation for operation (numpy 1.24 `_quantile`). */
  percentile(p: number): number {
    const n = this.count;
    const virtual = (n - 1) * (p / 100);
    let previous = Math.floor(virtual);
    let a: number;
    let b: number;
    if (virtual >= n - 1) {
      // numpy takes the last value for both neighbours and sets the previous index to −1, which gamma sees.
      previous = -1;
      a = b = this.at(n - 1);
    } else {
      a = this.at(previous);
      b = this.at(previous + 1);
    }
    const gamma = virtual - previous;
    // numpy's _lerp: from the nearer end, so the result is monotonic and exact at both ends.
    const diff = b - a;
    return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
  }

  /** np.histogram(x, bins) with its default range, via numpy's linspace and its uniform-bin fast path. */
  histogram(bins: number): { edges: number[]; counts: number[] } | null {
    const { values, counts: multiplicity, length } = this.set;
    let first = values[0]!;
    let last = values[length - 1]!;
    if (!Number.isFinite(first) || !Number.isFinite(last)) return null;
    if (first === last) {
      first -= 0.5;
      last += 0.5;
    }
    const delta = last - first;
    const norm = bins / delta;
    if (!Number.isFinite(delta) || !Number.isFinite(norm) || !(delta > 0)) return null;
    // np.linspace(first, last, bins + 1): y = arange · step + start (arange / div · delta when step
    // underflows to 0), then the last edge set to stop.
    const step = delta / bins;
    const edges = new Array<number>(bins + 1);
    for (let i = 0; i < bins; i++) edges[i] = (step === 0 ? (i / bins) * delta : i * step) + first;
    edges[bins] = last;
    const counts = new Array<number>(bins).fill(0);
    for (let i = 0; i < length; i++) {
      const x = values[i]!;
      let index = Math.trunc((x - first) * norm);
      if (index === bins) index--;
      if (x < edges[index]!) index--;
      if (index !== bins - 1 && x >= edges[index + 1]!) index++;
      counts[index]! += multiplicity[i]!;
    }
    return { edges, counts };
  }
}
