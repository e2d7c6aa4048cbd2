// npm run bench:cli: how long `databox` takes to start, beside `node -e 0` (the floor: Node itself) and
// GDAL's gdalinfo on the same file, in the same run. Each command runs BENCH_RUNS times (default 10),
// the commands taking turns so drift on a noisy machine hits all alike; the median wall time, from spawn
// to exit, is printed against the goals, with the modules each databox command loads.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const cli = join(here, '..', 'dist', 'cli', 'main.js');
const runs = Number(process.env.BENCH_RUNS ?? 10);
/** A local COG: the shared conformance file with overviews, unless a path is given. */
const cog = process.argv[2] ?? join(here, '..', '..', 'shared', 'fixtures', 'conformance', 'u16_cog_overviews.tif');
if (!existsSync(cog)) throw new Error(`bench:cli: no file ${cog}; pass a local GeoTIFF as the first argument`);

/** Goals: `databox --version` within this much of `node -e 0`; `databox info` at most this times gdalinfo. */
const VERSION_SLACK_S = 0.15;
const INFO_RATIO = 2;

const name = basename(cog);
const commands = [
  { label: 'node -e 0', cmd: process.execPath, args: ['-e', '0'] },
  { label: 'databox --version', cmd: process.execPath, args: [cli, '--version'], databox: true },
  { label: 'databox --help', cmd: process.execPath, args: [cli, '--help'], databox: true },
  { label: `databox info ${name}`, cmd: process.execPath, args: [cli, 'info', cog], databox: true },
  { label: `gdalinfo ${name}`, cmd: 'gdalinfo', args: [cog] },
];

/** Seconds from spawn to exit; throws if the command fails, so a broken build cannot look fast. */
function timeOnce({ label, cmd, args }) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  if (r.error || r.status !== 0) throw new Error(`bench:cli: ${label} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}`);
  return seconds;
}

// Counts what a process loads (scripts/module-recorder.mjs lists it), once per databox command, apart from the timed runs.
const RECORDER = fileURLToPath(new URL('../scripts/module-recorder.mjs', import.meta.url));
function modulesLoaded({ args }) {
  const r = spawnSync(process.execPath, ['--import', RECORDER, ...args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const list = /LOADED (\[.*\])/.exec(r.stderr)?.[1];
  return list === undefined ? Number.NaN : JSON.parse(list).filter((u) => !u.startsWith('node:') && u.includes('/')).length;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.floor((s.length - 1) / 2)] + s[Math.ceil((s.length - 1) / 2)]) / 2;
};
for (const c of commands) timeOnce(c); // warm the file cache once, untimed
const times = commands.map(() => []);
for (let i = 0; i < runs; i++) commands.forEach((c, k) => times[k].push(timeOnce(c)));
const rows = commands.map((c, k) => ({ ...c, median: median(times[k]), min: Math.min(...times[k]), modules: c.databox ? modulesLoaded(c) : undefined }));
const by = (label) => rows.find((r) => r.label === label);
const node = by('node -e 0');
const version = by('databox --version');
const info = by(`databox info ${name}`);
const gdal = by(`gdalinfo ${name}`);
version.goal = `≤ node -e 0 + ${VERSION_SLACK_S} s = ${(node.median + VERSION_SLACK_S).toFixed(3)} s`;
version.met = version.median <= node.median + VERSION_SLACK_S;
info.goal = `≤ ${INFO_RATIO}× gdalinfo = ${(gdal.median * INFO_RATIO).toFixed(3)} s (now ${(info.median / gdal.median).toFixed(2)}×)`;
info.met = info.median <= gdal.median * INFO_RATIO;

const gdalVersion = execFileSync('gdalinfo', ['--version'], { encoding: 'utf8' }).trim();
console.log(`\nnpm run bench:cli — median of ${runs} runs each (wall, spawn to exit), Node ${process.version}, ${gdalVersion}\n`);
console.log('| command | median s | min s | modules loaded | goal | met |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  const met = r.met === undefined ? '' : r.met ? 'met' : 'NOT MET';
  console.log(`| ${r.label} | ${r.median.toFixed(3)} | ${r.min.toFixed(3)} | ${r.modules ?? ''} | ${r.goal ?? ''} | ${met} |`);
}
