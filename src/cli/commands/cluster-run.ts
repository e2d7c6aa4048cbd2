import cliProgress from 'cli-progress';
import type { Command } from 'commander';

import { Cluster, connect } from '../../engine/client/cluster.js';
import { JobmanClient } from '../../engine/client/index.js';
import { blockOption, formatBytes, intOption } from '../options.js';
import { formatTable } from './engine-client.js';

/**
 * What the map-algebra commands (`ndvi`, `calc`, `chlorophyll`, `focal`, `zonal`) share: where they
 * run (an embedded cluster by default, or a running one with `--jobman`), their progress bar, and the
 * summary table of the files they write.
 */

export interface ClusterFlags {
  jobman?: string;
  home?: string;
  workers?: number;
  priority?: boolean;
  node?: string;
  json?: boolean;
}

export interface WindowFlags {
  blockSize: number;
  windowTiles: number;
}

/** Adds `--jobman`, `--home`, `--workers`, `--priority`, `--node` and `--json`. */
export function clusterOptions(command: Command): Command {
  return command
    .option('--jobman <url>', 'run on this Jobman (default: an embedded cluster on this machine)')
    .option('--home <dir>', 'with --jobman: directory holding the API token, unless DATABOX_TOKEN is set (default: ~/.databox)')
    .option('--workers <n>', 'worker processes of the embedded cluster (default: the number of cores)', intOption('--workers', 1, 1024))
    .option('--priority', 'put the jobs ahead of queued normal work')
    .option('--node <name>', 'run only on this node')
    .option('--json', 'print the summary as one JSON object');
}

/** Adds `--block-size` and `--window-tiles`, the shape of a window job's output and subtasks. */
export function windowOptions(command: Command): Command {
  return command
    .option('--block-size <n>', 'output tile size in pixels, a multiple of 16', blockOption('--block-size'), 512)
    .option('--window-tiles <n>', 'tiles per side of a window subtask, a power of two', intOption('--window-tiles', 1, 64), 4);
}

/** Runs `work` on the cluster the flags name, checking first that it has workers; closes it after. */
export async function withCluster<T>(flags: ClusterFlags, signal: AbortSignal, work: (cluster: Cluster, where: string) => Promise<T>): Promise<T> {
  const embedded = flags.jobman === undefined;
  const cluster = embedded
    ? await connect(undefined, flags.workers !== undefined ? { workers: flags.workers } : {})
    : Cluster.of(await JobmanClient.open({ url: flags.jobman!, ...(flags.home !== undefined ? { home: flags.home } : {}) }));
  try {
    await cluster.checkWorkers(signal);
    return await work(cluster, embedded ? 'an embedded cluster' : cluster.url);
  } finally {
    await cluster.close();
  }
}

/** The job options the flags give. */
export function placement(flags: ClusterFlags): { priority?: boolean; node?: string } {
  return { ...(flags.priority ? { priority: true } : {}), ...(flags.node !== undefined ? { node: flags.node } : {}) };
}

export interface ProgressBar<P> {
  update(p: P): void;
  stop(): void;
}

/** Subtasks done, and scenes done when there are several, on a terminal; nothing on a pipe or a file. */
export function progressBar(stream: NodeJS.WriteStream, label: string): ProgressBar<{ subtasks: number; subtasksDone: number; scenes?: number; scenesDone?: number }> {
  if (!stream.isTTY) return { update: () => undefined, stop: () => undefined };
  let bar: cliProgress.SingleBar | undefined;
  return {
    update: (p) => {
      if (bar === undefined) {
        const scenes = p.scenes !== undefined && p.scenes > 1 ? ' | scenes {scenesDone}/{scenes}' : '';
        bar = new cliProgress.SingleBar(
          { format: `${label} [{bar}] {percentage}%${scenes} | subtasks {value}/{total} | {duration_formatted}`, stream, hideCursor: true, clearOnComplete: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.subtasks, p.subtasksDone, { scenes: p.scenes, scenesDone: p.scenesDone });
      } else bar.update(p.subtasksDone, { scenesDone: p.scenesDone });
    },
    stop: () => bar?.stop(),
  };
}

/** A row of the summary of a window job: one file written. */
export interface SceneRow {
  scene: string;
  width: number;
  height: number;
  min: number | null;
  mean: number | null;
  max: number | null;
  bytes: number;
  workerSeconds: number;
  out: string;
}

/** The table of files written, and a line saying how long it took, where, and which jobs. */
export function formatSceneSummary(scenes: readonly SceneRow[], seconds: number, jobs: readonly number[], where: string): string {
  const f = (v: number | null): string => (v === null ? 'n/a' : Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(4));
  const rows = scenes.map((s) => [s.scene, `${s.width}×${s.height}`, f(s.min), f(s.mean), f(s.max), formatBytes(s.bytes), `${s.workerSeconds.toFixed(2)} s`, s.out]);
  return (
    formatTable(['SCENE', 'SIZE', 'MIN', 'MEAN', 'MAX', 'COG', 'WORKER TIME', 'OUT'], rows) +
    `${scenes.length} scene${scenes.length === 1 ? '' : 's'} in ${seconds.toFixed(2)} s on ${where} (${formatJobIds(jobs)})\n`
  );
}

/** `job 3`, `jobs 1 and 2`, `jobs 1 to 20`: the job ids of a run, consecutive unless other work came between. */
export function formatJobIds(ids: readonly number[]): string {
  const sorted = [...ids].sort((a, b) => a - b);
  if (sorted.length === 1) return `job ${sorted[0]}`;
  if (sorted.length === 2) return `jobs ${sorted.join(' and ')}`;
  const consecutive = sorted.every((id, i) => i === 0 || id === sorted[i - 1]! + 1);
  return `jobs ${consecutive ? `${sorted[0]} to ${sorted.at(-1)}` : sorted.join(', ')}`;
}

/**
 * Commander's collector for a repeatable option. Without a default, a required option that is never
 * given stays undefined, so commander itself reports it missing.
 */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
