import { z } from 'zod';

import { DataboxError } from '../errors.js';
import { parseOptions } from '../options.js';
import type { Task } from '../engine/tasks/builtins.js';
import { CogPartWriter, GeoTiff, assembleCog, cutTile, regionWindow, storedNodata, type CogOptions } from '../raster/index.js';
import { removeObject } from '../storage/index.js';
import { NDVI_DTYPES, NDVI_NODATA, computeNdvi, emptyNdviStats } from './ndvi.js';
import { checkSameGrid, ndviCogOptions } from './ndvi-file.js';

/**
 * The raster steps of a distributed `databox ndvi`, run by workers as built-in tasks:
 *
 * - `ndvi-window`: NDVI of one window of one scene (a block of whole output tiles), written as a COG
 *   part: its tiles compressed, with the overview tiles inside the block (see CogPartWriter). Returns the
 *   part's manifest and the window's NDVI statistics.
 * - `cog-assemble`: one scene's COG from its parts' compressed tiles, with no second compression of
 *   full-resolution data (see assembleCog); then the parts are deleted.
 *
 * Inputs come from a client over the network, so both parse them first and name what is wrong.
 */

const common = {
  scene: z.string().min(1),
  red: z.string().min(1),
  nir: z.string().min(1),
  dtype: z.enum(NDVI_DTYPES),
  blockSize: z.number().int().min(16).max(4096),
};
const regionSchema = z.strictObject({ col: z.number().int().nonnegative(), row: z.number().int().nonnegative(), cols: z.number().int().positive(), rows: z.number().int().positive() });

export const ndviWindowInputSchema = z.strictObject({ ...common, region: regionSchema, part: z.string().min(1) });
export type NdviWindowInput = z.infer<typeof ndviWindowInputSchema>;

export const cogAssembleInputSchema = z.strictObject({ ...common, out: z.string().min(1), parts: z.array(z.unknown()).min(1) });
export type CogAssembleInput = z.infer<typeof cogAssembleInputSchema>;

/** NDVI statistics as JSON carries them: min and max are null while no pixel is valid. */
export interface NdviWindowStats {
  valid: number;
  nodata: number;
  min: number | null;
  max: number | null;
  sum: number;
}

export interface NdviWindowResult {
  manifest: unknown;
  stats: NdviWindowStats;
  /** Time the subtask took on its worker. */
  ms: number;
}

export interface CogAssembleResult {
  url: string;
  bytes: number;
  levels: number;
  ms: number;
}

function parseInput<S extends z.ZodType>(schema: S, input: unknown, task: string): z.output<S> {
  return parseOptions(
    schema,
    input,
    (p) => {
      throw new DataboxError('ERR_TASK_INPUT', `builtin:${task}: ${p.name} ${p.problem} (got ${JSON.stringify(p.value) ?? String(p.value)})`);
    },
    'input',
  );
}

async function ndviWindow(raw: unknown, signal: AbortSignal): Promise<NdviWindowResult> {
  const started = performance.now();
  const input = parseInput(ndviWindowInputSchema, raw, 'ndvi-window');
  const opened: GeoTiff[] = [];
  try {
    const red = await GeoTiff.open(input.red, { signal });
    opened.push(red);
    const nir = await GeoTiff.open(input.nir, { signal });
    opened.push(nir);
    checkSameGrid(red, nir);
    const options = ndviCogOptions(red, input.dtype, input.blockSize);
    const writer = await CogPartWriter.create(input.part, options, input.region, { storage: { signal } });
    try {
      const b = input.blockSize;
      const window = regionWindow(input.region, red.width, red.height, b);
      const read = { window, bands: [0], signal };
      const [r, n] = await Promise.all([red.readWindow(read), nir.readWindow(read)]);
      const out = input.dtype === 'int16' ? new Int16Array(window.width * window.height) : new Float32Array(window.width * window.height);
      const stats = emptyNdviStats();
      computeNdvi(r.bands[0]!, n.bands[0]!, storedNodata(red.dtype, red.nodata), storedNodata(nir.dtype, nir.nodata), out, stats);
      const fill = NDVI_NODATA[input.dtype];
      const dtype = writer.options.dtype;
      const writes: Promise<void>[] = [];
      // Tiles of the window, cut from its rows of tiles; cutTile pads edge tiles with nodata.
      for (let ty = 0; ty < input.region.rows; ty++) {
        const y0 = ty * b;
        const rows = Math.min(b, window.height - y0);
        const band = out.subarray(y0 * window.width, (y0 + rows) * window.width);
        for (let tx = 0; tx < input.region.cols; tx++) {
          writes.push(writer.writeTile(input.region.col + tx, input.region.row + ty, cutTile([band], window.width, rows, tx, b, dtype, fill)));
        }
      }
      await Promise.all(writes);
      const manifest = await writer.finish();
      const valid = stats.valid > 0;
      return { manifest, stats: { valid: stats.valid, nodata: stats.nodata, min: valid ? stats.min : null, max: valid ? stats.max : null, sum: stats.sum }, ms: Math.round(performance.now() - started) };
    } catch (err) {
      await writer.abort();
      throw err;
    }
  } finally {
    await Promise.all(opened.map((g) => g.close()));
  }
}

async function cogAssemble(raw: unknown, signal: AbortSignal): Promise<CogAssembleResult> {
  const started = performance.now();
  const input = parseInput(cogAssembleInputSchema, raw, 'cog-assemble');
  const red = await GeoTiff.open(input.red, { signal });
  let options: CogOptions;
  try {
    options = ndviCogOptions(red, input.dtype, input.blockSize);
  } finally {
    await red.close();
  }
  const result = await assembleCog(input.out, options, input.parts, { signal });
  // The parts served their purpose; one left behind (a failed delete) is only wasted space.
  await Promise.all(input.parts.map((p) => removeObject((p as { url: string }).url).catch(() => undefined)));
  return { url: result.url, bytes: result.bytes, levels: result.levels.length, ms: Math.round(performance.now() - started) };
}

export const RASTER_TASKS: Readonly<Record<'ndvi-window' | 'cog-assemble', Task>> = {
  'ndvi-window': ({ input, signal }) => ndviWindow(input, signal),
  'cog-assemble': ({ input, signal }) => cogAssemble(input, signal),
};
