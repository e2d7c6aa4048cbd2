import { z } from 'zod';

import type { PixelZone } from '../../algebra/index.js';

/**
 * A zone in pixel space as a subtask input carries it: its index and its polygons' rings as arrays of
 * numbers (JSON writes doubles in their shortest exact form, so the worker rasterises the very same
 * coordinates the client planned with).
 */
export const wireZoneSchema = z.strictObject({
  index: z.number().int().nonnegative(),
  polygons: z.array(z.array(z.array(z.number().finite()).refine((r) => r.length >= 6 && r.length % 2 === 0, 'a ring is at least three [x, y] pairs, flat'))),
});
export type WireZone = z.infer<typeof wireZoneSchema>;

export function pixelZoneToWire(index: number, zone: PixelZone): WireZone {
  return { index, polygons: zone.polygons.map((rings) => rings.map((ring) => Array.from(ring))) };
}

export function pixelZoneFromWire(wire: WireZone): PixelZone {
  return { index: wire.index, id: wire.index, polygons: wire.polygons.map((rings) => rings.map((ring) => Float64Array.from(ring))) };
}
