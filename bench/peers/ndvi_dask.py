#!/usr/bin/python3
"""Dask peer for bench/ndvi.mjs: the NDVI of many scenes with rioxarray on a local Dask cluster of 2
single-thread worker processes.

Each scene's bands are opened lazily with rioxarray.open_rasterio(chunks=...), NDVI is a lazy float32
expression (NaN where red or NIR is 0 or their sum is 0), and one task per scene, run on a worker, takes
the computed array and writes it with rioxarray's to_raster(driver='COG') (DEFLATE, floating-point
predictor, 512 x 512 tiles, average overviews) to OUT/<scene>_NDVI.tif. So reading and NDVI run chunk by
chunk on both workers, and the COG writes (compression, overviews) run on the workers too, a scene each;
`--inflight` scenes are submitted at a time, so one scene's chunks compute while another is written.

Why not to_raster(lock=...) straight from the dask array: rioxarray 0.13 then creates the file and lets
each chunk reopen it in update mode ("r+"). GDAL's COG driver can only CreateCopy, so the COG (and its
overviews) would be made from an empty array and the chunks appended after it, breaking the layout.

Prints {"peer":"dask","scenes":N,"seconds":S,"startupSeconds":T}; S runs from the first submission to the
last file written, so the cluster's start-up (T) and shut-down are not counted.

    /usr/bin/python3 bench/peers/ndvi_dask.py --red 'DIR/*_B4.TIF' --nir 'DIR/*_B5.TIF' --out OUT --json
"""
import argparse, json, os, sys, time, warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dask_cluster import local_cluster  # noqa: E402
from ndvi_gdal import scenes  # noqa: E402  (the same scene pairing and names as the GDAL peer)

# rasterio passes these to GDAL's COG driver as creation options; the same output as the GDAL peer.
COG_PROFILE = {'compress': 'DEFLATE', 'predictor': 'FLOATING_POINT', 'blocksize': 512, 'overviews': 'AUTO',
               'resampling': 'AVERAGE'}


def lazy_ndvi(red_path, nir_path, chunk):
    """The NDVI of one scene as a lazy DataArray, (1, height, width) float32, nodata NaN."""
    import numpy as np
    import rioxarray

    # lock=False: each worker process reads its own chunks, with no lock shared between them.
    red = rioxarray.open_rasterio(red_path, chunks={'x': chunk, 'y': chunk}, lock=False)
    nir = rioxarray.open_rasterio(nir_path, chunks={'x': chunk, 'y': chunk}, lock=False)
    if red.shape != nir.shape:
        sys.exit(f'{red_path} is {red.shape} but {nir_path} is {nir.shape}')
    r, n = red.astype(np.float32), nir.astype(np.float32)
    total = n + r
    valid = (red != 0) & (nir != 0) & (total != 0)
    # Masking the divisor (NaN where invalid) avoids 0/0 warnings in the workers.
    ndvi = ((n - r) / total.where(valid)).astype(np.float32)
    return ndvi.rio.write_nodata(np.nan, encoded=False)


def warm_up():
    import rioxarray  # noqa: F401  (and with it xarray, rasterio, numpy)


def write_cog(ndvi, path):
    """Runs on a worker: `ndvi` arrives computed, its chunks gathered there by Dask."""
    ndvi.rio.to_raster(path, driver='COG', dtype='float32', **COG_PROFILE)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--red', required=True, help="glob of the red bands, e.g. 'DIR/*_B4.TIF'")
    parser.add_argument('--nir', required=True, help="glob of the near-infrared bands, e.g. 'DIR/*_B5.TIF'")
    parser.add_argument('--out', required=True, help='directory for the <scene>_NDVI.tif files')
    parser.add_argument('--workers', type=int, default=2, help='worker processes, 1 thread each (default 2)')
    parser.add_argument('--chunk', type=int, default=2048,
                        help='chunk edge in pixels, a multiple of the 512-pixel tiles (default 2048)')
    parser.add_argument('--inflight', type=int, default=0,
                        help='scenes submitted at a time (default 0: as many as workers)')
    parser.add_argument('--json', action='store_true', help='print one JSON line instead of a sentence')
    args = parser.parse_args()
    for name in ('workers', 'chunk'):
        if getattr(args, name) < 1:
            parser.error(f'--{name} must be a positive integer, got {getattr(args, name)}')
    if args.inflight < 0:
        parser.error(f'--inflight must be 0 or a positive integer, got {args.inflight}')
    inflight = args.inflight or args.workers

    warnings.simplefilter('ignore')
    import dask
    from dask.distributed import as_completed

    todo = scenes(args.red, args.nir)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.perf_counter()
    with local_cluster(args.workers) as client:
        # Workers import rioxarray (about 1 s) before the clock starts, as a long-lived cluster would have.
        client.run(warm_up)
        start = time.perf_counter()
        queue = list(todo)
        running = as_completed()

        def submit():
            scene, red_path, nir_path = queue.pop(0)
            path = os.path.join(args.out, f'{scene}_NDVI.tif')
            # Optimize the array graph first (read, cast, mask and divide fuse into one task per chunk):
            # wrapped in a Delayed as it is, it would only be culled, and every intermediate chunk
            # would be a task of its own, moved between workers.
            (ndvi,) = dask.optimize(lazy_ndvi(red_path, nir_path, args.chunk))
            task = dask.delayed(write_cog)(ndvi, path)
            running.add(client.compute(task))

        for _ in range(min(inflight, len(queue))):
            submit()
        for future in running:
            print(f'dask: {os.path.basename(future.result())} written', file=sys.stderr, flush=True)
            del future
            if queue:
                submit()
        seconds = time.perf_counter() - start

    out = {'peer': 'dask', 'scenes': len(todo), 'seconds': seconds, 'startupSeconds': start - t0}
    if args.json:
        print(json.dumps(out, separators=(',', ':')), flush=True)
    else:
        print(f'dask: NDVI of {len(todo)} scenes in {seconds:.1f} s (+ {start - t0:.1f} s cluster start-up)')


if __name__ == '__main__':  # worker processes are spawned and re-import this file
    main()
