#!/usr/bin/python3
"""GDAL's view of a GeoTIFF, as JSON: the independent judge of the files we write.

usage: gdal_probe.py FILE [--pixels-to DIR]
Prints size, type, geotransform, EPSG, nodata, block, compression, overviews, the SHA-256 of every
band's little-endian pixels (also per overview), and the COG validator's errors and warnings (full check).
With --pixels-to DIR, also writes each band's raw little-endian pixels to DIR/band<N>.bin.
"""
import hashlib, json, os, sys
from osgeo import gdal, osr
from osgeo_utils.samples import validate_cloud_optimized_geotiff as cog

gdal.UseExceptions()
path = sys.argv[1]
pixels_to = sys.argv[sys.argv.index('--pixels-to') + 1] if '--pixels-to' in sys.argv else None
ds = gdal.Open(path)
b1 = ds.GetRasterBand(1)
srs = ds.GetSpatialRef()
epsg = None
if srs is not None:
    code = srs.GetAuthorityCode(None)
    epsg = int(code) if code else None


def sha(band):
    arr = band.ReadAsArray()
    return hashlib.sha256(arr.astype(arr.dtype.newbyteorder('<')).tobytes()).hexdigest()


nodata = b1.GetNoDataValue()
out = {
    'width': ds.RasterXSize,
    'height': ds.RasterYSize,
    'bands': ds.RasterCount,
    'dtype': gdal.GetDataTypeName(b1.DataType),
    'geotransform': list(ds.GetGeoTransform(can_return_null=True) or []) or None,
    'epsg': epsg,
    'wkt': srs.ExportToWkt() if srs is not None else None,
    'nodata': None if nodata is None else ('nan' if nodata != nodata else ('inf' if nodata == float('inf') else ('-inf' if nodata == float('-inf') else nodata))),
    'block': b1.GetBlockSize(),
    'compression': ds.GetMetadataItem('COMPRESSION', 'IMAGE_STRUCTURE'),
    'layout': ds.GetMetadataItem('LAYOUT', 'IMAGE_STRUCTURE'),
    'sha256': [sha(ds.GetRasterBand(i + 1)) for i in range(ds.RasterCount)],
    'overviews': [[b1.GetOverview(i).XSize, b1.GetOverview(i).YSize] for i in range(b1.GetOverviewCount())],
    'overview_sha256': [sha(b1.GetOverview(i)) for i in range(b1.GetOverviewCount())],
}
try:
    warnings, errors, _ = cog.validate(path, full_check=True)
    out['cog_errors'] = errors
    out['cog_warnings'] = warnings
except Exception as e:  # not a TIFF GDAL can validate
    out['cog_errors'] = [str(e)]
    out['cog_warnings'] = []
if pixels_to:
    os.makedirs(pixels_to, exist_ok=True)
    for i in range(ds.RasterCount):
        arr = ds.GetRasterBand(i + 1).ReadAsArray()
        with open(os.path.join(pixels_to, f'band{i}.bin'), 'wb') as f:
            f.write(arr.astype(arr.dtype.newbyteorder('<')).tobytes())
print(json.dumps(out))
