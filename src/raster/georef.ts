import { TiffError } from './errors.js';
import type { TagValue } from './tiff/ifd.js';
import { Tag } from './tiff/tags.js';

/** GDAL's affine geotransform: x = gt[0] + col·gt[1] + row·gt[2]; y = gt[3] + col·gt[4] + row·gt[5]. */
export type GeoTransform = [number, number, number, number, number, number];

/** GDAL's default when a file has no georeferencing. */
export const IDENTITY_GEOTRANSFORM: GeoTransform = [0, 1, 0, 0, 0, 1];

/** GTRasterTypeGeoKey and its two values. */
export const GT_RASTER_TYPE_KEY = 1025;
export const RASTER_PIXEL_IS_AREA = 1;
export const RASTER_PIXEL_IS_POINT = 2;

/** GTRasterTypeGeoKey from a GeoKey directory; 1 (PixelIsArea) when absent. */
function rasterType(directory: TagValue | undefined): number {
  if (!(directory instanceof Float64Array) || directory.length < 4) return 1;
  const count = directory[3] as number;
  for (let i = 0; i < count; i++) {
    const at = 4 + i * 4;
    if (at + 3 >= directory.length) break;
    if (directory[at] === GT_RASTER_TYPE_KEY && directory[at + 1] === 0) return directory[at + 3] as number;
  }
  return 1;
}

/**
 * The geotransform from ModelTransformation, or from ModelTiepoint and ModelPixelScale, as GDAL builds it
 * (PixelIsPoint files are shifted by half a pixel, as GDAL does by default). Null when the file has none.
 */
export function geoTransformFromTags(url: string, tags: Map<number, TagValue>): GeoTransform | null {
  const transform = tags.get(Tag.ModelTransformation);
  const tiepoint = tags.get(Tag.ModelTiepoint);
  const scale = tags.get(Tag.ModelPixelScale);
  // GDAL's precedence: tiepoint and pixel scale first, ModelTransformation only without them.
  let gt: GeoTransform | null = null;
  if (tiepoint instanceof Float64Array && scale instanceof Float64Array) {
    if (tiepoint.length < 6) throw new TiffError(url, `ModelTiepoint has ${tiepoint.length} values, fewer than 6`);
    if (scale.length < 2) throw new TiffError(url, `ModelPixelScale has ${scale.length} values, fewer than 2`);
    const [i, j, , x, y] = tiepoint as unknown as number[];
    const sx = scale[0]!;
    const sy = scale[1]!;
    gt = [x! - i! * sx, sx, 0, y! + j! * sy, 0, -sy];
  } else if (transform instanceof Float64Array) {
    if (transform.length < 16) throw new TiffError(url, `ModelTransformation has ${transform.length} values, not 16`);
    const m = transform;
    gt = [m[3]!, m[0]!, m[1]!, m[7]!, m[4]!, m[5]!];
  }
  if (gt === null) return null;
  if (!gt.every(Number.isFinite)) throw new TiffError(url, `georeferencing holds a non-finite value: [${gt.join(', ')}]`);
  if (rasterType(tags.get(Tag.GeoKeyDirectory)) === RASTER_PIXEL_IS_POINT) {
    gt = [gt[0] - 0.5 * gt[1] - 0.5 * gt[2], gt[1], gt[2], gt[3] - 0.5 * gt[4] - 0.5 * gt[5], gt[4], gt[5]];
  }
  return gt;
}
