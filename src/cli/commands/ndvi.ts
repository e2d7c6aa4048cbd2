import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { NDVI_DTYPES, ndviFile, type NdviDType } from '../../algebra/index.js';
import { choiceOption, formatBytes } from '../options.js';
import { progressBar } from '../progress.js';

/** `databox ndvi --red <url> --nir <url> --out <url>`: NDVI of one scene on this machine, both cores. */
export function registerNdvi(program: Command, { signal }: CliContext): void {
  program
    .command('ndvi')
    .description('NDVI = (NIR - Red) / (NIR + Red) of one scene into a COG, on every core of this machine')
    .requiredOption('--red <url>', 'red band (Landsat 8/9: B4)')
    .requiredOption('--nir <url>', 'near-infrared band (Landsat 8/9: B5)')
    .requiredOption('--out <url>', 'COG to write')
    .option('--dtype <type>', 'float32 (nodata NaN) or int16 (NDVI × 10000, nodata -32768)', choiceOption('--dtype', NDVI_DTYPES), 'float32')
    .action(async (flags: { red: string; nir: string; out: string; dtype: NdviDType }) => {
      const started = performance.now();
      const progress = progressBar('ndvi');
      try {
        const r = await ndviFile({ ...flags, onProgress: (f) => progress.update(f), signal });
        progress.stop();
        const s = r.stats;
        const seconds = (performance.now() - started) / 1000;
        const mean = s.valid > 0 ? s.sum / s.valid : Number.NaN;
        process.stdout.write(
          [
            `NDVI ${flags.red}`,
            `   & ${flags.nir}`,
            `  -> ${r.write.url}`,
            `  ${r.width} × ${r.height} pixels, ${flags.dtype === 'int16' ? 'Int16 (NDVI × 10000)' : 'Float32'}, ${r.epsg !== null ? `EPSG:${r.epsg}` : 'no EPSG code'}, ` +
              `${r.write.levels.length - 1} overview${r.write.levels.length === 2 ? '' : 's'}`,
            `  valid ${s.valid} pixels, nodata ${s.nodata}`,
            `  NDVI min ${fmt(s.min)}  mean ${fmt(mean)}  max ${fmt(s.max)}`,
            `  wrote ${formatBytes(r.write.bytes)} in ${seconds.toFixed(2)} s`,
            '',
          ].join('\n'),
        );
      } finally {
        progress.stop();
      }
    });
}

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toFixed(4) : 'n/a';
}
