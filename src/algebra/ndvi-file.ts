import { DataboxError } from '../errors.js';
import {
  CodecPool,
  sharedCodecs,
  CogWriter,
  GeoTiff,
  cutTile,
  pipeline,
  planSpans,
  storedNodata,
  type CogCompression,
  type CogOptions,
  type CogWriteResult,
  type RasterWindow,
  type Span,
} from '../raster/index.js';
import { NDVI_NODATA, computeNdvi, emptyNdviStats, type NdviDType, type NdviStats } from './ndvi.js';

export interface NdviFileOptions {
  /** URL of the red band (Landsat 8/9: B4). */
  red: string;
  /** URL of the near-infrared band (Landsat 8/9: B5). */
  nir: string;
  /** URL of the COG to write. */
  out: string;
  /** @defaultValue 'float32' */
  dtype?: NdviDType;
  /** @defaultValue 'deflate' */
  compression?: CogCompression;
  /** Tile size of the output; @defaultValue 512 */
  blockSize?: number;
  /** Codec threads of a pool for this run only; @defaultValue the process's shared pool, one thread per core */
  threads?: number;
  /** Fraction done after each row of tiles. */
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

export interface NdviFileResult {
  write: CogWriteResult;
  width: number;
  height: number;
  epsg: number | null;
  stats: NdviStats;
}

/** Red and NIR bands that do not cover the same pixels. */
export class BandMismatchError extends DataboxError {
  constructor(message: string) {
    super('ERR_BAND_MISMATCH', message);
  }
}

/**
 * NDVI of two single-band rasters into a COG with the red band's grid. Streams by spans of a few tiles
 * (see planSpans): reads the next span while the current one is computed and written; decoding and
 * encoding run on the codec thread pool, so memory stays around a few tiles whatever the scene size.
 */
export async function ndviFile(options: NdviFileOptions): Promise<NdviFileResult> {
  const dtype = options.dtype ?? 'float32';
  const own = options.threads === undefined ? undefined : new CodecPool(options.threads);
  const pool = own ?? sharedCodecs;
  const open = { codecs: pool, ...(options.signal ? { signal: options.signal } : {}) };
  const opened: GeoTiff[] = [];
  try {
    const red = await GeoTiff.open(options.red, open);
    opened.push(red);
    const nir = await GeoTiff.open(options.nir, open);
    opened.push(nir);
    checkSameGrid(red, nir);
    const writer = await CogWriter.create(options.out, { ...ndviCogOptions(red, dtype, options.blockSize ?? 512), compression: options.compression ?? 'deflate' }, { codecs: pool });
    const stats = emptyNdviStats();
    try {
      const b = writer.options.blockSize;
      const spans = planSpans(red.width, red.height, b, [red.main, nir.main]);
      const read = ({ window }: Span): Promise<[RasterWindow, RasterWindow]> => {
        const opts = { window, bands: [0], ...(options.signal ? { signal: options.signal } : {}) };
        return Promise.all([red.readWindow(opts), nir.readWindow(opts)]);
      };
      const fill = NDVI_NODATA[dtype];
      const redNodata = storedNodata(red.dtype, red.nodata);
      const nirNodata = storedNodata(nir.dtype, nir.nodata);
      await pipeline(spans, read, async ([r, n], { row, col }, i) => {
        const out = dtype === 'int16' ? new Int16Array(r.width * r.height) : new Float32Array(r.width * r.height);
        computeNdvi(r.bands[0]!, n.bands[0]!, redNodata, nirNodata, out, stats);
        await Promise.all(
          Array.from({ length: Math.ceil(r.width / b) }, (_, k) =>
            writer.writeTile(col + k, row, cutTile([out], r.width, r.height, k, b, writer.options.dtype, fill)),
          ),
        );
        options.onProgress?.((i + 1) / spans.length);
      });
      const write = await writer.finish();
      return { write, width: red.width, height: red.height, epsg: red.crs?.epsg ?? null, stats };
    } catch (err) {
      await writer.abort();
      throw err;
    }
  } finally {
    await Promise.all(opened.map((g) => g.close()));
    await own?.close();
  }
}

/** The COG options of a scene's NDVI, from its red band: the one definition parts and assembly share. */
export function ndviCogOptions(red: GeoTiff, dtype: NdviDType, blockSize: number): CogOptions {
  return {
    width: red.width,
    height: red.height,
    dtype: dtype === 'int16' ? 'Int16' : 'Float32',
    geotransform: red.geotransform,
    epsg: red.crs?.epsg ?? null,
    geoKeys: red.geoKeys,
    nodata: NDVI_NODATA[dtype],
    compression: 'deflate',
    blockSize,
  };
}

/** Fails unless red and NIR cover the same pixels: size, geotransform and CRS. */
export function checkSameGrid(red: GeoTiff, nir: GeoTiff): void {
  if (red.width !== nir.width || red.height !== nir.height) {
    throw new BandMismatchError(
      `Red ${red.url} is ${red.width}×${red.height} but NIR ${nir.url} is ${nir.width}×${nir.height}; NDVI needs the same grid`,
    );
  }
  const a = red.geotransform;
  const b = nir.geotransform;
  if (a !== null && b !== null && a.some((v, i) => Math.abs(v - b[i]!) > 1e-6 * Math.max(1, Math.abs(v)))) {
    throw new BandMismatchError(
      `Red ${red.url} and NIR ${nir.url} have different geotransforms ([${a.join(', ')}] vs [${b.join(', ')}])`,
    );
  }
  if ((red.crs?.epsg ?? null) !== (nir.crs?.epsg ?? null)) {
    throw new BandMismatchError(`Red ${red.url} is EPSG:${red.crs?.epsg} but NIR ${nir.url} is EPSG:${nir.crs?.epsg}`);
  }
}
