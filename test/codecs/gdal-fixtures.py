#!/usr/bin/python3
"""Writes small TIFFs with GDAL in every compression/predictor/layout our block codecs read, plus what
GDAL decodes from them, so test/codecs/gdal.test.ts can check our decoders against libtiff.

Usage: gdal-fixtures.py OUT_DIR

For each fixture OUT_DIR gets NAME.tif, NAME.bin (GDAL's ReadAsArray of the whole image: bands one
after another, little-endian) and an entry in OUT_DIR/manifest.json with the IFD tags a TIFF reader
would hand the codecs and each block's offset and size (from GDAL's own BLOCK_OFFSET_x_y metadata).
Everything is deterministic, so a failure reproduces.
"""
import json
import os
import struct
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()

WIDTH, HEIGHT = 70, 45  # not a multiple of the block size: edge tiles are padded, the last strip short
DTYPES = {
    'Byte': (gdal.GDT_Byte, np.uint8),
    'Int16': (gdal.GDT_Int16, np.int16),
    'UInt16': (gdal.GDT_UInt16, np.uint16),
    'Int32': (gdal.GDT_Int32, np.int32),
    'UInt32': (gdal.GDT_UInt32, np.uint32),
    'Float32': (gdal.GDT_Float32, np.float32),
    'Float64': (gdal.GDT_Float64, np.float64),
}
INTS = ['Byte', 'Int16', 'UInt16', 'Int32', 'UInt32']
FLOATS = ['Float32', 'Float64']


def pixels(dtype, bands, seed=0):
    """Smooth waves plus a little deterministic texture, spanning most of the type's range (negative
    values for signed types, values near 2^32 for UInt32 so differencing wraps)."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    out = []
    for b in range(bands):
        wave = np.sin(x / 9.0 + b + seed) * np.cos(y / 7.0 - b)  # -1..1
        tex = ((x * 31 + y * 17 + b * 7 + seed) % 11) / 11.0  # 0..1
        if dtype == 'Byte':
            v = 128 + 100 * wave + 20 * tex
        elif dtype == 'Int16':
            v = 30000 * wave + 500 * tex
        elif dtype == 'UInt16':
            v = 32768 + 30000 * wave + 500 * tex
        elif dtype == 'Int32':
            v = 2.0e9 * wave + 1e5 * tex
        elif dtype == 'UInt32':
            v = 2.0e9 + 2.0e9 * wave + 1e5 * tex
        else:
            v = 1234.5 * wave + tex * 1e-3 - 0.25
        out.append(np.round(v) if dtype in INTS else v)
    return np.stack(out).astype(DTYPES[dtype][1])


def read_tags(path):
    """The first IFD's tags we need, read from the file itself (GDAL does not expose raw tags)."""
    data = open(path, 'rb').read()
    le = data[:2] == b'II'
    e = '<' if le else '>'
    assert struct.unpack(e + 'H', data[2:4])[0] == 42, 'fixtures are classic TIFF'
    ifd = struct.unpack(e + 'I', data[4:8])[0]
    count = struct.unpack(e + 'H', data[ifd:ifd + 2])[0]
    # type: (bytes per value, struct format); rationals come back as (numerator, denominator) pairs.
    kinds = {1: (1, 'B'), 2: (1, 'B'), 3: (2, 'H'), 4: (4, 'I'), 5: (8, 'II'), 6: (1, 'b'), 7: (1, 'B'),
             8: (2, 'h'), 9: (4, 'i'), 10: (8, 'ii'), 11: (4, 'f'), 12: (8, 'd'), 16: (8, 'Q')}
    tags = {}
    for i in range(count):
        p = ifd + 2 + 12 * i
        tag, typ, n = struct.unpack(e + 'HHI', data[p:p + 8])
        width, fmt = kinds[typ]
        size = width * n
        at = p + 8 if size <= 4 else struct.unpack(e + 'I', data[p + 8:p + 12])[0]
        raw = data[at:at + size]
        if typ in (1, 2, 7):
            tags[tag] = raw
        else:
            tags[tag] = list(struct.unpack(e + fmt * n, raw))
    return le, tags


def block_list(ds, planar):
    band = ds.GetRasterBand(1)
    bw, bh = band.GetBlockSize()
    nx = (ds.RasterXSize + bw - 1) // bw
    ny = (ds.RasterYSize + bh - 1) // bh
    out = []
    planes = range(ds.RasterCount) if planar else [0]
    for plane in planes:
        b = ds.GetRasterBand(plane + 1)
        for row in range(ny):
            for col in range(nx):
                out.append({
                    'plane': plane,
                    'col': col,
                    'row': row,
                    'offset': int(b.GetMetadataItem('BLOCK_OFFSET_%d_%d' % (col, row), 'TIFF')),
                    'size': int(b.GetMetadataItem('BLOCK_SIZE_%d_%d' % (col, row), 'TIFF')),
                })
    return out


def write(out_dir, name, dtype, bands, options, data=None, alpha=False):
    path = os.path.join(out_dir, name + '.tif')
    gtype = DTYPES[dtype][0]
    ds = gdal.GetDriverByName('GTiff').Create(path, WIDTH, HEIGHT, bands, gtype, options)
    if data is None:
        data = pixels(dtype, bands)
    for b in range(bands):
        ds.GetRasterBand(b + 1).WriteArray(data[b])
    if alpha:
        ds.GetRasterBand(bands).SetColorInterpretation(gdal.GCI_AlphaBand)
    ds = None

    ds = gdal.Open(path)
    expected_from = 'gdal'
    try:
        got = ds.ReadAsArray()
    except RuntimeError as err:
        # Some GDAL/libtiff/liblerc combinations cannot read back what they wrote (GDAL 3.6.2 with
        # liblerc 4 fails on LERC float blocks whose NaN pixels make a mask over 3 samples). The
        # codecs are lossless here, so the pixels we wrote are the truth to compare against.
        got = data
        expected_from = 'source (GDAL could not read it: %s)' % err
    if got.ndim == 2:
        got = got[np.newaxis]
    if 'NBITS=16' in options:
        # Half floats: GDAL widens them to Float32 on read, exactly, so narrowing back is exact too.
        got = got.astype(np.float16)
    got.astype(got.dtype.newbyteorder('<')).tofile(os.path.join(out_dir, name + '.bin'))
    le, tags = read_tags(path)
    planar = tags.get(284, [1])[0] == 2
    tiled = 322 in tags
    entry = {
        'name': name,
        'dtype': dtype,
        'options': options,
        'width': WIDTH,
        'height': HEIGHT,
        'bands': bands,
        'littleEndian': le,
        'compression': tags[259][0],
        'predictor': tags.get(317, [1])[0],
        'photometric': tags.get(262, [1])[0],
        'planar': planar,
        'tiled': tiled,
        'blockWidth': tags[322][0] if tiled else WIDTH,
        'blockHeight': tags[323][0] if tiled else tags.get(278, [HEIGHT])[0],
        'bytesPerSample': tags[258][0] // 8,
        'sampleFormat': tags.get(339, [1])[0],
        'jpegTables': tags[347].hex() if 347 in tags else None,
        'lercParameters': tags.get(50674),
        'blocks': block_list(ds, planar),
        # Lossy codecs: how far our samples may be from GDAL's.
        'tolerance': 0,
        'expectedFrom': expected_from,
    }
    ds = None
    return entry


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    fixtures = []

    def layouts():
        # (name, bands, creation options)
        yield 'b1', 1, []
        yield 'b3pixel', 3, ['INTERLEAVE=PIXEL']
        yield 'b3band', 3, ['INTERLEAVE=BAND']

    def arrangements():
        yield 'tiles', ['TILED=YES', 'BLOCKXSIZE=32', 'BLOCKYSIZE=32']
        yield 'strips', ['TILED=NO', 'BLOCKYSIZE=8']

    # Codecs that go through the predictor: every dtype x predictor x layout x byte order x tiling.
    for comp in ['LZW', 'DEFLATE', 'ZSTD']:
        for dtype in DTYPES:
            preds = [1, 2] if dtype in INTS else [1, 2, 3]
            for pred in preds:
                for lname, bands, lopts in layouts():
                    for endian in ['LITTLE', 'BIG']:
                        for aname, aopts in arrangements():
                            name = '%s-p%d-%s-%s-%s-%s' % (comp, pred, dtype, lname, endian.lower(), aname)
                            opts = ['COMPRESS=' + comp, 'PREDICTOR=%d' % pred, 'ENDIANNESS=' + endian] + lopts + aopts
                            fixtures.append(write(out_dir, name, dtype, bands, opts))

    # Half floats (Float32 stored with NBITS=16): the predictor's generic byte-plane path.
    for comp in ['LZW', 'DEFLATE', 'ZSTD']:
        for pred in [1, 3]:
            for lname, bands, lopts in [('b1', 1, []), ('b3pixel', 3, ['INTERLEAVE=PIXEL'])]:
                for endian in ['LITTLE', 'BIG']:
                    name = '%s-p%d-Float16-%s-%s-tiles' % (comp, pred, lname, endian.lower())
                    opts = ['COMPRESS=' + comp, 'PREDICTOR=%d' % pred, 'NBITS=16', 'ENDIANNESS=' + endian,
                            'TILED=YES', 'BLOCKXSIZE=32', 'BLOCKYSIZE=32'] + lopts
                    fixtures.append(write(out_dir, name, 'Float32', bands, opts))

    # Codecs without a predictor.
    for comp in ['NONE', 'PACKBITS']:
        for dtype in DTYPES:
            for lname, bands, lopts in layouts():
                for endian in ['LITTLE', 'BIG']:
                    for aname, aopts in arrangements():
                        name = '%s-%s-%s-%s-%s' % (comp, dtype, lname, endian.lower(), aname)
                        opts = ['COMPRESS=' + comp, 'ENDIANNESS=' + endian] + lopts + aopts
                        fixtures.append(write(out_dir, name, dtype, bands, opts))

    # LERC (lossless, MAX_Z_ERROR=0), bare and wrapped.
    for comp in ['LERC', 'LERC_DEFLATE', 'LERC_ZSTD']:
        for dtype in DTYPES:
            for lname, bands, lopts in layouts():
                for endian in ['LITTLE', 'BIG']:
                    name = '%s-%s-%s-%s-tiles' % (comp, dtype, lname, endian.lower())
                    opts = ['COMPRESS=' + comp, 'ENDIANNESS=' + endian, 'TILED=YES', 'BLOCKXSIZE=32', 'BLOCKYSIZE=32'] + lopts
                    fixtures.append(write(out_dir, name, dtype, bands, opts))
    tiles = ['TILED=YES', 'BLOCKXSIZE=32', 'BLOCKYSIZE=32']
    # LERC masks: NaN in every sample of some pixels (one mask), NaN in some samples only (a mask per
    # band, when libtiff's liblerc is >= 3), and an all-0/255 alpha band stored as the mask.
    for dtype in FLOATS:
        for bands in [1, 3]:
            data = pixels(dtype, bands)
            data[:, 5:9, 10:30] = np.nan
            fixtures.append(write(out_dir, 'LERC-nan-all-%s-b%d' % (dtype, bands), dtype, bands, ['COMPRESS=LERC'] + tiles, data))
        data = pixels(dtype, 3)
        data[1, 20:25, 3:12] = np.nan
        fixtures.append(write(out_dir, 'LERC-nan-some-%s-b3' % dtype, dtype, 3, ['COMPRESS=LERC'] + tiles, data))
    rgba = pixels('Byte', 4)
    rgba[3] = np.where((np.arange(WIDTH)[np.newaxis, :] + np.arange(HEIGHT)[:, np.newaxis]) % 9 < 3, 0, 255)
    fixtures.append(write(out_dir, 'LERC-alpha-Byte-b4', 'Byte', 4, ['COMPRESS=LERC', 'PHOTOMETRIC=RGB', 'ALPHA=YES'] + tiles, rgba, alpha=True))

    # JPEG: grey, YCbCr (converted to RGB on read), RGB, band-interleaved; tables in the tag or not.
    jpeg_cases = [
        ('grey', 1, ['PHOTOMETRIC=MINISBLACK']),
        ('ycbcr', 3, ['PHOTOMETRIC=YCBCR']),
        ('rgb', 3, ['PHOTOMETRIC=RGB']),
        ('band', 3, ['PHOTOMETRIC=RGB', 'INTERLEAVE=BAND']),
    ]
    for cname, bands, copts in jpeg_cases:
        for aname, aopts in [('tiles', tiles), ('strips', ['TILED=NO', 'BLOCKYSIZE=16'])]:
            for mode in [0, 1, 3]:
                name = 'JPEG-%s-%s-tables%d' % (cname, aname, mode)
                opts = ['COMPRESS=JPEG', 'JPEG_QUALITY=90', 'JPEGTABLESMODE=%d' % mode] + copts + aopts
                entry = write(out_dir, name, 'Byte', bands, opts)
                # We decode with libjpeg-turbo (mozjpeg in WebAssembly), as GDAL does: exact.
                entry['tolerance'] = 0
                fixtures.append(entry)

    with open(os.path.join(out_dir, 'manifest.json'), 'w') as f:
        json.dump({'gdal': gdal.__version__, 'fixtures': fixtures}, f)


if __name__ == '__main__':
    main(sys.argv[1])
