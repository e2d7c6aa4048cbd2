/**
 * Zones carried into a raster's pixel space the way gdal_rasterize carries them, so that
 * rasterizeZone can burn them pixel for pixel as GDAL would.
 */
import proj4 from 'proj4';
import { messageOf } from '../../../errors.js';
import { projForEpsg } from '../../../raster/crs/index.js';
import type { GeoTransform } from '../../../raster/index.js';
import { ZoneError, shown, type ZonePolygons, type ZoneSet } from './zone-set.js';

/**
 * A zone in raster pixel space: x = column, y = row, continuous; pixel (c, r) covers [c, c+1) × [r, r+1).
 * Rings are ordered as GDAL burns them: clockwise in the raster's georeferenced coordinates (GDAL turns
 * every ring so; the order only matters for a horizontal edge lying exactly on a row of pixel centres).
 */
export interface PixelZone {
  /** 0-based feature index in the collection. */
  readonly index: number;
  /** The --id-field property value, else the index. */
  readonly id: string | number;
  /** The polygons in pixel coordinates (see {@link ZonePolygons}). */
  readonly polygons: ZonePolygons;
}

/** Where the zones go: the raster's CRS and geotransform. */
export interface RasterGrid {
  /** PROJ definition of the raster's CRS, or null (or '') when it has none. */
  readonly proj: string | null;
  /** EPSG code of the raster's CRS, or null. */
  readonly epsg: number | null;
  /** GDAL's geotransform of the raster. */
  readonly geotransform: GeoTransform;
}

/**
 * GDAL's inverse geotransform (GDALInvGeoTransform): the exact same arithmetic, so that a vertex on a
 * pixel centre or edge lands where GDAL puts it. Null when the transform cannot be inverted.
 */
export function invertGeoTransform(gt: GeoTransform): GeoTransform | null {
  if (gt[2] === 0 && gt[4] === 0 && gt[1] !== 0 && gt[5] !== 0) {
    return [-gt[0] / gt[1], 1 / gt[1], 0, -gt[3] / gt[5], 0, 1 / gt[5]];
  }
  const det = gt[1] * gt[5] - gt[2] * gt[4];
  const magnitude = Math.max(Math.abs(gt[1]), Math.abs(gt[2]), Math.abs(gt[4]), Math.abs(gt[5]));
  if (!(Math.abs(det) > 1e-10 * magnitude * magnitude)) return null;
  const inv = 1 / det;
  return [(gt[2] * gt[3] - gt[0] * gt[5]) * inv, gt[5] * inv, -gt[2] * inv, (-gt[1] * gt[3] + gt[0] * gt[4]) * inv, -gt[4] * inv, gt[1] * inv];
}

/** How messages name the zones' CRS. */
function crsName(set: ZoneSet): string {
  return set.epsg !== null ? `EPSG:${set.epsg}` : `"${set.proj!.length > 60 ? `${set.proj!.slice(0, 57)}...` : set.proj}"`;
}

/** Reprojection of [x, y] from the zones' CRS to the raster CRS, or null when none is needed. */
function projector(set: ZoneSet, raster: RasterGrid): ((xy: number[]) => number[]) | null {
  const target = raster.proj !== null && raster.proj !== '' ? raster.proj : raster.epsg !== null ? projForEpsg(raster.epsg) : undefined;
  // No CRS on the raster: the zones are taken as already in its coordinates.
  if (raster.epsg === null && target === undefined) return null;
  if (set.epsg !== null && raster.epsg === set.epsg) return null;
  if (target === undefined) throw new ZoneError(`${set.source}: the raster's CRS EPSG:${raster.epsg} has no PROJ definition, so zones in ${crsName(set)} cannot be reprojected onto it`);
  const from = set.epsg !== null ? projForEpsg(set.epsg) : set.proj;
  if (from === undefined) throw new ZoneError(`${set.source}: the zones' CRS ${crsName(set)} has no PROJ definition, so they cannot be reprojected`);
  if (from === target) return null;
  try {
    let source: string | InstanceType<typeof proj4.Proj> = from;
    if (set.epsg === null && !from.startsWith('+')) {
      // WKT names its axes (a WKT2 GEOGCRS says latitude first), but vector files hold x = longitude
      // or easting, as OGR reads them: the zones' side keeps that order whatever the WKT says.
      source = new proj4.Proj(from);
      source.axis = 'enu';
    }
    const converter = proj4(source, target);
    // enforceAxis: a south- or west-oriented raster CRS (+axis=wsu) counts its axes as GDAL does.
    return (xy) => converter.forward(xy, true);
  } catch (err) {
    throw new ZoneError(`${set.source}: cannot reproject zones from ${crsName(set)} to the raster's CRS "${target}": ${messageOf(err)}`, { cause: err });
  }
}

/**
 * Zones in raster pixel space, as gdal_rasterize computes them: each vertex reprojected with proj4
 * from the zones' CRS to the raster CRS (vertices only, no densification, as OGR's coordinate
 * transformation does), then taken through GDAL's inverse geotransform (rotation terms included).
 * A raster without a CRS (epsg and proj null) takes the zones as already in its coordinates.
 */
export function toPixelSpace(set: ZoneSet, raster: RasterGrid): PixelZone[] {
  const gt = raster.geotransform;
  const inv = invertGeoTransform(gt);
  if (inv === null) throw new ZoneError(`${set.source}: the raster's geotransform [${gt.join(', ')}] cannot be inverted`);
  const det = gt[1] * gt[5] - gt[2] * gt[4];
  const project = projector(set, raster);
  return set.zones.map((zone) => {
    const polygons = zone.polygons.map((rings) =>
      rings.map((ring) => {
        const out = new Float64Array(ring.length);
        let area = 0;
        for (let i = 0; i < ring.length; i += 2) {
          let x = ring[i]!;
          let y = ring[i + 1]!;
          if (project !== null) {
            [x, y] = project([x, y]) as [number, number];
            if (!Number.isFinite(x) || !Number.isFinite(y)) {
              throw new ZoneError(`${set.source}: feature ${zone.index}: vertex ${shown([ring[i], ring[i + 1]])} cannot be reprojected from ${crsName(set)} to the raster's CRS`);
            }
          }
          // Term by term as GDALGenImgProjTransform does, for bit-identical pixel coordinates.
          out[i] = inv[0] + x * inv[1] + y * inv[2];
          out[i + 1] = inv[3] + x * inv[4] + y * inv[5];
          // Shoelace sum about the first vertex, which keeps tiny rings far from the origin exact enough.
          if (i > 2) area += (out[i - 2]! - out[0]!) * (out[i + 1]! - out[1]!) - (out[i]! - out[0]!) * (out[i - 1]! - out[1]!);
        }
        // GDAL burns every ring clockwise in georeferenced coordinates; pixel space flips with the sign of det.
        return area * det > 0 ? reverseRing(out) : out;
      }),
    );
    return { index: zone.index, id: zone.id, polygons };
  });
}

function reverseRing(ring: Float64Array): Float64Array {
  const n = ring.length / 2;
  const out = new Float64Array(ring.length);
  for (let i = 0; i < n; i++) {
    out[2 * i] = ring[2 * (n - 1 - i)]!;
    out[2 * i + 1] = ring[2 * (n - 1 - i) + 1]!;
  }
  return out;
}
