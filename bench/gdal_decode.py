#!/usr/bin/python3
"""Decodes a whole band with GDAL into a numpy array; prints the seconds the read took (startup excluded)."""
import sys, time
from osgeo import gdal

gdal.UseExceptions()
ds = gdal.Open(sys.argv[1])
start = time.perf_counter()
arr = ds.GetRasterBand(1).ReadAsArray()
print(time.perf_counter() - start)
