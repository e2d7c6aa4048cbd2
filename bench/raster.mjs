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

const cogOurs = join(out, 'translate-databox.tif');
const cogGdal = join(out, 'translate-gdal.tif');
results.push({
  ...pair(
    'translate a band to a DEFLATE COG with overviews (wall)',
    () => measure(process.execPath, [cli, 'translate', red, cogOurs, '--compress', 'deflate', '--level', '6', '--block', '512', '--overviews', 'average']),
    () =>
      measure('gdal_translate', ['-q', '-of', 'COG', '-co', 'COMPRESS=DEFLATE', '-co', 'LEVEL=6', '-co', 'PREDICTOR=YES', '-co', 'BLOCKSIZE=512',
        '-co', 'RESAMPLING=AVERAGE', '-co', 'OVERVIEW_COUNT=5', red, cogGdal]),
  ),
  goal: 1.2,
  sizes: [cogOurs, cogGdal],
});

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
  console.log(`  databox ${r.ours.toFixed(3)} s   GDAL ${r.gdal.toFixed(3)} s   ratio ${ratio.toFixed(2)}×   goal ≤ ${r.goal}×   ${ratio <= r.goal ? 'MET' : 'NOT MET'}`);
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
