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
  type CogWriteResult,
  type RasterWindow,
  type Span,
} from '../raster/index.js';
import { checkSameGrid } from './grid.js';
import { outputCogOptions } from './output.js';
import { NDVI_NODATA, computeNdvi, emptyNdviStats, ndviOutput, type NdviDType, type NdviStats } from './ndvi.js';

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
    checkSameGrid([{ name: 'Red', raster: red }, { name: 'NIR', raster: nir }], 'NDVI');
    const writer = await CogWriter.create(options.out, { ...outputCogOptions(red, ndviOutput(dtype, options.blockSize ?? 512)), compression: options.compression ?? 'deflate' }, { codecs: pool });
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
