/**
 * The exact multiset of a zone's valid values, in memory (typed arrays) and on the wire (a JSON-safe
 * partial), and the merge of partials. See stats.ts for why partials are whole multisets.
 */
import { DataboxError } from '../../errors.js';

/**
 * One subtask's partial for one zone: every valid value it saw, with its multiplicity. JSON-safe: the
 * finite values are plain numbers (JSON keeps every finite double exactly; −0 is stored as 0), and the
 * infinities, which JSON cannot write, are counted apart.
 */
export interface ZonalPartial {
  /** Valid pixels (not nodata, not NaN), the infinite ones included. */
  count: number;
  /** Pixels of the zone that were nodata or NaN. */
  nodata: number;
  /** The distinct finite values, strictly ascending. */
  values: number[];
  /** How many pixels hold each of `values`, each a positive integer. */
  counts: number[];
  /** Pixels equal to −Infinity; omitted when none. */
  negInf?: number;
  /** Pixels equal to +Infinity; omitted when none. */
  posInf?: number;
}

/** A multiset in memory: `values[0..length)` strictly ascending (±Infinity at the ends), with counts. */
export interface Multiset {
  values: Float64Array;
  counts: Float64Array;
  length: number;
}

export function emptyMultiset(): Multiset {
  return { values: new Float64Array(0), counts: new Float64Array(0), length: 0 };
}

/** The union of two multisets, counts of equal values added. */
export function mergeTwo(a: Multiset, b: Multiset): Multiset {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const values = new Float64Array(a.length + b.length);
  const counts = new Float64Array(a.length + b.length);
  const av = a.values;
  const bv = b.values;
  let i = 0;
  let j = 0;
  let m = 0;
  while (i < a.length && j < b.length) {
    const x = av[i]!;
    const y = bv[j]!;
    if (x < y) {
      values[m] = x;
      counts[m++] = a.counts[i++]!;
    } else if (y < x) {
      values[m] = y;
      counts[m++] = b.counts[j++]!;
    } else {
      values[m] = x;
      counts[m++] = a.counts[i++]! + b.counts[j++]!;
    }
  }
  for (; i < a.length; i++, m++) {
    values[m] = av[i]!;
    counts[m] = a.counts[i]!;
  }
  for (; j < b.length; j++, m++) {
    values[m] = bv[j]!;
    counts[m] = b.counts[j]!;
  }
  return { values, counts, length: m };
}

/** The union of many multisets, merged pairwise in a balanced tree (n log k for k multisets). */
export function mergeMany(sets: Multiset[]): Multiset {
  let level = sets.filter((s) => s.length > 0);
  if (level.length === 0) return emptyMultiset();
  while (level.length > 1) {
    const next: Multiset[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? mergeTwo(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return level[0]!;
}

/** The JSON-safe partial of a multiset and a nodata count. */
export function toPartial(set: Multiset, nodata: number): ZonalPartial {
  let from = 0;
  let to = set.length;
  let count = 0;
  for (let i = 0; i < set.length; i++) count += set.counts[i]!;
  const partial: ZonalPartial = { count, nodata, values: [], counts: [] };
  if (to > 0 && set.values[0] === Number.NEGATIVE_INFINITY) partial.negInf = set.counts[from++]!;
  if (to > from && set.values[to - 1] === Number.POSITIVE_INFINITY) partial.posInf = set.counts[--to]!;
  partial.values = toArray(set.values, from, to);
  partial.counts = toArray(set.counts, from, to);
  return partial;
}

/** A plain array of typed[from..to): a filled array then a loop, several times faster than Array.from. */
function toArray(typed: Float64Array, from: number, to: number): number[] {
  const out = new Array<number>(to - from).fill(0);
  for (let i = from; i < to; i++) out[i - from] = typed[i]!;
  return out;
}

function fail(where: string, problem: string): never {
  throw new DataboxError('ERR_ZONAL_PARTIAL', `Malformed zonal partial${where}: ${problem}`);
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/**
 * Checks a partial that came from elsewhere (JSON from another node) and returns its multiset. `where`
 * names it in the error (e.g. ` #3`).
 */
export function fromPartial(p: unknown, where = ''): { set: Multiset; nodata: number } {
  if (typeof p !== 'object' || p === null) fail(where, `expected an object, got ${p === null ? 'null' : typeof p}`);
  const { count, nodata, values, counts, negInf = 0, posInf = 0 } = p as Record<string, unknown>;
  for (const [name, v] of [['count', count], ['nodata', nodata], ['negInf', negInf], ['posInf', posInf]] as const) {
    if (!isCount(v)) fail(where, `${name} must be a non-negative integer (got ${JSON.stringify(v)})`);
  }
  if (!Array.isArray(values) || !Array.isArray(counts)) fail(where, 'values and counts must be arrays');
  if (values.length !== counts.length) fail(where, `values has ${values.length} entries but counts has ${counts.length}`);
  const low = negInf as number;
  const high = posInf as number;
  const length = values.length + (low > 0 ? 1 : 0) + (high > 0 ? 1 : 0);
  const set: Multiset = { values: new Float64Array(length), counts: new Float64Array(length), length };
  let m = 0;
  if (low > 0) {
    set.values[0] = Number.NEGATIVE_INFINITY;
    set.counts[m++] = low;
  }
  let total = low + high;
  let previous = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++, m++) {
    const v: unknown = values[i];
    const c: unknown = counts[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(where, `values[${i}] is ${JSON.stringify(v)}, not a finite number`);
    if (!(v > previous)) fail(where, `values must be strictly ascending, but values[${i}]=${v} follows ${previous}`);
    if (!isCount(c) || c === 0) fail(where, `counts[${i}] is ${JSON.stringify(c)}, not a positive integer`);
    set.values[m] = v === 0 ? 0 : v;
    set.counts[m] = c;
    total += c;
    previous = v;
  }
  if (high > 0) {
    set.values[m] = Number.POSITIVE_INFINITY;
    set.counts[m] = high;
  }
  if (total !== count) fail(where, `count is ${count as number} but the counts add up to ${total}`);
  return { set, nodata: nodata as number };
}

/**
 * Merges partials of one zone into one partial: the union of their multisets and the sum of their nodata
 * counts. Exact, so any grouping and any order give the same result. Throws ERR_ZONAL_PARTIAL naming the first
 * malformed partial and what is wrong with it.
 */
export function mergePartials(parts: readonly ZonalPartial[]): ZonalPartial {
  let nodata = 0;
  const sets = parts.map((p, i) => {
    const parsed = fromPartial(p, ` #${i}`);
    nodata += parsed.nodata;
    return parsed.set;
  });
  const merged = mergeMany(sets);
  const partial = toPartial(merged, nodata);
  if (!Number.isSafeInteger(partial.count) || !Number.isSafeInteger(nodata)) {
    throw new DataboxError('ERR_ZONAL_PARTIAL', `Merged zonal partial counts pass 2^53 (count ${partial.count}, nodata ${nodata})`);
  }
  return partial;
}
