import { z } from 'zod';

import { DTYPES, allocate, dtypeInfo, type CogOptions, type DType, type GeoTiff, type TypedArray } from '../raster/index.js';

/**
 * What a map-algebra job writes: the output's pixel type, its nodata value, a scale applied before
 * integer types round (NDVI as Int16 stores NDVI × 10000), and the tile size. The grid (size,
 * geotransform, CRS) is always the inputs' own. Plain JSON, so it travels in subtask inputs: a NaN
 * nodata is written `"nan"`.
 */
export const outputSpecSchema = z.strictObject({
  dtype: z.enum(DTYPES),
  nodata: z.union([z.number(), z.literal('nan')]).nullable(),
  scale: z.number().positive().finite(),
  blockSize: z.number().int().min(16).max(4096).multipleOf(16),
});
export type OutputSpec = z.infer<typeof outputSpecSchema>;

/** The output types a user may ask for, by the names the CLI takes (`--dtype float32`). */
export const OUTPUT_DTYPES: Readonly<Record<string, DType>> = {
  uint8: 'Byte',
  int16: 'Int16',
  uint16: 'UInt16',
  int32: 'Int32',
  uint32: 'UInt32',
  float32: 'Float32',
  float64: 'Float64',
};

/**
 * The nodata value written when none is asked for: NaN for floats; for integers the end of the range
 * least likely to be a real value: the minimum of signed types, the maximum of unsigned ones.
 */
export function defaultNodata(dtype: DType): number | 'nan' {
  const info = dtypeInfo(dtype);
  if (info.float) return 'nan';
  return info.min < 0 ? info.min : info.max;
}

/** A spec with its defaults: NaN or the type's default nodata, scale 1, 512-pixel tiles. */
export function outputSpec(dtype: DType, options: { nodata?: number | null; scale?: number; blockSize?: number } = {}): OutputSpec {
  const nodata = options.nodata === undefined ? defaultNodata(dtype) : options.nodata !== null && Number.isNaN(options.nodata) ? 'nan' : options.nodata;
  return outputSpecSchema.parse({ dtype, nodata, scale: options.scale ?? 1, blockSize: options.blockSize ?? 512 });
}

export function nodataOf(spec: OutputSpec): number | null {
  return spec.nodata === 'nan' ? Number.NaN : spec.nodata;
}

/** The COG options of an output on `grid`'s pixels: the one definition window parts and assembly share. */
export function outputCogOptions(grid: GeoTiff, spec: OutputSpec): CogOptions {
  return {
    width: grid.width,
    height: grid.height,
    dtype: spec.dtype,
    geotransform: grid.geotransform,
    epsg: grid.crs?.epsg ?? null,
    geoKeys: grid.geoKeys,
    nodata: nodataOf(spec),
    compression: 'deflate',
    blockSize: spec.blockSize,
  };
}

/** Running statistics of the values written (before scaling), as JSON carries them: min and max are null while no pixel is valid. */
export interface ValueStats {
  valid: number;
  nodata: number;
  /** Valid values an integer output type could not hold, written as nodata. */
  outOfRange: number;
  min: number | null;
  max: number | null;
  sum: number;
}

export function emptyStats(): ValueStats {
  return { valid: 0, nodata: 0, outOfRange: 0, min: null, max: null, sum: 0 };
}

/**
 * Stores computed values (NaN meaning nodata) as the output type: floats as they are (Float32 rounds);
 * integers as `round(value × scale)`, and a value the type cannot hold becomes nodata and is counted in
 * `outOfRange`. Statistics are of the unscaled values written.
 */
export function encodeValues(values: Float64Array, spec: OutputSpec, stats: ValueStats): TypedArray {
  const out = allocate(spec.dtype, values.length);
  const info = dtypeInfo(spec.dtype);
  const fill = nodataOf(spec) ?? 0;
  const scale = spec.scale;
  let { valid, nodata, outOfRange, sum } = stats;
  let min = stats.min ?? Number.POSITIVE_INFINITY;
  let max = stats.max ?? Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v !== v) {
      out[i] = fill;
      nodata++;
      continue;
    }
    if (!info.float) {
      const stored = Math.round(v * scale);
      if (stored < info.min || stored > info.max) {
        out[i] = fill;
        nodata++;
        outOfRange++;
        continue;
      }
      out[i] = stored;
    } else {
      out[i] = scale === 1 ? v : v * scale;
    }
    valid++;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  Object.assign(stats, { valid, nodata, outOfRange, sum, min: valid > 0 ? min : null, max: valid > 0 ? max : null });
  return out;
}

/** Folds window statistics into one. */
export function mergeStats(all: readonly ValueStats[]): ValueStats {
  const total = emptyStats();
  for (const s of all) {
    total.valid += s.valid;
    total.nodata += s.nodata;
    total.outOfRange += s.outOfRange;
    total.sum += s.sum;
    if (s.min !== null) total.min = total.min === null ? s.min : Math.min(total.min, s.min);
    if (s.max !== null) total.max = total.max === null ? s.max : Math.max(total.max, s.max);
  }
  return total;
}
