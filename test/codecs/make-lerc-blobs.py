#!/usr/bin/python3
"""Writes fixtures/lerc-blobs.json: a few tiny LERC tiles as GDAL (libtiff) stores them, base64, with
the LercParameters tag and the pixels GDAL reads from them, so lerc.test.ts can check LERC decoding
without GDAL installed.

Usage: make-lerc-blobs.py   (from test/codecs; needs GDAL's Python bindings)

Each 16x8 image fills the top half of one 16x16 tile. `expected` is GDAL's ReadAsArray,
pixel-interleaved, little-endian; where GDAL cannot read its own file back (GDAL 3.6.2 fails on LERC
float tiles whose NaN mask spans 3 samples) it is the pixels written, and `expectedFrom` says so.
Note what LERC keeps: samples under an invalid mask are not stored (GDAL reads 0 for the RGB of
alpha-0 pixels), and this GDAL writes NaN found in only some samples as -FLT_MAX.
"""
import base64
import json
import os
import tempfile

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
gdal.PushErrorHandler('CPLQuietErrorHandler')
W, H = 16, 8


def image(kind, bands):
    y, x = np.mgrid[0:H, 0:W]
    out = []
    for s in range(bands):
        if kind == 'float32':
            out.append(x * 0.5 - y * 0.25 + s)
        else:
            out.append((x * 3 + y * 5 + s * 7) % 200 + (1000 if kind == 'uint16' else 0))
    return np.stack(out)


def blob(name, kind, bands, options, data, alpha=False):
    types = {'uint8': gdal.GDT_Byte, 'uint16': gdal.GDT_UInt16, 'float32': gdal.GDT_Float32}
    path = os.path.join(tempfile.mkdtemp(), name + '.tif')
    ds = gdal.GetDriverByName('GTiff').Create(path, W, H, bands, types[kind],
                                              ['TILED=YES', 'BLOCKXSIZE=16', 'BLOCKYSIZE=16'] + options)
    for b in range(bands):
        ds.GetRasterBand(b + 1).WriteArray(data[b])
    if alpha:
        ds.GetRasterBand(bands).SetColorInterpretation(gdal.GCI_AlphaBand)
    ds = None
    ds = gdal.Open(path)
    band = ds.GetRasterBand(1)  # keep `ds` alive: a band outliving its dataset crashes GDAL
    off = int(band.GetMetadataItem('BLOCK_OFFSET_0_0', 'TIFF'))
    size = int(band.GetMetadataItem('BLOCK_SIZE_0_0', 'TIFF'))
    raw = open(path, 'rb').read()
    try:
        got = ds.ReadAsArray()
        expected_from = 'gdal'
    except RuntimeError as err:
        got = data
        expected_from = 'source (GDAL %s could not read it back: %s)' % (gdal.__version__, str(err).split(': ', 1)[-1])
    got = np.asarray(got).reshape(bands, H, W).astype(np.dtype(kind).newbyteorder('<'))
    expected = np.moveaxis(got, 0, -1).tobytes()  # pixel-interleaved
    params = [4, {'LERC': 0, 'LERC_DEFLATE': 1, 'LERC_ZSTD': 2}[[o for o in options if o.startswith('COMPRESS=')][0][9:]]]
    return {'name': name, 'kind': kind, 'samples': bands, 'littleEndian': raw[:2] == b'II',
            'lercParameters': params, 'blob': base64.b64encode(raw[off:off + size]).decode(),
            'expected': base64.b64encode(expected).decode(), 'expectedFrom': expected_from}


def main():
    y, x = np.mgrid[0:H, 0:W]
    hole = (x + y) % 5 == 0
    nan_all = image('float32', 3)
    nan_all[:, hole] = np.nan
    nan_one = image('float32', 1)
    nan_one[:, hole] = np.nan
    nan_some = image('float32', 3)
    nan_some[1, hole] = np.nan
    rgba = image('uint8', 4)
    rgba[3] = np.where((x + 2 * y) % 3 == 0, 0, 255)
    blobs = [
        blob('uint8-3-samples', 'uint8', 3, ['COMPRESS=LERC'], image('uint8', 3)),
        blob('uint16-big-endian', 'uint16', 1, ['COMPRESS=LERC', 'ENDIANNESS=BIG'], image('uint16', 1)),
        blob('float32-nan', 'float32', 1, ['COMPRESS=LERC'], nan_one),
        blob('float32-nan-deflate', 'float32', 1, ['COMPRESS=LERC_DEFLATE'], nan_one),
        blob('float32-nan-zstd', 'float32', 1, ['COMPRESS=LERC_ZSTD'], nan_one),
        blob('float32-3-samples-nan-all', 'float32', 3, ['COMPRESS=LERC'], nan_all),
        blob('float32-3-samples-nan-some', 'float32', 3, ['COMPRESS=LERC'], nan_some),
        blob('uint8-rgba-alpha-as-mask', 'uint8', 4, ['COMPRESS=LERC', 'PHOTOMETRIC=RGB', 'ALPHA=YES'], rgba, alpha=True),
    ]
    with open(os.path.join('fixtures', 'lerc-blobs.json'), 'w') as f:
        json.dump({'width': W, 'height': H, 'gdal': gdal.__version__, 'blobs': blobs}, f, indent=1)


if __name__ == '__main__':
    main()
