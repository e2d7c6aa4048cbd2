/**
 * Ring checks shared by every zones format: closed rings of 4+ positions, and no ring crossing itself
 * or another ring of its polygon (touching at a point is fine), found with @turf/kinks and then told
 * apart from mere touches. Rings come out flat, as ZonePolygons holds them.
 */
import { kinks } from '@turf/kinks';
import { ZoneError, shown } from './zone-set.js';

/** Checks one ring and returns it flat, without its closing position. */
export function flatRing(positions: number[][], label: string, where: string): Float64Array {
  const n = positions.length;
  if (n < 4) throw new ZoneError(`${where}: ${label} has ${n} positions; a closed ring needs at least 4`);
  const first = positions[0]!;
  const last = positions[n - 1]!;
  if (first[0] !== last[0] || first[1] !== last[1]) {
    throw new ZoneError(`${where}: ${label} is not closed: it starts at ${shown(first.slice(0, 2))} and ends at ${shown(last.slice(0, 2))}`);
  }
  const flat = new Float64Array(2 * (n - 1));
  let distinct = 0;
  for (let i = 0; i < n - 1; i++) {
    const p = positions[i]!;
    flat[2 * i] = p[0]!;
    flat[2 * i + 1] = p[1]!;
    if (i === 0 || p[0] !== flat[2 * i - 2] || p[1] !== flat[2 * i - 1]) distinct++;
  }
  if (distinct < 3) throw new ZoneError(`${where}: ${label} has fewer than 3 distinct positions`);
  return flat;
}

/** A ring as [x, y] pairs without consecutive repeats, closed again: what kinks needs. */
function kinkRing(flat: Float64Array): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const prev = out[out.length - 1];
    if (prev === undefined || prev[0] !== flat[i] || prev[1] !== flat[i + 1]) out.push([flat[i]!, flat[i + 1]!]);
  }
  while (out.length > 1 && out[0]![0] === out[out.length - 1]![0] && out[0]![1] === out[out.length - 1]![1]) out.pop();
  out.push(out[0]!);
  return out;
}

const TAU = 2 * Math.PI;

/** True when direction angle `t` lies strictly inside the counter-clockwise arc from `a` to `b`. */
function inArc(a: number, b: number, t: number): boolean {
  const span = (((b - a) % TAU) + TAU) % TAU;
  const at = (((t - a) % TAU) + TAU) % TAU;
  return at > 0 && at < span;
}

/**
 * Whether the rings really cross at (x, y), a point kinks reported. kinks also reports where rings
 * merely touch (a shared vertex, a vertex on another edge), which is valid; there we look at the
 * boundary passes through the point: they cross when one pass separates the two edges of another.
 */
function crossesAt(rings: number[][][], x: number, y: number, tol: number): boolean {
  let vx = Number.NaN;
  let vy = Number.NaN;
  let best = tol;
  for (const r of rings) {
    for (const [px, py] of r) {
      const d = Math.hypot(px! - x, py! - y);
      if (d <= best) [best, vx, vy] = [d, px!, py!];
    }
  }
  if (Number.isNaN(vx)) return true; // two edges cross in their interiors
  const near = (p: number[]): boolean => Math.hypot(p[0]! - vx, p[1]! - vy) <= tol;
  const angle = (p: number[]): number => Math.atan2(p[1]! - vy, p[0]! - vx);
  const passes: [number, number][] = [];
  for (const r of rings) {
    const m = r.length - 1;
    for (let j = 0; j < m; j++) {
      const p = r[j]!;
      const q = r[j + 1]!;
      if (near(p)) passes.push([angle(r[(j + m - 1) % m]!), angle(q)]);
      else if (!near(q)) {
        const ex = q[0]! - p[0]!;
        const ey = q[1]! - p[1]!;
        const t = ((vx - p[0]!) * ex + (vy - p[1]!) * ey) / (ex * ex + ey * ey);
        const off = Math.abs((vx - p[0]!) * ey - (vy - p[1]!) * ex) / Math.hypot(ex, ey);
        if (t > 0 && t < 1 && off <= tol) passes.push([angle(p), angle(q)]);
      }
    }
  }
  const same = (a: number, b: number): boolean => Math.abs(a - b) < 1e-12 || Math.abs(Math.abs(a - b) - TAU) < 1e-12;
  for (let i = 0; i < passes.length; i++) {
    for (let k = i + 1; k < passes.length; k++) {
      const [a, b] = passes[i]!;
      const [c, d] = passes[k]!;
      if (same(a, c) || same(a, d) || same(b, c) || same(b, d)) continue; // shared edge direction: a touch
      if (inArc(a, b, c) !== inArc(a, b, d)) return true;
    }
  }
  return false;
}

/** Segments per band in {@link kinkPoints}: kinks compares every pair of segments it is given. */
const BAND = 400;

/**
 * The points kinks reports for one polygon. A big polygon goes to kinks in horizontal bands of about
 * BAND segments (each band gets the chains of consecutive segments that reach into it), so the cost
 * grows as n·BAND instead of n²: two segments that cross both reach into the band holding the point.
 */
function kinkPoints(rings: number[][][]): number[][] {
  const total = rings.reduce((n, r) => n + r.length - 1, 0);
  if (total <= 2 * BAND) return kinks({ type: 'Polygon', coordinates: rings }).features.map((f) => f.geometry.coordinates);
  const mids = rings.flatMap((r) => r.slice(1).map((p, i) => (p[1]! + r[i]![1]!) / 2)).sort((a, b) => a - b);
  const cuts = [-Infinity, ...mids.filter((_, i) => i > 0 && i % BAND === 0), Infinity];
  const points: number[][] = [];
  for (let b = 0; b + 1 < cuts.length; b++) {
    const chains: number[][][] = [];
    for (const r of rings) {
      const m = r.length - 1;
      const inBand = (i: number): boolean => Math.min(r[i]![1]!, r[i + 1]![1]!) <= cuts[b + 1]! && Math.max(r[i]![1]!, r[i + 1]![1]!) >= cuts[b]!;
      let start = 0;
      while (start < m && inBand(start)) start++;
      if (start === m) chains.push(r); // the whole ring reaches into the band
      let chain: number[][] | null = null;
      for (let k = 1; start < m && k <= m; k++) {
        const i = (start + k) % m;
        if (!inBand(i)) chain = null;
        else if (chain === null) chains.push((chain = [r[i]!, r[i + 1]!]));
        else chain.push(r[i + 1]!);
      }
    }
    points.push(...kinks({ type: 'MultiLineString', coordinates: chains }).features.map((f) => f.geometry.coordinates));
  }
  return points;
}

/** The first point where the rings of one polygon cross themselves or each other, or undefined. */
export function firstCrossing(flatRings: readonly Float64Array[]): [number, number] | undefined {
  const rings = flatRings.map(kinkRing);
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const r of rings) for (const [x, y] of r) [minX, minY, maxX, maxY] = [Math.min(minX, x!), Math.min(minY, y!), Math.max(maxX, x!), Math.max(maxY, y!)];
  const tol = 1e-9 * Math.hypot(maxX - minX, maxY - minY) + 1e-14 * Math.max(Math.abs(minX), Math.abs(maxX), Math.abs(minY), Math.abs(maxY));
  for (const [x, y] of kinkPoints(rings)) if (crossesAt(rings, x!, y!, tol)) return [x!, y!];
  return undefined;
}

