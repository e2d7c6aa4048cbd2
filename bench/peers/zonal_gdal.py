#!/usr/bin/env python3
"""The peer of `npm run bench:zonal`: zonal statistics the plain GDAL + numpy way. For each polygon,
gdal.RasterizeLayer burns it (centre-in-pixel, GDAL's default) into a mask over the polygon's bounding
window, the window is read, and numpy computes count, sum, mean, min, max, std, median, p10, p90 and a
10-bin histogram of the valid pixels. Prints {"seconds", "rows"} as JSON.
usage: zonal_gdal.py RASTER ZONES.geojson
"""
import json, math, sys, time
import numpy as np
from osgeo import gdal, ogr
gdal.UseExceptions()
ogr.UseExceptions()

raster_path, zones_path = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
ds = gdal.Open(raster_path)
band = ds.GetRasterBand(1)
nodata = band.GetNoDataValue()
gt = ds.GetGeoTransform()
W, H = ds.RasterXSize, ds.RasterYSize
src = ogr.Open(zones_path)
layer = src.GetLayer(0)
srs = layer.GetSpatialRef()
mem_driver = ogr.GetDriverByName('Memory')
rows = []
for i, feature in enumerate(layer):
    geom = feature.GetGeometryRef()
    minx, maxx, miny, maxy = geom.GetEnvelope()
    x0 = max(0, int(math.floor((minx - gt[0]) / gt[1])))
    x1 = min(W, int(math.ceil((maxx - gt[0]) / gt[1])))
    y0 = max(0, int(math.floor((maxy - gt[3]) / gt[5])))
    y1 = min(H, int(math.ceil((miny - gt[3]) / gt[5])))
    row = {'id': i}
    values = np.empty(0)
    if x1 > x0 and y1 > y0:
        w, h = x1 - x0, y1 - y0
        mask_ds = gdal.GetDriverByName('MEM').Create('', w, h, 1, gdal.GDT_Byte)
        mask_ds.SetGeoTransform((gt[0] + x0 * gt[1], gt[1], 0, gt[3] + y0 * gt[5], 0, gt[5]))
        mask_ds.SetProjection(ds.GetProjection())
        one = mem_driver.CreateDataSource('one')
        lyr = one.CreateLayer('z', srs=srs, geom_type=ogr.wkbMultiPolygon)
        f = ogr.Feature(lyr.GetLayerDefn())
        f.SetGeometry(geom)
        lyr.CreateFeature(f)
        gdal.RasterizeLayer(mask_ds, [1], lyr, burn_values=[1])
        mask = mask_ds.ReadAsArray().astype(bool)
        data = band.ReadAsArray(x0, y0, w, h)
        inside = data[mask]
        values = inside[inside != nodata] if nodata is not None else inside
    values = values.astype(np.float64)
    n = int(values.size)
    row['count'] = n
    if n:
        row.update(sum=float(values.sum()), mean=float(values.mean()), min=float(values.min()), max=float(values.max()),
                   std=float(values.std()), median=float(np.median(values)), p10=float(np.percentile(values, 10)),
                   p90=float(np.percentile(values, 90)))
        counts, edges = np.histogram(values, bins=10)
        row['histogram'] = {'edges': edges.tolist(), 'counts': counts.tolist()}
    else:
        row.update(sum=None, mean=None, min=None, max=None, std=None, median=None, p10=None, p90=None, histogram=None)
    rows.append(row)
print(json.dumps({'seconds': time.perf_counter() - t0, 'rows': rows}))
