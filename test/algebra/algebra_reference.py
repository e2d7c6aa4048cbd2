"""Independent references for the map-algebra tests: numpy for band math and OCx chlorophyll,
scipy.ndimage for focal statistics. Reads a JSON list of cases from argv[1], compares each reference
with the file databox wrote (read by GDAL), and prints one JSON result per case:
{"pixels", "mismatches", "nan_mismatches", "max_abs"}.
"""
import json, sys, warnings
import numpy as np
from osgeo import gdal
from scipy import ndimage

gdal.UseExceptions()
warnings.simplefilter('ignore', RuntimeWarning)


def band(path, index=1):
    ds = gdal.Open(path)
    b = ds.GetRasterBand(index)
    a = b.ReadAsArray().astype(np.float64)
    nd = b.GetNoDataValue()
    if nd is not None:
        a[a == nd] = np.nan
    return a


def expr_ndvi_where(c):
    red, nir = band(c['red']), band(c['nir'])
    bad = np.isnan(red) | np.isnan(nir)
    v = np.where(nir > red, np.clip((nir - red) / (nir + red) * 2, -0.5, 0.8), 0) + np.log10(np.maximum(red, 1))
    v[bad | ~np.isfinite(v)] = np.nan
    return v


def chlorophyll(c):
    blues = [band(p) for p in c['blues']]
    green = band(c['green'])
    bad = np.isnan(green)
    for b in blues:
        bad |= np.isnan(b)
    rb = np.max(np.stack(blues), axis=0) * c['scale'] + c['offset']
    rg = green * c['scale'] + c['offset']
    ratio = rb / rg
    ok = ~bad & (rb > 0) & (rg > 0) & (ratio > 0.21) & (ratio < 30)
    x = np.log10(np.where(ok, ratio, 1))
    a = c['a']
    chl = 10 ** (a[0] + x * (a[1] + x * (a[2] + x * (a[3] + x * a[4]))))
    chl = np.clip(chl, 0.001, 1000)
    chl[~ok] = np.nan
    return chl


def focal(c):
    a = band(c['input'], c.get('band', 1))
    r = c['radius']
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    footprint = np.ones_like(yy, dtype=bool) if c['shape'] == 'square' else (xx * xx + yy * yy <= r * r)
    fn = {'mean': np.nanmean, 'median': np.nanmedian, 'min': np.nanmin, 'max': np.nanmax, 'stddev': np.nanstd, 'sum': np.nansum}[c['op']]
    out = ndimage.generic_filter(a, fn, footprint=footprint, mode='constant', cval=np.nan)
    valid = ndimage.generic_filter((~np.isnan(a)).astype(np.float64), np.sum, footprint=footprint, mode='constant', cval=0)
    out[(valid == 0) | np.isnan(a)] = np.nan
    return out


results = []
for c in json.loads(open(sys.argv[1]).read()):
    ref = {'expr': expr_ndvi_where, 'chlorophyll': chlorophyll, 'focal': focal}[c['kind']](c)
    ref = ref.astype(np.float32).astype(np.float64) if c.get('float32', True) else ref
    got = band(c['out'])
    both = ~np.isnan(ref) & ~np.isnan(got)
    diff = np.abs(ref[both] - got[both])
    tol = c.get('rel_tol', 0) * np.maximum(np.abs(ref[both]), 1)
    results.append({
        'pixels': int(ref.size),
        'valid': int(both.sum()),
        'mismatches': int((diff > tol).sum()),
        'nan_mismatches': int((np.isnan(ref) != np.isnan(got)).sum()),
        'max_abs': float(diff.max()) if diff.size else 0.0,
    })
print(json.dumps(results))
