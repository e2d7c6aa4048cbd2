import type { DType, GeoTiff } from '../../raster/index.js';
import { rasterizeZone, zoneBounds } from './rasterize.js';
import type { PixelZone } from './zones/index.js';

/**
 * The paper's rule for zonal work, as a plain-data plan (no I/O): select the raster blocks (COG tiles,
 * or strips) the zones cover, weigh each by its compressed size from the file's tile index, and spread
 * them over the nodes so the BYTES per node are balanced (longest-processing-time-first bin packing),
 * not the tile counts. Each node's blocks are then cut into subtasks, in row-major order so a subtask's
 * reads are near each other.
 */

/** A block of the raster, by its position in the block grid. */
export interface PlannedTile {
  col: number;
  row: number;
  /** Compressed bytes of the block (every band of a pixel-interleaved file; the band's own otherwise). */
  bytes: number;
  /** The zones with pixels in it, with their pixel counts there. */
  zones: { zone: number; pixels: number }[];
}

/** Part of the work of one zone in one block: rows [y0, y1) of the block, in raster rows. */
export interface TileUnit {
  zone: number;
  y0: number;
  y1: number;
}

export interface SubtaskPlan {
  tiles: { col: number; row: number; units: TileUnit[] }[];
  bytes: number;
  /** Bytes the subtask's partials may take on the wire, at most (maxPartialBytes): what bounds its result's size. */
  resultBytes: number;
}

export interface NodePlan {
  name: string;
  tiles: number;
  bytes: number;
  subtasks: SubtaskPlan[];
}

export interface ZonalPlan {
  width: number;
  height: number;
  blockWidth: number;
  blockHeight: number;
  tiles: PlannedTile[];
  /** Zones with no pixel on the raster: reported with count 0. */
  outside: number[];
  nodes: NodePlan[];
  bytes: number;
}

/** A node the plan may use, and its worker processes (subtasks per node scale with them). */
export interface PlanNode {
  name: string;
  workers: number;
}

export interface PlanOptions {
  allTouched: boolean;
  /**
   * Bytes of partials a subtask may return at most, by maxPartialBytes, before base64 (which adds a
   * third): so every result stays within the Jobman's 1 MiB. @defaultValue 600000
   */
  maxResultBytes?: number;
  /** Subtasks per worker process of a node, for balance inside the node. @defaultValue 4 */
  subtasksPerWorker?: number;
}

/** The blocks a raster's band is stored in, for planning. */
export interface BlockGrid {
  width: number;
  height: number;
  blockWidth: number;
  blockHeight: number;
  across: number;
  down: number;
  dtype: DType;
  /** Compressed bytes of block (col, row) of the band read. */
  bytesOf(col: number, row: number): number;
}

/** The block grid of band `band` (from 0) of a GeoTIFF's full-resolution image. */
export function blockGrid(raster: GeoTiff, band: number): BlockGrid {
  const m = raster.main;
  const perBand = m.blocksAcross * m.blocksDown;
  const base = m.planar === 2 ? band * perBand : 0;
  return {
    width: m.width,
    height: m.height,
    blockWidth: m.blockWidth,
    blockHeight: m.blockHeight,
    across: m.blocksAcross,
    down: m.blocksDown,
    dtype: m.dtype,
    bytesOf: (col, row) => m.byteCounts[base + row * m.blocksAcross + col] ?? 0,
  };
}

/**
 * The most bytes a zone's partial of `pixels` pixels of `dtype` can take in the wire form of codec.ts,
 * before base64: for 8- and 16-bit types the value deltas of a zone add up to at most the type's range,
 * so all but range/128 of them take one byte; counts add up to `pixels`, so all but pixels/128 take
 * one byte. Wider types take up to 5 bytes a value (Float64: 8) plus the counts.
 */
export function maxPartialBytes(dtype: DType, pixels: number): number {
  if (pixels === 0) return 0;
  const counts = (entries: number): number => entries + Math.ceil(pixels / 64);
  if (dtype === 'Byte' || dtype === 'Int16' || dtype === 'UInt16') {
    const range = dtype === 'Byte' ? 256 : 65536;
    const entries = Math.min(pixels, range);
    return entries + Math.ceil(range / 64) + counts(entries) + 32;
  }
  return pixels * (dtype === 'Float64' ? 8 : 5) + counts(pixels) + 32;
}

export function planZonal(grid: BlockGrid, zones: readonly PixelZone[], nodes: readonly PlanNode[], options: PlanOptions): ZonalPlan {
  if (nodes.length === 0) throw new Error('planZonal needs at least one node');
  const cap = options.maxResultBytes ?? 600_000;
  const perWorker = options.subtasksPerWorker ?? 4;
  const { blockWidth: bw, blockHeight: bh, across } = grid;

  // 1. The blocks each zone covers, with its pixel count in each: from its spans over the raster.
  const byIndex = new Map<number, PlannedTile>();
  const outside: number[] = [];
  zones.forEach((zone, z) => {
    const bounds = zoneBounds(zone, grid.width, grid.height, { allTouched: options.allTouched });
    const spans = bounds === null ? null : rasterizeZone(zone, bounds, { allTouched: options.allTouched, rasterSize: { width: grid.width, height: grid.height } });
    if (spans === null || spans.length === 0) {
      outside.push(z);
      return;
    }
    const counts = new Map<number, number>();
    for (let i = 0; i < spans.length; i++) {
      const row = Math.floor(spans.rows[i]! / bh);
      for (let x = spans.x0[i]!; x < spans.x1[i]!; ) {
        const col = Math.floor(x / bw);
        const end = Math.min(spans.x1[i]!, (col + 1) * bw);
        const key = row * across + col;
        counts.set(key, (counts.get(key) ?? 0) + end - x);
        x = end;
      }
    }
    for (const [key, pixels] of counts) {
      let tile = byIndex.get(key);
      if (tile === undefined) {
        const col = key % across;
        const row = (key - col) / across;
        tile = { col, row, bytes: grid.bytesOf(col, row), zones: [] };
        byIndex.set(key, tile);
      }
      tile.zones.push({ zone: z, pixels });
    }
  });
  const tiles = [...byIndex.values()].sort((a, b) => a.row - b.row || a.col - b.col);

  // 2. Longest processing time first: the heaviest block to the lightest node so far.
  const load = nodes.map(() => 0);
  const owner = new Map<PlannedTile, number>();
  for (const tile of [...tiles].sort((a, b) => b.bytes - a.bytes || a.row - b.row || a.col - b.col)) {
    let best = 0;
    for (let n = 1; n < nodes.length; n++) if (load[n]! < load[best]!) best = n;
    load[best]! += tile.bytes;
    owner.set(tile, best);
  }

  // 3. Each node's blocks, in row-major order, cut into subtasks of about equal bytes. A subtask's result
  // holds one multiset per zone, of at most maxPartialBytes(dtype, the zone's pixels in the subtask) bytes;
  // their sum stays within `cap`. A zone too big for one subtask in one block (floats) is cut into bands
  // of rows.
  const planned = nodes.map((node, n): NodePlan => {
    const mine = tiles.filter((t) => owner.get(t) === n);
    const bytes = load[n]!;
    const target = Math.max(1, bytes / Math.max(1, node.workers * perWorker));
    const subtasks: SubtaskPlan[] = [];
    let current: SubtaskPlan = { tiles: [], bytes: 0, resultBytes: 0 };
    let pixelsOf = new Map<number, number>();
    const flush = (): void => {
      if (current.tiles.length > 0) subtasks.push(current);
      current = { tiles: [], bytes: 0, resultBytes: 0 };
      pixelsOf = new Map();
    };
    for (const tile of mine) {
      const top = tile.row * bh;
      const rows = Math.min(bh, grid.height - top);
      const units: { unit: TileUnit; pixels: number }[] = [];
      for (const { zone, pixels } of tile.zones) {
        const bands = Math.ceil(maxPartialBytes(grid.dtype, pixels) / cap);
        const step = Math.ceil(rows / bands);
        for (let y = top; y < top + rows; y += step) {
          const y1 = Math.min(top + rows, y + step);
          units.push({ unit: { zone, y0: y, y1 }, pixels: bands === 1 ? pixels : Math.ceil((pixels * (y1 - y)) / rows) });
        }
      }
      // Units of this block go to the current subtask while they fit, else open a new one.
      let entry: { col: number; row: number; units: TileUnit[] } | undefined;
      for (const { unit, pixels } of units) {
        const had = pixelsOf.get(unit.zone) ?? 0;
        const grows = maxPartialBytes(grid.dtype, had + pixels) - maxPartialBytes(grid.dtype, had);
        if (current.tiles.length > 0 && (current.resultBytes + grows > cap || (entry === undefined && current.bytes >= target))) {
          flush();
          entry = undefined;
        }
        if (entry === undefined) {
          entry = { col: tile.col, row: tile.row, units: [] };
          current.tiles.push(entry);
          current.bytes += tile.bytes;
        }
        entry.units.push(unit);
        const before = pixelsOf.get(unit.zone) ?? 0;
        pixelsOf.set(unit.zone, before + pixels);
        current.resultBytes += maxPartialBytes(grid.dtype, before + pixels) - maxPartialBytes(grid.dtype, before);
      }
    }
    flush();
    return { name: node.name, tiles: mine.length, bytes, subtasks };
  });
  return { width: grid.width, height: grid.height, blockWidth: bw, blockHeight: bh, tiles, outside, nodes: planned, bytes: load.reduce((a, b) => a + b, 0) };
}
