#!/usr/bin/python3
"""GDAL peer for bench/ndvi.mjs: the NDVI of many scenes as a typical user's GDAL + numpy program.

For each scene, one after the other: read both bands whole, compute NDVI in float32 with numpy (NaN where
red or NIR is nodata or red + NIR is 0), write a COG with GDAL's COG driver (DEFLATE, floating-point
predictor, 512 x 512 tiles, average overviews) to OUT/<scene>_NDVI.tif, <scene> being what `*` matched.

Prints {"peer":"gdal","scenes":N,"seconds":S}; S runs from the first read to the last file closed.

    /usr/bin/python3 bench/peers/ndvi_gdal.py --red 'DIR/*_B4.TIF' --nir 'DIR/*_B5.TIF' --out OUT --json
"""
import argparse, glob, json, os, re, sys, time

# The output format every tool in bench/ndvi.mjs writes. GDAL 3.6's COG driver spells predictor 3
# FLOATING_POINT (3 is an alias); overviews take the same compression and predictor as the full image.
COG_OPTIONS = ['COMPRESS=DEFLATE', 'PREDICTOR=FLOATING_POINT', 'BLOCKSIZE=512', 'OVERVIEWS=AUTO',
               'RESAMPLING=AVERAGE']


def _glob_regex(pattern):
    """A regex for a glob with one capturing group per `*` or `?`, so a file can be named by what they matched."""
    parts = re.split(r'(\*|\?)', pattern)
    return re.compile(''.join('(.*)' if p == '*' else '(.)' if p == '?' else re.escape(p) for p in parts) + r'\Z')


def _by_scene(pattern, flag):
    paths = sorted(glob.glob(pattern))
    if not paths:
        sys.exit(f'{flag} {pattern!r} matches no file')
    regex = _glob_regex(pattern)
    out = {}
    for path in paths:
        m = regex.match(path)
        if not m or not m.groups():
            sys.exit(f'{flag} {pattern!r} needs a * that names the scene; {path!r} matched none')
        out['_'.join(g.replace(os.sep, '_') for g in m.groups())] = path
    return out


def scenes(red_glob, nir_glob):
    """[(scene, red path, nir path)] sorted by scene; exits with a message when the bands do not pair up."""
    red, nir = _by_scene(red_glob, '--red'), _by_scene(nir_glob, '--nir')
    if red.keys() != nir.keys():
        only_red, only_nir = sorted(red.keys() - nir.keys()), sorted(nir.keys() - red.keys())
        sys.exit(f'red and NIR bands do not pair up: scenes only in --red {only_red[:5]}, only in --nir {only_nir[:5]}')
    return [(s, red[s], nir[s]) for s in sorted(red)]


def ndvi_scene(red_path, nir_path, out_path):
    import numpy as np
    from osgeo import gdal

    red_ds, nir_ds = gdal.Open(red_path), gdal.Open(nir_path)
    if (red_ds.RasterXSize, red_ds.RasterYSize) != (nir_ds.RasterXSize, nir_ds.RasterYSize):
        sys.exit(f'{red_path} is {red_ds.RasterXSize}x{red_ds.RasterYSize} but {nir_path} is '
                 f'{nir_ds.RasterXSize}x{nir_ds.RasterYSize}')
    red_band, nir_band = red_ds.GetRasterBand(1), nir_ds.GetRasterBand(1)
    red = red_band.ReadAsArray().astype(np.float32)
    nir = nir_band.ReadAsArray().astype(np.float32)
    total = nir + red
    # Landsat's fill is 0, declared or not; a declared nodata value other than 0 counts as well.
    bad = (red == 0) | (nir == 0) | (total == 0)
    for band, values in ((red_band, red), (nir_band, nir)):
        nodata = band.GetNoDataValue()
        if nodata is not None and nodata != 0:
            bad |= values == nodata
    with np.errstate(divide='ignore', invalid='ignore'):
        ndvi = (nir - red) / total
    ndvi[bad] = np.nan

    mem = gdal.GetDriverByName('MEM').Create('', red_ds.RasterXSize, red_ds.RasterYSize, 1, gdal.GDT_Float32)
    mem.SetGeoTransform(red_ds.GetGeoTransform())
    mem.SetProjection(red_ds.GetProjection())
    out_band = mem.GetRasterBand(1)
    out_band.WriteArray(ndvi)
    out_band.SetNoDataValue(float('nan'))
    gdal.Translate(out_path, mem, format='COG', creationOptions=COG_OPTIONS)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--red', required=True, help="glob of the red bands, e.g. 'DIR/*_B4.TIF'")
    parser.add_argument('--nir', required=True, help="glob of the near-infrared bands, e.g. 'DIR/*_B5.TIF'")
    parser.add_argument('--out', required=True, help='directory for the <scene>_NDVI.tif files')
    parser.add_argument('--json', action='store_true', help='print one JSON line instead of a sentence')
    args = parser.parse_args()

    from osgeo import gdal
    gdal.UseExceptions()
    todo = scenes(args.red, args.nir)
    os.makedirs(args.out, exist_ok=True)
    start = time.perf_counter()
    for scene, red_path, nir_path in todo:
        ndvi_scene(red_path, nir_path, os.path.join(args.out, f'{scene}_NDVI.tif'))
        print(f'gdal: {scene} done', file=sys.stderr, flush=True)
    seconds = time.perf_counter() - start

    out = {'peer': 'gdal', 'scenes': len(todo), 'seconds': seconds}
    if args.json:
        print(json.dumps(out, separators=(',', ':')), flush=True)
    else:
        print(f'gdal: NDVI of {len(todo)} scenes in {seconds:.1f} s')


if __name__ == '__main__':
    main()
