import type { Command } from 'commander';

import { STAT_NAMES, formatZonalCsv, formatZonalJson, parseStats } from '../../algebra/index.js';
import { DEFAULT_ZONAL_STATS, planZonalJob, readZonalInputs, runZonalJob, type ZonalJob, type ZonalOptions, type ZonalResult } from '../../jobs/index.js';
import { checkWritable, writeAll } from '../../storage/index.js';
import { absoluteUrl, closeClusterRun, clusterOptions, formatRunLine, jobsProgressBar, placement, runTimings, withCluster, type ClusterFlags, type ClusterRun } from '../cluster-run.js';
import { UsageError, type CliContext } from '../context.js';
import { intOption } from '../options.js';
import { formatBytes, formatTable } from '../view.js';

interface ZonalFlags extends ClusterFlags {
  raster: string;
  zones: string;
  zonesCrs?: string;
  zonesLayer?: string;
  band: number;
  stats: string;
  idField?: string;
  allTouched?: boolean;
  bins: number;
  out?: string;
  dryRun?: boolean;
}

/**
 * `databox zonal --raster <url> --zones <geojson> --out <stats.csv|stats.json>`: statistics of a band
 * inside each polygon, on a cluster, with the blocks the zones cover spread over the nodes by bytes.
 */
function defineZonal(zonal: Command, { signal, io }: CliContext): void {
  const command = zonal
    .requiredOption('--raster <url>', 'the raster: a path, or an http(s):// or s3:// URL')
    .requiredOption('--zones <file>', 'polygons (Polygon and MultiPolygon features, holes allowed): GeoJSON, GeoPackage (.gpkg), FlatGeobuf (.fgb) or Shapefile (.shp, with its .dbf and .prj beside it), told apart by content; a path or URL')
    .option('--zones-crs <crs>', 'CRS of the zones\' coordinates: EPSG:NNNN, a bare EPSG number, a PROJ string or WKT; overrides the CRS the file names, as ogr2ogr -s_srs does (default: the file\'s CRS, else EPSG:4326, and then coordinates beyond ±180/±90 are refused)')
    .option('--zones-layer <name>', 'the GeoPackage layer (feature table) holding the zones (default: the only one)')
    .option('--band <n>', 'band of the raster, from 1', intOption('--band', 1, 65535), 1)
    .option('--stats <list>', `comma-separated, from ${STAT_NAMES.join(', ')}, and pNN for any percentile (p10, p90, p99.5)`, DEFAULT_ZONAL_STATS)
    .option('--id-field <name>', 'feature property that identifies each zone (default: the feature’s index)')
    .option('--all-touched', 'every pixel a polygon touches, as gdal_rasterize -at (default: pixels whose centre is inside)')
    .option('--bins <n>', 'histogram bins, from the zone’s minimum to its maximum', intOption('--bins', 1, 100000), 10)
    .option('--out <file>', 'where the statistics go: a .csv or .json file, local or a URL (required unless --dry-run)')
    .option('--dry-run', 'print the plan (blocks, bytes and subtasks per node) and run nothing');
  clusterOptions(command).action(async (flags: ZonalFlags) => {
    parseStats(flags.stats);
    const format = flags.out === undefined ? undefined : /\.csv$/i.test(flags.out) ? 'csv' : /\.json$/i.test(flags.out) ? 'json' : null;
    if (format === null) throw new UsageError(`--out ${flags.out} must end in .csv or .json`);
    if (format === undefined && !flags.dryRun) throw new UsageError('--out <stats.csv|stats.json> is required unless --dry-run');
    const options: ZonalOptions = {
      raster: absoluteUrl(flags.raster),
      zones: flags.zones,
      ...(flags.zonesCrs !== undefined ? { zonesCrs: flags.zonesCrs } : {}),
      ...(flags.zonesLayer !== undefined ? { zonesLayer: flags.zonesLayer } : {}),
      band: flags.band,
      stats: flags.stats,
      bins: flags.bins,
      ...(flags.idField !== undefined ? { idField: flags.idField } : {}),
      ...(flags.allTouched ? { allTouched: true } : {}),
      ...placement(flags),
      signal,
    };
    if (flags.out !== undefined && !flags.dryRun) await checkWritable(absoluteUrl(flags.out), { signal });
    const inputs = await readZonalInputs(options);
    const run = await withCluster(flags, signal, async (cluster, where) => {
      const job = await planZonalJob(cluster.client, options, inputs);
      if (flags.dryRun) {
        io.stdout.write(flags.json ? `${JSON.stringify(planJson(job))}\n` : formatPlan(job, where));
        return undefined;
      }
      const bar = jobsProgressBar(io.stderr, 'zonal');
      let result: ZonalResult;
      try {
        result = await runZonalJob(cluster.client, { ...options, onProgress: bar.update }, job);
      } finally {
        bar.stop();
      }
      const text = format === 'csv' ? formatZonalCsv(result.rows, job.stats) : formatZonalJson(result.rows);
      await writeAll(absoluteUrl(flags.out!), new TextEncoder().encode(text), { signal });
      return { job, result };
    }, { read: [options.raster, flags.zones], write: flags.out !== undefined ? [flags.out] : [] });
    if (run.value === undefined) return;
    const { job, result } = run.value;
    const out = flags.out!;
    io.stdout.write(
      flags.json ? `${JSON.stringify({ ...planJson(job), nodes: result.nodes, jobs: result.jobs, seconds: result.seconds, ...runTimings(run), out })}\n` : formatRun(job, result, run, out),
    );
  });
}

export const commands = { zonal: defineZonal };
export const close = closeClusterRun;

function planJson(job: ZonalJob): object {
  const p = job.plan;
  return {
    raster: job.raster,
    band: job.band,
    zones: job.zones.length,
    outside: p.outside.length,
    blocks: p.tiles.length,
    block: [p.blockWidth, p.blockHeight],
    bytes: p.bytes,
    plan: p.nodes.map((n) => ({ name: n.name, blocks: n.tiles, bytes: n.bytes, subtasks: n.subtasks.length })),
    balance: balance(p.nodes.map((n) => n.bytes)),
  };
}

/** The largest node's bytes over the mean: 1 is perfect balance. */
function balance(bytes: readonly number[]): number {
  const mean = bytes.reduce((a, b) => a + b, 0) / Math.max(1, bytes.length);
  return mean === 0 ? 1 : Math.max(...bytes) / mean;
}

function formatPlan(job: ZonalJob, where: string): string {
  const p = job.plan;
  const mean = p.bytes / Math.max(1, p.nodes.length);
  const rows = p.nodes.map((n) => [n.name, String(n.tiles), formatBytes(n.bytes), mean === 0 ? '-' : `${(n.bytes / mean).toFixed(3)}×`, String(n.subtasks.length)]);
  return (
    `${job.zones.length} zones (${p.outside.length} with no pixel on the raster) cover ${p.tiles.length} blocks of ${p.blockWidth}×${p.blockHeight} of ${job.raster}, ${formatBytes(p.bytes)} compressed\n` +
    formatTable(['NODE', 'BLOCKS', 'BYTES', 'OF MEAN', 'SUBTASKS'], rows) +
    `largest node: ${balance(p.nodes.map((n) => n.bytes)).toFixed(3)}× the mean bytes, on ${where}\n`
  );
}

function formatRun(job: ZonalJob, r: ZonalResult, run: ClusterRun<unknown>, out: string): string {
  const rows = r.nodes.map((n) => [n.name, String(n.tiles), formatBytes(n.bytes), `${n.workerSeconds.toFixed(2)} s`]);
  return (
    formatTable(['NODE', 'BLOCKS READ', 'BYTES READ', 'WORKER TIME'], rows) +
    `statistics in ${out}\n` +
    formatRunLine(`${job.zones.length} zones over ${job.plan.tiles.length} blocks`, r.seconds, r.jobs, run)
  );
}
