import type { Command } from 'commander';

import { COMPRESSIONS, DEFLATE_STRATEGIES, RESAMPLINGS, closeSharedCodecs, translate, type CogCompression, type DeflateStrategy, type OverviewResampling } from '../../raster/index.js';
import { closeSharedConnections } from '../../storage/index.js';
import { UsageError, type CliContext } from '../context.js';
import { blockOption, checkTiffName, choiceOption, intOption } from '../options.js';
import { formatBytes, progressBar } from '../view.js';

/** The bar's resolution: translate reports a fraction done. */
const PROGRESS_STEPS = 1000;

/** Levels each compression takes. */
const LEVELS: Partial<Record<CogCompression, [number, number]>> = { deflate: [1, 9], zstd: [1, 22] };

interface TranslateFlags {
  compress: CogCompression;
  level?: number;
  deflateStrategy: DeflateStrategy;
  block: number;
  overviews: OverviewResampling;
  bigtiff?: boolean;
}

/** `databox translate <in> <out>`: any readable GeoTIFF in, a Cloud Optimized GeoTIFF out, pixels unchanged. */
function defineTranslate(command: Command, { signal, io }: CliContext): void {
  command
    .argument('<in-url>', 'GeoTIFF to read (path, file://, http(s)://, s3://)')
    .argument('<out-url>', 'COG to write (path, file://, s3://)')
    .option('--compress <method>', `tile compression: ${COMPRESSIONS.join(', ')}`, choiceOption('--compress', COMPRESSIONS), 'deflate')
    .option('--level <n>', 'compression level (DEFLATE 1-9, default 6; ZSTD 1-22, default 9)', intOption('--level', 1, 22))
    .option(
      '--deflate-strategy <s>',
      "DEFLATE strategy: default (files within 1.05× of GDAL's at the same level) or fast (zlib run-length matching: faster, but 2-4× GDAL's size on blocky data)",
      choiceOption('--deflate-strategy', DEFLATE_STRATEGIES),
      'default',
    )
    .option('--block <n>', 'tile size in pixels, a multiple of 16', blockOption('--block'), 512)
    .option('--overviews <method>', `overview resampling: ${RESAMPLINGS.join(', ')}`, choiceOption('--overviews', RESAMPLINGS), 'average')
    .option('--bigtiff', 'always write BigTIFF (by default only when the file would pass 4 GiB)')
    .action(async (input: string, output: string, flags: TranslateFlags) => {
      checkTiffName(output, '<out-url>');
      const levels = LEVELS[flags.compress];
      if (flags.level !== undefined && (levels === undefined || flags.level < levels[0] || flags.level > levels[1])) {
        throw new UsageError(
          levels === undefined
            ? `--level applies to deflate and zstd only (got --compress ${flags.compress}).`
            : `--level must be ${levels[0]} to ${levels[1]} for --compress ${flags.compress} (got ${flags.level}).`,
        );
      }
      const started = performance.now();
      const progress = progressBar(io.stderr, 'translate');
      progress.update(0, PROGRESS_STEPS);
      try {
        const result = await translate(input, output, {
          compression: flags.compress,
          ...(flags.level !== undefined ? { level: flags.level } : {}),
          deflateStrategy: flags.deflateStrategy,
          blockSize: flags.block,
          overviews: flags.overviews,
          bigtiff: flags.bigtiff ? true : 'auto',
          onProgress: (f) => progress.update(Math.round(f * PROGRESS_STEPS), PROGRESS_STEPS),
          signal,
        });
        progress.stop();
        const levels = result.levels.map(([w, h]) => `${w}×${h}`).join(', ');
        io.stdout.write(
          `wrote ${result.url}: ${formatBytes(result.bytes)}, ${result.bigTiff ? 'BigTIFF' : 'classic TIFF'}, levels ${levels}, ` +
            `${((performance.now() - started) / 1000).toFixed(2)} s\n`,
        );
      } finally {
        progress.stop();
      }
    });
}

export const commands = { translate: defineTranslate };
export const close = (): Promise<unknown> => Promise.all([closeSharedConnections(), closeSharedCodecs()]);
