import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { computeStats, mergePartials, parseStats, STAT_NAMES, ZoneAccumulator, type ZonalPartial, type ZoneStats } from '../../src/algebra/zonal/stats.js';
import { DataboxError } from '../../src/errors.js';
import { allocate, type DType, type TypedArray } from '../../src/raster/dtype.js';
import { tempDir } from '../helpers/fixtures.js';
import { GDAL_PYTHON } from '../helpers/gdal.js';
import { prng } from '../helpers/prng.js';

const tmp = tempDir('zonal-stats');
afterAll(() => tmp.remove());

const PERCENTILES = [0, 10, 33.3, 50, 90, 100, 0.1, 12.345, 99.9];
const ALL = [...STAT_NAMES, ...PERCENTILES.map((p) => `p${p}`)];
const NUMPY_DTYPE: Record<DType, string> = { Byte: 'u1', Int16: '<i2', UInt16: '<u2', Int32: '<i4', UInt32: '<u4', Float32: '<f4', Float64: '<f8' };

/** A zone's pixels and nodata, checked against numpy on the valid ones as float64. */
interface Case {
  name: string;
  dtype: DType;
  nodata: number | null;
  data: TypedArray;
  bins: number;
  /** More percentiles to check than the usual ones. */
  percentiles?: number[];
}

/** The next double above (`up`) or below `x`, for values on either side of a bin edge. */
function nextAfter(x: number, up: boolean): number {
  if (x === 0) return up ? 5e-324 : -5e-324;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigInt64(0, view.getBigInt64(0) + ((x > 0) === up ? 1n : -1n));
  return view.getFloat64(0);
}

/** Values on and beside numpy's bin edges of (first, last) in `bins`, where rounding decides the bin. */
function onEdges(first: number, last: number, bins: number): Float64Array {
  const values = [first, last];
  const step = (last - first) / bins;
  for (let k = 1; k < bins; k++) {
    for (const edge of [k * step + first, first + (k / bins) * (last - first), first + k * ((last - first) / bins)]) {
      if (edge > first && edge < last) values.push(edge, nextAfter(edge, true), nextAfter(edge, false));
    }
  }
  return Float64Array.from(values);
}

function fill(dtype: DType, n: number, value: (i: number) => number): TypedArray {
  const a = allocate(dtype, n);
  for (let i = 0; i < n; i++) a[i] = value(i);
  return a;
}

function makeCases(): Case[] {
  const r = prng(20240611);
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const floats32 = [0, -0, Number.NaN, -9999];
  return [
    { name: 'uint8 with nodata 0', dtype: 'Byte', nodata: 0, bins: 10, data: fill('Byte', 100_000, () => int(0, 255)) },
    { name: 'int16 with nodata -32768', dtype: 'Int16', nodata: -32768, bins: 7, data: fill('Int16', 200_000, () => (r() < 0.1 ? -32768 : int(-32768, 32767) >> int(0, 12))) },
    // Few values, each held by ~80,000 pixels.
    { name: 'uint16 with large counts', dtype: 'UInt16', nodata: 65535, bins: 10, data: fill('UInt16', 4_000_000, () => pick([0, 1, 17, 300, 4095, 9999, 30000, 65534, 65535, 123]) + (r() < 0.5 ? 0 : int(0, 40))) },
    { name: 'uint16 in a small zone (buffered, not dense)', dtype: 'UInt16', nodata: null, bins: 3, data: fill('UInt16', 3000, () => int(0, 65535)) },
    // 1.5 million pixels over 2,000 values: folded while being added.
    { name: 'int32 folded as it goes', dtype: 'Int32', nodata: -9999, bins: 10, data: fill('Int32', 1_500_000, () => (r() < 0.01 ? -9999 : int(-1000, 999) * 1_000_003)) },
    { name: 'int32 over its whole range', dtype: 'Int32', nodata: null, bins: 13, data: fill('Int32', 100_000, () => int(-2147483648, 2147483647)) },
    { name: 'uint32 over its whole range', dtype: 'UInt32', nodata: 0, bins: 10, data: fill('UInt32', 100_000, () => (r() < 0.3 ? pick([0, 1, 4294967295, 2147483648]) : int(0, 4294967295))) },
    {
      name: 'float32 with negatives, ties, -0, NaN and many duplicates',
      dtype: 'Float32',
      nodata: -9999,
      bins: 10,
      data: fill('Float32', 1_200_000, () => (r() < 0.6 ? int(-800, 800) / 8 : r() < 0.5 ? (r() - 0.5) * 2000 : pick(floats32))),
    },
    { name: 'float32, nearly all distinct', dtype: 'Float32', nodata: null, bins: 25, data: fill('Float32', 300_000, () => (r() - 0.3) * 10 ** int(-6, 6)) },
    { name: 'float64 across exponents, NaN as nodata', dtype: 'Float64', nodata: null, bins: 10, data: fill('Float64', 200_000, () => (r() < 0.02 ? Number.NaN : (r() - 0.5) * 10 ** int(-20, 20))) },
    { name: 'float64 near the ends of its range', dtype: 'Float64', nodata: null, bins: 10, data: fill('Float64', 5000, () => pick([1e300, -1e300, 5e-324, 1e-300, 1]) * (r() + 0.5)) },
    { name: 'float64 with an even count', dtype: 'Float64', nodata: null, bins: 4, data: Float64Array.from([3, 1, 2, 5.5]) },
    { name: 'float64 with an odd count', dtype: 'Float64', nodata: null, bins: 4, data: Float64Array.from([0.1, 0.7, 0.2]) },
    { name: 'a single value', dtype: 'Float32', nodata: null, bins: 10, data: Float32Array.from([0.1]) },
    { name: 'all values equal (integers)', dtype: 'Int16', nodata: null, bins: 10, data: fill('Int16', 9, () => 7) },
    { name: 'all values equal (floats)', dtype: 'Float64', nodata: null, bins: 5, data: fill('Float64', 5, () => 2.5) },
    { name: 'float64 on and beside the bin edges of (0, 1)', dtype: 'Float64', nodata: null, bins: 10, data: onEdges(0, 1, 10) },
    { name: 'float64 on and beside the bin edges of (-0.7, 2.3)', dtype: 'Float64', nodata: null, bins: 7, data: onEdges(-0.7, 2.3, 7) },
    { name: 'float64 on and beside the bin edges of (0.1, 0.7)', dtype: 'Float64', nodata: null, bins: 100, data: onEdges(0.1, 0.7, 100) },
    { name: 'float64 on and beside the bin edges of (-3.3, 1e4)', dtype: 'Float64', nodata: null, bins: 49, data: onEdges(-3.3, 1e4, 49) },
    { name: 'float32 near the bin edges of (-3.3, 1e4)', dtype: 'Float32', nodata: null, bins: 49, data: Float32Array.from(onEdges(-3.3, 1e4, 49)) },
    {
      name: 'float64 at 400 percentiles',
      dtype: 'Float64',
      nodata: null,
      bins: 10,
      data: fill('Float64', 37, () => (r() - 0.4) * 10 ** int(-3, 3)),
      percentiles: Array.from({ length: 400 }, () => Number((r() * 100).toFixed(int(0, 4)))),
    },
    { name: 'float32 at 400 percentiles', dtype: 'Float32', nodata: null, bins: 10, data: fill('Float32', 1001, () => r() * 3 - 1), percentiles: Array.from({ length: 400 }, () => Number((r() * 100).toFixed(3))) },
    { name: 'float64 whose middle values overflow when added', dtype: 'Float64', nodata: null, bins: 10, data: Float64Array.from([1e308, 1.7e308]) },
    { name: 'float64 whose middle values are subnormal', dtype: 'Float64', nodata: null, bins: 10, data: Float64Array.from([5e-324, 1.5e-323, 5e-324, 1e-323]) },
    { name: 'float32 with +Infinity', dtype: 'Float32', nodata: null, bins: 10, data: Float32Array.from([1, 2, Infinity, 3, Infinity]) },
    { name: 'float32 with both infinities', dtype: 'Float32', nodata: null, bins: 10, data: Float32Array.from([-Infinity, 1, 2, Infinity, 3]) },
  ];
}

const CASES = makeCases();

/** numpy's (and math.fsum's) answers, one Python process for every case. */
const REFERENCE = `
import json, math, sys
from fractions import Fraction
import numpy as np
cases = json.load(open(sys.argv[1]))
out = {}
f = lambda v: repr(float(v))
def fsum(x):
    # math.fsum refuses a sum beyond float64's range; the correctly rounded answer there is ±inf.
    try:
        return math.fsum(x)
    except OverflowError:
        return math.inf if sum(Fraction(v) for v in x) > 0 else -math.inf
for c in cases:
    raw = np.fromfile(c['file'], dtype=c['dtype'])
    valid = raw == raw
    if c['nodata'] is not None:
        valid &= raw != np.array(c['nodata'], dtype=raw.dtype)
    x = raw[valid].astype(np.float64) + 0.0
    res = {'count': int(x.size), 'nodata': int(raw.size - x.size), 'numpy': np.__version__}
    if x.size:
        finite = bool(np.isfinite(x).all())
        res['min'] = f(x.min()); res['max'] = f(x.max())
        with np.errstate(all='ignore'):
            res['sum'] = f(fsum(x) if finite else x.sum())
            res['npsum'] = f(x.sum())
            res['mean'] = f((fsum(x) if finite else x.sum()) / x.size)
            res['std'] = f(np.std(x))
            res['median'] = f(np.median(x))
            res['p'] = {str(p): f(np.percentile(x, p)) for p in c['percentiles']}
        try:
            with np.errstate(all='ignore'):
                counts, edges = np.histogram(x, bins=c['bins'])
            res['histogram'] = {'edges': [f(e) for e in edges], 'counts': [int(k) for k in counts]}
        except (ValueError, IndexError):
            # A range that is not finite, or too narrow to divide: numpy fails, and we give null.
            res['histogram'] = None
    out[c['name']] = res
json.dump(out, open(sys.argv[2], 'w'))
`;

interface Reference {
  count: number;
  nodata: number;
  numpy: string;
  sum: string;
  npsum: string;
  mean: string;
  min: string;
  max: string;
  std: string;
  median: string;
  p: Record<string, string>;
  histogram: { edges: string[]; counts: number[] } | null;
}

/** Python's repr of a float, as a number. */
function num(text: string): number {
  return text === 'nan' ? Number.NaN : text === 'inf' ? Infinity : text === '-inf' ? -Infinity : Number(text);
}

let reference: Record<string, Reference> = {};

beforeAll(() => {
  const list = CASES.map((c, i) => {
    const file = join(tmp.dir, `case${i}.bin`);
    writeFileSync(file, new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength));
    return { name: c.name, file, dtype: NUMPY_DTYPE[c.dtype], nodata: c.nodata, bins: c.bins, percentiles: [...PERCENTILES, ...(c.percentiles ?? [])] };
  });
  const script = join(tmp.dir, 'reference.py');
  writeFileSync(script, REFERENCE);
  writeFileSync(join(tmp.dir, 'cases.json'), JSON.stringify(list));
  execFileSync(GDAL_PYTHON, [script, join(tmp.dir, 'cases.json'), join(tmp.dir, 'reference.json')], { stdio: ['ignore', 'ignore', 'inherit'] });
  reference = JSON.parse(readFileSync(join(tmp.dir, 'reference.json'), 'utf8')) as Record<string, Reference>;
}, 120_000);

/** The zone's partial from one accumulator fed in random runs, as a subtask would. */
function accumulate(c: Pick<Case, 'dtype' | 'nodata' | 'data'>, seed: number, from = 0, to = c.data.length): ZonalPartial {
  const r = prng(seed);
  const acc = new ZoneAccumulator(c.dtype, c.nodata);
  for (let i = from; i < to; ) {
    const end = Math.min(to, i + 1 + Math.floor(r() * (r() < 0.9 ? 300 : 100_000)));
    acc.addRun(c.data, i, end);
    i = end;
  }
  return acc.partial();
}

describe('computeStats against numpy', () => {
  for (const c of CASES) {
    it(`matches numpy for ${c.name}`, () => {
      const ref = reference[c.name]!;
      expect(ref.numpy).toBe('1.24.2');
      const percentiles = [...PERCENTILES, ...(c.percentiles ?? [])];
      const stats: ZoneStats = computeStats(accumulate(c, 1), [...STAT_NAMES, ...percentiles.map((p) => `p${p}`)], { bins: c.bins });
      expect(stats.count).toBe(ref.count);
      expect(stats.nodata).toBe(ref.nodata);
      expect(stats.sum).toBe(num(ref.sum));
      expect(stats.mean).toBe(num(ref.mean));
      if (!c.dtype.startsWith('Float')) expect(stats.sum).toBe(num(ref.npsum));
      expect(stats.min).toBe(num(ref.min));
      expect(stats.max).toBe(num(ref.max));
      expect(stats.median).toBe(num(ref.median));
      for (const p of percentiles) expect(stats[`p${p}`], `p${p}`).toBe(num(ref.p[String(p)]!));
      const std = stats.std as number;
      const expected = num(ref.std);
      if (Number.isFinite(expected) && expected !== 0) expect(Math.abs(std - expected) / expected).toBeLessThanOrEqual(1e-12);
      else expect(std).toBe(expected);
      if (ref.histogram === null) expect(stats.histogram).toBeNull();
      else expect(stats.histogram).toEqual({ edges: ref.histogram.edges.map(num), counts: ref.histogram.counts });
    });
  }

  it('gives an integer sum beyond 2^53 exactly rounded, as exact integer arithmetic does', () => {
    const r = prng(7);
    const values = Array.from({ length: 65536 }, (_, i) => i);
    const counts = values.map(() => 1 + Math.floor(r() * 2 ** 31));
    const count = counts.reduce((a, b) => a + b, 0);
    const partial = mergePartials([{ count, nodata: 0, values, counts }]);
    let exact = 0n;
    for (let i = 0; i < values.length; i++) exact += BigInt(values[i]!) * BigInt(counts[i]!);
    expect(exact > 2n ** 53n).toBe(true);
    const stats = computeStats(partial, ['sum', 'mean', 'min', 'max']);
    expect(stats.sum).toBe(Number(exact));
    expect(stats.mean).toBe(Number(exact) / count);
    expect([stats.min, stats.max]).toEqual([0, 65535]);
  });
});

/** Cuts [0, n) into random pieces, accumulates each on its own and merges the partials in a random tree. */
function splitAndMerge(c: Case, seed: number): ZonalPartial {
  const r = prng(seed);
  const n = c.data.length;
  const cuts = [0, n];
  for (let k = Math.floor(r() * 12); k > 0; k--) cuts.push(Math.floor(r() * n));
  cuts.sort((a, b) => a - b);
  let parts: ZonalPartial[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) parts.push(accumulate(c, seed + i, cuts[i], cuts[i + 1]));
  while (parts.length > 1) {
    // Shuffle, then merge a random group into one partial, sent as JSON like a node's result.
    parts = parts.map((p) => ({ p, k: r() })).sort((a, b) => a.k - b.k).map(({ p }) => p);
    const take = 2 + Math.floor(r() * (parts.length - 1));
    const merged = JSON.parse(JSON.stringify(mergePartials(parts.slice(0, take)))) as ZonalPartial;
    parts = [merged, ...parts.slice(take)];
  }
  return parts[0]!;
}

describe('merging partials', () => {
  for (const c of CASES.filter((x) => x.data.length >= 1000)) {
    it(`gives ${c.name} the same partial and statistics however the zone is split and merged`, () => {
      const whole = accumulate(c, 99);
      const wholeStats = computeStats(whole, ALL, { bins: c.bins });
      for (let seed = 1; seed <= 3; seed++) {
        const merged = splitAndMerge(c, seed * 1000);
        expect(merged).toEqual(whole);
        expect(computeStats(merged, ALL, { bins: c.bins })).toEqual(wholeStats);
      }
    });
  }

  it('keeps infinities through JSON, counted apart from the finite values', () => {
    const c = CASES.find((x) => x.name === 'float32 with both infinities')!;
    const partial = accumulate(c, 3);
    expect(partial).toEqual({ count: 5, nodata: 0, values: [1, 2, 3], counts: [1, 1, 1], negInf: 1, posInf: 1 });
    expect(mergePartials([JSON.parse(JSON.stringify(partial)) as ZonalPartial, partial])).toEqual({ count: 10, nodata: 0, values: [1, 2, 3], counts: [2, 2, 2], negInf: 2, posInf: 2 });
  });

  it('merges no partials into an empty one', () => {
    expect(mergePartials([])).toEqual({ count: 0, nodata: 0, values: [], counts: [] });
  });
});

describe('edge cases', () => {
  it('gives an empty zone count 0 and null for every other statistic', () => {
    const partial = new ZoneAccumulator('Float32', null).partial();
    expect(partial).toEqual({ count: 0, nodata: 0, values: [], counts: [] });
    const stats = computeStats(partial, ALL);
    expect(stats.count).toBe(0);
    expect(stats.nodata).toBe(0);
    for (const name of ALL.filter((s) => s !== 'count' && s !== 'nodata')) expect(stats[name], name).toBeNull();
  });

  it('counts a zone of nodata pixels as nodata, with no values', () => {
    for (const dtype of ['Byte', 'Int16', 'UInt16', 'Int32', 'Float64'] as const) {
      const band = fill(dtype, 10_000, () => 3);
      const acc = new ZoneAccumulator(dtype, 3);
      acc.addRun(band, 0, 6000);
      acc.addRun(band, 6000, 10_000);
      const partial = acc.partial();
      expect(partial, dtype).toEqual({ count: 0, nodata: 10_000, values: [], counts: [] });
      expect(computeStats(partial, ['count', 'nodata', 'mean', 'histogram'])).toEqual({ count: 0, nodata: 10_000, mean: null, histogram: null });
    }
  });

  it('counts NaN as nodata whatever the nodata value, and stores -0 as 0', () => {
    const band = Float32Array.from([Number.NaN, 1, -0, Number.NaN, 0, 5, 5]);
    const none = new ZoneAccumulator('Float32', null);
    none.addRun(band, 0, band.length);
    expect(none.partial()).toEqual({ count: 5, nodata: 2, values: [0, 1, 5], counts: [2, 1, 2] });
    const five = new ZoneAccumulator('Float32', 5);
    five.addRun(band, 0, band.length);
    expect(five.partial()).toEqual({ count: 3, nodata: 4, values: [0, 1], counts: [2, 1] });
    expect(Object.is(five.partial().values[0], 0)).toBe(true);
  });

  it('keeps accumulating after a partial is taken', () => {
    const band = Uint16Array.from({ length: 10_000 }, (_, i) => i % 100);
    const acc = new ZoneAccumulator('UInt16', null);
    acc.addRun(band, 0, 5000);
    expect(acc.partial().count).toBe(5000);
    acc.addRun(band, 5000, 10_000);
    expect(acc.partial()).toEqual({ count: 10_000, nodata: 0, values: Array.from({ length: 100 }, (_, i) => i), counts: new Array<number>(100).fill(100) });
  });

  it('refuses a band of another type and a run outside the band', () => {
    const acc = new ZoneAccumulator('UInt16', null);
    expect(() => acc.addRun(new Int16Array(4), 0, 4)).toThrow(/ZoneAccumulator for UInt16 pixels was given a Int16Array/);
    expect(() => acc.addRun(new Uint16Array(4), 2, 5)).toThrow('Run 2..5 is outside the band');
  });
});

describe('parseStats', () => {
  it('reads a comma-separated list, drops duplicates and writes percentiles canonically', () => {
    expect(parseStats('count,sum,p10,p90,histogram')).toEqual(['count', 'sum', 'p10', 'p90', 'histogram']);
    expect(parseStats(' mean , p10.0, p10, p33.30,mean,p0,p100 ')).toEqual(['mean', 'p10', 'p33.3', 'p0', 'p100']);
  });

  it('names a bad statistic and lists the valid ones', () => {
    const bad = (text: string): DataboxError => {
      try {
        parseStats(text);
      } catch (err) {
        expect(err).toBeInstanceOf(DataboxError);
        return err as DataboxError;
      }
      throw new Error(`parseStats accepted ${text}`);
    };
    const unknown = bad('count,avg');
    expect(unknown.code).toBe('ERR_OPTIONS');
    expect(unknown.message).toBe('Unknown statistic "avg"; valid: count, nodata, sum, mean, min, max, std, median, histogram, or pNN for a percentile with NN in 0..100 (p10, p33.3)');
    expect(bad('p101').message).toMatch(/^Statistic p101 asks for the 101th percentile; NN in pNN must be in 0\.\.100/);
    expect(bad('p-5').message).toMatch(/Unknown statistic "p-5"/);
    expect(bad(' , ').message).toMatch(/^No statistic named/);
  });

  it('is what computeStats checks its names and options with', () => {
    const partial = { count: 1, nodata: 0, values: [1], counts: [1] };
    expect(() => computeStats(partial, ['avg'])).toThrow(/Unknown statistic "avg"/);
    expect(() => computeStats(partial, ['histogram'], { bins: 0 })).toThrow('options.bins must be a positive integer (got 0)');
  });
});

describe('mergePartials on malformed partials', () => {
  const good: ZonalPartial = { count: 3, nodata: 1, values: [1, 2], counts: [1, 2] };
  const cases: [string, unknown, RegExp][] = [
    ['a non-object', 'x', /#1: expected an object, got string/],
    ['values out of order', { ...good, values: [2, 1] }, /#1: values must be strictly ascending, but values\[1\]=1 follows 2/],
    ['a repeated value', { ...good, values: [2, 2] }, /strictly ascending/],
    ['arrays of different lengths', { ...good, counts: [3] }, /#1: values has 2 entries but counts has 1/],
    ['a count that disagrees', { ...good, count: 4 }, /#1: count is 4 but the counts add up to 3/],
    ['a zero count', { ...good, counts: [0, 3] }, /#1: counts\[0\] is 0, not a positive integer/],
    ['a negative nodata', { ...good, nodata: -1 }, /#1: nodata must be a non-negative integer \(got -1\)/],
    ['a value that is not a number', { ...good, values: [1, null] }, /#1: values\[1\] is null, not a finite number/],
    ['missing arrays', { count: 0, nodata: 0 }, /#1: values and counts must be arrays/],
  ];
  for (const [what, bad, message] of cases) {
    it(`throws a DataboxError naming ${what}`, () => {
      let caught: unknown;
      try {
        mergePartials([good, bad as ZonalPartial]);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(DataboxError);
      expect((caught as DataboxError).code).toBe('ERR_ZONAL_PARTIAL');
      expect((caught as DataboxError).message).toMatch(message);
    });
  }
});
