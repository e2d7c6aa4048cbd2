import { CogWriter, type CogWriteResult } from './cog/writer.js';
import type { CogOptions } from './cog/options.js';
import { GeoTiff, type RasterWindow } from './geotiff.js';
import { cutTile } from './tiles.js';
import { pipeline } from './pipeline.js';
import type { CodecRunner } from './pool/codec-runner.js';

/** Encoding choices for {@link translate}; the shape, type and georeferencing come from the input. */
export type TranslateOptions = Pick<CogOptions, 'compression' | 'level' | 'blockSize' | 'overviews' | 'bigtiff' | 'predictor' | 'tmpDir'> & {
  /** Called after each row of tiles with the fraction done (0..1). */
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
  /** Where blocks are decoded and encoded; @defaultValue this thread */
  codecs?: CodecRunner;
};

/**
 * Any readable GeoTIFF in, a COG out, pixels unchanged. Streams by rows of tiles: the next row is read
 * while the current one is compressed, so memory holds a few rows of tiles.
 */
export async function translate(input: string, output: string, options: TranslateOptions = {}): Promise<CogWriteResult> {
  const { onProgress, signal, codecs, ...encoding } = options;
  const src = await GeoTiff.open(input, { ...(signal ? { signal } : {}), ...(codecs ? { codecs } : {}) });
  try {
    const writer = await CogWriter.create(output, {
      ...encoding,
      width: src.width,
      height: src.height,
      bands: src.bands,
      dtype: src.dtype,
      geotransform: src.geotransform,
      epsg: src.crs?.epsg ?? null,
      // The source's own keys, so a user-defined CRS (and GDAL's citations) survive unchanged.
      geoKeys: src.geoKeys,
      nodata: src.nodata,
    }, codecs ? { codecs } : {});
    try {
      const b = writer.options.blockSize;
      const readRow = (row: number): Promise<RasterWindow> =>
        src.readWindow({
          window: { x: 0, y: row * b, width: src.width, height: Math.min(b, src.height - row * b) },
          ...(signal ? { signal } : {}),
        });
      const rows = Array.from({ length: writer.tilesDown }, (_, row) => row);
      const fill = src.nodata ?? 0;
      await pipeline(rows, readRow, async (strip, row) => {
        await Promise.all(
          Array.from({ length: writer.tilesAcross }, (_, col) =>
            writer.writeTile(col, row, cutTile(strip.bands, strip.width, strip.height, col, b, src.dtype, fill)),
          ),
        );
        onProgress?.((row + 1) / writer.tilesDown);
      }, { maxPending: 1 }); // rows are wide (a scene's width of tiles): let one row's writes overlap the next
      return await writer.finish();
    } catch (err) {
      await writer.abort();
      throw err;
    }
  } finally {
    await src.close();
  }
}
