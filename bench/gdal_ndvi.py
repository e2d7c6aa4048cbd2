#!/usr/bin/python3
"""The plain GDAL + numpy NDVI program a scientist would write: read both bands whole, compute, write a
Float32 DEFLATE predictor-3 COG. The peer that `databox ndvi` is measured against."""
import sys
import numpy as np
from osgeo import gdal

gdal.UseExceptions()
red_path, nir_path, out_path = sys.argv[1:4]
red_ds, nir_ds = gdal.Open(red_path), gdal.Open(nir_path)
red = red_ds.GetRasterBand(1).ReadAsArray().astype(np.float32)
nir = nir_ds.GetRasterBand(1).ReadAsArray().astype(np.float32)
nodata = red_ds.GetRasterBand(1).GetNoDataValue()
total = nir + red
with np.errstate(divide='ignore', invalid='ignore'):
    ndvi = (nir - red) / total
bad = total == 0
if nodata is not None:
    bad |= (red == nodata) | (nir == nodata)
ndvi[bad] = np.nan
mem = gdal.GetDriverByName('MEM').Create('', red_ds.RasterXSize, red_ds.RasterYSize, 1, gdal.GDT_Float32)
mem.SetGeoTransform(red_ds.GetGeoTransform())
mem.SetProjection(red_ds.GetProjection())
band = mem.GetRasterBand(1)
band.WriteArray(ndvi)
band.SetNoDataValue(float('nan'))
gdal.Translate(out_path, mem, format='COG', creationOptions=['COMPRESS=DEFLATE', 'PREDICTOR=YES', 'BLOCKSIZE=512'])
