#!/usr/bin/python3
"""Reads each TIFF named on the command line with GDAL and writes what GDAL sees next to it:
PATH.bin (ReadAsArray of the whole image: bands one after another, little-endian), or PATH.err with
GDAL's error when it cannot read the file. Used by gdal-encode.test.ts to check our encoders."""
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()

for path in sys.argv[1:]:
    try:
        got = gdal.Open(path).ReadAsArray()
        if got.ndim == 2:
            got = got[np.newaxis]
        got.astype(got.dtype.newbyteorder('<')).tofile(path + '.bin')
    except RuntimeError as err:
        with open(path + '.err', 'w') as f:
            f.write(str(err))
