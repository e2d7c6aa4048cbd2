/**
 * Which pixels belong to a zone, exactly as gdal_rasterize (GDAL 3.6.2, alg/llrasterize.cpp) decides.
 *
 * Default rule (GDALdllImageFilledPolygon): each row r is scanned at its centre line y = r + 0.5. An
 * edge counts when y_low <= r + 0.5 < y_high (half-open, so a vertex on the line counts once); its
 * crossing x is rounded with floor(x + 0.5), the crossings of ALL rings of a polygon are sorted and
 * filled pairwise (even-odd, so holes are excluded): pixels round(xa) <= c < round(xb), i.e. the
 * pixels whose centre lies in (xa, xb]. A horizontal edge lying exactly on a centre line is burnt on
 * its own when it runs right to left (rings are clockwise in georeferenced space, see PixelZone).
 *
 * allTouched (gdal_rasterize -at): the same fill, plus every ring walked with
 * GDALdllImageLineAllTouched (its pixel stepping, its ±1e-9 nudges and its 0.01-pixel "vertical" and
 * "horizontal" tolerances included), which burns the pixels the boundary passes through; an edge
 * lying on a pixel boundary (both ends within 0.01 of it) burns nothing of its own. Later GDALs differ
 * here: 3.6.4 narrows that tolerance to 1e-4, 3.8 stops burning pixels a boundary only grazes.
 *
 * A MultiPolygon is burnt part by part and the parts are united, as GDAL does in its default replace
 * mode: where parts overlap, a pixel is counted once. Work is by edge table and active edge list, so a
 * window costs about its own rows (plus one pass over the zone's edges), not the zone's.
 */
import type { PixelZone } from './zones/index.js';

/** Horizontal runs of pixels of one zone inside a window: row r, columns [x0, x1); sorted by row then x0, non-overlapping, merged. */
export interface Spans {
  /** Row of each run, in raster pixel coordinates. */
  rows: Int32Array;
  /** First column of each run (inclusive). */
  x0: Int32Array;
  /** End column of each run (exclusive). */
  x1: Int32Array;
  /** Number of runs (the arrays may be longer). */
  length: number;
}

/** A rectangle of pixels in raster coordinates. */
export interface PixelWindow {
  /** First column. */
  x: number;
  /** First row. */
  y: number;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** Options of {@link rasterizeZone}. */
export interface RasterizeOptions {
  /** Burn every pixel the polygon touches (gdal_rasterize -at). @defaultValue false */
  allTouched?: boolean;
  /**
   * The whole raster's size in pixels. GDAL clips each all-touched boundary segment to the raster
   * before stepping along it, which can move a pixel where the boundary passes within ~1e-9 pixel of
   * a pixel corner; give the size to reproduce that exactly (and to skip walking far outside).
   * @defaultValue unbounded (the same result for every window, but not clipped as GDAL clips)
   */
  rasterSize?: { width: number; height: number };
}

/**
 * The edge table of one polygon (one part of a zone): its non-horizontal edges as columns (lower end
 * yLo, xLo; yHi - yLo; xHi - xLo; first and last row whose centre line crosses it), `order` listing
 * them by first row; and its right-to-left horizontal edges on a centre line (row, run [hX0, hX1)).
 */
interface PartTable {
  yLo: Float64Array;
  xLo: Float64Array;
  dy: Float64Array;
  dx: Float64Array;
  first: Float64Array;
  last: Float64Array;
  order: Int32Array;
  hRow: Float64Array;
  hX0: Float64Array;
  hX1: Float64Array;
}

/** A zone's edge tables and its bounding box in pixels, built once per PixelZone object. */
interface Prepared {
  parts: PartTable[];
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

/** The array twice as long, holding the old values. */
function grown<T extends Int32Array | Float64Array>(src: T): T {
  const dst = new (src.constructor as new (n: number) => T)(src.length * 2);
  dst.set(src);
  return dst;
}

const prepared = new WeakMap<PixelZone, Prepared>();

function prepare(zone: PixelZone): Prepared {
  const cached = prepared.get(zone);
  if (cached !== undefined) return cached;
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  const parts = zone.polygons.map((rings): PartTable => {
    const edges: number[][] = [];
    const horizontal: number[][] = [];
    for (const ring of rings) {
      const n = ring.length / 2;
      for (let i = 0; i < n; i++) {
        const x1 = ring[2 * i]!;
        const y1 = ring[2 * i + 1]!;
        const j = i + 1 === n ? 0 : i + 1;
        const x2 = ring[2 * j]!;
        const y2 = ring[2 * j + 1]!;
        [minX, minY, maxX, maxY] = [Math.min(minX, x1), Math.min(minY, y1), Math.max(maxX, x1), Math.max(maxY, y1)];
        if (y1 === y2) {
          const row = Math.floor(y1);
          if (row + 0.5 === y1 && x1 > x2) horizontal.push([row, Math.floor(x2 + 0.5), Math.floor(x1 + 0.5)]);
          continue;
        }
        const [yLo, xLo, yHi, xHi] = y1 < y2 ? [y1, x1, y2, x2] : [y2, x2, y1, x1];
        // Rows r with yLo <= r + 0.5 < yHi, settled with the same double arithmetic GDAL uses.
        let first = Math.ceil(yLo - 0.5);
        while (first + 0.5 < yLo) first++;
        while (first - 0.5 >= yLo) first--;
        let last = Math.ceil(yHi - 0.5) - 1;
        while (last + 1.5 < yHi) last++;
        while (last + 0.5 >= yHi) last--;
        if (last >= first) edges.push([yLo, xLo, yHi - yLo, xHi - xLo, first, last]);
      }
    }
    edges.sort((a, b) => a[4]! - b[4]!);
    horizontal.sort((a, b) => a[0]! - b[0]!);
    const column = (rows: number[][], k: number): Float64Array => Float64Array.from(rows, (e) => e[k]!);
    return {
      yLo: column(edges, 0),
      xLo: column(edges, 1),
      dy: column(edges, 2),
      dx: column(edges, 3),
      first: column(edges, 4),
      last: column(edges, 5),
      order: Int32Array.from(edges.keys()),
      hRow: column(horizontal, 0),
      hX0: column(horizontal, 1),
      hX1: column(horizontal, 2),
    };
  });
  const result = { parts, minX, minY, maxX, maxY };
  prepared.set(zone, result);
  return result;
}

/** The pixel bounding box of a zone clipped to the raster, or null when it lies outside; it holds every pixel the zone burns (a margin row or column may be empty). */
export function zoneBounds(zone: PixelZone, width: number, height: number, options: { allTouched?: boolean } = {}): PixelWindow | null {
  const { minX, minY, maxX, maxY } = prepare(zone);
  if (!(minX <= maxX)) return null;
  // Centre rule: a pixel c is burnt only when round(xa) <= c < round(xb), xa and xb within [minX, maxX].
  // All-touched: GDAL's line walk nudges y by 1e-9 across a row boundary, hence a row of margin.
  const m = options.allTouched === true ? 1 : 0;
  const x0 = Math.max(0, Math.floor(minX));
  const y0 = Math.max(0, Math.floor(minY) - m);
  const x1 = Math.min(width, Math.floor(maxX) + 1);
  const y1 = Math.min(height, Math.floor(maxY) + 1 + m);
  return x0 < x1 && y0 < y1 ? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } : null;
}

/** Growable run output. */
class SpanBuilder implements Spans {
  rows: Int32Array = new Int32Array(64);
  x0: Int32Array = new Int32Array(64);
  x1: Int32Array = new Int32Array(64);
  length = 0;

  push(row: number, a: number, b: number): void {
    if (this.length === this.rows.length) [this.rows, this.x0, this.x1] = [grown(this.rows), grown(this.x0), grown(this.x1)];
    this.rows[this.length] = row;
    this.x0[this.length] = a;
    this.x1[this.length] = b;
    this.length++;
  }
}

/**
 * The pixels of one zone inside a window (raster pixel coordinates, not window-relative), as runs.
 * The window is clipped to the raster's top-left corner (and to `rasterSize` when given).
 */
export function rasterizeZone(zone: PixelZone, window: PixelWindow, options: RasterizeOptions = {}): Spans {
  const prep = prepare(zone);
  const W = options.rasterSize?.width ?? Infinity;
  const H = options.rasterSize?.height ?? Infinity;
  const wx0 = Math.max(0, window.x);
  const wy0 = Math.max(0, window.y, Math.floor(prep.minY) - 1);
  const wx1 = Math.min(W, window.x + window.width);
  const wy1 = Math.min(H, window.y + window.height, Math.floor(prep.maxY) + 2);
  const out = new SpanBuilder();
  if (!(wx0 < wx1 && wy0 < wy1)) return out;

  // All-touched boundary pixels, gathered as runs along each walk, then bucketed by row.
  const touched = options.allTouched === true ? touchedRuns(zone, W, H, { wx0, wy0, wx1, wy1 }) : null;

  // Per part: active edge list and cursors into its sorted tables.
  const states = prep.parts.map((part) => {
    const active: number[] = [];
    let next = 0;
    while (next < part.order.length && part.first[part.order[next]!]! <= wy0) {
      const e = part.order[next++]!;
      if (part.last[e]! >= wy0) active.push(e);
    }
    let h = 0;
    while (h < part.hRow.length && part.hRow[h]! < wy0) h++;
    return { part, active, next, h };
  });
  let maxEdges = 0;
  for (const part of prep.parts) maxEdges = Math.max(maxEdges, part.order.length);
  const ints = new Float64Array(maxEdges);
  const row = new RowIntervals(wx0, wx1);

  for (let r = wy0; r < wy1; r++) {
    const dy = r + 0.5;
    for (const s of states) {
      const { part, active } = s;
      while (s.next < part.order.length && part.first[part.order[s.next]!]! <= r) {
        const e = part.order[s.next++]!;
        if (part.last[e]! >= r) active.push(e);
      }
      let n = 0;
      let live = 0;
      for (const e of active) {
        if (part.last[e]! < r) continue;
        active[live++] = e;
        // GDAL's expression, operation for operation, then rounded as (int)floor(x + 0.5).
        ints[n++] = Math.floor(((dy - part.yLo[e]!) * part.dx[e]!) / part.dy[e]! + part.xLo[e]! + 0.5);
      }
      active.length = live;
      sortNumbers(ints, n);
      for (let i = 0; i + 1 < n; i += 2) row.add(ints[i]!, ints[i + 1]!);
      while (s.h < part.hRow.length && part.hRow[s.h]! === r) {
        row.add(part.hX0[s.h]!, part.hX1[s.h]!);
        s.h++;
      }
    }
    if (touched !== null) {
      for (let i = touched.start[r - wy0]!; i < touched.start[r - wy0 + 1]!; i++) row.add(touched.x0[i]!, touched.x1[i]!);
    }
    row.emit(out, r);
  }
  return out;
}

/**
 * The pixel intervals of one row, clipped to the window. Starts and ends are kept apart: the union of
 * half-open intervals needs only the two sorted lists (a start at an end joins the two runs).
 */
class RowIntervals {
  private starts: Float64Array = new Float64Array(64);
  private ends: Float64Array = new Float64Array(64);
  private n = 0;

  constructor(
    private readonly wx0: number,
    private readonly wx1: number,
  ) {}

  add(a: number, b: number): void {
    const x0 = a > this.wx0 ? a : this.wx0;
    const x1 = b < this.wx1 ? b : this.wx1;
    if (!(x0 < x1)) return;
    if (this.n === this.starts.length) [this.starts, this.ends] = [grown(this.starts), grown(this.ends)];
    this.starts[this.n] = x0;
    this.ends[this.n] = x1;
    this.n++;
  }

  /** Emits the merged runs of the row and empties it. */
  emit(out: SpanBuilder, row: number): void {
    const { starts, ends, n } = this;
    if (n === 0) return;
    sortNumbers(starts, n);
    sortNumbers(ends, n);
    let j = 0;
    let depth = 0;
    let from = 0;
    for (let i = 0; i < n; ) {
      if (starts[i]! <= ends[j]!) {
        if (depth++ === 0) from = starts[i]!;
        i++;
      } else {
        if (--depth === 0) out.push(row, from, ends[j]!);
        j++;
      }
    }
    out.push(row, from, ends[n - 1]!);
    this.n = 0;
  }
}

/** Sorts the first n values ascending: insertion sort for the usual handful, the typed-array sort beyond. */
function sortNumbers(values: Float64Array, n: number): void {
  if (n > 32) {
    values.subarray(0, n).sort();
    return;
  }
  for (let i = 1; i < n; i++) {
    const v = values[i]!;
    let j = i;
    while (j > 0 && values[j - 1]! > v) {
      values[j] = values[j - 1]!;
      j--;
    }
    values[j] = v;
  }
}

/** The clipped window: columns [wx0, wx1), rows [wy0, wy1). */
type Win = { wx0: number; wy0: number; wx1: number; wy1: number };

/** Runs of boundary pixels inside the window, bucketed by row: runs of row wy0 + k are start[k] .. start[k + 1]. */
function touchedRuns(zone: PixelZone, W: number, H: number, win: Win): { start: Int32Array; x0: Int32Array; x1: Int32Array } {
  const { wx0, wy0, wx1, wy1 } = win;
  let raw = new Int32Array(3 * 256); // row, x0, x1
  let n = 0;
  let row = -1;
  let a = 0;
  let b = 0;
  const flush = (): void => {
    if (row < 0) return;
    if (n + 3 > raw.length) raw = grown(raw);
    raw[n++] = row;
    raw[n++] = a;
    raw[n++] = b;
  };
  const burn = (iX: number, iY: number): void => {
    if (iX < wx0 || iX >= wx1 || iY < wy0 || iY >= wy1) return;
    if (iY === row && iX >= a - 1 && iX <= b) {
      // A walk goes left to right, so most pixels extend the current run.
      if (iX === b) b++;
      else if (iX === a - 1) a--;
      return;
    }
    flush();
    row = iY;
    a = iX;
    b = iX + 1;
  };
  for (const rings of zone.polygons) for (const ring of rings) walkRing(ring, W, H, win, burn);
  flush();
  const rows = wy1 - wy0;
  const start = new Int32Array(rows + 1);
  for (let i = 0; i < n; i += 3) start[raw[i]! - wy0 + 1]!++;
  for (let k = 0; k < rows; k++) start[k + 1]! += start[k]!;
  const fill = start.slice(0, rows);
  const x0 = new Int32Array(n / 3);
  const x1 = new Int32Array(n / 3);
  for (let i = 0; i < n; i += 3) {
    const at = fill[raw[i]! - wy0]!++;
    x0[at] = raw[i + 1]!;
    x1[at] = raw[i + 2]!;
  }
  return { start, x0, x1 };
}

/** GDAL 3.6's tolerance for an edge lying on a pixel boundary (EPSILON_INTERSECT_ONLY; 1e-4 from GDAL 3.6.4). */
const ALIGNED = 0.01;

/**
 * GDALdllImageLineAllTouched (GDAL 3.6.2) over one ring, its closing edge included, burning through
 * `burn`. W and H are the raster size GDAL clips segments to. Segments that cannot reach the window
 * are skipped (a pixel of margin covers the 1e-9 nudges) and a walk stops once past the window:
 * neither changes the arithmetic of the steps taken inside it.
 */
function walkRing(ring: Float64Array, W: number, H: number, win: Win, burn: (iX: number, iY: number) => void): void {
  const n = ring.length / 2;
  for (let i = 0; i < n; i++) {
    const j = i + 1 === n ? 0 : i + 1;
    let x = ring[2 * i]!;
    let y = ring[2 * i + 1]!;
    let xEnd = ring[2 * j]!;
    let yEnd = ring[2 * j + 1]!;
    if ((y < 0 && yEnd < 0) || (y > H && yEnd > H) || (x < 0 && xEnd < 0) || (x > W && xEnd > W)) continue;
    if (Math.floor(Math.max(x, xEnd)) < win.wx0 - 1 || Math.floor(Math.min(x, xEnd)) >= win.wx1 + 1) continue;
    if (Math.floor(Math.max(y, yEnd)) < win.wy0 - 1 || Math.floor(Math.min(y, yEnd)) >= win.wy1 + 1) continue;
    if (x > xEnd) [x, y, xEnd, yEnd] = [xEnd, yEnd, x, y];

    if (Math.floor(x) === Math.floor(xEnd) || Math.abs(x - xEnd) < 0.01) {
      // "Vertical": one column, the right end's; none when the edge lies on a column boundary.
      if (Math.abs(x - Math.round(x)) < ALIGNED && Math.abs(xEnd - Math.round(xEnd)) < ALIGNED) continue;
      if (yEnd < y) [y, yEnd] = [yEnd, y];
      const iX = Math.floor(xEnd);
      if (iX < 0 || iX >= W) continue;
      const iYEnd = Math.min(Math.floor(yEnd), H - 1, win.wy1 - 1);
      for (let iY = Math.max(Math.floor(y), 0, win.wy0); iY <= iYEnd; iY++) burn(iX, iY);
      continue;
    }
    if (Math.floor(y) === Math.floor(yEnd) || Math.abs(y - yEnd) < 0.01) {
      // "Horizontal": one row, the left end's; none when the edge lies on a row boundary.
      if (Math.abs(y - Math.round(y)) < ALIGNED && Math.abs(yEnd - Math.round(yEnd)) < ALIGNED) continue;
      const iY = Math.floor(y);
      if (iY < 0 || iY >= H) continue;
      const iXEnd = Math.min(Math.floor(xEnd), W - 1, win.wx1 - 1);
      for (let iX = Math.max(Math.floor(x), 0, win.wx0); iX <= iXEnd; iX++) burn(iX, iY);
      continue;
    }

    const slope = (yEnd - y) / (xEnd - x);
    if (xEnd > W) {
      yEnd -= (xEnd - W) * slope;
      xEnd = W;
    }
    if (x < 0) {
      y += (0 - x) * slope;
      x = 0;
    }
    if (yEnd > y) {
      if (y < 0) {
        x += (0 - y) / slope;
        y = 0;
      }
      // (sic) GDAL moves the end this way; only pixels below the raster are affected.
      if (yEnd >= H) xEnd += (yEnd - H) / slope;
    } else {
      if (y >= H) {
        x += (H - y) / slope;
        y = H;
      }
      if (yEnd < 0) xEnd -= (yEnd - 0) / slope;
    }
    while (x >= 0 && x < xEnd) {
      const iX = Math.floor(x);
      const iY = Math.floor(y);
      // x only grows and y only moves with the slope: past the window, nothing more can land in it.
      if (iX >= win.wx1 || (slope > 0 ? iY >= win.wy1 : iY < win.wy0)) break;
      if (iY >= 0 && iY < H) burn(iX, iY);
      let stepX = Math.floor(x + 1.0) - x;
      let stepY = stepX * slope;
      if (Math.floor(y + stepY) !== iY) {
        stepY = slope < 0 ? Math.min(iY - y, -0.000000001) : Math.max(iY + 1 - y, 0.000000001);
        stepX = stepY / slope;
      }
      const bx = x;
      const by = y;
      x += stepX;
      y += stepY;
      if (x === bx && y === by) break; // far beyond any raster a step no longer moves; GDAL would spin
    }
  }
}
