import { z } from 'zod';

import type { TaskContext } from '../engine/index.js';
import { CogPartWriter, GeoTiff, assembleCog, cutTile, regionWindow, type CogOptions } from '../raster/index.js';
import { removeObject } from '../storage/index.js';
import { OpRasters, checkOp, emptyStats, encodeValues, nodataOf, opSchema, outputCogOptions, outputSpecSchema, type ValueStats } from '../algebra/index.js';
import { parseTaskInput } from './task-input.js';

/**
 * The raster steps of a distributed map-algebra job (`databox ndvi`, `calc`, `chlorophyll`, `focal`),
 * run by workers as built-in tasks:
 *
 * - `raster-window`: one op over one window of one scene (a block of whole output tiles, read with the
 *   op's halo), written as a COG part: its tiles compressed, with the overview tiles inside the block (see
 *   CogPartWriter). Returns the part's manifest and the window's value statistics.
 * - `cog-assemble`: one scene's COG from its parts' compressed tiles, with no second compression of
 *   full-resolution data (see assembleCog); then the parts are deleted.
 *
 * Inputs come from a client over the network, so both parse them first and name what is wrong.
 */

const regionSchema = z.strictObject({ col: z.number().int().nonnegative(), row: z.number().int().nonnegative(), cols: z.number().int().positive(), rows: z.number().int().positive() });

export const windowTaskInputSchema = z.strictObject({ scene: z.string().min(1), op: opSchema, output: outputSpecSchema, region: regionSchema, part: z.string().min(1) });
export type WindowTaskInput = z.infer<typeof windowTaskInputSchema>;

/** `grid`: the raster whose grid the output has (the op's first band). */
export const cogAssembleInputSchema = z.strictObject({ scene: z.string().min(1), grid: z.string().min(1), output: outputSpecSchema, out: z.string().min(1), parts: z.array(z.unknown()).min(1) });
export type CogAssembleInput = z.infer<typeof cogAssembleInputSchema>;

export interface RasterWindowResult {
  manifest: unknown;
  stats: ValueStats;
  /** Bytes that arrived from storage for the inputs (headers included). */
  bytesRead: number;
  /** Time the subtask took on its worker. */
  ms: number;
}

export interface CogAssembleResult {
  url: string;
  bytes: number;
  levels: number;
  ms: number;
}

async function rasterWindow(raw: unknown, signal: AbortSignal): Promise<RasterWindowResult> {
  const started = performance.now();
  const input = parseTaskInput(windowTaskInputSchema, raw, 'raster-window');
  checkOp(input.op);
  const rasters = await OpRasters.open(input.op, signal);
  try {
    const grid = rasters.grid;
    const writer = await CogPartWriter.create(input.part, outputCogOptions(grid, input.output), input.region, { storage: { signal } });
    try {
      const b = input.output.blockSize;
      const window = regionWindow(input.region, grid.width, grid.height, b);
      const values = await rasters.compute(window, signal);
      const stats = emptyStats();
      const out = encodeValues(values, input.output, stats);
      const fill = nodataOf(input.output) ?? 0;
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
      return { manifest, stats, bytesRead: rasters.bytesRead, ms: Math.round(performance.now() - started) };
    } catch (err) {
      await writer.abort();
      throw err;
    }
  } finally {
    await rasters.close();
  }
}

async function cogAssemble(raw: unknown, signal: AbortSignal): Promise<CogAssembleResult> {
  const started = performance.now();
  const input = parseTaskInput(cogAssembleInputSchema, raw, 'cog-assemble');
  const grid = await GeoTiff.open(input.grid, { signal });
  let options: CogOptions;
  try {
    options = outputCogOptions(grid, input.output);
  } finally {
    await grid.close();
  }
  const result = await assembleCog(input.out, options, input.parts, { signal });
  // The parts served their purpose; one left behind (a failed delete) is only wasted space.
  await Promise.all(input.parts.map((p) => removeObject((p as { url: string }).url).catch(() => undefined)));
  return { url: result.url, bytes: result.bytes, levels: result.levels.length, ms: Math.round(performance.now() - started) };
}

/** The window job's worker tasks (see tasks.ts). */
export const windowTasks = {
  'raster-window': ({ input, signal }: TaskContext) => rasterWindow(input, signal),
  'cog-assemble': ({ input, signal }: TaskContext) => cogAssemble(input, signal),
};
