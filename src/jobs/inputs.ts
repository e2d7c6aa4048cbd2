import { basename } from 'node:path';

import { DataboxError } from '../errors.js';
import { GeoTiff } from '../raster/index.js';
import { list, openSource, type SourceOptions } from '../storage/index.js';

/**
 * The inputs of a job: the files a glob names (one input each), the windows of a raster, and the scene
 * a band file belongs to.
 */

/** The files `pattern` names, one input each, sorted; see the storage layer's `list`. */
export function splitByFile(pattern: string, options: Pick<SourceOptions, 's3'> = {}): Promise<string[]> {
  return list(pattern, options);
}

/** One window of a raster: an input of a window job. */
export interface RasterWindowInput {
  url: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The raster at `url` cut into windows of about `blockSize` pixels, aligned to the file's own tiles (the
 * size is rounded up to whole tiles), row by row, so that each window reads whole tiles and no tile is
 * read by two windows. Edge windows are cut by the raster's edge.
 */
export async function splitByWindows(url: string, options: { blockSize?: number } & SourceOptions = {}): Promise<RasterWindowInput[]> {
  const { blockSize = 2048, ...sourceOptions } = options;
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new DataboxError('ERR_OPTIONS', `blockSize must be a positive integer (got ${blockSize})`);
  const source = openSource(url, sourceOptions);
  try {
    const tiff = await GeoTiff.open(source);
    const m = tiff.main;
    const stepX = Math.ceil(blockSize / m.blockWidth) * m.blockWidth;
    const stepY = Math.ceil(blockSize / m.blockHeight) * m.blockHeight;
    const windows: RasterWindowInput[] = [];
    for (let y = 0; y < tiff.height; y += stepY) {
      for (let x = 0; x < tiff.width; x += stepX) windows.push({ url, x, y, width: Math.min(stepX, tiff.width - x), height: Math.min(stepY, tiff.height - y) });
    }
    return windows;
  } finally {
    await source.close();
  }
}

/** A scene's name from a band file's name: the name without its extension and band suffix (`LC08_..._B4.TIF` → `LC08_...`). */
export function sceneName(url: string, band?: string): string {
  const name = basename(url.replace(/[?#].*$/, '')).replace(/\.[^.]+$/, '');
  const suffix = band === undefined ? /_B\w+$/i : new RegExp(`_${band}$`, 'i');
  return name.replace(suffix, '');
}
