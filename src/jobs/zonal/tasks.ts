import { z } from 'zod';

import { DataboxError } from '../../errors.js';
import type { TaskContext } from '../../engine/index.js';
import { parseTaskInput } from '../task-input.js';
import { GeoTiff, storedNodata, type TypedArray, type Window } from '../../raster/index.js';
import { ZoneAccumulator, blockGrid, encodePartial, rasterizeZone, type WirePartial } from '../../algebra/index.js';
import { pixelZoneFromWire, wireZoneSchema } from './wire.js';

/**
 * `zonal-tiles`, the built-in task of `databox zonal`: reads the blocks of its subtask (each once),
 * rasterises the zones over each (centre-in-pixel, or all-touched) and folds the pixels into one
 * accumulator per zone. Returns each zone's partial statistics in their compact wire form; the client
 * merges them exactly (see stats.ts).
 */

const unitSchema = z.strictObject({ zone: z.number().int().nonnegative(), y0: z.number().int().nonnegative(), y1: z.number().int().positive() });

export const zonalTilesInputSchema = z.strictObject({
  raster: z.string().min(1),
  /** From 0. */
  band: z.number().int().nonnegative(),
  allTouched: z.boolean(),
  tiles: z.array(z.strictObject({ col: z.number().int().nonnegative(), row: z.number().int().nonnegative(), units: z.array(unitSchema).min(1) })).min(1),
  zones: z.array(wireZoneSchema).min(1),
});
export type ZonalTilesInput = z.infer<typeof zonalTilesInputSchema>;

/** Blocks read ahead of the one being folded. */
const READ_AHEAD = 3;

export interface ZonalTilesResult {
  partials: { zone: number; partial: WirePartial }[];
  tiles: number;
  /** Bytes that arrived from storage (header and blocks): what crossed the network, not what was planned. */
  bytes: number;
  ms: number;
}

export async function zonalTiles({ input: raw, signal }: TaskContext): Promise<ZonalTilesResult> {
  const started = performance.now();
  const input = parseTaskInput(zonalTilesInputSchema, raw, 'zonal-tiles');
  const zones = new Map(input.zones.map((w) => [w.index, pixelZoneFromWire(w)]));
  const raster = await GeoTiff.open(input.raster, { signal });
  try {
    if (input.band >= raster.bands) throw new DataboxError('ERR_TASK_INPUT', `builtin:zonal-tiles: band ${input.band + 1} of ${input.raster} does not exist: it has ${raster.bands}`);
    const grid = blockGrid(raster, input.band);
    const nodata = storedNodata(raster.dtype, raster.nodata);
    const accumulators = new Map<number, ZoneAccumulator>();
    // Every block is checked before any is read.
    const windows = input.tiles.map((tile): Window => {
      if (tile.col >= grid.across || tile.row >= grid.down) throw new DataboxError('ERR_TASK_INPUT', `builtin:zonal-tiles: block ${tile.col},${tile.row} is outside the ${grid.across}×${grid.down} blocks of ${input.raster}`);
      const x = tile.col * grid.blockWidth;
      const y = tile.row * grid.blockHeight;
      return { x, y, width: Math.min(grid.blockWidth, grid.width - x), height: Math.min(grid.blockHeight, grid.height - y) };
    });
    // Blocks are read (and decoded on the codec threads) a few ahead of the one being folded, so the
    // threads never wait for this loop, nor this loop for them.
    const read = (i: number): Promise<TypedArray> | undefined => {
      const window = windows[i];
      if (window === undefined) return undefined;
      const pending = raster.readWindow({ window, bands: [input.band], signal }).then((r) => r.bands[0]!);
      pending.catch(() => undefined); // awaited in turn below; this keeps an early failure from counting as unhandled
      return pending;
    };
    const ahead = [...Array(READ_AHEAD).keys()].map(read);
    for (const [i, tile] of input.tiles.entries()) {
      signal.throwIfAborted();
      const values = await ahead.shift()!;
      ahead.push(read(i + READ_AHEAD));
      const { x, y, width, height } = windows[i]!;
      for (const unit of tile.units) {
        const zone = zones.get(unit.zone);
        if (zone === undefined) throw new DataboxError('ERR_TASK_INPUT', `builtin:zonal-tiles: block ${tile.col},${tile.row} names zone ${unit.zone}, which the input does not hold`);
        const y0 = Math.max(unit.y0, y);
        const y1 = Math.min(unit.y1, y + height);
        if (y1 <= y0) continue;
        const spans = rasterizeZone(zone, { x, y: y0, width, height: y1 - y0 }, { allTouched: input.allTouched, rasterSize: { width: grid.width, height: grid.height } });
        let acc = accumulators.get(unit.zone);
        if (acc === undefined) accumulators.set(unit.zone, (acc = new ZoneAccumulator(raster.dtype, nodata)));
        for (let k = 0; k < spans.length; k++) {
          const base = (spans.rows[k]! - y) * width - x;
          acc.addRun(values, base + spans.x0[k]!, base + spans.x1[k]!);
        }
      }
    }
    const partials = [...accumulators].map(([zone, acc]) => ({ zone, partial: encodePartial(acc.partial(), raster.dtype) }));
    return { partials, tiles: input.tiles.length, bytes: raster.bytesRead, ms: Math.round(performance.now() - started) };
  } finally {
    await raster.close();
  }
}
