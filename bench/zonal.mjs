// npm run bench:zonal: zonal statistics of 200 random polygons over a full-size Landsat-like scene, two
// ways, in the same run, on the same data:
//
//   databox  `databox zonal --raster R --zones Z --stats ... --out stats.json --jobman URL --json`
//            (a) on `databox up --workers 2`, and (b) on a Jobman with 3 Taskmen of 1 worker each,
//            whose plan gives the byte balance across nodes;
//   GDAL     bench/peers/zonal_gdal.py: gdal.RasterizeLayer of each polygon over its bounding window,
//            and numpy statistics of the pixels inside.
//
// Prints each tool's wall time, the ratio against the goal (≤ 0.5× the GDAL program), the bytes
// per node of the 3-Taskman plan (goal: the largest ≤ 1.1× the mean), and checks that both tools give
// the same statistics. The scene comes from ../shared/tools/make-landsat-scenes.py (bench/data is reused
// across benchmarks); the polygons from a seeded generator (BENCH_SEED, default 1), so runs compare.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { cli, daemon, runMeasured, stop } from './support.mjs';

const PY = '/usr/bin/python3';
const here = fileURLToPath(new URL('.', import.meta.url));
const makeScenes = join(here, '..', '..', 'shared', 'tools', 'make-landsat-scenes.py');
const GOALS = { wallVsGdal: 0.5, balance: 1.1 };
const ZONES = 200;
const STATS = 'count,sum,mean,min,max,std,median,p10,p90,histogram';
const TIMEOUT_MS = 900_000;

function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A full-size scene's red band: one already made for another benchmark, or a new one. */
async function scene() {
  const data = join(here, 'data');
  if (existsSync(data)) {
    for (const d of readdirSync(data).filter((d) => /^scenes-\d+-7801x7911$/.test(d)).sort()) {
      const f = join(data, d, 'scene00_B4.TIF');
      if (existsSync(f)) return f;
    }
  }
  const dir = join(data, 'scenes-1-7801x7911');
  mkdirSync(dir, { recursive: true });
  const r = await runMeasured(PY, [makeScenes, dir, '1'], { timeoutMs: TIMEOUT_MS });
  if (r.code !== 0) throw new Error(`make-landsat-scenes.py failed:\n${r.stderr}`);
  return join(dir, 'scene00_B4.TIF');
}

/** 200 star-shaped polygons, radii log-uniform from 10 to 1200 pixels, a fifth with a hole, in the scene's CRS. */
function zones(seed) {
  const rnd = prng(seed);
  const [x0, y0, px, W, H] = [390000, 5689200, 30, 7801, 7911];
  const ring = (cx, cy, r, n, lo, hi, reverse) => {
    const angles = Array.from({ length: n }, () => rnd() * 2 * Math.PI).sort((a, b) => a - b);
    const pts = angles.map((a) => {
      const k = r * (lo + (hi - lo) * rnd());
      return [x0 + (cx + k * Math.cos(a)) * px, y0 - (cy + k * Math.sin(a)) * px];
    });
    if (reverse) pts.reverse();
    return [...pts, pts[0]];
  };
  const features = Array.from({ length: ZONES }, (_, i) => {
    const r = 10 * Math.exp(rnd() * Math.log(120));
    const cx = rnd() * W;
    const cy = rnd() * H;
    const rings = [ring(cx, cy, r, 12 + Math.floor(rnd() * 84), 0.6, 1, false)];
    if (i % 5 === 0) rings.push(ring(cx, cy, r, 8 + Math.floor(rnd() * 24), 0.15, 0.35, true));
    return { type: 'Feature', properties: { name: `zone-${i}` }, geometry: { type: 'Polygon', coordinates: rings } };
  });
  return { type: 'FeatureCollection', crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::32632' } }, features };
}

async function databox(cluster, raster, zonesFile, out) {
  const r = await runMeasured(process.execPath, [cli, 'zonal', '--raster', raster, '--zones', zonesFile, '--stats', STATS, '--out', out, '--jobman', cluster.url, '--json'], {
    env: { DATABOX_TOKEN: cluster.token },
    timeoutMs: TIMEOUT_MS,
  });
  if (r.code !== 0) throw new Error(`databox zonal failed (${r.code}):\n${r.stderr}`);
  return { seconds: r.seconds, summary: JSON.parse(r.stdout), rows: JSON.parse(readFileSync(out, 'utf8')) };
}

async function withCluster(home, taskmen, work) {
  const started = [];
  try {
    if (taskmen === null) {
      const up = await daemon(['up', '--home', home, '--port', '0', '--workers', '2'], /jobman listening on \S+\n/);
      started.push(up);
      const cluster = { url: up.url, token: readFileSync(join(home, 'token'), 'utf8').trim() };
      await workersReady(cluster, 2);
      return await work(cluster);
    }
    const jm = await daemon(['jobman', '--home', home, '--port', '0'], /jobman listening on \S+\n/);
    started.push(jm);
    const token = readFileSync(join(home, 'token'), 'utf8').trim();
    for (const node of taskmen) started.push(await daemon(['taskman', '--jobman', jm.url, '--node', node, '--workers', '1', '--home', home], /joined the Jobman/, { DATABOX_TOKEN: token }));
    await workersReady({ url: jm.url, token }, taskmen.length);
    return await work({ url: jm.url, token });
  } finally {
    for (const d of started.reverse()) await stop(d);
  }
}

/**
 * Waits (bounded: 60 s, polling every 50 ms) until the cluster has `count` workers past start-up: a
 * started cluster, whose workers have loaded their task packages while idle, as a cluster does that was
 * started before its first job came.
 */
async function workersReady({ url, token }, count) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/v1/nodes`, { headers: { authorization: `Bearer ${token}` } });
    const { nodes } = await res.json();
    const ready = nodes.flatMap((n) => n.workers).filter((w) => w.state !== 'starting').length;
    if (ready >= count) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the cluster at ${url} did not have ${count} ready workers within 60 s`);
}

/** Differences between two tools' rows: exact for counts, order statistics and histograms, 1e-9 relative for sums, means and std. */
function compare(a, b) {
  const problems = [];
  for (let i = 0; i < a.length; i++) {
    for (const k of ['count', 'min', 'max', 'median', 'p10', 'p90', 'sum', 'mean', 'std']) {
      const [x, y] = [a[i][k] ?? null, b[i]?.[k] ?? null];
      const close = x === y || (x !== null && y !== null && Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x)));
      const exact = ['count', 'min', 'max', 'median', 'p10', 'p90'].includes(k);
      if (exact ? x !== y : !close) problems.push(`zone ${i} ${k}: ${x} vs ${y}`);
    }
    if (JSON.stringify(a[i].histogram?.counts ?? null) !== JSON.stringify(b[i]?.histogram?.counts ?? null)) problems.push(`zone ${i} histogram counts differ`);
  }
  return problems;
}

async function main() {
  const seed = Number(process.env.BENCH_SEED ?? '1');
  const raster = await scene();
  const tmp = mkdtempSync(join(tmpdir(), 'bench-zonal-'));
  try {
    // Kept beside the scene, so a run can be repeated by hand: databox zonal --zones bench/data/zones-seed1.geojson ...
    const zonesFile = join(here, 'data', `zones-seed${seed}.geojson`);
    writeFileSync(zonesFile, JSON.stringify(zones(seed)));
    console.log(`bench:zonal: ${ZONES} polygons (seed ${seed}) over ${raster}, stats ${STATS}; load average ${loadavg()[0].toFixed(2)}`);

    const gdal = await runMeasured(PY, [join(here, 'peers', 'zonal_gdal.py'), raster, zonesFile], { timeoutMs: TIMEOUT_MS });
    if (gdal.code !== 0) throw new Error(`zonal_gdal.py failed:\n${gdal.stderr}`);
    const peer = JSON.parse(gdal.stdout);
    // The same job twice on one started cluster: the workers loaded their task packages and started
    // their codec threads while idle, so the first job should cost what the second does.
    const [two, twoWarm] = await withCluster(join(tmp, 'up'), null, async (c) => [await databox(c, raster, zonesFile, join(tmp, 'up.json')), await databox(c, raster, zonesFile, join(tmp, 'up2.json'))]);
    const three = await withCluster(join(tmp, 'three'), ['n1', 'n2', 'n3'], (c) => databox(c, raster, zonesFile, join(tmp, 'three.json')));

    const rows = [
      ['GDAL program (RasterizeLayer per polygon)', gdal.seconds, gdal.peakMb],
      ['databox, up --workers 2, first job', two.seconds, null],
      ['databox, up --workers 2, second job', twoWarm.seconds, null],
      ['databox, 3 Taskmen × 1 worker', three.seconds, null],
    ];
    console.log('\n| tool | wall s | ratio to GDAL |\n|---|---|---|');
    for (const [name, s] of rows) console.log(`| ${name} | ${s.toFixed(2)} | ${(s / gdal.seconds).toFixed(2)}× |`);
    const plan = three.summary.plan;
    const read = three.summary.nodes;
    console.log('\n3 Taskmen, the plan (compressed bytes of the blocks each node reads):\n| node | blocks | MB planned | MB read | of mean |\n|---|---|---|---|---|');
    const mean = plan.reduce((t, n) => t + n.bytes, 0) / plan.length;
    for (const n of plan) {
      const r = read.find((x) => x.name === n.name);
      console.log(`| ${n.name} | ${n.blocks} | ${(n.bytes / 1e6).toFixed(1)} | ${((r?.bytes ?? 0) / 1e6).toFixed(1)} | ${(n.bytes / mean).toFixed(3)}× |`);
    }
    const ratio = two.seconds / gdal.seconds;
    console.log(`\nwall: ${ratio.toFixed(2)}× the GDAL program, first job (goal ≤ ${GOALS.wallVsGdal}×: ${ratio <= GOALS.wallVsGdal ? 'met' : 'NOT met'}); ${(twoWarm.seconds / gdal.seconds).toFixed(2)}× for the second`);
    console.log(`balance: largest node ${three.summary.balance.toFixed(3)}× the mean bytes (goal ≤ ${GOALS.balance}×: ${three.summary.balance <= GOALS.balance ? 'met' : 'NOT met'})`);
    const problems = [...compare(peer.rows, two.rows), ...compare(peer.rows, twoWarm.rows), ...compare(peer.rows, three.rows)];
    console.log(problems.length === 0 ? `statistics: all ${ZONES} zones agree with the GDAL program` : `statistics: ${problems.length} differences, e.g.\n  ${problems.slice(0, 10).join('\n  ')}`);
    if (problems.length > 0) process.exitCode = 1;
  } finally {
    if (process.env.BENCH_KEEP !== '1') rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
