import { z } from 'zod';
import { DataboxError } from '../../errors.js';
import { DEFLATE_STRATEGIES, type DeflateStrategy } from '../codecs/index.js';
import { DTYPES, type DType } from '../dtype.js';
import type { GeoKeyTagValues } from '../crs/index.js';
import type { GeoTransform } from '../georef.js';

export const COMPRESSIONS = ['deflate', 'lzw', 'zstd', 'none'] as const;
export type CogCompression = (typeof COMPRESSIONS)[number];
export const RESAMPLINGS = ['average', 'nearest', 'none'] as const;
export type OverviewResampling = (typeof RESAMPLINGS)[number];

/** What to write: the raster's shape and georeferencing, and how to encode it. */
export interface CogOptions {
  /** Raster size in pixels. */
  width: number;
  height: number;
  /** Number of bands (samples per pixel, written pixel-interleaved). @defaultValue 1 */
  bands?: number;
  /** GDAL type name. */
  dtype: DType;
  /** GDAL-order geotransform; @defaultValue none written */
  geotransform?: GeoTransform | null;
  /** EPSG code of the CRS, projected or geographic; @defaultValue none written */
  epsg?: number | null;
  /**
   * GeoKeys to write verbatim, e.g. copied from a source with a user-defined CRS; they take the place of
   * `epsg`'s. @defaultValue the keys GDAL writes for `epsg`
   */
  geoKeys?: GeoKeyTagValues | null;
  /** Nodata value (GDAL_NODATA); NaN allowed for floats. @defaultValue none */
  nodata?: number | null;
  /** Tile width and height in pixels, a multiple of 16. @defaultValue 512 */
  blockSize?: number;
  /** @defaultValue 'deflate' */
  compression?: CogCompression;
  /** Compression level: 1–9 for DEFLATE, 1–22 for ZSTD. @defaultValue 6 for DEFLATE, 9 for ZSTD */
  level?: number;
  /**
   * DEFLATE only: 'default' keeps tiles within 1.05× of GDAL's at the same level (level 9 aside, up to
   * 1.15×); 'fast' runs zlib's run-length strategy on predicted tiles up to level 6, about 3 times
   * faster to compress on imagery for a file about 1% larger, but 2 to 4 times GDAL's size on blocky
   * data (class maps, focal outputs, large nodata areas). See README.md, Benchmarks.
   * @defaultValue 'default'
   */
  deflateStrategy?: DeflateStrategy;
  /** Predictor: 2 for integers and 3 for floats when true. @defaultValue true unless compression is 'none' */
  predictor?: boolean;
  /** How overviews are computed, or 'none' for no overviews. @defaultValue 'average' */
  overviews?: OverviewResampling;
  /** Write BigTIFF: true, false, or 'auto' (when the file would pass 4 GiB). @defaultValue 'auto' */
  bigtiff?: boolean | 'auto';
  /** Directory for the temporary tile spool. @defaultValue the OS temp directory */
  tmpDir?: string;
}

/** CogOptions with every default filled in. */
export type ResolvedCogOptions = Required<Omit<CogOptions, 'geotransform' | 'epsg' | 'geoKeys' | 'nodata' | 'tmpDir' | 'level'>> & {
  geotransform: GeoTransform | null;
  epsg: number | null;
  geoKeys: GeoKeyTagValues | null;
  nodata: number | null;
  tmpDir: string | undefined;
  level: number;
};

export class CogOptionsError extends DataboxError {
  constructor(message: string) {
    super('ERR_COG_OPTIONS', message);
  }
}

const positiveInt = z.number().int().positive();
const schema = z.object({
  width: positiveInt,
  height: positiveInt,
  bands: positiveInt.max(65535).default(1),
  dtype: z.enum(DTYPES),
  geotransform: z.array(z.number().finite()).length(6).nullable().default(null),
  epsg: z.number().int().min(1024).max(999999).nullable().default(null),
  geoKeys: z
    .object({
      directory: z.array(z.number().int().min(0).max(65535)).min(4),
      doubles: z.array(z.number()),
      ascii: z.string(),
    })
    .nullable()
    .default(null),
  nodata: z.union([z.number(), z.nan(), z.literal(Infinity), z.literal(-Infinity)]).nullable().default(null),
  blockSize: positiveInt.max(4096).refine((n) => n % 16 === 0, 'must be a multiple of 16').default(512),
  compression: z.enum(COMPRESSIONS).default('deflate'),
  level: z.number().int().optional(),
  deflateStrategy: z.enum(DEFLATE_STRATEGIES).default('default'),
  predictor: z.boolean().optional(),
  overviews: z.enum(RESAMPLINGS).default('average'),
  bigtiff: z.union([z.boolean(), z.literal('auto')]).default('auto'),
  tmpDir: z.string().optional(),
});

/** Merges defaults and checks every option, naming the option and the bad value. */
export function resolveCogOptions(options: CogOptions): ResolvedCogOptions {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = issue.path.join('.');
    const value = issue.path.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k as string], options);
    const shown = typeof value === 'number' ? String(value) : JSON.stringify(value);
    throw new CogOptionsError(`options.${name} ${issue.message} (got ${shown})`);
  }
  const o = parsed.data;
  const levelRange = o.compression === 'zstd' ? [1, 22] : [1, 9];
  const level = o.level ?? (o.compression === 'zstd' ? 9 : 6);
  if (o.compression === 'deflate' || o.compression === 'zstd') {
    if (level < levelRange[0]! || level > levelRange[1]!) {
      throw new CogOptionsError(`options.level must be ${levelRange[0]}..${levelRange[1]} for ${o.compression} (got ${level})`);
    }
  }
  if (o.nodata !== null && Number.isNaN(o.nodata) && !o.dtype.startsWith('Float')) {
    throw new CogOptionsError(`options.nodata NaN needs a Float type (got dtype ${o.dtype})`);
  }
  return {
    width: o.width,
    height: o.height,
    bands: o.bands,
    dtype: o.dtype,
    geotransform: o.geotransform as GeoTransform | null,
    epsg: o.epsg,
    geoKeys: o.geoKeys,
    nodata: o.nodata,
    blockSize: o.blockSize,
    compression: o.compression,
    level,
    deflateStrategy: o.deflateStrategy,
    predictor: o.predictor ?? o.compression !== 'none',
    overviews: o.overviews,
    bigtiff: o.bigtiff,
    tmpDir: o.tmpDir,
  };
}

/** Sizes of every level: full resolution, then halvings until the largest side is at most 256 pixels. */
export function levelSizes(width: number, height: number, resampling: OverviewResampling): [number, number][] {
  const sizes: [number, number][] = [[width, height]];
  if (resampling === 'none') return sizes;
  let [w, h] = [width, height];
  while (Math.max(w, h) > 256) {
    w = Math.ceil(w / 2);
    h = Math.ceil(h / 2);
    sizes.push([w, h]);
  }
  return sizes;
}
