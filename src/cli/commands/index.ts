import type { CommandModule } from '../context.js';

/**
 * Every `databox` command: its name, the line `databox --help` shows for it, and the module that
 * defines it in full, loaded only when the command line names it. So `databox --version` and
 * `databox --help` load none of the engine, raster or storage code, and each command loads only its own.
 */
export interface CommandEntry {
  readonly name: string;
  /** What `databox --help` says of it. */
  readonly description: string;
  /** Its usage after the name, as its own help prints it: `[options] <url>` (a test keeps the two equal). */
  readonly usage: string;
  /** The module whose `commands[name]` gives the command its arguments, options and action. */
  readonly load: () => Promise<CommandModule>;
}

/** In the order `databox --help` lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'info',
    description: 'show size, type, georeferencing, CRS, nodata, blocks, compression and overviews of a GeoTIFF',
    usage: '[options] <url>',
    load: () => import('./info.js'),
  },
  {
    name: 'translate',
    description: 'copy any readable GeoTIFF into a Cloud Optimized GeoTIFF, pixels unchanged',
    usage: '[options] <in-url> <out-url>',
    load: () => import('./translate.js'),
  },
  {
    name: 'ndvi',
    description:
      'NDVI = (NIR - Red) / (NIR + Red) of every scene into one COG each, on a cluster: windows of each scene run as subtasks, and each scene’s COG is assembled from their compressed tiles',
    usage: '[options]',
    load: () => import('./ndvi.js'),
  },
  {
    name: 'calc',
    description: 'band math: an expression over named bands, pixel by pixel, into one COG on a cluster. Nodata in any band used, or a NaN or infinite result, gives nodata',
    usage: '[options]',
    load: () => import('./algebra.js'),
  },
  {
    name: 'chlorophyll',
    description:
      'chlorophyll-a (mg m^-3) by the OCx band-ratio algorithms: chl = 10^(a0 + a1·X + a2·X² + a3·X³ + a4·X⁴), X = log10(max(blue) / green); ratios outside 0.21–30 give nodata (see docs/algebra.md)',
    usage: '[options]',
    load: () => import('./algebra.js'),
  },
  {
    name: 'focal',
    description:
      'a moving-window statistic of every pixel into one COG on a cluster; pixels outside the raster and nodata pixels are left out of each window, and nodata pixels stay nodata. Windows read a halo of the radius, so the result equals one pass exactly',
    usage: '[options] <in> <out>',
    load: () => import('./algebra.js'),
  },
  {
    name: 'zonal',
    description:
      'zonal statistics: for each polygon of a zones file (GeoJSON, GeoPackage, FlatGeobuf, Shapefile), statistics of the raster pixels whose centre is inside (or every pixel it touches), on a cluster; the blocks the zones cover are spread over the nodes balanced by compressed bytes, and partial statistics merge exactly',
    usage: '[options]',
    load: () => import('./zonal.js'),
  },
  {
    name: 'jobman',
    description: 'run the Jobman: the master scheduler with the HTTP API (state in SQLite)',
    usage: '[options]',
    load: () => import('./engine-servers.js'),
  },
  {
    name: 'taskman',
    description: 'run a Taskman: this node’s worker processes, pulling subtasks from the Jobman',
    usage: '[options]',
    load: () => import('./engine-servers.js'),
  },
  {
    name: 'up',
    description: 'run a whole cluster on this machine: the Jobman, one Taskman and its workers (embedded registry)',
    usage: '[options]',
    load: () => import('./engine-servers.js'),
  },
  {
    name: 'node-token',
    description: 'print the token a Taskman joins with as one node (made from the node secret in the Jobman’s --home)',
    usage: '[options] <node>',
    load: () => import('./node-token.js'),
  },
  {
    name: 'run',
    description: 'run a job on the cluster, waiting for it unless --async: a built-in task over inputs 0..N-1, or an RS-UDF module over --inputs',
    usage: '[options] <task>',
    load: () => import('./run.js'),
  },
  { name: 'jobs', description: 'list jobs, newest first', usage: '[options]', load: () => import('./jobs.js') },
  { name: 'job', description: 'show a job, its subtask counts and its first attempt errors', usage: '[options] <id>', load: () => import('./job.js') },
  { name: 'cancel', description: 'cancel a job: queued subtasks are dropped, running ones killed', usage: '[options] <id>', load: () => import('./cancel.js') },
  { name: 'nodes', description: 'list the nodes (Taskmen), their workers and counters', usage: '[options]', load: () => import('./nodes.js') },
];
