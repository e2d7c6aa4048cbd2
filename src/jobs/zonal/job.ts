import { jobResults, waitForSuccess, type JobmanClient, type JobView } from '../../engine/index.js';
import { DataboxError } from '../../errors.js';
import { GeoTiff, type DType } from '../../raster/index.js';
import {
  blockGrid,
  computeStats,
  decodePartial,
  mergePartials,
  parseStats,
  planZonal,
  readZones,
  toPixelSpace,
  type BlockGrid,
  type PixelZone,
  type PlanNode,
  type StatName,
  type ZonalPartial,
  type ZonalPlan,
  type Zone,
  type ZoneRow,
} from '../../algebra/index.js';
import type { ZonalTilesInput, ZonalTilesResult } from './tasks.js';
import { pixelZoneToWire } from './wire.js';

/** The statistics computed when none are asked for. */
export const DEFAULT_ZONAL_STATS = 'count,nodata,sum,mean,min,max,std,median';

export interface ZonalOptions {
  /** The raster: a path or URL (file, http(s), s3). */
  raster: string;
  /** The zones: a path or URL of a GeoJSON (FeatureCollection, Feature, Polygon or MultiPolygon), GeoPackage, FlatGeobuf or Shapefile (.shp). */
  zones: string;
  /**
   * CRS of the zones' coordinates: EPSG:NNNN, a bare EPSG number, a PROJ string or WKT. Overrides the
   * file's own CRS, as ogr2ogr's -s_srs does. @defaultValue the file's CRS, else EPSG:4326 (and then
   * every position must lie within ±180/±90)
   */
  zonesCrs?: string;
  /** The GeoPackage layer (feature table) holding the zones. @defaultValue the only feature table */
  zonesLayer?: string;
  /** Band, from 1. @defaultValue 1 */
  band?: number;
  /** @defaultValue DEFAULT_ZONAL_STATS */
  stats?: string | readonly string[];
  /** Property whose value identifies a feature; @defaultValue its index */
  idField?: string;
  /** Every pixel a zone touches, as GDAL's -at; @defaultValue false: pixels whose centre is inside */
  allTouched?: boolean;
  /** Histogram bins. @defaultValue 10 */
  bins?: number;
  priority?: boolean;
  /** Run on this node only. */
  node?: string;
  onProgress?: (p: { subtasks: number; subtasksDone: number }) => void;
  signal?: AbortSignal;
}


/** What `planZonalJob` found: the zones, the raster's block grid, and the plan over the cluster's nodes. */
export interface ZonalJob {
  raster: string;
  band: number;
  dtype: DType;
  stats: StatName[];
  zones: Zone[];
  plan: ZonalPlan;
  /** One job per node, preferring it: its subtasks' inputs. */
  inputs: { node: string; inputs: ZonalTilesInput[] }[];
}

export interface ZonalResult {
  rows: ZoneRow[];
  plan: ZonalPlan;
  /** Per node: the blocks its subtasks read, the bytes that arrived from storage for them, and their worker time. */
  nodes: { name: string; tiles: number; bytes: number; workerSeconds: number }[];
  jobs: number[];
  seconds: number;
}

/** What a zonal job takes from its inputs, read and checked before any cluster is involved. */
export interface ZonalInputs {
  stats: StatName[];
  /** The band, from 1. */
  band: number;
  dtype: DType;
  zones: Zone[];
  /** The zones in the raster's pixel space. */
  pixelZones: PixelZone[];
  grid: BlockGrid;
}

/**
 * Reads the zones and the raster's header and carries the zones into the raster's pixel space: every
 * mistake in the inputs (a bad zones file, its CRS, the band) fails here, before a cluster starts.
 */
export async function readZonalInputs(options: ZonalOptions): Promise<ZonalInputs> {
  const signal = options.signal;
  const stats = parseStats(typeof options.stats === 'string' ? options.stats : (options.stats?.join(',') ?? DEFAULT_ZONAL_STATS));
  const band = options.band ?? 1;
  const set = await readZones(options.zones, {
    ...(options.idField !== undefined ? { idField: options.idField } : {}),
    ...(options.zonesCrs !== undefined ? { crs: options.zonesCrs } : {}),
    ...(options.zonesLayer !== undefined ? { layer: options.zonesLayer } : {}),
    ...(signal ? { signal } : {}),
  });
  const raster = await GeoTiff.open(options.raster, signal ? { signal } : {});
  try {
    if (!Number.isInteger(band) || band < 1 || band > raster.bands) {
      throw new DataboxError('ERR_OPTIONS', `--band ${band} does not exist in ${options.raster}: it has band${raster.bands > 1 ? `s 1 to ${raster.bands}` : ' 1'}`);
    }
    const pixelZones = toPixelSpace(set, { proj: raster.crs?.proj || null, epsg: raster.crs?.epsg ?? null, geotransform: raster.geotransform ?? [0, 1, 0, 0, 0, 1] });
    return { stats, band, dtype: raster.dtype, zones: set.zones, pixelZones, grid: blockGrid(raster, band - 1) };
  } finally {
    await raster.close();
  }
}

/**
 * Plans the work over the cluster's live nodes (or `options.node`), from the inputs `readZonalInputs`
 * read (or reads them): no subtask runs. What `--dry-run` prints.
 */
export async function planZonalJob(client: JobmanClient, options: ZonalOptions, read?: ZonalInputs): Promise<ZonalJob> {
  const { stats, band, dtype, zones, pixelZones, grid } = read ?? (await readZonalInputs(options));
  const nodes = await planNodes(client, options.node, options.signal);
  const allTouched = options.allTouched ?? false;
  const plan = planZonal(grid, pixelZones, nodes, { allTouched });
  const inputs = plan.nodes.map((n) => ({
    node: n.name,
    inputs: n.subtasks.map((s): ZonalTilesInput => {
      const used = [...new Set(s.tiles.flatMap((t) => t.units.map((u) => u.zone)))].sort((a, b) => a - b);
      return { raster: options.raster, band: band - 1, allTouched, tiles: s.tiles, zones: used.map((z) => pixelZoneToWire(z, pixelZones[z]!)) };
    }),
  }));
  return { raster: options.raster, band, dtype, stats, zones, plan, inputs };
}

/** The nodes to plan over: the live ones with workers, or the one asked for. */
async function planNodes(client: JobmanClient, node: string | undefined, signal?: AbortSignal): Promise<PlanNode[]> {
  const live = (await client.nodes(signal)).filter((n) => n.state === 'alive' && n.workers.length > 0).sort((a, b) => a.name.localeCompare(b.name));
  if (node !== undefined) {
    const pinned = live.find((n) => n.name === node);
    if (pinned === undefined) throw new DataboxError('ERR_OPTIONS', `--node ${node} is not a live node with workers; live: ${live.map((n) => n.name).join(', ') || 'none'}`);
    return [{ name: pinned.name, workers: pinned.workers.length }];
  }
  if (live.length === 0) throw new DataboxError('ERR_NO_WORKERS', 'No live node has workers to run the zonal job');
  return live.map((n) => ({ name: n.name, workers: n.workers.length }));
}

/**
 * Zonal statistics on a cluster: one job per node, preferring that node, holding its share of the blocks
 * (balanced by compressed bytes; see plan.ts). Partial statistics come back per zone and subtask and are
 * merged here exactly (see stats.ts), so the numbers equal one pass over the zone, however it was cut.
 */
export async function runZonalJob(client: JobmanClient, options: ZonalOptions, planned?: ZonalJob): Promise<ZonalResult> {
  const started = performance.now();
  const job = planned ?? (await planZonalJob(client, options));
  const signal = options.signal;
  const total = job.inputs.reduce((n, j) => n + j.inputs.length, 0);
  const done = job.inputs.map(() => 0);
  const report = (): void => options.onProgress?.({ subtasks: total, subtasksDone: done.reduce((a, b) => a + b, 0) });
  const work = job.inputs.filter((j) => j.inputs.length > 0);
  const ids: number[] = [];
  for (const j of work) {
    // The plan's node is preferred, not pinned (unless the user pinned one): should it die, the Jobman
    // hands its subtasks to the others at once, and a node left idle may take them after the locality wait.
    const where = options.node !== undefined ? { node: options.node } : { preferNodes: [j.node] };
    const submitted = await client.submit({ task: 'builtin:zonal-tiles', inputs: j.inputs as never, ...where, ...(options.priority ? { priority: true } : {}) }, signal);
    ids.push(submitted.id);
  }
  const parts: ZonalPartial[][] = job.zones.map(() => []);
  const perNode: ZonalResult['nodes'] = [];
  try {
    await Promise.all(
      work.map(async (j, k) => {
        await waitForSuccess(client, ids[k]!, {
          ...(signal ? { signal } : {}),
          onProgress: (v: JobView) => {
            done[k] = v.counts.succeeded + v.counts.failed + v.counts.cancelled;
            report();
          },
        });
        const node = { name: j.node, tiles: 0, bytes: 0, workerSeconds: 0 };
        for (const [index, { result }] of (await jobResults(client, ids[k]!, signal)).entries()) {
          const r = result as unknown as ZonalTilesResult;
          node.tiles += r.tiles;
          node.bytes += r.bytes;
          node.workerSeconds += r.ms / 1000;
          for (const { zone, partial } of r.partials) {
            const list = parts[zone];
            if (list === undefined) throw new DataboxError('ERR_ZONAL_PARTIAL', `Job ${ids[k]} subtask ${index} reports zone ${zone}, which does not exist`);
            list.push(decodePartial(partial, job.dtype, `job ${ids[k]} subtask ${index} zone ${zone}`));
          }
        }
        perNode.push(node);
      }),
    );
  } catch (err) {
    await Promise.all(ids.map((id) => client.cancel(id).catch(() => undefined)));
    throw err;
  }
  const bins = options.bins ?? 10;
  const rows = job.zones.map((zone, z): ZoneRow => ({ id: zone.id, ...computeStats(mergePartials(parts[z]!), job.stats, { bins }) }));
  perNode.sort((a, b) => a.name.localeCompare(b.name));
  return { rows, plan: job.plan, nodes: perNode, jobs: ids, seconds: (performance.now() - started) / 1000 };
}
