// npm run bench:raster: databox against GDAL on full-size Landsat-like scenes, in the same run, on the
// same data. Prints each timing and the ratio databox / GDAL (lower is better) against the goals.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const PY = '/usr/bin/python3';
const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..');
const data = join(here, 'data');
const out = join(data, 'out');
const cli = join(root, 'dist', 'cli', 'main.js');
const runs = Number(process.env.BENCH_RUNS ?? 3);

mkdirSync(out, { recursive: true });
const red = join(data, 'scene00_B4.TIF');
const nir = join(data, 'scene00_B5.TIF');
if (!existsSync(red) || !existsSync(nir)) {
  console.log('making one 7801×7911 Landsat-like scene with ../shared/tools/make-landsat-scenes.py ...');
  execFileSync(PY, [join(root, '..', 'shared', 'tools', 'make-landsat-scenes.py'), data, '1'], { stdio: 'inherit' });
}

const run = (cmd, args) => execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 24 }).trim();
const measure = (cmd, args) => JSON.parse(run(PY, [join(here, 'measure.py'), cmd, ...args]));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs the pair `runs` times, alternating, so drift on a noisy machine hits both alike. */
function pair(name, ours, theirs) {
  const a = [];
  const b = [];
  for (let i = 0; i < runs; i++) {
    a.push(ours());
    b.push(theirs());
  }
  // A side is a number of seconds (timed inside the process) or measure.py's { seconds, peak_mb }.
  const pick = (xs, k) => median(xs.map((x) => (typeof x === 'number' ? (k === 'seconds' ? x : Number.NaN) : x[k])));
  return { name, ours: pick(a, 'seconds'), gdal: pick(b, 'seconds'), oursMb: pick(a, 'peak_mb'), gdalMb: pick(b, 'peak_mb') };
}

const results = [];
results.push({
  ...pair(
    'decode a whole band, shared codec pool: the default (seconds inside the process)',
    () => Number(run(process.execPath, [join(here, 'decode.mjs'), red])),
    () => Number(run(PY, [join(here, 'gdal_decode.py'), red])),
  ),
  goal: 1.0,
});

results.push({
  ...pair(
    'decode a whole band, codecs on the calling thread (seconds inside the process)',
    () => Number(run(process.execPath, [join(here, 'decode.mjs'), red, 'thread'])),
    () => Number(run(PY, [join(here, 'gdal_decode.py'), red])),
  ),
  goal: 1.0,
});

// A class map made from the band: 12 classes of its 4×4 block means, median-filtered, at full resolution
// (Byte, nodata 0 kept): blocky data, where a DEFLATE match search pays and run-length matching does not.
const classes = join(data, 'scene00_classes.tif');
if (!existsSync(classes)) {
  execFileSync(PY, ['-c', `
import sys, numpy as np
from osgeo import gdal
from scipy import ndimage
gdal.UseExceptions()
src = gdal.Open(sys.argv[1]); a = src.GetRasterBand(1).ReadAsArray(); h, w = a.shape
m = ndimage.median_filter(a[: h // 4 * 4, : w // 4 * 4].reshape(h // 4, 4, w // 4, 4).mean(axis=(1, 3)), size=5)
c = np.digitize(m, np.quantile(m[m > 0], np.linspace(0, 1, 13)[1:-1])).astype(np.uint8) + 1
c[m == 0] = 0
full = np.zeros((h, w), np.uint8); full[: h // 4 * 4, : w // 4 * 4] = np.kron(c, np.ones((4, 4), np.uint8))
dst = gdal.GetDriverByName('GTiff').Create(sys.argv[2], w, h, 1, gdal.GDT_Byte, ['TILED=YES', 'COMPRESS=DEFLATE'])
dst.SetGeoTransform(src.GetGeoTransform()); dst.SetProjection(src.GetProjection())
dst.GetRasterBand(1).WriteArray(full); dst.GetRasterBand(1).SetNoDataValue(0); dst = None
`, red, classes], { stdio: 'inherit' });
}

/** databox translate (plus `flags`) against gdal_translate: DEFLATE level 6, predictor, 512-pixel tiles, average overviews. */
function translatePair(name, input, tag, flags = [], goal = undefined) {
  const ours = join(out, `translate-${tag}-databox.tif`);
  const gdal = join(out, `translate-${tag}-gdal.tif`);
  return {
    ...pair(
      name,
      () => measure(process.execPath, [cli, 'translate', input, ours, '--compress', 'deflate', '--level', '6', '--block', '512', '--overviews', 'average', ...flags]),
      () =>
        measure('gdal_translate', ['-q', '-of', 'COG', '-co', 'COMPRESS=DEFLATE', '-co', 'LEVEL=6', '-co', 'PREDICTOR=YES', '-co', 'BLOCKSIZE=512',
          '-co', 'RESAMPLING=AVERAGE', '-co', 'OVERVIEW_COUNT=5', input, gdal]),
    ),
    goal,
    sizes: [ours, gdal],
  };
}

results.push(translatePair('translate a band to a DEFLATE COG with overviews (wall)', red, 'band', [], 1.2));
results.push(translatePair("the same, --deflate-strategy fast (zlib's run-length matching)", red, 'band-fast', ['--deflate-strategy', 'fast']));
results.push(translatePair('translate a class map (Byte, blocky) to a DEFLATE COG with overviews (wall)', classes, 'classes'));
results.push(translatePair('the same, --deflate-strategy fast', classes, 'classes-fast', ['--deflate-strategy', 'fast']));

// The GDAL + numpy NDVI of one scene: the same program bench:ndvi runs per scene (bench/peers/ndvi_gdal.py).
const NDVI_GDAL = `import sys; sys.path.insert(0, ${JSON.stringify(join(here, 'peers'))}); from ndvi_gdal import ndvi_scene; ndvi_scene(*sys.argv[1:4])`;
const ndviOurs = join(out, 'ndvi-databox.tif');
const ndviGdal = join(out, 'ndvi-gdal.tif');
results.push({
  ...pair(
    'NDVI of one scene to a Float32 DEFLATE predictor-3 COG (wall)',
    () => measure(process.execPath, [cli, 'ndvi', '--red', red, '--nir', nir, '--out', ndviOurs]),
    () => measure(PY, ['-c', NDVI_GDAL, red, nir, ndviGdal]),
  ),
  goal: 0.6,
  memGoalMb: 300,
  sizes: [ndviOurs, ndviGdal],
});

console.log(`\nnpm run bench:raster — median of ${runs} runs each, databox vs GDAL ${run(PY, ['-c', 'from osgeo import gdal; print(gdal.__version__)'])}, ${process.version}\n`);
for (const r of results) {
  const ratio = r.ours / r.gdal;
  console.log(`${r.name}`);
  const goal = r.goal === undefined ? '' : `   goal ≤ ${r.goal}×   ${ratio <= r.goal ? 'MET' : 'NOT MET'}`;
  console.log(`  databox ${r.ours.toFixed(3)} s   GDAL ${r.gdal.toFixed(3)} s   ratio ${ratio.toFixed(2)}×${goal}`);
  if (r.sizes) {
    const [a, b] = r.sizes.map((f) => statSync(f).size / 1e6);
    console.log(`  file size: databox ${a.toFixed(1)} MB   GDAL ${b.toFixed(1)} MB   ratio ${(a / b).toFixed(3)}`);
  }
  if (r.oursMb !== undefined && !Number.isNaN(r.oursMb)) {
    const mem = r.memGoalMb ? `   goal ≤ ${r.memGoalMb} MB   ${r.oursMb <= r.memGoalMb ? 'MET' : 'NOT MET'}` : '';
    console.log(`  peak RSS: databox ${r.oursMb.toFixed(0)} MB   GDAL ${r.gdalMb.toFixed(0)} MB${mem}`);
  }
}
if (process.env.BENCH_KEEP !== '1') rmSync(out, { recursive: true, force: true });
