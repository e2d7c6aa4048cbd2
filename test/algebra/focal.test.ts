import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FOCAL_OPS, FOCAL_SHAPES, FocalError, focal, resolveFocalOptions, type FocalInput, type FocalOp, type FocalShape } from '../../src/algebra/focal.js';
import { medianOf } from '../../src/algebra/focal-median.js';
import type { TypedArray } from '../../src/raster/index.js';
import { REAL, tempDir } from '../helpers/fixtures.js';
import { GDAL_PYTHON } from '../helpers/gdal.js';
import { prng } from '../helpers/prng.js';

const tmp = tempDir('focal');
afterAll(() => tmp.remove());

const hasScipy = spawnSync(GDAL_PYTHON, ['-c', 'import osgeo.gdal, scipy.ndimage'], { stdio: 'ignore' }).status === 0;

/** Same value, bit for bit (NaN equals NaN, 0 differs from −0). */
function mismatches(actual: Float64Array, expected: Float64Array | number[], label: string, rel = 0, limit = 3): string[] {
  const bad: string[] = [];
  for (let i = 0; i < expected.length && bad.length < limit; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const ok = rel === 0 ? Object.is(a, e) : (Number.isNaN(a) && Number.isNaN(e)) || Math.abs(a - e) <= rel * Math.max(Math.abs(a), Math.abs(e));
    if (!ok) bad.push(`${label} pixel ${i}: ${a} ≠ ${e}`);
  }
  if (actual.length !== expected.length) bad.push(`${label}: ${actual.length} values, expected ${expected.length}`);
  return bad;
}

function whole(input: FocalInput, op: FocalOp, radius: number, shape: FocalShape = 'square'): Float64Array {
  return focal(input, { x: 0, y: 0, width: input.width, height: input.height }, { op, radius, shape });
}

/**
 * The reference, from one Python run: each fixture as float64 with NaN for nodata, through
 * scipy.ndimage.generic_filter with numpy's nan-statistics, NaN padding outside, and then NaN where the
 * window has no valid pixel (nansum gives 0 there) or the centre is nodata. Crops keep the run to seconds.
 */
const REFERENCE_PY = String.raw`
import json, sys, warnings
import numpy as np
from scipy import ndimage
from osgeo import gdal
gdal.UseExceptions()
out, real = sys.argv[1], sys.argv[2]
ds = gdal.Open(real + '/landsat7/L7_ETMs.tif')
l7 = ds.GetRasterBand(4).ReadAsArray()[150:202, 120:172]
ds = gdal.Open(real + '/elev.tif')
band = ds.GetRasterBand(1)
nd = band.GetNoDataValue()
elev = band.ReadAsArray()[0:44, 0:52]
# A float version with a nodata value of its own and a block of NaN as well.
sub = elev[4:40, 8:44]
elevf = (sub * 0.1 + 0.05).astype(np.float32)
elevf[sub == nd] = -9999
elevf[20:25, 6:11] = np.nan
fixtures = {'l7': (l7, None), 'elev': (elev, nd), 'elevf': (elevf, -9999.0)}
fns = dict(mean=np.nanmean, median=np.nanmedian, min=np.nanmin, max=np.nanmax, stddev=np.nanstd, sum=np.nansum)
meta = {}
for name, (a, nodata) in fixtures.items():
    a = np.ascontiguousarray(a)
    a.tofile(out + '/' + name + '.raw')
    meta[name] = dict(width=a.shape[1], height=a.shape[0], dtype=str(a.dtype), nodata=nodata)
    f = a.astype(np.float64)
    invalid = np.isnan(f) | (f == nodata if nodata is not None else False)
    f[invalid] = np.nan
    for R in (1, 2, 3):
        dy, dx = np.mgrid[-R:R + 1, -R:R + 1]
        for shape in ('square', 'circle'):
            fp = np.ones(dx.shape, bool) if shape == 'square' else dx * dx + dy * dy <= R * R
            count = ndimage.correlate((~invalid).astype(np.float64), fp.astype(np.float64), mode='constant', cval=0)
            for op, fn in fns.items():
                with warnings.catch_warnings():
                    warnings.simplefilter('ignore', RuntimeWarning)
                    r = ndimage.generic_filter(f, fn, footprint=fp, mode='constant', cval=np.nan)
                r[(count == 0) | invalid] = np.nan
                r.astype('<f8').tofile(out + '/' + name + '_' + op + '_' + str(R) + '_' + shape + '.f64')
json.dump(meta, open(out + '/meta.json', 'w'))
`;

const ARRAYS = { uint8: Uint8Array, int16: Int16Array, float32: Float32Array } as const;

describe.skipIf(!hasScipy)('focal against scipy.ndimage on real rasters', () => {
  const dir = join(tmp.dir, 'scipy');
  let meta: Record<string, { width: number; height: number; dtype: keyof typeof ARRAYS; nodata: number | null }>;

  beforeAll(() => {
    const script = join(tmp.dir, 'reference.py');
    writeFileSync(script, REFERENCE_PY);
    execFileSync('mkdir', ['-p', dir]);
    execFileSync(GDAL_PYTHON, [script, dir, REAL], { stdio: ['ignore', 'ignore', 'inherit'] });
    meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as typeof meta;
  });

  function load(name: string): FocalInput {
    const m = meta[name]!;
    const bytes = new Uint8Array(readFileSync(join(dir, `${name}.raw`)));
    return { values: new ARRAYS[m.dtype](bytes.buffer), width: m.width, height: m.height, nodata: m.nodata };
  }

  function compare(name: string, sumRel: number): string[] {
    const input = load(name);
    const bad: string[] = [];
    for (const radius of [1, 2, 3]) {
      for (const shape of FOCAL_SHAPES) {
        for (const op of FOCAL_OPS) {
          const expected = new Float64Array(new Uint8Array(readFileSync(join(dir, `${name}_${op}_${radius}_${shape}.f64`))).buffer);
          const rel = op === 'stddev' ? 1e-12 : op === 'sum' || op === 'mean' ? sumRel : 0;
          bad.push(...mismatches(whole(input, op, radius, shape), expected, `${name} ${op} R=${radius} ${shape}`, rel));
        }
      }
    }
    return bad;
  }

  it('equals them exactly on Landsat 7 band 4 (Byte), stddev within 1e-12', () => {
    expect(compare('l7', 0)).toEqual([]);
  });

  it('equals them exactly on an Int16 DEM with a nodata collar, which stays nodata', () => {
    expect(compare('elev', 0)).toEqual([]);
    const input = load('elev');
    const mean = whole(input, 'mean', 3, 'circle');
    const nodata = [...input.values].filter((v) => v === -32768).length;
    expect(nodata).toBeGreaterThan(100);
    expect(mean.filter((v) => Number.isNaN(v)).length).toBe(nodata);
  });

  it('agrees on Float32 with nodata and NaN holes: min, max and median exactly, sums within 1e-12', () => {
    expect(compare('elevf', 1e-12)).toEqual([]);
  });
});

/** A window plus its halo of `radius`, clipped at the raster's edges, as its own array: what a job reads. */
function withHalo(input: FocalInput, x: number, y: number, width: number, height: number, radius: number) {
  const hx0 = Math.max(0, x - radius);
  const hy0 = Math.max(0, y - radius);
  const hx1 = Math.min(input.width, x + width + radius);
  const hy1 = Math.min(input.height, y + height + radius);
  const Ctor = input.values.constructor as new (n: number) => TypedArray;
  const values = new Ctor((hx1 - hx0) * (hy1 - hy0));
  for (let r = hy0; r < hy1; r++) values.set(input.values.subarray(r * input.width + hx0, r * input.width + hx1), (r - hy0) * (hx1 - hx0));
  return { sub: { values, width: hx1 - hx0, height: hy1 - hy0, nodata: input.nodata }, inner: { x: x - hx0, y: y - hy0, width, height } };
}

function splitMismatches(input: FocalInput, seed: number): string[] {
  const rand = prng(seed);
  const bad: string[] = [];
  for (const radius of [1, 2, 5]) {
    for (const shape of FOCAL_SHAPES) {
      for (const op of FOCAL_OPS) {
        const full = whole(input, op, radius, shape);
        const windows: [number, number, number, number][] = [[input.width - 7, input.height - 5, 7, 5]];
        for (let i = 0; i < 6; i++) {
          const x = Math.floor(rand() * input.width);
          const y = Math.floor(rand() * input.height);
          windows.push([x, y, 1 + Math.floor(rand() * (input.width - x)), 1 + Math.floor(rand() * (input.height - y))]);
        }
        for (const [x, y, w, h] of windows) {
          const { sub, inner } = withHalo(input, x, y, w, h, radius);
          const part = focal(sub, inner, { op, radius, shape });
          const expected = new Float64Array(w * h);
          for (let j = 0; j < h; j++) expected.set(full.subarray((y + j) * input.width + x, (y + j) * input.width + x + w), j * w);
          bad.push(...mismatches(part, expected, `${op} R=${radius} ${shape} window ${x},${y} ${w}×${h}`));
        }
      }
    }
  }
  return bad;
}

describe('focal on a window with its halo', () => {
  it('gives the bits of the whole-raster result on UInt16 with nodata holes', () => {
    const rand = prng(7);
    const [width, height] = [61, 53];
    const values = new Uint16Array(width * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        values[y * width + x] = rand() < 0.08 ? 0 : Math.round(30000 + 20000 * Math.sin(x / 7) * Math.cos(y / 5) + 3000 * rand());
      }
    }
    values.fill(0, 20 * width + 10, 20 * width + 30);
    expect(splitMismatches({ values, width, height, nodata: 0 }, 11)).toEqual([]);
  });

  it('gives the bits of the whole-raster result on Float32 with NaN and nodata holes, where summation order shows', () => {
    const rand = prng(8);
    const [width, height] = [57, 49];
    const values = new Float32Array(width * height);
    for (let i = 0; i < values.length; i++) {
      const u = rand();
      // Magnitudes from 1e-6 to 1e6 (more bits than float64 holds once summed) make float sums round
      // differently in any other order; ±0 tests min and max ties.
      values[i] = u < 0.06 ? Number.NaN : u < 0.1 ? -9999 : u < 0.12 ? (u < 0.11 ? -0 : 0) : (rand() - 0.5) * 10 ** (rand() * 12 - 6);
    }
    expect(splitMismatches({ values, width, height, nodata: -9999 }, 12)).toEqual([]);
  });
});

describe('focal at the edges of its rules', () => {
  it('gives nodata everywhere for an all-nodata input', () => {
    const input = { values: new Int16Array(20).fill(-1), width: 5, height: 4, nodata: -1 };
    for (const op of FOCAL_OPS) for (const shape of FOCAL_SHAPES) expect(whole(input, op, 2, shape).every(Number.isNaN)).toBe(true);
  });

  it('uses the whole raster when the radius is larger than it, leaving nodata out', () => {
    const input = { values: new Uint8Array([1, 2, 9, 4, 255, 8]), width: 3, height: 2, nodata: 255 };
    const valid = [1, 2, 9, 4, 8];
    const expectAll = (op: FocalOp, v: number) => expect([...whole(input, op, 40)]).toEqual([v, v, v, v, Number.NaN, v]);
    expectAll('sum', 24);
    expectAll('mean', 24 / 5);
    expectAll('min', 1);
    expectAll('max', 9);
    expectAll('median', 4);
    const mean = 24 / 5;
    expectAll('stddev', Math.sqrt(valid.reduce((q, v) => q + (v - mean) ** 2, 0) / 5));
  });

  it('returns the value itself for a 1 × 1 raster, and 0 for its deviation', () => {
    const input = { values: new Float32Array([2.5]), width: 1, height: 1, nodata: null };
    const expected: Record<FocalOp, number> = { mean: 2.5, median: 2.5, min: 2.5, max: 2.5, sum: 2.5, stddev: 0 };
    for (const op of FOCAL_OPS) for (const shape of FOCAL_SHAPES) expect(whole(input, op, 3, shape)[0]).toBe(expected[op]);
  });

  it('keeps a nodata centre nodata, even among valid neighbours', () => {
    const input = { values: new Uint16Array([5, 5, 5, 5, 0, 5, 5, 5, 5]), width: 3, height: 3, nodata: 0 };
    for (const op of FOCAL_OPS) expect(whole(input, op, 1)[4]).toBeNaN();
    const nan = { ...input, values: new Float64Array([5, 5, 5, 5, Number.NaN, 5, 5, 5, 5]), nodata: null };
    for (const op of FOCAL_OPS) expect(whole(nan, op, 1, 'circle')[4]).toBeNaN();
  });

  it('uses the centre alone when it is the only valid pixel of its window', () => {
    const values = new Int32Array(25).fill(-5);
    values[12] = 42;
    const input = { values, width: 5, height: 5, nodata: -5 };
    const expected: Record<FocalOp, number> = { mean: 42, median: 42, min: 42, max: 42, sum: 42, stddev: 0 };
    for (const op of FOCAL_OPS) {
      for (const shape of FOCAL_SHAPES) {
        const out = whole(input, op, 2, shape);
        expect(out[12]).toBe(expected[op]);
        expect(out.filter((v) => !Number.isNaN(v)).length).toBe(1);
      }
    }
  });

  it('takes the mean of the two middle values for an even count, as numpy does', () => {
    expect([...whole({ values: new Uint8Array([1, 4]), width: 2, height: 1, nodata: null }, 'median', 1)]).toEqual([2.5, 2.5]);
    // 7 × 7, one corner nodata: the centre's square R=3 window has 48 values, enough for selection over sorting.
    const values = new Float64Array(49).map((_, i) => ((i * 37) % 49) * 1.5);
    values[0] = Number.NaN;
    const sorted = [...values].filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
    expect(whole({ values, width: 7, height: 7, nodata: null }, 'median', 3)[24]).toBe((sorted[23]! + sorted[24]!) / 2);
  });

  it('finds the same median as a full sort for counts from 1 to 300, ties included', () => {
    const rand = prng(3);
    const scratch = new Float64Array(300);
    for (let n = 1; n <= 300; n++) {
      const vals = Array.from({ length: n }, () => Math.floor(rand() * (n < 50 ? 5 : 1000)) / 4);
      const sorted = [...vals].sort((a, b) => a - b);
      const expected = n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
      scratch.set(vals);
      expect(medianOf(scratch, n)).toBe(expected);
    }
    expect(medianOf(scratch, 0)).toBeNaN();
  });

  it('matches Float32 pixels against the nodata value rounded to single precision', () => {
    const input = { values: new Float32Array([0.1, 1, 3]), width: 3, height: 1, nodata: 0.1 };
    expect([...whole(input, 'sum', 1)]).toEqual([Number.NaN, 4, 4]);
  });
});

describe('focal options', () => {
  const input = { values: new Uint8Array(12), width: 4, height: 3, nodata: null };
  const all = { x: 0, y: 0, width: 4, height: 3 };

  it('defaults to the square shape', () => {
    expect(resolveFocalOptions({ op: 'sum', radius: 1 })).toEqual({ op: 'sum', radius: 1, shape: 'square' });
  });

  it('rejects a bad op, radius or shape, naming the option and the value', () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ op: 'avg', radius: 1 }, 'options.op must be one of mean, median, min, max, stddev, sum (got "avg")'],
      [{ op: 'mean', radius: 0 }, 'options.radius must be an integer from 1 to 64 (got 0)'],
      [{ op: 'mean', radius: 1.5 }, 'options.radius must be an integer from 1 to 64 (got 1.5)'],
      [{ op: 'mean', radius: 65 }, 'options.radius must be an integer from 1 to 64 (got 65)'],
      [{ op: 'mean', radius: 2, shape: 'hexagon' }, 'options.shape must be one of square, circle (got "hexagon")'],
    ];
    for (const [options, message] of bad) {
      const call = () => focal(input, all, options as never);
      expect(call).toThrow(FocalError);
      expect(call).toThrow(message);
      expect(() => resolveFocalOptions(options as never)).toThrow(expect.objectContaining({ code: 'ERR_OPTIONS' }) as Error);
    }
  });

  it('rejects an inner window outside the input, or an output of the wrong size', () => {
    expect(() => focal(input, { x: 2, y: 0, width: 3, height: 3 }, { op: 'min', radius: 1 })).toThrow('The inner window x=2 y=0 width=3 height=3 is not within the 4 × 3 input');
    expect(() => focal({ ...input, width: 5 }, all, { op: 'min', radius: 1 })).toThrow('got 5 × 3 and 12 values');
    expect(() => focal(input, all, { op: 'min', radius: 1 }, new Float64Array(11))).toThrow(expect.objectContaining({ code: 'ERR_FOCAL_INPUT' }) as Error);
    const out = new Float64Array(12);
    expect(focal(input, all, { op: 'min', radius: 1 }, out)).toBe(out);
  });
});
