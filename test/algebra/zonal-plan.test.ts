import { describe, expect, it } from 'vitest';

import { maxPartialBytes, planZonal, type BlockGrid, type PixelZone } from '../../src/algebra/index.js';
import type { DType } from '../../src/raster/index.js';
import { prng } from '../helpers/prng.js';

/** A square zone in pixel space, x0..x1 × y0..y1. */
function square(index: number, x0: number, y0: number, x1: number, y1: number): PixelZone {
  return { index, id: index, polygons: [[Float64Array.from([x0, y0, x1, y0, x1, y1, x0, y1])]] };
}

/** A 4096 × 4096 raster of 256-pixel blocks whose compressed sizes are skewed: a few blocks weigh 50 times the rest. */
function grid(dtype: DType, seed = 7): BlockGrid {
  const rnd = prng(seed);
  const bytes = Array.from({ length: 256 }, () => (rnd() < 0.05 ? 50 : 1) * (1000 + Math.floor(rnd() * 1000)));
  return { width: 4096, height: 4096, blockWidth: 256, blockHeight: 256, across: 16, down: 16, dtype, bytesOf: (c, r) => bytes[r * 16 + c]! };
}

describe('planZonal', () => {
  const zones = [square(0, 100.2, 100.2, 3000.7, 2500.1), square(1, 2000, 2000, 4000, 4000), square(2, 5000, 5000, 6000, 6000), square(3, 10, 3900, 600, 4090)];
  const nodes = [{ name: 'a', workers: 2 }, { name: 'b', workers: 1 }, { name: 'c', workers: 2 }];

  it('balances compressed bytes across nodes by longest processing time first, not block counts', () => {
    const plan = planZonal(grid('UInt16'), zones, nodes, { allTouched: false });
    const bytes = plan.nodes.map((n) => n.bytes);
    const mean = bytes.reduce((a, b) => a + b, 0) / bytes.length;
    expect(Math.max(...bytes) / mean).toBeLessThanOrEqual(1.1);
    expect(plan.nodes.reduce((t, n) => t + n.tiles, 0)).toBe(plan.tiles.length);
    // The skew shows in the block counts, which differ, while the bytes do not.
    expect(new Set(plan.nodes.map((n) => n.tiles)).size).toBeGreaterThan(1);
    expect(plan.outside).toEqual([2]);
  });

  it('gives every block to one node, and every row of every zone in a block to exactly one subtask', () => {
    for (const dtype of ['UInt16', 'Float32'] as const) {
      const plan = planZonal(grid(dtype), zones, nodes, { allTouched: false, maxResultBytes: 200_000 });
      const seen = new Map<string, number[]>();
      for (const n of plan.nodes) {
        for (const s of n.subtasks) {
          expect(s.resultBytes).toBeLessThanOrEqual(200_000);
          for (const t of s.tiles) {
            for (const u of t.units) {
              const key = `${u.zone}@${t.col},${t.row}`;
              const rows = seen.get(key) ?? [];
              for (let y = u.y0; y < u.y1; y++) rows.push(y);
              seen.set(key, rows);
            }
          }
        }
      }
      for (const tile of plan.tiles) {
        for (const { zone } of tile.zones) {
          const rows = seen.get(`${zone}@${tile.col},${tile.row}`)!.sort((a, b) => a - b);
          expect(rows).toEqual(Array.from({ length: 256 }, (_, i) => tile.row * 256 + i));
        }
      }
    }
  });

  it('bounds a partial by what its wire form can take: 16-bit zones by their range, float zones by their pixels', () => {
    expect(maxPartialBytes('UInt16', 0)).toBe(0);
    expect(maxPartialBytes('UInt16', 10_000_000)).toBe(maxPartialBytes('UInt16', 65536) + Math.ceil(10_000_000 / 64) - 65536 / 64);
    expect(maxPartialBytes('Float32', 1000)).toBeGreaterThan(5000);
    expect(maxPartialBytes('Byte', 1e6)).toBeLessThan(20_000);
  });
});
