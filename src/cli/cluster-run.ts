import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Command } from 'commander';

import { Cluster, JobmanClient, connect } from '../engine/index.js';
import { outPrefix } from '../jobs/index.js';
import { closeSharedCodecs } from '../raster/index.js';
import { closeSharedConnections, parseStorageUrl } from '../storage/index.js';
import type { CommandIo } from './context.js';
import { blockOption, intOption } from './options.js';
import { formatBytes, formatTable, progressBar, type ProgressBar } from './view.js';

/**
 * What the map-algebra commands (`ndvi`, `calc`, `chlorophyll`, `focal`, `zonal`) share: where they
 * run (an embedded cluster by default, or a running one with `--jobman`), their progress bar, and the
 * summary table of the files they write.
 */

/** Ends the kept-alive connections and S3 clients, and the codec threads, a raster command leaves behind. */
export async function closeClusterRun(): Promise<void> {
  await Promise.all([closeSharedConnections(), closeSharedCodecs()]);
}

/** A local path made absolute, so workers in other directories agree on it; other URLs as they are. */
export function absoluteUrl(url: string): string {
  const location = parseStorageUrl(url);
  return location.kind === 'file' ? location.path : url;
}

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

/** What a run on a cluster gave, and where its time went apart from the jobs. */
export interface ClusterRun<T> {
  value: T;
  /** `an embedded cluster`, or the Jobman's URL. */
  where: string;
  embedded: boolean;
  /** Seconds to start the embedded cluster (or reach the running one) and see its workers. */
  startSeconds: number;
  /** Seconds to stop the embedded cluster (0 for a running one, which is left running). */
  stopSeconds: number;
}

/** What a run's jobs read (its inputs) and write (its outputs), as the user named them. */
export interface RunStorage {
  read: readonly string[];
  write: readonly string[];
}

/**
 * Runs `work` on the cluster the flags name, checking first that it has workers and, for `s3://` among
 * the run's inputs and outputs, that its nodes reach the same S3 as this client; closes it after, and
 * says how long the start and the stop took, so a summary can count them. An embedded cluster's
 * storage allow-lists are `databox up`'s defaults plus what the user named: each input for reading, the
 * folder (or prefix) of each output for writing, where its parts go too.
 */
export async function withCluster<T>(flags: ClusterFlags, signal: AbortSignal, work: (cluster: Cluster, where: string) => Promise<T>, storage: RunStorage = { read: [], write: [] }): Promise<ClusterRun<T>> {
  const embedded = flags.jobman === undefined;
  const urls = [...storage.read, ...storage.write];
  const t0 = performance.now();
  const defaults = [process.cwd(), join(homedir(), '.databox'), tmpdir()];
  const cluster = embedded
    ? await connect(undefined, {
        ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
        allowRead: [...defaults, ...storage.read.map(ruleCovering)],
        allowWrite: [...defaults, ...storage.write.map((u) => ruleCovering(outPrefix(u)))],
      })
    : Cluster.of(await JobmanClient.open({ url: flags.jobman!, ...(flags.home !== undefined ? { home: flags.home } : {}) }));
  const where = embedded ? 'an embedded cluster' : cluster.url;
  let value: T;
  let startSeconds = 0;
  let stopSeconds = 0;
  try {
    await cluster.checkWorkers(signal, urls);
    startSeconds = (performance.now() - t0) / 1000;
    value = await work(cluster, where);
  } finally {
    const t1 = performance.now();
    await cluster.close();
    if (embedded) stopSeconds = (performance.now() - t1) / 1000;
  }
  return { value, where, embedded, startSeconds, stopSeconds };
}

/**
 * The allow-list rule that covers a URL the user named: a local path made absolute, an HTTP URL without
 * its query, and a glob cut back to the folder before its first wildcard.
 */
function ruleCovering(url: string): string {
  const wildcard = url.search(/[*?[\]{}]/);
  const fixed = wildcard < 0 ? url : url.slice(0, url.lastIndexOf('/', wildcard) + 1) || '.';
  if (/^https?:\/\//i.test(fixed)) {
    const u = new URL(fixed);
    return `${u.origin}${u.pathname}`;
  }
  return /^s3:\/\//i.test(fixed) ? fixed : absoluteUrl(fixed);
}

/**
 * The closing line of a run: the command's whole wall time (from the process's start, so module
 * loading counts too), and within it the cluster's start, the jobs and the cluster's stop.
 * `1 scene in 6.95 s: 2.10 s to start an embedded cluster, 2.18 s for jobs 1 and 2, 0.40 s to stop it`
 */
export function formatRunLine(what: string, jobSeconds: number, jobs: readonly number[], run: ClusterRun<unknown>): string {
  const s = (v: number): string => `${v.toFixed(2)} s`;
  const total = s(commandSeconds());
  return run.embedded
    ? `${what} in ${total}: ${s(run.startSeconds)} to start an embedded cluster, ${s(jobSeconds)} for ${formatJobIds(jobs)}, ${s(run.stopSeconds)} to stop it\n`
    : `${what} in ${total}: ${s(jobSeconds)} for ${formatJobIds(jobs)} on ${run.where}\n`;
}

/** Seconds since this process started: the wall time of the command so far. */
export function commandSeconds(): number {
  return performance.now() / 1000;
}

/** The timings of a run, for `--json` summaries. */
export function runTimings(run: ClusterRun<unknown>): { wallSeconds: number; clusterStartSeconds: number; clusterStopSeconds: number } {
  const r = (v: number): number => Math.round(v * 1000) / 1000;
  return { wallSeconds: r(commandSeconds()), clusterStartSeconds: r(run.startSeconds), clusterStopSeconds: r(run.stopSeconds) };
}

/** The job options the flags give. */
export function placement(flags: ClusterFlags): { priority?: boolean; node?: string } {
  return { ...(flags.priority ? { priority: true } : {}), ...(flags.node !== undefined ? { node: flags.node } : {}) };
}

/** What the raster jobs report as they go: subtasks done, and scenes done when there are several. */
export interface JobsProgress {
  subtasks: number;
  subtasksDone: number;
  scenes?: number;
  scenesDone?: number;
}

/** `ndvi [████░░░░] 42% | scenes 1/3 | subtasks 5/20 | 12s` on a terminal; nothing on a pipe or a file. */
export function jobsProgressBar(stream: CommandIo['stderr'], label: string): { update(p: JobsProgress): void; stop(): void } {
  const bar: ProgressBar = progressBar(stream, label);
  return {
    update: (p) => {
      const scenes = p.scenes !== undefined && p.scenes > 1 ? `scenes ${p.scenesDone ?? 0}/${p.scenes} | ` : '';
      bar.update(p.subtasksDone, p.subtasks, `${scenes}subtasks ${p.subtasksDone}/${p.subtasks}`);
    },
    stop: () => bar.stop(),
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
  /** Bytes read from storage for the inputs. */
  bytesRead: number;
  workerSeconds: number;
  out: string;
}

/** The table of files written, and a line saying how long the command took and where the time went. */
export function formatSceneSummary(scenes: readonly SceneRow[], seconds: number, jobs: readonly number[], run: ClusterRun<unknown>): string {
  const f = (v: number | null): string => (v === null ? 'n/a' : Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(4));
  const rows = scenes.map((s) => [s.scene, `${s.width}×${s.height}`, f(s.min), f(s.mean), f(s.max), formatBytes(s.bytesRead), formatBytes(s.bytes), `${s.workerSeconds.toFixed(2)} s`, s.out]);
  return (
    formatTable(['SCENE', 'SIZE', 'MIN', 'MEAN', 'MAX', 'READ', 'COG', 'WORKER TIME', 'OUT'], rows) +
    formatRunLine(`${scenes.length} scene${scenes.length === 1 ? '' : 's'}`, seconds, jobs, run)
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
