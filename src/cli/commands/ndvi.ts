import cliProgress from 'cli-progress';
import type { Command } from 'commander';

import { NDVI_DTYPES, type NdviDType } from '../../algebra/index.js';
import { planNdvi, runNdviJob, type NdviJobProgress, type NdviJobResult } from '../../algebra/ndvi-job.js';
import { Cluster, connect } from '../../engine/client/cluster.js';
import { JobmanClient } from '../../engine/client/index.js';
import type { CliContext } from '../context.js';
import { choiceOption, formatBytes, intOption } from '../options.js';
import { formatTable } from './engine-client.js';

interface NdviFlags {
  red: string[];
  nir: string[];
  out: string;
  dtype: NdviDType;
  jobman?: string;
  home?: string;
  workers?: number;
  priority?: boolean;
  node?: string;
  blockSize: number;
  windowTiles: number;
  json?: boolean;
}

/**
 * `databox ndvi --red <url|glob> --nir <url|glob> --out <url-prefix>`: NDVI of many scenes, distributed.
 * On an embedded cluster by default, or on a running one with `--jobman`.
 */
export function registerNdvi(program: Command, { signal }: CliContext): void {
  program
    .command('ndvi')
    .description(
      'NDVI = (NIR - Red) / (NIR + Red) of every scene into one COG each, on a cluster: windows of each scene run as subtasks, and each scene’s COG is assembled from their compressed tiles',
    )
    .requiredOption('--red <url|glob>', 'red bands (Landsat 8/9: B4): a file, a URL, or a glob, local or s3://; repeatable', collect, [])
    .requiredOption('--nir <url|glob>', 'near-infrared bands (Landsat 8/9: B5), paired with the red ones by scene name (the file name without its band suffix); repeatable', collect, [])
    .requiredOption('--out <url-prefix>', 'directory or URL prefix: each scene goes to <out>/<scene>_NDVI.tif (a .tif name for a single scene)')
    .option('--dtype <type>', 'float32 (nodata NaN) or int16 (NDVI × 10000, nodata -32768)', choiceOption('--dtype', NDVI_DTYPES), 'float32')
    .option('--jobman <url>', 'run on this Jobman (default: an embedded cluster on this machine)')
    .option('--home <dir>', 'with --jobman: directory holding the API token, unless DATABOX_TOKEN is set (default: ~/.databox)')
    .option('--workers <n>', 'worker processes of the embedded cluster (default: the number of cores)', intOption('--workers', 1, 1024))
    .option('--priority', 'put the jobs ahead of queued normal work')
    .option('--node <name>', 'run only on this node')
    .option('--block-size <n>', 'output tile size in pixels, a multiple of 16', intOption('--block-size', 16, 4096), 512)
    .option('--window-tiles <n>', 'tiles per side of a window subtask, a power of two', intOption('--window-tiles', 1, 64), 4)
    .option('--json', 'print the summary as one JSON object')
    .action(async (flags: NdviFlags) => {
      const plan = await planNdvi({ red: flags.red, nir: flags.nir, out: flags.out, signal });
      const embedded = flags.jobman === undefined;
      const cluster = embedded
        ? await connect(undefined, flags.workers !== undefined ? { workers: flags.workers } : {})
        : Cluster.of(await JobmanClient.open({ url: flags.jobman!, ...(flags.home !== undefined ? { home: flags.home } : {}) }));
      const bar = progress(process.stderr);
      try {
        await cluster.checkWorkers(signal);
        const result = await runNdviJob(
          cluster.client,
          {
            red: flags.red,
            nir: flags.nir,
            out: flags.out,
            dtype: flags.dtype,
            blockSize: flags.blockSize,
            windowTiles: flags.windowTiles,
            ...(flags.priority ? { priority: true } : {}),
            ...(flags.node !== undefined ? { node: flags.node } : {}),
            onProgress: bar.update,
            signal,
          },
          plan,
        );
        bar.stop();
        process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : formatNdviSummary(result, embedded ? 'an embedded cluster' : cluster.url));
      } finally {
        bar.stop();
        await cluster.close();
      }
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Scenes and subtasks done, on a terminal; nothing on a pipe or a file. */
function progress(stream: NodeJS.WriteStream): { update(p: NdviJobProgress): void; stop(): void } {
  if (!stream.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { format: 'ndvi [{bar}] {percentage}% | scenes {scenesDone}/{scenes} | subtasks {value}/{total} | {duration_formatted}', stream, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (p) => {
      if (!started) {
        started = true;
        bar.start(p.subtasks, p.subtasksDone, { scenes: p.scenes, scenesDone: p.scenesDone });
      } else bar.update(p.subtasksDone, { scenesDone: p.scenesDone });
    },
    stop: () => bar.stop(),
  };
}

export function formatNdviSummary(r: NdviJobResult, where: string): string {
  const f = (v: number | null): string => (v === null ? 'n/a' : v.toFixed(4));
  const rows = r.scenes.map((s) => [s.scene, `${s.width}×${s.height}`, f(s.min), f(s.mean), f(s.max), formatBytes(s.bytes), `${s.workerSeconds.toFixed(2)} s`, s.out]);
  return (
    formatTable(['SCENE', 'SIZE', 'MIN', 'MEAN', 'MAX', 'COG', 'WORKER TIME', 'OUT'], rows) +
    `${r.scenes.length} scene${r.scenes.length === 1 ? '' : 's'} in ${r.seconds.toFixed(2)} s on ${where} (jobs ${formatIds(r.jobs)})\n`
  );
}

/** `1 and 2`, `1 to 20`: the job ids of a run, which are consecutive unless other work came between. */
function formatIds(ids: readonly number[]): string {
  const sorted = [...ids].sort((a, b) => a - b);
  if (sorted.length <= 2) return sorted.join(' and ');
  const consecutive = sorted.every((id, i) => i === 0 || id === sorted[i - 1]! + 1);
  return consecutive ? `${sorted[0]} to ${sorted.at(-1)}` : sorted.join(', ');
}
