// npm run bench:ndvi: the NDVI of N Landsat-like scenes three ways, in the same run, on the same data, to
// the same output (one Float32 COG per scene, nodata NaN, DEFLATE, predictor 3, 512×512 tiles, overviews):
//
//   databox  `databox ndvi --red GLOB --nir GLOB --out DIR --jobman URL --json` on `databox up --workers 2`
//   GDAL     bench/peers/ndvi_gdal.py: the plain GDAL + numpy program, one scene after the other
//   Dask     bench/peers/ndvi_dask.py: rioxarray on a Dask LocalCluster of 2 single-thread workers
//
// For each: wall time, and peak memory summed over all its processes (RSS of the whole process tree,
// sampled from /proc every 100 ms: `up` with its Taskman and workers plus the `ndvi` client; Python
// with Dask's nannies and workers). Then one scene's outputs are compared, and the ratios printed
// against the issue's goals.
//
// BENCH_SCENES (default 10) scenes of BENCH_SIZE (default "7801 7911") pixels, made once by
// ../shared/tools/make-landsat-scenes.py into bench/data/scenes-N-WxH/ and reused. BENCH_TIMEOUT_S limits
// each tool (default: 300 s plus 300 s per full-size scene). BENCH_KEEP=1 keeps the outputs;
// BENCH_VERBOSE=1 shows the tools' progress.
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { cli, daemon, runMeasured, stop } from './support.mjs';

const PY = '/usr/bin/python3';
const here = fileURLToPath(new URL('.', import.meta.url));
const makeScenes = join(here, '..', '..', 'shared', 'tools', 'make-landsat-scenes.py');
const FULL = [7801, 7911]; // a Landsat 8 scene's size, make-landsat-scenes.py's default
const WORKERS = 2;
/** The issue's goals: databox's share of each peer's figure. */
const GOALS = { wallVsDask: 0.6, wallVsGdal: 0.45, memVsDask: 0.5 };
/** How close two tools' NDVI must be where both are valid. */
const TOLERANCE = 1e-6;

/** Parses the BENCH_* environment once; a bad value stops the run with a message that names it. */
function parseOptions(env) {
  const positiveInt = (name, text) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(text)}`);
    return n;
  };
  const scenes = positiveInt('BENCH_SCENES', env.BENCH_SCENES ?? '10');
  const size = (env.BENCH_SIZE ?? FULL.join(' ')).trim().split(/\s+/).map(Number);
  if (size.length !== 2 || !size.every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error(`BENCH_SIZE must be "WIDTH HEIGHT" in pixels, two positive integers, got ${JSON.stringify(env.BENCH_SIZE)}`);
  }
  const [width, height] = size;
  const fullScenes = (scenes * width * height) / (FULL[0] * FULL[1]);
  const timeoutS = env.BENCH_TIMEOUT_S === undefined ? Math.ceil(300 + 300 * fullScenes) : positiveInt('BENCH_TIMEOUT_S', env.BENCH_TIMEOUT_S);
  return { scenes, width, height, timeoutMs: timeoutS * 1000, keep: env.BENCH_KEEP === '1', verbose: env.BENCH_VERBOSE === '1' };
}

const sceneNames = (n) => Array.from({ length: n }, (_, i) => `scene${String(i).padStart(2, '0')}`);
const tail = (text, chars = 2000) => text.trim().slice(-chars) || '(nothing)';

/** The scenes' directory, made on first use: generated into a temporary sibling, then renamed, so a run cut short leaves nothing that looks complete. */
async function scenesDir({ scenes, width, height, timeoutMs }) {
  const dir = join(here, 'data', `scenes-${scenes}-${width}x${height}`);
  const files = sceneNames(scenes).flatMap((s) => [`${s}_B4.TIF`, `${s}_B5.TIF`]);
  if (files.every((f) => existsSync(join(dir, f)))) return dir;
  if (existsSync(dir)) throw new Error(`${dir} lacks some of ${files.join(', ')}: delete it and run again`);
  mkdirSync(join(here, 'data'), { recursive: true });
  const partial = `${dir}.partial-${process.pid}`;
  console.log(`making ${scenes} Landsat-like scene(s) of ${width}×${height} in ${dir} (once; about 25 s per full-size scene) ...`);
  const r = await runMeasured(PY, [makeScenes, partial, String(scenes), String(width), String(height)], {
    timeoutMs,
    onStdout: (d) => process.stdout.write(d.replace(/^(?=.)/gm, '  ')),
  });
  if (r.code !== 0) {
    rmSync(partial, { recursive: true, force: true });
    throw new Error(`make-landsat-scenes.py ${r.timedOut ? 'timed out' : `exited with ${r.code ?? r.signal}`}: ${r.error?.message ?? tail(r.stderr)}`);
  }
  renameSync(partial, dir);
  return dir;
}

/** Reads every input once, so that no tool pays for the first read from disk. */
async function warmPageCache(dir) {
  for (const name of readdirSync(dir)) {
    for await (const _chunk of createReadStream(join(dir, name), { highWaterMark: 1 << 22 })) {
      // only reading matters
    }
  }
}

const progress = (verbose, name) => (verbose ? (d) => process.stderr.write(d.replace(/^(?=.)/gm, `    [${name}] `)) : undefined);

/** The last stdout line as JSON, or undefined. */
function lastJson(stdout) {
  const last = stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last);
  } catch {
    return undefined;
  }
}

/** A tool's run as one row: ok, or why not. */
function outcome(name, r) {
  const base = { name, wallS: r.seconds, peakMb: r.peakMb, peakProcesses: r.peakProcesses };
  if (r.error) return { ...base, ok: false, why: `could not start: ${r.error.message}` };
  if (r.timedOut) return { ...base, ok: false, why: `timed out and was killed; its stderr ends:\n${tail(r.stderr)}` };
  if (r.code !== 0) return { ...base, ok: false, why: `exited with ${r.code ?? r.signal}; its stderr ends:\n${tail(r.stderr)}` };
  const json = lastJson(r.stdout);
  if (json === undefined || typeof json !== 'object' || json === null) return { ...base, ok: false, why: `printed no JSON object on stdout: ${JSON.stringify(tail(r.stdout, 300))}` };
  return { ...base, ok: true, json };
}

async function runDatabox(dir, out, o) {
  const home = mkdtempSync(join(tmpdir(), 'databox-bench-ndvi-home-'));
  let up;
  try {
    up = await daemon(['up', '--home', home, '--port', '0', '--workers', String(WORKERS)], /jobman listening on \S+\n/);
    const token = readFileSync(join(home, 'token'), 'utf8').trim();
    const r = await runMeasured(process.execPath, [cli, 'ndvi', '--red', join(dir, '*_B4.TIF'), '--nir', join(dir, '*_B5.TIF'), '--out', out, '--jobman', up.url, '--json'], {
      env: { DATABOX_TOKEN: token },
      timeoutMs: o.timeoutMs,
      alsoSample: [up.child.pid],
      onStderr: progress(o.verbose, 'databox'),
    });
    const row = outcome('databox', r);
    return { ...row, workS: row.wallS };
  } catch (error) {
    return { name: 'databox', ok: false, why: `databox up failed: ${error.message}` };
  } finally {
    if (up) await stop(up);
    rmSync(home, { recursive: true, force: true });
  }
}

async function runPeer(name, script, dir, out, o, args = []) {
  const r = await runMeasured(PY, [join(here, 'peers', script), '--red', join(dir, '*_B4.TIF'), '--nir', join(dir, '*_B5.TIF'), '--out', out, '--json', ...args], {
    timeoutMs: o.timeoutMs,
    onStderr: progress(o.verbose, name),
  });
  const row = outcome(name, r);
  if (row.ok && !(row.json.seconds > 0)) return { ...row, ok: false, why: `printed no seconds: ${JSON.stringify(row.json)}` };
  return { ...row, workS: row.ok ? row.json.seconds : undefined };
}

/** Compares two NDVI COGs: grid, nodata mask and values; describes each one's format. Prints one JSON line. */
const COMPARE_PY = `
import json, sys
import numpy as np
from osgeo import gdal
gdal.UseExceptions()
def open_(path):
    ds = gdal.Open(path)
    b = ds.GetRasterBand(1)
    s = ds.GetMetadata('IMAGE_STRUCTURE')
    return ds, {'size': [ds.RasterXSize, ds.RasterYSize], 'bands': ds.RasterCount, 'type': gdal.GetDataTypeName(b.DataType),
                'block': b.GetBlockSize(), 'overviews': b.GetOverviewCount(), 'compression': s.get('COMPRESSION'),
                'predictor': s.get('PREDICTOR'), 'layout': s.get('LAYOUT'), 'nodata': str(b.GetNoDataValue())}
tol = float(sys.argv[3])
a, fa = open_(sys.argv[1])
b, fb = open_(sys.argv[2])
out = {'formats': [fa, fb], 'sameSize': fa['size'] == fb['size'] and fa['bands'] == fb['bands'],
       'sameGeotransform': bool(np.allclose(a.GetGeoTransform(), b.GetGeoTransform(), rtol=0, atol=1e-9))}
if out['sameSize']:
    x = a.GetRasterBand(1).ReadAsArray().astype(np.float64)
    y = b.GetRasterBand(1).ReadAsArray().astype(np.float64)
    nx, ny = np.isnan(x), np.isnan(y)
    both = ~nx & ~ny
    out['sameMask'] = bool((nx == ny).all())
    out['maskDiffers'] = int((nx != ny).sum())
    out['valid'] = int(both.sum())
    out['maxAbsDiff'] = float(np.abs(x[both] - y[both]).max()) if both.any() else 0.0
    out['withinTolerance'] = out['maxAbsDiff'] <= tol
out['match'] = all(out.get(k) for k in ('sameSize', 'sameGeotransform', 'sameMask', 'withinTolerance'))
print(json.dumps(out))
`;

/** Whether a file has the format every tool is asked for. */
const rightFormat = (f) =>
  f.type === 'Float32' && f.bands === 1 && f.block[0] === 512 && f.block[1] === 512 && f.compression === 'DEFLATE' && f.predictor === '3' && f.layout === 'COG' && f.overviews > 0 && f.nodata === 'nan';

async function compare(refPath, otherPath, timeoutMs) {
  const r = await runMeasured(PY, ['-c', COMPARE_PY, refPath, otherPath, String(TOLERANCE)], { timeoutMs });
  const json = r.code === 0 ? lastJson(r.stdout) : undefined;
  if (json === undefined) return { match: false, why: `the check failed: ${r.error?.message ?? tail(r.stderr)}` };
  return json;
}

function describeComparison(label, c) {
  if (c.why) return `${label}: NOT CHECKED (${c.why})`;
  const parts = [
    `size ${c.sameSize ? 'same' : `differs (${c.formats[0].size.join('×')} vs ${c.formats[1].size.join('×')})`}`,
    `geotransform ${c.sameGeotransform ? 'same' : 'differs'}`,
  ];
  if (c.sameSize) {
    parts.push(`nodata mask ${c.sameMask ? 'same' : `differs at ${c.maskDiffers} pixels`}`);
    parts.push(`max |ΔNDVI| ${c.maxAbsDiff.toExponential(2)} over ${c.valid} valid pixels (tolerance ${TOLERANCE})`);
  }
  return `${label}: ${c.match ? 'MATCH' : 'DO NOT MATCH'} — ${parts.join(', ')}`;
}

const fmt = (x, digits) => (x === undefined || Number.isNaN(x) ? '—' : x.toFixed(digits));

function report(o, rows, checks) {
  const by = Object.fromEntries(rows.map((r) => [r.name, r]));
  console.log('');
  console.log(`| tool | wall s | work s | peak MiB (sum of RSS, all processes) | processes at peak | status |`);
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    if (r.ok) console.log(`| ${r.name} | ${fmt(r.wallS, 1)} | ${fmt(r.workS, 1)} | ${fmt(r.peakMb, 0)} | ${r.peakProcesses} | ok |`);
    else console.log(`| ${r.name} | — | — | — | — | FAILED |`);
  }
  console.log('');
  console.log('wall s: from starting the tool to its exit (databox: the `ndvi` client, on an `up` already running).');
  console.log('work s: what the tool timed itself; for Dask it leaves out its LocalCluster start-up and shut-down, as');
  console.log('databox leaves out `up`, so Dask is compared on it; GDAL and databox are compared on wall s.');
  if (by.databox?.json) {
    // Its per-scene list is long; the rest says how the run went.
    const { scenes, ...rest } = by.databox.json;
    const summary = Array.isArray(scenes) ? { ...rest, scenes: `[${scenes.length} scenes]` } : by.databox.json;
    console.log(`databox ndvi --json printed: ${JSON.stringify(summary).slice(0, 600)}`);
  }
  for (const r of rows) if (!r.ok) console.log(`\n${r.name} FAILED: ${r.why}`);

  // A ratio only where both sides ran and wrote every output.
  const ratio = (key, peer, peerKey = key) => (by.databox?.ok && by[peer]?.ok ? by.databox[key] / by[peer][peerKey] : undefined);
  const goals = [
    ['wall, databox / Dask (its work s)', ratio('wallS', 'dask', 'workS'), GOALS.wallVsDask],
    ['wall, databox / GDAL program', ratio('wallS', 'gdal'), GOALS.wallVsGdal],
    ['peak memory, databox / Dask', ratio('peakMb', 'dask'), GOALS.memVsDask],
    ['peak memory, databox / GDAL program (no goal)', ratio('peakMb', 'gdal'), undefined],
    ['wall, Dask (its wall s, start-up included) for reference: databox / Dask', ratio('wallS', 'dask'), undefined],
  ];
  console.log('');
  console.log('| measure | ratio | goal | met |');
  console.log('|---|---|---|---|');
  for (const [name, value, goal] of goals) {
    const met = goal === undefined ? '' : value === undefined ? 'not measured' : value <= goal ? 'met' : 'NOT MET';
    console.log(`| ${name} | ${value === undefined ? '—' : `${value.toFixed(2)}×`} | ${goal === undefined ? '' : `≤ ${goal}×`} | ${met} |`);
  }

  console.log('');
  for (const line of checks) console.log(line);
  const [l1, , l15] = loadavg();
  console.log(`\n${o.scenes} scene(s) of ${o.width}×${o.height}; ${WORKERS} workers for databox and Dask; ${availableParallelism()} cores, load average ${l1.toFixed(1)} (1 min) ${l15.toFixed(1)} (15 min) at the end; ${process.version}.`);
}

async function main() {
  const o = parseOptions(process.env);
  const dir = await scenesDir(o);
  const outRoot = mkdtempSync(join(tmpdir(), 'databox-bench-ndvi-'));
  if (!o.keep) process.on('exit', () => rmSync(outRoot, { recursive: true, force: true }));
  const outs = { databox: join(outRoot, 'databox'), gdal: join(outRoot, 'gdal'), dask: join(outRoot, 'dask') };
  for (const d of Object.values(outs)) mkdirSync(d);

  console.log(`ndvi benchmark: ${o.scenes} scene(s) of ${o.width}×${o.height} from ${dir}; each tool limited to ${o.timeoutMs / 1000} s`);
  await warmPageCache(dir);
  // Both peers and databox use every core here; anything else running skews all three.
  const load = loadavg()[0];
  if (load > 0.5) console.log(`  (the 1-minute load average is ${load.toFixed(1)} on ${availableParallelism()} cores: other work is running, timings will be noisy)`);
  const rows = [];
  const say = (r) => console.log(`  ${r.name}: ${r.ok ? `${fmt(r.wallS, 1)} s wall, ${fmt(r.workS, 1)} s work, peak ${fmt(r.peakMb, 0)} MiB over ${r.peakProcesses} processes` : 'FAILED (details below)'}`);
  console.log('  databox ...');
  rows.push(await runDatabox(dir, outs.databox, o));
  say(rows.at(-1));
  console.log('  GDAL program ...');
  rows.push(await runPeer('gdal', 'ndvi_gdal.py', dir, outs.gdal, o));
  say(rows.at(-1));
  console.log('  Dask ...');
  rows.push(await runPeer('dask', 'ndvi_dask.py', dir, outs.dask, o, ['--workers', String(WORKERS)]));
  say(rows.at(-1));

  // Every tool that ran must have written every scene; the first scene is compared against GDAL's.
  const checks = [];
  const names = sceneNames(o.scenes);
  for (const r of rows.filter((x) => x.ok)) {
    const missing = names.filter((s) => !existsSync(join(outs[r.name], `${s}_NDVI.tif`)));
    if (missing.length > 0) {
      const found = readdirSync(outs[r.name]).slice(0, 5);
      r.ok = false;
      r.why = `it wrote ${names.length - missing.length} of the ${names.length} outputs`;
      checks.push(`${r.name}: MISSING ${missing.length} of ${names.length} outputs (e.g. ${missing[0]}_NDVI.tif); its folder holds ${found.length ? found.join(', ') : 'nothing'}`);
    }
  }
  const ref = join(outs.gdal, `${names[0]}_NDVI.tif`);
  let allMatch = true;
  if (existsSync(ref)) {
    for (const name of ['databox', 'dask']) {
      const other = join(outs[name], `${names[0]}_NDVI.tif`);
      if (!existsSync(other)) {
        checks.push(`${name} vs GDAL, ${names[0]}: not compared (${name} wrote no ${names[0]}_NDVI.tif)`);
        continue;
      }
      const c = await compare(other, ref, o.timeoutMs);
      allMatch &&= c.match;
      checks.push(describeComparison(`${name} vs GDAL, ${names[0]}`, c));
      if (c.formats) {
        for (const [who, f] of [[name, c.formats[0]], ['gdal', c.formats[1]]]) {
          if (!rightFormat(f)) {
            allMatch = false;
            checks.push(`  ${who}'s output is not the format asked for (Float32, 512×512, DEFLATE, predictor 3, COG, overviews, nodata nan): ${JSON.stringify(f)}`);
          }
        }
      }
    }
  } else {
    checks.push(`outputs not compared: the GDAL program wrote no ${names[0]}_NDVI.tif`);
  }
  report(o, rows, checks);
  if (o.keep) console.log(`outputs kept in ${outRoot}`);
  process.exitCode = rows.every((r) => r.ok) && allMatch ? 0 : 1;
}

try {
  await main();
} catch (error) {
  // A bad BENCH_* value or a failed scene generation: the message says which; no stack trace.
  console.error(`bench:ndvi: ${error.message}`);
  process.exitCode = 1;
}
