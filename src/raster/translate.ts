import { CogWriter, type CogWriteResult } from './cog/writer.js';
import type { CogOptions } from './cog/options.js';
import { GeoTiff, type RasterWindow } from './geotiff.js';
import { cutTile } from './tiles.js';
import { storedNodata } from './dtype.js';
import { pipeline } from './pipeline.js';
import { planSpans, type Span } from './spans.js';
import type { CodecRunner } from './pool/codec-runner.js';

/** Encoding choices for {@link translate}; the shape, type and georeferencing come from the input. */
export type TranslateOptions = Pick<CogOptions, 'compression' | 'level' | 'deflateStrategy' | 'blockSize' | 'overviews' | 'bigtiff' | 'predictor' | 'tmpDir'> & {
  /** Called after each row of tiles with the fraction done (0..1). */
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
  /** Where blocks are decoded and encoded; @defaultValue this thread */
  codecs?: CodecRunner;
};

/**
 * Any readable GeoTIFF in, a COG out, pixels unchanged. Streams by spans of a few tiles (see
 * planSpans): the next span is read while the current one is compressed, so memory stays bounded by tiles.
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
      const spans = planSpans(src.width, src.height, b, [src.main]);
      const read = ({ window }: Span): Promise<RasterWindow> => src.readWindow({ window, ...(signal ? { signal } : {}) });
      const fill = storedNodata(src.dtype, src.nodata) ?? 0;
      await pipeline(spans, read, async (strip, { row, col }, i) => {
        await Promise.all(
          Array.from({ length: Math.ceil(strip.width / b) }, (_, k) =>
            writer.writeTile(col + k, row, cutTile(strip.bands, strip.width, strip.height, k, b, src.dtype, fill)),
          ),
        );
        onProgress?.((i + 1) / spans.length);
      });
      return await writer.finish();
    } catch (err) {
      await writer.abort();
      throw err;
    }
  } finally {
    await src.close();
  }
}
