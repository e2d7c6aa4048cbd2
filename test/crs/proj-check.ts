/**
 * Test helper: runs a PROJ string through proj4js the way the reference points in
 * test/fixtures/crs/*.json were computed by PROJ, so a test can say "lands where GDAL lands".
 */
import proj4 from 'proj4';

/** 1 cm, in metres: the accuracy a reprojection must keep. */
export const TOLERANCE_M = 0.01;
/** About 1 cm on the ground, in degrees. */
export const TOLERANCE_DEG = 1e-7;

/** A reference point: degrees in (longitude from the CRS's prime meridian) and PROJ's answer out. */
export interface ReferencePoint {
  lonlat: [number, number];
  xy: [number, number];
}

const words = (proj: string): string[] => proj.trim().split(/\s+/);
const key = (w: string): string => w.slice(1).split('=')[0] ?? '';
const ELLIPSOID_OF_DATUM: Record<string, string> = { WGS84: '+ellps=WGS84', NAD83: '+ellps=GRS80', NAD27: '+ellps=clrk66' };

/**
 * The same CRS without datum shift words. proj4js routes any +towgs84/+nadgrids CRS through WGS 84
 * even when both ends share the datum, which costs ~1 cm; the reference points are same-datum.
 */
export function withoutDatumShift(proj: string): string {
  return words(proj)
    .filter((w) => key(w) !== 'towgs84' && key(w) !== 'nadgrids')
    .map((w) => (key(w) === 'datum' ? (ELLIPSOID_OF_DATUM[w.split('=')[1] ?? ''] ?? w) : w))
    .join(' ');
}

/** The geographic CRS under a PROJ string: same ellipsoid and prime meridian, no projection. */
export function geographicOf(proj: string): string {
  const datum = new Set(['datum', 'ellps', 'a', 'b', 'rf', 'f', 'R', 'R_A', 'towgs84', 'nadgrids', 'pm']);
  return ['+proj=longlat', ...words(proj).filter((w) => datum.has(key(w))), '+no_defs'].join(' ');
}

/** Metres per unit of a PROJ string's axes. */
export function metresPerUnit(proj: string): number {
  const w = words(proj);
  const toMeter = w.find((x) => key(x) === 'to_meter');
  if (toMeter !== undefined) return Number(toMeter.split('=')[1]);
  const unit = w.find((x) => key(x) === 'units')?.split('=')[1] ?? 'm';
  return ({ m: 1, ft: 0.3048, 'us-ft': 1200 / 3937 } as Record<string, number>)[unit] ?? 1;
}

/** Largest miss, in metres, of proj4js against PROJ's points for a projected CRS (axes enforced). */
export function projectedMiss(
  proj: string,
  points: readonly ReferencePoint[],
  options: { skipInverseAtOrigin?: boolean } = {},
): { metres: number; degrees: number } {
  const bare = withoutDatumShift(proj);
  const converter = proj4(geographicOf(bare), bare);
  const unit = metresPerUnit(proj);
  let metres = 0;
  let degrees = 0;
  for (const p of points) {
    const [x, y] = converter.forward(p.lonlat, true);
    metres = Math.max(metres, Math.abs(x - p.xy[0]) * unit, Math.abs(y - p.xy[1]) * unit);
    if (options.skipInverseAtOrigin === true && p.xy[0] === 0 && p.xy[1] === 0) continue;
    const [lon, lat] = converter.inverse(p.xy, true);
    degrees = Math.max(degrees, Math.abs(lon - p.lonlat[0]), Math.abs(lat - p.lonlat[1]));
  }
  return { metres, degrees };
}

/**
 * Largest miss, in metres, of proj4js against PROJ's points for a geographic CRS: lon/lat (from its
 * prime meridian) to a Transverse Mercator on the same ellipsoid but a Greenwich prime meridian.
 */
export function geographicMiss(proj: string, points: readonly ReferencePoint[]): number {
  const bare = withoutDatumShift(proj);
  const ellipsoid = words(bare).filter((w) => ['ellps', 'a', 'b', 'rf', 'f', 'R'].includes(key(w)));
  // proj4js's exact TM refuses a sphere; +approx is the exact spherical formula there.
  const approx = ellipsoid.some((w) => key(w) === 'R') ? ['+approx'] : [];
  const tm = ['+proj=tmerc +lat_0=0 +lon_0=0 +k=1 +x_0=0 +y_0=0', ...approx, ...ellipsoid, '+units=m +no_defs'].join(' ');
  const converter = proj4(bare, tm);
  let metres = 0;
  for (const p of points) {
    const [x, y] = converter.forward(p.lonlat);
    metres = Math.max(metres, Math.abs(x - p.xy[0]), Math.abs(y - p.xy[1]));
  }
  return metres;
}
