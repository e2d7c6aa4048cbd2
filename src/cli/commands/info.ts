import type { Command } from 'commander';

import { closeSharedCodecs, openGeoTiff, type RasterInfo } from '../../raster/index.js';
import { closeSharedConnections } from '../../storage/index.js';
import type { CliContext } from '../context.js';

/** `databox info <url> [--json]`: what a raster holds, read from its header alone. */
function defineInfo(command: Command, { io }: CliContext): void {
  command
    .argument('<url>', 'path, file://, http(s):// or s3:// URL of a GeoTIFF')
    .option('--json', 'print one JSON object')
    .action(async (url: string, opts: { json?: boolean }) => {
      const tiff = await openGeoTiff(url);
      try {
        const info = tiff.info();
        io.stdout.write(opts.json ? `${JSON.stringify(info, jsonNumbers)}\n` : formatInfo(info));
      } finally {
        await tiff.close();
      }
    });
}

export const commands = { info: defineInfo };
export const close = (): Promise<unknown> => Promise.all([closeSharedConnections(), closeSharedCodecs()]);

/** JSON has no NaN or infinity; nodata NaN must not read as "no nodata", so they print as GDAL spells them. */
function jsonNumbers(_key: string, value: unknown): unknown {
  if (typeof value !== 'number' || Number.isFinite(value)) return value;
  return Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
}

export function formatInfo(i: RasterInfo): string {
  const lines = [
    `File: ${i.url}`,
    `Size: ${i.width} × ${i.height}, ${i.bands} band${i.bands === 1 ? '' : 's'} of ${i.dtype}`,
    `CRS: ${i.epsg !== null ? `EPSG:${i.epsg}` : 'none'}${i.proj ? ` (${i.proj})` : ''}`,
    `Geotransform: ${i.geotransform ? `[${i.geotransform.join(', ')}]` : 'none'}`,
    `Nodata: ${i.nodata ?? 'none'}`,
    `Layout: ${i.tiled ? 'tiles' : 'strips'} of ${i.block[0]} × ${i.block[1]}, INTERLEAVE=${i.interleave}, ${i.bigtiff ? 'BigTIFF' : 'classic TIFF'}`,
    `Compression: ${i.compression}${i.predictor !== 1 ? `, predictor ${i.predictor}` : ''}`,
    `Overviews: ${i.overviews.length === 0 ? 'none' : i.overviews.map(([w, h]) => `${w}×${h}`).join(', ')}`,
  ];
  return `${lines.join('\n')}\n`;
}
