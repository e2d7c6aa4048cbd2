"""Zonal statistics the independent way, for test/algebra/zonal.test.ts: each feature burned alone by
gdal.RasterizeLayer onto the raster's grid (GDAL's centre-in-pixel rule, or ALL_TOUCHED), then numpy
statistics of the valid pixels under the mask. Prints one JSON row per feature.
usage: zonal_reference.py RASTER BAND ZONES.geojson ALL_TOUCHED(0|1) BINS
"""
import json, sys
import numpy as np
from osgeo import gdal, ogr
gdal.UseExceptions()
ogr.UseExceptions()

raster, band_index, zones, all_touched, bins = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == '1', int(sys.argv[5])
ds = gdal.Open(raster)
band = ds.GetRasterBand(band_index)
data = band.ReadAsArray()
nodata = band.GetNoDataValue()
source = ogr.Open(zones)  # kept: a layer outlives its datasource only as long as this reference
layer = source.GetLayer(0)
rows = []
for feature in layer:
    mem = gdal.GetDriverByName('MEM').Create('', ds.RasterXSize, ds.RasterYSize, 1, gdal.GDT_Byte)
    mem.SetGeoTransform(ds.GetGeoTransform())
    mem.SetProjection(ds.GetProjection())
    one = ogr.GetDriverByName('Memory').CreateDataSource('one')
    lyr = one.CreateLayer('z', srs=layer.GetSpatialRef(), geom_type=ogr.wkbUnknown)
    f = ogr.Feature(lyr.GetLayerDefn())
    f.SetGeometry(feature.GetGeometryRef().Clone())
    lyr.CreateFeature(f)
    gdal.RasterizeLayer(mem, [1], lyr, burn_values=[1], options=['ALL_TOUCHED=TRUE'] if all_touched else [])
    inside = data[mem.ReadAsArray().astype(bool)]
    valid = inside[~np.isnan(inside)] if inside.dtype.kind == 'f' else inside
    if nodata is not None:
        valid = valid[valid != nodata]
    v = valid.astype(np.float64)
    row = {'count': int(v.size), 'nodata': int(inside.size - v.size)}
    if v.size:
        counts, edges = np.histogram(v, bins=bins)
        row.update(sum=float(v.sum()), mean=float(v.mean()), min=float(v.min()), max=float(v.max()), std=float(v.std()),
                   median=float(np.median(v)), p10=float(np.percentile(v, 10)), p90=float(np.percentile(v, 90)),
                   histogram={'edges': edges.tolist(), 'counts': counts.tolist()})
    else:
        row.update(sum=None, mean=None, min=None, max=None, std=None, median=None, p10=None, p90=None, histogram=None)
    rows.append(row)
print(json.dumps(rows))
